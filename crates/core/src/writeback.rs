//! Write-behind for large files written once and synced at the end (a download's `.part`, an
//! archive's fragment spool): the kernel is asked to start writing each new window to disk as
//! soon as it is complete, so the disk works while the data still streams in and the final
//! fsync finds little left. Without it a 1.45 GB storage pull left all of its spool dirty in
//! the page cache (far below the kernel's own writeback threshold on a machine with memory to
//! spare), and the fsync before the rename took 4 s after the last byte arrived.

use std::fs::File;
use std::io::{self, Write};

/// Write-behind: every [`WRITE_BEHIND`] bytes the kernel is asked to start writing the new
/// window to disk, and the writer waits for the window [`WINDOWS_IN_FLIGHT`] back (long done
/// by then, unless the disk is slower than the network), so the fsync before the rename finds
/// little left to write and the page cache holds few dirty pages of a large download. Linux only
/// (`sync_file_range`); elsewhere the final fsync does it all.
pub(crate) struct WriteBehind {
    written: u64,
    started: u64,
    in_flight: std::collections::VecDeque<(u64, u64)>,
    /// Whether the writer waits for old windows (false: see [`WriteBehind::start_only`]).
    wait: bool,
}

impl Default for WriteBehind {
    fn default() -> Self {
        WriteBehind {
            written: 0,
            started: 0,
            in_flight: std::collections::VecDeque::new(),
            wait: true,
        }
    }
}

const WRITE_BEHIND: u64 = 16 * 1024 * 1024;
const WINDOWS_IN_FLIGHT: usize = 2;

impl WriteBehind {
    pub(crate) fn wrote(&mut self, file: &File, n: usize) {
        self.written += n as u64;
        if self.written - self.started < WRITE_BEHIND {
            return;
        }
        let window = (self.started, self.written - self.started);
        let wait_for = if self.wait {
            self.in_flight.push_back(window);
            if self.in_flight.len() > WINDOWS_IN_FLIGHT {
                self.in_flight.pop_front()
            } else {
                None
            }
        } else {
            None
        };
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let fd = file.as_raw_fd();
            // SAFETY: plain syscalls on an open descriptor; failures only lose the hint.
            unsafe {
                libc::sync_file_range(
                    fd,
                    window.0 as i64,
                    window.1 as i64,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
                if let Some((off, len)) = wait_for {
                    libc::sync_file_range(
                        fd,
                        off as i64,
                        len as i64,
                        libc::SYNC_FILE_RANGE_WAIT_BEFORE
                            | libc::SYNC_FILE_RANGE_WRITE
                            | libc::SYNC_FILE_RANGE_WAIT_AFTER,
                    );
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (file, wait_for);
        self.started = self.written;
    }

    /// Starts the writing of each window but never waits for one: for a writer that must not
    /// stall while its producers hold memory (a storage pull's bodies wait for the fragment
    /// writer: a wait for a slow moment of the disk let them pile up to the pull's 32 MiB
    /// budget). What is still dirty at the end is written by the final sync.
    pub(crate) fn start_only() -> Self {
        WriteBehind {
            wait: false,
            ..WriteBehind::default()
        }
    }
}

/// A file written through [`WriteBehind`] (starting writeback, never waiting).
pub(crate) struct WriteBehindFile {
    file: File,
    behind: WriteBehind,
}

impl WriteBehindFile {
    pub(crate) fn new(file: File) -> Self {
        WriteBehindFile {
            file,
            behind: WriteBehind::start_only(),
        }
    }

    pub(crate) fn into_inner(self) -> File {
        self.file
    }
}

impl Write for WriteBehindFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.behind.wrote(&self.file, n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
