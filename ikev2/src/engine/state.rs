//! What the engine remembers: connections by typed id, IKE SAs with their
//! CHILD_SAs and outstanding requests, and the SA table that finds them.
//!
//! Look-ups cannot go wrong silently: a [`ConnId`] is made only by
//! [`Connections`], which never takes an entry out (a connection removed by a
//! reload is only marked so), so it always names one;
//! an IKE SA, its keys or a child configuration may be gone by the time an
//! event refers to it, and the look-up then returns [`Gone`], which the entry
//! points handle (a datagram is dropped and counted, a timer or API call does
//! nothing).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::config::{ChildConfig, Connection, Mode};
use crate::crypto::{DhPrivate, EspTransform, IkeKeys, IkeSuite, SkKeys};
use crate::wire::{self, flags, Header, TrafficSelector};

use super::api::{Action, ChildSaId, IkeSaId};

/// What an internal look-up did not find: the event that led to it refers to
/// something that no longer exists, and is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gone {
    /// The IKE SA was removed.
    IkeSa,
    /// The IKE SA has no keys (IKE_SA_INIT not complete).
    Keys,
    /// The connection's configuration no longer has this child.
    ChildConfig,
}

/// Index of a connection in [`Connections`]; only `Connections` makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ConnId(usize);

/// The configured connections. A connection removed by a reload stays in the
/// table, marked removed (look-ups by name or by address skip it), so every
/// [`ConnId`] stays valid; adding one of the same name again reuses its entry.
#[derive(Debug, Default)]
pub(super) struct Connections(Vec<(Connection, bool)>);

impl Connections {
    /// The connection named `name` (not a removed one).
    pub(super) fn find(&self, name: &str) -> Option<ConnId> {
        self.0
            .iter()
            .position(|(c, removed)| !removed && c.name == name)
            .map(ConnId)
    }
    /// The first connection (not a removed one) for which `f` holds.
    pub(super) fn find_by(&self, mut f: impl FnMut(&Connection) -> bool) -> Option<ConnId> {
        self.0
            .iter()
            .position(|(c, removed)| !removed && f(c))
            .map(ConnId)
    }
    /// The connection `id` (cannot fail: entries are never taken out).
    pub(super) fn get(&self, id: ConnId) -> &Connection {
        &self.0[id.0].0
    }
    /// Whether connection `id` was removed by a reload.
    pub(super) fn is_removed(&self, id: ConnId) -> bool {
        self.0[id.0].1
    }
    /// Child configuration `idx` of connection `id`; a reload may have removed it.
    pub(super) fn child(&self, id: ConnId, idx: usize) -> Result<&ChildConfig, Gone> {
        self.get(id).children.get(idx).ok_or(Gone::ChildConfig)
    }
    /// Add a connection (in the entry of a removed one of the same name, if any).
    pub(super) fn push(&mut self, c: Connection) {
        match self
            .0
            .iter()
            .position(|(o, removed)| *removed && o.name == c.name)
        {
            Some(i) => self.0[i] = (c, false),
            None => self.0.push((c, false)),
        }
    }
    /// Replace connection `id`.
    pub(super) fn replace(&mut self, id: ConnId, c: Connection) {
        self.0[id.0] = (c, false);
    }
    /// Mark connection `id` removed.
    pub(super) fn remove(&mut self, id: ConnId) {
        self.0[id.0].1 = true;
    }
    /// All connections not removed.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Connection> {
        self.0
            .iter()
            .filter(|(_, removed)| !removed)
            .map(|(c, _)| c)
    }
    /// How many (not removed).
    pub(super) fn len(&self) -> usize {
        self.iter().count()
    }
}

/// The internal state of an IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// IKE_SA_INIT sent.
    InitSent,
    /// IKE_AUTH sent.
    AuthSent,
    /// Responder after IKE_SA_INIT.
    HalfOpen,
    /// Established.
    Established,
    /// Replaced by a rekey; waiting for the delete exchange.
    Rekeyed,
    /// Our DELETE of it is under way.
    Deleting,
}

/// When an SA (IKE SA or CHILD_SA) is rekeyed and when it is deleted unless
/// rekeyed before; None: not scheduled (or done).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Lifetime {
    /// Soft lifetime (with jitter): start a rekey at this time.
    pub(super) rekey_at: Option<Instant>,
    /// Hard lifetime: deleted at this time unless rekeyed before.
    pub(super) expire_at: Option<Instant>,
}

