//! Packets per second through the model card: the MMIO window path against the
//! DMA path (polled and interrupt-driven), batch sizes 1, 8 and 32, in one run.
//! The model computes every result with `esp` on either path, so the difference
//! is the cost of moving packets (register accesses against ring records and
//! buffer copies). Also counts register accesses per packet.
//!
//! Run: `cargo bench -p driver --bench dma_path` (add `-- --quick` for fewer packets).

use std::time::{Duration, Instant};

use driver::dma::{DmaPort, DmaPortConfig, IovaTable, IrqEvent, IrqWait, QueueConfig};
use driver::model::ModelCard;
use driver::{
    Card, CardConfig, CardSa, Direction, DriverError, MmioWindowPort, PacketPort, PacketRequest,
    RegIo,
};
use esp::{SaConfig, Spi, Transform};

/// Counts register accesses on the way to the model.
struct Counting {
    inner: ModelCard,
    accesses: u64,
}

impl RegIo for Counting {
    fn read32(&mut self, offset: u32) -> Result<u32, DriverError> {
        self.accesses += 1;
        self.inner.read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
        self.accesses += 1;
        self.inner.write32(offset, value)
    }
}

fn run<P: PacketPort<Counting>>(
    model: ModelCard,
    port: P,
    size: usize,
    batch: usize,
    packets: usize,
) -> (f64, f64) {
    let mut card = Card::probe_with_port(
        Counting {
            inner: model,
            accesses: 0,
        },
        port,
        CardConfig::default(),
    )
    .expect("probe");
    let cfg = SaConfig::new(Spi(0x1000), Transform::AesGcm128, &[0x42; 20]).expect("sa");
    let ix = card
        .install_sa(CardSa::from_config(&cfg, Direction::Outbound, 0))
        .expect("install");
    let payload = vec![0xa5u8; size];
    let reqs: Vec<PacketRequest<'_>> = (0..batch)
        .map(|_| PacketRequest::outbound(ix.0, 4, &payload))
        .collect();
    let mut out = Vec::with_capacity(batch);
    // Warm up (queue setup, first allocations).
    card.process(&reqs, &mut out).expect("warm-up");
    let before = card.regs_mut().accesses;
    let t0 = Instant::now();
    let mut done = 0;
    while done < packets {
        out.clear();
        card.process(&reqs, &mut out).expect("batch");
        assert_eq!(out.len(), batch);
        done += batch;
    }
    let dt = t0.elapsed().max(Duration::from_nanos(1));
    let accesses = card.regs_mut().accesses - before;
    (
        done as f64 / dt.as_secs_f64(),
        accesses as f64 / done as f64,
    )
}

fn dma_port(model: &mut ModelCard, irq: bool) -> DmaPort<IovaTable> {
    let cfg = DmaPortConfig {
        queue: QueueConfig {
            ring_log2: 8,
            irq_vector: irq.then_some(0),
            ..QueueConfig::default()
        },
        ..DmaPortConfig::default()
    };
    let wait: Option<Box<dyn IrqWait + Send>> = if irq {
        let e = IrqEvent::new(0).expect("eventfd");
        model.connect_irq(0, e.signaller().expect("eventfd"));
        Some(Box::new(e))
    } else {
        None
    };
    DmaPort::new(model.host_memory(), cfg, wait).expect("port")
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let packets = if quick { 2_000 } else { 20_000 };
    println!("model card, AES-GCM-128 outbound, {packets} packets per row");
    println!(
        "{:>6} {:>6} | {:>12} {:>12} {:>12} | {:>9} {:>9} | {:>9} {:>9} {:>9}",
        "bytes",
        "batch",
        "mmio pkt/s",
        "dma-poll",
        "dma-irq",
        "poll/mmio",
        "irq/mmio",
        "mmio reg",
        "poll reg",
        "irq reg"
    );
    for size in [64usize, 576, 1420] {
        for batch in [1usize, 8, 32] {
            let (mmio, mmio_r) = run(ModelCard::new(), MmioWindowPort, size, batch, packets);
            let mut m = ModelCard::new();
            let p = dma_port(&mut m, false);
            let (poll, poll_r) = run(m, p, size, batch, packets);
            let mut m = ModelCard::new();
            let p = dma_port(&mut m, true);
            let (irq, irq_r) = run(m, p, size, batch, packets);
            println!(
                "{size:>6} {batch:>6} | {mmio:>12.0} {poll:>12.0} {irq:>12.0} | {:>8.2}x {:>8.2}x | {mmio_r:>9.1} {poll_r:>9.2} {irq_r:>9.2}",
                poll / mmio,
                irq / mmio,
            );
        }
    }
    println!("reg = register accesses per packet (MMIO: window words + descriptor + status;");
    println!("DMA: Q_STATUS + DQ_PROD + CQ_CONS per batch, shared by its packets)");
}
