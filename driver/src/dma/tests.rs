//! The DMA path against the model card: descriptor verdicts, ring wrap-around,
//! back-pressure, interrupt moderation, faults with a full ring in flight, and
//! random traffic checked against independent `esp` SAs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use esp::{proto, InboundSa, OutboundSa, SaConfig, SeqNum, Spi, Transform};
use regmap::dma::{
    max_result_len, phase, ring_entries, slot, Completion, DescFlags, DmaDescriptor, BUF_ALIGN,
    CPL_BYTES, DESC_BYTES, D_FLAGS, IOVA_BITS,
};
use regmap::regs::{off, qoff, queue_reg};
use regmap::{QueueCtrl, QueueStatus, Verdict};

use super::*;
use crate::card::{Card, CardConfig, CardSa, SaIndex};
use crate::model::{FaultHandle, ModelCard};
use crate::offload::{DataPath, OffloadConfig, OutPacket, SealedPacket};
use crate::port::{field, Direction, PacketRequest, PacketResult};
use crate::{Offload, OffloadPolicy, RegIo};

type DmaCard = Card<ModelCard, DmaPort<IovaTable>>;

fn sa_cfg(spi: u32, t: Transform) -> SaConfig {
    let key: Vec<u8> = (0..t.key_material_len() as u32)
        .map(|b| (b.wrapping_mul(31) ^ spi.wrapping_mul(7)) as u8)
        .collect();
    SaConfig::new(Spi(spi), t, &key).unwrap()
}

fn port_cfg(ring_log2: u32, irq: bool) -> DmaPortConfig {
    DmaPortConfig {
        queue: QueueConfig {
            ring_log2,
            irq_vector: irq.then_some(0),
            max_packet: 2048,
            ..QueueConfig::default()
        },
        wait_slice: Duration::from_millis(1),
        completion_timeout: Duration::from_millis(30),
    }
}

/// A card over the model with a DMA port (interrupt on vector 0 when `irq`).
fn dma_card(ring_log2: u32, irq: bool) -> (DmaCard, FaultHandle) {
    let mut m = ModelCard::new();
    let f = m.faults();
    let cfg = port_cfg(ring_log2, irq);
    let wait: Option<Box<dyn IrqWait + Send>> = if irq {
        let e = IrqEvent::new(0).unwrap();
        assert!(m.connect_irq(0, e.signaller().unwrap()));
        Some(Box::new(e))
    } else {
        None
    };
    let port = DmaPort::new(m.host_memory(), cfg, wait).unwrap();
    let card = Card::probe_with_port(m, port, CardConfig { poll_limit: 2000 }).unwrap();
    (card, f)
}

fn install(card: &mut DmaCard, cfg: &SaConfig, dir: Direction) -> u16 {
    card.install_sa(CardSa::from_config(cfg, dir, 0)).unwrap().0
}

/// Seals with an independent software sender.
fn peer_seal(tx: &mut OutboundSa, p: &[u8], nh: u8) -> Vec<u8> {
    let mut b = vec![0u8; tx.datagram_len(p.len())];
    let s = tx.seal(p, nh, &mut b).unwrap();
    b.truncate(s.len);
    b
}

/// Tiny deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn packets_round_trip_by_dma_with_polling_and_with_interrupts() {
    for irq in [false, true] {
        let (mut card, _f) = dma_card(4, irq);
        assert!(card.identity().caps().contains(regmap::Capabilities::DMA));
        let c = sa_cfg(0x100, Transform::AesGcm128);
        let ix = install(&mut card, &c, Direction::Outbound);
        let ps: Vec<Vec<u8>> = (0..5).map(|i| vec![i as u8; 40 + 100 * i]).collect();
        let reqs: Vec<PacketRequest<'_>> = ps
            .iter()
            .map(|p| PacketRequest::outbound(ix, proto::IPV4, p))
            .collect();
        let mut out = Vec::new();
        card.process(&reqs, &mut out).unwrap();
        let mut rx = InboundSa::new(&c).unwrap();
        for (i, r) in out.iter().enumerate() {
            assert_eq!(r.verdict, Verdict::Ok);
            assert_eq!(r.seq, i as u64 + 1);
            let mut d = r.data.clone();
            let o = rx.open(&mut d).unwrap();
            assert_eq!(&d[o.payload], &ps[i][..]);
        }
        assert_eq!(card.counters().unwrap().out_pkts, 5);
        assert_eq!(card.read_sa(SaIndex(ix)).unwrap().seq, 5);
        let regs = card.regs_mut();
        if irq {
            assert!(
                regs.interrupts(0) >= 1,
                "IRQ_NOW on the batch's last descriptor"
            );
        } else {
            assert_eq!(regs.interrupts(0), 0);
        }
    }
}

