//! Block test of the DMA front end (`hw::dma::DmaEngine`) in rust-hdl's simulator,
//! on its own: a host memory served from the test (AXI4 reads with a latency,
//! writes with a response delay) and a stand-in for the ESP engine on the streams
//! (it answers each input packet with the input bytes inverted, plus 20 bytes
//! outbound, cut to the largest plaintext inbound, or refuses SA index 7 with one
//! empty beat). Checked against `regmap::dma`'s own
//! encoders and checks: every descriptor error verdict and `Q_BAD_DESC`, result bytes
//! and lengths, the stream side-band, completion records and their phase bit over a
//! ring wrap-around, two queues served, and the interrupt on `IRQ_NOW` and on the
//! moderation count. Packet-level coverage against `esp` is the `sim` crate's job.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use common::lint_verilog;
use hw::dma::DmaEngine;
use regmap::dma::{self, Completion, DescFlags, DmaDescriptor, CPL_BYTES, DESC_BYTES};
use regmap::regs::{off, qoff, queue_reg};
use regmap::sideband::Descriptor;
use regmap::Verdict;
use rust_hdl::prelude::*;

type Fixture = Sim<DmaEngine>;

const MEM: usize = 1 << 20;
const LATENCY: u64 = 6;

#[derive(Default)]
struct Model {
    mem: Vec<u8>,
    cycle: u64,
    latency: u64,
    /// Reads of these ranges answer SLVERR.
    rd_err: Vec<std::ops::Range<u64>>,
    /// Write bursts touching these ranges answer SLVERR (and write nothing).
    wr_err: Vec<std::ops::Range<u64>>,
    /// Every beat written: address, cycle.
    writes: Vec<(u64, u64)>,
    /// Percent of cycles each ready or valid the model drives is held low.
    stall: u32,
    seed: u64,
    /// A request or beat offered and not taken: it must be offered again unchanged.
    pend_ar: Option<(u64, u32)>,
    pend_aw: Option<(u64, u32)>,
    pend_w: Option<(u128, u32, bool)>,
    pend_tx: Option<(u128, u32, bool)>,
    /// A read beat, write response or engine beat the model offered and that was not
    /// taken: the model offers it again (AXI forbids withdrawing a valid).
    r_held: bool,
    b_held: bool,
    rx_held: bool,
    /// Write beats taken before their burst's address.
    wq: VecDeque<(u128, u32, bool)>,
    ar: VecDeque<(u64, u32, u64)>,
    aw: VecDeque<(u64, u32, bool)>,
    bq: VecDeque<(u64, bool)>,
    rx_beats: VecDeque<(u128, u16, bool, u128)>,
    eng_in: Vec<u8>,
    eng_tuser: Option<u64>,
    stream_in: Vec<(u64, Vec<u8>)>,
    irqs: [u32; 4],
    last_rd: u32,
    bus_ok: bool,
    /// Cycles from a write burst's last beat to its response.
    b_delay: u64,
}

impl Model {
    /// Whether a ready or valid the model drives is high this cycle.
    fn go(&mut self) -> bool {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.seed >> 33) % 100) as u32 >= self.stall
    }

    fn new() -> Self {
        Self {
            mem: vec![0; MEM],
            latency: LATENCY,
            bus_ok: true,
            b_delay: 3,
            ..Self::default()
        }
    }
}

fn u128_of(b: Bits<128>) -> u128 {
    (u128::from(b.get_bits::<64>(64).to_u64()) << 64) | u128::from(b.get_bits::<64>(0).to_u64())
}

/// One clock cycle: drive the model's side, let the design settle, take the
/// handshakes of this cycle, clock.
/// Two cycles of reset, then released.
fn reset(
    ep: &mut Fixture,
    mut x: Box<DmaEngine>,
    m: &mut Model,
) -> Result<Box<DmaEngine>, SimError> {
    x.reset.next = true;
    x = step(ep, x, m)?;
    x = step(ep, x, m)?;
    x.reset.next = false;
    Ok(x)
}

