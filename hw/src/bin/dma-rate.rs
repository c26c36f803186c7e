//! Throughput of the DMA front end alone (`hw::dma::DmaEngine` in rust-hdl's
//! simulator): one queue, N packets posted with one doorbell, a host memory with
//! `--latency` cycles of read latency (default 125: 500 ns at
//! `regmap::dma::CORE_CLOCK_MHZ`), 31.6 B/cycle per direction (PCIe Gen3 x8, never
//! the limit on a 16-byte bus) and write responses 8 cycles after a burst's last
//! beat, and a stand-in for the ESP engine on the streams that takes one beat per
//! clock and answers each packet, `--engine-latency` cycles (default 32) after its
//! last input beat, with the input inverted plus 20 bytes (an outbound result's
//! growth), one beat per clock.
//!
//! Every completion and result is checked (verdict, cookie, order, length and
//! bytes) before a figure is printed. The figure is payload bytes per core clock in
//! the steady state: between the completion of packet N/4 and that of the last
//! packet. `single SA` posts every packet on SA 3, `1024 SAs` each on another SA
//! (`i % NUM_SAS`); the front end does not look at the SA beyond its range check,
//! so the two rows differ only if something is wrong. The last columns give the
//! bound the read channel sets, one 16-byte beat per clock for the payload and the
//! 64-byte descriptor of each packet, and the steady figure as a share of it.
//!
//! `cargo run -p hw --profile ci --bin dma-rate [-- --packets N --latency L]`

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use hw::dma::DmaEngine;
use regmap::dma::{self, Completion, DescFlags, DmaDescriptor, CPL_BYTES, DESC_BYTES};
use regmap::regs::{qoff, queue_reg};
use regmap::Verdict;
use rust_hdl::prelude::*;

const MEM: usize = 1 << 21;
const DQ: u64 = 0x1_0000;
const CQ: u64 = 0x2_0000;
const BUF: u64 = 0x4_0000;
const RES: u64 = 0x10_0000;
const SLOT: u64 = 0x800;
const RING_LOG2: u32 = 8;
const BW_BYTES_PER_CYCLE: f64 = 31.6;
const B_DELAY: u64 = 8;
const GROWTH: usize = 20;

struct Host {
    mem: Vec<u8>,
    cycle: u64,
    latency: u64,
    engine_latency: u64,
    /// Read beats: address, beats left in the burst, due cycle.
    ar: VecDeque<(u64, u32, u64)>,
    /// Write bursts: address, beats left.
    aw: VecDeque<(u64, u32)>,
    bq: VecDeque<u64>,
    rd_tokens: f64,
    wr_tokens: f64,
    /// Engine output beats: data, keep, last, due cycle.
    rx_beats: VecDeque<(u128, u16, bool, u64)>,
    eng_in: Vec<u8>,
    /// Cycle at which each completion record's last beat was written, by slot.
    cpl_at: Vec<(u32, u64)>,
}

fn u128_of(b: Bits<128>) -> u128 {
    (u128::from(b.get_bits::<64>(64).to_u64()) << 64) | u128::from(b.get_bits::<64>(0).to_u64())
}

