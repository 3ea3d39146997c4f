//! `offsite restore`: its flags become ONE restore request (database, storage and
//! configuration components), the engine plans it as ONE plan (`--dry-run` prints it), the
//! consents are asked, and the engine restores it as ONE job with one report.

use crate::output::Out;
use crate::{exit, read_password_stdin, warn_password_in_url};
use clap::Args;
use offsite_core::archive::{self, read_manifest};
use offsite_core::config::vault::VaultKeyState;
use offsite_core::config::FunctionAction;
use offsite_core::restore::{
    ConfigPlan, ConfigRestore, DatabaseOptions, DatabaseTo, RestoreOutcome, SelectWhat, Selection,
    StorageRestore, StorageTo,
};
use offsite_core::storage::{BucketSelection, StoragePlan};
use offsite_core::{Engine, Error, ErrorKind, JobStart, RestorePlan, RestoreRequest, Result};
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

#[derive(Args, Clone)]
pub struct RestoreArgs {
    /// The backup: its path, a backup id (either id `backups` or `inspect` shows, or a unique
    /// start of one), or PROJECT:latest.
    pub(crate) archive: PathBuf,
    /// Target: a libpq URL (postgres://USER@HOST:PORT/DATABASE, or
    /// postgresql://USER@/DATABASE?host=/SOCKET/FOLDER), or the name of a saved project.
    /// Needed for the database and configuration; storage may go to --storage-to instead.
    /// A password written into the URL (postgres://USER:PASSWORD@…) is visible to every local
    /// user in `ps` while offsite runs, and stays in the shell's history: leave it out and give
    /// it with --password-stdin.
    #[arg(long, value_name = "URL")]
    to: Option<String>,
    /// What to restore: database, storage, config (comma-separated) or all. Default: the
    /// database (or what the backup has, when it has no database).
    #[arg(long, value_name = "LIST")]
    pub(crate) components: Option<String>,
    /// Storage: only these buckets (comma-separated; default all in the backup).
    #[arg(long, value_name = "B1,B2")]
    buckets: Option<String>,
    /// Storage: into a folder (DIR/<bucket>/<key>) or the bucket store of a saved project
    /// (default: the --to project's).
    #[arg(long, value_name = "DIR|PROJECT")]
    storage_to: Option<String>,
    /// Storage: also delete the target's objects the backup does not have (asks to type
    /// "mirror", or --yes).
    #[arg(long)]
    mirror: bool,
    /// Storage into a folder: replace files whose content differs (default: keep them).
    #[arg(long)]
    overwrite: bool,
    /// Configuration: write back these settings (FILE:SETTING,… as the plan lists them, or
    /// all-writable). Without it the differences are shown and nothing is written.
    #[arg(long, value_name = "LIST")]
    config_settings: Option<String>,
    /// Configuration: deploy these Edge Functions again from the backup (SLUG,… as the plan
    /// lists them, or all for every one that differs). Without it they are listed only.
    #[arg(long, value_name = "LIST")]
    functions: Option<String>,
    /// Configuration: set the --to project's Vault root key to the one in the backup (only an
    /// encrypted backup holds it) before the database is restored, so that the backup's Vault
    /// secrets decrypt there. It replaces that project's own key: what it encrypted with it
    /// becomes unreadable. The plan says whether the keys differ.
    #[arg(long)]
    vault_key: bool,
    /// Show the plan and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Allow restoring into a non-empty database (objects in the backup are replaced).
    #[arg(long)]
    replace: bool,
    /// With --replace: do not take a safety backup of the target first.
    #[arg(long)]
    no_safety_backup: bool,
    /// Create the roles the backup needs that the target server lacks, from the backup's
    /// globals.sql: attributes and memberships, no passwords (SUPERUSER, REPLICATION and
    /// BYPASSRLS only when you connect as a superuser). In the restore's transaction.
    #[arg(long)]
    create_roles: bool,
    /// When the target database (--to URL) does not exist yet, create it first, empty, as the
    /// connecting role (which needs CREATEDB); if the restore then fails, it is removed again.
    /// An existing database is restored into as it is.
    #[arg(long)]
    create_database: bool,
    /// Restore objects owned by roles you cannot act for on the target as your own (e.g. into a
    /// hosted project where you are not a superuser); what cannot change owner (their policies
    /// and triggers, event triggers) is left out and listed in the plan. Other objects keep their
    /// owners.
    #[arg(long)]
    no_owner: bool,
    /// Restore as ROLE, a less privileged role of the target server, while connecting as a
    /// superuser: the backup's functions (run during the restore by CHECK constraints,
    /// generated columns, domains) then run with ROLE's rights only. Offsite logs in through a
    /// temporary role that is a member of ROLE alone (dropped afterwards). ROLE may not be a
    /// superuser, have CREATEROLE or belong to pg_execute_server_program, pg_read_server_files
    /// or pg_write_server_files. Use it for a backup you did not make here. With --at (a
    /// logical capture), the captured changes are replayed as ROLE too.
    #[arg(long, value_name = "ROLE")]
    as_role: Option<String>,
    /// Run statements of the backup's SQL that pg_dump never writes (COPY … FROM PROGRAM,
    /// COPY to or from a server file, ALTER SYSTEM, a SUPERUSER role, DO blocks, SELECT of other
    /// functions, …; --dry-run lists them). Restored as a superuser they run programs and read
    /// files on the database server: only for a file you trust.
    #[arg(long)]
    allow_arbitrary_sql: bool,
    /// pg_restore's workers for an archive-format-2 backup restored into an empty database
    /// (default: the machine's cores; a failure or Ctrl-C drops what it created). `--jobs 1`
    /// and replacing are one transaction with one worker.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    jobs: Option<u32>,
    /// Restore only this schema (repeatable), with everything in it.
    #[arg(long = "schema", value_name = "SCHEMA")]
    schemas: Vec<String>,
    /// Restore only this table (repeatable): SCHEMA.TABLE, or TABLE in public. Its indexes,
    /// constraints, triggers, policies, sequences and partitions come along, and what it needs
    /// that the target lacks (types, functions); the plan names foreign keys and views that break.
    #[arg(long = "table", value_name = "TABLE")]
    tables: Vec<String>,
    /// With --schema/--table: rows only, into the target's existing tables (with --replace, tables
    /// that hold rows are emptied first).
    #[arg(long, conflicts_with = "schema_only")]
    data_only: bool,
    /// With --schema/--table: definitions only, no rows.
    #[arg(long)]
    schema_only: bool,
    /// With --table: restore into this new schema next to the original, instead of under the
    /// original names (e.g. to compare yesterday's orders with today's).
    #[arg(long, value_name = "SCHEMA")]
    into_schema: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub(crate) yes: bool,
    /// Restore to a point in time (RFC 3339, e.g. 2026-11-26T06:00:00Z, or PostgreSQL's form
    /// as `select now()` prints it, 2026-11-26 06:00:00.123456+00): then the first
    /// argument names the project, and its captured changes are replayed onto the newest base
    /// before TIME up to the last transaction committed at or before it (`offsite pitr`).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// With --at and --components storage (without the database): the database, already
    /// restored to TIME, whose storage.objects rows say which version of each object to restore
    /// (URL or saved project; its password from PGPASSWORD). A restore to a time of the
    /// database and the storage does this with its own database; the command that finishes its
    /// interrupted storage step names it.
    #[arg(long, value_name = "URL|PROJECT", requires = "at")]
    pub(crate) storage_rows_from: Option<String>,
    /// With --at and a physical capture: leave the recovered cluster as a new server's data
    /// folder PATH (which must not exist) instead of restoring into --to. It gets Offsite's
    /// neutral configuration; the source's is kept beside it as `*.from-backup`, never used.
    #[arg(long, value_name = "PATH", requires = "at", conflicts_with = "to")]
    to_data_dir: Option<PathBuf>,
    /// Read the target's password from standard input (first line).
    #[arg(long)]
    password_stdin: bool,
    /// The archive is encrypted with a key that is not the project's own (an age file from
    /// elsewhere, a recovery key): read its passphrase or key (an AGE-SECRET-KEY-1… identity
    /// file) from standard input, to its end (after the password's line with --password-stdin).
    #[arg(long)]
    key_stdin: bool,
    /// The password, read before the key when both come on standard input.
    #[arg(skip)]
    password_read: Option<String>,
    /// The key read with --key-stdin.
    #[arg(skip)]
    key: Option<offsite_core::crypto::UserKey>,
}

