//! GF(2^128) multiplier and the GHASH accumulator of GCM (NIST SP 800-38D
//! sections 6.3 and 6.4), one 128-bit block per clock.
//!
//! # Conventions
//! * Blocks are in FIPS/SP 800-38D byte order: byte 0 is bits `[127:120]`.
//! * SP 800-38D bit-reflected field convention: bit 0 of a block (the most
//!   significant bit of byte 0, i.e. `Bits` bit 127) is the coefficient of
//!   x^0, `Bits` bit 0 the coefficient of x^127; the field polynomial is
//!   x^128 + x^7 + x^2 + x + 1 (R = 0xE1 || 0^120).
//!
//! # [`GfMul128`] (combinational)
//! `a` (128, in), `b` (128, in) -> `product` (128, out) = a * b. Latency 0.
//!
//! # [`Ghash`] and [`GhashStream`] (accumulators)
//! | port        | dir | width | meaning                                              |
//! |-------------|-----|-------|------------------------------------------------------|
//! | `clock`     | in  | 1     |                                                      |
//! | `h`         | in  | 128   | hash key H = E_K(0^128), sampled with every block    |
//! | `in_valid`  | in  | 1     | a block is presented                                 |
//! | `in_first`  | in  | 1     | `Ghash` only: first block of a message (the accumulator counts as 0) |
//! | `clear`     | in  | 1     | `GhashStream` only: synchronous, empties the accumulator (tie to reset) |
//! | `in_last`   | in  | 1     | last block (normally the length block); `GhashStream` empties its accumulator with it |
//! | `in_block`  | in  | 128   | block X_i (AAD, ciphertext, then len(A)\|\|len(C))   |
//! | `out_valid` | out | 1     | `in_valid` delayed by one cycle                      |
//! | `out_last`  | out | 1     | `out_hash` is the GHASH of a whole message           |
//! | `out_hash`  | out | 128   | Y_i = (Y_{i-1} ^ X_i) * H (held between blocks)      |
//!
//! Latency 1 cycle: a block presented in cycle `t` updates `out_hash` in cycle
//! `t + 1`; a new block (of the same or of another message, with another H)
//! may follow in every cycle. Gaps (`in_valid` low) inside a message are allowed.
//!
//! The two differ only in how a message starts. `Ghash` selects 0 instead of
//! the accumulator when `in_first` is high: a 2:1 mux in front of every
//! partial product, inside the feedback loop. `GhashStream` instead empties
//! its accumulator with the `in_last` block (a synchronous reset of its
//! flip-flops, outside the loop; `clear` does the same for resets and aborted
//! messages), so back-to-back messages need no extra input. yosys measures
//! `Ghash` at 13,434 LUTs and `GhashStream` at 10,043: use `GhashStream`
//! when the top marks the length block with `in_last`.
//!
//! # Why a single-cycle multiplier
//! GHASH is a feedback loop: block i+1 needs Y_i. A multiplier pipelined over
//! L stages keeps up with one block per clock only if L independent messages
//! are interleaved, or in the "aggregated" form (L multipliers by H, H^2, ..,
//! H^L, per-SA stored powers of H, and an end-of-message fix-up for lengths
//! that are not a multiple of L), which costs about L times the area. One
//! flat multiplier in the loop is the smallest design that takes a block
//! every clock, and it fits the 25,000-LUT lane budget next to the AES-256
//! pipeline; the aggregated L = 2 form would not.
//!
//! The multiplier uses one level of Karatsuba (three 64 x 64 carry-less
//! products, 12,288 AND terms instead of 16,384), each product built from
//! eight 8-row partial products, then a two-step reduction.
//!
//! Measured with yosys 0.23 `synth_xilinx -flatten` (`ltp` for depth):
//! * `GfMul128`: 10,276 LUTs (schoolbook version: 11,191); longest path
//!   4 x (LUT6 + MUXF7 + MUXF8), i.e. four levels of 8-input functions.
//! * `GhashStream`: 10,043 LUTs, 258 FFs, 624 MUXF7, 252 MUXF8; `Ghash`:
//!   13,434 LUTs, 4,427 MUXF7 (the `in_first` mux). The loop
//!   (accumulator -> XOR with the block -> multiplier -> accumulator) is the
//!   multiplier's depth plus at most one LUT for the input XOR.
//!
//! Estimated (not place-and-routed) at ~3.5 ns on UltraScale+: inside the
//! 4 ns of 250 MHz but the tightest path of the lane. If it fails timing,
//! the options are a 2-stage multiplier shared by two interleaved packets
//! (each at half rate, so the lane must keep two packets in flight) or the
//! H/H^2 aggregated form (about twice the multiplier area).
use crate::aes::ZeroExtend;
use rust_hdl::prelude::*;

