//! The DMA queue interface: the shape of the queue pairs, the descriptor and
//! completion record formats in host memory, and the ring-index arithmetic both
//! sides share.
//!
//! Layout 2: the card reports `Capabilities::DMA` and [`ID_DMA_VALUE`] at `ID_DMA`.
//!
//! Records are little-endian: bit `b` of a record is bit `b % 8` of byte `b / 8`, so
//! a field at bits `[lsb+width-1:lsb]` of the 64-bit word `lsb / 64` is read with
//! `u64::from_le_bytes`. No field crosses a 64-bit word. Every bit outside the fields
//! is reserved: written 0, and a record with a reserved bit set is refused.

use std::fmt;

use bitflags::bitflags;

use crate::{outbound_len, Verdict, ESP_HEADER_BYTES, ICV_BYTES, MAX_PACKET_BYTES, NUM_SAS};

/// Queue pairs (descriptor ring + completion ring) in the defined design.
pub const NUM_QUEUES: u32 = 4;
/// Interrupt vectors (one per queue; `IRQ_VECTOR.VECTOR` picks one).
pub const NUM_VECTORS: u32 = 4;
/// Smallest log2 ring size a queue accepts.
pub const MIN_RING_LOG2: u32 = 2;
/// Largest log2 ring size a queue accepts (4096 entries).
pub const MAX_RING_LOG2: u32 = 12;
/// Width of the ring indices (`DQ_PROD`, `DQ_CONS`, `CQ_PROD`, `CQ_CONS`): they run
/// freely modulo 2^16, so full (`prod - cons == size`) and empty (`prod == cons`)
/// differ for every ring size up to 2^15.
pub const INDEX_BITS: u32 = 16;
/// Bus-master address width: every byte the card reads or writes lies below
/// `2^IOVA_BITS`.
pub const IOVA_BITS: u32 = 48;
/// Alignment of the rings' base IOVAs (4 KiB).
pub const RING_ALIGN: u64 = 4096;
/// Alignment of the input and result buffers: the bus width, so that neither the
/// input nor the result (shifted by the 16-byte ESP header) needs realigning.
pub const BUF_ALIGN: u64 = crate::STREAM_KEEP_BITS as u64;
/// Core clock the `IRQ_MODERATION.USECS` timer counts in: one microsecond is this
/// many cycles.
pub const CORE_CLOCK_MHZ: u32 = 250;
/// Bytes of one descriptor.
pub const DESC_BYTES: usize = 64;
/// Bytes of one completion record.
pub const CPL_BYTES: usize = 32;

/// Value of the `ID_DMA` register in layout 2.
pub const ID_DMA_VALUE: u32 =
    NUM_QUEUES | (MAX_RING_LOG2 << 8) | (IOVA_BITS << 16) | (NUM_VECTORS << 24);

const _: () = assert!(MAX_RING_LOG2 < INDEX_BITS);
// The 16-bit length fields hold the largest packet; every SA index fits; one vector
// per queue at least.
const _: () = assert!(MAX_PACKET_BYTES < 1 << D_LEN.width);
const _: () = assert!(NUM_SAS <= 1 << D_SA_INDEX.width);
const _: () = assert!(NUM_VECTORS >= NUM_QUEUES);
const _: () = assert!(MIN_RING_LOG2 <= MAX_RING_LOG2);
const _: () = assert!(
    (RING_ALIGN as usize).is_multiple_of(DESC_BYTES)
        && (RING_ALIGN as usize).is_multiple_of(CPL_BYTES)
);
const _: () = assert!((ESP_HEADER_BYTES as u64).is_multiple_of(BUF_ALIGN));

/// A field of a descriptor or completion record: `width` bits from bit `lsb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecField {
    /// Field name (upper case).
    pub name: &'static str,
    /// Lowest bit within the record.
    pub lsb: u32,
    /// Width in bits (1..=64).
    pub width: u32,
    /// One line of meaning.
    pub doc: &'static str,
}

impl RecField {
    /// The 64-bit word of the record holding the field.
    #[must_use]
    pub const fn word(&self) -> usize {
        (self.lsb / 64) as usize
    }

    /// The field's mask within its 64-bit word.
    #[must_use]
    pub const fn mask(&self) -> u64 {
        let m = if self.width >= 64 {
            u64::MAX
        } else {
            (1u64 << self.width) - 1
        };
        m << (self.lsb % 64)
    }

    /// Extract the field from a record.
    #[must_use]
    pub fn get(&self, rec: &[u8]) -> u64 {
        (word(rec, self.word()) & self.mask()) >> (self.lsb % 64)
    }

