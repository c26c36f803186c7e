//! Timers and the task queue.

use super::*;

impl Engine {
    /// Set the rekey (soft, with jitter) and expiry (hard) times of an IKE SA.
    pub(super) fn schedule_ike(&mut self, now: Instant, id: IkeSaId) {
        let Some(sa) = self.sas.get(&id) else { return };
        let conn = &self.conns[sa.conn];
        let (soft, hard) = (conn.rekey_time, conn.life_time);
        let rekey_at = soft.map(|t| now + self.jitter(t));
        let sa = self.sas.get_mut(&id).expect("present");
        sa.rekey_at = rekey_at;
        sa.expire_at = hard.map(|t| now + t);
    }

    /// Start the next queued exchange if none is outstanding.
    pub(super) fn kick(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        loop {
            let Some(sa) = self.sas.get_mut(&id) else {
                return;
            };
            if sa.outstanding.is_some() || !matches!(sa.state, State::Established | State::Rekeyed)
            {
                return;
            }
            let Some(task) = sa.queue.pop_front() else {
                return;
            };
            if sa.state == State::Rekeyed && !matches!(task, Task::DeleteIke) {
                continue;
            }
            match task {
                Task::Dpd => {
                    self.send_request(now, id, exchange::INFORMATIONAL, vec![], Req::Dpd, out);
                }
                Task::DeleteIke => {
                    for c in std::mem::take(&mut sa.children) {
                        out.push(Action::DeleteChildSa {
                            ike_sa: id,
                            child: c.id,
                            inbound_spi: c.spi_in,
                            outbound_spi: c.spi_out,
                        });
                    }
                    if sa.state != State::Rekeyed {
                        sa.state = State::Deleting;
                    }
                    let p = vec![Payload::Delete(DeletePayload {
                        protocol: protocol::IKE,
                        spi_size: 0,
                        spis: vec![],
                    })];
                    // send_request needs Established/Deleting; it does not check state.
                    self.send_request(now, id, exchange::INFORMATIONAL, p, Req::DeleteIke, out);
                    return;
                }
                Task::DeleteChildren(children) => {
                    let spis: Vec<Vec<u8>> = sa
                        .children
                        .iter()
                        .filter(|c| children.contains(&c.id))
                        .map(|c| c.spi_in.to_be_bytes().to_vec())
                        .collect();
                    if spis.is_empty() {
                        continue;
                    }
                    let p = vec![Payload::Delete(DeletePayload {
                        protocol: protocol::ESP,
                        spi_size: 4,
                        spis,
                    })];
                    self.send_request(
                        now,
                        id,
                        exchange::INFORMATIONAL,
                        p,
                        Req::DeleteChildren { children },
                        out,
                    );
                }
                Task::CreateChild(cfg) => {
                    let Some(ccfg) = self.conns[sa.conn].children.get(cfg).cloned() else {
                        continue;
                    };
                    let spi_in = self.new_child_spi();
                    let ni = self.nonce();
                    let group = ccfg
                        .esp_proposals
                        .iter()
                        .find_map(|p| p.dh.first().copied());
                    let dh = group.map(|g| DhPrivate::generate(g, &mut *self.rng));
                    let mut p = Vec::new();
                    push_child_proposal(
                        &mut p,
                        &ccfg,
                        spi_in,
                        &ni,
                        dh.as_ref(),
                        ccfg.local_ts.clone(),
                        ccfg.remote_ts.clone(),
                    );
                    self.send_request(
                        now,
                        id,
                        exchange::CREATE_CHILD_SA,
                        p,
                        Req::CreateChild {
                            cfg,
                            spi_in,
                            ni,
                            dh,
                        },
                        out,
                    );
                }
                Task::RekeyChild(cid) => {
                    let Some(c) = sa.children.iter().find(|c| c.id == cid && !c.rekeyed) else {
                        continue;
                    };
                    let (old_spi, cfg, lts, rts) =
                        (c.spi_in, c.cfg, c.local_ts.clone(), c.remote_ts.clone());
                    let ccfg = self.conns[sa.conn].children[cfg].clone();
                    let spi_in = self.new_child_spi();
                    let ni = self.nonce();
                    let group = ccfg
                        .esp_proposals
                        .iter()
                        .find_map(|p| p.dh.first().copied());
                    let dh = group.map(|g| DhPrivate::generate(g, &mut *self.rng));
                    let mut p = vec![Payload::Notify(NotifyPayload {
                        protocol: protocol::ESP,
                        ntype: notify::REKEY_SA,
                        spi: old_spi.to_be_bytes().to_vec(),
                        data: vec![],
                    })];
                    push_child_proposal(&mut p, &ccfg, spi_in, &ni, dh.as_ref(), lts, rts);
                    self.send_request(
                        now,
                        id,
                        exchange::CREATE_CHILD_SA,
                        p,
                        Req::RekeyChild {
                            old: cid,
                            cfg,
                            spi_in,
                            ni,
                            dh,
                            collision: None,
                        },
                        out,
                    );
                }
                Task::RekeyIke => {
                    if sa.state != State::Established {
                        continue;
                    }
                    let conn = &self.conns[sa.conn];
                    let group = sa.suite.expect("suite").dh;
                    let props: Vec<_> = conn.ike_proposals.clone();
                    let spi = self.new_ike_spi();
                    let ni = self.nonce();
                    let dh = DhPrivate::generate(group, &mut *self.rng);
                    // Put the proposals with the current group first so our KE fits.
                    let mut wire_props = Vec::new();
                    for (i, p) in props.iter().enumerate() {
                        let mut p = p.clone();
                        if let Some(pos) = p.dh.iter().position(|g| *g == group) {
                            p.dh.swap(0, pos);
                        }
                        wire_props.push(p.to_wire(i as u8 + 1, spi.to_be_bytes().to_vec()));
                    }
                    let p = vec![
                        Payload::Sa(wire_props),
                        Payload::Nonce(ni.clone()),
                        Payload::Ke {
                            group: group.id(),
                            data: dh.public(),
                        },
                    ];
                    self.send_request(
                        now,
                        id,
                        exchange::CREATE_CHILD_SA,
                        p,
                        Req::RekeyIke {
                            spi,
                            ni,
                            dh,
                            collision: None,
                        },
                        out,
                    );
                }
            }
        }
    }

