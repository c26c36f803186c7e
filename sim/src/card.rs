//! `SimCard`: the simulated card behind the driver's register trait, with its DMA
//! port on host memory and its interrupt lines on eventfds.
//!
//! Two things move the clock:
//! - every register access is a real AXI4-Lite transaction that advances it (a
//!   driver that polls a status register lets the core make progress, as before);
//! - a *clock thread* runs the core freely while its DMA port has work: a write to
//!   a queue register (`regmap::regs::queue_reg_at`: a doorbell, a consumer index,
//!   a queue enable) starts it, and it keeps running while the bus is busy and for
//!   [`IDLE_CYCLES`] after, then sleeps until the next such write. So a driver that
//!   sleeps on the interrupt's eventfd is woken by the card, as through VFIO.
//!
//! Host memory is the driver's own: [`SimCard::host_memory`] is the in-process IOMMU
//! ([`IovaTable`]) a `DmaPort` maps its rings and buffers into, and the core's bus
//! master reads and writes those very bytes through [`crate::hostmem::HostMem`] with
//! its latency and bandwidth.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use driver::dma::{IovaTable, IrqSignal};
use driver::{DriverError, HardReset, RegIo};

use crate::hostmem::{DmaBus, HostMemConfig};
use crate::model::{Model, SimError};
use crate::stream::{self, InPacket, Shaping, StreamRun};

/// Cycles the reset is held (at creation, `hard_reset` and the scheduled reset fault):
/// longer than the AES pipeline, whose stages are flushed by the clock rather than
/// cleared by the reset (with 8 cycles, a reset in mid-traffic left blocks in it and
/// SA commands then waited for ever for an empty packet path).
pub const RESET_CYCLES: u32 = 64;

/// Cycles the clock thread goes on after the DMA bus was last busy (about 1 µs at
/// the core clock: longer than the engine's latency between reading a packet and
/// writing its result). Were it too short, nothing is lost: a driver waiting on the
/// card writes `CQ_CONS` at every wait slice, which starts the clock again.
pub const IDLE_CYCLES: u64 = 256;

/// Cycles the clock thread runs between looks at waiting register accesses.
const CHUNK: u64 = 16;

fn set_hung(st: &mut State, hung: bool) {
    if let Some(b) = st.model.bus_mut() {
        b.hung = hung;
    }
}

/// Faults a test can put on the simulated card while a driver owns it (the bus
/// hang is [`DmaBus::hung`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct SimFaults {
    /// After this many more DMA write bursts the core is reset (a spontaneous card
    /// reset in the middle of the traffic).
    reset_after_writes: Option<u64>,
    /// Card resets made by `reset_after_writes`.
    resets: u32,
}

#[derive(Debug)]
struct State {
    model: Model,
    /// Cycles the clock thread may still run with the bus idle.
    run_for: u64,
    faults: SimFaults,
    /// Write bursts seen when `reset_after_writes` was set.
    writes_mark: u64,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Register accesses waiting for the lock (the clock thread gives way to them).
    waiting: AtomicU32,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        g
    }
}

/// A handle on the model, held for as long as it is borrowed.
#[derive(Debug)]
pub struct ModelGuard<'a>(MutexGuard<'a, State>);

impl std::ops::Deref for ModelGuard<'_> {
    type Target = Model;
    fn deref(&self) -> &Model {
        &self.0.model
    }
}

impl std::ops::DerefMut for ModelGuard<'_> {
    fn deref_mut(&mut self) -> &mut Model {
        &mut self.0.model
    }
}

/// Puts faults on a [`SimCard`] that a driver owns (cloned from
/// [`SimCard::faults`]).
#[derive(Debug, Clone)]
pub struct SimFaultHandle(Arc<Shared>);

impl SimFaultHandle {
    /// Host memory stops answering: the card's DMA hangs (registers still work).
    pub fn hang_bus(&self) {
        set_hung(&mut self.0.lock(), true);
    }

    /// Host memory answers again (what was pending is answered, late).
    pub fn heal(&self) {
        let mut st = self.0.lock();
        set_hung(&mut st, false);
        st.run_for = IDLE_CYCLES;
        self.0.wake.notify_all();
    }

