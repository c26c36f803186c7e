//! Where the ESP layer of one SA runs: the card or software. The data path
//! talks only to [`OutboundPath`] and [`InboundPath`]; [`select`] applies the
//! offload policy (`auto | card | software`) per SA.
//!
//! The software path is the `esp` crate's SA. A card path comes from the
//! driver's offload/fallback layer when a card backend is configured.

use serde::Serialize;

use esp::{DecapError, EncapError, InboundSa, Opened, OutboundSa, SaConfig, Sealed, SeqNum, Spi};

use crate::card::{self, SharedEngine};
use crate::config::OffloadPolicy;
use crate::sa::{ChildSaSpec, InstallError};

/// Which engine carries an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// The software ESP path (`esp`).
    Software,
    /// The card (real or simulated).
    Card,
}

impl std::fmt::Display for PathKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PathKind::Software => "software",
            PathKind::Card => "card",
        })
    }
}

/// Seals outbound packets of one SA into ESP datagrams (SPI .. ICV).
pub trait OutboundPath: Send {
    /// Seals `buf[header_len()..header_len() + payload_len]` in place.
    fn seal_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        next_header: u8,
    ) -> Result<Sealed, EncapError>;
    /// ESP header length (where the payload goes).
    fn header_len(&self) -> usize;
    /// Datagram length for a payload length.
    fn datagram_len(&self, payload_len: usize) -> usize;
    /// The next sequence number (for persisting; never reused).
    fn next_seq(&self) -> Option<SeqNum>;
    /// Which engine this is.
    fn kind(&self) -> PathKind;
}

/// Opens inbound ESP datagrams of one SA, replay window included.
pub trait InboundPath: Send {
    /// Checks and decrypts in place.
    fn open(&mut self, datagram: &mut [u8]) -> Result<Opened, DecapError>;
    /// Which engine this is.
    fn kind(&self) -> PathKind;
}

impl OutboundPath for OutboundSa {
    fn seal_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        next_header: u8,
    ) -> Result<Sealed, EncapError> {
        OutboundSa::seal_in_place(self, buf, payload_len, next_header)
    }
    fn header_len(&self) -> usize {
        OutboundSa::header_len(self)
    }
    fn datagram_len(&self, payload_len: usize) -> usize {
        OutboundSa::datagram_len(self, payload_len)
    }
    fn next_seq(&self) -> Option<SeqNum> {
        OutboundSa::next_seq(self)
    }
    fn kind(&self) -> PathKind {
        PathKind::Software
    }
}

impl InboundPath for InboundSa {
    fn open(&mut self, datagram: &mut [u8]) -> Result<Opened, DecapError> {
        InboundSa::open(self, datagram)
    }
    fn kind(&self) -> PathKind {
        PathKind::Software
    }
}

/// The two halves of an SA pair on their chosen engine.
pub struct Paths {
    /// Outbound half.
    pub outbound: Box<dyn OutboundPath>,
    /// Inbound half.
    pub inbound: Box<dyn InboundPath>,
    /// Engine.
    pub kind: PathKind,
    /// Why software was chosen under `auto` (for logs and status), if it was.
    pub fallback_reason: Option<String>,
}

impl std::fmt::Debug for Paths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paths")
            .field("kind", &self.kind)
            .field("fallback_reason", &self.fallback_reason)
            .finish()
    }
}

fn esp_config(spec: &ChildSaSpec, spi: u32, key: &[u8]) -> Result<SaConfig, InstallError> {
    let mut c = SaConfig::new(Spi(spi), spec.transform, key)
        .map_err(|source| InstallError::Esp { spi, source })?;
    c.esn = spec.esn;
    c.replay_window = spec.replay_window.max(32);
    if spec.lifetime.packets > 0 {
        c.lifetime.hard_packets = Some(spec.lifetime.packets);
    }
    if spec.lifetime.bytes > 0 {
        c.lifetime.hard_bytes = Some(spec.lifetime.bytes);
    }
    Ok(c)
}

