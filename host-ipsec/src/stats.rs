//! Counters (relaxed atomics written by one worker each, read by the control
//! plane) and the status records the control socket returns.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};

use serde::{Deserialize, Serialize};

/// Per-SA-pair counters.
#[derive(Debug, Default)]
pub struct SaCounters {
    /// Outbound packets sealed.
    pub out_packets: AtomicU64,
    /// Outbound inner bytes sealed.
    pub out_bytes: AtomicU64,
    /// Outbound packets that could not be sealed or sent.
    pub out_errors: AtomicU64,
    /// Next outbound sequence number (for persisting).
    pub out_next_seq: AtomicU64,
    /// Inbound packets accepted.
    pub in_packets: AtomicU64,
    /// Inbound inner bytes accepted.
    pub in_bytes: AtomicU64,
    /// ICV failures.
    pub auth_failures: AtomicU64,
    /// Replayed or too old.
    pub replay_drops: AtomicU64,
    /// Decrypted packets outside the selectors.
    pub selector_drops: AtomicU64,
    /// Other inbound drops (trailer, malformed inner, lifetime).
    pub in_errors: AtomicU64,
    /// Packets moved from the card to software.
    pub fallbacks: AtomicU64,
    /// Inner packets fragmented before encapsulation.
    pub fragmented: AtomicU64,
    /// ICMP too-big answers sent.
    pub icmp_too_big: AtomicU64,
    /// Outbound packets dropped at a hard lifetime or the last sequence number.
    pub out_lifetime_drops: AtomicU64,
    /// Inbound packets dropped at a hard lifetime.
    pub in_lifetime_drops: AtomicU64,
    /// 0 = software, 1 = card.
    pub path: AtomicU8,
}

/// Daemon-wide counters.
#[derive(Debug, Default)]
pub struct GlobalCounters {
    /// Outbound packets that matched no SA (dropped: default policy discard).
    pub no_policy: AtomicU64,
    /// Inbound ESP with an SPI we do not know.
    pub unknown_spi: AtomicU64,
    /// Malformed packets (TUN or network).
    pub malformed: AtomicU64,
    /// IKE messages on UDP 4500 (non-ESP marker) with no IKE handler.
    pub ike_unhandled: AtomicU64,
    /// NAT keepalives received.
    pub keepalives: AtomicU64,
    /// Control socket requests refused (garbage or not root).
    pub control_refused: AtomicU64,
    /// Send or TUN write errors.
    pub io_errors: AtomicU64,
    /// Outbound packets of manual SAs dropped unsealed because their sequence
    /// number is not yet durably reserved (or the SA is exhausted).
    pub seq_unreserved_drops: AtomicU64,
}

/// Adds one.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

/// Adds `n`.
pub fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Relaxed);
}

/// Reads.
pub fn get(c: &AtomicU64) -> u64 {
    c.load(Relaxed)
}

/// One SA (one direction) as `list-sas` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SaStatus {
    /// Connection.
    pub connection: String,
    /// Child.
    pub child: String,
    /// "in" or "out".
    pub direction: String,
    /// SPI as 0x........
    pub spi: String,
    /// Local selectors.
    pub local_ts: Vec<String>,
    /// Remote selectors.
    pub remote_ts: Vec<String>,
    /// tunnel | transport.
    pub mode: String,
    /// Transform keyword.
    pub transform: String,
    /// udp | raw.
    pub encap: String,
    /// card | software.
    pub path: String,
    /// manual | ike.
    pub origin: String,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// ICV failures (inbound).
    pub auth_failures: u64,
    /// Replay drops (inbound).
    pub replay_drops: u64,
    /// Selector drops (inbound).
    pub selector_drops: u64,
    /// Other errors.
    pub errors: u64,
    /// Card-to-software fallbacks.
    pub fallbacks: u64,
    /// Packets left before the hard lifetime (null = unlimited).
    pub life_packets_left: Option<u64>,
    /// Bytes left before the hard lifetime (null = unlimited).
    pub life_bytes_left: Option<u64>,
    /// Sequence numbers left before the last one (outbound: after the next
    /// number to hand out; inbound: after the highest received).
    pub seq_left: Option<u64>,
    /// A soft lifetime (packets, bytes or sequence space) was reached: a
    /// negotiated SA is being rekeyed, a manual one needs new keys.
    #[serde(default)]
    pub soft_reached: bool,
    /// A hard lifetime was reached or the last sequence number used: the SA
    /// carries nothing more.
    #[serde(default)]
    pub hard_reached: bool,
    /// Packets dropped at the hard lifetime or the end of the sequence space.
    #[serde(default)]
    pub lifetime_drops: u64,
    /// Outbound: next sequence number.
    #[serde(default)]
    pub next_seq: Option<u64>,
    /// Outbound: inner packets fragmented before encapsulation.
    #[serde(default)]
    pub fragmented: u64,
    /// Outbound: ICMP too-big answers sent for oversized inner packets.
    #[serde(default)]
    pub icmp_too_big: u64,
}

/// Daemon summary as `status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DaemonStatus {
    /// Instance name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Configuration file.
    pub config: String,
    /// TUN device.
    pub tun: String,
    /// TUN MTU.
    pub tun_mtu: u16,
    /// Card device (none | sim).
    pub offload_device: String,
    /// Connections.
    pub connections: usize,
    /// SA pairs installed.
    pub sa_pairs: usize,
    /// Worker threads.
    pub workers: usize,
    /// Daemon-wide counters.
    pub counters: GlobalSnapshot,
    /// The card engine's counters (null without a card backend).
    #[serde(default)]
    pub offload: serde_json::Value,
    /// The card's DMA ports, all queues together: batches, packets, doorbells, interrupts, ring-full waits,
    /// queue set-ups, timeouts (null without a card or on its MMIO window).
    #[serde(default)]
    pub card_dma: Option<driver::dma::DmaPortStats>,
    /// DMA queue pairs in use (the engine's own and one lane per worker that got one).
    #[serde(default)]
    pub card_queues: usize,
    /// SAs.
    pub sas: Vec<SaStatus>,
    /// IKE SAs, counters and latest events.
    #[serde(default)]
    pub ike: crate::ike::IkeView,
}

/// A copy of [`GlobalCounters`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GlobalSnapshot {
    /// See [`GlobalCounters::no_policy`].
    pub no_policy: u64,
    /// See [`GlobalCounters::unknown_spi`].
    pub unknown_spi: u64,
    /// See [`GlobalCounters::malformed`].
    pub malformed: u64,
    /// See [`GlobalCounters::ike_unhandled`].
    pub ike_unhandled: u64,
    /// See [`GlobalCounters::keepalives`].
    pub keepalives: u64,
    /// See [`GlobalCounters::control_refused`].
    pub control_refused: u64,
    /// See [`GlobalCounters::io_errors`].
    pub io_errors: u64,
    /// See [`GlobalCounters::seq_unreserved_drops`].
    #[serde(default)]
    pub seq_unreserved_drops: u64,
}

impl GlobalCounters {
    /// Copies the counters.
    pub fn snapshot(&self) -> GlobalSnapshot {
        GlobalSnapshot {
            no_policy: get(&self.no_policy),
            unknown_spi: get(&self.unknown_spi),
            malformed: get(&self.malformed),
            ike_unhandled: get(&self.ike_unhandled),
            keepalives: get(&self.keepalives),
            control_refused: get(&self.control_refused),
            io_errors: get(&self.io_errors),
            seq_unreserved_drops: get(&self.seq_unreserved_drops),
        }
    }
}
