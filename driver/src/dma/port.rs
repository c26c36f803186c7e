//! [`DmaPort`]: a [`PacketPort`] over one DMA queue pair, so `Card<R, DmaPort<M>>`
//! and the `Offload` layer above it move packets by DMA with their fault rules
//! unchanged.

use std::time::{Duration, Instant};

use regmap::dma::DescFlags;
use regmap::{QueueStatus, Verdict};

use super::irq::IrqWait;
use super::map::DmaMapper;
use super::queue::{DmaQueue, QueueConfig};
use crate::port::{Direction, PacketPort, PacketRequest, PacketResult};
use crate::{DriverError, RegIo};

/// How a [`DmaPort`] waits for completions, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct DmaPortConfig {
    /// The queue pair's shape. With `irq_vector` set the port sleeps on the
    /// interrupt; without, it polls (reading `Q_STATUS` between looks at the ring,
    /// at most `CardConfig::poll_limit` times per wait).
    pub queue: QueueConfig,
    /// Longest single sleep on the interrupt; after each the queue status is read
    /// (a faulted or reset queue ends the batch at once).
    pub wait_slice: Duration,
    /// Longest time a batch waits with no completion arriving before the port gives
    /// up ([`DriverError::Timeout`], which fences the card in the offload layer).
    pub completion_timeout: Duration,
}

impl Default for DmaPortConfig {
    fn default() -> Self {
        DmaPortConfig {
            queue: QueueConfig::default(),
            wait_slice: Duration::from_millis(1),
            completion_timeout: Duration::from_millis(500),
        }
    }
}

/// What the port counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DmaPortStats {
    /// Batches processed.
    pub batches: u64,
    /// Packets completed.
    pub packets: u64,
    /// `DQ_PROD` writes.
    pub doorbells: u64,
    /// Interrupts taken (wakes of the interrupt wait).
    pub interrupts: u64,
    /// Waits that found the ring full with packets still to post (back-pressure).
    pub ring_full_waits: u64,
    /// Queue (re)programming: the first batch and every batch after an error or a
    /// card reset.
    pub setups: u64,
    /// Batches ended by a completion timeout.
    pub timeouts: u64,
}

/// A packet port over DMA queue `cfg.queue.queue`: the batch is posted into the
/// descriptor ring (one doorbell per ring-full), completions are taken by phase bit
/// and checked ([`DmaQueue::reap`]; outbound sequence numbers must only go up per
/// SA within the batch), and the caller sleeps on the interrupt (or polls) while
/// the ring is full or results are outstanding.
///
/// After any error the queue is stopped (`Q_CTRL.RESET`, so the card touches none
/// of the buffers again) and re-programmed before the next batch; a queue found
/// disabled at the start of a batch (a card reset) is re-programmed as well.
pub struct DmaPort<M: DmaMapper> {
    mapper: M,
    cfg: DmaPortConfig,
    irq: Option<Box<dyn IrqWait + Send>>,
    queue: Option<DmaQueue>,
    needs_setup: bool,
    stats: DmaPortStats,
    /// Outbound: highest sequence number seen per SA index in the current batch.
    last_seq: Vec<u64>,
    touched: Vec<u16>,
}

impl<M: DmaMapper> std::fmt::Debug for DmaPort<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmaPort")
            .field("cfg", &self.cfg)
            .field("irq", &self.irq.is_some())
            .field("queue", &self.queue)
            .field("stats", &self.stats)
            .finish()
    }
}

