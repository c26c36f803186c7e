//! The streaming harness: packets into `s_axis`, results out of `m_axis`, with
//! seeded random input gaps and output back-pressure, and AXI4-Stream protocol
//! checks on the output (no partial beat before `tlast`, contiguous `tkeep`,
//! data held stable while stalled).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::ffi::TUSER_WORDS;
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
            idle_limit: 100_000,
        }
    }

    /// Random gaps and stalls with the given probabilities.
    pub fn random(seed: u64, gap: f64, stall: f64) -> Self {
        Self {
            seed,
            gap,
            stall,
            idle_limit: 100_000,
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

fn beats(len: usize) -> usize {
    len.div_ceil(BEAT_BYTES).max(1)
}

/// Runs `packets` through the stream ports until as many packets came out as
/// went in. `expect_outputs` overrides that count (e.g. when the core drops).
pub fn run(
    model: &mut Model,
    packets: &[InPacket],
    shaping: Shaping,
) -> Result<StreamRun, SimError> {
    run_expecting(model, packets, shaping, packets.len())
}

/// As [`run`], waiting for `expect_outputs` output packets.
pub fn run_expecting(
    model: &mut Model,
    packets: &[InPacket],
    shaping: Shaping,
    expect_outputs: usize,
) -> Result<StreamRun, SimError> {
    let mut rng = StdRng::seed_from_u64(shaping.seed);
    let mut result = StreamRun {
        start_cycle: model.cycles(),
        ..StreamRun::default()
    };
    let mut pkt = 0usize;
    let mut beat = 0usize;
    let mut cur: Option<OutPacket> = None;
    let mut idle = 0u64;
    let mut held: Option<([u32; 4], u32, u32, [u32; TUSER_WORDS])> = None;
    result.inputs.reserve(packets.len());

    while result.outputs.len() < expect_outputs {
        // Input side: keep a beat asserted until it is taken; only an idle bus may gap.
        if model.inputs.s_axis_tvalid == 0
            && pkt < packets.len()
            && !(shaping.gap > 0.0 && rng.gen_bool(shaping.gap))
        {
            let p = &packets[pkt];
            let (words, keep, last) = beat_of(&p.data, beat);
            let i = &mut model.inputs;
            i.s_axis_tdata = words;
            i.s_axis_tkeep = keep;
            i.s_axis_tlast = u32::from(last);
            i.s_axis_tvalid = 1;
            i.s_axis_tuser = if beat == 0 { p.tuser } else { [0; TUSER_WORDS] };
        }
        model.inputs.m_axis_tready =
            u32::from(!(shaping.stall > 0.0 && rng.gen_bool(shaping.stall)));
        let cycle = model.cycles();
        let o = *model.step();
        let mut progress = false;

        if model.inputs.s_axis_tvalid != 0 && o.s_axis_tready != 0 {
            progress = true;
            if beat == 0 {
                result.inputs.push(InTiming {
                    first_cycle: cycle,
                    last_cycle: cycle,
                });
            }
            if model.inputs.s_axis_tlast != 0 {
                if let Some(t) = result.inputs.last_mut() {
                    t.last_cycle = cycle;
                }
                pkt += 1;
                beat = 0;
            } else {
                beat += 1;
            }
            model.inputs.s_axis_tvalid = 0;
        }

        if o.m_axis_tvalid != 0 {
            let now = (
                o.m_axis_tdata,
                o.m_axis_tkeep,
                o.m_axis_tlast,
                o.m_axis_tuser,
            );
            if let Some(prev) = held {
                if prev != now {
                    return Err(SimError::Protocol(ProtocolViolation {
                        cycle,
                        rule: "m_axis beat changed while tvalid was high and tready low",
                    }));
                }
            }
            if model.inputs.m_axis_tready != 0 {
                held = None;
                progress = true;
                let keep = o.m_axis_tkeep & 0xffff;
                if keep & keep.wrapping_add(1) != 0 {
                    return Err(SimError::Protocol(ProtocolViolation {
                        cycle,
                        rule: "tkeep is not contiguous from lane 0",
                    }));
                }
                if o.m_axis_tlast == 0 && keep != 0xffff {
                    return Err(SimError::Protocol(ProtocolViolation {
                        cycle,
                        rule: "partial beat before tlast",
                    }));
                }
                let c = cur.get_or_insert_with(|| OutPacket {
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
                    if let Some(mut done) = cur.take() {
                        done.last_cycle = cycle;
                        result.outputs.push(done);
                    }
                }
            } else {
                held = Some(now);
            }
        } else if held.is_some() {
            return Err(SimError::Protocol(ProtocolViolation {
                cycle,
                rule: "m_axis tvalid dropped before the beat was taken",
            }));
        }

        if progress {
            idle = 0;
        } else {
            idle += 1;
            if idle > shaping.idle_limit {
                model.inputs.s_axis_tvalid = 0;
                model.inputs.m_axis_tready = 0;
                return Err(SimError::Timeout {
                    what: "stream run (no progress)",
                    cycles: shaping.idle_limit,
                });
            }
        }
    }
    model.inputs.s_axis_tvalid = 0;
    model.inputs.m_axis_tready = 0;
    result.end_cycle = model.cycles();
    Ok(result)
}

/// Number of beats a packet of `len` bytes takes on the stream.
pub fn beats_for(len: usize) -> usize {
    beats(len)
}
