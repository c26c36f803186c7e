//! A decrypted message, the [`Incoming`] value its handlers take, and the
//! helpers that read and build payloads.

use std::net::IpAddr;
use std::time::Instant;

use crate::cert;
use crate::config::proposal_name;
use crate::crypto::DhGroup;
use crate::wire::{
    self, notify, Header, IdPayload, NotifyPayload, Payload, Proposal, TrafficSelector,
};

use super::api::{Action, IkeSaId};

/// A message from the peer being handled: the time, the IKE SA it arrived on,
/// the message, and where the handler's actions go. Every request and
/// response handler takes one.
pub(super) struct Incoming<'a> {
    pub(super) now: Instant,
    pub(super) id: IkeSaId,
    pub(super) m: &'a Msg,
    pub(super) out: &'a mut Vec<Action>,
}

/// Parsed content of a message.
pub(super) struct Msg {
    pub(super) hdr: Header,
    pub(super) payloads: Vec<Payload>,
}

impl Msg {
    /// The payload chain starting with payload type `first` in `bytes`, with no
    /// SK payload inside (None: malformed).
    pub(super) fn parse(hdr: Header, first: u8, bytes: &[u8]) -> Option<Msg> {
        match wire::parse_chain(first, bytes) {
            Ok(c) if c.sk.is_none() => Some(Msg {
                hdr,
                payloads: c.payloads,
            }),
            _ => None,
        }
    }
    pub(super) fn notify(&self, t: u16) -> Option<&NotifyPayload> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Notify(n) if n.ntype == t => Some(n),
            _ => None,
        })
    }
    pub(super) fn notifies(&self, t: u16) -> impl Iterator<Item = &NotifyPayload> {
        self.payloads.iter().filter_map(move |p| match p {
            Payload::Notify(n) if n.ntype == t => Some(n),
            _ => None,
        })
    }
    pub(super) fn error_notify(&self) -> Option<u16> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Notify(n) if n.ntype < notify::FIRST_STATUS => Some(n.ntype),
            _ => None,
        })
    }
    pub(super) fn sa(&self) -> Option<&Vec<Proposal>> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Sa(v) => Some(v),
            _ => None,
        })
    }
    pub(super) fn ke(&self) -> Option<(u16, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Ke { group, data } => Some((*group, data.as_slice())),
            _ => None,
        })
    }
    pub(super) fn nonce(&self) -> Option<&[u8]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Nonce(n) if (16..=256).contains(&n.len()) => Some(n.as_slice()),
            _ => None,
        })
    }
    pub(super) fn tsi(&self) -> Option<&Vec<TrafficSelector>> {
        self.payloads.iter().find_map(|p| match p {
            Payload::TsI(v) => Some(v),
            _ => None,
        })
    }
    pub(super) fn tsr(&self) -> Option<&Vec<TrafficSelector>> {
        self.payloads.iter().find_map(|p| match p {
            Payload::TsR(v) => Some(v),
            _ => None,
        })
    }
    pub(super) fn id_i(&self) -> Option<&IdPayload> {
        self.payloads.iter().find_map(|p| match p {
            Payload::IdI(i) => Some(i),
            _ => None,
        })
    }
    pub(super) fn id_r(&self) -> Option<&IdPayload> {
        self.payloads.iter().find_map(|p| match p {
            Payload::IdR(i) => Some(i),
            _ => None,
        })
    }
    /// The AUTH payload: method and data.
    pub(super) fn auth(&self) -> Option<(u8, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Auth { method, data } => Some((*method, data.as_slice())),
            _ => None,
        })
    }
    /// The body of the first CERT payload.
    pub(super) fn cert(&self) -> Option<&[u8]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Unknown { ptype, body, .. } if *ptype == wire::payload_type::CERT => {
                Some(body.as_slice())
            }
            _ => None,
        })
    }
}

/// A notify payload of type `t` (no protocol, no SPI).
pub(super) fn notify_payload(t: u16, data: Vec<u8>) -> Payload {
    Payload::Notify(NotifyPayload {
        protocol: 0,
        ntype: t,
        spi: vec![],
        data,
    })
}

/// The name of an error notify, for events.
pub(super) fn notify_name(t: u16) -> String {
    match t {
        notify::NO_PROPOSAL_CHOSEN => "NO_PROPOSAL_CHOSEN".into(),
        notify::INVALID_KE_PAYLOAD => "INVALID_KE_PAYLOAD".into(),
        notify::AUTHENTICATION_FAILED => "AUTHENTICATION_FAILED".into(),
        notify::TS_UNACCEPTABLE => "TS_UNACCEPTABLE".into(),
        notify::INVALID_SYNTAX => "INVALID_SYNTAX".into(),
        notify::TEMPORARY_FAILURE => "TEMPORARY_FAILURE".into(),
        notify::CHILD_SA_NOT_FOUND => "CHILD_SA_NOT_FOUND".into(),
        notify::NO_ADDITIONAL_SAS => "NO_ADDITIONAL_SAS".into(),
        notify::SINGLE_PAIR_REQUIRED => "SINGLE_PAIR_REQUIRED".into(),
        notify::FAILED_CP_REQUIRED => "FAILED_CP_REQUIRED".into(),
        notify::INTERNAL_ADDRESS_FAILURE => "INTERNAL_ADDRESS_FAILURE".into(),
        t => format!("notify {t}"),
    }
}

/// A SIGNATURE_HASH_ALGORITHMS notify lists SHA2-256 (RFC 7427 4).
pub(super) fn offers_sha256(n: &NotifyPayload) -> bool {
    n.data
        .chunks_exact(2)
        .any(|c| u16::from_be_bytes([c[0], c[1]]) == cert::HASH_SHA2_256)
}

/// A configured address (unspecified: any) admits `got`.
pub(super) fn ip_matches(want: IpAddr, got: IpAddr) -> bool {
    want.is_unspecified() || want == got
}

/// An INVALID_KE_PAYLOAD answer naming `group` (zero when we have none).
pub(super) fn invalid_ke(group: Option<DhGroup>) -> Vec<Payload> {
    vec![notify_payload(
        notify::INVALID_KE_PAYLOAD,
        group.map_or(vec![0, 0], |g| g.id().to_be_bytes().to_vec()),
    )]
}

/// The peer chose proposals we did not offer: the text of the event.
pub(super) fn not_offered(props: &[Proposal]) -> String {
    format!(
        "peer chose [{}], which we did not offer",
        props
            .iter()
            .map(proposal_name)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A 4-byte SPI from a Delete or notify payload.
pub(super) fn spi32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// An 8-byte IKE SPI from a proposal.
pub(super) fn spi64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}
