//! Zero-copy wire views for untrusted bytes: IPv4, IPv6 (with an
//! extension-header walk), ESP header and trailer, UDP encapsulation
//! (RFC 3948) and AH (RFC 4302); either IP version behind one view and one
//! `Repr` ([`ip`]), IPv4 fragmentation ([`fragment`]) and the ICMP "too big"
//! answers ([`icmp`]).
//!
//! Every view is built with `new_checked`, which validates the lengths once;
//! the accessors after that never panic. Nothing here knows about SAs.

pub mod fragment;
pub mod icmp;
pub mod ip;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::proto;

/// Why bytes are not a well-formed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer bytes than the header needs.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// The version field is not the one expected.
    #[error("not an IP packet of the expected version")]
    BadVersion,
    /// A length field is inconsistent.
    #[error("bad length field in {0}")]
    BadLength(&'static str),
    /// Too many IPv6 extension headers.
    #[error("extension header chain too long")]
    TooManyHeaders,
    /// Source and destination addresses of different IP versions.
    #[error("source and destination are of different IP versions")]
    MixedVersions,
    /// The output buffer is shorter than what is to be written.
    #[error("output buffer of {have} bytes, {need} needed")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes given.
        have: usize,
    },
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The Internet checksum (RFC 1071) of `data`, folded and complemented.
pub fn internet_checksum(data: &[u8]) -> u16 {
    Checksum::new().sum(data).finish()
}

/// The Internet checksum (RFC 1071) summed over several pieces, e.g. a pseudo
/// header and then the message; a piece of odd length is continued by the next.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checksum {
    sum: u64,
    /// The high byte of a 16-bit word that the last piece left open.
    odd: Option<u8>,
}

impl Checksum {
    /// An empty sum.
    pub fn new() -> Self {
        Checksum::default()
    }

    /// Adds the bytes of `data` to the sum.
    #[must_use]
    pub fn sum(mut self, data: &[u8]) -> Self {
        let mut data = data;
        if let (Some(hi), Some((&lo, rest))) = (self.odd, data.split_first()) {
            self.sum += u64::from(u16::from_be_bytes([hi, lo]));
            self.odd = None;
            data = rest;
        }
        let pairs = data.chunks_exact(2);
        if let Some(&last) = pairs.remainder().first() {
            self.odd = Some(last);
        }
        for p in pairs {
            self.sum += u64::from(u16::from_be_bytes([p[0], p[1]]));
        }
        self
    }

    /// The folded, complemented sum (an odd final byte is padded with zero).
    pub fn finish(self) -> u16 {
        let mut sum = self.sum + self.odd.map_or(0, |hi| u64::from(hi) << 8);
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }
}

/// IPv4 (RFC 791).
pub mod ipv4 {
    use super::*;

    /// Field offsets.
    pub mod field {
        /// Version and IHL.
        pub const VER_IHL: usize = 0;
        /// DSCP/ECN.
        pub const TOS: usize = 1;
        /// Total length.
        pub const TOTAL_LEN: usize = 2;
        /// Identification.
        pub const IDENT: usize = 4;
        /// Flags and fragment offset.
        pub const FLAGS_FRAG: usize = 6;
        /// TTL.
        pub const TTL: usize = 8;
        /// Protocol.
        pub const PROTOCOL: usize = 9;
        /// Header checksum.
        pub const CHECKSUM: usize = 10;
        /// Source address.
        pub const SRC: usize = 12;
        /// Destination address.
        pub const DST: usize = 16;
    }

    /// Minimum header length.
    pub const MIN_HEADER_LEN: usize = 20;

    /// Bits of the flags and fragment offset word.
    pub mod flags {
        /// Don't fragment.
        pub const DONT_FRAGMENT: u16 = 0x4000;
        /// More fragments follow.
        pub const MORE_FRAGMENTS: u16 = 0x2000;
        /// Fragment offset, in units of 8 bytes.
        pub const OFFSET_MASK: u16 = 0x1fff;
    }

    /// A checked view of an IPv4 packet.
    #[derive(Debug, Clone)]
    pub struct Ipv4Packet<T: AsRef<[u8]>> {
        buf: T,
        hl: usize,
        total: usize,
    }

