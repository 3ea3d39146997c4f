//! `offsite diff FROM TO`: two backups, or a backup and a project's database now, compared
//! table by table (the engine does the work; this prints it).

use crate::encryption_cmd;
use crate::output::Out;
use offsite_core::diff::{
    parse_table_name, DiffOptions, DiffReport, RowChangeKind, TableDiff, TableStatus,
};
use offsite_core::{Engine, Result};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The older side: an archive's path, a backup id, PROJECT:latest, PROJECT:latest~N (the
    /// N-th good backup before the newest), PROJECT:live (the database now) or PROJECT@TIME (the
    /// database as it was then, from its point-in-time capture; TIME in RFC 3339).
    from: String,
    /// The newer side, named the same ways.
    to: String,
    /// Only this table (SCHEMA.TABLE; quote a part holding a dot: 'public."my.table"');
    /// repeat for more.
    #[arg(long, value_name = "SCHEMA.TABLE")]
    table: Vec<String>,
    /// List the changed rows of changed tables (key, and per changed column before → after).
    #[arg(long)]
    rows: bool,
    /// Changed rows per table and page (with --rows; at most 1000).
    #[arg(long, default_value_t = 50, requires = "rows")]
    limit: u32,
    /// Changed rows to skip first (with --rows: the next page starts at offset + limit).
    #[arg(long, default_value_t = 0, requires = "rows")]
    offset: u64,
    /// An encrypted archive's key, read from standard input (else the project's own key).
    #[arg(long)]
    key_stdin: bool,
}

pub async fn diff(
    engine: &Engine,
    a: DiffArgs,
    out: &Out,
    cancel: CancellationToken,
) -> Result<u8> {
    let key = a
        .key_stdin
        .then(encryption_cmd::key_from_stdin)
        .transpose()?;
    let options = DiffOptions {
        tables: a
            .table
            .iter()
            .map(|t| parse_table_name(t))
            .collect::<Result<_>>()?,
        rows: a.rows,
        offset: a.offset,
        limit: a.limit,
    };
    for side in [&a.from, &a.to] {
        crate::archive_arg::say_plan(engine, side, out).await?;
    }
    let report = engine.diff(&a.from, &a.to, &options, key, &cancel).await?;
    if out.json() {
        out.emit(&report);
    } else {
        print(&report);
    }
    Ok(0)
}

fn print(r: &DiffReport) {
    println!("from {}\nto   {}", r.from, r.to);
    for n in &r.notes {
        println!("note: {n}");
    }
    for t in &r.tables {
        print_table(t);
    }
    let changed = r
        .tables
        .iter()
        .filter(|t| t.status != TableStatus::Identical)
        .count();
    println!(
        "{} tables, {changed} differ; {} of rows read",
        r.tables.len(),
        offsite_core::units::format_bytes(r.bytes_read)
    );
}

use crate::shown::value;

fn print_table(t: &TableDiff) {
    let name = crate::shown::table(&t.schema, &t.table);
    let what = match t.status {
        TableStatus::Identical => "identical".to_string(),
        TableStatus::OnlyInFrom => "only in FROM".to_string(),
        TableStatus::OnlyInTo => "only in TO".to_string(),
        TableStatus::Changed => format!(
            "changed: +{} added, -{} removed, ~{} changed, {} unchanged",
            t.added, t.removed, t.changed, t.unchanged
        ),
    };
    println!("{name}\t{what}");
    for c in &t.columns_added {
        println!(
            "  column added: {} {}",
            crate::shown::ident(&c.name),
            crate::shown::text(c.data_type.as_deref().unwrap_or("?"))
        );
    }
    for c in &t.columns_removed {
        println!(
            "  column removed: {} {}",
            crate::shown::ident(&c.name),
            crate::shown::text(c.data_type.as_deref().unwrap_or("?"))
        );
    }
    for c in &t.columns_retyped {
        println!(
            "  column retyped: {} {} → {}",
            crate::shown::ident(&c.name),
            crate::shown::text(&c.from),
            crate::shown::text(&c.to)
        );
    }
    if let Some(n) = &t.note {
        println!("  note: {n}");
    }
    for row in &t.rows {
        let key: Vec<String> = row
            .key
            .iter()
            .map(|k| format!("{}={}", crate::shown::ident(&k.column), value(&k.value)))
            .collect();
        let sign = match row.kind {
            RowChangeKind::Added => "+",
            RowChangeKind::Removed => "-",
            RowChangeKind::Changed => "~",
        };
        println!("  {sign} {}", key.join(", "));
        for c in &row.columns {
            match row.kind {
                RowChangeKind::Changed => {
                    println!(
                        "      {}: {} → {}",
                        crate::shown::ident(&c.column),
                        value(&c.before),
                        value(&c.after)
                    )
                }
                RowChangeKind::Added => {
                    println!(
                        "      {}: {}",
                        crate::shown::ident(&c.column),
                        value(&c.after)
                    )
                }
                RowChangeKind::Removed => {
                    println!(
                        "      {}: {}",
                        crate::shown::ident(&c.column),
                        value(&c.before)
                    )
                }
            }
        }
    }
    if t.rows_more {
        println!(
            "  … more changed rows: --offset {}",
            t.rows_offset + t.rows.len() as u64
        );
    }
}
