//! The SA tests: both directions against each other.

use super::datagram::Cipher;
use super::*;
use crate::error::{ConfigError, DecapError, EncapError, SeqError};
use crate::types::{proto, SeqNum, Spi, Transform};

fn cfg(t: Transform) -> SaConfig {
    let key: Vec<u8> = (0..t.key_material_len()).map(|i| i as u8).collect();
    SaConfig::new(Spi(0x4242), t, &key).unwrap()
}

fn seal_one(o: &mut OutboundSa) -> Result<Sealed, EncapError> {
    let mut buf = [0u8; 128];
    o.seal(b"payload", proto::IPV4, &mut buf)
}

#[test]
fn key_length_checked_and_debug_redacted() {
    let e = SaConfig::new(Spi(1), Transform::AesGcm128, &[0u8; 16]).unwrap_err();
    assert!(matches!(
        e,
        ConfigError::KeyLength {
            expected: 20,
            got: 16,
            ..
        }
    ));
    let c = cfg(Transform::AesGcm256);
    let dbg = format!(
        "{c:?} {:?} {:?}",
        OutboundSa::new(&c).unwrap(),
        InboundSa::new(&c).unwrap()
    );
    assert!(dbg.contains("redacted"));
    // No key byte sequence leaks: the key is 0, 1, 2, ... so look for "[0, 1, 2".
    assert!(!dbg.contains("[0, 1, 2"));
    assert!(!dbg.contains("000102"));
}

#[test]
fn sequence_numbers_start_at_one_and_never_wrap() {
    let mut o = OutboundSa::new(&cfg(Transform::AesGcm128)).unwrap();
    assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(1));
    assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(2));
    o.set_next_seq(SeqNum(u32::MAX as u64)).unwrap();
    assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(u32::MAX as u64));
    assert_eq!(seal_one(&mut o), Err(EncapError::RekeyRequired));
    assert_eq!(o.next_seq(), None);
    assert_eq!(seal_one(&mut o), Err(EncapError::RekeyRequired));
}

#[test]
fn esn_counter_runs_to_u64_max() {
    let mut c = cfg(Transform::AesGcm128);
    c.esn = true;
    let mut o = OutboundSa::new(&c).unwrap();
    o.set_next_seq(SeqNum(u32::MAX as u64)).unwrap();
    assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(u32::MAX as u64));
    assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(1 << 32));
    o.set_next_seq(SeqNum(u64::MAX)).unwrap();
    assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(u64::MAX));
    assert_eq!(seal_one(&mut o), Err(EncapError::RekeyRequired));
}

#[test]
fn set_next_seq_is_monotonic_and_reserve_moves_on() {
    let mut o = OutboundSa::new(&cfg(Transform::AesGcm128)).unwrap();
    o.set_next_seq(SeqNum(100)).unwrap();
    assert!(matches!(
        o.set_next_seq(SeqNum(99)),
        Err(SeqError::Backwards { .. })
    ));
    o.set_next_seq(SeqNum(100)).unwrap();
    assert_eq!(o.reserve(10).unwrap(), SeqNum(100));
    assert_eq!(o.next_seq(), Some(SeqNum(110)));
    assert_eq!(o.set_next_seq(SeqNum(1 << 32)), Err(SeqError::Exhausted));
    o.set_next_seq(SeqNum(u32::MAX as u64 - 1)).unwrap();
    assert_eq!(o.reserve(3), Err(EncapError::RekeyRequired));
    assert_eq!(o.reserve(2).unwrap(), SeqNum(u32::MAX as u64 - 1));
    assert_eq!(o.next_seq(), None);
}

#[test]
fn lifetimes_soft_once_then_hard() {
    let mut c = cfg(Transform::AesGcm128);
    c.lifetime = Lifetime {
        soft_packets: Some(2),
        hard_packets: Some(3),
        soft_bytes: None,
        hard_bytes: None,
        soft_seq: None,
    };
    let mut o = OutboundSa::new(&c).unwrap();
    let mut i = InboundSa::new(&c).unwrap();
    let mut soft = Vec::new();
    for _ in 0..3 {
        let mut buf = [0u8; 128];
        let s = o.seal(b"x", proto::IPV4, &mut buf).unwrap();
        soft.push(s.soft_expired);
        let o2 = i.open(&mut buf[..s.len]).unwrap();
        assert_eq!(o2.soft_expired, s.soft_expired);
    }
    assert_eq!(soft, vec![false, true, false]);
    assert_eq!(seal_one(&mut o), Err(EncapError::HardLifetime));
    assert_eq!(
        o.usage(),
        Usage {
            packets: 3,
            bytes: 3
        }
    );
    let mut buf = [0u8; 128];
    let mut o3 = OutboundSa::new(&cfg(Transform::AesGcm128)).unwrap();
    o3.set_next_seq(SeqNum(10)).unwrap();
    let s = o3.seal(b"x", proto::IPV4, &mut buf).unwrap();
    assert_eq!(i.open(&mut buf[..s.len]), Err(DecapError::HardLifetime));

    // Byte limits.
    c.lifetime = Lifetime {
        soft_bytes: Some(10),
        hard_bytes: Some(20),
        ..Default::default()
    };
    let mut o = OutboundSa::new(&c).unwrap();
    let mut buf = [0u8; 128];
    assert!(!o.seal(&[0u8; 9], 4, &mut buf).unwrap().soft_expired);
    assert!(o.seal(&[0u8; 9], 4, &mut buf).unwrap().soft_expired);
    assert!(o.seal(&[0u8; 9], 4, &mut buf).is_ok());
    assert_eq!(
        o.seal(&[0u8; 9], 4, &mut buf),
        Err(EncapError::HardLifetime)
    );

    c.lifetime = Lifetime {
        soft_packets: Some(5),
        hard_packets: Some(4),
        ..Default::default()
    };
    assert_eq!(OutboundSa::new(&c).unwrap_err(), ConfigError::Lifetime);
}

