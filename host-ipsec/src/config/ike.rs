//! The IKEv2 settings of a connection: its authentication (a pre-shared key, or
//! certificate files read and checked at load time) and its children, whose keys
//! IKE negotiates.

use std::ops::Range;
use std::path::{Path, PathBuf};

use esp::ModeKind;
use toml::Spanned;
use zeroize::Zeroizing;

use super::file::RawConnection;
use super::types::{
    Connection, DpdAction, IkeAuth, IkeChild, IkeSettings, PubkeyAuth, Secret, StartAction,
};
use super::values::{
    child_selectors, duration, proposal_list, rekey_before_life, replay_window, volume_lifetime,
    Ctx,
};
use super::ConfigError;
use crate::defaults;

/// The authentication of an IKE connection, or `None` for a manually keyed one.
///
/// `auth` is optional: a `psk` makes a PSK connection, `cert`/`key`/`cacerts` a
/// certificate one; a written `auth` must agree with the keys present, and the two
/// kinds never mix. Certificate files are read and checked here, so a bad file is a
/// configuration error at load time.
pub(super) fn auth(
    ctx: &Ctx<'_>,
    name: &str,
    c: &mut RawConnection,
    span: &Range<usize>,
) -> Result<Option<IkeAuth>, ConfigError> {
    let psk = c.psk.take();
    let cert = c.cert.take();
    let key = c.key.take();
    let cacerts = c.cacerts.take();
    let pubkey_span = cert
        .as_ref()
        .map(Spanned::span)
        .or_else(|| key.as_ref().map(Spanned::span))
        .or_else(|| cacerts.as_ref().map(Spanned::span));
    let method = match c.auth.take() {
        Some(a) => match a.get_ref().as_str() {
            "psk" => Some(("psk", a.span())),
            "pubkey" => Some(("pubkey", a.span())),
            other => {
                return Err(ctx.err(
                    a.span(),
                    format!("connection {name}: auth '{other}' unknown (psk | pubkey)"),
                ))
            }
        },
        None => None,
    };
    if let (Some(p), Some(sp)) = (&psk, &pubkey_span) {
        let at = if p.span().start > sp.start {
            p.span()
        } else {
            sp.clone()
        };
        return Err(ctx.err(
            at,
            format!("connection {name}: psk mixed with cert/key/cacerts; use either auth = \"psk\" with a psk or auth = \"pubkey\" with cert, key and cacerts"),
        ));
    }
    match method {
        Some(("psk", asp)) if psk.is_none() => {
            return Err(ctx.err(
                pubkey_span.clone().unwrap_or(asp),
                format!(
                    "connection {name}: auth = \"psk\" needs a psk (and no cert, key or cacerts)"
                ),
            ))
        }
        Some(("pubkey", asp)) if pubkey_span.is_none() => {
            return Err(ctx.err(
                psk.as_ref().map(Spanned::span).unwrap_or(asp),
                format!(
                    "connection {name}: auth = \"pubkey\" needs cert, key and cacerts (and no psk)"
                ),
            ))
        }
        _ => {}
    }
    if let Some(psk) = psk {
        let psk_span = psk.span();
        let psk = Zeroizing::new(psk.into_inner().into_bytes());
        if psk.len() < 8 {
            return Err(ctx.err(
                psk_span,
                format!("connection {name}: psk shorter than 8 bytes"),
            ));
        }
        return Ok(Some(IkeAuth::Psk(Secret(psk))));
    }
    if pubkey_span.is_none() {
        return Ok(None);
    }
    let (Some(cert), Some(key), Some(cacerts)) = (cert, key, cacerts) else {
        return Err(ctx.err(
            span.clone(),
            format!("connection {name}: certificate authentication needs cert, key and cacerts"),
        ));
    };
    if cacerts.get_ref().is_empty() {
        return Err(ctx.err(
            cacerts.span(),
            format!(
                "connection {name}: cacerts is empty (the CAs that issue the peer's certificate)"
            ),
        ));
    }
    let dir = ctx.file.parent().unwrap_or(Path::new(""));
    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            dir.join(p)
        }
    };
    let read =
        |what: &str, v: &Spanned<String>| -> Result<(PathBuf, Zeroizing<String>), ConfigError> {
            let path = resolve(v.get_ref());
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ctx.err(
                    v.span(),
                    format!(
                        "connection {name}: {what} {}: cannot read: {e}",
                        path.display()
                    ),
                )
            })?;
            Ok((path, Zeroizing::new(text)))
        };
    let (cert_path, cert_pem) = read("cert", &cert)?;
    let (key_path, key_pem) = read("key", &key)?;
    let mut ca_paths = Vec::new();
    let mut ca_pems = Vec::new();
    for ca in cacerts.get_ref() {
        let (p, t) = read("cacerts", ca)?;
        ca_paths.push(p);
        ca_pems.push(t.to_string());
    }
    let auth = PubkeyAuth {
        cert: cert_path,
        key: key_path,
        cacerts: ca_paths,
        cert_pem: cert_pem.to_string(),
        key_pem,
        ca_pems,
    };
    if let Err(e) = auth.cert_auth() {
        // point at the file the engine refused
        let (sp, file) = match &e {
            ikev2::CertError::BadCertificate { what, .. }
            | ikev2::CertError::UnsupportedKey(what) => {
                match what
                    .strip_prefix("CA certificate ")
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| {
                        cacerts
                            .get_ref()
                            .get(n.wrapping_sub(1))
                            .zip(auth.cacerts.get(n.wrapping_sub(1)))
                    }) {
                    Some((v, p)) => (v.span(), p.clone()),
                    None => (cert.span(), auth.cert.clone()),
                }
            }
            ikev2::CertError::BadKey(_) | ikev2::CertError::KeyMismatch => {
                (key.span(), auth.key.clone())
            }
            ikev2::CertError::UnknownConnection(_) => (span.clone(), ctx.file.to_path_buf()),
        };
        return Err(ctx.err(sp, format!("connection {name}: {}: {e}", file.display())));
    }
    Ok(Some(IkeAuth::Pubkey(auth)))
}

