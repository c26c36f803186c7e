//! CHILD_SA negotiation (RFC 7296 1.3): both roles.

use super::*;

impl Engine {
    /// Responder side of a CHILD_SA negotiation (IKE_AUTH or CREATE_CHILD_SA).
    /// `rekey`: the child being rekeyed; `ke`: Ni for CREATE_CHILD_SA.
    pub(super) fn responder_child(
        &mut self,
        now: Instant,
        id: IkeSaId,
        m: &Msg,
        rekey: Option<ChildSaId>,
        exch_ni: Option<&[u8]>,
        out: &mut Vec<Action>,
    ) -> Result<Vec<Payload>, u16> {
        let sa = self.sas.get(&id).expect("present");
        let conn_name = self.conns[sa.conn].name.clone();
        let (Some(props), Some(tsi), Some(tsr)) = (m.sa(), m.tsi(), m.tsr()) else {
            return Err(notify::INVALID_SYNTAX);
        };
        let cfg_idx = match rekey {
            Some(c) => sa.children.iter().find(|x| x.id == c).map_or(0, |c| c.cfg),
            // A new CHILD_SA: the first child config whose selectors overlap the peer's.
            None => self.conns[sa.conn]
                .children
                .iter()
                .position(|c| {
                    !ts_narrow(tsr, &c.local_ts).is_empty()
                        && !ts_narrow(tsi, &c.remote_ts).is_empty()
                })
                .unwrap_or(0),
        };
        let ccfg = self.child_cfg(sa, cfg_idx).clone();
        let create = exch_ni.is_some();
        let choice: EspChoice = match select_esp(props, &ccfg.esp_proposals, create) {
            Ok(c) => c,
            Err(mm) => {
                self.mismatch_event(&conn_name, "ESP", &mm, out);
                return Err(notify::NO_PROPOSAL_CHOSEN);
            }
        };
        let local_ts = ts_narrow(tsr, &ccfg.local_ts);
        let remote_ts = ts_narrow(tsi, &ccfg.remote_ts);
        if local_ts.is_empty() || remote_ts.is_empty() {
            out.push(Action::Event(Event::ChildSaFailed {
                connection: conn_name,
                detail: format!(
                    "traffic selectors do not overlap: peer TSi {:?} TSr {:?}, ours local {:?} remote {:?}",
                    tsi, tsr, ccfg.local_ts, ccfg.remote_ts
                ),
            }));
            return Err(notify::TS_UNACCEPTABLE);
        }
        let transport =
            m.notify(notify::USE_TRANSPORT_MODE).is_some() && ccfg.mode == Mode::Transport;
        let mut resp = Vec::new();
        let mut shared = None;
        let mut ke_out = None;
        if let Some(g) = choice.dh {
            match m.ke() {
                Some((grp, data)) if grp == g.id() => {
                    let dh = DhPrivate::generate(g, &mut *self.rng);
                    match dh.agree(data) {
                        Ok(s) => shared = Some(s),
                        Err(_) => return Err(notify::INVALID_SYNTAX),
                    }
                    ke_out = Some(Payload::Ke {
                        group: g.id(),
                        data: dh.public(),
                    });
                }
                _ => {
                    let sa = self.sas.get(&id).expect("present");
                    let _ = sa;
                    return Err(notify::INVALID_KE_PAYLOAD);
                }
            }
        }
        let spi_in = self.new_child_spi();
        let nr = if create { self.nonce() } else { vec![] };
        let sa = self.sas.get(&id).expect("present");
        let keys = sa.keys.as_ref().expect("keys");
        let prf = sa.suite.expect("suite").prf;
        let (ni, nr_used): (&[u8], &[u8]) = match exch_ni {
            Some(n) => (n, &nr),
            None => (&sa.ni, &sa.nr),
        };
        let (i2r, r2i) = derive_child_keys(
            prf,
            keys.sk_d.expose(),
            shared.as_ref().map(|s: &SecretBytes| s.expose()),
            ni,
            nr_used,
            choice.transform,
        );
        if transport {
            resp.push(notify_payload(notify::USE_TRANSPORT_MODE, vec![]));
        }
        let mut prop = choice.proposal.clone();
        prop.spi = spi_in.to_be_bytes().to_vec();
        resp.push(Payload::Sa(vec![prop]));
        if create {
            resp.push(Payload::Nonce(nr.clone()));
        }
        if let Some(k) = ke_out {
            resp.push(k);
        }
        resp.push(Payload::TsI(remote_ts.clone()));
        resp.push(Payload::TsR(local_ts.clone()));
        let child_id = ChildSaId(self.alloc_id());
        let rekey_at = ccfg.rekey_time.map(|t| now + self.jitter(t));
        let expire_at = ccfg.life_time.map(|t| now + t);
        let child = Child {
            id: child_id,
            cfg: cfg_idx,
            spi_in,
            spi_out: choice.peer_spi,
            transform: choice.transform,
            esn: choice.esn,
            mode: if transport {
                Mode::Transport
            } else {
                Mode::Tunnel
            },
            local_ts,
            remote_ts,
            rekey_at,
            rekeyed: false,
            redundant: false,
            replaced_by: None,
            expire_at,
        };
        self.install(id, &child, r2i, i2r, rekey, out);
        let sa = self.sas.get_mut(&id).expect("present");
        if let Some(old) = rekey {
            if let Some(oc) = sa.children.iter_mut().find(|c| c.id == old) {
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
                req: Req::RekeyChild {
                    old: o, collision, ..
                },
                ..
            }) = &mut sa.outstanding
            {
                if *o == old {
                    *collision = Some(Collision {
                        peer_ni: exch_ni.unwrap_or_default().to_vec(),
                        our_nr: nr.clone(),
                        peer_child: child_id,
                    });
                }
            }
        }
        sa.children.push(child);
        Ok(resp)
    }

    pub(super) fn install(
        &self,
        id: IkeSaId,
        child: &Child,
        out_keys: ChildKeys,
        in_keys: ChildKeys,
        replaces: Option<ChildSaId>,
        out: &mut Vec<Action>,
    ) {
        let sa = self.sas.get(&id).expect("present");
        let encap = sa.natt.then_some(UdpEncap {
            local: sa.local,
            remote: sa.remote,
        });
        out.push(Action::InstallChildSa(Box::new(ChildSaInstall {
            ike_sa: id,
            child: child.id,
            connection: self.conns[sa.conn].name.clone(),
            name: self.conns[sa.conn].children[child.cfg].name.clone(),
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
            encap,
            replaces,
        })));
    }

    /// Initiator side: complete a CHILD_SA from the responder's answer.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn initiator_child(
        &mut self,
        now: Instant,
        id: IkeSaId,
        spi_in: u32,
        cfg_idx: usize,
        create: Option<(&[u8], Option<DhPrivate>)>,
        replaces: Option<ChildSaId>,
        m: &Msg,
        out: &mut Vec<Action>,
    ) -> Option<ChildSaId> {
        let sa = self.sas.get(&id).expect("present");
        let conn_name = self.conns[sa.conn].name.clone();
        let ccfg = self.child_cfg(sa, cfg_idx).clone();
        let fail = |detail: String, out: &mut Vec<Action>| {
            out.push(Action::Event(Event::ChildSaFailed {
                connection: conn_name.clone(),
                detail,
            }));
            None
        };
        if let Some(e) = m.error_notify() {
            return fail(format!("peer sent {}", notify_name(e)), out);
        }
        let (Some(props), Some(tsi), Some(tsr)) = (m.sa(), m.tsi(), m.tsr()) else {
            return fail("response lacks SA/TSi/TSr".into(), out);
        };
        // Replace the peer's own (non-PFS) DH choice check: the DH transform must
        // agree with the KE we sent.
        let with_dh = create.as_ref().is_some_and(|(_, d)| d.is_some());
        let choice = match select_esp(props, &ccfg.esp_proposals, with_dh) {
            Ok(c) if props.len() == 1 => c,
            _ => {
                return fail(
                    format!(
                        "peer chose [{}], which we did not offer",
                        props
                            .iter()
                            .map(proposal_name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    out,
                )
            }
        };
        if !ts_within(tsi, &ccfg.local_ts) || !ts_within(tsr, &ccfg.remote_ts) {
            return fail(
                format!("peer narrowed to TSi {tsi:?} TSr {tsr:?}, outside our selectors"),
                out,
            );
        }
        let transport = m.notify(notify::USE_TRANSPORT_MODE).is_some();
        let mut shared = None;
        let (ni, nr): (Vec<u8>, Vec<u8>) = match &create {
            Some((ni, dh)) => {
                let Some(nr) = m.nonce() else {
                    return fail("response lacks a nonce".into(), out);
                };
                if let Some(dh) = dh {
                    match m.ke() {
                        Some((g, data))
                            if g == dh.group().id() && choice.dh == Some(dh.group()) =>
                        {
                            match dh.agree(data) {
                                Ok(s) => shared = Some(s),
                                Err(e) => return fail(format!("bad KE: {e}"), out),
                            }
                        }
                        _ => return fail("response KE does not match our PFS group".into(), out),
                    }
                }
                (ni.to_vec(), nr.to_vec())
            }
            None => (sa.ni.clone(), sa.nr.clone()),
        };
        let keys = sa.keys.as_ref().expect("keys");
        let prf = sa.suite.expect("suite").prf;
        let (i2r, r2i) = derive_child_keys(
            prf,
            keys.sk_d.expose(),
            shared.as_ref().map(|s| s.expose()),
            &ni,
            &nr,
            choice.transform,
        );
        let child_id = ChildSaId(self.alloc_id());
        let rekey_at = ccfg.rekey_time.map(|t| now + self.jitter(t));
        let expire_at = ccfg.life_time.map(|t| now + t);
        let child = Child {
            id: child_id,
            cfg: cfg_idx,
            spi_in,
            spi_out: choice.peer_spi,
            transform: choice.transform,
            esn: choice.esn,
            mode: if transport {
                Mode::Transport
            } else {
                Mode::Tunnel
            },
            local_ts: tsi.clone(),
            remote_ts: tsr.clone(),
            rekey_at,
            rekeyed: false,
            redundant: false,
            replaced_by: None,
            expire_at,
        };
        self.install(id, &child, i2r, r2i, replaces, out);
        self.sas.get_mut(&id).expect("present").children.push(child);
        Some(child_id)
    }

    // ------------------------------------------------------------ CREATE_CHILD_SA

    pub(super) fn responder_create_child(
        &mut self,
        now: Instant,
        id: IkeSaId,
        m: &Msg,
        out: &mut Vec<Action>,
    ) -> Vec<Payload> {
        let Some(ni) = m.nonce().map(|n| n.to_vec()) else {
            return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
        };
        let is_ike = m
            .sa()
            .is_some_and(|p| p.iter().any(|x| x.protocol == protocol::IKE));
        let busy = match self.sas.get(&id).and_then(|s| s.outstanding.as_ref()) {
            Some(Outstanding { req, .. }) => match req {
                Req::RekeyIke { .. } => Some(true),
                Req::RekeyChild { .. } | Req::CreateChild { .. } | Req::DeleteChildren { .. } => {
                    Some(false)
                }
                _ => None,
            },
            None => None,
        };
        // RFC 7296 2.25.2: a CHILD_SA request while we rekey the IKE SA, and an IKE
        // SA rekey while we rekey, create or close a CHILD_SA, get TEMPORARY_FAILURE;
        // the peer tries again later. An IKE SA rekey while we rekey the IKE SA
        // ourselves is answered as usual and resolved by the nonces (2.8.2).
        if (busy == Some(true) && !is_ike) || (is_ike && busy == Some(false)) {
            return vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])];
        }
        if let Some(n) = m.notify(notify::REKEY_SA) {
            if n.protocol != protocol::ESP || n.spi.len() != 4 {
                return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
            }
            let spi = u32::from_be_bytes([n.spi[0], n.spi[1], n.spi[2], n.spi[3]]);
            let sa = self.sas.get(&id).expect("present");
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
                return vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])];
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
                        req: Req::RekeyChild { .. } | Req::CreateChild { .. },
                        ..
                    })
                ) {
                    return vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])];
                }
                return vec![Payload::Notify(NotifyPayload {
                    protocol: protocol::ESP,
                    ntype: notify::CHILD_SA_NOT_FOUND,
                    spi: n.spi.clone(),
                    data: vec![],
                })];
            };
            return match self.responder_child(now, id, m, Some(old), Some(&ni), out) {
                Ok(p) => p,
                Err(notify::INVALID_KE_PAYLOAD) => {
                    let sa = self.sas.get(&id).expect("present");
                    let cfg = sa
                        .children
                        .iter()
                        .find(|c| c.id == old)
                        .map_or(0, |c| c.cfg);
                    let g = self
                        .child_cfg(sa, cfg)
                        .esp_proposals
                        .iter()
                        .find_map(|p| p.dh.first().copied());
                    vec![notify_payload(
                        notify::INVALID_KE_PAYLOAD,
                        g.map_or(vec![0, 0], |g| g.id().to_be_bytes().to_vec()),
                    )]
                }
                Err(e) => vec![notify_payload(e, vec![])],
            };
        }
        if !is_ike {
            // A new CHILD_SA (RFC 7296 1.3.1).
            return match self.responder_child(now, id, m, None, Some(&ni), out) {
                Ok(p) => p,
                Err(notify::INVALID_KE_PAYLOAD) => {
                    let sa = self.sas.get(&id).expect("present");
                    let g = self.conns[sa.conn]
                        .children
                        .iter()
                        .flat_map(|c| c.esp_proposals.iter())
                        .find_map(|p| p.dh.first().copied());
                    vec![notify_payload(
                        notify::INVALID_KE_PAYLOAD,
                        g.map_or(vec![0, 0], |g| g.id().to_be_bytes().to_vec()),
                    )]
                }
                Err(e) => vec![notify_payload(e, vec![])],
            };
        }
        // IKE SA rekey (RFC 7296 2.18).
        let sa = self.sas.get(&id).expect("present");
        let conn = &self.conns[sa.conn];
        let conn_name = conn.name.clone();
        let props = m.sa().expect("checked");
        let (suite, mut chosen) = match select_ike(props, &conn.ike_proposals) {
            Ok(x) => x,
            Err(mm) => {
                self.mismatch_event(&conn_name, "IKE", &mm, out);
                return vec![notify_payload(notify::NO_PROPOSAL_CHOSEN, vec![])];
            }
        };
        if chosen.spi.len() != 8 {
            return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
        }
        let Some((g, ke)) = m.ke() else {
            return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
        };
        if g != suite.dh.id() {
            return vec![notify_payload(
                notify::INVALID_KE_PAYLOAD,
                suite.dh.id().to_be_bytes().to_vec(),
            )];
        }
        let dh = DhPrivate::generate(suite.dh, &mut *self.rng);
        let Ok(shared) = dh.agree(ke) else {
            return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
        };
        let mut s8 = [0u8; 8];
        s8.copy_from_slice(&chosen.spi);
        let peer_spi = u64::from_be_bytes(s8);
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
            now, id, false, peer_spi, my_spi, suite, &ni, &nr, shared, out,
        );
        if let Some(Outstanding {
            req: Req::RekeyIke { collision, .. },
            ..
        }) = &mut self.sas.get_mut(&id).expect("present").outstanding
        {
            // Simultaneous IKE SA rekey (RFC 7296 2.8.2): settled when our own
            // exchange completes.
            *collision = Some(IkeCollision {
                peer_ni: ni.clone(),
                our_nr: nr,
                peer_new: new_id,
            });
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: "simultaneous IKE SA rekey: answered the peer's, waiting for ours".into(),
            }));
        }
        resp
    }
}
