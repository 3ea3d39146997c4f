//! Tables of a backup's `database.dump`: listed from the dump's TOC, their rows streamed from
//! their data block (reached at the offset the manifest or the TOC records, else found by
//! reading the blocks in order).

use super::coltypes::{ColumnTypes, Definitions};
use super::copytext::{csv_header, CopyRow};
use super::{BrowseTables, CsvExport, RowFilter, RowPage, TableInfo, MAX_ROW, MAX_SHOWN_VALUE};
use crate::archive::random_access::{ArchiveSeeker, MemberReader, MemberSpan};
use crate::archive::{Manifest, DATABASE_MEMBER, DATABASE_SQL_MEMBER, DATABASE_TOC_MEMBER};
use crate::error::{Error, ErrorKind, Result};
use crate::pgdump::{self, BlockKind, DataState, DumpReader, TocEntry};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// The archive opened, its manifest read, its dump found.
pub(super) struct Opened {
    pub manifest: Manifest,
    pub seeker: ArchiveSeeker,
    pub dump: Option<MemberSpan>,
    /// Why there is no readable dump.
    pub note: Option<String>,
    /// The database is a plain SQL dump (`database.sql`): see [`super::plain`].
    pub plain: bool,
}

pub(super) fn open(path: &Path, cancel: &CancellationToken) -> Result<Opened> {
    let manifest = crate::archive::read_manifest(path)?;
    let mut seeker = ArchiveSeeker::open(path)?;
    let mut note = None;
    let plain = manifest.member(DATABASE_MEMBER).is_none()
        && manifest.member(DATABASE_TOC_MEMBER).is_none()
        && manifest.member(DATABASE_SQL_MEMBER).is_some();
    let dump = if manifest.member(DATABASE_MEMBER).is_some() {
        let span = seeker.find(DATABASE_MEMBER, cancel)?.ok_or_else(|| {
            Error::integrity(format!(
                "{}: the manifest lists {DATABASE_MEMBER} but the archive has no such member",
                path.display()
            ))
        })?;
        Some(span)
    } else {
        // A directory dump (format 2): see `directory_toc`; a plain SQL dump: see `plain`.
        if manifest.member(DATABASE_TOC_MEMBER).is_none() && !plain {
            note = Some(format!(
                "this backup holds no database (a {} backup)",
                manifest.backup_type
            ));
        }
        None
    };
    Ok(Opened {
        manifest,
        seeker,
        dump,
        note,
        plain,
    })
}

/// The dump, read through a buffer (its parser reads integers a byte at a time, and pg_dump
/// without compression writes every row as a chunk of its own).
pub(super) type Dump<'a> = DumpReader<BufReader<MemberReader<'a>>>;

pub(super) fn dump_reader<'a>(
    path: &Path,
    seeker: &'a mut ArchiveSeeker,
    span: MemberSpan,
) -> Result<Dump<'a>> {
    let r = BufReader::with_capacity(64 << 10, seeker.member_reader(span));
    DumpReader::new(r).map_err(|e| dump_error(path, e))
}

/// A TABLE DATA entry's schema, table and columns (from its COPY statement).
struct TableEntry {
    dump_id: i32,
    schema: String,
    table: String,
    columns: Vec<String>,
    state: DataState,
}

fn table_entries(dump: &Dump<'_>) -> Vec<TableEntry> {
    toc_table_entries(dump.toc())
}

fn toc_table_entries(toc: &[TocEntry]) -> Vec<TableEntry> {
    toc.iter()
        .filter(|e| e.desc == "TABLE DATA")
        .filter_map(|e: &TocEntry| {
            let target = e
                .copy_stmt
                .as_deref()
                .and_then(|s| pgdump::parse_copy_stmt(s).ok());
            let (schema, table, columns) = match target {
                Some(t) => (t.schema, t.table, t.columns),
                None => (e.namespace.clone()?, e.tag.clone(), Vec::new()),
            };
            Some(TableEntry {
                dump_id: e.dump_id,
                schema,
                table,
                columns,
                state: e.data_state,
            })
        })
        .collect()
}

