//! Taking card results allocates nothing per packet: a worker's lane on the
//! Verilated card seals and opens batches of 1 and of 16 packets, and the heap
//! allocations made on the worker's thread are counted (the conformance kit's
//! counting global allocator, on for this thread only while a run is measured; the
//! simulated card's own work, its clock thread and the model steps a register access
//! makes, is not counted: on a board that is hardware). With the result buffers handed back (`Lane::recycle`), a batch
//! of 16 allocates no more than a batch of 1: what the driver allocates is per batch
//! (the request and result lists), never per packet.
//!
//! Software verification is off here (`verify_every = 0`): a sampled check copies
//! the one packet it checks.

use std::sync::Mutex;
use std::time::Duration;

use driver::dma::conformance::{allocations, uncounted, CountingAlloc};
use driver::dma::{DmaPort, DmaPortConfig, DmaWiring, IovaTable, IrqSignal, QueueConfig};
use driver::offload::{InPacket, Lane, OffloadConfig, OutPacket};
use driver::{Card, CardConfig, Direction, DriverError, Offload, OffloadPolicy, RegIo, SharedRegs};
use esp::{proto, OutboundSa, SaConfig, Spi, Transform};
use sim::SimCard;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// The simulated card with its own work left out of the count: a register access
/// steps the Verilated model (and its host-memory model) on the caller's thread,
/// where a board does one MMIO load or store.
struct Board(SimCard);

impl RegIo for Board {
    fn read32(&mut self, offset: u32) -> Result<u32, DriverError> {
        uncounted(|| self.0.read32(offset))
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
        uncounted(|| self.0.write32(offset, value))
    }
}

impl DmaWiring for Board {
    fn host_memory(&self) -> IovaTable {
        self.0.host_memory()
    }
    fn connect_irq(&mut self, vector: u32, signal: IrqSignal) -> bool {
        self.0.connect_irq(vector, signal)
    }
}

fn sa(spi: u32) -> SaConfig {
    let key: Vec<u8> = (0..20u8).map(|b| b.wrapping_mul(41) ^ spi as u8).collect();
    SaConfig::new(Spi(spi), Transform::AesGcm128, &key).expect("SA")
}

#[test]
fn a_lane_takes_results_without_allocating_per_packet() {
    let regs = SharedRegs::new(Board(SimCard::new().expect("create the Verilated model")));
    let cfg = DmaPortConfig {
        queue: QueueConfig {
            ring_log2: 5,
            ..QueueConfig::default()
        },
        completion_timeout: Duration::from_secs(5),
        ..DmaPortConfig::default()
    };
    let port = DmaPort::new(regs.host_memory(), cfg, None).expect("port");
    let card = Card::probe_with_port(regs.clone(), port, CardConfig::default()).expect("probe");
    let engine = Mutex::new(Offload::new(
        Some(card),
        OffloadConfig {
            verify_every: 0,
            ..OffloadConfig::default()
        },
    ));
    let (out_sa, in_sa) = {
        let mut e = engine.lock().expect("engine");
        let o = e
            .add_sa(&sa(0x7a11), Direction::Outbound, OffloadPolicy::Card)
            .expect("outbound");
        let i = e
            .add_sa(&sa(0x7a12), Direction::Inbound, OffloadPolicy::Card)
            .expect("inbound");
        (o, i)
    };
    let mut lane: Lane<SharedRegs<Board>, IovaTable> =
        Lane::open(&regs, 1, cfg, 100_000).expect("lane");
    let payloads: Vec<Vec<u8>> = (0..16).map(|i| vec![i as u8; 300 + 50 * i]).collect();
    let mut peer = OutboundSa::new(&sa(0x7a12)).expect("peer");
    let mut spent: Vec<Vec<u8>> = Vec::with_capacity(64);

    // One round: `n`-packet batches out and in, the results checked and handed back.
    let mut round = |n: usize, dgrams: &[Vec<u8>], spent: &mut Vec<Vec<u8>>| {
        let pkts: Vec<OutPacket<'_>> = payloads[..n]
            .iter()
            .map(|p| OutPacket {
                sa: out_sa,
                payload: p,
                next_header: proto::IPV4,
            })
            .collect();
        let ins: Vec<InPacket<'_>> = dgrams
            .iter()
            .map(|d| InPacket {
                sa: in_sa,
                datagram: d,
            })
            .collect();
        let mut n_ok = 0;
        let a1 = allocations(|| {
            for s in Offload::seal_batch_on(&engine, &mut lane, &pkts)
                .into_iter()
                .flatten()
            {
                n_ok += 1;
                spent.push(s.datagram);
            }
        });
        let a2 = allocations(|| {
            for o in Offload::open_batch_on(&engine, &mut lane, &ins)
                .into_iter()
                .flatten()
            {
                n_ok += 1;
                spent.push(o.payload);
            }
        });
        let a3 = allocations(|| lane.recycle(spent));
        let a = a1 + a2 + a3;
        assert_eq!(n_ok, n + dgrams.len(), "every packet carried");
        a
    };
    let mut seal_peer = |n: usize| -> Vec<Vec<u8>> {
        payloads[..n]
            .iter()
            .map(|p| {
                let mut b = vec![0u8; peer.datagram_len(p.len())];
                let s = peer.seal(p, proto::IPV4, &mut b).expect("peer seals");
                b.truncate(s.len);
                b
            })
            .collect()
    };
    // warm up: the lane's pool fills, the vectors reach their sizes
    for _ in 0..4 {
        let d = seal_peer(16);
        round(16, &d, &mut spent);
    }
    let mut one = 0;
    let mut sixteen = 0;
    for _ in 0..10 {
        let d = seal_peer(1);
        one += round(1, &d, &mut spent);
        let d = seal_peer(16);
        sixteen += round(16, &d, &mut spent);
    }
    println!("allocations: 10 rounds of 1+1 packets {one}, of 16+16 packets {sixteen}");
    assert!(
        sixteen <= one,
        "batches of 16 allocated {sixteen} times, batches of 1 {one}: something is per packet"
    );
}
