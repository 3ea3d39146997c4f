//! A diff from start to end: each side's tables (a backup's from its manifest and dump, a live
//! database's from its catalogs), then table by table the schema differences and the rows.

use super::live::Live;
use super::lockstep::{self, Batcher, Msg, Plan};
use super::spill::{self, Collector, Projection, RowWindow};
use super::{
    ComparedBy, DiffColumn, DiffOptions, DiffReport, Retyped, TableDiff, TableName, TableStatus,
    DEFAULT_ROW_PAGE, MAX_ROW_PAGE,
};
use crate::archive::ContentDigests;
use crate::browse;
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::conn::ConnSpec;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// One side of a diff.
pub enum Side {
    /// A backup's archive (unlocked by the caller when encrypted).
    Archive { path: PathBuf, label: String },
    /// A database as it is now.
    Live {
        spec: ConnSpec,
        password: Option<String>,
        label: String,
    },
}

impl Side {
    fn label(&self) -> &str {
        match self {
            Side::Archive { label, .. } | Side::Live { label, .. } => label,
        }
    }
}

/// What one side says about one table.
#[derive(Debug, Clone, Default)]
pub struct TableMeta {
    /// As COPY lists them (the order of each line's fields).
    pub columns: Vec<String>,
    pub types: Vec<Option<String>>,
    pub key: Option<Vec<String>>,
    /// The digest recorded at backup time (backups only).
    pub sha256: Option<String>,
    /// The recorded row count (backups only).
    pub rows: Option<u64>,
    /// Bytes of rows (a backup's recorded size, or a live table's size on disk).
    pub bytes: Option<u64>,
}

type Tables = BTreeMap<(String, String), TableMeta>;

/// A backup's tables and the settings its COPY text was made under.
struct ArchiveMeta {
    tables: Tables,
    content: ContentDigests,
}

fn archive_meta(path: &Path, cancel: &CancellationToken) -> Result<ArchiveMeta> {
    let listed = browse::list_tables(path, cancel)?;
    if !listed.readable {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "{}: its tables cannot be compared: {}",
                path.display(),
                listed.note.unwrap_or_default()
            ),
        ));
    }
    let manifest = crate::archive::read_manifest(path)?;
    let keys = browse::primary_keys(path, cancel)?;
    let mut tables = Tables::new();
    for t in listed.tables {
        let recorded = manifest.table(&t.schema, &t.name);
        let name = (t.schema, t.name);
        tables.insert(
            name.clone(),
            TableMeta {
                key: keys.get(&name).cloned(),
                sha256: recorded.and_then(|r| r.sha256.clone()),
                columns: t.columns,
                types: t.column_types,
                rows: t.rows,
                bytes: t.data_bytes,
            },
        );
    }
    Ok(ArchiveMeta {
        tables,
        content: manifest.content.clone().unwrap_or_default(),
    })
}

async fn load_archive(path: &Path, cancel: &CancellationToken) -> Result<ArchiveMeta> {
    let (p, c) = (path.to_path_buf(), cancel.clone());
    tokio::task::spawn_blocking(move || archive_meta(&p, &c))
        .await
        .map_err(|e| Error::internal(format!("the diff task failed: {e}")))?
}

/// Compares `from` with `to` (see [`super`]).
pub async fn diff(
    from: &Side,
    to: &Side,
    opts: &DiffOptions,
    cancel: &CancellationToken,
) -> Result<DiffReport> {
    let mut notes = Vec::new();
    let (from_meta, to_meta, mut live) = match (from, to) {
        (Side::Archive { path: a, .. }, Side::Archive { path: b, .. }) => {
            let (ma, mb) = (
                load_archive(a, cancel).await?,
                load_archive(b, cancel).await?,
            );
            if ma.content.settings != mb.content.settings {
                notes.push(
                    "the two backups were made under different session settings (DateStyle, \
                     TimeZone, …): a value may read differently without having changed, and \
                     no table is called identical by its digest"
                        .to_string(),
                );
            }
            let same = ma.content.settings == mb.content.settings;
            metas(ma, mb, None, same)
        }
        (Side::Archive { path, .. }, Side::Live { spec, password, .. })
        | (Side::Live { spec, password, .. }, Side::Archive { path, .. }) => {
            let backup = load_archive(path, cancel).await?;
            let (mut l, unset) = Live::open(spec, password.as_deref(), &backup.content).await?;
            notes.extend(unset);
            let schemas: BTreeSet<String> = backup.tables.keys().map(|(s, _)| s.clone()).collect();
            let live_tables = l.tables(&schemas).await?;
            notes.push(format!(
                "the live database is read in the backup's schemas only ({}), in one read-only \
                 snapshot",
                schemas.into_iter().collect::<Vec<_>>().join(", ")
            ));
            let live_meta = ArchiveMeta {
                tables: live_tables,
                content: backup.content.clone(),
            };
            let digests_usable = false;
            if matches!(from, Side::Live { .. }) {
                metas(live_meta, backup, Some(l), digests_usable)
            } else {
                metas(backup, live_meta, Some(l), digests_usable)
            }
        }
        (Side::Live { .. }, Side::Live { .. }) => {
            return Err(Error::invalid(
                "compare a backup with a live database, or two backups; two live databases \
                 are not compared here",
            ))
        }
    };
    let out = compare_all(from, to, &from_meta, &to_meta, live.as_mut(), opts, cancel).await;
    if let Some(l) = live {
        l.close().await;
    }
    let (tables, bytes_read) = out?;
    Ok(DiffReport {
        from: from.label().to_string(),
        to: to.label().to_string(),
        tables,
        bytes_read,
        notes,
    })
}

