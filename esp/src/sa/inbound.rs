//! [`InboundSa`]: opens packets, keeps the replay window and lifetimes, and
//! offers the two halves of the card path; [`Opened`] is what one open
//! reports.

use core::ops::Range;

use std::sync::Arc;

use super::config::{Mode, SaConfig, UdpEncap};
use super::datagram::SaCore;
use super::lifetime::{LifetimeMeter, Usage};
use super::read_u32;
use crate::error::{ConfigError, DecapError};
use crate::replay::ReplayWindow;
use crate::types::{SeqNum, Spi, Transform};

/// Result of opening one ESP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The authenticated 64-bit sequence number.
    pub seq: SeqNum,
    /// Next header from the trailer.
    pub next_header: u8,
    /// Where the decrypted payload now lies, relative to the datagram.
    pub payload: Range<usize>,
    /// True exactly once, on the packet that reached a soft lifetime.
    pub soft_expired: bool,
}

/// An inbound SA: opens packets, keeps the replay window.
#[derive(Debug)]
pub struct InboundSa {
    pub(crate) core: SaCore,
    replay: ReplayWindow,
    life: Arc<LifetimeMeter>,
}

impl InboundSa {
    /// Creates the SA.
    pub fn new(cfg: &SaConfig) -> Result<Self, ConfigError> {
        Ok(InboundSa {
            core: SaCore::new(cfg)?,
            replay: ReplayWindow::new(cfg.replay_window, cfg.esn)?,
            life: Arc::new(LifetimeMeter::new(cfg.lifetime, cfg.esn)),
        })
    }

    super::sa_params!();
    /// Packets and bytes accepted so far.
    pub fn usage(&self) -> Usage {
        self.life.usage()
    }
    /// The SA's lifetime meter (what [`open`](Self::open) and
    /// [`accept_verified`](Self::accept_verified) count on).
    pub fn lifetime(&self) -> &Arc<LifetimeMeter> {
        &self.life
    }
    /// The replay window (read-only).
    pub fn replay_window(&self) -> &ReplayWindow {
        &self.replay
    }

    /// Places the replay window so that `next` is the next number expected
    /// ([`ReplayWindow::start_at`]): an SA taken up in the middle of its life.
    pub fn start_window_at(&mut self, next: SeqNum) {
        self.replay.start_at(next);
    }

    /// Replay pre-check for a packet whose low sequence half is `seq_lo`:
    /// returns the inferred 64-bit sequence number (pass its high half to the
    /// card with ESN). Changes nothing.
    pub fn replay_check(&self, seq_lo: u32) -> Result<SeqNum, DecapError> {
        Ok(self.replay.check(seq_lo)?)
    }

    /// After the card (or anyone else) verified the ICV of packet `seq` with
    /// `payload_len` payload bytes: updates the replay window and the lifetime
    /// counters. Returns true exactly once, when a soft lifetime is reached.
    pub fn accept_verified(&mut self, seq: SeqNum, payload_len: usize) -> Result<bool, DecapError> {
        self.replay.update(seq)?;
        Ok(self.life.account(payload_len, seq))
    }

    /// Opens an ESP datagram (SPI .. ICV) in place. Checks, in order: length,
    /// SPI, hard lifetime, replay pre-check, ICV (constant time), replay update,
    /// trailer. The payload is decrypted in place; see [`Opened::payload`].
    pub fn open(&mut self, datagram: &mut [u8]) -> Result<Opened, DecapError> {
        let t = self.core.transform;
        if datagram.len() < t.header_len() + 2 + t.icv_len() {
            return Err(DecapError::Truncated(
                "shorter than the smallest ESP packet",
            ));
        }
        let spi = Spi(read_u32(datagram, 0).ok_or(DecapError::Truncated("SPI"))?);
        if spi != self.core.spi {
            return Err(DecapError::SpiMismatch {
                expected: self.core.spi,
                got: spi,
            });
        }
        if self.life.hard_reached() {
            return Err(DecapError::HardLifetime);
        }
        let seq_lo = read_u32(datagram, 4).ok_or(DecapError::Truncated("sequence number"))?;
        let seq = self.replay.check(seq_lo)?;
        // ICV and decryption; trailer checks come after the replay update.
        let res = self.core.open_raw(seq, datagram);
        if let Err(e @ (DecapError::AuthFailed | DecapError::Truncated(_))) = res {
            return Err(e);
        }
        self.replay.update(seq)?;
        let (payload, next_header) = res?;
        let soft_expired = self.life.account(payload.len(), seq);
        Ok(Opened {
            seq,
            next_header,
            payload,
            soft_expired,
        })
    }

    /// Verifies and decrypts at a given full sequence number without touching
    /// the replay window or lifetimes (an oracle for checking the card).
    pub fn open_at(&self, seq: SeqNum, datagram: &mut [u8]) -> Result<Opened, DecapError> {
        let (payload, next_header) = self.core.open_raw(seq, datagram)?;
        Ok(Opened {
            seq,
            next_header,
            payload,
            soft_expired: false,
        })
    }
}
