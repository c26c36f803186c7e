//! The `Card` API: probe, SA table management with a shadow copy, batched packets,
//! counters, reset and reload.

use esp::{SaConfig, Transform};
use regmap::regs::off;
use regmap::{Capabilities, SaCmdError, SaCmdStatus, SaFlags, SaOp, Verdict};
use zeroize::Zeroizing;

use crate::port::{field, Direction, MmioWindowPort, PacketPort, PacketRequest, PacketResult};
use crate::{DriverError, RegIo};

/// Value the driver leaves in `SCRATCH` (reset value 0): if it reads back anything
/// else, the card was reset behind the driver's back.
const SCRATCH_COOKIE: u32 = 0x5ec0_0001;

/// Position in the card's SA table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct SaIndex(pub u16);

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

/// What the card says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// `ID_MAGIC`.
    pub magic: u32,
    /// `ID_LAYOUT_VERSION`.
    pub layout_version: u32,
    /// `ID_CAPABILITIES` as raw bits.
    pub capabilities: u32,
    /// `ID_NUM_SAS`.
    pub num_sas: u32,
    /// Datapath lanes (`ID_DATAPATH[7:0]`).
    pub lanes: u32,
    /// Stream width in bits (`ID_DATAPATH[31:16]`).
    pub stream_bits: u32,
    /// `ID_MAX_PACKET`.
    pub max_packet: u32,
}

impl Identity {
    /// Capabilities as flags.
    pub fn caps(&self) -> Capabilities {
        Capabilities::from_bits_retain(self.capabilities)
    }

    /// Capability names, for people.
    pub fn capability_names(&self) -> Vec<&'static str> {
        self.caps().iter_names().map(|(n, _)| n).collect()
    }
}

/// The card-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CardCounters {
    /// Outbound packets with verdict OK.
    pub out_pkts: u64,
    /// Their input bytes.
    pub out_bytes: u64,
    /// Inbound packets with verdict OK.
    pub in_pkts: u64,
    /// Their input bytes.
    pub in_bytes: u64,
    /// Inbound ICV failures.
    pub auth_fail: u64,
    /// Bad descriptors.
    pub bad_desc: u64,
}

/// Per-SA state read back from the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SaReadback {
    /// SPI.
    pub spi: u32,
    /// Flags (`SaFlags` bits, with `VALID`).
    pub flags: u32,
    /// Sequence counter (last number used).
    pub seq: u64,
    /// Packets with verdict OK.
    pub packets: u64,
    /// Their input bytes.
    pub bytes: u64,
    /// ICV failures.
    pub auth_fail: u32,
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

/// One SA as the card holds it: the ESP-layer parameters and the raw key and salt.
/// The key is zeroized on drop and never printed.
#[derive(Clone)]
pub struct CardSa {
    /// SPI.
    pub spi: u32,
    /// Direction.
    pub direction: Direction,
    /// Transform.
    pub transform: Transform,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Sequence counter: the last number used (0 for a new SA). Kept up to date from
    /// the card's results, so a reload continues without reuse.
    pub seq: u64,
    key: Zeroizing<Vec<u8>>,
    salt: Zeroizing<[u8; 4]>,
}

impl std::fmt::Debug for CardSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("direction", &self.direction)
            .field("transform", &self.transform)
            .field("esn", &self.esn)
            .field("seq", &self.seq)
            .field("key", &format_args!("<{} bytes redacted>", self.key.len()))
            .finish()
    }
}

impl CardSa {
    /// The card's view of `cfg` in `direction`; `seq` is the last sequence number
    /// already used (0 for a new SA).
    pub fn from_config(cfg: &SaConfig, direction: Direction, seq: u64) -> Self {
        let material = cfg.key.as_bytes();
        let klen = cfg.transform.cipher_key_len().min(material.len());
        let mut salt = Zeroizing::new([0u8; 4]);
        if let Some(s) = material.get(klen..klen + 4) {
            salt.copy_from_slice(s);
        }
        CardSa {
            spi: cfg.spi.0,
            direction,
            transform: cfg.transform,
            esn: cfg.esn,
            seq,
            key: Zeroizing::new(material[..klen].to_vec()),
            salt,
        }
    }

