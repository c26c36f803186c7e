//! `module top`: the ESP engine. AXI4-Lite register file, SA table, packet buffers,
//! the packet engine (outbound framing and AES-GCM/GMAC, inbound ICV check, decryption
//! and trailer strip), stream ports and counters. Offsets, widths and codes come from
//! `regmap`.
//!
//! `Top` only wires its parts, one block each, along a packet pipeline whose parts
//! work on different packets at once:
//! - [`RegFile`] (`regfile.rs`): the AXI4-Lite port and every software-visible
//!   register, global counters and error events, input/output window decode.
//! - [`Rx`] (`rx.rs`), receive: `s_axis` beats go into one of two input slots
//!   (ping-pong) while the issue side reads the other; the MMIO input window writes
//!   slot 0.
//! - [`Issue`] (`issue.rs`), issue: the SA table (H and context RAMs; each SA's
//!   round keys in the `AesUnit`'s per-SA RAMs), SA commands, and `phase`: the SA
//!   entry and header word are read as the packet is taken, checked in one cycle that
//!   also issues E(J0); then one counter block per clock, each carrying its input
//!   word and SA through the AES pipeline (`AesUnit` tag), then a length slot.
//!   Consecutive packets may use different SAs with no drain.
//! - [`Tail`] (`tail.rs`), output side and tail: the 4-entry context queue; at the
//!   pipeline's end each block meets its keystream (framing, pad and trailer insertion
//!   for outbound), is written to one of four result slots (two RAMs, consecutive
//!   packets in different RAMs) and goes to GHASH (`GhashStream`, one block per
//!   clock); when GHASH finishes a packet, tag, ICV write or compare, the SA's
//!   counters and the result, while the next packet's blocks already stream behind.
//! - [`Tx`] (`tx.rs`), send: result slots leave on `m_axis` in order, back to back.
//! - [`DmaEngine`] (`crate::dma`): the DMA queue pairs over the `m_axi_*` bus master
//!   and the `irq` lines. While a queue is enabled it feeds the receive side and
//!   takes the send side instead of the external `s_axis`/`m_axis` ports (which then
//!   stay idle: `s_axis_tready` and `m_axis_tvalid` low); its registers are decoded
//!   by the register file's write and read paths (read data a cycle later, from a
//!   register).
//! - [`Skid`] (`skid.rs`): the register slice between `Tx` and the DMA writer or
//!   `m_axis` (one cycle of latency, full rate), so that the writer's handshakes do
//!   not reach into the send logic combinationally.
//!
//! SA commands run when the packet path is empty. Two parts that talk to each other
//! do so through a mirrored pair of bundles declared once in [`links`] (`links.rs`):
//! `RegFile`-`Issue`, `Rx`-`Issue`, `Issue`-`Tail`, `Tail`-`RegFile`, `Tail`-`Tx`.
//! `Top::update` joins each pair, wires the few signals a third part also reads to
//! that part's own ports, and has no logic of its own besides the OR of the parts'
//! busy flags and the split of `Tail`'s `done` into window and stream results.

use rust_hdl::prelude::*;

use crate::dma::{DmaEngine, IOW, NV};

pub mod issue;
// rust-hdl's `LogicInterface` derive writes an undocumented `join` for each bundle.
#[allow(missing_docs)]
pub mod links;
pub mod regfile;
pub mod rx;
pub mod skid;
pub mod tail;
pub mod tx;

pub use issue::{Issue, Phase};
pub use links::{
    IssueReg, IssueRx, IssueTail, RegIssue, RegTail, RxIssue, TailIssue, TailReg, TailTx, TxTail,
};
pub use regfile::RegFile;
pub use rx::Rx;
pub use skid::Skid;
pub use tail::Tail;
pub use tx::Tx;