fn step(
    ep: &mut Sim<DmaEngine>,
    mut x: Box<DmaEngine>,
    h: &mut Host,
) -> Result<Box<DmaEngine>, SimError> {
    h.rd_tokens = (h.rd_tokens + BW_BYTES_PER_CYCLE).min(4.0 * BW_BYTES_PER_CYCLE);
    h.wr_tokens = (h.wr_tokens + BW_BYTES_PER_CYCLE).min(4.0 * BW_BYTES_PER_CYCLE);
    x.m_axi_arready.next = true;
    x.m_axi_awready.next = true;
    x.m_axi_wready.next = h.wr_tokens >= 16.0;
    x.tx_tready.next = true;
    let r_head =
        h.ar.front()
            .copied()
            .filter(|&(_, _, due)| due <= h.cycle && h.rd_tokens >= 16.0);
    x.m_axi_rvalid.next = r_head.is_some();
    if let Some((addr, left, _)) = r_head {
        let a = addr as usize;
        let mut w = [0u8; 16];
        w.copy_from_slice(&h.mem[a..a + 16]);
        x.m_axi_rdata.next = u128::from_le_bytes(w).to_bits();
        x.m_axi_rlast.next = left == 1;
        x.m_axi_rresp.next = bits::<2>(0);
    }
    let b_due = h.bq.front().is_some_and(|&due| due <= h.cycle);
    x.m_axi_bvalid.next = b_due;
    x.m_axi_bresp.next = bits::<2>(0);
    let rx_head = h
        .rx_beats
        .front()
        .copied()
        .filter(|&(_, _, _, due)| due <= h.cycle);
    x.rx_tvalid.next = rx_head.is_some();
    if let Some((data, keep, last, _)) = rx_head {
        x.rx_tdata.next = data.to_bits();
        x.rx_tkeep.next = u64::from(keep).to_bits();
        x.rx_tlast.next = last;
        let user = regmap::sideband::OUT_VERDICT.put(Verdict::Ok.code().into())
            | regmap::sideband::OUT_NEXT_HEADER.put(4);
        x.rx_tuser.next = user.to_bits();
    }
    x = ep.wait(1, x)?;
    if x.m_axi_arvalid.val() {
        let addr = x.m_axi_araddr.val().to_u64();
        let beats = x.m_axi_arlen.val().to_u32() + 1;
        assert!(
            addr.is_multiple_of(16) && beats <= 16 && (addr % 256) / 16 + u64::from(beats) <= 16,
            "bad read burst {addr:#x} x{beats}"
        );
        let start = h.ar.back().map_or(h.cycle + h.latency, |&(_, _, d)| {
            (d + 1).max(h.cycle + h.latency)
        });
        for i in 0..beats {
            h.ar.push_back((addr + 16 * u64::from(i), beats - i, start + u64::from(i)));
        }
    }
    if r_head.is_some() && x.m_axi_rready.val() {
        h.ar.pop_front();
        h.rd_tokens -= 16.0;
    }
    if x.m_axi_awvalid.val() {
        let addr = x.m_axi_awaddr.val().to_u64();
        let beats = x.m_axi_awlen.val().to_u32() + 1;
        assert!(
            beats <= 16 && (addr % 256) / 16 + u64::from(beats) <= 16,
            "bad write burst {addr:#x} x{beats}"
        );
        h.aw.push_back((addr, beats));
    }
    if x.m_axi_wvalid.val() && x.m_axi_wready.val() {
        h.wr_tokens -= 16.0;
        let (addr, left) = h.aw.front_mut().expect("write data before its address");
        let data = u128_of(x.m_axi_wdata.val()).to_le_bytes();
        let strb = x.m_axi_wstrb.val().to_u32();
        for (i, b) in data.iter().enumerate() {
            if strb >> i & 1 == 1 {
                h.mem[*addr as usize + i] = *b;
            }
        }
        *left -= 1;
        assert_eq!(x.m_axi_wlast.val(), *left == 0, "wlast");
        let cq_end = CQ + ((CPL_BYTES as u64) << RING_LOG2);
        if *left == 0 && *addr >= CQ && *addr < cq_end {
            h.cpl_at
                .push((((*addr - CQ) / CPL_BYTES as u64) as u32, h.cycle));
        }
        *addr += 16;
        if *left == 0 {
            h.aw.pop_front();
            h.bq.push_back(h.cycle + B_DELAY);
        }
    }
    if b_due && x.m_axi_bready.val() {
        h.bq.pop_front();
    }
    if x.tx_tvalid.val() {
        let data = u128_of(x.tx_tdata.val()).to_le_bytes();
        let n = x.tx_tkeep.val().to_u32().count_ones() as usize;
        h.eng_in.extend_from_slice(&data[..n]);
        if x.tx_tlast.val() {
            let mut out: Vec<u8> = h.eng_in.drain(..).map(|b| !b).collect();
            out.extend_from_slice(&[0xa5; GROWTH]);
            let first = h
                .rx_beats
                .back()
                .map_or(0, |b| b.3 + 1)
                .max(h.cycle + h.engine_latency);
            let chunks: Vec<_> = out.chunks(16).collect();
            for (i, c) in chunks.iter().enumerate() {
                let mut w = [0u8; 16];
                w[..c.len()].copy_from_slice(c);
                h.rx_beats.push_back((
                    u128::from_le_bytes(w),
                    ((1u32 << c.len()) - 1) as u16,
                    i + 1 == chunks.len(),
                    first + i as u64,
                ));
            }
        }
    }
    if rx_head.is_some() && x.rx_tready.val() {
        h.rx_beats.pop_front();
    }
    wait_clock_cycle!(ep, clock, x);
    h.cycle += 1;
    Ok(x)
}

