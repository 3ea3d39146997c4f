//! Plain SQL dumps (`pg_dump` plain format, `pg_dumpall` output, gzip-compressed or not): a
//! streaming splitter that cuts the text into what psql would see — statements, COPY data,
//! meta-commands, comments between statements — without ever holding COPY data in memory.
//!
//! What it is used for: recognising and describing a dropped `.sql` / `.sql.gz` file
//! ([`scan`]), taking one database and the roles out of a `pg_dumpall` file when it is packed
//! into an archive ([`scan::extract`]), reading a plain dump's table of contents from its
//! `-- Name: …; Type: …` headers for the restore plan, and filtering the SQL a restore streams
//! into psql ([`crate::postgres::restore`]'s plain path: the dump's own `BEGIN`/`COMMIT` left out, other
//! meta-commands refused).
//!
//! The splitter lexes like psql ([`lex`]): quotes of every kind, dollar quotes, comments,
//! parentheses, and a backslash outside all of those starts a meta-command wherever it stands
//! (mid-line, inside an open statement). Such a command stops the splitter with a
//! [`LexError`] unless it is one pg_dump writes, on a line of its own between statements
//! (`\restrict`/`\unrestrict`, and `\connect` where the consumer allows it). COPY data starts
//! only after pg_dump's exact `COPY name (cols) FROM stdin;` and ends at psql's `\.` line.
//!
//! What is assumed: the psql it feeds starts with `standard_conforming_strings` on (Offsite's
//! sessions pin it, see [`crate::postgres::restore`]); the splitter then follows pg_dump's
//! `SET standard_conforming_strings = on|off;` and refuses any other way of changing it or the
//! client encoding (a client-only encoding such as SJIS hides ASCII bytes from psql's lexer).

pub mod classify;
mod lex;
pub mod scan;

use crate::error::{Error, ErrorKind};
use lex::{Lexer, Stop};

/// One piece of a plain SQL script, as psql sees it. Every byte of the input is in exactly one
/// piece, in order (concatenating the pieces gives the input back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Whitespace or a `--` comment line between statements (with its line end).
    Between(Vec<u8>),
    /// One of the backslash commands pg_dump writes, on a line of its own between statements:
    /// `\restrict KEY` / `\unrestrict KEY`, and — only from a [`Splitter::allowing_connect`] —
    /// `\connect DB` and `\encoding SQL_ASCII`. Any other backslash command, wherever it
    /// stands, stops the splitter with a [`LexError`] instead: no consumer ever sees one.
    Meta(Vec<u8>),
    /// One SQL statement (psql's query buffer) from its first character through its `;` (and
    /// the rest of that line when only whitespace follows), or an unterminated tail at the end
    /// of the input.
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

/// Why the splitter refused the input: something psql would run itself (a meta-command), or
/// bytes psql could read differently from Offsite. Nothing after it is split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// 1-based line of the input.
    pub line: u64,
    /// What was found, e.g. `the psql command \! (line 3)`.
    pub message: String,
    /// It is a backslash command (as opposed to a construct Offsite will not guess at).
    pub meta: bool,
}

/// The most a [`Splitter`] may hold of one line or statement (PostgreSQL's own limit for a query
/// string or a COPY row): callers refuse input that would pass it ([`Splitter::pending`]).
pub const MAX_PENDING: usize = 1 << 30;

impl std::fmt::Display for LexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LexError {}

impl LexError {
    /// The engine's error for it; `done` says what did not happen ("nothing was restored").
    pub fn to_error(&self, done: &str) -> Error {
        Error::new(
            ErrorKind::UnsupportedFormat,
            format!("the SQL dump {}", self.message),
        )
        .with_hint(format!(
            "{}. Offsite runs no psql command from a dump and refuses SQL it cannot read exactly as psql would: remove it from the file, or run the file with psql yourself if you trust it.",
            crate::words::sentence_case(done)
        ))
    }
}

