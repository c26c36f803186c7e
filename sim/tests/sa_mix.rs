//! Every packet on a different SA: the whole SA table (1024 entries) installed
//! with every kind the card carries (AES-128/256, GCM and GMAC, with and without
//! ESN, both directions), then random traffic where no two consecutive packets
//! share an SA, byte for byte against `esp`. SAs are removed and reinstalled with
//! new keys between batches while the others keep their counters, and GMAC with
//! ESN gets a length sweep around the 16-byte block boundaries (its hashed header
//! is 20 bytes, so the payload straddles the GHASH blocks).

mod common;

use common::{check_run, counters, install, remove, stream, DrvCard, Expect};
use driver::SaIndex;
use esp::Transform;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sim::harness::{random_bytes, random_len, TestSa};
use sim::stream::Shaping;

/// The kinds of SA the card carries: transform and ESN.
const KINDS: [(Transform, bool); 8] = [
    (Transform::AesGcm128, false),
    (Transform::AesGcm128, true),
    (Transform::AesGcm256, false),
    (Transform::AesGcm256, true),
    (Transform::AesGmac128, false),
    (Transform::AesGmac128, true),
    (Transform::AesGmac256, false),
    (Transform::AesGmac256, true),
];

/// A random SA of kind `k` (direction from `inbound`) with a start sequence
/// number: 1, random, or (ESN) just below the 32-bit wrap.
fn sa_of_kind(rng: &mut impl Rng, k: usize, inbound: bool) -> TestSa {
    let (t, esn) = KINDS[k % KINDS.len()];
    let mut sa = TestSa::random(rng, 0, t, esn, inbound);
    sa.next_seq = match rng.gen_range(0..3) {
        0 => 1,
        1 => rng.gen_range(1..1u64 << 30),
        _ if esn => (1u64 << 32) - rng.gen_range(1..20),
        _ => rng.gen_range(1..1u64 << 31),
    };
    sa
}

/// Installs `n` SAs, kinds and directions spread evenly.
fn install_table(card: &mut DrvCard, rng: &mut impl Rng, n: usize) -> Vec<TestSa> {
    (0..n)
        .map(|i| {
            let mut sa = sa_of_kind(rng, i, (i / KINDS.len()) % 2 == 1);
            install(card, &mut sa);
            sa
        })
        .collect()
}

/// One packet on `sa` with `payload`: its stream input and expected output.
fn packet(rng: &mut impl Rng, sa: &mut TestSa, payload: &[u8]) -> (sim::stream::InPacket, Expect) {
    let nh = [4u8, 41, 6, 17][rng.gen_range(0..4)];
    let seq = sa.next_seq;
    if sa.inbound {
        let datagram = sa.seal(seq, payload, nh);
        sa.next_seq += rng.gen_range(1..3);
        (
            sa.inbound_packet(&datagram, seq),
            Expect::opened(sa, seq, payload, nh),
        )
    } else {
        sa.next_seq += 1;
        (
            sa.outbound_packet(payload, nh),
            Expect::sealed(sa, seq, payload, nh),
        )
    }
}

