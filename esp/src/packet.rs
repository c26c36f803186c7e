//! The packet layer on top of the ESP layer: transport and tunnel mode, IPv4
//! and IPv6 outer and inner headers, optional UDP encapsulation (RFC 3948).
//!
//! Outbound: [`OutboundSa::encap_packet`] takes an IP packet and writes the
//! packet to send. Inbound: [`InboundSa::decap_packet`] takes a received IP
//! packet (ESP or UDP-encapsulated ESP), decrypts in place and returns where
//! the inner IP packet now lies.

use core::ops::Range;
use std::net::{IpAddr, Ipv6Addr};

use crate::error::{DecapError, EncapError};
use crate::sa::{check_room, InboundSa, Mode, OutboundSa, Sealed};
use crate::spd::Sad;
use crate::types::{proto, SeqNum, Spi};
use crate::wire::{ipv4, ipv6, udp, PacketInfo};

/// Hop limit / TTL of outer headers we build.
pub const OUTER_TTL: u8 = 64;

/// Result of decapsulating one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decapped {
    /// Where the inner (tunnel) or restored (transport) IP packet lies in the
    /// caller's buffer.
    pub packet: Range<usize>,
    /// The authenticated sequence number.
    pub seq: SeqNum,
    /// True exactly once, on the packet that reached a soft lifetime.
    pub soft_expired: bool,
    /// Addresses, protocol and ports of the delivered packet.
    pub info: PacketInfo,
}

/// Where the ESP datagram lies inside a received IP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EspLocation {
    /// The SPI.
    pub spi: Spi,
    /// The ESP datagram (SPI .. ICV).
    pub esp: Range<usize>,
    /// End of the IP header (and extension headers) before ESP or UDP.
    pub ip_header_end: usize,
    /// Offset of the byte naming the protocol at `ip_header_end` (IPv4
    /// protocol field or the last IPv6 next-header field).
    pub nh_field: usize,
    /// True when carried in UDP.
    pub udp_encap: bool,
}

/// Finds the ESP datagram in an IPv4 or IPv6 packet, directly (protocol 50)
/// or UDP-encapsulated; IKE (non-ESP marker) and NAT keepalives are
/// [`DecapError::NotEsp`].
pub fn locate_esp(packet: &[u8]) -> Result<EspLocation, DecapError> {
    let version = packet
        .first()
        .ok_or(DecapError::Truncated("empty packet"))?
        >> 4;
    let (hdr_end, nh_field, protocol, total) = match version {
        4 => {
            let p = ipv4::Ipv4Packet::new_checked(packet)
                .map_err(|_| DecapError::Truncated("outer IPv4 header"))?;
            if p.is_fragment() {
                return Err(DecapError::Truncated(
                    "outer IPv4 fragment (reassemble first)",
                ));
            }
            (
                p.header_len(),
                ipv4::field::PROTOCOL,
                p.protocol(),
                p.total_len(),
            )
        }
        6 => {
            let p = ipv6::Ipv6Packet::new_checked(packet)
                .map_err(|_| DecapError::Truncated("outer IPv6 header"))?;
            let l = p
                .layout()
                .map_err(|_| DecapError::Truncated("outer IPv6 extension headers"))?;
            (
                l.upper_offset,
                l.upper_nh_field,
                l.upper_protocol,
                p.total_len(),
            )
        }
        _ => return Err(DecapError::Truncated("not IPv4 or IPv6")),
    };
    let (esp_start, udp_encap) = match protocol {
        proto::ESP => (hdr_end, false),
        proto::UDP => {
            let u = udp::UdpPacket::new_checked(
                packet
                    .get(hdr_end..total)
                    .ok_or(DecapError::Truncated("UDP"))?,
            )
            .map_err(|_| DecapError::Truncated("UDP header"))?;
            if udp::classify(u.payload()) != udp::EncapKind::Esp {
                return Err(DecapError::NotEsp);
            }
            let end = hdr_end + u.len();
            return finish(
                packet,
                (hdr_end, nh_field),
                hdr_end + udp::HEADER_LEN,
                end,
                true,
            );
        }
        _ => return Err(DecapError::NotEsp),
    };
    finish(packet, (hdr_end, nh_field), esp_start, total, udp_encap)
}

