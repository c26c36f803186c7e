//! The top level's view of the AES blocks: one AES unit holding the expanded keys of
//! every SA (key load with the hardware key expansion into per-SA round-key RAMs,
//! then the pipelined AES-128/256 encryption of blocks of any SA, carrying a word
//! alongside each block). The blocks themselves are [`crate::keyexp::KeyExpansion`]
//! and [`crate::aes_table::AesKeyedPipeline`] (T-tables in block RAM, latency 16,
//! round keys in block RAM addressed by the SA index each block carries); the engine
//! drives [`crate::ghash::GhashStream`] directly (its input registered once in `top`).
//!
//! Block order on these ports: byte 0 of a block (or key) in the top bits
//! (`[127:120]`, `[255:248]`), as in FIPS-197 and SP 800-38D.
//!
//! Each block names its SA (`in_sa`) and key size (`in_aes256`), so consecutive
//! blocks may belong to different SAs: no drain, no key expansion between packets.
//! A key is expanded once, when its SA is installed (`key_load`, 15 cycles, written
//! into the round-key RAMs at `key_index`), and wiped when the SA is removed
//! (`key_wipe`).

use rust_hdl::prelude::*;

use crate::aes_table::AesKeyedPipeline;
use crate::keyexp::KeyExpansion;

/// Cycles from `in_valid` to `out_valid` of [`AesUnit`].
pub const AES_LATENCY: usize = AesKeyedPipeline::<1, 1>::LATENCY;

/// Width of the word [`AesUnit`] carries alongside each block: 128 data bits, a
/// 2-bit block kind (`[129:128]`) and a GHASH-only flag (`[130]`), so a block's data
/// meets its keystream at the pipeline output.
pub const AES_TAG_BITS: usize = 131;

/// AES encryption unit with the round keys of `2^SW` SAs: load a key once per SA
/// (expanded inside), then encrypt one block of any loaded SA per clock.
///
/// | port        | dir | width | meaning                                            |
/// |-------------|-----|-------|----------------------------------------------------|
/// | `key`       | in  | 256   | key, byte 0 at `[255:248]`; AES-128 uses `[255:128]` |
/// | `aes256`    | in  | 1     | `key` is 256-bit                                   |
/// | `key_index` | in  | SW    | SA whose round keys `key_load` writes or `key_wipe` clears |
/// | `key_load`  | in  | 1     | pulse: expand `key` into SA `key_index` (15 cycles) |
/// | `key_wipe`  | in  | 1     | pulse: zero every round key of SA `key_index`      |
/// | `key_ready` | out | 1     | the last loaded key is expanded; its blocks may enter |
/// | `in_valid`, `in_block` | in | 1, 128 | block to encrypt                     |
/// | `in_sa`, `in_aes256` | in | SW, 1 | the block's SA and its key size          |
/// | `out_valid`, `out_block` | out | 1, 128 | result, `AES_LATENCY` cycles later |
/// | `in_tag`, `out_tag` | in, out | 131 | word carried with the block through the pipeline |
#[derive(LogicBlock, Default)]
pub struct AesUnit<const SW: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Key, byte 0 at `[255:248]`; AES-128 uses `[255:128]`.
    pub key: Signal<In, Bits<256>>,
    /// `key` is 256-bit (else 128-bit).
    pub aes256: Signal<In, bool>,
    /// SA whose round keys `key_load` writes or `key_wipe` clears.
    pub key_index: Signal<In, Bits<SW>>,
    /// Pulse: take `key`/`aes256`/`key_index` and expand.
    pub key_load: Signal<In, bool>,
    /// Pulse: zero every round key of SA `key_index`.
    pub key_wipe: Signal<In, bool>,
    /// The expanded key of the last load is in place; its blocks may be issued.
    pub key_ready: Signal<Out, bool>,
    /// A block enters.
    pub in_valid: Signal<In, bool>,
    /// Block in, byte 0 at `[127:120]`.
    pub in_block: Signal<In, Bits<128>>,
    /// The block's SA.
    pub in_sa: Signal<In, Bits<SW>>,
    /// The block's SA has a 256-bit key.
    pub in_aes256: Signal<In, bool>,
    /// The encrypted block of the `in_valid` issued `AES_LATENCY` cycles ago.
    pub out_valid: Signal<Out, bool>,
    /// Encrypted block.
    pub out_block: Signal<Out, Bits<128>>,
    /// Word carried alongside a block (the packet engine's block kind and data).
    pub in_tag: Signal<In, Bits<AES_TAG_BITS>>,
    /// `in_tag` of the block now at `out_block`.
    pub out_tag: Signal<Out, Bits<AES_TAG_BITS>>,
    kx: KeyExpansion,
    pipe: AesKeyedPipeline<AES_TAG_BITS, SW>,
    ready_q: DFF<bool>,
    kidx: DFF<Bits<SW>>,
}

impl<const SW: usize> Logic for AesUnit<SW> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, ready_q, kidx);
        clock!(self, clock, kx, pipe);
        self.kx.start.next = self.key_load.val();
        self.kx.key.next = self.key.val();
        self.kx.aes256.next = self.aes256.val();
        if self.key_load.val() {
            self.ready_q.d.next = false;
            self.kidx.d.next = self.key_index.val();
        } else if self.kx.done.val() {
            self.ready_q.d.next = true;
        }
        self.key_ready.next = self.ready_q.q.val();
        // Round keys go into the SA's entries as the expansion produces them.
        self.pipe.rk_we.next = self.kx.rk_valid.val();
        self.pipe.rk_round.next = self.kx.rk_index.val();
        self.pipe.rk_data.next = self.kx.rk_data.val();
        self.pipe.rk_wipe.next = self.key_wipe.val();
        if self.key_wipe.val() {
            self.pipe.rk_addr.next = self.key_index.val();
        } else {
            self.pipe.rk_addr.next = self.kidx.q.val();
        }
        self.pipe.in_valid.next = self.in_valid.val();
        self.pipe.in_block.next = self.in_block.val();
        self.pipe.in_aes256.next = self.in_aes256.val();
        self.pipe.in_sa.next = self.in_sa.val();
        self.pipe.in_tag.next = self.in_tag.val();
        self.out_valid.next = self.pipe.out_valid.val();
        self.out_block.next = self.pipe.out_block.val();
        self.out_tag.next = self.pipe.out_tag.val();
    }
}
