//! Output side and tail: what happens to the blocks leaving the AES pipeline.
//!
//! - Context queue (four entries): the issue side pushes a packet's context
//!   (`f_word`) the cycle after its check; the output side takes it when the packet's
//!   E(J0) leaves the AES pipeline, so up to four packets are between issue and output.
//! - Output side: each data block meets its keystream. Outbound, RFC 4303 padding
//!   1, 2, 3, ..., pad length and next header are inserted on the fly (`BlockMasks`,
//!   registered a cycle ahead as `hd_*` for a packet's first block and `n_*` for the
//!   following ones) and the header word SPI | SeqLo | IV written; the block goes to
//!   one of four result slots (two RAMs, `out_a` for slots 0 and 2, `out_b` for 1 and
//!   3) and, registered once, to GHASH (`GhashStream`, one block per clock, the length
//!   block closes the message). Inbound, the pad length, next header and pad-byte run
//!   (`PadBreaks`, then `LastSet`) are taken from the decrypted blocks as they pass.
//! - Tail: two cycles after the length block, GHASH's result gives the tag: outbound
//!   the ICV is written behind the ciphertext; inbound it is compared with the ICV,
//!   then the trailer is checked (pad length fits, pad bytes 1, 2, 3, ...; else
//!   `BadTrailer`) and stripped. The next cycle updates the SA's counters (`sa_cnt`)
//!   and reports the packet (`done` and its result), while the next packet's blocks
//!   already stream behind it. Nothing is released on an ICV failure (result length 0).
//!
//! GMAC (RFC 4543) takes the same path with the keystream forced to zero and the
//! header and payload hashed as AAD. With ESN the hashed header is SPI | SeqHi |
//! SeqLo | IV (20 bytes), so the payload enters GHASH 4 bytes into a block: each
//! GHASH block is the previous data block's last 4 bytes (`q_carry`, the IV's last 4
//! for the first) and the current block's first 12, and a packet whose data ends on
//! a block boundary gets one more GHASH block from the issue side's GHASH-only slot
//! (tag bit 130).

use super::links::{TailIssue, TailReg, TailTx};
use rust_hdl::prelude::*;

use super::{c16, field_mask, verdict, CNTW, FQW, IBW, MUW, SW};
use crate::ghash::GhashStream;
use crate::util::{BlockMasks, Bswap128, Bswap64, LastSet, PadBreaks};

/// The output side and the tail (see the module docs).
#[derive(LogicBlock)]
pub struct Tail {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset.
    pub reset: Signal<In, bool>,
    /// The link with `Issue`.
    pub issue: TailIssue,
    /// The link with `RegFile`: the finished packet.
    pub regs: TailReg,
    /// The link with `Tx`.
    pub tx: TailTx,