fn finish(
    packet: &[u8],
    (hdr_end, nh_field): (usize, usize),
    start: usize,
    end: usize,
    udp_encap: bool,
) -> Result<EspLocation, DecapError> {
    let esp = packet.get(start..end).ok_or(DecapError::Truncated("ESP"))?;
    let spi = Spi(crate::sa::read_u32(esp, 0).ok_or(DecapError::Truncated("ESP header"))?);
    Ok(EspLocation {
        spi,
        esp: start..end,
        ip_header_end: hdr_end,
        nh_field,
        udp_encap,
    })
}

/// The total length an IPv4 or IPv6 header claims (checked in full later).
fn ip_total_len(p: &[u8]) -> Result<usize, EncapError> {
    let be16 = |at: usize| {
        p.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
    };
    match p.first().map(|b| b >> 4) {
        Some(4) => be16(2).ok_or(EncapError::Malformed("IPv4 header")),
        Some(6) => be16(4)
            .map(|l| l + ipv6::HEADER_LEN)
            .ok_or(EncapError::Malformed("IPv6 header")),
        _ => Err(EncapError::Malformed("not IPv4 or IPv6")),
    }
}

impl OutboundSa {
    /// Largest packet [`encap_packet`](Self::encap_packet) can write for an
    /// inner packet of `inner_len` bytes: size the output buffer with it.
    pub fn encap_len(&self, inner_len: usize) -> usize {
        let t = self.core.transform;
        let tfc = self.core.tfc_pad_to.map_or(0, |t| t as usize);
        // Upper bound whatever part of the packet ends up as ESP payload.
        self.encap_headroom() + inner_len.max(tfc) + (t.pad_align() - 1) + 2 + t.icv_len()
    }

    /// Where [`encap_packet_in_place`](Self::encap_packet_in_place) expects
    /// the inner packet to start in its buffer: room for the outer IP header
    /// (tunnel), UDP (if configured) and the ESP header.
    pub fn encap_headroom(&self) -> usize {
        self.tunnel_header_len() + self.udp_header_len() + self.header_len()
    }

    /// Length of the outer IP header tunnel mode adds (none in transport mode).
    fn tunnel_header_len(&self) -> usize {
        match self.core.mode {
            Mode::Transport => 0,
            Mode::Tunnel {
                local: IpAddr::V4(_),
                ..
            } => ipv4::MIN_HEADER_LEN,
            Mode::Tunnel { .. } => ipv6::HEADER_LEN,
        }
    }

    /// Length of the UDP header of RFC 3948 encapsulation (none without).
    fn udp_header_len(&self) -> usize {
        if self.core.encap.is_some() {
            udp::HEADER_LEN
        } else {
            0
        }
    }

    /// The protocol the IP header of the sent packet names: UDP or ESP.
    fn outer_proto(&self) -> u8 {
        if self.core.encap.is_some() {
            proto::UDP
        } else {
            proto::ESP
        }
    }

    /// Protects the IP packet `packet` and writes the packet to send into
    /// `out` (size it with [`encap_len`](Self::encap_len)); returns its length
    /// (`Sealed::len`) and sequence number.
    pub fn encap_packet(&mut self, packet: &[u8], out: &mut [u8]) -> Result<Sealed, EncapError> {
        let inner = packet
            .get(..ip_total_len(packet)?)
            .ok_or(EncapError::Malformed("IP length field beyond the packet"))?;
        check_room(out, self.encap_len(inner.len()))?;
        let head = self.encap_headroom();
        out.get_mut(head..head + inner.len())
            .ok_or(EncapError::TooLarge)?
            .copy_from_slice(inner);
        self.encap_checked(out, inner.len())
    }

    /// Like [`encap_packet`](Self::encap_packet) without the copy: the inner
    /// IP packet is already at `buf[encap_headroom()..][..inner_len]` (e.g.
    /// read there from a TUN device) and `buf` has room up to
    /// `encap_len(inner_len)`. The packet to send is written to
    /// `buf[..Sealed::len]`.
    pub fn encap_packet_in_place(
        &mut self,
        buf: &mut [u8],
        inner_len: usize,
    ) -> Result<Sealed, EncapError> {
        check_room(buf, self.encap_len(inner_len))?;
        self.encap_checked(buf, inner_len)
    }

