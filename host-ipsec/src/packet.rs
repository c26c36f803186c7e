//! The little IP the gateway itself needs around ESP: header facts of inner
//! packets, transport-mode header rebuild, IPv4 fragmentation and the ICMP
//! "fragmentation needed" / ICMPv6 "packet too big" answers.
//!
//! Nothing here panics on any input; malformed packets give `None`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol numbers used here.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IPv4-in-IP (tunnel-mode next header).
    pub const IPV4: u8 = 4;
    /// IPv6-in-IP (tunnel-mode next header).
    pub const IPV6: u8 = 41;
    /// ESP.
    pub const ESP: u8 = 50;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// Facts about an IP packet read from the TUN device or decapsulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpInfo {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Length of the IP header (IPv4 with options; IPv6 fixed 40).
    pub header_len: usize,
    /// Upper-layer protocol (IPv4 protocol, IPv6 next header).
    pub protocol: u8,
    /// Total length from the header.
    pub total_len: usize,
    /// IPv4 "don't fragment" (always true for IPv6: routers never fragment).
    pub dont_fragment: bool,
}

/// Parses the IP header of `p` and checks its lengths against the buffer.
pub fn parse(p: &[u8]) -> Option<IpInfo> {
    match p.first()? >> 4 {
        4 => {
            if p.len() < 20 {
                return None;
            }
            let ihl = usize::from(p[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
            if ihl < 20 || total < ihl || total > p.len() {
                return None;
            }
            Some(IpInfo {
                src: IpAddr::V4(Ipv4Addr::new(p[12], p[13], p[14], p[15])),
                dst: IpAddr::V4(Ipv4Addr::new(p[16], p[17], p[18], p[19])),
                header_len: ihl,
                protocol: p[9],
                total_len: total,
                dont_fragment: p[6] & 0x40 != 0,
            })
        }
        6 => {
            if p.len() < 40 {
                return None;
            }
            let total = 40 + usize::from(u16::from_be_bytes([p[4], p[5]]));
            if total > p.len() {
                return None;
            }
            let a = |o: usize| -> Option<Ipv6Addr> {
                let b: [u8; 16] = p.get(o..o + 16)?.try_into().ok()?;
                Some(Ipv6Addr::from(b))
            };
            Some(IpInfo {
                src: IpAddr::V6(a(8)?),
                dst: IpAddr::V6(a(24)?),
                header_len: 40,
                protocol: p[6],
                total_len: total,
                dont_fragment: true,
            })
        }
        _ => None,
    }
}

/// Internet checksum (RFC 1071) over `parts`.
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Writes an IP header for a transport-mode packet rebuilt after decapsulation
/// into `out[..header_len]` and returns the header length (20 or 40), or `None`
/// if the families differ or `out` is short.
pub fn write_header(
    out: &mut [u8],
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    payload_len: usize,
) -> Option<usize> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(20 + payload_len).ok()?;
            let h = out.get_mut(..20)?;
            h.fill(0);
            h[0] = 0x45;
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h[6] = 0x40; // DF: the sender's packet fitted its path
            h[8] = 64;
            h[9] = protocol;
            h[12..16].copy_from_slice(&s.octets());
            h[16..20].copy_from_slice(&d.octets());
            let c = checksum(&[h]);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            Some(20)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let plen = u16::try_from(payload_len).ok()?;
            let h = out.get_mut(..40)?;
            h.fill(0);
            h[0] = 0x60;
            h[4..6].copy_from_slice(&plen.to_be_bytes());
            h[6] = protocol;
            h[7] = 64;
            h[8..24].copy_from_slice(&s.octets());
            h[24..40].copy_from_slice(&d.octets());
            Some(40)
        }
        _ => None,
    }
}

/// Splits an IPv4 packet into fragments of at most `mtu` bytes (RFC 791),
/// each passed to `emit`. Returns the number of fragments, or `None` when the
/// packet cannot be fragmented (DF set, malformed, MTU too small).
pub fn fragment_v4(p: &[u8], mtu: usize, mut emit: impl FnMut(&[u8])) -> Option<usize> {
    let info = parse(p)?;
    if !matches!(info.src, IpAddr::V4(_)) || info.dont_fragment {
        return None;
    }
    let hl = info.header_len;
    let chunk = mtu.checked_sub(hl)? & !7;
    if chunk < 8 {
        return None;
    }
    let flags_off = u16::from_be_bytes([p[6], p[7]]);
    let base_off = usize::from(flags_off & 0x1fff) * 8;
    let more_after = flags_off & 0x2000 != 0;
    let data = &p[hl..info.total_len];
    let mut buf = vec![0u8; hl + chunk];
    let mut n = 0;
    let mut off = 0;
    while off < data.len() {
        let len = chunk.min(data.len() - off);
        let last = off + len == data.len();
        buf[..hl].copy_from_slice(&p[..hl]);
        buf[hl..hl + len].copy_from_slice(&data[off..off + len]);
        let total = u16::try_from(hl + len).ok()?;
        buf[2..4].copy_from_slice(&total.to_be_bytes());
        let frag_off = u16::try_from((base_off + off) / 8).ok()?;
        let mf = if !last || more_after { 0x2000 } else { 0 };
        buf[6..8].copy_from_slice(&(frag_off | mf).to_be_bytes());
        buf[10..12].fill(0);
        let c = checksum(&[&buf[..hl]]);
        buf[10..12].copy_from_slice(&c.to_be_bytes());
        emit(&buf[..hl + len]);
        n += 1;
        off += len;
    }
    Some(n)
}

