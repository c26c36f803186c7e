//! Between the configuration and the engine: a configured IKE connection as the
//! engine's [`ikev2::Connection`] (and its certificates), and a negotiated CHILD_SA
//! as the data path's [`ChildSaSpec`] (traffic selector ranges as prefixes, the
//! engine's transform as `esp`'s, the keys as `esp` takes them).

use std::net::IpAddr;

use ikev2::config::ts_from_cidr;
use ikev2::{
    ChildConfig, ChildSaInstall, Engine, EspProposal, EspTransform, Identity, IkeProposal,
    SecretBytes, TrafficSelector,
};
use zeroize::Zeroizing;

use crate::config::{
    self, Encap, IkeAuth, IpPrefix, KeyMaterial, Lifetime, ManualSa, ModeKind, Transform,
};
use crate::defaults;
use crate::sa::{ChildSaSpec, Origin};

/// Why a connection could not be handed to the engine.
#[derive(Debug, thiserror::Error)]
#[error("connection {connection}: {reason}")]
pub struct IkeConfigError {
    /// Connection.
    pub connection: String,
    /// Reason.
    pub reason: String,
}

/// The engine's connection for a configured IKE connection (`None` for manual keys).
pub fn engine_connection(
    c: &config::Connection,
) -> Result<Option<ikev2::Connection>, IkeConfigError> {
    let Some(ike) = &c.ike else { return Ok(None) };
    let err = |reason: String| IkeConfigError {
        connection: c.name.clone(),
        reason,
    };
    let ts = |v: &[IpPrefix]| -> Result<Vec<TrafficSelector>, IkeConfigError> {
        v.iter()
            .map(|p| ts_from_cidr(&p.to_string()).map_err(|e| err(e.to_string())))
            .collect()
    };
    let mut children = Vec::new();
    for ch in &ike.children {
        children.push(ChildConfig {
            name: ch.name.clone(),
            local_ts: ts(&ch.local_ts)?,
            remote_ts: ts(&ch.remote_ts)?,
            mode: match ch.mode {
                ModeKind::Tunnel => ikev2::Mode::Tunnel,
                ModeKind::Transport => ikev2::Mode::Transport,
            },
            esp_proposals: ch
                .esp_proposals
                .iter()
                .map(|p| EspProposal::parse(p).map_err(|e| err(e.to_string())))
                .collect::<Result<_, _>>()?,
            rekey_time: ch.rekey_time,
            life_time: ch.life_time,
        });
    }
    Ok(Some(ikev2::Connection {
        name: c.name.clone(),
        local_addr: c.local_addr,
        remote_addr: Some(c.remote_addr),
        local_id: Identity::parse(&ike.local_id).map_err(|e| err(e.to_string()))?,
        remote_id: Identity::parse(&ike.remote_id).map_err(|e| err(e.to_string()))?,
        psk: match &ike.auth {
            IkeAuth::Psk(p) => SecretBytes::new(p.0.to_vec()),
            // Not used once the engine has the connection's certificates; random, so
            // that no PSK could ever authenticate it.
            IkeAuth::Pubkey(_) => {
                let mut k = vec![0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
                SecretBytes::new(k)
            }
        },
        ike_proposals: ike
            .proposals
            .iter()
            .map(|p| IkeProposal::parse(p).map_err(|e| err(e.to_string())))
            .collect::<Result<_, _>>()?,
        children,
        rekey_time: ike.rekey_time,
        life_time: ike.life_time,
        dpd_delay: ike.dpd_delay,
        // ESP in UDP is the connection's choice even without a NAT on the way.
        force_encap: c.encap == Encap::Udp,
    }))
}

/// Hands the certificates of a `pubkey` connection to the engine (nothing for a
/// PSK connection). Call after `add_connection` / `replace_connection`.
pub fn apply_auth(engine: &mut Engine, c: &config::Connection) -> Result<(), IkeConfigError> {
    let Some(IkeAuth::Pubkey(p)) = c.ike.as_ref().map(|i| &i.auth) else {
        return Ok(());
    };
    let err = |e: ikev2::CertError| IkeConfigError {
        connection: c.name.clone(),
        reason: e.to_string(),
    };
    engine
        .set_cert_auth(&c.name, p.cert_auth().map_err(err)?)
        .map_err(err)
}

/// The prefixes that exactly cover the address range `start..=end` (same family).
pub fn range_to_prefixes(start: IpAddr, end: IpAddr) -> Vec<IpPrefix> {
    fn cover(
        mut lo: u128,
        hi: u128,
        bits: u32,
        mk: impl Fn(u128, u8) -> IpPrefix,
    ) -> Vec<IpPrefix> {
        let mut out = Vec::new();
        if lo > hi {
            return out;
        }
        loop {
            // the largest aligned block starting at lo that stays within hi
            let mut size_log = if lo == 0 {
                bits
            } else {
                lo.trailing_zeros().min(bits)
            };
            while size_log > 0 {
                let last = if size_log >= 128 {
                    u128::MAX
                } else {
                    lo | ((1u128 << size_log) - 1)
                };
                if last <= hi {
                    break;
                }
                size_log -= 1;
            }
            let len = u8::try_from(bits - size_log).unwrap_or(0);
            out.push(mk(lo, len));
            let last = if size_log >= 128 {
                u128::MAX
            } else {
                lo | ((1u128 << size_log) - 1)
            };
            if last >= hi {
                break;
            }
            lo = last + 1;
        }
        out
    }
    match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => cover(
            u128::from(u32::from(s)),
            u128::from(u32::from(e)),
            32,
            |a, len| IpPrefix {
                addr: IpAddr::V4(u32::try_from(a).unwrap_or(0).into()),
                len,
            },
        ),
        (IpAddr::V6(s), IpAddr::V6(e)) => {
            cover(u128::from(s), u128::from(e), 128, |a, len| IpPrefix {
                addr: IpAddr::V6(a.into()),
                len,
            })
        }
        _ => Vec::new(),
    }
}

