//! Temporary files (`.offsite-tmp-*`) and the per-folder lock that keeps the sweep of a killed
//! run's leftovers away from a running job's files.
//!
//! Everything Offsite writes goes first to a temporary file beside its final name (archives, their
//! spools, imports, copies), renamed only once complete; a process that is killed leaves those
//! behind. Whoever writes temporary files into a folder holds a *shared* lock on
//! `<folder>/.offsite-folder.lock` while it does ([`in_use`]); [`sweep`] takes the lock
//! *exclusively* without waiting, so it removes leftovers only when no writer — in this process
//! or another — is at work in that folder, and otherwise leaves the folder for the next sweep.

use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// What temporary names start with.
pub const TEMP_PREFIX: &str = ".offsite-tmp-";
/// The lock file of a folder.
pub const LOCK_NAME: &str = ".offsite-folder.lock";

/// A writer at work in a folder; the folder's lock is held (shared) until dropped.
#[derive(Debug)]
pub struct FolderInUse(#[allow(dead_code)] File);

fn open_lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_NAME);
    crate::private_fs::open_options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

/// Mark `dir` as in use by a writer of temporary files (waits while a sweep holds it: a sweep
/// is a few directory reads and unlinks).
pub fn in_use(dir: &Path) -> Result<FolderInUse> {
    let file = open_lock(dir)?;
    file.lock_shared()
        .map_err(|e| Error::io(format!("locking {}", dir.join(LOCK_NAME).display()), e))?;
    Ok(FolderInUse(file))
}

/// [`in_use`] for a folder opened without following links ([`crate::nofollow::Folder`]): the
/// lock file is opened from its descriptor, never through a link.
pub fn in_use_in(dir: &crate::nofollow::Folder) -> Result<FolderInUse> {
    let path = dir.join(LOCK_NAME);
    let file = match dir.open_lock(LOCK_NAME) {
        Ok(f) => f,
        Err(e) if crate::nofollow::is_link_error(&e) => return Err(dir.refuse_link(LOCK_NAME)),
        Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
    };
    file.lock_shared()
        .map_err(|e| Error::io(format!("locking {}", path.display()), e))?;
    Ok(FolderInUse(file))
}

/// Remove the temporary files and folders a killed run left in `dir`, if no writer is at work
/// there; returns what was removed. A missing folder has nothing to sweep.
pub fn sweep(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let has_temp = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX));
    if !has_temp {
        return Ok(Vec::new());
    }
    let file = open_lock(dir)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(Vec::new()),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Error::io(
                format!("locking {}", dir.join(LOCK_NAME).display()),
                e,
            ))
        }
    }
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .flatten()
    {
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let path = entry.path();
        let gone = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        match gone {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("removing {}", path.display()), e)),
        }
    }
    drop(file);
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != LOCK_NAME)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_sweep_removes_leftovers_only_when_no_writer_is_at_work() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".offsite-tmp-abc"), b"half").unwrap();
        std::fs::create_dir(dir.path().join(".offsite-tmp-dir")).unwrap();
        std::fs::write(dir.path().join(".offsite-tmp-dir/x"), b"x").unwrap();
        std::fs::write(
            dir.path().join("shop_20261122_101500_database.tar.gz"),
            b"kept",
        )
        .unwrap();
        std::fs::write(dir.path().join(".hidden"), b"kept").unwrap();

        // A writer at work: nothing is touched.
        let writer = in_use(dir.path()).unwrap();
        let second_writer = in_use(dir.path()).unwrap();
        assert!(sweep(dir.path()).unwrap().is_empty());
        assert_eq!(names(dir.path()).len(), 4);
        drop(writer);
        assert!(
            sweep(dir.path()).unwrap().is_empty(),
            "one writer is still at work"
        );
        drop(second_writer);

        let removed = sweep(dir.path()).unwrap();
        assert_eq!(removed.len(), 2);
        assert_eq!(
            names(dir.path()),
            vec![".hidden", "shop_20261122_101500_database.tar.gz"]
        );
        assert!(sweep(dir.path()).unwrap().is_empty());
        assert!(sweep(&dir.path().join("missing")).unwrap().is_empty());
    }
}