fn reg_write(
    ep: &mut Sim<DmaEngine>,
    mut x: Box<DmaEngine>,
    h: &mut Host,
    addr: u32,
    data: u32,
) -> Result<Box<DmaEngine>, SimError> {
    x.wr.next = true;
    x.wr_addr.next = u64::from(addr).to_bits();
    x.wr_data.next = u64::from(data).to_bits();
    x = step(ep, x, h)?;
    x.wr.next = false;
    Ok(x)
}

fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 13 + j * 5 + 1) as u8).collect()
}

/// One run: `n` packets of `len` bytes; returns (steady-state bytes per clock,
/// whole-run bytes per clock from the doorbell).
fn run(n: usize, len: usize, mix: bool, latency: u64, engine_latency: u64) -> (f64, f64) {
    assert!((8..=1 << RING_LOG2).contains(&n));
    let out = Arc::new(Mutex::new((0.0, 0.0)));
    let shared = out.clone();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<DmaEngine>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut ep: Sim<DmaEngine>| {
        let mut x = ep.init()?;
        let mut h = Host {
            mem: vec![0; MEM],
            cycle: 0,
            latency,
            engine_latency,
            ar: VecDeque::new(),
            aw: VecDeque::new(),
            bq: VecDeque::new(),
            rd_tokens: 0.0,
            wr_tokens: 0.0,
            rx_beats: VecDeque::new(),
            eng_in: Vec::new(),
            cpl_at: Vec::new(),
        };
        x.reset.next = true;
        x = step(&mut ep, x, &mut h)?;
        x = step(&mut ep, x, &mut h)?;
        x.reset.next = false;
        let descs: Vec<DmaDescriptor> = (0..n)
            .map(|i| DmaDescriptor {
                buf_iova: BUF + SLOT * i as u64,
                result_iova: RES + SLOT * i as u64,
                cookie: 0x5eed_0000 + i as u64,
                len: len as u16,
                result_cap: dma::max_result_len(len as u32, false) as u16,
                seq_hi: 0,
                sa_index: if mix {
                    (i % regmap::NUM_SAS as usize) as u16
                } else {
                    3
                },
                next_header: 4,
                inbound: false,
                flags: DescFlags::empty(),
            })
            .collect();
        for (i, d) in descs.iter().enumerate() {
            let a = d.buf_iova as usize;
            h.mem[a..a + len].copy_from_slice(&payload(i, len));
            let a = (DQ + dma::desc_offset(i as u16, RING_LOG2)) as usize;
            h.mem[a..a + DESC_BYTES].copy_from_slice(&d.encode());
        }
        let q = |o: u32| queue_reg(0, o).unwrap();
        for (o, v) in [
            (qoff::DQ_BASE_LO, DQ as u32),
            (qoff::DQ_BASE_HI, 0),
            (qoff::DQ_LOG2_SIZE, RING_LOG2),
            (qoff::CQ_BASE_LO, CQ as u32),
            (qoff::CQ_BASE_HI, 0),
            (qoff::CQ_LOG2_SIZE, RING_LOG2),
            (qoff::Q_CTRL, 1),
        ] {
            x = reg_write(&mut ep, x, &mut h, q(o), v)?;
        }
        let t0 = h.cycle;
        x = reg_write(&mut ep, x, &mut h, q(qoff::DQ_PROD), n as u32)?;
        let limit = t0 + 2_000 + (n as u64) * (4 * latency + 4 * len as u64);
        while h.cpl_at.len() < n && h.cycle < limit {
            x = step(&mut ep, x, &mut h)?;
        }
        // Let the last write responses arrive.
        for _ in 0..2 * B_DELAY {
            x = step(&mut ep, x, &mut h)?;
        }
        assert_eq!(
            h.cpl_at.len(),
            n,
            "completions written by cycle {}",
            h.cycle
        );
        for (i, d) in descs.iter().enumerate() {
            assert_eq!(h.cpl_at[i].0 as usize, i, "completion order");
            let a = (CQ + dma::cpl_offset(i as u16, RING_LOG2)) as usize;
            let c = Completion::decode(h.mem[a..a + CPL_BYTES].try_into().unwrap())
                .unwrap_or_else(|e| panic!("completion {i}: {e}"));
            assert_eq!(c.verdict, Verdict::Ok, "completion {i}");
            assert_eq!(c.cookie, d.cookie, "completion {i}");
            assert_eq!(c.desc_index, i as u16, "completion {i}");
            assert_eq!(c.result_len as usize, len + GROWTH, "completion {i}");
            let mut want: Vec<u8> = payload(i, len).iter().map(|b| !b).collect();
            want.extend_from_slice(&[0xa5; GROWTH]);
            let a = d.result_iova as usize;
            assert_eq!(&h.mem[a..a + want.len()], &want[..], "result {i}");
        }
        let k0 = n / 4;
        let steady = (len * (n - 1 - k0)) as f64 / (h.cpl_at[n - 1].1 - h.cpl_at[k0].1) as f64;
        let whole = (len * n) as f64 / (h.cpl_at[n - 1].1 - t0) as f64;
        *shared.lock().unwrap() = (steady, whole);
        ep.done(x)
    });
    sim.run(Box::new(DmaEngine::new()), u64::MAX / 4)
        .expect("simulation ran to the end");
    let r = *out.lock().unwrap();
    r
}

