//! Cost of a complete IKE_SA_INIT + IKE_AUTH (both sides, in memory) per IKE
//! proposal, beside the cost of the Diffie-Hellman work alone measured in the same
//! run (two key generations and two agreements), so the table shows what the
//! protocol adds on top of the unavoidable public-key work.
//!
//! `cargo run -p ikev2 --example handshake_bench [ITERATIONS]`

use std::time::{Duration, Instant};

use ikev2::config::ts_from_cidr;
use ikev2::crypto::DhPrivate;
use ikev2::{
    Action, ChildConfig, Connection, Engine, EngineConfig, EspProposal, Identity, IkeProposal,
    SecretBytes,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn conn(local: &str, remote: Option<&str>, lid: &str, rid: &str, ike: &str) -> Connection {
    let net = ts_from_cidr("10.0.0.0/8").expect("ts");
    let esp = EspProposal::parse("aes128gcm16").expect("esp");
    Connection {
        ike_proposals: vec![IkeProposal::parse(ike).expect("proposal")],
        children: vec![ChildConfig::tunnel("n", net, net, vec![esp])],
        ..Connection::new(
            "c",
            local.parse().expect("address"),
            remote.map(|r| r.parse().expect("address")),
            Identity::parse(lid).expect("id"),
            Identity::parse(rid).expect("id"),
            SecretBytes::new(b"bench-psk".to_vec()),
        )
    }
}

fn handshake(ike: &str, seed: u64) -> usize {
    let now = Instant::now();
    let mut a = Engine::new(
        EngineConfig::default(),
        Box::new(StdRng::seed_from_u64(seed)),
    );
    let mut b = Engine::new(
        EngineConfig::default(),
        Box::new(StdRng::seed_from_u64(!seed)),
    );
    a.add_connection(conn("10.9.0.1", Some("10.9.0.2"), "a.x", "b.x", ike))
        .expect("conn");
    b.add_connection(conn("10.9.0.2", None, "b.x", "a.x", ike))
        .expect("conn");
    let (_, acts) = a.initiate(now, "c").expect("initiate");
    let mut q: Vec<(bool, Action)> = acts.into_iter().map(|x| (true, x)).collect();
    let mut installs = 0;
    while let Some((from_a, act)) = q.pop() {
        if let Action::Send {
            local,
            remote,
            datagram,
        } = act
        {
            // What one side sends from `local` to `remote` the other receives on
            // `remote` from `local`.
            let to = if from_a { &mut b } else { &mut a };
            let got = to.handle_datagram(now, remote, local, &datagram);
            q.extend(got.into_iter().map(|x| (!from_a, x)));
        } else if matches!(act, Action::InstallChildSa(_)) {
            installs += 1;
        }
    }
    installs
}

fn dh_only(ike: &str, seed: u64) {
    let group = IkeProposal::parse(ike).expect("proposal").dh[0];
    let mut rng = StdRng::seed_from_u64(seed);
    let i = DhPrivate::generate(group, &mut rng);
    let r = DhPrivate::generate(group, &mut rng);
    let s1 = i.agree(&r.public()).expect("agree");
    let s2 = r.agree(&i.public()).expect("agree");
    assert_eq!(s1, s2);
}

fn time(n: u32, mut f: impl FnMut(u64)) -> Duration {
    let t = Instant::now();
    for k in 0..n {
        f(u64::from(k) + 1);
    }
    t.elapsed() / n
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    println!(
        "{:<34} {:>14} {:>14} {:>8}",
        "IKE proposal", "handshake (us)", "DH only (us)", "ratio"
    );
    for ike in [
        "aes256gcm16-prfsha256-x25519",
        "aes256gcm16-prfsha256-ecp256",
        "aes256gcm16-prfsha384-ecp384",
        "aes128-sha256-x25519",
    ] {
        assert_eq!(
            handshake(ike, 1),
            2,
            "{ike}: both sides install the CHILD_SA"
        );
        let hs = time(n, |s| {
            handshake(ike, s);
        });
        let dh = time(n, |s| dh_only(ike, s));
        println!(
            "{:<34} {:>14.1} {:>14.1} {:>8.2}",
            ike,
            hs.as_secs_f64() * 1e6,
            dh.as_secs_f64() * 1e6,
            hs.as_secs_f64() / dh.as_secs_f64()
        );
    }
}
