//! CHILD_SAs (RFC 7296 1.3, 2.17): the negotiation in both roles (used by
//! IKE_AUTH, CREATE_CHILD_SA and CHILD_SA rekeys), the one place where a
//! CHILD_SA's keys are derived and its record is made, and CREATE_CHILD_SA for
//! a new CHILD_SA (1.3.1), with the dispatch of CREATE_CHILD_SA requests.

use std::time::Instant;

use crate::config::{select_esp, ts_narrow, ts_within, ChildConfig, EspChoice, Mode};
use crate::crypto::{derive_child_keys, DhPrivate, SecretBytes};
use crate::wire::{exchange, notify, protocol, Payload, TrafficSelector};

use super::api::{Action, ChildSaId, ChildSaInstall, Event, IkeSaId, SaParams, UdpEncap};
use super::msg::{invalid_ke, not_offered, notify_name, notify_payload, Incoming};
use super::state::{Child, ChildOffer, ChildRekey, Collision, Gone, Lifetime, Outstanding, Req};
use super::Engine;

/// A responder's answer: our payloads, or the error notify to send instead.
pub(super) type Answer = Result<Vec<Payload>, u16>;

/// A negotiated CHILD_SA, from either side of its exchange, for [`Engine::add_child`].
struct Negotiated<'a> {
    cfg: usize,
    spi_in: u32,
    choice: &'a EspChoice,
    transport: bool,
    local_ts: Vec<TrafficSelector>,
    remote_ts: Vec<TrafficSelector>,
    /// Ni and Nr of a CREATE_CHILD_SA exchange (None: the IKE SA's, for IKE_AUTH).
    nonces: Option<(&'a [u8], &'a [u8])>,
    /// The PFS shared secret.
    shared: Option<&'a SecretBytes>,
    /// We initiated the exchange: its initiator-to-responder keys are our outbound.
    we_initiated: bool,
    /// The CHILD_SA it rekeys.
    replaces: Option<ChildSaId>,
}

/// Appends what a CREATE_CHILD_SA request proposes for one CHILD_SA (after any
/// REKEY_SA notify): USE_TRANSPORT_MODE if asked, SA, Ni, KE when PFS, TSi, TSr.
pub(super) fn push_child_proposal(
    p: &mut Vec<Payload>,
    ccfg: &ChildConfig,
    offer: &ChildOffer,
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
            .map(|(i, e)| e.to_wire(i as u8 + 1, offer.spi_in, true))
            .collect(),
    ));
    p.push(Payload::Nonce(offer.ni.clone()));
    if let Some(d) = &offer.dh {
        p.push(Payload::Ke {
            group: d.group().id(),
            data: d.public(),
        });
    }
    p.push(Payload::TsI(local_ts));
    p.push(Payload::TsR(remote_ts));
}

impl Engine {
    /// SPI, nonce and PFS key for a CREATE_CHILD_SA request of `ccfg`.
    pub(super) fn child_offer(&mut self, ccfg: &ChildConfig) -> ChildOffer {
        let spi_in = self.new_child_spi();
        let ni = self.nonce();
        let group = ccfg
            .esp_proposals
            .iter()
            .find_map(|p| p.dh.first().copied());
        let dh = group.map(|g| DhPrivate::generate(g, &mut *self.rng));
        ChildOffer { spi_in, ni, dh }
    }

