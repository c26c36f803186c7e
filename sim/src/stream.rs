//! The streaming harness: packets into `s_axis`, results out of `m_axis`, with
//! seeded random input gaps and output back-pressure, and AXI4-Stream protocol
//! checks on the output (no partial beat before `tlast`, contiguous `tkeep`,
//! data held stable while stalled).
//!
//! The traffic runs as a [`StreamEngine`] attached to the [`Model`]: every clock
//! cycle, whoever steps the model (the stream loop here, or an AXI4-Lite
//! transaction made by the driver meanwhile) also moves the stream. That is how
//! SA table writes are tested while packets are in flight.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::ffi::{Inputs, Outputs, TUSER_WORDS};
use crate::model::{Model, SimError};

/// Bytes per stream beat.
pub const BEAT_BYTES: usize = 16;

/// One packet for `s_axis`: bytes (byte 0 in lane 0) and the side-band
/// descriptor presented on its first beat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InPacket {
    /// Packet bytes; an empty packet is sent as one beat with `tkeep = 0`.
    pub data: Vec<u8>,
    /// `s_axis_tuser` for the first beat, least significant word first.
    pub tuser: [u32; TUSER_WORDS],
}

/// One packet that came out of `m_axis`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutPacket {
    /// Bytes whose `tkeep` bit was set, in order.
    pub data: Vec<u8>,
    /// `m_axis_tuser` of the first beat.
    pub tuser: [u32; TUSER_WORDS],
    /// Cycle at which its first beat was taken.
    pub first_cycle: u64,
    /// Cycle at which its last beat was taken.
    pub last_cycle: u64,
}

/// When each input packet was taken by the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InTiming {
    /// Cycle at which its first beat was accepted.
    pub first_cycle: u64,
    /// Cycle at which its last beat was accepted.
    pub last_cycle: u64,
}

/// Traffic shaping for one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shaping {
    /// Seed of the random gaps and stalls.
    pub seed: u64,
    /// Probability that no beat is offered in a cycle where one could be.
    pub gap: f64,
    /// Probability that `m_axis_tready` is low in a cycle.
    pub stall: f64,
    /// Cycles without any stream progress before the run is a timeout.
    pub idle_limit: u64,
}

impl Shaping {
    /// Back-to-back input and an always-ready output.
    pub fn full_rate() -> Self {
        Self {
            seed: 0,
            gap: 0.0,
            stall: 0.0,
            idle_limit: 200_000,
        }
    }

    /// Random gaps and stalls with the given probabilities.
    pub fn random(seed: u64, gap: f64, stall: f64) -> Self {
        Self {
            seed,
            gap,
            stall,
            idle_limit: 200_000,
        }
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, Default)]
pub struct StreamRun {
    /// Output packets in the order they left the core.
    pub outputs: Vec<OutPacket>,
    /// When each input packet was taken, in input order.
    pub inputs: Vec<InTiming>,
    /// Cycle at which the run started.
    pub start_cycle: u64,
    /// Cycle after the last output beat.
    pub end_cycle: u64,
}

/// An AXI4-Stream rule broken by the core's output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("m_axis protocol violation at cycle {cycle}: {rule}")]
pub struct ProtocolViolation {
    /// Cycle of the offending beat.
    pub cycle: u64,
    /// Which rule.
    pub rule: &'static str,
}

fn beat_of(data: &[u8], beat: usize) -> ([u32; 4], u32, bool) {
    let start = beat * BEAT_BYTES;
    let end = (start + BEAT_BYTES).min(data.len());
    let mut bytes = [0u8; BEAT_BYTES];
    let chunk = data.get(start..end).unwrap_or(&[]);
    bytes[..chunk.len()].copy_from_slice(chunk);
    let mut words = [0u32; 4];
    for (w, c) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    let keep = if chunk.len() == BEAT_BYTES {
        0xffff
    } else {
        (1u32 << chunk.len()) - 1
    };
    let last = end >= data.len();
    (words, keep, last)
}

/// Number of beats a packet of `len` bytes takes on the stream.
pub fn beats_for(len: usize) -> usize {
    len.div_ceil(BEAT_BYTES).max(1)
}

type HeldBeat = ([u32; 4], u32, u32, [u32; TUSER_WORDS]);

