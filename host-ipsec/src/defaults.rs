//! Every default value of the daemon, in one place.

/// Directory of the control sockets (created root-only, mode 0700).
pub const CONTROL_DIR: &str = "/run/ipsecd";
/// Directory of the persisted outbound sequence numbers.
pub const STATE_DIR: &str = "/var/lib/ipsecd";
/// Sequence numbers a manual outbound SA reserves durably ahead of what it uses
/// (see [`crate::state`]); the next range is written when half of this one is used.
/// A restart skips at most this many numbers (4096 restarts per 2^32 space).
pub const SEQ_RESERVE: u64 = 1 << 20;
/// TUN MTU when no connection gives one.
pub const TUN_MTU: u16 = 1400;
/// Instance name when the configuration gives none.
pub const INSTANCE_NAME: &str = "ipsecd";
/// TUN device name when the configuration gives none.
pub const TUN_NAME: &str = "ipsec0";
/// Path MTU assumed towards the peer when the configuration gives none.
pub const PATH_MTU: u16 = 1500;
/// UDP port of ESP-in-UDP (RFC 3948) and IKE NAT-T.
pub const NATT_PORT: u16 = 4500;
/// Anti-replay window in packets.
pub const REPLAY_WINDOW: u32 = 1024;
/// Largest anti-replay window accepted.
pub const MAX_REPLAY_WINDOW: u32 = 4096;
/// Packets the TUN device queues for the outbound worker. The kernel drops
/// packets when this ring is full, and TCP reads every drop as congestion, so it is
/// sized for the worker being descheduled for a few milliseconds at line rate.
pub const TUN_TXQUEUELEN: u32 = 8192;
/// Packets read or written per batched system call.
pub const BATCH: usize = 64;
/// Routing table used for transport-mode routes (peer address via the TUN).
pub const ROUTE_TABLE: u32 = 4500;
/// Firewall mark set on the daemon's own sockets so their packets skip that table.
pub const SOCKET_MARK: u32 = 0x4500;
/// How often a card fenced off after a fault is tried again (its SAs return to it
/// when it answers).
pub const CARD_RECOVER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// How many card results are recomputed in software (`verify`): one in 64.
pub const CARD_VERIFY: crate::config::CardVerify = crate::config::CardVerify::Sample(64);
/// The card's DMA queue pair used by the daemon: log2 of its ring entries (256
/// packets in flight).
pub const CARD_RING_LOG2: u32 = 8;
/// The interrupt vector of that queue.
pub const CARD_IRQ_VECTOR: u32 = 0;
/// How long a batch may wait on the card with no completion arriving before the
/// card is fenced and the batch redone in software.
pub const CARD_COMPLETION_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);
/// The same for the simulated card, whose clock runs at some hundred kHz.
pub const SIM_COMPLETION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// How often idle workers look for SA changes, in milliseconds.
pub const WORKER_POLL_MS: u16 = 100;

/// IKE proposal of a connection that names none.
pub const IKE_PROPOSAL: &str = "aes256gcm16-prfsha256-x25519";
/// ESP transform of a child that names no `esp_proposals` (for an IKE child, the
/// one proposal it offers: its [`name`](esp::Transform::name)).
pub const ESP_TRANSFORM: esp::Transform = esp::Transform::AesGcm128;
/// Mode of a child that names none.
pub const MODE: esp::ModeKind = esp::ModeKind::Tunnel;
/// Offload policy of a connection that names none.
pub const OFFLOAD: driver::OffloadPolicy = driver::OffloadPolicy::Auto;
/// UDP port of IKE (RFC 7296).
pub const IKE_PORT: u16 = 500;
/// First IKE retransmission timeout.
pub const IKE_RETRANSMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// IKE retransmissions before the peer is declared dead.
pub const IKE_RETRANSMIT_TRIES: u32 = 5;
/// Datagrams queued for the IKE thread before further ones are dropped.
pub const IKE_QUEUE: usize = 1024;
/// Log lines per kind of unauthenticated input (drops, cookie demands, failed
/// logins of unknown peers) per [`LOG_RATE_WINDOW`]; the rest are counted and summed up.
pub const LOG_LINES_PER_KIND: u32 = 5;
/// The window of [`LOG_LINES_PER_KIND`].
pub const LOG_RATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);
/// IKE events kept for `ipsecctl status`.
pub const IKE_EVENTS_KEPT: usize = 200;

/// Control socket path for an instance name.
pub fn control_socket(name: &str) -> String {
    format!("{CONTROL_DIR}/{name}.sock")
}
