//! The configuration file: TOML shaped like strongSwan's `swanctl.conf`.
//!
//! ```toml
//! [daemon]
//! name = "site-a"                 # control socket /run/ipsecd/site-a.sock
//!
//! [connections.site-b]
//! local_addrs = ["192.168.77.1"]
//! remote_addrs = ["192.168.77.2"]
//! encap = "udp"                   # udp (RFC 3948, port 4500) | raw (IP protocol 50)
//! offload = "auto"                # auto | card | software
//!
//! [connections.site-b.children.net]
//! local_ts = ["10.1.0.0/24"]
//! remote_ts = ["10.2.0.0/24"]
//! mode = "tunnel"                 # tunnel | transport
//! esp_proposals = "aes128gcm16"
//! in_spi = "0xc0000b01"
//! out_spi = "0xc0000a01"
//! in_key = "<hex: key then 4-byte salt>"
//! out_key = "<hex>"
//! ```
//!
//! Every error names the file, the line and the reason ([`ConfigError`]).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use zeroize::Zeroizing;

use crate::defaults;

/// A configuration error with its place in the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("{file}:{line}: {reason}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when the error has no place).
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// How ESP leaves the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encap {
    /// ESP in UDP, port 4500 (RFC 3948).
    Udp,
    /// Raw ESP, IP protocol 50.
    Raw,
}

/// Where the ESP transform runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OffloadPolicy {
    /// The card when it can carry the SA, software otherwise (never fails an SA).
    Auto,
    /// The card or an error.
    Card,
    /// Software only; never touches a card.
    Software,
}

/// Which card backend `offload = auto|card` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OffloadDevice {
    /// No card: everything runs in software.
    None,
    /// The simulated card (needs the `sim` cargo feature).
    Sim,
    /// The driver's register-level model of the card (tests and demos).
    Model,
}

/// IPsec mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Whole inner IP packet protected, new outer header.
    Tunnel,
    /// Payload protected, original IP header kept.
    Transport,
}

pub use esp::Transform;

/// Parse a swanctl ESP proposal keyword (the first proposal of a list; a DH
/// group such as `-x25519` is for IKE rekeys and ignored by manual SAs).
pub fn transform_from_proposal(s: &str) -> Option<Transform> {
    let first = s.split(',').next().unwrap_or("").trim();
    let first = first
        .strip_suffix("-x25519")
        .or_else(|| first.strip_suffix("-ecp256"))
        .unwrap_or(first);
    match first {
        "aes128gcm16" | "aes128gcm128" | "aes128gcm" => Some(Transform::AesGcm128),
        "aes256gcm16" | "aes256gcm128" | "aes256gcm" => Some(Transform::AesGcm256),
        "aes128gmac" => Some(Transform::AesGmac128),
        "aes256gmac" => Some(Transform::AesGmac256),
        "aes128-sha256" => Some(Transform::AesCbc128HmacSha256),
        "aes256-sha256" => Some(Transform::AesCbc256HmacSha256),
        _ => None,
    }
}

/// The swanctl keyword of a transform.
pub fn proposal_name(t: Transform) -> &'static str {
    match t {
        Transform::AesGcm128 => "aes128gcm16",
        Transform::AesGcm256 => "aes256gcm16",
        Transform::AesGmac128 => "aes128gmac",
        Transform::AesGmac256 => "aes256gmac",
        Transform::AesCbc128HmacSha256 => "aes128-sha256",
        Transform::AesCbc256HmacSha256 => "aes256-sha256",
    }
}

/// An address prefix (traffic selector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    /// Network address (host bits cleared).
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl IpPrefix {
    /// A host prefix (/32 or /128).
    pub fn host(addr: IpAddr) -> Self {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        Self { addr, len }
    }

    /// Whether `a` lies inside this prefix.
    pub fn contains(&self, a: IpAddr) -> bool {
        match (self.addr, a) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.len))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.len))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpPrefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("'{a}' is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            Some(l) => l
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| {
                    format!("'{l}' is not a prefix length for {} (0..={max})", fam(addr))
                })?,
            None => max,
        };
        // clear host bits
        let addr = match addr {
            IpAddr::V4(v) => {
                let m = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
                IpAddr::V4((u32::from(v) & m).into())
            }
            IpAddr::V6(v) => {
                let m = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(len))
                };
                IpAddr::V6((u128::from(v) & m).into())
            }
        };
        Ok(Self { addr, len })
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

fn fam(a: IpAddr) -> &'static str {
    if a.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// Key material as the transform takes it (GCM/GMAC: AES key then 4-byte salt;
/// CBC: AES key then HMAC key). Zeroized on drop; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyMaterial(pub Zeroizing<Vec<u8>>);

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyMaterial(<{} bytes redacted>)", self.0.len())
    }
}

impl KeyMaterial {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// One direction of a manually keyed child SA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualSa {
    /// SPI.
    pub spi: u32,
    /// Key and salt.
    pub key: KeyMaterial,
}

/// Hard lifetimes of an SA (0 = unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Lifetime {
    /// Packets.
    pub packets: u64,
    /// Bytes of inner packets.
    pub bytes: u64,
}

/// `[daemon]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Instance name (names the control socket).
    pub name: String,
    /// Control socket path.
    pub control_socket: PathBuf,
    /// TUN device name.
    pub tun_name: String,
    /// Worker threads per direction (0 = one per available core).
    pub workers: u16,
    /// Optional Prometheus text endpoint.
    pub metrics: Option<SocketAddr>,
    /// Card backend for `offload = auto|card`.
    pub offload_device: OffloadDevice,
    /// Faults injected into the model card (`model_faults`, lab feature).
    pub model_faults: crate::card::FaultSchedule,
    /// How often a card fenced off after a fault is tried again (None: never).
    pub card_recover_interval: Option<Duration>,
    /// TUN MTU; by default the largest inner MTU of the connections.
    pub tun_mtu: Option<u16>,
    /// Where outbound sequence numbers are kept across restarts.
    pub state_dir: PathBuf,
    /// IKE: first retransmission timeout (doubled, roughly, each time).
    pub ike_retransmit_timeout: Duration,
    /// IKE: retransmissions before the peer is declared dead.
    pub ike_retransmit_tries: u32,
}

/// `[connections.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Name.
    pub name: String,
    /// Local outer address.
    pub local_addr: IpAddr,
    /// Remote outer address.
    pub remote_addr: IpAddr,
    /// ESP encapsulation.
    pub encap: Encap,
    /// Local UDP port (encap = udp).
    pub local_port: u16,
    /// Remote UDP port (encap = udp).
    pub remote_port: u16,
    /// Offload policy.
    pub offload: OffloadPolicy,
    /// Path MTU towards the peer.
    pub path_mtu: u16,
    /// Manually keyed children (empty for an IKE connection).
    pub children: Vec<Child>,
    /// IKEv2 settings and children, when the connection has a `psk` or a `cert`.
    pub ike: Option<IkeSettings>,
}

/// A pre-shared key. Zeroized on drop; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Zeroizing<Vec<u8>>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted>)")
    }
}

