//! What an SA is made from: [`SaConfig`] with its [`KeyMaterial`], [`Mode`],
//! [`UdpEncap`] and [`Lifetime`] (see `lifetime` for the bookkeeping).

use std::net::IpAddr;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::lifetime::Lifetime;
use crate::crypto::BackendKind;
use crate::error::ConfigError;
use crate::replay::DEFAULT_WINDOW;
use crate::spd::Selector;
use crate::types::{Spi, Transform};

/// Largest key material any transform takes.
const MAX_KEY_MATERIAL: usize = 64;

/// Secret key material for one SA direction, exactly as IKEv2 derives it (see
/// [`Transform::key_material_len`]). Zeroized on drop; `Debug` prints only the
/// length.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyMaterial {
    bytes: [u8; MAX_KEY_MATERIAL],
    len: usize,
}

impl KeyMaterial {
    /// Copies `bytes` (at most 64).
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > MAX_KEY_MATERIAL {
            return None;
        }
        let mut k = KeyMaterial {
            bytes: [0; MAX_KEY_MATERIAL],
            len: bytes.len(),
        };
        k.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(k)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl core::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyMaterial(<redacted {} bytes>)", self.len)
    }
}

/// Transport or tunnel mode (RFC 4301 section 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// ESP inserted after the IP header of the packet itself.
    Transport,
    /// The whole packet inside a new outer IP header between these endpoints.
    Tunnel {
        /// Our endpoint (outer source when sending).
        local: IpAddr,
        /// The peer's endpoint (outer destination when sending).
        remote: IpAddr,
    },
}

/// UDP encapsulation of ESP (RFC 3948) with these ports (4500 normally).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpEncap {
    /// Source port of packets we send.
    pub src_port: u16,
    /// Destination port of packets we send.
    pub dst_port: u16,
}

impl Default for UdpEncap {
    fn default() -> Self {
        UdpEncap {
            src_port: 4500,
            dst_port: 4500,
        }
    }
}

/// Everything needed to create one SA direction.
#[derive(Clone, Debug)]
pub struct SaConfig {
    /// SPI (chosen by the receiver).
    pub spi: Spi,
    /// Transform.
    pub transform: Transform,
    /// Key material: see [`Transform::key_material_len`].
    pub key: KeyMaterial,
    /// Extended (64-bit) sequence numbers (RFC 4303 section 2.2.1).
    pub esn: bool,
    /// Anti-replay window size in packets (inbound; 32..=65536, default 1024).
    pub replay_window: u32,
    /// Soft and hard lifetimes.
    pub lifetime: Lifetime,
    /// AES-GCM backend.
    pub backend: BackendKind,
    /// Transport or tunnel mode (packet layer).
    pub mode: Mode,
    /// UDP encapsulation (packet layer).
    pub encap: Option<UdpEncap>,
    /// Traffic-flow-confidentiality padding (RFC 4303 section 2.4): in tunnel
    /// mode, pad the inner packet with zeros up to this many bytes.
    pub tfc_pad_to: Option<u16>,
    /// Inbound selector check after decryption (packet layer); `None` = any.
    pub selector: Option<Selector>,
}

impl SaConfig {
    /// A configuration with defaults: no ESN, window 1024, no lifetimes, the
    /// fastest backend, transport mode, no UDP encapsulation, no TFC padding.
    pub fn new(spi: Spi, transform: Transform, key: &[u8]) -> Result<Self, ConfigError> {
        check_key_len(transform, key.len())?;
        let key = KeyMaterial::new(key).ok_or(key_length_error(transform, key.len()))?;
        Ok(SaConfig {
            spi,
            transform,
            key,
            esn: false,
            replay_window: DEFAULT_WINDOW,
            lifetime: Lifetime::default(),
            backend: BackendKind::fastest(),
            mode: Mode::Transport,
            encap: None,
            tfc_pad_to: None,
            selector: None,
        })
    }

    /// Checks what the public fields may have been set to: the key length,
    /// the tunnel endpoints' families and soft <= hard lifetimes.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_key_len(self.transform, self.key.len())?;
        if let Mode::Tunnel { local, remote } = self.mode {
            if local.is_ipv4() != remote.is_ipv4() {
                return Err(ConfigError::TunnelFamilyMismatch);
            }
        }
        self.lifetime.validate()
    }
}

/// `got` bytes of key material are what `transform` takes.
fn check_key_len(transform: Transform, got: usize) -> Result<(), ConfigError> {
    if got == transform.key_material_len() {
        Ok(())
    } else {
        Err(key_length_error(transform, got))
    }
}

fn key_length_error(transform: Transform, got: usize) -> ConfigError {
    ConfigError::KeyLength {
        transform,
        expected: transform.key_material_len(),
        got,
    }
}
