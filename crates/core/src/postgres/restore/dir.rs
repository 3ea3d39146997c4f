//! Format-2 archives (issue 28): the database as pg_dump's directory format under `database/`.
//!
//! pg_restore reads a directory dump only from a folder, so the members are extracted into a
//! private temporary folder (mode 0700, removed when the restore ends, on every path): only
//! `toc.dat` to read the table of contents, the database's members (each checked against the
//! manifest's SHA-256; not the storage objects and configuration behind them) to restore. An
//! empty target is restored by `pg_restore -j N` (data and index builds in parallel,
//! dependencies respected); anything else stays one transaction (`--single-transaction` cannot
//! be combined with `-j`).

use crate::archive::{self, Manifest, DATABASE_TOC_MEMBER};
use crate::error::{Error, Result};
use crate::private_fs;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// The archive holds a directory dump (`database/toc.dat`).
pub(crate) fn is_directory(manifest: &Manifest) -> bool {
    manifest.member(DATABASE_TOC_MEMBER).is_some()
}

/// The bytes of the `database/` members: the temporary disk a directory restore needs.
pub(crate) fn dump_bytes(manifest: &Manifest) -> u64 {
    manifest
        .members
        .iter()
        .filter(|m| m.name.starts_with(archive::DATABASE_DIR_PREFIX))
        .map(|m| m.size)
        .sum()
}

/// A private temporary folder holding the directory dump (removed when dropped).
pub(crate) struct DumpDir {
    tmp: tempfile::TempDir,
    dump: PathBuf,
}

impl DumpDir {
    /// The folder to give pg_restore.
    pub(crate) fn path(&self) -> &Path {
        &self.dump
    }

    /// The temporary folder itself (tests check it is gone).
    #[allow(dead_code)]
    pub(crate) fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// Only `toc.dat` (checked against the manifest): enough for `pg_restore --list`,
    /// `--schema-only` and `--section=pre-data`, which read no data file. It is the last of the
    /// database's members, reached by random access rather than by inflating every data file in
    /// front of it (3b). [`DumpDir::extract_data`] adds the rest.
    pub(crate) fn toc_only(archive_path: &Path) -> Result<DumpDir> {
        Self::toc_only_in(
            &std::env::temp_dir(),
            archive_path,
            &CancellationToken::new(),
        )
    }

    /// [`DumpDir::toc_only`] into a temporary folder inside `parent` (removed on failure).
    pub(crate) fn toc_only_in(
        parent: &Path,
        archive_path: &Path,
        cancel: &CancellationToken,
    ) -> Result<DumpDir> {
        let manifest = archive::read_manifest(archive_path)?;
        let entry = manifest.member(DATABASE_TOC_MEMBER).ok_or_else(|| {
            Error::integrity(format!(
                "{}: the archive holds no {DATABASE_TOC_MEMBER}",
                archive_path.display()
            ))
        })?;
        let tmp = new_tmp_in(parent)?;
        let dump = tmp.path().join("database");
        private_fs::create_dir(&dump)
            .map_err(|e| Error::io(format!("creating {}", dump.display()), e))?;
        let toc = dump.join("toc.dat");
        let mut f = private_fs::create_new(&toc)
            .map_err(|e| Error::io(format!("creating {}", toc.display()), e))?;
        super::member::copy_checked(archive_path, entry, u64::MAX, &mut f, cancel)?;
        Ok(DumpDir { tmp, dump })
    }

    /// The database's other members (its data files, `blobs.toc`), beside the `toc.dat` of
    /// [`DumpDir::toc_only`], each checked against the manifest, on `threads` threads (see
    /// [`super::extract_par`]; one thread reads the archive once, in order). On failure the
    /// caller drops the folder (with whatever was written).
    pub(crate) fn extract_data(
        &self,
        archive_path: &Path,
        threads: usize,
        cancel: &CancellationToken,
    ) -> Result<()> {
        if threads > 1 {
            let manifest = archive::read_manifest(archive_path)?;
            super::extract_par::extract_data(archive_path, &manifest, &self.dump, threads, cancel)?;
            return Ok(());
        }
        let data = |name: &str| {
            name.starts_with(archive::DATABASE_DIR_PREFIX) && name != DATABASE_TOC_MEMBER
        };
        archive::extract_matching(archive_path, self.tmp.path(), &data, cancel)?;
        Ok(())
    }

    /// The database's members (`database/…`, not the storage objects and configuration behind
    /// them), each checked against the manifest (a damaged archive fails here, before pg_restore
    /// changes anything).
    pub(crate) fn extract(
        archive_path: &Path,
        threads: usize,
        cancel: &CancellationToken,
    ) -> Result<DumpDir> {
        if threads > 1 {
            let d = Self::toc_only_in(&std::env::temp_dir(), archive_path, cancel)?;
            d.extract_data(archive_path, threads, cancel)?;
            return Ok(d);
        }
        Self::extract_in(&std::env::temp_dir(), archive_path, cancel)
    }

