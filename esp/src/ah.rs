//! AH (RFC 4302) with HMAC-SHA-256-128 (RFC 4868) or AES-GMAC (RFC 4543),
//! transport and tunnel mode, IPv4 and IPv6, ESN-aware, with the mutable IP
//! header fields zeroed for the ICV as RFC 4302 section 3.3.3.1 says.
//!
//! Layout: `IP header | AH (next header, length, reserved, SPI, SeqLo, ICV
//! field [, padding]) | payload`. The ICV field holds the 16-byte truncated
//! HMAC, or for GMAC the 8-byte IV (the 64-bit sequence number) followed by
//! the 16-byte tag. AH is padded to a multiple of 8 bytes over IPv6 and 4
//! over IPv4. With ESN the high sequence half is appended to the ICV input
//! (RFC 4302 section 3.3.3.1 / appendix B). For GMAC the nonce is salt | IV
//! and the whole zeroed packet is the AAD with only the tag zeroed (the IV
//! stays in: it is covered twice, as AAD and through the nonce).
//!
//! Not supported (refused with an error, never mis-authenticated): IPv4
//! options other than end-of-list and no-operation, IPv6 routing headers with
//! segments left, fragments.

use std::net::IpAddr;

use zeroize::Zeroize;

use crate::crypto::{hmac_sha256_128, Gmac};
use crate::error::{ConfigError, DecapError, EncapError};
use crate::replay::ReplayWindow;
use crate::sa::{KeyMaterial, Mode, Sealed};
use crate::types::{proto, SeqNum, Spi};
use crate::wire::{ah::AhHeader, ipv4, ipv6, PacketInfo};

/// AH integrity algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AhAlgorithm {
    /// HMAC-SHA-256 truncated to 128 bits (RFC 4868); 32-byte key.
    HmacSha256_128,
    /// AES-GMAC with a 128-bit key (RFC 4543); 16-byte key + 4-byte salt.
    AesGmac128,
    /// AES-GMAC with a 256-bit key (RFC 4543); 32-byte key + 4-byte salt.
    AesGmac256,
}

impl AhAlgorithm {
    /// Key material length.
    pub const fn key_len(self) -> usize {
        match self {
            AhAlgorithm::HmacSha256_128 => 32,
            AhAlgorithm::AesGmac128 => 20,
            AhAlgorithm::AesGmac256 => 36,
        }
    }
    /// Length of the ICV field before padding.
    pub const fn icv_field_len(self) -> usize {
        match self {
            AhAlgorithm::HmacSha256_128 => 16,
            _ => 8 + 16,
        }
    }
    fn ah_len(self, v6: bool) -> usize {
        let raw = 12 + self.icv_field_len();
        let align = if v6 { 8 } else { 4 };
        raw.div_ceil(align) * align
    }
}

/// Configuration of one AH SA direction.
#[derive(Clone, Debug)]
pub struct AhConfig {
    /// SPI.
    pub spi: Spi,
    /// Algorithm.
    pub algorithm: AhAlgorithm,
    /// Key material.
    pub key: KeyMaterial,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Replay window (inbound).
    pub replay_window: u32,
    /// Transport or tunnel.
    pub mode: Mode,
}

impl AhConfig {
    /// Defaults: no ESN, window 1024, transport mode.
    pub fn new(spi: Spi, algorithm: AhAlgorithm, key: &[u8]) -> Result<Self, ConfigError> {
        if key.len() != algorithm.key_len() {
            return Err(ConfigError::KeyMaterial(match algorithm {
                AhAlgorithm::HmacSha256_128 => "AH HMAC-SHA-256-128 takes a 32-byte key",
                AhAlgorithm::AesGmac128 => "AH AES-GMAC-128 takes a 16-byte key and a 4-byte salt",
                AhAlgorithm::AesGmac256 => "AH AES-GMAC-256 takes a 32-byte key and a 4-byte salt",
            }));
        }
        Ok(AhConfig {
            spi,
            algorithm,
            key: KeyMaterial::new(key).ok_or(ConfigError::KeyMaterial("too long"))?,
            esn: false,
            replay_window: crate::replay::DEFAULT_WINDOW,
            mode: Mode::Transport,
        })
    }
}

