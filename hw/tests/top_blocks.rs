//! Each part of `Top` (register file, receive, issue, output side and tail, send) is a
//! block of its own: its Verilog is generated and lints clean under Verilator.
//! (Their behaviour together is `top_sim.rs`, and at packet level the `sim` crate.)

mod common;

use common::lint_verilog;
use hw::top::{Issue, RegFile, Rx, Tail, Tx};
use rust_hdl::prelude::*;

/// The waivers `generated.rs` justifies for the whole design, for the same reasons:
/// unsized literals (`WIDTH`), enum states declared in every module (`UNUSEDPARAM`),
/// fields taken out of wider words (`UNUSEDSIGNAL`), and one combinational block per
/// module that drives sub-block inputs and reads their outputs (`UNOPTFLAT`, proven
/// loop-free by rust-hdl's own check).
const WAIVERS: &[&str] = &[
    "-Wno-WIDTH",
    "-Wno-UNUSEDPARAM",
    "-Wno-UNUSEDSIGNAL",
    "-Wno-UNOPTFLAT",
];

fn lint_block<U: Block>(name: &str, mut uut: U) {
    uut.connect_all();
    lint_verilog(name, &generate_verilog(&uut), WAIVERS);
}

#[test]
fn regfile_verilog_lints_clean() {
    lint_block("top_regfile", RegFile::new());
}

#[test]
fn rx_verilog_lints_clean() {
    lint_block("top_rx", Rx::default());
}

#[test]
fn issue_verilog_lints_clean() {
    lint_block("top_issue", Issue::new());
}

#[test]
fn tail_verilog_lints_clean() {
    lint_block("top_tail", Tail::new());
}

#[test]
fn tx_verilog_lints_clean() {
    lint_block("top_tx", Tx::default());
}