    out_a: RAM<Bits<128>, IBW>,
    out_b: RAM<Bits<128>, IBW>,
    sa_cnt: RAM<Bits<CNTW>, SW>,
    ghash: GhashStream,
    bs_la: Bswap64,
    bs_lc: Bswap64,
    bs_ks: Bswap128,
    bs_gh: Bswap128,
    bs_tag: Bswap128,
    bm_head: BlockMasks,
    bm_next: BlockMasks,
    pad_last: LastSet,
    pad_brk: PadBreaks,
    // context queue: four entries
    f_cnt_r: DFF<Bits<3>>,
    f_rd: DFF<Bits<2>>,
    f_wr: DFF<Bits<2>>,
    fq0: DFF<Bits<FQW>>,
    fq1: DFF<Bits<FQW>>,
    fq2: DFF<Bits<FQW>>,
    fq3: DFF<Bits<FQW>>,
    // output side: the packet whose blocks leave the AES pipeline
    q_inbound: DFF<bool>,
    q_flags: DFF<Bits<4>>,
    q_dlen: DFF<Bits<16>>,
    q_dl: DFF<Bits<16>>,
    q_tp: DFF<Bits<64>>,
    q_hkey: DFF<Bits<128>>,
    q_seq: DFF<Bits<64>>,
    q_index: DFF<Bits<16>>,
    q_verdict: DFF<Bits<4>>,
    q_oslot: DFF<Bits<2>>,
    q_stream: DFF<bool>,
    q_ej0: DFF<Bits<128>>,
    q_cons: DFF<Bits<16>>,
    q_last_ct: DFF<Bits<128>>,
    q_carry: DFF<Bits<32>>,
    q_lastraw: DFF<Bits<128>>,
    q_padlen: DFF<Bits<8>>,
    q_rxnh: DFF<Bits<8>>,
    q_prevb: DFF<Bits<8>>,
    // block masks one cycle ahead: `hd_*` for the first block of the context queue's
    // head packet, `n_*` for the block that leaves the AES pipeline next
    hd_mv: DFF<Bits<128>>,
    hd_mi: DFF<Bits<128>>,
    hd_trail: DFF<Bits<128>>,
    hd_pcnt: DFF<Bits<16>>,
    hd_last: DFF<bool>,
    n_mv: DFF<Bits<128>>,
    n_mi: DFF<Bits<128>>,
    n_trail: DFF<Bits<128>>,
    n_pcnt: DFF<Bits<16>>,
    n_last: DFF<bool>,
    r_dv: DFF<Bits<16>>,
    r_di: DFF<Bits<16>>,
    // pad check, second stage
    p_valid: DFF<bool>,
    p_brk: DFF<Bits<16>>,
    p_k16: DFF<Bits<16>>,
    q_lastbrk: DFF<Bits<16>>,
    q_pbyte: DFF<Bits<8>>,
    gq_valid: DFF<bool>,
    gq_last: DFF<bool>,
    gq_block: DFF<Bits<128>>,
    gq_h: DFF<Bits<128>>,
    // tail: the packet whose length slot left the AES pipeline
    t_busy_r: DFF<bool>,
    t_step: DFF<bool>,
    t_inbound: DFF<bool>,
    t_dlen: DFF<Bits<16>>,
    t_dl: DFF<Bits<16>>,
    t_nblk: DFF<Bits<16>>,
    t_ej0: DFF<Bits<128>>,
    t_seq: DFF<Bits<64>>,
    t_nh: DFF<Bits<8>>,
    t_padlen: DFF<Bits<8>>,
    t_index: DFF<Bits<16>>,
    t_verdict: DFF<Bits<4>>,
    t_oslot: DFF<Bits<2>>,
    t_stream: DFF<bool>,
    t_last_ct: DFF<Bits<128>>,
    t_icv: DFF<Bits<128>>,
    t_tag: DFF<Bits<128>>,
    t_rlen: DFF<Bits<16>>,
    t_lastbrk: DFF<Bits<16>>,
    t_pbyte: DFF<Bits<8>>,
    tok_kind: Signal<Local, Bits<2>>,
    tok_flush: Signal<Local, bool>,
    gmac_esn: Signal<Local, bool>,
    gh_ct: Signal<Local, Bits<128>>,
    bdata: Signal<Local, Bits<128>>,
    t_tag_new: Signal<Local, Bits<128>>,
    t_sh: Signal<Local, Bits<16>>,
    t_tuser: Signal<Local, Bits<MUW>>,
    out_wa: Signal<Local, Bits<IBW>>,
    out_wd: Signal<Local, Bits<128>>,
    t_we: Signal<Local, bool>,
    t_wa: Signal<Local, Bits<IBW>>,
    t_wd: Signal<Local, Bits<128>>,
    f_head: Signal<Local, Bits<FQW>>,
    f_pop: Signal<Local, bool>,
    f_oslot: Signal<Local, Bits<2>>,
    pt_sh_pb: Signal<Local, Bits<128>>,
    pt_sh_pad: Signal<Local, Bits<128>>,
    pt_sh_nh: Signal<Local, Bits<128>>,
    pad_s: Signal<Local, Bits<16>>,
    pad_ok: Signal<Local, bool>,
    pad_len_calc: Signal<Local, Bits<16>>,
    k16: Signal<Local, Bits<16>>,
    lastbrk_now: Signal<Local, Bits<16>>,
    pt: Signal<Local, Bits<128>>,
    ct: Signal<Local, Bits<128>>,
    ks: Signal<Local, Bits<128>>,
    icv_shift: Signal<Local, Bits<16>>,
    icv: Signal<Local, Bits<128>>,
    cnt_sh_bytes: Signal<Local, Bits<CNTW>>,
    cnt_sh_auth: Signal<Local, Bits<CNTW>>,
    k_cnt_auth_mask: Constant<Bits<CNTW>>,
    v_ok: Constant<Bits<4>>,
    v_auth: Constant<Bits<4>>,
    v_trailer: Constant<Bits<4>>,
    s_cnt_bytes: Constant<Bits<16>>,
    s_cnt_auth: Constant<Bits<16>>,
}

impl Default for Tail {
    fn default() -> Self {
        Self::new()
    }
}