fn dump_error(path: &Path, e: Error) -> Error {
    if e.kind() == ErrorKind::Integrity || e.kind() == ErrorKind::UnsupportedFormat {
        Error::new(
            e.kind(),
            format!("{}: {DATABASE_MEMBER}: {}", path.display(), e.message()),
        )
        .with_hint(
            e.hint()
                .unwrap_or("use another copy of this backup")
                .to_string(),
        )
    } else {
        e
    }
}

/// The tables of the backup at `path`.
pub fn list_tables(path: &Path, cancel: &CancellationToken) -> Result<BrowseTables> {
    let mut o = open(path, cancel)?;
    let dir_toc = directory_toc(path, &mut o, cancel)?;
    let m = &o.manifest;
    let mut out = BrowseTables {
        backup_id: m.backup_id.clone(),
        project: m.project.clone(),
        created_at: m.created_at.clone(),
        readable: false,
        note: o.note.clone(),
        schemas: Vec::new(),
        tables: Vec::new(),
        selection: m.selection.clone(),
    };
    if let Some(toc) = dir_toc {
        out.readable = true;
        out.note = None;
        let defs = Definitions::new(&toc);
        for t in toc_table_entries(&toc) {
            let recorded = m.table(&t.schema, &t.table);
            let member = data_member(recorded, t.dump_id);
            let bytes = m.member(&member).map(|e| e.size);
            // A big table read in ranges (issue 67): one table, its ranges' bytes together.
            if let Some(seen) = out
                .tables
                .iter_mut()
                .find(|x| x.schema == t.schema && x.name == t.table)
            {
                seen.data_bytes = seen.data_bytes.zip(bytes).map(|(a, b)| a + b);
                continue;
            }
            let types = defs.column_types(&t.schema, &t.table, &t.columns);
            out.tables.push(TableInfo {
                rows: recorded.map(|c| c.rows),
                data_bytes: bytes,
                readable: true,
                schema: t.schema,
                name: t.table,
                columns: t.columns,
                column_types: types.types,
                types_note: types.note,
            });
        }
        finish_schemas(&mut out);
        return Ok(out);
    }
    if o.plain {
        let (toc, counts) = super::plain::plain_toc(path, &mut o, cancel)?;
        out.readable = true;
        let defs = Definitions::new(&toc);
        for (t, (rows, bytes)) in toc
            .iter()
            .zip(&counts)
            .filter(|(t, _)| t.desc == "TABLE DATA")
        {
            let ns = t.namespace.clone().unwrap_or_default();
            if out.tables.iter().any(|x| x.schema == ns && x.name == t.tag) {
                continue; // the reader reads a table's first COPY block
            }
            let columns = t
                .copy_stmt
                .as_deref()
                .and_then(|s| pgdump::parse_copy_stmt(s.trim_end()).ok())
                .map(|c| c.columns)
                .unwrap_or_default();
            let types = defs.column_types(&ns, &t.tag, &columns);
            let recorded = o.manifest.table(&ns, &t.tag);
            out.tables.push(TableInfo {
                rows: Some(recorded.map_or(*rows, |c| c.rows)),
                data_bytes: Some(*bytes),
                readable: true,
                schema: ns,
                name: t.tag.clone(),
                columns,
                column_types: types.types,
                types_note: types.note,
            });
        }
        finish_schemas(&mut out);
        return Ok(out);
    }
    let Some(span) = o.dump.clone() else {
        finish_schemas(&mut out);
        return Ok(out);
    };
    let dump = dump_reader(path, &mut o.seeker, span)?;
    let readable = dump.data_readable();
    out.readable = readable.is_ok();
    if let Err(e) = readable {
        out.note = Some(e.message().to_string());
    }
    let defs = Definitions::new(dump.toc());
    for t in table_entries(&dump) {
        let types = defs.column_types(&t.schema, &t.table, &t.columns);
        let recorded = m.table(&t.schema, &t.table);
        out.tables.push(TableInfo {
            rows: recorded.map(|c| c.rows),
            data_bytes: recorded.and_then(recorded_block).map(|(_, len)| len),
            readable: out.readable,
            schema: t.schema,
            name: t.table,
            columns: t.columns,
            column_types: types.types,
            types_note: types.note,
        });
    }
    finish_schemas(&mut out);
    Ok(out)
}

