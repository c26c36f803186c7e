//! Connection configuration and proposal selection.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use thiserror::Error;

use crate::crypto::{DhGroup, Encr, EspTransform, IkeSuite, Integ, Prf, SecretBytes};
use crate::wire::{
    protocol, transform_type as tt, IdPayload, Proposal, TrafficSelector, Transform,
};

/// A configuration value that did not parse.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Unknown algorithm keyword in a proposal string.
    #[error("proposal {proposal:?}: unknown algorithm {token:?}")]
    UnknownAlgorithm {
        /// The whole proposal string.
        proposal: String,
        /// The offending keyword.
        token: String,
    },
    /// A proposal lacks a required transform.
    #[error("proposal {proposal:?}: {missing}")]
    Incomplete {
        /// The whole proposal string.
        proposal: String,
        /// What is missing.
        missing: &'static str,
    },
    /// Traffic selector not in CIDR form.
    #[error("traffic selector {0:?}: expected ADDRESS/PREFIX")]
    BadSelector(String),
    /// Identity string not understood.
    #[error("identity {0:?} not understood")]
    BadIdentity(String),
}

/// An IKE proposal: every combination of the listed transforms is acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeProposal {
    /// Encryption algorithms.
    pub encr: Vec<Encr>,
    /// PRFs.
    pub prf: Vec<Prf>,
    /// Integrity algorithms (empty with AEAD).
    pub integ: Vec<Integ>,
    /// DH groups (first one is used for the initial KE payload).
    pub dh: Vec<DhGroup>,
}

/// An ESP proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspProposal {
    /// ESP transforms.
    pub transforms: Vec<EspTransform>,
    /// DH groups for PFS in CREATE_CHILD_SA (empty: no PFS).
    pub dh: Vec<DhGroup>,
    /// Extended sequence numbers.
    pub esn: bool,
}

fn enc_token(t: &str) -> Option<(Encr, EspTransform)> {
    Some(match t {
        "aes128gcm16" | "aes128gcm128" => (
            Encr::AesGcm16 { bits: 128 },
            EspTransform::AesGcm16 { bits: 128 },
        ),
        "aes256gcm16" | "aes256gcm128" => (
            Encr::AesGcm16 { bits: 256 },
            EspTransform::AesGcm16 { bits: 256 },
        ),
        "aes128" => (
            Encr::AesCbc { bits: 128 },
            EspTransform::AesCbcHmacSha256 { bits: 128 },
        ),
        "aes256" => (
            Encr::AesCbc { bits: 256 },
            EspTransform::AesCbcHmacSha256 { bits: 256 },
        ),
        _ => return None,
    })
}

fn dh_token(t: &str) -> Option<DhGroup> {
    Some(match t {
        "x25519" | "curve25519" => DhGroup::Curve25519,
        "ecp256" => DhGroup::Ecp256,
        "ecp384" => DhGroup::Ecp384,
        _ => return None,
    })
}

impl IkeProposal {
    /// Parse a strongSwan-style proposal such as `aes256gcm16-prfsha256-x25519`
    /// or `aes128-sha256-x25519` (`sha256` = HMAC-SHA-256-128 integrity and PRF).
    pub fn parse(s: &str) -> Result<IkeProposal, ConfigError> {
        let mut p = IkeProposal {
            encr: vec![],
            prf: vec![],
            integ: vec![],
            dh: vec![],
        };
        let unknown = |t: &str| ConfigError::UnknownAlgorithm {
            proposal: s.to_string(),
            token: t.to_string(),
        };
        for t in s.split('-') {
            if let Some((e, _)) = enc_token(t) {
                p.encr.push(e);
            } else if let Some(g) = dh_token(t) {
                p.dh.push(g);
            } else {
                match t {
                    "prfsha256" => p.prf.push(Prf::HmacSha256),
                    "prfsha384" => p.prf.push(Prf::HmacSha384),
                    "sha256" | "sha2_256" => {
                        p.integ.push(Integ::HmacSha256_128);
                        p.prf.push(Prf::HmacSha256);
                    }
                    _ => return Err(unknown(t)),
                }
            }
        }
        let incomplete = |m| ConfigError::Incomplete {
            proposal: s.to_string(),
            missing: m,
        };
        if p.encr.is_empty() {
            return Err(incomplete("no encryption algorithm"));
        }
        if p.prf.is_empty() {
            return Err(incomplete("no PRF (prfsha256, prfsha384 or sha256)"));
        }
        if p.dh.is_empty() {
            return Err(incomplete("no DH group (x25519, ecp256, ecp384)"));
        }
        let aead = p.encr.iter().all(|e| e.is_aead());
        let cbc = p.encr.iter().any(|e| !e.is_aead());
        if cbc && p.integ.is_empty() {
            return Err(incomplete("AES-CBC needs an integrity algorithm (sha256)"));
        }
        if aead {
            p.integ.clear();
        }
        p.prf.dedup();
        Ok(p)
    }

