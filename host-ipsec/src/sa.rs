//! The SA-install seam: one description of a child SA pair ([`ChildSaSpec`]) and
//! one interface that installs it into the data path ([`SaInstaller`]). Manual
//! keys from the configuration and CHILD_SAs negotiated by IKEv2 both go through
//! it, so the data path never knows where keys came from.

use std::net::IpAddr;

use serde::Serialize;

use crate::config::{
    Child, Connection, Encap, IpPrefix, Lifetime, ManualSa, ModeKind, OffloadPolicy, Transform,
};

/// Where an SA's keys came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Manual keys from the configuration file.
    Manual,
    /// Negotiated by IKEv2.
    Ike,
}

/// A child SA pair (one inbound, one outbound) with everything the data path
/// needs. Keys are zeroized on drop and redacted in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSaSpec {
    /// Connection name.
    pub connection: String,
    /// Child name.
    pub child: String,
    /// Where the keys came from.
    pub origin: Origin,
    /// Our outer address.
    pub local_addr: IpAddr,
    /// The peer's outer address.
    pub remote_addr: IpAddr,
    /// ESP in UDP or raw ESP.
    pub encap: Encap,
    /// Local UDP port (UDP encapsulation).
    pub local_port: u16,
    /// Remote UDP port (UDP encapsulation).
    pub remote_port: u16,
    /// Tunnel or transport.
    pub mode: ModeKind,
    /// Local traffic selectors (inner source of outbound packets).
    pub local_ts: Vec<IpPrefix>,
    /// Remote traffic selectors (inner destination of outbound packets).
    pub remote_ts: Vec<IpPrefix>,
    /// Transform.
    pub transform: Transform,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Replay window (packets).
    pub replay_window: u32,
    /// Inbound SPI and keys.
    pub inbound: ManualSa,
    /// Outbound SPI and keys.
    pub outbound: ManualSa,
    /// Hard lifetime.
    pub lifetime: Lifetime,
    /// Offload policy.
    pub offload: OffloadPolicy,
    /// Path MTU towards the peer.
    pub path_mtu: u16,
}

impl ChildSaSpec {
    /// The SA pair of a manually keyed child.
    pub fn from_manual(conn: &Connection, child: &Child) -> Self {
        ChildSaSpec {
            connection: conn.name.clone(),
            child: child.name.clone(),
            origin: Origin::Manual,
            local_addr: conn.local_addr,
            remote_addr: conn.remote_addr,
            encap: conn.encap,
            local_port: conn.local_port,
            remote_port: conn.remote_port,
            mode: child.mode,
            local_ts: child.local_ts.clone(),
            remote_ts: child.remote_ts.clone(),
            transform: child.transform,
            esn: child.esn,
            replay_window: child.replay_window,
            inbound: child.inbound.clone(),
            outbound: child.outbound.clone(),
            lifetime: child.lifetime,
            offload: conn.offload,
            path_mtu: conn.path_mtu,
        }
    }

    /// Outer header bytes the tunnel adds to every inner packet, worst case.
    pub fn overhead(&self) -> usize {
        let ip = if self.local_addr.is_ipv4() { 20 } else { 40 };
        let udp = if self.encap == Encap::Udp { 8 } else { 0 };
        let t = self.transform;
        // ESP header + IV, worst-case padding, pad length + next header, ICV.
        let esp = t.header_len() + (t.pad_align() - 1) + 2 + t.icv_len();
        ip + udp + esp
    }

    /// Largest inner packet (tunnel mode) or IP packet (transport mode) that
    /// fits the path MTU after encapsulation.
    pub fn inner_mtu(&self) -> u16 {
        let extra = match self.mode {
            ModeKind::Tunnel => 0,
            // transport keeps the original header: it is not inside ESP
            ModeKind::Transport => 0,
        };
        let o = self.overhead() + extra;
        u16::try_from(usize::from(self.path_mtu).saturating_sub(o)).unwrap_or(0)
    }

    /// True when an outbound packet from `src` to `dst` belongs to this SA.
    pub fn matches_outbound(&self, src: IpAddr, dst: IpAddr) -> bool {
        self.local_ts.iter().any(|p| p.contains(src))
            && self.remote_ts.iter().any(|p| p.contains(dst))
    }

    /// True when a decapsulated packet from `src` to `dst` is allowed by the SA.
    pub fn matches_inbound(&self, src: IpAddr, dst: IpAddr) -> bool {
        self.remote_ts.iter().any(|p| p.contains(src))
            && self.local_ts.iter().any(|p| p.contains(dst))
    }
}

/// One half of an SA pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SaDirection {
    /// The inbound SA (we receive on it).
    In,
    /// The outbound SA (we send on it).
    Out,
}

impl std::fmt::Display for SaDirection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SaDirection::In => "inbound",
            SaDirection::Out => "outbound",
        })
    }
}

/// A soft lifetime (packets, bytes or sequence space) reached on one half of an
/// installed pair, reported once per half by the data path: the pair should be
/// replaced before its hard limit stops it (IKE rekeys a negotiated CHILD_SA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftExpired {
    /// Connection.
    pub connection: String,
    /// Child.
    pub child: String,
    /// Where the keys came from.
    pub origin: Origin,
    /// Inbound SPI of the pair (how the data path names it).
    pub inbound_spi: u32,
    /// Outbound SPI of the pair.
    pub outbound_spi: u32,
    /// The half that reached its soft limit.
    pub direction: SaDirection,
}

/// Why an SA pair could not be installed or removed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The inbound SPI is already in use.
    #[error("inbound SPI {0:#010x} already installed")]
    SpiInUse(u32),
    /// No SA pair with this inbound SPI.
    #[error("no SA with inbound SPI {0:#010x}")]
    NotFound(u32),
    /// The ESP layer refused the SA parameters.
    #[error("SA {spi:#010x} refused by the ESP layer: {source}")]
    Esp {
        /// SPI.
        spi: u32,
        /// Reason.
        #[source]
        source: esp::ConfigError,
    },
    /// `offload = card` and the card cannot carry the SA (or there is no card).
    #[error("SA {spi:#010x}: offload = card but {reason}")]
    CardRequired {
        /// SPI.
        spi: u32,
        /// Why the card cannot take it.
        reason: String,
    },
    /// The card engine failed while installing the SA (its error kind kept).
    #[error("SA {spi:#010x}: {source}")]
    Card {
        /// SPI.
        spi: u32,
        /// What the engine said.
        #[source]
        source: crate::card_error::CardError,
    },
    /// A socket for the SA could not be opened.
    #[error("SA {spi:#010x}: cannot open {what}: {source}")]
    Socket {
        /// SPI.
        spi: u32,
        /// Which socket.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The SA pair is not ESP in UDP, so it has no UDP endpoint to move.
    #[error("SA {0:#010x} is not UDP-encapsulated")]
    NotUdp(u32),
    /// The data path has stopped.
    #[error("data path not running")]
    Stopped,
}

/// Installs and removes SA pairs. Implemented by the data path; called by the
/// configuration loader (manual keys) and by IKEv2 (negotiated CHILD_SAs).
pub trait SaInstaller {
    /// Installs a pair. The outbound SA starts at sequence number `first_seq`
    /// (1 for a fresh SA; higher after a restart so numbers are never reused).
    fn install(&self, spec: ChildSaSpec, first_seq: u64) -> Result<(), InstallError>;
    /// Removes the pair whose inbound SPI is `inbound_spi`.
    fn remove(&self, inbound_spi: u32) -> Result<(), InstallError>;
}