/// How an IKE connection authenticates (`auth = "psk" | "pubkey"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IkeAuth {
    /// A pre-shared key (`psk`).
    Psk(Secret),
    /// Certificates (`cert`, `key`, `cacerts`).
    Pubkey(PubkeyAuth),
}

impl IkeAuth {
    /// The keyword of the method: `psk` or `pubkey`.
    pub fn method(&self) -> &'static str {
        match self {
            IkeAuth::Psk(_) => "psk",
            IkeAuth::Pubkey(_) => "pubkey",
        }
    }
}

/// Certificate authentication as loaded from the files: our certificate, its
/// private key and the CAs trusted for the peer's certificate (ECDSA P-256). The
/// files were read and checked (parse, key type, key matches certificate) when the
/// configuration was loaded. The private key is zeroized on drop and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PubkeyAuth {
    /// Our certificate (path as resolved against the configuration's directory).
    pub cert: PathBuf,
    /// Our private key.
    pub key: PathBuf,
    /// Trusted CA certificates.
    pub cacerts: Vec<PathBuf>,
    cert_pem: String,
    key_pem: Zeroizing<String>,
    ca_pems: Vec<String>,
}

impl fmt::Debug for PubkeyAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PubkeyAuth")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("cacerts", &self.cacerts)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl PubkeyAuth {
    /// The engine's certificate authentication built from the loaded files.
    pub fn cert_auth(&self) -> Result<ikev2::CertAuth, ikev2::CertError> {
        let cas: Vec<&str> = self.ca_pems.iter().map(String::as_str).collect();
        ikev2::CertAuth::from_pem(&self.cert_pem, &self.key_pem, &cas)
    }
}

/// When an IKE connection is brought up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StartAction {
    /// Only on `ipsecctl initiate` (or when the peer initiates).
    None,
    /// When the daemon starts or the connection is loaded.
    Start,
    /// When traffic for the connection's selectors shows up.
    Trap,
}

/// What happens when the peer of an IKE SA is found dead (DPD or retransmissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DpdAction {
    /// Remove the SAs (the connection waits for a command, traffic or the peer).
    Clear,
    /// Remove the SAs and initiate again (and again, a second apart, until it works).
    Restart,
}

/// The IKEv2 part of a connection (swanctl: `local`/`remote` ids, `proposals`,
/// `rekey_time`, `dpd_delay`, the secret, and children whose keys are negotiated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeSettings {
    /// Our identity (`ikev2::Identity::parse` syntax).
    pub local_id: String,
    /// The peer's identity (`%any` accepts any).
    pub remote_id: String,
    /// Authentication: pre-shared key or certificates.
    pub auth: IkeAuth,
    /// IKE proposals, e.g. `aes256gcm16-prfsha256-x25519`, in order of preference.
    pub proposals: Vec<String>,
    /// IKE SA rekey interval.
    pub rekey_time: Option<Duration>,
    /// IKE SA hard lifetime.
    pub life_time: Option<Duration>,
    /// Liveness check after this long without a message from the peer.
    pub dpd_delay: Option<Duration>,
    /// When the connection is initiated.
    pub start_action: StartAction,
    /// What a dead peer leads to.
    pub dpd_action: DpdAction,
    /// Children.
    pub children: Vec<IkeChild>,
}

/// A child of an IKE connection: selectors and proposals; keys come from IKE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeChild {
    /// Name.
    pub name: String,
    /// Local traffic selectors.
    pub local_ts: Vec<IpPrefix>,
    /// Remote traffic selectors.
    pub remote_ts: Vec<IpPrefix>,
    /// Mode.
    pub mode: Mode,
    /// ESP proposals in order of preference (`aes128gcm16`, `aes256gcm16-x25519`, ...).
    pub esp_proposals: Vec<String>,
    /// CHILD_SA rekey interval.
    pub rekey_time: Option<Duration>,
    /// CHILD_SA hard lifetime.
    pub life_time: Option<Duration>,
    /// Anti-replay window (packets).
    pub replay_window: u32,
}

/// `[connections.NAME.children.CHILD]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// Name.
    pub name: String,
    /// Local traffic selectors.
    pub local_ts: Vec<IpPrefix>,
    /// Remote traffic selectors.
    pub remote_ts: Vec<IpPrefix>,
    /// Mode.
    pub mode: Mode,
    /// Transform.
    pub transform: Transform,
    /// Anti-replay window (packets).
    pub replay_window: u32,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Inbound SA.
    pub inbound: ManualSa,
    /// Outbound SA.
    pub outbound: ManualSa,
    /// Hard lifetime.
    pub lifetime: Lifetime,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it came from.
    pub file: PathBuf,
    /// `[daemon]`.
    pub daemon: DaemonConfig,
    /// Connections in name order.
    pub connections: Vec<Connection>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    daemon: RawDaemon,
    #[serde(default)]
    connections: BTreeMap<String, Spanned<RawConnection>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    name: Option<Spanned<String>>,
    control_socket: Option<String>,
    tun_name: Option<Spanned<String>>,
    workers: Option<Spanned<u16>>,
    metrics: Option<Spanned<String>>,
    offload_device: Option<OffloadDevice>,
    model_faults: Option<Spanned<Vec<String>>>,
    card_recover_interval: Option<Spanned<DurationValue>>,
    tun_mtu: Option<Spanned<u16>>,
    state_dir: Option<String>,
    ike_retransmit_timeout: Option<Spanned<DurationValue>>,
    ike_retransmit_tries: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    local_addrs: Spanned<Vec<Spanned<String>>>,
    remote_addrs: Spanned<Vec<Spanned<String>>>,
    encap: Option<Encap>,
    local_port: Option<u16>,
    remote_port: Option<u16>,
    offload: Option<OffloadPolicy>,
    path_mtu: Option<Spanned<u16>>,
    local_id: Option<Spanned<String>>,
    remote_id: Option<Spanned<String>>,
    auth: Option<Spanned<String>>,
    psk: Option<Spanned<String>>,
    cert: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    cacerts: Option<Spanned<Vec<Spanned<String>>>>,
    proposals: Option<Spanned<String>>,
    rekey_time: Option<Spanned<DurationValue>>,
    life_time: Option<Spanned<DurationValue>>,
    dpd_delay: Option<Spanned<DurationValue>>,
    start_action: Option<StartAction>,
    dpd_action: Option<DpdAction>,
    #[serde(default)]
    children: BTreeMap<String, Spanned<RawChild>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChild {
    #[serde(default)]
    local_ts: Vec<Spanned<String>>,
    #[serde(default)]
    remote_ts: Vec<Spanned<String>>,
    mode: Option<Mode>,
    esp_proposals: Option<Spanned<String>>,
    replay_window: Option<Spanned<u32>>,
    esn: Option<bool>,
    in_spi: Option<Spanned<SpiValue>>,
    out_spi: Option<Spanned<SpiValue>>,
    in_key: Option<Spanned<String>>,
    out_key: Option<Spanned<String>>,
    life_packets: Option<u64>,
    life_bytes: Option<u64>,
    rekey_time: Option<Spanned<DurationValue>>,
    life_time: Option<Spanned<DurationValue>>,
}

