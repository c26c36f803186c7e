//! The state of IKE SAs and CHILD_SAs.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    InitSent,
    AuthSent,
    /// Responder after IKE_SA_INIT.
    HalfOpen,
    Established,
    /// Replaced by a rekey; waiting for the delete exchange.
    Rekeyed,
    Deleting,
}

#[derive(Debug)]
pub(super) struct Child {
    pub(super) id: ChildSaId,
    pub(super) cfg: usize,
    pub(super) spi_in: u32,
    pub(super) spi_out: u32,
    pub(super) transform: EspTransform,
    pub(super) esn: bool,
    pub(super) mode: Mode,
    pub(super) local_ts: Vec<TrafficSelector>,
    pub(super) remote_ts: Vec<TrafficSelector>,
    pub(super) rekey_at: Option<Instant>,
    pub(super) rekeyed: bool,
    /// Created by our side of a rekey collision and found redundant (RFC 7296
    /// 2.8.1): removed as soon as its DELETE exchange completes, without a linger
    /// time (the peer never sends on it once it has the surviving SA).
    pub(super) redundant: bool,
    /// The SA that replaced this one when we answered the peer's rekey of it:
    /// outbound traffic moves there when the peer deletes this one.
    pub(super) replaced_by: Option<ChildSaId>,
    /// Hard lifetime: deleted at this time unless rekeyed before.
    pub(super) expire_at: Option<Instant>,
}

/// We answered the peer's rekey of a child while our own rekey of it was
/// outstanding (RFC 7296 2.8.1): the peer's Ni and our Nr of that exchange.
#[derive(Debug)]
pub(super) struct Collision {
    pub(super) peer_ni: Vec<u8>,
    pub(super) our_nr: Vec<u8>,
    /// The CHILD_SA the peer's exchange created.
    pub(super) peer_child: ChildSaId,
}

/// We answered the peer's rekey of the IKE SA while our own rekey of it was
/// outstanding (RFC 7296 2.8.2): the peer's Ni, our Nr, and the IKE SA that
/// exchange created.
#[derive(Debug)]
pub(super) struct IkeCollision {
    pub(super) peer_ni: Vec<u8>,
    pub(super) our_nr: Vec<u8>,
    pub(super) peer_new: IkeSaId,
}

#[derive(Debug)]
pub(super) enum Req {
    Init,
    Auth {
        spi_in: u32,
    },
    RekeyChild {
        old: ChildSaId,
        cfg: usize,
        spi_in: u32,
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
        collision: Option<Collision>,
    },
    RekeyIke {
        spi: u64,
        ni: Vec<u8>,
        dh: DhPrivate,
        collision: Option<IkeCollision>,
    },
    CreateChild {
        cfg: usize,
        spi_in: u32,
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
    },
    DeleteChildren {
        children: Vec<ChildSaId>,
    },
    DeleteIke,
    Dpd,
}

#[derive(Debug)]
pub(super) struct Outstanding {
    pub(super) mid: u32,
    pub(super) msg: Vec<u8>,
    pub(super) tries: u32,
    pub(super) next_at: Instant,
    pub(super) timeout: Duration,
    pub(super) req: Req,
}

#[derive(Debug)]
pub(super) enum Task {
    CreateChild(usize),
    RekeyChild(ChildSaId),
    RekeyIke,
    DeleteChildren(Vec<ChildSaId>),
    DeleteIke,
    Dpd,
}

pub(super) struct IkeSa {
    pub(super) id: IkeSaId,
    pub(super) conn: usize,
    pub(super) initiator: bool,
    pub(super) spi_i: u64,
    pub(super) spi_r: u64,
    pub(super) state: State,
    pub(super) local: SocketAddr,
    pub(super) remote: SocketAddr,
    pub(super) natt: bool,
    pub(super) suite: Option<IkeSuite>,
    pub(super) keys: Option<IkeKeys>,
    pub(super) ni: Vec<u8>,
    pub(super) nr: Vec<u8>,
    pub(super) dh: Option<DhPrivate>,
    pub(super) init_request: Vec<u8>,
    pub(super) init_response: Vec<u8>,
    pub(super) cookie: Option<Vec<u8>>,
    pub(super) my_mid: u32,
    pub(super) outstanding: Option<Outstanding>,
    pub(super) peer_mid: u32,
    /// Last request from the peer (bytes) and our response, for retransmissions.
    pub(super) last_exchange: Option<(Vec<u8>, Vec<u8>)>,
    pub(super) queue: VecDeque<Task>,
    pub(super) children: Vec<Child>,
    pub(super) created: Instant,
    pub(super) established_at: Option<Instant>,
    pub(super) last_heard: Instant,
    pub(super) rekey_at: Option<Instant>,
    /// Removals of old inbound SAs scheduled after a rekey.
    pub(super) linger: Vec<(Instant, ChildSaId, u32, u32)>,
    /// Remove once the current response is sent (peer deleted it, or auth failed).
    pub(super) closing: bool,
    /// Hard lifetime: deleted at this time unless rekeyed before.
    pub(super) expire_at: Option<Instant>,
    /// We are behind a NAT: send keepalives to keep its mapping.
    pub(super) behind_nat: bool,
    /// The peer is behind a NAT: follow its mapping changes (RFC 7296 2.23).
    pub(super) peer_behind_nat: bool,
    /// Both sides offered SHA2-256 in SIGNATURE_HASH_ALGORITHMS: signature AUTH
    /// uses RFC 7427 (method 14).
    pub(super) rfc7427: bool,
    pub(super) last_keepalive: Instant,
    /// After an IKE SA rekey: the SA that took over our children.
    pub(super) successor: Option<IkeSaId>,
}

impl fmt::Debug for IkeSa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IkeSa")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("spi_i", &format_args!("{:016x}", self.spi_i))
            .field("spi_r", &format_args!("{:016x}", self.spi_r))
            .finish_non_exhaustive()
    }
}

impl IkeSa {
    /// Up or coming up (any role), so a new `initiate` would duplicate it.
    pub(super) fn is_active(&self) -> bool {
        matches!(
            self.state,
            State::InitSent | State::AuthSent | State::Established
        ) || (self.state == State::HalfOpen && !self.closing)
    }

    pub(super) fn local_spi(&self) -> u64 {
        if self.initiator {
            self.spi_i
        } else {
            self.spi_r
        }
    }
    pub(super) fn my_keys(&self) -> Option<&SkKeys> {
        self.keys.as_ref().map(|k| {
            if self.initiator {
                &k.initiator
            } else {
                &k.responder
            }
        })
    }
    pub(super) fn peer_keys(&self) -> Option<&SkKeys> {
        self.keys.as_ref().map(|k| {
            if self.initiator {
                &k.responder
            } else {
                &k.initiator
            }
        })
    }
    pub(super) fn header(&self, exch: u8, mid: u32, response: bool) -> Header {
        let mut fl = 0;
        if self.initiator {
            fl |= flags::INITIATOR;
        }
        if response {
            fl |= flags::RESPONSE;
        }
        Header {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            next_payload: 0,
            version: wire::VERSION,
            exchange: exch,
            flags: fl,
            message_id: mid,
            length: 0,
        }
    }
}
