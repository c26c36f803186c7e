//! Random and structured garbage against the engine: it never panics, and messages
//! that do not authenticate never change its state.

use std::net::SocketAddr;
use std::time::Instant;

use ikev2::config::ts_from_cidr;
use ikev2::wire::{
    self, DeletePayload, Header, IdPayload, NotifyPayload, Payload, Proposal, TrafficSelector,
    Transform,
};
use ikev2::{
    Action, ChildConfig, Connection, Engine, EngineConfig, EspProposal, Identity, IkeProposal,
    Mode, SecretBytes,
};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn conn(local: &str, remote: Option<&str>, lid: &str, rid: &str) -> Connection {
    Connection {
        name: "c".into(),
        local_addr: local.parse().unwrap(),
        remote_addr: remote.map(|r| r.parse().unwrap()),
        local_id: Identity::parse(lid).unwrap(),
        remote_id: Identity::parse(rid).unwrap(),
        psk: SecretBytes::new(b"k".to_vec()),
        ike_proposals: vec![
            IkeProposal::parse("aes256gcm16-prfsha256-x25519").unwrap(),
            IkeProposal::parse("aes128-sha256-ecp256").unwrap(),
        ],
        children: vec![ChildConfig {
            name: "n".into(),
            local_ts: vec![ts_from_cidr("10.0.0.0/8").unwrap()],
            remote_ts: vec![ts_from_cidr("10.0.0.0/8").unwrap()],
            mode: Mode::Tunnel,
            esp_proposals: vec![
                EspProposal::parse("aes128gcm16").unwrap(),
                EspProposal::parse("aes128-sha256-x25519").unwrap(),
            ],
            rekey_time: None,
            life_time: None,
        }],
        rekey_time: None,
        life_time: None,
        dpd_delay: None,
        force_encap: false,
    }
}

const A: &str = "10.9.0.1:500";
const B: &str = "10.9.0.2:500";

/// Deliver until quiet; returns nothing, panics propagate.
fn pump(a: &mut Engine, b: &mut Engine, now: Instant, from_a: Vec<Action>) {
    let mut q: Vec<(bool, Action)> = from_a.into_iter().map(|x| (true, x)).collect();
    let mut n = 0;
    while let Some((is_a, act)) = q.pop() {
        n += 1;
        assert!(n < 1000);
        if let Action::Send {
            local,
            remote,
            datagram,
        } = act
        {
            let got = if is_a {
                b.handle_datagram(now, remote, local, &datagram)
            } else {
                a.handle_datagram(now, remote, local, &datagram)
            };
            q.extend(got.into_iter().map(|x| (!is_a, x)));
        }
    }
}

