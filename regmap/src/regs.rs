//! Register offsets and the register table.
//!
//! Offsets are byte addresses on the AXI4-Lite port; every access is a full 32-bit
//! word. Reads of unmapped words and of write-only registers return 0; writes to
//! unmapped or read-only words are ignored; the response is always OKAY.
//!
//! 64-bit values are split into `_LO` (bits 31:0) and `_HI` (bits 63:32) words at
//! consecutive offsets. For the counters (`CNT_*`, `SA_RB_PKTS`, `SA_RB_BYTES`),
//! reading `_LO` snapshots the high half of the same counter, and reading `_HI`
//! returns that snapshot: read `_LO` first, then `_HI` (as `RegIo::read64` does).

use crate::{CAPABILITIES, DATAPATH_VALUE, LAYOUT_VERSION, MAGIC, MAX_PACKET_BYTES, NUM_SAS};

/// How software may access a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Read-only; writes are ignored.
    Ro,
    /// Read and write.
    Rw,
    /// Write-only (keys, commands, doorbells); reads return 0.
    Wo,
    /// Read; writing 1 to a bit clears it.
    W1c,
}

impl Access {
    /// Short name used in the docs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ro => "RO",
            Self::Rw => "RW",
            Self::Wo => "WO",
            Self::W1c => "W1C",
        }
    }
}

/// One field of a register: `width` bits starting at `lsb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Field name (upper case).
    pub name: &'static str,
    /// Lowest bit.
    pub lsb: u32,
    /// Width in bits (1..=32).
    pub width: u32,
    /// One line of meaning.
    pub doc: &'static str,
}

impl Field {
    /// The field's mask within the register.
    #[must_use]
    pub const fn mask(&self) -> u32 {
        if self.width >= 32 {
            u32::MAX
        } else {
            ((1u32 << self.width) - 1) << self.lsb
        }
    }

    /// Extract the field from a register value.
    #[must_use]
    pub const fn get(&self, value: u32) -> u32 {
        (value & self.mask()) >> self.lsb
    }

    /// Place `v` into the field (bits outside the field are dropped).
    #[must_use]
    pub const fn put(&self, v: u32) -> u32 {
        (v << self.lsb) & self.mask()
    }
}

/// One 32-bit register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register {
    /// Register name (upper case, the constant's name in [`off`]).
    pub name: &'static str,
    /// Byte offset, a multiple of 4.
    pub offset: u32,
    /// Software access.
    pub access: Access,
    /// Value after reset (or the constant value of an identity register).
    pub reset: u32,
    /// Fields; empty means the whole word is one value.
    pub fields: &'static [Field],
    /// What the register is for.
    pub doc: &'static str,
}

/// A window of words (packet buffers): `size` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Window name.
    pub name: &'static str,
    /// First byte offset.
    pub offset: u32,
    /// Size in bytes (a power of two; the window is aligned to its size).
    pub size: u32,
    /// Software access.
    pub access: Access,
    /// What the window holds.
    pub doc: &'static str,
}

/// Register byte offsets. The only place an offset is written.
pub mod off {
    /// Identity: magic.
    pub const ID_MAGIC: u32 = 0x0000;
    /// Identity: layout version.
    pub const ID_LAYOUT_VERSION: u32 = 0x0004;
    /// Identity: capability bits.
    pub const ID_CAPABILITIES: u32 = 0x0008;
    /// Identity: number of SA entries.
    pub const ID_NUM_SAS: u32 = 0x000c;
    /// Identity: lanes and stream width.
    pub const ID_DATAPATH: u32 = 0x0010;
    /// Identity: largest input packet.
    pub const ID_MAX_PACKET: u32 = 0x0014;
    /// Identity: DMA queue interface shape (layout 2).
    pub const ID_DMA: u32 = 0x0018;

    /// Scratch word for bus tests.
    pub const SCRATCH: u32 = 0x0040;
    /// Engine status.
    pub const STATUS: u32 = 0x0044;
    /// Sticky error events (W1C).
    pub const ERROR_EVENTS: u32 = 0x0048;

    /// SA programming: entry index.
    pub const SA_INDEX: u32 = 0x0100;
    /// SA programming: SPI.
    pub const SA_SPI: u32 = 0x0104;
    /// SA programming: 4-byte salt.
    pub const SA_SALT: u32 = 0x0108;
    /// SA programming: flags.
    pub const SA_FLAGS: u32 = 0x010c;
    /// SA programming: sequence counter, low half.
    pub const SA_SEQ_LO: u32 = 0x0110;
    /// SA programming: sequence counter, high half.
    pub const SA_SEQ_HI: u32 = 0x0114;
    /// SA programming: key bytes 0..3 (`SA_KEY0 + 4*n` holds bytes 4n..4n+3).
    pub const SA_KEY0: u32 = 0x0120;
    /// Number of key words.
    pub const SA_KEY_WORDS: u32 = 8;
    /// SA command.
    pub const SA_CMD: u32 = 0x0140;
    /// SA command status.
    pub const SA_CMD_STATUS: u32 = 0x0144;
    /// SA readback: SPI.
    pub const SA_RB_SPI: u32 = 0x0150;
    /// SA readback: flags and valid.
    pub const SA_RB_FLAGS: u32 = 0x0154;
    /// SA readback: sequence counter, low half.
    pub const SA_RB_SEQ_LO: u32 = 0x0158;
    /// SA readback: sequence counter, high half.
    pub const SA_RB_SEQ_HI: u32 = 0x015c;
    /// SA readback: packets, low half.
    pub const SA_RB_PKTS_LO: u32 = 0x0160;
    /// SA readback: packets, high half.
    pub const SA_RB_PKTS_HI: u32 = 0x0164;
    /// SA readback: bytes, low half.
    pub const SA_RB_BYTES_LO: u32 = 0x0168;
    /// SA readback: bytes, high half.
    pub const SA_RB_BYTES_HI: u32 = 0x016c;
    /// SA readback: authentication failures.
    pub const SA_RB_AUTH_FAIL: u32 = 0x0170;

