//! Executable scripts for tests (stand-in tools: a `pg_dump` that writes in steps, an `rclone`
//! that fails).
//!
//! A test binary runs its tests on many threads, and several of them start processes. A script
//! written by this process and then run fails now and then with `ETXTBSY` ("Text file busy"): a
//! `fork` in another test's thread, between this `write` and its `close`, keeps a copy of the
//! writable descriptor until that child's `exec`, and Linux refuses to run a file open for
//! writing. A fresh-clone run of `.ci/test` failed that way (`dump_dir_tests`). So the script is
//! written by a child process (`cp`): no descriptor of this process is ever open for writing on
//! the file that runs.

#[cfg(unix)]
use std::path::Path;
#[cfg(unix)]
use std::process::Command;

/// Writes `contents` to `path` as an executable script (mode 0755), never holding a writable
/// descriptor of `path` in this process (see the module). Panics on failure: tests only.
#[cfg(unix)]
pub fn write_executable(path: &Path, contents: &str) {
    use std::os::unix::fs::PermissionsExt;
    let mut staged = path.as_os_str().to_owned();
    staged.push(".staged");
    let staged = std::path::PathBuf::from(staged);
    std::fs::write(&staged, contents)
        .unwrap_or_else(|e| panic!("writing {}: {e}", staged.display()));
    let status = Command::new("cp")
        .arg(&staged)
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("starting cp for {}: {e}", path.display()));
    assert!(
        status.success(),
        "cp {} {} failed: {status}",
        staged.display(),
        path.display()
    );
    std::fs::remove_file(&staged).unwrap_or_else(|e| panic!("removing {}: {e}", staged.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_script_runs_and_says_what_it_was_given() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("tool");
        write_executable(&p, "#!/bin/sh\necho \"ran $1\"\n");
        let out = Command::new(&p).arg("x").output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ran x\n");
        assert!(!d.path().join("tool.staged").exists());
    }

    // Four threads each write and run 50 scripts while the others fork to run theirs: every run
    // must start (counted, not timed).
    #[test]
    fn scripts_written_while_other_threads_fork_always_run() {
        let d = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let dir = d.path().to_path_buf();
                s.spawn(move || {
                    for i in 0..50 {
                        let p = dir.join(format!("t{t}-{i}"));
                        write_executable(&p, "#!/bin/sh\nexit 0\n");
                        let st = Command::new(&p)
                            .status()
                            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                        assert!(st.success());
                    }
                });
            }
        });
    }
}
