//! Extracting only some of an archive's members: a format-2 restore needs the `database/`
//! members, not the storage objects and configuration files behind them (issue 28, 3b).

use super::extract::{extract_members, Members};
use super::open_input;
use crate::error::Result;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Extracts the members whose names `wanted` accepts into `dest`, an existing folder that holds
/// none of them yet (each is created new, with its folders, 0600/0700). Each is checked against
/// the manifest: its size, its SHA-256, listed once ([`ErrorKind::Integrity`] otherwise); every
/// member met on the way must be listed with the size its tar header gives, and unsafe names are
/// [`ErrorKind::UnsafePath`]. Reading stops once every wanted member the manifest lists has been
/// extracted: the members behind them are not inflated (an encrypted archive is still read to its
/// end, so age authenticates its last chunk). On failure what was written stays in `dest`: the
/// caller removes the folder (a restore's private temporary folder). Returns the files written.
/// The same walk as [`super::extract_all`] ([`extract_members`]), with a filter.
///
/// [`ErrorKind::Integrity`]: crate::error::ErrorKind::Integrity
/// [`ErrorKind::UnsafePath`]: crate::error::ErrorKind::UnsafePath
pub(crate) fn extract_matching(
    path: &Path,
    dest: &Path,
    wanted: &dyn Fn(&str) -> bool,
    cancel: &CancellationToken,
) -> Result<Vec<PathBuf>> {
    let (file, encrypted) = open_input(path)?;
    extract_members(
        file,
        encrypted,
        path,
        dest,
        Members::Matching(wanted),
        cancel,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ArchiveWriter;
    use crate::error::ErrorKind;
    use crate::test_fixtures::{manifest, quiet, ARCHIVE};

    fn archive(dir: &Path) -> PathBuf {
        let mut w = ArchiveWriter::create(dir, ARCHIVE, 1).unwrap();
        let big: Vec<u8> = (0..400_000u32).flat_map(|i| i.to_le_bytes()).collect();
        w.add_bytes("database/3001.dat", big);
        w.add_bytes("database/toc.dat", b"PGDMP the toc".to_vec());
        w.add_bytes("globals.sql", b"CREATE ROLE anon;\n".to_vec());
        w.add_bytes("storage/b/one.txt", b"an object".to_vec());
        w.finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap()
            .path
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in walk(dir) {
            out.push(
                e.strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
        out.sort();
        out
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }

    #[test]
    fn only_the_wanted_members_are_extracted_and_checked() {
        let (src, dest) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let path = archive(src.path());
        let db = |n: &str| n.starts_with("database/") && n != "database/toc.dat";
        let written = extract_matching(&path, dest.path(), &db, &CancellationToken::new()).unwrap();
        assert_eq!(written, vec![dest.path().join("database").join("3001.dat")]);
        assert_eq!(files(dest.path()), vec!["database/3001.dat"]);
        let got = std::fs::read(dest.path().join("database/3001.dat")).unwrap();
        assert_eq!(got.len(), 1_600_000);
        assert_eq!(&got[4..8], &1u32.to_le_bytes());
        // A member that is already there is not overwritten.
        let e = extract_matching(&path, dest.path(), &db, &CancellationToken::new()).unwrap_err();
        assert!(e.message().contains("3001.dat"), "{e}");
        assert_eq!(
            std::fs::read(dest.path().join("database/3001.dat")).unwrap(),
            got
        );
        // Cancelled: an error, whatever was written is the caller's to remove.
        let cancel = CancellationToken::new();
        cancel.cancel();
        let other = tempfile::tempdir().unwrap();
        assert!(extract_matching(&path, other.path(), &db, &cancel).is_err());
    }

    #[test]
    fn a_damaged_wanted_member_is_an_integrity_error() {
        let src = tempfile::tempdir().unwrap();
        let path = archive(src.path());
        // A byte flipped in the middle: inside the data member.
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        let damaged = src.path().join("damaged.tar.gz");
        std::fs::write(&damaged, bytes).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let all_db = |n: &str| n.starts_with("database/");
        let e = extract_matching(&damaged, dest.path(), &all_db, &CancellationToken::new())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        // Nothing wanted: nothing written.
        let dest = tempfile::tempdir().unwrap();
        let none = |n: &str| n == "database/nothing.dat";
        assert!(extract_matching(&path, dest.path(), &none, &CancellationToken::new()).is_ok());
        assert!(files(dest.path()).is_empty());
    }

    #[test]
    fn reading_stops_after_the_last_wanted_member_but_extract_all_reads_to_the_end() {
        let src = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::create(src.path(), ARCHIVE, 1).unwrap();
        w.add_bytes("database/toc.dat", b"PGDMP the toc".to_vec());
        // Several compressed members (1 MiB of tar each) behind the toc.
        let big: Vec<u8> = (0..800_000u32).flat_map(|i| i.to_le_bytes()).collect();
        w.add_bytes("storage/b/big.bin", big);
        let path = w
            .finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap()
            .path;
        // The archive's last bytes cut off: the end of big.bin and the end-of-archive marker.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let toc = |n: &str| n == "database/toc.dat";
        let written =
            extract_matching(&path, dest.path(), &toc, &CancellationToken::new()).unwrap();
        assert_eq!(written, vec![dest.path().join("database").join("toc.dat")]);
        assert_eq!(files(dest.path()), vec!["database/toc.dat"]);
        // Extracting everything reads on and finds the cut, leaving nothing behind.
        let all = dest.path().join("all");
        let e = crate::archive::extract_all(&path, &all, &CancellationToken::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        assert!(!all.exists());
    }
}