/// Stream traffic in progress on a model (see the module docs).
#[derive(Debug)]
pub struct StreamEngine {
    packets: Vec<InPacket>,
    shaping: Shaping,
    rng: StdRng,
    pkt: usize,
    beat: usize,
    cur: Option<OutPacket>,
    held: Option<HeldBeat>,
    idle: u64,
    error: Option<ProtocolViolation>,
    run: StreamRun,
}

impl StreamEngine {
    /// Traffic of `packets` with `shaping`, starting at cycle `now`.
    pub fn new(packets: Vec<InPacket>, shaping: Shaping, now: u64) -> Self {
        let n = packets.len();
        let mut run = StreamRun {
            start_cycle: now,
            ..StreamRun::default()
        };
        run.inputs.reserve(n);
        run.outputs.reserve(n);
        Self {
            packets,
            rng: StdRng::seed_from_u64(shaping.seed),
            shaping,
            pkt: 0,
            beat: 0,
            cur: None,
            held: None,
            idle: 0,
            error: None,
            run,
        }
    }

    /// Input packets not yet fully taken by the core.
    pub fn pending_inputs(&self) -> usize {
        self.packets.len() - self.pkt
    }

    /// Output packets collected so far.
    pub fn outputs(&self) -> usize {
        self.run.outputs.len()
    }

    /// Cycles since the last stream progress.
    pub fn idle_cycles(&self) -> u64 {
        self.idle
    }

    /// Sets this cycle's stream inputs.
    pub(crate) fn drive(&mut self, i: &mut Inputs) {
        // Keep a beat asserted until it is taken; only an idle bus may gap.
        if i.s_axis_tvalid == 0
            && self.pkt < self.packets.len()
            && !(self.shaping.gap > 0.0 && self.rng.gen_bool(self.shaping.gap))
        {
            let p = &self.packets[self.pkt];
            let (words, keep, last) = beat_of(&p.data, self.beat);
            i.s_axis_tdata = words;
            i.s_axis_tkeep = keep;
            i.s_axis_tlast = u32::from(last);
            i.s_axis_tvalid = 1;
            i.s_axis_tuser = if self.beat == 0 {
                p.tuser
            } else {
                [0; TUSER_WORDS]
            };
        }
        i.m_axis_tready =
            u32::from(!(self.shaping.stall > 0.0 && self.rng.gen_bool(self.shaping.stall)));
    }

    /// Accounts for the handshakes of the cycle `cycle` just stepped.
    pub(crate) fn observe(&mut self, i: &mut Inputs, o: &Outputs, cycle: u64) {
        let mut progress = false;
        if i.s_axis_tvalid != 0 && o.s_axis_tready != 0 {
            progress = true;
            if self.beat == 0 {
                self.run.inputs.push(InTiming {
                    first_cycle: cycle,
                    last_cycle: cycle,
                });
            }
            if i.s_axis_tlast != 0 {
                if let Some(t) = self.run.inputs.last_mut() {
                    t.last_cycle = cycle;
                }
                self.pkt += 1;
                self.beat = 0;
            } else {
                self.beat += 1;
            }
            i.s_axis_tvalid = 0;
        }

        if o.m_axis_tvalid != 0 {
            let now = (
                o.m_axis_tdata,
                o.m_axis_tkeep,
                o.m_axis_tlast,
                o.m_axis_tuser,
            );
            if self.held.is_some_and(|prev| prev != now) {
                self.violation(
                    cycle,
                    "m_axis beat changed while tvalid was high and tready low",
                );
            }
            if i.m_axis_tready != 0 {
                self.held = None;
                progress = true;
                self.take_beat(o, cycle);
            } else {
                self.held = Some(now);
            }
        } else if self.held.take().is_some() {
            self.violation(cycle, "m_axis tvalid dropped before the beat was taken");
        }
        if progress {
            self.idle = 0;
        } else {
            self.idle += 1;
        }
    }

    fn violation(&mut self, cycle: u64, rule: &'static str) {
        if self.error.is_none() {
            self.error = Some(ProtocolViolation { cycle, rule });
        }
    }

