//! The DMA path of the generated core under Verilator, driven by the driver's own
//! code: its `DmaPort` maps rings and buffers into the IOMMU the simulated card's
//! bus master reads and writes through the host-memory model (500 ns latency,
//! PCIe Gen3 x8), and interrupts reach it on eventfds.
//!
//! The scenarios are `driver::dma::conformance`'s, the same the model card passes:
//! every descriptor error, interrupt moderation, ring wrap-around, full-ring
//! back-pressure, 10,000 random packets checked against `esp`. The faults are this
//! backend's own: the card's bus hangs with a full ring in flight (fenced, carried
//! on in software with the numbers continuing), and the card resets with a full ring
//! in flight (reloaded, redone, nothing lost or sent twice).

use std::time::Duration;

use driver::dma::conformance::{self, DmaBackend};
use driver::dma::{DmaPortConfig, DmaWiring, IovaTable, IrqEvent, IrqSignal, IrqWait, QueueConfig};
use driver::offload::{DataPath, OffloadConfig};
use driver::{Card, CardConfig, DmaPort, DriverError, HardReset, Offload, OffloadPolicy, RegIo};
use sim::card::SimFaultHandle;
use sim::SimCard;

/// The simulated card as a conformance backend.
struct Sim(SimCard);

impl RegIo for Sim {
    fn read32(&mut self, offset: u32) -> Result<u32, DriverError> {
        self.0.read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
        self.0.write32(offset, value)
    }
}

impl HardReset for Sim {
    fn hard_reset(&mut self) -> Result<(), DriverError> {
        self.0.hard_reset()
    }
}

impl DmaWiring for Sim {
    fn host_memory(&self) -> IovaTable {
        self.0.host_memory()
    }
    fn connect_irq(&mut self, vector: u32, signal: IrqSignal) -> bool {
        self.0.connect_irq(vector, signal)
    }
}

impl DmaBackend for Sim {
    fn now_us(&self) -> u64 {
        self.0.now_us()
    }
}

type DmaCard = Card<Sim, DmaPort<IovaTable>>;

fn sim() -> Sim {
    Sim(SimCard::new().expect("create the Verilated model"))
}

/// A card with a DMA port on queue 0 (`2^ring_log2` entries; interrupts on vector
/// 0 when `irq`, else polling).
fn dma_card(ring_log2: u32, irq: bool) -> (DmaCard, SimFaultHandle) {
    let mut s = sim();
    let f = s.0.faults();
    let cfg = DmaPortConfig {
        queue: QueueConfig {
            ring_log2,
            irq_vector: irq.then_some(0),
            max_packet: 2048,
            ..QueueConfig::default()
        },
        wait_slice: Duration::from_millis(1),
        // The simulated card runs some hundred thousand cycles a second.
        completion_timeout: Duration::from_secs(3),
    };
    let wait: Option<Box<dyn IrqWait + Send>> = if irq {
        let e = IrqEvent::new(0).unwrap();
        assert!(s.connect_irq(0, e.signaller().unwrap()));
        Some(Box::new(e))
    } else {
        None
    };
    let port = DmaPort::new(s.host_memory(), cfg, wait).unwrap();
    let card = Card::probe_with_port(
        s,
        port,
        CardConfig {
            poll_limit: 1_000_000,
        },
    )
    .unwrap();
    (card, f)
}

#[test]
fn every_descriptor_error_is_completed_with_its_verdict_and_counted_and_the_queue_goes_on() {
    let mut card = Card::probe(sim(), CardConfig::default()).unwrap();
    conformance::descriptor_errors(&mut card);
}

#[test]
fn interrupt_moderation_by_count_timer_and_irq_now() {
    let mut card = Card::probe(sim(), CardConfig::default()).unwrap();
    // 20 µs: 5,000 cycles of the core clock.
    conformance::interrupt_moderation(&mut card, 20);
}

#[test]
fn rings_of_four_wrap_for_hundreds_of_laps_with_the_phase_bit() {
    let (mut card, _f) = dma_card(2, true);
    conformance::rings_wrap(&mut card, 2_000);
}