    /// Advance time: retransmissions, rekeys, liveness checks, removals.
    pub fn handle_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let ids: Vec<IkeSaId> = self.sas.keys().copied().collect();
        for id in ids {
            let Some(sa) = self.sas.get_mut(&id) else {
                continue;
            };
            // Old inbound SAs whose linger time is over.
            let mut due = Vec::new();
            sa.linger.retain(|(t, c, i, o)| {
                if *t <= now {
                    due.push((*c, *i, *o));
                    false
                } else {
                    true
                }
            });
            for (c, i, o) in due {
                out.push(Action::DeleteChildSa {
                    ike_sa: id,
                    child: c,
                    inbound_spi: i,
                    outbound_spi: o,
                });
            }
            if sa.state == State::HalfOpen && now >= sa.created + self.cfg.half_open_timeout {
                self.remove_sa(id, CloseReason::HalfOpenTimeout, &mut out);
                continue;
            }
            if let Some(o) = &mut sa.outstanding {
                if now >= o.next_at {
                    if o.tries >= self.cfg.retransmit_tries {
                        let reason = if matches!(o.req, Req::DeleteIke) {
                            CloseReason::LocalDelete
                        } else {
                            CloseReason::PeerDead
                        };
                        out.push(Action::Event(Event::Note {
                            ike_sa: Some(id),
                            text: format!("no answer after {} retransmissions", o.tries),
                        }));
                        self.remove_sa(id, reason, &mut out);
                        continue;
                    }
                    o.tries += 1;
                    o.timeout = o.timeout.mul_f64(self.cfg.retransmit_backoff);
                    o.next_at = now + o.timeout;
                    let msg = o.msg.clone();
                    let (l, r) = (sa.local, sa.remote);
                    self.stats.retransmits += 1;
                    self.send(l, r, &msg, &mut out);
                }
                continue;
            }
            if sa.state == State::Rekeyed && sa.expire_at.is_some_and(|t| now >= t) {
                self.remove_sa(id, CloseReason::Rekeyed, &mut out);
                continue;
            }
            if sa.state != State::Established {
                continue;
            }
            if sa.behind_nat && sa.natt && now >= sa.last_keepalive + self.cfg.natt_keepalive {
                sa.last_keepalive = now;
                out.push(Action::Send {
                    local: sa.local,
                    remote: sa.remote,
                    datagram: vec![0xff],
                });
            }
            if sa.expire_at.is_some_and(|t| now >= t) {
                sa.expire_at = None;
                sa.rekey_at = None;
                out.push(Action::Event(Event::Note {
                    ike_sa: Some(id),
                    text: "hard lifetime reached before a rekey; deleting the IKE SA".into(),
                }));
                sa.queue.clear();
                sa.queue.push_back(Task::DeleteIke);
            }
            if sa.rekey_at.is_some_and(|t| now >= t) {
                sa.rekey_at = None;
                sa.queue.push_back(Task::RekeyIke);
            }
            let expired: Vec<ChildSaId> = sa
                .children
                .iter_mut()
                .filter(|c| !c.rekeyed && c.expire_at.is_some_and(|t| now >= t))
                .map(|c| {
                    c.expire_at = None;
                    c.rekey_at = None;
                    c.id
                })
                .collect();
            if !expired.is_empty() {
                out.push(Action::Event(Event::Note {
                    ike_sa: Some(id),
                    text: format!(
                        "{} CHILD_SA(s) reached their hard lifetime before a rekey; deleting",
                        expired.len()
                    ),
                }));
                sa.queue.push_back(Task::DeleteChildren(expired));
            }
            for c in sa.children.iter_mut() {
                if !c.rekeyed && c.rekey_at.is_some_and(|t| now >= t) {
                    c.rekey_at = None;
                    sa.queue.push_back(Task::RekeyChild(c.id));
                }
            }
            if let Some(d) = self.conns[sa.conn].dpd_delay {
                if now >= sa.last_heard + d && sa.queue.is_empty() {
                    sa.last_heard = now;
                    sa.queue.push_back(Task::Dpd);
                }
            }
            self.kick(now, id, &mut out);
        }
        out
    }

    /// When `handle_timer` next has work (None: nothing scheduled).
    pub fn next_timer(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut put = |x: Instant| t = Some(t.map_or(x, |y| y.min(x)));
        for sa in self.sas.values() {
            if let Some(o) = &sa.outstanding {
                put(o.next_at);
            }
            if sa.state == State::HalfOpen {
                put(sa.created + self.cfg.half_open_timeout);
            }
            if let (State::Rekeyed, Some(t)) = (sa.state, sa.expire_at) {
                put(t);
            }
            for (at, ..) in &sa.linger {
                put(*at);
            }
            if sa.state == State::Established && sa.outstanding.is_none() {
                for r in [sa.rekey_at, sa.expire_at].into_iter().flatten() {
                    put(r);
                }
                if sa.behind_nat && sa.natt {
                    put(sa.last_keepalive + self.cfg.natt_keepalive);
                }
                for c in &sa.children {
                    for r in [c.rekey_at, c.expire_at].into_iter().flatten() {
                        put(r);
                    }
                }
                if let Some(d) = self.conns[sa.conn].dpd_delay {
                    put(sa.last_heard + d);
                }
            }
        }
        t
    }
}
