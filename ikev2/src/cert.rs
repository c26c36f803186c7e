//! Certificate authentication: X.509 certificates with ECDSA P-256 keys, AUTH
//! method 9 (ECDSA with SHA-256 on P-256, RFC 4754; the signature is `r | s`), CERT
//! and CERTREQ payloads with encoding 4 (X.509 certificate, signature), RFC 7296
//! 2.15 and 3.6/3.7.

use std::fmt;

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use thiserror::Error;
use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
use x509_cert::der::{Decode, DecodePem, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

use crate::crypto::SecretBytes;
use crate::wire::IdPayload;

/// AUTH method: ECDSA with SHA-256 on P-256 (RFC 4754).
pub const AUTH_ECDSA_256: u8 = 9;
/// AUTH method: digital signature (RFC 7427).
pub const AUTH_DIGITAL_SIGNATURE: u8 = 14;
/// RFC 7427 hash algorithm identifier of SHA2-256, the one we offer in
/// SIGNATURE_HASH_ALGORITHMS.
pub const HASH_SHA2_256: u16 = 2;
/// RFC 7427 AUTH data prefix: length, then the AlgorithmIdentifier of
/// ecdsa-with-SHA256 without parameters (RFC 7427 Appendix A).
const ECDSA_SHA256_ALG_ID: [u8; 13] = [
    12, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
/// CERT / CERTREQ encoding: X.509 certificate - signature.
pub const CERT_X509_SIGNATURE: u8 = 4;

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// Why certificate material was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CertError {
    /// Not a parseable certificate.
    #[error("{what}: not an X.509 certificate: {reason}")]
    BadCertificate {
        /// Which certificate.
        what: String,
        /// Parser message.
        reason: String,
    },
    /// Not a P-256 private key.
    #[error("private key: {0}")]
    BadKey(String),
    /// Only ECDSA P-256 keys are supported.
    #[error("{0}: only ECDSA P-256 public keys are supported")]
    UnsupportedKey(String),
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate's public key")]
    KeyMismatch,
    /// No connection with this name.
    #[error("no connection named {0:?}")]
    UnknownConnection(String),
}

/// Our certificate, its private key and the CAs we trust for the peer's certificate.
#[derive(Clone)]
pub struct CertAuth {
    cert: Vec<u8>,
    key: SecretBytes,
    cas: Vec<Vec<u8>>,
}

impl fmt::Debug for CertAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertAuth")
            .field("cert_len", &self.cert.len())
            .field("key", &"<redacted>")
            .field("cas", &self.cas.len())
            .finish()
    }
}

fn parse(what: &str, der: &[u8]) -> Result<Certificate, CertError> {
    Certificate::from_der(der).map_err(|e| CertError::BadCertificate {
        what: what.into(),
        reason: e.to_string(),
    })
}

fn p256_key(what: &str, c: &Certificate) -> Result<VerifyingKey, CertError> {
    let spki = &c.tbs_certificate().subject_public_key_info();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != EC_PUBLIC_KEY || curve != Some(PRIME256V1) {
        return Err(CertError::UnsupportedKey(what.into()));
    }
    VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes())
        .map_err(|_| CertError::UnsupportedKey(what.into()))
}

impl CertAuth {
    /// From DER: our certificate, our P-256 private key (the 32-byte scalar) and
    /// the trusted CA certificates. Checks that each parses, that the key is ours.
    pub fn new(cert: Vec<u8>, key: SecretBytes, cas: Vec<Vec<u8>>) -> Result<CertAuth, CertError> {
        let c = parse("our certificate", &cert)?;
        let public = p256_key("our certificate", &c)?;
        let sk =
            SigningKey::from_slice(key.expose()).map_err(|e| CertError::BadKey(e.to_string()))?;
        if *sk.verifying_key() != public {
            return Err(CertError::KeyMismatch);
        }
        for (i, ca) in cas.iter().enumerate() {
            let c = parse(&format!("CA certificate {}", i + 1), ca)?;
            p256_key(&format!("CA certificate {}", i + 1), &c)?;
        }
        Ok(CertAuth { cert, key, cas })
    }

