//! Where the ESP layer of one SA runs: the card or software. The data path
//! talks only to [`OutboundPath`] and [`InboundPath`]; [`select`] applies the
//! offload policy (`auto | card | software`) per SA.
//!
//! The software path is the `esp` crate's SA. A card path comes from the
//! driver's offload/fallback layer when a card backend is configured.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

use esp::{
    DecapError, EncapError, InboundSa, LifetimeMeter, Opened, OutboundSa, SaConfig, Sealed, SeqNum,
    Spi,
};

use crate::card::{self, SharedEngine};
use crate::card_error::CardError;
use crate::config::OffloadPolicy;
use crate::sa::{ChildSaSpec, InstallError};
use crate::state::Gate;

/// Which engine carries an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// The software ESP path (`esp`).
    Software,
    /// The card (real or simulated).
    Card,
}

impl std::fmt::Display for PathKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PathKind::Software => "software",
            PathKind::Card => "card",
        })
    }
}

/// One packet of a batch to seal: its ESP payload and next header, and the
/// caller's buffer that its datagram (SPI .. ICV) is written into.
#[derive(Debug)]
pub struct SealJob<'a> {
    /// The inner packet (tunnel mode) or the transport payload.
    pub payload: &'a [u8],
    /// Next header for the ESP trailer.
    pub next_header: u8,
    /// Where the datagram goes (at least [`OutboundPath::datagram_len`] bytes).
    pub out: &'a mut [u8],
}

