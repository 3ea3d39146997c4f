//! The chosen rows in the target: loaded into temporary tables as COPY data, compared with
//! the target's rows by key, counted, and (unless a dry run) written in one transaction after
//! the undo file has the target's old values.

use super::fkcheck::{self, Written};
use super::order::Order;
use super::schema::{quote_ident, Schema};
use super::select::{Graph, Selection};
use super::sql;
use super::triggers;
use super::undo::{SequenceStep, UndoTableHead, UndoWriter};
use super::{OnConflict, RecoverInput, RecoverReport, TableRecovery};
use crate::error::{Error, ErrorKind, Result};
use futures::TryStreamExt;
use sqlx::{Executor, PgConnection, Row};
use std::io::Read;
use std::path::Path;

/// Rows shown per table in a plan.
pub const SAMPLE_ROWS: i64 = 5;

/// Fixed output forms, so rows compare and hash the same in a recovery and its undo.
pub(super) async fn session_settings(conn: &mut PgConnection) -> Result<()> {
    exec(
        conn,
        "preparing the session",
        "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; \
         SET extra_float_digits = 3; SET TimeZone = 'UTC'; SET client_encoding = 'UTF8'",
    )
    .await?;
    Ok(())
}

pub(super) fn db_error(what: &str, e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) => {
            let mut m = format!("{what}: {}", d.message());
            if let Some(c) = d.constraint() {
                m.push_str(&format!(" (constraint {c})"));
            }
            Error::new(ErrorKind::ToolFailed, m)
        }
        _ => Error::new(ErrorKind::Connection, format!("{what}: {e}")),
    }
}

/// Runs `q` (one or more statements, no parameters). Through `Executor::execute`, whose future
/// is `Send` for any lifetime: `RawSql::execute` is not (a higher-ranked bound the compiler
/// cannot prove), which kept every future holding it from being spawned as a task.
pub(super) async fn exec(conn: &mut PgConnection, what: &str, q: &str) -> Result<u64> {
    Ok(conn
        .execute(sqlx::raw_sql(q))
        .await
        .map_err(|e| db_error(what, e))?
        .rows_affected())
}

/// Sends a file's bytes as the data of `copy` (a `COPY … FROM STDIN`).
pub(super) async fn copy_file(
    conn: &mut PgConnection,
    what: &str,
    copy: &str,
    file: &Path,
) -> Result<u64> {
    let mut f =
        std::fs::File::open(file).map_err(|e| Error::io("reading the recovery's rows", e))?;
    let mut c = conn
        .copy_in_raw(copy)
        .await
        .map_err(|e| db_error(what, e))?;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::io("reading the recovery's rows", e))?;
        if n == 0 {
            break;
        }
        c.send(&buf[..n]).await.map_err(|e| db_error(what, e))?;
    }
    c.finish().await.map_err(|e| db_error(what, e))
}

/// Streams `COPY (…) TO STDOUT` into the undo file.
async fn copy_out(
    conn: &mut PgConnection,
    what: &str,
    q: &str,
    undo: &mut UndoWriter,
) -> Result<()> {
    let mut s = conn.copy_out_raw(q).await.map_err(|e| db_error(what, e))?;
    while let Some(chunk) = s.try_next().await.map_err(|e| db_error(what, e))? {
        undo.raw(&chunk)?;
    }
    Ok(())
}

/// One table as the apply sees it.
struct Loaded {
    node: usize,
    temp: String,
    target: String,
    cols: Vec<String>,
    key: Vec<String>,
    /// Each key column's equality ([`super::schema::eq_ops`]).
    key_ops: Vec<String>,
    /// Columns an update writes (not the key, not identity ALWAYS).
    update_cols: Vec<String>,
    overriding: bool,
}

pub(super) async fn apply(
    conn: &mut PgConnection,
    schema: &Schema,
    g: &Graph,
    order: &Order,
    sel: &Selection,
    input: &RecoverInput<'_>,
) -> Result<RecoverReport> {
    exec(conn, "starting the transaction", "BEGIN").await?;
    let out = apply_in_transaction(conn, schema, g, order, sel, input).await;
    if out.is_err() || input.dry_run {
        let _ = exec(conn, "rolling back", "ROLLBACK").await;
    }
    let (report, undo) = out?;
    if let Some(undo) = undo {
        exec(conn, "committing the recovery", "COMMIT").await?;
        undo.register()?;
    }
    Ok(report)
}

