//! IKEv2 through `ipsecd`: negotiated CHILD_SAs carry traffic, against strongSwan
//! 5.9.8 (kernel-libipsec, which forces NAT-T: IKE on 4500, ESP in UDP) in both
//! roles and against another `ipsecd` on the simulated card; rekeys under traffic,
//! a wrong PSK and a dead peer. Run as root; the strongSwan cases need Debian's
//! strongSwan packages (scripts/setup.sh installs them).

use std::sync::Mutex;

use e2e::{
    eventually, ipsecctl, swanctl_site_b, swanctl_site_b_pubkey, tcp_transfer, Charon, Daemon,
    Family, IkeSide, Pair,
};

/// strongSwan's timers and the simulated card want the CPU: one case at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const IKE: &str = "aes256gcm16-prfsha256-x25519";
const PSK: &str = "e2e-ike-secret-0123456789";

fn ping(p: &Pair, count: u32, interval: &str) -> bool {
    let c = count.to_string();
    p.a.try_exec(&[
        "ping", "-c", &c, "-i", interval, "-W", "2", "-I", "10.1.0.1", "10.2.0.1",
    ])
}

/// Ping and a TCP transfer with a checksum from A to B.
fn traffic(p: &Pair, bytes: usize, port: u16, ctx: &dyn Fn() -> String) {
    assert!(
        ping(p, 3, "0.2"),
        "ping through the tunnel failed: {}",
        ctx()
    );
    let (sent, got, n) = tcp_transfer(&p.a, "10.1.0.1", &p.b, "10.2.0.1", port, bytes);
    assert_eq!(
        n,
        bytes,
        "TCP transfer: received {n} of {bytes} bytes: {}",
        ctx()
    );
    assert_eq!(sent, got, "TCP transfer: SHA-256 differs");
}

fn ike_sa_line(listing: &str) -> Option<&str> {
    listing.lines().find(|l| l.contains("ESTABLISHED"))
}

/// strongSwan lists the IKE SA with our SPIs and the CHILD_SA with our SPIs.
/// strongSwan initiates its `net` child; `d` must reach ESTABLISHED with one pair.
fn strongswan_initiates(d: &Daemon, ss: &Charon, ctx: &dyn Fn() -> String) {
    let o = ss.swanctl(&["--initiate", "--child", "net", "--timeout", "15"]);
    assert!(
        o.status.success(),
        "swanctl --initiate: {}{}",
        String::from_utf8_lossy(&o.stdout),
        ctx()
    );
    assert!(
        eventually(10, || d.established(1)),
        "not established: {}",
        ctx()
    );
}

fn strongswan_agrees(d: &Daemon, ss: &Charon) {
    let view = d.ike();
    let sa = view
        .sas
        .iter()
        .find(|s| s.state == "ESTABLISHED")
        .expect("our IKE SA");
    let listing = ss.list_sas();
    let line =
        ike_sa_line(&listing).unwrap_or_else(|| panic!("no IKE SA at strongSwan:\n{listing}"));
    assert!(
        line.contains(&sa.spi_i) && line.contains(&sa.spi_r),
        "IKE SPIs {}/{} not in strongSwan's {line}",
        sa.spi_i,
        sa.spi_r
    );
    assert!(listing.contains("INSTALLED"), "{listing}");
    let child = sa.children.first().expect("a CHILD_SA");
    // strongSwan's inbound SPI is our outbound one
    let ours_out = child.out_spi.trim_start_matches("0x");
    let ours_in = child.in_spi.trim_start_matches("0x");
    assert!(
        listing.contains(&format!("in  {ours_out}")) && listing.contains(&format!("out {ours_in}")),
        "CHILD_SA SPIs {ours_in}/{ours_out} not at strongSwan:\n{listing}"
    );
}

