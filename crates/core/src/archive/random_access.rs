//! Reaching one member of an archive, and a byte offset inside it, without inflating everything
//! in front of it: the tar headers are visited one by one, hopping over members' data with
//! [`SeekGz`] (see `seekgz`: gzip members or zstd frames). An age-encrypted archive is read
//! through age's seekable decryptor (each 64 KiB chunk read is authenticated) with the keys
//! [`unlock`](super::unlock)ed for it, as every other reader does.
//!
//! Nothing here checks a member's SHA-256 (that needs all of its bytes): what is read is the
//! archive's bytes as they are; `verify` is what proves them.

use super::reader::input::{read_failure, Input};
use super::seekgz::SeekGz;
use super::tarfmt::{padding, Kind, Next, TarReader};
use crate::error::{Error, Result};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Where a member's bytes are in the archive's uncompressed tar stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpan {
    pub name: String,
    /// Offset of its first byte in the tar stream.
    pub data: u64,
    pub size: u64,
}

/// An archive opened for random access.
pub struct ArchiveSeeker {
    gz: SeekGz<Input>,
    path: PathBuf,
    encrypted: bool,
}

/// Counts what a reader hands out (the tar parser reads whole blocks and never ahead).
struct Counting<'a, R> {
    inner: &'a mut R,
    n: u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

impl ArchiveSeeker {
    /// Opens the archive at `path` (an encrypted one with the keys unlocked for it).
    pub fn open(path: &Path) -> Result<Self> {
        let input = Input::open(path)?;
        let encrypted = input.is_encrypted();
        let gz = SeekGz::new(input).map_err(|e| read_failure(path, encrypted, e))?;
        Ok(ArchiveSeeker {
            gz,
            path: path.to_path_buf(),
            encrypted,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The error for a failed read of the archive: damage (`integrity`) when the bytes are
    /// not what they should be, else the I/O or decryption failure.
    pub fn read_error(&self, what: &str, e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof if !self.encrypted => {
                Error::integrity(format!("{}: {what}: {e}", self.path.display())).with_hint(
                    "the archive is damaged or cut off; `offsite verify` says more; use another \
                     copy of this backup",
                )
            }
            _ => read_failure(&self.path, self.encrypted, e),
        }
    }

    /// The regular-file member named `name`, found by visiting the headers from the start
    /// (hopping over data). `None` when the archive has no such member.
    pub fn find(&mut self, name: &str, cancel: &CancellationToken) -> Result<Option<MemberSpan>> {
        let mut found = None;
        self.walk(cancel, &mut |span| {
            if span.name == name {
                found = Some(span.clone());
                false
            } else {
                true
            }
        })?;
        Ok(found)
    }

    /// Visits every regular-file member in archive order until `f` returns `false`.
    pub fn walk(
        &mut self,
        cancel: &CancellationToken,
        f: &mut dyn FnMut(&MemberSpan) -> bool,
    ) -> Result<()> {
        let mut pos = 0u64;
        loop {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            self.gz
                .seek(SeekFrom::Start(pos))
                .map_err(|e| self.read_error("reading the archive", e))?;
            let mut counting = Counting {
                inner: &mut self.gz,
                n: 0,
            };
            let next = TarReader::new(&mut counting).next();
            let header_len = counting.n;
            let header = match next {
                Ok(Next::Entry(h)) => h,
                Ok(Next::End | Next::Eof) => return Ok(()),
                Err(e) => {
                    return Err(super::reader::corrupt(
                        &self.path,
                        "reading the archive",
                        &e,
                    ))
                }
            };
            let span = MemberSpan {
                name: header.name,
                data: pos + header_len,
                size: header.size,
            };
            if header.kind == Kind::File && !f(&span) {
                return Ok(());
            }
            let data_len = if header.kind == Kind::File {
                span.size
            } else {
                0
            };
            pos = span
                .data
                .checked_add(data_len)
                .and_then(|p| p.checked_add(padding(data_len) as u64))
                .ok_or_else(|| {
                    Error::integrity(format!(
                        "{}: a member's size is out of range",
                        self.path.display()
                    ))
                })?;
        }
    }

    /// A reader of `len` bytes of `span` from `offset` in it. A range outside the member is an
    /// `integrity` error (an offset recorded elsewhere that does not fit the archive).
    pub fn read_range(
        &mut self,
        span: &MemberSpan,
        offset: u64,
        len: u64,
    ) -> Result<io::Take<&mut dyn Read>> {
        if offset.checked_add(len).is_none_or(|end| end > span.size) {
            return Err(Error::integrity(format!(
                "{}: bytes {offset}..+{len} are outside member {} ({} bytes)",
                self.path.display(),
                span.name,
                span.size
            ))
            .with_hint("the backup's records do not match its archive; use another copy"));
        }
        self.gz
            .seek(SeekFrom::Start(span.data + offset))
            .map_err(|e| self.read_error(&format!("reading {}", span.name), e))?;
        let r: &mut dyn Read = &mut self.gz;
        Ok(r.take(len))
    }
}

/// One member's bytes as a seekable reader (positions are within the member; reading stops at
/// its end, seeking past it reads nothing).
pub struct MemberReader<'a> {
    seeker: &'a mut ArchiveSeeker,
    span: MemberSpan,
    pos: u64,
}

impl ArchiveSeeker {
    /// A seekable reader of `span`'s bytes, at its start.
    pub fn member_reader(&mut self, span: MemberSpan) -> MemberReader<'_> {
        MemberReader {
            seeker: self,
            span,
            pos: 0,
        }
    }
}

