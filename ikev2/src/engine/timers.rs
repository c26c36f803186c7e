//! Time: retransmission with back-off and peer-dead detection (RFC 7296 2.1),
//! half-open and hard lifetimes, rekey times with jitter, liveness checks after
//! silence (2.4), NAT keepalives (RFC 3948 2.3), the removal of lingering
//! inbound SAs, and the queue of exchanges started when none is outstanding.

use std::time::Instant;

use crate::wire::exchange;

use super::api::{Action, ChildSaId, CloseReason, IkeSaId};
use super::state::{Gone, Lifetime, Req, State, Task};
use super::Engine;

impl Engine {
    /// Advance time: retransmissions, rekeys, liveness checks, removals.
    pub fn handle_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        for id in self.sas.ids() {
            self.timer_of(now, id, &mut out);
        }
        out
    }

    /// The timers of IKE SA `id`.
    fn timer_of(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        let Ok(sa) = self.sas.get_mut(id) else {
            return;
        };
        // Old inbound SAs whose linger time is over.
        let (due, keep) = std::mem::take(&mut sa.linger)
            .into_iter()
            .partition::<Vec<_>, _>(|l| l.until <= now);
        sa.linger = keep;
        out.extend(due.iter().map(|l| l.delete_action(id)));
        if sa.state == State::HalfOpen && now >= sa.created + self.cfg.half_open_timeout {
            self.remove_sa(id, CloseReason::HalfOpenTimeout, out);
            return;
        }
        if let Some(o) = &mut sa.outstanding {
            if now >= o.next_at {
                if o.tries >= self.cfg.retransmit_tries {
                    let reason = if matches!(o.req, Req::DeleteIke) {
                        CloseReason::LocalDelete
                    } else {
                        CloseReason::PeerDead
                    };
                    out.push(Action::note(
                        id,
                        format!("no answer after {} retransmissions", o.tries),
                    ));
                    self.remove_sa(id, reason, out);
                    return;
                }
                o.tries += 1;
                o.timeout = o.timeout.mul_f64(self.cfg.retransmit_backoff);
                o.next_at = now + o.timeout;
                let msg = o.msg.clone();
                let (l, r) = (sa.local, sa.remote);
                self.stats.retransmits += 1;
                self.send(l, r, &msg, out);
            }
            return;
        }
        if sa.state == State::Rekeyed && sa.life.expired(now) {
            self.remove_sa(id, CloseReason::Rekeyed, out);
            return;
        }
        if sa.state != State::Established {
            return;
        }
        if sa.behind_nat && sa.natt && now >= sa.last_keepalive + self.cfg.natt_keepalive {
            sa.last_keepalive = now;
            out.push(Action::Send {
                local: sa.local,
                remote: sa.remote,
                datagram: vec![0xff],
            });
        }
        if sa.life.take_expired(now) {
            out.push(Action::note(
                id,
                "hard lifetime reached before a rekey; deleting the IKE SA",
            ));
            sa.queue.clear();
            sa.queue.push_back(Task::DeleteIke);
        }
        if sa.life.take_rekey_due(now) {
            sa.queue.push_back(Task::RekeyIke);
        }
        let expired: Vec<ChildSaId> = sa
            .children
            .iter_mut()
            .filter_map(|c| (!c.rekeyed && c.life.take_expired(now)).then_some(c.id))
            .collect();
        if !expired.is_empty() {
            out.push(Action::note(
                id,
                format!(
                    "{} CHILD_SA(s) reached their hard lifetime before a rekey; deleting",
                    expired.len()
                ),
            ));
            sa.queue.push_back(Task::DeleteChildren(expired));
        }
        for c in sa.children.iter_mut() {
            if !c.rekeyed && c.life.take_rekey_due(now) {
                sa.queue.push_back(Task::RekeyChild(c.id));
            }
        }
        if let Some(d) = self.conns.get(sa.conn).dpd_delay {
            if now >= sa.last_heard + d && sa.queue.is_empty() {
                sa.last_heard = now;
                sa.queue.push_back(Task::Dpd);
            }
        }
        self.kick(now, id, out);
    }

    /// When `handle_timer` next has work (None: nothing scheduled).
    pub fn next_timer(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut put = |x: Instant| t = Some(t.map_or(x, |y| y.min(x)));
        for sa in self.sas.iter() {
            if let Some(o) = &sa.outstanding {
                put(o.next_at);
            }
            if sa.state == State::HalfOpen {
                put(sa.created + self.cfg.half_open_timeout);
            }
            if let (State::Rekeyed, Some(t)) = (sa.state, sa.life.expire_at) {
                put(t);
            }
            for l in &sa.linger {
                put(l.until);
            }
            if sa.state == State::Established && sa.outstanding.is_none() {
                if self.conns.is_removed(sa.conn) {
                    // its DELETE is due now
                    put(sa.created);
                }
                for r in sa.life.times() {
                    put(r);
                }
                if sa.behind_nat && sa.natt {
                    put(sa.last_keepalive + self.cfg.natt_keepalive);
                }
                for c in &sa.children {
                    for r in c.life.times() {
                        put(r);
                    }
                }
                if let Some(d) = self.conns.get(sa.conn).dpd_delay {
                    put(sa.last_heard + d);
                }
            }
        }
        t
    }

    /// Set the rekey (soft, with jitter) and expiry (hard) times of an IKE SA.
    pub(super) fn schedule_ike(&mut self, now: Instant, id: IkeSaId) -> Result<(), Gone> {
        let conn = self.conns.get(self.sas.get(id)?.conn);
        let (soft, hard) = (conn.rekey_time, conn.life_time);
        let soft = soft.map(|t| self.jitter(t));
        self.sas.get_mut(id)?.life = Lifetime::starting(now, soft, hard);
        Ok(())
    }

    /// Start the next queued exchange if none is outstanding.
    pub(super) fn kick(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        loop {
            let Ok(sa) = self.sas.get_mut(id) else {
                return;
            };
            if sa.outstanding.is_some() || !matches!(sa.state, State::Established | State::Rekeyed)
            {
                return;
            }
            // An IKE SA of a connection a reload removed (one a rekey made after
            // the removal included): nothing but its DELETE is started.
            if sa.state == State::Established
                && self.conns.is_removed(sa.conn)
                && !matches!(sa.queue.front(), Some(Task::DeleteIke))
            {
                sa.queue.clear();
                sa.queue.push_back(Task::DeleteIke);
            }
            let Some(task) = sa.queue.pop_front() else {
                return;
            };
            if sa.state == State::Rekeyed && !matches!(task, Task::DeleteIke) {
                continue;
            }
            let started = match task {
                Task::Dpd => self
                    .send_request(now, id, exchange::INFORMATIONAL, vec![], Req::Dpd, out)
                    .map(|()| true),
                Task::DeleteIke => {
                    // Nothing is started after the DELETE.
                    let _ = self.start_delete_ike(now, id, out);
                    return;
                }
                Task::DeleteChildren(children) => {
                    self.start_delete_children(now, id, children, out)
                }
                Task::CreateChild(cfg) => self.start_create_child(now, id, cfg, out),
                Task::RekeyChild(cid) => self.start_rekey_child(now, id, cid, out),
                Task::RekeyIke => self.start_rekey_ike(now, id, out),
            };
            if started.is_err() {
                return;
            }
        }
    }
}