    impl<T: AsRef<[u8]>> Ipv4Packet<T> {
        /// Validates version, header length and total length against `buf`.
        /// Bytes past the total length (link padding) are allowed and ignored.
        pub fn new_checked(buf: T) -> Result<Self, WireError> {
            let b = buf.as_ref();
            let v = *b.first().ok_or(WireError::Truncated("IPv4 header"))?;
            if v >> 4 != 4 {
                return Err(WireError::BadVersion);
            }
            if b.len() < MIN_HEADER_LEN {
                return Err(WireError::Truncated("IPv4 header"));
            }
            let hl = ((v & 0x0f) as usize) * 4;
            let total = be16(b, field::TOTAL_LEN).unwrap_or(0) as usize;
            if hl < MIN_HEADER_LEN || hl > b.len() {
                return Err(WireError::BadLength("IPv4 IHL"));
            }
            if total < hl || total > b.len() {
                return Err(WireError::BadLength("IPv4 total length"));
            }
            Ok(Ipv4Packet { buf, hl, total })
        }
        /// Header length in bytes.
        pub fn header_len(&self) -> usize {
            self.hl
        }
        /// Total length in bytes.
        pub fn total_len(&self) -> usize {
            self.total
        }
        fn b(&self) -> &[u8] {
            self.buf.as_ref()
        }
        /// DSCP and ECN.
        pub fn tos(&self) -> u8 {
            self.b().get(field::TOS).copied().unwrap_or(0)
        }
        /// TTL.
        pub fn ttl(&self) -> u8 {
            self.b().get(field::TTL).copied().unwrap_or(0)
        }
        /// Protocol of the payload.
        pub fn protocol(&self) -> u8 {
            self.b().get(field::PROTOCOL).copied().unwrap_or(0)
        }
        /// Flags and fragment offset word.
        pub fn flags_frag(&self) -> u16 {
            be16(self.b(), field::FLAGS_FRAG).unwrap_or(0)
        }
        /// True for any fragment (MF set or offset non-zero).
        pub fn is_fragment(&self) -> bool {
            self.flags_frag() & 0x3fff != 0
        }
        /// The "don't fragment" flag.
        pub fn dont_fragment(&self) -> bool {
            self.flags_frag() & flags::DONT_FRAGMENT != 0
        }
        /// The fragment offset in bytes.
        pub fn frag_offset(&self) -> usize {
            usize::from(self.flags_frag() & flags::OFFSET_MASK) * 8
        }
        /// The "more fragments" flag.
        pub fn more_fragments(&self) -> bool {
            self.flags_frag() & flags::MORE_FRAGMENTS != 0
        }
        /// Source address.
        pub fn src(&self) -> Ipv4Addr {
            Ipv4Addr::from(be32(self.b(), field::SRC).unwrap_or(0))
        }
        /// Destination address.
        pub fn dst(&self) -> Ipv4Addr {
            Ipv4Addr::from(be32(self.b(), field::DST).unwrap_or(0))
        }
        /// The header bytes.
        pub fn header(&self) -> &[u8] {
            self.b().get(..self.hl).unwrap_or(&[])
        }
        /// The payload (up to the total length).
        pub fn payload(&self) -> &[u8] {
            self.b().get(self.hl..self.total).unwrap_or(&[])
        }
        /// True when the header checksum verifies.
        pub fn checksum_ok(&self) -> bool {
            internet_checksum(self.header()) == 0
        }
    }

    /// Writes `len` into the total-length field and recomputes the checksum of
    /// the header `h` (which must be the complete header).
    pub fn fix_header(h: &mut [u8], total_len: u16, protocol: Option<u8>) {
        if let Some(f) = h.get_mut(field::TOTAL_LEN..field::TOTAL_LEN + 2) {
            f.copy_from_slice(&total_len.to_be_bytes());
        }
        if let (Some(p), Some(f)) = (protocol, h.get_mut(field::PROTOCOL)) {
            *f = p;
        }
        if let Some(f) = h.get_mut(field::CHECKSUM..field::CHECKSUM + 2) {
            f.copy_from_slice(&[0, 0]);
        }
        let c = internet_checksum(h);
        if let Some(f) = h.get_mut(field::CHECKSUM..field::CHECKSUM + 2) {
            f.copy_from_slice(&c.to_be_bytes());
        }
    }

