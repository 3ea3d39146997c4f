//! The bytes of the archive: `metadata.json` with the members' entries, each member's header,
//! data and padding, a fragment spliced in place, files and spools copied in.

use super::super::fragment::Fragment;
use super::super::manifest::ManifestOut;
use super::super::pargz::ParGz;
use super::super::tarfmt::{file_header, padding, ZEROS};
use super::super::{Manifest, CHUNK};
use super::sink::ArchiveOut;
use super::{HashingWriter, Pending};
use crate::error::{Error, Result};
use crate::progress::Reporter;
use serde::ser::{Serialize, SerializeSeq, Serializer};
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;
use tempfile::TempPath;
use tokio_util::sync::CancellationToken;
/// `metadata.json` as written (pretty JSON), through a buffer: `manifest` with the entries of
/// `pending` as its `members` (the same JSON as serializing the manifest with them filled in).
pub(super) fn write_manifest(
    out: &mut dyn Write,
    manifest: &Manifest,
    pending: &[Pending],
) -> Result<()> {
    let members = MembersOut {
        pending,
        failed: RefCell::new(None),
    };
    let mut buf = io::BufWriter::with_capacity(64 << 10, out);
    let written = serde_json::to_writer_pretty(&mut buf, &ManifestOut::new(manifest, &members));
    if let Some(e) = members.failed.take() {
        return Err(e);
    }
    written.map_err(|e| match e.io_error_kind() {
        Some(_) => Error::io("writing the manifest", io::Error::from(e)),
        None => Error::internal(format!("serializing the manifest: {e}")),
    })?;
    buf.flush()
        .map_err(|e| Error::io("writing the manifest", e))
}

/// The entries of the pending members in archive order, as a JSON array, read as they are
/// serialized (fragments' from their index files).
struct MembersOut<'a> {
    pending: &'a [Pending],
    /// The error reading an index (serde's error only carries a message).
    failed: RefCell<Option<Error>>,
}

impl MembersOut<'_> {
    fn fail<E: serde::ser::Error>(&self, e: Error) -> E {
        let msg = e.to_string();
        *self.failed.borrow_mut() = Some(e);
        E::custom(msg)
    }
}

impl Serialize for MembersOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for p in self.pending {
            match p {
                Pending::Fragment(f) => {
                    for e in f.entries().map_err(|e| self.fail(e))? {
                        seq.serialize_element(&e.map_err(|e| self.fail(e))?)?;
                    }
                }
                other => seq.serialize_element(&other.entry().expect("not a fragment"))?,
            }
        }
        seq.end()
    }
}

/// Counts bytes, keeps none.
pub(super) struct CountingWriter(pub(super) u64);

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes into the archive's compressor, counting.
pub(super) struct GzSink<'a> {
    pub(super) gz: &'a mut ParGz<ArchiveOut>,
    pub(super) written: u64,
}

impl Write for GzSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.gz.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One pending member into the archive's compressor: tar header, bytes, padding (a fragment's
/// or a spool's compressed bytes verbatim).
pub(super) fn write_member(
    gz: &mut ParGz<ArchiveOut>,
    m: &mut Pending,
    mtime: u64,
    reporter: &Reporter,
    cancel: &CancellationToken,
    io_err: &dyn Fn(io::Error) -> Error,
) -> Result<()> {
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    if let Pending::Fragment(f) = m {
        // Whole tar entries, compressed already: copied verbatim.
        let copied = copy_spool(gz, f.file_mut(), reporter, cancel, io_err)?;
        if copied != f.compressed_size() {
            return Err(Error::internal(format!(
                "a fragment spool is {copied} bytes, expected {}",
                f.compressed_size()
            )));
        }
        return Ok(());
    }
    let entry = m.entry().expect("not a fragment");
    gz.write_all(&file_header(&entry.name, entry.size, mtime))
        .map_err(io_err)?;
    match m {
        Pending::Fragment(_) => unreachable!("handled above"),
        Pending::Bytes { data, .. } => {
            gz.write_all(data).map_err(io_err)?;
            reporter.advance(data.len() as u64);
        }
        Pending::File {
            path, size, sha256, ..
        } => {
            append_file(
                gz,
                path,
                *size,
                sha256,
                &entry.name,
                reporter,
                cancel,
                io_err,
            )?;
        }
        Pending::Spooled(s) => {
            // The spool is complete gzip member(s): end ours, copy it verbatim.
            let copied = copy_spool(gz, &mut s.file, reporter, cancel, io_err)?;
            if copied != s.compressed_len {
                return Err(Error::internal(format!(
                    "spool of {} is {copied} bytes, expected {}",
                    s.name, s.compressed_len
                )));
            }
        }
    }
    gz.write_all(&ZEROS[..padding(entry.size)]).map_err(io_err)
}

