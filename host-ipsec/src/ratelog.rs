//! Log lines about unauthenticated input (dropped or malformed IKE datagrams,
//! cookie demands, failed logins of unknown peers), limited per kind: at most
//! `per_window` lines each `window`, and a "suppressed N" summary for the rest
//! once the window is over. Only the log lines are limited; the counters that
//! go with them are kept exactly by their owners.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Lines of one kind in the current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    logged: u32,
    suppressed: u64,
}

/// What to do with one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Write this line.
    pub log: bool,
    /// Lines of this kind suppressed in the window that just ended, to report
    /// (before this line) as a summary; 0: nothing to report.
    pub suppressed_before: u64,
}

/// A per-kind limit on log lines.
#[derive(Debug, Clone)]
pub struct RateLimitedLog {
    per_window: u32,
    window: Duration,
    kinds: BTreeMap<&'static str, Window>,
    suppressed_total: u64,
}

impl RateLimitedLog {
    /// At most `per_window` lines of each kind per `window`.
    pub fn new(per_window: u32, window: Duration) -> Self {
        RateLimitedLog {
            per_window,
            window,
            kinds: BTreeMap::new(),
            suppressed_total: 0,
        }
    }

    /// A line of `kind` at `now`: whether to write it, and the summary of the
    /// window before if one is due.
    pub fn check(&mut self, now: Instant, kind: &'static str) -> Decision {
        let w = self.kinds.entry(kind).or_insert(Window {
            start: now,
            logged: 0,
            suppressed: 0,
        });
        let mut suppressed_before = 0;
        if now.saturating_duration_since(w.start) >= self.window {
            suppressed_before = std::mem::take(&mut w.suppressed);
            w.start = now;
            w.logged = 0;
        }
        let log = w.logged < self.per_window;
        if log {
            w.logged += 1;
        } else {
            w.suppressed += 1;
            self.suppressed_total += 1;
        }
        Decision {
            log,
            suppressed_before,
        }
    }

    /// The summaries due at `now` (kinds whose window is over with lines
    /// suppressed), for a caller that also reports when no new line comes.
    pub fn flush(&mut self, now: Instant) -> Vec<(&'static str, u64)> {
        let mut out = Vec::new();
        for (kind, w) in &mut self.kinds {
            if w.suppressed > 0 && now.saturating_duration_since(w.start) >= self.window {
                out.push((*kind, std::mem::take(&mut w.suppressed)));
                w.start = now;
                w.logged = 0;
            }
        }
        out
    }

    /// All lines suppressed so far.
    pub fn suppressed_total(&self) -> u64 {
        self.suppressed_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_lines_per_window_then_a_summary() {
        let t0 = Instant::now();
        let mut r = RateLimitedLog::new(3, Duration::from_secs(1));
        let logged: Vec<bool> = (0..10).map(|_| r.check(t0, "dropped").log).collect();
        assert_eq!(logged.iter().filter(|l| **l).count(), 3);
        assert!(logged[..3].iter().all(|l| *l));
        // another kind has its own budget
        assert!(r.check(t0, "cookie").log);
        assert_eq!(r.suppressed_total(), 7);
        // nothing to flush before the window is over
        assert!(r.flush(t0 + Duration::from_millis(500)).is_empty());
        // the next window: the summary comes with the first line
        let d = r.check(t0 + Duration::from_secs(1), "dropped");
        assert_eq!(
            d,
            Decision {
                log: true,
                suppressed_before: 7
            }
        );
        // suppressed again, then flushed without a new line
        for _ in 0..5 {
            r.check(t0 + Duration::from_secs(1), "dropped");
        }
        assert_eq!(r.flush(t0 + Duration::from_secs(3)), vec![("dropped", 3)]);
        assert!(r.flush(t0 + Duration::from_secs(5)).is_empty());
        assert_eq!(r.suppressed_total(), 10);
    }
}