    /// From PEM text: a certificate, a private key (PKCS#8 `PRIVATE KEY` or SEC1
    /// `EC PRIVATE KEY`) and CA certificates.
    pub fn from_pem(cert: &str, key: &str, cas: &[&str]) -> Result<CertAuth, CertError> {
        let der = |what: &str, pem: &str| -> Result<Vec<u8>, CertError> {
            Certificate::from_pem(pem.as_bytes())
                .and_then(|c| c.to_der())
                .map_err(|e| CertError::BadCertificate {
                    what: what.into(),
                    reason: e.to_string(),
                })
        };
        use p256::pkcs8::DecodePrivateKey;
        let sk = p256::SecretKey::from_pkcs8_pem(key)
            .or_else(|_| p256::SecretKey::from_sec1_pem(key))
            .map_err(|e| CertError::BadKey(e.to_string()))?;
        let key = SecretBytes::new(sk.to_bytes().to_vec());
        let cas = cas
            .iter()
            .enumerate()
            .map(|(i, c)| der(&format!("CA certificate {}", i + 1), c))
            .collect::<Result<Vec<_>, _>>()?;
        CertAuth::new(der("our certificate", cert)?, key, cas)
    }

    /// Our certificate (DER).
    pub fn certificate(&self) -> &[u8] {
        &self.cert
    }

    /// Body of our CERT payload.
    pub(crate) fn cert_payload(&self) -> Vec<u8> {
        let mut v = vec![CERT_X509_SIGNATURE];
        v.extend_from_slice(&self.cert);
        v
    }

    /// Body of a CERTREQ payload naming our CAs: SHA-1 of each one's
    /// SubjectPublicKeyInfo (RFC 7296 3.7).
    pub(crate) fn certreq_payload(&self) -> Vec<u8> {
        use sha1::Digest;
        let mut v = vec![CERT_X509_SIGNATURE];
        for ca in &self.cas {
            if let Ok(spki) = Certificate::from_der(ca)
                .and_then(|c| c.tbs_certificate().subject_public_key_info().to_der())
            {
                v.extend_from_slice(&sha1::Sha1::digest(&spki));
            }
        }
        v
    }

    /// Our AUTH (method, data) over the signed octets with ECDSA P-256 SHA-256:
    /// method 9 with `r | s`, or with `rfc7427` method 14 with the
    /// AlgorithmIdentifier prefix and the DER signature.
    pub(crate) fn sign(&self, octets: &[u8], rfc7427: bool) -> (u8, Vec<u8>) {
        let sk = SigningKey::from_slice(self.key.expose()).expect("checked in new");
        let sig: Signature = sk.sign(octets);
        if rfc7427 {
            let mut v = ECDSA_SHA256_ALG_ID.to_vec();
            v.extend_from_slice(sig.to_der().as_bytes());
            (AUTH_DIGITAL_SIGNATURE, v)
        } else {
            (AUTH_ECDSA_256, sig.to_bytes().to_vec())
        }
    }

    /// Check the peer: its certificate (CERT payload body) was issued by one of our
    /// CAs, names `id` (subjectAltName dNSName, rfc822Name or iPAddress, or the
    /// subject for a DN identity), and its key signed `octets` giving `auth`.
    pub(crate) fn verify_peer(
        &self,
        cert_payload: &[u8],
        id: &IdPayload,
        octets: &[u8],
        (method, auth): (u8, &[u8]),
    ) -> Result<(), String> {
        let sig = match method {
            AUTH_ECDSA_256 => {
                Signature::from_slice(auth).map_err(|_| "malformed ECDSA AUTH value")?
            }
            AUTH_DIGITAL_SIGNATURE => match auth.strip_prefix(&ECDSA_SHA256_ALG_ID[..]) {
                Some(der) => Signature::from_der(der).map_err(|_| "malformed ECDSA AUTH value")?,
                None => {
                    return Err(
                        "digital signature AUTH with an algorithm other than ecdsa-with-SHA256"
                            .into(),
                    )
                }
            },
            m => {
                return Err(format!(
                    "used authentication method {m}, not an ECDSA signature with a certificate"
                ))
            }
        };
        let Some((&CERT_X509_SIGNATURE, der)) = cert_payload.split_first() else {
            return Err("no X.509 certificate in the CERT payload".into());
        };
        let c = parse("peer certificate", der).map_err(|e| e.to_string())?;
        let tbs = c
            .tbs_certificate()
            .to_der()
            .map_err(|e| format!("peer certificate: {e}"))?;
        if c.signature_algorithm().oid != ECDSA_WITH_SHA256 {
            return Err("peer certificate is not signed with ECDSA-SHA256".into());
        }
        let csig = c
            .signature()
            .as_bytes()
            .and_then(|b| Signature::from_der(b).ok())
            .ok_or("peer certificate: malformed signature")?;
        let issued = self.cas.iter().any(|ca| {
            let Ok(ca) = Certificate::from_der(ca) else {
                return false;
            };
            ca.tbs_certificate().subject() == c.tbs_certificate().issuer()
                && p256_key("CA", &ca).is_ok_and(|k| k.verify(&tbs, &csig).is_ok())
        });
        if !issued {
            return Err(format!(
                "peer certificate ({}) is not issued by a trusted CA",
                c.tbs_certificate().subject()
            ));
        }
        if !names(&c, id) {
            return Err(format!(
                "peer certificate ({}) does not name the peer's identity",
                c.tbs_certificate().subject()
            ));
        }
        let key = p256_key("peer certificate", &c).map_err(|e| e.to_string())?;
        key.verify(octets, &sig)
            .map_err(|_| "AUTH signature does not verify with the peer's certificate".into())
    }
}