    pub(crate) fn to_wire(&self, num: u8, spi: Vec<u8>) -> Proposal {
        let mut transforms = Vec::new();
        for e in &self.encr {
            transforms.push(Transform {
                ttype: tt::ENCR,
                id: e.id(),
                key_len: Some(e.bits()),
            });
        }
        for p in &self.prf {
            transforms.push(Transform {
                ttype: tt::PRF,
                id: p.id(),
                key_len: None,
            });
        }
        for i in &self.integ {
            transforms.push(Transform {
                ttype: tt::INTEG,
                id: i.id(),
                key_len: None,
            });
        }
        for d in &self.dh {
            transforms.push(Transform {
                ttype: tt::DH,
                id: d.id(),
                key_len: None,
            });
        }
        Proposal {
            num,
            protocol: protocol::IKE,
            spi,
            transforms,
        }
    }
}

impl EspProposal {
    /// Parse `aes128gcm16`, `aes256gcm16-x25519`, `aes128-sha256`, optionally `-esn`.
    pub fn parse(s: &str) -> Result<EspProposal, ConfigError> {
        let mut p = EspProposal {
            transforms: vec![],
            dh: vec![],
            esn: false,
        };
        let mut cbc_integ = false;
        for t in s.split('-') {
            if let Some((_, e)) = enc_token(t) {
                p.transforms.push(e);
            } else if let Some(g) = dh_token(t) {
                p.dh.push(g);
            } else {
                match t {
                    "sha256" | "sha2_256" => cbc_integ = true,
                    "esn" => p.esn = true,
                    "noesn" => p.esn = false,
                    _ => {
                        return Err(ConfigError::UnknownAlgorithm {
                            proposal: s.to_string(),
                            token: t.to_string(),
                        })
                    }
                }
            }
        }
        if p.transforms.is_empty() {
            return Err(ConfigError::Incomplete {
                proposal: s.to_string(),
                missing: "no encryption algorithm",
            });
        }
        if p.transforms
            .iter()
            .any(|t| matches!(t, EspTransform::AesCbcHmacSha256 { .. }))
            && !cbc_integ
        {
            return Err(ConfigError::Incomplete {
                proposal: s.to_string(),
                missing: "AES-CBC needs an integrity algorithm (sha256)",
            });
        }
        Ok(p)
    }

    pub(crate) fn to_wire(&self, num: u8, spi: u32, with_dh: bool) -> Proposal {
        let mut transforms = Vec::new();
        let mut integ = false;
        for t in &self.transforms {
            let (id, bits) = match t {
                EspTransform::AesGcm16 { bits } => (20, *bits),
                EspTransform::AesCbcHmacSha256 { bits } => {
                    integ = true;
                    (12, *bits)
                }
            };
            transforms.push(Transform {
                ttype: tt::ENCR,
                id,
                key_len: Some(bits),
            });
        }
        if integ {
            transforms.push(Transform {
                ttype: tt::INTEG,
                id: 12,
                key_len: None,
            });
        }
        if with_dh {
            for d in &self.dh {
                transforms.push(Transform {
                    ttype: tt::DH,
                    id: d.id(),
                    key_len: None,
                });
            }
        }
        transforms.push(Transform {
            ttype: tt::ESN,
            id: u16::from(self.esn),
            key_len: None,
        });
        Proposal {
            num,
            protocol: protocol::ESP,
            spi: spi.to_be_bytes().to_vec(),
            transforms,
        }
    }
}

