//! AES blocks in rust-hdl's simulator: S-box ROM (FIPS-197 figure 7), one
//! round (FIPS-197 appendix B), the AES-128 and AES-256 pipelines (appendices
//! B and C) and, for random keys and blocks, the `esp::oracle` reference.
//! Also: back-to-back blocks of different keys and key sizes come out every
//! cycle after the stated latency, and the Verilog lints clean.

mod common;

use common::*;
use esp::oracle;
use hw::aes::{
    sbox_rom, sbox_table, Aes128Pipeline, Aes256Pipeline, AesEncPipeline, AesRound, RoundKind,
};
use rust_hdl::prelude::*;
use std::sync::{Arc, Mutex};

#[test]
fn sbox_table_matches_fips197_figure7_and_oracle() {
    let expected: Vec<u8> = data_lines("fips197_sbox.txt")
        .iter()
        .flat_map(|l| hex(l))
        .collect();
    assert_eq!(expected.len(), 256);
    assert_eq!(sbox_table().to_vec(), expected);
    assert_eq!(sbox_table(), oracle::SBOX);
}

#[derive(LogicBlock)]
struct SboxBench {
    rom: ROM<Bits<8>, 8>,
}

impl Logic for SboxBench {
    fn update(&mut self) {}
}

#[test]
fn sbox_rom_answers_all_256_inputs_in_simulation() {
    let table = sbox_table();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    let mut sim = Simulation::new();
    sim.add_testbench(move |mut sim: Sim<SboxBench>| {
        let mut x = sim.init()?;
        for i in 0..256u64 {
            x.rom.address.next = i.to_bits();
            x = sim.wait(1, x)?;
            out.lock().unwrap().push(x.rom.data.val().to_u8());
        }
        sim.done(x)
    });
    let mut uut = SboxBench {
        rom: sbox_rom::<8>(0),
    };
    uut.rom.address.connect();
    uut.connect_all();
    sim.run(Box::new(uut), 1000).unwrap();
    assert_eq!(seen.lock().unwrap().as_slice(), &table[..]);
}

/// Runs one AesRound over `inputs` = (state, round key, aes256), one per
/// cycle, and returns the registered outputs.
fn run_round(round: AesRound<4>, inputs: Vec<(u128, u128, bool)>) -> Vec<(bool, u128, u64)> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    let n = inputs.len();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<AesRound<4>>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut sim: Sim<AesRound<4>>| {
        let mut x = sim.init()?;
        for c in 0..=n {
            x.in_valid.next = c < n;
            let (s, k, a) = inputs.get(c).copied().unwrap_or((0, 0, false));
            x.in_state.next = s.to_bits();
            x.round_key.next = k.to_bits();
            x.in_aes256.next = a;
            x.in_tag.next = (c as u64 & 0xf).to_bits();
            wait_clock_cycle!(sim, clock, x);
            if c < n {
                out.lock().unwrap().push((
                    x.out_valid.val(),
                    x.out_state.val().to_u128(),
                    x.out_tag.val().to_u64(),
                ));
            }
        }
        sim.done(x)
    });
    let mut uut = round;
    uut.connect_all();
    sim.run(Box::new(uut), 10 * (n as u64 + 4)).unwrap();
    let v = seen.lock().unwrap().clone();
    v
}

#[test]
fn full_and_final_round_match_fips197_appendix_b() {
    let (k1, s1, e1) = cipher_vector("round1");
    let (k10, s10, e10) = cipher_vector("round10_final");
    let full = run_round(
        AesRound::new(RoundKind::Full, RoundKind::Full),
        vec![(u128_of(&s1), u128_of(&k1), false)],
    );
    assert_eq!(full, vec![(true, u128_of(&e1), 0)]);
    let last = run_round(
        AesRound::new(RoundKind::Final, RoundKind::Final),
        vec![(u128_of(&s10), u128_of(&k10), true)],
    );
    assert_eq!(last, vec![(true, u128_of(&e10), 0)]);
}

#[test]
fn round_kind_follows_the_key_size_of_each_block() {
    // Stage 11 of the AES-256 pipeline: bypass for AES-128, full round for AES-256.
    let (k1, s1, e1) = cipher_vector("round1");
    let (s, k) = (u128_of(&s1), u128_of(&k1));
    let got = run_round(
        AesRound::new(RoundKind::Bypass, RoundKind::Full),
        vec![(s, k, false), (s, k, true), (s, k, false)],
    );
    assert_eq!(
        got,
        vec![(true, s, 0), (true, u128_of(&e1), 1), (true, s, 2)]
    );
}

