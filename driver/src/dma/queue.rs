//! One DMA queue pair as software drives it: descriptor ring, completion ring and a
//! packet buffer pair per ring slot, all in one [`DmaRegion`] mapped for the device;
//! registers from `regmap::regs::qoff` only, records with `regmap::dma` only.

use std::sync::Arc;

use regmap::dma::{
    cpl_offset, desc_offset, max_result_len, phase, ring_entries, slot, Completion, DescFlags,
    DmaDescriptor, BUF_ALIGN, CPL_BYTES, DESC_BYTES, MAX_RING_LOG2, MIN_RING_LOG2, NUM_QUEUES,
    NUM_VECTORS, RING_ALIGN,
};
use regmap::regs::{qoff, queue_reg};
use regmap::{QueueCtrl, QueueStatus, Verdict};

use super::map::DmaMapper;
use super::mem::{DmaRegion, HugePages, PageKind};
use crate::port::{field, Direction, PacketRequest, PacketResult};
use crate::{DriverError, RegIo};

/// Shape of one queue pair.
#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    /// Queue number (below `regmap::dma::NUM_QUEUES`).
    pub queue: u32,
    /// log2 of the entries of both rings.
    pub ring_log2: u32,
    /// Largest input packet a slot's buffer holds (at most `MAX_PACKET_BYTES`).
    pub max_packet: usize,
    /// Interrupt vector; `None`: the queue never interrupts (completions polled).
    pub irq_vector: Option<u32>,
    /// Interrupt moderation: interrupt once this many completions are pending.
    pub moderation_pkts: u16,
    /// Interrupt moderation: or this many microseconds after the first one.
    pub moderation_usecs: u16,
    /// Whether to try 2 MiB huge pages for the queue's memory.
    pub huge: HugePages,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            queue: 0,
            ring_log2: 8,
            max_packet: regmap::MAX_PACKET_BYTES as usize,
            irq_vector: None,
            moderation_pkts: 32,
            moderation_usecs: 0,
            huge: HugePages::Try,
        }
    }
}

fn round_up(v: usize, to: usize) -> usize {
    v.div_ceil(to) * to
}

#[derive(Debug, Clone, Copy, Default)]
struct SlotMeta {
    cookie: u64,
    sa_index: u16,
    inbound: bool,
    next_header: u8,
}

/// One queue pair: rings and buffers in host memory, and the software indices.
///
/// Descriptors are posted ([`post`](Self::post)) and handed to the card by one
/// doorbell ([`doorbell`](Self::doorbell): one `DQ_PROD` write for the whole
/// batch); completions are taken in ring order by their phase bit
/// ([`reap`](Self::reap)) and acknowledged with one `CQ_CONS` write
/// ([`ack`](Self::ack), optionally re-arming the interrupt). A slot and its buffers
/// are reused only after its completion was taken, so at most `2^ring_log2`
/// packets are in flight; a full ring is "would block" (`post` returns `None`).
#[derive(Debug)]
pub struct DmaQueue {
    cfg: QueueConfig,
    region: Arc<DmaRegion>,
    iova: u64,
    cpl_off: usize,
    in_off: usize,
    in_stride: usize,
    res_off: usize,
    res_stride: usize,
    /// Descriptors posted (free-running).
    prod: u16,
    /// `DQ_PROD` as last written.
    rung: u16,
    /// Completions taken (free-running); slots below are free.
    cons: u16,
    /// `CQ_CONS` as last written.
    acked: u16,
    next_cookie: u64,
    slots: Vec<SlotMeta>,
    /// Result buffers handed back by the caller ([`DmaQueue::recycle`]), reused by
    /// [`DmaQueue::reap`] so that taking a completion allocates nothing once the
    /// pool holds a batch's worth.
    spare: Vec<Vec<u8>>,
}

