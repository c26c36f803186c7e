//! The `Card` API: probe, SA table management with a shadow copy, batched packets,
//! counters, reset and reload.
//!
//! Files: `identity.rs` (what the card reports about itself: identity block and
//! counters), `sa.rs` (an SA as the card holds it, and what the card cannot carry),
//! this file (`Card`: probe, SA commands, packets, reset and reload), `tests.rs`.

mod identity;
mod sa;

use regmap::regs::off;
use regmap::{SaCmdError, SaCmdStatus, SaOp, Verdict};
use zeroize::Zeroizing;

use crate::port::{field, Direction, MmioWindowPort, PacketPort, PacketRequest, PacketResult};
use crate::{DriverError, RegIo};

pub use identity::{read_dma_queues, read_identity, CardCounters, Identity};
pub use sa::{unsupported_reason, CardSa, SaIndex, SaReadback};

/// Value the driver leaves in `SCRATCH` (reset value 0): if it reads back anything
/// else, the card was reset behind the driver's back.
const SCRATCH_COOKIE: u32 = 0x5ec0_0001;

/// Driver tuning.
#[derive(Debug, Clone, Copy)]
pub struct CardConfig {
    /// Largest number of status reads in any poll before it becomes
    /// [`DriverError::Timeout`].
    pub poll_limit: u32,
}

impl Default for CardConfig {
    fn default() -> Self {
        CardConfig {
            poll_limit: 100_000,
        }
    }
}

/// Driver-side events (not card counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DriverStats {
    /// Resets noticed through `SCRATCH`.
    pub resets_detected: u64,
    /// SA table reloads from the shadow.
    pub reloads: u64,
    /// Polls that ran out.
    pub timeouts: u64,
}

fn cmd_field() -> regmap::Field {
    field("SA_CMD", "OP")
}

/// A probed card over register window `R`, moving packets through port `P`.
pub struct Card<R: RegIo, P: PacketPort<R> = MmioWindowPort> {
    regs: R,
    port: P,
    cfg: CardConfig,
    ident: Identity,
    shadow: Vec<Option<CardSa>>,
    stats: DriverStats,
}

impl<R: RegIo, P: PacketPort<R>> std::fmt::Debug for Card<R, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("identity", &self.ident)
            .field("installed", &self.installed())
            .field("stats", &self.stats)
            .finish()
    }
}

impl<R: RegIo> Card<R, MmioWindowPort> {
    /// Probes the card behind `regs` with the MMIO window port.
    pub fn probe(regs: R, cfg: CardConfig) -> Result<Self, DriverError> {
        Card::probe_with_port(regs, MmioWindowPort, cfg)
    }
}

impl<R: RegIo, P: PacketPort<R>> Card<R, P> {
    /// Probes the card behind `regs`: checks magic, layout version and capabilities
    /// against `regmap` (an unknown layout is refused), and marks it in `SCRATCH`.
    pub fn probe_with_port(mut regs: R, port: P, cfg: CardConfig) -> Result<Self, DriverError> {
        let ident = read_identity(&mut regs)?;
        regs.write32(off::SCRATCH, SCRATCH_COOKIE)?;
        tracing::info!(
            layout = ident.layout_version,
            caps = ?ident.capability_names(),
            sas = ident.num_sas,
            "card probed"
        );
        Ok(Card {
            regs,
            port,
            cfg,
            shadow: vec![None; ident.num_sas as usize],
            ident,
            stats: DriverStats::default(),
        })
    }

    /// The identity read at probe time.
    pub fn identity(&self) -> &Identity {
        &self.ident
    }

    /// Driver-side event counts.
    pub fn stats(&self) -> DriverStats {
        self.stats
    }

    /// The packet port (for its counters and queue state).
    pub fn port(&self) -> &P {
        &self.port
    }

    /// The packet port, mutable (backend-specific control).
    pub fn port_mut(&mut self) -> &mut P {
        &mut self.port
    }

    /// The register window (for backend-specific control, e.g. a hard reset).
    pub fn regs_mut(&mut self) -> &mut R {
        &mut self.regs
    }

    /// Number of SAs installed.
    pub fn installed(&self) -> usize {
        self.shadow.iter().filter(|s| s.is_some()).count()
    }

    /// Capacity of the SA table.
    pub fn capacity(&self) -> usize {
        self.shadow.len()
    }

    /// The shadow copy of the SA in `index`.
    pub fn shadow(&self, index: SaIndex) -> Option<&CardSa> {
        self.shadow
            .get(usize::from(index.0))
            .and_then(|s| s.as_ref())
    }