    /// Packet window: descriptor.
    pub const PKT_DESC: u32 = 0x0200;
    /// Packet window: input length in bytes.
    pub const PKT_LEN: u32 = 0x0204;
    /// Packet window: inbound ESN high half.
    pub const PKT_SEQ_HI: u32 = 0x0208;
    /// Packet window: doorbell.
    pub const PKT_DOORBELL: u32 = 0x020c;
    /// Packet window: status and verdict.
    pub const PKT_STATUS: u32 = 0x0210;
    /// Packet window: result length in bytes.
    pub const PKT_RESULT_LEN: u32 = 0x0214;
    /// Packet window: reported sequence number, low half.
    pub const PKT_RESULT_SEQ_LO: u32 = 0x0218;
    /// Packet window: reported sequence number, high half.
    pub const PKT_RESULT_SEQ_HI: u32 = 0x021c;

    /// Global counter: outbound packets, low half.
    pub const CNT_OUT_PKTS_LO: u32 = 0x0300;
    /// Global counter: outbound packets, high half.
    pub const CNT_OUT_PKTS_HI: u32 = 0x0304;
    /// Global counter: outbound bytes, low half.
    pub const CNT_OUT_BYTES_LO: u32 = 0x0308;
    /// Global counter: outbound bytes, high half.
    pub const CNT_OUT_BYTES_HI: u32 = 0x030c;
    /// Global counter: inbound packets, low half.
    pub const CNT_IN_PKTS_LO: u32 = 0x0310;
    /// Global counter: inbound packets, high half.
    pub const CNT_IN_PKTS_HI: u32 = 0x0314;
    /// Global counter: inbound bytes, low half.
    pub const CNT_IN_BYTES_LO: u32 = 0x0318;
    /// Global counter: inbound bytes, high half.
    pub const CNT_IN_BYTES_HI: u32 = 0x031c;
    /// Global counter: authentication failures, low half.
    pub const CNT_AUTH_FAIL_LO: u32 = 0x0320;
    /// Global counter: authentication failures, high half.
    pub const CNT_AUTH_FAIL_HI: u32 = 0x0324;
    /// Global counter: bad descriptors, low half: packets the engine refused (bad
    /// SA index, direction, length, SPI, exhausted counter). DMA descriptors the
    /// front end refuses never reach the engine and count in their queue's
    /// `Q_BAD_DESC` instead.
    pub const CNT_BAD_DESC_LO: u32 = 0x0328;
    /// Global counter: bad descriptors, high half.
    pub const CNT_BAD_DESC_HI: u32 = 0x032c;

    /// First DMA queue block: queue `q`'s registers start at
    /// `DMA_QUEUE_BASE + q * DMA_QUEUE_STRIDE` (offsets within it in [`super::qoff`]).
    pub const DMA_QUEUE_BASE: u32 = 0x1000;
    /// Bytes between two queue blocks.
    pub const DMA_QUEUE_STRIDE: u32 = 0x100;
    /// Bytes reserved for queue blocks from `DMA_QUEUE_BASE` (room for 16 queues).
    pub const DMA_QUEUE_SPACE: u32 = 0x1000;

    /// Packet input window (write-only).
    pub const PKT_IN_WINDOW: u32 = 0x8000;
    /// Packet output window (read-only).
    pub const PKT_OUT_WINDOW: u32 = 0xc000;
}

/// Register offsets inside one DMA queue block, relative to the block's start
/// ([`queue_reg`] gives the absolute offset). The only place they are written.
pub mod qoff {
    /// Descriptor ring base IOVA, low half (bits `[11:0]` are 0: 4 KiB aligned).
    pub const DQ_BASE_LO: u32 = 0x00;
    /// Descriptor ring base IOVA, high half.
    pub const DQ_BASE_HI: u32 = 0x04;
    /// Descriptor ring size, log2 of the number of entries.
    pub const DQ_LOG2_SIZE: u32 = 0x08;
    /// Descriptor ring producer index; the write is the doorbell.
    pub const DQ_PROD: u32 = 0x0c;
    /// Descriptor ring consumer index (descriptors fetched by the card).
    pub const DQ_CONS: u32 = 0x10;
    /// Completion ring base IOVA, low half (4 KiB aligned).
    pub const CQ_BASE_LO: u32 = 0x20;
    /// Completion ring base IOVA, high half.
    pub const CQ_BASE_HI: u32 = 0x24;
    /// Completion ring size, log2 of the number of entries.
    pub const CQ_LOG2_SIZE: u32 = 0x28;
    /// Completion ring producer index (records written by the card).
    pub const CQ_PROD: u32 = 0x2c;
    /// Completion ring consumer index (records freed by software) and interrupt arm.
    pub const CQ_CONS: u32 = 0x30;
    /// Interrupt vector of the queue and its enable.
    pub const IRQ_VECTOR: u32 = 0x40;
    /// Interrupt moderation: packet count and timer.
    pub const IRQ_MODERATION: u32 = 0x44;
    /// Queue enable and reset.
    pub const Q_CTRL: u32 = 0x50;
    /// Queue status and fault code.
    pub const Q_STATUS: u32 = 0x54;
    /// Descriptors of this queue completed with a DMA bad-descriptor verdict.
    pub const Q_BAD_DESC: u32 = 0x58;
}

