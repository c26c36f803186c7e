//! `ipsecd`: the IPsec gateway daemon (TUN data path, manual and IKEv2 SAs, control
//! socket).

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use tracing::{debug, error, info, warn};

use host_ipsec::config::{Config, OffloadDevice};
use host_ipsec::control::{self, Request, Response};
use host_ipsec::dataplane::{Dataplane, DataplaneOptions, IkeDatagram};
use host_ipsec::ike::{Ike, IkeIo, IkeMsg};
use host_ipsec::sa::{ChildSaSpec, Origin, SaInstaller, SoftExpired};
use host_ipsec::state::SeqState;
use host_ipsec::stats::{inc, DaemonStatus};
use host_ipsec::{defaults, metrics, state};

/// IPsec gateway daemon.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Configuration file (TOML, swanctl-like).
    #[arg(short, long)]
    config: PathBuf,
    /// Log as JSON lines.
    #[arg(long)]
    log_json: bool,
    /// Start over with no sequence state (when the state file is unreadable or
    /// corrupt). Manual SAs start at sequence number 1 again: meant for new keys
    /// only, never for keys a previous run has used.
    #[arg(long)]
    reset_sequence_state: bool,
}

struct Daemon {
    config_path: PathBuf,
    config: Mutex<Config>,
    dp: Arc<Dataplane>,
    started: Instant,
    seq: Seq,
    ike: Option<Arc<Ike>>,
}

/// The sequence state of the manual SAs ([`state`]): the records (or why the
/// file cannot be used) and the saver's waker.
struct Seq {
    state: Mutex<Result<SeqState, String>>,
    waker: Arc<state::Waker>,
}

impl Seq {
    /// Reserves a range for the outbound half of manual `spec` durably, then
    /// installs the pair behind a gate at that range's end.
    fn install(&self, dp: &Dataplane, spec: ChildSaSpec) -> Result<()> {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| anyhow::anyhow!("sequence state lock poisoned"))?;
        let st = match &mut *guard {
            Ok(st) => st,
            Err(e) => anyhow::bail!(
                "{e}: refusing manual SA {}/{} (out_spi {:#010x})",
                spec.connection,
                spec.child,
                spec.outbound.spi
            ),
        };
        let spi = spec.outbound.spi;
        let kid = state::key_id(spi, spec.outbound.key.as_bytes());
        let max = if spec.esn {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        let start = st.start(spi, &kid, max);
        let gate = Arc::new(state::Gate::new(
            spi,
            kid.clone(),
            max,
            0,
            self.waker.clone(),
            dp.global().clone(),
        ));
        let first = if start.exhausted || start.first > max {
            gate.set_exhausted();
            st.set(
                spi,
                state::Record {
                    key_id: kid,
                    reserved_end: start.first.min(max.saturating_add(1)),
                    exhausted: true,
                },
            );
            st.save()
                .with_context(|| format!("writing {}", st.file().display()))?;
            error!(
                connection = %spec.connection, child = %spec.child,
                out_spi = format_args!("{spi:#010x}"),
                "outbound SA exhausted its sequence numbers in an earlier run: it does not send; configure new keys"
            );
            1
        } else {
            let end = gate.next_end(start.first);
            st.set(
                spi,
                state::Record {
                    key_id: kid,
                    reserved_end: end,
                    exhausted: false,
                },
            );
            st.save().with_context(|| {
                format!(
                    "cannot reserve sequence numbers for {}/{} (out_spi {spi:#010x}) in {}",
                    spec.connection,
                    spec.child,
                    st.file().display()
                )
            })?;
            gate.raise(end);
            start.first
        };
        dp.install_gated(spec, first, Some(gate))
            .context("installing SA")?;
        Ok(())
    }

