//! Fallback semantics, driven through the register model with injected faults.

use super::*;
use crate::card::CardConfig;
use crate::model::{FaultHandle, ModelCard};
use esp::{proto, Spi, Transform};

fn cfg(spi: u32) -> SaConfig {
    let key: Vec<u8> = (0..20u8).map(|b| b.wrapping_mul(29) ^ 0x17).collect();
    SaConfig::new(Spi(spi), Transform::AesGcm128, &key).unwrap()
}

fn engine(policy: OffloadPolicy, verify_every: u32) -> (Offload<ModelCard>, FaultHandle) {
    let m = ModelCard::new();
    let f = m.faults();
    let card = Card::probe(m, CardConfig { poll_limit: 200 }).unwrap();
    (
        Offload::new(policy, Some(card), OffloadConfig { verify_every }).unwrap(),
        f,
    )
}

fn payloads(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![i as u8; 20 + i * 3]).collect()
}

fn seal(off: &mut Offload<ModelCard>, sa: SaId, ps: &[Vec<u8>]) -> Vec<SealedPacket> {
    let pkts: Vec<OutPacket<'_>> = ps
        .iter()
        .map(|p| OutPacket {
            sa,
            payload: p,
            next_header: proto::IPV4,
        })
        .collect();
    off.seal_batch(&pkts)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

/// Opens every datagram with an independent software SA: each must authenticate and
/// carry its payload, and no sequence number may appear twice.
fn check_on_wire(cfg: &SaConfig, sent: &[SealedPacket], ps: &[Vec<u8>]) {
    let mut peer = InboundSa::new(cfg).unwrap();
    for (s, p) in sent.iter().zip(ps) {
        let mut d = s.datagram.clone();
        let o = peer
            .open(&mut d)
            .unwrap_or_else(|e| panic!("seq {}: {e}", s.seq));
        assert_eq!(&d[o.payload], &p[..]);
        assert_eq!(o.seq.0, s.seq);
    }
}

#[test]
fn auto_runs_a_rejected_sa_in_software_and_card_policy_refuses_it() {
    let (mut off, f) = engine(OffloadPolicy::Auto, 1);
    f.reject_spi(0x99);
    let good = off.add_sa(&cfg(0x11), Direction::Outbound).unwrap();
    let rejected = off.add_sa(&cfg(0x99), Direction::Outbound).unwrap();
    assert_eq!(off.placement(good), Some(DataPath::Card));
    assert_eq!(off.placement(rejected), Some(DataPath::Software));
    assert_eq!(off.counters().sas_rejected_by_card, 1);
    let ps = payloads(3);
    let sent = seal(&mut off, rejected, &ps);
    assert!(sent.iter().all(|s| s.path == DataPath::Software));
    check_on_wire(&cfg(0x99), &sent, &ps);
    // An SA with a transform the card does not offer, also in software.
    let cbc = SaConfig::new(Spi(0x77), Transform::AesCbc128HmacSha256, &[1u8; 48]).unwrap();
    let id = off.add_sa(&cbc, Direction::Inbound).unwrap();
    assert_eq!(off.placement(id), Some(DataPath::Software));

    let (mut strict, f) = engine(OffloadPolicy::Card, 1);
    f.reject_spi(0x99);
    let e = strict.add_sa(&cfg(0x99), Direction::Outbound).unwrap_err();
    assert!(
        matches!(&e, DriverError::PolicyCard(inner) if matches!(**inner, DriverError::SaUnsupported { .. })),
        "{e}"
    );
}

#[test]
fn hang_mid_stream_redoes_in_flight_packets_in_software_without_loss_or_reuse() {
    let (mut off, f) = engine(OffloadPolicy::Auto, 0);
    let c = cfg(0x1000);
    let sa = off.add_sa(&c, Direction::Outbound).unwrap();
    let ps = payloads(10);
    let first = seal(&mut off, sa, &ps[..3]);
    f.hang_after(4);
    let rest = seal(&mut off, sa, &ps[3..]);
    let all: Vec<SealedPacket> = first.into_iter().chain(rest).collect();
    // None lost, none twice, numbers increasing; the three numbers the hung card may
    // have used for requests it never answered are skipped.
    assert_eq!(all.len(), 10);
    let seqs: Vec<u64> = all.iter().map(|s| s.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7, 11, 12, 13]);
    let paths: Vec<DataPath> = all.iter().map(|s| s.path).collect();
    assert_eq!(&paths[..7], &[DataPath::Card; 7]);
    assert_eq!(&paths[7..], &[DataPath::Software; 3]);
    check_on_wire(&c, &all, &ps);
    let k = off.counters();
    assert_eq!(k.redone_in_software, 3);
    assert_eq!(k.sas_moved_to_software, 1);
    assert_eq!(k.card_faults, 1);
    assert_eq!(off.placement(sa), Some(DataPath::Software));
    assert!(!off.card_healthy());

    // The hang ends (or the card is reset); SAs return and numbering continues.
    f.heal();
    assert_eq!(off.recover_card().unwrap(), 1);
    assert_eq!(off.placement(sa), Some(DataPath::Card));
    let more = seal(&mut off, sa, &ps[..2]);
    assert_eq!(
        more.iter().map(|s| (s.seq, s.path)).collect::<Vec<_>>(),
        [(14, DataPath::Card), (15, DataPath::Card)]
    );
    assert_eq!(off.counters().sas_returned_to_card, 1);

    // A second hang, ended by a hard reset of the card (SA table lost): the SA moves
    // to software, then back onto the reset card, numbering still continuing.
    f.hang_after(0);
    let during = seal(&mut off, sa, &ps[..2]);
    assert_eq!(
        during.iter().map(|s| (s.seq, s.path)).collect::<Vec<_>>(),
        [(18, DataPath::Software), (19, DataPath::Software)]
    );
    crate::HardReset::hard_reset(off.card_mut().unwrap().regs_mut()).unwrap();
    assert_eq!(off.recover_card().unwrap(), 1);
    let after = seal(&mut off, sa, &ps[..1]);
    assert_eq!((after[0].seq, after[0].path), (20, DataPath::Card));
    let mut peer = InboundSa::new(&c).unwrap();
    for s in more.iter().chain(&during).chain(&after) {
        let mut d = s.datagram.clone();
        peer.open(&mut d).unwrap();
    }
}