/// AXI4-Lite address width.
pub const AW: usize = regmap::ADDR_WIDTH as usize;
/// SA index bits decoded.
pub const SW: usize = regmap::SA_INDEX_BITS as usize;
/// Packet-buffer word index bits.
pub const BW: usize = regmap::PKT_BUFFER_INDEX_BITS as usize;
/// Input and output RAM address bits: two packet slots per RAM.
pub const IBW: usize = BW + 1;
/// Width of one entry of the issue-to-output context queue.
pub const FQW: usize = 580;
/// `s_axis_tuser` width.
pub const SUW: usize = regmap::sideband::S_TUSER_BITS as usize;
/// `m_axis_tuser` width.
pub const MUW: usize = regmap::sideband::M_TUSER_BITS as usize;
/// A result beat as one word in the register slice: `[127:0]` data, `[143:128]`
/// keep, `[144]` last, then the side-band.
const BEAT: usize = 128 + 16 + 1;
// `Top::update` writes the side-band's position as the literal 145.
const _: () = assert!(BEAT == 145);
/// Width of an output beat (`m_axis` side-band).
pub const SKO: usize = BEAT + MUW;

/// SA context RAM word width.
pub const CTXW: usize = regmap::sa_entry::CTX_BITS as usize;
/// SA counter RAM word width.
pub const CNTW: usize = regmap::sa_entry::CNT_BITS as usize;
/// SA key RAM word width.
pub const KEYW: usize = regmap::sa_entry::KEY_BITS as usize;

pub(crate) fn c16(v: u32) -> Constant<Bits<16>> {
    Constant::new((v as u64).to_bits())
}

pub(crate) fn c4(v: u32) -> Constant<Bits<4>> {
    Constant::new((v as u64).to_bits())
}

pub(crate) fn c32(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).to_bits())
}

/// A verdict's code (`regmap::Verdict`) as a constant of the 4-bit verdict field.
pub(crate) fn verdict(v: regmap::Verdict) -> Constant<Bits<4>> {
    c4(v.code())
}

/// An SA command error code (`regmap::SaCmdError`) as a 4-bit constant.
pub(crate) fn sa_cmd_error(e: regmap::SaCmdError) -> Constant<Bits<4>> {
    c4(e as u32)
}

/// Words in one packet slot (`regmap::PKT_BUFFER_WORDS`) as a 16-bit constant.
pub(crate) fn buf_words() -> Constant<Bits<16>> {
    c16(regmap::PKT_BUFFER_WORDS)
}

/// The largest packet (`regmap::MAX_PACKET_BYTES`) as a 16-bit constant.
pub(crate) fn max_packet() -> Constant<Bits<16>> {
    c16(regmap::MAX_PACKET_BYTES)
}

/// Mask of `width` bits from `lsb` in an `N`-bit word.
pub(crate) fn field_mask<const N: usize>(lsb: u32, width: u32) -> Bits<N> {
    let ones: Bits<N> = (0..width).fold(Bits::<N>::default(), |m, i| {
        m | (bits::<N>(1) << (lsb + i) as u64)
    });
    ones
}

