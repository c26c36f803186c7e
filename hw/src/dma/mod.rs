//! The DMA front end: `regmap::dma`'s queue pairs in front of the engine's
//! AXI4-Stream ports, over an AXI4 memory-mapped bus master to host memory
//! (128-bit data, `regmap::dma::IOVA_BITS`-bit addresses, INCR bursts of up to 16
//! beats that never cross a 256-byte boundary, so never a 4 KiB one).
//!
//! Per packet (one descriptor in flight at a time in this version), a state
//! machine in [`DmaEngine`]:
//! 1. *Pick*: the queues with work ([`DmaQueue::ready`]: a posted descriptor, room
//!    in the completion ring) are served round-robin.
//! 2. *Fetch*: one burst of `DESC_BYTES / 16` beats reads the descriptor at
//!    `DQ_CONS`; an error response faults the queue (`QueueFault::DescFetch`),
//!    otherwise `DQ_CONS` advances.
//! 3. *Check*: the checks of `regmap::dma::DmaDescriptor::card_check`, first failure
//!    first (reserved bits or unknown flags, length, SA index, alignment, bounds,
//!    result space). A refused descriptor goes straight to its completion with the
//!    `Dma*` verdict and is counted in `Q_BAD_DESC`.
//! 4. *Payload and result*: read bursts of the input go out on the stream with the
//!    side-band built from the descriptor (`regmap::sideband`); at the same time the
//!    engine's result beats are written to `RESULT_IOVA` in bursts (the address of a
//!    burst is issued when its first beat is there; after the last beat the burst is
//!    closed with beats whose strobes are 0). A result of one empty beat (a verdict
//!    other than OK) writes nothing. All write responses are awaited.
//! 5. *Completion*: the 32-byte record (`regmap::dma::CPL_FIELDS`, phase bit in the
//!    last beat) is written as one two-beat burst at `CQ_PROD`; as its last beat is
//!    sent `CQ_PROD` advances and the queue's interrupt moderation counts it (so a
//!    record software can see is never past `CQ_PROD`). An error
//!    response faults the queue (`QueueFault::CplWrite`). A read or write error on
//!    the payload or the result gives the verdict `DmaBusError` with no result.
//!
//! A queue reset (`Q_CTRL.RESET`) while its descriptor is in flight lets the DMA
//! finish and writes no completion for it.
//!
//! While any queue is enabled the DMA front end owns the engine's stream ports
//! (`active`); `Top` then holds its external `s_axis`/`m_axis` ports idle. The MMIO
//! window works either way.

use rust_hdl::prelude::*;

use regmap::dma::{
    DescFlags, CPL_BYTES, C_COOKIE, C_DESC_INDEX, C_INBOUND, C_NEXT_HEADER, C_PHASE, C_RESULT_LEN,
    C_SA_INDEX, C_SEQ, C_VERDICT, DESC_BYTES, DESC_FIELDS, D_BUF_IOVA, D_COOKIE, D_FLAGS,
    D_INBOUND, D_LEN, D_NEXT_HEADER, D_RESULT_CAP, D_RESULT_IOVA, D_SA_INDEX, D_SEQ_HI,
};
use regmap::regs::off;
use regmap::sideband::{
    IN_INBOUND, IN_NEXT_HEADER, IN_SA_INDEX, IN_SEQ_HI, OUT_NEXT_HEADER, OUT_SEQ, OUT_VERDICT,
};
use regmap::{QueueFault, Verdict};

pub mod queue;

pub use queue::{DmaQueue, IOW, IXW, QOW};

use crate::util::{KeepCount, KeepMask};

/// Queue pairs (`regmap::dma::NUM_QUEUES`).
pub const NQ: usize = regmap::dma::NUM_QUEUES as usize;
/// Interrupt vectors (`regmap::dma::NUM_VECTORS`).
pub const NV: usize = regmap::dma::NUM_VECTORS as usize;
/// Register address width (`regmap::ADDR_WIDTH`).
pub const AW: usize = regmap::ADDR_WIDTH as usize;
/// Descriptor bits.
pub const DW: usize = 8 * DESC_BYTES;
/// Completion record bits.
pub const CW: usize = 8 * CPL_BYTES;
/// `s_axis_tuser` width.
pub const SUW: usize = regmap::sideband::S_TUSER_BITS as usize;
/// `m_axis_tuser` width.
pub const MUW: usize = regmap::sideband::M_TUSER_BITS as usize;

// The round-robin picker and the queue decode are written for four queues of one
// vector each; the record layouts for the widths below.
const _: () = assert!(NQ == 4 && NV == 4);
const _: () = assert!(DESC_BYTES == 64 && CPL_BYTES == 32);
const _: () = assert!(D_BUF_IOVA.width == 64 && D_RESULT_IOVA.width == 64);
const _: () = assert!(D_COOKIE.width == 64 && D_LEN.width == 16 && D_RESULT_CAP.width == 16);
const _: () = assert!(D_SEQ_HI.width == 32 && D_SA_INDEX.width == 16);
const _: () = assert!(D_NEXT_HEADER.width == 8 && D_INBOUND.width == 1 && D_FLAGS.width == 8);
const _: () = assert!(C_COOKIE.width == 64 && C_SEQ.width == 64 && C_RESULT_LEN.width == 16);
const _: () = assert!(C_VERDICT.width == 4 && C_NEXT_HEADER.width == 8);
const _: () = assert!(C_DESC_INDEX.width == 16 && C_SA_INDEX.width == 16);
const _: () = assert!(IN_SEQ_HI.width == 32 && OUT_SEQ.width == 64);
const _: () = assert!(regmap::STREAM_DATA_BITS == 128);

fn k16(v: u32) -> Constant<Bits<16>> {
    Constant::new((v as u64).to_bits())
}

fn k4(v: u32) -> Constant<Bits<4>> {
    Constant::new((v as u64).to_bits())
}

fn vk(v: Verdict) -> Constant<Bits<4>> {
    k4(v.code())
}

/// The reserved bits of a descriptor: every bit outside `DESC_FIELDS`, and the
/// flag bits `DescFlags` does not define.
fn reserved_mask() -> Bits<DW> {
    let mut m = Bits::<DW>::default();
    for bit in 0..DW as u32 {
        let defined = DESC_FIELDS
            .iter()
            .any(|f| bit >= f.lsb && bit < f.lsb + f.width);
        let unknown_flag = (D_FLAGS.lsb..D_FLAGS.lsb + D_FLAGS.width).contains(&bit)
            && (DescFlags::all().bits() >> (bit - D_FLAGS.lsb)) & 1 == 0;
        if !defined || unknown_flag {
            m = m | (bits::<DW>(1) << u64::from(bit));
        }
    }
    m
}

