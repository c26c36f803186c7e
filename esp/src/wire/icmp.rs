//! The ICMP answers of a tunnel gateway to an inner packet too large for the
//! tunnel: ICMPv4 "fragmentation needed" (type 3 code 4, with the next-hop MTU,
//! RFC 1191) and ICMPv6 "packet too big" (type 2, RFC 4443), sent as if from the
//! packet's destination back to its source, quoting the start of the packet.

use std::net::IpAddr;

use super::ip::{IpPacket, IpRepr};
use super::{Checksum, WireError};
use crate::types::proto;

/// ICMPv4 "destination unreachable".
pub const V4_DEST_UNREACHABLE: u8 = 3;
/// Its code "fragmentation needed and DF set".
pub const V4_FRAG_NEEDED: u8 = 4;
/// ICMPv6 "packet too big".
pub const V6_PACKET_TOO_BIG: u8 = 2;
/// Largest ICMPv6 error message (the IPv6 minimum MTU, RFC 4443 section 2.4).
pub const V6_MAX_ERROR_LEN: usize = 1280;
/// ICMP header length (type, code, checksum, 4 bytes of rest-of-header).
pub const HEADER_LEN: usize = 8;

/// Why no answer was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TooBigError {
    /// The packet is not well-formed IP.
    #[error("cannot answer a malformed packet: {0}")]
    Malformed(#[from] WireError),
    /// The packet is an ICMP error itself: never answered with another (RFC 1122 3.2.2, RFC 4443 2.4).
    #[error("the packet is an ICMP error message")]
    IcmpError,
}

/// Writes the "too big" answer to `packet` with next-hop `mtu` into `out` and
/// returns its length. `out` of [`V6_MAX_ERROR_LEN`] bytes always suffices.
pub fn emit_too_big(packet: &[u8], mtu: u16, out: &mut [u8]) -> Result<usize, TooBigError> {
    let p = IpPacket::new_checked(packet)?;
    let (hl, total) = (p.header_len(), p.total_len());
    let is_icmp_error = match &p {
        IpPacket::V4(_) => {
            p.next_header() == proto::ICMP && packet.get(hl).is_some_and(|t| ![0, 8].contains(t))
        }
        // ICMPv6 errors are types below 128
        IpPacket::V6(_) => {
            p.next_header() == proto::ICMPV6 && packet.get(hl).is_some_and(|t| *t < 128)
        }
    };
    if is_icmp_error {
        return Err(TooBigError::IcmpError);
    }
    let (protocol, quote_len) = match &p {
        // the IP header and the first 8 bytes of its payload
        IpPacket::V4(_) => (proto::ICMP, (hl + 8).min(total)),
        // as much as fits in the minimum MTU
        IpPacket::V6(_) => (
            proto::ICMPV6,
            total.min(V6_MAX_ERROR_LEN - super::ipv6::HEADER_LEN - HEADER_LEN),
        ),
    };
    let repr = IpRepr {
        src: p.dst(),
        dst: p.src(),
        protocol,
        payload_len: HEADER_LEN + quote_len,
        hop_limit: 64,
        dont_fragment: false,
    };
    let need = repr.buffer_len()?;
    let have = out.len();
    let out = out
        .get_mut(..need)
        .ok_or(WireError::BufferTooSmall { need, have })?;
    let ip_len = repr.emit(out)?;
    let icmp = &mut out[ip_len..];
    icmp[..HEADER_LEN].fill(0);
    match p {
        IpPacket::V4(_) => {
            icmp[0] = V4_DEST_UNREACHABLE;
            icmp[1] = V4_FRAG_NEEDED;
            icmp[6..8].copy_from_slice(&mtu.to_be_bytes());
        }
        IpPacket::V6(_) => {
            icmp[0] = V6_PACKET_TOO_BIG;
            icmp[4..8].copy_from_slice(&u32::from(mtu).to_be_bytes());
        }
    }
    icmp[HEADER_LEN..].copy_from_slice(&packet[..quote_len]);
    let c = match (repr.src, repr.dst) {
        (IpAddr::V6(s), IpAddr::V6(d)) => pseudo_v6(s, d, icmp.len()).sum(icmp).finish(),
        _ => Checksum::new().sum(icmp).finish(),
    };
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    Ok(need)
}

/// The ICMPv6 pseudo header (RFC 8200 section 8.1) summed.
fn pseudo_v6(src: std::net::Ipv6Addr, dst: std::net::Ipv6Addr, len: usize) -> Checksum {
    Checksum::new()
        .sum(&src.octets())
        .sum(&dst.octets())
        .sum(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes())
        .sum(&[0, 0, 0, proto::ICMPV6])
}

#[cfg(test)]
mod tests {
    use super::super::fragment::tests::v4_packet;
    use super::super::internet_checksum;
    use super::*;

    #[test]
    fn frag_needed_quotes_and_checksums() {
        let p = v4_packet(1400, true);
        let mut out = [0u8; V6_MAX_ERROR_LEN];
        let n = emit_too_big(&p, 1300, &mut out).unwrap();
        let icmp = &out[..n];
        let i = IpPacket::new_checked(icmp).unwrap();
        assert_eq!(i.src(), "10.2.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(i.dst(), "10.1.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(&icmp[20..22], &[3, 4]);
        assert_eq!(u16::from_be_bytes([icmp[26], icmp[27]]), 1300);
        assert_eq!(internet_checksum(&icmp[20..]), 0);
        assert_eq!(&icmp[28..48], &p[..20]);
        // an ICMP error is never answered
        let mut err = v4_packet(100, true);
        err[20] = 3;
        assert_eq!(
            emit_too_big(&err, 1300, &mut out),
            Err(TooBigError::IcmpError)
        );
    }

    #[test]
    fn packet_too_big_v6() {
        let mut p = vec![0u8; 1400];
        IpRepr {
            src: "fd00:1::1".parse().unwrap(),
            dst: "fd00:2::1".parse().unwrap(),
            protocol: 17,
            payload_len: 1360,
            hop_limit: 64,
            dont_fragment: true,
        }
        .emit(&mut p)
        .unwrap();
        let mut out = [0u8; V6_MAX_ERROR_LEN];
        let n = emit_too_big(&p, 1280, &mut out).unwrap();
        let icmp = &out[..n];
        let i = IpPacket::new_checked(icmp).unwrap();
        assert_eq!(i.next_header(), proto::ICMPV6);
        assert!(icmp.len() <= 1280);
        assert_eq!(icmp[40], 2);
        // checksum over pseudo header + message is zero when correct
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&icmp[8..40]);
        pseudo.extend_from_slice(&((icmp.len() - 40) as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 58]);
        assert_eq!(Checksum::new().sum(&pseudo).sum(&icmp[40..]).finish(), 0);
    }

    #[test]
    fn short_output_and_truncated_input_are_errors() {
        let p = v4_packet(1400, true);
        let mut out = [0u8; 40];
        assert!(matches!(
            emit_too_big(&p, 1300, &mut out),
            Err(TooBigError::Malformed(WireError::BufferTooSmall { .. }))
        ));
        let mut big = [0u8; V6_MAX_ERROR_LEN];
        for n in 0..60 {
            assert!(emit_too_big(&p[..n], 1300, &mut big).is_err());
        }
    }
}
