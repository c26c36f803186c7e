//! The block-RAM ("T-table") AES pipeline in rust-hdl's simulator: the table
//! against the S-box of FIPS-197 figure 7 (`esp::oracle::SBOX`), then the AES-128
//! and AES-256 pipelines against FIPS-197 appendices B and C and, for random keys and
//! blocks, the `esp::oracle` reference, back to back with key sizes mixed; the keyed
//! pipeline (round keys per SA in RAM) with every block on another SA. Also the
//! Verilog lints clean.

mod common;

use common::*;
use esp::oracle;
use hw::aes_table::{t0_table, Aes256TablePipeline, AesKeyedPipeline, AesTablePipeline};
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

/// The keyed pipeline with 16 SA entries: round keys written one per cycle (as the
/// key expansion delivers them), one entry overwritten by another key, then blocks
/// back to back, each on another SA than the one before, key sizes mixed.
#[test]
fn keyed_pipeline_runs_every_block_on_another_sa() {
    type P = AesKeyedPipeline<16, 4>;
    let (k3, p3, c3) = cipher_vector("c3_aes256");
    let (k1, p1, c1) = cipher_vector("c1_aes128");
    let (kb, pb, cb) = cipher_vector("appendix_b");
    let mut rng = XorShift(0x5a5a_0123_4567_89ab);
    // SA keys: entry i holds keys[i]; entry 5 is first written with a stale key.
    let mut keys: Vec<Vec<u8>> = vec![k3.clone(), k1.clone(), kb.clone()];
    for i in 3..9 {
        keys.push(rng.bytes(if i % 2 == 0 { 32 } else { 16 }));
    }
    let stale = rng.bytes(32);
    let mut jobs = vec![
        (0usize, job(&k3, &p3, Some(&c3), 0x100)),
        (1, job(&k1, &p1, Some(&c1), 0x101)),
        (2, job(&kb, &pb, Some(&cb), 0x102)),
    ];
    for t in 0..40u64 {
        // Never the same SA twice in a row.
        let prev = jobs.last().map_or(0, |j| j.0);
        let sa = (prev + 1 + (rng.next() as usize % 8)) % 9;
        jobs.push((sa, job(&keys[sa], &rng.bytes(16), None, 0x200 + t)));
    }
    // Writes: (entry, round, key word); the stale entry-5 key before the real one.
    let mut writes: Vec<(u64, u64, u128)> = Vec::new();
    let stale_rk = job(&stale, &[0; 16], None, 0).round_keys;
    for (r, k) in stale_rk.iter().enumerate() {
        writes.push((5, r as u64, *k));
    }
    for (i, key) in keys.iter().enumerate() {
        for (r, k) in job(key, &[0; 16], None, 0).round_keys.iter().enumerate() {
            writes.push((i as u64, r as u64, *k));
        }
    }
    let blocks: Vec<(u64, u128, bool, u64)> = jobs
        .iter()
        .map(|(sa, j)| (*sa as u64, j.block, j.aes256, j.tag))
        .collect();
    let n = blocks.len();
    let nw = writes.len();
    let cycles = nw + n + P::LATENCY + 2;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<P>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut sim: Sim<P>| {
        let mut x = sim.init()?;
        for c in 0..cycles {
            x.rk_we.next = c < nw;
            x.rk_wipe.next = false;
            let (a, r, k) = writes.get(c).copied().unwrap_or((0, 0, 0));
            x.rk_addr.next = a.to_bits();
            x.rk_round.next = r.to_bits();
            x.rk_data.next = k.to_bits();
            let b = c.checked_sub(nw).and_then(|i| blocks.get(i).copied());
            let (sa, blk, a256, t) = b.unwrap_or((0, 0, false, 0));
            x.in_valid.next = b.is_some();
            x.in_sa.next = sa.to_bits();
            x.in_block.next = blk.to_bits();
            x.in_aes256.next = a256;
            x.in_tag.next = t.to_bits();
            wait_clock_cycle!(sim, clock, x);
            if c >= nw {
                out.lock().unwrap().push(PipeOut {
                    valid: x.out_valid.val(),
                    block: x.out_block.val().to_u128(),
                    tag: x.out_tag.val().to_u64(),
                    aes256: x.out_aes256.val(),
                });
            }
        }
        sim.done(x)
    });
    let mut uut = P::new();
    uut.connect_all();
    sim.run(Box::new(uut), 10 * (cycles as u64 + 4)).unwrap();
    let outs = seen.lock().unwrap().clone();
    let js: Vec<Job> = jobs.into_iter().map(|(_, j)| j).collect();
    check_stream(&outs, &js, P::LATENCY);
    let sizes: Vec<bool> = outs.iter().filter(|o| o.valid).map(|o| o.aes256).collect();
    let want: Vec<bool> = js.iter().map(|j| j.aes256).collect();
    assert_eq!(sizes, want);
}

#[test]
fn keyed_pipeline_verilog_lints_clean() {
    let mut uut = AesKeyedPipeline::<8, 10>::new();
    uut.connect_all();
    lint_verilog("aes_keyed", &generate_verilog(&uut), &[]);
}
