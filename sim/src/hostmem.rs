//! Host memory as the card's DMA bus master sees it: an AXI4 slave model for the
//! core's `m_axi_*` port (layout 2), with a read latency and a bandwidth per
//! direction, backed by byte regions addressed by IOVA, and the interrupt lines
//! turned into one counter per vector.
//!
//! - Backing: [`DmaMemory`] is what the model reads and writes. [`RegionTable`] is the
//!   simple one (regions `base IOVA -> Vec<u8>` added by the caller); a driver's own
//!   DMA buffers can back the model by implementing the trait over them. An access
//!   outside every region gets an error response (`SLVERR`), which the card turns
//!   into a queue fault or a `DmaBusError` verdict.
//! - Timing ([`HostMemConfig`]): a read burst's first beat is ready
//!   `read_latency_cycles` after its address (default 125 cycles: 500 ns at
//!   250 MHz, a PCIe round trip); beats then flow while the read direction has
//!   credit, which grows by `bytes_per_cycle` every cycle (default 31.6: PCIe Gen3 x8,
//!   about 7.9 GB/s at 250 MHz; capped at one cycle's or one beat's worth, so idle
//!   cycles bank nothing) and is spent 16 bytes a beat. Writes are taken at the
//!   write direction's bandwidth; the response of a burst comes `write_response_cycles`
//!   after its last beat (default 16: PCIe writes are posted, the bridge answers when
//!   it has taken them). Reads are answered in order.
//! - Interrupts ([`IrqVectors`]): each pulse on `irq[v]` adds one to an
//!   `Arc<AtomicU64>` per vector, read and reset like an eventfd's counter.
//!
//! The model is cycle-based and independent of the Verilated model's port structs:
//! [`HostMem::drive`] gives the slave's outputs for this cycle (they depend only on
//! the model's state, not on the master's outputs in the same cycle), and
//! [`HostMem::observe`] takes the master's outputs sampled before the clock edge and
//! performs the handshakes of that cycle.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use driver::dma::{HostMemory, IovaTable, IrqSignal};

use crate::ffi::{Inputs, Outputs};

/// AXI4 `SLVERR` response.
pub const RESP_SLVERR: u32 = 2;
/// Bytes of one beat of the 128-bit bus.
pub const BEAT_BYTES: usize = 16;

/// What the model reads from and writes to.
pub trait DmaMemory {
    /// Fill `buf` from `iova`; `false` if any byte is outside the memory.
    fn read(&self, iova: u64, buf: &mut [u8]) -> bool;
    /// Write the bytes of `data` whose strobe bit is set at `iova`; `false` if any
    /// strobed byte is outside the memory (nothing is written then).
    fn write(&mut self, iova: u64, data: &[u8], strobe: u32) -> bool;
}

impl<T: DmaMemory + ?Sized> DmaMemory for Box<T> {
    fn read(&self, iova: u64, buf: &mut [u8]) -> bool {
        (**self).read(iova, buf)
    }
    fn write(&mut self, iova: u64, data: &[u8], strobe: u32) -> bool {
        (**self).write(iova, data, strobe)
    }
}

/// The driver's own DMA memory: what its [`driver::dma::DmaMapper`] mapped into the
/// in-process IOMMU is what the simulated card reads and writes, so the driver code
/// that runs against the simulated card is the code that runs against a board.
impl DmaMemory for IovaTable {
    fn read(&self, iova: u64, buf: &mut [u8]) -> bool {
        HostMemory::read(self, iova, buf).is_ok()
    }

    fn write(&mut self, iova: u64, data: &[u8], strobe: u32) -> bool {
        let runs = strobe_runs(strobe);
        // All or nothing: every strobed run must be mapped before any is written.
        if runs
            .iter()
            .any(|&(a, b)| self.resolve(iova + a as u64, b - a).is_none())
        {
            return false;
        }
        runs.iter()
            .all(|&(a, b)| HostMemory::write(self, iova + a as u64, &data[a..b]).is_ok())
    }
}

/// The runs of set bits of a 16-bit strobe as byte ranges `[a, b)`.
fn strobe_runs(strobe: u32) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut k = 0;
    while k < BEAT_BYTES {
        if strobe >> k & 1 == 1 {
            let a = k;
            while k < BEAT_BYTES && strobe >> k & 1 == 1 {
                k += 1;
            }
            runs.push((a, k));
        } else {
            k += 1;
        }
    }
    runs
}

