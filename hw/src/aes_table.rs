//! AES encryption pipeline with the S-boxes in block RAM ("T-tables"): the LUT-light
//! alternative to [`crate::aes::AesEncPipeline`], same ports, one block per clock,
//! latency one cycle longer (`NR + 2`: the output is registered).
//!
//! Each round looks its 16 state bytes up in a 256 x 32-bit table
//! T0[x] = (2 S(x), S(x), S(x), 3 S(x)) (SubBytes and MixColumns in one lookup) held
//! in block RAM, two lookups per dual-port ROM ([`TTableRom`], 8 per round); the RAM's
//! output register is the round's pipeline register. After it, a column of a full
//! round is T0[a] ^ ror8(T0[b]) ^ ror16(T0[c]) ^ ror24(T0[d]) ^ round key (one LUT
//! level, 5 inputs per bit), a final round takes S(x) from byte 1 of the same lookups,
//! and a bypassed round (AES-128 blocks in stages 11..14) passes a registered copy of
//! the state, then a 3-way select: about 2 LUT levels between the block-RAM output and
//! the next round's block-RAM address.
//!
//! Differences from [`crate::aes::AesEncPipeline`]:
//! * the round keys are applied after the stage's register, so slice `r >= 1` of a
//!   time-skewed `round_keys` bus belongs to the block that entered `r + 1` cycles
//!   earlier (slice 0 as before); with one key per run of blocks (as `top` uses it)
//!   there is no difference;
//! * the output is registered once more after the last round (latency `NR + 2`).
//!
//! Resources (yosys 0.23 `synth_xilinx -flatten`, `hw/tests/crypto_synth.rs`): see
//! the hw README. The tables use `(* rom_style = "block" *)` so yosys maps each
//! [`TTableRom`] to one RAMB36 (without it the ROM goes to LUTs).

use crate::aes::sbox_table;
use rust_hdl::prelude::*;

/// T0[x] = (2 S(x), S(x), S(x), 3 S(x)), byte 0 (`2 S(x)`) in bits `[31:24]`.
pub fn t0_table() -> [u32; 256] {
    let s = sbox_table();
    let mut t = [0u32; 256];
    for (x, e) in t.iter_mut().enumerate() {
        let v = s[x];
        let v2 = (v << 1) ^ if v & 0x80 != 0 { 0x1b } else { 0 };
        let v3 = v2 ^ v;
        *e = u32::from_be_bytes([v2, v, v, v3]);
    }
    t
}

/// A 256 x 32-bit ROM holding [`t0_table`] rotated right by `8 * rot` bits (the
/// MixColumns column for state row `rot`), with two registered read ports (one block
/// RAM in true dual-port mode). Each port's word lands in the 128-bit output at its
/// own column (`shift0`, `shift1` bits from the right), zeros elsewhere.
#[derive(LogicBlock)]
pub struct TTableRom {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Address of port 0.
    pub a0: Signal<In, Bits<8>>,
    /// Address of port 1.
    pub a1: Signal<In, Bits<8>>,
    /// T[a0] of the previous cycle, placed at column `shift0`.
    pub d0: Signal<Out, Bits<128>>,
    /// T[a1] of the previous cycle, placed at column `shift1`.
    pub d1: Signal<Out, Bits<128>>,
    _table: Box<[u32; 256]>,
    _shift: [u32; 2],
}

impl TTableRom {
    /// The ROM of state row `rot` (0..4) feeding columns at `shift0` and `shift1`.
    pub fn new(rot: u32, shift0: u32, shift1: u32) -> Self {
        let mut t = t0_table();
        for e in t.iter_mut() {
            *e = e.rotate_right(8 * rot);
        }
        Self {
            clock: Default::default(),
            a0: Default::default(),
            a1: Default::default(),
            d0: Default::default(),
            d1: Default::default(),
            _table: Box::new(t),
            _shift: [shift0, shift1],
        }
    }
}

