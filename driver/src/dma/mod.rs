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
pub mod irq;
pub mod map;
pub mod mem;
pub mod port;
pub mod queue;

#[cfg(test)]
mod tests;

pub use irq::{IrqEvent, IrqSignal, IrqWait};
pub use map::{BusError, DmaMapper, HostMemory, IovaTable, VfioMapper};
pub use mem::{DmaRegion, HugePages, PageKind};
pub use port::{DmaPort, DmaPortConfig, DmaPortStats};
pub use queue::{DmaQueue, QueueConfig};
