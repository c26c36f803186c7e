//! The configuration file: TOML shaped like strongSwan's `swanctl.conf`.
//!
//! ```toml
//! [daemon]
//! name = "site-a"                 # control socket /run/ipsecd/site-a.sock
//!
//! [connections.site-b]
//! local_addrs = ["192.168.77.1"]
//! remote_addrs = ["192.168.77.2"]
//! encap = "udp"                   # udp (RFC 3948, port 4500) | raw (IP protocol 50)
//! offload = "auto"                # auto | card | software
//!
//! [connections.site-b.children.net]
//! local_ts = ["10.1.0.0/24"]
//! remote_ts = ["10.2.0.0/24"]
//! mode = "tunnel"                 # tunnel | transport
//! esp_proposals = "aes128gcm16"
//! in_spi = "0xc0000b01"
//! out_spi = "0xc0000a01"
//! in_key = "<hex: key then 4-byte salt>"
//! out_key = "<hex>"
//! ```
//!
//! Every error names the file, the line and the reason ([`ConfigError`]).
//!
//! The module's files, in the order a file is read:
//! - [`file`]: the file's raw shape as `toml` deserializes it (text with places);
//! - [`validate`]: the checks that build the library types for the daemon table,
//!   connections and manually keyed children;
//! - [`ike`]: the same for the IKEv2 settings (authentication, negotiated children);
//! - [`values`]: the parsers both share (times, proposal lists, selectors) and the
//!   file's place ([`values::Ctx`]) that turns a span into a line;
//! - [`types`]: the validated configuration the daemon reads. Prefixes, transforms,
//!   modes, lifetimes and keys in it are `esp`'s types, the offload policy is the
//!   driver's (re-exported here); default values come from [`crate::defaults`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

mod file;
mod ike;
mod types;
mod validate;
mod values;

pub use driver::OffloadPolicy;
pub use esp::{IpPrefix, KeyMaterial, Lifetime, ModeKind, Transform};
pub use types::{
    CardVerify, Child, Config, Connection, DaemonConfig, DpdAction, Encap, IkeAuth, IkeChild,
    IkeLimits, IkeSettings, ManualSa, OffloadDevice, PubkeyAuth, Secret, StartAction,
};

pub(crate) use file::keyword;
use file::RawFile;
use values::Ctx;

/// A configuration error with its place in the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("{file}:{line}: {reason}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when the error has no place).
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

impl Config {
    /// Read and validate a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &src)
    }

    /// Validate configuration text; `file` is used in error messages.
    pub fn parse(file: &Path, src: &str) -> Result<Self, ConfigError> {
        let ctx = Ctx { file, src };
        let raw: RawFile = toml::from_str(src).map_err(|e| {
            let line = e.span().map(|s| ctx.line(s)).unwrap_or(0);
            ConfigError::Invalid {
                file: file.to_path_buf(),
                line,
                reason: e.message().to_string(),
            }
        })?;
        let daemon = validate::daemon(&ctx, raw.daemon)?;
        let mut connections = Vec::new();
        let mut spis_in = HashSet::new();
        let mut spis_out = HashSet::new();
        let mut spans = Vec::new();
        for (name, c) in raw.connections {
            let span = c.span();
            let conn = validate::connection(&ctx, name, c.into_inner(), span.clone())?;
            spans.push(span);
            for ch in &conn.children {
                if !spis_in.insert(ch.inbound.spi) {
                    return Err(
                        ctx.err(0..0, format!("in_spi {:#010x} used twice", ch.inbound.spi))
                    );
                }
                if !spis_out.insert((conn.remote_addr, ch.outbound.spi)) {
                    return Err(ctx.err(
                        0..0,
                        format!("out_spi {:#010x} used twice", ch.outbound.spi),
                    ));
                }
            }
            connections.push(conn);
        }
        key_reuse(&ctx, &connections, &spans)?;
        Ok(Config {
            file: file.to_path_buf(),
            daemon,
            connections,
        })
    }
}

/// A manual key on two SAs (any direction, any connections) is refused: the two
/// SAs would seal with one key and overlapping sequence numbers (GCM nonces).
fn key_reuse(
    ctx: &values::Ctx<'_>,
    connections: &[Connection],
    spans: &[std::ops::Range<usize>],
) -> Result<(), ConfigError> {
    let keys: Vec<(usize, &str, &str, &KeyMaterial)> = connections
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.children.iter().flat_map(move |ch| {
                [
                    (i, ch.name.as_str(), "in_key", &ch.inbound.key),
                    (i, ch.name.as_str(), "out_key", &ch.outbound.key),
                ]
            })
        })
        .collect();
    for (n, &(i, ch, dir, k)) in keys.iter().enumerate() {
        if let Some(&(oi, och, odir, _)) = keys[..n]
            .iter()
            .find(|(_, _, _, o)| validate::same_key(o, k))
        {
            return Err(ctx.err(
                spans.get(i).cloned().unwrap_or(0..0),
                format!(
                    "connection {}, child {ch}: {dir} is the same key as {odir} of connection {}, child {och} (a key belongs to one SA)",
                    connections[i].name, connections[oi].name
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