fn step(
    ep: &mut Fixture,
    mut x: Box<DmaEngine>,
    m: &mut Model,
) -> Result<Box<DmaEngine>, SimError> {
    // Drive: always ready for addresses and write data; the head read beat when due.
    let (arr, awr, wr, txr) = (m.go(), m.go(), m.go(), m.go());
    let (rgo, bgo, rxgo) = (m.go() || m.r_held, m.go() || m.b_held, m.go() || m.rx_held);
    x.m_axi_arready.next = arr;
    x.m_axi_awready.next = awr;
    x.m_axi_wready.next = wr;
    x.tx_tready.next = txr;
    let r_head =
        m.ar.front()
            .copied()
            .filter(|&(_, _, due)| due <= m.cycle && rgo);
    x.m_axi_rvalid.next = r_head.is_some();
    if let Some((addr, left, _)) = r_head {
        let a = addr as usize;
        let mut w = [0u8; 16];
        w.copy_from_slice(&m.mem[a..a + 16]);
        x.m_axi_rdata.next = u128::from_le_bytes(w).to_bits();
        x.m_axi_rlast.next = left == 1;
        let err = !m.bus_ok || m.rd_err.iter().any(|r| r.contains(&addr));
        x.m_axi_rresp.next = bits::<2>(if err { 2 } else { 0 });
    }
    let b_due = m.bq.front().is_some_and(|&(due, _)| due <= m.cycle) && bgo;
    x.m_axi_bvalid.next = b_due;
    let b_err = m.bq.front().is_some_and(|&(_, e)| e);
    x.m_axi_bresp.next = bits::<2>(if b_err { 2 } else { 0 });
    let rx_head = m.rx_beats.front().copied().filter(|_| rxgo);
    x.rx_tvalid.next = rx_head.is_some();
    if let Some((data, keep, last, user)) = rx_head {
        x.rx_tdata.next = data.to_bits();
        x.rx_tkeep.next = u64::from(keep).to_bits();
        x.rx_tlast.next = last;
        x.rx_tuser.next = user.to_bits();
    }
    x = ep.wait(1, x)?;
    m.last_rd = x.rd_data.val().to_u32();
    // What was offered and not taken is offered again, unchanged.
    let ar_now = (x.m_axi_araddr.val().to_u64(), x.m_axi_arlen.val().to_u32());
    let aw_now = (x.m_axi_awaddr.val().to_u64(), x.m_axi_awlen.val().to_u32());
    let w_now = (
        u128_of(x.m_axi_wdata.val()),
        x.m_axi_wstrb.val().to_u32(),
        x.m_axi_wlast.val(),
    );
    let tx_now = (
        u128_of(x.tx_tdata.val()),
        x.tx_tkeep.val().to_u32(),
        x.tx_tlast.val(),
    );
    if let Some(p) = m.pend_ar.take() {
        assert!(
            x.m_axi_arvalid.val() && ar_now == p,
            "read request withdrawn or changed"
        );
    }
    if let Some(p) = m.pend_aw.take() {
        assert!(
            x.m_axi_awvalid.val() && aw_now == p,
            "write address withdrawn or changed"
        );
    }
    if let Some(p) = m.pend_w.take() {
        assert!(
            x.m_axi_wvalid.val() && w_now == p,
            "write beat withdrawn or changed"
        );
    }
    if let Some(p) = m.pend_tx.take() {
        assert!(
            x.tx_tvalid.val() && tx_now == p,
            "stream beat withdrawn or changed"
        );
    }
    if x.m_axi_arvalid.val() && !arr {
        m.pend_ar = Some(ar_now);
    }
    if x.m_axi_awvalid.val() && !awr {
        m.pend_aw = Some(aw_now);
    }
    if x.m_axi_wvalid.val() && !wr {
        m.pend_w = Some(w_now);
    }
    if x.tx_tvalid.val() && !txr {
        m.pend_tx = Some(tx_now);
    }
    // Handshakes.
    if x.m_axi_arvalid.val() && arr {
        let addr = x.m_axi_araddr.val().to_u64();
        let beats = x.m_axi_arlen.val().to_u32() + 1;
        assert_eq!(x.m_axi_arsize.val().to_u32(), 4);
        assert_eq!(x.m_axi_arburst.val().to_u32(), 1);
        assert_eq!(addr % 16, 0, "read burst unaligned");
        assert!(
            beats <= 16 && (addr % 256) / 16 + u64::from(beats) <= 16,
            "read burst crosses 256 B"
        );
        // One beat a cycle after the latency, bursts one after the other.
        let start = m.ar.back().map_or(m.cycle + m.latency, |&(_, _, d)| {
            (d + 1).max(m.cycle + m.latency)
        });
        for i in 0..beats {
            m.ar.push_back((addr + 16 * u64::from(i), beats - i, start + u64::from(i)));
        }
    }
    m.r_held = r_head.is_some() && !x.m_axi_rready.val();
    m.b_held = b_due && !x.m_axi_bready.val();
    m.rx_held = rx_head.is_some() && !x.rx_tready.val();
    if r_head.is_some() && x.m_axi_rready.val() {
        m.ar.pop_front();
    }
    if x.m_axi_awvalid.val() && awr {
        let addr = x.m_axi_awaddr.val().to_u64();
        let beats = x.m_axi_awlen.val().to_u32() + 1;
        assert!(
            beats <= 16 && (addr % 256) / 16 + u64::from(beats) <= 16,
            "write burst crosses 256 B"
        );
        let err = m
            .wr_err
            .iter()
            .any(|r| r.start < addr + 16 * u64::from(beats) && addr < r.end);
        m.aw.push_back((addr, beats, err));
    }
    if x.m_axi_wvalid.val() && wr {
        m.wq.push_back(w_now);
    }
    // Write beats meet their burst's address (AXI lets data come first).
    while !m.wq.is_empty() && !m.aw.is_empty() {
        let (data, strb, last) = m.wq.pop_front().unwrap();
        let data = data.to_le_bytes();
        let (addr, left, err) = m.aw.front_mut().unwrap();
        if strb != 0 {
            m.writes.push((*addr, m.cycle));
        }
        for (i, b) in data.iter().enumerate() {
            if strb >> i & 1 == 1 && !*err {
                m.mem[*addr as usize + i] = *b;
            }
        }
        let err = *err;
        *addr += 16;
        *left -= 1;
        assert_eq!(last, *left == 0, "wlast");
        if *left == 0 {
            m.aw.pop_front();
            m.bq.push_back((m.cycle + m.b_delay, err));
        }
    }
    if b_due && x.m_axi_bready.val() {
        m.bq.pop_front();
    }
    // The stand-in engine.
    if x.tx_tvalid.val() && txr {
        if m.eng_in.is_empty() && m.eng_tuser.is_none() {
            m.eng_tuser = Some(x.tx_tuser.val().to_u64());
        }
        let data = u128_of(x.tx_tdata.val()).to_le_bytes();
        let keep = x.tx_tkeep.val().to_u32();
        let n = keep.count_ones() as usize;
        assert_eq!(keep, (1u32 << n) - 1, "tkeep not contiguous");
        m.eng_in.extend_from_slice(&data[..n]);
        if x.tx_tlast.val() {
            let tuser = m.eng_tuser.take().unwrap();
            let d = Descriptor::from_tuser(tuser);
            let input = std::mem::take(&mut m.eng_in);
            m.stream_in.push((tuser, input.clone()));
            let seq = 0x1_0000_0000u128 + m.stream_in.len() as u128;
            if d.sa_index == 7 {
                let user = regmap::sideband::OUT_VERDICT.put(Verdict::BadSa.code().into())
                    | regmap::sideband::OUT_SEQ.put(0);
                m.rx_beats.push_back((0, 0, true, user));
            } else {
                // Outbound grows by 20 bytes, inbound shrinks to its largest
                // plaintext (both within regmap::dma::max_result_len).
                let mut out: Vec<u8> = input.iter().map(|b| !b).collect();
                if d.inbound {
                    out.truncate(dma::max_result_len(input.len() as u32, true) as usize);
                } else {
                    out.extend_from_slice(&[0xa5; 20]);
                }
                let user = regmap::sideband::OUT_VERDICT.put(Verdict::Ok.code().into())
                    | regmap::sideband::OUT_NEXT_HEADER.put(d.next_header.into())
                    | regmap::sideband::OUT_SEQ.put(seq);
                let chunks: Vec<_> = out.chunks(16).collect();
                for (i, c) in chunks.iter().enumerate() {
                    let mut w = [0u8; 16];
                    w[..c.len()].copy_from_slice(c);
                    let keep = ((1u32 << c.len()) - 1) as u16;
                    m.rx_beats.push_back((
                        u128::from_le_bytes(w),
                        keep,
                        i + 1 == chunks.len(),
                        user,
                    ));
                }
            }
        }
    }
    if rx_head.is_some() && x.rx_tready.val() {
        m.rx_beats.pop_front();
    }
    let irq = x.irq.val().to_u32();
    for v in 0..4 {
        if irq >> v & 1 == 1 {
            m.irqs[v] += 1;
        }
    }
    wait_clock_cycle!(ep, clock, x);
    m.cycle += 1;
    Ok(x)
}

