#![doc = include_str!("../README.md")]

pub mod cert;
pub mod config;
pub mod crypto;
pub mod engine;
pub mod wire;

pub use cert::{CertAuth, CertError};
pub use config::{ChildConfig, Connection, EspProposal, Identity, IkeProposal, Mode};
pub use crypto::{ChildKeys, EspTransform, SecretBytes};
pub use engine::{
    Action, ChildSaId, ChildSaInfo, ChildSaInstall, CloseReason, DropReason, Engine, EngineConfig,
    Event, IkeSaId, IkeSaInfo, IkeState, SaParams, Stats, UdpEncap,
};
pub use wire::TrafficSelector;
