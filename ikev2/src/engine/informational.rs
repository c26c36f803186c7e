//! INFORMATIONAL (RFC 7296 1.4): DELETE of CHILD_SAs and IKE SAs in both
//! roles (with the crossings of 2.25.1), AUTHENTICATION_FAILED from the peer,
//! and liveness checks (an empty request).

use std::time::Instant;

use crate::wire::{exchange, notify, protocol, DeletePayload, Payload};

use super::api::{Action, ChildSaId, CloseReason, Event, IkeSaId};
use super::msg::{spi32, Incoming};
use super::state::{ChildRekey, Gone, IkeRekey, Outstanding, Req, State, Task};
use super::Engine;

impl Engine {
    /// Responder: an INFORMATIONAL request; returns our response.
    pub(super) fn responder_informational(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
    ) -> Result<Vec<Payload>, Gone> {
        let mut resp = Vec::new();
        for p in &m.payloads {
            match p {
                Payload::Delete(d) if d.protocol == protocol::IKE => {
                    self.sas.get_mut(id)?.closing = true;
                    return Ok(vec![]);
                }
                Payload::Delete(d) if d.protocol == protocol::ESP && d.spi_size == 4 => {
                    let spis: Vec<u32> = d.spis.iter().filter_map(|s| spi32(s)).collect();
                    if let Some(mine) = self.peer_deletes_children(now, id, &spis, out)? {
                        resp.push(mine);
                    }
                }
                Payload::Notify(n) if n.ntype == notify::AUTHENTICATION_FAILED => {
                    let sa = self.sas.get_mut(id)?;
                    out.push(Action::Event(Event::AuthenticationFailed {
                        connection: self.conns.get(sa.conn).name.clone(),
                        by_peer: true,
                        detail:
                            "peer rejected our authentication (INFORMATIONAL AUTHENTICATION_FAILED)"
                                .into(),
                    }));
                    sa.closing = true;
                }
                _ => {}
            }
        }
        Ok(resp)
    }

    /// The peer deletes the CHILD_SAs whose outbound SPIs (its inbound ones) are
    /// `spis`; returns the Delete payload of our answer, naming our inbound SPIs.
    fn peer_deletes_children(
        &mut self,
        now: Instant,
        id: IkeSaId,
        spis: &[u32],
        out: &mut Vec<Action>,
    ) -> Result<Option<Payload>, Gone> {
        let linger = now + self.cfg.inbound_linger;
        let sa = self.sas.get_mut(id)?;
        // Children we are closing ourselves (RFC 7296 2.25.1: answer without a
        // Delete payload for them) and the child the peer's side of a rekey
        // collision created (it was sending on it).
        let (closing, collided): (Vec<ChildSaId>, Option<ChildSaId>) =
            match sa.outstanding.as_ref().map(|o| &o.req) {
                Some(Req::DeleteChildren { children }) => (children.clone(), None),
                Some(Req::RekeyChild(ChildRekey {
                    collision: Some(c), ..
                })) => (vec![], Some(c.peer_sa)),
                _ => (vec![], None),
            };
        let mut mine = Vec::new();
        let mut switch = Vec::new();
        let mut gone = Vec::new();
        for &spi in spis {
            let Some(pos) = sa.children.iter().position(|c| c.spi_out == spi) else {
                continue;
            };
            let ch = sa.children.remove(pos);
            // The peer rekeyed it and now deletes it: it has the new SA.
            if let Some(n) = ch
                .replaced_by
                .and_then(|n| sa.child(n))
                .filter(|n| !n.rekeyed && !n.redundant)
            {
                switch.push(Action::SwitchOutbound {
                    ike_sa: id,
                    child: n.id,
                    outbound_spi: n.spi_out,
                });
            }
            if !closing.contains(&ch.id) {
                mine.push(ch.spi_in.to_be_bytes().to_vec());
            }
            gone.extend(sa.retire_child(&ch, collided == Some(ch.id), linger));
            // Our own delete for this child may be queued: drop it.
            for t in sa.queue.iter_mut() {
                if let Task::DeleteChildren(v) = t {
                    v.retain(|x| *x != ch.id);
                }
            }
        }
        out.extend(switch);
        out.extend(gone);
        Ok((!mine.is_empty()).then_some(Payload::Delete(DeletePayload {
            protocol: protocol::ESP,
            spi_size: 4,
            spis: mine,
        })))
    }

