//! DMA conformance scenarios: what every card backend with DMA queues must do,
//! written once and run against each (the model card in this crate's tests, the
//! Verilated card in `sim`'s). Each scenario panics with the case that failed.
//!
//! A backend is a [`DmaBackend`]: registers, host memory through the in-process
//! IOMMU, and interrupt vectors wired to eventfds. Backends differ in time: the
//! model works at once when a doorbell is written, the simulated card in its own
//! clock thread; the scenarios therefore wait for the card (by reading its
//! registers, which also advances a simulated clock) and never assume it is done.
//!
//! Independent checks: results are opened or sealed by `esp` SAs built from the same
//! configuration, and records are decoded with `regmap::dma`'s own decoders; the
//! raw queue here programs the card by hand, without [`DmaQueue`](super::DmaQueue).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use esp::{proto, InboundSa, OutboundSa, SaConfig, SeqNum, Spi, Transform};
use regmap::dma::{
    cpl_offset, max_result_len, phase, ring_entries, slot, Completion, DescFlags, DmaDescriptor,
    BUF_ALIGN, CPL_BYTES, DESC_BYTES, D_FLAGS, IOVA_BITS,
};
use regmap::regs::{off, qoff, queue_reg};
use regmap::{QueueCtrl, QueueStatus, Verdict};

use super::{DmaMapper, DmaPort, DmaRegion, DmaWiring, HugePages, IovaTable, IrqEvent};
use crate::card::{Card, CardSa, SaIndex};
use crate::offload::{DataPath, OutPacket, SaId, SealedPacket};
use crate::port::{field, Direction, PacketPort, PacketRequest, PacketResult};
use crate::RegIo;
use crate::{HardReset, Offload, OffloadPolicy};

/// A card backend with DMA queues, as the scenarios drive it.
pub trait DmaBackend: DmaWiring {
    /// The card's time in moderation-timer microseconds.
    fn now_us(&self) -> u64;
}

impl DmaBackend for crate::model::ModelCard {
    fn now_us(&self) -> u64 {
        self.ticks()
    }
}

/// How long a scenario waits for the card before failing.
const PATIENCE: Duration = Duration::from_secs(60);

/// A deterministic generator (xorshift64*), so a failure replays.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// An SA configuration with a key derived from `spi` (distinct per SA).
pub fn sa_cfg(spi: u32, t: Transform) -> SaConfig {
    let key: Vec<u8> = (0..t.key_material_len() as u32)
        .map(|b| (b.wrapping_mul(31) ^ spi.wrapping_mul(7)) as u8)
        .collect();
    SaConfig::new(Spi(spi), t, &key).expect("a valid SA configuration")
}

/// Seals `p` with an independent software sender.
pub fn peer_seal(tx: &mut OutboundSa, p: &[u8], nh: u8) -> Vec<u8> {
    let mut b = vec![0u8; tx.datagram_len(p.len())];
    let s = tx.seal(p, nh, &mut b).expect("software seal");
    b.truncate(s.len);
    b
}

/// Seals `ps` on outbound SA `sa` as one batch through the offload layer; every
/// packet must get a datagram (on the card or in software).
pub fn seal_all<R: RegIo + HardReset, P: PacketPort<R>>(
    off: &mut Offload<R, P>,
    sa: SaId,
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
        .map(|r| r.expect("every packet sealed"))
        .collect()
}