impl Logic for TTableRom {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let w0 = u128::from(self._table[self.a0.val().to_u64() as usize]) << self._shift[0];
            let w1 = u128::from(self._table[self.a1.val().to_u64() as usize]) << self._shift[1];
            self.d0.next = w0.to_bits();
            self.d1.next = w1.to_bits();
        }
    }

    fn connect(&mut self) {
        self.d0.connect();
        self.d1.connect();
    }

    fn hdl(&self) -> Verilog {
        let init = self
            ._table
            .iter()
            .enumerate()
            .map(|(i, v)| format!("    mem[{i}] = 32'h{v:08x};"))
            .collect::<Vec<_>>()
            .join("\n");
        let place = |port: usize, addr: &str| {
            let sh = self._shift[port];
            let hi = 96 - sh;
            match (hi, sh) {
                (0, 0) => format!("mem[{addr}]"),
                (0, _) => format!("{{mem[{addr}], {sh}'d0}}"),
                (_, 0) => format!("{{{hi}'d0, mem[{addr}]}}"),
                _ => format!("{{{hi}'d0, mem[{addr}], {sh}'d0}}"),
            }
        };
        Verilog::Custom(format!(
            "(* rom_style = \"block\" *) reg [31:0] mem [255:0];\n\
             initial begin\n{init}\nend\n\
             always @(posedge clock) begin\n    d0 <= {p0};\n    d1 <= {p1};\nend",
            p0 = place(0, "a0"),
            p1 = place(1, "a1")
        ))
    }
}

fn row_mask(r: u32) -> Constant<Bits<128>> {
    let w = (0xffu128 << (24 - 8 * r)) * (1 | (1 << 32) | (1 << 64) | (1 << 96));
    Constant::new(w.to_bits())
}

/// One round with its lookups in block RAM (see the module docs).
#[derive(LogicBlock)]
pub struct AesTRound<const TW: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// A block enters the round.
    pub in_valid: Signal<In, bool>,
    /// State in (the T-table addresses), byte 0 at `[127:120]`.
    pub in_state: Signal<In, Bits<128>>,
    /// The block is AES-256 (selects the round kind for its key size).
    pub in_aes256: Signal<In, bool>,
    /// Word carried alongside the block.
    pub in_tag: Signal<In, Bits<TW>>,
    /// Key of this round, in the cycle the block is at `out_state`.
    pub round_key: Signal<In, Bits<128>>,
    /// The block leaves the round (one cycle after `in_valid`).
    pub out_valid: Signal<Out, bool>,
    /// Combinational after the lookups' registers.
    pub out_state: Signal<Out, Bits<128>>,
    /// `in_aes256` of the block at `out_state`.
    pub out_aes256: Signal<Out, bool>,
    /// `in_tag` of the block at `out_state`.
    pub out_tag: Signal<Out, Bits<TW>>,
    roms: Vec<TTableRom>,
    dr0: Signal<Local, Bits<128>>,
    dr1: Signal<Local, Bits<128>>,
    dr2: Signal<Local, Bits<128>>,
    dr3: Signal<Local, Bits<128>>,
    full: Signal<Local, Bits<128>>,
    last: Signal<Local, Bits<128>>,
    row0: Constant<Bits<128>>,
    row1: Constant<Bits<128>>,
    row2: Constant<Bits<128>>,
    row3: Constant<Bits<128>>,
    do_mix: Signal<Local, bool>,
    do_pass: Signal<Local, bool>,
    pass: DFF<Bits<128>>,
    valid: DFF<bool>,
    aes256: DFF<bool>,
    tag: DFF<Bits<TW>>,
    mix_128: Constant<bool>,
    pass_128: Constant<bool>,
    mix_256: Constant<bool>,
    pass_256: Constant<bool>,
}

