//! `ipsecctl`: control and inspect `ipsecd`; validate configurations.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};

use host_ipsec::card;
use host_ipsec::config::{Config, OffloadDevice};
use host_ipsec::control::{self, Request};
use host_ipsec::ike::{IkeSaStatus, IkeView};
use host_ipsec::stats::{DaemonStatus, SaStatus};
use host_ipsec::{defaults, lab};

/// Control and inspect ipsecd.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Control socket path.
    #[arg(short, long, global = true)]
    socket: Option<PathBuf>,
    /// Instance name (socket /run/ipsecd/NAME.sock) when --socket is not given.
    #[arg(short, long, global = true, default_value = defaults::INSTANCE_NAME)]
    name: String,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Validate a configuration file without starting anything.
    CheckConfig {
        /// The file.
        config: PathBuf,
    },
    /// A request to the running daemon (over its control socket).
    #[command(flatten)]
    Daemon(Request),
    /// Lab tool: run the packets of a pcap through one SA.
    Esp {
        #[command(subcommand)]
        op: EspOp,
    },
    /// Lab tool: the card itself.
    Card {
        #[command(subcommand)]
        op: CardOp,
    },
}

#[derive(Subcommand, Debug)]
enum CardOp {
    /// Probe a card and print identity, capabilities, SA table occupancy and counters.
    Probe {
        /// `model`, `sim` (the Verilator model; ipsecctl built with `--features sim`)
        /// or `vfio:<PCI address or sysfs path>`.
        #[arg(long, default_value = "sim")]
        backend: driver::lab::BackendSpec,
    },
}

#[derive(Subcommand, Debug)]
enum EspOp {
    /// Encapsulate the IP packets of IN into ESP.
    Encap(EspArgs),
    /// Decapsulate the ESP packets of IN.
    Decap(EspArgs),
}

#[derive(clap::Args, Debug)]
struct EspArgs {
    /// SA file (TOML: spi, esp_proposals, key, mode, local, remote, encap, esn).
    #[arg(long)]
    sa: PathBuf,
    /// software | sim | model (the driver's model of the card).
    #[arg(long, default_value = "software")]
    backend: String,
    /// First sequence number (encap).
    #[arg(long, default_value_t = 1)]
    seq: u64,
    /// Decap: the SA is taken up in the middle of its life and N is the next number
    /// expected (decimal or 0x-hex, 64-bit): the replay window starts there, so ESN
    /// packets from late in an SA's life decapsulate.
    #[arg(long, value_parser = parse_u64)]
    esn_start: Option<u64>,
    /// Explicit IV in hex for every packet (encap; for vectors and card checks).
    #[arg(long)]
    iv: Option<String>,
    /// Input pcap (Ethernet or raw IP).
    #[arg(long = "in")]
    input: PathBuf,
    /// Output pcap.
    #[arg(long = "out")]
    output: PathBuf,
    /// Run both backends and report the first differing byte.
    #[arg(long)]
    compare: bool,
}

/// A 64-bit number, decimal or `0x` hex.
fn parse_u64(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => t.parse(),
    }
    .map_err(|_| format!("'{s}' is not a 64-bit number (decimal or 0x-hex)"))
}

/// `println!` that ignores a closed stdout (`ipsecctl status | head`).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("ipsecctl: {e:#}");
        std::process::exit(1);
    }
}

fn socket(args: &Args) -> PathBuf {
    args.socket
        .clone()
        .unwrap_or_else(|| defaults::control_socket(&args.name).into())
}

fn ask(path: &Path, req: Request) -> Result<serde_json::Value> {
    let r = control::call(path, &req)?;
    if !r.ok {
        bail!("ipsecd refused: {}", r.error.unwrap_or_default());
    }
    Ok(r.result.unwrap_or_default())
}

fn run(args: Args) -> Result<()> {
    let sock = socket(&args);
    match &args.cmd {
        Cmd::CheckConfig { config } => {
            let c = Config::load(config)?;
            let children: usize = c
                .connections
                .iter()
                .map(|c| c.children.len() + c.ike.as_ref().map_or(0, |i| i.children.len()))
                .sum();
            if args.json {
                outln!(
                    "{}",
                    serde_json::json!({"ok": true, "connections": c.connections.len(), "children": children})
                );
            } else {
                outln!(
                    "{}: OK ({} connections, {} children)",
                    config.display(),
                    c.connections.len(),
                    children
                );
            }
        }
        Cmd::Daemon(req) => show(req, ask(&sock, req.clone())?, args.json)?,
        Cmd::Esp { op } => esp_lab(op, args.json)?,
        Cmd::Card {
            op: CardOp::Probe { backend },
        } => card_probe(backend, args.json)?,
    }
    Ok(())
}