    /// Derive the keys of a negotiated CHILD_SA (RFC 7296 2.17), make its record,
    /// install it and add it to IKE SA `id`; both roles come here.
    fn add_child(
        &mut self,
        now: Instant,
        id: IkeSaId,
        n: Negotiated,
        out: &mut Vec<Action>,
    ) -> Result<ChildSaId, Gone> {
        let conn = self.sas.get(id)?.conn;
        let ccfg = self.conns.child(conn, n.cfg)?;
        let (rekey_time, life_time) = (ccfg.rekey_time, ccfg.life_time);
        let child_id = ChildSaId(self.alloc_id());
        let life = Lifetime::starting(now, rekey_time.map(|t| self.jitter(t)), life_time);
        let sa = self.sas.get(id)?;
        let (suite, keys) = sa.keyed()?;
        let (ni, nr) = n.nonces.unwrap_or((&sa.ni, &sa.nr));
        let (i2r, r2i) = derive_child_keys(
            suite.prf,
            keys.sk_d.expose(),
            n.shared.map(|s| s.expose()),
            ni,
            nr,
            n.choice.transform,
        );
        let (out_keys, in_keys) = if n.we_initiated {
            (i2r, r2i)
        } else {
            (r2i, i2r)
        };
        let child = Child {
            id: child_id,
            cfg: n.cfg,
            spi_in: n.spi_in,
            spi_out: n.choice.peer_spi,
            transform: n.choice.transform,
            esn: n.choice.esn,
            mode: if n.transport {
                Mode::Transport
            } else {
                Mode::Tunnel
            },
            local_ts: n.local_ts,
            remote_ts: n.remote_ts,
            life,
            rekeyed: false,
            redundant: false,
            replaced_by: None,
        };
        let conn = self.conns.get(sa.conn);
        out.push(Action::InstallChildSa(Box::new(ChildSaInstall {
            ike_sa: id,
            child: child.id,
            connection: conn.name.clone(),
            name: self.conns.child(sa.conn, child.cfg)?.name.clone(),
            local_addr: sa.local.ip(),
            remote_addr: sa.remote.ip(),
            inbound: SaParams {
                spi: child.spi_in,
                keys: in_keys,
            },
            outbound: SaParams {
                spi: child.spi_out,
                keys: out_keys,
            },
            transform: child.transform,
            esn: child.esn,
            mode: child.mode,
            local_ts: child.local_ts.clone(),
            remote_ts: child.remote_ts.clone(),
            encap: sa.natt.then_some(UdpEncap {
                local: sa.local,
                remote: sa.remote,
            }),
            replaces: n.replaces,
        })));
        self.sas.get_mut(id)?.children.push(child);
        Ok(child_id)
    }

    /// Responder side of a CHILD_SA negotiation (IKE_AUTH or CREATE_CHILD_SA).
    /// `rekey`: the child being rekeyed; `exch_ni`: Ni for CREATE_CHILD_SA.
    pub(super) fn responder_child(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
        rekey: Option<ChildSaId>,
        exch_ni: Option<&[u8]>,
    ) -> Result<Answer, Gone> {
        let sa = self.sas.get(id)?;
        let conn = self.conns.get(sa.conn);
        let (Some(props), Some(tsi), Some(tsr)) = (m.sa(), m.tsi(), m.tsr()) else {
            return Ok(Err(notify::INVALID_SYNTAX));
        };
        let cfg_idx = match rekey {
            Some(c) => sa.child(c).map_or(0, |c| c.cfg),
            // A new CHILD_SA: the first child config whose selectors overlap the peer's.
            None => conn
                .children
                .iter()
                .position(|c| {
                    !ts_narrow(tsr, &c.local_ts).is_empty()
                        && !ts_narrow(tsi, &c.remote_ts).is_empty()
                })
                .unwrap_or(0),
        };
        let ccfg = self.conns.child(sa.conn, cfg_idx)?;
        let create = exch_ni.is_some();
        let choice: EspChoice = match select_esp(props, &ccfg.esp_proposals, create) {
            Ok(c) => c,
            Err(mm) => {
                out.push(Action::proposal_mismatch(&conn.name, "ESP", mm));
                return Ok(Err(notify::NO_PROPOSAL_CHOSEN));
            }
        };
        let local_ts = ts_narrow(tsr, &ccfg.local_ts);
        let remote_ts = ts_narrow(tsi, &ccfg.remote_ts);
        if local_ts.is_empty() || remote_ts.is_empty() {
            out.push(Action::Event(Event::ChildSaFailed {
                connection: conn.name.clone(),
                detail: format!(
                    "traffic selectors do not overlap: peer TSi {:?} TSr {:?}, ours local {:?} remote {:?}",
                    tsi, tsr, ccfg.local_ts, ccfg.remote_ts
                ),
            }));
            return Ok(Err(notify::TS_UNACCEPTABLE));
        }
        let transport =
            m.notify(notify::USE_TRANSPORT_MODE).is_some() && ccfg.mode == Mode::Transport;
        let mut shared = None;
        let mut ke_out = None;
        if let Some(g) = choice.dh {
            let Some((_, data)) = m.ke().filter(|(grp, _)| *grp == g.id()) else {
                return Ok(Err(notify::INVALID_KE_PAYLOAD));
            };
            let dh = DhPrivate::generate(g, &mut *self.rng);
            let Ok(s) = dh.agree(data) else {
                return Ok(Err(notify::INVALID_SYNTAX));
            };
            shared = Some(s);
            ke_out = Some(Payload::Ke {
                group: g.id(),
                data: dh.public(),
            });
        }
        let spi_in = self.new_child_spi();
        let nr = if create { self.nonce() } else { vec![] };
        let mut resp = Vec::new();
        if transport {
            resp.push(notify_payload(notify::USE_TRANSPORT_MODE, vec![]));
        }
        let mut prop = choice.proposal.clone();
        prop.spi = spi_in.to_be_bytes().to_vec();
        resp.push(Payload::Sa(vec![prop]));
        if create {
            resp.push(Payload::Nonce(nr.clone()));
        }
        resp.extend(ke_out);
        resp.push(Payload::TsI(remote_ts.clone()));
        resp.push(Payload::TsR(local_ts.clone()));
        let child_id = self.add_child(
            now,
            id,
            Negotiated {
                cfg: cfg_idx,
                spi_in,
                choice: &choice,
                transport,
                local_ts,
                remote_ts,
                nonces: exch_ni.map(|ni| (ni, nr.as_slice())),
                shared: shared.as_ref(),
                we_initiated: false,
                replaces: rekey,
            },
            out,
        )?;
        let Some(old) = rekey else {
            return Ok(Ok(resp));
        };
        let sa = self.sas.get_mut(id)?;
        if let Some(oc) = sa.child_mut(old) {
            oc.rekeyed = true;
            oc.replaced_by = Some(child_id);
            // Keep sending on the old SA until the initiator, which installs the
            // new one when our response arrives, deletes the old one.
            out.push(Action::SwitchOutbound {
                ike_sa: id,
                child: old,
                outbound_spi: oc.spi_out,
            });
        }
        // A collision: we are rekeying the same child ourselves.
        if let Some(Outstanding {
            req: Req::RekeyChild(ChildRekey {
                old: o, collision, ..
            }),
            ..
        }) = &mut sa.outstanding
        {
            if *o == old {
                *collision = Some(Collision {
                    peer_ni: exch_ni.unwrap_or_default().to_vec(),
                    our_nr: nr,
                    peer_sa: child_id,
                });
            }
        }
        Ok(Ok(resp))
    }

