//! AES encryption datapath: S-box ROM, one registered round, and the unrolled,
//! fully pipelined AES-128 / AES-256 encryption pipeline (one block per clock).
//!
//! # Conventions
//! * Byte order: FIPS-197 order. Byte 0 of a block (state `s[0][0]`, the first
//!   input byte) is the **most significant** byte of the `Bits<128>`, i.e.
//!   bits `[127:120]`; byte 15 is bits `[7:0]`. Keys and round keys use the same
//!   order (word `w[4r]` of round key `r` is bits `[127:96]` of that key).
//! * Round-key bus: `round_keys` is `128 * (NR + 1)` bits wide; round key `r`
//!   is the slice `[128*r + 127 : 128*r]` (round key 0 in the low 128 bits),
//!   exactly the layout [`crate::keyexp::KeyExpansion`] produces.
//! * No reset: the data registers need none, and the valid bits start at 0
//!   (`initial` values); after a reset of the surrounding design the pipeline
//!   drains by itself within its latency.
//!
//! # [`AesRound`] (one stage)
//! | port          | dir | width | meaning                                        |
//! |---------------|-----|-------|------------------------------------------------|
//! | `clock`       | in  | 1     |                                                |
//! | `in_valid`    | in  | 1     | a block is present                             |
//! | `in_state`    | in  | 128   | state after the previous round                 |
//! | `in_aes256`   | in  | 1     | block belongs to an AES-256 key                |
//! | `in_tag`      | in  | TW    | user side-band, carried unchanged              |
//! | `round_key`   | in  | 128   | key of this round, same cycle as `in_state`    |
//! | `out_*`       | out |       | the same fields, registered (latency 1)        |
//!
//! Each stage is configured at construction with what it does for AES-128 and
//! for AES-256 blocks ([`RoundKind`]): a full round (SubBytes, ShiftRows,
//! MixColumns, AddRoundKey), the final round (no MixColumns) or a bypass
//! (state passed through unchanged, used by AES-128 blocks in stages 11..14).
//!
//! # [`AesEncPipeline`] (`Aes128Pipeline`, `Aes256Pipeline`)
//! | port          | dir | width            | meaning                               |
//! |---------------|-----|------------------|---------------------------------------|
//! | `clock`       | in  | 1                |                                       |
//! | `in_valid`    | in  | 1                | a block is presented this cycle       |
//! | `in_block`    | in  | 128              | plaintext block (e.g. counter block)  |
//! | `in_aes256`   | in  | 1                | 1 = 14-round AES-256, 0 = AES-128 (ignored by the 10-round pipeline) |
//! | `in_tag`      | in  | TW               | user side-band (SA index, plaintext, flags, ...) |
//! | `round_keys`  | in  | 128*(NR+1)       | **time-skewed**: slice `r` must hold round key `r` of the block that entered `r` cycles earlier (slice 0 belongs to the block on `in_block` now) |
//! | `out_valid`   | out | 1                | `in_valid` delayed by the latency     |
//! | `out_block`   | out | 128              | ciphertext block                      |
//! | `out_aes256`  | out | 1                | `in_aes256` delayed                   |
//! | `out_tag`     | out | TW               | `in_tag` delayed                      |
//!
//! Latency: **NR + 1 cycles** (11 for `Aes128Pipeline`, 15 for
//! `Aes256Pipeline`, for AES-128 and AES-256 blocks alike, so blocks of
//! different key sizes can follow each other back to back and stay in order):
//! a block presented in cycle `t` appears on `out_block` in cycle `t + NR + 1`.
//! Throughput: one block per clock, no bubbles, with any mix of keys.
//!
//! Why a skewed key bus: it lets the top keep round key `r` of every SA in its
//! own block RAM (1024 x 128 bits, written from the `rk_valid`/`rk_index`/
//! `rk_data` stream of [`crate::keyexp::KeyExpansion`] at SA install) and read
//! it with the SA index delayed by `r - 1` cycles (one cycle of RAM read
//! latency), so back-to-back blocks of different SAs cost only a 10-bit index
//! delay line, not a 1,920-bit key bundle travelling with every block. A top
//! that uses one key for a whole run of blocks may instead tie `round_keys` to
//! `KeyExpansion::round_keys` directly, provided the key does not change
//! while blocks of the previous key are still in the pipeline (`NR + 1` cycles).
//!
//! # Logic depth per stage (target 250 MHz on UltraScale+)
//! * Stage 0: `in_block ^ round_key 0`: 1 LUT level.
//! * Round stage: S-box = 256x8 ROM = LUT6 + MUXF7 + MUXF8 per output bit;
//!   ShiftRows is wiring; MixColumns + AddRoundKey: each output bit is the XOR
//!   of at most 7 S-box output bits and 1 key bit, plus the
//!   full/final/bypass select: 2 LUT levels. Total: 3 LUT levels + F7/F8.
//!   Registers at every stage boundary. Checked with yosys 0.23
//!   (`synth_xilinx -flatten`, then `ltp`) on one `AesRound`: the longest
//!   register-to-register path is LUT6, MUXF7, MUXF8, LUT, LUT. One round
//!   maps to 813 LUTs, 256 MUXF7, 128 MUXF8 and 138 FFs (8-bit tag).
//! * Whole `Aes256Pipeline<8>` (AES-256 and AES-128 per block): 10,244 LUTs,
//!   3,598 MUXF7, 1,793 MUXF8, 1,925 FFs, 10 SRL16E, no BRAM or DSP.
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Number of bits in one AES block.
pub const BLOCK_BITS: usize = 128;

