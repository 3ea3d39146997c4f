//! The temporary work folder, removed on drop and by a watchdog if the bench dies first.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// A temporary folder that is removed on drop, and by a watchdog process if we die first
/// (SIGKILL, Ctrl-C).
pub struct WorkDir {
    pub path: PathBuf,
    watchdog: Option<(Child, ChildStdin)>,
}

impl WorkDir {
    pub fn new(base: &Path) -> Result<WorkDir, String> {
        let path = tempfile::Builder::new()
            .prefix("offsite-bench-")
            .tempdir_in(base)
            .map_err(|e| format!("creating a temporary folder in {}: {e}", base.display()))?
            .keep();
        let mut cmd = Command::new("/bin/sh");
        cmd.args([
            "-c",
            r#"cat >/dev/null; rm -rf -- "$1""#,
            "offsite-bench-watchdog",
        ])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
        let watchdog = match cmd.spawn() {
            Ok(mut child) => {
                let stdin = child.stdin.take().expect("piped");
                Some((child, stdin))
            }
            Err(e) => {
                eprintln!(
                    "warning: no cleanup watchdog ({e}); {} stays if the bench is killed",
                    path.display()
                );
                None
            }
        };
        Ok(WorkDir { path, watchdog })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        if let Some((mut child, stdin)) = self.watchdog.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}
