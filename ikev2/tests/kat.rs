//! Known-answer tests: RFC vectors for HMAC and DH, and strongSwan 5.9.8's own
//! key derivation and AUTH values (tests/vectors/strongswan-kdf-*.txt).

use std::collections::BTreeMap;

use ikev2::crypto::{
    derive_child_keys, derive_ike_keys, psk_auth, skeyseed_initial, DhGroup, DhPrivate, Encr,
    EspTransform, IkeSuite, Integ, Prf,
};
use ikev2::IkeProposal;

type Block = BTreeMap<String, String>;

fn parse(text: &str) -> Vec<(String, Block)> {
    let mut out: Vec<(String, Block)> = vec![("".into(), Block::new())];
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.to_string(), Block::new()));
            continue;
        }
        let (k, v) = line.split_once('=').expect("key = value");
        out.last_mut()
            .unwrap()
            .1
            .insert(k.trim().to_string(), v.trim().to_string());
    }
    out.retain(|(_, b)| !b.is_empty());
    out
}

fn h(b: &Block, k: &str) -> Vec<u8> {
    hex::decode(b.get(k).unwrap_or_else(|| panic!("missing {k}"))).unwrap()
}

const RFC: &str = include_str!("vectors/rfc-dh-hmac.txt");

#[test]
fn hmac_prf_rfc4231() {
    let blocks = parse(RFC);
    let mut n = 0;
    for (name, b) in blocks.iter().filter(|(n, _)| n.starts_with("rfc4231")) {
        assert_eq!(
            Prf::HmacSha256.prf(&h(b, "key"), &[&h(b, "data")]),
            h(b, "hmac_sha256"),
            "{name}"
        );
        assert_eq!(
            Prf::HmacSha384.prf(&h(b, "key"), &[&h(b, "data")]),
            h(b, "hmac_sha384"),
            "{name}"
        );
        // Split input gives the same result.
        let d = h(b, "data");
        let (x, y) = d.split_at(d.len() / 2);
        assert_eq!(
            Prf::HmacSha256.prf(&h(b, "key"), &[x, y]),
            h(b, "hmac_sha256"),
            "{name}"
        );
        n += 1;
    }
    assert_eq!(n, 2);
}

#[test]
fn dh_rfc7748_rfc5903() {
    let blocks = parse(RFC);
    let mut n = 0;
    for (name, b) in blocks
        .iter()
        .filter(|(n, _)| n.starts_with("rfc7748") || n.starts_with("rfc5903"))
    {
        let group = DhGroup::from_id(b["group"].parse().unwrap()).unwrap();
        let i = DhPrivate::from_private_bytes(group, &h(b, "i")).unwrap();
        let r = DhPrivate::from_private_bytes(group, &h(b, "r")).unwrap();
        assert_eq!(i.public(), h(b, "gi"), "{name} gi");
        assert_eq!(r.public(), h(b, "gr"), "{name} gr");
        assert_eq!(
            i.agree(&h(b, "gr")).unwrap().expose(),
            &h(b, "gir")[..],
            "{name} i*gr"
        );
        assert_eq!(
            r.agree(&h(b, "gi")).unwrap().expose(),
            &h(b, "gir")[..],
            "{name} r*gi"
        );
        // A public value of the wrong length, or off the curve, is refused.
        assert!(i.agree(&h(b, "gr")[1..]).is_err(), "{name}");
        if group != DhGroup::Curve25519 {
            let mut bad = h(b, "gr");
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(i.agree(&bad).is_err(), "{name} off-curve point");
        } else {
            assert!(i.agree(&[0u8; 32]).is_err(), "low-order point");
        }
        n += 1;
    }
    assert_eq!(n, 3);
}

fn suite_of(proposal: &str) -> IkeSuite {
    let p = IkeProposal::parse(proposal).unwrap();
    IkeSuite {
        encr: p.encr[0],
        prf: p.prf[0],
        integ: p.integ.first().copied(),
        dh: p.dh[0],
    }
}

fn esp_of(s: &str) -> EspTransform {
    match s {
        "aes128gcm16" => EspTransform::AesGcm16 { bits: 128 },
        "aes256gcm16" => EspTransform::AesGcm16 { bits: 256 },
        "aes128-sha256" => EspTransform::AesCbcHmacSha256 { bits: 128 },
        "aes256-sha256" => EspTransform::AesCbcHmacSha256 { bits: 256 },
        other => panic!("unknown ESP {other}"),
    }
}

