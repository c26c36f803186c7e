//! The sockets of each encapsulation (UDP on a local address and port, raw ESP
//! over IPv4 and IPv6): one per inbound worker, and the classic BPF programs
//! that steer each ESP datagram to the socket of the worker that owns its SA.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use nix::sys::socket::SockaddrStorage;
use socket2::{Domain, Protocol, Socket, Type};
use tracing::warn;

use esp::proto;

use super::{Dataplane, InCmd};
use crate::config::Encap;
use crate::sa::{ChildSaSpec, InstallError};

/// Which encapsulation a socket carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum SockKind {
    Udp(SocketAddr),
    Raw4,
    Raw6,
}

/// The sockets of one encapsulation: one per inbound worker (worker `k` reads
/// `rx[k]`); the first also sends.
pub(super) struct Sock {
    pub(super) kind: SockKind,
    pub(super) rx: Vec<Socket>,
    /// UDP segmentation offload usable on the sending socket.
    pub(super) gso: AtomicBool,
}

impl Sock {
    pub(super) fn tx(&self) -> &Socket {
        &self.rx[0]
    }
}

/// The inbound worker that owns the SA with inbound SPI `spi` among `workers`
/// (a multiplicative hash, so sequential and random SPIs both spread). The BPF
/// steering programs compute the same function.
pub fn owner(spi: u32, workers: usize) -> usize {
    let n = u32::try_from(workers.max(1)).unwrap_or(u32::MAX);
    ((spi.wrapping_mul(HASH_MUL) >> 16) % n) as usize
}

const HASH_MUL: u32 = 0x9e37_79b1;

// Classic BPF (linux/filter.h) for the steering programs.
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_LD_W_IND: u16 = 0x40;
const BPF_LD_W_LEN: u16 = 0x80;
const BPF_LDX_B_MSH: u16 = 0xb1;
const BPF_ALU_MUL_K: u16 = 0x24;
const BPF_ALU_RSH_K: u16 = 0x74;
const BPF_ALU_MOD_K: u16 = 0x94;
const BPF_ALU_SUB_X: u16 = 0x1c;
const BPF_JGE_K: u16 = 0x35;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;
const BPF_RET_A: u16 = 0x16;

fn bpf(code: u16, jt: u8, jf: u8, k: u32) -> nix::libc::sock_filter {
    nix::libc::sock_filter { code, jt, jf, k }
}

/// The owner hash of the 32-bit word loaded by `load` (then A = owner).
fn bpf_owner(load: nix::libc::sock_filter, workers: usize) -> [nix::libc::sock_filter; 4] {
    let n = u32::try_from(workers.max(1)).unwrap_or(u32::MAX);
    [
        load,
        bpf(BPF_ALU_MUL_K, 0, 0, HASH_MUL),
        bpf(BPF_ALU_RSH_K, 0, 0, 16),
        bpf(BPF_ALU_MOD_K, 0, 0, n),
    ]
}

/// Reuseport program of a UDP encapsulation group: the socket index is the
/// owner of the SPI in the first four payload bytes (the kernel runs it with the
/// data at the UDP payload). IKE (SPI 0 = non-ESP marker) goes to worker 0, and
/// so does a datagram too short to load from (the program then returns 0).
fn steer_udp(sock: &Socket, workers: usize) -> io::Result<()> {
    let mut prog: Vec<_> = bpf_owner(bpf(BPF_LD_W_ABS, 0, 0, 0), workers).to_vec();
    prog.push(bpf(BPF_RET_A, 0, 0, 0));
    let fprog = nix::libc::sock_fprog {
        len: u16::try_from(prog.len()).unwrap_or(0),
        filter: prog.as_mut_ptr(),
    };
    nix::sys::socket::setsockopt(sock, nix::sys::socket::sockopt::AttachReusePortCbpf, &fprog)
        .map_err(io::Error::from)
}

