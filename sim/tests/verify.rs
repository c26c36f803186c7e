//! The generated core checked against `esp`, byte for byte: seeded random
//! traffic in both directions with gaps and back-pressure, tampered packets,
//! SA changes under traffic, bad descriptors, the sequence counter's ends, and
//! the driver's MMIO packet path.
//!
//! SAs are programmed by the driver's `Card` over the AXI4-Lite port; bulk
//! packets move through the stream ports (see `sim::stream`).

mod common;

use common::{check, check_run, counters, install, remove, stream, DrvCard, Expect};
use driver::{Direction, PacketRequest, SaIndex};
use esp::Transform;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regmap::sideband::Descriptor;
use regmap::Verdict;
use sim::harness::{descriptor, random_bytes, random_len, TestSa};
use sim::stream::{InPacket, Shaping};

/// Next-header values seen in practice (IPv4, IPv6, TCP, UDP) and a random one.
fn random_next_header(rng: &mut impl Rng) -> u8 {
    [4u8, 41, 6, 17, rng.gen()][rng.gen_range(0..5)]
}

/// One SA of `transform` with a start sequence number chosen to exercise the
/// counter: 1, a random value, or (ESN) just below the 32-bit wrap.
fn random_sa(rng: &mut impl Rng, transform: Transform, inbound: bool, esn: bool) -> TestSa {
    let mut sa = TestSa::random(rng, 0, transform, esn, inbound);
    sa.next_seq = match rng.gen_range(0..4) {
        0 => 1,
        1 => rng.gen_range(1..1u64 << 31),
        _ if esn => (1u64 << 32) - rng.gen_range(1..40),
        _ => (1u64 << 32) - 100_000,
    };
    sa
}

/// Which kinds of SA each random run uses.
fn kinds(gmac: bool) -> Vec<(Transform, bool)> {
    if gmac {
        vec![
            (Transform::AesGmac128, false),
            (Transform::AesGmac128, true),
            (Transform::AesGmac256, false),
            (Transform::AesGmac256, true),
        ]
    } else {
        vec![
            (Transform::AesGcm128, false),
            (Transform::AesGcm128, true),
            (Transform::AesGcm256, false),
            (Transform::AesGcm256, true),
        ]
    }
}

/// `count` random packets over 12 SAs of the given kinds in one direction,
/// in batches with different traffic shaping; every output compared with `esp`.
/// Filler SAs push some of the tested SAs to high table entries.
fn random_traffic(seed: u64, count: usize, gmac: bool, inbound: bool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut card = common::card();
    let kinds = kinds(gmac);
    let mut sas = Vec::new();
    for i in 0..12 {
        let (t, esn) = kinds[i % kinds.len()];
        let mut sa = random_sa(&mut rng, t, inbound, esn);
        install(&mut card, &mut sa);
        sas.push(sa);
        // Fillers (never used by traffic) between the tested entries.
        for _ in 0..rng.gen_range(0..40) {
            let mut filler = TestSa::random(&mut rng, 0, Transform::AesGcm128, false, !inbound);
            install(&mut card, &mut filler);
        }
    }
    let before = counters(&mut card);
    let shapings = [
        Shaping::full_rate(),
        Shaping::random(seed ^ 1, 0.2, 0.3),
        Shaping::random(seed ^ 2, 0.0, 0.7),
        Shaping::random(seed ^ 3, 0.6, 0.0),
    ];
    let (mut in_bytes, mut out_bytes) = (0u64, 0u64);
    let mut done = 0;
    let mut batch_no = 0;
    while done < count {
        let n = (count - done).min(250);
        let mut packets = Vec::with_capacity(n);
        let mut expect = Vec::with_capacity(n);
        for _ in 0..n {
            let k = rng.gen_range(0..sas.len());
            let sa = &mut sas[k];
            let len = random_len(&mut rng);
            let payload = random_bytes(&mut rng, len);
            let nh = random_next_header(&mut rng);
            let seq = sa.next_seq;
            if inbound {
                let datagram = sa.seal(seq, &payload, nh);
                packets.push(sa.inbound_packet(&datagram, seq));
                in_bytes += datagram.len() as u64;
                expect.push(Expect::opened(sa, seq, &payload, nh));
                // Senders move on; leave gaps now and then (the card keeps no window).
                sa.next_seq += rng.gen_range(1..3);
            } else {
                packets.push(sa.outbound_packet(&payload, nh));
                out_bytes += payload.len() as u64;
                expect.push(Expect::sealed(sa, seq, &payload, nh));
                sa.next_seq += 1;
            }
        }
        let shaping = shapings[batch_no % shapings.len()];
        let run = stream(&mut card, &packets, shaping);
        check_run(&run, &expect, &format!("seed {seed:#x} batch {batch_no}"));
        done += n;
        batch_no += 1;
    }
    let after = counters(&mut card);
    if inbound {
        assert_eq!(
            after.in_pkts - before.in_pkts,
            count as u64,
            "inbound packet counter"
        );
        assert_eq!(
            after.in_bytes - before.in_bytes,
            in_bytes,
            "inbound byte counter"
        );
    } else {
        assert_eq!(
            after.out_pkts - before.out_pkts,
            count as u64,
            "outbound packet counter"
        );
        assert_eq!(
            after.out_bytes - before.out_bytes,
            out_bytes,
            "outbound byte counter"
        );
    }
    assert_eq!(after.auth_fail, before.auth_fail);
    assert_eq!(after.bad_desc, before.bad_desc);
    // The driver reads each SA back: its counter is where the traffic left it.
    for sa in sas.iter().filter(|s| !s.inbound) {
        let rb = card.read_sa(SaIndex(sa.index)).expect("SA readback");
        assert_eq!(
            rb.seq,
            sa.next_seq - 1,
            "SA {} counter after traffic",
            sa.index
        );
    }
}