fn reg_write(
    ep: &mut Fixture,
    mut x: Box<DmaEngine>,
    m: &mut Model,
    addr: u32,
    data: u32,
) -> Result<Box<DmaEngine>, SimError> {
    x.wr.next = true;
    x.wr_addr.next = u64::from(addr).to_bits();
    x.wr_data.next = u64::from(data).to_bits();
    x = step(ep, x, m)?;
    x.wr.next = false;
    Ok(x)
}

fn reg_read(
    ep: &mut Fixture,
    mut x: Box<DmaEngine>,
    m: &mut Model,
    addr: u32,
) -> Result<(Box<DmaEngine>, u32), SimError> {
    x.rd_addr.next = u64::from(addr).to_bits();
    // The value comes from a register, a cycle after the address.
    x = step(ep, x, m)?;
    x = step(ep, x, m)?;
    Ok((x, m.last_rd))
}

const DQ0: u64 = 0x1000;
const CQ0: u64 = 0x2000;
const DQ1: u64 = 0x3000;
const CQ1: u64 = 0x4000;
const BUF: u64 = 0x1_0000;
const RES: u64 = 0x8_0000;

#[derive(Default, Debug)]
struct Report {
    id_dma: u32,
    status_before: u32,
    cpls0_lap1: Vec<[u8; CPL_BYTES]>,
    cpls0: Vec<[u8; CPL_BYTES]>,
    cpls1: Vec<[u8; CPL_BYTES]>,
    results: Vec<Vec<u8>>,
    stream_in: Vec<(u64, Vec<u8>)>,
    bad_desc0: u32,
    cq_prod0: u32,
    dq_cons0: u32,
    cq_prod1: u32,
    irqs_after_first: [u32; 4],
    irqs: [u32; 4],
    fault_status: u32,
}

fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j * 7) as u8).collect()
}

/// The descriptors posted to queue 0, in order: good ones of several sizes, each
/// descriptor error, an engine refusal (SA 7), with one `IRQ_NOW`.
fn queue0_descs() -> Vec<DmaDescriptor> {
    let good = |i: usize, len: u16| DmaDescriptor {
        buf_iova: BUF + 0x2000 * i as u64,
        result_iova: RES + 0x2000 * i as u64,
        cookie: 0xc0de_0000 + i as u64,
        len,
        result_cap: dma::max_result_len(len.into(), false) as u16,
        seq_hi: 0,
        sa_index: i as u16,
        next_header: 4,
        inbound: false,
        flags: DescFlags::empty(),
    };
    let mut v = vec![
        good(0, 64),
        good(1, 1),
        good(2, 300),
        DmaDescriptor {
            len: 0,
            ..good(3, 64)
        },
        DmaDescriptor {
            len: regmap::MAX_PACKET_BYTES as u16 + 1,
            result_cap: u16::MAX,
            ..good(4, 64)
        },
        DmaDescriptor {
            sa_index: regmap::NUM_SAS as u16,
            ..good(5, 64)
        },
        DmaDescriptor {
            buf_iova: BUF + 0x2000 * 6 + 8,
            ..good(6, 64)
        },
        DmaDescriptor {
            result_iova: (1 << dma::IOVA_BITS) - 16,
            ..good(7, 64)
        },
        DmaDescriptor {
            result_cap: 99,
            ..good(8, 64)
        },
        good(9, 17),
        DmaDescriptor {
            sa_index: 7,
            ..good(10, 100)
        },
        DmaDescriptor {
            flags: DescFlags::IRQ_NOW,
            ..good(11, 48)
        },
    ];
    // Ring of 8: 12 descriptors wrap it once.
    v.truncate(12);
    v
}

