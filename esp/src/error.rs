//! Error types, one small enum per operation.

use crate::replay::ReplayError;
use crate::types::{SeqNum, Spi, Transform};

/// An SA configuration the crate refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The key material has the wrong length for the transform.
    #[error("{transform}: key material must be {expected} bytes, got {got}")]
    KeyLength {
        /// The transform asked for.
        transform: Transform,
        /// Bytes it takes.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// Key material of the wrong length for an AH algorithm (or otherwise
    /// unusable).
    #[error("key material: {0}")]
    KeyMaterial(&'static str),
    /// Replay window size out of range.
    #[error(transparent)]
    ReplayWindow(#[from] crate::replay::WindowSizeError),
    /// The crypto backend could not set the key up.
    #[error("crypto backend refused the key: {0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    /// Tunnel endpoints of different IP versions.
    #[error("tunnel endpoints must both be IPv4 or both IPv6")]
    TunnelFamilyMismatch,
    /// A soft lifetime above its hard lifetime.
    #[error("soft lifetime above hard lifetime")]
    Lifetime,
}

/// Why a sequence number could not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SeqError {
    /// The counter never moves backwards (that would reuse a GCM nonce).
    #[error("sequence number {requested} is behind the counter {current}")]
    Backwards {
        /// The counter's next value.
        current: SeqNum,
        /// The value asked for.
        requested: SeqNum,
    },
    /// The counter would pass the largest allowed value: rekey required.
    #[error("sequence number space exhausted: rekey required")]
    Exhausted,
}

/// Outbound (seal / encap) failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncapError {
    /// The output buffer is too small.
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// Sequence numbers exhausted (2^32 - 1 without ESN, 2^64 - 1 with): the SA
    /// must be rekeyed; it never wraps.
    #[error("sequence number space exhausted: rekey required")]
    RekeyRequired,
    /// The hard packet or byte lifetime was reached: the SA must not be used.
    #[error("hard lifetime reached")]
    HardLifetime,
    /// The explicit IV has the wrong length for the transform.
    #[error("IV must be {expected} bytes, got {got}")]
    IvLength {
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The packet to protect is not a well-formed IP packet.
    #[error("inner packet malformed: {0}")]
    Malformed(&'static str),
    /// The payload is larger than an ESP packet can carry.
    #[error("payload too large")]
    TooLarge,
    /// The crypto backend failed.
    #[error("crypto failure")]
    Crypto,
}

/// Inbound (open / decap) failures, in the order the checks run. Each is its
/// own variant so the daemon can count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecapError {
    /// The packet is shorter than its headers say or than ESP's minimum.
    #[error("truncated or malformed packet: {0}")]
    Truncated(&'static str),
    /// No SA for this SPI in the SAD.
    #[error("unknown SPI {0}")]
    UnknownSpi(Spi),
    /// The packet's SPI is not this SA's.
    #[error("SPI {got} does not belong to SA {expected}")]
    SpiMismatch {
        /// This SA's SPI.
        expected: Spi,
        /// The packet's SPI.
        got: Spi,
    },
    /// Replayed sequence number.
    #[error("replayed sequence number {0}")]
    Replayed(SeqNum),
    /// Sequence number left of the replay window.
    #[error("sequence number {0} older than the replay window")]
    TooOld(SeqNum),
    /// Sequence number zero.
    #[error("sequence number zero")]
    SeqZero,
    /// The ICV did not verify.
    #[error("ICV check failed")]
    AuthFailed,
    /// The decrypted trailer is inconsistent (pad length or pad bytes).
    #[error("bad ESP trailer: {0}")]
    BadTrailer(&'static str),
    /// An ESP dummy packet (next header 59, RFC 4303 section 2.6): authentic,
    /// to be dropped silently.
    #[error("dummy packet")]
    DummyPacket,
    /// The inner packet does not match the SA's selectors.
    #[error("inner packet outside the SA's selectors")]
    SelectorMismatch,
    /// The inner packet cannot be delivered (unknown next header in tunnel mode,
    /// bad inner IP header).
    #[error("inner packet malformed: {0}")]
    BadInner(&'static str),
    /// Hard lifetime reached on this inbound SA.
    #[error("hard lifetime reached")]
    HardLifetime,
    /// The packet is not ESP (e.g. IKE on UDP 4500 or a NAT keepalive).
    #[error("not an ESP packet")]
    NotEsp,
}

impl From<ReplayError> for DecapError {
    fn from(e: ReplayError) -> Self {
        match e {
            ReplayError::Replayed(s) => DecapError::Replayed(s),
            ReplayError::TooOld(s) => DecapError::TooOld(s),
            ReplayError::Zero => DecapError::SeqZero,
        }
    }
}