    /// Write `v` into the field of a record (bits of `v` beyond the width dropped).
    pub fn put(&self, rec: &mut [u8], v: u64) {
        let i = self.word();
        let w = (word(rec, i) & !self.mask()) | ((v << (self.lsb % 64)) & self.mask());
        rec[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
}

fn word(rec: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&rec[8 * i..8 * i + 8]);
    u64::from_le_bytes(b)
}

const fn rf(name: &'static str, lsb: u32, width: u32, doc: &'static str) -> RecField {
    RecField {
        name,
        lsb,
        width,
        doc,
    }
}

/// Descriptor: input buffer IOVA.
pub const D_BUF_IOVA: RecField = rf("BUF_IOVA", 0, 64, "input packet IOVA (BUF_ALIGN aligned)");
/// Descriptor: result buffer IOVA.
pub const D_RESULT_IOVA: RecField = rf(
    "RESULT_IOVA",
    64,
    64,
    "result buffer IOVA (BUF_ALIGN aligned; kept apart from the input by software, not checked)",
);
/// Descriptor: cookie, returned in the completion.
pub const D_COOKIE: RecField = rf(
    "COOKIE",
    128,
    64,
    "software's tag, echoed in the completion",
);
/// Descriptor: input length.
pub const D_LEN: RecField = rf("LEN", 192, 16, "input bytes, 1..=MAX_PACKET_BYTES");
/// Descriptor: result buffer capacity.
pub const D_RESULT_CAP: RecField = rf(
    "RESULT_CAP",
    208,
    16,
    "result buffer bytes, at least max_result_len(LEN, INBOUND)",
);
/// Descriptor: inbound ESN high half.
pub const D_SEQ_HI: RecField = rf(
    "SEQ_HI",
    224,
    32,
    "inbound ESN: high half of the sequence number (inferred by software)",
);
/// Descriptor: SA index.
pub const D_SA_INDEX: RecField = rf("SA_INDEX", 256, 16, "SA-table entry, below NUM_SAS");
/// Descriptor: outbound next header.
pub const D_NEXT_HEADER: RecField = rf(
    "NEXT_HEADER",
    272,
    8,
    "outbound: next header for the trailer",
);
/// Descriptor: direction.
pub const D_INBOUND: RecField = rf(
    "INBOUND",
    280,
    1,
    "1 = inbound (decapsulate), 0 = outbound; must match the SA",
);
/// Descriptor: flags ([`DescFlags`]).
pub const D_FLAGS: RecField = rf(
    "FLAGS",
    288,
    8,
    "regmap::dma::DescFlags; unknown bits refused",
);

/// The descriptor's fields, lowest bits first.
pub const DESC_FIELDS: &[RecField] = &[
    D_BUF_IOVA,
    D_RESULT_IOVA,
    D_COOKIE,
    D_LEN,
    D_RESULT_CAP,
    D_SEQ_HI,
    D_SA_INDEX,
    D_NEXT_HEADER,
    D_INBOUND,
    D_FLAGS,
];

/// Completion: cookie of the descriptor.
pub const C_COOKIE: RecField = rf("COOKIE", 0, 64, "the descriptor's COOKIE");
/// Completion: sequence number used or authenticated.
pub const C_SEQ: RecField = rf(
    "SEQ",
    64,
    64,
    "64-bit sequence number used (outbound) or authenticated (inbound); 0 if none",
);
/// Completion: result length.
pub const C_RESULT_LEN: RecField = rf(
    "RESULT_LEN",
    128,
    16,
    "bytes written to RESULT_IOVA (0 unless the verdict is OK)",
);
/// Completion: verdict.
pub const C_VERDICT: RecField = rf("VERDICT", 144, 4, "regmap::Verdict code (15 never written)");
/// Completion: direction echoed.
pub const C_INBOUND: RecField = rf("INBOUND", 148, 1, "the descriptor's INBOUND");
/// Completion: next header.
pub const C_NEXT_HEADER: RecField = rf(
    "NEXT_HEADER",
    152,
    8,
    "inbound: from the decrypted trailer; outbound: echoed",
);
/// Completion: ring index of the descriptor.
pub const C_DESC_INDEX: RecField = rf(
    "DESC_INDEX",
    160,
    16,
    "free-running index of the descriptor (completions come in order per queue)",
);
/// Completion: SA index echoed.
pub const C_SA_INDEX: RecField = rf("SA_INDEX", 176, 16, "the descriptor's SA_INDEX");
/// Completion: phase bit.
pub const C_PHASE: RecField = rf(
    "PHASE",
    255,
    1,
    "phase(index): 1 on the ring's first lap, flipping each lap; in the last byte",
);

/// The completion record's fields, lowest bits first.
pub const CPL_FIELDS: &[RecField] = &[
    C_COOKIE,
    C_SEQ,
    C_RESULT_LEN,
    C_VERDICT,
    C_INBOUND,
    C_NEXT_HEADER,
    C_DESC_INDEX,
    C_SA_INDEX,
    C_PHASE,
];

bitflags! {
    /// The descriptor's `FLAGS` byte.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct DescFlags: u8 {
        /// Signal the queue's interrupt (if enabled and armed) as soon as this
        /// descriptor's completion is written, whatever the moderation count; for the
        /// last descriptor of a batch.
        const IRQ_NOW = 1 << 0;
    }
}