/// The parts of a backup a restore can put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Database,
    Storage,
    Config,
}

/// `database,storage,config` (or `all`); `None` → what the archive has, the database first.
fn parts(given: Option<&str>, archive: &Path) -> Result<Vec<Part>> {
    let manifest = read_manifest(archive)?;
    let has_db = manifest.member(archive::DATABASE_MEMBER).is_some()
        || manifest.member(archive::DATABASE_SQL_MEMBER).is_some();
    let has_storage = manifest.member("storage.json").is_some();
    let has_config = manifest
        .members
        .iter()
        .any(|m| m.name.starts_with("config/"));
    let Some(given) = given else {
        // As before: the database alone, unless the backup has none.
        return Ok(if has_db {
            vec![Part::Database]
        } else if has_storage {
            vec![Part::Storage]
        } else if has_config {
            vec![Part::Config]
        } else {
            vec![Part::Database]
        });
    };
    let mut out = Vec::new();
    for p in given.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (part, present) = match p {
            "all" => {
                if has_db {
                    out.push(Part::Database)
                }
                if has_storage {
                    out.push(Part::Storage)
                }
                if has_config {
                    out.push(Part::Config)
                }
                continue;
            }
            "database" | "db" => (Part::Database, has_db),
            "storage" => (Part::Storage, has_storage),
            "config" | "configuration" => (Part::Config, has_config),
            other => {
                return Err(Error::invalid(format!("unknown component {other:?}"))
                    .with_hint("use database, storage, config (comma-separated) or all"))
            }
        };
        if !present {
            return Err(Error::invalid(format!(
                "this backup ({}) has no {p} component",
                manifest.backup_type.as_str()
            ))
            .with_hint("see what it holds with `offsite inspect ARCHIVE`"));
        }
        if !out.contains(&part) {
            out.push(part);
        }
    }
    Ok(out)
}

