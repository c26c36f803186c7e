//! Routes and rules that lead an SA's traffic into the TUN device, and the TUN
//! device's own set-up, over rtnetlink (a `NETLINK_ROUTE` socket in the current
//! network namespace, the messages of `netlink-packet-route`): what
//! `ip link set`, `ip route replace|del`, `ip rule add|del` and `ip addr show`
//! did before, without running them.
//!
//! - Tunnel mode: a route per remote selector in the main table through the TUN
//!   device, with a local address inside the local selectors as preferred source.
//! - Transport mode: the peer's address through the TUN device in table
//!   [`defaults::ROUTE_TABLE`], chosen by a rule for that destination; a rule
//!   before it sends the daemon's own (marked) ESP packets to the main table.

use std::io;
use std::net::IpAddr;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use tracing::debug;

use crate::config::ModeKind;
use crate::defaults;
use crate::sa::ChildSaSpec;

/// Why an rtnetlink request failed.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The netlink socket could not be opened or used.
    #[error("rtnetlink socket: {0}")]
    Socket(#[source] io::Error),
    /// The kernel refused a request (`op` says which, e.g. `route replace 10.2.0.0/16`).
    #[error("{op}: {source}")]
    Kernel {
        /// The request, in `ip`'s words.
        op: String,
        /// The kernel's error number.
        #[source]
        source: io::Error,
    },
    /// A reply could not be decoded.
    #[error("malformed rtnetlink reply: {0}")]
    Decode(#[source] netlink_packet_core::DecodeError),
    /// No interface of that name.
    #[error("no network interface named {0}")]
    NoSuchLink(String),
}

/// Largest reply datagram read at once.
const RECV_BUF: usize = 64 * 1024;

/// A connected `NETLINK_ROUTE` socket, requests answered one at a time.
pub(super) struct Rtnl {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Rtnl {
    /// Opens a socket in the current network namespace.
    pub(super) fn open() -> Result<Self, RouteError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(RouteError::Socket)?;
        sock.bind_auto().map_err(RouteError::Socket)?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(RouteError::Socket)?;
        Ok(Rtnl {
            sock,
            seq: 0,
            buf: vec![0u8; RECV_BUF],
        })
    }

    /// Sends `msg` with `flags` and returns its sequence number.
    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> Result<u32, RouteError> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut m = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        m.finalize();
        let mut out = vec![0u8; m.buffer_len()];
        m.serialize(&mut out);
        self.sock.send(&out, 0).map_err(RouteError::Socket)?;
        Ok(self.seq)
    }

    /// Reads replies to request `seq` and gives each to `each` until it returns
    /// true (done). An error reply ends with its errno.
    fn replies(
        &mut self,
        seq: u32,
        op: &dyn Fn() -> String,
        mut each: impl FnMut(NetlinkPayload<RouteNetlinkMessage>) -> bool,
    ) -> Result<(), RouteError> {
        loop {
            let n = self
                .sock
                .recv(&mut &mut self.buf[..], 0)
                .map_err(RouteError::Socket)?;
            let mut off = 0;
            while off < n.min(self.buf.len()) {
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..n])
                    .map_err(RouteError::Decode)?;
                let len = m.header.length as usize;
                if m.header.sequence_number == seq {
                    if let NetlinkPayload::Error(e) = &m.payload {
                        return match e.code {
                            None => Ok(()),
                            Some(_) => Err(RouteError::Kernel {
                                op: op(),
                                source: e.to_io(),
                            }),
                        };
                    }
                    if each(m.payload) {
                        return Ok(());
                    }
                }
                if len == 0 {
                    break;
                }
                off += len;
            }
        }
    }

    /// A request the kernel acknowledges.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        op: &dyn Fn() -> String,
    ) -> Result<(), RouteError> {
        let seq = self.send(msg, flags | NLM_F_ACK)?;
        self.replies(seq, op, |_| false)
    }

    /// A dump: every message up to the end.
    fn dump(&mut self, msg: RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>, RouteError> {
        let seq = self.send(msg, NLM_F_DUMP)?;
        let mut got = Vec::new();
        self.replies(seq, &|| "dump".to_string(), |p| match p {
            NetlinkPayload::InnerMessage(m) => {
                got.push(m);
                false
            }
            NetlinkPayload::Done(_) => true,
            _ => false,
        })?;
        Ok(got)
    }

    /// `ip link set dev NAME mtu MTU txqueuelen QLEN up`.
    pub(super) fn link_up(
        &mut self,
        name: &str,
        mtu: u16,
        txqueuelen: u32,
    ) -> Result<(), RouteError> {
        let index = link_index(name)?;
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        m.attributes = vec![
            LinkAttribute::Mtu(u32::from(mtu)),
            LinkAttribute::TxQueueLen(txqueuelen),
        ];
        self.request(RouteNetlinkMessage::SetLink(m), 0, &|| {
            format!("link set dev {name} mtu {mtu} txqueuelen {txqueuelen} up")
        })
    }

    /// The first local address for which `wanted` holds (`ip -o addr show`).
    fn local_addr(
        &mut self,
        wanted: impl Fn(IpAddr) -> bool,
    ) -> Result<Option<IpAddr>, RouteError> {
        let all = self.dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))?;
        Ok(all.into_iter().find_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a) => {
                // IFA_LOCAL is the local end on point-to-point links, IFA_ADDRESS otherwise
                let local = a.attributes.iter().find_map(|x| match x {
                    AddressAttribute::Local(ip) => Some(*ip),
                    _ => None,
                });
                let addr = a.attributes.iter().find_map(|x| match x {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                });
                local.or(addr).filter(|ip| wanted(*ip))
            }
            _ => None,
        }))
    }

    /// `ip route replace DST/LEN dev OIF [src SRC] [table T]`, or `ip route del
    /// DST/LEN dev OIF [table T]` when `add` is false.
    fn route(&mut self, add: bool, r: &Route) -> Result<(), RouteError> {
        let mut m = RouteMessage::default();
        m.header.address_family = family(r.dst);
        m.header.destination_prefix_length = r.len;
        if add {
            m.header.protocol = RouteProtocol::Boot;
            m.header.scope = RouteScope::Link;
            m.header.kind = RouteType::Unicast;
        } else {
            // any scope (as `ip route del`)
            m.header.scope = RouteScope::NoWhere;
        }
        m.header.table = u8::try_from(r.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
        m.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(r.dst)));
        m.attributes.push(RouteAttribute::Oif(r.oif));
        if let (true, Some(src)) = (add, r.src) {
            m.attributes
                .push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
        m.attributes.push(RouteAttribute::Table(r.table));
        let op = || {
            format!(
                "route {} {}/{} dev #{} table {}",
                if add { "replace" } else { "del" },
                r.dst,
                r.len,
                r.oif,
                r.table
            )
        };
        if add {
            self.request(
                RouteNetlinkMessage::NewRoute(m),
                NLM_F_CREATE | NLM_F_REPLACE,
                &op,
            )
        } else {
            self.request(RouteNetlinkMessage::DelRoute(m), 0, &op)
        }
    }

    /// `ip rule add|del pref PREF [fwmark MARK] [to ADDR] lookup TABLE`.
    fn rule(&mut self, add: bool, r: &Rule) -> Result<(), RouteError> {
        let mut m = RuleMessage::default();
        m.header.family = r.family;
        m.header.action = RuleAction::ToTable;
        m.header.table = u8::try_from(r.table).unwrap_or(0);
        m.attributes.push(RuleAttribute::Priority(r.pref));
        if let Some(mark) = r.fwmark {
            m.attributes.push(RuleAttribute::FwMark(mark));
        }
        if let Some(to) = r.to {
            m.header.dst_len = if to.is_ipv4() { 32 } else { 128 };
            m.attributes.push(RuleAttribute::Destination(to));
        }
        m.attributes.push(RuleAttribute::Table(r.table));
        let op = || format!("rule {} pref {}", if add { "add" } else { "del" }, r.pref);
        if add {
            m.header.action = RuleAction::ToTable;
            self.request(
                RouteNetlinkMessage::NewRule(m),
                NLM_F_CREATE | NLM_F_EXCL,
                &op,
            )
        } else {
            self.request(RouteNetlinkMessage::DelRule(m), 0, &op)
        }
    }
}