/// Regions of host memory, each a base IOVA and its bytes.
#[derive(Debug, Default, Clone)]
pub struct RegionTable {
    regions: Vec<(u64, Vec<u8>)>,
}

impl RegionTable {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a zeroed region of `len` bytes at `base`; `false` (and nothing added) if
    /// it overlaps one already there or wraps.
    pub fn add(&mut self, base: u64, len: usize) -> bool {
        let Some(end) = base.checked_add(len as u64) else {
            return false;
        };
        if self
            .regions
            .iter()
            .any(|(b, v)| base < b + v.len() as u64 && *b < end)
        {
            return false;
        }
        self.regions.push((base, vec![0; len]));
        true
    }

    /// The region holding `[iova, iova + len)` whole, and the offset in it.
    fn find(&self, iova: u64, len: usize) -> Option<(usize, usize)> {
        self.regions.iter().enumerate().find_map(|(i, (b, v))| {
            let off = iova.checked_sub(*b)?;
            (off + len as u64 <= v.len() as u64).then_some((i, off as usize))
        })
    }

    /// The bytes at `[iova, iova + len)`, if inside one region.
    #[must_use]
    pub fn slice(&self, iova: u64, len: usize) -> Option<&[u8]> {
        let (i, off) = self.find(iova, len)?;
        Some(&self.regions[i].1[off..off + len])
    }

    /// The bytes at `[iova, iova + len)` for writing, if inside one region.
    pub fn slice_mut(&mut self, iova: u64, len: usize) -> Option<&mut [u8]> {
        let (i, off) = self.find(iova, len)?;
        Some(&mut self.regions[i].1[off..off + len])
    }
}

impl DmaMemory for RegionTable {
    fn read(&self, iova: u64, buf: &mut [u8]) -> bool {
        match self.slice(iova, buf.len()) {
            Some(s) => {
                buf.copy_from_slice(s);
                true
            }
            None => false,
        }
    }

    fn write(&mut self, iova: u64, data: &[u8], strobe: u32) -> bool {
        if strobe == 0 {
            return true;
        }
        let first = strobe.trailing_zeros() as usize;
        let last = 31 - strobe.leading_zeros() as usize;
        let Some(s) = self.slice_mut(iova + first as u64, last + 1 - first) else {
            return false;
        };
        for (k, b) in s.iter_mut().enumerate() {
            if strobe >> (first + k) & 1 == 1 {
                *b = data[first + k];
            }
        }
        true
    }
}

/// Cycles from a write burst's last beat to its response by default: PCIe writes are
/// posted, so an AXI-to-PCIe bridge answers a write once it has taken it (64 ns
/// here), not after a round trip to host memory.
pub const WRITE_RESPONSE_CYCLES: u64 = 16;

/// Latency and bandwidth of the host memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostMemConfig {
    /// Cycles from a read address to its first beat.
    pub read_latency_cycles: u64,
    /// Cycles from a write burst's last beat to its response.
    pub write_response_cycles: u64,
    /// Bytes per cycle in each direction.
    pub bytes_per_cycle: f64,
}

impl Default for HostMemConfig {
    /// 500 ns of PCIe round trip for reads, posted writes answered after
    /// [`WRITE_RESPONSE_CYCLES`], and PCIe Gen3 x8 (7.9 GB/s) at a 250 MHz core clock.
    fn default() -> Self {
        let mhz = f64::from(regmap::dma::CORE_CLOCK_MHZ);
        Self {
            read_latency_cycles: (0.5 * mhz) as u64,
            write_response_cycles: WRITE_RESPONSE_CYCLES,
            bytes_per_cycle: 7.9e9 / (mhz * 1e6),
        }
    }
}

