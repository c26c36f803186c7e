//! IPv4 fragmentation (RFC 791 section 3.2): what a tunnel gateway does with an
//! inner packet larger than the tunnel carries when its sender allows it (DF clear).

use super::ipv4::{self, Ipv4Packet};
use super::WireError;

/// Why a packet was not fragmented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    /// Not a well-formed IPv4 packet.
    #[error("not a well-formed IPv4 packet: {0}")]
    Malformed(#[from] WireError),
    /// The sender set "don't fragment".
    #[error("don't fragment is set")]
    DontFragment,
    /// The MTU leaves no room for 8 bytes of data after the header.
    #[error("MTU {0} too small to fragment into")]
    MtuTooSmall(usize),
}

/// Splits the IPv4 packet `p` into fragments of at most `mtu` bytes, each passed
/// to `emit` in order (a fragment of a fragment keeps its offset and MF). Returns
/// the number of fragments. Every fragment carries the original header (options
/// included) with its own length, offset, flags and checksum.
pub fn fragment_v4(
    p: &[u8],
    mtu: usize,
    mut emit: impl FnMut(&[u8]),
) -> Result<usize, FragmentError> {
    let v = Ipv4Packet::new_checked(p)?;
    if v.dont_fragment() {
        return Err(FragmentError::DontFragment);
    }
    let hl = v.header_len();
    let chunk = mtu.checked_sub(hl).map_or(0, |c| c & !7);
    if chunk < 8 {
        return Err(FragmentError::MtuTooSmall(mtu));
    }
    let base_off = v.frag_offset();
    let more_after = v.more_fragments();
    let data = v.payload();
    let mut buf = vec![0u8; hl + chunk];
    buf[..hl].copy_from_slice(v.header());
    let mut n = 0;
    for (k, piece) in data.chunks(chunk).enumerate() {
        let off = k * chunk;
        let last = off + piece.len() == data.len();
        buf[hl..hl + piece.len()].copy_from_slice(piece);
        let total = u16::try_from(hl + piece.len())
            .map_err(|_| WireError::BadLength("IPv4 total length"))?;
        let units = u16::try_from((base_off + off) / 8)
            .ok()
            .filter(|u| *u <= ipv4::flags::OFFSET_MASK)
            .ok_or(WireError::BadLength("IPv4 fragment offset"))?;
        let mf = if !last || more_after {
            ipv4::flags::MORE_FRAGMENTS
        } else {
            0
        };
        let f = ipv4::field::FLAGS_FRAG;
        buf[f..f + 2].copy_from_slice(&(units | mf).to_be_bytes());
        ipv4::fix_header(&mut buf[..hl], total, None);
        emit(&buf[..hl + piece.len()]);
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::internet_checksum;
    use super::super::ip::IpRepr;
    use super::*;
    use crate::types::proto;

    /// An ICMP echo request 10.1.0.1 -> 10.2.0.1 of `len` bytes, DF as given.
    pub(crate) fn v4_packet(len: usize, df: bool) -> Vec<u8> {
        let mut p = vec![0u8; len];
        IpRepr {
            src: "10.1.0.1".parse().unwrap(),
            dst: "10.2.0.1".parse().unwrap(),
            protocol: proto::ICMP,
            payload_len: len - 20,
            hop_limit: 64,
            dont_fragment: df,
        }
        .emit(&mut p)
        .unwrap();
        p[20] = 8;
        for (i, b) in p[28..].iter_mut().enumerate() {
            *b = i as u8;
        }
        p
    }

    #[test]
    fn header_checksum_verifies() {
        let p = v4_packet(128, true);
        assert_eq!(internet_checksum(&p[..20]), 0);
        let v = Ipv4Packet::new_checked(&p[..]).unwrap();
        assert_eq!(v.total_len(), 128);
        assert!(v.dont_fragment());
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
            assert_eq!(internet_checksum(&f[..20]), 0);
            let v = Ipv4Packet::new_checked(&f[..]).unwrap();
            assert_eq!(v.frag_offset(), data.len());
            assert_eq!(v.more_fragments(), k + 1 < n);
            data.extend_from_slice(&f[20..]);
        }
        assert_eq!(data, p[20..]);
        assert_eq!(
            fragment_v4(&v4_packet(1400, true), 576, |_| {}),
            Err(FragmentError::DontFragment)
        );
        assert_eq!(
            fragment_v4(&p, 27, |_| {}),
            Err(FragmentError::MtuTooSmall(27))
        );
    }

    #[test]
    fn truncated_is_an_error() {
        let p = v4_packet(128, false);
        for n in 0..p.len() {
            assert!(fragment_v4(&p[..n], 64, |_| {}).is_err(), "{n}");
        }
    }
}
