//! Recognising, describing and unpacking plain SQL dump files (`.sql`, `.sql.gz`, `pg_dumpall`
//! output).

use super::classify::{ArbitrarySql, Classifier, Findings};
use super::{entry_header, leading_words, meta_command, trim_eol, LexError, Piece, Splitter};
use crate::error::{Error, ErrorKind, Result};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// How much of a file is looked at to decide whether it is SQL at all.
const SNIFF: usize = 64 * 1024;

/// What a plain SQL file holds, for the import preview.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlainSqlInfo {
    /// gzip-compressed (`.sql.gz`).
    pub compressed: bool,
    /// `pg_dumpall` output (a cluster: roles and several databases).
    pub dumpall: bool,
    /// Written by pg_dump / pg_dumpall (their header comment), not by some other tool.
    pub from_pg_dump: bool,
    /// The databases the file connects to and holds objects of (`\connect`), with their
    /// tables. Empty for a plain `pg_dump` file of one database (see the preview's `tables`).
    pub databases: Vec<PlainDatabase>,
    /// Roles the file creates (`CREATE ROLE`, a `pg_dumpall` file's globals).
    pub roles: Vec<String>,
    /// It holds large objects.
    pub large_objects: bool,
    /// Uncompressed size of the SQL.
    pub sql_bytes: u64,
    /// Statements of the database's SQL that pg_dump never writes (the first
    /// [`PREVIEW_ARBITRARY`]): a restore runs them only with `--allow-arbitrary-sql`.
    pub arbitrary_sql: Vec<ArbitrarySql>,
    /// How many such statements the file holds in all.
    pub arbitrary_sql_total: u64,
}

/// How many statements pg_dump never writes the preview names.
pub const PREVIEW_ARBITRARY: usize = 5;

/// One database of a `pg_dumpall` (or `pg_dump --create`) file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlainDatabase {
    pub name: String,
    /// `schema.table` of the tables it creates.
    pub tables: Vec<String>,
}

/// The result of scanning a plain SQL file.
#[derive(Debug, Clone, Default)]
pub struct Scanned {
    pub info: PlainSqlInfo,
    /// `schema.table` of the tables a one-database file creates.
    pub tables: Vec<String>,
    /// "Dumped from database version" (first word, e.g. "15.18").
    pub server_version: Option<String>,
    /// "Dumped by pg_dump version" (first word).
    pub pg_dump_version: Option<String>,
    /// "Started on" of a verbose dump, as printed.
    pub started: Option<String>,
    /// Whether the file connects to databases (`\connect`): packing takes one of them.
    pub connects: bool,
}

/// Opens a plain SQL file, decompressing a gzip one.
pub fn open(path: &Path) -> Result<(Box<dyn Read + Send>, bool)> {
    let mut f =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut magic = [0u8; 2];
    let n = f
        .read(&mut magic)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    drop(f);
    let f = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let buf = BufReader::with_capacity(1 << 16, f);
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok((Box::new(flate2::bufread::MultiGzDecoder::new(buf)), true))
    } else {
        Ok((Box::new(buf), false))
    }
}

/// What a dump made elsewhere is, by its first bytes (at most 64 KiB, decompressed, are read):
/// "a pg_dump custom-format file" or "a plain SQL dump"; `None` for anything else (an Offsite
/// archive too). For errors that point to the import.
pub(crate) fn foreign_dump_kind(path: &Path) -> Option<&'static str> {
    let mut f = File::open(path).ok()?;
    let mut magic = [0u8; 5];
    let n = read_upto(&mut f, &mut magic).ok()?;
    if n == 5 && &magic == b"PGDMP" {
        return Some("a pg_dump custom-format file");
    }
    let gzip = n >= 2 && magic[..2] == [0x1f, 0x8b];
    if (gzip || looks_like_text(&magic[..n])) && sniff(path).unwrap_or(false) {
        return Some("a plain SQL dump");
    }
    None
}

/// Whether the first bytes of a file could be text (ASCII or UTF-8 beyond it).
pub(crate) fn looks_like_text(b: &[u8]) -> bool {
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_graphic() || c.is_ascii_whitespace() || *c >= 0x80)
}

