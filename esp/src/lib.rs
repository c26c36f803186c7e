#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod ah;
pub mod crypto;
pub mod error;
pub mod oracle;
pub mod packet;
pub mod replay;
pub mod sa;
pub mod spd;
pub mod types;
pub mod wire;

pub use ah::{AhAlgorithm, AhConfig, AhInbound, AhOutbound, AhVerified};
pub use crypto::BackendKind;
pub use error::{ConfigError, DecapError, EncapError, SeqError};
pub use packet::{locate_esp, Decapped, EspLocation};
pub use replay::{ReplayError, ReplayWindow};
pub use sa::{
    esp_datagram_len, seq_last, seq_soft, InboundSa, KeyMaterial, Lifetime, LifetimeMeter,
    LifetimeStatus, Mode, Opened, OutboundSa, SaConfig, Sealed, UdpEncap, Usage, ESN_SEQ_LAST,
    ESN_SEQ_SOFT, SEQ_LAST, SEQ_SOFT,
};
pub use spd::{Action, IpPrefix, Policy, PortRange, PrefixError, Sad, Selector, Spd};
pub use types::{proto, ModeKind, SeqNum, Spi, Transform};
