//! Reading pg_dump's table data files while its workers still write them (issue 28): the
//! parallel dump's big table no longer waits for pg_dump to close its file before it is hashed
//! and compressed.
//!
//! A [`Tail`] follows one `<dump id>.dat` in the dump's private temporary folder: it reads what
//! the file holds (to the current end of file), and is read again when the file has grown, until
//! pg_dump's leader says `finished item <id> TABLE DATA …` (the worker closed the file) or
//! pg_dump exited; then it reads to the true end. Every byte goes, as it is read, into the
//! member's SHA-256, the per-table digest (the COPY text without pg_dump's terminator: the last
//! [`COPY_TERMINATOR`]-length bytes are held back until the end tells whether they are the
//! terminator) and a spool of independent compressed pieces
//! ([`PrecompressedWriter`](crate::archive::PrecompressedWriter)), which is spliced into the
//! fragment behind the entry's tar header once the size is known
//! ([`FragmentWriter::append_precompressed`]).
//!
//! Bounds: at most [`Tails::new`]'s `max_open` files are followed at once (the workers' files
//! in flight); each costs one spool writer (its bounded in-flight blocks) and shares one read
//! buffer. A file is deleted as soon as it has been read to its end, its spool once spliced.
//! Everything lives in the dump's private temporary folder, removed on every exit (and swept
//! after a kill).

use crate::archive::{FragmentWriter, Precompressed, PrecompressedWriter};
use crate::error::{Error, Result};
use crate::pgdump::COPY_TERMINATOR;
use crate::progress::Reporter;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Read at most this much from one file before looking at the others and pg_dump's lines.
pub(super) const ROUND: u64 = 4 << 20;

/// The per-table digest of a table's COPY text as it streams: SHA-256 and lines of all but a
/// final [`COPY_TERMINATOR`].
pub(super) struct RowsDigest {
    ctx: ring::digest::Context,
    lines: u64,
    /// The last bytes seen, not yet counted: the terminator if they turn out to be the end.
    held: Vec<u8>,
}

impl RowsDigest {
    pub fn new() -> Self {
        RowsDigest {
            ctx: ring::digest::Context::new(&ring::digest::SHA256),
            lines: 0,
            held: Vec::with_capacity(2 * COPY_TERMINATOR.len()),
        }
    }

    fn count(&mut self, data: &[u8]) {
        self.ctx.update(data);
        self.lines += memchr::memchr_iter(b'\n', data).count() as u64;
    }

    pub fn update(&mut self, data: &[u8]) {
        let t = COPY_TERMINATOR.len();
        if data.len() >= t {
            let held = std::mem::take(&mut self.held);
            self.count(&held);
            self.held = held;
            self.held.clear();
            let (body, last) = data.split_at(data.len() - t);
            self.count(body);
            self.held.extend_from_slice(last);
        } else {
            self.held.extend_from_slice(data);
            if self.held.len() > t {
                let extra = self.held.len() - t;
                let held = std::mem::take(&mut self.held);
                self.count(&held[..extra]);
                self.held = held;
                self.held.drain(..extra);
            }
        }
    }

    /// The end of one file of several hashed as one text (a big table's ranges, issue 67):
    /// its terminator is left out, and the next file's bytes follow.
    pub fn end_part(&mut self) {
        if self.held != COPY_TERMINATOR {
            let held = std::mem::take(&mut self.held);
            self.count(&held);
        }
        self.held.clear();
    }

    /// SHA-256 and lines of the text without pg_dump's terminator (a file that does not end
    /// with one is counted whole).
    pub fn finish(mut self) -> ([u8; 32], u64) {
        if self.held != COPY_TERMINATOR {
            let held = std::mem::take(&mut self.held);
            self.count(&held);
        }
        let sha = self
            .ctx
            .finish()
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes");
        (sha, self.lines)
    }
}

/// One data file followed while it grows.
pub(super) struct Tail {
    path: PathBuf,
    file: File,
    spool: PrecompressedWriter,
    member: ring::digest::Context,
    rows: RowsDigest,
}

/// A file read to its end: its spool and digests.
pub(super) struct TailDone {
    pub spool: Precompressed,
    pub sha256: String,
    pub rows: ([u8; 32], u64),
    pub size: u64,
}