/// A time: seconds as a number, or text with a unit (`90s`, `10m`, `4h`, `1d`).
#[derive(Deserialize)]
#[serde(untagged)]
enum DurationValue {
    Int(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SpiValue {
    Int(i64),
    Text(String),
}

struct Ctx<'a> {
    file: &'a Path,
    src: &'a str,
}

impl Ctx<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.src.len());
        self.src.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }
    fn err(&self, span: Range<usize>, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            line: self.line(span),
            reason: reason.into(),
        }
    }
}

impl Config {
    /// Read and validate a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &src)
    }

    /// Validate configuration text; `file` is used in error messages.
    pub fn parse(file: &Path, src: &str) -> Result<Self, ConfigError> {
        let ctx = Ctx { file, src };
        let raw: RawFile = toml::from_str(src).map_err(|e| {
            let line = e.span().map(|s| ctx.line(s)).unwrap_or(0);
            ConfigError::Invalid {
                file: file.to_path_buf(),
                line,
                reason: e.message().to_string(),
            }
        })?;
        let daemon = daemon(&ctx, raw.daemon)?;
        let mut connections = Vec::new();
        let mut spis_in = HashSet::new();
        let mut spis_out = HashSet::new();
        for (name, c) in raw.connections {
            let span = c.span();
            let conn = connection(&ctx, name, c.into_inner(), span)?;
            for ch in &conn.children {
                if !spis_in.insert(ch.inbound.spi) {
                    return Err(
                        ctx.err(0..0, format!("in_spi {:#010x} used twice", ch.inbound.spi))
                    );
                }
                if !spis_out.insert((conn.remote_addr, ch.outbound.spi)) {
                    return Err(ctx.err(
                        0..0,
                        format!("out_spi {:#010x} used twice", ch.outbound.spi),
                    ));
                }
            }
            connections.push(conn);
        }
        Ok(Config {
            file: file.to_path_buf(),
            daemon,
            connections,
        })
    }
}

fn daemon(ctx: &Ctx<'_>, d: RawDaemon) -> Result<DaemonConfig, ConfigError> {
    let name = match d.name {
        Some(n) => {
            let span = n.span();
            let n = n.into_inner();
            if n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ctx.err(
                    span,
                    format!("name '{n}' must be letters, digits, '-' or '_'"),
                ));
            }
            n
        }
        None => defaults::INSTANCE_NAME.to_string(),
    };
    let tun_name = match d.tun_name {
        Some(t) => {
            let span = t.span();
            let t = t.into_inner();
            if t.is_empty() || t.len() > 15 || t.contains(['/', ' ']) {
                return Err(ctx.err(
                    span,
                    format!("tun_name '{t}' is not a valid interface name (1-15 chars)"),
                ));
            }
            t
        }
        None => defaults::TUN_NAME.to_string(),
    };
    let workers = match d.workers {
        Some(w) if *w.get_ref() == 0 || *w.get_ref() > 64 => {
            return Err(ctx.err(w.span(), "workers must be 1..=64"))
        }
        Some(w) => w.into_inner(),
        None => 0,
    };
    let offload_device = d.offload_device.unwrap_or(OffloadDevice::None);
    let model_faults = match d.model_faults {
        Some(f) if offload_device != OffloadDevice::Model => {
            return Err(ctx.err(f.span(), "model_faults needs offload_device = \"model\""))
        }
        Some(f) => {
            let span = f.span();
            crate::card::FaultSchedule::parse(f.get_ref()).map_err(|e| ctx.err(span, e))?
        }
        None => crate::card::FaultSchedule::default(),
    };
    let metrics = match d.metrics {
        Some(m) => {
            let span = m.span();
            let a: SocketAddr = m.get_ref().parse().map_err(|_| {
                ctx.err(
                    span.clone(),
                    format!("metrics '{}' is not ADDRESS:PORT", m.get_ref()),
                )
            })?;
            if !a.ip().is_loopback() {
                return Err(ctx.err(span, "metrics must listen on a loopback address"));
            }
            Some(a)
        }
        None => None,
    };
    let tun_mtu = match d.tun_mtu {
        Some(m) if !(576..=9000).contains(m.get_ref()) => {
            return Err(ctx.err(m.span(), "tun_mtu must be 576..=9000"))
        }
        Some(m) => Some(m.into_inner()),
        None => None,
    };
    // "0s" turns recovery off (a fenced card stays fenced until a restart)
    let card_recover_interval = match d.card_recover_interval {
        None => Some(defaults::CARD_RECOVER_INTERVAL),
        v => duration(ctx, "card_recover_interval", v)?,
    };
    let ike_retransmit_timeout = duration(ctx, "ike_retransmit_timeout", d.ike_retransmit_timeout)?
        .unwrap_or(defaults::IKE_RETRANSMIT_TIMEOUT);
    let ike_retransmit_tries = match d.ike_retransmit_tries {
        Some(t) if !(1..=20).contains(t.get_ref()) => {
            return Err(ctx.err(t.span(), "ike_retransmit_tries must be 1..=20"))
        }
        Some(t) => t.into_inner(),
        None => defaults::IKE_RETRANSMIT_TRIES,
    };
    Ok(DaemonConfig {
        ike_retransmit_timeout,
        ike_retransmit_tries,
        control_socket: d
            .control_socket
            .map(PathBuf::from)
            .unwrap_or_else(|| defaults::control_socket(&name).into()),
        name,
        tun_name,
        workers,
        metrics,
        offload_device,
        model_faults,
        card_recover_interval,
        tun_mtu,
        state_dir: d
            .state_dir
            .map(PathBuf::from)
            .unwrap_or_else(|| defaults::STATE_DIR.into()),
    })
}

fn addr(
    ctx: &Ctx<'_>,
    what: &str,
    list: Spanned<Vec<Spanned<String>>>,
) -> Result<IpAddr, ConfigError> {
    let span = list.span();
    let list = list.into_inner();
    let Some(first) = list.into_iter().next() else {
        return Err(ctx.err(span, format!("{what} is empty")));
    };
    first.get_ref().parse().map_err(|_| {
        ctx.err(
            first.span(),
            format!("{what}: '{}' is not an IP address", first.get_ref()),
        )
    })
}

