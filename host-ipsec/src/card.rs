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
use driver::{
    Card, CardConfig, Direction, DriverError, Offload, OffloadPolicy, PacketPort, RegIo, SaIndex,
};
use esp::{DecapError, EncapError, Opened, SaConfig, Sealed, SeqNum, Transform};

use crate::config::OffloadDevice;
use crate::faults::{FaultAction, FaultSchedule};
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
    /// Moves the card's counter of outbound SA `id` (SPI `spi`, on the card) so the
    /// next packet gets `next` (a restart with the same keys resumes its saved
    /// counter). The driver's shadow moves too, so a later fallback continues there.
    fn resume_outbound(&mut self, id: SaId, spi: u32, next: u64) -> Result<(), DriverError>;
    /// False once a fault fenced the card off.
    fn healthy(&self) -> bool;
    /// Tries to bring a fenced card back (wipe, reload the SAs a fault moved to
    /// software, sequence numbers continuing); returns how many SAs went back.
    fn recover(&mut self) -> Result<usize, DriverError>;
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
    fn healthy(&self) -> bool {
        self.card_healthy()
    }
    fn recover(&mut self) -> Result<usize, DriverError> {
        self.recover_card()
    }
    fn resume_outbound(&mut self, id: SaId, spi: u32, next: u64) -> Result<(), DriverError> {
        let not =
            |why: &str| DriverError::Capability(format!("cannot resume SPI {spi:#010x}: {why}"));
        if Offload::placement(self, id) != Some(DataPath::Card) || next == 0 {
            return Err(not("the SA is not on the card"));
        }
        let card = self.card_mut().ok_or_else(|| not("no card"))?;
        let ix = (0..card.capacity())
            .filter_map(|i| u16::try_from(i).ok().map(SaIndex))
            .find(|&ix| {
                card.shadow(ix)
                    .is_some_and(|s| s.spi == spi && s.direction == Direction::Outbound)
            })
            .ok_or_else(|| not("not in the card's SA table"))?;
        let mut sa = card.shadow(ix).cloned().ok_or_else(|| not("no shadow"))?;
        sa.seq = next - 1;
        card.update_sa(ix, sa)?;
        match Offload::next_seq(self, id) {
            Some(n) if n == next => Ok(()),
            other => Err(not(&format!("the card's counter reads {other:?}"))),
        }
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
    /// The fault-schedule thread could not start.
    #[error("cannot start the fault schedule thread: {0}")]
    Thread(#[source] std::io::Error),
}

fn engine_over<R: RegIo + Send + 'static>(regs: R) -> Result<SharedEngine, EngineError> {
    let card = Card::probe(regs, CardConfig::default()).map_err(EngineError::Probe)?;
    let off = Offload::new(OffloadPolicy::Auto, Some(card), OffloadConfig::default())
        .map_err(EngineError::Probe)?;
    Ok(Arc::new(Mutex::new(Box::new(off))))
}

/// Opens the configured card backend (None for `offload_device = "none"`).
pub fn open(device: OffloadDevice) -> Result<Option<SharedEngine>, EngineError> {
    open_with(device, &FaultSchedule::default())
}

fn apply_fault(h: &driver::model::FaultHandle, a: FaultAction) {
    tracing::warn!(fault = ?a, "model card: injecting fault");
    match a {
        FaultAction::Hang => h.hang_after(0),
        FaultAction::Heal => h.heal(),
        FaultAction::Corrupt(n) => h.corrupt_next(n),
        FaultAction::Reset => h.reset_after(0),
        FaultAction::Slow(p) => h.slow(p),
        FaultAction::Reject(spi) => h.reject_spi(spi),
    }
}