    /// Initiator side: complete a CHILD_SA from the responder's answer (IKE_AUTH,
    /// or CREATE_CHILD_SA with our Ni and PFS key in `create`); None when it failed.
    pub(super) fn initiator_child(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
        spi_in: u32,
        cfg_idx: usize,
        create: Option<(&[u8], Option<DhPrivate>)>,
        replaces: Option<ChildSaId>,
    ) -> Result<Option<ChildSaId>, Gone> {
        let sa = self.sas.get(id)?;
        let conn_name = self.conns.get(sa.conn).name.clone();
        let ccfg = self.conns.child(sa.conn, cfg_idx)?;
        let fail = |detail: String, out: &mut Vec<Action>| {
            out.push(Action::Event(Event::ChildSaFailed {
                connection: conn_name.clone(),
                detail,
            }));
            Ok(None)
        };
        if let Some(e) = m.error_notify() {
            return fail(format!("peer sent {}", notify_name(e)), out);
        }
        let (Some(props), Some(tsi), Some(tsr)) = (m.sa(), m.tsi(), m.tsr()) else {
            return fail("response lacks SA/TSi/TSr".into(), out);
        };
        // The DH transform must agree with the KE we sent.
        let with_dh = create.as_ref().is_some_and(|(_, d)| d.is_some());
        let choice = match select_esp(props, &ccfg.esp_proposals, with_dh) {
            Ok(c) if props.len() == 1 => c,
            _ => return fail(not_offered(props), out),
        };
        if !ts_within(tsi, &ccfg.local_ts) || !ts_within(tsr, &ccfg.remote_ts) {
            return fail(
                format!("peer narrowed to TSi {tsi:?} TSr {tsr:?}, outside our selectors"),
                out,
            );
        }
        let transport = m.notify(notify::USE_TRANSPORT_MODE).is_some();
        let mut shared = None;
        let mut nonces = None;
        if let Some((ni, dh)) = &create {
            let Some(nr) = m.nonce() else {
                return fail("response lacks a nonce".into(), out);
            };
            if let Some(dh) = dh {
                match m.ke() {
                    Some((g, data)) if g == dh.group().id() && choice.dh == Some(dh.group()) => {
                        match dh.agree(data) {
                            Ok(s) => shared = Some(s),
                            Err(e) => return fail(format!("bad KE: {e}"), out),
                        }
                    }
                    _ => return fail("response KE does not match our PFS group".into(), out),
                }
            }
            nonces = Some((*ni, nr));
        }
        let child = Negotiated {
            cfg: cfg_idx,
            spi_in,
            choice: &choice,
            transport,
            local_ts: tsi.clone(),
            remote_ts: tsr.clone(),
            nonces,
            shared: shared.as_ref(),
            we_initiated: true,
            replaces,
        };
        self.add_child(now, id, child, out).map(Some)
    }

