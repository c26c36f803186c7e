//! Shared helpers for the crypto block tests: vector files, conversions,
//! Verilog lint.
#![allow(dead_code)]

use esp::oracle;
use rust_hdl::prelude::*;
use std::path::PathBuf;
use std::process::Command;

/// Path of a file in `hw/tests/data`.
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The lines of a vector file without comments and blank lines.
pub fn data_lines(name: &str) -> Vec<String> {
    let path = data_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Hex string to bytes.
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len() / 2 * 2 == s.len(), "odd-length hex {s}");
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex digit"))
        .collect()
}

/// 16 bytes (byte 0 first) to a u128 with byte 0 most significant.
pub fn u128_of(bytes: &[u8]) -> u128 {
    let a: [u8; 16] = bytes.try_into().expect("16 bytes");
    u128::from_be_bytes(a)
}

/// A block as `Bits<128>`, byte 0 in bits [127:120].
pub fn block(bytes: &[u8]) -> Bits<128> {
    u128_of(bytes).to_bits()
}

/// A 256-bit key bus value: byte 0 at [255:248]; a 16-byte key fills [255:128].
pub fn key_bus(key: &[u8]) -> Bits<256> {
    assert!(key.len() == 16 || key.len() == 32);
    let hi = u128_of(&key[..16]);
    let lo = if key.len() == 32 {
        u128_of(&key[16..])
    } else {
        0
    };
    (bit_cast::<256, 128>(hi.to_bits()) << 128) | bit_cast::<256, 128>(lo.to_bits())
}

/// Packs 128-bit words into a `Bits<W>` bus, word `r` at [128r+127:128r].
pub fn pack<const W: usize>(words: &[u128]) -> Bits<W> {
    assert!(words.len() * 128 <= W);
    let mut v: Bits<W> = 0.into();
    for w in words.iter().rev() {
        v = (v << 128) | bit_cast::<W, 128>(w.to_bits());
    }
    v
}

/// Word `r` of a packed bus.
pub fn unpack<const W: usize>(bus: Bits<W>, r: usize) -> u128 {
    bus.get_bits::<128>(128 * r).to_u128()
}

/// Writes `verilog` to a fresh directory and lints it with Verilator
/// (`--lint-only -Wall`). `waivers` are extra `-Wno-...` flags; each caller
/// states why it needs them.
pub fn lint_verilog(name: &str, verilog: &str, waivers: &[&str]) {
    let dir = std::env::temp_dir().join(format!("hw-lint-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("top.v");
    std::fs::write(&file, verilog).expect("write verilog");
    let mut cmd = Command::new("verilator");
    cmd.arg("--lint-only").arg("-Wall").arg("-Wno-DECLFILENAME");
    for w in waivers {
        cmd.arg(w);
    }
    let out = cmd
        .arg("--top-module")
        .arg("top")
        .arg(&file)
        .output()
        .expect("run verilator");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "verilator lint of {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// The AES pipeline tests (LUT and block-RAM variants) share these.

/// Deterministic test inputs (the expected outputs come from the oracle).
pub struct XorShift(pub u64);
impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Key, plaintext and ciphertext of a FIPS-197 vector in `fips197_cipher.txt`.
pub fn cipher_vector(name: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    for line in data_lines("fips197_cipher.txt") {
        let (n, v) = line.split_once('=').expect("name = value");
        if n.trim() == name {
            let f: Vec<Vec<u8>> = v.split('|').map(hex).collect();
            return (f[0].clone(), f[1].clone(), f[2].clone());
        }
    }
    panic!("vector {name} missing from fips197_cipher.txt");
}

/// One block for a pipeline test, with the oracle's answer.
pub struct Job {
    pub round_keys: Vec<u128>,
    pub aes256: bool,
    pub block: u128,
    pub tag: u64,
    pub expected: u128,
}

/// A job for `key` and `pt`; `expected` (a standard's answer) is checked against the oracle.
pub fn job(key: &[u8], pt: &[u8], expected: Option<&[u8]>, tag: u64) -> Job {
    let rk = oracle::expand_key(key).unwrap();
    let mut round_keys: Vec<u128> = rk.as_slice().iter().map(|k| u128_of(k)).collect();
    round_keys.resize(15, 0);
    let p: [u8; 16] = pt.try_into().unwrap();
    let oracle_ct = oracle::encrypt_block(&rk, &p);
    if let Some(e) = expected {
        // The standard's vector and the oracle agree before the hardware is asked.
        assert_eq!(&oracle_ct[..], e);
    }
    Job {
        round_keys,
        aes256: key.len() == 32,
        block: u128_of(pt),
        tag,
        expected: u128_of(&oracle_ct),
    }
}

/// What a pipeline showed after one clock edge.
#[derive(Debug, PartialEq, Clone, Copy)]
pub struct PipeOut {
    pub valid: bool,
    pub block: u128,
    pub tag: u64,
    pub aes256: bool,
}

/// Every job appears exactly `latency` edges after it entered, in order, one
/// per cycle, and nothing else is flagged valid.
pub fn check_stream(outs: &[PipeOut], jobs: &[Job], latency: usize) {
    for (k, o) in outs.iter().enumerate() {
        let edge = k + 1;
        if edge >= latency && edge - latency < jobs.len() {
            let j = &jobs[edge - latency];
            let want = PipeOut {
                valid: true,
                block: j.expected,
                tag: j.tag,
                aes256: o.aes256,
            };
            assert_eq!(
                *o,
                want,
                "output after edge {edge} (job {})",
                edge - latency
            );
        } else {
            assert!(!o.valid, "unexpected valid output after edge {edge}");
        }
    }
}
