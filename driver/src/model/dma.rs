//! The model card's DMA front end: the queue blocks of `regmap::regs::qoff`,
//! descriptors fetched from host memory through an [`IovaTable`], every verdict of
//! `DmaDescriptor::card_check`, results computed with `esp` (the same computation
//! as the window path), completions with the phase bit, `Q_BAD_DESC`, and interrupt
//! moderation (packet count, timer, `IRQ_NOW`) signalling an eventfd per vector.
//!
//! Time in the model: one tick per register access, standing for one microsecond
//! of the moderation timer (`IRQ_MODERATION.USECS`). The engine works at once when
//! a register write gives it work (`DQ_PROD`, `CQ_CONS`, `Q_CTRL`).

use regmap::dma::{
    cpl_offset, desc_offset, phase, ring_entries, ring_free, ring_used, Completion, DescFlags,
    DmaDescriptor, CPL_BYTES, DESC_BYTES, D_COOKIE, D_INBOUND, D_SA_INDEX, IOVA_BITS,
    MAX_RING_LOG2, MIN_RING_LOG2, NUM_QUEUES, NUM_VECTORS,
};
use regmap::regs::qoff;
use regmap::sideband::Descriptor;
use regmap::{QueueCtrl, QueueFault, QueueStatus, Verdict};

use super::ModelCard;
use crate::dma::{HostMemory, IovaTable, IrqSignal};
use crate::port::field;

/// One queue block's state.
#[derive(Debug, Default, Clone)]
pub(crate) struct QueueState {
    dq_base: u64,
    dq_log2: u32,
    dq_prod: u16,
    dq_cons: u16,
    cq_base: u64,
    cq_log2: u32,
    cq_prod: u16,
    cq_cons: u16,
    irq_vector: u32,
    irq_moderation: u32,
    enabled: bool,
    fault: Option<QueueFault>,
    bad_desc: u32,
    /// A descriptor fetched and stuck (the hang fault).
    pub(crate) stuck: bool,
    armed: bool,
    /// An `IRQ_NOW` completion not yet signalled.
    now: bool,
    /// Tick of the first completion pending since the last interrupt.
    timer_start: Option<u64>,
    /// Wall time of the last doorbell (for the `dma_delay` fault).
    rung_at: Option<std::time::Instant>,
}

/// The DMA side of the model: host memory, interrupt lines, queues.
#[derive(Debug)]
pub(crate) struct DmaEngine {
    pub(crate) mem: IovaTable,
    pub(crate) irqs: Vec<Option<IrqSignal>>,
    pub(crate) irq_counts: Vec<u64>,
    pub(crate) queues: Vec<QueueState>,
    pub(crate) ticks: u64,
}

impl DmaEngine {
    pub(crate) fn new() -> Self {
        DmaEngine {
            mem: IovaTable::new(),
            irqs: vec![None; NUM_VECTORS as usize],
            irq_counts: vec![0; NUM_VECTORS as usize],
            queues: vec![QueueState::default(); NUM_QUEUES as usize],
            ticks: 0,
        }
    }

    /// The engine after a card reset: host memory, wiring and interrupt counts
    /// stay (they are the host's), queue state goes.
    pub(crate) fn after_reset(&mut self) -> Self {
        DmaEngine {
            mem: self.mem.clone(),
            irqs: std::mem::take(&mut self.irqs),
            irq_counts: std::mem::take(&mut self.irq_counts),
            queues: vec![QueueState::default(); NUM_QUEUES as usize],
            ticks: self.ticks,
        }
    }
}

fn base_lo(v: u32) -> u64 {
    u64::from(field("DQ_BASE_LO", "ADDR").get(v)) << field("DQ_BASE_LO", "ADDR").lsb
}

fn ring_ok(base: u64, log2: u32, rec: usize) -> bool {
    (MIN_RING_LOG2..=MAX_RING_LOG2).contains(&log2)
        && u128::from(base) + (u128::from(ring_entries(log2)) * rec as u128) <= 1u128 << IOVA_BITS
}

