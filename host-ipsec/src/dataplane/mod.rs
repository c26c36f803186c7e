//! The data path: a multi-queue TUN device, UDP 4500 and raw ESP sockets, and
//! one outbound and one inbound worker per core (`workers`, default: the
//! available cores).
//!
//! - Outbound worker `k` ([`outbound`]) reads batches from TUN queue `k` (the
//!   kernel spreads flows over the queues), looks up the SPD (the installed
//!   children's selectors), hands the packets of a TUN read to each SA's path as
//!   one batch (one reservation of sequence numbers per SA and read, see
//!   [`crate::path::SoftOutbound`]; one driver call on the card path) and sends
//!   with UDP GSO or `sendmmsg`. Every outbound worker can seal for every SA; no
//!   number is handed out twice.
//! - Inbound worker `k` ([`inbound`]) owns the inbound SAs whose SPI hashes to
//!   `k` ([`owner`]): their replay windows have exactly one writer. Each worker
//!   has its own socket per encapsulation ([`sockets`]); a classic BPF program
//!   steers each ESP datagram to its owner's socket (`SO_ATTACH_REUSEPORT_CBPF`
//!   on the UDP sockets, a socket filter on each raw ESP socket). A datagram that
//!   still reaches another worker (e.g. inside a GRO-coalesced read) is handed
//!   to the owner over its command channel.
//! - Routes and rules into the TUN device go through rtnetlink ([`routes`]);
//!   status records come from [`status`].
//!
//! Nothing on the per-packet path takes a lock (the card path serializes on the
//! card itself, once per batch). SA changes reach the workers as commands on
//! channels that they drain between batches. Counters are relaxed atomics.

mod inbound;
mod outbound;
mod routes;
mod sockets;
mod status;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use esp::LifetimeMeter;
use mio::{Poll, Waker};
use nix::sys::socket::SockaddrStorage;
use tracing::{info, warn};

use crate::card::{self, SharedEngine};
use crate::config::{CardVerify, OffloadDevice};
use crate::defaults;
use crate::faults::FaultSchedule;
use crate::path::{self, InboundPath, OutboundPath, PathKind};
use crate::sa::{ChildSaSpec, InstallError, Origin, SaDirection, SaInstaller, SoftExpired};
use crate::state::Gate;
use crate::stats::{GlobalCounters, SaCounters};
use crate::tun::Tun;

pub use routes::RouteError;
pub use sockets::owner;
use sockets::{Sock, SockKind};

/// Largest packet handled (TUN MTU is at most 9000; outer headers fit the rest).
const BUF: usize = 9216 + 256;