/// Why one packet of a batch was not sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The ESP layer refused it (rekey required, lifetime, buffer, ...).
    #[error(transparent)]
    Encap(#[from] EncapError),
    /// The card engine refused it.
    #[error(transparent)]
    Card(#[from] CardError),
}

/// Why one datagram of a batch was not opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The ESP layer refused it (authentication, replay, trailer, ...).
    #[error(transparent)]
    Decap(#[from] DecapError),
    /// The card engine refused it.
    #[error(transparent)]
    Card(#[from] CardError),
}

/// Seals outbound packets of one SA into ESP datagrams (SPI .. ICV). Shared by
/// every outbound worker (`&self`): a batch takes its sequence numbers in one
/// reservation, so no number is handed out twice, and nothing on the way takes a
/// lock (the card path serializes on the card itself).
pub trait OutboundPath: Send + Sync {
    /// Seals `jobs` in order, each into its own `out`, and appends one result per
    /// job to `results`. The `Err` is a fault of the whole batch (the card under
    /// `offload = card`); then no result is appended.
    fn seal_batch(
        &self,
        jobs: &mut [SealJob<'_>],
        results: &mut Vec<Result<Sealed, SealError>>,
    ) -> Result<(), CardError>;
    /// ESP header length (where the payload goes).
    fn header_len(&self) -> usize;
    /// Datagram length for a payload length.
    fn datagram_len(&self, payload_len: usize) -> usize;
    /// The next sequence number (for persisting; never reused).
    fn next_seq(&self) -> Option<SeqNum>;
    /// Which engine this is.
    fn kind(&self) -> PathKind;
    /// The SA's lifetime meter: every packet this path carried, whatever engine
    /// carried it. A sealed packet that reaches a soft limit has
    /// `soft_expired` set (once per SA); at a hard limit packets are refused
    /// (`EncapError::HardLifetime`; the last sequence number: `RekeyRequired`).
    fn lifetime(&self) -> &Arc<LifetimeMeter>;

    /// Seals one packet (a batch of one).
    fn seal(&self, payload: &[u8], next_header: u8, out: &mut [u8]) -> Result<Sealed, SealError> {
        let mut results = Vec::with_capacity(1);
        let mut job = [SealJob {
            payload,
            next_header,
            out,
        }];
        self.seal_batch(&mut job, &mut results)?;
        results
            .pop()
            .unwrap_or(Err(SealError::Card(CardError::ResultCount {
                sent: 1,
                got: 0,
            })))
    }
}

/// Opens inbound ESP datagrams of one SA, replay window included. Owned by one
/// inbound worker (the replay window has one writer).
pub trait InboundPath: Send {
    /// Checks and decrypts each datagram in place (the payload range of each
    /// result is in its datagram) and appends one result per datagram to
    /// `results`. The `Err` is a fault of the whole batch; then no result is appended.
    fn open_batch(
        &mut self,
        datagrams: &mut [&mut [u8]],
        results: &mut Vec<Result<Opened, OpenError>>,
    ) -> Result<(), CardError>;
    /// Which engine this is.
    fn kind(&self) -> PathKind;
    /// The SA's lifetime meter (see [`OutboundPath::lifetime`]; refused
    /// datagrams are `DecapError::HardLifetime`).
    fn lifetime(&self) -> &Arc<LifetimeMeter>;

    /// Opens one datagram (a batch of one).
    fn open(&mut self, datagram: &mut [u8]) -> Result<Opened, OpenError> {
        let mut results = Vec::with_capacity(1);
        self.open_batch(&mut [datagram], &mut results)?;
        results
            .pop()
            .unwrap_or(Err(OpenError::Card(CardError::ResultCount {
                sent: 1,
                got: 0,
            })))
    }
}

/// The software outbound half, shared by the workers: the counter is an atomic
/// (blocks are reserved with compare-and-swap, never past the last number the SA
/// may use) and each packet is sealed with `esp`'s `seal_at` at its reserved number.
/// The lifetimes are counted here, on the SA's own meter (shared by the workers).
#[derive(Debug)]
pub struct SoftOutbound {
    sa: OutboundSa,
    /// Next number to hand out; 0 = exhausted.
    next: AtomicU64,
    max: u64,
    life: Arc<LifetimeMeter>,
    /// Manual SAs: the durably reserved end ([`crate::state`]).
    gate: Option<Arc<Gate>>,
}

impl SoftOutbound {
    /// Wraps `sa`; its counter continues at `sa.next_seq()`, its lifetimes are
    /// counted on `sa.lifetime()`.
    pub fn new(sa: OutboundSa) -> Self {
        let max = esp::seq_last(sa.esn());
        let next = sa.next_seq().map_or(0, |s| s.0);
        let life = sa.lifetime().clone();
        SoftOutbound {
            sa,
            next: AtomicU64::new(next),
            max,
            life,
            gate: None,
        }
    }

    /// Never hands out a number at or past `gate`'s durable limit.
    pub fn with_gate(mut self, gate: Option<Arc<Gate>>) -> Self {
        self.gate = gate;
        self
    }
}

impl SoftOutbound {
    /// Reserves `count` consecutive sequence numbers and returns the first (one
    /// compare-and-swap, whatever `count`). With a [gate](Self::with_gate), no
    /// number at or past its durable limit is handed out: such a reservation is
    /// refused whole (counted in the gate) and the saver is asked for more.
    pub fn reserve(&self, count: u64) -> Result<SeqNum, EncapError> {
        let max = self.max;
        // The limit only rises: an older value read here is the safe side.
        let limit = self.gate.as_ref().map(|g| g.limit());
        let mut gated = false;
        let r = self
            .next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                gated = false;
                if n == 0 || count == 0 {
                    return (n != 0).then_some(n);
                }
                let last = n.checked_add(count - 1).filter(|&l| l <= max)?;
                if limit.is_some_and(|l| last >= l) {
                    gated = true;
                    return None;
                }
                // past the last usable number the counter reads 0 (exhausted)
                Some(if last == max { 0 } else { last + 1 })
            })
            .map(SeqNum)
            .map_err(|_| EncapError::RekeyRequired);
        if let Some(g) = &self.gate {
            match &r {
                Ok(first) => g.note_next(first.0.saturating_add(count)),
                Err(_) if gated => g.refused(count),
                Err(_) => {}
            }
        }
        r
    }

    /// Seals `payload` into `out` at `seq` (from [`reserve`](Self::reserve)),
    /// counting it on the lifetime meter: refused at a hard limit, and
    /// `soft_expired` on the one packet that finds a soft limit (packets, bytes, or
    /// the sequence space) reached.
    pub fn seal_at(
        &self,
        seq: SeqNum,
        payload: &[u8],
        next_header: u8,
        out: &mut [u8],
    ) -> Result<Sealed, EncapError> {
        let at = self
            .life
            .admit(payload.len())
            .ok_or(EncapError::HardLifetime)?;
        let len = self.sa.seal_at(seq, None, payload, next_header, out)?;
        Ok(Sealed {
            len,
            seq,
            soft_expired: self.life.soft_due(seq, at),
        })
    }
}

impl OutboundPath for SoftOutbound {
    fn seal_batch(
        &self,
        jobs: &mut [SealJob<'_>],
        results: &mut Vec<Result<Sealed, SealError>>,
    ) -> Result<(), CardError> {
        match self.reserve(jobs.len() as u64) {
            Ok(first) => {
                for (k, j) in (0u64..).zip(jobs.iter_mut()) {
                    let seq = SeqNum(first.0 + k);
                    results.push(
                        self.seal_at(seq, j.payload, j.next_header, j.out)
                            .map_err(SealError::from),
                    );
                }
            }
            Err(e) => results.extend(jobs.iter().map(|_| Err(SealError::Encap(e)))),
        }
        Ok(())
    }
    fn header_len(&self) -> usize {
        self.sa.header_len()
    }
    fn datagram_len(&self, payload_len: usize) -> usize {
        self.sa.datagram_len(payload_len)
    }
    fn next_seq(&self) -> Option<SeqNum> {
        let n = self.next.load(Ordering::Relaxed);
        (n != 0).then_some(SeqNum(n))
    }
    fn kind(&self) -> PathKind {
        PathKind::Software
    }
    fn lifetime(&self) -> &Arc<LifetimeMeter> {
        &self.life
    }
}

impl InboundPath for InboundSa {
    fn open_batch(
        &mut self,
        datagrams: &mut [&mut [u8]],
        results: &mut Vec<Result<Opened, OpenError>>,
    ) -> Result<(), CardError> {
        for d in datagrams.iter_mut() {
            results.push(InboundSa::open(self, d).map_err(OpenError::from));
        }
        Ok(())
    }
    fn kind(&self) -> PathKind {
        PathKind::Software
    }
    fn lifetime(&self) -> &Arc<LifetimeMeter> {
        InboundSa::lifetime(self)
    }
}

/// The two halves of an SA pair on their chosen engine.
pub struct Paths {
    /// Outbound half.
    pub outbound: Box<dyn OutboundPath>,
    /// Inbound half.
    pub inbound: Box<dyn InboundPath>,
    /// Engine.
    pub kind: PathKind,
    /// Why software was chosen under `auto` (for logs and status), if it was.
    pub fallback_reason: Option<String>,
}

impl std::fmt::Debug for Paths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paths")
            .field("kind", &self.kind)
            .field("fallback_reason", &self.fallback_reason)
            .finish()
    }
}