/// Programs queue 0 of the model by hand (independently of `DmaQueue`) over one
/// region: descriptor ring at 0, completion ring at 4 KiB, buffers from 8 KiB.
struct RawQueue {
    region: Arc<DmaRegion>,
    iova: u64,
    log2: u32,
    prod: u16,
}

const RAW_CPL: usize = 4096;
const RAW_BUF: usize = 8192;

impl RawQueue {
    fn new(m: &mut ModelCard, log2: u32, moderation: u32) -> Self {
        let region = Arc::new(DmaRegion::new(1 << 20, HugePages::Never).unwrap());
        let iova = m.host_memory().map(&region).unwrap();
        let r = |rel| queue_reg(0, rel).unwrap();
        m.write32(r(qoff::Q_CTRL), QueueCtrl::RESET.bits()).unwrap();
        m.write64(r(qoff::DQ_BASE_LO), iova).unwrap();
        m.write32(r(qoff::DQ_LOG2_SIZE), log2).unwrap();
        m.write64(r(qoff::CQ_BASE_LO), iova + RAW_CPL as u64)
            .unwrap();
        m.write32(r(qoff::CQ_LOG2_SIZE), log2).unwrap();
        m.write32(
            r(qoff::IRQ_VECTOR),
            field("IRQ_VECTOR", "ENABLE").put(1) | field("IRQ_VECTOR", "VECTOR").put(1),
        )
        .unwrap();
        m.write32(r(qoff::IRQ_MODERATION), moderation).unwrap();
        m.write32(r(qoff::Q_CTRL), QueueCtrl::ENABLE.bits())
            .unwrap();
        let st = QueueStatus::from_bits_retain(m.read32(r(qoff::Q_STATUS)).unwrap());
        assert!(
            st.contains(QueueStatus::ENABLED | QueueStatus::IDLE),
            "{st:?}"
        );
        RawQueue {
            region,
            iova,
            log2,
            prod: 0,
        }
    }

    fn buf(&self, k: usize) -> u64 {
        self.iova + (RAW_BUF + k * 4096) as u64
    }

    fn post(&mut self, d: &[u8; DESC_BYTES]) {
        let at = slot(self.prod, self.log2) as usize * DESC_BYTES;
        self.region.write(at, d).unwrap();
        self.prod = self.prod.wrapping_add(1);
    }

    fn ring(&self, m: &mut ModelCard) {
        m.write32(queue_reg(0, qoff::DQ_PROD).unwrap(), self.prod.into())
            .unwrap();
    }

    fn cpl(&self, index: u16) -> [u8; CPL_BYTES] {
        let mut rec = [0u8; CPL_BYTES];
        let at = RAW_CPL + slot(index, self.log2) as usize * CPL_BYTES;
        self.region.read(at, &mut rec).unwrap();
        rec
    }
}

