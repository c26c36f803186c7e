//! The ESP datagram itself, the part the card also does: the per-SA cipher
//! state ([`SaCore`]) that seals and opens
//! `SPI(4) | SeqLo(4) | IV | ciphertext (payload, padding, pad length, next
//! header) | ICV(16)` at a given sequence number, and the trailer checks.

use core::ops::Range;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::config::{Mode, SaConfig, UdpEncap};
use crate::crypto::{Aead, CbcHmac, GcmKey, Gmac, NONCE_LEN};
use crate::error::{ConfigError, DecapError, EncapError};
use crate::spd::Selector;
use crate::types::{proto, SeqNum, Spi, Transform};

/// Per-SA precomputed cipher state.
#[derive(Debug)]
pub(crate) enum Cipher {
    Gcm(GcmKey),
    Gmac(Gmac),
    CbcHmac(CbcHmac),
}

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct Salt([u8; 4]);

/// The parts shared by both directions.
pub(crate) struct SaCore {
    pub(crate) spi: Spi,
    pub(crate) transform: Transform,
    pub(crate) esn: bool,
    pub(super) cipher: Cipher,
    salt: Salt,
    pub(crate) mode: Mode,
    pub(crate) encap: Option<UdpEncap>,
    pub(crate) tfc_pad_to: Option<u16>,
    pub(crate) selector: Option<Selector>,
}

impl core::fmt::Debug for SaCore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SaCore")
            .field("spi", &self.spi)
            .field("transform", &self.transform)
            .field("esn", &self.esn)
            .field("mode", &self.mode)
            .field("encap", &self.encap)
            .finish_non_exhaustive()
    }
}

impl SaCore {
    /// Validates `cfg` and expands its keys.
    pub(super) fn new(cfg: &SaConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let t = cfg.transform;
        let k = cfg.key.as_bytes();
        let (cipher_key, rest) = k.split_at(t.cipher_key_len().min(k.len()));
        let cipher = match t {
            Transform::AesGcm128 | Transform::AesGcm256 => {
                Cipher::Gcm(GcmKey::new(cfg.backend, cipher_key)?)
            }
            Transform::AesGmac128 | Transform::AesGmac256 => Cipher::Gmac(Gmac::new(cipher_key)?),
            Transform::AesCbc128HmacSha256 | Transform::AesCbc256HmacSha256 => {
                Cipher::CbcHmac(CbcHmac::new(cipher_key, rest)?)
            }
        };
        // GCM and GMAC take a 4-byte salt after the AES key (RFC 4106 section
        // 8.1, RFC 4543 section 3.2); CBC's rest is its HMAC key.
        let mut salt = Salt([0; 4]);
        if !matches!(cipher, Cipher::CbcHmac(_)) {
            salt.0
                .copy_from_slice(rest.get(..4).ok_or(ConfigError::KeyMaterial("no salt"))?);
        }
        Ok(SaCore {
            spi: cfg.spi,
            transform: t,
            esn: cfg.esn,
            cipher,
            salt,
            mode: cfg.mode,
            encap: cfg.encap,
            tfc_pad_to: cfg.tfc_pad_to,
            selector: cfg.selector,
        })
    }

    /// The GCM/GMAC nonce: salt(4) | IV(8).
    pub(super) fn nonce(&self, iv: &[u8]) -> [u8; NONCE_LEN] {
        let mut n = [0u8; NONCE_LEN];
        n[..4].copy_from_slice(&self.salt.0);
        if let Some(d) = n.get_mut(4..4 + iv.len().min(8)) {
            d.copy_from_slice(iv.get(..8).unwrap_or(iv));
        }
        n
    }

