//! Tar fragments: many complete tar entries (header, data, padding) written one after another
//! into one compressed spool, for members that come and go in large numbers (a bucket's
//! objects).
//!
//! `metadata.json` comes first in an archive and lists every member's SHA-256, so members that
//! are produced while the archive is being built must wait somewhere. One spool per object would
//! cost a file per object; a fragment is one spool for all of them. Its compressed bytes (gzip
//! members from `pargz`, compressed on all cores) are copied verbatim into the archive at
//! [`ArchiveWriter::finish`](super::ArchiveWriter::finish), and the entries it holds are listed
//! in the manifest in the order they were written. Since a fragment holds whole tar entries, the
//! archive stays a plain tar stream that GNU tar reads.
//!
//! The entries (name, size, SHA-256) wait in a second temporary file, the fragment's index, not
//! in memory: a fragment of 100,000 objects costs the same memory as one of 10. The manifest is
//! serialized from the index as it is read back.
//!
//! An entry whose size is known only once its bytes are all there (a file still being written)
//! is compressed into a spool of its own first and spliced in whole, header then the spool's
//! pieces verbatim: see [`precompressed`](super::precompressed).

use super::pargz::ParGz;
use super::tarfmt::{file_header, padding, ZEROS};
use super::writer::check_name;
use super::MemberEntry;
use crate::error::{Error, Result};
use crate::writeback::WriteBehindFile;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use tempfile::TempPath;

/// Writes complete tar entries into a compressed temporary spool (see the module docs). Made by
/// [`ArchiveWriter::fragment`](super::ArchiveWriter::fragment). Entries are written with
/// [`start`](Self::start), [`write`](Self::write) and [`end`](Self::end), or whole with
/// [`append_bytes`](Self::append_bytes) / [`append_reader`](Self::append_reader). Dropping it
/// without [`finish`](Self::finish) removes the spool and its index.
pub struct FragmentWriter {
    // Declared before `path`: the file is closed before the spool is deleted.
    gz: Option<ParGz<WriteBehindFile>>,
    path: Option<TempPath>,
    index: Option<IndexWriter>,
    mtime: u64,
    /// The entry being written: name, size, bytes still due.
    current: Option<(String, u64, u64)>,
    /// Set after a failed write: the spool holds a partial entry and must not be used.
    broken: bool,
    compression: super::Compression,
}

/// The index being written: one record per entry (see [`write_record`]).
struct IndexWriter {
    // Declared before `path`: the file is closed before it is deleted.
    out: BufWriter<File>,
    path: TempPath,
    count: u64,
}

/// One index record: name length (u32 LE), name, SHA-256 text length (u8), SHA-256 text, size
/// (u64 LE). Names may hold any character but NUL, so the record is length-prefixed, not a line.
fn write_record(out: &mut impl Write, name: &str, size: u64, sha256: &str) -> std::io::Result<()> {
    let too_long = || std::io::Error::other("a fragment member's name or checksum is too long");
    let name_len = u32::try_from(name.len()).map_err(|_| too_long())?;
    let sha_len = u8::try_from(sha256.len()).map_err(|_| too_long())?;
    out.write_all(&name_len.to_le_bytes())?;
    out.write_all(name.as_bytes())?;
    out.write_all(&[sha_len])?;
    out.write_all(sha256.as_bytes())?;
    out.write_all(&size.to_le_bytes())
}

fn read_record(r: &mut impl Read) -> std::io::Result<MemberEntry> {
    let bad = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a fragment's index is damaged ({what})"),
        )
    };
    let mut n4 = [0u8; 4];
    r.read_exact(&mut n4)?;
    let name_len = u32::from_le_bytes(n4) as usize;
    if name_len > 64 * 1024 {
        return Err(bad("name length"));
    }
    let mut name = vec![0u8; name_len];
    r.read_exact(&mut name)?;
    let mut n1 = [0u8; 1];
    r.read_exact(&mut n1)?;
    let mut sha = vec![0u8; n1[0] as usize];
    r.read_exact(&mut sha)?;
    let mut n8 = [0u8; 8];
    r.read_exact(&mut n8)?;
    Ok(MemberEntry {
        name: String::from_utf8(name).map_err(|_| bad("name"))?,
        size: u64::from_le_bytes(n8),
        sha256: String::from_utf8(sha).map_err(|_| bad("checksum"))?,
    })
}