#[test]
fn every_descriptor_error_is_completed_with_its_verdict_and_counted_and_the_queue_goes_on() {
    let m = ModelCard::new();
    let f = m.faults();
    let c = sa_cfg(0x200, Transform::AesGcm256);
    let mut card = Card::probe(m, CardConfig::default()).unwrap();
    let out_ix = card
        .install_sa(CardSa::from_config(&c, Direction::Outbound, 0))
        .unwrap();
    let m = card.regs_mut();
    let mut q = RawQueue::new(m, 5, 1);
    let payload = b"payload for the DMA front end".to_vec();
    q.region.write(RAW_BUF, &payload).unwrap();
    let good = DmaDescriptor {
        buf_iova: q.buf(0),
        result_iova: q.buf(1),
        cookie: 0,
        len: payload.len() as u16,
        result_cap: 4096,
        seq_hi: 0,
        sa_index: out_ix.0,
        next_header: proto::IPV4,
        inbound: false,
        flags: DescFlags::empty(),
    };
    let unmapped = q.iova + (64 << 20);
    let mut reserved = good.encode();
    reserved[40] = 1;
    let mut unknown_flag = good.encode();
    D_FLAGS.put(&mut unknown_flag, 0x80);
    let d = |x: DmaDescriptor| x.encode();
    let cases: Vec<([u8; DESC_BYTES], Verdict)> = vec![
        (d(DmaDescriptor { len: 0, ..good }), Verdict::DmaLength),
        (
            d(DmaDescriptor {
                len: regmap::MAX_PACKET_BYTES as u16 + 1,
                result_cap: u16::MAX,
                ..good
            }),
            Verdict::DmaLength,
        ),
        (
            d(DmaDescriptor {
                sa_index: regmap::NUM_SAS as u16,
                ..good
            }),
            Verdict::DmaSaIndex,
        ),
        (
            d(DmaDescriptor {
                buf_iova: good.buf_iova + 4,
                ..good
            }),
            Verdict::DmaAlign,
        ),
        (
            d(DmaDescriptor {
                result_iova: good.result_iova + 8,
                ..good
            }),
            Verdict::DmaAlign,
        ),
        (
            d(DmaDescriptor {
                buf_iova: (1 << IOVA_BITS) - BUF_ALIGN,
                ..good
            }),
            Verdict::DmaBounds,
        ),
        (
            d(DmaDescriptor {
                result_cap: max_result_len(payload.len() as u32, false) as u16 - 1,
                ..good
            }),
            Verdict::DmaResultSpace,
        ),
        (reserved, Verdict::DmaReserved),
        (unknown_flag, Verdict::DmaReserved),
        (
            d(DmaDescriptor {
                buf_iova: unmapped,
                ..good
            }),
            Verdict::DmaBusError,
        ),
        (
            d(DmaDescriptor {
                result_iova: unmapped,
                ..good
            }),
            Verdict::DmaBusError,
        ),
        // Past the front end, the ESP engine's own refusals.
        (
            d(DmaDescriptor {
                sa_index: 77,
                ..good
            }),
            Verdict::BadSa,
        ),
        (
            d(DmaDescriptor {
                inbound: true,
                len: 100,
                ..good
            }),
            Verdict::DirectionMismatch,
        ),
        (good.encode(), Verdict::Ok),
    ];
    for (i, (rec, _)) in cases.iter().enumerate() {
        let mut r = *rec;
        // Cookies tag each case (a reserved-bit record keeps its own fields).
        regmap::dma::D_COOKIE.put(&mut r, 0xc0de_0000 + i as u64);
        q.post(&r);
    }
    q.ring(m);
    let qr = |rel| queue_reg(0, rel).unwrap();
    assert_eq!(m.read32(qr(qoff::DQ_CONS)).unwrap(), cases.len() as u32);
    assert_eq!(m.read32(qr(qoff::CQ_PROD)).unwrap(), cases.len() as u32);
    let mut rx = InboundSa::new(&c).unwrap();
    for (i, (_, want)) in cases.iter().enumerate() {
        let c = Completion::decode(&q.cpl(i as u16)).unwrap();
        assert_eq!(c.verdict, *want, "case {i}");
        assert_eq!(c.cookie, 0xc0de_0000 + i as u64, "case {i}");
        assert_eq!(c.desc_index, i as u16);
        assert!(c.phase);
        if *want == Verdict::Ok {
            // The one good descriptor: opened by an independent SA.
            let mut dg = vec![0u8; usize::from(c.result_len)];
            q.region.read(RAW_BUF + 4096, &mut dg).unwrap();
            let o = rx.open(&mut dg).unwrap();
            assert_eq!(&dg[o.payload.clone()], &payload[..]);
            assert_eq!(o.seq, SeqNum(c.seq));
        } else {
            assert_eq!(c.result_len, 0);
        }
    }
    // The front end's bad descriptors count in Q_BAD_DESC; they and the engine's
    // refusals count in CNT_BAD_DESC. A bus error is neither.
    let front = cases
        .iter()
        .filter(|(_, v)| v.is_dma() && v.is_bad_descriptor())
        .count() as u32;
    assert_eq!(front, 9);
    assert_eq!(m.read32(qr(qoff::Q_BAD_DESC)).unwrap(), front);
    assert_eq!(
        m.read64(off::CNT_BAD_DESC_LO).unwrap(),
        u64::from(front) + 2
    );
    let st = QueueStatus::from_bits_retain(m.read32(qr(qoff::Q_STATUS)).unwrap());
    assert!(st.contains(QueueStatus::ENABLED) && !st.contains(QueueStatus::FAULT));
    // An unmapped descriptor ring is a queue fault (DescFetch), not a completion.
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::RESET.bits())
        .unwrap();
    m.write64(qr(qoff::DQ_BASE_LO), unmapped).unwrap();
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::ENABLE.bits())
        .unwrap();
    m.write32(qr(qoff::DQ_PROD), 1).unwrap();
    let st = QueueStatus::from_bits_retain(m.read32(qr(qoff::Q_STATUS)).unwrap());
    assert_eq!(st.fault(), Some(regmap::QueueFault::DescFetch));
    assert!(!st.contains(QueueStatus::ENABLED));
    // Reset clears the fault and the count.
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::RESET.bits())
        .unwrap();
    assert_eq!(m.read32(qr(qoff::Q_BAD_DESC)).unwrap(), 0);
    // A producer index more than a ring ahead is BadIndex.
    m.write64(qr(qoff::DQ_BASE_LO), q.iova).unwrap();
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::ENABLE.bits())
        .unwrap();
    m.write32(qr(qoff::DQ_PROD), ring_entries(5) + 1).unwrap();
    let st = QueueStatus::from_bits_retain(m.read32(qr(qoff::Q_STATUS)).unwrap());
    assert_eq!(st.fault(), Some(regmap::QueueFault::BadIndex));
    // A ring size outside the allowed range is BadRing at enable.
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::RESET.bits())
        .unwrap();
    m.write32(qr(qoff::DQ_LOG2_SIZE), 1).unwrap();
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::ENABLE.bits())
        .unwrap();
    let st = QueueStatus::from_bits_retain(m.read32(qr(qoff::Q_STATUS)).unwrap());
    assert_eq!(st.fault(), Some(regmap::QueueFault::BadRing));
    drop(f);
}