fn finish_schemas(out: &mut BrowseTables) {
    let mut s: Vec<String> = out.tables.iter().map(|t| t.schema.clone()).collect();
    s.sort();
    s.dedup();
    out.schemas = s;
}

/// Where the manifest says a table's data block is in the dump (offset, length).
fn recorded_block(c: &crate::archive::TableCount) -> Option<(u64, u64)> {
    Some((c.dump_offset?, c.dump_length?))
}

/// A table's rows, as lines of COPY text, positioned at its first row.
pub(super) struct TableRows<'a> {
    pub(super) columns: Vec<String>,
    pub(super) types: ColumnTypes,
    pub(super) total_rows: Option<u64>,
    /// The primary key's positions among `columns` (empty: the dump declares none here).
    pub(super) key: Vec<usize>,
    pub(super) lines: Box<dyn BufRead + 'a>,
}

/// Opens `schema.table`'s data in the archive and calls `f` with its rows.
pub(super) fn with_table<T>(
    path: &Path,
    schema: &str,
    table: &str,
    cancel: &CancellationToken,
    f: &mut dyn FnMut(&mut TableRows<'_>) -> Result<T>,
) -> Result<T> {
    let mut o = open(path, cancel)?;
    if let Some(toc) = directory_toc(path, &mut o, cancel)? {
        return with_directory_table(path, &mut o, &toc, schema, table, cancel, f);
    }
    if o.plain {
        return super::plain::with_plain_table(path, &mut o, schema, table, cancel, f);
    }
    let Some(span) = o.dump.clone() else {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!("{}: {}", path.display(), o.note.unwrap_or_default()),
        ));
    };
    let recorded = o.manifest.table(schema, table).cloned();
    let mut dump = dump_reader(path, &mut o.seeker, span)?;
    let entry = table_entries(&dump)
        .into_iter()
        .find(|t| t.schema == schema && t.table == table)
        .ok_or_else(|| no_table(path, schema, table))?;
    dump.data_readable().map_err(|e| dump_error(path, e))?;
    let types = Definitions::new(dump.toc()).column_types(schema, table, &entry.columns);
    let at = recorded
        .as_ref()
        .and_then(recorded_block)
        .map(|(o, _)| o)
        .or(match entry.state {
            DataState::At(o) => Some(o),
            _ => None,
        });
    match at {
        Some(offset) => {
            let info = dump.seek_block(offset).map_err(|e| dump_error(path, e))?;
            if info.dump_id != entry.dump_id || info.kind != BlockKind::Data {
                return Err(Error::integrity(format!(
                    "{}: the data of {schema}.{table} is recorded at offset {offset} of \
                     {DATABASE_MEMBER}, but another block is there",
                    path.display()
                ))
                .with_hint("the backup's records do not match its dump; use another copy"));
            }
        }
        None => loop {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            match dump.next_block().map_err(|e| dump_error(path, e))? {
                Some(b) if b.dump_id == entry.dump_id && b.kind == BlockKind::Data => break,
                Some(_) => continue,
                None => {
                    return Err(Error::integrity(format!(
                        "{}: {DATABASE_MEMBER} has no data block for {schema}.{table}",
                        path.display()
                    )))
                }
            }
        },
    }
    let key = super::lines::key_positions(dump.toc(), schema, table, &entry.columns);
    let mut rows = TableRows {
        columns: entry.columns,
        types,
        total_rows: recorded.map(|c| c.rows),
        key,
        lines: Box::new(BufReader::with_capacity(256 << 10, dump.data())),
    };
    f(&mut rows)
}