/// Where the storage goes: `--storage-to DIR|PROJECT`, else the `--to` project.
fn storage_target(storage_to: Option<&str>, to: Option<&str>) -> Result<StorageTo> {
    let pick = storage_to.or(to).ok_or_else(|| {
        Error::invalid("a storage restore needs a target").with_hint(
            "--storage-to DIR (files) or --storage-to PROJECT (its bucket store), or --to PROJECT",
        )
    })?;
    let looks_like_path = pick.starts_with('/') || pick.starts_with('.') || pick.contains('/');
    Ok(if looks_like_path {
        StorageTo::Folder(PathBuf::from(pick))
    } else {
        StorageTo::Project(pick.to_string())
    })
}

impl RestoreArgs {
    /// The flags as the one restore request (asks for the password on stdin when told to).
    pub(crate) fn request(&self, parts: &[Part]) -> Result<RestoreRequest> {
        let mut req = RestoreRequest::from_archive(&self.archive);
        if parts.contains(&Part::Database) {
            req.database = Some(offsite_core::restore::DatabaseRestore {
                to: self.database_to()?,
                options: self.database_options()?,
            });
        }
        if parts.contains(&Part::Storage) {
            req.storage = Some(StorageRestore {
                to: storage_target(self.storage_to.as_deref(), self.to.as_deref())?,
                buckets: match &self.buckets {
                    Some(b) => BucketSelection::parse(b)?,
                    None => BucketSelection::All,
                },
                bucket_map: Default::default(),
                mirror: self.mirror,
                overwrite: self.overwrite,
            });
        }
        if self.vault_key && !parts.contains(&Part::Config) {
            return Err(Error::invalid(
                "--vault-key sets a project's Vault root key, which is part of the configuration",
            )
            .with_hint("add config to the components: --components database,config"));
        }
        if parts.contains(&Part::Config) {
            let project = self.to.clone().ok_or_else(|| {
                Error::invalid("a configuration restore needs the project to write to")
                    .with_hint("--to PROJECT (a saved project with a Supabase ref and token)")
            })?;
            let list = |v: &Option<String>| -> Vec<String> {
                v.as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            req.config = Some(ConfigRestore {
                project,
                settings: list(&self.config_settings),
                functions: list(&self.functions),
                vault_key: self.vault_key,
            });
        }
        req.key = self.key.clone();
        Ok(req)
    }

    fn database_to(&self) -> Result<DatabaseTo> {
        let to = self.to.as_deref().ok_or_else(|| {
            Error::invalid("restoring the database needs --to URL|PROJECT").with_hint(
                "or restore only the storage: --components storage --storage-to DIR|PROJECT",
            )
        })?;
        let mut to = DatabaseTo::url_or_project(to, None);
        if let DatabaseTo::Connection {
            password,
            connection: offsite_core::ProjectConnection::Url(url),
            ..
        } = &mut to
        {
            if self.password_stdin {
                *password = Some(match &self.password_read {
                    Some(p) => p.clone(),
                    None => read_password_stdin()?,
                });
            } else if matches!(
                offsite_core::postgres::conn::ConnSpec::parse_url(url),
                Ok((_, None))
            ) {
                // Headless: the standard PGPASSWORD, when the URL has none.
                *password = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty());
            }
        }
        Ok(to)
    }

