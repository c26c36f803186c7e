//! The offload layer the daemon uses: one ESP-layer engine over an optional card and
//! the software path (`esp`). Each SA has its own [`OffloadPolicy`], applied here and
//! nowhere else:
//!
//! - `auto`: an SA the card rejects runs in software; a card that hangs, times out,
//!   resets too often or returns a bad result has its in-flight packets redone in
//!   software (none lost, none sent twice) and its SAs moved to software with sequence
//!   numbers continuing after the highest number the card may have used.
//! - `card`: an SA the card rejects is not added ([`DriverError::PolicyCard`]); on a
//!   card fault the SA fails: its packets return [`PacketError::CardFailed`] (counted,
//!   logged), never carried in software.
//! - `software`: the SA never touches the card.
//!
//! Any fault fences the whole card (it is one device): every SA on it moves or fails
//! by its own policy. A card that reset itself is reloaded from the shadow and keeps
//! its SAs (up to [`OffloadConfig::reset_retries`] times per batch);
//! [`Offload::recover_card`] puts moved and failed SAs back on a healthy card.
//!
//! Sequence numbers never go back, whatever fails: every request handed to the card
//! counts as one number of its SA before the card sees it, whether or not a result
//! comes back, and every way out of the card's numbering (a reload after a reset, a
//! move to software, a return to the card) continues after that mark (one function,
//! `Entry::settle_after_card`). Every outbound card result is checked
//! for SPI, length, the full sequence number the driver expects (which is above
//! every number returned before) and IV == sequence number; a violation fences the
//! card and its datagram is dropped.
//!
//! Files: `types.rs` (policy, handles, packets, errors, counters), this file (the
//! engine), `tests.rs` (fallback semantics against the model card with faults).

mod lane;
mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use esp::{InboundSa, OutboundSa, SaConfig, SeqNum};
use regmap::Verdict;

use crate::card::{Card, CardSa, SaIndex};
use crate::dma::DmaMapper;
use crate::port::{Direction, MmioWindowPort, PacketPort, PacketRequest, PacketResult};
use crate::{DriverError, RegIo};

pub use lane::Lane;
pub use types::{
    DataPath, InPacket, OffloadConfig, OffloadCounters, OffloadPolicy, OpenedPacket, OutPacket,
    PacketError, SaId, SealedPacket,
};

/// How many of an outbound SA's latest card numbers are remembered, so none is taken
/// twice: far more than the requests all queues can hold at once
/// (`regmap::dma::NUM_QUEUES` rings of at most 2^`MAX_RING_LOG2`... in practice the
/// daemon's rings of 256). A number further back than that is a card fault.
const SENT_WINDOW: u32 = 4096;

struct Entry {
    cfg: SaConfig,
    direction: Direction,
    policy: OffloadPolicy,
    out: Option<OutboundSa>,
    inb: Option<InboundSa>,
    /// Verifier for sampled checks of outbound card results.
    verifier: Option<InboundSa>,
    on_card: Option<SaIndex>,
    /// An `auto` SA the card refused: never offered again.
    rejected: bool,
    /// An `auto` SA moved off the card by a fault: goes back on recovery.
    moved: bool,
    /// A `card` SA failed by this fault: its packets are refused until recovery.
    failed: Option<Arc<DriverError>>,
    /// Sequence numbers exhausted on the card.
    exhausted: bool,
    /// Outbound: the highest sequence number the card may have used for this SA.
    /// Every request handed to the card raises it by one before the card sees it
    /// (a result or not), and every number a result reports raises it too.
    card_high: u64,
    /// Outbound: numbers at or below it are never taken from the card (the mark of
    /// the last way out of the card's numbering: a reload, a move to software, a
    /// return to the card).
    card_floor: u64,
    /// Outbound: the card numbers accepted lately (a window of
    /// [`SENT_WINDOW`]): each number is taken once. Several lanes may carry one SA at
    /// once and the card numbers their packets in the order it reads them, so a lane
    /// sees its SA's numbers go up but not one by one.
    sent: Option<esp::ReplayWindow>,
}

impl Entry {
    /// The highest sequence number the card may have used for this SA, given the
    /// card's shadow of it (`shadow`: its last reported or reloaded number).
    fn card_high_water(&self, shadow: u64) -> u64 {
        self.card_high.max(shadow)
    }

    /// The one rule for every way out of the card's numbering (a reload after a
    /// reset, a fault moving or failing the SA, software sealing, a return to the
    /// card): records the highest number the card may have used and moves the
    /// software counter past it (never back). A counter that cannot move past it
    /// marks the SA exhausted. Returns that highest number.
    fn settle_after_card(&mut self, shadow: u64) -> u64 {
        let high = self.card_high_water(shadow);
        self.card_high = high;
        self.card_floor = self.card_floor.max(high);
        if let Some(out) = self.out.as_mut() {
            let past = SeqNum(high.saturating_add(1));
            match out.next_seq() {
                Some(n) if n >= past => {}
                Some(_) => {
                    if let Err(err) = out.set_next_seq(past) {
                        tracing::debug!(spi = self.cfg.spi.0, error = %err, "sequence continuation");
                        self.exhausted = true;
                    }
                }
                None => self.exhausted = true,
            }
        }
        high
    }
}

