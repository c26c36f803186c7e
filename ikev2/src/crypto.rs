//! Cryptography for IKEv2: PRFs and prf+ (RFC 7296 2.13), key derivation
//! (2.14, 2.17, 2.18), Diffie-Hellman (x25519 RFC 8031, ECP RFC 5903), the
//! SK payload (AES-GCM RFC 5282, AES-CBC + HMAC-SHA-256-128 RFC 7296 3.14 /
//! RFC 4868) and PSK authentication (2.15).

use std::fmt;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::elliptic_curve::Generate;
use rand::{CryptoRng, RngCore};
use sha2::{Sha256, Sha384};
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

use crate::wire::{self, Header, HEADER_LEN};

/// Secret bytes: zeroized on drop, redacted in `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, zeroize::ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wrap bytes.
    pub fn new(v: Vec<u8>) -> Self {
        SecretBytes(v)
    }
    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// Pseudorandom functions (transform type 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prf {
    /// PRF_HMAC_SHA2_256 (5).
    HmacSha256,
    /// PRF_HMAC_SHA2_384 (6).
    HmacSha384,
}

impl Prf {
    /// IANA transform ID.
    pub fn id(self) -> u16 {
        match self {
            Prf::HmacSha256 => 5,
            Prf::HmacSha384 => 6,
        }
    }
    /// From IANA transform ID.
    pub fn from_id(id: u16) -> Option<Prf> {
        match id {
            5 => Some(Prf::HmacSha256),
            6 => Some(Prf::HmacSha384),
            _ => None,
        }
    }
    /// Output (and preferred key) length.
    pub fn output_len(self) -> usize {
        match self {
            Prf::HmacSha256 => 32,
            Prf::HmacSha384 => 48,
        }
    }
    /// prf(key, data).
    pub fn prf(self, key: &[u8], data: &[&[u8]]) -> Vec<u8> {
        match self {
            Prf::HmacSha256 => {
                let mut m =
                    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("hmac takes any key");
                for d in data {
                    m.update(d);
                }
                m.finalize().into_bytes().to_vec()
            }
            Prf::HmacSha384 => {
                let mut m =
                    <Hmac<Sha384> as KeyInit>::new_from_slice(key).expect("hmac takes any key");
                for d in data {
                    m.update(d);
                }
                m.finalize().into_bytes().to_vec()
            }
        }
    }
    /// prf+ (RFC 7296 2.13): T1 | T2 | ... truncated to `len` bytes.
    pub fn prf_plus(self, key: &[u8], seed: &[u8], len: usize) -> SecretBytes {
        let mut out = Vec::with_capacity(len + self.output_len());
        let mut t: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
        let mut counter: u8 = 1;
        while out.len() < len {
            *t = self.prf(key, &[&t, seed, &[counter]]);
            out.extend_from_slice(&t);
            counter = counter.wrapping_add(1);
        }
        out.truncate(len);
        SecretBytes(out)
    }
}

/// Diffie-Hellman groups (transform type 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhGroup {
    /// 256-bit random ECP group (19), RFC 5903.
    Ecp256,
    /// 384-bit random ECP group (20), RFC 5903.
    Ecp384,
    /// Curve25519 (31), RFC 8031.
    Curve25519,
}

impl DhGroup {
    /// IANA transform ID.
    pub fn id(self) -> u16 {
        match self {
            DhGroup::Ecp256 => 19,
            DhGroup::Ecp384 => 20,
            DhGroup::Curve25519 => 31,
        }
    }
    /// From IANA transform ID.
    pub fn from_id(id: u16) -> Option<DhGroup> {
        match id {
            19 => Some(DhGroup::Ecp256),
            20 => Some(DhGroup::Ecp384),
            31 => Some(DhGroup::Curve25519),
            _ => None,
        }
    }
    /// Length of the KE payload's public value.
    pub fn public_len(self) -> usize {
        match self {
            DhGroup::Ecp256 => 64,
            DhGroup::Ecp384 => 96,
            DhGroup::Curve25519 => 32,
        }
    }
}

