//! A change segment on disk: the slot's `pgoutput` messages in order, each framed with its LSN
//! and transaction id, then a trailer describing the segment (JSON). Beside it
//! `<segment>.sha256` in `sha256sum` format, like archives.
//!
//! ```text
//! OFFSITE-PITR-1\n
//! 'm' u64 lsn  u32 xid  u32 len  <len bytes: one pgoutput message>     (repeated)
//! 'e' u32 len  <len bytes: SegmentInfo as JSON>                          (last)
//! ```
//! Written to a temporary name, fsynced and renamed (0600); read back with every length
//! checked against the bytes left and the checksum verified first.
//!
//! A project that encrypts its backups gets its segments encrypted the same way: the whole
//! file above as one age file (`….pitr.age`), made from the temporary plaintext (0600, removed
//! once sealed) before the rename. The `.sha256` covers what is on disk (the ciphertext), as for
//! archives; reading decrypts as it goes, age authenticating every 64 KiB chunk.

use crate::archive::sidecar_path;
use crate::crypto::{Encryption, UserKey};
use crate::digest::Sha256;
use crate::error::{Error, Result};
use crate::private_fs;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

pub mod checked;

pub const MAGIC: &[u8] = b"OFFSITE-PITR-1\n";
/// Largest message or trailer read back (PostgreSQL's own MaxAllocSize).
pub const MAX_RECORD: u32 = (1 << 30) - 1;
/// File name ending of a segment.
pub const EXTENSION: &str = "pitr";
/// File name ending of an encrypted segment.
pub const ENCRYPTED_EXTENSION: &str = "pitr.age";

/// A sequence's value when the segment closed (set at restore).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceValue {
    pub schema: String,
    pub name: String,
    pub value: i64,
}

/// What a segment holds, in its trailer and in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInfo {
    /// The slot's confirmed position when it was read: the end of the previous segment.
    pub start_lsn: u64,
    pub first_commit_lsn: u64,
    /// End of the last commit: where the slot is advanced to once this segment is registered.
    pub end_lsn: u64,
    /// Commit times, microseconds since the Unix epoch.
    pub first_commit_at: i64,
    pub last_commit_at: i64,
    /// When the capture closed it (the changes it holds are complete up to here).
    pub closed_at: i64,
    pub commits: u64,
    pub messages: u64,
    /// A digest of the published tables' columns when it closed (a change means DDL).
    pub fingerprint: String,
    pub sequences: Vec<SequenceValue>,
}

/// One framed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub lsn: u64,
    pub xid: u32,
    pub data: Vec<u8>,
}

/// Writes one segment under a temporary name in its folder.
pub struct SegmentWriter {
    tmp: tempfile::NamedTempFile,
    out: BufWriter<File>,
    written: u64,
}

impl SegmentWriter {
    pub fn create(dir: &Path) -> Result<SegmentWriter> {
        private_fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let tmp = private_fs::tempfile_in(dir, crate::tempfiles::TEMP_PREFIX)
            .map_err(|e| Error::io(format!("creating a segment in {}", dir.display()), e))?;
        let file = tmp
            .reopen()
            .map_err(|e| Error::io("opening the new segment", e))?;
        let mut w = SegmentWriter {
            tmp,
            out: BufWriter::new(file),
            written: 0,
        };
        w.put(MAGIC)?;
        Ok(w)
    }

    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.out
            .write_all(b)
            .map_err(|e| Error::io("writing a segment", e))?;
        self.written += b.len() as u64;
        Ok(())
    }

    /// Bytes written so far (a cut point: [`truncate`](Self::truncate) returns here).
    pub fn position(&self) -> u64 {
        self.written
    }

    pub fn message(&mut self, lsn: u64, xid: u32, data: &[u8]) -> Result<()> {
        let len = u32::try_from(data.len())
            .ok()
            .filter(|&n| n <= MAX_RECORD)
            .ok_or_else(|| Error::invalid("a change message over 1 GiB"))?;
        let mut head = Vec::with_capacity(17);
        head.push(b'm');
        head.extend_from_slice(&lsn.to_be_bytes());
        head.extend_from_slice(&xid.to_be_bytes());
        head.extend_from_slice(&len.to_be_bytes());
        self.put(&head)?;
        self.put(data)
    }

    /// Drop everything after `position` (messages of a transaction whose commit was not read).
    pub fn truncate(&mut self, position: u64) -> Result<()> {
        self.out
            .flush()
            .map_err(|e| Error::io("writing a segment", e))?;
        let f = self.out.get_mut();
        f.set_len(position)
            .and_then(|_| f.seek(std::io::SeekFrom::Start(position)).map(|_| ()))
            .map_err(|e| Error::io("cutting a segment", e))?;
        self.written = position;
        Ok(())
    }

    /// Write the trailer, encrypt when `encryption` is given, fsync, rename to `path` and
    /// write its `.sha256` (0600 both). The checksum is of the file on disk.
    pub fn finish(
        mut self,
        info: &SegmentInfo,
        path: &Path,
        encryption: Option<&Encryption>,
    ) -> Result<String> {
        let json = serde_json::to_vec(info).map_err(|e| Error::internal(e.to_string()))?;
        self.put(b"e")?;
        self.put(&(json.len() as u32).to_be_bytes())?;
        self.put(&json)?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io("writing a segment", e.into_error()))?;
        let (tmp, file) = match encryption {
            None => (self.tmp, file),
            Some(enc) => seal(file, enc, path)?,
        };
        file.sync_all()
            .map_err(|e| Error::io("syncing a segment", e))?;
        let sha = file_sha256(tmp.path())?;
        tmp.persist(path)
            .map_err(|e| Error::io(format!("renaming to {}", path.display()), e.error))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        private_fs::write_atomic(&sidecar_path(path), format!("{sha}  {name}\n").as_bytes())
            .map_err(|e| Error::io("writing a segment's checksum", e))?;
        if let Some(dir) = path.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(sha)
    }
}

