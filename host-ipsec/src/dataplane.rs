//! The data path: a TUN device, UDP 4500 and raw ESP sockets, and two workers.
//!
//! - The outbound worker reads batches of packets from the TUN device, looks up
//!   the SPD (the installed children's selectors), seals each packet on its SA's
//!   path and sends the batch with one `sendmmsg` per socket.
//! - The inbound worker receives batches with `recvmmsg`, finds the SA by SPI,
//!   opens the packet (replay window, ICV), checks the inner packet against the
//!   selectors and writes it to the TUN device.
//!
//! Each SA half is owned by exactly one worker: the outbound counter cannot be
//! shared, so sequence numbers are never reused, and nothing on the per-packet
//! path takes a lock. SA changes reach the workers as commands on a channel
//! that they drain between batches. Counters are relaxed atomics.

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
use mio::{Events, Interest, Poll, Token};
use nix::sys::socket::{
    recvmmsg, sendmmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, MultiHeaders,
    SockaddrStorage,
};
use socket2::{Domain, Protocol, Socket, Type};
use tracing::{debug, info, warn};

use esp::DecapError;

use crate::card::{self, SharedEngine};
use crate::config::{proposal_name, Encap, Mode, OffloadDevice};
use crate::defaults;
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

struct Sock {
    kind: SockKind,
    sock: Socket,
    /// UDP segmentation offload usable on this socket.
    gso: AtomicBool,
}

struct OutEntry {
    spec: Arc<ChildSaSpec>,
    path: Box<dyn OutboundPath>,
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
    Install(Box<OutEntry>),
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
}

/// An installed SA pair as the control plane sees it (no key use here).
#[derive(Debug)]
struct Installed {
    spec: Arc<ChildSaSpec>,
    counters: Arc<SaCounters>,
}