#[test]
fn card_policy_turns_a_hang_into_an_error() {
    let (mut off, f) = engine(OffloadPolicy::Card, 0);
    let sa = off.add_sa(&cfg(0x2000), Direction::Outbound).unwrap();
    f.hang_after(1);
    let p = [0u8; 40];
    let pkts = [OutPacket {
        sa,
        payload: &p,
        next_header: 4,
    }; 3];
    let e = off.seal_batch(&pkts).unwrap_err();
    assert!(
        matches!(&e, DriverError::PolicyCard(inner) if matches!(**inner, DriverError::Timeout { .. })),
        "{e}"
    );
    assert_eq!(off.counters().software_packets, 0);
}

#[test]
fn spontaneous_reset_reloads_and_keeps_traffic_on_the_card() {
    let (mut off, f) = engine(OffloadPolicy::Auto, 1);
    let c = cfg(0x3000);
    let sa = off.add_sa(&c, Direction::Outbound).unwrap();
    let inb_cfg = cfg(0x3001);
    let inb = off.add_sa(&inb_cfg, Direction::Inbound).unwrap();
    let ps = payloads(8);
    f.reset_after(3);
    let sent = seal(&mut off, sa, &ps);
    // Packets 1-3 went through; the reset lost the 4th request and the driver skips
    // the numbers of the 5 requests without a result; the retry runs on the card.
    assert_eq!(
        sent.iter().map(|s| s.seq).collect::<Vec<_>>(),
        [1, 2, 3, 9, 10, 11, 12, 13]
    );
    assert!(sent.iter().all(|s| s.path == DataPath::Card));
    check_on_wire(&c, &sent, &ps);
    assert_eq!(off.counters().card_resets, 1);
    assert_eq!(
        off.placement(inb),
        Some(DataPath::Card),
        "inbound SA reloaded too"
    );
    assert_eq!(off.card_mut().unwrap().stats().reloads, 1);
}

