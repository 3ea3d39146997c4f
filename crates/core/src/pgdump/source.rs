//! The primitives of pg_dump's archive format (`pg_backup_archiver.c`: `ReadInt`, `ReadStr`,
//! `ReadOffset`), over a reader that counts the bytes it consumed.

use crate::error::{Error, ErrorKind, Result};
use std::io::Read;

/// The longest string a TOC entry may hold (a function body, a view's definition).
pub const MAX_STRING: u64 = 64 << 20;
/// The longest data chunk (`int length` + bytes) accepted; pg_dump writes far smaller ones.
pub const MAX_CHUNK: u64 = 1 << 30;

pub(super) fn damaged(what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Integrity,
        format!("the pg_dump archive is damaged: {what}"),
    )
}

/// A reader that knows how many bytes it has consumed (the offset within the dump).
pub(super) struct Source<R> {
    pub inner: R,
    pub pos: u64,
    pub int_size: usize,
    pub off_size: usize,
}

impl<R: Read> Source<R> {
    pub fn new(inner: R) -> Self {
        Source {
            inner,
            pos: 0,
            int_size: 4,
            off_size: 8,
        }
    }

    /// Read up to `buf.len()` bytes (0 only at the end of the input).
    pub fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => {
                    self.pos += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// One byte, or `None` at the end of the input.
    pub fn try_byte(&mut self) -> Result<Option<u8>> {
        let mut b = [0u8; 1];
        match self.read_some(&mut b) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(b[0])),
            Err(e) => Err(Error::io("reading the pg_dump archive", e)),
        }
    }

    pub fn byte(&mut self) -> Result<u8> {
        self.try_byte()?
            .ok_or_else(|| damaged("it ends in the middle of a record"))
    }

    pub fn exact(&mut self, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            match self.read_some(&mut buf[done..]) {
                Ok(0) => return Err(damaged("it ends in the middle of a record")),
                Ok(n) => done += n,
                Err(e) => return Err(Error::io("reading the pg_dump archive", e)),
            }
        }
        Ok(())
    }

    /// `ReadInt`: a sign byte, then `int_size` bytes, least significant first.
    pub fn int(&mut self) -> Result<i64> {
        let negative = self.byte()? != 0;
        let mut value: u64 = 0;
        for i in 0..self.int_size {
            let b = self.byte()? as u64;
            if i >= 4 {
                if b != 0 {
                    return Err(damaged("an integer is out of range"));
                }
            } else {
                value |= b << (8 * i);
            }
        }
        let value = value as i64;
        Ok(if negative { -value } else { value })
    }

    /// `ReadStr`: a length (negative: NULL) and that many bytes. Text that is not UTF-8 (a
    /// dump in another encoding) is kept with replacement characters.
    pub fn string(&mut self) -> Result<Option<String>> {
        let len = self.int()?;
        if len < 0 {
            return Ok(None);
        }
        let len = len as u64;
        if len > MAX_STRING {
            return Err(damaged(format!(
                "a string claims {len} bytes (at most {MAX_STRING})"
            )));
        }
        let mut bytes = Vec::new();
        // Grows with what is actually there: a false length cannot allocate ahead.
        let got = (&mut self.inner)
            .take(len)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("reading the pg_dump archive", e))?;
        self.pos += got as u64;
        if (got as u64) < len {
            return Err(damaged("it ends in the middle of a string"));
        }
        Ok(Some(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }))
    }

    /// `ReadOffset`: a state byte, then `off_size` bytes, least significant first.
    pub fn offset(&mut self) -> Result<DataState> {
        let flag = self.byte()?;
        let mut value: u64 = 0;
        for i in 0..self.off_size {
            let b = self.byte()? as u64;
            if i >= 8 {
                if b != 0 {
                    return Err(damaged("a file offset is out of range"));
                }
            } else {
                value |= b << (8 * i);
            }
        }
        match flag {
            1 => Ok(DataState::NotSet),
            2 => Ok(DataState::At(value)),
            3 => Ok(DataState::NoData),
            other => Err(damaged(format!("unknown data state {other}"))),
        }
    }

    /// Skip `n` bytes.
    pub fn skip(&mut self, n: u64) -> Result<()> {
        let got = std::io::copy(&mut (&mut self.inner).take(n), &mut std::io::sink())
            .map_err(|e| Error::io("reading the pg_dump archive", e))?;
        self.pos += got;
        if got < n {
            return Err(damaged("it ends in the middle of a data block"));
        }
        Ok(())
    }
}

/// Where a TOC entry's data is, as the TOC records it. pg_dump writing to a pipe (as Offsite
/// runs it) cannot go back to fill in offsets: its entries say `NotSet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataState {
    /// The entry has data, at an offset the TOC does not know.
    NotSet,
    /// The entry's data block starts at this offset.
    At(u64),
    /// The entry has no data block.
    NoData,
}
