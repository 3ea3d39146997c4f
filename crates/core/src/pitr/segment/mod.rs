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

use crate::archive::sidecar_path;
use crate::digest::Sha256;
use crate::error::{Error, ErrorKind, Result};
use crate::private_fs;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8] = b"OFFSITE-PITR-1\n";
/// Largest message or trailer read back (PostgreSQL's own MaxAllocSize).
pub const MAX_RECORD: u32 = (1 << 30) - 1;
/// File name ending of a segment.
pub const EXTENSION: &str = "pitr";

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

    /// Write the trailer, fsync, rename to `path` and write its `.sha256` (0600 both).
    pub fn finish(mut self, info: &SegmentInfo, path: &Path) -> Result<String> {
        let json = serde_json::to_vec(info).map_err(|e| Error::internal(e.to_string()))?;
        self.put(b"e")?;
        self.put(&(json.len() as u32).to_be_bytes())?;
        self.put(&json)?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io("writing a segment", e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("syncing a segment", e))?;
        let sha = file_sha256(self.tmp.path())?;
        self.tmp
            .persist(path)
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
    let damaged = |why: &str| {
        Error::new(
            ErrorKind::Integrity,
            format!("change segment {}: {why}", path.display()),
        )
    };
    if !path.is_file() {
        return Err(damaged("missing"));
    }
    let side = std::fs::read_to_string(sidecar_path(path))
        .map_err(|_| damaged("its .sha256 is missing"))?;
    let recorded = side.split_whitespace().next().unwrap_or("");
    let actual = file_sha256(path)?;
    if actual != recorded || expected.is_some_and(|e| e != actual) {
        return Err(damaged("its checksum does not match"));
    }
    Ok(())
}

/// Reads one segment's records, every length bounded by the bytes left.
pub struct SegmentReader {
    input: BufReader<File>,
    left: u64,
    path: PathBuf,
    info: Option<SegmentInfo>,
}

impl SegmentReader {
    pub fn open(path: &Path) -> Result<SegmentReader> {
        let f =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let left = f
            .metadata()
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
            .len();
        let mut r = SegmentReader {
            input: BufReader::new(f),
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
        if n > self.left {
            return Err(self.bad("truncated"));
        }
        let mut b = vec![0u8; n as usize];
        self.input
            .read_exact(&mut b)
            .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
        self.left -= n;
        Ok(b)
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
                if self.left != 0 {
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
pub fn read_info(path: &Path) -> Result<SegmentInfo> {
    let mut r = SegmentReader::open(path)?;
    while r.next_record()?.is_some() {}
    r.info
        .take()
        .ok_or_else(|| Error::integrity(format!("change segment {}: no trailer", path.display())))
}

#[cfg(test)]
mod tests;
