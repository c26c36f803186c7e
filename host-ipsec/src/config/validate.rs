//! Checks the file's raw shape ([`file`](super::file)) and builds the library
//! types ([`types`](super::types)): the `[daemon]` table, connections and their
//! manually keyed children (SPIs, keys), handing a connection's IKE settings to
//! [`ike`](super::ike). Every error carries the line of the value it is about.

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use esp::{KeyMaterial, Transform};
use toml::Spanned;
use zeroize::Zeroizing;

use super::file::{RawChild, RawConnection, RawDaemon, SpiValue};
use super::types::{
    CardVerify, Child, Connection, DaemonConfig, Encap, IkeLimits, ManualSa, OffloadDevice,
};
use super::values::{child_selectors, duration, replay_window, volume_lifetime, Ctx};
use super::{ike, ConfigError};
use crate::defaults;
use crate::faults::FaultSchedule;

pub(super) fn daemon(ctx: &Ctx<'_>, mut d: RawDaemon) -> Result<DaemonConfig, ConfigError> {
    let ike_limits = ike_limits(ctx, &mut d)?;
    let name = match d.name {
        Some(n) => {
            let span = n.span();
            let n = n.into_inner();
            if n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ctx.err(
                    span,
                    format!("name '{n}' must be letters, digits, '-' or '_'"),
                ));
            }
            n
        }
        None => defaults::INSTANCE_NAME.to_string(),
    };
    let tun_name = match d.tun_name {
        Some(t) => {
            let span = t.span();
            let t = t.into_inner();
            if t.is_empty() || t.len() > 15 || t.contains(['/', ' ']) {
                return Err(ctx.err(
                    span,
                    format!("tun_name '{t}' is not a valid interface name (1-15 chars)"),
                ));
            }
            t
        }
        None => defaults::TUN_NAME.to_string(),
    };
    let workers = match d.workers {
        Some(w) if *w.get_ref() == 0 || *w.get_ref() > 64 => {
            return Err(ctx.err(w.span(), "workers must be 1..=64"))
        }
        Some(w) => w.into_inner(),
        None => 0,
    };
    let offload_device = d.offload_device.unwrap_or(OffloadDevice::None);
    let model_faults = match d.model_faults {
        Some(f) if offload_device != OffloadDevice::Model => {
            return Err(ctx.err(f.span(), "model_faults needs offload_device = \"model\""))
        }
        Some(f) => {
            let span = f.span();
            FaultSchedule::parse(f.get_ref()).map_err(|e| ctx.err(span, e))?
        }
        None => FaultSchedule::default(),
    };
    let verify = match d.verify {
        Some(v) => {
            let span = v.span();
            CardVerify::parse(v.get_ref()).map_err(|e| ctx.err(span, e))?
        }
        None => defaults::CARD_VERIFY,
    };
    let metrics = match d.metrics {
        Some(m) => {
            let span = m.span();
            let a: SocketAddr = m.get_ref().parse().map_err(|_| {
                ctx.err(
                    span.clone(),
                    format!("metrics '{}' is not ADDRESS:PORT", m.get_ref()),
                )
            })?;
            if !a.ip().is_loopback() {
                return Err(ctx.err(span, "metrics must listen on a loopback address"));
            }
            Some(a)
        }
        None => None,
    };
    let tun_mtu = match d.tun_mtu {
        Some(m) if !(576..=9000).contains(m.get_ref()) => {
            return Err(ctx.err(m.span(), "tun_mtu must be 576..=9000"))
        }
        Some(m) => Some(m.into_inner()),
        None => None,
    };
    // "0s" turns recovery off (a fenced card stays fenced until a restart)
    let card_recover_interval = match d.card_recover_interval {
        None => Some(defaults::CARD_RECOVER_INTERVAL),
        v => duration(ctx, "card_recover_interval", v)?,
    };
    let ike_retransmit_timeout = duration(ctx, "ike_retransmit_timeout", d.ike_retransmit_timeout)?
        .unwrap_or(defaults::IKE_RETRANSMIT_TIMEOUT);
    let ike_retransmit_tries = match d.ike_retransmit_tries {
        Some(t) if !(1..=20).contains(t.get_ref()) => {
            return Err(ctx.err(t.span(), "ike_retransmit_tries must be 1..=20"))
        }
        Some(t) => t.into_inner(),
        None => defaults::IKE_RETRANSMIT_TRIES,
    };
    Ok(DaemonConfig {
        ike_retransmit_timeout,
        ike_retransmit_tries,
        ike_limits,
        control_socket: d
            .control_socket
            .map(PathBuf::from)
            .unwrap_or_else(|| defaults::control_socket(&name).into()),
        name,
        tun_name,
        workers,
        metrics,
        offload_device,
        model_faults,
        verify,
        card_recover_interval,
        tun_mtu,
        state_dir: d
            .state_dir
            .map(PathBuf::from)
            .unwrap_or_else(|| defaults::STATE_DIR.into()),
    })
}