fn connection(
    ctx: &Ctx<'_>,
    name: String,
    mut c: RawConnection,
    span: Range<usize>,
) -> Result<Connection, ConfigError> {
    let local_addr = addr(ctx, "local_addrs", c.local_addrs.clone())?;
    let remote_addr = addr(ctx, "remote_addrs", c.remote_addrs.clone())?;
    if local_addr.is_ipv4() != remote_addr.is_ipv4() {
        return Err(ctx.err(
            span,
            format!("connection {name}: local and remote addresses are of different families"),
        ));
    }
    let path_mtu = match c.path_mtu.take() {
        Some(m) if !(576..=9000).contains(m.get_ref()) => {
            return Err(ctx.err(m.span(), "path_mtu must be 576..=9000"))
        }
        Some(m) => m.into_inner(),
        None => defaults::PATH_MTU,
    };
    if local_addr.is_ipv6() && path_mtu < 1280 {
        return Err(ctx.err(span, "path_mtu below 1280 with IPv6 outer addresses"));
    }
    let mut conn = Connection {
        name: name.clone(),
        local_addr,
        remote_addr,
        encap: c.encap.unwrap_or(Encap::Udp),
        local_port: c.local_port.unwrap_or(defaults::NATT_PORT),
        remote_port: c.remote_port.unwrap_or(defaults::NATT_PORT),
        offload: c.offload.unwrap_or(OffloadPolicy::Auto),
        path_mtu,
        children: Vec::new(),
        ike: None,
    };
    if c.children.is_empty() {
        return Err(ctx.err(span, format!("connection {name} has no children")));
    }
    if let Some(auth) = ike_auth(ctx, &name, &mut c, &span)? {
        let ike = ike_settings(ctx, &conn, auth, &mut c, span)?;
        conn.ike = Some(ike);
        return Ok(conn);
    }
    for (what, present) in [
        ("local_id", c.local_id.as_ref().map(Spanned::span)),
        ("remote_id", c.remote_id.as_ref().map(Spanned::span)),
        ("proposals", c.proposals.as_ref().map(Spanned::span)),
        ("rekey_time", c.rekey_time.as_ref().map(Spanned::span)),
        ("life_time", c.life_time.as_ref().map(Spanned::span)),
        ("dpd_delay", c.dpd_delay.as_ref().map(Spanned::span)),
    ] {
        if let Some(sp) = present {
            return Err(ctx.err(
                sp,
                format!("connection {name}: {what} is an IKE setting, but the connection has no psk or cert (manual keys)"),
            ));
        }
    }
    if c.start_action.is_some() || c.dpd_action.is_some() {
        return Err(ctx.err(
            span,
            format!("connection {name}: start_action and dpd_action are IKE settings, but the connection has no psk or cert (manual keys)"),
        ));
    }
    for (cname, ch) in c.children {
        let cspan = ch.span();
        conn.children
            .push(child(ctx, &conn, cname, ch.into_inner(), cspan)?);
    }
    Ok(conn)
}

/// Parses a time: a number of seconds or text with a unit (`s`, `m`, `h`, `d`).
fn duration(
    ctx: &Ctx<'_>,
    what: &str,
    v: Option<Spanned<DurationValue>>,
) -> Result<Option<Duration>, ConfigError> {
    let Some(v) = v else { return Ok(None) };
    let span = v.span();
    let bad = |t: &str| {
        ctx.err(
            span.clone(),
            format!("{what} '{t}' is not a time (seconds, or a number with s, m, h or d)"),
        )
    };
    let secs = match v.into_inner() {
        DurationValue::Int(i) => u64::try_from(i).map_err(|_| bad(&i.to_string()))?,
        DurationValue::Text(t) => {
            let tt = t.trim();
            let (num, mult) = match tt.chars().last() {
                Some('s') => (&tt[..tt.len() - 1], 1),
                Some('m') => (&tt[..tt.len() - 1], 60),
                Some('h') => (&tt[..tt.len() - 1], 3600),
                Some('d') => (&tt[..tt.len() - 1], 86400),
                _ => (tt, 1),
            };
            num.trim()
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(mult))
                .ok_or_else(|| bad(&t))?
        }
    };
    if secs == 0 {
        // swanctl: 0 turns the timer off
        return Ok(None);
    }
    Ok(Some(Duration::from_secs(secs)))
}

/// Splits a swanctl proposal list (`a, b`) and checks each with `parse`.
fn proposal_list(
    ctx: &Ctx<'_>,
    what: &str,
    v: &Spanned<String>,
    parse: impl Fn(&str) -> Result<(), String>,
) -> Result<Vec<String>, ConfigError> {
    let list: Vec<String> = v
        .get_ref()
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if list.is_empty() {
        return Err(ctx.err(v.span(), format!("{what} is empty")));
    }
    for p in &list {
        parse(p).map_err(|e| ctx.err(v.span(), format!("{what}: {e}")))?;
    }
    Ok(list)
}

/// The authentication of an IKE connection, or `None` for a manually keyed one.
///
/// `auth` is optional: a `psk` makes a PSK connection, `cert`/`key`/`cacerts` a
/// certificate one; a written `auth` must agree with the keys present, and the two
/// kinds never mix. Certificate files are read and checked here, so a bad file is a
/// configuration error at load time.
fn ike_auth(
    ctx: &Ctx<'_>,
    name: &str,
    c: &mut RawConnection,
    span: &Range<usize>,
) -> Result<Option<IkeAuth>, ConfigError> {
    let psk = c.psk.take();
    let cert = c.cert.take();
    let key = c.key.take();
    let cacerts = c.cacerts.take();
    let pubkey_span = cert
        .as_ref()
        .map(Spanned::span)
        .or_else(|| key.as_ref().map(Spanned::span))
        .or_else(|| cacerts.as_ref().map(Spanned::span));
    let method = match c.auth.take() {
        Some(a) => match a.get_ref().as_str() {
            "psk" => Some(("psk", a.span())),
            "pubkey" => Some(("pubkey", a.span())),
            other => {
                return Err(ctx.err(
                    a.span(),
                    format!("connection {name}: auth '{other}' unknown (psk | pubkey)"),
                ))
            }
        },
        None => None,
    };
    if let (Some(p), Some(sp)) = (&psk, &pubkey_span) {
        let at = if p.span().start > sp.start {
            p.span()
        } else {
            sp.clone()
        };
        return Err(ctx.err(
            at,
            format!("connection {name}: psk mixed with cert/key/cacerts; use either auth = \"psk\" with a psk or auth = \"pubkey\" with cert, key and cacerts"),
        ));
    }
    match method {
        Some(("psk", asp)) if psk.is_none() => {
            return Err(ctx.err(
                pubkey_span.clone().unwrap_or(asp),
                format!(
                    "connection {name}: auth = \"psk\" needs a psk (and no cert, key or cacerts)"
                ),
            ))
        }
        Some(("pubkey", asp)) if pubkey_span.is_none() => {
            return Err(ctx.err(
                psk.as_ref().map(Spanned::span).unwrap_or(asp),
                format!(
                    "connection {name}: auth = \"pubkey\" needs cert, key and cacerts (and no psk)"
                ),
            ))
        }
        _ => {}
    }
    if let Some(psk) = psk {
        let psk_span = psk.span();
        let psk = Zeroizing::new(psk.into_inner().into_bytes());
        if psk.len() < 8 {
            return Err(ctx.err(
                psk_span,
                format!("connection {name}: psk shorter than 8 bytes"),
            ));
        }
        return Ok(Some(IkeAuth::Psk(Secret(psk))));
    }
    if pubkey_span.is_none() {
        return Ok(None);
    }
    let (Some(cert), Some(key), Some(cacerts)) = (cert, key, cacerts) else {
        return Err(ctx.err(
            span.clone(),
            format!("connection {name}: certificate authentication needs cert, key and cacerts"),
        ));
    };
    if cacerts.get_ref().is_empty() {
        return Err(ctx.err(
            cacerts.span(),
            format!(
                "connection {name}: cacerts is empty (the CAs that issue the peer's certificate)"
            ),
        ));
    }
    let dir = ctx.file.parent().unwrap_or(Path::new(""));
    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            dir.join(p)
        }
    };
    let read =
        |what: &str, v: &Spanned<String>| -> Result<(PathBuf, Zeroizing<String>), ConfigError> {
            let path = resolve(v.get_ref());
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ctx.err(
                    v.span(),
                    format!(
                        "connection {name}: {what} {}: cannot read: {e}",
                        path.display()
                    ),
                )
            })?;
            Ok((path, Zeroizing::new(text)))
        };
    let (cert_path, cert_pem) = read("cert", &cert)?;
    let (key_path, key_pem) = read("key", &key)?;
    let mut ca_paths = Vec::new();
    let mut ca_pems = Vec::new();
    for ca in cacerts.get_ref() {
        let (p, t) = read("cacerts", ca)?;
        ca_paths.push(p);
        ca_pems.push(t.to_string());
    }
    let auth = PubkeyAuth {
        cert: cert_path,
        key: key_path,
        cacerts: ca_paths,
        cert_pem: cert_pem.to_string(),
        key_pem,
        ca_pems,
    };
    if let Err(e) = auth.cert_auth() {
        // point at the file the engine refused
        let (sp, file) = match &e {
            ikev2::CertError::BadCertificate { what, .. }
            | ikev2::CertError::UnsupportedKey(what) => {
                match what
                    .strip_prefix("CA certificate ")
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| {
                        cacerts
                            .get_ref()
                            .get(n.wrapping_sub(1))
                            .zip(auth.cacerts.get(n.wrapping_sub(1)))
                    }) {
                    Some((v, p)) => (v.span(), p.clone()),
                    None => (cert.span(), auth.cert.clone()),
                }
            }
            ikev2::CertError::BadKey(_) | ikev2::CertError::KeyMismatch => {
                (key.span(), auth.key.clone())
            }
            ikev2::CertError::UnknownConnection(_) => (span.clone(), ctx.file.to_path_buf()),
        };
        return Err(ctx.err(sp, format!("connection {name}: {}: {e}", file.display())));
    }
    Ok(Some(IkeAuth::Pubkey(auth)))
}