    /// Emits a 20-byte header (no options, DF clear, ident 0) into `out`.
    pub fn emit_header(
        out: &mut [u8],
        tos: u8,
        total_len: u16,
        ttl: u8,
        protocol: u8,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) -> Option<()> {
        let h = out.get_mut(..MIN_HEADER_LEN)?;
        h.fill(0);
        h[field::VER_IHL] = 0x45;
        h[field::TOS] = tos;
        h[field::TTL] = ttl;
        h[field::SRC..field::SRC + 4].copy_from_slice(&src.octets());
        h[field::DST..field::DST + 4].copy_from_slice(&dst.octets());
        h[field::IDENT..field::IDENT + 2].copy_from_slice(&[0, 0]);
        fix_header(h, total_len, Some(protocol));
        Some(())
    }
}

/// IPv6 (RFC 8200).
pub mod ipv6 {
    use super::*;

    /// Fixed header length.
    pub const HEADER_LEN: usize = 40;
    /// Most extension headers walked before giving up.
    pub const MAX_EXT_HEADERS: usize = 16;

    /// Field offsets.
    pub mod field {
        /// Payload length.
        pub const PAYLOAD_LEN: usize = 4;
        /// Next header.
        pub const NEXT_HEADER: usize = 6;
        /// Hop limit.
        pub const HOP_LIMIT: usize = 7;
        /// Source address.
        pub const SRC: usize = 8;
        /// Destination address.
        pub const DST: usize = 24;
    }

    /// A checked view of an IPv6 packet.
    #[derive(Debug, Clone)]
    pub struct Ipv6Packet<T: AsRef<[u8]>> {
        buf: T,
        total: usize,
    }

    /// The result of walking the extension-header chain.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Layout {
        /// Offset of the first byte after all extension headers.
        pub upper_offset: usize,
        /// Protocol found there (TCP, UDP, ESP, AH, ...).
        pub upper_protocol: u8,
        /// Where ESP/AH goes in transport mode: after hop-by-hop, routing,
        /// fragment, and destination options that precede a routing header
        /// (RFC 4303 section 3.1.1).
        pub insert_offset: usize,
        /// Offset of the next-header byte that names the header at
        /// `insert_offset` (6 for the fixed header).
        pub insert_nh_field: usize,
        /// Offset of the next-header byte that names the header at
        /// `upper_offset`.
        pub upper_nh_field: usize,
        /// A fragment header with a non-zero offset was seen (no ports).
        pub later_fragment: bool,
    }

    impl<T: AsRef<[u8]>> Ipv6Packet<T> {
        /// Validates version and payload length.
        pub fn new_checked(buf: T) -> Result<Self, WireError> {
            let b = buf.as_ref();
            let v = *b.first().ok_or(WireError::Truncated("IPv6 header"))?;
            if v >> 4 != 6 {
                return Err(WireError::BadVersion);
            }
            if b.len() < HEADER_LEN {
                return Err(WireError::Truncated("IPv6 header"));
            }
            let total = HEADER_LEN + be16(b, field::PAYLOAD_LEN).unwrap_or(0) as usize;
            if total > b.len() {
                return Err(WireError::BadLength("IPv6 payload length"));
            }
            Ok(Ipv6Packet { buf, total })
        }
        fn b(&self) -> &[u8] {
            self.buf.as_ref()
        }
        /// Total length (header + payload).
        pub fn total_len(&self) -> usize {
            self.total
        }
        /// Traffic class.
        pub fn traffic_class(&self) -> u8 {
            let w = be16(self.b(), 0).unwrap_or(0);
            ((w >> 4) & 0xff) as u8
        }
        /// Next header of the fixed header.
        pub fn next_header(&self) -> u8 {
            self.b().get(field::NEXT_HEADER).copied().unwrap_or(0)
        }
        /// Hop limit.
        pub fn hop_limit(&self) -> u8 {
            self.b().get(field::HOP_LIMIT).copied().unwrap_or(0)
        }
        /// Source address.
        pub fn src(&self) -> Ipv6Addr {
            let mut a = [0u8; 16];
            if let Some(s) = self.b().get(field::SRC..field::SRC + 16) {
                a.copy_from_slice(s);
            }
            Ipv6Addr::from(a)
        }
        /// Destination address.
        pub fn dst(&self) -> Ipv6Addr {
            let mut a = [0u8; 16];
            if let Some(s) = self.b().get(field::DST..field::DST + 16) {
                a.copy_from_slice(s);
            }
            Ipv6Addr::from(a)
        }

        /// Walks hop-by-hop, routing, fragment and destination-options headers.
        pub fn layout(&self) -> Result<Layout, WireError> {
            let b = self
                .b()
                .get(..self.total)
                .ok_or(WireError::Truncated("IPv6"))?;
            let mut nh = self.next_header();
            let mut off = HEADER_LEN;
            let mut nh_field = field::NEXT_HEADER;
            let mut insert = (off, nh_field);
            let mut later_fragment = false;
            for _ in 0..MAX_EXT_HEADERS {
                let len = match nh {
                    proto::IPV6_HOP_BY_HOP | proto::IPV6_ROUTING | proto::IPV6_DEST_OPTS => {
                        let l = *b
                            .get(off + 1)
                            .ok_or(WireError::Truncated("IPv6 extension header"))?;
                        (l as usize + 1) * 8
                    }
                    proto::IPV6_FRAGMENT => {
                        let fo =
                            be16(b, off + 2).ok_or(WireError::Truncated("IPv6 fragment header"))?;
                        if fo & 0xfff8 != 0 {
                            later_fragment = true;
                        }
                        8
                    }
                    _ => {
                        return Ok(Layout {
                            upper_offset: off,
                            upper_protocol: nh,
                            insert_offset: insert.0,
                            insert_nh_field: insert.1,
                            upper_nh_field: nh_field,
                            later_fragment,
                        })
                    }
                };
                if off + len > b.len() {
                    return Err(WireError::Truncated("IPv6 extension header"));
                }
                let next = *b
                    .get(off)
                    .ok_or(WireError::Truncated("IPv6 extension header"))?;
                let this = nh;
                let this_field = off;
                nh_field = this_field;
                off += len;
                nh = next;
                // ESP goes after these; destination options count only when a
                // routing header follows them.
                if this != proto::IPV6_DEST_OPTS || next == proto::IPV6_ROUTING {
                    insert = (off, nh_field);
                }
            }
            Err(WireError::TooManyHeaders)
        }
    }

    /// Emits a 40-byte header into `out`.
    pub fn emit_header(
        out: &mut [u8],
        traffic_class: u8,
        payload_len: u16,
        next_header: u8,
        hop_limit: u8,
        src: Ipv6Addr,
        dst: Ipv6Addr,
    ) -> Option<()> {
        let h = out.get_mut(..HEADER_LEN)?;
        let w: u32 = (6u32 << 28) | ((traffic_class as u32) << 20);
        h[..4].copy_from_slice(&w.to_be_bytes());
        h[4..6].copy_from_slice(&payload_len.to_be_bytes());
        h[6] = next_header;
        h[7] = hop_limit;
        h[8..24].copy_from_slice(&src.octets());
        h[24..40].copy_from_slice(&dst.octets());
        Some(())
    }
}

