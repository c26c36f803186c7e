//! Security associations: configuration, keys, counters, lifetimes, and the
//! ESP layer itself (the part the card also does):
//! `SPI(4) | SeqLo(4) | IV | ciphertext (payload, padding, pad length, next
//! header) | ICV(16)`, without outer IP header or UDP.
//!
//! - `config`: [`SaConfig`], [`KeyMaterial`], [`Mode`], [`UdpEncap`];
//! - `lifetime`: [`Lifetime`], [`Usage`], the sequence-space limits
//!   ([`SEQ_SOFT`], [`SEQ_LAST`], [`ESN_SEQ_SOFT`], [`ESN_SEQ_LAST`]) and the
//!   [`LifetimeMeter`] every path counts on;
//! - `datagram`: the per-SA cipher state that seals and opens one datagram at
//!   a given sequence number, the trailer checks, [`esp_datagram_len`];
//! - `outbound`: [`OutboundSa`] (sequence counter, [`Sealed`]);
//! - `inbound`: [`InboundSa`] (replay window, card-path halves, [`Opened`]).

/// The accessors both SA directions share, read from their `SaCore`.
macro_rules! sa_params {
    () => {
        /// The SPI, chosen by the receiving side.
        pub fn spi(&self) -> Spi {
            self.core.spi
        }
        /// The transform (cipher and integrity algorithm).
        pub fn transform(&self) -> Transform {
            self.core.transform
        }
        /// True with extended (64-bit) sequence numbers.
        pub fn esn(&self) -> bool {
            self.core.esn
        }
        /// Transport or tunnel mode.
        pub fn mode(&self) -> Mode {
            self.core.mode
        }
        /// The UDP encapsulation ports, if the SA uses RFC 3948.
        pub fn encap(&self) -> Option<UdpEncap> {
            self.core.encap
        }
    };
}
use sa_params;

mod config;
mod datagram;
mod inbound;
mod lifetime;
mod outbound;
#[cfg(test)]
mod tests;

pub use config::{KeyMaterial, Mode, SaConfig, UdpEncap};
pub use datagram::esp_datagram_len;
pub use inbound::{InboundSa, Opened};
pub use lifetime::{
    seq_last, seq_soft, Lifetime, LifetimeMeter, LifetimeStatus, Usage, ESN_SEQ_LAST, ESN_SEQ_SOFT,
    SEQ_LAST, SEQ_SOFT,
};
pub(crate) use outbound::check_room;
pub use outbound::{OutboundSa, Sealed};

/// The big-endian `u32` at `b[at..at + 4]`, if there.
pub(crate) fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