fn ike_settings(
    ctx: &Ctx<'_>,
    conn: &Connection,
    auth: IkeAuth,
    c: &mut RawConnection,
    span: Range<usize>,
) -> Result<IkeSettings, ConfigError> {
    let name = &conn.name;
    let id = |what: &str, v: Option<Spanned<String>>, default: String| match v {
        Some(v) => ikev2::Identity::parse(v.get_ref())
            .map(|_| v.get_ref().clone())
            .map_err(|e| ctx.err(v.span(), format!("{what}: {e}"))),
        None => Ok(default),
    };
    let local_id = id("local_id", c.local_id.take(), conn.local_addr.to_string())?;
    let remote_id = id(
        "remote_id",
        c.remote_id.take(),
        conn.remote_addr.to_string(),
    )?;
    if local_id == "%any" {
        return Err(ctx.err(span.clone(), "local_id cannot be %any"));
    }
    let proposals = match &c.proposals {
        Some(p) => proposal_list(ctx, "proposals", p, |x| {
            ikev2::IkeProposal::parse(x)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })?,
        None => vec![defaults::IKE_PROPOSAL.to_string()],
    };
    let mut children = Vec::new();
    for (cname, ch) in std::mem::take(&mut c.children) {
        let cspan = ch.span();
        let ch = ch.into_inner();
        for (what, sp) in [
            ("in_spi", ch.in_spi.as_ref().map(Spanned::span)),
            ("out_spi", ch.out_spi.as_ref().map(Spanned::span)),
            ("in_key", ch.in_key.as_ref().map(Spanned::span)),
            ("out_key", ch.out_key.as_ref().map(Spanned::span)),
        ] {
            if let Some(sp) = sp {
                return Err(ctx.err(
                    sp,
                    format!("child {cname}: {what} given, but keys of an IKE connection (psk or cert) are negotiated by IKE"),
                ));
            }
        }
        let mode = ch.mode.unwrap_or(Mode::Tunnel);
        if mode == Mode::Transport && c.start_action == Some(StartAction::Trap) {
            return Err(ctx.err(
                cspan,
                format!("child {cname}: start_action = trap needs tunnel mode"),
            ));
        }
        let (local_ts, remote_ts) =
            child_selectors(ctx, conn, &cname, mode, (ch.local_ts, ch.remote_ts), &cspan)?;
        let esp_proposals = match &ch.esp_proposals {
            Some(p) => proposal_list(ctx, "esp_proposals", p, |x| {
                ikev2::EspProposal::parse(x)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })?,
            None => vec![defaults::ESP_PROPOSAL.to_string()],
        };
        let replay_window = match ch.replay_window {
            Some(w) if *w.get_ref() > defaults::MAX_REPLAY_WINDOW => {
                return Err(ctx.err(
                    w.span(),
                    format!("replay_window above {}", defaults::MAX_REPLAY_WINDOW),
                ))
            }
            Some(w) => w.into_inner(),
            None => defaults::REPLAY_WINDOW,
        };
        let rekey_time = duration(ctx, "rekey_time", ch.rekey_time)?;
        let life_time = duration(ctx, "life_time", ch.life_time)?;
        if let (Some(r), Some(l)) = (rekey_time, life_time) {
            if l <= r {
                return Err(ctx.err(
                    cspan,
                    format!("child {cname}: life_time must be longer than rekey_time"),
                ));
            }
        }
        children.push(IkeChild {
            name: cname,
            local_ts,
            remote_ts,
            mode,
            esp_proposals,
            rekey_time,
            life_time,
            replay_window,
        });
    }
    let rekey_time = duration(ctx, "rekey_time", c.rekey_time.take())?;
    let life_time = duration(ctx, "life_time", c.life_time.take())?;
    if let (Some(r), Some(l)) = (rekey_time, life_time) {
        if l <= r {
            return Err(ctx.err(
                span,
                format!("connection {name}: life_time must be longer than rekey_time"),
            ));
        }
    }
    Ok(IkeSettings {
        local_id,
        remote_id,
        auth,
        proposals,
        rekey_time,
        life_time,
        dpd_delay: duration(ctx, "dpd_delay", c.dpd_delay.take())?,
        start_action: c.start_action.unwrap_or(StartAction::None),
        dpd_action: c.dpd_action.unwrap_or(DpdAction::Clear),
        children,
    })
}

fn selectors(
    ctx: &Ctx<'_>,
    what: &str,
    list: Vec<Spanned<String>>,
) -> Result<Vec<IpPrefix>, ConfigError> {
    list.into_iter()
        .map(|s| {
            s.get_ref()
                .parse::<IpPrefix>()
                .map_err(|e| ctx.err(s.span(), format!("{what}: {e}")))
        })
        .collect()
}