impl From<LexError> for Error {
    fn from(e: LexError) -> Self {
        e.to_error("nothing was imported or restored")
    }
}

impl From<LexError> for std::io::Error {
    fn from(e: LexError) -> Self {
        std::io::Error::other(e)
    }
}

impl From<LexError> for () {
    fn from(_: LexError) -> Self {}
}

/// The longest statement or line the splitter holds (the server takes at most 1 GiB).
const MAX_STATEMENT: usize = MAX_PENDING;

/// The streaming splitter: feed it bytes with [`Splitter::push`], take the pieces out of the
/// callback; [`Splitter::finish`] at the end of the input.
#[derive(Debug)]
pub struct Splitter {
    /// The current, incomplete line.
    line: Vec<u8>,
    /// The statement being collected.
    stmt: Vec<u8>,
    lexer: Lexer,
    in_copy: bool,
    /// Lines completed so far.
    line_no: u64,
    allow_connect: bool,
    failed: Option<LexError>,
    /// What [`report`] collects.
    record: Option<Vec<StatementInfo>>,
}

impl Default for Splitter {
    fn default() -> Self {
        Self::new()
    }
}

impl Splitter {
    /// A splitter for what is restored: no `\connect`.
    pub fn new() -> Self {
        Splitter {
            line: Vec::new(),
            stmt: Vec::new(),
            lexer: Lexer::new(true),
            in_copy: false,
            line_no: 0,
            allow_connect: false,
            failed: None,
            record: None,
        }
    }

    /// Bytes held of the current, incomplete line and statement: what feeding more input
    /// without a line or statement end makes grow.
    pub fn pending(&self) -> usize {
        self.line.len() + self.stmt.len()
    }

    /// A splitter for reading a `pg_dumpall` file at import: pg_dumpall's `\connect DB` (and
    /// the `\encoding SQL_ASCII` it writes before a `\connect` to an odd name) between
    /// statements come out as [`Piece::Meta`].
    pub fn allowing_connect() -> Self {
        Splitter {
            allow_connect: true,
            ..Self::new()
        }
    }

    /// Whether nothing is open: no statement, quote or COPY data (the unfinished line aside).
    pub fn is_clean(&self) -> bool {
        self.stmt.iter().all(|b| b.is_ascii_whitespace()) && !self.in_copy && self.lexer.at_rest()
    }

    /// Feed the next bytes; complete pieces go to `out`.
    pub fn push<E: From<LexError>>(
        &mut self,
        mut data: &[u8],
        out: &mut impl FnMut(Piece) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(e) = &self.failed {
            return Err(e.clone().into());
        }
        while !data.is_empty() {
            match data.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.line.extend_from_slice(&data[..=i]);
                    data = &data[i + 1..];
                    let line = std::mem::take(&mut self.line);
                    self.line_done(line, out)?;
                }
                None => {
                    if self.line.len() + data.len() > MAX_STATEMENT {
                        return Err(self
                            .fail(self.line_no + 1, "has a line longer than 1 GiB", false)
                            .into());
                    }
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
    pub fn finish<E: From<LexError>>(
        &mut self,
        out: &mut impl FnMut(Piece) -> Result<(), E>,
    ) -> Result<bool, E> {
        if let Some(e) = &self.failed {
            return Err(e.clone().into());
        }
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.line_done(line, out)?;
        }
        let clean = self.is_clean();
        if !self.stmt.is_empty() {
            let line_no = self.line_no;
            self.end_statement(line_no)?;
            self.note(line_no, false);
            let s = std::mem::take(&mut self.stmt);
            out(Piece::Statement(s))?;
        }
        self.lexer = Lexer::new(self.lexer.std_strings);
        Ok(clean)
    }

    /// As [`Splitter::finish`], but an input that does not end cleanly gives nothing more
    /// out (its unterminated tail is held back, never fed to psql) and `Ok(false)`.
    pub fn finish_clean_only<E: From<LexError>>(
        &mut self,
        out: &mut impl FnMut(Piece) -> Result<(), E>,
    ) -> Result<bool, E> {
        if let Some(e) = &self.failed {
            return Err(e.clone().into());
        }
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.line_done(line, out)?;
        }
        if !self.is_clean() {
            return Ok(false);
        }
        self.finish(out)
    }