impl DmaQueue {
    /// Allocates the queue's memory and maps it through `mapper`. Checks the shape
    /// against `regmap::dma` (no register access yet: see [`program`](Self::program)).
    pub fn new(mapper: &mut dyn DmaMapper, cfg: QueueConfig) -> Result<Self, DriverError> {
        if cfg.queue >= NUM_QUEUES
            || !(MIN_RING_LOG2..=MAX_RING_LOG2).contains(&cfg.ring_log2)
            || cfg.irq_vector.is_some_and(|v| v >= NUM_VECTORS)
            || cfg.max_packet == 0
            || cfg.max_packet > regmap::MAX_PACKET_BYTES as usize
        {
            return Err(DriverError::Capability(format!(
                "DMA queue shape not allowed by regmap::dma: {cfg:?}"
            )));
        }
        let n = ring_entries(cfg.ring_log2) as usize;
        let align = RING_ALIGN as usize;
        let cpl_off = round_up(n * DESC_BYTES, align);
        let in_off = round_up(cpl_off + n * CPL_BYTES, align);
        let in_stride = round_up(cfg.max_packet, BUF_ALIGN as usize);
        let res_stride = round_up(
            max_result_len(cfg.max_packet as u32, false) as usize,
            BUF_ALIGN as usize,
        );
        let res_off = round_up(in_off + n * in_stride, align);
        let len = res_off + n * res_stride;
        let region = Arc::new(DmaRegion::new(len, cfg.huge)?);
        let iova = mapper.map(&region)?;
        if !iova.is_multiple_of(RING_ALIGN) {
            return Err(DriverError::Capability(format!(
                "mapper gave IOVA {iova:#x}, not {RING_ALIGN}-byte aligned"
            )));
        }
        Ok(DmaQueue {
            cfg,
            region,
            iova,
            cpl_off,
            in_off,
            in_stride,
            res_off,
            res_stride,
            prod: 0,
            rung: 0,
            cons: 0,
            acked: 0,
            next_cookie: 1,
            slots: vec![SlotMeta::default(); n],
            spare: Vec::with_capacity(2 * n),
        })
    }

    /// The queue's shape.
    pub fn config(&self) -> &QueueConfig {
        &self.cfg
    }

    /// IOVA of the queue's memory (descriptor ring at offset 0).
    pub fn iova(&self) -> u64 {
        self.iova
    }

    /// Offset of the completion ring in [`region`](Self::region).
    pub fn completion_ring_offset(&self) -> usize {
        self.cpl_off
    }

    /// The queue's memory (for tests and tools).
    pub fn region(&self) -> &Arc<DmaRegion> {
        &self.region
    }

    /// Which pages back the queue's memory.
    pub fn pages(&self) -> PageKind {
        self.region.pages()
    }

    /// Ring entries.
    pub fn entries(&self) -> u32 {
        ring_entries(self.cfg.ring_log2)
    }

    /// Packets posted and not yet completed.
    pub fn in_flight(&self) -> u32 {
        u32::from(self.prod.wrapping_sub(self.cons))
    }

    /// Slots free for [`post`](Self::post).
    pub fn free(&self) -> u32 {
        self.entries() - self.in_flight()
    }

    /// Descriptors posted and not yet handed over by a doorbell.
    pub fn unrung(&self) -> u32 {
        u32::from(self.prod.wrapping_sub(self.rung))
    }

    fn reg(&self, rel: u32) -> u32 {
        // The queue number was checked against NUM_QUEUES in `new`, and every `qoff`
        // constant lies inside the block.
        queue_reg(self.cfg.queue, rel).unwrap_or(u32::MAX)
    }

    /// Resets the queue on the card and programs it from scratch: rings, interrupt
    /// vector and moderation, then enables it. Software indices restart at 0 and the
    /// completion ring is zeroed (so no stale record carries a valid phase). Every
    /// packet in flight is forgotten.
    pub fn program<R: RegIo + ?Sized>(&mut self, regs: &mut R) -> Result<(), DriverError> {
        regs.write32(self.reg(qoff::Q_CTRL), QueueCtrl::RESET.bits())?;
        let n = self.entries() as usize;
        self.region.fill(self.cpl_off, n * CPL_BYTES, 0)?;
        self.prod = 0;
        self.rung = 0;
        self.cons = 0;
        self.acked = 0;
        let dq = self.iova;
        let cq = self.iova + self.cpl_off as u64;
        let log2 = field("DQ_LOG2_SIZE", "LOG2").put(self.cfg.ring_log2);
        regs.write32(self.reg(qoff::DQ_BASE_LO), dq as u32)?;
        regs.write32(self.reg(qoff::DQ_BASE_HI), (dq >> 32) as u32)?;
        regs.write32(self.reg(qoff::DQ_LOG2_SIZE), log2)?;
        regs.write32(self.reg(qoff::DQ_PROD), 0)?;
        regs.write32(self.reg(qoff::CQ_BASE_LO), cq as u32)?;
        regs.write32(self.reg(qoff::CQ_BASE_HI), (cq >> 32) as u32)?;
        regs.write32(self.reg(qoff::CQ_LOG2_SIZE), log2)?;
        let vector = match self.cfg.irq_vector {
            Some(v) => field("IRQ_VECTOR", "VECTOR").put(v) | field("IRQ_VECTOR", "ENABLE").put(1),
            None => 0,
        };
        regs.write32(self.reg(qoff::IRQ_VECTOR), vector)?;
        regs.write32(
            self.reg(qoff::IRQ_MODERATION),
            field("IRQ_MODERATION", "PKTS").put(self.cfg.moderation_pkts.into())
                | field("IRQ_MODERATION", "USECS").put(self.cfg.moderation_usecs.into()),
        )?;
        let arm = u32::from(self.cfg.irq_vector.is_some());
        regs.write32(self.reg(qoff::CQ_CONS), field("CQ_CONS", "ARM").put(arm))?;
        regs.write32(self.reg(qoff::Q_CTRL), QueueCtrl::ENABLE.bits())?;
        let st = self.status(regs)?;
        if !st.contains(QueueStatus::ENABLED) || st.contains(QueueStatus::FAULT) {
            return Err(DriverError::CardStatus {
                what: "DMA queue enable",
                status: st.bits(),
            });
        }
        Ok(())
    }