impl<M: DmaMapper> DmaPort<M> {
    /// A port that maps its memory through `mapper` and, when `cfg.queue.irq_vector`
    /// is set, sleeps on `irq` (which must be the eventfd of that vector). The
    /// queue's memory is allocated now; the card is programmed at the first batch.
    pub fn new(
        mut mapper: M,
        cfg: DmaPortConfig,
        irq: Option<Box<dyn IrqWait + Send>>,
    ) -> Result<Self, DriverError> {
        if cfg.queue.irq_vector.is_some() != irq.is_some() {
            return Err(DriverError::Capability(
                "a DMA port with an interrupt vector needs its eventfd, and only then".into(),
            ));
        }
        let queue = DmaQueue::new(&mut mapper, cfg.queue)?;
        Ok(DmaPort {
            mapper,
            cfg,
            irq,
            queue: Some(queue),
            needs_setup: true,
            stats: DmaPortStats::default(),
            last_seq: vec![0; regmap::NUM_SAS as usize],
            touched: Vec::new(),
        })
    }

    /// Counters.
    pub fn stats(&self) -> DmaPortStats {
        self.stats
    }

    /// The queue pair.
    pub fn queue(&self) -> Option<&DmaQueue> {
        self.queue.as_ref()
    }

    fn queue_mut(&mut self) -> Result<&mut DmaQueue, DriverError> {
        self.queue.as_mut().ok_or(DriverError::NoCard)
    }

    /// Makes sure the queue is programmed and enabled on the card.
    fn ensure_setup<R: RegIo>(&mut self, regs: &mut R) -> Result<(), DriverError> {
        if self.needs_setup {
            let caps = regmap::Capabilities::from_bits_retain(
                regs.read32(regmap::regs::off::ID_CAPABILITIES)?,
            );
            if !caps.contains(regmap::Capabilities::DMA) {
                return Err(DriverError::Capability(
                    "the card has no DMA queues (ID_CAPABILITIES.DMA is 0)".into(),
                ));
            }
        }
        let needs_setup = self.needs_setup;
        let q = self.queue_mut()?;
        let enabled = !needs_setup && {
            let st = q.status(regs)?;
            st.contains(QueueStatus::ENABLED) && !st.contains(QueueStatus::FAULT)
        };
        if !enabled {
            let q = self.queue_mut()?;
            q.program(regs)?;
            self.stats.setups += 1;
            self.needs_setup = false;
        }
        Ok(())
    }

    /// Checks a batch's outbound results from `out[from]` on: numbers only go up
    /// per SA. On a violation `out` is cut before the offending result (what stays
    /// is complete and valid, as `PacketPort` promises).
    fn check_order(
        &mut self,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
        from: usize,
        base: usize,
    ) -> Result<(), DriverError> {
        for i in from..out.len() {
            let res = &out[i];
            let req = &reqs[i - base];
            if req.direction != Direction::Outbound || res.verdict != Verdict::Ok {
                continue;
            }
            let sa = usize::from(req.sa_index);
            let Some(last) = self.last_seq.get_mut(sa) else {
                continue;
            };
            if *last == 0 {
                self.touched.push(req.sa_index);
            } else if res.seq <= *last {
                let what = format!(
                    "DMA completion for SA index {sa}: sequence number {} after {}",
                    res.seq, *last
                );
                out.truncate(i);
                return Err(DriverError::SeqOrder {
                    sa_index: req.sa_index,
                    what,
                });
            }
            *last = res.seq;
        }
        Ok(())
    }

    /// Waits for a completion: sleeps on the interrupt (re-armed first, and the ring
    /// looked at again so no wake-up is lost) or polls `Q_STATUS`. A stopped queue
    /// (card reset, queue fault) ends the wait at once; so does the deadline or,
    /// polling, `poll_limit` reads ([`DriverError::Timeout`]).
    fn wait<R: RegIo>(
        &mut self,
        regs: &mut R,
        deadline: Instant,
        poll_limit: u32,
    ) -> Result<(), DriverError> {
        let slice = self.cfg.wait_slice;
        let irq_mode = self.irq.is_some();
        let mut polls = 0u32;
        loop {
            let q = self.queue_mut()?;
            q.ack(regs, irq_mode)?;
            if q.ready()? {
                return Ok(());
            }
            let st = q.status(regs)?;
            if !st.contains(QueueStatus::ENABLED) || st.contains(QueueStatus::FAULT) {
                return Err(DriverError::CardStatus {
                    what: "DMA queue stopped (card reset or queue fault)",
                    status: st.bits(),
                });
            }
            if q.ready()? {
                return Ok(());
            }
            polls = polls.saturating_add(1);
            if Instant::now() >= deadline || (!irq_mode && polls >= poll_limit) {
                return Err(DriverError::Timeout {
                    what: "DMA completion",
                    polls,
                });
            }
            match self.irq.as_mut() {
                Some(irq) => {
                    if irq.wait(slice)? {
                        self.stats.interrupts += 1;
                    }
                }
                None => std::hint::spin_loop(),
            }
        }
    }

