//! Tar fragments: many complete tar entries (header, data, padding) written one after another
//! into one compressed spool, for members that come and go in large numbers (a bucket's
//! objects).
//!
//! `metadata.json` comes first in an archive and lists every member's SHA-256, so members that
//! are produced while the archive is being built must wait somewhere. One spool per object would
//! cost a file per object; a fragment is one spool for all of them. Its compressed bytes (gzip
//! members from `pargz`, compressed on all cores) are copied verbatim into the archive at
//! [`ArchiveWriter::finish`](super::ArchiveWriter::finish), and the entries it holds are added
//! to the manifest in the order they were written. Since a fragment holds whole tar entries, the
//! archive stays a plain tar stream that GNU tar reads.

use super::pargz::ParGz;
use super::tarfmt::{file_header, padding, ZEROS};
use super::writer::check_name;
use super::MemberEntry;
use crate::error::{Error, Result};
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek};
use tempfile::TempPath;

/// Writes complete tar entries into a compressed temporary spool (see the module docs). Made by
/// [`ArchiveWriter::fragment`](super::ArchiveWriter::fragment). Entries are written with
/// [`start`](Self::start), [`write`](Self::write) and [`end`](Self::end), or whole with
/// [`append_bytes`](Self::append_bytes) / [`append_reader`](Self::append_reader). Dropping it
/// without [`finish`](Self::finish) removes the spool.
pub struct FragmentWriter {
    // Declared before `path`: the file is closed before the spool is deleted.
    gz: Option<ParGz<File>>,
    path: Option<TempPath>,
    mtime: u64,
    members: Vec<MemberEntry>,
    /// The entry being written: name, size, bytes still due.
    current: Option<(String, u64, u64)>,
    /// Set after a failed write: the spool holds a partial entry and must not be used.
    broken: bool,
}

impl FragmentWriter {
    pub(super) fn new(file: File, path: TempPath, level: u32, mtime: u64) -> Self {
        FragmentWriter {
            gz: Some(ParGz::new(file, level)),
            path: Some(path),
            mtime,
            members: Vec::new(),
            current: None,
            broken: false,
        }
    }

    /// The entries written so far.
    pub fn members(&self) -> &[MemberEntry] {
        &self.members
    }

    fn gz(&mut self) -> Result<&mut ParGz<File>> {
        if self.broken {
            return Err(Error::internal("a fragment write failed earlier"));
        }
        self.gz
            .as_mut()
            .ok_or_else(|| Error::internal("fragment already finished"))
    }

    fn put(&mut self, data: &[u8]) -> Result<()> {
        let r = self.gz()?.write_all(data);
        r.map_err(|e| {
            self.broken = true;
            Error::io("writing a fragment spool", e)
        })
    }

    /// Begins an entry of exactly `size` bytes named `name` (a checked member name).
    pub fn start(&mut self, name: &str, size: u64) -> Result<()> {
        check_name(name)?;
        if let Some((open, ..)) = &self.current {
            return Err(Error::internal(format!(
                "fragment entry {open} was not ended before {name}"
            )));
        }
        let header = file_header(name, size, self.mtime);
        self.put(&header)?;
        self.current = Some((name.to_string(), size, size));
        Ok(())
    }

    /// Data of the current entry (never more than its size in all).
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        let Some((name, _, due)) = &mut self.current else {
            return Err(Error::internal("fragment data outside an entry"));
        };
        if data.len() as u64 > *due {
            let name = name.clone();
            self.broken = true;
            return Err(Error::integrity(format!(
                "{name}: more bytes than its size"
            )));
        }
        *due -= data.len() as u64;
        self.put(data)
    }

    /// Ends the current entry, whose bytes have the lower-case hex SHA-256 `sha256` (the caller
    /// hashed them while they streamed; `verify` checks it again).
    pub fn end(&mut self, sha256: &str) -> Result<()> {
        let Some((name, size, due)) = self.current.take() else {
            return Err(Error::internal("no fragment entry to end"));
        };
        if due != 0 {
            self.broken = true;
            return Err(Error::integrity(format!(
                "{name}: {} bytes instead of {size}",
                size - due
            )));
        }
        self.put(&ZEROS[..padding(size)])?;
        self.members.push(MemberEntry {
            name,
            size,
            sha256: sha256.to_string(),
        });
        Ok(())
    }

    /// One entry from memory.
    pub fn append_bytes(&mut self, name: &str, data: &[u8], sha256: &str) -> Result<()> {
        self.start(name, data.len() as u64)?;
        self.write(data)?;
        self.end(sha256)
    }

    /// One entry of `size` bytes read from `r` (fewer or more bytes are an integrity error).
    pub fn append_reader(
        &mut self,
        name: &str,
        size: u64,
        sha256: &str,
        r: &mut dyn Read,
    ) -> Result<()> {
        self.start(name, size)?;
        let mut buf = vec![0u8; super::CHUNK.min(size.max(1) as usize)];
        let mut r = r.take(size + 1);
        loop {
            let n = super::pipeline::read_full(&mut r, &mut buf)
                .map_err(|e| Error::io(format!("reading the bytes of {name}"), e))?;
            if n == 0 {
                break;
            }
            self.write(&buf[..n])?;
        }
        self.end(sha256)
    }

    /// Completes the spool.
    pub fn finish(mut self) -> Result<Fragment> {
        if let Some((name, ..)) = &self.current {
            return Err(Error::internal(format!(
                "fragment entry {name} was not ended"
            )));
        }
        self.gz()?;
        let gz = self.gz.take().expect("checked");
        let what = "writing a fragment spool";
        let mut file = gz.finish().map_err(|e| Error::io(what, e))?;
        let compressed_len = file.stream_position().map_err(|e| Error::io(what, e))?;
        Ok(Fragment {
            members: std::mem::take(&mut self.members),
            compressed_len,
            file,
            path: self.path.take().expect("path until finished"),
        })
    }
}