/// Socket filter of worker `k`'s raw ESP socket: every raw socket sees every ESP
/// packet, and each keeps those whose SPI it owns. Packets too short to hold an
/// SPI go to worker 0 (which counts them as malformed). IPv4 raw sockets see the
/// IP header first, IPv6 ones the ESP header.
fn raw_filter(v4: bool, k: usize, workers: usize) -> Vec<nix::libc::sock_filter> {
    let keep = u32::MAX;
    let short = if k == 0 { keep } else { 0 };
    let k = u32::try_from(k).unwrap_or(u32::MAX);
    let mut p = Vec::with_capacity(12);
    if v4 {
        // X = IP header length; A = length - X; at least 8 bytes of ESP header
        p.push(bpf(BPF_LDX_B_MSH, 0, 0, 0));
        p.push(bpf(BPF_LD_W_LEN, 0, 0, 0));
        p.push(bpf(BPF_ALU_SUB_X, 0, 0, 0));
        p.push(bpf(BPF_JGE_K, 0, 7, 8));
        p.extend(bpf_owner(bpf(BPF_LD_W_IND, 0, 0, 0), workers));
    } else {
        p.push(bpf(BPF_LD_W_LEN, 0, 0, 0));
        p.push(bpf(BPF_JGE_K, 0, 7, 8));
        p.extend(bpf_owner(bpf(BPF_LD_W_ABS, 0, 0, 0), workers));
    }
    // A == k ? keep : drop; the short case last (the JGE above jumps over 7)
    p.push(bpf(BPF_JEQ_K, 0, 1, k));
    p.push(bpf(BPF_RET_K, 0, 0, keep));
    p.push(bpf(BPF_RET_K, 0, 0, 0));
    p.push(bpf(BPF_RET_K, 0, 0, short));
    p
}

impl Dataplane {
    pub(super) fn socket_for(&self, spec: &ChildSaSpec) -> Result<Arc<Sock>, InstallError> {
        let kind = match (spec.encap, spec.local_addr) {
            (Encap::Udp, a) => SockKind::Udp(SocketAddr::new(a, spec.local_port)),
            (Encap::Raw, IpAddr::V4(_)) => SockKind::Raw4,
            (Encap::Raw, IpAddr::V6(_)) => SockKind::Raw6,
        };
        self.socket_of(kind, spec.inbound.spi)
    }

    /// Opens (or finds) the UDP encapsulation socket on `local`, e.g. for IKE
    /// before any SA exists. Its inbound ESP and IKE are handled like any other.
    pub fn open_udp(&self, local: SocketAddr) -> Result<(), InstallError> {
        self.socket_of(SockKind::Udp(local), 0).map(|_| ())
    }

    fn socket_of(&self, kind: SockKind, spi: u32) -> Result<Arc<Sock>, InstallError> {
        let mut socks = self.sockets.lock().map_err(|_| InstallError::Stopped)?;
        if let Some(s) = socks.get(&kind) {
            return Ok(s.clone());
        }
        let n = self.n_workers;
        let rx = (0..n)
            .map(|k| self.open_one(kind, spi, k))
            .collect::<Result<Vec<_>, _>>()?;
        if n > 1 {
            // Steer each ESP datagram to the socket of the worker that owns its SA.
            let steered = match kind {
                SockKind::Udp(_) => steer_udp(&rx[0], n),
                SockKind::Raw4 | SockKind::Raw6 => rx.iter().enumerate().try_for_each(|(k, s)| {
                    s.attach_filter(&raw_filter(kind == SockKind::Raw4, k, n))
                }),
            };
            if let Err(e) = steered {
                match kind {
                    // Without steering every datagram still reaches its owner (handed over).
                    SockKind::Udp(_) => {
                        warn!(error = %e, "cannot steer ESP by SPI; datagrams are handed between workers")
                    }
                    // Raw sockets each see every packet: without filters, one worker reads.
                    _ => {
                        return Err(InstallError::Socket {
                            spi,
                            what: "raw ESP socket filter".into(),
                            source: e,
                        })
                    }
                }
            }
        }
        let gro = matches!(kind, SockKind::Udp(_));
        let s = Arc::new(Sock {
            kind,
            rx,
            gso: AtomicBool::new(gro),
        });
        socks.insert(kind, s.clone());
        self.to_inbound(|| InCmd::AddSocket(s.clone()))?;
        Ok(s)
    }