/// Eight rows of a carry-less product: `p = sum_k a8[k] * (b << k)`, in a
/// `W`-bit frame.
#[derive(LogicBlock)]
pub struct GfPartial<const W: usize> {
    /// Eight bits of the first factor (rows 0..=7).
    pub a8: Signal<In, Bits<8>>,
    /// Second factor, in the low bits of the `W`-bit frame.
    pub b: Signal<In, Bits<W>>,
    /// XOR of `b << k` over the set bits `k` of `a8`.
    pub p: Signal<Out, Bits<W>>,
    row: Signal<Local, Bits<W>>,
    zero: Constant<Bits<W>>,
}

impl<const W: usize> Default for GfPartial<W> {
    fn default() -> Self {
        Self {
            a8: Default::default(),
            b: Default::default(),
            p: Default::default(),
            row: Default::default(),
            zero: Constant::new(0.into()),
        }
    }
}

impl<const W: usize> std::fmt::Debug for GfPartial<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GfPartial").finish_non_exhaustive()
    }
}

impl<const W: usize> Logic for GfPartial<W> {
    #[hdl_gen]
    fn update(&mut self) {
        // Row `k` is `b << k` when bit `k` of `a8` is set; the rows are XORed.
        self.p.next = self.zero.val();
        self.row.next = self.b.val();
        for k in 0..8 {
            if self.a8.val().get_bit(k) {
                self.p.next = self.p.val() ^ self.row.val();
            }
            self.row.next = self.row.val() << 1;
        }
    }
}

/// Carry-less 64 x 64 -> 127-bit product (schoolbook, 8 partial products of
/// 8 rows each): bit `m` of `p` is the XOR of `a[i] & b[j]` over `i + j = m`.
#[derive(LogicBlock)]
pub struct Clmul64 {
    /// First factor.
    pub a: Signal<In, Bits<64>>,
    /// Second factor.
    pub b: Signal<In, Bits<64>>,
    /// Carry-less product `a * b`.
    pub p: Signal<Out, Bits<127>>,
    widen: ZeroExtend<64, 127>,
    parts: Vec<GfPartial<127>>,
}

impl Clmul64 {
    /// A multiplier.
    pub fn new() -> Self {
        Self {
            a: Default::default(),
            b: Default::default(),
            p: Default::default(),
            widen: Default::default(),
            parts: (0..8).map(|_| GfPartial::default()).collect(),
        }
    }
}

impl Default for Clmul64 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Clmul64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clmul64").finish_non_exhaustive()
    }
}

impl Logic for Clmul64 {
    #[hdl_gen]
    fn update(&mut self) {
        self.widen.narrow.next = self.b.val();
        for j in 0..8 {
            self.parts[j].a8.next = self.a.val().get_bits::<8>(8 * j);
            self.parts[j].b.next = self.widen.wide.val();
        }
        self.p.next = self.parts[0].p.val()
            ^ (self.parts[1].p.val() << 8)
            ^ (self.parts[2].p.val() << 16)
            ^ (self.parts[3].p.val() << 24)
            ^ (self.parts[4].p.val() << 32)
            ^ (self.parts[5].p.val() << 40)
            ^ (self.parts[6].p.val() << 48)
            ^ (self.parts[7].p.val() << 56);
    }
}

/// Combinational GF(2^128) multiplier in the GCM convention (module docs).
///
/// The carry-less product of the two `Bits` values, read in reverse, is the
/// product polynomial: bit `m` of the 255-bit `clmul(a, b)` is the coefficient
/// of x^(254 - m). The top 128 bits are x^0..x^127; the low 127 bits (x^128
/// and up) are folded back twice with x^128 = 1 + x + x^2 + x^7, where
/// multiplying by x is a right shift in this bit order.
#[derive(LogicBlock)]
pub struct GfMul128 {
    /// First factor (GCM bit order: bit 127 is x^0).
    pub a: Signal<In, Bits<128>>,
    /// Second factor (GCM bit order).
    pub b: Signal<In, Bits<128>>,
    /// `a * b` in GF(2^128) modulo x^128 + x^7 + x^2 + x + 1.
    pub product: Signal<Out, Bits<128>>,
    a_mid: Signal<Local, Bits<64>>,
    b_mid: Signal<Local, Bits<64>>,
    mul_hi: Clmul64,
    mul_lo: Clmul64,
    mul_mid: Clmul64,
    wide_hi: ZeroExtend<127, 255>,
    wide_lo: ZeroExtend<127, 255>,
    wide_mid: ZeroExtend<127, 255>,
    clmul: Signal<Local, Bits<255>>,
    high: Signal<Local, Bits<255>>,
    fold1: Signal<Local, Bits<255>>,
    over: Signal<Local, Bits<128>>,
    fold2: Signal<Local, Bits<128>>,
}