    /// Why it stopped, when it refused the input.
    pub fn failure(&self) -> Option<&LexError> {
        self.failed.as_ref()
    }

    fn note(&mut self, line: u64, terminated: bool) {
        if let Some(r) = &mut self.record {
            r.push(StatementInfo {
                text: self.stmt.clone(),
                line,
                terminated,
                nonempty: self.lexer.nonempty,
                real: self.lexer.real,
                in_comment: matches!(self.lexer.mode, lex::Mode::Comment(_)),
                copy: self.in_copy,
            });
        }
    }

    fn fail(&mut self, line: u64, what: &str, meta: bool) -> LexError {
        let e = LexError {
            line,
            message: format!("{what} (line {line})"),
            meta,
        };
        self.failed = Some(e.clone());
        e
    }

    fn line_done<E: From<LexError>>(
        &mut self,
        line: Vec<u8>,
        out: &mut impl FnMut(Piece) -> Result<(), E>,
    ) -> Result<(), E> {
        self.line_no += 1;
        let n = self.line_no;
        if line.contains(&0) {
            return Err(self.fail(n, "holds a NUL byte", false).into());
        }
        if self.in_copy {
            if line == b"\\.\n" || line == b"\\.\r\n" || line == b"\\." {
                self.in_copy = false;
            }
            return out(Piece::CopyData(line));
        }
        if self.stmt.len() + line.len() > MAX_STATEMENT {
            return Err(self
                .fail(n, "has a statement longer than 1 GiB", false)
                .into());
        }
        // psql lexes the line without its `\n` (a `\r` stays).
        let body_len = line.len() - usize::from(line.last() == Some(&b'\n'));
        let body = &line[..body_len];
        let mut pos = 0;
        loop {
            if self.stmt.is_empty() && self.lexer.at_rest() {
                match first_token(body, pos) {
                    None => {
                        if pos < line.len() {
                            out(Piece::Between(line[pos..].to_vec()))?;
                        }
                        return Ok(());
                    }
                    Some(k) if body[k] == b'\\' => {
                        if k == 0 {
                            if let Some(_kind) = allowed_meta(body, self.allow_connect) {
                                return out(Piece::Meta(line));
                            }
                        }
                        let what = backslash_what(&body[k..]);
                        return Err(self.fail(n, &what, true).into());
                    }
                    Some(_) => {}
                }
            }
            match self.lexer.scan(body, pos) {
                Stop::Eol => {
                    self.stmt.extend_from_slice(&line[pos..]);
                    return Ok(());
                }
                Stop::Backslash(i) => {
                    let what = backslash_what(&body[i..]);
                    return Err(self.fail(n, &what, true).into());
                }
                Stop::Ambiguous(_, what) => {
                    let what = format!("holds {what}, which psql versions read differently");
                    return Err(self.fail(n, &what, false).into());
                }
                Stop::Semi(i) => {
                    let rest_blank = body[i + 1..].iter().all(|b| b.is_ascii_whitespace());
                    let cut = if rest_blank { line.len() } else { i + 1 };
                    self.stmt.extend_from_slice(&line[pos..cut]);
                    self.end_statement(n)?;
                    self.note(n, true);
                    self.lexer.next_statement();
                    if self.in_copy && !rest_blank {
                        return Err(self
                            .fail(n, "has more on the line of a COPY … FROM stdin", false)
                            .into());
                    }
                    let stmt = std::mem::take(&mut self.stmt);
                    out(Piece::Statement(stmt))?;
                    if rest_blank {
                        return Ok(());
                    }
                    pos = i + 1;
                }
            }
        }
    }