/// The shadow's sequence number of SA `e` on `card` (0 when not on the card).
fn shadow_seq<R: RegIo, P: PacketPort<R>>(card: Option<&Card<R, P>>, e: &Entry) -> u64 {
    match (card, e.on_card) {
        (Some(c), Some(ix)) => c.shadow(ix).map(|s| s.seq).unwrap_or(0),
        _ => 0,
    }
}

/// The ESP engine the daemon drives: SAs, batched seal/open, fallback by each SA's
/// policy.
pub struct Offload<R: RegIo, P: PacketPort<R> = MmioWindowPort> {
    cfg: OffloadConfig,
    card: Option<Card<R, P>>,
    /// The fault that fenced the card off (None: trusted).
    fence: Option<Arc<DriverError>>,
    sas: BTreeMap<SaId, Entry>,
    next_id: u32,
    counters: OffloadCounters,
    results_seen: u64,
    /// Batches handed to a lane and not back yet.
    in_flight: usize,
    /// Moves on at every reload and every fence: a lane batch that began in another
    /// epoch takes none of its results (see [`Lane`]).
    epoch: u64,
    /// SAs removed while lanes had batches in flight: taken off the card when the
    /// last one is back (a request on its way must not find the slot empty).
    deferred: Vec<SaIndex>,
}

impl<R: RegIo, P: PacketPort<R>> std::fmt::Debug for Offload<R, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offload")
            .field("card", &self.card)
            .field("fence", &self.fence)
            .field("sas", &self.sas.len())
            .field("counters", &self.counters)
            .finish()
    }
}

/// Software-only engine type (no card backend).
pub type SoftwareOffload = Offload<crate::model::ModelCard>;

impl SoftwareOffload {
    /// An engine without a card: every SA runs in software, and adding an SA with
    /// policy `card` is an error.
    pub fn software() -> Self {
        Offload::new(None, OffloadConfig::default())
    }
}

impl<R: RegIo, P: PacketPort<R>> Offload<R, P> {
    /// An engine over `card` (None: no card found).
    pub fn new(card: Option<Card<R, P>>, cfg: OffloadConfig) -> Self {
        Offload {
            cfg,
            card,
            fence: None,
            sas: BTreeMap::new(),
            next_id: 1,
            counters: OffloadCounters::default(),
            results_seen: 0,
            in_flight: 0,
            epoch: 0,
            deferred: Vec::new(),
        }
    }

    /// Counters.
    pub fn counters(&self) -> OffloadCounters {
        self.counters
    }

    /// Takes back the buffers of results the caller has copied out
    /// (`SealedPacket::datagram`, `OpenedPacket::payload`) for the card's port to
    /// fill again: with them, taking a card result allocates nothing.
    pub fn recycle(&mut self, bufs: &mut Vec<Vec<u8>>) {
        match self.card.as_mut() {
            Some(card) => card.recycle(bufs),
            None => bufs.clear(),
        }
    }

    /// The card, if any (for counters, identity, backend control).
    pub fn card_mut(&mut self) -> Option<&mut Card<R, P>> {
        self.card.as_mut()
    }

    /// What the card's DMA port counted (`None` without a card or without DMA).
    pub fn dma_stats(&self) -> Option<crate::dma::DmaPortStats> {
        self.card.as_ref()?.port().dma_stats()
    }

    /// True when a card is present and currently trusted.
    pub fn card_healthy(&self) -> bool {
        self.card_usable()
    }

    /// The fault that fenced the card off, while it is fenced.
    pub fn fence(&self) -> Option<&DriverError> {
        self.fence.as_deref()
    }

    /// Where SA `id` runs now. A failed `card` SA is still [`DataPath::Card`] (it
    /// never runs in software); [`Offload::failure`] says it is failed.
    pub fn placement(&self, id: SaId) -> Option<DataPath> {
        self.sas.get(&id).map(|e| {
            if e.on_card.is_some() || e.policy == OffloadPolicy::Card {
                DataPath::Card
            } else {
                DataPath::Software
            }
        })
    }

    /// Places inbound SA `id`'s replay window so that `next` is the next number
    /// expected (`esp::ReplayWindow::start_at`): an SA taken up in the middle of its
    /// life, so that with ESN the high half is inferred around `next`. The window
    /// lives in software for both paths (the card gets the inferred high half).
    pub fn start_inbound_window(&mut self, id: SaId, next: u64) -> Result<(), DriverError> {
        let e = self.sas.get_mut(&id).ok_or(DriverError::NoSuchSa(id.0))?;
        match e.inb.as_mut() {
            Some(inb) => {
                inb.start_window_at(SeqNum(next));
                Ok(())
            }
            None => Err(DriverError::Capability(format!(
                "SA {} is not inbound: no replay window to place",
                id.0
            ))),
        }
    }

    /// The policy SA `id` was added with.
    pub fn policy(&self, id: SaId) -> Option<OffloadPolicy> {
        self.sas.get(&id).map(|e| e.policy)
    }

