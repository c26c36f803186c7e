//! The inbound worker: the sockets of every encapsulation in, inner packets out
//! of TUN queue `k`. Each socket read goes through named steps: [`recv_batch`]
//! (`recvmmsg`, GRO segment sizes), [`InWorker::dispatch`] (each datagram's
//! kind: IKE to its sink, keepalives counted, ESP of this worker's SAs kept,
//! ESP of another worker's handed over), [`open_group`] (the datagrams of one
//! SA as one batch on its path) and [`deliver`] (transport header rebuilt,
//! selectors checked, queued for the TUN device).

use std::collections::{HashMap, HashSet};
use std::io::IoSliceMut;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::socket::{recvmmsg, ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrStorage};
use socket2::Socket;
use tracing::{debug, warn};

use esp::wire::esp::EspPacket;
use esp::wire::ip::{IpPacket, IpRepr};
use esp::wire::ipv4::Ipv4Packet;
use esp::wire::udp::{classify, EncapKind};
use esp::{proto, DecapError, Opened};

use super::sockets::{owner, sockaddr_to_std, Sock, SockKind};
use super::{IkeDatagram, InCmd, InEntry, InLink, BUF};
use crate::config::ModeKind;
use crate::defaults;
use crate::path::OpenError;
use crate::sa::SaDirection;
use crate::stats::{self, inc, GlobalCounters, SaCounters};
use crate::tun::{Tun, TunWriter};

/// The poller token of the command-channel waker.
pub(super) const WAKE_TOKEN: Token = Token(usize::MAX - 1);

/// Largest read (a GRO-coalesced run of datagrams).
const READ_BUF: usize = 65536;

/// An inbound worker's place among the others.
pub(super) struct Place {
    /// This worker's index.
    pub(super) index: usize,
    /// Inbound workers in all.
    pub(super) workers: usize,
    /// The way to each of them (for hand-overs).
    pub(super) peers: Vec<InLink>,
}

/// One `recvmmsg` entry: bytes, sender, GRO segment size (0: one datagram).
#[derive(Clone, Copy)]
struct Received {
    len: usize,
    from: Option<SocketAddr>,
    segment: usize,
}

/// An inbound worker's state, kept across passes (buffers are reused).
struct InWorker<'a> {
    place: Place,
    tun: &'a Tun,
    g: &'a GlobalCounters,
    poll: Poll,
    socks: Vec<Arc<Sock>>,
    sas: HashMap<u32, InEntry>,
    bufs: Vec<Vec<u8>>,
    recvd: Vec<Received>,
    scratch: Vec<u8>,
    writer: TunWriter,
    ike: Option<Sender<IkeDatagram>>,
    /// SPIs whose datagrams this worker handed over (logged once each).
    handed: HashSet<u32>,
    results: Vec<Result<Opened, OpenError>>,
}

/// Runs inbound worker `place.index` until `stop`; inner packets go to `tun`.
pub(super) fn run(
    place: Place,
    tun: &Tun,
    poll: Poll,
    rx: Receiver<InCmd>,
    g: &GlobalCounters,
    stop: &AtomicBool,
) {
    let mut events = Events::with_capacity(16);
    let timeout = Some(Duration::from_millis(u64::from(defaults::WORKER_POLL_MS)));
    let mut w = InWorker {
        place,
        tun,
        g,
        poll,
        socks: Vec::new(),
        sas: HashMap::new(),
        bufs: (0..defaults::BATCH).map(|_| vec![0u8; READ_BUF]).collect(),
        recvd: Vec::with_capacity(defaults::BATCH),
        scratch: vec![0u8; BUF],
        writer: TunWriter::default(),
        ike: None,
        handed: HashSet::new(),
        results: Vec::with_capacity(defaults::BATCH),
    };
    while !stop.load(Ordering::Relaxed) {
        w.apply_commands(&rx);
        let mut busy = false;
        for i in 0..w.socks.len() {
            if let Some(s) = w.socks.get(i).cloned() {
                busy |= w.receive(&s);
            }
        }
        w.flush();
        if !busy {
            let _ = w.poll.poll(&mut events, timeout);
        }
    }
}

