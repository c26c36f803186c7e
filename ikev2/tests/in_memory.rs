//! Two engines against each other, in memory.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ikev2::config::ts_from_cidr;
use ikev2::{
    Action, ChildConfig, ChildSaId, ChildSaInstall, CloseReason, Connection, DropReason, Engine,
    EngineConfig, EspProposal, Event, Identity, IkeProposal, IkeState, Mode, SecretBytes, UdpEncap,
};
use rand::rngs::StdRng;
use rand::{CryptoRng, Rng, RngCore, SeedableRng};
use std::sync::{Arc, Mutex};

const A_IP: &str = "10.9.0.1";
const B_IP: &str = "10.9.0.2";

#[allow(clippy::too_many_arguments)]
fn conn(
    name: &str,
    local: &str,
    remote: Option<&str>,
    lid: &str,
    rid: &str,
    psk: &str,
    ike: &[&str],
    esp: &[&str],
) -> Connection {
    let (lnet, rnet) = if local == A_IP {
        ("10.1.0.0/24", "10.2.0.0/24")
    } else {
        ("10.2.0.0/24", "10.1.0.0/24")
    };
    Connection {
        name: name.into(),
        local_addr: local.parse().unwrap(),
        remote_addr: remote.map(|r| r.parse().unwrap()),
        local_id: Identity::parse(lid).unwrap(),
        remote_id: Identity::parse(rid).unwrap(),
        psk: SecretBytes::new(psk.as_bytes().to_vec()),
        ike_proposals: ike.iter().map(|p| IkeProposal::parse(p).unwrap()).collect(),
        children: vec![ChildConfig {
            name: "net".into(),
            local_ts: vec![ts_from_cidr(lnet).unwrap()],
            remote_ts: vec![ts_from_cidr(rnet).unwrap()],
            mode: Mode::Tunnel,
            esp_proposals: esp.iter().map(|p| EspProposal::parse(p).unwrap()).collect(),
            rekey_time: None,
            life_time: None,
        }],
        rekey_time: None,
        life_time: None,
        dpd_delay: None,
        force_encap: false,
    }
}

fn engine(seed: u64, cfg: EngineConfig) -> Engine {
    Engine::new(cfg, Box::new(StdRng::seed_from_u64(seed)))
}

type Draws = Arc<Mutex<Vec<Vec<u8>>>>;

/// A random source that records every 32-byte draw: those are the nonces (32
/// bytes) when no x25519 key is generated (ECP-384 scalars take 48 bytes), so a
/// test learns the nonces of an exchange without asking the engine.
struct RecRng {
    inner: StdRng,
    draws: Draws,
}

impl RngCore for RecRng {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.inner.fill_bytes(dest);
        if dest.len() == 32 {
            self.draws.lock().unwrap().push(dest.to_vec());
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for RecRng {}

/// A pair whose engines record their 32-byte draws.
fn recorded_pair(ca: Connection, cb: Connection, seed: u64) -> (Pair, Draws, Draws) {
    let (da, db) = (Draws::default(), Draws::default());
    let mut a = Engine::new(
        EngineConfig::default(),
        Box::new(RecRng {
            inner: StdRng::seed_from_u64(seed),
            draws: da.clone(),
        }),
    );
    let mut b = Engine::new(
        EngineConfig::default(),
        Box::new(RecRng {
            inner: StdRng::seed_from_u64(seed + 1000),
            draws: db.clone(),
        }),
    );
    a.add_connection(ca).unwrap();
    b.add_connection(cb).unwrap();
    (Pair::from_engines(a, b), da, db)
}

/// Both sides started a rekey (their draws since `mark`: own Ni first, then Nr
/// for the peer's request). True when A's exchange holds the lowest of the four
/// nonces, i.e. A created the redundant SA (RFC 7296 2.8.1).
fn a_created_lowest(da: &Draws, db: &Draws, mark: (usize, usize)) -> bool {
    let a = da.lock().unwrap()[mark.0..].to_vec();
    let b = db.lock().unwrap()[mark.1..].to_vec();
    assert_eq!((a.len(), b.len()), (2, 2), "one nonce per role and side");
    let exch_a = a[0].clone().min(b[1].clone());
    let exch_b = b[0].clone().min(a[1].clone());
    exch_a < exch_b
}

fn marks(da: &Draws, db: &Draws) -> (usize, usize) {
    (da.lock().unwrap().len(), db.lock().unwrap().len())
}

/// Decides whether to lose a datagram: (sent by A?, bytes) -> drop?
type Filter = Box<dyn FnMut(bool, &[u8]) -> bool>;

/// What a data path does with one side's CHILD_SA actions, as the README tells the
/// daemon: install and delete both directions, send on the SA named by the latest
/// install or outbound switch that is still present (`order`), move ESP-in-UDP to a
/// new peer endpoint when told.
#[derive(Default)]
struct DataPath {
    /// Installed: child -> (inbound SPI, outbound SPI, encapsulation).
    sas: BTreeMap<ChildSaId, (u32, u32, Option<UdpEncap>)>,
    order: Vec<ChildSaId>,
    /// Inconsistencies (double install, delete of an absent SA).
    errors: Vec<String>,
}

impl DataPath {
    fn apply(&mut self, a: &Action) {
        match a {
            Action::InstallChildSa(i) => {
                if self
                    .sas
                    .insert(i.child, (i.inbound.spi, i.outbound.spi, i.encap))
                    .is_some()
                {
                    self.errors.push(format!("{:?} installed twice", i.child));
                }
                self.order.push(i.child);
            }
            Action::DeleteChildSa {
                child,
                inbound_spi,
                outbound_spi,
                ..
            } => match self.sas.remove(child) {
                Some((i, o, _)) if i == *inbound_spi && o == *outbound_spi => {}
                x => self
                    .errors
                    .push(format!("delete of {child:?}: installed as {x:?}")),
            },
            Action::SwitchOutbound {
                child,
                outbound_spi,
                ..
            } => match self.sas.get(child) {
                Some(x) if x.1 == *outbound_spi => self.order.push(*child),
                x => self
                    .errors
                    .push(format!("outbound switch to {child:?}: installed as {x:?}")),
            },
            Action::UpdateChildSaEncap { child, encap, .. } => match self.sas.get_mut(child) {
                Some(e) => e.2 = Some(*encap),
                None => self
                    .errors
                    .push(format!("encap update of absent {child:?}")),
            },
            _ => {}
        }
    }
    /// The SA the data path sends on now: (outbound SPI, encapsulation).
    fn outbound(&self) -> Option<(u32, Option<UdpEncap>)> {
        self.order
            .iter()
            .rev()
            .find_map(|c| self.sas.get(c).map(|x| (x.1, x.2)))
    }
    fn has_inbound(&self, spi: u32) -> bool {
        self.sas.values().any(|x| x.0 == spi)
    }
}

/// An item of the simulated network, delivered in order.
enum Item {
    /// An action one side's engine returned.
    Act(bool, Action),
    /// This side sends an ESP packet on its current outbound SA.
    ProbeSend(bool),
    /// An ESP packet from this side with this SPI (and where it was sent) arrives.
    ProbeArrive(bool, u32, Option<UdpEncap>),
}

/// Both sides and everything they did.
struct Pair {
    a: Engine,
    b: Engine,
    now: Instant,
    a_log: Vec<Action>,
    b_log: Vec<Action>,
    /// Datagrams seen on the wire, (from a?, local, remote, bytes).
    wire: Vec<(bool, SocketAddr, SocketAddr, Vec<u8>)>,
    /// Drop datagrams for which this returns true.
    filter: Filter,
    /// A NAT in front of A: A's address as B sees it (ports move by +40000).
    nat: Option<IpAddr>,
    /// Port offset of the NAT's mappings, and datagrams it dropped (no mapping).
    nat_shift: u16,
    nat_dropped: usize,
    /// Data path models of A and B, and whether ESP probes are sent.
    dp_a: DataPath,
    dp_b: DataPath,
    probes: bool,
    /// ESP probes delivered, and those that found no inbound SA (or went to the
    /// wrong place).
    probes_ok: usize,
    probes_lost: Vec<String>,
}

impl Pair {
    fn new(ca: Connection, cb: Connection) -> Pair {
        Pair::with_cfg(ca, cb, EngineConfig::default(), EngineConfig::default())
    }
    fn with_cfg(ca: Connection, cb: Connection, cfa: EngineConfig, cfb: EngineConfig) -> Pair {
        Pair::seeded(ca, cb, cfa, cfb, 1)
    }
    fn seeded(
        ca: Connection,
        cb: Connection,
        cfa: EngineConfig,
        cfb: EngineConfig,
        seed: u64,
    ) -> Pair {
        let mut a = engine(seed, cfa);
        let mut b = engine(seed + 1000, cfb);
        a.add_connection(ca).unwrap();
        b.add_connection(cb).unwrap();
        Pair::from_engines(a, b)
    }
    fn from_engines(a: Engine, b: Engine) -> Pair {
        Pair {
            a,
            b,
            now: Instant::now(),
            a_log: vec![],
            b_log: vec![],
            wire: vec![],
            filter: Box::new(|_, _| false),
            nat: None,
            nat_shift: 40000,
            nat_dropped: 0,
            dp_a: DataPath::default(),
            dp_b: DataPath::default(),
            probes: false,
            probes_ok: 0,
            probes_lost: vec![],
        }
    }

    fn nat_out(&self, a: SocketAddr) -> SocketAddr {
        match self.nat {
            Some(ip) => SocketAddr::new(ip, a.port() + self.nat_shift),
            None => a,
        }
    }
    /// Where the NAT forwards a datagram for `a`; None when it has no such mapping.
    fn nat_in(&self, a: SocketAddr) -> Option<SocketAddr> {
        match self.nat {
            Some(ip) if a.ip() == ip => a
                .port()
                .checked_sub(self.nat_shift)
                .filter(|p| [500, 4500].contains(p))
                .map(|p| SocketAddr::new(A_IP.parse().unwrap(), p)),
            _ => Some(a),
        }
    }

    /// Deliver actions until nothing is in flight. With `probes`, each side sends
    /// an ESP packet on its current outbound SA after the actions of each of its
    /// engine calls; it travels in order with that side's IKE messages and must
    /// find an inbound SA (and, from B, A's current NAT mapping).
    fn run(&mut self, from_a: Vec<Action>, from_b: Vec<Action>) {
        let (probe_a, probe_b) = (!from_a.is_empty(), !from_b.is_empty());
        let mut queue: VecDeque<Item> = from_a.into_iter().map(|x| Item::Act(true, x)).collect();
        if self.probes && probe_a {
            queue.push_back(Item::ProbeSend(true));
        }
        queue.extend(from_b.into_iter().map(|x| Item::Act(false, x)));
        if self.probes && probe_b {
            queue.push_back(Item::ProbeSend(false));
        }
        let mut steps = 0;
        while let Some(item) = queue.pop_front() {
            steps += 1;
            assert!(steps < 100_000, "message loop");
            let (is_a, act) = match item {
                Item::Act(is_a, act) => (is_a, act),
                Item::ProbeSend(is_a) => {
                    let dp = if is_a { &self.dp_a } else { &self.dp_b };
                    if let Some((spi, encap)) = dp.outbound() {
                        queue.push_back(Item::ProbeArrive(is_a, spi, encap));
                    }
                    continue;
                }
                Item::ProbeArrive(from_a, spi, encap) => {
                    let dp = if from_a { &self.dp_b } else { &self.dp_a };
                    if !dp.has_inbound(spi) {
                        self.probes_lost.push(format!(
                            "ESP from {} with SPI {spi:08x}: no inbound SA",
                            if from_a { "A" } else { "B" }
                        ));
                    } else if let (Some(e), Some(nat)) = (encap, self.nat.filter(|_| !from_a)) {
                        // B's ESP-in-UDP must go to A's current NAT mapping.
                        let port = 4500 + self.nat_shift;
                        if e.remote.ip() != nat || e.remote.port() != port {
                            self.probes_lost.push(format!(
                                "ESP from B with SPI {spi:08x} sent to {} (mapping is {nat}:{port})",
                                e.remote
                            ));
                        } else {
                            self.probes_ok += 1;
                        }
                    } else {
                        self.probes_ok += 1;
                    }
                    continue;
                }
            };
            if is_a {
                self.dp_a.apply(&act);
            } else {
                self.dp_b.apply(&act);
            }
            if let Action::Send {
                local,
                remote,
                datagram,
            } = &act
            {
                self.wire.push((is_a, *local, *remote, datagram.clone()));
                if (self.filter)(is_a, datagram) {
                    continue;
                }
                let got = if is_a {
                    let src = self.nat_out(*local);
                    self.b.handle_datagram(self.now, *remote, src, datagram)
                } else {
                    let Some(dst) = self.nat_in(*remote) else {
                        self.nat_dropped += 1;
                        continue;
                    };
                    self.a.handle_datagram(self.now, dst, *local, datagram)
                };
                queue.extend(got.into_iter().map(|x| Item::Act(!is_a, x)));
                if self.probes {
                    queue.push_back(Item::ProbeSend(!is_a));
                }
            }
            if is_a {
                self.a_log.push(act);
            } else {
                self.b_log.push(act);
            }
        }
    }

    fn initiate(&mut self) {
        let (_, acts) = self.a.initiate(self.now, "c").unwrap();
        self.run(acts, vec![]);
    }

    fn tick(&mut self, d: Duration) {
        self.now += d;
        let a = self.a.handle_timer(self.now);
        let b = self.b.handle_timer(self.now);
        self.run(a, b);
    }
}

fn installs(log: &[Action]) -> Vec<&ChildSaInstall> {
    log.iter()
        .filter_map(|a| match a {
            Action::InstallChildSa(i) => Some(&**i),
            _ => None,
        })
        .collect()
}

fn events(log: &[Action]) -> Vec<&Event> {
    log.iter()
        .filter_map(|a| match a {
            Action::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn deletes(log: &[Action]) -> Vec<(u32, u32)> {
    log.iter()
        .filter_map(|a| match a {
            Action::DeleteChildSa {
                inbound_spi,
                outbound_spi,
                ..
            } => Some((*inbound_spi, *outbound_spi)),
            _ => None,
        })
        .collect()
}

fn assert_mirror(x: &ChildSaInstall, y: &ChildSaInstall) {
    assert_eq!(x.outbound.spi, y.inbound.spi);
    assert_eq!(x.inbound.spi, y.outbound.spi);
    assert_eq!(x.outbound.keys, y.inbound.keys);
    assert_eq!(x.inbound.keys, y.outbound.keys);
    assert_ne!(x.inbound.keys, x.outbound.keys);
    assert_eq!(x.transform, y.transform);
    assert_eq!(x.local_ts, y.remote_ts);
    assert_eq!(x.remote_ts, y.local_ts);
}

fn std_pair(ike: &[&str], esp: &[&str]) -> Pair {
    Pair::new(
        conn(
            "c",
            A_IP,
            Some(B_IP),
            "alice.example",
            "bob.example",
            "secret-psk",
            ike,
            esp,
        ),
        conn(
            "c",
            B_IP,
            None,
            "bob.example",
            "alice.example",
            "secret-psk",
            ike,
            esp,
        ),
    )
}

fn established(e: &Engine) -> usize {
    e.list_sas()
        .iter()
        .filter(|s| s.state == IkeState::Established)
        .count()
}

#[test]
fn establishes_with_every_proposal() {
    let ikes = [
        "aes256gcm16-prfsha256-x25519",
        "aes256gcm16-prfsha256-ecp256",
        "aes256gcm16-prfsha384-ecp384",
        "aes128-sha256-x25519",
        "aes128gcm16-prfsha256-x25519",
        "aes256-sha256-ecp256",
    ];
    let esps = [
        "aes128gcm16",
        "aes256gcm16",
        "aes128-sha256",
        "aes256-sha256",
    ];
    for ike in ikes {
        for esp in esps {
            let mut p = std_pair(&[ike], &[esp]);
            p.initiate();
            assert_eq!(established(&p.a), 1, "{ike} {esp}");
            assert_eq!(established(&p.b), 1, "{ike} {esp}");
            let (ia, ib) = (installs(&p.a_log), installs(&p.b_log));
            assert_eq!((ia.len(), ib.len()), (1, 1), "{ike} {esp}");
            assert_mirror(ia[0], ib[0]);
            assert!(ia[0].encap.is_none());
            let want_len = if esp.starts_with("aes256") { 32 } else { 16 };
            assert_eq!(ia[0].outbound.keys.enc_key.len(), want_len);
            let sa = &p.a.list_sas()[0];
            assert_eq!(sa.spi_i, p.b.list_sas()[0].spi_i);
            assert_eq!(sa.spi_r, p.b.list_sas()[0].spi_r);
        }
    }
}

#[test]
fn wrong_psk_fails_on_both_sides() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = Pair::new(
        conn(
            "c",
            A_IP,
            Some(B_IP),
            "alice.example",
            "bob.example",
            "right",
            &ike,
            &esp,
        ),
        conn(
            "c",
            B_IP,
            None,
            "bob.example",
            "alice.example",
            "wrong",
            &ike,
            &esp,
        ),
    );
    p.initiate();
    let fa = events(&p.a_log)
        .into_iter()
        .any(|e| matches!(e, Event::AuthenticationFailed { by_peer: true, .. }));
    let fb = events(&p.b_log)
        .into_iter()
        .any(|e| matches!(e, Event::AuthenticationFailed { by_peer: false, .. }));
    assert!(
        fa && fb,
        "a: {:?}\nb: {:?}",
        events(&p.a_log),
        events(&p.b_log)
    );
    assert!(p.a.list_sas().is_empty());
    assert!(p.b.list_sas().is_empty());
    assert!(installs(&p.a_log).is_empty() && installs(&p.b_log).is_empty());
    let text = events(&p.b_log)
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("AUTHENTICATION_FAILED"), "{text}");
}

#[test]
fn responder_with_wrong_psk_is_refused_by_initiator() {
    // The responder knows a different PSK under the same identity: the initiator's
    // AUTH fails at the responder first, so make the responder accept anything by
    // giving it the initiator's key but a different one for its own AUTH is not
    // possible with one PSK; instead the initiator expects another responder ID.
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = Pair::new(
        conn(
            "c",
            A_IP,
            Some(B_IP),
            "alice.example",
            "carol.example",
            "k",
            &ike,
            &esp,
        ),
        conn(
            "c",
            B_IP,
            None,
            "bob.example",
            "alice.example",
            "k",
            &ike,
            &esp,
        ),
    );
    p.initiate();
    assert!(events(&p.a_log)
        .iter()
        .any(|e| matches!(e, Event::AuthenticationFailed { by_peer: false, .. })));
    assert!(p.a.list_sas().is_empty());
    // The responder learns of it through the INFORMATIONAL AUTHENTICATION_FAILED.
    assert!(events(&p.b_log)
        .iter()
        .any(|e| matches!(e, Event::AuthenticationFailed { by_peer: true, .. })));
    assert!(p.b.list_sas().is_empty());
}

#[test]
fn ike_proposal_mismatch_is_explained() {
    let esp = ["aes128gcm16"];
    let mut p = Pair::new(
        conn(
            "c",
            A_IP,
            Some(B_IP),
            "a.x",
            "b.x",
            "k",
            &["aes256gcm16-prfsha256-x25519"],
            &esp,
        ),
        conn(
            "c",
            B_IP,
            None,
            "b.x",
            "a.x",
            "k",
            &["aes256gcm16-prfsha384-ecp384"],
            &esp,
        ),
    );
    p.initiate();
    let eb: Vec<String> = events(&p.b_log)
        .iter()
        .filter(|e| matches!(e, Event::ProposalMismatch { .. }))
        .map(|e| e.to_string())
        .collect();
    assert_eq!(eb.len(), 1, "{:?}", events(&p.b_log));
    assert!(
        eb[0].contains("CURVE_25519") && eb[0].contains("ECP_384"),
        "{}",
        eb[0]
    );
    assert!(eb[0].contains("no common PRF"), "{}", eb[0]);
    let ea: Vec<String> = events(&p.a_log)
        .iter()
        .filter(|e| matches!(e, Event::ProposalMismatch { .. }))
        .map(|e| e.to_string())
        .collect();
    assert_eq!(ea.len(), 1);
    assert!(
        ea[0].contains("NO_PROPOSAL_CHOSEN") && ea[0].contains("CURVE_25519"),
        "{}",
        ea[0]
    );
    assert!(p.a.list_sas().is_empty() && p.b.list_sas().is_empty());
}

#[test]
fn esp_proposal_mismatch_keeps_ike_sa() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let mut p = Pair::new(
        conn(
            "c",
            A_IP,
            Some(B_IP),
            "a.x",
            "b.x",
            "k",
            &ike,
            &["aes128gcm16"],
        ),
        conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &["aes256-sha256"]),
    );
    p.initiate();
    assert_eq!(established(&p.a), 1);
    assert_eq!(established(&p.b), 1);
    assert!(installs(&p.a_log).is_empty() && installs(&p.b_log).is_empty());
    assert!(events(&p.b_log)
        .iter()
        .any(|e| matches!(e, Event::ProposalMismatch { what: "ESP", .. })));
    assert!(events(&p.a_log)
        .iter()
        .any(|e| matches!(e, Event::ChildSaFailed { detail, .. } if detail.contains("NO_PROPOSAL_CHOSEN"))));
}

#[test]
fn invalid_ke_payload_retry() {
    let esp = ["aes128gcm16"];
    let mut p = Pair::new(
        conn(
            "c",
            A_IP,
            Some(B_IP),
            "a.x",
            "b.x",
            "k",
            &[
                "aes256gcm16-prfsha256-x25519",
                "aes256gcm16-prfsha256-ecp256",
            ],
            &esp,
        ),
        conn(
            "c",
            B_IP,
            None,
            "b.x",
            "a.x",
            "k",
            &["aes256gcm16-prfsha256-ecp256"],
            &esp,
        ),
    );
    p.initiate();
    assert_eq!(established(&p.a), 1);
    assert_eq!(
        p.a.list_sas()[0].suite.as_deref(),
        Some("AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256")
    );
    assert_mirror(installs(&p.a_log)[0], installs(&p.b_log)[0]);
}

#[test]
fn traffic_selectors_are_narrowed() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut ca = conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp);
    ca.children[0].local_ts = vec![ts_from_cidr("10.1.0.0/16").unwrap()];
    ca.children[0].remote_ts = vec![ts_from_cidr("10.0.0.0/8").unwrap()];
    let cb = conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp);
    let mut p = Pair::new(ca, cb);
    p.initiate();
    let ia = installs(&p.a_log)[0];
    assert_eq!(ia.local_ts, vec![ts_from_cidr("10.1.0.0/24").unwrap()]);
    assert_eq!(ia.remote_ts, vec![ts_from_cidr("10.2.0.0/24").unwrap()]);
    assert_mirror(ia, installs(&p.b_log)[0]);
}

