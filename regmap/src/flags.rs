//! Field values: bit flags for the flag registers, enums for the coded fields.

use bitflags::bitflags;

bitflags! {
    /// `ID_CAPABILITIES`: what this card can carry.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Capabilities: u32 {
        /// AES-128-GCM ESP (RFC 4106).
        const AES128 = 1 << 0;
        /// AES-256-GCM ESP (RFC 4106).
        const AES256 = 1 << 1;
        /// AES-GMAC ESP-NULL (RFC 4543), without ESN.
        const GMAC = 1 << 2;
        /// 64-bit extended sequence numbers for AES-GCM.
        const ESN = 1 << 3;
        /// AES-GMAC combined with ESN (the high half in the AAD in front of a
        /// non-block-aligned payload). Not in layout 1.
        const GMAC_ESN = 1 << 4;
        /// The AXI4-Stream packet ports are connected.
        const STREAM = 1 << 5;
        /// The MMIO packet window is present.
        const MMIO_WINDOW = 1 << 6;
        /// The DMA queue pairs (`regmap::dma`, registers `ID_DMA` and the queue
        /// blocks) are implemented (layout 2 on).
        const DMA = 1 << 7;
    }
}

bitflags! {
    /// `SA_FLAGS` (and bits `[7:0]` of `SA_RB_FLAGS`): the SA's transform and role.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct SaFlags: u32 {
        /// 256-bit key (`SA_KEY0..7`); otherwise 128-bit (`SA_KEY0..3`).
        const AES256 = 1 << 0;
        /// AES-GMAC ESP-NULL (RFC 4543) instead of AES-GCM.
        const GMAC = 1 << 1;
        /// Extended sequence numbers: the high half goes into the AAD.
        const ESN = 1 << 2;
        /// Inbound SA (decapsulation); otherwise outbound.
        const INBOUND = 1 << 3;
        /// Read-only, in `SA_RB_FLAGS` only: the entry is installed and usable.
        const VALID = 1 << 31;
    }
}

bitflags! {
    /// `SA_CMD_STATUS`: progress of the last SA command.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct SaCmdStatus: u32 {
        /// A command is running (key expansion and H = E_K(0) take a few dozen cycles).
        const BUSY = 1 << 0;
        /// The last command finished (cleared when the next command is written).
        const DONE = 1 << 1;
        /// The last command failed; the code is in `ERR_CODE` (bits `[11:8]`).
        const ERROR = 1 << 2;
        /// The entry the last command addressed is valid (after install/read).
        const VALID = 1 << 3;
    }
}

bitflags! {
    /// `PKT_STATUS` flag bits; the verdict and next header are coded fields beside
    /// them (see [`PktStatus::verdict`] and [`PktStatus::next_header`]).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct PktStatus: u32 {
        /// The packet engine is working on a window packet.
        const BUSY = 1 << 0;
        /// The window packet's result is in the output window (cleared by the doorbell).
        const DONE = 1 << 1;
        /// The engine is busy with a packet from the stream port.
        const STREAM_BUSY = 1 << 2;
        /// `VERDICT` field, bits `[11:8]`.
        const VERDICT = 0xf << 8;
        /// `NEXT_HEADER` field, bits `[23:16]`.
        const NEXT_HEADER = 0xff << 16;
    }
}

impl PktStatus {
    /// Shift of the verdict field.
    pub const VERDICT_SHIFT: u32 = 8;
    /// Shift of the next-header field.
    pub const NEXT_HEADER_SHIFT: u32 = 16;

    /// The verdict field, decoded.
    #[must_use]
    pub fn verdict(self) -> Verdict {
        Verdict::from_code((self.bits() >> Self::VERDICT_SHIFT) & 0xf)
    }

    /// The next header reported with an inbound result (or echoed for outbound).
    #[must_use]
    pub fn next_header(self) -> u8 {
        ((self.bits() >> Self::NEXT_HEADER_SHIFT) & 0xff) as u8
    }
}

