//! The error kinds of the card engine as the data path sees them: the driver's
//! own error kept as the `source`, plus what the adapter adds (a poisoned lock, a
//! short result list, a counter that cannot be resumed). A leaf module, so the SA
//! install errors ([`crate::sa::InstallError`]) can carry it without depending on
//! the card adapter.

use driver::offload::PacketError;
use driver::DriverError;

/// Why the card engine did not do what was asked, with the driver's error kind
/// kept (`source`).
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The driver failed (a card fault under `offload = card`, a refused SA, ...).
    #[error("card engine: {0}")]
    Driver(#[from] DriverError),
    /// The engine refused one packet (unknown SA handle, wrong direction).
    #[error("card engine refused the packet: {0}")]
    Packet(#[source] PacketError),
    /// A worker panicked while holding the engine's lock.
    #[error("the offload engine's lock is poisoned (a worker panicked holding it)")]
    Poisoned,
    /// The engine gave back another number of results than packets.
    #[error("the offload engine returned {got} results for {sent} packets")]
    ResultCount {
        /// Packets handed in.
        sent: usize,
        /// Results returned.
        got: usize,
    },
    /// A saved outbound counter cannot be resumed on the card.
    #[error("cannot resume SPI {spi:#010x} on the card: {why}")]
    Resume {
        /// Outbound SPI.
        spi: u32,
        /// Why.
        why: &'static str,
    },
    /// The card's counter did not move to the resumed number.
    #[error("cannot resume SPI {spi:#010x} on the card: its counter reads {reads:?}, not {want}")]
    ResumeMismatch {
        /// Outbound SPI.
        spi: u32,
        /// The number asked for.
        want: u64,
        /// What the card's counter reads.
        reads: Option<u64>,
    },
}