#[test]
fn disjoint_traffic_selectors_refused() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut ca = conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp);
    ca.children[0].remote_ts = vec![ts_from_cidr("192.168.7.0/24").unwrap()];
    let mut p = Pair::new(ca, conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp));
    p.initiate();
    assert!(installs(&p.a_log).is_empty());
    assert!(events(&p.a_log).iter().any(
        |e| matches!(e, Event::ChildSaFailed { detail, .. } if detail.contains("TS_UNACCEPTABLE"))
    ));
}

#[test]
fn nat_detection_moves_to_4500() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut cb = conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp);
    cb.force_encap = true;
    let mut p = Pair::new(
        conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
        cb,
    );
    p.initiate();
    let ia = installs(&p.a_log)[0];
    let ib = installs(&p.b_log)[0];
    assert_mirror(ia, ib);
    let ea = ia.encap.expect("initiator uses UDP encapsulation");
    let eb = ib.encap.expect("responder uses UDP encapsulation");
    assert_eq!(ea.local.port(), 4500);
    assert_eq!(ea.remote.port(), 4500);
    assert_eq!((eb.local, eb.remote), (ea.remote, ea.local));
    // IKE_SA_INIT on 500 without marker, IKE_AUTH on 4500 with it.
    assert_eq!(p.wire[0].1.port(), 500);
    let auth = &p.wire[2];
    assert_eq!(auth.1.port(), 4500);
    assert_eq!(&auth.3[..4], &[0, 0, 0, 0]);
    assert!(p.a.list_sas()[0].natt && p.b.list_sas()[0].natt);
}

#[test]
fn cookies_when_half_open_sas_pile_up() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let cfb = EngineConfig {
        cookie_threshold: 0,
        ..EngineConfig::default()
    };
    let mut p = Pair::with_cfg(
        conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
        conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp),
        EngineConfig::default(),
        cfb,
    );
    p.initiate();
    assert_eq!(p.b.stats().cookies_sent, 1);
    assert_eq!(established(&p.a), 1);
    assert_eq!(established(&p.b), 1);
    // No state was kept for the cookie-less request.
    assert_eq!(p.b.list_sas().len(), 1);
}

#[test]
fn forged_cookie_gets_no_state() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let cfb = EngineConfig {
        cookie_threshold: 0,
        ..EngineConfig::default()
    };
    let mut p = Pair::with_cfg(
        conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
        conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp),
        EngineConfig::default(),
        cfb,
    );
    // Rewrite the cookie the responder sends, so the initiator returns a wrong one.
    let mut n = 0;
    p.filter = Box::new(move |from_a, _| {
        n += 1;
        !from_a && n > 1
    });
    p.initiate();
    assert!(p.b.list_sas().is_empty());
    assert!(p.b.stats().cookies_sent >= 1);
}

#[test]
fn lost_messages_are_retransmitted() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    // Lose the first IKE_AUTH request and the first IKE_AUTH response.
    let mut seen = 0;
    p.filter = Box::new(move |_, d| {
        let exch = if d.len() > 18 && d[..4] != [0, 0, 0, 0] {
            d[18]
        } else {
            d.get(22).copied().unwrap_or(0)
        };
        if exch == 35 {
            seen += 1;
            return seen == 1 || seen == 3;
        }
        false
    });
    p.initiate();
    assert_eq!(established(&p.a), 0);
    p.tick(Duration::from_secs(3));
    // The responder got the request, its answer was lost.
    assert_eq!(established(&p.b), 1);
    assert_eq!(established(&p.a), 0);
    p.tick(Duration::from_secs(4));
    assert_eq!(established(&p.a), 1);
    assert_eq!(p.b.stats().responses_resent, 1);
    assert_eq!(
        installs(&p.b_log).len(),
        1,
        "retransmission must not install twice"
    );
    assert_mirror(installs(&p.a_log)[0], installs(&p.b_log)[0]);
}

#[test]
fn dead_peer_detected_by_retransmission_timeout() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut ca = conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp);
    ca.dpd_delay = Some(Duration::from_secs(10));
    let mut p = Pair::new(ca, conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp));
    p.initiate();
    assert_eq!(established(&p.a), 1);
    // A liveness check while the peer is alive.
    p.tick(Duration::from_secs(11));
    assert_eq!(established(&p.a), 1);
    let informational = p.wire.iter().filter(|w| w.3.get(18) == Some(&37)).count();
    assert_eq!(informational, 2, "one DPD request and its response");
    // Kill the peer.
    p.filter = Box::new(|_, _| true);
    for _ in 0..200 {
        p.tick(Duration::from_secs(1));
    }
    assert!(p.a.list_sas().is_empty());
    assert!(events(&p.a_log).iter().any(|e| matches!(
        e,
        Event::IkeSaClosed {
            reason: CloseReason::PeerDead,
            ..
        }
    )));
    assert_eq!(deletes(&p.a_log).len(), 1);
}

