//! IKEv2 wire format (RFC 7296 section 3): the fixed header, the generic
//! payload header and every payload this crate speaks.
//!
//! `parse` functions take untrusted bytes and return an error, never panic;
//! `emit` functions append to a `Vec<u8>`. Unknown non-critical payloads are
//! kept as [`Payload::Unknown`] so a message re-emits byte for byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

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

/// Notify message types used here (RFC 7296 3.10.1, RFC 7296 IANA registry).
pub mod notify {
    /// UNSUPPORTED_CRITICAL_PAYLOAD.
    pub const UNSUPPORTED_CRITICAL_PAYLOAD: u16 = 1;
    /// INVALID_IKE_SPI.
    pub const INVALID_IKE_SPI: u16 = 4;
    /// INVALID_MAJOR_VERSION.
    pub const INVALID_MAJOR_VERSION: u16 = 5;
    /// INVALID_SYNTAX.
    pub const INVALID_SYNTAX: u16 = 7;
    /// INVALID_MESSAGE_ID.
    pub const INVALID_MESSAGE_ID: u16 = 9;
    /// INVALID_SPI.
    pub const INVALID_SPI: u16 = 11;
    /// NO_PROPOSAL_CHOSEN.
    pub const NO_PROPOSAL_CHOSEN: u16 = 14;
    /// INVALID_KE_PAYLOAD.
    pub const INVALID_KE_PAYLOAD: u16 = 17;
    /// AUTHENTICATION_FAILED.
    pub const AUTHENTICATION_FAILED: u16 = 24;
    /// SINGLE_PAIR_REQUIRED.
    pub const SINGLE_PAIR_REQUIRED: u16 = 34;
    /// NO_ADDITIONAL_SAS.
    pub const NO_ADDITIONAL_SAS: u16 = 35;
    /// INTERNAL_ADDRESS_FAILURE.
    pub const INTERNAL_ADDRESS_FAILURE: u16 = 36;
    /// FAILED_CP_REQUIRED.
    pub const FAILED_CP_REQUIRED: u16 = 37;
    /// TS_UNACCEPTABLE.
    pub const TS_UNACCEPTABLE: u16 = 38;
    /// INVALID_SELECTORS.
    pub const INVALID_SELECTORS: u16 = 39;
    /// TEMPORARY_FAILURE.
    pub const TEMPORARY_FAILURE: u16 = 43;
    /// CHILD_SA_NOT_FOUND.
    pub const CHILD_SA_NOT_FOUND: u16 = 44;
    /// INITIAL_CONTACT.
    pub const INITIAL_CONTACT: u16 = 16384;
    /// SET_WINDOW_SIZE.
    pub const SET_WINDOW_SIZE: u16 = 16385;
    /// NAT_DETECTION_SOURCE_IP.
    pub const NAT_DETECTION_SOURCE_IP: u16 = 16388;
    /// SIGNATURE_HASH_ALGORITHMS (RFC 7427).
    pub const SIGNATURE_HASH_ALGORITHMS: u16 = 16431;
    /// NAT_DETECTION_DESTINATION_IP.
    pub const NAT_DETECTION_DESTINATION_IP: u16 = 16389;
    /// COOKIE.
    pub const COOKIE: u16 = 16390;
    /// USE_TRANSPORT_MODE.
    pub const USE_TRANSPORT_MODE: u16 = 16391;
    /// REKEY_SA.
    pub const REKEY_SA: u16 = 16393;
    /// ESP_TFC_PADDING_NOT_SUPPORTED.
    pub const ESP_TFC_PADDING_NOT_SUPPORTED: u16 = 16394;
    /// NON_FIRST_FRAGMENTS_ALSO.
    pub const NON_FIRST_FRAGMENTS_ALSO: u16 = 16395;

    /// Types below this value are errors (RFC 7296 3.10.1).
    pub const FIRST_STATUS: u16 = 16384;
}

/// Protocol IDs in proposals, notifies and deletes.
pub mod protocol {
    /// IKE.
    pub const IKE: u8 = 1;
    /// AH.
    pub const AH: u8 = 2;
    /// ESP.
    pub const ESP: u8 = 3;
}

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

