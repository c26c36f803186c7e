//! Runs the VFIO backend on a real kernel: `scripts/vfio-qemu-test.sh` boots a QEMU
//! guest with an emulated IOMMU and the `edu` device, and runs a static build of
//! `examples/vfio_edu.rs` in it (container, group, device, BAR0 through `RegIo`, DMA
//! round trip). The script's verdict comes from the guest console.

use std::path::Path;
use std::process::Command;

#[test]
fn vfio_backend_drives_edu_in_a_qemu_guest() {
    check_prerequisites();
    let (ok, stderr) = run_script(true);
    assert!(ok, "vfio-qemu-test.sh failed:\n{stderr}");
    for line in [
        "container, group and device open",
        "identity register 0x",
        "DMA round trip of 256 bytes",
        "VFIO-EDU-CHECK: PASS",
    ] {
        assert!(stderr.contains(line), "console lacks {line:?}:\n{stderr}");
    }
    // The verdict is real: without the edu device the same script fails.
    let (ok, stderr) = run_script(false);
    assert!(
        !ok,
        "vfio-qemu-test.sh passed without an edu device:\n{stderr}"
    );
    assert!(stderr.contains("VFIO-EDU-CHECK: FAIL"), "{stderr}");
}

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/vfio-qemu-test.sh")
}

fn run_script(with_edu: bool) -> (bool, String) {
    let out = Command::new("bash")
        .arg(script())
        .env("VFIO_QEMU_EDU", if with_edu { "1" } else { "0" })
        .output()
        .expect("running scripts/vfio-qemu-test.sh");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check_prerequisites() {
    let script = script();
    assert!(script.exists(), "{} is missing", script.display());
    let qemu_present = Command::new("sh")
        .args(["-c", "command -v qemu-system-x86_64"])
        .stdout(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    assert!(
        qemu_present || is_root,
        "qemu-system-x86_64 is not installed and this test is not root to install it: \
         run scripts/setup.sh (Debian package qemu-system-x86)"
    );
}