impl<const TW: usize> AesTRound<TW> {
    /// A stage doing `kind_128` to AES-128 blocks and `kind_256` to AES-256 blocks.
    pub fn new(kind_128: crate::aes::RoundKind, kind_256: crate::aes::RoundKind) -> Self {
        use crate::aes::RoundKind;
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
            // ROM 2r + h: state row r, output columns 2h and 2h + 1.
            roms: (0..8)
                .map(|k| TTableRom::new(k / 2, 96 - 64 * (k % 2), 64 - 64 * (k % 2)))
                .collect(),
            dr0: Default::default(),
            dr1: Default::default(),
            dr2: Default::default(),
            dr3: Default::default(),
            full: Default::default(),
            row0: row_mask(0),
            row1: row_mask(1),
            row2: row_mask(2),
            row3: row_mask(3),
            last: Default::default(),
            do_mix: Default::default(),
            do_pass: Default::default(),
            pass: Default::default(),
            valid: Default::default(),
            aes256: Default::default(),
            tag: Default::default(),
            mix_128: Constant::new(kind_128 == RoundKind::Full),
            pass_128: Constant::new(kind_128 == RoundKind::Bypass),
            mix_256: Constant::new(kind_256 == RoundKind::Full),
            pass_256: Constant::new(kind_256 == RoundKind::Bypass),
        }
    }
}

impl<const TW: usize> std::fmt::Debug for AesTRound<TW> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AesTRound")
            .field("tag_bits", &TW)
            .finish_non_exhaustive()
    }
}

impl<const TW: usize> Logic for AesTRound<TW> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, pass, valid, aes256, tag);
        self.roms[0].clock.next = self.clock.val();
        self.roms[1].clock.next = self.clock.val();
        self.roms[2].clock.next = self.clock.val();
        self.roms[3].clock.next = self.clock.val();
        self.roms[4].clock.next = self.clock.val();
        self.roms[5].clock.next = self.clock.val();
        self.roms[6].clock.next = self.clock.val();
        self.roms[7].clock.next = self.clock.val();
        self.roms[0].a0.next = self.in_state.val().get_bits::<8>(120);
        self.roms[0].a1.next = self.in_state.val().get_bits::<8>(88);
        self.roms[1].a0.next = self.in_state.val().get_bits::<8>(56);
        self.roms[1].a1.next = self.in_state.val().get_bits::<8>(24);
        self.roms[2].a0.next = self.in_state.val().get_bits::<8>(80);
        self.roms[2].a1.next = self.in_state.val().get_bits::<8>(48);
        self.roms[3].a0.next = self.in_state.val().get_bits::<8>(16);
        self.roms[3].a1.next = self.in_state.val().get_bits::<8>(112);
        self.roms[4].a0.next = self.in_state.val().get_bits::<8>(40);
        self.roms[4].a1.next = self.in_state.val().get_bits::<8>(8);
        self.roms[5].a0.next = self.in_state.val().get_bits::<8>(104);
        self.roms[5].a1.next = self.in_state.val().get_bits::<8>(72);
        self.roms[6].a0.next = self.in_state.val().get_bits::<8>(0);
        self.roms[6].a1.next = self.in_state.val().get_bits::<8>(96);
        self.roms[7].a0.next = self.in_state.val().get_bits::<8>(64);
        self.roms[7].a1.next = self.in_state.val().get_bits::<8>(32);
        self.dr0.next = self.roms[0].d0.val()
            | self.roms[0].d1.val()
            | self.roms[1].d0.val()
            | self.roms[1].d1.val();
        self.dr1.next = self.roms[2].d0.val()
            | self.roms[2].d1.val()
            | self.roms[3].d0.val()
            | self.roms[3].d1.val();
        self.dr2.next = self.roms[4].d0.val()
            | self.roms[4].d1.val()
            | self.roms[5].d0.val()
            | self.roms[5].d1.val();
        self.dr3.next = self.roms[6].d0.val()
            | self.roms[6].d1.val()
            | self.roms[7].d0.val()
            | self.roms[7].d1.val();
        self.full.next = self.dr0.val() ^ self.dr1.val() ^ self.dr2.val() ^ self.dr3.val();
        // Final round: S(x) of state row r sits in row r + 1 of its rotated word.
        self.last.next = ((self.dr0.val() << 8) & self.row0.val())
            | ((self.dr1.val() << 8) & self.row1.val())
            | ((self.dr2.val() << 8) & self.row2.val())
            | ((self.dr3.val() >> 24) & self.row3.val());
        self.pass.d.next = self.in_state.val();
        self.valid.d.next = self.in_valid.val();
        self.aes256.d.next = self.in_aes256.val();
        self.tag.d.next = self.in_tag.val();
        if self.aes256.q.val() {
            self.do_mix.next = self.mix_256.val();
            self.do_pass.next = self.pass_256.val();
        } else {
            self.do_mix.next = self.mix_128.val();
            self.do_pass.next = self.pass_128.val();
        }
        if self.do_pass.val() {
            self.out_state.next = self.pass.q.val();
        } else if self.do_mix.val() {
            self.out_state.next = self.full.val() ^ self.round_key.val();
        } else {
            self.out_state.next = self.last.val() ^ self.round_key.val();
        }
        self.out_valid.next = self.valid.q.val();
        self.out_aes256.next = self.aes256.q.val();
        self.out_tag.next = self.tag.q.val();
    }
}

