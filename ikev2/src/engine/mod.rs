//! The sans-I/O IKEv2 state machine: datagrams and timer ticks in, actions out.

mod api;
mod child_sa;
mod dispatch;
mod ike_auth;
mod ike_sa_init;
mod informational;
mod msg;
mod rekey;
mod state;
mod timers;

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

pub use api::*;
use msg::*;
use state::*;

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

    fn mismatch_event(&self, conn: &str, what: &'static str, mm: &Mismatch, out: &mut Vec<Action>) {
        out.push(Action::Event(Event::ProposalMismatch {
            connection: conn.to_string(),
            what,
            detail: mm.to_string(),
        }));
    }

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
}
