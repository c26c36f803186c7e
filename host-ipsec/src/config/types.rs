//! The validated configuration: what the rest of the daemon reads. Built only by
//! [`Config::parse`](super::Config::parse) from the file's raw shape
//! ([`file`](super::file)); addresses, prefixes, transforms, modes, lifetimes and
//! keys are the `esp` crate's types, the offload policy is the driver's.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use driver::OffloadPolicy;
use esp::{IpPrefix, KeyMaterial, Lifetime, ModeKind, Transform};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::faults::FaultSchedule;

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

/// How ESP leaves the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encap {
    /// ESP in UDP, port 4500 (RFC 3948).
    Udp,
    /// Raw ESP, IP protocol 50.
    Raw,
}

/// Which card backend `offload = auto|card` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffloadDevice {
    /// No card: everything runs in software.
    None,
    /// The simulated card (needs the `sim` cargo feature).
    Sim,
    /// The driver's register-level model of the card (tests and demos).
    Model,
}

/// How many of the card's results the daemon checks in software (`verify`): each
/// checked result is recomputed with `esp` and a mismatch fences the card (its SAs
/// continue in software). Independent of this, every card result is checked for
/// its SPI, a sequence number that only goes up and IV = sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardVerify {
    /// `"all"`: every result.
    All,
    /// `"sample:N"`: one result in N (N >= 2).
    Sample(u32),
    /// `"off"`: none.
    Off,
}

impl CardVerify {
    /// The driver's `OffloadConfig::verify_every` (0 = never, 1 = every result).
    #[must_use]
    pub fn every(self) -> u32 {
        match self {
            CardVerify::All => 1,
            CardVerify::Sample(n) => n,
            CardVerify::Off => 0,
        }
    }

    /// Parses `all`, `off` or `sample:N` (N from 2 to 2^20).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(CardVerify::All),
            "off" => Ok(CardVerify::Off),
            _ => {
                let n = s
                    .strip_prefix("sample:")
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| (2..=1 << 20).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "verify '{s}' is not \"all\", \"off\" or \"sample:N\" with N from 2 to 1048576"
                        )
                    })?;
                Ok(CardVerify::Sample(n))
            }
        }
    }
}

impl fmt::Display for CardVerify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardVerify::All => f.write_str("all"),
            CardVerify::Sample(n) => write!(f, "sample:{n}"),
            CardVerify::Off => f.write_str("off"),
        }
    }
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
    pub model_faults: FaultSchedule,
    /// How many card results are checked in software (`verify`).
    pub verify: CardVerify,
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
    /// IKE: the limits that bound what unauthenticated peers can take.
    pub ike_limits: IkeLimits,
}

/// `[daemon]` `ike_*` limits (RFC 7296 2.6 and section 5); the defaults are the
/// `ikev2` engine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IkeLimits {
    /// Hard cap on half-open IKE SAs (`ike_half_open_limit`).
    pub half_open_limit: usize,
    /// Half-open IKE SAs per source address (`ike_half_open_per_source`).
    pub half_open_per_source: usize,
    /// Half-open IKE SAs from which on cookies are demanded (`ike_cookie_threshold`).
    pub cookie_threshold: usize,
    /// How long one cookie secret is used (`ike_cookie_secret_lifetime`).
    pub cookie_secret_lifetime: Duration,
    /// CHILD_SAs per IKE SA (`ike_max_child_sas`).
    pub max_child_sas: usize,
}

impl Default for IkeLimits {
    fn default() -> Self {
        let e = ikev2::EngineConfig::default();
        IkeLimits {
            half_open_limit: e.half_open_limit,
            half_open_per_source: e.half_open_per_source,
            cookie_threshold: e.cookie_threshold,
            cookie_secret_lifetime: e.cookie_secret_lifetime,
            max_child_sas: e.max_child_sas,
        }
    }
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

/// `[connections.NAME.children.CHILD]` of a manually keyed connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// Name.
    pub name: String,
    /// Local traffic selectors.
    pub local_ts: Vec<IpPrefix>,
    /// Remote traffic selectors.
    pub remote_ts: Vec<IpPrefix>,
    /// Mode.
    pub mode: ModeKind,
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
    /// Lifetimes in packets and bytes: hard `life_packets`, `life_bytes`; soft
    /// `rekey_packets`, `rekey_bytes` (a warning: manual keys cannot be rekeyed).
    pub lifetime: Lifetime,
}

/// One direction of a manually keyed child SA.
#[derive(Debug, Clone)]
pub struct ManualSa {
    /// SPI.
    pub spi: u32,
    /// Key material as the transform takes it (GCM/GMAC: AES key then 4-byte salt;
    /// CBC: AES key then HMAC key). Zeroized on drop; never printed.
    pub key: KeyMaterial,
}

/// Two SAs are the same when SPI and key are (keys compared in constant time).
impl PartialEq for ManualSa {
    fn eq(&self, other: &Self) -> bool {
        self.spi == other.spi && bool::from(self.key.as_bytes().ct_eq(other.key.as_bytes()))
    }
}

impl Eq for ManualSa {}

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
    pub(super) cert_pem: String,
    pub(super) key_pem: Zeroizing<String>,
    pub(super) ca_pems: Vec<String>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAction {
    /// Only on `ipsecctl initiate` (or when the peer initiates).
    None,
    /// When the daemon starts or the connection is loaded.
    Start,
    /// When traffic for the connection's selectors shows up.
    Trap,
}

/// What happens when the peer of an IKE SA is found dead (DPD or retransmissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    pub mode: ModeKind,
    /// ESP proposals in order of preference (`aes128gcm16`, `aes256gcm16-x25519`, ...).
    pub esp_proposals: Vec<String>,
    /// CHILD_SA rekey interval.
    pub rekey_time: Option<Duration>,
    /// CHILD_SA hard lifetime.
    pub life_time: Option<Duration>,
    /// CHILD_SA lifetimes in packets and bytes: soft `rekey_packets`,
    /// `rekey_bytes` (the data path reports them and IKE rekeys), hard
    /// `life_packets`, `life_bytes` (the SA stops).
    pub lifetime: Lifetime,
    /// Anti-replay window (packets).
    pub replay_window: u32,
}
