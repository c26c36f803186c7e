//! Fuzz target bodies, one module per target, each a plain `run(&[u8])` that must
//! never panic for any input and asserts what it can about the result.
//!
//! The cargo-fuzz crate in `fuzz/` (outside the workspace) calls these functions
//! from libFuzzer; the tests of this crate replay every file of the seed corpora
//! in `fuzz/corpus/<target>/` through the same functions, so the default test
//! suite checks the corpora. [`seeds`] makes the seed inputs (the `fuzz-seeds`
//! binary writes them to `fuzz/corpus`).

pub mod cert;
pub mod config;
pub mod control;
pub mod esp_decap;
pub mod ike_engine;
pub mod ike_wire;
pub mod seeds;

/// One fuzz target: its name (the cargo-fuzz binary and the corpus folder) and body.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the cargo-fuzz target and of its corpus folder `fuzz/corpus/<name>`.
    pub name: &'static str,
    /// The body: runs one input; panics only on a broken invariant.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: [Target; 6] = [
    Target {
        name: "esp_decap",
        run: esp_decap::run,
    },
    Target {
        name: "ike_wire",
        run: ike_wire::run,
    },
    Target {
        name: "ike_engine",
        run: ike_engine::run,
    },
    Target {
        name: "cert",
        run: cert::run,
    },
    Target {
        name: "config",
        run: config::run,
    },
    Target {
        name: "control",
        run: control::run,
    },
];