/// Errors starting the data path.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The TUN device could not be created.
    #[error("cannot create TUN device {name}: {source}")]
    Tun {
        /// Name.
        name: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// A socket could not be opened or bound.
    #[error("cannot open {what}: {source}")]
    Socket {
        /// Which socket.
        what: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// The TUN device could not be set up through rtnetlink.
    #[error("cannot set up TUN device {name}: {source}")]
    Link {
        /// Name.
        name: String,
        /// Cause.
        #[source]
        source: RouteError,
    },
    /// The card backend could not be opened (the engine's error says which and why).
    #[error(transparent)]
    Card(card::EngineError),
    /// A worker thread could not be started.
    #[error("cannot start worker thread: {0}")]
    Thread(#[source] io::Error),
}

/// An outbound SA as every outbound worker holds it.
struct OutEntry {
    spec: Arc<ChildSaSpec>,
    path: Arc<dyn OutboundPath>,
    counters: Arc<SaCounters>,
    sock: Arc<Sock>,
    dest: SockaddrStorage,
    inner_mtu: usize,
    notices: Arc<SoftNotices>,
}

/// An inbound SA as its owning worker holds it.
struct InEntry {
    spec: Arc<ChildSaSpec>,
    path: Box<dyn InboundPath>,
    counters: Arc<SaCounters>,
    notices: Arc<SoftNotices>,
}

/// Where the workers report a soft lifetime (once per SA half, so a lock is
/// fine): a negotiated pair goes to the IKE sink, which rekeys it; a manual pair
/// can only be warned about (its status shows `soft_reached`).
#[derive(Default)]
struct SoftNotices {
    sink: Mutex<Option<Sender<SoftExpired>>>,
}

impl SoftNotices {
    fn report(&self, spec: &ChildSaSpec, direction: SaDirection, life: &LifetimeMeter) {
        let spi = match direction {
            SaDirection::In => spec.inbound.spi,
            SaDirection::Out => spec.outbound.spi,
        };
        let used = life.usage();
        let (conn, child, seq) = (&spec.connection, &spec.child, life.highest_seq());
        match spec.origin {
            Origin::Manual => warn!(
                connection = %conn, child = %child, spi = format_args!("{spi:#010x}"),
                %direction, packets = used.packets, bytes = used.bytes, seq,
                "soft lifetime reached on a manually keyed SA: configure new keys (SPIs) before its hard limit stops it"
            ),
            Origin::Ike => {
                info!(
                    connection = %conn, child = %child, spi = format_args!("{spi:#010x}"),
                    %direction, packets = used.packets, bytes = used.bytes, seq,
                    "soft lifetime reached: asking IKE to rekey the CHILD_SA"
                );
                let notice = SoftExpired {
                    connection: conn.clone(),
                    child: child.clone(),
                    origin: spec.origin,
                    inbound_spi: spec.inbound.spi,
                    outbound_spi: spec.outbound.spi,
                    direction,
                };
                let sent = self
                    .sink
                    .lock()
                    .ok()
                    .and_then(|s| s.as_ref().map(|tx| tx.send(notice).is_ok()));
                if sent != Some(true) {
                    warn!(connection = %conn, child = %child, "soft lifetime reached but IKE is not running: no rekey");
                }
            }
        }
    }
}

/// Commands to the outbound workers.
enum OutCmd {
    Install(Arc<OutEntry>),
    /// The same SA (by inbound SPI) with a new destination (the peer's NAT moved).
    Replace(Arc<OutEntry>),
    Remove(u32),
    AcquireSink(Sender<(IpAddr, IpAddr)>),
    Prefer(u32),
}

/// An IKE message received on a UDP-encapsulation socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeDatagram {
    /// Our address and port it arrived on.
    pub local: SocketAddr,
    /// The sender.
    pub peer: SocketAddr,
    /// The UDP payload as received, still starting with the four-byte non-ESP
    /// marker (what `ikev2`'s `handle_datagram` takes on the NAT-T port).
    pub message: Vec<u8>,
}

/// Commands to the inbound workers.
enum InCmd {
    IkeSink(Sender<IkeDatagram>),
    Install(u32, Box<InEntry>),
    Remove(u32),
    AddSocket(Arc<Sock>),
    /// An ESP datagram that reached another worker than its SA's owner.
    Datagram(SockKind, Vec<u8>),
}

/// The way to an inbound worker: its command channel and the waker of its poller.
#[derive(Clone)]
struct InLink {
    tx: Sender<InCmd>,
    waker: Arc<Waker>,
}

impl InLink {
    fn send(&self, cmd: InCmd) -> Result<(), InstallError> {
        self.tx.send(cmd).map_err(|_| InstallError::Stopped)?;
        let _ = self.waker.wake();
        Ok(())
    }
}

/// How to start the data path.
#[derive(Debug, Clone)]
pub struct DataplaneOptions {
    /// TUN device name.
    pub tun_name: String,
    /// TUN MTU.
    pub tun_mtu: u16,
    /// Card backend.
    pub device: OffloadDevice,
    /// Workers per direction; 0 = one per available core.
    pub workers: usize,
    /// Faults injected into the model card (lab feature; `device` must be `model`).
    pub faults: FaultSchedule,
    /// How many card results are checked in software.
    pub verify: CardVerify,
}

impl DataplaneOptions {
    /// The options of a `[daemon]` section, with the TUN MTU the daemon chose.
    pub fn from_daemon(d: &crate::config::DaemonConfig, tun_mtu: u16) -> Self {
        DataplaneOptions {
            tun_name: d.tun_name.clone(),
            tun_mtu,
            device: d.offload_device,
            workers: usize::from(d.workers),
            faults: d.model_faults.clone(),
            verify: d.verify,
        }
    }

    fn worker_count(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .min(64)
    }
}

/// An installed SA pair as the control plane sees it (no key use here).
struct Installed {
    spec: Arc<ChildSaSpec>,
    counters: Arc<SaCounters>,
    out: Arc<OutEntry>,
    gate: Option<Arc<Gate>>,
    in_life: Arc<LifetimeMeter>,
    out_life: Arc<LifetimeMeter>,
}

/// The running data path.
pub struct Dataplane {
    tun: Arc<Tun>,
    tun_mtu: u16,
    n_workers: usize,
    engine: Option<SharedEngine>,
    /// The counters of the workers' lanes on the card.
    lane_stats: Vec<Arc<card::LaneStats>>,
    global: Arc<GlobalCounters>,
    installed: Mutex<BTreeMap<u32, Installed>>,
    sockets: Mutex<HashMap<SockKind, Arc<Sock>>>,
    out_tx: Mutex<Vec<Sender<OutCmd>>>,
    in_tx: Mutex<Vec<InLink>>,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    mark: u32,
    notices: Arc<SoftNotices>,
}

impl std::fmt::Debug for Dataplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataplane")
            .field("tun", &self.tun.name())
            .field("tun_mtu", &self.tun_mtu)
            .finish()
    }
}