impl GfMul128 {
    /// A multiplier.
    pub fn new() -> Self {
        Self {
            a: Default::default(),
            b: Default::default(),
            product: Default::default(),
            a_mid: Default::default(),
            b_mid: Default::default(),
            mul_hi: Clmul64::new(),
            mul_lo: Clmul64::new(),
            mul_mid: Clmul64::new(),
            wide_hi: Default::default(),
            wide_lo: Default::default(),
            wide_mid: Default::default(),
            clmul: Default::default(),
            high: Default::default(),
            fold1: Default::default(),
            over: Default::default(),
            fold2: Default::default(),
        }
    }
}

impl Default for GfMul128 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for GfMul128 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GfMul128").finish_non_exhaustive()
    }
}

impl Logic for GfMul128 {
    #[hdl_gen]
    fn update(&mut self) {
        // One level of Karatsuba: three 64 x 64 products instead of four.
        self.mul_hi.a.next = self.a.val().get_bits::<64>(64);
        self.mul_hi.b.next = self.b.val().get_bits::<64>(64);
        self.mul_lo.a.next = self.a.val().get_bits::<64>(0);
        self.mul_lo.b.next = self.b.val().get_bits::<64>(0);
        self.a_mid.next = self.a.val().get_bits::<64>(64) ^ self.a.val().get_bits::<64>(0);
        self.b_mid.next = self.b.val().get_bits::<64>(64) ^ self.b.val().get_bits::<64>(0);
        self.mul_mid.a.next = self.a_mid.val();
        self.mul_mid.b.next = self.b_mid.val();
        self.wide_hi.narrow.next = self.mul_hi.p.val();
        self.wide_lo.narrow.next = self.mul_lo.p.val();
        self.wide_mid.narrow.next = self.mul_mid.p.val();
        self.clmul.next = (self.wide_hi.wide.val() << 128)
            ^ ((self.wide_mid.wide.val() ^ self.wide_hi.wide.val() ^ self.wide_lo.wide.val())
                << 64)
            ^ self.wide_lo.wide.val();
        // In this 255-bit frame bit 254 - k holds x^k: the top 128 bits are
        // x^0..x^127, bits [126:0] are x^128..x^254. Move those to the top
        // (as x^0..x^126), multiply by 1 + x + x^2 + x^7 (right shifts).
        self.high.next = self.clmul.val() << 128;
        self.fold1.next = self.high.val()
            ^ (self.high.val() >> 1)
            ^ (self.high.val() >> 2)
            ^ (self.high.val() >> 7);
        // fold1 bits [126:121] are x^128..x^133 again: fold once more in 128 bits.
        self.over.next = self.fold1.val().get_bits::<128>(0) << 1;
        self.fold2.next = self.over.val()
            ^ (self.over.val() >> 1)
            ^ (self.over.val() >> 2)
            ^ (self.over.val() >> 7);
        self.product.next = self.clmul.val().get_bits::<128>(127)
            ^ self.fold1.val().get_bits::<128>(127)
            ^ self.fold2.val();
    }
}

/// GHASH accumulator, one block per clock, latency 1 (module docs).
#[derive(LogicBlock)]
pub struct Ghash {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Hash key H = E_K(0^128).
    pub h: Signal<In, Bits<128>>,
    /// A block enters.
    pub in_valid: Signal<In, bool>,
    /// The block starts a message (the accumulator restarts from zero).
    pub in_first: Signal<In, bool>,
    /// The block ends a message.
    pub in_last: Signal<In, bool>,
    /// Block, byte 0 at `[127:120]`.
    pub in_block: Signal<In, Bits<128>>,
    /// The accumulator took a block in the previous cycle.
    pub out_valid: Signal<Out, bool>,
    /// That block ended its message: `out_hash` is the message's GHASH.
    pub out_last: Signal<Out, bool>,
    /// The accumulator.
    pub out_hash: Signal<Out, Bits<128>>,
    mul: GfMul128,
    acc: DFF<Bits<128>>,
    valid: DFF<bool>,
    last: DFF<bool>,
}