impl InWorker<'_> {
    /// Applies the commands queued since the last pass.
    fn apply_commands(&mut self, rx: &Receiver<InCmd>) {
        for cmd in rx.try_iter() {
            match cmd {
                InCmd::IkeSink(tx) => self.ike = Some(tx),
                InCmd::Install(spi, e) => {
                    self.sas.insert(spi, *e);
                }
                InCmd::Remove(spi) => {
                    self.sas.remove(&spi);
                }
                InCmd::AddSocket(s) => self.watch(s),
                InCmd::Datagram(kind, mut d) => self.open_handed(kind, &mut d),
            }
        }
    }

    /// Starts reading this worker's socket of `s`.
    fn watch(&mut self, s: Arc<Sock>) {
        let Some(sock) = s.rx.get(self.place.index) else {
            return;
        };
        let fd = sock.as_raw_fd();
        if self
            .poll
            .registry()
            .register(
                &mut SourceFd(&fd),
                Token(self.socks.len()),
                Interest::READABLE,
            )
            .is_ok()
        {
            self.socks.push(s);
        }
    }

    fn flush(&mut self) {
        if self.writer.flush(self.tun).is_err() {
            inc(&self.g.io_errors);
        }
    }

    /// Reads one batch from this worker's socket of `s` and handles it. Returns
    /// true when the batch was full (more may be waiting).
    fn receive(&mut self, s: &Sock) -> bool {
        let Some(sock) = s.rx.get(self.place.index) else {
            return false;
        };
        recv_batch(sock, &mut self.bufs, &mut self.recvd, self.g);
        let full = self.recvd.len() == defaults::BATCH;
        self.dispatch(s.kind);
        self.flush();
        full
    }

    /// Sorts the datagrams of the last read: IKE and keepalives aside, ESP of
    /// another worker's SA handed over, the rest opened one batch per SA.
    fn dispatch(&mut self, kind: SockKind) {
        let InWorker {
            place,
            g,
            sas,
            bufs,
            recvd,
            scratch,
            writer,
            ike,
            handed,
            results,
            ..
        } = self;
        let mut pending: Vec<(u32, &mut [u8])> = Vec::with_capacity(recvd.len());
        for (buf, r) in bufs.iter_mut().zip(recvd.iter()) {
            let n = r.len.min(buf.len());
            // A GRO-coalesced read holds several datagrams of `segment` bytes (the
            // last may be shorter).
            let step = if r.segment > 0 { r.segment } else { n.max(1) };
            if n == 0 {
                inc(&g.malformed);
            }
            let mut rest: &mut [u8] = &mut buf[..n];
            while !rest.is_empty() {
                let take = step.min(rest.len());
                let (d, tail) = std::mem::take(&mut rest).split_at_mut(take);
                rest = tail;
                let Some(at) = esp_offset(kind, d, r.from, ike.as_ref(), g) else {
                    continue;
                };
                let Some(spi) = spi_at(d, at, g) else {
                    continue;
                };
                if sas.contains_key(&spi) {
                    if let Some(esp) = d.get_mut(at..) {
                        pending.push((spi, esp));
                    }
                    continue;
                }
                let o = owner(spi, place.workers);
                if o == place.index {
                    inc(&g.unknown_spi);
                    continue;
                }
                // not this worker's SA: hand the datagram to its owner
                if handed.insert(spi) {
                    debug!(
                        spi = format_args!("{spi:#010x}"),
                        worker = place.index,
                        owner = o,
                        "ESP reached a worker that does not own its SA; handed over"
                    );
                }
                let sent = place
                    .peers
                    .get(o)
                    .map(|p| p.send(InCmd::Datagram(kind, d.to_vec())));
                if !matches!(sent, Some(Ok(()))) {
                    inc(&g.io_errors);
                }
            }
        }
        // stable: each SA's datagrams keep their order
        pending.sort_by_key(|p| p.0);
        let mut runs = pending.into_iter().peekable();
        let mut group: Vec<&mut [u8]> = Vec::new();
        while let Some((spi, d)) = runs.next() {
            group.clear();
            group.push(d);
            while let Some((_, d)) = runs.next_if(|(s, _)| *s == spi) {
                group.push(d);
            }
            if let Some(e) = sas.get_mut(&spi) {
                open_group(e, &mut group, results, scratch, writer);
            }
        }
    }

    /// A datagram another worker handed over: this one owns its SA (or nobody does).
    fn open_handed(&mut self, kind: SockKind, d: &mut [u8]) {
        let Some(at) = esp_offset(kind, d, None, None, self.g) else {
            return;
        };
        let Some(spi) = spi_at(d, at, self.g) else {
            return;
        };
        let Some(esp) = d.get_mut(at..) else {
            return;
        };
        match self.sas.get_mut(&spi) {
            Some(e) => open_group(
                e,
                &mut [esp],
                &mut self.results,
                &mut self.scratch,
                &mut self.writer,
            ),
            None => inc(&self.g.unknown_spi),
        }
    }
}

