//! Packet ports: how packets reach the card. [`MmioWindowPort`] moves them through the
//! MMIO packet window over any [`RegIo`], so every backend (VFIO BAR, simulator, model)
//! can carry traffic with register accesses alone.

use regmap::regs::off;
use regmap::sideband::Descriptor;
use regmap::{PktStatus, Verdict};

use crate::{DriverError, RegIo};

/// Direction of a packet (and of an SA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Direction {
    /// Encapsulate: payload in, ESP datagram out.
    Outbound,
    /// Decapsulate: ESP datagram in, payload out.
    Inbound,
}

/// One packet for the card.
#[derive(Debug, Clone, Copy)]
pub struct PacketRequest<'a> {
    /// SA-table entry.
    pub sa_index: u16,
    /// Direction; must match the SA's.
    pub direction: Direction,
    /// Outbound: next header for the trailer. Ignored inbound.
    pub next_header: u8,
    /// Inbound with ESN: high half of the sequence number inferred by software.
    pub seq_hi: u32,
    /// Outbound: the payload. Inbound: the ESP datagram (SPI .. ICV).
    pub data: &'a [u8],
}

impl<'a> PacketRequest<'a> {
    /// An outbound request: seal `payload` under entry `sa_index` with `next_header`
    /// in the trailer.
    pub fn outbound(sa_index: u16, next_header: u8, payload: &'a [u8]) -> Self {
        PacketRequest {
            sa_index,
            direction: Direction::Outbound,
            next_header,
            seq_hi: 0,
            data: payload,
        }
    }

    /// An inbound request: open `datagram` (SPI .. ICV) under entry `sa_index`;
    /// `seq_hi` is the high half of the sequence number with ESN (0 without).
    pub fn inbound(sa_index: u16, seq_hi: u32, datagram: &'a [u8]) -> Self {
        PacketRequest {
            sa_index,
            direction: Direction::Inbound,
            next_header: 0,
            seq_hi,
            data: datagram,
        }
    }
}

/// The card's answer for one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketResult {
    /// Verdict; `data` is empty unless `Ok`.
    pub verdict: Verdict,
    /// Inbound: next header from the trailer; outbound: echoed.
    pub next_header: u8,
    /// Sequence number used (outbound) or authenticated (inbound).
    pub seq: u64,
    /// Outbound: the ESP datagram. Inbound: the payload without trailer.
    pub data: Vec<u8>,
}

/// Moves a batch of packets through the card.
///
/// `process` appends one result per completed request to `out`, in order. On error the
/// results already in `out` are complete and valid (the caller knows exactly which
/// packets the card finished); the rest were not finished.
pub trait PacketPort<R: RegIo> {
    /// Processes `reqs` in order; `poll_limit` bounds every wait.
    fn process(
        &mut self,
        regs: &mut R,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
        poll_limit: u32,
    ) -> Result<(), DriverError>;

    /// What a DMA port counted (`None` for a port without DMA queues).
    fn dma_stats(&self) -> Option<crate::dma::DmaPortStats> {
        None
    }
    /// Takes back result buffers the caller is done with (`PacketResult::data`), for
    /// the port to fill again; a port that does not pool them lets them go.
    fn recycle(&mut self, bufs: &mut Vec<Vec<u8>>) {
        bufs.clear();
    }
}

/// The MMIO packet window port (one packet at a time through `PKT_IN_WINDOW` and
/// `PKT_OUT_WINDOW`).
#[derive(Debug, Default, Clone, Copy)]
pub struct MmioWindowPort;

/// Field `name` of register `reg` (a global, DMA or queue register) from the regmap
/// tables (the only source of bit
/// positions; a missing one is a build-time mismatch that the unit tests catch).
pub(crate) fn field(reg: &str, name: &str) -> regmap::Field {
    regmap::regs::by_name(reg)
        .or_else(|| regmap::regs::queue_reg_by_name(reg))
        .or_else(|| regmap::regs::DMA_REGISTERS.iter().find(|r| r.name == reg))
        .and_then(|r| r.fields.iter().find(|f| f.name == name))
        .copied()
        .unwrap_or_else(|| panic!("regmap has no field {reg}.{name}"))
}

