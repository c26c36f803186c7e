//! CHILD_SA rekey (RFC 7296 1.3.3, 2.8) in both roles, with its collisions
//! (2.8.1: the SA made with the lowest nonce is redundant) and the crossings of
//! 2.25 (TEMPORARY_FAILURE, CHILD_SA_NOT_FOUND).

use std::time::{Duration, Instant};

use crate::wire::{exchange, notify, protocol, NotifyPayload, Payload};

use super::api::{Action, ChildSaId, IkeSaId};
use super::child_sa::push_child_proposal;
use super::msg::{invalid_ke, notify_payload, spi32, Incoming};
use super::state::{Child, ChildOffer, ChildRekey, Gone, Outstanding, Req, Task};
use super::Engine;

impl Engine {
    /// Start the rekey of CHILD_SA `cid` (false: nothing to do).
    pub(super) fn start_rekey_child(
        &mut self,
        now: Instant,
        id: IkeSaId,
        cid: ChildSaId,
        out: &mut Vec<Action>,
    ) -> Result<bool, Gone> {
        let sa = self.sas.get(id)?;
        let Some(c) = sa.child(cid).filter(|c| !c.rekeyed) else {
            return Ok(false);
        };
        let (old_spi, cfg, lts, rts) = (c.spi_in, c.cfg, c.local_ts.clone(), c.remote_ts.clone());
        let ccfg = self.conns.child(sa.conn, cfg)?.clone();
        let offer = self.child_offer(&ccfg);
        let mut p = vec![Payload::Notify(NotifyPayload {
            protocol: protocol::ESP,
            ntype: notify::REKEY_SA,
            spi: old_spi.to_be_bytes().to_vec(),
            data: vec![],
        })];
        push_child_proposal(&mut p, &ccfg, &offer, lts, rts);
        let req = Req::RekeyChild(ChildRekey {
            old: cid,
            cfg,
            offer,
            collision: None,
        });
        self.send_request(now, id, exchange::CREATE_CHILD_SA, p, req, out)?;
        Ok(true)
    }