    /// Raises the shadow's sequence number of entry `index` to `seq` when it is
    /// lower (the card may have used every number up to `seq`): a later reload
    /// starts after it. Never lowers it; no register access.
    pub fn raise_shadow_seq(&mut self, index: SaIndex, seq: u64) {
        if let Some(Some(sa)) = self.shadow.get_mut(usize::from(index.0)) {
            sa.seq = sa.seq.max(seq);
        }
    }

    /// Checks that the card can carry `sa` (no register access).
    pub fn check_sa(&self, sa: &CardSa) -> Result<(), DriverError> {
        match unsupported_reason(self.ident.caps(), sa) {
            Some(reason) => Err(DriverError::SaUnsupported {
                spi: sa.spi,
                reason,
            }),
            None => Ok(()),
        }
    }

    fn timed<T>(&mut self, r: Result<T, DriverError>) -> Result<T, DriverError> {
        if let Err(DriverError::Timeout { .. }) = &r {
            self.stats.timeouts += 1;
        }
        r
    }

    fn run_cmd(&mut self, index: SaIndex, op: SaOp) -> Result<SaCmdStatus, DriverError> {
        self.regs.write32(off::SA_INDEX, u32::from(index.0))?;
        self.regs.write32(off::SA_CMD, cmd_field().put(op as u32))?;
        let r = crate::poll_until(
            &mut self.regs,
            off::SA_CMD_STATUS,
            self.cfg.poll_limit,
            "SA command",
            |v| {
                let s = SaCmdStatus::from_bits_retain(v);
                !s.contains(SaCmdStatus::BUSY)
                    && s.intersects(SaCmdStatus::DONE | SaCmdStatus::ERROR)
            },
        );
        let st = SaCmdStatus::from_bits_retain(self.timed(r)?);
        Ok(st)
    }

    fn program(&mut self, index: SaIndex, sa: &CardSa, op: SaOp) -> Result<(), DriverError> {
        self.regs.write32(off::SA_INDEX, u32::from(index.0))?;
        self.regs.write32(off::SA_SPI, sa.spi)?;
        self.regs
            .write32(off::SA_SALT, u32::from_le_bytes(*sa.salt))?;
        self.regs.write32(off::SA_FLAGS, sa.flags().bits())?;
        self.regs.write64(off::SA_SEQ_LO, sa.seq)?;
        for w in 0..off::SA_KEY_WORDS {
            let mut word = Zeroizing::new([0u8; 4]);
            for (i, b) in word.iter_mut().enumerate() {
                *b = sa.key.get(4 * w as usize + i).copied().unwrap_or(0);
            }
            self.regs
                .write32(off::SA_KEY0 + 4 * w, u32::from_le_bytes(*word))?;
        }
        let st = self.run_cmd(index, op)?;
        if st.contains(SaCmdStatus::ERROR) {
            let code = field("SA_CMD_STATUS", "ERR_CODE").get(st.bits());
            let err = SaCmdError::from_code(code);
            return Err(match err {
                Some(SaCmdError::Unsupported) => DriverError::SaUnsupported {
                    spi: sa.spi,
                    reason: "the card refused the SA parameters (SaCmdError::Unsupported)".into(),
                },
                _ => DriverError::CardStatus {
                    what: "SA install/update",
                    status: st.bits(),
                },
            });
        }
        Ok(())
    }

    /// Installs `sa` in a free entry. Parameters the card cannot carry are refused here
    /// with the reason ([`DriverError::SaUnsupported`]).
    pub fn install_sa(&mut self, sa: CardSa) -> Result<SaIndex, DriverError> {
        self.check_sa(&sa)?;
        let slot =
            self.shadow
                .iter()
                .position(|s| s.is_none())
                .ok_or(DriverError::SaTableFull {
                    capacity: self.ident.num_sas,
                })?;
        let index = SaIndex(slot as u16);
        self.program(index, &sa, SaOp::Install)?;
        tracing::debug!(spi = sa.spi, index = index.0, "SA installed on card");
        self.shadow[slot] = Some(sa);
        Ok(index)
    }

