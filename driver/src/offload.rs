//! The offload layer the daemon uses: one ESP-layer engine over an optional card and
//! the software path (`esp`), with the fallback semantics of the offload policy.
//!
//! - `auto`: an SA the card rejects runs in software; a card that hangs, times out or
//!   returns a bad result has its in-flight packets redone in software (none lost, none
//!   sent twice) and all its SAs moved to software with sequence numbers continuing
//!   after the last number the card used; a card that reset itself is reloaded from the
//!   shadow and keeps its SAs; [`Offload::recover_card`] moves SAs back to a healthy card.
//! - `card`: the same faults are errors.
//! - `software`: the card is never touched.

use std::collections::BTreeMap;

use esp::{InboundSa, OutboundSa, SaConfig, SeqNum};
use regmap::Verdict;

use crate::card::{Card, CardSa, SaIndex};
use crate::port::{Direction, MmioWindowPort, PacketPort, PacketRequest, PacketResult};
use crate::{DriverError, RegIo};

/// Where SAs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum OffloadPolicy {
    /// Card when it can, software otherwise (never fails an SA software can carry).
    Auto,
    /// Card only: faults are errors.
    Card,
    /// Software only.
    Software,
}

impl std::str::FromStr for OffloadPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(OffloadPolicy::Auto),
            "card" => Ok(OffloadPolicy::Card),
            "software" => Ok(OffloadPolicy::Software),
            other => Err(format!(
                "unknown offload policy {other:?} (expected auto, card or software)"
            )),
        }
    }
}

/// Handle of an SA in an [`Offload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct SaId(pub u32);

/// Which path carried a packet or holds an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DataPath {
    /// The card.
    Card,
    /// The software ESP path.
    Software,
}

/// Tuning of the offload layer.
#[derive(Debug, Clone, Copy)]
pub struct OffloadConfig {
    /// Verify every n-th card result in software (0 = never, 1 = every result). A
    /// failed check counts as a card fault.
    pub verify_every: u32,
}

impl Default for OffloadConfig {
    fn default() -> Self {
        OffloadConfig { verify_every: 64 }
    }
}

/// What happened, for stats and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OffloadCounters {
    /// Packets carried by the card.
    pub card_packets: u64,
    /// Packets carried by software (including redone ones).
    pub software_packets: u64,
    /// Packets the card did not finish that software redid.
    pub redone_in_software: u64,
    /// SAs the card refused at install (running in software).
    pub sas_rejected_by_card: u64,
    /// SAs moved from the card to software after a fault.
    pub sas_moved_to_software: u64,
    /// SAs moved back to the card.
    pub sas_returned_to_card: u64,
    /// Card faults (timeouts, bad results, unexpected verdicts).
    pub card_faults: u64,
    /// Card results that failed verification.
    pub bad_results: u64,
    /// Card resets detected (SA table reloaded).
    pub card_resets: u64,
}

/// A per-packet failure (the batch goes on).
#[derive(Debug, thiserror::Error)]
pub enum PacketError {
    /// No SA under this handle.
    #[error("no SA {0:?}")]
    UnknownSa(SaId),
    /// The SA is of the other direction.
    #[error("SA {0:?} is not of this direction")]
    WrongDirection(SaId),
    /// Encapsulation failed (e.g. rekey required).
    #[error("encapsulation: {0}")]
    Encap(#[source] esp::EncapError),
    /// Decapsulation failed (authentication, replay, ...).
    #[error("decapsulation: {0}")]
    Decap(#[source] esp::DecapError),
}

/// An outbound packet: `payload` (the inner packet or transport payload) under SA `sa`.
#[derive(Debug, Clone, Copy)]
pub struct OutPacket<'a> {
    /// SA.
    pub sa: SaId,
    /// Payload.
    pub payload: &'a [u8],
    /// Next header for the trailer.
    pub next_header: u8,
}

/// An outbound result: the ESP datagram (SPI .. ICV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPacket {
    /// The datagram.
    pub datagram: Vec<u8>,
    /// Its sequence number.
    pub seq: u64,
    /// Who made it.
    pub path: DataPath,
}

/// An inbound packet: an ESP datagram (SPI .. ICV) for SA `sa`.
#[derive(Debug, Clone, Copy)]
pub struct InPacket<'a> {
    /// SA.
    pub sa: SaId,
    /// Datagram.
    pub datagram: &'a [u8],
}

