//! Throughput and latency of the generated core in simulation.
//!
//! For each packet size and direction: back-to-back packets through the stream
//! ports (input always valid, output always ready), bytes of payload per clock
//! cycle, latency of a lone packet, the rate that implies at 250 MHz, and the
//! simulator's own speed; then the same at 64, 576 and 1420 bytes with the whole SA
//! table (1024 SAs) installed and each packet on another SA than the one before
//! ("1024-SA mix"), and the mix's rate as a ratio of the single-SA row measured in
//! the same run; then the DMA path ([`dma`]: the driver's queues, the host-memory
//! model). Every output is checked against `esp` as it goes.

mod dma;

use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use esp::Transform;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use regmap::Verdict;
use sim::harness::{program_sa, random_bytes, result_info, TestSa};
use sim::stream::{self, InPacket, Shaping};
use sim::SimCard;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Bytes per cycle, latency and simulation speed of the ESP core under Verilator")]
struct Args {
    /// Payload bytes of moved traffic per size and direction (at least 16 packets).
    #[arg(long, default_value_t = 400_000)]
    bytes: usize,
    /// Transform: aes128gcm16, aes256gcm16, aes128gmac, aes256gmac.
    #[arg(long, default_value = "aes256gcm16")]
    transform: String,
    /// Clock frequency for the implied line rate, in MHz.
    #[arg(long, default_value_t = 250.0)]
    mhz: f64,
    /// Only the DMA rows.
    #[arg(long)]
    dma_only: bool,
    /// Payload bytes per DMA row (at least 64 packets).
    #[arg(long, default_value_t = 200_000)]
    dma_bytes: usize,
}

struct Row {
    /// SAs the packets rotate over (1: one SA per direction).
    sas: usize,
    size: usize,
    inbound: bool,
    packets: usize,
    cycles: u64,
    bytes: u64,
    latency: u64,
    /// Cycles between the first beats of the first and last result, per packet:
    /// the steady-state rate without the pipeline's fill and drain.
    steady: f64,
    wall: f64,
    /// Clock cycles the model stepped in the timed run, and this thread's CPU
    /// seconds over it (None where the kernel does not report them).
    sim_cycles: u64,
    cpu: Option<f64>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let transform = Transform::ALL
        .into_iter()
        .find(|t| t.name() == args.transform)
        .with_context(|| format!("unknown transform {}", args.transform))?;
    let mut rng = StdRng::seed_from_u64(0xbe7c);
    println!("RTL: {} ({})", sim::ports::RTL_PATH, sim::ports::RTL_KIND);
    if args.dma_only {
        let d = dma::rows(&mut rng, transform, args.dma_bytes)?;
        dma::print(&d, transform, args.mhz);
        return Ok(());
    }
    let mut card = SimCard::new().context("create the model")?;
    let mut out_sa = TestSa::random(&mut rng, 1, transform, false, false);
    out_sa.next_seq = 1;
    let in_sa = TestSa::random(&mut rng, 2, transform, false, true);
    program_sa(&mut card, &out_sa).context("install the outbound SA")?;
    program_sa(&mut card, &in_sa).context("install the inbound SA")?;

    let mut rows = Vec::new();
    let mut in_seq = 1u64;
    for inbound in [false, true] {
        for size in [64usize, 256, 576, 1420, 9000] {
            let n = (args.bytes / size).max(16);
            let mut packets = Vec::with_capacity(n);
            let mut expect = Vec::with_capacity(n);
            for _ in 0..n {
                let payload = random_bytes(&mut rng, size);
                if inbound {
                    let seq = in_seq;
                    in_seq += 1;
                    let dg = in_sa.seal(seq, &payload, 4);
                    packets.push(in_sa.inbound_packet(&dg, seq));
                    expect.push(payload);
                } else {
                    let seq = out_sa.next_seq;
                    out_sa.next_seq += 1;
                    expect.push(out_sa.seal(seq, &payload, 4));
                    packets.push(out_sa.outbound_packet(&payload, 4));
                }
            }
            rows.push(measure(&mut card, 1, size, inbound, &packets, &expect)?);
        }
    }
    // The whole SA table, one direction at a time (1024 entries in all), each packet
    // on another SA than the one before.
    let n_sas = regmap::NUM_SAS as usize;
    for inbound in [false, true] {
        let mut sas: Vec<TestSa> = (0..n_sas)
            .map(|i| TestSa::random(&mut rng, i as u16, transform, false, inbound))
            .collect();
        for sa in &sas {
            program_sa(&mut card, sa).with_context(|| format!("install SA {}", sa.index))?;
        }
        let mut order: Vec<usize> = Vec::new();
        let mut last: Option<usize> = None;
        for size in [64usize, 576, 1420] {
            let n = (args.bytes / size).max(16);
            let mut packets = Vec::with_capacity(n);
            let mut expect = Vec::with_capacity(n);
            for _ in 0..n {
                if order.is_empty() {
                    order = (0..n_sas).collect();
                    order.shuffle(&mut rng);
                    if order.last().copied() == last {
                        order.swap(0, n_sas - 1);
                    }
                }
                let k = order.pop().unwrap_or(0);
                last = Some(k);
                let sa = &mut sas[k];
                let payload = random_bytes(&mut rng, size);
                let seq = sa.next_seq;
                sa.next_seq += 1;
                if inbound {
                    let dg = sa.seal(seq, &payload, 4);
                    packets.push(sa.inbound_packet(&dg, seq));
                    expect.push(payload);
                } else {
                    expect.push(sa.seal(seq, &payload, 4));
                    packets.push(sa.outbound_packet(&payload, 4));
                }
            }
            rows.push(measure(&mut card, n_sas, size, inbound, &packets, &expect)?);
        }
    }

