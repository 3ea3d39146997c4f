//! The undo file of a recovery and `recover --undo`.
//!
//! Written before the recovery commits, in the data folder (0600, a private temporary name,
//! synced), and renamed to `<id>.undo` only once the recovery's transaction committed: a failed
//! or cancelled recovery leaves none. Its form, line by line:
//!
//! ```text
//! {"version":1,"id":…,"target":…,"tables":[{schema, table, columns, key, …}]}
//! {"section":"old","table":0}      then COPY text: the old values of rows overwritten, then \.
//! {"section":"sequences","steps":[{"sequence":…,"before":…,"after":…}]}
//! {"section":"after","table":0}    then COPY text: key, md5 of the row as written, insert|update, then \.
//! {"section":"end"}
//! ```
//!
//! Undoing puts back the old values of updated rows and deletes inserted ones, in one
//! transaction, but only rows still as the recovery left them (same md5): the others are
//! reported as changed since, and left.

use super::apply::{copy_file, db_error, exec, session_settings};
use super::fkcheck::{self, Written};
use super::schema::quote_ident;
use super::sql;
use super::triggers::{self, TriggerHandling};
use super::RecoverInput;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The file name of undo file `id` in its folder.
pub fn undo_file_name(id: &str) -> String {
    format!("{id}.undo")
}

/// One table of an undo file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct UndoTableHead {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub key: Vec<String>,
    pub update_columns: Vec<String>,
    /// Columns of a cycle's foreign key, set NULL before the rows are deleted.
    pub nulled: Vec<String>,
}

/// A sequence the recovery advanced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SequenceStep {
    pub sequence: String,
    pub before: Option<i64>,
    pub after: i64,
}

/// The undo file's first line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UndoHeader {
    pub version: u32,
    pub id: String,
    pub created_at: String,
    /// A project's name or a URL without its password.
    pub target: String,
    pub archive: String,
    /// The recovery let the target's triggers fire (`--fire-triggers`): so does its undo.
    #[serde(default)]
    pub fire_triggers: bool,
    #[serde(default)]
    tables: Vec<UndoTableHead>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Section {
    section: String,
    #[serde(default)]
    table: usize,
    #[serde(default)]
    steps: Vec<SequenceStep>,
}

/// An undo file being written.
pub(super) struct UndoWriter {
    /// `None`: a dry run's writer, which keeps nothing.
    file: Option<tempfile::NamedTempFile>,
    out: BufWriter<Box<dyn Write + Send>>,
    path: PathBuf,
}

fn io(e: std::io::Error) -> Error {
    Error::io("writing the recovery's undo file", e)
}

