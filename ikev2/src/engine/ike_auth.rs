//! IKE_AUTH (RFC 7296 1.2, 2.15): identities, AUTH with a PSK or certificates,
//! INITIAL_CONTACT (2.4), and the first CHILD_SA, in both roles.

use std::time::Instant;

use crate::config::{id_display, Mode};
use crate::crypto::{self, psk_auth, Prf};
use crate::wire::{self, exchange, notify, IdPayload, Payload};

use super::api::{established_event, Action, CloseReason, Event, IkeSaId};
use super::msg::{ip_matches, notify_name, notify_payload, Incoming, Msg};
use super::state::{ConnId, Gone, Req, State, Task};
use super::Engine;

/// What an AUTH payload signs (RFC 7296 2.15): the IKE_SA_INIT message of its
/// sender, the other side's nonce, the sender's SK_p and its ID payload.
pub(super) struct Signed<'a> {
    pub(super) prf: Prf,
    pub(super) real_message: &'a [u8],
    pub(super) peer_nonce: &'a [u8],
    pub(super) sk_p: &'a [u8],
    pub(super) id: &'a IdPayload,
}

impl Engine {
    /// Our AUTH payload for connection `ci` (PSK, or an ECDSA signature when the
    /// connection uses certificates, then with our CERT payload to go before it).
    fn our_auth(&self, ci: ConnId, rfc7427: bool, s: &Signed) -> (Option<Payload>, Payload) {
        match self.cert_of(ci) {
            Some(c) => {
                let (method, data) = c.sign(
                    &crypto::signed_octets(
                        s.prf,
                        s.real_message,
                        s.peer_nonce,
                        s.sk_p,
                        &s.id.body(),
                    ),
                    rfc7427,
                );
                let cert = Payload::Unknown {
                    ptype: wire::payload_type::CERT,
                    critical: false,
                    body: c.cert_payload(),
                };
                (Some(cert), Payload::Auth { method, data })
            }
            None => (
                None,
                Payload::Auth {
                    method: 2,
                    data: self.psk_auth(ci, s),
                },
            ),
        }
    }

    /// The PSK AUTH value of connection `ci`.
    fn psk_auth(&self, ci: ConnId, s: &Signed) -> Vec<u8> {
        psk_auth(
            s.prf,
            self.conns.get(ci).psk.expose(),
            s.real_message,
            s.peer_nonce,
            s.sk_p,
            &s.id.body(),
        )
    }

    /// Check the peer's AUTH for connection `ci`; the error explains the failure.
    fn check_peer_auth(
        &self,
        ci: ConnId,
        s: &Signed,
        (method, auth): (u8, &[u8]),
        m: &Msg,
    ) -> Result<(), String> {
        match self.cert_of(ci) {
            Some(c) => {
                let Some(cert) = m.cert() else {
                    return Err("sent no certificate".into());
                };
                let octets = crypto::signed_octets(
                    s.prf,
                    s.real_message,
                    s.peer_nonce,
                    s.sk_p,
                    &s.id.body(),
                );
                c.verify_peer(cert, s.id, &octets, (method, auth))
            }
            None if method != 2 => Err("used an authentication method other than PSK".into()),
            None if crypto::auth_eq(&self.psk_auth(ci, s), auth) => Ok(()),
            None => Err("sent a wrong PSK AUTH value".into()),
        }
    }

    /// Initiator: send IKE_AUTH with the first CHILD_SA of the connection.
    pub(super) fn send_auth(
        &mut self,
        now: Instant,
        id: IkeSaId,
        out: &mut Vec<Action>,
    ) -> Result<(), Gone> {
        let spi_in = self.new_child_spi();
        let sa = self.sas.get(id)?;
        let conn = self.conns.get(sa.conn);
        let (suite, keys) = sa.keyed()?;
        let Some(idi) = conn.local_id.to_payload() else {
            return Ok(());
        };
        let signed = Signed {
            prf: suite.prf,
            real_message: &sa.init_request,
            peer_nonce: &sa.nr,
            sk_p: keys.sk_pi.expose(),
            id: &idi,
        };
        let (cert, auth_payload) = self.our_auth(sa.conn, sa.rfc7427, &signed);
        let child = self.conns.child(sa.conn, 0)?;
        let first_contact = !self
            .sas
            .iter()
            .any(|o| o.id != id && o.conn == sa.conn && o.established_at.is_some());
        let mut p = vec![Payload::IdI(idi.clone())];
        // CERT, then CERTREQ naming our CAs (strongSwan sends its certificate
        // only when asked).
        p.extend(cert);
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
        self.send_request(now, id, exchange::IKE_AUTH, p, Req::Auth { spi_in }, out)
    }