#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn random_outbound_gcm() {
    random_traffic(0x5eed_0001, 3000, false, false);
}

#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn random_inbound_gcm() {
    random_traffic(0x5eed_0002, 3000, false, true);
}

#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn random_outbound_gmac() {
    random_traffic(0x5eed_0003, 2000, true, false);
}

#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn random_inbound_gmac() {
    random_traffic(0x5eed_0004, 2000, true, true);
}

/// Every bit of a small datagram flipped in turn (SPI, sequence number, IV,
/// ciphertext or clear payload, ICV), and for larger ones one random bit per
/// region: all rejected with no data, each counted. The untouched datagram
/// still passes afterwards.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn tampered_packets_are_rejected() {
    let mut rng = StdRng::seed_from_u64(0x7a3e);
    let mut card = common::card();
    let mut sas = [
        random_sa(&mut rng, Transform::AesGcm128, true, false),
        random_sa(&mut rng, Transform::AesGcm256, true, true),
        random_sa(&mut rng, Transform::AesGmac128, true, false),
        random_sa(&mut rng, Transform::AesGmac256, true, false),
    ];
    for sa in &mut sas {
        install(&mut card, sa);
    }
    let before = counters(&mut card);
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    let (mut auth_failures, mut bad_desc) = (0u64, 0u64);
    for sa in &sas {
        let mut datagrams = Vec::new();
        let seq = sa.next_seq;
        let small = random_bytes(&mut rng, 21);
        let original = sa.seal(seq, &small, 17);
        for bit in 0..original.len() * 8 {
            datagrams.push((original.clone(), bit));
        }
        for len in [100usize, 1420, 9000] {
            let d = sa.seal(seq, &random_bytes(&mut rng, len), 4);
            let icv = d.len() - 16;
            for (lo, hi) in [(0usize, 4usize), (4, 8), (8, 16), (16, icv), (icv, d.len())] {
                datagrams.push((d.clone(), rng.gen_range(lo * 8..hi * 8)));
            }
        }
        for (mut d, bit) in datagrams {
            d[bit / 8] ^= 1 << (bit % 8);
            packets.push(sa.inbound_packet(&d, seq));
            // A flipped SPI is refused by the SPI check (a bad descriptor);
            // anything else fails the ICV.
            if bit < 32 {
                bad_desc += 1;
                expect.push(Expect::refused(Verdict::BadSpi, sa.index, true));
            } else {
                auth_failures += 1;
                expect.push(Expect::refused(Verdict::AuthFailed, sa.index, true));
            }
        }
        // With ESN, a wrong high half (from the descriptor) fails the ICV too.
        if sa.esn {
            let seq = (5u64 << 32) | 77;
            let mut p = sa.inbound_packet(&sa.seal(seq, &small, 17), seq);
            p.tuser = descriptor(Descriptor {
                sa_index: sa.index,
                inbound: true,
                next_header: 0,
                seq_hi: 4,
            });
            packets.push(p);
            auth_failures += 1;
            expect.push(Expect::refused(Verdict::AuthFailed, sa.index, true));
        }
        packets.push(sa.inbound_packet(&original, seq));
        expect.push(Expect::opened(sa, seq, &small, 17));
    }
    let run = stream(&mut card, &packets, Shaping::random(9, 0.1, 0.2));
    check_run(&run, &expect, "tampered");
    let after = counters(&mut card);
    assert_eq!(
        after.auth_fail - before.auth_fail,
        auth_failures,
        "ICV failures counted"
    );
    assert_eq!(
        after.bad_desc - before.bad_desc,
        bad_desc,
        "SPI mismatches counted as bad descriptors"
    );
    assert_eq!(
        after.in_pkts - before.in_pkts,
        sas.len() as u64,
        "only the untouched packets accepted"
    );
    let per_sa: u32 = sas
        .iter()
        .map(|sa| {
            card.read_sa(SaIndex(sa.index))
                .expect("SA readback")
                .auth_fail
        })
        .sum();
    assert_eq!(
        u64::from(per_sa),
        auth_failures,
        "per-SA ICV failure counters"
    );
}

