//! The data path: a multi-queue TUN device, UDP 4500 and raw ESP sockets, and
//! one outbound and one inbound worker per core (`workers`, default: the
//! available cores).
//!
//! - Outbound worker `k` reads batches from TUN queue `k` (the kernel spreads
//!   flows over the queues), looks up the SPD (the installed children's
//!   selectors), reserves the batch's sequence numbers per SA (one atomic
//!   compare-and-swap per SA and TUN read, see [`crate::path::SoftOutbound`]),
//!   seals each packet on its SA's path and sends with UDP GSO or `sendmmsg`.
//!   Every outbound worker can seal for every SA; no number is handed out twice.
//! - Inbound worker `k` owns the inbound SAs whose SPI hashes to `k`
//!   ([`owner`]): their replay windows have exactly one writer. Each worker has
//!   its own socket per encapsulation; a classic BPF program steers each ESP
//!   datagram to its owner's socket (`SO_ATTACH_REUSEPORT_CBPF` on the UDP
//!   sockets, a socket filter on each raw ESP socket). A datagram that still
//!   reaches another worker (e.g. inside a GRO-coalesced read) is handed to
//!   the owner over its command channel.
//!
//! Nothing on the per-packet path takes a lock (the card path serializes on the
//! card itself). SA changes reach the workers as commands on channels that they
//! drain between batches. Counters are relaxed atomics.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::tun::{Tun, TunReader, TunWriter};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use nix::sys::socket::{
    recvmmsg, sendmmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, MultiHeaders,
    SockaddrStorage,
};
use socket2::{Domain, Protocol, Socket, Type};
use tracing::{debug, info, warn};

use esp::DecapError;

use crate::card::{self, SharedEngine};
use crate::config::{Encap, ModeKind, OffloadDevice};
use crate::defaults;
use crate::faults::FaultSchedule;
use crate::packet::{self, proto};
use crate::path::{self, InboundPath, OutboundPath, PathKind};
use crate::sa::{ChildSaSpec, InstallError, SaInstaller};
use crate::stats::{self, inc, GlobalCounters, SaCounters, SaStatus};

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
    /// An `ip` command failed.
    #[error("`ip {args}` failed: {reason}")]
    Ip {
        /// The arguments.
        args: String,
        /// Its stderr.
        reason: String,
    },
    /// The card backend could not be opened.
    #[error("card backend: {0}")]
    Card(String),
    /// A worker thread could not be started.
    #[error("cannot start worker thread: {0}")]
    Thread(#[source] io::Error),
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum SockKind {
    Udp(SocketAddr),
    Raw4,
    Raw6,
}

/// The sockets of one encapsulation: one per inbound worker (worker `k` reads
/// `rx[k]`); the first also sends.
struct Sock {
    kind: SockKind,
    rx: Vec<Socket>,
    /// UDP segmentation offload usable on the sending socket.
    gso: AtomicBool,
}

impl Sock {
    fn tx(&self) -> &Socket {
        &self.rx[0]
    }
}

/// The inbound worker that owns the SA with inbound SPI `spi` among `workers`
/// (a multiplicative hash, so sequential and random SPIs both spread). The BPF
/// steering programs compute the same function.
pub fn owner(spi: u32, workers: usize) -> usize {
    let n = u32::try_from(workers.max(1)).unwrap_or(u32::MAX);
    ((spi.wrapping_mul(HASH_MUL) >> 16) % n) as usize
}

const HASH_MUL: u32 = 0x9e37_79b1;

// Classic BPF (linux/filter.h) for the steering programs.
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_LD_W_IND: u16 = 0x40;
const BPF_LD_W_LEN: u16 = 0x80;
const BPF_LDX_B_MSH: u16 = 0xb1;
const BPF_ALU_MUL_K: u16 = 0x24;
const BPF_ALU_RSH_K: u16 = 0x74;
const BPF_ALU_MOD_K: u16 = 0x94;
const BPF_ALU_SUB_X: u16 = 0x1c;
const BPF_JGE_K: u16 = 0x35;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;
const BPF_RET_A: u16 = 0x16;

fn bpf(code: u16, jt: u8, jf: u8, k: u32) -> nix::libc::sock_filter {
    nix::libc::sock_filter { code, jt, jf, k }
}

/// The owner hash of the 32-bit word loaded by `load` (then A = owner).
fn bpf_owner(load: nix::libc::sock_filter, workers: usize) -> [nix::libc::sock_filter; 4] {
    let n = u32::try_from(workers.max(1)).unwrap_or(u32::MAX);
    [
        load,
        bpf(BPF_ALU_MUL_K, 0, 0, HASH_MUL),
        bpf(BPF_ALU_RSH_K, 0, 0, 16),
        bpf(BPF_ALU_MOD_K, 0, 0, n),
    ]
}

/// Reuseport program of a UDP encapsulation group: the socket index is the
/// owner of the SPI in the first four payload bytes (the kernel runs it with the
/// data at the UDP payload). IKE (SPI 0 = non-ESP marker) goes to worker 0, and
/// so does a datagram too short to load from (the program then returns 0).
fn steer_udp(sock: &Socket, workers: usize) -> io::Result<()> {
    let mut prog: Vec<_> = bpf_owner(bpf(BPF_LD_W_ABS, 0, 0, 0), workers).to_vec();
    prog.push(bpf(BPF_RET_A, 0, 0, 0));
    let fprog = nix::libc::sock_fprog {
        len: u16::try_from(prog.len()).unwrap_or(0),
        filter: prog.as_mut_ptr(),
    };
    nix::sys::socket::setsockopt(sock, nix::sys::socket::sockopt::AttachReusePortCbpf, &fprog)
        .map_err(io::Error::from)
}

/// Socket filter of worker `k`'s raw ESP socket: every raw socket sees every ESP
/// packet, and each keeps those whose SPI it owns. Packets too short to hold an
/// SPI go to worker 0 (which counts them as malformed). IPv4 raw sockets see the
/// IP header first, IPv6 ones the ESP header.
fn raw_filter(v4: bool, k: usize, workers: usize) -> Vec<nix::libc::sock_filter> {
    let keep = u32::MAX;
    let short = if k == 0 { keep } else { 0 };
    let k = u32::try_from(k).unwrap_or(u32::MAX);
    let mut p = Vec::with_capacity(12);
    if v4 {
        // X = IP header length; A = length - X; at least 8 bytes of ESP header
        p.push(bpf(BPF_LDX_B_MSH, 0, 0, 0));
        p.push(bpf(BPF_LD_W_LEN, 0, 0, 0));
        p.push(bpf(BPF_ALU_SUB_X, 0, 0, 0));
        p.push(bpf(BPF_JGE_K, 0, 7, 8));
        p.extend(bpf_owner(bpf(BPF_LD_W_IND, 0, 0, 0), workers));
    } else {
        p.push(bpf(BPF_LD_W_LEN, 0, 0, 0));
        p.push(bpf(BPF_JGE_K, 0, 7, 8));
        p.extend(bpf_owner(bpf(BPF_LD_W_ABS, 0, 0, 0), workers));
    }
    // A == k ? keep : drop; the short case last (the JGE above jumps over 7)
    p.push(bpf(BPF_JEQ_K, 0, 1, k));
    p.push(bpf(BPF_RET_K, 0, 0, keep));
    p.push(bpf(BPF_RET_K, 0, 0, 0));
    p.push(bpf(BPF_RET_K, 0, 0, short));
    p
}

struct OutEntry {
    spec: Arc<ChildSaSpec>,
    path: Arc<dyn OutboundPath>,
    counters: Arc<SaCounters>,
    sock: Arc<Sock>,
    dest: SockaddrStorage,
    inner_mtu: usize,
}

struct InEntry {
    spec: Arc<ChildSaSpec>,
    path: Box<dyn InboundPath>,
    counters: Arc<SaCounters>,
}

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
}