/// The unrolled pipeline of [`AesTRound`]s after an initial AddRoundKey stage;
/// `KW = 128 * (NR + 1)`. Use [`Aes256TablePipeline`].
#[derive(LogicBlock)]
pub struct AesTablePipeline<const NR: usize, const KW: usize, const TW: usize> {
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
    rounds: Vec<AesTRound<TW>>,
    o_block: DFF<Bits<128>>,
    o_valid: DFF<bool>,
    o_aes256: DFF<bool>,
    o_tag: DFF<Bits<TW>>,
}

/// AES-256 and AES-128 per block (`in_aes256`): 14 table rounds, latency 16.
pub type Aes256TablePipeline<const TW: usize> = AesTablePipeline<14, 1920, TW>;

impl<const NR: usize, const KW: usize, const TW: usize> AesTablePipeline<NR, KW, TW> {
    /// Latency in clock cycles from `in_block` to `out_block` (one more than
    /// [`crate::aes::AesEncPipeline`]: the output is registered).
    pub const LATENCY: usize = NR + 2;

    /// Builds the pipeline; `NR` must be 10 (AES-128) or 14 (AES-256 + AES-128).
    pub fn new() -> Self {
        let rounds = crate::aes::round_schedule::<NR, KW>()
            .into_iter()
            .map(|(k128, k256)| AesTRound::new(k128, k256))
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
            o_block: Default::default(),
            o_valid: Default::default(),
            o_aes256: Default::default(),
            o_tag: Default::default(),
        }
    }
}

impl<const NR: usize, const KW: usize, const TW: usize> Default for AesTablePipeline<NR, KW, TW> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const NR: usize, const KW: usize, const TW: usize> std::fmt::Debug
    for AesTablePipeline<NR, KW, TW>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AesTablePipeline")
            .field("rounds", &NR)
            .field("tag_bits", &TW)
            .finish_non_exhaustive()
    }
}

impl<const NR: usize, const KW: usize, const TW: usize> Logic for AesTablePipeline<NR, KW, TW> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, whiten, valid, aes256, tag, o_block, o_valid, o_aes256, o_tag);
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
            self.o_block.d.next = self.rounds[r].out_state.val();
            self.o_valid.d.next = self.rounds[r].out_valid.val();
            self.o_aes256.d.next = self.rounds[r].out_aes256.val();
            self.o_tag.d.next = self.rounds[r].out_tag.val();
        }
        self.out_block.next = self.o_block.q.val();
        self.out_valid.next = self.o_valid.q.val();
        self.out_aes256.next = self.o_aes256.q.val();
        self.out_tag.next = self.o_tag.q.val();
    }
}

/// Number of round-key RAMs of [`AesKeyedPipeline`]: round keys 0..=14 of AES-256
/// (AES-128 uses 0..=10).
pub const ROUND_KEYS: usize = 15;

