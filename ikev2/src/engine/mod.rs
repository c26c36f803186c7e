//! The sans-I/O IKEv2 state machine: datagrams and timer ticks in, actions out.
//!
//! The files follow RFC 7296: `api` holds the public types, `state` what the
//! engine remembers (connections, IKE SAs, CHILD_SAs, the SA table), `msg` the
//! payload helpers, `dispatch` the datagram input and the message-ID window, then
//! one file per exchange (`ike_sa_init`, `ike_auth`, `child_sa`, `rekey_child`,
//! `rekey_ike`, `informational`) and `timers` (retransmission, lifetimes,
//! liveness, the queue of exchanges to start). This file has the [`Engine`] and
//! its entry points for the daemon.

mod api;
mod child_sa;
mod dispatch;
mod ike_auth;
mod ike_sa_init;
mod informational;
mod msg;
mod rekey_child;
mod rekey_ike;
mod state;
mod timers;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::cert::{CertAuth, CertError};
use crate::config::Connection;
use crate::crypto::Rng;
use crate::wire::Payload;

pub use api::{
    Action, AddConnectionError, ChildSaId, ChildSaInfo, ChildSaInstall, CloseReason, DropReason,
    EngineConfig, Event, IkeSaId, IkeSaInfo, IkeState, InitiateError, SaParams, Stats, UdpEncap,
};
use state::{ConnId, Connections, Req, SaTable, State, Task};