    /// Reads `Q_STATUS`.
    pub fn status<R: RegIo + ?Sized>(&self, regs: &mut R) -> Result<QueueStatus, DriverError> {
        Ok(QueueStatus::from_bits_retain(
            regs.read32(self.reg(qoff::Q_STATUS))?,
        ))
    }

    /// Reads `Q_BAD_DESC`.
    pub fn bad_descriptors<R: RegIo + ?Sized>(&self, regs: &mut R) -> Result<u32, DriverError> {
        regs.read32(self.reg(qoff::Q_BAD_DESC))
    }

    /// Stops the queue (`Q_CTRL.RESET`): the card fetches nothing more and writes no
    /// further completion. [`program`](Self::program) brings it back.
    pub fn stop<R: RegIo + ?Sized>(&mut self, regs: &mut R) -> Result<(), DriverError> {
        regs.write32(self.reg(qoff::Q_CTRL), QueueCtrl::RESET.bits())
    }

    /// Writes a packet into the next free slot and its descriptor into the ring
    /// (not yet handed over: see [`doorbell`](Self::doorbell)). Returns the
    /// descriptor's cookie, or `None` when the ring is full (would block: take
    /// completions first).
    pub fn post(
        &mut self,
        req: &PacketRequest<'_>,
        flags: DescFlags,
    ) -> Result<Option<u64>, DriverError> {
        if req.data.len() > self.cfg.max_packet {
            return Err(DriverError::PacketTooLarge {
                len: req.data.len(),
                max: self.cfg.max_packet,
            });
        }
        if self.free() == 0 {
            return Ok(None);
        }
        let s = slot(self.prod, self.cfg.ring_log2) as usize;
        let in_at = self.in_off + s * self.in_stride;
        self.region.write(in_at, req.data)?;
        let cookie = self.next_cookie;
        self.next_cookie = self.next_cookie.wrapping_add(1);
        let inbound = req.direction == Direction::Inbound;
        let d = DmaDescriptor {
            buf_iova: self.iova + in_at as u64,
            result_iova: self.iova + (self.res_off + s * self.res_stride) as u64,
            cookie,
            len: req.data.len() as u16,
            result_cap: self.res_stride.min(u16::MAX as usize) as u16,
            seq_hi: req.seq_hi,
            sa_index: req.sa_index,
            next_header: if inbound { 0 } else { req.next_header },
            inbound,
            flags,
        };
        self.region.write(
            desc_offset(self.prod, self.cfg.ring_log2) as usize,
            &d.encode(),
        )?;
        self.slots[s] = SlotMeta {
            cookie,
            sa_index: req.sa_index,
            inbound,
            next_header: d.next_header,
        };
        self.prod = self.prod.wrapping_add(1);
        Ok(Some(cookie))
    }

    /// Hands every posted descriptor to the card with one `DQ_PROD` write (none
    /// when nothing new was posted). Returns the descriptors handed over.
    pub fn doorbell<R: RegIo + ?Sized>(&mut self, regs: &mut R) -> Result<u32, DriverError> {
        let n = self.unrung();
        if n > 0 {
            regs.write32(
                self.reg(qoff::DQ_PROD),
                field("DQ_PROD", "INDEX").put(self.prod.into()),
            )?;
            self.rung = self.prod;
        }
        Ok(n)
    }

