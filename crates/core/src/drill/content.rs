//! The content check of a drill: every restored table read back with `COPY … TO STDOUT` under
//! the session settings the backup's digests were made under, hashed and counted as it
//! streams, and compared with what the manifest recorded at backup time (see
//! [`crate::postgres::digest`]); the large objects likewise.
//!
//! Why it is exact: the digest is over the bytes pg_dump's own `COPY … TO stdout` produced (the
//! rows of the table's data block in `database.dump`), and the read-back runs the same
//! statement (same column list) with the same output settings (`DateStyle`, `IntervalStyle`,
//! `extra_float_digits`, `TimeZone`, `search_path`, `bytea_output`, `lc_monetary`,
//! `client_encoding`). A freshly restored table's heap holds its rows in the order they were
//! loaded, which is the order pg_dump read them; with `synchronize_seqscans = off` a sequential
//! scan returns them in that order.

use super::{CheckStatus, DrillCheck};
use crate::archive::{ContentDigests, LargeObjectsDigest, Manifest, TableCount};
use crate::error::{Error, Result};
use crate::postgres::digest::large_objects_digest;
use futures::TryStreamExt;
use ring::digest::{Context, SHA256};
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;

/// Bytes of a large object read per query.
const LO_CHUNK: i32 = 1 << 20;

/// Compare every table of `manifest` (and its large objects) with the database `conn` is
/// connected to (a restore of that backup): one check per table (`table:<schema>.<table>`),
/// and `large_objects` when the backup had any.
pub async fn check_tables(
    conn: &mut PgConnection,
    manifest: &Manifest,
    cancel: &CancellationToken,
) -> Result<Vec<DrillCheck>> {
    let default = ContentDigests::default();
    let content = manifest.content.as_ref().unwrap_or(&default);
    let unset = apply_settings(conn, content).await?;
    let mut checks = Vec::new();
    if !unset.is_empty() {
        checks.push(settings_note(&unset));
    }
    if let Some(sel) = manifest.selection.as_ref().filter(|s| !s.is_empty()) {
        checks.push(selection_note(sel));
    }
    if manifest.tables_note.is_some() && manifest.tables.is_empty() {
        for name in &manifest.dump_tables {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            checks.push(imported_table(name));
        }
    }
    for t in &manifest.tables {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let check = match &t.sha256 {
            Some(sha) => compare_table(conn, t, sha, &unset, cancel).await?,
            None => count_only(conn, t, manifest, content).await,
        };
        checks.push(check);
    }
    if let Some(lo) = &content.large_objects {
        checks.push(compare_large_objects(conn, lo, cancel).await?);
    }
    Ok(checks)
}

/// A selective backup: the drill checks the tables whose rows it holds and says what it does
/// not check (left out by choice, not missing).
fn selection_note(sel: &crate::selection::BackupSelection) -> DrillCheck {
    DrillCheck {
        id: "selection".into(),
        title: "Selective backup: what it left out is not checked".into(),
        status: CheckStatus::NotComparable,
        expected: None,
        actual: None,
        detail: Some(format!(
            "this backup holds part of the database by choice; not checked: {}",
            sel.lines().join("; ")
        )),
    }
}

/// A setting of the backup's session the drill's server refused (e.g. an `lc_monetary` naming a
/// locale this machine lacks): not a failure by itself (the restore went through, and a table
/// whose output it changes fails its own check, naming it), but said, with what to do.
fn settings_note(unset: &[String]) -> DrillCheck {
    DrillCheck {
        id: "settings".into(),
        title: "Session settings of the backup's digests".into(),
        status: CheckStatus::NotComparable,
        expected: Some("every setting the digests were made under can be set".into()),
        actual: Some(format!("{} could not be set", unset.len())),
        detail: Some(format!(
            "{}; tables were read back under the drill server's default for it instead (a table \
             whose output depends on it, such as money under lc_monetary, fails its own check if \
             it differs); to reproduce it, install that locale on the drill's machine (Debian: \
             the locales package, locale-gen) or drill into a scratch server that has it",
            unset.join("; ")
        )),
    }
}

/// `"schema"."table"` with every quote doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn qualified(t: &TableCount) -> String {
    format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.table))
}