/// Why a record was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Reserved bits are set in a 64-bit word of the record.
    ReservedBits {
        /// `"descriptor"` or `"completion"`.
        record: &'static str,
        /// Byte offset of the 64-bit word.
        byte: usize,
        /// The reserved bits found set.
        bits: u64,
    },
    /// The descriptor's `FLAGS` has bits this layout does not define.
    UnknownFlags(u8),
    /// The completion's verdict code is not one this layout defines.
    BadVerdict(u32),
    /// The completion reports result bytes with a verdict other than OK.
    ResultWithError {
        /// The verdict.
        verdict: Verdict,
        /// The result length reported.
        len: u16,
    },
    /// The completion's result length exceeds the largest result the card makes.
    ResultTooLong(u16),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ReservedBits { record, byte, bits } => write!(
                f,
                "{record}: reserved bits {bits:#018x} set in the 64-bit word at byte {byte}"
            ),
            Self::UnknownFlags(b) => write!(f, "descriptor: unknown flag bits {b:#04x}"),
            Self::BadVerdict(c) => write!(f, "completion: undefined verdict code {c}"),
            Self::ResultWithError { verdict, len } => write!(
                f,
                "completion: result length {len} with verdict {verdict:?} (must be 0)"
            ),
            Self::ResultTooLong(len) => write!(
                f,
                "completion: result length {len} above the largest result {}",
                outbound_len(MAX_PACKET_BYTES)
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// Mask of the defined bits of each 64-bit word of a record with `fields`.
#[cfg(test)]
fn defined_masks<const W: usize>(fields: &[RecField]) -> [u64; W] {
    let mut m = [0u64; W];
    for f in fields {
        m[f.word()] |= f.mask();
    }
    m
}

fn check_reserved(
    rec: &[u8],
    fields: &[RecField],
    record: &'static str,
) -> Result<(), RecordError> {
    let words = rec.len() / 8;
    for i in 0..words {
        let defined = fields
            .iter()
            .filter(|f| f.word() == i)
            .fold(0u64, |m, f| m | f.mask());
        let bits = word(rec, i) & !defined;
        if bits != 0 {
            return Err(RecordError::ReservedBits {
                record,
                byte: 8 * i,
                bits,
            });
        }
    }
    Ok(())
}

/// Largest result an input of `len` bytes can give: the whole outbound datagram, or
/// for inbound the plaintext (input less header, ICV and the two trailer bytes). The
/// descriptor's `RESULT_CAP` must be at least this.
#[must_use]
pub const fn max_result_len(len: u32, inbound: bool) -> u32 {
    if inbound {
        len.saturating_sub(ESP_HEADER_BYTES + ICV_BYTES + 2)
    } else {
        outbound_len(len)
    }
}

/// One descriptor (a request in the descriptor ring).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DmaDescriptor {
    /// Input packet IOVA.
    pub buf_iova: u64,
    /// Result buffer IOVA.
    pub result_iova: u64,
    /// Software's tag, echoed in the completion.
    pub cookie: u64,
    /// Input bytes.
    pub len: u16,
    /// Result buffer bytes.
    pub result_cap: u16,
    /// Inbound ESN high half.
    pub seq_hi: u32,
    /// SA-table entry.
    pub sa_index: u16,
    /// Outbound next header.
    pub next_header: u8,
    /// Direction: inbound (decapsulate) or outbound.
    pub inbound: bool,
    /// Flags.
    pub flags: DescFlags,
}

