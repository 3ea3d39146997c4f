//! Fragment entries whose data was compressed before the entry was written: a member whose size
//! is unknown while its bytes arrive (a data file pg_dump is still writing, see
//! `postgres::dump_tail`) is compressed into a spool of its own, and once it is complete the
//! fragment gets the entry's tar header (now that the size is known), the spool's bytes verbatim
//! and the padding ([`FragmentWriter::append_precompressed`]).
//!
//! The spool is made by the same parallel writer as the fragment (`pargz`, same compression and
//! level): independent 1 MiB gzip members (each with its size in the header, what `seekgz` hops
//! with) or zstd frames (content size and checksum). gzip members and zstd frames concatenate
//! into one valid stream, so the archive is still one plain tar stream compressed piece by piece
//! that GNU tar, `gzip -d`, `zstd -d` and every reader of Offsite's (verify, browse, restore,
//! import) read as before. The header ends the fragment's current piece and the data starts a
//! new one; the padding goes into the piece that follows — where pieces end was never part of
//! the format.

use super::fragment::FragmentWriter;
use super::pargz::ParGz;
use super::pipeline::read_full;
use super::writer::temp_in;
use super::{Compression, CHUNK};
use crate::error::{Error, Result};
use std::fmt;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use tempfile::TempPath;

/// Compresses one entry's data into a temporary spool while it arrives; made by
/// [`FragmentWriter::precompressed`]. Dropping it removes the spool.
pub struct PrecompressedWriter {
    // Declared before `path`: the file is closed before the spool is deleted.
    gz: Option<ParGz<File>>,
    path: Option<TempPath>,
    size: u64,
    compression: Compression,
}

/// A complete spool from [`PrecompressedWriter::finish`], for
/// [`FragmentWriter::append_precompressed`]. Dropping it removes the spool.
pub struct Precompressed {
    file: File,
    #[allow(dead_code)] // held so the spool is deleted on drop (after `file` is closed)
    path: TempPath,
    size: u64,
    compressed_len: u64,
    compression: Compression,
}

impl PrecompressedWriter {
    pub(super) fn new(dir: &Path, compression: Compression) -> Result<Self> {
        let (file, path) = temp_in(dir)?;
        Ok(PrecompressedWriter {
            // On every core, like the fragment: when pg_dump exits, what is left of the biggest
            // table's spool is compressed on all of them. Its blocks in flight are bounded
            // (`pargz`); one spool per pg_dump worker is open at once.
            gz: Some(ParGz::with(file, compression)),
            path: Some(path),
            size: 0,
            compression,
        })
    }

    /// More of the entry's data.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        let gz = self
            .gz
            .as_mut()
            .ok_or_else(|| Error::internal("a precompressed spool failed earlier"))?;
        if let Err(e) = gz.write_all(data) {
            self.gz = None;
            return Err(Error::io("writing a compressed spool", e));
        }
        self.size += data.len() as u64;
        Ok(())
    }

    /// Bytes written so far (uncompressed).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Compresses what is left and waits for the spool to be complete.
    pub fn finish(mut self) -> Result<Precompressed> {
        let gz = self
            .gz
            .take()
            .ok_or_else(|| Error::internal("a precompressed spool failed earlier"))?;
        let what = "writing a compressed spool";
        let mut file = gz.finish().map_err(|e| Error::io(what, e))?;
        let compressed_len = file.stream_position().map_err(|e| Error::io(what, e))?;
        Ok(Precompressed {
            file,
            path: self.path.take().expect("path until finished"),
            size: self.size,
            compressed_len,
            compression: self.compression,
        })
    }
}

impl fmt::Debug for PrecompressedWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrecompressedWriter")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Precompressed {
    /// The entry's size (uncompressed).
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The spool's size.
    pub fn compressed_size(&self) -> u64 {
        self.compressed_len
    }
}

impl fmt::Debug for Precompressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Precompressed")
            .field("size", &self.size)
            .field("compressed_size", &self.compressed_len)
            .finish_non_exhaustive()
    }
}

impl FragmentWriter {
    /// A spool for one entry's data, compressed as this fragment is, in `dir` (a folder on the
    /// archive's disk; a private temporary folder keeps the spool out of sight).
    pub fn precompressed(&self, dir: &Path) -> Result<PrecompressedWriter> {
        PrecompressedWriter::new(dir, self.compression())
    }

    /// One entry named `name` whose data is `data`'s spool, copied verbatim after the entry's
    /// header; `sha256` is the lower-case hex SHA-256 of its uncompressed bytes (the caller
    /// hashed them while they streamed; `verify` checks it again). The spool is removed.
    pub fn append_precompressed(
        &mut self,
        name: &str,
        data: Precompressed,
        sha256: &str,
    ) -> Result<()> {
        if data.compression.codec() != self.compression().codec() {
            return Err(Error::internal(
                "a precompressed spool of another compression",
            ));
        }
        let Precompressed {
            mut file,
            size,
            compressed_len,
            ..
        } = data;
        self.start(name, size)?;
        let what = "copying a compressed spool into a fragment";
        file.seek(SeekFrom::Start(0))
            .map_err(|e| self.fail(Error::io(what, e)))?;
        let mut copied = 0u64;
        loop {
            let mut buf = self.raw_out()?.pool().take();
            buf.resize(CHUNK, 0);
            let n = read_full(&mut file, &mut buf).map_err(|e| self.fail(Error::io(what, e)))?;
            if n == 0 {
                self.raw_out()?.pool().give(buf);
                break;
            }
            copied += n as u64;
            // `write_raw` ends the piece before it (the header) first.
            let r = self.raw_out()?.write_raw(buf, n);
            r.map_err(|e| self.fail(Error::io("writing a fragment spool", e)))?;
        }
        if copied != compressed_len {
            return Err(self.fail(Error::integrity(format!(
                "{name}: the compressed spool changed while it was copied"
            ))));
        }
        self.data_written_raw(size)?;
        self.end(sha256)
    }
}

#[cfg(test)]
#[path = "precompressed_tests.rs"]
mod tests;
