//! One SA as the card holds it ([`CardSa`]: parameters, raw key and salt, zeroized),
//! its place in the table, its read-back state, and what a card cannot carry.

use esp::{SaConfig, Transform};
use regmap::{Capabilities, SaFlags};
use zeroize::Zeroizing;

use crate::port::Direction;

/// Position in the card's SA table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct SaIndex(pub u16);

/// Per-SA state read back from the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SaReadback {
    /// SPI.
    pub spi: u32,
    /// Flags (`SaFlags` bits, with `VALID`).
    pub flags: u32,
    /// Sequence counter (last number used).
    pub seq: u64,
    /// Packets with verdict OK.
    pub packets: u64,
    /// Their input bytes.
    pub bytes: u64,
    /// ICV failures.
    pub auth_fail: u32,
}

/// The key is zeroized on drop and never printed.
#[derive(Clone)]
pub struct CardSa {
    /// SPI.
    pub spi: u32,
    /// Direction.
    pub direction: Direction,
    /// Transform.
    pub transform: Transform,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Sequence counter: the last number used (0 for a new SA). Kept up to date from
    /// the card's results, so a reload continues without reuse.
    pub seq: u64,
    pub(super) key: Zeroizing<Vec<u8>>,
    pub(super) salt: Zeroizing<[u8; 4]>,
}

impl std::fmt::Debug for CardSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("direction", &self.direction)
            .field("transform", &self.transform)
            .field("esn", &self.esn)
            .field("seq", &self.seq)
            .field("key", &format_args!("<{} bytes redacted>", self.key.len()))
            .finish()
    }
}

impl CardSa {
    /// The card's view of `cfg` in `direction`; `seq` is the last sequence number
    /// already used (0 for a new SA).
    pub fn from_config(cfg: &SaConfig, direction: Direction, seq: u64) -> Self {
        let material = cfg.key.as_bytes();
        let klen = cfg.transform.cipher_key_len().min(material.len());
        let mut salt = Zeroizing::new([0u8; 4]);
        if let Some(s) = material.get(klen..klen + 4) {
            salt.copy_from_slice(s);
        }
        CardSa {
            spi: cfg.spi.0,
            direction,
            transform: cfg.transform,
            esn: cfg.esn,
            seq,
            key: Zeroizing::new(material[..klen].to_vec()),
            salt,
        }
    }

    /// The card's flags for this SA.
    pub(super) fn flags(&self) -> SaFlags {
        let mut f = SaFlags::empty();
        if matches!(self.transform, Transform::AesGcm256 | Transform::AesGmac256) {
            f |= SaFlags::AES256;
        }
        if matches!(
            self.transform,
            Transform::AesGmac128 | Transform::AesGmac256
        ) {
            f |= SaFlags::GMAC;
        }
        if self.esn {
            f |= SaFlags::ESN;
        }
        if self.direction == Direction::Inbound {
            f |= SaFlags::INBOUND;
        }
        f
    }
}

/// Why `caps` cannot carry `sa`, if it cannot.
pub fn unsupported_reason(caps: Capabilities, sa: &CardSa) -> Option<String> {
    let (need, name) = match sa.transform {
        Transform::AesGcm128 => (Capabilities::AES128, "AES-128-GCM"),
        Transform::AesGcm256 => (Capabilities::AES256, "AES-256-GCM"),
        Transform::AesGmac128 => (Capabilities::GMAC | Capabilities::AES128, "AES-128-GMAC"),
        Transform::AesGmac256 => (Capabilities::GMAC | Capabilities::AES256, "AES-256-GMAC"),
        other => return Some(format!("transform {other:?} is not offered by the card")),
    };
    if !caps.contains(need) {
        return Some(format!(
            "transform {name} is not in the card's capabilities"
        ));
    }
    let gmac = sa.flags().contains(SaFlags::GMAC);
    if sa.esn && !caps.contains(Capabilities::ESN) {
        return Some("extended sequence numbers are not supported by the card".into());
    }
    if sa.esn && gmac && !caps.contains(Capabilities::GMAC_ESN) {
        return Some("GMAC together with extended sequence numbers is not supported".into());
    }
    if sa.key.len() != sa.transform.cipher_key_len() {
        return Some(format!(
            "key material too short ({} key bytes)",
            sa.key.len()
        ));
    }
    if !sa.esn && sa.seq >= u64::from(u32::MAX) && sa.direction == Direction::Outbound {
        return Some("sequence numbers exhausted (rekey required)".into());
    }
    None
}