#[test]
fn padding_is_monotonic_and_aligned() {
    for t in Transform::ALL {
        let c = cfg(t);
        let mut o = OutboundSa::new(&c).unwrap();
        let mut i = InboundSa::new(&c).unwrap();
        for n in 0..40usize {
            let payload: Vec<u8> = (0..n as u8).collect();
            let mut buf = vec![0u8; o.datagram_len(n)];
            let s = o.seal(&payload, 41, &mut buf).unwrap();
            assert_eq!(s.len, buf.len());
            let ct_len = s.len - t.header_len() - 16;
            assert_eq!(ct_len % t.pad_align(), 0);
            let op = i.open(&mut buf).unwrap();
            assert_eq!(&buf[op.payload.clone()], &payload[..]);
            let pad = ct_len - 2 - n;
            let h = t.header_len();
            let pad_bytes = &buf[h + n..h + n + pad];
            assert!(pad_bytes.iter().enumerate().all(|(k, &b)| b == k as u8 + 1));
            assert_eq!(buf[h + n + pad] as usize, pad);
            assert_eq!(buf[h + n + pad + 1], 41);
        }
    }
}

#[test]
fn trailer_errors_and_dummy_packets() {
    // GMAC leaves the payload in clear, so a sender with the key can craft
    // bad trailers; the receiver must name them.
    let c = cfg(Transform::AesGmac128);
    let o = OutboundSa::new(&c).unwrap();
    let mut i = InboundSa::new(&c).unwrap();
    let mut buf = [0u8; 64];
    let n = o
        .seal_at(SeqNum(1), None, b"abc", proto::NO_NEXT_HEADER, &mut buf)
        .unwrap();
    assert_eq!(i.open(&mut buf[..n]), Err(DecapError::DummyPacket));
    // The dummy packet still moved the window (it was authentic).
    let n = o.seal_at(SeqNum(1), None, b"abc", 4, &mut buf).unwrap();
    assert_eq!(i.open(&mut buf[..n]), Err(DecapError::Replayed(SeqNum(1))));

    // Pad length larger than the plaintext, checked after the ICV.
    let gm = match &o.core.cipher {
        Cipher::Gmac(g) => g,
        _ => unreachable!(),
    };
    let mut pkt = vec![0u8; 16 + 4 + 16];
    pkt[..4].copy_from_slice(&0x4242u32.to_be_bytes());
    pkt[4..8].copy_from_slice(&2u32.to_be_bytes());
    pkt[8..16].copy_from_slice(&2u64.to_be_bytes());
    pkt[16..20].copy_from_slice(&[1, 2, 200, 4]);
    let nonce = o.core.nonce(&pkt[8..16]);
    let tag = gm.tag(&nonce, &[&pkt[..20]]);
    pkt[20..].copy_from_slice(&tag);
    assert!(matches!(i.open(&mut pkt), Err(DecapError::BadTrailer(_))));
    // Non-monotonic padding.
    pkt[4..8].copy_from_slice(&3u32.to_be_bytes());
    pkt[8..16].copy_from_slice(&3u64.to_be_bytes());
    pkt[16..20].copy_from_slice(&[9, 9, 2, 4]);
    let nonce = o.core.nonce(&pkt[8..16]);
    let tag = gm.tag(&nonce, &[&pkt[..20]]);
    pkt[20..].copy_from_slice(&tag);
    assert!(matches!(i.open(&mut pkt), Err(DecapError::BadTrailer(_))));
}