enum AhKey {
    Hmac(KeyMaterial),
    Gmac(Gmac, [u8; 4]),
}

impl Drop for AhKey {
    fn drop(&mut self) {
        if let AhKey::Gmac(_, salt) = self {
            salt.zeroize();
        }
    }
}

struct AhCore {
    spi: Spi,
    alg: AhAlgorithm,
    key: AhKey,
    esn: bool,
    mode: Mode,
}

impl core::fmt::Debug for AhCore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AhSa")
            .field("spi", &self.spi)
            .field("algorithm", &self.alg)
            .field("esn", &self.esn)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl AhCore {
    fn new(cfg: &AhConfig) -> Result<Self, ConfigError> {
        let k = cfg.key.as_bytes();
        let key = match cfg.algorithm {
            AhAlgorithm::HmacSha256_128 => AhKey::Hmac(cfg.key.clone()),
            AhAlgorithm::AesGmac128 | AhAlgorithm::AesGmac256 => {
                let n = k.len().saturating_sub(4);
                let mut salt = [0u8; 4];
                salt.copy_from_slice(k.get(n..).ok_or(ConfigError::KeyMaterial("no salt"))?);
                AhKey::Gmac(
                    Gmac::new(k.get(..n).ok_or(ConfigError::KeyMaterial("no salt"))?)?,
                    salt,
                )
            }
        };
        if let Mode::Tunnel { local, remote } = cfg.mode {
            if local.is_ipv4() != remote.is_ipv4() {
                return Err(ConfigError::TunnelFamilyMismatch);
            }
        }
        Ok(AhCore {
            spi: cfg.spi,
            alg: cfg.algorithm,
            key,
            esn: cfg.esn,
            mode: cfg.mode,
        })
    }
}

/// Zeroes the mutable fields of the IP header and extension headers in
/// `pkt[..ah_off]` (RFC 4302 section 3.3.3.1). Refuses what it cannot handle.
fn zero_mutable(pkt: &mut [u8], ah_off: usize) -> Result<(), &'static str> {
    match pkt.first().map(|b| b >> 4) {
        Some(4) => {
            let ihl = (pkt.first().copied().unwrap_or(0) & 0x0f) as usize * 4;
            let opts = pkt.get(20..ihl).ok_or("IPv4 header")?;
            if opts.iter().any(|&b| b != 0 && b != 1) {
                return Err("IPv4 options are not supported with AH");
            }
            for i in [1usize, 6, 7, 8, 10, 11] {
                if let Some(b) = pkt.get_mut(i) {
                    *b = 0;
                }
            }
            Ok(())
        }
        Some(6) => {
            // Traffic class and flow label (keep the version), hop limit.
            if let Some(h) = pkt.get_mut(..4) {
                h.copy_from_slice(&[0x60, 0, 0, 0]);
            }
            if let Some(b) = pkt.get_mut(7) {
                *b = 0;
            }
            let mut nh = pkt.get(6).copied().ok_or("IPv6 header")?;
            let mut off = ipv6::HEADER_LEN;
            while off < ah_off {
                let len = match nh {
                    proto::IPV6_HOP_BY_HOP | proto::IPV6_DEST_OPTS => {
                        let len = (*pkt.get(off + 1).ok_or("IPv6 header")? as usize + 1) * 8;
                        // Options whose "may change en route" bit (0x20) is set are zeroed.
                        let mut o = off + 2;
                        while o < off + len {
                            let t = *pkt.get(o).ok_or("IPv6 option")?;
                            if t == 0 {
                                o += 1;
                                continue;
                            }
                            let ol = *pkt.get(o + 1).ok_or("IPv6 option")? as usize;
                            if t & 0x20 != 0 {
                                pkt.get_mut(o + 2..o + 2 + ol).ok_or("IPv6 option")?.fill(0);
                            }
                            o += 2 + ol;
                        }
                        len
                    }
                    proto::IPV6_ROUTING => {
                        if pkt.get(off + 3).copied().unwrap_or(1) != 0 {
                            return Err(
                                "IPv6 routing header with segments left is not supported with AH",
                            );
                        }
                        (*pkt.get(off + 1).ok_or("IPv6 header")? as usize + 1) * 8
                    }
                    _ => return Err("IPv6 extension header not supported before AH"),
                };
                nh = *pkt.get(off).ok_or("IPv6 header")?;
                off += len;
            }
            Ok(())
        }
        _ => Err("not IPv4 or IPv6"),
    }
}