#[test]
fn garbage_truncated_and_replayed_messages_change_nothing() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let before_a = p.a.list_sas();
    let before_b = p.b.list_sas();
    let wire = p.wire.clone();
    let mut rng = StdRng::seed_from_u64(7);
    let mut fed = 0;
    for (from_a, local, remote, bytes) in &wire {
        // Replay as is.
        let mut variants = vec![bytes.clone()];
        // Every truncation.
        for cut in 0..bytes.len() {
            variants.push(bytes[..cut].to_vec());
        }
        // Bit flips.
        // (A first IKE_SA_INIT request with another initiator SPI is a new, legitimate
        // request: such state is what cookies limit, so those bytes are not flipped.)
        let first = if bytes.get(8..16) == Some(&[0u8; 8][..]) {
            8
        } else {
            0
        };
        for _ in 0..64 {
            let mut v = bytes.clone();
            let i = rng.gen_range(first..v.len());
            v[i] ^= 1 << rng.gen_range(0..8);
            variants.push(v);
        }
        // Random junk with a valid-looking header prefix.
        for _ in 0..16 {
            let mut v = bytes[..28.min(bytes.len())].to_vec();
            let n = rng.gen_range(0..200);
            v.extend((0..n).map(|_| rng.gen::<u8>()));
            variants.push(v);
        }
        for v in variants {
            fed += 1;
            let acts = if *from_a {
                p.b.handle_datagram(p.now, *remote, *local, &v)
            } else {
                p.a.handle_datagram(p.now, *remote, *local, &v)
            };
            for a in &acts {
                assert!(
                    matches!(
                        a,
                        Action::Event(Event::Dropped { .. })
                            | Action::Send { .. }
                            | Action::Event(Event::Note { .. })
                    ),
                    "unexpected action {a:?}"
                );
                // Anything sent back must be a byte-identical cached response.
                if let Action::Send { datagram, .. } = a {
                    assert!(
                        wire.iter().any(|w| &w.3 == datagram),
                        "new message sent for garbage"
                    );
                }
            }
        }
    }
    assert!(fed > 1000);
    assert_eq!(p.a.list_sas(), before_a);
    assert_eq!(p.b.list_sas(), before_b);
    let drops: u64 = p.b.stats().dropped.values().sum();
    assert!(drops > 100);
    // Still works afterwards.
    let child = p.a.list_sas()[0].children[0].id;
    let acts = p.a.rekey_child(p.now, child);
    p.run(acts, vec![]);
    assert_eq!(installs(&p.a_log).len(), 2);
}

#[test]
fn esp_packets_on_natt_port_are_not_ike() {
    let mut e = engine(3, EngineConfig::default());
    let acts = e.handle_datagram(
        Instant::now(),
        "10.9.0.2:4500".parse().unwrap(),
        "10.9.0.1:4500".parse().unwrap(),
        &[0, 0, 1, 2, 3, 4, 5, 6],
    );
    assert_eq!(
        acts,
        vec![Action::Event(Event::Dropped {
            reason: DropReason::NotIke,
            remote: "10.9.0.1:4500".parse().unwrap()
        })]
    );
}

fn rekey_child_case(esp: &str) {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let mut p = std_pair(&ike, &[esp]);
    p.initiate();
    let old_a = installs(&p.a_log)[0].clone();
    let child = p.a.list_sas()[0].children[0].id;
    let acts = p.a.rekey_child(p.now, child);
    p.run(acts, vec![]);
    let (ia, ib) = (installs(&p.a_log), installs(&p.b_log));
    assert_eq!((ia.len(), ib.len()), (2, 2), "{esp}");
    assert_mirror(ia[1], ib[1]);
    assert_eq!(ia[1].replaces, Some(old_a.child));
    assert_ne!(ia[1].inbound.keys, old_a.inbound.keys);
    // Old inbound SA stays until the linger time is over.
    assert!(deletes(&p.a_log).is_empty() && deletes(&p.b_log).is_empty());
    let a_children = &p.a.list_sas()[0].children;
    assert_eq!(a_children.len(), 1);
    p.tick(Duration::from_secs(6));
    assert_eq!(
        deletes(&p.a_log),
        vec![(old_a.inbound.spi, old_a.outbound.spi)]
    );
    assert_eq!(
        deletes(&p.b_log),
        vec![(old_a.outbound.spi, old_a.inbound.spi)]
    );
}

#[test]
fn child_rekey_without_pfs() {
    rekey_child_case("aes128gcm16");
}

#[test]
fn child_rekey_with_pfs() {
    rekey_child_case("aes256gcm16-x25519");
    rekey_child_case("aes128-sha256-ecp384");
}

#[test]
fn child_rekey_from_responder_and_by_lifetime() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut cb = conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp);
    cb.children[0].rekey_time = Some(Duration::from_secs(60));
    let mut p = Pair::new(
        conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
        cb,
    );
    p.initiate();
    p.tick(Duration::from_secs(50));
    assert_eq!(installs(&p.b_log).len(), 1, "jitter stays within 10%");
    p.tick(Duration::from_secs(11));
    let (ia, ib) = (installs(&p.a_log), installs(&p.b_log));
    assert_eq!((ia.len(), ib.len()), (2, 2));
    assert_mirror(ia[1], ib[1]);
}

#[test]
fn simultaneous_child_rekey_collision() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    // Different seeds give different nonces, so both outcomes of the nonce
    // comparison (our SA redundant / theirs redundant) occur.
    let mut outcomes = std::collections::BTreeSet::new();
    for (seed, esp) in (1..12).flat_map(|s| [(s, "aes128gcm16"), (s, "aes256gcm16-ecp256")]) {
        let mut p = Pair::seeded(
            conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &[esp]),
            conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &[esp]),
            EngineConfig::default(),
            EngineConfig::default(),
            seed,
        );
        p.initiate();
        let ca = p.a.list_sas()[0].children[0].id;
        let cb = p.b.list_sas()[0].children[0].id;
        let acts_a = p.a.rekey_child(p.now, ca);
        let acts_b = p.b.rekey_child(p.now, cb);
        // Both requests are on the wire before either is answered.
        p.run(acts_a, acts_b);
        p.tick(Duration::from_secs(6));
        p.tick(Duration::from_secs(6));
        let la = &p.a.list_sas()[0].children;
        let lb = &p.b.list_sas()[0].children;
        assert_eq!(la.len(), 1, "{esp}: {la:?}");
        assert_eq!(lb.len(), 1, "{esp}: {lb:?}");
        assert_eq!(la[0].inbound_spi, lb[0].outbound_spi);
        assert_eq!(la[0].outbound_spi, lb[0].inbound_spi);
        // Of the two new SAs and the old one, exactly one remains installed on each side.
        let inst_a: Vec<u32> = installs(&p.a_log).iter().map(|i| i.inbound.spi).collect();
        let del_a: Vec<u32> = deletes(&p.a_log).iter().map(|d| d.0).collect();
        let alive: Vec<&u32> = inst_a.iter().filter(|s| !del_a.contains(s)).collect();
        assert_eq!(alive, vec![&la[0].inbound_spi], "{esp}");
        let inst_b: Vec<u32> = installs(&p.b_log).iter().map(|i| i.inbound.spi).collect();
        let del_b: Vec<u32> = deletes(&p.b_log).iter().map(|d| d.0).collect();
        let alive_b: Vec<&u32> = inst_b.iter().filter(|s| !del_b.contains(s)).collect();
        assert_eq!(alive_b, vec![&lb[0].inbound_spi], "{esp}");
        // Keys of the survivor agree.
        let a_inst = installs(&p.a_log)
            .into_iter()
            .find(|i| i.inbound.spi == la[0].inbound_spi)
            .unwrap();
        let b_inst = installs(&p.b_log)
            .into_iter()
            .find(|i| i.inbound.spi == lb[0].inbound_spi)
            .unwrap();
        assert_mirror(a_inst, b_inst);
        outcomes.insert(
            events(&p.a_log)
                .iter()
                .any(|e| e.to_string().contains("ours is redundant")),
        );
    }
    assert_eq!(outcomes.len(), 2, "both collision outcomes exercised");
}

#[test]
fn rekey_of_a_child_being_closed_is_temporary_failure() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let ca = p.a.list_sas()[0].children[0].id;
    let cb = p.b.list_sas()[0].children[0].id;
    // A rekeys and completes; B's own rekey request for the same (now replaced)
    // child arrives only after that, while A's DELETE is held back.
    let acts_a = p.a.rekey_child(p.now, ca);
    let held = p.b.rekey_child(p.now, cb);
    let mut n = 0;
    p.filter = Box::new(move |from_a, d| {
        if from_a && d.get(18) == Some(&37) {
            n += 1;
            return n == 1;
        }
        false
    });
    p.run(acts_a, vec![]);
    p.filter = Box::new(|_, _| false);
    p.run(vec![], held);
    assert!(
        events(&p.b_log)
            .iter()
            .any(|e| matches!(e, Event::ChildSaFailed { detail, .. } if detail.contains("TEMPORARY_FAILURE"))),
        "{:?}",
        events(&p.b_log)
    );
    // Retransmitted DELETE and linger: one child each, mirrored.
    for _ in 0..5 {
        p.tick(Duration::from_secs(3));
    }
    let (la, lb) = (p.a.list_sas(), p.b.list_sas());
    assert_eq!(la[0].children.len(), 1, "{la:?}");
    assert_eq!(lb[0].children.len(), 1, "{lb:?}");
    assert_eq!(
        la[0].children[0].inbound_spi,
        lb[0].children[0].outbound_spi
    );
}

#[test]
fn transport_mode_and_ipv6() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes256gcm16"];
    let mk = |local: &str, remote: Option<&str>, lid: &str, rid: &str| {
        let mut c = conn("c", A_IP, remote, lid, rid, "k", &ike, &esp);
        c.local_addr = local.parse().unwrap();
        c.children[0].mode = Mode::Transport;
        c.children[0].local_ts = vec![ts_from_cidr(&format!("{local}/128")).unwrap()];
        c.children[0].remote_ts = vec![ts_from_cidr("fd00:9::/64").unwrap()];
        c
    };
    let mut p = Pair::new(
        mk("fd00:9::1", Some("fd00:9::2"), "a.x", "b.x"),
        mk("fd00:9::2", None, "b.x", "a.x"),
    );
    p.initiate();
    let (ia, ib) = (installs(&p.a_log), installs(&p.b_log));
    assert_eq!((ia.len(), ib.len()), (1, 1));
    assert_eq!(ia[0].mode, Mode::Transport);
    assert_eq!(ib[0].mode, Mode::Transport);
    assert_eq!(ia[0].local_ts, vec![ts_from_cidr("fd00:9::1/128").unwrap()]);
    assert_eq!(
        ia[0].remote_ts,
        vec![ts_from_cidr("fd00:9::2/128").unwrap()]
    );
    assert_mirror(ia[0], ib[0]);
    assert_eq!(p.a.list_sas()[0].remote, "[fd00:9::2]:500".parse().unwrap());
}

#[test]
fn responder_picks_connection_by_identity() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut b = engine(9, EngineConfig::default());
    let mut c1 = conn(
        "carol",
        B_IP,
        None,
        "b.x",
        "carol.x",
        "carol-key",
        &ike,
        &esp,
    );
    c1.children[0].remote_ts = vec![ts_from_cidr("10.7.0.0/24").unwrap()];
    b.add_connection(c1).unwrap();
    b.add_connection(conn(
        "alice",
        B_IP,
        None,
        "b.x",
        "a.x",
        "alice-key",
        &ike,
        &esp,
    ))
    .unwrap();
    let mut a = engine(8, EngineConfig::default());
    a.add_connection(conn(
        "c",
        A_IP,
        Some(B_IP),
        "a.x",
        "b.x",
        "alice-key",
        &ike,
        &esp,
    ))
    .unwrap();
    let mut p = Pair::from_engines(a, b);
    p.initiate();
    assert_eq!(p.b.list_sas()[0].connection, "alice");
    assert_mirror(installs(&p.a_log)[0], installs(&p.b_log)[0]);
    assert_eq!(installs(&p.b_log)[0].connection, "alice");
}

#[test]
fn ike_rekey_by_lifetime() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut ca = conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp);
    ca.rekey_time = Some(Duration::from_secs(100));
    let mut p = Pair::new(ca, conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp));
    p.initiate();
    let first = p.a.list_sas()[0].clone();
    let at = first.rekey_at.expect("rekey scheduled");
    assert!(at >= p.now + Duration::from_secs(90) && at <= p.now + Duration::from_secs(100));
    for _ in 0..11 {
        p.tick(Duration::from_secs(10));
    }
    let now_sas = p.a.list_sas();
    assert_eq!(now_sas.len(), 1);
    assert_ne!(now_sas[0].spi_i, first.spi_i);
    assert_eq!(
        now_sas[0].children[0].inbound_spi,
        first.children[0].inbound_spi
    );
    assert_eq!(p.b.list_sas().len(), 1);
}

fn ike_rekey_case(by_a: bool) {
    let ike = ["aes256gcm16-prfsha256-x25519", "aes128-sha256-ecp256"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let old = p.a.list_sas()[0].clone();
    let acts = if by_a {
        p.a.rekey_ike(p.now, old.id)
    } else {
        let id = p.b.list_sas()[0].id;
        p.b.rekey_ike(p.now, id)
    };
    if by_a {
        p.run(acts, vec![]);
    } else {
        p.run(vec![], acts);
    }
    let (la, lb) = (p.a.list_sas(), p.b.list_sas());
    assert_eq!((la.len(), lb.len()), (1, 1), "{la:?}\n{lb:?}");
    assert_ne!(la[0].id, old.id);
    assert_eq!((la[0].spi_i, la[0].spi_r), (lb[0].spi_i, lb[0].spi_r));
    assert_ne!(la[0].spi_i, old.spi_i);
    assert_eq!(la[0].initiator, by_a);
    assert_eq!(la[0].children.len(), 1);
    assert_eq!(la[0].children[0].inbound_spi, old.children[0].inbound_spi);
    assert!(events(&p.a_log)
        .iter()
        .any(|e| matches!(e, Event::IkeSaRekeyed { .. })));
    assert!(events(&p.a_log).iter().any(|e| matches!(
        e,
        Event::IkeSaClosed {
            reason: CloseReason::Rekeyed,
            ..
        }
    )));
    assert!(
        deletes(&p.a_log).is_empty(),
        "children survive an IKE rekey"
    );
    // The new IKE SA works: rekey the child over it (keys from the new SK_d).
    let child = la[0].children[0].id;
    let acts = p.a.rekey_child(p.now, child);
    p.run(acts, vec![]);
    let (ia, ib) = (installs(&p.a_log), installs(&p.b_log));
    assert_eq!((ia.len(), ib.len()), (2, 2));
    assert_mirror(ia[1], ib[1]);
}

#[test]
fn ike_rekey_by_initiator() {
    ike_rekey_case(true);
}

#[test]
fn ike_rekey_by_responder() {
    ike_rekey_case(false);
}

#[test]
fn terminate_deletes_both_sides() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let id = p.a.list_sas()[0].id;
    let acts = p.a.terminate(p.now, id);
    p.run(acts, vec![]);
    assert!(p.a.list_sas().is_empty() && p.b.list_sas().is_empty());
    assert_eq!(deletes(&p.a_log).len(), 1);
    assert_eq!(deletes(&p.b_log).len(), 1);
    assert!(events(&p.b_log).iter().any(|e| matches!(
        e,
        Event::IkeSaClosed {
            reason: CloseReason::PeerDelete,
            ..
        }
    )));
}