/// Builds the software halves of an SA pair; the outbound counter starts at `first_seq`.
pub fn software(
    spec: &ChildSaSpec,
    first_seq: u64,
) -> Result<(OutboundSa, InboundSa), InstallError> {
    let oc = esp_config(spec, spec.outbound.spi, spec.outbound.key.as_bytes())?;
    let ic = esp_config(spec, spec.inbound.spi, spec.inbound.key.as_bytes())?;
    let mut out = OutboundSa::new(&oc).map_err(|source| InstallError::Esp {
        spi: spec.outbound.spi,
        source,
    })?;
    if first_seq > 1 {
        out.set_next_seq(SeqNum(first_seq))
            .map_err(|_| InstallError::Esp {
                spi: spec.outbound.spi,
                source: esp::ConfigError::Lifetime,
            })?;
    }
    let inb = InboundSa::new(&ic).map_err(|source| InstallError::Esp {
        spi: spec.inbound.spi,
        source,
    })?;
    Ok((out, inb))
}

/// Applies the offload policy of `spec` given the card engine (None: no card).
///
/// With no card, `auto` runs in software silently and `card` is refused. With a
/// card, `auto` and `card` go through the driver's offload layer, which places the
/// SA on the card or (under `auto`) in software when the card cannot carry it;
/// `card` refuses an SA that did not land on the card.
pub fn select(
    spec: &ChildSaSpec,
    engine: Option<&SharedEngine>,
    first_seq: u64,
) -> Result<Paths, InstallError> {
    let spi = spec.outbound.spi;
    match (spec.offload, engine) {
        (OffloadPolicy::Software, _) => {
            let (o, i) = software(spec, first_seq)?;
            Ok(Paths {
                outbound: Box::new(o),
                inbound: Box::new(i),
                kind: PathKind::Software,
                fallback_reason: None,
            })
        }
        (OffloadPolicy::Card, None) => Err(InstallError::CardRequired {
            spi,
            reason: "no card device configured (offload_device)".into(),
        }),
        (OffloadPolicy::Auto, None) => {
            let (o, i) = software(spec, first_seq)?;
            Ok(Paths {
                outbound: Box::new(o),
                inbound: Box::new(i),
                kind: PathKind::Software,
                fallback_reason: Some("no card device configured".into()),
            })
        }
        (policy, Some(_)) if first_seq > 1 => {
            // The engine numbers a new SA from 1; resuming a saved counter (restart with
            // the same manual keys) is only possible in software.
            let reason =
                "resuming a saved outbound sequence number needs the software path".to_string();
            if policy == OffloadPolicy::Card {
                return Err(InstallError::CardRequired { spi, reason });
            }
            let (o, i) = software(spec, first_seq)?;
            Ok(Paths {
                outbound: Box::new(o),
                inbound: Box::new(i),
                kind: PathKind::Software,
                fallback_reason: Some(reason),
            })
        }
        (policy, Some(engine)) => {
            let oc = esp_config(spec, spec.outbound.spi, spec.outbound.key.as_bytes())?;
            let ic = esp_config(spec, spec.inbound.spi, spec.inbound.key.as_bytes())?;
            let (o, i, kind) =
                card::add_pair(engine, &oc, &ic).map_err(|e| InstallError::CardRequired {
                    spi,
                    reason: e.to_string(),
                })?;
            if policy == OffloadPolicy::Card && kind != PathKind::Card {
                return Err(InstallError::CardRequired {
                    spi,
                    reason: "the card did not accept the SA".into(),
                });
            }
            let reason =
                (kind != PathKind::Card).then(|| "the card did not accept the SA".to_string());
            Ok(Paths {
                outbound: Box::new(o),
                inbound: Box::new(i),
                kind,
                fallback_reason: reason,
            })
        }
    }
}