impl UndoWriter {
    pub fn create(input: &RecoverInput<'_>, tables: Vec<UndoTableHead>) -> Result<UndoWriter> {
        crate::private_fs::create_dir_all(&input.undo_dir).map_err(io)?;
        let file =
            crate::private_fs::tempfile_in(&input.undo_dir, ".offsite-tmp-undo-").map_err(io)?;
        let out: Box<dyn Write + Send> = Box::new(file.as_file().try_clone().map_err(io)?);
        let mut w = UndoWriter {
            file: Some(file),
            out: BufWriter::with_capacity(256 << 10, out),
            path: input.undo_dir.join(undo_file_name(&input.undo_id)),
        };
        let head = UndoHeader {
            version: 1,
            id: input.undo_id.clone(),
            created_at: input.created_at.clone(),
            target: input.target_ref.clone(),
            archive: input.archive.display().to_string(),
            fire_triggers: input.rows.fire_triggers,
            tables,
        };
        w.line(&serde_json::to_string(&head).map_err(|e| Error::internal(e.to_string()))?)?;
        Ok(w)
    }
    /// A dry run's writer: the same statements run, nothing is kept.
    pub fn discard() -> UndoWriter {
        UndoWriter {
            file: None,
            out: BufWriter::new(Box::new(std::io::sink())),
            path: PathBuf::new(),
        }
    }
    fn line(&mut self, s: &str) -> Result<()> {
        self.out.write_all(s.as_bytes()).map_err(io)?;
        self.out.write_all(b"\n").map_err(io)
    }
    pub fn section(&mut self, name: &str, table: usize) -> Result<()> {
        self.line(&format!("{{\"section\":\"{name}\",\"table\":{table}}}"))
    }
    pub fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(io)
    }
    pub fn end_section(&mut self) -> Result<()> {
        self.line("\\.")
    }
    pub fn sequences(&mut self, steps: &[SequenceStep]) -> Result<()> {
        let s = Section {
            section: "sequences".into(),
            table: 0,
            steps: steps.to_vec(),
        };
        self.line(&serde_json::to_string(&s).map_err(|e| Error::internal(e.to_string()))?)
    }
    /// The last line, flushed and synced (still under its temporary name).
    pub fn finish(&mut self) -> Result<()> {
        self.line("{\"section\":\"end\"}")?;
        self.out.flush().map_err(io)?;
        match &self.file {
            Some(f) => f.as_file().sync_all().map_err(io),
            None => Ok(()),
        }
    }
    /// Renamed to its final name: the recovery committed.
    pub fn register(self) -> Result<()> {
        let UndoWriter { file, path, .. } = self;
        let file = file.ok_or_else(|| Error::internal("a dry run's undo writer keeps nothing"))?;
        file.persist_noclobber(&path).map_err(|e| io(e.error))?;
        if let Some(dir) = path.parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// The undo files of recovery `id` a killed process left under their temporary names in
/// `undo_dir`: (path, complete — its last line written and synced).
fn left_undo(undo_dir: &Path, id: &str) -> Vec<(PathBuf, bool)> {
    let Ok(entries) = std::fs::read_dir(undo_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".offsite-tmp-undo-")
        })
        .map(|e| e.path())
        .filter(|p| read_header(p).is_ok_and(|h| h.id == id))
        .map(|p| {
            let complete = last_line_is_end(&p);
            (p, complete)
        })
        .collect()
}

fn last_line_is_end(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let end = b"{\"section\":\"end\"}\n";
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(len) = f.seek(SeekFrom::End(0)) else {
        return false;
    };
    let n = end.len() as u64;
    if len < n || f.seek(SeekFrom::Start(len - n)).is_err() {
        return false;
    }
    let mut tail = vec![0u8; end.len()];
    f.read_exact(&mut tail).is_ok() && tail == end
}

