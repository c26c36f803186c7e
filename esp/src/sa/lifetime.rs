//! Lifetimes of one SA direction: the limits ([`Lifetime`]), what was used of
//! them ([`Usage`]), the sequence-number space ([`SEQ_SOFT`], [`SEQ_LAST`] and
//! their ESN twins) and the meter that both directions, every software path and
//! every card path count on ([`LifetimeMeter`], thread-safe: several workers may
//! seal for one outbound SA).
//!
//! Soft limits are reported exactly once per SA (the caller starts a rekey); at a
//! hard limit the SA refuses packets. The sequence space has no configurable hard
//! limit: the last number ([`SEQ_LAST`] without ESN) is the last one used, and a
//! counter never wraps (RFC 4303 section 3.3.3).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crate::error::ConfigError;
use crate::types::SeqNum;

/// The last sequence number of an SA without ESN (2^32 - 1): used, never passed.
pub const SEQ_LAST: u64 = u32::MAX as u64;
/// Without ESN, a packet at this sequence number or later (2^32 - 2^24) reaches
/// the soft lifetime: 16 M packets are left for the rekey to finish.
pub const SEQ_SOFT: u64 = (1 << 32) - (1 << 24);
/// The last sequence number of an SA with ESN (2^64 - 1).
pub const ESN_SEQ_LAST: u64 = u64::MAX;
/// With ESN, the soft limit of the sequence space (2^64 - 2^56).
pub const ESN_SEQ_SOFT: u64 = u64::MAX - (1 << 56) + 1;

/// The last sequence number an SA may use.
pub fn seq_last(esn: bool) -> u64 {
    if esn {
        ESN_SEQ_LAST
    } else {
        SEQ_LAST
    }
}

/// The default (and latest possible) soft limit of the sequence space.
pub fn seq_soft(esn: bool) -> u64 {
    if esn {
        ESN_SEQ_SOFT
    } else {
        SEQ_SOFT
    }
}

/// Soft and hard lifetimes in packets and bytes (payload bytes), and an earlier
/// soft limit of the sequence space. `None` = no limit (for `soft_seq`: the
/// default, [`seq_soft`]). Time-based lifetimes belong to the caller (this crate
/// reads no clock).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lifetime {
    /// Report once when this many packets have been processed.
    pub soft_packets: Option<u64>,
    /// Refuse after this many packets.
    pub hard_packets: Option<u64>,
    /// Report once when this many payload bytes have been processed.
    pub soft_bytes: Option<u64>,
    /// Refuse after this many payload bytes.
    pub hard_bytes: Option<u64>,
    /// Report once at the first packet with this sequence number or a later one
    /// (never later than [`seq_soft`]: a larger value means the default).
    pub soft_seq: Option<u64>,
}

impl Lifetime {
    /// The soft limit of the sequence space for an SA with or without ESN.
    pub fn soft_seq_for(&self, esn: bool) -> u64 {
        let default = seq_soft(esn);
        self.soft_seq.map_or(default, |s| s.min(default))
    }

    /// Soft limits no later than hard ones.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if matches!((self.soft_packets, self.hard_packets), (Some(s), Some(h)) if s > h)
            || matches!((self.soft_bytes, self.hard_bytes), (Some(s), Some(h)) if s > h)
        {
            return Err(ConfigError::Lifetime);
        }
        Ok(())
    }
}

/// Packets and payload bytes processed by an SA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Packets.
    pub packets: u64,
    /// Payload bytes (before padding).
    pub bytes: u64,
}

/// The limits of one SA direction and what it has used of them. All methods take
/// `&self` (relaxed atomics): the outbound workers that share an SA count on one
/// meter, and status readers look at it while they do.
#[derive(Debug)]
pub struct LifetimeMeter {
    limits: Lifetime,
    soft_seq: u64,
    last_seq: u64,
    packets: AtomicU64,
    bytes: AtomicU64,
    /// Highest sequence number counted (0: none yet).
    highest_seq: AtomicU64,
    soft_reported: AtomicBool,
}

/// A meter's state for status displays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LifetimeStatus {
    /// A soft limit was reached (and reported).
    pub soft_reached: bool,
    /// A hard limit was reached, or the last sequence number was used: the SA
    /// carries no more packets.
    pub hard_reached: bool,
    /// Packets left before the hard packet limit (`None`: no limit).
    pub packets_left: Option<u64>,
    /// Bytes left before the hard byte limit (`None`: no limit).
    pub bytes_left: Option<u64>,
    /// Sequence numbers left after the highest one counted.
    pub seq_left: u64,
}