/// The inbound workers' ends before they start: each one's poller (its waker is
/// in the matching [`InLink`]) and command receiver.
type InEnds = Vec<(Poll, Receiver<InCmd>)>;

/// Channels and wakers for `n` inbound workers.
fn inbound_links(n: usize) -> Result<(Vec<InLink>, InEnds), StartError> {
    let mut links = Vec::with_capacity(n);
    let mut ends = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = channel();
        let poll = Poll::new().map_err(StartError::Thread)?;
        let waker = Waker::new(poll.registry(), inbound::WAKE_TOKEN).map_err(StartError::Thread)?;
        links.push(InLink {
            tx,
            waker: Arc::new(waker),
        });
        ends.push((poll, rx));
    }
    Ok((links, ends))
}

impl Dataplane {
    /// Creates the TUN device (MTU `tun_mtu`), brings it up and starts one
    /// worker per available core in each direction.
    pub fn start(
        tun_name: &str,
        tun_mtu: u16,
        device: OffloadDevice,
    ) -> Result<Arc<Self>, StartError> {
        Self::start_with(&DataplaneOptions {
            tun_name: tun_name.into(),
            tun_mtu,
            device,
            workers: 0,
            faults: FaultSchedule::default(),
            verify: defaults::CARD_VERIFY,
        })
    }