    /// Seals in place. `buf[hl..hl + payload_len]` holds the payload; the rest
    /// of the datagram is written around it. Returns the datagram length.
    pub(super) fn seal_raw(
        &self,
        seq: SeqNum,
        iv: Option<&[u8]>,
        buf: &mut [u8],
        payload_len: usize,
        next_header: u8,
        tfc_len: usize,
    ) -> Result<usize, EncapError> {
        let t = self.transform;
        let hl = t.header_len();
        let body = payload_len + tfc_len;
        let pad = pad_len(t, body);
        let ct_len = body + pad + 2;
        let total = esp_datagram_len(t, body);
        if buf.len() < total {
            return Err(EncapError::BufferTooSmall {
                need: total,
                have: buf.len(),
            });
        }
        let buf = buf.get_mut(..total).ok_or(EncapError::TooLarge)?;
        buf[0..4].copy_from_slice(&self.spi.0.to_be_bytes());
        buf[4..8].copy_from_slice(&seq.lo().to_be_bytes());
        match iv {
            Some(iv) if iv.len() != t.iv_len() => {
                return Err(EncapError::IvLength {
                    expected: t.iv_len(),
                    got: iv.len(),
                })
            }
            Some(iv) => buf[8..hl].copy_from_slice(iv),
            None => match &self.cipher {
                Cipher::CbcHmac(c) => buf[8..hl].copy_from_slice(&c.derive_iv(seq.0)),
                _ => buf[8..hl].copy_from_slice(&seq.0.to_be_bytes()),
            },
        }
        // Trailer: TFC zeros, monotonic padding 1, 2, 3, ..., pad length, next header.
        let trailer = &mut buf[hl + payload_len..hl + ct_len];
        let (tfc, rest) = trailer.split_at_mut(tfc_len);
        tfc.fill(0);
        for (i, b) in rest.iter_mut().take(pad).enumerate() {
            *b = (i + 1) as u8;
        }
        rest[pad] = pad as u8;
        rest[pad + 1] = next_header;

        let (head, tail) = buf.split_at_mut(hl + ct_len);
        let icv = &mut tail[..16];
        let hi_bytes = seq.hi().to_be_bytes();
        let hi = self.seq_hi(&hi_bytes);
        let tag = match &self.cipher {
            Cipher::Gcm(k) => {
                let nonce = self.nonce(&head[8..16]);
                let (hdr, ct) = head.split_at_mut(hl);
                let (aad, aad_len) = gcm_aad(hdr, hi);
                k.seal_in_place(&nonce, &aad[..aad_len], ct)
                    .map_err(|_| EncapError::Crypto)?
            }
            Cipher::Gmac(g) => g.tag(&self.nonce(&head[8..16]), &gmac_parts(head, hi)),
            Cipher::CbcHmac(c) => {
                c.encrypt(&cbc_iv(head), &mut head[hl..])
                    .map_err(|_| EncapError::Crypto)?;
                c.mac(&[head, hi])
            }
        };
        icv.copy_from_slice(&tag);
        Ok(total)
    }

    /// Verifies and decrypts in place, given the full sequence number. Returns
    /// (payload range, next header) after the trailer checks.
    pub(super) fn open_raw(
        &self,
        seq: SeqNum,
        d: &mut [u8],
    ) -> Result<(Range<usize>, u8), DecapError> {
        let t = self.transform;
        let hl = t.header_len();
        let total = d.len();
        let ct_len = total
            .checked_sub(hl + t.icv_len())
            .ok_or(DecapError::Truncated("shorter than ESP header and ICV"))?;
        if ct_len < 2 {
            return Err(DecapError::Truncated("no room for the ESP trailer"));
        }
        if t.pad_align() == 16 && ct_len % 16 != 0 {
            return Err(DecapError::Truncated("CBC ciphertext not a block multiple"));
        }
        let hi_bytes = seq.hi().to_be_bytes();
        let hi = self.seq_hi(&hi_bytes);
        let (head, tail) = d.split_at_mut(hl + ct_len);
        let icv = tail.get(..16).ok_or(DecapError::Truncated("ICV"))?;
        match &self.cipher {
            Cipher::Gcm(k) => {
                let nonce = self.nonce(head.get(8..16).ok_or(DecapError::Truncated("IV"))?);
                let (hdr, ct) = head.split_at_mut(hl);
                let mut tag = [0u8; 16];
                tag.copy_from_slice(icv);
                let (aad, aad_len) = gcm_aad(hdr, hi);
                k.open_in_place(&nonce, &aad[..aad_len], ct, &tag)
                    .map_err(|_| DecapError::AuthFailed)?;
            }
            Cipher::Gmac(g) => {
                let nonce = self.nonce(head.get(8..16).ok_or(DecapError::Truncated("IV"))?);
                if !g.verify(&nonce, &gmac_parts(head, hi), icv) {
                    return Err(DecapError::AuthFailed);
                }
            }
            Cipher::CbcHmac(c) => {
                if !c.verify(&[head, hi], icv) {
                    return Err(DecapError::AuthFailed);
                }
                c.decrypt(&cbc_iv(head), &mut head[hl..])
                    .map_err(|_| DecapError::Truncated("CBC ciphertext not a block multiple"))?;
            }
        }
        trailer(head, hl)
    }