/// The AES S-box, derived from its definition (FIPS-197 section 5.1.1:
/// multiplicative inverse in GF(2^8), then the affine transform).
pub fn sbox_table() -> [u8; 256] {
    fn mul(mut a: u8, mut b: u8) -> u8 {
        let mut p = 0u8;
        while b != 0 {
            if b & 1 != 0 {
                p ^= a;
            }
            let carry = a & 0x80 != 0;
            a <<= 1;
            if carry {
                a ^= 0x1b;
            }
            b >>= 1;
        }
        p
    }
    let mut table = [0u8; 256];
    for (x, entry) in table.iter_mut().enumerate() {
        let x = x as u8;
        // x^254 is the inverse of x (and maps 0 to 0).
        let mut inv = 1u8;
        for _ in 0..254 {
            inv = mul(inv, x);
        }
        let b = if x == 0 { 0 } else { inv };
        *entry =
            b ^ b.rotate_left(1) ^ b.rotate_left(2) ^ b.rotate_left(3) ^ b.rotate_left(4) ^ 0x63;
    }
    table
}

/// Destination byte of ShiftRows for each input byte (FIPS-197 5.1.2): the
/// byte in row `r`, column `c` moves to column `(c - r) mod 4`.
pub const SHIFT_ROWS_DEST: [usize; 16] = [0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3];

/// An S-box ROM whose 8-bit result lands in byte `lane` of a wider word
/// (`W` bits, byte 0 = most significant), so that a round can OR the 16
/// results into one word without casts.
pub fn sbox_rom<const W: usize>(lane: usize) -> ROM<Bits<W>, 8> {
    assert!(
        W / 8 * 8 == W && lane < W / 8,
        "S-box lane {lane} outside a {W}-bit word"
    );
    let table = sbox_table();
    let shift = (W - 8 - 8 * lane) as u32;
    let mut rom = BTreeMap::new();
    for (x, s) in table.iter().enumerate() {
        let word = (*s as u128) << shift;
        let value: Bits<W> = if W <= 64 {
            (word as u64).to_bits()
        } else {
            word.to_bits()
        };
        rom.insert((x as u64).to_bits::<8>(), value);
    }
    ROM::new(rom)
}

