//! The checked-in design folder `bitstreams/esp-engine-v<LAYOUT_VERSION>/` is what
//! the generator writes today, and its Verilog lints clean under Verilator.

use std::process::Command;

use hw::bundle;

#[test]
fn checked_in_bundle_is_current() {
    let dir = bundle::design_dir();
    let resources = std::fs::read(dir.join(bundle::RESOURCES)).ok();
    for (name, expected) in bundle::expected_files(resources.as_deref()) {
        let path = dir.join(name);
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            on_disk == expected,
            "{} is stale: run `cargo run -p hw --release --bin gen-rtl`",
            path.display()
        );
    }
}

/// Verilator warnings waived for rust-hdl output, each for one reason:
const WAIVERS: &[&str] = &[
    // rust-hdl writes unsized literals and lets assignments truncate/extend; widths
    // are checked by rust-hdl's own `Bits<N>` types before any Verilog is written.
    "-Wno-WIDTH",
    // every module of the design is in one file, top.v.
    "-Wno-DECLFILENAME",
    // rust-hdl declares every state of an enum as a localparam in each module that
    // uses the enum type, used or not.
    "-Wno-UNUSEDPARAM",
    // fields are taken out of wide words (SA context, tuser, shifted views), so some
    // bits of those words are deliberately never read.
    "-Wno-UNUSEDSIGNAL",
    // each module has one combinational always block that drives sub-block inputs and
    // reads their outputs; Verilator sees that as a loop, rust-hdl's own loop check
    // (run by `generate_verilog`) proves there is none.
    "-Wno-UNOPTFLAT",
];

#[test]
fn verilog_lints_clean_under_verilator() {
    let top = bundle::design_dir().join(bundle::TOP_V);
    let out = Command::new("verilator")
        .arg("--lint-only")
        .arg("-Wall")
        .args(WAIVERS)
        .arg(&top)
        .output()
        .unwrap_or_else(|e| panic!("cannot run verilator (scripts/setup.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "verilator lint of {} failed:\n{}",
        top.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
