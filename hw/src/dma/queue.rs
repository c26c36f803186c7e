//! One DMA queue pair's registers and state: the `regmap::regs::qoff` block (ring
//! bases and sizes, producer and consumer indices, interrupt vector and moderation,
//! control, status, bad-descriptor count), the checks software's writes get (ring
//! shape on enable, index distance on a doorbell or a consumer write), and the
//! interrupt moderation.
//!
//! The engine ([`super::DmaEngine`]) sees a queue through a few signals:
//! `fetch_avail` (how many descriptors it may request in one burst: posted and not
//! yet requested, with a completion slot each, not past a 256-byte boundary, the
//! queue enabled and not faulted), the IOVA of the next descriptor to request and of
//! the next completion record to write, the indices and the phase bit, and it
//! reports with pulses: `fetch_n` (descriptors requested: the fetch pointer
//! advances), `take` (the descriptor at `DQ_CONS` arrived and was accepted), `drop`
//! (a requested descriptor arrived for a reset or faulted queue), `cpl_iss` (a
//! completion record was written: the write pointer advances), `cpl_skip` (a packet
//! of an earlier epoch finished without a record), `cpl_b` (a record's write
//! response came back), `done` (... and it was OK: `CQ_PROD` advances), `fault`.
//! The queue counts the descriptors it has in flight in the engine (requested and
//! not yet dropped, skipped or answered) for `Q_STATUS.IDLE` and for the end of a
//! reset (`RESET_BUSY`).
//!
//! Moderation: completions written since the last interrupt are *pending*. The
//! queue fires one interrupt (a one-cycle pulse on `irq`) when its interrupt is
//! enabled (`IRQ_VECTOR.ENABLE`) and armed (`CQ_CONS.ARM`), at least one completion
//! is pending, and either `IRQ_MODERATION.PKTS` (0 counts as 1) are pending, or
//! `IRQ_MODERATION.USECS` (non-zero) microseconds have passed since the first pending
//! one, or a pending completion's descriptor had `DescFlags::IRQ_NOW`. Firing
//! disarms the queue and clears the pending count, the timer and the IRQ_NOW mark.

use rust_hdl::prelude::*;

use regmap::dma::{MAX_RING_LOG2, MIN_RING_LOG2};
use regmap::regs::{
    qoff, Field, BASE_LO_FIELDS, CQ_CONS_FIELDS, IRQ_MODERATION_FIELDS, IRQ_VECTOR_FIELDS,
    Q_CTRL_FIELDS,
};
use regmap::{QueueCtrl, QueueFault, QueueStatus};

/// Bits of the queue-block offset the queue decodes (`DMA_QUEUE_STRIDE` is 0x100).
pub const QOW: usize = 8;
/// IOVA width carried (`regmap::dma::IOVA_BITS`).
pub const IOW: usize = regmap::dma::IOVA_BITS as usize;
/// Ring index width (`regmap::dma::INDEX_BITS`).
pub const IXW: usize = regmap::dma::INDEX_BITS as usize;

const _: () = assert!(regmap::regs::off::DMA_QUEUE_STRIDE == 1 << QOW);
const _: () = assert!(IXW == 16);

fn field(fields: &[Field], name: &str) -> Field {
    *fields
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("regmap has no field {name}"))
}

fn k8(v: u32) -> Constant<Bits<QOW>> {
    Constant::new((v as u64).to_bits())
}

fn k32(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).to_bits())
}

fn k16(v: u32) -> Constant<Bits<16>> {
    Constant::new((v as u64).to_bits())
}