/// Why a key exchange failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DhError {
    /// Public value of the wrong length.
    #[error("KE data for group {group} has {len} bytes, expected {expected}")]
    BadLength {
        /// Group number.
        group: u16,
        /// Length seen.
        len: usize,
        /// Length expected.
        expected: usize,
    },
    /// Point not on the curve, or a low-order / all-zero result.
    #[error("invalid public value for group {0}")]
    InvalidPoint(u16),
}

/// An ephemeral DH private key.
pub struct DhPrivate {
    group: DhGroup,
    inner: DhInner,
}

enum DhInner {
    X25519(x25519_dalek::StaticSecret),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
}

impl fmt::Debug for DhPrivate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DhPrivate({:?}, <redacted>)", self.group)
    }
}

/// Random source the engine needs.
pub trait Rng: RngCore + CryptoRng + Send {}
impl<T: RngCore + CryptoRng + Send> Rng for T {}

impl DhPrivate {
    /// Generate a fresh key.
    pub fn generate(group: DhGroup, rng: &mut dyn Rng) -> DhPrivate {
        let mut rng = RngRef(rng);
        let inner = match group {
            DhGroup::Curve25519 => {
                let mut b = Zeroizing::new([0u8; 32]);
                rng.0.fill_bytes(&mut *b);
                DhInner::X25519(x25519_dalek::StaticSecret::from(*b))
            }
            DhGroup::Ecp256 => DhInner::P256(p256::SecretKey::generate_from_rng(&mut rng)),
            DhGroup::Ecp384 => DhInner::P384(p384::SecretKey::generate_from_rng(&mut rng)),
        };
        DhPrivate { group, inner }
    }

    /// Group.
    pub fn group(&self) -> DhGroup {
        self.group
    }

    /// Public value as carried in the KE payload (RFC 5903 section 7: x | y).
    pub fn public(&self) -> Vec<u8> {
        match &self.inner {
            DhInner::X25519(s) => x25519_dalek::PublicKey::from(s).as_bytes().to_vec(),
            DhInner::P256(s) => s.public_key().to_sec1_point(false).as_bytes()[1..].to_vec(),
            DhInner::P384(s) => s.public_key().to_sec1_point(false).as_bytes()[1..].to_vec(),
        }
    }

    /// Shared secret g^ir (RFC 5903: the x coordinate; RFC 8031: the X25519 output).
    pub fn agree(&self, peer: &[u8]) -> Result<SecretBytes, DhError> {
        let expected = self.group.public_len();
        if peer.len() != expected {
            return Err(DhError::BadLength {
                group: self.group.id(),
                len: peer.len(),
                expected,
            });
        }
        let bad = DhError::InvalidPoint(self.group.id());
        match &self.inner {
            DhInner::X25519(s) => {
                let mut p = [0u8; 32];
                p.copy_from_slice(peer);
                let ss = s.diffie_hellman(&x25519_dalek::PublicKey::from(p));
                if !ss.was_contributory() {
                    return Err(bad);
                }
                Ok(SecretBytes(ss.as_bytes().to_vec()))
            }
            DhInner::P256(s) => {
                let mut sec1 = Vec::with_capacity(65);
                sec1.push(4);
                sec1.extend_from_slice(peer);
                let pk = p256::PublicKey::from_sec1_bytes(&sec1).map_err(|_| bad)?;
                let ss = p256::ecdh::diffie_hellman(s.to_nonzero_scalar(), pk.as_affine());
                Ok(SecretBytes(ss.raw_secret_bytes().to_vec()))
            }
            DhInner::P384(s) => {
                let mut sec1 = Vec::with_capacity(97);
                sec1.push(4);
                sec1.extend_from_slice(peer);
                let pk = p384::PublicKey::from_sec1_bytes(&sec1).map_err(|_| bad)?;
                let ss = p384::ecdh::diffie_hellman(s.to_nonzero_scalar(), pk.as_affine());
                Ok(SecretBytes(ss.raw_secret_bytes().to_vec()))
            }
        }
    }

    /// Build from a known private scalar (for known-answer tests).
    pub fn from_private_bytes(group: DhGroup, bytes: &[u8]) -> Option<DhPrivate> {
        let inner = match group {
            DhGroup::Curve25519 => {
                let b: [u8; 32] = bytes.try_into().ok()?;
                DhInner::X25519(x25519_dalek::StaticSecret::from(b))
            }
            DhGroup::Ecp256 => DhInner::P256(p256::SecretKey::from_slice(bytes).ok()?),
            DhGroup::Ecp384 => DhInner::P384(p384::SecretKey::from_slice(bytes).ok()?),
        };
        Some(DhPrivate { group, inner })
    }
}

