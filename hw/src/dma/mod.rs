//! The DMA front end: `regmap::dma`'s queue pairs in front of the engine's
//! AXI4-Stream ports, over an AXI4 memory-mapped bus master to host memory
//! (128-bit data, `regmap::dma::IOVA_BITS`-bit addresses, INCR bursts of up to 16
//! beats that never cross a 256-byte boundary, so never a 4 KiB one, one ID: reads
//! come back in the order they were asked for, write responses too).
//!
//! [`DmaEngine`] is a *reader* and a *writer* that run at the same time, with up to
//! [`WINDOW`] descriptors in flight between them, so that the memory round trips of
//! many packets overlap:
//!
//! Reader (read address and read data channels):
//! 1. *Fetch*: the queues with descriptors to fetch ([`DmaQueue::fetch_avail`]:
//!    posted and not yet requested, a completion slot for each, at most 4 and not
//!    across a group of 4, i.e. one 256-byte burst) are served round-robin, one read
//!    burst of up to 4 descriptors per turn, while the window has room for them.
//!    The counts and the pick are registered (a turn is decided from state two
//!    cycles old; the cycle after a request is idle so that the queue just served
//!    shows its new count; a turn made stale by a queue reset carries the old epoch,
//!    and its descriptors are dropped on arrival).
//! 2. *Payload requests*: for each accepted descriptor, in order, the read bursts of
//!    its input (up to 16 beats, not across 256 bytes) go out back to back.
//! 3. A *tag FIFO* records what each request is (a descriptor burst: queue, count,
//!    epoch; a packet's input: length and side-band); read data is taken in that
//!    order. Descriptor beats are assembled, then checked the cycle after
//!    (`regmap::dma::DmaDescriptor::card_check`, first failure first). An accepted
//!    descriptor advances `DQ_CONS` and enters the writer's FIFO (and, if good, the
//!    payload-request FIFO); a refused one goes to the writer with its `Dma*`
//!    verdict and no payload. A read error on a descriptor faults its queue
//!    (`QueueFault::DescFetch`); descriptors arriving for a reset or faulted queue
//!    are dropped. Input beats, with the side-band built from the descriptor, are
//!    registered and go into the input FIFO (`inq`, 64 beats) that feeds the
//!    engine's stream input; the read data channel waits only while that FIFO is
//!    full, so descriptor beats are never held up behind input the engine cannot
//!    take yet. A read error on them is noted for the writer.
//!
//! Writer (write address, data and response channels), in the order the reader
//! accepted the descriptors (the engine keeps packet order):
//! 4. *Result*: the engine's result beats are written to `RESULT_IOVA` in bursts
//!    (address and first beat in the same cycle, when the first beat is there; after
//!    the last beat a burst is closed with beats whose strobes are 0). A result of
//!    one empty beat (a verdict other than OK) writes nothing.
//! 5. *Completion*: a finished packet waits in the *pending* FIFO (up to 8 packets,
//!    `pq`) until the write responses of its result are back (a write error gives
//!    `DmaBusError`, as does a read error on its input), while the next packets'
//!    results are written: each entry holds the count of result bursts issued up to
//!    its last one, and its head is ready once that many responses have come back
//!    (`b_ack`); a response's error is noted under its packet's serial, carried in
//!    the response tag. A ready head has priority over the next result burst: its
//!    32-byte record (`regmap::dma::CPL_FIELDS`, phase bit in the second,
//!    last beat) is written as one two-beat burst at the queue's completion write
//!    pointer. When the record's write response comes back (registered, the queue
//!    sees it a cycle later) `CQ_PROD` advances and
//!    the queue's interrupt moderation counts it; an error response faults the queue
//!    (`QueueFault::CplWrite`).
//!
//! A queue reset (`Q_CTRL.RESET`) flips the queue's epoch: its descriptors still in
//! the read pipeline are dropped on arrival; its packets already accepted finish
//! their DMA and write no completion. The queue reports `RESET_BUSY` until none of
//! its descriptors is in flight.
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

pub mod fifo;
pub mod queue;

pub use fifo::Fifo;
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
/// log2 of the in-flight FIFOs' depth.
pub const FL: usize = 6;
/// Descriptors in flight at most, from their read request until the writer takes
/// them (the depth of the in-flight FIFOs).
pub const WINDOW: usize = 1 << FL;

/// Width of a tag FIFO word. Bit 0: a descriptor burst; 1..3 queue; 3..6 count;
/// 6 epoch; 8..24 input length; 24..88 input side-band.
const TW: usize = 88;
/// Width of a payload-request word: 0..48 input IOVA; 48..64 length; 64..128
/// side-band.
const IW: usize = 128;
/// Width of a writer word: 0..64 cookie; 64..112 result IOVA; 112..128 result
/// beats; 128..144 descriptor index; 144..160 SA index; 160..168 next header;
/// 168..172 check verdict; 172..174 queue; 174 epoch; 175 inbound; 176 IRQ_NOW;
/// 177 refused by the check.
const WW: usize = 178;
/// Width of a write-response tag: 0 a completion record; 1..3 queue; 3 epoch;
/// 4 refused descriptor; 5 IRQ_NOW (a record); 6..10 the packet's serial (a
/// result burst).
const BW: usize = 10;
/// Width of an input FIFO word (a beat to the engine): 0..128 data; 128..144 keep;
/// 144 last; 145..209 side-band.
const QW: usize = 145 + SUW;
/// log2 of the finished packets that may wait for their completion record (the
/// pending FIFO `pq`).
const PL: usize = 3;
/// Bits of a packet's serial: the writer numbers the packets it takes, so that a
/// result burst's write response finds its packet's error flag (`perr`).
const SRW: usize = 4;
/// Serials (error flags).
const NSER: usize = 1 << SRW;
/// Width of a pending word: 0..64 cookie; 64..128 sequence number; 128..144 result
/// bytes; 144..148 verdict; 148..156 next header; 156..172 SA index; 172..188
/// descriptor index; 188..190 queue; 190 epoch; 191 inbound; 192 IRQ_NOW; 193
/// refused by the check; 194 input read error or result too long; 195..203 result
/// bursts issued up to this packet's last (`b_iss`); 203..207 serial.
const PW: usize = 207;
// Packets alive in the writer (pending ones and the current one) never share a
// serial, so a late response cannot meet a newer packet's flag.
const _: () = assert!((1 << PL) + 1 < NSER);

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
// The internal words above hold these widths.
const _: () = assert!(SUW == 64 && IOW == 48 && IXW == 16);
// A ring of the smallest size holds whole groups of 4 descriptors (one burst).
const _: () = assert!(regmap::dma::MIN_RING_LOG2 >= 2);

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