    /// The sequence number's high half as the ICV covers it: its four bytes
    /// with ESN, nothing without (RFC 4303 section 2.2.1).
    fn seq_hi<'a>(&self, hi_bytes: &'a [u8; 4]) -> &'a [u8] {
        if self.esn {
            hi_bytes
        } else {
            &[]
        }
    }
}

/// The GCM AAD: SPI | SeqLo, or SPI | SeqHi | SeqLo with ESN (RFC 4106
/// section 5); `hdr` starts with SPI | SeqLo. Returns the bytes and how many
/// of them are used.
fn gcm_aad(hdr: &[u8], seq_hi: &[u8]) -> ([u8; 12], usize) {
    let mut aad = [0u8; 12];
    let n = 8 + seq_hi.len();
    aad[..4].copy_from_slice(&hdr[..4]);
    aad[4..4 + seq_hi.len()].copy_from_slice(seq_hi);
    aad[4 + seq_hi.len()..n].copy_from_slice(&hdr[4..8]);
    (aad, n)
}

/// What GMAC authenticates (RFC 4543 section 3.2): the whole datagram up to
/// the ICV, with the ESN high half (possibly empty) after the SPI.
fn gmac_parts<'a>(head: &'a [u8], seq_hi: &'a [u8]) -> [&'a [u8]; 3] {
    [&head[..4], seq_hi, &head[4..]]
}

/// The 16-byte CBC IV, after SPI | SeqLo.
fn cbc_iv(head: &[u8]) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&head[8..24]);
    iv
}

/// Parses and checks the decrypted trailer of `head` (header + plaintext).
fn trailer(head: &[u8], hl: usize) -> Result<(Range<usize>, u8), DecapError> {
    let n = head.len();
    let next_header = *head
        .get(n.wrapping_sub(1))
        .ok_or(DecapError::BadTrailer("empty"))?;
    let pad_len = *head
        .get(n.wrapping_sub(2))
        .ok_or(DecapError::BadTrailer("empty"))? as usize;
    let payload_end = n
        .checked_sub(2 + pad_len)
        .filter(|&e| e >= hl)
        .ok_or(DecapError::BadTrailer("pad length exceeds payload"))?;
    let pad = head
        .get(payload_end..n - 2)
        .ok_or(DecapError::BadTrailer("pad"))?;
    if pad.iter().enumerate().any(|(i, &b)| b != (i + 1) as u8) {
        return Err(DecapError::BadTrailer("padding bytes not 1, 2, 3, ..."));
    }
    if next_header == proto::NO_NEXT_HEADER {
        return Err(DecapError::DummyPacket);
    }
    Ok((hl..payload_end, next_header))
}

/// Padding bytes after `body` bytes so that body, padding, pad length and next
/// header fill whole units of `t.pad_align()`.
fn pad_len(t: Transform, body: usize) -> usize {
    let align = t.pad_align();
    (align - (body + 2) % align) % align
}

/// ESP datagram length for `payload_len` payload bytes under `t`.
pub fn esp_datagram_len(t: Transform, payload_len: usize) -> usize {
    t.header_len() + payload_len + pad_len(t, payload_len) + 2 + t.icv_len()
}
