//! A first-in first-out buffer with a synchronous reset for the DMA front end's
//! in-flight bookkeeping: one simple dual-port RAM of `2^N` words (LUT RAM or a block
//! RAM after synthesis) and two pointers of `N + 1` bits.
//!
//! The head word is on `dout` whenever `empty` is low; `pop` takes it (the next word
//! is on `dout` the cycle after). A word pushed in one cycle is visible two cycles
//! later (`empty` follows a copy of the write pointer delayed by one cycle, so that a
//! read never meets the write of the same address). `count` counts every word pushed
//! and not popped, visible or not, so `full` is exact.

use rust_hdl::prelude::*;

/// The FIFO (see the module docs). `NP1` is `N + 1`.
#[derive(LogicBlock)]
pub struct Fifo<D: Synth, const N: usize, const NP1: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: empties the FIFO.
    pub reset: Signal<In, bool>,
    /// Push `din` (ignored when `full`).
    pub push: Signal<In, bool>,
    /// Word to push.
    pub din: Signal<In, D>,
    /// Take the head word (ignored when `empty`).
    pub pop: Signal<In, bool>,
    /// The head word (when not `empty`).
    pub dout: Signal<Out, D>,
    /// No visible word.
    pub empty: Signal<Out, bool>,
    /// `2^N` words pushed and not popped.
    pub full: Signal<Out, bool>,
    /// Words pushed and not popped.
    pub count: Signal<Out, Bits<NP1>>,
    ram: RAM<D, N>,
    wp: DFF<Bits<NP1>>,
    wpd: DFF<Bits<NP1>>,
    rp: DFF<Bits<NP1>>,
    rp_n: Signal<Local, Bits<NP1>>,
    is_empty: Signal<Local, bool>,
    k_size: Constant<Bits<NP1>>,
}

impl<D: Synth, const N: usize, const NP1: usize> Default for Fifo<D, N, NP1> {
    fn default() -> Self {
        assert_eq!(N + 1, NP1);
        Self {
            clock: Default::default(),
            reset: Default::default(),
            push: Default::default(),
            din: Default::default(),
            pop: Default::default(),
            dout: Default::default(),
            empty: Default::default(),
            full: Default::default(),
            count: Default::default(),
            ram: Default::default(),
            wp: Default::default(),
            wpd: Default::default(),
            rp: Default::default(),
            rp_n: Default::default(),
            is_empty: Default::default(),
            k_size: Constant::new(bits::<NP1>(1 << N)),
        }
    }
}

impl<D: Synth, const N: usize, const NP1: usize> Logic for Fifo<D, N, NP1> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, wp, wpd, rp);
        self.ram.read_clock.next = self.clock.val();
        self.ram.write_clock.next = self.clock.val();
        self.count.next = self.wp.q.val() - self.rp.q.val();
        self.full.next = self.count.val() == self.k_size.val();
        self.is_empty.next = self.rp.q.val() == self.wpd.q.val();
        self.empty.next = self.is_empty.val();
        self.ram.write_enable.next = self.push.val() & !self.full.val();
        self.ram.write_address.next = bit_cast::<N, NP1>(self.wp.q.val());
        self.ram.write_data.next = self.din.val();
        if self.push.val() & !self.full.val() {
            self.wp.d.next = self.wp.q.val() + 1;
        }
        self.wpd.d.next = self.wp.q.val();
        self.rp_n.next = self.rp.q.val();
        if self.pop.val() & !self.is_empty.val() {
            self.rp_n.next = self.rp.q.val() + 1;
        }
        self.rp.d.next = self.rp_n.val();
        // Read the next head ahead, so that `dout` is the head the cycle after a pop.
        self.ram.read_address.next = bit_cast::<N, NP1>(self.rp_n.val());
        self.dout.next = self.ram.read_data.val();
        if self.reset.val() {
            self.wp.d.next = bits::<NP1>(0);
            self.wpd.d.next = bits::<NP1>(0);
            self.rp.d.next = bits::<NP1>(0);
        }
    }
}