const fn f(name: &'static str, lsb: u32, width: u32, doc: &'static str) -> Field {
    Field {
        name,
        lsb,
        width,
        doc,
    }
}

/// Fields of `PKT_DESC` (the same layout as `s_axis_tuser[31:0]`).
pub const PKT_DESC_FIELDS: &[Field] = &[
    f(
        "SA_INDEX",
        0,
        16,
        "SA-table entry (values >= NUM_SAS are refused: BadSa)",
    ),
    f(
        "INBOUND",
        16,
        1,
        "1 = inbound (decapsulate), 0 = outbound; must match the SA",
    ),
    f(
        "NEXT_HEADER",
        24,
        8,
        "outbound: next-header byte written into the ESP trailer",
    ),
];

/// Field `SA_INDEX` of `PKT_DESC`.
pub const DESC_SA_INDEX: Field = PKT_DESC_FIELDS[0];
/// Field `INBOUND` of `PKT_DESC`.
pub const DESC_INBOUND: Field = PKT_DESC_FIELDS[1];
/// Field `NEXT_HEADER` of `PKT_DESC`.
pub const DESC_NEXT_HEADER: Field = PKT_DESC_FIELDS[2];

const SA_FLAGS_FIELDS: &[Field] = &[
    f("AES256", 0, 1, "256-bit key (else 128-bit)"),
    f(
        "GMAC",
        1,
        1,
        "AES-GMAC ESP-NULL, RFC 4543 (else AES-GCM, RFC 4106)",
    ),
    f("ESN", 2, 1, "extended sequence numbers"),
    f("INBOUND", 3, 1, "inbound SA (else outbound)"),
];

const SA_RB_FLAGS_FIELDS: &[Field] = &[
    f("AES256", 0, 1, "256-bit key"),
    f("GMAC", 1, 1, "AES-GMAC ESP-NULL"),
    f("ESN", 2, 1, "extended sequence numbers"),
    f("INBOUND", 3, 1, "inbound SA"),
    f("VALID", 31, 1, "entry installed and usable"),
];

const PKT_STATUS_FIELDS: &[Field] = &[
    f("BUSY", 0, 1, "engine working on the window packet"),
    f(
        "DONE",
        1,
        1,
        "result ready in the output window (cleared by the doorbell)",
    ),
    f("STREAM_BUSY", 2, 1, "engine busy with a stream packet"),
    f(
        "VERDICT",
        8,
        4,
        "regmap::Verdict code of the last window packet",
    ),
    f(
        "NEXT_HEADER",
        16,
        8,
        "next header (inbound: from the decrypted trailer)",
    ),
];

const COUNTER_LO: &str = "low half; reading it snapshots the high half";
const COUNTER_HI: &str = "high half snapshot taken by the last _LO read";

/// A row of [`REGISTERS`]: `reg!(NAME, access, doc)` for the register at
/// `off::NAME`, named after it; `reg!(NAME = BASE + delta, access, doc)` for one
/// at `off::BASE + delta`, without a constant of its own (the key words after
/// `SA_KEY0`). Reset 0 and no fields unless `with_reset` / `with_fields` say
/// otherwise.
macro_rules! reg {
    (qoff::$name:ident, $access:ident, $doc:expr $(,)?) => {
        reg!(@row $name, qoff::$name, $access, $doc)
    };
    ($name:ident, $access:ident, $doc:expr $(,)?) => {
        reg!(@row $name, off::$name, $access, $doc)
    };
    ($name:ident = $base:ident + $delta:literal, $access:ident, $doc:expr $(,)?) => {
        reg!(@row $name, off::$base + $delta, $access, $doc)
    };
    (@row $name:ident, $offset:expr, $access:ident, $doc:expr) => {
        Register {
            name: stringify!($name),
            offset: $offset,
            access: Access::$access,
            reset: 0,
            fields: &[],
            doc: $doc,
        }
    };
}

impl Register {
    /// The same register with this reset (or constant) value.
    const fn with_reset(self, reset: u32) -> Self {
        Register { reset, ..self }
    }

    /// The same register with these fields.
    const fn with_fields(self, fields: &'static [Field]) -> Self {
        Register { fields, ..self }
    }
}