/// An outbound AH SA.
#[derive(Debug)]
pub struct AhOutbound {
    core: AhCore,
    next: u64,
}

impl AhOutbound {
    /// Creates the SA (first sequence number 1).
    pub fn new(cfg: &AhConfig) -> Result<Self, ConfigError> {
        Ok(AhOutbound {
            core: AhCore::new(cfg)?,
            next: 1,
        })
    }

    /// Output buffer size for an inner packet of `len` bytes.
    pub fn protect_len(&self, len: usize) -> usize {
        len + ipv6::HEADER_LEN + self.core.alg.ah_len(true)
    }

    fn take_seq(&mut self) -> Result<SeqNum, EncapError> {
        let max = if self.core.esn {
            u64::MAX
        } else {
            u32::MAX as u64
        };
        if self.next == 0 || self.next > max {
            return Err(EncapError::RekeyRequired);
        }
        let s = self.next;
        self.next = s.wrapping_add(1);
        Ok(SeqNum(s))
    }

    /// Protects `packet` and writes the result to `out`.
    pub fn protect(&mut self, packet: &[u8], out: &mut [u8]) -> Result<Sealed, EncapError> {
        let info = PacketInfo::parse(packet)
            .map_err(|_| EncapError::Malformed("not a valid IP packet"))?;
        let packet = packet
            .get(..info.total_len)
            .ok_or(EncapError::Malformed("length"))?;
        // (bytes kept in front of AH, payload, next header, IPv6?)
        let (front, payload, nh, v6): (Vec<u8>, &[u8], u8, bool) = match self.core.mode {
            Mode::Tunnel { local, remote } => {
                let nh = if packet.first().map(|b| b >> 4) == Some(4) {
                    proto::IPV4
                } else {
                    proto::IPV6
                };
                let mut h = vec![0u8; if local.is_ipv4() { 20 } else { 40 }];
                match (local, remote) {
                    (IpAddr::V4(s), IpAddr::V4(d)) => {
                        ipv4::emit_header(&mut h, 0, 0, crate::packet::OUTER_TTL, proto::AH, s, d)
                    }
                    (IpAddr::V6(s), IpAddr::V6(d)) => {
                        ipv6::emit_header(&mut h, 0, 0, proto::AH, crate::packet::OUTER_TTL, s, d)
                    }
                    _ => None,
                }
                .ok_or(EncapError::Malformed("tunnel endpoints"))?;
                let v6 = !local.is_ipv4();
                (h, packet, nh, v6)
            }
            Mode::Transport => {
                let (front_len, nh_field, v6) = match packet.first().map(|b| b >> 4) {
                    Some(4) => {
                        let p = ipv4::Ipv4Packet::new_checked(packet)
                            .map_err(|_| EncapError::Malformed("IPv4"))?;
                        if p.is_fragment() {
                            return Err(EncapError::Malformed("cannot protect a fragment"));
                        }
                        (p.header_len(), ipv4::field::PROTOCOL, false)
                    }
                    _ => {
                        let p = ipv6::Ipv6Packet::new_checked(packet)
                            .map_err(|_| EncapError::Malformed("IPv6"))?;
                        let l = p
                            .layout()
                            .map_err(|_| EncapError::Malformed("IPv6 headers"))?;
                        (l.insert_offset, l.insert_nh_field, true)
                    }
                };
                let mut h = packet
                    .get(..front_len)
                    .ok_or(EncapError::Malformed("header"))?
                    .to_vec();
                let nh = *h.get(nh_field).ok_or(EncapError::Malformed("header"))?;
                if let Some(b) = h.get_mut(nh_field) {
                    *b = proto::AH;
                }
                (h, packet.get(front_len..).unwrap_or(&[]), nh, v6)
            }
        };
        let ah_len = self.core.alg.ah_len(v6);
        let total = front.len() + ah_len + payload.len();
        if out.len() < total {
            return Err(EncapError::BufferTooSmall {
                need: total,
                have: out.len(),
            });
        }
        let seq = self.take_seq()?;
        let out = out.get_mut(..total).ok_or(EncapError::TooLarge)?;
        let fl = front.len();
        out[..fl].copy_from_slice(&front);
        let l16 = |n: usize| u16::try_from(n).map_err(|_| EncapError::TooLarge);
        if v6 {
            out[4..6].copy_from_slice(&l16(total - ipv6::HEADER_LEN)?.to_be_bytes());
        } else {
            ipv4::fix_header(&mut out[..fl], l16(total)?, None);
        }
        let ah = &mut out[fl..fl + ah_len];
        ah.fill(0);
        ah[0] = nh;
        ah[1] = (ah_len / 4 - 2) as u8;
        ah[4..8].copy_from_slice(&self.core.spi.0.to_be_bytes());
        ah[8..12].copy_from_slice(&seq.lo().to_be_bytes());
        let iv = seq.0.to_be_bytes();
        if self.core.alg != AhAlgorithm::HmacSha256_128 {
            ah[12..20].copy_from_slice(&iv);
        }
        out[fl + ah_len..].copy_from_slice(payload);
        // ICV over a zeroed copy of the headers; the payload is used in place.
        let mut hdr = out[..fl + ah_len].to_vec();
        zero_mutable(&mut hdr, fl).map_err(EncapError::Malformed)?;
        let tag = self.core.icv_parts(&hdr, &out[fl + ah_len..], seq, &iv);
        let tag_off = fl + 12 + self.core.alg.icv_field_len() - 16;
        out[tag_off..tag_off + 16].copy_from_slice(&tag);
        Ok(Sealed {
            len: total,
            seq,
            soft_expired: false,
        })
    }
}

