//! The top level's view of the crypto blocks: one AES unit (key load, pipelined block
//! encryption) and one GHASH unit. This file adapts the crypto blocks to the ports the
//! packet engine uses; the engine never sees their internals.
//!
//! Block order convention on these ports: byte 0 of a block (or key) in the top bits
//! (`[127:120]`, `[255:248]`), as in FIPS-197 and SP 800-38D.
//!
//! PLACEHOLDER: until the AES core, key expansion and GHASH blocks are wired in, the
//! units below are stand-ins with the right ports and timing shape but NOT the right
//! function (AES is replaced by an XOR with the key, GHASH by an XOR accumulator).

use rust_hdl::prelude::*;

/// Cycles from `in_valid` to `out_valid` of [`AesUnit`].
pub const AES_LATENCY: usize = 2;

/// AES encryption unit: load a key (expanded inside), then encrypt one block per clock.
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
    key_q: DFF<Bits<128>>,
    ready_q: DFF<bool>,
    v1: DFF<bool>,
    d1: DFF<Bits<128>>,
    v2: DFF<bool>,
    d2: DFF<Bits<128>>,
}

impl Logic for AesUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, key_q, ready_q, v1, d1, v2, d2);
        if self.key_load.val() {
            self.key_q.d.next = self.key.val().get_bits::<128>(128);
            self.ready_q.d.next = false;
        } else {
            self.ready_q.d.next = true;
        }
        self.key_ready.next = self.ready_q.q.val() & !self.key_load.val();
        self.v1.d.next = self.in_valid.val();
        self.d1.d.next = self.in_block.val() ^ self.key_q.q.val();
        self.v2.d.next = self.v1.q.val();
        self.d2.d.next = self.d1.q.val();
        self.out_valid.next = self.v2.q.val();
        self.out_block.next = self.d2.q.val();
    }
}

/// GHASH accumulator: `y = (y ^ x) * h` per block, `clear` sets `y = 0`.
#[derive(LogicBlock, Default)]
pub struct GhashUnit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Hash key H, byte 0 at `[127:120]`.
    pub h: Signal<In, Bits<128>>,
    /// Pulse: `y = 0` (no block may enter in the same cycle).
    pub clear: Signal<In, bool>,
    /// A block enters.
    pub in_valid: Signal<In, bool>,
    /// Block, byte 0 at `[127:120]`.
    pub in_block: Signal<In, Bits<128>>,
    /// No block in flight: `y` is the hash of every block given so far.
    pub idle: Signal<Out, bool>,
    /// Accumulator.
    pub y: Signal<Out, Bits<128>>,
    acc: DFF<Bits<128>>,
}

impl Logic for GhashUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, acc);
        if self.clear.val() {
            self.acc.d.next = bits::<128>(0);
        } else if self.in_valid.val() {
            self.acc.d.next = self.acc.q.val() ^ self.in_block.val() ^ (self.h.val() & bits::<128>(0));
        }
        self.idle.next = !self.in_valid.val();
        self.y.next = self.acc.q.val();
    }
}
