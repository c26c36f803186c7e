//! `module top`: AXI4-Lite register file, SA table, packet buffers, the ESP packet
//! engine (outbound framing and AES-GCM/GMAC, inbound ICV check, decryption and trailer
//! strip), stream ports and counters. Offsets, widths and codes come from `regmap`.
//!
//! Structure: one engine state machine serves SA commands and packets, one at a time.
//! A packet (from the input window after the doorbell, or received whole from
//! `s_axis`) is read from the input buffer, encrypted or decrypted through the
//! pipelined AES unit one block per clock while GHASH absorbs the blocks, and written
//! to the output buffer; a stream packet's result is then sent on `m_axis`.

use rust_hdl::prelude::*;

use crate::crypto::{AesUnit, GhashUnit};
use crate::util::{Bswap128, Bswap32, Bswap64, ByteMask, KeepCount, KeepMask};
use regmap::regs::off;

/// AXI4-Lite address width.
pub const AW: usize = regmap::ADDR_WIDTH as usize;
/// SA index bits decoded.
pub const SW: usize = regmap::SA_INDEX_BITS as usize;
/// Packet-buffer word index bits.
pub const BW: usize = regmap::PKT_BUFFER_INDEX_BITS as usize;
/// `s_axis_tuser` width.
pub const SUW: usize = regmap::sideband::S_TUSER_BITS as usize;
/// `m_axis_tuser` width.
pub const MUW: usize = regmap::sideband::M_TUSER_BITS as usize;
/// SA context RAM word width.
pub const CTXW: usize = regmap::sa_entry::CTX_BITS as usize;
/// SA counter RAM word width.
pub const CNTW: usize = regmap::sa_entry::CNT_BITS as usize;
/// SA key RAM word width.
pub const KEYW: usize = regmap::sa_entry::KEY_BITS as usize;

/// Engine states.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Phase {
    /// Waiting for a command, a doorbell or a stream packet.
    Idle,
    /// SA RAM read of the packet's entry.
    PktLoad,
    /// Descriptor and SA checks; key load.
    PktCheck,
    /// Key expansion; header word; J0 and AAD.
    PktKey,
    /// Blocks through AES and GHASH.
    PktRun,
    /// Length block into GHASH.
    PktLen,
    /// Tag = GHASH ^ E(J0).
    PktTag,
    /// Inbound: read the first ICV word.
    PktIcv0,
    /// Inbound: read the second ICV word.
    PktIcv1,
    /// Inbound: compare.
    PktIcv2,
    /// Outbound: write the ICV (first word).
    PktTagOut1,
    /// Outbound: write the ICV (second word).
    PktTagOut2,
    /// Counters, SA write-back, result.
    PktFinish,
    /// Stream result: prime the output-buffer read.
    TxPrime,
    /// Stream result: beats out.
    Tx,
    /// SA RAM read of the command's entry.
    CmdLoad,
    /// Command checks and simple commands.
    CmdCheck,
    /// Install: key expansion.
    CmdKey,
    /// Install: H = E_K(0).
    CmdHash,
    /// Command finished.
    CmdDone,
}

fn c16(v: u32) -> Constant<Bits<16>> {
    Constant::new((v as u64).to_bits())
}

fn c4(v: u32) -> Constant<Bits<4>> {
    Constant::new((v as u64).to_bits())
}

/// Mask of `width` bits from `lsb` in an `N`-bit word.
fn field_mask<const N: usize>(lsb: u32, width: u32) -> Bits<N> {
    let ones: Bits<N> = (0..width).fold(Bits::<N>::default(), |m, i| {
        m | (bits::<N>(1) << (lsb + i) as u64)
    });
    ones
}

fn c32(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).to_bits())
}