/// A directory dump's (format 2) TOC, from its `database/toc.dat`; `None` for other archives.
pub(super) fn directory_toc(
    path: &Path,
    o: &mut Opened,
    cancel: &CancellationToken,
) -> Result<Option<Vec<TocEntry>>> {
    if o.dump.is_some() || o.manifest.member(DATABASE_TOC_MEMBER).is_none() {
        return Ok(None);
    }
    let span = o.seeker.find(DATABASE_TOC_MEMBER, cancel)?.ok_or_else(|| {
        Error::integrity(format!(
            "{}: the manifest lists {DATABASE_TOC_MEMBER} but the archive has no such member",
            path.display()
        ))
    })?;
    let r = BufReader::with_capacity(64 << 10, o.seeker.member_reader(span));
    let (_, toc) = pgdump::read_directory_toc(r).map_err(|e| {
        Error::new(
            e.kind(),
            format!("{}: {DATABASE_TOC_MEMBER}: {}", path.display(), e.message()),
        )
    })?;
    Ok(Some(toc))
}

/// The member holding a table's data in a directory dump.
fn data_member(recorded: Option<&crate::archive::TableCount>, dump_id: i32) -> String {
    recorded
        .and_then(|c| c.dump_member.clone())
        .unwrap_or_else(|| format!("{}{dump_id}.dat", crate::archive::DATABASE_DIR_PREFIX))
}

/// [`with_table`] for a directory dump: the rows are the table's own member (COPY text, no
/// compression: `pg_dump -Fd -Z0`).
fn with_directory_table<T>(
    path: &Path,
    o: &mut Opened,
    toc: &[TocEntry],
    schema: &str,
    table: &str,
    cancel: &CancellationToken,
    f: &mut dyn FnMut(&mut TableRows<'_>) -> Result<T>,
) -> Result<T> {
    // Every data entry of the table, in the dump's order: one, or a big table's ranges.
    let mut entries = toc_table_entries(toc)
        .into_iter()
        .filter(|t| t.schema == schema && t.table == table);
    let entry = entries
        .next()
        .ok_or_else(|| no_table(path, schema, table))?;
    let more: Vec<i32> = entries.map(|e| e.dump_id).collect();
    let recorded = o.manifest.table(schema, table).cloned();
    let members: Vec<String> = if more.is_empty() {
        vec![data_member(recorded.as_ref(), entry.dump_id)]
    } else {
        std::iter::once(entry.dump_id)
            .chain(more)
            .map(|id| data_member(None, id))
            .collect()
    };
    let types = Definitions::new(toc).column_types(schema, table, &entry.columns);
    let mut spans = Vec::new();
    for member in &members {
        spans.push(o.seeker.find(member, cancel)?.ok_or_else(|| {
            Error::integrity(format!(
                "{}: the archive has no member {member} for {schema}.{table}",
                path.display()
            ))
        })?);
    }
    let key = super::lines::key_positions(toc, schema, table, &entry.columns);
    let lines: Box<dyn BufRead + '_> = if spans.len() == 1 {
        let span = spans.pop().expect("one span");
        Box::new(BufReader::with_capacity(
            256 << 10,
            o.seeker.member_reader(span),
        ))
    } else {
        Box::new(BufReader::with_capacity(
            256 << 10,
            o.seeker.joined_reader(spans, pgdump::COPY_TERMINATOR),
        ))
    };
    let mut rows = TableRows {
        columns: entry.columns,
        types,
        total_rows: recorded.map(|c| c.rows),
        key,
        lines,
    };
    f(&mut rows)
}