/// Transform types (RFC 7296 3.3.2).
pub mod transform_type {
    /// Encryption algorithm.
    pub const ENCR: u8 = 1;
    /// Pseudorandom function.
    pub const PRF: u8 = 2;
    /// Integrity algorithm.
    pub const INTEG: u8 = 3;
    /// Diffie-Hellman group.
    pub const DH: u8 = 4;
    /// Extended sequence numbers.
    pub const ESN: u8 = 5;
}

/// One transform with its optional key length attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transform {
    /// Transform type (see [`transform_type`]).
    pub ttype: u8,
    /// Transform ID within the type.
    pub id: u16,
    /// Key Length attribute (bits), if present.
    pub key_len: Option<u16>,
}

/// One proposal of an SA payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Proposal number (1-based).
    pub num: u8,
    /// Protocol (see [`protocol`]).
    pub protocol: u8,
    /// SPI (empty, 4 or 8 bytes).
    pub spi: Vec<u8>,
    /// Transforms.
    pub transforms: Vec<Transform>,
}

/// Traffic selector (RFC 7296 3.13.1), IPv4 or IPv6 address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrafficSelector {
    /// IP protocol, 0 = any.
    pub ip_proto: u8,
    /// First port.
    pub start_port: u16,
    /// Last port.
    pub end_port: u16,
    /// First address.
    pub start_addr: IpAddr,
    /// Last address.
    pub end_addr: IpAddr,
}

/// TS type IPv4 address range.
pub const TS_IPV4_ADDR_RANGE: u8 = 7;
/// TS type IPv6 address range.
pub const TS_IPV6_ADDR_RANGE: u8 = 8;

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

/// Notify payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyPayload {
    /// Protocol ID (0 when no SPI).
    pub protocol: u8,
    /// Notify message type.
    pub ntype: u16,
    /// SPI (may be empty).
    pub spi: Vec<u8>,
    /// Notification data.
    pub data: Vec<u8>,
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

    fn emit_body(&self, out: &mut Vec<u8>) {
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

    fn critical(&self) -> bool {
        matches!(self, Payload::Unknown { critical: true, .. })
    }
}

fn emit_sa(props: &[Proposal], out: &mut Vec<u8>) {
    for (i, p) in props.iter().enumerate() {
        let start = out.len();
        out.push(if i + 1 == props.len() { 0 } else { 2 });
        out.push(0);
        out.extend_from_slice(&[0, 0]);
        out.push(p.num);
        out.push(p.protocol);
        out.push(p.spi.len() as u8);
        out.push(p.transforms.len() as u8);
        out.extend_from_slice(&p.spi);
        for (j, t) in p.transforms.iter().enumerate() {
            let len: u16 = if t.key_len.is_some() { 12 } else { 8 };
            out.push(if j + 1 == p.transforms.len() { 0 } else { 3 });
            out.push(0);
            out.extend_from_slice(&len.to_be_bytes());
            out.push(t.ttype);
            out.push(0);
            out.extend_from_slice(&t.id.to_be_bytes());
            if let Some(kl) = t.key_len {
                out.extend_from_slice(&0x800eu16.to_be_bytes());
                out.extend_from_slice(&kl.to_be_bytes());
            }
        }
        let plen = (out.len() - start) as u16;
        out[start + 2..start + 4].copy_from_slice(&plen.to_be_bytes());
    }
}

