//! A panic in any thread of the daemon ends the process: the hook logs which
//! thread panicked, where and why, then aborts, so that a supervisor (systemd,
//! a container runtime) restarts a whole daemon instead of keeping one with a
//! dead IKE, data path or control thread.

use std::panic::PanicHookInfo;

/// The line logged for a panic of thread `thread` at `location` with `message`.
pub fn panic_report(thread: Option<&str>, location: Option<String>, message: &str) -> String {
    format!(
        "ipsecd: thread '{}' panicked at {}: {message}; aborting (a supervisor should restart ipsecd)",
        thread.unwrap_or("<unnamed>"),
        location.as_deref().unwrap_or("an unknown location"),
    )
}

/// The message of a panic (the `&str` or `String` it was given, else a
/// placeholder).
pub fn panic_message(info: &PanicHookInfo<'_>) -> String {
    let p = info.payload();
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Install the hook: log the panic (to the log and to stderr) and abort.
pub fn abort_on_panic() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        let line = panic_report(thread.name(), location, &panic_message(info));
        tracing::error!("{line}");
        eprintln!("{line}");
        std::process::abort();
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_thread_location_and_message() {
        let r = panic_report(Some("ipsecd-ike"), Some("src/x.rs:3:9".into()), "boom");
        assert_eq!(
            r,
            "ipsecd: thread 'ipsecd-ike' panicked at src/x.rs:3:9: boom; aborting (a supervisor should restart ipsecd)"
        );
        assert!(
            panic_report(None, None, "x").contains("'<unnamed>' panicked at an unknown location")
        );
    }
}
