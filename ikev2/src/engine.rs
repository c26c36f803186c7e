//! The sans-I/O IKEv2 state machine: datagrams and timer ticks in, actions out.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::cert::{self, CertAuth, CertError};
use crate::config::{
    id_display, proposal_name, select_esp, select_ike, ts_narrow, ts_within, ChildConfig,
    Connection, EspChoice, Mismatch, Mode,
};
use crate::crypto::{
    self, derive_child_keys, derive_ike_keys, psk_auth, ChildKeys, DhGroup, DhPrivate,
    EspTransform, IkeKeys, IkeSuite, Rng, SecretBytes, SkKeys,
};
use crate::wire::{
    self, exchange, flags, notify, protocol, DeletePayload, Header, NotifyPayload, Payload,
    Proposal, TrafficSelector, HEADER_LEN,
};

/// Handle of an IKE SA inside one [`Engine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IkeSaId(pub u64);

/// Handle of a CHILD_SA inside one [`Engine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildSaId(pub u64);

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// IKE port (500).
    pub ike_port: u16,
    /// NAT-T port (4500); datagrams on it carry the 4-byte non-ESP marker.
    pub natt_port: u16,
    /// First retransmission timeout.
    pub retransmit_timeout: Duration,
    /// Back-off factor per retransmission.
    pub retransmit_backoff: f64,
    /// Retransmissions before the peer is declared dead.
    pub retransmit_tries: u32,
    /// Half-open IKE SAs (responder) beyond which cookies are demanded (RFC 7296 2.6).
    pub cookie_threshold: usize,
    /// A half-open SA is dropped after this long.
    pub half_open_timeout: Duration,
    /// How long an old inbound SA stays after a rekey before it is removed.
    pub inbound_linger: Duration,
    /// Fraction of a rekey time subtracted at random (jitter), 0.0..1.0.
    pub rekey_jitter: f64,
    /// Interval of NAT keepalives (RFC 3948 2.3) when we are behind a NAT.
    pub natt_keepalive: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ike_port: 500,
            natt_port: 4500,
            retransmit_timeout: Duration::from_secs(2),
            retransmit_backoff: 1.8,
            retransmit_tries: 5,
            cookie_threshold: 32,
            half_open_timeout: Duration::from_secs(30),
            inbound_linger: Duration::from_secs(5),
            rekey_jitter: 0.1,
            natt_keepalive: Duration::from_secs(20),
        }
    }
}

/// UDP encapsulation of ESP (RFC 3948) for a CHILD_SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpEncap {
    /// Our address and port (the NAT-T port).
    pub local: SocketAddr,
    /// Peer's address and port.
    pub remote: SocketAddr,
}

/// One direction of a CHILD_SA as the data path needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaParams {
    /// SPI (the receiver's choice).
    pub spi: u32,
    /// Keys (zeroized on drop, redacted in Debug).
    pub keys: ChildKeys,
}

/// Install a CHILD_SA (both directions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSaInstall {
    /// IKE SA it belongs to.
    pub ike_sa: IkeSaId,
    /// Its handle.
    pub child: ChildSaId,
    /// Connection name.
    pub connection: String,
    /// Child config name.
    pub name: String,
    /// Our address.
    pub local_addr: IpAddr,
    /// Peer's address.
    pub remote_addr: IpAddr,
    /// Inbound SA (we receive with this SPI).
    pub inbound: SaParams,
    /// Outbound SA.
    pub outbound: SaParams,
    /// ESP transform.
    pub transform: EspTransform,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Mode.
    pub mode: Mode,
    /// Local traffic selectors (narrowed).
    pub local_ts: Vec<TrafficSelector>,
    /// Remote traffic selectors (narrowed).
    pub remote_ts: Vec<TrafficSelector>,
    /// UDP encapsulation (NAT-T), or raw ESP when None.
    pub encap: Option<UdpEncap>,
    /// When this SA is the rekey of another: outbound traffic moves here now;
    /// the old SA's inbound side stays until a [`Action::DeleteChildSa`] for it.
    pub replaces: Option<ChildSaId>,
}

/// What the engine asks the I/O layer to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a UDP datagram (includes the non-ESP marker when `local` is on the NAT-T port).
    Send {
        /// Source address and port.
        local: SocketAddr,
        /// Destination.
        remote: SocketAddr,
        /// UDP payload.
        datagram: Vec<u8>,
    },
    /// Install a CHILD_SA.
    InstallChildSa(Box<ChildSaInstall>),
    /// Remove a CHILD_SA (both directions; its outbound side is no longer used).
    DeleteChildSa {
        /// IKE SA.
        ike_sa: IkeSaId,
        /// Child.
        child: ChildSaId,
        /// Inbound SPI.
        inbound_spi: u32,
        /// Outbound SPI.
        outbound_spi: u32,
    },
    /// The peer's address or port changed (a NAT in front of it made a new
    /// mapping, RFC 7296 2.23): send this CHILD_SA's ESP-in-UDP to `encap.remote`
    /// (and from `encap.local`) from now on. Keys, SPIs and selectors are unchanged.
    /// Emitted for every CHILD_SA of the IKE SA still installed, including old
    /// inbound SAs waiting for removal after a rekey.
    UpdateChildSaEncap {
        /// IKE SA.
        ike_sa: IkeSaId,
        /// Child.
        child: ChildSaId,
        /// Inbound SPI.
        inbound_spi: u32,
        /// Outbound SPI.
        outbound_spi: u32,
        /// The new encapsulation endpoints.
        encap: UdpEncap,
    },
    /// Send the traffic of a CHILD_SA's selectors on `child`'s outbound SA from now
    /// on, like an `InstallChildSa` does for the SA it installs (the rule is: send
    /// on the SA named by the latest `InstallChildSa` or `SwitchOutbound` that is
    /// still installed). Emitted by the responder of a CHILD_SA rekey right after
    /// the new SA's `InstallChildSa`, naming the old SA (the initiator cannot
    /// receive on the new SA before our response reaches it, and a response can be
    /// lost), and again, naming the new SA, when the initiator's DELETE of the old SA
    /// arrives. A data path that ignores it sends on the new SA at once.
    SwitchOutbound {
        /// IKE SA.
        ike_sa: IkeSaId,
        /// The CHILD_SA to send on.
        child: ChildSaId,
        /// Its outbound SPI.
        outbound_spi: u32,
    },
    /// Something worth logging or counting.
    Event(Event),
}

/// Why an IKE SA went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Deleted by us.
    LocalDelete,
    /// Deleted by the peer.
    PeerDelete,
    /// Peer did not answer (retransmissions exhausted).
    PeerDead,
    /// Replaced by a rekeyed IKE SA.
    Rekeyed,
    /// Authentication failed.
    AuthenticationFailed,
    /// Negotiation failed.
    NegotiationFailed,
    /// Half-open too long.
    HalfOpenTimeout,
    /// The peer authenticated a new IKE SA with INITIAL_CONTACT (RFC 7296 2.4):
    /// it has restarted and forgotten this one.
    Replaced,
}

/// Events for logs and counters. `Display` gives a log line; no keys ever appear.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// IKE SA established.
    IkeSaEstablished {
        /// SA.
        ike_sa: IkeSaId,
        /// Connection.
        connection: String,
        /// Peer.
        remote: SocketAddr,
        /// Algorithms.
        suite: String,
        /// Our IKE SPI.
        local_spi: u64,
        /// Peer's IKE SPI.
        remote_spi: u64,
        /// NAT-T in use.
        natt: bool,
    },
    /// IKE SA rekeyed.
    IkeSaRekeyed {
        /// Old SA.
        old: IkeSaId,
        /// New SA.
        new: IkeSaId,
    },
    /// IKE SA removed.
    IkeSaClosed {
        /// SA.
        ike_sa: IkeSaId,
        /// Connection.
        connection: String,
        /// Why.
        reason: CloseReason,
    },
    /// No common proposal.
    ProposalMismatch {
        /// Connection (if one was selected).
        connection: String,
        /// "IKE" or "ESP".
        what: &'static str,
        /// Explanation.
        detail: String,
    },
    /// Authentication failed: `by_peer` true when the peer rejected us.
    AuthenticationFailed {
        /// Connection.
        connection: String,
        /// The peer sent AUTHENTICATION_FAILED (else we rejected the peer).
        by_peer: bool,
        /// Explanation.
        detail: String,
    },
    /// A CHILD_SA could not be created.
    ChildSaFailed {
        /// Connection.
        connection: String,
        /// Explanation.
        detail: String,
    },
    /// A message was dropped.
    Dropped {
        /// Why.
        reason: DropReason,
        /// From where.
        remote: SocketAddr,
    },
    /// The peer's IKE endpoint moved (NAT mapping change, RFC 7296 2.23); an
    /// [`Action::UpdateChildSaEncap`] follows for each of its CHILD_SAs.
    PeerEndpointChanged {
        /// SA.
        ike_sa: IkeSaId,
        /// Old peer address and port.
        from: SocketAddr,
        /// New peer address and port.
        to: SocketAddr,
    },
    /// Informational note.
    Note {
        /// SA, if any.
        ike_sa: Option<IkeSaId>,
        /// Text.
        text: String,
    },
}

/// Why an incoming datagram was dropped (each a counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Not parseable.
    Malformed,
    /// Not IKE (an ESP packet on the NAT-T port).
    NotIke,
    /// No IKE SA with this SPI.
    UnknownSpi,
    /// Integrity check of the SK payload failed.
    Integrity,
    /// Message ID outside the window, or an unexpected response.
    BadMessageId,
    /// A retransmitted request that did not equal the original.
    ReplayMismatch,
    /// Exchange not valid in this state.
    WrongState,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::IkeSaEstablished { ike_sa, connection, remote, suite, local_spi, remote_spi, natt } => write!(
                f,
                "IKE SA {} ({connection}) established with {remote}: {suite}, SPIs {local_spi:016x}/{remote_spi:016x}{}",
                ike_sa.0,
                if *natt { ", NAT-T" } else { "" }
            ),
            Event::IkeSaRekeyed { old, new } => write!(f, "IKE SA {} rekeyed to {}", old.0, new.0),
            Event::IkeSaClosed { ike_sa, connection, reason } => {
                write!(f, "IKE SA {} ({connection}) closed: {reason:?}", ike_sa.0)
            }
            Event::ProposalMismatch { connection, what, detail } => {
                write!(f, "{what} proposal mismatch ({connection}): {detail}")
            }
            Event::AuthenticationFailed { connection, by_peer, detail } => write!(
                f,
                "AUTHENTICATION_FAILED ({connection}): {} {detail}",
                if *by_peer { "peer refused our authentication:" } else { "peer failed authentication:" }
            ),
            Event::ChildSaFailed { connection, detail } => write!(f, "CHILD_SA not created ({connection}): {detail}"),
            Event::Dropped { reason, remote } => write!(f, "dropped message from {remote}: {reason:?}"),
            Event::PeerEndpointChanged { ike_sa, from, to } => {
                write!(f, "IKE SA {}: peer moved from {from} to {to} (NAT mapping changed)", ike_sa.0)
            }
            Event::Note { ike_sa, text } => match ike_sa {
                Some(id) => write!(f, "IKE SA {}: {text}", id.0),
                None => write!(f, "{text}"),
            },
        }
    }
}

/// Why `initiate` failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InitiateError {
    /// No connection with this name.
    #[error("no connection named {0:?}")]
    UnknownConnection(String),
    /// Connection has no remote address.
    #[error("connection {0:?} has no remote address to initiate to")]
    NoRemote(String),
    /// Connection has no IKE proposal.
    #[error("connection {0:?} has no IKE proposal")]
    NoProposal(String),
    /// An IKE SA of this connection is already up or being set up.
    #[error("connection {0:?} already has IKE SA {1:?}")]
    AlreadyActive(String, IkeSaId),
}

/// Why a connection could not be added.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AddConnectionError {
    /// Name in use.
    #[error("connection {0:?} already exists")]
    Duplicate(String),
    /// Missing proposals or children.
    #[error("connection {0:?}: {1}")]
    Incomplete(String, &'static str),
}

/// IKE SA state as shown to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IkeState {
    /// IKE_SA_INIT sent.
    Connecting,
    /// IKE_AUTH in progress (responder: half-open).
    Authenticating,
    /// Established.
    Established,
    /// Being rekeyed or deleted.
    Deleting,
}

/// Operator view of a CHILD_SA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSaInfo {
    /// Handle.
    pub id: ChildSaId,
    /// Config name.
    pub name: String,
    /// Inbound SPI.
    pub inbound_spi: u32,
    /// Outbound SPI.
    pub outbound_spi: u32,
    /// Transform.
    pub transform: EspTransform,
    /// Mode.
    pub mode: Mode,
    /// Local selectors.
    pub local_ts: Vec<TrafficSelector>,
    /// Remote selectors.
    pub remote_ts: Vec<TrafficSelector>,
    /// Next scheduled rekey.
    pub rekey_at: Option<Instant>,
    /// Replaced by a rekey and waiting for removal.
    pub rekeyed: bool,
    /// Hard expiry, if not rekeyed before.
    pub expires_at: Option<Instant>,
}

/// Operator view of an IKE SA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeSaInfo {
    /// Handle.
    pub id: IkeSaId,
    /// Connection.
    pub connection: String,
    /// State.
    pub state: IkeState,
    /// We were the original initiator.
    pub initiator: bool,
    /// Our address.
    pub local: SocketAddr,
    /// Peer.
    pub remote: SocketAddr,
    /// Initiator's SPI.
    pub spi_i: u64,
    /// Responder's SPI.
    pub spi_r: u64,
    /// Algorithms, e.g. `AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519`.
    pub suite: Option<String>,
    /// NAT-T in use.
    pub natt: bool,
    /// Established at.
    pub established_at: Option<Instant>,
    /// Next scheduled IKE rekey.
    pub rekey_at: Option<Instant>,
    /// Hard expiry, if not rekeyed before.
    pub expires_at: Option<Instant>,
    /// Next message ID we will use for a request.
    pub next_request_id: u32,
    /// Next message ID expected from the peer.
    pub next_peer_id: u32,
    /// CHILD_SAs.
    pub children: Vec<ChildSaInfo>,
}

/// Counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Dropped datagrams by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Retransmissions sent.
    pub retransmits: u64,
    /// Responses re-sent for retransmitted requests.
    pub responses_resent: u64,
    /// Cookies demanded.
    pub cookies_sent: u64,
}