/// The IKEv2 engine: all connections and IKE SAs of one daemon.
pub struct Engine {
    cfg: EngineConfig,
    conns: Connections,
    sas: SaTable,
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
            .field("sas", &self.sas.iter().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A connection the engine can run: IKE proposals and children with ESP proposals.
fn check_complete(c: Connection) -> Result<Connection, AddConnectionError> {
    if c.ike_proposals.is_empty() {
        return Err(AddConnectionError::Incomplete(c.name, "no IKE proposal"));
    }
    if c.children.is_empty() || c.children.iter().any(|ch| ch.esp_proposals.is_empty()) {
        return Err(AddConnectionError::Incomplete(
            c.name,
            "needs a child with an ESP proposal",
        ));
    }
    Ok(c)
}

impl Engine {
    /// New engine with a cryptographically secure random source.
    pub fn new(cfg: EngineConfig, mut rng: Box<dyn Rng>) -> Engine {
        let mut cookie_secret = [0u8; 32];
        rng.fill_bytes(&mut cookie_secret);
        Engine {
            cfg,
            conns: Connections::default(),
            sas: SaTable::default(),
            rng,
            next_id: 1,
            cookie_secret,
            stats: Stats::default(),
            cert_auth: HashMap::new(),
        }
    }

    /// Add a connection.
    pub fn add_connection(&mut self, c: Connection) -> Result<(), AddConnectionError> {
        if self.conns.find(&c.name).is_some() {
            return Err(AddConnectionError::Duplicate(c.name));
        }
        self.conns.push(check_complete(c)?);
        Ok(())
    }

    /// Replace the configuration of an existing connection (same name), e.g. on
    /// reload; adds it when new. Existing SAs keep running; the new settings apply
    /// to new exchanges (proposals, selectors, lifetimes of new SAs).
    pub fn replace_connection(&mut self, c: Connection) -> Result<(), AddConnectionError> {
        let Some(i) = self.conns.find(&c.name) else {
            return self.add_connection(c);
        };
        let c = check_complete(c)?;
        // Running CHILD_SAs refer to child configs by index: keep those.
        let used = self
            .sas
            .iter()
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
        self.conns.replace(i, c);
        Ok(())
    }

    /// Authenticate connection `name` with certificates instead of its PSK, in both
    /// directions: we send our certificate and an ECDSA P-256 signature (AUTH
    /// method 9, RFC 4754) and ask for (CERTREQ) and require the same from the
    /// peer, with a certificate issued by one of `auth`'s CAs naming the peer's
    /// identity (`remote_id`). Applies to IKE SAs set up from now on.
    pub fn set_cert_auth(&mut self, name: &str, auth: CertAuth) -> Result<(), CertError> {
        if self.conns.find(name).is_none() {
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
            .iter()
            .map(|sa| api::ike_sa_info(sa, &self.conns))
            .collect()
    }

    /// Rekey a CHILD_SA now.
    pub fn rekey_child(&mut self, now: Instant, child: ChildSaId) -> Vec<Action> {
        let mut out = Vec::new();
        let holder = self
            .sas
            .iter()
            .find(|s| s.state == State::Established && s.child(child).is_some())
            .map(|s| s.id);
        if let Some(id) = holder {
            self.queue(now, id, Task::RekeyChild(child), &mut out);
        }
        out
    }

    /// Rekey an IKE SA now.
    pub fn rekey_ike(&mut self, now: Instant, ike: IkeSaId) -> Vec<Action> {
        let mut out = Vec::new();
        if self
            .sas
            .get(ike)
            .is_ok_and(|sa| sa.state == State::Established)
        {
            self.queue(now, ike, Task::RekeyIke, &mut out);
        }
        out
    }

    /// Delete an IKE SA (and its CHILD_SAs) with the peer.
    pub fn terminate(&mut self, now: Instant, ike: IkeSaId) -> Vec<Action> {
        let mut out = Vec::new();
        if let Ok(sa) = self.sas.get_mut(ike) {
            if sa.state == State::Established {
                sa.queue.clear();
                self.queue(now, ike, Task::DeleteIke, &mut out);
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
        if self
            .sas
            .get(ike)
            .is_ok_and(|sa| sa.state == State::Established && sa.outstanding.is_none())
        {
            // The SA was just found: nothing can be gone.
            let _ = self.send_request(now, ike, exchange_type, payloads, Req::Dpd, &mut out);
        }
        out
    }

    /// Send a liveness check now.
    pub fn dpd(&mut self, now: Instant, ike: IkeSaId) -> Vec<Action> {
        let mut out = Vec::new();
        if self.sas.contains(ike) {
            self.queue(now, ike, Task::Dpd, &mut out);
        }
        out
    }

    // ------------------------------------------------------------ helpers

    /// Queue `task` on IKE SA `id` and start it if nothing is outstanding.
    fn queue(&mut self, now: Instant, id: IkeSaId, task: Task, out: &mut Vec<Action>) {
        if let Ok(sa) = self.sas.get_mut(id) {
            sa.queue.push_back(task);
            self.kick(now, id, out);
        }
    }

    fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn new_ike_spi(&mut self) -> u64 {
        loop {
            let s = self.rng.next_u64();
            if s != 0 && !self.sas.spi_in_use(s) {
                return s;
            }
        }
    }

    fn new_child_spi(&mut self) -> u32 {
        loop {
            let s = self.rng.next_u32();
            if s >= 256 && !self.sas.child_spi_in_use(s) {
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

    /// The certificates of connection `ci`, if it uses them.
    fn cert_of(&self, ci: ConnId) -> Option<&CertAuth> {
        self.cert_auth.get(&self.conns.get(ci).name)
    }

    /// Send `msg` from `local` to `remote` (with the non-ESP marker on the NAT-T port).
    fn send(&self, local: SocketAddr, remote: SocketAddr, msg: &[u8], out: &mut Vec<Action>) {
        let datagram = if local.port() == self.cfg.natt_port {
            let mut v = Vec::with_capacity(msg.len() + 4);
            v.extend_from_slice(&[0, 0, 0, 0]);
            v.extend_from_slice(msg);
            v
        } else {
            msg.to_vec()
        };
        out.push(Action::Send {
            local,
            remote,
            datagram,
        });
    }

    /// Drop a datagram from `remote` and count it.
    fn drop_msg(&mut self, reason: DropReason, remote: SocketAddr, out: &mut Vec<Action>) {
        *self.stats.dropped.entry(format!("{reason:?}")).or_default() += 1;
        out.push(Action::Event(Event::Dropped { reason, remote }));
    }

    /// Remove IKE SA `id` with its CHILD_SAs at once, without telling the peer.
    fn remove_sa(&mut self, id: IkeSaId, reason: CloseReason, out: &mut Vec<Action>) {
        let Some(sa) = self.sas.remove(id) else {
            return;
        };
        out.extend(sa.delete_all_children());
        let reason = if sa.state == State::Rekeyed {
            CloseReason::Rekeyed
        } else {
            reason
        };
        out.push(Action::Event(Event::IkeSaClosed {
            ike_sa: id,
            connection: self.conns.get(sa.conn).name.clone(),
            reason,
        }));
    }
}