fn esp_config(spec: &ChildSaSpec, spi: u32, key: &[u8]) -> Result<SaConfig, InstallError> {
    let mut c = SaConfig::new(Spi(spi), spec.transform, key)
        .map_err(|source| InstallError::Esp { spi, source })?;
    c.esn = spec.esn;
    c.replay_window = spec.replay_window.max(32);
    c.lifetime = spec.lifetime;
    Ok(c)
}

/// Builds the software halves of an SA pair; the outbound counter starts at `first_seq`.
pub fn software(
    spec: &ChildSaSpec,
    first_seq: u64,
    gate: Option<Arc<Gate>>,
) -> Result<(SoftOutbound, InboundSa), InstallError> {
    let oc = esp_config(spec, spec.outbound.spi, spec.outbound.key.as_bytes())?;
    let ic = esp_config(spec, spec.inbound.spi, spec.inbound.key.as_bytes())?;
    let mut out = OutboundSa::new(&oc).map_err(|source| InstallError::Esp {
        spi: spec.outbound.spi,
        source,
    })?;
    if first_seq > 1 {
        out.set_next_seq(SeqNum(first_seq))
            .map_err(|_| InstallError::Esp {
                spi: spec.outbound.spi,
                source: esp::ConfigError::Lifetime,
            })?;
    }
    let inb = InboundSa::new(&ic).map_err(|source| InstallError::Esp {
        spi: spec.inbound.spi,
        source,
    })?;
    Ok((SoftOutbound::new(out).with_gate(gate), inb))
}