impl ModelCard {
    /// Reads queue `q`'s register at relative offset `rel`.
    pub(crate) fn queue_read(&mut self, q: usize, rel: u32) -> u32 {
        let s = &self.dma.queues[q];
        let index = |i: u16| field("DQ_PROD", "INDEX").put(i.into());
        match rel {
            qoff::DQ_BASE_LO => s.dq_base as u32,
            qoff::DQ_BASE_HI => (s.dq_base >> 32) as u32,
            qoff::DQ_LOG2_SIZE => s.dq_log2,
            qoff::DQ_PROD => index(s.dq_prod),
            qoff::DQ_CONS => index(s.dq_cons),
            qoff::CQ_BASE_LO => s.cq_base as u32,
            qoff::CQ_BASE_HI => (s.cq_base >> 32) as u32,
            qoff::CQ_LOG2_SIZE => s.cq_log2,
            qoff::CQ_PROD => index(s.cq_prod),
            qoff::CQ_CONS => index(s.cq_cons),
            qoff::IRQ_VECTOR => s.irq_vector,
            qoff::IRQ_MODERATION => s.irq_moderation,
            qoff::Q_STATUS => {
                let mut st = QueueStatus::empty();
                if s.enabled && s.fault.is_none() {
                    st |= QueueStatus::ENABLED;
                }
                if !s.stuck {
                    st |= QueueStatus::IDLE;
                }
                if let Some(f) = s.fault {
                    st |= QueueStatus::FAULT;
                    st = QueueStatus::from_bits_retain(
                        st.bits() | ((f as u32) << QueueStatus::FAULT_SHIFT),
                    );
                }
                st.bits()
            }
            qoff::Q_BAD_DESC => s.bad_desc,
            _ => 0,
        }
    }

    /// Writes queue `q`'s register at relative offset `rel`.
    pub(crate) fn queue_write(&mut self, q: usize, rel: u32, v: u32) {
        let log2 = field("DQ_LOG2_SIZE", "LOG2");
        let index = field("DQ_PROD", "INDEX");
        let s = &mut self.dma.queues[q];
        match rel {
            qoff::DQ_BASE_LO => s.dq_base = (s.dq_base & !0xffff_ffff) | base_lo(v),
            qoff::DQ_BASE_HI => s.dq_base = (s.dq_base & 0xffff_ffff) | (u64::from(v) << 32),
            qoff::DQ_LOG2_SIZE => s.dq_log2 = log2.get(v),
            qoff::CQ_BASE_LO => s.cq_base = (s.cq_base & !0xffff_ffff) | base_lo(v),
            qoff::CQ_BASE_HI => s.cq_base = (s.cq_base & 0xffff_ffff) | (u64::from(v) << 32),
            qoff::CQ_LOG2_SIZE => s.cq_log2 = log2.get(v),
            qoff::IRQ_VECTOR => s.irq_vector = v,
            qoff::IRQ_MODERATION => s.irq_moderation = v,
            qoff::DQ_PROD => {
                let p = index.get(v) as u16;
                if s.enabled && ring_used(p, s.dq_cons, s.dq_log2).is_none() {
                    s.fault = Some(QueueFault::BadIndex);
                } else {
                    s.dq_prod = p;
                }
                s.rung_at = Some(std::time::Instant::now());
                self.dma_kick(q);
            }
            qoff::CQ_CONS => {
                let c = index.get(v) as u16;
                if s.enabled && ring_used(s.cq_prod, c, s.cq_log2).is_none() {
                    s.fault = Some(QueueFault::BadIndex);
                } else {
                    s.cq_cons = c;
                }
                if s.cq_prod == s.cq_cons {
                    s.timer_start = None;
                }
                if field("CQ_CONS", "ARM").get(v) != 0 {
                    s.armed = true;
                }
                self.dma_irq_check(q);
                self.dma_kick(q);
            }
            qoff::Q_CTRL => {
                let c = QueueCtrl::from_bits_truncate(v);
                if c.contains(QueueCtrl::RESET) {
                    let keep = QueueState {
                        dq_base: s.dq_base,
                        dq_log2: s.dq_log2,
                        cq_base: s.cq_base,
                        cq_log2: s.cq_log2,
                        irq_vector: s.irq_vector,
                        irq_moderation: s.irq_moderation,
                        ..QueueState::default()
                    };
                    *s = keep;
                } else if c.contains(QueueCtrl::ENABLE) {
                    if !s.enabled {
                        if ring_ok(s.dq_base, s.dq_log2, DESC_BYTES)
                            && ring_ok(s.cq_base, s.cq_log2, CPL_BYTES)
                        {
                            s.enabled = true;
                        } else {
                            s.fault = Some(QueueFault::BadRing);
                        }
                    }
                    self.dma_kick(q);
                } else {
                    s.enabled = false;
                }
            }
            _ => {}
        }
    }

