//! The outbound worker: TUN queue `k` in, ESP out. Each pass reads up to a
//! batch of TUN frames and, for each read, goes through named steps:
//! [`classify`] (SPD lookup, MTU rules: fragment or answer ICMP), [`seal_read`]
//! (the packets of the read grouped per SA, each group one batch on its path),
//! then [`send_batch`] (UDP GSO or `sendmmsg`) and [`OutWorker::report`]
//! (sequence numbers and paths for the status records).

use std::collections::HashMap;
use std::io::{self, IoSlice};
use std::net::IpAddr;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::socket::{
    sendmmsg, sendmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage,
};
use tracing::{debug, warn};

use esp::proto;
use esp::wire::fragment::fragment_v4;
use esp::wire::icmp::{emit_too_big, V6_MAX_ERROR_LEN};
use esp::wire::ip::IpPacket;

use super::sockets::{Sock, SockKind};
use super::status::note_path;
use super::{OutCmd, OutEntry, BUF};
use crate::config::ModeKind;
use crate::defaults;
use crate::path::{SealError, SealJob};
use crate::sa::SaDirection;
use crate::stats::{self, inc, GlobalCounters};
use crate::tun::{Tun, TunReader, TunWriter};
use esp::{EncapError, Sealed};

const TUN_TOKEN: Token = Token(usize::MAX);

/// Most destinations remembered for the once-a-second acquire reports.
const ACQUIRE_MEMORY: usize = 4096;

/// Where the payload of a packet to seal is: packet `i` of the last TUN read, or
/// fragment `i` of this read's fragments.
#[derive(Clone, Copy)]
enum Src {
    Read(usize),
    Frag(usize),
}

/// One packet to seal: entry, source, payload range in the source, next header,
/// inner length (for the byte counters).
struct Item {
    ix: usize,
    src: Src,
    payload: Range<usize>,
    nh: u8,
    len: usize,
}

/// A sealed datagram waiting to be sent: (entry index, buffer index, length).
type Ready = (usize, usize, usize);

/// Start-on-traffic reports (IKE `start_action = trap`).
#[derive(Default)]
struct Acquire {
    sink: Option<Sender<(IpAddr, IpAddr)>>,
    /// When each destination was last reported.
    seen: HashMap<IpAddr, Instant>,
}

impl Acquire {
    /// Reports a packet that matched no SA, at most once a second per destination.
    fn report(&mut self, src: IpAddr, dst: IpAddr) {
        let Some(tx) = &self.sink else {
            return;
        };
        let now = Instant::now();
        let due = self
            .seen
            .get(&dst)
            .is_none_or(|t| now.duration_since(*t) >= Duration::from_secs(1));
        if due && self.seen.len() < ACQUIRE_MEMORY {
            self.seen.insert(dst, now);
            let _ = tx.send((src, dst));
        }
    }
}

/// An outbound worker's state, kept across passes (buffers are reused).
struct OutWorker<'a> {
    tun: &'a Tun,
    g: &'a GlobalCounters,
    entries: Vec<Arc<OutEntry>>,
    /// The entry the last packet matched (tried first).
    last: usize,
    reader: TunReader,
    icmp_out: TunWriter,
    icmp_buf: Vec<u8>,
    /// Datagram buffers; `ready` names the filled ones.
    bufs: Vec<Vec<u8>>,
    ready: Vec<Ready>,
    items: Vec<Item>,
    frags: Vec<Vec<u8>>,
    results: Vec<Result<Sealed, SealError>>,
    /// Entries that sealed in this pass (their counters are reported after it).
    touched: Vec<usize>,
    acquire: Acquire,
}