/// Reads until `buf` is full or the reader ends; how many bytes came.
pub(crate) fn read_upto(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Whether the start of the (decompressed) file looks like SQL a psql script holds: a pg_dump
/// header, or a first statement or meta-command psql understands.
pub fn sniff(path: &Path) -> Result<bool> {
    let (mut r, _) = open(path)?;
    let mut head = vec![0u8; SNIFF];
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A gzip file whose start is not valid: not plain SQL.
            Err(_) => return Ok(false),
        }
    }
    let head = &head[..n];
    if head.contains(&0) || std::str::from_utf8(head).is_err() && n < SNIFF - 4 {
        return Ok(false);
    }
    let text = String::from_utf8_lossy(head);
    if text.starts_with("--\n-- PostgreSQL database") {
        return Ok(true);
    }
    // The first statement or meta-command.
    let mut found = None;
    let mut s = Splitter::allowing_connect();
    let _ = s.push(head, &mut |p: Piece| -> std::result::Result<(), ()> {
        if found.is_none() {
            match &p {
                Piece::Statement(st) => found = Some(leading_words(st, 1)),
                Piece::Meta(m) => found = Some(vec![format!("\\{}", meta_command(m).0)]),
                _ => {}
            }
        }
        if found.is_some() {
            Err(())
        } else {
            Ok(())
        }
    });
    const FIRST: &[&str] = &[
        "SET",
        "SELECT",
        "CREATE",
        "ALTER",
        "INSERT",
        "COPY",
        "BEGIN",
        "START",
        "DROP",
        "COMMENT",
        "GRANT",
        "REVOKE",
        "DO",
        "\\connect",
        "\\c",
        "\\restrict",
    ];
    Ok(found.is_some_and(|w| w.first().is_some_and(|w| FIRST.contains(&w.as_str()))))
}

/// `\connect` argument → database name (`db`, `"My DB"`, `-reuse-previous=on "dbname='x'"`).
pub fn connect_target(arg: &str) -> String {
    let arg = arg.trim();
    let arg = arg
        .strip_prefix("-reuse-previous=on")
        .map(str::trim)
        .unwrap_or(arg);
    let unquoted = if let Some(q) = arg.strip_prefix('"') {
        q.strip_suffix('"').unwrap_or(q).replace("\"\"", "\"")
    } else {
        arg.split_whitespace().next().unwrap_or("").to_string()
    };
    // A connection string: its dbname.
    if let Some(i) = unquoted.find("dbname=") {
        let v = &unquoted[i + "dbname=".len()..];
        if let Some(q) = v.strip_prefix('\'') {
            let mut out = String::new();
            let mut it = q.chars();
            while let Some(c) = it.next() {
                match c {
                    '\\' => {
                        if let Some(n) = it.next() {
                            out.push(n)
                        }
                    }
                    '\'' => break,
                    c => out.push(c),
                }
            }
            return out;
        }
        return v.split_whitespace().next().unwrap_or("").to_string();
    }
    unquoted
}

/// An identifier as written in SQL (`"a""b"` or `a`) → its name.
fn unquote_ident(s: &str) -> String {
    let s = s.trim().trim_end_matches(';');
    match s.strip_prefix('"') {
        Some(q) => q.strip_suffix('"').unwrap_or(q).replace("\"\"", "\""),
        None => s.to_ascii_lowercase(),
    }
}

/// The word after `n` leading words of a statement (case kept), for names.
fn word_at(stmt: &[u8], n: usize) -> Option<String> {
    let text = String::from_utf8_lossy(stmt);
    let mut rest: &str = text.trim_start();
    for _ in 0..n {
        let i = rest.find(char::is_whitespace)?;
        rest = rest[i..].trim_start();
    }
    if let Some(q) = rest.strip_prefix('"') {
        let mut out = String::from("\"");
        let mut chars = q.chars().peekable();
        while let Some(c) = chars.next() {
            out.push(c);
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    out.push(chars.next().unwrap());
                } else {
                    break;
                }
            }
        }
        return Some(out);
    }
    Some(
        rest.split(|c: char| c.is_whitespace() || c == ';')
            .next()?
            .to_string(),
    )
}

/// Per-section state while walking a file: which database the script is connected to, and
/// whether the database's own objects are being read (after its `\connect`).
#[derive(Default)]
struct Walk {
    connected: Option<String>,
    in_data: bool,
    seen_connect: bool,
    in_globals: bool,
}

