//! A Rust model of the card's register behaviour (from `regmap`), computing results
//! with `esp`, with fault injection. Other crates' tests can use it as a card.
//! Packets reach it through the MMIO window or by DMA (`dma.rs`: the queue blocks,
//! host memory through [`ModelCard::host_memory`], interrupts through
//! [`ModelCard::connect_irq`]).
//!
//! ```
//! use driver::model::ModelCard;
//! use driver::{Card, CardConfig};
//! let card = Card::probe(ModelCard::new(), CardConfig::default()).unwrap();
//! assert_eq!(card.identity().layout_version, regmap::LAYOUT_VERSION);
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use esp::{InboundSa, OutboundSa, SaConfig, SeqNum, Spi, Transform};
use regmap::regs::off;
use regmap::sideband::Descriptor;
use regmap::{
    Capabilities, ErrorEvents, PktStatus, SaCmdError, SaCmdStatus, SaFlags, SaOp, Verdict,
};
use zeroize::Zeroizing;

use crate::dma::{IovaTable, IrqSignal};
use crate::port::field;
use crate::{DriverError, HardReset, RegIo};

mod dma;

/// What the model says about itself (defaults: this `regmap`).
#[derive(Debug, Clone, Copy)]
pub struct ModelIdentity {
    /// `ID_MAGIC`.
    pub magic: u32,
    /// `ID_LAYOUT_VERSION`.
    pub layout_version: u32,
    /// `ID_CAPABILITIES`.
    pub capabilities: Capabilities,
    /// `ID_NUM_SAS`.
    pub num_sas: u32,
}

impl Default for ModelIdentity {
    fn default() -> Self {
        ModelIdentity {
            magic: regmap::MAGIC,
            layout_version: regmap::LAYOUT_VERSION,
            capabilities: regmap::CAPABILITIES,
            num_sas: regmap::NUM_SAS,
        }
    }
}

/// Faults to inject. Change them through a [`FaultHandle`] while a `Card` owns the
/// model.
#[derive(Debug, Default)]
pub struct Faults {
    /// The engine hangs at the doorbell after this many more packets (the packet's
    /// sequence number is consumed, no result ever comes; SA commands hang too).
    pub hang_after: Option<u64>,
    /// Currently hung.
    pub hung: bool,
    /// Corrupt (flip one byte of) this many upcoming results.
    pub corrupt_next: u32,
    /// Corrupt (flip a cookie bit of) this many upcoming DMA completion records.
    pub corrupt_completion: u32,
    /// A slow DMA engine: a doorbell starts nothing; each register access (model
    /// tick) processes one descriptor per queue.
    pub dma_lag: bool,
    /// A card with latency: descriptors are processed no sooner than this long (wall
    /// time) after their doorbell, at the first register access after that (from
    /// any thread sharing the model).
    pub dma_delay: Option<std::time::Duration>,
    /// Reset spontaneously at the doorbell after this many more packets (the packet
    /// is lost, all state returns to reset values).
    pub reset_after: Option<u64>,
    /// Installs of these SPIs are refused with `SaCmdError::Unsupported`.
    pub reject_spis: HashSet<u32>,
    /// Status reads that still show BUSY before a packet or SA command is DONE.
    pub slow_polls: u32,
    /// Packets and SA commands completed so far.
    pub packets_done: u64,
    /// Spontaneous resets so far.
    pub resets: u64,
    /// Further spontaneous resets after the one `reset_after` counts down to, each
    /// `reset_gap` packets after the previous one (several resets within one batch).
    pub reset_repeats: u32,
    /// Packets between two repeated resets.
    pub reset_gap: u64,
    /// Seal this many upcoming outbound packets with the IV of the SA's previous
    /// packet (header sequence number and result stay right: the nonce repeats).
    pub repeat_iv: u32,
    /// Step the counter of the SA of the next outbound packet back by this many
    /// numbers before it is used (header, IV and result agree on the reused number).
    pub step_back: u64,
    /// Outbound packets to let through before `step_back` applies (so it can
    /// strike in the middle of a batch).
    pub step_back_delay: u64,
    /// Highest sequence number used per outbound SPI, over resets, including packets
    /// whose result never came (what a test compares the driver's numbering with).
    pub highest_seq: HashMap<u32, u64>,
    /// IV (as a number) of the last outbound packet per SPI, over resets.
    pub last_iv: HashMap<u32, u64>,
}

