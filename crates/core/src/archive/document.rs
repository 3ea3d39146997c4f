//! Reading a small member (`globals.sql`, `storage.json`, `config/…`) into memory, bounded: the
//! one way the engine holds an archive member in memory. The archive is untrusted: its manifest
//! may lie about a member's size and its gzip data may expand a thousandfold. So a member is
//! read only when the manifest's size is within the caller's cap, its tar header says the same
//! size, and no more than that many bytes are ever taken; anything else is an
//! [`ErrorKind::Integrity`](crate::ErrorKind::Integrity) error before the member is read.

use super::reader::copy_member_within;
use crate::error::{Error, Result};
use crate::progress::Reporter;
use std::io::{self, Write};
use std::path::Path;
use tokio_util::sync::CancellationToken;

pub use crate::units::MAX_SMALL_DOC;

/// The bytes of `member` of the archive at `path`, at most `max` of them (see the module).
pub fn read_document(
    path: &Path,
    member: &str,
    max: u64,
    cancel: &CancellationToken,
) -> Result<Vec<u8>> {
    let mut out = Capped {
        buf: Vec::new(),
        max,
        overflowed: false,
    };
    copy_member_within(path, member, &mut out, &Reporter::silent(), cancel, max).map_err(|e| {
        // The cap below is a second line: the size checks before reading come first.
        if out.overflowed {
            Error::integrity(format!(
                "{}: member {member} is larger than {max} bytes",
                path.display()
            ))
        } else {
            e
        }
    })?;
    Ok(out.buf)
}

/// A `Vec` that refuses to grow past `max`.
struct Capped {
    buf: Vec<u8>,
    max: u64,
    overflowed: bool,
}

impl Write for Capped {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.buf.len() as u64 + b.len() as u64 > self.max {
            self.overflowed = true;
            return Err(io::Error::other("member larger than its cap"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