impl AhCore {
    /// The ICV over the zeroed headers and the payload (plus SeqHi with ESN);
    /// for GMAC the nonce is salt | `iv`.
    fn icv_parts(&self, zeroed_hdr: &[u8], payload: &[u8], seq: SeqNum, iv: &[u8]) -> [u8; 16] {
        let hi = seq.hi().to_be_bytes();
        let tail: &[u8] = if self.esn { &hi } else { &[] };
        match &self.key {
            AhKey::Hmac(k) => {
                hmac_sha256_128(k.as_bytes(), &[zeroed_hdr, payload, tail]).unwrap_or([0; 16])
            }
            AhKey::Gmac(g, salt) => {
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(salt);
                if let (Some(d), Some(src)) = (nonce.get_mut(4..12), iv.get(..8)) {
                    d.copy_from_slice(src);
                }
                g.tag(&nonce, &[zeroed_hdr, payload, tail])
            }
        }
    }
}

/// Result of verifying an AH packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AhVerified {
    /// Where the packet to deliver lies in the buffer.
    pub packet: core::ops::Range<usize>,
    /// Authenticated sequence number.
    pub seq: SeqNum,
}

/// An inbound AH SA.
#[derive(Debug)]
pub struct AhInbound {
    core: AhCore,
    replay: ReplayWindow,
}

impl AhInbound {
    /// Creates the SA.
    pub fn new(cfg: &AhConfig) -> Result<Self, ConfigError> {
        Ok(AhInbound {
            core: AhCore::new(cfg)?,
            replay: ReplayWindow::new(cfg.replay_window, cfg.esn)?,
        })
    }

    /// Replay window, e.g. to position it in tests.
    pub fn replay_window_mut(&mut self) -> &mut ReplayWindow {
        &mut self.replay
    }

