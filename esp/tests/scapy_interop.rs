//! Interoperability with an independent ESP implementation: scapy's
//! `scapy.layers.ipsec.SecurityAssociation` (run as a subprocess).
//!
//! For every transform scapy supports (all six), transport and tunnel mode,
//! IPv4 and IPv6 inner and outer, ESN on and off, UDP encapsulation on and
//! off: packets sealed by `esp` must decrypt in scapy to the original packet,
//! and packets sealed by scapy must decapsulate in `esp` to the original.
//!
//! The interpreter is `$IPSEC_PYTHON`, default `<workspace>/.venv/bin/python`
//! (created by `scripts/setup.sh`). A missing interpreter fails the test.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};

use esp::wire::{ipv4, ipv6, udp};
use esp::{
    proto, AhAlgorithm, AhConfig, AhInbound, AhOutbound, InboundSa, Mode, OutboundSa, SaConfig,
    SeqNum, Spi, Transform, UdpEncap,
};
use serde_json::{json, Value};

fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("IPSEC_PYTHON") {
        return p.into();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")
}

fn udp4(n: usize, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let total = 20 + 8 + n;
    let mut p = vec![0u8; total];
    ipv4::emit_header(&mut p, 0, total as u16, 64, proto::UDP, src, dst).unwrap();
    udp::emit_header(&mut p[20..], 4000, 5000, (8 + n) as u16).unwrap();
    for (i, b) in p[28..].iter_mut().enumerate() {
        *b = (i * 3) as u8;
    }
    p
}

fn udp6(n: usize, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let plen = 8 + n;
    let mut p = vec![0u8; 40 + plen];
    ipv6::emit_header(&mut p, 0, plen as u16, proto::UDP, 64, src, dst).unwrap();
    udp::emit_header(&mut p[40..], 4000, 5000, plen as u16).unwrap();
    let c = udp::checksum_v6(&src, &dst, &p[40..]);
    p[46..48].copy_from_slice(&c.to_be_bytes());
    for (i, b) in p[48..].iter_mut().enumerate() {
        *b = (i * 5) as u8;
    }
    p
}

struct Case {
    cfg: SaConfig,
    inners: Vec<Vec<u8>>,
    esn_hi: u32,
    label: String,
}

fn cases() -> Vec<Case> {
    let v4a = Ipv4Addr::new(10, 1, 0, 1);
    let v4b = Ipv4Addr::new(10, 2, 0, 1);
    let v6a: Ipv6Addr = "fd00:1::1".parse().unwrap();
    let v6b: Ipv6Addr = "fd00:2::1".parse().unwrap();
    let t4 = Mode::Tunnel {
        local: IpAddr::V4(Ipv4Addr::new(192, 168, 77, 1)),
        remote: IpAddr::V4(Ipv4Addr::new(192, 168, 77, 2)),
    };
    let t6 = Mode::Tunnel {
        local: "fd77::1".parse().unwrap(),
        remote: "fd77::2".parse().unwrap(),
    };
    let inner4 = vec![udp4(0, v4a, v4b), udp4(57, v4a, v4b), udp4(1200, v4a, v4b)];
    let inner6 = vec![udp6(1, v6a, v6b), udp6(64, v6a, v6b), udp6(999, v6a, v6b)];
    let mut out = Vec::new();
    let mut spi = 0x1000u32;
    for t in Transform::ALL {
        for (mode, inners, mname) in [
            (Mode::Transport, &inner4, "transport/v4"),
            (Mode::Transport, &inner6, "transport/v6"),
            (t4, &inner4, "tunnel v4-in-v4"),
            (t4, &inner6, "tunnel v6-in-v4"),
            (t6, &inner4, "tunnel v4-in-v6"),
            (t6, &inner6, "tunnel v6-in-v6"),
        ] {
            for esn in [false, true] {
                for encap in [false, true] {
                    spi += 1;
                    let key: Vec<u8> = (0..t.key_material_len())
                        .map(|i| (i as u32 * 13 + spi) as u8)
                        .collect();
                    let mut cfg = SaConfig::new(Spi(spi), t, &key).unwrap();
                    cfg.mode = mode;
                    cfg.esn = esn;
                    cfg.encap = encap.then(UdpEncap::default);
                    out.push(Case {
                        cfg,
                        inners: inners.clone(),
                        // With ESN, run in epoch 1 so the high half matters.
                        esn_hi: if esn { 1 } else { 0 },
                        label: format!("{t} {mname} esn={esn} udp={encap}"),
                    });
                }
            }
        }
    }
    out
}