impl Faults {
    /// Counts one packet towards a scheduled spontaneous reset; true when the
    /// reset is due now (counted in `resets`, the next one scheduled if repeats
    /// remain).
    fn reset_due(&mut self) -> bool {
        match self.reset_after {
            Some(0) => {
                self.reset_after = None;
                if self.reset_repeats > 0 {
                    self.reset_repeats -= 1;
                    self.reset_after = Some(self.reset_gap);
                }
                self.resets += 1;
                true
            }
            Some(n) => {
                self.reset_after = Some(n - 1);
                false
            }
            None => false,
        }
    }
}

/// Shared control of a [`ModelCard`]'s faults.
#[derive(Debug, Clone, Default)]
pub struct FaultHandle(Arc<Mutex<Faults>>);

impl FaultHandle {
    /// Locks the fault state.
    pub fn lock(&self) -> MutexGuard<'_, Faults> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Hang after `n` more packets.
    pub fn hang_after(&self, n: u64) {
        self.lock().hang_after = Some(n);
    }
    /// End a hang (the stuck packet is dropped; the engine takes new work).
    pub fn heal(&self) {
        let mut f = self.lock();
        f.hung = false;
        f.hang_after = None;
    }
    /// Corrupt the next `n` results.
    pub fn corrupt_next(&self, n: u32) {
        self.lock().corrupt_next = n;
    }
    /// Corrupt the next `n` DMA completion records (their cookie).
    pub fn corrupt_completion(&self, n: u32) {
        self.lock().corrupt_completion = n;
    }
    /// Give the DMA engine a wall-time latency (see [`Faults::dma_delay`]).
    pub fn dma_delay(&self, d: Option<std::time::Duration>) {
        self.lock().dma_delay = d;
    }
    /// Make the DMA engine slow (see [`Faults::dma_lag`]).
    pub fn dma_lag(&self, on: bool) {
        self.lock().dma_lag = on;
    }
    /// Reset spontaneously after `n` more packets.
    pub fn reset_after(&self, n: u64) {
        self.reset_times(n, 1);
    }
    /// Reset spontaneously `times` times: the first after `n` more packets, each
    /// next one `n` packets after the previous reset (`times` resets within one
    /// batch when the batch is long enough).
    pub fn reset_times(&self, n: u64, times: u32) {
        let mut f = self.lock();
        f.reset_after = (times > 0).then_some(n);
        f.reset_repeats = times.saturating_sub(1);
        f.reset_gap = n;
    }
    /// Seal the next `n` outbound packets with the IV of their SA's previous packet.
    pub fn repeat_iv(&self, n: u32) {
        self.lock().repeat_iv = n;
    }
    /// Step the counter of the next outbound packet's SA back by `k` numbers.
    pub fn step_back(&self, k: u64) {
        self.step_back_after(0, k);
    }
    /// Step the counter back by `k` numbers before the outbound packet that comes
    /// after `n` more outbound packets.
    pub fn step_back_after(&self, n: u64, k: u64) {
        let mut f = self.lock();
        f.step_back = k;
        f.step_back_delay = n;
    }
    /// Highest sequence number the card used for outbound SPI `spi` (0: none).
    pub fn highest_seq(&self, spi: u32) -> u64 {
        self.lock().highest_seq.get(&spi).copied().unwrap_or(0)
    }
    /// Refuse installs of `spi`.
    pub fn reject_spi(&self, spi: u32) {
        self.lock().reject_spis.insert(spi);
    }
    /// Make every completion take `polls` extra status reads.
    pub fn slow(&self, polls: u32) {
        self.lock().slow_polls = polls;
    }
}

struct ModelSa {
    spi: u32,
    flags: SaFlags,
    seq: u64,
    out: Option<OutboundSa>,
    inb: Option<InboundSa>,
    packets: u64,
    bytes: u64,
    auth_fail: u32,
}

