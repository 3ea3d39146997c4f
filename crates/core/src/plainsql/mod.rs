//! Plain SQL dumps (`pg_dump` plain format, `pg_dumpall` output, gzip-compressed or not): a
//! streaming splitter that cuts the text into what psql would see — statements, COPY data,
//! meta-commands, comments between statements — without ever holding COPY data in memory.
//!
//! What it is used for: recognising and describing a dropped `.sql` / `.sql.gz` file
//! ([`scan`]), taking one database and the roles out of a `pg_dumpall` file when it is packed
//! into an archive ([`scan::extract`]), reading a plain dump's table of contents from its
//! `-- Name: …; Type: …` headers for the restore plan, and filtering the SQL a restore streams
//! into psql ([`crate::restore`]'s plain path: the dump's own `BEGIN`/`COMMIT` left out, other
//! meta-commands refused).
//!
//! The splitter follows psql's lexical rules for what matters here: single-quoted strings
//! (`''` doubled; `E'…'` with backslash escapes), quoted identifiers, dollar quoting, `--` and
//! nested `/* */` comments, statements ending at a `;` outside all of those, backslash commands
//! at the start of a line between statements, and the data of `COPY … FROM stdin` up to `\.`.

pub mod classify;
pub mod scan;

/// One piece of a plain SQL script, as psql sees it. Every byte of the input is in exactly one
/// piece, in order (concatenating the pieces gives the input back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Whitespace or a `--` comment line between statements (with its line end).
    Between(Vec<u8>),
    /// A backslash command line (`\connect db`, `\restrict KEY`, `\.` outside COPY…), with its
    /// line end.
    Meta(Vec<u8>),
    /// One SQL statement from its first character through its `;` (and the rest of that line
    /// when only whitespace follows), or an unterminated tail at the end of the input.
    Statement(Vec<u8>),
    /// One line of `COPY … FROM stdin` data, the terminating `\.` line included.
    CopyData(Vec<u8>),
}

impl Piece {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Piece::Between(b) | Piece::Meta(b) | Piece::Statement(b) | Piece::CopyData(b) => b,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Quote {
    None,
    Single { escapes: bool },
    Double,
    Dollar(Vec<u8>),
    Block(u32),
}

/// The most a [`Splitter`] may hold of one line or statement (PostgreSQL's own limit for a query
/// string or a COPY row): callers refuse input that would pass it ([`Splitter::pending`]).
pub const MAX_PENDING: usize = 1 << 30;

/// The streaming splitter: feed it bytes with [`Splitter::push`], take the pieces out of the
/// callback; [`Splitter::finish`] at the end of the input.
#[derive(Debug)]
pub struct Splitter {
    /// The current, incomplete line.
    line: Vec<u8>,
    /// The statement being collected (complete lines so far).
    stmt: Vec<u8>,
    quote: Quote,
    in_copy: bool,
    /// Bytes of the statement scanned so far (a statement's lines are scanned once).
    scanned: usize,
}

impl Default for Splitter {
    fn default() -> Self {
        Self::new()
    }
}

impl Splitter {
    pub fn new() -> Self {
        Splitter {
            line: Vec::new(),
            stmt: Vec::new(),
            quote: Quote::None,
            in_copy: false,
            scanned: 0,
        }
    }

    /// Bytes held of the current, incomplete line and statement: what feeding more input
    /// without a line or statement end makes grow.
    pub fn pending(&self) -> usize {
        self.line.len() + self.stmt.len()
    }