fn strongswan_case(text: &str) {
    let b = &parse(text)[0].1;
    let suite = suite_of(&b["proposal"]);
    let (ni, nr) = (h(b, "ni"), h(b, "nr"));
    let spi_i = u64::from_str_radix(&b["spi_i"], 16).unwrap();
    let spi_r = u64::from_str_radix(&b["spi_r"], 16).unwrap();
    let skeyseed = skeyseed_initial(suite.prf, &ni, &nr, &h(b, "g_ir"));
    assert_eq!(skeyseed.expose(), &h(b, "skeyseed")[..], "SKEYSEED");
    let k = derive_ike_keys(&suite, skeyseed.expose(), &ni, &nr, spi_i, spi_r);
    assert_eq!(k.sk_d.expose(), &h(b, "sk_d")[..], "SK_d");
    assert_eq!(k.initiator.ka.expose(), &h(b, "sk_ai")[..], "SK_ai");
    assert_eq!(k.responder.ka.expose(), &h(b, "sk_ar")[..], "SK_ar");
    assert_eq!(k.initiator.ke.expose(), &h(b, "sk_ei")[..], "SK_ei");
    assert_eq!(k.responder.ke.expose(), &h(b, "sk_er")[..], "SK_er");
    assert_eq!(k.sk_pi.expose(), &h(b, "sk_pi")[..], "SK_pi");
    assert_eq!(k.sk_pr.expose(), &h(b, "sk_pr")[..], "SK_pr");
    // PSK AUTH: octets = message | nonce | prf(SK_p, IDx'); the last prf-length bytes
    // are the MACed ID.
    let psk = h(b, "psk");
    for (n, skp) in [(0, &k.sk_pi), (1, &k.sk_pr)] {
        let octets = h(b, &format!("auth{n}_octets"));
        let id = h(b, &format!("auth{n}_id_body"));
        let pl = suite.prf.output_len();
        assert_eq!(
            suite.prf.prf(skp.expose(), &[&id]),
            &octets[octets.len() - pl..],
            "auth{n} MACed ID"
        );
        let auth = psk_auth(
            suite.prf,
            &psk,
            &octets[..octets.len() - pl],
            &[],
            skp.expose(),
            &id,
        );
        assert_eq!(auth, h(b, &format!("auth{n}_value")), "auth{n}");
    }
    // CHILD_SA keys.
    let t = esp_of(&b["esp"]);
    let (i2r, r2i) = derive_child_keys(suite.prf, k.sk_d.expose(), None, &ni, &nr, t);
    let cat = |a: &[u8], b: &[u8]| [a, b].concat();
    assert_eq!(
        cat(i2r.enc_key.expose(), i2r.salt.expose()),
        h(b, "child_enc_i"),
        "child enc i"
    );
    assert_eq!(
        cat(r2i.enc_key.expose(), r2i.salt.expose()),
        h(b, "child_enc_r"),
        "child enc r"
    );
    if let Some(x) = b.get("child_integ_i") {
        assert_eq!(
            i2r.integ_key.expose(),
            &hex::decode(x).unwrap()[..],
            "child integ i"
        );
        assert_eq!(
            r2i.integ_key.expose(),
            &h(b, "child_integ_r")[..],
            "child integ r"
        );
    } else {
        assert!(i2r.integ_key.is_empty());
    }
}

#[test]
fn strongswan_kdf_aes128_sha256_ecp256() {
    strongswan_case(include_str!(
        "vectors/strongswan-kdf-aes128-sha256-ecp256.txt"
    ));
}

#[test]
fn strongswan_kdf_aes256gcm16_prfsha384_ecp384() {
    strongswan_case(include_str!(
        "vectors/strongswan-kdf-aes256gcm16-prfsha384-ecp384.txt"
    ));
}

#[test]
fn sk_payload_round_trip_and_tamper() {
    use ikev2::crypto::{open_message, seal_message, SecretBytes, SkKeys};
    use ikev2::wire::{Header, VERSION};
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for (encr, integ, kl, al) in [
        (Encr::AesGcm16 { bits: 128 }, None, 20, 0),
        (Encr::AesGcm16 { bits: 256 }, None, 36, 0),
        (
            Encr::AesCbc { bits: 128 },
            Some(Integ::HmacSha256_128),
            16,
            32,
        ),
        (
            Encr::AesCbc { bits: 256 },
            Some(Integ::HmacSha256_128),
            32,
            32,
        ),
    ] {
        let keys = SkKeys {
            encr,
            integ,
            ke: SecretBytes::new((0..kl as u8).collect()),
            ka: SecretBytes::new((0..al as u8).map(|x| x ^ 0x5a).collect()),
        };
        for len in [0usize, 1, 15, 16, 17, 100] {
            let inner: Vec<u8> = (0..len).map(|x| x as u8).collect();
            let h = Header {
                spi_i: 1,
                spi_r: 2,
                next_payload: 0,
                version: VERSION,
                exchange: 37,
                flags: 8,
                message_id: 3,
                length: 0,
            };
            let msg = seal_message(h, 41, &inner, &keys, &mut rng);
            assert_eq!(Header::parse(&msg).unwrap().length as usize, msg.len());
            assert_eq!(
                &open_message(&msg, 0, &keys).unwrap()[..],
                &inner[..],
                "{encr:?} {len}"
            );
            for i in 0..msg.len() {
                let mut bad = msg.clone();
                bad[i] ^= 0x01;
                assert!(
                    open_message(&bad, 0, &keys).is_err(),
                    "{encr:?} {len}: flip at {i} accepted"
                );
            }
            assert!(open_message(&msg[..msg.len() - 1], 0, &keys).is_err());
        }
    }
}