/// The two sides' metadata and whether equal digests mean equal rows.
struct Metas {
    tables: Tables,
    digests: bool,
}

fn metas(
    a: ArchiveMeta,
    b: ArchiveMeta,
    live: Option<Live>,
    digests: bool,
) -> (Metas, Metas, Option<Live>) {
    let m = |x: ArchiveMeta| Metas {
        tables: x.tables,
        digests,
    };
    (m(a), m(b), live)
}

/// The tables to compare: every table of either side, or the ones asked for (each must exist
/// in one side at least).
fn chosen(from: &Tables, to: &Tables, asked: &[TableName]) -> Result<Vec<(String, String)>> {
    if asked.is_empty() {
        let all: BTreeSet<(String, String)> = from.keys().chain(to.keys()).cloned().collect();
        return Ok(all.into_iter().collect());
    }
    let mut out = Vec::new();
    for t in asked {
        let k = (t.schema.clone(), t.table.clone());
        if !from.contains_key(&k) && !to.contains_key(&k) {
            return Err(
                Error::not_found(format!("no table {t} in either side of the diff")).with_hint(
                    "names are exact (case and all); `offsite browse ARCHIVE` lists a backup's \
                 tables; quote a part that holds a dot: 'public.\"my.table\"'",
                ),
            );
        }
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn compare_all(
    from: &Side,
    to: &Side,
    fm: &Metas,
    tm: &Metas,
    mut live: Option<&mut Live>,
    opts: &DiffOptions,
    cancel: &CancellationToken,
) -> Result<(Vec<TableDiff>, u64)> {
    let names = chosen(&fm.tables, &tm.tables, &opts.tables)?;
    let dir = crate::private_fs::tempdir("offsite-diff-")
        .map_err(|e| Error::io("diff: a private temporary folder", e))?;
    let mut out = Vec::new();
    let mut bytes = 0;
    for (n, name) in names.iter().enumerate() {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let d = match (fm.tables.get(name), tm.tables.get(name)) {
            (Some(f), Some(t)) => {
                let ctx = TableCtx {
                    name,
                    from: f,
                    to: t,
                    digests: fm.digests && tm.digests,
                    dir: dir.path(),
                    n,
                    opts,
                    cancel,
                };
                both(&ctx, from, to, live.as_deref_mut()).await?
            }
            (Some(f), None) => one_side(name, f, TableStatus::OnlyInFrom),
            (None, Some(t)) => one_side(name, t, TableStatus::OnlyInTo),
            (None, None) => continue,
        };
        bytes += d.bytes_read;
        out.push(d);
    }
    Ok((out, bytes))
}

fn one_side(name: &(String, String), m: &TableMeta, status: TableStatus) -> TableDiff {
    let (rows_from, rows_to) = match status {
        TableStatus::OnlyInFrom => (m.rows, None),
        _ => (None, m.rows),
    };
    let mut d = blank(name, status, ComparedBy::NotCompared);
    d.rows_from = rows_from;
    d.rows_to = rows_to;
    d
}

fn blank(name: &(String, String), status: TableStatus, by: ComparedBy) -> TableDiff {
    TableDiff {
        schema: name.0.clone(),
        table: name.1.clone(),
        status,
        compared_by: by,
        key: Vec::new(),
        rows_from: None,
        rows_to: None,
        added: 0,
        removed: 0,
        changed: 0,
        unchanged: 0,
        columns_added: Vec::new(),
        columns_removed: Vec::new(),
        columns_retyped: Vec::new(),
        bytes_read: 0,
        rows: Vec::new(),
        rows_offset: 0,
        rows_more: false,
        note: None,
    }
}

struct TableCtx<'a> {
    name: &'a (String, String),
    from: &'a TableMeta,
    to: &'a TableMeta,
    digests: bool,
    dir: &'a Path,
    n: usize,
    opts: &'a DiffOptions,
    cancel: &'a CancellationToken,
}

fn column(m: &TableMeta, i: usize) -> DiffColumn {
    DiffColumn {
        name: m.columns[i].clone(),
        data_type: m.types.get(i).cloned().flatten(),
    }
}

/// Columns added, removed and retyped from `f` to `t`.
fn schema_changes(d: &mut TableDiff, f: &TableMeta, t: &TableMeta) {
    for (i, c) in t.columns.iter().enumerate() {
        if !f.columns.contains(c) {
            d.columns_added.push(column(t, i));
        }
    }
    for (i, c) in f.columns.iter().enumerate() {
        match t.columns.iter().position(|x| x == c) {
            None => d.columns_removed.push(column(f, i)),
            Some(j) => {
                let (a, b) = (column(f, i).data_type, column(t, j).data_type);
                if let (Some(a), Some(b)) = (a, b) {
                    if a != b {
                        d.columns_retyped.push(Retyped {
                            name: c.clone(),
                            from: a,
                            to: b,
                        });
                    }
                }
            }
        }
    }
}

/// A table both sides have.
async fn both(
    c: &TableCtx<'_>,
    from: &Side,
    to: &Side,
    live: Option<&mut Live>,
) -> Result<TableDiff> {
    let (f, t) = (c.from, c.to);
    let mut d = blank(c.name, TableStatus::Identical, ComparedBy::Digest);
    schema_changes(&mut d, f, t);
    let schema_changed = !(d.columns_added.is_empty()
        && d.columns_removed.is_empty()
        && d.columns_retyped.is_empty());
    d.rows_from = f.rows;
    d.rows_to = t.rows;
    let equal_digests = c.digests
        && f.columns == t.columns
        && f.sha256.is_some()
        && f.sha256 == t.sha256
        && f.rows == t.rows;
    if equal_digests {
        d.unchanged = f.rows.unwrap_or(0);
        if schema_changed {
            d.status = TableStatus::Changed;
        }
        return Ok(d);
    }
    let common: Vec<String> = f
        .columns
        .iter()
        .filter(|c| t.columns.contains(c))
        .cloned()
        .collect();
    if common.is_empty() && !(f.columns.is_empty() && t.columns.is_empty()) {
        d.status = TableStatus::Changed;
        d.compared_by = ComparedBy::NotCompared;
        d.note = Some("the two sides have no column in common: rows are not compared".into());
        return Ok(d);
    }
    let key: Option<Vec<usize>> = [&f.key, &t.key]
        .into_iter()
        .flatten()
        .find(|k| k.iter().all(|c| common.contains(c)))
        .map(|k| {
            k.iter()
                .map(|c| common.iter().position(|x| x == c).expect("in common"))
                .collect()
        });
    d.compared_by = if key.is_some() {
        ComparedBy::PrimaryKey
    } else {
        d.note = Some(
            "no primary key: whole rows are compared as a multiset (a changed row counts as \
             one removed and one added)"
                .into(),
        );
        ComparedBy::WholeRow
    };
    if let Some(k) = &key {
        d.key = k.iter().map(|&i| common[i].clone()).collect();
    }
    let proj = |m: &TableMeta| Projection {
        pick: if m.columns == common {
            None
        } else {
            Some(
                common
                    .iter()
                    .map(|c| m.columns.iter().position(|x| x == c).expect("in common"))
                    .collect(),
            )
        },
        key: key.clone(),
        fields: m.columns.len(),
    };
    let parts = spill::parts_for(f.bytes.unwrap_or(0).max(t.bytes.unwrap_or(0)));
    let (offset, limit) = page(c.opts);
    d.rows_offset = offset;
    let plan = Plan {
        keyed: key.is_some(),
        parts,
        dir: c.dir.to_path_buf(),
        name: c.n.to_string(),
        budget: lockstep::PENDING_BUDGET,
    };
    let (fb, ftx, fends) = lockstep::channel(proj(f));
    let (tb, ttx, tends) = lockstep::channel(proj(t));
    let window = RowWindow {
        offset,
        limit,
        columns: common,
        key,
    };
    let (cancel, want) = (c.cancel.clone(), c.opts.rows);
    let matcher = tokio::task::spawn_blocking(move || {
        let mut out = Collector::new(want.then_some(&window));
        lockstep::run(fends, tends, &plan, &mut out, &cancel).map(|()| out.out)
    });
    let (flive, tlive) = if matches!(from, Side::Live { .. }) {
        (live, None)
    } else {
        (None, live)
    };
    let (fr, tr, got) = tokio::join!(
        read_side(c, from, flive, f, fb, ftx),
        read_side(c, to, tlive, t, tb, ttx),
        matcher
    );
    // A reader's own failure says why first; a reader that stopped because the matcher did
    // (`None`) leaves the matcher's error to say it.
    let (fr, tr) = (fr?, tr?);
    let got = got.map_err(|e| Error::internal(format!("the diff task failed: {e}")))??;
    let ((frows, fbytes), (trows, tbytes)) = fr
        .zip(tr)
        .ok_or_else(|| Error::internal("diff: a side stopped being read"))?;
    d.rows_from = Some(frows);
    d.rows_to = Some(trows);
    d.bytes_read = fbytes + tbytes;
    d.added = got.counts.added;
    d.removed = got.counts.removed;
    d.changed = got.counts.changed;
    d.unchanged = got.counts.unchanged;
    d.rows = got.rows;
    d.rows_more = got.more;
    if schema_changed || d.added + d.removed + d.changed > 0 {
        d.status = TableStatus::Changed;
    }
    Ok(d)
}

fn page(o: &DiffOptions) -> (u64, u64) {
    let limit = match o.limit {
        0 => DEFAULT_ROW_PAGE,
        n => n.min(MAX_ROW_PAGE),
    };
    (o.offset, u64::from(limit))
}

/// Streams one side's rows of the table to the matcher: `Some((rows, bytes))` once they all
/// went, `None` when the matcher stopped taking them (its error says why).
async fn read_side(
    c: &TableCtx<'_>,
    side: &Side,
    live: Option<&mut Live>,
    m: &TableMeta,
    mut batcher: Batcher,
    tx: tokio::sync::mpsc::Sender<Msg>,
) -> Result<Option<(u64, u64)>> {
    match side {
        Side::Archive { path, .. } => {
            let (p, schema, table, cancel) = (
                path.clone(),
                c.name.0.clone(),
                c.name.1.clone(),
                c.cancel.clone(),
            );
            let columns = m.columns.clone();
            tokio::task::spawn_blocking(move || {
                let mut gone = false;
                let read = browse::read_table_lines(&p, &schema, &table, &cancel, &mut |l| {
                    if let Some(b) = batcher.push(l)? {
                        if tx.blocking_send(Msg::Rows(b)).is_err() {
                            gone = true;
                            return Err(Error::cancelled());
                        }
                    }
                    Ok(())
                });
                if gone {
                    return Ok(None);
                }
                let (read_columns, _) = read?;
                if read_columns != columns {
                    return Err(Error::integrity(format!(
                        "{}: the columns of {schema}.{table} changed while it was read",
                        p.display()
                    )));
                }
                let last = batcher.finish().map(Msg::Rows);
                for msg in last.into_iter().chain([Msg::End]) {
                    if tx.blocking_send(msg).is_err() {
                        return Ok(None);
                    }
                }
                Ok(Some((batcher.rows, batcher.bytes)))
            })
            .await
            .map_err(|e| Error::internal(format!("the diff task failed: {e}")))?
        }
        Side::Live { .. } => {
            let l = live.ok_or_else(|| Error::internal("diff: no live snapshot"))?;
            if !l
                .stream(
                    &c.name.0,
                    &c.name.1,
                    &m.columns,
                    &mut batcher,
                    &tx,
                    c.cancel,
                )
                .await?
            {
                return Ok(None);
            }
            let last = batcher.finish().map(Msg::Rows);
            for msg in last.into_iter().chain([Msg::End]) {
                if tx.send(msg).await.is_err() {
                    return Ok(None);
                }
            }
            Ok(Some((batcher.rows, batcher.bytes)))
        }
    }
}