    /// The checks on a whole statement (psql's query buffer): COPY data starts only after
    /// pg_dump's exact `COPY … FROM stdin;`; settings that change how psql lexes are followed
    /// (pg_dump's `SET standard_conforming_strings`) or refused.
    fn end_statement(&mut self, line: u64) -> Result<(), LexError> {
        let stmt = &self.stmt;
        if self.lexer.saw_copy && self.lexer.saw_stdin {
            if !is_copy_from_stdin(stmt) {
                return Err(self.fail(
                    line,
                    "has a COPY … FROM stdin in a form pg_dump does not write",
                    false,
                ));
            }
            self.in_copy = true;
        }
        match lex_setting(stmt, &self.lexer) {
            Setting::None => Ok(()),
            Setting::StdStrings(on) => {
                self.lexer.std_strings = on;
                Ok(())
            }
            Setting::Refused(what) => Err(self.fail(line, what, false)),
        }
    }
}

/// The index of the first byte of `line[from..]` that is not whitespace or a `--` comment.
fn first_token(line: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < line.len() {
        match line[i] {
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => i += 1,
            b'-' if line.get(i + 1) == Some(&b'-') => {
                i = line[i..]
                    .iter()
                    .position(|&b| b == b'\r')
                    .map_or(line.len(), |k| i + k);
            }
            _ => return Some(i),
        }
    }
    None
}

/// "runs the psql command \x" for the backslash at the start of `s`.
fn backslash_what(s: &[u8]) -> String {
    match s.get(1) {
        Some(b';') | Some(b':') => format!("holds psql's \\{} escape outside quotes", s[1] as char),
        _ => {
            let name: String = String::from_utf8_lossy(&s[1..])
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '\\')
                .take(32)
                .collect();
            format!("runs the psql command \\{name}")
        }
    }
}

/// What an allowed meta-command line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKind {
    Restrict,
    Unrestrict,
    Connect,
    Encoding,
}

