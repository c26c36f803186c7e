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
    /// A code this layout does not define.
    Unknown = 15,
}

impl Verdict {
    /// Decode a 4-bit verdict code.
    #[must_use]
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Self::Ok,
            1 => Self::AuthFailed,
            2 => Self::BadSa,
            3 => Self::DirectionMismatch,
            4 => Self::BadLength,
            5 => Self::BadTrailer,
            6 => Self::SeqExhausted,
            7 => Self::BadSpi,
            _ => Self::Unknown,
        }
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
            Self::BadSa | Self::DirectionMismatch | Self::BadLength | Self::BadSpi
        )
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
        assert_eq!(Verdict::from_code(8), Verdict::Unknown);
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
    fn pkt_status_fields() {
        let s = PktStatus::from_bits_retain(
            PktStatus::DONE.bits() | (1 << PktStatus::VERDICT_SHIFT) | (0x11 << 16),
        );
        assert!(s.contains(PktStatus::DONE));
        assert_eq!(s.verdict(), Verdict::AuthFailed);
        assert_eq!(s.next_header(), 0x11);
    }
}