impl TableRows<'_> {
    /// The next row's line (without `\n`) into `line`; `false` at the end.
    pub(super) fn next_line(&mut self, line: &mut Vec<u8>) -> Result<bool> {
        line.clear();
        let n = (&mut self.lines)
            .take(MAX_ROW as u64 + 1)
            .read_until(b'\n', line)
            .map_err(|e| pgdump::io_error(e, "reading the table's rows"))?;
        if n == 0 {
            return Err(Error::integrity(
                "the table's data in the dump ends without COPY's end marker (\\.)",
            ));
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            // `\.` alone ends COPY data (a backslash in a value is always escaped, so no row
            // is `\.`); pg_dump writes it after every table's rows.
            if line == b"\\." {
                return Ok(false);
            }
            // psql ends COPY data at `\.` with a carriage return too: no reader here takes
            // it for a row (a backslash in a value is always escaped).
            if line == b"\\.\r" {
                return Err(Error::new(
                    ErrorKind::UnsupportedFormat,
                    "the table's data ends with `\\.` and a carriage return; it is not read here",
                ));
            }
        } else if n > MAX_ROW {
            return Err(Error::new(
                ErrorKind::UnsupportedFormat,
                format!(
                    "a row is larger than {} MiB; it is not read here",
                    MAX_ROW >> 20
                ),
            ));
        }
        Ok(true)
    }
}

/// Whether `row` matches `filter` (`col` is the index of the filter's column).
fn matches(row: &CopyRow, filter: &RowFilter, needle: Option<&str>, col: Option<usize>) -> bool {
    if let (Some(i), Some(eq)) = (col, &filter.column_equals) {
        if row.field(i) != Some(eq.value.as_bytes()) {
            return false;
        }
    }
    match needle {
        None => true,
        Some(n) => row
            .fields()
            .flatten()
            .any(|f| String::from_utf8_lossy(f).to_lowercase().contains(n)),
    }
}

/// A page of `schema.table`'s rows: `limit` matching rows after skipping `offset` matching
/// rows. Reads rows only up to the page's end.
#[allow(clippy::too_many_arguments)]
pub fn rows_page(
    path: &Path,
    schema: &str,
    table: &str,
    offset: u64,
    limit: u32,
    filter: &RowFilter,
    cancel: &CancellationToken,
) -> Result<RowPage> {
    with_table(path, schema, table, cancel, &mut |t| {
        let col =
            match &filter.column_equals {
                Some(eq) => Some(t.columns.iter().position(|c| *c == eq.column).ok_or_else(
                    || {
                        Error::invalid(format!(
                            "{schema}.{table} has no column {:?} (its columns: {})",
                            eq.column,
                            t.columns.join(", ")
                        ))
                    },
                )?),
                None => None,
            };
        let needle = filter
            .contains
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        let mut page = RowPage {
            schema: schema.into(),
            table: table.into(),
            columns: t.columns.clone(),
            column_types: t.types.types.clone(),
            types_note: t.types.note.clone(),
            rows: Vec::new(),
            offset,
            more: false,
            scanned: 0,
            total_rows: t.total_rows,
            cut_values: false,
            key: t.key.iter().map(|&i| t.columns[i].clone()).collect(),
            row_keys: Vec::new(),
        };
        let (mut line, mut row, mut skipped) = (Vec::new(), CopyRow::default(), 0u64);
        while t.next_line(&mut line)? {
            if page.scanned.is_multiple_of(4096) && cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            page.scanned += 1;
            row.decode(&line);
            if !matches(&row, filter, needle.as_deref(), col) {
                continue;
            }
            if skipped < offset {
                skipped += 1;
                continue;
            }
            if page.rows.len() == limit as usize {
                page.more = true;
                page.scanned -= 1;
                break;
            }
            page.rows.push(shown(&row, &mut page.cut_values));
            if !t.key.is_empty() {
                page.row_keys.push(row_key(&row, &t.key));
            }
        }
        Ok(page)
    })
}