/// The engine's random source (rand's traits) seen through the traits the
/// elliptic-curve crates take (rand_core 0.10) for key generation.
struct RngRef<'a>(&'a mut dyn Rng);
impl p256::elliptic_curve::rand_core::TryRng for RngRef<'_> {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}
impl p256::elliptic_curve::rand_core::TryCryptoRng for RngRef<'_> {}

/// Encryption for the SK payload (transform type 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encr {
    /// ENCR_AES_GCM_16 (20) with key length in bits (128 or 256), RFC 5282.
    AesGcm16 {
        /// 128 or 256.
        bits: u16,
    },
    /// ENCR_AES_CBC (12) with key length in bits (128 or 256).
    AesCbc {
        /// 128 or 256.
        bits: u16,
    },
}

impl Encr {
    /// IANA transform ID.
    pub fn id(self) -> u16 {
        match self {
            Encr::AesGcm16 { .. } => 20,
            Encr::AesCbc { .. } => 12,
        }
    }
    /// Key length in bits.
    pub fn bits(self) -> u16 {
        match self {
            Encr::AesGcm16 { bits } | Encr::AesCbc { bits } => bits,
        }
    }
    /// From transform ID and key length attribute.
    pub fn from_transform(id: u16, key_len: Option<u16>) -> Option<Encr> {
        let bits = key_len?;
        if bits != 128 && bits != 256 {
            return None;
        }
        match id {
            20 => Some(Encr::AesGcm16 { bits }),
            12 => Some(Encr::AesCbc { bits }),
            _ => None,
        }
    }
    /// AEAD (no separate integrity transform).
    pub fn is_aead(self) -> bool {
        matches!(self, Encr::AesGcm16 { .. })
    }
    /// Bytes of keying material (GCM: key plus 4-byte salt, RFC 5282 7.1 / RFC 4106 8.1).
    pub fn keymat_len(self) -> usize {
        match self {
            Encr::AesGcm16 { bits } => bits as usize / 8 + 4,
            Encr::AesCbc { bits } => bits as usize / 8,
        }
    }
}

/// Integrity (transform type 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Integ {
    /// AUTH_HMAC_SHA2_256_128 (12), RFC 4868.
    HmacSha256_128,
}

impl Integ {
    /// IANA transform ID.
    pub fn id(self) -> u16 {
        12
    }
    /// From IANA ID.
    pub fn from_id(id: u16) -> Option<Integ> {
        (id == 12).then_some(Integ::HmacSha256_128)
    }
    /// Key length.
    pub fn key_len(self) -> usize {
        32
    }
    /// ICV length.
    pub fn icv_len(self) -> usize {
        16
    }
    fn mac(self, key: &[u8], data: &[u8]) -> [u8; 16] {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key");
        m.update(data);
        let full = m.finalize().into_bytes();
        let mut o = [0u8; 16];
        o.copy_from_slice(&full[..16]);
        o
    }
}

/// Why an SK payload did not open.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SkError {
    /// Too short for IV, ICV and pad length.
    #[error("SK payload too short")]
    Truncated,
    /// ICV mismatch.
    #[error("SK payload integrity check failed")]
    Integrity,
    /// Padding length larger than the plaintext or CBC length not a block multiple.
    #[error("SK payload padding invalid")]
    Padding,
}

/// Keys protecting one direction of an IKE SA.
#[derive(Clone, Debug)]
pub struct SkKeys {
    /// Encryption algorithm.
    pub encr: Encr,
    /// Integrity algorithm (None for AEAD).
    pub integ: Option<Integ>,
    /// SK_e (GCM: key | salt).
    pub ke: SecretBytes,
    /// SK_a (empty for AEAD).
    pub ka: SecretBytes,
}

fn iv_len(encr: Encr) -> usize {
    match encr {
        Encr::AesGcm16 { .. } => 8,
        Encr::AesCbc { .. } => 16,
    }
}

