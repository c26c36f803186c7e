//! Datagram input, the message-ID window and dispatch to the exchanges.

use super::*;

impl Engine {
    // ----------------------------------------------------------------- input

    /// Handle one UDP datagram received on `local` from `remote`. `local` must be
    /// the real local address (not the wildcard) and port; on the NAT-T port the
    /// datagram still carries its non-ESP marker.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let msg = if local.port() == self.cfg.natt_port {
            if data == [0xff] {
                // NAT keepalive (RFC 3948 2.3): nothing to do.
                return out;
            }
            if data.len() < 4 || data[..4] != [0, 0, 0, 0] {
                self.drop_msg(DropReason::NotIke, remote, &mut out);
                return out;
            }
            &data[4..]
        } else {
            data
        };
        let hdr = match Header::parse(msg) {
            Ok(h) => h,
            Err(_) => {
                self.drop_msg(DropReason::Malformed, remote, &mut out);
                return out;
            }
        };
        let msg = &msg[..hdr.length as usize];
        if hdr.exchange == exchange::IKE_SA_INIT && !hdr.is_response() && hdr.spi_r == 0 {
            if hdr.from_initiator() && hdr.message_id == 0 {
                self.responder_init(now, local, remote, hdr, msg, &mut out);
            } else {
                self.drop_msg(DropReason::Malformed, remote, &mut out);
            }
            return out;
        }
        let my_spi = if hdr.from_initiator() {
            hdr.spi_r
        } else {
            hdr.spi_i
        };
        let Some(&id) = self.by_spi.get(&my_spi) else {
            self.drop_msg(DropReason::UnknownSpi, remote, &mut out);
            return out;
        };
        let sa = self.sas.get(&id).expect("index consistent");
        // The I flag must name the other side.
        if hdr.from_initiator() == sa.initiator {
            self.drop_msg(DropReason::Malformed, remote, &mut out);
            return out;
        }
        if hdr.exchange == exchange::IKE_SA_INIT {
            if hdr.is_response() && sa.state == State::InitSent && hdr.message_id == 0 {
                self.initiator_init_response(now, id, local, remote, hdr, msg, &mut out);
            } else {
                self.drop_msg(DropReason::WrongState, remote, &mut out);
            }
            return out;
        }
        let other_spi = if sa.initiator { sa.spi_r } else { sa.spi_i };
        let their = if hdr.from_initiator() {
            hdr.spi_i
        } else {
            hdr.spi_r
        };
        if their != other_spi || sa.keys.is_none() {
            self.drop_msg(DropReason::UnknownSpi, remote, &mut out);
            return out;
        }
        if !hdr.is_response() {
            if sa.peer_mid > 0 && hdr.message_id == sa.peer_mid - 1 {
                // Retransmission of the last request: answer again, change nothing.
                match &sa.last_exchange {
                    Some((req, resp)) if req.as_slice() == msg => {
                        let resp = resp.clone();
                        self.stats.responses_resent += 1;
                        self.send(local, remote, &resp, &mut out);
                    }
                    _ => self.drop_msg(DropReason::ReplayMismatch, remote, &mut out),
                }
                return out;
            }
            if hdr.message_id != sa.peer_mid {
                self.drop_msg(DropReason::BadMessageId, remote, &mut out);
                return out;
            }
        } else {
            match &sa.outstanding {
                Some(o) if o.mid == hdr.message_id => {}
                _ => {
                    self.drop_msg(DropReason::BadMessageId, remote, &mut out);
                    return out;
                }
            }
        }
        let chain = match wire::parse_chain(hdr.next_payload, &msg[HEADER_LEN..]) {
            Ok(c) => c,
            Err(_) => {
                self.drop_msg(DropReason::Malformed, remote, &mut out);
                return out;
            }
        };
        let Some((sk_off, first_inner)) = chain.sk else {
            self.drop_msg(DropReason::Malformed, remote, &mut out);
            return out;
        };
        let keys = sa.peer_keys().expect("checked");
        let plain = match crypto::open_message(msg, sk_off, keys) {
            Ok(p) => p,
            Err(_) => {
                self.drop_msg(DropReason::Integrity, remote, &mut out);
                return out;
            }
        };
        let inner = match wire::parse_chain(first_inner, &plain) {
            Ok(c) if c.sk.is_none() => c,
            _ => {
                self.drop_msg(DropReason::Malformed, remote, &mut out);
                return out;
            }
        };
        let m = Msg {
            hdr,
            payloads: inner.payloads,
        };
        // Authenticated from here on.
        let sa = self.sas.get_mut(&id).expect("present");
        sa.last_heard = now;
        if sa.remote != remote || sa.local != local {
            self.peer_moved(id, local, remote, &mut out);
        }
        let sa = self.sas.get_mut(&id).expect("present");
        if hdr.is_response() {
            let o = sa.outstanding.take().expect("checked above");
            self.handle_response(now, id, o, m, &mut out);
            self.migrate_to_successor(now, id, &mut out);
            self.kick(now, id, &mut out);
        } else {
            sa.peer_mid = sa.peer_mid.wrapping_add(1);
            let resp = self.handle_request(now, id, &m, &mut out);
            if let Some(resp_payloads) = resp {
                if let Some(sa) = self.sas.get_mut(&id) {
                    let h = sa.header(m.hdr.exchange, m.hdr.message_id, true);
                    let mut inner = Vec::new();
                    let first = wire::emit_chain(&resp_payloads, &mut inner);
                    let keys = sa.my_keys().expect("established").clone();
                    let bytes = crypto::seal_message(h, first, &inner, &keys, &mut *self.rng);
                    let sa = self.sas.get_mut(&id).expect("present");
                    sa.last_exchange = Some((msg.to_vec(), bytes.clone()));
                    self.send(local, remote, &bytes, &mut out);
                    self.finish_after_response(now, id, &mut out);
                }
            }
            self.kick(now, id, &mut out);
        }
        out
    }

    /// An authenticated request with a new message ID, or a valid response, came
    /// from or to another address or port than the IKE SA's (RFC 7296 2.23). While
    /// the SA is not yet established this is the initiator's move to the NAT-T
    /// port; afterwards the SA follows only a peer behind a NAT (a new mapping), and
    /// its CHILD_SAs' encapsulation moves with it.
    pub(super) fn peer_moved(
        &mut self,
        id: IkeSaId,
        local: SocketAddr,
        remote: SocketAddr,
        out: &mut Vec<Action>,
    ) {
        let natt_port = self.cfg.natt_port;
        let sa = self.sas.get_mut(&id).expect("present");
        if sa.established_at.is_none() {
            sa.remote = remote;
            sa.local = local;
            sa.natt = sa.natt || local.port() == natt_port;
            return;
        }
        if !sa.peer_behind_nat || !sa.natt || local.port() != natt_port {
            // Answered where it came from (RFC 7296 2.11), but the SA stays.
            return;
        }
        let from = sa.remote;
        sa.remote = remote;
        sa.local = local;
        out.push(Action::Event(Event::PeerEndpointChanged {
            ike_sa: id,
            from,
            to: remote,
        }));
        let encap = UdpEncap { local, remote };
        let children = sa
            .children
            .iter()
            .map(|c| (c.id, c.spi_in, c.spi_out))
            .chain(sa.linger.iter().map(|(_, c, i, o)| (*c, *i, *o)));
        for (child, inbound_spi, outbound_spi) in children {
            out.push(Action::UpdateChildSaEncap {
                ike_sa: id,
                child,
                inbound_spi,
                outbound_spi,
                encap,
            });
        }
    }

    pub(super) fn send_request(
        &mut self,
        now: Instant,
        id: IkeSaId,
        exch: u8,
        payloads: Vec<Payload>,
        req: Req,
        out: &mut Vec<Action>,
    ) {
        let Some(sa) = self.sas.get(&id) else { return };
        let mid = sa.my_mid;
        let h = sa.header(exch, mid, false);
        let mut inner = Vec::new();
        let first = wire::emit_chain(&payloads, &mut inner);
        let keys = sa.my_keys().expect("keys").clone();
        let msg = crypto::seal_message(h, first, &inner, &keys, &mut *self.rng);
        let timeout = self.cfg.retransmit_timeout;
        let sa = self.sas.get_mut(&id).expect("present");
        sa.my_mid = mid.wrapping_add(1);
        sa.outstanding = Some(Outstanding {
            mid,
            msg: msg.clone(),
            tries: 0,
            next_at: now + timeout,
            timeout,
            req,
        });
        let (l, r) = (sa.local, sa.remote);
        self.send(l, r, &msg, out);
    }

    pub(super) fn handle_request(
        &mut self,
        now: Instant,
        id: IkeSaId,
        m: &Msg,
        out: &mut Vec<Action>,
    ) -> Option<Vec<Payload>> {
        let state = self.sas.get(&id)?.state;
        match (m.hdr.exchange, state) {
            (exchange::IKE_AUTH, State::HalfOpen) => Some(self.responder_auth(now, id, m, out)),
            (
                exchange::INFORMATIONAL,
                State::Established | State::Rekeyed | State::Deleting | State::AuthSent,
            ) => Some(self.responder_informational(now, id, m, out)),
            (exchange::CREATE_CHILD_SA, State::Established) => {
                Some(self.responder_create_child(now, id, m, out))
            }
            (exchange::CREATE_CHILD_SA, State::Rekeyed | State::Deleting) => {
                Some(vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])])
            }
            _ => {
                let remote = self.sas.get(&id)?.remote;
                self.drop_msg(DropReason::WrongState, remote, out);
                // Keep the message ID window unchanged for requests we refuse.
                let sa = self.sas.get_mut(&id)?;
                sa.peer_mid = sa.peer_mid.wrapping_sub(1);
                None
            }
        }
    }

    pub(super) fn handle_response(
        &mut self,
        now: Instant,
        id: IkeSaId,
        o: Outstanding,
        m: Msg,
        out: &mut Vec<Action>,
    ) {
        match o.req {
            Req::Init => {}
            Req::Auth { spi_in } => self.initiator_auth_response(now, id, spi_in, &m, out),
            Req::RekeyChild {
                old,
                cfg,
                spi_in,
                ni,
                dh,
                collision,
            } => self.rekey_child_response(now, id, old, cfg, spi_in, ni, dh, collision, &m, out),
            Req::RekeyIke {
                spi,
                ni,
                dh,
                collision,
            } => self.rekey_ike_response(now, id, spi, ni, dh, collision, &m, out),
            Req::DeleteChildren { children } => {
                let mut gone = Vec::new();
                if let Some(sa) = self.sas.get_mut(&id) {
                    let linger = now + self.cfg.inbound_linger;
                    for c in children {
                        if let Some(pos) = sa.children.iter().position(|x| x.id == c) {
                            let ch = sa.children.remove(pos);
                            if ch.rekeyed && !ch.redundant {
                                sa.linger.push((linger, ch.id, ch.spi_in, ch.spi_out));
                            } else {
                                gone.push((ch.id, ch.spi_in, ch.spi_out));
                            }
                        }
                    }
                }
                for (c, i, o) in gone {
                    out.push(Action::DeleteChildSa {
                        ike_sa: id,
                        child: c,
                        inbound_spi: i,
                        outbound_spi: o,
                    });
                }
            }
            Req::CreateChild {
                cfg,
                spi_in,
                ni,
                dh,
            } => {
                self.initiator_child(now, id, spi_in, cfg, Some((&ni, dh)), None, &m, out);
            }
            Req::DeleteIke => self.remove_sa(id, CloseReason::LocalDelete, out),
            Req::Dpd => {}
        }
    }
}