    /// Verifies an AH packet in place (length, SPI, replay pre-check, ICV in
    /// constant time, replay update) and removes AH: in transport mode the IP
    /// header is moved up to the payload and fixed; in tunnel mode the inner
    /// packet is returned.
    pub fn verify(&mut self, packet: &mut [u8]) -> Result<AhVerified, DecapError> {
        let (ah_off, total, v6) = match packet.first().map(|b| b >> 4) {
            Some(4) => {
                let p = ipv4::Ipv4Packet::new_checked(&*packet)
                    .map_err(|_| DecapError::Truncated("IPv4 header"))?;
                if p.protocol() != proto::AH {
                    return Err(DecapError::NotEsp);
                }
                if p.is_fragment() {
                    return Err(DecapError::Truncated("fragment (reassemble first)"));
                }
                (p.header_len(), p.total_len(), false)
            }
            Some(6) => {
                let p = ipv6::Ipv6Packet::new_checked(&*packet)
                    .map_err(|_| DecapError::Truncated("IPv6 header"))?;
                let l = p
                    .layout()
                    .map_err(|_| DecapError::Truncated("IPv6 extension headers"))?;
                if l.upper_protocol != proto::AH {
                    return Err(DecapError::NotEsp);
                }
                (l.upper_offset, p.total_len(), true)
            }
            _ => return Err(DecapError::Truncated("not IPv4 or IPv6")),
        };
        let pkt = packet
            .get_mut(..total)
            .ok_or(DecapError::Truncated("length"))?;
        let ah = AhHeader::new_checked(pkt.get(ah_off..).ok_or(DecapError::Truncated("AH"))?)
            .map_err(|_| DecapError::Truncated("AH header"))?;
        let ah_len = ah.header_len();
        if ah_len != self.core.alg.ah_len(v6) {
            return Err(DecapError::Truncated(
                "AH length does not match the algorithm",
            ));
        }
        if ah.spi() != self.core.spi {
            return Err(DecapError::SpiMismatch {
                expected: self.core.spi,
                got: ah.spi(),
            });
        }
        let nh = ah.next_header();
        let seq = self.replay.check(ah.seq_lo())?;
        let field = ah.icv_field();
        let icv_len = self.core.alg.icv_field_len();
        let (iv, tag) = field
            .get(..icv_len)
            .ok_or(DecapError::Truncated("ICV"))?
            .split_at(icv_len - 16);
        let mut tag_copy = [0u8; 16];
        tag_copy.copy_from_slice(tag);
        let iv = iv.to_vec();
        let mut hdr = pkt
            .get(..ah_off + ah_len)
            .ok_or(DecapError::Truncated("AH"))?
            .to_vec();
        let tag_off = ah_off + 12 + icv_len - 16;
        hdr.get_mut(tag_off..tag_off + 16)
            .ok_or(DecapError::Truncated("ICV"))?
            .fill(0);
        zero_mutable(&mut hdr, ah_off).map_err(DecapError::BadInner)?;
        let payload = pkt
            .get(ah_off + ah_len..)
            .ok_or(DecapError::Truncated("payload"))?;
        // For GMAC the nonce comes from the carried IV.
        let want = self.core.icv_parts(&hdr, payload, seq, &iv);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&want[..], &tag_copy[..])) {
            return Err(DecapError::AuthFailed);
        }
        self.replay.update(seq)?;
        let body = ah_off + ah_len..total;
        match self.core.mode {
            Mode::Tunnel { .. } => {
                let inner = pkt.get(body.clone()).ok_or(DecapError::BadInner("inner"))?;
                let info = PacketInfo::parse(inner)
                    .map_err(|_| DecapError::BadInner("inner IP header"))?;
                Ok(AhVerified {
                    packet: body.start..body.start + info.total_len,
                    seq,
                })
            }
            Mode::Transport => {
                let start = ah_len;
                pkt.copy_within(0..ah_off, start);
                let out = pkt.get_mut(start..).ok_or(DecapError::BadInner("layout"))?;
                let new_total = out.len();
                let l16 = |n: usize| u16::try_from(n).map_err(|_| DecapError::BadInner("length"));
                if v6 {
                    // The byte that named AH: the last extension header's or the fixed header's.
                    let nh_field = nh_field_at(out, ah_off)?;
                    if let Some(b) = out.get_mut(nh_field) {
                        *b = nh;
                    }
                    if let Some(f) = out.get_mut(4..6) {
                        f.copy_from_slice(&l16(new_total - ipv6::HEADER_LEN)?.to_be_bytes());
                    }
                } else if let Some(h) = out.get_mut(..ah_off) {
                    ipv4::fix_header(h, l16(new_total)?, Some(nh));
                }
                Ok(AhVerified {
                    packet: start..total,
                    seq,
                })
            }
        }
    }
}