fn icv_len(k: &SkKeys) -> usize {
    match k.encr {
        Encr::AesGcm16 { .. } => 16,
        Encr::AesCbc { .. } => k.integ.map_or(0, |i| i.icv_len()),
    }
}

fn gcm_seal(k: &SkKeys, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    let key = k.ke.expose();
    let klen = key.len() - 4;
    let nonce = aes_gcm::Nonce::from(*nonce);
    let tag = match klen {
        16 => Aes128Gcm::new_from_slice(&key[..16])
            .expect("16-byte key")
            .encrypt_inout_detached(&nonce, aad, buf.into()),
        _ => Aes256Gcm::new_from_slice(&key[..32])
            .expect("32-byte key")
            .encrypt_inout_detached(&nonce, aad, buf.into()),
    }
    .expect("GCM seal of an IKE message cannot exceed limits");
    tag.into()
}

fn gcm_open(k: &SkKeys, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
    let key = k.ke.expose();
    let klen = key.len() - 4;
    let Ok(tag) = aes_gcm::Tag::try_from(tag) else {
        return false;
    };
    let nonce = aes_gcm::Nonce::from(*nonce);
    match klen {
        16 => Aes128Gcm::new_from_slice(&key[..16])
            .expect("16-byte key")
            .decrypt_inout_detached(&nonce, aad, buf.into(), &tag)
            .is_ok(),
        _ => Aes256Gcm::new_from_slice(&key[..32])
            .expect("32-byte key")
            .decrypt_inout_detached(&nonce, aad, buf.into(), &tag)
            .is_ok(),
    }
}

/// Build a complete encrypted message: header, SK payload holding `inner`
/// (an already emitted payload chain whose first type is `first_inner`).
pub fn seal_message(
    header: Header,
    first_inner: u8,
    inner: &[u8],
    keys: &SkKeys,
    rng: &mut dyn Rng,
) -> Vec<u8> {
    let ivl = iv_len(keys.encr);
    let icvl = icv_len(keys);
    // Plaintext: inner | padding | pad length.
    let mut plain = Zeroizing::new(inner.to_vec());
    match keys.encr {
        Encr::AesGcm16 { .. } => plain.push(0),
        Encr::AesCbc { .. } => {
            let pad = (16 - (inner.len() + 1) % 16) % 16;
            plain.extend(std::iter::repeat_n(0u8, pad));
            plain.push(pad as u8);
        }
    }
    let sk_len = 4 + ivl + plain.len() + icvl;
    let total = HEADER_LEN + sk_len;
    let h = Header {
        next_payload: wire::payload_type::SK,
        length: total as u32,
        ..header
    };
    let mut out = Vec::with_capacity(total);
    h.emit(&mut out);
    out.push(first_inner);
    out.push(0);
    out.extend_from_slice(&(sk_len as u16).to_be_bytes());
    let mut iv = vec![0u8; ivl];
    rng.fill_bytes(&mut iv);
    out.extend_from_slice(&iv);
    let ct_start = out.len();
    match keys.encr {
        Encr::AesGcm16 { .. } => {
            let key = keys.ke.expose();
            let mut nonce = [0u8; 12];
            nonce[..4].copy_from_slice(&key[key.len() - 4..]);
            nonce[4..].copy_from_slice(&iv);
            // RFC 5282 5.1: AAD = IKE header | SK generic header (not the IV).
            let aad = out[..ct_start - ivl].to_vec();
            let mut buf = plain.clone();
            let tag = gcm_seal(keys, &nonce, &aad, &mut buf);
            out.extend_from_slice(&buf);
            out.extend_from_slice(&tag);
        }
        Encr::AesCbc { bits } => {
            let mut buf = plain.clone();
            cbc_encrypt(bits, keys.ke.expose(), &iv, &mut buf);
            out.extend_from_slice(&buf);
            let integ = keys.integ.unwrap_or(Integ::HmacSha256_128);
            let icv = integ.mac(keys.ka.expose(), &out);
            out.extend_from_slice(&icv);
        }
    }
    debug_assert_eq!(out.len(), total);
    out
}