    println!();
    println!("{} back to back, payload bytes per cycle over first beat in to last beat out (fill and drain included); steady = from the first result's first beat to the last result's; latency = first beat in to first beat out (lone packet); SAs = how many SAs the packets rotate over (1024: each packet on another SA than the one before)", transform.name());
    println!("| direction | SAs | size B | packets | cycles | B/cycle | cycles/packet | Gb/s @{:.0} MHz | steady cycles/packet | steady B/cycle | latency cycles | sim cycles/s |", args.mhz);
    println!("|-----------|----:|-------:|--------:|-------:|--------:|--------------:|------------:|---------------------:|---------------:|---------------:|-------------:|");
    for r in &rows {
        let bpc = r.bytes as f64 / r.cycles as f64;
        println!(
            "| {:9} | {:3} | {:6} | {:7} | {:6} | {:7.2} | {:13.1} | {:11.2} | {:20.1} | {:14.2} | {:14} | {:12.0} |",
            if r.inbound { "inbound" } else { "outbound" },
            r.sas,
            r.size,
            r.packets,
            r.cycles,
            bpc,
            r.cycles as f64 / r.packets as f64,
            bpc * 8.0 * args.mhz / 1000.0,
            r.steady,
            r.size as f64 / r.steady,
            r.latency,
            r.cycles as f64 / r.wall,
        );
    }
    println!();
    let mix: Vec<MixPoint> = rows
        .iter()
        .map(|r| MixPoint {
            inbound: r.inbound,
            size: r.size,
            sas: r.sas,
            bpc: r.bytes as f64 / r.cycles as f64,
        })
        .collect();
    print_mix_ratio(
        "1024-SA mix against one SA, B/cycle (fill and drain included), same run",
        &mix,
    );
    // Cycles per packet as fixed + per-beat cost, fitted on the smallest and largest size.
    for inbound in [false, true] {
        let pick = |s: usize| {
            rows.iter()
                .find(|r| r.sas == 1 && r.size == s && r.inbound == inbound)
        };
        if let (Some(a), Some(b)) = (pick(64), pick(9000)) {
            let (ca, cb) = (
                a.cycles as f64 / a.packets as f64,
                b.cycles as f64 / b.packets as f64,
            );
            let (ba, bb) = (stream::beats_for(64) as f64, stream::beats_for(9000) as f64);
            let per_beat = (cb - ca) / (bb - ba);
            println!(
                "{}: cycles/packet ~ {:.1} fixed + {:.2} per 16-byte input beat",
                if inbound { "inbound" } else { "outbound" },
                ca - per_beat * ba,
                per_beat
            );
        }
    }
    // Whole-core simulation speed: every clock cycle the model stepped in the timed
    // runs, over wall time and over this thread's CPU time (the machine may be
    // shared, so both are printed).
    let sim_cycles: u64 = rows.iter().map(|r| r.sim_cycles).sum();
    let sim_wall: f64 = rows.iter().map(|r| r.wall).sum();
    let sim_cpu: Option<f64> = rows.iter().map(|r| r.cpu).sum();
    println!();
    println!(
        "whole-core simulation speed: {:.0} simulated cycles per second of wall time, {} per second of CPU time ({} cycles stepped in {:.2} s wall; model built {} csrc/fastwide.h)",
        sim_cycles as f64 / sim_wall,
        sim_cpu.map_or("n/a".to_string(), |c| format!("{:.0}", sim_cycles as f64 / c)),
        sim_cycles,
        sim_wall,
        if sim::ports::FASTWIDE_BUILT { "with" } else { "without (SIM_FASTWIDE=0)" },
    );
    drop(card);
    let d = dma::rows(&mut rng, transform, args.dma_bytes)?;
    dma::print(&d, transform, args.mhz);
    Ok(())
}