fn check_id(t: &TableCount) -> String {
    format!("table:{}.{}", t.schema, t.table)
}

fn title(t: &TableCount) -> String {
    format!("Table {}.{}: rows and content", t.schema, t.table)
}

fn summary(rows: u64, sha: &str) -> String {
    format!("{rows} rows, sha256 {}…", &sha[..sha.len().min(16)])
}

/// Set the digests' settings in this session; the ones that could not be set (or were not
/// taken), with why (also what a diff against a live database reads it under).
///
/// Settings read from an archive are data, not instructions: the session's `search_path` is
/// first pinned to `''` (a fully qualified call, so nothing planted on the server answers it),
/// and only the keys Offsite itself records ([`crate::postgres::digest::attach`]) are taken,
/// each with a value its own parser accepts ([`admit_setting`]); anything else is left unset
/// and said.
pub async fn apply_settings(
    conn: &mut PgConnection,
    content: &ContentDigests,
) -> Result<Vec<String>> {
    crate::postgres::conn::pin_search_path(conn)
        .await
        .map_err(|e| Error::new(crate::error::ErrorKind::ToolFailed, e.to_string()))?;
    let mut settings: Vec<(&str, &str)> = vec![
        ("synchronize_seqscans", "off"),
        ("row_security", "off"),
        ("statement_timeout", "0"),
    ];
    let mut unset = Vec::new();
    for (k, v) in &content.settings {
        match admit_setting(k, v) {
            Ok(()) => settings.push((k.as_str(), v.as_str())),
            Err(why) => unset.push(why),
        }
    }
    if !content.settings.contains_key("TimeZone") {
        // An archive from before digests: no table is hashed, but keep the session fixed.
        settings.push(("TimeZone", "UTC"));
    }
    for (name, value) in settings {
        let r = sqlx::query("SELECT pg_catalog.set_config($1, $2, false)")
            .bind(name)
            .bind(value)
            .execute(&mut *conn)
            .await;
        if let Err(e) = r {
            unset.push(format!("{name} = '{value}' could not be set ({e})"));
        }
    }
    Ok(unset)
}

/// Whether a setting's value is one Offsite could have recorded.
type Admit = fn(&str) -> bool;

/// The settings an archive's manifest may carry (the ones Offsite records with its digests):
/// the name, and its value's parser.
const ADMITTED_SETTINGS: [(&str, Admit); 8] = [
    ("DateStyle", date_style),
    ("IntervalStyle", |v| {
        ["postgres", "postgres_verbose", "sql_standard", "iso_8601"].contains(&v)
    }),
    ("extra_float_digits", |v| {
        v.parse::<i32>().is_ok_and(|n| (-15..=3).contains(&n))
    }),
    ("TimeZone", |v| {
        short_word(v, 64, |c| c.is_ascii_alphanumeric() || "/_+-:.".contains(c))
    }),
    // pg_dump's own: empty, the path the session is pinned to.
    ("search_path", |v| v.is_empty() || v == "pg_catalog"),
    ("bytea_output", |v| v == "hex" || v == "escape"),
    ("lc_monetary", |v| {
        v.is_empty() || short_word(v, 64, |c| c.is_ascii_alphanumeric() || "_.@-".contains(c))
    }),
    ("client_encoding", |v| {
        short_word(v, 32, |c| c.is_ascii_alphanumeric() || c == '_')
    }),
];

fn short_word(v: &str, max: usize, ok: impl Fn(char) -> bool) -> bool {
    !v.is_empty() && v.len() <= max && v.chars().all(ok)
}

/// `ISO`, `ISO, MDY`, … : up to two of PostgreSQL's DateStyle words.
fn date_style(v: &str) -> bool {
    const WORDS: [&str; 11] = [
        "iso",
        "postgres",
        "sql",
        "german",
        "dmy",
        "mdy",
        "ymd",
        "euro",
        "european",
        "us",
        "noneuropean",
    ];
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    parts.len() <= 2
        && parts
            .iter()
            .all(|p| WORDS.contains(&p.to_ascii_lowercase().as_str()))
}

