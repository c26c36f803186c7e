//! The daemon's panic hook ends the whole process: this test runs itself again
//! as a child that installs the hook and panics in a named thread, and checks
//! that the child was aborted (SIGABRT) after logging the thread, place and
//! message.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const CHILD: &str = "IPSECD_PANIC_HOOK_CHILD";

#[test]
fn a_panic_in_any_thread_aborts_the_process() {
    if std::env::var_os(CHILD).is_some() {
        host_ipsec::panic::abort_on_panic();
        let t = std::thread::Builder::new()
            .name("ipsecd-worker-7".into())
            .spawn(|| panic!("injected failure"))
            .unwrap();
        let _ = t.join();
        // Not reached when the hook works: the process is gone by now.
        std::process::exit(0);
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_panic_in_any_thread_aborts_the_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(6),
        "not aborted: {:?}\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains("thread 'ipsecd-worker-7' panicked at host-ipsec/tests/panic_abort.rs:")
            && stderr.contains("injected failure; aborting"),
        "{stderr}"
    );
}
