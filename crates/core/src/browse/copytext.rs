//! PostgreSQL's COPY text format (what pg_dump writes in a custom-format dump's data blocks)
//! decoded into fields, and fields encoded as COPY's CSV output writes them.
//!
//! Text format (PostgreSQL docs, "COPY … File Formats"): one line per row ending in `\n`,
//! fields separated by a tab, `\N` (the whole field) is NULL, and a backslash starts an escape:
//! `\b \f \n \r \t \v`, `\` + one to three octal digits, `\x` + one or two hex digits, and a
//! backslash before any other character stands for that character.
//!
//! CSV (`FORMAT csv`, defaults: delimiter `,`, quote `"`, NULL as an unquoted empty field): a
//! field is quoted only when it holds the delimiter, a quote, `\r` or `\n`, when it is the
//! empty string (so it differs from NULL), or when it is `\.` alone on a line (a one-column
//! table); inside quotes a quote is doubled. Lines end in `\n`. This is `CopyAttributeOutCSV`
//! of `src/backend/commands/copyto.c`, byte for byte.

/// One decoded row: the fields' bytes in one buffer (reused from row to row).
#[derive(Debug, Default)]
pub struct CopyRow {
    buf: Vec<u8>,
    /// Per field: `None` for NULL, else its range in `buf`.
    fields: Vec<Option<(usize, usize)>>,
}

impl CopyRow {
    /// Decodes one line (without its `\n`) in COPY text format, replacing what was held.
    pub fn decode(&mut self, line: &[u8]) {
        self.buf.clear();
        self.fields.clear();
        for raw in line.split(|&b| b == b'\t') {
            if raw == b"\\N" {
                self.fields.push(None);
                continue;
            }
            let start = self.buf.len();
            unescape_into(raw, &mut self.buf);
            self.fields.push(Some((start, self.buf.len())));
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Field `i`: `None` for NULL (or no such field).
    pub fn field(&self, i: usize) -> Option<&[u8]> {
        self.fields
            .get(i)
            .copied()
            .flatten()
            .map(|(a, b)| &self.buf[a..b])
    }

    pub fn fields(&self) -> impl Iterator<Item = Option<&[u8]>> + '_ {
        (0..self.fields.len()).map(|i| self.field(i))
    }

    /// The row as text: each field lossily UTF-8 (`None` for NULL).
    pub fn to_strings(&self) -> Vec<Option<String>> {
        self.fields()
            .map(|f| f.map(|b| String::from_utf8_lossy(b).into_owned()))
            .collect()
    }

    /// Appends the row as a CSV line (with its `\n`) to `out`.
    pub fn write_csv(&self, out: &mut Vec<u8>) {
        let single = self.fields.len() == 1;
        for (i, f) in self.fields().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if let Some(f) = f {
                csv_field(f, single, out);
            }
        }
        out.push(b'\n');
    }
}

/// Appends `raw` (one field's text, escapes and all) unescaped to `out`.
fn unescape_into(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1;
        if b != b'\\' || i == raw.len() {
            // A trailing lone backslash is kept as it is (PostgreSQL does the same).
            out.push(b);
            continue;
        }
        let c = raw[i];
        i += 1;
        match c {
            b'0'..=b'7' => {
                let mut v = (c - b'0') as u32;
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' if raw.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = hex(raw[i]);
                i += 1;
                if let Some(&d) = raw.get(i).filter(|d| d.is_ascii_hexdigit()) {
                    v = v * 16 + hex(d);
                    i += 1;
                }
                out.push(v);
            }
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            other => out.push(other),
        }
    }
}

fn hex(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        _ => d - b'A' + 10,
    }
}

/// Appends one non-NULL field as COPY's CSV output writes it. `single`: the row has one column.
pub fn csv_field(f: &[u8], single: bool, out: &mut Vec<u8>) {
    let quote = f.is_empty()
        || (single && f == b"\\.")
        || f.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !quote {
        out.extend_from_slice(f);
        return;
    }
    out.push(b'"');
    for &b in f {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// The CSV header line of `columns` (as COPY's `HEADER` writes it).
pub fn csv_header(columns: &[String], out: &mut Vec<u8>) {
    let single = columns.len() == 1;
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        csv_field(c.as_bytes(), single, out);
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(line: &[u8]) -> Vec<Option<Vec<u8>>> {
        let mut r = CopyRow::default();
        r.decode(line);
        r.fields().map(|f| f.map(<[u8]>::to_vec)).collect()
    }

    #[test]
    fn text_format_escapes() {
        assert_eq!(
            decode(b"1\t\\N\t\ta\\tb\\\\c\\nd"),
            vec![
                Some(b"1".to_vec()),
                None,
                Some(vec![]),
                Some(b"a\tb\\c\nd".to_vec())
            ]
        );
        assert_eq!(
            decode(b"\\b\\f\\r\\v\\101\\0\\x41\\x4g\\q\\\\N"),
            vec![Some(b"\x08\x0c\r\x0bA\0A\x04gq\\N".to_vec())]
        );
        // `\N` only as the whole field.
        assert_eq!(decode(b"x\\N"), vec![Some(b"xN".to_vec())]);
        assert_eq!(decode(b"\\\\N"), vec![Some(b"\\N".to_vec())]);
        // Octal beyond a byte wraps like PostgreSQL's (`\777` → 0xff).
        assert_eq!(decode(b"\\777\\1234"), vec![Some(vec![0xff, 0o123, b'4'])]);
    }

    #[test]
    fn csv_quotes_only_when_copy_does() {
        let mut r = CopyRow::default();
        r.decode(b"plain\t\\N\t\ta,b\tsay \"hi\"\tline\\nbreak\tcr\\r\ttab\\there\tback\\\\slash");
        let mut out = Vec::new();
        r.write_csv(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain,,\"\",\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",\"cr\r\",tab\there,back\\slash\n"
        );
        // `\.` alone is quoted only in a one-column row.
        let mut out = Vec::new();
        r.decode(b"\\\\.");
        r.write_csv(&mut out);
        r.decode(b"\\\\.\tx");
        r.write_csv(&mut out);
        assert_eq!(out, b"\"\\.\"\n\\.,x\n");
        let mut h = Vec::new();
        csv_header(&["id".into(), "a,b".into(), "".into()], &mut h);
        assert_eq!(h, b"id,\"a,b\",\"\"\n");
    }
}