/// States of the writer's use of the write channels.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum WrState {
    /// Between bursts: a completion record or a result burst may start.
    Idle,
    /// A result burst's beats (its address possibly still going out).
    Data,
    /// A result burst's beats are out, its address is not yet taken.
    AwWait,
    /// A completion record's address and first beat.
    CplA,
    /// A completion record's second, last beat (phase bit).
    CplW1,
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
    /// Register read address (the value follows a cycle later).
    pub rd_addr: Signal<In, Bits<AW>>,
    /// The register at the `rd_addr` of the cycle before (when `rd_hit`), from a
    /// register, so that no path runs from the register file's address through
    /// the queues' read muxes back into it.
    pub rd_data: Signal<Out, Bits<32>>,
    /// The `rd_addr` of the cycle before is a DMA register (`ID_DMA` or a queue
    /// block).
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

    tagq: Fifo<Bits<TW>, FL, 7>,
    issq: Fifo<Bits<IW>, FL, 7>,
    wrq: Fifo<Bits<WW>, FL, 7>,
    errq: Fifo<Bits<1>, FL, 7>,
    btq: Fifo<Bits<BW>, FL, 7>,
    pq: Fifo<Bits<PW>, PL, 4>,
    inq: Fifo<Bits<QW>, FL, 7>,
    rq_v: DFF<bool>,
    rd_hq: DFF<bool>,
    rd_dq: DFF<Bits<32>>,
    rq_w: DFF<Bits<QW>>,
    inq_room: Signal<Local, bool>,
    rq_n: Signal<Local, Bits<QW>>,
    k_inq_room: Constant<Bits<7>>,
    kmask: KeepMask,
    kcount: KeepCount,
    rr: DFF<Bits<2>>,
    resv: DFF<Bits<7>>,
    f_pend: DFF<bool>,
    f_q: DFF<Bits<2>>,
    f_n: DFF<Bits<3>>,
    f_addr: DFF<Bits<IOW>>,
    f_ep: DFF<bool>,
    c_pk: DFF<Bits<2>>,
    c_av: DFF<Bits<3>>,
    c_addr: DFF<Bits<IOW>>,
    c_epk: DFF<bool>,
    f_cool: DFF<bool>,
    rb_cpl: DFF<bool>,
    rb_done: DFF<bool>,
    rb_fault: DFF<bool>,
    rb_q: DFF<Bits<2>>,
    rb_ep: DFF<bool>,
    rb_bad: DFF<bool>,
    rb_now: DFF<bool>,
    ar_addr: DFF<Bits<IOW>>,
    ar_left: DFF<Bits<16>>,
    r_pos: DFF<Bits<16>>,
    d_err: DFF<bool>,
    p_rerr: DFF<bool>,
    desc: DFF<Bits<DW>>,
    chk_v: DFF<bool>,
    chk_q: DFF<Bits<2>>,
    chk_ep: DFF<bool>,
    chk_err: DFF<bool>,
    wstate: DFF<WrState>,
    cur_v: DFF<bool>,
    cur_fin: DFF<bool>,
    w_addr: DFF<Bits<IOW>>,
    w_left: DFF<Bits<16>>,
    wb_addr: DFF<Bits<IOW>>,
    wb_len: DFF<Bits<16>>,
    w_burst: DFF<Bits<16>>,
    aw_done: DFF<bool>,
    w0_done: DFF<bool>,
    w_first: DFF<bool>,
    w_last_seen: DFF<bool>,
    c_q: DFF<Bits<2>>,
    c_ep: DFF<bool>,
    c_dix: DFF<Bits<IXW>>,
    c_cookie: DFF<Bits<64>>,
    c_sa: DFF<Bits<16>>,
    c_inb: DFF<bool>,
    c_now: DFF<bool>,
    c_bad: DFF<bool>,
    res_bytes: DFF<Bits<16>>,
    r_seq: DFF<Bits<64>>,
    r_verd: DFF<Bits<4>>,
    r_nh: DFF<Bits<8>>,
    cur_berr: DFF<bool>,
    b_iss: DFF<Bits<8>>,
    b_ack: DFF<Bits<8>>,
    c_ser: DFF<Bits<SRW>>,
    perr: DFF<Bits<NSER>>,
    p_v: Signal<Local, bool>,
    p_q: Signal<Local, Bits<2>>,
    p_ep: Signal<Local, bool>,
    p_dix: Signal<Local, Bits<IXW>>,
    p_cookie: Signal<Local, Bits<64>>,
    p_seq: Signal<Local, Bits<64>>,
    p_len: Signal<Local, Bits<16>>,
    p_verd: Signal<Local, Bits<4>>,
    p_nh: Signal<Local, Bits<8>>,
    p_sa: Signal<Local, Bits<16>>,
    p_inb: Signal<Local, bool>,
    p_now: Signal<Local, bool>,
    p_bad: Signal<Local, bool>,
    p_tgt: Signal<Local, Bits<8>>,
    p_owe: Signal<Local, Bits<8>>,
    p_ser: Signal<Local, Bits<SRW>>,
    p_err: Signal<Local, bool>,
    p_berr: Signal<Local, bool>,
    p_din: Signal<Local, Bits<PW>>,
    m_err: Signal<Local, bool>,
    bt_ser: Signal<Local, Bits<SRW>>,
    ser_mask: Signal<Local, Bits<NSER>>,
    c_ser_mask: Signal<Local, Bits<NSER>>,
    p_ser_mask: Signal<Local, Bits<NSER>>,
    presc: DFF<Bits<16>>,
    wr_hit: Signal<Local, bool>,
    wr_rel: Signal<Local, Bits<AW>>,
    wr_mask: Signal<Local, Bits<NQ>>,
    rd_rel: Signal<Local, Bits<AW>>,
    rd_q: Signal<Local, Bits<NQ>>,
    rd_dma: Signal<Local, Bits<32>>,
    tick: Signal<Local, bool>,
    rdy: Signal<Local, Bits<NQ>>,
    rot: Signal<Local, Bits<8>>,
    pick_off: Signal<Local, Bits<2>>,
    pk: Signal<Local, Bits<2>>,
    pk_mask: Signal<Local, Bits<NQ>>,
    f_mask: Signal<Local, Bits<NQ>>,
    c_mask: Signal<Local, Bits<NQ>>,
    pk_avail: Signal<Local, Bits<3>>,
    pk_addr: Signal<Local, Bits<IOW>>,
    pk_ep: Signal<Local, bool>,
    room: Signal<Local, Bits<7>>,
    fetch_pick: Signal<Local, bool>,
    fetch_acc: Signal<Local, bool>,
    resv_n: Signal<Local, Bits<7>>,
    tag_push: Signal<Local, bool>,
    tag_din: Signal<Local, Bits<TW>>,
    bt_din: Signal<Local, Bits<BW>>,
    t_v: Signal<Local, bool>,
    t_desc: Signal<Local, bool>,
    t_q: Signal<Local, Bits<2>>,
    t_n: Signal<Local, Bits<3>>,
    t_ep: Signal<Local, bool>,
    t_len: Signal<Local, Bits<16>>,
    t_user: Signal<Local, Bits<SUW>>,
    t_beats: Signal<Local, Bits<16>>,
    r_last: Signal<Local, bool>,
    r_fire: Signal<Local, bool>,
    chk_mask: Signal<Local, Bits<NQ>>,
    chk_epoch: Signal<Local, bool>,
    chk_halt: Signal<Local, bool>,
    chk_dix: Signal<Local, Bits<IXW>>,
    chk_drop: Signal<Local, bool>,
    chk_acc: Signal<Local, bool>,
    chk_fault: Signal<Local, bool>,
    p_mask: Signal<Local, Bits<NQ>>,
    p_epoch: Signal<Local, bool>,
    p_caddr: Signal<Local, Bits<IOW>>,
    p_phase: Signal<Local, bool>,
    bt_v: Signal<Local, bool>,
    bt_cpl: Signal<Local, bool>,
    bt_q: Signal<Local, Bits<2>>,
    bt_ep: Signal<Local, bool>,
    bt_bad: Signal<Local, bool>,
    bt_now: Signal<Local, bool>,
    rb_mask: Signal<Local, Bits<NQ>>,
    rb_epoch: Signal<Local, bool>,
    bt_room: Signal<Local, bool>,
    b_fire: Signal<Local, bool>,
    b_res: Signal<Local, bool>,
    b_cpl: Signal<Local, bool>,
    b_done: Signal<Local, bool>,
    b_fault: Signal<Local, bool>,
    b_err: Signal<Local, bool>,
    ws: Signal<Local, WrState>,
    first: Signal<Local, bool>,
    blen: Signal<Local, Bits<16>>,
    aw_ok: Signal<Local, bool>,
    w0_ok: Signal<Local, bool>,
    w_fire: Signal<Local, bool>,
    w_real: Signal<Local, bool>,
    cpl_start: Signal<Local, bool>,
    cpl_end: Signal<Local, bool>,
    cpl_skip: Signal<Local, bool>,
    p_ready: Signal<Local, bool>,
    p_free: Signal<Local, bool>,
    move_cur: Signal<Local, bool>,
    load_cur: Signal<Local, bool>,
    b_iss_n: Signal<Local, Bits<8>>,
    v_final: Signal<Local, Bits<4>>,
    len_final: Signal<Local, Bits<16>>,
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
    cpl: Signal<Local, Bits<CW>>,
    tuser_n: Signal<Local, Bits<SUW>>,
    wr_din: Signal<Local, Bits<WW>>,
    w_cookie: Signal<Local, Bits<64>>,
    w_res: Signal<Local, Bits<48>>,
    w_beats: Signal<Local, Bits<16>>,
    w_dix: Signal<Local, Bits<16>>,
    w_sa: Signal<Local, Bits<16>>,
    w_nh: Signal<Local, Bits<8>>,
    w_vd: Signal<Local, Bits<4>>,
    w_q: Signal<Local, Bits<2>>,
    w_ep: Signal<Local, bool>,
    w_inb: Signal<Local, bool>,
    w_now: Signal<Local, bool>,
    w_bad: Signal<Local, bool>,

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
    k_win: Constant<Bits<7>>,
    k_bt_room: Constant<Bits<7>>,
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
            tagq: Default::default(),
            issq: Default::default(),
            wrq: Default::default(),
            errq: Default::default(),
            btq: Default::default(),
            pq: Default::default(),
            inq: Default::default(),
            rq_v: Default::default(),
            rd_hq: Default::default(),
            rd_dq: Default::default(),
            rq_w: Default::default(),
            inq_room: Default::default(),
            rq_n: Default::default(),
            k_inq_room: Constant::new(((WINDOW - 1) as u64).to_bits()),
            kmask: Default::default(),
            kcount: Default::default(),
            rr: Default::default(),
            resv: Default::default(),
            f_pend: Default::default(),
            f_q: Default::default(),
            f_n: Default::default(),
            f_addr: Default::default(),
            f_ep: Default::default(),
            c_pk: Default::default(),
            c_av: Default::default(),
            c_addr: Default::default(),
            c_epk: Default::default(),
            f_cool: Default::default(),
            rb_cpl: Default::default(),
            rb_done: Default::default(),
            rb_fault: Default::default(),
            rb_q: Default::default(),
            rb_ep: Default::default(),
            rb_bad: Default::default(),
            rb_now: Default::default(),
            ar_addr: Default::default(),
            ar_left: Default::default(),
            r_pos: Default::default(),
            d_err: Default::default(),
            p_rerr: Default::default(),
            desc: Default::default(),
            chk_v: Default::default(),
            chk_q: Default::default(),
            chk_ep: Default::default(),
            chk_err: Default::default(),
            wstate: Default::default(),
            cur_v: Default::default(),
            cur_fin: Default::default(),
            w_addr: Default::default(),
            w_left: Default::default(),
            wb_addr: Default::default(),
            wb_len: Default::default(),
            w_burst: Default::default(),
            aw_done: Default::default(),
            w0_done: Default::default(),
            w_first: Default::default(),
            w_last_seen: Default::default(),
            c_q: Default::default(),
            c_ep: Default::default(),
            c_dix: Default::default(),
            c_cookie: Default::default(),
            c_sa: Default::default(),
            c_inb: Default::default(),
            c_now: Default::default(),
            c_bad: Default::default(),
            res_bytes: Default::default(),
            r_seq: Default::default(),
            r_verd: Default::default(),
            r_nh: Default::default(),
            cur_berr: Default::default(),
            b_iss: Default::default(),
            b_ack: Default::default(),
            c_ser: Default::default(),
            perr: Default::default(),
            p_v: Default::default(),
            p_q: Default::default(),
            p_ep: Default::default(),
            p_dix: Default::default(),
            p_cookie: Default::default(),
            p_seq: Default::default(),
            p_len: Default::default(),
            p_verd: Default::default(),
            p_nh: Default::default(),
            p_sa: Default::default(),
            p_inb: Default::default(),
            p_now: Default::default(),
            p_bad: Default::default(),
            p_tgt: Default::default(),
            p_owe: Default::default(),
            p_ser: Default::default(),
            p_err: Default::default(),
            p_berr: Default::default(),
            p_din: Default::default(),
            m_err: Default::default(),
            bt_ser: Default::default(),
            ser_mask: Default::default(),
            c_ser_mask: Default::default(),
            p_ser_mask: Default::default(),
            presc: Default::default(),
            wr_hit: Default::default(),
            wr_rel: Default::default(),
            wr_mask: Default::default(),
            rd_rel: Default::default(),
            rd_q: Default::default(),
            rd_dma: Default::default(),
            tick: Default::default(),
            rdy: Default::default(),
            rot: Default::default(),
            pick_off: Default::default(),
            pk: Default::default(),
            pk_mask: Default::default(),
            f_mask: Default::default(),
            c_mask: Default::default(),
            pk_avail: Default::default(),
            pk_addr: Default::default(),
            pk_ep: Default::default(),
            room: Default::default(),
            fetch_pick: Default::default(),
            fetch_acc: Default::default(),
            resv_n: Default::default(),
            tag_push: Default::default(),
            tag_din: Default::default(),
            bt_din: Default::default(),
            t_v: Default::default(),
            t_desc: Default::default(),
            t_q: Default::default(),
            t_n: Default::default(),
            t_ep: Default::default(),
            t_len: Default::default(),
            t_user: Default::default(),
            t_beats: Default::default(),
            r_last: Default::default(),
            r_fire: Default::default(),
            chk_mask: Default::default(),
            chk_epoch: Default::default(),
            chk_halt: Default::default(),
            chk_dix: Default::default(),
            chk_drop: Default::default(),
            chk_acc: Default::default(),
            chk_fault: Default::default(),
            p_mask: Default::default(),
            p_epoch: Default::default(),
            p_caddr: Default::default(),
            p_phase: Default::default(),
            bt_v: Default::default(),
            bt_cpl: Default::default(),
            bt_q: Default::default(),
            bt_ep: Default::default(),
            bt_bad: Default::default(),
            bt_now: Default::default(),
            rb_mask: Default::default(),
            rb_epoch: Default::default(),
            bt_room: Default::default(),
            b_fire: Default::default(),
            b_res: Default::default(),
            b_cpl: Default::default(),
            b_done: Default::default(),
            b_fault: Default::default(),
            b_err: Default::default(),
            ws: Default::default(),
            first: Default::default(),
            blen: Default::default(),
            aw_ok: Default::default(),
            w0_ok: Default::default(),
            w_fire: Default::default(),
            w_real: Default::default(),
            cpl_start: Default::default(),
            cpl_end: Default::default(),
            cpl_skip: Default::default(),
            p_ready: Default::default(),
            p_free: Default::default(),
            move_cur: Default::default(),
            load_cur: Default::default(),
            b_iss_n: Default::default(),
            v_final: Default::default(),
            len_final: Default::default(),
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
            cpl: Default::default(),
            tuser_n: Default::default(),
            wr_din: Default::default(),
            w_cookie: Default::default(),
            w_res: Default::default(),
            w_beats: Default::default(),
            w_dix: Default::default(),
            w_sa: Default::default(),
            w_nh: Default::default(),
            w_vd: Default::default(),
            w_q: Default::default(),
            w_ep: Default::default(),
            w_inb: Default::default(),
            w_now: Default::default(),
            w_bad: Default::default(),
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
            k_win: Constant::new((WINDOW as u64).to_bits()),
            k_bt_room: Constant::new(((WINDOW - 4) as u64).to_bits()),
        }
    }
}