#[test]
fn half_open_sa_times_out() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    // Only IKE_SA_INIT gets through.
    p.filter = Box::new(|_, d| d.get(18) != Some(&34) && d.get(22) != Some(&34));
    p.initiate();
    assert_eq!(p.b.list_sas().len(), 1);
    p.now += Duration::from_secs(31);
    let acts = p.b.handle_timer(p.now);
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Event(Event::IkeSaClosed {
            reason: CloseReason::HalfOpenTimeout,
            ..
        })
    )));
    assert!(p.b.list_sas().is_empty());
}

#[test]
fn secrets_never_in_debug_output() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let i = installs(&p.a_log)[0];
    let dbg = format!("{:?} {:?} {:?}", p.a_log, p.a, p.a.list_sas());
    let key_hex: String = i
        .outbound
        .keys
        .enc_key
        .expose()
        .iter()
        .map(|b| format!("{b}"))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(!dbg.contains(&key_hex));
    assert!(dbg.contains("redacted"));
    let _: IpAddr = i.local_addr;
}

#[test]
fn engine_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Engine>();
    assert_send::<Action>();
}

#[test]
fn several_children_per_connection() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let second = |local: &str, remote: &str| ChildConfig {
        name: "second".into(),
        local_ts: vec![ts_from_cidr(local).unwrap()],
        remote_ts: vec![ts_from_cidr(remote).unwrap()],
        mode: Mode::Tunnel,
        esp_proposals: vec![EspProposal::parse("aes256gcm16-ecp256").unwrap()],
        rekey_time: None,
        life_time: None,
    };
    let mut ca = conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp);
    ca.children.push(second("10.3.0.0/24", "10.4.0.0/24"));
    let mut cb = conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp);
    // The responder lists its children the other way round: chosen by selectors.
    cb.children.insert(0, second("10.4.0.0/24", "10.3.0.0/24"));
    let mut p = Pair::new(ca, cb);
    p.initiate();
    let (ia, ib) = (installs(&p.a_log), installs(&p.b_log));
    assert_eq!((ia.len(), ib.len()), (2, 2), "{:?}", events(&p.b_log));
    for (x, y) in ia.iter().zip(ib.iter()) {
        assert_mirror(x, y);
        assert_eq!(x.name, y.name);
    }
    assert_eq!(ia[1].name, "second");
    assert_eq!(ia[1].transform, ikev2::EspTransform::AesGcm16 { bits: 256 });
    assert_eq!(ia[1].local_ts, vec![ts_from_cidr("10.3.0.0/24").unwrap()]);
    // The second child rekeys (with PFS) like the first.
    let c2 = p.a.list_sas()[0].children[1].id;
    let acts = p.a.rekey_child(p.now, c2);
    p.run(acts, vec![]);
    let (ia, ib) = (installs(&p.a_log), installs(&p.b_log));
    assert_eq!((ia.len(), ib.len()), (3, 3));
    assert_mirror(ia[2], ib[2]);
    assert_eq!(ia[2].replaces, Some(c2));
}

#[test]
fn simultaneous_ike_rekey_resolves() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let child_spi = p.a.list_sas()[0].children[0].inbound_spi;
    let (ia, ib) = (p.a.list_sas()[0].id, p.b.list_sas()[0].id);
    let acts_a = p.a.rekey_ike(p.now, ia);
    let acts_b = p.b.rekey_ike(p.now, ib);
    p.run(acts_a, acts_b);
    for _ in 0..100 {
        p.tick(Duration::from_millis(100));
    }
    let (la, lb) = (p.a.list_sas(), p.b.list_sas());
    assert_eq!((la.len(), lb.len()), (1, 1), "{la:?}\n{lb:?}");
    assert_eq!((la[0].spi_i, la[0].spi_r), (lb[0].spi_i, lb[0].spi_r));
    assert_ne!(la[0].id, ia);
    assert_eq!(la[0].children[0].inbound_spi, child_spi);
    assert!(deletes(&p.a_log).is_empty() && deletes(&p.b_log).is_empty());
    // The survivor works.
    let c = la[0].children[0].id;
    let acts = p.a.rekey_child(p.now, c);
    p.run(acts, vec![]);
    assert_mirror(installs(&p.a_log)[1], installs(&p.b_log)[1]);
}

#[test]
fn restarted_initiator_replaces_old_sa_with_initial_contact() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let old = p.b.list_sas()[0].clone();
    // The initiator restarts (a new engine, no memory of the old SA).
    p.a = engine(77, EngineConfig::default());
    p.a.add_connection(conn(
        "c",
        A_IP,
        Some(B_IP),
        "alice.example",
        "bob.example",
        "secret-psk",
        &ike,
        &esp,
    ))
    .unwrap();
    p.initiate();
    let lb = p.b.list_sas();
    assert_eq!(lb.len(), 1, "{lb:?}");
    assert_ne!(lb[0].spi_i, old.spi_i);
    assert!(events(&p.b_log).iter().any(|e| matches!(
        e,
        Event::IkeSaClosed {
            reason: CloseReason::Replaced,
            ..
        }
    )));
    assert!(
        deletes(&p.b_log).contains(&(old.children[0].inbound_spi, old.children[0].outbound_spi))
    );
}

#[test]
fn hard_lifetimes_delete_sas_not_rekeyed() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut ca = conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp);
    ca.children[0].life_time = Some(Duration::from_secs(30));
    ca.life_time = Some(Duration::from_secs(60));
    let mut p = Pair::new(ca, conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp));
    p.initiate();
    assert!(p.a.list_sas()[0].children[0].expires_at.is_some());
    p.tick(Duration::from_secs(29));
    assert!(deletes(&p.a_log).is_empty());
    p.tick(Duration::from_secs(2));
    assert_eq!(deletes(&p.a_log).len(), 1);
    assert_eq!(deletes(&p.b_log).len(), 1);
    assert!(p.a.list_sas()[0].children.is_empty() && p.b.list_sas()[0].children.is_empty());
    p.tick(Duration::from_secs(30));
    assert!(p.a.list_sas().is_empty() && p.b.list_sas().is_empty());
}

#[test]
fn old_ike_sa_goes_away_even_if_its_delete_is_lost() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let id = p.a.list_sas()[0].id;
    // Lose every INFORMATIONAL (the DELETE of the old IKE SA and its retransmissions).
    p.filter = Box::new(|_, d| d.get(18) == Some(&37));
    let acts = p.a.rekey_ike(p.now, id);
    p.run(acts, vec![]);
    assert_eq!(p.b.list_sas().len(), 2);
    // The responder drops its old SA after the half-open timeout (30 s); the initiator
    // when its DELETE has been retransmitted in vain (about 80 s with the defaults).
    for _ in 0..40 {
        p.tick(Duration::from_secs(1));
    }
    assert_eq!(p.b.list_sas().len(), 1);
    for _ in 0..80 {
        p.tick(Duration::from_secs(1));
    }
    let (la, lb) = (p.a.list_sas(), p.b.list_sas());
    assert_eq!((la.len(), lb.len()), (1, 1), "{la:?}\n{lb:?}");
    assert_eq!(la[0].spi_i, lb[0].spi_i);
    assert_eq!(la[0].children.len(), 1);
    assert!(deletes(&p.a_log).is_empty() && deletes(&p.b_log).is_empty());
}

#[test]
fn initiator_behind_nat_sends_keepalives() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.nat = Some("10.99.0.1".parse().unwrap());
    p.initiate();
    let (ia, ib) = (installs(&p.a_log), installs(&p.b_log));
    assert_mirror(ia[0], ib[0]);
    let ea = ia[0].encap.expect("NAT-T");
    let eb = ib[0].encap.expect("NAT-T");
    assert_eq!(ea.local, "10.9.0.1:4500".parse().unwrap());
    // The responder sends to the NAT's mapping of our port 4500.
    assert_eq!(eb.remote, "10.99.0.1:44500".parse().unwrap());
    assert!(events(&p.a_log)
        .iter()
        .any(|e| e.to_string().contains("NAT detected (local true")));
    p.tick(Duration::from_secs(21));
    let ka: Vec<_> = p.wire.iter().filter(|w| w.3 == [0xff]).collect();
    assert_eq!(ka.len(), 1, "one keepalive after 20 s");
    assert!(ka[0].0 && ka[0].1.port() == 4500);
    // The responder (not behind a NAT) sends none, and takes the keepalive silently.
    assert!(!events(&p.b_log)
        .iter()
        .any(|e| matches!(e, Event::Dropped { .. })));
}

#[test]
fn initiate_twice_is_refused_and_reload_keeps_sas() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let id = p.a.list_sas()[0].id;
    assert_eq!(
        p.a.initiate(p.now, "c").unwrap_err(),
        ikev2::engine::InitiateError::AlreadyActive("c".into(), id)
    );
    // Reload with another ESP proposal: the SA stays, the next rekey uses the new one.
    let mut c = conn(
        "c",
        A_IP,
        Some(B_IP),
        "alice.example",
        "bob.example",
        "secret-psk",
        &ike,
        &["aes256gcm16"],
    );
    c.children[0]
        .esp_proposals
        .push(EspProposal::parse("aes128gcm16").unwrap());
    // (the running suite is still among the proposals: nothing to close)
    assert!(p.a.replace_connection(p.now, c).unwrap().is_empty());
    assert_eq!(p.a.connections().collect::<Vec<_>>(), vec!["c"]);
    assert_eq!(p.a.list_sas()[0].id, id);
    let child = p.a.list_sas()[0].children[0].id;
    let acts = p.a.rekey_child(p.now, child);
    p.run(acts, vec![]);
    assert_eq!(
        installs(&p.a_log)[1].transform,
        ikev2::EspTransform::AesGcm16 { bits: 128 }
    );
    // Once terminated, initiate works again.
    let acts = p.a.terminate(p.now, id);
    p.run(acts, vec![]);
    assert!(p.a.initiate(p.now, "c").is_ok());
}

#[test]
fn child_rekey_in_flight_while_peer_rekeys_the_ike_sa() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let child = p.a.list_sas()[0].children[0].id;
    let ib = p.b.list_sas()[0].id;
    let acts_a = p.a.rekey_child(p.now, child);
    let acts_b = p.b.rekey_ike(p.now, ib);
    p.run(acts_a, acts_b);
    for _ in 0..10 {
        p.tick(Duration::from_secs(1));
    }
    let (la, lb) = (p.a.list_sas(), p.b.list_sas());
    assert_eq!((la.len(), lb.len()), (1, 1), "{la:?}\n{lb:?}");
    assert_eq!((la[0].spi_i, la[0].spi_r), (lb[0].spi_i, lb[0].spi_r));
    assert_eq!(la[0].children.len(), 1, "{la:?}");
    assert_eq!(lb[0].children.len(), 1, "{lb:?}");
    assert_eq!(
        la[0].children[0].inbound_spi,
        lb[0].children[0].outbound_spi
    );
    assert_eq!(
        la[0].children[0].outbound_spi,
        lb[0].children[0].inbound_spi
    );
    // RFC 7296 2.25: each side refused the other's request with TEMPORARY_FAILURE
    // and tried again later.
    let text: Vec<String> = events(&p.a_log)
        .iter()
        .chain(events(&p.b_log).iter())
        .map(|e| e.to_string())
        .collect();
    assert!(
        text.iter().any(|t| t.contains("TEMPORARY_FAILURE")),
        "{text:?}"
    );
    // Every installed SA is deleted at most once, and the survivor is not deleted.
    let alive = la[0].children[0].inbound_spi;
    assert!(!deletes(&p.a_log).iter().any(|d| d.0 == alive));
    assert_eq!(installs(&p.a_log).len(), 2);
    assert_eq!(deletes(&p.a_log).len(), 1);
    assert_eq!(deletes(&p.b_log).len(), 1);
}

/// Text of all events of one side.
fn notes(log: &[Action]) -> Vec<String> {
    events(log).iter().map(|e| e.to_string()).collect()
}

/// The data path models of both sides hold exactly one, mirrored CHILD_SA and
/// every ESP probe found an inbound SA.
fn assert_data_paths_agree(p: &Pair) {
    assert!(p.probes_lost.is_empty(), "{:#?}", p.probes_lost);
    assert!(p.probes_ok > 0);
    assert!(p.dp_a.errors.is_empty(), "{:?}", p.dp_a.errors);
    assert!(p.dp_b.errors.is_empty(), "{:?}", p.dp_b.errors);
    let sa: Vec<_> = p.dp_a.sas.values().collect();
    let sb: Vec<_> = p.dp_b.sas.values().collect();
    assert_eq!((sa.len(), sb.len()), (1, 1), "{sa:?} {sb:?}");
    assert_eq!((sa[0].0, sa[0].1), (sb[0].1, sb[0].0));
}

