//! The fixed IKE header (RFC 7296 3.1): SPIs, exchange type, flags, message ID
//! and length.

use super::{be32, be64, need, ParseError};

/// Length of the fixed IKE header.
pub const HEADER_LEN: usize = 28;
/// IKEv2 version octet (major 2, minor 0).
pub const VERSION: u8 = 0x20;

/// Exchange types (RFC 7296 3.1).
pub mod exchange {
    /// IKE_SA_INIT.
    pub const IKE_SA_INIT: u8 = 34;
    /// IKE_AUTH.
    pub const IKE_AUTH: u8 = 35;
    /// CREATE_CHILD_SA.
    pub const CREATE_CHILD_SA: u8 = 36;
    /// INFORMATIONAL.
    pub const INFORMATIONAL: u8 = 37;
}

/// Header flags.
pub mod flags {
    /// Sender is the original initiator.
    pub const INITIATOR: u8 = 0x08;
    /// Version (higher version supported).
    pub const VERSION: u8 = 0x10;
    /// Message is a response.
    pub const RESPONSE: u8 = 0x20;
}

/// The fixed IKE header (RFC 7296 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Initiator's SPI.
    pub spi_i: u64,
    /// Responder's SPI (zero in the first IKE_SA_INIT request).
    pub spi_r: u64,
    /// Type of the first payload.
    pub next_payload: u8,
    /// Version octet.
    pub version: u8,
    /// Exchange type.
    pub exchange: u8,
    /// Flags (see [`flags`]).
    pub flags: u8,
    /// Message ID.
    pub message_id: u32,
    /// Total message length including the header.
    pub length: u32,
}

impl Header {
    /// Parse the header of a message; checks version and that `length` fits the buffer.
    pub fn parse(buf: &[u8]) -> Result<Header, ParseError> {
        need("IKE header", buf, HEADER_LEN)?;
        let h = Header {
            spi_i: be64(buf, 0),
            spi_r: be64(buf, 8),
            next_payload: buf[16],
            version: buf[17],
            exchange: buf[18],
            flags: buf[19],
            message_id: be32(buf, 20),
            length: be32(buf, 24),
        };
        if h.version >> 4 != 2 {
            return Err(ParseError::Version(h.version));
        }
        let len = h.length as usize;
        if len < HEADER_LEN || len > buf.len() {
            return Err(ParseError::BadLength {
                what: "IKE message",
                len,
            });
        }
        Ok(h)
    }

    /// Whether the message is a response.
    pub fn is_response(&self) -> bool {
        self.flags & flags::RESPONSE != 0
    }

    /// Whether the sender is the original initiator of the IKE SA.
    pub fn from_initiator(&self) -> bool {
        self.flags & flags::INITIATOR != 0
    }

    /// Append the 28 header bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.spi_i.to_be_bytes());
        out.extend_from_slice(&self.spi_r.to_be_bytes());
        out.push(self.next_payload);
        out.push(self.version);
        out.push(self.exchange);
        out.push(self.flags);
        out.extend_from_slice(&self.message_id.to_be_bytes());
        out.extend_from_slice(&self.length.to_be_bytes());
    }
}