/// Human-readable name of a transform, as in logs.
pub fn transform_name(t: &Transform) -> String {
    match (t.ttype, t.id) {
        (tt::ENCR, 20) => format!("AES_GCM_16_{}", t.key_len.unwrap_or(0)),
        (tt::ENCR, 12) => format!("AES_CBC_{}", t.key_len.unwrap_or(0)),
        (tt::ENCR, id) => format!("ENCR_{id}"),
        (tt::PRF, 5) => "PRF_HMAC_SHA2_256".into(),
        (tt::PRF, 6) => "PRF_HMAC_SHA2_384".into(),
        (tt::PRF, id) => format!("PRF_{id}"),
        (tt::INTEG, 12) => "HMAC_SHA2_256_128".into(),
        (tt::INTEG, id) => format!("INTEG_{id}"),
        (tt::DH, 19) => "ECP_256".into(),
        (tt::DH, 20) => "ECP_384".into(),
        (tt::DH, 31) => "CURVE_25519".into(),
        (tt::DH, 0) => "DH_NONE".into(),
        (tt::DH, id) => format!("DH_{id}"),
        (tt::ESN, 0) => "NO_EXT_SEQ".into(),
        (tt::ESN, 1) => "EXT_SEQ".into(),
        (ty, id) => format!("T{ty}_{id}"),
    }
}

/// Human-readable proposal, e.g. `IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519`.
pub fn proposal_name(p: &Proposal) -> String {
    let proto = match p.protocol {
        protocol::IKE => "IKE",
        protocol::ESP => "ESP",
        protocol::AH => "AH",
        _ => "?",
    };
    let ts: Vec<String> = p.transforms.iter().map(transform_name).collect();
    format!("{proto}:{}", ts.join("/"))
}

/// Outcome of choosing among a peer's proposals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What the peer offered.
    pub theirs: Vec<String>,
    /// What we accept.
    pub ours: Vec<String>,
    /// Per peer proposal: why it did not match.
    pub reasons: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no acceptable proposal: peer offered [{}], we accept [{}]; {}",
            self.theirs.join(", "),
            self.ours.join(", "),
            self.reasons.join("; ")
        )
    }
}

fn by_type(p: &Proposal, ty: u8) -> Vec<Transform> {
    p.transforms
        .iter()
        .filter(|t| t.ttype == ty)
        .copied()
        .collect()
}

fn names(ts: &[Transform]) -> String {
    if ts.is_empty() {
        return "none".into();
    }
    ts.iter().map(transform_name).collect::<Vec<_>>().join(",")
}

/// Choose an IKE suite from the peer's proposals (in the peer's order).
/// Returns the suite and the single proposal to put in the response.
pub fn select_ike(
    theirs: &[Proposal],
    ours: &[IkeProposal],
) -> Result<(IkeSuite, Proposal), Mismatch> {
    let our_wire: Vec<Proposal> = ours
        .iter()
        .enumerate()
        .map(|(i, p)| p.to_wire(i as u8 + 1, vec![]))
        .collect();
    let check = |tp: &Proposal| {
        if tp.protocol != protocol::IKE {
            return Err(format!(
                "proposal {}: protocol {} is not IKE",
                tp.num, tp.protocol
            ));
        }
        Ok(())
    };
    let build = |tp: &Proposal, chosen: Vec<Transform>| {
        let encr = of_type(&chosen, tt::ENCR).and_then(|t| Encr::from_transform(t.id, t.key_len));
        let prf = of_type(&chosen, tt::PRF).and_then(|t| Prf::from_id(t.id));
        let dh = of_type(&chosen, tt::DH).and_then(|t| DhGroup::from_id(t.id));
        let integ = of_type(&chosen, tt::INTEG).and_then(|t| Integ::from_id(t.id));
        match (encr, prf, dh) {
            (Some(encr), Some(prf), Some(dh)) if encr.is_aead() || integ.is_some() => {
                let suite = IkeSuite {
                    encr,
                    prf,
                    integ: if encr.is_aead() { None } else { integ },
                    dh,
                };
                let resp = Proposal {
                    num: tp.num,
                    protocol: protocol::IKE,
                    spi: tp.spi.clone(),
                    transforms: chosen,
                };
                Ok((suite, resp))
            }
            _ => Err("incomplete".to_string()),
        }
    };
    let types = [tt::ENCR, tt::PRF, tt::INTEG, tt::DH];
    select(theirs, &our_wire, &types, check, build)
}

