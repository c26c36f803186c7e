//! What `ipsecctl status` and `list-sas` show of IKE: the IKE SAs with their
//! CHILD_SAs, the counters and the latest events, as serde records.

use std::collections::BTreeMap;
use std::time::Instant;

use ikev2::IkeSaInfo;
use serde::{Deserialize, Serialize};

/// One CHILD_SA as `list-sas` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IkeChildStatus {
    /// Engine handle.
    pub id: u64,
    /// Child name.
    pub name: String,
    /// Inbound SPI (0x........).
    pub in_spi: String,
    /// Outbound SPI.
    pub out_spi: String,
    /// Transform keyword.
    pub transform: String,
    /// tunnel | transport.
    pub mode: String,
    /// Narrowed local selectors.
    pub local_ts: Vec<String>,
    /// Narrowed remote selectors.
    pub remote_ts: Vec<String>,
    /// Seconds to the next rekey.
    pub rekey_in_s: Option<u64>,
    /// Seconds to the hard expiry.
    pub expires_in_s: Option<u64>,
    /// Replaced by a rekey, waiting for removal.
    pub rekeyed: bool,
}

/// One IKE SA as `list-sas` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IkeSaStatus {
    /// Engine handle (what `terminate` takes).
    pub id: u64,
    /// Connection.
    pub connection: String,
    /// CONNECTING | AUTHENTICATING | ESTABLISHED | DELETING.
    pub state: String,
    /// initiator | responder.
    pub role: String,
    /// Our address and port.
    pub local: String,
    /// The peer's address and port.
    pub remote: String,
    /// Initiator's SPI (hex).
    pub spi_i: String,
    /// Responder's SPI (hex).
    pub spi_r: String,
    /// Algorithms (encryption/PRF/DH group).
    pub suite: String,
    /// Authentication method of the connection (`psk` | `pubkey`; the engine does
    /// not report it per IKE SA, so this is the connection's configured method).
    #[serde(default)]
    pub auth: String,
    /// NAT-T (UDP 4500) in use.
    pub natt: bool,
    /// Seconds since established.
    pub established_s: Option<u64>,
    /// Seconds to the next rekey.
    pub rekey_in_s: Option<u64>,
    /// Seconds to the hard expiry.
    pub expires_in_s: Option<u64>,
    /// CHILD_SAs.
    pub children: Vec<IkeChildStatus>,
}

/// One logged IKE event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IkeEventRecord {
    /// Unix time, seconds.
    pub time: u64,
    /// established | rekeyed | closed | proposal_mismatch | authentication_failed |
    /// child_failed | install_failed | dropped | note.
    pub kind: String,
    /// The log line (no keys).
    pub text: String,
}

/// IKE counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IkeCounters {
    /// Dropped datagrams by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Retransmissions sent.
    pub retransmits: u64,
    /// Responses re-sent for retransmitted requests.
    pub responses_resent: u64,
    /// Cookies demanded.
    pub cookies_sent: u64,
    /// CHILD_SAs installed in the data path.
    pub child_installs: u64,
    /// CHILD_SAs the data path refused.
    pub install_failures: u64,
    /// CHILD_SAs removed.
    pub child_removals: u64,
    /// Datagrams that could not be sent.
    pub send_errors: u64,
    /// Authentication failures (either side).
    pub auth_failures: u64,
    /// Datagrams dropped because the IKE thread's queue was full (a flood).
    #[serde(default)]
    pub queue_drops: u64,
    /// CHILD_SAs moved to the peer's new NAT mapping.
    #[serde(default)]
    pub encap_updates: u64,
    /// NAT mapping changes the data path could not follow.
    #[serde(default)]
    pub encap_update_failures: u64,
    /// Half-open IKE SAs now (responder, IKE_AUTH not yet done).
    #[serde(default)]
    pub half_open: u64,
    /// Times the cookie secret was changed.
    #[serde(default)]
    pub cookie_secret_rotations: u64,
    /// CREATE_CHILD_SA requests refused with NO_ADDITIONAL_SAS.
    #[serde(default)]
    pub child_sa_limit_refusals: u64,
    /// Log lines about unauthenticated input left out by the rate limit.
    #[serde(default)]
    pub log_lines_suppressed: u64,
    /// CHILD_SA rekeys started because the data path reached a soft lifetime
    /// (packets, bytes or sequence space).
    #[serde(default)]
    pub soft_lifetime_rekeys: u64,
}

/// What the control socket shows of IKE.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IkeView {
    /// IKE SAs.
    pub sas: Vec<IkeSaStatus>,
    /// Counters.
    pub counters: IkeCounters,
    /// The latest events, oldest first.
    pub events: Vec<IkeEventRecord>,
}

fn secs_until(now: Instant, t: Option<Instant>) -> Option<u64> {
    t.map(|t| t.saturating_duration_since(now).as_secs())
}

pub(super) fn sa_status(now: Instant, s: &IkeSaInfo, auth: &str) -> IkeSaStatus {
    IkeSaStatus {
        auth: auth.to_string(),
        id: s.id.0,
        connection: s.connection.clone(),
        state: format!("{:?}", s.state).to_uppercase(),
        role: if s.initiator {
            "initiator"
        } else {
            "responder"
        }
        .into(),
        local: s.local.to_string(),
        remote: s.remote.to_string(),
        spi_i: format!("{:016x}", s.spi_i),
        spi_r: format!("{:016x}", s.spi_r),
        suite: s.suite.clone().unwrap_or_default(),
        natt: s.natt,
        established_s: s
            .established_at
            .map(|t| now.saturating_duration_since(t).as_secs()),
        rekey_in_s: secs_until(now, s.rekey_at),
        expires_in_s: secs_until(now, s.expires_at),
        children: s
            .children
            .iter()
            .map(|c| IkeChildStatus {
                id: c.id.0,
                name: c.name.clone(),
                in_spi: format!("{:#010x}", c.inbound_spi),
                out_spi: format!("{:#010x}", c.outbound_spi),
                transform: super::convert::transform_of(c.transform)
                    .map_or_else(|| format!("{:?}", c.transform), |t| t.name().to_string()),
                mode: format!("{:?}", c.mode).to_lowercase(),
                local_ts: super::convert::ts_text(&c.local_ts),
                remote_ts: super::convert::ts_text(&c.remote_ts),
                rekey_in_s: secs_until(now, c.rekey_at),
                expires_in_s: secs_until(now, c.expires_at),
                rekeyed: c.rekeyed,
            })
            .collect(),
    }
}