fn suite_name(s: &IkeSuite) -> String {
    let e = match s.encr {
        crypto::Encr::AesGcm16 { bits } => format!("AES_GCM_16_{bits}"),
        crypto::Encr::AesCbc { bits } => format!("AES_CBC_{bits}/HMAC_SHA2_256_128"),
    };
    let p = match s.prf {
        crypto::Prf::HmacSha256 => "PRF_HMAC_SHA2_256",
        crypto::Prf::HmacSha384 => "PRF_HMAC_SHA2_384",
    };
    let d = match s.dh {
        DhGroup::Curve25519 => "CURVE_25519",
        DhGroup::Ecp256 => "ECP_256",
        DhGroup::Ecp384 => "ECP_384",
    };
    format!("{e}/{p}/{d}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    InitSent,
    AuthSent,
    /// Responder after IKE_SA_INIT.
    HalfOpen,
    Established,
    /// Replaced by a rekey; waiting for the delete exchange.
    Rekeyed,
    Deleting,
}

#[derive(Debug)]
struct Child {
    id: ChildSaId,
    cfg: usize,
    spi_in: u32,
    spi_out: u32,
    transform: EspTransform,
    esn: bool,
    mode: Mode,
    local_ts: Vec<TrafficSelector>,
    remote_ts: Vec<TrafficSelector>,
    rekey_at: Option<Instant>,
    rekeyed: bool,
    /// Created by our side of a rekey collision and found redundant (RFC 7296
    /// 2.8.1): removed as soon as its DELETE exchange completes, without a linger
    /// time (the peer never sends on it once it has the surviving SA).
    redundant: bool,
    /// The SA that replaced this one when we answered the peer's rekey of it:
    /// outbound traffic moves there when the peer deletes this one.
    replaced_by: Option<ChildSaId>,
    /// Hard lifetime: deleted at this time unless rekeyed before.
    expire_at: Option<Instant>,
}

/// We answered the peer's rekey of a child while our own rekey of it was
/// outstanding (RFC 7296 2.8.1): the peer's Ni and our Nr of that exchange.
#[derive(Debug)]
struct Collision {
    peer_ni: Vec<u8>,
    our_nr: Vec<u8>,
    /// The CHILD_SA the peer's exchange created.
    peer_child: ChildSaId,
}

/// We answered the peer's rekey of the IKE SA while our own rekey of it was
/// outstanding (RFC 7296 2.8.2): the peer's Ni, our Nr, and the IKE SA that
/// exchange created.
#[derive(Debug)]
struct IkeCollision {
    peer_ni: Vec<u8>,
    our_nr: Vec<u8>,
    peer_new: IkeSaId,
}

#[derive(Debug)]
enum Req {
    Init,
    Auth {
        spi_in: u32,
    },
    RekeyChild {
        old: ChildSaId,
        cfg: usize,
        spi_in: u32,
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
        collision: Option<Collision>,
    },
    RekeyIke {
        spi: u64,
        ni: Vec<u8>,
        dh: DhPrivate,
        collision: Option<IkeCollision>,
    },
    CreateChild {
        cfg: usize,
        spi_in: u32,
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
    },
    DeleteChildren {
        children: Vec<ChildSaId>,
    },
    DeleteIke,
    Dpd,
}

#[derive(Debug)]
struct Outstanding {
    mid: u32,
    msg: Vec<u8>,
    tries: u32,
    next_at: Instant,
    timeout: Duration,
    req: Req,
}

#[derive(Debug)]
enum Task {
    CreateChild(usize),
    RekeyChild(ChildSaId),
    RekeyIke,
    DeleteChildren(Vec<ChildSaId>),
    DeleteIke,
    Dpd,
}

struct IkeSa {
    id: IkeSaId,
    conn: usize,
    initiator: bool,
    spi_i: u64,
    spi_r: u64,
    state: State,
    local: SocketAddr,
    remote: SocketAddr,
    natt: bool,
    suite: Option<IkeSuite>,
    keys: Option<IkeKeys>,
    ni: Vec<u8>,
    nr: Vec<u8>,
    dh: Option<DhPrivate>,
    init_request: Vec<u8>,
    init_response: Vec<u8>,
    cookie: Option<Vec<u8>>,
    my_mid: u32,
    outstanding: Option<Outstanding>,
    peer_mid: u32,
    /// Last request from the peer (bytes) and our response, for retransmissions.
    last_exchange: Option<(Vec<u8>, Vec<u8>)>,
    queue: VecDeque<Task>,
    children: Vec<Child>,
    created: Instant,
    established_at: Option<Instant>,
    last_heard: Instant,
    rekey_at: Option<Instant>,
    /// Removals of old inbound SAs scheduled after a rekey.
    linger: Vec<(Instant, ChildSaId, u32, u32)>,
    /// Remove once the current response is sent (peer deleted it, or auth failed).
    closing: bool,
    /// Hard lifetime: deleted at this time unless rekeyed before.
    expire_at: Option<Instant>,
    /// We are behind a NAT: send keepalives to keep its mapping.
    behind_nat: bool,
    /// The peer is behind a NAT: follow its mapping changes (RFC 7296 2.23).
    peer_behind_nat: bool,
    /// Both sides offered SHA2-256 in SIGNATURE_HASH_ALGORITHMS: signature AUTH
    /// uses RFC 7427 (method 14).
    rfc7427: bool,
    last_keepalive: Instant,
    /// After an IKE SA rekey: the SA that took over our children.
    successor: Option<IkeSaId>,
}

impl fmt::Debug for IkeSa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IkeSa")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("spi_i", &format_args!("{:016x}", self.spi_i))
            .field("spi_r", &format_args!("{:016x}", self.spi_r))
            .finish_non_exhaustive()
    }
}

impl IkeSa {
    /// Up or coming up (any role), so a new `initiate` would duplicate it.
    fn is_active(&self) -> bool {
        matches!(
            self.state,
            State::InitSent | State::AuthSent | State::Established
        ) || (self.state == State::HalfOpen && !self.closing)
    }

    fn local_spi(&self) -> u64 {
        if self.initiator {
            self.spi_i
        } else {
            self.spi_r
        }
    }
    fn my_keys(&self) -> Option<&SkKeys> {
        self.keys.as_ref().map(|k| {
            if self.initiator {
                &k.initiator
            } else {
                &k.responder
            }
        })
    }
    fn peer_keys(&self) -> Option<&SkKeys> {
        self.keys.as_ref().map(|k| {
            if self.initiator {
                &k.responder
            } else {
                &k.initiator
            }
        })
    }
    fn header(&self, exch: u8, mid: u32, response: bool) -> Header {
        let mut fl = 0;
        if self.initiator {
            fl |= flags::INITIATOR;
        }
        if response {
            fl |= flags::RESPONSE;
        }
        Header {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            next_payload: 0,
            version: wire::VERSION,
            exchange: exch,
            flags: fl,
            message_id: mid,
            length: 0,
        }
    }
}

/// The IKEv2 engine: all connections and IKE SAs of one daemon.
pub struct Engine {
    cfg: EngineConfig,
    conns: Vec<Connection>,
    sas: BTreeMap<IkeSaId, IkeSa>,
    by_spi: HashMap<u64, IkeSaId>,
    /// IKE SAs by the initiator's SPI and address, so a repeated IKE_SA_INIT
    /// request is recognised for as long as its IKE SA exists.
    half_open: HashMap<(u64, SocketAddr), IkeSaId>,
    rng: Box<dyn Rng>,
    next_id: u64,
    cookie_secret: [u8; 32],
    stats: Stats,
    /// Connections authenticated with certificates, by name.
    cert_auth: HashMap<String, CertAuth>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("connections", &self.conns.len())
            .field("sas", &self.sas.values().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Parsed content of a message.
struct Msg {
    hdr: Header,
    payloads: Vec<Payload>,
}

impl Msg {
    fn notify(&self, t: u16) -> Option<&NotifyPayload> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Notify(n) if n.ntype == t => Some(n),
            _ => None,
        })
    }
    fn notifies(&self, t: u16) -> impl Iterator<Item = &NotifyPayload> {
        self.payloads.iter().filter_map(move |p| match p {
            Payload::Notify(n) if n.ntype == t => Some(n),
            _ => None,
        })
    }
    fn error_notify(&self) -> Option<u16> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Notify(n) if n.ntype < notify::FIRST_STATUS => Some(n.ntype),
            _ => None,
        })
    }
    fn sa(&self) -> Option<&Vec<Proposal>> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Sa(v) => Some(v),
            _ => None,
        })
    }
    fn ke(&self) -> Option<(u16, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Ke { group, data } => Some((*group, data.as_slice())),
            _ => None,
        })
    }
    fn nonce(&self) -> Option<&[u8]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Nonce(n) if (16..=256).contains(&n.len()) => Some(n.as_slice()),
            _ => None,
        })
    }
    fn tsi(&self) -> Option<&Vec<TrafficSelector>> {
        self.payloads.iter().find_map(|p| match p {
            Payload::TsI(v) => Some(v),
            _ => None,
        })
    }
    fn tsr(&self) -> Option<&Vec<TrafficSelector>> {
        self.payloads.iter().find_map(|p| match p {
            Payload::TsR(v) => Some(v),
            _ => None,
        })
    }
}

/// Appends what a CREATE_CHILD_SA request proposes for one CHILD_SA (after any
/// REKEY_SA notify): USE_TRANSPORT_MODE if asked, SA, Ni, KE when PFS, TSi, TSr.
fn push_child_proposal(
    p: &mut Vec<Payload>,
    ccfg: &ChildConfig,
    spi_in: u32,
    ni: &[u8],
    dh: Option<&DhPrivate>,
    local_ts: Vec<TrafficSelector>,
    remote_ts: Vec<TrafficSelector>,
) {
    if ccfg.mode == Mode::Transport {
        p.push(notify_payload(notify::USE_TRANSPORT_MODE, vec![]));
    }
    p.push(Payload::Sa(
        ccfg.esp_proposals
            .iter()
            .enumerate()
            .map(|(i, e)| e.to_wire(i as u8 + 1, spi_in, true))
            .collect(),
    ));
    p.push(Payload::Nonce(ni.to_vec()));
    if let Some(d) = dh {
        p.push(Payload::Ke {
            group: d.group().id(),
            data: d.public(),
        });
    }
    p.push(Payload::TsI(local_ts));
    p.push(Payload::TsR(remote_ts));
}

fn notify_payload(t: u16, data: Vec<u8>) -> Payload {
    Payload::Notify(NotifyPayload {
        protocol: 0,
        ntype: t,
        spi: vec![],
        data,
    })
}

fn notify_name(t: u16) -> String {
    match t {
        notify::NO_PROPOSAL_CHOSEN => "NO_PROPOSAL_CHOSEN".into(),
        notify::INVALID_KE_PAYLOAD => "INVALID_KE_PAYLOAD".into(),
        notify::AUTHENTICATION_FAILED => "AUTHENTICATION_FAILED".into(),
        notify::TS_UNACCEPTABLE => "TS_UNACCEPTABLE".into(),
        notify::INVALID_SYNTAX => "INVALID_SYNTAX".into(),
        notify::TEMPORARY_FAILURE => "TEMPORARY_FAILURE".into(),
        notify::CHILD_SA_NOT_FOUND => "CHILD_SA_NOT_FOUND".into(),
        notify::NO_ADDITIONAL_SAS => "NO_ADDITIONAL_SAS".into(),
        notify::SINGLE_PAIR_REQUIRED => "SINGLE_PAIR_REQUIRED".into(),
        notify::FAILED_CP_REQUIRED => "FAILED_CP_REQUIRED".into(),
        notify::INTERNAL_ADDRESS_FAILURE => "INTERNAL_ADDRESS_FAILURE".into(),
        t => format!("notify {t}"),
    }
}

/// A SIGNATURE_HASH_ALGORITHMS notify lists SHA2-256 (RFC 7427 4).
fn offers_sha256(n: &NotifyPayload) -> bool {
    n.data
        .chunks_exact(2)
        .any(|c| u16::from_be_bytes([c[0], c[1]]) == cert::HASH_SHA2_256)
}

fn ip_matches(want: IpAddr, got: IpAddr) -> bool {
    want.is_unspecified() || want == got
}

impl Engine {
    /// New engine with a cryptographically secure random source.
    pub fn new(cfg: EngineConfig, mut rng: Box<dyn Rng>) -> Engine {
        let mut cookie_secret = [0u8; 32];
        rng.fill_bytes(&mut cookie_secret);
        Engine {
            cfg,
            conns: Vec::new(),
            sas: BTreeMap::new(),
            by_spi: HashMap::new(),
            half_open: HashMap::new(),
            rng,
            next_id: 1,
            cookie_secret,
            stats: Stats::default(),
            cert_auth: HashMap::new(),
        }
    }

    /// Add a connection.
    pub fn add_connection(&mut self, c: Connection) -> Result<(), AddConnectionError> {
        if self.conns.iter().any(|x| x.name == c.name) {
            return Err(AddConnectionError::Duplicate(c.name));
        }
        if c.ike_proposals.is_empty() {
            return Err(AddConnectionError::Incomplete(c.name, "no IKE proposal"));
        }
        if c.children.is_empty() || c.children.iter().any(|ch| ch.esp_proposals.is_empty()) {
            return Err(AddConnectionError::Incomplete(
                c.name,
                "needs a child with an ESP proposal",
            ));
        }
        self.conns.push(c);
        Ok(())
    }

    /// Replace the configuration of an existing connection (same name), e.g. on
    /// reload; adds it when new. Existing SAs keep running; the new settings apply
    /// to new exchanges (proposals, selectors, lifetimes of new SAs).
    pub fn replace_connection(&mut self, c: Connection) -> Result<(), AddConnectionError> {
        let Some(i) = self.conns.iter().position(|x| x.name == c.name) else {
            return self.add_connection(c);
        };
        if c.ike_proposals.is_empty() {
            return Err(AddConnectionError::Incomplete(c.name, "no IKE proposal"));
        }
        if c.children.is_empty() || c.children.iter().any(|ch| ch.esp_proposals.is_empty()) {
            return Err(AddConnectionError::Incomplete(
                c.name,
                "needs a child with an ESP proposal",
            ));
        }
        // Running CHILD_SAs refer to child configs by index: keep those.
        let used = self
            .sas
            .values()
            .filter(|s| s.conn == i)
            .flat_map(|s| s.children.iter().map(|c| c.cfg + 1))
            .max()
            .unwrap_or(0);
        if c.children.len() < used {
            return Err(AddConnectionError::Incomplete(
                c.name,
                "running CHILD_SAs use a child the new configuration removes; terminate first",
            ));
        }
        self.conns[i] = c;
        Ok(())
    }

    /// Authenticate connection `name` with certificates instead of its PSK, in both
    /// directions: we send our certificate and an ECDSA P-256 signature (AUTH
    /// method 9, RFC 4754) and ask for (CERTREQ) and require the same from the
    /// peer, with a certificate issued by one of `auth`'s CAs naming the peer's
    /// identity (`remote_id`). Applies to IKE SAs set up from now on.
    pub fn set_cert_auth(&mut self, name: &str, auth: CertAuth) -> Result<(), CertError> {
        if !self.conns.iter().any(|c| c.name == name) {
            return Err(CertError::UnknownConnection(name.into()));
        }
        self.cert_auth.insert(name.into(), auth);
        Ok(())
    }

