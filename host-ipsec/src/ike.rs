//! IKEv2 in the daemon: one thread owns the sans-I/O [`ikev2::Engine`] and feeds it
//! the datagrams of UDP 500 (its own socket) and UDP 4500 (the data path's
//! encapsulation socket, through the IKE sink), its timers and the control
//! commands (`initiate`, `terminate`, reload). It carries out the engine's actions:
//! `Send` on the socket bound to the action's local address, `InstallChildSa` /
//! `DeleteChildSa` through the [`SaInstaller`] (so a negotiated CHILD_SA runs on the
//! card or in software per the connection's `offload`, like a manual SA), events to
//! the log and to a bounded list kept for `ipsecctl status`.
//!
//! Keys never leave this module except inside the [`ChildSaSpec`] handed to the
//! installer; events and logs carry none.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{
    channel, sync_channel, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError,
};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ikev2::config::ts_from_cidr;
use ikev2::{
    Action, ChildConfig, ChildSaId, ChildSaInstall, Engine, EngineConfig, EspProposal,
    EspTransform, Event, Identity, IkeProposal, IkeSaId, IkeSaInfo, SecretBytes, TrafficSelector,
    UdpEncap,
};
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};
use zeroize::Zeroizing;

use crate::config::{
    self, DpdAction, Encap, IkeAuth, IpPrefix, KeyMaterial, Lifetime, ManualSa, Mode, StartAction,
    Transform,
};
use crate::defaults;
use crate::sa::{ChildSaSpec, Origin, SaInstaller};

/// What the IKE thread needs from the outside world: sending datagrams and
/// installing SAs. The daemon implements it over the data path and a UDP 500
/// socket; tests implement it in memory.
pub trait IkeIo: Send {
    /// Sends `datagram` from the socket bound to `local` (NAT-T marker included).
    fn send(&self, local: SocketAddr, remote: SocketAddr, datagram: &[u8]) -> io::Result<()>;
    /// The SA installer.
    fn installer(&self) -> &dyn SaInstaller;
    /// Start on traffic: makes packets for `remote_ts` reach the data path (and so
    /// an acquire) while no SA covers them. Idempotent.
    fn trap_routes(&self, _remote_ts: &[IpPrefix]) {}
    /// Outbound packets of the pair's selectors go to the pair with `inbound_spi`
    /// (a rekeyed CHILD_SA) rather than to an older pair with the same selectors.
    fn prefer_outbound(&self, _inbound_spi: u32) {}
    /// The peer's NAT made a new mapping: the pair with `inbound_spi` sends its
    /// ESP-in-UDP from `encap.local` to `encap.remote` from now on; keys, SPIs and
    /// sequence numbers stay.
    fn update_encap(&self, _inbound_spi: u32, _encap: UdpEncap) -> Result<(), String> {
        Err("this data path cannot move an SA's UDP encapsulation".into())
    }
}

/// A message to the IKE thread.
#[derive(Debug)]
pub enum IkeMsg {
    /// A datagram received on `local` from `remote` (on the NAT-T port with its
    /// non-ESP marker).
    Datagram {
        /// Our address and port.
        local: SocketAddr,
        /// The sender.
        remote: SocketAddr,
        /// UDP payload.
        message: Vec<u8>,
    },
    /// `ipsecctl initiate CONN`.
    Initiate(String, Sender<Result<u64, String>>),
    /// `ipsecctl terminate CONN|ID`: the IKE SAs closed.
    Terminate(String, Sender<Result<Vec<u64>, String>>),
    /// The data path saw an outbound packet that matches no SA (start on traffic).
    Acquire {
        /// Inner source.
        src: IpAddr,
        /// Inner destination.
        dst: IpAddr,
    },
    /// New IKE connections after a reload.
    Reload(Vec<config::Connection>, Sender<Result<usize, String>>),
    /// Stop the thread.
    Stop,
}

/// One CHILD_SA as `list-sas` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IkeChildStatus {
    /// Engine handle.
    pub id: u64,
    /// Child name.
    pub name: String,
    /// Inbound SPI (0x........).
    pub in_spi: String,
    /// Outbound SPI.
    pub out_spi: String,
    /// Transform keyword.
    pub transform: String,
    /// tunnel | transport.
    pub mode: String,
    /// Narrowed local selectors.
    pub local_ts: Vec<String>,
    /// Narrowed remote selectors.
    pub remote_ts: Vec<String>,
    /// Seconds to the next rekey.
    pub rekey_in_s: Option<u64>,
    /// Seconds to the hard expiry.
    pub expires_in_s: Option<u64>,
    /// Replaced by a rekey, waiting for removal.
    pub rekeyed: bool,
}

/// One IKE SA as `list-sas` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IkeSaStatus {
    /// Engine handle (what `terminate` takes).
    pub id: u64,
    /// Connection.
    pub connection: String,
    /// CONNECTING | AUTHENTICATING | ESTABLISHED | DELETING.
    pub state: String,
    /// initiator | responder.
    pub role: String,
    /// Our address and port.
    pub local: String,
    /// The peer's address and port.
    pub remote: String,
    /// Initiator's SPI (hex).
    pub spi_i: String,
    /// Responder's SPI (hex).
    pub spi_r: String,
    /// Algorithms (encryption/PRF/DH group).
    pub suite: String,
    /// Authentication method of the connection (`psk` | `pubkey`; the engine does
    /// not report it per IKE SA, so this is the connection's configured method).
    #[serde(default)]
    pub auth: String,
    /// NAT-T (UDP 4500) in use.
    pub natt: bool,
    /// Seconds since established.
    pub established_s: Option<u64>,
    /// Seconds to the next rekey.
    pub rekey_in_s: Option<u64>,
    /// Seconds to the hard expiry.
    pub expires_in_s: Option<u64>,
    /// CHILD_SAs.
    pub children: Vec<IkeChildStatus>,
}

/// One logged IKE event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IkeEventRecord {
    /// Unix time, seconds.
    pub time: u64,
    /// established | rekeyed | closed | proposal_mismatch | authentication_failed |
    /// child_failed | install_failed | dropped | note.
    pub kind: String,
    /// The log line (no keys).
    pub text: String,
}