/// One queue pair (see the module docs).
#[derive(LogicBlock)]
pub struct DmaQueue {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset.
    pub reset: Signal<In, bool>,
    /// A register write to this queue's block this cycle.
    pub wr: Signal<In, bool>,
    /// Offset of the write within the block.
    pub wr_off: Signal<In, Bits<QOW>>,
    /// Data of the write.
    pub wr_data: Signal<In, Bits<32>>,
    /// Offset of a read within the block (combinational read).
    pub rd_off: Signal<In, Bits<QOW>>,
    /// The register at `rd_off`.
    pub rd_data: Signal<Out, Bits<32>>,
    /// The descriptor at `DQ_CONS` arrived and was accepted (advance it).
    pub take: Signal<In, bool>,
    /// The completion record at `CQ_PROD` was written and its write response was
    /// OK (advance it, moderation).
    pub done: Signal<In, bool>,
    /// With `done`: the verdict was a bad-descriptor one (count it).
    pub done_bad: Signal<In, bool>,
    /// With `done`: the descriptor had `DescFlags::IRQ_NOW`.
    pub done_now: Signal<In, bool>,
    /// The engine hit a queue fault (code in `fault_code`).
    pub fault: Signal<In, bool>,
    /// With `fault`: a `regmap::QueueFault` code.
    pub fault_code: Signal<In, Bits<4>>,
    /// Descriptors requested in one read burst this cycle (0 = none).
    pub fetch_n: Signal<In, Bits<3>>,
    /// With `fetch_n`: the epoch the request was made in (a request of an
    /// earlier epoch does not move the fetch pointer).
    pub fetch_ep: Signal<In, bool>,
    /// The engine holds a descriptor fetch of this queue not yet accepted by the bus
    /// (picked as the next turn, or its read request waiting): in flight as far as
    /// a reset is concerned.
    pub fetch_busy: Signal<In, bool>,
    /// A requested descriptor arrived and was dropped (reset, fault, read error).
    pub drop: Signal<In, bool>,
    /// A completion record was written at the write pointer.
    pub cpl_iss: Signal<In, bool>,
    /// A packet of an earlier epoch finished without a completion record.
    pub cpl_skip: Signal<In, bool>,
    /// The write response of one of this queue's completion records came back.
    pub cpl_b: Signal<In, bool>,
    /// One pulse per microsecond of core clock.
    pub tick_us: Signal<In, bool>,
    /// Descriptors the engine may request in one burst (0..=4; see the module
    /// docs), from a register: one cycle late when it grows, 0 in the cycle after a
    /// request, a register write or a fault.
    pub fetch_avail: Signal<Out, Bits<3>>,
    /// Faulted: descriptors arriving now are dropped.
    pub halted: Signal<Out, bool>,
    /// IOVA of the descriptor at the fetch pointer.
    pub desc_addr: Signal<Out, Bits<IOW>>,
    /// IOVA of the completion record at the write pointer.
    pub cpl_addr: Signal<Out, Bits<IOW>>,
    /// `DQ_CONS`.
    pub dq_index: Signal<Out, Bits<IXW>>,
    /// Phase bit of the record at the write pointer (`regmap::dma::phase`).
    pub cpl_phase: Signal<Out, bool>,
    /// Flips on every `Q_CTRL.RESET`: a descriptor taken before a reset is
    /// completed by no record.
    pub epoch: Signal<Out, bool>,
    /// One-cycle interrupt pulse.
    pub irq: Signal<Out, bool>,
    /// `IRQ_VECTOR.VECTOR`.
    pub vector: Signal<Out, Bits<8>>,
    /// `Q_CTRL.ENABLE`.
    pub active: Signal<Out, bool>,