/// Every datagram opens with an independent SA of `cfg` and carries its payload,
/// none is missing, and the numbers only go up (none sent twice, none reused).
pub fn check_on_wire(cfg: &SaConfig, sent: &[SealedPacket], ps: &[Vec<u8>]) {
    assert_eq!(sent.len(), ps.len(), "a packet was lost");
    let mut peer = InboundSa::new(cfg).expect("software SA");
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

/// A hang with a full ring in flight (`off`'s port: 8 entries): 4 packets on the
/// card, then `hang` stops the card and a batch of 20 fills the ring; the port's
/// completion timeout fences the card and software carries the rest with numbers
/// after every one handed to the card (each datagram checked by an independent SA);
/// `heal` ends the fault, recovery brings the SA back to the card and the numbers go
/// on. Returns the 24 datagrams for the backend's own checks.
pub fn hang_with_full_ring<R: RegIo + HardReset>(
    off: &mut Offload<R, DmaPort<IovaTable>>,
    hang: impl FnOnce(),
    heal: impl FnOnce(),
) -> Vec<SealedPacket> {
    let c = sa_cfg(0x600, Transform::AesGcm128);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    let ps: Vec<Vec<u8>> = (0..24).map(|i| vec![i as u8; 300 + 10 * i]).collect();
    let first = seal_all(off, sa, &ps[..4]);
    assert!(first.iter().all(|s| s.path == DataPath::Card));
    hang();
    let rest = seal_all(off, sa, &ps[4..]);
    let all: Vec<SealedPacket> = first.into_iter().chain(rest).collect();
    check_on_wire(&c, &all, &ps);
    assert_eq!(all.last().map(|s| s.path), Some(DataPath::Software));
    let k = off.counters();
    assert_eq!(k.card_faults, 1);
    assert!(off.fence().is_some());
    heal();
    assert_eq!(off.recover_card().unwrap(), 1);
    let more = seal_all(off, sa, &ps[..3]);
    assert!(
        more.iter().all(|s| s.path == DataPath::Card),
        "after recovery: {:?}, fence {:?}",
        more.iter().map(|s| s.path).collect::<Vec<_>>(),
        off.fence().map(|e| e.to_string())
    );
    let mut whole = all.clone();
    whole.extend(more);
    let mut pl = ps.clone();
    pl.extend_from_slice(&ps[..3]);
    check_on_wire(&c, &whole, &pl);
    let stats = off.card_mut().unwrap().port().stats();
    assert_eq!(stats.timeouts, 1);
    assert!(stats.setups >= 2);
    all
}

/// A card reset with a full ring in flight (`off`'s port: 8 entries): `inject`
/// schedules the reset within a batch of 20 on an SA with `policy`; every packet
/// comes out (on the card after a reload, or in software if the card was fenced),
/// nothing is lost or sent twice and no number is reused (each datagram opened by
/// an independent SA). Returns the datagrams; the caller checks where they ran.
pub fn reset_with_full_ring<R: RegIo + HardReset>(
    off: &mut Offload<R, DmaPort<IovaTable>>,
    policy: OffloadPolicy,
    inject: impl FnOnce(),
) -> Vec<SealedPacket> {
    let c = sa_cfg(0x700, Transform::AesGcm256);
    let sa = off.add_sa(&c, Direction::Outbound, policy).unwrap();
    let ps: Vec<Vec<u8>> = (0..20).map(|i| vec![i as u8; 200 + i]).collect();
    inject();
    let sent = seal_all(off, sa, &ps);
    check_on_wire(&c, &sent, &ps);
    sent
}

/// The strict outcome of [`reset_with_full_ring`] under `offload = card`: all on the
/// card, one reset seen and reloaded, no fault, no fence.
pub fn assert_reloaded_on_card<R: RegIo + HardReset>(
    off: &Offload<R, DmaPort<IovaTable>>,
    sent: &[SealedPacket],
) {
    assert!(sent.iter().all(|s| s.path == DataPath::Card));
    let k = off.counters();
    assert_eq!(k.card_resets, 1, "{k:?}");
    assert_eq!(k.card_faults, 0, "{k:?}");
    assert!(off.fence().is_none());
}

/// Queue 0 programmed by hand over one 1 MiB region: descriptor ring at 0,
/// completion ring at 4 KiB, 4 KiB buffers from 8 KiB.
#[derive(Debug)]
pub struct RawQueue {
    /// The region.
    pub region: Arc<DmaRegion>,
    /// Its IOVA.
    pub iova: u64,
    log2: u32,
    prod: u16,
}

const RAW_CPL: usize = 4096;
const RAW_BUF: usize = 8192;

fn qr(rel: u32) -> u32 {
    queue_reg(0, rel).expect("queue 0 register")
}

fn status<R: RegIo + ?Sized>(m: &mut R) -> QueueStatus {
    QueueStatus::from_bits_retain(m.read32(qr(qoff::Q_STATUS)).expect("Q_STATUS"))
}

impl RawQueue {
    /// Maps the region and enables queue 0 with `2^log2` entries, interrupts on
    /// vector 1 with `moderation` (an `IRQ_MODERATION` value).
    pub fn new<B: DmaBackend + ?Sized>(m: &mut B, log2: u32, moderation: u32) -> Self {
        let region = Arc::new(DmaRegion::new(1 << 20, HugePages::Never).expect("region"));
        let iova = m.host_memory().map(&region).expect("map");
        let w = |m: &mut B, rel, v| m.write32(qr(rel), v).expect("queue register write");
        w(m, qoff::Q_CTRL, QueueCtrl::RESET.bits());
        m.write64(qr(qoff::DQ_BASE_LO), iova).expect("DQ_BASE");
        w(m, qoff::DQ_LOG2_SIZE, log2);
        m.write64(qr(qoff::CQ_BASE_LO), iova + RAW_CPL as u64)
            .expect("CQ_BASE");
        w(m, qoff::CQ_LOG2_SIZE, log2);
        w(
            m,
            qoff::IRQ_VECTOR,
            field("IRQ_VECTOR", "ENABLE").put(1) | field("IRQ_VECTOR", "VECTOR").put(1),
        );
        w(m, qoff::IRQ_MODERATION, moderation);
        w(m, qoff::Q_CTRL, QueueCtrl::ENABLE.bits());
        let st = status(m);
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

    /// IOVA of buffer `k`.
    pub fn buf(&self, k: usize) -> u64 {
        self.iova + (RAW_BUF + k * 4096) as u64
    }

    /// Writes `d` at the producer index and advances it (no doorbell).
    pub fn post(&mut self, d: &[u8; DESC_BYTES]) {
        let at = slot(self.prod, self.log2) as usize * DESC_BYTES;
        self.region.write(at, d).expect("descriptor write");
        self.prod = self.prod.wrapping_add(1);
    }

    /// Rings the doorbell and waits until the card has completed everything posted.
    pub fn ring<R: RegIo + ?Sized>(&self, m: &mut R) {
        m.write32(qr(qoff::DQ_PROD), self.prod.into())
            .expect("DQ_PROD");
        let t0 = Instant::now();
        while m.read32(qr(qoff::CQ_PROD)).expect("CQ_PROD") != u32::from(self.prod) {
            let st = status(m);
            assert!(!st.contains(QueueStatus::FAULT), "queue fault {st:?}");
            assert!(t0.elapsed() < PATIENCE, "completions did not arrive");
        }
    }

    /// The completion record at `index`.
    pub fn cpl(&self, index: u16) -> [u8; CPL_BYTES] {
        let mut rec = [0u8; CPL_BYTES];
        let at = RAW_CPL + slot(index, self.log2) as usize * CPL_BYTES;
        self.region.read(at, &mut rec).expect("completion read");
        rec
    }
}

/// Waits (reading `Q_STATUS`) until the queue shows `want` or faults.
fn wait_status<R: RegIo + ?Sized>(m: &mut R, want: impl Fn(QueueStatus) -> bool) -> QueueStatus {
    let t0 = Instant::now();
    loop {
        let st = status(m);
        if want(st) {
            return st;
        }
        assert!(t0.elapsed() < PATIENCE, "queue status stays {st:?}");
    }
}

/// Every descriptor error of issue 14 (length 0 or too long, SA index out of
/// range, unaligned buffer or result, out of bounds, too little result space,
/// reserved bits, unknown flags, unmapped buffer or result) completes with its
/// verdict and is counted, the engine's own refusals pass through, the good
/// descriptor behind them is processed, and the queue goes on. Then the queue
/// faults: an unmapped ring (`DescFetch`), an index too far ahead (`BadIndex`), a
/// bad ring size (`BadRing`). `card` must have SA index 77 free.
pub fn descriptor_errors<B: DmaBackend, P: PacketPort<B>>(card: &mut Card<B, P>) {
    let c = sa_cfg(0x200, Transform::AesGcm256);
    let out_ix = card
        .install_sa(CardSa::from_config(&c, Direction::Outbound, 0))
        .expect("install");
    let m = card.regs_mut();
    let mut q = RawQueue::new(m, 5, 1);
    let payload = b"payload for the DMA front end".to_vec();
    q.region.write(RAW_BUF, &payload).expect("payload");
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
    assert_eq!(m.read32(qr(qoff::DQ_CONS)).unwrap(), cases.len() as u32);
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
            assert_eq!(c.result_len, 0, "case {i}");
        }
    }
    // The front end's bad descriptors count in Q_BAD_DESC, the engine's refusals in
    // CNT_BAD_DESC. A bus error is neither.
    let front = cases
        .iter()
        .filter(|(_, v)| v.is_dma() && v.is_bad_descriptor())
        .count() as u32;
    assert_eq!(front, 9);
    assert_eq!(m.read32(qr(qoff::Q_BAD_DESC)).unwrap(), front);
    assert_eq!(m.read64(off::CNT_BAD_DESC_LO).unwrap(), 2);
    let st = status(m);
    assert!(st.contains(QueueStatus::ENABLED) && !st.contains(QueueStatus::FAULT));
    // An unmapped descriptor ring is a queue fault (DescFetch), not a completion.
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::RESET.bits())
        .unwrap();
    m.write64(qr(qoff::DQ_BASE_LO), unmapped).unwrap();
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::ENABLE.bits())
        .unwrap();
    m.write32(qr(qoff::DQ_PROD), 1).unwrap();
    let st = wait_status(m, |s| s.contains(QueueStatus::FAULT));
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
    let st = wait_status(m, |s| s.contains(QueueStatus::FAULT));
    assert_eq!(st.fault(), Some(regmap::QueueFault::BadIndex));
    // A ring size outside the allowed range is BadRing at enable.
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::RESET.bits())
        .unwrap();
    m.write32(qr(qoff::DQ_LOG2_SIZE), 1).unwrap();
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::ENABLE.bits())
        .unwrap();
    let st = wait_status(m, |s| s.contains(QueueStatus::FAULT));
    assert_eq!(st.fault(), Some(regmap::QueueFault::BadRing));
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::RESET.bits())
        .unwrap();
}