    /// Creates the TUN device with one queue per worker, brings it up and starts
    /// the workers.
    pub fn start_with(o: &DataplaneOptions) -> Result<Arc<Self>, StartError> {
        let (tun_name, tun_mtu, device) = (o.tun_name.as_str(), o.tun_mtu, o.device);
        let n = o.worker_count();
        let opened =
            card::open_with(device, &o.faults, o.verify, 2 * n).map_err(StartError::Card)?;
        let (engine, mut lanes, lane_stats) = match opened {
            Some(c) => {
                info!(
                    ?device,
                    faults = o.faults.steps.len(),
                    verify = %o.verify,
                    lanes = c.lanes.len(),
                    "card backend opened"
                );
                (Some(c.engine), c.lanes, c.lane_stats)
            }
            None => (None, Vec::new(), Vec::new()),
        };
        // Lanes in turn to outbound worker 0, inbound worker 0, outbound worker 1, ...;
        // workers past the card's queue pairs use the engine's own queue.
        lanes.reverse();
        let mut out_lanes: Vec<Option<Box<dyn card::WorkerLane>>> = Vec::new();
        let mut in_lanes: Vec<Option<Box<dyn card::WorkerLane>>> = Vec::new();
        for _ in 0..n {
            out_lanes.push(lanes.pop());
            in_lanes.push(lanes.pop());
        }
        let queues: Vec<Arc<Tun>> = Tun::open_queues(tun_name, n)
            .map_err(|source| StartError::Tun {
                name: tun_name.into(),
                source,
            })?
            .into_iter()
            .map(Arc::new)
            .collect();
        let tun = queues.first().cloned().ok_or_else(|| StartError::Tun {
            name: tun_name.into(),
            source: io::Error::other("no queue opened"),
        })?;
        let name = tun.name().to_string();
        routes::Rtnl::open()
            .and_then(|mut nl| nl.link_up(&name, tun_mtu, defaults::TUN_TXQUEUELEN))
            .map_err(|source| StartError::Link {
                name: name.clone(),
                source,
            })?;
        let global = Arc::new(GlobalCounters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (out_txs, out_rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| channel()).unzip();
        let (links, in_ends) = inbound_links(n)?;
        let dp = Arc::new(Dataplane {
            tun: tun.clone(),
            tun_mtu,
            n_workers: n,
            engine,
            lane_stats,
            global: global.clone(),
            installed: Mutex::new(BTreeMap::new()),
            sockets: Mutex::new(HashMap::new()),
            out_tx: Mutex::new(out_txs),
            in_tx: Mutex::new(links.clone()),
            stop: stop.clone(),
            threads: Mutex::new(Vec::new()),
            mark: defaults::SOCKET_MARK,
            notices: Arc::new(SoftNotices::default()),
        });
        let mut handles = Vec::with_capacity(2 * n);
        for (((k, rx), q), lane) in out_rxs.into_iter().enumerate().zip(&queues).zip(out_lanes) {
            let (t, g, st) = (q.clone(), global.clone(), stop.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("ipsecd-out{k}"))
                    .spawn(move || {
                        if let Some(l) = lane {
                            card::bind_lane(l);
                        }
                        outbound::run(&t, rx, &g, &st)
                    })
                    .map_err(StartError::Thread)?,
            );
        }
        for (((k, (poll, rx)), q), lane) in
            in_ends.into_iter().enumerate().zip(&queues).zip(in_lanes)
        {
            let place = inbound::Place {
                index: k,
                workers: n,
                peers: links.clone(),
            };
            let (t, g, st) = (q.clone(), global.clone(), stop.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("ipsecd-in{k}"))
                    .spawn(move || {
                        if let Some(l) = lane {
                            card::bind_lane(l);
                        }
                        inbound::run(place, &t, poll, rx, &g, &st)
                    })
                    .map_err(StartError::Thread)?,
            );
        }
        dp.threads
            .lock()
            .map_err(|_| StartError::Thread(io::Error::other("poisoned")))?
            .extend(handles);
        info!(tun = %name, mtu = tun_mtu, workers = n, offload = dp.tun.offload(), "data path started");
        Ok(dp)
    }

    /// TUN device name.
    pub fn tun_name(&self) -> &str {
        self.tun.name()
    }

    /// TUN MTU.
    pub fn tun_mtu(&self) -> u16 {
        self.tun_mtu
    }

    /// Daemon-wide counters.
    pub fn global(&self) -> &Arc<GlobalCounters> {
        &self.global
    }

    /// Worker threads (both directions).
    pub fn workers(&self) -> usize {
        self.threads.lock().map(|t| t.len()).unwrap_or(0)
    }

    /// Workers per direction.
    pub fn workers_per_direction(&self) -> usize {
        self.n_workers
    }

    /// Stops the workers.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Ok(mut t) = self.threads.lock() {
            for h in t.drain(..) {
                let _ = h.join();
            }
        }
    }

    /// Delivers IKE messages arriving on the UDP encapsulation sockets (non-ESP
    /// marker) to `sink` instead of counting them as unhandled. For IKEv2.
    pub fn set_ike_sink(&self, sink: Sender<IkeDatagram>) -> Result<(), InstallError> {
        self.to_inbound(|| InCmd::IkeSink(sink.clone()))
    }

    /// Makes the pair with `inbound_spi` the first choice for outbound packets of
    /// its selectors (a rekeyed CHILD_SA, while its predecessor still receives).
    pub fn prefer_outbound(&self, inbound_spi: u32) -> Result<(), InstallError> {
        self.to_outbound(|| OutCmd::Prefer(inbound_spi))
    }

    /// The peer's NAT made a new mapping (RFC 7296 2.23): the pair with
    /// `inbound_spi` sends its ESP-in-UDP to `remote` from now on. Keys, SPIs and the
    /// sequence counter stay (the outbound path is shared, not re-created).
    pub fn update_encap(&self, inbound_spi: u32, remote: SocketAddr) -> Result<(), InstallError> {
        let mut installed = self.installed.lock().map_err(|_| InstallError::Stopped)?;
        let cur = installed
            .get_mut(&inbound_spi)
            .ok_or(InstallError::NotFound(inbound_spi))?;
        if !matches!(cur.out.sock.kind, SockKind::Udp(_)) {
            return Err(InstallError::NotUdp(inbound_spi));
        }
        let mut spec = (*cur.spec).clone();
        spec.remote_addr = remote.ip();
        spec.remote_port = remote.port();
        let spec = Arc::new(spec);
        let out = Arc::new(OutEntry {
            spec: spec.clone(),
            path: cur.out.path.clone(),
            counters: cur.out.counters.clone(),
            sock: cur.out.sock.clone(),
            dest: SockaddrStorage::from(remote),
            inner_mtu: cur.out.inner_mtu,
            notices: cur.out.notices.clone(),
        });
        cur.spec = spec;
        cur.out = out.clone();
        drop(installed);
        self.to_outbound(|| OutCmd::Replace(out.clone()))
    }

    /// Sends a command to every outbound worker.
    fn to_outbound(&self, cmd: impl Fn() -> OutCmd) -> Result<(), InstallError> {
        for t in self
            .out_tx
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .iter()
        {
            t.send(cmd()).map_err(|_| InstallError::Stopped)?;
        }
        Ok(())
    }

    /// Sends a command to every inbound worker.
    fn to_inbound(&self, cmd: impl Fn() -> InCmd) -> Result<(), InstallError> {
        for l in self.in_tx.lock().map_err(|_| InstallError::Stopped)?.iter() {
            l.send(cmd())?;
        }
        Ok(())
    }

    /// Sends a command to the inbound worker that owns `spi`.
    fn to_owner(&self, spi: u32, cmd: InCmd) -> Result<(), InstallError> {
        let links = self.in_tx.lock().map_err(|_| InstallError::Stopped)?;
        links
            .get(owner(spi, links.len()))
            .ok_or(InstallError::Stopped)?
            .send(cmd)
    }

    /// Start on traffic (IKE `start_action = trap`): outbound packets that match no
    /// SA are reported on `sink` as (source, destination), at most once a second per
    /// destination. (Routing the selectors into the TUN device is the caller's.)
    pub fn set_acquire_sink(&self, sink: Sender<(IpAddr, IpAddr)>) -> Result<(), InstallError> {
        self.to_outbound(|| OutCmd::AcquireSink(sink.clone()))
    }

    /// Soft lifetimes of IKE-negotiated pairs are reported on `sink` (once per SA
    /// half; the receiver rekeys the CHILD_SA). Without a sink they are logged.
    pub fn set_soft_expiry_sink(&self, sink: Sender<SoftExpired>) -> Result<(), InstallError> {
        *self
            .notices
            .sink
            .lock()
            .map_err(|_| InstallError::Stopped)? = Some(sink);
        Ok(())
    }

    /// Tries to bring back a card that a fault fenced off (None: no card, or the
    /// card is well). Its SAs return from software with their counters continuing.
    pub fn recover_card(&self) -> Option<Result<usize, driver::DriverError>> {
        let mut e = self.engine.as_ref()?.lock().ok()?;
        if e.healthy() {
            return None;
        }
        Some(e.recover())
    }

    /// The card engine's counters, if a card backend is open.
    pub fn offload_counters(&self) -> Option<driver::offload::OffloadCounters> {
        Some(self.engine.as_ref()?.lock().ok()?.counters())
    }

    /// What the card's DMA ports counted, the engine's own queue and the workers'
    /// lanes together (None without a card or on its MMIO window).
    pub fn card_dma(&self) -> Option<driver::dma::DmaPortStats> {
        let own = self.engine.as_ref()?.lock().ok()?.dma_stats()?;
        Some(card::sum_dma(
            std::iter::once(own).chain(self.lane_stats.iter().map(|l| l.get())),
        ))
    }

    /// DMA queue pairs in use on the card: the engine's own and the workers' lanes.
    pub fn card_queues(&self) -> usize {
        match &self.engine {
            Some(_) => 1 + self.lane_stats.len(),
            None => 0,
        }
    }

    /// Adds or removes the routes (and rules) that lead the SA's traffic into
    /// the TUN device; failures are logged (the set-up is idempotent).
    fn routes(&self, spec: &ChildSaSpec, add: bool) {
        routes::apply(self.tun.name(), self.mark, spec, add);
    }
}

