//! Plain SQL files (`.sql`, `.sql.gz`, `pg_dumpall` output) as imports: described by one pass
//! over the file ([`crate::plainsql::scan`]), with the database to take chosen for a file that
//! holds several.

use super::{entry, parse_created, DumpHeader, DumpSource, ImportKind, ImportPreview, Inspected};
use crate::archive::{BackupType, SourceInfo, TableCount, DATABASE_SQL_MEMBER, GLOBALS_MEMBER};
use crate::error::{Error, ErrorKind, Result};
use crate::plainsql::scan as plain_scan;
use std::path::Path;
use tokio_util::sync::CancellationToken;

impl Inspected {
    /// Choose the database to import from a plain SQL file: required when it holds more than
    /// one, refused (listing them) when it holds none of that name or the file is not a plain
    /// SQL file with databases.
    pub(crate) fn choose_database(&mut self, asked: Option<&str>) -> Result<()> {
        let plain = match (&self.dump, &self.preview.plain) {
            (Some(DumpSource::Plain { connects: true, .. }), Some(p)) => p,
            _ => {
                return match asked {
                    Some(_) => Err(Error::new(
                        ErrorKind::InvalidInput,
                        "choosing a database only applies to a pg_dumpall file (or a plain SQL dump made with pg_dump --create)",
                    )
                    .with_hint("import the file without --database")),
                    None => Ok(()),
                }
            }
        };
        let dbs = &plain.databases;
        let chosen = match asked {
            Some(a) => dbs
                .iter()
                .find(|d| d.name == a)
                .map(|d| d.name.clone())
                .ok_or_else(|| plain_scan::choose_database_error(dbs, Some(a)))?,
            None if dbs.len() == 1 => dbs[0].name.clone(),
            None if dbs.is_empty() => {
                return Err(Error::new(
                    ErrorKind::UnsupportedFormat,
                    "the SQL dump holds no database with objects in it: nothing to import",
                )
                .with_hint("use a dump that holds a database"))
            }
            None => return Err(plain_scan::choose_database_error(dbs, None)),
        };
        if let Some(d) = dbs.iter().find(|d| d.name == chosen) {
            self.preview.tables = tables_of(&d.tables);
        }
        self.preview.project = Some(chosen.clone());
        self.preview.source.database = Some(chosen.clone());
        if let Some(h) = self.preview.dump.as_mut() {
            h.database = Some(chosen.clone());
            h.tables = dbs
                .iter()
                .find(|d| d.name == chosen)
                .map(|d| d.tables.clone())
                .unwrap_or_default();
        }
        self.database = Some(chosen);
        Ok(())
    }
}

fn tables_of(names: &[String]) -> Vec<TableCount> {
    names
        .iter()
        .map(|t| {
            let (schema, table) = t.split_once('.').unwrap_or(("", t));
            TableCount::counted(schema, table, 0)
        })
        .collect()
}

/// The note an imported plain SQL dump's manifest carries instead of row counts.
pub const PLAIN_TABLES_NOT_RECORDED: &str =
    "row counts were not recorded: this backup was imported from a database dump written as SQL text, so a restore cannot compare them";

/// The preview's note on a plain SQL file (not imported yet: see `PREVIEW_ROWS_NOT_RECORDED`).
pub const PLAIN_PREVIEW_ROWS_NOT_RECORDED: &str =
    "a database dump written as SQL text holds no row counts, so a restore of it cannot compare the rows it wrote with the source's";

/// A plain SQL file (`.sql`, `.sql.gz`, pg_dumpall output): read once to describe it.
pub(super) fn inspect_plain(path: &Path, size: u64) -> Result<Inspected> {
    let sc = plain_scan::scan(path, &CancellationToken::new())?;
    let header = DumpHeader {
        created: sc.started.clone(),
        created_at: sc.started.as_deref().and_then(parse_created),
        database: None,
        toc_entries: None,
        dump_version: None,
        server_version: sc.server_version.clone(),
        pg_dump_version: sc.pg_dump_version.clone(),
        tables: sc.tables.clone(),
    };
    let kind = if sc.info.dumpall {
        ImportKind::PgDumpall
    } else {
        ImportKind::PlainSql
    };
    let mut notes = vec![PLAIN_PREVIEW_ROWS_NOT_RECORDED.to_string()];
    notes.push(
        "a plain SQL dump is restored through psql, all of it in one transaction; choosing schemas or tables to restore is not available for it"
            .to_string(),
    );
    if !sc.info.from_pg_dump {
        notes.push(
            "the file has no pg_dump header: it is imported as a psql script (psql meta-commands in it are refused)"
                .to_string(),
        );
    }
    if sc.info.arbitrary_sql_total > 0 {
        let first: Vec<String> = sc.info.arbitrary_sql.iter().map(|f| f.sentence()).collect();
        notes.push(format!(
            "the file holds {} pg_dump never writes; a restore runs {} only with --allow-arbitrary-sql (as a superuser they can run programs and read files on the database server): {}",
            crate::words::plural(sc.info.arbitrary_sql_total, "statement"),
            if sc.info.arbitrary_sql_total == 1 { "it" } else { "them" },
            first.join("; ")
        ));
    }
    if sc.connects {
        let names: Vec<&str> = sc.info.databases.iter().map(|d| d.name.as_str()).collect();
        if names.len() > 1 {
            notes.push(format!(
                "the file holds {} databases ({}): one is imported, chosen with --database",
                names.len(),
                names.join(", ")
            ));
        }
    }
    if sc.info.dumpall && !sc.info.roles.is_empty() {
        notes.push(format!(
            "its roles ({}) are kept in the backup's globals.sql without passwords; a restore can create those it needs (--create-roles)",
            sc.info.roles.join(", ")
        ));
    }
    let single = sc.info.databases.len() == 1;
    let mut preview = ImportPreview {
        path: path.to_path_buf(),
        kind,
        size,
        project: None,
        backup_type: BackupType::Database,
        created_at: header.created_at.clone(),
        source: SourceInfo::default(),
        server_version: header.server_version.clone(),
        pg_dump_version: header.pg_dump_version.clone(),
        tables: tables_of(&sc.tables),
        rows_recorded: false,
        members: vec![entry(DATABASE_SQL_MEMBER, sc.info.sql_bytes)],
        dump: Some(header),
        has_globals: sc.info.dumpall && !sc.info.roles.is_empty(),
        notes,
        plain: Some(sc.info.clone()),
        parts: None,
    };
    if preview.has_globals {
        preview.members.push(entry(GLOBALS_MEMBER, 0));
    }
    let mut inspected = Inspected {
        preview,
        dump: Some(DumpSource::Plain {
            connects: sc.connects,
            file: None,
        }),
        globals_file: None,
        database: None,
        plaintext: None,
        tenant: None,
        tenant_tables: Vec::new(),
        export: None,
    };
    if sc.connects && single {
        inspected.choose_database(None)?;
    }
    Ok(inspected)
}
