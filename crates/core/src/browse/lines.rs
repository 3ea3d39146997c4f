//! What comparing and recovering rows read from a backup's dump: a table's rows as raw lines
//! of COPY text (streamed, never held: the caller gets one line at a time), and each table's
//! primary key as the dump's `ADD CONSTRAINT … PRIMARY KEY (…)` statements give it.

use super::create_table::{parse_primary_key, MAX_DEFN};
use super::tables::{directory_toc, dump_reader, open};
use crate::error::Result;
use std::collections::BTreeMap;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// A table's primary key columns by (schema, table), from the dump's TOC; tables without one
/// are absent. A statement that cannot be read is left out (the table is then compared as if
/// it had no key, which is still exact, only coarser).
pub type PrimaryKeys = BTreeMap<(String, String), Vec<String>>;

/// The primary keys the dump of the backup at `path` declares.
pub fn primary_keys(path: &Path, cancel: &CancellationToken) -> Result<PrimaryKeys> {
    let mut o = open(path, cancel)?;
    let toc = match directory_toc(path, &mut o, cancel)? {
        Some(toc) => toc,
        None if o.plain => super::plain::plain_toc(path, &mut o, cancel)?.0,
        None => match o.dump.clone() {
            Some(span) => dump_reader(path, &mut o.seeker, span)?.toc().to_vec(),
            None => return Ok(PrimaryKeys::new()),
        },
    };
    Ok(keys_in(&toc))
}

/// The primary keys the `CONSTRAINT` entries of a dump's TOC declare.
pub(super) fn keys_in(toc: &[crate::pgdump::TocEntry]) -> PrimaryKeys {
    let mut keys = PrimaryKeys::new();
    for e in toc.iter().filter(|e| e.desc == "CONSTRAINT") {
        let (Some(ns), Some(defn)) = (e.namespace.as_deref(), e.defn.as_deref()) else {
            continue;
        };
        if defn.len() > MAX_DEFN {
            continue;
        }
        if let Ok(Some(((schema, table), columns))) = parse_primary_key(defn) {
            let schema = if schema.is_empty() {
                ns.to_string()
            } else {
                schema
            };
            keys.insert((schema, table), columns);
        }
    }
    keys
}

/// `schema.table`'s primary key as positions among `columns` (the dump's COPY columns); empty
/// when the TOC declares none or names a column the data does not have.
pub(super) fn key_positions(
    toc: &[crate::pgdump::TocEntry],
    schema: &str,
    table: &str,
    columns: &[String],
) -> Vec<usize> {
    let keys = keys_in(toc);
    let Some(key) = keys.get(&(schema.to_string(), table.to_string())) else {
        return Vec::new();
    };
    let at: Option<Vec<usize>> = key
        .iter()
        .map(|k| columns.iter().position(|c| c == k))
        .collect();
    at.unwrap_or_default()
}

/// Streams `schema.table`'s rows from the backup at `path` to `each_line` (one line of COPY
/// text, without its `\n`), in dump order: the table's columns (as its COPY statement lists
/// them) and the bytes read (every line with its `\n`). The same reader as row recovery's
/// ([`super::for_each_row_line`]), counting bytes.
pub fn read_table_lines(
    path: &Path,
    schema: &str,
    table: &str,
    cancel: &CancellationToken,
    each_line: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<(Vec<String>, u64)> {
    let (mut columns, mut bytes) = (Vec::new(), 0u64);
    super::for_each_row_line(
        path,
        schema,
        table,
        cancel,
        &mut |c| {
            columns = c.to_vec();
            Ok(())
        },
        &mut |line| {
            bytes += line.len() as u64 + 1;
            each_line(line)
        },
    )?;
    Ok((columns, bytes))
}
