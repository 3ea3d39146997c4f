//! One tenant's part of a backup as a plain SQL dump (docs/tenants.md, per-tenant backups): the
//! backup's schema (its dump's pre-data and post-data definitions, as pg_dump wrote them) and
//! exactly the tenant's rows, chosen by recover's selection (the root's key value, with
//! children, and the rows they reference). After writing, the file's COPY data is read again
//! and every row's key checked against the keys the selection chose: the isolation check.

use super::member_writes::MemberWrite;
use super::schema::{quote_ident, Schema};
use super::select::{self, digest, Graph, Key};
use super::RecoverRows;
use crate::browse::{raw_fields, ColumnEquals};
use crate::error::{Error, ErrorKind, Result};
use crate::pgdump::TocEntry;
use crate::progress::Reporter;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// A tenant's table in its dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantDumpTable {
    /// `"schema"."table"`, quoted, for people.
    pub table: String,
    /// Its schema and name, as the database has them.
    pub schema: String,
    pub name: String,
    pub rows: u64,
}

impl TenantDumpTable {
    fn new(schema: &str, name: &str, rows: u64) -> Self {
        TenantDumpTable {
            table: format!("{}.{}", quote_ident(schema), quote_ident(name)),
            schema: schema.to_string(),
            name: name.to_string(),
            rows,
        }
    }
}

/// What a tenant's dump holds, and its isolation check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantDump {
    pub tables: Vec<TenantDumpTable>,
    /// Rows read back from the written file.
    pub rows_checked: u64,
    /// Rows of the written file whose key is outside the tenant's closure (0: isolated).
    pub outside: u64,
    /// Rows of the tenant's own tables (the root and the tables reached from it) that are not
    /// the tenant's: pulled in only because a row of the tenant references them (a foreign key
    /// that crosses tenants), per table. Empty: isolated.
    #[serde(default)]
    pub crossing: Vec<TenantDumpTable>,
    /// Rows the tenant's rows point at only through a foreign key its members can set (the
    /// tenant's `--member-writes`), left out of the archive: per referenced table, how many
    /// distinct rows. The referencing rows keep their values; the key is written `NOT VALID`.
    #[serde(default)]
    pub left_out: Vec<TenantDumpTable>,
    pub notes: Vec<String>,
}

/// Writes the rows of the tenant `root`'s key = `value` found in `archive` (with the schema of
/// its dump) as a plain SQL dump at `out` (created new, 0600, fsynced), then checks
/// isolation. `conn` is the project's database: its foreign keys give the walk; no row is
/// taken through a foreign key `member_writes` names (a member's choice, not the tenant's).
#[allow(clippy::too_many_arguments)] // the tenant, its value and settings, where, and the job
pub async fn tenant_dump(
    conn: &mut PgConnection,
    archive: &Path,
    root: &super::TenantRoot,
    member_writes: &[MemberWrite],
    value: &str,
    out: &Path,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<TenantDump> {
    let schema = Schema::read(conn).await?;
    let (a, c) = (archive.to_path_buf(), cancel.clone());
    let (listed, toc) = tokio::task::spawn_blocking(move || {
        Ok::<_, Error>((
            crate::browse::list_tables(&a, &c)?,
            crate::browse::dump_toc(&a, &c)?,
        ))
    })
    .await
    .map_err(|e| Error::internal(format!("the tenant's reader failed: {e}")))??;
    let in_dump = listed
        .tables
        .iter()
        .map(|t| (t.schema.clone(), t.name.clone()))
        .collect();
    let rows = RecoverRows {
        table: root.label(),
        filters: vec![ColumnEquals {
            column: root.key.clone(),
            value: value.to_string(),
        }],
        children: true,
        ..RecoverRows::default()
    };
    let mut graph = Graph::build(&schema, &rows, &in_dump)?;
    let unknown = super::member_writes::mark(&mut graph, member_writes);
    graph.notes.extend(unknown);
    let filters = super::chosen::normalize(conn, &schema, &graph, &rows).await?;
    let spool_dir = crate::private_fs::tempdir("offsite-tenant-")
        .map_err(|e| Error::io("making a temporary folder for the tenant", e))?;
    let (a, dir, g, c, r) = (
        archive.to_path_buf(),
        spool_dir.path().to_path_buf(),
        graph.clone(),
        cancel.clone(),
        reporter.clone(),
    );
    let out = out.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let sel = select::select(&a, &g, &filters, &dir, &r, &c)?;
        let (left_out, not_valid) = left_out(&g, &sel, &dir)?;
        let (blocks, crossing, written) = write_sql(&out, &toc, &g, &sel, &not_valid)?;
        let (rows_checked, outside) = check_isolation(&out, &blocks)?;
        let tables = g
            .nodes
            .iter()
            .zip(&written)
            .map(|(n, rows)| TenantDumpTable::new(&n.schema, &n.name, *rows))
            .collect();
        Ok(TenantDump {
            tables,
            rows_checked,
            outside,
            crossing,
            left_out,
            notes: g.notes.clone(),
        })
    })
    .await
    .map_err(|e| Error::internal(format!("the tenant's writer failed: {e}")))?
}