/// Prints the daemon's answer `v` to `req`: JSON as it came, or a table.
fn show(req: &Request, v: serde_json::Value, json: bool) -> Result<()> {
    if json {
        match req {
            Request::Status | Request::ListSas | Request::Stats => {
                outln!("{}", serde_json::to_string_pretty(&v)?)
            }
            Request::Reload | Request::Initiate { .. } | Request::Terminate { .. } => {
                outln!("{v}")
            }
        }
        return Ok(());
    }
    match req {
        Request::Status => {
            let s: DaemonStatus = serde_json::from_value(v)?;
            outln!(
                "ipsecd {} (v{}), up {}s, config {}\nTUN {} mtu {}, offload device {}, {} connections, {} SA pairs, {} workers",
                s.name, s.version, s.uptime_s, s.config, s.tun, s.tun_mtu, s.offload_device, s.connections, s.sa_pairs, s.workers
            );
            let g = &s.counters;
            outln!(
                "drops: no-policy {} unknown-spi {} malformed {} ike-unhandled {} io-errors {}; keepalives {}; control refused {}",
                g.no_policy, g.unknown_spi, g.malformed, g.ike_unhandled, g.io_errors, g.keepalives, g.control_refused
            );
            if let Some(d) = &s.card_dma {
                outln!(
                    "card DMA ({} queue pairs): {} packets in {} batches, {} doorbells, {} interrupts, {} ring-full waits, {} queue set-ups, {} timeouts",
                    s.card_queues, d.packets, d.batches, d.doorbells, d.interrupts, d.ring_full_waits, d.setups, d.timeouts
                );
            }
            print_ike(&s.ike);
            print_sas(&s.sas);
        }
        Request::ListSas => {
            let ike: Vec<IkeSaStatus> = serde_json::from_value(v["ike_sas"].clone())?;
            if !ike.is_empty() {
                print_ike_sas(&ike);
                outln!();
            }
            print_sas(&serde_json::from_value::<Vec<SaStatus>>(v["sas"].clone())?);
        }
        Request::Stats => {
            if let Some(m) = v["counters"].as_object() {
                for (k, x) in m {
                    outln!("{k:<16} {x}");
                }
            }
            if let Ok(sas) = serde_json::from_value::<Vec<SaStatus>>(v["sas"].clone()) {
                print_sas(&sas);
            }
        }
        Request::Initiate { conn } => outln!("initiating {conn}: IKE SA {}", v["ike_sa"]),
        Request::Terminate { .. } => outln!("terminating IKE SAs {}", v["terminated"]),
        Request::Reload => outln!(
            "reloaded: kept {} removed {} added {}",
            v["kept"],
            v["removed"],
            v["added"]
        ),
    }
    Ok(())
}

fn secs(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x}s"))
}

/// One column of a table: heading and width; `right` aligns it to the right.
struct Column {
    heading: &'static str,
    width: usize,
    right: bool,
}

const fn left(heading: &'static str, width: usize) -> Column {
    Column {
        heading,
        width,
        right: false,
    }
}

const fn right(heading: &'static str, width: usize) -> Column {
    Column {
        heading,
        width,
        right: true,
    }
}