    dq_base: DFF<Bits<64>>,
    cq_base: DFF<Bits<64>>,
    dq_log2: DFF<Bits<5>>,
    cq_log2: DFF<Bits<5>>,
    dq_prod: DFF<Bits<IXW>>,
    dq_cons: DFF<Bits<IXW>>,
    cq_prod: DFF<Bits<IXW>>,
    cq_cons: DFF<Bits<IXW>>,
    vec_r: DFF<Bits<8>>,
    irq_en: DFF<bool>,
    mod_pkts: DFF<Bits<16>>,
    mod_usecs: DFF<Bits<16>>,
    enable: DFF<bool>,
    faulted: DFF<bool>,
    fcode: DFF<Bits<4>>,
    bad_desc: DFF<Bits<32>>,
    armed: DFF<bool>,
    pend: DFF<Bits<16>>,
    timer: DFF<Bits<16>>,
    now_mark: DFF<bool>,
    epoch_r: DFF<bool>,
    rst_busy: DFF<bool>,
    dq_fetch: DFF<Bits<IXW>>,
    cq_wr: DFF<Bits<IXW>>,
    infl: DFF<Bits<8>>,
    avail_r: DFF<Bits<3>>,
    busy: Signal<Local, bool>,
    infl_a: Signal<Local, Bits<8>>,
    posted: Signal<Local, Bits<IXW>>,
    held: Signal<Local, Bits<IXW>>,
    room: Signal<Local, Bits<17>>,
    to_edge: Signal<Local, Bits<3>>,
    avail: Signal<Local, Bits<3>>,
    dq_size: Signal<Local, Bits<17>>,
    cq_size: Signal<Local, Bits<17>>,
    new_used: Signal<Local, Bits<IXW>>,
    ring_bad: Signal<Local, bool>,
    dq_end: Signal<Local, Bits<66>>,
    cq_end: Signal<Local, Bits<66>>,
    pend_n: Signal<Local, Bits<16>>,
    thresh: Signal<Local, Bits<16>>,
    fire: Signal<Local, bool>,
    status: Signal<Local, Bits<32>>,
    o_dq_base_lo: Constant<Bits<QOW>>,
    o_dq_base_hi: Constant<Bits<QOW>>,
    o_dq_log2: Constant<Bits<QOW>>,
    o_dq_prod: Constant<Bits<QOW>>,
    o_dq_cons: Constant<Bits<QOW>>,
    o_cq_base_lo: Constant<Bits<QOW>>,
    o_cq_base_hi: Constant<Bits<QOW>>,
    o_cq_log2: Constant<Bits<QOW>>,
    o_cq_prod: Constant<Bits<QOW>>,
    o_cq_cons: Constant<Bits<QOW>>,
    o_irq_vector: Constant<Bits<QOW>>,
    o_irq_mod: Constant<Bits<QOW>>,
    o_q_ctrl: Constant<Bits<QOW>>,
    o_q_status: Constant<Bits<QOW>>,
    o_q_bad_desc: Constant<Bits<QOW>>,
    k_base_mask: Constant<Bits<32>>,
    s_arm: Constant<Bits<32>>,
    s_irq_en: Constant<Bits<32>>,
    s_mod_usecs: Constant<Bits<32>>,
    s_ctrl_enable: Constant<Bits<32>>,
    s_ctrl_reset: Constant<Bits<32>>,
    b_enabled: Constant<Bits<32>>,
    b_reset_busy: Constant<Bits<32>>,
    b_idle: Constant<Bits<32>>,
    b_fault: Constant<Bits<32>>,
    s_fault_code: Constant<Bits<32>>,
    k_min_log2: Constant<Bits<5>>,
    k_max_log2: Constant<Bits<5>>,
    k_desc_shift: Constant<Bits<8>>,
    k_cpl_shift: Constant<Bits<8>>,
    k_iova_limit: Constant<Bits<66>>,
    k_fault_bad_ring: Constant<Bits<4>>,
    k_fault_bad_index: Constant<Bits<4>>,
    k_one16: Constant<Bits<16>>,
    k_hi32: Constant<Bits<64>>,
    k_lo32: Constant<Bits<64>>,
}

