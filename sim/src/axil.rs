//! AXI4-Lite master transactions on the model's register port.

use crate::model::{Model, SimError};

/// Cycles a single register access may take before it is a timeout.
pub const AXIL_TIMEOUT_CYCLES: u64 = 10_000;

impl Model {
    /// One full-word write: address and data presented together, then the
    /// write response accepted. Returns the response code (0 = OKAY).
    pub fn axil_write(&mut self, addr: u32, data: u32) -> Result<u32, SimError> {
        let i = &mut self.inputs;
        i.s_axil_awaddr = addr;
        i.s_axil_awvalid = 1;
        i.s_axil_wdata = data;
        i.s_axil_wvalid = 1;
        i.s_axil_bready = 1;
        for _ in 0..AXIL_TIMEOUT_CYCLES {
            let o = *self.step();
            if o.s_axil_awready != 0 {
                self.inputs.s_axil_awvalid = 0;
            }
            if o.s_axil_wready != 0 {
                self.inputs.s_axil_wvalid = 0;
            }
            // A response counts only once both address and data were taken
            // (the echo and the core both answer after that).
            if o.s_axil_bvalid != 0
                && self.inputs.s_axil_awvalid == 0
                && self.inputs.s_axil_wvalid == 0
            {
                self.inputs.s_axil_bready = 0;
                return Ok(o.s_axil_bresp);
            }
        }
        self.inputs.s_axil_awvalid = 0;
        self.inputs.s_axil_wvalid = 0;
        self.inputs.s_axil_bready = 0;
        Err(SimError::Timeout {
            what: "AXI4-Lite write",
            cycles: AXIL_TIMEOUT_CYCLES,
        })
    }

    /// One full-word read. Returns the data and the response code (0 = OKAY).
    pub fn axil_read(&mut self, addr: u32) -> Result<(u32, u32), SimError> {
        self.inputs.s_axil_araddr = addr;
        self.inputs.s_axil_arvalid = 1;
        self.inputs.s_axil_rready = 1;
        let mut addr_taken = false;
        for _ in 0..AXIL_TIMEOUT_CYCLES {
            let o = *self.step();
            if o.s_axil_arready != 0 && self.inputs.s_axil_arvalid != 0 {
                self.inputs.s_axil_arvalid = 0;
                addr_taken = true;
                // Data cannot arrive in the same edge as the address in a
                // registered slave; if it did, it is the answer to this read.
            }
            if o.s_axil_rvalid != 0 && addr_taken {
                self.inputs.s_axil_rready = 0;
                return Ok((o.s_axil_rdata, o.s_axil_rresp));
            }
        }
        self.inputs.s_axil_arvalid = 0;
        self.inputs.s_axil_rready = 0;
        Err(SimError::Timeout {
            what: "AXI4-Lite read",
            cycles: AXIL_TIMEOUT_CYCLES,
        })
    }
}
