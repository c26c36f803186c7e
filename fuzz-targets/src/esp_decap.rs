//! Target `esp_decap`: ESP and AH inbound processing of a received IP packet.
//!
//! The first input byte picks one of [`SETUPS`] SA set-ups (transform, transport or
//! tunnel mode, UDP encapsulation, ESN; or an AH algorithm and mode), all with fixed
//! keys; the rest is the received packet. Invariants:
//! - an error before the ICV is verified (malformed, wrong SPI, replay, ICV failure)
//!   counts nothing and leaves the replay window where it was;
//! - a packet that is accepted lies inside the buffer, counts one packet and moves
//!   the window to its sequence number; the same packet again is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use esp::wire::{ipv4, ipv6, udp};
use esp::{
    proto, AhAlgorithm, AhConfig, AhInbound, AhOutbound, DecapError, InboundSa, Mode, OutboundSa,
    SaConfig, SeqNum, Spi, Transform, UdpEncap, Usage,
};

/// Number of SA set-ups the first input byte selects from (modulo).
pub const SETUPS: u8 = 32;

/// Sender's outer address in tunnel mode.
const TUNNEL_A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
/// Receiver's outer address in tunnel mode.
const TUNNEL_B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

/// One direction's configuration of either protocol.
enum Setup {
    Esp(SaConfig),
    Ah(AhConfig),
}

fn key(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7) ^ salt).collect()
}

fn mode(tunnel: bool, sender: bool) -> Mode {
    match (tunnel, sender) {
        (false, _) => Mode::Transport,
        (true, true) => Mode::Tunnel {
            local: TUNNEL_A,
            remote: TUNNEL_B,
        },
        (true, false) => Mode::Tunnel {
            local: TUNNEL_B,
            remote: TUNNEL_A,
        },
    }
}

/// Set-up `sel` (modulo [`SETUPS`]) as seen by the sender or the receiver.
fn setup(sel: u8, sender: bool) -> Setup {
    let n = sel % SETUPS;
    let spi = Spi(0x1000 + u32::from(n));
    if n < 26 {
        // 0..24: every transform, transport/tunnel, with/without UDP; 24, 25: ESN.
        let (t, tunnel, encap, esn) = if n < 24 {
            (
                Transform::ALL[usize::from(n % 6)],
                n / 6 % 2 == 1,
                n / 12 == 1,
                false,
            )
        } else if n == 24 {
            (Transform::AesGcm128, false, false, true)
        } else {
            (Transform::AesCbc256HmacSha256, true, true, true)
        };
        let mut cfg = SaConfig::new(spi, t, &key(t.key_material_len(), n))
            .expect("fixed ESP set-up is valid");
        cfg.mode = mode(tunnel, sender);
        cfg.encap = encap.then(UdpEncap::default);
        cfg.esn = esn;
        Setup::Esp(cfg)
    } else {
        let m = n - 26;
        let alg = [
            AhAlgorithm::HmacSha256_128,
            AhAlgorithm::AesGmac128,
            AhAlgorithm::AesGmac256,
        ][usize::from(m % 3)];
        let mut cfg =
            AhConfig::new(spi, alg, &key(alg.key_len(), n)).expect("fixed AH set-up is valid");
        cfg.mode = mode(m >= 3, sender);
        Setup::Ah(cfg)
    }
}

/// Errors raised before the packet is authenticated: they must leave no trace.
fn before_auth(e: &DecapError) -> bool {
    !matches!(
        e,
        DecapError::BadTrailer(_)
            | DecapError::DummyPacket
            | DecapError::SelectorMismatch
            | DecapError::BadInner(_)
    )
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&sel, packet)) = data.split_first() else {
        return;
    };
    match setup(sel, false) {
        Setup::Esp(cfg) => esp_in(&cfg, packet),
        Setup::Ah(cfg) => ah_in(&cfg, packet),
    }
}

/// Whether the packet of input `data` is accepted (decapsulated or verified).
pub fn accepted(data: &[u8]) -> bool {
    let Some((&sel, packet)) = data.split_first() else {
        return false;
    };
    let mut buf = packet.to_vec();
    match setup(sel, false) {
        Setup::Esp(cfg) => {
            InboundSa::new(&cfg).is_ok_and(|mut sa| sa.decap_packet(&mut buf).is_ok())
        }
        Setup::Ah(cfg) => AhInbound::new(&cfg).is_ok_and(|mut sa| sa.verify(&mut buf).is_ok()),
    }
}