#[test]
fn a_full_ring_holds_the_rest_of_the_batch_back_without_loss() {
    for irq in [false, true] {
        let (mut card, _f) = dma_card(2, irq);
        conformance::full_ring_back_pressure(&mut card);
    }
}

#[test]
fn ten_thousand_random_packets_of_mixed_sizes_sas_and_directions_match_esp() {
    let (mut card, _f) = dma_card(5, true);
    let n = conformance::random_traffic(&mut card, 10_000, 0x5eed_0fd3);
    assert!(n.inbound > 4000 && n.total - n.inbound > 4000, "{n:?}");
    let s = card.port().stats();
    assert_eq!(s.packets as usize, n.total);
    assert_eq!(s.timeouts, 0);
    assert!(s.interrupts > 0, "{s:?}");
}

fn offload(irq: bool, ring_log2: u32) -> (Offload<Sim, DmaPort<IovaTable>>, SimFaultHandle) {
    let (card, f) = dma_card(ring_log2, irq);
    let cfg = OffloadConfig {
        verify_every: 1,
        ..OffloadConfig::default()
    };
    (Offload::new(Some(card), cfg), f)
}

#[test]
fn a_bus_hang_with_a_full_ring_in_flight_fences_and_software_continues_the_numbers() {
    let (mut off, f) = offload(true, 3);
    // Host memory stops answering: the batch after the first 4 packets fills the
    // ring and nothing completes.
    let all = conformance::hang_with_full_ring(&mut off, || f.hang_bus(), || f.heal());
    assert!(all[4..].iter().all(|s| s.path == DataPath::Software));
    // Software numbered after every number handed to the card's ring.
    assert!(all[4].seq > 4 + 8, "{}", all[4].seq);
}

#[test]
fn a_card_reset_with_a_full_ring_in_flight_loses_nothing_and_reuses_no_number() {
    for irq in [false, true] {
        let (mut off, f) = offload(irq, 3);
        // The core resets after 10 write bursts (about 4 packets: result and
        // completion each) of the 20-packet batch. Under `auto` every packet comes
        // out, on the card after a reload or in software after a fence (see the
        // ignored test below for why the card may be fenced).
        let sent = conformance::reset_with_full_ring(&mut off, OffloadPolicy::Auto, || {
            f.reset_after_writes(10)
        });
        assert_eq!(f.resets(), 1);
        assert_eq!(off.counters().card_resets, 1, "{:?}", off.counters());
        assert_eq!(sent.len(), 20);
    }
}

/// The strict outcome (reloaded and carried on by the card; see the reset-point
/// sweep below for the defect this once showed, 1 run in about 4).
#[test]
fn a_card_reset_with_a_full_ring_in_flight_is_reloaded_and_carried_on_by_the_card() {
    for irq in [false, true] {
        let (mut off, f) = offload(irq, 3);
        let sent = conformance::reset_with_full_ring(&mut off, OffloadPolicy::Card, || {
            f.reset_after_writes(10)
        });
        conformance::assert_reloaded_on_card(&off, &sent);
    }
}

fn lane_cfg() -> DmaPortConfig {
    DmaPortConfig {
        queue: QueueConfig {
            ring_log2: 5,
            ..QueueConfig::default()
        },
        // the Verilated core runs some hundred thousand cycles a second
        completion_timeout: Duration::from_secs(5),
        ..DmaPortConfig::default()
    }
}

#[test]
fn three_workers_on_their_own_queue_pairs_share_sas_with_every_number_once() {
    let regs = driver::SharedRegs::new(SimCard::new().expect("create the Verilated model"));
    let run = conformance::lanes_in_parallel(regs, 3, 120, lane_cfg(), None);
    assert_eq!(run.in_software, 0, "{run:?}");
    assert_eq!(run.counters.card_faults, 0, "{run:?}");
    assert!(run.lanes.iter().all(|s| s.packets >= 240), "{run:?}");
}

