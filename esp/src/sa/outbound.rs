//! [`OutboundSa`]: seals packets under the SA's own sequence counter, with
//! lifetimes; [`Sealed`] is what one seal reports.

use std::sync::Arc;

use super::config::{Mode, SaConfig, UdpEncap};
use super::datagram::{esp_datagram_len, SaCore};
use super::lifetime::{seq_last, LifetimeMeter, Usage};
use crate::error::{ConfigError, EncapError, SeqError};
use crate::types::{SeqNum, Spi, Transform};

/// Result of sealing one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// Length of the ESP datagram written (or of the whole packet, for the
    /// packet layer).
    pub len: usize,
    /// The sequence number used.
    pub seq: SeqNum,
    /// True exactly once: on the packet that reached a soft lifetime. The
    /// caller should start a rekey.
    pub soft_expired: bool,
}

/// An outbound SA: seals packets with a per-SA counter.
#[derive(Debug)]
pub struct OutboundSa {
    pub(crate) core: SaCore,
    /// Next sequence number to use; 0 means the space is exhausted.
    next: u64,
    life: Arc<LifetimeMeter>,
}

impl OutboundSa {
    /// Creates the SA; the first packet gets sequence number 1.
    pub fn new(cfg: &SaConfig) -> Result<Self, ConfigError> {
        Ok(OutboundSa {
            core: SaCore::new(cfg)?,
            next: 1,
            life: Arc::new(LifetimeMeter::new(cfg.lifetime, cfg.esn)),
        })
    }

    super::sa_params!();
    /// Packets and bytes sealed so far.
    pub fn usage(&self) -> Usage {
        self.life.usage()
    }

    /// The SA's lifetime meter: what [`seal`](Self::seal) counts on. A caller
    /// that seals with [`seal_at`](Self::seal_at) counts on it itself.
    pub fn lifetime(&self) -> &Arc<LifetimeMeter> {
        &self.life
    }

    fn max_seq(&self) -> u64 {
        seq_last(self.core.esn)
    }

    /// The sequence number the next packet will get, or `None` when exhausted.
    pub fn next_seq(&self) -> Option<SeqNum> {
        (self.next != 0 && self.next <= self.max_seq()).then_some(SeqNum(self.next))
    }

    /// Moves the counter forward so the next packet gets `next` (e.g. to carry
    /// on where a card's counter stopped). Never moves backwards.
    pub fn set_next_seq(&mut self, next: SeqNum) -> Result<(), SeqError> {
        let current = self.next_seq().ok_or(SeqError::Exhausted)?;
        if next < current {
            return Err(SeqError::Backwards {
                current,
                requested: next,
            });
        }
        if next.0 > self.max_seq() {
            return Err(SeqError::Exhausted);
        }
        self.next = next.0;
        Ok(())
    }

    /// Reserves `count` consecutive sequence numbers (for a batch, or for a
    /// card that numbers packets itself) and returns the first. The counter
    /// moves past them.
    pub fn reserve(&mut self, count: u64) -> Result<SeqNum, EncapError> {
        let first = self.next_seq().ok_or(EncapError::RekeyRequired)?;
        if count == 0 {
            return Ok(first);
        }
        let last = first
            .0
            .checked_add(count - 1)
            .filter(|&l| l <= self.max_seq())
            .ok_or(EncapError::RekeyRequired)?;
        // Past u64::MAX the counter reads 0 = exhausted.
        self.next = last.wrapping_add(1);
        if self.next > self.max_seq() {
            self.next = 0;
        }
        Ok(first)
    }

    /// Length of the ESP header (SPI, sequence number, IV): where the payload
    /// goes for [`seal_in_place`](Self::seal_in_place).
    pub fn header_len(&self) -> usize {
        self.core.transform.header_len()
    }

    /// Length of the ESP datagram for a payload of `payload_len` bytes (with
    /// padding, trailer and ICV; without TFC padding).
    pub fn datagram_len(&self, payload_len: usize) -> usize {
        esp_datagram_len(self.core.transform, payload_len)
    }

    fn begin(&mut self) -> Result<SeqNum, EncapError> {
        if self.life.hard_reached() {
            return Err(EncapError::HardLifetime);
        }
        self.reserve(1)
    }

    /// Seals `payload` (with `next_header`, e.g. 4 or 41 in tunnel mode) into
    /// an ESP datagram written to `out`, using the next sequence number.
    /// Returns the datagram length. No allocation.
    pub fn seal(
        &mut self,
        payload: &[u8],
        next_header: u8,
        out: &mut [u8],
    ) -> Result<Sealed, EncapError> {
        self.place_payload(payload, out)?;
        self.seal_in_place(out, payload.len(), next_header)
    }

    /// Like [`seal`](Self::seal) with the payload already in place at
    /// `buf[header_len()..header_len() + payload_len]` (no copy).
    pub fn seal_in_place(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        next_header: u8,
    ) -> Result<Sealed, EncapError> {
        self.seal_in_place_tfc(buf, payload_len, next_header, 0)
    }

    /// [`seal_in_place`](Self::seal_in_place) with `tfc_len` zeros of TFC
    /// padding after the payload (tunnel mode, packet layer).
    pub(crate) fn seal_in_place_tfc(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        next_header: u8,
        tfc_len: usize,
    ) -> Result<Sealed, EncapError> {
        // Checked before a sequence number is used up.
        check_room(buf, self.datagram_len(payload_len + tfc_len))?;
        let seq = self.begin()?;
        let len = self
            .core
            .seal_raw(seq, None, buf, payload_len, next_header, tfc_len)?;
        let soft_expired = self.life.account(payload_len, seq);
        Ok(Sealed {
            len,
            seq,
            soft_expired,
        })
    }

    /// Seals at an explicit sequence number, leaving the counter and lifetimes
    /// alone. `iv = None` uses the SA's IV rule (the 64-bit sequence number for
    /// GCM/GMAC); an explicit IV is for published vectors and for checking a
    /// card. Never use it twice with the same sequence number on a live SA.
    pub fn seal_at(
        &self,
        seq: SeqNum,
        iv: Option<&[u8]>,
        payload: &[u8],
        next_header: u8,
        out: &mut [u8],
    ) -> Result<usize, EncapError> {
        self.place_payload(payload, out)?;
        self.core
            .seal_raw(seq, iv, out, payload.len(), next_header, 0)
    }

    /// Copies `payload` to where the datagram in `out` carries it, after
    /// checking that `out` holds the whole datagram.
    fn place_payload(&self, payload: &[u8], out: &mut [u8]) -> Result<(), EncapError> {
        check_room(out, self.datagram_len(payload.len()))?;
        let hl = self.header_len();
        out.get_mut(hl..hl + payload.len())
            .ok_or(EncapError::TooLarge)?
            .copy_from_slice(payload);
        Ok(())
    }
}

/// `buf` has room for `need` bytes.
pub(crate) fn check_room(buf: &[u8], need: usize) -> Result<(), EncapError> {
    if buf.len() < need {
        return Err(EncapError::BufferTooSmall {
            need,
            have: buf.len(),
        });
    }
    Ok(())
}