/// The statements pg_restore puts first, then the pre-data definitions.
const PREAMBLE: &str =
    "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\nSET lock_timeout = 0;\n\
SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\
SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n\
SET xmloption = content;\nSET client_min_messages = warning;\n\n";

/// The definitions of one section, in the dump's order, as pg_restore writes them: the
/// session settings pg_dump records as entries (written once, by [`PREAMBLE`]) and the
/// database's own entries (`CREATE DATABASE`, its properties: the target is given) left out.
/// The foreign keys `not_valid` names (schema, pg_dump's tag `TABLE CONSTRAINT`) are written
/// `NOT VALID`: rows they point at were left out.
fn definitions(
    toc: &[TocEntry],
    section: i64,
    not_valid: &HashSet<(String, String)>,
    w: &mut impl Write,
) -> std::io::Result<()> {
    let skipped = |d: &str| {
        matches!(d, "ENCODING" | "STDSTRINGS" | "SEARCHPATH") || d.starts_with("DATABASE")
    };
    for e in toc
        .iter()
        .filter(|e| e.section == section && !skipped(&e.desc))
    {
        if let Some(d) = e.defn.as_deref().filter(|d| !d.trim().is_empty()) {
            header(
                w,
                "Name",
                &e.tag,
                &e.desc,
                e.namespace.as_deref(),
                e.owner.as_deref(),
            )?;
            let ns = e.namespace.clone().unwrap_or_default();
            match unvalidated(e, d, not_valid.contains(&(ns, e.tag.clone()))) {
                Some(d) => w.write_all(d.as_bytes())?,
                None => w.write_all(d.as_bytes())?,
            }
            w.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// A foreign key's definition (`ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY … ;`) with
/// `NOT VALID` before its end, when `wanted` and it has none yet.
fn unvalidated(e: &TocEntry, defn: &str, wanted: bool) -> Option<String> {
    if !wanted || e.desc != "FK CONSTRAINT" {
        return None;
    }
    let body = defn.trim_end().strip_suffix(';')?;
    if body.trim_end().ends_with("NOT VALID") {
        return None;
    }
    Some(format!("{body} NOT VALID;\n"))
}

/// Foreign keys written `NOT VALID`: (schema, pg_dump's tag `TABLE CONSTRAINT`).
type Unvalidated = HashSet<(String, String)>;

/// The rows the tenant's rows point at only through a foreign key its members can set
/// (edges marked `member_writes`): per referenced table, the distinct values the spooled rows
/// hold in such a key that no spooled row of the referenced table answers; and the foreign
/// keys (schema, `TABLE CONSTRAINT`) with a value left out, written `NOT VALID`. Key sets on
/// disk past their memory bound, as the selection's.
fn left_out(
    g: &Graph,
    sel: &select::Selection,
    dir: &Path,
) -> Result<(Vec<TenantDumpTable>, Unvalidated)> {
    use super::keyset::KeySet;
    let pool = super::keyset::pool(dir);
    let mut per_parent: Vec<Option<(KeySet, u64)>> = (0..g.nodes.len()).map(|_| None).collect();
    let mut not_valid = HashSet::new();
    for e in g.edges.iter().filter(|e| e.member_writes) {
        let Some(child_spool) = &sel.spools[e.child] else {
            continue; // the tenant has no row of the referencing table
        };
        let child_at = key_positions(&sel.dump_cols[e.child], &e.child_cols)?;
        let mut present = KeySet::new(&pool);
        if let Some(spool) = &sel.spools[e.parent] {
            let cols = &g.col_sets[e.parent][e.parent_set];
            let at = key_positions(&sel.dump_cols[e.parent], cols)?;
            for_each_spooled(spool, |row| {
                if let Some(k) = row_key(row, &at) {
                    present.insert(k)?;
                }
                Ok(())
            })?;
        }
        let (counted, n) = per_parent[e.parent].get_or_insert_with(|| (KeySet::new(&pool), 0));
        let mut any = false;
        for_each_spooled(child_spool, |row| {
            if let Some(k) = row_key(row, &child_at) {
                if !present.contains(k)? {
                    any = true;
                    if counted.insert(k)? {
                        *n += 1;
                    }
                }
            }
            Ok(())
        })?;
        if any {
            let c = &g.nodes[e.child];
            not_valid.insert((c.schema.clone(), format!("{} {}", c.name, e.name)));
        }
    }
    let tables = per_parent
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| p.filter(|(_, n)| *n > 0).map(|(_, n)| (i, n)))
        .map(|(i, n)| TenantDumpTable::new(&g.nodes[i].schema, &g.nodes[i].name, n))
        .collect();
    Ok((tables, not_valid))
}

/// Every row of a selection's spool (its `t`/`f` flag cut off).
fn for_each_spooled(spool: &Path, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
    let r = std::fs::File::open(spool).map_err(|e| Error::io("reading the tenant's rows", e))?;
    for line in BufReader::new(r).split(b'\n') {
        let line = line.map_err(|e| Error::io("reading the tenant's rows", e))?;
        if let Some(cut) = line.iter().rposition(|&b| b == b'\t') {
            f(&line[..cut])?;
        }
    }
    Ok(())
}

/// pg_dump's comment above an entry (`-- Name: TAG; Type: DESC; Schema: NS; Owner: OWNER`),
/// which the plain dump reader takes its definitions by (browse's column types, diff's
/// keys). Line ends in names are written as spaces, as pg_dump does: a name never ends the
/// comment.
fn header(
    w: &mut impl Write,
    what: &str,
    tag: &str,
    desc: &str,
    ns: Option<&str>,
    owner: Option<&str>,
) -> std::io::Result<()> {
    let clean = |s: &str| s.replace(['\n', '\r'], " ");
    writeln!(
        w,
        "--\n-- {what}: {}; Type: {}; Schema: {}; Owner: {}\n--\n",
        clean(tag),
        clean(desc),
        clean(ns.unwrap_or("-")),
        clean(owner.unwrap_or("-"))
    )
}

/// A COPY block written: the keys of its rows, where its key columns are, and where its rows
/// lie in the file (the byte offsets of its first row and of its `\.` line).
type Block = (HashSet<Key>, Vec<usize>, (u64, u64));

/// A writer that counts the bytes written through it (where each COPY block's rows lie).
struct Counted<W> {
    inner: W,
    at: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.at += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One COPY block per table with the selection's rows (their last field, the spool's
/// chosen/parent flag, dropped); returns per table the keys written, and the rows of the
/// tenant's own tables (chosen or child role) that came only as a parent of a tenant's row:
/// another tenant's rows, per table; and the rows written per node of `g`.
fn write_sql(
    out: &Path,
    toc: &[TocEntry],
    g: &Graph,
    sel: &select::Selection,
    not_valid: &HashSet<(String, String)>,
) -> Result<(Vec<Block>, Vec<TenantDumpTable>, Vec<u64>)> {
    let mut crossing = Vec::new();
    let mut written = vec![0u64; g.nodes.len()];
    let io = |e| Error::io(format!("writing {}", out.display()), e);
    let f = crate::private_fs::create_new(out).map_err(io)?;
    let mut w = Counted {
        inner: BufWriter::with_capacity(256 << 10, f),
        at: 0,
    };
    let mut blocks: Vec<Block> = Vec::new();
    w.write_all(PREAMBLE.as_bytes()).map_err(io)?;
    definitions(toc, 2, not_valid, &mut w).map_err(io)?;
    for (i, n) in g.nodes.iter().enumerate() {
        let Some(spool) = &sel.spools[i] else {
            continue;
        };
        let cols = &sel.dump_cols[i];
        let key_at = key_positions(cols, &n.key)?;
        let mut keys = HashSet::new();
        let mut foreign = 0u64;
        let quoted: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
        w.write_all(b"\n").map_err(io)?;
        header(
            &mut w,
            "Data for Name",
            &n.name,
            "TABLE DATA",
            Some(&n.schema),
            None,
        )
        .map_err(io)?;
        writeln!(
            w,
            "COPY {}.{} ({}) FROM stdin;",
            quote_ident(&n.schema),
            quote_ident(&n.name),
            quoted.join(", ")
        )
        .map_err(io)?;
        let own = match n.role {
            super::TableRole::Parent => HashSet::new(),
            _ => own_keys(spool, &key_at)?,
        };
        let r =
            std::fs::File::open(spool).map_err(|e| Error::io("reading the tenant's rows", e))?;
        let start = w.at;
        for line in BufReader::new(r).split(b'\n') {
            let line = line.map_err(|e| Error::io("reading the tenant's rows", e))?;
            let Some(cut) = line.iter().rposition(|&b| b == b'\t') else {
                continue;
            };
            let row = &line[..cut];
            let key = row_key(row, &key_at);
            if let Some(k) = key {
                if !keys.insert(k) {
                    continue; // spooled twice: first as a parent, then found in the tenant
                }
            }
            let parent_only = &line[cut + 1..] == b"f" && key.is_none_or(|k| !own.contains(&k));
            if n.role != super::TableRole::Parent && parent_only {
                foreign += 1;
            }
            w.write_all(row)
                .and_then(|_| w.write_all(b"\n"))
                .map_err(io)?;
            written[i] += 1;
        }
        let end = w.at;
        w.write_all(b"\\.\n").map_err(io)?;
        blocks.push((keys, key_at, (start, end)));
        if foreign > 0 {
            crossing.push(TenantDumpTable::new(&n.schema, &n.name, foreign));
        }
    }
    w.write_all(b"\n").map_err(io)?;
    definitions(toc, 4, not_valid, &mut w).map_err(io)?;
    w.write_all(b"\n--\n-- PostgreSQL database dump complete\n--\n\n")
        .map_err(io)?;
    let f = w.inner.into_inner().map_err(|e| io(e.into_error()))?;
    f.sync_all().map_err(io)?;
    Ok((blocks, crossing, written))
}

/// The keys of the spool's rows the selection found in the tenant (flag `t`: the chosen rows
/// and their children), whatever else came as a parent.
fn own_keys(spool: &Path, key_at: &[usize]) -> Result<HashSet<Key>> {
    let r = std::fs::File::open(spool).map_err(|e| Error::io("reading the tenant's rows", e))?;
    let mut own = HashSet::new();
    for line in BufReader::new(r).split(b'\n') {
        let line = line.map_err(|e| Error::io("reading the tenant's rows", e))?;
        if let Some(cut) = line.iter().rposition(|&b| b == b'\t') {
            if &line[cut + 1..] == b"t" {
                if let Some(k) = row_key(&line[..cut], key_at) {
                    own.insert(k);
                }
            }
        }
    }
    Ok(own)
}

fn key_positions(cols: &[String], key: &[String]) -> Result<Vec<usize>> {
    key.iter()
        .map(|k| {
            cols.iter().position(|c| c == k).ok_or_else(|| {
                Error::invalid(format!("the backup's rows have no key column {k:?}"))
            })
        })
        .collect()
}

fn row_key(row: &[u8], at: &[usize]) -> Option<Key> {
    let fields: Vec<Option<&[u8]>> = raw_fields(row).collect();
    digest(at.iter().map(|&k| fields.get(k).copied().flatten()))
}

/// Reads the written file's COPY blocks again where the writer put them (`blocks[n]`: the keys
/// chosen for its table, where its key columns are, and the byte range of its rows — never by
/// looking for `COPY ` lines, which a function's body in the definitions may hold too) and
/// counts the rows, and those whose key is not among the table's chosen keys. A block that does
/// not end with `\.` where the writer ended it counts as outside the tenant as a whole.
fn check_isolation(path: &Path, blocks: &[Block]) -> Result<(u64, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("reading the tenant's dump", e))?;
    let (mut checked, mut outside) = (0u64, 0u64);
    for (keys, at, (start, end)) in blocks {
        f.seek(SeekFrom::Start(*start))
            .map_err(|e| Error::io("reading the tenant's dump", e))?;
        let mut r = BufReader::new((&mut f).take(end - start + 3));
        let mut rows = (&mut r).take(end - start);
        for line in (&mut rows).split(b'\n') {
            let line = line.map_err(|e| Error::io("reading the tenant's dump", e))?;
            checked += 1;
            if !row_key(&line, at).is_some_and(|k| keys.contains(&k)) {
                outside += 1;
            }
        }
        let mut tail = Vec::new();
        r.read_to_end(&mut tail)
            .map_err(|e| Error::io("reading the tenant's dump", e))?;
        if tail != b"\\.\n" {
            outside += 1;
        }
    }
    Ok((checked, outside))
}

/// The isolation check's failure when rows of other tenants came along: they are referenced by
/// the tenant's rows through a foreign key that crosses tenants, so an archive holding the
/// tenant with its foreign keys intact cannot leave them out.
pub fn crosses_tenants(crossing: &[TenantDumpTable]) -> Error {
    let list: Vec<String> = crossing
        .iter()
        .map(|t| {
            format!(
                "{} ({} row{})",
                t.table,
                t.rows,
                if t.rows == 1 { "" } else { "s" }
            )
        })
        .collect();
    Error::new(
        ErrorKind::Integrity,
        format!(
            "the tenant's rows reference rows of other tenants in {}: its archive would hold \
             them, so it was not written",
            list.join(", ")
        ),
    )
    .with_hint(
        "a foreign key crosses tenants (a row pointing at another tenant's row); \
         `offsite recover ARCHIVE --table … --where … --children --dry-run` shows the rows, \
         listed as parents",
    )
}

/// The isolation check's failure.
pub fn not_isolated(outside: u64) -> Error {
    Error::new(
        ErrorKind::Integrity,
        format!(
            "{} of the tenant's backup {} outside the tenant",
            crate::words::plural(outside, "row"),
            if outside == 1 { "is" } else { "are" }
        ),
    )
}

/// The most tenants one `backup --tenant NAME` writes.
pub const MAX_TENANT_VALUES: usize = 100_000;

/// Every value of the root's key column in the archive's dump (each tenant of the root), in
/// the dump's order. Bounded: at most [`MAX_TENANT_VALUES`], each at most 1 KiB.
pub fn tenant_values(
    archive: &Path,
    root: &super::TenantRoot,
    cancel: &CancellationToken,
) -> Result<Vec<String>> {
    let at = std::cell::Cell::new(None);
    let mut values = Vec::new();
    let mut row = crate::browse::CopyRow::default();
    crate::browse::for_each_row_line(
        archive,
        &root.schema,
        &root.table,
        cancel,
        &mut |cols| {
            at.set(cols.iter().position(|c| *c == root.key));
            at.get().map(|_| ()).ok_or_else(|| {
                Error::invalid(format!(
                    "the backup's {} has no column {:?}",
                    root.label(),
                    root.key
                ))
            })
        },
        &mut |line| {
            row.decode(line);
            let Some(v) = at.get().and_then(|i| row.field(i)) else {
                return Ok(()); // a NULL key is no tenant
            };
            if values.len() >= MAX_TENANT_VALUES || v.len() > 1024 {
                return Err(Error::invalid(format!(
                    "{} has more than {MAX_TENANT_VALUES} tenants, or a key over 1 KiB",
                    root.label()
                ))
                .with_hint("back up one tenant at a time: --tenant NAME=VALUE"));
            }
            values.push(String::from_utf8_lossy(v).into_owned());
            Ok(())
        },
    )?;
    Ok(values)
}

/// A folder name for a tenant's key value: letters, digits, `-`, `_` and `.` kept (not a
/// leading `.`), anything else `_`, at most 64 characters; a value changed on the way gets
/// the start of its SHA-256 appended, so two values never share a folder.
pub fn safe_value(value: &str) -> String {
    let mut s: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    if s != value || s.is_empty() {
        let d = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
        let hex: String = d.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect();
        s = format!("{s}-{hex}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::safe_value;

    #[test]
    fn safe_value_keeps_plain_values_and_tags_changed_ones() {
        assert_eq!(safe_value("42"), "42");
        assert_eq!(safe_value("acme-1"), "acme-1");
        let evil = safe_value("../../etc");
        assert!(!evil.contains('/') && !evil.starts_with('.'), "{evil}");
        assert_ne!(safe_value("a/b"), safe_value("a_b"));
        assert_ne!(safe_value("a b"), safe_value("a/b"));
        assert!(safe_value(&"x".repeat(500)).len() <= 64 + 13);
        assert!(!safe_value("").is_empty());
    }
}