/// The running data path.
pub struct Dataplane {
    tun: Arc<Tun>,
    tun_mtu: u16,
    n_workers: usize,
    engine: Option<SharedEngine>,
    global: Arc<GlobalCounters>,
    installed: Mutex<BTreeMap<u32, Installed>>,
    sockets: Mutex<HashMap<SockKind, Arc<Sock>>>,
    out_tx: Mutex<Vec<Sender<OutCmd>>>,
    in_tx: Mutex<Vec<InLink>>,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    mark: u32,
}

impl std::fmt::Debug for Dataplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataplane")
            .field("tun", &self.tun.name())
            .field("tun_mtu", &self.tun_mtu)
            .finish()
    }
}

fn ip(args: &[&str]) -> Result<(), StartError> {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| StartError::Ip {
            args: args.join(" "),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(StartError::Ip {
            args: args.join(" "),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// Runs `ip`, ignoring "already exists"/"no such" errors (idempotent setup).
fn ip_quiet(args: &[&str]) {
    if let Err(e) = ip(args) {
        debug!(error = %e, "ip command");
    }
}

/// Finds a local address inside one of `ts` (for the route's preferred source).
fn local_addr_in(ts: &[crate::config::IpPrefix]) -> Option<IpAddr> {
    let out = std::process::Command::new("ip")
        .args(["-o", "addr", "show"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let mut it = line.split_whitespace();
        while let Some(w) = it.next() {
            if w == "inet" || w == "inet6" {
                let a = it.next()?.split('/').next()?.parse::<IpAddr>().ok()?;
                if ts.iter().any(|p| p.contains(a)) {
                    return Some(a);
                }
            }
        }
    }
    None
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
        })
    }

    /// Creates the TUN device with one queue per worker, brings it up and starts
    /// the workers.
    pub fn start_with(o: &DataplaneOptions) -> Result<Arc<Self>, StartError> {
        let (tun_name, tun_mtu, device) = (o.tun_name.as_str(), o.tun_mtu, o.device);
        let n = o.worker_count();
        let engine =
            card::open_with(device, &o.faults).map_err(|e| StartError::Card(e.to_string()))?;
        if engine.is_some() {
            info!(
                ?device,
                faults = o.faults.steps.len(),
                "card backend opened"
            );
        }
        let queues = Tun::open_queues(tun_name, n).map_err(|source| StartError::Tun {
            name: tun_name.into(),
            source,
        })?;
        let queues: Vec<Arc<Tun>> = queues.into_iter().map(Arc::new).collect();
        let tun = queues[0].clone();
        let name = tun.name().to_string();
        ip(&[
            "link",
            "set",
            "dev",
            &name,
            "mtu",
            &tun_mtu.to_string(),
            "txqueuelen",
            &defaults::TUN_TXQUEUELEN.to_string(),
            "up",
        ])?;
        let global = Arc::new(GlobalCounters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut out_txs = Vec::with_capacity(n);
        let mut out_rxs = Vec::with_capacity(n);
        for _ in 0..n {
            let (t, r) = channel();
            out_txs.push(t);
            out_rxs.push(r);
        }
        let mut links = Vec::with_capacity(n);
        let mut in_ends = Vec::with_capacity(n);
        for _ in 0..n {
            let (t, r) = channel();
            let poll = Poll::new().map_err(StartError::Thread)?;
            let waker = Waker::new(poll.registry(), WAKE_TOKEN).map_err(StartError::Thread)?;
            links.push(InLink {
                tx: t,
                waker: Arc::new(waker),
            });
            in_ends.push((poll, r));
        }
        let dp = Arc::new(Dataplane {
            tun: tun.clone(),
            tun_mtu,
            n_workers: n,
            engine,
            global: global.clone(),
            installed: Mutex::new(BTreeMap::new()),
            sockets: Mutex::new(HashMap::new()),
            out_tx: Mutex::new(out_txs),
            in_tx: Mutex::new(links.clone()),
            stop: stop.clone(),
            threads: Mutex::new(Vec::new()),
            mark: defaults::SOCKET_MARK,
        });
        let mut handles = Vec::with_capacity(2 * n);
        for (k, rx) in out_rxs.into_iter().enumerate() {
            let (t, g, st) = (queues[k].clone(), global.clone(), stop.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("ipsecd-out{k}"))
                    .spawn(move || outbound_worker(&t, rx, &g, &st))
                    .map_err(StartError::Thread)?,
            );
        }
        for (k, (poll, rx)) in in_ends.into_iter().enumerate() {
            let w = InWorker {
                index: k,
                workers: n,
                peers: links.clone(),
            };
            let (t, g, st) = (queues[k].clone(), global.clone(), stop.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("ipsecd-in{k}"))
                    .spawn(move || inbound_worker(&w, &t, poll, rx, &g, &st))
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

    /// The specs of all installed pairs.
    pub fn installed_specs(&self) -> Vec<Arc<ChildSaSpec>> {
        self.installed
            .lock()
            .map(|m| m.values().map(|i| i.spec.clone()).collect())
            .unwrap_or_default()
    }

    /// Outbound next sequence numbers by outbound SPI (for persisting).
    pub fn next_seqs(&self) -> Vec<(u32, u64)> {
        self.installed
            .lock()
            .map(|m| {
                m.values()
                    .map(|i| (i.spec.outbound.spi, stats::get(&i.counters.out_next_seq)))
                    .collect()
            })
            .unwrap_or_default()
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

    fn socket_for(&self, spec: &ChildSaSpec) -> Result<Arc<Sock>, InstallError> {
        let kind = match (spec.encap, spec.local_addr) {
            (Encap::Udp, a) => SockKind::Udp(SocketAddr::new(a, spec.local_port)),
            (Encap::Raw, IpAddr::V4(_)) => SockKind::Raw4,
            (Encap::Raw, IpAddr::V6(_)) => SockKind::Raw6,
        };
        self.socket_of(kind, spec.inbound.spi)
    }

    /// Opens (or finds) the UDP encapsulation socket on `local`, e.g. for IKE
    /// before any SA exists. Its inbound ESP and IKE are handled like any other.
    pub fn open_udp(&self, local: SocketAddr) -> Result<(), InstallError> {
        self.socket_of(SockKind::Udp(local), 0).map(|_| ())
    }

    fn socket_of(&self, kind: SockKind, spi: u32) -> Result<Arc<Sock>, InstallError> {
        let mut socks = self.sockets.lock().map_err(|_| InstallError::Stopped)?;
        if let Some(s) = socks.get(&kind) {
            return Ok(s.clone());
        }
        let n = self.n_workers;
        let rx = (0..n)
            .map(|k| self.open_one(kind, spi, k))
            .collect::<Result<Vec<_>, _>>()?;
        if n > 1 {
            // Steer each ESP datagram to the socket of the worker that owns its SA.
            let steered = match kind {
                SockKind::Udp(_) => steer_udp(&rx[0], n),
                SockKind::Raw4 | SockKind::Raw6 => rx.iter().enumerate().try_for_each(|(k, s)| {
                    s.attach_filter(&raw_filter(kind == SockKind::Raw4, k, n))
                }),
            };
            if let Err(e) = steered {
                match kind {
                    // Without steering every datagram still reaches its owner (handed over).
                    SockKind::Udp(_) => {
                        warn!(error = %e, "cannot steer ESP by SPI; datagrams are handed between workers")
                    }
                    // Raw sockets each see every packet: without filters, one worker reads.
                    _ => {
                        return Err(InstallError::Socket {
                            spi,
                            what: "raw ESP socket filter".into(),
                            source: e,
                        })
                    }
                }
            }
        }
        let gro = matches!(kind, SockKind::Udp(_));
        let s = Arc::new(Sock {
            kind,
            rx,
            gso: AtomicBool::new(gro),
        });
        socks.insert(kind, s.clone());
        for l in self.in_tx.lock().map_err(|_| InstallError::Stopped)?.iter() {
            l.send(InCmd::AddSocket(s.clone()))?;
        }
        Ok(s)
    }

    /// Opens worker `k`'s socket of `kind`.
    fn open_one(&self, kind: SockKind, spi: u32, k: usize) -> Result<Socket, InstallError> {
        let err = |what: String, source: io::Error| InstallError::Socket { spi, what, source };
        let sock = match kind {
            SockKind::Udp(a) => {
                let d = if a.is_ipv4() {
                    Domain::IPV4
                } else {
                    Domain::IPV6
                };
                let s = Socket::new(d, Type::DGRAM, Some(Protocol::UDP))
                    .map_err(|e| err(a.to_string(), e))?;
                s.set_reuse_address(true)
                    .map_err(|e| err(a.to_string(), e))?;
                if self.n_workers > 1 {
                    s.set_reuse_port(true)
                        .map_err(|e| err(format!("udp {a} SO_REUSEPORT"), e))?;
                }
                s.bind(&a.into())
                    .map_err(|e| err(format!("udp {a} (worker {k})"), e))?;
                s
            }
            SockKind::Raw4 | SockKind::Raw6 => {
                let d = if kind == SockKind::Raw4 {
                    Domain::IPV4
                } else {
                    Domain::IPV6
                };
                Socket::new(d, Type::RAW, Some(Protocol::from(i32::from(proto::ESP))))
                    .map_err(|e| err("raw ESP".into(), e))?
            }
        };
        let _ = sock.set_mark(self.mark);
        // Bursts at line rate outrun a descheduled worker: room for a few milliseconds.
        // The *Force options pass net.core.rmem_max (the daemon runs as root).
        let size: usize = 4 << 20;
        if nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::RcvBufForce, &size)
            .is_err()
        {
            let _ = sock.set_recv_buffer_size(size);
        }
        if nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::SndBufForce, &size)
            .is_err()
        {
            let _ = sock.set_send_buffer_size(size);
        }
        sock.set_nonblocking(true)
            .map_err(|e| err("nonblocking".into(), e))?;
        // Send side: UDP GSO (tried on first use, turned off if the kernel refuses).
        // Receive side: UDP GRO, datagrams of one flow arrive coalesced with their size.
        if matches!(kind, SockKind::Udp(_)) {
            let _ = nix::sys::socket::setsockopt(
                &sock,
                nix::sys::socket::sockopt::UdpGroSegment,
                &true,
            );
        }
        Ok(sock)
    }

    fn routes(&self, spec: &ChildSaSpec, add: bool) {
        let dev = self.tun.name().to_string();
        let verb = if add { "replace" } else { "del" };
        match spec.mode {
            ModeKind::Tunnel => {
                let src = local_addr_in(&spec.local_ts);
                for p in &spec.remote_ts {
                    let fam = if p.addr.is_ipv4() { "-4" } else { "-6" };
                    let pfx = p.to_string();
                    let mut args = vec![fam, "route", verb, pfx.as_str(), "dev", dev.as_str()];
                    let s = src.map(|s| s.to_string());
                    if let (Some(s), true) = (s.as_deref(), add) {
                        args.extend(["src", s]);
                    }
                    ip_quiet(&args);
                }
            }
            ModeKind::Transport => {
                // The peer's own address goes through the TUN device, except for
                // the daemon's own (marked) ESP packets.
                let fam = if spec.remote_addr.is_ipv4() {
                    "-4"
                } else {
                    "-6"
                };
                let table = defaults::ROUTE_TABLE.to_string();
                let mark = format!("{:#x}", self.mark);
                let to = IpAddr::to_string(&spec.remote_addr);
                let pref_mark = (defaults::ROUTE_TABLE - 1).to_string();
                let pref_to = defaults::ROUTE_TABLE.to_string();
                if add {
                    ip_quiet(&[
                        fam, "rule", "add", "pref", &pref_mark, "fwmark", &mark, "lookup", "main",
                    ]);
                    ip_quiet(&[
                        fam, "rule", "add", "pref", &pref_to, "to", &to, "lookup", &table,
                    ]);
                    let src = spec.local_addr.to_string();
                    ip_quiet(&[
                        fam, "route", "replace", &to, "dev", &dev, "src", &src, "table", &table,
                    ]);
                } else {
                    ip_quiet(&[fam, "route", "del", &to, "dev", &dev, "table", &table]);
                    ip_quiet(&[
                        fam, "rule", "del", "pref", &pref_to, "to", &to, "lookup", &table,
                    ]);
                }
            }
        }
    }

    /// Delivers IKE messages arriving on the UDP encapsulation sockets (non-ESP
    /// marker) to `sink` instead of counting them as unhandled. For IKEv2.
    pub fn set_ike_sink(&self, sink: Sender<IkeDatagram>) -> Result<(), InstallError> {
        for l in self.in_tx.lock().map_err(|_| InstallError::Stopped)?.iter() {
            l.send(InCmd::IkeSink(sink.clone()))?;
        }
        Ok(())
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

    /// Start on traffic (IKE `start_action = trap`): outbound packets that match no
    /// SA are reported on `sink` as (source, destination), at most once a second per
    /// destination. (Routing the selectors into the TUN device is the caller's.)
    pub fn set_acquire_sink(&self, sink: Sender<(IpAddr, IpAddr)>) -> Result<(), InstallError> {
        self.to_outbound(|| OutCmd::AcquireSink(sink.clone()))
    }

    /// Sends a UDP datagram (an IKE message, already carrying the non-ESP marker on
    /// the NAT-T port, as `ikev2`'s `Action::Send` gives it) from the encapsulation
    /// socket bound to `local` to `peer`.
    pub fn send_udp(&self, local: SocketAddr, peer: SocketAddr, datagram: &[u8]) -> io::Result<()> {
        let sock = {
            let socks = self
                .sockets
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?;
            socks.get(&SockKind::Udp(local)).cloned()
        };
        let sock = sock.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no UDP socket on {local}"))
        })?;
        sock.tx().send_to(datagram, &peer.into()).map(|_| ())
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

    /// Status records for every installed SA (both directions).
    pub fn sa_status(&self) -> Vec<SaStatus> {
        let Ok(m) = self.installed.lock() else {
            return Vec::new();
        };
        let mut v = Vec::new();
        for i in m.values() {
            let s = &i.spec;
            let c = &i.counters;
            let ts =
                |t: &[crate::config::IpPrefix]| t.iter().map(|p| p.to_string()).collect::<Vec<_>>();
            let left = |limit: Option<u64>, used: u64| limit.map(|l| l.saturating_sub(used));
            let base = |dir: &str, spi: u32| SaStatus {
                connection: s.connection.clone(),
                child: s.child.clone(),
                direction: dir.into(),
                spi: format!("{spi:#010x}"),
                local_ts: ts(&s.local_ts),
                remote_ts: ts(&s.remote_ts),
                mode: format!("{:?}", s.mode).to_lowercase(),
                transform: s.transform.name().into(),
                encap: format!("{:?}", s.encap).to_lowercase(),
                path: if c.path.load(Ordering::Relaxed) == 1 {
                    "card"
                } else {
                    "software"
                }
                .into(),
                origin: format!("{:?}", s.origin).to_lowercase(),
                packets: 0,
                bytes: 0,
                auth_failures: 0,
                replay_drops: 0,
                selector_drops: 0,
                errors: 0,
                fallbacks: stats::get(&c.fallbacks),
                life_packets_left: None,
                life_bytes_left: None,
                seq_left: None,
                next_seq: None,
                fragmented: 0,
                icmp_too_big: 0,
            };
            let (ip, ib) = (stats::get(&c.in_packets), stats::get(&c.in_bytes));
            v.push(SaStatus {
                packets: ip,
                bytes: ib,
                auth_failures: stats::get(&c.auth_failures),
                replay_drops: stats::get(&c.replay_drops),
                selector_drops: stats::get(&c.selector_drops),
                errors: stats::get(&c.in_errors),
                life_packets_left: left(s.lifetime.hard_packets, ip),
                life_bytes_left: left(s.lifetime.hard_bytes, ib),
                ..base("in", s.inbound.spi)
            });
            let (op, ob) = (stats::get(&c.out_packets), stats::get(&c.out_bytes));
            let max = if s.esn { u64::MAX } else { u64::from(u32::MAX) };
            let next = stats::get(&c.out_next_seq);
            v.push(SaStatus {
                packets: op,
                bytes: ob,
                errors: stats::get(&c.out_errors),
                life_packets_left: left(s.lifetime.hard_packets, op),
                life_bytes_left: left(s.lifetime.hard_bytes, ob),
                seq_left: Some(if next == 0 {
                    0
                } else {
                    max.saturating_sub(next) + 1
                }),
                next_seq: Some(next),
                fragmented: stats::get(&c.fragmented),
                icmp_too_big: stats::get(&c.icmp_too_big),
                ..base("out", s.outbound.spi)
            });
        }
        v
    }
}

impl SaInstaller for Dataplane {
    fn install(&self, spec: ChildSaSpec, first_seq: u64) -> Result<(), InstallError> {
        let in_spi = spec.inbound.spi;
        if self
            .installed
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .contains_key(&in_spi)
        {
            return Err(InstallError::SpiInUse(in_spi));
        }
        let paths = path::select(&spec, self.engine.as_ref(), first_seq)?;
        if let Some(r) = &paths.fallback_reason {
            info!(connection = %spec.connection, child = %spec.child, reason = %r, "offload = auto: software path");
        }
        let sock = self.socket_for(&spec)?;
        let dest_ip = spec.remote_addr;
        let dest = match sock.kind {
            SockKind::Udp(_) => SocketAddr::new(dest_ip, spec.remote_port),
            _ => SocketAddr::new(dest_ip, 0),
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
        let out = OutEntry {
            spec: spec.clone(),
            path: Arc::from(paths.outbound),
            counters: counters.clone(),
            sock,
            dest: SockaddrStorage::from(dest),
            inner_mtu: usize::from(spec.inner_mtu()),
        };
        let inn = InEntry {
            spec: spec.clone(),
            path: paths.inbound,
            counters: counters.clone(),
        };
        // The inbound half goes to the worker that owns its SPI; every outbound
        // worker can seal for the SA (they share its counter).
        {
            let links = self.in_tx.lock().map_err(|_| InstallError::Stopped)?;
            links[owner(in_spi, links.len())].send(InCmd::Install(in_spi, Box::new(inn)))?;
        }
        let out = Arc::new(out);
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
                },
            );
        Ok(())
    }

    fn remove(&self, inbound_spi: u32) -> Result<(), InstallError> {
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
        if let Ok(links) = self.in_tx.lock() {
            let _ = links[owner(inbound_spi, links.len())].send(InCmd::Remove(inbound_spi));
        }
        info!(connection = %removed.spec.connection, child = %removed.spec.child,
            in_spi = format_args!("{inbound_spi:#010x}"), "SA pair removed");
        Ok(())
    }
}

const TUN_TOKEN: Token = Token(usize::MAX);

/// Where the payload of a packet to seal is: packet `i` of the last TUN read, or
/// fragment `i` of this read's fragments.
#[derive(Clone, Copy)]
enum Src {
    Read(usize),
    Frag(usize),
}

/// One packet to seal: entry, source, payload range in the source, next header,
/// inner length (for the byte counters).
struct Item {
    ix: usize,
    src: Src,
    payload: std::ops::Range<usize>,
    nh: u8,
    len: usize,
}

/// The ESP payload of inner packet `pkt` on `e`: its range in `pkt` and next
/// header; None (counted) when transport mode cannot carry it.
fn inner_payload(e: &OutEntry, pkt: &[u8]) -> Option<(std::ops::Range<usize>, u8)> {
    match e.spec.mode {
        ModeKind::Tunnel => Some((
            0..pkt.len(),
            if pkt.first().is_some_and(|b| b >> 4 == 4) {
                proto::IPV4
            } else {
                proto::IPV6
            },
        )),
        ModeKind::Transport => {
            let info = packet::parse(pkt)?;
            // Transport mode keeps no inner IP header, so IP fragments (their offsets live
            // in that header) and IPv6 extension headers are not carried: counted and dropped.
            let v4_fragment =
                pkt[0] >> 4 == 4 && u16::from_be_bytes([pkt[6], pkt[7]]) & 0x3fff != 0;
            if v4_fragment || (pkt[0] >> 4 == 6 && matches!(info.protocol, 0 | 43 | 44 | 60)) {
                inc(&e.counters.out_errors);
                return None;
            }
            Some((info.header_len..info.total_len, info.protocol))
        }
    }
}

fn outbound_worker(tun: &Tun, rx: Receiver<OutCmd>, g: &GlobalCounters, stop: &AtomicBool) {
    let Ok(mut poll) = Poll::new() else {
        warn!("outbound worker: cannot create poller");
        return;
    };
    let fd = tun.raw_fd();
    if poll
        .registry()
        .register(&mut SourceFd(&fd), TUN_TOKEN, Interest::READABLE)
        .is_err()
    {
        warn!("outbound worker: cannot watch the TUN device");
        return;
    }
    let mut events = Events::with_capacity(4);
    let mut entries: Vec<Arc<OutEntry>> = Vec::new();
    let mut reader = TunReader::default();
    let mut icmp_out = TunWriter::default();
    let mut bufs: Vec<Vec<u8>> = (0..defaults::BATCH).map(|_| vec![0u8; BUF]).collect();
    // (entry index, buffer index, length) of sealed packets waiting to be sent
    let mut ready: Vec<(usize, usize, usize)> = Vec::with_capacity(defaults::BATCH);
    let mut items: Vec<Item> = Vec::with_capacity(128);
    let mut frags: Vec<Vec<u8>> = Vec::new();
    // per entry of this read: (entry index, packets, next reserved number or failure)
    let mut resv: Vec<(usize, u64, Result<Option<u64>, ()>)> = Vec::new();
    let mut touched: Vec<usize> = Vec::new();
    let mut last = 0usize;
    let mut acquire: Option<Sender<(IpAddr, IpAddr)>> = None;
    let mut acquired: HashMap<IpAddr, std::time::Instant> = HashMap::new();
    let timeout = Some(Duration::from_millis(u64::from(defaults::WORKER_POLL_MS)));
    while !stop.load(Ordering::Relaxed) {
        if acquired.len() >= 4096 {
            acquired.clear();
        }
        for cmd in rx.try_iter() {
            match cmd {
                OutCmd::Install(e) => entries.push(e),
                OutCmd::Prefer(spi) => {
                    // A rekeyed CHILD_SA takes the outbound traffic of its selectors.
                    if let Some(i) = entries.iter().position(|e| e.spec.inbound.spi == spi) {
                        let e = entries.remove(i);
                        entries.insert(0, e);
                        last = 0;
                    }
                }
                OutCmd::Replace(e) => {
                    if let Some(slot) = entries
                        .iter_mut()
                        .find(|x| x.spec.inbound.spi == e.spec.inbound.spi)
                    {
                        *slot = e;
                    }
                }
                OutCmd::Remove(spi) => entries.retain(|e| e.spec.inbound.spi != spi),
                OutCmd::AcquireSink(tx) => acquire = Some(tx),
            }
        }
        ready.clear();
        touched.clear();
        let mut drained = false;
        let mut n_read = 0;
        while ready.len() < defaults::BATCH && n_read < defaults::BATCH {
            let frames = match reader.read(tun) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    drained = true;
                    break;
                }
                Err(e) => {
                    debug!(error = %e, "TUN read");
                    inc(&g.io_errors);
                    drained = true;
                    break;
                }
            };
            n_read += 1;
            // 1. SPD lookup and MTU rules for every packet of this read.
            items.clear();
            frags.clear();
            for fi in 0..frames {
                let pkt = reader.packet(fi);
                let Some(info) = packet::parse(pkt) else {
                    inc(&g.malformed);
                    continue;
                };
                let hit = if entries
                    .get(last)
                    .is_some_and(|e| e.spec.matches_outbound(info.src, info.dst))
                {
                    Some(last)
                } else {
                    entries
                        .iter()
                        .position(|e| e.spec.matches_outbound(info.src, info.dst))
                };
                let Some(ix) = hit else {
                    inc(&g.no_policy);
                    if let Some(tx) = &acquire {
                        // start on traffic: at most one report per destination a second
                        let now = std::time::Instant::now();
                        let due = acquired
                            .get(&info.dst)
                            .is_none_or(|t| now.duration_since(*t) >= Duration::from_secs(1));
                        if due && acquired.len() < 4096 {
                            acquired.insert(info.dst, now);
                            let _ = tx.send((info.src, info.dst));
                        }
                    }
                    continue;
                };
                last = ix;
                let e = &entries[ix];
                let pkt = &pkt[..info.total_len];
                if pkt.len() > e.inner_mtu {
                    // Too big for the tunnel: fragment (IPv4 without DF) or answer ICMP.
                    let mtu = e.inner_mtu;
                    let first = frags.len();
                    if packet::fragment_v4(pkt, mtu, |f| frags.push(f.to_vec())).is_some() {
                        inc(&e.counters.fragmented);
                        for (j, f) in frags.iter().enumerate().skip(first) {
                            if let Some((payload, nh)) = inner_payload(e, f) {
                                items.push(Item {
                                    ix,
                                    src: Src::Frag(j),
                                    payload,
                                    nh,
                                    len: f.len(),
                                });
                            }
                        }
                    } else if let Some(icmp) =
                        packet::too_big(pkt, u16::try_from(mtu).unwrap_or(u16::MAX))
                    {
                        inc(&e.counters.icmp_too_big);
                        icmp_out.push(&icmp);
                    } else {
                        inc(&e.counters.out_errors);
                    }
                    continue;
                }
                if let Some((payload, nh)) = inner_payload(e, pkt) {
                    items.push(Item {
                        ix,
                        src: Src::Read(fi),
                        payload,
                        nh,
                        len: pkt.len(),
                    });
                }
            }
            // 2. One reservation of sequence numbers per SA for this read.
            resv.clear();
            for it in &items {
                match resv.iter_mut().find(|r| r.0 == it.ix) {
                    Some(r) => r.1 += 1,
                    None => resv.push((it.ix, 1, Ok(None))),
                }
            }
            for r in resv.iter_mut() {
                r.2 = match entries[r.0].path.reserve(r.1) {
                    Ok(first) => Ok(first.map(|s| s.0)),
                    Err(err) => {
                        debug!(spi = format_args!("{:#010x}", entries[r.0].spec.outbound.spi), error = %err, "no sequence numbers");
                        Err(())
                    }
                };
                if !touched.contains(&r.0) {
                    touched.push(r.0);
                }
            }
            // 3. Seal each packet at its number.
            for it in &items {
                let e = &entries[it.ix];
                let Some(r) = resv.iter_mut().find(|r| r.0 == it.ix) else {
                    continue;
                };
                let seq = match &mut r.2 {
                    Ok(Some(n)) => {
                        let s = *n;
                        *n += 1;
                        Some(esp::SeqNum(s))
                    }
                    Ok(None) => None,
                    Err(()) => {
                        inc(&e.counters.out_errors);
                        continue;
                    }
                };
                let src: &[u8] = match it.src {
                    Src::Read(fi) => reader.packet(fi),
                    Src::Frag(j) => &frags[j],
                };
                let Some(payload) = src.get(it.payload.clone()) else {
                    inc(&e.counters.out_errors);
                    continue;
                };
                if ready.len() >= bufs.len() {
                    bufs.push(vec![0u8; BUF]);
                }
                let bi = ready.len();
                match e.path.seal(seq, payload, it.nh, &mut bufs[bi]) {
                    Ok(sealed) => {
                        inc(&e.counters.out_packets);
                        stats::add(&e.counters.out_bytes, it.len as u64);
                        ready.push((it.ix, bi, sealed.len));
                    }
                    Err(err) => {
                        inc(&e.counters.out_errors);
                        debug!(spi = format_args!("{:#010x}", e.spec.outbound.spi), error = %err, "seal failed");
                    }
                }
            }
        }
        if !icmp_out.is_empty() && icmp_out.flush(tun).is_err() {
            inc(&g.io_errors);
        }
        if !ready.is_empty() {
            send_batch(&entries, &bufs, &ready, g);
        }
        for &ix in &touched {
            let e = &entries[ix];
            match e.path.next_seq() {
                // several workers report: the counter only moves forward
                Some(n) => {
                    e.counters.out_next_seq.fetch_max(n.0, Ordering::Relaxed);
                }
                None => e.counters.out_next_seq.store(0, Ordering::Relaxed),
            }
            note_path(&e.counters, e.path.kind());
        }
        if drained {
            let _ = poll.poll(&mut events, timeout);
        }
    }
}