/// The plaintext segment `plain` encrypted into a new temporary file beside `path`; the
/// plaintext's temporary file is removed when its handle (dropped by the caller) goes.
fn seal(mut plain: File, enc: &Encryption, path: &Path) -> Result<(tempfile::NamedTempFile, File)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let sealed = private_fs::tempfile_in(dir, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a segment in {}", dir.display()), e))?;
    let out = sealed
        .reopen()
        .map_err(|e| Error::io("opening the new segment", e))?;
    plain
        .seek(std::io::SeekFrom::Start(0))
        .map_err(|e| Error::io("reading a segment back", e))?;
    let mut w = enc.wrap(BufWriter::new(out))?;
    std::io::copy(&mut plain, &mut w).map_err(|e| Error::io("encrypting a segment", e))?;
    let file = w
        .finish()
        .map_err(|e| Error::io("encrypting a segment", e))?
        .into_inner()
        .map_err(|e| Error::io("encrypting a segment", e.into_error()))?;
    Ok((sealed, file))
}

fn file_sha256(path: &Path) -> Result<String> {
    let mut f =
        File::open(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut s = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            return Ok(s.hex());
        }
        s.update(&buf[..n]);
    }
}

/// Whether the segment at `path` matches its `.sha256` (and the checksum the catalog holds,
/// when given): a missing or damaged segment is an `integrity` error naming it.
pub fn verify(path: &Path, expected: Option<&str>) -> Result<()> {
    let (_, check) = checked::Checked::open(path, expected)?;
    check.finish()
}

/// [`verify`] each of `items` (path, expected SHA-256), on as many threads as the machine has
/// cores (hashing is what a restore to a time spends most of its own time on); the first
/// failure in `items`' order is returned.
pub fn verify_many(items: &[(&Path, Option<&str>)]) -> Result<()> {
    par_each(items.len(), |i| verify(items[i].0, items[i].1))
}

/// Run `f(0..n)` on up to as many threads as the machine has cores; the first error in index
/// order is returned (every index still runs: none is left half-done by another's failure).
pub fn par_each(n: usize, f: impl Fn(usize) -> Result<()> + Sync) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map(|c| c.get())
        .unwrap_or(1)
        .min(n)
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<()>>>> =
        (0..n).map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = f(i);
                *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
            });
        }
    });
    for r in results {
        if let Some(Err(e)) = r.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
    }
    Ok(())
}

/// Reads one segment's records, every length bounded by the bytes left (plain) or by the
/// bytes actually there (encrypted: nothing is allocated ahead of what was read).
pub struct SegmentReader {
    input: Box<dyn Read + Send>,
    /// Bytes left in a plain file (`None`: encrypted, the plaintext's length is not known).
    left: Option<u64>,
    path: PathBuf,
    info: Option<SegmentInfo>,
}

impl SegmentReader {
    /// Open the segment at `path`; an encrypted one is decrypted with `keys` as it is read.
    pub fn open(path: &Path, keys: &[UserKey]) -> Result<SegmentReader> {
        let f =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        Self::open_file(path, f, keys, |f| Ok(Box::new(f)))
    }

    /// [`open`](Self::open), every byte read also hashed: the [`Checked`] returned compares
    /// the file with its `.sha256` (and `expected`, the catalog's) once the reader has read it
    /// to its end — one read of the file instead of a check and then a read.
    pub fn open_checked(
        path: &Path,
        keys: &[UserKey],
        expected: Option<&str>,
    ) -> Result<(SegmentReader, checked::Checked)> {
        let (f, checked) = checked::Checked::open(path, expected)?;
        let r = Self::open_file(path, f.file, keys, move |file| {
            Ok(Box::new(checked::HashingFile {
                file,
                state: f.state,
            }))
        })?;
        Ok((r, checked))
    }