impl Lifetime {
    /// Rekeyed `soft` (jitter already applied) and deleted `hard` after `now`.
    pub(super) fn starting(now: Instant, soft: Option<Duration>, hard: Option<Duration>) -> Self {
        Lifetime {
            rekey_at: soft.map(|t| now + t),
            expire_at: hard.map(|t| now + t),
        }
    }
    /// The hard lifetime has passed.
    pub(super) fn expired(&self, now: Instant) -> bool {
        self.expire_at.is_some_and(|t| now >= t)
    }
    /// The hard lifetime has passed: both times are cleared, the SA is deleted.
    pub(super) fn take_expired(&mut self, now: Instant) -> bool {
        let expired = self.expired(now);
        if expired {
            *self = Lifetime::default();
        }
        expired
    }
    /// The rekey time has passed: it is cleared, the rekey is started.
    pub(super) fn take_rekey_due(&mut self, now: Instant) -> bool {
        let due = self.rekey_at.is_some_and(|t| now >= t);
        if due {
            self.rekey_at = None;
        }
        due
    }
    /// The times scheduled, for the next timer.
    pub(super) fn times(&self) -> impl Iterator<Item = Instant> {
        [self.rekey_at, self.expire_at].into_iter().flatten()
    }
}

/// A CHILD_SA.
#[derive(Debug)]
pub(super) struct Child {
    pub(super) id: ChildSaId,
    /// Index of its configuration in the connection's children.
    pub(super) cfg: usize,
    pub(super) spi_in: u32,
    pub(super) spi_out: u32,
    pub(super) transform: EspTransform,
    pub(super) esn: bool,
    pub(super) mode: Mode,
    pub(super) local_ts: Vec<TrafficSelector>,
    pub(super) remote_ts: Vec<TrafficSelector>,
    pub(super) life: Lifetime,
    pub(super) rekeyed: bool,
    /// Created by our side of a rekey collision and found redundant (RFC 7296
    /// 2.8.1): removed as soon as its DELETE exchange completes, without a linger
    /// time (the peer never sends on it once it has the surviving SA).
    pub(super) redundant: bool,
    /// The SA that replaced this one when we answered the peer's rekey of it:
    /// outbound traffic moves there when the peer deletes this one.
    pub(super) replaced_by: Option<ChildSaId>,
}

impl Child {
    /// The action that removes it from the data path.
    pub(super) fn delete_action(&self, ike_sa: IkeSaId) -> Action {
        Action::DeleteChildSa {
            ike_sa,
            child: self.id,
            inbound_spi: self.spi_in,
            outbound_spi: self.spi_out,
        }
    }
}

/// An old inbound SA kept for a while after its rekey or delete, so that
/// packets the peer sent before it switched still arrive.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lingering {
    /// Removed at this time.
    pub(super) until: Instant,
    pub(super) child: ChildSaId,
    pub(super) spi_in: u32,
    pub(super) spi_out: u32,
}

impl Lingering {
    /// The SPIs of `c`, to be removed at `until`.
    pub(super) fn of(c: &Child, until: Instant) -> Lingering {
        Lingering {
            until,
            child: c.id,
            spi_in: c.spi_in,
            spi_out: c.spi_out,
        }
    }
    /// The action that removes it from the data path.
    pub(super) fn delete_action(&self, ike_sa: IkeSaId) -> Action {
        Action::DeleteChildSa {
            ike_sa,
            child: self.child,
            inbound_spi: self.spi_in,
            outbound_spi: self.spi_out,
        }
    }
}

/// We answered the peer's rekey of an SA while our own rekey of it was
/// outstanding (RFC 7296 2.8.1 for a CHILD_SA, where `Sa` is a [`ChildSaId`];
/// 2.8.2 for the IKE SA, an [`IkeSaId`]): the peer's Ni and our Nr of that
/// exchange, and the SA it created.
#[derive(Debug)]
pub(super) struct Collision<Sa> {
    pub(super) peer_ni: Vec<u8>,
    pub(super) our_nr: Vec<u8>,
    /// The SA the peer's exchange created.
    pub(super) peer_sa: Sa,
}

