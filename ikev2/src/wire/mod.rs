//! IKEv2 wire format (RFC 7296 section 3): the fixed header, the generic
//! payload header and every payload this crate speaks.
//!
//! `parse` functions take untrusted bytes and return an error, never panic;
//! `emit` functions append to a `Vec<u8>`. Unknown non-critical payloads are
//! kept as [`Payload::Unknown`] so a message re-emits byte for byte.
//!
//! Files: `header` (the fixed header, exchange types and flags), `payload` (payload
//! types, the [`Payload`] enum and the body of each), `proposal` (SA payload:
//! proposals, transforms, protocol IDs), `traffic_selector` (TSi/TSr), `notify`
//! (notify message types and the Notify payload), `chain` (payload chains and
//! whole unencrypted messages). Everything is re-exported here: `wire::Header`,
//! `wire::notify::COOKIE`, `wire::parse_chain`.

use thiserror::Error;

mod chain;
mod header;
pub mod notify;
mod payload;
mod proposal;
#[cfg(test)]
mod tests;
mod traffic_selector;

pub use chain::{emit_chain, emit_plain, parse_chain, Chain};
pub use header::{exchange, flags, Header, HEADER_LEN, VERSION};
pub use notify::NotifyPayload;
pub use payload::{parse_payload_body, payload_type, DeletePayload, IdPayload, Payload};
pub use proposal::{protocol, transform_type, Proposal, Transform};
pub use traffic_selector::{TrafficSelector, TS_IPV4_ADDR_RANGE, TS_IPV6_ADDR_RANGE};

/// Why bytes did not parse.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than a field needs.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// Which structure.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// A length field disagrees with the data.
    #[error("bad length in {what}: {len}")]
    BadLength {
        /// Which structure.
        what: &'static str,
        /// The length field.
        len: usize,
    },
    /// Major version other than 2.
    #[error("unsupported IKE version 0x{0:02x}")]
    Version(u8),
    /// A payload we do not know with the critical bit set.
    #[error("unsupported critical payload {0}")]
    UnsupportedCritical(u8),
    /// A field holds a value the RFC forbids.
    #[error("invalid {what}: {value}")]
    Invalid {
        /// Which field.
        what: &'static str,
        /// The value seen.
        value: u32,
    },
}

fn need(what: &'static str, buf: &[u8], n: usize) -> Result<(), ParseError> {
    if buf.len() < n {
        Err(ParseError::Truncated {
            what,
            need: n,
            have: buf.len(),
        })
    } else {
        Ok(())
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}
