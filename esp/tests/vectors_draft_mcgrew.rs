//! draft-mcgrew-gcm-test-01 ESP packets: encap with the given sequence number
//! and IV reproduces each packet byte for byte; decap returns the plaintext.
//! Run through both crypto backends.

use esp::{BackendKind, InboundSa, OutboundSa, SaConfig, SeqNum, Spi, Transform};

#[derive(Debug)]
struct Case {
    n: String,
    key: Vec<u8>,
    spi: u32,
    seq: SeqNum,
    esn: bool,
    nonce: Vec<u8>,
    plaintext: Vec<u8>,
    packet: Vec<u8>,
}

fn load() -> Vec<Case> {
    let text = include_str!("../vectors/draft-mcgrew-gcm-test-01.txt");
    let mut cases = Vec::new();
    for block in text.split("\n\n") {
        let mut f = std::collections::HashMap::new();
        for line in block.lines() {
            if line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                f.insert(k.trim().to_string(), v.trim().replace(' ', ""));
            }
        }
        if !f.contains_key("case") {
            continue;
        }
        let h =
            |k: &str| hex::decode(&f[k]).unwrap_or_else(|e| panic!("case {}: {k}: {e}", f["case"]));
        let seq_bytes = h("seq");
        let esn = seq_bytes.len() == 8;
        let mut s = [0u8; 8];
        s[8 - seq_bytes.len()..].copy_from_slice(&seq_bytes);
        cases.push(Case {
            n: f["case"].clone(),
            key: h("key"),
            spi: u32::from_str_radix(&f["spi"], 16).unwrap(),
            seq: SeqNum(u64::from_be_bytes(s)),
            esn,
            nonce: h("nonce"),
            plaintext: h("plaintext"),
            packet: h("packet"),
        });
    }
    cases
}

fn config(c: &Case, backend: BackendKind) -> SaConfig {
    let t = if c.key.len() == 16 {
        Transform::AesGcm128
    } else {
        Transform::AesGcm256
    };
    let mut km = c.key.clone();
    km.extend_from_slice(&c.nonce[..4]);
    let mut cfg = SaConfig::new(Spi(c.spi), t, &km).unwrap();
    cfg.esn = c.esn;
    cfg.backend = backend;
    cfg
}

#[test]
fn draft_mcgrew_gcm_packets() {
    let cases = load();
    assert_eq!(
        cases.len(),
        13,
        "all AES-128/256 cases of the draft are present"
    );
    for backend in BackendKind::ALL {
        for c in &cases {
            let cfg = config(c, backend);
            let out = OutboundSa::new(&cfg).unwrap();
            // Split the plaintext into payload and trailer.
            let n = c.plaintext.len();
            let nh = c.plaintext[n - 1];
            let pad = c.plaintext[n - 2] as usize;
            let payload = &c.plaintext[..n - 2 - pad];
            let mut buf = vec![0u8; out.datagram_len(payload.len())];
            let len = out
                .seal_at(c.seq, Some(&c.nonce[4..]), payload, nh, &mut buf)
                .unwrap();
            assert_eq!(
                hex::encode(&buf[..len]),
                hex::encode(&c.packet),
                "case {} {:?}",
                c.n,
                backend
            );

            // Decap through the full inbound path (replay window, ESN inference).
            let mut inb = InboundSa::new(&cfg).unwrap();
            if c.esn && c.seq.hi() > 0 {
                // Put the window where the sender is so the high half is inferred.
                inb.accept_verified(SeqNum(c.seq.0 - 1), 0).unwrap();
            }
            let mut pkt = c.packet.clone();
            let o = inb
                .open(&mut pkt)
                .unwrap_or_else(|e| panic!("case {} {:?}: {e}", c.n, backend));
            assert_eq!(o.seq, c.seq);
            assert_eq!(o.next_header, nh);
            assert_eq!(&pkt[o.payload.clone()], payload, "case {}", c.n);

            // Any flipped bit in the packet is rejected.
            let mut inb = InboundSa::new(&cfg).unwrap();
            for bit in [0usize, 40, 70, 8 * c.packet.len() - 1, 8 * 20 + 3] {
                let mut pkt = c.packet.clone();
                pkt[bit / 8] ^= 1 << (bit % 8);
                if c.esn && c.seq.hi() > 0 {
                    assert!(
                        inb.open_at(c.seq, &mut pkt).is_err(),
                        "case {} bit {bit}",
                        c.n
                    );
                } else {
                    assert!(inb.open(&mut pkt).is_err(), "case {} bit {bit}", c.n);
                }
            }
        }
    }
}
