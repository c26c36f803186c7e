//! Target `ike_engine`: the IKEv2 engine fed arbitrary datagrams after a valid
//! IKE_SA_INIT. A deterministic initiator and responder (seeded random sources)
//! run IKE_SA_INIT; the initiator's IKE_AUTH request is made but not delivered.
//! The input is then a series of records, each delivered to one engine:
//!
//! `[flags] [length: u16 big-endian] [datagram: length bytes, or what is left]`
//!
//! Flags: bit 0 writes the live IKE SA's SPIs over the first 16 bytes (so the
//! datagram reaches the half-open SA instead of being dropped as unknown), bit 1
//! delivers on the NAT-T port with the non-ESP marker, bit 2 delivers to the
//! initiator (waiting for its IKE_AUTH response) instead of the responder.
//!
//! Invariants: nothing panics; a datagram that is not the genuine IKE_AUTH request
//! installs no CHILD_SA and changes no IKE SA that existed before it (new half-open
//! SAs from a fresh IKE_SA_INIT may appear).

use std::net::SocketAddr;
use std::time::Instant;

use ikev2::config::ts_from_cidr;
use ikev2::{
    Action, ChildConfig, Connection, Engine, EngineConfig, EspProposal, Identity, IkeProposal,
    IkeSaInfo, Mode, SecretBytes,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Initiator's address.
const A: &str = "10.9.0.1";
/// Responder's address.
const B: &str = "10.9.0.2";
/// At most this many records of one input are delivered.
const MAX_RECORDS: usize = 16;

fn conn(local: &str, remote: Option<&str>, lid: &str, rid: &str) -> Connection {
    Connection {
        name: "c".into(),
        local_addr: local.parse().expect("fixed address"),
        remote_addr: remote.map(|r| r.parse().expect("fixed address")),
        local_id: Identity::parse(lid).expect("fixed identity"),
        remote_id: Identity::parse(rid).expect("fixed identity"),
        psk: SecretBytes::new(b"fuzz psk".to_vec()),
        ike_proposals: vec![
            IkeProposal::parse("aes256gcm16-prfsha256-x25519").expect("fixed proposal"),
            IkeProposal::parse("aes128-sha256-ecp256").expect("fixed proposal"),
        ],
        children: vec![ChildConfig {
            name: "n".into(),
            local_ts: vec![ts_from_cidr("10.0.0.0/8").expect("fixed selector")],
            remote_ts: vec![ts_from_cidr("10.0.0.0/8").expect("fixed selector")],
            mode: Mode::Tunnel,
            esp_proposals: vec![
                EspProposal::parse("aes128gcm16").expect("fixed proposal"),
                EspProposal::parse("aes128-sha256-x25519").expect("fixed proposal"),
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

fn addr(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().expect("fixed address"), port)
}

/// The two engines after IKE_SA_INIT, with the messages exchanged so far.
pub struct Pair {
    /// Initiator, waiting for the IKE_AUTH response.
    pub initiator: Engine,
    /// Responder, with one half-open IKE SA.
    pub responder: Engine,
    /// The time every datagram is delivered at.
    pub now: Instant,
    /// The initiator's IKE_SA_INIT request.
    pub sa_init_request: Vec<u8>,
    /// The responder's IKE_SA_INIT response.
    pub sa_init_response: Vec<u8>,
    /// The initiator's IKE_AUTH request (not delivered).
    pub auth_request: Vec<u8>,
    /// SPIs of the IKE SA (initiator's, responder's).
    pub spis: (u64, u64),
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("spis", &self.spis)
            .finish_non_exhaustive()
    }
}

fn sent(actions: Vec<Action>) -> Option<Vec<u8>> {
    actions.into_iter().find_map(|a| match a {
        Action::Send { datagram, .. } => Some(datagram),
        _ => None,
    })
}

/// Builds both engines and runs IKE_SA_INIT between them (always the same bytes).
pub fn pair() -> Pair {
    let mut initiator = Engine::new(EngineConfig::default(), Box::new(StdRng::seed_from_u64(1)));
    let mut responder = Engine::new(EngineConfig::default(), Box::new(StdRng::seed_from_u64(2)));
    initiator
        .add_connection(conn(A, Some(B), "a.x", "b.x"))
        .expect("fixed connection");
    responder
        .add_connection(conn(B, None, "b.x", "a.x"))
        .expect("fixed connection");
    let now = Instant::now();
    let (_, acts) = initiator.initiate(now, "c").expect("initiate");
    let sa_init_request = sent(acts).expect("IKE_SA_INIT request");
    let acts = responder.handle_datagram(now, addr(B, 500), addr(A, 500), &sa_init_request);
    let sa_init_response = sent(acts).expect("IKE_SA_INIT response");
    let acts = initiator.handle_datagram(now, addr(A, 500), addr(B, 500), &sa_init_response);
    let auth_request = sent(acts).expect("IKE_AUTH request");
    let sa = &responder.list_sas()[0];
    let spis = (sa.spi_i, sa.spi_r);
    Pair {
        initiator,
        responder,
        now,
        sa_init_request,
        sa_init_response,
        auth_request,
        spis,
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut p = pair();
    let mut rest = data;
    for _ in 0..MAX_RECORDS {
        let Some((&flags, tail)) = rest.split_first() else {
            break;
        };
        let (len, tail) = match tail {
            [hi, lo, t @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), t),
            t => (t.len(), &[][..]),
        };
        let (dgram, tail) = tail.split_at(len.min(tail.len()));
        rest = tail;
        deliver(&mut p, flags, dgram);
    }
}

fn deliver(p: &mut Pair, flags: u8, dgram: &[u8]) {
    let mut msg = dgram.to_vec();
    if flags & 1 != 0 && msg.len() >= 16 {
        msg[..8].copy_from_slice(&p.spis.0.to_be_bytes());
        msg[8..16].copy_from_slice(&p.spis.1.to_be_bytes());
    }
    let genuine = msg == p.auth_request;
    let port = if flags & 2 != 0 { 4500 } else { 500 };
    let mut wire = Vec::new();
    if port == 4500 {
        wire.extend_from_slice(&[0, 0, 0, 0]);
    }
    wire.extend_from_slice(&msg);
    let to_initiator = flags & 4 != 0;
    let (engine, local, remote) = if to_initiator {
        (&mut p.initiator, addr(A, port), addr(B, port))
    } else {
        (&mut p.responder, addr(B, port), addr(A, port))
    };
    let before = engine.list_sas();
    let acts = engine.handle_datagram(p.now, local, remote, &wire);
    if genuine && !to_initiator {
        return;
    }
    assert!(
        !acts.iter().any(|a| matches!(a, Action::InstallChildSa(_))),
        "an unauthenticated datagram installed a CHILD_SA"
    );
    let after = engine.list_sas();
    for sa in &before {
        let now: Option<&IkeSaInfo> = after.iter().find(|s| s.id == sa.id);
        assert_eq!(
            now,
            Some(sa),
            "an unauthenticated datagram changed an IKE SA"
        );
    }
}

/// Seed inputs: the genuine messages of the exchange as records (the IKE_AUTH
/// request to the responder, the IKE_SA_INIT messages again as retransmissions,
/// each on both ports) and a few short ones.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let p = pair();
    let record = |flags: u8, d: &[u8]| -> Vec<u8> {
        let mut r = vec![flags];
        r.extend_from_slice(&(d.len() as u16).to_be_bytes());
        r.extend_from_slice(d);
        r
    };
    let mut two = record(0, &p.sa_init_request);
    two.extend(record(0, &p.auth_request));
    vec![
        ("auth".into(), record(0, &p.auth_request)),
        ("auth-natt".into(), record(2, &p.auth_request)),
        ("init-again".into(), record(0, &p.sa_init_request)),
        ("init-then-auth".into(), two),
        (
            "init-response-to-initiator".into(),
            record(4, &p.sa_init_response),
        ),
        ("auth-to-initiator".into(), record(5, &p.auth_request)),
        ("keepalive".into(), record(2, &[])),
        ("header-only".into(), record(1, &p.auth_request[..28])),
    ]
    .into_iter()
    .map(|(n, d): (String, Vec<u8>)| (format!("seed-{n}"), d))
    .collect()
}