impl Default for DmaQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl DmaQueue {
    /// A queue with every offset and field position taken from `regmap`.
    #[must_use]
    pub fn new() -> Self {
        let base = field(BASE_LO_FIELDS, "ADDR");
        let arm = field(CQ_CONS_FIELDS, "ARM");
        let ien = field(IRQ_VECTOR_FIELDS, "ENABLE");
        let usecs = field(IRQ_MODERATION_FIELDS, "USECS");
        let c_en = field(Q_CTRL_FIELDS, "ENABLE");
        let c_rst = field(Q_CTRL_FIELDS, "RESET");
        assert_eq!(c_en.mask(), QueueCtrl::ENABLE.bits());
        assert_eq!(c_rst.mask(), QueueCtrl::RESET.bits());
        let desc_shift = regmap::dma::DESC_BYTES.trailing_zeros();
        let cpl_shift = regmap::dma::CPL_BYTES.trailing_zeros();
        Self {
            clock: Default::default(),
            reset: Default::default(),
            wr: Default::default(),
            wr_off: Default::default(),
            wr_data: Default::default(),
            rd_off: Default::default(),
            rd_data: Default::default(),
            take: Default::default(),
            done: Default::default(),
            done_bad: Default::default(),
            done_now: Default::default(),
            fault: Default::default(),
            fault_code: Default::default(),
            fetch_n: Default::default(),
            fetch_ep: Default::default(),
            fetch_busy: Default::default(),
            drop: Default::default(),
            cpl_iss: Default::default(),
            cpl_skip: Default::default(),
            cpl_b: Default::default(),
            tick_us: Default::default(),
            fetch_avail: Default::default(),
            halted: Default::default(),
            desc_addr: Default::default(),
            cpl_addr: Default::default(),
            dq_index: Default::default(),
            cpl_phase: Default::default(),
            epoch: Default::default(),
            irq: Default::default(),
            vector: Default::default(),
            active: Default::default(),
            dq_base: Default::default(),
            cq_base: Default::default(),
            dq_log2: Default::default(),
            cq_log2: Default::default(),
            dq_prod: Default::default(),
            dq_cons: Default::default(),
            cq_prod: Default::default(),
            cq_cons: Default::default(),
            vec_r: Default::default(),
            irq_en: Default::default(),
            mod_pkts: Default::default(),
            mod_usecs: Default::default(),
            enable: Default::default(),
            faulted: Default::default(),
            fcode: Default::default(),
            bad_desc: Default::default(),
            armed: Default::default(),
            pend: Default::default(),
            timer: Default::default(),
            now_mark: Default::default(),
            epoch_r: Default::default(),
            rst_busy: Default::default(),
            dq_fetch: Default::default(),
            cq_wr: Default::default(),
            infl: Default::default(),
            avail_r: Default::default(),
            busy: Default::default(),
            infl_a: Default::default(),
            posted: Default::default(),
            held: Default::default(),
            room: Default::default(),
            to_edge: Default::default(),
            avail: Default::default(),
            dq_size: Default::default(),
            cq_size: Default::default(),
            new_used: Default::default(),
            ring_bad: Default::default(),
            dq_end: Default::default(),
            cq_end: Default::default(),
            pend_n: Default::default(),
            thresh: Default::default(),
            fire: Default::default(),
            status: Default::default(),
            o_dq_base_lo: k8(qoff::DQ_BASE_LO),
            o_dq_base_hi: k8(qoff::DQ_BASE_HI),
            o_dq_log2: k8(qoff::DQ_LOG2_SIZE),
            o_dq_prod: k8(qoff::DQ_PROD),
            o_dq_cons: k8(qoff::DQ_CONS),
            o_cq_base_lo: k8(qoff::CQ_BASE_LO),
            o_cq_base_hi: k8(qoff::CQ_BASE_HI),
            o_cq_log2: k8(qoff::CQ_LOG2_SIZE),
            o_cq_prod: k8(qoff::CQ_PROD),
            o_cq_cons: k8(qoff::CQ_CONS),
            o_irq_vector: k8(qoff::IRQ_VECTOR),
            o_irq_mod: k8(qoff::IRQ_MODERATION),
            o_q_ctrl: k8(qoff::Q_CTRL),
            o_q_status: k8(qoff::Q_STATUS),
            o_q_bad_desc: k8(qoff::Q_BAD_DESC),
            k_base_mask: k32(base.mask()),
            s_arm: k32(arm.lsb),
            s_irq_en: k32(ien.lsb),
            s_mod_usecs: k32(usecs.lsb),
            s_ctrl_enable: k32(c_en.lsb),
            s_ctrl_reset: k32(c_rst.lsb),
            b_enabled: k32(QueueStatus::ENABLED.bits()),
            b_reset_busy: k32(QueueStatus::RESET_BUSY.bits()),
            b_idle: k32(QueueStatus::IDLE.bits()),
            b_fault: k32(QueueStatus::FAULT.bits()),
            s_fault_code: k32(QueueStatus::FAULT_SHIFT),
            k_min_log2: Constant::new((MIN_RING_LOG2 as u64).to_bits()),
            k_max_log2: Constant::new((MAX_RING_LOG2 as u64).to_bits()),
            k_desc_shift: Constant::new((desc_shift as u64).to_bits()),
            k_cpl_shift: Constant::new((cpl_shift as u64).to_bits()),
            k_iova_limit: Constant::new(bits::<66>(1) << (regmap::dma::IOVA_BITS as u64)),
            k_fault_bad_ring: Constant::new((QueueFault::BadRing as u64).to_bits()),
            k_fault_bad_index: Constant::new((QueueFault::BadIndex as u64).to_bits()),
            k_one16: k16(1),
            k_hi32: Constant::new(0xffff_ffff_0000_0000_u64.to_bits()),
            k_lo32: Constant::new(0xffff_ffff_u64.to_bits()),
        }
    }
}

