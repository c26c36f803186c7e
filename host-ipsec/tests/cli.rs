//! `ipsecctl check-config` and `ipsecd` on bad input, through the real binaries.

use std::process::Command;

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("ipsecctl-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD: &str = r#"[daemon]
name = "t"

[connections.peer]
local_addrs = ["192.168.77.1"]
remote_addrs = ["192.168.77.2"]

[connections.peer.children.net]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
in_spi = "0x1001"
out_spi = "0x1002"
in_key = "0102030405060708090a0b0c0d0e0f1011121314"
out_key = "1102030405060708090a0b0c0d0e0f1011121314"
"#;

#[test]
fn check_config_accepts_good_file() {
    let f = write("good.toml", GOOD);
    let out = Command::new(env!("CARGO_BIN_EXE_ipsecctl"))
        .arg("check-config")
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK (1 connections, 1 children)"));
    std::fs::remove_file(f).unwrap();
}

#[test]
fn check_config_names_file_line_and_reason() {
    let f = write(
        "bad.toml",
        &GOOD.replace(
            "remote_ts = [\"10.2.0.0/24\"]",
            "remote_ts = [\"10.2.0.300/24\"]",
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ipsecctl"))
        .arg("check-config")
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:10:", f.display())), "{err}");
    assert!(err.contains("not an IP address"), "{err}");
    std::fs::remove_file(f).unwrap();
}

#[test]
fn ipsecd_refuses_bad_config_without_starting() {
    let f = write(
        "bad2.toml",
        &GOOD.replace("in_spi = \"0x1001\"", "in_spi = \"0x10\""),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ipsecd"))
        .arg("--config")
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":11:") && err.contains("reserved"), "{err}");
    std::fs::remove_file(f).unwrap();
}

#[test]
fn keys_never_in_check_config_output() {
    let f = write("keys.toml", GOOD);
    let out = Command::new(env!("CARGO_BIN_EXE_ipsecctl"))
        .args(["--json", "check-config"])
        .arg(&f)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("0102030405"), "{all}");
    std::fs::remove_file(f).unwrap();
}

#[test]
fn shipped_examples_are_valid() {
    let ex = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for f in [
        "site-a.toml",
        "site-b.toml",
        "ike-site-a.toml",
        "ike-site-b.toml",
        "ike-cert-site-a.toml",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ipsecctl"))
            .arg("check-config")
            .arg(ex.join(f))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    host_ipsec::lab::load_sa(&ex.join("lab-sa.toml")).unwrap();
}

#[test]
fn card_probe_reports_the_model_cards_identity() {
    let out = Command::new(env!("CARGO_BIN_EXE_ipsecctl"))
        .args(["card", "probe", "--backend", "model", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["identity"]["magic"], regmap::MAGIC);
    assert_eq!(j["identity"]["layout_version"], regmap::LAYOUT_VERSION);
    assert_eq!(j["backend"], "model");
}

#[test]
fn card_probe_without_vfio_says_so() {
    let out = Command::new(env!("CARGO_BIN_EXE_ipsecctl"))
        .args(["card", "probe", "--backend", "vfio:0000:00:03.0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(err.contains("vfio"), "{err}");
}

const IKE: &str = r#"[daemon]
name = "t"

[connections.peer]
local_addrs = ["192.168.77.1"]
remote_addrs = ["192.168.77.2"]
local_id = "alice.example"
remote_id = "bob.example"
psk = "a-pre-shared-key-for-the-cli-test"
proposals = "aes256gcm16-prfsha256-x25519"
start_action = "trap"

[connections.peer.children.net]
local_ts = ["10.1.0.0/24"]
remote_ts = ["10.2.0.0/24"]
esp_proposals = "aes128gcm16, aes128-sha256"
rekey_time = "1h"
"#;

#[test]
fn check_config_covers_ike_connections() {
    let f = write("ike.toml", IKE);
    let out = Command::new(env!("CARGO_BIN_EXE_ipsecctl"))
        .arg("check-config")
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("OK (1 connections, 1 children)"), "{text}");
    assert!(!text.contains("pre-shared-key"), "{text}");
    for (bad, line, why) in [
        ("x25519\"", 10, "ecp9"),
        ("\"trap\"", 11, "traps"),
        ("\"1h\"", 17, "not a time"),
    ] {
        let replacement = match why {
            "ecp9" => "ecp9\"",
            "traps" => "\"traps\"",
            _ => "\"1 hour\"",
        };
        let f2 = write("ike-bad.toml", &IKE.replace(bad, replacement));
        let out = Command::new(env!("CARGO_BIN_EXE_ipsecctl"))
            .arg("check-config")
            .arg(&f2)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{}:{line}:", f2.display())), "{err}");
        assert!(err.contains(why), "{err}");
        assert!(!err.contains("pre-shared-key"), "{err}");
        std::fs::remove_file(f2).unwrap();
    }
    std::fs::remove_file(f).unwrap();
}

#[test]
fn check_config_reports_certificate_errors_with_file_and_line() {
    // the ikev2 crate's test certificates (ikev2/interop/make-certs.sh)
    let certs =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ikev2/tests/vectors/certs");
    let c = certs.display();
    let good = format!(
        "[daemon]\nname = \"t\"\n\n[connections.peer]\nlocal_addrs = [\"192.168.77.1\"]\nremote_addrs = [\"192.168.77.2\"]\n\
         local_id = \"alice.example\"\nremote_id = \"bob.example\"\ncert = \"{c}/alice.pem\"\nkey = \"{c}/alice.key\"\n\
         cacerts = [\"{c}/ca.pem\"]\n\n[connections.peer.children.net]\nlocal_ts = [\"10.1.0.0/24\"]\nremote_ts = [\"10.2.0.0/24\"]\n"
    );
    let check = |name: &str, text: &str| {
        let f = write(name, text);
        let out = Command::new(env!("CARGO_BIN_EXE_ipsecctl"))
            .arg("check-config")
            .arg(&f)
            .output()
            .unwrap();
        std::fs::remove_file(&f).unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            f,
        )
    };
    let (ok, all, _) = check("cert-good.toml", &good);
    assert!(ok, "{all}");
    let key = std::fs::read_to_string(certs.join("bob.key")).unwrap();
    let key_body = key.lines().nth(1).unwrap().to_string();
    for (name, text, line, reason) in [
        (
            "cert-mismatch.toml",
            good.replace("alice.key", "bob.key"),
            10,
            "does not match",
        ),
        (
            "cert-missing.toml",
            good.replace("alice.pem", "nobody.pem"),
            9,
            "cannot read",
        ),
        (
            "cert-invalid.toml",
            good.replace("alice.pem", "bob.key"),
            9,
            "not an X.509 certificate",
        ),
        (
            "cert-mixed.toml",
            good.replace("cert = ", "psk = \"a-secret-of-some-length\"\ncert = "),
            10,
            "psk mixed with cert",
        ),
    ] {
        let (ok, all, f) = check(name, &text);
        assert!(!ok, "{name}: {all}");
        assert!(
            all.contains(&format!("{}:{line}:", f.display())),
            "{name}: {all}"
        );
        assert!(all.contains(reason), "{name}: {all}");
        assert!(
            !all.contains(&key_body),
            "{name}: key material in the output: {all}"
        );
    }
}
