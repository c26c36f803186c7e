//! Security associations: configuration, keys, counters, lifetimes, and the
//! ESP layer itself (the part the card also does):
//! `SPI(4) | SeqLo(4) | IV | ciphertext (payload, padding, pad length, next
//! header) | ICV(16)`, without outer IP header or UDP.

use core::ops::Range;
use std::net::IpAddr;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::{Aead, BackendKind, CbcHmac, GcmKey, Gmac, NONCE_LEN};
use crate::error::{ConfigError, DecapError, EncapError, SeqError};
use crate::replay::{ReplayWindow, DEFAULT_WINDOW};
use crate::spd::Selector;
use crate::types::{proto, SeqNum, Spi, Transform};

/// Largest key material any transform takes.
const MAX_KEY_MATERIAL: usize = 64;

/// Secret key material for one SA direction, exactly as IKEv2 derives it (see
/// [`Transform::key_material_len`]). Zeroized on drop; `Debug` prints only the
/// length.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyMaterial {
    bytes: [u8; MAX_KEY_MATERIAL],
    len: usize,
}

impl KeyMaterial {
    /// Copies `bytes` (at most 64).
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > MAX_KEY_MATERIAL {
            return None;
        }
        let mut k = KeyMaterial {
            bytes: [0; MAX_KEY_MATERIAL],
            len: bytes.len(),
        };
        k.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(k)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl core::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyMaterial(<redacted {} bytes>)", self.len)
    }
}

/// Soft and hard lifetimes in packets and bytes (payload bytes). `None` = no
/// limit. Time-based lifetimes belong to the caller (this crate reads no clock).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lifetime {
    /// Report once when this many packets have been processed.
    pub soft_packets: Option<u64>,
    /// Refuse after this many packets.
    pub hard_packets: Option<u64>,
    /// Report once when this many payload bytes have been processed.
    pub soft_bytes: Option<u64>,
    /// Refuse after this many payload bytes.
    pub hard_bytes: Option<u64>,
}

/// Packets and payload bytes processed by an SA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Packets.
    pub packets: u64,
    /// Payload bytes (before padding).
    pub bytes: u64,
}

#[derive(Clone, Debug, Default)]
struct LifetimeState {
    limits: Lifetime,
    usage: Usage,
    soft_reported: bool,
}

impl LifetimeState {
    fn hard_reached(&self) -> bool {
        self.limits
            .hard_packets
            .is_some_and(|h| self.usage.packets >= h)
            || self
                .limits
                .hard_bytes
                .is_some_and(|h| self.usage.bytes >= h)
    }

    /// Counts one packet; returns true exactly once, when a soft limit is first reached.
    fn account(&mut self, bytes: usize) -> bool {
        self.usage.packets = self.usage.packets.saturating_add(1);
        self.usage.bytes = self.usage.bytes.saturating_add(bytes as u64);
        if self.soft_reported {
            return false;
        }
        let soft = self
            .limits
            .soft_packets
            .is_some_and(|s| self.usage.packets >= s)
            || self
                .limits
                .soft_bytes
                .is_some_and(|s| self.usage.bytes >= s);
        if soft {
            self.soft_reported = true;
        }
        soft
    }
}

/// Transport or tunnel mode (RFC 4301 section 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// ESP inserted after the IP header of the packet itself.
    Transport,
    /// The whole packet inside a new outer IP header between these endpoints.
    Tunnel {
        /// Our endpoint (outer source when sending).
        local: IpAddr,
        /// The peer's endpoint (outer destination when sending).
        remote: IpAddr,
    },
}

/// UDP encapsulation of ESP (RFC 3948) with these ports (4500 normally).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpEncap {
    /// Source port of packets we send.
    pub src_port: u16,
    /// Destination port of packets we send.
    pub dst_port: u16,
}

impl Default for UdpEncap {
    fn default() -> Self {
        UdpEncap {
            src_port: 4500,
            dst_port: 4500,
        }
    }
}

