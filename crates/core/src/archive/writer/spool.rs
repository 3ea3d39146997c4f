//! A member of unknown size, spooled compressed next to the destination.

use super::super::pargz::ParGz;
use crate::error::{Error, Result};
use std::fmt;
use std::fs::File;
use std::io::{self, Seek, Write};
use tempfile::TempPath;

/// Receives one member of unknown size (pg_dump's output): bytes are SHA-256-hashed and counted
/// on the calling thread and compressed on worker threads into a spool file. Dropping it without
/// [`finish`](Self::finish) removes the spool.
pub struct SpoolWriter {
    pub(super) name: String,
    // Declared before `path`: the file is closed before the spool is deleted.
    pub(super) gz: Option<ParGz<File>>,
    pub(super) path: Option<TempPath>,
    pub(super) ctx: ring::digest::Context,
    pub(super) count: u64,
}

impl SpoolWriter {
    /// Bytes received so far (uncompressed).
    pub fn bytes_written(&self) -> u64 {
        self.count
    }

    pub fn member_name(&self) -> &str {
        &self.name
    }

    /// Completes the spool. Errors keep their cause (a full disk is [`ErrorKind::DiskFull`]).
    pub fn finish(mut self) -> Result<SpooledMember> {
        let gz = self
            .gz
            .take()
            .ok_or_else(|| Error::internal("spool already finished"))?;
        let what = || format!("writing the spool of {}", self.name);
        let mut file = gz.finish().map_err(|e| Error::io(what(), e))?;
        let compressed_len = file.stream_position().map_err(|e| Error::io(what(), e))?;
        let path = self
            .path
            .take()
            .ok_or_else(|| Error::internal("spool already finished"))?;
        Ok(SpooledMember {
            name: std::mem::take(&mut self.name),
            size: self.count,
            sha256: hex::encode(self.ctx.clone().finish().as_ref()),
            compressed_len,
            file,
            path,
        })
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let gz = self
            .gz
            .as_mut()
            .ok_or_else(|| io::Error::other("spool already finished"))?;
        gz.write_all(buf)?;
        self.ctx.update(buf);
        self.count += buf.len() as u64;
        Ok(buf.len())
    }

    /// Data is flushed by [`finish`](Self::finish); flushing earlier would only cut blocks short.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for SpoolWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpoolWriter")
            .field("name", &self.name)
            .field("bytes", &self.count)
            .finish()
    }
}

/// A completed spool, ready for [`ArchiveWriter::add_spooled`]. Dropping it removes the spool.
pub struct SpooledMember {
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) sha256: String,
    pub(super) compressed_len: u64,
    pub(super) file: File,
    #[allow(dead_code)] // held so the spool is deleted on drop (after `file` is closed)
    pub(super) path: TempPath,
}

impl SpooledMember {
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Uncompressed size.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Lower-case hex SHA-256 of the uncompressed bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    /// Size of the compressed spool.
    pub fn compressed_size(&self) -> u64 {
        self.compressed_len
    }
}

impl fmt::Debug for SpooledMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpooledMember")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .field("compressed_size", &self.compressed_len)
            .finish()
    }
}
