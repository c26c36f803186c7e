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
    cookies: state::CookieSecrets,
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

/// Whether `new` admits the same peer, the same way, for the same traffic as
/// `old` (what running SAs were authenticated and negotiated for). The PSK is
/// not compared for a connection authenticated with certificates.
fn same_peer_and_traffic(old: &Connection, new: &Connection, uses_certs: bool) -> bool {
    old.local_addr == new.local_addr
        && old.remote_addr == new.remote_addr
        && old.local_id == new.local_id
        && old.remote_id == new.remote_id
        && (uses_certs || old.psk == new.psk)
        && old.force_encap == new.force_encap
        && old.children.len() <= new.children.len()
        && old.children.iter().zip(&new.children).all(|(a, b)| {
            a.name == b.name
                && a.local_ts == b.local_ts
                && a.remote_ts == b.remote_ts
                && a.mode == b.mode
        })
}

/// Whether the algorithms IKE SA `sa` and its CHILD_SAs run with are still
/// among the proposals of `c`.
fn still_allowed(sa: &state::IkeSa, c: &Connection) -> bool {
    let ike_ok = sa.suite.is_none_or(|s| {
        c.ike_proposals
            .iter()
            .any(|p| p.encr.contains(&s.encr) && p.prf.contains(&s.prf) && p.dh.contains(&s.dh))
    });
    ike_ok
        && sa.children.iter().all(|ch| {
            c.children.get(ch.cfg).is_some_and(|cc| {
                cc.esp_proposals
                    .iter()
                    .any(|p| p.transforms.contains(&ch.transform) && p.esn == ch.esn)
            })
        })
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
        let cookies = state::CookieSecrets::new(&mut *rng);
        Engine {
            cfg,
            conns: Connections::default(),
            sas: SaTable::default(),
            rng,
            next_id: 1,
            cookies,
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

    /// Replace the configuration of an existing connection (same name) on a
    /// reload; adds it when new. IKE SAs whose peer or traffic the new definition
    /// no longer allows are closed as by [`Engine::remove_connection`] (the actions
    /// returned): a change of addresses, identities, PSK, forced encapsulation,
    /// children (names, selectors, mode), or proposals that no longer include
    /// the algorithms an SA runs with. Other IKE SAs keep running and the new
    /// settings (proposals, lifetimes, liveness checks) apply to their next
    /// exchanges.
    pub fn replace_connection(
        &mut self,
        now: Instant,
        c: Connection,
    ) -> Result<Vec<Action>, AddConnectionError> {
        let Some(i) = self.conns.find(&c.name) else {
            self.add_connection(c)?;
            return Ok(Vec::new());
        };
        let c = check_complete(c)?;
        let uses_certs = self.cert_auth.contains_key(&c.name);
        let same_peer = same_peer_and_traffic(self.conns.get(i), &c, uses_certs);
        let stale: Vec<IkeSaId> = self
            .sas
            .iter()
            .filter(|s| s.conn == i && !(same_peer && still_allowed(s, &c)))
            .map(|s| s.id)
            .collect();
        self.conns.replace(i, c);
        let mut out = Vec::new();
        for id in stale {
            self.close_for_reload(now, id, &mut out);
        }
        Ok(out)
    }

    /// Remove connection `name` (a reload without it): its IKE SAs are closed
    /// with an INFORMATIONAL DELETE to the peer (their CHILD_SAs leave the data
    /// path at once; `IkeSaClosed` follows when the peer answers or gives up),
    /// half-open ones are dropped, and from now on the connection neither
    /// initiates nor accepts a login (an IKE_AUTH for it fails as one for an
    /// unknown peer). False when no connection has that name.
    pub fn remove_connection(&mut self, now: Instant, name: &str) -> (bool, Vec<Action>) {
        let mut out = Vec::new();
        let Some(i) = self.conns.find(name) else {
            return (false, out);
        };
        self.conns.remove(i);
        self.cert_auth.remove(name);
        let ids: Vec<IkeSaId> = self
            .sas
            .iter()
            .filter(|s| s.conn == i)
            .map(|s| s.id)
            .collect();
        for id in ids {
            self.close_for_reload(now, id, &mut out);
        }
        (true, out)
    }

    /// Close IKE SA `id` because a reload removed or changed its connection:
    /// an established one is deleted with the peer (what is queued is dropped;
    /// an exchange under way finishes first), its CHILD_SAs leave the data path
    /// at once; one not yet established is dropped.
    fn close_for_reload(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        let Ok(sa) = self.sas.get_mut(id) else {
            return;
        };
        match sa.state {
            State::Established => {
                out.push(Action::note(
                    id,
                    "connection removed or changed by a reload; deleting the IKE SA",
                ));
                out.extend(sa.delete_all_children());
                sa.children.clear();
                sa.linger.clear();
                sa.queue.clear();
                sa.queue.push_back(Task::DeleteIke);
                self.kick(now, id, out);
            }
            // Its DELETE is under way, or it is an old SA a rekey replaced.
            State::Deleting | State::Rekeyed => {}
            State::InitSent | State::AuthSent | State::HalfOpen => {
                self.remove_sa(id, CloseReason::LocalDelete, out);
            }
        }
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

    /// Half-open IKE SAs (responder, IKE_SA_INIT answered, IKE_AUTH not yet).
    pub fn half_open(&self) -> usize {
        self.sas
            .iter()
            .filter(|s| s.state == State::HalfOpen)
            .count()
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