    /// Names of the configured connections.
    pub fn connections(&self) -> impl Iterator<Item = &str> {
        self.conns.iter().map(|c| c.name.as_str())
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Operator view of all IKE SAs.
    pub fn list_sas(&self) -> Vec<IkeSaInfo> {
        self.sas
            .values()
            .map(|sa| IkeSaInfo {
                id: sa.id,
                connection: self.conns[sa.conn].name.clone(),
                state: match sa.state {
                    State::InitSent => IkeState::Connecting,
                    State::AuthSent | State::HalfOpen => IkeState::Authenticating,
                    State::Established => IkeState::Established,
                    State::Rekeyed | State::Deleting => IkeState::Deleting,
                },
                initiator: sa.initiator,
                local: sa.local,
                remote: sa.remote,
                spi_i: sa.spi_i,
                spi_r: sa.spi_r,
                suite: sa.suite.as_ref().map(suite_name),
                natt: sa.natt,
                established_at: sa.established_at,
                rekey_at: sa.rekey_at,
                expires_at: sa.expire_at,
                next_request_id: sa.my_mid,
                next_peer_id: sa.peer_mid,
                children: sa
                    .children
                    .iter()
                    .map(|c| ChildSaInfo {
                        id: c.id,
                        name: self.conns[sa.conn].children[c.cfg].name.clone(),
                        inbound_spi: c.spi_in,
                        outbound_spi: c.spi_out,
                        transform: c.transform,
                        mode: c.mode,
                        local_ts: c.local_ts.clone(),
                        remote_ts: c.remote_ts.clone(),
                        rekey_at: c.rekey_at,
                        rekeyed: c.rekeyed,
                        expires_at: c.expire_at,
                    })
                    .collect(),
            })
            .collect()
    }

    fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn new_ike_spi(&mut self) -> u64 {
        loop {
            let s = self.rng.next_u64();
            if s != 0 && !self.by_spi.contains_key(&s) {
                return s;
            }
        }
    }

    fn new_child_spi(&mut self) -> u32 {
        loop {
            let s = self.rng.next_u32();
            if s >= 256
                && !self
                    .sas
                    .values()
                    .any(|sa| sa.children.iter().any(|c| c.spi_in == s))
            {
                return s;
            }
        }
    }

    fn nonce(&mut self) -> Vec<u8> {
        let mut n = vec![0u8; 32];
        self.rng.fill_bytes(&mut n);
        n
    }

    fn jitter(&mut self, d: Duration) -> Duration {
        let j = self.cfg.rekey_jitter.clamp(0.0, 0.99);
        let r = (self.rng.next_u32() as f64) / (u32::MAX as f64);
        d.mul_f64(1.0 - j * r)
    }

    fn datagram(&self, local: SocketAddr, msg: &[u8]) -> Vec<u8> {
        if local.port() == self.cfg.natt_port {
            let mut v = Vec::with_capacity(msg.len() + 4);
            v.extend_from_slice(&[0, 0, 0, 0]);
            v.extend_from_slice(msg);
            v
        } else {
            msg.to_vec()
        }
    }

    fn send(&self, local: SocketAddr, remote: SocketAddr, msg: &[u8], out: &mut Vec<Action>) {
        out.push(Action::Send {
            local,
            remote,
            datagram: self.datagram(local, msg),
        });
    }

    fn drop_msg(&mut self, reason: DropReason, remote: SocketAddr, out: &mut Vec<Action>) {
        *self.stats.dropped.entry(format!("{reason:?}")).or_default() += 1;
        out.push(Action::Event(Event::Dropped { reason, remote }));
    }

    // ----------------------------------------------------------------- initiate

    /// Start an IKE SA (and its first CHILD_SA) for connection `name`.
    pub fn initiate(
        &mut self,
        now: Instant,
        name: &str,
    ) -> Result<(IkeSaId, Vec<Action>), InitiateError> {
        let ci = self
            .conns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| InitiateError::UnknownConnection(name.into()))?;
        if let Some(sa) = self.sas.values().find(|s| s.conn == ci && s.is_active()) {
            return Err(InitiateError::AlreadyActive(name.into(), sa.id));
        }
        let conn = &self.conns[ci];
        let remote_ip = conn
            .remote_addr
            .ok_or_else(|| InitiateError::NoRemote(name.into()))?;
        let group = conn
            .ike_proposals
            .first()
            .and_then(|p| p.dh.first().copied())
            .ok_or_else(|| InitiateError::NoProposal(name.into()))?;
        let local = SocketAddr::new(conn.local_addr, self.cfg.ike_port);
        let remote = SocketAddr::new(remote_ip, self.cfg.ike_port);
        let spi_i = self.new_ike_spi();
        let ni = self.nonce();
        let dh = DhPrivate::generate(group, &mut *self.rng);
        let id = IkeSaId(self.alloc_id());
        let sa = IkeSa {
            id,
            conn: ci,
            initiator: true,
            spi_i,
            spi_r: 0,
            state: State::InitSent,
            local,
            remote,
            natt: false,
            suite: None,
            keys: None,
            ni,
            nr: vec![],
            dh: Some(dh),
            init_request: vec![],
            init_response: vec![],
            cookie: None,
            my_mid: 0,
            outstanding: None,
            peer_mid: 0,
            last_exchange: None,
            queue: VecDeque::new(),
            children: vec![],
            created: now,
            established_at: None,
            last_heard: now,
            rekey_at: None,
            linger: vec![],
            closing: false,
            expire_at: None,
            behind_nat: false,
            peer_behind_nat: false,
            rfc7427: false,
            last_keepalive: now,
            successor: None,
        };
        self.by_spi.insert(spi_i, id);
        self.sas.insert(id, sa);
        let mut out = Vec::new();
        self.send_init(now, id, &mut out);
        Ok((id, out))
    }

    fn send_init(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        let Some(sa) = self.sas.get(&id) else { return };
        let conn = &self.conns[sa.conn];
        let dh = sa
            .dh
            .as_ref()
            .expect("initiator has a DH key before IKE_SA_INIT");
        let mut payloads = Vec::new();
        if let Some(c) = &sa.cookie {
            payloads.push(notify_payload(notify::COOKIE, c.clone()));
        }
        payloads.push(Payload::Sa(
            conn.ike_proposals
                .iter()
                .enumerate()
                .map(|(i, p)| p.to_wire(i as u8 + 1, vec![]))
                .collect(),
        ));
        payloads.push(Payload::Ke {
            group: dh.group().id(),
            data: dh.public(),
        });
        payloads.push(Payload::Nonce(sa.ni.clone()));
        if self.cert_of(sa.conn).is_some() {
            payloads.push(notify_payload(
                notify::SIGNATURE_HASH_ALGORITHMS,
                cert::HASH_SHA2_256.to_be_bytes().to_vec(),
            ));
        }
        let src_hash = if conn.force_encap {
            let mut r = vec![0u8; 20];
            self.rng.fill_bytes(&mut r);
            r
        } else {
            crypto::nat_hash(sa.spi_i, 0, sa.local)
        };
        payloads.push(notify_payload(notify::NAT_DETECTION_SOURCE_IP, src_hash));
        payloads.push(notify_payload(
            notify::NAT_DETECTION_DESTINATION_IP,
            crypto::nat_hash(sa.spi_i, 0, sa.remote),
        ));
        let msg = wire::emit_plain(sa.header(exchange::IKE_SA_INIT, 0, false), &payloads);
        let (local, remote) = (sa.local, sa.remote);
        let timeout = self.cfg.retransmit_timeout;
        let sa = self.sas.get_mut(&id).expect("present");
        sa.init_request = msg.clone();
        sa.my_mid = 1;
        sa.outstanding = Some(Outstanding {
            mid: 0,
            msg: msg.clone(),
            tries: 0,
            next_at: now + timeout,
            timeout,
            req: Req::Init,
        });
        self.send(local, remote, &msg, out);
    }

    // ----------------------------------------------------------------- input