/// The ESP engine top level: the parts below wired together. Port names are the
/// cross-crate contract.
#[derive(LogicBlock)]
pub struct Top {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset.
    pub reset: Signal<In, bool>,
    /// AXI4-Lite write address.
    pub s_axil_awaddr: Signal<In, Bits<AW>>,
    /// AXI4-Lite write address valid.
    pub s_axil_awvalid: Signal<In, bool>,
    /// AXI4-Lite write address ready.
    pub s_axil_awready: Signal<Out, bool>,
    /// AXI4-Lite write data.
    pub s_axil_wdata: Signal<In, Bits<32>>,
    /// AXI4-Lite write data valid.
    pub s_axil_wvalid: Signal<In, bool>,
    /// AXI4-Lite write data ready.
    pub s_axil_wready: Signal<Out, bool>,
    /// AXI4-Lite write response (always OKAY).
    pub s_axil_bresp: Signal<Out, Bits<2>>,
    /// AXI4-Lite write response valid.
    pub s_axil_bvalid: Signal<Out, bool>,
    /// AXI4-Lite write response ready.
    pub s_axil_bready: Signal<In, bool>,
    /// AXI4-Lite read address.
    pub s_axil_araddr: Signal<In, Bits<AW>>,
    /// AXI4-Lite read address valid.
    pub s_axil_arvalid: Signal<In, bool>,
    /// AXI4-Lite read address ready.
    pub s_axil_arready: Signal<Out, bool>,
    /// AXI4-Lite read data.
    pub s_axil_rdata: Signal<Out, Bits<32>>,
    /// AXI4-Lite read response (always OKAY).
    pub s_axil_rresp: Signal<Out, Bits<2>>,
    /// AXI4-Lite read data valid.
    pub s_axil_rvalid: Signal<Out, bool>,
    /// AXI4-Lite read data ready.
    pub s_axil_rready: Signal<In, bool>,
    /// Stream in: data (byte 0 in `[7:0]`).
    pub s_axis_tdata: Signal<In, Bits<128>>,
    /// Stream in: byte enables.
    pub s_axis_tkeep: Signal<In, Bits<16>>,
    /// Stream in: last beat.
    pub s_axis_tlast: Signal<In, bool>,
    /// Stream in: valid.
    pub s_axis_tvalid: Signal<In, bool>,
    /// Stream in: ready.
    pub s_axis_tready: Signal<Out, bool>,
    /// Stream in: descriptor (first beat), `regmap::sideband` layout.
    pub s_axis_tuser: Signal<In, Bits<SUW>>,
    /// Stream out: data.
    pub m_axis_tdata: Signal<Out, Bits<128>>,
    /// Stream out: byte enables.
    pub m_axis_tkeep: Signal<Out, Bits<16>>,
    /// Stream out: last beat.
    pub m_axis_tlast: Signal<Out, bool>,
    /// Stream out: valid.
    pub m_axis_tvalid: Signal<Out, bool>,
    /// Stream out: ready.
    pub m_axis_tready: Signal<In, bool>,
    /// Stream out: result side-band, `regmap::sideband` layout.
    pub m_axis_tuser: Signal<Out, Bits<MUW>>,
    /// Host memory (AXI4 master): read address (IOVA).
    pub m_axi_araddr: Signal<Out, Bits<IOW>>,
    /// Host memory: read burst length - 1.
    pub m_axi_arlen: Signal<Out, Bits<8>>,
    /// Host memory: read beat size (4: 16 bytes).
    pub m_axi_arsize: Signal<Out, Bits<3>>,
    /// Host memory: read burst type (1: INCR).
    pub m_axi_arburst: Signal<Out, Bits<2>>,
    /// Host memory: read address valid.
    pub m_axi_arvalid: Signal<Out, bool>,
    /// Host memory: read address ready.
    pub m_axi_arready: Signal<In, bool>,
    /// Host memory: read data.
    pub m_axi_rdata: Signal<In, Bits<128>>,
    /// Host memory: read response.
    pub m_axi_rresp: Signal<In, Bits<2>>,
    /// Host memory: read last beat.
    pub m_axi_rlast: Signal<In, bool>,
    /// Host memory: read data valid.
    pub m_axi_rvalid: Signal<In, bool>,
    /// Host memory: read data ready.
    pub m_axi_rready: Signal<Out, bool>,
    /// Host memory: write address (IOVA).
    pub m_axi_awaddr: Signal<Out, Bits<IOW>>,
    /// Host memory: write burst length - 1.
    pub m_axi_awlen: Signal<Out, Bits<8>>,
    /// Host memory: write beat size (4: 16 bytes).
    pub m_axi_awsize: Signal<Out, Bits<3>>,
    /// Host memory: write burst type (1: INCR).
    pub m_axi_awburst: Signal<Out, Bits<2>>,
    /// Host memory: write address valid.
    pub m_axi_awvalid: Signal<Out, bool>,
    /// Host memory: write address ready.
    pub m_axi_awready: Signal<In, bool>,
    /// Host memory: write data.
    pub m_axi_wdata: Signal<Out, Bits<128>>,
    /// Host memory: write strobes.
    pub m_axi_wstrb: Signal<Out, Bits<16>>,
    /// Host memory: write last beat.
    pub m_axi_wlast: Signal<Out, bool>,
    /// Host memory: write data valid.
    pub m_axi_wvalid: Signal<Out, bool>,
    /// Host memory: write data ready.
    pub m_axi_wready: Signal<In, bool>,
    /// Host memory: write response.
    pub m_axi_bresp: Signal<In, Bits<2>>,
    /// Host memory: write response valid.
    pub m_axi_bvalid: Signal<In, bool>,
    /// Host memory: write response ready.
    pub m_axi_bready: Signal<Out, bool>,
    /// Interrupts: a one-cycle pulse per interrupt, one line per vector.
    pub irq: Signal<Out, Bits<NV>>,