/// Reads `Q_STATUS` `n` times (time passes on a simulated card).
fn idle<R: RegIo + ?Sized>(m: &mut R, n: u32) {
    for _ in 0..n {
        status(m);
    }
}

/// Interrupt moderation: nothing while not armed; arming with enough pending fires
/// once; the packet count; the microsecond timer (not before `USECS`, and soon
/// after); `IRQ_NOW`; a disabled vector never fires. `timer_us` is the timer to
/// program (a backend whose time runs slower than its register accesses picks a
/// small one). `card` must have an outbound SA free to install.
pub fn interrupt_moderation<B: DmaBackend, P: PacketPort<B>>(card: &mut Card<B, P>, timer_us: u32) {
    let c = sa_cfg(0x300, Transform::AesGcm128);
    let ix = card
        .install_sa(CardSa::from_config(&c, Direction::Outbound, 0))
        .unwrap();
    let m = card.regs_mut();
    let irq = IrqEvent::new(1).unwrap();
    assert!(m.connect_irq(1, irq.signaller().unwrap()));
    assert!(!m.connect_irq(regmap::dma::NUM_VECTORS, irq.signaller().unwrap()));
    let pkts = field("IRQ_MODERATION", "PKTS");
    let usecs = field("IRQ_MODERATION", "USECS");
    let mut q = RawQueue::new(m, 4, pkts.put(4) | usecs.put(timer_us));
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
    // Register reads between looks: fewer than the timer's microseconds on a card
    // whose clock is its register accesses.
    let settle = (timer_us / 5).max(1);
    let expect = |m: &mut B, n: u64, what: &str| {
        if n == 0 {
            idle(m, settle);
            assert_eq!(irq.take().unwrap(), 0, "{what}");
        } else {
            assert_eq!(irq.wait(PATIENCE).unwrap(), n, "{what}");
            idle(m, settle);
            assert_eq!(irq.take().unwrap(), 0, "{what}: more than {n}");
        }
    };
    let cons = qr(qoff::CQ_CONS);
    let arm = field("CQ_CONS", "ARM").put(1);
    for _ in 0..5 {
        q.post(&desc(DescFlags::empty()));
    }
    q.ring(m);
    expect(m, 0, "not armed");
    m.write32(cons, arm).unwrap();
    expect(m, 1, "armed with 5 pending (count 4)");
    m.write32(cons, 5 | arm).unwrap();
    for _ in 0..3 {
        q.post(&desc(DescFlags::empty()));
    }
    q.ring(m);
    expect(m, 0, "3 pending, below the count");
    q.post(&desc(DescFlags::empty()));
    q.ring(m);
    expect(m, 1, "the fourth reaches the count");
    // Timer: one completion, re-armed; nothing until the timer has run.
    m.write32(cons, 9 | arm).unwrap();
    q.post(&desc(DescFlags::empty()));
    let t0 = m.now_us();
    q.ring(m);
    let t_done = m.now_us();
    let deadline = Instant::now() + PATIENCE;
    let fired = loop {
        status(m);
        if irq.take().unwrap() > 0 {
            break m.now_us();
        }
        assert!(Instant::now() < deadline, "the timer did not fire");
    };
    assert!(
        fired >= t0 + u64::from(timer_us),
        "timer fired early: at {fired} us, completion by {t_done} us, timer {timer_us} us"
    );
    assert!(
        fired <= t_done + u64::from(timer_us) + 2,
        "timer fired late: at {fired} us, completion by {t_done} us, timer {timer_us} us"
    );
    // IRQ_NOW: one completion, below the count and before the timer.
    m.write32(cons, 10 | arm).unwrap();
    q.post(&desc(DescFlags::IRQ_NOW));
    q.ring(m);
    expect(m, 1, "IRQ_NOW");
    // Disabled vector: never.
    m.write32(cons, 11 | arm).unwrap();
    m.write32(qr(qoff::IRQ_VECTOR), 1).unwrap();
    q.post(&desc(DescFlags::IRQ_NOW));
    q.ring(m);
    expect(m, 0, "disabled vector");
    m.write32(qr(qoff::Q_CTRL), QueueCtrl::RESET.bits())
        .unwrap();
}

