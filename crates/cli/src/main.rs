//! `offsite`: the headless command line over the Offsite engine.

mod components_cmd;
#[cfg(test)]
mod docs_examples;
mod import_cmd;
mod output;
mod remote_cmd;
mod restore_components_cmd;
mod schedule_cmd;
mod serve_cmd;

use clap::{Args, Parser, Subcommand};
use offsite_core::archive;
use offsite_core::postgres::conn::TlsMode;
use offsite_core::postgres::restore::{RestoreOptions, SelectWhat, Selection};
use offsite_core::progress::{NoProgress, Progress};
use offsite_core::{
    secrets, AddProject, BackupOptions, Engine, EngineConfig, Error, ErrorKind, JobStart,
    JobTrigger, ProjectConnection, RestoreRequest, RestoreTo, Result, VerifyOptions,
};
use output::{Out, ProgressBar};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Back up PostgreSQL and Supabase projects into verified archives, and restore them.
#[derive(Parser)]
#[command(name = "offsite", version)]
struct Cli {
    /// Data folder (catalog, default backup folder). Default: the platform's app-data folder.
    #[arg(long, global = true, env = "OFFSITE_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print one JSON document on stdout and nothing else there.
    #[arg(long, global = true)]
    json: bool,
    /// Folder with pg_dump/pg_restore to use instead of searching.
    #[arg(long, global = true, env = "OFFSITE_PG_BIN", value_name = "DIR")]
    pg_bin: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add, list, show, test or remove projects; their storage and Supabase settings; passwords.
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Back up a project (database, storage, configuration: --type, else the project's default);
    /// prints the archive path.
    Backup {
        name: String,
        /// Folder for the archive (default: the project's backup folder).
        #[arg(long, value_name = "DIR")]
        dest: Option<PathBuf>,
        /// gzip level, 0 (none) to 9 (smallest, slowest). The default balances size and speed.
        #[arg(long, env = "OFFSITE_COMPRESSION_LEVEL", value_name = "N")]
        level: Option<u32>,
        /// full (database, storage and configuration), database, storage, config or incremental
        /// (storage changes since the last full/storage backup). Default: the project's default
        /// type (`project components NAME --default-type`), else database.
        #[arg(long = "type", value_name = "TYPE")]
        backup_type: Option<String>,
        /// Make the backup on the project's backup server (`project add --server`), follow its
        /// progress, then download, verify and register the archive here.
        #[arg(long, conflicts_with_all = ["dest", "level"])]
        remote: bool,
    },
    /// Download the backups the project's backup server has and this catalog does not (each
    /// verified and registered); prints their paths. A second pull downloads nothing.
    Pull { name: String },
    /// List a project's local backups with size, date and verified state.
    Backups { name: String },
    /// Check an archive's checksums; exit 0 when intact, 4 naming the first bad member.
    Verify { archive: PathBuf },
    /// Show an archive's manifest.
    Inspect { archive: PathBuf },
    /// Import a file as a verified backup of a project: an Offsite archive, a pg_dump file
    /// (custom format, or plain SQL as .sql / .sql.gz), pg_dumpall output (one database, with
    /// --database), or a project export. Prints the archive path.
    Import(import_cmd::ImportArgs),
    /// Restore an archive by component: the database into a URL or project, storage into a
    /// project's buckets or a folder, configuration setting by setting.
    Restore(RestoreArgs),
    /// Set, list, show, pause or clear a project's backup and verify schedules.
    #[command(subcommand)]
    Schedule(schedule_cmd::ScheduleCmd),
    /// Set or show a project's retention policy.
    #[command(subcommand)]
    Retention(schedule_cmd::RetentionCmd),
    /// Remove the backups a project's retention policy does not keep (archive, .sha256, entry).
    Prune {
        name: String,
        /// List what would be kept (and why) and removed; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run what is due now, once (for a systemd timer, cron or a Kubernetes CronJob).
    RunDue,
    /// Run schedules in the foreground until SIGTERM (containers).
    Daemon,
    /// Each project's newest good backup, next run and whether it is overdue (exit 6 if one is).
    Status { name: Option<String> },
    /// Run the agent: an HTTP API that makes backups on this host (see `serve --help`).
    Serve(serve_cmd::ServeArgs),
}

#[derive(Subcommand)]
enum ProjectCmd {
    /// Add a project. A password in the URL is moved to the OS keychain. Without --db and
    /// --host, the connection comes from PGHOST, PGPORT, PGUSER and PGDATABASE.
    Add {
        name: String,
        /// A libpq URL: postgres://USER@HOST:PORT/DATABASE[?sslmode=disable|prefer|require|verify-full],
        /// or with a socket folder postgresql://USER@/DATABASE?host=/var/run/postgresql[&port=5432].
        /// A password written into the URL (postgres://USER:PASSWORD@…) is visible to every
        /// local user in `ps` while offsite runs, and stays in the shell's history: leave it out
        /// and give it with --password-stdin.
        #[arg(long, value_name = "URL", conflicts_with_all = ["host", "port", "user", "dbname"])]
        db: Option<String>,
        /// Instead of --db: the server's host name or address, or a Unix socket folder (an
        /// absolute path such as /var/run/postgresql). Default: $PGHOST.
        #[arg(long)]
        host: Option<String>,
        /// The port (default: $PGPORT, then 5432).
        #[arg(long)]
        port: Option<u16>,
        /// The role to connect as (default: $PGUSER, then postgres).
        #[arg(long)]
        user: Option<String>,
        /// The database (default: $PGDATABASE, then the user name).
        #[arg(long)]
        dbname: Option<String>,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// TLS mode (overrides the URL's sslmode).
        #[arg(long, value_name = "MODE")]
        tls: Option<String>,
        /// Folder for this project's backups.
        #[arg(long, value_name = "DIR")]
        backup_dir: Option<PathBuf>,
        #[command(flatten)]
        components: components_cmd::ComponentArgs,
        #[command(flatten)]
        server: remote_cmd::ServerArgs,
    },
    /// Set or show a project's storage and Supabase settings and default backup type (the same
    /// flags as `project add`); without flags, show them.
    Components {
        name: String,
        #[command(flatten)]
        components: components_cmd::ComponentArgs,
        /// Remove the project's storage (and its stored secret).
        #[arg(long)]
        remove_storage: bool,
        /// Remove the project's Supabase ref (and its stored token).
        #[arg(long)]
        remove_supabase: bool,
        #[command(flatten)]
        server: remote_cmd::ServerArgs,
        /// Remove the project's backup server (and its stored token).
        #[arg(long)]
        remove_server: bool,
        /// Remove the project's artifact bucket (and its stored secret).
        #[arg(long)]
        remove_artifacts: bool,
    },
    /// List the project's buckets with object counts and sizes, and check the keys can read them.
    TestStorage { name: String },
    /// List projects.
    List,
    /// Show one project.
    Show { name: String },
    /// Connect and report server version, size and permission problems.
    Test { name: String },
    /// Remove a project and its stored password (backup files are kept).
    Remove { name: String },
    /// Replace a project's stored password with the first line of standard input (into the OS
    /// keychain, or nowhere with OFFSITE_SECRET_STORE=env).
    Password { name: String },
}

#[derive(Args, Clone)]
struct RestoreArgs {
    archive: PathBuf,
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
    components: Option<String>,
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
    /// Show the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
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
    /// Restore objects owned by roles you cannot act for on the target as your own (e.g. into a
    /// hosted project where you are not a superuser); what cannot change owner (their policies
    /// and triggers, event triggers) is left out and listed in the plan. Other objects keep their
    /// owners.
    #[arg(long)]
    no_owner: bool,
    /// Run statements of the backup's SQL that pg_dump never writes (COPY … FROM PROGRAM,
    /// COPY to or from a server file, ALTER SYSTEM, a SUPERUSER role, DO blocks, SELECT of other
    /// functions, …; --dry-run lists them). Restored as a superuser they run programs and read
    /// files on the database server: only for a file you trust.
    #[arg(long)]
    allow_arbitrary_sql: bool,
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
    yes: bool,
    /// Read the target's password from standard input (first line).
    #[arg(long)]
    password_stdin: bool,
}

/// Exit codes scripts can rely on.
mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const CONNECTION: u8 = 3;
    pub const INTEGRITY: u8 = 4;
    pub const NEEDS_CONSENT: u8 = 5;
    pub const PERMISSION: u8 = 7;
    pub const CANCELLED: u8 = 130;
}

fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::NotFound | ErrorKind::AlreadyExists => exit::USAGE,
        ErrorKind::Connection
        | ErrorKind::RateLimited
        | ErrorKind::Auth
        | ErrorKind::KeychainUnavailable => exit::CONNECTION,
        ErrorKind::Permission => exit::PERMISSION,
        ErrorKind::Integrity
        | ErrorKind::UnsupportedFormat
        | ErrorKind::UnsafePath
        | ErrorKind::ValidationFailed => exit::INTEGRITY,
        ErrorKind::NeedsConsent | ErrorKind::ArbitrarySql => exit::NEEDS_CONSENT,
        ErrorKind::Cancelled => exit::CANCELLED,
        _ => exit::FAILURE,
    }
}