/// Every register, in offset order.
pub const REGISTERS: &[Register] = &[
    reg!(ID_MAGIC, Ro, "constant 0x45535045 (\"ESPE\")").with_reset(MAGIC),
    reg!(
        ID_LAYOUT_VERSION,
        Ro,
        "regmap::LAYOUT_VERSION; a driver refuses a version it does not know"
    )
    .with_reset(LAYOUT_VERSION),
    reg!(
        ID_CAPABILITIES,
        Ro,
        "what the card can carry (regmap::Capabilities)"
    )
    .with_reset(CAPABILITIES.bits())
    .with_fields(&[
        f("AES128", 0, 1, "AES-128-GCM"),
        f("AES256", 1, 1, "AES-256-GCM"),
        f("GMAC", 2, 1, "AES-GMAC ESP-NULL (without ESN)"),
        f("ESN", 3, 1, "extended sequence numbers (GCM)"),
        f("GMAC_ESN", 4, 1, "GMAC together with ESN"),
        f("STREAM", 5, 1, "AXI4-Stream packet ports"),
        f("MMIO_WINDOW", 6, 1, "MMIO packet window"),
        f("DMA", 7, 1, "DMA queue pairs (layout 2)"),
    ]),
    reg!(ID_NUM_SAS, Ro, "number of SA-table entries").with_reset(NUM_SAS),
    reg!(ID_DATAPATH, Ro, "datapath shape")
        .with_reset(DATAPATH_VALUE)
        .with_fields(&[
            f("LANES", 0, 8, "datapath lanes"),
            f("BUS_WIDTH_BITS", 16, 16, "stream data width in bits"),
        ]),
    reg!(ID_MAX_PACKET, Ro, "largest input packet in bytes").with_reset(MAX_PACKET_BYTES),
    reg!(SCRATCH, Rw, "free word for bus tests"),
    reg!(STATUS, Ro, "engine status").with_fields(&[
        f("SA_BUSY", 0, 1, "an SA command is running"),
        f(
            "PKT_BUSY",
            1,
            1,
            "the packet engine is busy (window or stream)",
        ),
    ]),
    reg!(
        ERROR_EVENTS,
        W1c,
        "sticky events (regmap::ErrorEvents); write 1 to clear"
    )
    .with_fields(&[
        f(
            "BAD_DESCRIPTOR",
            0,
            1,
            "a packet got a bad-descriptor verdict",
        ),
        f("AUTH_FAILED", 1, 1, "an inbound ICV check failed"),
        f("SA_CMD_FAILED", 2, 1, "an SA command failed"),
        f(
            "BUSY_WRITE",
            3,
            1,
            "doorbell or SA command written while busy (ignored)",
        ),
        f(
            "SEQ_EXHAUSTED",
            4,
            1,
            "an outbound SA ran out of sequence numbers",
        ),
    ]),
    reg!(SA_INDEX, Rw, "SA entry addressed by SA_CMD").with_fields(&[f(
        "INDEX",
        0,
        16,
        "entry for the next SA command",
    )]),
    reg!(SA_SPI, Rw, "SPI (numeric; sent big-endian on the wire)"),
    reg!(SA_SALT, Wo, "4-byte salt; salt byte 0 in bits [7:0]"),
    reg!(SA_FLAGS, Rw, "transform and role (regmap::SaFlags)").with_fields(SA_FLAGS_FIELDS),
    reg!(
        SA_SEQ_LO,
        Rw,
        "sequence counter low half: the last number used (0 for a new SA, \
         so the first packet carries 1)"
    ),
    reg!(SA_SEQ_HI, Rw, "sequence counter high half (ESN)"),
    reg!(SA_KEY0, Wo, "key bytes 0..3, byte 0 in bits [7:0]"),
    reg!(SA_KEY1 = SA_KEY0 + 4, Wo, "key bytes 4..7"),
    reg!(SA_KEY2 = SA_KEY0 + 8, Wo, "key bytes 8..11"),
    reg!(SA_KEY3 = SA_KEY0 + 12, Wo, "key bytes 12..15"),
    reg!(
        SA_KEY4 = SA_KEY0 + 16,
        Wo,
        "key bytes 16..19 (AES-256 only)"
    ),
    reg!(
        SA_KEY5 = SA_KEY0 + 20,
        Wo,
        "key bytes 20..23 (AES-256 only)"
    ),
    reg!(
        SA_KEY6 = SA_KEY0 + 24,
        Wo,
        "key bytes 24..27 (AES-256 only)"
    ),
    reg!(
        SA_KEY7 = SA_KEY0 + 28,
        Wo,
        "key bytes 28..31 (AES-256 only)"
    ),
    reg!(
        SA_CMD,
        Wo,
        "start an SA command on entry SA_INDEX; the staging registers are \
         cleared of key material when it completes"
    )
    .with_fields(&[f(
        "OP",
        0,
        4,
        "regmap::SaOp: 1 install, 2 remove, 3 update, 4 read",
    )]),
    reg!(
        SA_CMD_STATUS,
        Ro,
        "progress of the last SA command (regmap::SaCmdStatus)"
    )
    .with_fields(&[
        f("BUSY", 0, 1, "command running"),
        f("DONE", 1, 1, "last command finished"),
        f("ERROR", 2, 1, "last command failed"),
        f("VALID", 3, 1, "addressed entry is valid"),
        f("ERR_CODE", 8, 4, "regmap::SaCmdError"),
    ]),
    reg!(SA_RB_SPI, Ro, "readback (after SaOp::Read): SPI"),
    reg!(SA_RB_FLAGS, Ro, "readback: flags and valid").with_fields(SA_RB_FLAGS_FIELDS),
    reg!(
        SA_RB_SEQ_LO,
        Ro,
        "readback: sequence counter (last number used), low half"
    ),
    reg!(SA_RB_SEQ_HI, Ro, "readback: sequence counter, high half"),
    reg!(
        SA_RB_PKTS_LO,
        Ro,
        "readback: packets processed with OK verdict, low half"
    ),
    reg!(SA_RB_PKTS_HI, Ro, "readback: packets, high half"),
    reg!(
        SA_RB_BYTES_LO,
        Ro,
        "readback: input bytes of those packets, low half"
    ),
    reg!(SA_RB_BYTES_HI, Ro, "readback: bytes, high half"),
    reg!(
        SA_RB_AUTH_FAIL,
        Ro,
        "readback: ICV failures (saturating 32-bit)"
    ),
    reg!(
        PKT_DESC,
        Rw,
        "descriptor of the window packet (same layout as s_axis_tuser[31:0])"
    )
    .with_fields(PKT_DESC_FIELDS),
    reg!(PKT_LEN, Rw, "length of the packet in the input window").with_fields(&[f(
        "LEN",
        0,
        16,
        "input length in bytes",
    )]),
    reg!(
        PKT_SEQ_HI,
        Rw,
        "inbound ESN: high half of the sequence number (inferred by software)"
    ),
    reg!(
        PKT_DOORBELL,
        Wo,
        "start the window packet; ignored (ERROR_EVENTS.BUSY_WRITE) while busy"
    )
    .with_fields(&[f("GO", 0, 1, "write 1 to process the window packet")]),
    reg!(PKT_STATUS, Ro, "window packet status (regmap::PktStatus)").with_fields(PKT_STATUS_FIELDS),
    reg!(
        PKT_RESULT_LEN,
        Ro,
        "result length (0 unless the verdict is OK)"
    )
    .with_fields(&[f("LEN", 0, 16, "bytes of result in the output window")]),
    reg!(
        PKT_RESULT_SEQ_LO,
        Ro,
        "sequence number used (outbound) or authenticated (inbound), low half"
    ),
    reg!(PKT_RESULT_SEQ_HI, Ro, "reported sequence number, high half"),
    reg!(CNT_OUT_PKTS_LO, Ro, COUNTER_LO),
    reg!(CNT_OUT_PKTS_HI, Ro, COUNTER_HI),
    reg!(CNT_OUT_BYTES_LO, Ro, COUNTER_LO),
    reg!(CNT_OUT_BYTES_HI, Ro, COUNTER_HI),
    reg!(CNT_IN_PKTS_LO, Ro, COUNTER_LO),
    reg!(CNT_IN_PKTS_HI, Ro, COUNTER_HI),
    reg!(CNT_IN_BYTES_LO, Ro, COUNTER_LO),
    reg!(CNT_IN_BYTES_HI, Ro, COUNTER_HI),
    reg!(CNT_AUTH_FAIL_LO, Ro, COUNTER_LO),
    reg!(CNT_AUTH_FAIL_HI, Ro, COUNTER_HI),
    reg!(CNT_BAD_DESC_LO, Ro, COUNTER_LO),
    reg!(CNT_BAD_DESC_HI, Ro, COUNTER_HI),
];