    /// Resets the core after `n` more DMA write bursts (results and completions).
    pub fn reset_after_writes(&self, n: u64) {
        let mut st = self.0.lock();
        st.writes_mark = st.model.bus().map_or(0, |b| b.mem.stats.write_bursts);
        st.faults.reset_after_writes = Some(n);
    }

    /// Card resets made by [`reset_after_writes`](Self::reset_after_writes).
    pub fn resets(&self) -> u32 {
        self.0.lock().faults.resets
    }
}

/// The Verilated core with its AXI4-Lite port as a [`RegIo`], its DMA port on
/// host memory and its interrupt lines on eventfds (see the module docs).
pub struct SimCard {
    shared: Arc<Shared>,
    table: IovaTable,
    clock: Option<JoinHandle<()>>,
    reads: u64,
    writes: u64,
}

impl std::fmt::Debug for SimCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCard")
            .field("reads", &self.reads)
            .field("writes", &self.writes)
            .field("mapped", &self.table.mapped())
            .finish()
    }
}

impl SimCard {
    /// Creates the model (waveform per env `SIM_VCD`) with host memory of the
    /// default timing ([`HostMemConfig::default`]) and resets it.
    pub fn new() -> Result<Self, SimError> {
        Self::with_host_memory(HostMemConfig::default())
    }

    /// Creates the model with host memory of timing `cfg`, and resets it.
    pub fn with_host_memory(cfg: HostMemConfig) -> Result<Self, SimError> {
        let mut model = Model::new()?;
        let table = IovaTable::new();
        model.attach_bus(DmaBus::new(
            table.clone(),
            cfg,
            regmap::dma::NUM_VECTORS as usize,
        ));
        model.reset(RESET_CYCLES);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                model,
                run_for: 0,
                faults: SimFaults::default(),
                writes_mark: 0,
            }),
            wake: Condvar::new(),
            waiting: AtomicU32::new(0),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let clock = std::thread::Builder::new()
            .name("sim-clock".into())
            .spawn(move || clock_thread(&s))
            .map_err(|_| SimError::Create)?;
        Ok(Self {
            shared,
            table,
            clock: Some(clock),
            reads: 0,
            writes: 0,
        })
    }

    /// The in-process IOMMU the card's DMA reaches host memory through: map the
    /// driver's rings and buffers with it (it is a `driver::dma::DmaMapper`).
    pub fn host_memory(&self) -> IovaTable {
        self.table.clone()
    }

    /// Connects interrupt vector `vector` to `signal` (the writer of the eventfd
    /// the driver waits on); `false` if the card has no such vector.
    pub fn connect_irq(&mut self, vector: u32, signal: IrqSignal) -> bool {
        let mut st = self.shared.lock();
        st.model
            .bus_mut()
            .is_some_and(|b| b.connect(vector as usize, signal))
    }

    /// Interrupts raised on `vector` so far (read and cleared).
    pub fn take_interrupts(&self, vector: u32) -> u64 {
        let st = self.shared.lock();
        st.model.bus().map_or(0, |b| b.counts.take(vector as usize))
    }

    /// Fault injection for tests.
    pub fn faults(&self) -> SimFaultHandle {
        SimFaultHandle(self.shared.clone())
    }

    /// The clocked model underneath (for stream traffic and direct port access);
    /// the clock thread waits while it is borrowed.
    pub fn model(&mut self) -> ModelGuard<'_> {
        ModelGuard(self.shared.lock())
    }

    /// Runs packets through the stream ports (see [`stream::run`]).
    pub fn stream(
        &mut self,
        packets: &[InPacket],
        shaping: Shaping,
    ) -> Result<StreamRun, SimError> {
        stream::run(&mut self.shared.lock().model, packets, shaping)
    }

    /// Clock cycles since creation.
    pub fn cycles(&self) -> u64 {
        self.shared.lock().model.cycles()
    }

    /// Simulated time in microseconds at `regmap::dma::CORE_CLOCK_MHZ`.
    pub fn now_us(&self) -> u64 {
        self.cycles() / u64::from(regmap::dma::CORE_CLOCK_MHZ)
    }

    /// Register reads and writes made so far.
    pub fn accesses(&self) -> (u64, u64) {
        (self.reads, self.writes)
    }

    /// Idles the clock for `cycles` cycles (stream inputs unchanged).
    pub fn idle(&mut self, cycles: u64) {
        let mut st = self.shared.lock();
        for _ in 0..cycles {
            step(&mut st);
        }
    }
}

