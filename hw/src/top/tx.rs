//! Send: the four result slots leave on `m_axis` in order, back to back.
//!
//! The tail hands over a finished slot (`res_valid` with its slot, result length and
//! side-band); the slot is sent from the result RAMs (`buf_rd` addresses them, the
//! words come back on `buf_a`/`buf_b` a cycle later) and freed for the issue side
//! (`freed`) with its last beat. A refused, failed or empty result is one beat with
//! no bytes. While nothing is being sent, `buf_rd` follows the output window's
//! address (`win_rd`, result slot 0). Latency: the first beat of a slot is valid two
//! cycles after its hand-over (read address, then RAM read).

use super::links::TxTail;
use rust_hdl::prelude::*;

use super::{buf_words, IBW, MUW};
use crate::util::KeepMask;

/// The sender of the result slots (see the module docs).
#[derive(LogicBlock)]
pub struct Tx {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset.
    pub reset: Signal<In, bool>,
    /// `Top::m_axis_tdata`, passed through.
    pub m_axis_tdata: Signal<Out, Bits<128>>,
    /// `Top::m_axis_tkeep`, passed through.
    pub m_axis_tkeep: Signal<Out, Bits<16>>,
    /// `Top::m_axis_tlast`, passed through.
    pub m_axis_tlast: Signal<Out, bool>,
    /// `Top::m_axis_tvalid`, passed through.
    pub m_axis_tvalid: Signal<Out, bool>,
    /// `Top::m_axis_tready`, passed through.
    pub m_axis_tready: Signal<In, bool>,
    /// `Top::m_axis_tuser`, passed through.
    pub m_axis_tuser: Signal<Out, Bits<MUW>>,
    /// `Tail::done` of a stream packet: result slot `tail.oslot` may be sent.
    pub res_valid: Signal<In, bool>,
    /// The link with `Tail`.
    pub tail: TxTail,
    /// `TailReg::rlen` (0: one empty beat).
    pub res_len: Signal<In, Bits<16>>,
    /// `TailReg::buf_a`: result RAM A.
    pub buf_a: Signal<In, Bits<128>>,
    /// `RegFile::win_rd`: output-window address, used while nothing is sent.
    pub win_rd: Signal<In, Bits<16>>,
    /// One bit per result slot: sent this cycle, free again.
    pub freed: Signal<Out, Bits<4>>,

    tx_keep: KeepMask,
    tx_active: DFF<bool>,
    tx_slot: DFF<Bits<2>>,
    tx_w: DFF<Bits<16>>,
    s_rdy: DFF<Bits<4>>,
    s_rlen0: DFF<Bits<16>>,
    s_rlen1: DFF<Bits<16>>,
    s_rlen2: DFF<Bits<16>>,
    s_rlen3: DFF<Bits<16>>,
    s_tuser0: DFF<Bits<MUW>>,
    s_tuser1: DFF<Bits<MUW>>,
    s_tuser2: DFF<Bits<MUW>>,
    s_tuser3: DFF<Bits<MUW>>,
    tx_rlen: Signal<Local, Bits<16>>,
    tx_tuser: Signal<Local, Bits<MUW>>,
    tx_data: Signal<Local, Bits<128>>,
    tx_addr: Signal<Local, Bits<16>>,
    tx_done: Signal<Local, bool>,
    tx_rslot: Signal<Local, Bits<2>>,
    tx_next_mask: Signal<Local, Bits<4>>,
    tx_mask: Signal<Local, Bits<4>>,
    t_mask: Signal<Local, Bits<4>>,
    k_buf_words: Constant<Bits<16>>,
}

impl Default for Tx {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            m_axis_tdata: Default::default(),
            m_axis_tkeep: Default::default(),
            m_axis_tlast: Default::default(),
            m_axis_tvalid: Default::default(),
            m_axis_tready: Default::default(),
            m_axis_tuser: Default::default(),
            res_valid: Default::default(),
            tail: Default::default(),
            res_len: Default::default(),
            buf_a: Default::default(),
            win_rd: Default::default(),
            freed: Default::default(),
            tx_keep: Default::default(),
            tx_active: Default::default(),
            tx_slot: Default::default(),
            tx_w: Default::default(),
            s_rdy: Default::default(),
            s_rlen0: Default::default(),
            s_rlen1: Default::default(),
            s_rlen2: Default::default(),
            s_rlen3: Default::default(),
            s_tuser0: Default::default(),
            s_tuser1: Default::default(),
            s_tuser2: Default::default(),
            s_tuser3: Default::default(),
            tx_rlen: Default::default(),
            tx_tuser: Default::default(),
            tx_data: Default::default(),
            tx_addr: Default::default(),
            tx_done: Default::default(),
            tx_rslot: Default::default(),
            tx_next_mask: Default::default(),
            tx_mask: Default::default(),
            t_mask: Default::default(),
            k_buf_words: buf_words(),
        }
    }
}