/// Fields of `ID_DMA`.
pub const ID_DMA_FIELDS: &[Field] = &[
    f("NUM_QUEUES", 0, 8, "queue pairs (regmap::dma::NUM_QUEUES)"),
    f(
        "MAX_RING_LOG2",
        8,
        8,
        "largest log2 ring size (regmap::dma::MAX_RING_LOG2)",
    ),
    f(
        "IOVA_BITS",
        16,
        8,
        "bus-master address width (regmap::dma::IOVA_BITS)",
    ),
    f(
        "NUM_VECTORS",
        24,
        8,
        "interrupt vectors (regmap::dma::NUM_VECTORS)",
    ),
];

/// The DMA interface's global registers (layout 2). Absolute offsets, in [`off`].
pub const DMA_REGISTERS: &[Register] = &[reg!(
    ID_DMA,
    Ro,
    "DMA queue interface shape; valid when ID_CAPABILITIES.DMA is 1"
)
.with_reset(crate::dma::ID_DMA_VALUE)
.with_fields(ID_DMA_FIELDS)];

const INDEX_DOC: &str = "free-running 16-bit ring index (slot = index mod ring size)";

/// Fields of `DQ_BASE_LO` and `CQ_BASE_LO`.
pub const BASE_LO_FIELDS: &[Field] = &[f(
    "ADDR",
    12,
    20,
    "IOVA bits [31:12]; bits [11:0] are 0 (4 KiB aligned), writes to them ignored",
)];

/// Fields of `DQ_LOG2_SIZE` and `CQ_LOG2_SIZE`.
pub const LOG2_FIELDS: &[Field] = &[f(
    "LOG2",
    0,
    5,
    "entries = 2^LOG2, from dma::MIN_RING_LOG2 to ID_DMA.MAX_RING_LOG2",
)];

/// Field `INDEX` of the ring index registers.
pub const RING_INDEX: Field = f("INDEX", 0, 16, INDEX_DOC);

/// Fields of `CQ_CONS`.
pub const CQ_CONS_FIELDS: &[Field] = &[
    RING_INDEX,
    f(
        "ARM",
        31,
        1,
        "write 1 to arm the interrupt (one interrupt, then disarmed); reads 0",
    ),
];

/// Fields of `IRQ_VECTOR`.
pub const IRQ_VECTOR_FIELDS: &[Field] = &[
    f(
        "VECTOR",
        0,
        8,
        "MSI-X vector (below ID_DMA.NUM_VECTORS) the queue signals",
    ),
    f("ENABLE", 31, 1, "1 = the queue may interrupt"),
];