fn require_python() -> std::path::PathBuf {
    let py = python();
    if !py.exists() {
        panic!(
            "Python interpreter {} not found: run scripts/setup.sh (as root) to create the venv with scapy, \
             or point IPSEC_PYTHON at an interpreter that has scapy and cryptography",
            py.display()
        );
    }
    py
}

fn run_peer(py: &std::path::Path, job: &[Value]) -> Vec<Value> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scapy_peer.py");
    let mut child = Command::new(py)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): run scripts/setup.sh", py.display()));
    let input = serde_json::to_vec(job).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "scapy peer failed (run scripts/setup.sh if scapy is missing): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Vec<Value> =
        serde_json::from_slice(&output.stdout).expect("scapy peer answer is JSON");
    assert_eq!(answer.len(), job.len());
    answer
}

/// AH with HMAC-SHA-256-128 (scapy has no AES-GMAC for AH): transport and
/// tunnel, IPv4 and IPv6, ESN on and off, both directions.
#[test]
fn scapy_interop_ah_hmac_sha256() {
    let py = require_python();
    let v4a = Ipv4Addr::new(10, 1, 0, 1);
    let v4b = Ipv4Addr::new(10, 2, 0, 1);
    let v6a: Ipv6Addr = "fd00:1::1".parse().unwrap();
    let v6b: Ipv6Addr = "fd00:2::1".parse().unwrap();
    let inners = [udp4(40, v4a, v4b), udp6(33, v6a, v6b)];
    let modes = [
        Mode::Transport,
        Mode::Tunnel {
            local: IpAddr::V4(Ipv4Addr::new(192, 168, 9, 1)),
            remote: IpAddr::V4(Ipv4Addr::new(192, 168, 9, 2)),
        },
        Mode::Tunnel {
            local: "fd09::1".parse().unwrap(),
            remote: "fd09::2".parse().unwrap(),
        },
    ];
    let mut job = Vec::new();
    let mut cfgs = Vec::new();
    let mut spi = 0x9000u32;
    for mode in modes {
        for esn in [false, true] {
            for inner in &inners {
                spi += 1;
                let key: Vec<u8> = (0..32u32).map(|i| (i * 11 + spi) as u8).collect();
                let mut cfg = AhConfig::new(Spi(spi), AhAlgorithm::HmacSha256_128, &key).unwrap();
                cfg.mode = mode;
                cfg.esn = esn;
                let mut o = AhOutbound::new(&cfg).unwrap();
                let mut buf = vec![0u8; o.protect_len(inner.len())];
                let s = o.protect(inner, &mut buf).unwrap();
                let tunnel = match mode {
                    Mode::Tunnel { local, remote } => {
                        json!([local.to_string(), remote.to_string()])
                    }
                    Mode::Transport => Value::Null,
                };
                job.push(json!({
                    "transform": "ah-sha256", "key": hex::encode(&key), "spi": spi, "esn": esn, "esn_hi": 0,
                    "tunnel": tunnel, "udp": Value::Null,
                    "esp_packets": [hex::encode(&buf[..s.len])],
                    "inner_packets": [hex::encode(inner)], "seqs": [7],
                }));
                cfgs.push((
                    cfg,
                    inner.clone(),
                    format!("AH {mode:?} esn={esn} v{}", inner[0] >> 4),
                ));
            }
        }
    }
    let answer = run_peer(&py, &job);
    let mut failures = Vec::new();
    for ((cfg, inner, label), a) in cfgs.iter().zip(&answer) {
        if let Some(e) = a.get("error") {
            failures.push(format!("{label}: {e}"));
            continue;
        }
        let dec = a["decrypted"][0].as_str().unwrap();
        if dec != hex::encode(inner) {
            failures.push(format!(
                "{label}: scapy verified esp's AH packet to {dec}, want {}",
                hex::encode(inner)
            ));
        }
        let enc = a["encrypted"][0].as_str().unwrap();
        let Ok(mut pkt) = hex::decode(enc) else {
            failures.push(format!("{label}: scapy could not protect: {enc}"));
            continue;
        };
        let mut i = AhInbound::new(cfg).unwrap();
        match i.verify(&mut pkt) {
            Ok(v) if pkt[v.packet.clone()] == inner[..] => {}
            Ok(v) => failures.push(format!(
                "{label}: esp delivered {}, want {}",
                hex::encode(&pkt[v.packet]),
                hex::encode(inner)
            )),
            Err(e) => failures.push(format!("{label}: esp refused scapy's AH packet: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} AH interop failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn scapy_interop_all_transforms_modes_families() {
    let py = require_python();
    let cases = cases();
    let mut job = Vec::new();
    let mut our_packets = Vec::new();
    for c in &cases {
        let mut o = OutboundSa::new(&c.cfg).unwrap();
        let first = SeqNum::from_parts(c.esn_hi, 5);
        o.set_next_seq(first).unwrap();
        let mut pk = Vec::new();
        for inner in &c.inners {
            let mut buf = vec![0u8; o.encap_len(inner.len())];
            let s = o.encap_packet(inner, &mut buf).unwrap();
            pk.push(hex::encode(&buf[..s.len]));
        }
        let tunnel = match c.cfg.mode {
            Mode::Tunnel { local, remote } => json!([local.to_string(), remote.to_string()]),
            Mode::Transport => Value::Null,
        };
        let udp = c
            .cfg
            .encap
            .map(|e| json!([e.src_port, e.dst_port]))
            .unwrap_or(Value::Null);
        job.push(json!({
            "transform": c.cfg.transform.name(),
            "key": hex::encode(c.cfg.key.as_bytes()),
            "spi": c.cfg.spi.0,
            "esn": c.cfg.esn,
            "esn_hi": c.esn_hi,
            "tunnel": tunnel,
            "udp": udp,
            "esp_packets": pk.clone(),
            "inner_packets": c.inners.iter().map(hex::encode).collect::<Vec<_>>(),
            "seqs": (0..c.inners.len()).map(|i| 100 + i as u32).collect::<Vec<_>>(),
        }));
        our_packets.push(pk);
    }
    let answer = run_peer(&py, &job);

    let mut failures = Vec::new();
    for (c, a) in cases.iter().zip(&answer) {
        if let Some(e) = a.get("error") {
            failures.push(format!("{}: {e}", c.label));
            continue;
        }
        // esp -> scapy
        for (inner, dec) in c.inners.iter().zip(a["decrypted"].as_array().unwrap()) {
            let dec = dec.as_str().unwrap();
            if dec != hex::encode(inner) {
                failures.push(format!(
                    "{}: scapy decrypted esp's packet to {dec}, want {}",
                    c.label,
                    hex::encode(inner)
                ));
            }
        }
        // scapy -> esp
        let mut i = InboundSa::new(&c.cfg).unwrap();
        if c.esn_hi > 0 {
            // Position the window in epoch 1, as a receiver that has seen traffic.
            i.accept_verified(SeqNum::from_parts(c.esn_hi, 1), 0)
                .unwrap();
        }
        for (inner, enc) in c.inners.iter().zip(a["encrypted"].as_array().unwrap()) {
            let enc = enc.as_str().unwrap();
            let Ok(mut pkt) = hex::decode(enc) else {
                failures.push(format!("{}: scapy could not encrypt: {enc}", c.label));
                continue;
            };
            match i.decap_packet(&mut pkt) {
                Ok(d) if pkt[d.packet.clone()] == inner[..] => {}
                Ok(d) => failures.push(format!(
                    "{}: esp decapsulated scapy's packet to {}, want {}",
                    c.label,
                    hex::encode(&pkt[d.packet]),
                    hex::encode(inner)
                )),
                Err(e) => failures.push(format!("{}: esp refused scapy's packet: {e}", c.label)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} interop failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