/// The T-table pipeline with the expanded keys of every SA stored beside it: each of
/// the 15 round keys has its own RAM of `2^SW` entries (one per SA), read by the SA
/// index that travels with the block, so consecutive blocks may belong to different
/// SAs with no drain and no key expansion between them.
///
/// Timing: a block enters (`in_valid`, `in_block`, `in_aes256`, `in_sa`) in cycle
/// `t`; round key 0 is read at `in_sa` in cycle `t` and applied in `t + 1` (the
/// whitening XOR sits in front of round 1's table addresses instead of behind an
/// input register); round key `r >= 1` is read in the cycle the block's state
/// addresses round `r`'s tables, so it arrives with their registered words. The
/// latency is the same as [`AesTablePipeline`]'s (`NR + 2` = 16).
///
/// The round-key RAMs are written one round key at a time (`rk_we`, `rk_round`,
/// `rk_addr`, `rk_data`, e.g. from [`crate::keyexp::KeyExpansion`]'s `rk_*` ports)
/// or wiped for one SA at once (`rk_wipe`: all 15 round keys of `rk_addr` set to
/// zero). A write to an SA must not overlap blocks of that SA in flight (the engine
/// runs SA commands with the pipeline empty).
///
/// Cost: 15 RAMs of `2^SW x 128` bits (for 1024 SAs 4 RAMB36 each, 60 in all) and
/// an SA-index register per stage (`SW` flip-flops); no logic in the round datapath
/// besides the round-0 XOR (one LUT level before round 1's block-RAM address).
#[derive(LogicBlock)]
pub struct AesKeyedPipeline<const TW: usize, const SW: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// A block enters.
    pub in_valid: Signal<In, bool>,
    /// Plaintext block, byte 0 at `[127:120]`.
    pub in_block: Signal<In, Bits<128>>,
    /// The block's SA is AES-256 (else AES-128).
    pub in_aes256: Signal<In, bool>,
    /// The block's SA (selects its round keys).
    pub in_sa: Signal<In, Bits<SW>>,
    /// Word carried alongside the block.
    pub in_tag: Signal<In, Bits<TW>>,
    /// Write round key `rk_round` of SA `rk_addr`.
    pub rk_we: Signal<In, bool>,
    /// Round number (0..=14) of `rk_data`.
    pub rk_round: Signal<In, Bits<4>>,
    /// Wipe all round keys of SA `rk_addr` (overrides `rk_we`).
    pub rk_wipe: Signal<In, bool>,
    /// SA index written or wiped.
    pub rk_addr: Signal<In, Bits<SW>>,
    /// Round key written, word `w[4r]` in the top 32 bits.
    pub rk_data: Signal<In, Bits<128>>,
    /// A block leaves, `LATENCY` cycles after it entered.
    pub out_valid: Signal<Out, bool>,
    /// Ciphertext block, byte 0 at `[127:120]`.
    pub out_block: Signal<Out, Bits<128>>,
    /// `in_aes256` of the block at `out_block`.
    pub out_aes256: Signal<Out, bool>,
    /// `in_tag` of the block at `out_block`.
    pub out_tag: Signal<Out, Bits<TW>>,
    rk: Vec<RAM<Bits<128>, SW>>,
    sa_st: Vec<DFF<Bits<SW>>>,
    rk_sel: Signal<Local, Bits<15>>,
    k_one: Constant<Bits<15>>,
    k_zero: Constant<Bits<128>>,
    blk: DFF<Bits<128>>,
    sa_w: DFF<Bits<SW>>,
    valid: DFF<bool>,
    aes256: DFF<bool>,
    tag: DFF<Bits<TW>>,
    rounds: Vec<AesTRound<TW>>,
    o_block: DFF<Bits<128>>,
    o_valid: DFF<bool>,
    o_aes256: DFF<bool>,
    o_tag: DFF<Bits<TW>>,
}

impl<const TW: usize, const SW: usize> AesKeyedPipeline<TW, SW> {
    /// Latency in clock cycles from `in_block` to `out_block`.
    pub const LATENCY: usize = 16;

    /// The pipeline (14 table rounds, AES-256 and AES-128 per block).
    pub fn new() -> Self {
        let rounds = crate::aes::round_schedule::<14, 1920>()
            .into_iter()
            .map(|(k128, k256)| AesTRound::new(k128, k256))
            .collect();
        Self {
            clock: Default::default(),
            in_valid: Default::default(),
            in_block: Default::default(),
            in_aes256: Default::default(),
            in_sa: Default::default(),
            in_tag: Default::default(),
            rk_we: Default::default(),
            rk_round: Default::default(),
            rk_wipe: Default::default(),
            rk_addr: Default::default(),
            rk_data: Default::default(),
            out_valid: Default::default(),
            out_block: Default::default(),
            out_aes256: Default::default(),
            out_tag: Default::default(),
            rk: (0..ROUND_KEYS).map(|_| RAM::default()).collect(),
            sa_st: (0..13).map(|_| DFF::default()).collect(),
            rk_sel: Default::default(),
            k_one: Constant::new(1.into()),
            k_zero: Constant::new(0.into()),
            blk: Default::default(),
            sa_w: Default::default(),
            valid: Default::default(),
            aes256: Default::default(),
            tag: Default::default(),
            rounds,
            o_block: Default::default(),
            o_valid: Default::default(),
            o_aes256: Default::default(),
            o_tag: Default::default(),
        }
    }
}

