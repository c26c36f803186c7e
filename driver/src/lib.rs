#![doc = include_str!("../README.md")]

pub mod card;
pub mod dma;
mod error;
pub mod lab;
pub mod mmio;
pub mod model;
pub mod offload;
pub mod port;
mod regio;
pub mod vfio;

pub use card::{Card, CardConfig, CardCounters, CardSa, Identity, SaIndex};
pub use dma::{DmaPort, DmaPortConfig};
pub use error::DriverError;
pub use offload::{Offload, OffloadPolicy};
pub use port::{Direction, MmioWindowPort, PacketPort, PacketRequest, PacketResult};
pub use regio::{poll_until, HardReset, RegIo, SharedRegs};
