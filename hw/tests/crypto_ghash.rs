//! GF(2^128) multiplier and GHASH accumulator in rust-hdl's simulator against
//! the GCM specification's test cases 2 and 3 (McGrew-Viega, = SP 800-38D test
//! vectors: H and every intermediate X_i) and `esp::oracle`; back-to-back
//! messages with different H, for `Ghash` (in_first) and `GhashStream`
//! (in_last / clear); Verilog lint.

mod common;

use common::*;
use esp::oracle;
use hw::ghash::{GfMul128, Ghash, GhashStream};
use rust_hdl::prelude::*;
use std::sync::{Arc, Mutex};

struct Case {
    h: u128,
    /// (input block, X after it)
    steps: Vec<(u128, u128)>,
}

fn spec_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut cur: Option<Case> = None;
    for line in data_lines("gcm_spec_ghash.txt") {
        if line.starts_with("case") {
            cur = Some(Case {
                h: 0,
                steps: Vec::new(),
            });
        } else if let Some(h) = line.strip_prefix("h =") {
            cur.as_mut().unwrap().h = u128_of(&hex(h));
        } else if let Some(b) = line.strip_prefix("block =") {
            let (x, y) = b.split_once('|').unwrap();
            cur.as_mut()
                .unwrap()
                .steps
                .push((u128_of(&hex(x)), u128_of(&hex(y))));
        } else if line == "end" {
            cases.push(cur.take().unwrap());
        }
    }
    cases
}

fn oracle_mul(a: u128, b: u128) -> u128 {
    u128::from_be_bytes(oracle::gf128_mul(&a.to_be_bytes(), &b.to_be_bytes()))
}

fn rng_stream(seed: u64) -> impl FnMut() -> u128 {
    let mut s = seed;
    move || {
        let mut v = 0u128;
        for _ in 0..2 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            v = (v << 64) | s as u128;
        }
        v
    }
}

fn multiply_all(pairs: Vec<(u128, u128)>) -> Vec<u128> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    let mut sim = Simulation::new();
    sim.add_testbench(move |mut sim: Sim<GfMul128>| {
        let mut x = sim.init()?;
        for (a, b) in &pairs {
            x.a.next = a.to_bits();
            x.b.next = b.to_bits();
            x = sim.wait(1, x)?;
            out.lock().unwrap().push(x.product.val().to_u128());
        }
        sim.done(x)
    });
    let mut uut = GfMul128::new();
    uut.connect_all();
    sim.run(Box::new(uut), 1000).unwrap();
    let v = seen.lock().unwrap().clone();
    v
}

#[test]
fn gf_multiply_matches_gcm_spec_and_oracle() {
    let mut pairs = Vec::new();
    let mut expected = Vec::new();
    for case in spec_cases() {
        let mut x = 0u128;
        for (block, after) in &case.steps {
            pairs.push((x ^ block, case.h));
            expected.push(*after);
            x = *after;
        }
    }
    let mut rnd = rng_stream(0x5151_aaaa_0f0f_1234);
    for _ in 0..4 {
        let (a, b) = (rnd(), rnd());
        pairs.push((a, b));
        expected.push(oracle_mul(a, b));
    }
    // Edge cases: 1 (x^0) is the identity; x^127 * x^127 needs both folds.
    let one = 1u128 << 127;
    pairs.push((one, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210));
    expected.push(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
    pairs.push((1, 1));
    expected.push(oracle_mul(1, 1));
    let got = multiply_all(pairs);
    assert_eq!(got, expected);
}

/// One message for the accumulator: H, blocks, expected X after each block.
struct Message {
    h: u128,
    steps: Vec<(u128, u128)>,
}

/// Feeds the messages back to back, with `gap_after` (message, block) getting
/// one idle cycle after it; returns (valid, last, hash) after every edge.
fn run_ghash(msgs: &[Message], gap_after: Option<(usize, usize)>) -> Vec<(bool, bool, u128)> {
    let mut beats: Vec<Option<(u128, bool, bool, u128)>> = Vec::new();
    for (m, msg) in msgs.iter().enumerate() {
        for (i, (block, _)) in msg.steps.iter().enumerate() {
            beats.push(Some((msg.h, i == 0, i + 1 == msg.steps.len(), *block)));
            if gap_after == Some((m, i)) {
                beats.push(None);
            }
        }
    }
    beats.push(None);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    let n = beats.len();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<Ghash>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut sim: Sim<Ghash>| {
        let mut x = sim.init()?;
        for beat in &beats {
            let (h, first, last, block) = beat.unwrap_or((0, false, false, 0));
            x.in_valid.next = beat.is_some();
            x.h.next = h.to_bits();
            x.in_first.next = first;
            x.in_last.next = last;
            x.in_block.next = block.to_bits();
            wait_clock_cycle!(sim, clock, x);
            out.lock().unwrap().push((
                x.out_valid.val(),
                x.out_last.val(),
                x.out_hash.val().to_u128(),
            ));
        }
        sim.done(x)
    });
    let mut uut = Ghash::new();
    uut.connect_all();
    sim.run(Box::new(uut), 10 * (n as u64 + 4)).unwrap();
    let v = seen.lock().unwrap().clone();
    v
}

#[test]
fn ghash_streams_spec_cases_back_to_back_one_block_per_cycle() {
    let msgs: Vec<Message> = spec_cases()
        .into_iter()
        .map(|c| Message {
            h: c.h,
            steps: c.steps,
        })
        .collect();
    let got = run_ghash(&msgs, None);
    let mut expected = Vec::new();
    for m in &msgs {
        for (i, (_, after)) in m.steps.iter().enumerate() {
            expected.push((true, i + 1 == m.steps.len(), *after));
        }
    }
    // Latency 1: the result of beat k is visible after edge k+1 (entry k).
    assert_eq!(&got[..expected.len()], &expected[..]);
    assert!(!got[expected.len()].0, "no valid output after the stream");
}