/// States of the front end (one descriptor at a time).
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum DmaState {
    /// Waiting for a queue with work.
    Idle,
    /// Descriptor read address.
    DescAr,
    /// Descriptor beats.
    DescR,
    /// Descriptor checks.
    Check,
    /// Payload read and result write.
    Payload,
    /// Completion write address.
    CplAw,
    /// Completion first beat.
    CplW0,
    /// Completion second beat (phase bit).
    CplW1,
    /// Completion write response.
    CplB,
}

/// States of the result writer (inside `Payload`).
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum WrState {
    /// Waiting for the next result beat.
    Wait,
    /// Burst address.
    Addr,
    /// Burst beats.
    Data,
    /// Result written (or none to write).
    Done,
}

/// The DMA front end (see the module docs).
#[derive(LogicBlock)]
pub struct DmaEngine {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset.
    pub reset: Signal<In, bool>,
    /// A register write this cycle (address and data below).
    pub wr: Signal<In, bool>,
    /// Register write address.
    pub wr_addr: Signal<In, Bits<AW>>,
    /// Register write data.
    pub wr_data: Signal<In, Bits<32>>,
    /// Register read address (combinational read).
    pub rd_addr: Signal<In, Bits<AW>>,
    /// The register at `rd_addr` (when `rd_hit`).
    pub rd_data: Signal<Out, Bits<32>>,
    /// `rd_addr` is a DMA register (`ID_DMA` or a queue block).
    pub rd_hit: Signal<Out, bool>,
    /// AXI4 read address.
    pub m_axi_araddr: Signal<Out, Bits<IOW>>,
    /// AXI4 read burst length (beats - 1).
    pub m_axi_arlen: Signal<Out, Bits<8>>,
    /// AXI4 read beat size (4: 16 bytes).
    pub m_axi_arsize: Signal<Out, Bits<3>>,
    /// AXI4 read burst type (1: INCR).
    pub m_axi_arburst: Signal<Out, Bits<2>>,
    /// AXI4 read address valid.
    pub m_axi_arvalid: Signal<Out, bool>,
    /// AXI4 read address ready.
    pub m_axi_arready: Signal<In, bool>,
    /// AXI4 read data.
    pub m_axi_rdata: Signal<In, Bits<128>>,
    /// AXI4 read response (0: OKAY).
    pub m_axi_rresp: Signal<In, Bits<2>>,
    /// AXI4 read last beat.
    pub m_axi_rlast: Signal<In, bool>,
    /// AXI4 read data valid.
    pub m_axi_rvalid: Signal<In, bool>,
    /// AXI4 read data ready.
    pub m_axi_rready: Signal<Out, bool>,
    /// AXI4 write address.
    pub m_axi_awaddr: Signal<Out, Bits<IOW>>,
    /// AXI4 write burst length (beats - 1).
    pub m_axi_awlen: Signal<Out, Bits<8>>,
    /// AXI4 write beat size (4: 16 bytes).
    pub m_axi_awsize: Signal<Out, Bits<3>>,
    /// AXI4 write burst type (1: INCR).
    pub m_axi_awburst: Signal<Out, Bits<2>>,
    /// AXI4 write address valid.
    pub m_axi_awvalid: Signal<Out, bool>,
    /// AXI4 write address ready.
    pub m_axi_awready: Signal<In, bool>,
    /// AXI4 write data.
    pub m_axi_wdata: Signal<Out, Bits<128>>,
    /// AXI4 write strobes.
    pub m_axi_wstrb: Signal<Out, Bits<16>>,
    /// AXI4 write last beat.
    pub m_axi_wlast: Signal<Out, bool>,
    /// AXI4 write data valid.
    pub m_axi_wvalid: Signal<Out, bool>,
    /// AXI4 write data ready.
    pub m_axi_wready: Signal<In, bool>,
    /// AXI4 write response (0: OKAY).
    pub m_axi_bresp: Signal<In, Bits<2>>,
    /// AXI4 write response valid.
    pub m_axi_bvalid: Signal<In, bool>,
    /// AXI4 write response ready.
    pub m_axi_bready: Signal<Out, bool>,
    /// To the engine's stream input: data.
    pub tx_tdata: Signal<Out, Bits<128>>,
    /// To the engine's stream input: byte enables.
    pub tx_tkeep: Signal<Out, Bits<16>>,
    /// To the engine's stream input: last beat.
    pub tx_tlast: Signal<Out, bool>,
    /// To the engine's stream input: valid.
    pub tx_tvalid: Signal<Out, bool>,
    /// To the engine's stream input: ready.
    pub tx_tready: Signal<In, bool>,
    /// To the engine's stream input: side-band (`regmap::sideband`).
    pub tx_tuser: Signal<Out, Bits<SUW>>,
    /// From the engine's stream output: data.
    pub rx_tdata: Signal<In, Bits<128>>,
    /// From the engine's stream output: byte enables.
    pub rx_tkeep: Signal<In, Bits<16>>,
    /// From the engine's stream output: last beat.
    pub rx_tlast: Signal<In, bool>,
    /// From the engine's stream output: valid.
    pub rx_tvalid: Signal<In, bool>,
    /// From the engine's stream output: ready.
    pub rx_tready: Signal<Out, bool>,
    /// From the engine's stream output: result side-band.
    pub rx_tuser: Signal<In, Bits<MUW>>,
    /// A queue is enabled: the DMA front end owns the engine's stream ports.
    pub active: Signal<Out, bool>,
    /// One pulse per interrupt, one line per vector.
    pub irq: Signal<Out, Bits<NV>>,

    /// The queue pairs.
    pub queues: Vec<DmaQueue>,
    kmask: KeepMask,
    kcount: KeepCount,