impl<const TW: usize, const SW: usize> Default for AesKeyedPipeline<TW, SW> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const TW: usize, const SW: usize> std::fmt::Debug for AesKeyedPipeline<TW, SW> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never prints key material.
        f.debug_struct("AesKeyedPipeline")
            .field("tag_bits", &TW)
            .field("sa_bits", &SW)
            .finish_non_exhaustive()
    }
}

impl<const TW: usize, const SW: usize> Logic for AesKeyedPipeline<TW, SW> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, blk, sa_w, valid, aes256, tag, o_block, o_valid, o_aes256, o_tag);
        // Round-key RAMs: one write port shared by the expansion and the wipe.
        self.rk_sel.next = self.k_one.val() << self.rk_round.val();
        for r in 0..15 {
            self.rk[r].read_clock.next = self.clock.val();
            self.rk[r].write_clock.next = self.clock.val();
            self.rk[r].write_address.next = self.rk_addr.val();
            self.rk[r].write_enable.next =
                self.rk_wipe.val() | (self.rk_we.val() & self.rk_sel.val().get_bit(r));
            if self.rk_wipe.val() {
                self.rk[r].write_data.next = self.k_zero.val();
            } else {
                self.rk[r].write_data.next = self.rk_data.val();
            }
        }
        for r in 0..13 {
            self.sa_st[r].clock.next = self.clock.val();
        }
        // Input register; round key 0 is read at the block's SA meanwhile.
        self.blk.d.next = self.in_block.val();
        self.sa_w.d.next = self.in_sa.val();
        self.valid.d.next = self.in_valid.val();
        self.aes256.d.next = self.in_aes256.val();
        self.tag.d.next = self.in_tag.val();
        self.rk[0].read_address.next = self.in_sa.val();
        // Round r + 1's key is read while the block addresses round r's tables.
        self.rk[1].read_address.next = self.sa_w.q.val();
        self.sa_st[0].d.next = self.sa_w.q.val();
        for r in 1..14 {
            self.rk[r + 1].read_address.next = self.sa_st[r - 1].q.val();
        }
        for r in 1..13 {
            self.sa_st[r].d.next = self.sa_st[r - 1].q.val();
        }
        for r in 0..14 {
            self.rounds[r].clock.next = self.clock.val();
            self.rounds[r].round_key.next = self.rk[r + 1].read_data.val();
        }
        self.rounds[0].in_state.next = self.blk.q.val() ^ self.rk[0].read_data.val();
        self.rounds[0].in_valid.next = self.valid.q.val();
        self.rounds[0].in_aes256.next = self.aes256.q.val();
        self.rounds[0].in_tag.next = self.tag.q.val();
        for r in 1..14 {
            self.rounds[r].in_state.next = self.rounds[r - 1].out_state.val();
            self.rounds[r].in_valid.next = self.rounds[r - 1].out_valid.val();
            self.rounds[r].in_aes256.next = self.rounds[r - 1].out_aes256.val();
            self.rounds[r].in_tag.next = self.rounds[r - 1].out_tag.val();
        }
        self.o_block.d.next = self.rounds[13].out_state.val();
        self.o_valid.d.next = self.rounds[13].out_valid.val();
        self.o_aes256.d.next = self.rounds[13].out_aes256.val();
        self.o_tag.d.next = self.rounds[13].out_tag.val();
        self.out_block.next = self.o_block.q.val();
        self.out_valid.next = self.o_valid.q.val();
        self.out_aes256.next = self.o_aes256.q.val();
        self.out_tag.next = self.o_tag.q.val();
    }
}
