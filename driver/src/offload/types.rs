//! What the offload layer's callers see: the policy, handles, packets in and out,
//! per-packet errors and counters.

use std::sync::Arc;

use crate::DriverError;

/// Where one SA may run. Each SA carries its own policy ([`super::Offload::add_sa`]).
///
/// In configuration files it is written in lower case: `"auto"`, `"card"`, `"software"`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum OffloadPolicy {
    /// The card when it can, software otherwise: an SA the card refuses runs in
    /// software, and a card fault moves the SA to software (counted, logged). Never
    /// fails an SA that software can carry.
    #[default]
    Auto,
    /// The card or an error: an SA the card refuses is not added, and a card fault
    /// fails the SA ([`PacketError::CardFailed`] for its packets) instead of moving
    /// it to software.
    Card,
    /// Software only: the SA never touches the card.
    Software,
}

impl OffloadPolicy {
    /// The policy as it is written in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            OffloadPolicy::Auto => "auto",
            OffloadPolicy::Card => "card",
            OffloadPolicy::Software => "software",
        }
    }
}

impl std::fmt::Display for OffloadPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for OffloadPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(OffloadPolicy::Auto),
            "card" => Ok(OffloadPolicy::Card),
            "software" => Ok(OffloadPolicy::Software),
            other => Err(format!(
                "unknown offload policy {other:?} (expected auto, card or software)"
            )),
        }
    }
}

/// Handle of an SA in an [`super::Offload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct SaId(pub u32);

/// Which path carried a packet or holds an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DataPath {
    /// The card.
    Card,
    /// The software ESP path.
    Software,
}

/// Tuning of the offload layer.
#[derive(Debug, Clone, Copy)]
pub struct OffloadConfig {
    /// Verify every n-th card result in software (0 = never, 1 = every result). A
    /// failed check counts as a card fault.
    pub verify_every: u32,
    /// How many times one batch is retried on a card that reset itself during it
    /// (each time reloaded from the shadow, numbering after every number the card
    /// may have used). One more reset fences the card
    /// ([`crate::DriverError::TooManyResets`]).
    pub reset_retries: u32,
}

impl Default for OffloadConfig {
    fn default() -> Self {
        OffloadConfig {
            verify_every: 64,
            reset_retries: 1,
        }
    }
}

/// What happened, for stats and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OffloadCounters {
    /// Packets carried by the card.
    pub card_packets: u64,
    /// Packets carried by software (including redone ones).
    pub software_packets: u64,
    /// Packets of `auto` SAs the card did not finish that software redid.
    pub redone_in_software: u64,
    /// `auto` SAs the card refused at install (running in software).
    pub sas_rejected_by_card: u64,
    /// `auto` SAs moved from the card to software after a fault.
    pub sas_moved_to_software: u64,
    /// SAs moved back to the card (`auto` SAs from software, failed `card` SAs).
    pub sas_returned_to_card: u64,
    /// `card` SAs failed by a card fault (not carried in software).
    pub card_sas_failed: u64,
    /// Packets of failed `card` SAs refused with [`PacketError::CardFailed`].
    pub failed_sa_packets: u64,
    /// Card faults (timeouts, bad results, unexpected verdicts).
    pub card_faults: u64,
    /// Card results that failed verification (including sequence violations).
    pub bad_results: u64,
    /// Card results that broke the sequence rule (unexpected or repeated sequence
    /// number, IV other than the sequence number); each fences the card.
    pub card_seq_violations: u64,
    /// Card resets detected (SA table reloaded).
    pub card_resets: u64,
}

/// A per-packet failure (the batch goes on).
#[derive(Debug, thiserror::Error)]
pub enum PacketError {
    /// No SA under this handle.
    #[error("no SA {0:?}")]
    UnknownSa(SaId),
    /// The SA is of the other direction.
    #[error("SA {0:?} is not of this direction")]
    WrongDirection(SaId),
    /// Encapsulation failed (e.g. rekey required).
    #[error("encapsulation: {0}")]
    Encap(#[source] esp::EncapError),
    /// Decapsulation failed (authentication, replay, ...).
    #[error("decapsulation: {0}")]
    Decap(#[source] esp::DecapError),
    /// The SA has policy `card` and the card failed: the packet was not carried (not
    /// in software either). The SA stays failed until
    /// [`super::Offload::recover_card`] puts it back on a healthy card.
    #[error("SA {spi:#010x} (offload = card) failed with the card: {cause}")]
    CardFailed {
        /// The SA.
        sa: SaId,
        /// Its SPI.
        spi: u32,
        /// The card fault that failed it.
        #[source]
        cause: Arc<DriverError>,
    },
}

/// An outbound packet: `payload` (the inner packet or transport payload) under SA `sa`.
#[derive(Debug, Clone, Copy)]
pub struct OutPacket<'a> {
    /// SA.
    pub sa: SaId,
    /// Payload.
    pub payload: &'a [u8],
    /// Next header for the trailer.
    pub next_header: u8,
}

/// An outbound result: the ESP datagram (SPI .. ICV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPacket {
    /// The datagram.
    pub datagram: Vec<u8>,
    /// Its sequence number.
    pub seq: u64,
    /// Who made it.
    pub path: DataPath,
}

/// An inbound packet: an ESP datagram (SPI .. ICV) for SA `sa`.
#[derive(Debug, Clone, Copy)]
pub struct InPacket<'a> {
    /// SA.
    pub sa: SaId,
    /// Datagram.
    pub datagram: &'a [u8],
}

/// An inbound result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedPacket {
    /// Payload without the trailer.
    pub payload: Vec<u8>,
    /// Next header from the trailer.
    pub next_header: u8,
    /// Authenticated sequence number.
    pub seq: u64,
    /// Who made it.
    pub path: DataPath,
}
