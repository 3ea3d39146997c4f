//! One table's rows streamed straight from a backup's dump, line by line in COPY text (what
//! pg_dump wrote), for readers that filter them on their own terms (row recovery, diff).
//! Memory stays bounded: one line at a time, each at most [`MAX_ROW`](super::MAX_ROW) bytes.

use super::tables::with_table;
use crate::error::{Error, Result};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// Calls `each` with every row of `schema.table` in the dump of the archive at `path` (a line of
/// COPY text without its `\n`: tab-separated fields, `\N` for NULL, backslash escapes). `start`
/// is called once first with the dump's column names, in the order of each line's fields.
/// Returns the number of rows read. Stops with [`Error::cancelled`] once `cancel` fires.
pub fn for_each_row_line(
    path: &Path,
    schema: &str,
    table: &str,
    cancel: &CancellationToken,
    start: &mut dyn FnMut(&[String]) -> Result<()>,
    each: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    with_table(path, schema, table, cancel, &mut |t| {
        start(&t.columns)?;
        let (mut line, mut n) = (Vec::new(), 0u64);
        while t.next_line(&mut line)? {
            if n.is_multiple_of(4096) && cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            n += 1;
            each(&line)?;
        }
        Ok(n)
    })
}

/// The raw (still escaped) fields of one line of COPY text; `None` for NULL (`\N`). Two
/// values are equal exactly when their escaped forms are (COPY escapes one way).
pub fn raw_fields(line: &[u8]) -> impl Iterator<Item = Option<&[u8]>> {
    line.split(|&b| b == b'\t')
        .map(|f| if f == b"\\N" { None } else { Some(f) })
}

/// Escapes `value` as one field of COPY text (the inverse of decoding it).
pub fn escape_field(value: &[u8], out: &mut Vec<u8>) {
    for &b in value {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_and_escape_round_trip() {
        let f: Vec<_> = raw_fields(b"1\t\\N\ta\\tb").collect();
        assert_eq!(f, vec![Some(&b"1"[..]), None, Some(&b"a\\tb"[..])]);
        let mut out = Vec::new();
        escape_field(b"a\tb\\c\nd", &mut out);
        assert_eq!(out, b"a\\tb\\\\c\\nd");
        let mut row = super::super::CopyRow::default();
        row.decode(&out);
        assert_eq!(row.field(0), Some(&b"a\tb\\c\nd"[..]));
    }
}
