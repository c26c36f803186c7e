//! Stream side-band: `s_axis_tuser` (descriptor, valid on a packet's first beat) and
//! `m_axis_tuser` (result, valid on every beat of a result packet).
//!
//! A packet refused or failed (any verdict but OK) comes out of `m_axis` as a single
//! beat with `tkeep = 0`, `tlast = 1`, zero data and the verdict in `m_axis_tuser`, so
//! every input packet yields exactly one output packet and no plaintext escapes.

use crate::Verdict;

/// A field of a side-band word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandField {
    /// Field name.
    pub name: &'static str,
    /// Lowest bit.
    pub lsb: u32,
    /// Width in bits.
    pub width: u32,
    /// Meaning.
    pub doc: &'static str,
}

impl BandField {
    const fn mask(&self) -> u128 {
        ((1u128 << self.width) - 1) << self.lsb
    }

    /// Extract the field.
    #[must_use]
    pub const fn get(&self, word: u128) -> u128 {
        (word & self.mask()) >> self.lsb
    }

    /// Place a value into the field.
    #[must_use]
    pub const fn put(&self, v: u128) -> u128 {
        (v << self.lsb) & self.mask()
    }
}

const fn bf(name: &'static str, lsb: u32, width: u32, doc: &'static str) -> BandField {
    BandField {
        name,
        lsb,
        width,
        doc,
    }
}

/// Width of `s_axis_tuser`.
pub const S_TUSER_BITS: u32 = 64;
/// Width of `m_axis_tuser`.
pub const M_TUSER_BITS: u32 = 96;

/// `s_axis_tuser` field: SA index (bits 15:0, as `PKT_DESC`).
pub const IN_SA_INDEX: BandField = bf("SA_INDEX", 0, 16, "SA-table entry");
/// `s_axis_tuser` field: direction (bit 16, as `PKT_DESC`).
pub const IN_INBOUND: BandField = bf("INBOUND", 16, 1, "1 = inbound, 0 = outbound");
/// `s_axis_tuser` field: outbound next header (bits 31:24, as `PKT_DESC`).
pub const IN_NEXT_HEADER: BandField = bf(
    "NEXT_HEADER",
    24,
    8,
    "outbound: next header for the trailer",
);
/// `s_axis_tuser` field: inbound ESN high half (bits 63:32, as `PKT_SEQ_HI`).
pub const IN_SEQ_HI: BandField = bf("SEQ_HI", 32, 32, "inbound ESN: sequence high half");

/// All `s_axis_tuser` fields.
pub const S_TUSER_FIELDS: &[BandField] = &[IN_SA_INDEX, IN_INBOUND, IN_NEXT_HEADER, IN_SEQ_HI];

/// `m_axis_tuser` field: verdict code.
pub const OUT_VERDICT: BandField = bf("VERDICT", 0, 4, "regmap::Verdict code");
/// `m_axis_tuser` field: direction echoed.
pub const OUT_INBOUND: BandField = bf("INBOUND", 4, 1, "direction of the request");
/// `m_axis_tuser` field: next header.
pub const OUT_NEXT_HEADER: BandField = bf(
    "NEXT_HEADER",
    8,
    8,
    "inbound: from the trailer; outbound: echoed",
);
/// `m_axis_tuser` field: SA index echoed.
pub const OUT_SA_INDEX: BandField = bf("SA_INDEX", 16, 16, "SA index of the request");
/// `m_axis_tuser` field: sequence number used (outbound) or authenticated (inbound).
pub const OUT_SEQ: BandField = bf("SEQ", 32, 64, "64-bit sequence number");

/// All `m_axis_tuser` fields.
pub const M_TUSER_FIELDS: &[BandField] = &[
    OUT_VERDICT,
    OUT_INBOUND,
    OUT_NEXT_HEADER,
    OUT_SA_INDEX,
    OUT_SEQ,
];

/// The request descriptor (`s_axis_tuser`, or `PKT_DESC` + `PKT_SEQ_HI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Descriptor {
    /// SA-table entry.
    pub sa_index: u16,
    /// Direction.
    pub inbound: bool,
    /// Outbound next header.
    pub next_header: u8,
    /// Inbound ESN high half.
    pub seq_hi: u32,
}