#[test]
fn interrupt_moderation_by_count_timer_and_irq_now() {
    let mut card = Card::probe(ModelCard::new(), CardConfig::default()).unwrap();
    let c = sa_cfg(0x300, Transform::AesGcm128);
    let ix = card
        .install_sa(CardSa::from_config(&c, Direction::Outbound, 0))
        .unwrap();
    let m = card.regs_mut();
    let irq = IrqEvent::new(0).unwrap();
    assert!(m.connect_irq(1, irq.signaller().unwrap()));
    assert!(!m.connect_irq(regmap::dma::NUM_VECTORS, irq.signaller().unwrap()));
    let pkts = field("IRQ_MODERATION", "PKTS");
    let usecs = field("IRQ_MODERATION", "USECS");
    // Count 4, timer 50 ticks.
    let mut q = RawQueue::new(m, 4, pkts.put(4) | usecs.put(50));
    q.region.write(RAW_BUF, &[7u8; 64]).unwrap();
    let (b0, b1) = (q.buf(0), q.buf(1));
    let desc = |flags| {
        DmaDescriptor {
            buf_iova: b0,
            result_iova: b1,
            cookie: 1,
            len: 64,
            result_cap: 4096,
            sa_index: ix.0,
            next_header: 4,
            flags,
            ..DmaDescriptor::default()
        }
        .encode()
    };
    let cons = queue_reg(0, qoff::CQ_CONS).unwrap();
    let arm = field("CQ_CONS", "ARM").put(1);
    // Not armed: no interrupt whatever completes.
    for _ in 0..5 {
        q.post(&desc(DescFlags::empty()));
    }
    q.ring(m);
    assert_eq!((m.interrupts(1), irq.take().unwrap()), (0, 0));
    // Arming with 5 pending (>= 4) fires at once, once.
    m.write32(cons, arm).unwrap();
    assert_eq!((m.interrupts(1), irq.take().unwrap()), (1, 1));
    // Consume all, re-arm; 3 completions stay below the count...
    m.write32(cons, 5 | arm).unwrap();
    for _ in 0..3 {
        q.post(&desc(DescFlags::empty()));
    }
    q.ring(m);
    assert_eq!(m.interrupts(1), 1);
    // ...the fourth reaches it.
    q.post(&desc(DescFlags::empty()));
    q.ring(m);
    assert_eq!((m.interrupts(1), irq.take().unwrap()), (2, 1));
    // Timer: one completion, re-armed; nothing until 50 ticks have passed.
    m.write32(cons, 9 | arm).unwrap();
    q.post(&desc(DescFlags::empty()));
    q.ring(m);
    let t0 = m.ticks();
    let status = queue_reg(0, qoff::Q_STATUS).unwrap();
    while m.interrupts(1) == 2 {
        m.read32(status).unwrap();
        assert!(m.ticks() - t0 <= 51, "timer did not fire");
    }
    assert!(m.ticks() - t0 >= 50, "timer fired early");
    assert_eq!((m.interrupts(1), irq.take().unwrap()), (3, 1));
    // IRQ_NOW: one completion, below the count and before the timer.
    m.write32(cons, 10 | arm).unwrap();
    q.post(&desc(DescFlags::IRQ_NOW));
    q.ring(m);
    assert_eq!((m.interrupts(1), irq.take().unwrap()), (4, 1));
    // Disabled vector: never.
    m.write32(cons, 11 | arm).unwrap();
    m.write32(queue_reg(0, qoff::IRQ_VECTOR).unwrap(), 1)
        .unwrap();
    q.post(&desc(DescFlags::IRQ_NOW));
    q.ring(m);
    for _ in 0..100 {
        m.read32(status).unwrap();
    }
    assert_eq!((m.interrupts(1), irq.take().unwrap()), (4, 0));
}