    fn flags(&self) -> SaFlags {
        let mut f = SaFlags::empty();
        if matches!(self.transform, Transform::AesGcm256 | Transform::AesGmac256) {
            f |= SaFlags::AES256;
        }
        if matches!(
            self.transform,
            Transform::AesGmac128 | Transform::AesGmac256
        ) {
            f |= SaFlags::GMAC;
        }
        if self.esn {
            f |= SaFlags::ESN;
        }
        if self.direction == Direction::Inbound {
            f |= SaFlags::INBOUND;
        }
        f
    }
}

/// Why `caps` cannot carry `sa`, if it cannot.
pub fn unsupported_reason(caps: Capabilities, sa: &CardSa) -> Option<String> {
    let (need, name) = match sa.transform {
        Transform::AesGcm128 => (Capabilities::AES128, "AES-128-GCM"),
        Transform::AesGcm256 => (Capabilities::AES256, "AES-256-GCM"),
        Transform::AesGmac128 => (Capabilities::GMAC | Capabilities::AES128, "AES-128-GMAC"),
        Transform::AesGmac256 => (Capabilities::GMAC | Capabilities::AES256, "AES-256-GMAC"),
        other => return Some(format!("transform {other:?} is not offered by the card")),
    };
    if !caps.contains(need) {
        return Some(format!(
            "transform {name} is not in the card's capabilities"
        ));
    }
    let gmac = sa.flags().contains(SaFlags::GMAC);
    if sa.esn && !caps.contains(Capabilities::ESN) {
        return Some("extended sequence numbers are not supported by the card".into());
    }
    if sa.esn && gmac && !caps.contains(Capabilities::GMAC_ESN) {
        return Some("GMAC together with extended sequence numbers is not supported".into());
    }
    if sa.key.len() != sa.transform.cipher_key_len() {
        return Some(format!(
            "key material too short ({} key bytes)",
            sa.key.len()
        ));
    }
    if !sa.esn && sa.seq >= u64::from(u32::MAX) && sa.direction == Direction::Outbound {
        return Some("sequence numbers exhausted (rekey required)".into());
    }
    None
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

/// Reads and checks the identity block: magic, layout version, capabilities.
pub fn read_identity<R: RegIo + ?Sized>(regs: &mut R) -> Result<Identity, DriverError> {
    let magic = regs.read32(off::ID_MAGIC)?;
    if magic != regmap::MAGIC {
        return Err(DriverError::BadMagic {
            found: magic,
            expected: regmap::MAGIC,
        });
    }
    let layout_version = regs.read32(off::ID_LAYOUT_VERSION)?;
    if layout_version != regmap::LAYOUT_VERSION {
        return Err(DriverError::UnknownLayout {
            found: layout_version,
            expected: regmap::LAYOUT_VERSION,
        });
    }
    let capabilities = regs.read32(off::ID_CAPABILITIES)?;
    let num_sas = regs.read32(off::ID_NUM_SAS)?;
    let datapath = regs.read32(off::ID_DATAPATH)?;
    let max_packet = regs.read32(off::ID_MAX_PACKET)?;
    let ident = Identity {
        magic,
        layout_version,
        capabilities,
        num_sas,
        lanes: field("ID_DATAPATH", "LANES").get(datapath),
        stream_bits: field("ID_DATAPATH", "BUS_WIDTH_BITS").get(datapath),
        max_packet,
    };
    if !ident.caps().contains(Capabilities::MMIO_WINDOW) {
        return Err(DriverError::Capability(
            "card has no MMIO packet window (required by this driver)".into(),
        ));
    }
    if num_sas == 0 || num_sas > 1 << regmap::SA_INDEX_BITS.min(16) {
        return Err(DriverError::Capability(format!(
            "card reports {num_sas} SA entries"
        )));
    }
    if max_packet == 0 || max_packet > regmap::MAX_PACKET_BYTES {
        return Err(DriverError::Capability(format!(
            "card reports a maximum packet of {max_packet} bytes"
        )));
    }
    Ok(ident)
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
        let collected = out.len() - start;
        for (req, res) in reqs.iter().zip(&out[start..]) {
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
mod tests {
    use super::*;
    use crate::model::{ModelCard, ModelIdentity};
    use esp::{proto, InboundSa, OutboundSa, Spi};

    fn cfg(spi: u32, t: Transform, esn: bool) -> SaConfig {
        let key: Vec<u8> = (0..t.key_material_len() as u8)
            .map(|b| b.wrapping_mul(13) ^ 0x42)
            .collect();
        let mut c = SaConfig::new(Spi(spi), t, &key).unwrap();
        c.esn = esn;
        c
    }

    fn card() -> Card<ModelCard> {
        Card::probe(ModelCard::new(), CardConfig { poll_limit: 1000 }).unwrap()
    }

    #[test]
    fn probe_reads_identity_checked_against_regmap() {
        let c = card();
        let id = c.identity();
        assert_eq!(id.magic, regmap::MAGIC);
        assert_eq!(id.layout_version, regmap::LAYOUT_VERSION);
        assert_eq!(id.caps(), regmap::CAPABILITIES);
        assert_eq!(id.num_sas, regmap::NUM_SAS);
        assert_eq!(c.capacity(), regmap::NUM_SAS as usize);
        assert!(id.capability_names().contains(&"MMIO_WINDOW"));
    }

    #[test]
    fn unknown_layout_and_foreign_devices_are_refused() {
        let m = ModelCard::with_identity(ModelIdentity {
            layout_version: regmap::LAYOUT_VERSION + 1,
            ..Default::default()
        });
        let e = Card::probe(m, CardConfig::default()).unwrap_err();
        assert!(matches!(e, DriverError::UnknownLayout { .. }), "{e}");
        assert!(e.to_string().contains("refusing"));
        let m = ModelCard::with_identity(ModelIdentity {
            magic: 0x010000ed,
            ..Default::default()
        });
        let e = Card::probe(m, CardConfig::default()).unwrap_err();
        assert!(
            matches!(
                e,
                DriverError::BadMagic {
                    found: 0x010000ed,
                    ..
                }
            ),
            "{e}"
        );
        let m = ModelCard::with_identity(ModelIdentity {
            capabilities: regmap::CAPABILITIES - Capabilities::MMIO_WINDOW,
            ..Default::default()
        });
        assert!(matches!(
            Card::probe(m, CardConfig::default()),
            Err(DriverError::Capability(_))
        ));
    }

    #[test]
    fn unsupported_parameters_are_refused_at_install_with_the_reason() {
        let mut c = card();
        let e = c
            .install_sa(CardSa::from_config(
                &cfg(1, Transform::AesCbc128HmacSha256, false),
                Direction::Outbound,
                0,
            ))
            .unwrap_err();
        assert!(
            matches!(&e, DriverError::SaUnsupported { reason, .. } if reason.contains("AesCbc128HmacSha256")),
            "{e}"
        );
        let e = c
            .install_sa(CardSa::from_config(
                &cfg(2, Transform::AesGmac128, true),
                Direction::Outbound,
                0,
            ))
            .unwrap_err();
        assert!(
            matches!(&e, DriverError::SaUnsupported { reason, .. } if reason.contains("GMAC together with extended")),
            "{e}"
        );
        // A card without ESN.
        let m = ModelCard::with_identity(ModelIdentity {
            capabilities: regmap::CAPABILITIES - Capabilities::ESN,
            ..Default::default()
        });
        let mut c2 = Card::probe(m, CardConfig::default()).unwrap();
        let e = c2
            .install_sa(CardSa::from_config(
                &cfg(3, Transform::AesGcm256, true),
                Direction::Inbound,
                0,
            ))
            .unwrap_err();
        assert!(e.to_string().contains("extended sequence numbers"), "{e}");
        // A refusal by the card itself (not predictable from capabilities).
        let m = ModelCard::new();
        m.faults().reject_spi(7);
        let mut c3 = Card::probe(m, CardConfig::default()).unwrap();
        let e = c3
            .install_sa(CardSa::from_config(
                &cfg(7, Transform::AesGcm128, false),
                Direction::Outbound,
                0,
            ))
            .unwrap_err();
        assert!(
            matches!(e, DriverError::SaUnsupported { spi: 7, .. }),
            "{e}"
        );
        assert_eq!(c3.installed(), 0);
    }

    #[test]
    fn install_read_update_remove() {
        let mut c = card();
        let ix = c
            .install_sa(CardSa::from_config(
                &cfg(0x1234, Transform::AesGcm256, true),
                Direction::Inbound,
                0,
            ))
            .unwrap();
        let rb = c.read_sa(ix).unwrap();
        assert_eq!(rb.spi, 0x1234);
        let f = SaFlags::from_bits_retain(rb.flags);
        assert!(f.contains(SaFlags::VALID | SaFlags::AES256 | SaFlags::ESN | SaFlags::INBOUND));
        assert!(!f.contains(SaFlags::GMAC));
        c.update_sa(
            ix,
            CardSa::from_config(
                &cfg(0x1234, Transform::AesGcm256, true),
                Direction::Inbound,
                77,
            ),
        )
        .unwrap();
        assert_eq!(c.read_sa(ix).unwrap().seq, 77);
        c.remove_sa(ix).unwrap();
        assert_eq!(c.read_sa(ix).unwrap().flags & SaFlags::VALID.bits(), 0);
        assert!(matches!(c.remove_sa(ix), Err(DriverError::NoSuchSa(_))));
    }

    #[test]
    fn window_packets_round_trip_with_independent_software_sas() {
        for t in [
            Transform::AesGcm128,
            Transform::AesGcm256,
            Transform::AesGmac128,
            Transform::AesGmac256,
        ] {
            let mut c = card();
            let out_cfg = cfg(0x100, t, false);
            let in_cfg = cfg(0x200, t, false);
            let o = c
                .install_sa(CardSa::from_config(&out_cfg, Direction::Outbound, 0))
                .unwrap();
            let i = c
                .install_sa(CardSa::from_config(&in_cfg, Direction::Inbound, 0))
                .unwrap();
            let payloads: Vec<Vec<u8>> = (0..5)
                .map(|n| (0..(n * 37 + 1)).map(|b| b as u8).collect())
                .collect();
            let reqs: Vec<_> = payloads
                .iter()
                .map(|p| PacketRequest {
                    sa_index: o.0,
                    direction: Direction::Outbound,
                    next_header: proto::IPV4,
                    seq_hi: 0,
                    data: p,
                })
                .collect();
            let mut out = Vec::new();
            c.process(&reqs, &mut out).unwrap();
            let mut peer = InboundSa::new(&out_cfg).unwrap();
            for (n, (res, p)) in out.iter().zip(&payloads).enumerate() {
                assert_eq!(res.verdict, Verdict::Ok);
                assert_eq!(res.seq, n as u64 + 1);
                assert_eq!(
                    res.data.len(),
                    regmap::outbound_len(p.len() as u32) as usize
                );
                let mut d = res.data.clone();
                let opened = peer.open(&mut d).unwrap();
                assert_eq!(&d[opened.payload], &p[..]);
                assert_eq!(opened.next_header, proto::IPV4);
            }
            assert_eq!(c.shadow(o).unwrap().seq, 5);
            // Inbound: the card opens what an independent software SA sealed.
            let mut sender = OutboundSa::new(&in_cfg).unwrap();
            let mut dgrams = Vec::new();
            for p in &payloads {
                let mut b = vec![0u8; sender.datagram_len(p.len())];
                let s = sender.seal(p, proto::IPV6, &mut b).unwrap();
                b.truncate(s.len);
                dgrams.push(b);
            }
            dgrams[2][20] ^= 1; // tampered: must fail authentication
            let reqs: Vec<_> = dgrams
                .iter()
                .map(|d| PacketRequest {
                    sa_index: i.0,
                    direction: Direction::Inbound,
                    next_header: 0,
                    seq_hi: 0,
                    data: d,
                })
                .collect();
            let mut back = Vec::new();
            c.process(&reqs, &mut back).unwrap();
            for (n, (res, p)) in back.iter().zip(&payloads).enumerate() {
                if n == 2 {
                    assert_eq!(res.verdict, Verdict::AuthFailed);
                    assert!(res.data.is_empty());
                } else {
                    assert_eq!(res.verdict, Verdict::Ok, "{t:?} packet {n}");
                    assert_eq!(&res.data, p);
                    assert_eq!(res.next_header, proto::IPV6);
                    assert_eq!(res.seq, n as u64 + 1);
                }
            }
            let k = c.counters().unwrap();
            assert_eq!((k.out_pkts, k.in_pkts, k.auth_fail), (5, 4, 1));
            assert_eq!(
                k.out_bytes,
                payloads.iter().map(|p| p.len() as u64).sum::<u64>()
            );
        }
    }

    #[test]
    fn inbound_esn_uses_the_high_half_given_by_software() {
        let mut c = card();
        let in_cfg = cfg(0x77, Transform::AesGcm128, true);
        let i = c
            .install_sa(CardSa::from_config(&in_cfg, Direction::Inbound, 0))
            .unwrap();
        let mut sender = OutboundSa::new(&in_cfg).unwrap();
        sender.set_next_seq(esp::SeqNum((1u64 << 32) + 5)).unwrap();
        let payload = [0xabu8; 48];
        let mut d = vec![0u8; sender.datagram_len(payload.len())];
        let n = sender.seal(&payload, proto::IPV4, &mut d).unwrap().len;
        d.truncate(n);
        let req = |hi| PacketRequest {
            sa_index: i.0,
            direction: Direction::Inbound,
            next_header: 0,
            seq_hi: hi,
            data: &d,
        };
        let mut out = Vec::new();
        c.process(&[req(1), req(0)], &mut out).unwrap();
        assert_eq!(out[0].verdict, Verdict::Ok);
        assert_eq!(out[0].seq, (1u64 << 32) + 5);
        assert_eq!(out[0].data, payload);
        // The wrong high half is part of the AAD: authentication fails.
        assert_eq!(out[1].verdict, Verdict::AuthFailed);
    }

    #[test]
    fn polls_time_out_instead_of_hanging() {
        let m = ModelCard::new();
        let faults = m.faults();
        let mut c = Card::probe(m, CardConfig { poll_limit: 50 }).unwrap();
        let o = c
            .install_sa(CardSa::from_config(
                &cfg(1, Transform::AesGcm128, false),
                Direction::Outbound,
                0,
            ))
            .unwrap();
        let data = [1u8; 10];
        let req = PacketRequest {
            sa_index: o.0,
            direction: Direction::Outbound,
            next_header: 4,
            seq_hi: 0,
            data: &data,
        };
        faults.slow(40);
        let mut out = Vec::new();
        c.process(&[req], &mut out).unwrap();
        faults.slow(60);
        let e = c.process(&[req], &mut out).unwrap_err();
        assert!(
            matches!(
                e,
                DriverError::Timeout {
                    what: "packet result",
                    polls: 50
                }
            ),
            "{e}"
        );
        faults.slow(0);
        faults.hang_after(1);
        let e = c.process(&[req, req, req], &mut out).unwrap_err();
        assert!(matches!(e, DriverError::Timeout { .. }), "{e}");
        assert_eq!(out.len(), 2, "the result before the hang is kept");
        // SA commands time out too.
        let e = c
            .install_sa(CardSa::from_config(
                &cfg(2, Transform::AesGcm128, false),
                Direction::Outbound,
                0,
            ))
            .unwrap_err();
        assert!(
            matches!(
                e,
                DriverError::Timeout {
                    what: "SA command",
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(c.stats().timeouts, 3);
    }

    #[test]
    fn reset_is_detected_and_the_shadow_reloaded_without_sequence_reuse() {
        let m = ModelCard::new();
        let faults = m.faults();
        let mut c = Card::probe(m, CardConfig { poll_limit: 100 }).unwrap();
        let out_cfg = cfg(0x55, Transform::AesGcm128, false);
        let o = c
            .install_sa(CardSa::from_config(&out_cfg, Direction::Outbound, 0))
            .unwrap();
        let data = [9u8; 33];
        let req = PacketRequest {
            sa_index: o.0,
            direction: Direction::Outbound,
            next_header: 4,
            seq_hi: 0,
            data: &data,
        };
        let mut out = Vec::new();
        c.process(&[req, req], &mut out).unwrap();
        faults.reset_after(0);
        assert!(c.process(&[req], &mut out).is_err());
        assert!(!c.is_intact().unwrap());
        assert!(c.recover().unwrap());
        assert!(!c.recover().unwrap(), "second check finds the mark");
        c.process(&[req], &mut out).unwrap();
        let seqs: Vec<u64> = out.iter().map(|r| r.seq).collect();
        // Number 3 may have been used by the packet lost in the reset: skipped.
        assert_eq!(seqs, [1, 2, 4]);
        assert_eq!(c.stats().resets_detected, 1);
        // The driver-side reset keeps the SAs too; so does a backend hard reset.
        c.reset().unwrap();
        c.hard_reset().unwrap();
        c.process(&[req], &mut out).unwrap();
        assert_eq!(out.last().unwrap().seq, 5);
        let mut peer = InboundSa::new(&out_cfg).unwrap();
        for r in &out {
            let mut d = r.data.clone();
            peer.open(&mut d).unwrap();
        }
    }

    #[test]
    fn sa_debug_output_redacts_the_key() {
        let c = cfg(1, Transform::AesGcm128, false);
        let sa = CardSa::from_config(&c, Direction::Outbound, 0);
        let s = format!("{sa:?}");
        assert!(s.contains("redacted"));
        let key_hex: String = c.key.as_bytes()[..4]
            .iter()
            .map(|b| format!("{b}"))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(!s.contains(&key_hex));
    }
}