/// Rings of `2^ring_log2` entries wrap for many laps (and the 16-bit indices past
/// `total` > 65,536 wrap too): every packet's sequence number and bytes are right,
/// and every record still in the completion ring carries its lap's phase bit.
pub fn rings_wrap<B: DmaBackend>(card: &mut Card<B, DmaPort<IovaTable>>, total: u64) {
    let c = sa_cfg(0x400, Transform::AesGmac128);
    let ix = card
        .install_sa(CardSa::from_config(&c, Direction::Outbound, 0))
        .unwrap()
        .0;
    let mut rx = InboundSa::new(&c).unwrap();
    let mut rng = Rng(0x1234_5678);
    let log2 = card.port().queue().unwrap().config().ring_log2;
    let entries = u64::from(ring_entries(log2));
    let mut done = 0u64;
    let mut out = Vec::new();
    while done < total {
        // Up to almost 3 rings per batch.
        let n = 1 + rng.below(3 * entries - 1) as usize;
        let ps: Vec<Vec<u8>> = (0..n)
            .map(|_| vec![rng.next_u64() as u8; 1 + rng.below(24) as usize])
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
        if done > entries {
            let q = card.port().queue().unwrap();
            let cpl_at = q.completion_ring_offset();
            for back in 1..=entries {
                let index = (done - back) as u16;
                let mut rec = [0u8; CPL_BYTES];
                let at = cpl_at + cpl_offset(index, log2) as usize;
                q.region().read(at, &mut rec).unwrap();
                let cpl = Completion::decode(&rec).unwrap();
                assert_eq!(cpl.desc_index, index);
                assert_eq!(cpl.phase, phase(index, log2));
            }
        }
    }
    let stats = card.port().stats();
    assert!(stats.packets >= done);
    assert!(stats.doorbells >= done / entries);
}