fn esp_in(cfg: &SaConfig, packet: &[u8]) {
    let mut sa = InboundSa::new(cfg).expect("fixed ESP set-up is valid");
    let mut buf = packet.to_vec();
    match sa.decap_packet(&mut buf) {
        Ok(d) => {
            assert!(d.packet.start <= d.packet.end && d.packet.end <= buf.len());
            assert_eq!(sa.usage().packets, 1, "an accepted packet counts once");
            assert_eq!(sa.replay_window().top(), d.seq);
            let mut again = packet.to_vec();
            assert!(
                matches!(sa.decap_packet(&mut again), Err(DecapError::Replayed(_))),
                "the same packet twice must be a replay"
            );
            assert_eq!(sa.usage().packets, 1, "a replay counts nothing");
        }
        Err(e) if before_auth(&e) => {
            assert_eq!(sa.usage(), Usage::default(), "{e}: counted");
            assert_eq!(sa.replay_window().top(), SeqNum(0), "{e}: window moved");
        }
        Err(_) => {
            // Authenticated, then refused: the number is used up.
            let mut again = packet.to_vec();
            assert!(sa.decap_packet(&mut again).is_err());
        }
    }
}

fn ah_in(cfg: &AhConfig, packet: &[u8]) {
    let mut sa = AhInbound::new(cfg).expect("fixed AH set-up is valid");
    let mut buf = packet.to_vec();
    match sa.verify(&mut buf) {
        Ok(v) => {
            assert!(v.packet.start <= v.packet.end && v.packet.end <= buf.len());
            assert_eq!(sa.replay_window_mut().top(), v.seq);
            let mut again = packet.to_vec();
            assert!(
                matches!(sa.verify(&mut again), Err(DecapError::Replayed(_))),
                "the same AH packet twice must be a replay"
            );
        }
        Err(e) if before_auth(&e) => {
            assert_eq!(sa.replay_window_mut().top(), SeqNum(0), "{e}: window moved");
        }
        Err(_) => {}
    }
}

/// A UDP-in-IPv4 packet with `n` payload bytes.
fn udp4(n: usize) -> Vec<u8> {
    let total = 20 + 8 + n;
    let mut p = vec![0u8; total];
    ipv4::emit_header(
        &mut p,
        0,
        total as u16,
        64,
        proto::UDP,
        Ipv4Addr::new(10, 1, 0, 1),
        Ipv4Addr::new(10, 2, 0, 1),
    )
    .expect("room for the header");
    udp::emit_header(&mut p[20..], 1234, 5678, (8 + n) as u16).expect("room for UDP");
    for (i, b) in p[28..].iter_mut().enumerate() {
        *b = i as u8;
    }
    p
}

/// A UDP-in-IPv6 packet with `n` payload bytes.
fn udp6(n: usize) -> Vec<u8> {
    let plen = 8 + n;
    let mut p = vec![0u8; 40 + plen];
    let (src, dst): (Ipv6Addr, Ipv6Addr) = ("fd01::1".parse().unwrap(), "fd02::1".parse().unwrap());
    ipv6::emit_header(&mut p, 0, plen as u16, proto::UDP, 64, src, dst).expect("room");
    udp::emit_header(&mut p[40..], 1234, 5678, plen as u16).expect("room for UDP");
    let sum = udp::checksum_v6(&src, &dst, &p[40..]);
    p[46..48].copy_from_slice(&sum.to_be_bytes());
    p
}

/// Seed inputs: for every set-up, genuine packets sealed by the matching outbound
/// SA (an IPv4 packet with sequence number 1, an IPv6 one with 2), each prefixed
/// with the set-up byte.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let inner = [udp4(40), udp6(3)];
    for sel in 0..SETUPS {
        let setup = setup(sel, true);
        let mut esp_sa = match &setup {
            Setup::Esp(cfg) => Some(OutboundSa::new(cfg).expect("fixed set-up")),
            Setup::Ah(_) => None,
        };
        let mut ah_sa = match &setup {
            Setup::Ah(cfg) => Some(AhOutbound::new(cfg).expect("fixed set-up")),
            Setup::Esp(_) => None,
        };
        for (i, p) in inner.iter().enumerate() {
            let mut buf = vec![0u8; 256];
            let sealed = if let Some(sa) = esp_sa.as_mut() {
                sa.encap_packet(p, &mut buf)
            } else if let Some(sa) = ah_sa.as_mut() {
                sa.protect(p, &mut buf)
            } else {
                continue;
            };
            let s = sealed.expect("seal a well-formed packet");
            let mut seed = vec![sel];
            seed.extend_from_slice(&buf[..s.len]);
            out.push((format!("seed-{sel:02}-{i}"), seed));
        }
    }
    out
}
