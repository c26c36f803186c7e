//! Outbound sequence state of manually keyed SAs, kept so that no sequence
//! number (and with it no GCM nonce) is ever used twice under one key, whatever
//! fails.
//!
//! - **Durable reservation.** Before an outbound manual SA seals its first packet
//!   the daemon writes, for its SPI, a *reserved end*: a number past everything the
//!   SA may use ([`defaults::SEQ_RESERVE`] ahead). The write is atomic and durable
//!   (temporary file, `fsync`, rename, `fsync` of the directory). The data path never
//!   hands out a number at or past the durable end ([`Gate`]); when half the range
//!   is used it wakes the saver, which writes the next end and only then raises the
//!   gate. A restart (even after `kill -9` or a power loss) resumes at the saved end.
//! - **Exhaustion is remembered.** A record is `exhausted` once the SA's sequence
//!   space is used up; such an SA refuses to send after every restart until new
//!   keys are configured.
//! - **Failing closed.** A missing file is a first start (every SA starts at 1). A
//!   file that cannot be read, does not parse or has another version refuses the
//!   manual SAs ([`LoadError`]); `ipsecd --reset-sequence-state` starts over and is
//!   meant for new keys only.
//!
//! Records are keyed by outbound SPI and carry a key identifier (a truncated
//! SHA-256 of a label, the SPI and the key; the key itself is never written), so a
//! new key under an old SPI is a new SA.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::defaults;
use crate::stats::GlobalCounters;

/// Version of the state file format.
pub const VERSION: u32 = 2;

/// The state file of an instance.
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.seq.json"))
}

/// Identifies a key without revealing it: the first 8 bytes of
/// SHA-256("ipsecd outbound key" || SPI || key), in hex.
pub fn key_id(spi: u32, key: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"ipsecd outbound key\0");
    h.update(spi.to_be_bytes());
    h.update(key);
    hex::encode(&h.finalize()[..8])
}

/// The saved state of one outbound SA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// See [`key_id`].
    pub key_id: String,
    /// No number at or past this one was ever handed out; a restart resumes here.
    pub reserved_end: u64,
    /// The sequence space is used up: the SA never sends again.
    pub exhausted: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    version: u32,
    sas: BTreeMap<String, Record>,
}

/// Why the state file cannot be used (the manual SAs it covers are refused).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// It exists but cannot be read.
    #[error("sequence state file {}: cannot read: {source}", file.display())]
    Unreadable {
        /// The file.
        file: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// It does not parse, or has another version.
    #[error("sequence state file {}: {reason}", file.display())]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Where an outbound SA starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// First sequence number it may use.
    pub first: u64,
    /// The record says its space is used up.
    pub exhausted: bool,
}

/// The records of one state file, as the daemon keeps them in memory.
#[derive(Debug)]
pub struct SeqState {
    file: PathBuf,
    records: BTreeMap<u32, Record>,
}

impl SeqState {
    /// Reads `file`. A missing file is a first start (no records); anything else
    /// that cannot be used is an error.
    pub fn load(file: &Path) -> Result<Self, LoadError> {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::empty(file)),
            Err(source) => {
                return Err(LoadError::Unreadable {
                    file: file.to_path_buf(),
                    source,
                })
            }
        };
        let corrupt = |reason: String| LoadError::Corrupt {
            file: file.to_path_buf(),
            reason,
        };
        let f: FileFormat = serde_json::from_str(&text)
            .map_err(|e| corrupt(format!("does not parse (format version {VERSION}): {e}")))?;
        if f.version != VERSION {
            return Err(corrupt(format!(
                "format version {} (this ipsecd reads {VERSION})",
                f.version
            )));
        }
        let mut records = BTreeMap::new();
        for (k, r) in f.sas {
            let spi = k
                .parse::<u32>()
                .map_err(|_| corrupt(format!("SPI '{k}' is not a number")))?;
            records.insert(spi, r);
        }
        Ok(SeqState {
            file: file.to_path_buf(),
            records,
        })
    }

    /// No records (a first start, or `--reset-sequence-state`), saved to `file`.
    pub fn empty(file: &Path) -> Self {
        SeqState {
            file: file.to_path_buf(),
            records: BTreeMap::new(),
        }
    }

    /// The file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The record of outbound SPI `spi`.
    pub fn record(&self, spi: u32) -> Option<&Record> {
        self.records.get(&spi)
    }

    /// Where the outbound SA (`spi`, key `key_id`, last usable number `max`)
    /// starts: at its saved reserved end, or at 1 when it has no record under this key.
    pub fn start(&self, spi: u32, key_id: &str, max: u64) -> Start {
        match self.records.get(&spi) {
            Some(r) if r.key_id == key_id => Start {
                first: r.reserved_end.max(1),
                exhausted: r.exhausted || r.reserved_end > max,
            },
            _ => Start {
                first: 1,
                exhausted: false,
            },
        }
    }

    /// Sets the record of `spi` (saved by the next [`save`](Self::save)).
    pub fn set(&mut self, spi: u32, r: Record) {
        self.records.insert(spi, r);
    }

    /// Writes the records durably: a temporary file in the same directory,
    /// `fsync`, rename over the file, `fsync` of the directory.
    pub fn save(&self) -> io::Result<()> {
        let f = FileFormat {
            version: VERSION,
            sas: self
                .records
                .iter()
                .map(|(s, r)| (s.to_string(), r.clone()))
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&f).map_err(io::Error::other)?;
        write_durably(&self.file, &bytes)
    }
}