/// ESP header and trailer (RFC 4303 section 2).
pub mod esp {
    use super::*;
    use crate::types::{SeqNum, Spi};

    /// SPI and sequence number.
    pub const HEADER_LEN: usize = 8;

    /// A checked view of the start of an ESP packet.
    #[derive(Debug, Clone)]
    pub struct EspPacket<T: AsRef<[u8]>> {
        buf: T,
    }

    impl<T: AsRef<[u8]>> EspPacket<T> {
        /// Needs at least SPI and sequence number.
        pub fn new_checked(buf: T) -> Result<Self, WireError> {
            if buf.as_ref().len() < HEADER_LEN {
                return Err(WireError::Truncated("ESP header"));
            }
            Ok(EspPacket { buf })
        }
        /// SPI.
        pub fn spi(&self) -> Spi {
            Spi(be32(self.buf.as_ref(), 0).unwrap_or(0))
        }
        /// Low 32 bits of the sequence number.
        pub fn seq_lo(&self) -> u32 {
            be32(self.buf.as_ref(), 4).unwrap_or(0)
        }
        /// Everything after the SPI and sequence number (IV, ciphertext, ICV).
        pub fn body(&self) -> &[u8] {
            self.buf.as_ref().get(HEADER_LEN..).unwrap_or(&[])
        }
    }

