//! The card path: SA halves carried by the driver's offload layer
//! (`driver::Offload`), which applies the fallback rules (an SA the card refuses,
//! or a card that faults, continues in software with the same bytes on the wire).
//!
//! One engine per daemon, shared by the SAs on it behind a mutex: the card is one
//! device. SAs with `offload = software` never touch it and stay lock-free.
//!
//! Backends: `model` (the driver's register-level model of the card, for tests and
//! demos without the simulator) and `sim` (the Verilator model of the generated RTL;
//! cargo feature `sim`).

use std::sync::{Arc, Mutex};

use driver::offload::{DataPath, InPacket, OffloadConfig, OutPacket, PacketError, SaId};
use driver::{Card, CardConfig, Direction, DriverError, Offload, OffloadPolicy, PacketPort, RegIo};
use esp::{DecapError, EncapError, Opened, SaConfig, Sealed, SeqNum, Transform};

use crate::config::OffloadDevice;
use crate::path::{InboundPath, OutboundPath, PathKind};

/// What the data path needs from an offload engine (object-safe over backends).
pub trait Engine: Send {
    /// Adds an SA half.
    fn add_sa(&mut self, cfg: &SaConfig, dir: Direction) -> Result<SaId, DriverError>;
    /// Removes an SA half.
    fn remove_sa(&mut self, id: SaId) -> Result<(), DriverError>;
    /// Where it runs now.
    fn placement(&self, id: SaId) -> Option<DataPath>;
    /// Next outbound sequence number.
    fn next_seq(&self, id: SaId) -> Option<u64>;
    /// Seals one payload.
    fn seal(
        &mut self,
        id: SaId,
        payload: &[u8],
        next_header: u8,
    ) -> Result<(Vec<u8>, u64), EncapError>;
    /// Opens one datagram.
    fn open(&mut self, id: SaId, datagram: &[u8]) -> Result<(Vec<u8>, u8, u64), DecapError>;
    /// The engine's counters (packets per path, faults, SAs moved).
    fn counters(&self) -> driver::offload::OffloadCounters;
}

impl<R: RegIo + Send, P: PacketPort<R> + Send> Engine for Offload<R, P> {
    fn add_sa(&mut self, cfg: &SaConfig, dir: Direction) -> Result<SaId, DriverError> {
        Offload::add_sa(self, cfg, dir)
    }
    fn remove_sa(&mut self, id: SaId) -> Result<(), DriverError> {
        Offload::remove_sa(self, id)
    }
    fn placement(&self, id: SaId) -> Option<DataPath> {
        Offload::placement(self, id)
    }
    fn next_seq(&self, id: SaId) -> Option<u64> {
        Offload::next_seq(self, id)
    }
    fn seal(
        &mut self,
        id: SaId,
        payload: &[u8],
        next_header: u8,
    ) -> Result<(Vec<u8>, u64), EncapError> {
        let r = self
            .seal_batch(&[OutPacket {
                sa: id,
                payload,
                next_header,
            }])
            .map_err(|_| EncapError::Crypto)?
            .pop()
            .ok_or(EncapError::Crypto)?;
        match r {
            Ok(s) => Ok((s.datagram, s.seq)),
            Err(PacketError::Encap(e)) => Err(e),
            Err(_) => Err(EncapError::Crypto),
        }
    }
    fn open(&mut self, id: SaId, datagram: &[u8]) -> Result<(Vec<u8>, u8, u64), DecapError> {
        let r = self
            .open_batch(&[InPacket { sa: id, datagram }])
            .map_err(|_| DecapError::BadInner("card fault under offload = card"))?
            .pop()
            .ok_or(DecapError::BadInner("offload engine returned nothing"))?;
        match r {
            Ok(o) => Ok((o.payload, o.next_header, o.seq)),
            Err(PacketError::Decap(e)) => Err(e),
            Err(_) => Err(DecapError::BadInner("offload engine refused the packet")),
        }
    }
    fn counters(&self) -> driver::offload::OffloadCounters {
        Offload::counters(self)
    }
}

/// The shared engine.
pub type SharedEngine = Arc<Mutex<Box<dyn Engine>>>;

/// Why no engine could be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Probing the card failed.
    #[error("card probe failed: {0}")]
    Probe(#[source] DriverError),
    /// The backend is not in this build.
    #[error("{0}")]
    NotBuilt(&'static str),
}

fn engine_over<R: RegIo + Send + 'static>(regs: R) -> Result<SharedEngine, EngineError> {
    let card = Card::probe(regs, CardConfig::default()).map_err(EngineError::Probe)?;
    let off = Offload::new(OffloadPolicy::Auto, Some(card), OffloadConfig::default())
        .map_err(EngineError::Probe)?;
    Ok(Arc::new(Mutex::new(Box::new(off))))
}

