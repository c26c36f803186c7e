//! The public types of the engine: ids, settings, actions, events, errors and operator views.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::config::Mode;
use crate::crypto::{self, ChildKeys, DhGroup, EspTransform, IkeSuite};
use crate::wire::TrafficSelector;

use super::state::{Connections, IkeSa, State};

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
    /// Hard cap on half-open IKE SAs (responder): at this many, a new
    /// IKE_SA_INIT request is dropped (counted as `HalfOpenLimit`), even with a
    /// valid cookie. It bounds the memory an unauthenticated peer can take.
    pub half_open_limit: usize,
    /// Half-open IKE SAs (responder) from one source address: at this many made
    /// without a cookie, that address must return a cookie (RFC 7296 2.6); at
    /// this many more made with one, its requests are dropped (`SourceLimit`).
    /// So one address holds at most twice this many, and a flood that fakes a
    /// peer's address (and cannot return cookies) does not lock the peer out.
    pub half_open_per_source: usize,
    /// How long one cookie secret is used; the previous one is still accepted
    /// for one more such period (RFC 7296 2.6), so a cookie lives at most two.
    pub cookie_secret_lifetime: Duration,
    /// Largest IKE_SA_INIT request accepted (bytes): a half-open IKE SA keeps
    /// its request, so this and `half_open_limit` bound their memory. RFC 7296
    /// section 2 asks for 3000 octets; larger ones are dropped (`TooLarge`).
    pub max_init_request: usize,
    /// CHILD_SAs (not counting ones being replaced by a rekey) one IKE SA may
    /// have: a CREATE_CHILD_SA request for one more is answered NO_ADDITIONAL_SAS.
    pub max_child_sas: usize,
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
            half_open_limit: 1024,
            half_open_per_source: 16,
            cookie_secret_lifetime: Duration::from_secs(120),
            max_child_sas: 16,
            max_init_request: 4096,
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
    /// We answered an IKE_SA_INIT request with a COOKIE to be repeated with it
    /// (RFC 7296 2.6): half-open IKE SAs are over `cookie_threshold`, or its
    /// source address has `half_open_per_source` made without a cookie.
    CookieDemanded {
        /// The requester.
        remote: SocketAddr,
        /// The request carried a cookie, but not a valid one (forged, or older
        /// than two secret periods).
        invalid: bool,
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
    /// An IKE_SA_INIT request while `half_open_limit` half-open IKE SAs exist.
    HalfOpenLimit,
    /// An IKE_SA_INIT request larger than `max_init_request`.
    TooLarge,
    /// An IKE_SA_INIT request with a valid cookie from an address that has
    /// `half_open_per_source` half-open IKE SAs made with cookies.
    SourceLimit,
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
            Event::CookieDemanded { remote, invalid } => write!(
                f,
                "IKE_SA_INIT from {remote}: {}cookie demanded (many half-open IKE SAs)",
                if *invalid { "invalid cookie, new " } else { "" }
            ),
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
    /// Times the cookie secret was changed.
    pub cookie_secret_rotations: u64,
    /// CREATE_CHILD_SA requests answered NO_ADDITIONAL_SAS (`max_child_sas`).
    pub child_sa_limit_refusals: u64,
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

impl Action {
    /// An [`Event::ProposalMismatch`].
    pub(super) fn proposal_mismatch(
        connection: &str,
        what: &'static str,
        detail: impl ToString,
    ) -> Action {
        Action::Event(Event::ProposalMismatch {
            connection: connection.to_string(),
            what,
            detail: detail.to_string(),
        })
    }
    /// An [`Event::Note`].
    pub(super) fn note(ike_sa: impl Into<Option<IkeSaId>>, text: impl Into<String>) -> Action {
        Action::Event(Event::Note {
            ike_sa: ike_sa.into(),
            text: text.into(),
        })
    }
}

/// The [`Event::IkeSaEstablished`] of `sa`.
pub(super) fn established_event(sa: &IkeSa, conns: &Connections) -> Action {
    Action::Event(Event::IkeSaEstablished {
        ike_sa: sa.id,
        connection: conns.get(sa.conn).name.clone(),
        remote: sa.remote,
        suite: sa.suite.as_ref().map(suite_name).unwrap_or_default(),
        local_spi: sa.local_spi(),
        remote_spi: sa.remote_spi(),
        natt: sa.natt,
    })
}

/// The operator view of `sa`.
pub(super) fn ike_sa_info(sa: &IkeSa, conns: &Connections) -> IkeSaInfo {
    IkeSaInfo {
        id: sa.id,
        connection: conns.get(sa.conn).name.clone(),
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
        rekey_at: sa.life.rekey_at,
        expires_at: sa.life.expire_at,
        next_request_id: sa.my_mid,
        next_peer_id: sa.peer_mid,
        children: sa
            .children
            .iter()
            .map(|c| ChildSaInfo {
                id: c.id,
                name: conns
                    .child(sa.conn, c.cfg)
                    .map_or_else(|_| String::new(), |cc| cc.name.clone()),
                inbound_spi: c.spi_in,
                outbound_spi: c.spi_out,
                transform: c.transform,
                mode: c.mode,
                local_ts: c.local_ts.clone(),
                remote_ts: c.remote_ts.clone(),
                rekey_at: c.life.rekey_at,
                rekeyed: c.rekeyed,
                expires_at: c.life.expire_at,
            })
            .collect(),
    }
}
