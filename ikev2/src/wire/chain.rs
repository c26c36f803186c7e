//! Payload chains (generic payload headers, RFC 7296 3.2) and whole unencrypted
//! messages.

use super::payload::{parse_payload_body, payload_type, Payload};
use super::{be16, need, Header, ParseError, HEADER_LEN};

/// A parsed payload chain (see [`parse_chain`]): the plain payloads and, when the
/// chain ends in an SK payload (which must be last), where that payload starts.
pub struct Chain {
    /// Plain payloads before any SK payload.
    pub payloads: Vec<Payload>,
    /// SK payload: (offset of its generic header in `buf`, type of first inner payload).
    pub sk: Option<(usize, u8)>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("payloads", &self.payloads.len())
            .field("sk", &self.sk)
            .finish()
    }
}

/// Parse the payload chain in `buf` (which starts right after the IKE header
/// or is the decrypted SK content).
pub fn parse_chain(mut next: u8, buf: &[u8]) -> Result<Chain, ParseError> {
    let mut at = 0usize;
    let mut payloads = Vec::new();
    while next != payload_type::NONE {
        let b = &buf[at..];
        need("payload header", b, 4)?;
        let this = next;
        next = b[0];
        let critical = b[1] & 0x80 != 0;
        let len = be16(b, 2) as usize;
        if len < 4 || len > b.len() {
            return Err(ParseError::BadLength {
                what: "payload",
                len,
            });
        }
        if this == payload_type::SK {
            if at + len != buf.len() {
                return Err(ParseError::BadLength {
                    what: "SK payload (must be last)",
                    len,
                });
            }
            return Ok(Chain {
                payloads,
                sk: Some((at, next)),
            });
        }
        payloads.push(parse_payload_body(this, critical, &b[4..len])?);
        at += len;
    }
    if at != buf.len() {
        return Err(ParseError::BadLength {
            what: "payload chain",
            len: buf.len(),
        });
    }
    Ok(Chain { payloads, sk: None })
}

/// Emit a payload chain (generic headers included). Returns the type of the first payload.
pub fn emit_chain(payloads: &[Payload], out: &mut Vec<u8>) -> u8 {
    for (i, p) in payloads.iter().enumerate() {
        let next = payloads
            .get(i + 1)
            .map_or(payload_type::NONE, |n| n.ptype());
        let start = out.len();
        out.push(next);
        out.push(if p.critical() { 0x80 } else { 0 });
        out.extend_from_slice(&[0, 0]);
        p.emit_body(out);
        let len = (out.len() - start) as u16;
        out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    }
    payloads.first().map_or(payload_type::NONE, |p| p.ptype())
}

/// Build an unencrypted message (used for IKE_SA_INIT).
pub fn emit_plain(header: Header, payloads: &[Payload]) -> Vec<u8> {
    let mut body = Vec::new();
    let first = emit_chain(payloads, &mut body);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    let h = Header {
        next_payload: first,
        length: (HEADER_LEN + body.len()) as u32,
        ..header
    };
    h.emit(&mut out);
    out.extend_from_slice(&body);
    out
}