    /// True when the completion for the oldest packet in flight has been written.
    pub fn ready(&self) -> Result<bool, DriverError> {
        if self.in_flight() == 0 || self.cons == self.rung {
            return Ok(false);
        }
        let rec = self.record(self.cons)?;
        Ok(Completion::phase_of(&rec) == phase(self.cons, self.cfg.ring_log2))
    }

    fn record(&self, index: u16) -> Result<[u8; CPL_BYTES], DriverError> {
        let mut rec = [0u8; CPL_BYTES];
        self.region.read(
            self.cpl_off + cpl_offset(index, self.cfg.ring_log2) as usize,
            &mut rec,
        )?;
        Ok(rec)
    }

    /// Takes up to `max` completions in ring order, appending one result each to
    /// `out`; returns how many. Each record is checked: it must decode, name the
    /// descriptor it completes (`DESC_INDEX` and cookie), echo its SA index,
    /// direction and (outbound) next header, and report no more bytes than the
    /// result buffer holds. A record that fails is [`DriverError::BadResult`] (the
    /// results before it are in `out`).
    pub fn reap(&mut self, max: usize, out: &mut Vec<PacketResult>) -> Result<usize, DriverError> {
        let mut n = 0;
        while n < max && self.ready()? {
            let index = self.cons;
            let rec = self.record(index)?;
            let bad = |what: String| DriverError::BadResult {
                what: format!("DMA queue {} completion {index}: {what}", self.cfg.queue),
            };
            let c = Completion::decode(&rec).map_err(|e| bad(e.to_string()))?;
            let meta = self.slots[slot(index, self.cfg.ring_log2) as usize];
            if c.desc_index != index {
                return Err(bad(format!(
                    "DESC_INDEX {}, expected {index}",
                    c.desc_index
                )));
            }
            if c.cookie != meta.cookie {
                return Err(bad(format!(
                    "cookie {:#x}, expected {:#x}",
                    c.cookie, meta.cookie
                )));
            }
            if c.sa_index != meta.sa_index || c.inbound != meta.inbound {
                return Err(bad(format!(
                    "SA {} inbound {} echoed for SA {} inbound {}",
                    c.sa_index, c.inbound, meta.sa_index, meta.inbound
                )));
            }
            if !meta.inbound && c.verdict == Verdict::Ok && c.next_header != meta.next_header {
                return Err(bad(format!(
                    "next header {} echoed for {}",
                    c.next_header, meta.next_header
                )));
            }
            let len = usize::from(c.result_len);
            if len > self.res_stride {
                return Err(bad(format!(
                    "result length {len} above the buffer's {}",
                    self.res_stride
                )));
            }
            let mut data = self.spare.pop().unwrap_or_default();
            data.clear();
            data.resize(len, 0);
            let s = slot(index, self.cfg.ring_log2) as usize;
            self.region
                .read(self.res_off + s * self.res_stride, &mut data)?;
            out.push(PacketResult {
                verdict: c.verdict,
                next_header: c.next_header,
                seq: c.seq,
                data,
            });
            self.cons = self.cons.wrapping_add(1);
            n += 1;
        }
        Ok(n)
    }

    /// Takes back result buffers (a reaped result's `data` once the caller has copied
    /// it out): reap fills them again instead of allocating. Keeps at most two
    /// rings' worth, each grown once to a result buffer's size.
    pub fn recycle(&mut self, bufs: &mut Vec<Vec<u8>>) {
        let keep = 2 * self.slots.len();
        for mut b in bufs.drain(..) {
            if self.spare.len() >= keep || b.capacity() > 2 * self.res_stride {
                continue;
            }
            // every pooled buffer holds a whole result, so reap never grows one
            b.clear();
            b.reserve_exact(self.res_stride);
            self.spare.push(b);
        }
    }

    /// Tells the card which completions were taken (one `CQ_CONS` write, skipped
    /// when nothing changed and `arm` is false); `arm` re-arms the interrupt.
    pub fn ack<R: RegIo + ?Sized>(&mut self, regs: &mut R, arm: bool) -> Result<(), DriverError> {
        if self.acked == self.cons && !arm {
            return Ok(());
        }
        regs.write32(
            self.reg(qoff::CQ_CONS),
            field("CQ_CONS", "INDEX").put(self.cons.into())
                | field("CQ_CONS", "ARM").put(arm.into()),
        )?;
        self.acked = self.cons;
        Ok(())
    }
}