/// The chosen transform of type `ty`, if any.
fn of_type(chosen: &[Transform], ty: u8) -> Option<&Transform> {
    chosen.iter().find(|t| t.ttype == ty)
}

/// Walk the peer's proposals in the peer's order against ours. `check` refuses a
/// peer proposal outright (protocol, SPI) with its reason; for each of ours,
/// [`match_one`] picks the common transforms and `build` turns them into the
/// result, or says why that set does not do. Without a match, the [`Mismatch`]
/// lists both sides and the reason for each peer proposal.
fn select<T>(
    theirs: &[Proposal],
    our_wire: &[Proposal],
    types: &[u8],
    check: impl Fn(&Proposal) -> Result<(), String>,
    build: impl Fn(&Proposal, Vec<Transform>) -> Result<T, String>,
) -> Result<T, Mismatch> {
    let mut reasons = Vec::new();
    for tp in theirs {
        if let Err(reason) = check(tp) {
            reasons.push(reason);
            continue;
        }
        let mut why = Vec::new();
        for op in our_wire {
            match match_one(tp, op, types).and_then(|chosen| build(tp, chosen)) {
                Ok(found) => return Ok(found),
                Err(e) => why.push(e),
            }
        }
        reasons.push(format!(
            "proposal {} ({}): {}",
            tp.num,
            proposal_name(tp),
            why.join(" / ")
        ));
    }
    Err(Mismatch {
        theirs: theirs.iter().map(proposal_name).collect(),
        ours: our_wire.iter().map(proposal_name).collect(),
        reasons,
    })
}

/// For each transform type, pick the peer's first transform that we also list.
fn match_one(tp: &Proposal, op: &Proposal, types: &[u8]) -> Result<Vec<Transform>, String> {
    let mut chosen = Vec::new();
    for &ty in types {
        let t = by_type(tp, ty);
        let o = by_type(op, ty);
        if t.is_empty() && o.is_empty() {
            continue;
        }
        // A lone DH_NONE / absent DH are equivalent.
        if ty == tt::DH && o.is_empty() && t.iter().any(|x| x.id == 0) {
            continue;
        }
        match t.iter().find(|x| o.contains(x)) {
            Some(x) => chosen.push(*x),
            None => {
                return Err(format!(
                    "no common {} (theirs: {}, ours: {})",
                    match ty {
                        tt::ENCR => "encryption",
                        tt::PRF => "PRF",
                        tt::INTEG => "integrity",
                        tt::DH => "DH group",
                        _ => "ESN",
                    },
                    names(&t),
                    names(&o)
                ))
            }
        }
    }
    Ok(chosen)
}

/// A chosen ESP proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspChoice {
    /// Transform.
    pub transform: EspTransform,
    /// PFS group, if any.
    pub dh: Option<DhGroup>,
    /// ESN.
    pub esn: bool,
    /// Peer's SPI.
    pub peer_spi: u32,
    /// Proposal to answer with (our SPI to be filled in).
    pub proposal: Proposal,
}

/// Choose an ESP proposal. `with_dh`: consider DH transforms (CREATE_CHILD_SA);
/// in IKE_AUTH they are ignored (RFC 7296 1.2).
pub fn select_esp(
    theirs: &[Proposal],
    ours: &[EspProposal],
    with_dh: bool,
) -> Result<EspChoice, Mismatch> {
    let our_wire: Vec<Proposal> = ours
        .iter()
        .enumerate()
        .map(|(i, p)| p.to_wire(i as u8 + 1, 0, with_dh))
        .collect();
    let types: &[u8] = if with_dh {
        &[tt::ENCR, tt::INTEG, tt::DH, tt::ESN]
    } else {
        &[tt::ENCR, tt::INTEG, tt::ESN]
    };
    let check = |tp: &Proposal| {
        if tp.protocol != protocol::ESP || tp.spi.len() != 4 {
            return Err(format!("proposal {}: not ESP with a 4-byte SPI", tp.num));
        }
        // SPIs 0..=255 are reserved (RFC 4303 2.1).
        if u32::from_be_bytes([tp.spi[0], tp.spi[1], tp.spi[2], tp.spi[3]]) < 256 {
            return Err(format!("proposal {}: reserved SPI", tp.num));
        }
        Ok(())
    };
    let build = |tp: &Proposal, chosen: Vec<Transform>| {
        let integ = chosen.iter().any(|t| t.ttype == tt::INTEG && t.id == 12);
        let transform = match of_type(&chosen, tt::ENCR).map(|t| (t.id, t.key_len)) {
            Some((20, Some(b @ (128 | 256)))) => EspTransform::AesGcm16 { bits: b },
            Some((12, Some(b @ (128 | 256)))) if integ => {
                EspTransform::AesCbcHmacSha256 { bits: b }
            }
            _ => return Err("unsupported combination".to_string()),
        };
        let dh = of_type(&chosen, tt::DH).and_then(|t| DhGroup::from_id(t.id));
        let esn = chosen.iter().any(|t| t.ttype == tt::ESN && t.id == 1);
        let mut spi = [0u8; 4];
        spi.copy_from_slice(&tp.spi);
        Ok(EspChoice {
            transform,
            dh,
            esn,
            peer_spi: u32::from_be_bytes(spi),
            proposal: Proposal {
                num: tp.num,
                protocol: protocol::ESP,
                spi: vec![],
                transforms: chosen,
            },
        })
    };
    select(theirs, &our_wire, types, check, build)
}