bitflags! {
    /// `ERROR_EVENTS` (W1C): sticky event bits, set by the card, cleared by writing 1.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct ErrorEvents: u32 {
        /// A packet was refused with a bad-descriptor verdict.
        const BAD_DESCRIPTOR = 1 << 0;
        /// An inbound packet failed its ICV check.
        const AUTH_FAILED = 1 << 1;
        /// An SA command failed.
        const SA_CMD_FAILED = 1 << 2;
        /// A doorbell or SA command was written while the engine was busy (ignored).
        const BUSY_WRITE = 1 << 3;
        /// An outbound SA ran out of sequence numbers.
        const SEQ_EXHAUSTED = 1 << 4;
    }
}

bitflags! {
    /// `Q_CTRL` of a DMA queue block.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct QueueCtrl: u32 {
        /// Fetch and process descriptors. The ring base and size registers are
        /// written while this is 0; enabling checks them (`QueueFault::BadRing`).
        const ENABLE = 1 << 0;
        /// Write 1: the queue stops fetching, lets the DMA already issued finish
        /// (writing no further completions), and zeroes `DQ_CONS`, `CQ_PROD`, the
        /// moderation state, the fault and `Q_BAD_DESC`. Reads 0.
        const RESET = 1 << 1;
    }
}

bitflags! {
    /// `Q_STATUS` of a DMA queue block; the fault code is a coded field beside the
    /// flags (see [`QueueStatus::fault`]).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct QueueStatus: u32 {
        /// The queue is enabled and not faulted.
        const ENABLED = 1 << 0;
        /// A reset is in progress.
        const RESET_BUSY = 1 << 1;
        /// No descriptor has been fetched and not yet completed.
        const IDLE = 1 << 2;
        /// The queue stopped on a fault; only `Q_CTRL.RESET` clears it.
        const FAULT = 1 << 3;
        /// `FAULT_CODE` field, bits `[11:8]`.
        const FAULT_CODE = 0xf << 8;
    }
}

impl QueueStatus {
    /// Shift of the fault code.
    pub const FAULT_SHIFT: u32 = 8;

    /// The fault code, decoded (`None` for a code this layout does not define).
    #[must_use]
    pub fn fault(self) -> Option<QueueFault> {
        QueueFault::from_code((self.bits() >> Self::FAULT_SHIFT) & 0xf)
    }
}

/// `Q_STATUS.FAULT_CODE`: why a DMA queue stopped. Faults are what the card cannot
/// report in a completion record; a bad descriptor is never a fault (it is completed
/// with an error verdict and the queue goes on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum QueueFault {
    /// No fault.
    None = 0,
    /// Enabled with a ring size outside `dma::MIN_RING_LOG2..=dma::MAX_RING_LOG2`
    /// or a ring reaching past `2^dma::IOVA_BITS`.
    BadRing = 1,
    /// A descriptor fetch got an error response from the bus.
    DescFetch = 2,
    /// A completion write got an error response from the bus.
    CplWrite = 3,
    /// Software moved `DQ_PROD` more than the ring size ahead of `DQ_CONS`, or
    /// `CQ_CONS` past the last completion record the card has written (`CQ_PROD`
    /// counts a record once its write is acknowledged, so software, which sees a
    /// record by its phase bit, may acknowledge it before `CQ_PROD` moves).
    BadIndex = 4,
}

impl QueueFault {
    /// Decode; `None` for codes this layout does not define.
    #[must_use]
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Self::None),
            1 => Some(Self::BadRing),
            2 => Some(Self::DescFetch),
            3 => Some(Self::CplWrite),
            4 => Some(Self::BadIndex),
            _ => None,
        }
    }
}