/// Everything needed to create one SA direction.
#[derive(Clone, Debug)]
pub struct SaConfig {
    /// SPI (chosen by the receiver).
    pub spi: Spi,
    /// Transform.
    pub transform: Transform,
    /// Key material: see [`Transform::key_material_len`].
    pub key: KeyMaterial,
    /// Extended (64-bit) sequence numbers (RFC 4303 section 2.2.1).
    pub esn: bool,
    /// Anti-replay window size in packets (inbound; 32..=65536, default 1024).
    pub replay_window: u32,
    /// Soft and hard lifetimes.
    pub lifetime: Lifetime,
    /// AES-GCM backend.
    pub backend: BackendKind,
    /// Transport or tunnel mode (packet layer).
    pub mode: Mode,
    /// UDP encapsulation (packet layer).
    pub encap: Option<UdpEncap>,
    /// Traffic-flow-confidentiality padding (RFC 4303 section 2.4): in tunnel
    /// mode, pad the inner packet with zeros up to this many bytes.
    pub tfc_pad_to: Option<u16>,
    /// Inbound selector check after decryption (packet layer); `None` = any.
    pub selector: Option<Selector>,
}

impl SaConfig {
    /// A configuration with defaults: no ESN, window 1024, no lifetimes, the
    /// fastest backend, transport mode, no UDP encapsulation, no TFC padding.
    pub fn new(spi: Spi, transform: Transform, key: &[u8]) -> Result<Self, ConfigError> {
        if key.len() != transform.key_material_len() {
            return Err(ConfigError::KeyLength {
                transform,
                expected: transform.key_material_len(),
                got: key.len(),
            });
        }
        let key = KeyMaterial::new(key).ok_or(ConfigError::KeyLength {
            transform,
            expected: transform.key_material_len(),
            got: key.len(),
        })?;
        Ok(SaConfig {
            spi,
            transform,
            key,
            esn: false,
            replay_window: DEFAULT_WINDOW,
            lifetime: Lifetime::default(),
            backend: BackendKind::fastest(),
            mode: Mode::Transport,
            encap: None,
            tfc_pad_to: None,
            selector: None,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let t = self.transform;
        if self.key.len() != t.key_material_len() {
            return Err(ConfigError::KeyLength {
                transform: t,
                expected: t.key_material_len(),
                got: self.key.len(),
            });
        }
        if let Mode::Tunnel { local, remote } = self.mode {
            if local.is_ipv4() != remote.is_ipv4() {
                return Err(ConfigError::TunnelFamilyMismatch);
            }
        }
        let l = self.lifetime;
        if matches!((l.soft_packets, l.hard_packets), (Some(s), Some(h)) if s > h)
            || matches!((l.soft_bytes, l.hard_bytes), (Some(s), Some(h)) if s > h)
        {
            return Err(ConfigError::Lifetime);
        }
        Ok(())
    }
}

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
    cipher: Cipher,
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
    fn new(cfg: &SaConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let t = cfg.transform;
        let k = cfg.key.as_bytes();
        let klen = t.cipher_key_len();
        let (cipher_key, rest) = k.split_at(klen.min(k.len()));
        let mut salt = Salt([0; 4]);
        let cipher = match t {
            Transform::AesGcm128 | Transform::AesGcm256 => {
                salt.0
                    .copy_from_slice(rest.get(..4).ok_or(ConfigError::KeyMaterial("no salt"))?);
                Cipher::Gcm(GcmKey::new(cfg.backend, cipher_key)?)
            }
            Transform::AesGmac128 | Transform::AesGmac256 => {
                salt.0
                    .copy_from_slice(rest.get(..4).ok_or(ConfigError::KeyMaterial("no salt"))?);
                Cipher::Gmac(Gmac::new(cipher_key)?)
            }
            Transform::AesCbc128HmacSha256 | Transform::AesCbc256HmacSha256 => {
                Cipher::CbcHmac(CbcHmac::new(cipher_key, rest)?)
            }
        };
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

    fn nonce(&self, iv: &[u8]) -> [u8; NONCE_LEN] {
        let mut n = [0u8; NONCE_LEN];
        n[..4].copy_from_slice(&self.salt.0);
        if let Some(d) = n.get_mut(4..4 + iv.len().min(8)) {
            d.copy_from_slice(iv.get(..8).unwrap_or(iv));
        }
        n
    }

    /// Seals in place. `buf[hl..hl + payload_len]` holds the payload; the rest
    /// of the datagram is written around it. Returns the datagram length.
    #[allow(clippy::too_many_arguments)]
    fn seal_raw(
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
        let align = t.pad_align();
        let pad = (align - (body + 2) % align) % align;
        let ct_len = body + pad + 2;
        let total = hl + ct_len + t.icv_len();
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
        let seq_hi = seq.hi().to_be_bytes();
        match &self.cipher {
            Cipher::Gcm(k) => {
                let nonce = self.nonce(&head[8..16]);
                let (hdr, ct) = head.split_at_mut(hl);
                let tag = if self.esn {
                    let mut aad = [0u8; 12];
                    aad[..4].copy_from_slice(&hdr[..4]);
                    aad[4..8].copy_from_slice(&seq_hi);
                    aad[8..].copy_from_slice(&hdr[4..8]);
                    k.seal_in_place(&nonce, &aad, ct)
                } else {
                    k.seal_in_place(&nonce, &hdr[..8], ct)
                }
                .map_err(|_| EncapError::Crypto)?;
                icv.copy_from_slice(&tag);
            }
            Cipher::Gmac(g) => {
                let nonce = self.nonce(&head[8..16]);
                let tag = if self.esn {
                    g.tag(&nonce, &[&head[..4], &seq_hi, &head[4..]])
                } else {
                    g.tag(&nonce, &[head])
                };
                icv.copy_from_slice(&tag);
            }
            Cipher::CbcHmac(c) => {
                let mut ivb = [0u8; 16];
                ivb.copy_from_slice(&head[8..24]);
                c.encrypt(&ivb, &mut head[hl..])
                    .map_err(|_| EncapError::Crypto)?;
                let tag = if self.esn {
                    c.mac(&[head, &seq_hi])
                } else {
                    c.mac(&[head])
                };
                icv.copy_from_slice(&tag);
            }
        }
        Ok(total)
    }

    /// Verifies and decrypts in place, given the full sequence number. Returns
    /// (payload range, next header) after the trailer checks.
    fn open_raw(&self, seq: SeqNum, d: &mut [u8]) -> Result<(Range<usize>, u8), DecapError> {
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
        let seq_hi = seq.hi().to_be_bytes();
        let (head, tail) = d.split_at_mut(hl + ct_len);
        let icv = tail.get(..16).ok_or(DecapError::Truncated("ICV"))?;
        match &self.cipher {
            Cipher::Gcm(k) => {
                let nonce = self.nonce(head.get(8..16).ok_or(DecapError::Truncated("IV"))?);
                let (hdr, ct) = head.split_at_mut(hl);
                let mut tag = [0u8; 16];
                tag.copy_from_slice(icv);
                let r = if self.esn {
                    let mut aad = [0u8; 12];
                    aad[..4].copy_from_slice(&hdr[..4]);
                    aad[4..8].copy_from_slice(&seq_hi);
                    aad[8..].copy_from_slice(&hdr[4..8]);
                    k.open_in_place(&nonce, &aad, ct, &tag)
                } else {
                    k.open_in_place(&nonce, &hdr[..8], ct, &tag)
                };
                r.map_err(|_| DecapError::AuthFailed)?;
            }
            Cipher::Gmac(g) => {
                let nonce = self.nonce(head.get(8..16).ok_or(DecapError::Truncated("IV"))?);
                let ok = if self.esn {
                    g.verify(&nonce, &[&head[..4], &seq_hi, &head[4..]], icv)
                } else {
                    g.verify(&nonce, &[head], icv)
                };
                if !ok {
                    return Err(DecapError::AuthFailed);
                }
            }
            Cipher::CbcHmac(c) => {
                let ok = if self.esn {
                    c.verify(&[head, &seq_hi], icv)
                } else {
                    c.verify(&[head], icv)
                };
                if !ok {
                    return Err(DecapError::AuthFailed);
                }
                let mut ivb = [0u8; 16];
                ivb.copy_from_slice(&head[8..24]);
                c.decrypt(&ivb, &mut head[hl..])
                    .map_err(|_| DecapError::Truncated("CBC ciphertext not a block multiple"))?;
            }
        }
        trailer(head, hl)
    }
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

/// Result of sealing one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// Length of the ESP datagram written (or of the whole packet, for the
    /// packet layer).
    pub len: usize,
    /// The sequence number used.
    pub seq: SeqNum,
    /// True exactly once: on the packet that reached a soft lifetime. The
    /// caller should start a rekey.
    pub soft_expired: bool,
}

/// The accessors both SA directions share, read from their `SaCore`.
macro_rules! sa_params {
    () => {
        /// SPI.
        pub fn spi(&self) -> Spi {
            self.core.spi
        }
        /// Transform.
        pub fn transform(&self) -> Transform {
            self.core.transform
        }
        /// ESN on?
        pub fn esn(&self) -> bool {
            self.core.esn
        }
        /// Mode.
        pub fn mode(&self) -> Mode {
            self.core.mode
        }
        /// UDP encapsulation.
        pub fn encap(&self) -> Option<UdpEncap> {
            self.core.encap
        }
    };
}

/// An outbound SA: seals packets with a per-SA counter.
#[derive(Debug)]
pub struct OutboundSa {
    pub(crate) core: SaCore,
    /// Next sequence number to use; 0 means the space is exhausted.
    next: u64,
    life: LifetimeState,
}

impl OutboundSa {
    /// Creates the SA; the first packet gets sequence number 1.
    pub fn new(cfg: &SaConfig) -> Result<Self, ConfigError> {
        Ok(OutboundSa {
            core: SaCore::new(cfg)?,
            next: 1,
            life: LifetimeState {
                limits: cfg.lifetime,
                ..Default::default()
            },
        })
    }

    sa_params!();
    /// Packets and bytes sealed so far.
    pub fn usage(&self) -> Usage {
        self.life.usage
    }

    fn max_seq(&self) -> u64 {
        if self.core.esn {
            u64::MAX
        } else {
            u32::MAX as u64
        }
    }

    /// The sequence number the next packet will get, or `None` when exhausted.
    pub fn next_seq(&self) -> Option<SeqNum> {
        (self.next != 0 && self.next <= self.max_seq()).then_some(SeqNum(self.next))
    }

    /// Moves the counter forward so the next packet gets `next` (e.g. to carry
    /// on where a card's counter stopped). Never moves backwards.
    pub fn set_next_seq(&mut self, next: SeqNum) -> Result<(), SeqError> {
        let current = self.next_seq().ok_or(SeqError::Exhausted)?;
        if next < current {
            return Err(SeqError::Backwards {
                current,
                requested: next,
            });
        }
        if next.0 > self.max_seq() {
            return Err(SeqError::Exhausted);
        }
        self.next = next.0;
        Ok(())
    }

    /// Reserves `count` consecutive sequence numbers (for a batch, or for a
    /// card that numbers packets itself) and returns the first. The counter
    /// moves past them.
    pub fn reserve(&mut self, count: u64) -> Result<SeqNum, EncapError> {
        let first = self.next_seq().ok_or(EncapError::RekeyRequired)?;
        if count == 0 {
            return Ok(first);
        }
        let last = first
            .0
            .checked_add(count - 1)
            .filter(|&l| l <= self.max_seq())
            .ok_or(EncapError::RekeyRequired)?;
        // Past u64::MAX the counter reads 0 = exhausted.
        self.next = last.wrapping_add(1);
        if !self.core.esn && self.next > u32::MAX as u64 {
            self.next = 0;
        }
        Ok(first)
    }

    /// Length of the ESP header (SPI, sequence number, IV): where the payload
    /// goes for [`seal_in_place`](Self::seal_in_place).
    pub fn header_len(&self) -> usize {
        self.core.transform.header_len()
    }

    /// Length of the ESP datagram for a payload of `payload_len` bytes (with
    /// padding, trailer and ICV; without TFC padding).
    pub fn datagram_len(&self, payload_len: usize) -> usize {
        esp_datagram_len(self.core.transform, payload_len)
    }

    fn begin(&mut self) -> Result<SeqNum, EncapError> {
        if self.life.hard_reached() {
            return Err(EncapError::HardLifetime);
        }
        self.reserve(1)
    }

    /// Seals `payload` (with `next_header`, e.g. 4 or 41 in tunnel mode) into
    /// an ESP datagram written to `out`, using the next sequence number.
    /// Returns the datagram length. No allocation.
    pub fn seal(
        &mut self,
        payload: &[u8],
        next_header: u8,
        out: &mut [u8],
    ) -> Result<Sealed, EncapError> {
        let hl = self.header_len();
        let need = self.datagram_len(payload.len());
        if out.len() < need {
            return Err(EncapError::BufferTooSmall {
                need,
                have: out.len(),
            });
        }
        out.get_mut(hl..hl + payload.len())
            .ok_or(EncapError::TooLarge)?
            .copy_from_slice(payload);
        self.seal_in_place(out, payload.len(), next_header)
    }

    /// Like [`seal`](Self::seal) with the payload already in place at
    /// `buf[header_len()..header_len() + payload_len]` (no copy).
    pub fn seal_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        next_header: u8,
    ) -> Result<Sealed, EncapError> {
        self.seal_in_place_tfc(buf, payload_len, next_header, 0)
    }

    pub(crate) fn seal_in_place_tfc(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        next_header: u8,
        tfc_len: usize,
    ) -> Result<Sealed, EncapError> {
        let need = esp_datagram_len(self.core.transform, payload_len + tfc_len);
        if buf.len() < need {
            return Err(EncapError::BufferTooSmall {
                need,
                have: buf.len(),
            });
        }
        let seq = self.begin()?;
        let len = self
            .core
            .seal_raw(seq, None, buf, payload_len, next_header, tfc_len)?;
        let soft_expired = self.life.account(payload_len);
        Ok(Sealed {
            len,
            seq,
            soft_expired,
        })
    }

    /// Seals at an explicit sequence number, leaving the counter and lifetimes
    /// alone. `iv = None` uses the SA's IV rule (the 64-bit sequence number for
    /// GCM/GMAC); an explicit IV is for published vectors and for checking a
    /// card. Never use it twice with the same sequence number on a live SA.
    pub fn seal_at(
        &self,
        seq: SeqNum,
        iv: Option<&[u8]>,
        payload: &[u8],
        next_header: u8,
        out: &mut [u8],
    ) -> Result<usize, EncapError> {
        let hl = self.header_len();
        let need = self.datagram_len(payload.len());
        if out.len() < need {
            return Err(EncapError::BufferTooSmall {
                need,
                have: out.len(),
            });
        }
        out.get_mut(hl..hl + payload.len())
            .ok_or(EncapError::TooLarge)?
            .copy_from_slice(payload);
        self.core
            .seal_raw(seq, iv, out, payload.len(), next_header, 0)
    }
}

/// ESP datagram length for `payload_len` payload bytes under `t`.
pub fn esp_datagram_len(t: Transform, payload_len: usize) -> usize {
    let align = t.pad_align();
    let pad = (align - (payload_len + 2) % align) % align;
    t.header_len() + payload_len + pad + 2 + t.icv_len()
}

/// Result of opening one ESP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The authenticated 64-bit sequence number.
    pub seq: SeqNum,
    /// Next header from the trailer.
    pub next_header: u8,
    /// Where the decrypted payload now lies, relative to the datagram.
    pub payload: Range<usize>,
    /// True exactly once, on the packet that reached a soft lifetime.
    pub soft_expired: bool,
}