impl DmaDescriptor {
    /// The descriptor's bytes (reserved bits 0).
    #[must_use]
    pub fn encode(&self) -> [u8; DESC_BYTES] {
        let mut r = [0u8; DESC_BYTES];
        D_BUF_IOVA.put(&mut r, self.buf_iova);
        D_RESULT_IOVA.put(&mut r, self.result_iova);
        D_COOKIE.put(&mut r, self.cookie);
        D_LEN.put(&mut r, self.len.into());
        D_RESULT_CAP.put(&mut r, self.result_cap.into());
        D_SEQ_HI.put(&mut r, self.seq_hi.into());
        D_SA_INDEX.put(&mut r, self.sa_index.into());
        D_NEXT_HEADER.put(&mut r, self.next_header.into());
        D_INBOUND.put(&mut r, self.inbound.into());
        D_FLAGS.put(&mut r, self.flags.bits().into());
        r
    }

    /// Parse a descriptor; reserved bits or unknown flags are refused.
    pub fn decode(rec: &[u8; DESC_BYTES]) -> Result<Self, RecordError> {
        check_reserved(rec, DESC_FIELDS, "descriptor")?;
        let raw_flags = D_FLAGS.get(rec) as u8;
        let flags = DescFlags::from_bits(raw_flags).ok_or(RecordError::UnknownFlags(
            raw_flags & !DescFlags::all().bits(),
        ))?;
        Ok(Self {
            buf_iova: D_BUF_IOVA.get(rec),
            result_iova: D_RESULT_IOVA.get(rec),
            cookie: D_COOKIE.get(rec),
            len: D_LEN.get(rec) as u16,
            result_cap: D_RESULT_CAP.get(rec) as u16,
            seq_hi: D_SEQ_HI.get(rec) as u32,
            sa_index: D_SA_INDEX.get(rec) as u16,
            next_header: D_NEXT_HEADER.get(rec) as u8,
            inbound: D_INBOUND.get(rec) != 0,
            flags,
        })
    }

    /// The DMA front end's checks of a parsed descriptor, first failure first:
    /// length ([`Verdict::DmaLength`]), SA index range ([`Verdict::DmaSaIndex`]),
    /// buffer alignment ([`Verdict::DmaAlign`]), address range
    /// ([`Verdict::DmaBounds`]), result capacity ([`Verdict::DmaResultSpace`]).
    /// A descriptor that passes goes to the ESP engine, which may still refuse it
    /// (`BadSa` for an entry not installed, `DirectionMismatch`, `BadLength`, ...).
    pub fn validate(&self) -> Result<(), Verdict> {
        let len = u32::from(self.len);
        if len == 0 || len > MAX_PACKET_BYTES {
            return Err(Verdict::DmaLength);
        }
        if u32::from(self.sa_index) >= NUM_SAS {
            return Err(Verdict::DmaSaIndex);
        }
        if !self.buf_iova.is_multiple_of(BUF_ALIGN) || !self.result_iova.is_multiple_of(BUF_ALIGN) {
            return Err(Verdict::DmaAlign);
        }
        let in_range = |iova: u64, n: u16| u128::from(iova) + u128::from(n) <= 1u128 << IOVA_BITS;
        if !in_range(self.buf_iova, self.len) || !in_range(self.result_iova, self.result_cap) {
            return Err(Verdict::DmaBounds);
        }
        if u32::from(self.result_cap) < max_result_len(len, self.inbound) {
            return Err(Verdict::DmaResultSpace);
        }
        Ok(())
    }

    /// What the card does with the bytes of a descriptor: the parsed descriptor, or
    /// the verdict it completes it with ([`Verdict::DmaReserved`] for a record
    /// refused by [`decode`](Self::decode), else [`validate`](Self::validate)'s).
    pub fn card_check(rec: &[u8; DESC_BYTES]) -> Result<Self, Verdict> {
        let d = Self::decode(rec).map_err(|_| Verdict::DmaReserved)?;
        d.validate()?;
        Ok(d)
    }
}

/// One completion record (written by the card into the completion ring).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The descriptor's cookie.
    pub cookie: u64,
    /// Sequence number used (outbound) or authenticated (inbound); 0 if none.
    pub seq: u64,
    /// Bytes written to the result buffer.
    pub result_len: u16,
    /// Verdict.
    pub verdict: Verdict,
    /// The descriptor's direction.
    pub inbound: bool,
    /// Next header (inbound: from the trailer; outbound: echoed).
    pub next_header: u8,
    /// Free-running ring index of the descriptor.
    pub desc_index: u16,
    /// The descriptor's SA index.
    pub sa_index: u16,
    /// Phase bit ([`phase`] of the record's completion-ring index).
    pub phase: bool,
}