/// Runs outbound worker on TUN queue `tun` until `stop`.
pub(super) fn run(tun: &Tun, rx: Receiver<OutCmd>, g: &GlobalCounters, stop: &AtomicBool) {
    let Ok(mut poll) = Poll::new() else {
        warn!("outbound worker: cannot create poller");
        return;
    };
    let fd = tun.raw_fd();
    if poll
        .registry()
        .register(&mut SourceFd(&fd), TUN_TOKEN, Interest::READABLE)
        .is_err()
    {
        warn!("outbound worker: cannot watch the TUN device");
        return;
    }
    let mut events = Events::with_capacity(4);
    let timeout = Some(Duration::from_millis(u64::from(defaults::WORKER_POLL_MS)));
    let mut w = OutWorker::new(tun, g);
    while !stop.load(Ordering::Relaxed) {
        w.apply_commands(&rx);
        if w.pass() {
            let _ = poll.poll(&mut events, timeout);
        }
    }
}

impl<'a> OutWorker<'a> {
    fn new(tun: &'a Tun, g: &'a GlobalCounters) -> Self {
        OutWorker {
            tun,
            g,
            entries: Vec::new(),
            last: 0,
            reader: TunReader::default(),
            icmp_out: TunWriter::default(),
            icmp_buf: vec![0u8; V6_MAX_ERROR_LEN],
            bufs: (0..defaults::BATCH).map(|_| vec![0u8; BUF]).collect(),
            ready: Vec::with_capacity(defaults::BATCH),
            items: Vec::with_capacity(128),
            frags: Vec::new(),
            results: Vec::with_capacity(defaults::BATCH),
            touched: Vec::new(),
            acquire: Acquire::default(),
        }
    }

    /// Applies the SA changes queued since the last pass.
    fn apply_commands(&mut self, rx: &Receiver<OutCmd>) {
        if self.acquire.seen.len() >= ACQUIRE_MEMORY {
            self.acquire.seen.clear();
        }
        for cmd in rx.try_iter() {
            match cmd {
                OutCmd::Install(e) => self.entries.push(e),
                OutCmd::Prefer(spi) => {
                    // A rekeyed CHILD_SA takes the outbound traffic of its selectors.
                    if let Some(i) = self.entries.iter().position(|e| e.spec.inbound.spi == spi) {
                        let e = self.entries.remove(i);
                        self.entries.insert(0, e);
                        self.last = 0;
                    }
                }
                OutCmd::Replace(e) => {
                    if let Some(slot) = self
                        .entries
                        .iter_mut()
                        .find(|x| x.spec.inbound.spi == e.spec.inbound.spi)
                    {
                        *slot = e;
                    }
                }
                OutCmd::Remove(spi) => self.entries.retain(|e| e.spec.inbound.spi != spi),
                OutCmd::AcquireSink(tx) => self.acquire.sink = Some(tx),
            }
        }
    }