#[test]
fn ghash_matches_oracle_with_a_gap_inside_a_message() {
    let mut rnd = rng_stream(0x7777_1111_2222_3333);
    let h = rnd();
    let aad: Vec<u8> = (0..20).map(|i| (rnd() as u8) ^ i).collect();
    let ct: Vec<u8> = (0..40).map(|i| (rnd() as u8) ^ i).collect();
    let expected_final = u128::from_be_bytes(oracle::ghash(&h.to_be_bytes(), &aad, &ct));
    // The GHASH input blocks: zero-padded AAD, ciphertext, then the lengths.
    let mut blocks = Vec::new();
    for part in [&aad[..], &ct[..]] {
        for chunk in part.chunks(16) {
            let mut b = [0u8; 16];
            b[..chunk.len()].copy_from_slice(chunk);
            blocks.push(u128::from_be_bytes(b));
        }
    }
    blocks.push(((aad.len() as u128 * 8) << 64) | (ct.len() as u128 * 8));
    let mut x = 0u128;
    let steps: Vec<(u128, u128)> = blocks
        .iter()
        .map(|b| {
            x = oracle_mul(x ^ b, h);
            (*b, x)
        })
        .collect();
    assert_eq!(steps.last().unwrap().1, expected_final);
    let got = run_ghash(&[Message { h, steps }], Some((0, 1)));
    let valid: Vec<(bool, u128)> = got.iter().filter(|g| g.0).map(|g| (g.1, g.2)).collect();
    assert_eq!(valid.len(), blocks.len());
    assert_eq!(*valid.last().unwrap(), (true, expected_final));
    // The idle cycle holds the hash.
    assert!(!got[2].0);
    assert_eq!(got[2].2, got[1].2);
}

#[test]
fn gf_multiplier_verilog_lints_clean() {
    let mut uut = GfMul128::new();
    uut.connect_all();
    lint_verilog("gfmul", &generate_verilog(&uut), &[]);
}

#[test]
fn ghash_verilog_lints_clean() {
    let mut uut = Ghash::new();
    uut.connect_all();
    lint_verilog("ghash", &generate_verilog(&uut), &[]);
}

/// `GhashStream`: feeds the messages back to back, with `gap_after` (message, block) getting
/// one idle cycle after it; returns (valid, last, hash) after every edge.
/// With `dirty_start` the accumulator is first left holding garbage and then
/// `clear`ed; otherwise it starts empty. Between messages it relies on
/// emptying itself after `in_last`.
fn run_stream(
    msgs: &[Message],
    gap_after: Option<(usize, usize)>,
    dirty_start: bool,
) -> Vec<(bool, bool, u128)> {
    let mut beats: Vec<Option<(u128, bool, u128)>> = Vec::new();
    for (m, msg) in msgs.iter().enumerate() {
        for (i, (block, _)) in msg.steps.iter().enumerate() {
            beats.push(Some((msg.h, i + 1 == msg.steps.len(), *block)));
            if gap_after == Some((m, i)) {
                beats.push(None);
            }
        }
    }
    beats.push(None);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    let n = beats.len();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<GhashStream>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut sim: Sim<GhashStream>| {
        let mut x = sim.init()?;
        if dirty_start {
            // Dirty the accumulator (a block without in_last), then clear it.
            x.in_valid.next = true;
            x.h.next = 0x1234_5678u64.to_bits();
            x.in_block.next = 0xdead_beefu64.to_bits();
            wait_clock_cycle!(sim, clock, x);
            x.in_valid.next = false;
            x.clear.next = true;
            wait_clock_cycle!(sim, clock, x);
            x.clear.next = false;
        }
        for beat in &beats {
            let (h, last, block) = beat.unwrap_or((0, false, 0));
            x.in_valid.next = beat.is_some();
            x.h.next = h.to_bits();
            x.in_last.next = last;
            x.in_block.next = block.to_bits();
            wait_clock_cycle!(sim, clock, x);
            out.lock().unwrap().push((
                x.out_valid.val(),
                x.out_last.val(),
                x.out_hash.val().to_u128(),
            ));
        }
        sim.done(x)
    });
    let mut uut = GhashStream::new();
    uut.connect_all();
    sim.run(Box::new(uut), 10 * (n as u64 + 4)).unwrap();
    let v = seen.lock().unwrap().clone();
    v
}

#[test]
fn ghash_stream_restarts_after_in_last_back_to_back() {
    let msgs: Vec<Message> = spec_cases()
        .into_iter()
        .map(|c| Message {
            h: c.h,
            steps: c.steps,
        })
        .collect();
    for dirty_start in [false, true] {
        let got = run_stream(&msgs, Some((1, 2)), dirty_start);
        let expected: Vec<(bool, u128)> = msgs
            .iter()
            .flat_map(|m| {
                let n = m.steps.len();
                m.steps
                    .iter()
                    .enumerate()
                    .map(move |(i, (_, after))| (i + 1 == n, *after))
            })
            .collect();
        let valid: Vec<(bool, u128)> = got.iter().filter(|g| g.0).map(|g| (g.1, g.2)).collect();
        assert_eq!(valid, expected, "dirty_start = {dirty_start}");
        // One block per cycle: the first message's results on consecutive edges.
        assert!(got[..msgs[0].steps.len()].iter().all(|g| g.0));
    }
}

#[test]
fn ghash_stream_verilog_lints_clean() {
    let mut uut = GhashStream::new();
    uut.connect_all();
    lint_verilog("ghash_stream", &generate_verilog(&uut), &[]);
}