#[test]
fn dma_block_moves_descriptors_results_and_completions() {
    let report = Arc::new(Mutex::new(Report::default()));
    let shared = report.clone();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<DmaEngine>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut ep: Fixture| {
        let mut x = ep.init()?;
        let mut m = Model::new();
        let mut r = Report::default();
        x = reset(&mut ep, x, &mut m)?;
        let (x1, v) = reg_read(&mut ep, x, &mut m, off::ID_DMA)?;
        x = x1;
        r.id_dma = v;
        let q = |n: u32, o: u32| queue_reg(n, o).unwrap();
        // Queue 0: rings of 8 entries, vector 2, interrupt after 3 completions or IRQ_NOW.
        // Queue 1: rings of 4, vector 1.
        let descs0 = queue0_descs();
        for (i, d) in descs0.iter().enumerate() {
            let p = payload(i, d.len as usize);
            if d.buf_iova + p.len() as u64 <= MEM as u64 {
                m.mem[d.buf_iova as usize..d.buf_iova as usize + p.len()].copy_from_slice(&p);
            }
        }
        for (n, dq, cq, log2, vector) in [(0u32, DQ0, CQ0, 3u32, 2u32), (1, DQ1, CQ1, 2, 1)] {
            x = reg_write(&mut ep, x, &mut m, q(n, qoff::DQ_BASE_LO), dq as u32)?;
            x = reg_write(&mut ep, x, &mut m, q(n, qoff::DQ_BASE_HI), 0)?;
            x = reg_write(&mut ep, x, &mut m, q(n, qoff::DQ_LOG2_SIZE), log2)?;
            x = reg_write(&mut ep, x, &mut m, q(n, qoff::CQ_BASE_LO), cq as u32)?;
            x = reg_write(&mut ep, x, &mut m, q(n, qoff::CQ_LOG2_SIZE), log2)?;
            x = reg_write(&mut ep, x, &mut m, q(n, qoff::IRQ_VECTOR), vector | 1 << 31)?;
            // Queue 1 also has a 1 us timer.
            let usecs = if n == 1 { 1 << 16 } else { 0 };
            x = reg_write(&mut ep, x, &mut m, q(n, qoff::IRQ_MODERATION), 3 | usecs)?;
            x = reg_write(&mut ep, x, &mut m, q(n, qoff::Q_CTRL), 1)?;
            x = reg_write(&mut ep, x, &mut m, q(n, qoff::CQ_CONS), 1 << 31)?;
        }
        let (x1, v) = reg_read(&mut ep, x, &mut m, q(0, qoff::Q_STATUS))?;
        x = x1;
        r.status_before = v;
        // First lap: 8 descriptors on queue 0 and 2 on queue 1, then wait.
        for (i, d) in descs0.iter().take(8).enumerate() {
            let a = (DQ0 + dma::desc_offset(i as u16, 3)) as usize;
            m.mem[a..a + DESC_BYTES].copy_from_slice(&d.encode());
        }
        let q1 = |i: usize| DmaDescriptor {
            buf_iova: BUF + 0x2000 * (20 + i as u64),
            result_iova: RES + 0x2000 * (20 + i as u64),
            cookie: 0xbeef_0000 + i as u64,
            len: 40,
            result_cap: 100,
            seq_hi: 0x1234_5678,
            sa_index: 100 + i as u16,
            next_header: 0,
            inbound: true,
            flags: DescFlags::empty(),
        };
        for i in 0..2 {
            let d = q1(i);
            let p = payload(20 + i, 40);
            m.mem[d.buf_iova as usize..d.buf_iova as usize + 40].copy_from_slice(&p);
            let a = (DQ1 + dma::desc_offset(i as u16, 2)) as usize;
            m.mem[a..a + DESC_BYTES].copy_from_slice(&d.encode());
        }
        x = reg_write(&mut ep, x, &mut m, q(0, qoff::DQ_PROD), 8)?;
        x = reg_write(&mut ep, x, &mut m, q(1, qoff::DQ_PROD), 2)?;
        for _ in 0..3000 {
            x = step(&mut ep, x, &mut m)?;
        }
        r.irqs_after_first = m.irqs;
        for i in 0..8u16 {
            let a = (CQ0 + dma::cpl_offset(i, 3)) as usize;
            r.cpls0_lap1
                .push(m.mem[a..a + CPL_BYTES].try_into().unwrap());
        }
        // Consume the first lap, raise the count out of reach (5 are pending), re-arm,
        // post the remaining 4 (slots 0..3 again): only IRQ_NOW can fire now.
        x = reg_write(&mut ep, x, &mut m, q(0, qoff::IRQ_MODERATION), 100)?;
        x = reg_write(&mut ep, x, &mut m, q(0, qoff::CQ_CONS), 8 | 1 << 31)?;
        for (i, d) in descs0.iter().enumerate().skip(8) {
            let a = (DQ0 + dma::desc_offset(i as u16, 3)) as usize;
            m.mem[a..a + DESC_BYTES].copy_from_slice(&d.encode());
        }
        x = reg_write(&mut ep, x, &mut m, q(0, qoff::DQ_PROD), 12)?;
        for _ in 0..2000 {
            x = step(&mut ep, x, &mut m)?;
        }
        r.irqs = m.irqs;
        for (n, reg) in [
            (0, qoff::Q_BAD_DESC),
            (0, qoff::CQ_PROD),
            (0, qoff::DQ_CONS),
            (1, qoff::CQ_PROD),
        ] {
            let (x1, v) = reg_read(&mut ep, x, &mut m, q(n, reg))?;
            x = x1;
            match (n, reg) {
                (0, qoff::Q_BAD_DESC) => r.bad_desc0 = v,
                (0, qoff::CQ_PROD) => r.cq_prod0 = v,
                (0, qoff::DQ_CONS) => r.dq_cons0 = v,
                _ => r.cq_prod1 = v,
            }
        }
        // Completion ring 0 after two laps: slots 0..3 hold lap 2, 4..7 lap 1.
        for i in 0..8u16 {
            let a = (CQ0 + dma::cpl_offset(i, 3)) as usize;
            r.cpls0.push(m.mem[a..a + CPL_BYTES].try_into().unwrap());
        }
        for i in 0..2u16 {
            let a = (CQ1 + dma::cpl_offset(i, 2)) as usize;
            r.cpls1.push(m.mem[a..a + CPL_BYTES].try_into().unwrap());
        }
        for (i, d) in descs0.iter().enumerate() {
            let n = d.len as usize + 20;
            let a = d.result_iova as usize;
            r.results.push(if a + n <= MEM {
                m.mem[a..a + n + 16].to_vec()
            } else {
                vec![]
            });
            let _ = i;
        }
        r.stream_in = m.stream_in.clone();
        // A queue enabled with a ring size out of range faults.
        x = reg_write(&mut ep, x, &mut m, q(2, qoff::DQ_LOG2_SIZE), 13)?;
        x = reg_write(&mut ep, x, &mut m, q(2, qoff::CQ_LOG2_SIZE), 3)?;
        x = reg_write(&mut ep, x, &mut m, q(2, qoff::Q_CTRL), 1)?;
        let (x1, v) = reg_read(&mut ep, x, &mut m, q(2, qoff::Q_STATUS))?;
        x = x1;
        r.fault_status = v;
        *shared.lock().unwrap() = r;
        ep.done(x)
    });
    sim.run(Box::new(DmaEngine::new()), 10_000_000_000)
        .expect("simulation ran to the end");
    let r = report.lock().unwrap();

    assert_eq!(r.id_dma, dma::ID_DMA_VALUE);
    let st = regmap::QueueStatus::from_bits_retain(r.status_before);
    assert!(
        st.contains(regmap::QueueStatus::ENABLED | regmap::QueueStatus::IDLE),
        "{st:?}"
    );
    let descs0 = queue0_descs();
    // Every descriptor completed, in order, with the verdict regmap's check gives.
    assert_eq!(r.cq_prod0, 12);
    assert_eq!(r.dq_cons0, 12);
    assert_eq!(r.cq_prod1, 2);
    let mut expect_bad = 0;
    for (i, d) in descs0.iter().enumerate() {
        let slot = dma::slot(i as u16, 3) as usize;
        // Records 0..7 were read after the first lap (slots 0..3 are reused by 8..11).
        let raw = if i < 8 {
            &r.cpls0_lap1[slot]
        } else {
            &r.cpls0[slot]
        };
        let c = Completion::decode(raw).unwrap_or_else(|e| panic!("cpl {i}: {e}"));
        assert_eq!(c.desc_index, i as u16, "cpl {i}");
        assert_eq!(c.phase, dma::phase(i as u16, 3), "cpl {i} phase");
        assert_eq!(c.cookie, d.cookie, "cpl {i}");
        assert_eq!(c.sa_index, d.sa_index, "cpl {i}");
        assert_eq!(c.inbound, d.inbound, "cpl {i}");
        let want = match DmaDescriptor::card_check(&d.encode()) {
            Err(v) => v,
            Ok(_) if d.sa_index == 7 => Verdict::BadSa,
            Ok(_) => Verdict::Ok,
        };
        assert_eq!(c.verdict, want, "cpl {i}");
        if want.is_bad_descriptor() && want.is_dma() {
            expect_bad += 1;
        }
        if want == Verdict::Ok {
            assert_eq!(c.result_len as usize, d.len as usize + 20, "cpl {i}");
            let mut expect: Vec<u8> = payload(i, d.len as usize).iter().map(|b| !b).collect();
            expect.extend_from_slice(&[0xa5; 20]);
            assert_eq!(&r.results[i][..expect.len()], &expect[..], "result {i}");
            // Nothing written past the result (the burst's closing beats write nothing).
            assert!(
                r.results[i][expect.len()..].iter().all(|&b| b == 0),
                "result {i} tail"
            );
            assert_eq!(c.next_header, 4);
        } else {
            assert_eq!(c.result_len, 0, "cpl {i}");
        }
    }
    assert_eq!(r.bad_desc0, expect_bad);
    assert_eq!(expect_bad, 6, "each DMA descriptor error once");
    // The engine saw exactly the good descriptors' packets, with their side-band.
    let seen: Vec<_> = descs0
        .iter()
        .enumerate()
        .filter(|(_, d)| d.validate().is_ok())
        .map(|(i, d)| (i, *d))
        .collect();
    let q0_in: Vec<_> = r
        .stream_in
        .iter()
        .filter(|(t, _)| Descriptor::from_tuser(*t).sa_index < 100)
        .collect();
    assert_eq!(q0_in.len(), seen.len());
    for ((i, d), (tuser, bytes)) in seen.iter().zip(q0_in) {
        let t = Descriptor::from_tuser(*tuser);
        assert_eq!(t.sa_index, d.sa_index);
        assert_eq!(t.inbound, d.inbound);
        assert_eq!(t.next_header, d.next_header);
        assert_eq!(bytes, &payload(*i, d.len as usize));
    }
    // Queue 1 (inbound descriptors): side-band carries SEQ_HI and the direction.
    for (i, raw) in r.cpls1.iter().enumerate() {
        let c = Completion::decode(raw).unwrap();
        assert_eq!(c.cookie, 0xbeef_0000 + i as u64);
        assert!(c.phase);
        assert_eq!(c.verdict, Verdict::Ok);
        assert_eq!(c.result_len, 6);
    }
    let q1_in: Vec<_> = r
        .stream_in
        .iter()
        .filter(|(t, _)| Descriptor::from_tuser(*t).sa_index >= 100)
        .collect();
    assert_eq!(q1_in.len(), 2);
    for (tuser, bytes) in q1_in {
        let t = Descriptor::from_tuser(*tuser);
        assert!(t.inbound);
        assert_eq!(t.seq_hi, 0x1234_5678);
        assert_eq!(bytes.len(), 40);
    }
    // Interrupts: queue 0 (vector 2) fires once in the first lap (3 pending, then
    // disarmed); after re-arming with a count of 100, once more for the IRQ_NOW
    // descriptor. Queue 1 (vector 1) has 2 completions, below its count of 3: its
    // 1 us timer fires once.
    assert_eq!(r.irqs_after_first, [0, 1, 1, 0]);
    assert_eq!(r.irqs, [0, 1, 2, 0]);
    let fs = regmap::QueueStatus::from_bits_retain(r.fault_status);
    assert!(fs.contains(regmap::QueueStatus::FAULT));
    assert_eq!(fs.fault(), Some(regmap::QueueFault::BadRing));
}

