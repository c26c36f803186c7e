//! IKE_SA_INIT (RFC 7296 1.2): both roles.

use super::*;

impl Engine {
    // ----------------------------------------------------------------- initiate

    /// Start an IKE SA (and its first CHILD_SA) for connection `name`.
    pub fn initiate(
        &mut self,
        now: Instant,
        name: &str,
    ) -> Result<(IkeSaId, Vec<Action>), InitiateError> {
        let ci = self
            .conns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| InitiateError::UnknownConnection(name.into()))?;
        if let Some(sa) = self.sas.values().find(|s| s.conn == ci && s.is_active()) {
            return Err(InitiateError::AlreadyActive(name.into(), sa.id));
        }
        let conn = &self.conns[ci];
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
        let sa = IkeSa {
            id,
            conn: ci,
            initiator: true,
            spi_i,
            spi_r: 0,
            state: State::InitSent,
            local,
            remote,
            natt: false,
            suite: None,
            keys: None,
            ni,
            nr: vec![],
            dh: Some(dh),
            init_request: vec![],
            init_response: vec![],
            cookie: None,
            my_mid: 0,
            outstanding: None,
            peer_mid: 0,
            last_exchange: None,
            queue: VecDeque::new(),
            children: vec![],
            created: now,
            established_at: None,
            last_heard: now,
            rekey_at: None,
            linger: vec![],
            closing: false,
            expire_at: None,
            behind_nat: false,
            peer_behind_nat: false,
            rfc7427: false,
            last_keepalive: now,
            successor: None,
        };
        self.by_spi.insert(spi_i, id);
        self.sas.insert(id, sa);
        let mut out = Vec::new();
        self.send_init(now, id, &mut out);
        Ok((id, out))
    }

    pub(super) fn send_init(&mut self, now: Instant, id: IkeSaId, out: &mut Vec<Action>) {
        let Some(sa) = self.sas.get(&id) else { return };
        let conn = &self.conns[sa.conn];
        let dh = sa
            .dh
            .as_ref()
            .expect("initiator has a DH key before IKE_SA_INIT");
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
        let src_hash = if conn.force_encap {
            let mut r = vec![0u8; 20];
            self.rng.fill_bytes(&mut r);
            r
        } else {
            crypto::nat_hash(sa.spi_i, 0, sa.local)
        };
        payloads.push(notify_payload(notify::NAT_DETECTION_SOURCE_IP, src_hash));
        payloads.push(notify_payload(
            notify::NAT_DETECTION_DESTINATION_IP,
            crypto::nat_hash(sa.spi_i, 0, sa.remote),
        ));
        let msg = wire::emit_plain(sa.header(exchange::IKE_SA_INIT, 0, false), &payloads);
        let (local, remote) = (sa.local, sa.remote);
        let timeout = self.cfg.retransmit_timeout;
        let sa = self.sas.get_mut(&id).expect("present");
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
    }

    // ------------------------------------------------------- IKE_SA_INIT (responder)

    pub(super) fn plain_response(&self, req: &Header, spi_r: u64, payloads: &[Payload]) -> Vec<u8> {
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

    #[allow(clippy::too_many_arguments)]
    pub(super) fn responder_init(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        hdr: Header,
        msg: &[u8],
        out: &mut Vec<Action>,
    ) {
        if let Some(&id) = self.half_open.get(&(hdr.spi_i, remote)) {
            if let Some(sa) = self.sas.get(&id) {
                if sa.init_request == msg {
                    let resp = sa.init_response.clone();
                    self.stats.responses_resent += 1;
                    self.send(local, remote, &resp, out);
                } else {
                    self.drop_msg(DropReason::ReplayMismatch, remote, out);
                }
                return;
            }
        }
        let chain = match wire::parse_chain(hdr.next_payload, &msg[HEADER_LEN..]) {
            Ok(c) if c.sk.is_none() => c,
            _ => {
                self.drop_msg(DropReason::Malformed, remote, out);
                return;
            }
        };
        let m = Msg {
            hdr,
            payloads: chain.payloads,
        };
        let Some(ci) = self.conns.iter().position(|c| {
            ip_matches(c.local_addr, local.ip()) && c.remote_addr.is_none_or(|r| r == remote.ip())
        }) else {
            out.push(Action::Event(Event::Note {
                ike_sa: None,
                text: format!("IKE_SA_INIT from {remote}: no connection for {local}"),
            }));
            let r = self.plain_response(
                &hdr,
                0,
                &[notify_payload(notify::NO_PROPOSAL_CHOSEN, vec![])],
            );
            self.send(local, remote, &r, out);
            return;
        };
        let (Some(props), Some((group, ke)), Some(ni)) = (m.sa(), m.ke(), m.nonce()) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return;
        };
        // Cookies (RFC 7296 2.6).
        let half_open = self
            .sas
            .values()
            .filter(|s| s.state == State::HalfOpen)
            .count();
        if half_open >= self.cfg.cookie_threshold {
            let want = crypto::cookie_hash(ni, remote.ip(), hdr.spi_i, &self.cookie_secret);
            let ok = matches!(m.payloads.first(), Some(Payload::Notify(n)) if n.ntype == notify::COOKIE && crypto::auth_eq(&n.data, &want));
            if !ok {
                self.stats.cookies_sent += 1;
                let r = self.plain_response(&hdr, 0, &[notify_payload(notify::COOKIE, want)]);
                self.send(local, remote, &r, out);
                return;
            }
        }
        let conn_name = self.conns[ci].name.clone();
        let (suite, chosen) = match select_ike(props, &self.conns[ci].ike_proposals) {
            Ok(x) => x,
            Err(mm) => {
                out.push(Action::Event(Event::ProposalMismatch {
                    connection: conn_name,
                    what: "IKE",
                    detail: mm.to_string(),
                }));
                let r = self.plain_response(
                    &hdr,
                    0,
                    &[notify_payload(notify::NO_PROPOSAL_CHOSEN, vec![])],
                );
                self.send(local, remote, &r, out);
                return;
            }
        };
        if group != suite.dh.id() {
            out.push(Action::Event(Event::Note {
                ike_sa: None,
                text: format!(
                    "IKE_SA_INIT from {remote}: KE for group {group}, selected {}; asking for INVALID_KE_PAYLOAD retry",
                    suite.dh.id()
                ),
            }));
            let r = self.plain_response(
                &hdr,
                0,
                &[notify_payload(
                    notify::INVALID_KE_PAYLOAD,
                    suite.dh.id().to_be_bytes().to_vec(),
                )],
            );
            self.send(local, remote, &r, out);
            return;
        }
        let dh = DhPrivate::generate(suite.dh, &mut *self.rng);
        let shared = match dh.agree(ke) {
            Ok(s) => s,
            Err(e) => {
                out.push(Action::Event(Event::Note {
                    ike_sa: None,
                    text: format!("IKE_SA_INIT from {remote}: {e}"),
                }));
                let r =
                    self.plain_response(&hdr, 0, &[notify_payload(notify::INVALID_SYNTAX, vec![])]);
                self.send(local, remote, &r, out);
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
        let force = self.conns[ci].force_encap;
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
            let src = if force {
                let mut r = vec![0u8; 20];
                self.rng.fill_bytes(&mut r);
                r
            } else {
                crypto::nat_hash(hdr.spi_i, spi_r, local)
            };
            resp.push(notify_payload(notify::NAT_DETECTION_SOURCE_IP, src));
            resp.push(notify_payload(
                notify::NAT_DETECTION_DESTINATION_IP,
                crypto::nat_hash(hdr.spi_i, spi_r, remote),
            ));
        }
        let bytes = self.plain_response(&hdr, spi_r, &resp);
        let skeyseed = crypto::skeyseed_initial(suite.prf, ni, &nr, shared.expose());
        let keys = derive_ike_keys(&suite, skeyseed.expose(), ni, &nr, hdr.spi_i, spi_r);
        let id = IkeSaId(self.alloc_id());
        let sa = IkeSa {
            id,
            conn: ci,
            initiator: false,
            spi_i: hdr.spi_i,
            spi_r,
            state: State::HalfOpen,
            local,
            remote,
            natt: has_natd && (remote_nat || local_nat || force),
            behind_nat: has_natd && local_nat,
            peer_behind_nat: has_natd && remote_nat,
            rfc7427,
            successor: None,
            suite: Some(suite),
            keys: Some(keys),
            ni: ni.to_vec(),
            nr,
            dh: None,
            init_request: msg.to_vec(),
            init_response: bytes.clone(),
            cookie: None,
            my_mid: 0,
            outstanding: None,
            peer_mid: 1,
            last_exchange: None,
            queue: VecDeque::new(),
            children: vec![],
            created: now,
            established_at: None,
            last_heard: now,
            rekey_at: None,
            linger: vec![],
            closing: false,
            expire_at: None,
            last_keepalive: now,
        };
        self.by_spi.insert(spi_r, id);
        self.half_open.insert((hdr.spi_i, remote), id);
        self.sas.insert(id, sa);
        if remote_nat || local_nat {
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!(
                    "NAT detected ({}{})",
                    if local_nat { "local " } else { "" },
                    if remote_nat { "remote" } else { "" }
                ),
            }));
        }
        self.send(local, remote, &bytes, out);
    }

    // ------------------------------------------------------- IKE_SA_INIT (initiator)

    #[allow(clippy::too_many_arguments)]
    pub(super) fn initiator_init_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        _local: SocketAddr,
        remote: SocketAddr,
        hdr: Header,
        msg: &[u8],
        out: &mut Vec<Action>,
    ) {
        let chain = match wire::parse_chain(hdr.next_payload, &msg[HEADER_LEN..]) {
            Ok(c) if c.sk.is_none() => c,
            _ => {
                self.drop_msg(DropReason::Malformed, remote, out);
                return;
            }
        };
        let m = Msg {
            hdr,
            payloads: chain.payloads,
        };
        let sa = self.sas.get_mut(&id).expect("present");
        let conn = &self.conns[sa.conn];
        let conn_name = conn.name.clone();
        if let Some(c) = m.notify(notify::COOKIE) {
            if sa.cookie.is_none() && !c.data.is_empty() && c.data.len() <= 64 {
                sa.cookie = Some(c.data.clone());
                sa.outstanding = None;
                self.send_init(now, id, out);
            } else {
                self.drop_msg(DropReason::WrongState, remote, out);
            }
            return;
        }
        if let Some(n) = m.notify(notify::INVALID_KE_PAYLOAD) {
            let want = (n.data.len() == 2).then(|| u16::from_be_bytes([n.data[0], n.data[1]]));
            let group = want
                .and_then(DhGroup::from_id)
                .filter(|g| conn.ike_proposals.iter().any(|p| p.dh.contains(g)));
            let current = sa.dh.as_ref().map(|d| d.group());
            match group {
                Some(g) if Some(g) != current => {
                    out.push(Action::Event(Event::Note {
                        ike_sa: Some(id),
                        text: format!("peer asks for DH group {}; retrying", g.id()),
                    }));
                    sa.dh = Some(DhPrivate::generate(g, &mut *self.rng));
                    sa.outstanding = None;
                    self.send_init(now, id, out);
                }
                _ => {
                    out.push(Action::Event(Event::ProposalMismatch {
                        connection: conn_name,
                        what: "IKE",
                        detail: format!("peer wants DH group {want:?}, which we do not offer"),
                    }));
                    self.remove_sa(id, CloseReason::NegotiationFailed, out);
                }
            }
            return;
        }
        if let Some(e) = m.error_notify() {
            if e == notify::NO_PROPOSAL_CHOSEN {
                let ours: Vec<String> = conn
                    .ike_proposals
                    .iter()
                    .enumerate()
                    .map(|(i, p)| proposal_name(&p.to_wire(i as u8 + 1, vec![])))
                    .collect();
                out.push(Action::Event(Event::ProposalMismatch {
                    connection: conn_name,
                    what: "IKE",
                    detail: format!(
                        "peer answered NO_PROPOSAL_CHOSEN to our offer [{}]",
                        ours.join(", ")
                    ),
                }));
            } else {
                out.push(Action::Event(Event::Note {
                    ike_sa: Some(id),
                    text: format!("IKE_SA_INIT failed: peer sent {}", notify_name(e)),
                }));
            }
            self.remove_sa(id, CloseReason::NegotiationFailed, out);
            return;
        }
        let (Some(props), Some((group, ke)), Some(nr)) = (m.sa(), m.ke(), m.nonce()) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return;
        };
        // The answer must be one proposal we offered.
        let suite = match select_ike(props, &conn.ike_proposals) {
            Ok((s, _)) if props.len() == 1 && hdr.spi_r != 0 => s,
            _ => {
                out.push(Action::Event(Event::ProposalMismatch {
                    connection: conn_name,
                    what: "IKE",
                    detail: format!(
                        "peer chose [{}], which we did not offer",
                        props
                            .iter()
                            .map(proposal_name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }));
                self.remove_sa(id, CloseReason::NegotiationFailed, out);
                return;
            }
        };
        let dh = sa.dh.as_ref().expect("initiator DH");
        if group != suite.dh.id() || dh.group() != suite.dh {
            self.drop_msg(DropReason::Malformed, remote, out);
            return;
        }
        let shared = match dh.agree(ke) {
            Ok(s) => s,
            Err(_) => {
                self.drop_msg(DropReason::Malformed, remote, out);
                return;
            }
        };
        let force = conn.force_encap;
        sa.spi_r = hdr.spi_r;
        sa.nr = nr.to_vec();
        sa.suite = Some(suite);
        sa.dh = None;
        let skeyseed = crypto::skeyseed_initial(suite.prf, &sa.ni, nr, shared.expose());
        sa.keys = Some(derive_ike_keys(
            &suite,
            skeyseed.expose(),
            &sa.ni,
            nr,
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
        sa.rfc7427 = self.cert_auth.contains_key(&conn.name)
            && m.notifies(notify::SIGNATURE_HASH_ALGORITHMS)
                .any(offers_sha256);
        if has_natd && (remote_nat || local_nat || force) {
            sa.natt = true;
            sa.local.set_port(self.cfg.natt_port);
            sa.remote.set_port(self.cfg.natt_port);
            out.push(Action::Event(Event::Note {
                ike_sa: Some(id),
                text: format!(
                    "NAT detected (local {local_nat}, remote {remote_nat}, forced {force}); moving to port {}",
                    self.cfg.natt_port
                ),
            }));
        }
        sa.state = State::AuthSent;
        self.send_auth(now, id, out);
    }
}
