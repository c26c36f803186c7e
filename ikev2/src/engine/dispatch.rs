//! Datagram input: the non-ESP marker, the header, the SA by SPI, the
//! message-ID window of one (RFC 7296 2.3), retransmitted requests, the SK
//! payload, NAT mapping changes (2.23), and dispatch to the exchanges; our
//! requests and responses sealed and sent.

use std::net::SocketAddr;
use std::time::Instant;

use crate::crypto;
use crate::wire::{self, exchange, notify, Header, Payload, HEADER_LEN};

use super::api::{Action, CloseReason, DropReason, Event, IkeSaId, UdpEncap};
use super::msg::{notify_payload, Incoming, Msg};
use super::state::{Gone, Outstanding, Req, State};
use super::Engine;

impl Engine {
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
        if let Err(Gone::IkeSa | Gone::Keys | Gone::ChildConfig) =
            self.handle_message(now, local, remote, msg, &mut out)
        {
            // The IKE SA (or what the message needs of it) went away meanwhile.
            self.drop_msg(DropReason::UnknownSpi, remote, &mut out);
        }
        out
    }

    /// An IKE message (marker removed).
    fn handle_message(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &[u8],
        out: &mut Vec<Action>,
    ) -> Result<(), Gone> {
        // One UDP datagram carries exactly one IKE message (RFC 7296 3.1: the
        // header's length is that of the whole message): bytes past the length are
        // refused, not ignored, so no altered datagram is handled as a genuine one.
        let hdr = match Header::parse(msg) {
            Ok(h) if h.length as usize == msg.len() => h,
            _ => {
                self.drop_msg(DropReason::Malformed, remote, out);
                return Ok(());
            }
        };
        if hdr.exchange == exchange::IKE_SA_INIT && !hdr.is_response() && hdr.spi_r == 0 {
            if hdr.from_initiator() && hdr.message_id == 0 {
                self.responder_init(now, local, remote, hdr, msg, out);
            } else {
                self.drop_msg(DropReason::Malformed, remote, out);
            }
            return Ok(());
        }
        let my_spi = if hdr.from_initiator() {
            hdr.spi_r
        } else {
            hdr.spi_i
        };
        let Some(sa) = self.sas.by_spi(my_spi) else {
            self.drop_msg(DropReason::UnknownSpi, remote, out);
            return Ok(());
        };
        let id = sa.id;
        // The I flag must name the other side.
        if hdr.from_initiator() == sa.initiator {
            self.drop_msg(DropReason::Malformed, remote, out);
            return Ok(());
        }
        if hdr.exchange == exchange::IKE_SA_INIT {
            if hdr.is_response() && sa.state == State::InitSent && hdr.message_id == 0 {
                return self.initiator_init_response(now, id, remote, hdr, msg, out);
            }
            self.drop_msg(DropReason::WrongState, remote, out);
            return Ok(());
        }
        let their = if hdr.from_initiator() {
            hdr.spi_i
        } else {
            hdr.spi_r
        };
        if their != sa.remote_spi() || sa.keys.is_none() {
            self.drop_msg(DropReason::UnknownSpi, remote, out);
            return Ok(());
        }
        if !hdr.is_response() {
            if sa.peer_mid > 0 && hdr.message_id == sa.peer_mid - 1 {
                // Retransmission of the last request: answer again, change nothing.
                match &sa.last_exchange {
                    Some((req, resp)) if req.as_slice() == msg => {
                        let resp = resp.clone();
                        self.stats.responses_resent += 1;
                        self.send(local, remote, &resp, out);
                    }
                    _ => self.drop_msg(DropReason::ReplayMismatch, remote, out),
                }
                return Ok(());
            }
            if hdr.message_id != sa.peer_mid {
                self.drop_msg(DropReason::BadMessageId, remote, out);
                return Ok(());
            }
        } else if !matches!(&sa.outstanding, Some(o) if o.mid == hdr.message_id) {
            self.drop_msg(DropReason::BadMessageId, remote, out);
            return Ok(());
        }
        let Ok(chain) = wire::parse_chain(hdr.next_payload, &msg[HEADER_LEN..]) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return Ok(());
        };
        let Some((sk_off, first_inner)) = chain.sk else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return Ok(());
        };
        let keys = self.sas.get(id)?.peer_keys()?;
        let Ok(plain) = crypto::open_message(msg, sk_off, keys) else {
            self.drop_msg(DropReason::Integrity, remote, out);
            return Ok(());
        };
        let Some(m) = Msg::parse(hdr, first_inner, &plain) else {
            self.drop_msg(DropReason::Malformed, remote, out);
            return Ok(());
        };
        // Authenticated from here on.
        let sa = self.sas.get_mut(id)?;
        sa.last_heard = now;
        if sa.remote != remote || sa.local != local {
            self.peer_moved(id, local, remote, out)?;
        }
        let sa = self.sas.get_mut(id)?;
        let m = &m;
        if hdr.is_response() {
            // Checked above: the response answers our outstanding request.
            if let Some(o) = sa.outstanding.take() {
                self.handle_response(Incoming { now, id, m, out }, o)?;
                self.migrate_to_successor(now, id, out);
            }
        } else {
            sa.peer_mid = sa.peer_mid.wrapping_add(1);
            let resp = self.handle_request(Incoming { now, id, m, out })?;
            if let (Some(resp_payloads), true) = (resp, self.sas.contains(id)) {
                let (bytes, _, _) =
                    self.seal(id, m.hdr.exchange, m.hdr.message_id, true, &resp_payloads)?;
                self.sas.get_mut(id)?.last_exchange = Some((msg.to_vec(), bytes.clone()));
                self.send(local, remote, &bytes, out);
                self.finish_after_response(id, out)?;
            }
        }
        self.kick(now, id, out);
        Ok(())
    }

    /// An authenticated request with a new message ID, or a valid response, came
    /// from or to another address or port than the IKE SA's (RFC 7296 2.23). While
    /// the SA is not yet established this is the initiator's move to the NAT-T
    /// port; afterwards the SA follows only a peer behind a NAT (a new mapping), and
    /// its CHILD_SAs' encapsulation moves with it.
    fn peer_moved(
        &mut self,
        id: IkeSaId,
        local: SocketAddr,
        remote: SocketAddr,
        out: &mut Vec<Action>,
    ) -> Result<(), Gone> {
        let natt_port = self.cfg.natt_port;
        let sa = self.sas.get_mut(id)?;
        if sa.established_at.is_none() {
            sa.remote = remote;
            sa.local = local;
            sa.natt = sa.natt || local.port() == natt_port;
            return Ok(());
        }
        if !sa.peer_behind_nat || !sa.natt || local.port() != natt_port {
            // Answered where it came from (RFC 7296 2.11), but the SA stays.
            return Ok(());
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
            .chain(sa.linger.iter().map(|l| (l.child, l.spi_in, l.spi_out)));
        for (child, inbound_spi, outbound_spi) in children {
            out.push(Action::UpdateChildSaEncap {
                ike_sa: id,
                child,
                inbound_spi,
                outbound_spi,
                encap,
            });
        }
        Ok(())
    }

    /// A message of ours on IKE SA `id`, encrypted and integrity protected, with
    /// the addresses to send it from and to.
    pub(super) fn seal(
        &mut self,
        id: IkeSaId,
        exch: u8,
        mid: u32,
        response: bool,
        payloads: &[Payload],
    ) -> Result<(Vec<u8>, SocketAddr, SocketAddr), Gone> {
        let sa = self.sas.get(id)?;
        let h = sa.header(exch, mid, response);
        let mut inner = Vec::new();
        let first = wire::emit_chain(payloads, &mut inner);
        let msg = crypto::seal_message(h, first, &inner, sa.my_keys()?, &mut *self.rng);
        Ok((msg, sa.local, sa.remote))
    }

    /// Send a request on IKE SA `id` and wait for its response (retransmitted
    /// from the timers until it comes).
    pub(super) fn send_request(
        &mut self,
        now: Instant,
        id: IkeSaId,
        exch: u8,
        payloads: Vec<Payload>,
        req: Req,
        out: &mut Vec<Action>,
    ) -> Result<(), Gone> {
        let mid = self.sas.get(id)?.my_mid;
        let (msg, l, r) = self.seal(id, exch, mid, false, &payloads)?;
        let timeout = self.cfg.retransmit_timeout;
        let sa = self.sas.get_mut(id)?;
        sa.my_mid = mid.wrapping_add(1);
        sa.outstanding = Some(Outstanding {
            mid,
            msg: msg.clone(),
            tries: 0,
            next_at: now + timeout,
            timeout,
            req,
        });
        self.send(l, r, &msg, out);
        Ok(())
    }

    /// A request from the peer: our response, or None when it is refused
    /// (dropped, the message-ID window unchanged).
    fn handle_request(
        &mut self,
        Incoming { now, id, m, out }: Incoming<'_>,
    ) -> Result<Option<Vec<Payload>>, Gone> {
        let sa = self.sas.get(id)?;
        Ok(Some(match (m.hdr.exchange, sa.state) {
            (exchange::IKE_AUTH, State::HalfOpen) => {
                self.responder_auth(Incoming { now, id, m, out })?
            }
            (
                exchange::INFORMATIONAL,
                State::Established | State::Rekeyed | State::Deleting | State::AuthSent,
            ) => self.responder_informational(Incoming { now, id, m, out })?,
            (exchange::CREATE_CHILD_SA, State::Established) => {
                self.responder_create_child(Incoming { now, id, m, out })?
            }
            (exchange::CREATE_CHILD_SA, State::Rekeyed | State::Deleting) => {
                vec![notify_payload(notify::TEMPORARY_FAILURE, vec![])]
            }
            _ => {
                let remote = sa.remote;
                self.drop_msg(DropReason::WrongState, remote, out);
                // Keep the message ID window unchanged for requests we refuse.
                let sa = self.sas.get_mut(id)?;
                sa.peer_mid = sa.peer_mid.wrapping_sub(1);
                return Ok(None);
            }
        }))
    }

    /// The response to our outstanding request `o`.
    fn handle_response(&mut self, rx: Incoming<'_>, o: Outstanding) -> Result<(), Gone> {
        match o.req {
            Req::Init | Req::Dpd => Ok(()),
            Req::Auth { spi_in } => self.initiator_auth_response(rx, spi_in),
            Req::RekeyChild(r) => self.rekey_child_response(rx, r),
            Req::RekeyIke(r) => self.rekey_ike_response(rx, r),
            Req::DeleteChildren { children } => {
                self.children_deleted(rx.now, rx.id, &children, rx.out);
                Ok(())
            }
            Req::CreateChild { cfg, offer } => {
                let create = Some((offer.ni.as_slice(), offer.dh));
                let child = self.initiator_child(rx, offer.spi_in, cfg, create, None);
                child.map(drop)
            }
            Req::DeleteIke => {
                self.remove_sa(rx.id, CloseReason::LocalDelete, rx.out);
                Ok(())
            }
        }
    }
}