impl Tail {
    /// The output side and tail with every code and field position from `regmap`.
    #[must_use]
    pub fn new() -> Self {
        use regmap::sa_entry as e;
        Self {
            clock: Default::default(),
            reset: Default::default(),
            issue: Default::default(),
            regs: Default::default(),
            tx: Default::default(),
            out_a: Default::default(),
            out_b: Default::default(),
            sa_cnt: Default::default(),
            ghash: Default::default(),
            bs_la: Default::default(),
            bs_lc: Default::default(),
            bs_ks: Default::default(),
            bs_gh: Default::default(),
            bs_tag: Default::default(),
            bm_head: Default::default(),
            bm_next: Default::default(),
            pad_last: Default::default(),
            pad_brk: Default::default(),
            f_cnt_r: Default::default(),
            f_rd: Default::default(),
            f_wr: Default::default(),
            fq0: Default::default(),
            fq1: Default::default(),
            fq2: Default::default(),
            fq3: Default::default(),
            q_inbound: Default::default(),
            q_flags: Default::default(),
            q_dlen: Default::default(),
            q_dl: Default::default(),
            q_tp: Default::default(),
            q_hkey: Default::default(),
            q_seq: Default::default(),
            q_index: Default::default(),
            q_verdict: Default::default(),
            q_oslot: Default::default(),
            q_stream: Default::default(),
            q_ej0: Default::default(),
            q_cons: Default::default(),
            q_last_ct: Default::default(),
            q_carry: Default::default(),
            q_lastraw: Default::default(),
            q_padlen: Default::default(),
            q_rxnh: Default::default(),
            q_prevb: Default::default(),
            hd_mv: Default::default(),
            hd_mi: Default::default(),
            hd_trail: Default::default(),
            hd_pcnt: Default::default(),
            hd_last: Default::default(),
            n_mv: Default::default(),
            n_mi: Default::default(),
            n_trail: Default::default(),
            n_pcnt: Default::default(),
            n_last: Default::default(),
            r_dv: Default::default(),
            r_di: Default::default(),
            p_valid: Default::default(),
            p_brk: Default::default(),
            p_k16: Default::default(),
            q_lastbrk: Default::default(),
            q_pbyte: Default::default(),
            gq_valid: Default::default(),
            gq_last: Default::default(),
            gq_block: Default::default(),
            gq_h: Default::default(),
            t_busy_r: Default::default(),
            t_step: Default::default(),
            t_inbound: Default::default(),
            t_dlen: Default::default(),
            t_dl: Default::default(),
            t_nblk: Default::default(),
            t_ej0: Default::default(),
            t_seq: Default::default(),
            t_nh: Default::default(),
            t_padlen: Default::default(),
            t_index: Default::default(),
            t_verdict: Default::default(),
            t_oslot: Default::default(),
            t_stream: Default::default(),
            t_last_ct: Default::default(),
            t_icv: Default::default(),
            t_tag: Default::default(),
            t_rlen: Default::default(),
            t_lastbrk: Default::default(),
            t_pbyte: Default::default(),
            tok_kind: Default::default(),
            tok_flush: Default::default(),
            gmac_esn: Default::default(),
            gh_ct: Default::default(),
            bdata: Default::default(),
            t_tag_new: Default::default(),
            t_sh: Default::default(),
            t_tuser: Default::default(),
            out_wa: Default::default(),
            out_wd: Default::default(),
            t_we: Default::default(),
            t_wa: Default::default(),
            t_wd: Default::default(),
            f_head: Default::default(),
            f_pop: Default::default(),
            f_oslot: Default::default(),
            pt_sh_pb: Default::default(),
            pt_sh_pad: Default::default(),
            pt_sh_nh: Default::default(),
            pad_s: Default::default(),
            pad_ok: Default::default(),
            pad_len_calc: Default::default(),
            k16: Default::default(),
            lastbrk_now: Default::default(),
            pt: Default::default(),
            ct: Default::default(),
            ks: Default::default(),
            icv_shift: Default::default(),
            icv: Default::default(),
            cnt_sh_bytes: Default::default(),
            cnt_sh_auth: Default::default(),
            k_cnt_auth_mask: Constant::new(field_mask::<CNTW>(
                e::CNT_AUTH_FAIL.lsb,
                e::CNT_AUTH_FAIL.width,
            )),
            v_ok: verdict(regmap::Verdict::Ok),
            v_auth: verdict(regmap::Verdict::AuthFailed),
            v_trailer: verdict(regmap::Verdict::BadTrailer),
            s_cnt_bytes: c16(e::CNT_BYTES.lsb),
            s_cnt_auth: c16(e::CNT_AUTH_FAIL.lsb),
        }
    }
}

