//! The raw `extern "C"` surface of `csrc/shim.cpp` and the one safe type over it.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_void, CString};
use std::ptr::NonNull;

/// Words carried for each `tuser` side-band (256 bits; the shim refuses wider ports at compile time).
pub const TUSER_WORDS: usize = 8;

/// Every input port of `module top` except `clock`, one field per port.
/// Ports wider than 32 bits are little-endian arrays of 32-bit words.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Synchronous reset, active high.
    pub reset: u32,
    /// AXI4-Lite write address.
    pub s_axil_awaddr: u32,
    /// AXI4-Lite write address valid.
    pub s_axil_awvalid: u32,
    /// AXI4-Lite write data.
    pub s_axil_wdata: u32,
    /// AXI4-Lite write data valid.
    pub s_axil_wvalid: u32,
    /// AXI4-Lite write response ready.
    pub s_axil_bready: u32,
    /// AXI4-Lite read address.
    pub s_axil_araddr: u32,
    /// AXI4-Lite read address valid.
    pub s_axil_arvalid: u32,
    /// AXI4-Lite read data ready.
    pub s_axil_rready: u32,
    /// Input stream data, byte 0 in bits 7:0 of word 0.
    pub s_axis_tdata: [u32; 4],
    /// Input stream byte enables.
    pub s_axis_tkeep: u32,
    /// Input stream last beat.
    pub s_axis_tlast: u32,
    /// Input stream valid.
    pub s_axis_tvalid: u32,
    /// Input side-band descriptor (valid on the first beat).
    pub s_axis_tuser: [u32; TUSER_WORDS],
    /// Output stream ready (back-pressure when 0).
    pub m_axis_tready: u32,
    /// DMA read address ready.
    pub m_axi_arready: u32,
    /// DMA read data, byte 0 in bits 7:0 of word 0.
    pub m_axi_rdata: [u32; 4],
    /// DMA read response.
    pub m_axi_rresp: u32,
    /// DMA read last beat of the burst.
    pub m_axi_rlast: u32,
    /// DMA read data valid.
    pub m_axi_rvalid: u32,
    /// DMA write address ready.
    pub m_axi_awready: u32,
    /// DMA write data ready.
    pub m_axi_wready: u32,
    /// DMA write response.
    pub m_axi_bresp: u32,
    /// DMA write response valid.
    pub m_axi_bvalid: u32,
}

/// Every output port of `module top`, sampled just before the rising clock edge.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outputs {
    /// AXI4-Lite write address ready.
    pub s_axil_awready: u32,
    /// AXI4-Lite write data ready.
    pub s_axil_wready: u32,
    /// AXI4-Lite write response.
    pub s_axil_bresp: u32,
    /// AXI4-Lite write response valid.
    pub s_axil_bvalid: u32,
    /// AXI4-Lite read address ready.
    pub s_axil_arready: u32,
    /// AXI4-Lite read data.
    pub s_axil_rdata: u32,
    /// AXI4-Lite read response.
    pub s_axil_rresp: u32,
    /// AXI4-Lite read data valid.
    pub s_axil_rvalid: u32,
    /// Input stream ready.
    pub s_axis_tready: u32,
    /// Output stream data.
    pub m_axis_tdata: [u32; 4],
    /// Output stream byte enables.
    pub m_axis_tkeep: u32,
    /// Output stream last beat.
    pub m_axis_tlast: u32,
    /// Output stream valid.
    pub m_axis_tvalid: u32,
    /// Output side-band status (valid on the first beat).
    pub m_axis_tuser: [u32; TUSER_WORDS],
    /// DMA read burst address (low word first).
    pub m_axi_araddr: [u32; 2],
    /// DMA read burst length (beats - 1).
    pub m_axi_arlen: u32,
    /// DMA read address valid.
    pub m_axi_arvalid: u32,
    /// DMA read data ready.
    pub m_axi_rready: u32,
    /// DMA write burst address (low word first).
    pub m_axi_awaddr: [u32; 2],
    /// DMA write burst length (beats - 1).
    pub m_axi_awlen: u32,
    /// DMA write address valid.
    pub m_axi_awvalid: u32,
    /// DMA write data.
    pub m_axi_wdata: [u32; 4],
    /// DMA write byte strobes.
    pub m_axi_wstrb: u32,
    /// DMA write last beat of the burst.
    pub m_axi_wlast: u32,
    /// DMA write data valid.
    pub m_axi_wvalid: u32,
    /// DMA write response ready.
    pub m_axi_bready: u32,
    /// Interrupt lines, one bit per vector (a one-cycle pulse per interrupt).
    pub irq: u32,
}

extern "C" {
    fn sim_create(vcd_path: *const c_char) -> *mut c_void;
    fn sim_destroy(handle: *mut c_void);
    fn sim_step(handle: *mut c_void, inputs: *const Inputs, outputs: *mut Outputs);
}

/// One instance of the Verilated model. Owns the C++ object; not shared between threads.
#[derive(Debug)]
pub struct RawModel {
    handle: NonNull<c_void>,
}

impl RawModel {
    /// Creates the model; with `vcd` set (and the `vcd` feature built) every
    /// half cycle is dumped to that file.
    pub fn new(vcd: Option<&CString>) -> Option<Self> {
        let path = vcd.map_or(std::ptr::null(), |p| p.as_ptr());
        // SAFETY: `path` is null or points to a NUL-terminated string that
        // outlives the call; the shim copies what it needs (Verilator opens the file).
        let raw = unsafe { sim_create(path) };
        NonNull::new(raw).map(|handle| Self { handle })
    }

    /// Drives `inputs`, evaluates with the clock low, fills `outputs`, then
    /// evaluates the rising edge.
    pub fn step(&mut self, inputs: &Inputs, outputs: &mut Outputs) {
        // SAFETY: `handle` came from `sim_create` and is destroyed only in
        // `Drop`; `&mut self` makes this the only call on it; both structs are
        // `#[repr(C)]` with the same layout as in the shim and live across the call.
        unsafe { sim_step(self.handle.as_ptr(), inputs, outputs) }
    }
}

impl Drop for RawModel {
    fn drop(&mut self) {
        // SAFETY: `handle` came from `sim_create` and is dropped exactly once.
        unsafe { sim_destroy(self.handle.as_ptr()) }
    }
}

// SAFETY: the Verilated model has no thread affinity; it is only ever used
// through `&mut RawModel`, so moving it to another thread is sound.
unsafe impl Send for RawModel {}
