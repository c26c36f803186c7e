//! IKE_SA_INIT (RFC 7296 1.2): proposal choice, KE, nonces, the INVALID_KE_PAYLOAD
//! retry, cookies (2.6) and NAT detection (2.23), in both roles.

use std::net::SocketAddr;
use std::time::Instant;

use crate::cert;
use crate::config::{proposal_name, select_ike};
use crate::crypto::{self, derive_ike_keys, DhGroup, DhPrivate, IkeKeys, IkeSuite};
use crate::wire::{self, exchange, flags, notify, Header, Payload, HEADER_LEN};

use super::api::{Action, CloseReason, DropReason, Event, IkeSaId, InitiateError};
use super::msg::{ip_matches, not_offered, notify_name, notify_payload, offers_sha256, Msg};
use super::state::{Gone, IkeSa, NewIkeSa, Outstanding, Req, State};
use super::Engine;

/// The keys of a new IKE SA from the IKE_SA_INIT exchange (RFC 7296 2.14), the
/// same computation for both roles.
fn initial_ike_keys(
    suite: &IkeSuite,
    ni: &[u8],
    nr: &[u8],
    shared: &[u8],
    spi_i: u64,
    spi_r: u64,
) -> IkeKeys {
    let skeyseed = crypto::skeyseed_initial(suite.prf, ni, nr, shared);
    derive_ike_keys(suite, skeyseed.expose(), ni, nr, spi_i, spi_r)
}

impl Engine {
    /// Start an IKE SA (and its first CHILD_SA) for connection `name`.
    pub fn initiate(
        &mut self,
        now: Instant,
        name: &str,
    ) -> Result<(IkeSaId, Vec<Action>), InitiateError> {
        let ci = self
            .conns
            .find(name)
            .ok_or_else(|| InitiateError::UnknownConnection(name.into()))?;
        if let Some(sa) = self.sas.iter().find(|s| s.conn == ci && s.is_active()) {
            return Err(InitiateError::AlreadyActive(name.into(), sa.id));
        }
        let conn = self.conns.get(ci);
        let remote_ip = conn
            .remote_addr
            .ok_or_else(|| InitiateError::NoRemote(name.into()))?;
        let group = conn
            .ike_proposals
            .first()
            .and_then(|p| p.dh.first().copied())
            .ok_or_else(|| InitiateError::NoProposal(name.into()))?;
        let local = SocketAddr::new(conn.local_addr, self.cfg.ike_port);
        let remote = SocketAddr::new(remote_ip, self.cfg.ike_port);
        let spi_i = self.new_ike_spi();
        let ni = self.nonce();
        let dh = DhPrivate::generate(group, &mut *self.rng);
        let id = IkeSaId(self.alloc_id());
        let mut sa = IkeSa::new(
            NewIkeSa {
                id,
                conn: ci,
                initiator: true,
                spi_i,
                spi_r: 0,
                state: State::InitSent,
                local,
                remote,
            },
            now,
        );
        sa.ni = ni;
        sa.dh = Some(dh);
        self.sas.insert(sa);
        let mut out = Vec::new();
        // The SA was just inserted, with its DH key: nothing can be gone.
        let _ = self.send_init(now, id, &mut out);
        Ok((id, out))
    }

    /// NAT_DETECTION_SOURCE_IP data: the hash of `addr`, or random bytes when the
    /// connection fakes a NAT (`force_encap`).
    fn nat_source_hash(
        &mut self,
        force: bool,
        spi_i: u64,
        spi_r: u64,
        addr: SocketAddr,
    ) -> Vec<u8> {
        if force {
            let mut r = vec![0u8; 20];
            self.rng.fill_bytes(&mut r);
            r
        } else {
            crypto::nat_hash(spi_i, spi_r, addr)
        }
    }