    /// [`DumpDir::extract`] into a temporary folder inside `parent` (removed on failure).
    pub(crate) fn extract_in(
        parent: &Path,
        archive_path: &Path,
        cancel: &CancellationToken,
    ) -> Result<DumpDir> {
        let tmp = new_tmp_in(parent)?;
        let database = |name: &str| name.starts_with(archive::DATABASE_DIR_PREFIX);
        archive::extract_matching(archive_path, tmp.path(), &database, cancel)?;
        let dump = tmp.path().join("database");
        if !dump.join("toc.dat").is_file() {
            return Err(Error::integrity(format!(
                "{}: the archive holds no {DATABASE_TOC_MEMBER}",
                archive_path.display()
            )));
        }
        Ok(DumpDir { tmp, dump })
    }
}

/// A 0700 folder named after this process (see [`super::tmp`]); the folders of killed
/// processes in `parent` are swept first.
fn new_tmp_in(parent: &Path) -> Result<tempfile::TempDir> {
    super::tmp::sweep(parent);
    private_fs::tempdir_in(parent, &super::tmp::own_prefix())
        .map_err(|e| Error::io("creating a temporary folder for the restore", e))
}

/// Threads that extract a directory dump: pg_restore's workers, at most the machine's cores.
pub(crate) fn extract_threads(jobs: u32) -> usize {
    jobs.min(crate::postgres::dump_workers::cores()).max(1) as usize
}

/// pg_restore's workers for a parallel restore: those asked for, else the machine's cores.
pub(crate) fn jobs(requested: Option<u32>) -> u32 {
    requested
        .unwrap_or_else(crate::postgres::dump_workers::cores)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ArchiveWriter;
    use crate::test_fixtures::{manifest, quiet, sample, ARCHIVE};

    fn left_in(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// A format-2-shaped archive: `database/toc.dat` and a data member.
    fn directory_archive(dir: &Path) -> PathBuf {
        let mut w = ArchiveWriter::create(dir, ARCHIVE, 1).unwrap();
        w.add_bytes("database/3001.dat", b"1\tone\n\\.\n\n".to_vec());
        w.add_bytes(DATABASE_TOC_MEMBER, b"PGDMP not really a toc".to_vec());
        w.add_bytes(
            "storage/b/object.txt",
            b"not needed by the database".to_vec(),
        );
        w.finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap()
            .path
    }

    #[test]
    fn a_directory_dump_is_extracted_privately_and_removed_when_dropped() {
        let (src, parent) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let archive = directory_archive(src.path());
        let d = DumpDir::extract_in(parent.path(), &archive, &CancellationToken::new()).unwrap();
        assert!(d.path().join("toc.dat").is_file());
        assert!(d.path().join("3001.dat").is_file());
        // Only the database: not the storage objects behind it.
        assert_eq!(left_in(d.root()), vec!["database".to_string()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.root()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert_eq!(left_in(parent.path()).len(), 1);
        drop(d);
        assert!(left_in(parent.path()).is_empty());
    }

    #[test]
    fn the_toc_first_then_the_data_beside_it() {
        let (src, parent) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let archive = directory_archive(src.path());
        let cancel = CancellationToken::new();
        let d = DumpDir::toc_only_in(parent.path(), &archive, &cancel).unwrap();
        assert_eq!(left_in(d.path()), vec!["toc.dat".to_string()]);
        d.extract_data(&archive, 1, &cancel).unwrap();
        let mut got = left_in(d.path());
        got.sort();
        assert_eq!(got, vec!["3001.dat".to_string(), "toc.dat".to_string()]);
        assert_eq!(
            std::fs::read(d.path().join("3001.dat")).unwrap(),
            b"1\tone\n\\.\n\n"
        );
        assert_eq!(left_in(d.root()), vec!["database".to_string()]);
        drop(d);
        assert!(left_in(parent.path()).is_empty());
    }

    #[test]
    fn a_failed_or_cancelled_extraction_leaves_no_temporary_folder() {
        let (src, parent) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        // Damaged: a byte flipped in the middle of the archive.
        let archive = directory_archive(src.path());
        let mut bytes = std::fs::read(&archive).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        let damaged = src.path().join("damaged.tar.gz");
        std::fs::write(&damaged, bytes).unwrap();
        assert!(DumpDir::extract_in(parent.path(), &damaged, &CancellationToken::new()).is_err());
        assert!(left_in(parent.path()).is_empty());
        // Cancelled.
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert!(DumpDir::extract_in(parent.path(), &archive, &cancel).is_err());
        assert!(left_in(parent.path()).is_empty());
        // A format 1 archive holds no directory dump.
        let v1 = sample(10_000, 1);
        let e = DumpDir::extract_in(parent.path(), v1.path(), &CancellationToken::new())
            .err()
            .expect("no toc.dat");
        assert!(e.message().contains(DATABASE_TOC_MEMBER), "{e}");
        assert!(left_in(parent.path()).is_empty());
    }
}