pub(super) fn ts_prefixes(ts: &[TrafficSelector]) -> Vec<IpPrefix> {
    ts.iter()
        .flat_map(|t| range_to_prefixes(t.start_addr, t.end_addr))
        .collect()
}

pub(super) fn ts_text(ts: &[TrafficSelector]) -> Vec<String> {
    ts_prefixes(ts).iter().map(ToString::to_string).collect()
}

pub(super) fn transform_of(t: EspTransform) -> Option<Transform> {
    Some(match t {
        EspTransform::AesGcm16 { bits: 128 } => Transform::AesGcm128,
        EspTransform::AesGcm16 { bits: 256 } => Transform::AesGcm256,
        EspTransform::AesCbcHmacSha256 { bits: 128 } => Transform::AesCbc128HmacSha256,
        EspTransform::AesCbcHmacSha256 { bits: 256 } => Transform::AesCbc256HmacSha256,
        _ => return None,
    })
}

fn key_material(k: &ikev2::ChildKeys, t: Transform) -> Result<KeyMaterial, String> {
    // GCM: key then 4-byte salt; CBC: AES key then HMAC key (what `esp` takes).
    let mut v = Zeroizing::new(Vec::with_capacity(t.key_material_len()));
    v.extend_from_slice(k.enc_key.expose());
    v.extend_from_slice(k.salt.expose());
    v.extend_from_slice(k.integ_key.expose());
    match KeyMaterial::new(&v) {
        Some(key) if key.len() == t.key_material_len() => Ok(key),
        _ => Err("negotiated key length does not fit the transform".into()),
    }
}

/// The data path's description of a negotiated CHILD_SA.
pub fn child_spec(i: &ChildSaInstall, conn: &config::Connection) -> Result<ChildSaSpec, String> {
    let transform = transform_of(i.transform)
        .ok_or_else(|| format!("transform {:?} unsupported", i.transform))?;
    let child = conn
        .ike
        .as_ref()
        .and_then(|k| k.children.iter().find(|c| c.name == i.name));
    let replay_window = child.map_or(defaults::REPLAY_WINDOW, |c| c.replay_window);
    let (encap, local_port, remote_port) = match i.encap {
        Some(e) => (Encap::Udp, e.local.port(), e.remote.port()),
        None => (Encap::Raw, conn.local_port, conn.remote_port),
    };
    let spec = ChildSaSpec {
        connection: i.connection.clone(),
        child: i.name.clone(),
        origin: Origin::Ike,
        local_addr: i.local_addr,
        remote_addr: i.remote_addr,
        encap,
        local_port,
        remote_port,
        mode: match i.mode {
            ikev2::Mode::Tunnel => ModeKind::Tunnel,
            ikev2::Mode::Transport => ModeKind::Transport,
        },
        local_ts: ts_prefixes(&i.local_ts),
        remote_ts: ts_prefixes(&i.remote_ts),
        transform,
        esn: i.esn,
        replay_window,
        inbound: ManualSa {
            spi: i.inbound.spi,
            key: key_material(&i.inbound.keys, transform)?,
        },
        outbound: ManualSa {
            spi: i.outbound.spi,
            key: key_material(&i.outbound.keys, transform)?,
        },
        lifetime: child.map_or_else(Lifetime::default, |c| c.lifetime),
        offload: conn.offload,
        path_mtu: conn.path_mtu,
    };
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_become_exact_prefixes() {
        let r = |a: &str, b: &str| range_to_prefixes(a.parse().unwrap(), b.parse().unwrap());
        assert_eq!(r("10.1.0.0", "10.1.0.255"), vec![p("10.1.0.0/24")]);
        assert_eq!(r("0.0.0.0", "255.255.255.255"), vec![p("0.0.0.0/0")]);
        assert_eq!(r("10.0.0.7", "10.0.0.7"), vec![p("10.0.0.7/32")]);
        assert_eq!(
            r("10.0.0.1", "10.0.0.6"),
            vec![
                p("10.0.0.1/32"),
                p("10.0.0.2/31"),
                p("10.0.0.4/31"),
                p("10.0.0.6/32")
            ]
        );
        assert_eq!(
            r("fd00:1::", "fd00:1::ffff:ffff:ffff:ffff"),
            vec![p("fd00:1::/64")]
        );
        assert_eq!(
            r("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            vec![p("::/0")]
        );
        assert!(r("10.0.0.9", "10.0.0.1").is_empty());
        assert!(r("10.0.0.1", "fd00::1").is_empty());
    }
}
