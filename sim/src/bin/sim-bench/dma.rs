//! The DMA rows of `sim-bench`: packets through the driver's `DmaPort` into the
//! Verilated core's DMA front end, with the host-memory model in the loop (500 ns
//! read latency, PCIe Gen3 x8) and the driver's rings and buffers as the memory.
//!
//! Each row posts the packets in batches of a whole ring (one doorbell each) and
//! counts the core's clock cycles from the first doorbell to the last completion
//! taken: payload bytes per cycle, bus bytes per packet beyond the payload and its
//! result (descriptor fetch, completion write and burst rounding), doorbells and
//! interrupts per packet. Every result is checked against `esp`.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use driver::dma::{DmaPortConfig, IovaTable, IrqEvent, QueueConfig};
use driver::{Card, CardConfig, DmaPort, PacketRequest, PacketResult};
use esp::Transform;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use regmap::Verdict;
use sim::harness::{random_bytes, TestSa};
use sim::SimCard;

/// log2 of the ring: a batch is one ring.
const RING_LOG2: u32 = 8;

/// One DMA row.
#[derive(Debug, Clone, Copy)]
pub struct DmaRow {
    /// SAs the packets rotate over.
    pub sas: usize,
    /// Payload bytes.
    pub size: usize,
    /// Direction.
    pub inbound: bool,
    /// Packets.
    pub packets: usize,
    /// Core clock cycles over the run.
    pub cycles: u64,
    /// Bus bytes read and written per packet beyond the input and the result.
    pub overhead: f64,
    /// Doorbells per packet.
    pub doorbells: f64,
    /// Interrupts per packet.
    pub irqs: f64,
}

type DmaCard = Card<SimCard, DmaPort<IovaTable>>;

fn card() -> Result<DmaCard> {
    let mut sim = SimCard::new().context("create the model")?;
    let irq = IrqEvent::new(0)?;
    if !sim.connect_irq(0, irq.signaller()?) {
        bail!("the simulated card has no interrupt vector 0");
    }
    let cfg = DmaPortConfig {
        queue: QueueConfig {
            ring_log2: RING_LOG2,
            irq_vector: Some(0),
            ..QueueConfig::default()
        },
        wait_slice: Duration::from_millis(1),
        completion_timeout: Duration::from_secs(30),
    };
    let port = DmaPort::new(sim.host_memory(), cfg, Some(Box::new(irq)))?;
    Ok(Card::probe_with_port(sim, port, CardConfig::default())?)
}

/// Input and expected output of one packet.
struct Job {
    sa: u16,
    input: Vec<u8>,
    want: Vec<u8>,
    seq_hi: u32,
}

fn run_row(
    card: &mut DmaCard,
    sas: usize,
    size: usize,
    inbound: bool,
    jobs: &[Job],
) -> Result<DmaRow> {
    let bus0 = bus_stats(card);
    let port0 = card.port().stats();
    let c0 = card.regs_mut().cycles();
    let mut out: Vec<PacketResult> = Vec::with_capacity(jobs.len());
    for batch in jobs.chunks(1 << RING_LOG2) {
        let reqs: Vec<PacketRequest<'_>> = batch
            .iter()
            .map(|j| {
                if inbound {
                    PacketRequest::inbound(j.sa, j.seq_hi, &j.input)
                } else {
                    PacketRequest::outbound(j.sa, 4, &j.input)
                }
            })
            .collect();
        card.process(&reqs, &mut out)
            .context("a DMA batch through the simulated card")?;
    }
    let cycles = card.regs_mut().cycles() - c0;
    if out.len() != jobs.len() {
        bail!("{} results for {} packets", out.len(), jobs.len());
    }
    for (r, j) in out.iter().zip(jobs) {
        if r.verdict != Verdict::Ok {
            bail!("verdict {:?} on SA {}", r.verdict, j.sa);
        }
        if r.data != j.want {
            bail!(
                "DMA result differs from esp: {}",
                sim::harness::first_difference(&r.data, &j.want)
            );
        }
    }
    let bus1 = bus_stats(card);
    let port1 = card.port().stats();
    let n = jobs.len() as f64;
    let moved = ((bus1.0 - bus0.0) + (bus1.1 - bus0.1)) as f64 * 16.0;
    let useful: usize = jobs.iter().map(|j| j.input.len() + j.want.len()).sum();
    Ok(DmaRow {
        sas,
        size,
        inbound,
        packets: jobs.len(),
        cycles,
        overhead: (moved - useful as f64) / n,
        doorbells: (port1.doorbells - port0.doorbells) as f64 / n,
        irqs: (port1.interrupts - port0.interrupts) as f64 / n,
    })
}

/// Read and write beats so far.
fn bus_stats(card: &mut DmaCard) -> (u64, u64) {
    let m = card.regs_mut().model();
    m.bus().map_or((0, 0), |b| {
        (b.mem.stats.read_beats, b.mem.stats.write_beats)
    })
}

