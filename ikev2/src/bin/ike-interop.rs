//! Run the IKEv2 engine over real UDP sockets (ports 500 and 4500 on one local
//! address) for interoperability tests. Prints one JSON line per installed or
//! deleted CHILD_SA on stdout and log lines on stderr; exits when `--until` is met.
//!
//! Key material is printed only with `--print-keys` (test use: the keys are compared
//! with what the peer logs).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use ikev2::config::ts_from_cidr;
use ikev2::{
    Action, ChildConfig, ChildSaInstall, Connection, Engine, EngineConfig, EspProposal, Event,
    Identity, IkeProposal, SecretBytes,
};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Role {
    Initiator,
    Responder,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Until {
    /// First CHILD_SA installed (then `--linger`).
    Child,
    /// The IKE SA is closed (by the peer or by failure).
    Closed,
    /// Run for `--linger` seconds whatever happens.
    Time,
}

#[derive(Debug, Parser)]
#[command(about = "IKEv2 engine over UDP for interoperability tests")]
struct Args {
    #[arg(long, value_enum)]
    role: Role,
    #[arg(long)]
    local: IpAddr,
    #[arg(long)]
    remote: Option<IpAddr>,
    #[arg(long, default_value = "aes256gcm16-prfsha256-x25519")]
    ike: Vec<String>,
    #[arg(long, default_value = "aes128gcm16")]
    esp: Vec<String>,
    /// Pre-shared key (test use only).
    #[arg(long)]
    psk: String,
    #[arg(long)]
    local_id: String,
    #[arg(long, default_value = "%any")]
    remote_id: String,
    #[arg(long)]
    local_ts: String,
    #[arg(long)]
    remote_ts: String,
    #[arg(long)]
    force_encap: bool,
    /// Rekey CHILD_SAs automatically after this many seconds (with jitter).
    #[arg(long)]
    child_rekey_time: Option<u64>,
    /// Rekey the IKE SA automatically after this many seconds (with jitter).
    #[arg(long)]
    ike_rekey_time: Option<u64>,
    /// A second child "net2": LOCAL_TS,REMOTE_TS (created with CREATE_CHILD_SA).
    #[arg(long)]
    second_child: Option<String>,
    /// Rekey the first CHILD_SA this many seconds after it is installed.
    #[arg(long)]
    rekey_child_after: Option<u64>,
    /// Rekey the IKE SA this many seconds after it is established.
    #[arg(long)]
    rekey_ike_after: Option<u64>,
    #[arg(long, value_enum, default_value = "child")]
    until: Until,
    /// Seconds to keep running after the `--until` condition.
    #[arg(long, default_value_t = 0)]
    linger: u64,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    #[arg(long)]
    print_keys: bool,
    /// Liveness check after this many seconds of silence.
    #[arg(long)]
    dpd: Option<u64>,
    /// First retransmission timeout in milliseconds.
    #[arg(long, default_value_t = 2000)]
    retransmit_timeout_ms: u64,
    /// Retransmissions before the peer is declared dead.
    #[arg(long, default_value_t = 5)]
    retransmit_tries: u32,
    /// Demand cookies once this many half-open IKE SAs exist (0: always).
    #[arg(long, default_value_t = 32)]
    cookie_threshold: usize,
    /// Authenticate with this certificate (PEM; ECDSA P-256) instead of the PSK.
    #[arg(long, requires_all = ["key", "ca"])]
    cert: Option<PathBuf>,
    /// Private key of `--cert` (PEM, PKCS#8 or SEC1).
    #[arg(long)]
    key: Option<PathBuf>,
    /// CA certificate (PEM) the peer's certificate must be issued by.
    #[arg(long)]
    ca: Option<PathBuf>,
    #[arg(long, default_value_t = 500)]
    ike_port: u16,
    #[arg(long, default_value_t = 4500)]
    natt_port: u16,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn install_json(i: &ChildSaInstall, keys: bool) -> String {
    let k = |s: &SecretBytes| {
        if keys {
            hex(s.expose())
        } else {
            "redacted".into()
        }
    };
    format!(
        "{{\"event\":\"install\",\"child\":{},\"spi_in\":\"{:08x}\",\"spi_out\":\"{:08x}\",\"transform\":\"{:?}\",\"encap\":{},\"enc_in\":\"{}\",\"salt_in\":\"{}\",\"integ_in\":\"{}\",\"enc_out\":\"{}\",\"salt_out\":\"{}\",\"integ_out\":\"{}\"}}",
        i.child.0,
        i.inbound.spi,
        i.outbound.spi,
        i.transform,
        i.encap.is_some(),
        k(&i.inbound.keys.enc_key),
        k(&i.inbound.keys.salt),
        k(&i.inbound.keys.integ_key),
        k(&i.outbound.keys.enc_key),
        k(&i.outbound.keys.salt),
        k(&i.outbound.keys.integ_key),
    )
}

fn main() -> Result<()> {
    let a = Args::parse();
    if a.role == Role::Initiator && a.remote.is_none() {
        bail!("--remote is required for the initiator");
    }
    let mut child = ChildConfig::tunnel(
        "net",
        ts_from_cidr(&a.local_ts)?,
        ts_from_cidr(&a.remote_ts)?,
        a.esp
            .iter()
            .map(|p| EspProposal::parse(p))
            .collect::<Result<_, _>>()?,
    );
    child.rekey_time = a.child_rekey_time.map(Duration::from_secs);
    let mut conn = Connection {
        ike_proposals: a
            .ike
            .iter()
            .map(|p| IkeProposal::parse(p))
            .collect::<Result<_, _>>()?,
        children: vec![child],
        rekey_time: a.ike_rekey_time.map(Duration::from_secs),
        dpd_delay: a.dpd.map(Duration::from_secs),
        force_encap: a.force_encap,
        ..Connection::new(
            "interop",
            a.local,
            a.remote,
            Identity::parse(&a.local_id)?,
            Identity::parse(&a.remote_id)?,
            SecretBytes::new(a.psk.as_bytes().to_vec()),
        )
    };
    if let Some(sc) = &a.second_child {
        let (l, r) = sc
            .split_once(',')
            .context("--second-child wants LOCAL_TS,REMOTE_TS")?;
        let mut c = conn.children[0].clone();
        c.name = "net2".into();
        c.local_ts = vec![ts_from_cidr(l)?];
        c.remote_ts = vec![ts_from_cidr(r)?];
        conn.children.push(c);
    }
    let cfg = EngineConfig {
        ike_port: a.ike_port,
        natt_port: a.natt_port,
        retransmit_timeout: Duration::from_millis(a.retransmit_timeout_ms),
        retransmit_tries: a.retransmit_tries,
        cookie_threshold: a.cookie_threshold,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(cfg, Box::new(rand::rngs::OsRng));
    engine.add_connection(conn)?;
    if let (Some(cert), Some(key), Some(ca)) = (&a.cert, &a.key, &a.ca) {
        let read = |p: &PathBuf| {
            std::fs::read_to_string(p).with_context(|| format!("read {}", p.display()))
        };
        let auth = ikev2::CertAuth::from_pem(&read(cert)?, &read(key)?, &[&read(ca)?])
            .context("certificate configuration")?;
        engine.set_cert_auth("interop", auth)?;
    }
    let s500 = UdpSocket::bind(SocketAddr::new(a.local, a.ike_port)).context("bind IKE port")?;
    let s4500 =
        UdpSocket::bind(SocketAddr::new(a.local, a.natt_port)).context("bind NAT-T port")?;
    s500.set_nonblocking(true)?;
    s4500.set_nonblocking(true)?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.timeout);
    let mut pending = Vec::new();
    if a.role == Role::Initiator {
        let (_, acts) = engine.initiate(Instant::now(), "interop")?;
        pending = acts;
    }
    let mut done_at: Option<Instant> = if a.until == Until::Time {
        Some(start)
    } else {
        None
    };
    let mut rekey_child_at: Option<(Instant, ikev2::ChildSaId)> = None;
    let mut rekey_ike_at: Option<(Instant, ikev2::IkeSaId)> = None;
    let mut failed = false;
    let mut timed_out = false;
    let mut buf = vec![0u8; 65536];
    loop {
        let now = Instant::now();
        for act in pending.drain(..) {
            match act {
                Action::Send {
                    local,
                    remote,
                    datagram,
                } => {
                    let s = if local.port() == a.natt_port {
                        &s4500
                    } else {
                        &s500
                    };
                    if let Err(e) = s.send_to(&datagram, remote) {
                        eprintln!("send to {remote}: {e}");
                    }
                }
                Action::InstallChildSa(i) => {
                    println!("{}", install_json(&i, a.print_keys));
                    if let (Some(secs), None) = (a.rekey_child_after, rekey_child_at) {
                        rekey_child_at = Some((now + Duration::from_secs(secs), i.child));
                    }
                    if a.until == Until::Child && done_at.is_none() {
                        done_at = Some(now);
                    }
                }
                Action::DeleteChildSa {
                    child,
                    inbound_spi,
                    outbound_spi,
                    ..
                } => {
                    println!(
                        "{{\"event\":\"delete\",\"child\":{},\"spi_in\":\"{inbound_spi:08x}\",\"spi_out\":\"{outbound_spi:08x}\"}}",
                        child.0
                    );
                }
                Action::SwitchOutbound { child, .. } => {
                    println!("{{\"event\":\"outbound\",\"child\":{}}}", child.0);
                }
                Action::UpdateChildSaEncap { child, encap, .. } => {
                    println!(
                        "{{\"event\":\"encap\",\"child\":{},\"remote\":\"{}\"}}",
                        child.0, encap.remote
                    );
                }
                Action::Event(e) => {
                    eprintln!("ike-interop: {e}");
                    match &e {
                        Event::IkeSaEstablished {
                            ike_sa,
                            local_spi,
                            remote_spi,
                            ..
                        } => {
                            println!(
                                "{{\"event\":\"ike_established\",\"ike\":{},\"local_spi\":\"{local_spi:016x}\",\"remote_spi\":\"{remote_spi:016x}\"}}",
                                ike_sa.0
                            );
                            if let (Some(secs), None) = (a.rekey_ike_after, rekey_ike_at) {
                                rekey_ike_at = Some((now + Duration::from_secs(secs), *ike_sa));
                            }
                        }
                        Event::AuthenticationFailed { by_peer, .. } => {
                            println!("{{\"event\":\"auth_failed\",\"by_peer\":{by_peer}}}");
                            failed = true;
                            done_at.get_or_insert(now);
                        }
                        Event::IkeSaClosed { reason, .. } => {
                            println!("{{\"event\":\"ike_closed\",\"reason\":\"{reason:?}\"}}");
                            if a.until == Until::Closed && done_at.is_none() {
                                done_at = Some(now);
                            }
                        }
                        Event::ProposalMismatch { .. } => {
                            println!("{{\"event\":\"proposal_mismatch\"}}");
                            failed = true;
                            done_at.get_or_insert(now);
                        }
                        _ => {}
                    }
                }
            }
        }
        if let Some(t) = done_at {
            if now >= t + Duration::from_secs(a.linger) {
                break;
            }
        }
        if now >= deadline {
            eprintln!("ike-interop: timeout");
            timed_out = done_at.is_none();
            break;
        }
        if let Some((t, c)) = rekey_child_at {
            if now >= t {
                pending.extend(engine.rekey_child(now, c));
                rekey_child_at = Some((deadline + Duration::from_secs(3600), c));
            }
        }
        if let Some((t, id)) = rekey_ike_at {
            if now >= t {
                pending.extend(engine.rekey_ike(now, id));
                rekey_ike_at = Some((deadline + Duration::from_secs(3600), id));
            }
        }
        let mut got = false;
        for (s, port) in [(&s500, a.ike_port), (&s4500, a.natt_port)] {
            match s.recv_from(&mut buf) {
                Ok((n, from)) => {
                    got = true;
                    let local = SocketAddr::new(a.local, port);
                    pending.extend(engine.handle_datagram(Instant::now(), local, from, &buf[..n]));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => eprintln!("recv: {e}"),
            }
        }
        if engine.next_timer().is_some_and(|t| t <= Instant::now()) {
            pending.extend(engine.handle_timer(Instant::now()));
        }
        if !got && pending.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // Final state, for the test to compare with the peer's.
    for sa in engine.list_sas() {
        let children: Vec<String> = sa
            .children
            .iter()
            .map(|c| {
                format!(
                    "{{\"spi_in\":\"{:08x}\",\"spi_out\":\"{:08x}\",\"rekeyed\":{}}}",
                    c.inbound_spi, c.outbound_spi, c.rekeyed
                )
            })
            .collect();
        println!(
            "{{\"event\":\"final\",\"state\":\"{:?}\",\"spi_i\":\"{:016x}\",\"spi_r\":\"{:016x}\",\"children\":[{}]}}",
            sa.state,
            sa.spi_i,
            sa.spi_r,
            children.join(",")
        );
    }
    if failed {
        std::process::exit(2);
    }
    if timed_out {
        std::process::exit(3);
    }
    Ok(())
}