/// Writes `data` into the window at `base`, little-endian words (byte b at offset b).
pub(crate) fn write_window<R: RegIo + ?Sized>(
    regs: &mut R,
    base: u32,
    data: &[u8],
) -> Result<(), DriverError> {
    for (i, chunk) in data.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        regs.write32(base + 4 * i as u32, u32::from_le_bytes(w))?;
    }
    Ok(())
}

/// Reads `len` bytes from the window at `base`.
pub(crate) fn read_window<R: RegIo + ?Sized>(
    regs: &mut R,
    base: u32,
    len: usize,
) -> Result<Vec<u8>, DriverError> {
    let mut v = Vec::with_capacity(len.div_ceil(4) * 4);
    for i in 0..len.div_ceil(4) {
        v.extend_from_slice(&regs.read32(base + 4 * i as u32)?.to_le_bytes());
    }
    v.truncate(len);
    Ok(v)
}

impl MmioWindowPort {
    fn one<R: RegIo + ?Sized>(
        regs: &mut R,
        req: &PacketRequest<'_>,
        poll_limit: u32,
    ) -> Result<PacketResult, DriverError> {
        let max = regmap::MAX_PACKET_BYTES as usize;
        if req.data.len() > max {
            return Err(DriverError::PacketTooLarge {
                len: req.data.len(),
                max,
            });
        }
        write_window(regs, off::PKT_IN_WINDOW, req.data)?;
        let desc = Descriptor {
            sa_index: req.sa_index,
            inbound: req.direction == Direction::Inbound,
            next_header: req.next_header,
            seq_hi: req.seq_hi,
        };
        regs.write32(off::PKT_DESC, desc.to_pkt_desc())?;
        regs.write32(
            off::PKT_LEN,
            field("PKT_LEN", "LEN").put(req.data.len() as u32),
        )?;
        regs.write32(off::PKT_SEQ_HI, req.seq_hi)?;
        regs.write32(off::PKT_DOORBELL, field("PKT_DOORBELL", "GO").put(1))?;
        let st = crate::poll_until(regs, off::PKT_STATUS, poll_limit, "packet result", |v| {
            PktStatus::from_bits_retain(v).contains(PktStatus::DONE)
        })?;
        let st = PktStatus::from_bits_retain(st);
        let verdict = st.verdict();
        let len = field("PKT_RESULT_LEN", "LEN").get(regs.read32(off::PKT_RESULT_LEN)?) as usize;
        let seq = regs.read64(off::PKT_RESULT_SEQ_LO)?;
        let data = if verdict == Verdict::Ok {
            if len > regmap::PKT_WINDOW_BYTES as usize {
                return Err(DriverError::BadResult {
                    what: format!("result length {len} larger than the output window"),
                });
            }
            read_window(regs, off::PKT_OUT_WINDOW, len)?
        } else {
            Vec::new()
        };
        Ok(PacketResult {
            verdict,
            next_header: st.next_header(),
            seq,
            data,
        })
    }
}

impl<R: RegIo> PacketPort<R> for MmioWindowPort {
    fn process(
        &mut self,
        regs: &mut R,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
        poll_limit: u32,
    ) -> Result<(), DriverError> {
        for req in reqs {
            out.push(Self::one(regs, req, poll_limit)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_fields_used_by_the_port_exist_in_regmap() {
        assert_eq!(field("PKT_LEN", "LEN").put(0x1234), 0x1234);
        assert_ne!(field("PKT_DOORBELL", "GO").put(1), 0);
        for (reg, name) in [
            ("PKT_RESULT_LEN", "LEN"),
            ("ID_DATAPATH", "LANES"),
            ("ID_DATAPATH", "BUS_WIDTH_BITS"),
            ("SA_CMD", "OP"),
            ("SA_CMD_STATUS", "ERR_CODE"),
            ("SA_INDEX", "INDEX"),
            ("STATUS", "SA_BUSY"),
            ("STATUS", "PKT_BUSY"),
        ] {
            assert!(field(reg, name).width > 0);
        }
    }
}