pub(super) fn settings(
    ctx: &Ctx<'_>,
    conn: &Connection,
    auth: IkeAuth,
    c: &mut RawConnection,
    span: Range<usize>,
) -> Result<IkeSettings, ConfigError> {
    let name = &conn.name;
    let id = |what: &str, v: Option<Spanned<String>>, default: String| match v {
        Some(v) => ikev2::Identity::parse(v.get_ref())
            .map(|_| v.get_ref().clone())
            .map_err(|e| ctx.err(v.span(), format!("{what}: {e}"))),
        None => Ok(default),
    };
    let local_id = id("local_id", c.local_id.take(), conn.local_addr.to_string())?;
    let remote_id = id(
        "remote_id",
        c.remote_id.take(),
        conn.remote_addr.to_string(),
    )?;
    if local_id == "%any" {
        return Err(ctx.err(span.clone(), "local_id cannot be %any"));
    }
    let proposals = match &c.proposals {
        Some(p) => proposal_list(ctx, "proposals", p, |x| {
            ikev2::IkeProposal::parse(x)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })?,
        None => vec![defaults::IKE_PROPOSAL.to_string()],
    };
    let mut children = Vec::new();
    for (cname, ch) in std::mem::take(&mut c.children) {
        let cspan = ch.span();
        let ch = ch.into_inner();
        for (what, sp) in [
            ("in_spi", ch.in_spi.as_ref().map(Spanned::span)),
            ("out_spi", ch.out_spi.as_ref().map(Spanned::span)),
            ("in_key", ch.in_key.as_ref().map(Spanned::span)),
            ("out_key", ch.out_key.as_ref().map(Spanned::span)),
        ] {
            if let Some(sp) = sp {
                return Err(ctx.err(
                    sp,
                    format!("child {cname}: {what} given, but keys of an IKE connection (psk or cert) are negotiated by IKE"),
                ));
            }
        }
        let mode = ch.mode.unwrap_or(defaults::MODE);
        if mode == ModeKind::Transport && c.start_action == Some(StartAction::Trap) {
            return Err(ctx.err(
                cspan,
                format!("child {cname}: start_action = trap needs tunnel mode"),
            ));
        }
        let (local_ts, remote_ts) =
            child_selectors(ctx, conn, &cname, mode, (ch.local_ts, ch.remote_ts), &cspan)?;
        let esp_proposals = match &ch.esp_proposals {
            Some(p) => proposal_list(ctx, "esp_proposals", p, |x| {
                ikev2::EspProposal::parse(x)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })?,
            None => vec![defaults::ESP_TRANSFORM.name().to_string()],
        };
        let replay_window = replay_window(ctx, ch.replay_window)?;
        let rekey_time = duration(ctx, "rekey_time", ch.rekey_time)?;
        let life_time = duration(ctx, "life_time", ch.life_time)?;
        let lifetime = volume_lifetime(
            ctx,
            &format!("child {cname}"),
            (ch.life_packets, ch.life_bytes),
            (ch.rekey_packets, ch.rekey_bytes),
            cspan.clone(),
        )?;
        rekey_before_life(ctx, &format!("child {cname}"), rekey_time, life_time, cspan)?;
        children.push(IkeChild {
            name: cname,
            local_ts,
            remote_ts,
            mode,
            esp_proposals,
            rekey_time,
            life_time,
            lifetime,
            replay_window,
        });
    }
    let rekey_time = duration(ctx, "rekey_time", c.rekey_time.take())?;
    let life_time = duration(ctx, "life_time", c.life_time.take())?;
    rekey_before_life(
        ctx,
        &format!("connection {name}"),
        rekey_time,
        life_time,
        span,
    )?;
    Ok(IkeSettings {
        local_id,
        remote_id,
        auth,
        proposals,
        rekey_time,
        life_time,
        dpd_delay: duration(ctx, "dpd_delay", c.dpd_delay.take())?,
        start_action: c.start_action.unwrap_or(StartAction::None),
        dpd_action: c.dpd_action.unwrap_or(DpdAction::Clear),
        children,
    })
}
