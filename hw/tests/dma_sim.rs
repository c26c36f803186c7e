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
    ar: VecDeque<(u64, u32, u64)>,
    aw: VecDeque<(u64, u32)>,
    bq: VecDeque<u64>,
    rx_beats: VecDeque<(u128, u16, bool, u128)>,
    eng_in: Vec<u8>,
    eng_tuser: Option<u64>,
    stream_in: Vec<(u64, Vec<u8>)>,
    irqs: [u32; 4],
    last_rd: u32,
    bus_ok: bool,
}

impl Model {
    fn new() -> Self {
        Self {
            mem: vec![0; MEM],
            bus_ok: true,
            ..Self::default()
        }
    }
}

fn u128_of(b: Bits<128>) -> u128 {
    (u128::from(b.get_bits::<64>(64).to_u64()) << 64) | u128::from(b.get_bits::<64>(0).to_u64())
}

/// One clock cycle: drive the model's side, let the design settle, take the
/// handshakes of this cycle, clock.
fn step(
    ep: &mut Fixture,
    mut x: Box<DmaEngine>,
    m: &mut Model,
) -> Result<Box<DmaEngine>, SimError> {
    // Drive: always ready for addresses and write data; the head read beat when due.
    x.m_axi_arready.next = true;
    x.m_axi_awready.next = true;
    x.m_axi_wready.next = true;
    x.tx_tready.next = true;
    let r_head = m.ar.front().copied().filter(|&(_, _, due)| due <= m.cycle);
    x.m_axi_rvalid.next = r_head.is_some();
    if let Some((addr, left, _)) = r_head {
        let a = addr as usize;
        let mut w = [0u8; 16];
        w.copy_from_slice(&m.mem[a..a + 16]);
        x.m_axi_rdata.next = u128::from_le_bytes(w).to_bits();
        x.m_axi_rlast.next = left == 1;
        x.m_axi_rresp.next = bits::<2>(if m.bus_ok { 0 } else { 2 });
    }
    let b_due = m.bq.front().is_some_and(|&due| due <= m.cycle);
    x.m_axi_bvalid.next = b_due;
    x.m_axi_bresp.next = bits::<2>(0);
    let rx_head = m.rx_beats.front().copied();
    x.rx_tvalid.next = rx_head.is_some();
    if let Some((data, keep, last, user)) = rx_head {
        x.rx_tdata.next = data.to_bits();
        x.rx_tkeep.next = u64::from(keep).to_bits();
        x.rx_tlast.next = last;
        x.rx_tuser.next = user.to_bits();
    }
    x = ep.wait(1, x)?;
    m.last_rd = x.rd_data.val().to_u32();
    // Handshakes.
    if x.m_axi_arvalid.val() {
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
        let start =
            m.ar.back()
                .map_or(m.cycle + LATENCY, |&(_, _, d)| d.max(m.cycle + LATENCY));
        for i in 0..beats {
            m.ar.push_back((addr + 16 * u64::from(i), beats - i, start + u64::from(i)));
        }
    }
    if r_head.is_some() && x.m_axi_rready.val() {
        m.ar.pop_front();
    }
    if x.m_axi_awvalid.val() {
        let addr = x.m_axi_awaddr.val().to_u64();
        let beats = x.m_axi_awlen.val().to_u32() + 1;
        assert!(
            beats <= 16 && (addr % 256) / 16 + u64::from(beats) <= 16,
            "write burst crosses 256 B"
        );
        m.aw.push_back((addr, beats));
    }
    if x.m_axi_wvalid.val() {
        let (addr, left) = m.aw.front_mut().expect("write data before its address");
        let data = u128_of(x.m_axi_wdata.val()).to_le_bytes();
        let strb = x.m_axi_wstrb.val().to_u32();
        for (i, b) in data.iter().enumerate() {
            if strb >> i & 1 == 1 {
                m.mem[*addr as usize + i] = *b;
            }
        }
        *addr += 16;
        *left -= 1;
        assert_eq!(x.m_axi_wlast.val(), *left == 0, "wlast");
        if *left == 0 {
            m.aw.pop_front();
            m.bq.push_back(m.cycle + 3);
        }
    }
    if b_due && x.m_axi_bready.val() {
        m.bq.pop_front();
    }
    // The stand-in engine.
    if x.tx_tvalid.val() {
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
        x.reset.next = true;
        x = step(&mut ep, x, &mut m)?;
        x = step(&mut ep, x, &mut m)?;
        x.reset.next = false;
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