impl Logic for Tx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, tx_active, tx_slot, tx_w, s_rdy, s_rlen0, s_rlen1, s_rlen2, s_rlen3,
            s_tuser0, s_tuser1, s_tuser2, s_tuser3
        );
        self.m_axis_tvalid.next = false;
        self.m_axis_tdata.next = bits::<128>(0);
        self.m_axis_tkeep.next = bits::<16>(0);
        self.m_axis_tlast.next = false;
        self.m_axis_tuser.next = bits::<MUW>(0);
        self.tx_done.next = false;
        self.freed.next = bits::<4>(0);
        self.tx_mask.next = bits::<4>(1) << self.tx_slot.q.val();
        self.t_mask.next = bits::<4>(1) << self.tail.oslot.val();

        // Hand-over from the tail.
        if self.res_valid.val() {
            if self.tail.oslot.val() == 0 {
                self.s_rlen0.d.next = self.res_len.val();
                self.s_tuser0.d.next = self.tail.tuser.val();
            }
            if self.tail.oslot.val() == 1 {
                self.s_rlen1.d.next = self.res_len.val();
                self.s_tuser1.d.next = self.tail.tuser.val();
            }
            if self.tail.oslot.val() == 2 {
                self.s_rlen2.d.next = self.res_len.val();
                self.s_tuser2.d.next = self.tail.tuser.val();
            }
            if self.tail.oslot.val() == 3 {
                self.s_rlen3.d.next = self.res_len.val();
                self.s_tuser3.d.next = self.tail.tuser.val();
            }
        }

        if self.tx_slot.q.val() == 0 {
            self.tx_rlen.next = self.s_rlen0.q.val();
            self.tx_tuser.next = self.s_tuser0.q.val();
        } else if self.tx_slot.q.val() == 1 {
            self.tx_rlen.next = self.s_rlen1.q.val();
            self.tx_tuser.next = self.s_tuser1.q.val();
        } else if self.tx_slot.q.val() == 2 {
            self.tx_rlen.next = self.s_rlen2.q.val();
            self.tx_tuser.next = self.s_tuser2.q.val();
        } else {
            self.tx_rlen.next = self.s_rlen3.q.val();
            self.tx_tuser.next = self.s_tuser3.q.val();
        }
        if self.tx_slot.q.val().get_bit(0) {
            self.tx_data.next = self.tail.buf_b.val();
        } else {
            self.tx_data.next = self.buf_a.val();
        }
        self.tx_keep.count.next = self.tx_rlen.val() - (self.tx_w.q.val() << 4);
        self.tx_addr.next = self.tx_w.q.val();
        self.tx_rslot.next = self.tx_slot.q.val();
        self.tx_next_mask.next = bits::<4>(1) << (self.tx_slot.q.val() + 1);
        if !self.tx_active.q.val() {
            if (self.s_rdy.q.val() & self.tx_mask.val()).any() {
                self.tx_active.d.next = true;
                self.tx_w.d.next = bits::<16>(0);
                self.tx_addr.next = bits::<16>(0);
            }
        } else {
            self.m_axis_tvalid.next = true;
            self.m_axis_tuser.next = self.tx_tuser.val();
            if self.tx_rlen.val() == 0 {
                // Refused, failed or empty: one beat with no bytes.
                self.m_axis_tlast.next = true;
                self.tx_done.next = self.m_axis_tready.val();
            } else {
                self.m_axis_tdata.next = self.tx_data.val();
                self.m_axis_tkeep.next = self.tx_keep.keep.val();
                self.m_axis_tlast.next = self.tx_w.q.val() == ((self.tx_rlen.val() - 1) >> 4);
                if self.m_axis_tready.val() {
                    self.tx_addr.next = self.tx_w.q.val() + 1;
                    self.tx_w.d.next = self.tx_w.q.val() + 1;
                    self.tx_done.next = self.m_axis_tlast.val();
                }
            }
            if self.tx_done.val() {
                self.freed.next = self.tx_mask.val();
                self.tx_slot.d.next = self.tx_slot.q.val() + 1;
                self.tx_rslot.next = self.tx_slot.q.val() + 1;
                // The next result, if ready, follows without a gap.
                self.tx_w.d.next = bits::<16>(0);
                self.tx_addr.next = bits::<16>(0);
                self.tx_active.d.next = (self.s_rdy.q.val() & self.tx_next_mask.val()).any();
            }
        }
        // A slot handed over in the cycle its predecessor is sent still counts as ready.
        if self.res_valid.val() {
            self.s_rdy.d.next = (self.s_rdy.q.val() | self.t_mask.val()) & !self.freed.val();
        } else {
            self.s_rdy.d.next = self.s_rdy.q.val() & !self.freed.val();
        }
        if self.tx_active.q.val() | (self.s_rdy.q.val() & self.tx_mask.val()).any() {
            self.tail.buf_rd.next = (bit_cast::<IBW, 2>(self.tx_rslot.val() >> 1) << 10)
                | bit_cast::<IBW, 16>(self.tx_addr.val() & (self.k_buf_words.val() - 1));
        } else {
            // Output window: result slot 0.
            self.tail.buf_rd.next = bit_cast::<IBW, 16>(self.win_rd.val());
        }
        if self.reset.val() {
            self.tx_active.d.next = false;
            self.tx_slot.d.next = bits::<2>(0);
            self.s_rdy.d.next = bits::<4>(0);
        }
    }
}