/// The running data path.
pub struct Dataplane {
    tun: Arc<Tun>,
    tun_mtu: u16,
    engine: Option<SharedEngine>,
    global: Arc<GlobalCounters>,
    installed: Mutex<BTreeMap<u32, Installed>>,
    sockets: Mutex<HashMap<SockKind, Arc<Sock>>>,
    out_tx: Mutex<Sender<OutCmd>>,
    in_tx: Mutex<Sender<InCmd>>,
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
    /// Creates the TUN device (MTU `tun_mtu`), brings it up and starts the workers.
    pub fn start(
        tun_name: &str,
        tun_mtu: u16,
        device: OffloadDevice,
    ) -> Result<Arc<Self>, StartError> {
        let engine = card::open(device).map_err(|e| StartError::Card(e.to_string()))?;
        if engine.is_some() {
            info!(?device, "card backend opened");
        }
        let tun = Tun::open(tun_name).map_err(|source| StartError::Tun {
            name: tun_name.into(),
            source,
        })?;
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
        let tun = Arc::new(tun);
        let (out_tx, out_rx) = channel();
        let (in_tx, in_rx) = channel();
        let global = Arc::new(GlobalCounters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let dp = Arc::new(Dataplane {
            tun: tun.clone(),
            tun_mtu,
            engine,
            global: global.clone(),
            installed: Mutex::new(BTreeMap::new()),
            sockets: Mutex::new(HashMap::new()),
            out_tx: Mutex::new(out_tx),
            in_tx: Mutex::new(in_tx),
            stop: stop.clone(),
            threads: Mutex::new(Vec::new()),
            mark: defaults::SOCKET_MARK,
        });
        let (t1, g1, s1) = (tun.clone(), global.clone(), stop.clone());
        let h1 = std::thread::Builder::new()
            .name("ipsecd-out".into())
            .spawn(move || outbound_worker(&t1, out_rx, &g1, &s1))
            .map_err(StartError::Thread)?;
        let h2 = std::thread::Builder::new()
            .name("ipsecd-in".into())
            .spawn(move || inbound_worker(&tun, in_rx, &global, &stop))
            .map_err(StartError::Thread)?;
        dp.threads
            .lock()
            .map_err(|_| StartError::Thread(io::Error::other("poisoned")))?
            .extend([h1, h2]);
        info!(tun = %name, mtu = tun_mtu, offload = dp.tun.offload(), "data path started");
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

    /// Worker threads.
    pub fn workers(&self) -> usize {
        self.threads.lock().map(|t| t.len()).unwrap_or(0)
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
                s.bind(&a.into()).map_err(|e| err(format!("udp {a}"), e))?;
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
        let gro = matches!(kind, SockKind::Udp(_));
        if gro {
            let _ = nix::sys::socket::setsockopt(
                &sock,
                nix::sys::socket::sockopt::UdpGroSegment,
                &true,
            );
        }
        let s = Arc::new(Sock {
            kind,
            sock,
            gso: AtomicBool::new(gro),
        });
        socks.insert(kind, s.clone());
        self.in_tx
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .send(InCmd::AddSocket(s.clone()))
            .map_err(|_| InstallError::Stopped)?;
        Ok(s)
    }

    fn routes(&self, spec: &ChildSaSpec, add: bool) {
        let dev = self.tun.name().to_string();
        let verb = if add { "replace" } else { "del" };
        match spec.mode {
            Mode::Tunnel => {
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
            Mode::Transport => {
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
        self.in_tx
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .send(InCmd::IkeSink(sink))
            .map_err(|_| InstallError::Stopped)
    }

    /// Makes the pair with `inbound_spi` the first choice for outbound packets of
    /// its selectors (a rekeyed CHILD_SA, while its predecessor still receives).
    pub fn prefer_outbound(&self, inbound_spi: u32) -> Result<(), InstallError> {
        self.out_tx
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .send(OutCmd::Prefer(inbound_spi))
            .map_err(|_| InstallError::Stopped)
    }

    /// Start on traffic (IKE `start_action = trap`): outbound packets that match no
    /// SA are reported on `sink` as (source, destination), at most once a second per
    /// destination. (Routing the selectors into the TUN device is the caller's.)
    pub fn set_acquire_sink(&self, sink: Sender<(IpAddr, IpAddr)>) -> Result<(), InstallError> {
        self.out_tx
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .send(OutCmd::AcquireSink(sink))
            .map_err(|_| InstallError::Stopped)
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
        sock.sock.send_to(datagram, &peer.into()).map(|_| ())
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
            let left = |limit: u64, used: u64| (limit > 0).then(|| limit.saturating_sub(used));
            let base = |dir: &str, spi: u32| SaStatus {
                connection: s.connection.clone(),
                child: s.child.clone(),
                direction: dir.into(),
                spi: format!("{spi:#010x}"),
                local_ts: ts(&s.local_ts),
                remote_ts: ts(&s.remote_ts),
                mode: format!("{:?}", s.mode).to_lowercase(),
                transform: proposal_name(s.transform).into(),
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
                life_packets_left: left(s.lifetime.packets, ip),
                life_bytes_left: left(s.lifetime.bytes, ib),
                ..base("in", s.inbound.spi)
            });
            let (op, ob) = (stats::get(&c.out_packets), stats::get(&c.out_bytes));
            let max = if s.esn { u64::MAX } else { u64::from(u32::MAX) };
            let next = stats::get(&c.out_next_seq);
            v.push(SaStatus {
                packets: op,
                bytes: ob,
                errors: stats::get(&c.out_errors),
                life_packets_left: left(s.lifetime.packets, op),
                life_bytes_left: left(s.lifetime.bytes, ob),
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
            path: paths.outbound,
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
        self.in_tx
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .send(InCmd::Install(in_spi, Box::new(inn)))
            .map_err(|_| InstallError::Stopped)?;
        self.out_tx
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .send(OutCmd::Install(Box::new(out)))
            .map_err(|_| InstallError::Stopped)?;
        self.routes(&spec, true);
        info!(
            connection = %spec.connection, child = %spec.child,
            in_spi = format_args!("{:#010x}", spec.inbound.spi),
            out_spi = format_args!("{:#010x}", spec.outbound.spi),
            mode = ?spec.mode, encap = ?spec.encap, transform = proposal_name(spec.transform),
            path = %paths.kind, first_seq, "SA pair installed"
        );
        self.installed
            .lock()
            .map_err(|_| InstallError::Stopped)?
            .insert(in_spi, Installed { spec, counters });
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
        let _ = self
            .out_tx
            .lock()
            .map(|t| t.send(OutCmd::Remove(inbound_spi)));
        let _ = self
            .in_tx
            .lock()
            .map(|t| t.send(InCmd::Remove(inbound_spi)));
        info!(connection = %removed.spec.connection, child = %removed.spec.child,
            in_spi = format_args!("{inbound_spi:#010x}"), "SA pair removed");
        Ok(())
    }
}

const TUN_TOKEN: Token = Token(usize::MAX);

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
    let mut entries: Vec<OutEntry> = Vec::new();
    let mut reader = TunReader::default();
    let mut icmp_out = TunWriter::default();
    let mut bufs: Vec<Vec<u8>> = (0..defaults::BATCH).map(|_| vec![0u8; BUF]).collect();
    // (entry index, buffer index, length) of sealed packets waiting to be sent
    let mut ready: Vec<(usize, usize, usize)> = Vec::with_capacity(defaults::BATCH);
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
                OutCmd::Install(e) => entries.push(*e),
                OutCmd::Prefer(spi) => {
                    // A rekeyed CHILD_SA takes the outbound traffic of its selectors.
                    if let Some(i) = entries.iter().position(|e| e.spec.inbound.spi == spi) {
                        let e = entries.remove(i);
                        entries.insert(0, e);
                        last = 0;
                    }
                }
                OutCmd::Remove(spi) => entries.retain(|e| e.spec.inbound.spi != spi),
                OutCmd::AcquireSink(tx) => acquire = Some(tx),
            }
        }
        ready.clear();
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
                let e = &mut entries[ix];
                let pkt = &pkt[..info.total_len];
                if ready.len() >= bufs.len() {
                    bufs.push(vec![0u8; BUF]);
                }
                if pkt.len() > e.inner_mtu {
                    // Too big for the tunnel: fragment (IPv4 without DF) or answer ICMP.
                    let mtu = e.inner_mtu;
                    let mut frags: Vec<Vec<u8>> = Vec::new();
                    if packet::fragment_v4(pkt, mtu, |f| frags.push(f.to_vec())).is_some() {
                        inc(&e.counters.fragmented);
                        for f in frags {
                            if ready.len() >= bufs.len() {
                                bufs.push(vec![0u8; BUF]);
                            }
                            let bi = ready.len();
                            if let Some(len) = seal(e, &f, &mut bufs[bi]) {
                                ready.push((ix, bi, len));
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
                let bi = ready.len();
                if let Some(len) = seal(e, pkt, &mut bufs[bi]) {
                    ready.push((ix, bi, len));
                }
            }
        }
        if !icmp_out.is_empty() && icmp_out.flush(tun).is_err() {
            inc(&g.io_errors);
        }
        if !ready.is_empty() {
            send_batch(&entries, &bufs, &ready, g);
            for e in &entries {
                e.counters
                    .out_next_seq
                    .store(e.path.next_seq().map_or(0, |s| s.0), Ordering::Relaxed);
                note_path(&e.counters, e.path.kind());
            }
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

/// Seals one inner packet on its SA into `out`; returns the datagram length.
fn seal(e: &mut OutEntry, pkt: &[u8], out: &mut [u8]) -> Option<usize> {
    let (payload, nh): (&[u8], u8) = match e.spec.mode {
        Mode::Tunnel => (
            pkt,
            if pkt[0] >> 4 == 4 {
                proto::IPV4
            } else {
                proto::IPV6
            },
        ),
        Mode::Transport => {
            let info = packet::parse(pkt)?;
            // Transport mode keeps no inner IP header, so IP fragments (their offsets live
            // in that header) and IPv6 extension headers are not carried: counted and dropped.
            let v4_fragment =
                pkt[0] >> 4 == 4 && u16::from_be_bytes([pkt[6], pkt[7]]) & 0x3fff != 0;
            if v4_fragment || (pkt[0] >> 4 == 6 && matches!(info.protocol, 0 | 43 | 44 | 60)) {
                inc(&e.counters.out_errors);
                return None;
            }
            (&pkt[info.header_len..info.total_len], info.protocol)
        }
    };
    let hl = e.path.header_len();
    let Some(dst) = out.get_mut(hl..hl + payload.len()) else {
        inc(&e.counters.out_errors);
        return None;
    };
    dst.copy_from_slice(payload);
    match e.path.seal_in_place(out, payload.len(), nh) {
        Ok(s) => {
            inc(&e.counters.out_packets);
            stats::add(&e.counters.out_bytes, pkt.len() as u64);
            Some(s.len)
        }
        Err(err) => {
            inc(&e.counters.out_errors);
            debug!(spi = format_args!("{:#010x}", e.spec.outbound.spi), error = %err, "seal failed");
            None
        }
    }
}

/// Sends a group of datagrams with UDP GSO (RFC-less Linux `UDP_SEGMENT`): runs
/// to one destination of equal-size datagrams (the last may be shorter) leave in one
/// `sendmsg`, and the kernel cuts them apart after the stack. Returns false (nothing
/// sent) when the kernel refuses GSO, which then stays off for this socket.
fn send_gso(
    entries: &[OutEntry],
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
        while j < group.len()
            && j - i < max
            && group[j - 1].2 == seg
            && group[j].2 <= seg
            && entries[group[j].0].dest == *dest
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
                sock.sock.as_raw_fd(),
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
    entries: &[OutEntry],
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
                sock.sock.as_raw_fd(),
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

fn inbound_worker(tun: &Tun, rx: Receiver<InCmd>, g: &GlobalCounters, stop: &AtomicBool) {
    let Ok(mut poll) = Poll::new() else {
        warn!("inbound worker: cannot create poller");
        return;
    };
    let mut events = Events::with_capacity(16);
    let mut socks: Vec<Arc<Sock>> = Vec::new();
    let mut sas: HashMap<u32, InEntry> = HashMap::new();
    let mut bufs: Vec<Vec<u8>> = (0..defaults::BATCH).map(|_| vec![0u8; 65536]).collect();
    let mut scratch = vec![0u8; BUF];
    let mut writer = TunWriter::default();
    // (length, sender, GRO segment size)
    let mut lens: Vec<(usize, Option<SocketAddr>, usize)> = Vec::with_capacity(defaults::BATCH);
    let mut ike: Option<Sender<IkeDatagram>> = None;
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
                    let fd = s.sock.as_raw_fd();
                    if poll
                        .registry()
                        .register(&mut SourceFd(&fd), Token(socks.len()), Interest::READABLE)
                        .is_ok()
                    {
                        socks.push(s);
                    }
                }
            }
        }
        let mut busy = false;
        for s in &socks {
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
                    s.sock.as_raw_fd(),
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
                    receive_one(s.kind, d, &mut sas, &mut writer, &mut scratch, g);
                }
            }
            if writer.flush(tun).is_err() {
                inc(&g.io_errors);
            }
        }
        if !busy {
            let _ = poll.poll(&mut events, timeout);
        }
    }
}

fn receive_one(
    kind: SockKind,
    d: &mut [u8],
    sas: &mut HashMap<u32, InEntry>,
    out: &mut TunWriter,
    scratch: &mut [u8],
    g: &GlobalCounters,
) {
    let esp_at = match kind {
        SockKind::Udp(_) => {
            // RFC 3948: a single 0xff byte is a NAT keepalive; four zero bytes
            // (the non-ESP marker) start an IKE message; anything else is ESP.
            if d == [0xff] {
                inc(&g.keepalives);
                return;
            }
            if d.len() >= 4 && d[..4] == [0, 0, 0, 0] {
                inc(&g.ike_unhandled);
                return;
            }
            0
        }
        SockKind::Raw4 => match d.first() {
            Some(b) if b >> 4 == 4 => usize::from(b & 0x0f) * 4,
            _ => {
                inc(&g.malformed);
                return;
            }
        },
        SockKind::Raw6 => 0,
    };
    let Some(esp) = d.get_mut(esp_at..) else {
        inc(&g.malformed);
        return;
    };
    if esp.len() < 8 {
        inc(&g.malformed);
        return;
    }
    let spi = u32::from_be_bytes([esp[0], esp[1], esp[2], esp[3]]);
    let Some(e) = sas.get_mut(&spi) else {
        inc(&g.unknown_spi);
        return;
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
            return;
        }
    };
    let payload = &esp[opened.payload.clone()];
    let spec = &e.spec;
    let pkt: &[u8] = match spec.mode {
        Mode::Tunnel => {
            if !matches!(opened.next_header, proto::IPV4 | proto::IPV6) {
                inc(&c.in_errors);
                return;
            }
            payload
        }
        Mode::Transport => {
            let Some(hl) = packet::write_header(
                scratch,
                spec.remote_addr,
                spec.local_addr,
                opened.next_header,
                payload.len(),
            ) else {
                inc(&c.in_errors);
                return;
            };
            let Some(dst) = scratch.get_mut(hl..hl + payload.len()) else {
                inc(&c.in_errors);
                return;
            };
            dst.copy_from_slice(payload);
            &scratch[..hl + payload.len()]
        }
    };
    let Some(info) = packet::parse(pkt) else {
        inc(&c.in_errors);
        return;
    };
    if !spec.matches_inbound(info.src, info.dst) {
        inc(&c.selector_drops);
        return;
    }
    let pkt = &pkt[..info.total_len];
    out.push(pkt);
    inc(&c.in_packets);
    stats::add(&c.in_bytes, pkt.len() as u64);
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