/// The bus master's outputs in one cycle (the core's `m_axi_*` outputs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MasterOut {
    /// `m_axi_araddr`.
    pub araddr: u64,
    /// `m_axi_arlen` (beats - 1).
    pub arlen: u32,
    /// `m_axi_arvalid`.
    pub arvalid: bool,
    /// `m_axi_rready`.
    pub rready: bool,
    /// `m_axi_awaddr`.
    pub awaddr: u64,
    /// `m_axi_awlen` (beats - 1).
    pub awlen: u32,
    /// `m_axi_awvalid`.
    pub awvalid: bool,
    /// `m_axi_wdata`, byte 0 in bits 7:0.
    pub wdata: u128,
    /// `m_axi_wstrb`.
    pub wstrb: u32,
    /// `m_axi_wlast`.
    pub wlast: bool,
    /// `m_axi_wvalid`.
    pub wvalid: bool,
    /// `m_axi_bready`.
    pub bready: bool,
}

/// The slave's outputs in one cycle (the core's `m_axi_*` inputs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaveOut {
    /// `m_axi_arready`.
    pub arready: bool,
    /// `m_axi_rdata`.
    pub rdata: u128,
    /// `m_axi_rresp`.
    pub rresp: u32,
    /// `m_axi_rlast`.
    pub rlast: bool,
    /// `m_axi_rvalid`.
    pub rvalid: bool,
    /// `m_axi_awready`.
    pub awready: bool,
    /// `m_axi_wready`.
    pub wready: bool,
    /// `m_axi_bresp`.
    pub bresp: u32,
    /// `m_axi_bvalid`.
    pub bvalid: bool,
}

/// Traffic counted by the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostMemStats {
    /// Read bursts.
    pub read_bursts: u64,
    /// Read beats delivered.
    pub read_beats: u64,
    /// Write bursts.
    pub write_bursts: u64,
    /// Write beats taken.
    pub write_beats: u64,
    /// Error responses given.
    pub errors: u64,
}

#[derive(Debug)]
struct ReadBeat {
    due: u64,
    data: u128,
    resp: u32,
    last: bool,
}

/// The host-memory slave (see the module docs).
#[derive(Debug)]
pub struct HostMem<M: DmaMemory> {
    /// The backing memory.
    pub mem: M,
    cfg: HostMemConfig,
    reads: VecDeque<ReadBeat>,
    writes: VecDeque<(u64, u32, bool)>,
    bresps: VecDeque<(u64, u32)>,
    rd_credit: f64,
    wr_credit: f64,
    /// Traffic so far.
    pub stats: HostMemStats,
}

impl<M: DmaMemory> HostMem<M> {
    /// A model over `mem` with `cfg`'s timing.
    pub fn new(mem: M, cfg: HostMemConfig) -> Self {
        Self {
            mem,
            cfg,
            reads: VecDeque::new(),
            writes: VecDeque::new(),
            bresps: VecDeque::new(),
            rd_credit: 0.0,
            wr_credit: 0.0,
            stats: HostMemStats::default(),
        }
    }

    /// The slave's outputs for cycle `cycle`.
    #[must_use]
    pub fn drive(&self, cycle: u64) -> SlaveOut {
        let beat = BEAT_BYTES as f64;
        let mut s = SlaveOut {
            arready: true,
            awready: true,
            wready: self.wr_credit >= beat,
            ..SlaveOut::default()
        };
        if let Some(r) = self.reads.front() {
            if r.due <= cycle && self.rd_credit >= beat {
                s.rvalid = true;
                s.rdata = r.data;
                s.rresp = r.resp;
                s.rlast = r.last;
            }
        }
        if let Some(&(due, resp)) = self.bresps.front() {
            if due <= cycle {
                s.bvalid = true;
                s.bresp = resp;
            }
        }
        s
    }

