//! Block test of `module top` in rust-hdl's simulator, through the AXI4-Lite port only:
//! identity, SA install (key expansion and H in hardware), an inbound packet of
//! draft-mcgrew-gcm-test-01 (case 2) through the MMIO window, a tampered copy of it,
//! an outbound packet whose result then decrypts on the card to the original payload,
//! and a bad descriptor. Packet-level coverage is the `sim` crate's job (Verilator);
//! this test is short on purpose.

use std::sync::{Arc, Mutex};

use hw::Top;
use regmap::regs::off;
use regmap::{PktStatus, SaCmdStatus, SaFlags, SaOp, Verdict};
use rust_hdl::prelude::*;

type Fixture = Sim<Top>;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// Fields of one case of `esp/vectors/draft-mcgrew-gcm-test-01.txt`.
struct Case {
    key: Vec<u8>,
    spi: u32,
    seq: u64,
    nonce: Vec<u8>,
    plaintext: Vec<u8>,
    packet: Vec<u8>,
}

fn mcgrew_case(n: u32) -> Case {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../esp/vectors/draft-mcgrew-gcm-test-01.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut fields = std::collections::HashMap::new();
    let mut in_case = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            if in_case && line.is_empty() {
                break;
            }
            continue;
        }
        let (k, v) = line.split_once(" = ").expect("key = value");
        if k == "case" {
            in_case = v == n.to_string();
            continue;
        }
        if in_case {
            fields.insert(k.to_string(), v.to_string());
        }
    }
    let get = |k: &str| hex(fields.get(k).unwrap_or_else(|| panic!("case {n}: no {k}")));
    let seq_bytes = get("seq");
    let seq = seq_bytes.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
    Case {
        key: get("key"),
        spi: u32::from_be_bytes(get("spi").try_into().expect("spi")),
        seq,
        nonce: get("nonce"),
        plaintext: get("plaintext"),
        packet: get("packet"),
    }
}

fn write(ep: &mut Fixture, mut x: Box<Top>, addr: u32, data: u32) -> Result<Box<Top>, SimError> {
    x.s_axil_awaddr.next = u64::from(addr).to_bits();
    x.s_axil_wdata.next = u64::from(data).to_bits();
    x.s_axil_awvalid.next = true;
    x.s_axil_wvalid.next = true;
    x.s_axil_bready.next = true;
    wait_clock_cycle!(ep, clock, x);
    x.s_axil_awvalid.next = false;
    x.s_axil_wvalid.next = false;
    wait_clock_cycle!(ep, clock, x);
    Ok(x)
}

fn read(ep: &mut Fixture, mut x: Box<Top>, addr: u32, out: &mut u32) -> Result<Box<Top>, SimError> {
    x.s_axil_araddr.next = u64::from(addr).to_bits();
    x.s_axil_arvalid.next = true;
    wait_clock_cycle!(ep, clock, x);
    x.s_axil_arvalid.next = false;
    for _ in 0..8 {
        if x.s_axil_rvalid.val() {
            break;
        }
        wait_clock_cycle!(ep, clock, x);
    }
    *out = x.s_axil_rdata.val().to_u32();
    x.s_axil_rready.next = true;
    wait_clock_cycle!(ep, clock, x);
    x.s_axil_rready.next = false;
    Ok(x)
}

fn write_bytes(
    ep: &mut Fixture,
    mut x: Box<Top>,
    base: u32,
    data: &[u8],
) -> Result<Box<Top>, SimError> {
    for (i, chunk) in data.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        x = write(ep, x, base + 4 * i as u32, u32::from_le_bytes(w))?;
    }
    Ok(x)
}