    /// Opens worker `k`'s socket of `kind`.
    fn open_one(&self, kind: SockKind, spi: u32, k: usize) -> Result<Socket, InstallError> {
        let err = |what: String, source: io::Error| InstallError::Socket { spi, what, source };
        let sock = match kind {
            SockKind::Udp(a) => {
                let d = if a.is_ipv4() {
                    Domain::IPV4
                } else {
                    Domain::IPV6
                };
                let s = Socket::new(d, Type::DGRAM, Some(Protocol::UDP))
                    .map_err(|e| err(a.to_string(), e))?;
                s.set_reuse_address(true)
                    .map_err(|e| err(a.to_string(), e))?;
                if self.n_workers > 1 {
                    s.set_reuse_port(true)
                        .map_err(|e| err(format!("udp {a} SO_REUSEPORT"), e))?;
                }
                s.bind(&a.into())
                    .map_err(|e| err(format!("udp {a} (worker {k})"), e))?;
                s
            }
            SockKind::Raw4 | SockKind::Raw6 => {
                let d = if kind == SockKind::Raw4 {
                    Domain::IPV4
                } else {
                    Domain::IPV6
                };
                Socket::new(d, Type::RAW, Some(Protocol::from(i32::from(proto::ESP))))
                    .map_err(|e| err("raw ESP".into(), e))?
            }
        };
        let _ = sock.set_mark(self.mark);
        // Bursts at line rate outrun a descheduled worker: room for a few milliseconds.
        // The *Force options pass net.core.rmem_max (the daemon runs as root).
        let size: usize = 4 << 20;
        if nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::RcvBufForce, &size)
            .is_err()
        {
            let _ = sock.set_recv_buffer_size(size);
        }
        if nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::SndBufForce, &size)
            .is_err()
        {
            let _ = sock.set_send_buffer_size(size);
        }
        sock.set_nonblocking(true)
            .map_err(|e| err("nonblocking".into(), e))?;
        // Send side: UDP GSO (tried on first use, turned off if the kernel refuses).
        // Receive side: UDP GRO, datagrams of one flow arrive coalesced with their size.
        if matches!(kind, SockKind::Udp(_)) {
            let _ = nix::sys::socket::setsockopt(
                &sock,
                nix::sys::socket::sockopt::UdpGroSegment,
                &true,
            );
        }
        Ok(sock)
    }

    /// Sends a UDP datagram (an IKE message, already carrying the non-ESP marker on
    /// the NAT-T port, as `ikev2`'s `Action::Send` gives it) from the encapsulation
    /// socket bound to `local` to `peer`.
    pub fn send_udp(&self, local: SocketAddr, peer: SocketAddr, datagram: &[u8]) -> io::Result<()> {
        let sock = {
            let socks = self
                .sockets
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?;
            socks.get(&SockKind::Udp(local)).cloned()
        };
        let sock = sock.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no UDP socket on {local}"))
        })?;
        sock.tx().send_to(datagram, &peer.into()).map(|_| ())
    }
}

