//! Writes the seed corpora: `fuzz-seeds [DIR]` (default `fuzz/corpus` of the
//! repository) makes `DIR/<target>/seed-*` for every target, replacing files of the
//! same name and leaving others (inputs found by fuzzing) alone.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(fuzz_targets::seeds::corpus_dir);
    for t in fuzz_targets::TARGETS {
        let d = dir.join(t.name);
        std::fs::create_dir_all(&d)?;
        let seeds = fuzz_targets::seeds::for_target(t.name);
        for (name, data) in &seeds {
            std::fs::write(d.join(name), data)?;
        }
        println!("{}: {} seeds in {}", t.name, seeds.len(), d.display());
    }
    Ok(())
}