impl Logic for Tail {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, f_cnt_r, f_rd, f_wr, fq0, fq1, fq2, fq3, q_inbound, q_flags, q_dlen, q_dl,
            q_tp, q_hkey, q_seq, q_index, q_verdict, q_oslot, q_stream, q_ej0, q_cons, q_last_ct,
            q_carry, q_lastraw, q_padlen, q_rxnh, q_prevb, hd_mv, hd_mi, hd_trail, hd_pcnt,
            hd_last, n_mv, n_mi, n_trail, n_pcnt, n_last, r_dv, r_di, p_valid, p_brk, p_k16,
            q_lastbrk, q_pbyte, gq_valid, gq_last, gq_block, gq_h, t_busy_r, t_step, t_inbound,
            t_dlen, t_dl, t_nblk, t_ej0, t_seq, t_nh, t_padlen, t_index, t_verdict, t_oslot,
            t_stream, t_last_ct, t_icv, t_tag, t_rlen, t_lastbrk, t_pbyte
        );
        clock!(self, clock, ghash);
        self.out_a.read_clock.next = self.clock.val();
        self.out_a.write_clock.next = self.clock.val();
        self.out_b.read_clock.next = self.clock.val();
        self.out_b.write_clock.next = self.clock.val();
        self.sa_cnt.read_clock.next = self.clock.val();
        self.sa_cnt.write_clock.next = self.clock.val();

        // ------------------------------------------------------------ defaults
        self.out_a.write_enable.next = false;
        self.out_a.write_address.next = bits::<IBW>(0);
        self.out_a.write_data.next = bits::<128>(0);
        self.out_b.write_enable.next = false;
        self.out_b.write_address.next = bits::<IBW>(0);
        self.out_b.write_data.next = bits::<128>(0);
        self.out_a.read_address.next = self.tx.buf_rd.val();
        self.out_b.read_address.next = self.tx.buf_rd.val();
        self.regs.buf_a.next = self.out_a.read_data.val();
        self.tx.buf_b.next = self.out_b.read_data.val();
        // SA counters: cleared by install and remove at `cur_idx`, updated by the tail.
        self.sa_cnt.write_enable.next = self.issue.cnt_clear.val();
        self.sa_cnt.write_address.next = self.issue.cur_idx.val();
        self.sa_cnt.write_data.next = bits::<CNTW>(0);
        if self.t_busy_r.q.val() {
            self.sa_cnt.read_address.next = self.t_index.q.val().get_bits::<SW>(0);
        } else {
            self.sa_cnt.read_address.next = self.issue.cur_idx.val();
        }
        self.issue.cnt_rd.next = self.sa_cnt.read_data.val();
        self.cnt_sh_bytes.next = self.issue.cnt_rd.val() >> self.s_cnt_bytes.val();
        self.cnt_sh_auth.next = self.issue.cnt_rd.val() >> self.s_cnt_auth.val();
        self.ghash.clear.next = self.reset.val();
        self.ghash.in_valid.next = self.gq_valid.q.val();
        self.ghash.in_last.next = self.gq_last.q.val();
        self.ghash.in_block.next = self.gq_block.q.val();
        self.ghash.h.next = self.gq_h.q.val();
        self.gq_valid.d.next = false;
        self.gq_last.d.next = false;
        self.f_pop.next = false;
        self.f_oslot.next = bits::<2>(0);
        self.t_we.next = false;
        self.t_wd.next = bits::<128>(0);
        self.out_wa.next = bits::<IBW>(0);
        self.out_wd.next = bits::<128>(0);

        // Length block: len(A) || len(C) in bits, big-endian (output-side context).
        self.gmac_esn.next = self.q_flags.q.val().get_bit(1) & self.q_flags.q.val().get_bit(2);
        if self.gmac_esn.val() {
            self.bs_la.din.next = (bit_cast::<64, 16>(self.q_dlen.q.val()) + 20) << 3;
            self.bs_lc.din.next = bits::<64>(0);
        } else if self.q_flags.q.val().get_bit(1) {
            self.bs_la.din.next = (bit_cast::<64, 16>(self.q_dlen.q.val()) + 16) << 3;
            self.bs_lc.din.next = bits::<64>(0);
        } else {
            if self.q_flags.q.val().get_bit(2) {
                self.bs_la.din.next = bits::<64>(96);
            } else {
                self.bs_la.din.next = bits::<64>(64);
            }
            self.bs_lc.din.next = bit_cast::<64, 16>(self.q_dlen.q.val()) << 3;
        }

        // ------------------------------------------------------------ block datapath (output side)
        self.tok_kind.next = self.issue.aes_tag.val().get_bits::<2>(128);
        self.tok_flush.next = self.issue.aes_tag.val().get_bit(130);
        self.bdata.next = self.issue.aes_tag.val().get_bits::<128>(0);
        self.k16.next = self.q_cons.q.val() << 4;
        // Byte masks, trailer and pad-check count of a block depend only on the packet's
        // lengths and the block's index, so they are registered a cycle before the block
        // leaves the AES pipeline (`n_*`): from `hd_*` (the first block of the context
        // queue's head packet, registered every cycle) when E(J0) leaves, and from the
        // running lengths `r_dv`, `r_di` (minus 16 per block) when a data block leaves.
        self.bm_next.dv.next = self.r_dv.q.val() - 16;
        self.bm_next.di.next = self.r_di.q.val() - 16;
        self.bm_next.tp.next = self.q_tp.q.val();
        self.bm_next.neg_ok.next = true;
        self.bs_ks.din.next = self.issue.aes_block.val();
        if self.q_flags.q.val().get_bit(1) {
            self.ks.next = bits::<128>(0);
        } else {
            self.ks.next = self.bs_ks.dout.val() & self.n_mv.q.val();
        }
        if self.q_inbound.q.val() {
            self.ct.next = self.bdata.val() & self.n_mv.q.val();
            self.pt.next = self.ct.val() ^ self.ks.val();
        } else {
            self.pt.next = (self.bdata.val() & self.n_mi.q.val()) | self.n_trail.q.val();
            self.ct.next = self.pt.val() ^ self.ks.val();
        }
        self.pt_sh_pad.next = self.pt.val() >> (((self.q_dlen.q.val() - 2) & 15) << 3);
        self.pt_sh_nh.next = self.pt.val() >> (((self.q_dlen.q.val() - 1) & 15) << 3);
        self.pt_sh_pb.next = self.pt.val() >> (((self.q_dlen.q.val() - 3) & 15) << 3);
        // Inbound pad bytes: where the plaintext stops counting up (before pad length).
        // First stage: the break positions of the block, registered (`p_brk`); second
        // stage: the last of them, folded into the packet's last break (`lastbrk_now`).
        self.pad_brk.pt.next = self.pt.val();
        self.pad_brk.prev.next = self.q_prevb.q.val();
        self.pad_brk.first.next = self.q_cons.q.val() == 0;
        self.pad_brk.count.next = self.n_pcnt.q.val();
        self.pad_last.v.next = self.p_brk.q.val();
        if self.p_valid.q.val() & self.pad_last.any.val() {
            self.lastbrk_now.next = self.p_k16.q.val() | self.pad_last.idx.val();
        } else {
            self.lastbrk_now.next = self.q_lastbrk.q.val();
        }
        // ICV of an inbound packet: 16 bytes at byte 16 + dlen, the upper part of the
        // last ciphertext word and the word the length slot carries.
        self.icv_shift.next = self.q_dlen.q.val() & 15;
        if self.icv_shift.val() == 0 {
            self.icv.next = self.bdata.val();
        } else {
            self.icv.next = (self.q_lastraw.q.val() >> (self.icv_shift.val() << 3))
                | (self.bdata.val() << ((bits::<16>(16) - self.icv_shift.val()) << 3));
        }
        // Tag of the tail's packet, byte 0 in [7:0].
        self.bs_tag.din.next = self.ghash.out_hash.val() ^ self.t_ej0.q.val();
        self.t_tag_new.next = self.bs_tag.dout.val();
        self.t_sh.next = bit_cast::<16, 4>(self.t_dlen.q.val().get_bits::<4>(0));

        // ------------------------------------------------------------ context queue
        // The packet context the output side needs, written the cycle after the check
        // and read when the packet's E(J0) leaves the AES pipeline: two entries, so the
        // issue side can start the next packet while E(J0) is still in flight.
        if self.f_rd.q.val() == 0 {
            self.f_head.next = self.fq0.q.val();
        } else if self.f_rd.q.val() == 1 {
            self.f_head.next = self.fq1.q.val();
        } else if self.f_rd.q.val() == 2 {
            self.f_head.next = self.fq2.q.val();
        } else {
            self.f_head.next = self.fq3.q.val();
        }
        // First block of the head packet (see the block datapath above).
        self.bm_head.dv.next = self.f_head.val().get_bits::<16>(5);
        self.bm_head.di.next = self.f_head.val().get_bits::<16>(21);
        self.bm_head.tp.next = self.f_head.val().get_bits::<64>(37);
        self.bm_head.neg_ok.next = false;
        self.hd_mv.d.next = self.bm_head.mv.val();
        self.hd_mi.d.next = self.bm_head.mi.val();
        self.hd_trail.d.next = self.bm_head.trail.val();
        self.hd_pcnt.d.next = self.bm_head.pcnt.val();
        self.hd_last.d.next = self.bm_head.last.val();
        if self.issue.f_push.val() {
            if self.f_wr.q.val() == 0 {
                self.fq0.d.next = self.issue.f_word.val();
            }
            if self.f_wr.q.val() == 1 {
                self.fq1.d.next = self.issue.f_word.val();
            }
            if self.f_wr.q.val() == 2 {
                self.fq2.d.next = self.issue.f_word.val();
            }
            if self.f_wr.q.val() == 3 {
                self.fq3.d.next = self.issue.f_word.val();
            }
            self.f_wr.d.next = self.f_wr.q.val() + 1;
        }

        // ------------------------------------------------------------ output side
        // GHASH input, registered once before the multiplier (GMAC with ESN: 4 bytes
        // on, see the module docs).
        if self.gmac_esn.val() {
            self.gh_ct.next = bit_cast::<128, 32>(self.q_carry.q.val()) | (self.ct.val() << 32);
        } else {
            self.gh_ct.next = self.ct.val();
        }
        self.bs_gh.din.next = self.gh_ct.val();
        self.gq_block.d.next = self.bs_gh.dout.val();
        self.gq_h.d.next = self.q_hkey.q.val();
        self.p_valid.d.next = false;
        self.q_lastbrk.d.next = self.lastbrk_now.val();
        if self.issue.aes_valid.val() & (self.tok_kind.val() == 1) {
            self.n_mv.d.next = self.hd_mv.q.val();
            self.n_mi.d.next = self.hd_mi.q.val();
            self.n_trail.d.next = self.hd_trail.q.val();
            self.n_pcnt.d.next = self.hd_pcnt.q.val();
            self.n_last.d.next = self.hd_last.q.val();
            self.r_dv.d.next = self.f_head.val().get_bits::<16>(5);
            self.r_di.d.next = self.f_head.val().get_bits::<16>(21);
            // E(J0): the oldest issued packet's context becomes the output side's.
            self.f_pop.next = true;
            self.q_inbound.d.next = self.f_head.val().get_bit(0);
            self.q_flags.d.next = self.f_head.val().get_bits::<4>(1);
            self.q_dlen.d.next = self.f_head.val().get_bits::<16>(5);
            self.q_dl.d.next = self.f_head.val().get_bits::<16>(21);
            self.q_tp.d.next = self.f_head.val().get_bits::<64>(37);
            self.q_hkey.d.next = self.f_head.val().get_bits::<128>(101);
            self.q_seq.d.next = self.f_head.val().get_bits::<64>(229);
            self.q_index.d.next = self.f_head.val().get_bits::<16>(293);
            self.q_verdict.d.next = self.f_head.val().get_bits::<4>(309);
            self.q_oslot.d.next = self.f_head.val().get_bits::<2>(313);
            self.q_stream.d.next = self.f_head.val().get_bit(315);
            self.q_ej0.d.next = self.issue.aes_block.val();
            self.q_cons.d.next = bits::<16>(0);
            self.q_rxnh.d.next = self.f_head.val().get_bits::<8>(316);
            self.q_padlen.d.next = bits::<8>(0);
            self.q_lastbrk.d.next = bits::<16>(0);
            // AAD block first into GHASH (GMAC with ESN: the IV's last 4 bytes are
            // carried into the next GHASH block).
            self.bs_gh.din.next = self.f_head.val().get_bits::<128>(324);
            self.q_carry.d.next = self.f_head.val().get_bits::<32>(548);
            self.gq_valid.d.next = true;
            self.gq_h.d.next = self.f_head.val().get_bits::<128>(101);
            self.f_oslot.next = self.f_head.val().get_bits::<2>(313);
            if !self.f_head.val().get_bit(0) {
                if self.f_oslot.val().get_bit(0) {
                    self.out_b.write_enable.next = true;
                    self.out_b.write_address.next =
                        bit_cast::<IBW, 2>(self.f_oslot.val() >> 1) << 10;
                    self.out_b.write_data.next = self.f_head.val().get_bits::<128>(452);
                } else {
                    self.out_a.write_enable.next = true;
                    self.out_a.write_address.next =
                        bit_cast::<IBW, 2>(self.f_oslot.val() >> 1) << 10;
                    self.out_a.write_data.next = self.f_head.val().get_bits::<128>(452);
                }
            }
        }
        if self.issue.aes_valid.val() & (self.tok_kind.val() == 2) {
            // A data block meets its keystream.
            self.gq_valid.d.next = true;
            self.q_cons.d.next = self.q_cons.q.val() + 1;
            self.n_mv.d.next = self.bm_next.mv.val();
            self.n_mi.d.next = self.bm_next.mi.val();
            self.n_trail.d.next = self.bm_next.trail.val();
            self.n_pcnt.d.next = self.bm_next.pcnt.val();
            self.n_last.d.next = self.bm_next.last.val();
            self.r_dv.d.next = self.r_dv.q.val() - 16;
            self.r_di.d.next = self.r_di.q.val() - 16;
            self.q_last_ct.d.next = self.ct.val();
            self.q_carry.d.next = self.ct.val().get_bits::<32>(96);
            self.q_lastraw.d.next = self.bdata.val();
            if self.q_inbound.q.val() {
                self.out_wa.next = bit_cast::<IBW, 16>(self.q_cons.q.val());
                self.out_wd.next = self.pt.val();
                if self.n_last.q.val() {
                    self.q_padlen.d.next = self.pt_sh_pad.val().get_bits::<8>(0);
                    self.q_rxnh.d.next = self.pt_sh_nh.val().get_bits::<8>(0);
                    self.q_pbyte.d.next = self.pt_sh_pb.val().get_bits::<8>(0);
                }
                self.q_prevb.d.next = self.pt.val().get_bits::<8>(120);
                self.p_valid.d.next = true;
                self.p_brk.d.next = self.pad_brk.brk.val();
                self.p_k16.d.next = self.k16.val();
            } else {
                self.out_wa.next = bit_cast::<IBW, 16>(self.q_cons.q.val() + 1);
                self.out_wd.next = self.ct.val();
            }
            self.out_wa.next =
                self.out_wa.val() | (bit_cast::<IBW, 2>(self.q_oslot.q.val() >> 1) << 10);
            if self.q_oslot.q.val().get_bit(0) {
                self.out_b.write_enable.next = true;
                self.out_b.write_address.next = self.out_wa.val();
                self.out_b.write_data.next = self.out_wd.val();
            } else {
                self.out_a.write_enable.next = true;
                self.out_a.write_address.next = self.out_wa.val();
                self.out_a.write_data.next = self.out_wd.val();
            }
        }
        if self.issue.aes_valid.val() & self.tok_flush.val() {
            // GMAC with ESN: the last data block's last 4 bytes, zero-padded.
            self.bs_gh.din.next = bit_cast::<128, 32>(self.q_carry.q.val());
            self.gq_valid.d.next = true;
        }
        if self.issue.aes_valid.val() & (self.tok_kind.val() == 3) {
            // Length slot: the length block closes the GHASH message; the packet
            // moves to the tail.
            self.bs_gh.din.next = bit_cast::<128, 64>(self.bs_la.dout.val())
                | (bit_cast::<128, 64>(self.bs_lc.dout.val()) << 64);
            self.gq_valid.d.next = true;
            self.gq_last.d.next = true;
            self.t_busy_r.d.next = true;
            self.t_step.d.next = false;
            self.t_inbound.d.next = self.q_inbound.q.val();
            self.t_dlen.d.next = self.q_dlen.q.val();
            self.t_dl.d.next = self.q_dl.q.val();
            self.t_nblk.d.next = self.q_cons.q.val();
            self.t_ej0.d.next = self.q_ej0.q.val();
            self.t_seq.d.next = self.q_seq.q.val();
            self.t_nh.d.next = self.q_rxnh.q.val();
            self.t_padlen.d.next = self.q_padlen.q.val();
            self.t_index.d.next = self.q_index.q.val();
            self.t_verdict.d.next = self.q_verdict.q.val();
            self.t_oslot.d.next = self.q_oslot.q.val();
            self.t_stream.d.next = self.q_stream.q.val();
            self.t_last_ct.d.next = self.q_last_ct.q.val();
            self.t_icv.d.next = self.icv.val();
            self.t_lastbrk.d.next = self.lastbrk_now.val();
            self.t_pbyte.d.next = self.q_pbyte.q.val();
            self.sa_cnt.read_address.next = self.q_index.q.val().get_bits::<SW>(0);
        }

        if self.f_pop.val() {
            self.f_rd.d.next = self.f_rd.q.val() + 1;
        }
        if self.issue.f_push.val() & !self.f_pop.val() {
            self.f_cnt_r.d.next = self.f_cnt_r.q.val() + 1;
        } else if !self.issue.f_push.val() & self.f_pop.val() {
            self.f_cnt_r.d.next = self.f_cnt_r.q.val() - 1;
        }

        // ------------------------------------------------------------ tail
        self.pad_len_calc.next = bit_cast::<16, 8>(self.t_padlen.q.val()) + 2;
        // RFC 4303 padding: the P bytes before the pad length are 1, 2, .., P, i.e. no
        // break in the run after the pad's first byte and the last pad byte is P.
        self.pad_s.next = self.t_dlen.q.val() - self.pad_len_calc.val();
        self.pad_ok.next = (self.t_padlen.q.val() == 0)
            | ((self.t_lastbrk.q.val() <= self.pad_s.val())
                & (self.t_pbyte.q.val() == self.t_padlen.q.val()));
        self.t_tuser.next = bit_cast::<MUW, 4>(self.t_verdict.q.val())
            | (bit_cast::<MUW, 8>(self.t_nh.q.val()) << 8)
            | (bit_cast::<MUW, 16>(self.t_index.q.val()) << 16)
            | (bit_cast::<MUW, 64>(self.t_seq.q.val()) << 32);
        if self.t_inbound.q.val() {
            self.t_tuser.next = self.t_tuser.val() | 16;
        }
        self.t_wa.next = bit_cast::<IBW, 2>(self.t_oslot.q.val() >> 1) << 10;
        if self.t_busy_r.q.val() & !self.t_step.q.val() & self.ghash.out_last.val() {
            // The GHASH of the packet is done: tag, then ICV compare or ICV write.
            self.t_step.d.next = true;
            self.t_tag.d.next = self.t_tag_new.val();
            self.t_rlen.d.next = bits::<16>(0);
            if self.t_verdict.q.val() == self.v_ok.val() {
                if self.t_inbound.q.val() {
                    if self.t_icv.q.val() != self.t_tag_new.val() {
                        self.t_verdict.d.next = self.v_auth.val();
                    } else if (self.pad_len_calc.val() > self.t_dlen.q.val()) | !self.pad_ok.val() {
                        self.t_verdict.d.next = self.v_trailer.val();
                    } else {
                        self.t_rlen.d.next = self.t_dlen.q.val() - self.pad_len_calc.val();
                    }
                } else {
                    self.t_rlen.d.next = self.t_dlen.q.val() + 32;
                    self.t_we.next = true;
                    if self.t_sh.val().any() {
                        self.t_wa.next = self.t_wa.val() | bit_cast::<IBW, 16>(self.t_nblk.q.val());
                        self.t_wd.next = self.t_last_ct.q.val()
                            | (self.t_tag_new.val() << (self.t_sh.val() << 3));
                    } else {
                        self.t_wa.next =
                            self.t_wa.val() | bit_cast::<IBW, 16>(self.t_nblk.q.val() + 1);
                        self.t_wd.next = self.t_tag_new.val();
                    }
                }
            }
        }
        if self.t_busy_r.q.val() & self.t_step.q.val() {
            // Second ICV word, counters, per-SA counters, result.
            self.t_busy_r.d.next = false;
            if !self.t_inbound.q.val()
                & (self.t_verdict.q.val() == self.v_ok.val())
                & self.t_sh.val().any()
            {
                self.t_we.next = true;
                self.t_wa.next = self.t_wa.val() | bit_cast::<IBW, 16>(self.t_nblk.q.val() + 1);
                self.t_wd.next = self.t_tag.q.val() >> ((bits::<16>(16) - self.t_sh.val()) << 3);
            }
            self.sa_cnt.write_address.next = self.t_index.q.val().get_bits::<SW>(0);
            if self.t_verdict.q.val() == self.v_ok.val() {
                self.sa_cnt.write_enable.next = true;
                self.sa_cnt.write_data.next = (self.issue.cnt_rd.val()
                    & self.k_cnt_auth_mask.val())
                    | bit_cast::<CNTW, 64>(self.issue.cnt_rd.val().get_bits::<64>(0) + 1)
                    | (bit_cast::<CNTW, 64>(
                        self.cnt_sh_bytes.val().get_bits::<64>(0)
                            + bit_cast::<64, 16>(self.t_dl.q.val()),
                    ) << self.s_cnt_bytes.val());
            } else if (self.t_verdict.q.val() == self.v_auth.val())
                & !self.cnt_sh_auth.val().get_bits::<32>(0).all()
            {
                // ICV failures count up to all ones and stay there.
                self.sa_cnt.write_enable.next = true;
                self.sa_cnt.write_data.next =
                    self.issue.cnt_rd.val() + (bits::<CNTW>(1) << self.s_cnt_auth.val());
            }
        }
        if self.t_we.val() {
            if self.t_oslot.q.val().get_bit(0) {
                self.out_b.write_enable.next = true;
                self.out_b.write_address.next = self.t_wa.val();
                self.out_b.write_data.next = self.t_wd.val();
            } else {
                self.out_a.write_enable.next = true;
                self.out_a.write_address.next = self.t_wa.val();
                self.out_a.write_data.next = self.t_wd.val();
            }
        }

        // ------------------------------------------------------------ outputs
        self.issue.f_cnt.next = self.f_cnt_r.q.val();
        self.issue.t_busy.next = self.t_busy_r.q.val();
        self.regs.done.next = self.t_busy_r.q.val() & self.t_step.q.val();
        self.regs.stream.next = self.t_stream.q.val();
        self.regs.inbound.next = self.t_inbound.q.val();
        self.regs.verdict.next = self.t_verdict.q.val();
        self.regs.nh.next = self.t_nh.q.val();
        self.regs.seq.next = self.t_seq.q.val();
        self.tx.oslot.next = self.t_oslot.q.val();
        self.regs.rlen.next = self.t_rlen.q.val();
        self.regs.dl.next = self.t_dl.q.val();
        self.tx.tuser.next = self.t_tuser.val();

        if self.reset.val() {
            self.f_cnt_r.d.next = bits::<3>(0);
            self.f_rd.d.next = bits::<2>(0);
            self.f_wr.d.next = bits::<2>(0);
            self.t_busy_r.d.next = false;
            self.p_valid.d.next = false;
        }
    }
}