impl FragmentWriter {
    pub(super) fn new(
        file: File,
        path: TempPath,
        index: (File, TempPath),
        compression: super::Compression,
        mtime: u64,
    ) -> Self {
        FragmentWriter {
            // Written back as it comes: when the archive is finished around this spool (see
            // `inplace`), its bytes are on disk by then.
            gz: Some(ParGz::with(WriteBehindFile::new(file), compression)),
            path: Some(path),
            index: Some(IndexWriter {
                out: BufWriter::with_capacity(64 * 1024, index.0),
                path: index.1,
                count: 0,
            }),
            mtime,
            current: None,
            broken: false,
            compression,
        }
    }

    /// The compression of the spool (and of [`precompressed`](Self::precompressed) spools).
    pub fn compression(&self) -> super::Compression {
        self.compression
    }

    /// Marks the spool unusable and returns `e`.
    pub(super) fn fail(&mut self, e: Error) -> Error {
        self.broken = true;
        e
    }

    /// The compressed output, for pieces written verbatim (see `precompressed`).
    pub(super) fn raw_out(&mut self) -> Result<&mut ParGz<WriteBehindFile>> {
        self.gz()
    }

    /// Counts `n` bytes of the current entry as written (they went in already compressed).
    pub(super) fn data_written_raw(&mut self, n: u64) -> Result<()> {
        let Some((name, _, due)) = &mut self.current else {
            return Err(Error::internal("fragment data outside an entry"));
        };
        if n > *due {
            let name = name.clone();
            self.broken = true;
            return Err(Error::integrity(format!(
                "{name}: more bytes than its size"
            )));
        }
        *due -= n;
        Ok(())
    }

    /// How many entries were written so far.
    pub fn len(&self) -> u64 {
        self.index.as_ref().map_or(0, |i| i.count)
    }

    /// Whether no entry was written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn gz(&mut self) -> Result<&mut ParGz<WriteBehindFile>> {
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
        let index = self
            .index
            .as_mut()
            .ok_or_else(|| Error::internal("fragment already finished"))?;
        if let Err(e) = write_record(&mut index.out, &name, size, sha256) {
            self.broken = true;
            return Err(Error::io("writing a fragment's index", e));
        }
        index.count += 1;
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

    /// Completes the spool and its index.
    pub fn finish(mut self) -> Result<Fragment> {
        if let Some((name, ..)) = &self.current {
            return Err(Error::internal(format!(
                "fragment entry {name} was not ended"
            )));
        }
        self.gz()?;
        let gz = self.gz.take().expect("checked");
        let what = "writing a fragment spool";
        let mut file = gz.finish().map_err(|e| Error::io(what, e))?.into_inner();
        let compressed_len = file.stream_position().map_err(|e| Error::io(what, e))?;
        let index = self.index.take().expect("index until finished");
        let count = index.count;
        let index_file = index
            .out
            .into_inner()
            .map_err(|e| Error::io("writing a fragment's index", e.into_error()))?;
        Ok(Fragment {
            count,
            compressed_len,
            file,
            path: self.path.take().expect("path until finished"),
            index: index_file,
            index_path: index.path,
        })
    }
}

impl fmt::Debug for FragmentWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FragmentWriter")
            .field("members", &self.len())
            .finish_non_exhaustive()
    }
}

/// A finished fragment, ready for [`ArchiveWriter::add_fragment`](super::ArchiveWriter::add_fragment).
/// Dropping it removes the spool and its index.
pub struct Fragment {
    count: u64,
    compressed_len: u64,
    // Each file is declared before its path: closed before it is deleted.
    file: File,
    #[allow(dead_code)] // held so the spool is deleted on drop (after `file` is closed)
    path: TempPath,
    index: File,
    #[allow(dead_code)] // held so the index is deleted on drop (after `index` is closed)
    index_path: TempPath,
}