/// An IKE identity (RFC 7296 3.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// Accept any identity (remote side only).
    Any,
    /// ID_IPV4_ADDR.
    Ipv4(Ipv4Addr),
    /// ID_IPV6_ADDR.
    Ipv6(Ipv6Addr),
    /// ID_FQDN.
    Fqdn(String),
    /// ID_RFC822_ADDR.
    Email(String),
    /// ID_KEY_ID.
    KeyId(Vec<u8>),
}

impl Identity {
    /// Parse like strongSwan: an IP address, `user@host` (RFC822), `%any`, else FQDN.
    pub fn parse(s: &str) -> Result<Identity, ConfigError> {
        if s.is_empty() {
            return Err(ConfigError::BadIdentity(s.into()));
        }
        if s == "%any" {
            return Ok(Identity::Any);
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(match ip {
                IpAddr::V4(v) => Identity::Ipv4(v),
                IpAddr::V6(v) => Identity::Ipv6(v),
            });
        }
        if s.contains('@') {
            return Ok(Identity::Email(s.into()));
        }
        Ok(Identity::Fqdn(s.into()))
    }

    /// Wire form; `None` for [`Identity::Any`].
    pub fn to_payload(&self) -> Option<IdPayload> {
        Some(match self {
            Identity::Any => return None,
            Identity::Ipv4(a) => IdPayload {
                id_type: 1,
                data: a.octets().to_vec(),
            },
            Identity::Fqdn(s) => IdPayload {
                id_type: 2,
                data: s.as_bytes().to_vec(),
            },
            Identity::Email(s) => IdPayload {
                id_type: 3,
                data: s.as_bytes().to_vec(),
            },
            Identity::Ipv6(a) => IdPayload {
                id_type: 5,
                data: a.octets().to_vec(),
            },
            Identity::KeyId(k) => IdPayload {
                id_type: 11,
                data: k.clone(),
            },
        })
    }

    /// Whether a received ID payload is acceptable as this identity.
    pub fn matches(&self, id: &IdPayload) -> bool {
        match self.to_payload() {
            None => true,
            Some(p) => p == *id,
        }
    }
}

/// Render an ID payload for logs.
pub fn id_display(id: &IdPayload) -> String {
    match id.id_type {
        1 if id.data.len() == 4 => {
            Ipv4Addr::new(id.data[0], id.data[1], id.data[2], id.data[3]).to_string()
        }
        5 if id.data.len() == 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&id.data);
            Ipv6Addr::from(o).to_string()
        }
        2 | 3 => String::from_utf8_lossy(&id.data).into_owned(),
        t => format!("type{t}:{}", id.data.len()),
    }
}

/// Tunnel or transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Tunnel mode.
    Tunnel,
    /// Transport mode.
    Transport,
}

