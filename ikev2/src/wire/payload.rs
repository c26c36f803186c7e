//! Payload type numbers (RFC 7296 3.2), the decoded [`Payload`] and the parse and
//! emit of each payload body.

use super::notify::NotifyPayload;
use super::proposal::{emit_sa, parse_sa};
use super::traffic_selector::{emit_ts, parse_ts, TrafficSelector};
use super::{be16, need, ParseError, Proposal};

/// Payload type numbers (RFC 7296 3.2).
pub mod payload_type {
    /// No next payload.
    pub const NONE: u8 = 0;
    /// Security Association.
    pub const SA: u8 = 33;
    /// Key Exchange.
    pub const KE: u8 = 34;
    /// Identification - Initiator.
    pub const IDI: u8 = 35;
    /// Identification - Responder.
    pub const IDR: u8 = 36;
    /// Certificate.
    pub const CERT: u8 = 37;
    /// Certificate request.
    pub const CERTREQ: u8 = 38;
    /// Authentication.
    pub const AUTH: u8 = 39;
    /// Nonce.
    pub const NONCE: u8 = 40;
    /// Notify.
    pub const NOTIFY: u8 = 41;
    /// Delete.
    pub const DELETE: u8 = 42;
    /// Vendor ID.
    pub const VENDOR: u8 = 43;
    /// Traffic selector - initiator.
    pub const TSI: u8 = 44;
    /// Traffic selector - responder.
    pub const TSR: u8 = 45;
    /// Encrypted and authenticated.
    pub const SK: u8 = 46;
    /// Configuration.
    pub const CP: u8 = 47;
}

/// Identification payload body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPayload {
    /// ID type (1 IPv4, 2 FQDN, 3 RFC822, 5 IPv6, 11 KEY_ID, ...).
    pub id_type: u8,
    /// Identification data.
    pub data: Vec<u8>,
}

impl IdPayload {
    /// The payload body without the generic header (the "RestOfIDPayload" of RFC 7296 2.15).
    pub fn body(&self) -> Vec<u8> {
        let mut v = vec![self.id_type, 0, 0, 0];
        v.extend_from_slice(&self.data);
        v
    }
}

/// Delete payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletePayload {
    /// Protocol (IKE: no SPIs; ESP/AH: 4-byte SPIs).
    pub protocol: u8,
    /// SPI size.
    pub spi_size: u8,
    /// SPIs to delete.
    pub spis: Vec<Vec<u8>>,
}

/// A decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// SA.
    Sa(Vec<Proposal>),
    /// KE: group and public value.
    Ke {
        /// DH group number.
        group: u16,
        /// Public value.
        data: Vec<u8>,
    },
    /// IDi.
    IdI(IdPayload),
    /// IDr.
    IdR(IdPayload),
    /// AUTH.
    Auth {
        /// Authentication method (2 = shared key MIC).
        method: u8,
        /// Authentication data.
        data: Vec<u8>,
    },
    /// Nonce.
    Nonce(Vec<u8>),
    /// Notify.
    Notify(NotifyPayload),
    /// Delete.
    Delete(DeletePayload),
    /// Vendor ID.
    Vendor(Vec<u8>),
    /// TSi.
    TsI(Vec<TrafficSelector>),
    /// TSr.
    TsR(Vec<TrafficSelector>),
    /// Configuration payload body, kept opaque.
    Cp(Vec<u8>),
    /// Any other payload, body kept opaque.
    Unknown {
        /// Payload type.
        ptype: u8,
        /// Critical bit.
        critical: bool,
        /// Body.
        body: Vec<u8>,
    },
}

impl Payload {
    /// Payload type number.
    pub fn ptype(&self) -> u8 {
        use payload_type as t;
        match self {
            Payload::Sa(_) => t::SA,
            Payload::Ke { .. } => t::KE,
            Payload::IdI(_) => t::IDI,
            Payload::IdR(_) => t::IDR,
            Payload::Auth { .. } => t::AUTH,
            Payload::Nonce(_) => t::NONCE,
            Payload::Notify(_) => t::NOTIFY,
            Payload::Delete(_) => t::DELETE,
            Payload::Vendor(_) => t::VENDOR,
            Payload::TsI(_) => t::TSI,
            Payload::TsR(_) => t::TSR,
            Payload::Cp(_) => t::CP,
            Payload::Unknown { ptype, .. } => *ptype,
        }
    }