/// The smallest case of the failure below: six 64-byte packets queued on the
/// stream, one SA command (a read-back of another SA) issued by the driver
/// while they go through; every packet must come out (the v1 core lost one
/// until hw commit a6c8234).
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn sa_command_during_stream_traffic_loses_no_packet() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut card = common::card();
    let mut a = TestSa::random(&mut rng, 0, Transform::AesGcm128, false, false);
    let mut c = TestSa::random(&mut rng, 0, Transform::AesGcm128, false, false);
    install(&mut card, &mut a);
    install(&mut card, &mut c);
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    for _ in 0..6 {
        let payload = random_bytes(&mut rng, 64);
        expect.push(Expect::sealed(&a, a.next_seq, &payload, 4));
        packets.push(a.outbound_packet(&payload, 4));
        a.next_seq += 1;
    }
    let mut shaping = Shaping::full_rate();
    shaping.idle_limit = 5_000;
    card.regs_mut()
        .model()
        .start_stream(packets.clone(), shaping);
    card.read_sa(SaIndex(c.index)).expect("SA readback");
    let run = card
        .regs_mut()
        .model()
        .finish_stream(packets.len())
        .expect("every packet comes out");
    check_run(&run, &expect, "command during traffic");
}

/// SA rekey (remove, install a new key in the freed entry), removal and
/// installation through the driver while packets for other SAs stream through;
/// every streamed packet stays correct, and afterwards the new key is in use
/// and the removed SA refuses packets.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn sa_changes_while_traffic_is_in_flight() {
    let mut rng = StdRng::seed_from_u64(0xc4a9);
    let mut card = common::card();
    let mut a = random_sa(&mut rng, Transform::AesGcm128, false, true);
    let mut b = random_sa(&mut rng, Transform::AesGcm256, true, false);
    let mut c_old = random_sa(&mut rng, Transform::AesGcm128, false, false);
    let mut d = random_sa(&mut rng, Transform::AesGmac128, false, false);
    for sa in [&mut a, &mut b, &mut c_old, &mut d] {
        install(&mut card, sa);
    }
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    let mut b_seq = b.next_seq;
    for i in 0..400 {
        let len = random_len(&mut rng).min(2000);
        let payload = random_bytes(&mut rng, len);
        if i % 2 == 0 {
            expect.push(Expect::sealed(&a, a.next_seq, &payload, 4));
            packets.push(a.outbound_packet(&payload, 4));
            a.next_seq += 1;
        } else {
            packets.push(b.inbound_packet(&b.seal(b_seq, &payload, 41), b_seq));
            expect.push(Expect::opened(&b, b_seq, &payload, 41));
            b_seq += 1;
        }
    }
    card.regs_mut()
        .model()
        .start_stream(packets.clone(), Shaping::random(3, 0.1, 0.3));
    // Let traffic start, then change the table under it.
    card.regs_mut().idle(200);
    remove(&mut card, c_old.index);
    let mut c_new = TestSa::random(&mut rng, 0, Transform::AesGcm256, false, false);
    c_new.next_seq = 1000;
    install(&mut card, &mut c_new);
    assert_eq!(
        c_new.index, c_old.index,
        "the driver reuses the freed entry"
    );
    let mut e = random_sa(&mut rng, Transform::AesGmac256, true, false);
    install(&mut card, &mut e);
    remove(&mut card, d.index);
    let pending = card
        .regs_mut()
        .model()
        .stream_engine()
        .map_or(0, |s| s.pending_inputs());
    assert!(
        pending > 0,
        "the SA changes must happen while packets are still queued"
    );
    let run = card
        .regs_mut()
        .model()
        .finish_stream(packets.len())
        .expect("stream");
    check_run(&run, &expect, "in-flight");

    // Afterwards: C encrypts with its new key and counter, D refuses, E opens.
    let payload = random_bytes(&mut rng, 333);
    let e_dg = e.seal(e.next_seq, &payload, 6);
    let after = [
        c_new.outbound_packet(&payload, 17),
        d.outbound_packet(&payload, 17),
        e.inbound_packet(&e_dg, e.next_seq),
    ];
    let want = [
        Expect::sealed(&c_new, 1000, &payload, 17),
        Expect::refused(Verdict::BadSa, d.index, false),
        Expect::opened(&e, e.next_seq, &payload, 6),
    ];
    check_run(
        &stream(&mut card, &after, Shaping::full_rate()),
        &want,
        "after-change",
    );
}