impl Logic for DmaQueue {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, dq_base, cq_base, dq_log2, cq_log2, dq_prod, dq_cons, cq_prod, cq_cons,
            vec_r, irq_en, mod_pkts, mod_usecs, enable, faulted, fcode, bad_desc, armed, pend,
            timer, now_mark, epoch_r, rst_busy, dq_fetch, cq_wr, infl, avail_r
        );
        self.dq_size.next = bits::<17>(1) << self.dq_log2.q.val();
        self.cq_size.next = bits::<17>(1) << self.cq_log2.q.val();
        self.new_used.next = bits::<IXW>(0);
        // Ring shape checked on enable: sizes in range, rings below 2^IOVA_BITS.
        self.dq_end.next = bit_cast::<66, 64>(self.dq_base.q.val())
            + (bit_cast::<66, 17>(self.dq_size.val()) << self.k_desc_shift.val());
        self.cq_end.next = bit_cast::<66, 64>(self.cq_base.q.val())
            + (bit_cast::<66, 17>(self.cq_size.val()) << self.k_cpl_shift.val());
        self.ring_bad.next = (self.dq_log2.q.val() < self.k_min_log2.val())
            | (self.dq_log2.q.val() > self.k_max_log2.val())
            | (self.cq_log2.q.val() < self.k_min_log2.val())
            | (self.cq_log2.q.val() > self.k_max_log2.val())
            | (self.dq_end.val() > self.k_iova_limit.val())
            | (self.cq_end.val() > self.k_iova_limit.val());

        // ------------------------------------------------------------ to the engine
        // Descriptors the engine may request in one burst: posted and not requested,
        // each with a completion slot (requested and not completed ones hold one),
        // and not past a group of 4 (256 bytes; ring sizes are multiples of 4).
        self.busy.next = (self.infl.q.val() != 0) | self.fetch_busy.val();
        self.posted.next = self.dq_prod.q.val() - self.dq_fetch.q.val();
        self.held.next = self.dq_fetch.q.val() - self.cq_cons.q.val();
        self.room.next = bits::<17>(0);
        if bit_cast::<17, IXW>(self.held.val()) < self.cq_size.val() {
            self.room.next = self.cq_size.val() - bit_cast::<17, IXW>(self.held.val());
        }
        self.to_edge.next = bits::<3>(4) - bit_cast::<3, 2>(self.dq_fetch.q.val().get_bits::<2>(0));
        self.avail.next = self.to_edge.val();
        if self.posted.val() < bit_cast::<IXW, 3>(self.avail.val()) {
            self.avail.next = self.posted.val().get_bits::<3>(0);
        }
        if self.room.val() < bit_cast::<17, 3>(self.avail.val()) {
            self.avail.next = self.room.val().get_bits::<3>(0);
        }
        if !self.enable.q.val() | self.faulted.q.val() | self.rst_busy.q.val() {
            self.avail.next = bits::<3>(0);
        }
        // Registered (the engine's pick starts from a flip-flop); 0 for the cycle after
        // a request, a register write or a fault, so that it is never larger than
        // what the queue allows now.
        self.avail_r.d.next = self.avail.val();
        if (self.fetch_n.val() != 0) | self.wr.val() | self.fault.val() {
            self.avail_r.d.next = bits::<3>(0);
        }
        self.fetch_avail.next = self.avail_r.q.val();
        self.halted.next = self.faulted.q.val();
        self.desc_addr.next = bit_cast::<IOW, 64>(
            self.dq_base.q.val()
                + (bit_cast::<64, IXW>(
                    self.dq_fetch.q.val() & bit_cast::<IXW, 17>(self.dq_size.val() - 1),
                ) << self.k_desc_shift.val()),
        );
        self.cpl_addr.next = bit_cast::<IOW, 64>(
            self.cq_base.q.val()
                + (bit_cast::<64, IXW>(
                    self.cq_wr.q.val() & bit_cast::<IXW, 17>(self.cq_size.val() - 1),
                ) << self.k_cpl_shift.val()),
        );
        self.dq_index.next = self.dq_cons.q.val();
        // phase(index) = bit log2 of the index is 0.
        self.cpl_phase.next =
            !((bit_cast::<17, IXW>(self.cq_wr.q.val()) & self.cq_size.val()).any());
        self.epoch.next = self.epoch_r.q.val();
        self.vector.next = self.vec_r.q.val();
        self.active.next = self.enable.q.val();

        // ------------------------------------------------------------ engine reports
        if self.take.val() {
            self.dq_cons.d.next = self.dq_cons.q.val() + 1;
        }
        if self.fetch_ep.val() == self.epoch_r.q.val() {
            self.dq_fetch.d.next = self.dq_fetch.q.val() + bit_cast::<IXW, 3>(self.fetch_n.val());
        }
        if self.cpl_iss.val() {
            self.cq_wr.d.next = self.cq_wr.q.val() + 1;
        }
        self.infl_a.next = self.infl.q.val() + bit_cast::<8, 3>(self.fetch_n.val());
        if self.drop.val() {
            self.infl_a.next = self.infl_a.val() - 1;
        }
        if self.cpl_skip.val() {
            self.infl_a.next = self.infl_a.val() - 1;
        }
        if self.cpl_b.val() {
            self.infl_a.next = self.infl_a.val() - 1;
        }
        self.infl.d.next = self.infl_a.val();
        self.pend_n.next = self.pend.q.val();
        if self.done.val() {
            self.cq_prod.d.next = self.cq_prod.q.val() + 1;
            if self.done_bad.val() & !self.bad_desc.q.val().all() {
                self.bad_desc.d.next = self.bad_desc.q.val() + 1;
            }
            if self.pend.q.val() == 0 {
                self.timer.d.next = bits::<16>(0);
            }
            if self.pend.q.val() != 0xffff {
                self.pend_n.next = self.pend.q.val() + 1;
            }
            if self.done_now.val() {
                self.now_mark.d.next = true;
            }
        }
        self.pend.d.next = self.pend_n.val();
        if self.tick_us.val() & (self.pend.q.val() != 0) & !self.timer.q.val().all() {
            self.timer.d.next = self.timer.q.val() + 1;
        }
        if self.fault.val() {
            self.faulted.d.next = true;
            self.fcode.d.next = self.fault_code.val();
        }
        if !self.busy.val() {
            self.rst_busy.d.next = false;
        }

        // ------------------------------------------------------------ moderation
        if self.mod_pkts.q.val() == 0 {
            self.thresh.next = self.k_one16.val();
        } else {
            self.thresh.next = self.mod_pkts.q.val();
        }
        self.fire.next = self.irq_en.q.val()
            & self.armed.q.val()
            & (self.pend.q.val() != 0)
            & ((self.pend.q.val() >= self.thresh.val())
                | ((self.mod_usecs.q.val() != 0) & (self.timer.q.val() >= self.mod_usecs.q.val()))
                | self.now_mark.q.val());
        self.irq.next = self.fire.val();
        if self.fire.val() {
            self.armed.d.next = false;
            self.now_mark.d.next = false;
            self.timer.d.next = bits::<16>(0);
            // A completion written in the same cycle stays pending.
            self.pend.d.next = self.pend_n.val() - self.pend.q.val();
        }

        // ------------------------------------------------------------ register writes
        if self.wr.val() {
            if self.wr_off.val() == self.o_dq_base_lo.val() {
                self.dq_base.d.next = (self.dq_base.q.val() & self.k_hi32.val())
                    | bit_cast::<64, 32>(self.wr_data.val() & self.k_base_mask.val());
            }
            if self.wr_off.val() == self.o_dq_base_hi.val() {
                self.dq_base.d.next = (self.dq_base.q.val() & self.k_lo32.val())
                    | (bit_cast::<64, 32>(self.wr_data.val()) << 32);
            }
            if self.wr_off.val() == self.o_dq_log2.val() {
                self.dq_log2.d.next = self.wr_data.val().get_bits::<5>(0);
            }
            if self.wr_off.val() == self.o_dq_prod.val() {
                self.dq_prod.d.next = self.wr_data.val().get_bits::<IXW>(0);
                self.new_used.next = self.wr_data.val().get_bits::<IXW>(0) - self.dq_cons.q.val();
                if self.enable.q.val()
                    & (bit_cast::<17, IXW>(self.new_used.val()) > self.dq_size.val())
                {
                    self.faulted.d.next = true;
                    self.fcode.d.next = self.k_fault_bad_index.val();
                }
            }
            if self.wr_off.val() == self.o_cq_base_lo.val() {
                self.cq_base.d.next = (self.cq_base.q.val() & self.k_hi32.val())
                    | bit_cast::<64, 32>(self.wr_data.val() & self.k_base_mask.val());
            }
            if self.wr_off.val() == self.o_cq_base_hi.val() {
                self.cq_base.d.next = (self.cq_base.q.val() & self.k_lo32.val())
                    | (bit_cast::<64, 32>(self.wr_data.val()) << 32);
            }
            if self.wr_off.val() == self.o_cq_log2.val() {
                self.cq_log2.d.next = self.wr_data.val().get_bits::<5>(0);
            }
            if self.wr_off.val() == self.o_cq_cons.val() {
                self.cq_cons.d.next = self.wr_data.val().get_bits::<IXW>(0);
                // Against the records written (`cq_wr`), not `CQ_PROD`: software sees a
                // record as soon as its beats land and may acknowledge it before the
                // write response has moved `CQ_PROD`.
                self.new_used.next = self.cq_wr.q.val() - self.wr_data.val().get_bits::<IXW>(0);
                if self.enable.q.val()
                    & (bit_cast::<17, IXW>(self.new_used.val()) > self.cq_size.val())
                {
                    self.faulted.d.next = true;
                    self.fcode.d.next = self.k_fault_bad_index.val();
                }
                if (self.wr_data.val() & (bits::<32>(1) << self.s_arm.val())).any() {
                    self.armed.d.next = true;
                }
            }
            if self.wr_off.val() == self.o_irq_vector.val() {
                self.vec_r.d.next = self.wr_data.val().get_bits::<8>(0);
                self.irq_en.d.next =
                    (self.wr_data.val() & (bits::<32>(1) << self.s_irq_en.val())).any();
            }
            if self.wr_off.val() == self.o_irq_mod.val() {
                self.mod_pkts.d.next = self.wr_data.val().get_bits::<16>(0);
                self.mod_usecs.d.next =
                    bit_cast::<16, 32>(self.wr_data.val() >> self.s_mod_usecs.val());
            }
            if self.wr_off.val() == self.o_q_ctrl.val() {
                if (self.wr_data.val() & (bits::<32>(1) << self.s_ctrl_reset.val())).any() {
                    self.enable.d.next = false;
                    self.dq_cons.d.next = bits::<IXW>(0);
                    self.dq_prod.d.next = bits::<IXW>(0);
                    self.cq_prod.d.next = bits::<IXW>(0);
                    self.cq_cons.d.next = bits::<IXW>(0);
                    self.dq_fetch.d.next = bits::<IXW>(0);
                    self.cq_wr.d.next = bits::<IXW>(0);
                    self.faulted.d.next = false;
                    self.fcode.d.next = bits::<4>(0);
                    self.bad_desc.d.next = bits::<32>(0);
                    self.pend.d.next = bits::<16>(0);
                    self.timer.d.next = bits::<16>(0);
                    self.now_mark.d.next = false;
                    self.armed.d.next = false;
                    // A new epoch, unless an earlier reset is still draining: its
                    // packets carry the epoch before that one, and flipping the one-bit
                    // epoch back would make them current again (their completions
                    // would land in the new ring). Nothing is fetched while
                    // `rst_busy`, so no packet of the current epoch is in flight.
                    if !self.rst_busy.q.val() {
                        self.epoch_r.d.next = !self.epoch_r.q.val();
                    }
                    self.rst_busy.d.next = self.busy.val();
                } else {
                    self.enable.d.next =
                        (self.wr_data.val() & (bits::<32>(1) << self.s_ctrl_enable.val())).any();
                    if (self.wr_data.val() & (bits::<32>(1) << self.s_ctrl_enable.val())).any()
                        & !self.enable.q.val()
                        & self.ring_bad.val()
                    {
                        self.faulted.d.next = true;
                        self.fcode.d.next = self.k_fault_bad_ring.val();
                    }
                }
            }
        }

        // ------------------------------------------------------------ register reads
        self.status.next = bit_cast::<32, 4>(self.fcode.q.val()) << self.s_fault_code.val();
        if self.enable.q.val() & !self.faulted.q.val() {
            self.status.next = self.status.val() | self.b_enabled.val();
        }
        if self.rst_busy.q.val() {
            self.status.next = self.status.val() | self.b_reset_busy.val();
        }
        if !self.busy.val() {
            self.status.next = self.status.val() | self.b_idle.val();
        }
        if self.faulted.q.val() {
            self.status.next = self.status.val() | self.b_fault.val();
        }
        self.rd_data.next = bits::<32>(0);
        if self.rd_off.val() == self.o_dq_base_lo.val() {
            self.rd_data.next = self.dq_base.q.val().get_bits::<32>(0);
        }
        if self.rd_off.val() == self.o_dq_base_hi.val() {
            self.rd_data.next = self.dq_base.q.val().get_bits::<32>(32);
        }
        if self.rd_off.val() == self.o_dq_log2.val() {
            self.rd_data.next = bit_cast::<32, 5>(self.dq_log2.q.val());
        }
        if self.rd_off.val() == self.o_dq_prod.val() {
            self.rd_data.next = bit_cast::<32, IXW>(self.dq_prod.q.val());
        }
        if self.rd_off.val() == self.o_dq_cons.val() {
            self.rd_data.next = bit_cast::<32, IXW>(self.dq_cons.q.val());
        }
        if self.rd_off.val() == self.o_cq_base_lo.val() {
            self.rd_data.next = self.cq_base.q.val().get_bits::<32>(0);
        }
        if self.rd_off.val() == self.o_cq_base_hi.val() {
            self.rd_data.next = self.cq_base.q.val().get_bits::<32>(32);
        }
        if self.rd_off.val() == self.o_cq_log2.val() {
            self.rd_data.next = bit_cast::<32, 5>(self.cq_log2.q.val());
        }
        if self.rd_off.val() == self.o_cq_prod.val() {
            self.rd_data.next = bit_cast::<32, IXW>(self.cq_prod.q.val());
        }
        if self.rd_off.val() == self.o_cq_cons.val() {
            self.rd_data.next = bit_cast::<32, IXW>(self.cq_cons.q.val());
        }
        if self.rd_off.val() == self.o_irq_vector.val() {
            self.rd_data.next = bit_cast::<32, 8>(self.vec_r.q.val());
            if self.irq_en.q.val() {
                self.rd_data.next = self.rd_data.val() | (bits::<32>(1) << self.s_irq_en.val());
            }
        }
        if self.rd_off.val() == self.o_irq_mod.val() {
            self.rd_data.next = bit_cast::<32, 16>(self.mod_pkts.q.val())
                | (bit_cast::<32, 16>(self.mod_usecs.q.val()) << self.s_mod_usecs.val());
        }
        if (self.rd_off.val() == self.o_q_ctrl.val()) & self.enable.q.val() {
            self.rd_data.next = bits::<32>(1) << self.s_ctrl_enable.val();
        }
        if self.rd_off.val() == self.o_q_status.val() {
            self.rd_data.next = self.status.val();
        }
        if self.rd_off.val() == self.o_q_bad_desc.val() {
            self.rd_data.next = self.bad_desc.q.val();
        }

        if self.reset.val() {
            self.dq_base.d.next = bits::<64>(0);
            self.cq_base.d.next = bits::<64>(0);
            self.dq_log2.d.next = bits::<5>(0);
            self.cq_log2.d.next = bits::<5>(0);
            self.dq_prod.d.next = bits::<IXW>(0);
            self.dq_cons.d.next = bits::<IXW>(0);
            self.cq_prod.d.next = bits::<IXW>(0);
            self.cq_cons.d.next = bits::<IXW>(0);
            self.vec_r.d.next = bits::<8>(0);
            self.irq_en.d.next = false;
            self.mod_pkts.d.next = bits::<16>(0);
            self.mod_usecs.d.next = bits::<16>(0);
            self.enable.d.next = false;
            self.faulted.d.next = false;
            self.fcode.d.next = bits::<4>(0);
            self.bad_desc.d.next = bits::<32>(0);
            self.armed.d.next = false;
            self.pend.d.next = bits::<16>(0);
            self.timer.d.next = bits::<16>(0);
            self.now_mark.d.next = false;
            self.rst_busy.d.next = false;
            self.dq_fetch.d.next = bits::<IXW>(0);
            self.cq_wr.d.next = bits::<IXW>(0);
            self.infl.d.next = bits::<8>(0);
            self.avail_r.d.next = bits::<3>(0);
        }
    }
}