/// IKE counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IkeCounters {
    /// Dropped datagrams by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Retransmissions sent.
    pub retransmits: u64,
    /// Responses re-sent for retransmitted requests.
    pub responses_resent: u64,
    /// Cookies demanded.
    pub cookies_sent: u64,
    /// CHILD_SAs installed in the data path.
    pub child_installs: u64,
    /// CHILD_SAs the data path refused.
    pub install_failures: u64,
    /// CHILD_SAs removed.
    pub child_removals: u64,
    /// Datagrams that could not be sent.
    pub send_errors: u64,
    /// Authentication failures (either side).
    pub auth_failures: u64,
    /// Datagrams dropped because the IKE thread's queue was full (a flood).
    #[serde(default)]
    pub queue_drops: u64,
    /// CHILD_SAs moved to the peer's new NAT mapping.
    #[serde(default)]
    pub encap_updates: u64,
    /// NAT mapping changes the data path could not follow.
    #[serde(default)]
    pub encap_update_failures: u64,
}

/// What the control socket shows of IKE.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IkeView {
    /// IKE SAs.
    pub sas: Vec<IkeSaStatus>,
    /// Counters.
    pub counters: IkeCounters,
    /// The latest events, oldest first.
    pub events: Vec<IkeEventRecord>,
}

/// Why a connection could not be handed to the engine.
#[derive(Debug, thiserror::Error)]
#[error("connection {connection}: {reason}")]
pub struct IkeConfigError {
    /// Connection.
    pub connection: String,
    /// Reason.
    pub reason: String,
}

/// The engine's connection for a configured IKE connection (`None` for manual keys).
pub fn engine_connection(
    c: &config::Connection,
) -> Result<Option<ikev2::Connection>, IkeConfigError> {
    let Some(ike) = &c.ike else { return Ok(None) };
    let err = |reason: String| IkeConfigError {
        connection: c.name.clone(),
        reason,
    };
    let ts = |v: &[IpPrefix]| -> Result<Vec<TrafficSelector>, IkeConfigError> {
        v.iter()
            .map(|p| ts_from_cidr(&p.to_string()).map_err(|e| err(e.to_string())))
            .collect()
    };
    let mut children = Vec::new();
    for ch in &ike.children {
        children.push(ChildConfig {
            name: ch.name.clone(),
            local_ts: ts(&ch.local_ts)?,
            remote_ts: ts(&ch.remote_ts)?,
            mode: match ch.mode {
                Mode::Tunnel => ikev2::Mode::Tunnel,
                Mode::Transport => ikev2::Mode::Transport,
            },
            esp_proposals: ch
                .esp_proposals
                .iter()
                .map(|p| EspProposal::parse(p).map_err(|e| err(e.to_string())))
                .collect::<Result<_, _>>()?,
            rekey_time: ch.rekey_time,
            life_time: ch.life_time,
        });
    }
    Ok(Some(ikev2::Connection {
        name: c.name.clone(),
        local_addr: c.local_addr,
        remote_addr: Some(c.remote_addr),
        local_id: Identity::parse(&ike.local_id).map_err(|e| err(e.to_string()))?,
        remote_id: Identity::parse(&ike.remote_id).map_err(|e| err(e.to_string()))?,
        psk: match &ike.auth {
            IkeAuth::Psk(p) => SecretBytes::new(p.0.to_vec()),
            // Not used once the engine has the connection's certificates; random, so
            // that no PSK could ever authenticate it.
            IkeAuth::Pubkey(_) => {
                let mut k = vec![0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
                SecretBytes::new(k)
            }
        },
        ike_proposals: ike
            .proposals
            .iter()
            .map(|p| IkeProposal::parse(p).map_err(|e| err(e.to_string())))
            .collect::<Result<_, _>>()?,
        children,
        rekey_time: ike.rekey_time,
        life_time: ike.life_time,
        dpd_delay: ike.dpd_delay,
        // ESP in UDP is the connection's choice even without a NAT on the way.
        force_encap: c.encap == Encap::Udp,
    }))
}

/// Hands the certificates of a `pubkey` connection to the engine (nothing for a
/// PSK connection). Call after `add_connection` / `replace_connection`.
pub fn apply_auth(engine: &mut Engine, c: &config::Connection) -> Result<(), IkeConfigError> {
    let Some(IkeAuth::Pubkey(p)) = c.ike.as_ref().map(|i| &i.auth) else {
        return Ok(());
    };
    let err = |e: ikev2::CertError| IkeConfigError {
        connection: c.name.clone(),
        reason: e.to_string(),
    };
    engine
        .set_cert_auth(&c.name, p.cert_auth().map_err(err)?)
        .map_err(err)
}

/// The prefixes that exactly cover the address range `start..=end` (same family).
pub fn range_to_prefixes(start: IpAddr, end: IpAddr) -> Vec<IpPrefix> {
    fn cover(
        mut lo: u128,
        hi: u128,
        bits: u32,
        mk: impl Fn(u128, u8) -> IpPrefix,
    ) -> Vec<IpPrefix> {
        let mut out = Vec::new();
        if lo > hi {
            return out;
        }
        loop {
            // the largest aligned block starting at lo that stays within hi
            let mut size_log = if lo == 0 {
                bits
            } else {
                lo.trailing_zeros().min(bits)
            };
            while size_log > 0 {
                let last = if size_log >= 128 {
                    u128::MAX
                } else {
                    lo | ((1u128 << size_log) - 1)
                };
                if last <= hi {
                    break;
                }
                size_log -= 1;
            }
            let len = u8::try_from(bits - size_log).unwrap_or(0);
            out.push(mk(lo, len));
            let last = if size_log >= 128 {
                u128::MAX
            } else {
                lo | ((1u128 << size_log) - 1)
            };
            if last >= hi {
                break;
            }
            lo = last + 1;
        }
        out
    }
    match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => cover(
            u128::from(u32::from(s)),
            u128::from(u32::from(e)),
            32,
            |a, len| IpPrefix {
                addr: IpAddr::V4(u32::try_from(a).unwrap_or(0).into()),
                len,
            },
        ),
        (IpAddr::V6(s), IpAddr::V6(e)) => {
            cover(u128::from(s), u128::from(e), 128, |a, len| IpPrefix {
                addr: IpAddr::V6(a.into()),
                len,
            })
        }
        _ => Vec::new(),
    }
}

fn ts_prefixes(ts: &[TrafficSelector]) -> Vec<IpPrefix> {
    ts.iter()
        .flat_map(|t| range_to_prefixes(t.start_addr, t.end_addr))
        .collect()
}

fn ts_text(ts: &[TrafficSelector]) -> Vec<String> {
    ts_prefixes(ts).iter().map(ToString::to_string).collect()
}

fn transform_of(t: EspTransform) -> Option<Transform> {
    Some(match t {
        EspTransform::AesGcm16 { bits: 128 } => Transform::AesGcm128,
        EspTransform::AesGcm16 { bits: 256 } => Transform::AesGcm256,
        EspTransform::AesCbcHmacSha256 { bits: 128 } => Transform::AesCbc128HmacSha256,
        EspTransform::AesCbcHmacSha256 { bits: 256 } => Transform::AesCbc256HmacSha256,
        _ => return None,
    })
}

