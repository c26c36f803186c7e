//! Register file: the AXI4-Lite port, every software-visible register of
//! `regmap::regs` (identity, scratch, status, error events, SA staging and command
//! status, SA read-back, window packet descriptor and result, global counters) and the
//! input/output window decode.
//!
//! Writes take one cycle (`awready`/`wready` with `awvalid && wvalid`, then `bvalid`);
//! reads take three (address, buffer read for the output window, data). A read of a
//! 64-bit counter's low word snapshots its high word, which the `*_HI` read returns.
//! The engine reports to it with pulses: `cmd_done` (SA command finished), `db_take`
//! (window packet taken) and `tail.done` (a packet finished: global counters, error
//! events and, for a window packet, the result registers).

use super::links::{RegIssue, RegTail};
use rust_hdl::prelude::*;

use super::{buf_words, c16, c32, max_packet, verdict, AW, CTXW, KEYW};
use regmap::regs::off;

/// The register file (see the module docs).
#[derive(LogicBlock)]
pub struct RegFile {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset.
    pub reset: Signal<In, bool>,
    /// `Top::s_axil_awaddr`, passed through.
    pub s_axil_awaddr: Signal<In, Bits<AW>>,
    /// `Top::s_axil_awvalid`, passed through.
    pub s_axil_awvalid: Signal<In, bool>,
    /// `Top::s_axil_awready`, passed through.
    pub s_axil_awready: Signal<Out, bool>,
    /// `Top::s_axil_wdata`, passed through.
    pub s_axil_wdata: Signal<In, Bits<32>>,
    /// `Top::s_axil_wvalid`, passed through.
    pub s_axil_wvalid: Signal<In, bool>,
    /// `Top::s_axil_wready`, passed through.
    pub s_axil_wready: Signal<Out, bool>,
    /// `Top::s_axil_bresp`, passed through.
    pub s_axil_bresp: Signal<Out, Bits<2>>,
    /// `Top::s_axil_bvalid`, passed through.
    pub s_axil_bvalid: Signal<Out, bool>,
    /// `Top::s_axil_bready`, passed through.
    pub s_axil_bready: Signal<In, bool>,
    /// `Top::s_axil_araddr`, passed through.
    pub s_axil_araddr: Signal<In, Bits<AW>>,
    /// `Top::s_axil_arvalid`, passed through.
    pub s_axil_arvalid: Signal<In, bool>,
    /// `Top::s_axil_arready`, passed through.
    pub s_axil_arready: Signal<Out, bool>,
    /// `Top::s_axil_rdata`, passed through.
    pub s_axil_rdata: Signal<Out, Bits<32>>,
    /// `Top::s_axil_rresp`, passed through.
    pub s_axil_rresp: Signal<Out, Bits<2>>,
    /// `Top::s_axil_rvalid`, passed through.
    pub s_axil_rvalid: Signal<Out, bool>,
    /// `Top::s_axil_rready`, passed through.
    pub s_axil_rready: Signal<In, bool>,
    /// The packet path holds a packet (receive, issue, output side, tail or send).
    pub engine_busy: Signal<In, bool>,
    /// The link with `Issue`.
    pub issue: RegIssue,
    /// The link with `Tail`: the finished packet.
    pub tail: RegTail,
    /// An input-window write this cycle (lane and word from `s_axil_awaddr`).
    pub win_wr: Signal<Out, bool>,
    /// Output-window word address (result slot 0).
    pub win_rd: Signal<Out, Bits<16>>,
    /// A register write this cycle (`s_axil_awaddr`, `s_axil_wdata`), for the DMA
    /// front end's registers.
    pub wr_en: Signal<Out, bool>,
    /// The address being read (the DMA front end answers `dma_rd_*` for it).
    pub rd_addr: Signal<Out, Bits<AW>>,
    /// `DmaEngine::rd_data` for `rd_addr`, a cycle later (`rd_addr` is held from read
    /// state 1, the value is taken in state 2).
    pub dma_rd_data: Signal<In, Bits<32>>,
    /// `rd_addr` is a DMA register.
    pub dma_rd_hit: Signal<In, bool>,

