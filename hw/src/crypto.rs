//! The top level's view of the AES blocks: one AES unit (key load with the hardware
//! key expansion, then the pipelined AES-128/256 encryption, carrying a 130-bit word
//! alongside each block). The blocks themselves are [`crate::keyexp::KeyExpansion`]
//! and [`crate::aes_table::Aes256TablePipeline`] (T-tables in block RAM, latency 16;
//! [`crate::aes::Aes256Pipeline`] is the LUT S-box alternative with the same ports);
//! the engine drives [`crate::ghash::GhashStream`] directly (its input registered
//! once in `top`).
//!
//! Block order on these ports: byte 0 of a block (or key) in the top bits
//! (`[127:120]`, `[255:248]`), as in FIPS-197 and SP 800-38D.
//!
//! The engine keeps the expanded key while packets use the same SA and drains the
//! pipeline before loading another key, so the round-key bus is constant while
//! blocks are in flight and the pipeline's per-stage key skew does not matter here.

use rust_hdl::prelude::*;

use crate::aes_table::Aes256TablePipeline;
use crate::keyexp::KeyExpansion;

/// Cycles from `in_valid` to `out_valid` of [`AesUnit`].
pub const AES_LATENCY: usize = Aes256TablePipeline::<1>::LATENCY;

/// Width of the word [`AesUnit`] carries alongside each block: 128 data bits and a
/// 2-bit block kind, so a block's data meets its keystream at the pipeline output.
pub const AES_TAG_BITS: usize = 130;

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
/// | `in_tag`, `out_tag` | in, out | 130 | word carried with the block through the pipeline |
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
    /// Word carried alongside a block (the packet engine's block kind and data).
    pub in_tag: Signal<In, Bits<AES_TAG_BITS>>,
    /// `in_tag` of the block now at `out_block`.
    pub out_tag: Signal<Out, Bits<AES_TAG_BITS>>,
    kx: KeyExpansion,
    pipe: Aes256TablePipeline<AES_TAG_BITS>,
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
        self.pipe.in_tag.next = self.in_tag.val();
        self.pipe.round_keys.next = self.kx.round_keys.val();
        self.out_valid.next = self.pipe.out_valid.val();
        self.out_block.next = self.pipe.out_block.val();
        self.out_tag.next = self.pipe.out_tag.val();
    }
}
