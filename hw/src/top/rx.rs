//! Receive: the two input slots (ping-pong, `PKT_BUFFER_WORDS` 128-bit words each) in
//! four 32-bit-lane RAMs.
//!
//! A stream packet is received into slot `rx_wslot` while the issue side reads the
//! other one; its descriptor (index, direction, next header, high sequence bits and the
//! byte length counted from `tkeep`) is kept per slot (`desc0`, `desc1`, 80 bits:
//! `[15:0]` index, `[16]` inbound, `[31:24]` next header, `[63:32]` SeqHi, `[79:64]`
//! length; 0xffff if the packet did not fit). A slot is `full` from its last beat until
//! the issue side frees it (`free`). Input-window writes of the register port
//! (`win_wr`, one 32-bit lane chosen by address bits `[3:2]`) go to slot 0 and hold
//! off the stream for that cycle. `din` is the word at `rd_addr`, one cycle after.

use super::links::RxIssue;
use rust_hdl::prelude::*;

use super::{buf_words, AW, IBW, SUW};
use crate::util::KeepCount;

/// The input slots and the `s_axis` receiver (see the module docs).
#[derive(LogicBlock)]
pub struct Rx {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset.
    pub reset: Signal<In, bool>,
    /// `Top::s_axis_tdata`, passed through.
    pub s_axis_tdata: Signal<In, Bits<128>>,
    /// `Top::s_axis_tkeep`, passed through.
    pub s_axis_tkeep: Signal<In, Bits<16>>,
    /// `Top::s_axis_tlast`, passed through.
    pub s_axis_tlast: Signal<In, bool>,
    /// `Top::s_axis_tvalid`, passed through.
    pub s_axis_tvalid: Signal<In, bool>,
    /// `Top::s_axis_tready`, passed through.
    pub s_axis_tready: Signal<Out, bool>,
    /// `Top::s_axis_tuser`, passed through.
    pub s_axis_tuser: Signal<In, Bits<SUW>>,
    /// `RegFile::win_wr`: an input-window write this cycle.
    pub win_wr: Signal<In, bool>,
    /// `Top::s_axil_awaddr`: word and lane of an input-window write.
    pub win_addr: Signal<In, Bits<AW>>,
    /// `Top::s_axil_wdata`: data of an input-window write.
    pub win_data: Signal<In, Bits<32>>,
    /// `RegIssue::db_pending` (also read by `Issue`).
    pub db_pending: Signal<In, bool>,
    /// `IssueReg::win_active` (also read by `RegFile`).
    pub win_active: Signal<In, bool>,
    /// The link with `Issue`.
    pub issue: RxIssue,

    in_b0: RAM<Bits<32>, IBW>,
    in_b1: RAM<Bits<32>, IBW>,
    in_b2: RAM<Bits<32>, IBW>,
    in_b3: RAM<Bits<32>, IBW>,
    keep_cnt: KeepCount,
    rx_busy: DFF<bool>,
    rx_wslot: DFF<bool>,
    rx_full: DFF<Bits<2>>,
    rx_words: DFF<Bits<16>>,
    rx_bytes: DFF<Bits<16>>,
    rx_index: DFF<Bits<16>>,
    rx_inbound: DFF<bool>,
    rx_nhd: DFF<Bits<8>>,
    rx_seqhi: DFF<Bits<32>>,
    rx_desc0: DFF<Bits<80>>,
    rx_desc1: DFF<Bits<80>>,
    rx_allowed: Signal<Local, bool>,
    rx_fire: Signal<Local, bool>,
    rx_addr: Signal<Local, Bits<16>>,
    rx_base: Signal<Local, Bits<16>>,
    rx_len_now: Signal<Local, Bits<16>>,
    rx_slot_mask: Signal<Local, Bits<2>>,
    rx_set: Signal<Local, Bits<2>>,
    rx_cur_desc: Signal<Local, Bits<80>>,
    rx_waddr: Signal<Local, Bits<IBW>>,
    k_buf_words: Constant<Bits<16>>,
}

impl Default for Rx {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            s_axis_tdata: Default::default(),
            s_axis_tkeep: Default::default(),
            s_axis_tlast: Default::default(),
            s_axis_tvalid: Default::default(),
            s_axis_tready: Default::default(),
            s_axis_tuser: Default::default(),
            win_wr: Default::default(),
            win_addr: Default::default(),
            win_data: Default::default(),
            db_pending: Default::default(),
            win_active: Default::default(),
            issue: Default::default(),
            in_b0: Default::default(),
            in_b1: Default::default(),
            in_b2: Default::default(),
            in_b3: Default::default(),
            keep_cnt: Default::default(),
            rx_busy: Default::default(),
            rx_wslot: Default::default(),
            rx_full: Default::default(),
            rx_words: Default::default(),
            rx_bytes: Default::default(),
            rx_index: Default::default(),
            rx_inbound: Default::default(),
            rx_nhd: Default::default(),
            rx_seqhi: Default::default(),
            rx_desc0: Default::default(),
            rx_desc1: Default::default(),
            rx_allowed: Default::default(),
            rx_fire: Default::default(),
            rx_addr: Default::default(),
            rx_base: Default::default(),
            rx_len_now: Default::default(),
            rx_slot_mask: Default::default(),
            rx_set: Default::default(),
            rx_cur_desc: Default::default(),
            rx_waddr: Default::default(),
            k_buf_words: buf_words(),
        }
    }
}