/// One line of a table: each cell padded to its column, one space between.
fn table_line(columns: &[Column], cells: &[&dyn std::fmt::Display]) -> String {
    columns
        .iter()
        .zip(cells)
        .map(|(c, v)| {
            if c.right {
                format!("{v:>w$}", w = c.width)
            } else {
                format!("{v:<w$}", w = c.width)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints the heading line of a table.
fn print_headings(columns: &[Column]) {
    let headings: Vec<&dyn std::fmt::Display> = columns
        .iter()
        .map(|c| &c.heading as &dyn std::fmt::Display)
        .collect();
    outln!("{}", table_line(columns, &headings));
}

const IKE_SA_COLUMNS: [Column; 11] = [
    left("ID", 4),
    left("CONN", 12),
    left("STATE", 14),
    left("ROLE", 9),
    left("AUTH", 6),
    left("PEER", 27),
    left("SPI_I/SPI_R", 33),
    left("SUITE", 44),
    right("UP", 7),
    right("REKEY", 7),
    right("EXPIRES", 7),
];

fn print_ike_sas(sas: &[IkeSaStatus]) {
    print_headings(&IKE_SA_COLUMNS);
    for s in sas {
        let auth = if s.auth.is_empty() { "-" } else { &s.auth };
        let peer = format!("{}{}", s.remote, if s.natt { " NAT-T" } else { "" });
        let spis = format!("{}/{}", s.spi_i, s.spi_r);
        let (up, rekey, expires) = (
            secs(s.established_s),
            secs(s.rekey_in_s),
            secs(s.expires_in_s),
        );
        outln!(
            "{}",
            table_line(
                &IKE_SA_COLUMNS,
                &[
                    &s.id,
                    &s.connection,
                    &s.state,
                    &s.role,
                    &auth,
                    &peer,
                    &spis,
                    &s.suite,
                    &up,
                    &rekey,
                    &expires,
                ],
            )
        );
        for c in &s.children {
            outln!(
                "     child {} #{} {} {} in {} out {} {} === {} rekey {} expires {}{}",
                c.name,
                c.id,
                c.mode,
                c.transform,
                c.in_spi,
                c.out_spi,
                c.local_ts.join(","),
                c.remote_ts.join(","),
                secs(c.rekey_in_s),
                secs(c.expires_in_s),
                if c.rekeyed { " (rekeyed)" } else { "" }
            );
        }
    }
}

fn print_ike(v: &IkeView) {
    if v.sas.is_empty() && v.events.is_empty() {
        return;
    }
    let c = &v.counters;
    let dropped: u64 = c.dropped.values().sum();
    outln!(
        "IKE: {} IKE SAs; CHILD_SAs installed {} removed {} refused {} moved by NAT {} (failed {}) rekeyed at a soft lifetime {}; auth failures {}; retransmits {}; dropped {} (+{} over the queue)",
        v.sas.len(), c.child_installs, c.child_removals, c.install_failures, c.encap_updates, c.encap_update_failures, c.soft_lifetime_rekeys, c.auth_failures, c.retransmits, dropped, c.queue_drops
    );
    outln!(
        "IKE under load: {} half-open; cookies demanded {} (secret changed {} times); CHILD_SAs refused (NO_ADDITIONAL_SAS) {}; log lines suppressed {}",
        c.half_open, c.cookies_sent, c.cookie_secret_rotations, c.child_sa_limit_refusals, c.log_lines_suppressed
    );
    if !v.sas.is_empty() {
        print_ike_sas(&v.sas);
    }
    let last: Vec<_> = v.events.iter().rev().take(10).collect();
    if !last.is_empty() {
        outln!("latest IKE events:");
        for e in last.into_iter().rev() {
            outln!("  [{}] {}", e.kind, e.text);
        }
    }
    outln!();
}

const SA_COLUMNS: [Column; 18] = [
    left("CONN/CHILD", 14),
    left("DIR", 3),
    left("SPI", 10),
    left("MODE", 9),
    left("TRANSFORM", 13),
    left("ENC", 4),
    left("PATH", 8),
    left("LOCAL_TS", 22),
    left("REMOTE_TS", 22),
    right("PACKETS", 9),
    right("BYTES", 11),
    right("AUTH", 5),
    right("REPLAY", 6),
    right("SEL", 5),
    right("ERR", 5),
    right("FALLB", 5),
    left("LIFE", 4),
    right("LIFE_LEFT", 10),
];

fn print_sas(sas: &[SaStatus]) {
    print_headings(&SA_COLUMNS);
    for s in sas {
        let life = match (s.life_packets_left, s.life_bytes_left, s.seq_left) {
            (Some(p), _, _) => format!("{p}p"),
            (None, Some(b), _) => format!("{b}B"),
            (None, None, Some(q)) => format!("seq {q}"),
            _ => "-".into(),
        };
        // soft: being rekeyed (or, with manual keys, new keys needed); hard: stopped
        let state = match (s.hard_reached, s.soft_reached) {
            (true, _) => "hard",
            (false, true) => "soft",
            _ => "ok",
        };
        let name = format!("{}/{}", s.connection, s.child);
        let (local_ts, remote_ts) = (s.local_ts.join(","), s.remote_ts.join(","));
        outln!(
            "{}",
            table_line(
                &SA_COLUMNS,
                &[
                    &name,
                    &s.direction,
                    &s.spi,
                    &s.mode,
                    &s.transform,
                    &s.encap,
                    &s.path,
                    &local_ts,
                    &remote_ts,
                    &s.packets,
                    &s.bytes,
                    &s.auth_failures,
                    &s.replay_drops,
                    &s.selector_drops,
                    &s.errors,
                    &s.fallbacks,
                    &state,
                    &life,
                ],
            )
        );
    }
}

fn run_backend(backend: &str, encap: bool, a: &EspArgs) -> Result<(lab::Pcap, lab::LabReport)> {
    if encap && a.esn_start.is_some() {
        bail!("--esn-start is for decap (encap starts at --seq)");
    }
    let cfg = lab::load_sa(&a.sa)?;
    let input = lab::read_pcap(&a.input)?;
    let iv =
        a.iv.as_deref()
            .map(hex::decode)
            .transpose()
            .map_err(|_| anyhow::anyhow!("--iv is not hex"))?;
    let device = match backend {
        "software" if encap => return Ok(lab::encap(&cfg, &input, a.seq, iv.as_deref())?),
        "software" => return Ok(lab::decap(&cfg, &input, a.esn_start)?),
        "sim" => OffloadDevice::Sim,
        "model" => OffloadDevice::Model,
        other => bail!("unknown backend {other} (software | sim | model)"),
    };
    if iv.is_some() {
        bail!("backend {backend}: the card derives the IV from the sequence number (no --iv)");
    }
    if !encap && a.seq != 1 {
        bail!("--seq is for encap");
    }
    let engine = card::open(device)?.ok_or_else(|| anyhow::anyhow!("no engine"))?;
    if encap {
        Ok(lab::encap_engine(&cfg, &input, &engine, a.seq)?)
    } else {
        Ok(lab::decap_engine(&cfg, &input, &engine, a.esn_start)?)
    }
}

fn esp_lab(op: &EspOp, json: bool) -> Result<()> {
    let (a, encap) = match op {
        EspOp::Encap(a) => (a, true),
        EspOp::Decap(a) => (a, false),
    };
    let (out, rep) = run_backend(&a.backend, encap, a)?;
    if a.compare {
        let other = if a.backend == "software" {
            "sim"
        } else {
            "software"
        };
        let (o2, _) = run_backend(other, encap, a)?;
        match lab::first_difference(&out, &o2) {
            None => outln!(
                "{} and {other}: identical ({} packets)",
                a.backend,
                out.records.len()
            ),
            Some((rec, off)) => {
                outln!("{} and {other} differ: packet {rec}, byte {off}", a.backend);
                std::process::exit(2);
            }
        }
    }
    lab::write_pcap(&a.output, &out)?;
    if json {
        let failed: Vec<_> = rep
            .failed
            .iter()
            .map(|(i, e)| serde_json::json!({"packet": i, "error": e}))
            .collect();
        outln!(
            "{}",
            serde_json::json!({"written": rep.ok, "failed": failed})
        );
    } else {
        outln!("{} packets written to {}", rep.ok, a.output.display());
        for (i, e) in &rep.failed {
            outln!("packet {i}: {e}");
        }
    }
    Ok(())
}

/// Probes one card backend through the driver's `Card` code and prints its report.
fn card_probe(backend: &driver::lab::BackendSpec, json: bool) -> Result<()> {
    use driver::lab::{BackendSpec, ProbeReport};
    use driver::{Card, CardConfig};
    let report = match backend {
        BackendSpec::Model => {
            let mut card = Card::probe(driver::model::ModelCard::new(), CardConfig::default())?;
            ProbeReport::collect(&mut card, "model")?
        }
        #[cfg(feature = "sim")]
        BackendSpec::Sim => {
            let mut card = Card::probe(sim::SimCard::new()?, CardConfig::default())?;
            ProbeReport::collect(&mut card, "sim")?
        }
        #[cfg(not(feature = "sim"))]
        BackendSpec::Sim => bail!("the simulated card needs ipsecctl built with `--features sim`"),
        BackendSpec::Vfio(dev) => {
            let regs = driver::vfio::VfioCard::open(dev)?;
            let mut card = Card::probe(regs, CardConfig::default())?;
            ProbeReport::collect(&mut card, &format!("vfio:{dev}"))?
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!("{}", report.to_table().trim_end());
    }
    Ok(())
}