/// `SA_CMD` opcodes (bits `[3:0]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum SaOp {
    /// Take key, salt, SPI, flags and sequence number from the staging registers into
    /// entry `SA_INDEX`: the card expands the key, computes H = E_K(0), zeroes the
    /// per-SA counters and marks the entry valid.
    Install = 1,
    /// Mark entry `SA_INDEX` invalid and wipe its key and hash key.
    Remove = 2,
    /// Rewrite SPI, flags and sequence counter of a valid entry (no new key).
    Update = 3,
    /// Load entry `SA_INDEX`'s SPI, flags, sequence counter and counters into the
    /// `SA_RB_*` registers.
    Read = 4,
}

impl SaOp {
    /// Decode an opcode; `None` for codes the card refuses.
    #[must_use]
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(Self::Install),
            2 => Some(Self::Remove),
            3 => Some(Self::Update),
            4 => Some(Self::Read),
            _ => None,
        }
    }
}

/// `SA_CMD_STATUS.ERR_CODE` (bits `[11:8]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum SaCmdError {
    /// No error.
    None = 0,
    /// `SA_INDEX` is not below `NUM_SAS`.
    BadIndex = 1,
    /// Unknown opcode.
    BadOpcode = 2,
    /// Flag combination the card cannot carry (GMAC with ESN in layout 1).
    Unsupported = 3,
    /// Update of an entry that is not valid.
    NotValid = 4,
}

impl SaCmdError {
    /// Shift of the error code in `SA_CMD_STATUS`.
    pub const SHIFT: u32 = 8;

    /// Decode; unknown codes map to `None` of the Option.
    #[must_use]
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Self::None),
            1 => Some(Self::BadIndex),
            2 => Some(Self::BadOpcode),
            3 => Some(Self::Unsupported),
            4 => Some(Self::NotValid),
            _ => None,
        }
    }
}

/// Result verdict of one packet (`PKT_STATUS.VERDICT`, `m_axis_tuser[3:0]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Verdict {
    /// Processed; the output is valid.
    Ok = 0,
    /// Inbound ICV mismatch; no plaintext is released (result length 0).
    AuthFailed = 1,
    /// SA index out of range or entry not valid (bad descriptor).
    BadSa = 2,
    /// Descriptor direction differs from the SA's direction (bad descriptor).
    DirectionMismatch = 3,
    /// Input longer than `MAX_PACKET_BYTES`, or an inbound datagram shorter than
    /// `MIN_INBOUND_BYTES` or whose ciphertext is not a multiple of 4 (bad descriptor).
    BadLength = 4,
    /// Inbound: the decrypted pad length does not fit (malformed ESP, after the ICV
    /// checked out).
    BadTrailer = 5,
    /// Outbound: the SA's sequence counter is exhausted; rekey required.
    SeqExhausted = 6,
    /// Inbound: the SPI in the packet is not the SA's SPI (bad descriptor).
    BadSpi = 7,
    /// DMA descriptor: length 0 or above `MAX_PACKET_BYTES` (bad descriptor).
    DmaLength = 8,
    /// DMA descriptor: SA index not below `NUM_SAS` (bad descriptor).
    DmaSaIndex = 9,
    /// DMA descriptor: input or result IOVA not a multiple of `dma::BUF_ALIGN`
    /// (bad descriptor).
    DmaAlign = 10,
    /// DMA descriptor: input or result range wraps or reaches past `2^dma::IOVA_BITS`
    /// (bad descriptor).
    DmaBounds = 11,
    /// DMA descriptor: result capacity below the largest result the packet can give
    /// (bad descriptor).
    DmaResultSpace = 12,
    /// DMA descriptor: a reserved bit or an unknown flag is set (bad descriptor).
    DmaReserved = 13,
    /// DMA: the bus master got an error response reading the input or writing the
    /// result (an IOMMU fault or unmapped IOVA); the result buffer may be partly
    /// written.
    DmaBusError = 14,
    /// A code this layout does not define.
    Unknown = 15,
}

impl Verdict {
    /// Decode a 4-bit verdict code; codes this layout does not define give
    /// [`Verdict::Unknown`].
    #[must_use]
    pub fn from_code(code: u32) -> Self {
        Self::try_from_code(code).unwrap_or(Self::Unknown)
    }

