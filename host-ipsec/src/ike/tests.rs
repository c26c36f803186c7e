//! The IKE thread against itself: two daemons' IKE threads wired in memory
//! negotiate, install, authenticate (PSK and certificates), refuse and reload.

use std::path::Path;
use std::time::Instant;

use super::*;
use crate::config::{Config, Encap, Transform};
use crate::sa::{ChildSaSpec, InstallError, Origin};

fn p(s: &str) -> IpPrefix {
    s.parse().unwrap()
}

const CONF: &str = r#"
[daemon]
name = "NAME"

[connections.peer]
local_addrs = ["LOCAL"]
remote_addrs = ["REMOTE"]
local_id = "LID"
remote_id = "RID"
psk = "in-memory-secret-123"
proposals = "aes256gcm16-prfsha256-x25519"
offload = "software"
dpd_delay = "30s"

[connections.peer.children.net]
local_ts = ["LTS"]
remote_ts = ["RTS"]
esp_proposals = "aes256gcm16"
rekey_time = "1h"
"#;

fn conf(a: bool) -> Config {
    let (l, r, lid, rid, lts, rts) = if a {
        (
            "192.0.2.1",
            "192.0.2.2",
            "a.example",
            "b.example",
            "10.1.0.0/24",
            "10.2.0.0/24",
        )
    } else {
        (
            "192.0.2.2",
            "192.0.2.1",
            "b.example",
            "a.example",
            "10.2.0.0/24",
            "10.1.0.0/24",
        )
    };
    let text = CONF
        .replace("NAME", if a { "a" } else { "b" })
        .replace("LOCAL", l)
        .replace("REMOTE", r)
        .replace("LID", lid)
        .replace("RID", rid)
        .replace("LTS", lts)
        .replace("RTS", rts);
    Config::parse(Path::new("mem.toml"), &text).unwrap()
}

/// Records installs and removals (or refuses installs, like `offload = card`
/// without a card).
#[derive(Default)]
struct Recorder(Mutex<Vec<Result<ChildSaSpec, u32>>>, bool);

impl SaInstaller for Recorder {
    fn install(&self, spec: ChildSaSpec, first_seq: u64) -> Result<(), InstallError> {
        assert_eq!(first_seq, 1);
        if self.1 {
            return Err(InstallError::CardRequired {
                spi: spec.inbound.spi,
                reason: "no card".into(),
            });
        }
        self.0.lock().unwrap().push(Ok(spec));
        Ok(())
    }
    fn remove(&self, inbound_spi: u32) -> Result<(), InstallError> {
        self.0.lock().unwrap().push(Err(inbound_spi));
        Ok(())
    }
}

/// Datagrams go straight to the other side's IKE thread.
struct Wire {
    peer: Arc<Mutex<Option<IkeFeed>>>,
    sa: Arc<Recorder>,
}

impl IkeIo for Wire {
    fn send(&self, local: SocketAddr, remote: SocketAddr, d: &[u8]) -> io::Result<()> {
        if let Some(tx) = self.peer.lock().unwrap().as_ref() {
            // what the peer receives: arriving on `remote`, from `local`
            tx.push(IkeMsg::Datagram {
                local: remote,
                remote: local,
                message: d.to_vec(),
            });
        }
        Ok(())
    }
    fn installer(&self) -> &dyn SaInstaller {
        &*self.sa
    }
}

fn installs(r: &Recorder) -> Vec<ChildSaSpec> {
    r.0.lock()
        .unwrap()
        .iter()
        .filter_map(|x| x.as_ref().ok().cloned())
        .collect()
}