/// An inbound SA: opens packets, keeps the replay window.
#[derive(Debug)]
pub struct InboundSa {
    pub(crate) core: SaCore,
    replay: ReplayWindow,
    life: LifetimeState,
}

impl InboundSa {
    /// Creates the SA.
    pub fn new(cfg: &SaConfig) -> Result<Self, ConfigError> {
        Ok(InboundSa {
            core: SaCore::new(cfg)?,
            replay: ReplayWindow::new(cfg.replay_window, cfg.esn)?,
            life: LifetimeState {
                limits: cfg.lifetime,
                ..Default::default()
            },
        })
    }

    sa_params!();
    /// Packets and bytes accepted so far.
    pub fn usage(&self) -> Usage {
        self.life.usage
    }
    /// The replay window (read-only).
    pub fn replay_window(&self) -> &ReplayWindow {
        &self.replay
    }

    /// Replay pre-check for a packet whose low sequence half is `seq_lo`:
    /// returns the inferred 64-bit sequence number (pass its high half to the
    /// card with ESN). Changes nothing.
    pub fn replay_check(&self, seq_lo: u32) -> Result<SeqNum, DecapError> {
        Ok(self.replay.check(seq_lo)?)
    }

    /// After the card (or anyone else) verified the ICV of packet `seq` with
    /// `payload_len` payload bytes: updates the replay window and the lifetime
    /// counters. Returns true exactly once, when a soft lifetime is reached.
    pub fn accept_verified(&mut self, seq: SeqNum, payload_len: usize) -> Result<bool, DecapError> {
        self.replay.update(seq)?;
        Ok(self.life.account(payload_len))
    }