/// Traffic selector from `ADDR/PREFIX` (all protocols and ports).
pub fn ts_from_cidr(s: &str) -> Result<TrafficSelector, ConfigError> {
    let bad = || ConfigError::BadSelector(s.to_string());
    let (a, p) = s.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = a.parse().map_err(|_| bad())?;
    let prefix: u32 = p.parse().map_err(|_| bad())?;
    // The prefix's mask; a shift by the whole width (prefix 0) leaves no bits.
    let (start, end) = match addr {
        IpAddr::V4(v) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            let n = u32::from(v) & mask;
            (IpAddr::V4(n.into()), IpAddr::V4((n | !mask).into()))
        }
        IpAddr::V6(v) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            let n = u128::from(v) & mask;
            (IpAddr::V6(n.into()), IpAddr::V6((n | !mask).into()))
        }
        _ => return Err(bad()),
    };
    Ok(TrafficSelector {
        ip_proto: 0,
        start_port: 0,
        end_port: 65535,
        start_addr: start,
        end_addr: end,
    })
}

/// Intersection of two selectors, if not empty.
pub fn ts_intersect(a: &TrafficSelector, b: &TrafficSelector) -> Option<TrafficSelector> {
    if a.start_addr.is_ipv4() != b.start_addr.is_ipv4() {
        return None;
    }
    let ip_proto = match (a.ip_proto, b.ip_proto) {
        (0, p) | (p, 0) => p,
        (x, y) if x == y => x,
        _ => return None,
    };
    let start_port = a.start_port.max(b.start_port);
    let end_port = a.end_port.min(b.end_port);
    let start_addr = a.start_addr.max(b.start_addr);
    let end_addr = a.end_addr.min(b.end_addr);
    if start_port > end_port || start_addr > end_addr {
        return None;
    }
    Some(TrafficSelector {
        ip_proto,
        start_port,
        end_port,
        start_addr,
        end_addr,
    })
}

/// Narrow the peer's selectors to ours (RFC 7296 2.9).
pub fn ts_narrow(theirs: &[TrafficSelector], ours: &[TrafficSelector]) -> Vec<TrafficSelector> {
    let mut out = Vec::new();
    for t in theirs {
        for o in ours {
            if let Some(x) = ts_intersect(t, o) {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
        }
    }
    out
}

/// Whether each of `got` lies within one of `offered`.
pub fn ts_within(got: &[TrafficSelector], offered: &[TrafficSelector]) -> bool {
    !got.is_empty()
        && got
            .iter()
            .all(|g| offered.iter().any(|o| ts_intersect(g, o) == Some(*g)))
}

/// Configuration of one CHILD_SA.
#[derive(Debug, Clone)]
pub struct ChildConfig {
    /// Name.
    pub name: String,
    /// Local traffic selectors.
    pub local_ts: Vec<TrafficSelector>,
    /// Remote traffic selectors.
    pub remote_ts: Vec<TrafficSelector>,
    /// Mode.
    pub mode: Mode,
    /// ESP proposals in preference order.
    pub esp_proposals: Vec<EspProposal>,
    /// Rekey after this long (jitter subtracted), None = never.
    pub rekey_time: Option<Duration>,
    /// Delete the CHILD_SA if it has not been rekeyed after this long (hard lifetime).
    pub life_time: Option<Duration>,
}

/// Configuration of one IKE connection.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Name (unique).
    pub name: String,
    /// Local address.
    pub local_addr: IpAddr,
    /// Remote address (None: any, responder only).
    pub remote_addr: Option<IpAddr>,
    /// Our identity.
    pub local_id: Identity,
    /// Expected peer identity.
    pub remote_id: Identity,
    /// Pre-shared key.
    pub psk: SecretBytes,
    /// IKE proposals in preference order.
    pub ike_proposals: Vec<IkeProposal>,
    /// CHILD_SA (the first is negotiated in IKE_AUTH).
    pub children: Vec<ChildConfig>,
    /// Rekey the IKE SA after this long (jitter subtracted), None = never.
    pub rekey_time: Option<Duration>,
    /// Delete the IKE SA if it has not been rekeyed after this long (hard lifetime).
    pub life_time: Option<Duration>,
    /// Send a liveness check after this long without hearing from the peer.
    pub dpd_delay: Option<Duration>,
    /// Pretend to be behind a NAT so that both sides use UDP encapsulation.
    pub force_encap: bool,
}

