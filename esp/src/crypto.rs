//! Crypto behind one small trait, with two interchangeable AES-GCM backends.
//!
//! - [`BackendKind::RustCrypto`]: the `aes-gcm` crate, pure Rust, the portable
//!   reference.
//! - [`BackendKind::AwsLc`]: `aws-lc-rs`, the fastest AES-GCM on these machines
//!   (it picks its AES-NI/VAES code paths at run time).
//!
//! Both are reached through [`Aead`]; the backend is chosen at run time per SA
//! ([`BackendKind::fastest`] by default). GMAC with a sequence-number high half
//! that is not contiguous with the rest of the AAD (ESN) is computed by
//! [`Gmac`], a streaming AES + GHASH built from RustCrypto's `aes` and `ghash`.
//! AES-CBC + HMAC-SHA-256-128 is [`CbcHmac`].

use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes_gcm::aead::AeadInOut;
use ghash::universal_hash::UniversalHash;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// The GCM nonce length (salt 4 + IV 8).
pub const NONCE_LEN: usize = 12;
/// The tag (ICV) length.
pub const TAG_LEN: usize = 16;

/// A crypto failure. Deliberately says nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key has a length the algorithm does not take.
    #[error("invalid key length")]
    KeyLength,
    /// The tag did not verify (or the backend refused the input).
    #[error("authentication failed")]
    AuthFailed,
    /// The input length is not acceptable (e.g. not a block multiple for CBC).
    #[error("invalid input length")]
    InputLength,
}

/// Which AES-GCM implementation an SA uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// RustCrypto `aes-gcm` (portable reference).
    RustCrypto,
    /// `aws-lc-rs` (fast, run-time CPU dispatch).
    #[default]
    AwsLc,
}

impl BackendKind {
    /// Both backends, for tests and benchmarks.
    pub const ALL: [BackendKind; 2] = [BackendKind::RustCrypto, BackendKind::AwsLc];

    /// The fastest backend on the machines this project targets.
    pub const fn fastest() -> Self {
        BackendKind::AwsLc
    }

    /// A short name for logs and benchmark labels.
    pub const fn name(self) -> &'static str {
        match self {
            BackendKind::RustCrypto => "rustcrypto",
            BackendKind::AwsLc => "aws-lc",
        }
    }

    /// Parses `rustcrypto` / `aws-lc` (as in configuration files).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "rustcrypto" | "rust-crypto" | "reference" => Some(BackendKind::RustCrypto),
            "aws-lc" | "awslc" | "aws-lc-rs" | "fast" => Some(BackendKind::AwsLc),
            _ => None,
        }
    }
}

/// The one small AEAD trait the ESP layer is written against: detached,
/// in-place AES-GCM with a 12-byte nonce and a 16-byte tag.
pub trait Aead: Send + Sync {
    /// Encrypts `buf` in place and returns the tag.
    fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError>;

    /// Checks `tag` (in constant time) and decrypts `buf` in place. On error the
    /// contents of `buf` are unspecified and must not be used.
    fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), CryptoError>;
}

/// `Debug` for types that hold key schedules: the type name and nothing of
/// the key.
macro_rules! redacted_debug {
    ($($t:ident),*) => {$(
        impl core::fmt::Debug for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($t), "(<redacted>)"))
            }
        }
    )*};
}
redacted_debug!(RustCryptoGcm, AwsLcGcm, Gmac, CbcHmac);

/// A cipher keyed from `key`, boxed (key schedules are large; the box keeps
/// the enums that hold them small).
fn boxed_key<C: KeyInit>(key: &[u8]) -> Result<Box<C>, CryptoError> {
    C::new_from_slice(key)
        .map(Box::new)
        .map_err(|_| CryptoError::KeyLength)
}

/// AES-GCM through RustCrypto's `aes-gcm`.
pub struct RustCryptoGcm {
    inner: RcInner,
}

enum RcInner {
    A128(Box<aes_gcm::Aes128Gcm>),
    A256(Box<aes_gcm::Aes256Gcm>),
}

impl RustCryptoGcm {
    /// Expands the key (16 or 32 bytes).
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        let inner = match key.len() {
            16 => RcInner::A128(boxed_key(key)?),
            32 => RcInner::A256(boxed_key(key)?),
            _ => return Err(CryptoError::KeyLength),
        };
        Ok(RustCryptoGcm { inner })
    }
}

