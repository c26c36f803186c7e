//! Fallback semantics, driven through the register model with injected faults.

use super::*;
use crate::card::CardConfig;
use crate::dma::conformance::{check_on_wire, seal_all as seal};
use crate::model::{FaultHandle, ModelCard};
use esp::{proto, Spi, Transform};

fn cfg(spi: u32) -> SaConfig {
    let key: Vec<u8> = (0..20u8).map(|b| b.wrapping_mul(29) ^ 0x17).collect();
    SaConfig::new(Spi(spi), Transform::AesGcm128, &key).unwrap()
}

fn engine(verify_every: u32) -> (Offload<ModelCard>, FaultHandle) {
    let m = ModelCard::new();
    let f = m.faults();
    let card = Card::probe(m, CardConfig { poll_limit: 200 }).unwrap();
    (
        Offload::new(
            Some(card),
            OffloadConfig {
                verify_every,
                ..OffloadConfig::default()
            },
        ),
        f,
    )
}

fn payloads(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![i as u8; 20 + i * 3]).collect()
}

/// The datagrams an independent software peer sends for `ps` under `cfg`.
fn peer_datagrams(cfg: &SaConfig, ps: &[Vec<u8>], next_header: u8) -> Vec<Vec<u8>> {
    let mut sender = OutboundSa::new(cfg).unwrap();
    ps.iter()
        .map(|p| {
            let mut b = vec![0u8; sender.datagram_len(p.len())];
            let s = sender.seal(p, next_header, &mut b).unwrap();
            b.truncate(s.len);
            b
        })
        .collect()
}