/// The driver's `update_sa` rewrites an installed entry in place (SPI and
/// sequence counter, same key); the next packet uses what it wrote.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn sa_update_in_place_takes_effect() {
    let mut rng = StdRng::seed_from_u64(0x0bda);
    let mut card = common::card();
    let mut old = random_sa(&mut rng, Transform::AesGcm128, false, false);
    install(&mut card, &mut old);
    let payload = random_bytes(&mut rng, 100);
    let mut moved = old.clone();
    moved.spi ^= 0x0101_0000;
    moved.next_seq = 77;
    card.update_sa(SaIndex(old.index), moved.card_sa())
        .expect("update");
    let run = stream(
        &mut card,
        &[moved.outbound_packet(&payload, 4)],
        Shaping::full_rate(),
    );
    check_run(
        &run,
        &[Expect::sealed(&moved, 77, &payload, 4)],
        "update (SPI, counter)",
    );
}

/// `Card::update_sa` with a new key re-installs the entry (the card expands the
/// new key), so the next packet is sealed with the new key and counter.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn sa_update_with_a_new_key_uses_the_new_key() {
    let mut rng = StdRng::seed_from_u64(0x0bdb);
    let mut card = common::card();
    let mut old = random_sa(&mut rng, Transform::AesGcm128, false, false);
    install(&mut card, &mut old);
    let payload = random_bytes(&mut rng, 100);
    let mut rekeyed = TestSa::random(&mut rng, old.index, Transform::AesGcm128, false, false);
    rekeyed.next_seq = 5;
    card.update_sa(SaIndex(old.index), rekeyed.card_sa())
        .expect("update");
    let run = stream(
        &mut card,
        &[rekeyed.outbound_packet(&payload, 4)],
        Shaping::full_rate(),
    );
    check_run(
        &run,
        &[Expect::sealed(&rekeyed, 5, &payload, 4)],
        "update (new key)",
    );
}