    /// Responder: a CREATE_CHILD_SA request with REKEY_SA `n`; returns our response.
    pub(super) fn responder_rekey_child(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
        n: &NotifyPayload,
        ni: &[u8],
    ) -> Result<Vec<Payload>, Gone> {
        let spi = match spi32(&n.spi) {
            Some(s) if n.protocol == protocol::ESP && n.spi.len() == 4 => s,
            _ => return Ok(vec![notify_payload(notify::INVALID_SYNTAX, vec![])]),
        };
        let sa = self.sas.get(id)?;
        // A child we already replaced, or are closing (RFC 7296 2.25.1).
        let closing = |c: &Child| {
            c.rekeyed
                || sa
                    .queue
                    .iter()
                    .any(|t| matches!(t, Task::DeleteChildren(v) if v.contains(&c.id)))
                || matches!(&sa.outstanding, Some(Outstanding { req: Req::DeleteChildren { children }, .. }) if children.contains(&c.id))
        };
        if sa.children.iter().any(|c| c.spi_out == spi && closing(c)) {
            return Ok(vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])]);
        }
        let Some(old) = sa
            .children
            .iter()
            .find(|c| c.spi_out == spi && !c.rekeyed)
            .map(|c| c.id)
        else {
            // Our own CHILD_SA exchange is under way: the peer may be rekeying
            // the SA that exchange creates, whose response we have not seen yet
            // (it was lost). Ask it to try again later.
            if matches!(
                &sa.outstanding,
                Some(Outstanding {
                    req: Req::RekeyChild(_) | Req::CreateChild { .. },
                    ..
                })
            ) {
                return Ok(vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])]);
            }
            return Ok(vec![Payload::Notify(NotifyPayload {
                protocol: protocol::ESP,
                ntype: notify::CHILD_SA_NOT_FOUND,
                spi: n.spi.clone(),
                data: vec![],
            })]);
        };
        Ok(
            match self.responder_child(Incoming { now, id, m, out }, Some(old), Some(ni))? {
                Ok(p) => p,
                Err(notify::INVALID_KE_PAYLOAD) => {
                    let sa = self.sas.get(id)?;
                    let cfg = sa.child(old).map_or(0, |c| c.cfg);
                    let g = self
                        .conns
                        .child(sa.conn, cfg)?
                        .esp_proposals
                        .iter()
                        .find_map(|p| p.dh.first().copied());
                    invalid_ke(g)
                }
                Err(e) => vec![notify_payload(e, vec![])],
            },
        )
    }

    /// Initiator: the response to our rekey of CHILD_SA `old`.
    pub(super) fn rekey_child_response(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
        r: ChildRekey,
    ) -> Result<(), Gone> {
        let ChildRekey {
            old,
            cfg,
            offer: ChildOffer { spi_in, ni, dh },
            collision,
        } = r;
        if let Some(n) = m.notify(notify::INVALID_KE_PAYLOAD) {
            out.push(Action::note(
                id,
                format!(
                    "CHILD_SA rekey: peer wants another PFS group ({:?}); retrying later",
                    n.data
                ),
            ));
        }
        // The old child may already have moved to the successor of a rekeyed IKE SA.
        let successor = self.sas.get(id).ok().and_then(|s| s.successor);
        let holders = [Some(id), successor].into_iter().flatten();
        if m.notify(notify::CHILD_SA_NOT_FOUND).is_some() {
            // RFC 7296 2.25: the peer no longer has it. Remove it silently and
            // create it again from scratch.
            for h in holders {
                self.child_not_found(now, h, old, out);
            }
            return Ok(());
        }
        let Some(new_child) = self.initiator_child(
            Incoming { now, id, m, out },
            spi_in,
            cfg,
            Some((&ni, dh)),
            Some(old),
        )?
        else {
            // Failed (e.g. TEMPORARY_FAILURE): try again a little later.
            let sa = self.sas.get_mut(id)?;
            if let Some(c) = sa.child_mut(old).filter(|c| !c.rekeyed) {
                c.life.rekey_at = Some(now + Duration::from_secs(2));
            }
            return Ok(());
        };
        let nr = m.nonce().unwrap_or_default().to_vec();
        let old_present = holders.into_iter().any(|h| {
            self.sas
                .get_mut(h)
                .ok()
                .and_then(|s| s.child_mut(old))
                .map(|oc| {
                    oc.rekeyed = true;
                    oc.life.rekey_at = None;
                })
                .is_some()
        });
        let sa = self.sas.get_mut(id)?;
        let to_delete = match collision {
            // Plain rekey: retire the old SA (unless the peer already deleted it).
            None => old_present.then_some(old),
            Some(c) => {
                // RFC 7296 2.8.1: the SA created with the lowest of the four nonces is
                // redundant and is deleted by the side that created it; the other
                // side deletes the old SA.
                if c.ours_redundant(&ni, &nr) {
                    out.push(Action::note(
                        id,
                        "CHILD_SA rekey collision: ours is redundant, deleting it",
                    ));
                    if let Some(c) = sa.child_mut(new_child) {
                        c.rekeyed = true;
                        c.redundant = true;
                        c.life.rekey_at = None;
                    }
                    // Never send on it: keep to the old SA while the peer has not
                    // deleted it (its DELETE then switches us to the peer's new SA),
                    // else to the peer's new SA, which the peer has by then.
                    let back = sa
                        .child(old)
                        .or_else(|| sa.child(c.peer_sa))
                        .map(|x| (x.id, x.spi_out));
                    if let Some((child, outbound_spi)) = back {
                        out.push(Action::SwitchOutbound {
                            ike_sa: id,
                            child,
                            outbound_spi,
                        });
                    }
                    Some(new_child)
                } else {
                    // The peer deletes its redundant SA; it may have sent on it until
                    // now, so its inbound side lingers like a rekeyed SA's.
                    if let Some(pc) = sa.child_mut(c.peer_sa) {
                        pc.rekeyed = true;
                        pc.life.rekey_at = None;
                    }
                    out.push(Action::note(
                        id,
                        "CHILD_SA rekey collision: the peer's is redundant, deleting the old SA",
                    ));
                    old_present.then_some(old)
                }
            }
        };
        if let Some(d) = to_delete {
            sa.queue.push_front(Task::DeleteChildren(vec![d]));
        }
        Ok(())
    }

    /// The peer answered our rekey of CHILD_SA `old` with CHILD_SA_NOT_FOUND:
    /// remove it from IKE SA `h` (if there) and, if no other CHILD_SA of its
    /// configuration exists, create it again (RFC 7296 2.25).
    fn child_not_found(&mut self, now: Instant, h: IkeSaId, old: ChildSaId, out: &mut Vec<Action>) {
        let Ok(sa) = self.sas.get_mut(h) else {
            return;
        };
        let Some(ch) = sa.take_child(old) else {
            return;
        };
        let recreate = !ch.rekeyed && !sa.children.iter().any(|c| c.cfg == ch.cfg && !c.rekeyed);
        if recreate {
            sa.queue.push_back(Task::CreateChild(ch.cfg));
        }
        out.push(ch.delete_action(h));
        out.push(Action::note(
            h,
            format!(
                "CHILD_SA rekey: peer answered CHILD_SA_NOT_FOUND; removed it{}",
                if recreate {
                    " and creating it again"
                } else {
                    ""
                }
            ),
        ));
        self.kick(now, h, out);
    }
}