    // ---- the parts, in the order of the module docs
    regs: RegFile,
    rx: Rx,
    issue: Issue,
    tail: Tail,
    tx: Tx,
    dma: DmaEngine,
    // ---- the register slice of the results, and its input word
    sk_out: Skid<Bits<SKO>>,
    sk_out_w: Signal<Local, Bits<SKO>>,
}

impl Default for Top {
    fn default() -> Self {
        Self::new()
    }
}

impl Top {
    /// The design with every constant taken from `regmap`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            s_axil_awaddr: Default::default(),
            s_axil_awvalid: Default::default(),
            s_axil_awready: Default::default(),
            s_axil_wdata: Default::default(),
            s_axil_wvalid: Default::default(),
            s_axil_wready: Default::default(),
            s_axil_bresp: Default::default(),
            s_axil_bvalid: Default::default(),
            s_axil_bready: Default::default(),
            s_axil_araddr: Default::default(),
            s_axil_arvalid: Default::default(),
            s_axil_arready: Default::default(),
            s_axil_rdata: Default::default(),
            s_axil_rresp: Default::default(),
            s_axil_rvalid: Default::default(),
            s_axil_rready: Default::default(),
            s_axis_tdata: Default::default(),
            s_axis_tkeep: Default::default(),
            s_axis_tlast: Default::default(),
            s_axis_tvalid: Default::default(),
            s_axis_tready: Default::default(),
            s_axis_tuser: Default::default(),
            m_axis_tdata: Default::default(),
            m_axis_tkeep: Default::default(),
            m_axis_tlast: Default::default(),
            m_axis_tvalid: Default::default(),
            m_axis_tready: Default::default(),
            m_axis_tuser: Default::default(),
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
            irq: Default::default(),
            regs: RegFile::new(),
            rx: Rx::default(),
            issue: Issue::new(),
            tail: Tail::new(),
            tx: Tx::default(),
            dma: DmaEngine::new(),
            sk_out: Default::default(),
            sk_out_w: Default::default(),
        }
    }
}

