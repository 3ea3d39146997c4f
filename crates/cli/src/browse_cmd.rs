//! `offsite browse`: a look inside a backup without restoring it (tables, rows, a CSV export,
//! storage objects).

use crate::output::Out;
use crate::shown::value as cell; // a value on one line: NULL as `NULL`, control characters escaped
use crate::{archive_arg, encryption_cmd};
use offsite_core::browse::{ColumnEquals, ObjectQuery, RowFilter, RowPage};
use offsite_core::units::format_bytes;
use offsite_core::{Engine, Error, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct BrowseArgs {
    /// The archive: its path, a backup id, PROJECT:latest, or PROJECT@TIME (the database as it
    /// was then, from its point-in-time capture; TIME in RFC 3339).
    archive: PathBuf,
    /// Show this table's rows (SCHEMA.TABLE; a table name without a dot is in public).
    #[arg(long, value_name = "SCHEMA.TABLE")]
    table: Option<String>,
    /// Rows (or objects) per page.
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Matching rows (or objects) to skip first.
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Only rows (with --table) or objects (with --objects: BUCKET/KEY) where some value
    /// contains this text (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Only rows where a column's value is exactly this text.
    #[arg(long = "where", value_name = "COLUMN=VALUE", requires = "table")]
    where_: Option<String>,
    /// Write the whole table as CSV (as COPY … TO STDOUT WITH (FORMAT csv, HEADER) does).
    #[arg(long, value_name = "FILE", requires = "table", conflicts_with_all = ["filter", "where_"])]
    csv: Option<PathBuf>,
    /// Show the table's columns and their types (from the dump's CREATE TABLE statement)
    /// instead of its rows.
    #[arg(long, requires = "table", conflicts_with_all = ["csv", "filter", "where_"])]
    columns: bool,
    /// List the storage objects instead of the tables.
    #[arg(long, conflicts_with = "table")]
    objects: bool,
    /// Only objects of this bucket (with --objects).
    #[arg(long, requires = "objects")]
    bucket: Option<String>,
    /// Only objects whose key starts with this (with --objects).
    #[arg(long, requires = "objects")]
    prefix: Option<String>,
    /// Save one object (BUCKET/KEY) to FILE.
    #[arg(
        long,
        value_name = "BUCKET/KEY",
        requires = "save",
        conflicts_with = "table"
    )]
    object: Option<String>,
    /// Where --object is saved.
    #[arg(long, value_name = "FILE", requires = "object")]
    save: Option<PathBuf>,
    /// An encrypted archive's key, read from standard input (else the project's own key).
    #[arg(long)]
    key_stdin: bool,
}

/// `public.orders` → ("public", "orders"); `orders` → ("public", "orders"). A quoted name with
/// a dot is given as `"my.schema"."t"`.
fn split_table(s: &str) -> Result<(String, String)> {
    let parts = split_quoted(s);
    match parts.as_slice() {
        [t] => Ok(("public".into(), t.clone())),
        [schema, t] => Ok((schema.clone(), t.clone())),
        _ => Err(Error::invalid(format!("{s:?} is not SCHEMA.TABLE"))),
    }
}

