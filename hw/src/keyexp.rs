//! Iterative AES-128 / AES-256 key expansion (FIPS-197 section 5.2) for SA
//! install time: one round key per clock, 15 round keys in 15 cycles.
//!
//! # Conventions
//! * FIPS-197 byte order: byte 0 of the key is the most significant byte of
//!   `key` (bits `[255:248]`). An AES-128 key occupies `key[255:128]`; the low
//!   half is ignored for AES-128.
//! * Output bus `round_keys` (1,920 bits): round key `r` is the slice
//!   `[128*r + 127 : 128*r]`, its word `w[4r]` in the top 32 bits of the slice;
//!   the same layout as the `round_keys` port of [`crate::aes::AesEncPipeline`]
//!   (an AES-128 expansion fills slices 0..=10 with the FIPS-197 round keys;
//!   slices 11..=14 then hold values the pipeline never uses).
//!
//! # [`KeyExpansion`] ports
//! | port         | dir | width | meaning                                              |
//! |--------------|-----|-------|------------------------------------------------------|
//! | `clock`      | in  | 1     |                                                      |
//! | `start`      | in  | 1     | pulse: take `key`/`aes256` and expand (ignored while `busy`) |
//! | `key`        | in  | 256   | cipher key, byte 0 at `[255:248]`                    |
//! | `aes256`     | in  | 1     | 1 = 32-byte key (Nr = 14), 0 = 16-byte key (Nr = 10) |
//! | `busy`       | out | 1     | an expansion is running                              |
//! | `done`       | out | 1     | one-cycle pulse: `round_keys` is complete            |
//! | `round_keys` | out | 1920  | all round keys (held until the next `start`)         |
//! | `rk_valid`   | out | 1     | one pulse per round key, in order 0..=14             |
//! | `rk_index`   | out | 4     | round number of `rk_data`                            |
//! | `rk_data`    | out | 128   | that round key (to write per-round key RAMs)         |
//!
//! Timing: `start` in cycle `t` gives round key `r` on `rk_data` in cycle
//! `t + 1 + r` and `done` (with the full `round_keys`) in cycle `t + 15`.
//!
//! Logic depth per cycle: 4 S-box ROMs (LUT6 + MUXF7 + MUXF8), RotWord is
//! wiring, Rcon and the 4-word XOR prefix chain flatten to one XOR per bit.
//! yosys 0.23 (`synth_xilinx -flatten`, `ltp`): longest register-to-register
//! path LUT6, MUXF7, MUXF8, LUT; 530 LUTs, 144 MUXF7/F8, 2,196 FFs (1,920 of
//! them the `round_keys` shift register).
use crate::aes::{sbox_rom, ZeroExtend};
use rust_hdl::prelude::*;

/// Cycles from `start` to `done`.
pub const KEY_EXPANSION_CYCLES: usize = 15;

/// The iterative key expansion (see the module docs).
#[derive(LogicBlock)]
pub struct KeyExpansion {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Pulse: expand `key`.
    pub start: Signal<In, bool>,
    /// Key, byte 0 at `[255:248]`; AES-128 uses `[255:128]`.
    pub key: Signal<In, Bits<256>>,
    /// 32-byte key (Nr = 14), else 16-byte (Nr = 10).
    pub aes256: Signal<In, bool>,
    /// An expansion is running.
    pub busy: Signal<Out, bool>,
    /// One-cycle pulse: `round_keys` is complete.
    pub done: Signal<Out, bool>,
    /// All round keys, round `r` at `[128r+127:128r]`, held until the next `start`.
    pub round_keys: Signal<Out, Bits<1920>>,
    /// One pulse per round key, in order 0..=14.
    pub rk_valid: Signal<Out, bool>,
    /// Round number of `rk_data`.
    pub rk_index: Signal<Out, Bits<4>>,
    /// That round key.
    pub rk_data: Signal<Out, Bits<128>>,
    sbox: Vec<ROM<Bits<32>, 8>>,
    sub: Signal<Local, Bits<32>>,
    temp: Signal<Local, Bits<32>>,
    rotate: Signal<Local, bool>,
    second256: Signal<Local, bool>,
    base: Signal<Local, Bits<128>>,
    prefix: Signal<Local, Bits<128>>,
    spread: Signal<Local, Bits<128>>,
    new_key: Signal<Local, Bits<128>>,
    rcon_wide: ZeroExtend<8, 32>,
    temp_wide: ZeroExtend<32, 128>,
    new_wide: ZeroExtend<128, 1920>,
    key_wide: ZeroExtend<128, 1920>,
    keys: DFF<Bits<1920>>,
    older: DFF<Bits<128>>,
    last: DFF<Bits<128>>,
    key_lo: DFF<Bits<128>>,
    rcon: DFF<Bits<8>>,
    round: DFF<Bits<4>>,
    running: DFF<bool>,
    is256: DFF<bool>,
    done_q: DFF<bool>,
    out_valid: DFF<bool>,
    out_index: DFF<Bits<4>>,
    out_key: DFF<Bits<128>>,
    round_zero: Constant<Bits<4>>,
    round_one: Constant<Bits<4>>,
    round_last: Constant<Bits<4>>,
    rcon_first: Constant<Bits<8>>,
    rcon_poly: Constant<Bits<8>>,
}

