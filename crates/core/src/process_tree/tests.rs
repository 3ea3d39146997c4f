//! The tree is killed whole: this test binary runs itself as a program that starts a second
//! copy of itself (its "worker") and waits; killing the tree must end the worker too (with the
//! old code, a kill of the leader alone, the worker ran on).

use super::*;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

const ROLE: &str = "OFFSITE_PROCESS_TREE_TEST_ROLE";

/// Not a test of its own: the program the test starts (role "leader") and the worker it starts
/// (role "worker"). Both wait until their standard input closes.
#[test]
#[ignore = "run by tree_kill_ends_the_workers_too"]
fn tree_helper() {
    match std::env::var(ROLE).as_deref() {
        Ok("leader") => {
            let mut worker = Command::new(std::env::current_exe().unwrap())
                .args(helper_args())
                .env(ROLE, "worker")
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            println!("worker {}", worker.id());
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            let _ = worker.wait();
        }
        Ok("worker") => {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        }
        _ => {}
    }
}

fn helper_args() -> [&'static str; 5] {
    [
        "--exact",
        "process_tree::tests::tree_helper",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]
}

#[test]
fn tree_kill_ends_the_workers_too() {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(helper_args())
        .env(ROLE, "leader")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let (mut child, tree) = spawn(&mut cmd).unwrap();
    assert_eq!(tree.pid(), child.id());
    let _stdin = child.stdin.take();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let worker: u32 = loop {
        let line = lines
            .next()
            .expect("the leader says its worker's id")
            .unwrap();
        // The harness prints "test … ... " before the helper's own output, on the same line.
        if let Some((_, pid)) = line.split_once("worker ") {
            break pid.trim().parse().unwrap();
        }
    };
    assert!(!has_ended(worker, 0), "the worker runs before the kill");
    tree.kill_with(&mut child);
    child.wait().unwrap();
    assert!(has_ended(worker, 10_000), "the worker ended with its tree");
}

/// A process that is not our child: has it ended (within `wait_ms`)?
#[cfg(windows)]
fn has_ended(pid: u32, wait_ms: u32) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, WAIT_OBJECT_0};
    use windows_sys::Win32::System::Threading::{
        OpenProcess, WaitForSingleObject, PROCESS_SYNCHRONIZE,
    };
    // SAFETY: the handle is closed below; waiting on a process handle is its exit event.
    unsafe {
        let h = OpenProcess(PROCESS_SYNCHRONIZE, 0, pid);
        if h.is_null() {
            return true; // no such process any more
        }
        let ended = WaitForSingleObject(h, wait_ms) == WAIT_OBJECT_0;
        CloseHandle(h);
        ended
    }
}

/// A process that is not our child: has it ended (within `wait_ms`)? Its parent died with the
/// tree, so it is reaped by whoever adopted it; a zombie counts as ended. Unix offers no exit
/// event for a process that is not one's child: this looks every 20 ms until the deadline.
#[cfg(unix)]
fn has_ended(pid: u32, wait_ms: u32) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(wait_ms.into());
    loop {
        if !runs(pid) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(unix)]
fn runs(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name's closing parenthesis.
        return !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
    }
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}
