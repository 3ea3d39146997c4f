//! One data member of a directory dump streamed into the pg_restore that loads it, through a
//! FIFO, instead of being extracted to disk first (issue 28: the restore's data section no longer
//! waits for the extraction of its largest table).
//!
//! pg_restore reads a data file with plain `fopen`/`fread`, so the file may be a FIFO: the
//! reader's `COPY … FROM stdin` gets the member's bytes as they are decompressed, and ends (the
//! server commits the rows) only when it reads end-of-file, that is when the FIFO's last writer
//! closes it. That is the check: the FIFO is closed only after every byte written matched the
//! manifest's size and SHA-256. On any failure (damage, a decoder refusing the bytes, a cancel,
//! another part of the restore failing) the reader is killed and reaped **first**, and only then
//! is the FIFO closed: the server sees its client vanish in the middle of the COPY and rolls it
//! back, so not a row of a member that failed its check is ever committed.
//!
//! The FIFO lives in the restore's private folder (0700), so nobody else can open either end.

use super::member::copy_span_checked;
use crate::archive::random::{ArchiveSeeker, MemberSpan};
use crate::archive::MemberEntry;
use crate::error::{Error, Result};
use crate::postgres::process;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Create a FIFO (mode 0600) at `path`, which must not exist.
pub(super) fn make_fifo(path: &Path) -> Result<()> {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .map_err(|e| Error::io(format!("creating {}", path.display()), e.into()))
}

/// The FIFO at `path` opened for writing once `reader` has opened it for reading; `None` when
/// the reader ended without opening it. Polls: a blocking open would wait for ever if the
/// reader failed before it reached the file.
fn open_when_read(
    path: &Path,
    reader: &process::Guarded,
    stop: &CancellationToken,
) -> Result<Option<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut pause = Duration::from_micros(500);
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            Ok(f) => {
                // Blocking writes from here on: the reader sets the pace.
                let flags = rustix::fs::fcntl_getfl(&f)
                    .map_err(|e| Error::io(format!("opening {}", path.display()), e.into()))?;
                rustix::fs::fcntl_setfl(&f, flags - rustix::fs::OFlags::NONBLOCK)
                    .map_err(|e| Error::io(format!("opening {}", path.display()), e.into()))?;
                return Ok(Some(f));
            }
            // ENXIO: nobody has it open for reading yet.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {}
            Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
        }
        if reader.try_wait()?.is_some() {
            return Ok(None);
        }
        if stop.is_cancelled() {
            return Err(Error::cancelled());
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// The FIFO's write end: a reader that stopped reading (broken pipe) is noted, and the rest of
/// the member is still read and hashed (to tell damage from the reader's own failure).
struct ToReader {
    fifo: std::fs::File,
    gone: bool,
}

impl Write for ToReader {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.gone {
            return Ok(buf.len());
        }
        match self.fifo.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.gone = true;
                Ok(buf.len())
            }
            r => r,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stream member `entry` (at `span` of the archive `seeker` reads) into the FIFO at `fifo`,
/// which `reader` (already started, killed on `stop`) reads; then wait for the reader. `what`
/// names the reader in errors. See the module's comment for the order on failure.
#[allow(clippy::too_many_arguments)]
pub(super) fn feed(
    seeker: &mut ArchiveSeeker,
    span: MemberSpan,
    entry: &MemberEntry,
    fifo: &Path,
    (reader, stderr): (process::Guarded, process::StderrTail),
    what: &str,
    password: Option<&str>,
    stop: &CancellationToken,
) -> Result<()> {
    let abort = |reader: process::Guarded| {
        reader.kill();
        let _ = reader.wait();
    };
    let file = match open_when_read(fifo, &reader, stop) {
        Ok(Some(f)) => f,
        Ok(None) => return ended_early(reader, stderr, what, password, stop),
        Err(e) => {
            abort(reader);
            return Err(e);
        }
    };
    let mut out = ToReader {
        fifo: file,
        gone: false,
    };
    match copy_span_checked(seeker, span, entry, &mut out, stop) {
        Ok(_) if !out.gone => {
            // Checked: the end of the member for the reader, which may now commit it.
            drop(out);
            let status = reader.wait()?;
            if stop.is_cancelled() {
                return Err(Error::cancelled());
            }
            let err = stderr.finish();
            if !status.success() {
                return Err(process::tool_error(what, status, &err, password));
            }
            Ok(())
        }
        Ok(_) => {
            drop(out);
            ended_early(reader, stderr, what, password, stop)
        }
        Err(e) => {
            // The reader dies before it could read an end: its COPY is rolled back.
            abort(reader);
            drop(out);
            Err(e)
        }
    }
}

/// The reader ended (or stopped reading) before the end of its member: its own error.
fn ended_early(
    reader: process::Guarded,
    stderr: process::StderrTail,
    what: &str,
    password: Option<&str>,
    stop: &CancellationToken,
) -> Result<()> {
    let status = reader.wait()?;
    if stop.is_cancelled() {
        return Err(Error::cancelled());
    }
    let err = stderr.finish();
    if !status.success() {
        return Err(process::tool_error(what, status, &err, password));
    }
    Err(Error::internal(format!(
        "{what} ended without reading all of the data it was given"
    )))
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
