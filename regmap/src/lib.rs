#![doc = include_str!("../README.md")]

pub mod dma;
pub mod doc;
pub mod flags;
pub mod regs;
pub mod sa_entry;
pub mod sideband;

pub use flags::{
    Capabilities, ErrorEvents, PktStatus, QueueCtrl, QueueFault, QueueStatus, SaCmdError,
    SaCmdStatus, SaFlags, SaOp, Verdict,
};
pub use regs::{Access, Field, Register, REGISTERS};

/// Identity magic in `ID_MAGIC`: ASCII "ESPE" read as a big-endian word.
pub const MAGIC: u32 = 0x4553_5045;

/// Version of everything in this crate that hardware and software must agree on:
/// offsets, fields, side-band layout and SA semantics. Bump on any change a driver
/// could notice; it also names the generated Verilog folder
/// `bitstreams/esp-engine-v<LAYOUT_VERSION>/`. Layout 2 added the DMA queue interface
/// ([`dma`], `ID_DMA`, the queue blocks, [`Capabilities::DMA`]).
pub const LAYOUT_VERSION: u32 = 2;

/// Name of the design folder under `bitstreams/` (without the version suffix).
pub const DESIGN_NAME: &str = "esp-engine";

/// Byte address width of the AXI4-Lite register port (`s_axil_awaddr`/`araddr`).
pub const ADDR_WIDTH: u32 = 16;

/// Size of the register space in bytes (`1 << ADDR_WIDTH`).
pub const ADDR_SPACE_BYTES: u32 = 1 << ADDR_WIDTH;

/// Register data width in bits (full-word accesses only).
pub const REG_WIDTH_BITS: u32 = 32;

/// Number of SA-table entries the card holds.
pub const NUM_SAS: u32 = 1024;

/// Bits of an SA index the hardware decodes (`log2(NUM_SAS)`).
pub const SA_INDEX_BITS: u32 = 10;

/// Datapath lanes in this core.
pub const LANES: u32 = 1;

/// Stream data width in bits (`s_axis_tdata`, `m_axis_tdata`).
pub const STREAM_DATA_BITS: u32 = 128;

/// Stream data width in bytes (`tkeep` width).
pub const STREAM_KEEP_BITS: u32 = STREAM_DATA_BITS / 8;

/// Largest input packet in bytes (stream or MMIO window). Longer packets are refused
/// with [`Verdict::BadLength`] and counted as bad descriptors.
pub const MAX_PACKET_BYTES: u32 = 9216;

/// Bytes of each packet window (input and output), a power of two.
pub const PKT_WINDOW_BYTES: u32 = 16384;

/// 128-bit words in one packet buffer.
pub const PKT_BUFFER_WORDS: u32 = PKT_WINDOW_BYTES / 16;

/// Bits of a packet-buffer word index.
pub const PKT_BUFFER_INDEX_BITS: u32 = 10;

/// ESP header bytes the card writes/reads: SPI(4) | SeqLo(4) | IV(8).
pub const ESP_HEADER_BYTES: u32 = 16;

/// Integrity check value length (AES-GCM and AES-GMAC with a 16-byte ICV).
pub const ICV_BYTES: u32 = 16;

/// Smallest inbound ESP datagram: header, 4 bytes of (encrypted) pad length and next
/// header padded to 4, ICV.
pub const MIN_INBOUND_BYTES: u32 = ESP_HEADER_BYTES + 4 + ICV_BYTES;

/// Output length of an outbound packet of `payload_len` bytes: header, payload,
/// RFC 4303 padding to a multiple of 4 (with pad length and next header), ICV.
#[must_use]
pub const fn outbound_len(payload_len: u32) -> u32 {
    ESP_HEADER_BYTES + padded_len(payload_len) + ICV_BYTES
}

/// Payload plus padding plus the two trailer bytes, a multiple of 4 (RFC 4303 2.4).
#[must_use]
pub const fn padded_len(payload_len: u32) -> u32 {
    (payload_len + 2).div_ceil(4) * 4
}

// The SA table must hold at least 1024 entries; the largest outbound result must fit
// the output window.
const _: () = assert!(NUM_SAS >= 1024);
const _: () = assert!(outbound_len(MAX_PACKET_BYTES) <= PKT_WINDOW_BYTES);

/// Value of the `ID_CAPABILITIES` register of this layout.
pub const CAPABILITIES: Capabilities = Capabilities::AES128
    .union(Capabilities::AES256)
    .union(Capabilities::GMAC)
    .union(Capabilities::ESN)
    .union(Capabilities::GMAC_ESN)
    .union(Capabilities::STREAM)
    .union(Capabilities::MMIO_WINDOW)
    .union(Capabilities::DMA);

/// Value of the `ID_DATAPATH` register: lanes in `[7:0]`, stream width in bits in
/// `[31:16]`.
pub const DATAPATH_VALUE: u32 = LANES | (STREAM_DATA_BITS << 16);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_consistent() {
        assert_eq!(1u32 << SA_INDEX_BITS, NUM_SAS);
        assert_eq!(1u32 << PKT_BUFFER_INDEX_BITS, PKT_BUFFER_WORDS);
        assert!(PKT_WINDOW_BYTES.is_power_of_two());
        // The largest outbound result must fit the output window.
        assert!(outbound_len(MAX_PACKET_BYTES) <= PKT_WINDOW_BYTES);
        assert_eq!(STREAM_KEEP_BITS, 16);
    }

    #[test]
    fn padding_follows_rfc4303() {
        // payload + pad + 2 is a multiple of 4 with the fewest pad bytes.
        assert_eq!(padded_len(0), 4);
        assert_eq!(padded_len(1), 4);
        assert_eq!(padded_len(2), 4);
        assert_eq!(padded_len(3), 8);
        assert_eq!(padded_len(6), 8);
        assert_eq!(outbound_len(0), 36);
        for l in 0..64 {
            let p = padded_len(l);
            assert_eq!(p % 4, 0);
            assert!(p >= l + 2 && p - (l + 2) <= 3);
        }
    }

    #[test]
    fn magic_spells_espe() {
        assert_eq!(&MAGIC.to_be_bytes(), b"ESPE");
    }
}
