//! IKE SA rekey (RFC 7296 1.3.2, 2.18) in both roles: the new IKE SA takes the
//! CHILD_SAs over, and a collision (2.8.2) keeps the SA not made with the
//! lowest nonce.

use std::time::{Duration, Instant};

use crate::config::select_ike;
use crate::crypto::{self, derive_ike_keys, DhPrivate, IkeSuite, SecretBytes};
use crate::wire::{exchange, notify, Payload, Proposal};

use super::api::{established_event, Action, Event, IkeSaId};
use super::msg::{notify_name, notify_payload, spi64, Incoming};
use super::state::{Collision, Gone, IkeRekey, IkeSa, NewIkeSa, Outstanding, Req, State, Task};
use super::Engine;

impl Engine {
    /// Start the rekey of IKE SA `id` (false: nothing to do).
    pub(super) fn start_rekey_ike(
        &mut self,
        now: Instant,
        id: IkeSaId,
        out: &mut Vec<Action>,
    ) -> Result<bool, Gone> {
        let sa = self.sas.get(id)?;
        if sa.state != State::Established {
            return Ok(false);
        }
        let group = sa.keyed()?.0.dh;
        let props = self.conns.get(sa.conn).ike_proposals.clone();
        let spi = self.new_ike_spi();
        let ni = self.nonce();
        let dh = DhPrivate::generate(group, &mut *self.rng);
        // Put the proposals with the current group first so our KE fits.
        let mut wire_props = Vec::new();
        for (i, mut p) in props.into_iter().enumerate() {
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
        let req = Req::RekeyIke(IkeRekey {
            spi,
            ni,
            dh,
            collision: None,
        });
        self.send_request(now, id, exchange::CREATE_CHILD_SA, p, req, out)?;
        Ok(true)
    }

    /// Responder: a CREATE_CHILD_SA request proposing a new IKE SA (`props`);
    /// returns our response.
    pub(super) fn responder_rekey_ike(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
        props: &[Proposal],
        ni: Vec<u8>,
    ) -> Result<Vec<Payload>, Gone> {
        let conn = self.conns.get(self.sas.get(id)?.conn);
        let (suite, mut chosen) = match select_ike(props, &conn.ike_proposals) {
            Ok(x) => x,
            Err(mm) => {
                out.push(Action::proposal_mismatch(&conn.name, "IKE", mm));
                return Ok(vec![notify_payload(notify::NO_PROPOSAL_CHOSEN, vec![])]);
            }
        };
        let Some(peer_spi) = spi64(&chosen.spi) else {
            return Ok(vec![notify_payload(notify::INVALID_SYNTAX, vec![])]);
        };
        let Some((g, ke)) = m.ke() else {
            return Ok(vec![notify_payload(notify::INVALID_SYNTAX, vec![])]);
        };
        if g != suite.dh.id() {
            return Ok(vec![notify_payload(
                notify::INVALID_KE_PAYLOAD,
                suite.dh.id().to_be_bytes().to_vec(),
            )]);
        }
        let dh = DhPrivate::generate(suite.dh, &mut *self.rng);
        let Ok(shared) = dh.agree(ke) else {
            return Ok(vec![notify_payload(notify::INVALID_SYNTAX, vec![])]);
        };
        let my_spi = self.new_ike_spi();
        let nr = self.nonce();
        chosen.spi = my_spi.to_be_bytes().to_vec();
        let resp = vec![
            Payload::Sa(vec![chosen]),
            Payload::Nonce(nr.clone()),
            Payload::Ke {
                group: suite.dh.id(),
                data: dh.public(),
            },
        ];
        let new_id = self.finish_ike_rekey(
            now,
            id,
            NewKeys {
                we_initiated: false,
                spi_i: peer_spi,
                spi_r: my_spi,
                suite,
                ni: &ni,
                nr: &nr,
                shared,
            },
            out,
        )?;
        if let Some(Outstanding {
            req: Req::RekeyIke(IkeRekey { collision, .. }),
            ..
        }) = &mut self.sas.get_mut(id)?.outstanding
        {
            // Simultaneous IKE SA rekey (RFC 7296 2.8.2): settled when our own
            // exchange completes.
            *collision = Some(Collision {
                peer_ni: ni,
                our_nr: nr,
                peer_sa: new_id,
            });
            out.push(Action::note(
                id,
                "simultaneous IKE SA rekey: answered the peer's, waiting for ours",
            ));
        }
        Ok(resp)
    }

    /// Make the IKE SA that replaces `old_id` (RFC 7296 2.18): its keys from the
    /// old SA's SK_d, the old SA's children and child work moved to it.
    fn finish_ike_rekey(
        &mut self,
        now: Instant,
        old_id: IkeSaId,
        k: NewKeys,
        out: &mut Vec<Action>,
    ) -> Result<IkeSaId, Gone> {
        let new_id = IkeSaId(self.alloc_id());
        let half_open_timeout = self.cfg.half_open_timeout;
        let old = self.sas.get_mut(old_id)?;
        let (old_suite, old_keys) = old.keyed()?;
        let skeyseed = crypto::skeyseed_rekey(
            old_suite.prf,
            old_keys.sk_d.expose(),
            k.shared.expose(),
            k.ni,
            k.nr,
        );
        let keys = derive_ike_keys(&k.suite, skeyseed.expose(), k.ni, k.nr, k.spi_i, k.spi_r);
        // Pending child work moves with the children; the rest is dropped.
        let work = old.take_child_work();
        old.queue.clear();
        old.state = State::Rekeyed;
        old.successor = Some(new_id);
        // The peer deletes the old SA (or we do); should that never happen, it goes anyway.
        old.life.expire_at = Some(now + half_open_timeout);
        let mut new = IkeSa::new(
            NewIkeSa {
                id: new_id,
                conn: old.conn,
                initiator: k.we_initiated,
                spi_i: k.spi_i,
                spi_r: k.spi_r,
                state: State::Established,
                local: old.local,
                remote: old.remote,
            },
            now,
        );
        new.natt = old.natt;
        new.behind_nat = old.behind_nat;
        new.peer_behind_nat = old.peer_behind_nat;
        new.suite = Some(k.suite);
        new.keys = Some(keys);
        new.ni = k.ni.to_vec();
        new.nr = k.nr.to_vec();
        new.established_at = Some(now);
        new.adopt(work);
        self.sas.insert(new);
        self.schedule_ike(now, new_id)?;
        out.push(Action::Event(Event::IkeSaRekeyed {
            old: old_id,
            new: new_id,
        }));
        out.push(established_event(self.sas.get(new_id)?, &self.conns));
        Ok(new_id)
    }

    /// Initiator: the response to our rekey of IKE SA `id`.
    pub(super) fn rekey_ike_response(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
        r: IkeRekey,
    ) -> Result<(), Gone> {
        let IkeRekey {
            spi: my_spi,
            ni,
            dh,
            collision,
        } = r;
        if let Some(e) = m.error_notify() {
            if collision.is_some() {
                // The peer completed its rekey before ours reached it: its new IKE SA
                // (which we answered) is the only one, and the peer deletes this one.
                out.push(Action::note(
                    id,
                    format!(
                        "simultaneous IKE SA rekey: peer refused ours ({}), keeping the peer's",
                        notify_name(e)
                    ),
                ));
                return Ok(());
            }
            out.push(Action::note(
                id,
                format!("IKE SA rekey refused: {}; retrying later", notify_name(e)),
            ));
            let d = Duration::from_secs(2)
                + Duration::from_millis(u64::from(self.rng.next_u32() % 2000));
            self.sas.get_mut(id)?.life.rekey_at = Some(now + d);
            return Ok(());
        }
        let (Some(props), Some(nr), Some((g, ke))) = (m.sa(), m.nonce(), m.ke()) else {
            return Ok(());
        };
        let conn = self.conns.get(self.sas.get(id)?.conn);
        let accepted = match select_ike(props, &conn.ike_proposals) {
            Ok((s, p)) if props.len() == 1 && g == s.dh.id() && dh.group() == s.dh => {
                spi64(&p.spi).map(|peer_spi| (s, peer_spi))
            }
            _ => None,
        };
        let Some((suite, peer_spi)) = accepted else {
            out.push(Action::note(id, "IKE SA rekey: unacceptable answer"));
            return Ok(());
        };
        let Ok(shared) = dh.agree(ke) else {
            return Ok(());
        };
        let nr = nr.to_vec();
        let keys = NewKeys {
            we_initiated: true,
            spi_i: my_spi,
            spi_r: peer_spi,
            suite,
            ni: &ni,
            nr: &nr,
            shared,
        };
        let mine = self.finish_ike_rekey(now, id, keys, out)?;
        self.sas.get_mut(id)?.queue.clear();
        let Some(c) = collision.filter(|c| self.sas.contains(c.peer_sa)) else {
            // Delete the old IKE SA.
            self.sas.get_mut(id)?.queue.push_back(Task::DeleteIke);
            return Ok(());
        };
        // RFC 7296 2.8.2: of the two new IKE SAs, the one created with the lowest of
        // the four nonces is redundant and deleted by its creator; the other one
        // inherits the CHILD_SAs, and its creator deletes the old IKE SA.
        let ours_redundant = c.ours_redundant(&ni, &nr);
        let (survivor, redundant) = if ours_redundant {
            (c.peer_sa, mine)
        } else {
            (mine, c.peer_sa)
        };
        out.push(Action::note(
            id,
            format!(
                "simultaneous IKE SA rekey: {} IKE SA {} is redundant; IKE SA {} survives",
                if ours_redundant { "our" } else { "the peer's" },
                redundant.0,
                survivor.0
            ),
        ));
        self.sas.get_mut(id)?.successor = Some(survivor);
        let half_open_timeout = self.cfg.half_open_timeout;
        let r = self.sas.get_mut(redundant)?;
        r.state = State::Rekeyed;
        r.successor = Some(survivor);
        r.life.rekey_at = None;
        r.life.expire_at = Some(now + half_open_timeout);
        self.sas.move_child_work(redundant, survivor)?;
        // Work other than on children is dropped with the redundant SA.
        self.sas.get_mut(redundant)?.queue.clear();
        let deletes = if ours_redundant { redundant } else { id };
        self.sas.get_mut(deletes)?.queue.push_back(Task::DeleteIke);
        self.kick(now, redundant, out);
        self.kick(now, survivor, out);
        Ok(())
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
        let Ok(old) = self.sas.get(id) else {
            return;
        };
        let Some(succ) = old.successor.filter(|_| old.state == State::Rekeyed) else {
            return;
        };
        if old.has_no_child_work() {
            return;
        }
        if self.sas.move_child_work(id, succ).is_ok() {
            self.kick(now, succ, out);
        }
    }
}

/// What the keys of a new IKE SA from a rekey are made of.
struct NewKeys<'a> {
    /// We sent the CREATE_CHILD_SA request (so we are the new SA's initiator).
    we_initiated: bool,
    spi_i: u64,
    spi_r: u64,
    suite: IkeSuite,
    ni: &'a [u8],
    nr: &'a [u8],
    shared: SecretBytes,
}