impl Completion {
    /// The record's bytes (reserved bits 0).
    #[must_use]
    pub fn encode(&self) -> [u8; CPL_BYTES] {
        let mut r = [0u8; CPL_BYTES];
        C_COOKIE.put(&mut r, self.cookie);
        C_SEQ.put(&mut r, self.seq);
        C_RESULT_LEN.put(&mut r, self.result_len.into());
        C_VERDICT.put(&mut r, self.verdict.code().into());
        C_INBOUND.put(&mut r, self.inbound.into());
        C_NEXT_HEADER.put(&mut r, self.next_header.into());
        C_DESC_INDEX.put(&mut r, self.desc_index.into());
        C_SA_INDEX.put(&mut r, self.sa_index.into());
        C_PHASE.put(&mut r, self.phase.into());
        r
    }

    /// The phase bit of a record, read before the rest (a record whose phase is not
    /// the consumer's expected phase has not been written yet).
    #[must_use]
    pub fn phase_of(rec: &[u8; CPL_BYTES]) -> bool {
        C_PHASE.get(rec) != 0
    }

    /// Parse a record; reserved bits, an undefined verdict code, result bytes with
    /// an error verdict or an impossible result length are refused.
    pub fn decode(rec: &[u8; CPL_BYTES]) -> Result<Self, RecordError> {
        check_reserved(rec, CPL_FIELDS, "completion")?;
        let code = C_VERDICT.get(rec) as u32;
        let verdict = Verdict::try_from_code(code).ok_or(RecordError::BadVerdict(code))?;
        let result_len = C_RESULT_LEN.get(rec) as u16;
        if result_len != 0 && verdict != Verdict::Ok {
            return Err(RecordError::ResultWithError {
                verdict,
                len: result_len,
            });
        }
        if u32::from(result_len) > outbound_len(MAX_PACKET_BYTES) {
            return Err(RecordError::ResultTooLong(result_len));
        }
        Ok(Self {
            cookie: C_COOKIE.get(rec),
            seq: C_SEQ.get(rec),
            result_len,
            verdict,
            inbound: C_INBOUND.get(rec) != 0,
            next_header: C_NEXT_HEADER.get(rec) as u8,
            desc_index: C_DESC_INDEX.get(rec) as u16,
            sa_index: C_SA_INDEX.get(rec) as u16,
            phase: Self::phase_of(rec),
        })
    }
}

/// Entries of a ring of `2^log2` entries.
#[must_use]
pub const fn ring_entries(log2: u32) -> u32 {
    1 << log2
}

/// Slot of free-running index `index` in a ring of `2^log2` entries.
#[must_use]
pub const fn slot(index: u16, log2: u32) -> u32 {
    (index as u32) & (ring_entries(log2) - 1)
}

/// Phase bit the card writes in the record at completion-ring index `index`: 1 on
/// the first lap (so a ring zeroed at setup holds no valid record), 0 on the second,
/// and so on.
#[must_use]
pub const fn phase(index: u16, log2: u32) -> bool {
    ((index as u32) >> log2) & 1 == 0
}

/// Entries between consumer and producer (descriptors posted and not yet fetched,
/// or records written and not yet consumed); `None` if the indices are further
/// apart than the ring holds (a fault: `QueueFault::BadIndex`).
#[must_use]
pub const fn ring_used(prod: u16, cons: u16, log2: u32) -> Option<u32> {
    let used = prod.wrapping_sub(cons) as u32;
    if used > ring_entries(log2) {
        None
    } else {
        Some(used)
    }
}

/// Free entries in a ring (`None` as for [`ring_used`]).
#[must_use]
pub const fn ring_free(prod: u16, cons: u16, log2: u32) -> Option<u32> {
    match ring_used(prod, cons, log2) {
        Some(u) => Some(ring_entries(log2) - u),
        None => None,
    }
}

/// Byte offset from the descriptor ring's base of the descriptor at `index`.
#[must_use]
pub const fn desc_offset(index: u16, log2: u32) -> u64 {
    slot(index, log2) as u64 * DESC_BYTES as u64
}