impl<Sa> Collision<Sa> {
    /// Our exchange (nonces `ni`, `nr`) made the redundant SA: of the two new
    /// SAs, the one created with the lowest of the four nonces is redundant and
    /// deleted by its creator.
    pub(super) fn ours_redundant(&self, ni: &[u8], nr: &[u8]) -> bool {
        ni.min(nr) < self.peer_ni.as_slice().min(self.our_nr.as_slice())
    }
}

/// What our outstanding request asked, to complete it with the response.
#[derive(Debug)]
pub(super) enum Req {
    Init,
    Auth { spi_in: u32 },
    RekeyChild(ChildRekey),
    RekeyIke(IkeRekey),
    CreateChild { cfg: usize, offer: ChildOffer },
    DeleteChildren { children: Vec<ChildSaId> },
    DeleteIke,
    Dpd,
}

/// The fresh SPI, nonce and (for PFS) DH key of our CREATE_CHILD_SA request
/// for a CHILD_SA.
#[derive(Debug)]
pub(super) struct ChildOffer {
    pub(super) spi_in: u32,
    pub(super) ni: Vec<u8>,
    pub(super) dh: Option<DhPrivate>,
}

/// Our rekey of a CHILD_SA.
#[derive(Debug)]
pub(super) struct ChildRekey {
    /// The CHILD_SA rekeyed.
    pub(super) old: ChildSaId,
    /// Its configuration.
    pub(super) cfg: usize,
    /// What we proposed for the new SA.
    pub(super) offer: ChildOffer,
    /// Set when we answered the peer's rekey of the same CHILD_SA meanwhile.
    pub(super) collision: Option<Collision<ChildSaId>>,
}

/// Our rekey of the IKE SA.
#[derive(Debug)]
pub(super) struct IkeRekey {
    /// Our SPI of the new IKE SA.
    pub(super) spi: u64,
    pub(super) ni: Vec<u8>,
    pub(super) dh: DhPrivate,
    /// Set when we answered the peer's rekey of the same IKE SA meanwhile.
    pub(super) collision: Option<Collision<IkeSaId>>,
}

/// Our request waiting for its response (a window of one).
#[derive(Debug)]
pub(super) struct Outstanding {
    pub(super) mid: u32,
    pub(super) msg: Vec<u8>,
    pub(super) tries: u32,
    pub(super) next_at: Instant,
    pub(super) timeout: Duration,
    pub(super) req: Req,
}

/// An exchange we will start when none is outstanding.
#[derive(Debug)]
pub(super) enum Task {
    CreateChild(usize),
    RekeyChild(ChildSaId),
    RekeyIke,
    DeleteChildren(Vec<ChildSaId>),
    DeleteIke,
    Dpd,
}

impl Task {
    /// Work on CHILD_SAs, which moves with them to a new IKE SA.
    pub(super) fn is_child_work(&self) -> bool {
        matches!(
            self,
            Task::RekeyChild(_) | Task::DeleteChildren(_) | Task::CreateChild(_)
        )
    }
}

/// CHILD_SAs, lingering SAs and queued child work taken from one IKE SA to be
/// given to another (IKE SA rekey, RFC 7296 2.18, and its collisions, 2.8.2).
pub(super) struct ChildWork {
    children: Vec<Child>,
    linger: Vec<Lingering>,
    tasks: Vec<Task>,
}