    state: DFF<DmaState>,
    rr: DFF<Bits<2>>,
    cur: DFF<Bits<2>>,
    epoch0: DFF<bool>,
    beat: DFF<Bits<2>>,
    desc: DFF<Bits<DW>>,
    rerr: DFF<bool>,
    dix: DFF<Bits<IXW>>,
    tuser_r: DFF<Bits<SUW>>,
    ar_addr: DFF<Bits<IOW>>,
    ar_left: DFF<Bits<16>>,
    r_left: DFF<Bits<16>>,
    r_bytes: DFF<Bits<16>>,
    wstate: DFF<WrState>,
    w_addr: DFF<Bits<IOW>>,
    w_left: DFF<Bits<16>>,
    w_burst: DFF<Bits<5>>,
    w_first: DFF<bool>,
    w_last_seen: DFF<bool>,
    b_pend: DFF<Bits<8>>,
    res_bytes: DFF<Bits<16>>,
    bus_err: DFF<bool>,
    c_verdict: DFF<Bits<4>>,
    c_seq: DFF<Bits<64>>,
    c_nh: DFF<Bits<8>>,
    c_len: DFF<Bits<16>>,
    c_bad: DFF<bool>,
    presc: DFF<Bits<16>>,

    wr_hit: Signal<Local, bool>,
    wr_rel: Signal<Local, Bits<AW>>,
    wr_mask: Signal<Local, Bits<NQ>>,
    rd_rel: Signal<Local, Bits<AW>>,
    rd_q: Signal<Local, Bits<NQ>>,
    rdy: Signal<Local, Bits<NQ>>,
    rot: Signal<Local, Bits<8>>,
    pick_off: Signal<Local, Bits<2>>,
    cur_mask: Signal<Local, Bits<NQ>>,
    sel_ready: Signal<Local, bool>,
    sel_daddr: Signal<Local, Bits<IOW>>,
    sel_caddr: Signal<Local, Bits<IOW>>,
    sel_dix: Signal<Local, Bits<IXW>>,
    sel_phase: Signal<Local, bool>,
    sel_epoch: Signal<Local, bool>,
    q_take: Signal<Local, bool>,
    q_done: Signal<Local, bool>,
    q_fault: Signal<Local, bool>,
    q_fcode: Signal<Local, Bits<4>>,
    tick: Signal<Local, bool>,
    f_buf: Signal<Local, Bits<64>>,
    f_res: Signal<Local, Bits<64>>,
    f_cookie: Signal<Local, Bits<64>>,
    f_len: Signal<Local, Bits<16>>,
    f_cap: Signal<Local, Bits<16>>,
    f_seqhi: Signal<Local, Bits<32>>,
    f_sa: Signal<Local, Bits<16>>,
    f_nh: Signal<Local, Bits<8>>,
    f_inb: Signal<Local, bool>,
    f_now: Signal<Local, bool>,
    f_flags: Signal<Local, Bits<8>>,
    maxres: Signal<Local, Bits<17>>,
    bad_v: Signal<Local, Bits<4>>,
    is_bad: Signal<Local, bool>,
    ar_len: Signal<Local, Bits<16>>,
    w_len: Signal<Local, Bits<16>>,
    r_fire: Signal<Local, bool>,
    w_fire: Signal<Local, bool>,
    w_real: Signal<Local, bool>,
    b_inc: Signal<Local, bool>,
    cpl: Signal<Local, Bits<CW>>,
    rd_dma: Signal<Local, Bits<32>>,
    tuser_n: Signal<Local, Bits<SUW>>,

    k_resv: Constant<Bits<DW>>,
    s_buf: Constant<Bits<16>>,
    s_res: Constant<Bits<16>>,
    s_cookie: Constant<Bits<16>>,
    s_len: Constant<Bits<16>>,
    s_cap: Constant<Bits<16>>,
    s_seqhi: Constant<Bits<16>>,
    s_sa: Constant<Bits<16>>,
    s_nh: Constant<Bits<16>>,
    s_inb: Constant<Bits<16>>,
    s_flags: Constant<Bits<16>>,
    k_irq_now: Constant<Bits<8>>,
    k_inb: Constant<Bits<DW>>,
    s_in_sa: Constant<Bits<16>>,
    s_in_inb: Constant<Bits<16>>,
    s_in_nh: Constant<Bits<16>>,
    s_in_seqhi: Constant<Bits<16>>,
    s_out_verdict: Constant<Bits<16>>,
    s_out_nh: Constant<Bits<16>>,
    s_out_seq: Constant<Bits<16>>,
    s_c_cookie: Constant<Bits<16>>,
    s_c_seq: Constant<Bits<16>>,
    s_c_len: Constant<Bits<16>>,
    s_c_verdict: Constant<Bits<16>>,
    s_c_inb: Constant<Bits<16>>,
    s_c_nh: Constant<Bits<16>>,
    s_c_dix: Constant<Bits<16>>,
    s_c_sa: Constant<Bits<16>>,
    s_c_phase: Constant<Bits<16>>,
    k_max_packet: Constant<Bits<16>>,
    k_num_sas: Constant<Bits<16>>,
    k_align: Constant<Bits<64>>,
    k_iova_limit: Constant<Bits<66>>,
    k_hdr_icv: Constant<Bits<17>>,
    k_in_over: Constant<Bits<17>>,
    k_desc_beats: Constant<Bits<8>>,
    k_cpl_beats: Constant<Bits<8>>,
    k_presc: Constant<Bits<16>>,
    k_q_base: Constant<Bits<AW>>,
    k_q_span: Constant<Bits<AW>>,
    k_id_dma: Constant<Bits<AW>>,
    k_id_dma_value: Constant<Bits<32>>,
    v_ok: Constant<Bits<4>>,
    v_length: Constant<Bits<4>>,
    v_sa: Constant<Bits<4>>,
    v_align: Constant<Bits<4>>,
    v_bounds: Constant<Bits<4>>,
    v_space: Constant<Bits<4>>,
    v_reserved: Constant<Bits<4>>,
    v_bus: Constant<Bits<4>>,
    k_fault_fetch: Constant<Bits<4>>,
    k_fault_cpl: Constant<Bits<4>>,
}

