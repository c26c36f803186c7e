//! Security Policy Database and Security Association Database as plain data
//! structures (RFC 4301 sections 4.4.1 and 4.4.2). No I/O; the daemon fills
//! them from configuration and IKE.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::error::DecapError;
use crate::sa::{InboundSa, OutboundSa};
use crate::types::Spi;
use crate::wire::PacketInfo;

/// An IP prefix (address and prefix length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub len: u8,
}

/// Why a text is not an IP prefix ([`IpPrefix`]'s `FromStr`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The part before the `/` is not an address.
    #[error("'{0}' is not an IP address")]
    Address(String),
    /// The part after the `/` is not a length for the address's family.
    #[error("'{text}' is not a prefix length for {family} (0..={max})")]
    Length {
        /// The length as written.
        text: String,
        /// `IPv4` or `IPv6`.
        family: &'static str,
        /// The family's address width.
        max: u8,
    },
}

impl IpPrefix {
    /// A prefix; `len` is clamped to the address width.
    pub fn new(addr: IpAddr, len: u8) -> Self {
        IpPrefix {
            addr,
            len: len.min(width(addr)),
        }
    }

    /// The prefix of one address (/32 or /128).
    pub fn host(addr: IpAddr) -> Self {
        IpPrefix {
            addr,
            len: width(addr),
        }
    }

    /// The prefix that matches every address of `addr`'s family.
    pub fn any_like(addr: IpAddr) -> Self {
        IpPrefix { addr, len: 0 }
    }

    /// Parses `10.0.0.0/8`, `fd00::/64` or a bare address (full length), like
    /// `FromStr` but without the reason.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// Does `ip` lie inside the prefix?
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(p), IpAddr::V4(a)) => {
                let mask = mask32(self.len);
                (u32::from(p) & mask) == (u32::from(a) & mask)
            }
            (IpAddr::V6(p), IpAddr::V6(a)) => {
                let mask = mask128(self.len);
                (u128::from(p) & mask) == (u128::from(a) & mask)
            }
            _ => false,
        }
    }
}

/// The address width of `addr`'s family in bits.
fn width(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

impl core::str::FromStr for IpPrefix {
    type Err = PrefixError;

    /// Parses `10.0.0.0/8`, `fd00::/64` or a bare address (full length). Host bits
    /// are cleared: `10.1.2.3/16` is `10.1.0.0/16`.
    fn from_str(s: &str) -> Result<Self, PrefixError> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| PrefixError::Address(a.to_string()))?;
        let max = width(addr);
        let len = match l {
            Some(l) => l
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&l| l <= max)
                .ok_or_else(|| PrefixError::Length {
                    text: l.to_string(),
                    family: if addr.is_ipv4() { "IPv4" } else { "IPv6" },
                    max,
                })?,
            None => max,
        };
        let addr = match addr {
            IpAddr::V4(v) => IpAddr::V4((u32::from(v) & mask32(len)).into()),
            IpAddr::V6(v) => IpAddr::V6((u128::from(v) & mask128(len)).into()),
        };
        Ok(IpPrefix { addr, len })
    }
}

impl core::fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// The network mask of an IPv4 prefix length (0..=32).
fn mask32(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

/// The network mask of an IPv6 prefix length (0..=128).
fn mask128(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

/// An inclusive port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// Lowest port.
    pub start: u16,
    /// Highest port.
    pub end: u16,
}

impl PortRange {
    /// Every port.
    pub const ANY: PortRange = PortRange {
        start: 0,
        end: u16::MAX,
    };

    /// One port.
    pub const fn single(p: u16) -> Self {
        PortRange { start: p, end: p }
    }

    /// Does the range hold `p`? A packet without ports (e.g. ICMP) only
    /// matches [`PortRange::ANY`].
    pub fn contains(&self, p: Option<u16>) -> bool {
        match p {
            Some(p) => self.start <= p && p <= self.end,
            None => *self == PortRange::ANY,
        }
    }
}

/// A traffic selector: local and remote prefixes, protocol and ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Selector {
    /// Our side.
    pub local: IpPrefix,
    /// The peer's side.
    pub remote: IpPrefix,
    /// IP protocol, `None` = any.
    pub protocol: Option<u8>,
    /// Our ports.
    pub local_ports: PortRange,
    /// The peer's ports.
    pub remote_ports: PortRange,
}

