//! WAL handed to a recovering server as it is checked (docs/pitr.md "Physical capture"): a
//! physical restore whose recovery stops by its time target starts the server once the base
//! is unpacked, in standby mode with no `restore_command` (it reads `pg_wal` alone and waits
//! for the next file there), while the window's WAL files are unsealed and checked in order
//! beside it. Each file reaches `pg_wal` only once wholly checked, under its final name in one
//! step (a hard link, or a copy renamed into place): the server never reads a file that is
//! not yet checked, nor one half there. A damaged file ends the restore (the throwaway cluster
//! is removed, nothing is registered or moved).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where checked WAL files go, once the server's data folder is known.
#[derive(Default)]
pub(crate) struct Handover {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Checked before the server's folder was known.
    waiting: Vec<PathBuf>,
    into: Option<Into>,
    /// The server recovered (or the restore ended): nothing more is handed over.
    closed: bool,
    handed: usize,
}

struct Into {
    pg_wal: PathBuf,
    /// Always `None` off Unix (only there does the server run as another OS user).
    #[cfg_attr(not(unix), allow(dead_code))]
    owner: Option<(u32, u32)>,
}

impl Handover {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `file` (a staged WAL file, named as PostgreSQL names it) is checked: handed over now if
    /// the server's folder is known, else when it is ([`open`](Self::open)).
    pub(crate) fn checked(&self, file: &Path) -> Result<()> {
        let mut s = self.state();
        if s.closed {
            return Ok(());
        }
        match &s.into {
            Some(into) => {
                hand(file, into)?;
                s.handed += 1;
            }
            None => s.waiting.push(file.to_path_buf()),
        }
        Ok(())
    }

    /// The server's `pg_wal` (its files to be owned by `owner` when it runs as another user):
    /// every file checked so far handed over, the rest as each is checked.
    pub(crate) fn open(&self, pg_wal: &Path, owner: Option<(u32, u32)>) -> Result<()> {
        let mut s = self.state();
        let into = Into {
            pg_wal: pg_wal.to_path_buf(),
            owner,
        };
        for f in std::mem::take(&mut s.waiting) {
            hand(&f, &into)?;
            s.handed += 1;
        }
        s.into = Some(into);
        Ok(())
    }

    /// Nothing more handed over (the server has recovered, or the restore ended). Returns how
    /// many files were.
    pub(crate) fn close(&self) -> usize {
        let mut s = self.state();
        s.closed = true;
        s.into = None;
        s.handed
    }
}

/// `file` put into `into.pg_wal` under its own name, in one step.
fn hand(file: &Path, into: &Into) -> Result<()> {
    let name = file
        .file_name()
        .ok_or_else(|| Error::internal("a staged WAL file without a name"))?;
    #[cfg(unix)]
    if let Some((uid, gid)) = into.owner {
        // The link shares the file: the server's user must be able to read it.
        std::os::unix::fs::chown(file, Some(uid), Some(gid))
            .map_err(|e| Error::io(format!("giving {} to the server's user", file.display()), e))?;
    }
    let dest = into.pg_wal.join(name);
    // Linked (or, on another file system, copied) beside it first, then renamed into place:
    // a file already there (the base's own copy of its last WAL file) is replaced in one step.
    let mut tmp = name.to_os_string();
    tmp.push(".offsite-tmp");
    let tmp = into.pg_wal.join(tmp);
    let _ = std::fs::remove_file(&tmp);
    let placed = std::fs::hard_link(file, &tmp)
        .or_else(|_| {
            std::fs::copy(file, &tmp)?;
            #[cfg(unix)]
            if let Some((uid, gid)) = into.owner {
                std::os::unix::fs::chown(&tmp, Some(uid), Some(gid))?;
            }
            Ok(())
        })
        .and_then(|()| std::fs::rename(&tmp, &dest));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(format!("putting WAL into {}", dest.display()), e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn files_checked_before_the_folder_is_known_are_handed_over_when_it_is() {
        let d = tempfile::tempdir().unwrap();
        let (stage, pg_wal) = (d.path().join("stage"), d.path().join("pg_wal"));
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::create_dir_all(&pg_wal).unwrap();
        let h = Handover::default();
        h.checked(&staged(&stage, "000000010000000000000003", b"three"))
            .unwrap();
        assert_eq!(std::fs::read_dir(&pg_wal).unwrap().count(), 0);
        h.open(&pg_wal, None).unwrap();
        assert_eq!(
            std::fs::read(pg_wal.join("000000010000000000000003")).unwrap(),
            b"three"
        );
        h.checked(&staged(&stage, "000000010000000000000004", b"four"))
            .unwrap();
        assert_eq!(
            std::fs::read(pg_wal.join("000000010000000000000004")).unwrap(),
            b"four"
        );
        assert_eq!(h.close(), 2);
        // Closed: a file checked later is not handed over (the server has recovered and its
        // folder may have moved).
        h.checked(&staged(&stage, "000000010000000000000005", b"five"))
            .unwrap();
        assert!(!pg_wal.join("000000010000000000000005").exists());
        assert_eq!(std::fs::read_dir(&pg_wal).unwrap().count(), 2);
    }

    #[test]
    fn a_file_already_in_pg_wal_is_replaced_whole() {
        let d = tempfile::tempdir().unwrap();
        let (stage, pg_wal) = (d.path().join("stage"), d.path().join("pg_wal"));
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::create_dir_all(&pg_wal).unwrap();
        std::fs::write(pg_wal.join("000000010000000000000002"), b"the base's").unwrap();
        let h = Handover::default();
        h.open(&pg_wal, None).unwrap();
        h.checked(&staged(&stage, "000000010000000000000002", b"the window's"))
            .unwrap();
        assert_eq!(
            std::fs::read(pg_wal.join("000000010000000000000002")).unwrap(),
            b"the window's"
        );
        let names: Vec<_> = std::fs::read_dir(&pg_wal)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["000000010000000000000002"]);
    }
}
