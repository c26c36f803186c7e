//! Traffic selector payloads TSi/TSr (RFC 7296 3.13): IPv4 and IPv6 address ranges
//! with protocol and ports.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{be16, need, ParseError};

/// Traffic selector (RFC 7296 3.13.1), IPv4 or IPv6 address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrafficSelector {
    /// IP protocol, 0 = any.
    pub ip_proto: u8,
    /// First port.
    pub start_port: u16,
    /// Last port.
    pub end_port: u16,
    /// First address.
    pub start_addr: IpAddr,
    /// Last address.
    pub end_addr: IpAddr,
}

/// TS type IPv4 address range.
pub const TS_IPV4_ADDR_RANGE: u8 = 7;
/// TS type IPv6 address range.
pub const TS_IPV6_ADDR_RANGE: u8 = 8;

pub(super) fn emit_ts(ts: &[TrafficSelector], out: &mut Vec<u8>) {
    out.extend_from_slice(&[ts.len() as u8, 0, 0, 0]);
    for t in ts {
        let (ty, len) = match t.start_addr {
            IpAddr::V4(_) => (TS_IPV4_ADDR_RANGE, 16u16),
            IpAddr::V6(_) => (TS_IPV6_ADDR_RANGE, 40u16),
        };
        out.push(ty);
        out.push(t.ip_proto);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&t.start_port.to_be_bytes());
        out.extend_from_slice(&t.end_port.to_be_bytes());
        for a in [t.start_addr, t.end_addr] {
            match a {
                IpAddr::V4(v) => out.extend_from_slice(&v.octets()),
                IpAddr::V6(v) => out.extend_from_slice(&v.octets()),
            }
        }
    }
}

pub(super) fn parse_ts(b: &[u8]) -> Result<Vec<TrafficSelector>, ParseError> {
    need("TS payload", b, 4)?;
    let n = b[0] as usize;
    let mut rest = &b[4..];
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        need("traffic selector", rest, 8)?;
        let ty = rest[0];
        let len = be16(rest, 2) as usize;
        let alen = match (ty, len) {
            (TS_IPV4_ADDR_RANGE, 16) => 4,
            (TS_IPV6_ADDR_RANGE, 40) => 16,
            (TS_IPV4_ADDR_RANGE | TS_IPV6_ADDR_RANGE, l) => {
                return Err(ParseError::BadLength {
                    what: "traffic selector",
                    len: l,
                })
            }
            (t, _) => {
                return Err(ParseError::Invalid {
                    what: "TS type",
                    value: t.into(),
                })
            }
        };
        need("traffic selector", rest, len)?;
        let addr = |at: usize| -> IpAddr {
            if alen == 4 {
                IpAddr::V4(Ipv4Addr::new(
                    rest[at],
                    rest[at + 1],
                    rest[at + 2],
                    rest[at + 3],
                ))
            } else {
                let mut o = [0u8; 16];
                o.copy_from_slice(&rest[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(o))
            }
        };
        v.push(TrafficSelector {
            ip_proto: rest[1],
            start_port: be16(rest, 4),
            end_port: be16(rest, 6),
            start_addr: addr(8),
            end_addr: addr(8 + alen),
        });
        rest = &rest[len..];
    }
    if !rest.is_empty() {
        return Err(ParseError::BadLength {
            what: "TS payload",
            len: b.len(),
        });
    }
    Ok(v)
}