#[test]
fn rings_wrap_for_many_laps_and_past_the_16_bit_index_with_the_phase_bit() {
    let (mut card, _f) = dma_card(2, false);
    let c = sa_cfg(0x400, Transform::AesGmac128);
    let ix = install(&mut card, &c, Direction::Outbound);
    let mut rx = InboundSa::new(&c).unwrap();
    let mut rng = Rng(0x1234_5678);
    let total = 66_000u64; // past 2^16: the free-running indices wrap too
    let mut done = 0u64;
    let mut out = Vec::new();
    while done < total {
        let n = 1 + rng.below(11) as usize; // up to almost 3 rings per batch
        let ps: Vec<Vec<u8>> = (0..n)
            .map(|_| vec![rng.next() as u8; 1 + rng.below(24) as usize])
            .collect();
        let reqs: Vec<PacketRequest<'_>> = ps
            .iter()
            .map(|p| PacketRequest::outbound(ix, proto::UDP, p))
            .collect();
        out.clear();
        card.process(&reqs, &mut out).unwrap();
        for (r, p) in out.iter().zip(&ps) {
            done += 1;
            assert_eq!(r.seq, done);
            let mut d = r.data.clone();
            let o = rx.open(&mut d).unwrap();
            assert_eq!(&d[o.payload], &p[..]);
        }
        // Every record left in the 4-entry ring carries the phase of the lap that
        // wrote it.
        if done > 4 {
            let q = card.port().queue().unwrap();
            let log2 = q.config().ring_log2;
            for back in 1..=4u64 {
                let index = (done - back) as u16;
                let mut rec = [0u8; CPL_BYTES];
                // The completion ring starts at 4 KiB (after the 4 descriptors).
                let at = 4096 + slot(index, log2) as usize * CPL_BYTES;
                q.region().read(at, &mut rec).unwrap();
                let cpl = Completion::decode(&rec).unwrap();
                assert_eq!(cpl.desc_index, index);
                assert_eq!(cpl.phase, phase(index, log2));
            }
        }
    }
    let stats = card.port().stats();
    assert_eq!(stats.packets, done);
    assert!(stats.doorbells >= done / 4);
}

#[test]
fn a_full_ring_holds_the_rest_of_the_batch_back_without_loss() {
    for irq in [false, true] {
        let (mut card, f) = dma_card(2, irq);
        let c = sa_cfg(0x500, Transform::AesGcm128);
        let ix = install(&mut card, &c, Direction::Outbound);
        // A slow engine: results come one register access at a time, so the
        // driver finds the 4-entry ring full and waits for completions.
        f.dma_lag(true);
        let ps: Vec<Vec<u8>> = (0..30).map(|i| vec![i as u8; 10 + i]).collect();
        let reqs: Vec<PacketRequest<'_>> = ps
            .iter()
            .map(|p| PacketRequest::outbound(ix, proto::TCP, p))
            .collect();
        let mut out = Vec::new();
        card.process(&reqs, &mut out).unwrap();
        assert_eq!(out.len(), 30);
        let mut rx = InboundSa::new(&c).unwrap();
        for (i, (r, p)) in out.iter().zip(&ps).enumerate() {
            assert_eq!(r.seq, i as u64 + 1);
            let mut d = r.data.clone();
            let o = rx.open(&mut d).unwrap();
            assert_eq!(&d[o.payload], &p[..]);
        }
        let s = card.port().stats();
        assert!(s.ring_full_waits > 0, "{s:?}");
        assert!(s.doorbells >= 30 / 4, "{s:?}");
        // The queue itself refuses a fifth packet while four are in flight.
        let mut m = ModelCard::new();
        let mut mapper = m.host_memory();
        let mut q = DmaQueue::new(
            &mut mapper,
            QueueConfig {
                ring_log2: 2,
                max_packet: 64,
                ..QueueConfig::default()
            },
        )
        .unwrap();
        q.program(&mut m).unwrap();
        let r = PacketRequest::outbound(0, 4, b"x");
        for _ in 0..4 {
            assert!(q.post(&r, DescFlags::empty()).unwrap().is_some());
        }
        assert_eq!(q.post(&r, DescFlags::empty()).unwrap(), None);
        assert_eq!(q.free(), 0);
        assert!(matches!(
            q.post(&PacketRequest::outbound(0, 4, &[0; 65]), DescFlags::empty()),
            Err(crate::DriverError::PacketTooLarge { .. })
        ));
    }
}

fn offload_dma(irq: bool, ring_log2: u32) -> (Offload<ModelCard, DmaPort<IovaTable>>, FaultHandle) {
    let (card, f) = dma_card(ring_log2, irq);
    (
        Offload::new(
            Some(card),
            OffloadConfig {
                verify_every: 1,
                ..OffloadConfig::default()
            },
        ),
        f,
    )
}