/// Recovery `id` committed but its process died before its undo file was given its name: the
/// complete file it left is named now. Returns the undo file, or `None` when none complete was
/// left (the recovery then cannot be undone by Offsite).
pub fn register_left_undo(undo_dir: &Path, id: &str) -> Result<Option<PathBuf>> {
    let path = undo_dir.join(undo_file_name(id));
    if path.is_file() {
        return Ok(Some(path));
    }
    for (left, complete) in left_undo(undo_dir, id) {
        if complete {
            std::fs::rename(&left, &path)
                .map_err(|e| Error::io(format!("naming the undo file {}", path.display()), e))?;
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// Recovery `id` never committed: the undo files its killed process left go.
pub fn remove_left_undo(undo_dir: &Path, id: &str) {
    for (left, _) in left_undo(undo_dir, id) {
        let _ = std::fs::remove_file(left);
    }
}

/// Reads the header of the undo file at `path`.
pub fn read_header(path: &Path) -> Result<UndoHeader> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut line = String::new();
    read_line(&mut BufReader::new(f), &mut line)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    serde_json::from_str(line.trim_end())
        .map_err(|e| Error::integrity(format!("{} is not an undo file: {e}", path.display())))
}

/// One line of at most 64 MiB (a longer one is not an undo file's).
fn read_line(r: &mut impl BufRead, s: &mut String) -> std::io::Result<usize> {
    <&mut _ as std::io::Read>::take(r, 64 << 20).read_line(s)
}

/// What `--undo` did, per table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UndoTable {
    pub schema: String,
    pub table: String,
    /// Inserted rows deleted.
    pub deleted: u64,
    /// Overwritten rows given their old values back.
    pub restored: u64,
    /// Rows changed since the recovery (or gone): left as they are.
    pub changed_since: u64,
    /// The keys of some of them (as text).
    pub changed_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UndoReport {
    pub id: String,
    pub target: String,
    pub tables: Vec<UndoTable>,
    /// Sequences set back to where they were.
    pub sequences_reset: u64,
    /// How the target's user triggers were kept from firing (as the recovery's were), or that
    /// they fired (a recovery made with `--fire-triggers`).
    #[serde(default)]
    pub trigger_handling: TriggerHandling,
    /// Foreign keys of the tables undone checked at the end (all held: else nothing changed).
    #[serde(default)]
    pub foreign_keys_checked: u64,
}

/// Loads one COPY section of the undo file (up to `\.`) into `temp` through a spool file.
fn spool_section(r: &mut impl BufRead, dir: &Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    let mut w = BufWriter::new(crate::private_fs::create_new(&path).map_err(io)?);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = <&mut _ as std::io::Read>::take(&mut *r, crate::browse::MAX_ROW as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(io)?;
        if n == 0 {
            return Err(Error::integrity("the undo file ends inside a section"));
        }
        if line == b"\\.\n" {
            break;
        }
        w.write_all(&line).map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(path)
}

/// Undoes the recovery whose undo file is at `path` in the database behind `conn`, in one
/// transaction whose id `journal` is told before it writes anything (a job's journal: if the
/// process dies, the next start asks the server whether the undo committed).
pub async fn undo(
    conn: &mut PgConnection,
    path: &Path,
    journal: Option<&dyn super::RecordTxid>,
) -> Result<UndoReport> {
    let head = read_header(path)?;
    let f = std::fs::File::open(path).map_err(io)?;
    let mut r = BufReader::new(f);
    let mut first = String::new();
    read_line(&mut r, &mut first).map_err(io)?;
    let dir = crate::private_fs::tempdir("offsite-undo-").map_err(io)?;
    session_settings(conn).await?;
    exec(conn, "starting the transaction", "BEGIN").await?;
    let out = match journal {
        Some(j) => match sqlx::query_scalar::<_, i64>("SELECT txid_current()")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(txid) => j.record(txid).await,
            Err(e) => Err(db_error("reading the undo's transaction id", e)),
        },
        None => Ok(()),
    };
    let out = match out {
        Ok(()) => undo_in_transaction(conn, &head, &mut r, dir.path()).await,
        Err(e) => Err(e),
    };
    match out {
        Ok(report) => {
            exec(conn, "committing the undo", "COMMIT").await?;
            Ok(report)
        }
        Err(e) => {
            let _ = exec(conn, "rolling back", "ROLLBACK").await;
            Err(e)
        }
    }
}

async fn undo_in_transaction(
    conn: &mut PgConnection,
    head: &UndoHeader,
    r: &mut impl BufRead,
    dir: &Path,
) -> Result<UndoReport> {
    let mut steps = Vec::new();
    let mut complete = false;
    loop {
        let mut line = String::new();
        if read_line(r, &mut line).map_err(io)? == 0 {
            break;
        }
        let s: Section = serde_json::from_str(line.trim_end())
            .map_err(|e| Error::integrity(format!("the undo file is damaged: {e}")))?;
        let t = match s.section.as_str() {
            "end" => {
                complete = true;
                break;
            }
            "sequences" => {
                steps = s.steps;
                continue;
            }
            _ => head.tables.get(s.table).ok_or_else(|| {
                Error::integrity("the undo file names a table it does not describe")
            })?,
        };
        let target = sql::table(&t.schema, &t.table);
        let spool = spool_section(r, dir, &format!("{}-{}", s.section, s.table))?;
        let (temp, cols, extra): (String, &[String], &[&str]) = match s.section.as_str() {
            "old" => (sql::temp("undo_old", s.table), &t.columns, &[]),
            "after" => (sql::temp("undo_after", s.table), &t.key, &["_md5", "_act"]),
            other => return Err(Error::integrity(format!("unknown undo section {other:?}"))),
        };
        let mut create = format!(
            "CREATE TEMP TABLE {temp} ON COMMIT DROP AS SELECT {} FROM {target} WITH NO DATA",
            sql::cols(None, cols)
        );
        if !extra.is_empty() {
            create.push_str(&format!(
                "; ALTER TABLE {temp} ADD COLUMN \"_md5\" text, ADD COLUMN \"_act\" text, ADD COLUMN \"_skip\" boolean"
            ));
        }
        exec(conn, "reading the undo file", &create).await?;
        copy_file(
            conn,
            "reading the undo file",
            &sql::copy_in(&temp, cols, extra),
            &spool,
        )
        .await?;
    }
    if !complete {
        return Err(Error::integrity(
            "the undo file is incomplete (it has no end line); nothing was changed",
        ));
    }
    let mut report = UndoReport {
        id: head.id.clone(),
        target: head.target.clone(),
        tables: Vec::new(),
        sequences_reset: 0,
        trigger_handling: TriggerHandling::Fired,
        foreign_keys_checked: 0,
    };
    let tables: Vec<String> = head
        .tables
        .iter()
        .map(|t| sql::table(&t.schema, &t.table))
        .collect();
    let ops = key_ops_and_changes(conn, head, &tables, &mut report).await?;
    let quieted =
        triggers::quiet(conn, &tables, head.fire_triggers, "undoing the recovery").await?;
    report.trigger_handling = quieted.handling;
    let mut nulled = vec![0u64; head.tables.len()];
    super::apply::users_path(conn, head.fire_triggers, true).await?;
    for (i, t) in head
        .tables
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.nulled.is_empty())
    {
        let q = format!(
            "UPDATE {} t SET {} FROM {} a WHERE {} AND a._act OPERATOR(pg_catalog.=) 'insert' AND NOT a._skip",
            sql::table(&t.schema, &t.table),
            t.nulled
                .iter()
                .map(|c| format!("{} = NULL", quote_ident(c)))
                .collect::<Vec<_>>()
                .join(", "),
            sql::temp("undo_after", i),
            sql::key_eq("t", "a", &t.key, &ops[i])
        );
        nulled[i] = exec(conn, "clearing the keys of a cycle", &q).await?;
    }
    for (i, t) in head.tables.iter().enumerate().rev() {
        // The rows deleted, kept whole for the foreign-key check.
        let q = format!(
            "CREATE TEMP TABLE {gone} ON COMMIT DROP AS SELECT * FROM {table} WITH NO DATA; \
             WITH d AS (DELETE FROM {table} t USING {} a WHERE {} AND a._act OPERATOR(pg_catalog.=) 'insert' \
             AND NOT a._skip RETURNING t.*) INSERT INTO {gone} SELECT * FROM d",
            sql::temp("undo_after", i),
            sql::key_eq("t", "a", &t.key, &ops[i]),
            gone = sql::temp("undo_gone", i),
            table = tables[i],
        );
        report.tables[i].deleted = exec(conn, "deleting the recovered rows", &q).await?;
    }
    for (i, t) in head
        .tables
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.update_columns.is_empty())
    {
        let q = format!(
            "UPDATE {} t SET {} FROM {} o JOIN {} a ON {} WHERE {} AND a._act OPERATOR(pg_catalog.=) 'update' AND NOT a._skip",
            sql::table(&t.schema, &t.table),
            sql::set_from("o", &t.update_columns),
            sql::temp("undo_old", i),
            sql::temp("undo_after", i),
            sql::key_eq("o", "a", &t.key, &ops[i]),
            sql::key_eq("t", "o", &t.key, &ops[i])
        );
        report.tables[i].restored = exec(conn, "restoring the overwritten rows", &q).await?;
    }
    super::apply::users_path(conn, head.fire_triggers, false).await?;
    only_own_writes(conn, head, &nulled).await?;
    let checks: Vec<Written> = head
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| Written {
            table: tables[i].clone(),
            temp: sql::temp("undo_after", i),
            key: &t.key,
            key_ops: &ops[i],
            present: Some("w._act = 'update' AND NOT w._skip".into()),
            gone: Some(sql::temp("undo_gone", i)),
            changed: t.update_columns.clone(),
        })
        .collect();
    report.foreign_keys_checked = fkcheck::check(
        conn,
        &checks,
        "undoing the recovery",
        "rows written or changed since the recovery reference rows it inserted; move or delete \
         those rows first (or keep the recovered rows)",
    )
    .await?;
    quieted.restore(conn).await?;
    for s in &steps {
        report.sequences_reset += reset_sequence(conn, s).await?;
    }
    Ok(report)
}

