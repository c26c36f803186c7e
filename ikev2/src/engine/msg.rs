//! A decrypted message and the helpers that read and build payloads.

use super::*;

/// Parsed content of a message.
pub(super) struct Msg {
    pub(super) hdr: Header,
    pub(super) payloads: Vec<Payload>,
}

impl Msg {
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
}

pub(super) fn notify_payload(t: u16, data: Vec<u8>) -> Payload {
    Payload::Notify(NotifyPayload {
        protocol: 0,
        ntype: t,
        spi: vec![],
        data,
    })
}

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

pub(super) fn ip_matches(want: IpAddr, got: IpAddr) -> bool {
    want.is_unspecified() || want == got
}

/// Appends what a CREATE_CHILD_SA request proposes for one CHILD_SA (after any
/// REKEY_SA notify): USE_TRANSPORT_MODE if asked, SA, Ni, KE when PFS, TSi, TSr.
pub(super) fn push_child_proposal(
    p: &mut Vec<Payload>,
    ccfg: &ChildConfig,
    spi_in: u32,
    ni: &[u8],
    dh: Option<&DhPrivate>,
    local_ts: Vec<TrafficSelector>,
    remote_ts: Vec<TrafficSelector>,
) {
    if ccfg.mode == Mode::Transport {
        p.push(notify_payload(notify::USE_TRANSPORT_MODE, vec![]));
    }
    p.push(Payload::Sa(
        ccfg.esp_proposals
            .iter()
            .enumerate()
            .map(|(i, e)| e.to_wire(i as u8 + 1, spi_in, true))
            .collect(),
    ));
    p.push(Payload::Nonce(ni.to_vec()));
    if let Some(d) = dh {
        p.push(Payload::Ke {
            group: d.group().id(),
            data: d.public(),
        });
    }
    p.push(Payload::TsI(local_ts));
    p.push(Payload::TsR(remote_ts));
}