    bvalid: DFF<bool>,
    rstate: DFF<Bits<2>>,
    raddr: DFF<Bits<AW>>,
    rdata: DFF<Bits<32>>,
    hi_snap: DFF<Bits<32>>,
    scratch: DFF<Bits<32>>,
    err_events: DFF<Bits<5>>,
    sa_index_r: DFF<Bits<16>>,
    sa_spi: DFF<Bits<32>>,
    sa_salt: DFF<Bits<32>>,
    sa_flags_r: DFF<Bits<4>>,
    sa_seq: DFF<Bits<64>>,
    key0: DFF<Bits<32>>,
    key1: DFF<Bits<32>>,
    key2: DFF<Bits<32>>,
    key3: DFF<Bits<32>>,
    key4: DFF<Bits<32>>,
    key5: DFF<Bits<32>>,
    key6: DFF<Bits<32>>,
    key7: DFF<Bits<32>>,
    sa_op_r: DFF<Bits<4>>,
    cmd_pending_r: DFF<bool>,
    sa_done: DFF<bool>,
    sa_error: DFF<bool>,
    pkt_desc_r: DFF<Bits<32>>,
    pkt_len_r: DFF<Bits<16>>,
    pkt_seqhi_r: DFF<Bits<32>>,
    db_pending_r: DFF<bool>,
    pkt_done: DFF<bool>,
    res_verdict_r: DFF<Bits<4>>,
    res_nh_r: DFF<Bits<8>>,
    res_len_r: DFF<Bits<16>>,
    res_seq_r: DFF<Bits<64>>,
    res_ok: DFF<bool>,
    cnt_out_pkts: DFF<Bits<64>>,
    cnt_out_bytes: DFF<Bits<64>>,
    cnt_in_pkts: DFF<Bits<64>>,
    cnt_in_bytes: DFF<Bits<64>>,
    cnt_auth: DFF<Bits<64>>,
    cnt_bad: DFF<Bits<64>>,
    err_set: Signal<Local, Bits<5>>,
    err_clr: Signal<Local, Bits<5>>,
    wr_fire: Signal<Local, bool>,
    rd_value: Signal<Local, Bits<32>>,
    rd_snap: Signal<Local, bool>,
    rd_snap_value: Signal<Local, Bits<32>>,
    pkt_busy: Signal<Local, bool>,
    w_status: Signal<Local, Bits<32>>,
    w_sa_status: Signal<Local, Bits<32>>,
    w_rb_flags: Signal<Local, Bits<32>>,
    w_pkt_status: Signal<Local, Bits<32>>,

    k_hi32: Constant<Bits<64>>,
    k_lo32: Constant<Bits<64>>,
    k_buf_words: Constant<Bits<16>>,
    k_bit31: Constant<Bits<32>>,
    v_ok: Constant<Bits<4>>,
    v_auth: Constant<Bits<4>>,
    v_trailer: Constant<Bits<4>>,
    v_seq: Constant<Bits<4>>,
    k_magic: Constant<Bits<32>>,
    k_version: Constant<Bits<32>>,
    k_caps: Constant<Bits<32>>,
    k_num_sas: Constant<Bits<32>>,
    k_datapath: Constant<Bits<32>>,
    k_max_packet: Constant<Bits<16>>,
    o_id_magic: Constant<Bits<16>>,
    o_id_version: Constant<Bits<16>>,
    o_id_caps: Constant<Bits<16>>,
    o_id_num_sas: Constant<Bits<16>>,
    o_id_datapath: Constant<Bits<16>>,
    o_id_max_packet: Constant<Bits<16>>,
    o_scratch: Constant<Bits<16>>,
    o_status: Constant<Bits<16>>,
    o_error_events: Constant<Bits<16>>,
    o_sa_index: Constant<Bits<16>>,
    o_sa_spi: Constant<Bits<16>>,
    o_sa_salt: Constant<Bits<16>>,
    o_sa_flags: Constant<Bits<16>>,
    o_sa_seq_lo: Constant<Bits<16>>,
    o_sa_seq_hi: Constant<Bits<16>>,
    o_sa_key0: Constant<Bits<16>>,
    o_sa_key1: Constant<Bits<16>>,
    o_sa_key2: Constant<Bits<16>>,
    o_sa_key3: Constant<Bits<16>>,
    o_sa_key4: Constant<Bits<16>>,
    o_sa_key5: Constant<Bits<16>>,
    o_sa_key6: Constant<Bits<16>>,
    o_sa_key7: Constant<Bits<16>>,
    o_sa_cmd: Constant<Bits<16>>,
    o_sa_cmd_status: Constant<Bits<16>>,
    o_rb_spi: Constant<Bits<16>>,
    o_rb_flags: Constant<Bits<16>>,
    o_rb_seq_lo: Constant<Bits<16>>,
    o_rb_seq_hi: Constant<Bits<16>>,
    o_rb_pkts_lo: Constant<Bits<16>>,
    o_rb_pkts_hi: Constant<Bits<16>>,
    o_rb_bytes_lo: Constant<Bits<16>>,
    o_rb_bytes_hi: Constant<Bits<16>>,
    o_rb_auth: Constant<Bits<16>>,
    o_pkt_desc: Constant<Bits<16>>,
    o_pkt_len: Constant<Bits<16>>,
    o_pkt_seq_hi: Constant<Bits<16>>,
    o_pkt_doorbell: Constant<Bits<16>>,
    o_pkt_status: Constant<Bits<16>>,
    o_res_len: Constant<Bits<16>>,
    o_res_seq_lo: Constant<Bits<16>>,
    o_res_seq_hi: Constant<Bits<16>>,
    o_cnt_out_pkts_lo: Constant<Bits<16>>,
    o_cnt_out_pkts_hi: Constant<Bits<16>>,
    o_cnt_out_bytes_lo: Constant<Bits<16>>,
    o_cnt_out_bytes_hi: Constant<Bits<16>>,
    o_cnt_in_pkts_lo: Constant<Bits<16>>,
    o_cnt_in_pkts_hi: Constant<Bits<16>>,
    o_cnt_in_bytes_lo: Constant<Bits<16>>,
    o_cnt_in_bytes_hi: Constant<Bits<16>>,
    o_cnt_auth_lo: Constant<Bits<16>>,
    o_cnt_auth_hi: Constant<Bits<16>>,
    o_cnt_bad_lo: Constant<Bits<16>>,
    o_cnt_bad_hi: Constant<Bits<16>>,
    o_in_window: Constant<Bits<16>>,
    o_out_window: Constant<Bits<16>>,
    s_ctx_salt: Constant<Bits<16>>,
    s_ctx_seq: Constant<Bits<16>>,
    s_ctx_flags: Constant<Bits<16>>,
    s_ctx_valid: Constant<Bits<16>>,
}