fn established_pair() -> (Engine, Engine, Instant) {
    let mut a = Engine::new(EngineConfig::default(), Box::new(StdRng::seed_from_u64(1)));
    let mut b = Engine::new(EngineConfig::default(), Box::new(StdRng::seed_from_u64(2)));
    a.add_connection(conn("10.9.0.1", Some("10.9.0.2"), "a.x", "b.x"))
        .unwrap();
    b.add_connection(conn("10.9.0.2", None, "b.x", "a.x"))
        .unwrap();
    let now = Instant::now();
    let (_, acts) = a.initiate(now, "c").unwrap();
    pump(&mut a, &mut b, now, acts);
    assert_eq!(a.list_sas()[0].children.len(), 1);
    (a, b, now)
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn arb_transform() -> impl Strategy<Value = Transform> {
    (
        0u8..7,
        prop_oneof![
            Just(0u16),
            Just(5),
            Just(12),
            Just(19),
            Just(20),
            Just(31),
            any::<u16>()
        ],
        proptest::option::of(prop_oneof![Just(128u16), Just(256), any::<u16>()]),
    )
        .prop_map(|(ttype, id, key_len)| Transform { ttype, id, key_len })
}

fn arb_proposal() -> impl Strategy<Value = Proposal> {
    (
        1u8..4,
        0u8..5,
        prop_oneof![Just(vec![]), arb_bytes(5), Just(vec![1u8; 8])],
        proptest::collection::vec(arb_transform(), 0..6),
    )
        .prop_map(|(num, protocol, spi, transforms)| Proposal {
            num,
            protocol,
            spi,
            transforms,
        })
}

fn arb_ts() -> impl Strategy<Value = TrafficSelector> {
    (
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(|(p, sp, ep, sa, ea, v6)| {
            let (s, e) = if v6 {
                (
                    std::net::IpAddr::V6((sa as u128).into()),
                    std::net::IpAddr::V6((ea as u128).into()),
                )
            } else {
                (
                    std::net::IpAddr::V4(sa.into()),
                    std::net::IpAddr::V4(ea.into()),
                )
            };
            TrafficSelector {
                ip_proto: p,
                start_port: sp,
                end_port: ep,
                start_addr: s,
                end_addr: e,
            }
        })
}

fn arb_payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        proptest::collection::vec(arb_proposal(), 0..3).prop_map(Payload::Sa),
        // An acceptable ESP proposal with a random SPI (small values included).
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 4),
            Just(vec![0u8, 0, 0, 1]),
            Just(vec![0u8; 4])
        ]
        .prop_map(|spi| Payload::Sa(vec![Proposal {
            num: 1,
            protocol: 3,
            spi,
            transforms: vec![
                Transform {
                    ttype: 1,
                    id: 20,
                    key_len: Some(128)
                },
                Transform {
                    ttype: 5,
                    id: 0,
                    key_len: None
                }
            ],
        }])),
        Just(Payload::TsI(vec![ts_from_cidr("10.1.0.0/16").unwrap()])),
        Just(Payload::TsR(vec![ts_from_cidr("10.2.0.0/16").unwrap()])),
        proptest::collection::vec(any::<u8>(), 32).prop_map(Payload::Nonce),
        (
            prop_oneof![Just(19u16), Just(20), Just(31), any::<u16>()],
            arb_bytes(100)
        )
            .prop_map(|(group, data)| Payload::Ke { group, data }),
        arb_bytes(300).prop_map(Payload::Nonce),
        (
            0u8..4,
            prop_oneof![
                Just(16393u16),
                Just(16390),
                Just(24),
                Just(14),
                Just(17),
                Just(16391),
                Just(16388),
                any::<u16>()
            ],
            prop_oneof![Just(vec![]), arb_bytes(9)],
            arb_bytes(24)
        )
            .prop_map(
                |(protocol, ntype, spi, data)| Payload::Notify(NotifyPayload {
                    protocol,
                    ntype,
                    spi,
                    data
                })
            ),
        (
            prop_oneof![Just(1u8), Just(3), any::<u8>()],
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 4), 0..3)
        )
            .prop_map(|(protocol, spis)| Payload::Delete(DeletePayload {
                protocol,
                spi_size: if spis.is_empty() { 0 } else { 4 },
                spis
            })),
        proptest::collection::vec(arb_ts(), 0..3).prop_map(Payload::TsI),
        proptest::collection::vec(arb_ts(), 0..3).prop_map(Payload::TsR),
        (any::<u8>(), arb_bytes(20))
            .prop_map(|(id_type, data)| Payload::IdI(IdPayload { id_type, data })),
        (any::<u8>(), arb_bytes(40)).prop_map(|(method, data)| Payload::Auth { method, data }),
    ]
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a deeper run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    /// Random bytes at a fresh responder and at an established pair: no panic, no state change.
    #[test]
    fn random_datagrams(data in arb_bytes(600), natt in any::<bool>()) {
        let (mut a, mut b, now) = established_pair();
        let before = (a.list_sas(), b.list_sas());
        let (la, lb): (SocketAddr, SocketAddr) = if natt {
            ("10.9.0.1:4500".parse().unwrap(), "10.9.0.2:4500".parse().unwrap())
        } else {
            (A.parse().unwrap(), B.parse().unwrap())
        };
        let _ = a.handle_datagram(now, la, lb, &data);
        let _ = b.handle_datagram(now, lb, la, &data);
        prop_assert_eq!(before, (a.list_sas(), b.list_sas()));
    }

    /// Well-formed plaintext IKE_SA_INIT requests with random content.
    #[test]
    fn random_ike_sa_init(payloads in proptest::collection::vec(arb_payload(), 0..7), spi in 1u64..) {
        let mut b = Engine::new(EngineConfig::default(), Box::new(StdRng::seed_from_u64(2)));
        b.add_connection(conn("10.9.0.2", None, "b.x", "a.x")).unwrap();
        let h = Header { spi_i: spi, spi_r: 0, next_payload: 0, version: wire::VERSION, exchange: 34, flags: 8, message_id: 0, length: 0 };
        let msg = wire::emit_plain(h, &payloads);
        let acts = b.handle_datagram(Instant::now(), B.parse().unwrap(), A.parse().unwrap(), &msg);
        prop_assert!(!acts.iter().any(|x| matches!(x, Action::InstallChildSa(_))));
        prop_assert!(b.list_sas().len() <= 1);
    }

    /// Authenticated requests with random payloads over an established IKE SA: the
    /// peer answers or drops, never panics, never installs a CHILD_SA it could not key.
    #[test]
    fn random_authenticated_requests(
        mut payloads in proptest::collection::vec(arb_payload(), 0..7),
        exch in prop_oneof![Just(35u8), Just(36), Just(37), Just(40)],
        rekey in any::<bool>(),
    ) {
        let (mut a, mut b, now) = established_pair();
        let id = a.list_sas()[0].id;
        if rekey {
            // Aim at the real CHILD_SA so the rekey paths run.
            let spi = a.list_sas()[0].children[0].inbound_spi;
            payloads.insert(0, Payload::Notify(NotifyPayload { protocol: 3, ntype: 16393, spi: spi.to_be_bytes().to_vec(), data: vec![] }));
        }
        let acts = a.send_raw_request(now, id, exch, payloads);
        pump(&mut a, &mut b, now, acts);
        for sa in b.list_sas() {
            for c in sa.children {
                prop_assert!(c.inbound_spi >= 256 && c.outbound_spi >= 256, "{:?}", c);
            }
        }
    }
}

