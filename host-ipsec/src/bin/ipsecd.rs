//! `ipsecd`: the IPsec gateway daemon (TUN data path, manual SAs, control socket).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use tracing::{error, info, warn};

use host_ipsec::config::{Config, OffloadDevice};
use host_ipsec::control::{self, Request, Response};
use host_ipsec::dataplane::{Dataplane, DataplaneOptions};
use host_ipsec::sa::{ChildSaSpec, SaInstaller};
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
}

struct Daemon {
    config_path: PathBuf,
    config: Mutex<Config>,
    dp: Arc<Dataplane>,
    started: Instant,
    state_file: PathBuf,
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
            sas,
        }
    }

    fn reload(&self) -> Result<serde_json::Value> {
        let new = Config::load(&self.config_path)?;
        let want: BTreeMap<u32, ChildSaSpec> = specs(&new)
            .into_iter()
            .map(|s| (s.inbound.spi, s))
            .collect();
        let have = self.dp.installed_specs();
        let seqs: BTreeMap<u32, u64> = self.dp.next_seqs().into_iter().collect();
        let (mut kept, mut removed, mut added) = (0, 0, 0);
        let mut carry: BTreeMap<u32, u64> = BTreeMap::new();
        for old in &have {
            match want.get(&old.inbound.spi) {
                Some(n) if n == old.as_ref() => kept += 1,
                _ => {
                    if let Some(n) = want.values().find(|n| n.outbound == old.outbound) {
                        // same outbound SPI and key: never go back on the counter
                        carry.insert(
                            n.outbound.spi,
                            seqs.get(&old.outbound.spi).copied().unwrap_or(1),
                        );
                    }
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
            let first = carry.get(&spec.outbound.spi).copied().unwrap_or(1).max(1);
            self.dp.install(spec, first)?;
            added += 1;
        }
        if let Ok(mut c) = self.config.lock() {
            *c = new;
        }
        info!(kept, removed, added, "configuration reloaded");
        Ok(serde_json::json!({ "kept": kept, "removed": removed, "added": added }))
    }

    fn handle(&self, req: Request) -> Response {
        match req {
            Request::Status => {
                Response::ok(serde_json::to_value(self.status()).unwrap_or_default())
            }
            Request::ListSas => {
                Response::ok(serde_json::to_value(self.dp.sa_status()).unwrap_or_default())
            }
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
    if let Err(e) = run(&args.config) {
        error!("{e:#}");
        eprintln!("ipsecd: {e:#}");
        std::process::exit(1);
    }
}

fn run(path: &Path) -> Result<()> {
    let config = Config::load(path)?;
    let all = specs(&config);
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
    let state_file = state::path(&config.daemon.state_dir, &config.daemon.name);
    let saved = state::load(&state_file);
    for spec in all {
        let first = state::first_seq(&saved, spec.outbound.spi);
        dp.install(spec, first).context("installing SA")?;
    }
    let metrics_addr = config.daemon.metrics;
    let socket_path = config.daemon.control_socket.clone();
    let d = Arc::new(Daemon {
        config_path: path.to_path_buf(),
        config: Mutex::new(config),
        dp: dp.clone(),
        started: Instant::now(),
        state_file,
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
    let mut last_save = Instant::now();
    while !term.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if last_save.elapsed() >= Duration::from_secs(1) {
            if let Err(e) = state::save(&d.state_file, &dp.next_seqs()) {
                warn!(error = %e, file = %d.state_file.display(), "cannot save sequence numbers");
            }
            last_save = Instant::now();
        }
    }
    info!("stopping");
    dp.shutdown();
    if let Err(e) = state::save(&d.state_file, &dp.next_seqs()) {
        warn!(error = %e, "cannot save sequence numbers");
    }
    for s in dp.installed_specs() {
        let _ = dp.remove(s.inbound.spi);
    }
    let _ = std::fs::remove_file(&socket_path);
    Ok(())
}