#[derive(Default)]
struct Staging {
    index: u32,
    spi: u32,
    salt: u32,
    flags: u32,
    seq_lo: u32,
    seq_hi: u32,
    key: Zeroizing<[u32; 8]>,
}

/// The register-level model of the card.
pub struct ModelCard {
    ident: ModelIdentity,
    faults: FaultHandle,
    table: Vec<Option<ModelSa>>,
    st: Staging,
    sa_status: u32,
    sa_busy_reads: u32,
    sa_hung: bool,
    rb: [u32; 9],
    scratch: u32,
    events: u32,
    pkt_desc: u32,
    pkt_len: u32,
    pkt_seq_hi: u32,
    pkt_status: u32,
    pkt_busy_reads: u32,
    pkt_hung: bool,
    result_len: u32,
    result_seq: u64,
    in_win: Vec<u8>,
    out_win: Vec<u8>,
    counters: [u64; 6],
    cnt_snapshot: u32,
    dma: dma::DmaEngine,
}

impl std::fmt::Debug for ModelCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelCard")
            .field("ident", &self.ident)
            .field(
                "installed",
                &self.table.iter().filter(|s| s.is_some()).count(),
            )
            .finish()
    }
}

impl Default for ModelCard {
    fn default() -> Self {
        Self::new()
    }
}

fn transform_of(flags: SaFlags) -> Transform {
    match (
        flags.contains(SaFlags::GMAC),
        flags.contains(SaFlags::AES256),
    ) {
        (false, false) => Transform::AesGcm128,
        (false, true) => Transform::AesGcm256,
        (true, false) => Transform::AesGmac128,
        (true, true) => Transform::AesGmac256,
    }
}

impl ModelCard {
    /// A healthy model of this `regmap`'s card.
    pub fn new() -> Self {
        Self::with_identity(ModelIdentity::default())
    }

    /// A model that reports `ident` (for probe tests: other layouts, fewer capabilities).
    pub fn with_identity(ident: ModelIdentity) -> Self {
        ModelCard {
            ident,
            faults: FaultHandle::default(),
            table: (0..ident.num_sas.min(regmap::NUM_SAS))
                .map(|_| None)
                .collect(),
            st: Staging::default(),
            sa_status: 0,
            sa_busy_reads: 0,
            sa_hung: false,
            rb: [0; 9],
            scratch: 0,
            events: 0,
            pkt_desc: 0,
            pkt_len: 0,
            pkt_seq_hi: 0,
            pkt_status: 0,
            pkt_busy_reads: 0,
            pkt_hung: false,
            result_len: 0,
            result_seq: 0,
            in_win: vec![0; regmap::PKT_WINDOW_BYTES as usize],
            out_win: vec![0; regmap::PKT_WINDOW_BYTES as usize],
            counters: [0; 6],
            cnt_snapshot: 0,
            dma: dma::DmaEngine::new(),
        }
    }

    /// The handle through which tests inject faults.
    pub fn faults(&self) -> FaultHandle {
        self.faults.clone()
    }

    /// The model's IOMMU: map driver memory through a clone of it
    /// ([`crate::dma::DmaMapper`]); the model's DMA engine reads and writes host
    /// memory through it.
    pub fn host_memory(&self) -> IovaTable {
        self.dma.mem.clone()
    }

    /// Wires interrupt vector `vector` to `signal` (the eventfd the driver waits
    /// on). Returns false for a vector the card does not have.
    pub fn connect_irq(&mut self, vector: u32, signal: IrqSignal) -> bool {
        match self.dma.irqs.get_mut(vector as usize) {
            Some(slot) => {
                *slot = Some(signal);
                true
            }
            None => false,
        }
    }