    /// One pass: reads and seals until a batch is ready or the queue is empty,
    /// then sends. Returns true when the TUN queue was drained (time to wait).
    fn pass(&mut self) -> bool {
        self.ready.clear();
        self.touched.clear();
        let mut drained = false;
        let mut n_read = 0;
        while self.ready.len() < defaults::BATCH && n_read < defaults::BATCH {
            let frames = match self.reader.read(self.tun) {
                Ok(n) => n,
                Err(e) => {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        debug!(error = %e, "TUN read");
                        inc(&self.g.io_errors);
                    }
                    drained = true;
                    break;
                }
            };
            n_read += 1;
            self.classify(frames);
            self.seal_read();
        }
        if !self.icmp_out.is_empty() && self.icmp_out.flush(self.tun).is_err() {
            inc(&self.g.io_errors);
        }
        if !self.ready.is_empty() {
            send_batch(&self.entries, &self.bufs, &self.ready, self.g);
        }
        self.report();
        drained
    }

    /// Step 1: the SPD lookup and MTU rules for every packet of the last read;
    /// fills `items` (fragments into `frags`, ICMP answers into `icmp_out`).
    fn classify(&mut self, frames: usize) {
        self.items.clear();
        self.frags.clear();
        for fi in 0..frames {
            let pkt = self.reader.packet(fi);
            let Ok(ip) = IpPacket::new_checked(pkt) else {
                inc(&self.g.malformed);
                continue;
            };
            let (src, dst) = (ip.src(), ip.dst());
            let Some(ix) = lookup(&self.entries, self.last, src, dst) else {
                inc(&self.g.no_policy);
                self.acquire.report(src, dst);
                continue;
            };
            self.last = ix;
            let Some(e) = self.entries.get(ix) else {
                continue;
            };
            let pkt = pkt.get(..ip.total_len()).unwrap_or(pkt);
            if pkt.len() > e.inner_mtu {
                too_big(
                    e,
                    ix,
                    pkt,
                    &mut self.frags,
                    &mut self.items,
                    TooBigOut {
                        writer: &mut self.icmp_out,
                        buf: &mut self.icmp_buf,
                    },
                );
                continue;
            }
            if let Some((payload, nh)) = inner_payload(e, pkt) {
                self.items.push(Item {
                    ix,
                    src: Src::Read(fi),
                    payload,
                    nh,
                    len: pkt.len(),
                });
            }
        }
    }

    /// Step 2: seals the items of the last read, one batch per SA (one sequence
    /// number reservation, or one driver call, per SA and read), into the free
    /// datagram buffers; the sealed ones join `ready`.
    fn seal_read(&mut self) {
        // stable: each SA's packets keep their order (and so their numbers)
        self.items.sort_by_key(|it| it.ix);
        let mut next_buf = self.ready.last().map_or(0, |r| r.1 + 1);
        let mut start = 0;
        while start < self.items.len() {
            let ix = self.items[start].ix;
            let end = start
                + self.items[start..]
                    .iter()
                    .take_while(|it| it.ix == ix)
                    .count();
            if self.bufs.len() < next_buf + (end - start) {
                self.bufs
                    .resize_with(next_buf + (end - start), || vec![0u8; BUF]);
            }
            if let Some(e) = self.entries.get(ix) {
                let sources = Sources {
                    reader: &self.reader,
                    frags: &self.frags,
                };
                let used = seal_group(
                    e,
                    &self.items[start..end],
                    sources,
                    &mut self.bufs[next_buf..],
                    &mut self.results,
                );
                for (k, r) in self.results.drain(..).enumerate() {
                    match r {
                        Ok(sealed) => {
                            if sealed.soft_expired {
                                e.notices
                                    .report(&e.spec, SaDirection::Out, e.path.lifetime());
                            }
                            self.ready.push((ix, next_buf + k, sealed.len))
                        }
                        Err(err) => {
                            if matches!(
                                err,
                                SealError::Encap(
                                    EncapError::HardLifetime | EncapError::RekeyRequired
                                )
                            ) {
                                inc(&e.counters.out_lifetime_drops);
                            }
                            inc(&e.counters.out_errors);
                            debug!(spi = format_args!("{:#010x}", e.spec.outbound.spi), error = %err, "seal failed");
                        }
                    }
                }
                next_buf += used;
                if !self.touched.contains(&ix) {
                    self.touched.push(ix);
                }
            }
            start = end;
        }
    }

    /// Step 4: the next sequence number and path of every SA that sealed.
    fn report(&self) {
        for e in self.touched.iter().filter_map(|&ix| self.entries.get(ix)) {
            match e.path.next_seq() {
                // several workers report: the counter only moves forward
                Some(n) => {
                    e.counters.out_next_seq.fetch_max(n.0, Ordering::Relaxed);
                }
                None => e.counters.out_next_seq.store(0, Ordering::Relaxed),
            }
            note_path(&e.counters, e.path.kind());
        }
    }
}

/// The entry whose selectors take a packet from `src` to `dst` (the one that
/// took the last packet first: flows come in runs).
fn lookup(entries: &[Arc<OutEntry>], last: usize, src: IpAddr, dst: IpAddr) -> Option<usize> {
    if entries
        .get(last)
        .is_some_and(|e| e.spec.matches_outbound(src, dst))
    {
        return Some(last);
    }
    entries
        .iter()
        .position(|e| e.spec.matches_outbound(src, dst))
}

/// Where ICMP answers go: the queue back into the TUN device and a scratch buffer.
struct TooBigOut<'b> {
    writer: &'b mut TunWriter,
    buf: &'b mut [u8],
}

