//! Reading an archive's members one after another in a single sequential pass (to copy some
//! of them into a new archive).

use super::reader::{corrupt, open_input, read_manifest_entry};
use super::tarfmt::{Kind, Next, TarReader};
use super::{unsafe_member, Manifest};
use crate::error::{Error, Result};
use std::io::{self, BufReader, Read};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// Reads `path` once, front to back: `f` gets the manifest first (`on_manifest`), then every
/// regular-file member with its name, size and a reader of its bytes (what `f` leaves unread is
/// skipped). Unsafe members are [`ErrorKind::UnsafePath`](crate::ErrorKind::UnsafePath) errors;
/// a damaged stream is [`ErrorKind::Integrity`](crate::ErrorKind::Integrity). Checksums are the
/// caller's business (the manifest has them).
pub fn for_each_member(
    path: &Path,
    cancel: &CancellationToken,
    on_manifest: &mut dyn FnMut(&Manifest) -> Result<()>,
    f: &mut dyn FnMut(&str, u64, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    let (file, _) = open_input(path)?;
    let gz = super::codec::decompress(BufReader::with_capacity(256 * 1024, file));
    let mut tar = TarReader::new(gz);
    let (manifest, raw) = read_manifest_entry(&mut tar, path)?;
    drop(raw);
    on_manifest(&manifest)?;
    // Not needed while the members are read (with many objects it is megabytes).
    drop(manifest);
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let header = match tar.next() {
            Ok(Next::Entry(h)) => h,
            Ok(Next::End | Next::Eof) => return Ok(()),
            Err(e) => return Err(corrupt(path, "reading the archive", &e)),
        };
        if let Some(why) = header.unsafe_reason() {
            return Err(unsafe_member(&header.name, &why));
        }
        if header.kind != Kind::File {
            continue;
        }
        let mut r = MemberReader { tar: &mut tar };
        f(&header.name, header.size, &mut r)?;
    }
}

struct MemberReader<'a, R: Read> {
    tar: &'a mut TarReader<R>,
}

impl<R: Read> Read for MemberReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tar
            .read(buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
    }
}
