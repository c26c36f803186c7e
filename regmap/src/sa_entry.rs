//! Layout of one SA-table entry inside the card (four block RAMs indexed by SA index).
//! Software never reads these words directly; they are here so that `hw` sizes its
//! RAMs from one place and so the docs state what the card stores.
//!
//! | RAM        | width | contents                                                |
//! |------------|-------|---------------------------------------------------------|
//! | `sa_key`   | 256   | raw key; bits `[32n+31:32n]` = `SA_KEYn`                 |
//! | `sa_hkey`  | 128   | hash key H = E_K(0^128), computed by the card at install |
//! | `sa_ctx`   | 136   | SPI, salt, sequence counter, flags, valid (fields below) |
//! | `sa_cnt`   | 160   | packets (64), bytes (64), auth failures (32)             |
//!
//! Round keys are derived from `sa_key` by the hardware key expansion when a packet
//! for the entry starts.

/// A bit range inside an SA-table RAM word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryField {
    /// Field name.
    pub name: &'static str,
    /// Lowest bit.
    pub lsb: u32,
    /// Width in bits.
    pub width: u32,
}

const fn field(name: &'static str, lsb: u32, width: u32) -> EntryField {
    EntryField { name, lsb, width }
}

/// Width of the key RAM word.
pub const KEY_BITS: u32 = 256;
/// Width of the hash-key RAM word.
pub const HKEY_BITS: u32 = 128;
/// Width of the context RAM word.
pub const CTX_BITS: u32 = 136;
/// Width of the per-SA counter RAM word.
pub const CNT_BITS: u32 = 160;

/// Context: SPI.
pub const CTX_SPI: EntryField = field("SPI", 0, 32);
/// Context: salt (salt byte 0 in the low byte, as `SA_SALT`).
pub const CTX_SALT: EntryField = field("SALT", 32, 32);
/// Context: 64-bit sequence counter (last number used).
pub const CTX_SEQ: EntryField = field("SEQ", 64, 64);
/// Context: `SaFlags` bits `[3:0]`.
pub const CTX_FLAGS: EntryField = field("FLAGS", 128, 4);
/// Context: entry valid.
pub const CTX_VALID: EntryField = field("VALID", 132, 1);

/// Counters: packets with OK verdict.
pub const CNT_PKTS: EntryField = field("PKTS", 0, 64);
/// Counters: input bytes of those packets.
pub const CNT_BYTES: EntryField = field("BYTES", 64, 64);
/// Counters: ICV failures (saturating).
pub const CNT_AUTH_FAIL: EntryField = field("AUTH_FAIL", 128, 32);

/// The fields of the context word, lowest bits first.
pub const CTX_FIELDS: &[EntryField] = &[CTX_SPI, CTX_SALT, CTX_SEQ, CTX_FLAGS, CTX_VALID];
/// The fields of the counter word, lowest bits first.
pub const CNT_FIELDS: &[EntryField] = &[CNT_PKTS, CNT_BYTES, CNT_AUTH_FAIL];

#[cfg(test)]
mod tests {
    use super::*;

    fn check(fields: &[EntryField], width: u32) {
        let mut end = 0;
        for f in fields {
            assert!(f.lsb >= end, "{} overlaps", f.name);
            end = f.lsb + f.width;
        }
        assert!(end <= width);
    }

    #[test]
    fn entry_fields_fit() {
        check(CTX_FIELDS, CTX_BITS);
        check(CNT_FIELDS, CNT_BITS);
        assert_eq!(KEY_BITS, 32 * crate::regs::off::SA_KEY_WORDS);
    }
}
