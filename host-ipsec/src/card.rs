//! The card path: SA halves carried by the driver's offload layer
//! (`driver::Offload`), which applies each SA's offload policy: under `auto` an SA
//! the card refuses, or a card that faults, continues in software with the same
//! bytes on the wire; under `card` the fault fails the SA's packets
//! (`PacketError::CardFailed`, kept as the `source` of [`CardError::Packet`]).
//! Whole batches go to the driver in one call; the datagrams are copied into the
//! caller's buffers.
//!
//! Lifetimes are counted here, on a meter per SA half, over every packet the
//! engine carried (on the card or in the driver's software): a packet past a hard
//! packet or byte limit never reaches the engine (outbound) or is not delivered
//! (inbound), and the first packet that finds a soft limit reached (packets,
//! bytes, or the sequence space by the number the card gave it) is reported in its
//! `soft_expired`. The card's own counter stops at the last sequence number
//! (`EncapError::RekeyRequired`).
//!
//! One engine per daemon, shared by the SAs on it: the card is one device. SAs with
//! `offload = software` never touch it and stay lock-free. On a card with DMA queues
//! each data-path worker gets a *lane* of its own ([`WorkerLane`], the driver's
//! `offload::Lane`: one queue pair, its own interrupt eventfd), bound to the worker
//! thread with [`bind_lane`]: its batches lock the engine only to reserve sequence
//! numbers and to check the results, so the card works on several workers' batches at
//! once. The engine's own queue (queue 0) carries the batches of threads without a
//! lane (more workers than queue pairs, the lab tools).
//!
//! Backends: `model` (the driver's register-level model of the card, for tests and
//! demos without the simulator) and `sim` (the Verilator model of the generated RTL;
//! cargo feature `sim`). A card with DMA queues (`Capabilities::DMA`, both backends
//! today) moves packets by DMA: rings of `defaults::CARD_RING_LOG2`, whole batches
//! posted with one doorbell, completions taken on the interrupt's eventfd, the card
//! fenced after `defaults::CARD_COMPLETION_TIMEOUT` without one. A card without them
//! uses the MMIO packet window (and no lanes).

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use esp::LifetimeMeter;

use driver::dma::{DmaPortConfig, DmaPortStats, DmaWiring, IovaTable, IrqEvent, QueueConfig};
use driver::offload::{
    DataPath, InPacket, Lane, OffloadConfig, OpenedPacket, OutPacket, PacketError, SaId,
    SealedPacket,
};
use driver::{
    Card, CardConfig, Direction, DmaPort, DriverError, Offload, OffloadPolicy, PacketPort, RegIo,
    SaIndex, SharedRegs,
};
use esp::{DecapError, EncapError, Opened, SaConfig, Sealed, SeqNum, Transform};

pub use crate::card_error::CardError;
use crate::config::{CardVerify, OffloadDevice};
use crate::defaults;
use crate::faults::{FaultAction, FaultSchedule};
use crate::path::{InboundPath, OpenError, OutboundPath, PathKind, SealError, SealJob};
use crate::state::Gate;

/// Results of a sealed batch, one per packet in order (a card fault under
/// `offload = card` is each packet's `PacketError::CardFailed`).
pub type SealResults = Vec<Result<SealedPacket, PacketError>>;
/// Results of an opened batch, one per datagram in order.
pub type OpenResults = Vec<Result<OpenedPacket, PacketError>>;