/// Zero-extends an `N`-bit value to `W` bits (`W > N`). rust-hdl renders
/// `bit_cast` widening as a mask of mismatched width, which Verilator flags;
/// this block emits a clean `{{(W-N){1'b0}}, narrow}` instead.
#[derive(LogicBlock, Default)]
pub struct ZeroExtend<const N: usize, const W: usize> {
    /// Value to widen.
    pub narrow: Signal<In, Bits<N>>,
    /// `narrow` with `W - N` zero bits above it.
    pub wide: Signal<Out, Bits<W>>,
}

impl<const N: usize, const W: usize> std::fmt::Debug for ZeroExtend<N, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZeroExtend<{N}, {W}>")
    }
}

impl<const N: usize, const W: usize> Logic for ZeroExtend<N, W> {
    fn update(&mut self) {
        self.wide.next = bit_cast::<W, N>(self.narrow.val());
    }
    fn connect(&mut self) {
        assert!(W > N, "ZeroExtend must widen");
        self.wide.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "always @(*) wide = {{{{{pad}{{1'b0}}}}, narrow}};",
            pad = W - N
        ))
    }
}

/// What a pipeline stage does to a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundKind {
    /// SubBytes, ShiftRows, MixColumns, AddRoundKey.
    Full,
    /// SubBytes, ShiftRows, AddRoundKey (the last round).
    Final,
    /// The state passes unchanged (AES-128 blocks after their last round).
    Bypass,
}

/// The rounds of an unrolled pipeline of `NR` rounds (10: AES-128; 14: AES-256 and
/// AES-128 per block) with a `KW`-bit round-key bus: for round `r` = 1..=NR, its kind
/// for AES-128 blocks and for AES-256 blocks. Shared by [`AesEncPipeline`] and
/// [`crate::aes_table::AesTablePipeline`].
///
/// # Panics
/// If `NR` is not 10 or 14 or `KW` is not `128 * (NR + 1)` (a design error caught
/// when the design is built).
pub(crate) fn round_schedule<const NR: usize, const KW: usize>() -> Vec<(RoundKind, RoundKind)> {
    assert!(NR == 10 || NR == 14, "NR must be 10 or 14, got {NR}");
    assert_eq!(KW, 128 * (NR + 1), "round-key bus width must be 128*(NR+1)");
    (1..=NR)
        .map(|r| {
            let k128 = match r {
                r if r < 10 => RoundKind::Full,
                10 => RoundKind::Final,
                _ => RoundKind::Bypass,
            };
            let k256 = if NR == 10 {
                k128
            } else if r < 14 {
                RoundKind::Full
            } else {
                RoundKind::Final
            };
            (k128, k256)
        })
        .collect()
}

fn word_mask(byte_pattern: u32) -> Constant<Bits<128>> {
    let w = byte_pattern as u128;
    Constant::new((w | (w << 32) | (w << 64) | (w << 96)).to_bits())
}

