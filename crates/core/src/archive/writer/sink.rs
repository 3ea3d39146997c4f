//! Where the compressed archive goes: straight into the (hashed) file, or through age
//! encryption into it — the hash, the size and the `.sha256` are then of the ciphertext.

use super::HashingWriter;
use crate::crypto::{EncryptWriter, Encryption};
use crate::error::Result;
use std::fs::File;
use std::io::{self, Write};

pub(super) enum ArchiveOut {
    Plain(HashingWriter),
    Age(EncryptWriter<HashingWriter>),
}

impl ArchiveOut {
    /// The archive's output into `file`, encrypted when `enc` is given (its header is written
    /// now).
    pub(super) fn new(file: File, enc: Option<&Encryption>) -> Result<Self> {
        let hashed = HashingWriter::new(file);
        Ok(match enc {
            None => ArchiveOut::Plain(hashed),
            Some(enc) => ArchiveOut::Age(enc.wrap(hashed)?),
        })
    }

    /// Ends the output (encrypted: the last chunk) and returns the file with its hash.
    pub(super) fn finish(self) -> io::Result<HashingWriter> {
        match self {
            ArchiveOut::Plain(h) => Ok(h),
            ArchiveOut::Age(w) => w.finish(),
        }
    }

    /// The plain output (a fragment spliced in place: never encrypted, see `adoptable`).
    pub(super) fn into_plain(self) -> Result<HashingWriter> {
        match self {
            ArchiveOut::Plain(h) => Ok(h),
            ArchiveOut::Age(_) => Err(crate::error::Error::internal(
                "an encrypted archive cannot be finished in place",
            )),
        }
    }
}

impl Write for ArchiveOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ArchiveOut::Plain(h) => h.write(buf),
            ArchiveOut::Age(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            ArchiveOut::Plain(h) => h.write_all(buf),
            ArchiveOut::Age(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            ArchiveOut::Plain(h) => h.flush(),
            ArchiveOut::Age(w) => w.flush(),
        }
    }
}