impl Default for DmaEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl DmaEngine {
    /// The front end with every constant from `regmap`.
    #[must_use]
    pub fn new() -> Self {
        let esp = regmap::ESP_HEADER_BYTES + regmap::ICV_BYTES;
        Self {
            clock: Default::default(),
            reset: Default::default(),
            wr: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            rd_addr: Default::default(),
            rd_data: Default::default(),
            rd_hit: Default::default(),
            m_axi_araddr: Default::default(),
            m_axi_arlen: Default::default(),
            m_axi_arsize: Default::default(),
            m_axi_arburst: Default::default(),
            m_axi_arvalid: Default::default(),
            m_axi_arready: Default::default(),
            m_axi_rdata: Default::default(),
            m_axi_rresp: Default::default(),
            m_axi_rlast: Default::default(),
            m_axi_rvalid: Default::default(),
            m_axi_rready: Default::default(),
            m_axi_awaddr: Default::default(),
            m_axi_awlen: Default::default(),
            m_axi_awsize: Default::default(),
            m_axi_awburst: Default::default(),
            m_axi_awvalid: Default::default(),
            m_axi_awready: Default::default(),
            m_axi_wdata: Default::default(),
            m_axi_wstrb: Default::default(),
            m_axi_wlast: Default::default(),
            m_axi_wvalid: Default::default(),
            m_axi_wready: Default::default(),
            m_axi_bresp: Default::default(),
            m_axi_bvalid: Default::default(),
            m_axi_bready: Default::default(),
            tx_tdata: Default::default(),
            tx_tkeep: Default::default(),
            tx_tlast: Default::default(),
            tx_tvalid: Default::default(),
            tx_tready: Default::default(),
            tx_tuser: Default::default(),
            rx_tdata: Default::default(),
            rx_tkeep: Default::default(),
            rx_tlast: Default::default(),
            rx_tvalid: Default::default(),
            rx_tready: Default::default(),
            rx_tuser: Default::default(),
            active: Default::default(),
            irq: Default::default(),
            queues: (0..NQ).map(|_| DmaQueue::new()).collect(),
            kmask: Default::default(),
            kcount: Default::default(),
            state: Default::default(),
            rr: Default::default(),
            cur: Default::default(),
            epoch0: Default::default(),
            beat: Default::default(),
            desc: Default::default(),
            rerr: Default::default(),
            dix: Default::default(),
            tuser_r: Default::default(),
            ar_addr: Default::default(),
            ar_left: Default::default(),
            r_left: Default::default(),
            r_bytes: Default::default(),
            wstate: Default::default(),
            w_addr: Default::default(),
            w_left: Default::default(),
            w_burst: Default::default(),
            w_first: Default::default(),
            w_last_seen: Default::default(),
            b_pend: Default::default(),
            res_bytes: Default::default(),
            bus_err: Default::default(),
            c_verdict: Default::default(),
            c_seq: Default::default(),
            c_nh: Default::default(),
            c_len: Default::default(),
            c_bad: Default::default(),
            presc: Default::default(),
            wr_hit: Default::default(),
            wr_rel: Default::default(),
            wr_mask: Default::default(),
            rd_rel: Default::default(),
            rd_q: Default::default(),
            rdy: Default::default(),
            rot: Default::default(),
            pick_off: Default::default(),
            cur_mask: Default::default(),
            sel_ready: Default::default(),
            sel_daddr: Default::default(),
            sel_caddr: Default::default(),
            sel_dix: Default::default(),
            sel_phase: Default::default(),
            sel_epoch: Default::default(),
            q_take: Default::default(),
            q_done: Default::default(),
            q_fault: Default::default(),
            q_fcode: Default::default(),
            tick: Default::default(),
            f_buf: Default::default(),
            f_res: Default::default(),
            f_cookie: Default::default(),
            f_len: Default::default(),
            f_cap: Default::default(),
            f_seqhi: Default::default(),
            f_sa: Default::default(),
            f_nh: Default::default(),
            f_inb: Default::default(),
            f_now: Default::default(),
            f_flags: Default::default(),
            maxres: Default::default(),
            bad_v: Default::default(),
            is_bad: Default::default(),
            ar_len: Default::default(),
            w_len: Default::default(),
            r_fire: Default::default(),
            w_fire: Default::default(),
            w_real: Default::default(),
            b_inc: Default::default(),
            cpl: Default::default(),
            rd_dma: Default::default(),
            tuser_n: Default::default(),
            k_resv: Constant::new(reserved_mask()),
            s_buf: k16(D_BUF_IOVA.lsb),
            s_res: k16(D_RESULT_IOVA.lsb),
            s_cookie: k16(D_COOKIE.lsb),
            s_len: k16(D_LEN.lsb),
            s_cap: k16(D_RESULT_CAP.lsb),
            s_seqhi: k16(D_SEQ_HI.lsb),
            s_sa: k16(D_SA_INDEX.lsb),
            s_nh: k16(D_NEXT_HEADER.lsb),
            s_inb: k16(D_INBOUND.lsb),
            s_flags: k16(D_FLAGS.lsb),
            k_inb: Constant::new(bits::<DW>(1) << u64::from(D_INBOUND.lsb)),
            k_irq_now: Constant::new((DescFlags::IRQ_NOW.bits() as u64).to_bits()),
            s_in_sa: k16(IN_SA_INDEX.lsb),
            s_in_inb: k16(IN_INBOUND.lsb),
            s_in_nh: k16(IN_NEXT_HEADER.lsb),
            s_in_seqhi: k16(IN_SEQ_HI.lsb),
            s_out_verdict: k16(OUT_VERDICT.lsb),
            s_out_nh: k16(OUT_NEXT_HEADER.lsb),
            s_out_seq: k16(OUT_SEQ.lsb),
            s_c_cookie: k16(C_COOKIE.lsb),
            s_c_seq: k16(C_SEQ.lsb),
            s_c_len: k16(C_RESULT_LEN.lsb),
            s_c_verdict: k16(C_VERDICT.lsb),
            s_c_inb: k16(C_INBOUND.lsb),
            s_c_nh: k16(C_NEXT_HEADER.lsb),
            s_c_dix: k16(C_DESC_INDEX.lsb),
            s_c_sa: k16(C_SA_INDEX.lsb),
            s_c_phase: k16(C_PHASE.lsb),
            k_max_packet: k16(regmap::MAX_PACKET_BYTES),
            k_num_sas: k16(regmap::NUM_SAS),
            k_align: Constant::new((regmap::dma::BUF_ALIGN - 1).to_bits()),
            k_iova_limit: Constant::new(bits::<66>(1) << u64::from(regmap::dma::IOVA_BITS)),
            k_hdr_icv: Constant::new(u64::from(esp).to_bits()),
            k_in_over: Constant::new(u64::from(esp + 2).to_bits()),
            k_desc_beats: Constant::new(((DESC_BYTES / 16 - 1) as u64).to_bits()),
            k_cpl_beats: Constant::new(((CPL_BYTES / 16 - 1) as u64).to_bits()),
            k_presc: k16(regmap::dma::CORE_CLOCK_MHZ - 1),
            k_q_base: Constant::new(u64::from(off::DMA_QUEUE_BASE).to_bits()),
            k_q_span: Constant::new(
                u64::from(regmap::dma::NUM_QUEUES * off::DMA_QUEUE_STRIDE).to_bits(),
            ),
            k_id_dma: Constant::new(u64::from(off::ID_DMA).to_bits()),
            k_id_dma_value: Constant::new(u64::from(regmap::dma::ID_DMA_VALUE).to_bits()),
            v_ok: vk(Verdict::Ok),
            v_length: vk(Verdict::DmaLength),
            v_sa: vk(Verdict::DmaSaIndex),
            v_align: vk(Verdict::DmaAlign),
            v_bounds: vk(Verdict::DmaBounds),
            v_space: vk(Verdict::DmaResultSpace),
            v_reserved: vk(Verdict::DmaReserved),
            v_bus: vk(Verdict::DmaBusError),
            k_fault_fetch: k4(QueueFault::DescFetch as u32),
            k_fault_cpl: k4(QueueFault::CplWrite as u32),
        }
    }
}