    /// Start a CREATE_CHILD_SA for child configuration `cfg` (false: nothing to do).
    pub(super) fn start_create_child(
        &mut self,
        now: Instant,
        id: IkeSaId,
        cfg: usize,
        out: &mut Vec<Action>,
    ) -> Result<bool, Gone> {
        let conn = self.sas.get(id)?.conn;
        let Ok(ccfg) = self.conns.child(conn, cfg).cloned() else {
            return Ok(false);
        };
        let offer = self.child_offer(&ccfg);
        let mut p = Vec::new();
        let (lts, rts) = (ccfg.local_ts.clone(), ccfg.remote_ts.clone());
        push_child_proposal(&mut p, &ccfg, &offer, lts, rts);
        let req = Req::CreateChild { cfg, offer };
        self.send_request(now, id, exchange::CREATE_CHILD_SA, p, req, out)?;
        Ok(true)
    }

    /// A CREATE_CHILD_SA request: the rekey of a CHILD_SA (REKEY_SA), a new
    /// CHILD_SA, or the rekey of the IKE SA; returns our response.
    pub(super) fn responder_create_child(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
    ) -> Result<Vec<Payload>, Gone> {
        let Some(ni) = m.nonce().map(|n| n.to_vec()) else {
            return Ok(vec![notify_payload(notify::INVALID_SYNTAX, vec![])]);
        };
        let ike_props = m
            .sa()
            .filter(|p| p.iter().any(|x| x.protocol == protocol::IKE));
        let busy = match self.sas.get(id)?.outstanding.as_ref().map(|o| &o.req) {
            Some(Req::RekeyIke(_)) => Some(true),
            Some(Req::RekeyChild(_) | Req::CreateChild { .. } | Req::DeleteChildren { .. }) => {
                Some(false)
            }
            _ => None,
        };
        // RFC 7296 2.25.2: a CHILD_SA request while we rekey the IKE SA, and an IKE
        // SA rekey while we rekey, create or close a CHILD_SA, get TEMPORARY_FAILURE;
        // the peer tries again later. An IKE SA rekey while we rekey the IKE SA
        // ourselves is answered as usual and resolved by the nonces (2.8.2).
        let is_ike = ike_props.is_some();
        if (busy == Some(true) && !is_ike) || (is_ike && busy == Some(false)) {
            return Ok(vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])]);
        }
        if let Some(n) = m.notify(notify::REKEY_SA) {
            return self.responder_rekey_child(Incoming { now, id, m, out }, n, &ni);
        }
        if let Some(props) = ike_props {
            return self.responder_rekey_ike(Incoming { now, id, m, out }, props, ni);
        }
        // A new CHILD_SA (RFC 7296 1.3.1), within the cap per IKE SA.
        let live = self
            .sas
            .get(id)?
            .children
            .iter()
            .filter(|c| !c.rekeyed)
            .count();
        if live >= self.cfg.max_child_sas {
            self.stats.child_sa_limit_refusals += 1;
            out.push(Action::note(
                id,
                format!(
                    "CREATE_CHILD_SA refused with NO_ADDITIONAL_SAS: {live} CHILD_SAs, the most one IKE SA may have"
                ),
            ));
            return Ok(vec![notify_payload(notify::NO_ADDITIONAL_SAS, vec![])]);
        }
        Ok(
            match self.responder_child(Incoming { now, id, m, out }, None, Some(&ni))? {
                Ok(p) => p,
                Err(notify::INVALID_KE_PAYLOAD) => {
                    let conn = self.conns.get(self.sas.get(id)?.conn);
                    let g = conn
                        .children
                        .iter()
                        .flat_map(|c| c.esp_proposals.iter())
                        .find_map(|p| p.dh.first().copied());
                    invalid_ke(g)
                }
                Err(e) => vec![notify_payload(e, vec![])],
            },
        )
    }
}