fn spi(
    ctx: &Ctx<'_>,
    what: &str,
    span: Range<usize>,
    v: Option<Spanned<SpiValue>>,
) -> Result<u32, ConfigError> {
    let Some(v) = v else {
        return Err(ctx.err(
            span,
            format!("{what} missing (manually keyed SAs need in_spi, out_spi, in_key, out_key)"),
        ));
    };
    let s = v.span();
    let n: Option<u64> = match v.into_inner() {
        SpiValue::Int(i) => u64::try_from(i).ok(),
        SpiValue::Text(t) => {
            let t = t.trim();
            match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => t.parse().ok(),
            }
        }
    };
    match n.and_then(|n| u32::try_from(n).ok()) {
        Some(n) if n >= 256 => Ok(n),
        _ => Err(ctx.err(
            s,
            format!("{what} must be a 32-bit number >= 256 (RFC 4303: 1-255 are reserved)"),
        )),
    }
}

fn key(
    ctx: &Ctx<'_>,
    what: &str,
    span: Range<usize>,
    t: Transform,
    v: Option<Spanned<String>>,
) -> Result<KeyMaterial, ConfigError> {
    let Some(v) = v else {
        return Err(ctx.err(span, format!("{what} missing (hex: key then 4-byte salt)")));
    };
    let s = v.span();
    let text = Zeroizing::new(v.into_inner());
    let h = text.trim();
    let h = h.strip_prefix("0x").unwrap_or(h);
    let bytes = Zeroizing::new(
        hex::decode(h).map_err(|_| ctx.err(s.clone(), format!("{what} is not hex")))?,
    );
    let want = t.key_material_len();
    if bytes.len() != want {
        return Err(ctx.err(
            s,
            format!(
                "{what} has {} bytes; {} needs {want}",
                bytes.len(),
                proposal_name(t)
            ),
        ));
    }
    Ok(KeyMaterial(bytes))
}

/// A child's traffic selectors, checked: transport mode defaults to (and must
/// cover) the connection's own addresses, tunnel mode needs both lists, and one
/// address family throughout.
fn child_selectors(
    ctx: &Ctx<'_>,
    conn: &Connection,
    name: &str,
    mode: Mode,
    (local, remote): (Vec<Spanned<String>>, Vec<Spanned<String>>),
    span: &Range<usize>,
) -> Result<(Vec<IpPrefix>, Vec<IpPrefix>), ConfigError> {
    let mut local_ts = selectors(ctx, "local_ts", local)?;
    let mut remote_ts = selectors(ctx, "remote_ts", remote)?;
    match mode {
        Mode::Transport => {
            if local_ts.is_empty() {
                local_ts.push(IpPrefix::host(conn.local_addr));
            }
            if remote_ts.is_empty() {
                remote_ts.push(IpPrefix::host(conn.remote_addr));
            }
            if !local_ts.iter().all(|p| p.contains(conn.local_addr))
                || !remote_ts.iter().all(|p| p.contains(conn.remote_addr))
            {
                return Err(ctx.err(span.clone(), format!("child {name}: transport mode selectors must cover the connection's own addresses")));
            }
        }
        Mode::Tunnel => {
            if local_ts.is_empty() || remote_ts.is_empty() {
                return Err(ctx.err(
                    span.clone(),
                    format!("child {name}: tunnel mode needs local_ts and remote_ts"),
                ));
            }
        }
    }
    let v4 = local_ts[0].addr.is_ipv4();
    if local_ts
        .iter()
        .chain(&remote_ts)
        .any(|p| p.addr.is_ipv4() != v4)
    {
        return Err(ctx.err(
            span.clone(),
            format!("child {name}: local_ts and remote_ts mix IPv4 and IPv6"),
        ));
    }
    Ok((local_ts, remote_ts))
}

