//! Small value types shared by every layer: SPI, sequence numbers, transforms.

use core::fmt;

/// Security Parameters Index (RFC 4303 section 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Spi(pub u32);

impl fmt::Display for Spi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x}", self.0)
    }
}

/// A full 64-bit ESP sequence number (RFC 4303 section 2.2.1). With extended
/// sequence numbers (ESN) off, the high half is always zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeqNum(pub u64);

impl SeqNum {
    /// Builds a sequence number from its high and low halves.
    pub const fn from_parts(hi: u32, lo: u32) -> Self {
        SeqNum(((hi as u64) << 32) | lo as u64)
    }
    /// The low 32 bits (the ones carried in the ESP header).
    pub const fn lo(self) -> u32 {
        self.0 as u32
    }
    /// The high 32 bits (never on the wire; part of the ICV input with ESN).
    pub const fn hi(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// IP protocol / next-header numbers used by ESP and AH.
pub mod proto {
    /// IPv4-in-IP (tunnel mode, inner IPv4).
    pub const IPV4: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6-in-IP (tunnel mode, inner IPv6).
    pub const IPV6: u8 = 41;
    /// IPv6 routing header.
    pub const IPV6_ROUTING: u8 = 43;
    /// IPv6 fragment header.
    pub const IPV6_FRAGMENT: u8 = 44;
    /// ESP (RFC 4303).
    pub const ESP: u8 = 50;
    /// AH (RFC 4302).
    pub const AH: u8 = 51;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// No next header: an ESP dummy packet (RFC 4303 section 2.6).
    pub const NO_NEXT_HEADER: u8 = 59;
    /// IPv6 hop-by-hop options.
    pub const IPV6_HOP_BY_HOP: u8 = 0;
    /// IPv6 destination options.
    pub const IPV6_DEST_OPTS: u8 = 60;
    /// ICMP (v4).
    pub const ICMP: u8 = 1;
}

/// The ESP transforms this crate implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transform {
    /// AES-GCM with a 128-bit key and 16-byte ICV (RFC 4106).
    AesGcm128,
    /// AES-GCM with a 256-bit key and 16-byte ICV (RFC 4106).
    AesGcm256,
    /// AES-GMAC ESP-NULL, 128-bit key (RFC 4543): authenticated, not encrypted.
    AesGmac128,
    /// AES-GMAC ESP-NULL, 256-bit key (RFC 4543).
    AesGmac256,
    /// AES-CBC-128 (RFC 3602) with HMAC-SHA-256-128 (RFC 4868).
    AesCbc128HmacSha256,
    /// AES-CBC-256 (RFC 3602) with HMAC-SHA-256-128 (RFC 4868).
    AesCbc256HmacSha256,
}

impl Transform {
    /// Every transform, for tests and capability lists.
    pub const ALL: [Transform; 6] = [
        Transform::AesGcm128,
        Transform::AesGcm256,
        Transform::AesGmac128,
        Transform::AesGmac256,
        Transform::AesCbc128HmacSha256,
        Transform::AesCbc256HmacSha256,
    ];

    /// AES key length in bytes (the cipher key, without salt or auth key).
    pub const fn cipher_key_len(self) -> usize {
        match self {
            Transform::AesGcm128 | Transform::AesGmac128 | Transform::AesCbc128HmacSha256 => 16,
            Transform::AesGcm256 | Transform::AesGmac256 | Transform::AesCbc256HmacSha256 => 32,
        }
    }

    /// Length of the key material an SA takes, as IKEv2 delivers it: for GCM and
    /// GMAC the AES key followed by the 4-byte salt (RFC 4106 section 8.1,
    /// RFC 4543 section 3.2); for CBC the AES key followed by the 32-byte HMAC key.
    pub const fn key_material_len(self) -> usize {
        match self {
            Transform::AesGcm128 | Transform::AesGmac128 => 20,
            Transform::AesGcm256 | Transform::AesGmac256 => 36,
            Transform::AesCbc128HmacSha256 => 16 + 32,
            Transform::AesCbc256HmacSha256 => 32 + 32,
        }
    }

    /// Length of the explicit IV carried in each packet.
    pub const fn iv_len(self) -> usize {
        match self {
            Transform::AesCbc128HmacSha256 | Transform::AesCbc256HmacSha256 => 16,
            _ => 8,
        }
    }

    /// Length of the ICV (integrity check value) at the end of each packet.
    pub const fn icv_len(self) -> usize {
        16
    }

    /// The ESP header length: SPI (4), sequence number (4) and IV.
    pub const fn header_len(self) -> usize {
        8 + self.iv_len()
    }

    /// The alignment the padded plaintext (payload, padding, pad length, next
    /// header) must reach: 4 for GCM/GMAC (RFC 4303 section 2.4), the AES block
    /// size for CBC.
    pub const fn pad_align(self) -> usize {
        match self {
            Transform::AesCbc128HmacSha256 | Transform::AesCbc256HmacSha256 => 16,
            _ => 4,
        }
    }