    /// Send (or send again, with a cookie or another DH group) our IKE_SA_INIT request.
    fn send_init(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) -> Result<(), Gone> {
        let sa = self.sas.get(id)?;
        let (spi_i, local, remote) = (sa.spi_i, sa.local, sa.remote);
        let force = self.conns.get(sa.conn).force_encap;
        let src_hash = self.nat_source_hash(force, spi_i, 0, local);
        let sa = self.sas.get(id)?;
        let conn = self.conns.get(sa.conn);
        let dh = sa.dh.as_ref().ok_or(Gone::Keys)?;
        let mut payloads = Vec::new();
        if let Some(c) = &sa.cookie {
            payloads.push(notify_payload(notify::COOKIE, c.clone()));
        }
        payloads.push(Payload::Sa(
            conn.ike_proposals
                .iter()
                .enumerate()
                .map(|(i, p)| p.to_wire(i as u8 + 1, vec![]))
                .collect(),
        ));
        payloads.push(Payload::Ke {
            group: dh.group().id(),
            data: dh.public(),
        });
        payloads.push(Payload::Nonce(sa.ni.clone()));
        if self.cert_of(sa.conn).is_some() {
            payloads.push(notify_payload(
                notify::SIGNATURE_HASH_ALGORITHMS,
                cert::HASH_SHA2_256.to_be_bytes().to_vec(),
            ));
        }
        payloads.push(notify_payload(notify::NAT_DETECTION_SOURCE_IP, src_hash));
        payloads.push(notify_payload(
            notify::NAT_DETECTION_DESTINATION_IP,
            crypto::nat_hash(spi_i, 0, remote),
        ));
        let msg = wire::emit_plain(sa.header(exchange::IKE_SA_INIT, 0, false), &payloads);
        let timeout = self.cfg.retransmit_timeout;
        let sa = self.sas.get_mut(id)?;
        sa.init_request = msg.clone();
        sa.my_mid = 1;
        sa.outstanding = Some(Outstanding {
            mid: 0,
            msg: msg.clone(),
            tries: 0,
            next_at: now + timeout,
            timeout,
            req: Req::Init,
        });
        self.send(local, remote, &msg, out);
        Ok(())
    }

    /// An unencrypted IKE_SA_INIT response to `req`.
    fn plain_response(&self, req: &Header, spi_r: u64, payloads: &[Payload]) -> Vec<u8> {
        wire::emit_plain(
            Header {
                spi_i: req.spi_i,
                spi_r,
                next_payload: 0,
                version: wire::VERSION,
                exchange: exchange::IKE_SA_INIT,
                flags: flags::RESPONSE,
                message_id: 0,
                length: 0,
            },
            payloads,
        )
    }

    /// Answer an IKE_SA_INIT response that carries only the notify `t`.
    fn refuse_init(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        req: &Header,
        t: u16,
        data: Vec<u8>,
        out: &mut Vec<Action>,
    ) {
        let r = self.plain_response(req, 0, &[notify_payload(t, data)]);
        self.send(local, remote, &r, out);
    }