/// A packet too big for the tunnel: fragmented (IPv4 without DF), each fragment
/// an item, or answered with ICMP "too big".
fn too_big(
    e: &OutEntry,
    ix: usize,
    pkt: &[u8],
    frags: &mut Vec<Vec<u8>>,
    items: &mut Vec<Item>,
    icmp: TooBigOut<'_>,
) {
    let mtu = e.inner_mtu;
    let first = frags.len();
    if fragment_v4(pkt, mtu, |f| frags.push(f.to_vec())).is_ok() {
        inc(&e.counters.fragmented);
        for (j, f) in frags.iter().enumerate().skip(first) {
            if let Some((payload, nh)) = inner_payload(e, f) {
                items.push(Item {
                    ix,
                    src: Src::Frag(j),
                    payload,
                    nh,
                    len: f.len(),
                });
            }
        }
        return;
    }
    frags.truncate(first);
    match emit_too_big(pkt, u16::try_from(mtu).unwrap_or(u16::MAX), icmp.buf) {
        Ok(n) => {
            inc(&e.counters.icmp_too_big);
            icmp.writer.push(&icmp.buf[..n]);
        }
        Err(_) => inc(&e.counters.out_errors),
    }
}

/// The ESP payload of inner packet `pkt` on `e`: its range in `pkt` and next
/// header; None (counted) when transport mode cannot carry it.
fn inner_payload(e: &OutEntry, pkt: &[u8]) -> Option<(Range<usize>, u8)> {
    let ip = IpPacket::new_checked(pkt).ok()?;
    match e.spec.mode {
        ModeKind::Tunnel => Some((
            0..ip.total_len(),
            if ip.is_v4() { proto::IPV4 } else { proto::IPV6 },
        )),
        ModeKind::Transport => {
            // Transport mode keeps no inner IP header, so IP fragments (their offsets live
            // in that header) and IPv6 extension headers are not carried: counted and dropped.
            let v6_ext = !ip.is_v4()
                && matches!(
                    ip.next_header(),
                    proto::IPV6_HOP_BY_HOP
                        | proto::IPV6_ROUTING
                        | proto::IPV6_FRAGMENT
                        | proto::IPV6_DEST_OPTS
                );
            if ip.is_v4_fragment() || v6_ext {
                inc(&e.counters.out_errors);
                return None;
            }
            Some((ip.header_len()..ip.total_len(), ip.next_header()))
        }
    }
}

/// Where item payloads are read from.
#[derive(Clone, Copy)]
struct Sources<'s> {
    reader: &'s TunReader,
    frags: &'s [Vec<u8>],
}

impl Sources<'_> {
    fn payload(&self, it: &Item) -> Option<&[u8]> {
        let src: &[u8] = match it.src {
            Src::Read(fi) => self.reader.packet(fi),
            Src::Frag(j) => self.frags.get(j)?,
        };
        src.get(it.payload.clone())
    }
}

/// Seals the items of one SA as one batch into `bufs` (in order), appending one
/// result per sealed job to `results`; counts what it sealed. Returns how many
/// buffers it used (result `k` is in buffer `k`).
fn seal_group(
    e: &OutEntry,
    group: &[Item],
    sources: Sources<'_>,
    bufs: &mut [Vec<u8>],
    results: &mut Vec<Result<Sealed, SealError>>,
) -> usize {
    let mut jobs = Vec::with_capacity(group.len());
    let mut lens = Vec::with_capacity(group.len());
    let mut free = bufs.iter_mut();
    for it in group {
        let Some(payload) = sources.payload(it) else {
            inc(&e.counters.out_errors);
            continue;
        };
        let Some(out) = free.next() else {
            inc(&e.counters.out_errors);
            continue;
        };
        jobs.push(SealJob {
            payload,
            next_header: it.nh,
            out,
        });
        lens.push(it.len);
    }
    let used = jobs.len();
    results.clear();
    if let Err(err) = e.path.seal_batch(&mut jobs, results) {
        // a fault of the whole batch: the card under offload = card
        warn!(spi = format_args!("{:#010x}", e.spec.outbound.spi), error = %err, packets = used, "card batch failed");
        stats::add(&e.counters.out_errors, used as u64);
        results.clear();
        return used;
    }
    for (r, len) in results.iter().zip(&lens) {
        if r.is_ok() {
            inc(&e.counters.out_packets);
            stats::add(&e.counters.out_bytes, *len as u64);
        }
    }
    used
}