/// Replaces `file` with `bytes` so that after a crash it holds either the old or
/// the new content, and the new one once this returns.
pub fn write_durably(file: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let tmp = file.with_extension("json.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, file)?;
    std::fs::File::open(&dir)?.sync_all()
}

/// Wakes the thread that writes reservations (the daemon's main loop parks on it).
#[derive(Debug, Default)]
pub struct Waker {
    thread: OnceLock<Thread>,
}

impl Waker {
    /// Makes the calling thread the one woken (once; later calls are ignored).
    pub fn register_current(&self) {
        let _ = self.thread.set(std::thread::current());
    }
    /// Wakes it (lock-free; a no-op before one registered).
    pub fn wake(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }
}

/// The durable limit of one outbound SA's counter, shared by the data path (which
/// reads it on every reservation, lock-free) and the saver (which raises it after
/// each durable write).
#[derive(Debug)]
pub struct Gate {
    spi: u32,
    key_id: String,
    max: u64,
    /// Numbers below this one are durably reserved.
    limit: AtomicU64,
    exhausted: AtomicBool,
    wanted: AtomicBool,
    waker: Arc<Waker>,
    global: Arc<GlobalCounters>,
}

impl Gate {
    /// A gate for outbound SPI `spi` (key `key_id`, last usable number `max`) at
    /// durable end `limit`. Refused packets count in `global.seq_unreserved_drops`.
    pub fn new(
        spi: u32,
        key_id: String,
        max: u64,
        limit: u64,
        waker: Arc<Waker>,
        global: Arc<GlobalCounters>,
    ) -> Self {
        Gate {
            spi,
            key_id,
            max,
            limit: AtomicU64::new(limit),
            exhausted: AtomicBool::new(false),
            wanted: AtomicBool::new(false),
            waker,
            global,
        }
    }

    /// Outbound SPI.
    pub fn spi(&self) -> u32 {
        self.spi
    }
    /// Key identifier ([`key_id`]).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
    /// Last usable number of the SA.
    pub fn max(&self) -> u64 {
        self.max
    }
    /// The durable end: no number at or past it may be handed out.
    pub fn limit(&self) -> u64 {
        self.limit.load(Ordering::Acquire)
    }
    /// Marks the SA exhausted: the gate never opens again.
    pub fn set_exhausted(&self) {
        self.exhausted.store(true, Ordering::Release);
        self.limit.store(0, Ordering::Release);
    }
    /// Whether the SA is exhausted.
    pub fn exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Acquire)
    }

    /// The data path moved the counter to `next` (the next number to hand out):
    /// past half the reserved range it asks the saver for the next range.
    pub fn note_next(&self, next: u64) {
        if self.needs_more(next) && !self.wanted.swap(true, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// `count` packets were refused at the gate: counted, and the saver is asked
    /// for more (unless the SA is exhausted).
    pub fn refused(&self, count: u64) {
        crate::stats::add(&self.global.seq_unreserved_drops, count);
        if !self.exhausted() && !self.wanted.swap(true, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// Whether the counter at `next` is within half a range of the limit.
    pub fn needs_more(&self, next: u64) -> bool {
        !self.exhausted()
            && self.limit() <= self.max
            && next.saturating_add(defaults::SEQ_RESERVE / 2) >= self.limit()
    }

    /// The next durable end for a counter at `next`: a full range ahead, capped
    /// just past the last usable number, never below the current limit.
    pub fn next_end(&self, next: u64) -> u64 {
        let cap = self.max.saturating_add(1);
        next.saturating_add(defaults::SEQ_RESERVE)
            .min(cap)
            .max(self.limit())
    }

    /// The saver made `end` durable: the data path may use numbers below it.
    pub fn raise(&self, end: u64) {
        self.wanted.store(false, Ordering::Release);
        if !self.exhausted() {
            self.limit.fetch_max(end, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ipsecd-state-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn round_trip_resumes_at_the_reserved_end() {
        let d = dir("rt");
        let f = path(&d, "t");
        let k = key_id(0x1001, &[7; 20]);
        let mut s = SeqState::load(&f).expect("missing file is a first start");
        assert_eq!(s.start(0x1001, &k, u64::from(u32::MAX)).first, 1);
        s.set(
            0x1001,
            Record {
                key_id: k.clone(),
                reserved_end: 77 + defaults::SEQ_RESERVE,
                exhausted: false,
            },
        );
        s.save().expect("save");
        assert!(!f.with_extension("json.tmp").exists(), "temporary renamed");
        let s2 = SeqState::load(&f).expect("load");
        assert_eq!(s2.record(0x1001), s.record(0x1001));
        let st = s2.start(0x1001, &k, u64::from(u32::MAX));
        assert_eq!(st.first, 77 + defaults::SEQ_RESERVE);
        assert!(!st.exhausted);
        // another key under the same SPI is a new SA
        let other = key_id(0x1001, &[8; 20]);
        assert_ne!(other, k);
        assert_eq!(s2.start(0x1001, &other, u64::from(u32::MAX)).first, 1);
        // an SPI never saved starts at 1
        assert_eq!(s2.start(0x2002, &k, u64::from(u32::MAX)).first, 1);
        // the key itself is not in the file
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(!text.contains(&hex::encode([7u8; 20])));
        assert!(text.contains("\"version\": 2"));
        std::fs::remove_dir_all(d).expect("cleanup");
    }

    #[test]
    fn corrupt_unreadable_and_other_versions_are_refused() {
        let d = dir("bad");
        std::fs::create_dir_all(&d).expect("dir");
        let f = path(&d, "t");
        for bad in [
            "{not json",
            "",
            r#"{"4097": 12}"#,
            r#"{"version": 1, "sas": {}}"#,
            r#"{"version": 2, "sas": {"x": {"key_id": "a", "reserved_end": 3, "exhausted": false}}}"#,
        ] {
            std::fs::write(&f, bad).expect("write");
            match SeqState::load(&f) {
                Err(LoadError::Corrupt { file, .. }) => assert_eq!(file, f),
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
        // a directory where the file should be cannot be read
        std::fs::remove_file(&f).expect("rm");
        std::fs::create_dir_all(&f).expect("dir");
        assert!(matches!(
            SeqState::load(&f),
            Err(LoadError::Unreadable { .. })
        ));
        std::fs::remove_dir_all(d).expect("cleanup");
    }

    #[test]
    fn exhausted_stays_exhausted() {
        let d = dir("ex");
        let f = path(&d, "t");
        let k = key_id(0x1001, &[7; 20]);
        let max = u64::from(u32::MAX);
        let mut s = SeqState::empty(&f);
        s.set(
            0x1001,
            Record {
                key_id: k.clone(),
                reserved_end: 10,
                exhausted: true,
            },
        );
        // a reserved end past the last number is exhausted as well
        s.set(
            0x1002,
            Record {
                key_id: key_id(0x1002, &[7; 20]),
                reserved_end: max + 1,
                exhausted: false,
            },
        );
        s.save().expect("save");
        let s = SeqState::load(&f).expect("load");
        assert!(s.start(0x1001, &k, max).exhausted);
        assert!(s.start(0x1002, &key_id(0x1002, &[7; 20]), max).exhausted);
        // saved again (as the daemon does on every reservation) it stays so
        s.save().expect("save");
        let s = SeqState::load(&f).expect("load");
        assert!(s.start(0x1001, &k, max).exhausted);
        std::fs::remove_dir_all(d).expect("cleanup");
    }

    #[test]
    fn gate_asks_for_more_past_half_and_never_lowers() {
        let w = Arc::new(Waker::default());
        let g = Gate::new(
            1,
            "k".into(),
            u64::from(u32::MAX),
            1 + defaults::SEQ_RESERVE,
            w,
            Arc::new(GlobalCounters::default()),
        );
        assert!(!g.needs_more(1));
        assert!(g.needs_more(1 + defaults::SEQ_RESERVE / 2));
        let end = g.next_end(1 + defaults::SEQ_RESERVE / 2);
        assert_eq!(end, 1 + defaults::SEQ_RESERVE / 2 + defaults::SEQ_RESERVE);
        g.raise(end);
        assert_eq!(g.limit(), end);
        g.raise(5);
        assert_eq!(g.limit(), end, "never lowered");
        // capped just past the last number
        assert_eq!(g.next_end(u64::from(u32::MAX) - 3), u64::from(u32::MAX) + 1);
        g.set_exhausted();
        g.raise(end + 10);
        assert_eq!(g.limit(), 0, "an exhausted gate stays shut");
        assert!(!g.needs_more(5));
    }
}