impl Walk {
    fn new() -> Self {
        Walk {
            in_globals: true,
            ..Default::default()
        }
    }
    /// Update for a piece; whether it belongs to the database's objects (not to the globals,
    /// not to a database's creation before its `\connect`).
    fn step(&mut self, p: &Piece) -> bool {
        match p {
            Piece::Between(b) => {
                let t = String::from_utf8_lossy(trim_eol(b)).into_owned();
                if (t.starts_with("-- Database \"") && t.ends_with("\" dump"))
                    || t == "-- Databases"
                {
                    self.in_data = false;
                    self.in_globals = false;
                }
            }
            Piece::Meta(m) => {
                let (name, arg) = meta_command(m);
                if name == "connect" || name == "c" {
                    self.connected = Some(connect_target(&arg));
                    self.in_data = true;
                    self.seen_connect = true;
                    self.in_globals = false;
                    return false;
                }
            }
            _ => {}
        }
        self.in_data
    }
}

/// Reads the whole file once and describes it. A pg_dump / pg_dumpall file must end with its
/// "dump complete" trailer (else it was cut off); another SQL file must not end inside a
/// statement or COPY data.
pub fn scan(path: &Path, cancel: &CancellationToken) -> Result<Scanned> {
    scan_within(path, cancel, super::MAX_PENDING)
}

/// Refuses input that would make `splitter` hold more than `max` bytes of one line or
/// statement (a gzip bomb of one endless statement would otherwise fill memory).
pub(crate) fn check_pending(
    splitter: &Splitter,
    more: usize,
    max: usize,
    path: &Path,
) -> Result<()> {
    if splitter.pending().saturating_add(more) <= max {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::UnsupportedFormat,
        format!(
            "{}: a line or statement of the SQL is longer than {max} bytes",
            path.display()
        ),
    )
    .with_hint("PostgreSQL itself accepts no statement or COPY row this long: the file is damaged or not a dump; use another copy"))
}

/// What pg_dump's header comment lines say: which tool wrote the file, and from which versions.
fn note_dump_header(line: &str, sc: &mut Scanned) {
    if line == "-- PostgreSQL database cluster dump" {
        sc.info.dumpall = true;
        sc.info.from_pg_dump = true;
    }
    if line == "-- PostgreSQL database dump" {
        sc.info.from_pg_dump = true;
    }
    if let Some(v) = line.strip_prefix("-- Dumped from database version ") {
        sc.server_version
            .get_or_insert_with(|| v.split_whitespace().next().unwrap_or("").into());
    }
    if let Some(v) = line.strip_prefix("-- Dumped by pg_dump version ") {
        sc.pg_dump_version
            .get_or_insert_with(|| v.split_whitespace().next().unwrap_or("").into());
    }
    if let Some(v) = line.strip_prefix("-- Started on ") {
        sc.started.get_or_insert_with(|| v.trim().to_string());
    }
}

/// The databases a file with `\connect` offers: those with objects or created by the file
/// (template1/postgres with nothing in them are not offered), with their tables.
fn offered_databases(
    dbs: &[PlainDatabase],
    created: &BTreeSet<String>,
    with_objects: &BTreeSet<String>,
) -> Vec<PlainDatabase> {
    let mut names: Vec<String> = Vec::new();
    for d in dbs
        .iter()
        .map(|d| d.name.clone())
        .chain(created.iter().cloned())
        .chain(with_objects.iter().cloned())
    {
        if !d.is_empty() && !names.contains(&d) {
            names.push(d);
        }
    }
    names
        .into_iter()
        .map(|name| PlainDatabase {
            tables: dbs
                .iter()
                .find(|d| d.name == name)
                .map(|d| d.tables.clone())
                .unwrap_or_default(),
            name,
        })
        .collect()
}

/// A dump pg_dump wrote ends with its "dump complete" line; any file ends outside a statement
/// and outside COPY data.
fn check_complete(sc: &Scanned, last_comment: &str, clean: bool, path: &Path) -> Result<()> {
    let complete = if sc.info.dumpall {
        last_comment == "-- PostgreSQL database cluster dump complete"
    } else if sc.info.from_pg_dump {
        last_comment == "-- PostgreSQL database dump complete"
    } else {
        clean
    };
    if !complete || !clean {
        return Err(Error::integrity(format!(
            "{}: the SQL dump is incomplete (it ends {})",
            path.display(),
            if clean {
                "without pg_dump's \"dump complete\" line"
            } else {
                "inside a statement or COPY data"
            }
        ))
        .with_hint("the file was cut off while it was written or copied; use another copy"));
    }
    Ok(())
}

