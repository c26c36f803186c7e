//! Interoperability with strongSwan 5.9.8 (Debian) in network namespaces.
//!
//! Each case runs `interop/strongswan.sh`: strongSwan's charon in one namespace, this
//! crate's `ike-interop` binary in the other. A case passes when strongSwan's
//! `swanctl --list-sas` shows the IKE SA ESTABLISHED and the CHILD_SA INSTALLED with the
//! SPIs our side chose, and the CHILD_SA keys our side derived equal the keys charon
//! logs (`chd = 4`). Needs root and strongSwan; fails with a clear message otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

/// Runs share nothing but CPU; one at a time keeps charon's timers honest on 2 cores.
static SERIAL: Mutex<()> = Mutex::new(());

const IKE_PROPOSALS: [&str; 4] = [
    "aes256gcm16-prfsha256-x25519",
    "aes256gcm16-prfsha256-ecp256",
    "aes256gcm16-prfsha384-ecp384",
    "aes128-sha256-x25519",
];

fn preflight() {
    let uid = Command::new("id").arg("-u").output().expect("run id -u");
    let uid = String::from_utf8_lossy(&uid.stdout).trim().to_string();
    assert_eq!(
        uid, "0",
        "strongSwan interop needs root (network namespaces, mount namespace for charon); run as root"
    );
    for p in ["/usr/lib/ipsec/charon", "/usr/sbin/swanctl"] {
        assert!(
            Path::new(p).exists(),
            "strongSwan interop needs {p}: apt-get install --no-install-recommends strongswan-charon \
             strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins"
        );
    }
    assert!(
        Path::new("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so").exists(),
        "strongSwan interop needs the kernel-libipsec plugin (libcharon-extra-plugins)"
    );
}

struct Run {
    dir: PathBuf,
    rc: i32,
    ours: Vec<Value>,
    sas: String,
    sas_end: String,
    log: String,
}

#[derive(Default)]
struct Opts<'a> {
    psk_ours: Option<&'a str>,
    psk_theirs: Option<&'a str>,
    extra: &'a str,
    linger: u32,
    ss_rekey: bool,
    /// Our IKE proposals, when they differ from strongSwan's.
    our_ike: Option<&'a str>,
    kill_peer: bool,
    /// strongSwan (initiator) also starts its second child.
    ss_child2: bool,
    /// More lines for strongSwan's child and connection blocks.
    ss_extra: &'a str,
    ss_conn_extra: &'a str,
    /// Authenticate with the certificates of tests/vectors/certs; strongSwan's
    /// certificate (and key) by name, normally "bob".
    certs: Option<&'a str>,
    /// More lines for charon's section of strongswan.conf.
    ss_charon_extra: &'a str,
}

