//! INFORMATIONAL (RFC 7296 1.4): DELETE and notifies.

use super::*;

impl Engine {
    // ------------------------------------------------------------ INFORMATIONAL

    pub(super) fn responder_informational(
        &mut self,
        now: Instant,
        id: IkeSaId,
        m: &Msg,
        out: &mut Vec<Action>,
    ) -> Vec<Payload> {
        let mut resp = Vec::new();
        for p in &m.payloads {
            match p {
                Payload::Delete(d) if d.protocol == protocol::IKE => {
                    let sa = self.sas.get_mut(&id).expect("present");
                    sa.closing = true;
                    return vec![];
                }
                Payload::Delete(d) if d.protocol == protocol::ESP && d.spi_size == 4 => {
                    let mut mine = Vec::new();
                    let sa = self.sas.get_mut(&id).expect("present");
                    let linger = now + self.cfg.inbound_linger;
                    let mut gone = Vec::new();
                    // Children we are closing ourselves (RFC 7296 2.25.1: answer
                    // without a Delete payload for them) and the child the peer's
                    // side of a rekey collision created (it was sending on it).
                    let (closing, collided): (Vec<ChildSaId>, Option<ChildSaId>) =
                        match &sa.outstanding {
                            Some(Outstanding {
                                req: Req::DeleteChildren { children },
                                ..
                            }) => (children.clone(), None),
                            Some(Outstanding {
                                req:
                                    Req::RekeyChild {
                                        collision: Some(c), ..
                                    },
                                ..
                            }) => (vec![], Some(c.peer_child)),
                            _ => (vec![], None),
                        };
                    let mut switch = Vec::new();
                    for s in &d.spis {
                        let spi = u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
                        if let Some(pos) = sa.children.iter().position(|c| c.spi_out == spi) {
                            let ch = sa.children.remove(pos);
                            // The peer rekeyed it and now deletes it: it has the new SA.
                            if let Some(n) = ch.replaced_by.and_then(|n| {
                                sa.children
                                    .iter()
                                    .find(|c| c.id == n && !c.rekeyed && !c.redundant)
                            }) {
                                switch.push((n.id, n.spi_out));
                            }
                            if !closing.contains(&ch.id) {
                                mine.push(ch.spi_in.to_be_bytes().to_vec());
                            }
                            if (ch.rekeyed && !ch.redundant) || collided == Some(ch.id) {
                                sa.linger.push((linger, ch.id, ch.spi_in, ch.spi_out));
                            } else {
                                gone.push((ch.id, ch.spi_in, ch.spi_out));
                            }
                            // Our own delete for this child may be queued: drop it.
                            for t in sa.queue.iter_mut() {
                                if let Task::DeleteChildren(v) = t {
                                    v.retain(|x| *x != ch.id);
                                }
                            }
                        }
                    }
                    for (child, outbound_spi) in switch {
                        out.push(Action::SwitchOutbound {
                            ike_sa: id,
                            child,
                            outbound_spi,
                        });
                    }
                    for (c, i, o) in gone {
                        out.push(Action::DeleteChildSa {
                            ike_sa: id,
                            child: c,
                            inbound_spi: i,
                            outbound_spi: o,
                        });
                    }
                    if !mine.is_empty() {
                        resp.push(Payload::Delete(DeletePayload {
                            protocol: protocol::ESP,
                            spi_size: 4,
                            spis: mine,
                        }));
                    }
                }
                Payload::Notify(n) if n.ntype == notify::AUTHENTICATION_FAILED => {
                    let sa = self.sas.get_mut(&id).expect("present");
                    out.push(Action::Event(Event::AuthenticationFailed {
                        connection: self.conns[sa.conn].name.clone(),
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
        resp
    }

    /// After a response went out: finish deletes requested by the peer.
    pub(super) fn finish_after_response(
        &mut self,
        _now: Instant,
        id: IkeSaId,
        out: &mut Vec<Action>,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        if sa.closing {
            // The peer deletes the IKE SA its side of a rekey collision created
            // (it found it redundant) before the response to our own rekey came
            // back: its CHILD_SAs go back to the old IKE SA, whose rekey is still
            // under way and will hand them to our new one (RFC 7296 2.8.2).
            let pending = self.sas.values().find_map(|o| match &o.outstanding {
                Some(Outstanding {
                    req:
                        Req::RekeyIke {
                            collision: Some(c), ..
                        },
                    ..
                }) if c.peer_new == id => Some(o.id),
                _ => None,
            });
            if let Some(old) = pending {
                let sa = self.sas.get_mut(&id).expect("present");
                let children = std::mem::take(&mut sa.children);
                let linger = std::mem::take(&mut sa.linger);
                let tasks: Vec<Task> = sa
                    .queue
                    .drain(..)
                    .filter(|t| {
                        matches!(
                            t,
                            Task::RekeyChild(_) | Task::DeleteChildren(_) | Task::CreateChild(_)
                        )
                    })
                    .collect();
                sa.state = State::Rekeyed;
                let o = self.sas.get_mut(&old).expect("present");
                o.children.extend(children);
                o.linger.extend(linger);
                o.queue.extend(tasks);
                o.successor = None;
            }
            let sa = self.sas.get(&id).expect("present");
            let reason = if sa.established_at.is_none() {
                CloseReason::AuthenticationFailed
            } else {
                CloseReason::PeerDelete
            };
            self.remove_sa(id, reason, out);
        }
    }
}