/// The certificate names the identity.
fn names(c: &Certificate, id: &IdPayload) -> bool {
    if id.id_type == 9 {
        return c
            .tbs_certificate()
            .subject()
            .to_der()
            .is_ok_and(|dn| dn == id.data);
    }
    let sans = c
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .filter(|e| e.extn_id == SubjectAltName::OID)
        .filter_map(|e| SubjectAltName::from_der(e.extn_value.as_bytes()).ok())
        .flat_map(|s| s.0);
    for n in sans {
        let hit = match (&n, id.id_type) {
            (GeneralName::DnsName(d), 2) => d
                .as_str()
                .eq_ignore_ascii_case(std::str::from_utf8(&id.data).unwrap_or_default()),
            (GeneralName::Rfc822Name(d), 3) => d
                .as_str()
                .eq_ignore_ascii_case(std::str::from_utf8(&id.data).unwrap_or_default()),
            (GeneralName::IpAddress(a), 1 | 5) => a.as_bytes() == id.data.as_slice(),
            _ => false,
        };
        if hit {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/vectors/certs/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn auth(who: &str) -> CertAuth {
        CertAuth::from_pem(
            &file(&format!("{who}.pem")),
            &file(&format!("{who}.key")),
            &[&file("ca.pem")],
        )
        .unwrap()
    }

    fn bob_id() -> IdPayload {
        IdPayload {
            id_type: 2,
            data: b"bob.example".to_vec(),
        }
    }

    #[test]
    fn signatures_verify_both_ways_and_only_over_the_signed_octets() {
        let (alice, bob) = (auth("alice"), auth("bob"));
        for rfc7427 in [false, true] {
            let (method, sig) = bob.sign(b"octets", rfc7427);
            assert_eq!(method, if rfc7427 { 14 } else { 9 });
            let cert = bob.cert_payload();
            assert_eq!(
                alice.verify_peer(&cert, &bob_id(), b"octets", (method, &sig)),
                Ok(())
            );
            assert!(alice
                .verify_peer(&cert, &bob_id(), b"octetz", (method, &sig))
                .is_err());
            // The other method's encoding of the same signature is refused.
            assert!(alice
                .verify_peer(&cert, &bob_id(), b"octets", (23 - method, &sig))
                .is_err());
        }
    }

    #[test]
    fn every_truncation_of_the_certificate_is_refused() {
        let (alice, bob) = (auth("alice"), auth("bob"));
        let (m, sig) = bob.sign(b"x", true);
        let cert = bob.cert_payload();
        for cut in 0..cert.len() {
            assert!(alice
                .verify_peer(&cert[..cut], &bob_id(), b"x", (m, &sig))
                .is_err());
        }
    }

    proptest! {
        #[test]
        fn garbage_never_panics(cert in proptest::collection::vec(any::<u8>(), 0..600),
                                sig in proptest::collection::vec(any::<u8>(), 0..120),
                                method in any::<u8>(),
                                flip in any::<prop::sample::Index>()) {
            let alice = auth("alice");
            let _ = alice.verify_peer(&cert, &bob_id(), b"x", (method, &sig));
            // A real certificate with one byte changed.
            let mut real = auth("bob").cert_payload();
            let i = flip.index(real.len());
            real[i] ^= 0x5a;
            let (m, s) = auth("bob").sign(b"x", false);
            let _ = alice.verify_peer(&real, &bob_id(), b"x", (m, &s));
        }
    }
}