    /// Handle one UDP datagram received on `local` from `remote`. `local` must be
    /// the real local address (not the wildcard) and port; on the NAT-T port the
    /// datagram still carries its non-ESP marker.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let msg = if local.port() == self.cfg.natt_port {
            if data == [0xff] {
                // NAT keepalive (RFC 3948 2.3): nothing to do.
                return out;
            }
            if data.len() < 4 || data[..4] != [0, 0, 0, 0] {
                self.drop_msg(DropReason::NotIke, remote, &mut out);
                return out;
            }
            &data[4..]
        } else {
            data
        };
        let hdr = match Header::parse(msg) {
            Ok(h) => h,
            Err(_) => {
                self.drop_msg(DropReason::Malformed, remote, &mut out);
                return out;
            }
        };
        let msg = &msg[..hdr.length as usize];
        if hdr.exchange == exchange::IKE_SA_INIT && !hdr.is_response() && hdr.spi_r == 0 {
            if hdr.from_initiator() && hdr.message_id == 0 {
                self.responder_init(now, local, remote, hdr, msg, &mut out);
            } else {
                self.drop_msg(DropReason::Malformed, remote, &mut out);
            }
            return out;
        }
        let my_spi = if hdr.from_initiator() {
            hdr.spi_r
        } else {
            hdr.spi_i
        };
        let Some(&id) = self.by_spi.get(&my_spi) else {
            self.drop_msg(DropReason::UnknownSpi, remote, &mut out);
            return out;
        };
        let sa = self.sas.get(&id).expect("index consistent");
        // The I flag must name the other side.
        if hdr.from_initiator() == sa.initiator {
            self.drop_msg(DropReason::Malformed, remote, &mut out);
            return out;
        }
        if hdr.exchange == exchange::IKE_SA_INIT {
            if hdr.is_response() && sa.state == State::InitSent && hdr.message_id == 0 {
                self.initiator_init_response(now, id, local, remote, hdr, msg, &mut out);
            } else {
                self.drop_msg(DropReason::WrongState, remote, &mut out);
            }
            return out;
        }
        let other_spi = if sa.initiator { sa.spi_r } else { sa.spi_i };
        let their = if hdr.from_initiator() {
            hdr.spi_i
        } else {
            hdr.spi_r
        };
        if their != other_spi || sa.keys.is_none() {
            self.drop_msg(DropReason::UnknownSpi, remote, &mut out);
            return out;
        }
        if !hdr.is_response() {
            if sa.peer_mid > 0 && hdr.message_id == sa.peer_mid - 1 {
                // Retransmission of the last request: answer again, change nothing.
                match &sa.last_exchange {
                    Some((req, resp)) if req.as_slice() == msg => {
                        let resp = resp.clone();
                        self.stats.responses_resent += 1;
                        self.send(local, remote, &resp, &mut out);
                    }
                    _ => self.drop_msg(DropReason::ReplayMismatch, remote, &mut out),
                }
                return out;
            }
            if hdr.message_id != sa.peer_mid {
                self.drop_msg(DropReason::BadMessageId, remote, &mut out);
                return out;
            }
        } else {
            match &sa.outstanding {
                Some(o) if o.mid == hdr.message_id => {}
                _ => {
                    self.drop_msg(DropReason::BadMessageId, remote, &mut out);
                    return out;
                }
            }
        }
        let chain = match wire::parse_chain(hdr.next_payload, &msg[HEADER_LEN..]) {
            Ok(c) => c,
            Err(_) => {
                self.drop_msg(DropReason::Malformed, remote, &mut out);
                return out;
            }
        };
        let Some((sk_off, first_inner)) = chain.sk else {
            self.drop_msg(DropReason::Malformed, remote, &mut out);
            return out;
        };
        let keys = sa.peer_keys().expect("checked");
        let plain = match crypto::open_message(msg, sk_off, keys) {
            Ok(p) => p,
            Err(_) => {
                self.drop_msg(DropReason::Integrity, remote, &mut out);
                return out;
            }
        };
        let inner = match wire::parse_chain(first_inner, &plain) {
            Ok(c) if c.sk.is_none() => c,
            _ => {
                self.drop_msg(DropReason::Malformed, remote, &mut out);
                return out;
            }
        };
        let m = Msg {
            hdr,
            payloads: inner.payloads,
        };
        // Authenticated from here on.
        let sa = self.sas.get_mut(&id).expect("present");
        sa.last_heard = now;
        if sa.remote != remote || sa.local != local {
            self.peer_moved(id, local, remote, &mut out);
        }
        let sa = self.sas.get_mut(&id).expect("present");
        if hdr.is_response() {
            let o = sa.outstanding.take().expect("checked above");
            self.handle_response(now, id, o, m, &mut out);
            self.migrate_to_successor(now, id, &mut out);
            self.kick(now, id, &mut out);
        } else {
            sa.peer_mid = sa.peer_mid.wrapping_add(1);
            let resp = self.handle_request(now, id, &m, &mut out);
            if let Some(resp_payloads) = resp {
                if let Some(sa) = self.sas.get_mut(&id) {
                    let h = sa.header(m.hdr.exchange, m.hdr.message_id, true);
                    let mut inner = Vec::new();
                    let first = wire::emit_chain(&resp_payloads, &mut inner);
                    let keys = sa.my_keys().expect("established").clone();
                    let bytes = crypto::seal_message(h, first, &inner, &keys, &mut *self.rng);
                    let sa = self.sas.get_mut(&id).expect("present");
                    sa.last_exchange = Some((msg.to_vec(), bytes.clone()));
                    self.send(local, remote, &bytes, &mut out);
                    self.finish_after_response(now, id, &mut out);
                }
            }
            self.kick(now, id, &mut out);
        }
        out
    }

    /// An authenticated request with a new message ID, or a valid response, came
    /// from or to another address or port than the IKE SA's (RFC 7296 2.23). While
    /// the SA is not yet established this is the initiator's move to the NAT-T
    /// port; afterwards the SA follows only a peer behind a NAT (a new mapping), and
    /// its CHILD_SAs' encapsulation moves with it.
    fn peer_moved(
        &mut self,
        id: IkeSaId,
        local: SocketAddr,
        remote: SocketAddr,
        out: &mut Vec<Action>,
    ) {
        let natt_port = self.cfg.natt_port;
        let sa = self.sas.get_mut(&id).expect("present");
        if sa.established_at.is_none() {
            sa.remote = remote;
            sa.local = local;
            sa.natt = sa.natt || local.port() == natt_port;
            return;
        }
        if !sa.peer_behind_nat || !sa.natt || local.port() != natt_port {
            // Answered where it came from (RFC 7296 2.11), but the SA stays.
            return;
        }
        let from = sa.remote;
        sa.remote = remote;
        sa.local = local;
        out.push(Action::Event(Event::PeerEndpointChanged {
            ike_sa: id,
            from,
            to: remote,
        }));
        let encap = UdpEncap { local, remote };
        let children = sa
            .children
            .iter()
            .map(|c| (c.id, c.spi_in, c.spi_out))
            .chain(sa.linger.iter().map(|(_, c, i, o)| (*c, *i, *o)));
        for (child, inbound_spi, outbound_spi) in children {
            out.push(Action::UpdateChildSaEncap {
                ike_sa: id,
                child,
                inbound_spi,
                outbound_spi,
                encap,
            });
        }
    }

    // ------------------------------------------------------- IKE_SA_INIT (responder)

    fn plain_response(&self, req: &Header, spi_r: u64, payloads: &[Payload]) -> Vec<u8> {
        wire::emit_plain(
            Header {
                spi_i: req.spi_i,
                spi_r,
                next_payload: 0,
                version: wire::VERSION,
                exchange: exchange::IKE_SA_INIT,
                flags: flags::RESPONSE,
                message_id: 0,
                length: 0,
            },
            payloads,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn responder_init(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        hdr: Header,
        msg: &[u8],
        out: &mut Vec<Action>,
    ) {
        if let Some(&id) = self.half_open.get(&(hdr.spi_i, remote)) {
            if let Some(sa) = self.sas.get(&id) {
                if sa.init_request == msg {
                    let resp = sa.init_response.clone();
                    self.stats.responses_resent += 1;
                    self.send(local, remote, &resp, out);
                } else {
                    self.drop_msg(DropReason::ReplayMismatch, remote, out);
                }
                return;
            }
        }
        let chain = match wire::parse_chain(hdr.next_payload, &msg[HEADER_LEN..]) {
            Ok(c) if c.sk.is_none() => c,
            _ => {
                self.drop_msg(DropReason::Malformed, remote, out);
                return;
            }
        };
        let m = Msg {
            hdr,
            payloads: chain.payloads,
        };
        let Some(ci) = self.conns.iter().position(|c| {
            ip_matches(c.local_addr, local.ip()) && c.remote_addr.is_none_or(|r| r == remote.ip())
        }) else {
            out.push(Action::Event(Event::Note {
                ike_sa: None,
                text: format!("IKE_SA_INIT from {remote}: no connection for {local}"),
            }));
            let r = self.plain_response(
                &hdr,
                0,
                &[notify_payload(notify::NO_PROPOSAL_CHOSEN, vec![])],
            );
            self.send(local, remote, &r, out);
            return;
        };
        let (Some(props), Some((group, ke)), Some(ni)) = (m.sa(), m.ke(), m.nonce()) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return;
        };
        // Cookies (RFC 7296 2.6).
        let half_open = self
            .sas
            .values()
            .filter(|s| s.state == State::HalfOpen)
            .count();
        if half_open >= self.cfg.cookie_threshold {
            let want = crypto::cookie_hash(ni, remote.ip(), hdr.spi_i, &self.cookie_secret);
            let ok = matches!(m.payloads.first(), Some(Payload::Notify(n)) if n.ntype == notify::COOKIE && crypto::auth_eq(&n.data, &want));
            if !ok {
                self.stats.cookies_sent += 1;
                let r = self.plain_response(&hdr, 0, &[notify_payload(notify::COOKIE, want)]);
                self.send(local, remote, &r, out);
                return;
            }
        }
        let conn_name = self.conns[ci].name.clone();
        let (suite, chosen) = match select_ike(props, &self.conns[ci].ike_proposals) {
            Ok(x) => x,
            Err(mm) => {
                out.push(Action::Event(Event::ProposalMismatch {
                    connection: conn_name,
                    what: "IKE",
                    detail: mm.to_string(),
                }));
                let r = self.plain_response(
                    &hdr,
                    0,
                    &[notify_payload(notify::NO_PROPOSAL_CHOSEN, vec![])],
                );
                self.send(local, remote, &r, out);
                return;
            }
        };
        if group != suite.dh.id() {
            out.push(Action::Event(Event::Note {
                ike_sa: None,
                text: format!(
                    "IKE_SA_INIT from {remote}: KE for group {group}, selected {}; asking for INVALID_KE_PAYLOAD retry",
                    suite.dh.id()
                ),
            }));
            let r = self.plain_response(
                &hdr,
                0,
                &[notify_payload(
                    notify::INVALID_KE_PAYLOAD,
                    suite.dh.id().to_be_bytes().to_vec(),
                )],
            );
            self.send(local, remote, &r, out);
            return;
        }
        let dh = DhPrivate::generate(suite.dh, &mut *self.rng);
        let shared = match dh.agree(ke) {
            Ok(s) => s,
            Err(e) => {
                out.push(Action::Event(Event::Note {
                    ike_sa: None,
                    text: format!("IKE_SA_INIT from {remote}: {e}"),
                }));
                let r =
                    self.plain_response(&hdr, 0, &[notify_payload(notify::INVALID_SYNTAX, vec![])]);
                self.send(local, remote, &r, out);
                return;
            }
        };
        let spi_r = self.new_ike_spi();
        let nr = self.nonce();
        // NAT detection on the request (SPIr zero there).
        let remote_nat = !m
            .notifies(notify::NAT_DETECTION_SOURCE_IP)
            .any(|n| n.data == crypto::nat_hash(hdr.spi_i, 0, remote));
        let local_nat = m
            .notify(notify::NAT_DETECTION_DESTINATION_IP)
            .is_some_and(|n| n.data != crypto::nat_hash(hdr.spi_i, 0, local));
        let has_natd = m.notify(notify::NAT_DETECTION_SOURCE_IP).is_some();
        let force = self.conns[ci].force_encap;
        let mut resp = vec![
            Payload::Sa(vec![chosen]),
            Payload::Ke {
                group: suite.dh.id(),
                data: dh.public(),
            },
            Payload::Nonce(nr.clone()),
        ];
        let mut rfc7427 = false;
        if let Some(c) = self.cert_of(ci) {
            resp.push(Payload::Unknown {
                ptype: wire::payload_type::CERTREQ,
                critical: false,
                body: c.certreq_payload(),
            });
            if m.notifies(notify::SIGNATURE_HASH_ALGORITHMS)
                .any(offers_sha256)
            {
                rfc7427 = true;
                resp.push(notify_payload(
                    notify::SIGNATURE_HASH_ALGORITHMS,
                    cert::HASH_SHA2_256.to_be_bytes().to_vec(),
                ));
            }
        }
        if has_natd {
            let src = if force {
                let mut r = vec![0u8; 20];
                self.rng.fill_bytes(&mut r);
                r
            } else {
                crypto::nat_hash(hdr.spi_i, spi_r, local)
            };
            resp.push(notify_payload(notify::NAT_DETECTION_SOURCE_IP, src));
            resp.push(notify_payload(
                notify::NAT_DETECTION_DESTINATION_IP,
                crypto::nat_hash(hdr.spi_i, spi_r, remote),
            ));
        }
        let bytes = self.plain_response(&hdr, spi_r, &resp);
        let skeyseed = crypto::skeyseed_initial(suite.prf, ni, &nr, shared.expose());
        let keys = derive_ike_keys(&suite, skeyseed.expose(), ni, &nr, hdr.spi_i, spi_r);
        let id = IkeSaId(self.alloc_id());
        let sa = IkeSa {
            id,
            conn: ci,
            initiator: false,
            spi_i: hdr.spi_i,
            spi_r,
            state: State::HalfOpen,
            local,
            remote,
            natt: has_natd && (remote_nat || local_nat || force),
            behind_nat: has_natd && local_nat,
            peer_behind_nat: has_natd && remote_nat,
            rfc7427,
            successor: None,
            suite: Some(suite),
            keys: Some(keys),
            ni: ni.to_vec(),
            nr,
            dh: None,
            init_request: msg.to_vec(),
            init_response: bytes.clone(),
            cookie: None,
            my_mid: 0,
            outstanding: None,
            peer_mid: 1,
            last_exchange: None,
            queue: VecDeque::new(),
            children: vec![],
            created: now,
            established_at: None,
            last_heard: now,
            rekey_at: None,
            linger: vec![],
            closing: false,
            expire_at: None,
            last_keepalive: now,
        };
        self.by_spi.insert(spi_r, id);
        self.half_open.insert((hdr.spi_i, remote), id);
        self.sas.insert(id, sa);
        if remote_nat || local_nat {
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!(
                    "NAT detected ({}{})",
                    if local_nat { "local " } else { "" },
                    if remote_nat { "remote" } else { "" }
                ),
            }));
        }
        self.send(local, remote, &bytes, out);
    }

    // ------------------------------------------------------- IKE_SA_INIT (initiator)

    #[allow(clippy::too_many_arguments)]
    fn initiator_init_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        _local: SocketAddr,
        remote: SocketAddr,
        hdr: Header,
        msg: &[u8],
        out: &mut Vec<Action>,
    ) {
        let chain = match wire::parse_chain(hdr.next_payload, &msg[HEADER_LEN..]) {
            Ok(c) if c.sk.is_none() => c,
            _ => {
                self.drop_msg(DropReason::Malformed, remote, out);
                return;
            }
        };
        let m = Msg {
            hdr,
            payloads: chain.payloads,
        };
        let sa = self.sas.get_mut(&id).expect("present");
        let conn = &self.conns[sa.conn];
        let conn_name = conn.name.clone();
        if let Some(c) = m.notify(notify::COOKIE) {
            if sa.cookie.is_none() && !c.data.is_empty() && c.data.len() <= 64 {
                sa.cookie = Some(c.data.clone());
                sa.outstanding = None;
                self.send_init(now, id, out);
            } else {
                self.drop_msg(DropReason::WrongState, remote, out);
            }
            return;
        }
        if let Some(n) = m.notify(notify::INVALID_KE_PAYLOAD) {
            let want = (n.data.len() == 2).then(|| u16::from_be_bytes([n.data[0], n.data[1]]));
            let group = want
                .and_then(DhGroup::from_id)
                .filter(|g| conn.ike_proposals.iter().any(|p| p.dh.contains(g)));
            let current = sa.dh.as_ref().map(|d| d.group());
            match group {
                Some(g) if Some(g) != current => {
                    out.push(Action::Event(Event::Note {
                        ike_sa: Some(id),
                        text: format!("peer asks for DH group {}; retrying", g.id()),
                    }));
                    sa.dh = Some(DhPrivate::generate(g, &mut *self.rng));
                    sa.outstanding = None;
                    self.send_init(now, id, out);
                }
                _ => {
                    out.push(Action::Event(Event::ProposalMismatch {
                        connection: conn_name,
                        what: "IKE",
                        detail: format!("peer wants DH group {want:?}, which we do not offer"),
                    }));
                    self.remove_sa(id, CloseReason::NegotiationFailed, out);
                }
            }
            return;
        }
        if let Some(e) = m.error_notify() {
            if e == notify::NO_PROPOSAL_CHOSEN {
                let ours: Vec<String> = conn
                    .ike_proposals
                    .iter()
                    .enumerate()
                    .map(|(i, p)| proposal_name(&p.to_wire(i as u8 + 1, vec![])))
                    .collect();
                out.push(Action::Event(Event::ProposalMismatch {
                    connection: conn_name,
                    what: "IKE",
                    detail: format!(
                        "peer answered NO_PROPOSAL_CHOSEN to our offer [{}]",
                        ours.join(", ")
                    ),
                }));
            } else {
                out.push(Action::Event(Event::Note {
                    ike_sa: Some(id),
                    text: format!("IKE_SA_INIT failed: peer sent {}", notify_name(e)),
                }));
            }
            self.remove_sa(id, CloseReason::NegotiationFailed, out);
            return;
        }
        let (Some(props), Some((group, ke)), Some(nr)) = (m.sa(), m.ke(), m.nonce()) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return;
        };
        // The answer must be one proposal we offered.
        let suite = match select_ike(props, &conn.ike_proposals) {
            Ok((s, _)) if props.len() == 1 && hdr.spi_r != 0 => s,
            _ => {
                out.push(Action::Event(Event::ProposalMismatch {
                    connection: conn_name,
                    what: "IKE",
                    detail: format!(
                        "peer chose [{}], which we did not offer",
                        props
                            .iter()
                            .map(proposal_name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }));
                self.remove_sa(id, CloseReason::NegotiationFailed, out);
                return;
            }
        };
        let dh = sa.dh.as_ref().expect("initiator DH");
        if group != suite.dh.id() || dh.group() != suite.dh {
            self.drop_msg(DropReason::Malformed, remote, out);
            return;
        }
        let shared = match dh.agree(ke) {
            Ok(s) => s,
            Err(_) => {
                self.drop_msg(DropReason::Malformed, remote, out);
                return;
            }
        };
        let force = conn.force_encap;
        sa.spi_r = hdr.spi_r;
        sa.nr = nr.to_vec();
        sa.suite = Some(suite);
        sa.dh = None;
        let skeyseed = crypto::skeyseed_initial(suite.prf, &sa.ni, nr, shared.expose());
        sa.keys = Some(derive_ike_keys(
            &suite,
            skeyseed.expose(),
            &sa.ni,
            nr,
            sa.spi_i,
            sa.spi_r,
        ));
        sa.init_response = msg.to_vec();
        sa.outstanding = None;
        sa.last_heard = now;
        let has_natd = m.notify(notify::NAT_DETECTION_SOURCE_IP).is_some();
        let remote_nat = has_natd
            && !m
                .notifies(notify::NAT_DETECTION_SOURCE_IP)
                .any(|n| n.data == crypto::nat_hash(sa.spi_i, sa.spi_r, sa.remote));
        let local_nat = m
            .notify(notify::NAT_DETECTION_DESTINATION_IP)
            .is_some_and(|n| n.data != crypto::nat_hash(sa.spi_i, sa.spi_r, sa.local));
        sa.behind_nat = has_natd && local_nat;
        sa.peer_behind_nat = remote_nat;
        sa.rfc7427 = self.cert_auth.contains_key(&conn.name)
            && m.notifies(notify::SIGNATURE_HASH_ALGORITHMS)
                .any(offers_sha256);
        if has_natd && (remote_nat || local_nat || force) {
            sa.natt = true;
            sa.local.set_port(self.cfg.natt_port);
            sa.remote.set_port(self.cfg.natt_port);
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!(
                    "NAT detected (local {local_nat}, remote {remote_nat}, forced {force}); moving to port {}",
                    self.cfg.natt_port
                ),
            }));
        }
        sa.state = State::AuthSent;
        self.send_auth(now, id, out);
    }

    // ------------------------------------------------------------ IKE_AUTH

    fn child_cfg(&self, sa: &IkeSa, idx: usize) -> &ChildConfig {
        &self.conns[sa.conn].children[idx]
    }

    fn cert_of(&self, ci: usize) -> Option<&CertAuth> {
        self.cert_auth.get(&self.conns[ci].name)
    }

    /// Our AUTH payload for connection `ci` (PSK, or an ECDSA signature when the
    /// connection uses certificates, then with our CERT payload first).
    #[allow(clippy::too_many_arguments)]
    fn our_auth(
        &self,
        ci: usize,
        rfc7427: bool,
        prf: crypto::Prf,
        real_message: &[u8],
        peer_nonce: &[u8],
        sk_p: &[u8],
        id: &wire::IdPayload,
    ) -> Vec<Payload> {
        match self.cert_of(ci) {
            Some(c) => {
                let (method, data) = c.sign(
                    &crypto::signed_octets(prf, real_message, peer_nonce, sk_p, &id.body()),
                    rfc7427,
                );
                vec![
                    Payload::Unknown {
                        ptype: wire::payload_type::CERT,
                        critical: false,
                        body: c.cert_payload(),
                    },
                    Payload::Auth { method, data },
                ]
            }
            None => vec![Payload::Auth {
                method: 2,
                data: psk_auth(
                    prf,
                    self.conns[ci].psk.expose(),
                    real_message,
                    peer_nonce,
                    sk_p,
                    &id.body(),
                ),
            }],
        }
    }

    /// Check the peer's AUTH for connection `ci`; the error explains the failure.
    #[allow(clippy::too_many_arguments)]
    fn check_peer_auth(
        &self,
        ci: usize,
        prf: crypto::Prf,
        real_message: &[u8],
        peer_nonce: &[u8],
        sk_p: &[u8],
        id: &wire::IdPayload,
        (method, auth): (u8, &[u8]),
        m: &Msg,
    ) -> Result<(), String> {
        match self.cert_of(ci) {
            Some(c) => {
                let Some(cert) = m.payloads.iter().find_map(|p| match p {
                    Payload::Unknown { ptype, body, .. } if *ptype == wire::payload_type::CERT => {
                        Some(body)
                    }
                    _ => None,
                }) else {
                    return Err("sent no certificate".into());
                };
                let octets = crypto::signed_octets(prf, real_message, peer_nonce, sk_p, &id.body());
                c.verify_peer(cert, id, &octets, (method, auth))
            }
            None => {
                if method != 2 {
                    return Err("used an authentication method other than PSK".into());
                }
                let want = psk_auth(
                    prf,
                    self.conns[ci].psk.expose(),
                    real_message,
                    peer_nonce,
                    sk_p,
                    &id.body(),
                );
                if crypto::auth_eq(&want, auth) {
                    Ok(())
                } else {
                    Err("sent a wrong PSK AUTH value".into())
                }
            }
        }
    }

    fn send_auth(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        let spi_in = self.new_child_spi();
        let sa = self.sas.get(&id).expect("present");
        let conn = &self.conns[sa.conn];
        let keys = sa.keys.as_ref().expect("keys");
        let suite = sa.suite.expect("suite");
        let Some(idi) = conn.local_id.to_payload() else {
            return;
        };
        let mut auth = self.our_auth(
            sa.conn,
            sa.rfc7427,
            suite.prf,
            &sa.init_request,
            &sa.nr,
            keys.sk_pi.expose(),
            &idi,
        );
        let auth_payload = auth.pop().expect("AUTH");
        let child = self.child_cfg(sa, 0);
        let first_contact = !self
            .sas
            .values()
            .any(|o| o.id != id && o.conn == sa.conn && o.established_at.is_some());
        let mut p = vec![Payload::IdI(idi)];
        // CERT, then CERTREQ naming our CAs (strongSwan sends its certificate
        // only when asked).
        p.extend(auth);
        if let Some(c) = self.cert_of(sa.conn) {
            p.push(Payload::Unknown {
                ptype: wire::payload_type::CERTREQ,
                critical: false,
                body: c.certreq_payload(),
            });
        }
        if first_contact {
            p.push(notify_payload(notify::INITIAL_CONTACT, vec![]));
        }
        if let Some(idr) = conn.remote_id.to_payload() {
            p.push(Payload::IdR(idr));
        }
        p.push(auth_payload);
        if child.mode == Mode::Transport {
            p.push(notify_payload(notify::USE_TRANSPORT_MODE, vec![]));
        }
        p.push(Payload::Sa(
            child
                .esp_proposals
                .iter()
                .enumerate()
                .map(|(i, e)| e.to_wire(i as u8 + 1, spi_in, false))
                .collect(),
        ));
        p.push(Payload::TsI(child.local_ts.clone()));
        p.push(Payload::TsR(child.remote_ts.clone()));
        self.send_request(now, id, exchange::IKE_AUTH, p, Req::Auth { spi_in }, out);
    }

    fn send_request(
        &mut self,
        now: Instant,
        id: IkeSaId,
        exch: u8,
        payloads: Vec<Payload>,
        req: Req,
        out: &mut Vec<Action>,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        let mid = sa.my_mid;
        let h = sa.header(exch, mid, false);
        let mut inner = Vec::new();
        let first = wire::emit_chain(&payloads, &mut inner);
        let keys = sa.my_keys().expect("keys").clone();
        let msg = crypto::seal_message(h, first, &inner, &keys, &mut *self.rng);
        let timeout = self.cfg.retransmit_timeout;
        let sa = self.sas.get_mut(&id).expect("present");
        sa.my_mid = mid.wrapping_add(1);
        sa.outstanding = Some(Outstanding {
            mid,
            msg: msg.clone(),
            tries: 0,
            next_at: now + timeout,
            timeout,
            req,
        });
        let (l, r) = (sa.local, sa.remote);
        self.send(l, r, &msg, out);
    }

    fn handle_request(
        &mut self,
        now: Instant,
        id: IkeSaId,
        m: &Msg,
        out: &mut Vec<Action>,
    ) -> Option<Vec<Payload>> {
        let state = self.sas.get(&id)?.state;
        match (m.hdr.exchange, state) {
            (exchange::IKE_AUTH, State::HalfOpen) => Some(self.responder_auth(now, id, m, out)),
            (
                exchange::INFORMATIONAL,
                State::Established | State::Rekeyed | State::Deleting | State::AuthSent,
            ) => Some(self.responder_informational(now, id, m, out)),
            (exchange::CREATE_CHILD_SA, State::Established) => {
                Some(self.responder_create_child(now, id, m, out))
            }
            (exchange::CREATE_CHILD_SA, State::Rekeyed | State::Deleting) => {
                Some(vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])])
            }
            _ => {
                let remote = self.sas.get(&id)?.remote;
                self.drop_msg(DropReason::WrongState, remote, out);
                // Keep the message ID window unchanged for requests we refuse.
                let sa = self.sas.get_mut(&id)?;
                sa.peer_mid = sa.peer_mid.wrapping_sub(1);
                None
            }
        }
    }

    fn responder_auth(
        &mut self,
        now: Instant,
        id: IkeSaId,
        m: &Msg,
        out: &mut Vec<Action>,
    ) -> Vec<Payload> {
        let sa = self.sas.get(&id).expect("present");
        let idi = m.payloads.iter().find_map(|p| match p {
            Payload::IdI(i) => Some(i.clone()),
            _ => None,
        });
        let auth = m.payloads.iter().find_map(|p| match p {
            Payload::Auth { method, data } => Some((*method, data.clone())),
            _ => None,
        });
        let (Some(idi), Some((method, auth))) = (idi, auth) else {
            return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
        };
        let suite = sa.suite.expect("suite");
        // Choose the connection by the peer's identity among those matching the addresses.
        let (local, remote) = (sa.local, sa.remote);
        let ci = if self.conns[sa.conn].remote_id.matches(&idi) {
            Some(sa.conn)
        } else {
            self.conns.iter().position(|c| {
                c.remote_id.matches(&idi)
                    && ip_matches(c.local_addr, local.ip())
                    && c.remote_addr.is_none_or(|r| r == remote.ip())
                    && c.ike_proposals.iter().any(|p| {
                        p.encr.contains(&suite.encr)
                            && p.prf.contains(&suite.prf)
                            && p.dh.contains(&suite.dh)
                    })
            })
        };
        let keys = sa.keys.as_ref().expect("keys");
        let verified = match ci {
            None => Err("matches no connection".to_string()),
            Some(ci) => self
                .check_peer_auth(
                    ci,
                    suite.prf,
                    &sa.init_request,
                    &sa.nr,
                    keys.sk_pi.expose(),
                    &idi,
                    (method, &auth),
                    m,
                )
                .map(|()| ci),
        };
        let ci = match verified {
            Ok(ci) => ci,
            Err(why) => {
                let conn_name = self.conns[ci.unwrap_or(sa.conn)].name.clone();
                out.push(Action::Event(Event::AuthenticationFailed {
                    connection: conn_name,
                    by_peer: false,
                    detail: format!("{} (ID {}) {why}", remote, id_display(&idi)),
                }));
                let sa = self.sas.get_mut(&id).expect("present");
                sa.closing = true;
                return vec![notify_payload(notify::AUTHENTICATION_FAILED, vec![])];
            }
        };
        let conn = &self.conns[ci];
        let Some(idr) = conn.local_id.to_payload() else {
            return vec![notify_payload(notify::AUTHENTICATION_FAILED, vec![])];
        };
        let my_auth = self.our_auth(
            ci,
            sa.rfc7427,
            suite.prf,
            &sa.init_response,
            &sa.ni,
            keys.sk_pr.expose(),
            &idr,
        );
        let mut resp = vec![Payload::IdR(idr)];
        resp.extend(my_auth);
        let sa = self.sas.get_mut(&id).expect("present");
        sa.conn = ci;
        sa.state = State::Established;
        sa.established_at = Some(now);
        if m.notify(notify::INITIAL_CONTACT).is_some() {
            // The peer restarted: its older IKE SAs with us are gone (RFC 7296 2.4).
            let peer_ip = sa.remote.ip();
            let stale: Vec<IkeSaId> = self
                .sas
                .values()
                .filter(|o| {
                    o.id != id
                        && o.conn == ci
                        && o.remote.ip() == peer_ip
                        && o.established_at.is_some()
                })
                .map(|o| o.id)
                .collect();
            for o in stale {
                self.remove_sa(o, CloseReason::Replaced, out);
            }
        }
        self.established_event(id, out);
        self.schedule_ike(now, id);
        // First CHILD_SA.
        match self.responder_child(now, id, m, None, None, out) {
            Ok(mut p) => resp.append(&mut p),
            Err(n) => resp.push(notify_payload(n, vec![])),
        }
        resp
    }

    fn established_event(&mut self, id: IkeSaId, out: &mut Vec<Action>) {
        let sa = self.sas.get(&id).expect("present");
        out.push(Action::Event(Event::IkeSaEstablished {
            ike_sa: id,
            connection: self.conns[sa.conn].name.clone(),
            remote: sa.remote,
            suite: sa.suite.as_ref().map(suite_name).unwrap_or_default(),
            local_spi: sa.local_spi(),
            remote_spi: if sa.initiator { sa.spi_r } else { sa.spi_i },
            natt: sa.natt,
        }));
    }

    /// Responder side of a CHILD_SA negotiation (IKE_AUTH or CREATE_CHILD_SA).
    /// `rekey`: the child being rekeyed; `ke`: Ni for CREATE_CHILD_SA.
    fn responder_child(
        &mut self,
        now: Instant,
        id: IkeSaId,
        m: &Msg,
        rekey: Option<ChildSaId>,
        exch_ni: Option<&[u8]>,
        out: &mut Vec<Action>,
    ) -> Result<Vec<Payload>, u16> {
        let sa = self.sas.get(&id).expect("present");
        let conn_name = self.conns[sa.conn].name.clone();
        let (Some(props), Some(tsi), Some(tsr)) = (m.sa(), m.tsi(), m.tsr()) else {
            return Err(notify::INVALID_SYNTAX);
        };
        let cfg_idx = match rekey {
            Some(c) => sa.children.iter().find(|x| x.id == c).map_or(0, |c| c.cfg),
            // A new CHILD_SA: the first child config whose selectors overlap the peer's.
            None => self.conns[sa.conn]
                .children
                .iter()
                .position(|c| {
                    !ts_narrow(tsr, &c.local_ts).is_empty()
                        && !ts_narrow(tsi, &c.remote_ts).is_empty()
                })
                .unwrap_or(0),
        };
        let ccfg = self.child_cfg(sa, cfg_idx).clone();
        let create = exch_ni.is_some();
        let choice: EspChoice = match select_esp(props, &ccfg.esp_proposals, create) {
            Ok(c) => c,
            Err(mm) => {
                self.mismatch_event(&conn_name, "ESP", &mm, out);
                return Err(notify::NO_PROPOSAL_CHOSEN);
            }
        };
        let local_ts = ts_narrow(tsr, &ccfg.local_ts);
        let remote_ts = ts_narrow(tsi, &ccfg.remote_ts);
        if local_ts.is_empty() || remote_ts.is_empty() {
            out.push(Action::Event(Event::ChildSaFailed {
                connection: conn_name,
                detail: format!(
                    "traffic selectors do not overlap: peer TSi {:?} TSr {:?}, ours local {:?} remote {:?}",
                    tsi, tsr, ccfg.local_ts, ccfg.remote_ts
                ),
            }));
            return Err(notify::TS_UNACCEPTABLE);
        }
        let transport =
            m.notify(notify::USE_TRANSPORT_MODE).is_some() && ccfg.mode == Mode::Transport;
        let mut resp = Vec::new();
        let mut shared = None;
        let mut ke_out = None;
        if let Some(g) = choice.dh {
            match m.ke() {
                Some((grp, data)) if grp == g.id() => {
                    let dh = DhPrivate::generate(g, &mut *self.rng);
                    match dh.agree(data) {
                        Ok(s) => shared = Some(s),
                        Err(_) => return Err(notify::INVALID_SYNTAX),
                    }
                    ke_out = Some(Payload::Ke {
                        group: g.id(),
                        data: dh.public(),
                    });
                }
                _ => {
                    let sa = self.sas.get(&id).expect("present");
                    let _ = sa;
                    return Err(notify::INVALID_KE_PAYLOAD);
                }
            }
        }
        let spi_in = self.new_child_spi();
        let nr = if create { self.nonce() } else { vec![] };
        let sa = self.sas.get(&id).expect("present");
        let keys = sa.keys.as_ref().expect("keys");
        let prf = sa.suite.expect("suite").prf;
        let (ni, nr_used): (&[u8], &[u8]) = match exch_ni {
            Some(n) => (n, &nr),
            None => (&sa.ni, &sa.nr),
        };
        let (i2r, r2i) = derive_child_keys(
            prf,
            keys.sk_d.expose(),
            shared.as_ref().map(|s: &SecretBytes| s.expose()),
            ni,
            nr_used,
            choice.transform,
        );
        if transport {
            resp.push(notify_payload(notify::USE_TRANSPORT_MODE, vec![]));
        }
        let mut prop = choice.proposal.clone();
        prop.spi = spi_in.to_be_bytes().to_vec();
        resp.push(Payload::Sa(vec![prop]));
        if create {
            resp.push(Payload::Nonce(nr.clone()));
        }
        if let Some(k) = ke_out {
            resp.push(k);
        }
        resp.push(Payload::TsI(remote_ts.clone()));
        resp.push(Payload::TsR(local_ts.clone()));
        let child_id = ChildSaId(self.alloc_id());
        let rekey_at = ccfg.rekey_time.map(|t| now + self.jitter(t));
        let expire_at = ccfg.life_time.map(|t| now + t);
        let child = Child {
            id: child_id,
            cfg: cfg_idx,
            spi_in,
            spi_out: choice.peer_spi,
            transform: choice.transform,
            esn: choice.esn,
            mode: if transport {
                Mode::Transport
            } else {
                Mode::Tunnel
            },
            local_ts,
            remote_ts,
            rekey_at,
            rekeyed: false,
            redundant: false,
            replaced_by: None,
            expire_at,
        };
        self.install(id, &child, r2i, i2r, rekey, out);
        let sa = self.sas.get_mut(&id).expect("present");
        if let Some(old) = rekey {
            if let Some(oc) = sa.children.iter_mut().find(|c| c.id == old) {
                oc.rekeyed = true;
                oc.replaced_by = Some(child_id);
                // Keep sending on the old SA until the initiator, which installs the
                // new one when our response arrives, deletes the old one.
                out.push(Action::SwitchOutbound {
                    ike_sa: id,
                    child: old,
                    outbound_spi: oc.spi_out,
                });
            }
            // A collision: we are rekeying the same child ourselves.
            if let Some(Outstanding {
                req: Req::RekeyChild {
                    old: o, collision, ..
                },
                ..
            }) = &mut sa.outstanding
            {
                if *o == old {
                    *collision = Some(Collision {
                        peer_ni: exch_ni.unwrap_or_default().to_vec(),
                        our_nr: nr.clone(),
                        peer_child: child_id,
                    });
                }
            }
        }
        sa.children.push(child);
        Ok(resp)
    }

    fn mismatch_event(&self, conn: &str, what: &'static str, mm: &Mismatch, out: &mut Vec<Action>) {
        out.push(Action::Event(Event::ProposalMismatch {
            connection: conn.to_string(),
            what,
            detail: mm.to_string(),
        }));
    }

    fn install(
        &self,
        id: IkeSaId,
        child: &Child,
        out_keys: ChildKeys,
        in_keys: ChildKeys,
        replaces: Option<ChildSaId>,
        out: &mut Vec<Action>,
    ) {
        let sa = self.sas.get(&id).expect("present");
        let encap = sa.natt.then_some(UdpEncap {
            local: sa.local,
            remote: sa.remote,
        });
        out.push(Action::InstallChildSa(Box::new(ChildSaInstall {
            ike_sa: id,
            child: child.id,
            connection: self.conns[sa.conn].name.clone(),
            name: self.conns[sa.conn].children[child.cfg].name.clone(),
            local_addr: sa.local.ip(),
            remote_addr: sa.remote.ip(),
            inbound: SaParams {
                spi: child.spi_in,
                keys: in_keys,
            },
            outbound: SaParams {
                spi: child.spi_out,
                keys: out_keys,
            },
            transform: child.transform,
            esn: child.esn,
            mode: child.mode,
            local_ts: child.local_ts.clone(),
            remote_ts: child.remote_ts.clone(),
            encap,
            replaces,
        })));
    }

    fn handle_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        o: Outstanding,
        m: Msg,
        out: &mut Vec<Action>,
    ) {
        match o.req {
            Req::Init => {}
            Req::Auth { spi_in } => self.initiator_auth_response(now, id, spi_in, &m, out),
            Req::RekeyChild {
                old,
                cfg,
                spi_in,
                ni,
                dh,
                collision,
            } => self.rekey_child_response(now, id, old, cfg, spi_in, ni, dh, collision, &m, out),
            Req::RekeyIke {
                spi,
                ni,
                dh,
                collision,
            } => self.rekey_ike_response(now, id, spi, ni, dh, collision, &m, out),
            Req::DeleteChildren { children } => {
                let mut gone = Vec::new();
                if let Some(sa) = self.sas.get_mut(&id) {
                    let linger = now + self.cfg.inbound_linger;
                    for c in children {
                        if let Some(pos) = sa.children.iter().position(|x| x.id == c) {
                            let ch = sa.children.remove(pos);
                            if ch.rekeyed && !ch.redundant {
                                sa.linger.push((linger, ch.id, ch.spi_in, ch.spi_out));
                            } else {
                                gone.push((ch.id, ch.spi_in, ch.spi_out));
                            }
                        }
                    }
                }
                for (c, i, o) in gone {
                    out.push(Action::DeleteChildSa {
                        ike_sa: id,
                        child: c,
                        inbound_spi: i,
                        outbound_spi: o,
                    });
                }
            }
            Req::CreateChild {
                cfg,
                spi_in,
                ni,
                dh,
            } => {
                self.initiator_child(now, id, spi_in, cfg, Some((&ni, dh)), None, &m, out);
            }
            Req::DeleteIke => self.remove_sa(id, CloseReason::LocalDelete, out),
            Req::Dpd => {}
        }
    }

    fn initiator_auth_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        spi_in: u32,
        m: &Msg,
        out: &mut Vec<Action>,
    ) {
        let sa = self.sas.get(&id).expect("present");
        let conn = &self.conns[sa.conn];
        let conn_name = conn.name.clone();
        if m.notify(notify::AUTHENTICATION_FAILED).is_some() {
            out.push(Action::Event(Event::AuthenticationFailed {
                connection: conn_name,
                by_peer: true,
                detail:
                    "peer answered IKE_AUTH with AUTHENTICATION_FAILED (check PSK and identities)"
                        .into(),
            }));
            self.remove_sa(id, CloseReason::AuthenticationFailed, out);
            return;
        }
        let idr = m.payloads.iter().find_map(|p| match p {
            Payload::IdR(i) => Some(i.clone()),
            _ => None,
        });
        let auth = m.payloads.iter().find_map(|p| match p {
            Payload::Auth { method, data } => Some((*method, data.clone())),
            _ => None,
        });
        let (Some(idr), Some((method, auth))) = (idr, auth) else {
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!(
                    "IKE_AUTH failed: {}",
                    m.error_notify()
                        .map_or("response lacks IDr/AUTH".into(), notify_name)
                ),
            }));
            self.remove_sa(id, CloseReason::NegotiationFailed, out);
            return;
        };
        let suite = sa.suite.expect("suite");
        let keys = sa.keys.as_ref().expect("keys");
        let checked = if conn.remote_id.matches(&idr) {
            self.check_peer_auth(
                sa.conn,
                suite.prf,
                &sa.init_response,
                &sa.ni,
                keys.sk_pr.expose(),
                &idr,
                (method, &auth),
                m,
            )
        } else {
            Err("has an unexpected identity".into())
        };
        if let Err(why) = checked {
            out.push(Action::Event(Event::AuthenticationFailed {
                connection: conn_name,
                by_peer: false,
                detail: format!("responder {} (ID {}) {why}", sa.remote, id_display(&idr)),
            }));
            // Tell the peer (RFC 7296 2.21.2), once, without waiting for an answer.
            let sa = self.sas.get(&id).expect("present");
            let h = sa.header(exchange::INFORMATIONAL, sa.my_mid, false);
            let mut inner = Vec::new();
            let first = wire::emit_chain(
                &[notify_payload(notify::AUTHENTICATION_FAILED, vec![])],
                &mut inner,
            );
            let k = sa.my_keys().expect("keys").clone();
            let (l, r) = (sa.local, sa.remote);
            let msg = crypto::seal_message(h, first, &inner, &k, &mut *self.rng);
            self.send(l, r, &msg, out);
            self.remove_sa(id, CloseReason::AuthenticationFailed, out);
            return;
        }
        let sa = self.sas.get_mut(&id).expect("present");
        sa.state = State::Established;
        sa.established_at = Some(now);
        self.schedule_ike(now, id);
        self.established_event(id, out);
        self.initiator_child(now, id, spi_in, 0, None, None, m, out);
        // Further children of the connection: one CREATE_CHILD_SA each.
        let sa = self.sas.get_mut(&id).expect("present");
        let n = self.conns[sa.conn].children.len();
        for cfg in 1..n {
            sa.queue.push_back(Task::CreateChild(cfg));
        }
    }

    /// Initiator side: complete a CHILD_SA from the responder's answer.
    #[allow(clippy::too_many_arguments)]
    fn initiator_child(
        &mut self,
        now: Instant,
        id: IkeSaId,
        spi_in: u32,
        cfg_idx: usize,
        create: Option<(&[u8], Option<DhPrivate>)>,
        replaces: Option<ChildSaId>,
        m: &Msg,
        out: &mut Vec<Action>,
    ) -> Option<ChildSaId> {
        let sa = self.sas.get(&id).expect("present");
        let conn_name = self.conns[sa.conn].name.clone();
        let ccfg = self.child_cfg(sa, cfg_idx).clone();
        let fail = |detail: String, out: &mut Vec<Action>| {
            out.push(Action::Event(Event::ChildSaFailed {
                connection: conn_name.clone(),
                detail,
            }));
            None
        };
        if let Some(e) = m.error_notify() {
            return fail(format!("peer sent {}", notify_name(e)), out);
        }
        let (Some(props), Some(tsi), Some(tsr)) = (m.sa(), m.tsi(), m.tsr()) else {
            return fail("response lacks SA/TSi/TSr".into(), out);
        };
        // Replace the peer's own (non-PFS) DH choice check: the DH transform must
        // agree with the KE we sent.
        let with_dh = create.as_ref().is_some_and(|(_, d)| d.is_some());
        let choice = match select_esp(props, &ccfg.esp_proposals, with_dh) {
            Ok(c) if props.len() == 1 => c,
            _ => {
                return fail(
                    format!(
                        "peer chose [{}], which we did not offer",
                        props
                            .iter()
                            .map(proposal_name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    out,
                )
            }
        };
        if !ts_within(tsi, &ccfg.local_ts) || !ts_within(tsr, &ccfg.remote_ts) {
            return fail(
                format!("peer narrowed to TSi {tsi:?} TSr {tsr:?}, outside our selectors"),
                out,
            );
        }
        let transport = m.notify(notify::USE_TRANSPORT_MODE).is_some();
        let mut shared = None;
        let (ni, nr): (Vec<u8>, Vec<u8>) = match &create {
            Some((ni, dh)) => {
                let Some(nr) = m.nonce() else {
                    return fail("response lacks a nonce".into(), out);
                };
                if let Some(dh) = dh {
                    match m.ke() {
                        Some((g, data))
                            if g == dh.group().id() && choice.dh == Some(dh.group()) =>
                        {
                            match dh.agree(data) {
                                Ok(s) => shared = Some(s),
                                Err(e) => return fail(format!("bad KE: {e}"), out),
                            }
                        }
                        _ => return fail("response KE does not match our PFS group".into(), out),
                    }
                }
                (ni.to_vec(), nr.to_vec())
            }
            None => (sa.ni.clone(), sa.nr.clone()),
        };
        let keys = sa.keys.as_ref().expect("keys");
        let prf = sa.suite.expect("suite").prf;
        let (i2r, r2i) = derive_child_keys(
            prf,
            keys.sk_d.expose(),
            shared.as_ref().map(|s| s.expose()),
            &ni,
            &nr,
            choice.transform,
        );
        let child_id = ChildSaId(self.alloc_id());
        let rekey_at = ccfg.rekey_time.map(|t| now + self.jitter(t));
        let expire_at = ccfg.life_time.map(|t| now + t);
        let child = Child {
            id: child_id,
            cfg: cfg_idx,
            spi_in,
            spi_out: choice.peer_spi,
            transform: choice.transform,
            esn: choice.esn,
            mode: if transport {
                Mode::Transport
            } else {
                Mode::Tunnel
            },
            local_ts: tsi.clone(),
            remote_ts: tsr.clone(),
            rekey_at,
            rekeyed: false,
            redundant: false,
            replaced_by: None,
            expire_at,
        };
        self.install(id, &child, i2r, r2i, replaces, out);
        self.sas.get_mut(&id).expect("present").children.push(child);
        Some(child_id)
    }

    // ------------------------------------------------------------ INFORMATIONAL

    fn responder_informational(
        &mut self,
        now: Instant,
        id: IkeSaId,
        m: &Msg,
        out: &mut Vec<Action>,
    ) -> Vec<Payload> {
        let mut resp = Vec::new();
        for p in &m.payloads {
            match p {
                Payload::Delete(d) if d.protocol == protocol::IKE => {
                    let sa = self.sas.get_mut(&id).expect("present");
                    sa.closing = true;
                    return vec![];
                }
                Payload::Delete(d) if d.protocol == protocol::ESP && d.spi_size == 4 => {
                    let mut mine = Vec::new();
                    let sa = self.sas.get_mut(&id).expect("present");
                    let linger = now + self.cfg.inbound_linger;
                    let mut gone = Vec::new();
                    // Children we are closing ourselves (RFC 7296 2.25.1: answer
                    // without a Delete payload for them) and the child the peer's
                    // side of a rekey collision created (it was sending on it).
                    let (closing, collided): (Vec<ChildSaId>, Option<ChildSaId>) =
                        match &sa.outstanding {
                            Some(Outstanding {
                                req: Req::DeleteChildren { children },
                                ..
                            }) => (children.clone(), None),
                            Some(Outstanding {
                                req:
                                    Req::RekeyChild {
                                        collision: Some(c), ..
                                    },
                                ..
                            }) => (vec![], Some(c.peer_child)),
                            _ => (vec![], None),
                        };
                    let mut switch = Vec::new();
                    for s in &d.spis {
                        let spi = u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
                        if let Some(pos) = sa.children.iter().position(|c| c.spi_out == spi) {
                            let ch = sa.children.remove(pos);
                            // The peer rekeyed it and now deletes it: it has the new SA.
                            if let Some(n) = ch.replaced_by.and_then(|n| {
                                sa.children
                                    .iter()
                                    .find(|c| c.id == n && !c.rekeyed && !c.redundant)
                            }) {
                                switch.push((n.id, n.spi_out));
                            }
                            if !closing.contains(&ch.id) {
                                mine.push(ch.spi_in.to_be_bytes().to_vec());
                            }
                            if (ch.rekeyed && !ch.redundant) || collided == Some(ch.id) {
                                sa.linger.push((linger, ch.id, ch.spi_in, ch.spi_out));
                            } else {
                                gone.push((ch.id, ch.spi_in, ch.spi_out));
                            }
                            // Our own delete for this child may be queued: drop it.
                            for t in sa.queue.iter_mut() {
                                if let Task::DeleteChildren(v) = t {
                                    v.retain(|x| *x != ch.id);
                                }
                            }
                        }
                    }
                    for (child, outbound_spi) in switch {
                        out.push(Action::SwitchOutbound {
                            ike_sa: id,
                            child,
                            outbound_spi,
                        });
                    }
                    for (c, i, o) in gone {
                        out.push(Action::DeleteChildSa {
                            ike_sa: id,
                            child: c,
                            inbound_spi: i,
                            outbound_spi: o,
                        });
                    }
                    if !mine.is_empty() {
                        resp.push(Payload::Delete(DeletePayload {
                            protocol: protocol::ESP,
                            spi_size: 4,
                            spis: mine,
                        }));
                    }
                }
                Payload::Notify(n) if n.ntype == notify::AUTHENTICATION_FAILED => {
                    let sa = self.sas.get_mut(&id).expect("present");
                    out.push(Action::Event(Event::AuthenticationFailed {
                        connection: self.conns[sa.conn].name.clone(),
                        by_peer: true,
                        detail:
                            "peer rejected our authentication (INFORMATIONAL AUTHENTICATION_FAILED)"
                                .into(),
                    }));
                    sa.closing = true;
                }
                _ => {}
            }
        }
        resp
    }

    /// After a response went out: finish deletes requested by the peer.
    fn finish_after_response(&mut self, _now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        let Some(sa) = self.sas.get(&id) else { return };
        if sa.closing {
            // The peer deletes the IKE SA its side of a rekey collision created
            // (it found it redundant) before the response to our own rekey came
            // back: its CHILD_SAs go back to the old IKE SA, whose rekey is still
            // under way and will hand them to our new one (RFC 7296 2.8.2).
            let pending = self.sas.values().find_map(|o| match &o.outstanding {
                Some(Outstanding {
                    req:
                        Req::RekeyIke {
                            collision: Some(c), ..
                        },
                    ..
                }) if c.peer_new == id => Some(o.id),
                _ => None,
            });
            if let Some(old) = pending {
                let sa = self.sas.get_mut(&id).expect("present");
                let children = std::mem::take(&mut sa.children);
                let linger = std::mem::take(&mut sa.linger);
                let tasks: Vec<Task> = sa
                    .queue
                    .drain(..)
                    .filter(|t| {
                        matches!(
                            t,
                            Task::RekeyChild(_) | Task::DeleteChildren(_) | Task::CreateChild(_)
                        )
                    })
                    .collect();
                sa.state = State::Rekeyed;
                let o = self.sas.get_mut(&old).expect("present");
                o.children.extend(children);
                o.linger.extend(linger);
                o.queue.extend(tasks);
                o.successor = None;
            }
            let sa = self.sas.get(&id).expect("present");
            let reason = if sa.established_at.is_none() {
                CloseReason::AuthenticationFailed
            } else {
                CloseReason::PeerDelete
            };
            self.remove_sa(id, reason, out);
        }
    }

    // ------------------------------------------------------------ CREATE_CHILD_SA

    fn responder_create_child(
        &mut self,
        now: Instant,
        id: IkeSaId,
        m: &Msg,
        out: &mut Vec<Action>,
    ) -> Vec<Payload> {
        let Some(ni) = m.nonce().map(|n| n.to_vec()) else {
            return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
        };
        let is_ike = m
            .sa()
            .is_some_and(|p| p.iter().any(|x| x.protocol == protocol::IKE));
        let busy = match self.sas.get(&id).and_then(|s| s.outstanding.as_ref()) {
            Some(Outstanding { req, .. }) => match req {
                Req::RekeyIke { .. } => Some(true),
                Req::RekeyChild { .. } | Req::CreateChild { .. } | Req::DeleteChildren { .. } => {
                    Some(false)
                }
                _ => None,
            },
            None => None,
        };
        // RFC 7296 2.25.2: a CHILD_SA request while we rekey the IKE SA, and an IKE
        // SA rekey while we rekey, create or close a CHILD_SA, get TEMPORARY_FAILURE;
        // the peer tries again later. An IKE SA rekey while we rekey the IKE SA
        // ourselves is answered as usual and resolved by the nonces (2.8.2).
        if (busy == Some(true) && !is_ike) || (is_ike && busy == Some(false)) {
            return vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])];
        }
        if let Some(n) = m.notify(notify::REKEY_SA) {
            if n.protocol != protocol::ESP || n.spi.len() != 4 {
                return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
            }
            let spi = u32::from_be_bytes([n.spi[0], n.spi[1], n.spi[2], n.spi[3]]);
            let sa = self.sas.get(&id).expect("present");
            // A child we already replaced, or are closing (RFC 7296 2.25.1).
            let closing = |c: &Child| {
                c.rekeyed
                    || sa
                        .queue
                        .iter()
                        .any(|t| matches!(t, Task::DeleteChildren(v) if v.contains(&c.id)))
                    || matches!(&sa.outstanding, Some(Outstanding { req: Req::DeleteChildren { children }, .. }) if children.contains(&c.id))
            };
            if sa.children.iter().any(|c| c.spi_out == spi && closing(c)) {
                return vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])];
            }
            let Some(old) = sa
                .children
                .iter()
                .find(|c| c.spi_out == spi && !c.rekeyed)
                .map(|c| c.id)
            else {
                // Our own CHILD_SA exchange is under way: the peer may be rekeying
                // the SA that exchange creates, whose response we have not seen yet
                // (it was lost). Ask it to try again later.
                if matches!(
                    &sa.outstanding,
                    Some(Outstanding {
                        req: Req::RekeyChild { .. } | Req::CreateChild { .. },
                        ..
                    })
                ) {
                    return vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])];
                }
                return vec![Payload::Notify(NotifyPayload {
                    protocol: protocol::ESP,
                    ntype: notify::CHILD_SA_NOT_FOUND,
                    spi: n.spi.clone(),
                    data: vec![],
                })];
            };
            return match self.responder_child(now, id, m, Some(old), Some(&ni), out) {
                Ok(p) => p,
                Err(notify::INVALID_KE_PAYLOAD) => {
                    let sa = self.sas.get(&id).expect("present");
                    let cfg = sa
                        .children
                        .iter()
                        .find(|c| c.id == old)
                        .map_or(0, |c| c.cfg);
                    let g = self
                        .child_cfg(sa, cfg)
                        .esp_proposals
                        .iter()
                        .find_map(|p| p.dh.first().copied());
                    vec![notify_payload(
                        notify::INVALID_KE_PAYLOAD,
                        g.map_or(vec![0, 0], |g| g.id().to_be_bytes().to_vec()),
                    )]
                }
                Err(e) => vec![notify_payload(e, vec![])],
            };
        }
        if !is_ike {
            // A new CHILD_SA (RFC 7296 1.3.1).
            return match self.responder_child(now, id, m, None, Some(&ni), out) {
                Ok(p) => p,
                Err(notify::INVALID_KE_PAYLOAD) => {
                    let sa = self.sas.get(&id).expect("present");
                    let g = self.conns[sa.conn]
                        .children
                        .iter()
                        .flat_map(|c| c.esp_proposals.iter())
                        .find_map(|p| p.dh.first().copied());
                    vec![notify_payload(
                        notify::INVALID_KE_PAYLOAD,
                        g.map_or(vec![0, 0], |g| g.id().to_be_bytes().to_vec()),
                    )]
                }
                Err(e) => vec![notify_payload(e, vec![])],
            };
        }
        // IKE SA rekey (RFC 7296 2.18).
        let sa = self.sas.get(&id).expect("present");
        let conn = &self.conns[sa.conn];
        let conn_name = conn.name.clone();
        let props = m.sa().expect("checked");
        let (suite, mut chosen) = match select_ike(props, &conn.ike_proposals) {
            Ok(x) => x,
            Err(mm) => {
                self.mismatch_event(&conn_name, "IKE", &mm, out);
                return vec![notify_payload(notify::NO_PROPOSAL_CHOSEN, vec![])];
            }
        };
        if chosen.spi.len() != 8 {
            return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
        }
        let Some((g, ke)) = m.ke() else {
            return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
        };
        if g != suite.dh.id() {
            return vec![notify_payload(
                notify::INVALID_KE_PAYLOAD,
                suite.dh.id().to_be_bytes().to_vec(),
            )];
        }
        let dh = DhPrivate::generate(suite.dh, &mut *self.rng);
        let Ok(shared) = dh.agree(ke) else {
            return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
        };
        let mut s8 = [0u8; 8];
        s8.copy_from_slice(&chosen.spi);
        let peer_spi = u64::from_be_bytes(s8);
        let my_spi = self.new_ike_spi();
        let nr = self.nonce();
        chosen.spi = my_spi.to_be_bytes().to_vec();
        let resp = vec![
            Payload::Sa(vec![chosen]),
            Payload::Nonce(nr.clone()),
            Payload::Ke {
                group: suite.dh.id(),
                data: dh.public(),
            },
        ];
        let new_id = self.finish_ike_rekey(
            now, id, false, peer_spi, my_spi, suite, &ni, &nr, shared, out,
        );
        if let Some(Outstanding {
            req: Req::RekeyIke { collision, .. },
            ..
        }) = &mut self.sas.get_mut(&id).expect("present").outstanding
        {
            // Simultaneous IKE SA rekey (RFC 7296 2.8.2): settled when our own
            // exchange completes.
            *collision = Some(IkeCollision {
                peer_ni: ni.clone(),
                our_nr: nr,
                peer_new: new_id,
            });
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: "simultaneous IKE SA rekey: answered the peer's, waiting for ours".into(),
            }));
        }
        resp
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_ike_rekey(
        &mut self,
        now: Instant,
        old_id: IkeSaId,
        we_initiated: bool,
        spi_i: u64,
        spi_r: u64,
        suite: IkeSuite,
        ni: &[u8],
        nr: &[u8],
        shared: SecretBytes,
        out: &mut Vec<Action>,
    ) -> IkeSaId {
        let new_id = IkeSaId(self.alloc_id());
        let old = self.sas.get_mut(&old_id).expect("present");
        let old_prf = old.suite.expect("suite").prf;
        let old_keys = old.keys.as_ref().expect("keys");
        let skeyseed =
            crypto::skeyseed_rekey(old_prf, old_keys.sk_d.expose(), shared.expose(), ni, nr);
        let keys = derive_ike_keys(&suite, skeyseed.expose(), ni, nr, spi_i, spi_r);
        let children = std::mem::take(&mut old.children);
        let linger = std::mem::take(&mut old.linger);
        old.state = State::Rekeyed;
        old.successor = Some(new_id);
        // The peer deletes the old SA (or we do); should that never happen, it goes anyway.
        old.expire_at = Some(now + self.cfg.half_open_timeout);
        // Pending child work moves with the children.
        let moved: VecDeque<Task> = old
            .queue
            .drain(..)
            .filter(|t| {
                matches!(
                    t,
                    Task::RekeyChild(_) | Task::DeleteChildren(_) | Task::CreateChild(_)
                )
            })
            .collect();
        let conn = old.conn;
        let (local, remote, natt, behind_nat, peer_behind_nat) = (
            old.local,
            old.remote,
            old.natt,
            old.behind_nat,
            old.peer_behind_nat,
        );
        let new = IkeSa {
            id: new_id,
            conn,
            initiator: we_initiated,
            spi_i,
            spi_r,
            state: State::Established,
            local,
            remote,
            natt,
            suite: Some(suite),
            keys: Some(keys),
            ni: ni.to_vec(),
            nr: nr.to_vec(),
            dh: None,
            init_request: vec![],
            init_response: vec![],
            cookie: None,
            my_mid: 0,
            outstanding: None,
            peer_mid: 0,
            last_exchange: None,
            queue: moved,
            children,
            created: now,
            established_at: Some(now),
            last_heard: now,
            rekey_at: None,
            linger,
            closing: false,
            expire_at: None,
            behind_nat,
            peer_behind_nat,
            rfc7427: false,
            last_keepalive: now,
            successor: None,
        };
        let my_spi = if we_initiated { spi_i } else { spi_r };
        self.by_spi.insert(my_spi, new_id);
        self.sas.insert(new_id, new);
        self.schedule_ike(now, new_id);
        out.push(Action::Event(Event::IkeSaRekeyed {
            old: old_id,
            new: new_id,
        }));
        self.established_event(new_id, out);
        new_id
    }

    #[allow(clippy::too_many_arguments)]
    fn rekey_child_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        old: ChildSaId,
        cfg: usize,
        spi_in: u32,
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
        collision: Option<Collision>,
        m: &Msg,
        out: &mut Vec<Action>,
    ) {
        if let Some(n) = m.notify(notify::INVALID_KE_PAYLOAD) {
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!(
                    "CHILD_SA rekey: peer wants another PFS group ({:?}); retrying later",
                    n.data
                ),
            }));
        }
        if m.notify(notify::CHILD_SA_NOT_FOUND).is_some() {
            // RFC 7296 2.25: the peer no longer has it. Remove it silently and
            // create it again from scratch.
            let successor = self.sas.get(&id).and_then(|s| s.successor);
            for h in [Some(id), successor].into_iter().flatten() {
                let Some(sa) = self.sas.get_mut(&h) else {
                    continue;
                };
                let Some(pos) = sa.children.iter().position(|c| c.id == old) else {
                    continue;
                };
                let ch = sa.children.remove(pos);
                // Created again only if no other CHILD_SA of that configuration
                // exists (RFC 7296 2.25).
                let recreate =
                    !ch.rekeyed && !sa.children.iter().any(|c| c.cfg == ch.cfg && !c.rekeyed);
                if recreate {
                    sa.queue.push_back(Task::CreateChild(ch.cfg));
                }
                out.push(Action::DeleteChildSa {
                    ike_sa: h,
                    child: ch.id,
                    inbound_spi: ch.spi_in,
                    outbound_spi: ch.spi_out,
                });
                out.push(Action::Event(Event::Note {
                    ike_sa: Some(h),
                    text: format!(
                        "CHILD_SA rekey: peer answered CHILD_SA_NOT_FOUND; removed it{}",
                        if recreate {
                            " and creating it again"
                        } else {
                            ""
                        }
                    ),
                }));
                self.kick(now, h, out);
            }
            return;
        }
        let Some(new_child) =
            self.initiator_child(now, id, spi_in, cfg, Some((&ni, dh)), Some(old), m, out)
        else {
            // Failed (e.g. TEMPORARY_FAILURE): try again a little later.
            let sa = self.sas.get_mut(&id).expect("present");
            if let Some(c) = sa.children.iter_mut().find(|c| c.id == old && !c.rekeyed) {
                c.rekey_at = Some(now + Duration::from_secs(2));
            }
            return;
        };
        let nr = m.nonce().unwrap_or_default().to_vec();
        // The old child may already have moved to the successor of a rekeyed IKE SA.
        let successor = self.sas.get(&id).and_then(|s| s.successor);
        let old_present = [Some(id), successor].into_iter().flatten().any(|h| {
            self.sas
                .get_mut(&h)
                .and_then(|s| s.children.iter_mut().find(|c| c.id == old))
                .map(|oc| {
                    oc.rekeyed = true;
                    oc.rekey_at = None;
                })
                .is_some()
        });
        let sa = self.sas.get_mut(&id).expect("present");
        let to_delete = match collision {
            // Plain rekey: retire the old SA (unless the peer already deleted it).
            None => old_present.then_some(old),
            Some(c) => {
                // RFC 7296 2.8.1: the SA created with the lowest of the four nonces is
                // redundant and is deleted by the side that created it; the other
                // side deletes the old SA.
                let lowest_mine = ni.as_slice().min(nr.as_slice());
                let lowest_theirs = c.peer_ni.as_slice().min(c.our_nr.as_slice());
                if lowest_mine < lowest_theirs {
                    out.push(Action::Event(Event::Note {
                        ike_sa: Some(id),
                        text: "CHILD_SA rekey collision: ours is redundant, deleting it".into(),
                    }));
                    if let Some(c) = sa.children.iter_mut().find(|c| c.id == new_child) {
                        c.rekeyed = true;
                        c.redundant = true;
                        c.rekey_at = None;
                    }
                    // Never send on it: keep to the old SA while the peer has not
                    // deleted it (its DELETE then switches us to the peer's new SA),
                    // else to the peer's new SA, which the peer has by then.
                    let back = sa
                        .children
                        .iter()
                        .find(|x| x.id == old)
                        .or_else(|| sa.children.iter().find(|x| x.id == c.peer_child))
                        .map(|x| (x.id, x.spi_out));
                    if let Some((child, outbound_spi)) = back {
                        out.push(Action::SwitchOutbound {
                            ike_sa: id,
                            child,
                            outbound_spi,
                        });
                    }
                    Some(new_child)
                } else {
                    // The peer deletes its redundant SA; it may have sent on it until
                    // now, so its inbound side lingers like a rekeyed SA's.
                    if let Some(pc) = sa.children.iter_mut().find(|x| x.id == c.peer_child) {
                        pc.rekeyed = true;
                        pc.rekey_at = None;
                    }
                    out.push(Action::Event(Event::Note {
                        ike_sa: Some(id),
                        text:
                            "CHILD_SA rekey collision: the peer's is redundant, deleting the old SA"
                                .into(),
                    }));
                    old_present.then_some(old)
                }
            }
        };
        if let Some(d) = to_delete {
            sa.queue.push_front(Task::DeleteChildren(vec![d]));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn rekey_ike_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        my_spi: u64,
        ni: Vec<u8>,
        dh: DhPrivate,
        collision: Option<IkeCollision>,
        m: &Msg,
        out: &mut Vec<Action>,
    ) {
        let sa = self.sas.get(&id).expect("present");
        let conn = &self.conns[sa.conn];
        if let (Some(e), Some(_)) = (m.error_notify(), &collision) {
            // The peer completed its rekey before ours reached it: its new IKE SA
            // (which we answered) is the only one, and the peer deletes this one.
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!(
                    "simultaneous IKE SA rekey: peer refused ours ({}), keeping the peer's",
                    notify_name(e)
                ),
            }));
            return;
        }
        if let Some(e) = m.error_notify() {
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!("IKE SA rekey refused: {}; retrying later", notify_name(e)),
            }));
            let d = Duration::from_secs(2)
                + Duration::from_millis(u64::from(self.rng.next_u32() % 2000));
            self.sas.get_mut(&id).expect("present").rekey_at = Some(now + d);
            return;
        }
        let (Some(props), Some(nr), Some((g, ke))) = (m.sa(), m.nonce(), m.ke()) else {
            return;
        };
        let suite = match select_ike(props, &conn.ike_proposals) {
            Ok((s, p))
                if props.len() == 1 && p.spi.len() == 8 && g == s.dh.id() && dh.group() == s.dh =>
            {
                s
            }
            _ => {
                out.push(Action::Event(Event::Note {
                    ike_sa: Some(id),
                    text: "IKE SA rekey: unacceptable answer".into(),
                }));
                return;
            }
        };
        let Ok(shared) = dh.agree(ke) else { return };
        let mut s8 = [0u8; 8];
        s8.copy_from_slice(&props[0].spi);
        let peer_spi = u64::from_be_bytes(s8);
        let nr = nr.to_vec();
        let mine = self.finish_ike_rekey(
            now, id, true, my_spi, peer_spi, suite, &ni, &nr, shared, out,
        );
        let sa = self.sas.get_mut(&id).expect("present");
        sa.queue.clear();
        let Some(c) = collision.filter(|c| self.sas.contains_key(&c.peer_new)) else {
            // Delete the old IKE SA.
            self.sas
                .get_mut(&id)
                .expect("present")
                .queue
                .push_back(Task::DeleteIke);
            return;
        };
        // RFC 7296 2.8.2: of the two new IKE SAs, the one created with the lowest of
        // the four nonces is redundant and deleted by its creator; the other one
        // inherits the CHILD_SAs, and its creator deletes the old IKE SA.
        let ours_redundant =
            ni.as_slice().min(nr.as_slice()) < c.peer_ni.as_slice().min(c.our_nr.as_slice());
        let (survivor, redundant) = if ours_redundant {
            (c.peer_new, mine)
        } else {
            (mine, c.peer_new)
        };
        out.push(Action::Event(Event::Note {
            ike_sa: Some(id),
            text: format!(
                "simultaneous IKE SA rekey: {} IKE SA {} is redundant; IKE SA {} survives",
                if ours_redundant { "our" } else { "the peer's" },
                redundant.0,
                survivor.0
            ),
        }));
        self.sas.get_mut(&id).expect("present").successor = Some(survivor);
        let r = self.sas.get_mut(&redundant).expect("present");
        r.state = State::Rekeyed;
        r.successor = Some(survivor);
        r.rekey_at = None;
        r.expire_at = Some(now + self.cfg.half_open_timeout);
        let children = std::mem::take(&mut r.children);
        let linger = std::mem::take(&mut r.linger);
        let tasks: Vec<Task> = r.queue.drain(..).collect();
        if ours_redundant {
            r.queue.push_back(Task::DeleteIke);
        } else {
            self.sas
                .get_mut(&id)
                .expect("present")
                .queue
                .push_back(Task::DeleteIke);
        }
        let s = self.sas.get_mut(&survivor).expect("present");
        s.children.extend(children);
        s.linger.extend(linger);
        s.queue.extend(tasks.into_iter().filter(|t| {
            matches!(
                t,
                Task::RekeyChild(_) | Task::DeleteChildren(_) | Task::CreateChild(_)
            )
        }));
        self.kick(now, redundant, out);
        self.kick(now, survivor, out);
    }

    // ------------------------------------------------------------ tasks and timers

    /// Rekey a CHILD_SA now.
    pub fn rekey_child(&mut self, now: Instant, child: ChildSaId) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(id) = self
            .sas
            .values()
            .find(|s| s.state == State::Established && s.children.iter().any(|c| c.id == child))
            .map(|s| s.id)
        {
            self.sas
                .get_mut(&id)
                .expect("present")
                .queue
                .push_back(Task::RekeyChild(child));
            self.kick(now, id, &mut out);
        }
        out
    }

    /// Rekey an IKE SA now.
    pub fn rekey_ike(&mut self, now: Instant, ike: IkeSaId) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(sa) = self.sas.get_mut(&ike) {
            if sa.state == State::Established {
                sa.queue.push_back(Task::RekeyIke);
                self.kick(now, ike, &mut out);
            }
        }
        out
    }

    /// Delete an IKE SA (and its CHILD_SAs) with the peer.
    pub fn terminate(&mut self, now: Instant, ike: IkeSaId) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(sa) = self.sas.get_mut(&ike) {
            if sa.state == State::Established {
                sa.queue.clear();
                sa.queue.push_back(Task::DeleteIke);
                self.kick(now, ike, &mut out);
            } else {
                self.remove_sa(ike, CloseReason::LocalDelete, &mut out);
            }
        }
        out
    }

    /// Send an arbitrary request over an established IKE SA (diagnostics and
    /// fuzzing of a peer: the payloads are sent as given, encrypted and
    /// retransmitted like any request; the response is only checked for its ID).
    pub fn send_raw_request(
        &mut self,
        now: Instant,
        ike: IkeSaId,
        exchange_type: u8,
        payloads: Vec<Payload>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(sa) = self.sas.get(&ike) {
            if sa.state == State::Established && sa.outstanding.is_none() {
                self.send_request(now, ike, exchange_type, payloads, Req::Dpd, &mut out);
            }
        }
        out
    }

    /// Send a liveness check now.
    pub fn dpd(&mut self, now: Instant, ike: IkeSaId) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(sa) = self.sas.get_mut(&ike) {
            sa.queue.push_back(Task::Dpd);
            self.kick(now, ike, &mut out);
        }
        out
    }

    /// A CHILD_SA exchange that was in flight on an IKE SA while the peer rekeyed
    /// that IKE SA completes on the old SA: its children and pending child work
    /// belong to the new one.
    fn migrate_to_successor(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        let Some(old) = self.sas.get_mut(&id) else {
            return;
        };
        let Some(succ) = old.successor.filter(|_| old.state == State::Rekeyed) else {
            return;
        };
        let is_child_task = |t: &Task| {
            matches!(
                t,
                Task::RekeyChild(_) | Task::DeleteChildren(_) | Task::CreateChild(_)
            )
        };
        if old.children.is_empty() && old.linger.is_empty() && !old.queue.iter().any(is_child_task)
        {
            return;
        }
        let children = std::mem::take(&mut old.children);
        let linger = std::mem::take(&mut old.linger);
        let (tasks, keep): (Vec<Task>, Vec<Task>) = old.queue.drain(..).partition(is_child_task);
        old.queue.extend(keep);
        if let Some(new) = self.sas.get_mut(&succ) {
            new.children.extend(children);
            new.linger.extend(linger);
            new.queue.extend(tasks);
            self.kick(now, succ, out);
        }
    }

    /// Set the rekey (soft, with jitter) and expiry (hard) times of an IKE SA.
    fn schedule_ike(&mut self, now: Instant, id: IkeSaId) {
        let Some(sa) = self.sas.get(&id) else { return };
        let conn = &self.conns[sa.conn];
        let (soft, hard) = (conn.rekey_time, conn.life_time);
        let rekey_at = soft.map(|t| now + self.jitter(t));
        let sa = self.sas.get_mut(&id).expect("present");
        sa.rekey_at = rekey_at;
        sa.expire_at = hard.map(|t| now + t);
    }

    /// Start the next queued exchange if none is outstanding.
    fn kick(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        loop {
            let Some(sa) = self.sas.get_mut(&id) else {
                return;
            };
            if sa.outstanding.is_some() || !matches!(sa.state, State::Established | State::Rekeyed)
            {
                return;
            }
            let Some(task) = sa.queue.pop_front() else {
                return;
            };
            if sa.state == State::Rekeyed && !matches!(task, Task::DeleteIke) {
                continue;
            }
            match task {
                Task::Dpd => {
                    self.send_request(now, id, exchange::INFORMATIONAL, vec![], Req::Dpd, out);
                }
                Task::DeleteIke => {
                    for c in std::mem::take(&mut sa.children) {
                        out.push(Action::DeleteChildSa {
                            ike_sa: id,
                            child: c.id,
                            inbound_spi: c.spi_in,
                            outbound_spi: c.spi_out,
                        });
                    }
                    if sa.state != State::Rekeyed {
                        sa.state = State::Deleting;
                    }
                    let p = vec![Payload::Delete(DeletePayload {
                        protocol: protocol::IKE,
                        spi_size: 0,
                        spis: vec![],
                    })];
                    // send_request needs Established/Deleting; it does not check state.
                    self.send_request(now, id, exchange::INFORMATIONAL, p, Req::DeleteIke, out);
                    return;
                }
                Task::DeleteChildren(children) => {
                    let spis: Vec<Vec<u8>> = sa
                        .children
                        .iter()
                        .filter(|c| children.contains(&c.id))
                        .map(|c| c.spi_in.to_be_bytes().to_vec())
                        .collect();
                    if spis.is_empty() {
                        continue;
                    }
                    let p = vec![Payload::Delete(DeletePayload {
                        protocol: protocol::ESP,
                        spi_size: 4,
                        spis,
                    })];
                    self.send_request(
                        now,
                        id,
                        exchange::INFORMATIONAL,
                        p,
                        Req::DeleteChildren { children },
                        out,
                    );
                }
                Task::CreateChild(cfg) => {
                    let Some(ccfg) = self.conns[sa.conn].children.get(cfg).cloned() else {
                        continue;
                    };
                    let spi_in = self.new_child_spi();
                    let ni = self.nonce();
                    let group = ccfg
                        .esp_proposals
                        .iter()
                        .find_map(|p| p.dh.first().copied());
                    let dh = group.map(|g| DhPrivate::generate(g, &mut *self.rng));
                    let mut p = Vec::new();
                    push_child_proposal(
                        &mut p,
                        &ccfg,
                        spi_in,
                        &ni,
                        dh.as_ref(),
                        ccfg.local_ts.clone(),
                        ccfg.remote_ts.clone(),
                    );
                    self.send_request(
                        now,
                        id,
                        exchange::CREATE_CHILD_SA,
                        p,
                        Req::CreateChild {
                            cfg,
                            spi_in,
                            ni,
                            dh,
                        },
                        out,
                    );
                }
                Task::RekeyChild(cid) => {
                    let Some(c) = sa.children.iter().find(|c| c.id == cid && !c.rekeyed) else {
                        continue;
                    };
                    let (old_spi, cfg, lts, rts) =
                        (c.spi_in, c.cfg, c.local_ts.clone(), c.remote_ts.clone());
                    let ccfg = self.conns[sa.conn].children[cfg].clone();
                    let spi_in = self.new_child_spi();
                    let ni = self.nonce();
                    let group = ccfg
                        .esp_proposals
                        .iter()
                        .find_map(|p| p.dh.first().copied());
                    let dh = group.map(|g| DhPrivate::generate(g, &mut *self.rng));
                    let mut p = vec![Payload::Notify(NotifyPayload {
                        protocol: protocol::ESP,
                        ntype: notify::REKEY_SA,
                        spi: old_spi.to_be_bytes().to_vec(),
                        data: vec![],
                    })];
                    push_child_proposal(&mut p, &ccfg, spi_in, &ni, dh.as_ref(), lts, rts);
                    self.send_request(
                        now,
                        id,
                        exchange::CREATE_CHILD_SA,
                        p,
                        Req::RekeyChild {
                            old: cid,
                            cfg,
                            spi_in,
                            ni,
                            dh,
                            collision: None,
                        },
                        out,
                    );
                }
                Task::RekeyIke => {
                    if sa.state != State::Established {
                        continue;
                    }
                    let conn = &self.conns[sa.conn];
                    let group = sa.suite.expect("suite").dh;
                    let props: Vec<_> = conn.ike_proposals.clone();
                    let spi = self.new_ike_spi();
                    let ni = self.nonce();
                    let dh = DhPrivate::generate(group, &mut *self.rng);
                    // Put the proposals with the current group first so our KE fits.
                    let mut wire_props = Vec::new();
                    for (i, p) in props.iter().enumerate() {
                        let mut p = p.clone();
                        if let Some(pos) = p.dh.iter().position(|g| *g == group) {
                            p.dh.swap(0, pos);
                        }
                        wire_props.push(p.to_wire(i as u8 + 1, spi.to_be_bytes().to_vec()));
                    }
                    let p = vec![
                        Payload::Sa(wire_props),
                        Payload::Nonce(ni.clone()),
                        Payload::Ke {
                            group: group.id(),
                            data: dh.public(),
                        },
                    ];
                    self.send_request(
                        now,
                        id,
                        exchange::CREATE_CHILD_SA,
                        p,
                        Req::RekeyIke {
                            spi,
                            ni,
                            dh,
                            collision: None,
                        },
                        out,
                    );
                }
            }
        }
    }

    fn remove_sa(&mut self, id: IkeSaId, reason: CloseReason, out: &mut Vec<Action>) {
        let Some(sa) = self.sas.remove(&id) else {
            return;
        };
        self.by_spi.retain(|_, v| *v != id);
        self.half_open.retain(|_, v| *v != id);
        for c in &sa.children {
            out.push(Action::DeleteChildSa {
                ike_sa: id,
                child: c.id,
                inbound_spi: c.spi_in,
                outbound_spi: c.spi_out,
            });
        }
        for (_, c, i, o) in &sa.linger {
            out.push(Action::DeleteChildSa {
                ike_sa: id,
                child: *c,
                inbound_spi: *i,
                outbound_spi: *o,
            });
        }
        let reason = if sa.state == State::Rekeyed {
            CloseReason::Rekeyed
        } else {
            reason
        };
        out.push(Action::Event(Event::IkeSaClosed {
            ike_sa: id,
            connection: self.conns[sa.conn].name.clone(),
            reason,
        }));
    }

    /// Advance time: retransmissions, rekeys, liveness checks, removals.
    pub fn handle_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let ids: Vec<IkeSaId> = self.sas.keys().copied().collect();
        for id in ids {
            let Some(sa) = self.sas.get_mut(&id) else {
                continue;
            };
            // Old inbound SAs whose linger time is over.
            let mut due = Vec::new();
            sa.linger.retain(|(t, c, i, o)| {
                if *t <= now {
                    due.push((*c, *i, *o));
                    false
                } else {
                    true
                }
            });
            for (c, i, o) in due {
                out.push(Action::DeleteChildSa {
                    ike_sa: id,
                    child: c,
                    inbound_spi: i,
                    outbound_spi: o,
                });
            }
            if sa.state == State::HalfOpen && now >= sa.created + self.cfg.half_open_timeout {
                self.remove_sa(id, CloseReason::HalfOpenTimeout, &mut out);
                continue;
            }
            if let Some(o) = &mut sa.outstanding {
                if now >= o.next_at {
                    if o.tries >= self.cfg.retransmit_tries {
                        let reason = if matches!(o.req, Req::DeleteIke) {
                            CloseReason::LocalDelete
                        } else {
                            CloseReason::PeerDead
                        };
                        out.push(Action::Event(Event::Note {
                            ike_sa: Some(id),
                            text: format!("no answer after {} retransmissions", o.tries),
                        }));
                        self.remove_sa(id, reason, &mut out);
                        continue;
                    }
                    o.tries += 1;
                    o.timeout = o.timeout.mul_f64(self.cfg.retransmit_backoff);
                    o.next_at = now + o.timeout;
                    let msg = o.msg.clone();
                    let (l, r) = (sa.local, sa.remote);
                    self.stats.retransmits += 1;
                    self.send(l, r, &msg, &mut out);
                }
                continue;
            }
            if sa.state == State::Rekeyed && sa.expire_at.is_some_and(|t| now >= t) {
                self.remove_sa(id, CloseReason::Rekeyed, &mut out);
                continue;
            }
            if sa.state != State::Established {
                continue;
            }
            if sa.behind_nat && sa.natt && now >= sa.last_keepalive + self.cfg.natt_keepalive {
                sa.last_keepalive = now;
                out.push(Action::Send {
                    local: sa.local,
                    remote: sa.remote,
                    datagram: vec![0xff],
                });
            }
            if sa.expire_at.is_some_and(|t| now >= t) {
                sa.expire_at = None;
                sa.rekey_at = None;
                out.push(Action::Event(Event::Note {
                    ike_sa: Some(id),
                    text: "hard lifetime reached before a rekey; deleting the IKE SA".into(),
                }));
                sa.queue.clear();
                sa.queue.push_back(Task::DeleteIke);
            }
            if sa.rekey_at.is_some_and(|t| now >= t) {
                sa.rekey_at = None;
                sa.queue.push_back(Task::RekeyIke);
            }
            let expired: Vec<ChildSaId> = sa
                .children
                .iter_mut()
                .filter(|c| !c.rekeyed && c.expire_at.is_some_and(|t| now >= t))
                .map(|c| {
                    c.expire_at = None;
                    c.rekey_at = None;
                    c.id
                })
                .collect();
            if !expired.is_empty() {
                out.push(Action::Event(Event::Note {
                    ike_sa: Some(id),
                    text: format!(
                        "{} CHILD_SA(s) reached their hard lifetime before a rekey; deleting",
                        expired.len()
                    ),
                }));
                sa.queue.push_back(Task::DeleteChildren(expired));
            }
            for c in sa.children.iter_mut() {
                if !c.rekeyed && c.rekey_at.is_some_and(|t| now >= t) {
                    c.rekey_at = None;
                    sa.queue.push_back(Task::RekeyChild(c.id));
                }
            }
            if let Some(d) = self.conns[sa.conn].dpd_delay {
                if now >= sa.last_heard + d && sa.queue.is_empty() {
                    sa.last_heard = now;
                    sa.queue.push_back(Task::Dpd);
                }
            }
            self.kick(now, id, &mut out);
        }
        out
    }

    /// When `handle_timer` next has work (None: nothing scheduled).
    pub fn next_timer(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut put = |x: Instant| t = Some(t.map_or(x, |y| y.min(x)));
        for sa in self.sas.values() {
            if let Some(o) = &sa.outstanding {
                put(o.next_at);
            }
            if sa.state == State::HalfOpen {
                put(sa.created + self.cfg.half_open_timeout);
            }
            if let (State::Rekeyed, Some(t)) = (sa.state, sa.expire_at) {
                put(t);
            }
            for (at, ..) in &sa.linger {
                put(*at);
            }
            if sa.state == State::Established && sa.outstanding.is_none() {
                for r in [sa.rekey_at, sa.expire_at].into_iter().flatten() {
                    put(r);
                }
                if sa.behind_nat && sa.natt {
                    put(sa.last_keepalive + self.cfg.natt_keepalive);
                }
                for c in &sa.children {
                    for r in [c.rekey_at, c.expire_at].into_iter().flatten() {
                        put(r);
                    }
                }
                if let Some(d) = self.conns[sa.conn].dpd_delay {
                    put(sa.last_heard + d);
                }
            }
        }
        t
    }
}
