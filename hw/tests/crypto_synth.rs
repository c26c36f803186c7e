//! Resource check of the crypto blocks with yosys `synth_xilinx -flatten`
//! (UltraScale+ style LUT6/MUXF7/MUXF8/FDRE mapping). Slow (minutes), so
//! ignored by default:
//!
//! `cargo test -p hw --test crypto_synth -- --ignored --nocapture`
//!
//! Each test writes yosys' `stat` report to `$CARGO_TARGET_TMPDIR/synth-<block>/`
//! and fails if the block outgrows its share of the 25,000-LUT lane budget.

use hw::aes::Aes256Pipeline;
use hw::aes_table::{Aes256TablePipeline, AesKeyedPipeline};
use hw::ghash::{Ghash, GhashStream};
use hw::keyexp::KeyExpansion;
use rust_hdl::prelude::*;
use std::path::PathBuf;
use std::process::Command;

#[derive(Debug, Default)]
struct Resources {
    luts: u64,
    ffs: u64,
    brams: u64,
    dsps: u64,
}

fn synthesize(name: &str, verilog: &str) -> Resources {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("synth-{name}"));
    std::fs::create_dir_all(&dir).expect("report dir");
    std::fs::write(dir.join("top.v"), verilog).expect("write verilog");
    let status = Command::new("yosys")
        .current_dir(&dir)
        .arg("-q")
        .arg("-p")
        .arg("read_verilog top.v; synth_xilinx -flatten -top top; tee -o stat.txt stat")
        .status()
        .expect("run yosys");
    assert!(status.success(), "yosys failed for {name}");
    let stat = std::fs::read_to_string(dir.join("stat.txt")).expect("stat.txt");
    let mut r = Resources::default();
    for line in stat.lines() {
        let mut it = line.split_whitespace();
        if let (Some(cell), Some(n)) = (it.next(), it.next()) {
            let Ok(n) = n.parse::<u64>() else { continue };
            if cell.starts_with("LUT") {
                r.luts += n;
            } else if cell.starts_with("FD") {
                r.ffs += n;
            } else if cell.starts_with("RAMB") {
                r.brams += n;
            } else if cell.starts_with("DSP") {
                r.dsps += n;
            }
        }
    }
    println!("{name}: {r:?}");
    r
}

#[test]
#[ignore = "runs yosys for minutes"]
fn aes256_pipeline_fits_its_budget() {
    let mut uut = Aes256Pipeline::<8>::new();
    uut.connect_all();
    let r = synthesize("aes256", &generate_verilog(&uut));
    assert!(r.luts > 1000 && r.luts <= 12_000, "{r:?}");
    assert_eq!((r.brams, r.dsps), (0, 0));
}

#[test]
#[ignore = "runs yosys for minutes"]
fn aes256_table_pipeline_moves_the_sboxes_to_block_ram() {
    // 14 rounds x 8 dual-port T-table ROMs, one RAMB36 each; the LUTs left are the
    // XOR/select logic after the tables.
    let mut uut = Aes256TablePipeline::<8>::new();
    uut.connect_all();
    let r = synthesize("aes256_table", &generate_verilog(&uut));
    assert!(r.luts > 500 && r.luts <= 5_000, "{r:?}");
    assert_eq!((r.brams, r.dsps), (112, 0), "{r:?}");
}

#[test]
#[ignore = "runs yosys for minutes"]
fn keyed_pipeline_keeps_1024_sas_round_keys_in_block_ram() {
    // The T-table pipeline plus 15 round-key RAMs of 1024 x 128 bits: at least
    // 15 x 131,072 / 36,864 = 54 RAMB36 more (4 each when mapped 1024 x 36 wide),
    // and no more LUTs than the T-table pipeline's budget (the keys add none to the
    // round datapath).
    let mut uut = AesKeyedPipeline::<8, 10>::new();
    uut.connect_all();
    let r = synthesize("aes_keyed", &generate_verilog(&uut));
    assert!(r.luts > 500 && r.luts <= 5_000, "{r:?}");
    assert!(r.brams >= 112 + 54 && r.brams <= 112 + 15 * 8, "{r:?}");
    assert_eq!(r.dsps, 0, "{r:?}");
}

#[test]
#[ignore = "runs yosys for minutes"]
fn ghash_stream_fits_its_budget() {
    let mut uut = GhashStream::new();
    uut.connect_all();
    let r = synthesize("ghash_stream", &generate_verilog(&uut));
    assert!(r.luts > 1000 && r.luts <= 12_000, "{r:?}");
    assert_eq!((r.brams, r.dsps), (0, 0));
}

#[test]
#[ignore = "runs yosys for minutes"]
fn ghash_with_in_first_costs_more_than_ghash_stream() {
    // The in_first mux sits in front of every partial product (about +3,400 LUTs).
    let mut uut = Ghash::new();
    uut.connect_all();
    let with_first = synthesize("ghash", &generate_verilog(&uut));
    let mut uut = GhashStream::new();
    uut.connect_all();
    let stream = synthesize("ghash_stream", &generate_verilog(&uut));
    assert!(
        with_first.luts > stream.luts,
        "{with_first:?} vs {stream:?}"
    );
    assert!(with_first.luts <= 15_000, "{with_first:?}");
}

#[test]
#[ignore = "runs yosys for a minute"]
fn key_expansion_fits_its_budget() {
    let mut uut = KeyExpansion::new();
    uut.connect_all();
    let r = synthesize("keyexp", &generate_verilog(&uut));
    assert!(r.luts > 100 && r.luts <= 2_000, "{r:?}");
    assert_eq!((r.brams, r.dsps), (0, 0));
}
