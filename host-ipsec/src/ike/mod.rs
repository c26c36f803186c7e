//! IKEv2 in the daemon: one thread owns the sans-I/O [`ikev2::Engine`] and feeds it
//! the datagrams of UDP 500 (its own socket) and UDP 4500 (the data path's
//! encapsulation socket, through the IKE sink), its timers and the control
//! commands (`initiate`, `terminate`, reload). It carries out the engine's actions:
//! `Send` on the socket bound to the action's local address, `InstallChildSa` /
//! `DeleteChildSa` through the [`SaInstaller`] (so a negotiated CHILD_SA runs on the
//! card or in software per the connection's `offload`, like a manual SA), events to
//! the log and to a bounded list kept for `ipsecctl status`.
//!
//! Keys never leave this module except inside the [`ChildSaSpec`] handed to the
//! installer; events and logs carry none.
//!
//! The module's files: this one holds the seam to the outside ([`IkeIo`]), the
//! messages to the IKE thread and the handle that starts and commands it;
//! `worker` is the thread itself (engine actions, events, commands, timers);
//! `convert` turns configured connections into the engine's and negotiated
//! CHILD_SAs into the data path's [`ChildSaSpec`]; `status` is what
//! `ipsecctl status` and `list-sas` show.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ikev2::{Engine, EngineConfig, UdpEncap};

use crate::config::{self, IpPrefix, StartAction};
use crate::defaults;
use crate::sa::SaInstaller;

mod convert;
mod status;
mod worker;

#[cfg(test)]
mod tests;

pub use convert::{apply_auth, child_spec, engine_connection, range_to_prefixes, IkeConfigError};
pub use status::{IkeChildStatus, IkeCounters, IkeEventRecord, IkeSaStatus, IkeView};
use worker::Worker;

/// What the IKE thread needs from the outside world: sending datagrams and
/// installing SAs. The daemon implements it over the data path and a UDP 500
/// socket; tests implement it in memory.
pub trait IkeIo: Send {
    /// Sends `datagram` from the socket bound to `local` (NAT-T marker included).
    fn send(&self, local: SocketAddr, remote: SocketAddr, datagram: &[u8]) -> io::Result<()>;
    /// The SA installer.
    fn installer(&self) -> &dyn SaInstaller;
    /// Start on traffic: makes packets for `remote_ts` reach the data path (and so
    /// an acquire) while no SA covers them. Idempotent.
    fn trap_routes(&self, _remote_ts: &[IpPrefix]) {}
    /// Outbound packets of the pair's selectors go to the pair with `inbound_spi`
    /// (a rekeyed CHILD_SA) rather than to an older pair with the same selectors.
    fn prefer_outbound(&self, _inbound_spi: u32) {}
    /// The peer's NAT made a new mapping: the pair with `inbound_spi` sends its
    /// ESP-in-UDP from `encap.local` to `encap.remote` from now on; keys, SPIs and
    /// sequence numbers stay.
    fn update_encap(&self, _inbound_spi: u32, _encap: UdpEncap) -> Result<(), String> {
        Err("this data path cannot move an SA's UDP encapsulation".into())
    }
}

/// A message to the IKE thread.
#[derive(Debug)]
pub enum IkeMsg {
    /// A datagram received on `local` from `remote` (on the NAT-T port with its
    /// non-ESP marker).
    Datagram {
        /// Our address and port.
        local: SocketAddr,
        /// The sender.
        remote: SocketAddr,
        /// UDP payload.
        message: Vec<u8>,
    },
    /// `ipsecctl initiate CONN`.
    Initiate(String, Sender<Result<u64, String>>),
    /// `ipsecctl terminate CONN|ID`: the IKE SAs closed.
    Terminate(String, Sender<Result<Vec<u64>, String>>),
    /// The data path saw an outbound packet that matches no SA (start on traffic).
    Acquire {
        /// Inner source.
        src: IpAddr,
        /// Inner destination.
        dst: IpAddr,
    },
    /// The data path reached a soft lifetime (packets, bytes or sequence space)
    /// on a half of a negotiated pair: the CHILD_SA is rekeyed unless a rekey
    /// already runs.
    SoftExpired(crate::sa::SoftExpired),
    /// New IKE connections after a reload.
    Reload(Vec<config::Connection>, Sender<Result<usize, String>>),
    /// Stop the thread.
    Stop,
}