impl Descriptor {
    /// Encode as `s_axis_tuser`.
    #[must_use]
    pub fn to_tuser(self) -> u64 {
        (IN_SA_INDEX.put(self.sa_index.into())
            | IN_INBOUND.put(self.inbound.into())
            | IN_NEXT_HEADER.put(self.next_header.into())
            | IN_SEQ_HI.put(self.seq_hi.into())) as u64
    }

    /// Decode `s_axis_tuser`.
    #[must_use]
    pub fn from_tuser(word: u64) -> Self {
        let w = u128::from(word);
        Self {
            sa_index: IN_SA_INDEX.get(w) as u16,
            inbound: IN_INBOUND.get(w) != 0,
            next_header: IN_NEXT_HEADER.get(w) as u8,
            seq_hi: IN_SEQ_HI.get(w) as u32,
        }
    }

    /// The `PKT_DESC` register value (the low 32 bits of the side-band word).
    #[must_use]
    pub fn to_pkt_desc(self) -> u32 {
        self.to_tuser() as u32
    }
}

/// The result side-band (`m_axis_tuser`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultInfo {
    /// Verdict.
    pub verdict: Verdict,
    /// Direction of the request.
    pub inbound: bool,
    /// Next header.
    pub next_header: u8,
    /// SA index of the request.
    pub sa_index: u16,
    /// Sequence number used or authenticated.
    pub seq: u64,
}

impl ResultInfo {
    /// Encode as `m_axis_tuser` (low 96 bits).
    #[must_use]
    pub fn to_tuser(self) -> u128 {
        OUT_VERDICT.put(self.verdict.code().into())
            | OUT_INBOUND.put(self.inbound.into())
            | OUT_NEXT_HEADER.put(self.next_header.into())
            | OUT_SA_INDEX.put(self.sa_index.into())
            | OUT_SEQ.put(self.seq.into())
    }

    /// Decode `m_axis_tuser`.
    #[must_use]
    pub fn from_tuser(word: u128) -> Self {
        Self {
            verdict: Verdict::from_code(OUT_VERDICT.get(word) as u32),
            inbound: OUT_INBOUND.get(word) != 0,
            next_header: OUT_NEXT_HEADER.get(word) as u8,
            sa_index: OUT_SA_INDEX.get(word) as u16,
            seq: OUT_SEQ.get(word) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regs::{DESC_INBOUND, DESC_NEXT_HEADER, DESC_SA_INDEX};

    fn check_fields(fields: &[BandField], width: u32) {
        let mut used = 0u128;
        for f in fields {
            assert!(f.lsb + f.width <= width, "{} beyond width", f.name);
            assert_eq!(used & f.mask(), 0, "{} overlaps", f.name);
            used |= f.mask();
        }
    }

    #[test]
    fn fields_fit_and_do_not_overlap() {
        check_fields(S_TUSER_FIELDS, S_TUSER_BITS);
        check_fields(M_TUSER_FIELDS, M_TUSER_BITS);
    }

    #[test]
    fn descriptor_matches_pkt_desc_register() {
        for (a, b) in [
            (IN_SA_INDEX, DESC_SA_INDEX),
            (IN_INBOUND, DESC_INBOUND),
            (IN_NEXT_HEADER, DESC_NEXT_HEADER),
        ] {
            assert_eq!((a.lsb, a.width), (b.lsb, b.width), "{}", a.name);
        }
    }

    #[test]
    fn round_trips() {
        let d = Descriptor {
            sa_index: 1023,
            inbound: true,
            next_header: 4,
            seq_hi: 0xdead_beef,
        };
        assert_eq!(Descriptor::from_tuser(d.to_tuser()), d);
        assert_eq!(d.to_tuser(), 0xdead_beef_0401_03ff);
        let r = ResultInfo {
            verdict: Verdict::BadTrailer,
            inbound: false,
            next_header: 41,
            sa_index: 7,
            seq: 0x1_0000_0002,
        };
        assert_eq!(ResultInfo::from_tuser(r.to_tuser()), r);
        assert_eq!(r.to_tuser() & 0xf, 5);
    }
}