/// The standard-library form of a received datagram's source address.
pub(super) fn sockaddr_to_std(a: SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4(std::net::SocketAddrV4::new(
            v4.ip(),
            v4.port(),
        )));
    }
    a.as_sockaddr_in6().map(|v6| {
        SocketAddr::V6(std::net::SocketAddrV6::new(
            v6.ip(),
            v6.port(),
            0,
            v6.scope_id(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a classic BPF program of the opcodes used here over `pkt` (the
    /// kernel's semantics: an out-of-bounds load ends the program with 0).
    fn run(prog: &[nix::libc::sock_filter], pkt: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let word = |o: usize| -> Option<u32> {
            Some(u32::from_be_bytes(pkt.get(o..o + 4)?.try_into().ok()?))
        };
        while let Some(i) = prog.get(pc) {
            pc += 1;
            match i.code {
                BPF_LD_W_ABS => match word(i.k as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                BPF_LD_W_IND => match word(x as usize + i.k as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                BPF_LD_W_LEN => a = pkt.len() as u32,
                BPF_LDX_B_MSH => match pkt.get(i.k as usize) {
                    Some(b) => x = u32::from(b & 0x0f) * 4,
                    None => return 0,
                },
                BPF_ALU_MUL_K => a = a.wrapping_mul(i.k),
                BPF_ALU_RSH_K => a >>= i.k,
                BPF_ALU_MOD_K => a %= i.k,
                BPF_ALU_SUB_X => a = a.wrapping_sub(x),
                BPF_JGE_K => pc += usize::from(if a >= i.k { i.jt } else { i.jf }),
                BPF_JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                BPF_RET_K => return i.k,
                BPF_RET_A => return a,
                other => panic!("opcode {other:#x} not interpreted"),
            }
        }
        panic!("program fell off its end")
    }

    fn esp(spi: u32) -> Vec<u8> {
        let mut d = spi.to_be_bytes().to_vec();
        d.extend_from_slice(&[0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd]);
        d
    }

    const SPIS: [u32; 8] = [
        0x0000_a001,
        0x0000_b001,
        0xc000_0a01,
        0xc000_0a02,
        0x100,
        0x200,
        0xffff_ffff,
        0x1234_5678,
    ];

    #[test]
    fn owner_spreads_sequential_and_round_spis() {
        for n in [2usize, 3, 4] {
            let seq: std::collections::HashSet<_> =
                (0..64u32).map(|i| owner(0xc000_0000 + i, n)).collect();
            let round: std::collections::HashSet<_> =
                (0..64u32).map(|i| owner(i << 8, n)).collect();
            assert_eq!(seq.len(), n, "sequential SPIs over {n} workers");
            assert_eq!(
                round.len(),
                n,
                "SPIs that are multiples of 256 over {n} workers"
            );
        }
        assert_eq!(owner(0x1234, 1), 0);
    }

    #[test]
    fn udp_steering_program_picks_the_owner() {
        for n in [2usize, 3, 4, 8] {
            let mut prog = bpf_owner(bpf(BPF_LD_W_ABS, 0, 0, 0), n).to_vec();
            prog.push(bpf(BPF_RET_A, 0, 0, 0));
            for spi in SPIS {
                assert_eq!(
                    run(&prog, &esp(spi)) as usize,
                    owner(spi, n),
                    "{spi:#x} / {n}"
                );
            }
            // IKE (non-ESP marker), keepalives and runts go to worker 0
            assert_eq!(run(&prog, &[0, 0, 0, 0, 1, 2, 3]), 0);
            assert_eq!(run(&prog, &[0xff]), 0);
        }
    }

    #[test]
    fn raw_filters_keep_exactly_the_owned_spis() {
        for n in [2usize, 3] {
            for v4 in [true, false] {
                let progs: Vec<_> = (0..n).map(|k| raw_filter(v4, k, n)).collect();
                for spi in SPIS {
                    let mut pkt = if v4 {
                        // IPv4 header with 4 bytes of options (IHL 6), then ESP
                        let mut h = vec![0x46u8];
                        h.extend_from_slice(&[0; 23]);
                        h
                    } else {
                        Vec::new()
                    };
                    pkt.extend_from_slice(&esp(spi));
                    let keepers: Vec<usize> =
                        (0..n).filter(|&k| run(&progs[k], &pkt) != 0).collect();
                    assert_eq!(keepers, vec![owner(spi, n)], "{spi:#x} v4={v4} n={n}");
                }
                // too short for an ESP header: worker 0 alone (it counts it)
                let runt: Vec<u8> = if v4 {
                    let mut h = vec![0x45u8];
                    h.extend_from_slice(&[0; 19]);
                    h.extend_from_slice(&[1, 2, 3]);
                    h
                } else {
                    vec![1, 2, 3]
                };
                let keepers: Vec<usize> = (0..n).filter(|&k| run(&progs[k], &runt) != 0).collect();
                assert_eq!(keepers, vec![0], "v4={v4} n={n}");
            }
        }
    }
}