#[test]
fn round_matches_oracle_trace_for_random_keys() {
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let mut inputs = Vec::new();
    let mut expected = Vec::new();
    for i in 0..4 {
        let key = rng.bytes(if i % 2 == 0 { 16 } else { 32 });
        let rk = oracle::expand_key(&key).unwrap();
        let pt: [u8; 16] = rng.bytes(16).try_into().unwrap();
        let trace = oracle::encrypt_block_trace(&rk, &pt);
        let r = 1 + (rng.next() as usize % (trace.len() - 2)); // a full (not final) round
        inputs.push((u128_of(&trace[r - 1]), u128_of(&rk.as_slice()[r]), false));
        expected.push((true, u128_of(&trace[r]), i as u64));
    }
    let got = run_round(AesRound::new(RoundKind::Full, RoundKind::Full), inputs);
    assert_eq!(got, expected);
}

/// Feeds `jobs` back to back (one per cycle) with time-skewed round keys and
/// records the outputs after each clock edge (entry k = after edge k+1).
fn run_pipeline<const NR: usize, const KW: usize>(jobs: &[Job], tail: usize) -> Vec<PipeOut> {
    type P<const NR: usize, const KW: usize> = AesEncPipeline<NR, KW, 16>;
    let inputs: Vec<(u128, bool, u64)> = jobs.iter().map(|j| (j.block, j.aes256, j.tag)).collect();
    let keys: Vec<Vec<u128>> = jobs.iter().map(|j| j.round_keys.clone()).collect();
    let n = jobs.len();
    let cycles = n + NR + 1 + tail;
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
                    if c >= r && c - r < n {
                        keys[c - r][r]
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
fn aes128_pipeline_matches_fips197_back_to_back() {
    let (kb, pb, cb) = cipher_vector("appendix_b");
    let (k1, p1, c1) = cipher_vector("c1_aes128");
    let mut rng = XorShift(0xfeed_5eed_0000_0001);
    let mut jobs = vec![job(&kb, &pb, Some(&cb), 1), job(&k1, &p1, Some(&c1), 2)];
    for t in 3..5 {
        jobs.push(job(&rng.bytes(16), &rng.bytes(16), None, t));
    }
    let outs = run_pipeline::<10, 1408>(&jobs, 2);
    assert_eq!(Aes128Pipeline::<16>::LATENCY, 11);
    check_stream(&outs, &jobs, 11);
}

#[test]
fn aes256_pipeline_mixes_key_sizes_back_to_back() {
    let (k3, p3, c3) = cipher_vector("c3_aes256");
    let (k1, p1, c1) = cipher_vector("c1_aes128");
    let mut rng = XorShift(0x0dd_ba11_cafe_f00d);
    let mut jobs = vec![
        job(&k3, &p3, Some(&c3), 0x256),
        job(&k1, &p1, Some(&c1), 0x128),
    ];
    jobs.push(job(&rng.bytes(32), &rng.bytes(16), None, 3));
    jobs.push(job(&rng.bytes(16), &rng.bytes(16), None, 4));
    jobs.push(job(&rng.bytes(32), &rng.bytes(16), None, 5));
    let outs = run_pipeline::<14, 1920>(&jobs, 2);
    assert_eq!(Aes256Pipeline::<16>::LATENCY, 15);
    check_stream(&outs, &jobs, 15);
    let sizes: Vec<bool> = outs.iter().filter(|o| o.valid).map(|o| o.aes256).collect();
    assert_eq!(sizes, vec![true, false, true, false, true]);
}

#[test]
fn aes_round_verilog_lints_clean() {
    let mut uut = AesRound::<8>::new(RoundKind::Full, RoundKind::Final);
    uut.connect_all();
    lint_verilog("aes_round", &generate_verilog(&uut), &[]);
}

#[test]
fn aes128_pipeline_verilog_lints_clean() {
    let mut uut = Aes128Pipeline::<8>::new();
    uut.connect_all();
    lint_verilog("aes128", &generate_verilog(&uut), &[]);
}

#[test]
fn aes256_pipeline_verilog_lints_clean() {
    let mut uut = Aes256Pipeline::<8>::new();
    uut.connect_all();
    lint_verilog("aes256", &generate_verilog(&uut), &[]);
}
