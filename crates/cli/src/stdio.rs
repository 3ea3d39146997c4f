//! Writing to stdout and stderr without ever panicking.
//!
//! std's `println!` panics when stdout is a pipe whose reader went away (`offsite backups |
//! head -1`: "failed printing to stdout: Broken pipe", exit 101). The macros below shadow
//! `println!`, `print!`, `eprintln!` and `eprint!` for the whole crate (main.rs declares this
//! module first, with `#[macro_use]`), so every print goes through [`out`] / [`err`].
//!
//! A closed stdout is not an error: printing stops quietly and the command finishes, exiting
//! with its own code. We do not reset SIGPIPE to its default instead: that would also kill the
//! process when a child's pipe closes (psql, pg_restore, pg_dump fed or read through pipes)
//! and skip the engine's clean-up (rollback, temporary files, the job's record). Any other
//! write error on stdout (a full disk behind `> file`) is reported once on stderr and makes a
//! successful command exit 1 ([`failed`]). Errors writing to stderr are ignored.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// 0: open; 1: the reader went away; 2: another write error.
static STDOUT_STATE: AtomicU8 = AtomicU8::new(0);
const CLOSED: u8 = 1;
const FAILED: u8 = 2;

/// Write to stdout (`newline`: then a line end), unless it was closed.
pub(crate) fn out(args: fmt::Arguments, newline: bool) {
    if STDOUT_STATE.load(Ordering::Relaxed) != 0 {
        return;
    }
    let mut o = std::io::stdout().lock();
    let r = o.write_fmt(args).and_then(|_| {
        if newline {
            o.write_all(b"\n")
        } else {
            o.flush()
        }
    });
    if let Err(e) = r {
        if e.kind() == ErrorKind::BrokenPipe {
            STDOUT_STATE.store(CLOSED, Ordering::Relaxed);
        } else if STDOUT_STATE.swap(FAILED, Ordering::Relaxed) != FAILED {
            err(
                format_args!("offsite: cannot write to standard output: {e}"),
                true,
            );
        }
    }
}

/// Write to stderr; errors are ignored (there is nowhere left to report them).
pub(crate) fn err(args: fmt::Arguments, newline: bool) {
    let mut o = std::io::stderr().lock();
    let _ = o.write_fmt(args).and_then(|_| {
        if newline {
            o.write_all(b"\n")
        } else {
            o.flush()
        }
    });
}

/// Whether writing to stdout failed for another reason than its reader going away.
pub(crate) fn failed() -> bool {
    STDOUT_STATE.load(Ordering::Relaxed) == FAILED
}

macro_rules! println {
    () => { $crate::stdio::out(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::stdio::out(format_args!($($arg)*), true) };
}

#[allow(unused_macros)]
macro_rules! print {
    ($($arg:tt)*) => { $crate::stdio::out(format_args!($($arg)*), false) };
}

macro_rules! eprintln {
    () => { $crate::stdio::err(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::stdio::err(format_args!($($arg)*), true) };
}

macro_rules! eprint {
    ($($arg:tt)*) => { $crate::stdio::err(format_args!($($arg)*), false) };
}