/// One registered AES round (see the module docs for ports and timing).
#[derive(LogicBlock)]
pub struct AesRound<const TW: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// A block enters the round.
    pub in_valid: Signal<In, bool>,
    /// State in, byte 0 at `[127:120]`.
    pub in_state: Signal<In, Bits<128>>,
    /// The block is AES-256 (selects the round kind for its key size).
    pub in_aes256: Signal<In, bool>,
    /// Word carried alongside the block.
    pub in_tag: Signal<In, Bits<TW>>,
    /// Key of this round.
    pub round_key: Signal<In, Bits<128>>,
    /// The block leaves the round (one cycle after `in_valid`).
    pub out_valid: Signal<Out, bool>,
    /// State out, byte 0 at `[127:120]`.
    pub out_state: Signal<Out, Bits<128>>,
    /// `in_aes256` of the block at `out_state`.
    pub out_aes256: Signal<Out, bool>,
    /// `in_tag` of the block at `out_state`.
    pub out_tag: Signal<Out, Bits<TW>>,
    sbox: Vec<ROM<Bits<128>, 8>>,
    shifted: Signal<Local, Bits<128>>,
    rot1: Signal<Local, Bits<128>>,
    rot2: Signal<Local, Bits<128>>,
    rot3: Signal<Local, Bits<128>>,
    pair: Signal<Local, Bits<128>>,
    carry: Signal<Local, Bits<128>>,
    mixed: Signal<Local, Bits<128>>,
    do_mix: Signal<Local, bool>,
    do_pass: Signal<Local, bool>,
    state: DFF<Bits<128>>,
    valid: DFF<bool>,
    aes256: DFF<bool>,
    tag: DFF<Bits<TW>>,
    mask_b123: Constant<Bits<128>>,
    mask_b3: Constant<Bits<128>>,
    mask_b23: Constant<Bits<128>>,
    mask_b01: Constant<Bits<128>>,
    mask_b0: Constant<Bits<128>>,
    mask_b012: Constant<Bits<128>>,
    mask_lsb: Constant<Bits<128>>,
    mask_no_lsb: Constant<Bits<128>>,
    mix_128: Constant<bool>,
    pass_128: Constant<bool>,
    mix_256: Constant<bool>,
    pass_256: Constant<bool>,
}

impl<const TW: usize> AesRound<TW> {
    /// A stage doing `kind_128` to AES-128 blocks and `kind_256` to AES-256 blocks.
    pub fn new(kind_128: RoundKind, kind_256: RoundKind) -> Self {
        assert!(TW >= 1, "the tag must be at least one bit wide");
        Self {
            clock: Default::default(),
            in_valid: Default::default(),
            in_state: Default::default(),
            in_aes256: Default::default(),
            in_tag: Default::default(),
            round_key: Default::default(),
            out_valid: Default::default(),
            out_state: Default::default(),
            out_aes256: Default::default(),
            out_tag: Default::default(),
            sbox: (0..16)
                .map(|n| sbox_rom::<128>(SHIFT_ROWS_DEST[n]))
                .collect(),
            shifted: Default::default(),
            rot1: Default::default(),
            rot2: Default::default(),
            rot3: Default::default(),
            pair: Default::default(),
            carry: Default::default(),
            mixed: Default::default(),
            do_mix: Default::default(),
            do_pass: Default::default(),
            state: Default::default(),
            valid: Default::default(),
            aes256: Default::default(),
            tag: Default::default(),
            mask_b123: word_mask(0x00ff_ffff),
            mask_b3: word_mask(0x0000_00ff),
            mask_b23: word_mask(0x0000_ffff),
            mask_b01: word_mask(0xffff_0000),
            mask_b0: word_mask(0xff00_0000),
            mask_b012: word_mask(0xffff_ff00),
            mask_lsb: word_mask(0x0101_0101),
            mask_no_lsb: word_mask(0xfefe_fefe),
            mix_128: Constant::new(kind_128 == RoundKind::Full),
            pass_128: Constant::new(kind_128 == RoundKind::Bypass),
            mix_256: Constant::new(kind_256 == RoundKind::Full),
            pass_256: Constant::new(kind_256 == RoundKind::Bypass),
        }
    }
}

impl<const TW: usize> std::fmt::Debug for AesRound<TW> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AesRound")
            .field("tag_bits", &TW)
            .finish_non_exhaustive()
    }
}

