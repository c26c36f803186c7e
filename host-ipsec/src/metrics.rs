//! Prometheus text exposition (format 0.0.4) of the daemon's counters.

use std::fmt::Write;

use crate::stats::DaemonStatus;

/// Renders the counters of `s` as Prometheus text.
pub fn render(s: &DaemonStatus) -> String {
    let mut o = String::new();
    let g = &s.counters;
    let _ = writeln!(
        o,
        "# HELP ipsecd_uptime_seconds Seconds since the daemon started."
    );
    let _ = writeln!(o, "# TYPE ipsecd_uptime_seconds gauge");
    let _ = writeln!(o, "ipsecd_uptime_seconds {}", s.uptime_s);
    let _ = writeln!(
        o,
        "# HELP ipsecd_drops_total Packets dropped outside any SA, by reason."
    );
    let _ = writeln!(o, "# TYPE ipsecd_drops_total counter");
    for (r, v) in [
        ("no_policy", g.no_policy),
        ("unknown_spi", g.unknown_spi),
        ("malformed", g.malformed),
        ("ike_unhandled", g.ike_unhandled),
        ("io_error", g.io_errors),
        ("seq_unreserved", g.seq_unreserved_drops),
    ] {
        let _ = writeln!(o, "ipsecd_drops_total{{reason=\"{r}\"}} {v}");
    }
    let _ = writeln!(o, "# TYPE ipsecd_control_refused_total counter");
    let _ = writeln!(o, "ipsecd_control_refused_total {}", g.control_refused);
    let _ = writeln!(o, "# TYPE ipsecd_keepalives_total counter");
    let _ = writeln!(o, "ipsecd_keepalives_total {}", g.keepalives);
    for (name, help) in [
        ("packets", "Packets through the SA."),
        ("bytes", "Inner bytes through the SA."),
        ("auth_failures", "ICV failures."),
        ("replay_drops", "Replayed or too old packets."),
        ("selector_drops", "Decrypted packets outside the selectors."),
        ("errors", "Other errors."),
        ("fallbacks", "Card-to-software fallbacks."),
    ] {
        let _ = writeln!(o, "# HELP ipsecd_sa_{name}_total {help}");
        let _ = writeln!(o, "# TYPE ipsecd_sa_{name}_total counter");
        for sa in &s.sas {
            let v = match name {
                "packets" => sa.packets,
                "bytes" => sa.bytes,
                "auth_failures" => sa.auth_failures,
                "replay_drops" => sa.replay_drops,
                "selector_drops" => sa.selector_drops,
                "errors" => sa.errors,
                _ => sa.fallbacks,
            };
            let _ = writeln!(
                o,
                "ipsecd_sa_{name}_total{{connection=\"{}\",child=\"{}\",direction=\"{}\",spi=\"{}\",path=\"{}\"}} {v}",
                sa.connection, sa.child, sa.direction, sa.spi, sa.path
            );
        }
    }
    let k = &s.ike.counters;
    let _ = writeln!(o, "# HELP ipsecd_ike_sas IKE SAs by state.");
    let _ = writeln!(o, "# TYPE ipsecd_ike_sas gauge");
    for st in ["CONNECTING", "AUTHENTICATING", "ESTABLISHED", "DELETING"] {
        let n = s.ike.sas.iter().filter(|x| x.state == st).count();
        let _ = writeln!(o, "ipsecd_ike_sas{{state=\"{}\"}} {n}", st.to_lowercase());
    }
    for (name, help, v) in [
        ("child_installs", "CHILD_SAs installed.", k.child_installs),
        ("child_removals", "CHILD_SAs removed.", k.child_removals),
        (
            "install_failures",
            "CHILD_SAs the data path refused.",
            k.install_failures,
        ),
        (
            "auth_failures",
            "IKE authentication failures.",
            k.auth_failures,
        ),
        ("retransmits", "IKE retransmissions.", k.retransmits),
        (
            "send_errors",
            "IKE datagrams that could not be sent.",
            k.send_errors,
        ),
        (
            "queue_drops",
            "IKE datagrams dropped because the IKE thread's queue was full.",
            k.queue_drops,
        ),
        (
            "encap_updates",
            "CHILD_SAs moved to the peer's new NAT mapping.",
            k.encap_updates,
        ),
        (
            "encap_update_failures",
            "NAT mapping changes the data path could not follow.",
            k.encap_update_failures,
        ),
    ] {
        let _ = writeln!(o, "# HELP ipsecd_ike_{name}_total {help}");
        let _ = writeln!(o, "# TYPE ipsecd_ike_{name}_total counter");
        let _ = writeln!(o, "ipsecd_ike_{name}_total {v}");
    }
    let _ = writeln!(
        o,
        "# HELP ipsecd_ike_dropped_total IKE datagrams dropped, by reason."
    );
    let _ = writeln!(o, "# TYPE ipsecd_ike_dropped_total counter");
    for (r, v) in &k.dropped {
        let _ = writeln!(o, "ipsecd_ike_dropped_total{{reason=\"{r}\"}} {v}");
    }
    o
}