/// An IKE SA.
pub(super) struct IkeSa {
    pub(super) id: IkeSaId,
    pub(super) conn: ConnId,
    pub(super) initiator: bool,
    pub(super) spi_i: u64,
    pub(super) spi_r: u64,
    pub(super) state: State,
    pub(super) local: SocketAddr,
    pub(super) remote: SocketAddr,
    pub(super) natt: bool,
    pub(super) suite: Option<IkeSuite>,
    pub(super) keys: Option<IkeKeys>,
    pub(super) ni: Vec<u8>,
    pub(super) nr: Vec<u8>,
    pub(super) dh: Option<DhPrivate>,
    pub(super) init_request: Vec<u8>,
    pub(super) init_response: Vec<u8>,
    pub(super) cookie: Option<Vec<u8>>,
    /// Responder: the IKE_SA_INIT request that made it returned a valid cookie
    /// (counted in its own per-source quota of half-open SAs).
    pub(super) admitted_with_cookie: bool,
    pub(super) my_mid: u32,
    pub(super) outstanding: Option<Outstanding>,
    pub(super) peer_mid: u32,
    /// Last request from the peer (bytes) and our response, for retransmissions.
    pub(super) last_exchange: Option<(Vec<u8>, Vec<u8>)>,
    pub(super) queue: VecDeque<Task>,
    pub(super) children: Vec<Child>,
    pub(super) created: Instant,
    pub(super) established_at: Option<Instant>,
    pub(super) last_heard: Instant,
    pub(super) life: Lifetime,
    /// Removals of old inbound SAs scheduled after a rekey.
    pub(super) linger: Vec<Lingering>,
    /// Remove once the current response is sent (peer deleted it, or auth failed).
    pub(super) closing: bool,
    /// We are behind a NAT: send keepalives to keep its mapping.
    pub(super) behind_nat: bool,
    /// The peer is behind a NAT: follow its mapping changes (RFC 7296 2.23).
    pub(super) peer_behind_nat: bool,
    /// Both sides offered SHA2-256 in SIGNATURE_HASH_ALGORITHMS: signature AUTH
    /// uses RFC 7427 (method 14).
    pub(super) rfc7427: bool,
    pub(super) last_keepalive: Instant,
    /// After an IKE SA rekey: the SA that took over our children.
    pub(super) successor: Option<IkeSaId>,
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

/// Who and where a new IKE SA is, for [`IkeSa::new`].
pub(super) struct NewIkeSa {
    pub(super) id: IkeSaId,
    pub(super) conn: ConnId,
    pub(super) initiator: bool,
    pub(super) spi_i: u64,
    pub(super) spi_r: u64,
    pub(super) state: State,
    pub(super) local: SocketAddr,
    pub(super) remote: SocketAddr,
}

impl IkeSa {
    /// A new IKE SA created at `now`: no keys, no exchanges, no children yet.
    pub(super) fn new(n: NewIkeSa, now: Instant) -> IkeSa {
        IkeSa {
            id: n.id,
            conn: n.conn,
            initiator: n.initiator,
            spi_i: n.spi_i,
            spi_r: n.spi_r,
            state: n.state,
            local: n.local,
            remote: n.remote,
            natt: false,
            suite: None,
            keys: None,
            ni: vec![],
            nr: vec![],
            dh: None,
            init_request: vec![],
            init_response: vec![],
            cookie: None,
            admitted_with_cookie: false,
            my_mid: 0,
            outstanding: None,
            peer_mid: 0,
            last_exchange: None,
            queue: VecDeque::new(),
            children: vec![],
            created: now,
            established_at: None,
            last_heard: now,
            life: Lifetime::default(),
            linger: vec![],
            closing: false,
            behind_nat: false,
            peer_behind_nat: false,
            rfc7427: false,
            last_keepalive: now,
            successor: None,
        }
    }

    /// Up or coming up (any role), so a new `initiate` would duplicate it.
    pub(super) fn is_active(&self) -> bool {
        matches!(
            self.state,
            State::InitSent | State::AuthSent | State::Established
        ) || (self.state == State::HalfOpen && !self.closing)
    }