/// An inbound result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedPacket {
    /// Payload without the trailer.
    pub payload: Vec<u8>,
    /// Next header from the trailer.
    pub next_header: u8,
    /// Authenticated sequence number.
    pub seq: u64,
    /// Who made it.
    pub path: DataPath,
}

struct Entry {
    cfg: SaConfig,
    direction: Direction,
    out: Option<OutboundSa>,
    inb: Option<InboundSa>,
    /// Verifier for sampled checks of outbound card results.
    verifier: Option<InboundSa>,
    on_card: Option<SaIndex>,
    /// The card refused it: never offered again.
    rejected: bool,
    /// Moved off the card by a fault: goes back on recovery.
    moved: bool,
    /// Sequence numbers exhausted on the card.
    exhausted: bool,
}

/// The ESP engine the daemon drives: SAs, batched seal/open, fallback.
pub struct Offload<R: RegIo, P: PacketPort<R> = MmioWindowPort> {
    policy: OffloadPolicy,
    cfg: OffloadConfig,
    card: Option<Card<R, P>>,
    card_healthy: bool,
    sas: BTreeMap<SaId, Entry>,
    next_id: u32,
    counters: OffloadCounters,
    results_seen: u64,
}

impl<R: RegIo, P: PacketPort<R>> std::fmt::Debug for Offload<R, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offload")
            .field("policy", &self.policy)
            .field("card", &self.card)
            .field("card_healthy", &self.card_healthy)
            .field("sas", &self.sas.len())
            .field("counters", &self.counters)
            .finish()
    }
}

/// Software-only engine type (no card backend).
pub type SoftwareOffload = Offload<crate::model::ModelCard>;

impl SoftwareOffload {
    /// An engine that never touches a card.
    pub fn software() -> Self {
        Offload {
            policy: OffloadPolicy::Software,
            cfg: OffloadConfig::default(),
            card: None,
            card_healthy: false,
            sas: BTreeMap::new(),
            next_id: 1,
            counters: OffloadCounters::default(),
            results_seen: 0,
        }
    }
}

impl<R: RegIo, P: PacketPort<R>> Offload<R, P> {
    /// An engine with `policy` over `card` (None: no card found). Policy `card` without
    /// a card is an error; with policy `software` the card is not used.
    pub fn new(
        policy: OffloadPolicy,
        card: Option<Card<R, P>>,
        cfg: OffloadConfig,
    ) -> Result<Self, DriverError> {
        if policy == OffloadPolicy::Card && card.is_none() {
            return Err(DriverError::PolicyCard(Box::new(DriverError::Capability(
                "no card available".into(),
            ))));
        }
        let card = if policy == OffloadPolicy::Software {
            None
        } else {
            card
        };
        Ok(Offload {
            policy,
            cfg,
            card_healthy: card.is_some(),
            card,
            sas: BTreeMap::new(),
            next_id: 1,
            counters: OffloadCounters::default(),
            results_seen: 0,
        })
    }

    /// The policy.
    pub fn policy(&self) -> OffloadPolicy {
        self.policy
    }

    /// Counters.
    pub fn counters(&self) -> OffloadCounters {
        self.counters
    }

    /// The card, if any (for counters, identity, backend control).
    pub fn card_mut(&mut self) -> Option<&mut Card<R, P>> {
        self.card.as_mut()
    }

    /// True when a card is present and currently trusted.
    pub fn card_healthy(&self) -> bool {
        self.card.is_some() && self.card_healthy
    }

    /// Where SA `id` runs now.
    pub fn placement(&self, id: SaId) -> Option<DataPath> {
        self.sas.get(&id).map(|e| {
            if e.on_card.is_some() {
                DataPath::Card
            } else {
                DataPath::Software
            }
        })
    }

    /// Next sequence number SA `id` will use (outbound), wherever it runs.
    pub fn next_seq(&self, id: SaId) -> Option<u64> {
        let e = self.sas.get(&id)?;
        match (e.on_card, &self.card) {
            (Some(ix), Some(card)) => card.shadow(ix).map(|s| s.seq + 1),
            _ => e.out.as_ref()?.next_seq().map(|s| s.0),
        }
    }

    fn card_usable(&self) -> bool {
        self.policy != OffloadPolicy::Software && self.card.is_some() && self.card_healthy
    }

