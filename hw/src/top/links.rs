//! The links between `Top`'s parts: one mirrored pair of `LogicInterface` bundles per
//! pair of parts that talk to each other, each declared once by [`link!`] from one
//! list of signals (named for the end that drives them). One end's `Out` is the other
//! end's `In`; `Top` connects a pair with `join`. A signal that a third part also
//! reads is wired by `Top` to a plain port of that part.

use super::{CNTW, CTXW, FQW, IBW, KEYW, MUW, SW};
use crate::crypto::AES_TAG_BITS;
use rust_hdl::prelude::*;

/// Declares a mirrored pair of bundles: `$a` (held by one part) drives the signals
/// of its first list and reads those of the second; `$b` (held by the other) the
/// other way round. Each `#[join]` names the other end (as a string, for rust-hdl).
macro_rules! link {
    (
        $(#[$am:meta])* $a:ident named $astr:tt;
        $(#[$bm:meta])* $b:ident named $bstr:tt;
        $a_drives:ident { $( $(#[$fm:meta])* $f:ident : $t:ty ),* $(,)? }
        $b_drives:ident { $( $(#[$gm:meta])* $g:ident : $u:ty ),* $(,)? }
    ) => {
        $(#[$am])*
        #[derive(LogicInterface, Default)]
        #[join = $bstr]
        pub struct $a {
            $( $(#[$fm])* pub $f: Signal<Out, $t>, )*
            $( $(#[$gm])* pub $g: Signal<In, $u>, )*
        }

        $(#[$bm])*
        #[derive(LogicInterface, Default)]
        #[join = $astr]
        pub struct $b {
            $( $(#[$fm])* pub $f: Signal<In, $t>, )*
            $( $(#[$gm])* pub $g: Signal<Out, $u>, )*
        }
    };
}

link! {
    /// `RegFile`'s end of its link with `Issue`: SA commands and window packets.
    RegIssue named "RegIssue";
    /// `Issue`'s end of its link with `RegFile`.
    IssueReg named "IssueReg";
    regs {
        /// `SA_INDEX`.
        sa_index: Bits<16>,
        /// SA flags staged with the command.
        sa_flags: Bits<4>,
        /// SA command opcode (`regmap::SaOp`).
        sa_op: Bits<4>,
        /// An SA command waits to run.
        cmd_pending: bool,
        /// The staged key words.
        stage_key: Bits<KEYW>,
        /// The staged SA context word.
        stage_ctx: Bits<CTXW>,
        /// A window packet waits (doorbell rung).
        db_pending: bool,
        /// Window packet descriptor (`regmap::sideband` layout).
        pkt_desc: Bits<32>,
        /// Window packet length in bytes.
        pkt_len: Bits<16>,
        /// Window packet: high 32 bits of the extended sequence number.
        pkt_seqhi: Bits<32>,
    }
    issue {
        /// A window packet is in the engine.
        win_active: bool,
        /// Pulse: the window packet is taken.
        db_take: bool,
        /// Pulse: the SA command is finished (`sa_errcode` tells how).
        cmd_done: bool,
        /// Error code of the last SA command (`regmap::SaCmdError`, 0 = none).
        sa_errcode: Bits<4>,
        /// The entry of the last SA command is valid.
        sa_valid: bool,
        /// Read-back SA: SPI.
        rb_spi: Bits<32>,
        /// Read-back SA: flags.
        rb_flags: Bits<4>,
        /// Read-back SA: valid.
        rb_valid: bool,
        /// Read-back SA: sequence counter.
        rb_seq: Bits<64>,
        /// Read-back SA: packet counter.
        rb_pkts: Bits<64>,
        /// Read-back SA: byte counter.
        rb_bytes: Bits<64>,
        /// Read-back SA: ICV failure counter.
        rb_auth: Bits<32>,
    }
}

link! {
    /// `Rx`'s end of its link with `Issue`: the input slots.
    RxIssue named "RxIssue";
    /// `Issue`'s end of its link with `Rx`.
    IssueRx named "IssueRx";
    rx {
        /// The input-slot word at the `rd_addr` of the previous cycle.
        din: Bits<128>,
        /// A stream packet is being received.
        busy: bool,
        /// One bit per input slot: it holds a whole packet.
        full: Bits<2>,
        /// Descriptor of the packet in slot 0.
        desc0: Bits<80>,
        /// Descriptor of the packet in slot 1.
        desc1: Bits<80>,
    }
    issue {
        /// One bit per input slot: read for the last time, free again.
        free: Bits<2>,
        /// Input-slot read address (slot in bit 10).
        rd_addr: Bits<16>,
    }
}

link! {
    /// `Issue`'s end of its link with `Tail`: the AES pipeline's output and the
    /// context queue.
    IssueTail named "IssueTail";
    /// `Tail`'s end of its link with `Issue`.
    TailIssue named "TailIssue";
    issue {
        /// A block leaves the AES pipeline.
        aes_valid: bool,
        /// Kind (`[129:128]`: 1 E(J0), 2 data block, 3 length slot) and input word of that block.
        aes_tag: Bits<AES_TAG_BITS>,
        /// Its keystream (E_K of the counter block), byte 0 at `[127:120]`.
        aes_block: Bits<128>,
        /// The packet context `f_word` goes into the context queue.
        f_push: bool,
        /// Packet context for the output side (layout in `issue`).
        f_word: Bits<FQW>,
        /// SA entry of the packet or command being issued.
        cur_idx: Bits<SW>,
        /// Pulse: zero the SA counter word of `cur_idx` (install, remove).
        cnt_clear: bool,
    }
    tail {
        /// Entries in the context queue.
        f_cnt: Bits<3>,
        /// The tail holds a packet (from its length slot until its result is done).
        t_busy: bool,
        /// SA counter RAM read data (`cur_idx` while the tail is idle).
        cnt_rd: Bits<CNTW>,
    }
}

link! {
    /// `Tail`'s end of its link with `RegFile`: the finished packet's result.
    TailReg named "TailReg";
    /// `RegFile`'s end of its link with `Tail`.
    RegTail named "RegTail";
    tail {
        /// Pulse: the tail's packet is finished; the signals below describe it.
        done: bool,
        /// The finished packet came from the stream (its result slot goes to the sender).
        stream: bool,
        /// The finished packet is inbound.
        inbound: bool,
        /// Its verdict (`regmap::Verdict`).
        verdict: Bits<4>,
        /// Its next header.
        nh: Bits<8>,
        /// Its sequence number.
        seq: Bits<64>,
        /// Its result length in bytes (0 if refused or failed).
        rlen: Bits<16>,
        /// Its byte count for the traffic counters (packet length).
        dl: Bits<16>,
        /// Result RAM A (slots 0, 2) word at the `buf_rd` of the previous cycle.
        buf_a: Bits<128>,
    }
    regs {}
}

link! {
    /// `Tail`'s end of its link with `Tx`: the result slots to send.
    TailTx named "TailTx";
    /// `Tx`'s end of its link with `Tail`.
    TxTail named "TxTail";
    tail {
        /// The finished packet's result slot.
        oslot: Bits<2>,
        /// The finished packet's `m_axis_tuser` side-band.
        tuser: Bits<MUW>,
        /// Result RAM B (slots 1, 3) word at the `buf_rd` of the previous cycle.
        buf_b: Bits<128>,
    }
    tx {
        /// Read address of both result RAMs.
        buf_rd: Bits<IBW>,
    }
}
