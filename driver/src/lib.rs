#![doc = include_str!("../README.md")]

mod error;
pub mod mmio;
mod regio;
pub mod vfio;

pub use error::DriverError;
pub use regio::{poll_until, RegIo};
