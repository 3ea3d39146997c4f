//! The restore's private temporary folders (format 2 extracts the dump into one), named after
//! the process that made them, and the sweep of those a killed process left behind.
//!
//! A folder (or the list file of a one-transaction restore) is
//! `.offsite-restore-<pid>-<start>-<random>`: `<start>` is the process's start time
//! (Linux: clock ticks since boot, `/proc/<pid>/stat`; elsewhere 0). The sweep removes only
//! folders of that shape, owned by this user, whose process is gone (no such pid, or a pid
//! reused by a process started at another time). A live process's folders are never touched,
//! so a restore of another Offsite process running at the same time keeps its folder.

use std::path::{Path, PathBuf};

/// What every restore temporary folder's name starts with.
pub(crate) const PREFIX: &str = ".offsite-restore-";

/// The name prefix of this process's folders: `.offsite-restore-<pid>-<start>-`.
pub(crate) fn own_prefix() -> String {
    let pid = std::process::id();
    format!("{PREFIX}{pid}-{}-", start_time(pid).unwrap_or(0))
}

/// The pid and start time a folder's name records (`None`: not a folder of this shape).
fn owner_of(name: &str) -> Option<(u32, u64)> {
    let rest = name.strip_prefix(PREFIX)?;
    let mut parts = rest.splitn(3, '-');
    let pid = parts.next()?.parse::<u32>().ok()?;
    let start = parts.next()?.parse::<u64>().ok()?;
    parts.next()?;
    Some((pid, start))
}

/// A process's start time (Linux: field 22 of `/proc/<pid>/stat`); `None` when it is gone.
#[cfg(target_os = "linux")]
fn start_time(pid: u32) -> Option<u64> {
    use std::io::Read;
    let mut buf = String::new();
    std::fs::File::open(format!("/proc/{pid}/stat"))
        .ok()?
        .take(4096)
        .read_to_string(&mut buf)
        .ok()?;
    // The command name (field 2) is in parentheses and may hold anything: count after it.
    let after = &buf[buf.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Elsewhere on Unix: 0 while the process exists (a reused pid is not told apart).
#[cfg(all(unix, not(target_os = "linux")))]
fn start_time(pid: u32) -> Option<u64> {
    let alive = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    alive.then_some(0)
}

#[cfg(not(unix))]
fn start_time(_pid: u32) -> Option<u64> {
    // Not told apart: every folder counts as its process's, and none is swept.
    Some(0)
}

/// Whether the process that made a folder named so is gone.
fn owner_gone(name: &str) -> bool {
    match owner_of(name) {
        Some((pid, start)) => start_time(pid) != Some(start),
        None => false,
    }
}

/// Remove the restore folders in `dir` whose process is gone; returns what was removed.
pub(crate) fn sweep(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(PREFIX) || !owner_gone(&name) {
            continue;
        }
        let path = e.path();
        // Only real folders and files of this user (never a link, never someone else's).
        let Ok(md) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !(md.is_dir() || md.is_file()) || !own(&md) {
            continue;
        }
        let gone = if md.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match gone {
            Ok(()) => {
                tracing::info!(
                    "removed a killed restore's temporary folder {}",
                    path.display()
                );
                removed.push(path);
            }
            Err(e) => tracing::warn!("removing {}: {e}", path.display()),
        }
    }
    removed
}

#[cfg(unix)]
fn own(md: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    md.uid() == unsafe { libc::geteuid() }
}

#[cfg(not(unix))]
fn own(_md: &std::fs::Metadata) -> bool {
    true
}

/// The folders a killed run left in the system's temporary folder, removed (at the start of a
/// backup or a restore, and at start-up).
pub(crate) fn sweep_system_temp() -> Vec<PathBuf> {
    sweep(&std::env::temp_dir())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn only_folders_of_gone_processes_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let my_start = start_time(me).expect("this process has a start time");
        // A process that has exited: its pid is gone.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mk = |name: &str| std::fs::create_dir(dir.path().join(name)).unwrap();
        mk(&format!("{}live", own_prefix()));
        mk(&format!("{PREFIX}{dead}-5-gone"));
        // This pid, started at another time: reused, so the folder's process is gone.
        mk(&format!("{PREFIX}{me}-{}-reused", my_start + 1));
        // Not of the shape (an older Offsite's, or someone else's): kept.
        mk(&format!("{PREFIX}abcdef"));
        mk("other");
        // A file (the restore's list of entries) of a gone process goes too; a link never.
        std::fs::write(dir.path().join(format!("{PREFIX}{dead}-5-list-x")), b"x").unwrap();
        std::os::unix::fs::symlink("/", dir.path().join(format!("{PREFIX}{dead}-5-link"))).unwrap();
        let removed = sweep(dir.path());
        assert_eq!(removed.len(), 3, "{removed:?}");
        let mut want = vec![
            format!("{}live", own_prefix()),
            format!("{PREFIX}{dead}-5-link"),
            format!("{PREFIX}abcdef"),
            "other".to_string(),
        ];
        want.sort();
        assert_eq!(names(dir.path()), want);
        assert!(sweep(dir.path()).is_empty());
        assert!(sweep(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn a_folders_name_records_its_process() {
        let p = own_prefix();
        let (pid, start) = owner_of(&format!("{p}xyz")).unwrap();
        assert_eq!(pid, std::process::id());
        assert_eq!(Some(start), start_time(pid));
        assert!(!owner_gone(&format!("{p}xyz")));
        assert_eq!(owner_of(".offsite-restore-12-34"), None);
        assert_eq!(owner_of(".offsite-restore-x-34-y"), None);
        assert_eq!(owner_of(".offsite-tmp-12-34-y"), None);
    }
}
