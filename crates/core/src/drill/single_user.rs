//! What Offsite says to a server started from a physical base in single-user mode (see
//! [`super::cluster::ThrowawayCluster::reopen_for_reading`]), and how it reads the answer.
//!
//! The catalog of a base is its source's: a superuser there (or the server itself) can have
//! planted a trigger or a rule on a system catalog (`SET allow_system_table_mods = on` is a
//! superuser's session setting since PostgreSQL 12), an event trigger, per-role and
//! per-database settings. Single-user mode runs as the bootstrap superuser, so it must run
//! nothing of that:
//! - no DML: a trigger or rule on a catalog fires on `DELETE FROM pg_catalog.…` as on any
//!   table. The settings are cleared with `ALTER ROLE … RESET ALL` and `ALTER DATABASE … RESET
//!   ALL`, utility commands that change the catalog through the server's own C code (no
//!   executor: no trigger, no rule); roles and databases are global objects, for which no event
//!   trigger fires — and single-user mode fires none at all, nor applies per-role or
//!   per-database settings (PostgreSQL skips both when not under a postmaster);
//! - what to reset is read first, by a run of plain `SELECT`s of catalog columns, qualified,
//!   with no function, operator or cast (nothing resolved by name that a source could have
//!   added an overload for); a rule `ON SELECT` cannot exist on a catalog (it has indexes);
//! - the answer is parsed strictly (the server's own debug format, every line expected): a
//!   name that imitates it fails the parse, never yields another statement;
//! - names go back as quoted identifiers on one line each (control bytes as Unicode escapes),
//!   so no name can end a statement or start another;
//! - a settings row no utility command can clear (for a role or database that does not
//!   exist, or for a reserved `pg_` role: only a hand edit of the catalog makes one) is refused
//!   before anything changes, and after the resets the catalog must hold no row at all.
//!
//! What this cannot stop: a source superuser who edits catalog rows by hand (`UPDATE
//! pg_catalog.pg_type SET typoutput = …`) makes the server itself call a function of theirs in
//! any session, Offsite's included. The confinement of the server process is what stands
//! there (docs/security.md).

use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};

/// The read-only run: every role, every database, every settings row (their keys).
pub const LISTING: &str = "SELECT oid, rolname FROM pg_catalog.pg_authid\n\
                           SELECT oid, datname FROM pg_catalog.pg_database\n\
                           SELECT setdatabase, setrole FROM pg_catalog.pg_db_role_setting\n";
/// The check after the resets: no settings row is left.
pub const LEFT: &str = "SELECT setdatabase, setrole FROM pg_catalog.pg_db_role_setting\n";
/// The most a single-user run may print (a role is about 150 bytes of it).
pub const OUTPUT_LIMIT: u64 = 64 << 20;

/// A column as the server prints it: name, type oid, length, by value.
#[derive(Debug, Clone, Copy)]
pub struct Column(&'static str, u32, i32, bool);

const OID: u32 = 26;
const NAME: u32 = 19;
const ROLES: [Column; 2] = [
    Column("oid", OID, 4, true),
    Column("rolname", NAME, 64, false),
];
const DATABASES: [Column; 2] = [
    Column("oid", OID, 4, true),
    Column("datname", NAME, 64, false),
];
const SETTINGS: [Column; 2] = [
    Column("setdatabase", OID, 4, true),
    Column("setrole", OID, 4, true),
];

/// One statement of a run, as its answer is expected: a query's columns, or a command that
/// prints nothing.
#[derive(Debug, Clone, Copy)]
pub enum Said {
    Rows(&'static [Column]),
    Nothing,
}

/// What [`LISTING`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub roles: BTreeMap<u32, Vec<u8>>,
    pub databases: BTreeMap<u32, Vec<u8>>,
    /// (database oid, role oid); 0 for "every".
    pub settings: BTreeSet<(u32, u32)>,
}

/// [`LISTING`]'s answer read.
pub fn parse_listing(out: &[u8]) -> Result<Listing> {
    let answers = parse(
        out,
        &[
            Said::Rows(&ROLES),
            Said::Rows(&DATABASES),
            Said::Rows(&SETTINGS),
        ],
    )?;
    let named = |rows: &[Vec<Vec<u8>>]| -> Result<BTreeMap<u32, Vec<u8>>> {
        rows.iter()
            .map(|r| Ok((oid(&r[0])?, r[1].clone())))
            .collect()
    };
    Ok(Listing {
        roles: named(&answers[0])?,
        databases: named(&answers[1])?,
        settings: answers[2]
            .iter()
            .map(|r| Ok((oid(&r[0])?, oid(&r[1])?)))
            .collect::<Result<_>>()?,
    })
}

/// The statements (one a line, no newline in them) that clear every settings row of
/// `listing`; an `integrity` error, before anything changes, for a row none can clear.
pub fn resets(listing: &Listing) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut stray = Vec::new();
    for &(db, role) in &listing.settings {
        let role_name = listing.roles.get(&role);
        let db_name = listing.databases.get(&db);
        let reserved = role_name.is_some_and(|n| n.starts_with(b"pg_"));
        let stmt = match (db, role) {
            (0, 0) => Some(b"ALTER ROLE ALL RESET ALL".to_vec()),
            (0, _) => role_name.map(|r| [b"ALTER ROLE ", &quote(r)[..], b" RESET ALL"].concat()),
            (_, 0) => db_name.map(|d| [b"ALTER DATABASE ", &quote(d)[..], b" RESET ALL"].concat()),
            _ => role_name.zip(db_name).map(|(r, d)| {
                [
                    b"ALTER ROLE ",
                    &quote(r)[..],
                    b" IN DATABASE ",
                    &quote(d)[..],
                    b" RESET ALL",
                ]
                .concat()
            }),
        };
        match stmt {
            Some(s) if !reserved => out.push(s),
            _ => stray.push((db, role)),
        }
    }
    if !stray.is_empty() {
        return Err(stray_rows(&stray));
    }
    Ok(out)
}