    /// The card fault that failed SA `id` (policy `card` only), while it is failed.
    pub fn failure(&self, id: SaId) -> Option<&DriverError> {
        self.sas.get(&id)?.failed.as_deref()
    }

    /// Next sequence number SA `id` will use (outbound), wherever it runs: always
    /// after every number the card may have used for it.
    pub fn next_seq(&self, id: SaId) -> Option<u64> {
        let e = self.sas.get(&id)?;
        match (e.on_card, &self.card) {
            (Some(ix), Some(card)) => card
                .shadow(ix)
                .map(|s| e.card_high_water(s.seq).saturating_add(1)),
            _ => e
                .out
                .as_ref()?
                .next_seq()
                .map(|s| s.0.max(e.card_high.saturating_add(1))),
        }
    }

    fn card_usable(&self) -> bool {
        self.card.is_some() && self.fence.is_none()
    }

    /// Adds an SA in `direction` under `policy`. With `auto` or `card` and a usable
    /// card it is installed there. If the card refuses it, `auto` runs it in software
    /// (counted, logged) and `card` returns [`DriverError::PolicyCard`] with the
    /// refusal; `card` without a usable card is [`DriverError::PolicyCard`] with
    /// [`DriverError::NoCard`] or [`DriverError::CardFenced`].
    pub fn add_sa(
        &mut self,
        cfg: &SaConfig,
        direction: Direction,
        policy: OffloadPolicy,
    ) -> Result<SaId, DriverError> {
        let spi = cfg.spi.0;
        let strict = |source: DriverError| DriverError::PolicyCard {
            spi,
            source: Box::new(source),
        };
        if policy == OffloadPolicy::Card && !self.card_usable() {
            let why = match self.card {
                None => DriverError::NoCard,
                Some(_) => DriverError::CardFenced {
                    cause: self.fence.clone(),
                },
            };
            return Err(strict(why));
        }
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
            policy,
            out,
            inb,
            verifier,
            on_card: None,
            rejected: false,
            moved: false,
            failed: None,
            exhausted: false,
            card_high: 0,
            card_floor: 0,
            sent: match direction {
                Direction::Outbound => esp::ReplayWindow::new(SENT_WINDOW, true).ok(),
                Direction::Inbound => None,
            },
        };
        let install = match self.card.as_mut() {
            Some(card) if self.fence.is_none() && policy != OffloadPolicy::Software => {
                Some(card.install_sa(CardSa::from_config(cfg, direction, 0)))
            }
            _ => None,
        };
        match install {
            None | Some(Ok(_)) => entry.on_card = install.and_then(Result::ok),
            Some(Err(e)) if is_refusal(&e) => {
                if policy == OffloadPolicy::Card {
                    return Err(strict(e));
                }
                tracing::info!(spi, reason = %e, "SA runs in software");
                self.counters.sas_rejected_by_card += 1;
                entry.rejected = true;
            }
            Some(Err(e)) => {
                tracing::warn!(spi, error = %e, "card failed at SA install");
                let cause = Some(self.fail_over(e));
                if policy == OffloadPolicy::Card {
                    return Err(strict(DriverError::CardFenced { cause }));
                }
                entry.moved = true;
            }
        }
        let id = SaId(self.next_id);
        self.next_id += 1;
        self.sas.insert(id, entry);
        Ok(id)
    }

    /// Removes SA `id` (from the card too). A card that fails to remove an SA with
    /// policy `card` is [`DriverError::PolicyCard`] (the SA is gone from the engine
    /// either way).
    pub fn remove_sa(&mut self, id: SaId) -> Result<(), DriverError> {
        let e = self.sas.remove(&id).ok_or(DriverError::NoSuchSa(id.0))?;
        if let (Some(ix), true) = (e.on_card, self.in_flight > 0) {
            self.deferred.push(ix);
            return Ok(());
        }
        if let (Some(ix), Some(card)) = (e.on_card, self.card.as_mut()) {
            if let Err(err) = card.remove_sa(ix) {
                tracing::warn!(spi = e.cfg.spi.0, error = %err, "card failed to remove an SA");
                if e.policy == OffloadPolicy::Card {
                    return Err(DriverError::PolicyCard {
                        spi: e.cfg.spi.0,
                        source: Box::new(err),
                    });
                }
            }
        }
        Ok(())
    }

    /// Fences the card after fault `why` and takes every SA off it: `auto` SAs move to
    /// software, `card` SAs fail. Outbound SAs continue after the highest sequence
    /// number the card may have used (in software, or on the card after recovery).
    /// Returns the shared cause.
    fn fail_over(&mut self, why: DriverError) -> Arc<DriverError> {
        let why = Arc::new(why);
        self.epoch += 1;
        self.counters.card_faults += 1;
        self.fence = Some(why.clone());
        let (mut moved, mut failed) = (0, 0);
        for (id, e) in self.sas.iter_mut() {
            if e.on_card.is_none() {
                continue;
            }
            let high = e.settle_after_card(shadow_seq(self.card.as_ref(), e));
            e.on_card = None;
            tracing::debug!(
                sa = id.0,
                high,
                "SA off the card, numbering after its highest number"
            );
            if e.policy == OffloadPolicy::Card {
                e.failed = Some(why.clone());
                failed += 1;
                tracing::error!(
                    sa = id.0,
                    spi = e.cfg.spi.0,
                    reason = %why,
                    "card fault: SA with offload = card failed (not moved to software)"
                );
            } else {
                e.moved = true;
                moved += 1;
            }
        }
        self.counters.sas_moved_to_software += moved;
        self.counters.card_sas_failed += failed;
        tracing::warn!(reason = %why, sas = moved, failed, "card fault: SAs moved to software");
        why
    }

    /// Tries to bring the card back: with a healthy card, checks it for a reset and
    /// reloads; with a fenced one, wipes its SA table and puts back the `auto` SAs a
    /// fault moved to software and the `card` SAs it failed (sequence numbers
    /// continue). Returns the number of SAs put back. A fault on the way fences the
    /// card again (and is returned).
    pub fn recover_card(&mut self) -> Result<usize, DriverError> {
        if self.card.is_none() || self.in_flight > 0 {
            // (with lane batches in flight nothing is reloaded or wiped under them:
            // the caller tries again later)
            return Ok(0);
        }
        if self.fence.is_none() {
            self.sync_shadows();
            let r = self.card.as_mut().map(|c| c.recover());
            return match r {
                Some(Ok(true)) => {
                    self.epoch += 1;
                    self.counters.card_resets += 1;
                    Ok(0)
                }
                Some(Ok(false)) | None => Ok(0),
                Some(Err(e)) => {
                    let cause = Some(self.fail_over(e));
                    Err(DriverError::CardFenced { cause })
                }
            };
        }
        let Some(card) = self.card.as_mut() else {
            return Ok(0);
        };
        card.wipe()?;
        self.epoch += 1;
        let mut back = 0;
        let mut fault = None;
        for (id, e) in self.sas.iter_mut() {
            if !(e.moved || e.failed.is_some()) || e.exhausted {
                continue;
            }
            let last = if e.out.is_some() {
                e.settle_after_card(0);
                match e.out.as_ref().and_then(|o| o.next_seq()) {
                    Some(n) => n.0 - 1,
                    None => continue,
                }
            } else {
                0
            };
            match card.install_sa(CardSa::from_config(&e.cfg, e.direction, last)) {
                Ok(ix) => {
                    e.card_high = e.card_high.max(last);
                    e.card_floor = e.card_floor.max(last);
                    e.on_card = Some(ix);
                    e.moved = false;
                    e.failed = None;
                    back += 1;
                }
                Err(err) if is_refusal(&err) => {
                    tracing::warn!(sa = id.0, error = %err, "SA stays off the card");
                }
                Err(err) => {
                    fault = Some(err);
                    break;
                }
            }
        }
        self.counters.sas_returned_to_card += back as u64;
        self.fence = None;
        if let Some(err) = fault {
            let cause = Some(self.fail_over(err));
            return Err(DriverError::CardFenced { cause });
        }
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

    /// Raises the card's shadow of every outbound SA on it to the highest number the
    /// card may have used (`Entry::settle_after_card`), so a reload continues after
    /// it.
    fn sync_shadows(&mut self) {
        let Some(card) = self.card.as_mut() else {
            return;
        };
        for e in self.sas.values_mut() {
            let Some(ix) = e.on_card.filter(|_| e.direction == Direction::Outbound) else {
                continue;
            };
            let high = e.settle_after_card(shadow_seq(Some(&*card), e));
            card.raise_shadow_seq(ix, high);
        }
    }

    /// Counts the requests of `sas` (one per packet, in order) as handed to the
    /// card: each outbound one may use a number. The first of each SA sets the number
    /// its first result must carry.
    fn count_submitted(&mut self, sas: impl Iterator<Item = SaId>) {
        let mut started = BTreeSet::new();
        let card = self.card.as_ref();
        for id in sas {
            let Some(e) = self.sas.get_mut(&id) else {
                continue;
            };
            if e.direction != Direction::Outbound {
                continue;
            }
            if started.insert(id) {
                let base = e.card_high_water(shadow_seq(card, e));
                e.card_high = base;
            }
            e.card_high = e.card_high.saturating_add(1);
        }
    }

    /// Raises the highest-number mark of each outbound SA by the numbers the card
    /// reported (accepted or not).
    fn note_reported<'r>(&mut self, reported: impl Iterator<Item = (SaId, &'r PacketResult)>) {
        for (id, res) in reported {
            if let Some(e) = self.sas.get_mut(&id) {
                if e.direction == Direction::Outbound && res.verdict == Verdict::Ok {
                    e.card_high = e.card_high.max(res.seq);
                }
            }
        }
    }

    /// Handles a card fault during a batch: a reset is reloaded from the shadow
    /// (raised first to every number the card may have used) and, while `resets`
    /// stays within [`OffloadConfig::reset_retries`], retried (returns true);
    /// otherwise the card is fenced ([`Offload::fail_over`]). A sequence violation
    /// always fences.
    fn on_fault(&mut self, e: DriverError, resets: &mut u32) -> bool {
        self.sync_shadows();
        if matches!(e, DriverError::SeqOrder { .. }) {
            // The port's own check (numbers going back within a batch): the same
            // violation the per-result check counts.
            self.counters.bad_results += 1;
            self.counters.card_seq_violations += 1;
        }
        if matches!(
            e,
            DriverError::SeqViolation { .. } | DriverError::SeqOrder { .. }
        ) {
            self.fail_over(e);
            return false;
        }
        let reloaded = self.card.as_mut().map(|c| c.recover());
        match reloaded {
            Some(Ok(true)) => {
                self.epoch += 1;
                *resets += 1;
                self.counters.card_resets += 1;
                if *resets > self.cfg.reset_retries {
                    tracing::error!(resets = *resets, cause = %e, "card keeps resetting within one batch");
                    self.fail_over(DriverError::TooManyResets { resets: *resets });
                    return false;
                }
                tracing::warn!(cause = %e, "card had reset; SA table reloaded, retrying on the card");
                true
            }
            Some(Err(err)) => {
                tracing::warn!(error = %err, "card reload failed");
                self.fail_over(e);
                false
            }
            Some(Ok(false)) | None => {
                self.fail_over(e);
                false
            }
        }
    }

    /// Completes a batch: packets without a result go to software, except those of
    /// `card` SAs, which get [`PacketError::CardFailed`]. `unfinished` are the packets
    /// the card left (for the `redone_in_software` count).
    fn finish<T>(
        &mut self,
        results: Vec<Option<Result<T, PacketError>>>,
        unfinished: impl Iterator<Item = usize>,
        sa_of: impl Fn(usize) -> SaId,
        mut software: impl FnMut(&mut Self, usize) -> Result<T, PacketError>,
    ) -> Vec<Result<T, PacketError>> {
        let to_software = |s: &Self, i: usize| {
            s.sas
                .get(&sa_of(i))
                .is_none_or(|e| e.policy != OffloadPolicy::Card)
        };
        let redone = unfinished.filter(|&i| to_software(self, i)).count();
        self.counters.redone_in_software += redone as u64;
        let mut done = Vec::with_capacity(results.len());
        for (i, r) in results.into_iter().enumerate() {
            done.push(match r {
                Some(r) => r,
                None if to_software(self, i) => software(self, i),
                None => Err(self.refuse(sa_of(i))),
            });
        }
        done
    }

    /// The error for a packet of `card` SA `sa` that the card did not carry.
    fn refuse(&mut self, sa: SaId) -> PacketError {
        self.counters.failed_sa_packets += 1;
        let (spi, cause) = match self.sas.get(&sa) {
            Some(e) => (
                e.cfg.spi.0,
                e.failed.clone().unwrap_or_else(|| {
                    Arc::new(DriverError::CardFenced {
                        cause: self.fence.clone(),
                    })
                }),
            ),
            None => return PacketError::UnknownSa(sa),
        };
        PacketError::CardFailed { sa, spi, cause }
    }

    /// True when SA `e` is to go to the card in this batch.
    fn goes_to_card(&self, e: &Entry) -> bool {
        e.on_card.is_some() && self.card_usable()
    }

    /// Seals a batch; the results are per packet, in order.
    pub fn seal_batch(&mut self, pkts: &[OutPacket<'_>]) -> Vec<Result<SealedPacket, PacketError>> {
        seal_with(&mut Direct(self), pkts)
    }

    /// Seals a batch on `lane`, the caller's own DMA queue pair: the engine (`engine`)
    /// is locked only to reserve sequence numbers and to check the results, not while
    /// the card works, so the lanes of several workers keep the card busy at once.
    /// The fault rules are [`Offload::seal_batch`]'s.
    pub fn seal_batch_on<R2: RegIo, M: DmaMapper>(
        engine: &Mutex<Self>,
        lane: &mut Lane<R2, M>,
        pkts: &[OutPacket<'_>],
    ) -> Vec<Result<SealedPacket, PacketError>> {
        seal_with(&mut OnLane { engine, lane }, pkts)
    }

    /// The packets of `pkts` for the card (indices); the others get their result
    /// here or, left `None`, in software.
    fn classify_out(
        &self,
        pkts: &[OutPacket<'_>],
        results: &mut [Option<Result<SealedPacket, PacketError>>],
    ) -> Vec<usize> {
        let mut pending: Vec<usize> = Vec::with_capacity(pkts.len());
        for (i, p) in pkts.iter().enumerate() {
            match self.sas.get(&p.sa) {
                None => results[i] = Some(Err(PacketError::UnknownSa(p.sa))),
                Some(e) if e.direction != Direction::Outbound => {
                    results[i] = Some(Err(PacketError::WrongDirection(p.sa)))
                }
                Some(e) if self.goes_to_card(e) => pending.push(i),
                Some(_) => {}
            }
        }
        pending
    }

    /// The card slot of SA `sa` (0 when it has none: never sent, see `goes_to_card`).
    fn card_index(&self, sa: SaId) -> u16 {
        self.sas
            .get(&sa)
            .and_then(|e| e.on_card)
            .map(|x| x.0)
            .unwrap_or(0)
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
        let e = self
            .sas
            .get_mut(&p.sa)
            .ok_or(DriverError::NoSuchSa(p.sa.0))?;
        let spi = e.cfg.spi.0;
        let expect_len = e
            .out
            .as_ref()
            .map(|o| o.datagram_len(p.payload.len()))
            .unwrap_or(0);
        let view = esp::wire::esp::EspPacket::new_checked(&res.data[..]).ok();
        let mut ok = res.data.len() == expect_len && view.as_ref().map(|v| v.spi().0) == Some(spi);
        if ok {
            let fresh = check_sequence(&res, e.card_floor, e.card_high).and_then(|()| {
                e.sent
                    .as_mut()
                    .map_or(Ok(()), |w| w.update(SeqNum(res.seq)))
                    .map_err(|err| match err {
                        esp::ReplayError::Replayed(_) => {
                            format!("sequence number {} taken twice from the card", res.seq)
                        }
                        _ => format!(
                            "sequence number {} further back than the last {SENT_WINDOW} taken",
                            res.seq
                        ),
                    })
            });
            if let Err(what) = fresh {
                self.counters.bad_results += 1;
                self.counters.card_seq_violations += 1;
                return Err(DriverError::SeqViolation { spi, what });
            }
        }
        if ok && sample {
            if let Some(v) = &e.verifier {
                let mut copy = res.data.clone();
                ok = matches!(v.open_at(SeqNum(res.seq), &mut copy),
                    Ok(o) if copy[o.payload.clone()] == *p.payload && o.next_header == p.next_header);
            }
        }
        if !ok {
            let what = format!(
                "outbound packet seq {} of SPI {:#010x}",
                res.seq, e.cfg.spi.0
            );
            self.counters.bad_results += 1;
            return Err(DriverError::BadResult { what });
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
        if e.out.is_none() {
            return Err(PacketError::WrongDirection(p.sa));
        }
        // Off the card (its SA was taken off by a fault, refused, or never offered):
        // numbering continues after every number the card may have used.
        e.settle_after_card(0);
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

    /// Opens a batch of inbound datagrams; the results are per packet, in order. The
    /// replay window stays in software and moves only for packets whose ICV checked
    /// out.
    pub fn open_batch(&mut self, pkts: &[InPacket<'_>]) -> Vec<Result<OpenedPacket, PacketError>> {
        open_with(&mut Direct(self), pkts)
    }

    /// Opens a batch on `lane` (see [`Offload::seal_batch_on`]).
    pub fn open_batch_on<R2: RegIo, M: DmaMapper>(
        engine: &Mutex<Self>,
        lane: &mut Lane<R2, M>,
        pkts: &[InPacket<'_>],
    ) -> Vec<Result<OpenedPacket, PacketError>> {
        open_with(&mut OnLane { engine, lane }, pkts)
    }

    /// The datagrams of `pkts` for the card (index and inferred number); malformed
    /// or replayed ones get their result here and never reach the card.
    fn classify_in(
        &self,
        pkts: &[InPacket<'_>],
        results: &mut [Option<Result<OpenedPacket, PacketError>>],
    ) -> Vec<(usize, SeqNum)> {
        let mut pending: Vec<(usize, SeqNum)> = Vec::with_capacity(pkts.len());
        for (i, p) in pkts.iter().enumerate() {
            match self.sas.get(&p.sa) {
                None => results[i] = Some(Err(PacketError::UnknownSa(p.sa))),
                Some(e) if e.direction != Direction::Inbound => {
                    results[i] = Some(Err(PacketError::WrongDirection(p.sa)))
                }
                Some(e) if self.goes_to_card(e) => {
                    let Some(lo) = p.datagram.get(4..8) else {
                        results[i] = Some(Err(PacketError::Decap(esp::DecapError::Truncated(
                            "ESP header",
                        ))));
                        continue;
                    };
                    let lo = u32::from_be_bytes([lo[0], lo[1], lo[2], lo[3]]);
                    match e.inb.as_ref().map(|w| w.replay_check(lo)) {
                        Some(Ok(seq)) => pending.push((i, seq)),
                        Some(Err(err)) => results[i] = Some(Err(PacketError::Decap(err))),
                        None => results[i] = Some(Err(PacketError::WrongDirection(p.sa))),
                    }
                }
                Some(_) => {}
            }
        }
        pending
    }

    /// Takes off the card the SAs removed while lanes had batches in flight, once
    /// none has.
    fn settle_deferred(&mut self) {
        if self.in_flight > 0 || self.deferred.is_empty() {
            return;
        }
        let Some(card) = self.card.as_mut() else {
            self.deferred.clear();
            return;
        };
        for ix in self.deferred.drain(..) {
            if let Err(err) = card.remove_sa(ix) {
                tracing::warn!(index = ix.0, error = %err, "card failed to remove an SA");
            }
        }
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
            let what = format!("inbound packet seq {} of SPI {:#010x}", seq.0, e.cfg.spi.0);
            self.counters.bad_results += 1;
            return Err(DriverError::BadResult { what });
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

/// How the steps of a batch reach the engine and the card: [`Direct`] (the caller
/// holds the engine for the whole batch; the card's own port moves it) or [`OnLane`]
/// (each step locks the engine; the caller's lane moves the packets in between).
trait Access<R: RegIo, P: PacketPort<R>> {
    /// True when [`Access::transfer`] runs outside the engine.
    const LANE: bool;
    /// Runs one step on the engine.
    fn with<X>(&mut self, f: impl FnOnce(&mut Offload<R, P>) -> X) -> X;
    /// Moves `reqs` through the card, results appended to `out` (see [`PacketPort`]).
    fn transfer(
        &mut self,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
    ) -> Result<(), DriverError>;
}

/// The whole batch under `&mut` (one caller at a time).
struct Direct<'a, R: RegIo, P: PacketPort<R>>(&'a mut Offload<R, P>);

impl<R: RegIo, P: PacketPort<R>> Access<R, P> for Direct<'_, R, P> {
    const LANE: bool = false;
    fn with<X>(&mut self, f: impl FnOnce(&mut Offload<R, P>) -> X) -> X {
        f(self.0)
    }
    fn transfer(
        &mut self,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
    ) -> Result<(), DriverError> {
        match self.0.card.as_mut() {
            Some(card) => card.process(reqs, out),
            None => Ok(()),
        }
    }
}

/// Each step under the engine's lock; the packets move on the caller's lane.
struct OnLane<'a, R: RegIo, P: PacketPort<R>, R2: RegIo, M: DmaMapper> {
    engine: &'a Mutex<Offload<R, P>>,
    lane: &'a mut Lane<R2, M>,
}

impl<R: RegIo, P: PacketPort<R>, R2: RegIo, M: DmaMapper> Access<R, P> for OnLane<'_, R, P, R2, M> {
    const LANE: bool = true;
    fn with<X>(&mut self, f: impl FnOnce(&mut Offload<R, P>) -> X) -> X {
        // A worker that panicked while holding the engine left it between two
        // steps, each of which keeps the numbering rules on its own.
        let mut g = self.engine.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut g)
    }
    fn transfer(
        &mut self,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
    ) -> Result<(), DriverError> {
        self.lane.transfer(reqs, out)
    }
}

fn seal_with<R: RegIo, P: PacketPort<R>, A: Access<R, P>>(
    a: &mut A,
    pkts: &[OutPacket<'_>],
) -> Vec<Result<SealedPacket, PacketError>> {
    let mut results: Vec<Option<Result<SealedPacket, PacketError>>> =
        (0..pkts.len()).map(|_| None).collect();
    let pending = a.with(|o| o.classify_out(pkts, &mut results));
    let unfinished = run_on_card(
        a,
        pending,
        &mut results,
        |i| i,
        |i| pkts[i].sa,
        |o, i| {
            let p = &pkts[i];
            PacketRequest::outbound(o.card_index(p.sa), p.next_header, p.payload)
        },
        |o, i, res| o.accept_outbound(&pkts[i], res),
    );
    a.with(|o| {
        o.finish(
            results,
            unfinished.into_iter(),
            |i| pkts[i].sa,
            |s, i| s.seal_software(&pkts[i]),
        )
    })
}

fn open_with<R: RegIo, P: PacketPort<R>, A: Access<R, P>>(
    a: &mut A,
    pkts: &[InPacket<'_>],
) -> Vec<Result<OpenedPacket, PacketError>> {
    let mut results: Vec<Option<Result<OpenedPacket, PacketError>>> =
        (0..pkts.len()).map(|_| None).collect();
    let pending = a.with(|o| o.classify_in(pkts, &mut results));
    let unfinished = run_on_card(
        a,
        pending,
        &mut results,
        |(i, _)| i,
        |(i, _)| pkts[i].sa,
        |o, (i, seq)| PacketRequest::inbound(o.card_index(pkts[i].sa), seq.hi(), pkts[i].datagram),
        |o, (i, seq), res| o.accept_inbound(&pkts[i], seq, res),
    );
    a.with(|o| {
        o.finish(
            results,
            unfinished.into_iter().map(|(i, _)| i),
            |i| pkts[i].sa,
            |s, i| s.open_software(&pkts[i]),
        )
    })
}

/// Runs the `pending` packets of a batch on the card; those it does not finish stay
/// `None` in `results`. A card that had reset is reloaded and tried again (up to
/// [`OffloadConfig::reset_retries`] times); any other fault fences the card.
/// `accept` checks one card result; its `Err` means the card misbehaved. Returns the
/// packets the card left unfinished: when there are any, the card is fenced (their
/// SAs are off the card, numbering after its highest possible number).
///
/// Three steps per round: reserve (engine: every outbound request counts as a number
/// used before the card sees it), transfer (the card; on a lane, outside the engine),
/// check (engine). A lane batch during which the card was reloaded or fenced (the
/// engine's epoch moved, by another lane's fault) takes none of its results: they
/// were never released, their numbers stay used, and the packets go again (on the
/// reloaded card, or in software after the fence).
#[allow(clippy::too_many_arguments)]
fn run_on_card<'d, R, P, A, K, T>(
    a: &mut A,
    mut pending: Vec<K>,
    results: &mut [Option<Result<T, PacketError>>],
    index_of: impl Fn(K) -> usize,
    sa_of: impl Fn(K) -> SaId,
    request: impl Fn(&Offload<R, P>, K) -> PacketRequest<'d>,
    mut accept: impl FnMut(
        &mut Offload<R, P>,
        K,
        PacketResult,
    ) -> Result<Result<T, PacketError>, DriverError>,
) -> Vec<K>
where
    R: RegIo,
    P: PacketPort<R>,
    A: Access<R, P>,
    K: Copy,
{
    let mut resets = 0;
    let mut out: Vec<PacketResult> = Vec::new();
    loop {
        let begun = a.with(|o| {
            if pending.is_empty() || !o.card_usable() {
                return None;
            }
            let reqs: Vec<PacketRequest<'d>> = pending.iter().map(|&k| request(o, k)).collect();
            o.count_submitted(pending.iter().map(|&k| sa_of(k)));
            if A::LANE {
                o.in_flight += 1;
            }
            Some((reqs, o.epoch))
        });
        let Some((reqs, epoch)) = begun else { break };
        out.clear();
        out.reserve(reqs.len());
        let r = a.transfer(&reqs, &mut out);
        let again = a.with(|o| {
            // (a lane moved the packets outside the engine: its batch is accounted on
            // the card's shadow here, as `Card::process` does for the engine's own)
            let r = match (A::LANE, o.card.as_mut()) {
                (true, Some(card)) => card.account(&reqs, &out, r),
                _ => r,
            };
            if A::LANE {
                o.in_flight -= 1;
            }
            o.note_reported(pending.iter().map(|&k| sa_of(k)).zip(&out));
            if A::LANE && (o.epoch != epoch || !o.card_usable()) {
                o.settle_deferred();
                if !o.card_usable() {
                    return false;
                }
                // reloaded by another lane's fault meanwhile: go again on the card
                resets += 1;
                if resets > o.cfg.reset_retries {
                    o.fail_over(DriverError::TooManyResets { resets });
                    return false;
                }
                return true;
            }
            let mut fault = r.err();
            if fault.is_none() && out.len() != reqs.len() {
                fault = Some(DriverError::BadResult {
                    what: format!("{} results for {} packets", out.len(), reqs.len()),
                });
            }
            let mut done = 0;
            for (n, res) in out.drain(..).take(reqs.len()).enumerate() {
                let k = pending[n];
                match accept(o, k, res) {
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
            let again = match fault {
                None => false,
                Some(e) => o.on_fault(e, &mut resets),
            };
            o.settle_deferred();
            again
        });
        if !again {
            break;
        }
    }
    a.with(|o| {
        if !pending.is_empty() && o.card_usable() {
            // Never reached by the loop above; if it were, the packets' SAs leave the
            // card by the same rule as after any fault.
            o.fail_over(DriverError::BadResult {
                what: "packets left without a result and without a fault".into(),
            });
        }
    });
    pending
}

/// The sequence rule for one outbound card result (SPI and length already checked):
/// the full number lies above `floor` (the last way out of the card's numbering) and
/// at or below `high` (every number handed to the card), the header carries its low
/// half, and the IV is the 64-bit number (RFC 4106 as the card and `esp` build it).
/// That the number was not taken before is the sent window's check. `Err` says what
/// broke.
fn check_sequence(res: &PacketResult, floor: u64, high: u64) -> Result<(), String> {
    let seq = res.seq;
    if seq <= floor {
        return Err(format!(
            "sequence number {seq} not above {floor}, where the card's numbering restarted"
        ));
    }
    if seq > high {
        return Err(format!(
            "sequence number {seq} above {high}, the highest handed to the card"
        ));
    }
    let view = esp::wire::esp::EspPacket::new_checked(&res.data[..])
        .map_err(|_| "datagram shorter than the ESP header".to_string())?;
    if view.seq_lo() != seq as u32 {
        return Err(format!(
            "header sequence number {:#010x}, result says {seq}",
            view.seq_lo()
        ));
    }
    match view.body().get(..8) {
        Some(iv) if iv == seq.to_be_bytes() => Ok(()),
        Some(iv) => Err(format!(
            "IV {} is not the sequence number {seq}",
            u64::from_be_bytes(iv.try_into().unwrap_or([0; 8]))
        )),
        None => Err("datagram shorter than the IV".into()),
    }
}

/// True for errors where the card refuses an SA (the card itself is fine).
fn is_refusal(e: &DriverError) -> bool {
    matches!(
        e,
        DriverError::SaUnsupported { .. } | DriverError::SaTableFull { .. }
    )
}

#[cfg(test)]
mod tests;
