//! `offsite import FILE`: the import the app's drop zone has. An Offsite archive, a pg_dump file
//! (custom format, or plain SQL as `.sql` / `.sql.gz`), `pg_dumpall` output or a project export
//! becomes a verified backup of a project — the same engine calls as the desktop app's
//! `inspect_import` and `start_import`.

use crate::output::Out;
use clap::{ArgGroup, Args};
use offsite_core::import::{ImportKind, ImportPreview};
use offsite_core::ops::ImportOutcome;
use offsite_core::postgres::conn::TlsMode;
use offsite_core::{
    AddProject, Engine, ImportInto, ImportOptions, JobStart, ProjectConnection, Result,
};
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
#[command(group(ArgGroup::new("into").args(["project", "new_project", "preview"]).required(true)))]
pub struct ImportArgs {
    /// The file (or export folder) to import.
    file: PathBuf,
    /// Import into this existing project.
    #[arg(long, value_name = "NAME")]
    project: Option<String>,
    /// Create this project for the import (removed again if the import fails); needs --db.
    #[arg(long, value_name = "NAME", requires = "db")]
    new_project: Option<String>,
    /// The new project's database: a libpq URL (a password in it is moved to the OS keychain).
    /// A password written into the URL (postgres://USER:PASSWORD@…) is visible to every local
    /// user in `ps` while offsite runs, and stays in the shell's history: leave it out and give
    /// it with --password-stdin.
    #[arg(long, value_name = "URL", requires = "new_project")]
    db: Option<String>,
    /// TLS mode of the new project's connection (overrides the URL's sslmode).
    #[arg(long, value_name = "MODE", requires = "new_project")]
    tls: Option<String>,
    /// Read the new project's password from standard input (first line).
    #[arg(long, requires = "new_project")]
    password_stdin: bool,
    /// The database to take from a pg_dumpall file (required when it holds more than one).
    #[arg(long, value_name = "NAME")]
    database: Option<String>,
    /// Do not verify the archive a dump is packed into (an Offsite archive is always verified).
    #[arg(long)]
    no_verify: bool,
    /// Only say what the file holds; import nothing.
    #[arg(long)]
    preview: bool,
    /// The file is encrypted (age, or openssl enc -aes-256-cbc): read its passphrase or key
    /// (an AGE-SECRET-KEY-1… identity file) from standard input, to its end (after the
    /// password's line with --password-stdin).
    #[arg(long)]
    key_stdin: bool,
}

/// Runs `offsite import`.
pub async fn import(engine: &Engine, args: ImportArgs, out: &Out, job: JobStart) -> Result<u8> {
    if args.preview {
        let key = if args.key_stdin {
            Some(crate::key_stdin::read_key_stdin()?)
        } else {
            None
        };
        let p = engine.inspect_import_with_key(&args.file, key).await?;
        print_preview(out, &p);
        return Ok(0);
    }
    let into = match (args.project, args.new_project, args.db) {
        (Some(project), _, _) => ImportInto::Existing { project },
        (None, Some(name), Some(url)) => {
            crate::warn_password_in_url("--db", &url);
            let password = if args.password_stdin {
                Some(crate::read_password_stdin()?)
            } else {
                None
            };
            let tls = args.tls.map(|t| t.parse::<TlsMode>()).transpose()?;
            let connection = ProjectConnection::Url(url);
            // A connection that cannot work is refused now, before any job starts.
            connection.parse(tls)?;
            ImportInto::New(AddProject {
                name,
                connection,
                tls,
                password,
                backup_dir: None,
                skip_test: false,
            })
        }
        _ => {
            return Err(offsite_core::Error::invalid(
                "say where the import goes: --project NAME, or --new-project NAME --db URL",
            ))
        }
    };
    let key = if args.key_stdin {
        Some(crate::key_stdin::read_key_stdin()?)
    } else {
        None
    };
    let opts = ImportOptions {
        verify: !args.no_verify,
        database: args.database,
        key,
        ..ImportOptions::new(args.file, into)
    };
    let outcome = engine.import(opts, job).await?;
    print_outcome(out, &outcome);
    Ok(0)
}

fn kind_label(k: ImportKind) -> &'static str {
    match k {
        ImportKind::OffsiteArchive => "Offsite archive",
        ImportKind::PgDump => "pg_dump custom-format file",
        ImportKind::ProjectExport => "project export",
        ImportKind::PlainSql => "plain SQL dump",
        ImportKind::PgDumpall => "pg_dumpall file",
    }
}

fn print_preview(out: &Out, p: &ImportPreview) {
    if out.json() {
        out.emit(&json!({ "preview": p }));
        return;
    }
    println!("file:        {}", p.path.display());
    println!(
        "kind:        {}{}",
        kind_label(p.kind),
        if p.plain.as_ref().is_some_and(|x| x.compressed) {
            " (gzip)"
        } else {
            ""
        }
    );
    println!("size:        {}", offsite_core::units::format_bytes(p.size));
    if let Some(project) = &p.project {
        println!("database:    {project}");
    }
    if let Some(v) = &p.server_version {
        println!("server:      PostgreSQL {v}");
    }
    if let Some(v) = &p.pg_dump_version {
        println!("pg_dump:     {v}");
    }
    if let Some(at) = &p.created_at {
        println!("created:     {at}");
    }
    if let Some(plain) = &p.plain {
        if !plain.databases.is_empty() {
            println!("databases:");
            for d in &plain.databases {
                println!("  {} ({} tables)", d.name, d.tables.len());
            }
        }
        if !plain.roles.is_empty() {
            println!("roles:       {}", plain.roles.join(", "));
        }
    }
    println!(
        "tables:      {}{}",
        p.tables.len(),
        if p.rows_recorded {
            format!(" ({} rows)", p.tables.iter().map(|t| t.rows).sum::<u64>())
        } else {
            String::new()
        }
    );
    for t in &p.tables {
        println!("  {}.{}", t.schema, t.table);
    }
    if let Some(parts) = &p.parts {
        print_parts(parts);
    }
    for n in &p.notes {
        println!("note: {n}");
    }
}

/// A project export's parts: what is imported, and what is not.
fn print_parts(parts: &offsite_core::import::ExportParts) {
    use offsite_core::units::format_bytes;
    println!("parts:");
    println!("  database   {}", parts.database);
    if let Some(g) = &parts.globals {
        println!("  roles      {g}");
    }
    if let Some(s) = &parts.storage {
        let buckets: Vec<String> = s
            .buckets
            .iter()
            .map(|b| {
                format!(
                    "{} ({} objects, {})",
                    b.name,
                    b.objects,
                    format_bytes(b.bytes)
                )
            })
            .collect();
        println!(
            "  storage    {} objects, {} in {}",
            s.objects,
            format_bytes(s.bytes),
            buckets.join(", ")
        );
    }
    if let Some(c) = &parts.config {
        println!("  config     {}", c.documents.join(", "));
    }
    for n in &parts.not_imported {
        println!("  not imported: {} ({})", n.name, n.why);
    }
    if parts.not_imported_more > 0 {
        println!("  not imported: {} more", parts.not_imported_more);
    }
}

fn print_outcome(out: &Out, o: &ImportOutcome) {
    if out.json() {
        out.emit(&json!({
            "job_id": o.job_id,
            "project": o.project.name,
            "created_project": o.created_project,
            "backup": o.backup,
        }));
    } else {
        println!("{}", o.backup.path);
        eprintln!(
            "imported into project {}{} ({})",
            o.project.name,
            if o.created_project { " (new)" } else { "" },
            o.backup.status
        );
    }
}