fn seal_all(
    off: &mut Offload<ModelCard, DmaPort<IovaTable>>,
    sa: crate::offload::SaId,
    ps: &[Vec<u8>],
) -> Vec<SealedPacket> {
    let pkts: Vec<OutPacket<'_>> = ps
        .iter()
        .map(|p| OutPacket {
            sa,
            payload: p,
            next_header: proto::IPV4,
        })
        .collect();
    off.seal_batch(&pkts)
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

/// Every datagram opens with an independent SA, carries its payload, and no number
/// repeats (the peer's replay window would refuse it).
fn check_on_wire(cfg: &SaConfig, sent: &[SealedPacket], ps: &[Vec<u8>]) {
    assert_eq!(sent.len(), ps.len(), "a packet was lost");
    let mut peer = InboundSa::new(cfg).unwrap();
    let mut last = 0;
    for (s, p) in sent.iter().zip(ps) {
        assert!(s.seq > last, "sequence {} after {last}", s.seq);
        last = s.seq;
        let mut d = s.datagram.clone();
        let o = peer
            .open(&mut d)
            .unwrap_or_else(|e| panic!("seq {}: {e}", s.seq));
        assert_eq!(&d[o.payload], &p[..]);
        assert_eq!(o.seq.0, s.seq);
    }
}

#[test]
fn a_hang_with_a_full_ring_in_flight_fences_and_software_continues_the_numbers() {
    for irq in [false, true] {
        let (mut off, f) = offload_dma(irq, 3);
        let c = sa_cfg(0x600, Transform::AesGcm128);
        let sa = off
            .add_sa(&c, Direction::Outbound, OffloadPolicy::Auto)
            .unwrap();
        let ps: Vec<Vec<u8>> = (0..24).map(|i| vec![i as u8; 30 + i]).collect();
        let first = seal_all(&mut off, sa, &ps[..4]);
        // The engine hangs at the 3rd packet of a batch that fills the 8-entry ring
        // (and more waiting behind it).
        f.hang_after(2);
        let rest = seal_all(&mut off, sa, &ps[4..]);
        let all: Vec<SealedPacket> = first.into_iter().chain(rest).collect();
        check_on_wire(&c, &all, &ps);
        let paths: Vec<DataPath> = all.iter().map(|s| s.path).collect();
        assert_eq!(&paths[..6], &[DataPath::Card; 6]);
        assert!(paths[6..].iter().all(|&p| p == DataPath::Software));
        // Software continued after every number the card may have used: the ring
        // was handed the whole batch.
        let highest_card = f.highest_seq(0x600);
        assert_eq!(highest_card, 7, "the hung packet used a number");
        assert!(all[6].seq > highest_card);
        assert_eq!(
            all[6].seq,
            4 + 20 + 1,
            "numbers of all 20 handed over skipped"
        );
        let k = off.counters();
        assert_eq!(k.card_faults, 1);
        assert_eq!(k.redone_in_software, 18);
        assert!(off.fence().is_some());
        // Healed and recovered: back on the card, queue reprogrammed, numbers go on.
        f.heal();
        assert_eq!(off.recover_card().unwrap(), 1);
        let more = seal_all(&mut off, sa, &ps[..3]);
        assert!(more.iter().all(|s| s.path == DataPath::Card));
        assert!(more[0].seq > all.last().unwrap().seq);
        let mut whole = all.clone();
        whole.extend(more);
        let mut pl = ps.clone();
        pl.extend_from_slice(&ps[..3]);
        check_on_wire(&c, &whole, &pl);
        let stats = off.card_mut().unwrap().port().stats();
        assert_eq!(stats.timeouts, 1);
        assert!(stats.setups >= 2);
    }
}

#[test]
fn a_reset_with_a_full_ring_in_flight_reloads_requeues_and_loses_nothing() {
    for irq in [false, true] {
        let (mut off, f) = offload_dma(irq, 3);
        let c = sa_cfg(0x700, Transform::AesGcm256);
        let sa = off
            .add_sa(&c, Direction::Outbound, OffloadPolicy::Card)
            .unwrap();
        let ps: Vec<Vec<u8>> = (0..20).map(|i| vec![i as u8; 50 + i]).collect();
        // The card resets after 5 packets of a 20-packet batch (8 in the ring).
        f.reset_after(5);
        let sent = seal_all(&mut off, sa, &ps);
        check_on_wire(&c, &sent, &ps);
        assert!(sent.iter().all(|s| s.path == DataPath::Card));
        // The 5 before the reset, then the retry after the 3 lost in the ring (they
        // may have used numbers 6..8 on the card: never reused).
        let seqs: Vec<u64> = sent.iter().map(|s| s.seq).collect();
        assert_eq!(&seqs[..5], &[1, 2, 3, 4, 5]);
        assert!(seqs[5] > 5 + 3, "{seqs:?}");
        let k = off.counters();
        assert_eq!(k.card_resets, 1);
        assert_eq!(k.card_faults, 0);
        assert!(off.fence().is_none());
        assert_eq!(f.lock().resets, 1);
    }
}

#[test]
fn a_corrupt_completion_fences_the_card_and_the_packets_are_redone() {
    let (mut off, f) = offload_dma(false, 4);
    let c = sa_cfg(0x800, Transform::AesGcm128);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    let ps: Vec<Vec<u8>> = (0..10).map(|i| vec![i as u8; 64]).collect();
    f.corrupt_completion(1);
    let sent = seal_all(&mut off, sa, &ps);
    check_on_wire(&c, &sent, &ps);
    assert!(sent.iter().all(|s| s.path == DataPath::Software));
    assert_eq!(off.counters().card_faults, 1);
    let fence = off.fence().unwrap().to_string();
    assert!(fence.contains("bad result"), "{fence}");
}

#[test]
fn ten_thousand_random_packets_of_mixed_sizes_sas_and_directions_match_esp() {
    let (mut card, _f) = dma_card(5, true);
    let transforms = [
        Transform::AesGcm128,
        Transform::AesGcm256,
        Transform::AesGmac128,
        Transform::AesGmac256,
    ];
    // 12 SA pairs: the card seals with `out[k]`, the software peer opens (`rx`);
    // the software peer seals (`tx`), the card opens with `inb[k]`.
    struct Pair {
        out: u16,
        inb: u16,
        rx: InboundSa,
        tx: OutboundSa,
        sent: u64,
    }
    let mut pairs: Vec<Pair> = (0..12u32)
        .map(|k| {
            let mut cfg = sa_cfg(0x9000 + k, transforms[k as usize % 4]);
            cfg.esn = k % 3 == 0 && cfg.transform.is_gcm();
            let out = install(&mut card, &cfg, Direction::Outbound);
            let inb = install(&mut card, &cfg, Direction::Inbound);
            Pair {
                out,
                inb,
                rx: InboundSa::new(&cfg).unwrap(),
                tx: OutboundSa::new(&cfg).unwrap(),
                sent: 0,
            }
        })
        .collect();
    let mut rng = Rng(0x0bad_5eed);
    let mut total = 0;
    let mut inbound = 0;
    let mut by_sa: HashMap<u16, u64> = HashMap::new();
    while total < 10_000 {
        let n = 1 + rng.below(64) as usize;
        // (pair, inbound, payload, datagram for inbound)
        let mut batch: Vec<(usize, bool, Vec<u8>, Vec<u8>)> = Vec::new();
        for _ in 0..n {
            let k = rng.below(pairs.len() as u64) as usize;
            let len = match rng.below(8) {
                0 => 1 + rng.below(16) as usize,
                1 => 1400 + rng.below(100) as usize,
                2 => 1 + rng.below(2000) as usize,
                _ => 20 + rng.below(600) as usize,
            };
            let p: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let inb = rng.below(2) == 0;
            let dg = if inb {
                peer_seal(&mut pairs[k].tx, &p, proto::IPV6)
            } else {
                Vec::new()
            };
            batch.push((k, inb, p, dg));
        }
        let reqs: Vec<PacketRequest<'_>> = batch
            .iter()
            .map(|(k, inb, p, dg)| {
                let pr = &pairs[*k];
                if *inb {
                    // The peer's numbers stay below 2^32 here, so the ESN high
                    // half software infers is 0.
                    PacketRequest::inbound(pr.inb, 0, dg)
                } else {
                    PacketRequest::outbound(pr.out, proto::IPV4, p)
                }
            })
            .collect();
        let mut out: Vec<PacketResult> = Vec::new();
        card.process(&reqs, &mut out).unwrap();
        assert_eq!(out.len(), batch.len());
        for ((k, inb, p, _), r) in batch.iter().zip(&out) {
            assert_eq!(r.verdict, Verdict::Ok);
            let pr = &mut pairs[*k];
            if *inb {
                // The card's plaintext is the payload the peer sealed.
                assert_eq!(&r.data, p);
                assert_eq!(r.next_header, proto::IPV6);
                inbound += 1;
            } else {
                pr.sent += 1;
                assert_eq!(r.seq, pr.sent, "SA {}", pr.out);
                let mut d = r.data.clone();
                let o = pr.rx.open(&mut d).unwrap();
                assert_eq!(&d[o.payload], &p[..]);
                assert_eq!(o.next_header, proto::IPV4);
                *by_sa.entry(pr.out).or_default() += 1;
            }
        }
        total += batch.len();
    }
    assert!(
        inbound > 4000 && total - inbound > 4000,
        "{inbound} of {total}"
    );
    assert_eq!(by_sa.len(), 12);
    let s = card.port().stats();
    assert_eq!(s.packets as usize, total);
    assert_eq!(s.timeouts, 0);
    assert!(card.regs_mut().interrupts(0) > 0);
}

#[test]
fn a_sequence_number_going_back_within_a_batch_is_refused_by_the_port() {
    let (mut card, f) = dma_card(3, false);
    let c = sa_cfg(0xa00, Transform::AesGcm128);
    let ix = install(&mut card, &c, Direction::Outbound);
    let p = [1u8; 100];
    let reqs = [PacketRequest::outbound(ix, proto::IPV4, &p); 4];
    let mut out = Vec::new();
    card.process(&reqs[..3], &mut out).unwrap();
    assert_eq!(out[2].seq, 3);
    // The card steps its counter back by 3 before the third packet of the batch.
    f.step_back_after(2, 3);
    out.clear();
    let e = card.process(&reqs, &mut out).unwrap_err();
    assert!(
        e.to_string().contains("bad result")
            && format!("{e:?}").contains("sequence number 3 after 5"),
        "{e:?}"
    );
    // The two before it are complete and returned; the port stopped the queue and
    // sets it up again for the next batch.
    assert_eq!(out.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 5]);
    out.clear();
    card.process(&reqs[..1], &mut out).unwrap();
    assert_eq!(out[0].verdict, Verdict::Ok);
    assert_eq!(card.port().stats().setups, 2);
}