/// Fields of `IRQ_MODERATION`.
pub const IRQ_MODERATION_FIELDS: &[Field] = &[
    f(
        "PKTS",
        0,
        16,
        "interrupt once this many completions are pending (0 counts as 1)",
    ),
    f(
        "USECS",
        16,
        16,
        "or this many microseconds after the first pending completion (0 = no timer)",
    ),
];

/// Fields of `Q_CTRL` (bit values in [`crate::QueueCtrl`]).
pub const Q_CTRL_FIELDS: &[Field] = &[
    f(
        "ENABLE",
        0,
        1,
        "1 = fetch and process descriptors; ring registers are written while 0",
    ),
    f(
        "RESET",
        1,
        1,
        "write 1: stop, let in-flight DMA finish, zero indices, fault and moderation state; reads 0",
    ),
];

/// Fields of `Q_STATUS` (bit values in [`crate::QueueStatus`]).
pub const Q_STATUS_FIELDS: &[Field] = &[
    f("ENABLED", 0, 1, "the queue is enabled and not faulted"),
    f("RESET_BUSY", 1, 1, "a reset is in progress"),
    f("IDLE", 2, 1, "no descriptor fetched and not yet completed"),
    f(
        "FAULT",
        3,
        1,
        "the queue stopped on a fault (cleared by RESET)",
    ),
    f("FAULT_CODE", 8, 4, "regmap::QueueFault"),
];

/// The registers of one DMA queue block, in offset order; offsets relative to the
/// block (see [`queue_reg`]). Layout 2.
pub const QUEUE_REGISTERS: &[Register] = &[
    reg!(
        qoff::DQ_BASE_LO,
        Rw,
        "descriptor ring base IOVA [31:0], 4 KiB aligned"
    )
    .with_fields(BASE_LO_FIELDS),
    reg!(qoff::DQ_BASE_HI, Rw, "descriptor ring base IOVA [63:32]"),
    reg!(
        qoff::DQ_LOG2_SIZE,
        Rw,
        "descriptor ring: log2 of the entries"
    )
    .with_fields(LOG2_FIELDS),
    reg!(
        qoff::DQ_PROD,
        Rw,
        "descriptor producer index (software); the write is the doorbell"
    )
    .with_fields(&[RING_INDEX]),
    reg!(
        qoff::DQ_CONS,
        Ro,
        "descriptor consumer index (card): descriptors fetched; their slots are free"
    )
    .with_fields(&[RING_INDEX]),
    reg!(
        qoff::CQ_BASE_LO,
        Rw,
        "completion ring base IOVA [31:0], 4 KiB aligned"
    )
    .with_fields(BASE_LO_FIELDS),
    reg!(qoff::CQ_BASE_HI, Rw, "completion ring base IOVA [63:32]"),
    reg!(
        qoff::CQ_LOG2_SIZE,
        Rw,
        "completion ring: log2 of the entries"
    )
    .with_fields(LOG2_FIELDS),
    reg!(
        qoff::CQ_PROD,
        Ro,
        "completion producer index (card): records written"
    )
    .with_fields(&[RING_INDEX]),
    reg!(
        qoff::CQ_CONS,
        Rw,
        "completion consumer index (software): records read; ARM re-arms the interrupt"
    )
    .with_fields(CQ_CONS_FIELDS),
    reg!(qoff::IRQ_VECTOR, Rw, "interrupt vector and enable").with_fields(IRQ_VECTOR_FIELDS),
    reg!(
        qoff::IRQ_MODERATION,
        Rw,
        "interrupt moderation: packet count and timer"
    )
    .with_fields(IRQ_MODERATION_FIELDS),
    reg!(
        qoff::Q_CTRL,
        Rw,
        "queue enable and reset (regmap::QueueCtrl)"
    )
    .with_fields(Q_CTRL_FIELDS),
    reg!(
        qoff::Q_STATUS,
        Ro,
        "queue status (regmap::QueueStatus); IDLE after reset"
    )
    .with_reset(crate::QueueStatus::IDLE.bits())
    .with_fields(Q_STATUS_FIELDS),
    reg!(
        qoff::Q_BAD_DESC,
        Ro,
        "descriptors completed with a DMA bad-descriptor verdict (saturating 32-bit)"
    ),
];

/// Absolute offset of queue `queue`'s register at relative offset `rel` (a
/// [`qoff`] constant); `None` for a queue at or above `dma::NUM_QUEUES` or an offset
/// outside the block.
#[must_use]
pub const fn queue_reg(queue: u32, rel: u32) -> Option<u32> {
    if queue >= crate::dma::NUM_QUEUES || rel >= off::DMA_QUEUE_STRIDE {
        None
    } else {
        Some(off::DMA_QUEUE_BASE + queue * off::DMA_QUEUE_STRIDE + rel)
    }
}

// At least 4 queue pairs, all inside the reserved queue space.
const _: () = assert!(crate::dma::NUM_QUEUES >= 4);
const _: () = assert!(crate::dma::NUM_QUEUES * off::DMA_QUEUE_STRIDE <= off::DMA_QUEUE_SPACE);

/// Look a queue register up by name (relative offset in `offset`).
#[must_use]
pub fn queue_reg_by_name(name: &str) -> Option<&'static Register> {
    QUEUE_REGISTERS.iter().find(|r| r.name == name)
}