    /// Feed the next bytes; complete pieces go to `out`.
    pub fn push<E>(
        &mut self,
        mut data: &[u8],
        out: &mut impl FnMut(Piece) -> Result<(), E>,
    ) -> Result<(), E> {
        while !data.is_empty() {
            match data.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.line.extend_from_slice(&data[..=i]);
                    data = &data[i + 1..];
                    let line = std::mem::take(&mut self.line);
                    self.line_done(line, out)?;
                }
                None => {
                    self.line.extend_from_slice(data);
                    data = &[];
                }
            }
        }
        Ok(())
    }

    /// The end of the input: what is left goes out (an unterminated statement as a
    /// [`Piece::Statement`]). Returns whether the input ended cleanly: not inside a statement,
    /// a quote or COPY data.
    pub fn finish<E>(&mut self, out: &mut impl FnMut(Piece) -> Result<(), E>) -> Result<bool, E> {
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.line_done(line, out)?;
        }
        let clean = self.stmt.iter().all(|b| b.is_ascii_whitespace()) && !self.in_copy;
        if !self.stmt.is_empty() {
            let s = std::mem::take(&mut self.stmt);
            out(Piece::Statement(s))?;
        }
        self.quote = Quote::None;
        self.scanned = 0;
        Ok(clean)
    }

    fn line_done<E>(
        &mut self,
        line: Vec<u8>,
        out: &mut impl FnMut(Piece) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.in_copy {
            let t = trim_eol(&line);
            if t == b"\\." {
                self.in_copy = false;
            }
            return out(Piece::CopyData(line));
        }
        if self.stmt.is_empty() {
            let t = trim_start(&line);
            if t.is_empty() || t.starts_with(b"--") {
                return out(Piece::Between(line));
            }
            if t.starts_with(b"\\") {
                return out(Piece::Meta(line));
            }
        }
        self.stmt.extend_from_slice(&line);
        // Scan the new line for the end of the statement (maybe more than one statement).
        loop {
            match self.scan_from(self.scanned) {
                Some(end) => {
                    // The statement ends at `end` (the `;`); the rest of the line, when only
                    // whitespace, goes with it.
                    let rest = &self.stmt[end + 1..];
                    let cut = if rest.iter().all(|b| b.is_ascii_whitespace()) {
                        self.stmt.len()
                    } else {
                        end + 1
                    };
                    let tail = self.stmt.split_off(cut);
                    let stmt = std::mem::take(&mut self.stmt);
                    self.scanned = 0;
                    self.in_copy = is_copy_from_stdin(&stmt);
                    out(Piece::Statement(stmt))?;
                    if tail.is_empty() {
                        return Ok(());
                    }
                    // More on the same line: a new statement (no meta-commands mid-line).
                    let t = trim_start(&tail);
                    if t.starts_with(b"--") {
                        return out(Piece::Between(tail));
                    }
                    if self.in_copy {
                        // `COPY … FROM stdin; data` on one line is not what pg_dump writes;
                        // psql would read data from the next line on.
                        return out(Piece::Between(tail));
                    }
                    self.stmt = tail;
                }
                None => {
                    self.scanned = self.stmt.len();
                    return Ok(());
                }
            }
        }
    }

    /// Scans `self.stmt[from..]` with the quote state; the index of a terminating `;`.
    fn scan_from(&mut self, from: usize) -> Option<usize> {
        let s = &self.stmt;
        let mut i = from;
        while i < s.len() {
            let c = s[i];
            match &mut self.quote {
                Quote::Single { escapes } => {
                    if *escapes && c == b'\\' {
                        i += 2;
                        continue;
                    }
                    if c == b'\'' {
                        if s.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        self.quote = Quote::None;
                    }
                }
                Quote::Double => {
                    if c == b'"' {
                        self.quote = Quote::None;
                    }
                }
                Quote::Dollar(tag) => {
                    if c == b'$' && s[i..].starts_with(tag) {
                        i += tag.len();
                        self.quote = Quote::None;
                        continue;
                    }
                }
                Quote::Block(depth) => {
                    if c == b'*' && s.get(i + 1) == Some(&b'/') {
                        *depth -= 1;
                        i += 2;
                        if *depth == 0 {
                            self.quote = Quote::None;
                        }
                        continue;
                    }
                    if c == b'/' && s.get(i + 1) == Some(&b'*') {
                        *depth += 1;
                        i += 2;
                        continue;
                    }
                }
                Quote::None => match c {
                    b';' => return Some(i),
                    b'\'' => {
                        let escapes = i > 0
                            && matches!(s[i - 1], b'E' | b'e')
                            && (i < 2 || !is_ident_char(s[i - 2]));
                        self.quote = Quote::Single { escapes };
                    }
                    b'"' => self.quote = Quote::Double,
                    b'-' if s.get(i + 1) == Some(&b'-') => {
                        // To the end of the line.
                        match s[i..].iter().position(|&b| b == b'\n') {
                            Some(n) => {
                                i += n + 1;
                                continue;
                            }
                            None => return None,
                        }
                    }
                    b'/' if s.get(i + 1) == Some(&b'*') => {
                        self.quote = Quote::Block(1);
                        i += 2;
                        continue;
                    }
                    b'$' if i == 0 || !is_ident_char(s[i - 1]) => {
                        if let Some(tag) = dollar_tag(&s[i..]) {
                            i += tag.len();
                            self.quote = Quote::Dollar(tag);
                            continue;
                        }
                    }
                    _ => {}
                },
            }
            i += 1;
        }
        None
    }
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 || b == b'$'
}

/// `$tag$` at the start of `s` (tag empty or an identifier not starting with a digit).
fn dollar_tag(s: &[u8]) -> Option<Vec<u8>> {
    let rest = &s[1..];
    let end = rest.iter().position(|&b| b == b'$')?;
    let tag = &rest[..end];
    let ok = tag.is_empty()
        || (!tag[0].is_ascii_digit()
            && tag
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80));
    ok.then(|| s[..end + 2].to_vec())
}