/// Applies the offload policy of `spec` given the card engine (None: no card).
///
/// With no card, `auto` runs in software silently and `card` is refused. With a
/// card, `auto` and `card` go through the driver's offload layer with the SA's
/// policy, which places the SA on the card or (under `auto`) in software when the
/// card cannot carry it, and refuses it under `card` (the driver's
/// `DriverError::PolicyCard`); at run time the driver applies the same policy to
/// card faults. A `first_seq` above 1 (a restart) moves the card's counter to it.
/// A `gate` (manual SAs) limits the outbound counter on either path to the
/// durably reserved end ([`crate::state`]).
pub fn select(
    spec: &ChildSaSpec,
    engine: Option<&SharedEngine>,
    first_seq: u64,
    gate: Option<Arc<Gate>>,
) -> Result<Paths, InstallError> {
    let spi = spec.outbound.spi;
    match (spec.offload, engine) {
        (OffloadPolicy::Software, _) => {
            let (o, i) = software(spec, first_seq, gate.clone())?;
            Ok(Paths {
                outbound: Box::new(o),
                inbound: Box::new(i),
                kind: PathKind::Software,
                fallback_reason: None,
            })
        }
        (OffloadPolicy::Card, None) => Err(InstallError::CardRequired {
            spi,
            reason: "no card device configured (offload_device)".into(),
        }),
        (OffloadPolicy::Auto, None) => {
            let (o, i) = software(spec, first_seq, gate.clone())?;
            Ok(Paths {
                outbound: Box::new(o),
                inbound: Box::new(i),
                kind: PathKind::Software,
                fallback_reason: Some("no card device configured".into()),
            })
        }
        (policy, Some(engine)) => {
            let oc = esp_config(spec, spec.outbound.spi, spec.outbound.key.as_bytes())?;
            let ic = esp_config(spec, spec.inbound.spi, spec.inbound.key.as_bytes())?;
            let (o, i, kind) = card::add_pair(engine, &oc, &ic, policy)
                .map_err(|source| InstallError::Card { spi, source })?;
            let o = o.with_gate(gate.clone());
            // Under `card` the driver refused an SA the card did not take (an error
            // above); from here `kind` is `Card` for it.
            if first_seq > 1 {
                // A restart with the same keys: the card's counter for this SA moves to
                // the saved value (the driver's shadow too, so a later fallback to
                // software continues from there). An SA the engine carries in software
                // cannot be moved forward through it, so it runs in plain software.
                let resumed = match kind {
                    PathKind::Card => o.resume(first_seq),
                    PathKind::Software => Err(CardError::Resume {
                        spi,
                        why: "the card did not accept the SA",
                    }),
                };
                if let Err(e) = resumed {
                    let reason = format!("resuming outbound sequence number {first_seq}: {e}");
                    if policy == OffloadPolicy::Card {
                        return Err(InstallError::CardRequired { spi, reason });
                    }
                    drop((o, i));
                    let (o, i) = software(spec, first_seq, gate.clone())?;
                    return Ok(Paths {
                        outbound: Box::new(o),
                        inbound: Box::new(i),
                        kind: PathKind::Software,
                        fallback_reason: Some(reason),
                    });
                }
            }
            let reason =
                (kind != PathKind::Card).then(|| "the card did not accept the SA".to_string());
            Ok(Paths {
                outbound: Box::new(o),
                inbound: Box::new(i),
                kind,
                fallback_reason: reason,
            })
        }
    }
}