/// A route through a device.
struct Route {
    dst: IpAddr,
    len: u8,
    oif: u32,
    src: Option<IpAddr>,
    table: u32,
}

/// A policy-routing rule.
struct Rule {
    family: AddressFamily,
    pref: u32,
    fwmark: Option<u32>,
    to: Option<IpAddr>,
    table: u32,
}

/// The main routing table.
const MAIN_TABLE: u32 = RouteHeader::RT_TABLE_MAIN as u32;

fn family(a: IpAddr) -> AddressFamily {
    if a.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

fn link_index(name: &str) -> Result<u32, RouteError> {
    nix::net::if_::if_nametoindex(name).map_err(|_| RouteError::NoSuchLink(name.into()))
}

/// Adds (`add`) or removes the routes and rules of `spec` through TUN device
/// `dev`; `mark` is the daemon's socket mark. Every failure is logged, none
/// stops the rest (the set-up is idempotent: a rule that exists stays).
pub(super) fn apply(dev: &str, mark: u32, spec: &ChildSaSpec, add: bool) {
    let done = Rtnl::open().and_then(|mut nl| {
        let oif = link_index(dev)?;
        for r in plan(&mut nl, oif, mark, spec, add) {
            let res = match &r {
                Step::Route(x) => nl.route(add, x),
                Step::Rule(x) => nl.rule(add, x),
            };
            if let Err(e) = res {
                debug!(error = %e, "rtnetlink");
            }
        }
        Ok(())
    });
    if let Err(e) = done {
        debug!(error = %e, "rtnetlink");
    }
}

/// One route or rule change.
enum Step {
    Route(Route),
    Rule(Rule),
}

/// The routes and rules of `spec`, in the order they are applied.
fn plan(nl: &mut Rtnl, oif: u32, mark: u32, spec: &ChildSaSpec, add: bool) -> Vec<Step> {
    match spec.mode {
        ModeKind::Tunnel => {
            let src = if add {
                nl.local_addr(|a| spec.local_ts.iter().any(|p| p.contains(a)))
                    .unwrap_or_else(|e| {
                        debug!(error = %e, "no local address for the route source");
                        None
                    })
            } else {
                None
            };
            spec.remote_ts
                .iter()
                .map(|p| {
                    Step::Route(Route {
                        dst: p.addr,
                        len: p.len,
                        oif,
                        src,
                        table: MAIN_TABLE,
                    })
                })
                .collect()
        }
        ModeKind::Transport => {
            // The peer's own address goes through the TUN device, except for the
            // daemon's own (marked) ESP packets.
            let to = spec.remote_addr;
            let fam = family(to);
            let table = defaults::ROUTE_TABLE;
            let by_mark = Step::Rule(Rule {
                family: fam,
                pref: table - 1,
                fwmark: Some(mark),
                to: None,
                table: MAIN_TABLE,
            });
            let by_dst = Step::Rule(Rule {
                family: fam,
                pref: table,
                fwmark: None,
                to: Some(to),
                table,
            });
            let route = Step::Route(Route {
                dst: to,
                len: if to.is_ipv4() { 32 } else { 128 },
                oif,
                src: Some(spec.local_addr),
                table,
            });
            if add {
                vec![by_mark, by_dst, route]
            } else {
                // the mark rule stays (shared by every transport-mode SA)
                vec![route, by_dst]
            }
        }
    }
}