/// Applies the steps due at start and hands the rest to a thread that watches
/// the model's completion count (it ends when the schedule is done).
fn run_schedule(
    h: driver::model::FaultHandle,
    schedule: &FaultSchedule,
) -> Result<(), EngineError> {
    let mut later = Vec::new();
    for &(at, a) in &schedule.steps {
        if at == 0 {
            apply_fault(&h, a);
        } else {
            later.push((at, a));
        }
    }
    if later.is_empty() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("ipsecd-faults".into())
        .spawn(move || {
            for (at, a) in later {
                while h.lock().packets_done < at {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                apply_fault(&h, a);
            }
        })
        .map(|_| ())
        .map_err(EngineError::Thread)
}

/// Opens the configured card backend with a fault schedule (model backend only).
pub fn open_with(
    device: OffloadDevice,
    faults: &FaultSchedule,
) -> Result<Option<SharedEngine>, EngineError> {
    if !faults.is_empty() && device != OffloadDevice::Model {
        return Err(EngineError::NotBuilt(
            "a fault schedule (model_faults) needs offload_device = \"model\"",
        ));
    }
    match device {
        OffloadDevice::None => Ok(None),
        OffloadDevice::Model => {
            let model = driver::model::ModelCard::new();
            let h = model.faults();
            let engine = engine_over(model)?;
            run_schedule(h, faults)?;
            Ok(Some(engine))
        }
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
    spi: u32,
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
            spi: out_cfg.spi.0,
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

impl CardOutbound {
    /// Moves the card's counter so the next packet gets `next` (see
    /// [`Engine::resume_outbound`]).
    pub fn resume(&self, next: u64) -> Result<(), DriverError> {
        self.engine
            .lock()
            .map_err(|_| DriverError::Capability("offload engine poisoned".into()))?
            .resume_outbound(self.id, self.spi, next)
    }
}

impl OutboundPath for CardOutbound {
    fn reserve(&self, _count: u64) -> Result<Option<SeqNum>, EncapError> {
        // the engine numbers packets itself (the card's counter, or the software
        // SA it falls back to, which continues after the card's last number)
        Ok(None)
    }
    fn seal(
        &self,
        _seq: Option<SeqNum>,
        payload: &[u8],
        next_header: u8,
        out: &mut [u8],
    ) -> Result<Sealed, EncapError> {
        let (dgram, seq) = {
            let mut e = self.engine.lock().map_err(|_| EncapError::Crypto)?;
            e.seal(self.id, payload, next_header)?
        };
        let have = out.len();
        let dst = out
            .get_mut(..dgram.len())
            .ok_or(EncapError::BufferTooSmall {
                need: dgram.len(),
                have,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_needs_the_model_backend() {
        let s = FaultSchedule::parse(&["hang@1"]).expect("valid");
        assert!(open_with(OffloadDevice::None, &s).is_err());
    }

    #[test]
    fn scheduled_hang_fences_the_card_and_the_sa_continues_in_software() {
        let s = FaultSchedule::parse(&["hang@6"]).expect("valid");
        let engine = open_with(OffloadDevice::Model, &s)
            .expect("model")
            .expect("engine");
        let key = [9u8; 20];
        let oc = SaConfig::new(esp::Spi(0xa1), Transform::AesGcm128, &key).expect("cfg");
        let ic = SaConfig::new(esp::Spi(0xb1), Transform::AesGcm128, &key).expect("cfg");
        let (o, _i, kind) = add_pair(&engine, &oc, &ic).expect("pair");
        assert_eq!(kind, PathKind::Card);
        let mut seqs = Vec::new();
        let mut buf = vec![0u8; 256];
        for _ in 0..40 {
            let s = o
                .seal(None, &[0x45; 60], 4, &mut buf)
                .expect("sealed on some path");
            seqs.push(s.seq.0);
            // the schedule thread applies the hang once the card has done 6 things
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(o.kind(), PathKind::Software, "card not fenced off");
        let c = engine.lock().expect("engine").counters();
        assert!(c.card_faults >= 1 && c.sas_moved_to_software >= 1, "{c:?}");
        // one counter across the move: strictly increasing, none reused
        assert!(seqs.windows(2).all(|w| w[1] > w[0]), "{seqs:?}");
    }

    #[test]
    fn a_healed_card_takes_its_sas_back_and_the_counter_continues() {
        let model = driver::model::ModelCard::new();
        let h = model.faults();
        let engine = engine_over(model).expect("engine");
        let key = [7u8; 20];
        let oc = SaConfig::new(esp::Spi(0xa2), Transform::AesGcm128, &key).expect("cfg");
        let ic = SaConfig::new(esp::Spi(0xb2), Transform::AesGcm128, &key).expect("cfg");
        let (o, _i, kind) = add_pair(&engine, &oc, &ic).expect("pair");
        assert_eq!(kind, PathKind::Card);
        let mut buf = vec![0u8; 256];
        let mut seqs = Vec::new();
        let mut seal = |seqs: &mut Vec<u64>| {
            let s = o.seal(None, &[0x45; 60], 4, &mut buf).expect("sealed");
            seqs.push(s.seq.0);
        };
        seal(&mut seqs);
        apply_fault(&h, FaultAction::Hang);
        seal(&mut seqs);
        assert_eq!(o.kind(), PathKind::Software, "card not fenced off");
        assert!(!engine.lock().expect("engine").healthy());
        // still hung: recovery fails and the SA stays in software
        assert!(engine.lock().expect("engine").recover().is_err());
        seal(&mut seqs);
        assert_eq!(o.kind(), PathKind::Software);
        apply_fault(&h, FaultAction::Heal);
        let back = engine.lock().expect("engine").recover().expect("recovered");
        assert_eq!(back, 2, "both halves back on the card");
        assert_eq!(o.kind(), PathKind::Card);
        let done = h.lock().packets_done;
        seal(&mut seqs);
        assert!(h.lock().packets_done > done, "the card sealed it");
        assert!(seqs.windows(2).all(|w| w[1] > w[0]), "{seqs:?}");
    }

    #[test]
    fn resume_moves_the_card_counter_and_the_shadow() {
        let engine = open(OffloadDevice::Model).expect("model").expect("engine");
        let key = [3u8; 20];
        let oc = SaConfig::new(esp::Spi(0xa2), Transform::AesGcm128, &key).expect("cfg");
        let ic = SaConfig::new(esp::Spi(0xb2), Transform::AesGcm128, &key).expect("cfg");
        let (o, _i, kind) = add_pair(&engine, &oc, &ic).expect("pair");
        assert_eq!(kind, PathKind::Card);
        o.resume(1 << 24).expect("resume");
        assert_eq!(o.next_seq(), Some(SeqNum(1 << 24)));
        let mut buf = vec![0u8; 256];
        let s = o.seal(None, &[0x45; 60], 4, &mut buf).expect("seal");
        assert_eq!(s.seq, SeqNum(1 << 24), "the card used the resumed number");
        assert_eq!(&buf[4..8], &(1u32 << 24).to_be_bytes());
        // the software reference opens what the card sealed at that number
        let mut inb = esp::InboundSa::new(&oc).expect("in");
        let mut d = buf[..s.len].to_vec();
        assert_eq!(inb.open(&mut d).expect("open").seq, SeqNum(1 << 24));
    }
}