    /// Adds an SA in `direction`. With a usable card it is installed there; if the
    /// card refuses it, policy `auto` runs it in software (counted, logged) and policy
    /// `card` returns the refusal.
    pub fn add_sa(&mut self, cfg: &SaConfig, direction: Direction) -> Result<SaId, DriverError> {
        let sw_err = DriverError::Software;
        let (out, inb, verifier) = match direction {
            Direction::Outbound => (
                Some(OutboundSa::new(cfg).map_err(sw_err)?),
                None,
                InboundSa::new(cfg).ok(),
            ),
            Direction::Inbound => (None, Some(InboundSa::new(cfg).map_err(sw_err)?), None),
        };
        let mut entry = Entry {
            cfg: cfg.clone(),
            direction,
            out,
            inb,
            verifier,
            on_card: None,
            rejected: false,
            moved: false,
            exhausted: false,
        };
        if self.policy == OffloadPolicy::Card && !self.card_usable() {
            return Err(DriverError::PolicyCard(Box::new(DriverError::Capability(
                "card is not usable".into(),
            ))));
        }
        if self.card_usable() {
            if let Some(card) = self.card.as_mut() {
                match card.install_sa(CardSa::from_config(cfg, direction, 0)) {
                    Ok(ix) => entry.on_card = Some(ix),
                    Err(e) if self.policy == OffloadPolicy::Card => {
                        return Err(DriverError::PolicyCard(Box::new(e)))
                    }
                    Err(
                        e @ (DriverError::SaUnsupported { .. } | DriverError::SaTableFull { .. }),
                    ) => {
                        tracing::info!(spi = cfg.spi.0, reason = %e, "SA runs in software");
                        self.counters.sas_rejected_by_card += 1;
                        entry.rejected = true;
                    }
                    Err(e) => {
                        tracing::warn!(spi = cfg.spi.0, error = %e, "card failed at SA install; moving to software");
                        self.fail_over(&e);
                        entry.moved = true;
                    }
                }
            }
        }
        let id = SaId(self.next_id);
        self.next_id += 1;
        self.sas.insert(id, entry);
        Ok(id)
    }

    /// Removes SA `id` (from the card too).
    pub fn remove_sa(&mut self, id: SaId) -> Result<(), DriverError> {
        let e = self.sas.remove(&id).ok_or(DriverError::NoSuchSa(id.0))?;
        if let (Some(ix), Some(card)) = (e.on_card, self.card.as_mut()) {
            if let Err(err) = card.remove_sa(ix) {
                tracing::warn!(error = %err, "card failed to remove an SA");
                if self.policy == OffloadPolicy::Card {
                    return Err(DriverError::PolicyCard(Box::new(err)));
                }
            }
        }
        Ok(())
    }

    /// Marks the card faulty and moves every SA on it to software; outbound SAs
    /// continue after the last sequence number the card used.
    fn fail_over(&mut self, why: &DriverError) {
        self.counters.card_faults += 1;
        self.card_healthy = false;
        let mut moved = 0;
        for (id, e) in self.sas.iter_mut() {
            let Some(ix) = e.on_card.take() else { continue };
            e.moved = true;
            moved += 1;
            let last = self
                .card
                .as_ref()
                .and_then(|c| c.shadow(ix))
                .map(|s| s.seq)
                .unwrap_or(0);
            if let Some(out) = e.out.as_mut() {
                if let Err(err) = out.set_next_seq(SeqNum(last + 1)) {
                    if matches!(err, esp::SeqError::Exhausted) {
                        e.exhausted = true;
                    }
                    tracing::debug!(sa = id.0, error = %err, "sequence continuation");
                }
            }
        }
        self.counters.sas_moved_to_software += moved;
        tracing::warn!(reason = %why, sas = moved, "card fault: SAs moved to software");
    }