async fn apply_in_transaction(
    conn: &mut PgConnection,
    schema: &Schema,
    g: &Graph,
    order: &Order,
    sel: &Selection,
    input: &RecoverInput<'_>,
) -> Result<(RecoverReport, Option<UndoWriter>)> {
    if let (Some(journal), false) = (input.journal, input.dry_run) {
        let txid: i64 = sqlx::query_scalar("SELECT txid_current()")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| db_error("reading the recovery's transaction id", e))?;
        journal.record(txid).await?;
    }
    let update = input.rows.on_conflict == OnConflict::Update;
    let mut loaded = Vec::new();
    let mut report = RecoverReport {
        archive: input.archive.display().to_string(),
        target: input.target_label.clone(),
        dry_run: input.dry_run,
        tables: Vec::new(),
        undo_id: None,
        notes: Vec::new(),
        rows_read: 0,
        duration_ms: 0,
        trigger_handling: Default::default(),
        foreign_keys_checked: 0,
    };
    let mut written = Vec::new();
    for &i in &order.tables {
        if input.cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = &g.nodes[i];
        let tb = &schema.tables[&n.oid];
        let mut t = TableRecovery {
            schema: n.schema.clone(),
            table: n.name.clone(),
            role: n.role,
            path: n.path.clone(),
            rows: sel.rows[i],
            insert: 0,
            update: 0,
            unchanged: 0,
            conflict: 0,
            parents_present: 0,
            triggers: tb.triggers.clone(),
            trigger_notes: if tb.triggers.is_empty() {
                Vec::new()
            } else {
                triggers::notes(conn, n.oid).await?
            },
            columns: sel.dump_cols[i].clone(),
            sample: Vec::new(),
        };
        if let (Some(spool), false) = (&sel.spools[i], sel.dump_cols[i].is_empty()) {
            let cols = sel.dump_cols[i].clone();
            let l = Loaded {
                node: i,
                temp: sql::temp("recover", i),
                target: tb.quoted(),
                update_cols: cols
                    .iter()
                    .filter(|c| !n.key.contains(c))
                    .filter(|c| !tb.column(c).is_some_and(|c| c.identity_always))
                    .cloned()
                    .collect(),
                overriding: cols
                    .iter()
                    .any(|c| tb.column(c).is_some_and(|c| c.identity_always)),
                key_ops: super::schema::eq_ops(conn, &tb.quoted(), &n.key).await?,
                key: n.key.clone(),
                cols,
            };
            load_and_compare(conn, &l, spool, update, &n.label()).await?;
            count(conn, &l, &mut t).await?;
            if t.insert + t.update > 0 {
                written.push((l.target.clone(), t.update > 0));
            }
            loaded.push(l);
        }
        report.tables.push(t);
    }
    // The same steps in a dry run, in the transaction it rolls back: it refuses what the
    // real run would refuse.
    let tables: Vec<String> = written.iter().map(|(t, _)| t.clone()).collect();
    let quieted = triggers::quiet(
        conn,
        &tables,
        input.rows.fire_triggers,
        "recovering these rows",
    )
    .await?;
    report.trigger_handling = quieted.handling;
    let heads: Vec<UndoTableHead> = loaded
        .iter()
        .map(|l| UndoTableHead {
            schema: g.nodes[l.node].schema.clone(),
            table: g.nodes[l.node].name.clone(),
            columns: l.cols.clone(),
            key: l.key.clone(),
            update_columns: l.update_cols.clone(),
            nulled: order
                .nulled
                .iter()
                .filter(|&&k| g.edges[k].child == l.node)
                .flat_map(|&k| g.edges[k].child_cols.clone())
                .collect(),
        })
        .collect();
    let mut undo = if input.dry_run {
        UndoWriter::discard()
    } else {
        UndoWriter::create(input, heads)?
    };
    write_rows(conn, g, order, &loaded, &mut undo, input).await?;
    let checks: Vec<Written> = loaded
        .iter()
        .filter_map(|l| {
            let (_, updated) = written.iter().find(|(t, _)| *t == l.target)?;
            Some(Written {
                table: l.target.clone(),
                temp: l.temp.clone(),
                key: &l.key,
                key_ops: &l.key_ops,
                present: Some("w._offsite_act IN ('insert', 'update')".into()),
                gone: None,
                changed: if *updated {
                    l.update_cols.clone()
                } else {
                    Vec::new()
                },
            })
        })
        .collect();
    report.foreign_keys_checked = fkcheck::check(
        conn,
        &checks,
        "recovering these rows",
        "a row recovered references a row the target lacks and the backup does not give (a \
         table the backup has no data for, or a partitioned table): recover that row first",
    )
    .await?;
    quieted.restore(conn).await?;
    if input.dry_run {
        return Ok((report, None));
    }
    undo.finish()?;
    report.undo_id = Some(input.undo_id.clone());
    Ok((report, Some(undo)))
}