fn addr(
    ctx: &Ctx<'_>,
    what: &str,
    list: Spanned<Vec<Spanned<String>>>,
) -> Result<IpAddr, ConfigError> {
    let span = list.span();
    let list = list.into_inner();
    let Some(first) = list.into_iter().next() else {
        return Err(ctx.err(span, format!("{what} is empty")));
    };
    first.get_ref().parse().map_err(|_| {
        ctx.err(
            first.span(),
            format!("{what}: '{}' is not an IP address", first.get_ref()),
        )
    })
}

pub(super) fn connection(
    ctx: &Ctx<'_>,
    name: String,
    mut c: RawConnection,
    span: Range<usize>,
) -> Result<Connection, ConfigError> {
    let local_addr = addr(ctx, "local_addrs", c.local_addrs.clone())?;
    let remote_addr = addr(ctx, "remote_addrs", c.remote_addrs.clone())?;
    if local_addr.is_ipv4() != remote_addr.is_ipv4() {
        return Err(ctx.err(
            span,
            format!("connection {name}: local and remote addresses are of different families"),
        ));
    }
    let path_mtu = match c.path_mtu.take() {
        Some(m) if !(576..=9000).contains(m.get_ref()) => {
            return Err(ctx.err(m.span(), "path_mtu must be 576..=9000"))
        }
        Some(m) => m.into_inner(),
        None => defaults::PATH_MTU,
    };
    if local_addr.is_ipv6() && path_mtu < 1280 {
        return Err(ctx.err(span, "path_mtu below 1280 with IPv6 outer addresses"));
    }
    let mut conn = Connection {
        name: name.clone(),
        local_addr,
        remote_addr,
        encap: c.encap.unwrap_or(Encap::Udp),
        local_port: c.local_port.unwrap_or(defaults::NATT_PORT),
        remote_port: c.remote_port.unwrap_or(defaults::NATT_PORT),
        offload: c.offload.unwrap_or(defaults::OFFLOAD),
        path_mtu,
        children: Vec::new(),
        ike: None,
    };
    if c.children.is_empty() {
        return Err(ctx.err(span, format!("connection {name} has no children")));
    }
    if let Some(auth) = ike::auth(ctx, &name, &mut c, &span)? {
        let ike = ike::settings(ctx, &conn, auth, &mut c, span)?;
        conn.ike = Some(ike);
        return Ok(conn);
    }
    for (what, present) in [
        ("local_id", c.local_id.as_ref().map(Spanned::span)),
        ("remote_id", c.remote_id.as_ref().map(Spanned::span)),
        ("proposals", c.proposals.as_ref().map(Spanned::span)),
        ("rekey_time", c.rekey_time.as_ref().map(Spanned::span)),
        ("life_time", c.life_time.as_ref().map(Spanned::span)),
        ("dpd_delay", c.dpd_delay.as_ref().map(Spanned::span)),
    ] {
        if let Some(sp) = present {
            return Err(ctx.err(
                sp,
                format!("connection {name}: {what} is an IKE setting, but the connection has no psk or cert (manual keys)"),
            ));
        }
    }
    if c.start_action.is_some() || c.dpd_action.is_some() {
        return Err(ctx.err(
            span,
            format!("connection {name}: start_action and dpd_action are IKE settings, but the connection has no psk or cert (manual keys)"),
        ));
    }
    for (cname, ch) in c.children {
        let cspan = ch.span();
        conn.children
            .push(child(ctx, &conn, cname, ch.into_inner(), cspan)?);
    }
    Ok(conn)
}

fn spi(
    ctx: &Ctx<'_>,
    what: &str,
    span: Range<usize>,
    v: Option<Spanned<SpiValue>>,
) -> Result<u32, ConfigError> {
    let Some(v) = v else {
        return Err(ctx.err(
            span,
            format!("{what} missing (manually keyed SAs need in_spi, out_spi, in_key, out_key)"),
        ));
    };
    let s = v.span();
    let n: Option<u64> = match v.into_inner() {
        SpiValue::Int(i) => u64::try_from(i).ok(),
        SpiValue::Text(t) => {
            let t = t.trim();
            match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => t.parse().ok(),
            }
        }
    };
    match n.and_then(|n| u32::try_from(n).ok()) {
        Some(n) if n >= 256 => Ok(n),
        _ => Err(ctx.err(
            s,
            format!("{what} must be a 32-bit number >= 256 (RFC 4303: 1-255 are reserved)"),
        )),
    }
}

fn key(
    ctx: &Ctx<'_>,
    what: &str,
    span: Range<usize>,
    t: Transform,
    v: Option<Spanned<String>>,
) -> Result<KeyMaterial, ConfigError> {
    let Some(v) = v else {
        return Err(ctx.err(span, format!("{what} missing (hex: key then 4-byte salt)")));
    };
    let s = v.span();
    let text = Zeroizing::new(v.into_inner());
    let h = text.trim();
    let h = h.strip_prefix("0x").unwrap_or(h);
    let bytes = Zeroizing::new(
        hex::decode(h).map_err(|_| ctx.err(s.clone(), format!("{what} is not hex")))?,
    );
    let want = t.key_material_len();
    if bytes.len() != want {
        return Err(ctx.err(
            s,
            format!(
                "{what} has {} bytes; {} needs {want}",
                bytes.len(),
                t.name()
            ),
        ));
    }
    KeyMaterial::new(&bytes).ok_or_else(|| ctx.err(s, format!("{what} is too long")))
}

