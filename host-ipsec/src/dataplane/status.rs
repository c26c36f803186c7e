//! What the control plane reads of the running data path: the installed pairs,
//! their next sequence numbers (for persisting) and their status records.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use esp::LifetimeMeter;

use super::Dataplane;
use crate::path::PathKind;
use crate::sa::ChildSaSpec;
use crate::state::Gate;
use crate::stats::{self, inc, SaCounters, SaStatus};

impl Dataplane {
    /// The specs of all installed pairs.
    pub fn installed_specs(&self) -> Vec<Arc<ChildSaSpec>> {
        self.installed
            .lock()
            .map(|m| m.values().map(|i| i.spec.clone()).collect())
            .unwrap_or_default()
    }

    /// Outbound next sequence numbers by outbound SPI (for persisting).
    pub fn next_seqs(&self) -> Vec<(u32, u64)> {
        self.installed
            .lock()
            .map(|m| {
                m.values()
                    .map(|i| (i.spec.outbound.spi, stats::get(&i.counters.out_next_seq)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The gated (manual) outbound SAs: each gate and its path's next sequence
    /// number (None: exhausted), for the saver of [`crate::state`].
    pub fn gates(&self) -> Vec<(Arc<Gate>, Option<u64>)> {
        let gated: Vec<_> = self
            .installed
            .lock()
            .map(|m| {
                m.values()
                    .filter_map(|i| Some((i.gate.clone()?, i.out.path.clone())))
                    .collect()
            })
            .unwrap_or_default();
        // outside the lock: a card path's next_seq takes the engine's lock
        gated
            .into_iter()
            .map(|(g, p)| {
                let n = p.next_seq().map(|s| s.0);
                (g, n)
            })
            .collect()
    }

    /// The gate of the installed pair with inbound SPI `inbound_spi`.
    pub fn gate_of(&self, inbound_spi: u32) -> Option<Arc<Gate>> {
        self.installed.lock().ok()?.get(&inbound_spi)?.gate.clone()
    }

    /// Status records for every installed SA (both directions).
    pub fn sa_status(&self) -> Vec<SaStatus> {
        let Ok(m) = self.installed.lock() else {
            return Vec::new();
        };
        m.values()
            .flat_map(|i| pair_status(&i.spec, &i.counters, [&i.in_life, &i.out_life]))
            .collect()
    }
}

/// The inbound and outbound status records of one installed pair, with the
/// lifetime meters of its inbound and outbound halves.
fn pair_status(s: &ChildSaSpec, c: &SaCounters, life: [&LifetimeMeter; 2]) -> [SaStatus; 2] {
    let ts = |t: &[crate::config::IpPrefix]| t.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    let [in_life, out_life] = life.map(LifetimeMeter::status);
    let base = |dir: &str, spi: u32| SaStatus {
        connection: s.connection.clone(),
        child: s.child.clone(),
        direction: dir.into(),
        spi: format!("{spi:#010x}"),
        local_ts: ts(&s.local_ts),
        remote_ts: ts(&s.remote_ts),
        mode: format!("{:?}", s.mode).to_lowercase(),
        transform: s.transform.name().into(),
        encap: format!("{:?}", s.encap).to_lowercase(),
        path: if c.path.load(Ordering::Relaxed) == 1 {
            "card"
        } else {
            "software"
        }
        .into(),
        origin: format!("{:?}", s.origin).to_lowercase(),
        packets: 0,
        bytes: 0,
        auth_failures: 0,
        replay_drops: 0,
        selector_drops: 0,
        errors: 0,
        fallbacks: stats::get(&c.fallbacks),
        life_packets_left: None,
        life_bytes_left: None,
        seq_left: None,
        soft_reached: false,
        hard_reached: false,
        lifetime_drops: 0,
        next_seq: None,
        fragmented: 0,
        icmp_too_big: 0,
    };
    let (ip, ib) = (stats::get(&c.in_packets), stats::get(&c.in_bytes));
    let inbound = SaStatus {
        packets: ip,
        bytes: ib,
        auth_failures: stats::get(&c.auth_failures),
        replay_drops: stats::get(&c.replay_drops),
        selector_drops: stats::get(&c.selector_drops),
        errors: stats::get(&c.in_errors),
        life_packets_left: in_life.packets_left,
        life_bytes_left: in_life.bytes_left,
        seq_left: Some(in_life.seq_left),
        soft_reached: in_life.soft_reached,
        hard_reached: in_life.hard_reached,
        lifetime_drops: stats::get(&c.in_lifetime_drops),
        ..base("in", s.inbound.spi)
    };
    let (op, ob) = (stats::get(&c.out_packets), stats::get(&c.out_bytes));
    let max = esp::seq_last(s.esn);
    let next = stats::get(&c.out_next_seq);
    let outbound = SaStatus {
        packets: op,
        bytes: ob,
        errors: stats::get(&c.out_errors),
        life_packets_left: out_life.packets_left,
        life_bytes_left: out_life.bytes_left,
        seq_left: Some(if next == 0 {
            0
        } else {
            max.saturating_sub(next) + 1
        }),
        soft_reached: out_life.soft_reached,
        hard_reached: out_life.hard_reached || next == 0,
        lifetime_drops: stats::get(&c.out_lifetime_drops),
        next_seq: Some(next),
        fragmented: stats::get(&c.fragmented),
        icmp_too_big: stats::get(&c.icmp_too_big),
        ..base("out", s.outbound.spi)
    };
    [inbound, outbound]
}

/// Records where an SA runs now; a move from the card to software is a fallback.
pub(super) fn note_path(c: &SaCounters, kind: PathKind) {
    let now = u8::from(kind == PathKind::Card);
    let before = c.path.swap(now, Ordering::Relaxed);
    if before == 1 && now == 0 {
        inc(&c.fallbacks);
    }
}