impl Tail {
    fn open(path: &Path, spool: PrecompressedWriter) -> Result<Self> {
        let what = || format!("reading {}", path.display());
        let file = File::open(path).map_err(|e| Error::io(what(), e))?;
        let md = file.metadata().map_err(|e| Error::io(what(), e))?;
        if !md.is_file() {
            return Err(Error::invalid(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        Ok(Tail {
            path: path.to_path_buf(),
            file,
            spool,
            member: ring::digest::Context::new(&ring::digest::SHA256),
            rows: RowsDigest::new(),
        })
    }

    /// Reads what the file holds beyond what was read, at most `budget` bytes (`u64::MAX`: to
    /// the end of file); the bytes read.
    fn pump(
        &mut self,
        buf: &mut [u8],
        budget: u64,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<u64> {
        let mut got = 0u64;
        while got < budget {
            // A file finished by pg_dump may hold hundreds of MB not read yet: a cancel must
            // not wait for them to be compressed (issue 42: Ctrl-C took over a minute).
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let want = (budget - got).min(buf.len() as u64) as usize;
            let n = match self.file.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(format!("reading {}", self.path.display()), e)),
            };
            let data = &buf[..n];
            self.member.update(data);
            self.rows.update(data);
            self.spool.write(data)?;
            reporter.advance(n as u64);
            got += n as u64;
        }
        Ok(got)
    }

    /// Reads to the end (pg_dump closed the file), deletes the file and completes the spool.
    fn finish(
        mut self,
        buf: &mut [u8],
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<TailDone> {
        self.pump(buf, u64::MAX, reporter, cancel)?;
        let Tail {
            path,
            file,
            spool,
            member,
            rows,
        } = self;
        drop(file);
        std::fs::remove_file(&path)
            .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        let size = spool.size();
        Ok(TailDone {
            spool: spool.finish()?,
            sha256: hex::encode(member.finish().as_ref()),
            rows: rows.finish(),
            size,
        })
    }
}

/// The data files being followed, by dump id.
pub(super) struct Tails {
    open: BTreeMap<u32, Tail>,
    max_open: usize,
    /// Where spools go (the dump's private temporary folder).
    spool_dir: PathBuf,
    buf: Vec<u8>,
    /// Files that were followed while pg_dump wrote them (opened before they were finished).
    pub opened: u64,
    /// Stops reading (and compressing) the files: the backup's cancel.
    cancel: CancellationToken,
}

impl Tails {
    pub fn new(spool_dir: &Path, max_open: usize) -> Self {
        Tails {
            open: BTreeMap::new(),
            max_open: max_open.max(1),
            spool_dir: spool_dir.to_path_buf(),
            buf: vec![0u8; crate::archive::CHUNK],
            opened: 0,
            cancel: CancellationToken::new(),
        }
    }

    /// Reading stops (with `cancelled`) once `cancel` fires.
    pub fn cancelled_by(mut self, cancel: &CancellationToken) -> Self {
        self.cancel = cancel.clone();
        self
    }

    /// Starts following the table data files in `out` (pg_dump's output folder, perhaps not
    /// made yet) that are not followed yet, up to the limit; `table_id` tells a table data
    /// file's dump id by its name.
    pub fn discover(
        &mut self,
        out: &Path,
        fragment: &FragmentWriter,
        table_id: impl Fn(&str) -> Option<u32>,
    ) -> Result<()> {
        if self.open.len() >= self.max_open {
            return Ok(());
        }
        let entries = match std::fs::read_dir(out) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(format!("reading {}", out.display()), e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("reading {}", out.display()), e))?;
            let Some(id) = entry.file_name().to_str().and_then(&table_id) else {
                continue;
            };
            if !self.open.contains_key(&id) {
                found.push((id, entry.path()));
            }
        }
        found.sort();
        for (id, path) in found {
            if self.open.len() >= self.max_open {
                break;
            }
            let spool = fragment.precompressed(&self.spool_dir)?;
            match Tail::open(&path, spool) {
                Ok(t) => {
                    self.open.insert(id, t);
                    self.opened += 1;
                }
                // Packed and deleted between the listing and the open.
                Err(e) if !path.exists() => drop(e),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads what every followed file holds now (a round's worth of each); the bytes read.
    pub fn pump(&mut self, reporter: &Reporter) -> Result<u64> {
        let mut got = 0;
        for tail in self.open.values_mut() {
            got += tail.pump(&mut self.buf, ROUND, reporter, &self.cancel)?;
        }
        Ok(got)
    }

    /// Whether the file of dump id `id` is followed.
    pub fn has(&self, id: u32) -> bool {
        self.open.contains_key(&id)
    }

    /// Reads the followed file `id` to its end (it is complete): its spool and digests.
    pub fn finish(&mut self, id: u32, reporter: &Reporter) -> Result<Option<TailDone>> {
        let Some(tail) = self.open.remove(&id) else {
            return Ok(None);
        };
        tail.finish(&mut self.buf, reporter, &self.cancel).map(Some)
    }

    /// The dump ids still followed.
    pub fn ids(&self) -> Vec<u32> {
        self.open.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(data: &[u8], cuts: &[usize]) -> ([u8; 32], u64) {
        let mut d = RowsDigest::new();
        let mut at = 0;
        for &c in cuts {
            let c = c.min(data.len());
            if c >= at {
                d.update(&data[at..c]);
                at = c;
            }
        }
        d.update(&data[at..]);
        d.finish()
    }

    fn sha(b: &[u8]) -> [u8; 32] {
        ring::digest::digest(&ring::digest::SHA256, b)
            .as_ref()
            .try_into()
            .unwrap()
    }

    #[test]
    fn the_rows_digest_leaves_out_the_terminator_however_the_bytes_arrive() {
        let rows = b"1\ta\n2\tb\n3\tc\\.\n".to_vec();
        let mut with = rows.clone();
        with.extend_from_slice(COPY_TERMINATOR);
        let cutsets: Vec<Vec<usize>> = vec![
            vec![],
            vec![1],
            vec![
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
            ],
            vec![with.len() - 1],
            vec![with.len() - 3, with.len() - 2],
            vec![5, 17],
        ];
        for cuts in &cutsets {
            assert_eq!(rows_of(&with, cuts), (sha(&rows), 3), "{cuts:?}");
            // Without a terminator everything counts.
            assert_eq!(rows_of(&rows, cuts), (sha(&rows), 3), "{cuts:?}");
        }
        // Shorter than a terminator; only a terminator; empty.
        assert_eq!(rows_of(b"x\n", &[1]), (sha(b"x\n"), 1));
        assert_eq!(rows_of(COPY_TERMINATOR, &[2]), (sha(b""), 0));
        assert_eq!(rows_of(b"", &[]), (sha(b""), 0));
    }
}