/// `count` random packets over the whole table, each on another SA than the one
/// before, in batches with different shaping; between batches a few SAs are
/// replaced by new ones (new keys, other kinds) in their table entries.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn every_packet_on_another_sa_of_1024() {
    let mut rng = StdRng::seed_from_u64(0x5a_0001);
    let mut card = common::card();
    let n_sas = regmap::NUM_SAS as usize;
    let mut sas = install_table(&mut card, &mut rng, n_sas);
    let before = counters(&mut card);
    let shapings = [
        Shaping::full_rate(),
        Shaping::random(0x11, 0.2, 0.3),
        Shaping::random(0x12, 0.0, 0.5),
    ];
    let count = 2400;
    let mut prev = usize::MAX;
    let (mut n_in, mut n_out) = (0u64, 0u64);
    let mut gmac_esn_ok = 0;
    for batch in 0..count / 400 {
        let mut packets = Vec::new();
        let mut expect = Vec::new();
        for _ in 0..400 {
            let mut k = rng.gen_range(0..sas.len());
            while k == prev {
                k = rng.gen_range(0..sas.len());
            }
            prev = k;
            let len = random_len(&mut rng);
            let payload = random_bytes(&mut rng, len);
            let sa = &mut sas[k];
            if sa.esn && matches!(sa.transform, Transform::AesGmac128 | Transform::AesGmac256) {
                gmac_esn_ok += 1;
            }
            if sa.inbound {
                n_in += 1;
            } else {
                n_out += 1;
            }
            let (p, e) = packet(&mut rng, sa, &payload);
            packets.push(p);
            expect.push(e);
        }
        let run = stream(&mut card, &packets, shapings[batch % shapings.len()]);
        check_run(&run, &expect, &format!("batch {batch}"));
        // Replace a few SAs: remove, then install another kind in the freed entry.
        for _ in 0..8 {
            let k = rng.gen_range(0..sas.len());
            let index = sas[k].index;
            remove(&mut card, index);
            let (kind, inbound) = (rng.gen_range(0..KINDS.len()), rng.gen());
            let mut sa = sa_of_kind(&mut rng, kind, inbound);
            install(&mut card, &mut sa);
            assert_eq!(sa.index, index, "the driver reuses the freed entry");
            sas[k] = sa;
        }
    }
    assert!(
        gmac_esn_ok > 100,
        "GMAC with ESN in the mix ({gmac_esn_ok})"
    );
    let after = counters(&mut card);
    assert_eq!(after.in_pkts - before.in_pkts, n_in, "inbound packets");
    assert_eq!(after.out_pkts - before.out_pkts, n_out, "outbound packets");
    assert_eq!(after.auth_fail, before.auth_fail, "no ICV failure");
    assert_eq!(after.bad_desc, before.bad_desc, "no refused packet");
    // Outbound counters are where the traffic left them, in every entry.
    for sa in sas.iter().filter(|s| !s.inbound) {
        let rb = card.read_sa(SaIndex(sa.index)).expect("SA readback");
        assert_eq!(rb.seq, sa.next_seq - 1, "SA {} counter", sa.index);
    }
}

/// GMAC with ESN, both directions and key sizes, every payload length 0..=80
/// (data ending on each byte of a block, so on and off the GHASH boundary), each
/// packet between packets of GCM SAs so the SA changes every packet.
#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn gmac_esn_length_sweep_between_other_sas() {
    let mut rng = StdRng::seed_from_u64(0x5a_0002);
    let mut card = common::card();
    let mut gmac: Vec<TestSa> = [
        (Transform::AesGmac128, false),
        (Transform::AesGmac256, false),
        (Transform::AesGmac128, true),
        (Transform::AesGmac256, true),
    ]
    .into_iter()
    .map(|(t, inbound)| {
        let mut sa = TestSa::random(&mut rng, 0, t, true, inbound);
        sa.next_seq = (1u64 << 32) - 40;
        install(&mut card, &mut sa);
        sa
    })
    .collect();
    let mut gcm: Vec<TestSa> = (0..4)
        .map(|i| {
            let mut sa = sa_of_kind(&mut rng, i, i % 2 == 1);
            install(&mut card, &mut sa);
            sa
        })
        .collect();
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    for len in 0..=80usize {
        for g in gmac.iter_mut() {
            let payload = random_bytes(&mut rng, len);
            let (p, e) = packet(&mut rng, g, &payload);
            packets.push(p);
            expect.push(e);
            let o = &mut gcm[rng.gen_range(0..4)];
            let n = rng.gen_range(0..100);
            let payload = random_bytes(&mut rng, n);
            let (p, e) = packet(&mut rng, o, &payload);
            packets.push(p);
            expect.push(e);
        }
    }
    let run = stream(&mut card, &packets, Shaping::full_rate());
    check_run(&run, &expect, "GMAC ESN sweep");
}