/// Offset of the next-header byte naming the header at `end` in an IPv6 packet.
fn nh_field_at(p: &[u8], end: usize) -> Result<usize, DecapError> {
    let mut field = ipv6::field::NEXT_HEADER;
    let mut off = ipv6::HEADER_LEN;
    while off < end {
        let len = (*p.get(off + 1).ok_or(DecapError::BadInner("IPv6"))? as usize + 1) * 8;
        field = off;
        off += len;
    }
    if off == end {
        Ok(field)
    } else {
        Err(DecapError::BadInner("IPv6 header chain"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::tests::{udp4, udp6};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn pair(alg: AhAlgorithm, mode: Mode, esn: bool) -> (AhOutbound, AhInbound) {
        let key: Vec<u8> = (0..alg.key_len()).map(|i| (i * 5 + 1) as u8).collect();
        let mut c = AhConfig::new(Spi(0x77), alg, &key).unwrap();
        c.mode = mode;
        c.esn = esn;
        (AhOutbound::new(&c).unwrap(), AhInbound::new(&c).unwrap())
    }

    fn modes() -> [Mode; 3] {
        [
            Mode::Transport,
            Mode::Tunnel {
                local: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                remote: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            },
            Mode::Tunnel {
                local: IpAddr::V6(Ipv6Addr::LOCALHOST),
                remote: IpAddr::V6(Ipv6Addr::LOCALHOST),
            },
        ]
    }

    #[test]
    fn round_trip_flips_and_mutable_fields() {
        for alg in [
            AhAlgorithm::HmacSha256_128,
            AhAlgorithm::AesGmac128,
            AhAlgorithm::AesGmac256,
        ] {
            for mode in modes() {
                for esn in [false, true] {
                    for inner in [udp4(33), udp6(17)] {
                        let (mut o, mut i) = pair(alg, mode, esn);
                        let mut out = vec![0u8; o.protect_len(inner.len())];
                        let s = o.protect(&inner, &mut out).unwrap();
                        let pkt = out[..s.len].to_vec();
                        let v6 = pkt[0] >> 4 == 6;
                        let ah_at = if v6 { 40 } else { 20 };
                        let ah_len = (pkt[ah_at + 1] as usize + 2) * 4;
                        assert_eq!(ah_len % if v6 { 8 } else { 4 }, 0);
                        // Routers may change TTL/hop limit and DSCP: still valid.
                        let mut m = pkt.clone();
                        if v6 {
                            m[7] = 3;
                            m[1] ^= 0xf0;
                        } else {
                            m[8] = 3;
                            m[1] = 0xb8;
                            m[10] ^= 0xff;
                        }
                        let mut m2 = m.clone();
                        let r = i
                            .verify(&mut m2)
                            .unwrap_or_else(|e| panic!("{alg:?} {mode:?} esn={esn}: {e}"));
                        let delivered = &m2[r.packet.clone()];
                        if matches!(mode, Mode::Tunnel { .. }) {
                            assert_eq!(delivered, &inner[..]);
                        } else {
                            // Same packet apart from the fields changed en route.
                            assert_eq!(delivered.len(), inner.len());
                            assert_eq!(&delivered[20.min(delivered.len())..], &inner[20..]);
                        }
                        // Any flip of an immutable byte after the IP header fails.
                        let start = if v6 { 40 } else { 20 };
                        for byte in start..pkt.len() {
                            let mut f = pkt.clone();
                            f[byte] ^= 0x01;
                            assert!(i.verify(&mut f).is_err(), "{alg:?} {mode:?} byte {byte}");
                        }
                        // Replays are refused.
                        let mut again = pkt.clone();
                        assert_eq!(i.verify(&mut again), Err(DecapError::Replayed(SeqNum(1))));
                    }
                }
            }
        }
    }

    #[test]
    fn truncations_never_panic() {
        let (mut o, mut i) = pair(AhAlgorithm::HmacSha256_128, Mode::Transport, false);
        let inner = udp6(10);
        let mut out = vec![0u8; o.protect_len(inner.len())];
        let s = o.protect(&inner, &mut out).unwrap();
        for n in 0..s.len {
            let mut p = out[..n].to_vec();
            assert!(i.verify(&mut p).is_err());
        }
    }
}