/// What the data path needs from an offload engine (object-safe over backends):
/// the driver's `Offload` with its batch calls and error kinds as they are.
pub trait Engine: Send {
    /// Adds an SA half under its offload policy.
    fn add_sa(
        &mut self,
        cfg: &SaConfig,
        dir: Direction,
        policy: OffloadPolicy,
    ) -> Result<SaId, DriverError>;
    /// Removes an SA half.
    fn remove_sa(&mut self, id: SaId) -> Result<(), DriverError>;
    /// Where it runs now.
    fn placement(&self, id: SaId) -> Option<DataPath>;
    /// Places inbound SA `id`'s replay window at `next` (see
    /// `Offload::start_inbound_window`).
    fn start_inbound_window(&mut self, id: SaId, next: u64) -> Result<(), DriverError>;
    /// Next outbound sequence number.
    fn next_seq(&self, id: SaId) -> Option<u64>;
    /// Seals a batch (any SAs), one driver call.
    fn seal_batch(&mut self, pkts: &[OutPacket<'_>]) -> SealResults;
    /// Opens a batch (any SAs), one driver call.
    fn open_batch(&mut self, pkts: &[InPacket<'_>]) -> OpenResults;
    /// Takes back result buffers copied out (see `Offload::recycle`).
    fn recycle(&mut self, bufs: &mut Vec<Vec<u8>>);
    /// The engine's counters (packets per path, faults, SAs moved).
    fn counters(&self) -> driver::offload::OffloadCounters;
    /// What the card's DMA port counted (`None` on the MMIO window or without a card).
    fn dma_stats(&self) -> Option<driver::dma::DmaPortStats>;
    /// Moves the card's counter of outbound SA `id` (SPI `spi`, on the card) so the
    /// next packet gets `next` (a restart with the same keys resumes its saved
    /// counter). The driver's shadow moves too, so a later fallback continues there.
    fn resume_outbound(&mut self, id: SaId, spi: u32, next: u64) -> Result<(), CardError>;
    /// False once a fault fenced the card off.
    fn healthy(&self) -> bool;
    /// Tries to bring a fenced card back (wipe, reload the SAs a fault moved to
    /// software, sequence numbers continuing); returns how many SAs went back.
    fn recover(&mut self) -> Result<usize, DriverError>;

    /// Seals one payload (a batch of one; for the lab tools): datagram and number.
    fn seal(
        &mut self,
        id: SaId,
        payload: &[u8],
        next_header: u8,
    ) -> Result<(Vec<u8>, u64), CardError> {
        let r = self.seal_batch(&[OutPacket {
            sa: id,
            payload,
            next_header,
        }]);
        match one(r)? {
            Ok(s) => Ok((s.datagram, s.seq)),
            Err(e) => Err(CardError::Packet(e)),
        }
    }
    /// Opens one datagram (a batch of one; for the lab tools): payload, next
    /// header and number.
    fn open(&mut self, id: SaId, datagram: &[u8]) -> Result<(Vec<u8>, u8, u64), CardError> {
        match one(self.open_batch(&[InPacket { sa: id, datagram }]))? {
            Ok(o) => Ok((o.payload, o.next_header, o.seq)),
            Err(e) => Err(CardError::Packet(e)),
        }
    }
}

/// The single result of a batch of one.
fn one<T>(mut v: Vec<T>) -> Result<T, CardError> {
    let got = v.len();
    match (v.pop(), got) {
        (Some(r), 1) => Ok(r),
        _ => Err(CardError::ResultCount { sent: 1, got }),
    }
}

impl<R: RegIo + Send, P: PacketPort<R> + Send> Engine for Offload<R, P> {
    fn add_sa(
        &mut self,
        cfg: &SaConfig,
        dir: Direction,
        policy: OffloadPolicy,
    ) -> Result<SaId, DriverError> {
        Offload::add_sa(self, cfg, dir, policy)
    }
    fn remove_sa(&mut self, id: SaId) -> Result<(), DriverError> {
        Offload::remove_sa(self, id)
    }
    fn placement(&self, id: SaId) -> Option<DataPath> {
        Offload::placement(self, id)
    }
    fn start_inbound_window(&mut self, id: SaId, next: u64) -> Result<(), DriverError> {
        Offload::start_inbound_window(self, id, next)
    }
    fn next_seq(&self, id: SaId) -> Option<u64> {
        Offload::next_seq(self, id)
    }
    fn seal_batch(&mut self, pkts: &[OutPacket<'_>]) -> SealResults {
        Offload::seal_batch(self, pkts)
    }
    fn open_batch(&mut self, pkts: &[InPacket<'_>]) -> OpenResults {
        Offload::open_batch(self, pkts)
    }
    fn recycle(&mut self, bufs: &mut Vec<Vec<u8>>) {
        Offload::recycle(self, bufs)
    }
    fn counters(&self) -> driver::offload::OffloadCounters {
        Offload::counters(self)
    }
    fn dma_stats(&self) -> Option<driver::dma::DmaPortStats> {
        Offload::dma_stats(self)
    }
    fn healthy(&self) -> bool {
        self.card_healthy()
    }
    fn recover(&mut self) -> Result<usize, DriverError> {
        self.recover_card()
    }
    fn resume_outbound(&mut self, id: SaId, spi: u32, next: u64) -> Result<(), CardError> {
        let not = |why: &'static str| CardError::Resume { spi, why };
        if Offload::placement(self, id) != Some(DataPath::Card) || next == 0 {
            return Err(not("the SA is not on the card"));
        }
        let card = self.card_mut().ok_or(not("no card"))?;
        let ix = (0..card.capacity())
            .filter_map(|i| u16::try_from(i).ok().map(SaIndex))
            .find(|&ix| {
                card.shadow(ix)
                    .is_some_and(|s| s.spi == spi && s.direction == Direction::Outbound)
            })
            .ok_or(not("not in the card's SA table"))?;
        let mut sa = card.shadow(ix).cloned().ok_or(not("no shadow"))?;
        sa.seq = next - 1;
        card.update_sa(ix, sa)?;
        match Offload::next_seq(self, id) {
            Some(n) if n == next => Ok(()),
            reads => Err(CardError::ResumeMismatch {
                spi,
                want: next,
                reads,
            }),
        }
    }
}

/// The shared engine.
pub type SharedEngine = Arc<Mutex<dyn Engine>>;

/// Takes the engine's lock; a poisoned lock is an error of its own kind.
pub fn lock(engine: &SharedEngine) -> Result<MutexGuard<'_, dyn Engine + 'static>, CardError> {
    engine.lock().map_err(|_| CardError::Poisoned)
}

/// A worker's lane on the card: its own DMA queue pair, over which it seals and
/// opens whole batches, the engine locked only before and after the card's work.
pub trait WorkerLane: Send {
    /// Seals a batch (any SAs of the engine).
    fn seal_batch(&mut self, pkts: &[OutPacket<'_>]) -> SealResults;
    /// Opens a batch (any SAs of the engine).
    fn open_batch(&mut self, pkts: &[InPacket<'_>]) -> OpenResults;
    /// Takes back result buffers copied out, for the lane's next completions.
    fn recycle(&mut self, bufs: &mut Vec<Vec<u8>>);
    /// True when the lane belongs to `engine`.
    fn serves(&self, engine: &SharedEngine) -> bool;
    /// The queue pair it drives.
    fn queue(&self) -> u32;
}

/// What a lane's port counted, published after each batch (never waited for: a
/// status reader holding it makes the lane skip one update).
#[derive(Debug, Default)]
pub struct LaneStats(Mutex<DmaPortStats>);

impl LaneStats {
    /// The last published counters.
    pub fn get(&self) -> DmaPortStats {
        self.0.lock().map(|g| *g).unwrap_or_default()
    }
    fn publish(&self, s: DmaPortStats) {
        if let Ok(mut g) = self.0.try_lock() {
            *g = s;
        }
    }
}

/// The sum of DMA port counters (the engine's own queue and the lanes').
pub fn sum_dma(parts: impl IntoIterator<Item = DmaPortStats>) -> DmaPortStats {
    parts
        .into_iter()
        .fold(DmaPortStats::default(), |a, b| DmaPortStats {
            batches: a.batches + b.batches,
            packets: a.packets + b.packets,
            doorbells: a.doorbells + b.doorbells,
            interrupts: a.interrupts + b.interrupts,
            ring_full_waits: a.ring_full_waits + b.ring_full_waits,
            setups: a.setups + b.setups,
            timeouts: a.timeouts + b.timeouts,
        })
}

/// A lane bound to its engine (typed: the same allocation as the `SharedEngine`).
struct BoundLane<R: DmaWiring> {
    engine: Arc<Mutex<CardOffload<R>>>,
    shared: SharedEngine,
    lane: Lane<SharedRegs<R>, IovaTable>,
    stats: Arc<LaneStats>,
}

/// The engine over a card with DMA queues.
type CardOffload<R> = Offload<SharedRegs<R>, DmaPort<IovaTable>>;

impl<R: DmaWiring + Send + 'static> WorkerLane for BoundLane<R> {
    fn seal_batch(&mut self, pkts: &[OutPacket<'_>]) -> SealResults {
        let r = Offload::seal_batch_on(&self.engine, &mut self.lane, pkts);
        self.stats.publish(self.lane.stats());
        r
    }
    fn open_batch(&mut self, pkts: &[InPacket<'_>]) -> OpenResults {
        let r = Offload::open_batch_on(&self.engine, &mut self.lane, pkts);
        self.stats.publish(self.lane.stats());
        r
    }
    fn recycle(&mut self, bufs: &mut Vec<Vec<u8>>) {
        self.lane.recycle(bufs)
    }
    fn serves(&self, engine: &SharedEngine) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.shared), Arc::as_ptr(engine))
    }
    fn queue(&self) -> u32 {
        self.lane.queue()
    }
}

thread_local! {
    /// The calling worker's lane ([`bind_lane`]).
    static LANE: RefCell<Option<Box<dyn WorkerLane>>> = const { RefCell::new(None) };
}

/// Gives the calling thread (a data-path worker) its lane: from now on its card
/// batches on the lane's engine go through it.
pub fn bind_lane(lane: Box<dyn WorkerLane>) {
    tracing::debug!(queue = lane.queue(), "worker bound to its DMA queue pair");
    LANE.with(|l| *l.borrow_mut() = Some(lane));
}

/// Runs `f` on the calling thread's lane if it serves `engine` (`None`: no lane,
/// the batch goes through the engine's own queue).
fn on_lane<X>(engine: &SharedEngine, f: impl FnOnce(&mut dyn WorkerLane) -> X) -> Option<X> {
    LANE.with(|l| match l.try_borrow_mut() {
        Ok(mut g) => match g.as_mut() {
            Some(lane) if lane.serves(engine) => Some(f(lane.as_mut())),
            _ => None,
        },
        Err(_) => None,
    })
}

/// Hands the buffers of results copied out back to where they came from (the
/// calling worker's lane, or the engine's queue).
fn give_back(engine: &SharedEngine, spent: &mut Vec<Vec<u8>>) {
    if spent.is_empty() {
        return;
    }
    if on_lane(engine, |l| l.recycle(spent)).is_none() {
        if let Ok(mut e) = lock(engine) {
            e.recycle(spent);
        }
    }
}

/// The opened card backend: the engine and, on a card with DMA queues, one lane per
/// queue pair besides the engine's own, for the data-path workers.
pub struct OpenedCard {
    /// The engine.
    pub engine: SharedEngine,
    /// Lanes not yet given to a worker.
    pub lanes: Vec<Box<dyn WorkerLane>>,
    /// Each lane's published counters (same order as created).
    pub lane_stats: Vec<Arc<LaneStats>>,
}

impl std::fmt::Debug for OpenedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedCard")
            .field("lanes", &self.lanes.len())
            .finish()
    }
}

/// Why no engine could be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Probing the card failed.
    #[error("card probe failed: {0}")]
    Probe(#[source] DriverError),
    /// The simulator did not start.
    #[cfg(feature = "sim")]
    #[error("the simulated card did not start: {0}")]
    Sim(#[source] sim::SimError),
    /// The backend is not in this build.
    #[error("{0}")]
    NotBuilt(&'static str),
    /// The fault-schedule thread could not start.
    #[error("cannot start the fault schedule thread: {0}")]
    Thread(#[source] std::io::Error),
}

fn offload_cfg(verify: CardVerify) -> OffloadConfig {
    OffloadConfig {
        verify_every: verify.every(),
        ..OffloadConfig::default()
    }
}

/// The engine over `regs` with the MMIO packet window (a card without DMA queues).
fn engine_over_window<R: RegIo + Send + 'static>(
    regs: R,
    verify: CardVerify,
) -> Result<OpenedCard, EngineError> {
    let card = Card::probe(regs, CardConfig::default()).map_err(EngineError::Probe)?;
    let off = Offload::new(Some(card), offload_cfg(verify));
    Ok(OpenedCard {
        engine: Arc::new(Mutex::new(off)),
        lanes: Vec::new(),
        lane_stats: Vec::new(),
    })
}

/// The engine over `regs`: packets move by DMA through queue 0 (interrupt on
/// vector 0, batches posted with one doorbell) for callers without a lane, and
/// through lanes on queues 1.. (up to `lanes` of them, interrupt vector = queue) for
/// the workers, when the card has DMA queues; else through the MMIO window. `timeout`
/// is how long a batch may wait with no completion before the card is fenced.
fn engine_over<R: DmaWiring + Send + 'static>(
    mut regs: R,
    verify: CardVerify,
    timeout: Duration,
    lanes: usize,
) -> Result<OpenedCard, EngineError> {
    let ident = driver::card::read_identity(&mut regs).map_err(EngineError::Probe)?;
    if !ident.has_dma() {
        return engine_over_window(regs, verify);
    }
    let queues = driver::card::read_dma_queues(&mut regs).map_err(EngineError::Probe)?;
    let regs = SharedRegs::new(regs);
    let irq = IrqEvent::new(defaults::CARD_IRQ_VECTOR).map_err(EngineError::Probe)?;
    let signal = irq.signaller().map_err(EngineError::Probe)?;
    if !regs.clone().connect_irq(defaults::CARD_IRQ_VECTOR, signal) {
        return Err(EngineError::Probe(DriverError::Capability(format!(
            "the card has no interrupt vector {}",
            defaults::CARD_IRQ_VECTOR
        ))));
    }
    let cfg = DmaPortConfig {
        queue: QueueConfig {
            ring_log2: defaults::CARD_RING_LOG2,
            irq_vector: Some(defaults::CARD_IRQ_VECTOR),
            ..QueueConfig::default()
        },
        completion_timeout: timeout,
        ..DmaPortConfig::default()
    };
    let port =
        DmaPort::new(regs.host_memory(), cfg, Some(Box::new(irq))).map_err(EngineError::Probe)?;
    let card_cfg = CardConfig::default();
    let card = Card::probe_with_port(regs.clone(), port, card_cfg).map_err(EngineError::Probe)?;
    let typed = Arc::new(Mutex::new(Offload::new(Some(card), offload_cfg(verify))));
    let shared: SharedEngine = typed.clone();
    let mut opened = OpenedCard {
        engine: shared.clone(),
        lanes: Vec::new(),
        lane_stats: Vec::new(),
    };
    for q in (1..queues).take(lanes) {
        let lane = Lane::open(&regs, q, cfg, card_cfg.poll_limit).map_err(EngineError::Probe)?;
        let stats = Arc::new(LaneStats::default());
        opened.lane_stats.push(stats.clone());
        opened.lanes.push(Box::new(BoundLane {
            engine: typed.clone(),
            shared: shared.clone(),
            lane,
            stats,
        }));
    }
    Ok(opened)
}

/// Opens the configured card backend (None for `offload_device = "none"`).
/// (no lanes: every batch goes through the engine's own queue; for the lab tools).
pub fn open(device: OffloadDevice) -> Result<Option<SharedEngine>, EngineError> {
    Ok(open_with(device, &FaultSchedule::default(), defaults::CARD_VERIFY, 0)?.map(|o| o.engine))
}

fn apply_fault(h: &driver::model::FaultHandle, a: FaultAction) {
    tracing::warn!(fault = ?a, "model card: injecting fault");
    match a {
        FaultAction::Hang => h.hang_after(0),
        FaultAction::Heal => h.heal(),
        FaultAction::Corrupt(n) => h.corrupt_next(n),
        FaultAction::Reset => h.reset_after(0),
        FaultAction::Slow(p) => h.slow(p),
        FaultAction::Reject(spi) => h.reject_spi(spi),
        FaultAction::RepeatIv(n) => h.repeat_iv(n),
        FaultAction::StepBack(k) => h.step_back(k),
    }
}

/// Applies the steps due at start and hands the rest to a thread that watches
/// the model's completion count (it ends when the schedule is done).
fn run_schedule(
    h: driver::model::FaultHandle,
    schedule: &FaultSchedule,
) -> Result<(), EngineError> {
    let mut later = Vec::new();
    for &(at, a) in &schedule.steps {
        if at == 0 {
            apply_fault(&h, a);
        } else {
            later.push((at, a));
        }
    }
    if later.is_empty() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("ipsecd-faults".into())
        .spawn(move || {
            for (at, a) in later {
                while h.lock().packets_done < at {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                apply_fault(&h, a);
            }
        })
        .map(|_| ())
        .map_err(EngineError::Thread)
}

/// Opens the configured card backend with a fault schedule (model backend only),
/// the share of card results checked in software and up to `lanes` worker lanes (as
/// many as the card has queue pairs besides the engine's own).
pub fn open_with(
    device: OffloadDevice,
    faults: &FaultSchedule,
    verify: CardVerify,
    lanes: usize,
) -> Result<Option<OpenedCard>, EngineError> {
    if !faults.is_empty() && device != OffloadDevice::Model {
        return Err(EngineError::NotBuilt(
            "a fault schedule (model_faults) needs offload_device = \"model\"",
        ));
    }
    match device {
        OffloadDevice::None => Ok(None),
        OffloadDevice::Model => {
            let model = driver::model::ModelCard::new();
            let h = model.faults();
            let engine = engine_over(model, verify, defaults::CARD_COMPLETION_TIMEOUT, lanes)?;
            run_schedule(h, faults)?;
            Ok(Some(engine))
        }
        #[cfg(feature = "sim")]
        OffloadDevice::Sim => {
            let sim = sim::SimCard::new().map_err(EngineError::Sim)?;
            // The simulated card runs some hundred thousand cycles a second: a full
            // ring of large packets takes it a good part of a second.
            engine_over(sim, verify, defaults::SIM_COMPLETION_TIMEOUT, lanes).map(Some)
        }
        #[cfg(not(feature = "sim"))]
        OffloadDevice::Sim => Err(EngineError::NotBuilt(
            "offload_device = \"sim\" needs ipsecd built with `--features sim` (the Verilator model)",
        )),
    }
}

fn kind_of(p: Option<DataPath>) -> PathKind {
    match p {
        Some(DataPath::Card) => PathKind::Card,
        _ => PathKind::Software,
    }
}

/// Outbound half on the engine.
pub struct CardOutbound {
    engine: SharedEngine,
    id: SaId,
    spi: u32,
    transform: Transform,
    /// Manual SAs: the durably reserved end ([`crate::state`]).
    gate: Option<Arc<Gate>>,
    life: Arc<LifetimeMeter>,
}

/// Inbound half on the engine.
pub struct CardInbound {
    engine: SharedEngine,
    id: SaId,
    transform: Transform,
    life: Arc<LifetimeMeter>,
}

impl std::fmt::Debug for CardOutbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardOutbound({:?})", self.id)
    }
}

impl std::fmt::Debug for CardInbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardInbound({:?})", self.id)
    }
}

impl Drop for CardOutbound {
    fn drop(&mut self) {
        if let Ok(mut e) = lock(&self.engine) {
            let _ = e.remove_sa(self.id);
        }
    }
}

impl Drop for CardInbound {
    fn drop(&mut self) {
        if let Ok(mut e) = lock(&self.engine) {
            let _ = e.remove_sa(self.id);
        }
    }
}

/// Adds both halves to the engine under `policy`. Returns them and where the pair runs.
pub fn add_pair(
    engine: &SharedEngine,
    out_cfg: &SaConfig,
    in_cfg: &SaConfig,
    policy: OffloadPolicy,
) -> Result<(CardOutbound, CardInbound, PathKind), CardError> {
    let mut e = lock(engine)?;
    let oid = e.add_sa(out_cfg, Direction::Outbound, policy)?;
    let iid = match e.add_sa(in_cfg, Direction::Inbound, policy) {
        Ok(i) => i,
        Err(err) => {
            let _ = e.remove_sa(oid);
            return Err(err.into());
        }
    };
    let kind = if kind_of(e.placement(oid)) == PathKind::Card
        && kind_of(e.placement(iid)) == PathKind::Card
    {
        PathKind::Card
    } else {
        PathKind::Software
    };
    drop(e);
    Ok((
        CardOutbound {
            engine: engine.clone(),
            id: oid,
            spi: out_cfg.spi.0,
            transform: out_cfg.transform,
            gate: None,
            life: Arc::new(LifetimeMeter::new(out_cfg.lifetime, out_cfg.esn)),
        },
        CardInbound {
            engine: engine.clone(),
            id: iid,
            transform: in_cfg.transform,
            life: Arc::new(LifetimeMeter::new(in_cfg.lifetime, in_cfg.esn)),
        },
        kind,
    ))
}

impl CardOutbound {
    /// Never submits a packet whose number would reach `gate`'s durable limit.
    pub fn with_gate(mut self, gate: Option<Arc<Gate>>) -> Self {
        self.gate = gate;
        self
    }

    /// Moves the card's counter so the next packet gets `next` (see
    /// [`Engine::resume_outbound`]).
    pub fn resume(&self, next: u64) -> Result<(), CardError> {
        lock(&self.engine)?.resume_outbound(self.id, self.spi, next)
    }
}

/// Copies a sealed datagram into the caller's buffer.
fn sealed_into(out: &mut [u8], s: &SealedPacket) -> Result<Sealed, SealError> {
    let (need, have) = (s.datagram.len(), out.len());
    out.get_mut(..need)
        .ok_or(EncapError::BufferTooSmall { need, have })?
        .copy_from_slice(&s.datagram);
    Ok(Sealed {
        len: need,
        seq: SeqNum(s.seq),
        soft_expired: false,
    })
}

/// Copies an opened payload into its datagram where the software path leaves it
/// (after the ESP header), so both paths give the same `Opened`.
fn opened_into(
    datagram: &mut [u8],
    header_len: usize,
    o: &OpenedPacket,
) -> Result<Opened, OpenError> {
    let range = header_len..header_len + o.payload.len();
    datagram
        .get_mut(range.clone())
        .ok_or(DecapError::Truncated("payload"))?
        .copy_from_slice(&o.payload);
    Ok(Opened {
        seq: SeqNum(o.seq),
        next_header: o.next_header,
        payload: range,
        soft_expired: false,
    })
}

impl OutboundPath for CardOutbound {
    fn seal_batch(
        &self,
        jobs: &mut [SealJob<'_>],
        results: &mut Vec<Result<Sealed, SealError>>,
    ) -> Result<(), CardError> {
        // Manual SAs: only as many packets as there are numbers below the durable
        // limit go to the engine. Other workers' lanes may take numbers meanwhile:
        // whatever the engine numbers at or past the limit is refused below and
        // never leaves.
        let (limit, room) = match &self.gate {
            Some(g) => {
                let limit = g.limit();
                let next = lock(&self.engine)?.next_seq(self.id).unwrap_or(u64::MAX);
                let room = usize::try_from(limit.saturating_sub(next)).unwrap_or(usize::MAX);
                (Some(limit), room)
            }
            None => (None, usize::MAX),
        };
        // Past the durable limit or a hard lifetime a packet never reaches the engine.
        let mut taken = 0usize;
        let admitted: Vec<Result<esp::Usage, EncapError>> = jobs
            .iter()
            .map(|j| {
                if taken >= room {
                    return Err(EncapError::RekeyRequired);
                }
                let at = self
                    .life
                    .admit(j.payload.len())
                    .ok_or(EncapError::HardLifetime)?;
                taken += 1;
                Ok(at)
            })
            .collect();
        if let Some(g) = &self.gate {
            let unreserved = admitted
                .iter()
                .filter(|a| matches!(a, Err(EncapError::RekeyRequired)))
                .count();
            if unreserved > 0 {
                g.refused(unreserved as u64);
            }
        }
        // the engine numbers packets itself (the card's counter, or the software
        // SA it falls back to, which continues after the card's last number)
        let pkts: Vec<OutPacket<'_>> = jobs
            .iter()
            .zip(&admitted)
            .filter(|(_, a)| a.is_ok())
            .map(|(j, _)| OutPacket {
                sa: self.id,
                payload: j.payload,
                next_header: j.next_header,
            })
            .collect();
        let sealed = if pkts.is_empty() {
            Vec::new()
        } else {
            match on_lane(&self.engine, |l| l.seal_batch(&pkts)) {
                Some(r) => r,
                None => lock(&self.engine)?.seal_batch(&pkts),
            }
        };
        let next = match &self.gate {
            Some(_) => lock(&self.engine)?.next_seq(self.id),
            None => None,
        };
        if sealed.len() != pkts.len() {
            return Err(CardError::ResultCount {
                sent: pkts.len(),
                got: sealed.len(),
            });
        }
        if let (Some(g), Some(n)) = (&self.gate, next) {
            g.note_next(n);
        }
        let sent = pkts.len();
        drop(pkts);
        let mut spent = Vec::with_capacity(sent);
        let mut sealed = sealed.into_iter();
        for (j, a) in jobs.iter_mut().zip(admitted) {
            let r = match a {
                Ok(at) => sealed.next().map(|r| r.map(|s| (s, at))),
                Err(e) => Some(Err(PacketError::Encap(e))),
            };
            results.push(match r {
                // a number the engine chose at or past the limit never leaves
                Some(Ok((s, _))) if limit.is_some_and(|l| s.seq >= l) => {
                    if let Some(g) = &self.gate {
                        g.refused(1);
                    }
                    Err(SealError::Encap(EncapError::RekeyRequired))
                }
                Some(Ok((s, at))) => {
                    let r = sealed_into(j.out, &s).map(|mut x| {
                        x.soft_expired = self.life.soft_due(x.seq, at);
                        x
                    });
                    spent.push(s.datagram);
                    r
                }
                Some(Err(PacketError::Encap(e))) => Err(SealError::Encap(e)),
                Some(Err(e)) => Err(SealError::Card(CardError::Packet(e))),
                // not reached: the engine gave one result per packet sent
                None => Err(SealError::Card(CardError::ResultCount { sent, got: 0 })),
            });
        }
        give_back(&self.engine, &mut spent);
        Ok(())
    }
    fn header_len(&self) -> usize {
        self.transform.header_len()
    }
    fn datagram_len(&self, payload_len: usize) -> usize {
        esp::esp_datagram_len(self.transform, payload_len)
    }
    fn next_seq(&self) -> Option<SeqNum> {
        lock(&self.engine).ok()?.next_seq(self.id).map(SeqNum)
    }
    fn kind(&self) -> PathKind {
        lock(&self.engine)
            .map(|e| kind_of(e.placement(self.id)))
            .unwrap_or(PathKind::Software)
    }
    fn lifetime(&self) -> &Arc<LifetimeMeter> {
        &self.life
    }
}

impl InboundPath for CardInbound {
    fn open_batch(
        &mut self,
        datagrams: &mut [&mut [u8]],
        results: &mut Vec<Result<Opened, OpenError>>,
    ) -> Result<(), CardError> {
        if self.life.hard_reached() {
            // past a hard limit nothing reaches the engine
            results.extend(
                datagrams
                    .iter()
                    .map(|_| Err(OpenError::Decap(DecapError::HardLifetime))),
            );
            return Ok(());
        }
        let pkts: Vec<InPacket<'_>> = datagrams
            .iter()
            .map(|d| InPacket {
                sa: self.id,
                datagram: d,
            })
            .collect();
        let opened = match on_lane(&self.engine, |l| l.open_batch(&pkts)) {
            Some(r) => r,
            None => lock(&self.engine)?.open_batch(&pkts),
        };
        drop(pkts);
        if opened.len() != datagrams.len() {
            return Err(CardError::ResultCount {
                sent: datagrams.len(),
                got: opened.len(),
            });
        }
        let hl = self.transform.header_len();
        let mut spent = Vec::with_capacity(opened.len());
        for (d, r) in datagrams.iter_mut().zip(opened) {
            results.push(match r {
                // a batch may cross the hard limit: what is past it is not delivered
                Ok(o) => {
                    let r = match self.life.admit(o.payload.len()) {
                        None => Err(OpenError::Decap(DecapError::HardLifetime)),
                        Some(at) => opened_into(d, hl, &o).map(|mut x| {
                            x.soft_expired = self.life.soft_due(x.seq, at);
                            x
                        }),
                    };
                    spent.push(o.payload);
                    r
                }
                Err(PacketError::Decap(e)) => Err(OpenError::Decap(e)),
                Err(e) => Err(OpenError::Card(CardError::Packet(e))),
            });
        }
        give_back(&self.engine, &mut spent);
        Ok(())
    }
    fn kind(&self) -> PathKind {
        lock(&self.engine)
            .map(|e| kind_of(e.placement(self.id)))
            .unwrap_or(PathKind::Software)
    }
    fn lifetime(&self) -> &Arc<LifetimeMeter> {
        &self.life
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_batches_never_pass_the_durable_limit() {
        use crate::state::{Gate, Waker};
        let model = driver::model::ModelCard::new();
        let engine = engine_over(
            model,
            defaults::CARD_VERIFY,
            defaults::CARD_COMPLETION_TIMEOUT,
            0,
        )
        .expect("engine")
        .engine;
        let key = [5u8; 20];
        let oc = SaConfig::new(esp::Spi(0xa3), Transform::AesGcm128, &key).expect("cfg");
        let ic = SaConfig::new(esp::Spi(0xb3), Transform::AesGcm128, &key).expect("cfg");
        let (o, _i, kind) = add_pair(&engine, &oc, &ic, OffloadPolicy::Auto).expect("pair");
        assert_eq!(kind, PathKind::Card);
        let global = Arc::new(crate::stats::GlobalCounters::default());
        // numbers 1..=5 are durably reserved
        let gate = Arc::new(Gate::new(
            0xa3,
            "k".into(),
            u64::from(u32::MAX),
            6,
            Arc::new(Waker::default()),
            global.clone(),
        ));
        let o = o.with_gate(Some(gate.clone()));
        let payloads = [[0x45u8; 60]; 8];
        let mut bufs = vec![vec![0u8; 256]; 8];
        let mut jobs = crate::path::jobs(&payloads, &mut bufs, 4);
        let mut results = Vec::new();
        o.seal_batch(&mut jobs, &mut results).expect("batch");
        assert_eq!(results.len(), 8);
        let sealed: Vec<u64> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|s| s.seq.0))
            .collect();
        assert_eq!(sealed, vec![1, 2, 3, 4, 5]);
        assert_eq!(crate::stats::get(&global.seq_unreserved_drops), 3);
        // the card did not use the refused numbers: raised, it continues at 6
        gate.raise(100);
        let mut buf = vec![0u8; 256];
        assert_eq!(o.seal(&[0x45; 60], 4, &mut buf).expect("sealed").seq.0, 6);
    }

    /// Seals `n` packets on a model card whose first result is corrupted in its
    /// ciphertext (SPI, number and IV intact, so only a software check can see it);
    /// returns the SA's path afterwards and whether each datagram opens with an
    /// independent inbound SA.
    fn corrupt_first_result(verify: CardVerify, n: usize) -> (PathKind, Vec<bool>) {
        let model = driver::model::ModelCard::new();
        let h = model.faults();
        let engine = engine_over(model, verify, defaults::CARD_COMPLETION_TIMEOUT, 0)
            .expect("engine")
            .engine;
        let key = [0x3cu8; 20];
        let oc = SaConfig::new(esp::Spi(0xa7), Transform::AesGcm128, &key).expect("cfg");
        let ic = SaConfig::new(esp::Spi(0xb7), Transform::AesGcm128, &[0x4d; 20]).expect("cfg");
        let (o, _i, kind) = add_pair(&engine, &oc, &ic, OffloadPolicy::Auto).expect("pair");
        assert_eq!(kind, PathKind::Card);
        h.corrupt_next(1);
        let mut peer = esp::InboundSa::new(&oc).expect("peer");
        let mut opens = Vec::new();
        for _ in 0..n {
            let mut buf = vec![0u8; 256];
            let s = o
                .seal(&[0x45; 60], 4, &mut buf)
                .expect("sealed on some path");
            opens.push(peer.open(&mut buf[..s.len]).is_ok());
        }
        (o.kind(), opens)
    }

    #[test]
    fn verify_all_catches_the_first_corrupt_result_and_never_releases_it() {
        let (kind, opens) = corrupt_first_result(CardVerify::All, 4);
        assert_eq!(kind, PathKind::Software, "card not fenced off");
        assert_eq!(opens, vec![true; 4], "a corrupt datagram left the engine");
    }

    #[test]
    fn verify_off_checks_no_result_in_software() {
        // With no software check, ciphertext corruption passes the per-result checks
        // (SPI, number, IV): the peer refuses that datagram, and the card stays on.
        let (kind, opens) = corrupt_first_result(CardVerify::Off, 4);
        assert_eq!(kind, PathKind::Card);
        assert_eq!(opens, vec![false, true, true, true]);
    }

    #[test]
    fn a_schedule_needs_the_model_backend() {
        let s = FaultSchedule::parse(&["hang@1"]).expect("valid");
        assert!(open_with(OffloadDevice::None, &s, defaults::CARD_VERIFY, 0).is_err());
    }

    #[test]
    fn scheduled_hang_fences_the_card_and_the_sa_continues_in_software() {
        let s = FaultSchedule::parse(&["hang@6"]).expect("valid");
        let engine = open_with(OffloadDevice::Model, &s, defaults::CARD_VERIFY, 0)
            .expect("model")
            .expect("engine")
            .engine;
        let key = [9u8; 20];
        let oc = SaConfig::new(esp::Spi(0xa1), Transform::AesGcm128, &key).expect("cfg");
        let ic = SaConfig::new(esp::Spi(0xb1), Transform::AesGcm128, &key).expect("cfg");
        let (o, _i, kind) = add_pair(&engine, &oc, &ic, OffloadPolicy::Auto).expect("pair");
        assert_eq!(kind, PathKind::Card);
        let mut seqs = Vec::new();
        let mut buf = vec![0u8; 256];
        for _ in 0..40 {
            let s = o
                .seal(&[0x45; 60], 4, &mut buf)
                .expect("sealed on some path");
            seqs.push(s.seq.0);
            // the schedule thread applies the hang once the card has done 6 things
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(o.kind(), PathKind::Software, "card not fenced off");
        let c = engine.lock().expect("engine").counters();
        assert!(c.card_faults >= 1 && c.sas_moved_to_software >= 1, "{c:?}");
        // one counter across the move: strictly increasing, none reused
        assert!(seqs.windows(2).all(|w| w[1] > w[0]), "{seqs:?}");
    }

    #[test]
    fn a_healed_card_takes_its_sas_back_and_the_counter_continues() {
        let model = driver::model::ModelCard::new();
        let h = model.faults();
        let engine = engine_over(
            model,
            defaults::CARD_VERIFY,
            defaults::CARD_COMPLETION_TIMEOUT,
            0,
        )
        .expect("engine")
        .engine;
        let key = [7u8; 20];
        let oc = SaConfig::new(esp::Spi(0xa2), Transform::AesGcm128, &key).expect("cfg");
        let ic = SaConfig::new(esp::Spi(0xb2), Transform::AesGcm128, &key).expect("cfg");
        let (o, _i, kind) = add_pair(&engine, &oc, &ic, OffloadPolicy::Auto).expect("pair");
        assert_eq!(kind, PathKind::Card);
        let mut buf = vec![0u8; 256];
        let mut seqs = Vec::new();
        let mut seal = |seqs: &mut Vec<u64>| {
            let s = o.seal(&[0x45; 60], 4, &mut buf).expect("sealed");
            seqs.push(s.seq.0);
        };
        seal(&mut seqs);
        apply_fault(&h, FaultAction::Hang);
        seal(&mut seqs);
        assert_eq!(o.kind(), PathKind::Software, "card not fenced off");
        assert!(!engine.lock().expect("engine").healthy());
        // still hung: recovery fails and the SA stays in software
        assert!(engine.lock().expect("engine").recover().is_err());
        seal(&mut seqs);
        assert_eq!(o.kind(), PathKind::Software);
        apply_fault(&h, FaultAction::Heal);
        let back = engine.lock().expect("engine").recover().expect("recovered");
        assert_eq!(back, 2, "both halves back on the card");
        assert_eq!(o.kind(), PathKind::Card);
        let done = h.lock().packets_done;
        seal(&mut seqs);
        assert!(h.lock().packets_done > done, "the card sealed it");
        assert!(seqs.windows(2).all(|w| w[1] > w[0]), "{seqs:?}");
    }

    #[test]
    fn workers_on_their_own_lanes_share_an_sa_with_every_number_once() {
        let opened = engine_over(
            driver::model::ModelCard::new(),
            CardVerify::Off,
            defaults::CARD_COMPLETION_TIMEOUT,
            4,
        )
        .expect("engine");
        // the model has 4 queue pairs: queue 0 for the engine, 3 lanes
        assert_eq!(opened.lanes.len(), 3);
        let key = [0x61u8; 20];
        let oc = SaConfig::new(esp::Spi(0xc1), Transform::AesGcm128, &key).expect("cfg");
        let ic = SaConfig::new(esp::Spi(0xd1), Transform::AesGcm128, &key).expect("cfg");
        let (o, _i, kind) = add_pair(&opened.engine, &oc, &ic, OffloadPolicy::Auto).expect("pair");
        assert_eq!(kind, PathKind::Card);
        let o = Arc::new(o);
        let mut threads = Vec::new();
        // three workers with lanes and one without (the engine's own queue)
        let mut lanes: Vec<Option<Box<dyn WorkerLane>>> =
            opened.lanes.into_iter().map(Some).collect();
        lanes.push(None);
        for (w, lane) in lanes.into_iter().enumerate() {
            let o = o.clone();
            threads.push(std::thread::spawn(move || {
                if let Some(l) = lane {
                    bind_lane(l);
                }
                let mut got = Vec::new();
                for round in 0..20u8 {
                    let payloads: Vec<Vec<u8>> = (0..8u8)
                        .map(|i| vec![w as u8 ^ round ^ i; 40 + usize::from(i) * 13])
                        .collect();
                    let mut bufs: Vec<Vec<u8>> =
                        payloads.iter().map(|p| vec![0u8; p.len() + 64]).collect();
                    let mut jobs = crate::path::jobs(&payloads, &mut bufs, 4);
                    let mut results = Vec::new();
                    o.seal_batch(&mut jobs, &mut results).expect("batch");
                    for ((p, b), r) in payloads.iter().zip(&bufs).zip(results) {
                        let s = r.expect("sealed");
                        got.push((p.clone(), b[..s.len].to_vec(), s.seq.0));
                    }
                }
                got
            }));
        }
        let mut all: Vec<(Vec<u8>, Vec<u8>, u64)> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("worker"))
            .collect();
        all.sort_by_key(|x| x.2);
        let seqs: Vec<u64> = all.iter().map(|x| x.2).collect();
        assert_eq!(seqs, (1..=640).collect::<Vec<u64>>(), "every number once");
        let mut peer = esp::InboundSa::new(&oc).expect("peer");
        for (p, mut d, seq) in all {
            let op = peer.open(&mut d).expect("opens");
            assert_eq!((&d[op.payload], op.seq.0), (&p[..], seq));
        }
        // the lanes carried their workers' batches (20 each), the engine's queue the rest
        let per_lane: Vec<u64> = opened.lane_stats.iter().map(|s| s.get().batches).collect();
        assert_eq!(per_lane, [20, 20, 20]);
        let own = lock(&opened.engine)
            .expect("lock")
            .dma_stats()
            .expect("dma");
        assert_eq!(own.batches, 20);
    }

    #[test]
    fn resume_moves_the_card_counter_and_the_shadow() {
        let engine = open(OffloadDevice::Model).expect("model").expect("engine");
        let key = [3u8; 20];
        let oc = SaConfig::new(esp::Spi(0xa2), Transform::AesGcm128, &key).expect("cfg");
        let ic = SaConfig::new(esp::Spi(0xb2), Transform::AesGcm128, &key).expect("cfg");
        let (o, _i, kind) = add_pair(&engine, &oc, &ic, OffloadPolicy::Auto).expect("pair");
        assert_eq!(kind, PathKind::Card);
        o.resume(1 << 24).expect("resume");
        assert_eq!(o.next_seq(), Some(SeqNum(1 << 24)));
        let mut buf = vec![0u8; 256];
        let s = o.seal(&[0x45; 60], 4, &mut buf).expect("seal");
        assert_eq!(s.seq, SeqNum(1 << 24), "the card used the resumed number");
        assert_eq!(&buf[4..8], &(1u32 << 24).to_be_bytes());
        // the software reference opens what the card sealed at that number
        let mut inb = esp::InboundSa::new(&oc).expect("in");
        let mut d = buf[..s.len].to_vec();
        assert_eq!(inb.open(&mut d).expect("open").seq, SeqNum(1 << 24));
    }

    #[test]
    fn card_path_counts_what_the_card_carried_soft_once_hard_stops() {
        let engine = open(OffloadDevice::Model).expect("model").expect("engine");
        let key = [5u8; 20];
        let life = esp::Lifetime {
            soft_packets: Some(4),
            hard_packets: Some(6),
            ..Default::default()
        };
        let mut oc = SaConfig::new(esp::Spi(0xa3), Transform::AesGcm128, &key).expect("cfg");
        oc.lifetime = life;
        let mut ic = SaConfig::new(esp::Spi(0xa3), Transform::AesGcm128, &key).expect("cfg");
        ic.lifetime = life;
        let (o, mut i, kind) = add_pair(&engine, &oc, &ic, OffloadPolicy::Auto).expect("pair");
        assert_eq!(kind, PathKind::Card);
        // a batch of 8 crosses both limits: 6 sealed (the 4th soft), 2 refused
        let payload = [0x45u8; 40];
        let mut bufs: Vec<Vec<u8>> = (0..8).map(|_| vec![0u8; 256]).collect();
        let mut jobs: Vec<SealJob<'_>> = bufs
            .iter_mut()
            .map(|b| SealJob {
                payload: &payload,
                next_header: 4,
                out: b,
            })
            .collect();
        let mut results = Vec::new();
        o.seal_batch(&mut jobs, &mut results).expect("batch");
        let soft: Vec<Option<bool>> = results
            .iter()
            .map(|r| match r {
                Ok(s) => Some(s.soft_expired),
                Err(SealError::Encap(EncapError::HardLifetime)) => None,
                Err(e) => panic!("unexpected {e}"),
            })
            .collect();
        let (t, f) = (Some(true), Some(false));
        assert_eq!(soft, [f, f, f, t, f, f, None, None]);
        let lens: Vec<usize> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|s| s.len))
            .collect();
        assert_eq!(o.lifetime().usage().packets, 6);
        assert!(o.lifetime().status().hard_reached);
        // the card's inbound half opens them: soft on the 4th, the 5th and 6th
        // delivered, then nothing (its own hard limit) without asking the card
        let mut dgrams: Vec<Vec<u8>> = bufs
            .iter()
            .zip(&lens)
            .map(|(b, &l)| b[..l].to_vec())
            .collect();
        let mut views: Vec<&mut [u8]> = dgrams.iter_mut().map(|d| d.as_mut_slice()).collect();
        let mut opened = Vec::new();
        i.open_batch(&mut views, &mut opened).expect("batch");
        let got: Vec<bool> = opened
            .iter()
            .map(|r| r.as_ref().expect("opened").soft_expired)
            .collect();
        assert_eq!(got, [false, false, false, true, false, false]);
        assert!(i.lifetime().status().hard_reached);
        let mut again = bufs[0][..lens[0]].to_vec();
        assert!(matches!(
            i.open(&mut again),
            Err(OpenError::Decap(DecapError::HardLifetime))
        ));
    }

    #[test]
    fn card_path_sequence_space_soft_at_the_cards_numbers() {
        let engine = open(OffloadDevice::Model).expect("model").expect("engine");
        let key = [6u8; 20];
        let oc = SaConfig::new(esp::Spi(0xa4), Transform::AesGcm128, &key).expect("cfg");
        let ic = SaConfig::new(esp::Spi(0xb4), Transform::AesGcm128, &key).expect("cfg");
        let (o, _i, kind) = add_pair(&engine, &oc, &ic, OffloadPolicy::Auto).expect("pair");
        assert_eq!(kind, PathKind::Card);
        o.resume(esp::SEQ_SOFT - 1).expect("resume");
        let mut buf = vec![0u8; 256];
        let mut seen = Vec::new();
        for _ in 0..3 {
            let s = o.seal(&[0x45; 40], 4, &mut buf).expect("seal");
            seen.push((s.seq.0, s.soft_expired));
        }
        let q = esp::SEQ_SOFT;
        assert_eq!(seen, [(q - 1, false), (q, true), (q + 1, false)]);
        // the card's counter stops at the last number, never wraps
        o.resume(esp::SEQ_LAST).expect("resume");
        assert_eq!(
            o.seal(&[0x45; 40], 4, &mut buf).expect("seal").seq.0,
            esp::SEQ_LAST
        );
        assert!(matches!(
            o.seal(&[0x45; 40], 4, &mut buf),
            Err(SealError::Encap(EncapError::RekeyRequired))
        ));
        assert!(o.lifetime().status().hard_reached);
    }
}