    fn database_options(&self) -> Result<DatabaseOptions> {
        if (self.data_only || self.schema_only || self.into_schema.is_some())
            && self.schemas.is_empty()
            && self.tables.is_empty()
        {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "--data-only, --schema-only and --into-schema apply to a selection",
            )
            .with_hint("name what to restore with --table SCHEMA.TABLE or --schema SCHEMA"));
        }
        Ok(DatabaseOptions {
            replace: self.replace,
            no_safety_backup: self.no_safety_backup,
            create_roles: self.create_roles,
            create_database: self.create_database,
            no_owner: self.no_owner,
            as_role: self.as_role.clone(),
            allow_arbitrary_sql: self.allow_arbitrary_sql,
            jobs: self.jobs,
            keep_heap_order: false,
            selection: Selection {
                schemas: self.schemas.clone(),
                tables: self.tables.clone(),
                what: if self.data_only {
                    SelectWhat::Data
                } else if self.schema_only {
                    SelectWhat::Schema
                } else {
                    SelectWhat::Both
                },
                into_schema: self.into_schema.clone(),
            },
        })
    }
}

/// `offsite restore`: one request, one plan, the consents, one job.
pub async fn restore(
    engine: &Engine,
    mut args: RestoreArgs,
    out: &Out,
    job: JobStart,
) -> Result<u8> {
    // The time the user waits: from here to the report, less the time spent answering the
    // confirmation (reading the archive and planning count: they are waited for too).
    let began = std::time::Instant::now();
    if let Some(to) = &args.to {
        warn_password_in_url("--to", to);
    }
    if let Some(at) = args.at.clone() {
        if args.create_database && (args.components.is_some() || args.as_role.is_some()) {
            return Err(Error::invalid(
                "--create-database with --at creates the database of a restore of the database alone, as the connecting role",
            )
            .with_hint("leave out --components and --as-role, or create the database first (createdb NAME, as a role that may)"));
        }
        // Which time was read, and from which form (RFC 3339, or PostgreSQL's `select now()`).
        eprintln!("--at {}", offsite_core::pitr::time_read_as(&at)?);
        if args.storage_rows_from.is_some() && args.components.is_none() {
            return Err(Error::invalid(
                "--storage-rows-from chooses the storage's objects: it goes with --components storage",
            )
            .with_hint("offsite restore PROJECT --at TIME --components storage --storage-to DIR|PROJECT --storage-rows-from URL|PROJECT"));
        }
        if args.components.is_some() {
            if args.as_role.is_some() {
                return Err(Error::invalid(
                    "--as-role with --at applies to the database alone: leave out --components",
                )
                .with_hint("restore the database with --at TIME --as-role ROLE, then the other components with --components"));
            }
            // The components chosen: each as it was at TIME (the database from its captured
            // changes, the storage and configuration from their newest backups before TIME).
            return crate::restore_at_cmd::restore_at(engine, &args, &at, out, &job.cancel).await;
        }
        let password = if args.password_stdin {
            Some(read_password_stdin()?)
        } else {
            None
        };
        let project = args.archive.to_string_lossy().into_owned();
        return crate::pitr_cmd::restore_at(
            engine,
            &project,
            &at,
            crate::pitr_cmd::AtInto {
                to: args.to.as_deref(),
                data_dir: args.to_data_dir.as_deref(),
                as_role: args.as_role.as_deref().map(|role| {
                    offsite_core::ops::pitr::restore::AsRole {
                        role,
                        no_owner: args.no_owner,
                    }
                }),
                password,
                create_database: args.create_database,
            },
            args.dry_run,
            out,
            &job.cancel,
        )
        .await;
    }
    args.archive = crate::archive_arg::resolve(engine, &args.archive, out)
        .await?
        .path;
    // The key of an encrypted archive (after the password's line when both come on stdin),
    // unlocked while this command reads the archive.
    if args.key_stdin {
        if args.password_stdin {
            args.password_read = Some(read_password_stdin()?);
        }
        args.key = Some(crate::key_stdin::read_key_stdin()?);
    }
    // With the project's own keys too (when the catalog knows the archive), so a project's
    // encrypted backup restores without --key-stdin, as in the app.
    let _unlocked = engine
        .unlock_archive(&args.archive, args.key.clone())
        .await?;
    let parts = parts(args.components.as_deref(), &args.archive)?;
    let request = args.request(&parts)?;
    let plan = engine.plan_restore(&request).await?;
    if args.dry_run {
        print_plan(out, &plan);
        // The code the restore itself would be refused with.
        return Ok(refused(&plan).map_or(0, |e| crate::exit_code(&e)));
    }
    // The database's refusal comes from the engine when it runs (the same error).
    if let Some(e) = storage_or_config_refusal(&plan) {
        return Err(e);
    }
    let asked = std::time::Instant::now();
    consent(&args, out, &plan)?;
    let answering = asked.elapsed();
    let config_only_nothing_chosen = parts == [Part::Config]
        && request
            .config
            .as_ref()
            .is_some_and(|c| c.settings.is_empty() && c.functions.is_empty() && !c.vault_key);
    if config_only_nothing_chosen {
        // Nothing to write: the differences are shown, no job runs.
        print_plan(out, &plan);
        let differs = plan.config.as_ref().is_some_and(|c| !c.diffs.is_empty());
        if differs && !out.json() {
            println!("nothing written: choose settings with --config-settings FILE:SETTING,… (or --config-settings all-writable)");
        }
        let functions_differ = plan.config.as_ref().is_some_and(|c| {
            c.functions
                .iter()
                .any(|f| matches!(f.action, FunctionAction::Create | FunctionAction::Update))
        });
        if functions_differ && !out.json() {
            println!("no Edge Function deployed: choose them with --functions SLUG,… (or --functions all)");
        }
        let keys_differ = plan
            .config
            .as_ref()
            .is_some_and(|c| c.vault.state == VaultKeyState::Differs);
        if keys_differ && !out.json() {
            println!("Vault root key not set: choose it with --vault-key");
        }
        return Ok(0);
    }
    if !out.json() {
        // The sections the database's own output does not show before the run.
        if let Some(s) = &plan.storage {
            print_storage_plan(s);
        }
        if let Some(c) = &plan.config {
            print_config_plan(c);
        }
    }
    let outcome = engine.restore(request, job).await?;
    // Committed: a Ctrl-C from here on is told so, and changes nothing.
    crate::output::committed(crate::pitr_cmd::RESTORE_COMPLETE);
    let waited = began.elapsed().saturating_sub(answering);
    print_outcome(out, &outcome, waited);
    Ok(if outcome.report.ok {
        0
    } else {
        exit::INTEGRITY
    })
}

