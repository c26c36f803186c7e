//! Replays every file of the seed corpora (`fuzz/corpus/<target>/`) through its
//! target, and checks that the committed seeds are those the seed writer makes.

use std::path::Path;

use fuzz_targets::{seeds, Target, TARGETS};

fn corpus(t: &Target) -> Vec<(String, Vec<u8>)> {
    let dir = seeds::corpus_dir().join(t.name);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .map(|p| (name(&p), std::fs::read(&p).expect("corpus file")))
        .collect();
    files.sort();
    files
}

fn name(p: &Path) -> String {
    p.file_name().expect("file").to_string_lossy().into_owned()
}

fn replay(target: &str) {
    let t = TARGETS
        .iter()
        .find(|t| t.name == target)
        .expect("a target of that name");
    let files = corpus(t);
    assert!(!files.is_empty(), "{target}: empty corpus");
    for (name, data) in &files {
        let r = std::panic::catch_unwind(|| (t.run)(data));
        assert!(r.is_ok(), "{target}: input {name} panics");
    }
    // Every seed the writer makes is committed, as it makes it.
    for (name, data) in seeds::for_target(target) {
        let got = files.iter().find(|(n, _)| *n == name);
        assert_eq!(
            got.map(|(_, d)| d),
            Some(&data),
            "{target}: seed {name} missing or stale: run `cargo run -p fuzz-targets --bin fuzz-seeds`"
        );
    }
}

#[test]
fn esp_decap_corpus() {
    replay("esp_decap");
}

#[test]
fn ike_wire_corpus() {
    replay("ike_wire");
}

#[test]
fn ike_engine_corpus() {
    replay("ike_engine");
}

#[test]
fn cert_corpus() {
    replay("cert");
}

#[test]
fn config_corpus() {
    replay("config");
}

#[test]
fn control_corpus() {
    replay("control");
}

/// The seeds reach past the checks: the genuine ESP and AH packets are accepted.
#[test]
fn genuine_esp_seeds_are_accepted() {
    let seeds = fuzz_targets::esp_decap::seeds();
    assert_eq!(
        seeds.len(),
        2 * usize::from(fuzz_targets::esp_decap::SETUPS)
    );
    for (name, data) in seeds {
        assert!(fuzz_targets::esp_decap::accepted(&data), "{name} refused");
    }
}

/// The engine's exchange is deterministic (the committed seeds stay genuine) and
/// its genuine IKE_AUTH request sets up the CHILD_SA.
#[test]
fn genuine_ike_auth_seed_is_accepted() {
    use ikev2::Action;
    let mut p = fuzz_targets::ike_engine::pair();
    assert_eq!(
        fuzz_targets::ike_engine::pair().auth_request,
        p.auth_request
    );
    let acts = p.responder.handle_datagram(
        p.now,
        "10.9.0.2:500".parse().expect("address"),
        "10.9.0.1:500".parse().expect("address"),
        &p.auth_request,
    );
    assert!(acts.iter().any(|a| matches!(a, Action::InstallChildSa(_))));
}