    fn run<R: RegIo>(
        &mut self,
        regs: &mut R,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
        poll_limit: u32,
    ) -> Result<(), DriverError> {
        self.ensure_setup(regs)?;
        let base = out.len();
        let mut next = 0;
        let mut deadline = Instant::now() + self.cfg.completion_timeout;
        while out.len() - base < reqs.len() {
            let q = self.queue_mut()?;
            while next < reqs.len() && q.free() > 0 {
                let last = next + 1 == reqs.len() || q.free() == 1;
                let flags = if last {
                    DescFlags::IRQ_NOW
                } else {
                    DescFlags::empty()
                };
                if q.post(&reqs[next], flags)?.is_none() {
                    break;
                }
                next += 1;
            }
            if q.unrung() > 0 {
                // Completions taken since the last acknowledgement free completion
                // ring room the card may be waiting for.
                q.ack(regs, false)?;
            }
            if q.doorbell(regs)? > 0 {
                self.stats.doorbells += 1;
            }
            let before = out.len();
            let q = self.queue_mut()?;
            q.reap(reqs.len() + base - out.len(), out)?;
            self.check_order(reqs, out, before, base)?;
            if out.len() > before {
                deadline = Instant::now() + self.cfg.completion_timeout;
                continue;
            }
            if next < reqs.len() {
                self.stats.ring_full_waits += 1;
            }
            self.wait(regs, deadline, poll_limit)?;
        }
        let arm = self.irq.is_some();
        self.queue_mut()?.ack(regs, arm)?;
        Ok(())
    }
}

impl<R: RegIo, M: DmaMapper> PacketPort<R> for DmaPort<M> {
    fn process(
        &mut self,
        regs: &mut R,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
        poll_limit: u32,
    ) -> Result<(), DriverError> {
        let start = out.len();
        let r = self.run(regs, reqs, out, poll_limit);
        for sa in self.touched.drain(..) {
            self.last_seq[usize::from(sa)] = 0;
        }
        self.stats.batches += 1;
        self.stats.packets += (out.len() - start) as u64;
        if let Err(e) = &r {
            if matches!(e, DriverError::Timeout { .. }) {
                self.stats.timeouts += 1;
            }
            tracing::warn!(error = %e, done = out.len() - start, of = reqs.len(), "DMA batch failed; stopping the queue");
            self.needs_setup = true;
            if let Some(q) = self.queue.as_mut() {
                // Best effort: the card must not touch these buffers again.
                let _ = q.stop(regs);
            }
        }
        r
    }

    fn dma_stats(&self) -> Option<DmaPortStats> {
        Some(self.stats)
    }

    fn recycle(&mut self, bufs: &mut Vec<Vec<u8>>) {
        match self.queue.as_mut() {
            Some(q) => q.recycle(bufs),
            None => bufs.clear(),
        }
    }
}

impl<M: DmaMapper> Drop for DmaPort<M> {
    fn drop(&mut self) {
        if let Some(q) = self.queue.take() {
            let iova = q.iova();
            if let Err(e) = self.mapper.unmap(iova) {
                tracing::warn!(iova, error = %e, "DMA queue unmap failed");
            }
        }
    }
}