/// A batch of 30 on a ring of 4 (`card`'s port must have `ring_log2` 2) waits for
/// room, loses nothing and keeps the order. The backend must be slow enough (or made
/// so) that the ring fills.
pub fn full_ring_back_pressure<B: DmaBackend>(card: &mut Card<B, DmaPort<IovaTable>>) {
    assert_eq!(card.port().queue().unwrap().entries(), 4);
    let c = sa_cfg(0x500, Transform::AesGcm128);
    let ix = card
        .install_sa(CardSa::from_config(&c, Direction::Outbound, 0))
        .unwrap()
        .0;
    let ps: Vec<Vec<u8>> = (0..30).map(|i| vec![i as u8; 10 + i]).collect();
    let reqs: Vec<PacketRequest<'_>> = ps
        .iter()
        .map(|p| PacketRequest::outbound(ix, proto::TCP, p))
        .collect();
    let before = card.port().stats();
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
    assert!(s.ring_full_waits > before.ring_full_waits, "{s:?}");
    assert!(s.doorbells - before.doorbells >= 30 / 4, "{s:?}");
}

/// What [`random_traffic`] counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficCount {
    /// Packets in all.
    pub total: usize,
    /// Of which inbound.
    pub inbound: usize,
}

/// `total` random packets in random batches (1..=64) of mixed sizes (1 to 2,000
/// bytes), over 12 SA pairs of the four transforms (a third with ESN), in both
/// directions, each result checked byte for byte against independent `esp` SAs:
/// the card's outbound datagrams open in software with the expected sequence
/// numbers, and the card opens what software sealed.
pub fn random_traffic<B: DmaBackend>(
    card: &mut Card<B, DmaPort<IovaTable>>,
    total: usize,
    seed: u64,
) -> TrafficCount {
    let transforms = [
        Transform::AesGcm128,
        Transform::AesGcm256,
        Transform::AesGmac128,
        Transform::AesGmac256,
    ];
    // The card seals with `out`, the software peer opens (`rx`); the peer seals
    // (`tx`), the card opens with `inb`.
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
            cfg.esn = k % 3 == 0;
            let out = card
                .install_sa(CardSa::from_config(&cfg, Direction::Outbound, 0))
                .unwrap()
                .0;
            let inb = card
                .install_sa(CardSa::from_config(&cfg, Direction::Inbound, 0))
                .unwrap()
                .0;
            Pair {
                out,
                inb,
                rx: InboundSa::new(&cfg).unwrap(),
                tx: OutboundSa::new(&cfg).unwrap(),
                sent: 0,
            }
        })
        .collect();
    let mut rng = Rng(seed);
    let mut done = 0;
    let mut inbound = 0;
    let mut by_sa: HashMap<u16, u64> = HashMap::new();
    while done < total {
        let n = (1 + rng.below(64) as usize).min(total - done);
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
            let p: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
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
        done += batch.len();
    }
    assert_eq!(by_sa.len(), 12);
    for p in &pairs {
        let rb = card.read_sa(SaIndex(p.out)).unwrap();
        assert_eq!(rb.seq, p.sent, "SA {} counter", p.out);
    }
    TrafficCount {
        total: done,
        inbound,
    }
}