    /// Decode a verdict code strictly: `None` for a code this layout does not define
    /// (including 15, the code of [`Verdict::Unknown`]).
    #[must_use]
    pub fn try_from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => Self::Ok,
            1 => Self::AuthFailed,
            2 => Self::BadSa,
            3 => Self::DirectionMismatch,
            4 => Self::BadLength,
            5 => Self::BadTrailer,
            6 => Self::SeqExhausted,
            7 => Self::BadSpi,
            8 => Self::DmaLength,
            9 => Self::DmaSaIndex,
            10 => Self::DmaAlign,
            11 => Self::DmaBounds,
            12 => Self::DmaResultSpace,
            13 => Self::DmaReserved,
            14 => Self::DmaBusError,
            _ => return None,
        })
    }

    /// The 4-bit code.
    #[must_use]
    pub fn code(self) -> u32 {
        self as u32
    }

    /// Whether this verdict is counted as a bad descriptor (`CNT_BAD_DESC`).
    #[must_use]
    pub fn is_bad_descriptor(self) -> bool {
        matches!(
            self,
            Self::BadSa
                | Self::DirectionMismatch
                | Self::BadLength
                | Self::BadSpi
                | Self::DmaLength
                | Self::DmaSaIndex
                | Self::DmaAlign
                | Self::DmaBounds
                | Self::DmaResultSpace
                | Self::DmaReserved
        )
    }

    /// Whether this verdict is one of the DMA front end's (codes 8..=14), given before
    /// the packet reaches the ESP engine.
    #[must_use]
    pub fn is_dma(self) -> bool {
        matches!(self.code(), 8..=14)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_codes_round_trip() {
        for code in 0..16 {
            let v = Verdict::from_code(code);
            if v != Verdict::Unknown {
                assert_eq!(v.code(), code);
            }
        }
        assert_eq!(Verdict::from_code(15), Verdict::Unknown);
        assert_eq!(Verdict::try_from_code(15), None);
        assert_eq!(Verdict::try_from_code(16), None);
        assert_eq!(Verdict::from_code(8), Verdict::DmaLength);
        assert_eq!(Verdict::from_code(14), Verdict::DmaBusError);
        // Every DMA descriptor error counts as a bad descriptor; a bus error does not
        // (it is the host's mapping, not the descriptor).
        for code in 8..=13 {
            let v = Verdict::from_code(code);
            assert!(v.is_dma() && v.is_bad_descriptor(), "{v:?}");
        }
        assert!(Verdict::DmaBusError.is_dma());
        assert!(!Verdict::DmaBusError.is_bad_descriptor());
        assert!(!Verdict::BadSpi.is_dma());
    }

    #[test]
    fn sa_ops_decode() {
        assert_eq!(SaOp::from_code(1), Some(SaOp::Install));
        assert_eq!(SaOp::from_code(4), Some(SaOp::Read));
        assert_eq!(SaOp::from_code(0), None);
        assert_eq!(SaOp::from_code(5), None);
        assert_eq!(SaCmdError::from_code(3), Some(SaCmdError::Unsupported));
    }

    #[test]
    fn queue_status_fault_decodes() {
        let s = QueueStatus::from_bits_retain(
            QueueStatus::FAULT.bits() | (3 << QueueStatus::FAULT_SHIFT),
        );
        assert_eq!(s.fault(), Some(QueueFault::CplWrite));
        let s = QueueStatus::from_bits_retain(9 << QueueStatus::FAULT_SHIFT);
        assert_eq!(s.fault(), None);
        assert_eq!(QueueStatus::IDLE.fault(), Some(QueueFault::None));
    }

    #[test]
    fn pkt_status_fields() {
        let s = PktStatus::from_bits_retain(
            PktStatus::DONE.bits() | (1 << PktStatus::VERDICT_SHIFT) | (0x11 << 16),
        );
        assert!(s.contains(PktStatus::DONE));
        assert_eq!(s.verdict(), Verdict::AuthFailed);
        assert_eq!(s.next_header(), 0x11);
    }
}