    /// Take the master's outputs `m` of cycle `cycle`, given what [`drive`](Self::drive)
    /// gave (`s`), and perform the handshakes; then the bandwidth credit grows.
    pub fn observe(&mut self, m: &MasterOut, s: &SlaveOut, cycle: u64) {
        let beat = BEAT_BYTES as f64;
        if m.arvalid && s.arready {
            self.stats.read_bursts += 1;
            let beats = m.arlen + 1;
            let start = self
                .reads
                .back()
                .map_or(0, |r| r.due + 1)
                .max(cycle + self.cfg.read_latency_cycles);
            for i in 0..beats {
                let addr = m.araddr + u64::from(i) * BEAT_BYTES as u64;
                let mut w = [0u8; BEAT_BYTES];
                let ok = self.mem.read(addr, &mut w);
                if !ok {
                    self.stats.errors += 1;
                }
                self.reads.push_back(ReadBeat {
                    due: start + u64::from(i),
                    data: if ok { u128::from_le_bytes(w) } else { 0 },
                    resp: if ok { 0 } else { RESP_SLVERR },
                    last: i + 1 == beats,
                });
            }
        }
        if s.rvalid && m.rready {
            self.reads.pop_front();
            self.rd_credit -= beat;
            self.stats.read_beats += 1;
        }
        if m.awvalid && s.awready {
            self.stats.write_bursts += 1;
            self.writes.push_back((m.awaddr, m.awlen + 1, true));
        }
        if m.wvalid && s.wready {
            self.wr_credit -= beat;
            self.stats.write_beats += 1;
            if let Some((addr, left, ok)) = self.writes.front_mut() {
                let data = m.wdata.to_le_bytes();
                if !self.mem.write(*addr, &data, m.wstrb) {
                    *ok = false;
                }
                *addr += BEAT_BYTES as u64;
                *left -= 1;
                if *left == 0 || m.wlast {
                    let resp = if *ok { 0 } else { RESP_SLVERR };
                    if resp != 0 {
                        self.stats.errors += 1;
                    }
                    self.bresps
                        .push_back((cycle + self.cfg.write_response_cycles, resp));
                    self.writes.pop_front();
                }
            }
        }
        if s.bvalid && m.bready {
            self.bresps.pop_front();
        }
        // Credit for the next cycle, capped at one beat: idle cycles do not let a
        // later burst run faster than the link.
        let cap = beat.max(self.cfg.bytes_per_cycle);
        self.rd_credit = (self.rd_credit + self.cfg.bytes_per_cycle).min(cap);
        self.wr_credit = (self.wr_credit + self.cfg.bytes_per_cycle).min(cap);
    }

    /// Reads and writes not yet answered.
    #[must_use]
    pub fn idle(&self) -> bool {
        self.reads.is_empty() && self.writes.is_empty() && self.bresps.is_empty()
    }

    /// Forgets every transfer in progress (the card was reset: its bus master
    /// starts over and must not see answers to requests of before).
    pub fn abort(&mut self) {
        self.reads.clear();
        self.writes.clear();
        self.bresps.clear();
    }

    /// The timing in use.
    #[must_use]
    pub fn config(&self) -> HostMemConfig {
        self.cfg
    }
}

fn u64_of(w: [u32; 2]) -> u64 {
    u64::from(w[0]) | u64::from(w[1]) << 32
}

fn u128_of(w: [u32; 4]) -> u128 {
    w.iter()
        .rev()
        .fold(0u128, |acc, &x| acc << 32 | u128::from(x))
}

fn words_of(v: u128) -> [u32; 4] {
    [0, 1, 2, 3].map(|i| (v >> (32 * i)) as u32)
}

impl From<&Outputs> for MasterOut {
    fn from(o: &Outputs) -> Self {
        MasterOut {
            araddr: u64_of(o.m_axi_araddr),
            arlen: o.m_axi_arlen,
            arvalid: o.m_axi_arvalid != 0,
            rready: o.m_axi_rready != 0,
            awaddr: u64_of(o.m_axi_awaddr),
            awlen: o.m_axi_awlen,
            awvalid: o.m_axi_awvalid != 0,
            wdata: u128_of(o.m_axi_wdata),
            wstrb: o.m_axi_wstrb,
            wlast: o.m_axi_wlast != 0,
            wvalid: o.m_axi_wvalid != 0,
            bready: o.m_axi_bready != 0,
        }
    }
}

impl SlaveOut {
    /// Drives the core's `m_axi_*` inputs with these outputs.
    pub fn apply(&self, i: &mut Inputs) {
        i.m_axi_arready = self.arready.into();
        i.m_axi_rdata = words_of(self.rdata);
        i.m_axi_rresp = self.rresp;
        i.m_axi_rlast = self.rlast.into();
        i.m_axi_rvalid = self.rvalid.into();
        i.m_axi_awready = self.awready.into();
        i.m_axi_wready = self.wready.into();
        i.m_axi_bresp = self.bresp;
        i.m_axi_bvalid = self.bvalid.into();
    }
}