    /// Opens an ESP datagram (SPI .. ICV) in place. Checks, in order: length,
    /// SPI, hard lifetime, replay pre-check, ICV (constant time), replay update,
    /// trailer. The payload is decrypted in place; see [`Opened::payload`].
    pub fn open(&mut self, datagram: &mut [u8]) -> Result<Opened, DecapError> {
        let t = self.core.transform;
        if datagram.len() < t.header_len() + 2 + t.icv_len() {
            return Err(DecapError::Truncated(
                "shorter than the smallest ESP packet",
            ));
        }
        let spi = Spi(read_u32(datagram, 0).ok_or(DecapError::Truncated("SPI"))?);
        if spi != self.core.spi {
            return Err(DecapError::SpiMismatch {
                expected: self.core.spi,
                got: spi,
            });
        }
        if self.life.hard_reached() {
            return Err(DecapError::HardLifetime);
        }
        let seq_lo = read_u32(datagram, 4).ok_or(DecapError::Truncated("sequence number"))?;
        let seq = self.replay.check(seq_lo)?;
        // ICV and decryption; trailer checks come after the replay update.
        let res = self.core.open_raw(seq, datagram);
        if let Err(e @ (DecapError::AuthFailed | DecapError::Truncated(_))) = res {
            return Err(e);
        }
        self.replay.update(seq)?;
        let (payload, next_header) = res?;
        let soft_expired = self.life.account(payload.len());
        Ok(Opened {
            seq,
            next_header,
            payload,
            soft_expired,
        })
    }

