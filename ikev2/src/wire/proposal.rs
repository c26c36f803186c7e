//! The SA payload (RFC 7296 3.3): proposals, transforms and their key length
//! attribute, protocol IDs and transform types.

use super::{be16, need, ParseError};

/// Protocol IDs in proposals, notifies and deletes.
pub mod protocol {
    /// IKE.
    pub const IKE: u8 = 1;
    /// AH.
    pub const AH: u8 = 2;
    /// ESP.
    pub const ESP: u8 = 3;
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

pub(super) fn emit_sa(props: &[Proposal], out: &mut Vec<u8>) {
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

pub(super) fn parse_sa(mut b: &[u8]) -> Result<Vec<Proposal>, ParseError> {
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