#[test]
fn crossed_child_rekeys_keep_an_inbound_sa_for_every_packet() {
    // RFC 7296 2.8.1 with both requests delivered before either response: both
    // exchanges complete, the SA created with the lowest nonce is deleted by its
    // creator, the other side deletes the old SA, and no ESP packet sent at any
    // moment meets a peer without the matching inbound SA.
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let mut losers = std::collections::BTreeSet::new();
    // With PFS the DH group is ECP-384, whose keys are not 32-byte draws.
    for (seed, esp) in (1..16).flat_map(|s| [(s, "aes128gcm16"), (s, "aes256gcm16-ecp384")]) {
        let (mut p, da, db) = recorded_pair(
            conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &[esp]),
            conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &[esp]),
            seed,
        );
        p.probes = true;
        p.initiate();
        let ca = p.a.list_sas()[0].children[0].id;
        let cb = p.b.list_sas()[0].children[0].id;
        let mark = marks(&da, &db);
        let acts_a = p.a.rekey_child(p.now, ca);
        let acts_b = p.b.rekey_child(p.now, cb);
        // Both requests are queued before either side has seen the other's.
        p.run(acts_a, acts_b);
        let a_lowest = a_created_lowest(&da, &db, mark);
        for _ in 0..12 {
            p.tick(Duration::from_secs(1));
        }
        assert_data_paths_agree(&p);
        let (na, nb) = (notes(&p.a_log), notes(&p.b_log));
        let a_lost = na.iter().any(|t| t.contains("ours is redundant"));
        let b_lost = nb.iter().any(|t| t.contains("ours is redundant"));
        // Both sides saw the collision and agree on which SA is redundant: the one
        // created with the lowest nonce.
        assert!(a_lost != b_lost, "{esp} seed {seed}: {na:?} {nb:?}");
        assert_eq!(a_lost, a_lowest, "{esp} seed {seed}");
        assert!(
            na.iter()
                .chain(nb.iter())
                .any(|t| t.contains("the peer's is redundant")),
            "{na:?} {nb:?}"
        );
        let (winner, loser) = if a_lost {
            (&p.b_log, &p.a_log)
        } else {
            (&p.a_log, &p.b_log)
        };
        // Each side installed the old SA, the peer's new SA (as responder), then
        // its own (as initiator); the winner's own SA is the survivor on both sides.
        let (iw, il) = (installs(winner), installs(loser));
        assert_eq!((iw.len(), il.len()), (3, 3), "{esp} seed {seed}");
        let survivor = iw[2];
        assert_mirror(survivor, il[1]);
        let left: Vec<u32> = p.dp_a.sas.values().map(|x| x.0).collect();
        let (mine_a, _) = if a_lost {
            (il[1], iw[2])
        } else {
            (iw[2], il[1])
        };
        assert_eq!(left, vec![mine_a.inbound.spi]);
        // The redundant SA and the old one were deleted, each once, on both sides.
        for log in [winner, loser] {
            let d = deletes(log);
            assert_eq!(d.len(), 2, "{d:?}");
        }
        assert_eq!(deletes(loser)[0], (il[2].inbound.spi, il[2].outbound.spi));
        assert_eq!(deletes(winner)[0], (iw[1].inbound.spi, iw[1].outbound.spi));
        losers.insert(a_lost);
        // The survivor rekeys normally afterwards.
        let c = p.a.list_sas()[0].children[0].id;
        let acts = p.a.rekey_child(p.now, c);
        p.run(acts, vec![]);
        for _ in 0..6 {
            p.tick(Duration::from_secs(1));
        }
        assert_data_paths_agree(&p);
    }
    assert_eq!(losers.len(), 2, "both sides lost a collision in some run");
}

fn closed(log: &[Action]) -> Vec<(ikev2::IkeSaId, CloseReason)> {
    events(log)
        .iter()
        .filter_map(|e| match e {
            Event::IkeSaClosed { ike_sa, reason, .. } => Some((*ike_sa, *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn crossed_ike_rekeys_are_resolved_by_nonces() {
    // RFC 7296 2.8.2: both IKE SA rekeys complete; the new IKE SA created with the
    // lowest of the four nonces is deleted by its creator, the other inherits the
    // CHILD_SAs and its creator deletes the old IKE SA. No retry, no CHILD_SA
    // touched, and no ESP packet lost meanwhile.
    // ECP-384, so that the only 32-byte draws are nonces.
    let ike = ["aes256gcm16-prfsha384-ecp384"];
    let esp = ["aes128gcm16"];
    let mut losers = std::collections::BTreeSet::new();
    for seed in 1..11 {
        let (mut p, da, db) = recorded_pair(
            conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
            conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp),
            seed,
        );
        p.probes = true;
        p.initiate();
        let child_spi = p.a.list_sas()[0].children[0].inbound_spi;
        let (ia, ib) = (p.a.list_sas()[0].id, p.b.list_sas()[0].id);
        let mark = marks(&da, &db);
        let acts_a = p.a.rekey_ike(p.now, ia);
        let acts_b = p.b.rekey_ike(p.now, ib);
        p.run(acts_a, acts_b);
        let a_lowest = a_created_lowest(&da, &db, mark);
        // Everything is settled without waiting for a retry.
        let (la, lb) = (p.a.list_sas(), p.b.list_sas());
        assert_eq!((la.len(), lb.len()), (1, 1), "seed {seed}\n{la:?}\n{lb:?}");
        assert_eq!((la[0].spi_i, la[0].spi_r), (lb[0].spi_i, lb[0].spi_r));
        assert_eq!(la[0].state, IkeState::Established);
        assert_eq!(la[0].children.len(), 1);
        assert_eq!(la[0].children[0].inbound_spi, child_spi);
        assert_eq!(lb[0].children[0].outbound_spi, child_spi);
        let all: Vec<String> = notes(&p.a_log).into_iter().chain(notes(&p.b_log)).collect();
        assert!(
            !all.iter().any(|t| t.contains("TEMPORARY_FAILURE")),
            "{all:?}"
        );
        let a_lost = notes(&p.a_log).iter().any(|t| t.contains("our IKE SA"));
        let b_lost = notes(&p.b_log).iter().any(|t| t.contains("our IKE SA"));
        assert!(a_lost != b_lost, "seed {seed}: {all:?}");
        assert_eq!(a_lost, a_lowest, "seed {seed}");
        // The survivor is the one the winner initiated.
        assert_eq!(la[0].initiator, !a_lost);
        assert_eq!(lb[0].initiator, a_lost);
        // Each side: two new IKE SAs were established, the old one and the
        // redundant one closed as rekeyed.
        for (log, old, me) in [(&p.a_log, ia, &la), (&p.b_log, ib, &lb)] {
            let est = events(log)
                .iter()
                .filter(|e| matches!(e, Event::IkeSaEstablished { .. }))
                .count();
            assert_eq!(est, 3, "initial + two rekeyed");
            let c = closed(log);
            assert_eq!(c.len(), 2, "{c:?}");
            assert!(c.iter().all(|(_, r)| *r == CloseReason::Rekeyed), "{c:?}");
            assert!(c.iter().any(|(id, _)| *id == old));
            assert!(c.iter().all(|(id, _)| *id != me[0].id));
        }
        assert!(deletes(&p.a_log).is_empty() && deletes(&p.b_log).is_empty());
        assert_eq!(installs(&p.a_log).len(), 1);
        losers.insert(a_lost);
        // The survivor carries on: a CHILD_SA rekey, a liveness check, an IKE rekey.
        let c = la[0].children[0].id;
        let acts = p.a.rekey_child(p.now, c);
        p.run(acts, vec![]);
        let acts = p.b.dpd(p.now, lb[0].id);
        p.run(vec![], acts);
        let acts = p.b.rekey_ike(p.now, lb[0].id);
        p.run(vec![], acts);
        for _ in 0..8 {
            p.tick(Duration::from_secs(1));
        }
        assert_data_paths_agree(&p);
        let (la, lb) = (p.a.list_sas(), p.b.list_sas());
        assert_eq!((la.len(), lb.len()), (1, 1), "{la:?}\n{lb:?}");
        assert_eq!((la[0].spi_i, la[0].spi_r), (lb[0].spi_i, lb[0].spi_r));
    }
    assert_eq!(losers.len(), 2, "both sides lost a collision in some run");
}

fn encap_updates(log: &[Action]) -> Vec<(ChildSaId, UdpEncap)> {
    log.iter()
        .filter_map(|a| match a {
            Action::UpdateChildSaEncap { child, encap, .. } => Some((*child, *encap)),
            _ => None,
        })
        .collect()
}

/// The single datagram among `acts`, and where it goes.
fn the_send(acts: &[Action]) -> (SocketAddr, SocketAddr, Vec<u8>) {
    let sends: Vec<_> = acts
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                local,
                remote,
                datagram,
            } => Some((*local, *remote, datagram.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(sends.len(), 1, "{acts:?}");
    sends[0].clone()
}

#[test]
fn nat_mapping_change_moves_the_peer_only_on_authenticated_messages() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.nat = Some("10.99.0.1".parse().unwrap());
    p.probes = true;
    p.initiate();
    let ib = p.b.list_sas()[0].id;
    let child_b = p.b.list_sas()[0].children[0].id;
    assert_eq!(p.b.list_sas()[0].remote, "10.99.0.1:44500".parse().unwrap());
    assert!(p.probes_lost.is_empty() && p.probes_ok > 0);
    // A CHILD_SA rekey, so that an old inbound SA is lingering when the mapping moves.
    let acts = p.a.rekey_child(p.now, p.a.list_sas()[0].children[0].id);
    p.run(acts, vec![]);
    let lingering = p.b.list_sas()[0].children[0].id;
    assert_ne!(lingering, child_b);
    let ia = p.a.list_sas()[0].id;
    let acts = p.a.dpd(p.now, ia);
    p.run(acts, vec![]);
    let old_request = p.wire.iter().rev().find(|w| w.0).unwrap().3.clone();

    // The NAT forgets the mapping and makes a new one (B's ESP to the old mapping
    // is lost now; that is what the update repairs).
    p.probes = false;
    p.nat_shift = 41000;
    let new_peer: SocketAddr = "10.99.0.1:45500".parse().unwrap();
    let updates_before = encap_updates(&p.b_log).len();

    // Not authenticated or not new: a keepalive, a replayed request, a bit-flipped
    // request, all from the new mapping. B answers the replay from its cache (to
    // where it came from) but does not move.
    let from = new_peer;
    let to: SocketAddr = "10.9.0.2:4500".parse().unwrap();
    let resent = p.b.stats().responses_resent;
    for d in [vec![0xff], old_request.clone()] {
        let acts = p.b.handle_datagram(p.now, to, from, &d);
        assert!(encap_updates(&acts).is_empty(), "{acts:?}");
    }
    assert_eq!(p.b.stats().responses_resent, resent + 1);
    let dpd_acts = p.a.dpd(p.now, ia);
    let (_, _, mut fresh) = the_send(&dpd_acts);
    let n = fresh.len();
    fresh[n - 3] ^= 0x40;
    let acts = p.b.handle_datagram(p.now, to, from, &fresh);
    assert!(
        acts.iter().all(|a| matches!(
            a,
            Action::Event(Event::Dropped {
                reason: DropReason::Integrity,
                ..
            })
        )),
        "{acts:?}"
    );
    assert_eq!(p.b.list_sas()[0].remote, "10.99.0.1:44500".parse().unwrap());
    assert_eq!(encap_updates(&p.b_log).len(), updates_before);

    // The request A really sent (new message ID, authenticated) moves B's IKE SA
    // and the encapsulation of both installed CHILD_SAs.
    p.probes = true;
    p.probes_lost.clear();
    p.run(dpd_acts, vec![]);
    let lb = p.b.list_sas();
    assert_eq!(lb[0].remote, new_peer);
    assert_eq!(lb[0].id, ib);
    let ups: Vec<_> = encap_updates(&p.b_log)
        .into_iter()
        .skip(updates_before)
        .collect();
    let mut moved: Vec<ChildSaId> = ups.iter().map(|u| u.0).collect();
    moved.sort();
    let mut want = vec![child_b, lingering];
    want.sort();
    assert_eq!(moved, want, "{ups:?}");
    assert!(ups
        .iter()
        .all(|u| u.1.remote == new_peer && u.1.local == to));
    assert!(events(&p.b_log).iter().any(|e| matches!(
        e,
        Event::PeerEndpointChanged { from, to, .. }
            if *from == "10.99.0.1:44500".parse::<SocketAddr>().unwrap() && *to == new_peer
    )));
    // B's ESP reaches A through the new mapping from now on.
    let acts = p.b.dpd(p.now, ib);
    p.run(vec![], acts);
    assert!(p.probes_lost.is_empty(), "{:?}", p.probes_lost);
    assert!(p.probes_ok > 0);

    // A valid response from yet another mapping also moves it: B's request reaches
    // A through the current mapping, the NAT rebinds before A's answer goes out.
    let acts = p.b.dpd(p.now, ib);
    let (local, remote, d) = the_send(&acts);
    let dst = p.nat_in(remote).unwrap();
    let answer = p.a.handle_datagram(p.now, dst, local, &d);
    p.nat_shift = 42000;
    p.probes_lost.clear();
    p.run(answer, vec![]);
    assert_eq!(p.b.list_sas()[0].remote, "10.99.0.1:46500".parse().unwrap());
    let acts = p.b.dpd(p.now, ib);
    p.run(vec![], acts);
    assert!(p.probes_lost.is_empty(), "{:?}", p.probes_lost);
    assert!(p.dp_b.errors.is_empty(), "{:?}", p.dp_b.errors);
}

#[test]
fn peer_not_behind_nat_is_answered_but_not_followed() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let ia = p.a.list_sas()[0].id;
    let before = p.b.list_sas()[0].remote;
    let acts = p.a.dpd(p.now, ia);
    let (local, remote, d) = the_send(&acts);
    let odd: SocketAddr = "10.9.0.1:7000".parse().unwrap();
    let answer = p.b.handle_datagram(p.now, remote, odd, &d);
    // Answered where the request came from (RFC 7296 2.11) ...
    let (_, to, _) = the_send(&answer);
    assert_eq!(to, odd);
    // ... but the IKE SA and its CHILD_SA stay where they were.
    assert!(encap_updates(&answer).is_empty());
    assert!(!answer
        .iter()
        .any(|a| matches!(a, Action::Event(Event::PeerEndpointChanged { .. }))));
    assert_eq!(p.b.list_sas()[0].remote, before);
    assert_eq!(before, local);
}

#[test]
fn rekey_crossing_a_delete_of_the_same_child() {
    // RFC 7296 2.25.1: B closes the CHILD_SA (hard lifetime) while A rekeys it. B,
    // closing it, answers the rekey with TEMPORARY_FAILURE; A answers the DELETE as
    // usual. Afterwards neither side has the child, and nothing was installed twice
    // or deleted twice.
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut cb = conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp);
    cb.children[0].life_time = Some(Duration::from_secs(30));
    let mut p = Pair::new(
        conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
        cb,
    );
    p.initiate();
    p.now += Duration::from_secs(30);
    let acts_b = p.b.handle_timer(p.now);
    let acts_a = p.a.rekey_child(p.now, p.a.list_sas()[0].children[0].id);
    p.run(acts_a, acts_b);
    for _ in 0..10 {
        p.tick(Duration::from_secs(1));
    }
    assert!(
        notes(&p.a_log)
            .iter()
            .any(|t| t.contains("TEMPORARY_FAILURE")),
        "{:?}",
        notes(&p.a_log)
    );
    let (la, lb) = (p.a.list_sas(), p.b.list_sas());
    assert!(
        la[0].children.is_empty() && lb[0].children.is_empty(),
        "{la:?}\n{lb:?}"
    );
    assert!(p.dp_a.sas.is_empty() && p.dp_b.sas.is_empty());
    assert!(p.dp_a.errors.is_empty() && p.dp_b.errors.is_empty());
    assert_eq!((installs(&p.a_log).len(), deletes(&p.a_log).len()), (1, 1));
    assert_eq!((installs(&p.b_log).len(), deletes(&p.b_log).len()), (1, 1));
}

#[test]
fn crossing_deletes_of_the_same_child() {
    // Both sides close the same CHILD_SA at once (same hard lifetime): each request
    // is answered, each side removes it once.
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut ca = conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp);
    let mut cb = conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp);
    ca.children[0].life_time = Some(Duration::from_secs(30));
    cb.children[0].life_time = Some(Duration::from_secs(30));
    let mut p = Pair::new(ca, cb);
    p.initiate();
    p.tick(Duration::from_secs(31));
    p.tick(Duration::from_secs(10));
    assert_eq!(established(&p.a), 1);
    assert_eq!(established(&p.b), 1);
    assert!(p.a.list_sas()[0].children.is_empty() && p.b.list_sas()[0].children.is_empty());
    assert!(p.dp_a.sas.is_empty() && p.dp_b.sas.is_empty());
    assert!(p.dp_a.errors.is_empty() && p.dp_b.errors.is_empty());
    assert_eq!(deletes(&p.a_log).len(), 1);
    assert_eq!(deletes(&p.b_log).len(), 1);
    // Both DELETE requests were sent and answered.
    let info: Vec<_> = p.wire.iter().filter(|w| w.3.get(18) == Some(&37)).collect();
    assert_eq!(info.len(), 4, "two requests, two responses");
}