    /// Our IKE SPI.
    pub(super) fn local_spi(&self) -> u64 {
        if self.initiator {
            self.spi_i
        } else {
            self.spi_r
        }
    }
    /// The peer's IKE SPI.
    pub(super) fn remote_spi(&self) -> u64 {
        if self.initiator {
            self.spi_r
        } else {
            self.spi_i
        }
    }
    /// The suite and keys (from IKE_SA_INIT or the rekey that made this SA).
    pub(super) fn keyed(&self) -> Result<(IkeSuite, &IkeKeys), Gone> {
        match (self.suite, &self.keys) {
            (Some(s), Some(k)) => Ok((s, k)),
            _ => Err(Gone::Keys),
        }
    }
    /// The keys we protect our messages with.
    pub(super) fn my_keys(&self) -> Result<&SkKeys, Gone> {
        let k = self.keys.as_ref().ok_or(Gone::Keys)?;
        Ok(if self.initiator {
            &k.initiator
        } else {
            &k.responder
        })
    }
    /// The keys the peer protects its messages with.
    pub(super) fn peer_keys(&self) -> Result<&SkKeys, Gone> {
        let k = self.keys.as_ref().ok_or(Gone::Keys)?;
        Ok(if self.initiator {
            &k.responder
        } else {
            &k.initiator
        })
    }
    /// The header of a message of ours on this SA.
    pub(super) fn header(&self, exch: u8, mid: u32, response: bool) -> Header {
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
    /// The CHILD_SA `id`.
    pub(super) fn child(&self, id: ChildSaId) -> Option<&Child> {
        self.children.iter().find(|c| c.id == id)
    }
    /// The CHILD_SA `id`, to change it.
    pub(super) fn child_mut(&mut self, id: ChildSaId) -> Option<&mut Child> {
        self.children.iter_mut().find(|c| c.id == id)
    }
    /// Take CHILD_SA `id` out of this IKE SA.
    pub(super) fn take_child(&mut self, id: ChildSaId) -> Option<Child> {
        let pos = self.children.iter().position(|c| c.id == id)?;
        Some(self.children.remove(pos))
    }
    /// A CHILD_SA taken out of this IKE SA by a delete: a rekeyed one (or one
    /// the peer may have sent on, `keep_inbound`) lingers until `linger`, the
    /// others go at once (the action returned).
    pub(super) fn retire_child(
        &mut self,
        ch: &Child,
        keep_inbound: bool,
        linger: Instant,
    ) -> Option<Action> {
        if (ch.rekeyed && !ch.redundant) || keep_inbound {
            self.linger.push(Lingering::of(ch, linger));
            None
        } else {
            Some(ch.delete_action(self.id))
        }
    }
    /// Take the CHILD_SAs, lingering SAs and queued child work away; other
    /// queued work stays.
    pub(super) fn take_child_work(&mut self) -> ChildWork {
        let (tasks, keep): (Vec<Task>, Vec<Task>) =
            self.queue.drain(..).partition(Task::is_child_work);
        self.queue.extend(keep);
        ChildWork {
            children: std::mem::take(&mut self.children),
            linger: std::mem::take(&mut self.linger),
            tasks,
        }
    }
    /// Take over what [`IkeSa::take_child_work`] took from another IKE SA.
    pub(super) fn adopt(&mut self, w: ChildWork) {
        self.children.extend(w.children);
        self.linger.extend(w.linger);
        self.queue.extend(w.tasks);
    }
    /// Nothing for [`IkeSa::take_child_work`] to take.
    pub(super) fn has_no_child_work(&self) -> bool {
        self.children.is_empty()
            && self.linger.is_empty()
            && !self.queue.iter().any(Task::is_child_work)
    }
    /// The actions that remove all its CHILD_SAs, lingering ones included.
    pub(super) fn delete_all_children(&self) -> impl Iterator<Item = Action> + '_ {
        self.children
            .iter()
            .map(|c| c.delete_action(self.id))
            .chain(self.linger.iter().map(|l| l.delete_action(self.id)))
    }
}

/// The IKE SAs, by id, by our SPI, and (responder) by the initiator's SPI and
/// address while the IKE SA exists, so a repeated IKE_SA_INIT is recognised.
#[derive(Debug, Default)]
pub(super) struct SaTable {
    sas: BTreeMap<IkeSaId, IkeSa>,
    by_spi: HashMap<u64, IkeSaId>,
    half_open: HashMap<(u64, SocketAddr), IkeSaId>,
}

impl SaTable {
    /// The IKE SA `id`.
    pub(super) fn get(&self, id: IkeSaId) -> Result<&IkeSa, Gone> {
        self.sas.get(&id).ok_or(Gone::IkeSa)
    }
    /// The IKE SA `id`, to change it.
    pub(super) fn get_mut(&mut self, id: IkeSaId) -> Result<&mut IkeSa, Gone> {
        self.sas.get_mut(&id).ok_or(Gone::IkeSa)
    }
    /// Whether IKE SA `id` exists.
    pub(super) fn contains(&self, id: IkeSaId) -> bool {
        self.sas.contains_key(&id)
    }
    /// The IKE SA whose SPI (ours) is `spi`.
    pub(super) fn by_spi(&self, spi: u64) -> Option<&IkeSa> {
        self.by_spi.get(&spi).and_then(|id| self.sas.get(id))
    }
    /// Whether `spi` is one of our IKE SPIs.
    pub(super) fn spi_in_use(&self, spi: u64) -> bool {
        self.by_spi.contains_key(&spi)
    }
    /// Whether `spi` is the inbound SPI of one of our CHILD_SAs.
    pub(super) fn child_spi_in_use(&self, spi: u32) -> bool {
        self.sas
            .values()
            .any(|sa| sa.children.iter().any(|c| c.spi_in == spi))
    }
    /// The responder's IKE SA made by IKE_SA_INIT request with `spi_i` from `remote`.
    pub(super) fn half_open(&self, spi_i: u64, remote: SocketAddr) -> Option<&IkeSa> {
        self.half_open
            .get(&(spi_i, remote))
            .and_then(|id| self.sas.get(id))
    }
    /// Add an IKE SA, found by its SPI (ours) from now on; a responder's also by
    /// the initiator's SPI and address.
    pub(super) fn insert(&mut self, sa: IkeSa) {
        self.by_spi.insert(sa.local_spi(), sa.id);
        if !sa.initiator && sa.state == State::HalfOpen {
            self.half_open.insert((sa.spi_i, sa.remote), sa.id);
        }
        self.sas.insert(sa.id, sa);
    }
    /// Remove IKE SA `id` and its index entries.
    pub(super) fn remove(&mut self, id: IkeSaId) -> Option<IkeSa> {
        let sa = self.sas.remove(&id)?;
        self.by_spi.retain(|_, v| *v != id);
        self.half_open.retain(|_, v| *v != id);
        Some(sa)
    }
    /// Ids of all IKE SAs, in order.
    pub(super) fn ids(&self) -> Vec<IkeSaId> {
        self.sas.keys().copied().collect()
    }
    /// All IKE SAs, in id order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &IkeSa> {
        self.sas.values()
    }
    /// Move the child work of IKE SA `from` to `to` (both must exist, else
    /// nothing moves).
    pub(super) fn move_child_work(&mut self, from: IkeSaId, to: IkeSaId) -> Result<(), Gone> {
        self.get(to)?;
        let w = self.get_mut(from)?.take_child_work();
        self.get_mut(to)?.adopt(w);
        Ok(())
    }
}