/// CBC-encrypt `buf` in place (a whole number of blocks: the SK payload pads itself).
fn cbc_encrypt(bits: u16, key: &[u8], iv: &[u8], buf: &mut [u8]) {
    use cbc::cipher::{BlockModeEncrypt, InOutBuf, KeyIvInit};
    let (blocks, tail) = InOutBuf::from(buf).into_chunks();
    debug_assert!(tail.is_empty(), "SK plaintext is padded to the block size");
    if bits == 128 {
        cbc::Encryptor::<aes::Aes128>::new_from_slices(key, iv)
            .expect("key/iv size")
            .encrypt_blocks_inout(blocks);
    } else {
        cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv)
            .expect("key/iv size")
            .encrypt_blocks_inout(blocks);
    }
}

/// CBC-decrypt `buf` in place; a length that is not a non-zero block multiple is
/// refused as bad padding.
fn cbc_decrypt(bits: u16, key: &[u8], iv: &[u8], buf: &mut [u8]) -> Result<(), SkError> {
    use cbc::cipher::{BlockModeDecrypt, InOutBuf, KeyIvInit};
    if buf.len() & 0xf != 0 || buf.is_empty() {
        return Err(SkError::Padding);
    }
    let (blocks, _) = InOutBuf::from(buf).into_chunks();
    if bits == 128 {
        cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| SkError::Padding)?
            .decrypt_blocks_inout(blocks);
    } else {
        cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| SkError::Padding)?
            .decrypt_blocks_inout(blocks);
    }
    Ok(())
}

/// Open the SK payload of `msg` (a whole message; the SK generic header is at
/// `sk_off` bytes after the IKE header). Returns the inner payload chain bytes.
pub fn open_message(
    msg: &[u8],
    sk_off: usize,
    keys: &SkKeys,
) -> Result<Zeroizing<Vec<u8>>, SkError> {
    let ivl = iv_len(keys.encr);
    let icvl = icv_len(keys);
    let sk_start = HEADER_LEN + sk_off;
    let body_start = sk_start + 4;
    if msg.len() < body_start + ivl + icvl + 1 {
        return Err(SkError::Truncated);
    }
    let iv = &msg[body_start..body_start + ivl];
    let ct_end = msg.len() - icvl;
    let ct = &msg[body_start + ivl..ct_end];
    let icv = &msg[ct_end..];
    let mut buf = Zeroizing::new(ct.to_vec());
    match keys.encr {
        Encr::AesGcm16 { .. } => {
            let key = keys.ke.expose();
            let mut nonce = [0u8; 12];
            nonce[..4].copy_from_slice(&key[key.len() - 4..]);
            nonce[4..].copy_from_slice(iv);
            let aad = &msg[..body_start];
            if !gcm_open(keys, &nonce, aad, &mut buf, icv) {
                return Err(SkError::Integrity);
            }
        }
        Encr::AesCbc { bits } => {
            let integ = keys.integ.unwrap_or(Integ::HmacSha256_128);
            let want = integ.mac(keys.ka.expose(), &msg[..ct_end]);
            if !bool::from(want.ct_eq(icv)) {
                return Err(SkError::Integrity);
            }
            cbc_decrypt(bits, keys.ke.expose(), iv, &mut buf)?;
        }
    }
    let pad = *buf.last().ok_or(SkError::Truncated)? as usize;
    if pad + 1 > buf.len() {
        return Err(SkError::Padding);
    }
    let keep = buf.len() - pad - 1;
    buf.truncate(keep);
    Ok(buf)
}

/// The seven IKE SA keys (RFC 7296 2.14).
#[derive(Debug, Clone)]
pub struct IkeKeys {
    /// SK_d.
    pub sk_d: SecretBytes,
    /// Keys for messages sent by the original initiator.
    pub initiator: SkKeys,
    /// Keys for messages sent by the original responder.
    pub responder: SkKeys,
    /// SK_pi.
    pub sk_pi: SecretBytes,
    /// SK_pr.
    pub sk_pr: SecretBytes,
}

/// Negotiated IKE SA algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IkeSuite {
    /// Encryption.
    pub encr: Encr,
    /// PRF.
    pub prf: Prf,
    /// Integrity (None for AEAD).
    pub integ: Option<Integ>,
    /// DH group.
    pub dh: DhGroup,
}