/// [`scan`] with the cap of [`check_pending`].
pub(crate) fn scan_within(path: &Path, cancel: &CancellationToken, max: usize) -> Result<Scanned> {
    let (mut r, compressed) = open(path)?;
    let mut sc = Scanned::default();
    sc.info.compressed = compressed;
    let mut walk = Walk::new();
    let mut last_comment = String::new();
    // Tables per database (in order of first appearance), and "" for a file without \connect.
    let mut dbs: Vec<PlainDatabase> = Vec::new();
    let mut created: BTreeSet<String> = BTreeSet::new();
    let mut with_objects: BTreeSet<String> = BTreeSet::new();
    let mut roles: Vec<String> = Vec::new();
    let mut splitter = Splitter::allowing_connect();
    let mut buf = vec![0u8; 1 << 20];
    let mut classifier = Classifier::new();
    // Statements pg_dump never writes: of the databases (after their `\connect`), and of a
    // file without `\connect` (before one: pg_dumpall's roles, `CREATE DATABASE` of
    // `pg_dump --create`, which packing leaves out when a `\connect` follows).
    let (mut in_dbs, mut before_connect) = (Findings::default(), Findings::default());
    // Inside an entry about privileges on the server's own catalog (`pg_catalog`): a restore
    // leaves out those that give a power over the server unless consent is given (the restore's
    // plan decides and lists them), so they ask for none here.
    let mut catalog_acl = false;
    let mut on_piece = |p: Piece| -> Result<()> {
        let own = walk.step(&p);
        let db = walk.connected.clone().unwrap_or_default();
        if let Piece::Between(b) = &p {
            if let Some(h) = super::entry_header(b) {
                catalog_acl = !h.data && h.desc == "ACL" && h.schema == "pg_catalog";
            }
        }
        if let Piece::Statement(s) = &p {
            if !catalog_acl && (own || (!walk.seen_connect && !sc.info.dumpall)) {
                if let Some(f) = classifier.classify(s) {
                    if own {
                        in_dbs.add(f);
                    } else {
                        before_connect.add(f);
                    }
                }
            }
        }
        match &p {
            Piece::Between(b) => {
                let line = String::from_utf8_lossy(trim_eol(b)).into_owned();
                note_dump_header(&line, &mut sc);
                if let Some(h) = entry_header(b) {
                    if !matches!(h.desc.as_str(), "DATABASE" | "DATABASE PROPERTIES") {
                        with_objects.insert(db.clone());
                    }
                    if matches!(
                        h.desc.as_str(),
                        "BLOB" | "BLOBS" | "LARGE OBJECT" | "LARGE OBJECTS" | "BLOB METADATA"
                    ) {
                        sc.info.large_objects = true;
                    }
                    if !h.data && h.desc == "TABLE" && (own || !walk.seen_connect) {
                        let name = format!("{}.{}", h.schema, h.tag);
                        match dbs.iter_mut().find(|d| d.name == db) {
                            Some(d) => d.tables.push(name),
                            None => dbs.push(PlainDatabase {
                                name: db.clone(),
                                tables: vec![name],
                            }),
                        }
                    }
                }
                if !line.trim().is_empty() && line.trim() != "--" {
                    last_comment = line;
                }
            }
            Piece::Statement(s) => {
                let w = leading_words(s, 2);
                let w: Vec<&str> = w.iter().map(String::as_str).collect();
                match w.as_slice() {
                    ["CREATE", "ROLE" | "USER"] => {
                        if let Some(name) = word_at(s, 2) {
                            let name = unquote_ident(&name);
                            if !roles.contains(&name) {
                                roles.push(name);
                            }
                        }
                    }
                    ["CREATE", "DATABASE"] => {
                        if let Some(name) = word_at(s, 2) {
                            created.insert(unquote_ident(&name));
                        }
                    }
                    _ => {}
                }
                if !s.iter().all(|b| b.is_ascii_whitespace()) {
                    last_comment.clear();
                }
            }
            Piece::Meta(m) => {
                let (name, _) = meta_command(m);
                if name != "restrict" && name != "unrestrict" {
                    last_comment.clear();
                }
            }
            Piece::CopyData(_) => {}
        }
        Ok(())
    };
    let mut total = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::integrity(format!(
                    "{}: cannot read the SQL: {e}",
                    path.display()
                ))
                .with_hint("the file is damaged or cut off; use another copy"))
            }
        };
        total += n as u64;
        check_pending(&splitter, n, max, path)?;
        splitter
            .push(&buf[..n], &mut on_piece)
            .map_err(|e| refused(&splitter, e, path))?;
    }
    let clean = splitter
        .finish(&mut on_piece)
        .map_err(|e| refused(&splitter, e, path))?;
    sc.info.sql_bytes = total;
    check_complete(&sc, &last_comment, clean, path)?;
    sc.connects = walk.seen_connect;
    let found = if sc.connects { in_dbs } else { before_connect };
    sc.info.arbitrary_sql_total = found.total;
    sc.info.arbitrary_sql = found.first.into_iter().take(PREVIEW_ARBITRARY).collect();
    if !sc.connects {
        sc.tables = dbs.into_iter().flat_map(|d| d.tables).collect();
    } else {
        sc.info.databases = offered_databases(&dbs, &created, &with_objects);
        if !sc.info.dumpall && !roles.is_empty() {
            // Roles and \connect without the cluster header: still a cluster dump.
            sc.info.dumpall = true;
        }
    }
    sc.info.roles = roles;
    Ok(sc)
}