impl Default for RegFile {
    fn default() -> Self {
        Self::new()
    }
}

impl RegFile {
    /// The register file with every offset and constant taken from `regmap`.
    #[must_use]
    pub fn new() -> Self {
        use regmap::sa_entry as e;
        // The constants below are compared against 16-bit addresses and shifts.
        const _: () = assert!(regmap::ADDR_WIDTH == 16);
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
            engine_busy: Default::default(),
            win_wr: Default::default(),
            win_rd: Default::default(),
            wr_en: Default::default(),
            rd_addr: Default::default(),
            dma_rd_data: Default::default(),
            dma_rd_hit: Default::default(),
            issue: Default::default(),
            tail: Default::default(),
            bvalid: Default::default(),
            rstate: Default::default(),
            raddr: Default::default(),
            rdata: Default::default(),
            hi_snap: Default::default(),
            scratch: Default::default(),
            err_events: Default::default(),
            sa_index_r: Default::default(),
            sa_spi: Default::default(),
            sa_salt: Default::default(),
            sa_flags_r: Default::default(),
            sa_seq: Default::default(),
            key0: Default::default(),
            key1: Default::default(),
            key2: Default::default(),
            key3: Default::default(),
            key4: Default::default(),
            key5: Default::default(),
            key6: Default::default(),
            key7: Default::default(),
            sa_op_r: Default::default(),
            cmd_pending_r: Default::default(),
            sa_done: Default::default(),
            sa_error: Default::default(),
            pkt_desc_r: Default::default(),
            pkt_len_r: Default::default(),
            pkt_seqhi_r: Default::default(),
            db_pending_r: Default::default(),
            pkt_done: Default::default(),
            res_verdict_r: Default::default(),
            res_nh_r: Default::default(),
            res_len_r: Default::default(),
            res_seq_r: Default::default(),
            res_ok: Default::default(),
            cnt_out_pkts: Default::default(),
            cnt_out_bytes: Default::default(),
            cnt_in_pkts: Default::default(),
            cnt_in_bytes: Default::default(),
            cnt_auth: Default::default(),
            cnt_bad: Default::default(),
            err_set: Default::default(),
            err_clr: Default::default(),
            wr_fire: Default::default(),
            rd_value: Default::default(),
            rd_snap: Default::default(),
            rd_snap_value: Default::default(),
            pkt_busy: Default::default(),
            w_status: Default::default(),
            w_sa_status: Default::default(),
            w_rb_flags: Default::default(),
            w_pkt_status: Default::default(),
            k_hi32: Constant::new(0xffff_ffff_0000_0000u64.to_bits()),
            k_lo32: Constant::new(0xffff_ffffu64.to_bits()),
            k_buf_words: buf_words(),
            k_bit31: c32(1 << 31),
            v_ok: verdict(regmap::Verdict::Ok),
            v_auth: verdict(regmap::Verdict::AuthFailed),
            v_trailer: verdict(regmap::Verdict::BadTrailer),
            v_seq: verdict(regmap::Verdict::SeqExhausted),
            k_magic: c32(regmap::MAGIC),
            k_version: c32(regmap::LAYOUT_VERSION),
            k_caps: c32(regmap::CAPABILITIES.bits()),
            k_num_sas: c32(regmap::NUM_SAS),
            k_datapath: c32(regmap::DATAPATH_VALUE),
            k_max_packet: max_packet(),
            o_id_magic: c16(off::ID_MAGIC),
            o_id_version: c16(off::ID_LAYOUT_VERSION),
            o_id_caps: c16(off::ID_CAPABILITIES),
            o_id_num_sas: c16(off::ID_NUM_SAS),
            o_id_datapath: c16(off::ID_DATAPATH),
            o_id_max_packet: c16(off::ID_MAX_PACKET),
            o_scratch: c16(off::SCRATCH),
            o_status: c16(off::STATUS),
            o_error_events: c16(off::ERROR_EVENTS),
            o_sa_index: c16(off::SA_INDEX),
            o_sa_spi: c16(off::SA_SPI),
            o_sa_salt: c16(off::SA_SALT),
            o_sa_flags: c16(off::SA_FLAGS),
            o_sa_seq_lo: c16(off::SA_SEQ_LO),
            o_sa_seq_hi: c16(off::SA_SEQ_HI),
            o_sa_key0: c16(off::SA_KEY0),
            o_sa_key1: c16(off::SA_KEY0 + 4),
            o_sa_key2: c16(off::SA_KEY0 + 8),
            o_sa_key3: c16(off::SA_KEY0 + 12),
            o_sa_key4: c16(off::SA_KEY0 + 16),
            o_sa_key5: c16(off::SA_KEY0 + 20),
            o_sa_key6: c16(off::SA_KEY0 + 24),
            o_sa_key7: c16(off::SA_KEY0 + 28),
            o_sa_cmd: c16(off::SA_CMD),
            o_sa_cmd_status: c16(off::SA_CMD_STATUS),
            o_rb_spi: c16(off::SA_RB_SPI),
            o_rb_flags: c16(off::SA_RB_FLAGS),
            o_rb_seq_lo: c16(off::SA_RB_SEQ_LO),
            o_rb_seq_hi: c16(off::SA_RB_SEQ_HI),
            o_rb_pkts_lo: c16(off::SA_RB_PKTS_LO),
            o_rb_pkts_hi: c16(off::SA_RB_PKTS_HI),
            o_rb_bytes_lo: c16(off::SA_RB_BYTES_LO),
            o_rb_bytes_hi: c16(off::SA_RB_BYTES_HI),
            o_rb_auth: c16(off::SA_RB_AUTH_FAIL),
            o_pkt_desc: c16(off::PKT_DESC),
            o_pkt_len: c16(off::PKT_LEN),
            o_pkt_seq_hi: c16(off::PKT_SEQ_HI),
            o_pkt_doorbell: c16(off::PKT_DOORBELL),
            o_pkt_status: c16(off::PKT_STATUS),
            o_res_len: c16(off::PKT_RESULT_LEN),
            o_res_seq_lo: c16(off::PKT_RESULT_SEQ_LO),
            o_res_seq_hi: c16(off::PKT_RESULT_SEQ_HI),
            o_cnt_out_pkts_lo: c16(off::CNT_OUT_PKTS_LO),
            o_cnt_out_pkts_hi: c16(off::CNT_OUT_PKTS_HI),
            o_cnt_out_bytes_lo: c16(off::CNT_OUT_BYTES_LO),
            o_cnt_out_bytes_hi: c16(off::CNT_OUT_BYTES_HI),
            o_cnt_in_pkts_lo: c16(off::CNT_IN_PKTS_LO),
            o_cnt_in_pkts_hi: c16(off::CNT_IN_PKTS_HI),
            o_cnt_in_bytes_lo: c16(off::CNT_IN_BYTES_LO),
            o_cnt_in_bytes_hi: c16(off::CNT_IN_BYTES_HI),
            o_cnt_auth_lo: c16(off::CNT_AUTH_FAIL_LO),
            o_cnt_auth_hi: c16(off::CNT_AUTH_FAIL_HI),
            o_cnt_bad_lo: c16(off::CNT_BAD_DESC_LO),
            o_cnt_bad_hi: c16(off::CNT_BAD_DESC_HI),
            o_in_window: c16(off::PKT_IN_WINDOW),
            o_out_window: c16(off::PKT_OUT_WINDOW),
            s_ctx_salt: c16(e::CTX_SALT.lsb),
            s_ctx_seq: c16(e::CTX_SEQ.lsb),
            s_ctx_flags: c16(e::CTX_FLAGS.lsb),
            s_ctx_valid: c16(e::CTX_VALID.lsb),
        }
    }
}

