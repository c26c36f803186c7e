//! The IKE thread: owns the engine, feeds it datagrams, commands and timers, and
//! carries out its actions (send, install and delete CHILD_SAs, events).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ikev2::{Action, ChildSaId, ChildSaInstall, Engine, Event, IkeSaId, UdpEncap};
use tracing::{debug, info, warn};

use crate::config::{self, DpdAction, IkeAuth, StartAction};
use crate::defaults;
use crate::ratelog::RateLimitedLog;

use super::convert::{child_spec, engine_connection, ts_text};
use super::status::sa_status;
use super::{IkeCounters, IkeEventRecord, IkeIo, IkeMsg, IkeView};

/// How often, at most, the view is published while datagrams arrive.
const PUBLISH_EVERY: Duration = Duration::from_millis(50);

/// Pause before a connection whose peer died is initiated again.
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// The IKE thread's state.
pub(super) struct Worker<I: IkeIo> {
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
    /// Log lines about unauthenticated input, limited per kind.
    ratelog: RateLimitedLog,
    /// CHILD_SAs whose rekey a soft lifetime started (one per SA).
    soft_rekeyed: HashSet<ChildSaId>,
}

impl<I: IkeIo> Worker<I> {
    /// A worker over `engine` (its connections `conns` already added) that
    /// publishes into `view` and counts the datagrams the full queue dropped in
    /// `queue_drops`.
    pub(super) fn new(
        engine: Engine,
        io: I,
        conns: BTreeMap<String, config::Connection>,
        view: Arc<Mutex<IkeView>>,
        queue_drops: Arc<AtomicU64>,
    ) -> Self {
        Worker {
            engine,
            io,
            conns,
            view,
            events: VecDeque::new(),
            counters: IkeCounters::default(),
            child_in: HashMap::new(),
            close_after: Vec::new(),
            queue_drops,
            restart_at: Vec::new(),
            ratelog: RateLimitedLog::new(defaults::LOG_LINES_PER_KIND, defaults::LOG_RATE_WINDOW),
            soft_rekeyed: HashSet::new(),
        }
    }

