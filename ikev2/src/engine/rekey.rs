//! Rekeying (RFC 7296 2.8).

use super::*;

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish_ike_rekey(
        &mut self,
        now: Instant,
        old_id: IkeSaId,
        we_initiated: bool,
        spi_i: u64,
        spi_r: u64,
        suite: IkeSuite,
        ni: &[u8],
        nr: &[u8],
        shared: SecretBytes,
        out: &mut Vec<Action>,
    ) -> IkeSaId {
        let new_id = IkeSaId(self.alloc_id());
        let old = self.sas.get_mut(&old_id).expect("present");
        let old_prf = old.suite.expect("suite").prf;
        let old_keys = old.keys.as_ref().expect("keys");
        let skeyseed =
            crypto::skeyseed_rekey(old_prf, old_keys.sk_d.expose(), shared.expose(), ni, nr);
        let keys = derive_ike_keys(&suite, skeyseed.expose(), ni, nr, spi_i, spi_r);
        let children = std::mem::take(&mut old.children);
        let linger = std::mem::take(&mut old.linger);
        old.state = State::Rekeyed;
        old.successor = Some(new_id);
        // The peer deletes the old SA (or we do); should that never happen, it goes anyway.
        old.expire_at = Some(now + self.cfg.half_open_timeout);
        // Pending child work moves with the children.
        let moved: VecDeque<Task> = old
            .queue
            .drain(..)
            .filter(|t| {
                matches!(
                    t,
                    Task::RekeyChild(_) | Task::DeleteChildren(_) | Task::CreateChild(_)
                )
            })
            .collect();
        let conn = old.conn;
        let (local, remote, natt, behind_nat, peer_behind_nat) = (
            old.local,
            old.remote,
            old.natt,
            old.behind_nat,
            old.peer_behind_nat,
        );
        let new = IkeSa {
            id: new_id,
            conn,
            initiator: we_initiated,
            spi_i,
            spi_r,
            state: State::Established,
            local,
            remote,
            natt,
            suite: Some(suite),
            keys: Some(keys),
            ni: ni.to_vec(),
            nr: nr.to_vec(),
            dh: None,
            init_request: vec![],
            init_response: vec![],
            cookie: None,
            my_mid: 0,
            outstanding: None,
            peer_mid: 0,
            last_exchange: None,
            queue: moved,
            children,
            created: now,
            established_at: Some(now),
            last_heard: now,
            rekey_at: None,
            linger,
            closing: false,
            expire_at: None,
            behind_nat,
            peer_behind_nat,
            rfc7427: false,
            last_keepalive: now,
            successor: None,
        };
        let my_spi = if we_initiated { spi_i } else { spi_r };
        self.by_spi.insert(my_spi, new_id);
        self.sas.insert(new_id, new);
        self.schedule_ike(now, new_id);
        out.push(Action::Event(Event::IkeSaRekeyed {
            old: old_id,
            new: new_id,
        }));
        self.established_event(new_id, out);
        new_id
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn rekey_child_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        old: ChildSaId,
        cfg: usize,
        spi_in: u32,
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
        collision: Option<Collision>,
        m: &Msg,
        out: &mut Vec<Action>,
    ) {
        if let Some(n) = m.notify(notify::INVALID_KE_PAYLOAD) {
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!(
                    "CHILD_SA rekey: peer wants another PFS group ({:?}); retrying later",
                    n.data
                ),
            }));
        }
        if m.notify(notify::CHILD_SA_NOT_FOUND).is_some() {
            // RFC 7296 2.25: the peer no longer has it. Remove it silently and
            // create it again from scratch.
            let successor = self.sas.get(&id).and_then(|s| s.successor);
            for h in [Some(id), successor].into_iter().flatten() {
                let Some(sa) = self.sas.get_mut(&h) else {
                    continue;
                };
                let Some(pos) = sa.children.iter().position(|c| c.id == old) else {
                    continue;
                };
                let ch = sa.children.remove(pos);
                // Created again only if no other CHILD_SA of that configuration
                // exists (RFC 7296 2.25).
                let recreate =
                    !ch.rekeyed && !sa.children.iter().any(|c| c.cfg == ch.cfg && !c.rekeyed);
                if recreate {
                    sa.queue.push_back(Task::CreateChild(ch.cfg));
                }
                out.push(Action::DeleteChildSa {
                    ike_sa: h,
                    child: ch.id,
                    inbound_spi: ch.spi_in,
                    outbound_spi: ch.spi_out,
                });
                out.push(Action::Event(Event::Note {
                    ike_sa: Some(h),
                    text: format!(
                        "CHILD_SA rekey: peer answered CHILD_SA_NOT_FOUND; removed it{}",
                        if recreate {
                            " and creating it again"
                        } else {
                            ""
                        }
                    ),
                }));
                self.kick(now, h, out);
            }
            return;
        }
        let Some(new_child) =
            self.initiator_child(now, id, spi_in, cfg, Some((&ni, dh)), Some(old), m, out)
        else {
            // Failed (e.g. TEMPORARY_FAILURE): try again a little later.
            let sa = self.sas.get_mut(&id).expect("present");
            if let Some(c) = sa.children.iter_mut().find(|c| c.id == old && !c.rekeyed) {
                c.rekey_at = Some(now + Duration::from_secs(2));
            }
            return;
        };
        let nr = m.nonce().unwrap_or_default().to_vec();
        // The old child may already have moved to the successor of a rekeyed IKE SA.
        let successor = self.sas.get(&id).and_then(|s| s.successor);
        let old_present = [Some(id), successor].into_iter().flatten().any(|h| {
            self.sas
                .get_mut(&h)
                .and_then(|s| s.children.iter_mut().find(|c| c.id == old))
                .map(|oc| {
                    oc.rekeyed = true;
                    oc.rekey_at = None;
                })
                .is_some()
        });
        let sa = self.sas.get_mut(&id).expect("present");
        let to_delete = match collision {
            // Plain rekey: retire the old SA (unless the peer already deleted it).
            None => old_present.then_some(old),
            Some(c) => {
                // RFC 7296 2.8.1: the SA created with the lowest of the four nonces is
                // redundant and is deleted by the side that created it; the other
                // side deletes the old SA.
                let lowest_mine = ni.as_slice().min(nr.as_slice());
                let lowest_theirs = c.peer_ni.as_slice().min(c.our_nr.as_slice());
                if lowest_mine < lowest_theirs {
                    out.push(Action::Event(Event::Note {
                        ike_sa: Some(id),
                        text: "CHILD_SA rekey collision: ours is redundant, deleting it".into(),
                    }));
                    if let Some(c) = sa.children.iter_mut().find(|c| c.id == new_child) {
                        c.rekeyed = true;
                        c.redundant = true;
                        c.rekey_at = None;
                    }
                    // Never send on it: keep to the old SA while the peer has not
                    // deleted it (its DELETE then switches us to the peer's new SA),
                    // else to the peer's new SA, which the peer has by then.
                    let back = sa
                        .children
                        .iter()
                        .find(|x| x.id == old)
                        .or_else(|| sa.children.iter().find(|x| x.id == c.peer_child))
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
                    if let Some(pc) = sa.children.iter_mut().find(|x| x.id == c.peer_child) {
                        pc.rekeyed = true;
                        pc.rekey_at = None;
                    }
                    out.push(Action::Event(Event::Note {
                        ike_sa: Some(id),
                        text:
                            "CHILD_SA rekey collision: the peer's is redundant, deleting the old SA"
                                .into(),
                    }));
                    old_present.then_some(old)
                }
            }
        };
        if let Some(d) = to_delete {
            sa.queue.push_front(Task::DeleteChildren(vec![d]));
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn rekey_ike_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        my_spi: u64,
        ni: Vec<u8>,
        dh: DhPrivate,
        collision: Option<IkeCollision>,
        m: &Msg,
        out: &mut Vec<Action>,
    ) {
        let sa = self.sas.get(&id).expect("present");
        let conn = &self.conns[sa.conn];
        if let (Some(e), Some(_)) = (m.error_notify(), &collision) {
            // The peer completed its rekey before ours reached it: its new IKE SA
            // (which we answered) is the only one, and the peer deletes this one.
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!(
                    "simultaneous IKE SA rekey: peer refused ours ({}), keeping the peer's",
                    notify_name(e)
                ),
            }));
            return;
        }
        if let Some(e) = m.error_notify() {
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!("IKE SA rekey refused: {}; retrying later", notify_name(e)),
            }));
            let d = Duration::from_secs(2)
                + Duration::from_millis(u64::from(self.rng.next_u32() % 2000));
            self.sas.get_mut(&id).expect("present").rekey_at = Some(now + d);
            return;
        }
        let (Some(props), Some(nr), Some((g, ke))) = (m.sa(), m.nonce(), m.ke()) else {
            return;
        };
        let suite = match select_ike(props, &conn.ike_proposals) {
            Ok((s, p))
                if props.len() == 1 && p.spi.len() == 8 && g == s.dh.id() && dh.group() == s.dh =>
            {
                s
            }
            _ => {
                out.push(Action::Event(Event::Note {
                    ike_sa: Some(id),
                    text: "IKE SA rekey: unacceptable answer".into(),
                }));
                return;
            }
        };
        let Ok(shared) = dh.agree(ke) else { return };
        let mut s8 = [0u8; 8];
        s8.copy_from_slice(&props[0].spi);
        let peer_spi = u64::from_be_bytes(s8);
        let nr = nr.to_vec();
        let mine = self.finish_ike_rekey(
            now, id, true, my_spi, peer_spi, suite, &ni, &nr, shared, out,
        );
        let sa = self.sas.get_mut(&id).expect("present");
        sa.queue.clear();
        let Some(c) = collision.filter(|c| self.sas.contains_key(&c.peer_new)) else {
            // Delete the old IKE SA.
            self.sas
                .get_mut(&id)
                .expect("present")
                .queue
                .push_back(Task::DeleteIke);
            return;
        };
        // RFC 7296 2.8.2: of the two new IKE SAs, the one created with the lowest of
        // the four nonces is redundant and deleted by its creator; the other one
        // inherits the CHILD_SAs, and its creator deletes the old IKE SA.
        let ours_redundant =
            ni.as_slice().min(nr.as_slice()) < c.peer_ni.as_slice().min(c.our_nr.as_slice());
        let (survivor, redundant) = if ours_redundant {
            (c.peer_new, mine)
        } else {
            (mine, c.peer_new)
        };
        out.push(Action::Event(Event::Note {
            ike_sa: Some(id),
            text: format!(
                "simultaneous IKE SA rekey: {} IKE SA {} is redundant; IKE SA {} survives",
                if ours_redundant { "our" } else { "the peer's" },
                redundant.0,
                survivor.0
            ),
        }));
        self.sas.get_mut(&id).expect("present").successor = Some(survivor);
        let r = self.sas.get_mut(&redundant).expect("present");
        r.state = State::Rekeyed;
        r.successor = Some(survivor);
        r.rekey_at = None;
        r.expire_at = Some(now + self.cfg.half_open_timeout);
        let children = std::mem::take(&mut r.children);
        let linger = std::mem::take(&mut r.linger);
        let tasks: Vec<Task> = r.queue.drain(..).collect();
        if ours_redundant {
            r.queue.push_back(Task::DeleteIke);
        } else {
            self.sas
                .get_mut(&id)
                .expect("present")
                .queue
                .push_back(Task::DeleteIke);
        }
        let s = self.sas.get_mut(&survivor).expect("present");
        s.children.extend(children);
        s.linger.extend(linger);
        s.queue.extend(tasks.into_iter().filter(|t| {
            matches!(
                t,
                Task::RekeyChild(_) | Task::DeleteChildren(_) | Task::CreateChild(_)
            )
        }));
        self.kick(now, redundant, out);
        self.kick(now, survivor, out);
    }

    /// A CHILD_SA exchange that was in flight on an IKE SA while the peer rekeyed
    /// that IKE SA completes on the old SA: its children and pending child work
    /// belong to the new one.
    pub(super) fn migrate_to_successor(
        &mut self,
        now: Instant,
        id: IkeSaId,
        out: &mut Vec<Action>,
    ) {
        let Some(old) = self.sas.get_mut(&id) else {
            return;
        };
        let Some(succ) = old.successor.filter(|_| old.state == State::Rekeyed) else {
            return;
        };
        let is_child_task = |t: &Task| {
            matches!(
                t,
                Task::RekeyChild(_) | Task::DeleteChildren(_) | Task::CreateChild(_)
            )
        };
        if old.children.is_empty() && old.linger.is_empty() && !old.queue.iter().any(is_child_task)
        {
            return;
        }
        let children = std::mem::take(&mut old.children);
        let linger = std::mem::take(&mut old.linger);
        let (tasks, keep): (Vec<Task>, Vec<Task>) = old.queue.drain(..).partition(is_child_task);
        old.queue.extend(keep);
        if let Some(new) = self.sas.get_mut(&succ) {
            new.children.extend(children);
            new.linger.extend(linger);
            new.queue.extend(tasks);
            self.kick(now, succ, out);
        }
    }
}