/// The seal jobs of `payloads` (next header `next_header`) into `bufs`, one buffer
/// per payload (for tests of the paths).
#[cfg(test)]
pub(crate) fn jobs<'a, P: AsRef<[u8]>>(
    payloads: &'a [P],
    bufs: &'a mut [Vec<u8>],
    next_header: u8,
) -> Vec<SealJob<'a>> {
    payloads
        .iter()
        .zip(bufs.iter_mut())
        .map(|(p, b)| SealJob {
            payload: p.as_ref(),
            next_header,
            out: b,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use esp::Transform;

    const KEY: [u8; 20] = [7; 20];

    fn sa(esn: bool, lifetime: esp::Lifetime) -> (SoftOutbound, InboundSa) {
        let mut c = SaConfig::new(Spi(0x1234), Transform::AesGcm128, &KEY).expect("config");
        c.esn = esn;
        c.lifetime = lifetime;
        (
            SoftOutbound::new(OutboundSa::new(&c).expect("out")),
            InboundSa::new(&c).expect("in"),
        )
    }

    #[test]
    fn workers_reserving_together_never_share_a_number() {
        let (out, _) = sa(true, esp::Lifetime::default());
        let out = std::sync::Arc::new(out);
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let out = out.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    for i in 0..5_000u64 {
                        let n = 1 + (i * 7 + t) % 9;
                        let first = out.reserve(n).expect("reserve");
                        got.extend(first.0..first.0 + n);
                    }
                    got
                })
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect();
        all.sort_unstable();
        let total = all.len() as u64;
        all.dedup();
        assert_eq!(all.len() as u64, total, "a number was handed out twice");
        // and none skipped: exactly 1..=total
        assert_eq!(all.first(), Some(&1));
        assert_eq!(all.last(), Some(&total));
        assert_eq!(out.next_seq(), Some(SeqNum(total + 1)));
    }

    #[test]
    fn reservations_from_threads_never_pass_the_gate() {
        use crate::state::{Gate, Waker};
        use crate::stats::GlobalCounters;
        const LIMIT: u64 = 10_000;
        let global = Arc::new(GlobalCounters::default());
        let gate = Arc::new(Gate::new(
            0x1234,
            "k".into(),
            u64::from(u32::MAX),
            LIMIT,
            Arc::new(Waker::default()),
            global.clone(),
        ));
        let (out, _) = sa(false, esp::Lifetime::default());
        let out = Arc::new(out.with_gate(Some(gate.clone())));
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let out = out.clone();
                std::thread::spawn(move || {
                    let (mut got, mut refused) = (Vec::new(), 0u64);
                    for i in 0..5_000u64 {
                        let n = 1 + (i * 5 + t) % 7;
                        match out.reserve(n) {
                            Ok(first) => got.extend(first.0..first.0 + n),
                            Err(_) => refused += n,
                        }
                    }
                    (got, refused)
                })
            })
            .collect();
        let mut all = Vec::new();
        let mut refused = 0;
        for h in handles {
            let (g, r) = h.join().expect("thread");
            all.extend(g);
            refused += r;
        }
        all.sort_unstable();
        let total = all.len();
        all.dedup();
        assert_eq!(all.len(), total, "a number was handed out twice");
        assert!(all.last().is_some_and(|&l| l < LIMIT), "past the gate");
        // the threads asked for more than the gate allows: the rest was refused
        assert!(total as u64 >= LIMIT - 7, "stopped early at {total}");
        assert_eq!(
            crate::stats::get(&global.seq_unreserved_drops),
            refused,
            "every refused packet counted"
        );
        // raised, the counter continues exactly where it stood
        let next = out.next_seq().expect("not exhausted").0;
        gate.raise(LIMIT + 100);
        assert_eq!(out.reserve(1).expect("room now"), SeqNum(next));
    }

    #[test]
    fn reservation_stops_at_the_last_number() {
        let (out, _) = sa(false, esp::Lifetime::default());
        out.next.store(u64::from(u32::MAX) - 2, Ordering::Relaxed);
        assert!(matches!(out.reserve(4), Err(EncapError::RekeyRequired)));
        assert_eq!(
            out.reserve(3).expect("fits"),
            SeqNum(u64::from(u32::MAX) - 2)
        );
        assert_eq!(out.next_seq(), None, "exhausted");
        assert!(matches!(out.reserve(1), Err(EncapError::RekeyRequired)));
    }

    #[test]
    fn sealed_at_reserved_numbers_opens_in_the_reference() {
        let (out, mut inb) = sa(false, esp::Lifetime::default());
        let first = out.reserve(3).expect("reserve");
        let payload = [0x45u8; 100];
        let mut sealed = Vec::new();
        for k in 0..3 {
            let mut buf = vec![0u8; out.datagram_len(payload.len())];
            let s = out
                .seal_at(SeqNum(first.0 + k), &payload, 4, &mut buf)
                .expect("seal");
            buf.truncate(s.len);
            sealed.push(buf);
        }
        // out of order, as two workers may send them
        for i in [2usize, 0, 1] {
            let o = inb.open(&mut sealed[i]).expect("open");
            assert_eq!(o.seq, SeqNum(first.0 + i as u64));
            assert_eq!(&sealed[i][o.payload], &payload[..]);
        }
        // the same datagram again is a replay
        let mut again = sealed[0].clone();
        let o = inb.open(&mut again);
        assert!(o.is_err());
    }

    #[test]
    fn a_batch_takes_consecutive_numbers_into_the_callers_buffers() {
        let (out, mut inb) = sa(false, esp::Lifetime::default());
        let payloads: [&[u8]; 3] = [&[1; 40], &[2; 90], &[3; 10]];
        let mut bufs: Vec<Vec<u8>> = payloads
            .iter()
            .map(|p| vec![0u8; out.datagram_len(p.len())])
            .collect();
        let mut jobs = jobs(&payloads, &mut bufs, 4);
        let mut results = Vec::new();
        out.seal_batch(&mut jobs, &mut results).expect("batch");
        let seqs: Vec<u64> = results
            .iter()
            .map(|r| r.as_ref().expect("sealed").seq.0)
            .collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        let mut dgrams: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
        let mut opened = Vec::new();
        inb.open_batch(&mut dgrams, &mut opened).expect("batch");
        for (i, o) in opened.into_iter().enumerate() {
            let o = o.expect("opened");
            assert_eq!(&bufs[i][o.payload], payloads[i]);
        }
    }

    #[test]
    fn hard_packet_lifetime_is_enforced_across_workers() {
        let life = esp::Lifetime {
            hard_packets: Some(2),
            ..Default::default()
        };
        let (out, _) = sa(false, life);
        let mut buf = vec![0u8; 200];
        assert!(out.seal(&[1; 10], 4, &mut buf).is_ok());
        assert!(out.seal(&[1; 10], 4, &mut buf).is_ok());
        assert!(matches!(
            out.seal(&[1; 10], 4, &mut buf),
            Err(SealError::Encap(EncapError::HardLifetime))
        ));
    }

    fn seal_n(out: &dyn OutboundPath, n: usize) -> Vec<Result<Sealed, SealError>> {
        let mut bufs: Vec<Vec<u8>> = (0..n).map(|_| vec![0u8; 200]).collect();
        let payload = [0x45u8; 20];
        let mut jobs: Vec<SealJob<'_>> = bufs
            .iter_mut()
            .map(|b| SealJob {
                payload: &payload,
                next_header: 4,
                out: b,
            })
            .collect();
        let mut results = Vec::new();
        out.seal_batch(&mut jobs, &mut results).expect("batch");
        results
    }

    #[test]
    fn software_soft_packet_limit_is_reported_once_across_batches() {
        let life = esp::Lifetime {
            soft_packets: Some(5),
            hard_packets: Some(9),
            ..Default::default()
        };
        let (out, _) = sa(false, life);
        let mut soft = Vec::new();
        for _ in 0..3 {
            for r in seal_n(&out, 4) {
                match r {
                    Ok(s) => soft.push(Some(s.soft_expired)),
                    Err(SealError::Encap(EncapError::HardLifetime)) => soft.push(None),
                    Err(e) => panic!("unexpected {e}"),
                }
            }
        }
        let t = Some(true);
        let f = Some(false);
        assert_eq!(soft, [f, f, f, f, t, f, f, f, f, None, None, None]);
        let st = out.lifetime().status();
        assert!(st.soft_reached && st.hard_reached);
        assert_eq!(st.packets_left, Some(0));
        assert_eq!(
            out.lifetime().usage().packets,
            9,
            "refused packets are not counted"
        );
    }

    #[test]
    fn software_sequence_space_soft_then_the_last_number_stops_without_wrapping() {
        let (out, mut inb) = sa(false, esp::Lifetime::default());
        out.next.store(esp::SEQ_SOFT - 2, Ordering::Relaxed);
        let r: Vec<(u64, bool)> = seal_n(&out, 4)
            .into_iter()
            .map(|r| r.map(|s| (s.seq.0, s.soft_expired)).expect("sealed"))
            .collect();
        let q = esp::SEQ_SOFT;
        assert_eq!(
            r,
            [(q - 2, false), (q - 1, false), (q, true), (q + 1, false)]
        );
        // the inbound half reports its own soft limit on the same numbers
        let mut buf = vec![0u8; 200];
        out.next.store(esp::SEQ_LAST - 1, Ordering::Relaxed);
        let s = out.seal(&[1; 20], 4, &mut buf).expect("seal");
        let o = inb.open(&mut buf[..s.len]).expect("open");
        assert!(o.soft_expired, "inbound soft at the sequence-space limit");
        // a batch that does not fit is refused whole
        assert!(seal_n(&out, 2)
            .iter()
            .all(|r| matches!(r, Err(SealError::Encap(EncapError::RekeyRequired)))));
        let last = seal_n(&out, 1);
        assert_eq!(last[0].as_ref().map(|s| s.seq.0).ok(), Some(esp::SEQ_LAST));
        // the last number was used: exhausted, never wrapping to 0 or 1
        assert_eq!(out.next_seq(), None);
        assert!(matches!(
            seal_n(&out, 1)[0],
            Err(SealError::Encap(EncapError::RekeyRequired))
        ));
        assert!(out.lifetime().status().hard_reached);
    }

    #[test]
    fn software_inbound_hard_packet_limit_refuses_and_soft_once() {
        let life = esp::Lifetime {
            soft_packets: Some(2),
            hard_packets: Some(3),
            ..Default::default()
        };
        let (out, mut inb) = sa(false, life);
        let mut seen = Vec::new();
        for _ in 0..4 {
            let mut buf = vec![0u8; 200];
            let s = out.seal(&[1; 20], 4, &mut buf);
            let Ok(s) = s else {
                seen.push(None);
                continue;
            };
            seen.push(Some(inb.open(&mut buf[..s.len]).map(|o| o.soft_expired)));
        }
        assert_eq!(
            seen[..3],
            [Some(Ok(false)), Some(Ok(true)), Some(Ok(false))]
        );
        assert!(seen[3].is_none(), "the sender stopped at its hard limit");
        // an SA with a higher sender limit: the receiver refuses the 4th
        let (out2, _) = sa(false, esp::Lifetime::default());
        out2.next.store(10, Ordering::Relaxed);
        let mut buf = vec![0u8; 200];
        let s = out2.seal(&[1; 20], 4, &mut buf).expect("seal");
        assert!(matches!(
            inb.open(&mut buf[..s.len]),
            Err(DecapError::HardLifetime)
        ));
        assert!(InboundPath::lifetime(&inb).status().hard_reached);
    }
}
