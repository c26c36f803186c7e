#![doc = include_str!("../README.md")]
// rust-hdl blocks are bundles of signals; a Debug dump of one says nothing useful.
#![allow(missing_debug_implementations)]
pub mod aes;
pub mod aes_table;
pub mod bundle;
pub mod crypto;
pub mod dma;
pub mod ghash;
pub mod keyexp;
pub mod post;
pub mod top;
pub mod util;

pub use top::Top;

/// Generate the Verilog of `module top` (the whole ESP engine).
#[must_use]
pub fn generate_top_verilog() -> String {
    use rust_hdl::prelude::*;
    let mut uut = Top::new();
    uut.connect_all();
    generate_verilog(&uut)
}