    /// Verifies and decrypts at a given full sequence number without touching
    /// the replay window or lifetimes (an oracle for checking the card).
    pub fn open_at(&self, seq: SeqNum, datagram: &mut [u8]) -> Result<Opened, DecapError> {
        let (payload, next_header) = self.core.open_raw(seq, datagram)?;
        Ok(Opened {
            seq,
            next_header,
            payload,
            soft_expired: false,
        })
    }
}

pub(crate) fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(t: Transform) -> SaConfig {
        let key: Vec<u8> = (0..t.key_material_len()).map(|i| i as u8).collect();
        SaConfig::new(Spi(0x4242), t, &key).unwrap()
    }

    fn seal_one(o: &mut OutboundSa) -> Result<Sealed, EncapError> {
        let mut buf = [0u8; 128];
        o.seal(b"payload", proto::IPV4, &mut buf)
    }

    #[test]
    fn key_length_checked_and_debug_redacted() {
        let e = SaConfig::new(Spi(1), Transform::AesGcm128, &[0u8; 16]).unwrap_err();
        assert!(matches!(
            e,
            ConfigError::KeyLength {
                expected: 20,
                got: 16,
                ..
            }
        ));
        let c = cfg(Transform::AesGcm256);
        let dbg = format!(
            "{c:?} {:?} {:?}",
            OutboundSa::new(&c).unwrap(),
            InboundSa::new(&c).unwrap()
        );
        assert!(dbg.contains("redacted"));
        // No key byte sequence leaks: the key is 0, 1, 2, ... so look for "[0, 1, 2".
        assert!(!dbg.contains("[0, 1, 2"));
        assert!(!dbg.contains("000102"));
    }

    #[test]
    fn sequence_numbers_start_at_one_and_never_wrap() {
        let mut o = OutboundSa::new(&cfg(Transform::AesGcm128)).unwrap();
        assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(1));
        assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(2));
        o.set_next_seq(SeqNum(u32::MAX as u64)).unwrap();
        assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(u32::MAX as u64));
        assert_eq!(seal_one(&mut o), Err(EncapError::RekeyRequired));
        assert_eq!(o.next_seq(), None);
        assert_eq!(seal_one(&mut o), Err(EncapError::RekeyRequired));
    }

    #[test]
    fn esn_counter_runs_to_u64_max() {
        let mut c = cfg(Transform::AesGcm128);
        c.esn = true;
        let mut o = OutboundSa::new(&c).unwrap();
        o.set_next_seq(SeqNum(u32::MAX as u64)).unwrap();
        assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(u32::MAX as u64));
        assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(1 << 32));
        o.set_next_seq(SeqNum(u64::MAX)).unwrap();
        assert_eq!(seal_one(&mut o).unwrap().seq, SeqNum(u64::MAX));
        assert_eq!(seal_one(&mut o), Err(EncapError::RekeyRequired));
    }

    #[test]
    fn set_next_seq_is_monotonic_and_reserve_moves_on() {
        let mut o = OutboundSa::new(&cfg(Transform::AesGcm128)).unwrap();
        o.set_next_seq(SeqNum(100)).unwrap();
        assert!(matches!(
            o.set_next_seq(SeqNum(99)),
            Err(SeqError::Backwards { .. })
        ));
        o.set_next_seq(SeqNum(100)).unwrap();
        assert_eq!(o.reserve(10).unwrap(), SeqNum(100));
        assert_eq!(o.next_seq(), Some(SeqNum(110)));
        assert_eq!(o.set_next_seq(SeqNum(1 << 32)), Err(SeqError::Exhausted));
        o.set_next_seq(SeqNum(u32::MAX as u64 - 1)).unwrap();
        assert_eq!(o.reserve(3), Err(EncapError::RekeyRequired));
        assert_eq!(o.reserve(2).unwrap(), SeqNum(u32::MAX as u64 - 1));
        assert_eq!(o.next_seq(), None);
    }

    #[test]
    fn lifetimes_soft_once_then_hard() {
        let mut c = cfg(Transform::AesGcm128);
        c.lifetime = Lifetime {
            soft_packets: Some(2),
            hard_packets: Some(3),
            soft_bytes: None,
            hard_bytes: None,
        };
        let mut o = OutboundSa::new(&c).unwrap();
        let mut i = InboundSa::new(&c).unwrap();
        let mut soft = Vec::new();
        for _ in 0..3 {
            let mut buf = [0u8; 128];
            let s = o.seal(b"x", proto::IPV4, &mut buf).unwrap();
            soft.push(s.soft_expired);
            let o2 = i.open(&mut buf[..s.len]).unwrap();
            assert_eq!(o2.soft_expired, s.soft_expired);
        }
        assert_eq!(soft, vec![false, true, false]);
        assert_eq!(seal_one(&mut o), Err(EncapError::HardLifetime));
        assert_eq!(
            o.usage(),
            Usage {
                packets: 3,
                bytes: 3
            }
        );
        let mut buf = [0u8; 128];
        let mut o3 = OutboundSa::new(&cfg(Transform::AesGcm128)).unwrap();
        o3.set_next_seq(SeqNum(10)).unwrap();
        let s = o3.seal(b"x", proto::IPV4, &mut buf).unwrap();
        assert_eq!(i.open(&mut buf[..s.len]), Err(DecapError::HardLifetime));

        // Byte limits.
        c.lifetime = Lifetime {
            soft_bytes: Some(10),
            hard_bytes: Some(20),
            ..Default::default()
        };
        let mut o = OutboundSa::new(&c).unwrap();
        let mut buf = [0u8; 128];
        assert!(!o.seal(&[0u8; 9], 4, &mut buf).unwrap().soft_expired);
        assert!(o.seal(&[0u8; 9], 4, &mut buf).unwrap().soft_expired);
        assert!(o.seal(&[0u8; 9], 4, &mut buf).is_ok());
        assert_eq!(
            o.seal(&[0u8; 9], 4, &mut buf),
            Err(EncapError::HardLifetime)
        );

        c.lifetime = Lifetime {
            soft_packets: Some(5),
            hard_packets: Some(4),
            ..Default::default()
        };
        assert_eq!(OutboundSa::new(&c).unwrap_err(), ConfigError::Lifetime);
    }

    #[test]
    fn padding_is_monotonic_and_aligned() {
        for t in Transform::ALL {
            let c = cfg(t);
            let mut o = OutboundSa::new(&c).unwrap();
            let mut i = InboundSa::new(&c).unwrap();
            for n in 0..40usize {
                let payload: Vec<u8> = (0..n as u8).collect();
                let mut buf = vec![0u8; o.datagram_len(n)];
                let s = o.seal(&payload, 41, &mut buf).unwrap();
                assert_eq!(s.len, buf.len());
                let ct_len = s.len - t.header_len() - 16;
                assert_eq!(ct_len % t.pad_align(), 0);
                let op = i.open(&mut buf).unwrap();
                assert_eq!(&buf[op.payload.clone()], &payload[..]);
                let pad = ct_len - 2 - n;
                let h = t.header_len();
                let pad_bytes = &buf[h + n..h + n + pad];
                assert!(pad_bytes.iter().enumerate().all(|(k, &b)| b == k as u8 + 1));
                assert_eq!(buf[h + n + pad] as usize, pad);
                assert_eq!(buf[h + n + pad + 1], 41);
            }
        }
    }

    #[test]
    fn trailer_errors_and_dummy_packets() {
        // GMAC leaves the payload in clear, so a sender with the key can craft
        // bad trailers; the receiver must name them.
        let c = cfg(Transform::AesGmac128);
        let o = OutboundSa::new(&c).unwrap();
        let mut i = InboundSa::new(&c).unwrap();
        let mut buf = [0u8; 64];
        let n = o
            .seal_at(SeqNum(1), None, b"abc", proto::NO_NEXT_HEADER, &mut buf)
            .unwrap();
        assert_eq!(i.open(&mut buf[..n]), Err(DecapError::DummyPacket));
        // The dummy packet still moved the window (it was authentic).
        let n = o.seal_at(SeqNum(1), None, b"abc", 4, &mut buf).unwrap();
        assert_eq!(i.open(&mut buf[..n]), Err(DecapError::Replayed(SeqNum(1))));

        // Pad length larger than the plaintext, checked after the ICV.
        let gm = match &o.core.cipher {
            Cipher::Gmac(g) => g,
            _ => unreachable!(),
        };
        let mut pkt = vec![0u8; 16 + 4 + 16];
        pkt[..4].copy_from_slice(&0x4242u32.to_be_bytes());
        pkt[4..8].copy_from_slice(&2u32.to_be_bytes());
        pkt[8..16].copy_from_slice(&2u64.to_be_bytes());
        pkt[16..20].copy_from_slice(&[1, 2, 200, 4]);
        let nonce = o.core.nonce(&pkt[8..16]);
        let tag = gm.tag(&nonce, &[&pkt[..20]]);
        pkt[20..].copy_from_slice(&tag);
        assert!(matches!(i.open(&mut pkt), Err(DecapError::BadTrailer(_))));
        // Non-monotonic padding.
        pkt[4..8].copy_from_slice(&3u32.to_be_bytes());
        pkt[8..16].copy_from_slice(&3u64.to_be_bytes());
        pkt[16..20].copy_from_slice(&[9, 9, 2, 4]);
        let nonce = o.core.nonce(&pkt[8..16]);
        let tag = gm.tag(&nonce, &[&pkt[..20]]);
        pkt[20..].copy_from_slice(&tag);
        assert!(matches!(i.open(&mut pkt), Err(DecapError::BadTrailer(_))));
    }

    #[test]
    fn open_errors_in_order() {
        let c = cfg(Transform::AesGcm128);
        let mut o = OutboundSa::new(&c).unwrap();
        let mut i = InboundSa::new(&c).unwrap();
        let mut buf = [0u8; 64];
        let s = o.seal(b"abc", 4, &mut buf).unwrap();
        let pkt = buf[..s.len].to_vec();
        assert!(matches!(
            i.open(&mut pkt.clone()[..20]),
            Err(DecapError::Truncated(_))
        ));
        let mut p = pkt.clone();
        p[0] ^= 1;
        assert!(matches!(
            i.open(&mut p),
            Err(DecapError::SpiMismatch { .. })
        ));
        let mut p = pkt.clone();
        p[4..8].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(i.open(&mut p), Err(DecapError::SeqZero));
        let mut p = pkt.clone();
        p[30] ^= 1;
        assert_eq!(i.open(&mut p), Err(DecapError::AuthFailed));
        // A failed ICV did not move the window.
        let mut p = pkt.clone();
        assert!(i.open(&mut p).is_ok());
        let mut p = pkt.clone();
        assert_eq!(i.open(&mut p), Err(DecapError::Replayed(SeqNum(1))));
    }

    #[test]
    fn card_path_halves() {
        let mut c = cfg(Transform::AesGcm128);
        c.esn = true;
        let mut o = OutboundSa::new(&c).unwrap();
        let mut i = InboundSa::new(&c).unwrap();
        i.accept_verified(SeqNum::from_parts(3, 100), 0).unwrap();
        o.set_next_seq(SeqNum::from_parts(3, 200)).unwrap();
        let mut buf = [0u8; 64];
        let s = o.seal(b"abc", 4, &mut buf).unwrap();
        let seq = i.replay_check(200).unwrap();
        assert_eq!(seq, SeqNum::from_parts(3, 200));
        let op = i.open_at(seq, &mut buf[..s.len].to_vec()).unwrap();
        assert_eq!(op.next_header, 4);
        assert!(!i.accept_verified(seq, 3).unwrap());
        assert_eq!(i.replay_check(200), Err(DecapError::Replayed(seq)));
    }
}
