//! Either IP version behind one checked view ([`IpPacket`]) and one header
//! representation ([`IpRepr`], `parse` then `emit`), for code that handles
//! IPv4 and IPv6 alike: selectors, transport-mode header rebuilds, ICMP answers.

use std::net::IpAddr;

use super::ipv4::{self, Ipv4Packet};
use super::ipv6::{self, Ipv6Packet};
use super::WireError;

/// A checked view of an IPv4 or IPv6 packet (by its version nibble).
#[derive(Debug, Clone)]
pub enum IpPacket<T: AsRef<[u8]>> {
    /// IPv4.
    V4(Ipv4Packet<T>),
    /// IPv6.
    V6(Ipv6Packet<T>),
}

impl<T: AsRef<[u8]>> IpPacket<T> {
    /// Validates the header of either version and its lengths against `buf`.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        match buf.as_ref().first().map(|v| v >> 4) {
            Some(4) => Ipv4Packet::new_checked(buf).map(IpPacket::V4),
            Some(6) => Ipv6Packet::new_checked(buf).map(IpPacket::V6),
            Some(_) => Err(WireError::BadVersion),
            None => Err(WireError::Truncated("IP header")),
        }
    }
    /// Source address.
    pub fn src(&self) -> IpAddr {
        match self {
            IpPacket::V4(p) => IpAddr::V4(p.src()),
            IpPacket::V6(p) => IpAddr::V6(p.src()),
        }
    }
    /// Destination address.
    pub fn dst(&self) -> IpAddr {
        match self {
            IpPacket::V4(p) => IpAddr::V4(p.dst()),
            IpPacket::V6(p) => IpAddr::V6(p.dst()),
        }
    }
    /// Length of the IP header: IPv4 with its options, IPv6 the fixed 40 bytes
    /// (extension headers are payload here; see [`Ipv6Packet::layout`]).
    pub fn header_len(&self) -> usize {
        match self {
            IpPacket::V4(p) => p.header_len(),
            IpPacket::V6(_) => ipv6::HEADER_LEN,
        }
    }
    /// Total length per the header (bytes past it, link padding, are not the packet's).
    pub fn total_len(&self) -> usize {
        match self {
            IpPacket::V4(p) => p.total_len(),
            IpPacket::V6(p) => p.total_len(),
        }
    }
    /// IPv4 protocol or the next header of the IPv6 fixed header.
    pub fn next_header(&self) -> u8 {
        match self {
            IpPacket::V4(p) => p.protocol(),
            IpPacket::V6(p) => p.next_header(),
        }
    }
    /// TTL or hop limit.
    pub fn hop_limit(&self) -> u8 {
        match self {
            IpPacket::V4(p) => p.ttl(),
            IpPacket::V6(p) => p.hop_limit(),
        }
    }
    /// IPv4 "don't fragment"; always true for IPv6 (routers never fragment it).
    pub fn dont_fragment(&self) -> bool {
        match self {
            IpPacket::V4(p) => p.dont_fragment(),
            IpPacket::V6(_) => true,
        }
    }
    /// True for an IPv4 fragment (MF set or offset non-zero). IPv6 fragments are
    /// a fragment extension header (`next_header()`, or [`Ipv6Packet::layout`]).
    pub fn is_v4_fragment(&self) -> bool {
        match self {
            IpPacket::V4(p) => p.is_fragment(),
            IpPacket::V6(_) => false,
        }
    }
    /// True for IPv4.
    pub fn is_v4(&self) -> bool {
        matches!(self, IpPacket::V4(_))
    }
}

/// The fields of an IP header without options or extension headers: what
/// [`IpRepr::emit`] writes, 20 bytes (IPv4) or 40 (IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRepr {
    /// Source address.
    pub src: IpAddr,
    /// Destination address (of the same version).
    pub dst: IpAddr,
    /// IPv4 protocol or IPv6 next header.
    pub protocol: u8,
    /// Bytes after the header.
    pub payload_len: usize,
    /// TTL or hop limit.
    pub hop_limit: u8,
    /// IPv4 "don't fragment" (ignored for IPv6).
    pub dont_fragment: bool,
}

impl IpRepr {
    /// The header fields of `p` (payload: everything after [`IpPacket::header_len`]).
    pub fn parse<T: AsRef<[u8]>>(p: &IpPacket<T>) -> Self {
        IpRepr {
            src: p.src(),
            dst: p.dst(),
            protocol: p.next_header(),
            payload_len: p.total_len().saturating_sub(p.header_len()),
            hop_limit: p.hop_limit(),
            dont_fragment: p.dont_fragment(),
        }
    }