impl Fragment {
    /// How many entries it holds.
    pub fn len(&self) -> u64 {
        self.count
    }
    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The entries it holds, in order, read back from its index (one at a time: nothing of the
    /// list stays in memory). Each call starts from the first entry.
    pub fn entries(&self) -> Result<FragmentEntries<'_>> {
        let mut f = &self.index;
        f.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io("reading a fragment's index", e))?;
        Ok(FragmentEntries {
            r: BufReader::with_capacity(64 * 1024, f),
            left: self.count,
        })
    }
    /// Size of the compressed spool.
    pub fn compressed_size(&self) -> u64 {
        self.compressed_len
    }
    pub(super) fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }
    /// The spool file, its temporary name and its length (the index is removed).
    pub(super) fn into_spool(self) -> (File, TempPath, u64) {
        (self.file, self.path, self.compressed_len)
    }
}

/// The entries of a [`Fragment`], from [`Fragment::entries`].
pub struct FragmentEntries<'a> {
    r: BufReader<&'a File>,
    left: u64,
}

impl Iterator for FragmentEntries<'_> {
    type Item = Result<MemberEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let got = read_record(&mut self.r).map_err(|e| Error::io("reading a fragment's index", e));
        if got.is_err() {
            self.left = 0;
        }
        Some(got)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.left).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl fmt::Debug for Fragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fragment")
            .field("members", &self.count)
            .field("compressed_size", &self.compressed_len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::test_fixtures::*;
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
            // A component's member inside a fragment still gets its checksum recorded.
            (GLOBALS_MEMBER.into(), b"-- roles".to_vec()),
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
        assert_eq!(frag.len(), 5);
        w.add_fragment(frag);
        w.add_bytes("last.txt", b"after".to_vec());
        let written = w.finish(m, &quiet(), &CancellationToken::new()).unwrap();
        // What `finish` returns lists the single members only; the archive lists them all.
        let single: Vec<&str> = written
            .manifest
            .members
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(single, ["first.txt", "last.txt"]);
        let read = read_manifest(&written.path).unwrap();
        let names: Vec<&str> = read.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names[0], "first.txt");
        assert_eq!(
            names[1..6],
            bodies.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()[..]
        );
        assert_eq!(names[6], "last.txt");
        assert_eq!(names.len(), 7);
        assert_eq!(
            written.manifest.components.get("globals"),
            Some(&sha(b"-- roles"))
        );
        assert_eq!(read.components, written.manifest.components);

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

    /// The names of an archive's regular-file members, in the order they are stored.
    fn stored_order(path: &std::path::Path) -> Vec<String> {
        let mut names = Vec::new();
        for_each_member(
            path,
            &CancellationToken::new(),
            &mut |_| Ok(()),
            &mut |name, _, _| {
                names.push(name.to_string());
                Ok(())
            },
        )
        .unwrap();
        names
    }

    #[test]
    fn a_fragment_of_many_members_is_listed_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 1).unwrap();
        let m = manifest();
        w.add_bytes(GLOBALS_MEMBER, b"--".to_vec());
        let mut f = w.fragment(&m.created_at).unwrap();
        // 20,000 small members whose names do not sort in the order they are written, of
        // different sizes and contents: a lost, repeated or misplaced entry shows.
        let n = 20_000u64;
        let mut want = vec![(GLOBALS_MEMBER.to_string(), 2, sha(b"--"))];
        for i in 0..n {
            let j = (i * 7919) % n;
            let name = format!("storage/b/{:x}/{j}.bin", j % 97);
            let body = format!("object {j} {}", "x".repeat((j % 300) as usize)).into_bytes();
            f.append_bytes(&name, &body, &sha(&body)).unwrap();
            want.push((name, body.len() as u64, sha(&body)));
        }
        assert_eq!(f.len(), n);
        // Two temporary files in the folder: the fragment's spool and its index.
        assert_eq!(names_in(dir.path()).len(), 2);
        let frag = f.finish().unwrap();
        assert_eq!(frag.len(), n);
        // The index reads back the same, every time.
        for _ in 0..2 {
            let back: Vec<(String, u64, String)> = frag
                .entries()
                .unwrap()
                .map(|e| e.map(|e| (e.name, e.size, e.sha256)))
                .collect::<crate::Result<_>>()
                .unwrap();
            assert!(back == want[1..], "the fragment's index differs");
        }
        w.add_fragment(frag);
        w.add_bytes("last.txt", b"after".to_vec());
        want.push(("last.txt".into(), 5, sha(b"after")));
        let written = w.finish(m, &quiet(), &CancellationToken::new()).unwrap();
        assert_eq!(written.manifest.members.len(), 2, "single members only");
        assert_eq!(
            written.manifest.components.get("globals"),
            Some(&sha(b"--"))
        );

        let read = read_manifest(&written.path).unwrap();
        let listed: Vec<(String, u64, String)> = read
            .members
            .iter()
            .map(|e| (e.name.clone(), e.size, e.sha256.clone()))
            .collect();
        assert!(listed == want, "metadata.json lists other members");
        let stored = stored_order(&written.path);
        assert!(
            stored.iter().eq(want.iter().map(|(n, ..)| n)),
            "metadata.json's order is not the archive's"
        );
        // Every member's bytes match the SHA-256 listed for it.
        let report = verify(&written.path, &quiet(), &CancellationToken::new()).unwrap();
        assert!(report.ok, "{:?}", report.problems);
        assert_eq!(report.members.len(), want.len());
        assert!(report.members.iter().all(|c| c.ok));
        // GNU tar reads it, metadata.json first.
        let listing = tool(dir.path(), "tar", &["-tzf", ARCHIVE]);
        assert_eq!(listing.lines().count(), want.len() + 1);
        assert_eq!(listing.lines().next(), Some(MANIFEST_NAME));
        // Only the archive and its checksum remain (spools and index removed).
        assert_eq!(
            names_in(dir.path()),
            [ARCHIVE.to_string(), format!("{ARCHIVE}.sha256")]
        );
    }

    #[test]
    fn fragments_leave_no_temporary_files_on_failure() {
        let m = manifest();
        let fill = |f: &mut FragmentWriter| {
            for i in 0..500 {
                let body = format!("body {i}").into_bytes();
                f.append_bytes(&format!("storage/b/{i}"), &body, &sha(&body))
                    .unwrap();
            }
        };
        // A fragment dropped half-written, a finished one dropped, a writer dropped with one.
        let dir = tempfile::tempdir().unwrap();
        let w = ArchiveWriter::create(dir.path(), ARCHIVE, 1).unwrap();
        let mut f = w.fragment(&m.created_at).unwrap();
        fill(&mut f);
        f.start("storage/b/open", 10).unwrap();
        drop(f);
        assert_eq!(names_in(dir.path()), Vec::<String>::new());
        let mut f = w.fragment(&m.created_at).unwrap();
        fill(&mut f);
        drop(f.finish().unwrap());
        assert_eq!(names_in(dir.path()), Vec::<String>::new());
        let mut w = w;
        let mut f = w.fragment(&m.created_at).unwrap();
        fill(&mut f);
        w.add_fragment(f.finish().unwrap());
        drop(w);
        assert_eq!(names_in(dir.path()), Vec::<String>::new());

        // finish fails (cancelled; a fragment member that is also a single member).
        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 1).unwrap();
        let mut f = w.fragment(&m.created_at).unwrap();
        fill(&mut f);
        w.add_fragment(f.finish().unwrap());
        let cancel = CancellationToken::new();
        cancel.cancel();
        let e = w.finish(m.clone(), &quiet(), &cancel).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Cancelled);
        assert_eq!(names_in(dir.path()), Vec::<String>::new());

        let mut w = ArchiveWriter::create(dir.path(), ARCHIVE, 1).unwrap();
        let mut f = w.fragment(&m.created_at).unwrap();
        fill(&mut f);
        w.add_fragment(f.finish().unwrap());
        w.add_bytes("storage/b/499", b"again".to_vec());
        let e = w
            .finish(m, &quiet(), &CancellationToken::new())
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
        assert!(e.message().contains("storage/b/499"), "{e}");
        assert_eq!(names_in(dir.path()), Vec::<String>::new());
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