fn child(
    ctx: &Ctx<'_>,
    conn: &Connection,
    name: String,
    c: RawChild,
    span: Range<usize>,
) -> Result<Child, ConfigError> {
    let mode = c.mode.unwrap_or(defaults::MODE);
    let (local_ts, remote_ts) =
        child_selectors(ctx, conn, &name, mode, (c.local_ts, c.remote_ts), &span)?;
    let transform = match c.esp_proposals {
        Some(p) => Transform::from_proposal(p.get_ref()).ok_or_else(|| {
            let known: Vec<&str> = Transform::ALL.iter().map(|t| t.name()).collect();
            ctx.err(
                p.span(),
                format!(
                    "esp_proposals '{}' unknown ({})",
                    p.get_ref(),
                    known.join(", ")
                ),
            )
        })?,
        None => defaults::ESP_TRANSFORM,
    };
    let replay_window = replay_window(ctx, c.replay_window)?;
    let out_key_span = c.out_key.as_ref().map_or(span.clone(), Spanned::span);
    let inbound = ManualSa {
        spi: spi(ctx, "in_spi", span.clone(), c.in_spi)?,
        key: key(ctx, "in_key", span.clone(), transform, c.in_key)?,
    };
    let outbound = ManualSa {
        spi: spi(ctx, "out_spi", span.clone(), c.out_spi)?,
        key: key(ctx, "out_key", span.clone(), transform, c.out_key)?,
    };
    if same_key(&inbound.key, &outbound.key) {
        return Err(ctx.err(
            out_key_span,
            format!(
                "connection {}, child {name}: in_key and out_key are equal (both directions would use the same key and nonces)",
                conn.name
            ),
        ));
    }
    let lifetime = volume_lifetime(
        ctx,
        &format!("child {name}"),
        (c.life_packets, c.life_bytes),
        (c.rekey_packets, c.rekey_bytes),
        span,
    )?;
    Ok(Child {
        inbound,
        outbound,
        name,
        local_ts,
        remote_ts,
        mode,
        transform,
        replay_window,
        esn: c.esn.unwrap_or(false),
        lifetime,
    })
}

/// The `ike_*` limits of `[daemon]`, each checked against its range.
fn ike_limits(ctx: &Ctx<'_>, d: &mut RawDaemon) -> Result<IkeLimits, ConfigError> {
    let def = IkeLimits::default();
    let count = |v: Option<Spanned<u64>>,
                 what: &str,
                 range: std::ops::RangeInclusive<u64>,
                 default: usize|
     -> Result<usize, ConfigError> {
        match v {
            None => Ok(default),
            Some(n) if !range.contains(n.get_ref()) => Err(ctx.err(
                n.span(),
                format!("{what} must be {}..={}", range.start(), range.end()),
            )),
            Some(n) => Ok(usize::try_from(n.into_inner()).unwrap_or(usize::MAX)),
        }
    };
    let half_open_limit = count(
        d.ike_half_open_limit.take(),
        "ike_half_open_limit",
        1..=1_000_000,
        def.half_open_limit,
    )?;
    let max = half_open_limit as u64;
    let half_open_per_source = count(
        d.ike_half_open_per_source.take(),
        "ike_half_open_per_source",
        1..=max,
        def.half_open_per_source.min(half_open_limit),
    )?;
    let cookie_threshold = count(
        d.ike_cookie_threshold.take(),
        "ike_cookie_threshold",
        0..=max,
        def.cookie_threshold.min(half_open_limit),
    )?;
    let span = d.ike_cookie_secret_lifetime.as_ref().map(|v| v.span());
    let cookie_secret_lifetime = match duration(
        ctx,
        "ike_cookie_secret_lifetime",
        d.ike_cookie_secret_lifetime.take(),
    )? {
        None if span.is_none() => def.cookie_secret_lifetime,
        None => {
            return Err(ctx.err(
                span.unwrap_or_default(),
                "ike_cookie_secret_lifetime must be 1s..=1d",
            ))
        }
        Some(t) if t < Duration::from_secs(1) || t > Duration::from_secs(86_400) => {
            return Err(ctx.err(
                span.unwrap_or_default(),
                "ike_cookie_secret_lifetime must be 1s..=1d",
            ))
        }
        Some(t) => t,
    };
    let max_child_sas = count(
        d.ike_max_child_sas.take(),
        "ike_max_child_sas",
        1..=4096,
        def.max_child_sas,
    )?;
    Ok(IkeLimits {
        half_open_limit,
        half_open_per_source,
        cookie_threshold,
        cookie_secret_lifetime,
        max_child_sas,
    })
}

/// Whether two keys are equal (constant time).
pub(super) fn same_key(a: &KeyMaterial, b: &KeyMaterial) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