impl Aead for RustCryptoGcm {
    fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        let n = aes_gcm::Nonce::from(*nonce);
        let tag = match &self.inner {
            RcInner::A128(c) => c.encrypt_inout_detached(&n, aad, buf.into()),
            RcInner::A256(c) => c.encrypt_inout_detached(&n, aad, buf.into()),
        }
        .map_err(|_| CryptoError::InputLength)?;
        <[u8; TAG_LEN]>::try_from(tag.as_slice()).map_err(|_| CryptoError::InputLength)
    }

    fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), CryptoError> {
        let n = aes_gcm::Nonce::from(*nonce);
        let t = aes_gcm::Tag::from(*tag);
        match &self.inner {
            RcInner::A128(c) => c.decrypt_inout_detached(&n, aad, buf.into(), &t),
            RcInner::A256(c) => c.decrypt_inout_detached(&n, aad, buf.into(), &t),
        }
        .map_err(|_| CryptoError::AuthFailed)
    }
}

/// AES-GCM through `aws-lc-rs`.
pub struct AwsLcGcm {
    key: aws_lc_rs::aead::LessSafeKey,
}

impl AwsLcGcm {
    /// Expands the key (16 or 32 bytes).
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        let alg = match key.len() {
            16 => &aws_lc_rs::aead::AES_128_GCM,
            32 => &aws_lc_rs::aead::AES_256_GCM,
            _ => return Err(CryptoError::KeyLength),
        };
        let unbound =
            aws_lc_rs::aead::UnboundKey::new(alg, key).map_err(|_| CryptoError::KeyLength)?;
        Ok(AwsLcGcm {
            key: aws_lc_rs::aead::LessSafeKey::new(unbound),
        })
    }
}

impl Aead for AwsLcGcm {
    fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        let n = aws_lc_rs::aead::Nonce::assume_unique_for_key(*nonce);
        let tag = self
            .key
            .seal_in_place_separate_tag(n, aws_lc_rs::aead::Aad::from(aad), buf)
            .map_err(|_| CryptoError::InputLength)?;
        <[u8; TAG_LEN]>::try_from(tag.as_ref()).map_err(|_| CryptoError::InputLength)
    }

    fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), CryptoError> {
        let n = aws_lc_rs::aead::Nonce::assume_unique_for_key(*nonce);
        self.key
            .open_in_place_separate_tag(n, aws_lc_rs::aead::Aad::from(aad), tag, buf)
            .map(|_| ())
            .map_err(|_| CryptoError::AuthFailed)
    }
}

/// An AES-GCM key bound to the backend chosen at run time (enum dispatch, no
/// allocation per packet).
#[derive(Debug)]
pub enum GcmKey {
    /// RustCrypto reference.
    RustCrypto(RustCryptoGcm),
    /// aws-lc-rs.
    AwsLc(AwsLcGcm),
}

impl GcmKey {
    /// Expands `key` (16 or 32 bytes) for the given backend.
    pub fn new(backend: BackendKind, key: &[u8]) -> Result<Self, CryptoError> {
        Ok(match backend {
            BackendKind::RustCrypto => GcmKey::RustCrypto(RustCryptoGcm::new(key)?),
            BackendKind::AwsLc => GcmKey::AwsLc(AwsLcGcm::new(key)?),
        })
    }

    /// The backend this key runs on.
    pub fn backend(&self) -> BackendKind {
        match self {
            GcmKey::RustCrypto(_) => BackendKind::RustCrypto,
            GcmKey::AwsLc(_) => BackendKind::AwsLc,
        }
    }
}

impl Aead for GcmKey {
    #[inline]
    fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        match self {
            GcmKey::RustCrypto(k) => k.seal_in_place(nonce, aad, buf),
            GcmKey::AwsLc(k) => k.seal_in_place(nonce, aad, buf),
        }
    }

    #[inline]
    fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), CryptoError> {
        match self {
            GcmKey::RustCrypto(k) => k.open_in_place(nonce, aad, buf, tag),
            GcmKey::AwsLc(k) => k.open_in_place(nonce, aad, buf, tag),
        }
    }
}

enum AesEnc {
    A128(Box<aes::Aes128>),
    A256(Box<aes::Aes256>),
}

impl AesEnc {
    fn new(key: &[u8]) -> Result<Self, CryptoError> {
        Ok(match key.len() {
            16 => AesEnc::A128(boxed_key(key)?),
            32 => AesEnc::A256(boxed_key(key)?),
            _ => return Err(CryptoError::KeyLength),
        })
    }

    fn encrypt(&self, block: &mut [u8; 16]) {
        let b: &mut aes::Block = block.into();
        match self {
            AesEnc::A128(c) => c.encrypt_block(b),
            AesEnc::A256(c) => c.encrypt_block(b),
        }
    }

    fn decrypt(&self, block: &mut [u8; 16]) {
        let b: &mut aes::Block = block.into();
        match self {
            AesEnc::A128(c) => c.decrypt_block(b),
            AesEnc::A256(c) => c.decrypt_block(b),
        }
    }
}

