//! Issue side: the SA table, SA commands, the descriptor and SA checks, and the AES
//! unit with everything that goes into it.
//!
//! `phase` runs one thing at a time. Packets: the SA entry and the packet's header word
//! are read as the packet is taken (`take`, from `Idle` or straight after the previous
//! packet's length slot), checked in `PktCheck` (index, valid, direction, length, SPI
//! inbound, sequence exhaustion outbound; outbound takes its sequence number and writes
//! the counter back there), which also issues E(J0). `PktRun` then issues one counter
//! block per clock, each carrying its input word through the AES pipeline in the
//! 130-bit tag (kind 2), and a length slot (kind 3) with the word after the last block
//! (the inbound ICV's second word). Every block names its SA (`AesUnit::in_sa`), whose
//! round keys the AES unit holds, so packets of any SAs follow each other with no
//! drain and no key expansion. GMAC with ESN hashes a 20-byte header before the
//! payload, so its GHASH blocks straddle the data blocks; when the packet's data ends
//! on a block boundary the last 4 bytes need one more GHASH block: a GHASH-only slot
//! (tag bit 130) is issued before the length slot. A refused packet still takes the
//! E(J0) and length slots, so results stay in order. SA commands (`Cmd*`) run when the
//! packet path is empty: install (expand the key into the SA's round-key entries,
//! H = E_K(0), context word, counters zeroed), remove (round keys, H and context
//! wiped), update and read back.
//!
//! The packet's context for the output side is `f_word` (pushed the cycle after the
//! check): `[0]` inbound, `[4:1]` flags, `[20:5]` data length, `[36:21]` packet
//! length, `[100:37]` trailer pattern, `[228:101]` H, `[292:229]` sequence number,
//! `[308:293]` SA index, `[312:309]` verdict, `[314:313]` result slot, `[315]` from
//! the stream, `[323:316]` next header, `[451:324]` AAD block, `[579:452]` outbound
//! ESP header word.
//!
//! The SA table here is the AES unit's 15 round-key RAMs, `sa_hkey` (H) and `sa_ctx`
//! (the context word of `regmap::sa_entry`), `NUM_SAS` entries each; `sa_cnt` is the
//! output side's (the tail updates it per packet). The raw key is not kept: round
//! keys 0 (and 1 for AES-256) are the key itself.

use super::links::{IssueReg, IssueRx, IssueTail};
use rust_hdl::prelude::*;

use super::{c16, field_mask, max_packet, sa_cmd_error, verdict, CNTW, CTXW, FQW, KEYW, SW};
use crate::crypto::{AesUnit, AES_TAG_BITS};
use crate::util::{Bswap128, Bswap32, Bswap64};