impl SaInstaller for Dataplane {
    fn install(&self, spec: ChildSaSpec, first_seq: u64) -> Result<(), InstallError> {
        self.install_gated(spec, first_seq, None)
    }

    fn remove(&self, inbound_spi: u32) -> Result<(), InstallError> {
        self.remove_pair(inbound_spi)
    }
}

impl Dataplane {
    /// Installs a pair whose outbound counter never reaches `gate`'s durable
    /// limit (manual SAs, [`crate::state`]); without a gate, as
    /// [`SaInstaller::install`].
    pub fn install_gated(
        &self,
        spec: ChildSaSpec,
        first_seq: u64,
        gate: Option<Arc<Gate>>,
    ) -> Result<(), InstallError> {
        let in_spi = spec.inbound.spi;
        if self
            .installed
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .contains_key(&in_spi)
        {
            return Err(InstallError::SpiInUse(in_spi));
        }
        let paths = path::select(&spec, self.engine.as_ref(), first_seq, gate.clone())?;
        if let Some(r) = &paths.fallback_reason {
            info!(connection = %spec.connection, child = %spec.child, reason = %r, "offload = auto: software path");
        }
        let sock = self.socket_for(&spec)?;
        let dest = match sock.kind {
            SockKind::Udp(_) => SocketAddr::new(spec.remote_addr, spec.remote_port),
            _ => SocketAddr::new(spec.remote_addr, 0),
        };
        let spec = Arc::new(spec);
        let counters = Arc::new(SaCounters::default());
        counters.out_next_seq.store(
            paths.outbound.next_seq().map_or(0, |s| s.0),
            Ordering::Relaxed,
        );
        counters
            .path
            .store(u8::from(paths.kind == PathKind::Card), Ordering::Relaxed);
        let (in_life, out_life) = (
            paths.inbound.lifetime().clone(),
            paths.outbound.lifetime().clone(),
        );
        let out = Arc::new(OutEntry {
            spec: spec.clone(),
            path: Arc::from(paths.outbound),
            counters: counters.clone(),
            sock,
            dest: SockaddrStorage::from(dest),
            inner_mtu: usize::from(spec.inner_mtu()),
            notices: self.notices.clone(),
        });
        let inn = InEntry {
            spec: spec.clone(),
            path: paths.inbound,
            counters: counters.clone(),
            notices: self.notices.clone(),
        };
        // The inbound half goes to the worker that owns its SPI; every outbound
        // worker can seal for the SA (they share its counter).
        self.to_owner(in_spi, InCmd::Install(in_spi, Box::new(inn)))?;
        self.to_outbound(|| OutCmd::Install(out.clone()))?;
        self.routes(&spec, true);
        info!(
            connection = %spec.connection, child = %spec.child,
            in_spi = format_args!("{:#010x}", spec.inbound.spi),
            out_spi = format_args!("{:#010x}", spec.outbound.spi),
            mode = ?spec.mode, encap = ?spec.encap, transform = spec.transform.name(),
            path = %paths.kind, first_seq, "SA pair installed"
        );
        self.installed
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .insert(
                in_spi,
                Installed {
                    spec,
                    counters,
                    out,
                    gate,
                    in_life,
                    out_life,
                },
            );
        Ok(())
    }

    fn remove_pair(&self, inbound_spi: u32) -> Result<(), InstallError> {
        let removed = self
            .installed
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .remove(&inbound_spi)
            .ok_or(InstallError::NotFound(inbound_spi))?;
        // Keep the routes while another SA (a rekeyed CHILD_SA) still needs them.
        let shared = self.installed.lock().is_ok_and(|m| {
            m.values().any(|i| {
                i.spec.mode == removed.spec.mode
                    && i.spec.remote_ts == removed.spec.remote_ts
                    && i.spec.remote_addr == removed.spec.remote_addr
            })
        });
        if !shared {
            self.routes(&removed.spec, false);
        }
        let _ = self.to_outbound(|| OutCmd::Remove(inbound_spi));
        let _ = self.to_owner(inbound_spi, InCmd::Remove(inbound_spi));
        info!(connection = %removed.spec.connection, child = %removed.spec.child,
            in_spi = format_args!("{inbound_spi:#010x}"), "SA pair removed");
        Ok(())
    }
}

/// Unspecified addresses of both families (for binding helpers).
pub fn unspecified(v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    }
}
