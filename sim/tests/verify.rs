//! The generated core checked against `esp`, byte for byte: published vectors,
//! seeded random traffic in both directions with gaps and back-pressure,
//! tampered packets, SA changes under traffic, bad descriptors.
//!
//! SAs are programmed over the AXI4-Lite port through the driver's register
//! trait; packets move through the stream ports (see `sim::stream`).

mod common;

use common::{check, counters, install, remove, Expect, NEEDS_CORE};
use esp::Transform;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regmap::sideband::Descriptor;
use regmap::Verdict;
use sim::harness::{descriptor, random_bytes, random_len, TestSa};
use sim::stream::{self, InPacket, Shaping};
use sim::SimCard;

/// Next-header values seen in practice (IPv4, IPv6, TCP, UDP) and a random one.
fn random_next_header(rng: &mut impl Rng) -> u8 {
    [4u8, 41, 6, 17, rng.gen()][rng.gen_range(0..5)]
}

/// One SA of `transform` with a start sequence number chosen to exercise the
/// counter: 1, a random value, or (ESN) just below the 32-bit wrap.
fn random_sa(
    rng: &mut impl Rng,
    index: u16,
    transform: Transform,
    inbound: bool,
    esn: bool,
) -> TestSa {
    let mut sa = TestSa::random(rng, index, transform, esn, inbound);
    sa.next_seq = match rng.gen_range(0..4) {
        0 => 1,
        1 => rng.gen_range(1..1u64 << 31),
        _ if esn => (1u64 << 32) - rng.gen_range(1..40),
        _ => (1u64 << 32) - 100_000,
    };
    sa
}