fn key_material(k: &ikev2::ChildKeys, t: Transform) -> KeyMaterial {
    // GCM: key then 4-byte salt; CBC: AES key then HMAC key (what `esp` takes).
    let mut v = Zeroizing::new(Vec::with_capacity(t.key_material_len()));
    v.extend_from_slice(k.enc_key.expose());
    v.extend_from_slice(k.salt.expose());
    v.extend_from_slice(k.integ_key.expose());
    KeyMaterial(v)
}

/// The data path's description of a negotiated CHILD_SA.
pub fn child_spec(i: &ChildSaInstall, conn: &config::Connection) -> Result<ChildSaSpec, String> {
    let transform = transform_of(i.transform)
        .ok_or_else(|| format!("transform {:?} unsupported", i.transform))?;
    let replay_window = conn
        .ike
        .as_ref()
        .and_then(|k| k.children.iter().find(|c| c.name == i.name))
        .map_or(defaults::REPLAY_WINDOW, |c| c.replay_window);
    let (encap, local_port, remote_port) = match i.encap {
        Some(e) => (Encap::Udp, e.local.port(), e.remote.port()),
        None => (Encap::Raw, conn.local_port, conn.remote_port),
    };
    let spec = ChildSaSpec {
        connection: i.connection.clone(),
        child: i.name.clone(),
        origin: Origin::Ike,
        local_addr: i.local_addr,
        remote_addr: i.remote_addr,
        encap,
        local_port,
        remote_port,
        mode: match i.mode {
            ikev2::Mode::Tunnel => Mode::Tunnel,
            ikev2::Mode::Transport => Mode::Transport,
        },
        local_ts: ts_prefixes(&i.local_ts),
        remote_ts: ts_prefixes(&i.remote_ts),
        transform,
        esn: i.esn,
        replay_window,
        inbound: ManualSa {
            spi: i.inbound.spi,
            key: key_material(&i.inbound.keys, transform),
        },
        outbound: ManualSa {
            spi: i.outbound.spi,
            key: key_material(&i.outbound.keys, transform),
        },
        lifetime: Lifetime::default(),
        offload: conn.offload,
        path_mtu: conn.path_mtu,
    };
    if spec.inbound.key.as_bytes().len() != transform.key_material_len() {
        return Err("negotiated key length does not fit the transform".into());
    }
    Ok(spec)
}

fn secs_until(now: Instant, t: Option<Instant>) -> Option<u64> {
    t.map(|t| t.saturating_duration_since(now).as_secs())
}

fn sa_status(now: Instant, s: &IkeSaInfo, auth: &str) -> IkeSaStatus {
    IkeSaStatus {
        auth: auth.to_string(),
        id: s.id.0,
        connection: s.connection.clone(),
        state: format!("{:?}", s.state).to_uppercase(),
        role: if s.initiator {
            "initiator"
        } else {
            "responder"
        }
        .into(),
        local: s.local.to_string(),
        remote: s.remote.to_string(),
        spi_i: format!("{:016x}", s.spi_i),
        spi_r: format!("{:016x}", s.spi_r),
        suite: s.suite.clone().unwrap_or_default(),
        natt: s.natt,
        established_s: s
            .established_at
            .map(|t| now.saturating_duration_since(t).as_secs()),
        rekey_in_s: secs_until(now, s.rekey_at),
        expires_in_s: secs_until(now, s.expires_at),
        children: s
            .children
            .iter()
            .map(|c| IkeChildStatus {
                id: c.id.0,
                name: c.name.clone(),
                in_spi: format!("{:#010x}", c.inbound_spi),
                out_spi: format!("{:#010x}", c.outbound_spi),
                transform: transform_of(c.transform).map_or_else(
                    || format!("{:?}", c.transform),
                    |t| config::proposal_name(t).to_string(),
                ),
                mode: format!("{:?}", c.mode).to_lowercase(),
                local_ts: ts_text(&c.local_ts),
                remote_ts: ts_text(&c.remote_ts),
                rekey_in_s: secs_until(now, c.rekey_at),
                expires_in_s: secs_until(now, c.expires_at),
                rekeyed: c.rekeyed,
            })
            .collect(),
    }
}

/// The IKE thread's state.
struct Worker<I: IkeIo> {
    engine: Engine,
    io: I,
    conns: BTreeMap<String, config::Connection>,
    view: Arc<Mutex<IkeView>>,
    events: VecDeque<IkeEventRecord>,
    counters: IkeCounters,
    /// Inbound SPI of every installed CHILD_SA (the data path names SA pairs by it).
    child_in: HashMap<ChildSaId, u32>,
    /// IKE SAs to close once the current actions are done (a CHILD_SA the data
    /// path refused).
    close_after: Vec<IkeSaId>,
    queue_drops: Arc<AtomicU64>,
    /// Connections to initiate again at the given time (`dpd_action = restart`).
    restart_at: Vec<(Instant, String)>,
}

impl<I: IkeIo> Worker<I> {
    fn update_encap(&mut self, inbound_spi: u32, encap: UdpEncap) {
        match self.io.update_encap(inbound_spi, encap) {
            Ok(()) => {
                self.counters.encap_updates += 1;
                let text = format!(
                    "SA pair {inbound_spi:#010x} now sends ESP-in-UDP {} -> {}",
                    encap.local, encap.remote
                );
                info!("{text}");
                self.record("encap_updated", text);
            }
            Err(e) => {
                self.counters.encap_update_failures += 1;
                let text = format!(
                    "SA pair {inbound_spi:#010x} cannot follow the peer to {}: {e}",
                    encap.remote
                );
                warn!("{text}");
                self.record("encap_update_failed", text);
            }
        }
    }

    fn record(&mut self, kind: &str, text: String) {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.events.len() >= defaults::IKE_EVENTS_KEPT {
            self.events.pop_front();
        }
        self.events.push_back(IkeEventRecord {
            time,
            kind: kind.into(),
            text,
        });
    }