    /// The saver: ranges for gates past half their range, exhaustion recorded;
    /// every change written durably before a gate is raised.
    fn tick(&self, dp: &Dataplane) {
        let Ok(mut guard) = self.state.lock() else {
            return;
        };
        let Ok(st) = &mut *guard else {
            return;
        };
        let mut raise = Vec::new();
        let mut dirty = false;
        for (g, next) in dp.gates() {
            if g.exhausted() {
                continue;
            }
            match next {
                None => {
                    g.set_exhausted();
                    st.set(
                        g.spi(),
                        state::Record {
                            key_id: g.key_id().into(),
                            reserved_end: g.max().saturating_add(1),
                            exhausted: true,
                        },
                    );
                    dirty = true;
                    warn!(
                        out_spi = format_args!("{:#010x}", g.spi()),
                        "outbound SA used up its sequence numbers: configure new keys"
                    );
                }
                Some(n) if g.needs_more(n) => {
                    let end = g.next_end(n);
                    if end > g.limit() {
                        st.set(
                            g.spi(),
                            state::Record {
                                key_id: g.key_id().into(),
                                reserved_end: end,
                                exhausted: false,
                            },
                        );
                        dirty = true;
                    }
                    raise.push((g, end));
                }
                Some(_) => {}
            }
        }
        if dirty {
            if let Err(e) = st.save() {
                // the gates stay where they are: packets past them are dropped
                warn!(error = %e, file = %st.file().display(), "cannot write sequence state");
                return;
            }
        }
        for (g, end) in raise {
            g.raise(end);
        }
    }
}

/// IKE's I/O: UDP 500 on sockets of its own, UDP 4500 through the data path's
/// encapsulation socket, SAs through the data path.
struct DaemonIo {
    dp: Arc<Dataplane>,
    ike_sockets: HashMap<SocketAddr, Arc<UdpSocket>>,
}

impl IkeIo for DaemonIo {
    fn send(&self, local: SocketAddr, remote: SocketAddr, datagram: &[u8]) -> std::io::Result<()> {
        match self.ike_sockets.get(&local) {
            Some(s) => s.send_to(datagram, remote).map(|_| ()),
            None => self.dp.send_udp(local, remote, datagram),
        }
    }
    fn installer(&self) -> &dyn SaInstaller {
        &*self.dp
    }
    fn prefer_outbound(&self, inbound_spi: u32) {
        if let Err(e) = self.dp.prefer_outbound(inbound_spi) {
            warn!(error = %e, "cannot move outbound traffic to a rekeyed CHILD_SA");
        }
    }
    fn update_encap(&self, inbound_spi: u32, encap: ikev2::UdpEncap) -> Result<(), String> {
        self.dp
            .update_encap(inbound_spi, encap.remote)
            .map_err(|e| e.to_string())
    }
    fn trap_routes(&self, remote_ts: &[host_ipsec::config::IpPrefix]) {
        for p in remote_ts {
            let fam = if p.addr.is_ipv4() { "-4" } else { "-6" };
            let ok = std::process::Command::new("ip")
                .args([
                    fam,
                    "route",
                    "replace",
                    &p.to_string(),
                    "dev",
                    self.dp.tun_name(),
                ])
                .output()
                .is_ok_and(|o| o.status.success());
            if !ok {
                warn!(prefix = %p, "cannot route a trapped selector into the TUN device");
            }
        }
    }
}

/// Binds UDP 500 on `addr`, marked like the data path's sockets so transport-mode
/// routes do not catch IKE.
fn ike_socket(addr: SocketAddr) -> Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let d = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(d, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    let _ = s.set_mark(defaults::SOCKET_MARK);
    s.bind(&addr.into())
        .with_context(|| format!("IKE socket {addr}"))?;
    let s: UdpSocket = s.into();
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    Ok(s)
}

