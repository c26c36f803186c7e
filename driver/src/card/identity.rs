//! What the card reports about itself: the identity block (checked against `regmap`
//! at probe) and the card-wide counters.

use regmap::regs::off;
use regmap::Capabilities;

use crate::port::field;
use crate::{DriverError, RegIo};

/// What the card says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// `ID_MAGIC`.
    pub magic: u32,
    /// `ID_LAYOUT_VERSION`.
    pub layout_version: u32,
    /// `ID_CAPABILITIES` as raw bits.
    pub capabilities: u32,
    /// `ID_NUM_SAS`.
    pub num_sas: u32,
    /// Datapath lanes (`ID_DATAPATH[7:0]`).
    pub lanes: u32,
    /// Stream width in bits (`ID_DATAPATH[31:16]`).
    pub stream_bits: u32,
    /// `ID_MAX_PACKET`.
    pub max_packet: u32,
}

impl Identity {
    /// Capabilities as flags.
    pub fn caps(&self) -> Capabilities {
        Capabilities::from_bits_retain(self.capabilities)
    }

    /// Whether packets can move by DMA (`Capabilities::DMA`).
    pub fn has_dma(&self) -> bool {
        self.caps().contains(Capabilities::DMA)
    }

    /// Capability names, for people.
    pub fn capability_names(&self) -> Vec<&'static str> {
        self.caps().iter_names().map(|(n, _)| n).collect()
    }
}

/// The number of DMA queue pairs the card reports (`ID_DMA.NUM_QUEUES`; 0 without
/// `Capabilities::DMA`).
pub fn read_dma_queues<R: RegIo + ?Sized>(regs: &mut R) -> Result<u32, DriverError> {
    let caps = Capabilities::from_bits_retain(regs.read32(off::ID_CAPABILITIES)?);
    if !caps.contains(Capabilities::DMA) {
        return Ok(0);
    }
    Ok(field("ID_DMA", "NUM_QUEUES").get(regs.read32(off::ID_DMA)?))
}

/// The card-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CardCounters {
    /// Outbound packets with verdict OK.
    pub out_pkts: u64,
    /// Their input bytes.
    pub out_bytes: u64,
    /// Inbound packets with verdict OK.
    pub in_pkts: u64,
    /// Their input bytes.
    pub in_bytes: u64,
    /// Inbound ICV failures.
    pub auth_fail: u64,
    /// Bad descriptors.
    pub bad_desc: u64,
}

/// Reads and checks the identity block: magic, layout version, capabilities.
pub fn read_identity<R: RegIo + ?Sized>(regs: &mut R) -> Result<Identity, DriverError> {
    let magic = regs.read32(off::ID_MAGIC)?;
    if magic != regmap::MAGIC {
        return Err(DriverError::BadMagic {
            found: magic,
            expected: regmap::MAGIC,
        });
    }
    let layout_version = regs.read32(off::ID_LAYOUT_VERSION)?;
    if layout_version != regmap::LAYOUT_VERSION {
        return Err(DriverError::UnknownLayout {
            found: layout_version,
            expected: regmap::LAYOUT_VERSION,
        });
    }
    let capabilities = regs.read32(off::ID_CAPABILITIES)?;
    let num_sas = regs.read32(off::ID_NUM_SAS)?;
    let datapath = regs.read32(off::ID_DATAPATH)?;
    let max_packet = regs.read32(off::ID_MAX_PACKET)?;
    let ident = Identity {
        magic,
        layout_version,
        capabilities,
        num_sas,
        lanes: field("ID_DATAPATH", "LANES").get(datapath),
        stream_bits: field("ID_DATAPATH", "BUS_WIDTH_BITS").get(datapath),
        max_packet,
    };
    if !ident.caps().contains(Capabilities::MMIO_WINDOW) {
        return Err(DriverError::Capability(
            "card has no MMIO packet window (required by this driver)".into(),
        ));
    }
    if num_sas == 0 || num_sas > 1 << regmap::SA_INDEX_BITS.min(16) {
        return Err(DriverError::Capability(format!(
            "card reports {num_sas} SA entries"
        )));
    }
    if max_packet == 0 || max_packet > regmap::MAX_PACKET_BYTES {
        return Err(DriverError::Capability(format!(
            "card reports a maximum packet of {max_packet} bytes"
        )));
    }
    Ok(ident)
}
