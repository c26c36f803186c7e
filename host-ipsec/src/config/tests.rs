//! The configuration's tests: defaults and errors (line and reason) of manually
//! keyed connections, then IKE settings ([`ike`]) and certificate files ([`cert`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::defaults;

const KEY20: &str = "0102030405060708090a0b0c0d0e0f1011121314";
const KEY20B: &str = "1102030405060708090a0b0c0d0e0f1011121314";

fn good() -> String {
    format!(
        r#"
[daemon]
name = "a"

[connections.b]
local_addrs = ["192.168.77.1"]
remote_addrs = ["192.168.77.2"]

[connections.b.children.net]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
in_spi = "0x1001"
out_spi = 4098
in_key = "{KEY20}"
out_key = "{KEY20B}"
"#
    )
}

/// (line, reason) of a configuration that must be refused.
fn err_of(src: &str) -> (usize, String) {
    match Config::parse(Path::new("x.toml"), src) {
        Err(ConfigError::Invalid { line, reason, .. }) => (line, reason),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn good_config_has_defaults() {
    let c = Config::parse(Path::new("x.toml"), &good()).unwrap();
    assert_eq!(c.daemon.control_socket, PathBuf::from("/run/ipsecd/a.sock"));
    let conn = &c.connections[0];
    assert_eq!(conn.encap, Encap::Udp);
    assert_eq!(conn.offload, OffloadPolicy::Auto);
    assert_eq!(conn.remote_port, 4500);
    let ch = &conn.children[0];
    assert_eq!(ch.inbound.spi, 0x1001);
    assert_eq!(ch.outbound.spi, 4098);
    assert_eq!(ch.mode, ModeKind::Tunnel);
    assert_eq!(ch.transform, Transform::AesGcm128);
    assert_eq!(ch.replay_window, 1024);
    assert_eq!(ch.inbound.key.as_bytes().len(), 20);
    assert!(ch.remote_ts[0].contains("10.2.0.77".parse().unwrap()));
    assert!(!ch.remote_ts[0].contains("10.3.0.1".parse().unwrap()));
}

#[test]
fn card_recover_interval_default_off_and_bad() {
    let c = Config::parse(Path::new("x.toml"), &good()).unwrap();
    assert_eq!(
        c.daemon.card_recover_interval,
        Some(defaults::CARD_RECOVER_INTERVAL)
    );
    let with = |v: &str| {
        good().replace(
            "name = \"a\"\n",
            &format!("name = \"a\"\ncard_recover_interval = {v}\n"),
        )
    };
    let c = Config::parse(Path::new("x.toml"), &with("\"0s\"")).unwrap();
    assert_eq!(c.daemon.card_recover_interval, None);
    let c = Config::parse(Path::new("x.toml"), &with("\"2m\"")).unwrap();
    assert_eq!(
        c.daemon.card_recover_interval,
        Some(Duration::from_secs(120))
    );
    let (line, reason) = err_of(&with("\"soon\""));
    assert_eq!(line, 4);
    assert!(reason.contains("card_recover_interval"), "{reason}");
}

#[test]
fn card_verify_default_values_and_bad() {
    let c = Config::parse(Path::new("x.toml"), &good()).unwrap();
    assert_eq!(c.daemon.verify, defaults::CARD_VERIFY);
    let with = |v: &str| good().replace("name = \"a\"\n", &format!("name = \"a\"\nverify = {v}\n"));
    for (text, want, every) in [
        ("\"all\"", CardVerify::All, 1),
        ("\"off\"", CardVerify::Off, 0),
        ("\"sample:1000\"", CardVerify::Sample(1000), 1000),
    ] {
        let c = Config::parse(Path::new("x.toml"), &with(text)).unwrap();
        assert_eq!(c.daemon.verify, want, "{text}");
        assert_eq!(c.daemon.verify.every(), every, "{text}");
        assert_eq!(format!("\"{}\"", c.daemon.verify), text);
    }
    for bad in [
        "\"some\"",
        "\"sample:1\"",
        "\"sample:\"",
        "\"sample:x\"",
        "\"sample:2000000\"",
    ] {
        let (line, reason) = err_of(&with(bad));
        assert_eq!(line, 4, "{bad}");
        assert!(reason.contains("verify"), "{bad}: {reason}");
    }
}

#[test]
fn bad_prefix_names_line() {
    let src = good().replace("10.2.0.0/24", "10.2.0.0/33");
    let (line, reason) = err_of(&src);
    assert_eq!(line, 11);
    assert!(reason.contains("prefix length"), "{reason}");
}

#[test]
fn unknown_mode_names_line() {
    let src = good().replace(
        "remote_ts = [\"10.2.0.0/24\"]",
        "remote_ts = [\"10.2.0.0/24\"]\nmode = \"tunel\"",
    );
    let (line, reason) = err_of(&src);
    assert_eq!(line, 12);
    assert!(reason.contains("tunel"), "{reason}");
}

#[test]
fn short_key_names_line_and_length() {
    let src = good().replacen(&format!("in_key = \"{KEY20}\""), "in_key = \"0102\"", 1);
    let (line, reason) = err_of(&src);
    assert_eq!(line, 14);
    assert!(
        reason.contains("2 bytes") && reason.contains("20"),
        "{reason}"
    );
}

#[test]
fn equal_in_and_out_keys_refused() {
    let src = good().replace(KEY20B, KEY20);
    let (line, reason) = err_of(&src);
    let at = 1 + src
        .lines()
        .position(|l| l.starts_with("out_key"))
        .expect("line");
    assert_eq!(line, at, "the out_key line");
    assert!(reason.contains("connection b, child net"), "{reason}");
    assert!(reason.contains("in_key and out_key are equal"), "{reason}");
}

#[test]
fn a_key_on_two_sas_refused() {
    const KEY20C: &str = "2102030405060708090a0b0c0d0e0f1011121314";
    let second = |in_key: &str, out_key: &str| {
        format!(
            r#"{}
[connections.c]
local_addrs = ["192.168.78.1"]
remote_addrs = ["192.168.78.2"]

[connections.c.children.other]
local_ts = ["10.3.0.0/24"]
remote_ts = ["10.4.0.0/24"]
in_spi = "0x2001"
out_spi = "0x2002"
in_key = "{in_key}"
out_key = "{out_key}"
"#,
            good()
        )
    };
    // distinct keys everywhere: accepted
    assert!(Config::parse(
        Path::new("x.toml"),
        &second(KEY20C, "3102030405060708090a0b0c0d0e0f1011121314")
    )
    .is_ok());
    // the same key in the same direction, and across directions
    for (ink, outk, dup, of) in [
        (KEY20, KEY20C, "in_key", "in_key"),
        (KEY20C, KEY20, "out_key", "in_key"),
        (KEY20B, KEY20C, "in_key", "out_key"),
    ] {
        let src = second(ink, outk);
        let (line, reason) = err_of(&src);
        let at = 1 + src
            .lines()
            .position(|l| l.contains("[connections.c]"))
            .expect("line");
        assert_eq!(line, at, "the second connection's line: {reason}");
        assert!(
            reason.contains(&format!(
                "connection c, child other: {dup} is the same key as {of} of connection b, child net"
            )),
            "{reason}"
        );
    }
}

#[test]
fn reserved_spi_refused() {
    let src = good().replace("out_spi = 4098", "out_spi = 7");
    let (line, reason) = err_of(&src);
    assert_eq!(line, 13);
    assert!(reason.contains("reserved"), "{reason}");
}

#[test]
fn unknown_field_refused() {
    let src = good().replace("[daemon]", "[daemon]\ncolour = 1");
    let (line, reason) = err_of(&src);
    assert_eq!(line, 3);
    assert!(reason.contains("colour"), "{reason}");
}

#[test]
fn transport_defaults_to_host_selectors() {
    let src = good().replace(
        "local_ts = [\"10.1.0.0/24\"]\nremote_ts = [\"10.2.0.0/24\"]",
        "mode = \"transport\"",
    );
    let c = Config::parse(Path::new("x.toml"), &src).unwrap();
    let ch = &c.connections[0].children[0];
    assert_eq!(
        ch.local_ts,
        vec![IpPrefix::host("192.168.77.1".parse().unwrap())]
    );
}

#[test]
fn key_debug_is_redacted() {
    let c = Config::parse(Path::new("x.toml"), &good()).unwrap();
    let s = format!("{c:?}");
    assert!(!s.contains("0102030405"), "{s}");
    assert!(s.contains("redacted"));
}

#[test]
fn ike_limits_have_defaults_and_ranges() {
    let c = Config::parse(Path::new("x.toml"), &good()).unwrap();
    assert_eq!(c.daemon.ike_limits, IkeLimits::default());
    assert_eq!(
        c.daemon.ike_limits.half_open_limit,
        ikev2::EngineConfig::default().half_open_limit
    );
    let set = good().replace(
        "name = \"a\"",
        "name = \"a\"\nike_half_open_limit = 100\nike_half_open_per_source = 4\nike_cookie_threshold = 0\nike_cookie_secret_lifetime = \"5m\"\nike_max_child_sas = 2",
    );
    let c = Config::parse(Path::new("x.toml"), &set).unwrap();
    assert_eq!(
        c.daemon.ike_limits,
        IkeLimits {
            half_open_limit: 100,
            half_open_per_source: 4,
            cookie_threshold: 0,
            cookie_secret_lifetime: Duration::from_secs(300),
            max_child_sas: 2,
        }
    );
    for (line, want) in [
        (
            "ike_half_open_limit = 0",
            "ike_half_open_limit must be 1..=1000000",
        ),
        (
            "ike_half_open_limit = 10\nike_half_open_per_source = 11",
            "ike_half_open_per_source must be 1..=10",
        ),
        (
            "ike_cookie_threshold = 2000",
            "ike_cookie_threshold must be 0..=",
        ),
        (
            "ike_cookie_secret_lifetime = \"0s\"",
            "ike_cookie_secret_lifetime must be 1s..=1d",
        ),
        (
            "ike_cookie_secret_lifetime = \"2d\"",
            "ike_cookie_secret_lifetime must be 1s..=1d",
        ),
        (
            "ike_max_child_sas = 0",
            "ike_max_child_sas must be 1..=4096",
        ),
    ] {
        let (l, r) = err_of(&good().replace("name = \"a\"", &format!("name = \"a\"\n{line}")));
        assert!(r.contains(want), "{line}: {r}");
        assert_eq!(l, 4 + line.matches('\n').count(), "{line}");
    }
}

mod ike {
    use super::*;

    const IKE: &str = r#"[daemon]
name = "a"

[connections.b]
local_addrs = ["192.168.77.1"]
remote_addrs = ["192.168.77.2"]
local_id = "alice.example"
remote_id = "bob.example"
psk = "a-secret-of-some-length"
proposals = "aes256gcm16-prfsha256-x25519, aes128-sha256-ecp256"
rekey_time = "4h"
dpd_delay = 30
start_action = "start"

[connections.b.children.net]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
esp_proposals = "aes128gcm16,aes256gcm16-x25519"
rekey_time = "10m"
life_time = "11m"
"#;

    #[test]
    fn ike_connection_parses() {
        let c = Config::parse(Path::new("x.toml"), IKE).unwrap();
        let conn = &c.connections[0];
        assert!(conn.children.is_empty());
        let ike = conn.ike.as_ref().unwrap();
        assert_eq!(ike.local_id, "alice.example");
        assert_eq!(ike.proposals.len(), 2);
        assert_eq!(ike.rekey_time, Some(Duration::from_secs(4 * 3600)));
        assert_eq!(ike.dpd_delay, Some(Duration::from_secs(30)));
        assert_eq!(ike.start_action, StartAction::Start);
        assert_eq!(ike.dpd_action, DpdAction::Clear);
        let c = Config::parse(
            Path::new("x.toml"),
            &IKE.replace("dpd_delay = 30", "dpd_delay = 30\ndpd_action = \"restart\""),
        )
        .unwrap();
        assert_eq!(
            c.connections[0].ike.as_ref().unwrap().dpd_action,
            DpdAction::Restart
        );
        match &ike.auth {
            IkeAuth::Psk(p) => assert_eq!(p.0.as_slice(), b"a-secret-of-some-length"),
            other => panic!("not a PSK: {other:?}"),
        }
        let ch = &ike.children[0];
        assert_eq!(ch.esp_proposals, vec!["aes128gcm16", "aes256gcm16-x25519"]);
        assert_eq!(ch.rekey_time, Some(Duration::from_secs(600)));
        assert_eq!(ch.life_time, Some(Duration::from_secs(660)));
        assert_eq!(c.daemon.ike_retransmit_tries, 5);
        // the secret never shows in Debug
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("a-secret-of"), "{dbg}");
    }

    #[test]
    fn child_packet_and_byte_lifetimes() {
        let src = IKE.replace(
            "life_time = \"11m\"",
            "life_time = \"11m\"\nrekey_packets = 300\nlife_packets = 400\nrekey_bytes = 1000000",
        );
        let c = Config::parse(Path::new("x.toml"), &src).unwrap();
        let ch = &c.connections[0].ike.as_ref().unwrap().children[0];
        assert_eq!(
            ch.lifetime,
            esp::Lifetime {
                soft_packets: Some(300),
                hard_packets: Some(400),
                soft_bytes: Some(1_000_000),
                hard_bytes: None,
                soft_seq: None,
            }
        );
        // a soft limit at or above its hard one names the child
        let (line, r) = err_of(&src.replace("life_packets = 400", "life_packets = 300"));
        assert_eq!(line, 15);
        assert!(
            r.contains("life_packets (300) must be larger than rekey_packets (300)"),
            "{r}"
        );
        // manual children take them too (soft: a warning, no rekey)
        let m = Config::parse(
            Path::new("x.toml"),
            &format!("{}rekey_packets = 7\nlife_packets = 9\n", super::good()),
        )
        .unwrap();
        let l = m.connections[0].children[0].lifetime;
        assert_eq!((l.soft_packets, l.hard_packets), (Some(7), Some(9)));
    }

    #[test]
    fn ike_errors_name_line_and_reason() {
        let (line, r) = err_of(&IKE.replace("aes128-sha256-ecp256", "aes128-sha256-ecp999"));
        assert_eq!(line, 10);
        assert!(r.contains("ecp999"), "{r}");
        let (line, r) = err_of(&IKE.replace("\"aes128gcm16,", "\"aes128gcm17,"));
        assert_eq!(line, 18);
        assert!(r.contains("aes128gcm17"), "{r}");
        let (line, r) = err_of(&IKE.replace("\"10m\"", "\"10x\""));
        assert_eq!(line, 19);
        assert!(r.contains("not a time"), "{r}");
        let (line, r) = err_of(&IKE.replace("\"11m\"", "\"5m\""));
        assert_eq!(line, 15);
        assert!(r.contains("life_time must be longer"), "{r}");
        let (line, r) = err_of(&IKE.replace("\"start\"", "\"sometimes\""));
        assert_eq!(line, 13);
        assert!(r.contains("sometimes"), "{r}");
        let (line, r) = err_of(&IKE.replace("a-secret-of-some-length", "short"));
        assert_eq!(line, 9);
        assert!(r.contains("psk shorter"), "{r}");
        assert!(!r.contains("short\""), "{r}");
        let (line, r) =
            err_of(&IKE.replace("life_time = \"11m\"", "life_time = \"11m\"\nin_spi = 4096"));
        assert_eq!(line, 21);
        assert!(r.contains("negotiated by IKE"), "{r}");
        // an IKE setting on a manual connection
        let manual = IKE
            .replace("psk = \"a-secret-of-some-length\"\n", "")
            .replace("start_action = \"start\"\n", "");
        let (line, r) = err_of(&manual);
        assert_eq!(line, 7);
        assert!(r.contains("no psk"), "{r}");
    }
}

mod cert {
    use super::*;

    // The fixture certificates of the ikev2 crate (made by
    // ikev2/interop/make-certs.sh), named relative to this crate's directory, where
    // the test's configuration "file" lives.
    const CERT: &str = r#"[daemon]
name = "a"

[connections.b]
local_addrs = ["192.168.77.1"]
remote_addrs = ["192.168.77.2"]
local_id = "alice.example"
remote_id = "bob.example"
cert = "../ikev2/tests/vectors/certs/alice.pem"
key = "../ikev2/tests/vectors/certs/alice.key"
cacerts = ["../ikev2/tests/vectors/certs/ca.pem"]

[connections.b.children.net]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
"#;

    fn file() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("x.toml")
    }

    fn parse(src: &str) -> Result<Config, ConfigError> {
        Config::parse(&file(), src)
    }

    fn err_of(src: &str) -> (usize, String) {
        match parse(src) {
            Err(ConfigError::Invalid {
                line,
                reason,
                file: f,
            }) => {
                assert_eq!(f, file());
                (line, reason)
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn certificate_connection_loads_with_paths_resolved() {
        let c = parse(CERT).unwrap();
        let ike = c.connections[0].ike.as_ref().unwrap();
        assert_eq!(ike.auth.method(), "pubkey");
        let IkeAuth::Pubkey(p) = &ike.auth else {
            panic!("not pubkey")
        };
        let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ikev2/tests/vectors/certs");
        assert_eq!(p.cert, certs.join("alice.pem"));
        assert_eq!(p.key, certs.join("alice.key"));
        assert_eq!(p.cacerts, vec![certs.join("ca.pem")]);
        assert!(p.cert_auth().is_ok());
        // an explicit auth that agrees is accepted
        let c2 = parse(&CERT.replace("cert = ", "auth = \"pubkey\"\ncert = ")).unwrap();
        assert_eq!(
            c2.connections[0].ike.as_ref().unwrap().auth.method(),
            "pubkey"
        );
        // the private key never shows in Debug
        let key = std::fs::read_to_string(certs.join("alice.key")).unwrap();
        let body = key.lines().nth(1).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(body), "{dbg}");
        assert!(dbg.contains("redacted"), "{dbg}");
    }

    #[test]
    fn absolute_paths_are_kept() {
        let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ikev2/tests/vectors/certs");
        let src = CERT.replace("../ikev2/tests/vectors/certs", &certs.display().to_string());
        let c = Config::parse(Path::new("/nowhere/x.toml"), &src).unwrap();
        let IkeAuth::Pubkey(p) = &c.connections[0].ike.as_ref().unwrap().auth else {
            panic!("not pubkey")
        };
        assert_eq!(p.cert, certs.join("alice.pem"));
    }

    #[test]
    fn unreadable_certificate_names_line_and_file() {
        let (line, r) = err_of(&CERT.replace("alice.pem", "missing.pem"));
        assert_eq!(line, 9);
        assert!(
            r.contains("missing.pem") && r.contains("cannot read"),
            "{r}"
        );
        let (line, r) = err_of(&CERT.replace("ca.pem", "no-ca.pem"));
        assert_eq!(line, 11);
        assert!(r.contains("no-ca.pem") && r.contains("cannot read"), "{r}");
    }

    #[test]
    fn invalid_certificate_is_refused() {
        // a private key where the certificate should be
        let (line, r) = err_of(&CERT.replace("alice.pem", "bob.key"));
        assert_eq!(line, 9);
        assert!(
            r.contains("bob.key") && r.contains("not an X.509 certificate"),
            "{r}"
        );
        // the same for the second of two CAs: the line of the list, the file named
        let (line, r) = err_of(&CERT.replace(
            "certs/ca.pem\"]",
            "certs/ca.pem\",\n  \"../ikev2/tests/vectors/certs/ca.key\"]",
        ));
        assert_eq!(line, 12);
        assert!(
            r.contains("ca.key") && r.contains("CA certificate 2"),
            "{r}"
        );
    }

    #[test]
    fn key_not_matching_the_certificate_is_refused() {
        let (line, r) = err_of(&CERT.replace("alice.key", "bob.key"));
        assert_eq!(line, 10);
        assert!(r.contains("bob.key") && r.contains("does not match"), "{r}");
        // something that is not a key at all
        let (line, r) = err_of(&CERT.replace("alice.key", "alice.pem"));
        assert_eq!(line, 10);
        assert!(r.contains("private key"), "{r}");
        assert!(!r.contains("BEGIN"), "{r}");
    }

    #[test]
    fn psk_and_certificates_do_not_mix() {
        let (line, r) =
            err_of(&CERT.replace("cert = ", "psk = \"a-secret-of-some-length\"\ncert = "));
        assert_eq!(line, 10);
        assert!(r.contains("psk mixed with cert"), "{r}");
        assert!(!r.contains("a-secret-of"), "{r}");
        let (line, r) = err_of(&CERT.replace("cert = ", "auth = \"psk\"\ncert = "));
        assert_eq!(line, 10);
        assert!(r.contains("auth = \"psk\" needs a psk"), "{r}");
        let psk = CERT
            .replace("cert = \"../ikev2/tests/vectors/certs/alice.pem\"\n", "")
            .replace("key = \"../ikev2/tests/vectors/certs/alice.key\"\n", "")
            .replace(
                "cacerts = [\"../ikev2/tests/vectors/certs/ca.pem\"]\n",
                "auth = \"pubkey\"\npsk = \"a-secret-of-some-length\"\n",
            );
        let (line, r) = err_of(&psk);
        assert_eq!(line, 10);
        assert!(r.contains("auth = \"pubkey\" needs cert"), "{r}");
        let (line, r) = err_of(&CERT.replace("cert = ", "auth = \"rsa\"\ncert = "));
        assert_eq!(line, 9);
        assert!(r.contains("'rsa' unknown"), "{r}");
    }

    #[test]
    fn incomplete_certificate_settings_are_refused() {
        let (line, r) =
            err_of(&CERT.replace("key = \"../ikev2/tests/vectors/certs/alice.key\"\n", ""));
        assert_eq!(line, 4);
        assert!(r.contains("needs cert, key and cacerts"), "{r}");
        let (line, r) = err_of(&CERT.replace("[\"../ikev2/tests/vectors/certs/ca.pem\"]", "[]"));
        assert_eq!(line, 11);
        assert!(r.contains("cacerts is empty"), "{r}");
    }
}
