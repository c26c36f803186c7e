//! Target `config`: the daemon's configuration parser and validator
//! (`host_ipsec::config::Config::parse`). The text is taken as a file in the
//! repository's `examples/`, so the example configurations' relative certificate
//! paths resolve and the certificate loading runs too. Invariant: an error names
//! a line inside the text (or 0 for none).

use std::path::{Path, PathBuf};

use host_ipsec::config::{Config, ConfigError};

/// Where the fuzzed text pretends to live: relative paths in it resolve next to the
/// example configurations.
fn file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/fuzz.toml")
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The configuration names files the daemon reads; device and kernel files
    // (/dev/zero, /proc/kcore) would only make the run hang or run out of memory.
    if ["/dev", "/proc", "/sys"].iter().any(|d| text.contains(d)) {
        return;
    }
    match Config::parse(&file(), text) {
        Ok(_) => {}
        Err(ConfigError::Invalid { line, .. }) => {
            let lines = text.split('\n').count();
            assert!(line <= lines, "error at line {line} of {lines}");
        }
        Err(ConfigError::Read { .. }) => {}
    }
}

/// Seed inputs: every configuration in `examples/`.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .filter_map(|p| {
                    let name = p.file_stem()?.to_string_lossy().into_owned();
                    Some((format!("seed-{name}"), std::fs::read(&p).ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