/// The secret cookies are made with (RFC 7296 2.6), changed every
/// `EngineConfig::cookie_secret_lifetime`; the one before is still accepted
/// for one more period, so a cookie handed out just before a change works.
pub(super) struct CookieSecrets {
    current: [u8; 32],
    previous: Option<[u8; 32]>,
    /// When `current` was made (None: not yet used, the clock starts at first use).
    since: Option<Instant>,
}

impl fmt::Debug for CookieSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieSecrets").finish_non_exhaustive()
    }
}

impl Drop for CookieSecrets {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.current.zeroize();
        if let Some(p) = self.previous.as_mut() {
            p.zeroize();
        }
    }
}

impl CookieSecrets {
    /// A first secret from `rng`.
    pub(super) fn new(rng: &mut dyn crate::crypto::Rng) -> Self {
        let mut current = [0u8; 32];
        rng.fill_bytes(&mut current);
        CookieSecrets {
            current,
            previous: None,
            since: None,
        }
    }
    /// Change the secret if its period is over at `now`: the current one becomes
    /// the previous one, or, after two periods or more, both are forgotten.
    /// Returns true when a new secret was made.
    pub(super) fn rotate(
        &mut self,
        now: Instant,
        period: Duration,
        rng: &mut dyn crate::crypto::Rng,
    ) -> bool {
        let Some(since) = self.since else {
            self.since = Some(now);
            return false;
        };
        let age = now.saturating_duration_since(since);
        if age < period {
            return false;
        }
        use zeroize::Zeroize;
        let mut fresh = [0u8; 32];
        rng.fill_bytes(&mut fresh);
        let mut old = std::mem::replace(&mut self.current, fresh);
        fresh.zeroize();
        if let Some(p) = self.previous.as_mut() {
            p.zeroize();
        }
        self.previous = (age < period * 2).then_some(old);
        old.zeroize();
        self.since = Some(now);
        true
    }
    /// The secret new cookies are made with.
    pub(super) fn current(&self) -> &[u8; 32] {
        &self.current
    }
    /// The previous secret, while it is still accepted.
    pub(super) fn previous(&self) -> Option<&[u8; 32]> {
        self.previous.as_ref()
    }
}