    /// The decrypted ESP trailer: pad length and next header (the last two
    /// bytes of the plaintext).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Trailer {
        /// Pad length.
        pub pad_len: u8,
        /// Next header.
        pub next_header: u8,
    }

    impl Trailer {
        /// Reads the trailer from the end of a decrypted plaintext.
        pub fn parse(plaintext: &[u8]) -> Result<Self, WireError> {
            let n = plaintext.len();
            if n < 2 {
                return Err(WireError::Truncated("ESP trailer"));
            }
            Ok(Trailer {
                pad_len: plaintext[n - 2],
                next_header: plaintext[n - 1],
            })
        }
    }

    /// Writes the 8-byte header (SPI, low sequence half).
    pub fn emit_header(out: &mut [u8], spi: Spi, seq: SeqNum) -> Option<()> {
        let h = out.get_mut(..HEADER_LEN)?;
        h[..4].copy_from_slice(&spi.0.to_be_bytes());
        h[4..].copy_from_slice(&seq.lo().to_be_bytes());
        Some(())
    }
}

/// UDP and UDP encapsulation of ESP (RFC 3948).
pub mod udp {
    use super::*;

    /// UDP header length.
    pub const HEADER_LEN: usize = 8;
    /// The IKE/ESP NAT-traversal port.
    pub const NAT_T_PORT: u16 = 4500;

    /// A checked view of a UDP datagram.
    #[derive(Debug, Clone)]
    pub struct UdpPacket<T: AsRef<[u8]>> {
        buf: T,
        len: usize,
    }

    impl<T: AsRef<[u8]>> UdpPacket<T> {
        /// Validates the length field.
        pub fn new_checked(buf: T) -> Result<Self, WireError> {
            let b = buf.as_ref();
            if b.len() < HEADER_LEN {
                return Err(WireError::Truncated("UDP header"));
            }
            let len = be16(b, 4).unwrap_or(0) as usize;
            if len < HEADER_LEN || len > b.len() {
                return Err(WireError::BadLength("UDP length"));
            }
            Ok(UdpPacket { buf, len })
        }
        /// Source port.
        pub fn src_port(&self) -> u16 {
            be16(self.buf.as_ref(), 0).unwrap_or(0)
        }
        /// Destination port.
        pub fn dst_port(&self) -> u16 {
            be16(self.buf.as_ref(), 2).unwrap_or(0)
        }
        /// Length field.
        pub fn len(&self) -> usize {
            self.len
        }
        /// True for an empty payload.
        pub fn is_empty(&self) -> bool {
            self.len == HEADER_LEN
        }
        /// Checksum field.
        pub fn checksum(&self) -> u16 {
            be16(self.buf.as_ref(), 6).unwrap_or(0)
        }
        /// Payload.
        pub fn payload(&self) -> &[u8] {
            self.buf.as_ref().get(HEADER_LEN..self.len).unwrap_or(&[])
        }
    }

    /// What a UDP-4500 payload carries (RFC 3948 sections 2.2 and 2.3).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum EncapKind {
        /// ESP (the first four bytes, the SPI, are not zero).
        Esp,
        /// IKE: the payload starts with the four-byte non-ESP marker (zero).
        Ike,
        /// A NAT-keepalive: the single byte 0xFF.
        Keepalive,
        /// Too short to be any of these.
        Invalid,
    }

    /// Classifies a UDP-encapsulation payload.
    pub fn classify(payload: &[u8]) -> EncapKind {
        match payload {
            [0xff] => EncapKind::Keepalive,
            [0, 0, 0, 0, ..] => EncapKind::Ike,
            p if p.len() >= 8 => EncapKind::Esp,
            _ => EncapKind::Invalid,
        }
    }

    /// Writes a UDP header with a zero checksum (allowed for UDP-encapsulated
    /// ESP over IPv4, RFC 3948 section 2.1).
    pub fn emit_header(out: &mut [u8], src_port: u16, dst_port: u16, len: u16) -> Option<()> {
        let h = out.get_mut(..HEADER_LEN)?;
        h[..2].copy_from_slice(&src_port.to_be_bytes());
        h[2..4].copy_from_slice(&dst_port.to_be_bytes());
        h[4..6].copy_from_slice(&len.to_be_bytes());
        h[6..8].copy_from_slice(&[0, 0]);
        Some(())
    }

    /// The UDP checksum over the IPv6 pseudo-header (RFC 8200 section 8.1),
    /// needed for UDP over IPv6 (a zero checksum is not allowed there).
    pub fn checksum_v6(src: &Ipv6Addr, dst: &Ipv6Addr, udp: &[u8]) -> u16 {
        let c = Checksum::new()
            .sum(&src.octets())
            .sum(&dst.octets())
            .sum(&(udp.len() as u32).to_be_bytes())
            .sum(&[0, 0, 0, proto::UDP])
            .sum(udp)
            .finish();
        if c == 0 {
            0xffff
        } else {
            c
        }
    }
}

