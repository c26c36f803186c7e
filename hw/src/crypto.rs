//! The top level's view of the crypto blocks: one AES unit (key load with the
//! hardware key expansion, then the pipelined AES-128/256 encryption) and one GHASH
//! unit. These adapters give the packet engine the few ports it uses; the blocks
//! themselves are [`crate::keyexp::KeyExpansion`], [`crate::aes::Aes256Pipeline`] and
//! [`crate::ghash::Ghash`].
//!
//! Block order on these ports: byte 0 of a block (or key) in the top bits
//! (`[127:120]`, `[255:248]`), as in FIPS-197 and SP 800-38D.
//!
//! The engine loads one key per packet and drains the pipeline before the next
//! key load, so the round-key bus is constant while blocks are in flight and the
//! pipeline's per-stage key skew does not matter here.

use rust_hdl::prelude::*;

use crate::aes::Aes256Pipeline;
use crate::ghash::Ghash;
use crate::keyexp::KeyExpansion;

/// Cycles from `in_valid` to `out_valid` of [`AesUnit`].
pub const AES_LATENCY: usize = Aes256Pipeline::<1>::LATENCY;

/// AES encryption unit: load a key (expanded inside), then encrypt one block per clock.
///
/// | port        | dir | width | meaning                                            |
/// |-------------|-----|-------|----------------------------------------------------|
/// | `key`       | in  | 256   | key, byte 0 at `[255:248]`; AES-128 uses `[255:128]` |
/// | `aes256`    | in  | 1     | 256-bit key                                        |
/// | `key_load`  | in  | 1     | pulse: expand `key` (15 cycles)                    |
/// | `key_ready` | out | 1     | the last loaded key is expanded; blocks may enter  |
/// | `in_valid`, `in_block` | in | 1, 128 | block to encrypt                     |
/// | `out_valid`, `out_block` | out | 1, 128 | result, `AES_LATENCY` cycles later |
#[derive(LogicBlock, Default)]
pub struct AesUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Key, byte 0 at `[255:248]`; AES-128 uses `[255:128]`.
    pub key: Signal<In, Bits<256>>,
    /// 256-bit key (else 128-bit).
    pub aes256: Signal<In, bool>,
    /// Pulse: take `key`/`aes256` and expand.
    pub key_load: Signal<In, bool>,
    /// The expanded key of the last load is in place; blocks may be issued.
    pub key_ready: Signal<Out, bool>,
    /// A block enters.
    pub in_valid: Signal<In, bool>,
    /// Block in, byte 0 at `[127:120]`.
    pub in_block: Signal<In, Bits<128>>,
    /// The encrypted block of the `in_valid` issued `AES_LATENCY` cycles ago.
    pub out_valid: Signal<Out, bool>,
    /// Encrypted block.
    pub out_block: Signal<Out, Bits<128>>,
    kx: KeyExpansion,
    pipe: Aes256Pipeline<1>,
    ready_q: DFF<bool>,
    aes256_q: DFF<bool>,
}

impl Logic for AesUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, ready_q, aes256_q);
        clock!(self, clock, kx, pipe);
        self.kx.start.next = self.key_load.val();
        self.kx.key.next = self.key.val();
        self.kx.aes256.next = self.aes256.val();
        if self.key_load.val() {
            self.ready_q.d.next = false;
            self.aes256_q.d.next = self.aes256.val();
        } else if self.kx.done.val() {
            self.ready_q.d.next = true;
        }
        self.key_ready.next = self.ready_q.q.val();
        self.pipe.in_valid.next = self.in_valid.val();
        self.pipe.in_block.next = self.in_block.val();
        self.pipe.in_aes256.next = self.aes256_q.q.val();
        self.pipe.in_tag.next = bits::<1>(0);
        self.pipe.round_keys.next = self.kx.round_keys.val();
        self.out_valid.next = self.pipe.out_valid.val();
        self.out_block.next = self.pipe.out_block.val();
    }
}

/// GHASH accumulator: `clear` starts a new message; then `y = (y ^ x) * h` per block.
///
/// The block is registered once before the multiplier, so the engine's framing logic
/// (buffer read, byte masks, trailer shift, keystream XOR) and the single-cycle
/// GF(2^128) multiplier sit in different clock cycles. Latency from `in_valid` to `y`:
/// 2 cycles; `idle` says when no block is in flight.
#[derive(LogicBlock, Default)]
pub struct GhashUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Hash key H, byte 0 at `[127:120]`.
    pub h: Signal<In, Bits<128>>,
    /// Pulse: the next block starts a new message (no block may enter in the same cycle).
    pub clear: Signal<In, bool>,
    /// A block enters.
    pub in_valid: Signal<In, bool>,
    /// Block, byte 0 at `[127:120]`.
    pub in_block: Signal<In, Bits<128>>,
    /// No block in flight: `y` is the hash of every block given so far.
    pub idle: Signal<Out, bool>,
    /// Accumulator.
    pub y: Signal<Out, Bits<128>>,
    gh: Ghash,
    first: DFF<bool>,
    valid_q: DFF<bool>,
    block_q: DFF<Bits<128>>,
}

impl Logic for GhashUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, first, valid_q, block_q);
        clock!(self, clock, gh);
        self.valid_q.d.next = self.in_valid.val();
        self.block_q.d.next = self.in_block.val();
        if self.clear.val() {
            self.first.d.next = true;
        } else if self.valid_q.q.val() {
            self.first.d.next = false;
        }
        self.gh.h.next = self.h.val();
        self.gh.in_valid.next = self.valid_q.q.val();
        self.gh.in_first.next = self.first.q.val();
        self.gh.in_last.next = false;
        self.gh.in_block.next = self.block_q.q.val();
        self.idle.next = !self.in_valid.val() & !self.valid_q.q.val();
        self.y.next = self.gh.out_hash.val();
    }
}