    /// `buf` is known to be large enough.
    fn encap_checked(&mut self, buf: &mut [u8], inner_len: usize) -> Result<Sealed, EncapError> {
        let head = self.encap_headroom();
        let inner = buf
            .get(head..head + inner_len)
            .ok_or(EncapError::TooLarge)?;
        // Validate the header the way the receiver will parse it.
        let total = match inner.first().map(|b| b >> 4) {
            Some(4) => ipv4::Ipv4Packet::new_checked(inner).map(|p| p.total_len()),
            Some(6) => ipv6::Ipv6Packet::new_checked(inner).map(|p| p.total_len()),
            _ => return Err(EncapError::Malformed("not IPv4 or IPv6")),
        }
        .map_err(|_| EncapError::Malformed("not a valid IP packet"))?;
        if total != inner_len {
            return Err(EncapError::Malformed(
                "IP length field does not match the packet length",
            ));
        }
        match self.core.mode {
            Mode::Tunnel { local, remote } => self.encap_tunnel(buf, inner_len, local, remote),
            Mode::Transport => self.encap_transport(buf, inner_len),
        }
    }

    fn encap_tunnel(
        &mut self,
        buf: &mut [u8],
        inner_len: usize,
        local: IpAddr,
        remote: IpAddr,
    ) -> Result<Sealed, EncapError> {
        let head = self.encap_headroom();
        let first = buf.get(head).copied().unwrap_or(0);
        let second = buf.get(head + 1).copied().unwrap_or(0);
        let (nh, tos) = match first >> 4 {
            4 => (proto::IPV4, second),
            6 => (
                proto::IPV6,
                (((u16::from(first) << 8 | u16::from(second)) >> 4) & 0xff) as u8,
            ),
            _ => return Err(EncapError::Malformed("not IPv4 or IPv6")),
        };
        let outer_len = self.tunnel_header_len();
        let esp_off = outer_len + self.udp_header_len();
        let tfc = self
            .core
            .tfc_pad_to
            .map_or(0, |t| (t as usize).saturating_sub(inner_len));
        let esp_buf = buf.get_mut(esp_off..).ok_or(EncapError::TooLarge)?;
        let mut sealed = self.seal_in_place_tfc(esp_buf, inner_len, nh, tfc)?;
        let total = esp_off + sealed.len;
        let out = buf.get_mut(..total).ok_or(EncapError::TooLarge)?;
        let (ip, after_ip) = out.split_at_mut(outer_len);
        let v6_addrs = match (local, remote) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                ipv4::emit_header(ip, tos, l16(total)?, OUTER_TTL, self.outer_proto(), s, d)
                    .ok_or(EncapError::TooLarge)?;
                None
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let payload_len = l16(after_ip.len())?;
                ipv6::emit_header(ip, tos, payload_len, self.outer_proto(), OUTER_TTL, s, d)
                    .ok_or(EncapError::TooLarge)?;
                Some((s, d))
            }
            _ => return Err(EncapError::Malformed("tunnel endpoints of mixed families")),
        };
        self.write_udp(after_ip, v6_addrs)?;
        sealed.len = total;
        Ok(sealed)
    }

    /// With UDP encapsulation: writes the UDP header at the start of `udp`
    /// (UDP header and ESP datagram), with its checksum when carried over
    /// IPv6 (`v6_addrs` = source and destination), zero over IPv4 (RFC 3948
    /// section 2.1). Without: nothing.
    fn write_udp(
        &self,
        udp: &mut [u8],
        v6_addrs: Option<(Ipv6Addr, Ipv6Addr)>,
    ) -> Result<(), EncapError> {
        let Some(e) = self.core.encap else {
            return Ok(());
        };
        udp::emit_header(udp, e.src_port, e.dst_port, l16(udp.len())?)
            .ok_or(EncapError::TooLarge)?;
        if let Some((s, d)) = v6_addrs {
            let c = udp::checksum_v6(&s, &d, udp);
            if let Some(f) = udp.get_mut(6..8) {
                f.copy_from_slice(&c.to_be_bytes());
            }
        }
        Ok(())
    }

    fn encap_transport(&mut self, buf: &mut [u8], inner_len: usize) -> Result<Sealed, EncapError> {
        let head = self.encap_headroom();
        let pkt = buf
            .get(head..head + inner_len)
            .ok_or(EncapError::TooLarge)?;
        let version = pkt.first().map(|b| b >> 4);
        // (bytes kept in front of ESP, offset of the next-header byte to rewrite)
        let (front, nh_field) = match version {
            Some(4) => {
                let p = ipv4::Ipv4Packet::new_checked(pkt)
                    .map_err(|_| EncapError::Malformed("IPv4 header"))?;
                if p.is_fragment() {
                    return Err(EncapError::Malformed(
                        "transport mode cannot protect a fragment",
                    ));
                }
                (p.header_len(), ipv4::field::PROTOCOL)
            }
            Some(6) => {
                let p = ipv6::Ipv6Packet::new_checked(pkt)
                    .map_err(|_| EncapError::Malformed("IPv6 header"))?;
                let l = p
                    .layout()
                    .map_err(|_| EncapError::Malformed("IPv6 extension headers"))?;
                (l.insert_offset, l.insert_nh_field)
            }
            _ => return Err(EncapError::Malformed("not IPv4 or IPv6")),
        };
        let nh = *pkt.get(nh_field).ok_or(EncapError::Malformed("header"))?;
        let payload_len = inner_len
            .checked_sub(front)
            .ok_or(EncapError::Malformed("header"))?;
        // Move the IP header to the front; the payload stays where ESP wants it.
        buf.copy_within(head..head + front, 0);
        let esp_off = front + self.udp_header_len();
        let esp_buf = buf.get_mut(esp_off..).ok_or(EncapError::TooLarge)?;
        let mut sealed = self.seal_in_place_tfc(esp_buf, payload_len, nh, 0)?;
        let total = esp_off + sealed.len;
        let out = buf.get_mut(..total).ok_or(EncapError::TooLarge)?;
        let (hdr, after_ip) = out.split_at_mut(front);
        if let Some(b) = hdr.get_mut(nh_field) {
            *b = self.outer_proto();
        }
        let v6_addrs = if version == Some(4) {
            ipv4::fix_header(hdr, l16(total)?, None);
            None
        } else {
            if let Some(f) = hdr.get_mut(ipv6::field::PAYLOAD_LEN..ipv6::field::PAYLOAD_LEN + 2) {
                f.copy_from_slice(&l16(total - ipv6::HEADER_LEN)?.to_be_bytes());
            }
            let addr = |r: Range<usize>| -> Result<Ipv6Addr, EncapError> {
                let b: [u8; 16] = hdr
                    .get(r)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(EncapError::Malformed("IPv6"))?;
                Ok(b.into())
            };
            Some((addr(8..24)?, addr(24..40)?))
        };
        self.write_udp(after_ip, v6_addrs)?;
        sealed.len = total;
        Ok(sealed)
    }
}