/// Splits at dots outside double quotes; `""` inside quotes is one quote.
fn split_quoted(s: &str) -> Vec<String> {
    let (mut parts, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

pub async fn browse(
    engine: &Engine,
    a: BrowseArgs,
    out: &Out,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<u8> {
    let key = a
        .key_stdin
        .then(encryption_cmd::key_from_stdin)
        .transpose()?;
    // `PROJECT@TIME`: the state at that time, in a temporary archive held until the end.
    let at = archive_arg::at_state(engine, &a.archive, out, cancel).await?;
    let out = &match &at {
        Some(s) => out.with_at(&s.state),
        None => out.clone(),
    };
    let path = match &at {
        Some(s) => s.path.clone(),
        None => archive_arg::resolve(engine, &a.archive, out).await?.path,
    };
    if let (Some(object), Some(dest)) = (&a.object, &a.save) {
        let (bucket, k) = object
            .split_once('/')
            .ok_or_else(|| Error::invalid(format!("{object:?} is not BUCKET/KEY")))?;
        let saved = engine.save_object(&path, key, bucket, k, dest).await?;
        if out.json() {
            out.emit(&saved);
        } else {
            println!("{}", saved.path);
        }
        return Ok(0);
    }
    if a.filter.is_some() && a.table.is_none() && !a.objects {
        return Err(Error::invalid("--filter needs --table or --objects"));
    }
    if a.objects {
        let q = ObjectQuery {
            bucket: a.bucket.clone(),
            prefix: a.prefix.clone(),
            search: a.filter.clone(),
            offset: a.offset,
            limit: a.limit,
        };
        let page = engine.browse_objects(&path, key, q).await?;
        if out.json() {
            out.emit(&page);
            return Ok(0);
        }
        for o in &page.objects {
            let ct = o.content_type.as_deref().unwrap_or("-");
            let base = if o.in_archive {
                ""
            } else {
                "  (in the base backup)"
            };
            println!(
                "{}/{}\t{}\t{ct}{base}",
                o.bucket,
                o.key,
                format_bytes(o.size)
            );
        }
        footer(
            "objects",
            page.offset,
            page.objects.len(),
            page.more,
            Some(page.total),
        );
        return Ok(0);
    }
    let Some(table) = &a.table else {
        let t = engine.browse_tables(&path, key).await?;
        if out.json() {
            out.emit(&t);
            return Ok(0);
        }
        println!("backup {} of {} ({})", t.backup_id, t.project, t.created_at);
        if let Some(note) = &t.note {
            println!("note: {note}");
        }
        if let Some(sel) = &t.selection {
            for line in crate::selection_cmd::lines(sel) {
                println!("{line}");
            }
        }
        for t in &t.tables {
            let rows = t.rows.map_or("? rows".to_string(), |r| format!("{r} rows"));
            let size = t
                .data_bytes
                .map(|b| format!("\t{}", format_bytes(b)))
                .unwrap_or_default();
            println!("{}.{}\t{rows}{size}", t.schema, t.name);
        }
        return Ok(0);
    };
    let (schema, name) = split_table(table)?;
    if a.columns {
        return columns(engine, &path, key, &schema, &name, out).await;
    }
    if let Some(dest) = &a.csv {
        let done = engine
            .export_table_csv(&path, key, &schema, &name, dest)
            .await?;
        if out.json() {
            out.emit(&done);
        } else {
            println!("{} ({} rows)", done.path, done.rows);
        }
        return Ok(0);
    }
    let filtered = a.filter.is_some() || a.where_.is_some();
    let filter = RowFilter {
        contains: a.filter.clone(),
        column_equals: a.where_.as_deref().map(ColumnEquals::parse).transpose()?,
    };
    let page = engine
        .browse_rows(&path, key, &schema, &name, a.offset, a.limit, filter)
        .await?;
    if out.json() {
        out.emit(&page);
    } else {
        print_page(&page, filtered);
    }
    Ok(0)
}

/// `--columns`: each column's name and type, one a line (tab between); the note on standard
/// error when some types cannot be read.
async fn columns(
    engine: &Engine,
    path: &std::path::Path,
    key: Option<offsite_core::crypto::UserKey>,
    schema: &str,
    name: &str,
    out: &Out,
) -> Result<u8> {
    let tables = engine.browse_tables(path, key).await?;
    let t = tables
        .tables
        .into_iter()
        .find(|t| t.schema == schema && t.name == name)
        .ok_or_else(|| {
            Error::not_found(format!(
                "{}: the dump has no data for table {schema}.{name}",
                path.display()
            ))
            .with_hint("`offsite browse ARCHIVE` lists the tables it has")
        })?;
    if out.json() {
        out.emit(&t);
        return Ok(0);
    }
    for (i, c) in t.columns.iter().enumerate() {
        let ty = t.column_types.get(i).cloned().flatten();
        let ty = ty.map_or("?".to_string(), |t| cell(&Some(t)));
        println!("{}\t{ty}", cell(&Some(c.clone())));
    }
    if let Some(note) = &t.types_note {
        eprintln!("note: {note}");
    }
    Ok(0)
}

fn print_page(p: &RowPage, filtered: bool) {
    let names: Vec<String> = p.columns.iter().map(|c| crate::shown::text(c)).collect();
    println!("{}", names.join(" | "));
    if let Some(note) = &p.types_note {
        eprintln!("note: {note}");
    }
    for r in &p.rows {
        let cells: Vec<String> = r.iter().map(cell).collect();
        println!("{}", cells.join(" | "));
    }
    let total = if filtered { None } else { p.total_rows };
    footer("rows", p.offset, p.rows.len(), p.more, total);
}

fn footer(what: &str, offset: u64, shown: usize, more: bool, total: Option<u64>) {
    let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
    if shown == 0 {
        eprintln!("no {what} (offset {offset}{of})");
        return;
    }
    let next = if more {
        format!("; more with --offset {}", offset + shown as u64)
    } else {
        String::new()
    };
    eprintln!("{what} {}-{}{of}{next}", offset + 1, offset + shown as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert_eq!(
            split_table("public.orders").unwrap(),
            ("public".into(), "orders".into())
        );
        assert_eq!(
            split_table("orders").unwrap(),
            ("public".into(), "orders".into())
        );
        assert_eq!(
            split_table(r#""odd schema"."Tricky, ""t"".x""#).unwrap(),
            ("odd schema".into(), "Tricky, \"t\".x".into())
        );
        assert!(split_table("a.b.c").is_err());
    }
}
