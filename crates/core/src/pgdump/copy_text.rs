//! The rows of a TABLE DATA block. pg_dump ends every table's COPY data with the terminator
//! `\.` and two blank lines (`pg_dump.c`, `dumpTableData_copy`); the rows are what comes before
//! it, byte for byte what `COPY … TO STDOUT` sent pg_dump.

use std::io::Read;

/// What pg_dump appends after a table's rows.
pub const COPY_TERMINATOR: &[u8] = b"\\.\n\n\n";

/// A reader of a block's rows: the block's decoded data without its trailing
/// [`COPY_TERMINATOR`] (data without one is passed on whole).
pub struct CopyRows<R> {
    inner: R,
    /// Bytes read from `inner`: `buf[start..end]` not yet passed on (the last few may be the
    /// terminator, so they are held back until the end).
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    done: bool,
}

const HOLD: usize = 64 << 10;

impl<R: Read> CopyRows<R> {
    pub fn new(inner: R) -> Self {
        CopyRows {
            inner,
            buf: vec![0u8; HOLD].into_boxed_slice(),
            start: 0,
            end: 0,
            done: false,
        }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    fn give(&mut self, out: &mut [u8], upto: usize) -> usize {
        let n = out.len().min(upto - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        n
    }
}

impl<R: Read> Read for CopyRows<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let keep = COPY_TERMINATOR.len();
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.done {
                let end = self.end;
                return Ok(self.give(out, end));
            }
            if self.end - self.start > keep {
                let upto = self.end - keep;
                return Ok(self.give(out, upto));
            }
            // At most `keep` bytes held: move them to the front, read behind them.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            let n = loop {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            self.end += n;
            if n == 0 {
                self.done = true;
                if self.buf[..self.end].ends_with(COPY_TERMINATOR) {
                    self.end -= keep;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(data: &[u8], step: usize) -> Vec<u8> {
        struct Slow<'a>(&'a [u8], usize);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        CopyRows::new(Slow(data, step))
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn the_terminator_is_left_out_however_the_bytes_arrive() {
        for step in [1, 2, 3, 7, 1 << 20] {
            assert_eq!(rows(b"1\ta\n2\tb\n\\.\n\n\n", step), b"1\ta\n2\tb\n");
            assert_eq!(rows(b"\\.\n\n\n", step), b"");
            assert_eq!(rows(b"1\t\\.\n", step), b"1\t\\.\n", "no terminator: whole");
            assert_eq!(rows(b"", step), b"");
        }
    }
}