    /// Responder: the initiator's IKE_AUTH request; returns our response.
    pub(super) fn responder_auth(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
    ) -> Result<Vec<Payload>, Gone> {
        let sa = self.sas.get(id)?;
        let (Some(idi), Some(auth)) = (m.id_i(), m.auth()) else {
            return Ok(vec![notify_payload(notify::INVALID_SYNTAX, vec![])]);
        };
        let (suite, keys) = sa.keyed()?;
        // Choose the connection by the peer's identity among those matching the addresses.
        let (local, remote) = (sa.local, sa.remote);
        let ci =
            if !self.conns.is_removed(sa.conn) && self.conns.get(sa.conn).remote_id.matches(idi) {
                Some(sa.conn)
            } else {
                self.conns.find_by(|c| {
                    c.remote_id.matches(idi)
                        && ip_matches(c.local_addr, local.ip())
                        && c.remote_addr.is_none_or(|r| r == remote.ip())
                        && c.ike_proposals.iter().any(|p| {
                            p.encr.contains(&suite.encr)
                                && p.prf.contains(&suite.prf)
                                && p.dh.contains(&suite.dh)
                        })
                })
            };
        let theirs = Signed {
            prf: suite.prf,
            real_message: &sa.init_request,
            peer_nonce: &sa.nr,
            sk_p: keys.sk_pi.expose(),
            id: idi,
        };
        let verified = match ci {
            None => Err("matches no connection".to_string()),
            Some(ci) => self.check_peer_auth(ci, &theirs, auth, m).map(|()| ci),
        };
        let ci = match verified {
            Ok(ci) => ci,
            Err(why) => {
                out.push(Action::Event(Event::AuthenticationFailed {
                    connection: self.conns.get(ci.unwrap_or(sa.conn)).name.clone(),
                    by_peer: false,
                    detail: format!("{} (ID {}) {why}", remote, id_display(idi)),
                }));
                self.sas.get_mut(id)?.closing = true;
                return Ok(vec![notify_payload(notify::AUTHENTICATION_FAILED, vec![])]);
            }
        };
        let Some(idr) = self.conns.get(ci).local_id.to_payload() else {
            return Ok(vec![notify_payload(notify::AUTHENTICATION_FAILED, vec![])]);
        };
        let ours = Signed {
            prf: suite.prf,
            real_message: &sa.init_response,
            peer_nonce: &sa.ni,
            sk_p: keys.sk_pr.expose(),
            id: &idr,
        };
        let (cert, my_auth) = self.our_auth(ci, sa.rfc7427, &ours);
        let mut resp = vec![Payload::IdR(idr.clone())];
        resp.extend(cert);
        resp.push(my_auth);
        let sa = self.sas.get_mut(id)?;
        sa.conn = ci;
        sa.state = State::Established;
        sa.established_at = Some(now);
        if m.notify(notify::INITIAL_CONTACT).is_some() {
            // The peer restarted: its older IKE SAs with us are gone (RFC 7296 2.4).
            let peer_ip = sa.remote.ip();
            let stale: Vec<IkeSaId> = self
                .sas
                .iter()
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
        out.push(established_event(self.sas.get(id)?, &self.conns));
        self.schedule_ike(now, id)?;
        // First CHILD_SA.
        match self.responder_child(Incoming { now, id, m, out }, None, None)? {
            Ok(mut p) => resp.append(&mut p),
            Err(n) => resp.push(notify_payload(n, vec![])),
        }
        Ok(resp)
    }

    /// Initiator: the responder's IKE_AUTH response.
    pub(super) fn initiator_auth_response(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
        spi_in: u32,
    ) -> Result<(), Gone> {
        let sa = self.sas.get(id)?;
        let conn = self.conns.get(sa.conn);
        if m.notify(notify::AUTHENTICATION_FAILED).is_some() {
            out.push(Action::Event(Event::AuthenticationFailed {
                connection: conn.name.clone(),
                by_peer: true,
                detail:
                    "peer answered IKE_AUTH with AUTHENTICATION_FAILED (check PSK and identities)"
                        .into(),
            }));
            self.remove_sa(id, CloseReason::AuthenticationFailed, out);
            return Ok(());
        }
        let (Some(idr), Some(auth)) = (m.id_r(), m.auth()) else {
            out.push(Action::note(
                id,
                format!(
                    "IKE_AUTH failed: {}",
                    m.error_notify()
                        .map_or("response lacks IDr/AUTH".into(), notify_name)
                ),
            ));
            self.remove_sa(id, CloseReason::NegotiationFailed, out);
            return Ok(());
        };
        let (suite, keys) = sa.keyed()?;
        let checked = if conn.remote_id.matches(idr) {
            let theirs = Signed {
                prf: suite.prf,
                real_message: &sa.init_response,
                peer_nonce: &sa.ni,
                sk_p: keys.sk_pr.expose(),
                id: idr,
            };
            self.check_peer_auth(sa.conn, &theirs, auth, m)
        } else {
            Err("has an unexpected identity".into())
        };
        if let Err(why) = checked {
            out.push(Action::Event(Event::AuthenticationFailed {
                connection: conn.name.clone(),
                by_peer: false,
                detail: format!("responder {} (ID {}) {why}", sa.remote, id_display(idr)),
            }));
            // Tell the peer (RFC 7296 2.21.2), once, without waiting for an answer.
            let mid = sa.my_mid;
            let failed = [notify_payload(notify::AUTHENTICATION_FAILED, vec![])];
            let (msg, l, r) = self.seal(id, exchange::INFORMATIONAL, mid, false, &failed)?;
            self.send(l, r, &msg, out);
            self.remove_sa(id, CloseReason::AuthenticationFailed, out);
            return Ok(());
        }
        let sa = self.sas.get_mut(id)?;
        sa.state = State::Established;
        sa.established_at = Some(now);
        self.schedule_ike(now, id)?;
        out.push(established_event(self.sas.get(id)?, &self.conns));
        self.initiator_child(Incoming { now, id, m, out }, spi_in, 0, None, None)?;
        // Further children of the connection: one CREATE_CHILD_SA each.
        let sa = self.sas.get_mut(id)?;
        let n = self.conns.get(sa.conn).children.len();
        for cfg in 1..n {
            sa.queue.push_back(Task::CreateChild(cfg));
        }
        Ok(())
    }
}