/// One row's rate, for the mix-against-one-SA table.
#[derive(Debug, Clone, Copy)]
pub struct MixPoint {
    /// Direction.
    pub inbound: bool,
    /// Payload bytes.
    pub size: usize,
    /// SAs the packets rotate over.
    pub sas: usize,
    /// Payload bytes per cycle.
    pub bpc: f64,
}

/// Prints each mix row's rate next to the one-SA row of the same direction and
/// size, and their ratio.
pub fn print_mix_ratio(title: &str, points: &[MixPoint]) {
    println!();
    println!("{title}");
    println!("| direction | size B | 1 SA | 1024-SA mix | mix / 1 SA |");
    println!("|-----------|-------:|-----:|------------:|-----------:|");
    for r in points.iter().filter(|r| r.sas > 1) {
        if let Some(one) = points
            .iter()
            .find(|o| o.sas == 1 && o.size == r.size && o.inbound == r.inbound)
        {
            println!(
                "| {:9} | {:6} | {:4.2} | {:11.2} | {:10.3} |",
                if r.inbound { "inbound" } else { "outbound" },
                r.size,
                one.bpc,
                r.bpc,
                r.bpc / one.bpc
            );
        }
    }
}

/// Runs `packets` (a lone first one for the latency, then the rest back to back),
/// checks every output against `expect` and measures the run.
fn measure(
    card: &mut SimCard,
    sas: usize,
    size: usize,
    inbound: bool,
    packets: &[InPacket],
    expect: &[Vec<u8>],
) -> Result<Row> {
    // Latency: one packet alone on an idle core.
    let lone = stream::run(&mut card.model(), &packets[..1], Shaping::full_rate())?;
    let latency = lone.outputs[0].first_cycle - lone.inputs[0].first_cycle;
    verify(&lone.outputs[0].data, &lone.outputs[0].tuser, &expect[0])?;
    let rest: Vec<InPacket> = packets[1..].to_vec();
    let c0 = card.model().cycles();
    let cpu0 = thread_cpu_seconds();
    let t0 = Instant::now();
    let run = stream::run(&mut card.model(), &rest, Shaping::full_rate())?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu0.zip(thread_cpu_seconds()).map(|(a, b)| b - a);
    let sim_cycles = card.model().cycles() - c0;
    if run.outputs.len() != rest.len() {
        bail!("{} results for {} packets", run.outputs.len(), rest.len());
    }
    for (o, e) in run.outputs.iter().zip(&expect[1..]) {
        verify(&o.data, &o.tuser, e)?;
    }
    let first = run
        .inputs
        .first()
        .map_or(run.start_cycle, |t| t.first_cycle);
    let last = run
        .outputs
        .last()
        .map_or(run.end_cycle, |o| o.last_cycle + 1);
    let steady = match (run.outputs.first(), run.outputs.last()) {
        (Some(a), Some(b)) if run.outputs.len() > 1 => {
            (b.first_cycle - a.first_cycle) as f64 / (run.outputs.len() - 1) as f64
        }
        _ => f64::NAN,
    };
    Ok(Row {
        sas,
        size,
        inbound,
        packets: rest.len(),
        cycles: last - first,
        bytes: (rest.len() * size) as u64,
        latency,
        steady,
        wall,
        sim_cycles,
        cpu,
    })
}

/// CPU time this thread has run, in seconds (`/proc/thread-self/schedstat`,
/// nanoseconds on CPU); `None` where that file does not exist.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

fn verify(data: &[u8], tuser: &[u32; sim::TUSER_WORDS], want: &[u8]) -> Result<()> {
    let info = result_info(tuser);
    if info.verdict != Verdict::Ok {
        bail!("verdict {:?}", info.verdict);
    }
    if data != want {
        bail!(
            "output differs from esp: {}",
            sim::harness::first_difference(data, want)
        );
    }
    Ok(())
}