/// The answer of a run of `commands` commands then [`LEFT`]: an `integrity` error when a
/// settings row is left.
pub fn check_cleared(out: &[u8], commands: usize) -> Result<()> {
    let mut expect = vec![Said::Nothing; commands];
    expect.push(Said::Rows(&SETTINGS));
    let answers = parse(out, &expect)?;
    let left: Vec<(u32, u32)> = answers[commands]
        .iter()
        .map(|r| Ok((oid(&r[0])?, oid(&r[1])?)))
        .collect::<Result<_>>()?;
    if left.is_empty() {
        Ok(())
    } else {
        Err(stray_rows(&left))
    }
}

fn stray_rows(rows: &[(u32, u32)]) -> Error {
    let list: Vec<String> = rows
        .iter()
        .take(5)
        .map(|(d, r)| format!("database oid {d}, role oid {r}"))
        .collect();
    let more = rows.len().saturating_sub(5);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Error::integrity(format!(
        "the base's catalog holds per-role or per-database settings that no command can clear \
         (for a role or database that does not exist, or a reserved pg_ role: {}{more}): refused \
         — only a hand edit of the catalog on the source makes such rows, and a session of a \
         role made later could take them",
        list.join("; ")
    ))
    .with_hint(
        "check who controls the source server, then take a new base (offsite pitr enable \
         PROJECT --mode physical); --to-data-dir gives the folder without Offsite starting it",
    )
}

/// `name` as a quoted identifier on one line: `"…"` with `"` doubled, or `U&"…"` with `\` and
/// control bytes as escapes when it holds any.
pub fn quote(name: &[u8]) -> Vec<u8> {
    let control = |b: u8| b < 0x20 || b == 0x7f;
    let escaped = name.iter().any(|&b| control(b));
    let mut q = Vec::with_capacity(name.len() + 4);
    if escaped {
        q.extend_from_slice(b"U&");
    }
    q.push(b'"');
    for &b in name {
        match b {
            b'"' => q.extend_from_slice(b"\"\""),
            b'\\' if escaped => q.extend_from_slice(b"\\\\"),
            b if control(b) => q.extend_from_slice(format!("\\{b:04X}").as_bytes()),
            b => q.push(b),
        }
    }
    q.push(b'"');
    q
}

fn oid(v: &[u8]) -> Result<u32> {
    std::str::from_utf8(v)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| unexpected("an oid that is not a number"))
}

fn unexpected(what: &str) -> Error {
    Error::integrity(format!(
        "the restored cluster's answer in single-user mode was not as expected ({what}): refused"
    ))
}

const PROMPT: &[u8] = b"backend> ";

/// The answer of a single-user run of the statements `expect` describes, one per line: for
/// each a list of rows (each a list of values, raw bytes) — empty for a command. Every byte is
/// accounted for: the banner, a prompt before each statement and one at the end, each query's
/// header and rows exactly as the server prints them (`debugtup`).
pub fn parse(out: &[u8], expect: &[Said]) -> Result<Vec<Vec<Vec<Vec<u8>>>>> {
    let first = find(out, PROMPT).ok_or_else(|| unexpected("no prompt"))?;
    let banner = &out[..first];
    if !banner
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        return Err(unexpected("a banner that is not text"));
    }
    let mut rest = &out[first..];
    let mut answers = Vec::with_capacity(expect.len());
    for said in expect {
        rest = rest
            .strip_prefix(PROMPT)
            .ok_or_else(|| unexpected("a statement's answer where none was due"))?;
        let mut rows = Vec::new();
        if let Said::Rows(cols) = said {
            for (i, c) in cols.iter().enumerate() {
                rest = strip(rest, format!("\t{:>2}: {}", i + 1, c.0).as_bytes())?;
                rest = strip(rest, &c.suffix()[1..])?;
            }
            rest = strip(rest, b"\t----\n")?;
            let row_start = format!("\t 1: {} = \"", cols[0].0);
            while rest.starts_with(row_start.as_bytes()) {
                let mut row = Vec::with_capacity(cols.len());
                for (i, c) in cols.iter().enumerate() {
                    rest = strip(rest, format!("\t{:>2}: {} = \"", i + 1, c.0).as_bytes())?;
                    let suffix = c.suffix();
                    // A name is at most 63 bytes, an oid 10 digits.
                    let window = &rest[..rest.len().min(64 + suffix.len())];
                    let end = find(window, &suffix).ok_or_else(|| unexpected("a value's end"))?;
                    row.push(rest[..end].to_vec());
                    rest = &rest[end + suffix.len()..];
                }
                rest = strip(rest, b"\t----\n")?;
                rows.push(row);
            }
        }
        answers.push(rows);
    }
    rest = strip(rest, PROMPT)?;
    if !rest.iter().all(u8::is_ascii_whitespace) {
        return Err(unexpected("more than the statements' answers"));
    }
    Ok(answers)
}

impl Column {
    /// What follows a column's value (and, without the quote, its name in the header).
    fn suffix(&self) -> Vec<u8> {
        let Column(_, typeid, len, byval) = *self;
        let byval = if byval { 't' } else { 'f' };
        format!("\"\t(typeid = {typeid}, len = {len}, typmod = -1, byval = {byval})\n").into_bytes()
    }
}

fn strip<'a>(s: &'a [u8], prefix: &[u8]) -> Result<&'a [u8]> {
    s.strip_prefix(prefix)
        .ok_or_else(|| unexpected("a line out of place"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[path = "single_user_tests.rs"]
mod tests;