/// AES-GMAC (GCM with an empty plaintext) over an AAD given in pieces, so the
/// ESN high half can be inserted without copying the packet (RFC 4543).
pub struct Gmac {
    aes: AesEnc,
    h: [u8; 16],
}

impl Drop for Gmac {
    fn drop(&mut self) {
        self.h.zeroize();
    }
}

impl Gmac {
    /// Expands the AES key (16 or 32 bytes) and computes H = E_K(0^128).
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        let aes = AesEnc::new(key)?;
        let mut h = [0u8; 16];
        aes.encrypt(&mut h);
        Ok(Gmac { aes, h })
    }

    /// The GMAC tag of the concatenation of `parts` under `nonce`.
    pub fn tag(&self, nonce: &[u8; NONCE_LEN], parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut gh = ghash::GHash::new(&self.h.into());
        let mut pending = [0u8; 16];
        let mut fill = 0usize;
        let mut total: u64 = 0;
        for part in parts {
            total = total.wrapping_add(part.len() as u64);
            let mut rest: &[u8] = part;
            if fill > 0 {
                let take = (16 - fill).min(rest.len());
                let (head, tail) = rest.split_at(take);
                if let Some(dst) = pending.get_mut(fill..fill + take) {
                    dst.copy_from_slice(head);
                }
                fill += take;
                rest = tail;
                if fill == 16 {
                    gh.update(&[pending.into()]);
                    fill = 0;
                }
            }
            let blocks = rest.chunks_exact(16);
            let tail = blocks.remainder();
            for b in blocks {
                let mut blk = [0u8; 16];
                blk.copy_from_slice(b);
                gh.update(&[blk.into()]);
            }
            if !tail.is_empty() {
                if let Some(dst) = pending.get_mut(..tail.len()) {
                    dst.copy_from_slice(tail);
                }
                fill = tail.len();
            }
        }
        if fill > 0 {
            if let Some(z) = pending.get_mut(fill..) {
                z.fill(0);
            }
            gh.update(&[pending.into()]);
        }
        let mut lens = [0u8; 16];
        lens[..8].copy_from_slice(&total.wrapping_mul(8).to_be_bytes());
        gh.update(&[lens.into()]);
        let s = gh.finalize();
        let mut j0 = [0u8; 16];
        j0[..12].copy_from_slice(nonce);
        j0[15] = 1;
        self.aes.encrypt(&mut j0);
        let mut tag = [0u8; 16];
        for (t, (a, b)) in tag.iter_mut().zip(s.iter().zip(j0.iter())) {
            *t = a ^ b;
        }
        tag
    }

    /// Checks a GMAC tag in constant time.
    pub fn verify(&self, nonce: &[u8; NONCE_LEN], parts: &[&[u8]], tag: &[u8]) -> bool {
        let t = self.tag(nonce, parts);
        bool::from(t.ct_eq(tag))
    }
}

/// AES-CBC (RFC 3602) with HMAC-SHA-256 truncated to 128 bits (RFC 4868).
pub struct CbcHmac {
    aes: AesEnc,
    mac: Hmac<Sha256>,
}

impl CbcHmac {
    /// `enc_key` is the AES key (16 or 32 bytes), `auth_key` the HMAC key (32 bytes).
    pub fn new(enc_key: &[u8], auth_key: &[u8]) -> Result<Self, CryptoError> {
        if auth_key.len() != 32 {
            return Err(CryptoError::KeyLength);
        }
        Ok(CbcHmac {
            aes: AesEnc::new(enc_key)?,
            mac: hmac_key(auth_key)?,
        })
    }

