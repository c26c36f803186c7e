//! Known-answer vectors through the simulated card: the ESP packets of
//! draft-mcgrew-gcm-test-01 section 4 (the data file kept by `esp`,
//! `esp/vectors/draft-mcgrew-gcm-test-01.txt`).
//!
//! The draft's senders use IVs that are not the sequence number, while the
//! card makes IV = sequence number; so every case runs inbound (the card reads
//! the IV from the packet) and must return the draft's plaintext, and a case
//! runs outbound only when its IV equals its sequence number.

mod common;

use common::{check, install, stream, Expect};
use esp::Transform;
use regmap::Verdict;
use sim::harness::TestSa;
use sim::stream::Shaping;

struct Case {
    n: String,
    key: Vec<u8>,
    spi: u32,
    seq: u64,
    esn: bool,
    nonce: Vec<u8>,
    plaintext: Vec<u8>,
    packet: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn load() -> Vec<Case> {
    let text = include_str!("../../esp/vectors/draft-mcgrew-gcm-test-01.txt");
    let mut cases = Vec::new();
    for block in text.split("\n\n") {
        let mut f = std::collections::HashMap::new();
        for line in block.lines().filter(|l| !l.starts_with('#')) {
            if let Some((k, v)) = line.split_once('=') {
                f.insert(k.trim().to_string(), v.trim().replace(' ', ""));
            }
        }
        let Some(n) = f.get("case").cloned() else {
            continue;
        };
        let seq_bytes = hex(&f["seq"]);
        let mut s = [0u8; 8];
        s[8 - seq_bytes.len()..].copy_from_slice(&seq_bytes);
        cases.push(Case {
            n,
            key: hex(&f["key"]),
            spi: u32::from_str_radix(&f["spi"], 16).expect("spi"),
            seq: u64::from_be_bytes(s),
            esn: seq_bytes.len() == 8,
            nonce: hex(&f["nonce"]),
            plaintext: hex(&f["plaintext"]),
            packet: hex(&f["packet"]),
        });
    }
    cases
}

fn sa_for(c: &Case, index: u16, inbound: bool) -> TestSa {
    let mut key_material = c.key.clone();
    key_material.extend_from_slice(&c.nonce[..4]);
    TestSa {
        index,
        spi: c.spi,
        transform: if c.key.len() == 16 {
            Transform::AesGcm128
        } else {
            Transform::AesGcm256
        },
        key_material,
        esn: c.esn,
        inbound,
        // Outbound: the packet carries `seq`; inbound ignores the counter.
        next_seq: c.seq,
    }
}

#[test]
#[cfg_attr(not(sim_rtl = "core"), ignore = "needs the generated core")]
fn draft_mcgrew_packets_through_the_card() {
    let cases = load();
    assert_eq!(cases.len(), 13, "the AES-128/256 cases of the draft");
    let mut card = common::card();
    let mut packets = Vec::new();
    let mut expect = Vec::new();
    let mut case_of = std::collections::HashMap::new();
    for (i, c) in cases.iter().enumerate() {
        let n = c.plaintext.len();
        let nh = c.plaintext[n - 1];
        let pad = usize::from(c.plaintext[n - 2]);
        let payload = c.plaintext[..n - 2 - pad].to_vec();
        let mut inb = sa_for(c, 0, true);
        install(&mut card, &mut inb);
        case_of.insert(inb.index, i);
        packets.push(inb.inbound_packet(&c.packet, c.seq));
        expect.push(Expect {
            verdict: Verdict::Ok,
            data: payload.clone(),
            sa_index: inb.index,
            inbound: true,
            seq: c.seq,
            next_header: nh,
        });
        if c.nonce[4..] == c.seq.to_be_bytes() {
            let mut out = sa_for(c, 0, false);
            install(&mut card, &mut out);
            case_of.insert(out.index, i);
            packets.push(out.outbound_packet(&payload, nh));
            expect.push(Expect {
                verdict: Verdict::Ok,
                data: c.packet.clone(),
                sa_index: out.index,
                inbound: false,
                seq: c.seq,
                next_header: nh,
            });
        }
    }
    let run = stream(&mut card, &packets, Shaping::full_rate());
    assert_eq!(run.outputs.len(), packets.len());
    for (o, e) in run.outputs.iter().zip(&expect) {
        let case = &cases[case_of[&e.sa_index]].n;
        check(
            o,
            e,
            &format!(
                "draft-mcgrew case {case} {}",
                if e.inbound { "inbound" } else { "outbound" }
            ),
        );
    }
}
