//! Target `cert`: certificate parsing and checking (`ikev2::cert::CertAuth`), the
//! input taken as our DER certificate (with the test key of alice), as a DER CA
//! certificate next to alice's valid certificate, and, when it is text, as PEM
//! for each of the certificate, the private key and the CA. Invariant: material
//! that is accepted as our certificate is kept as given.

use std::sync::OnceLock;

use ikev2::{CertAuth, SecretBytes};
use p256::pkcs8::DecodePrivateKey;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

const ALICE_PEM: &str = include_str!("../../ikev2/tests/vectors/certs/alice.pem");
const ALICE_KEY: &str = include_str!("../../ikev2/tests/vectors/certs/alice.key");
const CA_PEM: &str = include_str!("../../ikev2/tests/vectors/certs/ca.pem");

/// Alice's certificate and key, parsed once.
fn alice() -> &'static CertAuth {
    static ALICE: OnceLock<CertAuth> = OnceLock::new();
    ALICE.get_or_init(|| {
        CertAuth::from_pem(ALICE_PEM, ALICE_KEY, &[CA_PEM]).expect("the test certificates load")
    })
}

/// Alice's private key scalar (the key checks need it next to a fuzzed certificate).
fn alice_key() -> SecretBytes {
    static KEY: OnceLock<SecretBytes> = OnceLock::new();
    KEY.get_or_init(|| {
        let k = p256::SecretKey::from_pkcs8_pem(ALICE_KEY).expect("alice's key parses");
        SecretBytes::new(k.to_bytes().to_vec())
    })
    .clone()
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let ours = alice();
    if let Ok(a) = CertAuth::new(data.to_vec(), alice_key(), vec![]) {
        assert_eq!(a.certificate(), data, "our certificate kept as given");
    }
    let _ = CertAuth::new(
        ours.certificate().to_vec(),
        alice_key(),
        vec![data.to_vec()],
    );
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = CertAuth::from_pem(text, ALICE_KEY, &[]);
        let _ = CertAuth::from_pem(ALICE_PEM, text, &[]);
        let _ = CertAuth::from_pem(ALICE_PEM, ALICE_KEY, &[text]);
    }
}

/// Seed inputs: the repository's test certificates and keys (PEM) and the DER of
/// each certificate.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ikev2/tests/vectors/certs");
    let mut out = Vec::new();
    for name in ["alice", "bob", "ca", "rogue-bob", "rogue-ca"] {
        for ext in ["pem", "key"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(format!("{name}.{ext}"))) {
                if ext == "pem" {
                    if let Ok(der) = Certificate::from_pem(text.as_bytes()).and_then(|c| c.to_der())
                    {
                        out.push((format!("seed-{name}.der"), der));
                    }
                }
                out.push((format!("seed-{name}.{ext}"), text.into_bytes()));
            }
        }
    }
    out
}