impl Logic for Top {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, regs, rx, issue, tail, tx, dma, sk_out);
        self.sk_out.reset.next = self.reset.val();
        self.regs.reset.next = self.reset.val();
        self.rx.reset.next = self.reset.val();
        self.issue.reset.next = self.reset.val();
        self.tail.reset.next = self.reset.val();
        self.tx.reset.next = self.reset.val();
        self.dma.reset.next = self.reset.val();

        // ------------------------------------------------------------ register port
        self.regs.s_axil_awaddr.next = self.s_axil_awaddr.val();
        self.regs.s_axil_awvalid.next = self.s_axil_awvalid.val();
        self.s_axil_awready.next = self.regs.s_axil_awready.val();
        self.regs.s_axil_wdata.next = self.s_axil_wdata.val();
        self.regs.s_axil_wvalid.next = self.s_axil_wvalid.val();
        self.s_axil_wready.next = self.regs.s_axil_wready.val();
        self.s_axil_bresp.next = self.regs.s_axil_bresp.val();
        self.s_axil_bvalid.next = self.regs.s_axil_bvalid.val();
        self.regs.s_axil_bready.next = self.s_axil_bready.val();
        self.regs.s_axil_araddr.next = self.s_axil_araddr.val();
        self.regs.s_axil_arvalid.next = self.s_axil_arvalid.val();
        self.s_axil_arready.next = self.regs.s_axil_arready.val();
        self.s_axil_rdata.next = self.regs.s_axil_rdata.val();
        self.s_axil_rresp.next = self.regs.s_axil_rresp.val();
        self.s_axil_rvalid.next = self.regs.s_axil_rvalid.val();
        self.regs.s_axil_rready.next = self.s_axil_rready.val();
        self.regs.engine_busy.next = self.rx.issue.busy.val()
            | self.rx.issue.full.val().any()
            | self.issue.busy.val()
            | self.tail.issue.f_cnt.val().any()
            | self.tail.issue.t_busy.val();

        // ------------------------------------------------------------ the links
        RegIssue::join(&mut self.regs.issue, &mut self.issue.regs);
        RxIssue::join(&mut self.rx.issue, &mut self.issue.rx);
        IssueTail::join(&mut self.issue.tail, &mut self.tail.issue);
        TailReg::join(&mut self.tail.regs, &mut self.regs.tail);
        TailTx::join(&mut self.tail.tx, &mut self.tx.tail);

        // ------------------------------------------------------------ receive
        self.rx.win_wr.next = self.regs.win_wr.val();
        self.rx.win_addr.next = self.s_axil_awaddr.val();
        self.rx.win_data.next = self.s_axil_wdata.val();
        self.rx.db_pending.next = self.regs.issue.db_pending.val();
        self.rx.win_active.next = self.issue.regs.win_active.val();

        // ------------------------------------------------------------ issue
        self.issue.win_done.next = self.tail.regs.done.val() & !self.tail.regs.stream.val();
        self.issue.out_free.next = self.tx.freed.val();

        // ------------------------------------------------------------ send
        self.tx.res_valid.next = self.tail.regs.done.val() & self.tail.regs.stream.val();
        self.tx.res_len.next = self.tail.regs.rlen.val();
        self.tx.buf_a.next = self.tail.regs.buf_a.val();
        self.tx.win_rd.next = self.regs.win_rd.val();

        // ------------------------------------------------------------ DMA front end
        // Registers: writes as they happen, reads at the register file's address.
        self.dma.wr.next = self.regs.wr_en.val();
        self.dma.wr_addr.next = self.s_axil_awaddr.val();
        self.dma.wr_data.next = self.s_axil_wdata.val();
        self.dma.rd_addr.next = self.regs.rd_addr.val();
        self.regs.dma_rd_data.next = self.dma.rd_data.val();
        self.regs.dma_rd_hit.next = self.dma.rd_hit.val();
        self.irq.next = self.dma.irq.val();
        self.m_axi_araddr.next = self.dma.m_axi_araddr.val();
        self.m_axi_arlen.next = self.dma.m_axi_arlen.val();
        self.m_axi_arsize.next = self.dma.m_axi_arsize.val();
        self.m_axi_arburst.next = self.dma.m_axi_arburst.val();
        // AXI: a master drives its VALID outputs low while reset is asserted (the DMA
        // block's state is cleared only at the clock edge, so in the first reset cycle
        // it could still show a request the slave would take).
        self.m_axi_arvalid.next = self.dma.m_axi_arvalid.val() & !self.reset.val();
        self.dma.m_axi_arready.next = self.m_axi_arready.val();
        self.dma.m_axi_rdata.next = self.m_axi_rdata.val();
        self.dma.m_axi_rresp.next = self.m_axi_rresp.val();
        self.dma.m_axi_rlast.next = self.m_axi_rlast.val();
        self.dma.m_axi_rvalid.next = self.m_axi_rvalid.val();
        self.m_axi_rready.next = self.dma.m_axi_rready.val();
        self.m_axi_awaddr.next = self.dma.m_axi_awaddr.val();
        self.m_axi_awlen.next = self.dma.m_axi_awlen.val();
        self.m_axi_awsize.next = self.dma.m_axi_awsize.val();
        self.m_axi_awburst.next = self.dma.m_axi_awburst.val();
        self.m_axi_awvalid.next = self.dma.m_axi_awvalid.val() & !self.reset.val();
        self.dma.m_axi_awready.next = self.m_axi_awready.val();
        self.m_axi_wdata.next = self.dma.m_axi_wdata.val();
        self.m_axi_wstrb.next = self.dma.m_axi_wstrb.val();
        self.m_axi_wlast.next = self.dma.m_axi_wlast.val();
        self.m_axi_wvalid.next = self.dma.m_axi_wvalid.val() & !self.reset.val();
        self.dma.m_axi_wready.next = self.m_axi_wready.val();
        self.dma.m_axi_bresp.next = self.m_axi_bresp.val();
        self.dma.m_axi_bvalid.next = self.m_axi_bvalid.val();
        self.m_axi_bready.next = self.dma.m_axi_bready.val();
        // The engine's streams: the DMA front end's while a queue is enabled, else
        // the external ports'. The results pass a register slice (`Skid`) between
        // `Tx` and the DMA writer or `m_axis`, so that no combinational path runs
        // from the writer's bus handshakes into the send logic; the DMA reader's
        // beats come from its input FIFO (a RAM, registered).
        // (The word is built in a local signal: rust-hdl's simulator reads a
        // sub-block's input back as it was before this update.)
        self.sk_out_w.next = bit_cast::<SKO, 128>(self.tx.m_axis_tdata.val())
            | (bit_cast::<SKO, 16>(self.tx.m_axis_tkeep.val()) << 128)
            | (bit_cast::<SKO, MUW>(self.tx.m_axis_tuser.val()) << 145);
        if self.tx.m_axis_tlast.val() {
            self.sk_out_w.next = self.sk_out_w.val() | (bits::<SKO>(1) << 144);
        }
        self.sk_out.in_data.next = self.sk_out_w.val();
        self.sk_out.in_valid.next = self.tx.m_axis_tvalid.val();
        self.tx.m_axis_tready.next = self.sk_out.in_ready.val();
        self.m_axis_tdata.next = self.sk_out.out_data.val().get_bits::<128>(0);
        self.m_axis_tkeep.next = self.sk_out.out_data.val().get_bits::<16>(128);
        self.m_axis_tlast.next = self.sk_out.out_data.val().get_bit(144);
        self.m_axis_tuser.next = self.sk_out.out_data.val().get_bits::<MUW>(145);
        self.dma.rx_tdata.next = self.sk_out.out_data.val().get_bits::<128>(0);
        self.dma.rx_tkeep.next = self.sk_out.out_data.val().get_bits::<16>(128);
        self.dma.rx_tlast.next = self.sk_out.out_data.val().get_bit(144);
        self.dma.rx_tuser.next = self.sk_out.out_data.val().get_bits::<MUW>(145);
        self.dma.tx_tready.next = false;
        self.dma.rx_tvalid.next = false;
        if self.dma.active.val() {
            self.rx.s_axis_tdata.next = self.dma.tx_tdata.val();
            self.rx.s_axis_tkeep.next = self.dma.tx_tkeep.val();
            self.rx.s_axis_tlast.next = self.dma.tx_tlast.val();
            self.rx.s_axis_tvalid.next = self.dma.tx_tvalid.val();
            self.rx.s_axis_tuser.next = self.dma.tx_tuser.val();
            self.dma.tx_tready.next = self.rx.s_axis_tready.val();
            self.s_axis_tready.next = false;
            self.dma.rx_tvalid.next = self.sk_out.out_valid.val();
            self.sk_out.out_ready.next = self.dma.rx_tready.val();
            self.m_axis_tvalid.next = false;
        } else {
            self.rx.s_axis_tdata.next = self.s_axis_tdata.val();
            self.rx.s_axis_tkeep.next = self.s_axis_tkeep.val();
            self.rx.s_axis_tlast.next = self.s_axis_tlast.val();
            self.rx.s_axis_tvalid.next = self.s_axis_tvalid.val();
            self.rx.s_axis_tuser.next = self.s_axis_tuser.val();
            self.s_axis_tready.next = self.rx.s_axis_tready.val();
            self.m_axis_tvalid.next = self.sk_out.out_valid.val();
            self.sk_out.out_ready.next = self.m_axis_tready.val();
        }
    }
}