fn run(name: &str, role: &str, ike: &str, esp: &str, o: Opts<'_>) -> Run {
    preflight();
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("ikev2-interop-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/strongswan.sh");
    let psk_ours = o.psk_ours.unwrap_or("interop-secret-0123456789");
    let psk_theirs = o.psk_theirs.unwrap_or(psk_ours);
    let mut cmd = Command::new("bash");
    cmd.arg(&script)
        .arg(&dir)
        .arg(role)
        .arg(ike)
        .arg(esp)
        .arg(psk_ours)
        .arg(psk_theirs)
        .env("IKE_INTEROP", env!("CARGO_BIN_EXE_ike-interop"))
        .env("EXTRA", o.extra)
        .env("LINGER", o.linger.max(1).to_string());
    if o.ss_rekey {
        cmd.env("SS_REKEY", "1");
    }
    if let Some(i) = o.our_ike {
        cmd.env("OUR_IKE", i);
    }
    if o.kill_peer {
        cmd.env("KILL_PEER", "1");
    }
    if o.ss_child2 {
        cmd.env("SS_CHILD2", "1");
    }
    cmd.env("SS_EXTRA", o.ss_extra)
        .env("SS_CONN_EXTRA", o.ss_conn_extra);
    cmd.env("SS_CHARON_EXTRA", o.ss_charon_extra);
    if let Some(c) = o.certs {
        cmd.env(
            "CERTS",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/certs"),
        )
        .env("SS_CERT", c);
    }
    let out = cmd.output().expect("run interop/strongswan.sh");
    assert!(
        out.status.success(),
        "{name}: interop script failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let rc = read("rc").trim().parse().unwrap_or(-1);
    let ours = read("ours.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Run {
        rc,
        ours,
        sas: read("sas.txt"),
        sas_end: read("sas_end.txt"),
        log: read("charon.log"),
        dir,
    }
}

impl Run {
    fn events(&self, kind: &str) -> Vec<&Value> {
        self.ours.iter().filter(|v| v["event"] == kind).collect()
    }
    fn context(&self) -> String {
        format!(
            "(run directory {}; our log: {})",
            self.dir.display(),
            std::fs::read_to_string(self.dir.join("ours.log")).unwrap_or_default()
        )
    }
    fn our_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ours.log")).unwrap_or_default()
    }
    fn cleanup(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Key dumps charon logs at `chd = 4`: (label, hex), in log order.
fn charon_keys(log: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = log.lines().peekable();
    while let Some(l) = lines.next() {
        let Some(pos) = l.find(" key => ") else {
            continue;
        };
        let label = l[..pos].rsplit(']').next().unwrap_or("").trim().to_string();
        if !label.starts_with("encryption") && !label.starts_with("integrity") {
            continue;
        }
        let mut hex = String::new();
        while let Some(n) = lines.peek() {
            let Some(rest) = n.split_once(": ").map(|x| x.1) else {
                break;
            };
            let head = n.split_once(": ").map(|x| x.0).unwrap_or("");
            if !head.trim_end().ends_with(|c: char| c.is_ascii_digit()) {
                break;
            }
            for tok in rest.split(' ') {
                if tok.len() != 2 || !tok.chars().all(|c| c.is_ascii_hexdigit()) {
                    break;
                }
                hex.push_str(&tok.to_ascii_lowercase());
            }
            lines.next();
        }
        out.push((label, hex));
    }
    out
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

/// Check one of our installs against charon's key dumps; `we_initiated`: we started
/// the exchange that created it.
fn check_keys(r: &Run, inst: &Value, we_initiated: bool) {
    let keys = charon_keys(&r.log);
    let out_key = format!("{}{}", s(inst, "enc_out"), s(inst, "salt_out"));
    let in_key = format!("{}{}", s(inst, "enc_in"), s(inst, "salt_in"));
    let (ik, rk) = if we_initiated {
        (&out_key, &in_key)
    } else {
        (&in_key, &out_key)
    };
    let has = |label: &str, hex: &str| keys.iter().any(|(l, h)| l == label && h == hex);
    assert!(
        has("encryption initiator", ik) && has("encryption responder", rk),
        "CHILD_SA keys differ from strongSwan's: ours i->r {ik} r->i {rk}; charon logged {keys:?} {}",
        r.context()
    );
    let integ_out = s(inst, "integ_out");
    if !integ_out.is_empty() {
        let integ_in = s(inst, "integ_in");
        let (ii, ri) = if we_initiated {
            (&integ_out, &integ_in)
        } else {
            (&integ_in, &integ_out)
        };
        assert!(
            has("integrity initiator", ii) && has("integrity responder", ri),
            "CHILD_SA integrity keys differ from strongSwan's {}",
            r.context()
        );
    }
}

/// strongSwan lists the IKE SA with our SPIs as ESTABLISHED and the CHILD_SA with
/// our SPIs as INSTALLED.
fn check_listing(r: &Run, listing: &str, ike: &Value, child: &Value) {
    let (l, rm) = (s(ike, "local_spi"), s(ike, "remote_spi"));
    let ike_line = listing
        .lines()
        .find(|x| x.contains(&l) && x.contains(&rm))
        .unwrap_or_else(|| {
            panic!(
                "IKE SA {l}/{rm} not in swanctl --list-sas:\n{listing}\n{}",
                r.context()
            )
        });
    assert!(ike_line.contains("ESTABLISHED"), "{ike_line}");
    let (cin, cout) = (s(child, "spi_in"), s(child, "spi_out"));
    // strongSwan's inbound SPI is our outbound one and vice versa.
    let block: Vec<&str> = listing.lines().collect();
    let pos = block
        .iter()
        .position(|x| x.trim_start().starts_with("in  ") && x.contains(&cout))
        .unwrap_or_else(|| panic!("CHILD_SA in {cout} not listed:\n{listing}\n{}", r.context()));
    assert!(block[pos + 1].contains(&format!("out {cin}")), "{listing}");
    let head = block[..pos]
        .iter()
        .rev()
        .find(|x| x.contains("reqid"))
        .expect("child header line");
    assert!(head.contains("INSTALLED"), "{head}");
}

fn established_case(name: &str, role: &str, ike: &str, esp: &str) {
    let r = run(name, role, ike, esp, Opts::default());
    assert_eq!(r.rc, 0, "{name}: our side failed {}", r.context());
    let ikes = r.events("ike_established");
    let inst = r.events("install");
    assert_eq!(
        (ikes.len(), inst.len()),
        (1, 1),
        "{name}: {:?} {}",
        r.ours,
        r.context()
    );
    assert_eq!(
        inst[0]["encap"], true,
        "kernel-libipsec forces UDP encapsulation"
    );
    check_listing(&r, &r.sas, ikes[0], inst[0]);
    check_keys(&r, inst[0], role == "initiator");
    r.cleanup();
}

#[test]
fn we_initiate_every_ike_proposal() {
    for (i, ike) in IKE_PROPOSALS.iter().enumerate() {
        established_case(&format!("init-ike{i}"), "initiator", ike, "aes128gcm16");
    }
}

#[test]
fn we_respond_every_ike_proposal() {
    for (i, ike) in IKE_PROPOSALS.iter().enumerate() {
        established_case(&format!("resp-ike{i}"), "responder", ike, "aes128gcm16");
    }
}

#[test]
fn esp_transforms_both_roles() {
    for role in ["initiator", "responder"] {
        for esp in ["aes256gcm16", "aes128-sha256"] {
            established_case(
                &format!("{role}-{esp}"),
                role,
                "aes256gcm16-prfsha256-x25519",
                esp,
            );
        }
    }
}

#[test]
fn wrong_psk_refused_both_roles() {
    for role in ["initiator", "responder"] {
        let r = run(
            &format!("psk-{role}"),
            role,
            "aes256gcm16-prfsha256-x25519",
            "aes128gcm16",
            Opts {
                psk_ours: Some("the-right-one"),
                psk_theirs: Some("a-wrong-one"),
                ..Opts::default()
            },
        );
        assert_eq!(r.rc, 2, "{role}: {}", r.context());
        let f = r.events("auth_failed");
        assert_eq!(f.len(), 1, "{role}: {:?}", r.ours);
        // As initiator the peer refuses us; as responder we refuse the peer.
        assert_eq!(f[0]["by_peer"], role == "initiator");
        assert!(r.events("install").is_empty());
        assert!(!r.sas.contains("ESTABLISHED"), "{}", r.sas);
        if role == "initiator" {
            assert!(r.log.contains("MAC mismatched"), "{}", r.context());
        } else {
            assert!(
                r.log
                    .contains("received AUTHENTICATION_FAILED notify error"),
                "{}",
                r.context()
            );
        }
        r.cleanup();
    }
}

#[test]
fn rekeys_both_roles() {
    for role in ["initiator", "responder"] {
        // Our side rekeys the CHILD_SA (with PFS) after 1 s and the IKE SA after 3 s.
        let r = run(
            &format!("rekey-ours-{role}"),
            role,
            "aes256gcm16-prfsha256-x25519",
            "aes256gcm16-x25519",
            Opts {
                extra: "--rekey-child-after 1 --rekey-ike-after 3",
                linger: 6,
                ..Opts::default()
            },
        );
        assert_eq!(r.rc, 0, "{}", r.context());
        let ikes = r.events("ike_established");
        let inst = r.events("install");
        assert_eq!(
            (ikes.len(), inst.len()),
            (2, 2),
            "{:?} {}",
            r.ours,
            r.context()
        );
        check_keys(&r, inst[0], role == "initiator");
        check_keys(&r, inst[1], true);
        check_listing(&r, &r.sas_end, ikes[1], inst[1]);
        assert!(
            !r.sas_end.contains(&s(ikes[0], "local_spi")),
            "old IKE SA still listed"
        );
        r.cleanup();

        // strongSwan rekeys the CHILD_SA, then the IKE SA.
        let r = run(
            &format!("rekey-theirs-{role}"),
            role,
            "aes256gcm16-prfsha256-ecp256",
            "aes128gcm16",
            Opts {
                linger: 5,
                ss_rekey: true,
                ..Opts::default()
            },
        );
        assert_eq!(r.rc, 0, "{}", r.context());
        let ikes = r.events("ike_established");
        let inst = r.events("install");
        assert_eq!(
            (ikes.len(), inst.len()),
            (2, 2),
            "{:?} {}",
            r.ours,
            r.context()
        );
        check_keys(&r, inst[1], false);
        check_listing(&r, &r.sas_end, ikes[1], inst[1]);
        r.cleanup();
    }
}

#[test]
fn invalid_ke_payload_retry_with_strongswan() {
    // We offer x25519 first; strongSwan only takes ECP-256 and asks for it.
    let r = run(
        "invalid-ke",
        "initiator",
        "aes256gcm16-prfsha256-ecp256",
        "aes128gcm16",
        Opts {
            our_ike: Some("aes256gcm16-prfsha256-x25519 aes256gcm16-prfsha256-ecp256"),
            ..Opts::default()
        },
    );
    assert_eq!(r.rc, 0, "{}", r.context());
    assert!(
        r.our_log().contains("peer asks for DH group 19"),
        "{}",
        r.context()
    );
    let (ikes, inst) = (r.events("ike_established"), r.events("install"));
    check_listing(&r, &r.sas, ikes[0], inst[0]);
    check_keys(&r, inst[0], true);
    r.cleanup();
}

#[test]
fn proposal_mismatch_explained_both_roles() {
    for role in ["initiator", "responder"] {
        let r = run(
            &format!("mismatch-{role}"),
            role,
            "aes256gcm16-prfsha256-x25519",
            "aes128gcm16",
            Opts {
                our_ike: Some("aes256gcm16-prfsha384-ecp384"),
                ..Opts::default()
            },
        );
        assert_eq!(r.rc, 2, "{}", r.context());
        assert_eq!(r.events("proposal_mismatch").len(), 1, "{:?}", r.ours);
        let log = r.our_log();
        assert!(
            log.contains("PRF_HMAC_SHA2_384/ECP_384"),
            "our offer is named: {log}"
        );
        if role == "initiator" {
            assert!(log.contains("NO_PROPOSAL_CHOSEN"), "{log}");
            assert!(
                r.log.contains("received proposals unacceptable"),
                "{}",
                r.context()
            );
        } else {
            assert!(
                log.contains("CURVE_25519") && log.contains("no common PRF"),
                "{log}"
            );
            assert!(
                r.log.contains("received NO_PROPOSAL_CHOSEN notify error"),
                "{}",
                r.context()
            );
        }
        assert!(!r.sas.contains("ESTABLISHED"));
        r.cleanup();
    }
}

#[test]
fn killed_peer_detected() {
    let r = run(
        "dead-peer",
        "initiator",
        "aes256gcm16-prfsha256-x25519",
        "aes128gcm16",
        Opts {
            extra: "--until closed --dpd 1 --retransmit-timeout-ms 300 --retransmit-tries 3",
            kill_peer: true,
            ..Opts::default()
        },
    );
    assert_eq!(r.rc, 0, "{}", r.context());
    let closed = r.events("ike_closed");
    assert_eq!(closed.len(), 1, "{:?}", r.ours);
    assert_eq!(closed[0]["reason"], "PeerDead");
    let inst = r.events("install");
    let del = r.events("delete");
    assert_eq!(del.len(), 1, "the CHILD_SA is removed with the IKE SA");
    assert_eq!(del[0]["spi_in"], inst[0]["spi_in"]);
    r.cleanup();
}

#[test]
fn we_respond_with_cookie_and_invalid_ke() {
    // We demand a cookie from strongSwan before keeping any state (RFC 7296 2.6).
    let r = run(
        "cookie",
        "responder",
        "aes256gcm16-prfsha256-x25519",
        "aes128gcm16",
        Opts {
            extra: "--cookie-threshold 0",
            ..Opts::default()
        },
    );
    assert_eq!(r.rc, 0, "{}", r.context());
    assert!(r.log.contains("received COOKIE notify"), "{}", r.context());
    let (ikes, inst) = (r.events("ike_established"), r.events("install"));
    check_listing(&r, &r.sas, ikes[0], inst[0]);
    check_keys(&r, inst[0], false);
    r.cleanup();

    // strongSwan offers x25519 first; we accept only its second proposal (ECP-256)
    // and ask for that group with INVALID_KE_PAYLOAD.
    let r = run(
        "invalid-ke-resp",
        "responder",
        "aes128-sha256-x25519, aes256gcm16-prfsha256-ecp256",
        "aes128gcm16",
        Opts {
            our_ike: Some("aes256gcm16-prfsha256-ecp256"),
            ..Opts::default()
        },
    );
    assert_eq!(r.rc, 0, "{}", r.context());
    assert!(
        r.log
            .contains("peer didn't accept DH group CURVE_25519, it requested ECP_256"),
        "{}",
        r.context()
    );
    let (ikes, inst) = (r.events("ike_established"), r.events("install"));
    check_listing(&r, &r.sas, ikes[0], inst[0]);
    assert!(
        r.sas.contains("AES_GCM_16-256/PRF_HMAC_SHA2_256/ECP_256"),
        "{}",
        r.sas
    );
    check_keys(&r, inst[0], false);
    r.cleanup();
}

#[test]
fn second_child_both_roles() {
    for role in ["initiator", "responder"] {
        // Both sides configure a second child (10.3/24 - 10.4/24), created with
        // CREATE_CHILD_SA after IKE_AUTH: by us as initiator, by strongSwan otherwise.
        let r = run(
            &format!("child2-{role}"),
            role,
            "aes256gcm16-prfsha256-x25519",
            "aes128gcm16",
            Opts {
                extra: "--second-child 10.3.0.0/24,10.4.0.0/24",
                linger: 3,
                ss_child2: role == "responder",
                ..Opts::default()
            },
        );
        assert_eq!(r.rc, 0, "{}", r.context());
        let (ikes, inst) = (r.events("ike_established"), r.events("install"));
        assert_eq!(inst.len(), 2, "{:?} {}", r.ours, r.context());
        assert!(r.events("delete").is_empty(), "{:?}", r.ours);
        for i in &inst {
            check_listing(&r, &r.sas_end, ikes[0], i);
            check_keys(&r, i, role == "initiator");
        }
        assert!(
            r.sas_end.contains("net2: #2") && r.sas_end.contains("10.4.0.0/24"),
            "{}",
            r.sas_end
        );
        r.cleanup();
    }
}

#[test]
fn rekey_storm_both_roles() {
    // Both sides rekey CHILD_SAs every ~4 s and the IKE SA every ~6 s for 20 s.
    for role in ["initiator", "responder"] {
        let r = run(
            &format!("storm-{role}"),
            role,
            "aes256gcm16-prfsha256-x25519",
            "aes128gcm16",
            Opts {
                extra: "--until time --child-rekey-time 4 --ike-rekey-time 6",
                linger: 20,
                ss_conn_extra: "rekey_time = 6s",
                ss_extra: "rekey_time = 4s",
                ..Opts::default()
            },
        );
        assert_eq!(r.rc, 0, "{}", r.context());
        let inst = r.events("install");
        assert!(inst.len() >= 3, "{:?}", r.ours);
        assert!(r.events("ike_established").len() >= 2, "{:?}", r.ours);
        assert!(r.events("auth_failed").is_empty());
        for i in &inst {
            // Rekeys come from either side: the keys match charon's in one direction.
            let keys = charon_keys(&r.log);
            let out_key = format!("{}{}", s(i, "enc_out"), s(i, "salt_out"));
            let in_key = format!("{}{}", s(i, "enc_in"), s(i, "salt_in"));
            let pair = |a: &str, b: &str| {
                keys.iter()
                    .any(|(l, h)| l == "encryption initiator" && h == a)
                    && keys
                        .iter()
                        .any(|(l, h)| l == "encryption responder" && h == b)
            };
            assert!(
                pair(&out_key, &in_key) || pair(&in_key, &out_key),
                "{}",
                r.context()
            );
        }
        // Our final state: one IKE SA with one live CHILD_SA, the same strongSwan lists.
        let fin = r.events("final");
        assert_eq!(fin.len(), 1, "{:?}", r.ours);
        let live: Vec<&Value> = fin[0]["children"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["rekeyed"] == false)
            .collect();
        assert_eq!(live.len(), 1, "{:?}", fin[0]);
        let ike = serde_json::json!({"local_spi": fin[0]["spi_i"], "remote_spi": fin[0]["spi_r"]});
        check_listing(&r, &r.sas_end, &ike, live[0]);
        r.cleanup();
    }
}

#[test]
fn certificates_both_roles() {
    // strongSwan offers RFC 7427 signature authentication by default (both sides
    // then use AUTH method 14); without it, ECDSA-256 (method 9).
    for (role, rfc7427) in [
        ("initiator", true),
        ("responder", true),
        ("initiator", false),
        ("responder", false),
    ] {
        // Different PSKs on the two sides: only the certificates can authenticate.
        let r = run(
            &format!("cert-{role}-{rfc7427}"),
            role,
            "aes256gcm16-prfsha256-x25519",
            "aes128gcm16",
            Opts {
                psk_ours: Some("psk-that-is-not-used"),
                psk_theirs: Some("another-psk-not-used"),
                certs: Some("bob"),
                ss_charon_extra: if rfc7427 {
                    ""
                } else {
                    "signature_authentication = no"
                },
                ..Opts::default()
            },
        );
        let method = if rfc7427 {
            "ECDSA_WITH_SHA256_DER"
        } else {
            "ECDSA-256 signature"
        };
        assert_eq!(r.rc, 0, "{role}: {}", r.context());
        let ikes = r.events("ike_established");
        let inst = r.events("install");
        assert_eq!((ikes.len(), inst.len()), (1, 1), "{role}: {}", r.context());
        check_listing(&r, &r.sas, ikes[0], inst[0]);
        check_keys(&r, inst[0], role == "initiator");
        // strongSwan checked our signature against our certificate and its CA.
        assert!(
            r.log.contains(&format!(
                "authentication of 'alice.example' with {method} successful"
            )),
            "{role} {rfc7427}: {}",
            r.context()
        );
        assert!(
            r.log
                .contains("using trusted ca certificate \"O=ikev2 test, CN=ikev2 test CA\""),
            "{role}"
        );
        r.cleanup();
    }
}

#[test]
fn certificate_from_an_untrusted_ca_refused_both_roles() {
    for role in ["initiator", "responder"] {
        // strongSwan shows a bob.example certificate from a CA we do not trust
        // (same name as ours, another key).
        let r = run(
            &format!("rogue-{role}"),
            role,
            "aes256gcm16-prfsha256-x25519",
            "aes128gcm16",
            Opts {
                certs: Some("rogue-bob"),
                ..Opts::default()
            },
        );
        assert_eq!(r.rc, 2, "{role}: {}", r.context());
        let f = r.events("auth_failed");
        assert_eq!(f.len(), 1, "{role}: {:?}", r.ours);
        assert_eq!(f[0]["by_peer"], false);
        assert!(
            r.our_log().contains("not issued by a trusted CA"),
            "{role}: {}",
            r.context()
        );
        assert!(r.events("install").is_empty());
        assert!(!r.sas.contains("ESTABLISHED"), "{}", r.sas);
        r.cleanup();
    }
}