    /// The data path reached a soft lifetime on a half of the pair with
    /// `n.inbound_spi`: rekey its CHILD_SA, unless it is gone, already replaced, or
    /// a soft lifetime already started its rekey (the other half's notice).
    fn soft_expired(&mut self, now: Instant, n: &crate::sa::SoftExpired) {
        let Some(child) = self
            .child_in
            .iter()
            .find(|(_, &spi)| spi == n.inbound_spi)
            .map(|(c, _)| *c)
        else {
            debug!(
                in_spi = format_args!("{:#010x}", n.inbound_spi),
                "soft lifetime of an SA IKE does not know"
            );
            return;
        };
        let sas = self.engine.list_sas();
        let live: HashMap<ChildSaId, bool> = sas
            .iter()
            .flat_map(|s| s.children.iter().map(|c| (c.id, c.rekeyed)))
            .collect();
        self.soft_rekeyed.retain(|c| live.contains_key(c));
        if live.get(&child) != Some(&false) || !self.soft_rekeyed.insert(child) {
            debug!(
                child = child.0,
                "soft lifetime: CHILD_SA gone, replaced or being rekeyed"
            );
            return;
        }
        self.counters.soft_lifetime_rekeys += 1;
        let text = format!(
            "CHILD_SA {} ({}/{}) reached its {} soft lifetime (SPIs {:#010x} in / {:#010x} out): rekeying",
            child.0, n.connection, n.child, n.direction, n.inbound_spi, n.outbound_spi
        );
        info!("{text}");
        self.record("soft_lifetime", text);
        let a = self.engine.rekey_child(now, child);
        self.run_actions(a);
    }

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
            Err(e) => return self.install_failed(i, &format!("not installed: {e}")),
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
            Err(e) => self.install_failed(i, &format!("refused by the data path: {e}")),
        }
    }

    /// A CHILD_SA that could not be installed: counted, logged, and its IKE SA
    /// closed once the current actions are done (no silent black hole: the peer
    /// learns that this SA is gone).
    fn install_failed(&mut self, i: &ChildSaInstall, why: &str) {
        self.counters.install_failures += 1;
        let text = format!(
            "CHILD_SA {} ({}/{}) {why}; closing IKE SA {}",
            i.child.0, i.connection, i.name, i.ike_sa.0
        );
        warn!("{text}");
        self.record("install_failed", text);
        self.close_after.push(i.ike_sa);
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
        // Input anyone can send (nothing authenticated yet): logged at most a
        // few lines a second per kind, the rest summed up; counters stay exact.
        let limited = match e {
            Event::Dropped { .. } => Some("dropped"),
            Event::CookieDemanded { .. } => Some("cookie_demanded"),
            Event::AuthenticationFailed { by_peer: false, .. } => Some("authentication_failed"),
            Event::ProposalMismatch { .. } => Some("proposal_mismatch"),
            Event::Note { ike_sa: None, .. } => Some("ike_sa_init_refused"),
            _ => None,
        };
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
            Event::Dropped { .. } => "dropped",
            Event::CookieDemanded { .. } => "cookie_demanded",
            Event::PeerEndpointChanged { .. } => "peer_endpoint_changed",
            Event::Note { .. } => "note",
        };
        if let Some(k) = limited {
            let d = self.ratelog.check(Instant::now(), k);
            if d.suppressed_before > 0 {
                self.log_suppressed(k, d.suppressed_before);
            }
            if !d.log {
                return;
            }
        }
        match e {
            Event::ProposalMismatch { .. }
            | Event::AuthenticationFailed { .. }
            | Event::ChildSaFailed { .. } => warn!("IKE: {text}"),
            _ => info!("IKE: {text}"),
        }
        // drops and cookie demands are counted, not kept as events
        if !matches!(e, Event::Dropped { .. } | Event::CookieDemanded { .. }) {
            self.record(kind, text);
        }
    }

    /// The summary of `n` suppressed log lines of `kind`.
    fn log_suppressed(&mut self, kind: &str, n: u64) {
        let text = format!(
            "{n} more '{kind}' log lines suppressed in the last {}s (rate limit; counters are exact)",
            defaults::LOG_RATE_WINDOW.as_secs()
        );
        warn!("IKE: {text}");
        self.record("log_suppressed", text);
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
        let now = Instant::now();
        // Connections the new configuration no longer has (or has as manually
        // keyed ones): their IKE SAs are deleted with the peer, and they take no
        // new logins.
        let gone: Vec<String> = self
            .conns
            .keys()
            .filter(|n| !ready.iter().any(|(c, _, _)| &c.name == *n))
            .cloned()
            .collect();
        for name in gone {
            let (_, actions) = self.engine.remove_connection(now, &name);
            let text = format!("connection {name} removed by reload: its IKE SAs are deleted");
            info!("{text}");
            self.record("note", text);
            self.conns.remove(&name);
            self.restart_at.retain(|(_, n)| n != &name);
            self.run_actions(actions);
        }
        let mut n = 0;
        for (c, ec, certs) in ready {
            let closing = self
                .engine
                .replace_connection(now, ec)
                .map_err(|e| e.to_string())?;
            if let Some(certs) = certs {
                self.engine
                    .set_cert_auth(&c.name, certs)
                    .map_err(|e| format!("connection {}: {e}", c.name))?;
            }
            let added = !self.conns.contains_key(&c.name);
            let changed = !closing.is_empty();
            let start = c.ike.as_ref().map(|i| i.start_action) == Some(StartAction::Start);
            let name = c.name.clone();
            self.conns.insert(c.name.clone(), c);
            if changed {
                let text = format!(
                    "connection {name} changed by reload: IKE SAs set up under the old settings are deleted"
                );
                info!("{text}");
                self.record("note", text);
                self.run_actions(closing);
            }
            if (added || changed) && start {
                // a connection new with this reload (or one whose SAs the reload
                // closed) starts like one loaded at start-up
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
        self.counters.cookie_secret_rotations = st.cookie_secret_rotations;
        self.counters.child_sa_limit_refusals = st.child_sa_limit_refusals;
        self.counters.half_open = self.engine.half_open() as u64;
        self.counters.log_lines_suppressed = self.ratelog.suppressed_total();
        self.counters.queue_drops = self.queue_drops.load(Ordering::Relaxed);
        if let Ok(mut v) = self.view.lock() {
            v.sas = sas;
            v.counters = self.counters.clone();
            v.events = self.events.iter().cloned().collect();
        }
    }

    pub(super) fn run(mut self, rx: &Receiver<IkeMsg>) {
        self.trap_routes();
        self.publish();
        // After a datagram the view is published at most every PUBLISH_EVERY (a
        // flood would otherwise spend its time there); after anything else at once.
        let mut last_publish = Instant::now();
        let mut unpublished = false;
        loop {
            let now = Instant::now();
            let wait = self
                .engine
                .next_timer()
                .map_or(Duration::from_secs(1), |t| t.saturating_duration_since(now))
                .min(if unpublished {
                    PUBLISH_EVERY
                } else {
                    Duration::from_secs(1)
                });
            let mut datagram = false;
            match rx.recv_timeout(wait) {
                Ok(IkeMsg::Datagram {
                    local,
                    remote,
                    message,
                }) => {
                    datagram = true;
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
                Ok(IkeMsg::SoftExpired(n)) => self.soft_expired(Instant::now(), &n),
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
            for (kind, n) in self.ratelog.flush(Instant::now()) {
                self.log_suppressed(kind, n);
            }
            for id in std::mem::take(&mut self.close_after) {
                let a = self.engine.terminate(Instant::now(), id);
                self.run_actions(a);
            }
            if !datagram || last_publish.elapsed() >= PUBLISH_EVERY {
                self.publish();
                last_publish = Instant::now();
                unpublished = false;
            } else {
                unpublished = true;
            }
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