/// What the core's bus master and interrupt lines are connected to: the host
/// memory model over the driver's IOVA table, and per vector an interrupt counter
/// and (once the driver connects one) the eventfd VFIO would signal.
#[derive(Debug)]
pub struct DmaBus {
    /// Host memory.
    pub mem: HostMem<IovaTable>,
    /// Interrupts counted per vector.
    pub counts: IrqVectors,
    signals: Vec<Option<IrqSignal>>,
    slave: SlaveOut,
    /// Host memory stops answering (a hung link or bus: no request is taken, no
    /// data or response given) until cleared; what was pending then goes on.
    pub hung: bool,
}

impl DmaBus {
    /// A bus over `table` with `cfg`'s timing and `vectors` interrupt lines.
    #[must_use]
    pub fn new(table: IovaTable, cfg: HostMemConfig, vectors: usize) -> Self {
        DmaBus {
            mem: HostMem::new(table, cfg),
            counts: IrqVectors::new(vectors),
            signals: vec![None; vectors],
            slave: SlaveOut::default(),
            hung: false,
        }
    }

    /// Connects vector `v` to `signal` (an eventfd's writer); `false` if there is no
    /// such vector.
    pub fn connect(&mut self, v: usize, signal: IrqSignal) -> bool {
        match self.signals.get_mut(v) {
            Some(s) => {
                *s = Some(signal);
                true
            }
            None => false,
        }
    }

    /// Before the clock edge of `cycle`: the memory's answers onto the core's inputs.
    pub fn drive(&mut self, cycle: u64, i: &mut Inputs) {
        self.slave = if self.hung {
            SlaveOut::default()
        } else {
            self.mem.drive(cycle)
        };
        self.slave.apply(i);
    }

    /// After it: the handshakes of the cycle and the interrupt pulses. Returns
    /// whether the bus was busy (a request, a transfer or an answer pending, or an
    /// interrupt).
    pub fn observe(&mut self, cycle: u64, o: &Outputs) -> bool {
        let m = MasterOut::from(o);
        let s = self.slave;
        if !self.hung {
            self.mem.observe(&m, &s, cycle);
        }
        if o.irq != 0 {
            self.counts.observe(o.irq);
            for (v, sig) in self.signals.iter().enumerate() {
                if o.irq >> v & 1 == 1 {
                    if let Some(sig) = sig {
                        sig.signal();
                    }
                }
            }
        }
        !self.hung
            && (m.arvalid
                || m.awvalid
                || m.wvalid
                || s.rvalid
                || s.bvalid
                || o.irq != 0
                || !self.mem.idle())
    }
}

/// One counter per interrupt vector, shared with whoever waits on it (the way an
/// eventfd per MSI-X vector reaches a VFIO driver).
#[derive(Debug, Clone)]
pub struct IrqVectors {
    counters: Vec<Arc<AtomicU64>>,
}