#[test]
fn ipsecd_initiator_strongswan_responder() {
    e2e::require_strongswan();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    let ss = Charon::start(
        &p.b,
        &p.dir,
        &swanctl_site_b(PSK, IKE, "aes128gcm16", "", ""),
    );
    let d = IkeSide::site_a().start(&p.a, &p.dir);
    let out = ipsecctl(&d.socket, &["initiate", "peer"]);
    assert!(
        out.status.success(),
        "ipsecctl initiate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ctx = || format!("ours:\n{}\ntheirs:\n{}", d.log_text(), ss.log_text());
    assert!(
        eventually(20, || d.established(1)),
        "not established: {}",
        ctx()
    );
    strongswan_agrees(&d, &ss);
    let sa = &d.ike().sas[0];
    assert_eq!(sa.role, "initiator");
    assert!(sa.natt, "kernel-libipsec forces UDP encapsulation");
    assert_eq!(sa.suite, "AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519");
    traffic(&p, 1 << 20, 5001, &ctx);
    let st = d.status();
    for s in &st.sas {
        assert_eq!(s.origin, "ike", "{s:?}");
        assert_eq!(s.encap, "udp", "{s:?}");
        assert!(s.packets > 0 && s.auth_failures == 0, "{s:?}");
    }
    // the operator's view: a table and JSON
    let table = String::from_utf8_lossy(&ipsecctl(&d.socket, &["list-sas"]).stdout).into_owned();
    eprintln!("ipsecctl list-sas:\n{table}");
    eprintln!(
        "ipsecctl status:\n{}",
        String::from_utf8_lossy(&ipsecctl(&d.socket, &["status"]).stdout)
    );
    assert!(
        table.contains("ESTABLISHED")
            && table.contains("AES_GCM_16_256")
            && table.contains("child net"),
        "{table}"
    );
    let json = ipsecctl(&d.socket, &["list-sas", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("list-sas --json");
    assert_eq!(v["ike_sas"][0]["state"], "ESTABLISHED", "{v}");
    assert_eq!(v["ike_sas"][0]["remote"], "192.168.77.2:4500", "{v}");
    // terminate: strongSwan sees the DELETE, our SAs go away
    let out = ipsecctl(&d.socket, &["terminate", "peer"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        eventually(10, || d.status().sa_pairs == 0 && d.ike().sas.is_empty()),
        "SAs left after terminate: {}",
        ctx()
    );
    assert!(
        eventually(10, || ike_sa_line(&ss.list_sas()).is_none()),
        "strongSwan still lists the IKE SA"
    );
    // keys never reach the log
    assert!(!d.log_text().contains(PSK));
}

#[test]
fn two_ipsecd_one_on_the_simulated_card() {
    e2e::require_root();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    let db = IkeSide::site_b().start(&p.b, &p.dir);
    let mut a = IkeSide::site_a();
    a.offload_device = "sim";
    a.start_action = "start";
    let da = a.start(&p.a, &p.dir);
    let ctx = || format!("A:\n{}\nB:\n{}", da.log_text(), db.log_text());
    assert!(
        eventually(30, || da.established(1) && db.established(1)),
        "not established: {}",
        ctx()
    );
    traffic(&p, 200_000, 5002, &ctx);
    let st = da.status();
    assert_eq!(st.offload_device, "sim");
    assert_eq!(st.sas.len(), 2, "{:?}", st.sas);
    for s in &st.sas {
        assert_eq!(s.path, "card", "{s:?}");
        assert_eq!(s.origin, "ike", "{s:?}");
        assert!(s.packets > 0 && s.fallbacks == 0, "{s:?}");
    }
    let card = st.offload["card_packets"]
        .as_u64()
        .expect("offload counters");
    assert!(card >= 10, "card carried {card} packets");
    for s in db.status().sas {
        assert_eq!(s.path, "software");
        assert_eq!(s.auth_failures, 0, "{s:?}");
    }
    // the same CHILD_SA on both sides, SPIs crossed
    let (ia, ib) = (da.ike(), db.ike());
    let (ca, cb) = (&ia.sas[0].children[0], &ib.sas[0].children[0]);
    assert_eq!((&ca.in_spi, &ca.out_spi), (&cb.out_spi, &cb.in_spi));
    assert_eq!(ia.sas[0].role, "initiator");
    assert_eq!(ib.sas[0].role, "responder");
}

#[test]
fn strongswan_initiator_ipsecd_responder() {
    e2e::require_strongswan();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    let mut side = IkeSide::site_a();
    side.proposals = "aes256gcm16-prfsha384-ecp384, aes256gcm16-prfsha256-ecp256";
    side.esp_proposals = "aes256gcm16";
    let d = side.start(&p.a, &p.dir);
    let ss = Charon::start(
        &p.b,
        &p.dir,
        &swanctl_site_b(PSK, "aes256gcm16-prfsha256-ecp256", "aes256gcm16", "", ""),
    );
    let ctx = || format!("ours:\n{}\ntheirs:\n{}", d.log_text(), ss.log_text());
    strongswan_initiates(&d, &ss, &ctx);
    strongswan_agrees(&d, &ss);
    let v = d.ike();
    assert_eq!(v.sas[0].role, "responder");
    assert_eq!(v.sas[0].suite, "AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256");
    assert_eq!(v.sas[0].children[0].transform, "aes256gcm16");
    traffic(&p, 1 << 20, 5003, &ctx);
    for s in d.status().sas {
        assert_eq!(
            (s.origin.as_str(), s.encap.as_str()),
            ("ike", "udp"),
            "{s:?}"
        );
        assert!(s.packets > 0 && s.auth_failures == 0, "{s:?}");
    }
    // a reload leaves the negotiated SAs alone
    let r = host_ipsec::control::call(&d.socket, &host_ipsec::control::Request::Reload)
        .expect("reload");
    assert!(r.ok, "{r:?}");
    assert_eq!(r.result.expect("result")["ike_connections"], 1);
    assert_eq!(d.status().sa_pairs, 1);
    assert!(ping(&p, 2, "0.2"), "ping after reload: {}", ctx());
}

/// Starts the exchange (we or strongSwan initiate) and waits for it to fail
/// authentication: the event, our log and `ipsecctl status` say
/// AUTHENTICATION_FAILED and no SA pair is installed. Returns the event.
fn authentication_refused(
    d: &Daemon,
    ss: &Charon,
    we_initiate: bool,
    ctx: &dyn Fn() -> String,
) -> host_ipsec::ike::IkeEventRecord {
    if we_initiate {
        assert!(ipsecctl(&d.socket, &["initiate", "peer"]).status.success());
    } else {
        let _ = ss.swanctl(&["--initiate", "--child", "net", "--timeout", "10"]);
    }
    assert!(
        eventually(15, || d.ike().counters.auth_failures >= 1),
        "no authentication failure seen: {}",
        ctx()
    );
    let ev = d
        .ike()
        .events
        .into_iter()
        .find(|e| e.kind == "authentication_failed")
        .expect("event kept");
    assert!(ev.text.contains("AUTHENTICATION_FAILED"), "{ev:?}");
    assert!(d.log_text().contains("AUTHENTICATION_FAILED"), "{}", ctx());
    let status = String::from_utf8_lossy(&ipsecctl(&d.socket, &["status"]).stdout).into_owned();
    assert!(status.contains("AUTHENTICATION_FAILED"), "{status}");
    assert_eq!(d.status().sa_pairs, 0);
    ev
}

#[test]
fn wrong_psk_refused_both_roles() {
    e2e::require_strongswan();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for we_initiate in [true, false] {
        let p = Pair::new(Family::V4);
        let ss = Charon::start(
            &p.b,
            &p.dir,
            &swanctl_site_b("not-the-same-secret-42", IKE, "aes128gcm16", "", ""),
        );
        let d = IkeSide::site_a().start(&p.a, &p.dir);
        let ctx = || format!("ours:\n{}\ntheirs:\n{}", d.log_text(), ss.log_text());
        let ev = authentication_refused(&d, &ss, we_initiate, &ctx);
        // as initiator the peer refused us; as responder we refused the peer
        let who = if we_initiate {
            "peer refused our authentication"
        } else {
            "peer failed authentication"
        };
        assert!(ev.text.contains(who), "{ev:?}");
        assert!(ike_sa_line(&ss.list_sas()).is_none(), "{}", ss.list_sas());
        // strongSwan saw it too
        let theirs = ss.log_text();
        assert!(
            theirs.contains("AUTHENTICATION_FAILED") || theirs.contains("MAC mismatched"),
            "{theirs}"
        );
        assert!(!d.log_text().contains("not-the-same-secret"));
        assert!(!d.log_text().contains(PSK));
    }
}

/// ping's "N received" from its summary line.
fn received(out: &str) -> Option<u32> {
    let line = out.lines().find(|l| l.contains("packets transmitted"))?;
    line.split(',')
        .find(|f| f.contains("received"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn child_and_ike_rekeys_under_traffic_lose_nothing() {
    e2e::require_strongswan();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    let ss = Charon::start(
        &p.b,
        &p.dir,
        &swanctl_site_b(PSK, IKE, "aes128gcm16", "", ""),
    );
    let mut side = IkeSide::site_a();
    side.start_action = "start";
    side.conn_extra = "rekey_time = 9".into();
    side.child_extra = "rekey_time = 4\nlife_time = 60".into();
    let d = side.start(&p.a, &p.dir);
    let ctx = || format!("ours:\n{}\ntheirs:\n{}", d.log_text(), ss.log_text());
    assert!(
        eventually(20, || d.established(1)),
        "not established: {}",
        ctx()
    );
    // 20 s of pings every 50 ms across about four CHILD_SA and two IKE SA rekeys
    let out = p.a.exec_output(&[
        "ping", "-c", "400", "-i", "0.05", "-W", "2", "-I", "10.1.0.1", "10.2.0.1",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = d.ike();
    let child_rekeys = v
        .events
        .iter()
        .filter(|e| e.kind == "child_installed" && e.text.contains("replaces"))
        .count();
    let ike_rekeys = v.events.iter().filter(|e| e.kind == "rekeyed").count();
    assert!(
        child_rekeys >= 2,
        "{child_rekeys} CHILD_SA rekeys: {:?}",
        v.events
    );
    assert!(
        ike_rekeys >= 1,
        "{ike_rekeys} IKE SA rekeys: {:?}",
        v.events
    );
    assert_eq!(
        received(&text),
        Some(400),
        "packets lost across rekeys:\n{text}\n{}",
        ctx()
    );
    // still one IKE SA, agreed with strongSwan, and a TCP transfer still works
    assert!(
        eventually(10, || d.ike().sas.len() == 1),
        "{:?}",
        d.ike().sas
    );
    strongswan_agrees(&d, &ss);
    traffic(&p, 256 << 10, 5004, &ctx);
}

#[test]
fn killed_peer_detected_by_dpd_and_restarted() {
    e2e::require_strongswan();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    let mut ss = Charon::start(
        &p.b,
        &p.dir,
        &swanctl_site_b(PSK, IKE, "aes128gcm16", "", ""),
    );
    let mut side = IkeSide::site_a();
    side.start_action = "start";
    side.conn_extra = "dpd_delay = 2\ndpd_action = \"restart\"".into();
    let (cfg, sock) = side.write(&p.dir);
    // short retransmissions so a dead peer is declared within seconds
    let text = std::fs::read_to_string(&cfg).expect("config").replace(
        "[daemon]\n",
        "[daemon]\nike_retransmit_timeout = 1\nike_retransmit_tries = 2\n",
    );
    std::fs::write(&cfg, text).expect("config");
    let d = Daemon::start(&p.a, &cfg, sock);
    let ss_log = ss.log.clone();
    let ctx = || {
        format!(
            "ours:\n{}\ntheirs:\n{}",
            d.log_text(),
            std::fs::read_to_string(&ss_log).unwrap_or_default()
        )
    };
    assert!(
        eventually(20, || d.established(1)),
        "not established: {}",
        ctx()
    );
    assert!(ping(&p, 2, "0.2"), "{}", ctx());
    ss.kill();
    let dead = |d: &Daemon| {
        let v = d.ike();
        v.events
            .iter()
            .any(|e| e.kind == "closed" && e.text.contains("PeerDead"))
            && !v.sas.iter().any(|s| s.state == "ESTABLISHED")
    };
    assert!(
        eventually(30, || dead(&d) && d.status().sa_pairs == 0),
        "dead peer not detected: {}",
        ctx()
    );
    let v = d.ike();
    assert!(v.counters.retransmits >= 2, "{:?}", v.counters);
    // dpd_action = restart: once the peer is back, the tunnel comes back by itself
    let ss2 = Charon::start(
        &p.b,
        &p.dir,
        &swanctl_site_b(PSK, IKE, "aes128gcm16", "", ""),
    );
    assert!(
        eventually(30, || d.established(1)),
        "not re-established: {}\ntheirs now:\n{}",
        ctx(),
        ss2.log_text()
    );
    assert!(ping(&p, 2, "0.2"), "{}", ctx());
    strongswan_agrees(&d, &ss2);
}

#[test]
fn trap_starts_on_traffic_and_garbage_changes_nothing() {
    e2e::require_root();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    // raw ESP (IP protocol 50): no NAT on the way, so IKE stays on port 500
    let mut b = IkeSide::site_b();
    b.conn_extra = "encap = \"raw\"".into();
    let db = b.start(&p.b, &p.dir);
    let mut a = IkeSide::site_a();
    a.start_action = "trap";
    a.conn_extra = "encap = \"raw\"".into();
    let da = a.start(&p.a, &p.dir);
    let ctx = || format!("A:\n{}\nB:\n{}", da.log_text(), db.log_text());
    assert!(da.ike().sas.is_empty(), "trap must wait for traffic");
    // the first packets start IKE (and are dropped); the tunnel then carries the rest
    assert!(
        eventually(20, || ping(&p, 1, "0.2")),
        "no tunnel after traffic: {}",
        ctx()
    );
    let v = da.ike();
    assert_eq!(v.sas.len(), 1, "{:?}", v.sas);
    assert_eq!(v.sas[0].role, "initiator");
    assert!(!v.sas[0].natt, "{:?}", v.sas[0]);
    assert_eq!(v.sas[0].remote, "192.168.77.2:500");
    let st = da.status();
    assert!(st.counters.no_policy >= 1);
    for s in &st.sas {
        assert_eq!(s.encap, "raw", "{s:?}");
        assert!(s.packets > 0, "{s:?}");
    }
    // malformed, truncated and random IKE datagrams at B's ports 500 and 4500
    let before = db.ike();
    let prog = r#"
import socket, sys, os, random
random.seed(7)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hdr = bytes(8) + os.urandom(8) + bytes([33, 0x20, 0x08, 0]) + bytes(4) + (28).to_bytes(4, "big")
for i in range(300):
    body = os.urandom(random.randrange(0, 200))
    pick = random.randrange(3)
    d = hdr[:random.randrange(0, 28)] if pick == 0 else (hdr + body if pick == 1 else body)
    s.sendto(d, (sys.argv[1], 500))
    s.sendto(bytes(4) + d, (sys.argv[1], 4500))
"#;
    p.a.exec(&["python3", "-c", prog, "192.168.77.2"]);
    assert!(
        eventually(10, || {
            let c = db.ike().counters;
            c.dropped.values().sum::<u64>() > before.counters.dropped.values().sum::<u64>()
        }),
        "garbage not counted: {:?}",
        db.ike().counters
    );
    // still answering (status panics when the daemon is gone)
    assert_eq!(db.status().name, "b");
    let after = db.ike();
    assert_eq!(after.sas.len(), 1);
    assert_eq!(
        (&after.sas[0].spi_i, &after.sas[0].children),
        (&before.sas[0].spi_i, &before.sas[0].children),
        "garbage changed the IKE SA"
    );
    assert!(ping(&p, 2, "0.2"), "tunnel broken after garbage: {}", ctx());
}

#[test]
fn child_sa_rekeys_on_the_simulated_card_lose_nothing() {
    e2e::require_root();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    let db = IkeSide::site_b().start(&p.b, &p.dir);
    let mut a = IkeSide::site_a();
    a.offload_device = "sim";
    a.start_action = "start";
    a.child_extra = "rekey_time = 3\nlife_time = 60".into();
    let da = a.start(&p.a, &p.dir);
    let ctx = || format!("A:\n{}\nB:\n{}", da.log_text(), db.log_text());
    assert!(
        eventually(30, || da.established(1) && db.established(1)),
        "not established: {}",
        ctx()
    );
    let out = p.a.exec_output(&[
        "ping", "-c", "160", "-i", "0.05", "-W", "2", "-I", "10.1.0.1", "10.2.0.1",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rekeys = da
        .ike()
        .events
        .iter()
        .filter(|e| e.kind == "child_installed" && e.text.contains("replaces"))
        .count();
    assert!(rekeys >= 2, "{rekeys} rekeys: {}", ctx());
    assert_eq!(
        received(&text),
        Some(160),
        "lost across rekeys:\n{text}\n{}",
        ctx()
    );
    // B answered the rekeys: the engine switched its outbound traffic back to the old
    // SA at the install and to the new one when A deleted the old SA
    assert!(
        db.log_text()
            .contains("outbound traffic switched to CHILD_SA"),
        "{}",
        ctx()
    );
    // the current SAs run on the card, and the card carried the traffic
    let st = da.status();
    assert!(st.sas.iter().all(|s| s.path == "card"), "{:?}", st.sas);
    let card = st.offload["card_packets"]
        .as_u64()
        .expect("offload counters");
    assert!(card >= 320, "card carried {card} packets");
    for k in [
        "software_packets",
        "sas_rejected_by_card",
        "sas_moved_to_software",
    ] {
        assert_eq!(st.offload[k].as_u64(), Some(0), "{k}: {}", st.offload);
    }
}

#[test]
fn proposal_mismatch_explained() {
    e2e::require_strongswan();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    let ss = Charon::start(
        &p.b,
        &p.dir,
        &swanctl_site_b(PSK, "aes256gcm16-prfsha384-ecp384", "aes128gcm16", "", ""),
    );
    let mut side = IkeSide::site_a();
    side.proposals = "aes128-sha256-x25519";
    let d = side.start(&p.a, &p.dir);
    let out = ipsecctl(&d.socket, &["initiate", "peer"]);
    assert!(out.status.success());
    let ctx = || format!("ours:\n{}\ntheirs:\n{}", d.log_text(), ss.log_text());
    assert!(
        eventually(15, || d
            .ike()
            .events
            .iter()
            .any(|e| e.kind == "proposal_mismatch" || e.kind == "closed")),
        "{}",
        ctx()
    );
    let status = String::from_utf8_lossy(&ipsecctl(&d.socket, &["status"]).stdout).into_owned();
    let v = d.ike();
    let ev = v
        .events
        .iter()
        .find(|e| e.kind == "proposal_mismatch")
        .unwrap_or_else(|| panic!("no mismatch event: {:?} {}", v.events, ctx()));
    eprintln!("{}", ev.text);
    assert!(ev.text.contains("IKE proposal mismatch"), "{ev:?}");
    assert!(status.contains("IKE proposal mismatch"), "{status}");
    assert!(
        eventually(10, || d.ike().sas.is_empty()),
        "{:?}",
        d.ike().sas
    );
    assert_eq!(d.status().sa_pairs, 0);
}

#[test]
fn two_ipsecd_over_ipv6() {
    e2e::require_root();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V6);
    let mut a = IkeSide::site_a();
    a.local = "fd00:77::1";
    a.remote = "fd00:77::2";
    a.local_ts = "fd00:1::/64";
    a.remote_ts = "fd00:2::/64";
    a.proposals = "aes128-sha256-ecp256";
    a.esp_proposals = "aes128-sha256";
    let mut b = IkeSide::site_b();
    b.local = "fd00:77::2";
    b.remote = "fd00:77::1";
    b.local_ts = "fd00:2::/64";
    b.remote_ts = "fd00:1::/64";
    b.proposals = a.proposals;
    b.esp_proposals = a.esp_proposals;
    let db = b.start(&p.b, &p.dir);
    let da = a.start(&p.a, &p.dir);
    let out = ipsecctl(&da.socket, &["initiate", "peer"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ctx = || format!("A:\n{}\nB:\n{}", da.log_text(), db.log_text());
    assert!(
        eventually(20, || da.established(1) && db.established(1)),
        "not established: {}",
        ctx()
    );
    assert!(
        p.a.try_exec(&[
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            "-I",
            "fd00:1::1",
            "fd00:2::1"
        ]),
        "ping over IPv6 failed: {}",
        ctx()
    );
    let (sent, got, n) = tcp_transfer(&p.a, "fd00:1::1", &p.b, "fd00:2::1", 5005, 300_000);
    assert_eq!((n, &sent), (300_000, &got), "TCP over IPv6: {}", ctx());
    let v = da.ike();
    assert_eq!(v.sas[0].remote, "[fd00:77::2]:4500");
    assert_eq!(
        v.sas[0].suite,
        "AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256"
    );
    assert_eq!(v.sas[0].children[0].transform, "aes128-sha256");
    assert_eq!(
        v.sas[0].children[0].local_ts,
        vec!["fd00:1::/64".to_string()]
    );
    for s in da.status().sas {
        assert!(s.packets > 0 && s.auth_failures == 0, "{s:?}");
    }
}

#[test]
fn rekeys_started_by_strongswan_under_traffic_lose_nothing() {
    e2e::require_strongswan();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    // strongSwan rekeys the CHILD_SA every ~4 s and the IKE SA every ~7 s; we answer
    let ss = Charon::start(
        &p.b,
        &p.dir,
        &swanctl_site_b(
            PSK,
            IKE,
            "aes128gcm16-x25519",
            // explicit hard lifetimes: with the defaults (10 % over) kernel-libipsec
            // expires the old SAs before strongSwan's rekeys take over
            "rekey_time = 7s\n    over_time = 60s\n    rand_time = 0s",
            "rekey_time = 4s\n        life_time = 60s\n        rand_time = 0s",
        ),
    );
    let mut side = IkeSide::site_a();
    side.esp_proposals = "aes128gcm16-x25519";
    let d = side.start(&p.a, &p.dir);
    let ctx = || format!("ours:\n{}\ntheirs:\n{}", d.log_text(), ss.log_text());
    strongswan_initiates(&d, &ss, &ctx);
    let out = p.a.exec_output(&[
        "ping", "-c", "300", "-i", "0.05", "-W", "2", "-I", "10.1.0.1", "10.2.0.1",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = d.ike();
    let child_rekeys = v
        .events
        .iter()
        .filter(|e| e.kind == "child_installed" && e.text.contains("replaces"))
        .count();
    let ike_rekeys = v.events.iter().filter(|e| e.kind == "rekeyed").count();
    assert!(
        child_rekeys >= 2,
        "{child_rekeys} CHILD_SA rekeys: {}",
        ctx()
    );
    assert!(ike_rekeys >= 1, "{ike_rekeys} IKE SA rekeys: {}", ctx());
    assert_eq!(
        received(&text),
        Some(300),
        "packets lost across rekeys:\n{text}\n{}",
        ctx()
    );
    // we answered: the engine kept our outbound traffic on the old SA until strongSwan
    // deleted it (SwitchOutbound)
    assert!(
        d.log_text()
            .contains("outbound traffic switched to CHILD_SA"),
        "{}",
        ctx()
    );
    assert!(
        eventually(10, || d.ike().sas.len() == 1),
        "{:?}",
        d.ike().sas
    );
    strongswan_agrees(&d, &ss);
}

/// The IKE SA is authenticated with certificates on both sides: ours says so, and
/// strongSwan logged a successful public-key authentication of alice.example.
fn authenticated_with_certificates(d: &Daemon, ss: &Charon) {
    let v = d.ike();
    assert_eq!(v.sas[0].auth, "pubkey", "{:?}", v.sas[0]);
    let table = String::from_utf8_lossy(&ipsecctl(&d.socket, &["list-sas"]).stdout).into_owned();
    eprintln!("ipsecctl list-sas:\n{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("ESTABLISHED") && l.contains("pubkey")),
        "{table}"
    );
    let theirs = ss.log_text();
    let line = theirs
        .lines()
        .find(|l| l.contains("authentication of 'alice.example'"))
        .unwrap_or_else(|| panic!("strongSwan did not authenticate alice.example:\n{theirs}"));
    assert!(
        line.contains("ECDSA") && line.contains("successful"),
        "not a successful ECDSA authentication: {line}"
    );
    assert!(
        theirs.contains("received end entity cert \"O=ikev2 test, CN=alice.example\""),
        "strongSwan did not get our certificate:\n{theirs}"
    );
}

#[test]
fn certificates_ipsecd_initiator_strongswan_responder() {
    e2e::require_strongswan();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    let ss = Charon::start_with_certs(
        &p.b,
        &p.dir,
        &swanctl_site_b_pubkey(IKE, "aes128gcm16", ""),
        "bob",
    );
    let d = IkeSide::site_a().start_with_certs(&p.a, &p.dir, "alice", "ca");
    let ctx = || format!("ours:\n{}\ntheirs:\n{}", d.log_text(), ss.log_text());
    let out = ipsecctl(&d.socket, &["initiate", "peer"]);
    assert!(
        out.status.success(),
        "initiate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        eventually(20, || d.established(1)),
        "not established: {}",
        ctx()
    );
    strongswan_agrees(&d, &ss);
    assert_eq!(d.ike().sas[0].role, "initiator");
    authenticated_with_certificates(&d, &ss);
    traffic(&p, 256 << 10, 5011, &ctx);
    for s in d.status().sas {
        assert!(s.packets > 0 && s.auth_failures == 0, "{s:?}");
    }
    // the private key never reaches the log
    let key = std::fs::read_to_string(e2e::fixture_certs().join("alice.key")).expect("key");
    let body = key.lines().nth(1).expect("PEM body");
    assert!(!d.log_text().contains(body));
}

#[test]
fn certificates_strongswan_initiator_ipsecd_responder() {
    e2e::require_strongswan();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    let d = IkeSide::site_a().start_with_certs(&p.a, &p.dir, "alice", "ca");
    let ss = Charon::start_with_certs(
        &p.b,
        &p.dir,
        &swanctl_site_b_pubkey(IKE, "aes128gcm16", ""),
        "bob",
    );
    let ctx = || format!("ours:\n{}\ntheirs:\n{}", d.log_text(), ss.log_text());
    strongswan_initiates(&d, &ss, &ctx);
    strongswan_agrees(&d, &ss);
    assert_eq!(d.ike().sas[0].role, "responder");
    authenticated_with_certificates(&d, &ss);
    traffic(&p, 256 << 10, 5012, &ctx);
    // after a reload (the connection replaced in the engine, its certificates set
    // again) a new IKE SA still authenticates with certificates
    let r = host_ipsec::control::call(&d.socket, &host_ipsec::control::Request::Reload)
        .expect("reload");
    assert!(r.ok, "{r:?}");
    let o = ss.swanctl(&["--terminate", "--ike", "peer", "--timeout", "10"]);
    assert!(o.status.success(), "swanctl --terminate: {}", ctx());
    assert!(
        eventually(10, || d.ike().sas.is_empty() && d.status().sa_pairs == 0),
        "SAs left after strongSwan's DELETE: {}",
        ctx()
    );
    strongswan_initiates(&d, &ss, &ctx);
    assert_eq!(d.ike().sas[0].auth, "pubkey");
    assert!(ping(&p, 2, "0.2"), "ping after reload: {}", ctx());
    assert_eq!(d.ike().counters.auth_failures, 0);
}

#[test]
fn certificate_from_an_untrusted_ca_refused_both_roles() {
    e2e::require_strongswan();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for we_initiate in [true, false] {
        let p = Pair::new(Family::V4);
        // strongSwan shows a bob.example certificate from another CA with our CA's name
        let ss = Charon::start_with_certs(
            &p.b,
            &p.dir,
            &swanctl_site_b_pubkey(IKE, "aes128gcm16", ""),
            "rogue-bob",
        );
        let d = IkeSide::site_a().start_with_certs(&p.a, &p.dir, "alice", "ca");
        let ctx = || format!("ours:\n{}\ntheirs:\n{}", d.log_text(), ss.log_text());
        let ev = authentication_refused(&d, &ss, we_initiate, &ctx);
        assert!(ev.text.contains("not issued by a trusted CA"), "{ev:?}");
        assert!(
            eventually(5, || ike_sa_line(&ss.list_sas()).is_none()),
            "{}",
            ss.list_sas()
        );
    }
}

/// Site A's outer packets leave through a source NAT in its own namespace (nftables):
/// IKE 500 -> `ike_port`, NAT-T 4500 -> `natt_port`, so B sees A behind a NAT.
fn nat_a(p: &Pair, ike_port: u16, natt_port: u16) {
    let rules = format!(
        "flush ruleset\ntable ip e2enat {{\n  chain post {{\n    type nat hook postrouting priority 100;\n    \
         udp sport 500 snat to 192.168.77.1:{ike_port}\n    udp sport 4500 snat to 192.168.77.1:{natt_port}\n  }}\n}}\n"
    );
    let file = p.dir.join(format!("nat-{natt_port}.nft"));
    std::fs::write(&file, rules).expect("nft rules");
    let f = file.display().to_string();
    assert!(p.a.try_exec(&["nft", "-f", &f]), "nft -f {f}");
    // forget the old mappings so the next packets take the new ports
    // (it fails when there is nothing to forget, as before the first packet)
    let _ = p.a.try_exec(&["conntrack", "-D", "-p", "udp"]);
}

#[test]
fn nat_mapping_change_moves_the_peers_esp() {
    e2e::require_root();
    for tool in ["nft", "conntrack"] {
        assert!(
            e2e::try_sh(&["sh", "-c", &format!("command -v {tool}")]),
            "{tool} missing: apt-get install nftables conntrack (scripts/setup.sh does)"
        );
    }
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    nat_a(&p, 40500, 40000);
    let db = IkeSide::site_b().start(&p.b, &p.dir);
    let mut a = IkeSide::site_a();
    a.start_action = "start";
    // A speaks every 2 s without traffic from B: that is what B sees the new mapping by
    a.conn_extra = "dpd_delay = 2".into();
    let da = a.start(&p.a, &p.dir);
    let ctx = || format!("A:\n{}\nB:\n{}", da.log_text(), db.log_text());
    assert!(
        eventually(20, || da.established(1) && db.established(1)),
        "not established: {}",
        ctx()
    );
    let sa = &db.ike().sas[0];
    assert!(sa.natt, "B did not see A behind a NAT: {sa:?}");
    assert_eq!(sa.remote, "192.168.77.1:40000", "{}", ctx());
    assert!(ping(&p, 3, "0.2"), "ping before the change: {}", ctx());
    // the NAT in front of A picks a new port for 4500
    nat_a(&p, 40500, 40001);
    assert!(
        eventually(15, || db.ike().counters.encap_updates >= 1),
        "B's SAs did not follow A to the new mapping: {}",
        ctx()
    );
    assert_eq!(db.ike().sas[0].remote, "192.168.77.1:40001", "{}", ctx());
    assert_eq!(db.ike().counters.encap_update_failures, 0);
    // B's ESP now reaches A through the new mapping (the old one is gone)
    assert!(ping(&p, 5, "0.2"), "ping after the change: {}", ctx());
    assert!(
        db.ike()
            .events
            .iter()
            .any(|e| e.kind == "peer_endpoint_changed"),
        "{}",
        ctx()
    );
}

#[test]
fn connection_removed_by_reload_is_deleted_at_the_peer_and_refused() {
    e2e::require_root();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Pair::new(Family::V4);
    let b = IkeSide::site_b();
    let (cfg_b, sock_b) = b.write(&p.dir);
    let db = e2e::Daemon::start(&p.b, &cfg_b, sock_b);
    let mut a = IkeSide::site_a();
    a.start_action = "start";
    let da = a.start(&p.a, &p.dir);
    let ctx = || format!("A:\n{}\nB:\n{}", da.log_text(), db.log_text());
    assert!(
        eventually(30, || da.established(1) && db.established(1)),
        "not established: {}",
        ctx()
    );
    assert!(ping(&p, 2, "0.2"), "{}", ctx());
    // B's configuration loses the connection; B reloads
    let text = std::fs::read_to_string(&cfg_b).expect("config");
    let daemon_only = &text[..text.find("[connections.peer]").expect("connection block")];
    std::fs::write(&cfg_b, daemon_only).expect("config");
    let r = host_ipsec::control::call(&db.socket, &host_ipsec::control::Request::Reload)
        .expect("reload");
    assert!(r.ok, "{r:?}");
    assert_eq!(r.result.expect("result")["ike_connections"], 0);
    // the peer's IKE SA is gone (B's DELETE), and both data paths lost the pair
    let a_has_sa = || {
        let o = ipsecctl(&da.socket, &["list-sas"]);
        String::from_utf8_lossy(&o.stdout).contains("ESTABLISHED")
    };
    assert!(
        eventually(15, || !a_has_sa()
            && da.status().sa_pairs == 0
            && db.status().sa_pairs == 0
            && db.ike().sas.is_empty()),
        "IKE SA still up after the reload: {}",
        ctx()
    );
    assert!(
        da.ike()
            .events
            .iter()
            .any(|e| e.kind == "closed" && e.text.contains("PeerDelete")),
        "{}",
        ctx()
    );
    // a new login from A fails
    let out = ipsecctl(&da.socket, &["initiate", "peer"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        eventually(15, || {
            da.ike()
                .events
                .iter()
                .any(|e| e.kind == "closed" && e.text.contains("NegotiationFailed"))
        }),
        "the new initiate did not fail: {}",
        ctx()
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(!a_has_sa(), "{}", ctx());
    assert_eq!(db.status().sa_pairs, 0);
    assert!(db.ike().sas.is_empty(), "{:?}", db.ike().sas);
}

/// Two ipsecd, A with a CHILD_SA soft lifetime of 300 packets (`rekey_packets`) and
/// a hard one of 2000: 1000 pings 10 ms apart (2000 packets through each of A's
/// SA halves in all) go across about three rekeys that the data path's soft
/// lifetime starts, none lost, and no SA ever reaches its hard limit.
fn rekey_at_a_packet_soft_limit_loses_nothing(offload_device: &'static str) {
    let p = Pair::new(Family::V4);
    let db = IkeSide::site_b().start(&p.b, &p.dir);
    let mut a = IkeSide::site_a();
    a.offload_device = offload_device;
    a.start_action = "start";
    a.child_extra = "rekey_packets = 300\nlife_packets = 2000".into();
    let da = a.start(&p.a, &p.dir);
    let ctx = || format!("A:\n{}\nB:\n{}", da.log_text(), db.log_text());
    assert!(
        eventually(30, || da.established(1) && db.established(1)),
        "not established: {}",
        ctx()
    );
    let first: Vec<String> = da.status().sas.iter().map(|s| s.spi.clone()).collect();
    let out = p.a.exec_output(&[
        "ping", "-c", "1000", "-i", "0.01", "-W", "2", "-I", "10.1.0.1", "10.2.0.1",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = da.ike();
    let soft: Vec<_> = v
        .events
        .iter()
        .filter(|e| e.kind == "soft_lifetime")
        .collect();
    let rekeys = v
        .events
        .iter()
        .filter(|e| e.kind == "child_installed" && e.text.contains("replaces"))
        .count();
    assert!(
        soft.len() >= 2 && v.counters.soft_lifetime_rekeys == soft.len() as u64,
        "{} soft-lifetime rekeys ({}): {:?}",
        soft.len(),
        v.counters.soft_lifetime_rekeys,
        v.events
    );
    assert!(rekeys >= soft.len(), "{rekeys} rekeys: {:?}", v.events);
    eprintln!(
        "offload_device {offload_device}: {} soft-lifetime rekeys, {rekeys} CHILD_SA rekeys, {:?} of 1000 pings answered",
        soft.len(),
        received(&text)
    );
    assert_eq!(
        received(&text),
        Some(1000),
        "lost across rekeys:\n{text}\n{}",
        ctx()
    );
    // new SPIs; the SAs carried traffic, none reached its hard limit or dropped a packet
    let st = da.status();
    assert!(
        st.sas.iter().all(|s| !first.contains(&s.spi)),
        "{first:?} -> {:?}",
        st.sas
    );
    for s in &st.sas {
        assert!(!s.hard_reached && s.lifetime_drops == 0, "{s:?}");
        assert!(s.life_packets_left.is_some_and(|l| l > 0), "{s:?}");
    }
    let listing = ipsecctl(&da.socket, &["list-sas"]);
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(listing.contains("LIFE_LEFT"), "{listing}");
    // B answered rekeys it did not start, its own data path saw no soft limit
    assert_eq!(db.ike().counters.soft_lifetime_rekeys, 0);
    if offload_device != "none" {
        let card = st.offload["card_packets"]
            .as_u64()
            .expect("offload counters");
        assert!(card >= 2000, "card carried {card} packets");
    }
}

#[test]
fn rekey_at_a_packet_soft_limit_under_traffic_loses_nothing() {
    e2e::require_root();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    rekey_at_a_packet_soft_limit_loses_nothing("none");
}

#[test]
fn rekey_at_a_packet_soft_limit_on_the_model_card_loses_nothing() {
    e2e::require_root();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    rekey_at_a_packet_soft_limit_loses_nothing("model");
}