    /// Interrupts signalled on `vector` so far (over resets).
    pub fn interrupts(&self, vector: u32) -> u64 {
        self.dma
            .irq_counts
            .get(vector as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Model time: register accesses so far (one moderation-timer microsecond each).
    pub fn ticks(&self) -> u64 {
        self.dma.ticks
    }

    /// Everything back to reset values (as a reset pulse would do). Host memory
    /// mappings and interrupt wiring are the host's and stay.
    fn power_on_reset(&mut self) {
        let faults = self.faults.clone();
        let ident = self.ident;
        let dma = self.dma.after_reset();
        *self = ModelCard::with_identity(ident);
        self.faults = faults;
        self.dma = dma;
    }

    fn sa_command(&mut self, op: u32) {
        let faults = self.faults.clone();
        let f = faults.lock();
        if f.hung {
            self.sa_hung = true;
            self.sa_status = SaCmdStatus::BUSY.bits();
            return;
        }
        let idx = self.st.index as usize;
        let err = |code: SaCmdError| {
            (SaCmdStatus::DONE | SaCmdStatus::ERROR).bits()
                | field("SA_CMD_STATUS", "ERR_CODE").put(code as u32)
        };
        let status = if idx >= self.table.len() {
            err(SaCmdError::BadIndex)
        } else {
            match SaOp::from_code(field("SA_CMD", "OP").get(op)) {
                None => err(SaCmdError::BadOpcode),
                Some(SaOp::Update) if self.table[idx].is_none() => err(SaCmdError::NotValid),
                Some(SaOp::Install) | Some(SaOp::Update) => {
                    if f.reject_spis.contains(&self.st.spi) {
                        err(SaCmdError::Unsupported)
                    } else {
                        match self.build_sa() {
                            Some(sa) => {
                                self.table[idx] = Some(sa);
                                (SaCmdStatus::DONE | SaCmdStatus::VALID).bits()
                            }
                            None => err(SaCmdError::Unsupported),
                        }
                    }
                }
                Some(SaOp::Remove) => {
                    if self.table[idx].take().is_some() {
                        SaCmdStatus::DONE.bits()
                    } else {
                        err(SaCmdError::NotValid)
                    }
                }
                Some(SaOp::Read) => {
                    self.rb = [0; 9];
                    if let Some(sa) = &self.table[idx] {
                        self.rb = [
                            sa.spi,
                            (sa.flags | SaFlags::VALID).bits(),
                            sa.seq as u32,
                            (sa.seq >> 32) as u32,
                            sa.packets as u32,
                            (sa.packets >> 32) as u32,
                            sa.bytes as u32,
                            (sa.bytes >> 32) as u32,
                            sa.auth_fail,
                        ];
                        (SaCmdStatus::DONE | SaCmdStatus::VALID).bits()
                    } else {
                        SaCmdStatus::DONE.bits()
                    }
                }
            }
        };
        if status & SaCmdStatus::ERROR.bits() != 0 {
            self.events |= ErrorEvents::SA_CMD_FAILED.bits();
        }
        // Key material leaves the staging registers when a command completes.
        *self.st.key = [0; 8];
        self.st.salt = 0;
        self.sa_status = status;
        self.sa_busy_reads = f.slow_polls;
    }

    fn build_sa(&self) -> Option<ModelSa> {
        let flags = SaFlags::from_bits_truncate(self.st.flags) - SaFlags::VALID;
        let caps = self.ident.capabilities;
        let gmac = flags.contains(SaFlags::GMAC);
        let esn = flags.contains(SaFlags::ESN);
        let need = if flags.contains(SaFlags::AES256) {
            Capabilities::AES256
        } else {
            Capabilities::AES128
        };
        if !caps.contains(need)
            || (gmac && !caps.contains(Capabilities::GMAC))
            || (esn && !caps.contains(Capabilities::ESN))
            || (gmac && esn && !caps.contains(Capabilities::GMAC_ESN))
        {
            return None;
        }
        let t = transform_of(flags);
        let klen = t.cipher_key_len();
        let mut material = Zeroizing::new(Vec::with_capacity(klen + 4));
        for w in self.st.key.iter() {
            material.extend_from_slice(&w.to_le_bytes());
        }
        material.truncate(klen);
        material.extend_from_slice(&self.st.salt.to_le_bytes());
        let mut cfg = SaConfig::new(Spi(self.st.spi), t, &material).ok()?;
        cfg.esn = esn;
        let inbound = flags.contains(SaFlags::INBOUND);
        Some(ModelSa {
            spi: self.st.spi,
            flags,
            seq: u64::from(self.st.seq_lo) | (u64::from(self.st.seq_hi) << 32),
            out: if inbound {
                None
            } else {
                OutboundSa::new(&cfg).ok()
            },
            inb: if inbound {
                InboundSa::new(&cfg).ok()
            } else {
                None
            },
            packets: 0,
            bytes: 0,
            auth_fail: 0,
        })
    }

    fn doorbell(&mut self) {
        if self.pkt_status & PktStatus::BUSY.bits() != 0 {
            self.events |= ErrorEvents::BUSY_WRITE.bits();
            return;
        }
        let faults = self.faults.clone();
        let mut f = faults.lock();
        if f.reset_due() {
            drop(f);
            tracing::debug!("model: spontaneous reset");
            self.power_on_reset();
            return;
        }
        let hang_now = match f.hang_after {
            Some(0) => true,
            Some(n) => {
                f.hang_after = Some(n - 1);
                false
            }
            None => false,
        };
        let (verdict, next_header, seq, mut data) = self.compute(&mut f);
        if hang_now || f.hung {
            f.hung = true;
            f.hang_after = None;
            self.pkt_hung = true;
            self.pkt_status = PktStatus::BUSY.bits();
            return;
        }
        if verdict == Verdict::Ok && f.corrupt_next > 0 && !data.is_empty() {
            f.corrupt_next -= 1;
            let i = data.len() / 2;
            data[i] ^= 0x01;
        }
        f.packets_done += 1;
        self.pkt_busy_reads = f.slow_polls;
        self.result_len = data.len() as u32;
        self.result_seq = seq;
        self.out_win[..data.len()].copy_from_slice(&data);
        self.pkt_status = PktStatus::DONE.bits()
            | ((verdict as u32) << PktStatus::VERDICT_SHIFT)
            | (u32::from(next_header) << PktStatus::NEXT_HEADER_SHIFT);
    }

    /// The window path's packet computation: the packet in the input window.
    fn compute(&mut self, f: &mut Faults) -> (Verdict, u8, u64, Vec<u8>) {
        let desc = Descriptor::from_tuser(u64::from(self.pkt_desc));
        let len = field("PKT_LEN", "LEN").get(self.pkt_len) as usize;
        let input = std::mem::take(&mut self.in_win);
        let r = if len > input.len() {
            self.compute_packet(f, desc, self.pkt_seq_hi, &[], len)
        } else {
            self.compute_packet(f, desc, self.pkt_seq_hi, &input[..len], len)
        };
        self.in_win = input;
        r
    }

    /// The packet computation, with `esp` as the oracle: `input` is the packet
    /// (`len` bytes; an oversized `len` is refused before `input` is looked at),
    /// `seq_hi_reg` the high half given beside the descriptor.
    pub(crate) fn compute_packet(
        &mut self,
        f: &mut Faults,
        desc: Descriptor,
        seq_hi_reg: u32,
        input: &[u8],
        len: usize,
    ) -> (Verdict, u8, u64, Vec<u8>) {
        let bad = |s: &mut Self, v: Verdict| {
            s.counters[5] += 1;
            s.events |= ErrorEvents::BAD_DESCRIPTOR.bits();
            (v, 0, 0, Vec::new())
        };
        if len > regmap::MAX_PACKET_BYTES as usize {
            return bad(self, Verdict::BadLength);
        }
        let idx = usize::from(desc.sa_index);
        let Some(Some(sa)) = self.table.get_mut(idx) else {
            return bad(self, Verdict::BadSa);
        };
        if sa.flags.contains(SaFlags::INBOUND) != desc.inbound {
            return bad(self, Verdict::DirectionMismatch);
        }
        if let Some(out) = &sa.out {
            let esn = sa.flags.contains(SaFlags::ESN);
            if (!esn && sa.seq >= u64::from(u32::MAX)) || sa.seq == u64::MAX {
                self.events |= ErrorEvents::SEQ_EXHAUSTED.bits();
                return (Verdict::SeqExhausted, desc.next_header, sa.seq, Vec::new());
            }
            if f.step_back > 0 && f.step_back_delay > 0 {
                f.step_back_delay -= 1;
            } else if f.step_back > 0 {
                sa.seq = sa.seq.saturating_sub(f.step_back);
                f.step_back = 0;
            }
            let seq = sa.seq + 1;
            // The card's IV rule: the 64-bit sequence number (the fault repeats the
            // previous packet's IV instead).
            let iv = match f.last_iv.get(&sa.spi) {
                Some(&prev) if f.repeat_iv > 0 => {
                    f.repeat_iv -= 1;
                    prev
                }
                _ => seq,
            };
            let mut buf = vec![0u8; out.datagram_len(len)];
            let iv_bytes = iv.to_be_bytes();
            match out.seal_at(
                SeqNum(seq),
                Some(&iv_bytes),
                input,
                desc.next_header,
                &mut buf,
            ) {
                Ok(n) => {
                    buf.truncate(n);
                    sa.seq = seq;
                    f.last_iv.insert(sa.spi, iv);
                    let top = f.highest_seq.entry(sa.spi).or_insert(0);
                    *top = (*top).max(seq);
                    sa.packets += 1;
                    sa.bytes += len as u64;
                    self.counters[0] += 1;
                    self.counters[1] += len as u64;
                    (Verdict::Ok, desc.next_header, seq, buf)
                }
                Err(_) => bad(self, Verdict::BadLength),
            }
        } else if let Some(inb) = &sa.inb {
            if len < regmap::MIN_INBOUND_BYTES as usize {
                return bad(self, Verdict::BadLength);
            }
            let spi = u32::from_be_bytes([input[0], input[1], input[2], input[3]]);
            if spi != sa.spi {
                return bad(self, Verdict::BadSpi);
            }
            let lo = u32::from_be_bytes([input[4], input[5], input[6], input[7]]);
            let hi = if sa.flags.contains(SaFlags::ESN) {
                desc.seq_hi.max(seq_hi_reg)
            } else {
                0
            };
            let seq = SeqNum::from_parts(hi, lo);
            let mut buf = input.to_vec();
            match inb.open_at(seq, &mut buf) {
                Ok(o) => {
                    sa.packets += 1;
                    sa.bytes += len as u64;
                    self.counters[2] += 1;
                    self.counters[3] += len as u64;
                    (Verdict::Ok, o.next_header, seq.0, buf[o.payload].to_vec())
                }
                Err(esp::DecapError::AuthFailed) => {
                    sa.auth_fail = sa.auth_fail.saturating_add(1);
                    self.counters[4] += 1;
                    self.events |= ErrorEvents::AUTH_FAILED.bits();
                    (Verdict::AuthFailed, 0, seq.0, Vec::new())
                }
                Err(esp::DecapError::Truncated(_)) => bad(self, Verdict::BadLength),
                Err(_) => (Verdict::BadTrailer, 0, seq.0, Vec::new()),
            }
        } else {
            bad(self, Verdict::BadSa)
        }
    }

    /// After [`FaultHandle::heal`], the stuck work is dropped (no result) and the
    /// engine takes new work.
    fn sync_hang(&mut self) {
        if self.dma.queues.iter().any(|q| q.stuck) && !self.faults.lock().hung {
            for q in self.dma.queues.iter_mut() {
                q.stuck = false;
            }
        }
        if (self.pkt_hung || self.sa_hung) && !self.faults.lock().hung {
            if self.pkt_hung {
                self.pkt_hung = false;
                self.pkt_status = 0;
            }
            if self.sa_hung {
                self.sa_hung = false;
                self.sa_status = 0;
            }
        }
    }

    fn counter_read(&mut self, offset: u32) -> u32 {
        let i = ((offset - off::CNT_OUT_PKTS_LO) / 8) as usize;
        if (offset - off::CNT_OUT_PKTS_LO).is_multiple_of(8) {
            let v = self.counters[i];
            self.cnt_snapshot = (v >> 32) as u32;
            v as u32
        } else {
            self.cnt_snapshot
        }
    }
}

fn check(offset: u32) -> Result<(), DriverError> {
    if !offset.is_multiple_of(4) {
        return Err(DriverError::Misaligned {
            offset: offset.into(),
            width: 4,
        });
    }
    if offset >= regmap::ADDR_SPACE_BYTES {
        return Err(DriverError::OutOfBounds {
            offset: offset.into(),
            width: 4,
            len: regmap::ADDR_SPACE_BYTES as usize,
        });
    }
    Ok(())
}

impl RegIo for ModelCard {
    fn read32(&mut self, offset: u32) -> Result<u32, DriverError> {
        check(offset)?;
        self.sync_hang();
        self.dma_tick();
        if let Some((q, r)) = regmap::regs::queue_reg_at(offset) {
            if !self.ident.capabilities.contains(Capabilities::DMA) {
                return Ok(0);
            }
            return Ok(self.queue_read(q as usize, r.offset));
        }
        let win = regmap::PKT_WINDOW_BYTES;
        Ok(match offset {
            off::ID_MAGIC => self.ident.magic,
            off::ID_LAYOUT_VERSION => self.ident.layout_version,
            off::ID_CAPABILITIES => self.ident.capabilities.bits(),
            off::ID_NUM_SAS => self.ident.num_sas,
            off::ID_DATAPATH => regmap::DATAPATH_VALUE,
            off::ID_MAX_PACKET => regmap::MAX_PACKET_BYTES,
            off::ID_DMA if self.ident.capabilities.contains(Capabilities::DMA) => {
                regmap::dma::ID_DMA_VALUE
            }
            off::SCRATCH => self.scratch,
            off::STATUS => {
                let sa_busy = self.sa_hung || self.sa_status & SaCmdStatus::BUSY.bits() != 0;
                let pkt_busy = self.pkt_hung || self.pkt_status & PktStatus::BUSY.bits() != 0;
                field("STATUS", "SA_BUSY").put(u32::from(sa_busy))
                    | field("STATUS", "PKT_BUSY").put(u32::from(pkt_busy))
            }
            off::ERROR_EVENTS => self.events,
            off::SA_INDEX => self.st.index,
            off::SA_SPI => self.st.spi,
            off::SA_FLAGS => self.st.flags,
            off::SA_SEQ_LO => self.st.seq_lo,
            off::SA_SEQ_HI => self.st.seq_hi,
            off::SA_CMD_STATUS => {
                if self.sa_hung {
                    SaCmdStatus::BUSY.bits()
                } else if self.sa_busy_reads > 0 {
                    self.sa_busy_reads -= 1;
                    SaCmdStatus::BUSY.bits()
                } else {
                    self.sa_status
                }
            }
            o if (off::SA_RB_SPI..=off::SA_RB_AUTH_FAIL).contains(&o) => {
                self.rb[((o - off::SA_RB_SPI) / 4) as usize]
            }
            off::PKT_DESC => self.pkt_desc,
            off::PKT_LEN => self.pkt_len,
            off::PKT_SEQ_HI => self.pkt_seq_hi,
            off::PKT_STATUS => {
                if self.pkt_hung {
                    PktStatus::BUSY.bits()
                } else if self.pkt_busy_reads > 0 {
                    self.pkt_busy_reads -= 1;
                    PktStatus::BUSY.bits()
                } else {
                    self.pkt_status
                }
            }
            off::PKT_RESULT_LEN => self.result_len,
            off::PKT_RESULT_SEQ_LO => self.result_seq as u32,
            off::PKT_RESULT_SEQ_HI => (self.result_seq >> 32) as u32,
            o if (off::CNT_OUT_PKTS_LO..=off::CNT_BAD_DESC_HI).contains(&o) => self.counter_read(o),
            o if (off::PKT_OUT_WINDOW..off::PKT_OUT_WINDOW + win).contains(&o) => {
                let i = (o - off::PKT_OUT_WINDOW) as usize;
                if i < self.result_len as usize {
                    let mut w = [0u8; 4];
                    let end = (i + 4).min(self.result_len as usize);
                    w[..end - i].copy_from_slice(&self.out_win[i..end]);
                    u32::from_le_bytes(w)
                } else {
                    0
                }
            }
            _ => 0,
        })
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
        check(offset)?;
        let win = regmap::PKT_WINDOW_BYTES;
        self.sync_hang();
        self.dma_tick();
        if let Some((q, r)) = regmap::regs::queue_reg_at(offset) {
            if self.ident.capabilities.contains(Capabilities::DMA) {
                self.queue_write(q as usize, r.offset, value);
            }
            return Ok(());
        }
        match offset {
            off::SCRATCH => self.scratch = value,
            off::ERROR_EVENTS => self.events &= !value,
            off::SA_INDEX => self.st.index = field("SA_INDEX", "INDEX").get(value),
            off::SA_SPI => self.st.spi = value,
            off::SA_SALT => self.st.salt = value,
            off::SA_FLAGS => self.st.flags = value,
            off::SA_SEQ_LO => self.st.seq_lo = value,
            off::SA_SEQ_HI => self.st.seq_hi = value,
            o if (off::SA_KEY0..off::SA_KEY0 + 4 * off::SA_KEY_WORDS).contains(&o) => {
                self.st.key[((o - off::SA_KEY0) / 4) as usize] = value;
            }
            off::SA_CMD => self.sa_command(value),
            off::PKT_DESC => self.pkt_desc = value,
            off::PKT_LEN => self.pkt_len = value,
            off::PKT_SEQ_HI => self.pkt_seq_hi = value,
            off::PKT_DOORBELL if field("PKT_DOORBELL", "GO").get(value) != 0 => self.doorbell(),
            o if (off::PKT_IN_WINDOW..off::PKT_IN_WINDOW + win).contains(&o) => {
                let i = (o - off::PKT_IN_WINDOW) as usize;
                self.in_win[i..i + 4].copy_from_slice(&value.to_le_bytes());
            }
            _ => {}
        }
        Ok(())
    }
}

impl HardReset for ModelCard {
    fn hard_reset(&mut self) -> Result<(), DriverError> {
        let mut f = self.faults.lock();
        f.hung = false;
        f.hang_after = None;
        drop(f);
        self.power_on_reset();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_values_follow_the_regmap_table() {
        let mut m = ModelCard::new();
        for r in regmap::REGISTERS {
            assert_eq!(
                m.read32(r.offset).unwrap(),
                r.reset,
                "{} at {:#x}",
                r.name,
                r.offset
            );
        }
        // Write-only registers (keys, salt) read 0 even after a write.
        for r in regmap::REGISTERS
            .iter()
            .filter(|r| r.access == regmap::Access::Wo)
        {
            if r.name.starts_with("SA_KEY") || r.name == "SA_SALT" {
                m.write32(r.offset, 0xdead_beef).unwrap();
                assert_eq!(m.read32(r.offset).unwrap(), 0, "{}", r.name);
            }
        }
        // Unmapped words read 0; out-of-range and misaligned accesses are errors.
        assert_eq!(m.read32(0x7ffc).unwrap(), 0);
        assert!(m.read32(regmap::ADDR_SPACE_BYTES).is_err());
        assert!(m.write32(2, 0).is_err());
    }

    #[test]
    fn busy_doorbell_is_ignored_and_flagged() {
        let mut m = ModelCard::new();
        let f = m.faults();
        f.hang_after(0);
        m.write32(off::PKT_DOORBELL, field("PKT_DOORBELL", "GO").put(1))
            .unwrap();
        assert_ne!(
            m.read32(off::STATUS).unwrap() & field("STATUS", "PKT_BUSY").mask(),
            0
        );
        m.write32(off::PKT_DOORBELL, field("PKT_DOORBELL", "GO").put(1))
            .unwrap();
        assert_ne!(
            m.read32(off::ERROR_EVENTS).unwrap() & ErrorEvents::BUSY_WRITE.bits(),
            0
        );
        // Write 1 to clear.
        m.write32(off::ERROR_EVENTS, ErrorEvents::BUSY_WRITE.bits())
            .unwrap();
        assert_eq!(
            m.read32(off::ERROR_EVENTS).unwrap() & ErrorEvents::BUSY_WRITE.bits(),
            0
        );
    }
}