/// A length as a 16-bit header field.
fn l16(n: usize) -> Result<u16, EncapError> {
    u16::try_from(n).map_err(|_| EncapError::TooLarge)
}

impl InboundSa {
    /// Decapsulates a received IP packet in place: locates ESP (directly or in
    /// UDP), opens it (see [`InboundSa::open`] for the checks), then rebuilds
    /// the IP packet (transport) or extracts the inner packet (tunnel) and
    /// checks it against the SA's selector. Returns where the packet to
    /// deliver lies in `packet`.
    pub fn decap_packet(&mut self, packet: &mut [u8]) -> Result<Decapped, DecapError> {
        self.decap_packet_with(packet, |_| true)
    }

    /// [`decap_packet`](Self::decap_packet) with an extra selector check hook
    /// on the delivered packet (the daemon's SPD lookup); `false` yields
    /// [`DecapError::SelectorMismatch`].
    pub fn decap_packet_with(
        &mut self,
        packet: &mut [u8],
        check: impl FnOnce(&PacketInfo) -> bool,
    ) -> Result<Decapped, DecapError> {
        let loc = locate_esp(packet)?;
        self.decap_located(packet, &loc, check)
    }

    fn decap_located(
        &mut self,
        packet: &mut [u8],
        loc: &EspLocation,
        check: impl FnOnce(&PacketInfo) -> bool,
    ) -> Result<Decapped, DecapError> {
        let esp_start = loc.esp.start;
        let datagram = packet
            .get_mut(loc.esp.clone())
            .ok_or(DecapError::Truncated("ESP"))?;
        let opened = self.open(datagram)?;
        let pl = (esp_start + opened.payload.start)..(esp_start + opened.payload.end);
        let (range, parsed) = match self.core.mode {
            Mode::Tunnel { .. } => {
                let want = match opened.next_header {
                    proto::IPV4 => 4,
                    proto::IPV6 => 6,
                    _ => {
                        return Err(DecapError::BadInner(
                            "tunnel mode next header is not IPv4 or IPv6",
                        ))
                    }
                };
                let inner = packet
                    .get(pl.clone())
                    .ok_or(DecapError::BadInner("range"))?;
                if inner.first().map(|b| b >> 4) != Some(want) {
                    return Err(DecapError::BadInner(
                        "inner IP version does not match next header",
                    ));
                }
                let info = PacketInfo::parse(inner)
                    .map_err(|_| DecapError::BadInner("inner IP header"))?;
                // Drop TFC padding: deliver only the inner packet's own length.
                (pl.start..pl.start + info.total_len, Some(info))
            }
            Mode::Transport => {
                let front = loc.ip_header_end;
                let plen = pl.len();
                let new_start = pl
                    .start
                    .checked_sub(front)
                    .ok_or(DecapError::BadInner("layout"))?;
                packet.copy_within(0..front, new_start);
                let out = packet
                    .get_mut(new_start..pl.end)
                    .ok_or(DecapError::BadInner("layout"))?;
                let l16 = |n: usize| u16::try_from(n).map_err(|_| DecapError::BadInner("length"));
                match out.first().map(|b| b >> 4) {
                    Some(4) => {
                        let hdr = out.get_mut(..front).ok_or(DecapError::BadInner("header"))?;
                        ipv4::fix_header(hdr, l16(front + plen)?, Some(opened.next_header));
                    }
                    Some(6) => {
                        if let Some(b) = out.get_mut(loc.nh_field) {
                            *b = opened.next_header;
                        }
                        if let Some(f) = out.get_mut(4..6) {
                            f.copy_from_slice(&l16(front + plen - ipv6::HEADER_LEN)?.to_be_bytes());
                        }
                    }
                    _ => return Err(DecapError::BadInner("IP version")),
                }
                (new_start..pl.end, None)
            }
        };
        let info = match parsed {
            Some(info) => info,
            None => {
                let delivered = packet
                    .get(range.clone())
                    .ok_or(DecapError::BadInner("range"))?;
                PacketInfo::parse(delivered)
                    .map_err(|_| DecapError::BadInner("delivered IP header"))?
            }
        };
        if let Some(sel) = &self.core.selector {
            if !sel.matches_inbound(&info) {
                return Err(DecapError::SelectorMismatch);
            }
        }
        if !check(&info) {
            return Err(DecapError::SelectorMismatch);
        }
        Ok(Decapped {
            packet: range,
            seq: opened.seq,
            soft_expired: opened.soft_expired,
            info,
        })
    }
}