fn main() -> ExitCode {
    offsite_core::allocator::configure();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("OFFSITE_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let out = Out::new(cli.json);
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
    }
    match rt.block_on(run(cli, &out, cancel)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            out.error(&e);
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Test-only: `OFFSITE_TEST_NOW=2026-11-20T02:30:00Z` makes "now" that fixed time (schedules,
/// overdue, backup times), so tests move the clock instead of waiting. Not for production use.
const TEST_NOW_ENV: &str = "OFFSITE_TEST_NOW";

fn test_clock() -> Result<Option<offsite_core::clock::SharedClock>> {
    match std::env::var(TEST_NOW_ENV) {
        Ok(v) if !v.trim().is_empty() => {
            let at = offsite_core::catalog::parse_timestamp(&v)?;
            Ok(Some(offsite_core::clock::ManualClock::new(at)))
        }
        _ => Ok(None),
    }
}

/// A password written into a URL flag was on the command line, which every local user can read
/// (`ps`, /proc) while offsite runs: say so, and what to do instead. Never prints the password.
pub(crate) fn warn_password_in_url(flag: &str, url: &str) {
    if let Ok((_, Some(_))) = offsite_core::postgres::conn::ConnSpec::parse_url(url) {
        eprintln!(
            "warning: the password in {flag} was visible to other local users (ps) while offsite ran; \
             leave it out of the URL and give it with --password-stdin (and consider changing it)"
        );
    }
}

fn read_password_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io("reading the password from stdin", e))?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        return Err(Error::invalid("no password on standard input")
            .with_hint("pipe the password in: printf %s \"$PW\" | offsite ..."));
    }
    Ok(pw)
}