#[test]
fn dma_block_verilog_lints_clean() {
    let mut uut = DmaEngine::new();
    uut.connect_all();
    lint_verilog(
        "dma_engine",
        &generate_verilog(&uut),
        &[
            "-Wno-WIDTH",
            "-Wno-UNUSEDPARAM",
            "-Wno-UNUSEDSIGNAL",
            "-Wno-UNOPTFLAT",
        ],
    );
}

/// Where queue `n`'s rings and packet `k`'s buffers live in the second test.
fn dq(n: u32) -> u64 {
    0x1_0000 + 0x2000 * u64::from(n)
}
fn cq(n: u32) -> u64 {
    dq(n) + 0x1000
}
fn buf(k: usize) -> u64 {
    0x2_0000 + 0x800 * k as u64
}
fn res(k: usize) -> u64 {
    0x6_0000 + 0x800 * k as u64
}
const RING2: u32 = 4;
const LEN2: [u16; 6] = [64, 1420, 1, 300, 17, 576];

fn desc2(k: usize) -> DmaDescriptor {
    let len = LEN2[k % LEN2.len()];
    let inbound = k % 5 == 4 && len >= 64;
    DmaDescriptor {
        buf_iova: buf(k),
        result_iova: res(k),
        cookie: 0x7000_0000 + k as u64,
        len,
        result_cap: dma::max_result_len(len.into(), inbound).max(1) as u16,
        seq_hi: 0,
        sa_index: 100 + k as u16,
        next_header: 4,
        inbound,
        flags: DescFlags::empty(),
    }
}

/// What the stand-in engine makes of packet `k`, or `None` for a refusal.
fn expect2(k: usize) -> Vec<u8> {
    let d = desc2(k);
    let mut out: Vec<u8> = payload(k, d.len as usize).iter().map(|b| !b).collect();
    if d.inbound {
        out.truncate(dma::max_result_len(d.len.into(), true) as usize);
    } else {
        out.extend_from_slice(&[0xa5; 20]);
    }
    out
}