/// States of the issue side of the engine (the output side and the tail follow the
/// blocks leaving the AES pipeline and have no states of their own).
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Phase {
    /// Waiting for a command, a doorbell or a stream packet; SA RAMs and the header
    /// word are read for the packet taken.
    Idle,
    /// Descriptor and SA checks; the packet's context.
    PktCheck,
    /// E(J0), one counter block per clock, then the length slot.
    PktRun,
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

/// The issue side (see the module docs).
#[derive(LogicBlock)]
pub struct Issue {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset.
    pub reset: Signal<In, bool>,
    /// The link with `RegFile`.
    pub regs: IssueReg,
    /// The link with `Rx`.
    pub rx: IssueRx,
    /// The link with `Tail`.
    pub tail: IssueTail,
    /// `TailReg::done` of a window packet: it is finished.
    pub win_done: Signal<In, bool>,
    /// `Tx::freed`: result slots sent, free again.
    pub out_free: Signal<In, Bits<4>>,
    /// A packet is being issued, in the AES pipeline or holds a result slot.
    pub busy: Signal<Out, bool>,

    aes: AesUnit<SW>,
    sa_hkey: RAM<Bits<128>, SW>,
    sa_ctx: RAM<Bits<CTXW>, SW>,
    bs_din_spi: Bswap32,
    bs_din_slo: Bswap32,
    bs_spi: Bswap32,
    bs_slo: Bswap32,
    bs_shi: Bswap32,
    bs_ctr: Bswap32,
    bs_seq64: Bswap64,
    bs_nonce: Bswap128,
    bs_k0: Bswap128,
    bs_k1: Bswap128,
    phase: DFF<Phase>,
    cur_idx_r: DFF<Bits<SW>>,
    src_stream: DFF<bool>,
    d_index: DFF<Bits<16>>,
    d_inbound: DFF<bool>,
    d_nh: DFF<Bits<8>>,
    d_seqhi: DFF<Bits<32>>,
    d_len: DFF<Bits<16>>,
    c_spi: DFF<Bits<32>>,
    c_salt: DFF<Bits<32>>,
    c_flags: DFF<Bits<4>>,
    seq_cur: DFF<Bits<64>>,
    iv_pkt: DFF<Bits<64>>,
    hkey: DFF<Bits<128>>,
    dlen: DFF<Bits<16>>,
    nblk: DFF<Bits<16>>,
    tp: DFF<Bits<64>>,
    iss: DFF<Bits<16>>,
    verdict: DFF<Bits<4>>,
    i_slot: DFF<bool>,
    i_oslot: DFF<Bits<2>>,
    f_push_r: DFF<bool>,
    inflight: DFF<Bits<6>>,
    o_slot: DFF<Bits<2>>,
    out_busy: DFF<Bits<4>>,
    len_gap: DFF<Bits<2>>,
    xtra: DFF<bool>,
    flushed: DFF<bool>,
    win_active_r: DFF<bool>,
    sa_valid_r: DFF<bool>,
    sa_errcode_r: DFF<Bits<4>>,
    rb_spi_r: DFF<Bits<32>>,
    rb_flags_r: DFF<Bits<4>>,
    rb_valid_r: DFF<bool>,
    rb_seq_r: DFF<Bits<64>>,
    rb_pkts_r: DFF<Bits<64>>,
    rb_bytes_r: DFF<Bits<64>>,
    rb_auth_r: DFF<Bits<32>>,
    rx_desc_sel: Signal<Local, Bits<80>>,
    i_base: Signal<Local, Bits<16>>,
    dl_out: Signal<Local, Bits<16>>,
    pad_p: Signal<Local, Bits<16>>,
    hdr_word: Signal<Local, Bits<128>>,
    i_full: Signal<Local, bool>,
    i_slot_mask: Signal<Local, Bits<2>>,
    c_slot_mask: Signal<Local, Bits<2>>,
    at_len: Signal<Local, bool>,
    n_slot: Signal<Local, bool>,
    cmd_go: Signal<Local, bool>,
    take: Signal<Local, bool>,
    n_salt: Signal<Local, Bits<32>>,
    f_room: Signal<Local, bool>,
    f_empty: Signal<Local, bool>,
    o_mask: Signal<Local, Bits<4>>,
    iv_le: Signal<Local, Bits<64>>,
    nonce_le: Signal<Local, Bits<128>>,
    aad_le: Signal<Local, Bits<128>>,
    ctx_rd: Signal<Local, Bits<CTXW>>,
    ctx_valid: Signal<Local, bool>,
    ctx_flags: Signal<Local, Bits<4>>,
    ctx_seq: Signal<Local, Bits<64>>,
    ctx_sh_valid: Signal<Local, Bits<CTXW>>,
    ctx_sh_flags: Signal<Local, Bits<CTXW>>,
    ctx_sh_seq: Signal<Local, Bits<CTXW>>,
    ctx_sh_salt: Signal<Local, Bits<CTXW>>,
    rdc_sh_bytes: Signal<Local, Bits<CNTW>>,
    rdc_sh_auth: Signal<Local, Bits<CNTW>>,
    k_seq32_max: Constant<Bits<64>>,
    k_ctx_keep_mask: Constant<Bits<CTXW>>,
    k_ctx_seq_mask: Constant<Bits<CTXW>>,
    v_ok: Constant<Bits<4>>,
    v_bad_sa: Constant<Bits<4>>,
    v_dir: Constant<Bits<4>>,
    v_len: Constant<Bits<4>>,
    v_seq: Constant<Bits<4>>,
    v_spi: Constant<Bits<4>>,
    e_bad_index: Constant<Bits<4>>,
    e_bad_opcode: Constant<Bits<4>>,
    e_not_valid: Constant<Bits<4>>,
    k_max_packet: Constant<Bits<16>>,
    k_min_inbound: Constant<Bits<16>>,
    s_ctx_salt: Constant<Bits<16>>,
    s_ctx_seq: Constant<Bits<16>>,
    s_ctx_flags: Constant<Bits<16>>,
    s_ctx_valid: Constant<Bits<16>>,
    s_cnt_bytes: Constant<Bits<16>>,
    s_cnt_auth: Constant<Bits<16>>,
}

impl Default for Issue {
    fn default() -> Self {
        Self::new()
    }
}

impl Issue {
    /// The issue side with every code and field position taken from `regmap`.
    #[must_use]
    pub fn new() -> Self {
        use regmap::sa_entry as e;
        Self {
            clock: Default::default(),
            reset: Default::default(),
            regs: Default::default(),
            rx: Default::default(),
            tail: Default::default(),
            win_done: Default::default(),
            out_free: Default::default(),
            busy: Default::default(),
            aes: Default::default(),
            sa_hkey: Default::default(),
            sa_ctx: Default::default(),
            bs_din_spi: Default::default(),
            bs_din_slo: Default::default(),
            bs_spi: Default::default(),
            bs_slo: Default::default(),
            bs_shi: Default::default(),
            bs_ctr: Default::default(),
            bs_seq64: Default::default(),
            bs_nonce: Default::default(),
            bs_k0: Default::default(),
            bs_k1: Default::default(),
            phase: Default::default(),
            cur_idx_r: Default::default(),
            src_stream: Default::default(),
            d_index: Default::default(),
            d_inbound: Default::default(),
            d_nh: Default::default(),
            d_seqhi: Default::default(),
            d_len: Default::default(),
            c_spi: Default::default(),
            c_salt: Default::default(),
            c_flags: Default::default(),
            seq_cur: Default::default(),
            iv_pkt: Default::default(),
            hkey: Default::default(),
            dlen: Default::default(),
            nblk: Default::default(),
            tp: Default::default(),
            iss: Default::default(),
            verdict: Default::default(),
            i_slot: Default::default(),
            i_oslot: Default::default(),
            f_push_r: Default::default(),
            inflight: Default::default(),
            o_slot: Default::default(),
            out_busy: Default::default(),
            len_gap: Default::default(),
            xtra: Default::default(),
            flushed: Default::default(),
            win_active_r: Default::default(),
            sa_valid_r: Default::default(),
            sa_errcode_r: Default::default(),
            rb_spi_r: Default::default(),
            rb_flags_r: Default::default(),
            rb_valid_r: Default::default(),
            rb_seq_r: Default::default(),
            rb_pkts_r: Default::default(),
            rb_bytes_r: Default::default(),
            rb_auth_r: Default::default(),
            rx_desc_sel: Default::default(),
            i_base: Default::default(),
            dl_out: Default::default(),
            pad_p: Default::default(),
            hdr_word: Default::default(),
            i_full: Default::default(),
            i_slot_mask: Default::default(),
            c_slot_mask: Default::default(),
            at_len: Default::default(),
            n_slot: Default::default(),
            cmd_go: Default::default(),
            take: Default::default(),
            n_salt: Default::default(),
            f_room: Default::default(),
            f_empty: Default::default(),
            o_mask: Default::default(),
            iv_le: Default::default(),
            nonce_le: Default::default(),
            aad_le: Default::default(),
            ctx_rd: Default::default(),
            ctx_valid: Default::default(),
            ctx_flags: Default::default(),
            ctx_seq: Default::default(),
            ctx_sh_valid: Default::default(),
            ctx_sh_flags: Default::default(),
            ctx_sh_seq: Default::default(),
            ctx_sh_salt: Default::default(),
            rdc_sh_bytes: Default::default(),
            rdc_sh_auth: Default::default(),
            k_seq32_max: Constant::new(0xffff_ffffu64.to_bits()),
            // Update keeps the salt and the key size (the round keys stored are the
            // installed key's).
            k_ctx_keep_mask: Constant::new(
                field_mask::<CTXW>(e::CTX_SALT.lsb, e::CTX_SALT.width)
                    | field_mask::<CTXW>(
                        e::CTX_FLAGS.lsb + regmap::SaFlags::AES256.bits().trailing_zeros(),
                        1,
                    ),
            ),
            k_ctx_seq_mask: Constant::new(field_mask::<CTXW>(e::CTX_SEQ.lsb, e::CTX_SEQ.width)),
            v_ok: verdict(regmap::Verdict::Ok),
            v_bad_sa: verdict(regmap::Verdict::BadSa),
            v_dir: verdict(regmap::Verdict::DirectionMismatch),
            v_len: verdict(regmap::Verdict::BadLength),
            v_seq: verdict(regmap::Verdict::SeqExhausted),
            v_spi: verdict(regmap::Verdict::BadSpi),
            e_bad_index: sa_cmd_error(regmap::SaCmdError::BadIndex),
            e_bad_opcode: sa_cmd_error(regmap::SaCmdError::BadOpcode),
            e_not_valid: sa_cmd_error(regmap::SaCmdError::NotValid),
            k_max_packet: max_packet(),
            k_min_inbound: c16(regmap::MIN_INBOUND_BYTES),
            s_ctx_salt: c16(e::CTX_SALT.lsb),
            s_ctx_seq: c16(e::CTX_SEQ.lsb),
            s_ctx_flags: c16(e::CTX_FLAGS.lsb),
            s_ctx_valid: c16(e::CTX_VALID.lsb),
            s_cnt_bytes: c16(e::CNT_BYTES.lsb),
            s_cnt_auth: c16(e::CNT_AUTH_FAIL.lsb),
        }
    }
}

impl Logic for Issue {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            phase,
            cur_idx_r,
            src_stream,
            d_index,
            d_inbound,
            d_nh,
            d_seqhi,
            d_len,
            c_spi,
            c_salt,
            c_flags,
            seq_cur,
            iv_pkt,
            hkey,
            dlen,
            nblk,
            tp,
            iss,
            verdict,
            i_slot,
            i_oslot,
            f_push_r,
            inflight,
            o_slot,
            out_busy,
            len_gap,
            xtra,
            flushed,
            win_active_r,
            sa_valid_r,
            sa_errcode_r,
            rb_spi_r,
            rb_flags_r,
            rb_valid_r,
            rb_seq_r,
            rb_pkts_r,
            rb_bytes_r,
            rb_auth_r
        );
        clock!(self, clock, aes);
        self.sa_hkey.read_clock.next = self.clock.val();
        self.sa_hkey.write_clock.next = self.clock.val();
        self.sa_ctx.read_clock.next = self.clock.val();
        self.sa_ctx.write_clock.next = self.clock.val();

        // ------------------------------------------------------------ defaults
        self.sa_hkey.write_enable.next = false;
        self.sa_ctx.write_enable.next = false;
        self.sa_hkey.write_address.next = self.cur_idx_r.q.val();
        self.sa_ctx.write_address.next = self.cur_idx_r.q.val();
        self.sa_hkey.write_data.next = bits::<128>(0);
        self.sa_ctx.write_data.next = bits::<CTXW>(0);
        self.sa_hkey.read_address.next = self.cur_idx_r.q.val();
        self.sa_ctx.read_address.next = self.cur_idx_r.q.val();
        self.aes.key_load.next = false;
        self.aes.key_wipe.next = false;
        self.aes.key_index.next = self.cur_idx_r.q.val();
        self.aes.in_sa.next = self.cur_idx_r.q.val();
        self.aes.in_valid.next = false;
        self.aes.in_tag.next = bits::<AES_TAG_BITS>(0);
        self.rx.rd_addr.next = bits::<16>(0);
        self.f_push_r.d.next = false;
        self.tail.cnt_clear.next = false;
        self.rx.free.next = bits::<2>(0);
        self.regs.db_take.next = false;
        self.regs.cmd_done.next = false;
        self.dl_out.next = ((self.d_len.q.val() + 5) >> 2) << 2;
        self.pad_p.next = self.dl_out.val() - self.d_len.q.val() - 2;
        if self.d_inbound.q.val() {
            self.i_base.next = bits::<16>(1);
        } else {
            self.i_base.next = bits::<16>(0);
        }

        // ------------------------------------------------------------ SA words
        self.ctx_rd.next = self.sa_ctx.read_data.val();
        self.ctx_sh_valid.next = self.ctx_rd.val() >> self.s_ctx_valid.val();
        self.ctx_sh_flags.next = self.ctx_rd.val() >> self.s_ctx_flags.val();
        self.ctx_sh_seq.next = self.ctx_rd.val() >> self.s_ctx_seq.val();
        self.ctx_sh_salt.next = self.ctx_rd.val() >> self.s_ctx_salt.val();
        self.ctx_valid.next = self.ctx_sh_valid.val().get_bit(0);
        self.ctx_flags.next = self.ctx_sh_flags.val().get_bits::<4>(0);
        self.ctx_seq.next = self.ctx_sh_seq.val().get_bits::<64>(0);
        self.rdc_sh_bytes.next = self.tail.cnt_rd.val() >> self.s_cnt_bytes.val();
        self.rdc_sh_auth.next = self.tail.cnt_rd.val() >> self.s_cnt_auth.val();

        // Key into the AES unit (installs only): the staging registers. Each block's
        // key size: the command's flags, the SA entry just read in the check cycle, or
        // the packet's registered flags.
        self.aes.aes256.next = self.regs.sa_flags.val().get_bit(0);
        if (self.phase.q.val() == Phase::CmdCheck)
            | (self.phase.q.val() == Phase::CmdKey)
            | (self.phase.q.val() == Phase::CmdHash)
        {
            self.aes.in_aes256.next = self.regs.sa_flags.val().get_bit(0);
        } else if self.phase.q.val() == Phase::PktCheck {
            self.aes.in_aes256.next = self.ctx_flags.val().get_bit(0);
        } else {
            self.aes.in_aes256.next = self.c_flags.q.val().get_bit(0);
        }
        self.bs_k0.din.next = self.regs.stage_key.val().get_bits::<128>(0);
        self.bs_k1.din.next = self.regs.stage_key.val().get_bits::<128>(128);
        self.aes.key.next = (bit_cast::<KEYW, 128>(self.bs_k0.dout.val()) << 128)
            | bit_cast::<KEYW, 128>(self.bs_k1.dout.val());

        // ------------------------------------------------------------ ESP words (issue context)
        self.bs_din_spi.din.next = self.rx.din.val().get_bits::<32>(0);
        self.bs_din_slo.din.next = self.rx.din.val().get_bits::<32>(32);
        self.bs_spi.din.next = self.c_spi.q.val();
        self.bs_slo.din.next = self.seq_cur.q.val().get_bits::<32>(0);
        self.bs_shi.din.next = self.seq_cur.q.val().get_bits::<32>(32);
        // In the check cycle E(J0) is issued from the SA entry and header just read;
        // afterwards the counter blocks use the packet's registered context.
        if self.phase.q.val() == Phase::PktCheck {
            self.bs_seq64.din.next = self.ctx_seq.val() + 1;
            self.n_salt.next = self.ctx_sh_salt.val().get_bits::<32>(0);
            self.bs_ctr.din.next = bits::<32>(1);
            if self.d_inbound.q.val() {
                self.iv_le.next = self.rx.din.val().get_bits::<64>(64);
            } else {
                self.iv_le.next = self.bs_seq64.dout.val();
            }
        } else {
            self.bs_seq64.din.next = self.seq_cur.q.val();
            self.n_salt.next = self.c_salt.q.val();
            // Counter block of issue slot `iss`: 1 for J0, 2.. for the data blocks.
            self.bs_ctr.din.next = bit_cast::<32, 16>(self.iss.q.val()) + 1;
            if self.d_inbound.q.val() {
                self.iv_le.next = self.iv_pkt.q.val();
            } else {
                self.iv_le.next = self.bs_seq64.dout.val();
            }
        }
        self.nonce_le.next = bit_cast::<128, 32>(self.n_salt.val())
            | (bit_cast::<128, 64>(self.iv_le.val()) << 32)
            | (bit_cast::<128, 32>(self.bs_ctr.dout.val()) << 96);
        self.bs_nonce.din.next = self.nonce_le.val();
        if (self.phase.q.val() == Phase::CmdKey) | (self.phase.q.val() == Phase::CmdHash) {
            self.aes.in_block.next = bits::<128>(0);
        } else {
            self.aes.in_block.next = self.bs_nonce.dout.val();
        }
        // AAD: SPI | SeqLo (GCM), SPI | SeqHi | SeqLo (GCM with ESN), or the whole
        // ESP header SPI | SeqLo | IV (GMAC; the payload follows as AAD).
        // GMAC with ESN (RFC 4543 section 3.3): SPI | SeqHi | SeqLo | IV[0..4] (the
        // tail hashes IV[4..8] and the payload 4 bytes on).
        if self.c_flags.q.val().get_bit(1) & self.c_flags.q.val().get_bit(2) {
            self.aad_le.next = bit_cast::<128, 32>(self.bs_spi.dout.val())
                | (bit_cast::<128, 32>(self.bs_shi.dout.val()) << 32)
                | (bit_cast::<128, 32>(self.bs_slo.dout.val()) << 64)
                | (bit_cast::<128, 64>(self.iv_le.val()) << 96);
        } else if self.c_flags.q.val().get_bit(1) {
            self.aad_le.next = bit_cast::<128, 32>(self.bs_spi.dout.val())
                | (bit_cast::<128, 32>(self.bs_slo.dout.val()) << 32)
                | (bit_cast::<128, 64>(self.iv_le.val()) << 64);
        } else if self.c_flags.q.val().get_bit(2) {
            self.aad_le.next = bit_cast::<128, 32>(self.bs_spi.dout.val())
                | (bit_cast::<128, 32>(self.bs_shi.dout.val()) << 32)
                | (bit_cast::<128, 32>(self.bs_slo.dout.val()) << 64);
        } else {
            self.aad_le.next = bit_cast::<128, 32>(self.bs_spi.dout.val())
                | (bit_cast::<128, 32>(self.bs_slo.dout.val()) << 32);
        }
        // Outbound ESP header SPI | SeqLo | IV (result word 0).
        self.hdr_word.next = bit_cast::<128, 32>(self.bs_spi.dout.val())
            | (bit_cast::<128, 32>(self.bs_slo.dout.val()) << 32)
            | (bit_cast::<128, 64>(self.iv_le.val()) << 64);

        // ------------------------------------------------------------ issue side
        // The next stream packet is in input slot `n_slot`: `i_slot`, or the other
        // slot in the length-slot cycle of a stream packet (which frees `i_slot`).
        // Length slots are at least four cycles apart, the time the tail takes.
        self.at_len.next = (self.phase.q.val() == Phase::PktRun)
            & (self.iss.q.val() > self.nblk.q.val())
            & (!self.xtra.q.val() | self.flushed.q.val())
            & (self.len_gap.q.val() == 3);
        if self.at_len.val() {
            self.len_gap.d.next = bits::<2>(0);
        } else if self.len_gap.q.val() != 3 {
            self.len_gap.d.next = self.len_gap.q.val() + 1;
        }
        self.n_slot.next = self.i_slot.q.val() ^ (self.at_len.val() & self.src_stream.q.val());
        if self.n_slot.val() {
            self.rx_desc_sel.next = self.rx.desc1.val();
            self.i_slot_mask.next = bits::<2>(2);
        } else {
            self.rx_desc_sel.next = self.rx.desc0.val();
            self.i_slot_mask.next = bits::<2>(1);
        }
        self.i_full.next = (self.rx.full.val() & self.i_slot_mask.val()).any();
        if self.i_slot.q.val() {
            self.c_slot_mask.next = bits::<2>(2);
        } else {
            self.c_slot_mask.next = bits::<2>(1);
        }
        self.o_mask.next = bits::<4>(1) << self.o_slot.q.val();
        self.f_room.next =
            (self.tail.f_cnt.val() < 3) | ((self.tail.f_cnt.val() == 3) & !self.f_push_r.q.val());
        self.f_empty.next = (self.tail.f_cnt.val() == 0) & !self.f_push_r.q.val();
        self.cmd_go.next = self.regs.cmd_pending.val()
            & !self.inflight.q.val().any()
            & self.f_empty.val()
            & !self.tail.t_busy.val();
        // Take the next stream packet (from idle, or straight after the length slot of
        // the previous one) while the previous packet's E(J0) has left the pipeline
        // and a result slot is free.
        self.take.next = self.i_full.val()
            & self.f_room.val()
            & !self.win_active_r.q.val()
            & !self.regs.cmd_pending.val()
            & !(self.out_busy.q.val() & self.o_mask.val()).any()
            & ((self.phase.q.val() == Phase::Idle) | self.at_len.val());
        match self.phase.q.val() {
            Phase::Idle => {
                if self.cmd_go.val() {
                    self.cur_idx_r.d.next = bit_cast::<SW, 16>(self.regs.sa_index.val());
                    self.phase.d.next = Phase::CmdLoad;
                } else if !self.take.val()
                    & self.regs.db_pending.val()
                    & !self.rx.busy.val()
                    & !self.rx.full.val().any()
                    & self.f_empty.val()
                    & !self.out_busy.q.val().any()
                    & !self.tail.t_busy.val()
                {
                    // Window packet: input slot 0, result in output slot 0.
                    self.regs.db_take.next = true;
                    self.win_active_r.d.next = true;
                    self.src_stream.d.next = false;
                    self.d_index.d.next = self.regs.pkt_desc.val().get_bits::<16>(0);
                    self.cur_idx_r.d.next = self.regs.pkt_desc.val().get_bits::<SW>(0);
                    self.sa_hkey.read_address.next = self.regs.pkt_desc.val().get_bits::<SW>(0);
                    self.sa_ctx.read_address.next = self.regs.pkt_desc.val().get_bits::<SW>(0);
                    self.d_inbound.d.next = self.regs.pkt_desc.val().get_bit(16);
                    self.d_nh.d.next = self.regs.pkt_desc.val().get_bits::<8>(24);
                    self.d_seqhi.d.next = self.regs.pkt_seqhi.val();
                    self.d_len.d.next = self.regs.pkt_len.val();
                    self.i_oslot.d.next = bits::<2>(0);
                    self.phase.d.next = Phase::PktCheck;
                }
            }
            Phase::PktCheck => {
                // The context is complete after this cycle: queue it next cycle.
                self.f_push_r.d.next = true;
                self.c_spi.d.next = self.ctx_rd.val().get_bits::<32>(0);
                self.c_salt.d.next = self.ctx_sh_salt.val().get_bits::<32>(0);
                self.c_flags.d.next = self.ctx_flags.val();
                self.hkey.d.next = self.sa_hkey.read_data.val();
                self.iv_pkt.d.next = self.rx.din.val().get_bits::<64>(64);
                self.iss.d.next = bits::<16>(0);
                self.xtra.d.next = false;
                self.flushed.d.next = false;
                // Trailer pattern: pad bytes 1..P, P, next header.
                self.tp.d.next = (bits::<64>(0x0003_0201)
                    & ((bits::<64>(1) << (bit_cast::<64, 16>(self.pad_p.val()) << 3)) - 1))
                    | (bit_cast::<64, 16>(self.pad_p.val())
                        << (bit_cast::<64, 16>(self.pad_p.val()) << 3))
                    | (bit_cast::<64, 8>(self.d_nh.q.val())
                        << ((bit_cast::<64, 16>(self.pad_p.val()) + 1) << 3));
                if self.d_inbound.q.val() {
                    self.dlen.d.next = self.d_len.q.val() - 32;
                    self.nblk.d.next = (self.d_len.q.val() - 32 + 15) >> 4;
                    if self.ctx_flags.val().get_bit(2) {
                        self.seq_cur.d.next = (bit_cast::<64, 32>(self.d_seqhi.q.val()) << 32)
                            | bit_cast::<64, 32>(self.bs_din_slo.dout.val());
                    } else {
                        self.seq_cur.d.next = bit_cast::<64, 32>(self.bs_din_slo.dout.val());
                    }
                } else {
                    self.dlen.d.next = self.dl_out.val();
                    self.nblk.d.next = (((self.d_len.q.val() + 5) >> 2) + 3) >> 2;
                    self.seq_cur.d.next = self.ctx_seq.val() + 1;
                }
                // Checks, in order; the first failing one is the verdict. A refused
                // packet still takes the J0 and length slots (no data blocks), so
                // results leave in order.
                if self.d_index.q.val().get_bits::<6>(10).any() | !self.ctx_valid.val() {
                    self.verdict.d.next = self.v_bad_sa.val();
                    self.nblk.d.next = bits::<16>(0);
                    self.phase.d.next = Phase::PktRun;
                } else if self.ctx_flags.val().get_bit(3) != self.d_inbound.q.val() {
                    self.verdict.d.next = self.v_dir.val();
                    self.nblk.d.next = bits::<16>(0);
                    self.phase.d.next = Phase::PktRun;
                } else if (self.d_len.q.val() > self.k_max_packet.val())
                    | (self.d_inbound.q.val()
                        & ((self.d_len.q.val() < self.k_min_inbound.val())
                            | self.d_len.q.val().get_bits::<2>(0).any()))
                {
                    self.verdict.d.next = self.v_len.val();
                    self.nblk.d.next = bits::<16>(0);
                    self.phase.d.next = Phase::PktRun;
                } else if self.d_inbound.q.val()
                    & (self.bs_din_spi.dout.val() != self.ctx_rd.val().get_bits::<32>(0))
                {
                    self.verdict.d.next = self.v_spi.val();
                    self.nblk.d.next = bits::<16>(0);
                    self.phase.d.next = Phase::PktRun;
                } else if !self.d_inbound.q.val()
                    & ((self.ctx_flags.val().get_bit(2) & self.ctx_seq.val().all())
                        | (!self.ctx_flags.val().get_bit(2)
                            & (self.ctx_seq.val() >= self.k_seq32_max.val())))
                {
                    self.verdict.d.next = self.v_seq.val();
                    self.nblk.d.next = bits::<16>(0);
                    self.phase.d.next = Phase::PktRun;
                } else {
                    self.verdict.d.next = self.v_ok.val();
                    if !self.d_inbound.q.val() {
                        // The sequence number is taken now, so the next packet of
                        // the same SA reads the advanced counter.
                        self.sa_ctx.write_enable.next = true;
                        self.sa_ctx.write_data.next = (self.ctx_rd.val()
                            & !self.k_ctx_seq_mask.val())
                            | (bit_cast::<CTXW, 64>(self.ctx_seq.val() + 1)
                                << self.s_ctx_seq.val());
                    }
                    // GMAC with ESN: data ending on a block boundary leaves 4 bytes
                    // for one more GHASH block (dlen is a multiple of 4 here).
                    if self.ctx_flags.val().get_bit(1) & self.ctx_flags.val().get_bit(2) {
                        if self.d_inbound.q.val() {
                            self.xtra.d.next = !self.d_len.q.val().get_bits::<4>(0).any();
                        } else {
                            self.xtra.d.next = !self.dl_out.val().get_bits::<4>(0).any();
                        }
                    }
                    // The SA's round keys are in the AES unit: no drain, no expansion.
                    self.phase.d.next = Phase::PktRun;
                }
                // E(J0) now.
                self.aes.in_valid.next = true;
                self.aes.in_tag.next = bits::<AES_TAG_BITS>(1) << 128;
                self.iss.d.next = bits::<16>(1);
                self.rx.rd_addr.next = self.i_base.val();
                if self.i_slot.q.val() & self.src_stream.q.val() {
                    self.rx.rd_addr.next = self.rx.rd_addr.val() | 1024;
                }
            }
            Phase::PktRun => {
                // Slot `iss`: 0 = E(J0) (unless issued in the check cycle), 1..=nblk =
                // data block iss-1 with its input word, nblk+1 = length slot (with the
                // word after the last block). The word for slot iss+1 is read now.
                self.rx.rd_addr.next = self.i_base.val() + self.iss.q.val();
                if self.iss.q.val() > self.nblk.q.val() {
                    // Length slot: hold the last word read until the slot may go.
                    self.rx.rd_addr.next = self.i_base.val() + self.nblk.q.val();
                }
                if self.i_slot.q.val() & self.src_stream.q.val() {
                    self.rx.rd_addr.next = self.rx.rd_addr.val() | 1024;
                }
                if self.iss.q.val() == 0 {
                    self.aes.in_valid.next = true;
                    self.iss.d.next = self.iss.q.val() + 1;
                    self.aes.in_tag.next = bits::<AES_TAG_BITS>(1) << 128;
                } else if self.iss.q.val() <= self.nblk.q.val() {
                    self.aes.in_valid.next = true;
                    self.iss.d.next = self.iss.q.val() + 1;
                    self.aes.in_tag.next = (bits::<AES_TAG_BITS>(2) << 128)
                        | bit_cast::<AES_TAG_BITS, 128>(self.rx.din.val());
                } else if self.xtra.q.val() & !self.flushed.q.val() {
                    // GMAC with ESN: the GHASH-only slot before the length slot.
                    self.aes.in_valid.next = true;
                    self.aes.in_tag.next = bits::<AES_TAG_BITS>(1) << 130;
                    self.flushed.d.next = true;
                } else if self.at_len.val() {
                    self.aes.in_valid.next = true;
                    self.aes.in_tag.next = (bits::<AES_TAG_BITS>(3) << 128)
                        | bit_cast::<AES_TAG_BITS, 128>(self.rx.din.val());
                    if self.src_stream.q.val() {
                        // The input slot is read for the last time: free it.
                        self.rx.free.next = self.c_slot_mask.val();
                        self.i_slot.d.next = !self.i_slot.q.val();
                    }
                    self.phase.d.next = Phase::Idle;
                }
            }
            Phase::CmdLoad => {
                self.phase.d.next = Phase::CmdCheck;
            }
            Phase::CmdCheck => {
                self.sa_errcode_r.d.next = bits::<4>(0);
                self.sa_valid_r.d.next = self.ctx_valid.val();
                if self.regs.sa_index.val().get_bits::<6>(10).any() {
                    self.sa_errcode_r.d.next = self.e_bad_index.val();
                    self.phase.d.next = Phase::CmdDone;
                } else if (self.regs.sa_op.val() == 0) | (self.regs.sa_op.val() > 4) {
                    self.sa_errcode_r.d.next = self.e_bad_opcode.val();
                    self.phase.d.next = Phase::CmdDone;
                } else if (self.regs.sa_op.val() == 3) & !self.ctx_valid.val() {
                    self.sa_errcode_r.d.next = self.e_not_valid.val();
                    self.phase.d.next = Phase::CmdDone;
                } else if self.regs.sa_op.val() == 1 {
                    // Install: expand the key into the SA's round-key entries, then
                    // H = E_K(0).
                    self.aes.key_load.next = true;
                    self.phase.d.next = Phase::CmdKey;
                } else if self.regs.sa_op.val() == 2 {
                    // Remove: invalidate and wipe (round keys, H, context).
                    self.aes.key_wipe.next = true;
                    self.sa_hkey.write_enable.next = true;
                    self.sa_ctx.write_enable.next = true;
                    self.tail.cnt_clear.next = true;
                    self.sa_valid_r.d.next = false;
                    self.phase.d.next = Phase::CmdDone;
                } else if self.regs.sa_op.val() == 3 {
                    // Update: SPI, flags and counter; salt, key size and keys stay.
                    self.sa_ctx.write_enable.next = true;
                    self.sa_ctx.write_data.next = (self.regs.stage_ctx.val()
                        & !self.k_ctx_keep_mask.val())
                        | (self.ctx_rd.val() & self.k_ctx_keep_mask.val());
                    self.phase.d.next = Phase::CmdDone;
                } else {
                    // Read back.
                    self.rb_spi_r.d.next = self.ctx_rd.val().get_bits::<32>(0);
                    self.rb_flags_r.d.next = self.ctx_flags.val();
                    self.rb_valid_r.d.next = self.ctx_valid.val();
                    self.rb_seq_r.d.next = self.ctx_seq.val();
                    self.rb_pkts_r.d.next = self.tail.cnt_rd.val().get_bits::<64>(0);
                    self.rb_bytes_r.d.next = self.rdc_sh_bytes.val().get_bits::<64>(0);
                    self.rb_auth_r.d.next = self.rdc_sh_auth.val().get_bits::<32>(0);
                    self.phase.d.next = Phase::CmdDone;
                }
            }
            Phase::CmdKey => {
                if self.aes.key_ready.val() {
                    self.aes.in_valid.next = true;
                    self.phase.d.next = Phase::CmdHash;
                }
            }
            Phase::CmdHash => {
                if self.aes.out_valid.val() {
                    self.sa_hkey.write_enable.next = true;
                    self.sa_hkey.write_data.next = self.aes.out_block.val();
                    self.sa_ctx.write_enable.next = true;
                    self.sa_ctx.write_data.next = self.regs.stage_ctx.val();
                    self.tail.cnt_clear.next = true;
                    self.sa_valid_r.d.next = true;
                    self.phase.d.next = Phase::CmdDone;
                }
            }
            Phase::CmdDone => {
                // The register file clears the key staging registers and reports.
                self.regs.cmd_done.next = true;
                self.phase.d.next = Phase::Idle;
            }
        }
        if self.take.val() {
            // A whole stream packet is in input slot `n_slot`: read its SA entry and
            // its first word now.
            self.src_stream.d.next = true;
            self.d_index.d.next = self.rx_desc_sel.val().get_bits::<16>(0);
            self.cur_idx_r.d.next = self.rx_desc_sel.val().get_bits::<SW>(0);
            self.sa_hkey.read_address.next = self.rx_desc_sel.val().get_bits::<SW>(0);
            self.sa_ctx.read_address.next = self.rx_desc_sel.val().get_bits::<SW>(0);
            self.d_inbound.d.next = self.rx_desc_sel.val().get_bit(16);
            self.d_nh.d.next = self.rx_desc_sel.val().get_bits::<8>(24);
            self.d_seqhi.d.next = self.rx_desc_sel.val().get_bits::<32>(32);
            self.d_len.d.next = self.rx_desc_sel.val().get_bits::<16>(64);
            if self.n_slot.val() {
                self.rx.rd_addr.next = bits::<16>(1024);
            } else {
                self.rx.rd_addr.next = bits::<16>(0);
            }
            self.i_oslot.d.next = self.o_slot.q.val();
            self.o_slot.d.next = self.o_slot.q.val() + 1;
            self.phase.d.next = Phase::PktCheck;
        }

        // ------------------------------------------------------------ AES pipeline occupancy
        if self.aes.in_valid.val() & !self.aes.out_valid.val() {
            self.inflight.d.next = self.inflight.q.val() + 1;
        } else if !self.aes.in_valid.val() & self.aes.out_valid.val() {
            self.inflight.d.next = self.inflight.q.val() - 1;
        }

        // ------------------------------------------------------------ context queue entry
        // What the output side needs of the packet, queued the cycle after the check.
        self.tail.f_word.next = (bit_cast::<FQW, 4>(self.c_flags.q.val()) << 1)
            | (bit_cast::<FQW, 16>(self.dlen.q.val()) << 5)
            | (bit_cast::<FQW, 16>(self.d_len.q.val()) << 21)
            | (bit_cast::<FQW, 64>(self.tp.q.val()) << 37)
            | (bit_cast::<FQW, 128>(self.hkey.q.val()) << 101)
            | (bit_cast::<FQW, 64>(self.seq_cur.q.val()) << 229)
            | (bit_cast::<FQW, 16>(self.d_index.q.val()) << 293)
            | (bit_cast::<FQW, 4>(self.verdict.q.val()) << 309)
            | (bit_cast::<FQW, 2>(self.i_oslot.q.val()) << 313)
            | (bit_cast::<FQW, 8>(self.d_nh.q.val()) << 316)
            | (bit_cast::<FQW, 128>(self.aad_le.val()) << 324)
            | (bit_cast::<FQW, 128>(self.hdr_word.val()) << 452);
        if self.src_stream.q.val() {
            self.tail.f_word.next = self.tail.f_word.val() | (bits::<FQW>(1) << 315);
        }
        if self.d_inbound.q.val() {
            self.tail.f_word.next = self.tail.f_word.val() | 1;
        }

        // ------------------------------------------------------------ result slots
        // Taken with the packet, freed by the sender.
        if self.take.val() {
            self.out_busy.d.next =
                (self.out_busy.q.val() | self.o_mask.val()) & !self.out_free.val();
        } else {
            self.out_busy.d.next = self.out_busy.q.val() & !self.out_free.val();
        }
        if self.win_done.val() {
            self.win_active_r.d.next = false;
        }

        // ------------------------------------------------------------ outputs
        self.tail.aes_valid.next = self.aes.out_valid.val();
        self.tail.aes_tag.next = self.aes.out_tag.val();
        self.tail.aes_block.next = self.aes.out_block.val();
        self.tail.f_push.next = self.f_push_r.q.val();
        self.tail.cur_idx.next = self.cur_idx_r.q.val();
        self.regs.win_active.next = self.win_active_r.q.val();
        self.regs.sa_errcode.next = self.sa_errcode_r.q.val();
        self.regs.sa_valid.next = self.sa_valid_r.q.val();
        self.regs.rb_spi.next = self.rb_spi_r.q.val();
        self.regs.rb_flags.next = self.rb_flags_r.q.val();
        self.regs.rb_valid.next = self.rb_valid_r.q.val();
        self.regs.rb_seq.next = self.rb_seq_r.q.val();
        self.regs.rb_pkts.next = self.rb_pkts_r.q.val();
        self.regs.rb_bytes.next = self.rb_bytes_r.q.val();
        self.regs.rb_auth.next = self.rb_auth_r.q.val();
        self.busy.next = self.f_push_r.q.val()
            | self.inflight.q.val().any()
            | self.out_busy.q.val().any()
            | ((self.phase.q.val() != Phase::Idle)
                & (self.phase.q.val() != Phase::CmdLoad)
                & (self.phase.q.val() != Phase::CmdCheck)
                & (self.phase.q.val() != Phase::CmdKey)
                & (self.phase.q.val() != Phase::CmdHash)
                & (self.phase.q.val() != Phase::CmdDone));

        if self.reset.val() {
            self.phase.d.next = Phase::Idle;
            self.i_slot.d.next = false;
            self.f_push_r.d.next = false;
            self.inflight.d.next = bits::<6>(0);
            self.o_slot.d.next = bits::<2>(0);
            self.out_busy.d.next = bits::<4>(0);
            self.win_active_r.d.next = false;
        }
    }
}