    /// One model tick (every register access): moderation timers, and with the
    /// `dma_lag` fault one descriptor per queue.
    pub(crate) fn dma_tick(&mut self) {
        self.dma.ticks += 1;
        let (lag, delay) = {
            let f = self.faults.lock();
            (f.dma_lag, f.dma_delay.is_some())
        };
        for q in 0..self.dma.queues.len() {
            if lag {
                self.dma_run(q, 1);
            } else if delay {
                self.dma_run(q, usize::MAX);
            }
            if self.dma.queues[q].timer_start.is_some() {
                self.dma_irq_check(q);
            }
        }
    }

    /// Signals queue `q`'s interrupt if it is enabled, armed and due.
    fn dma_irq_check(&mut self, q: usize) {
        let now = self.dma.ticks;
        let s = &mut self.dma.queues[q];
        let pending = u32::from(s.cq_prod.wrapping_sub(s.cq_cons));
        let enable = field("IRQ_VECTOR", "ENABLE").get(s.irq_vector) != 0;
        if !enable || !s.armed || pending == 0 {
            return;
        }
        let pkts = field("IRQ_MODERATION", "PKTS").get(s.irq_moderation).max(1);
        let usecs = u64::from(field("IRQ_MODERATION", "USECS").get(s.irq_moderation));
        let timer = usecs > 0 && s.timer_start.is_some_and(|t| now - t >= usecs);
        if !(s.now || pending >= pkts || timer) {
            return;
        }
        s.armed = false;
        s.now = false;
        s.timer_start = None;
        let v = field("IRQ_VECTOR", "VECTOR").get(s.irq_vector) as usize;
        if let Some(c) = self.dma.irq_counts.get_mut(v) {
            *c += 1;
        }
        if let Some(Some(sig)) = self.dma.irqs.get(v) {
            sig.signal();
        }
    }

    /// Processes queue `q`'s posted descriptors while it is enabled, healthy and
    /// has completion-ring room (with the `dma_lag` fault: none; ticks do it).
    fn dma_kick(&mut self, q: usize) {
        if !self.faults.lock().dma_lag {
            self.dma_run(q, usize::MAX);
        }
    }

    /// Processes up to `max` of queue `q`'s posted descriptors (none before the
    /// `dma_delay` latency has passed since the doorbell).
    fn dma_run(&mut self, q: usize, max: usize) {
        let delay = self.faults.lock().dma_delay;
        if let (Some(d), Some(t)) = (delay, self.dma.queues[q].rung_at) {
            if t.elapsed() < d {
                return;
            }
        }
        for _ in 0..max {
            {
                let s = &self.dma.queues[q];
                if !s.enabled || s.fault.is_some() || s.stuck || s.dq_cons == s.dq_prod {
                    return;
                }
                if ring_free(s.cq_prod, s.cq_cons, s.cq_log2) == Some(0) {
                    return;
                }
            }
            if !self.dma_one(q) {
                return;
            }
        }
    }

