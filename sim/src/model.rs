//! The safe clocked model: inputs, one step per cycle, sampled outputs.

use std::ffi::CString;
use std::path::Path;

use crate::ffi::{Inputs, Outputs, RawModel};
use crate::hostmem::DmaBus;

/// What can go wrong while building or driving the model.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The C++ model could not be created.
    #[error("the Verilated model could not be created")]
    Create,
    /// A waveform was asked for but the model was built without `--trace`.
    #[error("SIM_VCD={0} asks for a waveform but sim was built without the `vcd` feature")]
    NoTrace(String),
    /// The VCD path contains a NUL byte.
    #[error("VCD path {0:?} contains a NUL byte")]
    BadVcdPath(String),
    /// The core broke an AXI4-Stream rule.
    #[error(transparent)]
    Protocol(#[from] crate::stream::ProtocolViolation),
    /// Stream traffic stopped moving.
    #[error("stream stuck for {cycles} cycles at cycle {at}: {outputs} packets out, {pending} not yet taken in, s_axis_tready={tready}, m_axis_tvalid={tvalid}")]
    StreamStuck {
        /// Idle cycles before giving up.
        cycles: u64,
        /// Cycle of giving up.
        at: u64,
        /// Output packets collected.
        outputs: usize,
        /// Input packets not fully taken.
        pending: usize,
        /// Last `s_axis_tready`.
        tready: u32,
        /// Last `m_axis_tvalid`.
        tvalid: u32,
    },
    /// `finish_stream` without `start_stream`.
    #[error("no stream traffic is attached to the model")]
    NoStream,
    /// A handshake did not complete within its cycle budget.
    #[error("{what} did not complete within {cycles} cycles")]
    Timeout {
        /// Which transaction.
        what: &'static str,
        /// The budget that ran out.
        cycles: u64,
    },
}

/// The Verilated `module top` with a clock: set [`Model::inputs`], call
/// [`Model::step`], read the outputs it returns.
#[derive(Debug)]
pub struct Model {
    raw: RawModel,
    /// Inputs driven on the next [`Model::step`].
    pub inputs: Inputs,
    outputs: Outputs,
    cycles: u64,
    pub(crate) engine: Option<Box<crate::stream::StreamEngine>>,
    /// Host memory and interrupt lines on the core's DMA port, when attached.
    pub(crate) bus: Option<Box<DmaBus>>,
    /// Cycles in which the DMA bus was busy (see [`DmaBus::observe`]).
    bus_busy: u64,
    /// Whether the last step's DMA bus was busy.
    last_busy: bool,
}

impl Model {
    /// Creates the model; writes a waveform when env `SIM_VCD` names a file.
    pub fn new() -> Result<Self, SimError> {
        match std::env::var("SIM_VCD") {
            Ok(p) if !p.is_empty() => Self::with_vcd(Some(Path::new(&p))),
            _ => Self::with_vcd(None),
        }
    }

    /// Creates the model, tracing every half cycle into `vcd` when given.
    pub fn with_vcd(vcd: Option<&Path>) -> Result<Self, SimError> {
        let path = match vcd {
            Some(p) => {
                let s = p.display().to_string();
                if !crate::ports::TRACE_BUILT {
                    return Err(SimError::NoTrace(s));
                }
                Some(CString::new(s.clone()).map_err(|_| SimError::BadVcdPath(s))?)
            }
            None => None,
        };
        let raw = RawModel::new(path.as_ref()).ok_or(SimError::Create)?;
        Ok(Self {
            raw,
            inputs: Inputs::default(),
            outputs: Outputs::default(),
            cycles: 0,
            engine: None,
            bus: None,
            bus_busy: 0,
            last_busy: false,
        })
    }

    /// One clock cycle: the current inputs are applied, the outputs seen at the
    /// rising edge are returned (a transfer happens when valid and ready are
    /// both high in these), and the state advances.
    pub fn step(&mut self) -> &Outputs {
        if let Some(e) = self.engine.as_deref_mut() {
            e.drive(&mut self.inputs);
        }
        if let Some(b) = self.bus.as_deref_mut() {
            b.drive(self.cycles, &mut self.inputs);
        }
        self.raw.step(&self.inputs, &mut self.outputs);
        if let Some(e) = self.engine.as_deref_mut() {
            e.observe(&mut self.inputs, &self.outputs, self.cycles);
        }
        self.last_busy = match self.bus.as_deref_mut() {
            Some(b) => b.observe(self.cycles, &self.outputs),
            None => false,
        };
        self.bus_busy += u64::from(self.last_busy);
        self.cycles += 1;
        &self.outputs
    }

    /// Connects the core's DMA bus master and interrupt lines to `bus` (replacing
    /// any bus attached before).
    pub fn attach_bus(&mut self, bus: DmaBus) {
        self.bus = Some(Box::new(bus));
    }

    /// The attached DMA bus.
    pub fn bus(&self) -> Option<&DmaBus> {
        self.bus.as_deref()
    }

    /// The attached DMA bus, to change.
    pub fn bus_mut(&mut self) -> Option<&mut DmaBus> {
        self.bus.as_deref_mut()
    }

    /// Whether the DMA bus was busy in the last cycle (a request, a transfer, an
    /// answer outstanding or an interrupt).
    pub fn bus_was_busy(&self) -> bool {
        self.last_busy
    }

    /// Cycles in which the DMA bus was busy since creation.
    pub fn bus_busy_cycles(&self) -> u64 {
        self.bus_busy
    }

    /// The outputs sampled by the last [`Model::step`].
    pub fn outputs(&self) -> &Outputs {
        &self.outputs
    }

    /// Holds reset high for `cycles` cycles with every valid low, then releases it.
    /// The host-memory model forgets every transfer before and after: a request the
    /// core still showed in its first reset cycle (before the synchronous reset took
    /// effect) was taken by the always-ready slave, and had it stayed queued, the
    /// core's first write burst after the reset would have been paired with that
    /// stale address (its data landing in an old buffer, the new buffer left
    /// stale). A card reset resets the PCIe bridge's DMA state with it.
    pub fn reset(&mut self, cycles: u32) {
        self.engine = None;
        if let Some(b) = self.bus.as_deref_mut() {
            b.mem.abort();
        }
        self.inputs = Inputs {
            reset: 1,
            ..Inputs::default()
        };
        for _ in 0..cycles.max(1) {
            self.step();
        }
        if let Some(b) = self.bus.as_deref_mut() {
            b.mem.abort();
        }
        self.inputs.reset = 0;
    }

    /// Clock cycles stepped since creation.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }
}