#[derive(Default, Debug)]
struct Report2 {
    cpls: Vec<Vec<[u8; CPL_BYTES]>>,
    cq_prod: Vec<u32>,
    dq_cons: Vec<u32>,
    status: Vec<u32>,
    status_q2_after_reset: u32,
    q2_reset_cycle: u64,
    writes: Vec<(u64, u64)>,
    mem: Vec<u8>,
    q2_cpls_lap2: Vec<[u8; CPL_BYTES]>,
    q2_cq_prod_lap2: u32,
    q2_status_lap2: u32,
    mem2: Vec<u8>,
}

/// Packets k = 16 * n + i on queue n. Queues 0, 1 and 3: 12 packets each; queue 2: 16,
/// reset while they are in flight, then 4 more. Host memory answers reads after 125
/// cycles (so dozens of descriptors are in flight), packet 17's input and packet 20's
/// result buffer answer bus errors, and so does queue 3's descriptor ring from slot 4
/// on.
#[test]
fn dma_block_overlaps_queues_with_resets_and_bus_errors() {
    let report = Arc::new(Mutex::new(Report2::default()));
    let shared = report.clone();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<DmaEngine>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut ep: Fixture| {
        let mut x = ep.init()?;
        let mut m = Model::new();
        m.latency = 125;
        m.rd_err.push(buf(17)..buf(17) + 0x800);
        m.wr_err.push(res(20)..res(20) + 0x800);
        m.rd_err
            .push(dq(3) + dma::desc_offset(4, RING2)..dq(3) + 0x1000);
        let mut r = Report2::default();
        x = reset(&mut ep, x, &mut m)?;
        let q = |n: u32, o: u32| queue_reg(n, o).unwrap();
        let counts = [12usize, 12, 16, 12];
        for n in 0..4u32 {
            for i in 0..counts[n as usize] {
                let k = 16 * n as usize + i;
                let d = desc2(k);
                let a = d.buf_iova as usize;
                m.mem[a..a + d.len as usize].copy_from_slice(&payload(k, d.len as usize));
                let a = (dq(n) + dma::desc_offset(i as u16, RING2)) as usize;
                m.mem[a..a + DESC_BYTES].copy_from_slice(&d.encode());
            }
            for (o, v) in [
                (qoff::DQ_BASE_LO, dq(n) as u32),
                (qoff::DQ_BASE_HI, 0),
                (qoff::DQ_LOG2_SIZE, RING2),
                (qoff::CQ_BASE_LO, cq(n) as u32),
                (qoff::CQ_BASE_HI, 0),
                (qoff::CQ_LOG2_SIZE, RING2),
                (qoff::Q_CTRL, regmap::QueueCtrl::ENABLE.bits()),
            ] {
                x = reg_write(&mut ep, x, &mut m, q(n, o), v)?;
            }
        }
        for n in 0..4u32 {
            x = reg_write(
                &mut ep,
                x,
                &mut m,
                q(n, qoff::DQ_PROD),
                counts[n as usize] as u32,
            )?;
        }
        // Queue 2's descriptors are fetched and some of its payloads requested by now.
        for _ in 0..200 {
            x = step(&mut ep, x, &mut m)?;
        }
        r.q2_reset_cycle = m.cycle;
        x = reg_write(
            &mut ep,
            x,
            &mut m,
            q(2, qoff::Q_CTRL),
            regmap::QueueCtrl::RESET.bits(),
        )?;
        let (x1, v) = reg_read(&mut ep, x, &mut m, q(2, qoff::Q_STATUS))?;
        x = x1;
        r.status_q2_after_reset = v;
        for _ in 0..6000 {
            x = step(&mut ep, x, &mut m)?;
        }
        for n in 0..4u32 {
            for reg in [qoff::CQ_PROD, qoff::DQ_CONS, qoff::Q_STATUS] {
                let (x1, v) = reg_read(&mut ep, x, &mut m, q(n, reg))?;
                x = x1;
                match reg {
                    qoff::CQ_PROD => r.cq_prod.push(v),
                    qoff::DQ_CONS => r.dq_cons.push(v),
                    _ => r.status.push(v),
                }
            }
            r.cpls.push(
                (0..16u16)
                    .map(|i| {
                        let a = (cq(n) + dma::cpl_offset(i, RING2)) as usize;
                        m.mem[a..a + CPL_BYTES].try_into().unwrap()
                    })
                    .collect(),
            );
        }
        r.writes = m.writes.clone();
        r.mem = m.mem.clone();
        // Queue 2 again after its reset: 4 new packets (k = 64..68) from index 0.
        for i in 0..4usize {
            let k = 64 + i;
            let d = desc2(k);
            let a = d.buf_iova as usize;
            m.mem[a..a + d.len as usize].copy_from_slice(&payload(k, d.len as usize));
            let a = (dq(2) + dma::desc_offset(i as u16, RING2)) as usize;
            m.mem[a..a + DESC_BYTES].copy_from_slice(&d.encode());
        }
        let cq2 = cq(2) as usize;
        m.mem[cq2..cq2 + (CPL_BYTES << RING2)].fill(0);
        x = reg_write(
            &mut ep,
            x,
            &mut m,
            q(2, qoff::Q_CTRL),
            regmap::QueueCtrl::ENABLE.bits(),
        )?;
        x = reg_write(&mut ep, x, &mut m, q(2, qoff::DQ_PROD), 4)?;
        for _ in 0..1500 {
            x = step(&mut ep, x, &mut m)?;
        }
        let (x1, v) = reg_read(&mut ep, x, &mut m, q(2, qoff::CQ_PROD))?;
        x = x1;
        r.q2_cq_prod_lap2 = v;
        r.q2_cpls_lap2 = (0..4u16)
            .map(|i| {
                let a = (cq(2) + dma::cpl_offset(i, RING2)) as usize;
                m.mem[a..a + CPL_BYTES].try_into().unwrap()
            })
            .collect();
        let (x1, v) = reg_read(&mut ep, x, &mut m, q(2, qoff::Q_STATUS))?;
        x = x1;
        r.q2_status_lap2 = v;
        r.mem2 = m.mem.clone();
        *shared.lock().unwrap() = r;
        ep.done(x)
    });
    sim.run(Box::new(DmaEngine::new()), 100_000_000_000)
        .expect("simulation ran to the end");
    let r = report.lock().unwrap();
    use regmap::{QueueFault, QueueStatus};

    // Queues 0 and 1: every packet completed in order; the input read error and the
    // result write error give DmaBusError with no result.
    for n in 0..2usize {
        assert_eq!(r.cq_prod[n], 12, "queue {n}");
        assert_eq!(r.dq_cons[n], 12, "queue {n}");
        let st = QueueStatus::from_bits_retain(r.status[n]);
        assert!(st.contains(QueueStatus::IDLE) && !st.contains(QueueStatus::FAULT));
        for i in 0..12usize {
            let k = 16 * n + i;
            let d = desc2(k);
            let c = Completion::decode(&r.cpls[n][i]).unwrap_or_else(|e| panic!("cpl {k}: {e}"));
            assert_eq!(c.cookie, d.cookie, "cpl {k}");
            assert_eq!(c.desc_index, i as u16, "cpl {k}");
            assert!(c.phase, "cpl {k}");
            assert_eq!(c.inbound, d.inbound, "cpl {k}");
            if k == 17 || k == 20 {
                assert_eq!(c.verdict, Verdict::DmaBusError, "cpl {k}");
                assert_eq!(c.result_len, 0, "cpl {k}");
                continue;
            }
            assert_eq!(c.verdict, Verdict::Ok, "cpl {k}");
            let want = expect2(k);
            assert_eq!(c.result_len as usize, want.len(), "cpl {k}");
            let a = res(k) as usize;
            assert_eq!(&r.mem[a..a + want.len()], &want[..], "result {k}");
        }
    }
    // Queue 3: the 4 descriptors before the failing slot complete; the read error
    // faults the queue; descriptors requested after it are dropped, not completed.
    assert_eq!(r.cq_prod[3], 4);
    assert_eq!(r.dq_cons[3], 4);
    let st = QueueStatus::from_bits_retain(r.status[3]);
    assert!(st.contains(QueueStatus::FAULT), "{st:?}");
    assert_eq!(st.fault(), Some(QueueFault::DescFetch));
    assert!(st.contains(QueueStatus::IDLE), "{st:?}");
    for i in 0..4usize {
        let c = Completion::decode(&r.cpls[3][i]).unwrap();
        assert_eq!((c.cookie, c.verdict), (desc2(48 + i).cookie, Verdict::Ok));
    }
    assert!(r.cpls[3][4..].iter().all(|c| c.iter().all(|&b| b == 0)));
    // Queue 2: reset with descriptors in flight: busy right after, idle and empty
    // at the end; no completion record written after the reset.
    let st = QueueStatus::from_bits_retain(r.status_q2_after_reset);
    assert!(st.contains(QueueStatus::RESET_BUSY), "{st:?}");
    let st = QueueStatus::from_bits_retain(r.status[2]);
    assert!(
        st.contains(QueueStatus::IDLE) && !st.contains(QueueStatus::RESET_BUSY),
        "{st:?}"
    );
    assert_eq!((r.cq_prod[2], r.dq_cons[2]), (0, 0));
    let cq2 = cq(2)..cq(2) + (CPL_BYTES << RING2) as u64;
    assert!(
        !r.writes
            .iter()
            .any(|&(a, c)| cq2.contains(&a) && c > r.q2_reset_cycle),
        "a completion written after the reset"
    );
    // ... and works again from index 0.
    let st = QueueStatus::from_bits_retain(r.q2_status_lap2);
    assert_eq!(r.q2_cq_prod_lap2, 4, "{st:?}");
    for i in 0..4usize {
        let k = 64 + i;
        let want = expect2(k);
        let a = res(k) as usize;
        assert_eq!(&r.mem2[a..a + want.len()], &want[..], "lap 2 result {k}");
    }
    for (i, raw) in r.q2_cpls_lap2.iter().enumerate() {
        let c = Completion::decode(raw).unwrap();
        assert_eq!(c.cookie, desc2(64 + i).cookie);
        assert_eq!(c.desc_index, i as u16);
        assert!(c.phase);
        assert_eq!(c.verdict, Verdict::Ok);
    }
}

