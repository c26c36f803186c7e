//! The configuration file's own shape: what `toml` deserializes, field for field,
//! before anything is checked. Values stay text (with their place in the file,
//! [`Spanned`]) where checking them needs the place or more than one field; the
//! keyword settings (`mode`, `offload`, `encap`, ...) are read straight into the
//! library's enums, and an unknown keyword is an error at its line.

use std::collections::BTreeMap;

use driver::OffloadPolicy;
use esp::ModeKind;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::types::{DpdAction, Encap, OffloadDevice, StartAction};

/// The whole file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub daemon: RawDaemon,
    #[serde(default)]
    pub connections: BTreeMap<String, Spanned<RawConnection>>,
}

/// `[daemon]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDaemon {
    pub name: Option<Spanned<String>>,
    pub control_socket: Option<String>,
    pub tun_name: Option<Spanned<String>>,
    pub workers: Option<Spanned<u16>>,
    pub metrics: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "keyword")]
    pub offload_device: Option<OffloadDevice>,
    pub model_faults: Option<Spanned<Vec<String>>>,
    pub verify: Option<Spanned<String>>,
    pub card_recover_interval: Option<Spanned<DurationValue>>,
    pub tun_mtu: Option<Spanned<u16>>,
    pub state_dir: Option<String>,
    pub ike_retransmit_timeout: Option<Spanned<DurationValue>>,
    pub ike_retransmit_tries: Option<Spanned<u32>>,
    pub ike_half_open_limit: Option<Spanned<u64>>,
    pub ike_half_open_per_source: Option<Spanned<u64>>,
    pub ike_cookie_threshold: Option<Spanned<u64>>,
    pub ike_cookie_secret_lifetime: Option<Spanned<DurationValue>>,
    pub ike_max_child_sas: Option<Spanned<u64>>,
}

/// `[connections.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConnection {
    pub local_addrs: Spanned<Vec<Spanned<String>>>,
    pub remote_addrs: Spanned<Vec<Spanned<String>>>,
    #[serde(default, deserialize_with = "keyword")]
    pub encap: Option<Encap>,
    pub local_port: Option<u16>,
    pub remote_port: Option<u16>,
    #[serde(default, deserialize_with = "keyword")]
    pub offload: Option<OffloadPolicy>,
    pub path_mtu: Option<Spanned<u16>>,
    pub local_id: Option<Spanned<String>>,
    pub remote_id: Option<Spanned<String>>,
    pub auth: Option<Spanned<String>>,
    pub psk: Option<Spanned<String>>,
    pub cert: Option<Spanned<String>>,
    pub key: Option<Spanned<String>>,
    pub cacerts: Option<Spanned<Vec<Spanned<String>>>>,
    pub proposals: Option<Spanned<String>>,
    pub rekey_time: Option<Spanned<DurationValue>>,
    pub life_time: Option<Spanned<DurationValue>>,
    pub dpd_delay: Option<Spanned<DurationValue>>,
    #[serde(default, deserialize_with = "keyword")]
    pub start_action: Option<StartAction>,
    #[serde(default, deserialize_with = "keyword")]
    pub dpd_action: Option<DpdAction>,
    #[serde(default)]
    pub children: BTreeMap<String, Spanned<RawChild>>,
}

/// `[connections.NAME.children.CHILD]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChild {
    #[serde(default)]
    pub local_ts: Vec<Spanned<String>>,
    #[serde(default)]
    pub remote_ts: Vec<Spanned<String>>,
    #[serde(default, deserialize_with = "keyword")]
    pub mode: Option<ModeKind>,
    pub esp_proposals: Option<Spanned<String>>,
    pub replay_window: Option<Spanned<u32>>,
    pub esn: Option<bool>,
    pub in_spi: Option<Spanned<SpiValue>>,
    pub out_spi: Option<Spanned<SpiValue>>,
    pub in_key: Option<Spanned<String>>,
    pub out_key: Option<Spanned<String>>,
    pub life_packets: Option<u64>,
    pub life_bytes: Option<u64>,
    pub rekey_packets: Option<u64>,
    pub rekey_bytes: Option<u64>,
    pub rekey_time: Option<Spanned<DurationValue>>,
    pub life_time: Option<Spanned<DurationValue>>,
}

/// A time: seconds as a number, or text with a unit (`90s`, `10m`, `4h`, `1d`).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum DurationValue {
    Int(i64),
    Text(String),
}

/// An SPI: a number, or text in decimal or `0x` hex.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum SpiValue {
    Int(i64),
    Text(String),
}

/// A setting written as one of a few keywords.
pub(crate) trait Keyword: Sized {
    /// The keywords, as the error for an unknown one lists them.
    const EXPECTED: &'static str;
    /// The value a keyword names.
    fn from_keyword(word: &str) -> Option<Self>;
}

impl Keyword for ModeKind {
    const EXPECTED: &'static str = "tunnel | transport";
    fn from_keyword(word: &str) -> Option<Self> {
        ModeKind::from_name(word)
    }
}

impl Keyword for OffloadPolicy {
    const EXPECTED: &'static str = "auto | card | software";
    fn from_keyword(word: &str) -> Option<Self> {
        word.parse().ok()
    }
}

impl Keyword for Encap {
    const EXPECTED: &'static str = "udp | raw";
    fn from_keyword(word: &str) -> Option<Self> {
        match word {
            "udp" => Some(Encap::Udp),
            "raw" => Some(Encap::Raw),
            _ => None,
        }
    }
}

impl Keyword for OffloadDevice {
    const EXPECTED: &'static str = "none | sim | model";
    fn from_keyword(word: &str) -> Option<Self> {
        match word {
            "none" => Some(OffloadDevice::None),
            "sim" => Some(OffloadDevice::Sim),
            "model" => Some(OffloadDevice::Model),
            _ => None,
        }
    }
}

impl Keyword for StartAction {
    const EXPECTED: &'static str = "none | start | trap";
    fn from_keyword(word: &str) -> Option<Self> {
        match word {
            "none" => Some(StartAction::None),
            "start" => Some(StartAction::Start),
            "trap" => Some(StartAction::Trap),
            _ => None,
        }
    }
}

impl Keyword for DpdAction {
    const EXPECTED: &'static str = "clear | restart";
    fn from_keyword(word: &str) -> Option<Self> {
        match word {
            "clear" => Some(DpdAction::Clear),
            "restart" => Some(DpdAction::Restart),
            _ => None,
        }
    }
}

/// Reads an optional keyword setting (`#[serde(default, deserialize_with =
/// "keyword")]`); `toml` puts the line of the value on the error.
pub(crate) fn keyword<'de, D: Deserializer<'de>, T: Keyword>(d: D) -> Result<Option<T>, D::Error> {
    let word = String::deserialize(d)?;
    T::from_keyword(&word).map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!("'{word}' unknown (expected {})", T::EXPECTED))
    })
}