    /// Tries to bring the card back: with a healthy card, checks it for a reset and
    /// reloads; with a faulty one, wipes its SA table and moves the SAs that a fault
    /// moved to software back to the card (sequence numbers continue). Returns the
    /// number of SAs moved back.
    pub fn recover_card(&mut self) -> Result<usize, DriverError> {
        if self.policy == OffloadPolicy::Software {
            return Ok(0);
        }
        let Some(card) = self.card.as_mut() else {
            return Ok(0);
        };
        if self.card_healthy {
            if card.recover()? {
                self.counters.card_resets += 1;
            }
            return Ok(0);
        }
        card.wipe()?;
        self.card_healthy = true;
        let mut back = 0;
        for (id, e) in self.sas.iter_mut() {
            if !e.moved || e.exhausted {
                continue;
            }
            let last = match (&e.out, e.direction) {
                (Some(out), _) => match out.next_seq() {
                    Some(n) => n.0 - 1,
                    None => continue,
                },
                _ => 0,
            };
            match card.install_sa(CardSa::from_config(&e.cfg, e.direction, last)) {
                Ok(ix) => {
                    e.on_card = Some(ix);
                    e.moved = false;
                    back += 1;
                }
                Err(err) => {
                    tracing::warn!(sa = id.0, error = %err, "SA stays in software");
                    if !matches!(
                        err,
                        DriverError::SaUnsupported { .. } | DriverError::SaTableFull { .. }
                    ) {
                        self.card_healthy = false;
                        return Err(err);
                    }
                }
            }
        }
        self.counters.sas_returned_to_card += back as u64;
        tracing::info!(sas = back, "card healthy again: SAs returned to the card");
        Ok(back)
    }

    fn sample(&mut self) -> bool {
        self.results_seen += 1;
        self.cfg.verify_every != 0
            && self
                .results_seen
                .is_multiple_of(u64::from(self.cfg.verify_every))
    }

    /// Handles a card fault during a batch: a reset is reloaded (returns true: retry on
    /// the card); otherwise policy `card` fails and `auto` moves everything to software.
    fn on_fault(&mut self, e: DriverError) -> Result<bool, DriverError> {
        if let Some(card) = self.card.as_mut() {
            if let Ok(true) = card.recover() {
                self.counters.card_resets += 1;
                tracing::warn!(cause = %e, "card had reset; SA table reloaded, retrying on the card");
                return Ok(true);
            }
        }
        if self.policy == OffloadPolicy::Card {
            self.counters.card_faults += 1;
            return Err(DriverError::PolicyCard(Box::new(e)));
        }
        self.fail_over(&e);
        Ok(false)
    }

