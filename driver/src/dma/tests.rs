//! The DMA path against the model card: descriptor verdicts, ring wrap-around,
//! back-pressure, interrupt moderation, faults with a full ring in flight, and
//! random traffic checked against independent `esp` SAs.

use std::sync::Arc;
use std::time::Duration;

use esp::{proto, InboundSa, SaConfig, Transform};
use regmap::dma::DescFlags;
use regmap::regs::{qoff, queue_reg};
use regmap::Verdict;

use super::conformance::{self, check_on_wire, sa_cfg, seal_all};
use super::*;
use crate::card::{Card, CardConfig, CardSa, SaIndex};
use crate::model::{FaultHandle, ModelCard};
use crate::offload::{DataPath, OffloadConfig};
use crate::port::{Direction, PacketRequest};
use crate::{Offload, OffloadPolicy, RegIo};

type DmaCard = Card<ModelCard, DmaPort<IovaTable>>;

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

#[test]
fn every_descriptor_error_is_completed_with_its_verdict_and_counted_and_the_queue_goes_on() {
    let mut card = Card::probe(ModelCard::new(), CardConfig::default()).unwrap();
    conformance::descriptor_errors(&mut card);
}

#[test]
fn interrupt_moderation_by_count_timer_and_irq_now() {
    // Model time is one microsecond per register access.
    let mut card = Card::probe(ModelCard::new(), CardConfig::default()).unwrap();
    conformance::interrupt_moderation(&mut card, 50);
}

#[test]
fn rings_wrap_for_many_laps_and_past_the_16_bit_index_with_the_phase_bit() {
    let (mut card, _f) = dma_card(2, false);
    conformance::rings_wrap(&mut card, 66_000);
}

#[test]
fn a_full_ring_holds_the_rest_of_the_batch_back_without_loss() {
    for irq in [false, true] {
        let (mut card, f) = dma_card(2, irq);
        // A slow engine: results come one register access at a time, so the
        // driver finds the 4-entry ring full and waits for completions.
        f.dma_lag(true);
        conformance::full_ring_back_pressure(&mut card);
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

#[test]
fn a_hang_with_a_full_ring_in_flight_fences_and_software_continues_the_numbers() {
    for irq in [false, true] {
        let (mut off, f) = offload_dma(irq, 3);
        // The engine hangs at the 3rd packet of the batch that fills the ring; the
        // highest number the card used is read before it is healed.
        let highest = std::cell::Cell::new(0);
        let all = conformance::hang_with_full_ring(
            &mut off,
            || f.hang_after(2),
            || {
                highest.set(f.highest_seq(0x600));
                f.heal()
            },
        );
        let paths: Vec<DataPath> = all.iter().map(|s| s.path).collect();
        assert_eq!(&paths[..6], &[DataPath::Card; 6]);
        assert!(paths[6..].iter().all(|&p| p == DataPath::Software));
        // Software continued after every number the card may have used: the ring
        // was handed the whole batch.
        assert_eq!(highest.get(), 7, "the hung packet used a number");
        assert_eq!(
            all[6].seq,
            4 + 20 + 1,
            "numbers of all 20 handed over skipped"
        );
        assert_eq!(off.counters().redone_in_software, 18);
    }
}

#[test]
fn a_reset_with_a_full_ring_in_flight_reloads_requeues_and_loses_nothing() {
    for irq in [false, true] {
        let (mut off, f) = offload_dma(irq, 3);
        // The card resets after 5 packets of the 20-packet batch.
        let sent =
            conformance::reset_with_full_ring(&mut off, OffloadPolicy::Card, || f.reset_after(5));
        conformance::assert_reloaded_on_card(&off, &sent);
        // The 5 before the reset, then the retry after the 3 lost in the ring (they
        // may have used numbers 6..8 on the card: never reused).
        let seqs: Vec<u64> = sent.iter().map(|s| s.seq).collect();
        assert_eq!(&seqs[..5], &[1, 2, 3, 4, 5]);
        assert!(seqs[5] > 5 + 3, "{seqs:?}");
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
    let n = conformance::random_traffic(&mut card, 10_000, 0x0bad_5eed);
    assert!(n.inbound > 4000 && n.total - n.inbound > 4000, "{n:?}");
    let s = card.port().stats();
    assert_eq!(s.packets as usize, n.total);
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
        e.to_string().contains("sequence rule")
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