impl Logic for DmaEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            rr,
            cur,
            epoch0,
            beat,
            desc,
            rerr,
            dix,
            tuser_r,
            ar_addr,
            ar_left,
            r_left,
            r_bytes,
            wstate,
            w_addr,
            w_left,
            w_burst,
            w_first,
            w_last_seen,
            b_pend,
            res_bytes,
            bus_err,
            c_verdict,
            c_seq,
            c_nh,
            c_len,
            c_bad,
            presc
        );
        // ------------------------------------------------------------ register decode
        self.wr_rel.next = self.wr_addr.val() - self.k_q_base.val();
        self.wr_hit.next = self.wr.val()
            & (self.wr_addr.val() >= self.k_q_base.val())
            & (self.wr_rel.val() < self.k_q_span.val());
        self.wr_mask.next = bits::<NQ>(1) << self.wr_rel.val().get_bits::<2>(8);
        self.rd_rel.next = self.rd_addr.val() - self.k_q_base.val();
        self.rd_q.next = bits::<NQ>(1) << self.rd_rel.val().get_bits::<2>(8);
        // A microsecond prescaler for the moderation timers.
        self.tick.next = self.presc.q.val() == self.k_presc.val();
        if self.tick.val() {
            self.presc.d.next = bits::<16>(0);
        } else {
            self.presc.d.next = self.presc.q.val() + 1;
        }
        self.cur_mask.next = bits::<NQ>(1) << self.cur.q.val();
        self.q_take.next = false;
        self.q_done.next = false;
        self.q_fault.next = false;
        self.q_fcode.next = bits::<4>(0);
        self.sel_ready.next = false;
        self.sel_daddr.next = bits::<IOW>(0);
        self.sel_caddr.next = bits::<IOW>(0);
        self.sel_dix.next = bits::<IXW>(0);
        self.sel_phase.next = false;
        self.sel_epoch.next = false;
        self.rd_dma.next = bits::<32>(0);
        self.irq.next = bits::<NV>(0);
        self.rdy.next = bits::<NQ>(0);
        for n in 0..NQ {
            self.queues[n].clock.next = self.clock.val();
            self.queues[n].reset.next = self.reset.val();
            self.queues[n].wr.next = self.wr_hit.val() & self.wr_mask.val().get_bit(n);
            self.queues[n].wr_off.next = self.wr_rel.val().get_bits::<QOW>(0);
            self.queues[n].wr_data.next = self.wr_data.val();
            self.queues[n].rd_off.next = self.rd_rel.val().get_bits::<QOW>(0);
            self.queues[n].tick_us.next = self.tick.val();
            self.queues[n].busy.next =
                (self.state.q.val() != DmaState::Idle) & self.cur_mask.val().get_bit(n);
            if self.cur_mask.val().get_bit(n) {
                self.sel_daddr.next = self.queues[n].desc_addr.val();
                self.sel_caddr.next = self.queues[n].cpl_addr.val();
                self.sel_dix.next = self.queues[n].dq_index.val();
                self.sel_phase.next = self.queues[n].cpl_phase.val();
                self.sel_epoch.next = self.queues[n].epoch.val();
            }
            if self.rd_q.val().get_bit(n) {
                self.rd_dma.next = self.queues[n].rd_data.val();
            }
            if self.queues[n].irq.val() {
                self.irq.next = self.irq.val() | (bits::<NV>(1) << self.queues[n].vector.val());
            }
        }
        if self.queues[0].ready.val() {
            self.rdy.next = self.rdy.val() | 1;
        }
        if self.queues[1].ready.val() {
            self.rdy.next = self.rdy.val() | 2;
        }
        if self.queues[2].ready.val() {
            self.rdy.next = self.rdy.val() | 4;
        }
        if self.queues[3].ready.val() {
            self.rdy.next = self.rdy.val() | 8;
        }
        // ------------------------------------------------------------ register reads
        self.rd_hit.next = false;
        self.rd_data.next = bits::<32>(0);
        if (self.rd_addr.val() >= self.k_q_base.val()) & (self.rd_rel.val() < self.k_q_span.val()) {
            self.rd_hit.next = true;
            self.rd_data.next = self.rd_dma.val();
        }
        if self.rd_addr.val() == self.k_id_dma.val() {
            self.rd_hit.next = true;
            self.rd_data.next = self.k_id_dma_value.val();
        }

        // ------------------------------------------------------------ descriptor fields
        self.f_buf.next = bit_cast::<64, DW>(self.desc.q.val() >> self.s_buf.val());
        self.f_res.next = bit_cast::<64, DW>(self.desc.q.val() >> self.s_res.val());
        self.f_cookie.next = bit_cast::<64, DW>(self.desc.q.val() >> self.s_cookie.val());
        self.f_len.next = bit_cast::<16, DW>(self.desc.q.val() >> self.s_len.val());
        self.f_cap.next = bit_cast::<16, DW>(self.desc.q.val() >> self.s_cap.val());
        self.f_seqhi.next = bit_cast::<32, DW>(self.desc.q.val() >> self.s_seqhi.val());
        self.f_sa.next = bit_cast::<16, DW>(self.desc.q.val() >> self.s_sa.val());
        self.f_nh.next = bit_cast::<8, DW>(self.desc.q.val() >> self.s_nh.val());
        self.f_inb.next = (self.desc.q.val() & self.k_inb.val()).any();
        self.f_flags.next = bit_cast::<8, DW>(self.desc.q.val() >> self.s_flags.val());
        self.f_now.next = (self.f_flags.val() & self.k_irq_now.val()).any();
        // regmap::dma::max_result_len: inbound the input less header, ICV and the two
        // trailer bytes; outbound header + payload padded (with the two trailer
        // bytes) to a multiple of 4 + ICV.
        if self.f_inb.val() {
            if bit_cast::<17, 16>(self.f_len.val()) >= self.k_in_over.val() {
                self.maxres.next = bit_cast::<17, 16>(self.f_len.val()) - self.k_in_over.val();
            } else {
                self.maxres.next = bits::<17>(0);
            }
        } else {
            self.maxres.next =
                ((bit_cast::<17, 16>(self.f_len.val()) + 5) & 0x1_fffc) + self.k_hdr_icv.val();
        }
        // DmaDescriptor::card_check, first failure first.
        self.is_bad.next = true;
        if (self.desc.q.val() & self.k_resv.val()).any() {
            self.bad_v.next = self.v_reserved.val();
        } else if (self.f_len.val() == 0) | (self.f_len.val() > self.k_max_packet.val()) {
            self.bad_v.next = self.v_length.val();
        } else if self.f_sa.val() >= self.k_num_sas.val() {
            self.bad_v.next = self.v_sa.val();
        } else if ((self.f_buf.val() | self.f_res.val()) & self.k_align.val()).any() {
            self.bad_v.next = self.v_align.val();
        } else if ((bit_cast::<66, 64>(self.f_buf.val()) + bit_cast::<66, 16>(self.f_len.val()))
            > self.k_iova_limit.val())
            | ((bit_cast::<66, 64>(self.f_res.val()) + bit_cast::<66, 16>(self.f_cap.val()))
                > self.k_iova_limit.val())
        {
            self.bad_v.next = self.v_bounds.val();
        } else if bit_cast::<17, 16>(self.f_cap.val()) < self.maxres.val() {
            self.bad_v.next = self.v_space.val();
        } else {
            self.bad_v.next = self.v_ok.val();
            self.is_bad.next = false;
        }

        // ------------------------------------------------------------ bus defaults
        self.m_axi_arsize.next = bits::<3>(4);
        self.m_axi_arburst.next = bits::<2>(1);
        self.m_axi_awsize.next = bits::<3>(4);
        self.m_axi_awburst.next = bits::<2>(1);
        self.m_axi_araddr.next = self.ar_addr.q.val();
        self.m_axi_arlen.next = bits::<8>(0);
        self.m_axi_arvalid.next = false;
        self.m_axi_rready.next = false;
        self.m_axi_awaddr.next = self.w_addr.q.val();
        self.m_axi_awlen.next = bits::<8>(0);
        self.m_axi_awvalid.next = false;
        self.m_axi_wdata.next = bits::<128>(0);
        self.m_axi_wstrb.next = bits::<16>(0);
        self.m_axi_wlast.next = false;
        self.m_axi_wvalid.next = false;
        self.m_axi_bready.next = false;
        self.tx_tdata.next = self.m_axi_rdata.val();
        self.tx_tvalid.next = false;
        self.tx_tlast.next = self.r_left.q.val() == 1;
        self.tx_tuser.next = self.tuser_r.q.val();
        self.kmask.count.next = self.r_bytes.q.val();
        self.tx_tkeep.next = self.kmask.keep.val();
        self.rx_tready.next = false;
        self.kcount.keep.next = self.rx_tkeep.val();
        self.r_fire.next = false;
        self.w_fire.next = false;
        self.w_real.next = false;
        self.b_inc.next = false;
        // Read burst: up to 16 beats, not past the next 256-byte boundary.
        self.ar_len.next =
            bits::<16>(16) - bit_cast::<16, 4>(self.ar_addr.q.val().get_bits::<4>(4));
        if self.ar_left.q.val() < self.ar_len.val() {
            self.ar_len.next = self.ar_left.q.val();
        }
        self.w_len.next = bits::<16>(16) - bit_cast::<16, 4>(self.w_addr.q.val().get_bits::<4>(4));
        if self.w_left.q.val() < self.w_len.val() {
            self.w_len.next = self.w_left.q.val();
        }
        // The completion record.
        self.cpl.next = (bit_cast::<CW, 64>(self.f_cookie.val()) << self.s_c_cookie.val())
            | (bit_cast::<CW, 64>(self.c_seq.q.val()) << self.s_c_seq.val())
            | (bit_cast::<CW, 16>(self.c_len.q.val()) << self.s_c_len.val())
            | (bit_cast::<CW, 4>(self.c_verdict.q.val()) << self.s_c_verdict.val())
            | (bit_cast::<CW, 8>(self.c_nh.q.val()) << self.s_c_nh.val())
            | (bit_cast::<CW, IXW>(self.dix.q.val()) << self.s_c_dix.val())
            | (bit_cast::<CW, 16>(self.f_sa.val()) << self.s_c_sa.val());
        if self.f_inb.val() {
            self.cpl.next = self.cpl.val() | (bits::<CW>(1) << self.s_c_inb.val());
        }
        if self.sel_phase.val() {
            self.cpl.next = self.cpl.val() | (bits::<CW>(1) << self.s_c_phase.val());
        }
        // The side-band of the descriptor's packet.
        self.tuser_n.next = (bit_cast::<SUW, 16>(self.f_sa.val()) << self.s_in_sa.val())
            | (bit_cast::<SUW, 8>(self.f_nh.val()) << self.s_in_nh.val())
            | (bit_cast::<SUW, 32>(self.f_seqhi.val()) << self.s_in_seqhi.val());
        if self.f_inb.val() {
            self.tuser_n.next = self.tuser_n.val() | (bits::<SUW>(1) << self.s_in_inb.val());
        }

        // ------------------------------------------------------------ the engine
        if self.state.q.val() == DmaState::Idle {
            // Round-robin from `rr`.
            self.rot.next = (bit_cast::<8, NQ>(self.rdy.val())
                | (bit_cast::<8, NQ>(self.rdy.val()) << 4))
                >> self.rr.q.val();
            if self.rot.val().get_bit(0) {
                self.pick_off.next = bits::<2>(0);
            } else if self.rot.val().get_bit(1) {
                self.pick_off.next = bits::<2>(1);
            } else if self.rot.val().get_bit(2) {
                self.pick_off.next = bits::<2>(2);
            } else {
                self.pick_off.next = bits::<2>(3);
            }
            if self.rdy.val().any() {
                self.cur.d.next = self.rr.q.val() + self.pick_off.val();
                self.rr.d.next = self.rr.q.val() + self.pick_off.val() + 1;
                self.state.d.next = DmaState::DescAr;
            }
        } else {
            self.pick_off.next = bits::<2>(0);
            self.rot.next = bits::<8>(0);
        }
        if self.state.q.val() == DmaState::DescAr {
            self.m_axi_araddr.next = self.sel_daddr.val();
            self.m_axi_arlen.next = self.k_desc_beats.val();
            self.m_axi_arvalid.next = true;
            self.epoch0.d.next = self.sel_epoch.val();
            self.dix.d.next = self.sel_dix.val();
            if self.m_axi_arready.val() {
                self.beat.d.next = bits::<2>(0);
                self.rerr.d.next = false;
                self.state.d.next = DmaState::DescR;
            }
        }
        if self.state.q.val() == DmaState::DescR {
            self.m_axi_rready.next = true;
            if self.m_axi_rvalid.val() {
                // Beats arrive lowest bytes first: shift in from the top.
                self.desc.d.next = (self.desc.q.val() >> 128)
                    | (bit_cast::<DW, 128>(self.m_axi_rdata.val()) << 384);
                if self.m_axi_rresp.val() != 0 {
                    self.rerr.d.next = true;
                }
                if self.m_axi_rlast.val() {
                    if self.sel_epoch.val() != self.epoch0.q.val() {
                        // The queue was reset meanwhile: drop the descriptor.
                        self.state.d.next = DmaState::Idle;
                    } else if self.rerr.q.val() | (self.m_axi_rresp.val() != 0) {
                        self.q_fault.next = true;
                        self.q_fcode.next = self.k_fault_fetch.val();
                        self.state.d.next = DmaState::Idle;
                    } else {
                        self.q_take.next = true;
                        self.state.d.next = DmaState::Check;
                    }
                }
            }
        }
        if self.state.q.val() == DmaState::Check {
            self.c_bad.d.next = self.is_bad.val();
            self.c_verdict.d.next = self.bad_v.val();
            self.c_seq.d.next = bits::<64>(0);
            self.c_nh.d.next = self.f_nh.val();
            self.c_len.d.next = bits::<16>(0);
            self.bus_err.d.next = false;
            if self.is_bad.val() {
                self.state.d.next = DmaState::CplAw;
            } else {
                self.tuser_r.d.next = self.tuser_n.val();
                self.ar_addr.d.next = self.f_buf.val().get_bits::<IOW>(0);
                self.ar_left.d.next = (self.f_len.val() + 15) >> 4;
                self.r_left.d.next = (self.f_len.val() + 15) >> 4;
                self.r_bytes.d.next = self.f_len.val();
                self.w_addr.d.next = self.f_res.val().get_bits::<IOW>(0);
                self.w_left.d.next = bit_cast::<16, 17>((self.maxres.val() + 15) >> 4);
                self.wstate.d.next = WrState::Wait;
                self.w_first.d.next = true;
                self.w_last_seen.d.next = false;
                self.b_pend.d.next = bits::<8>(0);
                self.res_bytes.d.next = bits::<16>(0);
                self.state.d.next = DmaState::Payload;
            }
        }
        if self.state.q.val() == DmaState::Payload {
            // Input: read bursts ...
            if self.ar_left.q.val() != 0 {
                self.m_axi_arvalid.next = true;
                self.m_axi_arlen.next = bit_cast::<8, 16>(self.ar_len.val() - 1);
                if self.m_axi_arready.val() {
                    self.ar_addr.d.next =
                        self.ar_addr.q.val() + (bit_cast::<IOW, 16>(self.ar_len.val()) << 4);
                    self.ar_left.d.next = self.ar_left.q.val() - self.ar_len.val();
                }
            }
            // ... whose beats go to the engine's stream input.
            if self.r_left.q.val() != 0 {
                self.tx_tvalid.next = self.m_axi_rvalid.val();
                self.m_axi_rready.next = self.tx_tready.val();
                self.r_fire.next = self.m_axi_rvalid.val() & self.tx_tready.val();
            }
            if self.r_fire.val() {
                self.r_left.d.next = self.r_left.q.val() - 1;
                self.r_bytes.d.next = self.r_bytes.q.val() - 16;
                if self.m_axi_rresp.val() != 0 {
                    self.bus_err.d.next = true;
                }
            }
            // Result: write bursts from the engine's stream output.
            if (self.wstate.q.val() == WrState::Wait) & self.rx_tvalid.val() {
                if self.w_first.q.val() & !self.rx_tkeep.val().any() {
                    // One empty beat: a verdict and no bytes.
                    self.rx_tready.next = true;
                    self.c_seq.d.next =
                        bit_cast::<64, MUW>(self.rx_tuser.val() >> self.s_out_seq.val());
                    self.c_verdict.d.next =
                        bit_cast::<4, MUW>(self.rx_tuser.val() >> self.s_out_verdict.val());
                    self.c_nh.d.next =
                        bit_cast::<8, MUW>(self.rx_tuser.val() >> self.s_out_nh.val());
                    self.wstate.d.next = WrState::Done;
                } else if self.w_left.q.val() == 0 {
                    // More than the descriptor allows: dropped, a bus error.
                    self.rx_tready.next = true;
                    self.bus_err.d.next = true;
                    if self.rx_tlast.val() {
                        self.wstate.d.next = WrState::Done;
                    }
                } else {
                    self.wstate.d.next = WrState::Addr;
                }
            }
            if self.wstate.q.val() == WrState::Addr {
                self.m_axi_awvalid.next = true;
                self.m_axi_awlen.next = bit_cast::<8, 16>(self.w_len.val() - 1);
                if self.m_axi_awready.val() {
                    self.b_inc.next = true;
                    self.w_burst.d.next = self.w_len.val().get_bits::<5>(0);
                    self.wstate.d.next = WrState::Data;
                }
            }
            if self.wstate.q.val() == WrState::Data {
                self.m_axi_wlast.next = self.w_burst.q.val() == 1;
                if self.w_last_seen.q.val() {
                    // Close the burst: beats that write nothing.
                    self.m_axi_wvalid.next = true;
                    self.w_fire.next = self.m_axi_wready.val();
                } else {
                    self.m_axi_wvalid.next = self.rx_tvalid.val();
                    self.m_axi_wdata.next = self.rx_tdata.val();
                    self.m_axi_wstrb.next = self.rx_tkeep.val();
                    self.rx_tready.next = self.m_axi_wready.val();
                    self.w_fire.next = self.m_axi_wready.val() & self.rx_tvalid.val();
                    self.w_real.next = self.w_fire.val();
                }
                if self.w_fire.val() {
                    self.w_burst.d.next = self.w_burst.q.val() - 1;
                    self.w_addr.d.next = self.w_addr.q.val() + 16;
                    self.w_left.d.next = self.w_left.q.val() - 1;
                    self.w_first.d.next = false;
                    if self.w_real.val() {
                        self.res_bytes.d.next = self.res_bytes.q.val() + self.kcount.count.val();
                        if self.rx_tlast.val() {
                            self.w_last_seen.d.next = true;
                            self.c_seq.d.next =
                                bit_cast::<64, MUW>(self.rx_tuser.val() >> self.s_out_seq.val());
                            self.c_verdict.d.next =
                                bit_cast::<4, MUW>(self.rx_tuser.val() >> self.s_out_verdict.val());
                            self.c_nh.d.next =
                                bit_cast::<8, MUW>(self.rx_tuser.val() >> self.s_out_nh.val());
                        }
                    }
                    if self.w_burst.q.val() == 1 {
                        if self.w_last_seen.q.val() | (self.w_real.val() & self.rx_tlast.val()) {
                            self.wstate.d.next = WrState::Done;
                        } else {
                            self.wstate.d.next = WrState::Wait;
                        }
                    }
                }
            }
            // Write responses.
            self.m_axi_bready.next = true;
            if self.m_axi_bvalid.val() & (self.m_axi_bresp.val() != 0) {
                self.bus_err.d.next = true;
            }
            if self.b_inc.val() & !self.m_axi_bvalid.val() {
                self.b_pend.d.next = self.b_pend.q.val() + 1;
            }
            if !self.b_inc.val() & self.m_axi_bvalid.val() {
                self.b_pend.d.next = self.b_pend.q.val() - 1;
            }
            if (self.wstate.q.val() == WrState::Done)
                & (self.b_pend.q.val() == 0)
                & (self.ar_left.q.val() == 0)
                & (self.r_left.q.val() == 0)
            {
                if self.bus_err.q.val() {
                    self.c_verdict.d.next = self.v_bus.val();
                    self.c_len.d.next = bits::<16>(0);
                } else if self.c_verdict.q.val() == self.v_ok.val() {
                    self.c_len.d.next = self.res_bytes.q.val();
                } else {
                    self.c_len.d.next = bits::<16>(0);
                }
                self.state.d.next = DmaState::CplAw;
            }
        }
        if self.state.q.val() == DmaState::CplAw {
            if self.sel_epoch.val() != self.epoch0.q.val() {
                self.state.d.next = DmaState::Idle;
            } else {
                self.m_axi_awaddr.next = self.sel_caddr.val();
                self.m_axi_awlen.next = self.k_cpl_beats.val();
                self.m_axi_awvalid.next = true;
                if self.m_axi_awready.val() {
                    self.state.d.next = DmaState::CplW0;
                }
            }
        }
        if self.state.q.val() == DmaState::CplW0 {
            self.m_axi_wvalid.next = true;
            self.m_axi_wdata.next = self.cpl.val().get_bits::<128>(0);
            self.m_axi_wstrb.next = bits::<16>(0xffff);
            if self.m_axi_wready.val() {
                self.state.d.next = DmaState::CplW1;
            }
        }
        if self.state.q.val() == DmaState::CplW1 {
            // The beat with the phase bit, last.
            self.m_axi_wvalid.next = true;
            self.m_axi_wdata.next = self.cpl.val().get_bits::<128>(128);
            self.m_axi_wstrb.next = bits::<16>(0xffff);
            self.m_axi_wlast.next = true;
            if self.m_axi_wready.val() {
                // CQ_PROD moves as the record's last beat leaves, not at the write
                // response: software may see the record (its phase bit) as soon as
                // it lands and acknowledge it in CQ_CONS, which must then not be
                // past CQ_PROD. An error response still faults the queue.
                self.q_done.next = self.sel_epoch.val() == self.epoch0.q.val();
                self.state.d.next = DmaState::CplB;
            }
        }
        if self.state.q.val() == DmaState::CplB {
            self.m_axi_bready.next = true;
            if self.m_axi_bvalid.val() {
                if (self.sel_epoch.val() == self.epoch0.q.val()) & (self.m_axi_bresp.val() != 0) {
                    self.q_fault.next = true;
                    self.q_fcode.next = self.k_fault_cpl.val();
                }
                self.state.d.next = DmaState::Idle;
            }
        }
        // The engine's reports to the queues, last (they depend on the state above).
        self.active.next = false;
        for n in 0..NQ {
            self.active.next = self.active.val() | self.queues[n].active.val();
            self.queues[n].take.next = self.q_take.val() & self.cur_mask.val().get_bit(n);
            self.queues[n].done.next = self.q_done.val() & self.cur_mask.val().get_bit(n);
            self.queues[n].done_bad.next = self.c_bad.q.val();
            self.queues[n].done_now.next = self.f_now.val();
            self.queues[n].fault.next = self.q_fault.val() & self.cur_mask.val().get_bit(n);
            self.queues[n].fault_code.next = self.q_fcode.val();
        }

        if self.reset.val() {
            self.state.d.next = DmaState::Idle;
            self.rr.d.next = bits::<2>(0);
            self.cur.d.next = bits::<2>(0);
            self.wstate.d.next = WrState::Wait;
            self.b_pend.d.next = bits::<8>(0);
            self.presc.d.next = bits::<16>(0);
        }
    }
}