/// Byte offset from the completion ring's base of the record at `index`.
#[must_use]
pub const fn cpl_offset(index: u16, log2: u32) -> u64 {
    slot(index, log2) as u64 * CPL_BYTES as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_fields(fields: &[RecField], bytes: usize) {
        let mut used = vec![0u64; bytes / 8];
        let mut prev_lsb = None;
        for f in fields {
            assert!(f.width >= 1 && f.width <= 64, "{}", f.name);
            assert!(
                (f.lsb + f.width) as usize <= 8 * bytes,
                "{} beyond the record",
                f.name
            );
            assert_eq!(
                f.lsb / 64,
                (f.lsb + f.width - 1) / 64,
                "{} crosses a 64-bit word",
                f.name
            );
            assert_eq!(used[f.word()] & f.mask(), 0, "{} overlaps", f.name);
            used[f.word()] |= f.mask();
            if let Some(p) = prev_lsb {
                assert!(f.lsb > p, "{} out of order", f.name);
            }
            prev_lsb = Some(f.lsb);
        }
    }

    #[test]
    fn record_fields_fit_and_do_not_overlap() {
        check_fields(DESC_FIELDS, DESC_BYTES);
        check_fields(CPL_FIELDS, CPL_BYTES);
        assert!(DESC_BYTES.is_power_of_two() && CPL_BYTES.is_power_of_two());
        // The phase bit is the last bit of the record (written last in a burst).
        assert_eq!(C_PHASE.lsb as usize, 8 * CPL_BYTES - 1);
        // The 16-bit length fields hold the largest packet and result.
        assert!(outbound_len(MAX_PACKET_BYTES) < 1 << D_RESULT_CAP.width);
        assert!(outbound_len(MAX_PACKET_BYTES) < 1 << C_RESULT_LEN.width);
        assert_eq!(C_DESC_INDEX.width, INDEX_BITS);
        let m: [u64; DESC_BYTES / 8] = defined_masks(DESC_FIELDS);
        assert_eq!(m[0], u64::MAX);
        assert_eq!(m[4], 0x0000_00ff_01ff_ffff);
        assert_eq!(&m[5..], &[0; 3]);
    }

    fn sample_desc() -> DmaDescriptor {
        DmaDescriptor {
            buf_iova: 0x0000_7fff_dead_b000,
            result_iova: 0x0000_1234_5678_9ab0,
            cookie: 0xfedc_ba98_7654_3210,
            len: 1420,
            result_cap: 2048,
            seq_hi: 0x8000_0001,
            sa_index: 1023,
            next_header: 4,
            inbound: true,
            flags: DescFlags::IRQ_NOW,
        }
    }

    fn sample_cpl() -> Completion {
        Completion {
            cookie: u64::MAX - 1,
            seq: 0x1_0000_0002,
            result_len: 1372,
            verdict: Verdict::Ok,
            inbound: true,
            next_header: 41,
            desc_index: 0xffff,
            sa_index: 513,
            phase: true,
        }
    }

    #[test]
    fn descriptor_round_trips_and_is_little_endian() {
        let d = sample_desc();
        let b = d.encode();
        assert_eq!(DmaDescriptor::decode(&b), Ok(d));
        // Byte positions, as the hardware will see them.
        assert_eq!(&b[0..8], &0x0000_7fff_dead_b000u64.to_le_bytes());
        assert_eq!(&b[16..24], &0xfedc_ba98_7654_3210u64.to_le_bytes());
        assert_eq!(&b[24..26], &1420u16.to_le_bytes());
        assert_eq!(&b[26..28], &2048u16.to_le_bytes());
        assert_eq!(&b[28..32], &0x8000_0001u32.to_le_bytes());
        assert_eq!(&b[32..36], &[0xff, 0x03, 4, 1]);
        assert_eq!(b[36], 1);
        assert!(b[37..].iter().all(|&x| x == 0));
        // Extremes of every field.
        let e = DmaDescriptor {
            buf_iova: u64::MAX,
            result_iova: u64::MAX,
            cookie: u64::MAX,
            len: u16::MAX,
            result_cap: u16::MAX,
            seq_hi: u32::MAX,
            sa_index: u16::MAX,
            next_header: u8::MAX,
            inbound: true,
            flags: DescFlags::all(),
        };
        assert_eq!(DmaDescriptor::decode(&e.encode()), Ok(e));
        let z = DmaDescriptor::default();
        assert_eq!(z.encode(), [0u8; DESC_BYTES]);
        assert_eq!(DmaDescriptor::decode(&z.encode()), Ok(z));
    }

    #[test]
    fn completion_round_trips_and_is_little_endian() {
        let c = sample_cpl();
        let b = c.encode();
        assert_eq!(Completion::decode(&b), Ok(c));
        assert_eq!(&b[0..8], &(u64::MAX - 1).to_le_bytes());
        assert_eq!(&b[8..16], &0x1_0000_0002u64.to_le_bytes());
        assert_eq!(&b[16..18], &1372u16.to_le_bytes());
        assert_eq!(b[18], 0x10); // verdict 0, INBOUND at bit 4
        assert_eq!(b[19], 41);
        assert_eq!(&b[20..24], &[0xff, 0xff, 0x01, 0x02]);
        assert_eq!(b[31], 0x80);
        assert!(Completion::phase_of(&b));
        for code in 0..15 {
            let v = Verdict::try_from_code(code).unwrap();
            let c = Completion {
                verdict: v,
                result_len: if v == Verdict::Ok { 36 } else { 0 },
                phase: false,
                ..sample_cpl()
            };
            let b = c.encode();
            assert_eq!(Completion::decode(&b), Ok(c), "{v:?}");
            assert!(!Completion::phase_of(&b));
        }
    }

    #[test]
    fn descriptor_with_reserved_bits_is_refused() {
        let good = sample_desc().encode();
        // Every reserved bit, one at a time.
        let m: [u64; DESC_BYTES / 8] = defined_masks(DESC_FIELDS);
        let mut tried = 0;
        for bit in 0..8 * DESC_BYTES {
            let (w, b) = (bit / 64, bit % 64);
            if m[w] >> b & 1 == 1 {
                continue;
            }
            let mut r = good;
            r[bit / 8] |= 1 << (bit % 8);
            assert_eq!(
                DmaDescriptor::decode(&r),
                Err(RecordError::ReservedBits {
                    record: "descriptor",
                    byte: 8 * w,
                    bits: 1 << b,
                }),
                "bit {bit}"
            );
            assert_eq!(DmaDescriptor::card_check(&r), Err(Verdict::DmaReserved));
            tried += 1;
        }
        assert_eq!(tried, 8 * DESC_BYTES - 289);
        let mut r = good;
        r[36] |= 0x80;
        assert_eq!(
            DmaDescriptor::decode(&r),
            Err(RecordError::UnknownFlags(0x80))
        );
        assert_eq!(DmaDescriptor::card_check(&r), Err(Verdict::DmaReserved));
        let msg = DmaDescriptor::decode(&r).unwrap_err().to_string();
        assert!(msg.contains("unknown flag bits 0x80"), "{msg}");
        r = good;
        r[40] = 1;
        let msg = DmaDescriptor::decode(&r).unwrap_err().to_string();
        assert!(
            msg.contains("descriptor: reserved bits") && msg.contains("byte 40"),
            "{msg}"
        );
    }

    #[test]
    fn malformed_completions_are_refused() {
        let good = sample_cpl().encode();
        let mut r = good;
        C_VERDICT.put(&mut r, 15);
        assert_eq!(Completion::decode(&r), Err(RecordError::BadVerdict(15)));
        assert!(Completion::decode(&r)
            .unwrap_err()
            .to_string()
            .contains("undefined verdict code 15"));
        // Reserved bits: between fields and in the last word below the phase bit.
        for (byte, bit) in [(18usize, 5u32), (24, 0), (31, 6)] {
            let mut r = good;
            r[byte] |= 1 << bit;
            match Completion::decode(&r) {
                Err(RecordError::ReservedBits {
                    record, byte: w, ..
                }) => {
                    assert_eq!(record, "completion");
                    assert_eq!(w, byte / 8 * 8);
                }
                other => panic!("byte {byte} bit {bit}: {other:?}"),
            }
        }
        // A whole reserved byte.
        let mut r = good;
        r[25] = 0xff;
        assert!(matches!(
            Completion::decode(&r),
            Err(RecordError::ReservedBits { byte: 24, .. })
        ));
        // Result bytes with an error verdict.
        let mut r = good;
        C_VERDICT.put(&mut r, Verdict::AuthFailed.code().into());
        assert_eq!(
            Completion::decode(&r),
            Err(RecordError::ResultWithError {
                verdict: Verdict::AuthFailed,
                len: 1372
            })
        );
        // A result longer than any the card makes.
        let mut r = good;
        let too_long = outbound_len(MAX_PACKET_BYTES) + 1;
        C_RESULT_LEN.put(&mut r, too_long.into());
        assert_eq!(
            Completion::decode(&r),
            Err(RecordError::ResultTooLong(too_long as u16))
        );
    }

    #[test]
    fn descriptor_checks_give_the_dma_verdicts() {
        let ok = DmaDescriptor {
            inbound: false,
            len: 1400,
            result_cap: outbound_len(1400) as u16,
            ..sample_desc()
        };
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(DmaDescriptor::card_check(&ok.encode()), Ok(ok));
        let cases = [
            (DmaDescriptor { len: 0, ..ok }, Verdict::DmaLength),
            (
                DmaDescriptor {
                    len: MAX_PACKET_BYTES as u16 + 1,
                    result_cap: u16::MAX,
                    ..ok
                },
                Verdict::DmaLength,
            ),
            (
                DmaDescriptor {
                    sa_index: NUM_SAS as u16,
                    ..ok
                },
                Verdict::DmaSaIndex,
            ),
            (
                DmaDescriptor {
                    buf_iova: ok.buf_iova + 4,
                    ..ok
                },
                Verdict::DmaAlign,
            ),
            (
                DmaDescriptor {
                    result_iova: ok.result_iova + 1,
                    ..ok
                },
                Verdict::DmaAlign,
            ),
            (
                DmaDescriptor {
                    buf_iova: (1 << IOVA_BITS) - 1024,
                    ..ok
                },
                Verdict::DmaBounds,
            ),
            (
                DmaDescriptor {
                    result_iova: !(BUF_ALIGN - 1),
                    ..ok
                },
                Verdict::DmaBounds,
            ),
            (
                DmaDescriptor {
                    result_cap: outbound_len(1400) as u16 - 1,
                    ..ok
                },
                Verdict::DmaResultSpace,
            ),
            (
                DmaDescriptor {
                    inbound: true,
                    len: 100,
                    result_cap: 100 - 35,
                    ..ok
                },
                Verdict::DmaResultSpace,
            ),
        ];
        for (d, want) in cases {
            assert_eq!(d.validate(), Err(want), "{d:?}");
            assert_eq!(DmaDescriptor::card_check(&d.encode()), Err(want), "{d:?}");
        }
        // Edges that pass: largest packet, a range ending exactly at 2^IOVA_BITS,
        // inbound with exactly the plaintext's room, the last SA.
        let edge = [
            DmaDescriptor {
                len: MAX_PACKET_BYTES as u16,
                result_cap: outbound_len(MAX_PACKET_BYTES) as u16,
                ..ok
            },
            DmaDescriptor {
                buf_iova: (1 << IOVA_BITS) - 1408,
                ..ok
            },
            DmaDescriptor {
                inbound: true,
                len: 100,
                result_cap: 100 - 34,
                ..ok
            },
            DmaDescriptor {
                sa_index: NUM_SAS as u16 - 1,
                ..ok
            },
        ];
        for d in edge {
            assert_eq!(d.validate(), Ok(()), "{d:?}");
        }
        // The first failing check wins: zero length before a bad SA index.
        let both = DmaDescriptor {
            len: 0,
            sa_index: u16::MAX,
            buf_iova: 3,
            ..ok
        };
        assert_eq!(both.validate(), Err(Verdict::DmaLength));
    }

    #[test]
    fn ring_indices_wrap() {
        let log2 = 3;
        assert_eq!(ring_entries(log2), 8);
        assert_eq!(slot(9, log2), 1);
        assert_eq!(slot(0xffff, log2), 7);
        assert_eq!(desc_offset(9, log2), 64);
        assert_eq!(cpl_offset(0xffff, log2), 7 * 32);
        // Across the 16-bit wrap.
        assert_eq!(ring_used(2, 0xfffe, log2), Some(4));
        assert_eq!(ring_free(2, 0xfffe, log2), Some(4));
        assert_eq!(ring_used(6, 0xfffe, log2), Some(8));
        assert_eq!(ring_free(6, 0xfffe, log2), Some(0));
        assert_eq!(ring_used(7, 0xfffe, log2), None);
        assert_eq!(ring_free(5, 5, log2), Some(8));
        // Phase: 1 on lap 0, flips each lap, and over the 16-bit wrap it continues
        // (2^16 is a multiple of every ring size, so lap parity is consistent).
        assert!(phase(0, log2) && phase(7, log2));
        assert!(!phase(8, log2) && !phase(15, log2));
        assert!(phase(16, log2));
        assert!(!phase(0xffff, log2));
        assert!(phase(0xffffu16.wrapping_add(1), log2));
        // A consumer walking 3 laps sees each record's phase flip exactly at a slot 0.
        let mut expect = true;
        for i in 0u16..24 {
            if i > 0 && slot(i, log2) == 0 {
                expect = !expect;
            }
            assert_eq!(phase(i, log2), expect, "index {i}");
        }
        for l in MIN_RING_LOG2..=MAX_RING_LOG2 {
            assert!(ring_entries(l) as u64 * DESC_BYTES as u64 >= 256);
            assert_eq!(
                ring_used(ring_entries(l) as u16, 0, l),
                Some(ring_entries(l))
            );
        }
    }

    #[test]
    fn id_dma_value_packs_the_constants() {
        assert_eq!(ID_DMA_VALUE & 0xff, NUM_QUEUES);
        assert_eq!((ID_DMA_VALUE >> 8) & 0xff, MAX_RING_LOG2);
        assert_eq!((ID_DMA_VALUE >> 16) & 0xff, IOVA_BITS);
        assert_eq!(ID_DMA_VALUE >> 24, NUM_VECTORS);
    }
}