#[test]
fn auto_runs_a_rejected_sa_in_software_and_card_policy_refuses_it() {
    let (mut off, f) = engine(1);
    f.reject_spi(0x99);
    let good = off
        .add_sa(&cfg(0x11), Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    let rejected = off
        .add_sa(&cfg(0x99), Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    assert_eq!(off.placement(good), Some(DataPath::Card));
    assert_eq!(off.placement(rejected), Some(DataPath::Software));
    assert_eq!(off.counters().sas_rejected_by_card, 1);
    let ps = payloads(3);
    let sent = seal(&mut off, rejected, &ps);
    assert!(sent.iter().all(|s| s.path == DataPath::Software));
    check_on_wire(&cfg(0x99), &sent, &ps);
    // An SA with a transform the card does not offer, also in software.
    let cbc = SaConfig::new(Spi(0x77), Transform::AesCbc128HmacSha256, &[1u8; 48]).unwrap();
    let id = off
        .add_sa(&cbc, Direction::Inbound, OffloadPolicy::Auto)
        .unwrap();
    assert_eq!(off.placement(id), Some(DataPath::Software));

    let (mut strict, f) = engine(1);
    f.reject_spi(0x99);
    let e = strict
        .add_sa(&cfg(0x99), Direction::Outbound, OffloadPolicy::Card)
        .unwrap_err();
    assert!(
        matches!(&e, DriverError::PolicyCard { spi: 0x99, source } if matches!(**source, DriverError::SaUnsupported { .. })),
        "{e}"
    );
}

#[test]
fn hang_mid_stream_redoes_in_flight_packets_in_software_without_loss_or_reuse() {
    let (mut off, f) = engine(0);
    let c = cfg(0x1000);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
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
    let (mut off, f) = engine(0);
    let sa = off
        .add_sa(&cfg(0x2000), Direction::Outbound, OffloadPolicy::Card)
        .unwrap();
    f.hang_after(1);
    let p = [0u8; 40];
    let pkts = [OutPacket {
        sa,
        payload: &p,
        next_header: 4,
    }; 3];
    let r = off.seal_batch(&pkts);
    // The card finished the first packet; the other two are errors, not software.
    assert_eq!(r[0].as_ref().map(|s| s.path).ok(), Some(DataPath::Card));
    for e in &r[1..] {
        assert!(
            matches!(e, Err(PacketError::CardFailed { sa: s, spi: 0x2000, cause })
                if *s == sa && matches!(**cause, DriverError::Timeout { .. })),
            "{e:?}"
        );
    }
    assert!(matches!(off.failure(sa), Some(DriverError::Timeout { .. })));
    assert_eq!(off.placement(sa), Some(DataPath::Card));
    let k = off.counters();
    assert_eq!(
        (
            k.software_packets,
            k.card_sas_failed,
            k.failed_sa_packets,
            k.card_faults
        ),
        (0, 1, 2, 1)
    );
}

#[test]
fn spontaneous_reset_reloads_and_keeps_traffic_on_the_card() {
    let (mut off, f) = engine(1);
    let c = cfg(0x3000);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    let inb_cfg = cfg(0x3001);
    let inb = off
        .add_sa(&inb_cfg, Direction::Inbound, OffloadPolicy::Auto)
        .unwrap();
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
    let (mut off, f) = engine(1);
    let c = cfg(0x4000);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
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
    let (mut off, f) = engine(1);
    let c = cfg(0x5000);
    let sa = off
        .add_sa(&c, Direction::Inbound, OffloadPolicy::Auto)
        .unwrap();
    let ps = payloads(8);
    let dgrams = peer_datagrams(&c, &ps, proto::IPV6);
    let open = |off: &mut Offload<ModelCard>, ds: &[Vec<u8>]| {
        let pkts: Vec<InPacket<'_>> = ds.iter().map(|d| InPacket { sa, datagram: d }).collect();
        off.open_batch(&pkts)
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
    let (mut off, f) = engine(1);
    let sa = off
        .add_sa(&cfg(0x6000), Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
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
    let (mut off, _f) = engine(1);
    let sa = off
        .add_sa(&cfg(0x7000), Direction::Outbound, OffloadPolicy::Software)
        .unwrap();
    assert_eq!(off.placement(sa), Some(DataPath::Software));
    let sent = seal(&mut off, sa, &payloads(2));
    assert!(sent.iter().all(|s| s.path == DataPath::Software));
    let card = off.card_mut().unwrap();
    assert_eq!(card.installed(), 0);
    assert_eq!(card.counters().unwrap().out_pkts, 0);
    let mut sw = SoftwareOffload::software();
    let sa = sw
        .add_sa(&cfg(0x7001), Direction::Outbound, OffloadPolicy::Software)
        .unwrap();
    assert_eq!(sw.placement(sa), Some(DataPath::Software));
    assert!(sw.card_mut().is_none());
    assert!("auto".parse::<OffloadPolicy>().is_ok());
    assert!("sometimes".parse::<OffloadPolicy>().is_err());
}

#[test]
fn card_policy_turns_a_wrong_result_into_an_error_and_auto_without_card_is_software() {
    let (mut off, f) = engine(1);
    let sa = off
        .add_sa(&cfg(0x8000), Direction::Outbound, OffloadPolicy::Card)
        .unwrap();
    f.corrupt_next(1);
    let p = [3u8; 50];
    let r = off.seal_batch(&[OutPacket {
        sa,
        payload: &p,
        next_header: 4,
    }]);
    assert!(
        matches!(&r[0], Err(PacketError::CardFailed { cause, .. })
            if matches!(**cause, DriverError::BadResult { .. })),
        "{:?}",
        r[0]
    );
    assert_eq!(off.counters().software_packets, 0);

    let mut none = Offload::<ModelCard>::new(None, OffloadConfig::default());
    let e = none
        .add_sa(&cfg(0x8002), Direction::Outbound, OffloadPolicy::Card)
        .unwrap_err();
    assert!(
        matches!(&e, DriverError::PolicyCard { source, .. } if matches!(**source, DriverError::NoCard)),
        "{e}"
    );
    let sa = none
        .add_sa(&cfg(0x8001), Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    assert_eq!(none.placement(sa), Some(DataPath::Software));
    let sent = seal(&mut none, sa, &payloads(2));
    check_on_wire(&cfg(0x8001), &sent, &payloads(2));
}

#[test]
fn a_wrong_inbound_result_is_caught_and_the_packet_opened_in_software_once() {
    let (mut off, f) = engine(1);
    let c = cfg(0x9000);
    let sa = off
        .add_sa(&c, Direction::Inbound, OffloadPolicy::Auto)
        .unwrap();
    let ps = payloads(4);
    let dgrams = peer_datagrams(&c, &ps, proto::IPV4);
    f.corrupt_next(1);
    let pkts: Vec<InPacket<'_>> = dgrams
        .iter()
        .map(|d| InPacket { sa, datagram: d })
        .collect();
    let r = off.open_batch(&pkts);
    for (i, r) in r.iter().enumerate() {
        let o = r.as_ref().unwrap();
        assert_eq!(o.payload, ps[i], "packet {i}");
        assert_eq!(o.path, DataPath::Software);
    }
    assert_eq!(off.counters().bad_results, 1);
    assert_eq!(off.counters().software_packets, 4);
}

/// Seals one packet per entry of `sas` (payload i for entry i) in one batch.
fn seal_mixed(
    off: &mut Offload<ModelCard>,
    sas: &[SaId],
    ps: &[Vec<u8>],
) -> Vec<Result<SealedPacket, PacketError>> {
    let pkts: Vec<OutPacket<'_>> = sas
        .iter()
        .zip(ps)
        .map(|(&sa, p)| OutPacket {
            sa,
            payload: p,
            next_header: proto::IPV4,
        })
        .collect();
    off.seal_batch(&pkts)
}

#[test]
fn one_fault_moves_auto_sas_to_software_and_fails_card_sas_in_the_same_batch() {
    let (mut off, f) = engine(1);
    let (ca, cc, cs) = (cfg(0xa000), cfg(0xc000), cfg(0x5000));
    let auto = off
        .add_sa(&ca, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    let card = off
        .add_sa(&cc, Direction::Outbound, OffloadPolicy::Card)
        .unwrap();
    let soft = off
        .add_sa(&cs, Direction::Outbound, OffloadPolicy::Software)
        .unwrap();
    assert_eq!(off.policy(card), Some(OffloadPolicy::Card));
    let order = [auto, card, soft, auto, card, soft, auto, card];
    let ps = payloads(order.len());
    f.hang_after(2);
    let r = seal_mixed(&mut off, &order, &ps);
    // The card finished the first auto and card packets; the software SA's packets
    // never went to the card.
    let paths: Vec<Option<DataPath>> = r.iter().map(|r| r.as_ref().ok().map(|s| s.path)).collect();
    use DataPath::{Card as C, Software as S};
    assert_eq!(
        paths,
        [
            Some(C),
            Some(C),
            Some(S),
            Some(S),
            None,
            Some(S),
            Some(S),
            None
        ]
    );
    for i in [4, 7] {
        assert!(
            matches!(&r[i], Err(PacketError::CardFailed { sa, spi: 0xc000, cause })
                if *sa == card && matches!(**cause, DriverError::Timeout { .. })),
            "packet {i}: {:?}",
            r[i]
        );
    }
    let k = off.counters();
    assert_eq!(k.card_faults, 1);
    assert_eq!(k.sas_moved_to_software, 1, "only the auto SA moves");
    assert_eq!(k.card_sas_failed, 1);
    assert_eq!(k.failed_sa_packets, 2);
    assert_eq!(
        k.redone_in_software, 2,
        "the auto SA's two unfinished packets"
    );
    assert_eq!(off.placement(auto), Some(DataPath::Software));
    assert_eq!(off.placement(card), Some(DataPath::Card));
    assert_eq!(off.placement(soft), Some(DataPath::Software));
    assert!(off.failure(card).is_some() && off.failure(auto).is_none());
    assert!(matches!(off.fence(), Some(DriverError::Timeout { .. })));

    // While the card is fenced: auto keeps going in software, card keeps failing.
    let r2 = seal_mixed(&mut off, &[auto, card], &ps[..2]);
    assert_eq!(
        r2[0].as_ref().map(|s| s.path).ok(),
        Some(DataPath::Software)
    );
    assert!(matches!(r2[1], Err(PacketError::CardFailed { .. })));
    assert_eq!(off.counters().failed_sa_packets, 3);

    // The card comes back: both SAs return, the card SA numbering after every number
    // the hung card may have used.
    f.heal();
    assert_eq!(off.recover_card().unwrap(), 2);
    assert!(off.failure(card).is_none() && off.fence().is_none());
    let r3 = seal_mixed(&mut off, &[auto, card], &ps[..2]);
    assert!(r3
        .iter()
        .all(|r| matches!(r, Ok(s) if s.path == DataPath::Card)));
    let card_sent: Vec<SealedPacket> = r
        .iter()
        .chain(&r2)
        .chain(&r3)
        .zip(order.iter().chain(&[auto, card]).chain(&[auto, card]))
        .filter(|(_, &sa)| sa == card)
        .filter_map(|(r, _)| r.as_ref().ok().cloned())
        .collect();
    assert_eq!(card_sent.len(), 2);
    assert!(card_sent[1].seq > card_sent[0].seq + 1, "{card_sent:?}");
    check_on_wire(&cc, &card_sent, &[ps[1].clone(), ps[1].clone()]);
}

#[test]
fn a_card_sa_is_refused_while_the_card_is_fenced_and_an_auto_sa_is_not() {
    let (mut off, f) = engine(0);
    let sa = off
        .add_sa(&cfg(0xb000), Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    f.hang_after(0);
    seal(&mut off, sa, &payloads(1));
    assert!(!off.card_healthy());
    let e = off
        .add_sa(&cfg(0xb001), Direction::Outbound, OffloadPolicy::Card)
        .unwrap_err();
    assert!(
        matches!(&e, DriverError::PolicyCard { spi: 0xb001, source }
            if matches!(&**source, DriverError::CardFenced { cause: Some(c) }
                if matches!(**c, DriverError::Timeout { .. }))),
        "{e}"
    );
    assert!(std::error::Error::source(&e).is_some());
    let late = off
        .add_sa(&cfg(0xb002), Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    assert_eq!(off.placement(late), Some(DataPath::Software));
    // A card that times out installing an SA with policy card: the SA is not added,
    // and the card is fenced (the SAs already on it move by their own policy).
    let (mut off, f) = engine(0);
    let auto = off
        .add_sa(&cfg(0xb003), Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    f.slow(500);
    let e = off
        .add_sa(&cfg(0xb004), Direction::Outbound, OffloadPolicy::Card)
        .unwrap_err();
    assert!(
        matches!(&e, DriverError::PolicyCard { spi: 0xb004, source }
            if matches!(&**source, DriverError::CardFenced { cause: Some(c) }
                if matches!(**c, DriverError::Timeout { .. }))),
        "{e}"
    );
    assert_eq!(off.placement(auto), Some(DataPath::Software));
    assert_eq!(off.counters().sas_moved_to_software, 1);
}

#[test]
fn an_inbound_card_sa_fails_without_moving_its_replay_window() {
    let (mut off, f) = engine(1);
    let c = cfg(0xd000);
    let sa = off
        .add_sa(&c, Direction::Inbound, OffloadPolicy::Card)
        .unwrap();
    let dgrams = peer_datagrams(&c, &payloads(3), proto::IPV4);
    let open = |off: &mut Offload<ModelCard>, d: &[u8]| {
        off.open_batch(&[InPacket { sa, datagram: d }])
            .pop()
            .unwrap()
    };
    assert_eq!(open(&mut off, &dgrams[0]).unwrap().path, DataPath::Card);
    f.hang_after(0);
    assert!(matches!(
        open(&mut off, &dgrams[1]),
        Err(PacketError::CardFailed { .. })
    ));
    assert_eq!(off.counters().software_packets, 0);
    f.heal();
    assert_eq!(off.recover_card().unwrap(), 1);
    // The refused packet was never accepted: it opens now, on the card.
    for d in &dgrams[1..] {
        let o = open(&mut off, d).unwrap();
        assert_eq!(o.path, DataPath::Card);
    }
}

#[test]
fn a_software_sa_is_untouched_by_a_card_fault() {
    let (mut off, f) = engine(0);
    let soft = off
        .add_sa(&cfg(0xe000), Direction::Outbound, OffloadPolicy::Software)
        .unwrap();
    let auto = off
        .add_sa(&cfg(0xe001), Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    f.hang_after(0);
    seal(&mut off, auto, &payloads(1));
    let sent = seal(&mut off, soft, &payloads(3));
    assert_eq!(sent.iter().map(|s| s.seq).collect::<Vec<_>>(), [1, 2, 3]);
    let k = off.counters();
    assert_eq!((k.sas_moved_to_software, k.card_sas_failed), (1, 0));
    f.heal();
    assert_eq!(off.recover_card().unwrap(), 1, "only the auto SA goes back");
    assert_eq!(off.placement(soft), Some(DataPath::Software));
}

#[test]
fn the_policy_reads_and_writes_in_lower_case() {
    for (p, s) in [
        (OffloadPolicy::Auto, "auto"),
        (OffloadPolicy::Card, "card"),
        (OffloadPolicy::Software, "software"),
    ] {
        assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{s}\""));
        assert_eq!(
            serde_json::from_str::<OffloadPolicy>(&format!("\"{s}\"")).unwrap(),
            p
        );
        assert_eq!(s.parse::<OffloadPolicy>().unwrap(), p);
        assert_eq!(p.to_string(), s);
    }
    assert!(serde_json::from_str::<OffloadPolicy>("\"Card\"").is_err());
    assert_eq!(OffloadPolicy::default(), OffloadPolicy::Auto);
}

#[test]
fn engines_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<Offload<ModelCard>>();
    send::<Offload<crate::vfio::VfioCard>>();
    send::<Card<crate::vfio::VfioCard>>();
}

/// What left the engine for one outbound SA over a whole run, read from the
/// datagrams themselves with `esp`'s wire view and opened by an independent peer.
struct Wire {
    cfg: SaConfig,
    peer: InboundSa,
    sent: Vec<u64>,
}

impl Wire {
    fn new(cfg: &SaConfig) -> Self {
        Wire {
            cfg: cfg.clone(),
            peer: InboundSa::new(cfg).unwrap(),
            sent: Vec::new(),
        }
    }

    /// Checks one returned datagram: SPI, header sequence half and IV (the 64-bit
    /// sequence number) as on the wire, a number above every one this SA sent
    /// before, authentic under the SA's key with `payload` inside.
    fn take(&mut self, s: &SealedPacket, payload: &[u8]) {
        let v = esp::wire::esp::EspPacket::new_checked(&s.datagram[..]).unwrap();
        assert_eq!(v.spi(), self.cfg.spi);
        assert_eq!(v.seq_lo(), s.seq as u32, "header sequence half");
        let iv = u64::from_be_bytes(v.body()[..8].try_into().unwrap());
        assert_eq!(iv, s.seq, "IV is the sequence number");
        if let Some(&last) = self.sent.last() {
            assert!(
                s.seq > last,
                "SPI {:#x}: seq {} after {last} (sent: {:?})",
                self.cfg.spi.0,
                s.seq,
                self.sent
            );
        }
        self.sent.push(s.seq);
        let mut d = s.datagram.clone();
        let o = self
            .peer
            .open(&mut d)
            .unwrap_or_else(|e| panic!("seq {}: {e}", s.seq));
        assert_eq!(&d[o.payload], payload);
    }
}

fn engine_with(cfg: OffloadConfig) -> (Offload<ModelCard>, FaultHandle) {
    let m = ModelCard::new();
    let f = m.faults();
    let card = Card::probe(m, CardConfig { poll_limit: 200 }).unwrap();
    (Offload::new(Some(card), cfg), f)
}

fn retries(verify_every: u32, reset_retries: u32) -> OffloadConfig {
    OffloadConfig {
        verify_every,
        reset_retries,
    }
}

/// Seals `ps` under `sa` in one batch and feeds what came back to `wire`; returns
/// (seq, path) of each packet, the errors as they are.
fn seal_to_wire(
    off: &mut Offload<ModelCard>,
    sa: SaId,
    ps: &[Vec<u8>],
    wire: &mut Wire,
) -> Vec<Result<(u64, DataPath), PacketError>> {
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
        .zip(ps)
        .map(|(r, p)| {
            r.map(|s| {
                wire.take(&s, p);
                (s.seq, s.path)
            })
        })
        .collect()
}

fn oks(r: &[Result<(u64, DataPath), PacketError>]) -> Vec<(u64, DataPath)> {
    r.iter().filter_map(|r| r.as_ref().ok().copied()).collect()
}

#[test]
fn two_resets_in_one_batch_move_an_auto_sa_to_software_past_the_cards_numbers() {
    let (mut off, f) = engine(1);
    let c = cfg(0x1_2000);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    let mut wire = Wire::new(&c);
    let ps = payloads(10);
    seal_to_wire(&mut off, sa, &ps[..2], &mut wire);
    // Reset at the 4th packet, then again 3 packets after the reload: one retry
    // (the default), then the card is fenced.
    f.reset_times(3, 2);
    let r = seal_to_wire(&mut off, sa, &ps, &mut wire);
    use DataPath::{Card as C, Software as S};
    // First try: 3, 4, 5 on the card, the 10 requests handed over may have used up
    // to 12. Retry after the reload: 13, 14, 15, its 7 requests up to 19. Software
    // continues at 20.
    assert_eq!(
        oks(&r),
        [
            (3, C),
            (4, C),
            (5, C),
            (13, C),
            (14, C),
            (15, C),
            (20, S),
            (21, S),
            (22, S),
            (23, S)
        ]
    );
    assert_eq!(f.lock().resets, 2);
    assert!(f.highest_seq(0x1_2000) < 20);
    let k = off.counters();
    assert_eq!(
        (
            k.card_resets,
            k.card_faults,
            k.sas_moved_to_software,
            k.redone_in_software
        ),
        (2, 1, 1, 4)
    );
    assert!(matches!(
        off.fence(),
        Some(DriverError::TooManyResets { resets: 2 })
    ));
    assert_eq!(off.placement(sa), Some(DataPath::Software));
    // Back on the card, numbering still after everything sent.
    assert_eq!(off.recover_card().unwrap(), 1);
    let r = seal_to_wire(&mut off, sa, &ps[..2], &mut wire);
    assert_eq!(oks(&r), [(24, C), (25, C)]);
    assert_eq!(wire.sent.len(), 14);
}

#[test]
fn two_resets_in_one_batch_fail_a_card_sa_and_never_carry_it_in_software() {
    let (mut off, f) = engine(1);
    let c = cfg(0x1_3000);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Card)
        .unwrap();
    let mut wire = Wire::new(&c);
    let ps = payloads(10);
    seal_to_wire(&mut off, sa, &ps[..2], &mut wire);
    f.reset_times(3, 2);
    let r = seal_to_wire(&mut off, sa, &ps, &mut wire);
    use DataPath::Card as C;
    assert_eq!(oks(&r), [(3, C), (4, C), (5, C), (13, C), (14, C), (15, C)]);
    for e in &r[6..] {
        assert!(
            matches!(e, Err(PacketError::CardFailed { sa: s, spi: 0x1_3000, cause })
                if *s == sa && matches!(**cause, DriverError::TooManyResets { resets: 2 })),
            "{e:?}"
        );
    }
    let k = off.counters();
    assert_eq!(
        (
            k.software_packets,
            k.card_sas_failed,
            k.failed_sa_packets,
            k.card_resets,
            k.sas_moved_to_software
        ),
        (0, 1, 4, 2, 0)
    );
    assert_eq!(off.placement(sa), Some(DataPath::Card));
    assert!(matches!(
        off.failure(sa),
        Some(DriverError::TooManyResets { .. })
    ));
    // Still failed in the next batch, not moved.
    let r = seal_to_wire(&mut off, sa, &ps[..1], &mut wire);
    assert!(matches!(r[0], Err(PacketError::CardFailed { .. })));
    // Recovery: after every number the card may have used (19; it used 15).
    assert_eq!(f.highest_seq(0x1_3000), 15);
    assert_eq!(off.recover_card().unwrap(), 1);
    let r = seal_to_wire(&mut off, sa, &ps[..2], &mut wire);
    assert_eq!(oks(&r), [(20, C), (21, C)]);
    assert_eq!(wire.sent, [1, 2, 3, 4, 5, 13, 14, 15, 20, 21]);
}

#[test]
fn three_resets_in_one_batch_fence_after_the_retries_auto_moves_card_fails() {
    let (mut off, f) = engine_with(retries(1, 2));
    let (ca, cc) = (cfg(0x1_4000), cfg(0x1_4001));
    let auto = off
        .add_sa(&ca, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    let card = off
        .add_sa(&cc, Direction::Outbound, OffloadPolicy::Card)
        .unwrap();
    let (mut wa, mut wc) = (Wire::new(&ca), Wire::new(&cc));
    let order: Vec<SaId> = (0..12)
        .map(|i| if i % 2 == 0 { auto } else { card })
        .collect();
    let ps = payloads(order.len());
    f.reset_times(2, 3);
    let r = seal_mixed(&mut off, &order, &ps);
    for ((r, &sa), p) in r.iter().zip(&order).zip(&ps) {
        if let Ok(s) = r {
            if sa == auto { &mut wa } else { &mut wc }.take(s, p);
        }
    }
    // Each try finishes one packet per SA before the reset; every SA's unfinished
    // requests count as used: tries hand over 6, 5 and 4 per SA.
    assert_eq!(wa.sent, [1, 7, 12, 16, 17, 18]);
    assert_eq!(wc.sent, [1, 7, 12]);
    let paths: Vec<DataPath> = r
        .iter()
        .zip(&order)
        .filter(|(_, &sa)| sa == auto)
        .map(|(r, _)| r.as_ref().unwrap().path)
        .collect();
    use DataPath::{Card as C, Software as S};
    assert_eq!(paths, [C, C, C, S, S, S]);
    for (r, _) in r.iter().zip(&order).filter(|(_, &sa)| sa == card).skip(3) {
        assert!(
            matches!(r, Err(PacketError::CardFailed { cause, .. })
                if matches!(**cause, DriverError::TooManyResets { resets: 3 })),
            "{r:?}"
        );
    }
    assert!(f.highest_seq(0x1_4000) < 16);
    let k = off.counters();
    assert_eq!(
        (
            k.card_resets,
            k.card_faults,
            k.sas_moved_to_software,
            k.card_sas_failed,
            k.failed_sa_packets,
            k.software_packets
        ),
        (3, 1, 1, 1, 3, 3)
    );
}

#[test]
fn three_resets_within_the_retries_keep_a_card_sa_on_the_card_with_fresh_numbers() {
    let (mut off, f) = engine_with(retries(1, 3));
    let c = cfg(0x1_5000);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Card)
        .unwrap();
    let mut wire = Wire::new(&c);
    let ps = payloads(8);
    f.reset_times(2, 3);
    let r = seal_to_wire(&mut off, sa, &ps, &mut wire);
    assert!(r.iter().all(|r| matches!(r, Ok((_, DataPath::Card)))));
    // Tries hand over 8, 6, 4 and 2 requests; each retry starts after all of them.
    assert_eq!(wire.sent, [1, 2, 9, 10, 15, 16, 19, 20]);
    let k = off.counters();
    assert_eq!(
        (k.card_resets, k.card_faults, k.failed_sa_packets),
        (3, 0, 0)
    );
    assert!(off.card_healthy() && off.failure(sa).is_none());
    assert_eq!(off.next_seq(sa), Some(21));
}

#[test]
fn a_card_that_repeats_an_iv_is_fenced_and_its_datagram_never_leaves() {
    // Only the per-result checks (no sampled software verification).
    let (mut off, f) = engine(0);
    let c = cfg(0x1_6000);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    let mut wire = Wire::new(&c);
    let ps = payloads(4);
    seal_to_wire(&mut off, sa, &ps[..3], &mut wire);
    f.repeat_iv(1);
    let r = seal_to_wire(&mut off, sa, &ps, &mut wire);
    // The card sealed 4 with IV 3 (and 5-7 rightly): the whole batch is dropped and
    // redone in software after 7.
    assert_eq!(f.lock().repeat_iv, 0, "the fault fired");
    assert_eq!(f.highest_seq(0x1_6000), 7);
    use DataPath::Software as S;
    assert_eq!(oks(&r), [(8, S), (9, S), (10, S), (11, S)]);
    assert_eq!(wire.sent, [1, 2, 3, 8, 9, 10, 11]);
    let k = off.counters();
    assert_eq!(
        (k.card_seq_violations, k.bad_results, k.card_faults),
        (1, 1, 1)
    );
    assert!(
        matches!(off.fence(), Some(DriverError::SeqViolation { spi: 0x1_6000, what }) if what.contains("IV")),
        "{:?}",
        off.fence()
    );

    // Policy card: the packets from the bad one on fail; the SA returns later after
    // every number the card used.
    let (mut off, f) = engine(0);
    let c = cfg(0x1_6001);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Card)
        .unwrap();
    let mut wire = Wire::new(&c);
    let ps = payloads(5);
    seal_to_wire(&mut off, sa, &ps[..2], &mut wire);
    f.repeat_iv(1);
    let r = seal_to_wire(&mut off, sa, &ps, &mut wire);
    assert!(r
        .iter()
        .all(|r| matches!(r, Err(PacketError::CardFailed { cause, .. })
        if matches!(**cause, DriverError::SeqViolation { .. }))));
    assert_eq!(off.counters().card_seq_violations, 1);
    assert_eq!(off.counters().software_packets, 0);
    assert_eq!(f.highest_seq(0x1_6001), 7);
    assert_eq!(off.recover_card().unwrap(), 1);
    let r = seal_to_wire(&mut off, sa, &ps[..1], &mut wire);
    assert_eq!(oks(&r), [(8, DataPath::Card)]);
    assert_eq!(wire.sent, [1, 2, 8]);
}

#[test]
fn a_card_that_steps_its_sequence_back_is_fenced_and_no_number_is_reused() {
    let (mut off, f) = engine(0);
    let c = cfg(0x1_7000);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    let mut wire = Wire::new(&c);
    let ps = payloads(4);
    seal_to_wire(&mut off, sa, &ps, &mut wire);
    f.step_back(2);
    let r = seal_to_wire(&mut off, sa, &ps[..3], &mut wire);
    // The card used 3, 4, 5 again (consistent header, IV and result): dropped; the
    // 3 requests may have used up to 7.
    assert_eq!(f.highest_seq(0x1_7000), 5);
    use DataPath::Software as S;
    assert_eq!(oks(&r), [(8, S), (9, S), (10, S)]);
    assert_eq!(wire.sent, [1, 2, 3, 4, 8, 9, 10]);
    let k = off.counters();
    assert_eq!((k.card_seq_violations, k.card_faults), (1, 1));
    assert!(
        matches!(off.fence(), Some(DriverError::SeqViolation { what, .. }) if what.contains("number 3 taken twice")),
        "{:?}",
        off.fence()
    );

    // Policy card, step back in the middle of a batch.
    let (mut off, f) = engine(0);
    let c = cfg(0x1_7001);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Card)
        .unwrap();
    let mut wire = Wire::new(&c);
    let ps = payloads(6);
    seal_to_wire(&mut off, sa, &ps[..3], &mut wire);
    let r = seal_to_wire(&mut off, sa, &ps[..2], &mut wire);
    assert_eq!(oks(&r).len(), 2);
    f.step_back(4);
    let r = seal_to_wire(&mut off, sa, &ps, &mut wire);
    assert!(r
        .iter()
        .all(|r| matches!(r, Err(PacketError::CardFailed { cause, .. })
        if matches!(**cause, DriverError::SeqViolation { .. }))));
    assert_eq!(off.counters().software_packets, 0);
    assert_eq!(wire.sent, [1, 2, 3, 4, 5]);
    assert_eq!(off.recover_card().unwrap(), 1);
    let r = seal_to_wire(&mut off, sa, &ps[..1], &mut wire);
    // 5 sent, 6 more handed over: the card may have used up to 11.
    assert_eq!(oks(&r), [(12, DataPath::Card)]);
}

/// A port that loses the last result of every batch and still reports success.
struct ShortPort;

impl<R: RegIo> PacketPort<R> for ShortPort {
    fn process(
        &mut self,
        regs: &mut R,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
        poll_limit: u32,
    ) -> Result<(), DriverError> {
        let start = out.len();
        MmioWindowPort.process(regs, reqs, out, poll_limit)?;
        if out.len() > start {
            out.pop();
        }
        Ok(())
    }
}

#[test]
fn a_short_result_list_fences_the_card_and_skips_the_missing_number() {
    let m = ModelCard::new();
    let card = Card::probe_with_port(m, ShortPort, CardConfig { poll_limit: 200 }).unwrap();
    let mut off = Offload::new(Some(card), OffloadConfig::default());
    let c = cfg(0x1_8000);
    let sa = off
        .add_sa(&c, Direction::Outbound, OffloadPolicy::Auto)
        .unwrap();
    let ps = payloads(4);
    let pkts: Vec<OutPacket<'_>> = ps
        .iter()
        .map(|p| OutPacket {
            sa,
            payload: p,
            next_header: proto::IPV4,
        })
        .collect();
    let mut wire = Wire::new(&c);
    let r = off.seal_batch(&pkts);
    let got: Vec<(u64, DataPath)> = r
        .iter()
        .zip(&ps)
        .map(|(r, p)| {
            let s = r.as_ref().unwrap();
            wire.take(s, p);
            (s.seq, s.path)
        })
        .collect();
    use DataPath::{Card as C, Software as S};
    // The card used 4 for the result it lost: software takes 5.
    assert_eq!(got, [(1, C), (2, C), (3, C), (5, S)]);
    assert!(
        matches!(off.fence(), Some(DriverError::BadResult { what }) if what.contains("3 results for 4"))
    );
}

mod lanes {
    use super::*;
    use crate::dma::conformance::lanes_in_parallel;
    use crate::dma::{DmaPortConfig, QueueConfig};
    use crate::SharedRegs;
    use std::time::Duration;

    fn port_cfg() -> DmaPortConfig {
        DmaPortConfig {
            queue: QueueConfig {
                ring_log2: 5,
                ..QueueConfig::default()
            },
            completion_timeout: Duration::from_millis(200),
            ..DmaPortConfig::default()
        }
    }

    #[test]
    fn lanes_carry_shared_sas_from_several_workers_with_every_number_once() {
        let run = lanes_in_parallel(SharedRegs::new(ModelCard::new()), 3, 400, port_cfg(), None);
        assert_eq!(run.in_software, 0, "{run:?}");
        assert_eq!(run.counters.card_faults, 0);
        assert_eq!(run.lanes.len(), 3);
        assert!(run.lanes.iter().all(|s| s.packets >= 800), "{run:?}");
    }

    #[test]
    fn a_hang_while_lanes_are_busy_moves_the_rest_to_software_with_no_number_twice() {
        let m = ModelCard::new();
        let f = m.faults();
        let run = lanes_in_parallel(
            SharedRegs::new(m),
            3,
            200,
            port_cfg(),
            Some(Box::new(move || f.hang_after(3))),
        );
        assert!(run.in_software > 0, "{run:?}");
        assert_eq!(run.counters.card_faults, 1, "{run:?}");
        assert_eq!(run.counters.card_seq_violations, 0);
    }

    #[test]
    fn a_reset_while_lanes_are_busy_is_reloaded_and_the_card_carries_on() {
        let m = ModelCard::new();
        let f = m.faults();
        let run = lanes_in_parallel(
            SharedRegs::new(m),
            3,
            200,
            port_cfg(),
            Some(Box::new(move || f.reset_after(3))),
        );
        assert_eq!(run.counters.card_faults, 0, "{run:?}");
        assert!(run.counters.card_resets >= 1, "{run:?}");
        assert_eq!(run.in_software, 0, "{run:?}");
    }
}