/// `project add` without `--db`: each part from its flag, else from libpq's variable (`PGHOST`,
/// `PGPORT`, `PGUSER`, `PGDATABASE`), else the default (port 5432, user postgres, database = user).
/// There is no default host: without `--host` and `PGHOST` nothing is guessed.
fn fields_from_flags_and_env(
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    dbname: Option<String>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<ProjectConnection> {
    let var = |k: &str| var(k).filter(|v| !v.trim().is_empty());
    let host = host.or_else(|| var("PGHOST")).ok_or_else(|| {
        Error::invalid("no database given: neither --db nor --host, and PGHOST is not set")
            .with_hint("give --db URL, or --host HOST (a host name, or a socket folder such as /var/run/postgresql), or set PGHOST")
    })?;
    let port = match port {
        Some(p) => p,
        None => match var("PGPORT") {
            None => 5432,
            Some(p) => p.trim().parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                Error::invalid("PGPORT is not a port number")
                    .with_hint("set PGPORT to a number from 1 to 65535, or give --port")
            })?,
        },
    };
    let user = user
        .or_else(|| var("PGUSER"))
        .unwrap_or_else(|| "postgres".to_string());
    let database = dbname
        .or_else(|| var("PGDATABASE"))
        .unwrap_or_else(|| user.clone());
    Ok(ProjectConnection::Fields {
        host,
        port: Some(port),
        user,
        database,
    })
}

