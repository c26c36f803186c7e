//! The block-RAM ("T-table") AES pipeline in rust-hdl's simulator: the table
//! against the S-box of FIPS-197 figure 7 (`esp::oracle::SBOX`), then the AES-128
//! and AES-256 pipelines against FIPS-197 appendices B and C and, for random keys and
//! blocks, the `esp::oracle` reference, back to back with key sizes mixed. Also the
//! Verilog lints clean.

mod common;

use common::*;
use esp::oracle;
use hw::aes_table::{t0_table, Aes256TablePipeline, AesTablePipeline};
use rust_hdl::prelude::*;
use std::sync::{Arc, Mutex};

/// GF(2^8) multiply by 2 (FIPS-197 4.2.1 xtime).
fn xtime(b: u8) -> u8 {
    (b << 1) ^ if b & 0x80 != 0 { 0x1b } else { 0 }
}

#[test]
fn t0_table_is_sbox_times_mixcolumns_column() {
    let t = t0_table();
    for (x, (&e, &s)) in t.iter().zip(oracle::SBOX.iter()).enumerate() {
        assert_eq!(
            e.to_be_bytes(),
            [xtime(s), s, s, xtime(s) ^ s],
            "T0[{x:#04x}]"
        );
    }
}

/// Feeds `jobs` back to back (one per cycle) with time-skewed round keys (slice r
/// of the block that entered r + 1 cycles earlier, slice 0 of the current one) and
/// records the outputs after each clock edge (entry k = after edge k+1).
fn run_pipeline<const NR: usize, const KW: usize>(jobs: &[Job], tail: usize) -> Vec<PipeOut> {
    type P<const NR: usize, const KW: usize> = AesTablePipeline<NR, KW, 16>;
    let inputs: Vec<(u128, bool, u64)> = jobs.iter().map(|j| (j.block, j.aes256, j.tag)).collect();
    let keys: Vec<Vec<u128>> = jobs.iter().map(|j| j.round_keys.clone()).collect();
    let n = jobs.len();
    let cycles = n + NR + 2 + tail;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<P<NR, KW>>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut sim: Sim<P<NR, KW>>| {
        let mut x = sim.init()?;
        for c in 0..cycles {
            let (b, a, t) = inputs.get(c).copied().unwrap_or((0, false, 0));
            x.in_valid.next = c < n;
            x.in_block.next = b.to_bits();
            x.in_aes256.next = a;
            x.in_tag.next = t.to_bits();
            let words: Vec<u128> = (0..=NR)
                .map(|r| {
                    // Slice r >= 1 is used one cycle later than in AesEncPipeline.
                    let d = if r == 0 { 0 } else { r + 1 };
                    if c >= d && c - d < n {
                        keys[c - d][r]
                    } else {
                        0
                    }
                })
                .collect();
            x.round_keys.next = pack::<KW>(&words);
            wait_clock_cycle!(sim, clock, x);
            out.lock().unwrap().push(PipeOut {
                valid: x.out_valid.val(),
                block: x.out_block.val().to_u128(),
                tag: x.out_tag.val().to_u64(),
                aes256: x.out_aes256.val(),
            });
        }
        sim.done(x)
    });
    let mut uut = P::<NR, KW>::new();
    uut.connect_all();
    sim.run(Box::new(uut), 10 * (cycles as u64 + 4)).unwrap();
    let v = seen.lock().unwrap().clone();
    v
}

#[test]
fn table_aes128_pipeline_matches_fips197_back_to_back() {
    let (kb, pb, cb) = cipher_vector("appendix_b");
    let (k1, p1, c1) = cipher_vector("c1_aes128");
    let mut rng = XorShift(0xfeed_5eed_0000_0002);
    let mut jobs = vec![job(&kb, &pb, Some(&cb), 1), job(&k1, &p1, Some(&c1), 2)];
    for t in 3..6 {
        jobs.push(job(&rng.bytes(16), &rng.bytes(16), None, t));
    }
    let outs = run_pipeline::<10, 1408>(&jobs, 2);
    assert_eq!(AesTablePipeline::<10, 1408, 16>::LATENCY, 12);
    check_stream(&outs, &jobs, 12);
}

#[test]
fn table_aes256_pipeline_mixes_key_sizes_back_to_back() {
    let (k3, p3, c3) = cipher_vector("c3_aes256");
    let (k1, p1, c1) = cipher_vector("c1_aes128");
    let mut rng = XorShift(0x0dd_ba11_cafe_f00e);
    let mut jobs = vec![
        job(&k3, &p3, Some(&c3), 0x256),
        job(&k1, &p1, Some(&c1), 0x128),
    ];
    jobs.push(job(&rng.bytes(32), &rng.bytes(16), None, 3));
    jobs.push(job(&rng.bytes(16), &rng.bytes(16), None, 4));
    jobs.push(job(&rng.bytes(32), &rng.bytes(16), None, 5));
    let outs = run_pipeline::<14, 1920>(&jobs, 2);
    assert_eq!(Aes256TablePipeline::<16>::LATENCY, 16);
    check_stream(&outs, &jobs, 16);
    let sizes: Vec<bool> = outs.iter().filter(|o| o.valid).map(|o| o.aes256).collect();
    assert_eq!(sizes, vec![true, false, true, false, true]);
}

#[test]
fn table_aes256_pipeline_verilog_lints_clean() {
    let mut uut = Aes256TablePipeline::<8>::new();
    uut.connect_all();
    lint_verilog("aes256_table", &generate_verilog(&uut), &[]);
}