/// The bus and the streams hold their readies and valids low at random (35% of
/// cycles each): every request and beat the front end offers must stay offered
/// unchanged until taken (checked in `step`), write data may come before its
/// address, and 2 x 16 packets of six sizes on two queues still complete in order
/// with every result byte right.
#[test]
fn dma_block_under_random_back_pressure() {
    let report = Arc::new(Mutex::new((Vec::new(), Vec::new(), Vec::new())));
    let shared = report.clone();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<DmaEngine>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut ep: Fixture| {
        let mut x = ep.init()?;
        let mut m = Model::new();
        m.latency = 40;
        m.stall = 35;
        m.seed = 0x5eed;
        x = reset(&mut ep, x, &mut m)?;
        let q = |n: u32, o: u32| queue_reg(n, o).unwrap();
        for n in 0..2u32 {
            for i in 0..16usize {
                let k = 16 * n as usize + i;
                let d = desc2(k);
                let a = d.buf_iova as usize;
                m.mem[a..a + d.len as usize].copy_from_slice(&payload(k, d.len as usize));
                let a = (dq(n) + dma::desc_offset(i as u16, RING2)) as usize;
                m.mem[a..a + DESC_BYTES].copy_from_slice(&d.encode());
            }
            for (o, v) in [
                (qoff::DQ_BASE_LO, dq(n) as u32),
                (qoff::DQ_LOG2_SIZE, RING2),
                (qoff::CQ_BASE_LO, cq(n) as u32),
                (qoff::CQ_LOG2_SIZE, RING2),
                (qoff::Q_CTRL, regmap::QueueCtrl::ENABLE.bits()),
                (qoff::DQ_PROD, 16),
            ] {
                x = reg_write(&mut ep, x, &mut m, q(n, o), v)?;
            }
        }
        for _ in 0..20_000 {
            x = step(&mut ep, x, &mut m)?;
        }
        let mut r = report.lock().unwrap();
        for n in 0..2u32 {
            let (x1, v) = reg_read(&mut ep, x, &mut m, q(n, qoff::CQ_PROD))?;
            x = x1;
            r.0.push(v);
            r.1.push(
                (0..16u16)
                    .map(|i| {
                        let a = (cq(n) + dma::cpl_offset(i, RING2)) as usize;
                        <[u8; CPL_BYTES]>::try_from(&m.mem[a..a + CPL_BYTES]).unwrap()
                    })
                    .collect::<Vec<_>>(),
            );
        }
        r.2 = m.mem.clone();
        drop(r);
        ep.done(x)
    });
    sim.run(Box::new(DmaEngine::new()), 100_000_000_000)
        .expect("simulation ran to the end");
    let r = shared.lock().unwrap();
    for n in 0..2usize {
        assert_eq!(r.0[n], 16, "queue {n}");
        for i in 0..16usize {
            let k = 16 * n + i;
            let d = desc2(k);
            let c = Completion::decode(&r.1[n][i]).unwrap_or_else(|e| panic!("cpl {k}: {e}"));
            assert_eq!(
                (c.cookie, c.desc_index, c.phase, c.verdict),
                (d.cookie, i as u16, true, Verdict::Ok),
                "cpl {k}"
            );
            let want = expect2(k);
            assert_eq!(c.result_len as usize, want.len(), "cpl {k}");
            let a = res(k) as usize;
            assert_eq!(&r.2[a..a + want.len()], &want[..], "result {k}");
        }
    }
}