    /// Header length (20 or 40); an error when the addresses' versions differ.
    pub fn header_len(&self) -> Result<usize, WireError> {
        match (self.src, self.dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) => Ok(ipv4::MIN_HEADER_LEN),
            (IpAddr::V6(_), IpAddr::V6(_)) => Ok(ipv6::HEADER_LEN),
            _ => Err(WireError::MixedVersions),
        }
    }

    /// Header plus payload.
    pub fn buffer_len(&self) -> Result<usize, WireError> {
        Ok(self.header_len()? + self.payload_len)
    }

    /// Writes the header into `out[..header_len]` (IPv4: identification 0,
    /// checksum computed) and returns its length. Errors, never panics: mixed
    /// versions, a payload too long for the length field, a short `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let hl = self.header_len()?;
        let have = out.len();
        let h = out
            .get_mut(..hl)
            .ok_or(WireError::BufferTooSmall { need: hl, have })?;
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let total = u16::try_from(hl + self.payload_len)
                    .map_err(|_| WireError::BadLength("IPv4 total length"))?;
                ipv4::emit_header(h, 0, total, self.hop_limit, self.protocol, s, d).ok_or(
                    WireError::BufferTooSmall {
                        need: hl,
                        have: h.len(),
                    },
                )?;
                if self.dont_fragment {
                    h[ipv4::field::FLAGS_FRAG] |= (ipv4::flags::DONT_FRAGMENT >> 8) as u8;
                    ipv4::fix_header(h, total, None);
                }
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let plen = u16::try_from(self.payload_len)
                    .map_err(|_| WireError::BadLength("IPv6 payload length"))?;
                ipv6::emit_header(h, 0, plen, self.protocol, self.hop_limit, s, d).ok_or(
                    WireError::BufferTooSmall {
                        need: hl,
                        have: h.len(),
                    },
                )?;
            }
            _ => return Err(WireError::MixedVersions),
        }
        Ok(hl)
    }
}

#[cfg(test)]
mod tests {
    use super::super::internet_checksum;
    use super::*;
    use crate::types::proto;

    // The IPv4/UDP packet of draft-mcgrew-gcm-test-01 test case 2 (as in wire.rs's tests).
    const V4_UDP: &str = "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d0010000010000000000000373697009637962657263697479026\
46b0000010001";

    #[test]
    fn parse_either_version() {
        let b = hex::decode(V4_UDP).unwrap();
        let p = IpPacket::new_checked(&b[..]).unwrap();
        assert!(p.is_v4());
        assert_eq!(p.src(), "192.168.1.2".parse::<IpAddr>().unwrap());
        assert_eq!(p.dst(), "192.168.1.1".parse::<IpAddr>().unwrap());
        assert_eq!((p.header_len(), p.total_len()), (20, 0x3e));
        assert_eq!(p.next_header(), proto::UDP);
        assert!(!p.dont_fragment() && !p.is_v4_fragment());
        let r = IpRepr::parse(&p);
        assert_eq!(r.payload_len, 0x3e - 20);
        assert_eq!(r.hop_limit, 0x80);
    }

    #[test]
    fn emit_then_parse_round_trip() {
        for (src, dst) in [("10.1.0.1", "10.2.0.1"), ("fd00:1::1", "fd00:2::1")] {
            let r = IpRepr {
                src: src.parse().unwrap(),
                dst: dst.parse().unwrap(),
                protocol: proto::ICMP,
                payload_len: 64,
                hop_limit: 64,
                dont_fragment: true,
            };
            let mut buf = vec![0u8; r.buffer_len().unwrap()];
            let hl = r.emit(&mut buf).unwrap();
            let p = IpPacket::new_checked(&buf[..]).unwrap();
            assert_eq!(p.header_len(), hl);
            assert_eq!(IpRepr::parse(&p), r);
            if let IpPacket::V4(v4) = &p {
                assert!(v4.checksum_ok());
                assert_eq!(internet_checksum(v4.header()), 0);
            }
        }
    }

    #[test]
    fn emit_refuses_bad_input_without_panic() {
        let mut r = IpRepr {
            src: "10.1.0.1".parse().unwrap(),
            dst: "fd00::1".parse().unwrap(),
            protocol: 17,
            payload_len: 8,
            hop_limit: 64,
            dont_fragment: false,
        };
        let mut buf = [0u8; 64];
        assert_eq!(r.emit(&mut buf), Err(WireError::MixedVersions));
        r.dst = "10.2.0.1".parse().unwrap();
        assert!(matches!(
            r.emit(&mut buf[..19]),
            Err(WireError::BufferTooSmall { need: 20, have: 19 })
        ));
        r.payload_len = 70_000;
        assert!(r.emit(&mut buf).is_err());
    }

    #[test]
    fn truncated_is_an_error() {
        let b = hex::decode(V4_UDP).unwrap();
        for n in 0..b.len() {
            assert!(IpPacket::new_checked(&b[..n]).is_err(), "{n}");
        }
        assert!(IpPacket::new_checked(&[0x70u8; 60][..]).is_err());
        assert!(IpPacket::new_checked(&[][..]).is_err());
    }
}
