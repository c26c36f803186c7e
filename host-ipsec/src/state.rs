//! Outbound sequence numbers kept across restarts, so that a restarted daemon
//! with the same manual keys never reuses a sequence number (and with it a
//! GCM nonce): it resumes [`defaults::SEQ_RESTART_GAP`] past the last saved value.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::defaults;

/// The state file of an instance.
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.seq.json"))
}

/// Loads saved next sequence numbers by outbound SPI (empty when absent or unreadable).
pub fn load(file: &Path) -> BTreeMap<u32, u64> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return BTreeMap::new();
    };
    serde_json::from_str::<BTreeMap<String, u64>>(&text)
        .map(|m| {
            m.into_iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
                .collect()
        })
        .unwrap_or_default()
}

/// Saves next sequence numbers atomically (write, then rename).
pub fn save(file: &Path, seqs: &[(u32, u64)]) -> io::Result<()> {
    if let Some(d) = file.parent() {
        std::fs::create_dir_all(d)?;
    }
    let m: BTreeMap<String, u64> = seqs.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(&m).map_err(io::Error::other)?)?;
    std::fs::rename(tmp, file)
}

/// The first sequence number for an outbound SA given the saved state.
pub fn first_seq(saved: &BTreeMap<u32, u64>, spi: u32) -> u64 {
    match saved.get(&spi) {
        Some(&n) if n > 0 => n.saturating_add(defaults::SEQ_RESTART_GAP),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_gap() {
        let dir = std::env::temp_dir().join(format!("ipsecd-state-{}", std::process::id()));
        let f = path(&dir, "t");
        save(&f, &[(0x1001, 77)]).unwrap();
        let m = load(&f);
        assert_eq!(first_seq(&m, 0x1001), 77 + defaults::SEQ_RESTART_GAP);
        assert_eq!(first_seq(&m, 0x2002), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