/// SKEYSEED for a new IKE SA: prf(Ni | Nr, g^ir) (RFC 7296 2.14).
pub fn skeyseed_initial(prf: Prf, ni: &[u8], nr: &[u8], shared: &[u8]) -> SecretBytes {
    let mut key = Zeroizing::new(Vec::with_capacity(ni.len() + nr.len()));
    key.extend_from_slice(ni);
    key.extend_from_slice(nr);
    SecretBytes(prf.prf(&key, &[shared]))
}

/// SKEYSEED for a rekeyed IKE SA: prf(SK_d(old), g^ir(new) | Ni | Nr) (RFC 7296 2.18).
pub fn skeyseed_rekey(
    prf_old: Prf,
    sk_d_old: &[u8],
    shared: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> SecretBytes {
    SecretBytes(prf_old.prf(sk_d_old, &[shared, ni, nr]))
}

/// Derive the seven keys from SKEYSEED (RFC 7296 2.14).
pub fn derive_ike_keys(
    suite: &IkeSuite,
    skeyseed: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: u64,
    spi_r: u64,
) -> IkeKeys {
    let prf = suite.prf;
    let el = suite.encr.keymat_len();
    let al = if suite.encr.is_aead() {
        0
    } else {
        suite.integ.map_or(0, |i| i.key_len())
    };
    let pl = prf.output_len();
    let total = pl + 2 * al + 2 * el + 2 * pl;
    let mut seed = Vec::with_capacity(ni.len() + nr.len() + 16);
    seed.extend_from_slice(ni);
    seed.extend_from_slice(nr);
    seed.extend_from_slice(&spi_i.to_be_bytes());
    seed.extend_from_slice(&spi_r.to_be_bytes());
    let km = prf.prf_plus(skeyseed, &seed, total);
    let k = km.expose();
    let mut at = 0;
    let mut take = |n: usize| {
        let s = SecretBytes(k[at..at + n].to_vec());
        at += n;
        s
    };
    let sk_d = take(pl);
    let sk_ai = take(al);
    let sk_ar = take(al);
    let sk_ei = take(el);
    let sk_er = take(el);
    let sk_pi = take(pl);
    let sk_pr = take(pl);
    let integ = if suite.encr.is_aead() {
        None
    } else {
        suite.integ
    };
    IkeKeys {
        sk_d,
        initiator: SkKeys {
            encr: suite.encr,
            integ,
            ke: sk_ei,
            ka: sk_ai,
        },
        responder: SkKeys {
            encr: suite.encr,
            integ,
            ke: sk_er,
            ka: sk_ar,
        },
        sk_pi,
        sk_pr,
    }
}

/// ESP transform of a CHILD_SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EspTransform {
    /// AES-GCM with 16-byte ICV (RFC 4106), key bits 128 or 256.
    AesGcm16 {
        /// 128 or 256.
        bits: u16,
    },
    /// AES-CBC (RFC 3602) with HMAC-SHA-256-128 (RFC 4868), key bits 128 or 256.
    AesCbcHmacSha256 {
        /// 128 or 256.
        bits: u16,
    },
}

impl EspTransform {
    /// Encryption key bytes (without salt).
    pub fn enc_key_len(self) -> usize {
        match self {
            EspTransform::AesGcm16 { bits } | EspTransform::AesCbcHmacSha256 { bits } => {
                bits as usize / 8
            }
        }
    }
    /// Salt bytes (GCM 4).
    pub fn salt_len(self) -> usize {
        match self {
            EspTransform::AesGcm16 { .. } => 4,
            EspTransform::AesCbcHmacSha256 { .. } => 0,
        }
    }
    /// Integrity key bytes.
    pub fn integ_key_len(self) -> usize {
        match self {
            EspTransform::AesGcm16 { .. } => 0,
            EspTransform::AesCbcHmacSha256 { .. } => 32,
        }
    }
    /// Bytes of KEYMAT per direction.
    pub fn keymat_len(self) -> usize {
        self.enc_key_len() + self.salt_len() + self.integ_key_len()
    }
}