/// The model shared with a thread that stands for the card's own clock.
struct Shared(Arc<std::sync::Mutex<ModelCard>>);

impl RegIo for Shared {
    fn read32(&mut self, offset: u32) -> Result<u32, crate::DriverError> {
        self.0.lock().unwrap().read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), crate::DriverError> {
        self.0.lock().unwrap().write32(offset, value)
    }
}

#[test]
fn the_port_sleeps_on_the_eventfd_and_the_cards_interrupt_wakes_it() {
    let mut m = ModelCard::new();
    let f = m.faults();
    let e = IrqEvent::new(0).unwrap();
    assert!(m.connect_irq(0, e.signaller().unwrap()));
    let cfg = DmaPortConfig {
        // A slice far longer than the card's latency, so the port's wait ends by
        // the interrupt (counted in `interrupts`), not by the slice running out.
        wait_slice: Duration::from_secs(5),
        completion_timeout: Duration::from_secs(20),
        ..port_cfg(4, true)
    };
    let port = DmaPort::new(m.host_memory(), cfg, Some(Box::new(e))).unwrap();
    let shared = Arc::new(std::sync::Mutex::new(m));
    let mut card =
        Card::probe_with_port(Shared(shared.clone()), port, CardConfig::default()).unwrap();
    let c = sa_cfg(0xb00, Transform::AesGcm128);
    let ix = card
        .install_sa(CardSa::from_config(&c, Direction::Outbound, 0))
        .unwrap()
        .0;
    f.dma_delay(Some(Duration::from_millis(3)));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (s2, stop2) = (shared.clone(), stop.clone());
    let clock = std::thread::spawn(move || {
        let status = queue_reg(0, qoff::Q_STATUS).unwrap();
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(Duration::from_micros(500));
            s2.lock().unwrap().read32(status).unwrap();
        }
    });
    let ps: Vec<Vec<u8>> = (0..3).map(|i| vec![i as u8; 200]).collect();
    let mut rx = InboundSa::new(&c).unwrap();
    for round in 0..3 {
        let reqs: Vec<PacketRequest<'_>> = ps
            .iter()
            .map(|p| PacketRequest::outbound(ix, proto::IPV4, p))
            .collect();
        let mut out = Vec::new();
        card.process(&reqs, &mut out).unwrap();
        for (r, p) in out.iter().zip(&ps) {
            let mut d = r.data.clone();
            let o = rx.open(&mut d).unwrap();
            assert_eq!(&d[o.payload], &p[..], "round {round}");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    clock.join().unwrap();
    let s = card.port().stats();
    assert!(s.interrupts >= 3, "{s:?}");
    assert!(shared.lock().unwrap().interrupts(0) >= 3);
}

#[test]
fn a_card_without_dma_is_refused_by_the_port() {
    let ident = crate::model::ModelIdentity {
        capabilities: regmap::CAPABILITIES - regmap::Capabilities::DMA,
        ..crate::model::ModelIdentity::default()
    };
    let m = ModelCard::with_identity(ident);
    let port = DmaPort::new(m.host_memory(), port_cfg(3, false), None).unwrap();
    let mut card = Card::probe_with_port(m, port, CardConfig::default()).unwrap();
    let mut out = Vec::new();
    let e = card
        .process(&[PacketRequest::outbound(0, 4, b"x")], &mut out)
        .unwrap_err();
    assert!(matches!(e, crate::DriverError::Capability(_)), "{e}");
    // The queue registers read 0 on such a card.
    assert_eq!(
        card.regs_mut()
            .read32(queue_reg(0, qoff::Q_STATUS).unwrap())
            .unwrap(),
        0
    );
}