impl LifetimeMeter {
    /// Nothing used yet, for an SA with or without ESN.
    pub fn new(limits: Lifetime, esn: bool) -> Self {
        LifetimeMeter {
            limits,
            soft_seq: limits.soft_seq_for(esn),
            last_seq: seq_last(esn),
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            highest_seq: AtomicU64::new(0),
            soft_reported: AtomicBool::new(false),
        }
    }

    /// The limits.
    pub fn limits(&self) -> Lifetime {
        self.limits
    }

    /// The soft limit of the sequence space in force.
    pub fn soft_seq(&self) -> u64 {
        self.soft_seq
    }

    /// True once a hard packet or byte limit is reached: the SA refuses further
    /// packets.
    pub fn hard_reached(&self) -> bool {
        reached(self.limits.hard_packets, self.packets.load(Relaxed))
            || reached(self.limits.hard_bytes, self.bytes.load(Relaxed))
    }

    /// Admits one packet of `bytes` payload bytes under the hard limits and counts
    /// it; returns the usage with this packet (its place in the count, for
    /// [`soft_due`](Self::soft_due)), or `None` (nothing counted) when a hard
    /// limit was already reached. Exact in packets however many threads admit at
    /// once.
    pub fn admit(&self, bytes: usize) -> Option<Usage> {
        if reached(self.limits.hard_bytes, self.bytes.load(Relaxed)) {
            return None;
        }
        let before = match self.limits.hard_packets {
            None => self.packets.fetch_add(1, Relaxed),
            Some(h) => self
                .packets
                .fetch_update(Relaxed, Relaxed, |p| (p < h).then_some(p + 1))
                .ok()?,
        };
        let b = bytes as u64;
        Some(Usage {
            packets: before.saturating_add(1),
            bytes: self.bytes.fetch_add(b, Relaxed).saturating_add(b),
        })
    }

    /// After a packet was counted (`at`: the usage with it, from
    /// [`admit`](Self::admit)) and carried at `seq`: true exactly once per meter,
    /// on the first packet that reaches a soft limit (packets, bytes or sequence
    /// space).
    pub fn soft_due(&self, seq: SeqNum, at: Usage) -> bool {
        self.highest_seq.fetch_max(seq.0, Relaxed);
        if self.soft_reported.load(Relaxed) {
            return false;
        }
        let due = seq.0 >= self.soft_seq
            || reached(self.limits.soft_packets, at.packets)
            || reached(self.limits.soft_bytes, at.bytes);
        due && !self.soft_reported.swap(true, Relaxed)
    }

    /// Counts one packet carried at `seq` without a hard-limit check (the caller
    /// checked [`hard_reached`](Self::hard_reached) before); returns
    /// [`soft_due`](Self::soft_due).
    pub fn account(&self, bytes: usize, seq: SeqNum) -> bool {
        let b = bytes as u64;
        let at = Usage {
            packets: self.packets.fetch_add(1, Relaxed).saturating_add(1),
            bytes: self.bytes.fetch_add(b, Relaxed).saturating_add(b),
        };
        self.soft_due(seq, at)
    }

    /// Packets and bytes counted so far.
    pub fn usage(&self) -> Usage {
        Usage {
            packets: self.packets.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
        }
    }

    /// True once a soft limit was reported.
    pub fn soft_reached(&self) -> bool {
        self.soft_reported.load(Relaxed)
    }

    /// The highest sequence number counted (0: none yet).
    pub fn highest_seq(&self) -> u64 {
        self.highest_seq.load(Relaxed)
    }

    /// Everything a status display shows.
    pub fn status(&self) -> LifetimeStatus {
        let u = self.usage();
        let highest = self.highest_seq();
        let left = |limit: Option<u64>, used: u64| limit.map(|l| l.saturating_sub(used));
        LifetimeStatus {
            soft_reached: self.soft_reached(),
            hard_reached: self.hard_reached() || highest >= self.last_seq,
            packets_left: left(self.limits.hard_packets, u.packets),
            bytes_left: left(self.limits.hard_bytes, u.bytes),
            seq_left: self.last_seq.saturating_sub(highest),
        }
    }
}