/// The queue and the queue register at absolute offset `offset`, if any.
#[must_use]
pub fn queue_reg_at(offset: u32) -> Option<(u32, &'static Register)> {
    let rel_all = offset.checked_sub(off::DMA_QUEUE_BASE)?;
    let queue = rel_all / off::DMA_QUEUE_STRIDE;
    if queue >= crate::dma::NUM_QUEUES {
        return None;
    }
    let rel = rel_all % off::DMA_QUEUE_STRIDE;
    QUEUE_REGISTERS
        .iter()
        .find(|r| r.offset == rel)
        .map(|r| (queue, r))
}

/// The packet windows.
pub const WINDOWS: &[Window] = &[
    Window {
        name: "PKT_IN_WINDOW",
        offset: off::PKT_IN_WINDOW,
        size: crate::PKT_WINDOW_BYTES,
        access: Access::Wo,
        doc: "input packet: byte b at offset b; word 4k holds bytes 4k..4k+3, \
              byte 4k in bits [7:0]",
    },
    Window {
        name: "PKT_OUT_WINDOW",
        offset: off::PKT_OUT_WINDOW,
        size: crate::PKT_WINDOW_BYTES,
        access: Access::Ro,
        doc: "result packet, same byte order; reads 0 unless the verdict is OK",
    },
];

/// Look a register up by name.
#[must_use]
pub fn by_name(name: &str) -> Option<&'static Register> {
    REGISTERS.iter().find(|r| r.name == name)
}