#[test]
fn a_wrong_result_is_caught_and_the_packet_redone_in_software() {
    let (mut off, f) = engine(OffloadPolicy::Auto, 1);
    let c = cfg(0x4000);
    let sa = off.add_sa(&c, Direction::Outbound).unwrap();
    let ps = payloads(6);
    f.corrupt_next(1);
    let sent = seal(&mut off, sa, &ps);
    let k = off.counters();
    assert_eq!(k.bad_results, 1);
    assert_eq!(k.redone_in_software, 6);
    // The card's whole batch (numbers 1-6, the first one corrupt) is discarded and
    // redone in software with fresh numbers: none of the card's numbers is reused.
    assert_eq!(
        sent.iter().map(|s| s.seq).collect::<Vec<_>>(),
        (7..=12).collect::<Vec<_>>()
    );
    assert!(sent.iter().all(|s| s.path == DataPath::Software));
    check_on_wire(&c, &sent, &ps);
}

#[test]
fn inbound_through_the_card_with_replay_in_software_and_fallback_on_hang() {
    let (mut off, f) = engine(OffloadPolicy::Auto, 1);
    let c = cfg(0x5000);
    let sa = off.add_sa(&c, Direction::Inbound).unwrap();
    let mut sender = OutboundSa::new(&c).unwrap();
    let ps = payloads(8);
    let dgrams: Vec<Vec<u8>> = ps
        .iter()
        .map(|p| {
            let mut b = vec![0u8; sender.datagram_len(p.len())];
            let s = sender.seal(p, proto::IPV6, &mut b).unwrap();
            b.truncate(s.len);
            b
        })
        .collect();
    let open = |off: &mut Offload<ModelCard>, ds: &[Vec<u8>]| {
        let pkts: Vec<InPacket<'_>> = ds.iter().map(|d| InPacket { sa, datagram: d }).collect();
        off.open_batch(&pkts).unwrap()
    };
    let r = open(&mut off, &dgrams[..3]);
    for (i, r) in r.iter().enumerate() {
        let o = r.as_ref().unwrap();
        assert_eq!(
            (o.seq, o.path, o.next_header),
            (i as u64 + 1, DataPath::Card, proto::IPV6)
        );
        assert_eq!(o.payload, ps[i]);
    }
    // A replay is refused before it reaches the card.
    let r = open(&mut off, &dgrams[1..2]);
    assert!(matches!(
        r[0],
        Err(PacketError::Decap(esp::DecapError::Replayed(_)))
    ));
    // Tampered: the card's ICV check fails, the window does not move.
    let mut bad = dgrams[3].clone();
    bad[30] ^= 0x80;
    let r = open(&mut off, &[bad]);
    assert!(matches!(
        r[0],
        Err(PacketError::Decap(esp::DecapError::AuthFailed))
    ));
    // Hang mid-stream: the rest is opened in software, each exactly once.
    f.hang_after(2);
    let r = open(&mut off, &dgrams[3..]);
    let got: Vec<(u64, DataPath)> = r
        .iter()
        .map(|r| {
            let o = r.as_ref().unwrap();
            (o.seq, o.path)
        })
        .collect();
    assert_eq!(
        got,
        [
            (4, DataPath::Card),
            (5, DataPath::Card),
            (6, DataPath::Software),
            (7, DataPath::Software),
            (8, DataPath::Software)
        ]
    );
    let again = open(&mut off, &dgrams[5..6]);
    assert!(matches!(
        again[0],
        Err(PacketError::Decap(esp::DecapError::Replayed(_)))
    ));
}