/// The ESP engine top level. Port names are the cross-crate contract.
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

    // ---- memories
    in_b0: RAM<Bits<32>, BW>,
    in_b1: RAM<Bits<32>, BW>,
    in_b2: RAM<Bits<32>, BW>,
    in_b3: RAM<Bits<32>, BW>,
    out_buf: RAM<Bits<128>, BW>,
    sa_key: RAM<Bits<KEYW>, SW>,
    sa_hkey: RAM<Bits<128>, SW>,
    sa_ctx: RAM<Bits<CTXW>, SW>,
    sa_cnt: RAM<Bits<CNTW>, SW>,

    // ---- crypto
    aes: AesUnit,
    ghash: GhashUnit,

    // ---- helpers
    bs_din_spi: Bswap32,
    bs_din_slo: Bswap32,
    bs_spi: Bswap32,
    bs_slo: Bswap32,
    bs_shi: Bswap32,
    bs_ctr: Bswap32,
    bs_seq64: Bswap64,
    bs_la: Bswap64,
    bs_lc: Bswap64,
    bs_nonce: Bswap128,
    bs_ks: Bswap128,
    bs_gh: Bswap128,
    bs_tag: Bswap128,
    bs_k0: Bswap128,
    bs_k1: Bswap128,
    m_valid: ByteMask,
    m_in: ByteMask,
    keep_cnt: KeepCount,
    tx_keep: KeepMask,

    // ---- AXI4-Lite
    bvalid: DFF<bool>,
    rstate: DFF<Bits<2>>,
    raddr: DFF<Bits<AW>>,
    rdata: DFF<Bits<32>>,
    hi_snap: DFF<Bits<32>>,

    // ---- registers
    scratch: DFF<Bits<32>>,
    err_events: DFF<Bits<5>>,
    sa_index: DFF<Bits<16>>,
    sa_spi: DFF<Bits<32>>,
    sa_salt: DFF<Bits<32>>,
    sa_flags: DFF<Bits<4>>,
    sa_seq: DFF<Bits<64>>,
    key0: DFF<Bits<32>>,
    key1: DFF<Bits<32>>,
    key2: DFF<Bits<32>>,
    key3: DFF<Bits<32>>,
    key4: DFF<Bits<32>>,
    key5: DFF<Bits<32>>,
    key6: DFF<Bits<32>>,
    key7: DFF<Bits<32>>,
    sa_op: DFF<Bits<4>>,
    cmd_pending: DFF<bool>,
    sa_done: DFF<bool>,
    sa_error: DFF<bool>,
    sa_valid: DFF<bool>,
    sa_errcode: DFF<Bits<4>>,
    rb_spi: DFF<Bits<32>>,
    rb_flags: DFF<Bits<4>>,
    rb_valid: DFF<bool>,
    rb_seq: DFF<Bits<64>>,
    rb_pkts: DFF<Bits<64>>,
    rb_bytes: DFF<Bits<64>>,
    rb_auth: DFF<Bits<32>>,
    pkt_desc: DFF<Bits<32>>,
    pkt_len: DFF<Bits<16>>,
    pkt_seqhi: DFF<Bits<32>>,
    db_pending: DFF<bool>,
    win_active: DFF<bool>,
    pkt_done: DFF<bool>,
    res_verdict: DFF<Bits<4>>,
    res_nh: DFF<Bits<8>>,
    res_len: DFF<Bits<16>>,
    res_seq: DFF<Bits<64>>,
    res_ok: DFF<bool>,
    cnt_out_pkts: DFF<Bits<64>>,
    cnt_out_bytes: DFF<Bits<64>>,
    cnt_in_pkts: DFF<Bits<64>>,
    cnt_in_bytes: DFF<Bits<64>>,
    cnt_auth: DFF<Bits<64>>,
    cnt_bad: DFF<Bits<64>>,

    // ---- engine
    phase: DFF<Phase>,
    cur_idx: DFF<Bits<SW>>,
    src_stream: DFF<bool>,
    d_index: DFF<Bits<16>>,
    d_inbound: DFF<bool>,
    d_nh: DFF<Bits<8>>,
    d_seqhi: DFF<Bits<32>>,
    d_len: DFF<Bits<16>>,
    c_spi: DFF<Bits<32>>,
    c_salt: DFF<Bits<32>>,
    c_flags: DFF<Bits<4>>,
    c_cnt: DFF<Bits<CNTW>>,
    seq_cur: DFF<Bits<64>>,
    iv_pkt: DFF<Bits<64>>,
    hkey: DFF<Bits<128>>,
    dlen: DFF<Bits<16>>,
    nblk: DFF<Bits<16>>,
    tp: DFF<Bits<64>>,
    iss: DFF<Bits<16>>,
    cons: DFF<Bits<16>>,
    got_j0: DFF<bool>,
    ej0: DFF<Bits<128>>,
    last_ct: DFF<Bits<128>>,
    tag: DFF<Bits<128>>,
    icv_lo: DFF<Bits<128>>,
    padlen: DFF<Bits<8>>,
    rx_nh: DFF<Bits<8>>,
    verdict: DFF<Bits<4>>,
    rlen: DFF<Bits<16>>,
    rx_words: DFF<Bits<16>>,
    rx_bytes: DFF<Bits<16>>,
    tx_w: DFF<Bits<16>>,
    kx_valid: DFF<bool>,
    kx_idx: DFF<Bits<SW>>,
    rx_busy: DFF<bool>,
    rx_full: DFF<bool>,
    rx_index: DFF<Bits<16>>,
    rx_inbound: DFF<bool>,
    rx_nhd: DFF<Bits<8>>,
    rx_seqhi: DFF<Bits<32>>,
    rx_len: DFF<Bits<16>>,
    rx_allowed: Signal<Local, bool>,
    rx_fire: Signal<Local, bool>,
    rx_addr: Signal<Local, Bits<16>>,
    rx_base: Signal<Local, Bits<16>>,
    in_win_wr: Signal<Local, bool>,

    // ---- combinational
    din: Signal<Local, Bits<128>>,
    in_rd: Signal<Local, Bits<16>>,
    out_rd: Signal<Local, Bits<16>>,
    consume: Signal<Local, bool>,
    k16: Signal<Local, Bits<16>>,
    trail: Signal<Local, Bits<128>>,
    pt: Signal<Local, Bits<128>>,
    ct: Signal<Local, Bits<128>>,
    ks: Signal<Local, Bits<128>>,
    iv_le: Signal<Local, Bits<64>>,
    nonce_le: Signal<Local, Bits<128>>,
    aad_le: Signal<Local, Bits<128>>,
    key_le: Signal<Local, Bits<KEYW>>,
    ctx_rd: Signal<Local, Bits<CTXW>>,
    ctx_valid: Signal<Local, bool>,
    ctx_flags: Signal<Local, Bits<4>>,
    ctx_seq: Signal<Local, Bits<64>>,
    ctx_new: Signal<Local, Bits<CTXW>>,
    err_set: Signal<Local, Bits<5>>,
    err_clr: Signal<Local, Bits<5>>,
    wr_fire: Signal<Local, bool>,
    rd_value: Signal<Local, Bits<32>>,
    rd_snap: Signal<Local, bool>,
    rd_snap_value: Signal<Local, Bits<32>>,
    pkt_busy: Signal<Local, bool>,
    icv_shift: Signal<Local, Bits<16>>,
    icv: Signal<Local, Bits<128>>,
    pad_p: Signal<Local, Bits<16>>,
    pad_len_calc: Signal<Local, Bits<16>>,

    ctx_sh_valid: Signal<Local, Bits<CTXW>>,
    ctx_sh_flags: Signal<Local, Bits<CTXW>>,
    ctx_sh_seq: Signal<Local, Bits<CTXW>>,
    ctx_sh_salt: Signal<Local, Bits<CTXW>>,
    cnt_sh_bytes: Signal<Local, Bits<CNTW>>,
    cnt_sh_auth: Signal<Local, Bits<CNTW>>,
    rdc_sh_bytes: Signal<Local, Bits<CNTW>>,
    rdc_sh_auth: Signal<Local, Bits<CNTW>>,
    pt_sh_pad: Signal<Local, Bits<128>>,
    pt_sh_nh: Signal<Local, Bits<128>>,
    w_status: Signal<Local, Bits<32>>,
    w_sa_status: Signal<Local, Bits<32>>,
    w_rb_flags: Signal<Local, Bits<32>>,
    w_pkt_status: Signal<Local, Bits<32>>,

    // ---- constants from regmap
    k_hi32: Constant<Bits<64>>,
    k_seq32_max: Constant<Bits<64>>,
    k_lo32: Constant<Bits<64>>,
    k_cnt_auth_mask: Constant<Bits<CNTW>>,
    k_ctx_salt_mask: Constant<Bits<CTXW>>,
    k_buf_words: Constant<Bits<16>>,
    k_bit31: Constant<Bits<32>>,
    v_ok: Constant<Bits<4>>,
    v_auth: Constant<Bits<4>>,
    v_bad_sa: Constant<Bits<4>>,
    v_dir: Constant<Bits<4>>,
    v_len: Constant<Bits<4>>,
    v_trailer: Constant<Bits<4>>,
    v_seq: Constant<Bits<4>>,
    v_spi: Constant<Bits<4>>,
    e_bad_index: Constant<Bits<4>>,
    e_bad_opcode: Constant<Bits<4>>,
    e_unsupported: Constant<Bits<4>>,
    e_not_valid: Constant<Bits<4>>,
    k_magic: Constant<Bits<32>>,
    k_version: Constant<Bits<32>>,
    k_caps: Constant<Bits<32>>,
    k_num_sas: Constant<Bits<32>>,
    k_datapath: Constant<Bits<32>>,
    k_max_packet: Constant<Bits<16>>,
    k_min_inbound: Constant<Bits<16>>,
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
    s_cnt_bytes: Constant<Bits<16>>,
    s_cnt_auth: Constant<Bits<16>>,
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
            in_b0: Default::default(),
            in_b1: Default::default(),
            in_b2: Default::default(),
            in_b3: Default::default(),
            out_buf: Default::default(),
            sa_key: Default::default(),
            sa_hkey: Default::default(),
            sa_ctx: Default::default(),
            sa_cnt: Default::default(),
            aes: Default::default(),
            ghash: Default::default(),
            bs_din_spi: Default::default(),
            bs_din_slo: Default::default(),
            bs_spi: Default::default(),
            bs_slo: Default::default(),
            bs_shi: Default::default(),
            bs_ctr: Default::default(),
            bs_seq64: Default::default(),
            bs_la: Default::default(),
            bs_lc: Default::default(),
            bs_nonce: Default::default(),
            bs_ks: Default::default(),
            bs_gh: Default::default(),
            bs_tag: Default::default(),
            bs_k0: Default::default(),
            bs_k1: Default::default(),
            m_valid: Default::default(),
            m_in: Default::default(),
            keep_cnt: Default::default(),
            tx_keep: Default::default(),
            bvalid: Default::default(),
            rstate: Default::default(),
            raddr: Default::default(),
            rdata: Default::default(),
            hi_snap: Default::default(),
            scratch: Default::default(),
            err_events: Default::default(),
            sa_index: Default::default(),
            sa_spi: Default::default(),
            sa_salt: Default::default(),
            sa_flags: Default::default(),
            sa_seq: Default::default(),
            key0: Default::default(),
            key1: Default::default(),
            key2: Default::default(),
            key3: Default::default(),
            key4: Default::default(),
            key5: Default::default(),
            key6: Default::default(),
            key7: Default::default(),
            sa_op: Default::default(),
            cmd_pending: Default::default(),
            sa_done: Default::default(),
            sa_error: Default::default(),
            sa_valid: Default::default(),
            sa_errcode: Default::default(),
            rb_spi: Default::default(),
            rb_flags: Default::default(),
            rb_valid: Default::default(),
            rb_seq: Default::default(),
            rb_pkts: Default::default(),
            rb_bytes: Default::default(),
            rb_auth: Default::default(),
            pkt_desc: Default::default(),
            pkt_len: Default::default(),
            pkt_seqhi: Default::default(),
            db_pending: Default::default(),
            win_active: Default::default(),
            pkt_done: Default::default(),
            res_verdict: Default::default(),
            res_nh: Default::default(),
            res_len: Default::default(),
            res_seq: Default::default(),
            res_ok: Default::default(),
            cnt_out_pkts: Default::default(),
            cnt_out_bytes: Default::default(),
            cnt_in_pkts: Default::default(),
            cnt_in_bytes: Default::default(),
            cnt_auth: Default::default(),
            cnt_bad: Default::default(),
            phase: Default::default(),
            cur_idx: Default::default(),
            src_stream: Default::default(),
            d_index: Default::default(),
            d_inbound: Default::default(),
            d_nh: Default::default(),
            d_seqhi: Default::default(),
            d_len: Default::default(),
            c_spi: Default::default(),
            c_salt: Default::default(),
            c_flags: Default::default(),
            c_cnt: Default::default(),
            seq_cur: Default::default(),
            iv_pkt: Default::default(),
            hkey: Default::default(),
            dlen: Default::default(),
            nblk: Default::default(),
            tp: Default::default(),
            iss: Default::default(),
            cons: Default::default(),
            got_j0: Default::default(),
            ej0: Default::default(),
            last_ct: Default::default(),
            tag: Default::default(),
            icv_lo: Default::default(),
            padlen: Default::default(),
            rx_nh: Default::default(),
            verdict: Default::default(),
            rlen: Default::default(),
            rx_words: Default::default(),
            rx_bytes: Default::default(),
            tx_w: Default::default(),
            kx_valid: Default::default(),
            kx_idx: Default::default(),
            rx_busy: Default::default(),
            rx_full: Default::default(),
            rx_index: Default::default(),
            rx_inbound: Default::default(),
            rx_nhd: Default::default(),
            rx_seqhi: Default::default(),
            rx_len: Default::default(),
            rx_allowed: Default::default(),
            rx_fire: Default::default(),
            rx_addr: Default::default(),
            rx_base: Default::default(),
            in_win_wr: Default::default(),
            din: Default::default(),
            in_rd: Default::default(),
            out_rd: Default::default(),
            consume: Default::default(),
            k16: Default::default(),
            trail: Default::default(),
            pt: Default::default(),
            ct: Default::default(),
            ks: Default::default(),
            iv_le: Default::default(),
            nonce_le: Default::default(),
            aad_le: Default::default(),
            key_le: Default::default(),
            ctx_rd: Default::default(),
            ctx_valid: Default::default(),
            ctx_flags: Default::default(),
            ctx_seq: Default::default(),
            ctx_new: Default::default(),
            err_set: Default::default(),
            err_clr: Default::default(),
            wr_fire: Default::default(),
            rd_value: Default::default(),
            rd_snap: Default::default(),
            rd_snap_value: Default::default(),
            pkt_busy: Default::default(),
            icv_shift: Default::default(),
            icv: Default::default(),
            pad_p: Default::default(),
            pad_len_calc: Default::default(),
            ctx_sh_valid: Default::default(),
            ctx_sh_flags: Default::default(),
            ctx_sh_seq: Default::default(),
            ctx_sh_salt: Default::default(),
            cnt_sh_bytes: Default::default(),
            cnt_sh_auth: Default::default(),
            rdc_sh_bytes: Default::default(),
            rdc_sh_auth: Default::default(),
            pt_sh_pad: Default::default(),
            pt_sh_nh: Default::default(),
            w_status: Default::default(),
            w_sa_status: Default::default(),
            w_rb_flags: Default::default(),
            w_pkt_status: Default::default(),
            k_seq32_max: Constant::new(0xffff_ffffu64.to_bits()),
            k_hi32: Constant::new(0xffff_ffff_0000_0000u64.to_bits()),
            k_lo32: Constant::new(0xffff_ffffu64.to_bits()),
            k_cnt_auth_mask: Constant::new(field_mask::<CNTW>(
                e::CNT_AUTH_FAIL.lsb,
                e::CNT_AUTH_FAIL.width,
            )),
            k_ctx_salt_mask: Constant::new(field_mask::<CTXW>(e::CTX_SALT.lsb, e::CTX_SALT.width)),
            k_buf_words: c16(regmap::PKT_BUFFER_WORDS),
            k_bit31: c32(1 << 31),
            v_ok: c4(regmap::Verdict::Ok.code()),
            v_auth: c4(regmap::Verdict::AuthFailed.code()),
            v_bad_sa: c4(regmap::Verdict::BadSa.code()),
            v_dir: c4(regmap::Verdict::DirectionMismatch.code()),
            v_len: c4(regmap::Verdict::BadLength.code()),
            v_trailer: c4(regmap::Verdict::BadTrailer.code()),
            v_seq: c4(regmap::Verdict::SeqExhausted.code()),
            v_spi: c4(regmap::Verdict::BadSpi.code()),
            e_bad_index: c4(regmap::SaCmdError::BadIndex as u32),
            e_bad_opcode: c4(regmap::SaCmdError::BadOpcode as u32),
            e_unsupported: c4(regmap::SaCmdError::Unsupported as u32),
            e_not_valid: c4(regmap::SaCmdError::NotValid as u32),
            k_magic: c32(regmap::MAGIC),
            k_version: c32(regmap::LAYOUT_VERSION),
            k_caps: c32(regmap::CAPABILITIES.bits()),
            k_num_sas: c32(regmap::NUM_SAS),
            k_datapath: c32(regmap::DATAPATH_VALUE),
            k_max_packet: c16(regmap::MAX_PACKET_BYTES),
            k_min_inbound: c16(regmap::MIN_INBOUND_BYTES),
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
            s_cnt_bytes: c16(e::CNT_BYTES.lsb),
            s_cnt_auth: c16(e::CNT_AUTH_FAIL.lsb),
        }
    }
}

include!("top_logic.rs");