    /// Fetches, processes and completes one descriptor of queue `q`; false when the
    /// queue stopped (fault, hang, card reset).
    fn dma_one(&mut self, q: usize) -> bool {
        let faults = self.faults.clone();
        let mut f = faults.lock();
        if f.reset_due() {
            drop(f);
            tracing::debug!("model: spontaneous reset with DMA in flight");
            self.power_on_reset();
            return false;
        }
        let (dq_base, dq_log2, index) = {
            let s = &self.dma.queues[q];
            (s.dq_base, s.dq_log2, s.dq_cons)
        };
        let mut rec = [0u8; DESC_BYTES];
        if self
            .dma
            .mem
            .read(dq_base + desc_offset(index, dq_log2), &mut rec)
            .is_err()
        {
            self.dma.queues[q].fault = Some(QueueFault::DescFetch);
            return false;
        }
        self.dma.queues[q].dq_cons = index.wrapping_add(1);
        let hang_now = match f.hang_after {
            Some(0) => true,
            Some(n) => {
                f.hang_after = Some(n - 1);
                false
            }
            None => false,
        };
        let mut irq_now = false;
        let (verdict, next_header, seq, mut data, result_iova) =
            match DmaDescriptor::card_check(&rec) {
                Err(v) => (v, 0, 0, Vec::new(), 0),
                Ok(d) => {
                    irq_now = d.flags.contains(DescFlags::IRQ_NOW);
                    let mut input = vec![0u8; usize::from(d.len)];
                    if self.dma.mem.read(d.buf_iova, &mut input).is_err() {
                        (Verdict::DmaBusError, 0, 0, Vec::new(), 0)
                    } else {
                        let desc = Descriptor {
                            sa_index: d.sa_index,
                            inbound: d.inbound,
                            next_header: d.next_header,
                            seq_hi: d.seq_hi,
                        };
                        let (v, nh, seq, data) =
                            self.compute_packet(&mut f, desc, d.seq_hi, &input, input.len());
                        (v, nh, seq, data, d.result_iova)
                    }
                }
            };
        if hang_now || f.hung {
            f.hung = true;
            f.hang_after = None;
            self.dma.queues[q].stuck = true;
            return false;
        }
        if verdict.is_bad_descriptor() && verdict.is_dma() {
            let s = &mut self.dma.queues[q];
            // Counted in the queue's Q_BAD_DESC only: the engine never saw it, and
            // CNT_BAD_DESC counts the engine's own refusals (as the hardware does).
            s.bad_desc = s.bad_desc.saturating_add(1);
        }
        let mut verdict = verdict;
        if verdict == Verdict::Ok && f.corrupt_next > 0 && !data.is_empty() {
            f.corrupt_next -= 1;
            let i = data.len() / 2;
            data[i] ^= 0x01;
        }
        if verdict == Verdict::Ok
            && !data.is_empty()
            && self.dma.mem.write(result_iova, &data).is_err()
        {
            verdict = Verdict::DmaBusError;
            data.clear();
        }
        f.packets_done += 1;
        let (cq_base, cq_log2, cq_index) = {
            let s = &self.dma.queues[q];
            (s.cq_base, s.cq_log2, s.cq_prod)
        };
        let mut cpl = Completion {
            cookie: D_COOKIE.get(&rec),
            seq,
            result_len: data.len() as u16,
            verdict,
            inbound: D_INBOUND.get(&rec) != 0,
            next_header,
            desc_index: index,
            sa_index: D_SA_INDEX.get(&rec) as u16,
            phase: phase(cq_index, cq_log2),
        };
        if f.corrupt_completion > 0 {
            f.corrupt_completion -= 1;
            cpl.cookie ^= 1 << 7;
        }
        drop(f);
        if self
            .dma
            .mem
            .write(cq_base + cpl_offset(cq_index, cq_log2), &cpl.encode())
            .is_err()
        {
            self.dma.queues[q].fault = Some(QueueFault::CplWrite);
            return false;
        }
        let ticks = self.dma.ticks;
        let s = &mut self.dma.queues[q];
        s.cq_prod = cq_index.wrapping_add(1);
        s.now |= irq_now;
        if s.timer_start.is_none() {
            s.timer_start = Some(ticks);
        }
        self.dma_irq_check(q);
        true
    }
}