/// Where the receiving threads hand datagrams (and acquires) to the IKE thread. The
/// queue is bounded: when the IKE thread falls behind (a flood), datagrams are
/// dropped and counted rather than piling up.
#[derive(Debug, Clone)]
pub struct IkeFeed {
    tx: SyncSender<IkeMsg>,
    drops: Arc<AtomicU64>,
}

impl IkeFeed {
    /// Queues `msg`; false once the IKE thread has stopped.
    pub fn push(&self, msg: IkeMsg) -> bool {
        match self.tx.try_send(msg) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.drops.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Queues `msg`, waiting while the queue is full (for notices that must not be
    /// lost in a flood, from a thread of their own); false once the IKE thread has
    /// stopped.
    pub fn push_wait(&self, msg: IkeMsg) -> bool {
        self.tx.send(msg).is_ok()
    }
}

/// Handle of the running IKE thread.
#[derive(Debug)]
pub struct Ike {
    tx: Mutex<SyncSender<IkeMsg>>,
    view: Arc<Mutex<IkeView>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// How long a control command waits for the IKE thread.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

impl Ike {
    /// Starts the IKE thread with the IKE connections of `conns` (manual ones are
    /// skipped). Connections with `start_action = start` are initiated at once.
    pub fn start<I: IkeIo + 'static>(
        cfg: EngineConfig,
        conns: &[config::Connection],
        io: I,
    ) -> Result<(Arc<Ike>, IkeFeed), IkeConfigError> {
        let mut engine = Engine::new(cfg, Box::new(rand::rngs::OsRng));
        let mut map = BTreeMap::new();
        let mut start = Vec::new();
        for c in conns {
            if let Some(ec) = engine_connection(c)? {
                engine.add_connection(ec).map_err(|e| IkeConfigError {
                    connection: c.name.clone(),
                    reason: e.to_string(),
                })?;
                apply_auth(&mut engine, c)?;
                if c.ike.as_ref().map(|i| i.start_action) == Some(StartAction::Start) {
                    start.push(c.name.clone());
                }
                map.insert(c.name.clone(), c.clone());
            }
        }
        let view = Arc::new(Mutex::new(IkeView::default()));
        let drops = Arc::new(AtomicU64::new(0));
        let worker = Worker::new(engine, io, map, view.clone(), drops.clone());
        let (tx, rx) = sync_channel(defaults::IKE_QUEUE);
        let thread = std::thread::Builder::new()
            .name("ipsecd-ike".into())
            .spawn(move || worker.run(&rx))
            .map_err(|e| IkeConfigError {
                connection: String::new(),
                reason: format!("cannot start the IKE thread: {e}"),
            })?;
        let ike = Arc::new(Ike {
            tx: Mutex::new(tx.clone()),
            view,
            thread: Mutex::new(Some(thread)),
        });
        for name in start {
            let (rtx, _rrx) = channel();
            let _ = tx.send(IkeMsg::Initiate(name, rtx));
        }
        Ok((ike, IkeFeed { tx, drops }))
    }

    fn ask<T>(&self, msg: impl FnOnce(Sender<Result<T, String>>) -> IkeMsg) -> Result<T, String> {
        let (rtx, rrx) = channel();
        self.tx
            .lock()
            .map_err(|_| "IKE thread unavailable".to_string())?
            .send(msg(rtx))
            .map_err(|_| "IKE thread stopped".to_string())?;
        rrx.recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| "IKE thread did not answer".to_string())?
    }

    /// Starts an IKE SA for connection `name`; returns its handle.
    pub fn initiate(&self, name: &str) -> Result<u64, String> {
        self.ask(|r| IkeMsg::Initiate(name.to_string(), r))
    }

    /// Closes the IKE SAs of connection `target`, or the IKE SA with that handle.
    pub fn terminate(&self, target: &str) -> Result<Vec<u64>, String> {
        self.ask(|r| IkeMsg::Terminate(target.to_string(), r))
    }

    /// Applies the IKE connections of a reloaded configuration.
    pub fn reload(&self, conns: Vec<config::Connection>) -> Result<usize, String> {
        self.ask(|r| IkeMsg::Reload(conns, r))
    }

    /// The current IKE SAs, counters and latest events.
    pub fn view(&self) -> IkeView {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Closes every IKE SA (telling the peers) and stops the thread.
    pub fn stop(&self) {
        if let Ok(t) = self.tx.lock() {
            let _ = t.send(IkeMsg::Stop);
        }
        if let Some(h) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = h.join();
        }
    }
}