impl IrqVectors {
    /// `n` vectors, all at 0.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self {
            counters: (0..n).map(|_| Arc::new(AtomicU64::new(0))).collect(),
        }
    }

    /// The counter of vector `v` (to hand to a waiter).
    #[must_use]
    pub fn counter(&self, v: usize) -> Option<Arc<AtomicU64>> {
        self.counters.get(v).cloned()
    }

    /// Count the pulses on the `irq` lines of one cycle.
    pub fn observe(&self, irq: u32) {
        for (v, c) in self.counters.iter().enumerate() {
            if irq >> v & 1 == 1 {
                c.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// Read and reset vector `v`'s counter (an eventfd read); 0 if none.
    #[must_use]
    pub fn take(&self, v: usize) -> u64 {
        self.counters
            .get(v)
            .map_or(0, |c| c.swap(0, Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> HostMem<RegionTable> {
        let mut t = RegionTable::new();
        assert!(t.add(0x1000, 4096));
        assert!(!t.add(0x1800, 16), "overlap refused");
        assert!(t.add(0x10_0000, 4096));
        for (i, b) in t.slice_mut(0x1000, 4096).unwrap().iter_mut().enumerate() {
            *b = i as u8;
        }
        HostMem::new(
            t,
            HostMemConfig {
                read_latency_cycles: 10,
                write_response_cycles: 3,
                bytes_per_cycle: 8.0,
            },
        )
    }

    /// Read beats seen (cycle, data, response, last) and write responses (cycle,
    /// response).
    type Seen = (Vec<(u64, u128, u32, bool)>, Vec<(u64, u32)>);

    /// Run `cycles` with `m` as the master each cycle (address phases only in the
    /// first cycle), collecting read beats and write responses.
    fn run(h: &mut HostMem<RegionTable>, first: MasterOut, mut m: MasterOut, cycles: u64) -> Seen {
        let mut beats = vec![];
        let mut bs = vec![];
        for c in 0..cycles {
            let cur = if c == 0 { first } else { m };
            let s = h.drive(c);
            if s.rvalid && cur.rready {
                beats.push((c, s.rdata, s.rresp, s.rlast));
            }
            if s.bvalid && cur.bready {
                bs.push((c, s.bresp));
            }
            h.observe(&cur, &s, c);
            if c == 0 {
                m.awvalid = false;
                m.arvalid = false;
            }
        }
        (beats, bs)
    }

    #[test]
    fn read_burst_comes_after_the_latency_at_the_bandwidth() {
        let mut h = mem();
        let ar = MasterOut {
            araddr: 0x1010,
            arlen: 7,
            arvalid: true,
            rready: true,
            ..MasterOut::default()
        };
        let (beats, _) = run(&mut h, ar, ar, 100);
        assert_eq!(beats.len(), 8);
        for (i, (_, data, resp, last)) in beats.iter().enumerate() {
            let want: Vec<u8> = (0..16).map(|k| (0x10 + 16 * i + k) as u8).collect();
            assert_eq!(data.to_le_bytes().to_vec(), want);
            assert_eq!(*resp, 0);
            assert_eq!(*last, i == 7);
        }
        assert!(beats[0].0 >= 10, "latency");
        // 8 bytes a cycle: a 16-byte beat every other cycle at best.
        for w in beats.windows(2) {
            assert!(w[1].0 - w[0].0 >= 2, "bandwidth");
        }
        assert!(h.idle());
    }

    #[test]
    fn writes_use_strobes_and_errors_are_reported() {
        let mut h = mem();
        let aw = MasterOut {
            awaddr: 0x10_0020,
            awlen: 0,
            awvalid: true,
            wdata: u128::from_le_bytes([0xaa; 16]),
            wstrb: 0x00f0,
            wlast: true,
            wvalid: true,
            bready: true,
            ..MasterOut::default()
        };
        // The beat is offered until taken (the write direction needs its credit).
        let mut bs = vec![];
        let mut sent = false;
        for c in 0..30 {
            let cur = MasterOut {
                awvalid: c == 0,
                wvalid: !sent,
                ..aw
            };
            let sl = h.drive(c);
            if sl.wready && cur.wvalid {
                sent = true;
            }
            if sl.bvalid {
                bs.push((c, sl.bresp));
            }
            h.observe(&cur, &sl, c);
        }
        assert!(sent);
        let later = MasterOut {
            wvalid: false,
            ..aw
        };
        // Outside every region: SLVERR on a read and on a write.
        let ar = MasterOut {
            araddr: 0x9000,
            arvalid: true,
            rready: true,
            ..MasterOut::default()
        };
        let (beats, _) = run(&mut h, ar, ar, 40);
        assert_eq!(beats.len(), 1);
        assert_eq!(beats[0].2, RESP_SLVERR);
        let bad = MasterOut {
            awaddr: 0x9000,
            ..aw
        };
        // Credit is there after the idle cycles above: the beat goes at once.
        let (_, bs) = run(&mut h, bad, later, 30);
        assert_eq!(bs.len(), 1);
        assert_eq!(bs[0].1, RESP_SLVERR);
        assert_eq!(h.stats.errors, 2);
    }

    #[test]
    fn default_timing_is_pcie_gen3_x8_at_250_mhz() {
        let c = HostMemConfig::default();
        assert_eq!(c.read_latency_cycles, 125);
        assert!((c.bytes_per_cycle - 31.6).abs() < 0.01);
    }

    #[test]
    fn irq_vectors_count_pulses_like_an_eventfd() {
        let v = IrqVectors::new(4);
        let c2 = v.counter(2).unwrap();
        v.observe(0b0100);
        v.observe(0b0101);
        assert_eq!(c2.load(Ordering::Acquire), 2);
        assert_eq!(v.take(0), 1);
        assert_eq!(v.take(2), 2);
        assert_eq!(v.take(2), 0);
        assert_eq!(v.take(9), 0);
    }
}
