//! The driver's error type.

use std::path::PathBuf;

/// Everything that can go wrong between the driver and a card (or its model).
///
/// Variants carry the context a reader needs (which register, which SA, which path);
/// lower-level causes are kept as `#[source]`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// `/dev/vfio/vfio` does not exist: this kernel has no VFIO. The daemon turns this
    /// into the software path.
    #[error("no VFIO on this host: {path} is missing")]
    NoVfio {
        /// The container node that was looked for.
        path: PathBuf,
        /// The error from opening it.
        #[source]
        source: std::io::Error,
    },
    /// A VFIO ioctl failed.
    #[error("VFIO: {context}")]
    Vfio {
        /// What the driver was doing.
        context: String,
        /// The vfio-ioctls error.
        #[source]
        source: vfio_ioctls::VfioError,
    },
    /// A file or mapping operation failed.
    #[error("{context}")]
    Io {
        /// What the driver was doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The device or PCI address given does not name a usable device.
    #[error("device {device}: {reason}")]
    BadDevice {
        /// The PCI address or sysfs path as given.
        device: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A register access outside the mapped window.
    #[error("register access of {width} bytes at offset {offset:#x} is outside the {len:#x}-byte window")]
    OutOfBounds {
        /// Byte offset of the access.
        offset: u64,
        /// Access width in bytes.
        width: usize,
        /// Size of the window in bytes.
        len: usize,
    },
    /// A register access that is not naturally aligned.
    #[error("register access of {width} bytes at offset {offset:#x} is not aligned")]
    Misaligned {
        /// Byte offset of the access.
        offset: u64,
        /// Access width in bytes.
        width: usize,
    },
    /// A poll did not see the expected state in time.
    #[error("timeout waiting for {what} after {polls} polls")]
    Timeout {
        /// What was being waited for.
        what: &'static str,
        /// How many reads were made.
        polls: u32,
    },
    /// No interrupt arrived on a vector's eventfd within the time allowed.
    #[error("no interrupt on vector {vector} within {waited:?}")]
    IrqTimeout {
        /// The vector waited on (sub-index within MSI-X or MSI).
        vector: u32,
        /// How long the driver waited.
        waited: std::time::Duration,
    },
    /// The identity registers do not describe a card this driver knows.
    #[error("not an ESP offload card: magic {found:#010x}, expected {expected:#010x}")]
    BadMagic {
        /// Magic read from the card.
        found: u32,
        /// Magic this driver was built for.
        expected: u32,
    },
    /// The card's register layout version is not the one this driver was built for.
    #[error("card register layout version {found} is not supported (this driver knows version {expected}); refusing to drive it")]
    UnknownLayout {
        /// Layout version read from the card.
        found: u32,
        /// Layout version this driver knows.
        expected: u32,
    },
    /// The card lacks a capability the driver needs, or reports an impossible value.
    #[error("card capability problem: {0}")]
    Capability(String),
    /// An SA cannot be carried by the card; the reason says which parameter.
    #[error("SA {spi:#010x} not accepted by the card: {reason}")]
    SaUnsupported {
        /// SPI of the SA.
        spi: u32,
        /// Which parameter the card cannot carry.
        reason: String,
    },
    /// The card's SA table is full.
    #[error("SA table full ({capacity} entries)")]
    SaTableFull {
        /// Number of entries on the card.
        capacity: u32,
    },
    /// No SA is installed under this handle.
    #[error("no SA installed in slot {0}")]
    NoSuchSa(u32),
    /// The card reported an error status for a command or packet.
    #[error("card reported error status {status:#x} for {what}")]
    CardStatus {
        /// What the driver asked for.
        what: &'static str,
        /// Raw status value.
        status: u32,
    },
    /// A packet too large for the card's packet window.
    #[error("packet of {len} bytes exceeds the card's limit of {max} bytes")]
    PacketTooLarge {
        /// Packet length.
        len: usize,
        /// Largest length the card takes.
        max: usize,
    },
    /// The card reset itself (its reset generation changed) since the driver last looked.
    #[error("card reset detected (generation {before} -> {after})")]
    CardReset {
        /// Generation before.
        before: u32,
        /// Generation now.
        after: u32,
    },
    /// The card returned a result that failed verification.
    #[error("card returned a bad result for {what}")]
    BadResult {
        /// What was checked.
        what: String,
    },
    /// A card result broke the sequence rule: a sequence number other than the next
    /// one the driver expects for the SA, one not above every number already
    /// returned, or an IV that is not the sequence number (a reused GCM nonce).
    #[error("card result for SA {spi:#010x} breaks the sequence rule: {what}")]
    SeqViolation {
        /// SPI of the SA.
        spi: u32,
        /// What was wrong.
        what: String,
    },
    /// A DMA batch's outbound results for one SA did not go up (seen by the port,
    /// which knows the card's SA index, not the SPI).
    #[error("card results for SA index {sa_index} break the sequence rule: {what}")]
    SeqOrder {
        /// The card's SA index.
        sa_index: u16,
        /// What was wrong.
        what: String,
    },
    /// The card reset itself more often within one batch than the driver retries.
    #[error("card reset {resets} times within one batch")]
    TooManyResets {
        /// Resets seen in the batch.
        resets: u32,
    },
    /// The software ESP path refused an SA configuration.
    #[error("software ESP refused the SA configuration")]
    Software(#[source] esp::ConfigError),
    /// An SA with offload policy `card` could not be placed on (or removed from) the
    /// card, and the policy forbids the software fallback.
    #[error("SA {spi:#010x} has offload policy `card`: {source}")]
    PolicyCard {
        /// SPI of the SA.
        spi: u32,
        /// Why the card cannot carry it.
        #[source]
        source: Box<DriverError>,
    },
    /// The offload engine has no card backend.
    #[error("no card backend is open")]
    NoCard,
    /// The card is fenced off after a fault, until `Offload::recover_card` brings it
    /// back.
    #[error("the card is fenced off after a fault")]
    CardFenced {
        /// The fault that fenced it.
        #[source]
        cause: Option<std::sync::Arc<DriverError>>,
    },
}

impl DriverError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        DriverError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn vfio(context: impl Into<String>, source: vfio_ioctls::VfioError) -> Self {
        DriverError::Vfio {
            context: context.into(),
            source,
        }
    }
}