impl Sad {
    /// Full inbound processing of a received packet: locate ESP, look the SPI
    /// up (unknown SPI is [`DecapError::UnknownSpi`]), then
    /// [`InboundSa::decap_packet`].
    pub fn decap_packet(&mut self, packet: &mut [u8]) -> Result<(Spi, Decapped), DecapError> {
        let loc = locate_esp(packet)?;
        let sa = self.lookup_inbound(loc.spi)?;
        let d = sa.decap_located(packet, &loc, |_| true)?;
        Ok((loc.spi, d))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::BackendKind;
    use crate::sa::{SaConfig, UdpEncap};
    use crate::spd::{IpPrefix, Selector};
    use crate::types::Transform;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// A UDP-in-IPv4 packet 10.1.0.1:1234 -> 10.2.0.1:5678 with `n` payload bytes.
    pub(crate) fn udp4(n: usize) -> Vec<u8> {
        let total = 20 + 8 + n;
        let mut p = vec![0u8; total];
        ipv4::emit_header(
            &mut p,
            0x10,
            total as u16,
            63,
            proto::UDP,
            Ipv4Addr::new(10, 1, 0, 1),
            Ipv4Addr::new(10, 2, 0, 1),
        )
        .unwrap();
        udp::emit_header(&mut p[20..], 1234, 5678, (8 + n) as u16).unwrap();
        for (i, b) in p[28..].iter_mut().enumerate() {
            *b = i as u8;
        }
        p
    }

    /// A UDP-in-IPv6 packet fd01::1 -> fd02::1 with a hop-by-hop header.
    pub(crate) fn udp6(n: usize) -> Vec<u8> {
        let plen = 8 + 8 + n;
        let mut p = vec![0u8; 40 + plen];
        ipv6::emit_header(
            &mut p,
            0,
            plen as u16,
            proto::IPV6_HOP_BY_HOP,
            63,
            "fd01::1".parse().unwrap(),
            "fd02::1".parse().unwrap(),
        )
        .unwrap();
        p[40..48].copy_from_slice(&[proto::UDP, 0, 1, 4, 0, 0, 0, 0]);
        udp::emit_header(&mut p[48..], 1234, 5678, (8 + n) as u16).unwrap();
        for (i, b) in p[56..].iter_mut().enumerate() {
            *b = i as u8;
        }
        p
    }

    fn key(t: Transform) -> Vec<u8> {
        (0..t.key_material_len())
            .map(|i| (i * 7 + 3) as u8)
            .collect()
    }

    fn pair(
        t: Transform,
        mode: Mode,
        encap: bool,
        esn: bool,
        backend: BackendKind,
    ) -> (OutboundSa, InboundSa) {
        let mut cfg = SaConfig::new(Spi(0x0102_0304), t, &key(t)).unwrap();
        cfg.mode = mode;
        cfg.esn = esn;
        cfg.backend = backend;
        cfg.encap = encap.then(UdpEncap::default);
        (
            OutboundSa::new(&cfg).unwrap(),
            InboundSa::new(&cfg).unwrap(),
        )
    }

    fn modes() -> Vec<Mode> {
        vec![
            Mode::Transport,
            Mode::Tunnel {
                local: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                remote: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            },
            Mode::Tunnel {
                local: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                remote: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
            },
        ]
    }

    #[test]
    fn round_trip_every_combination() {
        for t in Transform::ALL {
            for mode in modes() {
                for encap in [false, true] {
                    for esn in [false, true] {
                        for inner in [udp4(0), udp4(100), udp6(1), udp6(333)] {
                            let (mut o, mut i) = pair(t, mode, encap, esn, BackendKind::fastest());
                            let mut out = vec![0u8; o.encap_len(inner.len())];
                            let s = o.encap_packet(&inner, &mut out).unwrap();
                            assert_eq!(s.seq, SeqNum(1));
                            let mut wire_pkt = out[..s.len].to_vec();
                            let loc = locate_esp(&wire_pkt).unwrap();
                            if wire_pkt[0] >> 4 == 4 {
                                assert!(ipv4::Ipv4Packet::new_checked(&wire_pkt[..])
                                    .unwrap()
                                    .checksum_ok());
                            }
                            assert_eq!(loc.udp_encap, encap);
                            // The in-place variant produces the same bytes.
                            let (mut o2, _) = pair(t, mode, encap, esn, BackendKind::fastest());
                            let mut buf2 = vec![0u8; o2.encap_len(inner.len())];
                            let h = o2.encap_headroom();
                            buf2[h..h + inner.len()].copy_from_slice(&inner);
                            let s2 = o2.encap_packet_in_place(&mut buf2, inner.len()).unwrap();
                            assert_eq!(&buf2[..s2.len], &wire_pkt[..], "in place {t:?} {mode:?}");
                            let d = i.decap_packet(&mut wire_pkt).unwrap_or_else(|e| {
                                panic!("{t:?} {mode:?} encap={encap} esn={esn}: {e}")
                            });
                            assert_eq!(
                                &wire_pkt[d.packet.clone()],
                                &inner[..],
                                "{t:?} {mode:?} encap={encap} esn={esn}"
                            );
                            // A replay is refused.
                            let mut again = out[..s.len].to_vec();
                            assert_eq!(
                                i.decap_packet(&mut again),
                                Err(DecapError::Replayed(SeqNum(1)))
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn udp_over_ipv6_has_a_valid_checksum() {
        for mode in [Mode::Transport, modes()[2]] {
            let (mut o, _) = pair(
                Transform::AesGcm128,
                mode,
                true,
                false,
                BackendKind::RustCrypto,
            );
            let inner = udp6(50);
            let mut out = vec![0u8; o.encap_len(inner.len())];
            let s = o.encap_packet(&inner, &mut out).unwrap();
            let pkt = &out[..s.len];
            let loc = locate_esp(pkt).unwrap();
            assert!(loc.udp_encap);
            let v6 = ipv6::Ipv6Packet::new_checked(pkt).unwrap();
            let udp_dgram = &pkt[loc.ip_header_end..];
            let stored = u16::from_be_bytes([udp_dgram[6], udp_dgram[7]]);
            assert_ne!(stored, 0, "UDP over IPv6 needs a checksum");
            // Recompute with the field zeroed: must equal what was stored.
            let mut z = udp_dgram.to_vec();
            z[6..8].copy_from_slice(&[0, 0]);
            assert_eq!(udp::checksum_v6(&v6.src(), &v6.dst(), &z), stored);
        }
    }

    #[test]
    fn tfc_padding_is_removed() {
        let mode = modes()[1];
        let mut cfg =
            SaConfig::new(Spi(9), Transform::AesGcm128, &key(Transform::AesGcm128)).unwrap();
        cfg.mode = mode;
        cfg.tfc_pad_to = Some(1000);
        let mut o = OutboundSa::new(&cfg).unwrap();
        let mut i = InboundSa::new(&cfg).unwrap();
        let inner = udp4(10);
        let mut out = vec![0u8; o.encap_len(inner.len())];
        let s = o.encap_packet(&inner, &mut out).unwrap();
        assert!(s.len > 1000);
        let d = i.decap_packet(&mut out[..s.len]).unwrap();
        assert_eq!(&out[d.packet.clone()], &inner[..]);
    }

    #[test]
    fn selector_mismatch_and_hook() {
        let mode = modes()[1];
        let mut cfg =
            SaConfig::new(Spi(9), Transform::AesGcm128, &key(Transform::AesGcm128)).unwrap();
        cfg.mode = mode;
        let mut o = OutboundSa::new(&cfg).unwrap();
        // Inbound: local = the inner destination 10.2.0.0/16, remote 10.9.0.0/16 (wrong).
        cfg.selector = Some(Selector::between(
            IpPrefix::parse("10.2.0.0/16").unwrap(),
            IpPrefix::parse("10.9.0.0/16").unwrap(),
        ));
        let mut i = InboundSa::new(&cfg).unwrap();
        let inner = udp4(10);
        let mut out = vec![0u8; o.encap_len(inner.len())];
        let s = o.encap_packet(&inner, &mut out).unwrap();
        assert_eq!(
            i.decap_packet(&mut out[..s.len]),
            Err(DecapError::SelectorMismatch)
        );
        // The hook can refuse too.
        cfg.selector = None;
        let mut i = InboundSa::new(&cfg).unwrap();
        let s = o.encap_packet(&inner, &mut out).unwrap();
        assert_eq!(
            i.decap_packet_with(&mut out[..s.len], |_| false),
            Err(DecapError::SelectorMismatch)
        );
    }

    #[test]
    fn sad_lookup_and_non_esp() {
        let (mut o, i) = pair(
            Transform::AesGcm256,
            Mode::Transport,
            true,
            false,
            BackendKind::RustCrypto,
        );
        let mut sad = Sad::new();
        let inner = udp4(20);
        let mut out = vec![0u8; o.encap_len(inner.len())];
        let s = o.encap_packet(&inner, &mut out).unwrap();
        let mut pkt = out[..s.len].to_vec();
        assert_eq!(
            sad.decap_packet(&mut pkt),
            Err(DecapError::UnknownSpi(Spi(0x0102_0304)))
        );
        sad.insert_inbound(i);
        let mut pkt = out[..s.len].to_vec();
        let (spi, d) = sad.decap_packet(&mut pkt).unwrap();
        assert_eq!(spi, Spi(0x0102_0304));
        assert_eq!(&pkt[d.packet], &inner[..]);
        // IKE behind the non-ESP marker on UDP 4500 is not ESP.
        let mut ike = udp4(12);
        ike[28..32].copy_from_slice(&[0, 0, 0, 0]);
        ike[20..24].copy_from_slice(&[0x11, 0x94, 0x11, 0x94]);
        assert_eq!(sad.decap_packet(&mut ike), Err(DecapError::NotEsp));
    }
}