#[test]
fn retransmissions_back_off_exponentially_then_the_peer_is_dead() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let cfg = EngineConfig::default();
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let ia = p.a.list_sas()[0].id;
    // B hears nothing from now on.
    p.filter = Box::new(|from_a, _| from_a);
    let start = p.now;
    let acts = p.a.dpd(p.now, ia);
    let first = the_send(&acts).2;
    p.run(acts, vec![]);
    let mut sent_at = vec![Duration::ZERO];
    let mut closed_at = None;
    for _ in 0..1200 {
        p.tick(Duration::from_millis(100));
        let n = p.wire.iter().filter(|w| w.0 && w.3 == first).count();
        if n > sent_at.len() {
            sent_at.push(p.now - start);
        }
        if closed_at.is_none() && p.a.list_sas().is_empty() {
            closed_at = Some(p.now - start);
        }
    }
    // The same request, retransmitted `retransmit_tries` times, each wait
    // `retransmit_backoff` times the previous one (to the 100 ms tick).
    assert_eq!(
        sent_at.len() as u32,
        1 + cfg.retransmit_tries,
        "{sent_at:?}"
    );
    let mut wait = cfg.retransmit_timeout.as_secs_f64();
    let mut want = 0.0;
    for t in &sent_at[1..] {
        want += wait;
        assert!(
            (t.as_secs_f64() - want).abs() <= 0.1 * sent_at.len() as f64,
            "{sent_at:?}"
        );
        wait *= cfg.retransmit_backoff;
    }
    want += wait;
    let closed = closed_at.expect("peer declared dead").as_secs_f64();
    assert!(
        (closed - want).abs() <= 0.1 * (sent_at.len() + 1) as f64,
        "{closed} vs {want}"
    );
    assert!(events(&p.a_log).iter().any(|e| matches!(
        e,
        Event::IkeSaClosed {
            reason: CloseReason::PeerDead,
            ..
        }
    )));
    assert_eq!(p.a.stats().retransmits, u64::from(cfg.retransmit_tries));
}

#[test]
fn cookies_only_while_half_open_sas_pile_up() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let cfb = EngineConfig {
        cookie_threshold: 2,
        ..EngineConfig::default()
    };
    let mut p = Pair::with_cfg(
        conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
        conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp),
        EngineConfig::default(),
        cfb,
    );
    // Two initiators that never come back after IKE_SA_INIT.
    let half_open = |p: &mut Pair, seed: u64| {
        let mut e = engine(seed, EngineConfig::default());
        e.add_connection(conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp))
            .unwrap();
        let (_, acts) = e.initiate(p.now, "c").unwrap();
        let (l, r, d) = the_send(&acts);
        p.b.handle_datagram(p.now, r, l, &d)
    };
    for seed in [50, 51] {
        let resp = half_open(&mut p, seed);
        let (_, _, d) = the_send(&resp);
        // A real answer (SA, KE, Nonce...), not a cookie demand: responder SPI set.
        assert_ne!(&d[8..16], &[0u8; 8]);
    }
    assert_eq!(p.b.stats().cookies_sent, 0);
    assert_eq!(p.b.list_sas().len(), 2);
    // The third initiator must return a cookie first; it does, and gets through.
    p.initiate();
    assert_eq!(p.b.stats().cookies_sent, 1);
    assert_eq!(established(&p.a), 1);
    assert_eq!(established(&p.b), 1);
    // A cookie-less request now leaves no state behind.
    let resp = half_open(&mut p, 52);
    let (_, _, d) = the_send(&resp);
    assert_eq!(&d[8..16], &[0u8; 8]);
    assert_eq!(p.b.stats().cookies_sent, 2);
    assert_eq!(p.b.list_sas().len(), 3);
    // Once the half-open SAs time out, no more cookies are asked for.
    p.tick(Duration::from_secs(31));
    assert_eq!(p.b.list_sas().len(), 1);
    let resp = half_open(&mut p, 53);
    let (_, _, d) = the_send(&resp);
    assert_ne!(&d[8..16], &[0u8; 8]);
    assert_eq!(p.b.stats().cookies_sent, 2);
}

#[test]
fn old_message_ids_are_dropped_and_only_the_last_request_is_answered_again() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let ia = p.a.list_sas()[0].id;
    let mut requests = vec![];
    let mut responses = vec![];
    for _ in 0..3 {
        let n = p.wire.len();
        let acts = p.a.dpd(p.now, ia);
        p.run(acts, vec![]);
        requests.push(p.wire[n].clone());
        responses.push(p.wire[n + 1].clone());
    }
    let before = (p.a.list_sas(), p.b.list_sas());
    let drops = |e: &Engine| e.stats().dropped.get("BadMessageId").copied().unwrap_or(0);
    let (da, db) = (drops(&p.a), drops(&p.b));
    // Older requests: dropped, nothing sent.
    for r in &requests[..2] {
        let acts = p.b.handle_datagram(p.now, r.2, r.1, &r.3);
        assert!(
            !acts.iter().any(|a| matches!(a, Action::Send { .. })),
            "{acts:?}"
        );
    }
    assert_eq!(drops(&p.b), db + 2);
    // The last one: its response again, byte for byte.
    let r = &requests[2];
    let acts = p.b.handle_datagram(p.now, r.2, r.1, &r.3);
    assert_eq!(the_send(&acts).2, responses[2].3);
    // Responses nobody waits for: dropped.
    for r in &responses {
        let acts = p.a.handle_datagram(p.now, r.2, r.1, &r.3);
        assert!(
            !acts.iter().any(|a| matches!(a, Action::Send { .. })),
            "{acts:?}"
        );
    }
    assert_eq!(drops(&p.a), da + 3);
    assert_eq!((p.a.list_sas(), p.b.list_sas()), before);
}

#[test]
fn crossed_child_rekeys_with_a_lost_message() {
    // As above, with one of the four CREATE_CHILD_SA messages (or the first
    // INFORMATIONAL that follows) lost and retransmitted: one mirrored survivor on
    // both sides, and no ESP probe without an inbound SA (the responder of a rekey
    // keeps sending on the old SA until the initiator deletes it: SwitchOutbound).
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    for seed in 1..9 {
        for lose in 0..6 {
            let (mut p, da, db) = recorded_pair(
                conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
                conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp),
                seed,
            );
            p.probes = true;
            p.initiate();
            let mut n = 0;
            // Exchange type 36 (CREATE_CHILD_SA) for k < 4, then 37 (INFORMATIONAL).
            p.filter = Box::new(move |_, d| {
                let exch = d.get(18).copied();
                let want = if lose < 4 { 36 } else { 37 };
                if exch == Some(want) {
                    n += 1;
                    return n == 1 + lose % 4;
                }
                false
            });
            let ca = p.a.list_sas()[0].children[0].id;
            let cb = p.b.list_sas()[0].children[0].id;
            let mark = marks(&da, &db);
            let acts_a = p.a.rekey_child(p.now, ca);
            let acts_b = p.b.rekey_child(p.now, cb);
            p.run(acts_a, acts_b);
            for _ in 0..40 {
                p.tick(Duration::from_millis(500));
            }
            let ctx = format!("seed {seed} lose {lose}");
            assert!(p.probes_lost.is_empty(), "{ctx}: {:#?}", p.probes_lost);
            assert!(p.dp_a.errors.is_empty(), "{ctx}: {:?}", p.dp_a.errors);
            assert!(p.dp_b.errors.is_empty(), "{ctx}: {:?}", p.dp_b.errors);
            let sa: Vec<_> = p.dp_a.sas.values().collect();
            let sb: Vec<_> = p.dp_b.sas.values().collect();
            assert_eq!((sa.len(), sb.len()), (1, 1), "{ctx}: {sa:?} {sb:?}");
            assert_eq!((sa[0].0, sa[0].1), (sb[0].1, sb[0].0), "{ctx}");
            let (la, lb) = (p.a.list_sas(), p.b.list_sas());
            assert_eq!(la[0].children.len(), 1, "{ctx}: {la:?}");
            assert_eq!(lb[0].children.len(), 1, "{ctx}: {lb:?}");
            // When both sides saw the collision, the lowest nonce decided.
            let (na, nb) = (notes(&p.a_log), notes(&p.b_log));
            let a_lost = na.iter().any(|t| t.contains("ours is redundant"));
            let b_lost = nb.iter().any(|t| t.contains("ours is redundant"));
            if a_lost || b_lost {
                let draws_ok = da.lock().unwrap().len() - mark.0 == 2
                    && db.lock().unwrap().len() - mark.1 == 2;
                if draws_ok {
                    assert_eq!(a_lost, a_created_lowest(&da, &db, mark), "{ctx}");
                }
                assert!(a_lost != b_lost, "{ctx}");
            }
        }
    }
}

#[test]
fn crossed_ike_rekeys_with_a_lost_message() {
    // Crossed IKE SA rekeys with one of the four CREATE_CHILD_SA messages or one of
    // the first two INFORMATIONALs lost: one IKE SA left on each side, the same,
    // holding the untouched CHILD_SA.
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    for seed in 1..9 {
        for lose in 0..6 {
            let mut p = Pair::seeded(
                conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
                conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp),
                EngineConfig::default(),
                EngineConfig::default(),
                seed,
            );
            p.probes = true;
            p.initiate();
            let child_spi = p.a.list_sas()[0].children[0].inbound_spi;
            let mut n = 0;
            p.filter = Box::new(move |_, d| {
                let want = if lose < 4 { 36 } else { 37 };
                if d.get(18) == Some(&want) {
                    n += 1;
                    return n == 1 + lose % 4;
                }
                false
            });
            let (ia, ib) = (p.a.list_sas()[0].id, p.b.list_sas()[0].id);
            let acts_a = p.a.rekey_ike(p.now, ia);
            let acts_b = p.b.rekey_ike(p.now, ib);
            p.run(acts_a, acts_b);
            for _ in 0..80 {
                p.tick(Duration::from_millis(500));
            }
            let ctx = format!("seed {seed} lose {lose}");
            let (la, lb) = (p.a.list_sas(), p.b.list_sas());
            assert_eq!((la.len(), lb.len()), (1, 1), "{ctx}\n{la:?}\n{lb:?}");
            assert_eq!(
                (la[0].spi_i, la[0].spi_r),
                (lb[0].spi_i, lb[0].spi_r),
                "{ctx}"
            );
            assert_eq!(la[0].children.len(), 1, "{ctx}\n{la:?}\n{lb:?}");
            assert_eq!(lb[0].children.len(), 1, "{ctx}\n{la:?}\n{lb:?}");
            assert_eq!(la[0].children[0].inbound_spi, child_spi, "{ctx}");
            assert_eq!(lb[0].children[0].outbound_spi, child_spi, "{ctx}");
            assert!(
                deletes(&p.a_log).is_empty() && deletes(&p.b_log).is_empty(),
                "{ctx}"
            );
            assert!(p.probes_lost.is_empty(), "{ctx}: {:?}", p.probes_lost);
        }
    }
}

