//! The generated design folder `bitstreams/esp-engine-v<LAYOUT_VERSION>/`:
//! `top.v` (the Verilog of `module top`), `resources.txt` (written by
//! `scripts/synth.sh`, kept as is) and `manifest.json` (layout version, generator
//! version and the SHA-256 of every other file in the folder).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Name of the Verilog file.
pub const TOP_V: &str = "top.v";
/// Name of the resource report.
pub const RESOURCES: &str = "resources.txt";
/// Name of the manifest.
pub const MANIFEST: &str = "manifest.json";

/// Generator identity written into the manifest.
pub const GENERATOR: &str = concat!("hw ", env!("CARGO_PKG_VERSION"), " (rust-hdl 0.46.0)");

/// The folder of this layout, relative to the workspace root.
#[must_use]
pub fn design_dir_name() -> String {
    format!(
        "bitstreams/{}-v{}",
        regmap::DESIGN_NAME,
        regmap::LAYOUT_VERSION
    )
}

/// The folder of this layout under the workspace that holds this crate.
#[must_use]
pub fn design_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(design_dir_name())
}

fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The manifest for the given files (name, contents), in the order given.
#[must_use]
pub fn manifest(files: &[(&str, &[u8])]) -> String {
    let mut out = String::new();
    out.push_str("{\n");
    let _ = writeln!(out, "  \"design\": \"{}\",", regmap::DESIGN_NAME);
    let _ = writeln!(out, "  \"layout_version\": {},", regmap::LAYOUT_VERSION);
    let _ = writeln!(out, "  \"generator\": \"{GENERATOR}\",");
    out.push_str("  \"files\": {\n");
    for (i, (name, data)) in files.iter().enumerate() {
        let comma = if i + 1 == files.len() { "" } else { "," };
        let _ = writeln!(
            out,
            "    \"{name}\": \"sha256:{}\"{comma}",
            sha256_hex(data)
        );
    }
    out.push_str("  }\n}\n");
    out
}

/// Files of the folder as they should be: `(name, contents)` for `top.v` and
/// `manifest.json`, given the current `resources.txt` (if any).
#[must_use]
pub fn expected_files(resources: Option<&[u8]>) -> Vec<(&'static str, Vec<u8>)> {
    let top = crate::post::post_process(&crate::generate_top_verilog()).into_bytes();
    let mut listed: Vec<(&str, &[u8])> = vec![(TOP_V, &top)];
    if let Some(r) = resources {
        listed.push((RESOURCES, r));
    }
    let man = manifest(&listed).into_bytes();
    vec![(TOP_V, top), (MANIFEST, man)]
}

/// Write `top.v` and `manifest.json` into `dir` (creating it), keeping `resources.txt`.
///
/// # Errors
/// Any I/O error, with the path it concerns.
pub fn write_bundle(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let resources = std::fs::read(dir.join(RESOURCES)).ok();
    for (name, data) in expected_files(resources.as_deref()) {
        let path = dir.join(name);
        std::fs::write(&path, data)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    }
    Ok(())
}