    /// After a response went out: remove the IKE SA if the peer deleted it (or
    /// its authentication failed).
    pub(super) fn finish_after_response(
        &mut self,
        id: IkeSaId,
        out: &mut Vec<Action>,
    ) -> Result<(), Gone> {
        if !self.sas.get(id)?.closing {
            return Ok(());
        }
        // The peer deletes the IKE SA its side of a rekey collision created
        // (it found it redundant) before the response to our own rekey came
        // back: its CHILD_SAs go back to the old IKE SA, whose rekey is still
        // under way and will hand them to our new one (RFC 7296 2.8.2).
        let pending = self.sas.iter().find_map(|o| match &o.outstanding {
            Some(Outstanding {
                req:
                    Req::RekeyIke(IkeRekey {
                        collision: Some(c), ..
                    }),
                ..
            }) if c.peer_sa == id => Some(o.id),
            _ => None,
        });
        if let Some(old) = pending {
            self.sas.move_child_work(id, old)?;
            let sa = self.sas.get_mut(id)?;
            sa.queue.clear();
            sa.state = State::Rekeyed;
            self.sas.get_mut(old)?.successor = None;
        }
        let reason = if self.sas.get(id)?.established_at.is_none() {
            CloseReason::AuthenticationFailed
        } else {
            CloseReason::PeerDelete
        };
        self.remove_sa(id, reason, out);
        Ok(())
    }

    /// Our DELETE of `children` was answered: remove them (rekeyed ones linger).
    pub(super) fn children_deleted(
        &mut self,
        now: Instant,
        id: IkeSaId,
        children: &[ChildSaId],
        out: &mut Vec<Action>,
    ) {
        let linger = now + self.cfg.inbound_linger;
        let Ok(sa) = self.sas.get_mut(id) else {
            return;
        };
        let mut gone = Vec::new();
        for &c in children {
            if let Some(ch) = sa.take_child(c) {
                gone.extend(sa.retire_child(&ch, false, linger));
            }
        }
        out.extend(gone);
    }

    /// Start the DELETE of IKE SA `id`; its CHILD_SAs go at once.
    pub(super) fn start_delete_ike(
        &mut self,
        now: Instant,
        id: IkeSaId,
        out: &mut Vec<Action>,
    ) -> Result<(), Gone> {
        let sa = self.sas.get_mut(id)?;
        let children = std::mem::take(&mut sa.children);
        out.extend(children.iter().map(|c| c.delete_action(id)));
        if sa.state != State::Rekeyed {
            sa.state = State::Deleting;
        }
        let p = vec![Payload::Delete(DeletePayload {
            protocol: protocol::IKE,
            spi_size: 0,
            spis: vec![],
        })];
        self.send_request(now, id, exchange::INFORMATIONAL, p, Req::DeleteIke, out)
    }

    /// Start the DELETE of `children` (false: none of them is left).
    pub(super) fn start_delete_children(
        &mut self,
        now: Instant,
        id: IkeSaId,
        children: Vec<ChildSaId>,
        out: &mut Vec<Action>,
    ) -> Result<bool, Gone> {
        let spis: Vec<Vec<u8>> = self
            .sas
            .get(id)?
            .children
            .iter()
            .filter(|c| children.contains(&c.id))
            .map(|c| c.spi_in.to_be_bytes().to_vec())
            .collect();
        if spis.is_empty() {
            return Ok(false);
        }
        let p = vec![Payload::Delete(DeletePayload {
            protocol: protocol::ESP,
            spi_size: 4,
            spis,
        })];
        let req = Req::DeleteChildren { children };
        self.send_request(now, id, exchange::INFORMATIONAL, p, req, out)?;
        Ok(true)
    }
}