    fn take_beat(&mut self, o: &Outputs, cycle: u64) {
        let keep = o.m_axis_tkeep & 0xffff;
        if keep & keep.wrapping_add(1) != 0 {
            self.violation(cycle, "tkeep is not contiguous from lane 0");
        }
        if o.m_axis_tlast == 0 && keep != 0xffff {
            self.violation(cycle, "partial beat before tlast");
        }
        let c = self.cur.get_or_insert_with(|| OutPacket {
            data: Vec::new(),
            tuser: o.m_axis_tuser,
            first_cycle: cycle,
            last_cycle: cycle,
        });
        let n = keep.count_ones() as usize;
        let mut bytes = [0u8; BEAT_BYTES];
        for (chunk, w) in bytes.chunks_exact_mut(4).zip(o.m_axis_tdata) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        c.data.extend_from_slice(&bytes[..n]);
        if o.m_axis_tlast != 0 {
            if let Some(mut done) = self.cur.take() {
                done.last_cycle = cycle;
                self.run.outputs.push(done);
            }
        }
    }

    fn finish(mut self, now: u64) -> Result<StreamRun, SimError> {
        if let Some(e) = self.error.take() {
            return Err(SimError::Protocol(e));
        }
        self.run.end_cycle = now;
        Ok(self.run)
    }
}

impl Model {
    /// Attaches traffic that then moves with every [`Model::step`].
    /// Replaces (and drops) traffic already attached.
    pub fn start_stream(&mut self, packets: Vec<InPacket>, shaping: Shaping) {
        self.inputs.s_axis_tvalid = 0;
        self.engine = Some(Box::new(StreamEngine::new(packets, shaping, self.cycles())));
    }

    /// The attached traffic, if any.
    pub fn stream_engine(&self) -> Option<&StreamEngine> {
        self.engine.as_deref()
    }

    /// Steps until `expect_outputs` packets came out of the attached traffic,
    /// then detaches it and returns what it produced.
    pub fn finish_stream(&mut self, expect_outputs: usize) -> Result<StreamRun, SimError> {
        loop {
            let Some(e) = self.engine.as_deref() else {
                return Err(SimError::NoStream);
            };
            if e.error.is_some() || e.outputs() >= expect_outputs {
                break;
            }
            if e.idle > e.shaping.idle_limit {
                let err = SimError::StreamStuck {
                    cycles: e.shaping.idle_limit,
                    at: self.cycles(),
                    outputs: e.outputs(),
                    pending: e.pending_inputs(),
                    tready: self.outputs().s_axis_tready,
                    tvalid: self.outputs().m_axis_tvalid,
                };
                self.engine = None;
                self.quiet_stream();
                return Err(err);
            }
            self.step();
        }
        let engine = self.engine.take().ok_or(SimError::NoStream)?;
        self.quiet_stream();
        engine.finish(self.cycles())
    }

    fn quiet_stream(&mut self) {
        self.inputs.s_axis_tvalid = 0;
        self.inputs.m_axis_tready = 0;
    }
}

/// Runs `packets` through the stream ports until as many packets came out as
/// went in (the core answers every input packet with exactly one output).
pub fn run(
    model: &mut Model,
    packets: &[InPacket],
    shaping: Shaping,
) -> Result<StreamRun, SimError> {
    model.start_stream(packets.to_vec(), shaping);
    model.finish_stream(packets.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_split_little_endian_with_keep_and_last() {
        let data: Vec<u8> = (1..=17).collect();
        let (w0, k0, l0) = beat_of(&data, 0);
        assert_eq!(w0[0], 0x0403_0201, "byte 0 in bits 7:0");
        assert_eq!(w0[3], 0x100f_0e0d);
        assert_eq!((k0, l0), (0xffff, false));
        let (w1, k1, l1) = beat_of(&data, 1);
        assert_eq!((w1, k1, l1), ([17, 0, 0, 0], 0x0001, true));
        assert_eq!(
            beat_of(&[], 0),
            ([0; 4], 0, true),
            "an empty packet is one beat with no bytes"
        );
        assert_eq!(beat_of(&[0xaa; 32], 1).1, 0xffff);
        assert!(beat_of(&[0xaa; 32], 1).2);
        assert_eq!(
            (beats_for(0), beats_for(16), beats_for(17), beats_for(9000)),
            (1, 1, 2, 563)
        );
    }
}
