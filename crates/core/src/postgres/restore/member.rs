//! One small member of an archive (`globals.sql`, a directory dump's `toc.dat`), reached by
//! random access instead of inflating everything in front of it (issue 28, 3b: both sit behind
//! the whole database in the archive, so a sequential read inflated the database once more for
//! each of them before pg_restore could start). Its bytes are still checked against the
//! manifest's size and SHA-256 before they are used.

use crate::archive::random_access::{ArchiveSeeker, MemberSpan};
use crate::archive::MemberEntry;
use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// Copy member `entry` of the archive at `path` into `out`, at most `max` bytes, and check it
/// against the manifest: the archive's member of that name must have the recorded size and
/// SHA-256 (`integrity` otherwise, with nothing of it to be trusted).
pub(crate) fn copy_checked(
    path: &Path,
    entry: &MemberEntry,
    max: u64,
    out: &mut dyn Write,
    cancel: &CancellationToken,
) -> Result<u64> {
    let name = &entry.name;
    if entry.size > max {
        return Err(Error::integrity(format!(
            "{}: member {name} is {} bytes according to the manifest; Offsite reads at most \
             {max} bytes of it",
            path.display(),
            entry.size
        ))
        .with_hint(
            "the archive is damaged or was not made by Offsite; use another copy of this backup",
        ));
    }
    let mut seeker = ArchiveSeeker::open(path)?;
    let span = seeker.find(name, cancel)?.ok_or_else(|| {
        Error::integrity(format!(
            "{}: member {name} is listed in the manifest but missing from the archive",
            path.display()
        ))
        .with_hint("the archive is damaged; use another copy of this backup")
    })?;
    copy_span_checked(&mut seeker, span, entry, out, cancel)
}

/// Copy the member at `span` (found by [`ArchiveSeeker::walk`]) into `out` and check it against
/// its manifest `entry`: the size the archive gives, the bytes read and their SHA-256
/// (`integrity` otherwise; what was written is not to be trusted).
pub(crate) fn copy_span_checked(
    seeker: &mut ArchiveSeeker,
    span: MemberSpan,
    entry: &MemberEntry,
    out: &mut dyn Write,
    cancel: &CancellationToken,
) -> Result<u64> {
    let (name, path) = (&entry.name, seeker.path().to_path_buf());
    if span.size != entry.size {
        return Err(Error::integrity(format!(
            "{}: member {name} is {} bytes, the manifest says {}",
            path.display(),
            span.size,
            entry.size
        ))
        .with_hint("the archive is damaged; use another copy of this backup"));
    }
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 256 * 1024];
    let mut copied = 0u64;
    let read_error = |e: std::io::Error| match e.kind() {
        // InvalidInput: a decoder refusing its input ("corrupt deflate stream").
        std::io::ErrorKind::InvalidData
        | std::io::ErrorKind::InvalidInput
        | std::io::ErrorKind::UnexpectedEof => {
            Error::integrity(format!("{}: reading {name}: {e}", path.display()))
                .with_hint("the archive is damaged or cut off; use another copy")
        }
        _ => Error::io(format!("reading {}", path.display()), e),
    };
    {
        let mut reader = seeker.member_reader(span);
        loop {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(e)),
            };
            ctx.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| Error::io(format!("copying {name}"), e))?;
            copied += n as u64;
        }
    }
    let got = hex::encode(ctx.finish().as_ref());
    if copied != entry.size || got != entry.sha256 {
        return Err(Error::integrity(format!(
            "{}: member {name} does not match its checksum in the manifest",
            path.display()
        ))
        .with_hint("the archive is damaged; use another copy of this backup"));
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ArchiveWriter;
    use crate::error::ErrorKind;
    use crate::test_fixtures::{manifest, quiet, ARCHIVE};

    fn archive(dir: &Path) -> std::path::PathBuf {
        let mut w = ArchiveWriter::create(dir, ARCHIVE, 1).unwrap();
        let big: Vec<u8> = (0..3_000_000u32).flat_map(|i| i.to_le_bytes()).collect();
        w.add_bytes("database/3001.dat", big);
        w.add_bytes("database/toc.dat", b"PGDMP the toc".to_vec());
        w.add_bytes("globals.sql", b"CREATE ROLE anon;\n".to_vec());
        w.finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap()
            .path
    }

    fn entry(path: &Path, name: &str) -> MemberEntry {
        crate::archive::read_manifest(path)
            .unwrap()
            .member(name)
            .unwrap()
            .clone()
    }

    #[test]
    fn a_member_behind_the_database_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = archive(dir.path());
        let cancel = CancellationToken::new();
        for (name, want) in [
            ("globals.sql", &b"CREATE ROLE anon;\n"[..]),
            ("database/toc.dat", &b"PGDMP the toc"[..]),
        ] {
            let mut out = Vec::new();
            copy_checked(&path, &entry(&path, name), 1 << 20, &mut out, &cancel).unwrap();
            assert_eq!(out, want, "{name}");
        }
        // Over the cap: refused before reading.
        let mut out = Vec::new();
        let e =
            copy_checked(&path, &entry(&path, "globals.sql"), 4, &mut out, &cancel).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert!(out.is_empty());
    }

    #[test]
    fn a_member_that_differs_from_the_manifest_is_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = archive(dir.path());
        let cancel = CancellationToken::new();
        let mut wrong = entry(&path, "globals.sql");
        wrong.sha256 = "0".repeat(64);
        let e = copy_checked(&path, &wrong, 1 << 20, &mut Vec::new(), &cancel).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        let mut wrong = entry(&path, "globals.sql");
        wrong.size += 1;
        let e = copy_checked(&path, &wrong, 1 << 20, &mut Vec::new(), &cancel).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        let mut missing = entry(&path, "globals.sql");
        missing.name = "database/9999.dat".into();
        let e = copy_checked(&path, &missing, 1 << 20, &mut Vec::new(), &cancel).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    }
}