/// The error a restore of this plan is refused with, before it changes anything: the storage's
/// blockers, then the configuration's, then the database's (the engine's own refusal, which it
/// gives again when it runs). `None`: it goes ahead.
fn refused(plan: &RestorePlan) -> Option<Error> {
    storage_or_config_refusal(plan).or_else(|| plan.database.as_ref().and_then(|d| d.refusal()))
}

/// The storage's or the configuration's blockers, as the error the restore stops with.
fn storage_or_config_refusal(plan: &RestorePlan) -> Option<Error> {
    if let Some(s) = plan.storage.as_ref().filter(|s| !s.blockers.is_empty()) {
        return Some(Error::new(
            ErrorKind::NeedsConsent,
            format!(
                "the storage restore cannot go ahead: {}",
                s.blockers.join("; ")
            ),
        ));
    }
    if let Some(c) = plan.config.as_ref().filter(|c| !c.blockers.is_empty()) {
        return Some(Error::invalid(c.blockers.join("; ")).with_hint(
            "see the settings that differ with `offsite restore ARCHIVE --to PROJECT --components config --dry-run`",
        ));
    }
    None
}

/// Replacing data in a database: the user types its name; mirror mode deleting objects: the
/// user types "mirror" (or `--yes` for both).
fn consent(args: &RestoreArgs, out: &Out, plan: &RestorePlan) -> Result<()> {
    if args.yes {
        return Ok(());
    }
    let interactive = !out.json() && std::io::stdin().is_terminal();
    if let Some(d) = &plan.database {
        if !d.target_empty && d.blockers.is_empty() {
            if !interactive {
                return Err(Error::new(
                    ErrorKind::NeedsConsent,
                    format!("restoring would replace data in {}", d.target_database),
                )
                .with_hint("review with --dry-run, then pass --yes to confirm"));
            }
            out.plan(d);
            eprint!(
                "Type the database name ({}) to replace its contents: ",
                d.target_database
            );
            ask(&d.target_database)?;
        }
    }
    if let Some(s) = &plan.storage {
        let deletes: u64 = s.buckets.iter().map(|b| b.delete).sum();
        if s.mirror && deletes > 0 {
            if !interactive {
                return Err(Error::new(
                    ErrorKind::NeedsConsent,
                    format!(
                        "mirror mode would delete {} in the target",
                        crate::words::plural(deletes, "object")
                    ),
                )
                .with_hint("review with --dry-run, then pass --yes to confirm"));
            }
            eprint!(
                "Mirror mode deletes {} the backup does not have. Type \"mirror\" to go ahead: ",
                crate::words::plural(deletes, "object")
            );
            ask("mirror")?;
        }
    }
    Ok(())
}