/// Starts IKE when the configuration has IKE connections.
fn start_ike(
    config: &Config,
    dp: &Arc<Dataplane>,
    term: &Arc<AtomicBool>,
) -> Result<Option<Arc<Ike>>> {
    let locals: Vec<IpAddr> = {
        let mut v: Vec<IpAddr> = config
            .connections
            .iter()
            .filter(|c| c.ike.is_some())
            .map(|c| c.local_addr)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if locals.is_empty() {
        return Ok(None);
    }
    let mut ike_sockets = HashMap::new();
    for a in &locals {
        let addr = SocketAddr::new(*a, defaults::IKE_PORT);
        ike_sockets.insert(addr, Arc::new(ike_socket(addr)?));
        dp.open_udp(SocketAddr::new(*a, defaults::NATT_PORT))
            .context("IKE NAT-T socket")?;
    }
    let cfg = ikev2::EngineConfig {
        ike_port: defaults::IKE_PORT,
        natt_port: defaults::NATT_PORT,
        retransmit_timeout: config.daemon.ike_retransmit_timeout,
        retransmit_tries: config.daemon.ike_retransmit_tries,
        half_open_limit: config.daemon.ike_limits.half_open_limit,
        half_open_per_source: config.daemon.ike_limits.half_open_per_source,
        cookie_threshold: config.daemon.ike_limits.cookie_threshold,
        cookie_secret_lifetime: config.daemon.ike_limits.cookie_secret_lifetime,
        max_child_sas: config.daemon.ike_limits.max_child_sas,
        ..ikev2::EngineConfig::default()
    };
    let io = DaemonIo {
        dp: dp.clone(),
        ike_sockets: ike_sockets.clone(),
    };
    let (ike, tx) = Ike::start(cfg, &config.connections, io)?;
    // UDP 4500: IKE messages the data path hands over.
    let (stx, srx) = std::sync::mpsc::channel::<IkeDatagram>();
    dp.set_ike_sink(stx).context("IKE sink")?;
    let t = tx.clone();
    std::thread::Builder::new()
        .name("ipsecd-ike-4500".into())
        .spawn(move || {
            for d in srx {
                let m = IkeMsg::Datagram {
                    local: d.local,
                    remote: d.peer,
                    message: d.message,
                };
                if !t.push(m) {
                    break;
                }
            }
        })?;
    // Start on traffic: packets that match no SA (also for trap connections a
    // reload adds).
    {
        let (atx, arx) = std::sync::mpsc::channel::<(IpAddr, IpAddr)>();
        dp.set_acquire_sink(atx).context("acquire sink")?;
        let t = tx.clone();
        std::thread::Builder::new()
            .name("ipsecd-acquire".into())
            .spawn(move || {
                for (src, dst) in arx {
                    if !t.push(IkeMsg::Acquire { src, dst }) {
                        break;
                    }
                }
            })?;
    }
    // Soft lifetimes reached in the data path: IKE rekeys the CHILD_SA. The notice
    // waits for room in a full queue rather than being dropped.
    {
        let (etx, erx) = std::sync::mpsc::channel::<SoftExpired>();
        dp.set_soft_expiry_sink(etx).context("soft expiry sink")?;
        let t = tx.clone();
        std::thread::Builder::new()
            .name("ipsecd-soft-expiry".into())
            .spawn(move || {
                for n in erx {
                    if !t.push_wait(IkeMsg::SoftExpired(n)) {
                        break;
                    }
                }
            })?;
    }
    // UDP 500.
    for (addr, s) in ike_sockets {
        let t = tx.clone();
        let term = term.clone();
        std::thread::Builder::new()
            .name("ipsecd-ike-500".into())
            .spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !term.load(Ordering::Relaxed) {
                    match s.recv_from(&mut buf) {
                        Ok((n, from)) => {
                            let m = IkeMsg::Datagram {
                                local: addr,
                                remote: from,
                                message: buf[..n].to_vec(),
                            };
                            if !t.push(m) {
                                break;
                            }
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(e) => {
                            warn!(%addr, error = %e, "IKE socket");
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            })?;
    }
    info!(addresses = ?locals, "IKE started (UDP 500 and 4500)");
    Ok(Some(ike))
}

fn specs(c: &Config) -> Vec<ChildSaSpec> {
    c.connections
        .iter()
        .flat_map(|conn| {
            conn.children
                .iter()
                .map(move |ch| ChildSaSpec::from_manual(conn, ch))
        })
        .collect()
}

impl Daemon {
    fn status(&self) -> DaemonStatus {
        let c = self.config.lock().map(|c| c.clone());
        let (name, file, dev, conns) = match &c {
            Ok(c) => (
                c.daemon.name.clone(),
                c.file.display().to_string(),
                c.daemon.offload_device,
                c.connections.len(),
            ),
            Err(_) => (String::new(), String::new(), OffloadDevice::None, 0),
        };
        let sas = self.dp.sa_status();
        DaemonStatus {
            name,
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_s: self.started.elapsed().as_secs(),
            config: file,
            tun: self.dp.tun_name().into(),
            tun_mtu: self.dp.tun_mtu(),
            offload_device: format!("{dev:?}").to_lowercase(),
            connections: conns,
            sa_pairs: sas.len() / 2,
            workers: self.dp.workers(),
            counters: self.dp.global().snapshot(),
            offload: self
                .dp
                .offload_counters()
                .and_then(|c| serde_json::to_value(c).ok())
                .unwrap_or_default(),
            card_dma: self.dp.card_dma(),
            card_queues: self.dp.card_queues(),
            sas,
            ike: self.ike.as_ref().map(|i| i.view()).unwrap_or_default(),
        }
    }

    fn reload(&self) -> Result<serde_json::Value> {
        let new = Config::load(&self.config_path)?;
        let want: BTreeMap<u32, ChildSaSpec> = specs(&new)
            .into_iter()
            .map(|s| (s.inbound.spi, s))
            .collect();
        // IKE's CHILD_SAs are the IKE thread's: a reload never touches them here.
        let have: Vec<_> = self
            .dp
            .installed_specs()
            .into_iter()
            .filter(|s| s.origin == Origin::Manual)
            .collect();
        // A kept pair (same spec, keys included) stays installed: its counter
        // continues exactly. A changed pair is removed and installed anew; with the
        // same outbound SPI and key it resumes at its durable reserved end (past
        // every number the old one may use), with another key it is a new SA.
        let (mut kept, mut removed, mut added) = (0, 0, 0);
        for old in &have {
            match want.get(&old.inbound.spi) {
                Some(n) if n == old.as_ref() => kept += 1,
                _ => {
                    self.dp.remove(old.inbound.spi)?;
                    removed += 1;
                }
            }
        }
        let installed: Vec<u32> = self
            .dp
            .installed_specs()
            .iter()
            .map(|s| s.inbound.spi)
            .collect();
        for (spi, spec) in want {
            if installed.contains(&spi) {
                continue;
            }
            self.seq.install(&self.dp, spec)?;
            added += 1;
        }
        let mut ike_conns = 0;
        if let Some(ike) = &self.ike {
            ike_conns = ike
                .reload(new.connections.clone())
                .map_err(|e| anyhow::anyhow!("IKE: {e}"))?;
        } else if new.connections.iter().any(|c| c.ike.is_some()) {
            warn!("IKE connections added by a reload start with the next restart of ipsecd");
        }
        if let Ok(mut c) = self.config.lock() {
            *c = new;
        }
        info!(kept, removed, added, ike_conns, "configuration reloaded");
        Ok(
            serde_json::json!({ "kept": kept, "removed": removed, "added": added, "ike_connections": ike_conns }),
        )
    }

    fn handle(&self, req: Request) -> Response {
        match req {
            Request::Status => {
                Response::ok(serde_json::to_value(self.status()).unwrap_or_default())
            }
            Request::ListSas => Response::ok(serde_json::json!({
                "ike_sas": self.ike.as_ref().map(|i| i.view().sas).unwrap_or_default(),
                "sas": self.dp.sa_status(),
            })),
            Request::Initiate { conn } => match &self.ike {
                Some(ike) => match ike.initiate(&conn) {
                    Ok(id) => Response::ok(serde_json::json!({ "ike_sa": id })),
                    Err(e) => Response::err(e),
                },
                None => Response::err("no IKE connections configured"),
            },
            Request::Terminate { target } => match &self.ike {
                Some(ike) => match ike.terminate(&target) {
                    Ok(ids) => Response::ok(serde_json::json!({ "terminated": ids })),
                    Err(e) => Response::err(e),
                },
                None => Response::err("no IKE connections configured"),
            },
            Request::Stats => {
                let s = self.status();
                Response::ok(serde_json::json!({ "counters": s.counters, "sas": s.sas }))
            }
            Request::Reload => match self.reload() {
                Ok(v) => Response::ok(v),
                Err(e) => Response::err(format!("{e:#}")),
            },
        }
    }
}

fn control_loop(d: Arc<Daemon>, listener: std::os::unix::net::UnixListener) {
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        let d = d.clone();
        // One short-lived thread per client, so a slow client cannot stall others.
        let _ = std::thread::Builder::new()
            .name("ipsecd-ctl".into())
            .spawn(move || {
                let resp = match control::read_request(&stream) {
                    Ok(req) => d.handle(req),
                    Err(e) => {
                        inc(&d.dp.global().control_refused);
                        warn!(reason = %e, "control request refused");
                        Response::err(e.to_string())
                    }
                };
                let _ = control::write_response(&stream, &resp);
            });
    }
}

fn metrics_loop(d: Arc<Daemon>, l: TcpListener) {
    for conn in l.incoming() {
        let Ok(mut s) = conn else { continue };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let body = metrics::render(&d.status());
        let _ = write!(
            s,
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{}",
            body.len(),
            body
        );
    }
}

fn main() {
    let args = Args::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if args.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    // a panic in any thread ends the daemon (logged, then abort) so that a
    // supervisor restarts it rather than a half-dead process staying up
    host_ipsec::panic::abort_on_panic();
    if let Err(e) = run(&args.config, args.reset_sequence_state) {
        error!("{e:#}");
        eprintln!("ipsecd: {e:#}");
        std::process::exit(1);
    }
}

fn run(path: &Path, reset_sequence_state: bool) -> Result<()> {
    let config = Config::load(path)?;
    let all = specs(&config);
    // Sequence state before anything starts: a file that cannot be used refuses
    // the manual SAs (they would reuse sequence numbers under their keys).
    let state_file = state::path(&config.daemon.state_dir, &config.daemon.name);
    let seq_state = if reset_sequence_state {
        warn!(file = %state_file.display(), "--reset-sequence-state: manual SAs start at sequence number 1; this is safe with new keys only");
        Ok(SeqState::empty(&state_file))
    } else {
        SeqState::load(&state_file).map_err(|e| e.to_string())
    };
    if let Err(e) = &seq_state {
        if !all.is_empty() {
            let names: Vec<String> = all
                .iter()
                .map(|s| {
                    format!(
                        "{}/{} (out_spi {:#010x})",
                        s.connection, s.child, s.outbound.spi
                    )
                })
                .collect();
            anyhow::bail!(
                "{e}; refusing to start the manual SAs {}: their sequence numbers could be reused. \
                 Configure new keys and start ipsecd once with --reset-sequence-state \
                 (meant for new keys only), or restore the file",
                names.join(", ")
            );
        }
        warn!(error = %e, "sequence state unusable: manual SAs added by a reload will be refused");
    }
    let tun_mtu = config.daemon.tun_mtu.unwrap_or_else(|| {
        all.iter()
            .map(|s| s.inner_mtu())
            .max()
            .unwrap_or(defaults::TUN_MTU)
    });
    let term = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, term.clone())
        .context("SIGTERM handler")?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, term.clone())
        .context("SIGINT handler")?;
    let listener = control::bind(&config.daemon.control_socket)?;
    let dp = Dataplane::start_with(&DataplaneOptions::from_daemon(&config.daemon, tun_mtu))?;
    let seq = Seq {
        state: Mutex::new(seq_state),
        waker: Arc::new(state::Waker::default()),
    };
    // the main thread below is the saver
    seq.waker.register_current();
    for spec in all {
        seq.install(&dp, spec)?;
    }
    let ike = start_ike(&config, &dp, &term)?;
    let metrics_addr = config.daemon.metrics;
    let cfg_recover = config.daemon.card_recover_interval;
    let socket_path = config.daemon.control_socket.clone();
    let d = Arc::new(Daemon {
        config_path: path.to_path_buf(),
        config: Mutex::new(config),
        dp: dp.clone(),
        started: Instant::now(),
        seq,
        ike,
    });
    if let Some(a) = metrics_addr {
        let l = TcpListener::bind(a).with_context(|| format!("metrics endpoint {a}"))?;
        let d2 = d.clone();
        std::thread::Builder::new()
            .name("ipsecd-metrics".into())
            .spawn(move || metrics_loop(d2, l))?;
        info!(%a, "metrics endpoint");
    }
    let d2 = d.clone();
    std::thread::Builder::new()
        .name("ipsecd-control".into())
        .spawn(move || control_loop(d2, listener))?;
    info!(socket = %socket_path.display(), "ready");
    let mut last_recover = Instant::now();
    while !term.load(Ordering::Relaxed) {
        // woken early by a gate past half its range
        std::thread::park_timeout(Duration::from_millis(100));
        d.seq.tick(&dp);
        if cfg_recover.is_some_and(|t| last_recover.elapsed() >= t) {
            last_recover = Instant::now();
            match dp.recover_card() {
                Some(Ok(n)) => info!(sas = n, "card answers again: SAs moved back to it"),
                Some(Err(e)) => debug!(error = %e, "card still fenced off"),
                None => {}
            }
        }
    }
    info!("stopping");
    if let Some(ike) = &d.ike {
        ike.stop();
    }
    dp.shutdown();
    d.seq.tick(&dp);
    for s in dp.installed_specs() {
        let _ = dp.remove(s.inbound.spi);
    }
    let _ = std::fs::remove_file(&socket_path);
    Ok(())
}