/// Bad descriptors (SA index beyond the table, entry not installed, oversized
/// and undersized packets, wrong direction, wrong SPI) are flagged with their
/// verdict and counted, and the next good packet passes.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn bad_descriptors_are_flagged_counted_and_do_not_wedge() {
    let mut rng = StdRng::seed_from_u64(0xbad);
    let mut card = common::card();
    let mut out_sa = random_sa(&mut rng, Transform::AesGcm128, false, false);
    let mut in_sa = random_sa(&mut rng, Transform::AesGcm256, true, true);
    install(&mut card, &mut out_sa);
    install(&mut card, &mut in_sa);
    let (o, i) = (out_sa.index, in_sa.index);
    let unused = 700u16;
    let before = counters(&mut card);
    let max = regmap::MAX_PACKET_BYTES as usize;
    let tu = |sa_index: u16, inbound: bool| {
        descriptor(Descriptor {
            sa_index,
            inbound,
            next_header: 4,
            seq_hi: 0,
        })
    };
    let n_sas = regmap::NUM_SAS as u16;
    let undersized =
        in_sa.seal(in_sa.next_seq, &[], 4)[..regmap::MIN_INBOUND_BYTES as usize - 1].to_vec();
    let mut wrong_spi = in_sa.seal(in_sa.next_seq, &[9; 40], 4);
    wrong_spi[0] ^= 0x80;
    let bad: Vec<(InPacket, Expect)> = vec![
        (
            InPacket {
                data: vec![1; 64],
                tuser: tu(n_sas, false),
            },
            Expect::refused(Verdict::BadSa, n_sas, false),
        ),
        (
            InPacket {
                data: vec![2; 64],
                tuser: tu(0xffff, false),
            },
            Expect::refused(Verdict::BadSa, 0xffff, false),
        ),
        (
            InPacket {
                data: vec![3; 64],
                tuser: tu(unused, false),
            },
            Expect::refused(Verdict::BadSa, unused, false),
        ),
        (
            InPacket {
                data: vec![4; max + 1],
                tuser: tu(o, false),
            },
            Expect::refused(Verdict::BadLength, o, false),
        ),
        (
            InPacket {
                data: vec![5; max + 300],
                tuser: tu(i, true),
            },
            Expect::refused(Verdict::BadLength, i, true),
        ),
        (
            InPacket {
                data: undersized,
                tuser: tu(i, true),
            },
            Expect::refused(Verdict::BadLength, i, true),
        ),
        (
            InPacket {
                data: vec![7; 64],
                tuser: tu(i, false),
            },
            Expect::refused(Verdict::DirectionMismatch, i, false),
        ),
        (
            InPacket {
                data: vec![8; 64],
                tuser: tu(o, true),
            },
            Expect::refused(Verdict::DirectionMismatch, o, true),
        ),
        (
            InPacket {
                data: wrong_spi,
                tuser: tu(i, true),
            },
            Expect::refused(Verdict::BadSpi, i, true),
        ),
    ];
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    let mut in_seq = in_sa.next_seq;
    for (k, (p, e)) in bad.into_iter().enumerate() {
        packets.push(p);
        expect.push(e);
        // The next good packet, alternating directions.
        let len = rng.gen_range(0..1500);
        let payload = random_bytes(&mut rng, len);
        if k % 2 == 0 {
            expect.push(Expect::sealed(&out_sa, out_sa.next_seq, &payload, 4));
            packets.push(out_sa.outbound_packet(&payload, 4));
            out_sa.next_seq += 1;
        } else {
            packets.push(in_sa.inbound_packet(&in_sa.seal(in_seq, &payload, 4), in_seq));
            expect.push(Expect::opened(&in_sa, in_seq, &payload, 4));
            in_seq += 1;
        }
    }
    let n_bad = expect.iter().filter(|e| e.verdict != Verdict::Ok).count() as u64;
    let run = stream(&mut card, &packets, Shaping::random(5, 0.1, 0.1));
    check_run(&run, &expect, "descriptor test");
    let after = counters(&mut card);
    assert_eq!(
        after.bad_desc - before.bad_desc,
        n_bad,
        "bad descriptors counted"
    );
    assert_eq!(
        after.auth_fail, before.auth_fail,
        "no ICV failure among them"
    );
}

