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
    /// Bytes read from `inner` but held back (they may be the terminator).
    held: Vec<u8>,
    done: bool,
}

impl<R: Read> CopyRows<R> {
    pub fn new(inner: R) -> Self {
        CopyRows {
            inner,
            held: Vec::with_capacity(64 << 10),
            done: false,
        }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for CopyRows<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let keep = COPY_TERMINATOR.len();
        loop {
            if self.done {
                let n = buf.len().min(self.held.len());
                buf[..n].copy_from_slice(&self.held[..n]);
                self.held.drain(..n);
                return Ok(n);
            }
            if self.held.len() > keep {
                let n = buf.len().min(self.held.len() - keep);
                buf[..n].copy_from_slice(&self.held[..n]);
                self.held.drain(..n);
                return Ok(n);
            }
            let at = self.held.len();
            self.held.resize(at + (64 << 10), 0);
            let got = loop {
                match self.inner.read(&mut self.held[at..]) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let n = match got {
                Ok(n) => n,
                Err(e) => {
                    self.held.truncate(at);
                    return Err(e);
                }
            };
            self.held.truncate(at + n);
            if n == 0 {
                self.done = true;
                if self.held.ends_with(COPY_TERMINATOR) {
                    let len = self.held.len() - keep;
                    self.held.truncate(len);
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
