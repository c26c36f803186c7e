//! Property tests: random, truncated and bit-flipped packets never panic and
//! never yield plaintext; every single-bit flip of a valid packet is rejected.

use esp::{BackendKind, InboundSa, Mode, OutboundSa, SaConfig, SeqNum, Spi, Transform, UdpEncap};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

fn cfg(t: Transform, esn: bool, tunnel: bool, udp: bool) -> SaConfig {
    let key: Vec<u8> = (0..t.key_material_len())
        .map(|i| (i * 31 + 7) as u8)
        .collect();
    let mut c = SaConfig::new(Spi(0xabcd_0001), t, &key).unwrap();
    c.esn = esn;
    c.backend = BackendKind::RustCrypto;
    if tunnel {
        c.mode = Mode::Tunnel {
            local: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            remote: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        };
    }
    c.encap = udp.then(UdpEncap::default);
    c
}

fn inner(n: usize) -> Vec<u8> {
    let total = 20 + 8 + n;
    let mut p = vec![0u8; total];
    esp::wire::ipv4::emit_header(
        &mut p,
        0,
        total as u16,
        64,
        17,
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
    )
    .unwrap();
    esp::wire::udp::emit_header(&mut p[20..], 1, 2, (8 + n) as u16).unwrap();
    p
}

fn transform() -> impl Strategy<Value = Transform> {
    prop::sample::select(Transform::ALL.to_vec())
}

/// One valid ESP packet (with outer IPv4 header) for the given parameters.
fn valid_packet(t: Transform, esn: bool, tunnel: bool, udp: bool, n: usize) -> (SaConfig, Vec<u8>) {
    let c = cfg(t, esn, tunnel, udp);
    let mut o = OutboundSa::new(&c).unwrap();
    let p = inner(n);
    let mut out = vec![0u8; o.encap_len(p.len())];
    let s = o.encap_packet(&p, &mut out).unwrap();
    out.truncate(s.len);
    (c, out)
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic_never_decrypt(t in transform(), esn: bool, tunnel: bool, udp: bool,
                                              data in prop::collection::vec(any::<u8>(), 0..300)) {
        let c = cfg(t, esn, tunnel, udp);
        let mut i = InboundSa::new(&c).unwrap();
        let mut d = data.clone();
        prop_assert!(i.decap_packet(&mut d).is_err());
        let mut d = data.clone();
        prop_assert!(i.open(&mut d).is_err());
        let _ = esp::wire::PacketInfo::parse(&data);
        let _ = esp::locate_esp(&data);
    }

    #[test]
    fn truncated_packets_rejected(t in transform(), esn: bool, tunnel: bool, udp: bool, n in 0usize..200, cut in any::<prop::sample::Index>()) {
        let (c, pkt) = valid_packet(t, esn, tunnel, udp, n);
        let len = cut.index(pkt.len());
        let mut i = InboundSa::new(&c).unwrap();
        let mut d = pkt[..len].to_vec();
        prop_assert!(i.decap_packet(&mut d).is_err());
        // The whole packet still opens afterwards: nothing was recorded.
        let mut d = pkt.clone();
        prop_assert!(i.decap_packet(&mut d).is_ok());
    }

    #[test]
    fn random_flips_rejected(t in transform(), esn: bool, tunnel: bool, udp: bool, n in 0usize..200,
                             flips in prop::collection::vec(any::<prop::sample::Index>(), 1..4)) {
        let (c, pkt) = valid_packet(t, esn, tunnel, udp, n);
        let outer = 20 + if udp { 8 } else { 0 };
        let mut d = pkt.clone();
        for f in &flips {
            // Flip inside the ESP part (the outer header is not protected by ESP).
            let bit = outer * 8 + f.index((pkt.len() - outer) * 8);
            d[bit / 8] ^= 1 << (bit % 8);
        }
        if d != pkt {
            let mut i = InboundSa::new(&c).unwrap();
            prop_assert!(i.decap_packet(&mut d).is_err());
        }
    }

    #[test]
    fn ah_verify_never_panics(alg in prop::sample::select(vec![esp::AhAlgorithm::HmacSha256_128, esp::AhAlgorithm::AesGmac128]),
                              data in prop::collection::vec(any::<u8>(), 0..300), v6: bool, proto_ah: bool) {
        let key: Vec<u8> = (0..alg.key_len()).map(|i| i as u8).collect();
        let c = esp::AhConfig::new(Spi(5), alg, &key).unwrap();
        let mut i = esp::AhInbound::new(&c).unwrap();
        let mut d = data.clone();
        // Make the header plausible half of the time so the deeper paths run.
        if d.len() > 40 && proto_ah {
            d[0] = if v6 { 0x60 } else { 0x45 };
            if v6 { d[6] = 51; } else { d[9] = 51; }
        }
        prop_assert!(i.verify(&mut d).is_err());
    }

    #[test]
    fn encap_never_panics_on_garbage(t in transform(), tunnel: bool, udp: bool, data in prop::collection::vec(any::<u8>(), 0..200)) {
        let c = cfg(t, false, tunnel, udp);
        let mut o = OutboundSa::new(&c).unwrap();
        let mut out = vec![0u8; o.encap_len(data.len())];
        let _ = o.encap_packet(&data, &mut out);
        let mut small = [0u8; 10];
        let _ = o.encap_packet(&data, &mut small);
    }
}

/// Every single-bit flip of the ESP part of valid packets is rejected, for
/// every transform, with and without ESN.
#[test]
fn every_single_bit_flip_rejected() {
    for t in Transform::ALL {
        for esn in [false, true] {
            let (c, pkt) = valid_packet(t, esn, true, false, 13);
            let mut i = InboundSa::new(&c).unwrap();
            for bit in 20 * 8..pkt.len() * 8 {
                let mut d = pkt.clone();
                d[bit / 8] ^= 1 << (bit % 8);
                let r = i.decap_packet(&mut d);
                assert!(r.is_err(), "{t:?} esn={esn}: flip of bit {bit} accepted");
            }
            // The unmodified packet is still accepted (no flip touched the window).
            let mut d = pkt.clone();
            assert_eq!(i.decap_packet(&mut d).unwrap().seq, SeqNum(1));
        }
    }
}
