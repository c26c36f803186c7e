//! Inbound RFC 4303 padding (section 2.4): the card accepts a datagram only when the
//! pad bytes before the pad length are 1, 2, 3, ..., and reports `BadTrailer` (no
//! data) otherwise, even though the ICV is right. The datagrams are sealed here with
//! AES-GCM directly (`esp::crypto`), so the trailer can be anything; the expected
//! verdict is stated by the case and must also be what `esp` decides.

mod common;

use common::{install, stream};
use esp::crypto::{Aead, BackendKind, GcmKey};
use esp::{DecapError, SeqNum, Transform};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regmap::Verdict;
use sim::harness::{random_bytes, result_info, TestSa};
use sim::stream::Shaping;

const NEXT_HEADER: u8 = 4;

/// An ESP datagram (SPI | SeqLo | IV | ciphertext | ICV) whose plaintext is `plain`.
fn seal_raw(sa: &TestSa, seq: u32, iv: [u8; 8], plain: &[u8]) -> Vec<u8> {
    let klen = sa.key_material.len() - 4;
    let key = GcmKey::new(BackendKind::RustCrypto, &sa.key_material[..klen]).expect("key");
    let mut nonce = [0u8; 12];
    nonce[..4].copy_from_slice(&sa.key_material[klen..]);
    nonce[4..].copy_from_slice(&iv);
    let mut head = sa.spi.to_be_bytes().to_vec();
    head.extend_from_slice(&seq.to_be_bytes());
    let mut body = plain.to_vec();
    let tag = key.seal_in_place(&nonce, &head, &mut body).expect("seal");
    head.extend_from_slice(&iv);
    head.extend_from_slice(&body);
    head.extend_from_slice(&tag);
    head
}

#[test]
fn inbound_pad_bytes_must_count_up_from_one() {
    let mut rng = StdRng::seed_from_u64(0x9adc);
    let mut card = common::card();
    let mut sa = TestSa::random(&mut rng, 0, Transform::AesGcm256, false, true);
    install(&mut card, &mut sa);

    // (payload, pad bytes, accepted?)
    let mut cases: Vec<(Vec<u8>, Vec<u8>, bool)> = Vec::new();
    for pad_len in [0usize, 1, 2, 3, 5, 14, 15, 16, 17, 30, 33, 128, 254, 255] {
        for extra in [0usize, 4, 16, 61] {
            // Payload length so that payload + pad + 2 is a multiple of 4.
            let base = 3 + extra;
            let len = base + (4 - (base + pad_len + 2) % 4) % 4;
            let payload = random_bytes(&mut rng, len);
            let good: Vec<u8> = (1..=pad_len).map(|i| i as u8).collect();
            cases.push((payload.clone(), good.clone(), true));
            if pad_len == 0 {
                continue;
            }
            // One wrong byte: first, middle, last.
            for at in [0, pad_len / 2, pad_len - 1] {
                let mut bad = good.clone();
                bad[at] ^= 1 << rng.gen_range(0..8);
                cases.push((payload.clone(), bad, false));
            }
            // The run shifted by one (2, 3, ..., P+1) and all zeros.
            let shifted: Vec<u8> = (2..=pad_len + 1).map(|i| i as u8).collect();
            cases.push((payload.clone(), shifted, false));
            cases.push((payload.clone(), vec![0u8; pad_len], false));
        }
    }

    let mut packets = Vec::new();
    let mut want = Vec::new();
    for (i, (payload, pad, accepted)) in cases.iter().enumerate() {
        let seq = 1 + i as u32;
        let mut plain = payload.clone();
        plain.extend_from_slice(pad);
        plain.push(pad.len() as u8);
        plain.push(NEXT_HEADER);
        let mut iv = [0u8; 8];
        rng.fill(&mut iv);
        let dg = seal_raw(&sa, seq, iv, &plain);
        // The software reference agrees with the case.
        let mut copy = dg.clone();
        match sa.oracle_in().open_at(SeqNum(u64::from(seq)), &mut copy) {
            Ok(o) => {
                assert!(accepted, "case {i}: esp accepted a bad pad");
                assert_eq!(&copy[o.payload], &payload[..], "case {i}: esp payload");
            }
            Err(DecapError::BadTrailer(_)) => {
                assert!(!accepted, "case {i}: esp refused a good pad")
            }
            Err(e) => panic!("case {i}: esp: {e}"),
        }
        packets.push(sa.inbound_packet(&dg, u64::from(seq)));
        want.push((payload.clone(), *accepted));
    }

    let run = stream(&mut card, &packets, Shaping::random(7, 0.2, 0.2));
    assert_eq!(run.outputs.len(), packets.len());
    let mut refused = 0;
    for (i, (o, (payload, accepted))) in run.outputs.iter().zip(&want).enumerate() {
        let info = result_info(&o.tuser);
        if *accepted {
            assert_eq!(info.verdict, Verdict::Ok, "case {i}: good pad");
            assert_eq!(&o.data, payload, "case {i}: payload");
            assert_eq!(info.next_header, NEXT_HEADER, "case {i}: next header");
        } else {
            refused += 1;
            assert_eq!(info.verdict, Verdict::BadTrailer, "case {i}: bad pad");
            assert!(o.data.is_empty(), "case {i}: no data with a bad pad");
        }
    }
    assert!(refused > 100, "bad pads were tried ({refused})");
}