/// Whether the manifest's setting `name = value` is one Offsite records, with a value it could
/// have recorded; if not, the words that say it was not set.
pub fn admit_setting(name: &str, value: &str) -> std::result::Result<(), String> {
    let shown = |s: &str| {
        s.chars()
            .take(80)
            .collect::<String>()
            .escape_debug()
            .to_string()
    };
    match ADMITTED_SETTINGS.iter().find(|(k, _)| *k == name) {
        Some((_, valid)) if valid(value) => Ok(()),
        Some(_) => Err(format!(
            "{} = '{}' was not set: the archive's manifest gives a value Offsite never records              for it (the manifest was changed after the backup)",
            name,
            shown(value)
        )),
        None => Err(format!(
            "{} = '{}' was not set: the archive's manifest names a setting Offsite never records              (the manifest was changed after the backup)",
            shown(name),
            shown(value)
        )),
    }
}

async fn compare_table(
    conn: &mut PgConnection,
    t: &TableCount,
    expected_sha: &str,
    unset: &[String],
    cancel: &CancellationToken,
) -> Result<DrillCheck> {
    let expected = summary(t.rows, expected_sha);
    let columns = t.columns.as_deref().unwrap_or_default();
    let list = if columns.is_empty() {
        String::new()
    } else {
        let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        format!(" ({})", cols.join(", "))
    };
    let statement = format!("COPY {}{list} TO STDOUT", qualified(t));
    let mut check = DrillCheck {
        id: check_id(t),
        title: title(t),
        status: CheckStatus::Passed,
        expected: Some(expected),
        actual: None,
        detail: None,
    };
    let read = read_back(conn, &statement, cancel).await;
    let (sha, lines) = match read {
        Ok(r) => r,
        Err(e) if e.kind() == crate::error::ErrorKind::Cancelled => return Err(e),
        Err(e) => {
            check.status = CheckStatus::Failed;
            check.actual = Some("not readable".into());
            check.detail = Some(format!(
                "{}.{} could not be read back: {}",
                t.schema,
                t.table,
                e.message()
            ));
            return Ok(check);
        }
    };
    check.actual = Some(summary(lines, &sha));
    if sha != expected_sha || lines != t.rows {
        check.status = CheckStatus::Failed;
        let mut detail = if lines != t.rows {
            format!(
                "{}.{} has {lines} rows after the restore; the backup had {}",
                t.schema, t.table, t.rows
            )
        } else {
            format!(
                "{}.{} has the backup's {lines} rows but not their content \
                 (sha256 {sha}, the backup's {expected_sha})",
                t.schema, t.table
            )
        };
        if !unset.is_empty() {
            detail.push_str(&format!("; {}", unset.join("; ")));
        }
        check.detail = Some(detail);
    }
    Ok(check)
}

/// SHA-256 (hex) and line count of what a `COPY … TO STDOUT` sends.
async fn read_back(
    conn: &mut PgConnection,
    statement: &str,
    cancel: &CancellationToken,
) -> Result<(String, u64)> {
    let mut stream = conn
        .copy_out_raw(statement)
        .await
        .map_err(|e| Error::new(crate::error::ErrorKind::ToolFailed, e.to_string()))?;
    let mut ctx = Context::new(&SHA256);
    let mut lines = 0u64;
    loop {
        let next = tokio::select! {
            next = stream.try_next() => next,
            _ = cancel.cancelled() => return Err(Error::cancelled()),
        };
        let Some(bytes) =
            next.map_err(|e| Error::new(crate::error::ErrorKind::ToolFailed, e.to_string()))?
        else {
            break;
        };
        ctx.update(&bytes);
        lines += memchr::memchr_iter(b'\n', &bytes).count() as u64;
    }
    Ok((hex::encode(ctx.finish().as_ref()), lines))
}