/// Refuses the undo (the caller rolls back) when its deletes and updates reached rows it did not
/// write: a foreign key with `ON DELETE CASCADE` or `SET NULL`/`SET DEFAULT` (or an `ON UPDATE`
/// action) from a row written or changed since the recovery — a reply added to a recovered
/// comment, a recovered row edited since (which undo promises to leave). The transaction's own
/// counters (`pg_stat_xact_user_tables`) give every table's deleted and updated rows, cascades
/// included; a table with such a foreign key that lost or changed more rows than undo's own
/// statements did is named with its keys. Tables without one are left to their triggers (the
/// plan named them), as the recovery was.
async fn only_own_writes(conn: &mut PgConnection, head: &UndoHeader, nulled: &[u64]) -> Result<()> {
    let rows = sqlx::query(
        "SELECT s.schemaname::text, s.relname::text, s.n_tup_del, s.n_tup_upd, \
           (SELECT pg_catalog.string_agg(pg_catalog.format('%I → %I.%I', c.conname, n.nspname, p.relname), ', ' ORDER BY c.conname) \
              FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class p ON p.oid = c.confrelid \
              JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace \
              WHERE c.contype = 'f' AND c.conrelid = s.relid \
               AND (c.confdeltype IN ('c', 'n', 'd') OR c.confupdtype IN ('c', 'n', 'd'))) \
         , pg_catalog.format('%I.%I', s.schemaname, s.relname) FROM pg_catalog.pg_stat_xact_user_tables s \
         WHERE s.schemaname NOT LIKE 'pg\\_temp\\_%' AND (s.n_tup_del > 0 OR s.n_tup_upd > 0)",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error("checking what the undo changed", e))?;
    let mut reached = Vec::new();
    for r in rows {
        let (schema, table): (String, String) = (r.get(0), r.get(1));
        let (del, upd): (i64, i64) = (r.get(2), r.get(3));
        let Some(fks) = r.get::<Option<String>, _>(4) else {
            continue;
        };
        // What undo meant to delete and update there (a row it deletes may go by a cascade
        // first, from a parent deleted before it: still its own).
        let (mut own_del, mut own_upd) = (0u64, 0u64);
        for (i, t) in head.tables.iter().enumerate() {
            if t.schema == schema && t.table == table {
                let (d, u): (i64, i64) = sqlx::query_as(&format!(
                    "SELECT pg_catalog.count(*) FILTER (WHERE _act = 'insert'), pg_catalog.count(*) FILTER (WHERE _act = 'update') \
                     FROM {} WHERE NOT _skip",
                    sql::temp("undo_after", i)
                ))
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| db_error("checking what the undo changed", e))?;
                own_del += d.max(0) as u64;
                own_upd += u.max(0) as u64 + nulled[i];
            }
        }
        let extra_del = (del.max(0) as u64).saturating_sub(own_del);
        let extra_upd = (upd.max(0) as u64).saturating_sub(own_upd);
        if extra_del + extra_upd > 0 {
            reached.push(format!(
                "{}: {extra_del} more deleted, {extra_upd} more changed (through {fks})",
                r.get::<String, _>(5)
            ));
        }
    }
    if reached.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        crate::error::ErrorKind::Conflict,
        format!(
            "undoing would also delete or change rows the recovery did not write — {}; nothing was changed",
            reached.join("; ")
        ),
    )
    .with_hint(
        "rows written or changed since the recovery reference rows it inserted, and a foreign key \
         would cascade to them; move or delete those rows first (or keep the recovered rows)",
    ))
}