/// `used` has reached `limit` (no limit is never reached).
fn reached(limit: Option<u64>, used: u64) -> bool {
    limit.is_some_and(|l| used >= l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_space_constants() {
        assert_eq!(SEQ_LAST, (1u64 << 32) - 1);
        assert_eq!(SEQ_SOFT, 4_278_190_080);
        assert_eq!(SEQ_LAST - SEQ_SOFT + 1, 1 << 24);
        assert_eq!(ESN_SEQ_LAST - ESN_SEQ_SOFT + 1, 1 << 56);
        let l = Lifetime {
            soft_seq: Some(1000),
            ..Default::default()
        };
        assert_eq!(l.soft_seq_for(false), 1000);
        let late = Lifetime {
            soft_seq: Some(SEQ_LAST),
            ..Default::default()
        };
        assert_eq!(
            late.soft_seq_for(false),
            SEQ_SOFT,
            "never later than the default"
        );
        assert_eq!(late.soft_seq_for(true), SEQ_LAST, "with ESN it is early");
    }

    #[test]
    fn soft_once_in_packets_and_hard_stops() {
        let m = LifetimeMeter::new(
            Lifetime {
                soft_packets: Some(3),
                hard_packets: Some(5),
                ..Default::default()
            },
            false,
        );
        let mut soft = Vec::new();
        for s in 1..=5u64 {
            let at = m.admit(10).expect("admitted");
            assert_eq!(at.packets, s);
            soft.push(m.soft_due(SeqNum(s), at));
        }
        assert_eq!(soft, [false, false, true, false, false]);
        assert!(m.hard_reached());
        assert!(m.admit(10).is_none(), "past the hard limit");
        assert_eq!(
            m.usage(),
            Usage {
                packets: 5,
                bytes: 50
            }
        );
        let st = m.status();
        assert!(st.soft_reached && st.hard_reached);
        assert_eq!(st.packets_left, Some(0));
        assert_eq!(st.bytes_left, None);
        assert_eq!(st.seq_left, SEQ_LAST - 5);
    }

    #[test]
    fn byte_limits_count_payload_bytes() {
        let m = LifetimeMeter::new(
            Lifetime {
                soft_bytes: Some(100),
                hard_bytes: Some(150),
                ..Default::default()
            },
            false,
        );
        let at = m.admit(60).expect("admitted");
        assert!(!m.soft_due(SeqNum(1), at));
        let at = m.admit(60).expect("admitted");
        assert_eq!(at.bytes, 120);
        assert!(m.soft_due(SeqNum(2), at), "120 bytes >= 100");
        // 120 < 150: one more is admitted, and then nothing
        let at = m.admit(60).expect("admitted");
        assert!(!m.soft_due(SeqNum(3), at), "soft is reported once");
        assert!(m.admit(1).is_none());
        assert_eq!(m.status().bytes_left, Some(0));
    }

    #[test]
    fn sequence_space_soft_then_last_number() {
        let m = LifetimeMeter::new(Lifetime::default(), false);
        let one = |m: &LifetimeMeter, seq: u64| {
            let at = m.admit(1).expect("no packet limit");
            m.soft_due(SeqNum(seq), at)
        };
        assert!(!one(&m, SEQ_SOFT - 1));
        assert!(one(&m, SEQ_SOFT));
        assert!(!one(&m, SEQ_SOFT + 1));
        assert!(!m.status().hard_reached);
        assert!(!one(&m, SEQ_LAST));
        let st = m.status();
        assert!(st.hard_reached, "the last number is used");
        assert_eq!(st.seq_left, 0);
        // with ESN, 2^32 is nowhere near the end
        let e = LifetimeMeter::new(Lifetime::default(), true);
        assert!(!one(&e, SEQ_LAST + 1));
        assert!(one(&e, ESN_SEQ_SOFT));
    }

    #[test]
    fn threads_admitting_together_stop_exactly_at_the_hard_limit() {
        let m = std::sync::Arc::new(LifetimeMeter::new(
            Lifetime {
                soft_packets: Some(1000),
                hard_packets: Some(10_000),
                ..Default::default()
            },
            true,
        ));
        let seq = std::sync::Arc::new(AtomicU64::new(1));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (m, seq) = (m.clone(), seq.clone());
                std::thread::spawn(move || {
                    let (mut admitted, mut soft) = (0u64, 0u64);
                    for _ in 0..5000 {
                        if let Some(at) = m.admit(1) {
                            admitted += 1;
                            let s = SeqNum(seq.fetch_add(1, Relaxed));
                            soft += u64::from(m.soft_due(s, at));
                        }
                    }
                    (admitted, soft)
                })
            })
            .collect();
        let (mut admitted, mut soft) = (0, 0);
        for h in handles {
            let (a, s) = h.join().expect("thread");
            admitted += a;
            soft += s;
        }
        assert_eq!(admitted, 10_000);
        assert_eq!(soft, 1, "soft reported once across threads");
    }
}