/// Packet `k` of the slow-response test: small outbound packets (three sizes).
fn desc3(k: usize) -> DmaDescriptor {
    let len = [64u16, 17, 100][k % 3];
    DmaDescriptor {
        buf_iova: buf(k),
        result_iova: res(k),
        cookie: 0x3300_0000 + k as u64,
        len,
        result_cap: dma::max_result_len(len.into(), false) as u16,
        seq_hi: 0,
        sa_index: 100 + k as u16,
        next_header: 4,
        inbound: false,
        flags: DescFlags::empty(),
    }
}

/// Write responses come back 80 cycles after a burst's last beat, so finished
/// packets queue up in the writer's pending FIFO (8 entries, full at times) while
/// the next results are written; the result bursts of packets 5, 6 (neighbours,
/// their responses in flight together) and 14 answer errors. Every record must
/// still come in order, the three with `DmaBusError` and no result, every other with
/// its result; and results of several packets must have been written before the
/// first record (the records waited for their responses while results went on).
#[test]
fn dma_block_pending_fifo_with_slow_write_responses() {
    const N: usize = 24;
    const RING3: u32 = 5;
    const BAD: [usize; 3] = [5, 6, 14];
    let report = Arc::new(Mutex::new((0u32, Vec::new(), Vec::new(), Vec::new())));
    let shared = report.clone();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<DmaEngine>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut ep: Fixture| {
        let mut x = ep.init()?;
        let mut m = Model::new();
        m.latency = 30;
        m.b_delay = 80;
        for k in BAD {
            m.wr_err.push(res(k)..res(k) + 0x800);
        }
        x = reset(&mut ep, x, &mut m)?;
        let q = |o: u32| queue_reg(0, o).unwrap();
        for k in 0..N {
            let d = desc3(k);
            let a = d.buf_iova as usize;
            m.mem[a..a + d.len as usize].copy_from_slice(&payload(k, d.len as usize));
            let a = (dq(0) + dma::desc_offset(k as u16, RING3)) as usize;
            m.mem[a..a + DESC_BYTES].copy_from_slice(&d.encode());
        }
        for (o, v) in [
            (qoff::DQ_BASE_LO, dq(0) as u32),
            (qoff::DQ_LOG2_SIZE, RING3),
            (qoff::CQ_BASE_LO, cq(0) as u32),
            (qoff::CQ_LOG2_SIZE, RING3),
            (qoff::Q_CTRL, regmap::QueueCtrl::ENABLE.bits()),
            (qoff::DQ_PROD, N as u32),
        ] {
            x = reg_write(&mut ep, x, &mut m, q(o), v)?;
        }
        for _ in 0..3000 {
            x = step(&mut ep, x, &mut m)?;
        }
        let (x1, v) = reg_read(&mut ep, x, &mut m, q(qoff::CQ_PROD))?;
        x = x1;
        let mut r = report.lock().unwrap();
        r.0 = v;
        r.1 = (0..N as u16)
            .map(|i| {
                let a = (cq(0) + dma::cpl_offset(i, RING3)) as usize;
                <[u8; CPL_BYTES]>::try_from(&m.mem[a..a + CPL_BYTES]).unwrap()
            })
            .collect::<Vec<_>>();
        r.2 = m.mem.clone();
        r.3 = m.writes.clone();
        drop(r);
        ep.done(x)
    });
    sim.run(Box::new(DmaEngine::new()), 100_000_000_000)
        .expect("simulation ran to the end");
    let r = shared.lock().unwrap();
    assert_eq!(r.0, N as u32, "CQ_PROD");
    for k in 0..N {
        let d = desc3(k);
        let c = Completion::decode(&r.1[k]).unwrap_or_else(|e| panic!("cpl {k}: {e}"));
        assert_eq!(
            (c.cookie, c.desc_index, c.phase),
            (d.cookie, k as u16, true),
            "cpl {k}"
        );
        if BAD.contains(&k) {
            assert_eq!(c.verdict, Verdict::DmaBusError, "cpl {k}");
            assert_eq!(c.result_len, 0, "cpl {k}");
            continue;
        }
        assert_eq!(c.verdict, Verdict::Ok, "cpl {k}");
        let mut want: Vec<u8> = payload(k, d.len as usize).iter().map(|b| !b).collect();
        want.extend_from_slice(&[0xa5; 20]);
        assert_eq!(c.result_len as usize, want.len(), "cpl {k}");
        let a = res(k) as usize;
        assert_eq!(&r.2[a..a + want.len()], &want[..], "result {k}");
    }
    // Several packets' results were out before the first record was written.
    let cq0 = cq(0)..cq(0) + (CPL_BYTES << RING3) as u64;
    let first_cpl =
        r.3.iter()
            .filter(|&&(a, _)| cq0.contains(&a))
            .map(|&(_, c)| c)
            .min()
            .expect("a record written");
    let before = (0..N)
        .filter(|&k| {
            r.3.iter()
                .any(|&(a, c)| (res(k)..res(k) + 0x800).contains(&a) && c < first_cpl)
        })
        .count();
    assert!(
        before >= 4,
        "results of only {before} packets before the first record"
    );
}
