//! NIST CAVP GCM vectors (subset in `vectors/nist-cavp-gcm-subset.rsp`)
//! through both AES-GCM backends and the `oracle` module.

use esp::crypto::{Aead, BackendKind, GcmKey};

struct Rec {
    key: Vec<u8>,
    iv: [u8; 12],
    pt: Vec<u8>,
    aad: Vec<u8>,
    ct: Vec<u8>,
    tag: [u8; 16],
}

fn load() -> Vec<Rec> {
    let mut out = Vec::new();
    let mut cur = std::collections::HashMap::new();
    for line in include_str!("../vectors/nist-cavp-gcm-subset.rsp").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        let (k, v) = line.split_once('=').expect("key = value");
        let v = hex::decode(v.trim()).expect("hex");
        let k = k.trim().to_string();
        let done = k == "Tag";
        cur.insert(k, v);
        if done {
            out.push(Rec {
                key: cur["Key"].clone(),
                iv: cur["IV"][..].try_into().unwrap(),
                pt: cur["PT"].clone(),
                aad: cur["AAD"].clone(),
                ct: cur["CT"].clone(),
                tag: cur["Tag"][..].try_into().unwrap(),
            });
            cur.clear();
        }
    }
    out
}

#[test]
fn nist_cavp_gcm_subset() {
    let recs = load();
    assert_eq!(recs.len(), 12);
    for (n, r) in recs.iter().enumerate() {
        for backend in BackendKind::ALL {
            let k = GcmKey::new(backend, &r.key).unwrap();
            let mut buf = r.pt.clone();
            let tag = k.seal_in_place(&r.iv, &r.aad, &mut buf).unwrap();
            assert_eq!(buf, r.ct, "record {n} {backend:?}");
            assert_eq!(tag, r.tag, "record {n} {backend:?}");
            k.open_in_place(&r.iv, &r.aad, &mut buf, &r.tag).unwrap();
            assert_eq!(buf, r.pt);
            let mut bad = r.tag;
            bad[15] ^= 0x80;
            let mut buf = r.ct.clone();
            assert!(k.open_in_place(&r.iv, &r.aad, &mut buf, &bad).is_err());
        }
        let (ct, tag) = esp::oracle::gcm_seal(&r.key, &r.iv, &r.aad, &r.pt).unwrap();
        assert_eq!(ct, r.ct, "oracle record {n}");
        assert_eq!(tag, r.tag, "oracle record {n}");
    }
}