/// A row's key values whole (never cut: they name the row to the recovery); `None` when one is
/// NULL or missing (such a row cannot be named).
fn row_key(row: &CopyRow, key: &[usize]) -> Option<Vec<String>> {
    key.iter()
        .map(|&i| {
            row.field(i)
                .map(|b| String::from_utf8_lossy(b).into_owned())
        })
        .collect()
}

/// A row's values as shown: text, each cut to [`MAX_SHOWN_VALUE`] bytes.
fn shown(row: &CopyRow, cut: &mut bool) -> Vec<Option<String>> {
    row.fields()
        .map(|f| {
            f.map(|b| {
                if b.len() > MAX_SHOWN_VALUE {
                    *cut = true;
                    let mut s = String::from_utf8_lossy(&b[..MAX_SHOWN_VALUE]).into_owned();
                    s.push('…');
                    s
                } else {
                    String::from_utf8_lossy(b).into_owned()
                }
            })
        })
        .collect()
}

/// Writes `schema.table` as CSV (with a header line) to `dest`: a private temporary file
/// beside it (0600), synced, renamed over `dest`.
pub fn export_table_csv(
    path: &Path,
    schema: &str,
    table: &str,
    dest: &Path,
    cancel: &CancellationToken,
) -> Result<CsvExport> {
    let what = || format!("writing {}", dest.display());
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = crate::private_fs::tempfile_in(dir, ".offsite-tmp-csv-")
        .map_err(|e| Error::io(what(), e))?;
    let (rows, bytes) = with_table(path, schema, table, cancel, &mut |t| {
        let mut out = std::io::BufWriter::with_capacity(256 << 10, tmp.as_file_mut());
        let mut buf = Vec::with_capacity(64 << 10);
        csv_header(&t.columns, &mut buf);
        let (mut line, mut row, mut rows, mut bytes) = (Vec::new(), CopyRow::default(), 0u64, 0);
        while t.next_line(&mut line)? {
            if rows.is_multiple_of(4096) && cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            row.decode(&line);
            row.write_csv(&mut buf);
            rows += 1;
            if buf.len() >= 64 << 10 {
                out.write_all(&buf).map_err(|e| Error::io(what(), e))?;
                bytes += buf.len() as u64;
                buf.clear();
            }
        }
        out.write_all(&buf).map_err(|e| Error::io(what(), e))?;
        bytes += buf.len() as u64;
        out.flush().map_err(|e| Error::io(what(), e))?;
        Ok((rows, bytes))
    })?;
    tmp.as_file().sync_all().map_err(|e| Error::io(what(), e))?;
    tmp.persist(dest).map_err(|e| Error::io(what(), e.error))?;
    Ok(CsvExport {
        path: dest.display().to_string(),
        rows,
        bytes,
    })
}

/// The error for a table the dump holds no data of.
pub(super) fn no_table(path: &Path, schema: &str, table: &str) -> Error {
    Error::not_found(format!(
        "{}: the dump has no data for table {schema}.{table}",
        path.display()
    ))
    .with_hint("`offsite browse ARCHIVE` lists the tables it has")
}

/// The dump's table of contents (a custom-format or directory dump), for readers that write
/// its schema again (per-tenant backups).
pub fn dump_toc(path: &Path, cancel: &CancellationToken) -> Result<Vec<TocEntry>> {
    let mut o = open(path, cancel)?;
    if let Some(toc) = directory_toc(path, &mut o, cancel)? {
        return Ok(toc);
    }
    let Some(span) = o.dump else {
        let why = if o.plain {
            "its database is a plain SQL dump: its schema is not split again here".to_string()
        } else {
            o.note.unwrap_or_else(|| "no readable dump".into())
        };
        return Err(Error::new(
            crate::error::ErrorKind::UnsupportedFormat,
            format!("{}: {why}", path.display()),
        ));
    };
    let dump = dump_reader(path, &mut o.seeker, span)?;
    Ok(dump.toc().to_vec())
}