fn parse_sa(mut b: &[u8]) -> Result<Vec<Proposal>, ParseError> {
    let mut props = Vec::new();
    loop {
        need("proposal", b, 8)?;
        let last = b[0];
        let plen = be16(b, 2) as usize;
        if plen < 8 || plen > b.len() {
            return Err(ParseError::BadLength {
                what: "proposal",
                len: plen,
            });
        }
        let p = &b[..plen];
        let spi_size = p[6] as usize;
        let ntrans = p[7] as usize;
        need("proposal SPI", p, 8 + spi_size)?;
        let spi = p[8..8 + spi_size].to_vec();
        let mut t = &p[8 + spi_size..];
        let mut transforms = Vec::with_capacity(ntrans);
        for _ in 0..ntrans {
            need("transform", t, 8)?;
            let tlen = be16(t, 2) as usize;
            if tlen < 8 || tlen > t.len() {
                return Err(ParseError::BadLength {
                    what: "transform",
                    len: tlen,
                });
            }
            let mut key_len = None;
            let mut a = &t[8..tlen];
            while !a.is_empty() {
                need("transform attribute", a, 4)?;
                let atype = be16(a, 0);
                if atype & 0x8000 != 0 {
                    if atype & 0x7fff == 14 {
                        key_len = Some(be16(a, 2));
                    }
                    a = &a[4..];
                } else {
                    let alen = be16(a, 2) as usize;
                    need("transform attribute", a, 4 + alen)?;
                    a = &a[4 + alen..];
                }
            }
            transforms.push(Transform {
                ttype: t[4],
                id: be16(t, 6),
                key_len,
            });
            t = &t[tlen..];
        }
        if !t.is_empty() {
            return Err(ParseError::BadLength {
                what: "proposal",
                len: plen,
            });
        }
        props.push(Proposal {
            num: p[4],
            protocol: p[5],
            spi,
            transforms,
        });
        b = &b[plen..];
        match last {
            0 => break,
            2 => continue,
            v => {
                return Err(ParseError::Invalid {
                    what: "proposal last/more",
                    value: v.into(),
                })
            }
        }
    }
    if !b.is_empty() {
        return Err(ParseError::BadLength {
            what: "SA payload",
            len: b.len(),
        });
    }
    Ok(props)
}

fn emit_ts(ts: &[TrafficSelector], out: &mut Vec<u8>) {
    out.extend_from_slice(&[ts.len() as u8, 0, 0, 0]);
    for t in ts {
        let (ty, len) = match t.start_addr {
            IpAddr::V4(_) => (TS_IPV4_ADDR_RANGE, 16u16),
            IpAddr::V6(_) => (TS_IPV6_ADDR_RANGE, 40u16),
        };
        out.push(ty);
        out.push(t.ip_proto);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&t.start_port.to_be_bytes());
        out.extend_from_slice(&t.end_port.to_be_bytes());
        for a in [t.start_addr, t.end_addr] {
            match a {
                IpAddr::V4(v) => out.extend_from_slice(&v.octets()),
                IpAddr::V6(v) => out.extend_from_slice(&v.octets()),
            }
        }
    }
}