/// AH header (RFC 4302 section 2).
pub mod ah {
    use super::*;
    use crate::types::Spi;

    /// Fixed part: next header, payload length, reserved, SPI, sequence number.
    pub const FIXED_LEN: usize = 12;

    /// A checked view of an AH header.
    #[derive(Debug, Clone)]
    pub struct AhHeader<T: AsRef<[u8]>> {
        buf: T,
        len: usize,
    }

    impl<T: AsRef<[u8]>> AhHeader<T> {
        /// Validates the payload-length field against `buf`.
        pub fn new_checked(buf: T) -> Result<Self, WireError> {
            let b = buf.as_ref();
            if b.len() < FIXED_LEN {
                return Err(WireError::Truncated("AH header"));
            }
            let len = (b[1] as usize + 2) * 4;
            if len < FIXED_LEN || len > b.len() {
                return Err(WireError::BadLength("AH payload length"));
            }
            Ok(AhHeader { buf, len })
        }
        /// Next header.
        pub fn next_header(&self) -> u8 {
            self.buf.as_ref().first().copied().unwrap_or(0)
        }
        /// Whole AH header length in bytes.
        pub fn header_len(&self) -> usize {
            self.len
        }
        /// SPI.
        pub fn spi(&self) -> Spi {
            Spi(be32(self.buf.as_ref(), 4).unwrap_or(0))
        }
        /// Low sequence half.
        pub fn seq_lo(&self) -> u32 {
            be32(self.buf.as_ref(), 8).unwrap_or(0)
        }
        /// The integrity check value field (IV + ICV for GMAC).
        pub fn icv_field(&self) -> &[u8] {
            self.buf.as_ref().get(FIXED_LEN..self.len).unwrap_or(&[])
        }
    }
}

/// Addresses, protocol and ports of an IP packet, for selectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Upper-layer protocol.
    pub protocol: u8,
    /// Source port (TCP, UDP, SCTP; first fragments only).
    pub src_port: Option<u16>,
    /// Destination port.
    pub dst_port: Option<u16>,
    /// Total length of the IP packet per its header.
    pub total_len: usize,
}