/// The temporary table of table `l`: the spooled rows, one per key (a chosen row wins over the
/// same row needed as a parent), each marked with what happens to it.
async fn load_and_compare(
    conn: &mut PgConnection,
    l: &Loaded,
    spool: &Path,
    update: bool,
    label: &str,
) -> Result<()> {
    let what = format!("loading the backup's rows of {label}");
    exec(
        conn,
        &what,
        &format!(
            "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA; \
             ALTER TABLE {} ADD COLUMN \"_offsite_sub\" boolean, ADD COLUMN \"_offsite_act\" text",
            l.temp,
            sql::cols(None, &l.cols),
            l.target,
            l.temp
        ),
    )
    .await?;
    copy_file(
        conn,
        &what,
        &sql::copy_in(&l.temp, &l.cols, &["_offsite_sub"]),
        spool,
    )
    .await?;
    let differs = if update { "update" } else { "conflict" };
    let q = format!(
        "DELETE FROM {tmp} p WHERE NOT p._offsite_sub AND EXISTS \
         (SELECT 1 FROM {tmp} s WHERE s._offsite_sub AND {eq}); ANALYZE {tmp}; \
         UPDATE {tmp} s SET _offsite_act = CASE WHEN {srow} = {trow} THEN 'unchanged' \
         WHEN s._offsite_sub THEN '{differs}' ELSE 'present' END FROM {target} t WHERE {teq}; \
         UPDATE {tmp} SET _offsite_act = 'insert' WHERE _offsite_act IS NULL",
        tmp = l.temp,
        eq = sql::key_eq("s", "p", &l.key, &l.key_ops),
        srow = sql::row_text("s", &l.cols),
        trow = sql::row_text("t", &l.cols),
        target = l.target,
        teq = sql::key_eq("t", "s", &l.key, &l.key_ops),
    );
    exec(
        conn,
        &format!("comparing the rows of {label} with the target's"),
        &q,
    )
    .await?;
    Ok(())
}

async fn count(conn: &mut PgConnection, l: &Loaded, t: &mut TableRecovery) -> Result<()> {
    let q = format!(
        "SELECT _offsite_act, pg_catalog.count(*)::int8 FROM {} GROUP BY 1",
        l.temp
    );
    let rows = sqlx::query(&q)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error("counting the rows", e))?;
    for r in rows {
        let n = r.get::<i64, _>(1) as u64;
        match r.get::<String, _>(0).as_str() {
            "insert" => t.insert = n,
            "update" => t.update = n,
            "conflict" => t.conflict = n,
            "unchanged" => t.unchanged = n,
            _ => t.parents_present = n,
        }
    }
    let shown: Vec<String> = l
        .cols
        .iter()
        .map(|c| format!("s.{}::text", quote_ident(c)))
        .collect();
    let q = format!(
        "SELECT {} FROM {} s WHERE _offsite_act IN ('insert', 'update') LIMIT {SAMPLE_ROWS}",
        shown.join(", "),
        l.temp
    );
    for r in sqlx::query(&q)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| db_error("reading sample rows", e))?
    {
        t.sample.push(
            (0..l.cols.len())
                .map(|k| r.get::<Option<String>, _>(k))
                .collect(),
        );
    }
    Ok(())
}