/// What [`extract`] wrote.
#[derive(Debug, Default)]
pub struct Extracted {
    /// Roles that own objects of the database or are granted privileges on them.
    pub roles: Vec<String>,
    pub sql_bytes: u64,
}

/// Copies the SQL of `database` (`None`: a file without `\connect`, copied as it is) to `out`
/// and, when `globals` is given, the roles part of a `pg_dumpall` file to it (without password
/// hashes). Reports bytes of SQL read through `advance`.
pub fn extract(
    path: &Path,
    database: Option<&str>,
    out: &mut dyn Write,
    mut globals: Option<&mut Vec<u8>>,
    advance: &mut dyn FnMut(u64),
    cancel: &CancellationToken,
) -> Result<Extracted> {
    let (mut r, _) = open(path)?;
    let mut walk = Walk::new();
    let mut ex = Extracted::default();
    let mut roles: BTreeSet<String> = BTreeSet::new();
    let mut splitter = Splitter::allowing_connect();
    let mut in_acl = false;
    let mut on_piece = |p: Piece| -> Result<()> {
        let own = walk.step(&p);
        let mine = match database {
            None => true,
            Some(db) => own && walk.connected.as_deref() == Some(db),
        };
        if walk.in_globals && walk.connected.is_none() && database.is_some() {
            if let (Piece::Statement(s), Some(g)) = (&p, globals.as_deref_mut()) {
                let w = leading_words(s, 3);
                let w: Vec<&str> = w.iter().map(String::as_str).collect();
                if matches!(
                    w.as_slice(),
                    ["CREATE" | "ALTER", "ROLE" | "USER", ..]
                        | ["GRANT", ..]
                        | ["COMMENT", "ON", "ROLE"]
                ) {
                    if g.len() + s.len() > crate::units::MAX_SMALL_DOC as usize {
                        return Err(Error::new(
                            ErrorKind::UnsupportedFormat,
                            format!(
                                "{}: the roles part is larger than {} bytes",
                                path.display(),
                                crate::units::MAX_SMALL_DOC
                            ),
                        )
                        .with_hint("a pg_dumpall file's roles are a few KB: the file is damaged or not a dump; use another copy"));
                    }
                    g.extend_from_slice(&strip_passwords(s));
                }
            }
            return Ok(());
        }
        if !mine {
            return Ok(());
        }
        if let Piece::Between(b) = &p {
            if let Some(h) = entry_header(b) {
                if h.owner != "-" && !h.owner.is_empty() {
                    roles.insert(h.owner.clone());
                }
                in_acl = h.desc == "ACL" || h.desc == "DEFAULT ACL";
            }
        }
        if let Piece::Statement(s) = &p {
            if in_acl {
                roles.extend(grantees(s));
            }
        }
        if let Piece::Meta(_) = &p {
            // No meta-command goes into the archive's SQL: pg_dump's `\restrict` key would
            // clash with the one a restore runs psql under (and is dropped there anyway), and
            // `\connect` / `\encoding` belong to the pg_dumpall file, not to one database.
            return Ok(());
        }
        out.write_all(p.bytes())
            .map_err(|e| Error::io("writing the database's SQL", e))?;
        ex.sql_bytes += p.bytes().len() as u64;
        Ok(())
    };
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::integrity(format!(
                    "{}: cannot read the SQL: {e}",
                    path.display()
                ))
                .with_hint("the file is damaged or cut off; use another copy"))
            }
        };
        advance(n as u64);
        check_pending(&splitter, n, super::MAX_PENDING, path)?;
        splitter
            .push(&buf[..n], &mut on_piece)
            .map_err(|e| refused(&splitter, e, path))?;
    }
    splitter
        .finish(&mut on_piece)
        .map_err(|e| refused(&splitter, e, path))?;
    roles.remove("PUBLIC");
    ex.roles = roles.into_iter().collect();
    Ok(ex)
}