pub(crate) fn trim_eol(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let [rest @ .., b'\n' | b'\r'] = l {
        l = rest;
    }
    l
}

pub(crate) fn trim_start(line: &[u8]) -> &[u8] {
    let n = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    &line[n..]
}

/// The statement's words, upper-cased, leading comments and whitespace skipped (up to `n`).
pub fn leading_words(stmt: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(stmt);
    let mut s: &str = &text;
    loop {
        s = s.trim_start();
        if let Some(r) = s.strip_prefix("--") {
            s = r.split_once('\n').map(|(_, r)| r).unwrap_or("");
        } else if let Some(r) = s.strip_prefix("/*") {
            s = r.split_once("*/").map(|(_, r)| r).unwrap_or("");
        } else {
            break;
        }
    }
    s.split(|c: char| c.is_whitespace() || c == ';' || c == '(')
        .filter(|w| !w.is_empty())
        .take(n)
        .map(|w| w.to_ascii_uppercase())
        .collect()
}

/// `COPY … FROM stdin` (psql then reads data lines up to `\.`).
fn is_copy_from_stdin(stmt: &[u8]) -> bool {
    let w = leading_words(stmt, 1);
    if w.first().map(String::as_str) != Some("COPY") {
        return false;
    }
    let t = String::from_utf8_lossy(stmt).to_ascii_uppercase();
    let t = t.trim_end().trim_end_matches(';');
    // "FROM stdin" possibly followed by options: look at the words after the last FROM.
    t.split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0] == "FROM" && w[1].trim_end_matches(';') == "STDIN")
}

/// What a transaction-control statement is, for the restore filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxControl {
    /// `BEGIN` / `START TRANSACTION`: harmless inside the restore's transaction, left out.
    Begin,
    /// `COMMIT` / `END`: would end the restore's transaction early, left out (the restore
    /// commits once, at the end).
    Commit,
    /// `ROLLBACK`, `ABORT`, `PREPARE TRANSACTION`, `COMMIT PREPARED`, … : refused.
    Other,
}

/// Whether `stmt` controls the transaction.
pub fn tx_control(stmt: &[u8]) -> Option<TxControl> {
    let w = leading_words(stmt, 3);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["BEGIN"] | ["BEGIN", "TRANSACTION" | "WORK"] => Some(TxControl::Begin),
        ["START", "TRANSACTION", ..] => Some(TxControl::Begin),
        ["COMMIT" | "END"] | ["COMMIT" | "END", "TRANSACTION" | "WORK"] => Some(TxControl::Commit),
        ["COMMIT" | "END" | "ROLLBACK" | "ABORT", ..] => Some(TxControl::Other),
        ["PREPARE", "TRANSACTION", ..] => Some(TxControl::Other),
        _ => None,
    }
}

/// The meta-command's name (`connect`, `restrict`, `.`) and its argument text.
pub fn meta_command(line: &[u8]) -> (String, String) {
    let t = String::from_utf8_lossy(trim_eol(trim_start(line))).into_owned();
    let t = t.strip_prefix('\\').unwrap_or(&t);
    let (name, arg) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    (name.to_string(), arg.trim().to_string())
}

/// A `-- Name: X; Type: T; Schema: S; Owner: O` header line (or `-- Data for Name: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    pub data: bool,
    pub tag: String,
    pub desc: String,
    pub schema: String,
    pub owner: String,
}

