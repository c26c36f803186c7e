//! The DMA path: host memory for rings and packet buffers, its mapping for the
//! device, interrupts as eventfds, the queue pair, and the packet port over it.
//!
//! - [`mem`]: [`DmaRegion`], anonymous memory (2 MiB huge pages where available),
//!   touched only through copies.
//! - [`map`]: [`DmaMapper`] (driver side: a region gets an IOVA) and [`HostMemory`]
//!   (device side: bytes by IOVA); [`IovaTable`] (in-process IOMMU for the model
//!   card and simulators) and [`VfioMapper`] (`VFIO_IOMMU_MAP_DMA`).
//! - [`irq`]: [`IrqWait`] and [`IrqEvent`] (one eventfd per vector, the type VFIO
//!   signals too), whose [`IrqSignal`] a model or simulator fires.
//! - [`queue`]: [`DmaQueue`], one queue pair as `regmap::dma` defines it.
//! - [`port`]: [`DmaPort`], a `PacketPort` over one queue pair.
//! - `conformance` (feature `conformance`): the scenarios every backend with DMA
//!   queues must pass, run against the model card here and the Verilated card in
//!   `sim`.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(any(test, feature = "conformance"))]
mod counting;
pub mod irq;
pub mod map;
pub mod mem;
pub mod port;
pub mod queue;

#[cfg(test)]
mod tests;

pub use irq::{IrqEvent, IrqSignal, IrqWait};

/// A card whose bus master reaches host memory through the in-process IOMMU and
/// whose interrupt vectors the host wires to eventfds (the model card, the simulated
/// card): what a `DmaPort` over it needs besides its registers.
pub trait DmaWiring: crate::RegIo {
    /// The IOMMU the card's bus master reaches host memory through (map the port's
    /// memory with it).
    fn host_memory(&self) -> IovaTable;
    /// Wires interrupt `vector` to `signal`; `false` if there is no such vector.
    fn connect_irq(&mut self, vector: u32, signal: IrqSignal) -> bool;
}

impl DmaWiring for crate::model::ModelCard {
    fn host_memory(&self) -> IovaTable {
        crate::model::ModelCard::host_memory(self)
    }
    fn connect_irq(&mut self, vector: u32, signal: IrqSignal) -> bool {
        crate::model::ModelCard::connect_irq(self, vector, signal)
    }
}
pub use map::{BusError, DmaMapper, HostMemory, IovaTable, VfioMapper};
pub use mem::{DmaRegion, HugePages, PageKind};
pub use port::{DmaPort, DmaPortConfig, DmaPortStats};
pub use queue::{DmaQueue, QueueConfig};