/// Records where an SA runs now; a move from the card to software is a fallback.
fn note_path(c: &SaCounters, kind: PathKind) {
    let now = u8::from(kind == PathKind::Card);
    let before = c.path.swap(now, Ordering::Relaxed);
    if before == 1 && now == 0 {
        inc(&c.fallbacks);
    }
}

/// Sends a group of datagrams with UDP GSO (RFC-less Linux `UDP_SEGMENT`): runs
/// to one destination of equal-size datagrams (the last may be shorter) leave in one
/// `sendmsg`, and the kernel cuts them apart after the stack. Returns false (nothing
/// sent) when the kernel refuses GSO, which then stays off for this socket.
fn send_gso(
    entries: &[Arc<OutEntry>],
    bufs: &[Vec<u8>],
    group: &[(usize, usize, usize)],
    sock: &Sock,
) -> bool {
    let mut i = 0;
    while i < group.len() {
        let (ix0, _, seg) = group[i];
        let dest = &entries[ix0].dest;
        let max = (60_000 / seg.max(1)).clamp(1, 64);
        let mut j = i + 1;
        // One SA per run: the receiver steers a coalesced run by its first SPI.
        while j < group.len()
            && j - i < max
            && group[j - 1].2 == seg
            && group[j].2 <= seg
            && group[j].0 == ix0
        {
            j += 1;
        }
        let iov: Vec<IoSlice<'_>> = group[i..j]
            .iter()
            .map(|&(_, b, l)| IoSlice::new(&bufs[b][..l]))
            .collect();
        let seg16 = u16::try_from(seg).unwrap_or(u16::MAX);
        let cmsg = [ControlMessage::UdpGsoSegments(&seg16)];
        let cm: &[ControlMessage<'_>] = if j - i > 1 { &cmsg } else { &[] };
        loop {
            match sendmsg(
                sock.tx().as_raw_fd(),
                &iov,
                cm,
                MsgFlags::empty(),
                Some(dest),
            ) {
                Ok(_) => break,
                Err(nix::errno::Errno::EAGAIN) => std::thread::yield_now(),
                Err(e) if i == 0 && j - i > 1 => {
                    debug!(error = %e, "UDP GSO refused; sending datagrams one by one");
                    sock.gso.store(false, Ordering::Relaxed);
                    return false;
                }
                Err(e) => {
                    debug!(error = %e, "sendmsg");
                    break;
                }
            }
        }
        i = j;
    }
    true
}

fn send_batch(
    entries: &[Arc<OutEntry>],
    bufs: &[Vec<u8>],
    ready: &[(usize, usize, usize)],
    g: &GlobalCounters,
) {
    // One sendmmsg per socket, in the order packets were read.
    let mut start = 0;
    while start < ready.len() {
        let sock = &entries[ready[start].0].sock;
        let mut end = start + 1;
        while end < ready.len() && Arc::ptr_eq(&entries[ready[end].0].sock, sock) {
            end += 1;
        }
        let group = &ready[start..end];
        start = end;
        if matches!(sock.kind, SockKind::Udp(_))
            && sock.gso.load(Ordering::Relaxed)
            && send_gso(entries, bufs, group, sock)
        {
            continue;
        }
        let slices: Vec<[IoSlice<'_>; 1]> = group
            .iter()
            .map(|&(_, b, l)| [IoSlice::new(&bufs[b][..l])])
            .collect();
        let addrs: Vec<Option<SockaddrStorage>> = group
            .iter()
            .map(|&(ix, _, _)| Some(entries[ix].dest))
            .collect();
        let mut sent = 0;
        while sent < group.len() {
            let mut hdrs = MultiHeaders::<SockaddrStorage>::preallocate(group.len() - sent, None);
            match sendmmsg(
                sock.tx().as_raw_fd(),
                &mut hdrs,
                &slices[sent..],
                &addrs[sent..],
                [],
                MsgFlags::empty(),
            ) {
                Ok(r) => {
                    let n = r.count();
                    if n == 0 {
                        break;
                    }
                    sent += n;
                }
                Err(nix::errno::Errno::EAGAIN) => {
                    std::thread::yield_now();
                }
                Err(e) => {
                    debug!(error = %e, "sendmmsg");
                    stats::add(&g.io_errors, 1);
                    sent += 1; // skip the packet the kernel refused
                }
            }
        }
    }
}

/// An inbound worker's place among the others.
struct InWorker {
    index: usize,
    workers: usize,
    peers: Vec<InLink>,
}

const WAKE_TOKEN: Token = Token(usize::MAX - 1);

fn inbound_worker(
    w: &InWorker,
    tun: &Tun,
    mut poll: Poll,
    rx: Receiver<InCmd>,
    g: &GlobalCounters,
    stop: &AtomicBool,
) {
    let mut events = Events::with_capacity(16);
    let mut socks: Vec<Arc<Sock>> = Vec::new();
    let mut sas: HashMap<u32, InEntry> = HashMap::new();
    let mut bufs: Vec<Vec<u8>> = (0..defaults::BATCH).map(|_| vec![0u8; 65536]).collect();
    let mut scratch = vec![0u8; BUF];
    let mut writer = TunWriter::default();
    // (length, sender, GRO segment size)
    let mut lens: Vec<(usize, Option<SocketAddr>, usize)> = Vec::with_capacity(defaults::BATCH);
    let mut ike: Option<Sender<IkeDatagram>> = None;
    // SPIs whose datagrams this worker handed over (logged once each)
    let mut handed: std::collections::HashSet<u32> = std::collections::HashSet::new();
    let timeout = Some(Duration::from_millis(u64::from(defaults::WORKER_POLL_MS)));
    while !stop.load(Ordering::Relaxed) {
        for cmd in rx.try_iter() {
            match cmd {
                InCmd::IkeSink(tx) => ike = Some(tx),
                InCmd::Install(spi, e) => {
                    sas.insert(spi, *e);
                }
                InCmd::Remove(spi) => {
                    sas.remove(&spi);
                }
                InCmd::AddSocket(s) => {
                    let Some(sock) = s.rx.get(w.index) else {
                        continue;
                    };
                    let fd = sock.as_raw_fd();
                    if poll
                        .registry()
                        .register(&mut SourceFd(&fd), Token(socks.len()), Interest::READABLE)
                        .is_ok()
                    {
                        socks.push(s);
                    }
                }
                InCmd::Datagram(kind, mut d) => {
                    // handed over by another worker: this one owns the SA (or nobody does)
                    let _ = receive_one(kind, &mut d, &mut sas, &mut writer, &mut scratch, g, None);
                }
            }
        }
        let mut busy = false;
        for s in &socks {
            let Some(sock) = s.rx.get(w.index) else {
                continue;
            };
            lens.clear();
            {
                let mut slices: Vec<[IoSliceMut<'_>; 1]> = bufs
                    .iter_mut()
                    .map(|b| [IoSliceMut::new(b.as_mut_slice())])
                    .collect();
                // Fresh headers per call: the kernel shrinks each header's control
                // length to what it wrote, and reused headers would then truncate the
                // GRO size of later reads.
                let mut hdrs = MultiHeaders::<SockaddrStorage>::preallocate(
                    defaults::BATCH,
                    Some(nix::cmsg_space!(i32)),
                );
                match recvmmsg(
                    sock.as_raw_fd(),
                    &mut hdrs,
                    slices.iter_mut(),
                    MsgFlags::MSG_DONTWAIT,
                    None,
                ) {
                    Ok(r) => lens.extend(r.map(|m| {
                        let seg = m
                            .cmsgs()
                            .ok()
                            .and_then(|mut c| {
                                c.find_map(|x| match x {
                                    ControlMessageOwned::UdpGroSegments(n) => {
                                        usize::try_from(n).ok()
                                    }
                                    _ => None,
                                })
                            })
                            .unwrap_or(0);
                        (m.bytes, m.address.and_then(sockaddr_to_std), seg)
                    })),
                    Err(nix::errno::Errno::EAGAIN) => {}
                    Err(e) => {
                        debug!(error = %e, "recvmmsg");
                        inc(&g.io_errors);
                    }
                }
            }
            if lens.len() == defaults::BATCH {
                busy = true;
            }
            for (i, &(n, from, seg)) in lens.iter().enumerate() {
                // A GRO-coalesced read holds several datagrams of `seg` bytes (the last may be shorter).
                let step = if seg > 0 { seg } else { n.max(1) };
                let mut off = 0;
                while off < n || (n == 0 && off == 0) {
                    let end = (off + step).min(n);
                    let d = &mut bufs[i][off..end];
                    off = end.max(off + 1);
                    if let (SockKind::Udp(local), Some(peer)) = (s.kind, from) {
                        if d.len() > 4 && d[..4] == [0, 0, 0, 0] {
                            if let Some(tx) = &ike {
                                let msg = IkeDatagram {
                                    local,
                                    peer,
                                    message: d.to_vec(),
                                };
                                if tx.send(msg).is_ok() {
                                    continue;
                                }
                            }
                        }
                    }
                    if let Some((o, spi)) =
                        receive_one(s.kind, d, &mut sas, &mut writer, &mut scratch, g, Some(w))
                    {
                        // not this worker's SA: hand the datagram to its owner
                        if handed.insert(spi) {
                            debug!(
                                spi = format_args!("{spi:#010x}"),
                                worker = w.index,
                                owner = o,
                                "ESP reached a worker that does not own its SA; handed over"
                            );
                        }
                        if w.peers[o]
                            .send(InCmd::Datagram(s.kind, d.to_vec()))
                            .is_err()
                        {
                            inc(&g.io_errors);
                        }
                    }
                }
            }
            if writer.flush(tun).is_err() {
                inc(&g.io_errors);
            }
        }
        if writer.flush(tun).is_err() {
            inc(&g.io_errors);
        }
        if !busy {
            let _ = poll.poll(&mut events, timeout);
        }
    }
}

/// Opens one datagram and queues its inner packet for the TUN device. Returns
/// the worker to hand it to, and the SPI, when its SA belongs to another worker
/// (`me` given).
fn receive_one(
    kind: SockKind,
    d: &mut [u8],
    sas: &mut HashMap<u32, InEntry>,
    out: &mut TunWriter,
    scratch: &mut [u8],
    g: &GlobalCounters,
    me: Option<&InWorker>,
) -> Option<(usize, u32)> {
    let esp_at = match kind {
        SockKind::Udp(_) => {
            // RFC 3948: a single 0xff byte is a NAT keepalive; four zero bytes
            // (the non-ESP marker) start an IKE message; anything else is ESP.
            if d == [0xff] {
                inc(&g.keepalives);
                return None;
            }
            if d.len() >= 4 && d[..4] == [0, 0, 0, 0] {
                inc(&g.ike_unhandled);
                return None;
            }
            0
        }
        SockKind::Raw4 => match d.first() {
            Some(b) if b >> 4 == 4 => usize::from(b & 0x0f) * 4,
            _ => {
                inc(&g.malformed);
                return None;
            }
        },
        SockKind::Raw6 => 0,
    };
    let Some(esp) = d.get_mut(esp_at..) else {
        inc(&g.malformed);
        return None;
    };
    if esp.len() < 8 {
        inc(&g.malformed);
        return None;
    }
    let spi = u32::from_be_bytes([esp[0], esp[1], esp[2], esp[3]]);
    let Some(e) = sas.get_mut(&spi) else {
        if let Some(w) = me {
            let o = owner(spi, w.workers);
            if o != w.index {
                return Some((o, spi));
            }
        }
        inc(&g.unknown_spi);
        return None;
    };
    let c = &e.counters;
    let opened = match e.path.open(esp) {
        Ok(o) => o,
        Err(err) => {
            match err {
                DecapError::AuthFailed => inc(&c.auth_failures),
                DecapError::Replayed(_) | DecapError::TooOld(_) | DecapError::SeqZero => {
                    inc(&c.replay_drops)
                }
                DecapError::DummyPacket => {}
                _ => inc(&c.in_errors),
            }
            return None;
        }
    };
    let payload = &esp[opened.payload.clone()];
    let spec = &e.spec;
    let pkt: &[u8] = match spec.mode {
        ModeKind::Tunnel => {
            if !matches!(opened.next_header, proto::IPV4 | proto::IPV6) {
                inc(&c.in_errors);
                return None;
            }
            payload
        }
        ModeKind::Transport => {
            let Some(hl) = packet::write_header(
                scratch,
                spec.remote_addr,
                spec.local_addr,
                opened.next_header,
                payload.len(),
            ) else {
                inc(&c.in_errors);
                return None;
            };
            let Some(dst) = scratch.get_mut(hl..hl + payload.len()) else {
                inc(&c.in_errors);
                return None;
            };
            dst.copy_from_slice(payload);
            &scratch[..hl + payload.len()]
        }
    };
    let Some(info) = packet::parse(pkt) else {
        inc(&c.in_errors);
        return None;
    };
    if !spec.matches_inbound(info.src, info.dst) {
        inc(&c.selector_drops);
        return None;
    }
    let pkt = &pkt[..info.total_len];
    out.push(pkt);
    inc(&c.in_packets);
    stats::add(&c.in_bytes, pkt.len() as u64);
    None
}

fn sockaddr_to_std(a: SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4(std::net::SocketAddrV4::new(
            v4.ip(),
            v4.port(),
        )));
    }
    a.as_sockaddr_in6().map(|v6| {
        SocketAddr::V6(std::net::SocketAddrV6::new(
            v6.ip(),
            v6.port(),
            0,
            v6.scope_id(),
        ))
    })
}

/// Unspecified addresses of both families (for binding helpers).
pub fn unspecified(v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a classic BPF program of the opcodes used here over `pkt` (the
    /// kernel's semantics: an out-of-bounds load ends the program with 0).
    fn run(prog: &[nix::libc::sock_filter], pkt: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let word = |o: usize| -> Option<u32> {
            Some(u32::from_be_bytes(pkt.get(o..o + 4)?.try_into().ok()?))
        };
        while let Some(i) = prog.get(pc) {
            pc += 1;
            match i.code {
                BPF_LD_W_ABS => match word(i.k as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                BPF_LD_W_IND => match word(x as usize + i.k as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                BPF_LD_W_LEN => a = pkt.len() as u32,
                BPF_LDX_B_MSH => match pkt.get(i.k as usize) {
                    Some(b) => x = u32::from(b & 0x0f) * 4,
                    None => return 0,
                },
                BPF_ALU_MUL_K => a = a.wrapping_mul(i.k),
                BPF_ALU_RSH_K => a >>= i.k,
                BPF_ALU_MOD_K => a %= i.k,
                BPF_ALU_SUB_X => a = a.wrapping_sub(x),
                BPF_JGE_K => pc += usize::from(if a >= i.k { i.jt } else { i.jf }),
                BPF_JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                BPF_RET_K => return i.k,
                BPF_RET_A => return a,
                other => panic!("opcode {other:#x} not interpreted"),
            }
        }
        panic!("program fell off its end")
    }

    fn esp(spi: u32) -> Vec<u8> {
        let mut d = spi.to_be_bytes().to_vec();
        d.extend_from_slice(&[0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd]);
        d
    }

    const SPIS: [u32; 8] = [
        0x0000_a001,
        0x0000_b001,
        0xc000_0a01,
        0xc000_0a02,
        0x100,
        0x200,
        0xffff_ffff,
        0x1234_5678,
    ];

    #[test]
    fn owner_spreads_sequential_and_round_spis() {
        for n in [2usize, 3, 4] {
            let seq: std::collections::HashSet<_> =
                (0..64u32).map(|i| owner(0xc000_0000 + i, n)).collect();
            let round: std::collections::HashSet<_> =
                (0..64u32).map(|i| owner(i << 8, n)).collect();
            assert_eq!(seq.len(), n, "sequential SPIs over {n} workers");
            assert_eq!(
                round.len(),
                n,
                "SPIs that are multiples of 256 over {n} workers"
            );
        }
        assert_eq!(owner(0x1234, 1), 0);
    }

    #[test]
    fn udp_steering_program_picks_the_owner() {
        for n in [2usize, 3, 4, 8] {
            let mut prog = bpf_owner(bpf(BPF_LD_W_ABS, 0, 0, 0), n).to_vec();
            prog.push(bpf(BPF_RET_A, 0, 0, 0));
            for spi in SPIS {
                assert_eq!(
                    run(&prog, &esp(spi)) as usize,
                    owner(spi, n),
                    "{spi:#x} / {n}"
                );
            }
            // IKE (non-ESP marker), keepalives and runts go to worker 0
            assert_eq!(run(&prog, &[0, 0, 0, 0, 1, 2, 3]), 0);
            assert_eq!(run(&prog, &[0xff]), 0);
        }
    }

    #[test]
    fn raw_filters_keep_exactly_the_owned_spis() {
        for n in [2usize, 3] {
            for v4 in [true, false] {
                let progs: Vec<_> = (0..n).map(|k| raw_filter(v4, k, n)).collect();
                for spi in SPIS {
                    let mut pkt = if v4 {
                        // IPv4 header with 4 bytes of options (IHL 6), then ESP
                        let mut h = vec![0x46u8];
                        h.extend_from_slice(&[0; 23]);
                        h
                    } else {
                        Vec::new()
                    };
                    pkt.extend_from_slice(&esp(spi));
                    let keepers: Vec<usize> =
                        (0..n).filter(|&k| run(&progs[k], &pkt) != 0).collect();
                    assert_eq!(keepers, vec![owner(spi, n)], "{spi:#x} v4={v4} n={n}");
                }
                // too short for an ESP header: worker 0 alone (it counts it)
                let runt: Vec<u8> = if v4 {
                    let mut h = vec![0x45u8];
                    h.extend_from_slice(&[0; 19]);
                    h.extend_from_slice(&[1, 2, 3]);
                    h
                } else {
                    vec![1, 2, 3]
                };
                let keepers: Vec<usize> = (0..n).filter(|&k| run(&progs[k], &runt) != 0).collect();
                assert_eq!(keepers, vec![0], "v4={v4} n={n}");
            }
        }
    }
}
