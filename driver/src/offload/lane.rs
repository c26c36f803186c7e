//! [`Lane`]: one worker's own DMA queue pair, for [`super::Offload::seal_batch_on`] and
//! [`super::Offload::open_batch_on`].
//!
//! The card has `regmap::dma::NUM_QUEUES` queue pairs, each with its rings, doorbell,
//! completion ring and interrupt vector. The engine's own port (`Card<R, DmaPort>`)
//! drives one of them; a lane drives another from a worker thread with its own handle
//! on the card's registers (a [`crate::SharedRegs`] clone), its own rings and buffers
//! and its own interrupt eventfd. The engine is locked only to reserve sequence
//! numbers before a batch and to check its results after it; while the card works on
//! one lane's batch, the other lanes post, wait and take their completions.

use crate::dma::{DmaMapper, DmaPort, DmaPortConfig, DmaPortStats, DmaWiring, IovaTable, IrqEvent};
use crate::port::{PacketPort, PacketRequest, PacketResult};
use crate::{DriverError, RegIo};

/// One DMA queue pair driven by one worker (see the module docs).
pub struct Lane<R: RegIo, M: DmaMapper> {
    regs: R,
    port: DmaPort<M>,
    queue: u32,
    poll_limit: u32,
}

impl<R: RegIo, M: DmaMapper> std::fmt::Debug for Lane<R, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane")
            .field("queue", &self.queue)
            .field("port", &self.port)
            .finish()
    }
}

impl<R: RegIo, M: DmaMapper> Lane<R, M> {
    /// A lane over `port` (its queue number `queue`) with the register handle `regs`;
    /// `poll_limit` bounds each wait when the port polls.
    pub fn new(regs: R, port: DmaPort<M>, queue: u32, poll_limit: u32) -> Self {
        Lane {
            regs,
            port,
            queue,
            poll_limit,
        }
    }

    /// The queue pair it drives.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// What its port counted.
    pub fn stats(&self) -> DmaPortStats {
        self.port.stats()
    }

    /// Takes back the buffers of results the caller has copied out (a sealed
    /// datagram, an opened payload), so the lane's next completions reuse them.
    pub fn recycle(&mut self, bufs: &mut Vec<Vec<u8>>) {
        PacketPort::<R>::recycle(&mut self.port, bufs);
    }

    pub(super) fn transfer(
        &mut self,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
    ) -> Result<(), DriverError> {
        self.port
            .process(&mut self.regs, reqs, out, self.poll_limit)
    }
}

impl<R: DmaWiring + Clone> Lane<R, IovaTable> {
    /// A lane on queue pair `queue` of the card behind `regs` (the model or the
    /// simulated card): its memory mapped through the card's IOMMU, interrupt vector
    /// `queue` wired to an eventfd of its own, the rest of the queue's shape from
    /// `cfg`. The card is programmed at the lane's first batch.
    pub fn open(
        regs: &R,
        queue: u32,
        cfg: DmaPortConfig,
        poll_limit: u32,
    ) -> Result<Self, DriverError> {
        let mut regs = regs.clone();
        let irq = IrqEvent::new(queue)?;
        if !regs.connect_irq(queue, irq.signaller()?) {
            return Err(DriverError::Capability(format!(
                "the card has no interrupt vector {queue} for a lane"
            )));
        }
        let mut cfg = cfg;
        cfg.queue.queue = queue;
        cfg.queue.irq_vector = Some(queue);
        let port = DmaPort::new(regs.host_memory(), cfg, Some(Box::new(irq)))?;
        Ok(Lane::new(regs, port, queue, poll_limit))
    }
}