fn ask(expected: &str) -> Result<()> {
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok();
    if answer.trim() != expected {
        return Err(Error::new(
            ErrorKind::NeedsConsent,
            "not confirmed; nothing was changed",
        ));
    }
    Ok(())
}

/// The one plan: as one JSON document, or section by section.
fn print_plan(out: &Out, plan: &RestorePlan) {
    if out.json() {
        out.emit(plan);
        return;
    }
    if let Some(d) = &plan.database {
        out.plan(d);
    }
    if let Some(s) = &plan.storage {
        print_storage_plan(s);
    }
    if let Some(c) = &plan.config {
        print_config_plan(c);
    }
}

/// The one report: as one JSON document, or section by section.
fn print_outcome(out: &Out, o: &RestoreOutcome, waited: std::time::Duration) {
    if out.json() {
        // With the time the user waited, beside the job's and the database's own durations.
        match serde_json::to_value(o) {
            Ok(serde_json::Value::Object(mut v)) => {
                v.insert("waited_ms".into(), (waited.as_millis() as u64).into());
                out.emit(&v);
            }
            _ => out.emit(o),
        }
        return;
    }
    let r = &o.report;
    if let Some(d) = &r.database {
        out.restore(d, waited);
    }
    if let Some(r) = &r.storage {
        println!(
            "storage restored: {} uploaded ({} bytes), {} identical skipped, {} kept, {} deleted; buckets created: {}",
            r.uploaded,
            r.uploaded_bytes,
            r.skipped,
            r.kept,
            r.deleted,
            if r.created_buckets.is_empty() { "none".to_string() } else { r.created_buckets.join(", ") }
        );
    }
    if let Some(c) = &r.config {
        if c.vault_key_set {
            println!(
                "Vault root key of {} set to the backup's (before the database)",
                c.plan.project
            );
        }
        println!(
            "configuration: {} written back, {} skipped",
            crate::words::count(c.applied.applied.len(), "setting"),
            c.applied.skipped.len()
        );
        for f in &c.deployed {
            println!(
                "  Edge Function {} {}{}",
                f.slug,
                if f.action == FunctionAction::Create {
                    "created"
                } else {
                    "updated"
                },
                f.version
                    .map(|v| format!(" (now version {v})"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(p) = &r.parity {
        print!("{}", crate::parity_text::text(p));
    }
}

pub(crate) fn print_storage_plan(p: &StoragePlan) {
    println!(
        "storage: backup {} of {} → {}",
        p.backup_id, p.project, p.target
    );
    for b in &p.buckets {
        println!(
            "  {:<24} {}{} to upload ({} bytes), {} overwrite different content, {} identical skipped{}",
            b.target_bucket,
            if b.create { "(new bucket) " } else { "" },
            b.upload,
            b.upload_bytes,
            b.overwrite,
            b.identical,
            if p.mirror { format!(", {} deleted (mirror)", b.delete) } else { String::new() }
        );
    }
    for w in &p.warnings {
        println!("  note: {w}");
    }
    for b in &p.blockers {
        println!("  BLOCKED: {b}");
    }
}

fn print_functions_plan(plan: &ConfigPlan) {
    if plan.functions.is_empty() {
        return;
    }
    println!(
        "Edge Functions in the backup: {}",
        crate::words::count(plan.functions.len(), "function")
    );
    for f in &plan.functions {
        let what = match f.action {
            FunctionAction::Create => "not in the project: created",
            FunctionAction::Update => "differs from the project's: updated",
            FunctionAction::Unchanged => "the project runs the same",
            FunctionAction::Cannot => "cannot be deployed",
        };
        let chosen = plan.will_deploy.contains(&f.slug);
        println!(
            "  {:<32} {}{}{}",
            f.slug,
            what,
            match (chosen, f.action) {
                (true, _) => " (will be deployed)",
                (false, FunctionAction::Create | FunctionAction::Update) => " (not chosen)",
                _ => "",
            },
            f.problem
                .as_deref()
                .map(|p| format!(": {p}"))
                .unwrap_or_default()
        );
    }
}

pub(crate) fn print_config_plan(plan: &ConfigPlan) {
    println!(
        "configuration: {} differ from project {}",
        crate::words::count(plan.diffs.len(), "setting"),
        plan.project_ref
    );
    for d in &plan.diffs {
        let show = |v: &Option<serde_json::Value>| {
            let s = v
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "(none)".into());
            if s.len() > 40 {
                format!(
                    "{}…",
                    &s[..s.char_indices().nth(39).map(|(i, _)| i).unwrap_or(s.len())]
                )
            } else {
                s
            }
        };
        println!(
            "  {}:{:<32} backup {:<42} now {:<42}{}",
            d.file,
            d.setting,
            show(&d.archived),
            show(&d.current),
            if d.redacted {
                " (redacted: not written)"
            } else if !d.writable {
                " (cannot be written back)"
            } else {
                ""
            }
        );
    }
    print_functions_plan(plan);
    println!("Vault: {}", plan.vault.note);
}
