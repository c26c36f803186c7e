//! A register slice (skid buffer) for a valid/ready stream: every output of it is a
//! register, so no combinational path crosses it in either direction, and it moves
//! one word per clock.
//!
//! `Top` puts one at each seam between the DMA front end and the engine (the DMA
//! reader's stream into `Rx`, and `Tx`'s results into the DMA writer), so that the
//! logic depth of each block is its own: before, the writer's `ready` (from the AXI
//! write channel and its burst counters) ran through `Tx`'s send logic into the
//! issue side, 14 LUT levels on the whole core.
//!
//! Two words of storage: `main` drives the output (`out_valid`, `out_data`); `skid`
//! catches the word accepted in the cycle the output stalled, which is possible
//! because `in_ready` is registered (it is `!skid` full). Words leave in the order
//! they came. Latency: one cycle from `in` to `out`.

use rust_hdl::prelude::*;

/// The register slice (see the module docs).
#[derive(LogicBlock, Default)]
pub struct Skid<D: Synth> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset: both words dropped.
    pub reset: Signal<In, bool>,
    /// Input word.
    pub in_data: Signal<In, D>,
    /// Input valid.
    pub in_valid: Signal<In, bool>,
    /// Input ready (a register).
    pub in_ready: Signal<Out, bool>,
    /// Output word (a register).
    pub out_data: Signal<Out, D>,
    /// Output valid (a register).
    pub out_valid: Signal<Out, bool>,
    /// Output ready.
    pub out_ready: Signal<In, bool>,
    main: DFF<D>,
    main_v: DFF<bool>,
    skid: DFF<D>,
    skid_v: DFF<bool>,
}

impl<D: Synth> Logic for Skid<D> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, main, main_v, skid, skid_v);
        self.in_ready.next = !self.skid_v.q.val();
        self.out_data.next = self.main.q.val();
        self.out_valid.next = self.main_v.q.val();
        if !self.main_v.q.val() | self.out_ready.val() {
            // The output word leaves (or there is none): refill from the skid word,
            // else from the input.
            if self.skid_v.q.val() {
                self.main.d.next = self.skid.q.val();
                self.main_v.d.next = true;
                self.skid_v.d.next = false;
            } else {
                self.main.d.next = self.in_data.val();
                self.main_v.d.next = self.in_valid.val();
            }
        } else if self.in_valid.val() & !self.skid_v.q.val() {
            // The output stalls: the word accepted this cycle waits in the skid.
            self.skid.d.next = self.in_data.val();
            self.skid_v.d.next = true;
        }
        if self.reset.val() {
            self.main_v.d.next = false;
            self.skid_v.d.next = false;
        }
    }
}