async fn run(cli: Cli, out: &Out, cancel: CancellationToken) -> Result<u8> {
    // `inspect` needs no catalog.
    if let Command::Inspect { archive: path } = &cli.command {
        let manifest = archive::read_manifest(path)?;
        out.inspect(path, &manifest);
        return Ok(0);
    }
    if let Command::Serve(args) = &cli.command {
        return serve_cmd::run(args, cli.data_dir.clone(), cli.pg_bin.clone(), out, cancel).await;
    }
    let secrets =
        secrets::store_named(&std::env::var(secrets::SECRET_STORE_ENV).unwrap_or_default())?;
    let mut config = EngineConfig::new(Arc::from(secrets))
        .data_dir(cli.data_dir.clone())
        .pg_bin(cli.pg_bin.clone());
    if let Some(now) = test_clock()? {
        config = config.clock(now);
    }
    let engine = Engine::open(config).await?;
    for note in engine.notes() {
        eprintln!("offsite: {note}");
    }
    // Every job of the command line: its trigger, a progress bar on a terminal, Ctrl-C.
    let job = |label: &str| -> JobStart {
        let sink: Arc<dyn Progress> = if cli.json || !std::io::stderr().is_terminal() {
            Arc::new(NoProgress)
        } else {
            Arc::new(ProgressBar::new(label))
        };
        JobStart::new(JobTrigger::Cli)
            .progress(sink)
            .cancel(cancel.clone())
    };
    match cli.command {
        Command::Project(cmd) => match cmd {
            ProjectCmd::Add {
                name,
                db,
                host,
                port,
                user,
                dbname,
                password_stdin,
                tls,
                backup_dir,
                components,
                server,
            } => {
                let mut stdin = components_cmd::StdinSecrets::read(
                    usize::from(password_stdin) + components.stdin_lines() + server.stdin_lines(),
                )?;
                let password = if password_stdin { stdin.next() } else { None };
                let tls = tls.map(|t| t.parse::<TlsMode>()).transpose()?;
                let quick = components
                    .supabase
                    .as_deref()
                    .map(components_cmd::parse_supabase)
                    .transpose()?;
                if let Some(url) = &db {
                    warn_password_in_url("--db", url);
                }
                let connection = match (db, &quick) {
                    (Some(url), _) => ProjectConnection::Url(url),
                    (None, Some(q)) if host.is_none() => {
                        // The direct host, or the session pooler when it does not answer from here.
                        let token = if components.supabase_token_stdin {
                            // (the server token, when also read, comes after it)
                            stdin.nth_from_end(server.stdin_lines()).map(str::to_string)
                        } else {
                            std::env::var(offsite_core::ops::components::SUPABASE_TOKEN_ENV).ok()
                        };
                        use offsite_core::ops::supabase_tls::SupabaseTls;
                        let check = match (&components.supabase_ca, tls) {
                            (Some(ca), None | Some(TlsMode::VerifyFull)) => SupabaseTls::Verify(ca),
                            (_, Some(TlsMode::Require)) => SupabaseTls::RequireUnverified,
                            (Some(_), Some(other)) => {
                                return Err(Error::invalid(format!(
                                    "--supabase-ca is checked only with verify-full, not --tls {other}"
                                ))
                                .with_hint("leave out --tls (verify-full), or --supabase-ca with --tls require"))
                            }
                            (None, _) => SupabaseTls::Unchosen,
                        };
                        let d = offsite_core::ops::components::supabase_database(
                            &q.project_ref,
                            token.as_deref(),
                            components.supabase_api.as_deref(),
                            check,
                        )
                        .await?;
                        if let Some(note) = &d.note {
                            eprintln!("note: {note}");
                        }
                        ProjectConnection::Url(d.url)
                    }
                    (None, _) => fields_from_flags_and_env(host, port, user, dbname, |k| {
                        std::env::var(k).ok()
                    })?,
                };
                let p = engine
                    .add_project(AddProject {
                        name,
                        connection,
                        password,
                        tls,
                        backup_dir,
                    })
                    .await?;
                // The project exists only with every part it was asked for.
                let applied = match components
                    .apply(&engine, &p.name, &mut stdin, quick.as_ref())
                    .await
                {
                    Ok(_) => server.apply(&engine, &p.name, stdin.next()).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = applied {
                    let _ = engine.remove_project(&p.name).await;
                    return Err(e);
                }
                out.project(&p, &engine.backup_dir_of(&p));
            }
            ProjectCmd::Components {
                name,
                components,
                remove_storage,
                remove_supabase,
                server,
                remove_server,
                remove_artifacts,
            } => {
                let mut stdin = components_cmd::StdinSecrets::read(
                    components.stdin_lines() + server.stdin_lines(),
                )?;
                if remove_artifacts {
                    offsite_core::ops::artifacts::set_artifacts(&engine, &name, None).await?;
                }
                if remove_server {
                    offsite_core::ops::remote::set_server(&engine, &name, None).await?;
                }
                if remove_storage {
                    engine.set_storage(&name, None).await?;
                }
                if remove_supabase {
                    engine.set_supabase(&name, None).await?;
                }
                let quick = components
                    .supabase
                    .as_deref()
                    .map(components_cmd::parse_supabase)
                    .transpose()?;
                components
                    .apply(&engine, &name, &mut stdin, quick.as_ref())
                    .await?;
                server.apply(&engine, &name, stdin.next()).await?;
                components_cmd::print_components(&out, &name, &engine.components(&name).await?);
            }
            ProjectCmd::TestStorage { name } => {
                let report = engine.test_storage(&name).await?;
                components_cmd::print_storage_test(&out, &report);
                if !report.missing.is_empty()
                    || report
                        .buckets
                        .iter()
                        .any(|b| b.readable == Some(false) || b.error.is_some())
                {
                    return Ok(exit::FAILURE);
                }
            }
            ProjectCmd::List => out.projects(&engine.projects().await?),
            ProjectCmd::Show { name } => {
                let p = engine.project(&name).await?;
                out.project(&p, &engine.backup_dir_of(&p));
            }
            ProjectCmd::Test { name } => {
                let report = engine.test_project(&name).await?;
                out.connection(&report);
                if !report.can_dump {
                    return Ok(exit::FAILURE);
                }
            }
            ProjectCmd::Remove { name } => {
                engine.remove_project(&name).await?;
                out.done(&format!("removed project {name} (backup files were kept)"));
            }
            ProjectCmd::Password { name } => {
                let password = read_password_stdin()?;
                engine.set_password(&name, &password).await?;
                out.done(&format!("saved the password of project {name}"));
            }
        },
        Command::Backup {
            name,
            dest,
            level,
            backup_type,
            remote,
        } => {
            if remote {
                return remote_cmd::backup(
                    &engine,
                    &name,
                    backup_type.as_deref(),
                    out,
                    job("backing up on the server"),
                )
                .await;
            }
            let opts = BackupOptions {
                project: name,
                dest,
                compression_level: level,
                backup_type: backup_type
                    .as_deref()
                    .map(offsite_core::ops::parse_backup_type)
                    .transpose()?,
                ..Default::default()
            };
            let outcome = engine.backup(opts, job("backing up")).await?;
            out.backup(&outcome);
        }
        Command::Pull { name } => {
            return remote_cmd::pull(&engine, &name, out, job("pulling")).await
        }
        Command::Backups { name } => out.backups(&engine.backups(&name).await?),
        Command::Verify { archive: path } => {
            let outcome = engine
                .verify(VerifyOptions::path(path), job("verifying"))
                .await?;
            out.verify(&outcome.report);
            if !outcome.report.ok {
                return Ok(exit::INTEGRITY);
            }
        }
        Command::Inspect { .. } | Command::Serve(_) => unreachable!("handled above"),
        Command::Import(args) => {
            return import_cmd::import(&engine, args, out, job("importing")).await
        }
        Command::Restore(args) => {
            use restore_components_cmd::{self as rc, Part};
            if let Some(to) = &args.to {
                warn_password_in_url("--to", to);
            }
            let parts = rc::parts(args.components.as_deref(), &args.archive)?;
            let mut code = 0;
            if parts.contains(&Part::Storage) {
                // Storage first checks its target before the database is touched.
                rc::storage_target(args.storage_to.as_deref(), args.to.as_deref())?;
            }
            if parts.contains(&Part::Database) {
                let a = RestoreArgs { ..args.clone() };
                code = restore(&engine, a, out, job("restoring")).await?;
                if code != 0 {
                    return Ok(code);
                }
            }
            if parts.contains(&Part::Storage) {
                let to = rc::storage_target(args.storage_to.as_deref(), args.to.as_deref())?;
                code = rc::restore_storage(
                    &engine,
                    &args.archive,
                    to,
                    args.buckets.as_deref(),
                    args.mirror,
                    args.overwrite,
                    args.dry_run,
                    args.yes,
                    out,
                    job("restoring storage"),
                )
                .await?;
                if code != 0 {
                    return Ok(code);
                }
            }
            if parts.contains(&Part::Config) {
                code = rc::restore_config(
                    &engine,
                    &args.archive,
                    args.to.as_deref(),
                    args.config_settings.as_deref(),
                    args.dry_run,
                    out,
                )
                .await?;
            }
            return Ok(code);
        }
        Command::Schedule(cmd) => return schedule_cmd::schedule(&engine, cmd, out).await,
        Command::Retention(cmd) => return schedule_cmd::retention(&engine, cmd, out).await,
        Command::Prune { name, dry_run } => {
            return schedule_cmd::prune(&engine, name, dry_run, out, job("pruning")).await
        }
        Command::RunDue => return schedule_cmd::run_due(&engine, out).await,
        Command::Daemon => return schedule_cmd::daemon(&engine, out, cancel.clone()).await,
        Command::Status { name } => return schedule_cmd::status(&engine, name, out).await,
    }
    Ok(0)
}

async fn restore(engine: &Engine, args: RestoreArgs, out: &Out, job: JobStart) -> Result<u8> {
    let to_arg = args.to.as_deref().ok_or_else(|| {
        Error::invalid("restoring the database needs --to URL|PROJECT")
            .with_hint("or restore only the storage: --components storage --storage-to DIR|PROJECT")
    })?;
    let mut to = RestoreTo::url_or_project(to_arg, None);
    let url = match &mut to {
        RestoreTo::Connection { password, .. } => {
            if args.password_stdin {
                *password = Some(read_password_stdin()?);
            }
            true
        }
        RestoreTo::Project(_) => false,
    };
    let mut target = engine.restore_target(to).await?;
    if url && target.password.is_none() {
        // Headless: the standard PGPASSWORD.
        target.password = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty());
    }
    if (args.data_only || args.schema_only || args.into_schema.is_some())
        && args.schemas.is_empty()
        && args.tables.is_empty()
    {
        return Err(offsite_core::Error::new(
            ErrorKind::InvalidInput,
            "--data-only, --schema-only and --into-schema apply to a selection",
        )
        .with_hint("name what to restore with --table SCHEMA.TABLE or --schema SCHEMA"));
    }
    let request = RestoreRequest::new(&args.archive, target).options(RestoreOptions {
        replace: args.replace,
        no_safety_backup: args.no_safety_backup,
        create_roles: args.create_roles,
        no_owner: args.no_owner,
        allow_arbitrary_sql: args.allow_arbitrary_sql,
        selection: Selection {
            schemas: args.schemas.clone(),
            tables: args.tables.clone(),
            what: if args.data_only {
                SelectWhat::Data
            } else if args.schema_only {
                SelectWhat::Schema
            } else {
                SelectWhat::Both
            },
            into_schema: args.into_schema.clone(),
        },
        ..Default::default()
    });
    let plan = engine.plan_restore(&request).await?;
    if args.dry_run {
        out.plan(&plan);
        return Ok(if plan.blockers.is_empty() {
            0
        } else {
            exit::NEEDS_CONSENT
        });
    }
    if !plan.target_empty && plan.blockers.is_empty() && !args.yes {
        // Replacing data: the user types the database name, as in the desktop wizard.
        if out.json() || !std::io::stdin().is_terminal() {
            return Err(Error::new(
                ErrorKind::NeedsConsent,
                format!("restoring would replace data in {}", plan.target_database),
            )
            .with_hint("review with --dry-run, then pass --yes to confirm"));
        }
        out.plan(&plan);
        eprint!(
            "Type the database name ({}) to replace its contents: ",
            plan.target_database
        );
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).ok();
        if answer.trim() != plan.target_database {
            return Err(Error::new(
                ErrorKind::NeedsConsent,
                "not confirmed; nothing was changed",
            ));
        }
    }
    let outcome = engine.restore(request, job).await?;
    out.restore(&outcome);
    Ok(if outcome.report.ok {
        0
    } else {
        exit::INTEGRITY
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn fields(host: &str, port: u16, user: &str, database: &str) -> ProjectConnection {
        ProjectConnection::Fields {
            host: host.into(),
            port: Some(port),
            user: user.into(),
            database: database.into(),
        }
    }

    #[test]
    fn flags_win_then_libpq_variables_then_defaults() {
        let pg = [
            ("PGHOST", "/var/run/postgresql"),
            ("PGPORT", "5433"),
            ("PGUSER", "app"),
            ("PGDATABASE", "shop"),
        ];
        // Nothing given: all from the environment.
        let c = fields_from_flags_and_env(None, None, None, None, env_of(&pg)).unwrap();
        assert_eq!(c, fields("/var/run/postgresql", 5433, "app", "shop"));
        // Flags win over variables, one by one.
        let c = fields_from_flags_and_env(
            Some("db.example.com".into()),
            Some(6543),
            None,
            Some("other".into()),
            env_of(&pg),
        )
        .unwrap();
        assert_eq!(c, fields("db.example.com", 6543, "app", "other"));
        // No variables: the defaults (database = user).
        let c =
            fields_from_flags_and_env(Some("h".into()), None, Some("me".into()), None, env_of(&[]))
                .unwrap();
        assert_eq!(c, fields("h", 5432, "me", "me"));
        let c = fields_from_flags_and_env(
            Some("h".into()),
            None,
            None,
            None,
            env_of(&[("PGUSER", "")]),
        )
        .unwrap();
        assert_eq!(c, fields("h", 5432, "postgres", "postgres"));
    }

    #[test]
    fn no_host_anywhere_and_a_bad_pgport_are_refused() {
        let e = fields_from_flags_and_env(None, None, None, None, env_of(&[("PGHOST", " ")]))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("PGHOST"), "{}", e.message());
        assert!(e.hint().unwrap().contains("--host"));
        let e = fields_from_flags_and_env(
            Some("h".into()),
            None,
            None,
            None,
            env_of(&[("PGPORT", "fivefour")]),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("PGPORT"), "{}", e.message());
    }
}