fn wait(f: impl Fn() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Two IKE threads whose datagrams go straight to each other.
fn wired(
    a_conns: &[config::Connection],
    ra: &Arc<Recorder>,
    b_conns: &[config::Connection],
    rb: &Arc<Recorder>,
) -> (Arc<Ike>, Arc<Ike>) {
    let (to_a, to_b) = (Arc::new(Mutex::new(None)), Arc::new(Mutex::new(None)));
    let start = |conns, peer: &Arc<Mutex<Option<IkeFeed>>>, sa: &Arc<Recorder>| {
        Ike::start(
            EngineConfig::default(),
            conns,
            Wire {
                peer: peer.clone(),
                sa: sa.clone(),
            },
        )
        .unwrap()
    };
    let (a, txa) = start(a_conns, &to_b, ra);
    let (b, txb) = start(b_conns, &to_a, rb);
    *to_a.lock().unwrap() = Some(txa);
    *to_b.lock().unwrap() = Some(txb);
    (a, b)
}

#[test]
fn two_ike_threads_install_matching_child_sas_and_terminate() {
    let (ca, cb) = (conf(true), conf(false));
    let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let (a, b) = wired(&ca.connections, &ra, &cb.connections, &rb);
    assert!(a.initiate("nope").is_err());
    let id = a.initiate("peer").unwrap();
    assert!(wait(|| installs(&ra).len() == 1 && installs(&rb).len() == 1));
    let (sa, sb) = (installs(&ra).remove(0), installs(&rb).remove(0));
    // what one side seals the other opens
    assert_eq!(sa.outbound, sb.inbound);
    assert_eq!(sa.inbound, sb.outbound);
    assert_eq!(sa.origin, Origin::Ike);
    assert_eq!(sa.transform, Transform::AesGcm256);
    assert_eq!(sa.inbound.key.as_bytes().len(), 36);
    assert_eq!(sa.local_ts, vec![p("10.1.0.0/24")]);
    assert_eq!(sa.remote_ts, vec![p("10.2.0.0/24")]);
    assert_eq!(sa.offload, config::OffloadPolicy::Software);
    // encap = udp (the default) forces ESP in UDP 4500
    assert_eq!(
        (sa.encap, sa.local_port, sa.remote_port),
        (Encap::Udp, 4500, 4500)
    );
    assert!(wait(|| a
        .view()
        .sas
        .iter()
        .any(|s| s.state == "ESTABLISHED")));
    let v = a.view();
    assert_eq!(v.sas[0].id, id);
    assert_eq!(v.sas[0].children.len(), 1);
    assert!(v.sas[0].children[0].rekey_in_s.is_some_and(|s| s <= 3600));
    assert!(v.events.iter().any(|e| e.kind == "established"));
    assert_eq!(v.counters.child_installs, 1);
    // a second initiate while one is up is refused
    assert!(a.initiate("peer").is_err());
    // terminate by id: both sides remove the pair
    assert_eq!(a.terminate(&id.to_string()).unwrap(), vec![id]);
    assert!(wait(|| {
        rb.0.lock().unwrap().contains(&Err(sb.inbound.spi))
            && ra.0.lock().unwrap().contains(&Err(sa.inbound.spi))
    }));
    assert!(wait(|| b.view().sas.is_empty() && a.view().sas.is_empty()));
    assert!(a.terminate("99").is_err());
    // no key material in the view or its events
    let text = serde_json::to_string(&a.view()).unwrap();
    assert!(!text.contains("in-memory-secret"));
    a.stop();
    b.stop();
}

#[test]
fn wrong_psk_is_an_authentication_failure_on_both_sides() {
    let ca = conf(true);
    let cb = Config::parse(
        Path::new("mem.toml"),
        &CONF
            .replace("NAME", "b")
            .replace("LOCAL", "192.0.2.2")
            .replace("REMOTE", "192.0.2.1")
            .replace("LID", "b.example")
            .replace("RID", "a.example")
            .replace("LTS", "10.2.0.0/24")
            .replace("RTS", "10.1.0.0/24")
            .replace("in-memory-secret-123", "another-secret-456"),
    )
    .unwrap();
    let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let (a, b) = wired(&ca.connections, &ra, &cb.connections, &rb);
    a.initiate("peer").unwrap();
    let failed = |i: &Ike| {
        let v = i.view();
        v.counters.auth_failures == 1
            && v.events.iter().any(|e| {
                e.kind == "authentication_failed" && e.text.contains("AUTHENTICATION_FAILED")
            })
    };
    assert!(wait(|| failed(&a) && failed(&b)));
    assert!(installs(&ra).is_empty() && installs(&rb).is_empty());
    a.stop();
    b.stop();
}

/// Side A or B authenticated with the fixture certificate `cert` of the ikev2
/// crate's tests (ikev2/interop/make-certs.sh), trusting the fixture CA `ca`.
fn cert_conf(a: bool, cert: &str, ca: &str) -> Config {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ikev2/tests/vectors/certs");
    let d = dir.display();
    let (lid, rid) = if a {
        ("alice.example", "bob.example")
    } else {
        ("bob.example", "alice.example")
    };
    let text = CONF
        .replace("NAME", if a { "a" } else { "b" })
        .replace("LOCAL", if a { "192.0.2.1" } else { "192.0.2.2" })
        .replace("REMOTE", if a { "192.0.2.2" } else { "192.0.2.1" })
        .replace("LID", lid)
        .replace("RID", rid)
        .replace("LTS", if a { "10.1.0.0/24" } else { "10.2.0.0/24" })
        .replace("RTS", if a { "10.2.0.0/24" } else { "10.1.0.0/24" })
        .replace(
            "psk = \"in-memory-secret-123\"",
            &format!(
                "cert = \"{d}/{cert}.pem\"\nkey = \"{d}/{cert}.key\"\ncacerts = [\"{d}/{ca}.pem\"]"
            ),
        );
    Config::parse(Path::new("mem.toml"), &text).unwrap()
}

fn pair(ca: &Config, cb: &Config) -> (Arc<Ike>, Arc<Ike>, Arc<Recorder>, Arc<Recorder>) {
    let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let (a, b) = wired(&ca.connections, &ra, &cb.connections, &rb);
    (a, b, ra, rb)
}

#[test]
fn certificates_authenticate_and_show_in_the_view() {
    let (ca, cb) = (
        cert_conf(true, "alice", "ca"),
        cert_conf(false, "bob", "ca"),
    );
    let (a, b, ra, rb) = pair(&ca, &cb);
    let id = a.initiate("peer").unwrap();
    assert!(wait(|| installs(&ra).len() == 1 && installs(&rb).len() == 1));
    let (sa, sb) = (installs(&ra).remove(0), installs(&rb).remove(0));
    assert_eq!(sa.outbound, sb.inbound);
    assert_eq!(sa.inbound, sb.outbound);
    assert!(wait(|| a
        .view()
        .sas
        .iter()
        .any(|s| s.state == "ESTABLISHED")));
    assert_eq!(a.view().sas[0].auth, "pubkey");
    assert_eq!(b.view().sas[0].auth, "pubkey");
    // a reload that keeps certificates is applied; the IKE SA keeps running
    assert_eq!(a.reload(ca.connections.clone()), Ok(1));
    // one that turns the connection into a PSK one cannot be (the engine keeps
    // its certificates): refused with the reason
    let e = a.reload(conf(true).connections).unwrap_err();
    assert!(e.contains("needs a restart"), "{e}");
    // a new IKE SA after the reload still authenticates with certificates
    a.terminate(&id.to_string()).unwrap();
    assert!(wait(|| a.view().sas.is_empty() && b.view().sas.is_empty()));
    a.initiate("peer").unwrap();
    assert!(wait(|| installs(&ra).len() == 2 && installs(&rb).len() == 2));
    assert_eq!(a.view().counters.auth_failures, 0);
    a.stop();
    b.stop();
}

#[test]
fn certificate_from_another_ca_and_psk_against_certificates_fail() {
    // B shows a bob.example certificate from a CA A does not trust
    let (ca, cb) = (
        cert_conf(true, "alice", "ca"),
        cert_conf(false, "rogue-bob", "ca"),
    );
    let (a, b, ra, rb) = pair(&ca, &cb);
    a.initiate("peer").unwrap();
    let failed = |i: &Ike, why: &str| {
        let v = i.view();
        v.counters.auth_failures >= 1
            && v.events.iter().any(|e| {
                e.kind == "authentication_failed"
                    && e.text.contains("AUTHENTICATION_FAILED")
                    && e.text.contains(why)
            })
    };
    assert!(wait(|| failed(&a, "not issued by a trusted CA")));
    // A never installs; B (which accepted A and answered with its CHILD_SA)
    // removes whatever it installed once A gives up
    assert!(installs(&ra).is_empty());
    assert!(wait(|| {
        let log = rb.0.lock().unwrap();
        log.iter()
            .filter_map(|x| x.as_ref().ok())
            .all(|i| log.contains(&Err(i.inbound.spi)))
    }));
    assert!(wait(|| b.view().sas.is_empty()));
    a.stop();
    b.stop();
    // a PSK initiator against a certificate responder
    let (ca, cb) = (conf(true), cert_conf(false, "bob", "ca"));
    let cb = {
        let mut cb = cb;
        for c in &mut cb.connections {
            if let Some(i) = c.ike.as_mut() {
                i.remote_id = "a.example".into();
            }
        }
        cb
    };
    let (a, b, ra, rb) = pair(&ca, &cb);
    a.initiate("peer").unwrap();
    assert!(wait(
        || failed(&b, "AUTHENTICATION_FAILED") && failed(&a, "AUTHENTICATION_FAILED")
    ));
    assert!(installs(&ra).is_empty() && installs(&rb).is_empty());
    a.stop();
    b.stop();
}

#[test]
fn a_refused_child_sa_closes_its_ike_sa_on_both_sides() {
    let (ca, cb) = (conf(true), conf(false));
    let ra = Arc::new(Recorder(Mutex::new(Vec::new()), true));
    let rb = Arc::new(Recorder::default());
    let (a, b) = wired(&ca.connections, &ra, &cb.connections, &rb);
    a.initiate("peer").unwrap();
    // B installed its side, A could not: A closes, B removes its pair again
    assert!(wait(|| installs(&rb).len() == 1));
    let spi = installs(&rb)[0].inbound.spi;
    assert!(wait(|| rb.0.lock().unwrap().contains(&Err(spi))));
    assert!(wait(|| a.view().sas.is_empty() && b.view().sas.is_empty()));
    let v = a.view();
    assert_eq!(v.counters.install_failures, 1);
    assert!(v
        .events
        .iter()
        .any(|e| e.kind == "install_failed" && e.text.contains("no card")));
    a.stop();
    b.stop();
}

#[test]
fn reload_adds_and_starts_a_connection() {
    let mut ca = conf(true);
    if let Some(i) = ca.connections[0].ike.as_mut() {
        i.start_action = StartAction::Start;
    }
    let cb = conf(false);
    let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let (a, b) = wired(&[], &ra, &cb.connections, &rb);
    assert!(a.initiate("peer").is_err(), "not configured yet");
    assert_eq!(a.reload(ca.connections.clone()).unwrap(), 1);
    assert!(wait(|| installs(&ra).len() == 1 && installs(&rb).len() == 1));
    // the same configuration again: nothing new starts
    assert_eq!(a.reload(ca.connections).unwrap(), 1);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(a.view().sas.len(), 1);
    a.stop();
    b.stop();
}

#[test]
fn manual_connections_are_not_ike() {
    let c = Config::parse(
        Path::new("m.toml"),
        r#"
[connections.m]
local_addrs = ["192.0.2.1"]
remote_addrs = ["192.0.2.2"]
[connections.m.children.c]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
in_spi = 4096
out_spi = 4097
in_key = "0102030405060708090a0b0c0d0e0f1011121314"
out_key = "1102030405060708090a0b0c0d0e0f1011121314"
"#,
    )
    .unwrap();
    assert!(engine_connection(&c.connections[0]).unwrap().is_none());
}

#[test]
fn reload_without_a_connection_deletes_its_sas_and_refuses_its_logins() {
    let (ca, cb) = (conf(true), conf(false));
    let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let (a, b) = wired(&ca.connections, &ra, &cb.connections, &rb);
    a.initiate("peer").unwrap();
    assert!(wait(|| installs(&ra).len() == 1 && installs(&rb).len() == 1));
    assert!(wait(|| b
        .view()
        .sas
        .iter()
        .any(|s| s.state == "ESTABLISHED")));
    let (sa, sb) = (installs(&ra).remove(0), installs(&rb).remove(0));
    // B's configuration loses the connection: B deletes the IKE SA with A, and
    // both data paths lose the CHILD_SA
    assert_eq!(b.reload(vec![]), Ok(0));
    assert!(wait(|| {
        rb.0.lock().unwrap().contains(&Err(sb.inbound.spi))
            && ra.0.lock().unwrap().contains(&Err(sa.inbound.spi))
    }));
    assert!(wait(|| a.view().sas.is_empty() && b.view().sas.is_empty()));
    assert!(b
        .view()
        .events
        .iter()
        .any(|e| e.text.contains("removed by reload")));
    // B neither initiates nor accepts it any more
    assert!(b.initiate("peer").is_err());
    a.initiate("peer").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(installs(&ra).len(), 1);
    assert_eq!(installs(&rb).len(), 1);
    assert!(!b.view().sas.iter().any(|s| s.state == "ESTABLISHED"));
    // back in the configuration, it works again
    assert_eq!(b.reload(cb.connections.clone()), Ok(1));
    a.terminate("peer").unwrap();
    assert!(wait(|| a.view().sas.is_empty()));
    a.initiate("peer").unwrap();
    assert!(wait(|| installs(&ra).len() == 2 && installs(&rb).len() == 2));
    a.stop();
    b.stop();
}

#[test]
fn reload_with_a_new_psk_closes_the_sas_made_with_the_old_one() {
    let (ca, cb) = (conf(true), conf(false));
    let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let (a, b) = wired(&ca.connections, &ra, &cb.connections, &rb);
    a.initiate("peer").unwrap();
    assert!(wait(|| installs(&ra).len() == 1 && installs(&rb).len() == 1));
    assert!(wait(|| b
        .view()
        .sas
        .iter()
        .any(|s| s.state == "ESTABLISHED")));
    // the same configuration: the SA stays
    assert_eq!(b.reload(cb.connections.clone()), Ok(1));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(a.view().sas.len(), 1);
    let mut changed = cb.clone();
    if let Some(i) = changed.connections[0].ike.as_mut() {
        i.auth = crate::config::IkeAuth::Psk(crate::config::Secret(zeroize::Zeroizing::new(
            b"another-secret-4567".to_vec(),
        )));
    }
    assert_eq!(b.reload(changed.connections), Ok(1));
    assert!(wait(|| a.view().sas.is_empty() && b.view().sas.is_empty()));
    assert!(b
        .view()
        .events
        .iter()
        .any(|e| e.text.contains("changed by reload")));
    a.stop();
    b.stop();
}

#[test]
fn soft_lifetime_notices_rekey_the_child_sa_once() {
    let (ca, cb) = (conf(true), conf(false));
    let (ra, rb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let (a, _b) = wired(&ca.connections, &ra, &cb.connections, &rb);
    a.initiate("peer").unwrap();
    assert!(wait(|| installs(&ra).len() == 1 && installs(&rb).len() == 1));
    assert!(wait(|| a
        .view()
        .sas
        .iter()
        .any(|s| s.state == "ESTABLISHED")));
    let first = installs(&ra).remove(0);
    let notice = |spi: u32, direction| {
        IkeMsg::SoftExpired(crate::sa::SoftExpired {
            connection: "peer".into(),
            child: "net".into(),
            origin: Origin::Ike,
            inbound_spi: spi,
            outbound_spi: first.outbound.spi,
            direction,
        })
    };
    let send = |m| a.tx.lock().unwrap().send(m).unwrap();
    // an SA IKE does not know changes nothing
    send(notice(0x0bad_0bad, crate::sa::SaDirection::Out));
    // both halves reach their soft limit: one rekey
    send(notice(first.inbound.spi, crate::sa::SaDirection::Out));
    send(notice(first.inbound.spi, crate::sa::SaDirection::In));
    assert!(wait(|| installs(&ra).len() == 2 && installs(&rb).len() == 2));
    let second = installs(&ra).remove(1);
    assert_ne!(second.inbound.spi, first.inbound.spi, "new SPIs");
    assert_eq!(second.local_ts, first.local_ts);
    // the replaced SA's late notice starts nothing either
    send(notice(first.inbound.spi, crate::sa::SaDirection::In));
    assert!(wait(|| {
        let v = a.view();
        v.events.iter().any(|e| e.kind == "soft_lifetime")
            && v.events
                .iter()
                .any(|e| e.kind == "child_installed" && e.text.contains("replaces"))
    }));
    // the old pair goes away after the rekey; no third install
    assert!(wait(|| ra
        .0
        .lock()
        .unwrap()
        .contains(&Err(first.inbound.spi))));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(installs(&ra).len(), 2);
    assert_eq!(a.view().counters.soft_lifetime_rekeys, 1);
}