/// Reads several members as one text: each but the last without the `separator` it must end
/// with (a big table's ranges, each ending with pg_dump's end of COPY data; issue 67).
pub struct JoinedReader<'a> {
    seeker: &'a mut ArchiveSeeker,
    /// The spans left, the current one first.
    spans: std::collections::VecDeque<MemberSpan>,
    pos: u64,
    separator: &'static [u8],
    /// The last bytes read from the current span, not given out yet (they may be its separator).
    held: Vec<u8>,
    /// Bytes ready to be given out.
    ready: Vec<u8>,
    at: usize,
    /// The read buffer, kept between reads (a table's rows are read in many calls).
    chunk: Vec<u8>,
}

impl ArchiveSeeker {
    /// A reader of `spans` one after the other, each but the last without its `separator`
    /// (its absence is an `InvalidData` error).
    pub fn joined_reader(
        &mut self,
        spans: Vec<MemberSpan>,
        separator: &'static [u8],
    ) -> JoinedReader<'_> {
        JoinedReader {
            seeker: self,
            spans: spans.into(),
            pos: 0,
            separator,
            held: Vec::new(),
            ready: Vec::new(),
            at: 0,
            chunk: Vec::new(),
        }
    }
}

impl Read for JoinedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.at < self.ready.len() {
                let n = (self.ready.len() - self.at).min(buf.len());
                buf[..n].copy_from_slice(&self.ready[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            self.ready.clear();
            self.at = 0;
            let Some(span) = self.spans.front().cloned() else {
                return Ok(0);
            };
            let mut chunk = std::mem::take(&mut self.chunk);
            chunk.resize(64 << 10, 0);
            let got = MemberReader {
                seeker: &mut *self.seeker,
                span: span.clone(),
                pos: self.pos,
            }
            .read(&mut chunk);
            let got = match got {
                Ok(n) => n,
                Err(e) => {
                    self.chunk = chunk;
                    return Err(e);
                }
            };
            self.pos += got as u64;
            let last = self.spans.len() == 1;
            if got == 0 {
                self.chunk = chunk;
                // The end of this span.
                self.spans.pop_front();
                self.pos = 0;
                let held = std::mem::take(&mut self.held);
                if last {
                    self.ready = held;
                } else if held != self.separator {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{} does not end as each part of a table's rows must",
                            span.name
                        ),
                    ));
                }
                continue;
            }
            self.held.extend_from_slice(&chunk[..got]);
            self.chunk = chunk;
            let keep = self.separator.len();
            if self.held.len() > keep {
                let out = self.held.len() - keep;
                self.ready = self.held.drain(..out).collect();
            }
        }
    }
}

impl Read for MemberReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.span.size.saturating_sub(self.pos);
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let gz = &mut self.seeker.gz;
        let at = self.span.data + self.pos;
        if gz.position() != at {
            gz.seek(SeekFrom::Start(at))?;
        }
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let got = gz.read(&mut buf[..n])?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the archive ends inside member {}", self.span.name),
            ));
        }
        self.pos += got as u64;
        Ok(got)
    }
}

impl Seek for MemberReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let base = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.span.size.checked_add_signed(d),
        };
        self.pos =
            base.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
#[path = "random_access_tests.rs"]
mod tests;