impl PacketInfo {
    /// Parses an IPv4 or IPv6 packet.
    pub fn parse(packet: &[u8]) -> Result<Self, WireError> {
        let v = packet.first().ok_or(WireError::Truncated("IP header"))? >> 4;
        let (src, dst, protocol, upper, no_ports, total_len) = match v {
            4 => {
                let p = ipv4::Ipv4Packet::new_checked(packet)?;
                let no_ports = p.flags_frag() & 0x1fff != 0;
                let upper = packet.get(p.header_len()..p.total_len()).unwrap_or(&[]);
                (
                    IpAddr::V4(p.src()),
                    IpAddr::V4(p.dst()),
                    p.protocol(),
                    upper,
                    no_ports,
                    p.total_len(),
                )
            }
            6 => {
                let p = ipv6::Ipv6Packet::new_checked(packet)?;
                let l = p.layout()?;
                let upper = packet.get(l.upper_offset..p.total_len()).unwrap_or(&[]);
                (
                    IpAddr::V6(p.src()),
                    IpAddr::V6(p.dst()),
                    l.upper_protocol,
                    upper,
                    l.later_fragment,
                    p.total_len(),
                )
            }
            _ => return Err(WireError::BadVersion),
        };
        let has_ports = !no_ports && matches!(protocol, proto::TCP | proto::UDP | 132);
        let (src_port, dst_port) = if has_ports {
            (be16(upper, 0), be16(upper, 2))
        } else {
            (None, None)
        };
        Ok(PacketInfo {
            src,
            dst,
            protocol,
            src_port,
            dst_port,
            total_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An IPv4/UDP packet from draft-mcgrew-gcm-test-01 test case 2 (plaintext
    // before the ESP trailer): 192.168.1.2 -> 192.168.1.1, UDP 2712 -> 53.
    const V4_UDP: &str = "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d0010000010000000000000373697009637962657263697479026\
46b0000010001";

    fn v4() -> Vec<u8> {
        hex::decode(V4_UDP).unwrap()
    }

    #[test]
    fn ipv4_parse_and_checksum() {
        let b = v4();
        let p = ipv4::Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 0x3e);
        assert_eq!(p.protocol(), proto::UDP);
        assert_eq!(p.src(), Ipv4Addr::new(192, 168, 1, 2));
        assert_eq!(p.dst(), Ipv4Addr::new(192, 168, 1, 1));
        assert!(p.checksum_ok());
        let info = PacketInfo::parse(&b).unwrap();
        assert_eq!(info.src_port, Some(0x0a98));
        assert_eq!(info.dst_port, Some(53));
    }

    #[test]
    fn ipv4_emit_round_trip() {
        let b = v4();
        let p = ipv4::Ipv4Packet::new_checked(&b[..]).unwrap();
        let mut h = [0u8; 20];
        ipv4::emit_header(&mut h, 0, 20, 64, proto::ESP, p.src(), p.dst()).unwrap();
        let q = ipv4::Ipv4Packet::new_checked(&h[..]).unwrap();
        assert!(q.checksum_ok());
        assert_eq!(q.protocol(), proto::ESP);
        assert_eq!(q.dst(), p.dst());
    }

    #[test]
    fn truncated_everything() {
        let b = v4();
        for n in 0..b.len() {
            assert!(ipv4::Ipv4Packet::new_checked(&b[..n]).is_err() || n >= 0x3e);
            let _ = PacketInfo::parse(&b[..n]);
        }
        assert!(ipv6::Ipv6Packet::new_checked(&b[..]).is_err());
        assert!(esp::EspPacket::new_checked(&b[..7]).is_err());
        assert!(ah::AhHeader::new_checked(&b[..11]).is_err());
        assert!(udp::UdpPacket::new_checked(&b[..7]).is_err());
    }

    #[test]
    fn ipv6_extension_walk() {
        // Fixed header, hop-by-hop (8), destination options (8) then routing
        // (type 0 stub, 8) then destination options (8), then UDP.
        let mut p = vec![0u8; 40];
        p[0] = 0x60;
        p[6] = proto::IPV6_HOP_BY_HOP;
        p[7] = 64;
        let mut ext = vec![
            proto::IPV6_DEST_OPTS,
            0,
            1,
            4,
            0,
            0,
            0,
            0, // HBH, PadN
            proto::IPV6_ROUTING,
            0,
            1,
            4,
            0,
            0,
            0,
            0, // DestOpts before routing
            proto::IPV6_DEST_OPTS,
            0,
            0,
            0,
            0,
            0,
            0,
            0, // Routing, segments left 0
            proto::UDP,
            0,
            1,
            4,
            0,
            0,
            0,
            0, // DestOpts (final)
        ];
        let udp = [0x12, 0x34, 0x00, 0x35, 0, 8, 0, 0];
        ext.extend_from_slice(&udp);
        let plen = ext.len() as u16;
        p[4..6].copy_from_slice(&plen.to_be_bytes());
        p.extend_from_slice(&ext);
        let v = ipv6::Ipv6Packet::new_checked(&p[..]).unwrap();
        let l = v.layout().unwrap();
        assert_eq!(l.upper_protocol, proto::UDP);
        assert_eq!(l.upper_offset, 72);
        // ESP goes after the routing header, before the final destination options.
        assert_eq!(l.insert_offset, 64);
        assert_eq!(l.insert_nh_field, 56);
        let info = PacketInfo::parse(&p).unwrap();
        assert_eq!(info.src_port, Some(0x1234));
        // Every truncation is an error, never a panic.
        for n in 0..p.len() {
            let _ = PacketInfo::parse(&p[..n]);
        }
    }

    #[test]
    fn rfc1071_example_sum() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum (one's complement) to ddf2.
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&b), !0xddf2);
        // the same sum over pieces of odd length
        let c = Checksum::new().sum(&b[..3]).sum(&b[3..4]).sum(&b[4..]);
        assert_eq!(c.finish(), !0xddf2);
        assert_eq!(Checksum::new().sum(&[0xab]).finish(), !0xab00);
    }

    #[test]
    fn udp_encap_classification() {
        assert_eq!(udp::classify(&[0xff]), udp::EncapKind::Keepalive);
        assert_eq!(
            udp::classify(&[0, 0, 0, 0, 1, 2, 3, 4, 5]),
            udp::EncapKind::Ike
        );
        assert_eq!(
            udp::classify(&[0, 0, 1, 0, 0, 0, 0, 1]),
            udp::EncapKind::Esp
        );
        assert_eq!(udp::classify(&[1, 2]), udp::EncapKind::Invalid);
    }
}
