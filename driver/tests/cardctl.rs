//! The lab CLI end to end on the model backend.

use std::process::Command;

#[test]
fn probe_prints_table_and_json() {
    let exe = env!("CARGO_BIN_EXE_cardctl");
    let out = Command::new(exe)
        .args(["probe", "--backend", "model", "--seed"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("SA table         2 / 1024 valid"), "{table}");
    assert!(table.contains("out packets      3"), "{table}");

    let out = Command::new(exe)
        .args(["probe", "--backend", "model", "--seed", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["identity"]["magic"], regmap::MAGIC);
    assert_eq!(j["sa_valid"], 2);
    assert_eq!(j["counters"]["out_pkts"], 3);
}

#[test]
fn probe_without_vfio_or_with_a_bad_backend_fails_with_a_reason() {
    let exe = env!("CARGO_BIN_EXE_cardctl");
    let out = Command::new(exe)
        .args(["probe", "--backend", "pcie"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend"));
    if !std::path::Path::new("/dev/vfio/vfio").exists() {
        let out = Command::new(exe)
            .args(["probe", "--backend", "vfio:0000:03:00.0"])
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("no VFIO on this host"));
    }
}