/// Builds the ICMP answer to an inner packet that is too large for the tunnel
/// (ICMPv4 type 3 code 4 with the next-hop MTU, RFC 1191; ICMPv6 type 2, RFC 4443),
/// sent as if from the packet's destination back to its source.
pub fn too_big(p: &[u8], mtu: u16) -> Option<Vec<u8>> {
    let info = parse(p)?;
    match (info.src, info.dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => {
            if info.protocol == proto::ICMP
                && p.get(info.header_len).is_some_and(|t| ![0, 8].contains(t))
            {
                return None; // never answer an ICMP error with one
            }
            let quote = &p[..(info.header_len + 8).min(info.total_len)];
            let mut icmp = vec![3u8, 4, 0, 0, 0, 0];
            icmp.extend_from_slice(&mtu.to_be_bytes());
            icmp.extend_from_slice(quote);
            let c = checksum(&[&icmp]);
            icmp[2..4].copy_from_slice(&c.to_be_bytes());
            let mut out = vec![0u8; 20 + icmp.len()];
            write_header(&mut out, info.dst, info.src, proto::ICMP, icmp.len())?;
            out[20..].copy_from_slice(&icmp);
            Some(out)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            if info.protocol == proto::ICMPV6 && p.get(40).is_some_and(|t| *t < 128) {
                return None;
            }
            let quote = &p[..info.total_len.min(1280 - 48)];
            let mut icmp = vec![2u8, 0, 0, 0];
            icmp.extend_from_slice(&u32::from(mtu).to_be_bytes());
            icmp.extend_from_slice(quote);
            let len = u32::try_from(icmp.len()).ok()?;
            let mut pseudo = Vec::with_capacity(40);
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&len.to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, proto::ICMPV6]);
            let c = checksum(&[&pseudo, &icmp]);
            icmp[2..4].copy_from_slice(&c.to_be_bytes());
            let mut out = vec![0u8; 40 + icmp.len()];
            write_header(&mut out, info.dst, info.src, proto::ICMPV6, icmp.len())?;
            out[40..].copy_from_slice(&icmp);
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An ICMP echo request 10.1.0.1 -> 10.2.0.1 with 100 bytes of data, built by hand
    // (header checksum checked below against the RFC 1071 rule that a correct header
    // sums to zero).
    fn v4_packet(len: usize, df: bool) -> Vec<u8> {
        let mut p = vec![0u8; len];
        write_header(
            &mut p,
            "10.1.0.1".parse().unwrap(),
            "10.2.0.1".parse().unwrap(),
            proto::ICMP,
            len - 20,
        )
        .unwrap();
        if !df {
            p[6] = 0;
            p[10..12].fill(0);
            let c = checksum(&[&p[..20]]);
            p[10..12].copy_from_slice(&c.to_be_bytes());
        }
        p[20] = 8;
        for (i, b) in p[28..].iter_mut().enumerate() {
            *b = i as u8;
        }
        p
    }

    #[test]
    fn header_checksum_verifies() {
        let p = v4_packet(128, true);
        assert_eq!(checksum(&[&p[..20]]), 0);
        let i = parse(&p).unwrap();
        assert_eq!(i.total_len, 128);
        assert!(i.dont_fragment);
    }

    #[test]
    fn rfc1071_example_sum() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum (one's complement) to ddf2.
        let c = checksum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]);
        assert_eq!(c, !0xddf2);
    }

    #[test]
    fn truncated_is_none() {
        let p = v4_packet(128, true);
        assert!(parse(&p[..100]).is_none());
        assert!(parse(&p[..10]).is_none());
        assert!(parse(&[]).is_none());
        assert!(parse(&[0x70; 60]).is_none());
    }

    #[test]
    fn fragments_reassemble() {
        let p = v4_packet(1400, false);
        let mut frags = Vec::new();
        let n = fragment_v4(&p, 576, |f| frags.push(f.to_vec())).unwrap();
        assert_eq!(n, 3);
        let mut data = Vec::new();
        for (k, f) in frags.iter().enumerate() {
            assert!(f.len() <= 576);
            assert_eq!(checksum(&[&f[..20]]), 0);
            let fo = u16::from_be_bytes([f[6], f[7]]);
            assert_eq!(usize::from(fo & 0x1fff) * 8, data.len());
            assert_eq!(fo & 0x2000 != 0, k + 1 < n);
            data.extend_from_slice(&f[20..]);
        }
        assert_eq!(data, p[20..]);
        assert!(fragment_v4(&v4_packet(1400, true), 576, |_| {}).is_none());
    }

    #[test]
    fn frag_needed_quotes_and_checksums() {
        let p = v4_packet(1400, true);
        let icmp = too_big(&p, 1300).unwrap();
        let i = parse(&icmp).unwrap();
        assert_eq!(i.src, "10.2.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(i.dst, "10.1.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(&icmp[20..22], &[3, 4]);
        assert_eq!(u16::from_be_bytes([icmp[26], icmp[27]]), 1300);
        assert_eq!(checksum(&[&icmp[20..]]), 0);
        assert_eq!(&icmp[28..48], &p[..20]);
    }

    #[test]
    fn packet_too_big_v6() {
        let mut p = vec![0u8; 1400];
        write_header(
            &mut p,
            "fd00:1::1".parse().unwrap(),
            "fd00:2::1".parse().unwrap(),
            17,
            1360,
        )
        .unwrap();
        let icmp = too_big(&p, 1280).unwrap();
        let i = parse(&icmp).unwrap();
        assert_eq!(i.protocol, proto::ICMPV6);
        assert!(icmp.len() <= 1280);
        assert_eq!(icmp[40], 2);
        // checksum over pseudo header + message is zero when correct
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&icmp[8..40]);
        pseudo.extend_from_slice(&((icmp.len() - 40) as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 58]);
        assert_eq!(checksum(&[&pseudo, &icmp[40..]]), 0);
    }
}