/// Each table's key equality operators ([`super::schema::eq_ops`]); the rows changed since the
/// recovery marked and reported ([`mark_changed`]).
async fn key_ops_and_changes(
    conn: &mut PgConnection,
    head: &UndoHeader,
    tables: &[String],
    report: &mut UndoReport,
) -> Result<Vec<Vec<String>>> {
    let mut ops = Vec::new();
    for (i, t) in head.tables.iter().enumerate() {
        ops.push(super::schema::eq_ops(conn, &tables[i], &t.key).await?);
        report.tables.push(mark_changed(conn, i, t, &ops[i]).await?);
    }
    Ok(ops)
}

/// Marks the rows changed since the recovery (`_skip`), and reports them.
async fn mark_changed(
    conn: &mut PgConnection,
    i: usize,
    t: &UndoTableHead,
    ops: &[String],
) -> Result<UndoTable> {
    let after = sql::temp("undo_after", i);
    let q = format!(
        "UPDATE {after} a SET _skip = NOT EXISTS (SELECT 1 FROM {} t WHERE {} AND pg_catalog.md5({}) = a._md5)",
        sql::table(&t.schema, &t.table),
        sql::key_eq("t", "a", &t.key, ops),
        sql::row_text("t", &t.columns)
    );
    let changed = exec(conn, "comparing the rows with the recovery's", &q).await?;
    let _ = changed;
    let keys: Vec<String> = sqlx::query(&format!(
        "SELECT {}::text FROM {after} a WHERE a._skip LIMIT 20",
        sql::row_text("a", &t.key)
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error("listing rows changed since", e))?
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    let n: i64 = sqlx::query_scalar(&format!(
        "SELECT pg_catalog.count(*) FROM {after} WHERE _skip"
    ))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| db_error("counting rows changed since", e))?;
    Ok(UndoTable {
        schema: t.schema.clone(),
        table: t.table.clone(),
        deleted: 0,
        restored: 0,
        changed_since: n as u64,
        changed_keys: keys,
    })
}

/// A sequence the recovery advanced, set back when nothing used it since.
async fn reset_sequence(conn: &mut PgConnection, s: &SequenceStep) -> Result<u64> {
    let now: Option<i64> =
        sqlx::query_scalar("SELECT pg_catalog.pg_sequence_last_value($1::regclass)")
            .bind(&s.sequence)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| db_error("reading a sequence", e))?;
    if now != Some(s.after) {
        return Ok(0);
    }
    let q = match s.before {
        Some(b) => sqlx::query("SELECT pg_catalog.setval($1::regclass, $2, true)")
            .bind(&s.sequence)
            .bind(b),
        None => sqlx::query(
            "SELECT pg_catalog.setval($1::regclass, (SELECT seqstart FROM pg_catalog.pg_sequence \
             WHERE seqrelid = $1::regclass), false)",
        )
        .bind(&s.sequence),
    };
    q.execute(&mut *conn)
        .await
        .map_err(|e| db_error("setting a sequence back", e))?;
    Ok(1)
}