fn child(
    ctx: &Ctx<'_>,
    conn: &Connection,
    name: String,
    c: RawChild,
    span: Range<usize>,
) -> Result<Child, ConfigError> {
    let mode = c.mode.unwrap_or(Mode::Tunnel);
    let (local_ts, remote_ts) =
        child_selectors(ctx, conn, &name, mode, (c.local_ts, c.remote_ts), &span)?;
    let transform = match c.esp_proposals {
        Some(p) => transform_from_proposal(p.get_ref()).ok_or_else(|| {
            ctx.err(
                p.span(),
                format!(
                    "esp_proposals '{}' unknown (aes128gcm16, aes256gcm16, aes128gmac, aes256gmac, aes128-sha256, aes256-sha256)",
                    p.get_ref()
                ),
            )
        })?,
        None => Transform::AesGcm128,
    };
    let replay_window = match c.replay_window {
        Some(w) if *w.get_ref() > defaults::MAX_REPLAY_WINDOW => {
            return Err(ctx.err(
                w.span(),
                format!("replay_window above {}", defaults::MAX_REPLAY_WINDOW),
            ))
        }
        Some(w) => w.into_inner(),
        None => defaults::REPLAY_WINDOW,
    };
    Ok(Child {
        inbound: ManualSa {
            spi: spi(ctx, "in_spi", span.clone(), c.in_spi)?,
            key: key(ctx, "in_key", span.clone(), transform, c.in_key)?,
        },
        outbound: ManualSa {
            spi: spi(ctx, "out_spi", span.clone(), c.out_spi)?,
            key: key(ctx, "out_key", span, transform, c.out_key)?,
        },
        name,
        local_ts,
        remote_ts,
        mode,
        transform,
        replay_window,
        esn: c.esn.unwrap_or(false),
        lifetime: Lifetime {
            packets: c.life_packets.unwrap_or(0),
            bytes: c.life_bytes.unwrap_or(0),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY20: &str = "0102030405060708090a0b0c0d0e0f1011121314";

    fn good() -> String {
        format!(
            r#"
[daemon]
name = "a"

[connections.b]
local_addrs = ["192.168.77.1"]
remote_addrs = ["192.168.77.2"]

[connections.b.children.net]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
in_spi = "0x1001"
out_spi = 4098
in_key = "{KEY20}"
out_key = "{KEY20}"
"#
        )
    }

    /// (line, reason) of a configuration that must be refused.
    pub(super) fn err_of(src: &str) -> (usize, String) {
        match Config::parse(Path::new("x.toml"), src) {
            Err(ConfigError::Invalid { line, reason, .. }) => (line, reason),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn good_config_has_defaults() {
        let c = Config::parse(Path::new("x.toml"), &good()).unwrap();
        assert_eq!(c.daemon.control_socket, PathBuf::from("/run/ipsecd/a.sock"));
        let conn = &c.connections[0];
        assert_eq!(conn.encap, Encap::Udp);
        assert_eq!(conn.offload, OffloadPolicy::Auto);
        assert_eq!(conn.remote_port, 4500);
        let ch = &conn.children[0];
        assert_eq!(ch.inbound.spi, 0x1001);
        assert_eq!(ch.outbound.spi, 4098);
        assert_eq!(ch.mode, Mode::Tunnel);
        assert_eq!(ch.transform, Transform::AesGcm128);
        assert_eq!(ch.replay_window, 1024);
        assert_eq!(ch.inbound.key.as_bytes().len(), 20);
        assert!(ch.remote_ts[0].contains("10.2.0.77".parse().unwrap()));
        assert!(!ch.remote_ts[0].contains("10.3.0.1".parse().unwrap()));
    }

    #[test]
    fn card_recover_interval_default_off_and_bad() {
        let c = Config::parse(Path::new("x.toml"), &good()).unwrap();
        assert_eq!(
            c.daemon.card_recover_interval,
            Some(defaults::CARD_RECOVER_INTERVAL)
        );
        let with = |v: &str| {
            good().replace(
                "name = \"a\"\n",
                &format!("name = \"a\"\ncard_recover_interval = {v}\n"),
            )
        };
        let c = Config::parse(Path::new("x.toml"), &with("\"0s\"")).unwrap();
        assert_eq!(c.daemon.card_recover_interval, None);
        let c = Config::parse(Path::new("x.toml"), &with("\"2m\"")).unwrap();
        assert_eq!(
            c.daemon.card_recover_interval,
            Some(Duration::from_secs(120))
        );
        let (line, reason) = err_of(&with("\"soon\""));
        assert_eq!(line, 4);
        assert!(reason.contains("card_recover_interval"), "{reason}");
    }

    #[test]
    fn bad_prefix_names_line() {
        let src = good().replace("10.2.0.0/24", "10.2.0.0/33");
        let (line, reason) = err_of(&src);
        assert_eq!(line, 11);
        assert!(reason.contains("prefix length"), "{reason}");
    }

    #[test]
    fn unknown_mode_names_line() {
        let src = good().replace(
            "remote_ts = [\"10.2.0.0/24\"]",
            "remote_ts = [\"10.2.0.0/24\"]\nmode = \"tunel\"",
        );
        let (line, reason) = err_of(&src);
        assert_eq!(line, 12);
        assert!(reason.contains("tunel"), "{reason}");
    }

    #[test]
    fn short_key_names_line_and_length() {
        let src = good().replacen(&format!("in_key = \"{KEY20}\""), "in_key = \"0102\"", 1);
        let (line, reason) = err_of(&src);
        assert_eq!(line, 14);
        assert!(
            reason.contains("2 bytes") && reason.contains("20"),
            "{reason}"
        );
    }

    #[test]
    fn reserved_spi_refused() {
        let src = good().replace("out_spi = 4098", "out_spi = 7");
        let (line, reason) = err_of(&src);
        assert_eq!(line, 13);
        assert!(reason.contains("reserved"), "{reason}");
    }

    #[test]
    fn unknown_field_refused() {
        let src = good().replace("[daemon]", "[daemon]\ncolour = 1");
        let (line, reason) = err_of(&src);
        assert_eq!(line, 3);
        assert!(reason.contains("colour"), "{reason}");
    }

    #[test]
    fn transport_defaults_to_host_selectors() {
        let src = good().replace(
            "local_ts = [\"10.1.0.0/24\"]\nremote_ts = [\"10.2.0.0/24\"]",
            "mode = \"transport\"",
        );
        let c = Config::parse(Path::new("x.toml"), &src).unwrap();
        let ch = &c.connections[0].children[0];
        assert_eq!(
            ch.local_ts,
            vec![IpPrefix::host("192.168.77.1".parse().unwrap())]
        );
    }

    #[test]
    fn key_debug_is_redacted() {
        let c = Config::parse(Path::new("x.toml"), &good()).unwrap();
        let s = format!("{c:?}");
        assert!(!s.contains("0102030405"), "{s}");
        assert!(s.contains("redacted"));
    }
}

#[cfg(test)]
mod ike_tests {
    use super::tests::err_of;
    use super::*;

    const IKE: &str = r#"[daemon]
name = "a"

[connections.b]
local_addrs = ["192.168.77.1"]
remote_addrs = ["192.168.77.2"]
local_id = "alice.example"
remote_id = "bob.example"
psk = "a-secret-of-some-length"
proposals = "aes256gcm16-prfsha256-x25519, aes128-sha256-ecp256"
rekey_time = "4h"
dpd_delay = 30
start_action = "start"

[connections.b.children.net]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
esp_proposals = "aes128gcm16,aes256gcm16-x25519"
rekey_time = "10m"
life_time = "11m"
"#;

    #[test]
    fn ike_connection_parses() {
        let c = Config::parse(Path::new("x.toml"), IKE).unwrap();
        let conn = &c.connections[0];
        assert!(conn.children.is_empty());
        let ike = conn.ike.as_ref().unwrap();
        assert_eq!(ike.local_id, "alice.example");
        assert_eq!(ike.proposals.len(), 2);
        assert_eq!(ike.rekey_time, Some(Duration::from_secs(4 * 3600)));
        assert_eq!(ike.dpd_delay, Some(Duration::from_secs(30)));
        assert_eq!(ike.start_action, StartAction::Start);
        assert_eq!(ike.dpd_action, DpdAction::Clear);
        let c = Config::parse(
            Path::new("x.toml"),
            &IKE.replace("dpd_delay = 30", "dpd_delay = 30\ndpd_action = \"restart\""),
        )
        .unwrap();
        assert_eq!(
            c.connections[0].ike.as_ref().unwrap().dpd_action,
            DpdAction::Restart
        );
        match &ike.auth {
            IkeAuth::Psk(p) => assert_eq!(p.0.as_slice(), b"a-secret-of-some-length"),
            other => panic!("not a PSK: {other:?}"),
        }
        let ch = &ike.children[0];
        assert_eq!(ch.esp_proposals, vec!["aes128gcm16", "aes256gcm16-x25519"]);
        assert_eq!(ch.rekey_time, Some(Duration::from_secs(600)));
        assert_eq!(ch.life_time, Some(Duration::from_secs(660)));
        assert_eq!(c.daemon.ike_retransmit_tries, 5);
        // the secret never shows in Debug
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("a-secret-of"), "{dbg}");
    }

    #[test]
    fn ike_errors_name_line_and_reason() {
        let (line, r) = err_of(&IKE.replace("aes128-sha256-ecp256", "aes128-sha256-ecp999"));
        assert_eq!(line, 10);
        assert!(r.contains("ecp999"), "{r}");
        let (line, r) = err_of(&IKE.replace("\"aes128gcm16,", "\"aes128gcm17,"));
        assert_eq!(line, 18);
        assert!(r.contains("aes128gcm17"), "{r}");
        let (line, r) = err_of(&IKE.replace("\"10m\"", "\"10x\""));
        assert_eq!(line, 19);
        assert!(r.contains("not a time"), "{r}");
        let (line, r) = err_of(&IKE.replace("\"11m\"", "\"5m\""));
        assert_eq!(line, 15);
        assert!(r.contains("life_time must be longer"), "{r}");
        let (line, r) = err_of(&IKE.replace("\"start\"", "\"sometimes\""));
        assert_eq!(line, 13);
        assert!(r.contains("sometimes"), "{r}");
        let (line, r) = err_of(&IKE.replace("a-secret-of-some-length", "short"));
        assert_eq!(line, 9);
        assert!(r.contains("psk shorter"), "{r}");
        assert!(!r.contains("short\""), "{r}");
        let (line, r) =
            err_of(&IKE.replace("life_time = \"11m\"", "life_time = \"11m\"\nin_spi = 4096"));
        assert_eq!(line, 21);
        assert!(r.contains("negotiated by IKE"), "{r}");
        // an IKE setting on a manual connection
        let manual = IKE
            .replace("psk = \"a-secret-of-some-length\"\n", "")
            .replace("start_action = \"start\"\n", "");
        let (line, r) = err_of(&manual);
        assert_eq!(line, 7);
        assert!(r.contains("no psk"), "{r}");
    }
}

#[cfg(test)]
mod cert_tests {
    use super::*;

    // The fixture certificates of the ikev2 crate (made by
    // ikev2/interop/make-certs.sh), named relative to this crate's directory, where
    // the test's configuration "file" lives.
    const CERT: &str = r#"[daemon]
name = "a"

[connections.b]
local_addrs = ["192.168.77.1"]
remote_addrs = ["192.168.77.2"]
local_id = "alice.example"
remote_id = "bob.example"
cert = "../ikev2/tests/vectors/certs/alice.pem"
key = "../ikev2/tests/vectors/certs/alice.key"
cacerts = ["../ikev2/tests/vectors/certs/ca.pem"]

[connections.b.children.net]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
"#;

    fn file() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("x.toml")
    }

    fn parse(src: &str) -> Result<Config, ConfigError> {
        Config::parse(&file(), src)
    }

    fn err_of(src: &str) -> (usize, String) {
        match parse(src) {
            Err(ConfigError::Invalid {
                line,
                reason,
                file: f,
            }) => {
                assert_eq!(f, file());
                (line, reason)
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn certificate_connection_loads_with_paths_resolved() {
        let c = parse(CERT).unwrap();
        let ike = c.connections[0].ike.as_ref().unwrap();
        assert_eq!(ike.auth.method(), "pubkey");
        let IkeAuth::Pubkey(p) = &ike.auth else {
            panic!("not pubkey")
        };
        let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ikev2/tests/vectors/certs");
        assert_eq!(p.cert, certs.join("alice.pem"));
        assert_eq!(p.key, certs.join("alice.key"));
        assert_eq!(p.cacerts, vec![certs.join("ca.pem")]);
        assert!(p.cert_auth().is_ok());
        // an explicit auth that agrees is accepted
        let c2 = parse(&CERT.replace("cert = ", "auth = \"pubkey\"\ncert = ")).unwrap();
        assert_eq!(
            c2.connections[0].ike.as_ref().unwrap().auth.method(),
            "pubkey"
        );
        // the private key never shows in Debug
        let key = std::fs::read_to_string(certs.join("alice.key")).unwrap();
        let body = key.lines().nth(1).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(body), "{dbg}");
        assert!(dbg.contains("redacted"), "{dbg}");
    }

    #[test]
    fn absolute_paths_are_kept() {
        let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ikev2/tests/vectors/certs");
        let src = CERT.replace("../ikev2/tests/vectors/certs", &certs.display().to_string());
        let c = Config::parse(Path::new("/nowhere/x.toml"), &src).unwrap();
        let IkeAuth::Pubkey(p) = &c.connections[0].ike.as_ref().unwrap().auth else {
            panic!("not pubkey")
        };
        assert_eq!(p.cert, certs.join("alice.pem"));
    }

    #[test]
    fn unreadable_certificate_names_line_and_file() {
        let (line, r) = err_of(&CERT.replace("alice.pem", "missing.pem"));
        assert_eq!(line, 9);
        assert!(
            r.contains("missing.pem") && r.contains("cannot read"),
            "{r}"
        );
        let (line, r) = err_of(&CERT.replace("ca.pem", "no-ca.pem"));
        assert_eq!(line, 11);
        assert!(r.contains("no-ca.pem") && r.contains("cannot read"), "{r}");
    }

    #[test]
    fn invalid_certificate_is_refused() {
        // a private key where the certificate should be
        let (line, r) = err_of(&CERT.replace("alice.pem", "bob.key"));
        assert_eq!(line, 9);
        assert!(
            r.contains("bob.key") && r.contains("not an X.509 certificate"),
            "{r}"
        );
        // the same for the second of two CAs: the line of the list, the file named
        let (line, r) = err_of(&CERT.replace(
            "certs/ca.pem\"]",
            "certs/ca.pem\",\n  \"../ikev2/tests/vectors/certs/ca.key\"]",
        ));
        assert_eq!(line, 12);
        assert!(
            r.contains("ca.key") && r.contains("CA certificate 2"),
            "{r}"
        );
    }

    #[test]
    fn key_not_matching_the_certificate_is_refused() {
        let (line, r) = err_of(&CERT.replace("alice.key", "bob.key"));
        assert_eq!(line, 10);
        assert!(r.contains("bob.key") && r.contains("does not match"), "{r}");
        // something that is not a key at all
        let (line, r) = err_of(&CERT.replace("alice.key", "alice.pem"));
        assert_eq!(line, 10);
        assert!(r.contains("private key"), "{r}");
        assert!(!r.contains("BEGIN"), "{r}");
    }

    #[test]
    fn psk_and_certificates_do_not_mix() {
        let (line, r) =
            err_of(&CERT.replace("cert = ", "psk = \"a-secret-of-some-length\"\ncert = "));
        assert_eq!(line, 10);
        assert!(r.contains("psk mixed with cert"), "{r}");
        assert!(!r.contains("a-secret-of"), "{r}");
        let (line, r) = err_of(&CERT.replace("cert = ", "auth = \"psk\"\ncert = "));
        assert_eq!(line, 10);
        assert!(r.contains("auth = \"psk\" needs a psk"), "{r}");
        let psk = CERT
            .replace("cert = \"../ikev2/tests/vectors/certs/alice.pem\"\n", "")
            .replace("key = \"../ikev2/tests/vectors/certs/alice.key\"\n", "")
            .replace(
                "cacerts = [\"../ikev2/tests/vectors/certs/ca.pem\"]\n",
                "auth = \"pubkey\"\npsk = \"a-secret-of-some-length\"\n",
            );
        let (line, r) = err_of(&psk);
        assert_eq!(line, 10);
        assert!(r.contains("auth = \"pubkey\" needs cert"), "{r}");
        let (line, r) = err_of(&CERT.replace("cert = ", "auth = \"rsa\"\ncert = "));
        assert_eq!(line, 9);
        assert!(r.contains("'rsa' unknown"), "{r}");
    }

    #[test]
    fn incomplete_certificate_settings_are_refused() {
        let (line, r) =
            err_of(&CERT.replace("key = \"../ikev2/tests/vectors/certs/alice.key\"\n", ""));
        assert_eq!(line, 4);
        assert!(r.contains("needs cert, key and cacerts"), "{r}");
        let (line, r) = err_of(&CERT.replace("[\"../ikev2/tests/vectors/certs/ca.pem\"]", "[]"));
        assert_eq!(line, 11);
        assert!(r.contains("cacerts is empty"), "{r}");
    }
}