#[test]
fn a_bus_hang_while_three_lanes_are_busy_moves_the_rest_to_software_with_no_number_twice() {
    let card = SimCard::new().expect("create the Verilated model");
    let f = card.faults();
    let mut cfg = lane_cfg();
    cfg.completion_timeout = Duration::from_millis(500);
    let run = conformance::lanes_in_parallel(
        driver::SharedRegs::new(card),
        3,
        80,
        cfg,
        Some(Box::new(move || f.hang_bus())),
    );
    assert!(run.in_software > 0, "{run:?}");
    assert_eq!(run.counters.card_faults, 1, "{run:?}");
    assert_eq!(run.counters.card_seq_violations, 0, "{run:?}");
}

/// The core resets after `n` write bursts of a 20-packet DMA batch (n = 1..=40, so
/// the reset lands at every stage of the batch); the driver reloads and sends 5
/// packets again, by DMA (`mmio` false) or through the MMIO window. Returns, for each
/// result that differs from `esp`'s datagram at its number, (n, packet, number, first
/// differing byte).
fn results_after_resets(mmio: bool) -> Vec<(u64, usize, u64, Option<usize>)> {
    use driver::{CardSa, PacketPort, PacketRequest};
    use esp::OutboundSa;
    let mut bad = Vec::new();
    for n in 1..=40u64 {
        let (mut card, f) = dma_card(3, false);
        let c = conformance::sa_cfg(0x700, esp::Transform::AesGcm256);
        let ix = card
            .install_sa(CardSa::from_config(&c, driver::Direction::Outbound, 0))
            .unwrap();
        let ps: Vec<Vec<u8>> = (0..20).map(|i| vec![i as u8; 200 + i]).collect();
        let reqs: Vec<PacketRequest<'_>> = ps
            .iter()
            .map(|p| PacketRequest::outbound(ix.0, 4, p))
            .collect();
        f.reset_after_writes(n);
        let mut out = Vec::new();
        assert!(card.process(&reqs, &mut out).is_err(), "n={n}: no fault");
        assert!(card.recover().unwrap(), "n={n}: no reset seen");
        let mut again = Vec::new();
        if mmio {
            driver::MmioWindowPort
                .process(card.regs_mut(), &reqs[..5], &mut again, 1_000_000)
                .unwrap();
        } else {
            card.process(&reqs[..5], &mut again).unwrap();
        }
        assert_eq!(again.len(), 5);
        let mut sw = OutboundSa::new(&c).unwrap();
        for (k, res) in again.iter().enumerate() {
            sw.set_next_seq(esp::SeqNum(res.seq)).unwrap();
            let mut want = vec![0u8; sw.datagram_len(ps[k].len())];
            let s = sw.seal(&ps[k], 4, &mut want).unwrap();
            want.truncate(s.len);
            if want != res.data {
                let first = want.iter().zip(&res.data).position(|(a, b)| a != b);
                bad.push((n, k, res.seq, first));
            }
        }
    }
    bad
}

/// After a reset in the middle of a DMA batch, at any of 40 points, the engine's
/// results through the MMIO window are right: the engine's own reset leaves nothing
/// behind.
#[test]
fn after_a_reset_at_any_point_of_a_batch_the_engine_gives_right_results() {
    let bad = results_after_resets(true);
    assert!(
        bad.is_empty(),
        "(n, packet, seq, first differing byte) {bad:?}"
    );
}

/// The same by DMA. This found a write address the core still showed in the first
/// cycle of its reset (AXI wants the valids low during reset), taken by the
/// host-memory model and kept queued, so the first result burst after the reload was
/// written to that stale address (5 of the 40 points failed, the new buffer left with
/// old bytes). Now the core gates its valids with reset and `Model::reset` clears the
/// bus model after the reset as well (a card reset resets the PCIe bridge with it);
/// either alone passes this sweep.
#[test]
fn after_a_reset_at_any_point_of_a_batch_the_dma_results_are_right() {
    let bad = results_after_resets(false);
    assert!(
        bad.is_empty(),
        "(n, packet, seq, first differing byte) {bad:?}"
    );
}