/// Puts the finished head (every member before `frag`, hashed as it was written into
/// `head_path`) in front of the fragment's compressed bytes inside the fragment's own spool
/// file, padded to whole `block`s (see `inplace`) with an empty member of `codec`. Returns the spool as the archive's writer,
/// positioned at its end with the hash of everything so far, and its temporary name (the
/// archive's, until it is renamed).
///
/// The fragment's bytes are hashed first, while they are still in the page cache: inserting a
/// range drops the file's cached pages, and reading 1.45 GB back from disk took 3.9 s where the
/// cache serves it in about one. Inserting also writes back what is still dirty; the fragment
/// was written back as it was written (`writeback`), so little is.
pub(super) fn splice_head(
    mut head: HashingWriter,
    head_path: TempPath,
    frag: Fragment,
    (codec, block): (super::super::codec::Codec, u64),
    reporter: &Reporter,
    cancel: &CancellationToken,
    io_err: &dyn Fn(io::Error) -> Error,
) -> Result<(HashingWriter, TempPath)> {
    use super::super::inplace::{insert_range, padding_for, padding_of};
    use super::super::pipeline::file_thread;
    let (mut file, path, compressed_len) = frag.into_spool();
    let pad = padding_of(codec, padding_for(head.count, block));
    head.write_all(&pad).map_err(io_err)?;
    let head_len = head.count;

    // The fragment's bytes, hashed after the head's. The read pipeline's file thread copies them
    // out of the page cache while this one hashes: one after the other, the copy and the hash
    // were about a second of a 1.45 GB pull's packing, with the other core idle.
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("reading the archive", e))?;
    let got = std::thread::scope(|s| -> Result<u64> {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let (free_tx, free_rx) = std::sync::mpsc::channel();
        let spool = io::Read::take(&mut file, compressed_len);
        s.spawn(move || file_thread(spool, tx, free_rx, false, Some(reporter), cancel));
        let mut got = 0u64;
        // Dropping `rx` on an early return stops the file thread at its next send.
        for msg in rx {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let (buf, n) = msg.map_err(|e| Error::io("reading the archive", e))?;
            head.hash_only(&buf[..n]);
            got += n as u64;
            let _ = free_tx.send(buf);
        }
        Ok(got)
    })?;
    if got != compressed_len {
        return Err(Error::internal("the fragment's spool ended early"));
    }
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }

    // The head into a hole in front of them.
    insert_range(&file, head_len).map_err(io_err)?;
    head.file
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("reading the archive's head", e))?;
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let at = io::copy(&mut head.file, &mut file).map_err(io_err)?;
    if at != head_len {
        return Err(Error::internal(format!(
            "the archive's head is {at} bytes, expected {head_len}"
        )));
    }
    let (_, count, ctx) = head.into_raw();
    drop(head_path);
    file.seek(SeekFrom::End(0))
        .map_err(|e| Error::io("writing the archive", e))?;
    Ok((HashingWriter { file, ctx, count }, path))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn append_file(
    gz: &mut ParGz<ArchiveOut>,
    path: &Path,
    size: u64,
    sha256: &str,
    name: &str,
    reporter: &Reporter,
    cancel: &CancellationToken,
    io_err: &dyn Fn(io::Error) -> Error,
) -> Result<()> {
    let changed = || {
        Error::integrity(format!(
            "{} ({name}) changed while it was being archived",
            path.display()
        ))
        .with_hint("run the backup again")
    };
    let mut file =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; CHUNK];
    let mut left = size;
    while left > 0 {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = super::super::pipeline::read_full(&mut file, &mut buf[..want])
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            return Err(changed()); // shrank
        }
        ctx.update(&buf[..n]);
        gz.write_all(&buf[..n]).map_err(io_err)?;
        reporter.advance(n as u64);
        left -= n as u64;
    }
    if hex::encode(ctx.finish().as_ref()) != sha256 {
        return Err(changed());
    }
    Ok(())
}

pub(super) fn copy_spool(
    gz: &mut ParGz<ArchiveOut>,
    spool: &mut File,
    reporter: &Reporter,
    cancel: &CancellationToken,
    io_err: &dyn Fn(io::Error) -> Error,
) -> Result<u64> {
    spool
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("reading a spool file", e))?;
    let mut copied = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let mut buf = gz.pool().take();
        buf.resize(CHUNK, 0);
        let n = super::super::pipeline::read_full(spool, &mut buf)
            .map_err(|e| Error::io("reading a spool file", e))?;
        if n == 0 {
            gz.pool().give(buf);
            return Ok(copied);
        }
        gz.write_raw(buf, n).map_err(io_err)?;
        copied += n as u64;
        reporter.advance(n as u64);
    }
}
