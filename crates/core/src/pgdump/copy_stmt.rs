//! The `copyStmt` of a TABLE DATA entry, as pg_dump writes it
//! (`COPY schema.table (col, …) FROM stdin;`, names quoted by `fmtId`), parsed strictly: what
//! does not have exactly this shape is refused, never passed on.

use crate::error::{Error, ErrorKind, Result};

/// The table a COPY statement loads and the columns it names, unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTarget {
    pub schema: String,
    pub table: String,
    /// Empty for a table without columns (pg_dump then writes no list).
    pub columns: Vec<String>,
}

/// Parse a TOC entry's `copyStmt`.
pub fn parse_copy_stmt(stmt: &str) -> Result<CopyTarget> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "a COPY statement of the dump is not in pg_dump's form ({why}): {:?}",
                stmt.chars().take(80).collect::<String>()
            ),
        )
    };
    let mut p = Parser {
        s: stmt.as_bytes(),
        at: 0,
    };
    if !p.keyword("COPY") {
        return Err(bad("no COPY"));
    }
    p.spaces();
    let schema = p.ident().ok_or_else(|| bad("no schema"))?;
    if !p.eat(b'.') {
        return Err(bad("no schema-qualified table"));
    }
    let table = p.ident().ok_or_else(|| bad("no table"))?;
    p.spaces();
    let mut columns = Vec::new();
    if p.eat(b'(') {
        loop {
            p.spaces();
            columns.push(p.ident().ok_or_else(|| bad("a column name"))?);
            p.spaces();
            if p.eat(b')') {
                break;
            }
            if !p.eat(b',') {
                return Err(bad("a column list"));
            }
        }
        p.spaces();
    }
    if !p.keyword("FROM") {
        return Err(bad("no FROM"));
    }
    p.spaces();
    if !p.keyword("stdin") || !p.eat(b';') {
        return Err(bad("not FROM stdin;"));
    }
    p.spaces();
    if p.at != p.s.len() {
        return Err(bad("text after the statement"));
    }
    Ok(CopyTarget {
        schema,
        table,
        columns,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.at) == Some(&b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn spaces(&mut self) {
        while matches!(self.s.get(self.at), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.at += 1;
        }
    }

    /// A keyword (case-insensitive) followed by a non-identifier byte.
    fn keyword(&mut self, word: &str) -> bool {
        let end = self.at + word.len();
        let matches = self
            .s
            .get(self.at..end)
            .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
            && !self.s.get(end).is_some_and(|&b| is_ident_byte(b));
        if matches {
            self.at = end;
        }
        matches
    }

    /// A bare identifier (folded to lower case, as the server does) or a `"quoted"` one
    /// (with `""` for a quote).
    fn ident(&mut self) -> Option<String> {
        if self.eat(b'"') {
            let mut out = Vec::new();
            loop {
                match *self.s.get(self.at)? {
                    b'"' if self.s.get(self.at + 1) == Some(&b'"') => {
                        out.push(b'"');
                        self.at += 2;
                    }
                    b'"' => {
                        self.at += 1;
                        break;
                    }
                    b => {
                        out.push(b);
                        self.at += 1;
                    }
                }
            }
            if out.is_empty() {
                return None;
            }
            return String::from_utf8(out).ok();
        }
        let start = self.at;
        match self.s.get(self.at) {
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {}
            _ => return None,
        }
        while self.s.get(self.at).is_some_and(|&b| is_ident_byte(b)) {
            self.at += 1;
        }
        let word = std::str::from_utf8(&self.s[start..self.at]).ok()?;
        Some(word.to_ascii_lowercase())
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}