impl Logic for RegFile {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            bvalid,
            rstate,
            raddr,
            rdata,
            hi_snap,
            scratch,
            err_events,
            sa_index_r,
            sa_spi,
            sa_salt,
            sa_flags_r,
            sa_seq,
            key0,
            key1,
            key2,
            key3,
            key4,
            key5,
            key6,
            key7,
            sa_op_r,
            cmd_pending_r,
            sa_done,
            sa_error,
            pkt_desc_r,
            pkt_len_r,
            pkt_seqhi_r,
            db_pending_r,
            pkt_done,
            res_verdict_r,
            res_nh_r,
            res_len_r,
            res_seq_r,
            res_ok,
            cnt_out_pkts,
            cnt_out_bytes,
            cnt_in_pkts,
            cnt_in_bytes,
            cnt_auth,
            cnt_bad
        );
        self.err_set.next = bits::<5>(0);
        self.err_clr.next = bits::<5>(0);
        self.win_rd.next =
            (bit_cast::<16, AW>(self.raddr.q.val()) >> 4) & (self.k_buf_words.val() - 1);
        // ------------------------------------------------------------ AXI4-Lite write
        self.wr_fire.next =
            self.s_axil_awvalid.val() & self.s_axil_wvalid.val() & !self.bvalid.q.val();
        self.s_axil_awready.next = self.wr_fire.val();
        self.wr_en.next = self.wr_fire.val();
        self.rd_addr.next = self.raddr.q.val();
        self.s_axil_wready.next = self.wr_fire.val();
        self.s_axil_bvalid.next = self.bvalid.q.val();
        self.s_axil_bresp.next = bits::<2>(0);
        if self.bvalid.q.val() & self.s_axil_bready.val() {
            self.bvalid.d.next = false;
        }
        if self.wr_fire.val() {
            self.bvalid.d.next = true;
            if self.s_axil_awaddr.val() == self.o_scratch.val() {
                self.scratch.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_error_events.val() {
                self.err_clr.next = self.s_axil_wdata.val().get_bits::<5>(0);
            }
            if self.s_axil_awaddr.val() == self.o_sa_index.val() {
                self.sa_index_r.d.next = self.s_axil_wdata.val().get_bits::<16>(0);
            }
            if self.s_axil_awaddr.val() == self.o_sa_spi.val() {
                self.sa_spi.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_salt.val() {
                self.sa_salt.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_flags.val() {
                self.sa_flags_r.d.next = self.s_axil_wdata.val().get_bits::<4>(0);
            }
            if self.s_axil_awaddr.val() == self.o_sa_seq_lo.val() {
                self.sa_seq.d.next = (self.sa_seq.q.val() & self.k_hi32.val())
                    | bit_cast::<64, 32>(self.s_axil_wdata.val());
            }
            if self.s_axil_awaddr.val() == self.o_sa_seq_hi.val() {
                self.sa_seq.d.next = (self.sa_seq.q.val() & self.k_lo32.val())
                    | (bit_cast::<64, 32>(self.s_axil_wdata.val()) << 32);
            }
            if self.s_axil_awaddr.val() == self.o_sa_key0.val() {
                self.key0.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key1.val() {
                self.key1.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key2.val() {
                self.key2.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key3.val() {
                self.key3.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key4.val() {
                self.key4.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key5.val() {
                self.key5.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key6.val() {
                self.key6.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key7.val() {
                self.key7.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_cmd.val() {
                if self.cmd_pending_r.q.val() {
                    self.err_set.next = self.err_set.val() | bits::<5>(8);
                } else {
                    self.sa_op_r.d.next = self.s_axil_wdata.val().get_bits::<4>(0);
                    self.cmd_pending_r.d.next = true;
                    self.sa_done.d.next = false;
                    self.sa_error.d.next = false;
                }
            }
            if self.s_axil_awaddr.val() == self.o_pkt_desc.val() {
                self.pkt_desc_r.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_pkt_len.val() {
                self.pkt_len_r.d.next = self.s_axil_wdata.val().get_bits::<16>(0);
            }
            if self.s_axil_awaddr.val() == self.o_pkt_seq_hi.val() {
                self.pkt_seqhi_r.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_pkt_doorbell.val() {
                if self.db_pending_r.q.val() | self.issue.win_active.val() {
                    self.err_set.next = self.err_set.val() | bits::<5>(8);
                } else if self.s_axil_wdata.val().get_bit(0) {
                    self.db_pending_r.d.next = true;
                    self.pkt_done.d.next = false;
                    self.res_ok.d.next = false;
                }
            }
        }

        // ------------------------------------------------------------ AXI4-Lite read
        self.s_axil_arready.next = self.rstate.q.val() == 0;
        self.s_axil_rvalid.next = self.rstate.q.val() == 3;
        self.s_axil_rdata.next = self.rdata.q.val();
        self.s_axil_rresp.next = bits::<2>(0);
        self.pkt_busy.next = self.db_pending_r.q.val() | self.engine_busy.val();
        self.w_status.next = bits::<32>(0);
        if self.cmd_pending_r.q.val() {
            self.w_status.next = self.w_status.val() | 1;
        }
        if self.pkt_busy.val() {
            self.w_status.next = self.w_status.val() | 2;
        }
        self.w_sa_status.next = bit_cast::<32, 4>(self.issue.sa_errcode.val()) << 8;
        if self.cmd_pending_r.q.val() {
            self.w_sa_status.next = self.w_sa_status.val() | 1;
        }
        if self.sa_done.q.val() {
            self.w_sa_status.next = self.w_sa_status.val() | 2;
        }
        if self.sa_error.q.val() {
            self.w_sa_status.next = self.w_sa_status.val() | 4;
        }
        if self.issue.sa_valid.val() {
            self.w_sa_status.next = self.w_sa_status.val() | 8;
        }
        self.w_rb_flags.next = bit_cast::<32, 4>(self.issue.rb_flags.val());
        if self.issue.rb_valid.val() {
            self.w_rb_flags.next = self.w_rb_flags.val() | self.k_bit31.val();
        }
        self.w_pkt_status.next = (bit_cast::<32, 4>(self.res_verdict_r.q.val()) << 8)
            | (bit_cast::<32, 8>(self.res_nh_r.q.val()) << 16);
        if self.db_pending_r.q.val() | self.issue.win_active.val() {
            self.w_pkt_status.next = self.w_pkt_status.val() | 1;
        } else if self.pkt_busy.val() {
            self.w_pkt_status.next = self.w_pkt_status.val() | 4;
        }
        if self.pkt_done.q.val() {
            self.w_pkt_status.next = self.w_pkt_status.val() | 2;
        }
        self.rd_value.next = bits::<32>(0);
        self.rd_snap.next = false;
        self.rd_snap_value.next = bits::<32>(0);
        if self.raddr.q.val() == self.o_id_magic.val() {
            self.rd_value.next = self.k_magic.val();
        }
        if self.raddr.q.val() == self.o_id_version.val() {
            self.rd_value.next = self.k_version.val();
        }
        if self.raddr.q.val() == self.o_id_caps.val() {
            self.rd_value.next = self.k_caps.val();
        }
        if self.raddr.q.val() == self.o_id_num_sas.val() {
            self.rd_value.next = self.k_num_sas.val();
        }
        if self.raddr.q.val() == self.o_id_datapath.val() {
            self.rd_value.next = self.k_datapath.val();
        }
        if self.raddr.q.val() == self.o_id_max_packet.val() {
            self.rd_value.next = bit_cast::<32, 16>(self.k_max_packet.val());
        }
        if self.raddr.q.val() == self.o_scratch.val() {
            self.rd_value.next = self.scratch.q.val();
        }
        if self.raddr.q.val() == self.o_status.val() {
            self.rd_value.next = self.w_status.val();
        }
        if self.raddr.q.val() == self.o_error_events.val() {
            self.rd_value.next = bit_cast::<32, 5>(self.err_events.q.val());
        }
        if self.raddr.q.val() == self.o_sa_index.val() {
            self.rd_value.next = bit_cast::<32, 16>(self.sa_index_r.q.val());
        }
        if self.raddr.q.val() == self.o_sa_spi.val() {
            self.rd_value.next = self.sa_spi.q.val();
        }
        if self.raddr.q.val() == self.o_sa_flags.val() {
            self.rd_value.next = bit_cast::<32, 4>(self.sa_flags_r.q.val());
        }
        if self.raddr.q.val() == self.o_sa_seq_lo.val() {
            self.rd_value.next = self.sa_seq.q.val().get_bits::<32>(0);
        }
        if self.raddr.q.val() == self.o_sa_seq_hi.val() {
            self.rd_value.next = self.sa_seq.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_sa_cmd_status.val() {
            self.rd_value.next = self.w_sa_status.val();
        }
        if self.raddr.q.val() == self.o_rb_spi.val() {
            self.rd_value.next = self.issue.rb_spi.val();
        }
        if self.raddr.q.val() == self.o_rb_flags.val() {
            self.rd_value.next = self.w_rb_flags.val();
        }
        if self.raddr.q.val() == self.o_rb_seq_lo.val() {
            self.rd_value.next = self.issue.rb_seq.val().get_bits::<32>(0);
        }
        if self.raddr.q.val() == self.o_rb_seq_hi.val() {
            self.rd_value.next = self.issue.rb_seq.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_rb_pkts_lo.val() {
            self.rd_value.next = self.issue.rb_pkts.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.issue.rb_pkts.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_rb_bytes_lo.val() {
            self.rd_value.next = self.issue.rb_bytes.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.issue.rb_bytes.val().get_bits::<32>(32);
        }
        if (self.raddr.q.val() == self.o_rb_pkts_hi.val())
            | (self.raddr.q.val() == self.o_rb_bytes_hi.val())
            | (self.raddr.q.val() == self.o_cnt_out_pkts_hi.val())
            | (self.raddr.q.val() == self.o_cnt_out_bytes_hi.val())
            | (self.raddr.q.val() == self.o_cnt_in_pkts_hi.val())
            | (self.raddr.q.val() == self.o_cnt_in_bytes_hi.val())
            | (self.raddr.q.val() == self.o_cnt_auth_hi.val())
            | (self.raddr.q.val() == self.o_cnt_bad_hi.val())
        {
            self.rd_value.next = self.hi_snap.q.val();
        }
        if self.raddr.q.val() == self.o_rb_auth.val() {
            self.rd_value.next = self.issue.rb_auth.val();
        }
        if self.raddr.q.val() == self.o_pkt_desc.val() {
            self.rd_value.next = self.pkt_desc_r.q.val();
        }
        if self.raddr.q.val() == self.o_pkt_len.val() {
            self.rd_value.next = bit_cast::<32, 16>(self.pkt_len_r.q.val());
        }
        if self.raddr.q.val() == self.o_pkt_seq_hi.val() {
            self.rd_value.next = self.pkt_seqhi_r.q.val();
        }
        if self.raddr.q.val() == self.o_pkt_status.val() {
            self.rd_value.next = self.w_pkt_status.val();
        }
        if self.raddr.q.val() == self.o_res_len.val() {
            self.rd_value.next = bit_cast::<32, 16>(self.res_len_r.q.val());
        }
        if self.raddr.q.val() == self.o_res_seq_lo.val() {
            self.rd_value.next = self.res_seq_r.q.val().get_bits::<32>(0);
        }
        if self.raddr.q.val() == self.o_res_seq_hi.val() {
            self.rd_value.next = self.res_seq_r.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_out_pkts_lo.val() {
            self.rd_value.next = self.cnt_out_pkts.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_out_pkts.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_out_bytes_lo.val() {
            self.rd_value.next = self.cnt_out_bytes.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_out_bytes.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_in_pkts_lo.val() {
            self.rd_value.next = self.cnt_in_pkts.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_in_pkts.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_in_bytes_lo.val() {
            self.rd_value.next = self.cnt_in_bytes.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_in_bytes.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_auth_lo.val() {
            self.rd_value.next = self.cnt_auth.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_auth.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_bad_lo.val() {
            self.rd_value.next = self.cnt_bad.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_bad.q.val().get_bits::<32>(32);
        }
        if ((self.raddr.q.val() & self.o_out_window.val()) == self.o_out_window.val())
            & self.res_ok.q.val()
        {
            // Output window: one 32-bit lane of the buffer word read in rstate 1.
            if self.raddr.q.val().get_bits::<2>(2) == 0 {
                self.rd_value.next = self.tail.buf_a.val().get_bits::<32>(0);
            }
            if self.raddr.q.val().get_bits::<2>(2) == 1 {
                self.rd_value.next = self.tail.buf_a.val().get_bits::<32>(32);
            }
            if self.raddr.q.val().get_bits::<2>(2) == 2 {
                self.rd_value.next = self.tail.buf_a.val().get_bits::<32>(64);
            }
            if self.raddr.q.val().get_bits::<2>(2) == 3 {
                self.rd_value.next = self.tail.buf_a.val().get_bits::<32>(96);
            }
        }
        if self.dma_rd_hit.val() {
            self.rd_value.next = self.dma_rd_data.val();
        }
        if self.rstate.q.val() == 0 {
            if self.s_axil_arvalid.val() {
                self.raddr.d.next = self.s_axil_araddr.val();
                self.rstate.d.next = bits::<2>(1);
            }
        } else if self.rstate.q.val() == 1 {
            self.rstate.d.next = bits::<2>(2);
        } else if self.rstate.q.val() == 2 {
            self.rdata.d.next = self.rd_value.val();
            if self.rd_snap.val() {
                self.hi_snap.d.next = self.rd_snap_value.val();
            }
            self.rstate.d.next = bits::<2>(3);
        } else if self.s_axil_rready.val() {
            self.rstate.d.next = bits::<2>(0);
        }

        // ------------------------------------------------------------ engine reports
        // Outputs of the registers the engine reads.
        self.issue.sa_index.next = self.sa_index_r.q.val();
        self.issue.sa_flags.next = self.sa_flags_r.q.val();
        self.issue.sa_op.next = self.sa_op_r.q.val();
        self.issue.cmd_pending.next = self.cmd_pending_r.q.val();
        self.issue.db_pending.next = self.db_pending_r.q.val();
        self.issue.pkt_desc.next = self.pkt_desc_r.q.val();
        self.issue.pkt_len.next = self.pkt_len_r.q.val();
        self.issue.pkt_seqhi.next = self.pkt_seqhi_r.q.val();
        self.win_wr.next = self.wr_fire.val()
            & ((self.s_axil_awaddr.val() & self.o_out_window.val()) == self.o_in_window.val());
        // Staged key, words little-endian; the upper half only for AES-256.
        self.issue.stage_key.next = bit_cast::<KEYW, 32>(self.key0.q.val())
            | (bit_cast::<KEYW, 32>(self.key1.q.val()) << 32)
            | (bit_cast::<KEYW, 32>(self.key2.q.val()) << 64)
            | (bit_cast::<KEYW, 32>(self.key3.q.val()) << 96);
        if self.sa_flags_r.q.val().get_bit(0) {
            self.issue.stage_key.next = self.issue.stage_key.val()
                | (bit_cast::<KEYW, 32>(self.key4.q.val()) << 128)
                | (bit_cast::<KEYW, 32>(self.key5.q.val()) << 160)
                | (bit_cast::<KEYW, 32>(self.key6.q.val()) << 192)
                | (bit_cast::<KEYW, 32>(self.key7.q.val()) << 224);
        }
        // Context word written by install/update (valid set) from the staging registers.
        self.issue.stage_ctx.next = bit_cast::<CTXW, 32>(self.sa_spi.q.val())
            | (bit_cast::<CTXW, 32>(self.sa_salt.q.val()) << self.s_ctx_salt.val())
            | (bit_cast::<CTXW, 64>(self.sa_seq.q.val()) << self.s_ctx_seq.val())
            | (bit_cast::<CTXW, 4>(self.sa_flags_r.q.val()) << self.s_ctx_flags.val())
            | (bits::<CTXW>(1) << self.s_ctx_valid.val());
        if self.issue.cmd_done.val() {
            // Key material leaves the staging registers once used.
            self.key0.d.next = bits::<32>(0);
            self.key1.d.next = bits::<32>(0);
            self.key2.d.next = bits::<32>(0);
            self.key3.d.next = bits::<32>(0);
            self.key4.d.next = bits::<32>(0);
            self.key5.d.next = bits::<32>(0);
            self.key6.d.next = bits::<32>(0);
            self.key7.d.next = bits::<32>(0);
            self.sa_salt.d.next = bits::<32>(0);
            self.cmd_pending_r.d.next = false;
            self.sa_done.d.next = true;
            self.sa_error.d.next = self.issue.sa_errcode.val().any();
            if self.issue.sa_errcode.val().any() {
                self.err_set.next = self.err_set.val() | bits::<5>(4);
            }
        }
        if self.issue.db_take.val() {
            self.db_pending_r.d.next = false;
        }
        if self.tail.done.val() {
            // Global counters and error events of the finished packet.
            if self.tail.verdict.val() == self.v_ok.val() {
                if self.tail.inbound.val() {
                    self.cnt_in_pkts.d.next = self.cnt_in_pkts.q.val() + 1;
                    self.cnt_in_bytes.d.next =
                        self.cnt_in_bytes.q.val() + bit_cast::<64, 16>(self.tail.dl.val());
                } else {
                    self.cnt_out_pkts.d.next = self.cnt_out_pkts.q.val() + 1;
                    self.cnt_out_bytes.d.next =
                        self.cnt_out_bytes.q.val() + bit_cast::<64, 16>(self.tail.dl.val());
                }
            } else if self.tail.verdict.val() == self.v_auth.val() {
                self.cnt_auth.d.next = self.cnt_auth.q.val() + 1;
                self.err_set.next = self.err_set.val() | bits::<5>(2);
            } else if self.tail.verdict.val() == self.v_seq.val() {
                self.err_set.next = self.err_set.val() | bits::<5>(16);
            } else if self.tail.verdict.val() != self.v_trailer.val() {
                self.cnt_bad.d.next = self.cnt_bad.q.val() + 1;
                self.err_set.next = self.err_set.val() | bits::<5>(1);
            }
            if !self.tail.stream.val() {
                self.pkt_done.d.next = true;
                self.res_verdict_r.d.next = self.tail.verdict.val();
                self.res_nh_r.d.next = self.tail.nh.val();
                self.res_seq_r.d.next = self.tail.seq.val();
                self.res_len_r.d.next = self.tail.rlen.val();
                self.res_ok.d.next = self.tail.verdict.val() == self.v_ok.val();
            }
        }
        // Sticky events.
        self.err_events.d.next =
            (self.err_events.q.val() & !self.err_clr.val()) | self.err_set.val();
        if self.reset.val() {
            self.bvalid.d.next = false;
            self.rstate.d.next = bits::<2>(0);
            self.cmd_pending_r.d.next = false;
            self.db_pending_r.d.next = false;
            self.pkt_done.d.next = false;
            self.sa_done.d.next = false;
            self.sa_error.d.next = false;
            self.res_ok.d.next = false;
            self.err_events.d.next = bits::<5>(0);
            self.scratch.d.next = bits::<32>(0);
            self.cnt_out_pkts.d.next = bits::<64>(0);
            self.cnt_out_bytes.d.next = bits::<64>(0);
            self.cnt_in_pkts.d.next = bits::<64>(0);
            self.cnt_in_bytes.d.next = bits::<64>(0);
            self.cnt_auth.d.next = bits::<64>(0);
            self.cnt_bad.d.next = bits::<64>(0);
        }
    }
}
