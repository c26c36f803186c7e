//! The value parsers and checks that manually keyed and IKE connections share:
//! the file's place ([`Ctx`], span to line), times, proposal lists, traffic
//! selectors, the replay window and the rekey/lifetime order.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use esp::{IpPrefix, Lifetime, ModeKind};
use toml::Spanned;

use super::file::DurationValue;
use super::types::Connection;
use super::ConfigError;
use crate::defaults;

/// The file being read: its name and text, to turn a span into a line.
pub(super) struct Ctx<'a> {
    pub file: &'a Path,
    pub src: &'a str,
}

impl Ctx<'_> {
    pub fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.src.len());
        self.src.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }
    pub fn err(&self, span: Range<usize>, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            line: self.line(span),
            reason: reason.into(),
        }
    }
}

/// Parses a time: a number of seconds or text with a unit (`s`, `m`, `h`, `d`).
pub(super) fn duration(
    ctx: &Ctx<'_>,
    what: &str,
    v: Option<Spanned<DurationValue>>,
) -> Result<Option<Duration>, ConfigError> {
    let Some(v) = v else { return Ok(None) };
    let span = v.span();
    let bad = |t: &str| {
        ctx.err(
            span.clone(),
            format!("{what} '{t}' is not a time (seconds, or a number with s, m, h or d)"),
        )
    };
    let secs = match v.into_inner() {
        DurationValue::Int(i) => u64::try_from(i).map_err(|_| bad(&i.to_string()))?,
        DurationValue::Text(t) => {
            let tt = t.trim();
            let (num, mult) = match tt.chars().last() {
                Some('s') => (&tt[..tt.len() - 1], 1),
                Some('m') => (&tt[..tt.len() - 1], 60),
                Some('h') => (&tt[..tt.len() - 1], 3600),
                Some('d') => (&tt[..tt.len() - 1], 86400),
                _ => (tt, 1),
            };
            num.trim()
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(mult))
                .ok_or_else(|| bad(&t))?
        }
    };
    if secs == 0 {
        // swanctl: 0 turns the timer off
        return Ok(None);
    }
    Ok(Some(Duration::from_secs(secs)))
}

/// Splits a swanctl proposal list (`a, b`) and checks each with `parse`.
pub(super) fn proposal_list(
    ctx: &Ctx<'_>,
    what: &str,
    v: &Spanned<String>,
    parse: impl Fn(&str) -> Result<(), String>,
) -> Result<Vec<String>, ConfigError> {
    let list: Vec<String> = v
        .get_ref()
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if list.is_empty() {
        return Err(ctx.err(v.span(), format!("{what} is empty")));
    }
    for p in &list {
        parse(p).map_err(|e| ctx.err(v.span(), format!("{what}: {e}")))?;
    }
    Ok(list)
}

fn selectors(
    ctx: &Ctx<'_>,
    what: &str,
    list: Vec<Spanned<String>>,
) -> Result<Vec<IpPrefix>, ConfigError> {
    list.into_iter()
        .map(|s| {
            s.get_ref()
                .parse::<IpPrefix>()
                .map_err(|e| ctx.err(s.span(), format!("{what}: {e}")))
        })
        .collect()
}

/// A child's traffic selectors, checked: transport mode defaults to (and must
/// cover) the connection's own addresses, tunnel mode needs both lists, and one
/// address family throughout.
pub(super) fn child_selectors(
    ctx: &Ctx<'_>,
    conn: &Connection,
    name: &str,
    mode: ModeKind,
    (local, remote): (Vec<Spanned<String>>, Vec<Spanned<String>>),
    span: &Range<usize>,
) -> Result<(Vec<IpPrefix>, Vec<IpPrefix>), ConfigError> {
    let mut local_ts = selectors(ctx, "local_ts", local)?;
    let mut remote_ts = selectors(ctx, "remote_ts", remote)?;
    match mode {
        ModeKind::Transport => {
            if local_ts.is_empty() {
                local_ts.push(IpPrefix::host(conn.local_addr));
            }
            if remote_ts.is_empty() {
                remote_ts.push(IpPrefix::host(conn.remote_addr));
            }
            if !local_ts.iter().all(|p| p.contains(conn.local_addr))
                || !remote_ts.iter().all(|p| p.contains(conn.remote_addr))
            {
                return Err(ctx.err(span.clone(), format!("child {name}: transport mode selectors must cover the connection's own addresses")));
            }
        }
        ModeKind::Tunnel => {
            if local_ts.is_empty() || remote_ts.is_empty() {
                return Err(ctx.err(
                    span.clone(),
                    format!("child {name}: tunnel mode needs local_ts and remote_ts"),
                ));
            }
        }
    }
    let v4 = local_ts[0].addr.is_ipv4();
    if local_ts
        .iter()
        .chain(&remote_ts)
        .any(|p| p.addr.is_ipv4() != v4)
    {
        return Err(ctx.err(
            span.clone(),
            format!("child {name}: local_ts and remote_ts mix IPv4 and IPv6"),
        ));
    }
    Ok((local_ts, remote_ts))
}

/// The anti-replay window of a child (packets), at most
/// [`defaults::MAX_REPLAY_WINDOW`].
pub(super) fn replay_window(ctx: &Ctx<'_>, w: Option<Spanned<u32>>) -> Result<u32, ConfigError> {
    match w {
        Some(w) if *w.get_ref() > defaults::MAX_REPLAY_WINDOW => Err(ctx.err(
            w.span(),
            format!("replay_window above {}", defaults::MAX_REPLAY_WINDOW),
        )),
        Some(w) => Ok(w.into_inner()),
        None => Ok(defaults::REPLAY_WINDOW),
    }
}

/// The packet and byte lifetimes of a child: `life_packets` / `life_bytes` hard
/// (the SA stops), `rekey_packets` / `rekey_bytes` soft (a negotiated SA is
/// rekeyed, a manual one warned about); 0 or nothing is no limit. A soft limit
/// must be below its hard one; `who` names the child in the error.
pub(super) fn volume_lifetime(
    ctx: &Ctx<'_>,
    who: &str,
    (life_packets, life_bytes): (Option<u64>, Option<u64>),
    (rekey_packets, rekey_bytes): (Option<u64>, Option<u64>),
    span: Range<usize>,
) -> Result<Lifetime, ConfigError> {
    let set = |v: Option<u64>| v.filter(|&n| n > 0);
    let l = Lifetime {
        hard_packets: set(life_packets),
        hard_bytes: set(life_bytes),
        soft_packets: set(rekey_packets),
        soft_bytes: set(rekey_bytes),
        soft_seq: None,
    };
    for (unit, soft, hard) in [
        ("packets", l.soft_packets, l.hard_packets),
        ("bytes", l.soft_bytes, l.hard_bytes),
    ] {
        if let (Some(s), Some(h)) = (soft, hard) {
            if s >= h {
                return Err(ctx.err(
                    span,
                    format!("{who}: life_{unit} ({h}) must be larger than rekey_{unit} ({s})"),
                ));
            }
        }
    }
    Ok(l)
}

/// Checks that a hard lifetime, when both are set, is longer than the rekey
/// interval; `who` names the connection or child in the error.
pub(super) fn rekey_before_life(
    ctx: &Ctx<'_>,
    who: &str,
    rekey: Option<Duration>,
    life: Option<Duration>,
    span: Range<usize>,
) -> Result<(), ConfigError> {
    match (rekey, life) {
        (Some(r), Some(l)) if l <= r => Err(ctx.err(
            span,
            format!("{who}: life_time must be longer than rekey_time"),
        )),
        _ => Ok(()),
    }
}