#[test]
fn open_errors_in_order() {
    let c = cfg(Transform::AesGcm128);
    let mut o = OutboundSa::new(&c).unwrap();
    let mut i = InboundSa::new(&c).unwrap();
    let mut buf = [0u8; 64];
    let s = o.seal(b"abc", 4, &mut buf).unwrap();
    let pkt = buf[..s.len].to_vec();
    assert!(matches!(
        i.open(&mut pkt.clone()[..20]),
        Err(DecapError::Truncated(_))
    ));
    let mut p = pkt.clone();
    p[0] ^= 1;
    assert!(matches!(
        i.open(&mut p),
        Err(DecapError::SpiMismatch { .. })
    ));
    let mut p = pkt.clone();
    p[4..8].copy_from_slice(&[0, 0, 0, 0]);
    assert_eq!(i.open(&mut p), Err(DecapError::SeqZero));
    let mut p = pkt.clone();
    p[30] ^= 1;
    assert_eq!(i.open(&mut p), Err(DecapError::AuthFailed));
    // A failed ICV did not move the window.
    let mut p = pkt.clone();
    assert!(i.open(&mut p).is_ok());
    let mut p = pkt.clone();
    assert_eq!(i.open(&mut p), Err(DecapError::Replayed(SeqNum(1))));
}

#[test]
fn card_path_halves() {
    let mut c = cfg(Transform::AesGcm128);
    c.esn = true;
    let mut o = OutboundSa::new(&c).unwrap();
    let mut i = InboundSa::new(&c).unwrap();
    i.accept_verified(SeqNum::from_parts(3, 100), 0).unwrap();
    o.set_next_seq(SeqNum::from_parts(3, 200)).unwrap();
    let mut buf = [0u8; 64];
    let s = o.seal(b"abc", 4, &mut buf).unwrap();
    let seq = i.replay_check(200).unwrap();
    assert_eq!(seq, SeqNum::from_parts(3, 200));
    let op = i.open_at(seq, &mut buf[..s.len].to_vec()).unwrap();
    assert_eq!(op.next_header, 4);
    assert!(!i.accept_verified(seq, 3).unwrap());
    assert_eq!(i.replay_check(200), Err(DecapError::Replayed(seq)));
}

#[test]
fn sequence_space_soft_once_and_last_number_stops_both_directions() {
    let c = cfg(Transform::AesGcm128);
    let mut o = OutboundSa::new(&c).unwrap();
    let mut i = InboundSa::new(&c).unwrap();
    o.set_next_seq(SeqNum(SEQ_SOFT - 1)).unwrap();
    let mut soft = Vec::new();
    let mut seqs = Vec::new();
    // SEQ_SOFT - 1 .. SEQ_SOFT + 1, then jump to the last three numbers
    for k in 0..6 {
        if k == 3 {
            o.set_next_seq(SeqNum(SEQ_LAST - 2)).unwrap();
        }
        let mut buf = [0u8; 128];
        let s = o.seal(b"x", proto::IPV4, &mut buf).unwrap();
        let r = i.open(&mut buf[..s.len]).unwrap();
        assert_eq!(r.seq, s.seq);
        soft.push((s.soft_expired, r.soft_expired));
        seqs.push(s.seq.0);
    }
    assert_eq!(
        seqs,
        [
            SEQ_SOFT - 1,
            SEQ_SOFT,
            SEQ_SOFT + 1,
            SEQ_LAST - 2,
            SEQ_LAST - 1,
            SEQ_LAST
        ]
    );
    // soft exactly once per direction, at the first number at or past SEQ_SOFT
    assert_eq!(
        soft,
        [
            (false, false),
            (true, true),
            (false, false),
            (false, false),
            (false, false),
            (false, false)
        ]
    );
    // the last number was used: the counter never wraps
    assert_eq!(o.next_seq(), None);
    assert_eq!(seal_one(&mut o), Err(EncapError::RekeyRequired));
    assert!(o.lifetime().status().hard_reached);
    assert!(i.lifetime().status().hard_reached);
    assert_eq!(i.lifetime().status().seq_left, 0);
}

#[test]
fn esn_sequence_space_soft_is_far_past_32_bits() {
    let mut c = cfg(Transform::AesGcm128);
    c.esn = true;
    let mut o = OutboundSa::new(&c).unwrap();
    o.set_next_seq(SeqNum(SEQ_LAST)).unwrap();
    assert!(!seal_one(&mut o).unwrap().soft_expired);
    assert_eq!(
        seal_one(&mut o).unwrap().seq,
        SeqNum(SEQ_LAST + 1),
        "no wrap with ESN"
    );
    o.set_next_seq(SeqNum(ESN_SEQ_SOFT)).unwrap();
    assert!(seal_one(&mut o).unwrap().soft_expired);
    o.set_next_seq(SeqNum(ESN_SEQ_LAST)).unwrap();
    assert!(!seal_one(&mut o).unwrap().soft_expired);
    assert_eq!(o.next_seq(), None);
    assert_eq!(seal_one(&mut o), Err(EncapError::RekeyRequired));
}

#[test]
fn configured_earlier_sequence_soft_limit() {
    let mut c = cfg(Transform::AesGcm128);
    c.lifetime.soft_seq = Some(5);
    let mut o = OutboundSa::new(&c).unwrap();
    let soft: Vec<bool> = (0..7)
        .map(|_| seal_one(&mut o).unwrap().soft_expired)
        .collect();
    assert_eq!(soft, [false, false, false, false, true, false, false]);
}