/// What [`lanes_in_parallel`] saw.
#[derive(Debug, Clone, Default)]
pub struct LaneRun {
    /// The engine's counters at the end.
    pub counters: crate::offload::OffloadCounters,
    /// Each lane's port counters.
    pub lanes: Vec<super::DmaPortStats>,
    /// Outbound packets sealed on the card / in software.
    pub on_card: usize,
    /// Outbound packets sealed in software.
    pub in_software: usize,
}

/// Several workers at once, each on its own lane (queue pairs `1..=workers`; the
/// engine's own port holds queue 0): every worker seals `per_worker` packets of
/// random sizes in batches of 1 to 16 over the same 4 outbound SAs (policy `auto`),
/// so the card numbers one SA's packets from several queues at once, and opens the
/// datagrams an independent software peer sent on the worker's own inbound SA (one
/// owner per inbound SA, as in the daemon). `fault`, if any, runs in worker 0 after
/// its first quarter (a hang, a reset).
///
/// Checks: every packet has exactly one result and none is lost; per outbound SA no
/// number is used twice, on the card or in software; every datagram opens with an
/// independent `esp` SA to its payload; every inbound payload is the peer's.
/// Without a fault each SA's numbers are exactly 1..=n (with one, the numbers the
/// card may have used for requests it never answered are skipped).
pub fn lanes_in_parallel<R>(
    regs: R,
    workers: u32,
    per_worker: usize,
    port_cfg: super::DmaPortConfig,
    fault: Option<Box<dyn FnOnce() + Send>>,
) -> LaneRun
where
    R: DmaWiring + Clone + Send + 'static,
{
    use crate::offload::{InPacket, Lane, OffloadConfig};
    use std::sync::Mutex;

    let mut own = port_cfg;
    own.queue.queue = 0;
    own.queue.irq_vector = None;
    let port = DmaPort::new(regs.host_memory(), own, None).expect("engine port");
    let cfg = crate::CardConfig {
        poll_limit: 100_000,
    };
    let card = Card::probe_with_port(regs.clone(), port, cfg).expect("probe");
    let off = Offload::new(
        Some(card),
        OffloadConfig {
            verify_every: 7,
            ..OffloadConfig::default()
        },
    );
    let engine = Arc::new(Mutex::new(off));
    let out_cfgs: Vec<SaConfig> = (0..4)
        .map(|i| sa_cfg(0x5100 + i, Transform::AesGcm128))
        .collect();
    let in_cfgs: Vec<SaConfig> = (0..workers)
        .map(|i| sa_cfg(0x5200 + i, Transform::AesGcm256))
        .collect();
    let (out_ids, in_ids): (Vec<SaId>, Vec<SaId>) = {
        let mut e = engine.lock().expect("engine");
        let o = out_cfgs
            .iter()
            .map(|c| {
                e.add_sa(c, Direction::Outbound, OffloadPolicy::Auto)
                    .expect("add")
            })
            .collect();
        let i = in_cfgs
            .iter()
            .map(|c| {
                e.add_sa(c, Direction::Inbound, OffloadPolicy::Auto)
                    .expect("add")
            })
            .collect();
        (o, i)
    };
    let faulted = fault.is_some();
    let mut fault = fault;
    let mut handles = Vec::new();
    for w in 0..workers {
        let mut lane = Lane::open(&regs, w + 1, port_cfg, 100_000).expect("lane");
        let engine = engine.clone();
        let out_ids = out_ids.clone();
        let in_id = in_ids[w as usize];
        let in_cfg = in_cfgs[w as usize].clone();
        let fault = if w == 0 { fault.take() } else { None };
        handles.push(std::thread::spawn(move || {
            let mut rng = Rng(0x1a7e_0000 + u64::from(w));
            let mut peer = OutboundSa::new(&in_cfg).expect("peer");
            let mut fault = fault;
            // (sa index, payload, result) of every outbound packet
            let mut sealed: Vec<(usize, Vec<u8>, SealedPacket)> = Vec::new();
            let mut done = 0;
            while done < per_worker {
                if done >= per_worker / 4 {
                    if let Some(f) = fault.take() {
                        f();
                    }
                }
                let n = (1 + rng.below(16) as usize).min(per_worker - done);
                let batch: Vec<(usize, Vec<u8>)> = (0..n)
                    .map(|_| {
                        let sa = rng.below(out_ids.len() as u64) as usize;
                        let len = 1 + rng.below(1400) as usize;
                        let p: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                        (sa, p)
                    })
                    .collect();
                let pkts: Vec<OutPacket<'_>> = batch
                    .iter()
                    .map(|(sa, p)| OutPacket {
                        sa: out_ids[*sa],
                        payload: p,
                        next_header: proto::IPV4,
                    })
                    .collect();
                let res = Offload::seal_batch_on(&engine, &mut lane, &pkts);
                assert_eq!(res.len(), n, "one result per packet");
                for ((sa, p), r) in batch.into_iter().zip(res) {
                    let s = r.unwrap_or_else(|e| panic!("worker {w}: seal failed: {e}"));
                    sealed.push((sa, p, s));
                }
                // and the worker's own inbound SA: a batch from the peer
                let payloads: Vec<Vec<u8>> = (0..n)
                    .map(|_| {
                        let len = 1 + rng.below(1400) as usize;
                        (0..len).map(|_| rng.next_u64() as u8).collect()
                    })
                    .collect();
                let dgrams: Vec<Vec<u8>> = payloads
                    .iter()
                    .map(|p| peer_seal(&mut peer, p, proto::IPV6))
                    .collect();
                let pkts: Vec<InPacket<'_>> = dgrams
                    .iter()
                    .map(|d| InPacket {
                        sa: in_id,
                        datagram: d,
                    })
                    .collect();
                let res = Offload::open_batch_on(&engine, &mut lane, &pkts);
                assert_eq!(res.len(), n, "one result per datagram");
                for (p, r) in payloads.iter().zip(res) {
                    let o = r.unwrap_or_else(|e| panic!("worker {w}: open failed: {e}"));
                    assert_eq!(&o.payload, p, "worker {w}: inbound payload");
                    assert_eq!(o.next_header, proto::IPV6);
                }
                done += n;
            }
            (sealed, lane.stats())
        }));
    }
    let mut per_sa: Vec<Vec<(Vec<u8>, SealedPacket)>> = vec![Vec::new(); out_cfgs.len()];
    let mut run = LaneRun::default();
    for h in handles {
        let (sealed, stats) = h.join().expect("worker");
        run.lanes.push(stats);
        for (sa, p, s) in sealed {
            match s.path {
                DataPath::Card => run.on_card += 1,
                DataPath::Software => run.in_software += 1,
            }
            per_sa[sa].push((p, s));
        }
    }
    assert_eq!(
        run.on_card + run.in_software,
        per_worker * workers as usize,
        "a packet was lost"
    );
    for (cfg, mut got) in out_cfgs.iter().zip(per_sa) {
        got.sort_by_key(|(_, s)| s.seq);
        for pair in got.windows(2) {
            assert!(
                pair[0].1.seq < pair[1].1.seq,
                "SPI {:#x}: number {} used twice",
                cfg.spi.0,
                pair[1].1.seq
            );
        }
        if !faulted {
            let seqs: Vec<u64> = got.iter().map(|(_, s)| s.seq).collect();
            let want: Vec<u64> = (1..=got.len() as u64).collect();
            assert_eq!(seqs, want, "SPI {:#x}: the card's numbers", cfg.spi.0);
        }
        let (ps, sent): (Vec<Vec<u8>>, Vec<SealedPacket>) = got.into_iter().unzip();
        check_on_wire(cfg, &sent, &ps);
    }
    run.counters = engine.lock().expect("engine").counters();
    run
}

pub use super::counting::{allocations, uncounted, CountingAlloc};
