//! A sealed file checked while it is read: every byte read is hashed on the way, and once the
//! reader is done the rest of the file (if any) is hashed too and the digest compared with the
//! file's `.sha256` and the catalog's. One read of the file instead of a check, then a read.

use crate::archive::sidecar_path;
use crate::digest::Sha256;
use crate::error::{Error, ErrorKind, Result};
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

type State = Arc<Mutex<(Sha256, u64)>>;

/// The file, read through the hash.
pub(super) struct HashingFile {
    pub(super) file: File,
    pub(super) state: State,
}

impl Read for HashingFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0.update(&buf[..n]);
        s.1 += n as u64;
        Ok(n)
    }
}

/// How much [`ReadAhead`] reads at a time, and how many reads it keeps ready.
const AHEAD_CHUNK: usize = 1 << 20;
const AHEAD_CHUNKS: usize = 4;

/// The file read ahead by a thread of its own that hashes each chunk as it reads it: the
/// hashing runs on another core beside what consumes the bytes (a large base being unpacked).
/// At most [`AHEAD_CHUNKS`] chunks wait; the thread ends at the file's end, on an error
/// (passed on), or once this reader is dropped.
pub(super) struct ReadAhead {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
    ended: bool,
}

impl ReadAhead {
    pub(super) fn spawn(mut file: File, state: State) -> std::io::Result<ReadAhead> {
        let (tx, rx) = std::sync::mpsc::sync_channel(AHEAD_CHUNKS);
        std::thread::Builder::new()
            .name("hashing".into())
            .spawn(move || loop {
                let mut buf = vec![0u8; AHEAD_CHUNK];
                let mut n = 0;
                while n < buf.len() {
                    match file.read(&mut buf[n..]) {
                        Ok(0) => break,
                        Ok(got) => n += got,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                if n == 0 {
                    return;
                }
                buf.truncate(n);
                {
                    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                    s.0.update(&buf);
                    s.1 += n as u64;
                }
                if tx.send(Ok(buf)).is_err() {
                    return;
                }
            })?;
        Ok(ReadAhead {
            rx,
            chunk: Vec::new(),
            pos: 0,
            ended: false,
        })
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.chunk.len() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(c)) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => self.ended = true,
            }
        }
        let n = out.len().min(self.chunk.len() - self.pos);
        out[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// What [`Checked::open`] opened: the file at its start and the hash it is to be read through.
pub(super) struct Opened {
    pub(super) file: File,
    pub(super) state: State,
}

/// The check of a file read through [`HashingFile`]: [`finish`](Checked::finish) it once the
/// reader is done.
pub struct Checked {
    path: PathBuf,
    recorded: String,
    expected: Option<String>,
    state: State,
}

impl Checked {
    fn damaged(path: &Path, why: &str) -> Error {
        Error::new(
            ErrorKind::Integrity,
            format!("change segment {}: {why}", path.display()),
        )
    }

    /// Open `path` and read its `.sha256` (a file without one is refused before any of it is
    /// read, as [`super::verify`] refuses it).
    pub(super) fn open(path: &Path, expected: Option<&str>) -> Result<(Opened, Checked)> {
        if !path.is_file() {
            return Err(Self::damaged(path, "missing"));
        }
        let side = std::fs::read_to_string(sidecar_path(path))
            .map_err(|_| Self::damaged(path, "its .sha256 is missing"))?;
        let recorded = side.split_whitespace().next().unwrap_or("").to_string();
        let file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let state: State = Arc::new(Mutex::new((Sha256::new(), 0)));
        let checked = Checked {
            path: path.to_path_buf(),
            recorded,
            expected: expected.map(str::to_string),
            state: state.clone(),
        };
        Ok((Opened { file, state }, checked))
    }

    /// The file's digest — what was read plus the rest of the file, read now — compared with
    /// its `.sha256` and the catalog's: an `integrity` error naming the file when they differ.
    pub fn finish(self) -> Result<()> {
        let (mut hash, read) = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *s)
        };
        let mut f = File::open(&self.path)
            .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
        f.seek(std::io::SeekFrom::Start(read))
            .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
        }
        let actual = hash.hex();
        if actual != self.recorded
            || self
                .expected
                .as_deref()
                .is_some_and(|e| !e.eq_ignore_ascii_case(&actual))
        {
            return Err(Self::damaged(&self.path, "its checksum does not match"));
        }
        Ok(())
    }
}