impl Selector {
    /// A selector between two prefixes, any protocol and port.
    pub fn between(local: IpPrefix, remote: IpPrefix) -> Self {
        Selector {
            local,
            remote,
            protocol: None,
            local_ports: PortRange::ANY,
            remote_ports: PortRange::ANY,
        }
    }

    fn matches(
        &self,
        local: IpAddr,
        remote: IpAddr,
        info: &PacketInfo,
        lp: Option<u16>,
        rp: Option<u16>,
    ) -> bool {
        self.local.contains(local)
            && self.remote.contains(remote)
            && self.protocol.is_none_or(|p| p == info.protocol)
            && self.local_ports.contains(lp)
            && self.remote_ports.contains(rp)
    }

    /// Does an outgoing packet (source = local) match?
    pub fn matches_outbound(&self, info: &PacketInfo) -> bool {
        self.matches(info.src, info.dst, info, info.src_port, info.dst_port)
    }

    /// Does an incoming (decrypted inner) packet (destination = local) match?
    pub fn matches_inbound(&self, info: &PacketInfo) -> bool {
        self.matches(info.dst, info.src, info, info.dst_port, info.src_port)
    }
}

/// What a policy does with matching traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send through the outbound SA with this SPI (the SA id in the SAD).
    Protect(Spi),
    /// Send in the clear.
    Bypass,
    /// Drop.
    Discard,
}

/// One SPD entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Traffic it covers.
    pub selector: Selector,
    /// What to do.
    pub action: Action,
}

/// An ordered Security Policy Database: the first matching entry wins.
#[derive(Clone, Debug, Default)]
pub struct Spd {
    policies: Vec<Policy>,
}

impl Spd {
    /// An empty SPD (everything discarded).
    pub fn new() -> Self {
        Spd::default()
    }
    /// Appends a policy (lowest priority so far).
    pub fn push(&mut self, p: Policy) {
        self.policies.push(p);
    }
    /// Removes every policy that protects with `spi`.
    pub fn remove_spi(&mut self, spi: Spi) {
        self.policies.retain(|p| p.action != Action::Protect(spi));
    }
    /// The policies in order.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }
    /// The action for an outgoing packet; no match = discard (RFC 4301 default).
    pub fn lookup_outbound(&self, info: &PacketInfo) -> Action {
        self.policies
            .iter()
            .find(|p| p.selector.matches_outbound(info))
            .map_or(Action::Discard, |p| p.action)
    }
    /// The action an incoming clear packet should have had (so that clear
    /// traffic a policy says must be protected is dropped).
    pub fn lookup_inbound(&self, info: &PacketInfo) -> Action {
        self.policies
            .iter()
            .find(|p| p.selector.matches_inbound(info))
            .map_or(Action::Discard, |p| p.action)
    }
}

/// Security Association Database: inbound SAs keyed by SPI, outbound SAs by
/// the SPI the peer chose.
#[derive(Debug, Default)]
pub struct Sad {
    inbound: HashMap<u32, InboundSa>,
    outbound: HashMap<u32, OutboundSa>,
}