impl Drop for SimCard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        {
            let _g = self.shared.lock();
            self.shared.wake.notify_all();
        }
        if let Some(t) = self.clock.take() {
            let _ = t.join();
        }
    }
}

/// One cycle, with a scheduled reset made when its write count is reached.
fn step(st: &mut State) {
    st.model.step();
    fire_due_reset(st);
}

/// Makes the scheduled reset when its write count has been reached (after a clock
/// thread cycle and after each register access, whoever moved the clock).
fn fire_due_reset(st: &mut State) {
    if let Some(n) = st.faults.reset_after_writes {
        let done = st.model.bus().map_or(0, |b| b.mem.stats.write_bursts) - st.writes_mark;
        if done >= n {
            st.faults.reset_after_writes = None;
            st.faults.resets += 1;
            st.model.reset(RESET_CYCLES);
        }
    }
}

/// Runs the core while its DMA port has work (see the module docs).
fn clock_thread(shared: &Shared) {
    loop {
        let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        while !shared.stop.load(Ordering::Acquire) && st.run_for == 0 {
            st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        for _ in 0..CHUNK {
            step(&mut st);
            if st.model.bus_was_busy() {
                st.run_for = IDLE_CYCLES;
            } else {
                st.run_for -= 1;
                if st.run_for == 0 {
                    break;
                }
            }
        }
        drop(st);
        while shared.waiting.load(Ordering::Acquire) > 0 {
            std::thread::yield_now();
        }
    }
}

/// A model failure during a register access as the driver's error.
fn bus_error(e: SimError) -> DriverError {
    match e {
        SimError::Timeout { what, cycles } => DriverError::Timeout {
            what,
            polls: u32::try_from(cycles).unwrap_or(u32::MAX),
        },
        other => DriverError::BadResult {
            what: other.to_string(),
        },
    }
}

/// An AXI4-Lite response code: OKAY (0), or the driver's error naming it.
fn okay(resp: u32, what: &'static str) -> Result<(), DriverError> {
    if resp != 0 {
        return Err(DriverError::CardStatus { what, status: resp });
    }
    Ok(())
}

/// A full-word access at `offset` is aligned and inside the register space.
fn check_offset(offset: u32, width: usize) -> Result<(), DriverError> {
    if offset & 3 != 0 {
        return Err(DriverError::Misaligned {
            offset: offset.into(),
            width,
        });
    }
    if offset >= regmap::ADDR_SPACE_BYTES {
        return Err(DriverError::OutOfBounds {
            offset: offset.into(),
            width,
            len: regmap::ADDR_SPACE_BYTES as usize,
        });
    }
    Ok(())
}

impl RegIo for SimCard {
    fn read32(&mut self, offset: u32) -> Result<u32, DriverError> {
        check_offset(offset, 4)?;
        self.reads += 1;
        let (data, resp) = {
            let mut st = self.shared.lock();
            let r = st.model.axil_read(offset).map_err(bus_error);
            fire_due_reset(&mut st);
            r?
        };
        okay(resp, "AXI4-Lite read response")?;
        Ok(data)
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
        check_offset(offset, 4)?;
        self.writes += 1;
        let resp = {
            let mut st = self.shared.lock();
            let resp = st.model.axil_write(offset, value).map_err(bus_error);
            fire_due_reset(&mut st);
            let resp = resp?;
            if regmap::regs::queue_reg_at(offset).is_some() {
                // Work for the DMA port: let the clock run.
                st.run_for = IDLE_CYCLES;
                self.shared.wake.notify_all();
            }
            resp
        };
        okay(resp, "AXI4-Lite write response")
    }
}

impl driver::dma::DmaWiring for SimCard {
    fn host_memory(&self) -> IovaTable {
        SimCard::host_memory(self)
    }
    fn connect_irq(&mut self, vector: u32, signal: IrqSignal) -> bool {
        SimCard::connect_irq(self, vector, signal)
    }
}

impl HardReset for SimCard {
    /// Pulses the core's synchronous reset (SA table invalid, counters zero, queues
    /// off, DMA transfers in progress forgotten).
    fn hard_reset(&mut self) -> Result<(), DriverError> {
        self.shared.lock().model.reset(RESET_CYCLES);
        Ok(())
    }
}