/// The splitter's refusal as the import's error (or `e` when it was not the splitter's).
fn refused(splitter: &Splitter, e: Error, path: &Path) -> Error {
    match splitter.failure() {
        Some(l) => refusal(l, path),
        None => e,
    }
}

/// The import's error for SQL the splitter refused.
pub fn refusal(l: &LexError, path: &Path) -> Error {
    let e = l.to_error("nothing was imported");
    Error::new(e.kind(), format!("{}: {}", path.display(), e.message()))
        .with_hint(e.hint().unwrap_or_default().to_string())
}

/// The roles a `GRANT … TO a, b;` grants to.
fn grantees(stmt: &[u8]) -> Vec<String> {
    let t = String::from_utf8_lossy(stmt);
    let t = t.trim().trim_end_matches(';');
    if !t.starts_with("GRANT ") {
        return Vec::new();
    }
    let Some(i) = t.rfind(" TO ") else {
        return Vec::new();
    };
    let list = &t[i + 4..];
    let list = list.split(" WITH ").next().unwrap_or(list);
    let list = list.split(" GRANTED BY ").next().unwrap_or(list);
    list.split(',')
        .map(|r| unquote_ident(r.trim()))
        .filter(|r| !r.is_empty() && r != "public")
        .collect()
}

/// `… PASSWORD '…'` left out of role statements (backups never hold password hashes).
pub fn strip_passwords(stmt: &[u8]) -> Vec<u8> {
    let w = leading_words(stmt, 2);
    if !(w.len() == 2
        && matches!(w[0].as_str(), "CREATE" | "ALTER")
        && matches!(w[1].as_str(), "ROLE" | "USER"))
    {
        return stmt.to_vec();
    }
    let mut out = Vec::with_capacity(stmt.len());
    let mut i = 0;
    while i < stmt.len() {
        if stmt[i..].starts_with(b" PASSWORD '") {
            let mut j = i + b" PASSWORD '".len();
            while j < stmt.len() {
                if stmt[j] == b'\'' {
                    if stmt.get(j + 1) == Some(&b'\'') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            i = j + 1;
            continue;
        }
        out.push(stmt[i]);
        i += 1;
    }
    out
}

/// The error for a `pg_dumpall` file with several databases and none (or an unknown one)
/// chosen.
pub fn choose_database_error(databases: &[PlainDatabase], asked: Option<&str>) -> Error {
    let names: Vec<&str> = databases.iter().map(|d| d.name.as_str()).collect();
    let message = match asked {
        Some(a) => format!(
            "the SQL dump holds no database {a:?}; it holds: {}",
            names.join(", ")
        ),
        None => format!(
            "the SQL dump holds {} databases ({}): choose the one to import",
            names.len(),
            names.join(", ")
        ),
    };
    Error::new(ErrorKind::InvalidInput, message)
        .with_hint("name the database to import (offsite import FILE --database NAME)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like pg_dumpall output (roles, template1, a created database, postgres).
    const CLUSTER: &str = "--\n-- PostgreSQL database cluster dump\n--\n\n\\restrict k0\n\nSET default_transaction_read_only = off;\n\n--\n-- Roles\n--\n\nCREATE ROLE app;\nALTER ROLE app WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:x$y:z';\nGRANT app TO postgres GRANTED BY postgres;\n\n\\unrestrict k0\n\n--\n-- Databases\n--\n\n--\n-- Database \"template1\" dump\n--\n\n\\connect template1\n\n--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 15.18 (Debian)\n-- Dumped by pg_dump version 15.18 (Debian)\n\nSET a = 1;\n\n--\n-- PostgreSQL database dump complete\n--\n\n--\n-- Database \"shop\" dump\n--\n\n--\n-- PostgreSQL database dump\n--\n\n\\restrict k1\n\nSET a = 1;\n\n--\n-- Name: shop; Type: DATABASE; Schema: -; Owner: app\n--\n\nCREATE DATABASE shop WITH TEMPLATE = template0;\n\n\nALTER DATABASE shop OWNER TO app;\n\n\\unrestrict k1\n\\connect shop\n\\restrict k1\n\nSET a = 1;\n\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: app\n--\n\nCREATE TABLE public.t (a text);\n\n--\n-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: app\n--\n\nCOPY public.t (a) FROM stdin;\n-- Database \"x\" dump\n\\connect evil\n\\.\n\n--\n-- Name: TABLE t; Type: ACL; Schema: public; Owner: app\n--\n\nGRANT SELECT ON TABLE public.t TO reader;\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict k1\n\n--\n-- Database \"postgres\" dump\n--\n\n\\connect postgres\n\nSET a = 1;\n\n--\n-- PostgreSQL database cluster dump complete\n--\n\n";

    #[test]
    fn a_cluster_dump_is_described_and_one_database_taken_out() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("all.sql");
        std::fs::write(&file, CLUSTER).unwrap();
        assert!(sniff(&file).unwrap());
        let sc = scan(&file, &CancellationToken::new()).unwrap();
        assert!(sc.info.dumpall && sc.info.from_pg_dump && sc.connects);
        assert_eq!(
            sc.info.databases,
            vec![PlainDatabase {
                name: "shop".into(),
                tables: vec!["public.t".into()]
            }],
            "template1 and postgres hold nothing; COPY data is not read as commands"
        );
        assert_eq!(sc.info.roles, vec!["app".to_string()]);
        assert_eq!(sc.server_version.as_deref(), Some("15.18"));

        let mut sql = Vec::new();
        let mut globals = Vec::new();
        let ex = extract(
            &file,
            Some("shop"),
            &mut sql,
            Some(&mut globals),
            &mut |_| {},
            &CancellationToken::new(),
        )
        .unwrap();
        let sql = String::from_utf8(sql).unwrap();
        assert!(sql.starts_with("\nSET a = 1;\n"), "{sql}");
        assert!(sql.contains(
            "COPY public.t (a) FROM stdin;\n-- Database \"x\" dump\n\\connect evil\n\\.\n"
        ));
        assert!(
            !sql.contains("CREATE DATABASE")
                && !sql.contains("\\connect shop")
                && !sql.contains("restrict"),
            "{sql}"
        );
        assert!(
            sql.contains("-- PostgreSQL database dump complete\n")
                && !sql.contains("postgres")
                && !sql.contains("template1"),
            "{sql}"
        );
        assert_eq!(ex.roles, vec!["app".to_string(), "reader".to_string()]);
        let globals = String::from_utf8(globals).unwrap();
        assert_eq!(
            globals,
            "CREATE ROLE app;\nALTER ROLE app WITH NOSUPERUSER LOGIN;\nGRANT app TO postgres GRANTED BY postgres;\n"
        );

        // Cut off: refused.
        let cut = dir.path().join("cut.sql");
        std::fs::write(&cut, &CLUSTER[..CLUSTER.find("-- Name: TABLE t").unwrap()]).unwrap();
        let e = scan(&cut, &CancellationToken::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        // Not SQL.
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "not a backup\n").unwrap();
        assert!(!sniff(&text).unwrap());
    }

    #[test]
    fn the_preview_does_not_count_privileges_on_the_servers_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("supa.sql");
        std::fs::write(&f, "--\n-- PostgreSQL database dump\n--\n\nSET check_function_bodies = false;\n\n--\n-- Name: FUNCTION lo_export(oid, text); Type: ACL; Schema: pg_catalog; Owner: supabase_admin\n--\n\nREVOKE ALL ON FUNCTION pg_catalog.lo_export(oid, text) FROM postgres;\nGRANT ALL ON FUNCTION pg_catalog.lo_export(oid, text) TO supabase_admin;\n\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: app\n--\n\nCREATE TABLE public.t (a text);\nGRANT ALL ON FUNCTION pg_catalog.pg_read_file(text) TO app;\n\n--\n-- PostgreSQL database dump complete\n--\n\n").unwrap();
        let sc = scan(&f, &CancellationToken::new()).unwrap();
        // Only the grant outside the catalog's ACL entry counts.
        assert_eq!(
            sc.info.arbitrary_sql_total, 1,
            "{:?}",
            sc.info.arbitrary_sql
        );
        assert!(sc.info.arbitrary_sql[0].excerpt.contains("pg_read_file"));
    }

    #[test]
    fn the_preview_counts_what_packing_keeps_of_sql_pg_dump_never_writes() {
        let dir = tempfile::tempdir().unwrap();
        // pg_dump --create: CREATE DATABASE before \connect is left out when packed.
        let created = dir.path().join("created.sql");
        std::fs::write(&created, "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n\n--\n-- Name: shop; Type: DATABASE; Schema: -; Owner: app\n--\n\nCREATE DATABASE shop WITH TEMPLATE = template0;\n\nALTER DATABASE shop OWNER TO app;\n\n\\connect shop\n\nSET check_function_bodies = false;\n\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: app\n--\n\nCREATE TABLE public.t (a text);\n\nCOPY public.t (a) FROM PROGRAM 'id';\n\n--\n-- PostgreSQL database dump complete\n--\n\n").unwrap();
        let sc = scan(&created, &CancellationToken::new()).unwrap();
        assert_eq!(
            sc.info.arbitrary_sql_total, 1,
            "{:?}",
            sc.info.arbitrary_sql
        );
        assert_eq!(
            sc.info.arbitrary_sql[0].kind,
            crate::plainsql::classify::ArbitraryKind::RunsProgram
        );
        // Without \connect everything counts, up to five named.
        let plain = dir.path().join("plain.sql");
        let mut sql =
            String::from("--\n-- PostgreSQL database dump\n--\n\nCREATE ROLE x SUPERUSER;\n");
        for i in 0..7 {
            sql.push_str(&format!("DO $$ BEGIN PERFORM {i}; END $$;\n"));
        }
        sql.push_str("\n--\n-- PostgreSQL database dump complete\n--\n\n");
        std::fs::write(&plain, sql).unwrap();
        let sc = scan(&plain, &CancellationToken::new()).unwrap();
        assert_eq!(sc.info.arbitrary_sql_total, 8);
        assert_eq!(sc.info.arbitrary_sql.len(), PREVIEW_ARBITRARY);
        assert_eq!(sc.info.arbitrary_sql[0].excerpt, "CREATE ROLE x SUPERUSER;");
        // pg_dumpall's roles and databases are not the database's statements.
        let all = dir.path().join("all.sql");
        std::fs::write(&all, CLUSTER).unwrap();
        let sc = scan(&all, &CancellationToken::new()).unwrap();
        assert!(
            sc.info
                .arbitrary_sql
                .iter()
                .all(|f| f.excerpt == "SET a = 1;"),
            "{:?}",
            sc.info.arbitrary_sql
        );
    }

    #[test]
    fn connect_targets() {
        assert_eq!(connect_target("shop"), "shop");
        assert_eq!(connect_target("\"My \"\"DB\"\"\""), "My \"DB\"");
        assert_eq!(
            connect_target("-reuse-previous=on \"dbname='it\\'s db'\""),
            "it's db"
        );
    }

    #[test]
    fn strips_password_hashes() {
        let s = b"ALTER ROLE alice WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:a''b';\n";
        assert_eq!(
            String::from_utf8(strip_passwords(s)).unwrap(),
            "ALTER ROLE alice WITH LOGIN;\n"
        );
        let g = b"GRANT x TO y;\n";
        assert_eq!(strip_passwords(g), g.to_vec());
    }

    #[test]
    fn grantee_lists() {
        assert_eq!(
            grantees(b"GRANT SELECT ON TABLE public.t TO app_rw, \"Odd\";\n"),
            vec!["app_rw".to_string(), "Odd".to_string()]
        );
        assert!(grantees(b"GRANT ALL ON SCHEMA public TO PUBLIC;\n").is_empty());
    }
}