/// The writes, in order: the old values into the undo file, the inserts (parents first, a
/// cycle's waiting keys NULL), the waiting keys set, the updates, the sequences, and what each
/// written row now looks like (for `--undo` to tell rows changed since).
async fn write_rows(
    conn: &mut PgConnection,
    g: &Graph,
    order: &Order,
    loaded: &[Loaded],
    undo: &mut UndoWriter,
    input: &RecoverInput<'_>,
) -> Result<()> {
    for (k, l) in loaded.iter().enumerate() {
        undo.section("old", k)?;
        let q = format!(
            "COPY (SELECT {} FROM {} t JOIN {} s ON {} WHERE s._offsite_act = 'update') TO STDOUT",
            sql::cols(Some("t"), &l.cols),
            l.target,
            l.temp,
            sql::key_eq("t", "s", &l.key, &l.key_ops)
        );
        copy_out(conn, "saving the rows the recovery overwrites", &q, undo).await?;
        undo.end_section()?;
    }
    for &k in &order.deferred {
        let e = &g.edges[k];
        let n = &g.nodes[e.child];
        exec(
            conn,
            "deferring a foreign key of a cycle",
            &format!(
                "SET CONSTRAINTS {}.{} DEFERRED",
                quote_ident(&n.schema),
                quote_ident(&e.name)
            ),
        )
        .await?;
    }
    users_path(conn, input.rows.fire_triggers, true).await?;
    for l in loaded {
        if input.cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let nulled: Vec<&String> = order
            .nulled
            .iter()
            .filter(|&&k| g.edges[k].child == l.node)
            .flat_map(|&k| g.edges[k].child_cols.iter())
            .collect();
        let select: Vec<String> = l
            .cols
            .iter()
            .map(|c| {
                if nulled.contains(&c) {
                    "NULL".to_string()
                } else {
                    format!("s.{}", quote_ident(c))
                }
            })
            .collect();
        let q = format!(
            "INSERT INTO {} ({}) {} SELECT {} FROM {} s WHERE s._offsite_act OPERATOR(pg_catalog.=) 'insert'",
            l.target,
            sql::cols(None, &l.cols),
            if l.overriding {
                "OVERRIDING SYSTEM VALUE"
            } else {
                ""
            },
            select.join(", "),
            l.temp
        );
        exec(conn, &format!("inserting into {}", l.target), &q).await?;
    }
    for &k in &order.nulled {
        let e = &g.edges[k];
        let Some(l) = loaded.iter().find(|l| l.node == e.child) else {
            continue;
        };
        let q = format!(
            "UPDATE {} t SET {} FROM {} s WHERE {} AND s._offsite_act OPERATOR(pg_catalog.=) 'insert'",
            l.target,
            sql::set_from("s", &e.child_cols),
            l.temp,
            sql::key_eq("t", "s", &l.key, &l.key_ops)
        );
        exec(
            conn,
            &format!("setting the keys of a cycle in {}", l.target),
            &q,
        )
        .await?;
    }
    for l in loaded.iter().filter(|l| !l.update_cols.is_empty()) {
        let q = format!(
            "UPDATE {} t SET {} FROM {} s WHERE {} AND s._offsite_act OPERATOR(pg_catalog.=) 'update'",
            l.target,
            sql::set_from("s", &l.update_cols),
            l.temp,
            sql::key_eq("t", "s", &l.key, &l.key_ops)
        );
        exec(conn, &format!("updating {}", l.target), &q).await?;
    }
    users_path(conn, input.rows.fire_triggers, false).await?;
    let mut steps = Vec::new();
    for l in loaded {
        steps.extend(advance_sequences(conn, g, l, input.dry_run).await?);
    }
    undo.sequences(&steps)?;
    for (k, l) in loaded.iter().enumerate() {
        undo.section("after", k)?;
        let q = format!(
            "COPY (SELECT {}, pg_catalog.md5({}), s._offsite_act FROM {} t JOIN {} s ON {} \
             WHERE s._offsite_act IN ('insert', 'update')) TO STDOUT",
            sql::cols(Some("t"), &l.key),
            sql::row_text("t", &l.cols),
            l.target,
            l.temp,
            sql::key_eq("t", "s", &l.key, &l.key_ops)
        );
        copy_out(conn, "recording the recovered rows", &q, undo).await?;
        undo.end_section()?;
    }
    Ok(())
}