/// A table without a digest (an archive from before digests): its row count is compared.
async fn count_only(
    conn: &mut PgConnection,
    t: &TableCount,
    manifest: &Manifest,
    content: &ContentDigests,
) -> DrillCheck {
    let why = match &content.note {
        Some(note) => note.clone(),
        None if manifest.tenant.is_some() => {
            "a per-tenant archive records its tables' row counts, not content digests".into()
        }
        None if manifest.content.is_none() => {
            "the backup recorded no content digests (made before Offsite recorded them)".into()
        }
        None => "the dump held no data block for this table".into(),
    };
    let counted: std::result::Result<i64, _> =
        sqlx::query_scalar(&format!("SELECT pg_catalog.count(*) FROM {}", qualified(t)))
            .fetch_one(&mut *conn)
            .await;
    let mut check = DrillCheck {
        id: check_id(t),
        title: title(t),
        status: CheckStatus::NotComparable,
        expected: Some(format!("{} rows", t.rows)),
        actual: None,
        detail: None,
    };
    match counted {
        Ok(n) if n as u64 == t.rows => {
            check.actual = Some(format!("{n} rows"));
            check.detail = Some(format!(
                "content not compared: {why}; the row count was checked instead and matches"
            ));
        }
        Ok(n) => {
            check.status = CheckStatus::Failed;
            check.actual = Some(format!("{n} rows"));
            check.detail = Some(format!(
                "{}.{} has {n} rows after the restore; the backup had {} (content not compared: {why})",
                t.schema, t.table, t.rows
            ));
        }
        Err(e) => {
            check.status = CheckStatus::Failed;
            check.actual = Some("not readable".into());
            check.detail = Some(format!(
                "{}.{} could not be counted: {e}",
                t.schema, t.table
            ));
        }
    }
    check
}

/// A table of an imported dump: neither a digest nor a row count was recorded.
fn imported_table(name: &str) -> DrillCheck {
    DrillCheck {
        id: format!("table:{name}"),
        title: format!("Table {name}: rows and content"),
        status: CheckStatus::NotComparable,
        expected: None,
        actual: None,
        detail: Some(
            "an imported dump records neither row counts nor content digests: \
             only that the restore succeeded is checked"
                .into(),
        ),
    }
}

async fn compare_large_objects(
    conn: &mut PgConnection,
    expected: &LargeObjectsDigest,
    cancel: &CancellationToken,
) -> Result<DrillCheck> {
    let summary = |count: u64, sha: &str| {
        format!(
            "{count} large objects, sha256 {}…",
            &sha[..sha.len().min(16)]
        )
    };
    let mut check = DrillCheck {
        id: "large_objects".into(),
        title: "Large objects: count and content".into(),
        status: CheckStatus::Passed,
        expected: Some(summary(expected.count, &expected.sha256)),
        actual: None,
        detail: None,
    };
    let read = read_large_objects(conn, cancel).await;
    let actual = match read {
        Ok(a) => a,
        Err(e) if e.kind() == crate::error::ErrorKind::Cancelled => return Err(e),
        Err(e) => {
            check.status = CheckStatus::Failed;
            check.detail = Some(format!(
                "the large objects could not be read: {}",
                e.message()
            ));
            return Ok(check);
        }
    };
    check.actual = Some(summary(actual.count, &actual.sha256));
    if actual != *expected {
        check.status = CheckStatus::Failed;
        check.detail = Some(format!(
            "the restored large objects differ from the backup's ({} objects, sha256 {}; the backup's {} objects, sha256 {})",
            actual.count, actual.sha256, expected.count, expected.sha256
        ));
    }
    Ok(check)
}

async fn read_large_objects(
    conn: &mut PgConnection,
    cancel: &CancellationToken,
) -> Result<LargeObjectsDigest> {
    let sql_err = |e: sqlx::Error| Error::new(crate::error::ErrorKind::ToolFailed, e.to_string());
    let oids: Vec<sqlx::postgres::types::Oid> =
        sqlx::query_scalar("SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid")
            .fetch_all(&mut *conn)
            .await
            .map_err(sql_err)?;
    let mut objects = Vec::with_capacity(oids.len());
    for oid in oids {
        let mut ctx = Context::new(&SHA256);
        let mut offset: i64 = 0;
        loop {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let chunk: Vec<u8> = sqlx::query_scalar("SELECT pg_catalog.lo_get($1, $2, $3)")
                .bind(oid)
                .bind(offset)
                .bind(LO_CHUNK)
                .fetch_one(&mut *conn)
                .await
                .map_err(sql_err)?;
            ctx.update(&chunk);
            offset += chunk.len() as i64;
            if chunk.len() < LO_CHUNK as usize {
                break;
            }
        }
        let mut sha = [0u8; 32];
        sha.copy_from_slice(ctx.finish().as_ref());
        objects.push((oid.0, sha));
    }
    Ok(large_objects_digest(objects))
}