    /// Runs the `pending` packets of a batch on the card and returns those it did not
    /// finish, to be redone in software. A card that had reset is reloaded and tried
    /// once more; any other fault ends the card run (`on_fault` applies the policy).
    /// `accept` checks one card result; its `Err` means the card misbehaved.
    fn run_on_card<'d, K: Copy, T>(
        &mut self,
        mut pending: Vec<K>,
        results: &mut [Option<Result<T, PacketError>>],
        index_of: impl Fn(K) -> usize,
        request: impl Fn(&Self, K) -> PacketRequest<'d>,
        mut accept: impl FnMut(
            &mut Self,
            K,
            PacketResult,
        ) -> Result<Result<T, PacketError>, DriverError>,
    ) -> Result<Vec<K>, DriverError> {
        let mut attempts = 0;
        while !pending.is_empty() && self.card_usable() && attempts < 2 {
            attempts += 1;
            let reqs: Vec<PacketRequest<'d>> = pending.iter().map(|&k| request(self, k)).collect();
            let mut out = Vec::with_capacity(reqs.len());
            let mut fault = match self.card.as_mut() {
                Some(card) => card.process(&reqs, &mut out).err(),
                None => None,
            };
            let mut done = 0;
            for (n, res) in out.into_iter().enumerate() {
                let k = pending[n];
                match accept(self, k, res) {
                    Ok(r) => {
                        results[index_of(k)] = Some(r);
                        done = n + 1;
                    }
                    Err(e) => {
                        fault = Some(e);
                        break;
                    }
                }
            }
            pending.drain(..done);
            match fault {
                None => break,
                Some(e) => {
                    if !self.on_fault(e)? {
                        break;
                    }
                }
            }
        }
        Ok(pending)
    }

    /// Seals a batch. The outer error is fatal (policy `card` with a card fault); the
    /// inner results are per packet, in order.
    pub fn seal_batch(
        &mut self,
        pkts: &[OutPacket<'_>],
    ) -> Result<Vec<Result<SealedPacket, PacketError>>, DriverError> {
        let mut results: Vec<Option<Result<SealedPacket, PacketError>>> =
            (0..pkts.len()).map(|_| None).collect();
        let mut pending: Vec<usize> = Vec::new();
        for (i, p) in pkts.iter().enumerate() {
            match self.sas.get(&p.sa) {
                None => results[i] = Some(Err(PacketError::UnknownSa(p.sa))),
                Some(e) if e.direction != Direction::Outbound => {
                    results[i] = Some(Err(PacketError::WrongDirection(p.sa)))
                }
                Some(e) if e.on_card.is_some() && self.card_usable() => pending.push(i),
                Some(_) => {}
            }
        }
        let pending = self.run_on_card(
            pending,
            &mut results,
            |i| i,
            |s, i| PacketRequest {
                sa_index: s.sas[&pkts[i].sa].on_card.map(|x| x.0).unwrap_or(0),
                direction: Direction::Outbound,
                next_header: pkts[i].next_header,
                seq_hi: 0,
                data: pkts[i].payload,
            },
            |s, i, res| s.accept_outbound(&pkts[i], res),
        )?;
        self.counters.redone_in_software += pending.len() as u64;
        let mut final_results = Vec::with_capacity(pkts.len());
        for (i, r) in results.into_iter().enumerate() {
            final_results.push(match r {
                Some(r) => r,
                None => self.seal_software(&pkts[i]),
            });
        }
        Ok(final_results)
    }

    /// Checks one outbound card result; `Err` means the card misbehaved.
    fn accept_outbound(
        &mut self,
        p: &OutPacket<'_>,
        res: PacketResult,
    ) -> Result<Result<SealedPacket, PacketError>, DriverError> {
        match res.verdict {
            Verdict::Ok => {}
            Verdict::SeqExhausted => {
                if let Some(e) = self.sas.get_mut(&p.sa) {
                    e.exhausted = true;
                }
                return Ok(Err(PacketError::Encap(esp::EncapError::RekeyRequired)));
            }
            other => {
                return Err(DriverError::BadResult {
                    what: format!("outbound verdict {other:?} for an installed SA"),
                })
            }
        }
        let sample = self.sample();
        let e = &self.sas[&p.sa];
        let expect_len = e
            .out
            .as_ref()
            .map(|o| o.datagram_len(p.payload.len()))
            .unwrap_or(0);
        let mut ok = res.data.len() == expect_len
            && res.data.get(0..4) == Some(&e.cfg.spi.0.to_be_bytes()[..])
            && res.data.get(4..8) == Some(&(res.seq as u32).to_be_bytes()[..]);
        if ok && sample {
            if let Some(v) = &e.verifier {
                let mut copy = res.data.clone();
                ok = matches!(v.open_at(SeqNum(res.seq), &mut copy),
                    Ok(o) if copy[o.payload.clone()] == *p.payload && o.next_header == p.next_header);
            }
        }
        if !ok {
            self.counters.bad_results += 1;
            return Err(DriverError::BadResult {
                what: format!(
                    "outbound packet seq {} of SPI {:#010x}",
                    res.seq, e.cfg.spi.0
                ),
            });
        }
        self.counters.card_packets += 1;
        Ok(Ok(SealedPacket {
            datagram: res.data,
            seq: res.seq,
            path: DataPath::Card,
        }))
    }

    fn seal_software(&mut self, p: &OutPacket<'_>) -> Result<SealedPacket, PacketError> {
        let e = self
            .sas
            .get_mut(&p.sa)
            .ok_or(PacketError::UnknownSa(p.sa))?;
        if e.exhausted {
            return Err(PacketError::Encap(esp::EncapError::RekeyRequired));
        }
        let out = e.out.as_mut().ok_or(PacketError::WrongDirection(p.sa))?;
        let mut buf = vec![0u8; out.datagram_len(p.payload.len())];
        let s = out
            .seal(p.payload, p.next_header, &mut buf)
            .map_err(PacketError::Encap)?;
        buf.truncate(s.len);
        self.counters.software_packets += 1;
        Ok(SealedPacket {
            datagram: buf,
            seq: s.seq.0,
            path: DataPath::Software,
        })
    }

    /// Opens a batch of inbound datagrams. The replay window stays in software and
    /// moves only for packets whose ICV checked out.
    pub fn open_batch(
        &mut self,
        pkts: &[InPacket<'_>],
    ) -> Result<Vec<Result<OpenedPacket, PacketError>>, DriverError> {
        let mut results: Vec<Option<Result<OpenedPacket, PacketError>>> =
            (0..pkts.len()).map(|_| None).collect();
        let mut pending: Vec<(usize, SeqNum)> = Vec::new();
        for (i, p) in pkts.iter().enumerate() {
            match self.sas.get(&p.sa) {
                None => results[i] = Some(Err(PacketError::UnknownSa(p.sa))),
                Some(e) if e.direction != Direction::Inbound => {
                    results[i] = Some(Err(PacketError::WrongDirection(p.sa)))
                }
                Some(e) if e.on_card.is_some() && self.card_usable() => {
                    // Malformed or replayed packets never reach the card.
                    let Some(lo) = p.datagram.get(4..8) else {
                        continue;
                    };
                    let lo = u32::from_be_bytes([lo[0], lo[1], lo[2], lo[3]]);
                    match e.inb.as_ref().map(|w| w.replay_check(lo)) {
                        Some(Ok(seq)) => pending.push((i, seq)),
                        Some(Err(err)) => results[i] = Some(Err(PacketError::Decap(err))),
                        None => {}
                    }
                }
                Some(_) => {}
            }
        }
        let pending = self.run_on_card(
            pending,
            &mut results,
            |(i, _)| i,
            |s, (i, seq)| PacketRequest {
                sa_index: s.sas[&pkts[i].sa].on_card.map(|x| x.0).unwrap_or(0),
                direction: Direction::Inbound,
                next_header: 0,
                seq_hi: seq.hi(),
                data: pkts[i].datagram,
            },
            |s, (i, seq), res| s.accept_inbound(&pkts[i], seq, res),
        )?;
        self.counters.redone_in_software += pending.len() as u64;
        let mut final_results = Vec::with_capacity(pkts.len());
        for (i, r) in results.into_iter().enumerate() {
            final_results.push(match r {
                Some(r) => r,
                None => self.open_software(&pkts[i]),
            });
        }
        Ok(final_results)
    }

    fn accept_inbound(
        &mut self,
        p: &InPacket<'_>,
        seq: SeqNum,
        res: PacketResult,
    ) -> Result<Result<OpenedPacket, PacketError>, DriverError> {
        let verdict_err = match res.verdict {
            Verdict::Ok => None,
            Verdict::AuthFailed => Some(esp::DecapError::AuthFailed),
            Verdict::BadTrailer => Some(esp::DecapError::BadTrailer("card: bad trailer")),
            Verdict::BadLength => Some(esp::DecapError::Truncated("card: bad length")),
            other => {
                return Err(DriverError::BadResult {
                    what: format!("inbound verdict {other:?} for an installed SA"),
                })
            }
        };
        if let Some(err) = verdict_err {
            self.counters.card_packets += 1;
            return Ok(Err(PacketError::Decap(err)));
        }
        let sample = self.sample();
        let e = self
            .sas
            .get_mut(&p.sa)
            .ok_or(DriverError::NoSuchSa(p.sa.0))?;
        let Some(inb) = e.inb.as_mut() else {
            return Ok(Err(PacketError::WrongDirection(p.sa)));
        };
        let mut ok = res.seq == seq.0;
        if ok && sample {
            let mut copy = p.datagram.to_vec();
            ok = matches!(inb.open_at(seq, &mut copy),
                Ok(o) if copy[o.payload.clone()] == *res.data && o.next_header == res.next_header);
        }
        if !ok {
            self.counters.bad_results += 1;
            return Err(DriverError::BadResult {
                what: format!("inbound packet seq {} of SPI {:#010x}", seq.0, e.cfg.spi.0),
            });
        }
        if let Err(err) = inb.accept_verified(seq, res.data.len()) {
            return Ok(Err(PacketError::Decap(err)));
        }
        self.counters.card_packets += 1;
        Ok(Ok(OpenedPacket {
            payload: res.data,
            next_header: res.next_header,
            seq: seq.0,
            path: DataPath::Card,
        }))
    }

    fn open_software(&mut self, p: &InPacket<'_>) -> Result<OpenedPacket, PacketError> {
        let e = self
            .sas
            .get_mut(&p.sa)
            .ok_or(PacketError::UnknownSa(p.sa))?;
        let inb = e.inb.as_mut().ok_or(PacketError::WrongDirection(p.sa))?;
        let mut buf = p.datagram.to_vec();
        let o = inb.open(&mut buf).map_err(PacketError::Decap)?;
        self.counters.software_packets += 1;
        Ok(OpenedPacket {
            payload: buf[o.payload].to_vec(),
            next_header: o.next_header,
            seq: o.seq.0,
            path: DataPath::Software,
        })
    }
}

#[cfg(test)]
#[path = "offload_tests.rs"]
mod tests;