    /// Replaces the SA in `index` (new key, sequence counter, ...).
    ///
    /// `SaOp::Update` rewrites SPI, flags and counter but keeps the card's expanded
    /// key, so a new key or key size is programmed with `SaOp::Install` instead (the
    /// card then derives the round keys and H again).
    pub fn update_sa(&mut self, index: SaIndex, sa: CardSa) -> Result<(), DriverError> {
        self.check_sa(&sa)?;
        let Some(old) = self.shadow(index) else {
            return Err(DriverError::NoSuchSa(index.0.into()));
        };
        let same_key = old.transform == sa.transform && old.key == sa.key && old.salt == sa.salt;
        let op = if same_key {
            SaOp::Update
        } else {
            SaOp::Install
        };
        self.program(index, &sa, op)?;
        self.shadow[usize::from(index.0)] = Some(sa);
        Ok(())
    }

    /// Removes the SA in `index` and returns its shadow (with the last sequence number
    /// the driver saw).
    pub fn remove_sa(&mut self, index: SaIndex) -> Result<CardSa, DriverError> {
        if self.shadow(index).is_none() {
            return Err(DriverError::NoSuchSa(index.0.into()));
        }
        let st = self.run_cmd(index, SaOp::Remove)?;
        let sa = self.shadow[usize::from(index.0)].take();
        if st.contains(SaCmdStatus::ERROR) {
            tracing::warn!(
                index = index.0,
                status = st.bits(),
                "card refused SA removal"
            );
        }
        sa.ok_or(DriverError::NoSuchSa(index.0.into()))
    }

    /// Reads the card's state of entry `index`.
    pub fn read_sa(&mut self, index: SaIndex) -> Result<SaReadback, DriverError> {
        let st = self.run_cmd(index, SaOp::Read)?;
        if st.contains(SaCmdStatus::ERROR) {
            return Err(DriverError::CardStatus {
                what: "SA read",
                status: st.bits(),
            });
        }
        Ok(SaReadback {
            spi: self.regs.read32(off::SA_RB_SPI)?,
            flags: self.regs.read32(off::SA_RB_FLAGS)?,
            seq: self.regs.read64(off::SA_RB_SEQ_LO)?,
            packets: self.regs.read64(off::SA_RB_PKTS_LO)?,
            bytes: self.regs.read64(off::SA_RB_BYTES_LO)?,
            auth_fail: self.regs.read32(off::SA_RB_AUTH_FAIL)?,
        })
    }