impl KeyExpansion {
    /// A key expansion unit, idle.
    pub fn new() -> Self {
        Self {
            clock: Default::default(),
            start: Default::default(),
            key: Default::default(),
            aes256: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            round_keys: Default::default(),
            rk_valid: Default::default(),
            rk_index: Default::default(),
            rk_data: Default::default(),
            sbox: (0..4).map(sbox_rom::<32>).collect(),
            sub: Default::default(),
            temp: Default::default(),
            rotate: Default::default(),
            second256: Default::default(),
            base: Default::default(),
            prefix: Default::default(),
            spread: Default::default(),
            new_key: Default::default(),
            rcon_wide: Default::default(),
            temp_wide: Default::default(),
            new_wide: Default::default(),
            key_wide: Default::default(),
            keys: Default::default(),
            older: Default::default(),
            last: Default::default(),
            key_lo: Default::default(),
            rcon: Default::default(),
            round: Default::default(),
            running: Default::default(),
            is256: Default::default(),
            done_q: Default::default(),
            out_valid: Default::default(),
            out_index: Default::default(),
            out_key: Default::default(),
            round_zero: Constant::new(0.into()),
            round_one: Constant::new(1.into()),
            round_last: Constant::new(14.into()),
            rcon_first: Constant::new(1.into()),
            // x^8 = x^4 + x^3 + x + 1 in GF(2^8) (FIPS-197 section 4.2).
            rcon_poly: Constant::new(0x1b.into()),
        }
    }
}

impl Default for KeyExpansion {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for KeyExpansion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never prints key material.
        f.debug_struct("KeyExpansion").finish_non_exhaustive()
    }
}

impl Logic for KeyExpansion {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, keys, older, last, key_lo, rcon, round, running, is256, done_q, out_valid,
            out_index, out_key
        );
        // SubWord of the last word of the previous round key.
        for j in 0..4 {
            self.sbox[j].address.next = self.last.q.val().get_bits::<8>(8 * (3 - j));
        }
        self.sub.next = self.sbox[0].data.val()
            | self.sbox[1].data.val()
            | self.sbox[2].data.val()
            | self.sbox[3].data.val();
        // AES-128: every round key starts with RotWord/Rcon. AES-256: even round
        // keys do, odd ones use SubWord alone; round key 1 is the key's low half.
        self.rcon_wide.narrow.next = self.rcon.q.val();
        self.rotate.next = !self.is256.q.val() | !self.round.q.val().get_bit(0);
        self.second256.next = self.is256.q.val() & (self.round.q.val() == self.round_one.val());
        if self.rotate.val() {
            self.temp.next = ((self.sub.val() << 8) | (self.sub.val() >> 24))
                ^ (self.rcon_wide.wide.val() << 24);
        } else {
            self.temp.next = self.sub.val();
        }
        if self.is256.q.val() {
            self.base.next = self.older.q.val();
        } else {
            self.base.next = self.last.q.val();
        }
        // w[i] = w[i-Nk] ^ w[i-1]: word k of the new key is temp ^ base words 0..=k.
        self.prefix.next = self.base.val()
            ^ (self.base.val() >> 32)
            ^ (self.base.val() >> 64)
            ^ (self.base.val() >> 96);
        self.temp_wide.narrow.next = self.temp.val();
        self.spread.next = self.temp_wide.wide.val()
            | (self.temp_wide.wide.val() << 32)
            | (self.temp_wide.wide.val() << 64)
            | (self.temp_wide.wide.val() << 96);
        if self.second256.val() {
            self.new_key.next = self.key_lo.q.val();
        } else {
            self.new_key.next = self.prefix.val() ^ self.spread.val();
        }
        self.new_wide.narrow.next = self.new_key.val();
        self.key_wide.narrow.next = self.key.val().get_bits::<128>(128);
        self.done_q.d.next = false;
        self.out_valid.d.next = false;
        if self.running.q.val() {
            self.older.d.next = self.last.q.val();
            self.last.d.next = self.new_key.val();
            self.keys.d.next = (self.keys.q.val() >> 128) | (self.new_wide.wide.val() << 1792);
            self.out_valid.d.next = true;
            self.out_index.d.next = self.round.q.val();
            self.out_key.d.next = self.new_key.val();
            if self.rotate.val() {
                if self.rcon.q.val().get_bit(7) {
                    self.rcon.d.next = (self.rcon.q.val() << 1) ^ self.rcon_poly.val();
                } else {
                    self.rcon.d.next = self.rcon.q.val() << 1;
                }
            }
            self.round.d.next = self.round.q.val() + self.round_one.val();
            if self.round.q.val() == self.round_last.val() {
                self.running.d.next = false;
                self.done_q.d.next = true;
            }
        } else if self.start.val() {
            self.last.d.next = self.key.val().get_bits::<128>(128);
            self.key_lo.d.next = self.key.val().get_bits::<128>(0);
            self.is256.d.next = self.aes256.val();
            self.keys.d.next = (self.keys.q.val() >> 128) | (self.key_wide.wide.val() << 1792);
            self.rcon.d.next = self.rcon_first.val();
            self.round.d.next = self.round_one.val();
            self.running.d.next = true;
            self.out_valid.d.next = true;
            self.out_index.d.next = self.round_zero.val();
            self.out_key.d.next = self.key.val().get_bits::<128>(128);
        }
        self.busy.next = self.running.q.val();
        self.done.next = self.done_q.q.val();
        self.round_keys.next = self.keys.q.val();
        self.rk_valid.next = self.out_valid.q.val();
        self.rk_index.next = self.out_index.q.val();
        self.rk_data.next = self.out_key.q.val();
    }
}