impl ChildConfig {
    /// A tunnel-mode CHILD_SA between one local and one remote traffic selector with
    /// these ESP proposals; no rekey or hard lifetime of its own (set `rekey_time`
    /// and `life_time` after where wanted).
    pub fn tunnel(
        name: &str,
        local_ts: TrafficSelector,
        remote_ts: TrafficSelector,
        esp_proposals: Vec<EspProposal>,
    ) -> ChildConfig {
        ChildConfig {
            name: name.into(),
            local_ts: vec![local_ts],
            remote_ts: vec![remote_ts],
            mode: Mode::Tunnel,
            esp_proposals,
            rekey_time: None,
            life_time: None,
        }
    }
}

impl Connection {
    /// A PSK connection from `local_addr` to `remote_addr` (None: any, responder
    /// only) with our and the expected peer identity, and no IKE proposals or
    /// CHILD_SAs yet: fill in `ike_proposals` and `children`. No IKE rekey, hard
    /// lifetime or liveness check, no forced UDP encapsulation.
    pub fn new(
        name: &str,
        local_addr: IpAddr,
        remote_addr: Option<IpAddr>,
        local_id: Identity,
        remote_id: Identity,
        psk: SecretBytes,
    ) -> Connection {
        Connection {
            name: name.into(),
            local_addr,
            remote_addr,
            local_id,
            remote_id,
            psk,
            ike_proposals: Vec::new(),
            children: Vec::new(),
            rekey_time: None,
            life_time: None,
            dpd_delay: None,
            force_encap: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(cidr: &str) -> (IpAddr, IpAddr) {
        let ts = ts_from_cidr(cidr).unwrap();
        (ts.start_addr, ts.end_addr)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_prefixes_from_everything_to_one_address() {
        assert_eq!(range("10.1.2.3/0"), (ip("0.0.0.0"), ip("255.255.255.255")));
        assert_eq!(range("10.1.2.3/24"), (ip("10.1.2.0"), ip("10.1.2.255")));
        assert_eq!(range("10.1.2.3/32"), (ip("10.1.2.3"), ip("10.1.2.3")));
        assert_eq!(
            range("fd00::1/0"),
            (ip("::"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
        );
        assert_eq!(
            range("fd00::1/64"),
            (ip("fd00::"), ip("fd00::ffff:ffff:ffff:ffff"))
        );
        assert_eq!(range("fd00::1/128"), (ip("fd00::1"), ip("fd00::1")));
        for bad in ["10.0.0.0/33", "fd00::/129", "10.0.0.0", "x/8", "10.0.0.0/x"] {
            assert_eq!(ts_from_cidr(bad), Err(ConfigError::BadSelector(bad.into())));
        }
    }

    #[test]
    fn ike_selection_picks_the_common_suite_or_says_why_not() {
        let ours = [IkeProposal::parse("aes256gcm16-prfsha256-x25519").unwrap()];
        let offer = ours[0].to_wire(1, vec![]);
        let (suite, answer) = select_ike(std::slice::from_ref(&offer), &ours).unwrap();
        assert_eq!(suite.prf, Prf::HmacSha256);
        assert_eq!(suite.integ, None);
        assert_eq!(answer.num, 1);
        let other = IkeProposal::parse("aes256gcm16-prfsha384-x25519").unwrap();
        let mut esp = offer.clone();
        esp.protocol = protocol::ESP;
        let m = select_ike(&[other.to_wire(1, vec![]), esp], &ours).unwrap_err();
        assert_eq!(m.reasons.len(), 2);
        assert!(m.reasons[0].contains("no common PRF"), "{}", m.reasons[0]);
        assert_eq!(m.reasons[1], "proposal 1: protocol 3 is not IKE");
    }

    #[test]
    fn esp_selection_refuses_reserved_spis_and_other_protocols() {
        let ours = [EspProposal::parse("aes128gcm16").unwrap()];
        let choice = select_esp(&[ours[0].to_wire(1, 0x1234, false)], &ours, false).unwrap();
        assert_eq!(choice.transform, EspTransform::AesGcm16 { bits: 128 });
        assert_eq!(choice.peer_spi, 0x1234);
        assert!(choice.proposal.spi.is_empty());
        let mut ike = ours[0].to_wire(2, 0x1234, false);
        ike.protocol = protocol::IKE;
        let offers = [ours[0].to_wire(1, 255, false), ike];
        let m = select_esp(&offers, &ours, false).unwrap_err();
        assert_eq!(
            m.reasons,
            [
                "proposal 1: reserved SPI",
                "proposal 2: not ESP with a 4-byte SPI"
            ]
        );
    }
}