impl<const TW: usize> Logic for AesRound<TW> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, valid, aes256, tag);
        // SubBytes with ShiftRows folded into where each S-box result lands.
        for n in 0..16 {
            self.sbox[n].address.next = self.in_state.val().get_bits::<8>(8 * (15 - n));
        }
        self.shifted.next = self.sbox[0].data.val()
            | self.sbox[1].data.val()
            | self.sbox[2].data.val()
            | self.sbox[3].data.val()
            | self.sbox[4].data.val()
            | self.sbox[5].data.val()
            | self.sbox[6].data.val()
            | self.sbox[7].data.val()
            | self.sbox[8].data.val()
            | self.sbox[9].data.val()
            | self.sbox[10].data.val()
            | self.sbox[11].data.val()
            | self.sbox[12].data.val()
            | self.sbox[13].data.val()
            | self.sbox[14].data.val()
            | self.sbox[15].data.val();
        // Column rotations: rotK puts byte (r + K) mod 4 of a column in row r.
        self.rot1.next = ((self.shifted.val() << 8) & self.mask_b012.val())
            | ((self.shifted.val() >> 24) & self.mask_b3.val());
        self.rot2.next = ((self.shifted.val() << 16) & self.mask_b01.val())
            | ((self.shifted.val() >> 16) & self.mask_b23.val());
        self.rot3.next = ((self.shifted.val() << 24) & self.mask_b0.val())
            | ((self.shifted.val() >> 8) & self.mask_b123.val());
        // MixColumns: b_r = 2*(a_r ^ a_(r+1)) ^ a_(r+1) ^ a_(r+2) ^ a_(r+3).
        self.pair.next = self.shifted.val() ^ self.rot1.val();
        self.carry.next = (self.pair.val() >> 7) & self.mask_lsb.val();
        self.mixed.next = ((self.pair.val() << 1) & self.mask_no_lsb.val())
            ^ self.carry.val()
            ^ (self.carry.val() << 1)
            ^ (self.carry.val() << 3)
            ^ (self.carry.val() << 4)
            ^ self.rot1.val()
            ^ self.rot2.val()
            ^ self.rot3.val();
        if self.in_aes256.val() {
            self.do_mix.next = self.mix_256.val();
            self.do_pass.next = self.pass_256.val();
        } else {
            self.do_mix.next = self.mix_128.val();
            self.do_pass.next = self.pass_128.val();
        }
        if self.do_pass.val() {
            self.state.d.next = self.in_state.val();
        } else if self.do_mix.val() {
            self.state.d.next = self.mixed.val() ^ self.round_key.val();
        } else {
            self.state.d.next = self.shifted.val() ^ self.round_key.val();
        }
        self.valid.d.next = self.in_valid.val();
        self.aes256.d.next = self.in_aes256.val();
        self.tag.d.next = self.in_tag.val();
        self.out_state.next = self.state.q.val();
        self.out_valid.next = self.valid.q.val();
        self.out_aes256.next = self.aes256.q.val();
        self.out_tag.next = self.tag.q.val();
    }
}

/// The unrolled AES encryption pipeline with `NR` round stages after the
/// initial AddRoundKey stage. `KW` must be `128 * (NR + 1)`; use the aliases
/// [`Aes128Pipeline`] and [`Aes256Pipeline`].
#[derive(LogicBlock)]
pub struct AesEncPipeline<const NR: usize, const KW: usize, const TW: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// A block enters.
    pub in_valid: Signal<In, bool>,
    /// Plaintext block, byte 0 at `[127:120]`.
    pub in_block: Signal<In, Bits<128>>,
    /// The block is AES-256 (else AES-128).
    pub in_aes256: Signal<In, bool>,
    /// Word carried alongside the block.
    pub in_tag: Signal<In, Bits<TW>>,
    /// All round keys, round `r` at `[128r+127:128r]` (from `KeyExpansion`).
    pub round_keys: Signal<In, Bits<KW>>,
    /// A block leaves, `LATENCY` cycles after it entered.
    pub out_valid: Signal<Out, bool>,
    /// Ciphertext block, byte 0 at `[127:120]`.
    pub out_block: Signal<Out, Bits<128>>,
    /// `in_aes256` of the block at `out_block`.
    pub out_aes256: Signal<Out, bool>,
    /// `in_tag` of the block at `out_block`.
    pub out_tag: Signal<Out, Bits<TW>>,
    whiten: DFF<Bits<128>>,
    valid: DFF<bool>,
    aes256: DFF<bool>,
    tag: DFF<Bits<TW>>,
    rounds: Vec<AesRound<TW>>,
}