impl Sad {
    /// Empty.
    pub fn new() -> Self {
        Sad::default()
    }
    /// Installs an inbound SA (replacing one with the same SPI).
    pub fn insert_inbound(&mut self, sa: InboundSa) -> Option<InboundSa> {
        self.inbound.insert(sa.spi().0, sa)
    }
    /// Installs an outbound SA.
    pub fn insert_outbound(&mut self, sa: OutboundSa) -> Option<OutboundSa> {
        self.outbound.insert(sa.spi().0, sa)
    }
    /// Removes an inbound SA.
    pub fn remove_inbound(&mut self, spi: Spi) -> Option<InboundSa> {
        self.inbound.remove(&spi.0)
    }
    /// Removes an outbound SA.
    pub fn remove_outbound(&mut self, spi: Spi) -> Option<OutboundSa> {
        self.outbound.remove(&spi.0)
    }
    /// Inbound SA by SPI.
    pub fn inbound_mut(&mut self, spi: Spi) -> Option<&mut InboundSa> {
        self.inbound.get_mut(&spi.0)
    }
    /// Outbound SA by SPI.
    pub fn outbound_mut(&mut self, spi: Spi) -> Option<&mut OutboundSa> {
        self.outbound.get_mut(&spi.0)
    }
    /// Inbound SA lookup that yields the decap error for an unknown SPI.
    pub fn lookup_inbound(&mut self, spi: Spi) -> Result<&mut InboundSa, DecapError> {
        self.inbound
            .get_mut(&spi.0)
            .ok_or(DecapError::UnknownSpi(spi))
    }
    /// Number of inbound and outbound SAs.
    pub fn len(&self) -> (usize, usize) {
        (self.inbound.len(), self.outbound.len())
    }
    /// True when no SA is installed.
    pub fn is_empty(&self) -> bool {
        self.inbound.is_empty() && self.outbound.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(src: &str, dst: &str, proto: u8, sp: Option<u16>, dp: Option<u16>) -> PacketInfo {
        PacketInfo {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            protocol: proto,
            src_port: sp,
            dst_port: dp,
            total_len: 0,
        }
    }

    #[test]
    fn prefixes() {
        let p = IpPrefix::parse("10.1.0.0/16").unwrap();
        assert!(p.contains("10.1.200.3".parse().unwrap()));
        assert!(!p.contains("10.2.0.1".parse().unwrap()));
        assert!(!p.contains("::1".parse().unwrap()));
        assert!(IpPrefix::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        let p6 = IpPrefix::parse("fd00:1::/32").unwrap();
        assert!(p6.contains("fd00:1:2::9".parse().unwrap()));
        assert!(!p6.contains("fd00:2::9".parse().unwrap()));
        assert_eq!(IpPrefix::parse("10.0.0.1").unwrap().len, 32);
        assert!(IpPrefix::parse("10.0.0.0/33").is_none());
        assert!(IpPrefix::parse("nonsense/8").is_none());
        // host bits cleared, printed back, reasons given
        let p: IpPrefix = "10.1.2.3/16".parse().unwrap();
        assert_eq!(p.to_string(), "10.1.0.0/16");
        assert_eq!(
            IpPrefix::host("fd00::1".parse().unwrap()).to_string(),
            "fd00::1/128"
        );
        assert_eq!("0.0.0.0/0".parse::<IpPrefix>().unwrap().len, 0);
        let e = "fd00::/129".parse::<IpPrefix>().unwrap_err();
        assert!(
            e.to_string().contains("prefix length for IPv6 (0..=128)"),
            "{e}"
        );
        assert_eq!(
            "nonsense/8".parse::<IpPrefix>(),
            Err(PrefixError::Address("nonsense".into()))
        );
    }

    #[test]
    fn first_match_wins_default_discard() {
        let mut spd = Spd::new();
        let mut dns = Selector::between(
            IpPrefix::parse("10.1.0.0/16").unwrap(),
            IpPrefix::parse("10.2.0.0/16").unwrap(),
        );
        dns.protocol = Some(17);
        dns.remote_ports = PortRange::single(53);
        spd.push(Policy {
            selector: dns,
            action: Action::Bypass,
        });
        spd.push(Policy {
            selector: Selector::between(
                IpPrefix::parse("10.1.0.0/16").unwrap(),
                IpPrefix::parse("10.2.0.0/16").unwrap(),
            ),
            action: Action::Protect(Spi(7)),
        });
        assert_eq!(
            spd.lookup_outbound(&info("10.1.0.5", "10.2.0.9", 17, Some(3333), Some(53))),
            Action::Bypass
        );
        assert_eq!(
            spd.lookup_outbound(&info("10.1.0.5", "10.2.0.9", 17, Some(3333), Some(54))),
            Action::Protect(Spi(7))
        );
        assert_eq!(
            spd.lookup_outbound(&info("10.1.0.5", "10.2.0.9", 1, None, None)),
            Action::Protect(Spi(7))
        );
        // ICMP has no ports: the port-restricted bypass does not match it.
        assert_eq!(
            spd.lookup_outbound(&info("10.9.0.5", "10.2.0.9", 1, None, None)),
            Action::Discard
        );
        // Inbound swaps the sides.
        assert_eq!(
            spd.lookup_inbound(&info("10.2.0.9", "10.1.0.5", 6, Some(1), Some(2))),
            Action::Protect(Spi(7))
        );
        spd.remove_spi(Spi(7));
        assert_eq!(spd.policies().len(), 1);
    }
}