/// Jobs of `size` bytes over `sas` (each packet on another SA than the one before
/// when there are several).
fn jobs(rng: &mut StdRng, sas: &mut [TestSa], size: usize, n: usize, inbound: bool) -> Vec<Job> {
    let mut order: Vec<usize> = Vec::new();
    let mut last = None;
    (0..n)
        .map(|_| {
            if order.is_empty() {
                order = (0..sas.len()).collect();
                order.shuffle(rng);
                if sas.len() > 1 && order.last().copied() == last {
                    order.swap(0, sas.len() - 1);
                }
            }
            let k = order.pop().unwrap_or(0);
            last = Some(k);
            let sa = &mut sas[k];
            let payload = random_bytes(rng, size);
            let seq = sa.next_seq;
            sa.next_seq += 1;
            let dg = sa.seal(seq, &payload, 4);
            if inbound {
                Job {
                    sa: sa.index,
                    input: dg,
                    want: payload,
                    seq_hi: (seq >> 32) as u32,
                }
            } else {
                Job {
                    sa: sa.index,
                    input: payload,
                    want: dg,
                    seq_hi: 0,
                }
            }
        })
        .collect()
}

/// All DMA rows: 64, 576 and 1420 B, each direction, one SA and a 1024-SA mix.
pub fn rows(rng: &mut StdRng, transform: Transform, bytes: usize) -> Result<Vec<DmaRow>> {
    let mut rows = Vec::new();
    let n_sas = regmap::NUM_SAS as usize;
    for inbound in [false, true] {
        // A fresh card per direction: the whole table holds one direction's mix.
        let mut card = card()?;
        let install = |card: &mut DmaCard, sa: &mut TestSa| -> Result<()> {
            sa.index = card.install_sa(sa.card_sa())?.0;
            Ok(())
        };
        let mut one = vec![TestSa::random(rng, 0, transform, false, inbound)];
        install(&mut card, &mut one[0])?;
        let mut mix: Vec<TestSa> = (1..n_sas)
            .map(|i| TestSa::random(rng, i as u16, transform, false, inbound))
            .collect();
        for sa in &mut mix {
            install(&mut card, sa)?;
        }
        mix.push(one[0].clone());
        for size in [64usize, 576, 1420] {
            let n = (bytes / size).max(64);
            let j = jobs(rng, &mut one, size, n, inbound);
            rows.push(run_row(&mut card, 1, size, inbound, &j)?);
            // The lone SA's counter moved; the mix's copy of it follows.
            if let Some(last) = mix.last_mut() {
                last.next_seq = one[0].next_seq;
            }
            let j = jobs(rng, &mut mix, size, n, inbound);
            rows.push(run_row(&mut card, n_sas, size, inbound, &j)?);
            if let Some(last) = mix.last() {
                one[0].next_seq = last.next_seq;
            }
        }
    }
    Ok(rows)
}

/// Prints the DMA tables.
pub fn print(rows: &[DmaRow], transform: Transform, mhz: f64) {
    println!();
    println!("{} through the DMA path: the driver's DmaPort, batches of {} packets (one ring, one doorbell), host-memory model with 500 ns read latency and 7.9 GB/s; cycles from the first doorbell to the last completion taken; overhead = bus bytes per packet beyond the input and its result (descriptor, completion, burst rounding)", transform.name(), 1 << RING_LOG2);
    println!("| direction | SAs | size B | packets | cycles | B/cycle | cycles/packet | Gb/s @{mhz:.0} MHz | overhead B/packet | doorbells/packet | irqs/packet |");
    println!("|-----------|----:|-------:|--------:|-------:|--------:|--------------:|------------:|------------------:|-----------------:|------------:|");
    for r in rows {
        let bpc = (r.packets * r.size) as f64 / r.cycles as f64;
        println!(
            "| {:9} | {:4} | {:6} | {:7} | {:8} | {:7.2} | {:13.1} | {:11.2} | {:17.1} | {:16.4} | {:11.4} |",
            if r.inbound { "inbound" } else { "outbound" },
            r.sas,
            r.size,
            r.packets,
            r.cycles,
            bpc,
            r.cycles as f64 / r.packets as f64,
            bpc * 8.0 * mhz / 1000.0,
            r.overhead,
            r.doorbells,
            r.irqs,
        );
    }
    let mix: Vec<super::MixPoint> = rows
        .iter()
        .map(|r| super::MixPoint {
            inbound: r.inbound,
            size: r.size,
            sas: r.sas,
            bpc: (r.packets * r.size) as f64 / r.cycles as f64,
        })
        .collect();
    super::print_mix_ratio(
        "DMA path, 1024-SA mix against one SA, B/cycle, same run",
        &mix,
    );
}