fn arg(args: &[String], name: &str) -> Option<u64> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let latency = arg(&args, "--latency").unwrap_or(125);
    let engine_latency = arg(&args, "--engine-latency").unwrap_or(32);
    let packets = arg(&args, "--packets");
    println!(
        "DMA front end alone, rust-hdl simulator: read latency {latency} cycles, \
         {BW_BYTES_PER_CYCLE} B/cycle, write response {B_DELAY} cycles, stand-in engine \
         latency {engine_latency} cycles"
    );
    println!(
        "| packet | SAs      | packets | B/clk (steady) | B/clk (from doorbell) | read-bus bound | of bound |"
    );
    println!(
        "|--------|----------|---------|----------------|-----------------------|----------------|----------|"
    );
    for len in [64usize, 576, 1420] {
        let n = packets.map_or(if len == 64 { 128 } else { 48 }, |p| p as usize);
        for mix in [false, true] {
            let (steady, whole) = run(n, len, mix, latency, engine_latency);
            let bound = len as f64 / (len.div_ceil(16) + DESC_BYTES / 16) as f64;
            println!(
                "| {len:>4} B | {:<8} | {n:>7} | {steady:>14.2} | {whole:>21.2} | {bound:>14.2} | {:>7.1}% |",
                if mix { "1024 SAs" } else { "single" },
                100.0 * steady / bound
            );
        }
    }
}