fn parse_ts(b: &[u8]) -> Result<Vec<TrafficSelector>, ParseError> {
    need("TS payload", b, 4)?;
    let n = b[0] as usize;
    let mut rest = &b[4..];
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        need("traffic selector", rest, 8)?;
        let ty = rest[0];
        let len = be16(rest, 2) as usize;
        let alen = match (ty, len) {
            (TS_IPV4_ADDR_RANGE, 16) => 4,
            (TS_IPV6_ADDR_RANGE, 40) => 16,
            (TS_IPV4_ADDR_RANGE | TS_IPV6_ADDR_RANGE, l) => {
                return Err(ParseError::BadLength {
                    what: "traffic selector",
                    len: l,
                })
            }
            (t, _) => {
                return Err(ParseError::Invalid {
                    what: "TS type",
                    value: t.into(),
                })
            }
        };
        need("traffic selector", rest, len)?;
        let addr = |at: usize| -> IpAddr {
            if alen == 4 {
                IpAddr::V4(Ipv4Addr::new(
                    rest[at],
                    rest[at + 1],
                    rest[at + 2],
                    rest[at + 3],
                ))
            } else {
                let mut o = [0u8; 16];
                o.copy_from_slice(&rest[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(o))
            }
        };
        v.push(TrafficSelector {
            ip_proto: rest[1],
            start_port: be16(rest, 4),
            end_port: be16(rest, 6),
            start_addr: addr(8),
            end_addr: addr(8 + alen),
        });
        rest = &rest[len..];
    }
    if !rest.is_empty() {
        return Err(ParseError::BadLength {
            what: "TS payload",
            len: b.len(),
        });
    }
    Ok(v)
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

/// Parse a payload chain starting with type `first`. Stops at an SK
/// payload, which must be last: returns its body and the offset of its
/// generic header within `buf`.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_payloads() -> Vec<Payload> {
        vec![
            Payload::Sa(vec![
                Proposal {
                    num: 1,
                    protocol: protocol::IKE,
                    spi: vec![],
                    transforms: vec![
                        Transform {
                            ttype: 1,
                            id: 20,
                            key_len: Some(256),
                        },
                        Transform {
                            ttype: 2,
                            id: 5,
                            key_len: None,
                        },
                        Transform {
                            ttype: 4,
                            id: 31,
                            key_len: None,
                        },
                    ],
                },
                Proposal {
                    num: 2,
                    protocol: protocol::ESP,
                    spi: vec![1, 2, 3, 4],
                    transforms: vec![Transform {
                        ttype: 5,
                        id: 0,
                        key_len: None,
                    }],
                },
            ]),
            Payload::Ke {
                group: 31,
                data: vec![9; 32],
            },
            Payload::Nonce(vec![7; 32]),
            Payload::Notify(NotifyPayload {
                protocol: 3,
                ntype: notify::REKEY_SA,
                spi: vec![1, 2, 3, 4],
                data: vec![],
            }),
            Payload::Delete(DeletePayload {
                protocol: 3,
                spi_size: 4,
                spis: vec![vec![1, 1, 1, 1], vec![2, 2, 2, 2]],
            }),
            Payload::IdI(IdPayload {
                id_type: 2,
                data: b"moon".to_vec(),
            }),
            Payload::Auth {
                method: 2,
                data: vec![5; 32],
            },
            Payload::TsI(vec![TrafficSelector {
                ip_proto: 0,
                start_port: 0,
                end_port: 65535,
                start_addr: "10.0.0.0".parse().unwrap(),
                end_addr: "10.0.0.255".parse().unwrap(),
            }]),
            Payload::TsR(vec![TrafficSelector {
                ip_proto: 17,
                start_port: 53,
                end_port: 53,
                start_addr: "fd00::".parse().unwrap(),
                end_addr: "fd00::ffff".parse().unwrap(),
            }]),
            Payload::Vendor(b"vendor".to_vec()),
            Payload::Unknown {
                ptype: 200,
                critical: false,
                body: vec![1, 2],
            },
        ]
    }

    #[test]
    fn round_trip() {
        let h = Header {
            spi_i: 0x0102030405060708,
            spi_r: 0,
            next_payload: 0,
            version: VERSION,
            exchange: exchange::IKE_SA_INIT,
            flags: flags::INITIATOR,
            message_id: 0,
            length: 0,
        };
        let msg = emit_plain(h, &sample_payloads());
        let h2 = Header::parse(&msg).unwrap();
        assert_eq!(h2.spi_i, h.spi_i);
        assert_eq!(h2.length as usize, msg.len());
        let chain = parse_chain(h2.next_payload, &msg[HEADER_LEN..]).unwrap();
        assert_eq!(chain.payloads, sample_payloads());
        let again = emit_plain(h2, &chain.payloads);
        assert_eq!(again, msg);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let h = Header {
            spi_i: 1,
            spi_r: 2,
            next_payload: 0,
            version: VERSION,
            exchange: exchange::IKE_SA_INIT,
            flags: 0,
            message_id: 0,
            length: 0,
        };
        let msg = emit_plain(h, &sample_payloads());
        for cut in 0..msg.len() {
            let b = &msg[..cut];
            let ok = Header::parse(b)
                .and_then(|h| parse_chain(h.next_payload, &b[HEADER_LEN..h.length as usize]));
            assert!(ok.is_err(), "cut at {cut} parsed");
        }
    }

    #[test]
    fn critical_unknown_payload_refused() {
        let mut body = Vec::new();
        emit_chain(
            &[Payload::Unknown {
                ptype: 201,
                critical: true,
                body: vec![],
            }],
            &mut body,
        );
        assert_eq!(
            parse_chain(201, &body).unwrap_err(),
            ParseError::UnsupportedCritical(201)
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), first in 0u8..60) {
            let _ = Header::parse(&bytes);
            let _ = parse_chain(first, &bytes);
            for t in 33u8..48 {
                let _ = parse_payload_body(t, false, &bytes);
            }
        }
    }
}
