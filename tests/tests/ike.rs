//! IKEv2 through `ipsecd`: negotiated CHILD_SAs carry traffic, against strongSwan
//! 5.9.8 (kernel-libipsec, which forces NAT-T: IKE on 4500, ESP in UDP) in both
//! roles and against another `ipsecd` on the simulated card; rekeys under traffic,
//! a wrong PSK and a dead peer. Run as root; the strongSwan cases need Debian's
//! strongSwan packages (scripts/setup.sh installs them).

use std::sync::Mutex;

use e2e::{
    eventually, ipsecctl, swanctl_site_b, tcp_transfer, Charon, Daemon, Family, IkeSide, Pair,
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