fn cert_file(name: &str) -> String {
    let p = format!("{}/tests/vectors/certs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn cert_auth(who: &str, ca: &str) -> ikev2::CertAuth {
    ikev2::CertAuth::from_pem(
        &cert_file(&format!("{who}.pem")),
        &cert_file(&format!("{who}.key")),
        &[&cert_file(&format!("{ca}.pem"))],
    )
    .unwrap()
}

fn cert_pair(a: ikev2::CertAuth, b: Option<ikev2::CertAuth>) -> Pair {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = Pair::new(
        conn(
            "c",
            A_IP,
            Some(B_IP),
            "alice.example",
            "bob.example",
            "unused-a",
            &ike,
            &esp,
        ),
        conn(
            "c",
            B_IP,
            None,
            "bob.example",
            "alice.example",
            "unused-b",
            &ike,
            &esp,
        ),
    );
    p.a.set_cert_auth("c", a).unwrap();
    if let Some(b) = b {
        p.b.set_cert_auth("c", b).unwrap();
    }
    p
}

#[test]
fn certificate_authentication_both_ways() {
    // The PSKs differ: only the certificates can authenticate.
    let mut p = cert_pair(cert_auth("alice", "ca"), Some(cert_auth("bob", "ca")));
    p.initiate();
    assert_eq!(established(&p.a), 1, "{:?}", notes(&p.a_log));
    assert_eq!(established(&p.b), 1, "{:?}", notes(&p.b_log));
    assert_mirror(installs(&p.a_log)[0], installs(&p.b_log)[0]);
    // Both offered SHA2-256 for RFC 7427 signatures in IKE_SA_INIT (so both sign
    // with AUTH method 14); a PSK connection does not.
    assert!(offers_sig_hash(&p.wire[0].3) && offers_sig_hash(&p.wire[1].3));
    let mut psk = std_pair(&["aes256gcm16-prfsha256-x25519"], &["aes128gcm16"]);
    psk.initiate();
    assert!(!offers_sig_hash(&psk.wire[0].3) && !offers_sig_hash(&psk.wire[1].3));
    // Rekeys do not authenticate again and keep working.
    let acts = p.a.rekey_ike(p.now, p.a.list_sas()[0].id);
    p.run(acts, vec![]);
    assert_eq!(established(&p.a), 1);
    assert_eq!(p.a.list_sas().len(), 1);
}

/// An IKE_SA_INIT message with SIGNATURE_HASH_ALGORITHMS listing SHA2-256 (2).
fn offers_sig_hash(msg: &[u8]) -> bool {
    use ikev2::wire::{parse_chain, Header, Payload, HEADER_LEN};
    let h = Header::parse(msg).unwrap();
    assert_eq!(h.exchange, 34);
    let chain = parse_chain(h.next_payload, &msg[HEADER_LEN..]).unwrap();
    chain
        .payloads
        .iter()
        .any(|p| matches!(p, Payload::Notify(n) if n.ntype == 16431 && n.data == [0, 2]))
}

fn refused_by_initiator(p: &Pair, why: &str) {
    assert_eq!(established(&p.a), 0);
    assert!(
        events(&p.a_log).iter().any(|e| matches!(
            e,
            Event::AuthenticationFailed { by_peer: false, detail, .. } if detail.contains(why)
        )),
        "{:?}",
        notes(&p.a_log)
    );
}

#[test]
fn certificate_from_an_untrusted_ca_is_refused() {
    // Same issuer name as the trusted CA, another key.
    let mut p = cert_pair(cert_auth("alice", "ca"), Some(cert_auth("rogue-bob", "ca")));
    p.initiate();
    refused_by_initiator(&p, "not issued by a trusted CA");
}

#[test]
fn certificate_naming_another_identity_is_refused() {
    // B shows alice's certificate (and key) while claiming to be bob.example.
    let mut p = cert_pair(cert_auth("alice", "ca"), Some(cert_auth("alice", "ca")));
    p.initiate();
    refused_by_initiator(&p, "does not name the peer's identity");
}

#[test]
fn psk_peer_is_refused_where_certificates_are_required() {
    let mut p = cert_pair(cert_auth("alice", "ca"), None);
    p.initiate();
    // B (PSK) cannot verify A's signature; A is told AUTHENTICATION_FAILED.
    assert_eq!(established(&p.a), 0);
    assert_eq!(established(&p.b), 0);
    assert!(events(&p.b_log).iter().any(|e| matches!(
        e,
        Event::AuthenticationFailed { by_peer: false, detail, .. }
            if detail.contains("other than PSK")
    )));
}

#[test]
fn certificate_configuration_errors_are_explained() {
    let err = ikev2::CertAuth::from_pem(
        &cert_file("alice.pem"),
        &cert_file("bob.key"),
        &[&cert_file("ca.pem")],
    )
    .unwrap_err();
    assert_eq!(err, ikev2::CertError::KeyMismatch);
    let err = ikev2::CertAuth::from_pem("junk", &cert_file("alice.key"), &[]).unwrap_err();
    assert!(err.to_string().contains("our certificate"), "{err}");
    let mut e = engine(1, EngineConfig::default());
    assert_eq!(
        e.set_cert_auth("nope", cert_auth("alice", "ca"))
            .unwrap_err(),
        ikev2::CertError::UnknownConnection("nope".into())
    );
}

#[test]
fn rekey_with_a_lost_response_loses_no_packet() {
    // The responder installs the new SA at once but keeps sending on the old one
    // (SwitchOutbound) until the initiator, which got the retransmitted response,
    // deletes the old SA.
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.probes = true;
    p.initiate();
    let mut n = 0;
    p.filter = Box::new(move |from_a, d| {
        if !from_a && d.get(18) == Some(&36) {
            n += 1;
            return n == 1;
        }
        false
    });
    let acts = p.a.rekey_child(p.now, p.a.list_sas()[0].children[0].id);
    p.run(acts, vec![]);
    assert_eq!((installs(&p.a_log).len(), installs(&p.b_log).len()), (1, 2));
    let switches = |log: &[Action]| {
        log.iter()
            .filter_map(|a| match a {
                Action::SwitchOutbound { outbound_spi, .. } => Some(*outbound_spi),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // B keeps the old outbound SPI for now.
    let old_out = installs(&p.b_log)[0].outbound.spi;
    assert_eq!(switches(&p.b_log), vec![old_out]);
    for _ in 0..20 {
        p.tick(Duration::from_millis(500));
    }
    let new_out = installs(&p.b_log)[1].outbound.spi;
    assert_eq!(switches(&p.b_log), vec![old_out, new_out]);
    assert_data_paths_agree(&p);
    assert!(p.a.stats().retransmits >= 1);
}

#[test]
fn random_rekeys_deletes_and_losses_end_consistent() {
    // Both sides rekey CHILD_SAs and the IKE SA at random moments (often at the
    // same time) while about one datagram in eight is lost; after a quiet period
    // without loss both sides hold one IKE SA and one CHILD_SA, the same, and their
    // data paths agree.
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut failures = Vec::new();
    // RANDOM_SEED=n runs one seed, RANDOM_SEEDS=n the first n.
    let seeds: Vec<u64> = match (std::env::var("RANDOM_SEED"), std::env::var("RANDOM_SEEDS")) {
        (Ok(s), _) => vec![s.parse().unwrap()],
        (_, Ok(n)) => (1..=n.parse().unwrap()).collect(),
        _ => (1..61).collect(),
    };
    for seed in seeds {
        let mut p = Pair::seeded(
            conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
            conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp),
            EngineConfig::default(),
            EngineConfig::default(),
            seed,
        );
        p.probes = true;
        p.initiate();
        let mut rng = StdRng::seed_from_u64(seed * 7919);
        let mut loss = StdRng::seed_from_u64(seed * 104729);
        p.filter = Box::new(move |_, _| loss.gen_range(0..8) == 0);
        for _ in 0..12 {
            let mut acts = (vec![], vec![]);
            for side in [true, false] {
                let e = if side { &mut p.a } else { &mut p.b };
                let Some(sa) = e
                    .list_sas()
                    .into_iter()
                    .find(|s| s.state == IkeState::Established)
                else {
                    continue;
                };
                let a = match rng.gen_range(0..4) {
                    0 => e.rekey_ike(p.now, sa.id),
                    1 | 2 => match sa.children.iter().find(|c| !c.rekeyed) {
                        Some(c) => e.rekey_child(p.now, c.id),
                        None => vec![],
                    },
                    _ => vec![],
                };
                if side {
                    acts.0 = a;
                } else {
                    acts.1 = a;
                }
            }
            p.run(acts.0, acts.1);
            for _ in 0..rng.gen_range(1..8) {
                p.tick(Duration::from_millis(700));
            }
        }
        p.filter = Box::new(|_, _| false);
        for _ in 0..120 {
            p.tick(Duration::from_secs(1));
        }
        let (la, lb) = (p.a.list_sas(), p.b.list_sas());
        let ok = la.len() == 1
            && lb.len() == 1
            && (la[0].spi_i, la[0].spi_r) == (lb[0].spi_i, lb[0].spi_r)
            && la[0].children.len() == 1
            && lb[0].children.len() == 1
            && la[0].children[0].inbound_spi == lb[0].children[0].outbound_spi
            && p.dp_a.errors.is_empty()
            && p.dp_b.errors.is_empty()
            && p.dp_a.sas.len() == 1
            && p.dp_b.sas.len() == 1
            && p.probes_lost.is_empty();
        if !ok {
            failures.push(format!(
                "seed {seed}:\n{la:?}\n{lb:?}\n{:?}\n{:?} {:?}\n{:?}\n{:?}",
                p.probes_lost,
                p.dp_a.errors,
                p.dp_b.errors,
                notes(&p.a_log),
                notes(&p.b_log)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ------------------------------------------------------------ reload and attack

fn sends(acts: &[Action]) -> usize {
    acts.iter()
        .filter(|a| matches!(a, Action::Send { .. }))
        .count()
}

#[test]
fn removed_connection_is_deleted_with_the_peer_and_refuses_logins() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let ca = conn(
        "c",
        A_IP,
        Some(B_IP),
        "alice.example",
        "bob.example",
        "k",
        &ike,
        &esp,
    );
    let cb = conn(
        "c",
        B_IP,
        None,
        "bob.example",
        "alice.example",
        "k",
        &ike,
        &esp,
    );
    // B also has a connection for another peer on the same addresses: after the
    // removal, alice's IKE_SA_INIT still finds a connection, so it is IKE_AUTH
    // that must refuse her.
    let other = conn(
        "other",
        B_IP,
        None,
        "bob.example",
        "carol.example",
        "k2",
        &ike,
        &esp,
    );
    let mut p = Pair::new(ca, cb);
    p.b.add_connection(other).unwrap();
    p.initiate();
    assert_eq!((established(&p.a), established(&p.b)), (1, 1));
    let child_b = installs(&p.b_log)[0].inbound.spi;
    let (found, acts) = p.b.remove_connection(p.now, "c");
    assert!(found);
    // The DELETE goes out and the CHILD_SA leaves B's data path at once.
    assert_eq!(sends(&acts), 1, "{acts:?}");
    assert!(deletes(&acts).iter().any(|(i, _)| *i == child_b));
    p.run(vec![], acts);
    assert!(p.a.list_sas().is_empty(), "{:?}", p.a.list_sas());
    assert!(p.b.list_sas().is_empty(), "{:?}", p.b.list_sas());
    assert!(closed(&p.a_log)
        .iter()
        .any(|(_, r)| *r == CloseReason::PeerDelete));
    assert!(closed(&p.b_log)
        .iter()
        .any(|(_, r)| *r == CloseReason::LocalDelete));
    assert_eq!(deletes(&p.a_log).len(), 1, "A removed its CHILD_SA");
    assert_eq!(p.b.connections().collect::<Vec<_>>(), vec!["other"]);
    assert!(!p.b.remove_connection(p.now, "c").0, "already gone");
    // A logs in again: refused in IKE_AUTH as an unknown peer, nothing installed.
    let before = (installs(&p.a_log).len(), installs(&p.b_log).len());
    p.initiate();
    assert_eq!((established(&p.a), established(&p.b)), (0, 0));
    assert_eq!(before, (installs(&p.a_log).len(), installs(&p.b_log).len()));
    assert!(events(&p.b_log).iter().any(|e| matches!(e,
        Event::AuthenticationFailed { by_peer: false, detail, .. } if detail.contains("matches no connection"))));
    assert!(events(&p.a_log)
        .iter()
        .any(|e| matches!(e, Event::AuthenticationFailed { by_peer: true, .. })));
    // The initiator's side of a removal: no more initiate.
    p.a.remove_connection(p.now, "c");
    assert!(matches!(
        p.a.initiate(p.now, "c"),
        Err(ikev2::engine::InitiateError::UnknownConnection(_))
    ));
    // Added again (same name), it works again.
    let cb = conn(
        "c",
        B_IP,
        None,
        "bob.example",
        "alice.example",
        "k",
        &ike,
        &esp,
    );
    assert!(p.b.replace_connection(p.now, cb).unwrap().is_empty());
    let ca = conn(
        "c",
        A_IP,
        Some(B_IP),
        "alice.example",
        "bob.example",
        "k",
        &ike,
        &esp,
    );
    p.a.add_connection(ca).unwrap();
    p.tick(Duration::from_secs(60));
    p.initiate();
    assert_eq!((established(&p.a), established(&p.b)), (1, 1));
}

#[test]
fn reload_that_changes_the_peer_closes_its_sas() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let same = conn(
        "c",
        B_IP,
        None,
        "bob.example",
        "alice.example",
        "secret-psk",
        &ike,
        &esp,
    );
    assert!(p.b.replace_connection(p.now, same).unwrap().is_empty());
    assert_eq!(established(&p.b), 1);
    // A new PSK: the SA authenticated with the old one is closed with the peer.
    let new_psk = conn(
        "c",
        B_IP,
        None,
        "bob.example",
        "alice.example",
        "other-psk",
        &ike,
        &esp,
    );
    let acts = p.b.replace_connection(p.now, new_psk).unwrap();
    assert_eq!(sends(&acts), 1);
    p.run(vec![], acts);
    assert!(p.a.list_sas().is_empty() && p.b.list_sas().is_empty());
    // ESP proposals that drop the running transform close it too.
    let mut p = std_pair(&ike, &esp);
    p.initiate();
    let strict = conn(
        "c",
        B_IP,
        None,
        "bob.example",
        "alice.example",
        "secret-psk",
        &ike,
        &["aes256gcm16"],
    );
    let acts = p.b.replace_connection(p.now, strict).unwrap();
    p.run(vec![], acts);
    assert!(p.a.list_sas().is_empty() && p.b.list_sas().is_empty());
}

/// A's IKE_SA_INIT request for connection "c" to B.
fn init_request(seed: u64) -> (Engine, Vec<u8>) {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let mut a = engine(seed, EngineConfig::default());
    a.add_connection(conn(
        "c",
        A_IP,
        Some(B_IP),
        "a.x",
        "b.x",
        "k",
        &ike,
        &["aes128gcm16"],
    ))
    .unwrap();
    let (_, acts) = a.initiate(Instant::now(), "c").unwrap();
    let Some(Action::Send { datagram, .. }) = acts.into_iter().next() else {
        panic!("no IKE_SA_INIT")
    };
    (a, datagram)
}

fn responder(cfg: EngineConfig) -> Engine {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let mut b = engine(77, cfg);
    b.add_connection(conn(
        "c",
        B_IP,
        None,
        "b.x",
        "a.x",
        "k",
        &ike,
        &["aes128gcm16"],
    ))
    .unwrap();
    b
}

fn b_addr() -> SocketAddr {
    SocketAddr::new(B_IP.parse().unwrap(), 500)
}

/// Source `i` of a flood: 10.50.x.y:500.
fn source(i: u32) -> SocketAddr {
    SocketAddr::new(IpAddr::V4((0x0a32_0000 + i).into()), 500)
}

fn dropped(e: &Engine, why: &str) -> u64 {
    e.stats().dropped.get(why).copied().unwrap_or(0)
}

#[test]
fn half_open_sas_are_capped_in_all_and_per_source() {
    let (_a, req) = init_request(5);
    let now = Instant::now();
    let flood = |b: &mut Engine, n: u32, from: &dyn Fn(u32) -> SocketAddr| {
        let mut answered = 0;
        for i in 0..n {
            let mut m = req.clone();
            m[..8].copy_from_slice(&u64::from(i + 1).to_be_bytes());
            answered += sends(&b.handle_datagram(now, b_addr(), from(i), &m));
        }
        answered
    };
    // Many sources: at most half_open_limit half-open SAs, the rest dropped unanswered.
    let mut b = responder(EngineConfig {
        half_open_limit: 10,
        cookie_threshold: 1000,
        ..EngineConfig::default()
    });
    assert_eq!(flood(&mut b, 50, &source), 10);
    assert_eq!(b.half_open(), 10);
    assert_eq!(b.list_sas().len(), 10);
    assert_eq!(dropped(&b, "HalfOpenLimit"), 40);
    // An oversized request is dropped before anything is made of it.
    let mut big = req.clone();
    big.resize(5000, 0);
    big[24..28].copy_from_slice(&5000u32.to_be_bytes());
    assert!(b
        .handle_datagram(now, b_addr(), source(999), &big)
        .iter()
        .all(|x| !matches!(x, Action::Send { .. })));
    assert_eq!(dropped(&b, "TooLarge"), 1);
    // When they time out, there is room again.
    b.handle_timer(now + Duration::from_secs(31));
    assert_eq!(b.half_open(), 0);
    // One source: half_open_per_source without a cookie, then cookies demanded...
    let mut b = responder(EngineConfig {
        half_open_limit: 12,
        half_open_per_source: 3,
        cookie_threshold: 1000,
        ..EngineConfig::default()
    });
    assert_eq!(flood(&mut b, 20, &|_| source(7)), 20);
    assert_eq!(b.half_open(), 3);
    assert_eq!(b.stats().cookies_sent, 17);
    // ...and as many again with cookies, then dropped.
    let mut cookied = Vec::new();
    for i in 0..5 {
        let (mut a, req) = init_request(30 + i);
        cookied.push(with_cookie(&mut a, &req, &mut b, now, source(7)));
    }
    let answered: Vec<usize> = cookied
        .iter()
        .map(|m| sends(&b.handle_datagram(now, b_addr(), source(7), m)))
        .collect();
    assert_eq!(answered, vec![1, 1, 1, 0, 0]);
    assert_eq!(b.half_open(), 6);
    assert_eq!(dropped(&b, "SourceLimit"), 2);
    // Other sources still get in, up to the cap.
    assert_eq!(flood(&mut b, 20, &|i| source(100 + i)), 6);
    assert_eq!(b.half_open(), 12);
    assert_eq!(dropped(&b, "HalfOpenLimit"), 14);
}

/// A's IKE_SA_INIT with B's cookie: A's first request goes to B from `src`, B's
/// COOKIE answer back to A, and A's repeated request (with the cookie) is returned.
fn with_cookie(
    a: &mut Engine,
    req: &[u8],
    b: &mut Engine,
    now: Instant,
    src: SocketAddr,
) -> Vec<u8> {
    let resp = b.handle_datagram(now, b_addr(), src, req);
    assert!(resp.iter().any(|x| matches!(
        x,
        Action::Event(Event::CookieDemanded { invalid: false, .. })
    )));
    let Some(Action::Send { datagram, .. }) =
        resp.into_iter().find(|x| matches!(x, Action::Send { .. }))
    else {
        panic!("no answer")
    };
    let a_local = SocketAddr::new(A_IP.parse().unwrap(), 500);
    let again = a.handle_datagram(now, a_local, b_addr(), &datagram);
    let Some(Action::Send { datagram, .. }) =
        again.into_iter().find(|x| matches!(x, Action::Send { .. }))
    else {
        panic!("no request with the cookie")
    };
    assert!(datagram.len() > req.len(), "the cookie was added");
    datagram
}

#[test]
fn half_open_cap_holds_against_valid_cookies() {
    let now = Instant::now();
    let mut b = responder(EngineConfig {
        half_open_limit: 3,
        cookie_threshold: 0,
        ..EngineConfig::default()
    });
    let mut cookied = Vec::new();
    for i in 0..5 {
        let (mut a, req) = init_request(10 + i);
        cookied.push(with_cookie(&mut a, &req, &mut b, now, source(i as u32)));
    }
    assert_eq!(b.stats().cookies_sent, 5);
    let answered: Vec<usize> = cookied
        .iter()
        .enumerate()
        .map(|(i, m)| sends(&b.handle_datagram(now, b_addr(), source(i as u32), m)))
        .collect();
    assert_eq!(answered, vec![1, 1, 1, 0, 0]);
    assert_eq!(b.half_open(), 3);
    assert_eq!(dropped(&b, "HalfOpenLimit"), 2);
}

#[test]
fn cookie_secret_rotates_and_the_previous_one_is_accepted_for_one_period() {
    let t0 = Instant::now();
    let period = Duration::from_secs(60);
    let mut b = responder(EngineConfig {
        cookie_threshold: 0,
        cookie_secret_lifetime: period,
        ..EngineConfig::default()
    });
    let (mut a1, r1) = init_request(21);
    let (mut a2, r2) = init_request(22);
    let c1 = with_cookie(&mut a1, &r1, &mut b, t0, source(1));
    let c2 = with_cookie(&mut a2, &r2, &mut b, t0, source(2));
    // One period later the secret changes; a cookie made with the previous one works.
    let t1 = t0 + period + Duration::from_secs(1);
    let got = b.handle_datagram(t1, b_addr(), source(1), &c1);
    assert_eq!(b.stats().cookie_secret_rotations, 1);
    assert_eq!(b.half_open(), 1, "{got:?}");
    // After the next change, a cookie from two secrets ago is refused: a new
    // cookie is demanded and no state is kept.
    let t2 = t1 + period + Duration::from_secs(1);
    let got = b.handle_datagram(t2, b_addr(), source(2), &c2);
    assert_eq!(b.stats().cookie_secret_rotations, 2);
    assert_eq!(b.half_open(), 1);
    assert!(
        got.iter().any(|x| matches!(
            x,
            Action::Event(Event::CookieDemanded { invalid: true, .. })
        )),
        "{got:?}"
    );
    assert_eq!(b.stats().cookies_sent, 3);
}

#[test]
fn child_sas_beyond_the_cap_get_no_additional_sas() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let second = |local: &str, remote: &str| ChildConfig {
        name: "second".into(),
        local_ts: vec![ts_from_cidr(local).unwrap()],
        remote_ts: vec![ts_from_cidr(remote).unwrap()],
        mode: Mode::Tunnel,
        esp_proposals: vec![EspProposal::parse("aes128gcm16").unwrap()],
        rekey_time: None,
        life_time: None,
    };
    let mut ca = conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp);
    ca.children.push(second("10.3.0.0/24", "10.4.0.0/24"));
    let mut cb = conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp);
    cb.children.push(second("10.4.0.0/24", "10.3.0.0/24"));
    let cfb = EngineConfig {
        max_child_sas: 1,
        ..EngineConfig::default()
    };
    let mut p = Pair::with_cfg(ca, cb, EngineConfig::default(), cfb);
    p.initiate();
    assert_eq!((installs(&p.a_log).len(), installs(&p.b_log).len()), (1, 1));
    assert_eq!(p.b.stats().child_sa_limit_refusals, 1);
    assert!(events(&p.a_log).iter().any(|e| matches!(e,
        Event::ChildSaFailed { detail, .. } if detail.contains("NO_ADDITIONAL_SAS"))));
    assert_eq!((established(&p.a), established(&p.b)), (1, 1));
    // A rekey replaces a CHILD_SA, so the cap does not stop it.
    let child = p.a.list_sas()[0].children[0].id;
    let acts = p.a.rekey_child(p.now, child);
    p.run(acts, vec![]);
    assert_eq!((installs(&p.a_log).len(), installs(&p.b_log).len()), (2, 2));
    assert_eq!(p.b.stats().child_sa_limit_refusals, 1);
}

#[test]
fn a_flood_faking_the_peers_address_does_not_lock_it_out() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let cfb = EngineConfig {
        half_open_per_source: 3,
        ..EngineConfig::default()
    };
    let mut p = Pair::with_cfg(
        conn("c", A_IP, Some(B_IP), "a.x", "b.x", "k", &ike, &esp),
        conn("c", B_IP, None, "b.x", "a.x", "k", &ike, &esp),
        EngineConfig::default(),
        cfb,
    );
    let (_x, req) = init_request(40);
    let a_addr = SocketAddr::new(A_IP.parse().unwrap(), 500);
    for i in 0..50u64 {
        let mut m = req.clone();
        m[..8].copy_from_slice(&(0xdead_0000 + i).to_be_bytes());
        p.b.handle_datagram(p.now, b_addr(), a_addr, &m);
    }
    assert_eq!(p.b.half_open(), 3);
    assert_eq!(p.b.stats().cookies_sent, 47);
    // The real peer is asked for a cookie, returns it and gets in.
    p.initiate();
    assert_eq!((established(&p.a), established(&p.b)), (1, 1));
    assert_eq!(p.b.stats().cookies_sent, 48);
}

/// The first datagram of `acts` (panics when there is none: the exchange is fixed).
fn first_sent(acts: &[Action]) -> (SocketAddr, SocketAddr, Vec<u8>) {
    acts.iter()
        .find_map(|a| match a {
            Action::Send {
                local,
                remote,
                datagram,
            } => Some((*local, *remote, datagram.clone())),
            _ => None,
        })
        .expect("a datagram is sent")
}

/// True when `acts` is only a drop of a malformed datagram.
fn only_malformed_drop(acts: &[Action]) -> bool {
    !acts.is_empty()
        && acts.iter().all(|a| {
            matches!(
                a,
                Action::Event(Event::Dropped {
                    reason: DropReason::Malformed,
                    ..
                })
            )
        })
}

/// A datagram longer than its IKE header's length (found by the `ike_engine` fuzz
/// target: the genuine IKE_AUTH request with bytes appended installed its CHILD_SA
/// as if it were the genuine datagram) is refused as malformed, for IKE_SA_INIT and
/// for encrypted messages; the genuine messages then complete the exchange.
#[test]
fn bytes_past_the_message_length_are_refused() {
    let ike = ["aes256gcm16-prfsha256-x25519"];
    let esp = ["aes128gcm16"];
    let mut p = std_pair(&ike, &esp);
    let now = p.now;
    let padded = |m: &[u8]| {
        let mut v = m.to_vec();
        v.extend_from_slice(&[0x43; 17]);
        v
    };
    let (_, acts) = p.a.initiate(now, "c").unwrap();
    let (a_local, b_addr, init_req) = first_sent(&acts);
    assert!(only_malformed_drop(&p.b.handle_datagram(
        now,
        b_addr,
        a_local,
        &padded(&init_req)
    )));
    assert!(
        p.b.list_sas().is_empty(),
        "no half-open SA for a padded request"
    );
    let acts = p.b.handle_datagram(now, b_addr, a_local, &init_req);
    let (_, _, init_resp) = first_sent(&acts);
    let acts = p.a.handle_datagram(now, a_local, b_addr, &init_resp);
    let (_, _, auth_req) = first_sent(&acts);
    let before = p.b.list_sas();
    assert!(only_malformed_drop(&p.b.handle_datagram(
        now,
        b_addr,
        a_local,
        &padded(&auth_req)
    )));
    assert_eq!(p.b.list_sas(), before, "a padded IKE_AUTH changes nothing");
    let acts = p.b.handle_datagram(now, b_addr, a_local, &auth_req);
    assert_eq!(installs(&acts).len(), 1, "the genuine IKE_AUTH installs");
    assert_eq!(established(&p.b), 1);
}