/// Look a register up by offset.
#[must_use]
pub fn by_offset(offset: u32) -> Option<&'static Register> {
    REGISTERS.iter().find(|r| r.offset == offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ADDR_SPACE_BYTES, PKT_WINDOW_BYTES};
    use std::collections::HashSet;

    #[test]
    fn offsets_are_aligned_sorted_unique_and_in_space() {
        let mut prev = None;
        for r in REGISTERS {
            assert_eq!(r.offset % 4, 0, "{} not word aligned", r.name);
            assert!(r.offset + 4 <= ADDR_SPACE_BYTES, "{} outside space", r.name);
            if let Some(p) = prev {
                assert!(r.offset > p, "{} out of order or overlapping", r.name);
            }
            prev = Some(r.offset);
        }
        let names: HashSet<_> = REGISTERS.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), REGISTERS.len(), "duplicate register name");
    }

    #[test]
    fn registers_stay_out_of_the_windows() {
        for w in WINDOWS {
            assert!(w.size.is_power_of_two());
            assert_eq!(w.offset % w.size, 0, "{} not aligned to its size", w.name);
            assert!(w.offset + w.size <= ADDR_SPACE_BYTES);
            for r in REGISTERS {
                assert!(
                    r.offset + 4 <= w.offset || r.offset >= w.offset + w.size,
                    "{} overlaps {}",
                    r.name,
                    w.name
                );
            }
        }
        let (a, b) = (WINDOWS[0], WINDOWS[1]);
        assert!(a.offset + a.size <= b.offset || b.offset + b.size <= a.offset);
        assert_eq!(a.size, PKT_WINDOW_BYTES);
    }

    #[test]
    fn fields_fit_and_do_not_overlap() {
        for r in REGISTERS {
            let mut used = 0u32;
            for fl in r.fields {
                assert!(
                    fl.width >= 1 && fl.lsb + fl.width <= 32,
                    "{}.{}",
                    r.name,
                    fl.name
                );
                assert_eq!(used & fl.mask(), 0, "{}.{} overlaps", r.name, fl.name);
                used |= fl.mask();
            }
            if !r.fields.is_empty() {
                assert_eq!(r.reset & !used, 0, "{} reset outside its fields", r.name);
            }
        }
    }

    #[test]
    fn sixty_four_bit_pairs_are_adjacent() {
        for r in REGISTERS {
            if let Some(stem) = r.name.strip_suffix("_LO") {
                let hi = by_name(&format!("{stem}_HI")).expect("missing _HI");
                assert_eq!(hi.offset, r.offset + 4, "{stem}");
            }
        }
    }

    #[test]
    fn flag_types_match_the_table() {
        use crate::{Capabilities, PktStatus, SaFlags};
        let caps = by_name("ID_CAPABILITIES").unwrap();
        for fl in caps.fields {
            let bit = Capabilities::from_name(fl.name).expect(fl.name);
            assert_eq!(bit.bits(), fl.mask(), "{}", fl.name);
        }
        let flags = by_name("SA_RB_FLAGS").unwrap();
        for fl in flags.fields {
            let bit = SaFlags::from_name(fl.name).expect(fl.name);
            assert_eq!(bit.bits(), fl.mask(), "{}", fl.name);
        }
        let st = by_name("PKT_STATUS").unwrap();
        for fl in st.fields {
            let bit = PktStatus::from_name(fl.name).expect(fl.name);
            assert_eq!(bit.bits(), fl.mask(), "{}", fl.name);
        }
    }

    fn check_table(table: &[Register], limit: u32) {
        let mut prev = None;
        for r in table {
            assert_eq!(r.offset % 4, 0, "{} not word aligned", r.name);
            assert!(r.offset + 4 <= limit, "{} outside its space", r.name);
            if let Some(p) = prev {
                assert!(r.offset > p, "{} out of order or overlapping", r.name);
            }
            prev = Some(r.offset);
            let mut used = 0u32;
            for fl in r.fields {
                assert!(fl.width >= 1 && fl.lsb + fl.width <= 32, "{}", fl.name);
                assert_eq!(used & fl.mask(), 0, "{}.{} overlaps", r.name, fl.name);
                used |= fl.mask();
            }
            if !r.fields.is_empty() {
                assert_eq!(r.reset & !used, 0, "{} reset outside its fields", r.name);
            }
            if let Some(stem) = r.name.strip_suffix("_LO") {
                let hi = table
                    .iter()
                    .find(|h| h.name == format!("{stem}_HI"))
                    .expect("missing _HI");
                assert_eq!(hi.offset, r.offset + 4, "{stem}");
            }
        }
    }

    #[test]
    fn dma_tables_are_well_formed() {
        check_table(DMA_REGISTERS, ADDR_SPACE_BYTES);
        check_table(QUEUE_REGISTERS, off::DMA_QUEUE_STRIDE);
        let names: HashSet<_> = REGISTERS
            .iter()
            .chain(DMA_REGISTERS)
            .chain(QUEUE_REGISTERS)
            .map(|r| r.name)
            .collect();
        assert_eq!(
            names.len(),
            REGISTERS.len() + DMA_REGISTERS.len() + QUEUE_REGISTERS.len(),
            "a name is used twice"
        );
    }

    #[test]
    fn queue_blocks_are_clear_of_everything_else() {
        use crate::dma::NUM_QUEUES;
        assert!(off::DMA_QUEUE_STRIDE.is_power_of_two());
        assert_eq!(off::DMA_QUEUE_BASE % off::DMA_QUEUE_SPACE, 0);
        let (lo, hi) = (
            off::DMA_QUEUE_BASE,
            off::DMA_QUEUE_BASE + off::DMA_QUEUE_SPACE,
        );
        for r in REGISTERS.iter().chain(DMA_REGISTERS) {
            assert!(
                r.offset + 4 <= lo || r.offset >= hi,
                "{} in queue space",
                r.name
            );
        }
        for w in WINDOWS {
            assert!(w.offset >= hi || w.offset + w.size <= lo, "{}", w.name);
        }
        // Every absolute queue register maps back to its queue and row.
        for q in 0..NUM_QUEUES {
            for r in QUEUE_REGISTERS {
                let abs = queue_reg(q, r.offset).unwrap();
                assert!(by_offset(abs).is_none());
                let (q2, r2) = queue_reg_at(abs).unwrap();
                assert_eq!((q2, r2.name), (q, r.name));
            }
        }
        assert_eq!(queue_reg(NUM_QUEUES, qoff::DQ_PROD), None);
        assert_eq!(queue_reg(0, off::DMA_QUEUE_STRIDE), None);
        assert_eq!(queue_reg(1, qoff::DQ_PROD), Some(0x110c));
        assert!(queue_reg_at(off::DMA_QUEUE_BASE + 0x14).is_none());
        assert!(queue_reg_at(0x0100).is_none());
        assert!(
            queue_reg_at(queue_reg(NUM_QUEUES - 1, 0).unwrap() + off::DMA_QUEUE_STRIDE).is_none()
        );
        // The ID_DMA word sits in the identity block but is not a layout 1 register.
        assert!(by_offset(off::ID_DMA).is_none());
    }

    #[test]
    fn dma_field_types_match_the_table() {
        use crate::{Capabilities, QueueCtrl, QueueStatus};
        for fl in Q_CTRL_FIELDS {
            assert_eq!(
                QueueCtrl::from_name(fl.name).expect(fl.name).bits(),
                fl.mask()
            );
        }
        for fl in Q_STATUS_FIELDS {
            assert_eq!(
                QueueStatus::from_name(fl.name).expect(fl.name).bits(),
                fl.mask()
            );
        }
        // Layout 2 reports the DMA capability.
        assert!(crate::CAPABILITIES.contains(Capabilities::DMA));
        let id = DMA_REGISTERS[0];
        assert_eq!(ID_DMA_FIELDS[0].get(id.reset), crate::dma::NUM_QUEUES);
        assert_eq!(ID_DMA_FIELDS[1].get(id.reset), crate::dma::MAX_RING_LOG2);
        assert_eq!(ID_DMA_FIELDS[2].get(id.reset), crate::dma::IOVA_BITS);
        assert_eq!(ID_DMA_FIELDS[3].get(id.reset), crate::dma::NUM_VECTORS);
        let log2 = queue_reg_by_name("DQ_LOG2_SIZE").unwrap().fields[0];
        assert!(crate::dma::MAX_RING_LOG2 <= log2.mask() >> log2.lsb);
    }

    #[test]
    fn identity_values() {
        assert_eq!(by_offset(0).unwrap().reset, crate::MAGIC);
        assert_eq!(by_name("ID_NUM_SAS").unwrap().reset, crate::NUM_SAS);
        assert!(by_name("ID_NUM_SAS").unwrap().reset >= 1024);
        let key7 = by_name("SA_KEY7").unwrap();
        assert_eq!(key7.offset, off::SA_KEY0 + 4 * (off::SA_KEY_WORDS - 1));
        assert_eq!(DESC_INBOUND.put(1), 1 << 16);
        assert_eq!(DESC_NEXT_HEADER.get(0x3200_0005), 0x32);
    }
}