/// Without ESN the outbound counter stops at 2^32 - 1 ("rekey required"),
/// never wraps; with ESN it carries into the high half (and the high half
/// enters the ICV).
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn sequence_counter_exhausts_without_esn_and_carries_with_it() {
    let mut rng = StdRng::seed_from_u64(0x5e9);
    let mut card = common::card();
    let top = u64::from(u32::MAX);
    let mut plain = TestSa::random(&mut rng, 0, Transform::AesGcm128, false, false);
    plain.next_seq = top - 1;
    let mut esn = TestSa::random(&mut rng, 0, Transform::AesGcm256, true, false);
    esn.next_seq = top - 1;
    install(&mut card, &mut plain);
    install(&mut card, &mut esn);
    let payload = random_bytes(&mut rng, 64);
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    for k in 0..4u64 {
        let seq = top - 1 + k;
        packets.push(plain.outbound_packet(&payload, 4));
        expect.push(if seq <= top {
            Expect::sealed(&plain, seq, &payload, 4)
        } else {
            Expect::refused(Verdict::SeqExhausted, plain.index, false)
        });
        packets.push(esn.outbound_packet(&payload, 4));
        expect.push(Expect::sealed(&esn, seq, &payload, 4));
    }
    check_run(
        &stream(&mut card, &packets, Shaping::full_rate()),
        &expect,
        "counter",
    );
}

/// The driver's own packet path (the MMIO packet window, `Card::process`)
/// gives the same bytes as `esp` in both directions.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn driver_packet_window_path_matches_esp() {
    let mut rng = StdRng::seed_from_u64(0x3310);
    let mut card = common::card();
    let mut out_sa = random_sa(&mut rng, Transform::AesGcm256, false, true);
    let mut in_sa = random_sa(&mut rng, Transform::AesGmac128, true, false);
    install(&mut card, &mut out_sa);
    install(&mut card, &mut in_sa);
    let sizes = [0usize, 1, 15, 16, 17, 64, 1420, 9000];
    let payloads: Vec<Vec<u8>> = sizes.iter().map(|&n| random_bytes(&mut rng, n)).collect();
    let datagrams: Vec<Vec<u8>> = payloads
        .iter()
        .enumerate()
        .map(|(k, p)| in_sa.seal(100 + k as u64, p, 41))
        .collect();
    let mut reqs = Vec::new();
    for (k, p) in payloads.iter().enumerate() {
        reqs.push(PacketRequest {
            sa_index: out_sa.index,
            direction: Direction::Outbound,
            next_header: 4,
            seq_hi: 0,
            data: p,
        });
        reqs.push(PacketRequest {
            sa_index: in_sa.index,
            direction: Direction::Inbound,
            next_header: 0,
            seq_hi: 0,
            data: &datagrams[k],
        });
    }
    let mut out = Vec::new();
    card.process(&reqs, &mut out).expect("driver packet path");
    assert_eq!(out.len(), reqs.len());
    for (k, p) in payloads.iter().enumerate() {
        let enc = &out[2 * k];
        let seq = out_sa.next_seq + k as u64;
        assert_eq!(enc.verdict, Verdict::Ok, "outbound {} B", p.len());
        assert_eq!(enc.seq, seq);
        assert_eq!(enc.data, out_sa.seal(seq, p, 4), "outbound {} B", p.len());
        let dec = &out[2 * k + 1];
        assert_eq!(dec.verdict, Verdict::Ok, "inbound {} B", p.len());
        assert_eq!((dec.seq, dec.next_header), (100 + k as u64, 41));
        assert_eq!(&dec.data, p, "inbound {} B", p.len());
    }
}

/// The checks themselves can fail: a packet compared with a wrong
/// expectation is caught (guards against a check that cannot fail).
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn a_wrong_expectation_is_caught() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut card: DrvCard = common::card();
    let mut sa = random_sa(&mut rng, Transform::AesGcm128, false, false);
    install(&mut card, &mut sa);
    let payload = random_bytes(&mut rng, 50);
    let run = stream(
        &mut card,
        &[sa.outbound_packet(&payload, 4)],
        Shaping::full_rate(),
    );
    let mut want = Expect::sealed(&sa, sa.next_seq, &payload, 4);
    check(&run.outputs[0], &want, "the right expectation");
    want.data[20] ^= 1;
    let caught = std::panic::catch_unwind(|| check(&run.outputs[0], &want, "deliberately wrong"));
    assert!(caught.is_err());
}