#[test]
fn rekey_with_reserved_spi_is_refused() {
    for spi in [[0u8, 0, 0, 0], [0, 0, 0, 255], [0, 0, 1, 0]] {
        let (mut a, mut b, now) = established_pair();
        let id = a.list_sas()[0].id;
        let child = a.list_sas()[0].children[0].inbound_spi;
        let p = vec![
            Payload::Notify(NotifyPayload {
                protocol: 3,
                ntype: 16393,
                spi: child.to_be_bytes().to_vec(),
                data: vec![],
            }),
            Payload::Sa(vec![Proposal {
                num: 1,
                protocol: 3,
                spi: spi.to_vec(),
                transforms: vec![
                    Transform {
                        ttype: 1,
                        id: 20,
                        key_len: Some(128),
                    },
                    Transform {
                        ttype: 5,
                        id: 0,
                        key_len: None,
                    },
                ],
            }]),
            Payload::Nonce(vec![7; 32]),
            Payload::TsI(vec![ts_from_cidr("10.0.0.0/8").unwrap()]),
            Payload::TsR(vec![ts_from_cidr("10.0.0.0/8").unwrap()]),
        ];
        let acts = a.send_raw_request(now, id, 36, p);
        let mut installed = 0;
        let mut q: Vec<Action> = acts;
        while let Some(act) = q.pop() {
            if let Action::Send {
                local,
                remote,
                datagram,
            } = act
            {
                for x in b.handle_datagram(now, remote, local, &datagram) {
                    if matches!(x, Action::InstallChildSa(_)) {
                        installed += 1;
                    }
                    if let Action::Send { .. } = x {
                        let _ = a.handle_datagram(
                            now,
                            local,
                            remote,
                            match &x {
                                Action::Send { datagram, .. } => datagram,
                                _ => unreachable!(),
                            },
                        );
                    }
                }
            }
        }
        let want = if u32::from_be_bytes(spi) < 256 { 0 } else { 1 };
        assert_eq!(installed, want, "SPI {spi:?}");
    }
}