/// Step 1: one `recvmmsg` into `bufs`; what arrived goes to `recvd`.
fn recv_batch(sock: &Socket, bufs: &mut [Vec<u8>], recvd: &mut Vec<Received>, g: &GlobalCounters) {
    recvd.clear();
    let mut slices: Vec<[IoSliceMut<'_>; 1]> = bufs
        .iter_mut()
        .map(|b| [IoSliceMut::new(b.as_mut_slice())])
        .collect();
    // Fresh headers per call: the kernel shrinks each header's control length to
    // what it wrote, and reused headers would then truncate the GRO size of later reads.
    let mut hdrs =
        MultiHeaders::<SockaddrStorage>::preallocate(defaults::BATCH, Some(nix::cmsg_space!(i32)));
    match recvmmsg(
        sock.as_raw_fd(),
        &mut hdrs,
        slices.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    ) {
        Ok(r) => recvd.extend(r.map(|m| {
            let segment = m
                .cmsgs()
                .ok()
                .and_then(|mut c| {
                    c.find_map(|x| match x {
                        ControlMessageOwned::UdpGroSegments(n) => usize::try_from(n).ok(),
                        _ => None,
                    })
                })
                .unwrap_or(0);
            Received {
                len: m.bytes,
                from: m.address.and_then(sockaddr_to_std),
                segment,
            }
        })),
        Err(nix::errno::Errno::EAGAIN) => {}
        Err(e) => {
            debug!(error = %e, "recvmmsg");
            inc(&g.io_errors);
        }
    }
}

/// Step 2: where ESP starts in datagram `d` of a socket of `kind`, or None when
/// it is no ESP (handled here: IKE to `ike`, keepalives and the rest counted).
fn esp_offset(
    kind: SockKind,
    d: &[u8],
    from: Option<SocketAddr>,
    ike: Option<&Sender<IkeDatagram>>,
    g: &GlobalCounters,
) -> Option<usize> {
    match kind {
        // RFC 3948: a single 0xff byte is a NAT keepalive; four zero bytes (the
        // non-ESP marker) start an IKE message; anything else is ESP.
        SockKind::Udp(local) => match classify(d) {
            EncapKind::Keepalive => {
                inc(&g.keepalives);
                None
            }
            EncapKind::Ike => {
                if let (Some(tx), Some(peer), true) = (ike, from, d.len() > 4) {
                    let msg = IkeDatagram {
                        local,
                        peer,
                        message: d.to_vec(),
                    };
                    if tx.send(msg).is_ok() {
                        return None;
                    }
                }
                inc(&g.ike_unhandled);
                None
            }
            EncapKind::Esp | EncapKind::Invalid => Some(0),
        },
        // IPv4 raw sockets see the IP header first, IPv6 ones the ESP header.
        SockKind::Raw4 => match Ipv4Packet::new_checked(d) {
            Ok(p) => Some(p.header_len()),
            Err(_) => {
                inc(&g.malformed);
                None
            }
        },
        SockKind::Raw6 => Some(0),
    }
}

/// The SPI of the ESP packet at `at` in `d`; None (counted) when too short.
fn spi_at(d: &[u8], at: usize, g: &GlobalCounters) -> Option<u32> {
    let spi = d
        .get(at..)
        .and_then(|e| EspPacket::new_checked(e).ok())
        .map(|e| e.spi().0);
    if spi.is_none() {
        inc(&g.malformed);
    }
    spi
}

/// Step 3: opens the datagrams of one SA as one batch and delivers each.
fn open_group(
    e: &mut InEntry,
    group: &mut [&mut [u8]],
    results: &mut Vec<Result<Opened, OpenError>>,
    scratch: &mut [u8],
    writer: &mut TunWriter,
) {
    results.clear();
    if let Err(err) = e.path.open_batch(group, results) {
        // a fault of the whole batch: the card under offload = card
        warn!(spi = format_args!("{:#010x}", e.spec.inbound.spi), error = %err, packets = group.len(), "card batch failed");
        stats::add(&e.counters.in_errors, group.len() as u64);
        return;
    }
    for (d, r) in group.iter().zip(results.drain(..)) {
        match r {
            Ok(o) => {
                if o.soft_expired {
                    e.notices
                        .report(&e.spec, SaDirection::In, e.path.lifetime());
                }
                deliver(e, d, &o, scratch, writer)
            }
            Err(err) => count_open_error(&e.counters, &err),
        }
    }
}

/// Counts a datagram that did not open.
fn count_open_error(c: &SaCounters, err: &OpenError) {
    match err {
        OpenError::Decap(DecapError::AuthFailed) => inc(&c.auth_failures),
        OpenError::Decap(DecapError::Replayed(_) | DecapError::TooOld(_) | DecapError::SeqZero) => {
            inc(&c.replay_drops)
        }
        OpenError::Decap(DecapError::DummyPacket) => {}
        OpenError::Decap(DecapError::HardLifetime) => {
            inc(&c.in_lifetime_drops);
            inc(&c.in_errors)
        }
        OpenError::Decap(_) => inc(&c.in_errors),
        OpenError::Card(err) => {
            debug!(error = %err, "card refused a datagram");
            inc(&c.in_errors)
        }
    }
}

/// Step 4: the inner packet of an opened datagram `esp` (the IP header rebuilt
/// in `scratch` in transport mode), checked against the SA's selectors and
/// queued for the TUN device.
fn deliver(e: &InEntry, esp: &[u8], o: &Opened, scratch: &mut [u8], out: &mut TunWriter) {
    let (spec, c) = (&e.spec, &e.counters);
    let Some(payload) = esp.get(o.payload.clone()) else {
        inc(&c.in_errors);
        return;
    };
    let pkt: &[u8] = match spec.mode {
        ModeKind::Tunnel if matches!(o.next_header, proto::IPV4 | proto::IPV6) => payload,
        ModeKind::Tunnel => {
            inc(&c.in_errors);
            return;
        }
        ModeKind::Transport => {
            let repr = IpRepr {
                src: spec.remote_addr,
                dst: spec.local_addr,
                protocol: o.next_header,
                payload_len: payload.len(),
                hop_limit: 64,
                // the sender's packet fitted its path
                dont_fragment: true,
            };
            let Some(pkt) = rebuild(&repr, payload, scratch) else {
                inc(&c.in_errors);
                return;
            };
            pkt
        }
    };
    let Ok(ip) = IpPacket::new_checked(pkt) else {
        inc(&c.in_errors);
        return;
    };
    if !spec.matches_inbound(ip.src(), ip.dst()) {
        inc(&c.selector_drops);
        return;
    }
    let pkt = pkt.get(..ip.total_len()).unwrap_or(pkt);
    out.push(pkt);
    inc(&c.in_packets);
    stats::add(&c.in_bytes, pkt.len() as u64);
}

/// A transport-mode packet: header `repr` then `payload`, written into `scratch`.
fn rebuild<'s>(repr: &IpRepr, payload: &[u8], scratch: &'s mut [u8]) -> Option<&'s [u8]> {
    let hl = repr.emit(scratch).ok()?;
    scratch
        .get_mut(hl..hl + payload.len())?
        .copy_from_slice(payload);
    scratch.get(..hl + payload.len())
}