/// Parses a pg_dump entry header line.
pub fn entry_header(line: &[u8]) -> Option<EntryHeader> {
    let t = String::from_utf8_lossy(trim_eol(line)).into_owned();
    let (data, rest) = if let Some(r) = t.strip_prefix("-- Name: ") {
        (false, r)
    } else if let Some(r) = t.strip_prefix("-- Data for Name: ") {
        (true, r)
    } else {
        return None;
    };
    let rest = match rest.rfind("; Tablespace: ") {
        Some(i) if rest[..i].contains("; Owner: ") => &rest[..i],
        _ => rest,
    };
    let (rest, owner) = rest.rsplit_once("; Owner: ")?;
    let (rest, schema) = rest.rsplit_once("; Schema: ")?;
    let (tag, desc) = rest.rsplit_once("; Type: ")?;
    Some(EntryHeader {
        data,
        tag: tag.to_string(),
        desc: desc.to_string(),
        schema: schema.to_string(),
        owner: owner.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &[u8], chunk: usize) -> (Vec<Piece>, bool) {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        let mut f = |p: Piece| -> Result<(), ()> {
            out.push(p);
            Ok(())
        };
        for c in input.chunks(chunk.max(1)) {
            s.push(c, &mut f).unwrap();
        }
        let clean = s.finish(&mut f).unwrap();
        (out, clean)
    }

    const SQL: &[u8] = b"--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET a = 1;\nCOMMENT ON TABLE public.t IS 'a\nCOMMIT;\nb';\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $_$\nBEGIN;\nreturn 1; end$_$;\nCOPY public.t (a) FROM stdin;\nBEGIN;\n\\.x\n\\.\nBEGIN;\n\nSELECT pg_catalog.lowrite(0, '\\x00');\nCOMMIT;\nSELECT E'it\\'s;' ; SELECT /* ; /* ; */ */ 2;\nSELECT \"a;\"\n  FROM x;\n\\unrestrict abc\nSELECT 3";

    #[test]
    fn splits_like_psql_in_any_chunking() {
        let (whole, clean) = split(SQL, SQL.len());
        assert!(!clean, "ends inside a statement");
        for n in [1, 2, 3, 7, 64] {
            assert_eq!(split(SQL, n).0, whole, "chunk {n}");
        }
        let joined: Vec<u8> = whole.iter().flat_map(|p| p.bytes().to_vec()).collect();
        assert_eq!(joined, SQL);
        let stmts: Vec<String> = whole
            .iter()
            .filter_map(|p| match p {
                Piece::Statement(s) => Some(String::from_utf8_lossy(s).into_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(
            stmts,
            vec![
                "SET a = 1;\n",
                "COMMENT ON TABLE public.t IS 'a\nCOMMIT;\nb';\n",
                "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $_$\nBEGIN;\nreturn 1; end$_$;\n",
                "COPY public.t (a) FROM stdin;\n",
                "BEGIN;\n",
                "SELECT pg_catalog.lowrite(0, '\\x00');\n",
                "COMMIT;\n",
                "SELECT E'it\\'s;' ;",
                " SELECT /* ; /* ; */ */ 2;\n",
                "SELECT \"a;\"\n  FROM x;\n",
                "SELECT 3",
            ]
        );
        let copy: Vec<&[u8]> = whole
            .iter()
            .filter_map(|p| match p {
                Piece::CopyData(d) => Some(d.as_slice()),
                _ => None,
            })
            .collect();
        assert_eq!(copy, vec![&b"BEGIN;\n"[..], b"\\.x\n", b"\\.\n"]);
        let metas: Vec<(String, String)> = whole
            .iter()
            .filter_map(|p| match p {
                Piece::Meta(m) => Some(meta_command(m)),
                _ => None,
            })
            .collect();
        assert_eq!(
            metas,
            vec![
                ("restrict".into(), "abc".into()),
                ("unrestrict".into(), "abc".into())
            ]
        );
        let (_, clean) = split(b"SELECT 1;\n", 3);
        assert!(clean);
        let (_, clean) = split(b"COPY t FROM stdin;\n1\n", 3);
        assert!(!clean, "inside COPY data");
    }

    #[test]
    fn transaction_control() {
        assert_eq!(tx_control(b"BEGIN;\n"), Some(TxControl::Begin));
        assert_eq!(tx_control(b"commit;"), Some(TxControl::Commit));
        assert_eq!(tx_control(b"ROLLBACK;"), Some(TxControl::Other));
        assert_eq!(tx_control(b"COMMIT AND CHAIN;"), Some(TxControl::Other));
        assert_eq!(
            tx_control(b"PREPARE TRANSACTION 'x';"),
            Some(TxControl::Other)
        );
        assert_eq!(
            tx_control(b"/* x */ START TRANSACTION;"),
            Some(TxControl::Begin)
        );
        assert_eq!(tx_control(b"SELECT 1;"), None);
        assert_eq!(tx_control(b"BEGINNING;"), None);
    }

    #[test]
    fn entry_headers() {
        let h = entry_header(b"-- Name: t id; Type: DEFAULT; Schema: public; Owner: postgres\n")
            .unwrap();
        assert_eq!(
            (
                h.tag.as_str(),
                h.desc.as_str(),
                h.schema.as_str(),
                h.owner.as_str(),
                h.data
            ),
            ("t id", "DEFAULT", "public", "postgres", false)
        );
        let h = entry_header(
            b"-- Data for Name: orders; Type: TABLE DATA; Schema: app; Owner: alice\n",
        )
        .unwrap();
        assert!(h.data);
        assert_eq!(h.desc, "TABLE DATA");
        let h = entry_header(
            b"-- Name: t; Type: TABLE; Schema: public; Owner: postgres; Tablespace: fast\n",
        )
        .unwrap();
        assert_eq!(h.owner, "postgres");
        assert!(entry_header(b"-- Dumped by pg_dump version 15.8\n").is_none());
    }
}