    /// Responder: an IKE_SA_INIT request (a new IKE SA, or the repetition of one).
    pub(super) fn responder_init(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        hdr: Header,
        msg: &[u8],
        out: &mut Vec<Action>,
    ) {
        if let Some(sa) = self.sas.half_open(hdr.spi_i, remote) {
            if sa.init_request == msg {
                let resp = sa.init_response.clone();
                self.stats.responses_resent += 1;
                self.send(local, remote, &resp, out);
            } else {
                self.drop_msg(DropReason::ReplayMismatch, remote, out);
            }
            return;
        }
        // A half-open SA keeps the request (AUTH signs it): its size is bounded.
        if msg.len() > self.cfg.max_init_request {
            self.drop_msg(DropReason::TooLarge, remote, out);
            return;
        }
        let Some(m) = Msg::parse(hdr, hdr.next_payload, &msg[HEADER_LEN..]) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return;
        };
        let Some(ci) = self.conns.find_by(|c| {
            ip_matches(c.local_addr, local.ip()) && c.remote_addr.is_none_or(|r| r == remote.ip())
        }) else {
            out.push(Action::note(
                None,
                format!("IKE_SA_INIT from {remote}: no connection for {local}"),
            ));
            self.refuse_init(local, remote, &hdr, notify::NO_PROPOSAL_CHOSEN, vec![], out);
            return;
        };
        let (Some(props), Some((group, ke)), Some(ni)) = (m.sa(), m.ke(), m.nonce()) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return;
        };
        // Under attack (RFC 7296 2.6, 5): a hard cap on half-open IKE SAs (beyond
        // it a request is dropped, cookie or not); cookies beyond a lower
        // threshold, or from a source address that has `half_open_per_source`
        // half-open SAs made without one; and as many again per source for
        // those made with a cookie. Spoofed requests cannot return a cookie, so
        // a flood that fakes a peer's address does not lock the real peer out.
        let (half_open, src_plain, src_cookied) = self
            .sas
            .iter()
            .filter(|s| s.state == State::HalfOpen)
            .fold((0usize, 0usize, 0usize), |(n, p, c), s| {
                let same = s.remote.ip() == remote.ip();
                (
                    n + 1,
                    p + usize::from(same && !s.admitted_with_cookie),
                    c + usize::from(same && s.admitted_with_cookie),
                )
            });
        if half_open >= self.cfg.half_open_limit {
            self.drop_msg(DropReason::HalfOpenLimit, remote, out);
            return;
        }
        if self
            .cookies
            .rotate(now, self.cfg.cookie_secret_lifetime, &mut *self.rng)
        {
            self.stats.cookie_secret_rotations += 1;
        }
        let need_cookie =
            half_open >= self.cfg.cookie_threshold || src_plain >= self.cfg.half_open_per_source;
        if need_cookie {
            let want = crypto::cookie_hash(ni, remote.ip(), hdr.spi_i, self.cookies.current());
            let given = match m.payloads.first() {
                Some(Payload::Notify(n)) if n.ntype == notify::COOKIE => Some(&n.data),
                _ => None,
            };
            let ok = given.is_some_and(|g| {
                crypto::auth_eq(g, &want)
                    || self.cookies.previous().is_some_and(|p| {
                        crypto::auth_eq(g, &crypto::cookie_hash(ni, remote.ip(), hdr.spi_i, p))
                    })
            });
            if !ok {
                self.stats.cookies_sent += 1;
                out.push(Action::Event(Event::CookieDemanded {
                    remote,
                    invalid: given.is_some(),
                }));
                self.refuse_init(local, remote, &hdr, notify::COOKIE, want, out);
                return;
            }
            if src_cookied >= self.cfg.half_open_per_source {
                self.drop_msg(DropReason::SourceLimit, remote, out);
                return;
            }
        }
        let conn = self.conns.get(ci);
        let (suite, chosen) = match select_ike(props, &conn.ike_proposals) {
            Ok(x) => x,
            Err(mm) => {
                out.push(Action::proposal_mismatch(&conn.name, "IKE", mm));
                self.refuse_init(local, remote, &hdr, notify::NO_PROPOSAL_CHOSEN, vec![], out);
                return;
            }
        };
        if group != suite.dh.id() {
            out.push(Action::note(
                None,
                format!(
                    "IKE_SA_INIT from {remote}: KE for group {group}, selected {}; asking for INVALID_KE_PAYLOAD retry",
                    suite.dh.id()
                ),
            ));
            let want = suite.dh.id().to_be_bytes().to_vec();
            self.refuse_init(local, remote, &hdr, notify::INVALID_KE_PAYLOAD, want, out);
            return;
        }
        let force = conn.force_encap;
        let dh = DhPrivate::generate(suite.dh, &mut *self.rng);
        let shared = match dh.agree(ke) {
            Ok(s) => s,
            Err(e) => {
                out.push(Action::note(
                    None,
                    format!("IKE_SA_INIT from {remote}: {e}"),
                ));
                self.refuse_init(local, remote, &hdr, notify::INVALID_SYNTAX, vec![], out);
                return;
            }
        };
        let spi_r = self.new_ike_spi();
        let nr = self.nonce();
        // NAT detection on the request (SPIr zero there).
        let remote_nat = !m
            .notifies(notify::NAT_DETECTION_SOURCE_IP)
            .any(|n| n.data == crypto::nat_hash(hdr.spi_i, 0, remote));
        let local_nat = m
            .notify(notify::NAT_DETECTION_DESTINATION_IP)
            .is_some_and(|n| n.data != crypto::nat_hash(hdr.spi_i, 0, local));
        let has_natd = m.notify(notify::NAT_DETECTION_SOURCE_IP).is_some();
        let mut resp = vec![
            Payload::Sa(vec![chosen]),
            Payload::Ke {
                group: suite.dh.id(),
                data: dh.public(),
            },
            Payload::Nonce(nr.clone()),
        ];
        let mut rfc7427 = false;
        if let Some(c) = self.cert_of(ci) {
            resp.push(Payload::Unknown {
                ptype: wire::payload_type::CERTREQ,
                critical: false,
                body: c.certreq_payload(),
            });
            if m.notifies(notify::SIGNATURE_HASH_ALGORITHMS)
                .any(offers_sha256)
            {
                rfc7427 = true;
                resp.push(notify_payload(
                    notify::SIGNATURE_HASH_ALGORITHMS,
                    cert::HASH_SHA2_256.to_be_bytes().to_vec(),
                ));
            }
        }
        if has_natd {
            let src = self.nat_source_hash(force, hdr.spi_i, spi_r, local);
            resp.push(notify_payload(notify::NAT_DETECTION_SOURCE_IP, src));
            resp.push(notify_payload(
                notify::NAT_DETECTION_DESTINATION_IP,
                crypto::nat_hash(hdr.spi_i, spi_r, remote),
            ));
        }
        let bytes = self.plain_response(&hdr, spi_r, &resp);
        let keys = initial_ike_keys(&suite, ni, &nr, shared.expose(), hdr.spi_i, spi_r);
        let id = IkeSaId(self.alloc_id());
        let mut sa = IkeSa::new(
            NewIkeSa {
                id,
                conn: ci,
                initiator: false,
                spi_i: hdr.spi_i,
                spi_r,
                state: State::HalfOpen,
                local,
                remote,
            },
            now,
        );
        sa.natt = has_natd && (remote_nat || local_nat || force);
        sa.behind_nat = has_natd && local_nat;
        sa.peer_behind_nat = has_natd && remote_nat;
        sa.rfc7427 = rfc7427;
        sa.admitted_with_cookie = need_cookie;
        sa.suite = Some(suite);
        sa.keys = Some(keys);
        sa.ni = ni.to_vec();
        sa.nr = nr;
        sa.init_request = msg.to_vec();
        sa.init_response = bytes.clone();
        sa.peer_mid = 1;
        self.sas.insert(sa);
        if remote_nat || local_nat {
            out.push(Action::note(
                id,
                format!(
                    "NAT detected ({}{})",
                    if local_nat { "local " } else { "" },
                    if remote_nat { "remote" } else { "" }
                ),
            ));
        }
        self.send(local, remote, &bytes, out);
    }

    /// Initiator: the IKE_SA_INIT response (keys, NAT detection, then IKE_AUTH),
    /// or a cookie or INVALID_KE_PAYLOAD to retry with, or a refusal.
    pub(super) fn initiator_init_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        remote: SocketAddr,
        hdr: Header,
        msg: &[u8],
        out: &mut Vec<Action>,
    ) -> Result<(), Gone> {
        let Some(m) = Msg::parse(hdr, hdr.next_payload, &msg[HEADER_LEN..]) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return Ok(());
        };
        let sa = self.sas.get_mut(id)?;
        let conn = self.conns.get(sa.conn);
        let conn_name = conn.name.clone();
        if let Some(c) = m.notify(notify::COOKIE) {
            if sa.cookie.is_none() && !c.data.is_empty() && c.data.len() <= 64 {
                sa.cookie = Some(c.data.clone());
                sa.outstanding = None;
                self.send_init(now, id, out)?;
            } else {
                self.drop_msg(DropReason::WrongState, remote, out);
            }
            return Ok(());
        }
        if let Some(n) = m.notify(notify::INVALID_KE_PAYLOAD) {
            let want = (n.data.len() == 2).then(|| u16::from_be_bytes([n.data[0], n.data[1]]));
            let group = want
                .and_then(DhGroup::from_id)
                .filter(|g| conn.ike_proposals.iter().any(|p| p.dh.contains(g)));
            let current = sa.dh.as_ref().map(|d| d.group());
            match group {
                Some(g) if Some(g) != current => {
                    out.push(Action::note(
                        id,
                        format!("peer asks for DH group {}; retrying", g.id()),
                    ));
                    sa.dh = Some(DhPrivate::generate(g, &mut *self.rng));
                    sa.outstanding = None;
                    self.send_init(now, id, out)?;
                }
                _ => {
                    out.push(Action::proposal_mismatch(
                        &conn_name,
                        "IKE",
                        format!("peer wants DH group {want:?}, which we do not offer"),
                    ));
                    self.remove_sa(id, CloseReason::NegotiationFailed, out);
                }
            }
            return Ok(());
        }
        if let Some(e) = m.error_notify() {
            if e == notify::NO_PROPOSAL_CHOSEN {
                let ours: Vec<String> = conn
                    .ike_proposals
                    .iter()
                    .enumerate()
                    .map(|(i, p)| proposal_name(&p.to_wire(i as u8 + 1, vec![])))
                    .collect();
                out.push(Action::proposal_mismatch(
                    &conn_name,
                    "IKE",
                    format!(
                        "peer answered NO_PROPOSAL_CHOSEN to our offer [{}]",
                        ours.join(", ")
                    ),
                ));
            } else {
                out.push(Action::note(
                    id,
                    format!("IKE_SA_INIT failed: peer sent {}", notify_name(e)),
                ));
            }
            self.remove_sa(id, CloseReason::NegotiationFailed, out);
            return Ok(());
        }
        let (Some(props), Some((group, ke)), Some(nr)) = (m.sa(), m.ke(), m.nonce()) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return Ok(());
        };
        // The answer must be one proposal we offered.
        let suite = match select_ike(props, &conn.ike_proposals) {
            Ok((s, _)) if props.len() == 1 && hdr.spi_r != 0 => s,
            _ => {
                out.push(Action::proposal_mismatch(
                    &conn_name,
                    "IKE",
                    not_offered(props),
                ));
                self.remove_sa(id, CloseReason::NegotiationFailed, out);
                return Ok(());
            }
        };
        let Some(dh) = sa
            .dh
            .as_ref()
            .filter(|d| group == suite.dh.id() && d.group() == suite.dh)
        else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return Ok(());
        };
        let Ok(shared) = dh.agree(ke) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return Ok(());
        };
        let force = conn.force_encap;
        let uses_certs = self.cert_auth.contains_key(&conn.name);
        sa.spi_r = hdr.spi_r;
        sa.nr = nr.to_vec();
        sa.suite = Some(suite);
        sa.dh = None;
        sa.keys = Some(initial_ike_keys(
            &suite,
            &sa.ni,
            nr,
            shared.expose(),
            sa.spi_i,
            sa.spi_r,
        ));
        sa.init_response = msg.to_vec();
        sa.outstanding = None;
        sa.last_heard = now;
        let has_natd = m.notify(notify::NAT_DETECTION_SOURCE_IP).is_some();
        let remote_nat = has_natd
            && !m
                .notifies(notify::NAT_DETECTION_SOURCE_IP)
                .any(|n| n.data == crypto::nat_hash(sa.spi_i, sa.spi_r, sa.remote));
        let local_nat = m
            .notify(notify::NAT_DETECTION_DESTINATION_IP)
            .is_some_and(|n| n.data != crypto::nat_hash(sa.spi_i, sa.spi_r, sa.local));
        sa.behind_nat = has_natd && local_nat;
        sa.peer_behind_nat = remote_nat;
        sa.rfc7427 = uses_certs
            && m.notifies(notify::SIGNATURE_HASH_ALGORITHMS)
                .any(offers_sha256);
        if has_natd && (remote_nat || local_nat || force) {
            sa.natt = true;
            sa.local.set_port(self.cfg.natt_port);
            sa.remote.set_port(self.cfg.natt_port);
            out.push(Action::note(
                id,
                format!(
                    "NAT detected (local {local_nat}, remote {remote_nat}, forced {force}); moving to port {}",
                    self.cfg.natt_port
                ),
            ));
        }
        sa.state = State::AuthSent;
        self.send_auth(now, id, out)
    }
}