    /// [`open_checked`](Self::open_checked), the file read ahead and hashed by a thread of
    /// its own (the hashing beside what the reader's consumer does: a large file's).
    pub fn open_checked_ahead(
        path: &Path,
        keys: &[UserKey],
        expected: Option<&str>,
    ) -> Result<(SegmentReader, checked::Checked)> {
        let (f, checked) = checked::Checked::open(path, expected)?;
        let r = Self::open_file(path, f.file, keys, |file| {
            Ok(Box::new(checked::ReadAhead::spawn(file, f.state)?))
        })?;
        Ok((r, checked))
    }

    fn open_file(
        path: &Path,
        mut f: File,
        keys: &[UserKey],
        wrap: impl FnOnce(File) -> std::io::Result<Box<dyn Read + Send>>,
    ) -> Result<SegmentReader> {
        let len = f
            .metadata()
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
            .len();
        let mut head = Vec::new();
        (&mut f)
            .take(64)
            .read_to_end(&mut head)
            .and_then(|_| f.seek(std::io::SeekFrom::Start(0)))
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let f = wrap(f).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let (input, left): (Box<dyn Read + Send>, _) = if crate::crypto::is_age(&head) {
            let r = crate::crypto::decrypt(f, keys)
                .map_err(|e| e.context(format!("change segment {}", path.display())))?;
            (Box::new(BufReader::new(r)), None)
        } else {
            (Box::new(BufReader::new(f)), Some(len))
        };
        let mut r = SegmentReader {
            input,
            left,
            path: path.to_path_buf(),
            info: None,
        };
        if r.bytes(MAGIC.len() as u64)? != MAGIC {
            return Err(r.bad("not a change segment"));
        }
        Ok(r)
    }

    fn bad(&self, why: &str) -> Error {
        Error::integrity(format!("change segment {}: {why}", self.path.display()))
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        if self.left.is_some_and(|left| n > left) {
            return Err(self.bad("truncated"));
        }
        let mut b = Vec::new();
        (&mut self.input).take(n).read_to_end(&mut b).map_err(|e| {
            crate::crypto::read_error(format!("change segment {}", self.path.display()), e)
        })?;
        if (b.len() as u64) < n {
            return Err(self.bad("truncated"));
        }
        if let Some(left) = &mut self.left {
            *left -= n;
        }
        Ok(b)
    }

    /// Whether the input ends here (for an encrypted file, age checks its last chunk now).
    fn at_end(&mut self) -> Result<bool> {
        let mut b = Vec::new();
        (&mut self.input).take(1).read_to_end(&mut b).map_err(|e| {
            crate::crypto::read_error(format!("change segment {}", self.path.display()), e)
        })?;
        Ok(b.is_empty())
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self.bytes(N as u64)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&b);
        Ok(a)
    }

    /// The next record; `None` after the trailer (then [`info`](Self::info) holds it).
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        if self.info.is_some() {
            return Ok(None);
        }
        match self.be::<1>()?[0] {
            b'm' => {
                let lsn = u64::from_be_bytes(self.be()?);
                let xid = u32::from_be_bytes(self.be()?);
                let len = u32::from_be_bytes(self.be()?);
                if len > MAX_RECORD {
                    return Err(self.bad("a record over 1 GiB"));
                }
                let data = self.bytes(u64::from(len))?;
                Ok(Some(Record { lsn, xid, data }))
            }
            b'e' => {
                let len = u32::from_be_bytes(self.be()?);
                let json = self.bytes(u64::from(len))?;
                let info = serde_json::from_slice(&json)
                    .map_err(|_| self.bad("its trailer is not readable"))?;
                if !self.at_end()? {
                    return Err(self.bad("bytes after its trailer"));
                }
                self.info = Some(info);
                Ok(None)
            }
            _ => Err(self.bad("an unknown record")),
        }
    }

    pub fn info(&self) -> Option<&SegmentInfo> {
        self.info.as_ref()
    }
}

/// Read a whole segment's trailer (every record is read and bounds-checked on the way).
pub fn read_info(path: &Path, keys: &[UserKey]) -> Result<SegmentInfo> {
    let mut r = SegmentReader::open(path, keys)?;
    while r.next_record()?.is_some() {}
    r.info
        .take()
        .ok_or_else(|| Error::integrity(format!("change segment {}: no trailer", path.display())))
}

#[cfg(test)]
mod tests;