/// Sends a group of datagrams with UDP GSO (RFC-less Linux `UDP_SEGMENT`): runs
/// to one destination of equal-size datagrams (the last may be shorter) leave in one
/// `sendmsg`, and the kernel cuts them apart after the stack. Returns false (nothing
/// sent) when the kernel refuses GSO, which then stays off for this socket.
fn send_gso(entries: &[Arc<OutEntry>], bufs: &[Vec<u8>], group: &[Ready], sock: &Sock) -> bool {
    let mut i = 0;
    while i < group.len() {
        let (ix0, _, seg) = group[i];
        let dest = &entries[ix0].dest;
        let max = (60_000 / seg.max(1)).clamp(1, 64);
        let mut j = i + 1;
        // One SA per run: the receiver steers a coalesced run by its first SPI.
        while j < group.len()
            && j - i < max
            && group[j - 1].2 == seg
            && group[j].2 <= seg
            && group[j].0 == ix0
        {
            j += 1;
        }
        let iov: Vec<IoSlice<'_>> = group[i..j]
            .iter()
            .map(|&(_, b, l)| IoSlice::new(&bufs[b][..l]))
            .collect();
        let seg16 = u16::try_from(seg).unwrap_or(u16::MAX);
        let cmsg = [ControlMessage::UdpGsoSegments(&seg16)];
        let cm: &[ControlMessage<'_>] = if j - i > 1 { &cmsg } else { &[] };
        loop {
            match sendmsg(
                sock.tx().as_raw_fd(),
                &iov,
                cm,
                MsgFlags::empty(),
                Some(dest),
            ) {
                Ok(_) => break,
                Err(nix::errno::Errno::EAGAIN) => std::thread::yield_now(),
                Err(e) if i == 0 && j - i > 1 => {
                    debug!(error = %e, "UDP GSO refused; sending datagrams one by one");
                    sock.gso.store(false, Ordering::Relaxed);
                    return false;
                }
                Err(e) => {
                    debug!(error = %e, "sendmsg");
                    break;
                }
            }
        }
        i = j;
    }
    true
}

fn send_batch(entries: &[Arc<OutEntry>], bufs: &[Vec<u8>], ready: &[Ready], g: &GlobalCounters) {
    // One sendmmsg per socket, in the order packets were read.
    let mut start = 0;
    while start < ready.len() {
        let sock = &entries[ready[start].0].sock;
        let mut end = start + 1;
        while end < ready.len() && Arc::ptr_eq(&entries[ready[end].0].sock, sock) {
            end += 1;
        }
        let group = &ready[start..end];
        start = end;
        if matches!(sock.kind, SockKind::Udp(_))
            && sock.gso.load(Ordering::Relaxed)
            && send_gso(entries, bufs, group, sock)
        {
            continue;
        }
        let slices: Vec<[IoSlice<'_>; 1]> = group
            .iter()
            .map(|&(_, b, l)| [IoSlice::new(&bufs[b][..l])])
            .collect();
        let addrs: Vec<Option<SockaddrStorage>> = group
            .iter()
            .map(|&(ix, _, _)| Some(entries[ix].dest))
            .collect();
        let mut sent = 0;
        while sent < group.len() {
            let mut hdrs = MultiHeaders::<SockaddrStorage>::preallocate(group.len() - sent, None);
            match sendmmsg(
                sock.tx().as_raw_fd(),
                &mut hdrs,
                &slices[sent..],
                &addrs[sent..],
                [],
                MsgFlags::empty(),
            ) {
                Ok(r) => {
                    let n = r.count();
                    if n == 0 {
                        break;
                    }
                    sent += n;
                }
                Err(nix::errno::Errno::EAGAIN) => {
                    std::thread::yield_now();
                }
                Err(e) => {
                    debug!(error = %e, "sendmmsg");
                    stats::add(&g.io_errors, 1);
                    sent += 1; // skip the packet the kernel refused
                }
            }
        }
    }
}
