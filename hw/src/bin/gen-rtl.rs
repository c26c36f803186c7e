//! Writes `bitstreams/esp-engine-v<LAYOUT_VERSION>/{top.v,manifest.json}`.

use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let dir = hw::bundle::design_dir();
    hw::bundle::write_bundle(&dir).with_context(|| format!("writing {}", dir.display()))?;
    println!("{}", dir.display());
    Ok(())
}