    /// Moves a batch through the card. Results for completed packets are appended to
    /// `out` even when an error ends the batch early (see [`PacketPort`]). Outbound
    /// results advance the shadow sequence counters; when a batch fails, each outbound
    /// request without a result advances its SA's shadow counter by one as well (the
    /// card may have used that number), so a reload or a move to software never
    /// reuses a number.
    pub fn process(
        &mut self,
        reqs: &[PacketRequest<'_>],
        out: &mut Vec<PacketResult>,
    ) -> Result<(), DriverError> {
        let start = out.len();
        let r = self
            .port
            .process(&mut self.regs, reqs, out, self.cfg.poll_limit);
        self.account(reqs, &out[start..], r)
    }

    /// What a batch did to the shadow's sequence numbers: every outbound result
    /// (`results`, of `reqs` in order) raises its SA's number, and when the batch
    /// failed (`r`) every outbound request handed over without a result counts as
    /// one number used. Returns `r` (a timeout is counted). [`Card::process`] calls
    /// it; a lane, which moves packets on its own queue pair outside the engine,
    /// hands its batch back here ([`crate::offload::Lane`]).
    pub fn account(
        &mut self,
        reqs: &[PacketRequest<'_>],
        results: &[PacketResult],
        r: Result<(), DriverError>,
    ) -> Result<(), DriverError> {
        let collected = results.len();
        for (req, res) in reqs.iter().zip(results) {
            if req.direction == Direction::Outbound && res.verdict == Verdict::Ok {
                if let Some(Some(sa)) = self.shadow.get_mut(usize::from(req.sa_index)) {
                    sa.seq = sa.seq.max(res.seq);
                }
            }
        }
        if r.is_err() {
            // Every outbound request handed over without a result may have consumed a
            // sequence number on the card: never hand those numbers out again.
            for req in &reqs[collected.min(reqs.len())..] {
                if req.direction == Direction::Outbound {
                    if let Some(Some(sa)) = self.shadow.get_mut(usize::from(req.sa_index)) {
                        sa.seq = sa.seq.saturating_add(1);
                    }
                }
            }
        }
        self.timed(r)
    }

    /// Hands result buffers back to the packet port (see [`PacketPort::recycle`]).
    pub fn recycle(&mut self, bufs: &mut Vec<Vec<u8>>) {
        self.port.recycle(bufs);
    }

    /// Card-wide counters.
    pub fn counters(&mut self) -> Result<CardCounters, DriverError> {
        Ok(CardCounters {
            out_pkts: self.regs.read64(off::CNT_OUT_PKTS_LO)?,
            out_bytes: self.regs.read64(off::CNT_OUT_BYTES_LO)?,
            in_pkts: self.regs.read64(off::CNT_IN_PKTS_LO)?,
            in_bytes: self.regs.read64(off::CNT_IN_BYTES_LO)?,
            auth_fail: self.regs.read64(off::CNT_AUTH_FAIL_LO)?,
            bad_desc: self.regs.read64(off::CNT_BAD_DESC_LO)?,
        })
    }

    /// True when the card still carries the driver's `SCRATCH` mark (no reset since
    /// probe or the last reload). Also checks the identity.
    pub fn is_intact(&mut self) -> Result<bool, DriverError> {
        read_identity(&mut self.regs)?;
        Ok(self.regs.read32(off::SCRATCH)? == SCRATCH_COOKIE)
    }

    /// Re-installs every shadow SA (with its last sequence number) into its entry and
    /// re-marks the card. Used after a reset.
    pub fn reload(&mut self) -> Result<usize, DriverError> {
        read_identity(&mut self.regs)?;
        let mut n = 0;
        for i in 0..self.shadow.len() {
            let Some(sa) = self.shadow[i].clone() else {
                continue;
            };
            let index = SaIndex(i as u16);
            // Install fails on an entry that survived; update it instead.
            if let Err(e) = self.program(index, &sa, SaOp::Install) {
                tracing::debug!(index = i, error = %e, "install on reload failed, updating");
                self.program(index, &sa, SaOp::Update)?;
            }
            n += 1;
        }
        self.regs.write32(off::SCRATCH, SCRATCH_COOKIE)?;
        self.stats.reloads += 1;
        tracing::info!(sas = n, "SA table reloaded from the shadow copy");
        Ok(n)
    }

    /// Checks for a reset behind the driver's back; if there was one, reloads the SA
    /// table. Returns true when a reload happened.
    pub fn recover(&mut self) -> Result<bool, DriverError> {
        if self.is_intact()? {
            return Ok(false);
        }
        self.stats.resets_detected += 1;
        tracing::warn!("card reset detected; reloading SAs");
        self.reload()?;
        Ok(true)
    }

    /// Resets the card's SA state from the driver side: every entry the driver
    /// installed is removed, sticky error events are cleared, then the SA table is
    /// reloaded from the shadow (so traffic resumes with the same entries and
    /// continuing sequence numbers).
    pub fn reset(&mut self) -> Result<(), DriverError> {
        for i in 0..self.shadow.len() {
            if self.shadow[i].is_some() {
                let _ = self.run_cmd(SaIndex(i as u16), SaOp::Remove)?;
            }
        }
        self.regs.write32(off::ERROR_EVENTS, u32::MAX)?;
        self.reload()?;
        Ok(())
    }

    /// Removes every SA and forgets the shadow.
    pub fn clear(&mut self) -> Result<(), DriverError> {
        for i in 0..self.shadow.len() {
            if self.shadow[i].is_some() {
                self.remove_sa(SaIndex(i as u16))?;
            }
        }
        Ok(())
    }
}

impl<R: RegIo + crate::HardReset, P: PacketPort<R>> Card<R, P> {
    /// Resets the card through the backend (reset pulse, function-level reset), then
    /// reloads the SA table from the shadow. Returns the number of SAs reloaded.
    pub fn hard_reset(&mut self) -> Result<usize, DriverError> {
        self.regs.hard_reset()?;
        self.reload()
    }
}

impl<R: RegIo, P: PacketPort<R>> Card<R, P> {
    /// Removes every SA the driver knows of from the card (entries the card already
    /// lost are fine), clears sticky events, forgets the shadow and re-marks the card.
    /// A card that does not answer SA commands gives [`DriverError::Timeout`].
    pub fn wipe(&mut self) -> Result<(), DriverError> {
        for i in 0..self.shadow.len() {
            if self.shadow[i].is_some() {
                self.run_cmd(SaIndex(i as u16), SaOp::Remove)?;
                self.shadow[i] = None;
            }
        }
        self.regs.write32(off::ERROR_EVENTS, u32::MAX)?;
        self.regs.write32(off::SCRATCH, SCRATCH_COOKIE)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