/// AES-128 only: 10 rounds, latency 11 cycles, `round_keys` 1,408 bits.
pub type Aes128Pipeline<const TW: usize> = AesEncPipeline<10, 1408, TW>;
/// AES-256 and AES-128 per block (`in_aes256`): 14 rounds, latency 15 cycles,
/// `round_keys` 1,920 bits (AES-128 blocks use slices 0..=10 only).
pub type Aes256Pipeline<const TW: usize> = AesEncPipeline<14, 1920, TW>;

impl<const NR: usize, const KW: usize, const TW: usize> AesEncPipeline<NR, KW, TW> {
    /// Latency in clock cycles from `in_block` to `out_block`.
    pub const LATENCY: usize = NR + 1;

    /// Builds the pipeline; `NR` must be 10 (AES-128) or 14 (AES-256 + AES-128).
    pub fn new() -> Self {
        let rounds = round_schedule::<NR, KW>()
            .into_iter()
            .map(|(k128, k256)| AesRound::new(k128, k256))
            .collect();
        Self {
            clock: Default::default(),
            in_valid: Default::default(),
            in_block: Default::default(),
            in_aes256: Default::default(),
            in_tag: Default::default(),
            round_keys: Default::default(),
            out_valid: Default::default(),
            out_block: Default::default(),
            out_aes256: Default::default(),
            out_tag: Default::default(),
            whiten: Default::default(),
            valid: Default::default(),
            aes256: Default::default(),
            tag: Default::default(),
            rounds,
        }
    }
}

impl<const NR: usize, const KW: usize, const TW: usize> Default for AesEncPipeline<NR, KW, TW> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const NR: usize, const KW: usize, const TW: usize> std::fmt::Debug
    for AesEncPipeline<NR, KW, TW>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AesEncPipeline")
            .field("rounds", &NR)
            .field("tag_bits", &TW)
            .finish_non_exhaustive()
    }
}

impl<const NR: usize, const KW: usize, const TW: usize> Logic for AesEncPipeline<NR, KW, TW> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, whiten, valid, aes256, tag);
        // Stage 0: initial AddRoundKey.
        self.whiten.d.next = self.in_block.val() ^ self.round_keys.val().get_bits::<128>(0);
        self.valid.d.next = self.in_valid.val();
        self.aes256.d.next = self.in_aes256.val();
        self.tag.d.next = self.in_tag.val();
        for r in 0..NR {
            self.rounds[r].clock.next = self.clock.val();
            self.rounds[r].round_key.next = self.round_keys.val().get_bits::<128>(128 * (r + 1));
        }
        self.rounds[0].in_state.next = self.whiten.q.val();
        self.rounds[0].in_valid.next = self.valid.q.val();
        self.rounds[0].in_aes256.next = self.aes256.q.val();
        self.rounds[0].in_tag.next = self.tag.q.val();
        for r in 1..NR {
            self.rounds[r].in_state.next = self.rounds[r - 1].out_state.val();
            self.rounds[r].in_valid.next = self.rounds[r - 1].out_valid.val();
            self.rounds[r].in_aes256.next = self.rounds[r - 1].out_aes256.val();
            self.rounds[r].in_tag.next = self.rounds[r - 1].out_tag.val();
        }
        for r in (NR - 1)..NR {
            self.out_block.next = self.rounds[r].out_state.val();
            self.out_valid.next = self.rounds[r].out_valid.val();
            self.out_aes256.next = self.rounds[r].out_aes256.val();
            self.out_tag.next = self.rounds[r].out_tag.val();
        }
    }
}