/// Which kinds of SA each random run uses (GMAC with ESN is not in layout 1).
fn kinds(gmac: bool) -> Vec<(Transform, bool)> {
    if gmac {
        vec![
            (Transform::AesGmac128, false),
            (Transform::AesGmac256, false),
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
fn random_traffic(seed: u64, count: usize, gmac: bool, inbound: bool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut card = common::card();
    let kinds = kinds(gmac);
    let mut sas: Vec<TestSa> = (0..12)
        .map(|i| {
            let (t, esn) = kinds[i % kinds.len()];
            // Spread the SAs over the table, including its last entry.
            let index = if i == 0 {
                (regmap::NUM_SAS - 1) as u16
            } else {
                rng.gen_range(0..regmap::NUM_SAS as u16)
            };
            random_sa(&mut rng, index, t, inbound, esn)
        })
        .collect();
    sas.sort_by_key(|s| s.index);
    sas.dedup_by_key(|s| s.index);
    for sa in &sas {
        install(&mut card, sa);
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
            let datagram = sa.seal(seq, &payload, nh);
            if inbound {
                packets.push(sa.inbound_packet(&datagram, seq));
                in_bytes += datagram.len() as u64;
                expect.push(Expect {
                    verdict: Verdict::Ok,
                    data: payload,
                    sa_index: sa.index,
                    inbound,
                    seq,
                    next_header: nh,
                });
                // Senders move on; leave gaps now and then (the card keeps no window).
                sa.next_seq += rng.gen_range(1..3);
            } else {
                packets.push(sa.outbound_packet(&payload, nh));
                out_bytes += payload.len() as u64;
                expect.push(Expect {
                    verdict: Verdict::Ok,
                    data: datagram,
                    sa_index: sa.index,
                    inbound,
                    seq,
                    next_header: nh,
                });
                sa.next_seq += 1;
            }
        }
        let shaping = shapings[batch_no % shapings.len()];
        let run = card
            .stream(&packets, shaping)
            .unwrap_or_else(|e| panic!("batch {batch_no}: {e}"));
        assert_eq!(run.outputs.len(), packets.len());
        for (i, (o, e)) in run.outputs.iter().zip(&expect).enumerate() {
            check(
                o,
                e,
                &format!(
                    "seed {seed} batch {batch_no} packet {i} ({} bytes in)",
                    packets[i].data.len()
                ),
            );
        }
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

/// Every bit of a small datagram flipped in turn (header, IV, ciphertext or
/// clear payload, ICV), and for larger ones one random bit per region: all
/// rejected with no data, each ICV failure counted. The untouched datagram
/// still passes afterwards.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn tampered_packets_are_rejected() {
    let _ = NEEDS_CORE;
    let mut rng = StdRng::seed_from_u64(0x7a3e);
    let mut card = common::card();
    let sas = [
        random_sa(&mut rng, 1, Transform::AesGcm128, true, false),
        random_sa(&mut rng, 2, Transform::AesGcm256, true, true),
        random_sa(&mut rng, 3, Transform::AesGmac128, true, false),
        random_sa(&mut rng, 4, Transform::AesGmac256, true, false),
    ];
    for sa in &sas {
        install(&mut card, sa);
    }
    let before = counters(&mut card);
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    let mut auth_failures = 0u64;
    let mut bad_desc = 0u64;
    for sa in &sas {
        let mut datagrams = Vec::new();
        let seq = sa.next_seq;
        let small = random_bytes(&mut rng, 21);
        let d = sa.seal(seq, &small, 17);
        // Every bit of the small one.
        for bit in 0..d.len() * 8 {
            datagrams.push((d.clone(), bit));
        }
        // One random bit per region of larger ones.
        for len in [100usize, 1420, 9000] {
            let p = random_bytes(&mut rng, len);
            let d = sa.seal(seq, &p, 4);
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
            let d = sa.seal(seq, &small, 17);
            let mut p = sa.inbound_packet(&d, seq);
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
        // The original still opens.
        packets.push(sa.inbound_packet(&d, seq));
        expect.push(Expect {
            verdict: Verdict::Ok,
            data: small.clone(),
            sa_index: sa.index,
            inbound: true,
            seq,
            next_header: 17,
        });
    }
    let run = card
        .stream(&packets, Shaping::random(9, 0.1, 0.2))
        .expect("stream");
    assert_eq!(run.outputs.len(), packets.len());
    for (i, (o, e)) in run.outputs.iter().zip(&expect).enumerate() {
        check(o, e, &format!("tampered packet {i}"));
    }
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
}

/// SA rewrite (new key, same index), removal and installation over the
/// register port while packets for other SAs stream through; every streamed
/// packet stays correct, and afterwards the rewritten SA uses its new key and
/// the removed one refuses packets.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn sa_changes_while_traffic_is_in_flight() {
    let mut rng = StdRng::seed_from_u64(0xc4a9);
    let mut card = common::card();
    let mut a = random_sa(&mut rng, 10, Transform::AesGcm128, false, true);
    let b = random_sa(&mut rng, 11, Transform::AesGcm256, true, false);
    let c_old = random_sa(&mut rng, 12, Transform::AesGcm128, false, false);
    let d = random_sa(&mut rng, 13, Transform::AesGmac128, false, false);
    for sa in [&a, &b, &c_old, &d] {
        install(&mut card, sa);
    }
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    let mut b_seq = b.next_seq;
    for i in 0..400 {
        let len = random_len(&mut rng).min(2000);
        let payload = random_bytes(&mut rng, len);
        if i % 2 == 0 {
            let seq = a.next_seq;
            a.next_seq += 1;
            expect.push(Expect {
                verdict: Verdict::Ok,
                data: a.seal(seq, &payload, 4),
                sa_index: a.index,
                inbound: false,
                seq,
                next_header: 4,
            });
            packets.push(a.outbound_packet(&payload, 4));
        } else {
            let dg = b.seal(b_seq, &payload, 41);
            packets.push(b.inbound_packet(&dg, b_seq));
            expect.push(Expect {
                verdict: Verdict::Ok,
                data: payload,
                sa_index: b.index,
                inbound: true,
                seq: b_seq,
                next_header: 41,
            });
            b_seq += 1;
        }
    }
    card.model()
        .start_stream(packets.clone(), Shaping::random(3, 0.1, 0.3));
    // Let traffic start, then change the table under it.
    card.idle(200);
    let mut c_new = TestSa::random(&mut rng, 12, Transform::AesGcm256, false, false);
    c_new.next_seq = 1000;
    install(&mut card, &c_new);
    remove(&mut card, d.index);
    let e = random_sa(&mut rng, 14, Transform::AesGmac256, true, false);
    install(&mut card, &e);
    let pending = card
        .model()
        .stream_engine()
        .map(|s| s.pending_inputs())
        .unwrap_or(0);
    assert!(
        pending > 0,
        "the SA changes must happen while packets are still queued"
    );
    let run = card.model().finish_stream(packets.len()).expect("stream");
    for (i, (o, x)) in run.outputs.iter().zip(&expect).enumerate() {
        check(o, x, &format!("in-flight packet {i}"));
    }

    // Afterwards: C encrypts with its new key and counter, D refuses, E opens.
    let payload = random_bytes(&mut rng, 333);
    let e_dg = e.seal(e.next_seq, &payload, 6);
    let after = vec![
        c_new.outbound_packet(&payload, 17),
        d.outbound_packet(&payload, 17),
        e.inbound_packet(&e_dg, e.next_seq),
    ];
    let want = [
        Expect {
            verdict: Verdict::Ok,
            data: c_new.seal(1000, &payload, 17),
            sa_index: 12,
            inbound: false,
            seq: 1000,
            next_header: 17,
        },
        Expect::refused(Verdict::BadSa, d.index, false),
        Expect {
            verdict: Verdict::Ok,
            data: payload.clone(),
            sa_index: e.index,
            inbound: true,
            seq: e.next_seq,
            next_header: 6,
        },
    ];
    let run = card.stream(&after, Shaping::full_rate()).expect("stream");
    for (i, (o, x)) in run.outputs.iter().zip(&want).enumerate() {
        check(o, x, &format!("after-change packet {i}"));
    }
}

/// Bad descriptors (SA index beyond the table, entry not installed, oversized
/// and undersized packets, wrong direction, wrong SPI) are flagged with their
/// verdict and counted, and the next good packet passes.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn bad_descriptors_are_flagged_counted_and_do_not_wedge() {
    let mut rng = StdRng::seed_from_u64(0xbad);
    let mut card = common::card();
    let mut out_sa = random_sa(&mut rng, 5, Transform::AesGcm128, false, false);
    let in_sa = random_sa(&mut rng, 6, Transform::AesGcm256, true, true);
    install(&mut card, &out_sa);
    install(&mut card, &in_sa);
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
    let bad: Vec<(InPacket, Expect)> = vec![
        (
            InPacket {
                data: vec![1; 64],
                tuser: tu(regmap::NUM_SAS as u16, false),
            },
            Expect::refused(Verdict::BadSa, regmap::NUM_SAS as u16, false),
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
                tuser: tu(7, false),
            },
            Expect::refused(Verdict::BadSa, 7, false),
        ),
        (
            InPacket {
                data: vec![4; max + 1],
                tuser: tu(5, false),
            },
            Expect::refused(Verdict::BadLength, 5, false),
        ),
        (
            InPacket {
                data: vec![5; max + 300],
                tuser: tu(6, true),
            },
            Expect::refused(Verdict::BadLength, 6, true),
        ),
        (
            InPacket {
                data: in_sa.seal(in_sa.next_seq, &[], 4)[..regmap::MIN_INBOUND_BYTES as usize - 1]
                    .to_vec(),
                tuser: tu(6, true),
            },
            Expect::refused(Verdict::BadLength, 6, true),
        ),
        (
            InPacket {
                data: vec![7; 64],
                tuser: tu(6, false),
            },
            Expect::refused(Verdict::DirectionMismatch, 6, false),
        ),
        (
            InPacket {
                data: vec![8; 64],
                tuser: tu(5, true),
            },
            Expect::refused(Verdict::DirectionMismatch, 5, true),
        ),
        (
            InPacket {
                data: {
                    let mut d = in_sa.seal(in_sa.next_seq, &[9; 40], 4);
                    d[0] ^= 0x80;
                    d
                },
                tuser: tu(6, true),
            },
            Expect::refused(Verdict::BadSpi, 6, true),
        ),
    ];
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    let mut in_seq = in_sa.next_seq;
    for (i, (p, e)) in bad.into_iter().enumerate() {
        packets.push(p);
        expect.push(e);
        // The next good packet, alternating directions.
        let len = rng.gen_range(0..1500);
        let payload = random_bytes(&mut rng, len);
        if i % 2 == 0 {
            let seq = out_sa.next_seq;
            out_sa.next_seq += 1;
            expect.push(Expect {
                verdict: Verdict::Ok,
                data: out_sa.seal(seq, &payload, 4),
                sa_index: 5,
                inbound: false,
                seq,
                next_header: 4,
            });
            packets.push(out_sa.outbound_packet(&payload, 4));
        } else {
            let dg = in_sa.seal(in_seq, &payload, 4);
            packets.push(in_sa.inbound_packet(&dg, in_seq));
            expect.push(Expect {
                verdict: Verdict::Ok,
                data: payload,
                sa_index: 6,
                inbound: true,
                seq: in_seq,
                next_header: 4,
            });
            in_seq += 1;
        }
    }
    let n_bad = expect.iter().filter(|e| e.verdict != Verdict::Ok).count() as u64;
    let run = card
        .stream(&packets, Shaping::random(5, 0.1, 0.1))
        .expect("stream");
    assert_eq!(run.outputs.len(), packets.len());
    for (i, (o, e)) in run.outputs.iter().zip(&expect).enumerate() {
        check(o, e, &format!("descriptor test packet {i}"));
    }
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
/// never wraps; with ESN it carries into the high half.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn sequence_counter_exhausts_without_esn_and_carries_with_it() {
    let mut rng = StdRng::seed_from_u64(0x5e9);
    let mut card = common::card();
    let mut plain = TestSa::random(&mut rng, 20, Transform::AesGcm128, false, false);
    plain.next_seq = u64::from(u32::MAX) - 1;
    let mut esn = TestSa::random(&mut rng, 21, Transform::AesGcm256, true, false);
    esn.next_seq = u64::from(u32::MAX) - 1;
    install(&mut card, &plain);
    install(&mut card, &esn);
    let payload = random_bytes(&mut rng, 64);
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    for k in 0..4u64 {
        let seq = u64::from(u32::MAX) - 1 + k;
        packets.push(plain.outbound_packet(&payload, 4));
        expect.push(if seq <= u64::from(u32::MAX) {
            Expect {
                verdict: Verdict::Ok,
                data: plain.seal(seq, &payload, 4),
                sa_index: 20,
                inbound: false,
                seq,
                next_header: 4,
            }
        } else {
            Expect::refused(Verdict::SeqExhausted, 20, false)
        });
        packets.push(esn.outbound_packet(&payload, 4));
        expect.push(Expect {
            verdict: Verdict::Ok,
            data: esn.seal(seq, &payload, 4),
            sa_index: 21,
            inbound: false,
            seq,
            next_header: 4,
        });
    }
    let run = card.stream(&packets, Shaping::full_rate()).expect("stream");
    for (i, (o, e)) in run.outputs.iter().zip(&expect).enumerate() {
        check(o, e, &format!("counter packet {i}"));
    }
}

/// The stream harness itself can fail: a packet compared with the wrong
/// expectation is caught (guards against a check that cannot fail).
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn a_wrong_expectation_is_caught() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut card: SimCard = common::card();
    let sa = random_sa(&mut rng, 30, Transform::AesGcm128, false, false);
    install(&mut card, &sa);
    let payload = random_bytes(&mut rng, 50);
    let run = stream::run(
        card.model(),
        &[sa.outbound_packet(&payload, 4)],
        Shaping::full_rate(),
    )
    .expect("stream");
    let mut wrong = sa.seal(sa.next_seq, &payload, 4);
    wrong[20] ^= 1;
    let want = Expect {
        verdict: Verdict::Ok,
        data: wrong,
        sa_index: 30,
        inbound: false,
        seq: sa.next_seq,
        next_header: 4,
    };
    let caught = std::panic::catch_unwind(|| check(&run.outputs[0], &want, "deliberately wrong"));
    assert!(caught.is_err());
}