/// The writes' `search_path` (`on`: from here; else back to the fixed one). Every session
/// runs with [`crate::postgres::conn::FIXED_SEARCH_PATH`], and so do the writes — no trigger
/// of the target runs in them. With `--fire-triggers` the target's triggers run as they run
/// for the application, so its writes take the target's own path back for the statements that
/// fire them (their unqualified names mean what they mean there: that is what the user
/// consented to); Offsite's own comparisons in them name `pg_catalog`'s operator.
pub(super) async fn users_path(conn: &mut PgConnection, fire: bool, on: bool) -> Result<()> {
    if !fire {
        return Ok(());
    }
    let q = if on {
        crate::postgres::conn::USERS_SEARCH_PATH.to_string()
    } else {
        format!(
            "SELECT pg_catalog.set_config('search_path', '{}', true)",
            crate::postgres::conn::FIXED_SEARCH_PATH
        )
    };
    exec(conn, "setting the writes' search_path", &q).await?;
    Ok(())
}

/// Each sequence that fills a column of `l` set past the largest value now in it.
async fn advance_sequences(
    conn: &mut PgConnection,
    g: &Graph,
    l: &Loaded,
    dry_run: bool,
) -> Result<Vec<SequenceStep>> {
    let n = &g.nodes[l.node];
    let seqs: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.attname::text, pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I.%I', $1::text, $2::text), a.attname) \
         FROM pg_catalog.pg_attribute a WHERE a.attrelid = $3::int8::oid AND a.attnum > 0 \
         AND NOT a.attisdropped AND pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I.%I', $1::text, $2::text), a.attname) IS NOT NULL",
    )
    .bind(&n.schema)
    .bind(&n.name)
    .bind(i64::from(n.oid))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error("reading the table's sequences", e))?;
    let mut out = Vec::new();
    for (col, seq) in seqs.into_iter().filter(|(c, _)| l.cols.contains(c)) {
        let max: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT pg_catalog.max({})::int8 FROM {}",
            quote_ident(&col),
            l.target
        ))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db_error("reading the largest recovered value", e))?;
        let (before, start): (Option<i64>, i64) = sqlx::query_as(
            "SELECT pg_catalog.pg_sequence_last_value($1::regclass), \
             (SELECT seqstart FROM pg_catalog.pg_sequence WHERE seqrelid = $1::regclass)",
        )
        .bind(&seq)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db_error("reading a sequence", e))?;
        let Some(max) = max else { continue };
        if max > before.unwrap_or(start - 1) {
            // `setval` is not undone by a rollback: a dry run asks whether it may, and stops.
            let may: bool =
                sqlx::query_scalar("SELECT pg_catalog.has_sequence_privilege($1, 'UPDATE')")
                    .bind(&seq)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| db_error("reading a sequence's privileges", e))?;
            if !may {
                return Err(Error::new(
                    ErrorKind::Permission,
                    format!(
                        "the recovered rows of {} need sequence {seq} moved past {max}, and this \
                         role may not (it lacks UPDATE on it); nothing was written",
                        l.target
                    ),
                )
                .with_hint("connect as the table's owner, or GRANT UPDATE ON the sequence"));
            }
            if dry_run {
                continue;
            }
            sqlx::query("SELECT pg_catalog.setval($1::regclass, $2)")
                .bind(&seq)
                .bind(max)
                .execute(&mut *conn)
                .await
                .map_err(|e| db_error("advancing a sequence", e))?;
            out.push(SequenceStep {
                sequence: seq,
                before,
                after: max,
            });
        }
    }
    Ok(out)
}