/// Keys of one direction of a CHILD_SA.
#[derive(Clone, PartialEq, Eq)]
pub struct ChildKeys {
    /// Encryption key (without salt).
    pub enc_key: SecretBytes,
    /// Salt (GCM: 4 bytes; empty otherwise).
    pub salt: SecretBytes,
    /// Integrity key (empty for GCM).
    pub integ_key: SecretBytes,
}

impl fmt::Debug for ChildKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChildKeys(<redacted>)")
    }
}

/// KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) split into initiator-to-responder
/// and responder-to-initiator keys (RFC 7296 2.17; "initiator" is the initiator of
/// the exchange that created the CHILD_SA).
pub fn derive_child_keys(
    prf: Prf,
    sk_d: &[u8],
    shared: Option<&[u8]>,
    ni: &[u8],
    nr: &[u8],
    t: EspTransform,
) -> (ChildKeys, ChildKeys) {
    let mut seed = Zeroizing::new(Vec::new());
    if let Some(s) = shared {
        seed.extend_from_slice(s);
    }
    seed.extend_from_slice(ni);
    seed.extend_from_slice(nr);
    let per = t.keymat_len();
    let km = prf.prf_plus(sk_d, &seed, 2 * per);
    let split = |b: &[u8]| {
        // RFC 7296 2.17: encryption key(s) first, then integrity key(s); for GCM the
        // 4-byte salt follows the key (RFC 4106 8.1).
        let e = t.enc_key_len();
        let s = t.salt_len();
        ChildKeys {
            enc_key: SecretBytes(b[..e].to_vec()),
            salt: SecretBytes(b[e..e + s].to_vec()),
            integ_key: SecretBytes(b[e + s..].to_vec()),
        }
    };
    let k = km.expose();
    (split(&k[..per]), split(&k[per..]))
}

/// "Key Pad for IKEv2" (RFC 7296 2.15).
const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// PSK AUTH value: prf(prf(PSK, "Key Pad for IKEv2"), message | nonce | prf(SK_p, ID body)).
pub fn psk_auth(
    prf: Prf,
    psk: &[u8],
    real_message: &[u8],
    peer_nonce: &[u8],
    sk_p: &[u8],
    id_body: &[u8],
) -> Vec<u8> {
    let maced_id = prf.prf(sk_p, &[id_body]);
    let k = Zeroizing::new(prf.prf(psk, &[KEY_PAD]));
    prf.prf(&k, &[real_message, peer_nonce, &maced_id])
}

/// The octets a signature AUTH covers (RFC 7296 2.15): the first message we sent,
/// the peer's nonce and prf(SK_p, RestOfIDPayload).
pub fn signed_octets(
    prf: Prf,
    real_message: &[u8],
    peer_nonce: &[u8],
    sk_p: &[u8],
    id_body: &[u8],
) -> Vec<u8> {
    let mut v = Vec::with_capacity(real_message.len() + peer_nonce.len() + 48);
    v.extend_from_slice(real_message);
    v.extend_from_slice(peer_nonce);
    v.extend_from_slice(&prf.prf(sk_p, &[id_body]));
    v
}

/// Constant-time comparison of AUTH values.
pub fn auth_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// NAT detection hash: SHA-1(SPIi | SPIr | IP | port) (RFC 7296 2.23).
pub fn nat_hash(spi_i: u64, spi_r: u64, addr: std::net::SocketAddr) -> Vec<u8> {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(spi_i.to_be_bytes());
    h.update(spi_r.to_be_bytes());
    match addr.ip() {
        std::net::IpAddr::V4(v) => h.update(v.octets()),
        std::net::IpAddr::V6(v) => h.update(v.octets()),
    }
    h.update(addr.port().to_be_bytes());
    h.finalize().to_vec()
}

/// Cookie hash (RFC 7296 2.6): SHA-256(Ni | IPi | SPIi | secret).
pub fn cookie_hash(ni: &[u8], ip: std::net::IpAddr, spi_i: u64, secret: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let mut h = Sha256::new();
    h.update(ni);
    match ip {
        std::net::IpAddr::V4(v) => h.update(v.octets()),
        std::net::IpAddr::V6(v) => h.update(v.octets()),
    }
    h.update(spi_i.to_be_bytes());
    h.update(secret);
    h.finalize().to_vec()
}
