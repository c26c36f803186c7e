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
        // Byte `i` is set when `count > i`: a compare per byte, no shift or subtract.
        self.mask.next = bits::<128>(0);
        if self.count.val() > 0 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 0);
        }
        if self.count.val() > 1 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 8);
        }
        if self.count.val() > 2 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 16);
        }
        if self.count.val() > 3 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 24);
        }
        if self.count.val() > 4 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 32);
        }
        if self.count.val() > 5 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 40);
        }
        if self.count.val() > 6 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 48);
        }
        if self.count.val() > 7 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 56);
        }
        if self.count.val() > 8 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 64);
        }
        if self.count.val() > 9 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 72);
        }
        if self.count.val() > 10 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 80);
        }
        if self.count.val() > 11 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 88);
        }
        if self.count.val() > 12 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 96);
        }
        if self.count.val() > 13 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 104);
        }
        if self.count.val() > 14 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 112);
        }
        if self.count.val() > 15 {
            self.mask.next = self.mask.val() | (bits::<128>(0xff) << 120);
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

/// RFC 4303 pad check helper for one 16-byte plaintext block: the byte positions
/// (below `count`) where the bytes stop counting up by one, i.e. where byte `k` is not
/// byte `k-1` plus 1 (byte 0 compares with `prev`, the previous block's last byte, or
/// always breaks when `first`). Pad bytes 1, 2, 3, ... are one unbroken run. The last
/// such position is found by `LastSet`, a register stage later in the top level.
#[derive(LogicBlock, Default)]
pub struct PadBreaks {
    /// Plaintext block, byte 0 in `[7:0]`.
    pub pt: Signal<In, Bits<128>>,
    /// Last byte of the previous block.
    pub prev: Signal<In, Bits<8>>,
    /// This is the first block (byte 0 always breaks).
    pub first: Signal<In, bool>,
    /// Bytes of the block that count (at or above 16: all).
    pub count: Signal<In, Bits<16>>,
    /// Bit `k` set: counted byte `k` breaks the run.
    pub brk: Signal<Out, Bits<16>>,
    raw: Signal<Local, Bits<16>>,
    cm: Signal<Local, Bits<16>>,
}

impl Logic for PadBreaks {
    #[hdl_gen]
    fn update(&mut self) {
        self.raw.next = bits::<16>(0);
        if (self.pt.val().get_bits::<8>(0) != self.prev.val() + 1) | self.first.val() {
            self.raw.next = self.raw.val() | 1;
        }
        if self.pt.val().get_bits::<8>(8) != self.pt.val().get_bits::<8>(0) + 1 {
            self.raw.next = self.raw.val() | 2;
        }
        if self.pt.val().get_bits::<8>(16) != self.pt.val().get_bits::<8>(8) + 1 {
            self.raw.next = self.raw.val() | 4;
        }
        if self.pt.val().get_bits::<8>(24) != self.pt.val().get_bits::<8>(16) + 1 {
            self.raw.next = self.raw.val() | 8;
        }
        if self.pt.val().get_bits::<8>(32) != self.pt.val().get_bits::<8>(24) + 1 {
            self.raw.next = self.raw.val() | 16;
        }
        if self.pt.val().get_bits::<8>(40) != self.pt.val().get_bits::<8>(32) + 1 {
            self.raw.next = self.raw.val() | 32;
        }
        if self.pt.val().get_bits::<8>(48) != self.pt.val().get_bits::<8>(40) + 1 {
            self.raw.next = self.raw.val() | 64;
        }
        if self.pt.val().get_bits::<8>(56) != self.pt.val().get_bits::<8>(48) + 1 {
            self.raw.next = self.raw.val() | 128;
        }
        if self.pt.val().get_bits::<8>(64) != self.pt.val().get_bits::<8>(56) + 1 {
            self.raw.next = self.raw.val() | 256;
        }
        if self.pt.val().get_bits::<8>(72) != self.pt.val().get_bits::<8>(64) + 1 {
            self.raw.next = self.raw.val() | 512;
        }
        if self.pt.val().get_bits::<8>(80) != self.pt.val().get_bits::<8>(72) + 1 {
            self.raw.next = self.raw.val() | 1024;
        }
        if self.pt.val().get_bits::<8>(88) != self.pt.val().get_bits::<8>(80) + 1 {
            self.raw.next = self.raw.val() | 2048;
        }
        if self.pt.val().get_bits::<8>(96) != self.pt.val().get_bits::<8>(88) + 1 {
            self.raw.next = self.raw.val() | 4096;
        }
        if self.pt.val().get_bits::<8>(104) != self.pt.val().get_bits::<8>(96) + 1 {
            self.raw.next = self.raw.val() | 8192;
        }
        if self.pt.val().get_bits::<8>(112) != self.pt.val().get_bits::<8>(104) + 1 {
            self.raw.next = self.raw.val() | 16384;
        }
        if self.pt.val().get_bits::<8>(120) != self.pt.val().get_bits::<8>(112) + 1 {
            self.raw.next = self.raw.val() | 32768;
        }
        self.cm.next = bits::<16>(0);
        if self.count.val() > 0 {
            self.cm.next = self.cm.val() | 1;
        }
        if self.count.val() > 1 {
            self.cm.next = self.cm.val() | 2;
        }
        if self.count.val() > 2 {
            self.cm.next = self.cm.val() | 4;
        }
        if self.count.val() > 3 {
            self.cm.next = self.cm.val() | 8;
        }
        if self.count.val() > 4 {
            self.cm.next = self.cm.val() | 16;
        }
        if self.count.val() > 5 {
            self.cm.next = self.cm.val() | 32;
        }
        if self.count.val() > 6 {
            self.cm.next = self.cm.val() | 64;
        }
        if self.count.val() > 7 {
            self.cm.next = self.cm.val() | 128;
        }
        if self.count.val() > 8 {
            self.cm.next = self.cm.val() | 256;
        }
        if self.count.val() > 9 {
            self.cm.next = self.cm.val() | 512;
        }
        if self.count.val() > 10 {
            self.cm.next = self.cm.val() | 1024;
        }
        if self.count.val() > 11 {
            self.cm.next = self.cm.val() | 2048;
        }
        if self.count.val() > 12 {
            self.cm.next = self.cm.val() | 4096;
        }
        if self.count.val() > 13 {
            self.cm.next = self.cm.val() | 8192;
        }
        if self.count.val() > 14 {
            self.cm.next = self.cm.val() | 16384;
        }
        if self.count.val() > 15 {
            self.cm.next = self.cm.val() | 32768;
        }
        self.brk.next = self.raw.val() & self.cm.val();
    }
}

/// Position of the highest set bit of a 16-bit vector (priority encoder).
#[derive(LogicBlock, Default)]
pub struct LastSet {
    /// Input vector.
    pub v: Signal<In, Bits<16>>,
    /// Some bit is set.
    pub any: Signal<Out, bool>,
    /// Position of the highest set bit (0 when none).
    pub idx: Signal<Out, Bits<16>>,
}

impl Logic for LastSet {
    #[hdl_gen]
    fn update(&mut self) {
        self.any.next = self.v.val().any();
        self.idx.next = bits::<16>(0);
        if self.v.val().get_bit(1) {
            self.idx.next = bits::<16>(1);
        }
        if self.v.val().get_bit(2) {
            self.idx.next = bits::<16>(2);
        }
        if self.v.val().get_bit(3) {
            self.idx.next = bits::<16>(3);
        }
        if self.v.val().get_bit(4) {
            self.idx.next = bits::<16>(4);
        }
        if self.v.val().get_bit(5) {
            self.idx.next = bits::<16>(5);
        }
        if self.v.val().get_bit(6) {
            self.idx.next = bits::<16>(6);
        }
        if self.v.val().get_bit(7) {
            self.idx.next = bits::<16>(7);
        }
        if self.v.val().get_bit(8) {
            self.idx.next = bits::<16>(8);
        }
        if self.v.val().get_bit(9) {
            self.idx.next = bits::<16>(9);
        }
        if self.v.val().get_bit(10) {
            self.idx.next = bits::<16>(10);
        }
        if self.v.val().get_bit(11) {
            self.idx.next = bits::<16>(11);
        }
        if self.v.val().get_bit(12) {
            self.idx.next = bits::<16>(12);
        }
        if self.v.val().get_bit(13) {
            self.idx.next = bits::<16>(13);
        }
        if self.v.val().get_bit(14) {
            self.idx.next = bits::<16>(14);
        }
        if self.v.val().get_bit(15) {
            self.idx.next = bits::<16>(15);
        }
    }
}

/// What the output side needs of one 16-byte block of a packet, computed from where the
/// block sits in the packet only (no data): the top level registers it a cycle before
/// the block leaves the AES pipeline.
#[derive(LogicBlock, Default)]
pub struct BlockMasks {
    /// ESP payload length minus 16 x block index (wrapping).
    pub dv: Signal<In, Bits<16>>,
    /// Outbound: plaintext length minus 16 x block index (wrapping).
    pub di: Signal<In, Bits<16>>,
    /// Outbound trailer pattern (pad bytes, pad length, next header), byte 0 first.
    pub tp: Signal<In, Bits<64>>,
    /// `di` may be negative (the trailer started in the block before); tied low for a
    /// packet's first block, so the upper half of the shifter is left out.
    pub neg_ok: Signal<In, bool>,
    /// Bytes of the block inside the ESP payload.
    pub mv: Signal<Out, Bits<128>>,
    /// Outbound: bytes of the block inside the plaintext.
    pub mi: Signal<Out, Bits<128>>,
    /// Outbound: the trailer bytes that fall into the block.
    pub trail: Signal<Out, Bits<128>>,
    /// Inbound: bytes before the pad length (the pad check's `count`).
    pub pcnt: Signal<Out, Bits<16>>,
    /// The block is the payload's last.
    pub last: Signal<Out, bool>,
    m_v: ByteMask,
    m_i: ByteMask,
    tsh: Signal<Local, Bits<256>>,
}

impl Logic for BlockMasks {
    #[hdl_gen]
    fn update(&mut self) {
        self.m_v.count.next = self.dv.val();
        self.mv.next = self.m_v.mask.val();
        if !self.di.val().get_bit(15) & self.di.val().any() {
            self.m_i.count.next = self.di.val();
        } else {
            self.m_i.count.next = bits::<16>(0);
        }
        self.mi.next = self.m_i.mask.val();
        self.pcnt.next = self.dv.val() - 2;
        self.last.next = self.dv.val().any() & (self.dv.val() <= 16);
        // Trailer placed at plaintext byte `di` of the block (it may start up to 7 bytes
        // in the block before: then its upper bytes fall here). One byte shifter by the
        // low 4 bits of `di` serves both: `tp << 8*di` in the lower half of a 256-bit
        // word for 0 <= di < 16, and in its upper half `tp >> 8*(-di)` for -8 < di < 0.
        self.tsh.next = bit_cast::<256, 64>(self.tp.val())
            << (bit_cast::<8, 4>(self.di.val().get_bits::<4>(0)) << 3);
        self.trail.next = bits::<128>(0);
        if !self.di.val().get_bits::<12>(4).any() {
            self.trail.next = self.tsh.val().get_bits::<128>(0);
        } else if self.neg_ok.val()
            & self.di.val().get_bits::<13>(3).all()
            & self.di.val().get_bits::<3>(0).any()
        {
            self.trail.next = self.tsh.val().get_bits::<128>(128);
        }
    }
}