impl Ghash {
    /// An accumulator.
    pub fn new() -> Self {
        Self {
            clock: Default::default(),
            h: Default::default(),
            in_valid: Default::default(),
            in_first: Default::default(),
            in_last: Default::default(),
            in_block: Default::default(),
            out_valid: Default::default(),
            out_last: Default::default(),
            out_hash: Default::default(),
            mul: GfMul128::new(),
            acc: Default::default(),
            valid: Default::default(),
            last: Default::default(),
        }
    }
}

impl Default for Ghash {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Ghash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ghash").finish_non_exhaustive()
    }
}

impl Logic for Ghash {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, acc, valid, last);
        if self.in_first.val() {
            self.mul.a.next = self.in_block.val();
        } else {
            self.mul.a.next = self.acc.q.val() ^ self.in_block.val();
        }
        self.mul.b.next = self.h.val();
        if self.in_valid.val() {
            self.acc.d.next = self.mul.product.val();
        }
        self.valid.d.next = self.in_valid.val();
        self.last.d.next = self.in_valid.val() & self.in_last.val();
        self.out_valid.next = self.valid.q.val();
        self.out_last.next = self.last.q.val();
        self.out_hash.next = self.acc.q.val();
    }
}

/// GHASH accumulator for messages delimited by `in_last`, without a
/// first-block input (module docs): 3,400 LUTs smaller than [`Ghash`].
#[derive(LogicBlock)]
pub struct GhashStream {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Hash key, as [`Ghash::h`] (per message).
    pub h: Signal<In, Bits<128>>,
    /// Restart from an empty message (reset).
    pub clear: Signal<In, bool>,
    /// As [`Ghash::in_valid`].
    pub in_valid: Signal<In, bool>,
    /// The block ends its message (the next block starts a new one).
    pub in_last: Signal<In, bool>,
    /// As [`Ghash::in_block`].
    pub in_block: Signal<In, Bits<128>>,
    /// As [`Ghash::out_valid`].
    pub out_valid: Signal<Out, bool>,
    /// As [`Ghash::out_last`].
    pub out_last: Signal<Out, bool>,
    /// GHASH of the last finished message (held until the next one finishes).
    pub out_hash: Signal<Out, Bits<128>>,
    mul: GfMul128,
    acc: DFF<Bits<128>>,
    hash: DFF<Bits<128>>,
    valid: DFF<bool>,
    last: DFF<bool>,
    zero: Constant<Bits<128>>,
}

impl GhashStream {
    /// An accumulator.
    pub fn new() -> Self {
        Self {
            clock: Default::default(),
            h: Default::default(),
            clear: Default::default(),
            in_valid: Default::default(),
            in_last: Default::default(),
            in_block: Default::default(),
            out_valid: Default::default(),
            out_last: Default::default(),
            out_hash: Default::default(),
            mul: GfMul128::new(),
            acc: Default::default(),
            hash: Default::default(),
            valid: Default::default(),
            last: Default::default(),
            zero: Constant::new(0.into()),
        }
    }
}

impl Default for GhashStream {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for GhashStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GhashStream").finish_non_exhaustive()
    }
}

impl Logic for GhashStream {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, acc, hash, valid, last);
        self.mul.a.next = self.acc.q.val() ^ self.in_block.val();
        self.mul.b.next = self.h.val();
        // The accumulator empties itself after the last block of a message (or
        // on `clear`): a synchronous reset, no logic in the feedback loop.
        if self.clear.val() | (self.in_valid.val() & self.in_last.val()) {
            self.acc.d.next = self.zero.val();
        } else if self.in_valid.val() {
            self.acc.d.next = self.mul.product.val();
        }
        if self.in_valid.val() {
            self.hash.d.next = self.mul.product.val();
        }
        self.valid.d.next = self.in_valid.val();
        self.last.d.next = self.in_valid.val() & self.in_last.val();
        self.out_valid.next = self.valid.q.val();
        self.out_last.next = self.last.q.val();
        self.out_hash.next = self.hash.q.val();
    }
}