    fn run_actions(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send {
                    local,
                    remote,
                    datagram,
                } => {
                    if let Err(e) = self.io.send(local, remote, &datagram) {
                        self.counters.send_errors += 1;
                        warn!(%local, %remote, error = %e, "IKE: cannot send");
                    }
                }
                Action::InstallChildSa(i) => self.install(&i),
                Action::DeleteChildSa {
                    ike_sa,
                    child,
                    inbound_spi,
                    outbound_spi,
                } => {
                    self.child_in.remove(&child);
                    match self.io.installer().remove(inbound_spi) {
                        Ok(()) => {
                            self.counters.child_removals += 1;
                            info!(
                                ike_sa = ike_sa.0,
                                child = child.0,
                                in_spi = format_args!("{inbound_spi:#010x}"),
                                out_spi = format_args!("{outbound_spi:#010x}"),
                                "CHILD_SA removed"
                            );
                        }
                        Err(e) => debug!(error = %e, "CHILD_SA removal"),
                    }
                    // the removal may have taken the routes of a trapped selector
                    self.trap_routes();
                }
                Action::SwitchOutbound {
                    child,
                    outbound_spi,
                    ..
                } => match self.child_in.get(&child) {
                    Some(&spi) => {
                        self.io.prefer_outbound(spi);
                        debug!(
                            in_spi = format_args!("{spi:#010x}"),
                            out_spi = format_args!("{outbound_spi:#010x}"),
                            "outbound traffic switched to CHILD_SA {}",
                            child.0
                        );
                    }
                    None => debug!(child = child.0, "outbound switch to an SA not installed"),
                },
                Action::UpdateChildSaEncap {
                    inbound_spi, encap, ..
                } => self.update_encap(inbound_spi, encap),
                Action::Event(e) => self.event(&e),
            }
        }
    }

    fn install(&mut self, i: &ChildSaInstall) {
        let Some(conn) = self.conns.get(&i.connection) else {
            warn!(connection = %i.connection, "CHILD_SA for an unknown connection");
            return;
        };
        let spec = match child_spec(i, conn) {
            Ok(s) => s,
            Err(e) => {
                self.counters.install_failures += 1;
                let text = format!(
                    "CHILD_SA {} ({}/{}) not installed: {e}; closing IKE SA {}",
                    i.child.0, i.connection, i.name, i.ike_sa.0
                );
                warn!("{text}");
                self.record("install_failed", text);
                self.close_after.push(i.ike_sa);
                return;
            }
        };
        let (lts, rts) = (ts_text(&i.local_ts), ts_text(&i.remote_ts));
        match self.io.installer().install(spec, 1) {
            Ok(()) => {
                self.counters.child_installs += 1;
                self.child_in.insert(i.child, i.inbound.spi);
                // the latest install carries the traffic unless a SwitchOutbound
                // (which the engine emits right after it where needed) says otherwise
                if i.replaces.is_some() {
                    self.io.prefer_outbound(i.inbound.spi);
                }
                let text =
                    format!(
                    "CHILD_SA {} ({}/{}) installed: SPIs {:#010x} in / {:#010x} out, {} === {}{}{}",
                    i.child.0,
                    i.connection,
                    i.name,
                    i.inbound.spi,
                    i.outbound.spi,
                    lts.join(","),
                    rts.join(","),
                    if i.encap.is_some() { ", UDP-encapsulated" } else { "" },
                    match i.replaces {
                        Some(old) => format!(", replaces CHILD_SA {}", old.0),
                        None => String::new(),
                    }
                );
                info!("{text}");
                self.record("child_installed", text);
            }
            Err(e) => {
                self.counters.install_failures += 1;
                let text = format!(
                    "CHILD_SA {} ({}/{}) refused by the data path: {e}; closing IKE SA {}",
                    i.child.0, i.connection, i.name, i.ike_sa.0
                );
                warn!("{text}");
                self.record("install_failed", text);
                // no silent black hole: the peer learns that this SA is gone
                self.close_after.push(i.ike_sa);
            }
        }
    }

    fn event(&mut self, e: &Event) {
        if let Event::IkeSaClosed {
            connection,
            reason: ikev2::CloseReason::PeerDead,
            ..
        } = e
        {
            let restart = self
                .conns
                .get(connection)
                .and_then(|c| c.ike.as_ref())
                .is_some_and(|i| i.dpd_action == DpdAction::Restart);
            if restart && !self.restart_at.iter().any(|(_, n)| n == connection) {
                self.restart_at
                    .push((Instant::now() + RESTART_DELAY, connection.clone()));
            }
        }
        let text = e.to_string();
        let kind = match e {
            Event::IkeSaEstablished { .. } => "established",
            Event::IkeSaRekeyed { .. } => "rekeyed",
            Event::IkeSaClosed { .. } => "closed",
            Event::ProposalMismatch { .. } => "proposal_mismatch",
            Event::AuthenticationFailed { .. } => {
                self.counters.auth_failures += 1;
                "authentication_failed"
            }
            Event::ChildSaFailed { .. } => "child_failed",
            Event::Dropped { .. } => {
                // counted by the engine; logged at debug so a flood cannot fill the log
                debug!("IKE: {text}");
                return;
            }
            Event::PeerEndpointChanged { .. } => "peer_endpoint_changed",
            Event::Note { .. } => "note",
        };
        match e {
            Event::ProposalMismatch { .. }
            | Event::AuthenticationFailed { .. }
            | Event::ChildSaFailed { .. } => warn!("IKE: {text}"),
            _ => info!("IKE: {text}"),
        }
        self.record(kind, text);
    }

    /// Routes of every `start_action = trap` connection's selectors.
    fn trap_routes(&self) {
        for c in self.conns.values() {
            let Some(ike) = &c.ike else { continue };
            if ike.start_action == StartAction::Trap {
                for ch in &ike.children {
                    self.io.trap_routes(&ch.remote_ts);
                }
            }
        }
    }

    /// An outbound packet matched no SA: start the trap connection that covers it.
    fn acquire(&mut self, now: Instant, src: IpAddr, dst: IpAddr) {
        let up: Vec<String> = self
            .engine
            .list_sas()
            .into_iter()
            .map(|s| s.connection)
            .collect();
        let hit = self.conns.values().find(|c| {
            c.ike.as_ref().is_some_and(|i| {
                i.start_action == StartAction::Trap
                    && i.children.iter().any(|ch| {
                        ch.local_ts.iter().any(|p| p.contains(src))
                            && ch.remote_ts.iter().any(|p| p.contains(dst))
                    })
            })
        });
        let Some(name) = hit.map(|c| c.name.clone()) else {
            return;
        };
        if up.contains(&name) {
            return;
        }
        info!(connection = %name, %src, %dst, "traffic for a trapped connection: initiating");
        if let Err(e) = self.initiate(now, &name) {
            debug!(connection = %name, error = %e, "acquire");
        }
    }

    fn initiate(&mut self, now: Instant, name: &str) -> Result<u64, String> {
        if !self.conns.contains_key(name) {
            return Err(format!("no IKE connection named {name:?}"));
        }
        match self.engine.initiate(now, name) {
            Ok((id, actions)) => {
                info!(connection = name, ike_sa = id.0, "initiating");
                self.record("note", format!("initiating {name} (IKE SA {})", id.0));
                self.run_actions(actions);
                Ok(id.0)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn terminate(&mut self, now: Instant, target: &str) -> Result<Vec<u64>, String> {
        let sas = self.engine.list_sas();
        let ids: Vec<IkeSaId> = match target.parse::<u64>() {
            Ok(n) if sas.iter().any(|s| s.id.0 == n) => vec![IkeSaId(n)],
            _ if self.conns.contains_key(target) => sas
                .iter()
                .filter(|s| s.connection == target)
                .map(|s| s.id)
                .collect(),
            _ => return Err(format!("no IKE connection or IKE SA {target:?}")),
        };
        for id in &ids {
            let a = self.engine.terminate(now, *id);
            self.run_actions(a);
        }
        Ok(ids.iter().map(|i| i.0).collect())
    }

    fn reload(&mut self, conns: Vec<config::Connection>) -> Result<usize, String> {
        // check every connection before changing any
        let mut ready = Vec::new();
        for c in conns {
            let Some(ec) = engine_connection(&c).map_err(|e| e.to_string())? else {
                continue;
            };
            let was_pubkey = self
                .conns
                .get(&c.name)
                .and_then(|o| o.ike.as_ref())
                .is_some_and(|i| matches!(i.auth, IkeAuth::Pubkey(_)));
            let certs = match c.ike.as_ref().map(|i| &i.auth) {
                Some(IkeAuth::Pubkey(p)) => Some(
                    p.cert_auth()
                        .map_err(|e| format!("connection {}: {e}", c.name))?,
                ),
                Some(IkeAuth::Psk(_)) if was_pubkey => {
                    // the engine keeps a connection's certificates until it restarts
                    return Err(format!(
                        "connection {}: switching from certificates to a psk needs a restart of ipsecd",
                        c.name
                    ));
                }
                _ => None,
            };
            ready.push((c, ec, certs));
        }
        let mut n = 0;
        for (c, ec, certs) in ready {
            self.engine
                .replace_connection(ec)
                .map_err(|e| e.to_string())?;
            if let Some(certs) = certs {
                self.engine
                    .set_cert_auth(&c.name, certs)
                    .map_err(|e| format!("connection {}: {e}", c.name))?;
            }
            let added = !self.conns.contains_key(&c.name);
            let start = c.ike.as_ref().map(|i| i.start_action) == Some(StartAction::Start);
            let name = c.name.clone();
            self.conns.insert(c.name.clone(), c);
            if added && start {
                // a connection new with this reload starts like one loaded at start-up
                if let Err(e) = self.initiate(Instant::now(), &name) {
                    warn!(connection = %name, error = %e, "cannot start a reloaded connection");
                }
            }
            n += 1;
        }
        self.trap_routes();
        Ok(n)
    }

    fn publish(&mut self) {
        let now = Instant::now();
        let sas = self
            .engine
            .list_sas()
            .iter()
            .map(|s| {
                let auth = self
                    .conns
                    .get(&s.connection)
                    .and_then(|c| c.ike.as_ref())
                    .map_or("", |i| i.auth.method());
                sa_status(now, s, auth)
            })
            .collect();
        let st = self.engine.stats();
        self.counters.dropped = st.dropped.clone();
        self.counters.retransmits = st.retransmits;
        self.counters.responses_resent = st.responses_resent;
        self.counters.cookies_sent = st.cookies_sent;
        self.counters.queue_drops = self.queue_drops.load(Ordering::Relaxed);
        if let Ok(mut v) = self.view.lock() {
            v.sas = sas;
            v.counters = self.counters.clone();
            v.events = self.events.iter().cloned().collect();
        }
    }

    fn run(mut self, rx: &Receiver<IkeMsg>) {
        self.trap_routes();
        self.publish();
        loop {
            let now = Instant::now();
            let wait = self
                .engine
                .next_timer()
                .map_or(Duration::from_secs(1), |t| t.saturating_duration_since(now))
                .min(Duration::from_secs(1));
            match rx.recv_timeout(wait) {
                Ok(IkeMsg::Datagram {
                    local,
                    remote,
                    message,
                }) => {
                    let a = self
                        .engine
                        .handle_datagram(Instant::now(), local, remote, &message);
                    self.run_actions(a);
                }
                Ok(IkeMsg::Initiate(name, reply)) => {
                    let r = self.initiate(Instant::now(), &name);
                    let _ = reply.send(r);
                }
                Ok(IkeMsg::Terminate(target, reply)) => {
                    let r = self.terminate(Instant::now(), &target);
                    let _ = reply.send(r);
                }
                Ok(IkeMsg::Acquire { src, dst }) => self.acquire(Instant::now(), src, dst),
                Ok(IkeMsg::Reload(conns, reply)) => {
                    let r = self.reload(conns);
                    let _ = reply.send(r);
                }
                Ok(IkeMsg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            let now = Instant::now();
            if self.engine.next_timer().is_some_and(|t| t <= now) {
                let a = self.engine.handle_timer(now);
                self.run_actions(a);
            }
            let now = Instant::now();
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.restart_at)
                .into_iter()
                .partition(|(t, _)| *t <= now);
            self.restart_at = later;
            for (_, name) in due {
                info!(connection = %name, "dpd_action = restart: initiating again");
                if let Err(e) = self.initiate(now, &name) {
                    debug!(connection = %name, error = %e, "restart");
                }
            }
            for id in std::mem::take(&mut self.close_after) {
                let a = self.engine.terminate(Instant::now(), id);
                self.run_actions(a);
            }
            self.publish();
        }
        // Shutting down: tell the peers (best effort) and remove our SAs.
        let now = Instant::now();
        for s in self.engine.list_sas() {
            let a = self.engine.terminate(now, s.id);
            self.run_actions(a);
        }
        self.publish();
    }
}

/// Where the receiving threads hand datagrams (and acquires) to the IKE thread. The
/// queue is bounded: when the IKE thread falls behind (a flood), datagrams are
/// dropped and counted rather than piling up.
#[derive(Debug, Clone)]
pub struct IkeFeed {
    tx: SyncSender<IkeMsg>,
    drops: Arc<AtomicU64>,
}

impl IkeFeed {
    /// Queues `msg`; false once the IKE thread has stopped.
    pub fn push(&self, msg: IkeMsg) -> bool {
        match self.tx.try_send(msg) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.drops.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// Handle of the running IKE thread.
#[derive(Debug)]
pub struct Ike {
    tx: Mutex<SyncSender<IkeMsg>>,
    view: Arc<Mutex<IkeView>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Pause before a connection whose peer died is initiated again.
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// How long a control command waits for the IKE thread.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

impl Ike {
    /// Starts the IKE thread with the IKE connections of `conns` (manual ones are
    /// skipped). Connections with `start_action = start` are initiated at once.
    pub fn start<I: IkeIo + 'static>(
        cfg: EngineConfig,
        conns: &[config::Connection],
        io: I,
    ) -> Result<(Arc<Ike>, IkeFeed), IkeConfigError> {
        let mut engine = Engine::new(cfg, Box::new(rand::rngs::OsRng));
        let mut map = BTreeMap::new();
        let mut start = Vec::new();
        for c in conns {
            if let Some(ec) = engine_connection(c)? {
                engine.add_connection(ec).map_err(|e| IkeConfigError {
                    connection: c.name.clone(),
                    reason: e.to_string(),
                })?;
                apply_auth(&mut engine, c)?;
                if c.ike.as_ref().map(|i| i.start_action) == Some(StartAction::Start) {
                    start.push(c.name.clone());
                }
                map.insert(c.name.clone(), c.clone());
            }
        }
        let view = Arc::new(Mutex::new(IkeView::default()));
        let drops = Arc::new(AtomicU64::new(0));
        let worker = Worker {
            engine,
            io,
            conns: map,
            view: view.clone(),
            events: VecDeque::new(),
            counters: IkeCounters::default(),
            child_in: HashMap::new(),
            close_after: Vec::new(),
            queue_drops: drops.clone(),
            restart_at: Vec::new(),
        };
        let (tx, rx) = sync_channel(defaults::IKE_QUEUE);
        let thread = std::thread::Builder::new()
            .name("ipsecd-ike".into())
            .spawn(move || worker.run(&rx))
            .map_err(|e| IkeConfigError {
                connection: String::new(),
                reason: format!("cannot start the IKE thread: {e}"),
            })?;
        let ike = Arc::new(Ike {
            tx: Mutex::new(tx.clone()),
            view,
            thread: Mutex::new(Some(thread)),
        });
        for name in start {
            let (rtx, _rrx) = channel();
            let _ = tx.send(IkeMsg::Initiate(name, rtx));
        }
        Ok((ike, IkeFeed { tx, drops }))
    }

    fn ask<T>(&self, msg: impl FnOnce(Sender<Result<T, String>>) -> IkeMsg) -> Result<T, String> {
        let (rtx, rrx) = channel();
        self.tx
            .lock()
            .map_err(|_| "IKE thread unavailable".to_string())?
            .send(msg(rtx))
            .map_err(|_| "IKE thread stopped".to_string())?;
        rrx.recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| "IKE thread did not answer".to_string())?
    }

    /// Starts an IKE SA for connection `name`; returns its handle.
    pub fn initiate(&self, name: &str) -> Result<u64, String> {
        self.ask(|r| IkeMsg::Initiate(name.to_string(), r))
    }

    /// Closes the IKE SAs of connection `target`, or the IKE SA with that handle.
    pub fn terminate(&self, target: &str) -> Result<Vec<u64>, String> {
        self.ask(|r| IkeMsg::Terminate(target.to_string(), r))
    }

    /// Applies the IKE connections of a reloaded configuration.
    pub fn reload(&self, conns: Vec<config::Connection>) -> Result<usize, String> {
        self.ask(|r| IkeMsg::Reload(conns, r))
    }

    /// The current IKE SAs, counters and latest events.
    pub fn view(&self) -> IkeView {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Closes every IKE SA (telling the peers) and stops the thread.
    pub fn stop(&self) {
        if let Ok(t) = self.tx.lock() {
            let _ = t.send(IkeMsg::Stop);
        }
        if let Some(h) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::sa::InstallError;
    use std::path::Path;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_become_exact_prefixes() {
        let r = |a: &str, b: &str| range_to_prefixes(a.parse().unwrap(), b.parse().unwrap());
        assert_eq!(r("10.1.0.0", "10.1.0.255"), vec![p("10.1.0.0/24")]);
        assert_eq!(r("0.0.0.0", "255.255.255.255"), vec![p("0.0.0.0/0")]);
        assert_eq!(r("10.0.0.7", "10.0.0.7"), vec![p("10.0.0.7/32")]);
        assert_eq!(
            r("10.0.0.1", "10.0.0.6"),
            vec![
                p("10.0.0.1/32"),
                p("10.0.0.2/31"),
                p("10.0.0.4/31"),
                p("10.0.0.6/32")
            ]
        );
        assert_eq!(
            r("fd00:1::", "fd00:1::ffff:ffff:ffff:ffff"),
            vec![p("fd00:1::/64")]
        );
        assert_eq!(
            r("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            vec![p("::/0")]
        );
        assert!(r("10.0.0.9", "10.0.0.1").is_empty());
        assert!(r("10.0.0.1", "fd00::1").is_empty());
    }

    const CONF: &str = r#"
[daemon]
name = "NAME"

[connections.peer]
local_addrs = ["LOCAL"]
remote_addrs = ["REMOTE"]
local_id = "LID"
remote_id = "RID"
psk = "in-memory-secret-123"
proposals = "aes256gcm16-prfsha256-x25519"
offload = "software"
dpd_delay = "30s"

[connections.peer.children.net]
local_ts = ["LTS"]
remote_ts = ["RTS"]
esp_proposals = "aes256gcm16"
rekey_time = "1h"
"#;

    fn conf(a: bool) -> Config {
        let (l, r, lid, rid, lts, rts) = if a {
            (
                "192.0.2.1",
                "192.0.2.2",
                "a.example",
                "b.example",
                "10.1.0.0/24",
                "10.2.0.0/24",
            )
        } else {
            (
                "192.0.2.2",
                "192.0.2.1",
                "b.example",
                "a.example",
                "10.2.0.0/24",
                "10.1.0.0/24",
            )
        };
        let text = CONF
            .replace("NAME", if a { "a" } else { "b" })
            .replace("LOCAL", l)
            .replace("REMOTE", r)
            .replace("LID", lid)
            .replace("RID", rid)
            .replace("LTS", lts)
            .replace("RTS", rts);
        Config::parse(Path::new("mem.toml"), &text).unwrap()
    }

    /// Records installs and removals (or refuses installs, like `offload = card`
    /// without a card).
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Result<ChildSaSpec, u32>>>, bool);

    impl SaInstaller for Recorder {
        fn install(&self, spec: ChildSaSpec, first_seq: u64) -> Result<(), InstallError> {
            assert_eq!(first_seq, 1);
            if self.1 {
                return Err(InstallError::CardRequired {
                    spi: spec.inbound.spi,
                    reason: "no card".into(),
                });
            }
            self.0.lock().unwrap().push(Ok(spec));
            Ok(())
        }
        fn remove(&self, inbound_spi: u32) -> Result<(), InstallError> {
            self.0.lock().unwrap().push(Err(inbound_spi));
            Ok(())
        }
    }

    /// Datagrams go straight to the other side's IKE thread.
    struct Wire {
        peer: Arc<Mutex<Option<IkeFeed>>>,
        sa: Arc<Recorder>,
    }

    impl IkeIo for Wire {
        fn send(&self, local: SocketAddr, remote: SocketAddr, d: &[u8]) -> io::Result<()> {
            if let Some(tx) = self.peer.lock().unwrap().as_ref() {
                // what the peer receives: arriving on `remote`, from `local`
                tx.push(IkeMsg::Datagram {
                    local: remote,
                    remote: local,
                    message: d.to_vec(),
                });
            }
            Ok(())
        }
        fn installer(&self) -> &dyn SaInstaller {
            &*self.sa
        }
    }

    fn installs(r: &Recorder) -> Vec<ChildSaSpec> {
        r.0.lock()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_ref().ok().cloned())
            .collect()
    }

    fn wait(f: impl Fn() -> bool) -> bool {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Two IKE threads whose datagrams go straight to each other.
    fn wired(
        a_conns: &[config::Connection],
        ra: &Arc<Recorder>,
        b_conns: &[config::Connection],
        rb: &Arc<Recorder>,
    ) -> (Arc<Ike>, Arc<Ike>) {
        let (to_a, to_b) = (Arc::new(Mutex::new(None)), Arc::new(Mutex::new(None)));
        let start = |conns, peer: &Arc<Mutex<Option<IkeFeed>>>, sa: &Arc<Recorder>| {
            Ike::start(
                EngineConfig::default(),
                conns,
                Wire {
                    peer: peer.clone(),
                    sa: sa.clone(),
                },
            )
            .unwrap()
        };
        let (a, txa) = start(a_conns, &to_b, ra);
        let (b, txb) = start(b_conns, &to_a, rb);
        *to_a.lock().unwrap() = Some(txa);
        *to_b.lock().unwrap() = Some(txb);
        (a, b)
    }

    #[test]
    fn two_ike_threads_install_matching_child_sas_and_terminate() {
        let (ca, cb) = (conf(true), conf(false));
        let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
        let (a, b) = wired(&ca.connections, &ra, &cb.connections, &rb);
        assert!(a.initiate("nope").is_err());
        let id = a.initiate("peer").unwrap();
        assert!(wait(|| installs(&ra).len() == 1 && installs(&rb).len() == 1));
        let (sa, sb) = (installs(&ra).remove(0), installs(&rb).remove(0));
        // what one side seals the other opens
        assert_eq!(sa.outbound, sb.inbound);
        assert_eq!(sa.inbound, sb.outbound);
        assert_eq!(sa.origin, Origin::Ike);
        assert_eq!(sa.transform, Transform::AesGcm256);
        assert_eq!(sa.inbound.key.as_bytes().len(), 36);
        assert_eq!(sa.local_ts, vec![p("10.1.0.0/24")]);
        assert_eq!(sa.remote_ts, vec![p("10.2.0.0/24")]);
        assert_eq!(sa.offload, config::OffloadPolicy::Software);
        // encap = udp (the default) forces ESP in UDP 4500
        assert_eq!(
            (sa.encap, sa.local_port, sa.remote_port),
            (Encap::Udp, 4500, 4500)
        );
        assert!(wait(|| a
            .view()
            .sas
            .iter()
            .any(|s| s.state == "ESTABLISHED")));
        let v = a.view();
        assert_eq!(v.sas[0].id, id);
        assert_eq!(v.sas[0].children.len(), 1);
        assert!(v.sas[0].children[0].rekey_in_s.is_some_and(|s| s <= 3600));
        assert!(v.events.iter().any(|e| e.kind == "established"));
        assert_eq!(v.counters.child_installs, 1);
        // a second initiate while one is up is refused
        assert!(a.initiate("peer").is_err());
        // terminate by id: both sides remove the pair
        assert_eq!(a.terminate(&id.to_string()).unwrap(), vec![id]);
        assert!(wait(|| {
            rb.0.lock().unwrap().contains(&Err(sb.inbound.spi))
                && ra.0.lock().unwrap().contains(&Err(sa.inbound.spi))
        }));
        assert!(wait(|| b.view().sas.is_empty() && a.view().sas.is_empty()));
        assert!(a.terminate("99").is_err());
        // no key material in the view or its events
        let text = serde_json::to_string(&a.view()).unwrap();
        assert!(!text.contains("in-memory-secret"));
        a.stop();
        b.stop();
    }

    #[test]
    fn wrong_psk_is_an_authentication_failure_on_both_sides() {
        let ca = conf(true);
        let cb = Config::parse(
            Path::new("mem.toml"),
            &CONF
                .replace("NAME", "b")
                .replace("LOCAL", "192.0.2.2")
                .replace("REMOTE", "192.0.2.1")
                .replace("LID", "b.example")
                .replace("RID", "a.example")
                .replace("LTS", "10.2.0.0/24")
                .replace("RTS", "10.1.0.0/24")
                .replace("in-memory-secret-123", "another-secret-456"),
        )
        .unwrap();
        let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
        let (a, b) = wired(&ca.connections, &ra, &cb.connections, &rb);
        a.initiate("peer").unwrap();
        let failed = |i: &Ike| {
            let v = i.view();
            v.counters.auth_failures == 1
                && v.events.iter().any(|e| {
                    e.kind == "authentication_failed" && e.text.contains("AUTHENTICATION_FAILED")
                })
        };
        assert!(wait(|| failed(&a) && failed(&b)));
        assert!(installs(&ra).is_empty() && installs(&rb).is_empty());
        a.stop();
        b.stop();
    }

    /// Side A or B authenticated with the fixture certificate `cert` of the ikev2
    /// crate's tests (ikev2/interop/make-certs.sh), trusting the fixture CA `ca`.
    fn cert_conf(a: bool, cert: &str, ca: &str) -> Config {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ikev2/tests/vectors/certs");
        let d = dir.display();
        let (lid, rid) = if a {
            ("alice.example", "bob.example")
        } else {
            ("bob.example", "alice.example")
        };
        let text = CONF
            .replace("NAME", if a { "a" } else { "b" })
            .replace("LOCAL", if a { "192.0.2.1" } else { "192.0.2.2" })
            .replace("REMOTE", if a { "192.0.2.2" } else { "192.0.2.1" })
            .replace("LID", lid)
            .replace("RID", rid)
            .replace("LTS", if a { "10.1.0.0/24" } else { "10.2.0.0/24" })
            .replace("RTS", if a { "10.2.0.0/24" } else { "10.1.0.0/24" })
            .replace(
                "psk = \"in-memory-secret-123\"",
                &format!("cert = \"{d}/{cert}.pem\"\nkey = \"{d}/{cert}.key\"\ncacerts = [\"{d}/{ca}.pem\"]"),
            );
        Config::parse(Path::new("mem.toml"), &text).unwrap()
    }

    fn pair(ca: &Config, cb: &Config) -> (Arc<Ike>, Arc<Ike>, Arc<Recorder>, Arc<Recorder>) {
        let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
        let (a, b) = wired(&ca.connections, &ra, &cb.connections, &rb);
        (a, b, ra, rb)
    }

    #[test]
    fn certificates_authenticate_and_show_in_the_view() {
        let (ca, cb) = (
            cert_conf(true, "alice", "ca"),
            cert_conf(false, "bob", "ca"),
        );
        let (a, b, ra, rb) = pair(&ca, &cb);
        let id = a.initiate("peer").unwrap();
        assert!(wait(|| installs(&ra).len() == 1 && installs(&rb).len() == 1));
        let (sa, sb) = (installs(&ra).remove(0), installs(&rb).remove(0));
        assert_eq!(sa.outbound, sb.inbound);
        assert_eq!(sa.inbound, sb.outbound);
        assert!(wait(|| a
            .view()
            .sas
            .iter()
            .any(|s| s.state == "ESTABLISHED")));
        assert_eq!(a.view().sas[0].auth, "pubkey");
        assert_eq!(b.view().sas[0].auth, "pubkey");
        // a reload that keeps certificates is applied; the IKE SA keeps running
        assert_eq!(a.reload(ca.connections.clone()), Ok(1));
        // one that turns the connection into a PSK one cannot be (the engine keeps
        // its certificates): refused with the reason
        let e = a.reload(conf(true).connections).unwrap_err();
        assert!(e.contains("needs a restart"), "{e}");
        // a new IKE SA after the reload still authenticates with certificates
        a.terminate(&id.to_string()).unwrap();
        assert!(wait(|| a.view().sas.is_empty() && b.view().sas.is_empty()));
        a.initiate("peer").unwrap();
        assert!(wait(|| installs(&ra).len() == 2 && installs(&rb).len() == 2));
        assert_eq!(a.view().counters.auth_failures, 0);
        a.stop();
        b.stop();
    }

    #[test]
    fn certificate_from_another_ca_and_psk_against_certificates_fail() {
        // B shows a bob.example certificate from a CA A does not trust
        let (ca, cb) = (
            cert_conf(true, "alice", "ca"),
            cert_conf(false, "rogue-bob", "ca"),
        );
        let (a, b, ra, rb) = pair(&ca, &cb);
        a.initiate("peer").unwrap();
        let failed = |i: &Ike, why: &str| {
            let v = i.view();
            v.counters.auth_failures >= 1
                && v.events.iter().any(|e| {
                    e.kind == "authentication_failed"
                        && e.text.contains("AUTHENTICATION_FAILED")
                        && e.text.contains(why)
                })
        };
        assert!(wait(|| failed(&a, "not issued by a trusted CA")));
        // A never installs; B (which accepted A and answered with its CHILD_SA)
        // removes whatever it installed once A gives up
        assert!(installs(&ra).is_empty());
        assert!(wait(|| {
            let log = rb.0.lock().unwrap();
            log.iter()
                .filter_map(|x| x.as_ref().ok())
                .all(|i| log.contains(&Err(i.inbound.spi)))
        }));
        assert!(wait(|| b.view().sas.is_empty()));
        a.stop();
        b.stop();
        // a PSK initiator against a certificate responder
        let (ca, cb) = (conf(true), cert_conf(false, "bob", "ca"));
        let cb = {
            let mut cb = cb;
            for c in &mut cb.connections {
                if let Some(i) = c.ike.as_mut() {
                    i.remote_id = "a.example".into();
                }
            }
            cb
        };
        let (a, b, ra, rb) = pair(&ca, &cb);
        a.initiate("peer").unwrap();
        assert!(wait(
            || failed(&b, "AUTHENTICATION_FAILED") && failed(&a, "AUTHENTICATION_FAILED")
        ));
        assert!(installs(&ra).is_empty() && installs(&rb).is_empty());
        a.stop();
        b.stop();
    }

    #[test]
    fn a_refused_child_sa_closes_its_ike_sa_on_both_sides() {
        let (ca, cb) = (conf(true), conf(false));
        let ra = Arc::new(Recorder(Mutex::new(Vec::new()), true));
        let rb = Arc::new(Recorder::default());
        let (a, b) = wired(&ca.connections, &ra, &cb.connections, &rb);
        a.initiate("peer").unwrap();
        // B installed its side, A could not: A closes, B removes its pair again
        assert!(wait(|| installs(&rb).len() == 1));
        let spi = installs(&rb)[0].inbound.spi;
        assert!(wait(|| rb.0.lock().unwrap().contains(&Err(spi))));
        assert!(wait(|| a.view().sas.is_empty() && b.view().sas.is_empty()));
        let v = a.view();
        assert_eq!(v.counters.install_failures, 1);
        assert!(v
            .events
            .iter()
            .any(|e| e.kind == "install_failed" && e.text.contains("no card")));
        a.stop();
        b.stop();
    }

    #[test]
    fn reload_adds_and_starts_a_connection() {
        let mut ca = conf(true);
        if let Some(i) = ca.connections[0].ike.as_mut() {
            i.start_action = StartAction::Start;
        }
        let cb = conf(false);
        let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
        let (a, b) = wired(&[], &ra, &cb.connections, &rb);
        assert!(a.initiate("peer").is_err(), "not configured yet");
        assert_eq!(a.reload(ca.connections.clone()).unwrap(), 1);
        assert!(wait(|| installs(&ra).len() == 1 && installs(&rb).len() == 1));
        // the same configuration again: nothing new starts
        assert_eq!(a.reload(ca.connections).unwrap(), 1);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(a.view().sas.len(), 1);
        a.stop();
        b.stop();
    }

    #[test]
    fn manual_connections_are_not_ike() {
        let c = Config::parse(
            Path::new("m.toml"),
            r#"
[connections.m]
local_addrs = ["192.0.2.1"]
remote_addrs = ["192.0.2.2"]
[connections.m.children.c]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
in_spi = 4096
out_spi = 4097
in_key = "0102030405060708090a0b0c0d0e0f1011121314"
out_key = "0102030405060708090a0b0c0d0e0f1011121314"
"#,
        )
        .unwrap();
        assert!(engine_connection(&c.connections[0]).unwrap().is_none());
    }
}