    /// True when the payload is encrypted (everything but GMAC ESP-NULL).
    pub const fn encrypts(self) -> bool {
        !matches!(self, Transform::AesGmac128 | Transform::AesGmac256)
    }

    /// True for the combined-mode AES-GCM transforms (what the card carries).
    pub const fn is_gcm(self) -> bool {
        matches!(self, Transform::AesGcm128 | Transform::AesGcm256)
    }

    /// A short name for logs and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Transform::AesGcm128 => "aes128gcm16",
            Transform::AesGcm256 => "aes256gcm16",
            Transform::AesGmac128 => "aes128gmac",
            Transform::AesGmac256 => "aes256gmac",
            Transform::AesCbc128HmacSha256 => "aes128-sha256",
            Transform::AesCbc256HmacSha256 => "aes256-sha256",
        }
    }
}

impl Transform {
    /// Parses the names [`Transform::name`] prints (strongSwan proposal
    /// spelling), e.g. `aes128gcm16`, `aes256gmac`, `aes128-sha256`.
    pub fn from_name(name: &str) -> Option<Self> {
        Transform::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Parses an ESP proposal as strongSwan's `esp_proposals` writes it: the first
    /// proposal of a comma-separated list, a DH group suffix (`-x25519`,
    /// `-ecp256`, which only matters to rekeys) ignored, and the GCM ICV spellings
    /// `aes128gcm128` and `aes128gcm` accepted beside [`Transform::name`]'s.
    pub fn from_proposal(list: &str) -> Option<Self> {
        let first = list.split(',').next().unwrap_or("").trim();
        let first = first
            .strip_suffix("-x25519")
            .or_else(|| first.strip_suffix("-ecp256"))
            .unwrap_or(first);
        match first {
            "aes128gcm128" | "aes128gcm" => Some(Transform::AesGcm128),
            "aes256gcm128" | "aes256gcm" => Some(Transform::AesGcm256),
            name => Transform::from_name(name),
        }
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Tunnel or transport mode as a setting: what a configuration file or an IKE
/// proposal names before the outer addresses are attached (they belong to the
/// connection and may move with NAT-T). [`Mode`](crate::Mode) is the SA's mode
/// with the tunnel's endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModeKind {
    /// The whole inner IP packet is protected inside a new outer header.
    Tunnel,
    /// The payload is protected; the packet's own IP header is kept.
    Transport,
}

impl ModeKind {
    /// The keyword: `tunnel` or `transport`.
    pub const fn name(self) -> &'static str {
        match self {
            ModeKind::Tunnel => "tunnel",
            ModeKind::Transport => "transport",
        }
    }

    /// Parses the keyword [`ModeKind::name`] prints.
    pub fn from_name(name: &str) -> Option<Self> {
        [ModeKind::Tunnel, ModeKind::Transport]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

impl fmt::Display for ModeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqnum_halves() {
        let s = SeqNum::from_parts(0x0102_0304, 0xa0b0_c0d0);
        assert_eq!(s.0, 0x0102_0304_a0b0_c0d0);
        assert_eq!(s.hi(), 0x0102_0304);
        assert_eq!(s.lo(), 0xa0b0_c0d0);
    }

    #[test]
    fn transform_sizes() {
        assert_eq!(Transform::AesGcm128.header_len(), 16);
        assert_eq!(Transform::AesCbc256HmacSha256.header_len(), 24);
        assert_eq!(Transform::AesGcm256.key_material_len(), 36);
        assert!(!Transform::AesGmac128.encrypts());
        for t in Transform::ALL {
            assert_eq!(Transform::from_name(t.name()), Some(t));
        }
        assert_eq!(Transform::from_name("aes192gcm16"), None);
        // proposals as esp_proposals writes them, and the mode keywords
        for (p, t) in [
            ("aes128gcm16", Transform::AesGcm128),
            ("aes128gcm128", Transform::AesGcm128),
            ("aes256gcm", Transform::AesGcm256),
            ("aes256gcm16-x25519, aes128gcm16", Transform::AesGcm256),
            ("aes128-sha256-ecp256", Transform::AesCbc128HmacSha256),
            (" aes256gmac ", Transform::AesGmac256),
        ] {
            assert_eq!(Transform::from_proposal(p), Some(t), "{p}");
        }
        assert_eq!(Transform::from_proposal("aes128gcm17"), None);
        assert_eq!(Transform::from_proposal(""), None);
        for m in [ModeKind::Tunnel, ModeKind::Transport] {
            assert_eq!(ModeKind::from_name(m.name()), Some(m));
        }
        assert_eq!(ModeKind::from_name("tunel"), None);
    }
}