#[test]
fn slow_responses_within_the_limit_stay_on_the_card() {
    let (mut off, f) = engine(OffloadPolicy::Auto, 1);
    let sa = off.add_sa(&cfg(0x6000), Direction::Outbound).unwrap();
    f.slow(150);
    let sent = seal(&mut off, sa, &payloads(4));
    assert!(sent.iter().all(|s| s.path == DataPath::Card));
    f.slow(500);
    let sent = seal(&mut off, sa, &payloads(2));
    assert!(sent.iter().all(|s| s.path == DataPath::Software));
    // The two requests the card never answered may have used 5 and 6.
    assert_eq!(sent.iter().map(|s| s.seq).collect::<Vec<_>>(), [7, 8]);
}

#[test]
fn software_policy_never_touches_the_card() {
    let (mut off, _f) = engine(OffloadPolicy::Software, 1);
    let sa = off.add_sa(&cfg(0x7000), Direction::Outbound).unwrap();
    assert_eq!(off.placement(sa), Some(DataPath::Software));
    let sent = seal(&mut off, sa, &payloads(2));
    assert!(sent.iter().all(|s| s.path == DataPath::Software));
    assert!(off.card_mut().is_none());
    let mut sw = SoftwareOffload::software();
    let sa = sw.add_sa(&cfg(0x7001), Direction::Outbound).unwrap();
    assert_eq!(sw.placement(sa), Some(DataPath::Software));
    assert!("auto".parse::<OffloadPolicy>().is_ok());
    assert!("sometimes".parse::<OffloadPolicy>().is_err());
}

#[test]
fn card_policy_turns_a_wrong_result_into_an_error_and_auto_without_card_is_software() {
    let (mut off, f) = engine(OffloadPolicy::Card, 1);
    let sa = off.add_sa(&cfg(0x8000), Direction::Outbound).unwrap();
    f.corrupt_next(1);
    let p = [3u8; 50];
    let e = off
        .seal_batch(&[OutPacket {
            sa,
            payload: &p,
            next_header: 4,
        }])
        .unwrap_err();
    assert!(
        matches!(&e, DriverError::PolicyCard(inner) if matches!(**inner, DriverError::BadResult { .. })),
        "{e}"
    );

    assert!(
        Offload::<ModelCard>::new(OffloadPolicy::Card, None, OffloadConfig::default()).is_err()
    );
    let mut auto =
        Offload::<ModelCard>::new(OffloadPolicy::Auto, None, OffloadConfig::default()).unwrap();
    let sa = auto.add_sa(&cfg(0x8001), Direction::Outbound).unwrap();
    assert_eq!(auto.placement(sa), Some(DataPath::Software));
    let sent = seal(&mut auto, sa, &payloads(2));
    check_on_wire(&cfg(0x8001), &sent, &payloads(2));
}

#[test]
fn a_wrong_inbound_result_is_caught_and_the_packet_opened_in_software_once() {
    let (mut off, f) = engine(OffloadPolicy::Auto, 1);
    let c = cfg(0x9000);
    let sa = off.add_sa(&c, Direction::Inbound).unwrap();
    let mut sender = OutboundSa::new(&c).unwrap();
    let ps = payloads(4);
    let dgrams: Vec<Vec<u8>> = ps
        .iter()
        .map(|p| {
            let mut b = vec![0u8; sender.datagram_len(p.len())];
            let s = sender.seal(p, proto::IPV4, &mut b).unwrap();
            b.truncate(s.len);
            b
        })
        .collect();
    f.corrupt_next(1);
    let pkts: Vec<InPacket<'_>> = dgrams
        .iter()
        .map(|d| InPacket { sa, datagram: d })
        .collect();
    let r = off.open_batch(&pkts).unwrap();
    for (i, r) in r.iter().enumerate() {
        let o = r.as_ref().unwrap();
        assert_eq!(o.payload, ps[i], "packet {i}");
        assert_eq!(o.path, DataPath::Software);
    }
    assert_eq!(off.counters().bad_results, 1);
    assert_eq!(off.counters().software_packets, 4);
}

#[test]
fn engines_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<Offload<ModelCard>>();
    send::<Offload<crate::vfio::VfioCard>>();
    send::<Card<crate::vfio::VfioCard>>();
}
