//! `SimCard`: the simulated card behind the driver's register trait.

use driver::{DriverError, HardReset, RegIo};

use crate::model::{Model, SimError};
use crate::stream::{self, InPacket, Shaping, StreamRun};

/// Cycles of reset applied when the card is created.
pub const RESET_CYCLES: u32 = 8;

/// The Verilated core with its AXI4-Lite port as a [`RegIo`]: every register
/// access is a real bus transaction that advances the clock, so a driver that
/// polls a status register lets the core make progress.
#[derive(Debug)]
pub struct SimCard {
    model: Model,
    reads: u64,
    writes: u64,
}

impl SimCard {
    /// Creates the model (waveform per env `SIM_VCD`) and resets it.
    pub fn new() -> Result<Self, SimError> {
        let mut model = Model::new()?;
        model.reset(RESET_CYCLES);
        Ok(Self {
            model,
            reads: 0,
            writes: 0,
        })
    }

    /// The clocked model underneath (for stream traffic and direct port access).
    pub fn model(&mut self) -> &mut Model {
        &mut self.model
    }

    /// Runs packets through the stream ports (see [`stream::run`]).
    pub fn stream(
        &mut self,
        packets: &[InPacket],
        shaping: Shaping,
    ) -> Result<StreamRun, SimError> {
        stream::run(&mut self.model, packets, shaping)
    }

    /// Clock cycles since creation.
    pub fn cycles(&self) -> u64 {
        self.model.cycles()
    }

    /// Register reads and writes made so far.
    pub fn accesses(&self) -> (u64, u64) {
        (self.reads, self.writes)
    }

    /// Idles the clock for `cycles` cycles (stream inputs unchanged).
    pub fn idle(&mut self, cycles: u64) {
        for _ in 0..cycles {
            self.model.step();
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
        let (data, resp) = self.model.axil_read(offset).map_err(bus_error)?;
        okay(resp, "AXI4-Lite read response")?;
        Ok(data)
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
        check_offset(offset, 4)?;
        self.writes += 1;
        let resp = self.model.axil_write(offset, value).map_err(bus_error)?;
        okay(resp, "AXI4-Lite write response")
    }
}

impl HardReset for SimCard {
    /// Pulses the core's synchronous reset (SA table invalid, counters zero).
    fn hard_reset(&mut self) -> Result<(), DriverError> {
        self.model.reset(RESET_CYCLES);
        Ok(())
    }
}