fn read_bytes(
    ep: &mut Fixture,
    mut x: Box<Top>,
    base: u32,
    len: usize,
    out: &mut Vec<u8>,
) -> Result<Box<Top>, SimError> {
    out.clear();
    for i in 0..len.div_ceil(4) {
        let mut w = 0;
        x = read(ep, x, base + 4 * i as u32, &mut w)?;
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.truncate(len);
    Ok(x)
}

#[derive(Default, Debug, Clone)]
struct SaSpec {
    index: u32,
    key: Vec<u8>,
    salt: [u8; 4],
    spi: u32,
    flags: u32,
    seq: u64,
}

fn install(
    ep: &mut Fixture,
    mut x: Box<Top>,
    sa: &SaSpec,
    status: &mut u32,
) -> Result<Box<Top>, SimError> {
    x = write(ep, x, off::SA_INDEX, sa.index)?;
    x = write(ep, x, off::SA_SPI, sa.spi)?;
    x = write(ep, x, off::SA_SALT, u32::from_le_bytes(sa.salt))?;
    x = write(ep, x, off::SA_FLAGS, sa.flags)?;
    x = write(ep, x, off::SA_SEQ_LO, sa.seq as u32)?;
    x = write(ep, x, off::SA_SEQ_HI, (sa.seq >> 32) as u32)?;
    x = write_bytes(ep, x, off::SA_KEY0, &sa.key)?;
    x = write(ep, x, off::SA_CMD, SaOp::Install as u32)?;
    for _ in 0..40 {
        x = read(ep, x, off::SA_CMD_STATUS, status)?;
        if *status & SaCmdStatus::DONE.bits() != 0 {
            break;
        }
    }
    Ok(x)
}

/// What one window packet returned.
#[derive(Default, Debug, Clone)]
struct PktResult {
    status: u32,
    len: u32,
    seq: u64,
    data: Vec<u8>,
}

fn run_packet(
    ep: &mut Fixture,
    mut x: Box<Top>,
    desc: u32,
    packet: &[u8],
    res: &mut PktResult,
) -> Result<Box<Top>, SimError> {
    x = write_bytes(ep, x, off::PKT_IN_WINDOW, packet)?;
    x = write(ep, x, off::PKT_DESC, desc)?;
    x = write(ep, x, off::PKT_LEN, packet.len() as u32)?;
    x = write(ep, x, off::PKT_DOORBELL, 1)?;
    for _ in 0..60 {
        x = read(ep, x, off::PKT_STATUS, &mut res.status)?;
        if res.status & PktStatus::DONE.bits() != 0 {
            break;
        }
    }
    x = read(ep, x, off::PKT_RESULT_LEN, &mut res.len)?;
    let (mut lo, mut hi) = (0, 0);
    x = read(ep, x, off::PKT_RESULT_SEQ_LO, &mut lo)?;
    x = read(ep, x, off::PKT_RESULT_SEQ_HI, &mut hi)?;
    res.seq = u64::from(lo) | (u64::from(hi) << 32);
    let len = res.len as usize;
    let mut data = Vec::new();
    x = read_bytes(ep, x, off::PKT_OUT_WINDOW, len, &mut data)?;
    res.data = data;
    Ok(x)
}

/// One result packet from `m_axis`: the bytes (by `tkeep`), the beats, the side-band.
#[derive(Default, Debug, Clone)]
struct StreamResult {
    data: Vec<u8>,
    beats: usize,
    tuser: u128,
}

/// Send `packets` (side-band, bytes) back to back on `s_axis`, with a gap before every
/// third beat, while collecting result packets from `m_axis` with `tready` low every
/// other cycle, so the next packet is received while the previous result goes out.
fn stream_packets(
    ep: &mut Fixture,
    mut x: Box<Top>,
    packets: &[(u64, Vec<u8>)],
    results: &mut Vec<StreamResult>,
) -> Result<Box<Top>, SimError> {
    let beats: Vec<(u64, &[u8], bool)> = packets
        .iter()
        .flat_map(|(user, bytes)| {
            let n = bytes.len().div_ceil(16);
            bytes
                .chunks(16)
                .enumerate()
                .map(move |(i, c)| (*user, c, i + 1 == n))
        })
        .collect();
    let mut next = 0;
    let mut holding = false;
    let mut current = StreamResult::default();
    results.clear();
    for cycle in 0..2000 {
        // A beat, once offered, stays offered until taken (AXI4-Stream rule).
        let present = next < beats.len() && (holding || next % 3 != 2 || cycle % 2 == 0);
        if present {
            let (user, chunk, last) = beats[next];
            let mut word = [0u8; 16];
            word[..chunk.len()].copy_from_slice(chunk);
            x.s_axis_tdata.next = u128::from_le_bytes(word).to_bits();
            x.s_axis_tkeep.next = ((1u64 << chunk.len()) - 1).to_bits();
            x.s_axis_tlast.next = last;
            x.s_axis_tuser.next = user.to_bits();
        }
        x.s_axis_tvalid.next = present;
        let in_ready = x.s_axis_tready.val();
        let out_ready = cycle % 2 == 1;
        x.m_axis_tready.next = out_ready;
        let valid = x.m_axis_tvalid.val();
        let data = x.m_axis_tdata.val();
        let keep = x.m_axis_tkeep.val().to_u32();
        let last = x.m_axis_tlast.val();
        let user = x.m_axis_tuser.val();
        wait_clock_cycle!(ep, clock, x);
        holding = present && !in_ready;
        if present && in_ready {
            next += 1;
        }
        if valid && out_ready {
            current.beats += 1;
            current.tuser = (u128::from(user.get_bits::<64>(64).to_u64()) << 64)
                | u128::from(user.get_bits::<64>(0).to_u64());
            let bytes = ((u128::from(data.get_bits::<64>(64).to_u64()) << 64)
                | u128::from(data.get_bits::<64>(0).to_u64()))
            .to_le_bytes();
            for (i, b) in bytes.iter().enumerate() {
                if keep & (1 << i) != 0 {
                    current.data.push(*b);
                }
            }
            if last {
                results.push(std::mem::take(&mut current));
                if results.len() == packets.len() {
                    break;
                }
            }
        }
    }
    x.s_axis_tvalid.next = false;
    x.m_axis_tready.next = false;
    Ok(x)
}

#[derive(Default, Debug)]
struct Report {
    streams: Vec<StreamResult>,
    magic: u32,
    version: u32,
    caps: u32,
    install_in: u32,
    inbound: PktResult,
    tampered: PktResult,
    install_out: u32,
    install_back: u32,
    outbound: PktResult,
    back: PktResult,
    bad: PktResult,
    auth_fail_lo: u32,
    bad_desc_lo: u32,
    out_pkts_lo: u32,
}

#[test]
fn install_inbound_vector_outbound_round_trip_and_bad_descriptor() {
    let case = mcgrew_case(2);
    assert_eq!(case.seq >> 32, 0, "case 2 has a 32-bit sequence number");
    let payload_len =
        case.plaintext.len() - 2 - usize::from(case.plaintext[case.plaintext.len() - 2]);
    let salt: [u8; 4] = case.nonce[..4].try_into().unwrap();
    let sa_in = SaSpec {
        index: 5,
        key: case.key.clone(),
        salt,
        spi: case.spi,
        flags: SaFlags::INBOUND.bits(),
        seq: 0,
    };
    let sa_out = SaSpec {
        index: 6,
        key: case.key.clone(),
        salt,
        spi: 0x0102_0304,
        flags: 0,
        seq: 0,
    };
    let sa_back = SaSpec {
        index: 7,
        spi: 0x0102_0304,
        flags: SaFlags::INBOUND.bits(),
        ..sa_out.clone()
    };
    let payload = case.plaintext[..payload_len].to_vec();
    let packet = case.packet.clone();
    let mut tampered = packet.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;

    let (out_spi, expect_payload) = (sa_out.spi, payload.clone());
    let report = Arc::new(Mutex::new(Report::default()));
    let shared = report.clone();
    let mut sim = simple_sim!(Top, clock, 100_000_000, ep, {
        let mut x = ep.init()?;
        let mut r = Report::default();
        x.reset.next = true;
        wait_clock_cycles!(ep, clock, x, 2);
        x.reset.next = false;
        wait_clock_cycle!(ep, clock, x);
        x = read(&mut ep, x, off::ID_MAGIC, &mut r.magic)?;
        x = read(&mut ep, x, off::ID_LAYOUT_VERSION, &mut r.version)?;
        x = read(&mut ep, x, off::ID_CAPABILITIES, &mut r.caps)?;
        x = install(&mut ep, x, &sa_in, &mut r.install_in)?;
        let desc_in = sa_in.index | (1 << 16);
        x = run_packet(&mut ep, x, desc_in, &packet, &mut r.inbound)?;
        x = run_packet(&mut ep, x, desc_in, &tampered, &mut r.tampered)?;
        x = install(&mut ep, x, &sa_out, &mut r.install_out)?;
        x = install(&mut ep, x, &sa_back, &mut r.install_back)?;
        let desc_out = sa_out.index | (4 << 24);
        x = run_packet(&mut ep, x, desc_out, &payload, &mut r.outbound)?;
        let esp = r.outbound.data.clone();
        x = run_packet(&mut ep, x, sa_back.index | (1 << 16), &esp, &mut r.back)?;
        x = run_packet(&mut ep, x, 1000 | (1 << 16), &packet, &mut r.bad)?;
        let tuser_in = regmap::sideband::Descriptor {
            sa_index: 5,
            inbound: true,
            next_header: 0,
            seq_hi: 0,
        }
        .to_tuser();
        let list = vec![
            (tuser_in, packet.clone()),
            (tuser_in | 1000, packet.clone()),
            (tuser_in, packet.clone()),
        ];
        x = stream_packets(&mut ep, x, &list, &mut r.streams)?;
        x = read(&mut ep, x, off::CNT_AUTH_FAIL_LO, &mut r.auth_fail_lo)?;
        x = read(&mut ep, x, off::CNT_BAD_DESC_LO, &mut r.bad_desc_lo)?;
        x = read(&mut ep, x, off::CNT_OUT_PKTS_LO, &mut r.out_pkts_lo)?;
        *shared.lock().unwrap() = r;
        ep.done(x)
    });
    sim.run(Box::new(Top::new()), 1_000_000_000_000)
        .expect("simulation ran to the end");
    let r = report.lock().unwrap();
    let verdict = |s: u32| PktStatus::from_bits_retain(s).verdict();

    assert_eq!(r.magic, regmap::MAGIC);
    assert_eq!(r.version, regmap::LAYOUT_VERSION);
    assert_eq!(r.caps, regmap::CAPABILITIES.bits());

    for st in [r.install_in, r.install_out, r.install_back] {
        let st = SaCmdStatus::from_bits_retain(st);
        assert!(
            st.contains(SaCmdStatus::DONE | SaCmdStatus::VALID),
            "install status {st:?}"
        );
        assert!(!st.contains(SaCmdStatus::ERROR), "install status {st:?}");
    }

    // Inbound: draft-mcgrew-gcm-test-01 case 2 decrypts to its payload.
    assert_eq!(
        verdict(r.inbound.status),
        Verdict::Ok,
        "{:#x}",
        r.inbound.status
    );
    assert_eq!(r.inbound.len as usize, payload_len);
    assert_eq!(r.inbound.data, expect_payload);
    assert_eq!(r.inbound.seq, case.seq);
    let nh = case.plaintext[case.plaintext.len() - 1];
    assert_eq!(
        PktStatus::from_bits_retain(r.inbound.status).next_header(),
        nh
    );

    // One flipped ICV bit: refused, nothing released, counted.
    assert_eq!(verdict(r.tampered.status), Verdict::AuthFailed);
    assert_eq!(r.tampered.len, 0);
    assert_eq!(r.auth_fail_lo, 1);

    // Outbound: header, length, sequence number 1; the card's inbound side (checked
    // above against the draft's vector) authenticates and decrypts it.
    assert_eq!(
        verdict(r.outbound.status),
        Verdict::Ok,
        "{:#x}",
        r.outbound.status
    );
    assert_eq!(r.outbound.len, regmap::outbound_len(payload_len as u32));
    assert_eq!(r.outbound.seq, 1);
    let o = &r.outbound.data;
    assert_eq!(&o[0..4], &out_spi.to_be_bytes());
    assert_eq!(&o[4..8], &1u32.to_be_bytes());
    assert_eq!(&o[8..16], &1u64.to_be_bytes());
    assert_eq!(verdict(r.back.status), Verdict::Ok, "{:#x}", r.back.status);
    assert_eq!(r.back.data, expect_payload);
    assert_eq!(PktStatus::from_bits_retain(r.back.status).next_header(), 4);
    assert_eq!(r.out_pkts_lo, 1);

    // SA 1000 was never installed.
    assert_eq!(verdict(r.bad.status), Verdict::BadSa);
    assert_eq!(r.bad.len, 0);
    assert_eq!(r.bad_desc_lo, 2, "window and stream bad descriptors");

    // The same inbound packet through the streams, with gaps and back-pressure, three
    // times back to back (good, unknown SA, good).
    assert_eq!(r.streams.len(), 3, "three results");
    for good in [&r.streams[0], &r.streams[2]] {
        let info = regmap::sideband::ResultInfo::from_tuser(good.tuser);
        assert_eq!(info.verdict, Verdict::Ok);
        assert_eq!(info.sa_index, 5);
        assert!(info.inbound);
        assert_eq!(info.next_header, nh);
        assert_eq!(info.seq, case.seq);
        assert_eq!(good.data, expect_payload);
        assert_eq!(good.beats, payload_len.div_ceil(16));
    }
    // A refused stream packet: one empty beat carrying the verdict.
    let bad = regmap::sideband::ResultInfo::from_tuser(r.streams[1].tuser);
    assert_eq!(bad.verdict, Verdict::BadSa);
    assert_eq!((r.streams[1].beats, r.streams[1].data.len()), (1, 0));
}

/// The ESP datagram the card must produce for an outbound packet, built with the
/// `esp` crate's oracle AES-GCM (`esp::oracle::gcm_seal`): RFC 4303 padding, RFC 4106
/// AAD (with SeqHi for ESN), or RFC 4543 (GMAC: everything as AAD, no ciphertext).
fn expected_outbound(sa: &SaSpec, seq: u64, next_header: u8, payload: &[u8]) -> Vec<u8> {
    let mut plain = payload.to_vec();
    let padded = regmap::padded_len(payload.len() as u32) as usize;
    let pad = padded - payload.len() - 2;
    plain.extend((1..=pad).map(|i| i as u8));
    plain.push(pad as u8);
    plain.push(next_header);
    let mut header = Vec::new();
    header.extend_from_slice(&sa.spi.to_be_bytes());
    header.extend_from_slice(&(seq as u32).to_be_bytes());
    header.extend_from_slice(&seq.to_be_bytes());
    let mut nonce = [0u8; 12];
    nonce[..4].copy_from_slice(&sa.salt);
    nonce[4..].copy_from_slice(&seq.to_be_bytes());
    let mut out = header.clone();
    if sa.flags & SaFlags::GMAC.bits() != 0 {
        let mut aad = header;
        aad.extend_from_slice(&plain);
        let (ct, tag) = esp::oracle::gcm_seal(&sa.key, &nonce, &aad, &[]).expect("key");
        assert!(ct.is_empty());
        out.extend_from_slice(&plain);
        out.extend_from_slice(&tag);
    } else {
        let mut aad = sa.spi.to_be_bytes().to_vec();
        if sa.flags & SaFlags::ESN.bits() != 0 {
            aad.extend_from_slice(&((seq >> 32) as u32).to_be_bytes());
        }
        aad.extend_from_slice(&(seq as u32).to_be_bytes());
        let (ct, tag) = esp::oracle::gcm_seal(&sa.key, &nonce, &aad, &plain).expect("key");
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
    }
    out
}

#[derive(Default, Debug)]
struct OracleReport {
    installs: Vec<u32>,
    gcm256_esn: PktResult,
    gmac: PktResult,
    gmac_back: PktResult,
    esn_in: PktResult,
}

#[test]
fn outbound_matches_oracle_for_gcm256_esn_wrap_and_gmac_and_inbound_esn_vector() {
    // AES-256-GCM with ESN, counter at 2^32 - 1: the packet carries 2^32 (SeqHi 1).
    let key256: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(7).wrapping_add(3))
        .collect();
    let gcm = SaSpec {
        index: 20,
        key: key256,
        salt: [0xa1, 0xb2, 0xc3, 0xd4],
        spi: 0x1000_0001,
        flags: (SaFlags::AES256 | SaFlags::ESN).bits(),
        seq: 0xffff_ffff,
    };
    // AES-128-GMAC (ESP-NULL), and its inbound twin.
    let gmac = SaSpec {
        index: 21,
        key: (0u8..16).collect(),
        salt: [1, 2, 3, 4],
        spi: 0x2000_0002,
        flags: SaFlags::GMAC.bits(),
        seq: 41,
    };
    let gmac_back = SaSpec {
        index: 22,
        flags: (SaFlags::GMAC | SaFlags::INBOUND).bits(),
        seq: 0,
        ..gmac.clone()
    };
    // draft-mcgrew-gcm-test-01 case 1: extended sequence number 0x87654321_00000000.
    let case = mcgrew_case(1);
    let esn_in = SaSpec {
        index: 23,
        key: case.key.clone(),
        salt: case.nonce[..4].try_into().unwrap(),
        spi: case.spi,
        flags: (SaFlags::ESN | SaFlags::INBOUND).bits(),
        seq: 0,
    };
    let payload_a: Vec<u8> = (0..45u32).map(|i| (i * 13 + 5) as u8).collect();
    let payload_b: Vec<u8> = (0..33u32).map(|i| (i * 29 + 1) as u8).collect();
    let expect_a = expected_outbound(&gcm, 1 << 32, 41, &payload_a);
    let expect_b = expected_outbound(&gmac, 42, 6, &payload_b);
    let esn_packet = case.packet.clone();
    let esn_payload_len =
        case.plaintext.len() - 2 - usize::from(case.plaintext[case.plaintext.len() - 2]);

    let sas = [gcm.clone(), gmac.clone(), gmac_back.clone(), esn_in.clone()];
    let report = Arc::new(Mutex::new(OracleReport::default()));
    let shared = report.clone();
    let (pa, pb) = (payload_a.clone(), payload_b.clone());
    let mut sim = simple_sim!(Top, clock, 100_000_000, ep, {
        let mut x = ep.init()?;
        let mut r = OracleReport::default();
        x.reset.next = true;
        wait_clock_cycles!(ep, clock, x, 2);
        x.reset.next = false;
        wait_clock_cycle!(ep, clock, x);
        for sa in &sas {
            let mut st = 0;
            x = install(&mut ep, x, sa, &mut st)?;
            r.installs.push(st);
        }
        x = run_packet(
            &mut ep,
            x,
            sas[0].index | (41 << 24),
            &pa,
            &mut r.gcm256_esn,
        )?;
        x = run_packet(&mut ep, x, sas[1].index | (6 << 24), &pb, &mut r.gmac)?;
        let esp_b = r.gmac.data.clone();
        x = run_packet(
            &mut ep,
            x,
            sas[2].index | (1 << 16),
            &esp_b,
            &mut r.gmac_back,
        )?;
        x = write(&mut ep, x, off::PKT_SEQ_HI, (case.seq >> 32) as u32)?;
        x = run_packet(
            &mut ep,
            x,
            sas[3].index | (1 << 16),
            &esn_packet,
            &mut r.esn_in,
        )?;
        *shared.lock().unwrap() = r;
        ep.done(x)
    });
    sim.run(Box::new(Top::new()), 1_000_000_000_000)
        .expect("simulation ran to the end");
    let r = report.lock().unwrap();
    let verdict = |s: u32| PktStatus::from_bits_retain(s).verdict();
    for st in &r.installs {
        let st = SaCmdStatus::from_bits_retain(*st);
        assert!(
            st.contains(SaCmdStatus::DONE | SaCmdStatus::VALID),
            "{st:?}"
        );
        assert!(!st.contains(SaCmdStatus::ERROR), "{st:?}");
    }
    assert_eq!(verdict(r.gcm256_esn.status), Verdict::Ok);
    assert_eq!(r.gcm256_esn.seq, 1 << 32);
    assert_eq!(r.gcm256_esn.data, expect_a, "AES-256-GCM ESN outbound");
    assert_eq!(verdict(r.gmac.status), Verdict::Ok);
    assert_eq!(r.gmac.seq, 42);
    assert_eq!(r.gmac.data, expect_b, "AES-GMAC outbound");
    assert_eq!(verdict(r.gmac_back.status), Verdict::Ok);
    assert_eq!(r.gmac_back.data, payload_b);
    assert_eq!(
        PktStatus::from_bits_retain(r.gmac_back.status).next_header(),
        6
    );
    assert_eq!(
        verdict(r.esn_in.status),
        Verdict::Ok,
        "{:#x}",
        r.esn_in.status
    );
    assert_eq!(r.esn_in.seq, case.seq);
    assert_eq!(r.esn_in.data, case.plaintext[..esn_payload_len].to_vec());
}