    /// The IV for a packet: E_K(0^64 || seq), the forward cipher applied to a
    /// nonce under the encryption key (NIST SP 800-38A appendix C), so IVs are
    /// unpredictable without a random source.
    pub fn derive_iv(&self, seq: u64) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[8..].copy_from_slice(&seq.to_be_bytes());
        self.aes.encrypt(&mut iv);
        iv
    }

    /// CBC-encrypts `buf` (a multiple of 16 bytes) in place.
    pub fn encrypt(&self, iv: &[u8; 16], buf: &mut [u8]) -> Result<(), CryptoError> {
        if !buf.chunks_exact(16).remainder().is_empty() {
            return Err(CryptoError::InputLength);
        }
        let mut prev = *iv;
        for b in buf.chunks_exact_mut(16) {
            for (x, p) in prev.iter_mut().zip(b.iter()) {
                *x ^= p;
            }
            self.aes.encrypt(&mut prev);
            b.copy_from_slice(&prev);
        }
        Ok(())
    }

    /// CBC-decrypts `buf` (a multiple of 16 bytes) in place.
    pub fn decrypt(&self, iv: &[u8; 16], buf: &mut [u8]) -> Result<(), CryptoError> {
        if !buf.chunks_exact(16).remainder().is_empty() {
            return Err(CryptoError::InputLength);
        }
        let mut prev = *iv;
        for b in buf.chunks_exact_mut(16) {
            let mut blk = [0u8; 16];
            blk.copy_from_slice(b);
            let c = blk;
            self.aes.decrypt(&mut blk);
            for (x, p) in blk.iter_mut().zip(prev.iter()) {
                *x ^= p;
            }
            b.copy_from_slice(&blk);
            prev = c;
        }
        Ok(())
    }

    /// HMAC-SHA-256 over the concatenation of `parts`, truncated to 16 bytes.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 16] {
        hmac_128(self.mac.clone(), parts)
    }

    /// Checks a truncated HMAC in constant time.
    pub fn verify(&self, parts: &[&[u8]], icv: &[u8]) -> bool {
        bool::from(self.mac(parts).ct_eq(icv))
    }
}

/// HMAC-SHA-256-128 alone (for AH).
pub fn hmac_sha256_128(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
    Ok(hmac_128(hmac_key(key)?, parts))
}

/// HMAC-SHA-256 keyed with `key`.
fn hmac_key(key: &[u8]) -> Result<Hmac<Sha256>, CryptoError> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| CryptoError::KeyLength)
}

/// `m` over the concatenation of `parts`, truncated to 128 bits (RFC 4868).
fn hmac_128(mut m: Hmac<Sha256>, parts: &[&[u8]]) -> [u8; 16] {
    for p in parts {
        m.update(p);
    }
    let full = m.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, RngCore, SeedableRng};

    #[test]
    fn backends_agree_on_random_inputs() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x0065_7370);
        for i in 0..300 {
            let klen = if i % 2 == 0 { 16 } else { 32 };
            let mut key = vec![0u8; klen];
            rng.fill_bytes(&mut key);
            let mut nonce = [0u8; 12];
            rng.fill_bytes(&mut nonce);
            let aad_len = rng.gen_range(0..40);
            let mut aad = vec![0u8; aad_len];
            rng.fill_bytes(&mut aad);
            let len = rng.gen_range(0..600);
            let mut pt = vec![0u8; len];
            rng.fill_bytes(&mut pt);

            let a = GcmKey::new(BackendKind::RustCrypto, &key).unwrap();
            let b = GcmKey::new(BackendKind::AwsLc, &key).unwrap();
            let mut ca = pt.clone();
            let mut cb = pt.clone();
            let ta = a.seal_in_place(&nonce, &aad, &mut ca).unwrap();
            let tb = b.seal_in_place(&nonce, &aad, &mut cb).unwrap();
            assert_eq!(ca, cb);
            assert_eq!(ta, tb);
            // Each opens the other's output.
            b.open_in_place(&nonce, &aad, &mut ca, &ta).unwrap();
            assert_eq!(ca, pt);
            a.open_in_place(&nonce, &aad, &mut cb, &tb).unwrap();
            assert_eq!(cb, pt);

            // GMAC over pieces equals GCM with empty plaintext over the joined AAD.
            let g = Gmac::new(&key).unwrap();
            let split = if pt.is_empty() {
                0
            } else {
                rng.gen_range(0..pt.len())
            };
            let (p1, p2) = pt.split_at(split);
            let gt = g.tag(&nonce, &[&aad, p1, p2]);
            let mut joined = aad.clone();
            joined.extend_from_slice(&pt);
            let et = a.seal_in_place(&nonce, &joined, &mut []).unwrap();
            assert_eq!(gt, et);
        }
    }

    #[test]
    fn tampered_tag_rejected_by_both() {
        for backend in BackendKind::ALL {
            let k = GcmKey::new(backend, &[7u8; 16]).unwrap();
            let nonce = [1u8; 12];
            let mut buf = *b"sixteen byte msg";
            let mut tag = k.seal_in_place(&nonce, b"aad", &mut buf).unwrap();
            tag[0] ^= 1;
            assert_eq!(
                k.open_in_place(&nonce, b"aad", &mut buf, &tag),
                Err(CryptoError::AuthFailed)
            );
        }
    }

    #[test]
    fn bad_key_lengths() {
        for backend in BackendKind::ALL {
            assert!(GcmKey::new(backend, &[0u8; 24]).is_err());
            assert!(GcmKey::new(backend, &[]).is_err());
        }
        assert!(CbcHmac::new(&[0u8; 16], &[0u8; 20]).is_err());
    }
}
