//! Small wiring and arithmetic blocks used by the top level: byte swaps (packet words
//! are little-endian byte lanes, the crypto blocks take byte 0 in the top bits), byte
//! masks and the `tkeep` byte count.

use rust_hdl::prelude::*;

/// Reverse the 4 bytes of a 32-bit word (pure wiring).
#[derive(LogicBlock, Default)]
pub struct Bswap32 {
    /// Input word.
    pub din: Signal<In, Bits<32>>,
    /// Byte-reversed word.
    pub dout: Signal<Out, Bits<32>>,
}

impl Logic for Bswap32 {
    #[hdl_gen]
    fn update(&mut self) {
        self.dout.next = (bit_cast::<32, 8>(self.din.val().get_bits::<8>(0)) << 24)
            | (bit_cast::<32, 8>(self.din.val().get_bits::<8>(8)) << 16)
            | (bit_cast::<32, 8>(self.din.val().get_bits::<8>(16)) << 8)
            | bit_cast::<32, 8>(self.din.val().get_bits::<8>(24));
    }
}

/// Reverse the 8 bytes of a 64-bit word (pure wiring).
#[derive(LogicBlock, Default)]
pub struct Bswap64 {
    /// Input word.
    pub din: Signal<In, Bits<64>>,
    /// Byte-reversed word.
    pub dout: Signal<Out, Bits<64>>,
}

impl Logic for Bswap64 {
    #[hdl_gen]
    fn update(&mut self) {
        self.dout.next = (bit_cast::<64, 8>(self.din.val().get_bits::<8>(0)) << 56)
            | (bit_cast::<64, 8>(self.din.val().get_bits::<8>(8)) << 48)
            | (bit_cast::<64, 8>(self.din.val().get_bits::<8>(16)) << 40)
            | (bit_cast::<64, 8>(self.din.val().get_bits::<8>(24)) << 32)
            | (bit_cast::<64, 8>(self.din.val().get_bits::<8>(32)) << 24)
            | (bit_cast::<64, 8>(self.din.val().get_bits::<8>(40)) << 16)
            | (bit_cast::<64, 8>(self.din.val().get_bits::<8>(48)) << 8)
            | bit_cast::<64, 8>(self.din.val().get_bits::<8>(56));
    }
}

/// Reverse the 16 bytes of a 128-bit word (pure wiring).
#[derive(LogicBlock, Default)]
pub struct Bswap128 {
    /// Input word.
    pub din: Signal<In, Bits<128>>,
    /// Byte-reversed word.
    pub dout: Signal<Out, Bits<128>>,
    lo: Bswap64,
    hi: Bswap64,
}

impl Logic for Bswap128 {
    #[hdl_gen]
    fn update(&mut self) {
        self.lo.din.next = self.din.val().get_bits::<64>(0);
        self.hi.din.next = self.din.val().get_bits::<64>(64);
        self.dout.next = (bit_cast::<128, 64>(self.lo.dout.val()) << 64)
            | bit_cast::<128, 64>(self.hi.dout.val());
    }
}

/// Mask of the first `count` bytes of a 128-bit word (all 16 when `count >= 16`).
#[derive(LogicBlock, Default)]
pub struct ByteMask {
    /// Byte count.
    pub count: Signal<In, Bits<16>>,
    /// Bytes `0..min(count, 16)` set to 0xff.
    pub mask: Signal<Out, Bits<128>>,
}

impl Logic for ByteMask {
    #[hdl_gen]
    fn update(&mut self) {
        if self.count.val() >= 16 {
            self.mask.next = !bits::<128>(0);
        } else {
            self.mask.next = (bits::<128>(1) << (bit_cast::<8, 16>(self.count.val()) << 3)) - 1;
        }
    }
}

/// `tkeep` (16 bits) to a 16-bit byte-mask of the low `count` bytes (`count <= 16`).
#[derive(LogicBlock, Default)]
pub struct KeepMask {
    /// Byte count.
    pub count: Signal<In, Bits<16>>,
    /// Low `min(count, 16)` bits set.
    pub keep: Signal<Out, Bits<16>>,
}

impl Logic for KeepMask {
    #[hdl_gen]
    fn update(&mut self) {
        if self.count.val() >= 16 {
            self.keep.next = bits::<16>(0xffff);
        } else {
            self.keep.next = (bits::<16>(1) << self.count.val()) - 1;
        }
    }
}

/// Number of set bits in a 16-bit `tkeep` (bytes in a beat).
#[derive(LogicBlock, Default)]
pub struct KeepCount {
    /// `tkeep` of one beat.
    pub keep: Signal<In, Bits<16>>,
    /// Set bits, 0..=16.
    pub count: Signal<Out, Bits<16>>,
}

impl Logic for KeepCount {
    #[hdl_gen]
    fn update(&mut self) {
        self.count.next = bit_cast::<16, 1>(self.keep.val().get_bits::<1>(0))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(1))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(2))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(3))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(4))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(5))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(6))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(7))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(8))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(9))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(10))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(11))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(12))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(13))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(14))
            + bit_cast::<16, 1>(self.keep.val().get_bits::<1>(15));
    }
}
