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
    /// Global counter: bad descriptors, low half.
    pub const CNT_BAD_DESC_LO: u32 = 0x0328;
    /// Global counter: bad descriptors, high half.
    pub const CNT_BAD_DESC_HI: u32 = 0x032c;

    /// Packet input window (write-only).
    pub const PKT_IN_WINDOW: u32 = 0x8000;
    /// Packet output window (read-only).
    pub const PKT_OUT_WINDOW: u32 = 0xc000;
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