/// Opens the configured card backend (None for `offload_device = "none"`).
pub fn open(device: OffloadDevice) -> Result<Option<SharedEngine>, EngineError> {
    match device {
        OffloadDevice::None => Ok(None),
        OffloadDevice::Model => engine_over(driver::model::ModelCard::new()).map(Some),
        #[cfg(feature = "sim")]
        OffloadDevice::Sim => {
            let sim = sim::SimCard::new().map_err(|e| EngineError::Probe(DriverError::Capability(e.to_string())))?;
            engine_over(sim).map(Some)
        }
        #[cfg(not(feature = "sim"))]
        OffloadDevice::Sim => Err(EngineError::NotBuilt(
            "offload_device = \"sim\" needs ipsecd built with `--features sim` (the Verilator model)",
        )),
    }
}

fn kind_of(p: Option<DataPath>) -> PathKind {
    match p {
        Some(DataPath::Card) => PathKind::Card,
        _ => PathKind::Software,
    }
}

/// Outbound half on the engine.
pub struct CardOutbound {
    engine: SharedEngine,
    id: SaId,
    transform: Transform,
}

/// Inbound half on the engine.
pub struct CardInbound {
    engine: SharedEngine,
    id: SaId,
    transform: Transform,
}

impl std::fmt::Debug for CardOutbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardOutbound({:?})", self.id)
    }
}

impl std::fmt::Debug for CardInbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardInbound({:?})", self.id)
    }
}

impl Drop for CardOutbound {
    fn drop(&mut self) {
        if let Ok(mut e) = self.engine.lock() {
            let _ = e.remove_sa(self.id);
        }
    }
}

impl Drop for CardInbound {
    fn drop(&mut self) {
        if let Ok(mut e) = self.engine.lock() {
            let _ = e.remove_sa(self.id);
        }
    }
}

/// Adds both halves to the engine. Returns them and where the pair runs.
pub fn add_pair(
    engine: &SharedEngine,
    out_cfg: &SaConfig,
    in_cfg: &SaConfig,
) -> Result<(CardOutbound, CardInbound, PathKind), DriverError> {
    let mut e = engine
        .lock()
        .map_err(|_| DriverError::Capability("offload engine poisoned".into()))?;
    let oid = e.add_sa(out_cfg, Direction::Outbound)?;
    let iid = match e.add_sa(in_cfg, Direction::Inbound) {
        Ok(i) => i,
        Err(err) => {
            let _ = e.remove_sa(oid);
            return Err(err);
        }
    };
    let kind = if kind_of(e.placement(oid)) == PathKind::Card
        && kind_of(e.placement(iid)) == PathKind::Card
    {
        PathKind::Card
    } else {
        PathKind::Software
    };
    drop(e);
    Ok((
        CardOutbound {
            engine: engine.clone(),
            id: oid,
            transform: out_cfg.transform,
        },
        CardInbound {
            engine: engine.clone(),
            id: iid,
            transform: in_cfg.transform,
        },
        kind,
    ))
}

impl OutboundPath for CardOutbound {
    fn seal_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        next_header: u8,
    ) -> Result<Sealed, EncapError> {
        let hl = self.transform.header_len();
        let payload = buf.get(hl..hl + payload_len).ok_or(EncapError::TooLarge)?;
        let (dgram, seq) = {
            let mut e = self.engine.lock().map_err(|_| EncapError::Crypto)?;
            e.seal(self.id, payload, next_header)?
        };
        let dst = buf
            .get_mut(..dgram.len())
            .ok_or(EncapError::BufferTooSmall {
                need: dgram.len(),
                have: 0,
            })?;
        dst.copy_from_slice(&dgram);
        Ok(Sealed {
            len: dgram.len(),
            seq: SeqNum(seq),
            soft_expired: false,
        })
    }
    fn header_len(&self) -> usize {
        self.transform.header_len()
    }
    fn datagram_len(&self, payload_len: usize) -> usize {
        esp::esp_datagram_len(self.transform, payload_len)
    }
    fn next_seq(&self) -> Option<SeqNum> {
        self.engine.lock().ok()?.next_seq(self.id).map(SeqNum)
    }
    fn kind(&self) -> PathKind {
        self.engine
            .lock()
            .map(|e| kind_of(e.placement(self.id)))
            .unwrap_or(PathKind::Software)
    }
}

impl InboundPath for CardInbound {
    fn open(&mut self, datagram: &mut [u8]) -> Result<Opened, DecapError> {
        let (payload, next_header, seq) = {
            let mut e = self
                .engine
                .lock()
                .map_err(|_| DecapError::BadInner("offload engine poisoned"))?;
            e.open(self.id, datagram)?
        };
        let hl = self.transform.header_len();
        let dst = datagram
            .get_mut(hl..hl + payload.len())
            .ok_or(DecapError::Truncated("payload"))?;
        dst.copy_from_slice(&payload);
        Ok(Opened {
            seq: SeqNum(seq),
            next_header,
            payload: hl..hl + payload.len(),
            soft_expired: false,
        })
    }
    fn kind(&self) -> PathKind {
        self.engine
            .lock()
            .map(|e| kind_of(e.placement(self.id)))
            .unwrap_or(PathKind::Software)
    }
}