/// Whether `line` (without its `\n`, a trailing `\r` allowed) is exactly one of the
/// meta-commands pg_dump / pg_dumpall write.
fn allowed_meta(line: &[u8], allow_connect: bool) -> Option<MetaKind> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let key = |k: &[u8]| !k.is_empty() && k.iter().all(u8::is_ascii_alphanumeric);
    if let Some(k) = line.strip_prefix(b"\\restrict ") {
        return key(k).then_some(MetaKind::Restrict);
    }
    if let Some(k) = line.strip_prefix(b"\\unrestrict ") {
        return key(k).then_some(MetaKind::Unrestrict);
    }
    if !allow_connect {
        return None;
    }
    if line == b"\\encoding SQL_ASCII" {
        return Some(MetaKind::Encoding);
    }
    let arg = line.strip_prefix(b"\\connect ")?;
    let arg = arg.strip_prefix(b"-reuse-previous=on ").unwrap_or(arg);
    let simple = !arg.is_empty()
        && arg
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.');
    // `"…"` with `""` pairs only inside.
    let quoted = arg.len() >= 2 && arg[0] == b'"' && arg[arg.len() - 1] == b'"' && {
        let inner = &arg[1..arg.len() - 1];
        let mut i = 0;
        let mut ok = true;
        while i < inner.len() {
            if inner[i] == b'"' {
                if inner.get(i + 1) != Some(&b'"') {
                    ok = false;
                    break;
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        ok
    };
    (simple || quoted).then_some(MetaKind::Connect)
}

/// The kind of an allowed meta-command piece (`None` for anything else).
pub fn meta_kind(piece: &[u8]) -> Option<MetaKind> {
    allowed_meta(trim_eol(piece), true)
}

enum Setting {
    None,
    StdStrings(bool),
    Refused(&'static str),
}

/// Client encodings whose multi-byte characters can hide an ASCII quote or backslash from
/// psql's lexer (`pg_valid_server_encoding` is false for them), by their normalised names.
const UNSAFE_ENCODINGS: &[&str] = &[
    "sjis",
    "shiftjis",
    "mskanji",
    "win932",
    "windows932",
    "shiftjis2004",
    "big5",
    "win950",
    "windows950",
    "gbk",
    "cp936",
    "win936",
    "windows936",
    "uhc",
    "win949",
    "windows949",
    "gb18030",
    "johab",
];

/// Statements that change how psql lexes what follows.
fn lex_setting(stmt: &[u8], lexer: &Lexer) -> Setting {
    let w = &lexer.words;
    let first = w.first().map(String::as_str);
    if matches!(first, Some("set" | "reset")) {
        let mut rest = &w[1..];
        if matches!(rest.first().map(String::as_str), Some("session" | "local")) {
            rest = &rest[1..];
        }
        let text = String::from_utf8_lossy(stmt);
        let text = text.trim();
        match rest.first().map(String::as_str) {
            Some("standard_conforming_strings") => {
                return match text {
                    "SET standard_conforming_strings = on;" => Setting::StdStrings(true),
                    "SET standard_conforming_strings = off;" => Setting::StdStrings(false),
                    _ => Setting::Refused(
                        "changes standard_conforming_strings in a way pg_dump does not",
                    ),
                };
            }
            Some("client_encoding") => {
                let ok = text
                    .strip_prefix("SET client_encoding = '")
                    .and_then(|r| r.strip_suffix("';"))
                    .is_some_and(|enc| {
                        let norm: String = enc
                            .chars()
                            .filter(char::is_ascii_alphanumeric)
                            .collect::<String>()
                            .to_ascii_lowercase();
                        !norm.is_empty()
                            && enc
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                            && !UNSAFE_ENCODINGS.contains(&norm.as_str())
                    });
                return if ok {
                    Setting::None
                } else {
                    Setting::Refused("sets a client encoding psql cannot lex safely (or not the way pg_dump does)")
                };
            }
            Some("names") if first == Some("set") => {
                return Setting::Refused("sets the client encoding with SET NAMES")
            }
            Some("all") if first == Some("reset") => {
                return Setting::Refused("resets all settings (RESET ALL)")
            }
            _ => {}
        }
    }
    if lexer.saw_set_config {
        let t = String::from_utf8_lossy(stmt).to_ascii_lowercase();
        if t.contains("standard_conforming_strings") || t.contains("client_encoding") {
            return Setting::Refused(
                "changes standard_conforming_strings or client_encoding through set_config",
            );
        }
    }
    Setting::None
}

/// pg_dump's exact `COPY name (cols) FROM stdin;` (the name qualified or not, each part bare
/// or double-quoted; the column list optional): the only statement after which lines are
/// COPY data.
pub fn is_copy_from_stdin(stmt: &[u8]) -> bool {
    let s = stmt.trim_ascii_end();
    let Some(mut s) = s.strip_prefix(b"COPY ") else {
        return false;
    };
    let ident = |s: &[u8]| -> Option<usize> {
        if s.first() == Some(&b'"') {
            let mut i = 1;
            loop {
                match s.get(i)? {
                    b'"' if s.get(i + 1) == Some(&b'"') => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
        }
        let first = *s.first()?;
        if !(first.is_ascii_alphabetic() || first == b'_' || first >= 0x80) {
            return None;
        }
        Some(
            s.iter()
                .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80))
                .unwrap_or(s.len()),
        )
    };
    let n = match ident(s) {
        Some(n) => n,
        None => return false,
    };
    s = &s[n..];
    if let Some(r) = s.strip_prefix(b".") {
        let Some(n) = ident(r) else { return false };
        s = &r[n..];
    }
    if let Some(mut r) = s.strip_prefix(b" (") {
        loop {
            let Some(n) = ident(r) else { return false };
            r = &r[n..];
            if let Some(more) = r.strip_prefix(b", ") {
                r = more;
                continue;
            }
            match r.strip_prefix(b")") {
                Some(after) => {
                    s = after;
                    break;
                }
                None => return false,
            }
        }
    }
    // pg_dump writes `COPY %s %s FROM stdin;` with an empty column list for a table without
    // columns: two spaces.
    s == b" FROM stdin;" || s == b"  FROM stdin;"
}

/// Checks that SQL Offsite wrote itself (a preamble, role statements) holds no psql
/// meta-command and nothing psql would lex differently, before it is written into psql.
pub fn check_own_sql(sql: &[u8]) -> Result<(), Error> {
    let mut s = Splitter::new();
    let mut sink = |p: Piece| -> Result<(), LexError> {
        match p {
            Piece::Meta(_) | Piece::CopyData(_) => Err(LexError {
                line: 0,
                message: "Offsite's own SQL holds a psql command or COPY data".into(),
                meta: true,
            }),
            _ => Ok(()),
        }
    };
    let refuse = |what: String| {
        Error::new(
            ErrorKind::UnsupportedFormat,
            format!("refusing to run the SQL Offsite wrote around the restore (from the backup's roles or the plan): it {what}"),
        )
        .with_hint("nothing was restored; the backup's globals.sql or the target's names hold something psql would run as a command; restore without --create-roles, or report this")
    };
    let clean = s
        .push(sql, &mut sink)
        .and_then(|_| s.finish(&mut sink))
        .map_err(|e| refuse(e.to_string()))?;
    if !clean {
        return Err(refuse("ends inside a statement or a quote".into()));
    }
    Ok(())
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
    // As the server's scanner reads them: a word is a run of identifier characters (so `end--`
    // is END then a comment, `commit/**/work` two words), comments (nested `/* */`, `--` to the
    // end of the line) and whitespace between words are skipped, anything else ends the words.
    let mut words = Vec::new();
    let mut i = 0;
    while words.len() < n {
        i = skip_space_and_comments(stmt, i);
        let start = i;
        while i < stmt.len() && is_word_byte(stmt[i]) {
            i += 1;
        }
        if i == start {
            break;
        }
        words.push(String::from_utf8_lossy(&stmt[start..i]).to_ascii_uppercase());
    }
    words
}

/// A byte of an unquoted identifier or keyword (letters, digits, `_`, `$`, any non-ASCII byte).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Past whitespace and comments from `i` (an unterminated comment runs to the end).
fn skip_space_and_comments(s: &[u8], mut i: usize) -> usize {
    loop {
        while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            i += 1;
        }
        if s[i..].starts_with(b"--") {
            while i < s.len() && s[i] != b'\n' {
                i += 1;
            }
        } else if s[i..].starts_with(b"/*") {
            let mut depth = 0usize;
            while i < s.len() {
                if s[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if s[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else {
            return i;
        }
    }
}

/// One statement as [`report`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementInfo {
    pub text: Vec<u8>,
    /// The line psql sends it from (its `;`, or the last line for an unterminated tail).
    pub line: u64,
    pub terminated: bool,
    /// psql's query buffer is not empty (something besides whitespace and `--` comments).
    pub nonempty: bool,
    /// The server runs something (a token besides comments and `;`).
    pub real: bool,
    /// It ends inside a `/* … */` comment (an unterminated tail).
    pub in_comment: bool,
    /// COPY data follows it.
    pub copy: bool,
}

/// What psql would do with `input`, as Offsite's lexer sees it: the statements it would send,
/// up to where the splitter stops (`Err`: a meta-command or something refused). For tests
/// (the psql-as-oracle fuzz target) and diagnostics.
pub fn report(input: &[u8]) -> (Vec<StatementInfo>, Option<LexError>) {
    let mut s = Splitter::new();
    s.record = Some(Vec::new());
    let mut sink = |_: Piece| -> Result<(), LexError> { Ok(()) };
    let r = s.push(input, &mut sink).and_then(|_| s.finish(&mut sink));
    (s.record.take().unwrap_or_default(), r.err())
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
mod tests;
