//! IKE_AUTH (RFC 7296 1.2, 2.15): both roles.

use super::*;

impl Engine {
    // ------------------------------------------------------------ IKE_AUTH

    pub(super) fn child_cfg(&self, sa: &IkeSa, idx: usize) -> &ChildConfig {
        &self.conns[sa.conn].children[idx]
    }

    pub(super) fn cert_of(&self, ci: usize) -> Option<&CertAuth> {
        self.cert_auth.get(&self.conns[ci].name)
    }

    /// Our AUTH payload for connection `ci` (PSK, or an ECDSA signature when the
    /// connection uses certificates, then with our CERT payload first).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn our_auth(
        &self,
        ci: usize,
        rfc7427: bool,
        prf: crypto::Prf,
        real_message: &[u8],
        peer_nonce: &[u8],
        sk_p: &[u8],
        id: &wire::IdPayload,
    ) -> Vec<Payload> {
        match self.cert_of(ci) {
            Some(c) => {
                let (method, data) = c.sign(
                    &crypto::signed_octets(prf, real_message, peer_nonce, sk_p, &id.body()),
                    rfc7427,
                );
                vec![
                    Payload::Unknown {
                        ptype: wire::payload_type::CERT,
                        critical: false,
                        body: c.cert_payload(),
                    },
                    Payload::Auth { method, data },
                ]
            }
            None => vec![Payload::Auth {
                method: 2,
                data: psk_auth(
                    prf,
                    self.conns[ci].psk.expose(),
                    real_message,
                    peer_nonce,
                    sk_p,
                    &id.body(),
                ),
            }],
        }
    }

    /// Check the peer's AUTH for connection `ci`; the error explains the failure.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_peer_auth(
        &self,
        ci: usize,
        prf: crypto::Prf,
        real_message: &[u8],
        peer_nonce: &[u8],
        sk_p: &[u8],
        id: &wire::IdPayload,
        (method, auth): (u8, &[u8]),
        m: &Msg,
    ) -> Result<(), String> {
        match self.cert_of(ci) {
            Some(c) => {
                let Some(cert) = m.payloads.iter().find_map(|p| match p {
                    Payload::Unknown { ptype, body, .. } if *ptype == wire::payload_type::CERT => {
                        Some(body)
                    }
                    _ => None,
                }) else {
                    return Err("sent no certificate".into());
                };
                let octets = crypto::signed_octets(prf, real_message, peer_nonce, sk_p, &id.body());
                c.verify_peer(cert, id, &octets, (method, auth))
            }
            None => {
                if method != 2 {
                    return Err("used an authentication method other than PSK".into());
                }
                let want = psk_auth(
                    prf,
                    self.conns[ci].psk.expose(),
                    real_message,
                    peer_nonce,
                    sk_p,
                    &id.body(),
                );
                if crypto::auth_eq(&want, auth) {
                    Ok(())
                } else {
                    Err("sent a wrong PSK AUTH value".into())
                }
            }
        }
    }

    pub(super) fn send_auth(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        let spi_in = self.new_child_spi();
        let sa = self.sas.get(&id).expect("present");
        let conn = &self.conns[sa.conn];
        let keys = sa.keys.as_ref().expect("keys");
        let suite = sa.suite.expect("suite");
        let Some(idi) = conn.local_id.to_payload() else {
            return;
        };
        let mut auth = self.our_auth(
            sa.conn,
            sa.rfc7427,
            suite.prf,
            &sa.init_request,
            &sa.nr,
            keys.sk_pi.expose(),
            &idi,
        );
        let auth_payload = auth.pop().expect("AUTH");
        let child = self.child_cfg(sa, 0);
        let first_contact = !self
            .sas
            .values()
            .any(|o| o.id != id && o.conn == sa.conn && o.established_at.is_some());
        let mut p = vec![Payload::IdI(idi)];
        // CERT, then CERTREQ naming our CAs (strongSwan sends its certificate
        // only when asked).
        p.extend(auth);
        if let Some(c) = self.cert_of(sa.conn) {
            p.push(Payload::Unknown {
                ptype: wire::payload_type::CERTREQ,
                critical: false,
                body: c.certreq_payload(),
            });
        }
        if first_contact {
            p.push(notify_payload(notify::INITIAL_CONTACT, vec![]));
        }
        if let Some(idr) = conn.remote_id.to_payload() {
            p.push(Payload::IdR(idr));
        }
        p.push(auth_payload);
        if child.mode == Mode::Transport {
            p.push(notify_payload(notify::USE_TRANSPORT_MODE, vec![]));
        }
        p.push(Payload::Sa(
            child
                .esp_proposals
                .iter()
                .enumerate()
                .map(|(i, e)| e.to_wire(i as u8 + 1, spi_in, false))
                .collect(),
        ));
        p.push(Payload::TsI(child.local_ts.clone()));
        p.push(Payload::TsR(child.remote_ts.clone()));
        self.send_request(now, id, exchange::IKE_AUTH, p, Req::Auth { spi_in }, out);
    }

    pub(super) fn responder_auth(
        &mut self,
        now: Instant,
        id: IkeSaId,
        m: &Msg,
        out: &mut Vec<Action>,
    ) -> Vec<Payload> {
        let sa = self.sas.get(&id).expect("present");
        let idi = m.payloads.iter().find_map(|p| match p {
            Payload::IdI(i) => Some(i.clone()),
            _ => None,
        });
        let auth = m.payloads.iter().find_map(|p| match p {
            Payload::Auth { method, data } => Some((*method, data.clone())),
            _ => None,
        });
        let (Some(idi), Some((method, auth))) = (idi, auth) else {
            return vec![notify_payload(notify::INVALID_SYNTAX, vec![])];
        };
        let suite = sa.suite.expect("suite");
        // Choose the connection by the peer's identity among those matching the addresses.
        let (local, remote) = (sa.local, sa.remote);
        let ci = if self.conns[sa.conn].remote_id.matches(&idi) {
            Some(sa.conn)
        } else {
            self.conns.iter().position(|c| {
                c.remote_id.matches(&idi)
                    && ip_matches(c.local_addr, local.ip())
                    && c.remote_addr.is_none_or(|r| r == remote.ip())
                    && c.ike_proposals.iter().any(|p| {
                        p.encr.contains(&suite.encr)
                            && p.prf.contains(&suite.prf)
                            && p.dh.contains(&suite.dh)
                    })
            })
        };
        let keys = sa.keys.as_ref().expect("keys");
        let verified = match ci {
            None => Err("matches no connection".to_string()),
            Some(ci) => self
                .check_peer_auth(
                    ci,
                    suite.prf,
                    &sa.init_request,
                    &sa.nr,
                    keys.sk_pi.expose(),
                    &idi,
                    (method, &auth),
                    m,
                )
                .map(|()| ci),
        };
        let ci = match verified {
            Ok(ci) => ci,
            Err(why) => {
                let conn_name = self.conns[ci.unwrap_or(sa.conn)].name.clone();
                out.push(Action::Event(Event::AuthenticationFailed {
                    connection: conn_name,
                    by_peer: false,
                    detail: format!("{} (ID {}) {why}", remote, id_display(&idi)),
                }));
                let sa = self.sas.get_mut(&id).expect("present");
                sa.closing = true;
                return vec![notify_payload(notify::AUTHENTICATION_FAILED, vec![])];
            }
        };
        let conn = &self.conns[ci];
        let Some(idr) = conn.local_id.to_payload() else {
            return vec![notify_payload(notify::AUTHENTICATION_FAILED, vec![])];
        };
        let my_auth = self.our_auth(
            ci,
            sa.rfc7427,
            suite.prf,
            &sa.init_response,
            &sa.ni,
            keys.sk_pr.expose(),
            &idr,
        );
        let mut resp = vec![Payload::IdR(idr)];
        resp.extend(my_auth);
        let sa = self.sas.get_mut(&id).expect("present");
        sa.conn = ci;
        sa.state = State::Established;
        sa.established_at = Some(now);
        if m.notify(notify::INITIAL_CONTACT).is_some() {
            // The peer restarted: its older IKE SAs with us are gone (RFC 7296 2.4).
            let peer_ip = sa.remote.ip();
            let stale: Vec<IkeSaId> = self
                .sas
                .values()
                .filter(|o| {
                    o.id != id
                        && o.conn == ci
                        && o.remote.ip() == peer_ip
                        && o.established_at.is_some()
                })
                .map(|o| o.id)
                .collect();
            for o in stale {
                self.remove_sa(o, CloseReason::Replaced, out);
            }
        }
        self.established_event(id, out);
        self.schedule_ike(now, id);
        // First CHILD_SA.
        match self.responder_child(now, id, m, None, None, out) {
            Ok(mut p) => resp.append(&mut p),
            Err(n) => resp.push(notify_payload(n, vec![])),
        }
        resp
    }

    pub(super) fn established_event(&mut self, id: IkeSaId, out: &mut Vec<Action>) {
        let sa = self.sas.get(&id).expect("present");
        out.push(Action::Event(Event::IkeSaEstablished {
            ike_sa: id,
            connection: self.conns[sa.conn].name.clone(),
            remote: sa.remote,
            suite: sa.suite.as_ref().map(suite_name).unwrap_or_default(),
            local_spi: sa.local_spi(),
            remote_spi: if sa.initiator { sa.spi_r } else { sa.spi_i },
            natt: sa.natt,
        }));
    }

    pub(super) fn initiator_auth_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        spi_in: u32,
        m: &Msg,
        out: &mut Vec<Action>,
    ) {
        let sa = self.sas.get(&id).expect("present");
        let conn = &self.conns[sa.conn];
        let conn_name = conn.name.clone();
        if m.notify(notify::AUTHENTICATION_FAILED).is_some() {
            out.push(Action::Event(Event::AuthenticationFailed {
                connection: conn_name,
                by_peer: true,
                detail:
                    "peer answered IKE_AUTH with AUTHENTICATION_FAILED (check PSK and identities)"
                        .into(),
            }));
            self.remove_sa(id, CloseReason::AuthenticationFailed, out);
            return;
        }
        let idr = m.payloads.iter().find_map(|p| match p {
            Payload::IdR(i) => Some(i.clone()),
            _ => None,
        });
        let auth = m.payloads.iter().find_map(|p| match p {
            Payload::Auth { method, data } => Some((*method, data.clone())),
            _ => None,
        });
        let (Some(idr), Some((method, auth))) = (idr, auth) else {
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!(
                    "IKE_AUTH failed: {}",
                    m.error_notify()
                        .map_or("response lacks IDr/AUTH".into(), notify_name)
                ),
            }));
            self.remove_sa(id, CloseReason::NegotiationFailed, out);
            return;
        };
        let suite = sa.suite.expect("suite");
        let keys = sa.keys.as_ref().expect("keys");
        let checked = if conn.remote_id.matches(&idr) {
            self.check_peer_auth(
                sa.conn,
                suite.prf,
                &sa.init_response,
                &sa.ni,
                keys.sk_pr.expose(),
                &idr,
                (method, &auth),
                m,
            )
        } else {
            Err("has an unexpected identity".into())
        };
        if let Err(why) = checked {
            out.push(Action::Event(Event::AuthenticationFailed {
                connection: conn_name,
                by_peer: false,
                detail: format!("responder {} (ID {}) {why}", sa.remote, id_display(&idr)),
            }));
            // Tell the peer (RFC 7296 2.21.2), once, without waiting for an answer.
            let sa = self.sas.get(&id).expect("present");
            let h = sa.header(exchange::INFORMATIONAL, sa.my_mid, false);
            let mut inner = Vec::new();
            let first = wire::emit_chain(
                &[notify_payload(notify::AUTHENTICATION_FAILED, vec![])],
                &mut inner,
            );
            let k = sa.my_keys().expect("keys").clone();
            let (l, r) = (sa.local, sa.remote);
            let msg = crypto::seal_message(h, first, &inner, &k, &mut *self.rng);
            self.send(l, r, &msg, out);
            self.remove_sa(id, CloseReason::AuthenticationFailed, out);
            return;
        }
        let sa = self.sas.get_mut(&id).expect("present");
        sa.state = State::Established;
        sa.established_at = Some(now);
        self.schedule_ike(now, id);
        self.established_event(id, out);
        self.initiator_child(now, id, spi_in, 0, None, None, m, out);
        // Further children of the connection: one CREATE_CHILD_SA each.
        let sa = self.sas.get_mut(&id).expect("present");
        let n = self.conns[sa.conn].children.len();
        for cfg in 1..n {
            sa.queue.push_back(Task::CreateChild(cfg));
        }
    }
}
