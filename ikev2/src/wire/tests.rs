//! The wire format against one sample message holding every payload kind: round
//! trip, every truncation refused, critical unknown payloads refused, no panic on
//! garbage.

use super::*;

fn sample_payloads() -> Vec<Payload> {
    vec![
        Payload::Sa(vec![
            Proposal {
                num: 1,
                protocol: protocol::IKE,
                spi: vec![],
                transforms: vec![
                    Transform {
                        ttype: 1,
                        id: 20,
                        key_len: Some(256),
                    },
                    Transform {
                        ttype: 2,
                        id: 5,
                        key_len: None,
                    },
                    Transform {
                        ttype: 4,
                        id: 31,
                        key_len: None,
                    },
                ],
            },
            Proposal {
                num: 2,
                protocol: protocol::ESP,
                spi: vec![1, 2, 3, 4],
                transforms: vec![Transform {
                    ttype: 5,
                    id: 0,
                    key_len: None,
                }],
            },
        ]),
        Payload::Ke {
            group: 31,
            data: vec![9; 32],
        },
        Payload::Nonce(vec![7; 32]),
        Payload::Notify(NotifyPayload {
            protocol: 3,
            ntype: notify::REKEY_SA,
            spi: vec![1, 2, 3, 4],
            data: vec![],
        }),
        Payload::Delete(DeletePayload {
            protocol: 3,
            spi_size: 4,
            spis: vec![vec![1, 1, 1, 1], vec![2, 2, 2, 2]],
        }),
        Payload::IdI(IdPayload {
            id_type: 2,
            data: b"moon".to_vec(),
        }),
        Payload::Auth {
            method: 2,
            data: vec![5; 32],
        },
        Payload::TsI(vec![TrafficSelector {
            ip_proto: 0,
            start_port: 0,
            end_port: 65535,
            start_addr: "10.0.0.0".parse().unwrap(),
            end_addr: "10.0.0.255".parse().unwrap(),
        }]),
        Payload::TsR(vec![TrafficSelector {
            ip_proto: 17,
            start_port: 53,
            end_port: 53,
            start_addr: "fd00::".parse().unwrap(),
            end_addr: "fd00::ffff".parse().unwrap(),
        }]),
        Payload::Vendor(b"vendor".to_vec()),
        Payload::Unknown {
            ptype: 200,
            critical: false,
            body: vec![1, 2],
        },
    ]
}

#[test]
fn round_trip() {
    let h = Header {
        spi_i: 0x0102030405060708,
        spi_r: 0,
        next_payload: 0,
        version: VERSION,
        exchange: exchange::IKE_SA_INIT,
        flags: flags::INITIATOR,
        message_id: 0,
        length: 0,
    };
    let msg = emit_plain(h, &sample_payloads());
    let h2 = Header::parse(&msg).unwrap();
    assert_eq!(h2.spi_i, h.spi_i);
    assert_eq!(h2.length as usize, msg.len());
    let chain = parse_chain(h2.next_payload, &msg[HEADER_LEN..]).unwrap();
    assert_eq!(chain.payloads, sample_payloads());
    let again = emit_plain(h2, &chain.payloads);
    assert_eq!(again, msg);
}

#[test]
fn every_truncation_is_an_error() {
    let h = Header {
        spi_i: 1,
        spi_r: 2,
        next_payload: 0,
        version: VERSION,
        exchange: exchange::IKE_SA_INIT,
        flags: 0,
        message_id: 0,
        length: 0,
    };
    let msg = emit_plain(h, &sample_payloads());
    for cut in 0..msg.len() {
        let b = &msg[..cut];
        let ok = Header::parse(b)
            .and_then(|h| parse_chain(h.next_payload, &b[HEADER_LEN..h.length as usize]));
        assert!(ok.is_err(), "cut at {cut} parsed");
    }
}

#[test]
fn critical_unknown_payload_refused() {
    let mut body = Vec::new();
    emit_chain(
        &[Payload::Unknown {
            ptype: 201,
            critical: true,
            body: vec![],
        }],
        &mut body,
    );
    assert_eq!(
        parse_chain(201, &body).unwrap_err(),
        ParseError::UnsupportedCritical(201)
    );
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), first in 0u8..60) {
        let _ = Header::parse(&bytes);
        let _ = parse_chain(first, &bytes);
        for t in 33u8..48 {
            let _ = parse_payload_body(t, false, &bytes);
        }
    }
}