    pub(super) fn emit_body(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Sa(props) => emit_sa(props, out),
            Payload::Ke { group, data } => {
                out.extend_from_slice(&group.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(data);
            }
            Payload::IdI(id) | Payload::IdR(id) => out.extend_from_slice(&id.body()),
            Payload::Auth { method, data } => {
                out.extend_from_slice(&[*method, 0, 0, 0]);
                out.extend_from_slice(data);
            }
            Payload::Nonce(d) | Payload::Vendor(d) | Payload::Cp(d) => out.extend_from_slice(d),
            Payload::Notify(n) => {
                out.push(n.protocol);
                out.push(n.spi.len() as u8);
                out.extend_from_slice(&n.ntype.to_be_bytes());
                out.extend_from_slice(&n.spi);
                out.extend_from_slice(&n.data);
            }
            Payload::Delete(d) => {
                out.push(d.protocol);
                out.push(d.spi_size);
                out.extend_from_slice(&(d.spis.len() as u16).to_be_bytes());
                for s in &d.spis {
                    out.extend_from_slice(s);
                }
            }
            Payload::TsI(ts) | Payload::TsR(ts) => emit_ts(ts, out),
            Payload::Unknown { body, .. } => out.extend_from_slice(body),
        }
    }

    pub(super) fn critical(&self) -> bool {
        matches!(self, Payload::Unknown { critical: true, .. })
    }
}

/// Parse one payload body of type `ptype`.
pub fn parse_payload_body(ptype: u8, critical: bool, b: &[u8]) -> Result<Payload, ParseError> {
    use payload_type as t;
    Ok(match ptype {
        t::SA => Payload::Sa(parse_sa(b)?),
        t::KE => {
            need("KE payload", b, 4)?;
            Payload::Ke {
                group: be16(b, 0),
                data: b[4..].to_vec(),
            }
        }
        t::IDI | t::IDR => {
            need("ID payload", b, 4)?;
            let id = IdPayload {
                id_type: b[0],
                data: b[4..].to_vec(),
            };
            if ptype == t::IDI {
                Payload::IdI(id)
            } else {
                Payload::IdR(id)
            }
        }
        t::AUTH => {
            need("AUTH payload", b, 4)?;
            Payload::Auth {
                method: b[0],
                data: b[4..].to_vec(),
            }
        }
        t::NONCE => Payload::Nonce(b.to_vec()),
        t::NOTIFY => {
            need("Notify payload", b, 4)?;
            let spi_size = b[1] as usize;
            need("Notify SPI", b, 4 + spi_size)?;
            Payload::Notify(NotifyPayload {
                protocol: b[0],
                ntype: be16(b, 2),
                spi: b[4..4 + spi_size].to_vec(),
                data: b[4 + spi_size..].to_vec(),
            })
        }
        t::DELETE => {
            need("Delete payload", b, 4)?;
            let spi_size = b[1] as usize;
            let n = be16(b, 2) as usize;
            if spi_size * n != b.len() - 4 {
                return Err(ParseError::BadLength {
                    what: "Delete payload",
                    len: b.len(),
                });
            }
            let spis = if spi_size == 0 {
                Vec::new()
            } else {
                b[4..].chunks(spi_size).map(|c| c.to_vec()).collect()
            };
            Payload::Delete(DeletePayload {
                protocol: b[0],
                spi_size: b[1],
                spis,
            })
        }
        t::VENDOR => Payload::Vendor(b.to_vec()),
        t::TSI => Payload::TsI(parse_ts(b)?),
        t::TSR => Payload::TsR(parse_ts(b)?),
        t::CP => Payload::Cp(b.to_vec()),
        other => {
            if critical {
                return Err(ParseError::UnsupportedCritical(other));
            }
            Payload::Unknown {
                ptype: other,
                critical,
                body: b.to_vec(),
            }
        }
    })
}