impl Logic for Rx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, rx_busy, rx_wslot, rx_full, rx_words, rx_bytes, rx_index, rx_inbound,
            rx_nhd, rx_seqhi, rx_desc0, rx_desc1
        );
        self.in_b0.read_clock.next = self.clock.val();
        self.in_b1.read_clock.next = self.clock.val();
        self.in_b2.read_clock.next = self.clock.val();
        self.in_b3.read_clock.next = self.clock.val();
        self.in_b0.write_clock.next = self.clock.val();
        self.in_b1.write_clock.next = self.clock.val();
        self.in_b2.write_clock.next = self.clock.val();
        self.in_b3.write_clock.next = self.clock.val();
        self.issue.busy.next = self.rx_busy.q.val();
        self.issue.full.next = self.rx_full.q.val();
        self.issue.desc0.next = self.rx_desc0.q.val();
        self.issue.desc1.next = self.rx_desc1.q.val();

        // Input-window writes go to input slot 0, one lane per write.
        self.in_b0.write_enable.next = false;
        self.in_b1.write_enable.next = false;
        self.in_b2.write_enable.next = false;
        self.in_b3.write_enable.next = false;
        self.in_b0.write_address.next =
            bit_cast::<IBW, AW>((self.win_addr.val() >> 4) & (self.k_buf_words.val() - 1));
        self.in_b1.write_address.next =
            bit_cast::<IBW, AW>((self.win_addr.val() >> 4) & (self.k_buf_words.val() - 1));
        self.in_b2.write_address.next =
            bit_cast::<IBW, AW>((self.win_addr.val() >> 4) & (self.k_buf_words.val() - 1));
        self.in_b3.write_address.next =
            bit_cast::<IBW, AW>((self.win_addr.val() >> 4) & (self.k_buf_words.val() - 1));
        self.in_b0.write_data.next = self.win_data.val();
        self.in_b1.write_data.next = self.win_data.val();
        self.in_b2.write_data.next = self.win_data.val();
        self.in_b3.write_data.next = self.win_data.val();
        if self.win_wr.val() {
            if self.win_addr.val().get_bits::<2>(2) == 0 {
                self.in_b0.write_enable.next = true;
            }
            if self.win_addr.val().get_bits::<2>(2) == 1 {
                self.in_b1.write_enable.next = true;
            }
            if self.win_addr.val().get_bits::<2>(2) == 2 {
                self.in_b2.write_enable.next = true;
            }
            if self.win_addr.val().get_bits::<2>(2) == 3 {
                self.in_b3.write_enable.next = true;
            }
        }

        self.issue.din.next = bit_cast::<128, 32>(self.in_b0.read_data.val())
            | (bit_cast::<128, 32>(self.in_b1.read_data.val()) << 32)
            | (bit_cast::<128, 32>(self.in_b2.read_data.val()) << 64)
            | (bit_cast::<128, 32>(self.in_b3.read_data.val()) << 96);
        self.keep_cnt.keep.next = self.s_axis_tkeep.val();

        // A stream packet is received into input slot `rx_wslot` while the issue side
        // reads the other slot; a slot is free again once its last word was issued.
        self.rx_cur_desc.next = bits::<80>(0);
        self.rx_waddr.next = bits::<IBW>(0);
        self.rx_set.next = bits::<2>(0);
        if self.rx_wslot.q.val() {
            self.rx_slot_mask.next = bits::<2>(2);
        } else {
            self.rx_slot_mask.next = bits::<2>(1);
        }
        self.rx_allowed.next = !(self.rx_full.q.val() & self.rx_slot_mask.val()).any()
            & (self.rx_busy.q.val() | !(self.db_pending.val() | self.win_active.val()));
        // An input-window write through the register port has the buffer this cycle.
        self.s_axis_tready.next = self.rx_allowed.val() & !self.win_wr.val();
        self.rx_fire.next = self.s_axis_tready.val() & self.s_axis_tvalid.val();
        if self.rx_busy.q.val() {
            self.rx_addr.next = self.rx_words.q.val();
            self.rx_base.next = self.rx_bytes.q.val();
        } else {
            self.rx_addr.next = bits::<16>(0);
            self.rx_base.next = bits::<16>(0);
        }
        if self.rx_addr.val() < self.k_buf_words.val() {
            self.rx_len_now.next = self.rx_base.val() + self.keep_cnt.count.val();
        } else {
            self.rx_len_now.next = bits::<16>(0xffff);
        }
        if self.rx_fire.val() {
            if !self.rx_busy.q.val() {
                self.rx_index.d.next = self.s_axis_tuser.val().get_bits::<16>(0);
                self.rx_inbound.d.next = self.s_axis_tuser.val().get_bit(16);
                self.rx_nhd.d.next = self.s_axis_tuser.val().get_bits::<8>(24);
                self.rx_seqhi.d.next = self.s_axis_tuser.val().get_bits::<32>(32);
                self.rx_cur_desc.next =
                    bit_cast::<80, 16>(self.s_axis_tuser.val().get_bits::<16>(0))
                        | (bit_cast::<80, 8>(self.s_axis_tuser.val().get_bits::<8>(24)) << 24)
                        | (bit_cast::<80, 32>(self.s_axis_tuser.val().get_bits::<32>(32)) << 32);
                if self.s_axis_tuser.val().get_bit(16) {
                    self.rx_cur_desc.next = self.rx_cur_desc.val() | (bits::<80>(1) << 16);
                }
            } else {
                self.rx_cur_desc.next = bit_cast::<80, 16>(self.rx_index.q.val())
                    | (bit_cast::<80, 8>(self.rx_nhd.q.val()) << 24)
                    | (bit_cast::<80, 32>(self.rx_seqhi.q.val()) << 32);
                if self.rx_inbound.q.val() {
                    self.rx_cur_desc.next = self.rx_cur_desc.val() | (bits::<80>(1) << 16);
                }
            }
            self.rx_busy.d.next = true;
            self.rx_waddr.next =
                bit_cast::<IBW, 16>(self.rx_addr.val() & (self.k_buf_words.val() - 1));
            if self.rx_wslot.q.val() {
                self.rx_waddr.next = self.rx_waddr.val() | (bits::<IBW>(1) << 10);
            }
            self.in_b0.write_address.next = self.rx_waddr.val();
            self.in_b1.write_address.next = self.rx_waddr.val();
            self.in_b2.write_address.next = self.rx_waddr.val();
            self.in_b3.write_address.next = self.rx_waddr.val();
            self.in_b0.write_data.next = self.s_axis_tdata.val().get_bits::<32>(0);
            self.in_b1.write_data.next = self.s_axis_tdata.val().get_bits::<32>(32);
            self.in_b2.write_data.next = self.s_axis_tdata.val().get_bits::<32>(64);
            self.in_b3.write_data.next = self.s_axis_tdata.val().get_bits::<32>(96);
            if self.rx_addr.val() < self.k_buf_words.val() {
                self.in_b0.write_enable.next = true;
                self.in_b1.write_enable.next = true;
                self.in_b2.write_enable.next = true;
                self.in_b3.write_enable.next = true;
                self.rx_words.d.next = self.rx_addr.val() + 1;
                self.rx_bytes.d.next = self.rx_len_now.val();
            } else {
                // Longer than the buffer: keep draining, report it too long.
                self.rx_words.d.next = self.rx_addr.val();
                self.rx_bytes.d.next = bits::<16>(0xffff);
            }
            if self.s_axis_tlast.val() {
                self.rx_cur_desc.next =
                    self.rx_cur_desc.val() | (bit_cast::<80, 16>(self.rx_len_now.val()) << 64);
                if self.rx_wslot.q.val() {
                    self.rx_desc1.d.next = self.rx_cur_desc.val();
                } else {
                    self.rx_desc0.d.next = self.rx_cur_desc.val();
                }
                self.rx_busy.d.next = false;
                self.rx_set.next = self.rx_slot_mask.val();
                self.rx_wslot.d.next = !self.rx_wslot.q.val();
            }
        }
        // A slot freed by the issue side in the cycle the other one fills.
        self.rx_full.d.next = (self.rx_full.q.val() & !self.issue.free.val()) | self.rx_set.val();
        self.in_b0.read_address.next = bit_cast::<IBW, 16>(self.issue.rd_addr.val());
        self.in_b1.read_address.next = bit_cast::<IBW, 16>(self.issue.rd_addr.val());
        self.in_b2.read_address.next = bit_cast::<IBW, 16>(self.issue.rd_addr.val());
        self.in_b3.read_address.next = bit_cast::<IBW, 16>(self.issue.rd_addr.val());
        if self.reset.val() {
            self.rx_busy.d.next = false;
            self.rx_full.d.next = bits::<2>(0);
            self.rx_wslot.d.next = false;
        }
    }
}