impl fmt::Debug for FragmentWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FragmentWriter")
            .field("members", &self.members.len())
            .finish_non_exhaustive()
    }
}

/// A finished fragment, ready for [`ArchiveWriter::add_fragment`](super::ArchiveWriter::add_fragment).
/// Dropping it removes the spool.
pub struct Fragment {
    members: Vec<MemberEntry>,
    compressed_len: u64,
    file: File,
    #[allow(dead_code)] // held so the spool is deleted on drop (after `file` is closed)
    path: TempPath,
}

impl Fragment {
    /// The entries it holds, in order.
    pub fn members(&self) -> &[MemberEntry] {
        &self.members
    }
    /// Moves the entries out (the archive's manifest takes them over: one copy in memory).
    pub(super) fn take_members(&mut self) -> Vec<MemberEntry> {
        std::mem::take(&mut self.members)
    }
    /// Size of the compressed spool.
    pub fn compressed_size(&self) -> u64 {
        self.compressed_len
    }
    pub(super) fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }
}

impl fmt::Debug for Fragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fragment")
            .field("members", &self.members.len())
            .field("compressed_size", &self.compressed_len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;
    use tokio_util::sync::CancellationToken;

    fn sha(b: &[u8]) -> String {
        hex::encode(ring::digest::digest(&ring::digest::SHA256, b).as_ref())
    }

    #[test]
    fn fragments_hold_many_members_that_verify_and_extract_with_gnu_tar() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 6).unwrap();
        w.add_bytes("first.txt", b"before".to_vec());
        let m = manifest();
        let mut f = w.fragment(&m.created_at).unwrap();
        let long = format!("storage/b/{}/x.bin", "ü".repeat(120));
        let big = data(3 * 1024 * 1024 + 7, 3);
        let mut bodies: Vec<(String, Vec<u8>)> = vec![
            ("storage/b/empty".into(), Vec::new()),
            ("storage/b/a b/c.txt".into(), b"hello".to_vec()),
            (long, data(1000, 1)),
        ];
        for (name, body) in &bodies {
            f.append_bytes(name, body, &sha(body)).unwrap();
        }
        f.append_reader("storage/b/big", big.len() as u64, &sha(&big), &mut &big[..])
            .unwrap();
        bodies.push(("storage/b/big".into(), big));
        // A short reader is refused.
        let e = f
            .append_reader("storage/b/short", 10, "x", &mut &b"abc"[..])
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Integrity);
        drop(f);

        // The failed fragment is gone; write it again properly.
        let mut f = w.fragment(&m.created_at).unwrap();
        for (name, body) in &bodies {
            f.append_bytes(name, body, &sha(body)).unwrap();
        }
        let frag = f.finish().unwrap();
        assert_eq!(frag.members().len(), 4);
        w.add_fragment(frag);
        w.add_bytes("last.txt", b"after".to_vec());
        let written = w.finish(m, &quiet(), &CancellationToken::new()).unwrap();
        let names: Vec<&str> = written
            .manifest
            .members
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(names[0], "first.txt");
        assert_eq!(names[5], "last.txt");
        assert_eq!(names.len(), 6);

        let report = verify(&written.path, &quiet(), &CancellationToken::new()).unwrap();
        assert!(report.ok, "{:?}", report.problems);

        let out = tempfile::tempdir().unwrap();
        let st = std::process::Command::new("tar")
            .arg("-xzf")
            .arg(&written.path)
            .arg("-C")
            .arg(out.path())
            .status()
            .unwrap();
        assert!(st.success());
        for (name, body) in &bodies {
            assert_eq!(
                &std::fs::read(out.path().join(name)).unwrap(),
                body,
                "{name}"
            );
        }
        assert_eq!(
            std::fs::read(out.path().join("last.txt")).unwrap(),
            b"after"
        );
        // Only the archive and its checksum remain (spools removed).
        assert_eq!(names_in(dir.path()).len(), 2);
    }

    #[test]
    fn fragment_names_are_checked_and_duplicates_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 1).unwrap();
        let m = manifest();
        let mut f = w.fragment(&m.created_at).unwrap();
        assert!(f.start("../x", 1).is_err());
        f.append_bytes("a", b"1", &sha(b"1")).unwrap();
        w.add_bytes("a", b"2".to_vec());
        w.add_fragment(f.finish().unwrap());
        let e = w
            .finish(m, &quiet(), &CancellationToken::new())
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
        assert_eq!(names_in(dir.path()), Vec::<String>::new());
    }
}