impl Logic for DmaEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            rr,
            resv,
            f_pend,
            f_q,
            f_n,
            f_addr,
            f_ep,
            c_pk,
            c_av,
            c_addr,
            c_epk,
            f_cool,
            rb_cpl,
            rb_done,
            rb_fault,
            rb_q,
            rb_ep,
            rb_bad,
            rb_now,
            ar_addr,
            ar_left,
            r_pos,
            d_err,
            p_rerr,
            desc,
            chk_v,
            chk_q,
            chk_ep,
            chk_err,
            wstate,
            cur_v,
            cur_fin,
            w_addr,
            w_left,
            wb_addr,
            wb_len,
            w_burst,
            aw_done,
            w0_done,
            w_first,
            w_last_seen,
            c_q,
            c_ep,
            c_dix,
            c_cookie,
            c_sa,
            c_inb,
            c_now,
            c_bad,
            res_bytes,
            r_seq,
            r_verd,
            r_nh,
            cur_berr,
            rq_v,
            rq_w,
            rd_hq,
            rd_dq,
            b_iss,
            b_ack,
            c_ser,
            perr,
            presc
        );
        clock!(self, clock, tagq, issq, wrq, errq, btq, pq, inq);
        self.tagq.reset.next = self.reset.val();
        self.issq.reset.next = self.reset.val();
        self.wrq.reset.next = self.reset.val();
        self.errq.reset.next = self.reset.val();
        self.btq.reset.next = self.reset.val();
        self.pq.reset.next = self.reset.val();
        self.inq.reset.next = self.reset.val();
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

        // ------------------------------------------------------------ FIFO heads
        self.t_v.next = !self.tagq.empty.val();
        self.t_desc.next = self.tagq.dout.val().get_bit(0);
        self.t_q.next = self.tagq.dout.val().get_bits::<2>(1);
        self.t_n.next = self.tagq.dout.val().get_bits::<3>(3);
        self.t_ep.next = self.tagq.dout.val().get_bit(6);
        self.t_len.next = self.tagq.dout.val().get_bits::<16>(8);
        self.t_user.next = self.tagq.dout.val().get_bits::<SUW>(24);
        if self.t_desc.val() {
            self.t_beats.next = bit_cast::<16, 3>(self.t_n.val()) << 2;
        } else {
            self.t_beats.next = (self.t_len.val() + 15) >> 4;
        }
        self.r_last.next = (self.r_pos.q.val() + 1) == self.t_beats.val();
        self.w_cookie.next = self.wrq.dout.val().get_bits::<64>(0);
        self.w_res.next = self.wrq.dout.val().get_bits::<48>(64);
        self.w_beats.next = self.wrq.dout.val().get_bits::<16>(112);
        self.w_dix.next = self.wrq.dout.val().get_bits::<16>(128);
        self.w_sa.next = self.wrq.dout.val().get_bits::<16>(144);
        self.w_nh.next = self.wrq.dout.val().get_bits::<8>(160);
        self.w_vd.next = self.wrq.dout.val().get_bits::<4>(168);
        self.w_q.next = self.wrq.dout.val().get_bits::<2>(172);
        self.w_ep.next = self.wrq.dout.val().get_bit(174);
        self.w_inb.next = self.wrq.dout.val().get_bit(175);
        self.w_now.next = self.wrq.dout.val().get_bit(176);
        self.w_bad.next = self.wrq.dout.val().get_bit(177);
        self.bt_v.next = !self.btq.empty.val();
        self.bt_cpl.next = self.btq.dout.val().get_bit(0);
        self.bt_q.next = self.btq.dout.val().get_bits::<2>(1);
        self.bt_ep.next = self.btq.dout.val().get_bit(3);
        self.bt_bad.next = self.btq.dout.val().get_bit(4);
        self.bt_now.next = self.btq.dout.val().get_bit(5);
        self.bt_ser.next = self.btq.dout.val().get_bits::<SRW>(6);
        self.bt_room.next = self.btq.count.val() < self.k_bt_room.val();

        // The head of the pending FIFO: the oldest finished packet without its record.
        self.p_v.next = !self.pq.empty.val();
        self.p_cookie.next = self.pq.dout.val().get_bits::<64>(0);
        self.p_seq.next = self.pq.dout.val().get_bits::<64>(64);
        self.p_len.next = self.pq.dout.val().get_bits::<16>(128);
        self.p_verd.next = self.pq.dout.val().get_bits::<4>(144);
        self.p_nh.next = self.pq.dout.val().get_bits::<8>(148);
        self.p_sa.next = self.pq.dout.val().get_bits::<16>(156);
        self.p_dix.next = self.pq.dout.val().get_bits::<IXW>(172);
        self.p_q.next = self.pq.dout.val().get_bits::<2>(188);
        self.p_ep.next = self.pq.dout.val().get_bit(190);
        self.p_inb.next = self.pq.dout.val().get_bit(191);
        self.p_now.next = self.pq.dout.val().get_bit(192);
        self.p_bad.next = self.pq.dout.val().get_bit(193);
        self.p_berr.next = self.pq.dout.val().get_bit(194);
        self.p_tgt.next = self.pq.dout.val().get_bits::<8>(195);
        self.p_ser.next = self.pq.dout.val().get_bits::<SRW>(203);
        self.p_ser_mask.next = bits::<NSER>(1) << self.p_ser.val();
        // Its result's write errors (all its responses are in once it is ready).
        self.p_err.next = self.p_berr.val() | (self.perr.q.val() & self.p_ser_mask.val()).any();

        // ------------------------------------------------------------ queue muxes
        self.chk_mask.next = bits::<NQ>(1) << self.chk_q.q.val();
        self.p_mask.next = bits::<NQ>(1) << self.p_q.val();
        self.rb_mask.next = bits::<NQ>(1) << self.rb_q.q.val();
        self.chk_epoch.next = false;
        self.chk_halt.next = false;
        self.chk_dix.next = bits::<IXW>(0);
        self.p_epoch.next = false;
        self.p_caddr.next = bits::<IOW>(0);
        self.p_phase.next = false;
        self.rb_epoch.next = false;
        self.rd_dma.next = bits::<32>(0);
        self.irq.next = bits::<NV>(0);
        self.rdy.next = bits::<NQ>(0);
        self.active.next = false;
        for n in 0..NQ {
            self.queues[n].clock.next = self.clock.val();
            self.queues[n].reset.next = self.reset.val();
            self.queues[n].wr.next = self.wr_hit.val() & self.wr_mask.val().get_bit(n);
            self.queues[n].wr_off.next = self.wr_rel.val().get_bits::<QOW>(0);
            self.queues[n].wr_data.next = self.wr_data.val();
            self.queues[n].rd_off.next = self.rd_rel.val().get_bits::<QOW>(0);
            self.queues[n].tick_us.next = self.tick.val();
            self.active.next = self.active.val() | self.queues[n].active.val();
            if self.chk_mask.val().get_bit(n) {
                self.chk_epoch.next = self.queues[n].epoch.val();
                self.chk_halt.next = self.queues[n].halted.val();
                self.chk_dix.next = self.queues[n].dq_index.val();
            }
            if self.p_mask.val().get_bit(n) {
                self.p_epoch.next = self.queues[n].epoch.val();
                self.p_caddr.next = self.queues[n].cpl_addr.val();
                self.p_phase.next = self.queues[n].cpl_phase.val();
            }
            if self.rb_mask.val().get_bit(n) {
                self.rb_epoch.next = self.queues[n].epoch.val();
            }
            if self.rd_q.val().get_bit(n) {
                self.rd_dma.next = self.queues[n].rd_data.val();
            }
            if self.queues[n].irq.val() {
                self.irq.next = self.irq.val() | (bits::<NV>(1) << self.queues[n].vector.val());
            }
        }
        if self.queues[0].fetch_avail.val() != 0 {
            self.rdy.next = self.rdy.val() | 1;
        }
        if self.queues[1].fetch_avail.val() != 0 {
            self.rdy.next = self.rdy.val() | 2;
        }
        if self.queues[2].fetch_avail.val() != 0 {
            self.rdy.next = self.rdy.val() | 4;
        }
        if self.queues[3].fetch_avail.val() != 0 {
            self.rdy.next = self.rdy.val() | 8;
        }
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
        self.pk.next = self.rr.q.val() + self.pick_off.val();
        self.pk_avail.next = bits::<3>(0);
        self.pk_addr.next = bits::<IOW>(0);
        self.pk_ep.next = false;
        self.pk_mask.next = bits::<NQ>(1) << self.pk.val();
        for n in 0..NQ {
            if self.pk_mask.val().get_bit(n) {
                self.pk_avail.next = self.queues[n].fetch_avail.val();
                self.pk_addr.next = self.queues[n].desc_addr.val();
                self.pk_ep.next = self.queues[n].epoch.val();
            }
        }

        // ------------------------------------------------------------ register reads
        // Registered: the value of the address of the cycle before.
        self.rd_hit.next = self.rd_hq.q.val();
        self.rd_data.next = self.rd_dq.q.val();
        self.rd_hq.d.next = false;
        self.rd_dq.d.next = bits::<32>(0);
        if (self.rd_addr.val() >= self.k_q_base.val()) & (self.rd_rel.val() < self.k_q_span.val()) {
            self.rd_hq.d.next = true;
            self.rd_dq.d.next = self.rd_dma.val();
        }
        if self.rd_addr.val() == self.k_id_dma.val() {
            self.rd_hq.d.next = true;
            self.rd_dq.d.next = self.k_id_dma_value.val();
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

        // The side-band of the descriptor's packet.
        self.tuser_n.next = (bit_cast::<SUW, 16>(self.f_sa.val()) << self.s_in_sa.val())
            | (bit_cast::<SUW, 8>(self.f_nh.val()) << self.s_in_nh.val())
            | (bit_cast::<SUW, 32>(self.f_seqhi.val()) << self.s_in_seqhi.val());
        if self.f_inb.val() {
            self.tuser_n.next = self.tuser_n.val() | (bits::<SUW>(1) << self.s_in_inb.val());
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
        // The engine's input comes from the input FIFO.
        self.tx_tdata.next = self.inq.dout.val().get_bits::<128>(0);
        self.tx_tkeep.next = self.inq.dout.val().get_bits::<16>(128);
        self.tx_tlast.next = self.inq.dout.val().get_bit(144);
        self.tx_tuser.next = self.inq.dout.val().get_bits::<SUW>(145);
        self.tx_tvalid.next = !self.inq.empty.val();
        self.inq.pop.next = self.tx_tready.val();
        // An input beat taken from the bus is registered (`rq_*`), then pushed.
        self.inq.push.next = self.rq_v.q.val();
        self.inq.din.next = self.rq_w.q.val();
        self.rq_v.d.next = false;
        self.rq_n.next = bit_cast::<QW, 128>(self.m_axi_rdata.val())
            | (bit_cast::<QW, 16>(self.kmask.keep.val()) << 128)
            | (bit_cast::<QW, SUW>(self.t_user.val()) << 145);
        if self.r_last.val() {
            self.rq_n.next = self.rq_n.val() | (bits::<QW>(1) << 144);
        }
        self.rq_w.d.next = self.rq_n.val();
        // Room for the beat taken now and the one in `rq_*`.
        self.inq_room.next = self.inq.count.val() < self.k_inq_room.val();
        self.kmask.count.next = self.t_len.val() - (self.r_pos.q.val() << 4);
        self.rx_tready.next = false;
        self.kcount.keep.next = self.rx_tkeep.val();
        self.tag_push.next = false;
        self.tag_din.next = bits::<TW>(0);
        self.tagq.pop.next = false;
        self.issq.pop.next = false;
        self.issq.push.next = false;
        self.wrq.push.next = false;
        self.wrq.pop.next = false;
        self.errq.push.next = false;
        self.errq.pop.next = false;
        self.errq.din.next = bits::<1>(0);
        self.btq.push.next = false;
        self.bt_din.next = bits::<BW>(0);
        self.fetch_pick.next = false;
        self.fetch_acc.next = false;
        self.r_fire.next = false;
        self.w_fire.next = false;
        self.w_real.next = false;
        self.aw_ok.next = false;
        self.w0_ok.next = false;
        self.first.next = false;
        self.cpl_start.next = false;
        self.cpl_end.next = false;
        self.cpl_skip.next = false;
        self.chk_v.d.next = false;
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

        // ------------------------------------------------------------ reader: requests
        // The candidate of the next turn, registered: the pick above from the queues'
        // registered counts. It is one cycle old: after a request the next turn waits
        // a cycle (`f_cool`) so that the queue just served shows its new count; a
        // candidate made stale by a reset or a fault carries the old epoch and its
        // descriptors are dropped on arrival.
        self.c_pk.d.next = self.pk.val();
        self.c_av.d.next = self.pk_avail.val();
        self.c_addr.d.next = self.pk_addr.val();
        self.c_epk.d.next = self.pk_ep.val();
        self.f_cool.d.next = false;
        self.room.next = self.k_win.val() - self.resv.q.val();
        if !self.f_pend.q.val()
            & !self.f_cool.q.val()
            & (self.ar_left.q.val() == 0)
            & (self.c_av.q.val() != 0)
            & (bit_cast::<7, 3>(self.c_av.q.val()) <= self.room.val())
            & !self.tagq.full.val()
        {
            // Take a turn: up to 4 descriptors of the next queue with work.
            self.fetch_pick.next = true;
            self.f_pend.d.next = true;
            self.f_q.d.next = self.c_pk.q.val();
            self.f_n.d.next = self.c_av.q.val();
            self.f_addr.d.next = self.c_addr.q.val();
            self.f_ep.d.next = self.c_epk.q.val();
            self.rr.d.next = self.c_pk.q.val() + 1;
        }
        if self.f_pend.q.val() {
            self.m_axi_araddr.next = self.f_addr.q.val();
            self.m_axi_arlen.next = (bit_cast::<8, 3>(self.f_n.q.val()) << 2) - 1;
            self.m_axi_arvalid.next = true;
            if self.m_axi_arready.val() {
                self.fetch_acc.next = true;
                self.f_cool.d.next = true;
                self.f_pend.d.next = false;
                self.tag_push.next = true;
                self.tag_din.next = bits::<TW>(1)
                    | (bit_cast::<TW, 2>(self.f_q.q.val()) << 1)
                    | (bit_cast::<TW, 3>(self.f_n.q.val()) << 3);
                if self.f_ep.q.val() {
                    self.tag_din.next = self.tag_din.val() | (bits::<TW>(1) << 6);
                }
            }
        } else if self.ar_left.q.val() != 0 {
            // A packet's input: its bursts back to back.
            self.m_axi_arvalid.next = true;
            self.m_axi_arlen.next = bit_cast::<8, 16>(self.ar_len.val() - 1);
            if self.m_axi_arready.val() {
                self.ar_addr.d.next =
                    self.ar_addr.q.val() + (bit_cast::<IOW, 16>(self.ar_len.val()) << 4);
                self.ar_left.d.next = self.ar_left.q.val() - self.ar_len.val();
            }
        } else if !self.fetch_pick.val() & !self.issq.empty.val() & !self.tagq.full.val() {
            self.issq.pop.next = true;
            self.ar_addr.d.next = self.issq.dout.val().get_bits::<IOW>(0);
            self.ar_left.d.next = (self.issq.dout.val().get_bits::<16>(48) + 15) >> 4;
            self.tag_push.next = true;
            self.tag_din.next = (bit_cast::<TW, 16>(self.issq.dout.val().get_bits::<16>(48)) << 8)
                | (bit_cast::<TW, SUW>(self.issq.dout.val().get_bits::<SUW>(64)) << 24);
        }
        self.tagq.push.next = self.tag_push.val();
        self.tagq.din.next = self.tag_din.val();

        // ------------------------------------------------------------ reader: data
        if self.t_v.val() & self.t_desc.val() {
            self.m_axi_rready.next = true;
            if self.m_axi_rvalid.val() {
                // Beats arrive lowest bytes first: shift in from the top.
                self.desc.d.next = (self.desc.q.val() >> 128)
                    | (bit_cast::<DW, 128>(self.m_axi_rdata.val()) << 384);
                self.r_pos.d.next = self.r_pos.q.val() + 1;
                self.d_err.d.next = self.d_err.q.val() | (self.m_axi_rresp.val() != 0);
                if self.r_pos.q.val().get_bits::<2>(0) == 3 {
                    // A whole descriptor: checked next cycle.
                    self.chk_v.d.next = true;
                    self.chk_q.d.next = self.t_q.val();
                    self.chk_ep.d.next = self.t_ep.val();
                    self.chk_err.d.next = self.d_err.q.val() | (self.m_axi_rresp.val() != 0);
                    self.d_err.d.next = false;
                }
                if self.r_last.val() {
                    self.tagq.pop.next = true;
                    self.r_pos.d.next = bits::<16>(0);
                }
            }
        }
        if self.t_v.val() & !self.t_desc.val() {
            // A packet's input, into the input FIFO (which feeds the engine), so that
            // the engine's pace never holds the read data channel: descriptor beats
            // behind a packet's input still flow while the engine is busy.
            self.m_axi_rready.next = self.inq_room.val() & !self.errq.full.val();
            self.r_fire.next =
                self.m_axi_rvalid.val() & self.inq_room.val() & !self.errq.full.val();
            self.rq_v.d.next = self.r_fire.val();
            if self.r_fire.val() {
                self.r_pos.d.next = self.r_pos.q.val() + 1;
                self.p_rerr.d.next = self.p_rerr.q.val() | (self.m_axi_rresp.val() != 0);
                if self.r_last.val() {
                    self.errq.push.next = true;
                    if self.p_rerr.q.val() | (self.m_axi_rresp.val() != 0) {
                        self.errq.din.next = bits::<1>(1);
                    }
                    self.p_rerr.d.next = false;
                    self.tagq.pop.next = true;
                    self.r_pos.d.next = bits::<16>(0);
                }
            }
        }

        // ------------------------------------------------------------ reader: check
        self.chk_drop.next = self.chk_v.q.val()
            & (self.chk_err.q.val()
                | (self.chk_epoch.val() != self.chk_ep.q.val())
                | self.chk_halt.val());
        self.chk_fault.next = self.chk_v.q.val()
            & self.chk_err.q.val()
            & (self.chk_epoch.val() == self.chk_ep.q.val())
            & !self.chk_halt.val();
        self.chk_acc.next = self.chk_v.q.val() & !self.chk_drop.val();
        self.wr_din.next = bit_cast::<WW, 64>(self.f_cookie.val())
            | (bit_cast::<WW, 48>(self.f_res.val().get_bits::<48>(0)) << 64)
            | (bit_cast::<WW, 17>((self.maxres.val() + 15) >> 4) << 112)
            | (bit_cast::<WW, 16>(self.chk_dix.val()) << 128)
            | (bit_cast::<WW, 16>(self.f_sa.val()) << 144)
            | (bit_cast::<WW, 8>(self.f_nh.val()) << 160)
            | (bit_cast::<WW, 4>(self.bad_v.val()) << 168)
            | (bit_cast::<WW, 2>(self.chk_q.q.val()) << 172);
        if self.chk_ep.q.val() {
            self.wr_din.next = self.wr_din.val() | (bits::<WW>(1) << 174);
        }
        if self.f_inb.val() {
            self.wr_din.next = self.wr_din.val() | (bits::<WW>(1) << 175);
        }
        if self.f_now.val() {
            self.wr_din.next = self.wr_din.val() | (bits::<WW>(1) << 176);
        }
        if self.is_bad.val() {
            self.wr_din.next = self.wr_din.val() | (bits::<WW>(1) << 177);
        }
        self.wrq.din.next = self.wr_din.val();
        self.issq.din.next = bit_cast::<IW, 48>(self.f_buf.val().get_bits::<48>(0))
            | (bit_cast::<IW, 16>(self.f_len.val()) << 48)
            | (bit_cast::<IW, SUW>(self.tuser_n.val()) << 64);
        if self.chk_acc.val() {
            self.wrq.push.next = true;
            self.issq.push.next = !self.is_bad.val();
        }

        // ------------------------------------------------------------ writer: responses
        self.m_axi_bready.next = self.bt_v.val();
        self.b_fire.next = self.bt_v.val() & self.m_axi_bvalid.val();
        self.b_err.next = self.m_axi_bresp.val() != 0;
        self.b_res.next = self.b_fire.val() & !self.bt_cpl.val();
        self.b_cpl.next = self.b_fire.val() & self.bt_cpl.val();
        self.btq.pop.next = self.b_fire.val();
        // A record's response reaches its queue a cycle later, from registers.
        self.rb_cpl.d.next = self.b_cpl.val();
        self.rb_done.d.next = self.b_cpl.val() & !self.b_err.val();
        self.rb_fault.d.next = self.b_cpl.val() & self.b_err.val();
        self.rb_q.d.next = self.bt_q.val();
        self.rb_ep.d.next = self.bt_ep.val();
        self.rb_bad.d.next = self.bt_bad.val();
        self.rb_now.d.next = self.bt_now.val();
        // ... and counts only if the queue was not reset meanwhile.
        self.b_done.next = self.rb_done.q.val() & (self.rb_epoch.val() == self.rb_ep.q.val());
        self.b_fault.next = self.rb_fault.q.val() & (self.rb_epoch.val() == self.rb_ep.q.val());

        // The completion record of the pending packet.
        self.v_final.next = self.p_verd.val();
        self.len_final.next = bits::<16>(0);
        if self.p_err.val() {
            self.v_final.next = self.v_bus.val();
        } else if self.p_verd.val() == self.v_ok.val() {
            self.len_final.next = self.p_len.val();
        }
        self.cpl.next = (bit_cast::<CW, 64>(self.p_cookie.val()) << self.s_c_cookie.val())
            | (bit_cast::<CW, 64>(self.p_seq.val()) << self.s_c_seq.val())
            | (bit_cast::<CW, 16>(self.len_final.val()) << self.s_c_len.val())
            | (bit_cast::<CW, 4>(self.v_final.val()) << self.s_c_verdict.val())
            | (bit_cast::<CW, 8>(self.p_nh.val()) << self.s_c_nh.val())
            | (bit_cast::<CW, IXW>(self.p_dix.val()) << self.s_c_dix.val())
            | (bit_cast::<CW, 16>(self.p_sa.val()) << self.s_c_sa.val());
        if self.p_inb.val() {
            self.cpl.next = self.cpl.val() | (bits::<CW>(1) << self.s_c_inb.val());
        }
        if self.p_phase.val() {
            self.cpl.next = self.cpl.val() | (bits::<CW>(1) << self.s_c_phase.val());
        }

        // ------------------------------------------------------------ writer: channels
        // Ready once every result burst issued up to its last has its response
        // (`b_ack` has reached `p_tgt`; at most `WINDOW` bursts are outstanding).
        self.p_owe.next = self.b_ack.q.val() - self.p_tgt.val();
        self.p_ready.next = self.p_v.val() & !self.p_owe.val().get_bit(7);
        self.ws.next = self.wstate.q.val();
        if self.wstate.q.val() == WrState::Idle {
            if self.p_ready.val() & self.bt_room.val() {
                if self.p_epoch.val() != self.p_ep.val() {
                    // Its queue was reset: no record.
                    self.cpl_skip.next = true;
                } else {
                    self.cpl_start.next = true;
                    self.ws.next = WrState::CplA;
                }
            } else if self.cur_v.q.val()
                & !self.cur_fin.q.val()
                & self.rx_tvalid.val()
                & self.bt_room.val()
            {
                if self.w_first.q.val() & !self.rx_tkeep.val().any() {
                    // One empty beat: a verdict and no bytes.
                    self.rx_tready.next = true;
                    self.r_seq.d.next =
                        bit_cast::<64, MUW>(self.rx_tuser.val() >> self.s_out_seq.val());
                    self.r_verd.d.next =
                        bit_cast::<4, MUW>(self.rx_tuser.val() >> self.s_out_verdict.val());
                    self.r_nh.d.next =
                        bit_cast::<8, MUW>(self.rx_tuser.val() >> self.s_out_nh.val());
                    self.cur_fin.d.next = true;
                } else if self.w_left.q.val() == 0 {
                    // More than the descriptor allows: dropped, a bus error.
                    self.rx_tready.next = true;
                    self.cur_berr.d.next = true;
                    if self.rx_tlast.val() {
                        self.cur_fin.d.next = true;
                    }
                } else {
                    self.first.next = true;
                    self.ws.next = WrState::Data;
                }
            }
        }
        // A result burst: address (first cycle or until taken) and beats.
        if self.first.val() {
            self.blen.next = self.w_len.val();
            self.wb_addr.d.next = self.w_addr.q.val();
            self.wb_len.d.next = self.w_len.val();
        } else {
            self.blen.next = self.w_burst.q.val();
        }
        if (self.ws.val() == WrState::Data) & (self.first.val() | !self.aw_done.q.val()) {
            self.m_axi_awvalid.next = true;
            if self.first.val() {
                self.m_axi_awaddr.next = self.w_addr.q.val();
                self.m_axi_awlen.next = bit_cast::<8, 16>(self.w_len.val() - 1);
            } else {
                self.m_axi_awaddr.next = self.wb_addr.q.val();
                self.m_axi_awlen.next = bit_cast::<8, 16>(self.wb_len.q.val() - 1);
            }
            self.aw_ok.next = self.m_axi_awready.val();
        }
        if self.ws.val() == WrState::AwWait {
            self.m_axi_awvalid.next = true;
            self.m_axi_awaddr.next = self.wb_addr.q.val();
            self.m_axi_awlen.next = bit_cast::<8, 16>(self.wb_len.q.val() - 1);
            self.aw_ok.next = self.m_axi_awready.val();
            if self.m_axi_awready.val() {
                self.aw_done.d.next = false;
                self.wstate.d.next = WrState::Idle;
            }
        }
        if self.ws.val() == WrState::Data {
            self.m_axi_wlast.next = self.blen.val() == 1;
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
            self.wstate.d.next = WrState::Data;
            self.aw_done.d.next = self.aw_done.q.val() | self.aw_ok.val();
            self.w_burst.d.next = self.blen.val();
            if self.w_fire.val() {
                self.w_burst.d.next = self.blen.val() - 1;
                self.w_addr.d.next = self.w_addr.q.val() + 16;
                self.w_left.d.next = self.w_left.q.val() - 1;
                self.w_first.d.next = false;
                if self.w_real.val() {
                    self.res_bytes.d.next = self.res_bytes.q.val() + self.kcount.count.val();
                    if self.rx_tlast.val() {
                        self.w_last_seen.d.next = true;
                        self.r_seq.d.next =
                            bit_cast::<64, MUW>(self.rx_tuser.val() >> self.s_out_seq.val());
                        self.r_verd.d.next =
                            bit_cast::<4, MUW>(self.rx_tuser.val() >> self.s_out_verdict.val());
                        self.r_nh.d.next =
                            bit_cast::<8, MUW>(self.rx_tuser.val() >> self.s_out_nh.val());
                    }
                }
                if self.blen.val() == 1 {
                    if self.w_last_seen.q.val() | (self.w_real.val() & self.rx_tlast.val()) {
                        self.cur_fin.d.next = true;
                    }
                    if self.aw_done.q.val() | self.aw_ok.val() {
                        self.aw_done.d.next = false;
                        self.wstate.d.next = WrState::Idle;
                    } else {
                        self.wstate.d.next = WrState::AwWait;
                    }
                }
            }
        }
        // A completion record: address and first beat, then the second beat.
        if self.ws.val() == WrState::CplA {
            if !self.aw_done.q.val() {
                self.m_axi_awvalid.next = true;
                self.m_axi_awaddr.next = self.p_caddr.val();
                self.m_axi_awlen.next = self.k_cpl_beats.val();
                self.aw_ok.next = self.m_axi_awready.val();
            }
            if !self.w0_done.q.val() {
                self.m_axi_wvalid.next = true;
                self.m_axi_wdata.next = self.cpl.val().get_bits::<128>(0);
                self.m_axi_wstrb.next = bits::<16>(0xffff);
                self.w0_ok.next = self.m_axi_wready.val();
            }
            if (self.aw_done.q.val() | self.aw_ok.val()) & (self.w0_done.q.val() | self.w0_ok.val())
            {
                self.aw_done.d.next = false;
                self.w0_done.d.next = false;
                self.wstate.d.next = WrState::CplW1;
            } else {
                self.aw_done.d.next = self.aw_done.q.val() | self.aw_ok.val();
                self.w0_done.d.next = self.w0_done.q.val() | self.w0_ok.val();
                self.wstate.d.next = WrState::CplA;
            }
        }
        if self.ws.val() == WrState::CplW1 {
            // The beat with the phase bit, last.
            self.m_axi_wvalid.next = true;
            self.m_axi_wdata.next = self.cpl.val().get_bits::<128>(128);
            self.m_axi_wstrb.next = bits::<16>(0xffff);
            self.m_axi_wlast.next = true;
            if self.m_axi_wready.val() {
                self.cpl_end.next = true;
                self.wstate.d.next = WrState::Idle;
            }
        }
        // Write-response tags, in address order.
        if self.aw_ok.val() {
            self.btq.push.next = true;
            if self.ws.val() == WrState::CplA {
                self.bt_din.next = bits::<BW>(1) | (bit_cast::<BW, 2>(self.p_q.val()) << 1);
                if self.p_ep.val() {
                    self.bt_din.next = self.bt_din.val() | (bits::<BW>(1) << 3);
                }
                if self.p_bad.val() {
                    self.bt_din.next = self.bt_din.val() | (bits::<BW>(1) << 4);
                }
                if self.p_now.val() {
                    self.bt_din.next = self.bt_din.val() | (bits::<BW>(1) << 5);
                }
            } else {
                // A result burst of the current packet: its serial.
                self.bt_din.next = bit_cast::<BW, SRW>(self.c_ser.q.val()) << 6;
            }
        }
        self.btq.din.next = self.bt_din.val();
        // Result bursts issued and answered, counted modulo 256 (at most `WINDOW`
        // are outstanding, the response-tag FIFO's depth).
        self.b_iss_n.next = self.b_iss.q.val();
        if self.aw_ok.val() & (self.ws.val() != WrState::CplA) {
            self.b_iss_n.next = self.b_iss.q.val() + 1;
        }
        self.b_iss.d.next = self.b_iss_n.val();
        if self.b_res.val() {
            self.b_ack.d.next = self.b_ack.q.val() + 1;
        }

        // ------------------------------------------------------------ writer: packets
        // The finished packet joins the pending FIFO (once its input's read status
        // is known), where it waits for its result's write responses while the next
        // packets' results are written.
        self.p_free.next = !self.pq.full.val();
        self.move_cur.next = self.cur_v.q.val()
            & self.cur_fin.q.val()
            & (self.wstate.q.val() != WrState::AwWait)
            & self.p_free.val()
            & (self.c_bad.q.val() | !self.errq.empty.val());
        self.m_err.next = self.cur_berr.q.val();
        if !self.c_bad.q.val() & self.errq.dout.val().any() {
            self.m_err.next = true;
        }
        self.p_din.next = bit_cast::<PW, 64>(self.c_cookie.q.val())
            | (bit_cast::<PW, 64>(self.r_seq.q.val()) << 64)
            | (bit_cast::<PW, 16>(self.res_bytes.q.val()) << 128)
            | (bit_cast::<PW, 4>(self.r_verd.q.val()) << 144)
            | (bit_cast::<PW, 8>(self.r_nh.q.val()) << 148)
            | (bit_cast::<PW, 16>(self.c_sa.q.val()) << 156)
            | (bit_cast::<PW, IXW>(self.c_dix.q.val()) << 172)
            | (bit_cast::<PW, 2>(self.c_q.q.val()) << 188)
            | (bit_cast::<PW, 8>(self.b_iss_n.val()) << 195)
            | (bit_cast::<PW, SRW>(self.c_ser.q.val()) << 203);
        if self.c_ep.q.val() {
            self.p_din.next = self.p_din.val() | (bits::<PW>(1) << 190);
        }
        if self.c_inb.q.val() {
            self.p_din.next = self.p_din.val() | (bits::<PW>(1) << 191);
        }
        if self.c_now.q.val() {
            self.p_din.next = self.p_din.val() | (bits::<PW>(1) << 192);
        }
        if self.c_bad.q.val() {
            self.p_din.next = self.p_din.val() | (bits::<PW>(1) << 193);
        }
        if self.m_err.val() {
            self.p_din.next = self.p_din.val() | (bits::<PW>(1) << 194);
        }
        self.pq.din.next = self.p_din.val();
        self.pq.push.next = self.move_cur.val();
        self.pq.pop.next = self.cpl_end.val() | self.cpl_skip.val();
        if self.move_cur.val() {
            if !self.c_bad.q.val() {
                self.errq.pop.next = true;
            }
            self.cur_berr.d.next = false;
            self.cur_v.d.next = false;
        }
        self.load_cur.next = (!self.cur_v.q.val() | self.move_cur.val()) & !self.wrq.empty.val();
        if self.load_cur.val() {
            self.wrq.pop.next = true;
            self.cur_v.d.next = true;
            self.cur_fin.d.next = self.w_bad.val();
            self.c_q.d.next = self.w_q.val();
            self.c_ep.d.next = self.w_ep.val();
            self.c_dix.d.next = self.w_dix.val();
            self.c_cookie.d.next = self.w_cookie.val();
            self.c_sa.d.next = self.w_sa.val();
            self.c_inb.d.next = self.w_inb.val();
            self.c_now.d.next = self.w_now.val();
            self.c_bad.d.next = self.w_bad.val();
            self.res_bytes.d.next = bits::<16>(0);
            self.r_seq.d.next = bits::<64>(0);
            self.r_verd.d.next = self.w_vd.val();
            self.r_nh.d.next = self.w_nh.val();
            self.w_addr.d.next = self.w_res.val();
            self.w_left.d.next = self.w_beats.val();
            self.w_first.d.next = true;
            self.w_last_seen.d.next = false;
            self.cur_berr.d.next = false;
        }
        // Write errors on result bursts, one flag per packet serial: a new packet's
        // flag is cleared when the writer takes it, a response sets its packet's.
        self.c_ser_mask.next = bits::<NSER>(0);
        if self.load_cur.val() {
            self.c_ser.d.next = self.c_ser.q.val() + 1;
            self.c_ser_mask.next = bits::<NSER>(1) << (self.c_ser.q.val() + 1);
        }
        self.ser_mask.next = bits::<NSER>(0);
        if self.b_res.val() & self.b_err.val() {
            self.ser_mask.next = bits::<NSER>(1) << self.bt_ser.val();
        }
        self.perr.d.next = (self.perr.q.val() & !self.c_ser_mask.val()) | self.ser_mask.val();
        // The window: descriptors requested and not yet taken by the writer.
        self.resv_n.next = self.resv.q.val();
        if self.fetch_acc.val() {
            self.resv_n.next = self.resv_n.val() + bit_cast::<7, 3>(self.f_n.q.val());
        }
        if self.chk_drop.val() {
            self.resv_n.next = self.resv_n.val() - 1;
        }
        if self.load_cur.val() {
            self.resv_n.next = self.resv_n.val() - 1;
        }
        self.resv.d.next = self.resv_n.val();

        // ------------------------------------------------------------ reports to the queues
        self.f_mask.next = bits::<NQ>(1) << self.f_q.q.val();
        self.c_mask.next = bits::<NQ>(0);
        if self.c_av.q.val() != 0 {
            self.c_mask.next = bits::<NQ>(1) << self.c_pk.q.val();
        }
        for n in 0..NQ {
            self.queues[n].fetch_n.next = bits::<3>(0);
            if self.fetch_acc.val() & self.f_mask.val().get_bit(n) {
                self.queues[n].fetch_n.next = self.f_n.q.val();
            }
            self.queues[n].fetch_ep.next = self.f_ep.q.val();
            // A fetch picked or requested and not yet accepted by the bus counts as
            // in flight for this queue (a reset then waits for it: see `DmaQueue`).
            self.queues[n].fetch_busy.next =
                (self.f_pend.q.val() & self.f_mask.val().get_bit(n)) | self.c_mask.val().get_bit(n);
            self.queues[n].take.next = self.chk_acc.val() & self.chk_mask.val().get_bit(n);
            self.queues[n].drop.next = self.chk_drop.val() & self.chk_mask.val().get_bit(n);
            self.queues[n].cpl_iss.next = self.cpl_end.val() & self.p_mask.val().get_bit(n);
            self.queues[n].cpl_skip.next = self.cpl_skip.val() & self.p_mask.val().get_bit(n);
            self.queues[n].cpl_b.next = self.rb_cpl.q.val() & self.rb_mask.val().get_bit(n);
            self.queues[n].done.next = self.b_done.val() & self.rb_mask.val().get_bit(n);
            self.queues[n].done_bad.next = self.rb_bad.q.val();
            self.queues[n].done_now.next = self.rb_now.q.val();
            self.queues[n].fault.next = (self.chk_fault.val() & self.chk_mask.val().get_bit(n))
                | (self.b_fault.val() & self.rb_mask.val().get_bit(n));
            if self.chk_fault.val() & self.chk_mask.val().get_bit(n) {
                self.queues[n].fault_code.next = self.k_fault_fetch.val();
            } else {
                self.queues[n].fault_code.next = self.k_fault_cpl.val();
            }
        }

        if self.reset.val() {
            self.rr.d.next = bits::<2>(0);
            self.resv.d.next = bits::<7>(0);
            self.f_pend.d.next = false;
            self.f_cool.d.next = false;
            self.c_av.d.next = bits::<3>(0);
            self.ar_left.d.next = bits::<16>(0);
            self.r_pos.d.next = bits::<16>(0);
            self.d_err.d.next = false;
            self.p_rerr.d.next = false;
            self.chk_v.d.next = false;
            self.wstate.d.next = WrState::Idle;
            self.cur_v.d.next = false;
            self.cur_fin.d.next = false;
            self.aw_done.d.next = false;
            self.w0_done.d.next = false;
            self.b_iss.d.next = bits::<8>(0);
            self.rq_v.d.next = false;
            self.b_ack.d.next = bits::<8>(0);
            self.c_ser.d.next = bits::<SRW>(0);
            self.perr.d.next = bits::<NSER>(0);
            self.cur_berr.d.next = false;
            self.presc.d.next = bits::<16>(0);
            self.rb_cpl.d.next = false;
            self.rb_done.d.next = false;
            self.rb_fault.d.next = false;
        }
    }
}
