//! `offsite`: the headless command line over the Offsite engine.

// First: its print macros replace std's in every module below (see stdio.rs).
#[macro_use]
mod stdio;
mod archive_arg;
mod browse_cmd;
mod check_cmd;
mod components_cmd;
mod destination_cmd;
mod diff_cmd;
#[cfg(test)]
mod docs_examples;
#[cfg(test)]
mod docs_install;
#[cfg(test)]
mod docs_links;
mod drill_cmd;
mod drill_report_cmd;
mod encryption_cmd;
#[cfg(test)]
mod help_examples;
mod history_cmd;
mod import_cmd;
mod keep_args;
mod key_stdin;
mod marks_cmd;
mod notify_cmd;
mod output;
mod parity_text;
mod pitr_cmd;
mod project_cmd;
mod recover_cmd;
mod recovery_card_cmd;
mod remote_cmd;
mod restore_at_cmd;
mod restore_cmd;
mod schedule_cmd;
mod schedule_named_cmd;
mod selection_cmd;
mod serve_cmd;
mod shown;
mod tenant_cmd;
mod usage;
mod words;

use clap::{Parser, Subcommand};
use offsite_core::archive;
use offsite_core::progress::{NoProgress, Progress};
use offsite_core::{
    secrets, BackupOptions, Engine, EngineConfig, Error, ErrorKind, JobStart, JobTrigger, Result,
    VerifyOptions,
};
use output::{Out, ProgressBar};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, LazyLock};
use tokio_util::sync::CancellationToken;

/// `offsite --version`: the version, the archive formats it reads, the catalog schema.
static LONG_VERSION: LazyLock<String> = LazyLock::new(|| offsite_core::version_info().long());

/// Back up PostgreSQL and Supabase projects into verified archives, and restore them.
#[derive(Parser)]
#[command(
    name = "offsite",
    version,
    long_version = LONG_VERSION.as_str(),
    after_help = "Examples:\n  offsite project add shop --db postgres://postgres@db.example.com/shop --password-stdin\n  \
offsite backup shop\n  offsite backups shop --json\n\n\
Exit codes and error codes: see docs/cli.md (0 ok, 1 failure, 2 bad input, 3 connection, \
4 integrity, 5 needs consent, 6 overdue, 7 permission, 8 wrong key, 9 drill failed, 130 cancelled)."
)]
struct Cli {
    /// Data folder (catalog, default backup folder). Default: the platform's app-data folder.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "OFFSITE_DATA_DIR",
        value_name = "DIR"
    )]
    data_dir: Option<PathBuf>,
    /// Print one JSON document on stdout and nothing else there.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,
    /// Folder with pg_dump/pg_restore to use instead of searching.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "OFFSITE_PG_BIN",
        value_name = "DIR"
    )]
    pg_bin: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run; boxing the larger variants would only make the match arms noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Add, list, show, test or remove projects; their storage and Supabase settings; passwords.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  offsite project add shop --db postgres://postgres@db.example.com/shop --password-stdin\n  offsite project list\n  offsite project test shop"
    )]
    Project(project_cmd::ProjectCmd),
    /// Back up a project (database, storage, configuration: --type, else the project's default);
    /// prints the archive path.
    #[command(
        after_help = "Examples:\n  offsite backup shop\n  offsite backup shop --type full --dest /mnt/backups\n  offsite backup shop --remote --json"
    )]
    Backup {
        /// The project to back up (see `offsite project list`).
        name: String,
        /// Folder for the archive (default: the project's backup folder).
        #[arg(long, value_name = "DIR")]
        dest: Option<PathBuf>,
        /// A gzip archive (`.tar.gz`) at this level, 0 (none) to 9 (smallest, slowest); the same
        /// as `--compression gzip:N`.
        #[arg(long, env = "OFFSITE_COMPRESSION_LEVEL", value_name = "N")]
        level: Option<u32>,
        /// zstd, zstd:LEVEL (1-19), gzip or gzip:LEVEL (0-9): a zstd archive is `.tar.zst`, a
        /// gzip one `.tar.gz`. Default: `offsite settings --compression`, else zstd.
        #[arg(long, value_name = "CODEC[:LEVEL]", conflicts_with = "level")]
        compression: Option<String>,
        /// full (database, storage and configuration), database, storage, config or incremental
        /// (storage changes since the last full/storage backup). Default: the project's default
        /// type (`project components NAME --default-type`), else database.
        #[arg(long = "type", value_name = "TYPE")]
        backup_type: Option<String>,
        /// pg_dump's parallel workers, capped by the server's free connections. Default: the
        /// cores; 2 or more dump tables in parallel (archive format 2), 1 is one stream (format
        /// 1); through a transaction pooler the dump falls back to one stream.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
        jobs: Option<u32>,
        /// Make the backup on the project's backup server (`project add --server`), follow its
        /// progress, then download, verify and register the archive here.
        #[arg(long, conflicts_with_all = ["dest", "level", "compression", "jobs"])]
        remote: bool,
        /// One archive per tenant (`offsite tenant add`), or for the one whose root key is VALUE,
        /// split from the project's newest good backup into `<backup folder>/tenants/NAME/VALUE/`.
        #[arg(long, value_name = "NAME[=VALUE]", conflicts_with_all = ["dest", "level", "compression", "jobs", "remote", "backup_type"])]
        tenant: Option<String>,
        /// This run's selective backup (default: the project's, `project set-selection`).
        #[command(flatten)]
        selection: selection_cmd::SelectionArgs,
        /// A note kept with the backup and shown beside it (`offsite backups`, the app), e.g.
        /// why it was taken; the OS user who ran the command is kept too.
        #[arg(long, value_name = "TEXT", conflicts_with_all = ["remote", "tenant"])]
        note: Option<String>,
    },
    /// Show or change this machine's defaults: the compression of backups that name none.
    #[command(
        after_help = "Examples:\n  offsite settings\n  offsite settings --compression zstd\n  offsite settings --compression gzip:6"
    )]
    Settings {
        /// zstd, zstd:LEVEL, gzip or gzip:LEVEL: what `offsite backup`, schedules, the app and
        /// `offsite serve` use when no --compression is given (built in: zstd).
        #[arg(long, value_name = "CODEC[:LEVEL]")]
        compression: Option<String>,
    },
    /// Download the backups the project's backup server has and this catalog does not (each
    /// verified and registered); prints their paths. A second pull downloads nothing.
    #[command(after_help = "Examples:\n  offsite pull shop\n  offsite pull shop --json")]
    Pull {
        /// The project whose backup server (or artifact bucket) to pull from.
        name: String,
    },
    /// List a project's local backups with size, date and verified state; a backup whose
    /// archive file is gone is marked MISSING.
    #[command(
        after_help = "Examples:\n  offsite backups shop\n  offsite backups shop --json\n  offsite backups shop --stats"
    )]
    Backups {
        /// The project whose backups to list.
        name: String,
        /// Statistics instead of the list: count, total size, per type, oldest and newest,
        /// growth per week, and per destination the copies and bytes stored.
        #[arg(long)]
        stats: bool,
    },
    /// Keep a backup through every retention (reason "pinned" in `prune`'s output).
    #[command(after_help = "Examples:\n  offsite pin 3f2a9c1e\n  offsite pin shop:latest")]
    Pin {
        /// The backup: its id (or a unique start of one), or PROJECT:latest.
        backup: String,
    },
    /// Let retention decide about a pinned backup again.
    #[command(after_help = "Examples:\n  offsite unpin 3f2a9c1e")]
    Unpin {
        /// The backup: its id (or a unique start of one), or PROJECT:latest.
        backup: String,
    },
    /// Delete one backup: its archive here and, with --everywhere, its copies at every
    /// destination; asks first. The only good copy of a project's newest good backup needs
    /// --force.
    Delete(marks_cmd::DeleteArgs),
    /// Show or set a project's canary thresholds: when a new backup, compared with the previous
    /// good one, is suspicious (flagged, kept, and an alert sent).
    Canary(marks_cmd::CanaryArgs),
    /// Write a project's printable recovery card (HTML): where the backups and copies are, how
    /// to open them without Offsite (age, tar, pg_restore), the last drill, the targets, and the
    /// contacts given. See docs/recovery.md for what to do in each kind of loss.
    #[command(
        after_help = "Examples:\n  offsite recovery-card shop --contact \"Ann Lee <ann@example.com>\" --out shop-card.html\n  offsite recovery-card shop"
    )]
    RecoveryCard(recovery_card_cmd::RecoveryCardArgs),
    /// Remove a backup's entry from the catalog (e.g. one whose archive file was deleted); the
    /// file, if still there, is left alone.
    Forget(history_cmd::ForgetArgs),
    /// The jobs Offsite ran (backups, verifications, restores, imports, retention), newest
    /// first: the app's History screen.
    History(history_cmd::HistoryArgs),
    /// Check an archive's checksums; exit 0 when intact, 4 naming the first bad member.
    /// Point-in-time change segments are checked by `offsite pitr verify PROJECT`.
    #[command(
        after_help = "Examples:\n  offsite verify shop:latest\n  offsite verify ~/Offsite/backups/shop/shop_20261120_023000_database.tar.zst\n  offsite verify 3f2a9c1e --json\n  offsite verify shop_20261120_023000_database.tar.zst.age --key-stdin < shop-key.txt"
    )]
    Verify {
        /// The archive: its path, a backup id (either id `backups` or `inspect` shows, or a
        /// unique start of one), or PROJECT:latest.
        archive: PathBuf,
        /// An encrypted (.age) archive's key, read from standard input: an AGE-SECRET-KEY-1…
        /// line (or identity file) or the passphrase. Default: the project's key from the
        /// keychain; without any key only the ciphertext is checked against its .sha256.
        #[arg(long)]
        key_stdin: bool,
    },
    /// A project's encryption (age): set it up, confirm the recovery key, show it.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  offsite encryption set shop --generate-key > shop-recovery-key.txt\n  offsite encryption confirm shop < shop-recovery-key.txt\n  offsite encryption show shop"
    )]
    Encryption(encryption_cmd::EncryptionCmd),
    /// Encryption keys: print a recovery key, list the keys kept (removed projects' too),
    /// delete a kept one.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  offsite key export shop > shop-key.txt\n  offsite key list\n  offsite key remove shop"
    )]
    Key(encryption_cmd::KeyCmd),
    /// Show an archive's manifest.
    #[command(
        after_help = "Examples:\n  offsite inspect shop:latest\n  offsite inspect shop_20261120_023000_database.tar.zst --json\n  offsite inspect shop_20261120_023000_database.tar.zst.age --key-stdin < shop-key.txt"
    )]
    Inspect {
        /// The archive: its path, a backup id (either id `backups` or `inspect` shows, or a
        /// unique start of one), or PROJECT:latest.
        archive: PathBuf,
        /// An encrypted archive's key (an AGE-SECRET-KEY-1… line, an SSH private key or the
        /// passphrase), read from standard input. Without it, a project's own archives open
        /// with the project's key from the keychain.
        #[arg(long)]
        key_stdin: bool,
    },
    /// Look inside a backup without restoring it: its tables (row counts, sizes), a table's
    /// rows page by page with a filter, a table as CSV, its storage objects.
    #[command(
        after_help = "Examples:\n  offsite browse shop:latest\n  offsite browse shop:latest --table public.orders --limit 50 --offset 100\n  offsite browse shop:latest --table public.orders --filter acme --where status=paid\n  offsite browse shop:latest --table public.orders --csv orders.csv\n  offsite browse shop:latest --objects --bucket avatars\n  offsite browse shop:latest --object avatars/u1.png --save u1.png\n  offsite browse shop@2026-11-26T06:00:00Z --table public.orders"
    )]
    Browse(browse_cmd::BrowseArgs),
    /// Compare two backups, or a backup and a project's database now, table by table:
    /// identical, changed (rows added, removed, changed by primary key; columns added, removed,
    /// retyped), or in one side only; --rows lists the changed rows.
    #[command(
        after_help = "Examples:\n  offsite diff shop:latest~1 shop:latest\n  offsite diff shop:latest shop:live --table public.orders --rows\n  offsite diff nightly.tar.zst shop:latest --json\n  offsite diff shop@2026-11-26T06:00:00Z shop@2026-11-26T07:00:00Z --table public.orders"
    )]
    Diff(diff_cmd::DiffArgs),
    /// Import a file as a verified backup of a project: an Offsite archive, a pg_dump file
    /// (custom format, or plain SQL as .sql / .sql.gz), pg_dumpall output (one database, with
    /// --database), or a project export. Prints the archive path.
    #[command(
        after_help = "Examples:\n  offsite import nightly.dump --preview\n  offsite import nightly.sql.gz --new-project nightly --db postgres://postgres@localhost/shop\n  offsite import cluster.sql --project shop --database shop"
    )]
    Import(import_cmd::ImportArgs),
    /// Restore an archive by component: the database into a URL or project, storage into a
    /// project's buckets or a folder, configuration setting by setting.
    #[command(
        after_help = "Examples:\n  offsite restore shop_20261120_023000_full.tar.zst --to postgres://postgres@localhost/shop_copy --dry-run\n  offsite restore shop_20261120_023000_full.tar.zst --to shop --replace\n  offsite restore shop_20261120_023000_full.tar.zst --to shop --table public.orders --into-schema yesterday\n  offsite restore shop_20261120_023000_full.tar.zst --to shop --components storage --storage-to /tmp/files"
    )]
    Restore(restore_cmd::RestoreArgs),
    /// Recover chosen rows of a backup into a live database, with every row they reference that
    /// the target lacks (and, with --children, every row that references them): one
    /// transaction after an undo file; `recover --undo ID` puts things back.
    #[command(
        after_help = "Examples:\n  offsite recover shop:latest --table public.organizations --where id=42 --children --to shop --dry-run\n  offsite recover shop:latest --table public.organizations --where id=42 --children --to shop --yes\n  offsite recover shop:latest --table public.orders --where customer_id=7 --on-conflict update --to postgres://postgres@localhost/shop\n  offsite recover shop@2026-11-26T06:00:00Z --table public.orders --where id=42 --to shop --dry-run\n  offsite recover --undo rcv_20261125_101500_a1b2c3"
    )]
    Recover(recover_cmd::RecoverArgs),
    /// A project's tenants: a root table and its key column, and the tables reached from it
    /// through foreign keys (as `recover --children` reaches them).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  offsite tenant add shop orgs --table public.organizations --key id\n  offsite tenant show shop orgs\n  offsite tenant list shop\n  offsite tenant remove shop orgs"
    )]
    Tenant(tenant_cmd::TenantCmd),
    /// Point-in-time capture (logical replication): enable, run, status, disable. Restore to a
    /// time with `offsite restore PROJECT --at TIME --to URL`.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  offsite pitr enable shop\n  offsite pitr run shop\n  offsite pitr status shop\n  offsite restore shop --at 2026-11-26T06:00:00Z --to postgres://postgres@localhost/shop_then --dry-run\n  offsite pitr disable shop"
    )]
    Pitr(pitr_cmd::PitrCmd),
    /// Prove a backup restores: restore it into a throwaway PostgreSQL cluster (or a scratch
    /// server), check it, and write a report; prints the report's path (exit 0 passed, 9
    /// failed). Also `drill list NAME`, `drill show ID`; `drill run NAME` for a project named like
    /// one of these.
    Drill(drill_cmd::DrillArgs),
    /// Set, list, show, pause or clear a project's backup and verify schedules.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  offsite schedule set shop --daily 02:30\n  offsite schedule list\n  offsite schedule pause shop"
    )]
    Schedule(schedule_cmd::ScheduleCmd),
    /// A project's own validation queries, run by every restore drill: add, list, remove.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  offsite check add shop --sql \"select count(*) from auth.users\" --expect \">= 1000\"\n  offsite check list shop\n  offsite check remove shop 3f2a9c1e"
    )]
    Check(check_cmd::CheckCmd),
    /// Notifications: channels (email, webhooks, Telegram, pings), routes per project, a test
    /// message, and the outbox log.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  printf %s \"$SLACK_URL\" | offsite notify add chat --webhook-stdin --preset slack\n  offsite notify test chat\n  offsite notify route shop --events failed,overdue --to chat\n  offsite notify log"
    )]
    Notify(notify_cmd::NotifyCmd),
    /// Set or show a project's retention policy.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  offsite retention set shop --keep-last 7 --keep-monthly 12\n  offsite retention show shop"
    )]
    Retention(schedule_cmd::RetentionCmd),
    /// Remove the backups a project's retention policy does not keep (archive, .sha256, entry).
    #[command(after_help = "Examples:\n  offsite prune shop --dry-run\n  offsite prune shop")]
    Prune {
        /// The project whose backups to prune.
        name: String,
        /// List what would be kept (and why) and removed; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Add, list, remove or test a project's destinations: folders, S3-compatible buckets and
    /// rclone remotes its archives are copied to after each backup, each with its own retention.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  offsite destination add shop usb --folder /media/usb/offsite --keep-daily 7\n  offsite destination list shop\n  offsite destination test shop usb"
    )]
    Destination(destination_cmd::DestinationCmd),
    /// Every backup of a project and where its copies are (local, each destination), with their
    /// state; and the project's 3-2-1 state.
    #[command(after_help = "Examples:\n  offsite copies shop\n  offsite copies shop --json")]
    Copies {
        /// The project (see `offsite project list`).
        name: String,
    },
    /// Push a project's pending copies to its destinations now, and apply each destination's
    /// retention (exit 3 while copies stay pending).
    #[command(after_help = "Examples:\n  offsite sync shop\n  offsite sync shop --json")]
    Sync {
        /// The project (see `offsite project list`).
        name: String,
    },
    /// Fetch a backup's copy back from a destination when its local archive is gone (checked,
    /// then registered as the local archive again), so verify and restore can use it.
    #[command(
        after_help = "Examples:\n  offsite fetch-copy shop 3f2a9c1e\n  offsite fetch-copy shop 3f2a9c1e --from usb"
    )]
    FetchCopy {
        /// The project (see `offsite project list`).
        name: String,
        /// The backup's id (see `offsite copies NAME --json`).
        backup_id: String,
        /// The destination to fetch from (default: the first that holds a copy and answers).
        #[arg(long, value_name = "DEST_NAME")]
        from: Option<String>,
    },
    /// Run what is due now, once (for a systemd timer, cron or a Kubernetes CronJob).
    #[command(
        after_help = "Examples:\n  offsite run-due\n  offsite run-due --json\n  offsite run-due --metrics-file /var/lib/node_exporter/textfile/offsite.prom"
    )]
    RunDue {
        /// After the run, write every project's metrics (Prometheus text) to FILE, atomically
        /// (for node_exporter's textfile collector; name it `*.prom`).
        #[arg(long, value_name = "FILE")]
        metrics_file: Option<PathBuf>,
    },
    /// Run schedules in the foreground until SIGTERM (containers).
    #[command(
        after_help = "Examples:\n  offsite daemon\n  offsite daemon --json\n  offsite daemon --metrics-file /var/lib/node_exporter/textfile/offsite.prom"
    )]
    Daemon {
        /// After each check, write every project's metrics (Prometheus text) to FILE,
        /// atomically (for node_exporter's textfile collector; name it `*.prom`).
        #[arg(long, value_name = "FILE")]
        metrics_file: Option<PathBuf>,
    },
    /// Is each project safe: Protected / At risk / Unprotected with the reason and the fix, its
    /// newest good backup, copies, schedule and last run (exit 6 if one is overdue).
    #[command(after_help = "Examples:\n  offsite status\n  offsite status shop --json")]
    Status {
        /// Only this project (default: every project).
        name: Option<String>,
    },
    /// Run the agent (the backup server): an HTTP API beside a database that makes backups on
    /// this host for the app and `offsite backup --remote` (docs/agent.md).
    #[command(
        after_help = "Examples:\n  offsite serve --config /etc/offsite/agent.toml\n  offsite serve token create --project shop\n  offsite serve fingerprint"
    )]
    Serve(serve_cmd::ServeArgs),
}

/// Exit codes scripts can rely on.
mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const CONNECTION: u8 = 3;
    pub const INTEGRITY: u8 = 4;
    pub const NEEDS_CONSENT: u8 = 5;
    pub const PERMISSION: u8 = 7;
    pub const WRONG_KEY: u8 = 8;
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
        ErrorKind::WrongKey => exit::WRONG_KEY,
        ErrorKind::Cancelled => exit::CANCELLED,
        _ => exit::FAILURE,
    }
}

/// The user's Ctrl-C presses, listened for from one subscription: a second press that comes
/// while the first is being answered is kept, not lost (`tokio::signal::ctrl_c()` subscribes
/// anew on each call, and a signal delivered before the new subscription is not seen).
struct CtrlC {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl CtrlC {
    fn listen() -> Self {
        CtrlC {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok(),
        }
    }

    /// The next press (false: it cannot be listened for).
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            match &mut self.signal {
                Some(s) => s.recv().await.is_some(),
                None => false,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}

fn main() -> ExitCode {
    offsite_core::allocator::configure();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let json = usage::json_requested(std::env::args_os());
            return ExitCode::from(usage::report(e, json));
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("OFFSITE_LOG"))
        .with_writer(std::io::stderr)
        .init();
    tracing::debug!("offsite {} started", env!("CARGO_PKG_VERSION"));
    let out = Out::new(cli.json);
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        // The first Ctrl-C cancels the job (it stops its tools, removes what it wrote and, for a
        // restore, what it created) and says so at once; a second one stops at once. On a thread
        // and runtime of their own: the job's runtime may be busy when the user presses it.
        let signals = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        std::thread::spawn(move || {
            signals.block_on(async move {
                let mut presses = CtrlC::listen();
                // A press after the command's work is committed cancels nothing: it is told so.
                let mut pressed = 0;
                while presses.next().await {
                    if output::too_late() {
                        continue;
                    }
                    pressed += 1;
                    if pressed == 1 {
                        output::cancelling();
                        cancel.cancel();
                    } else {
                        offsite_core::postgres::process::kill_all_now();
                        output::stopped_at_once();
                        std::process::exit(exit::CANCELLED.into());
                    }
                }
            })
        });
    }
    let code = match rt.block_on(run(cli, &out, cancel.clone())) {
        Ok(code) => {
            if cancel.is_cancelled() {
                output::cancelled_too_late();
            }
            code
        }
        Err(e) => {
            out.error(&e);
            exit_code(&e)
        }
    };
    // Output that could not be written (not a closed pipe: see stdio.rs) is a failure.
    ExitCode::from(if code == 0 && stdio::failed() {
        exit::FAILURE
    } else {
        code
    })
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

pub(crate) fn read_password_stdin() -> Result<String> {
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

async fn run(cli: Cli, out: &Out, cancel: CancellationToken) -> Result<u8> {
    // `inspect` of a file needs no catalog (a backup id or PROJECT:latest does, below).
    // An encrypted one without --key-stdin needs the catalog (whose project, which key).
    if let Command::Inspect {
        archive: path,
        key_stdin,
    } = &cli.command
    {
        let plain = !archive::is_encrypted_file(path).unwrap_or(true);
        if std::fs::symlink_metadata(path).is_ok() && (plain || *key_stdin) {
            let key = key_stdin.then(encryption_cmd::key_from_stdin).transpose()?;
            let manifest = archive::read_manifest_with(path, key.as_slice())?;
            out.inspect(path, &manifest, None);
            return Ok(0);
        }
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
        Command::Project(cmd) => return project_cmd::run(&engine, cmd, out).await,
        Command::Backup {
            name,
            dest,
            level,
            compression,
            backup_type,
            jobs,
            remote,
            tenant,
            selection,
            note,
        } => {
            let selection = selection.for_run()?;
            if selection.is_some() && tenant.is_some() {
                return Err(Error::invalid(
                    "a selection goes with a database backup, not with --tenant",
                ));
            }
            if let Some(t) = tenant {
                return tenant_cmd::backup(&engine, &name, &t, out, job("backing up tenants"))
                    .await;
            }
            if remote {
                return remote_cmd::backup(
                    &engine,
                    &name,
                    backup_type.as_deref(),
                    selection,
                    out,
                    job("backing up on the server"),
                )
                .await;
            }
            let opts = BackupOptions {
                project: name,
                dest,
                compression_level: level,
                compression: compression.as_deref().map(str::parse).transpose()?,
                backup_type: backup_type
                    .as_deref()
                    .map(offsite_core::ops::parse_backup_type)
                    .transpose()?,
                jobs,
                selection,
                note,
                ..Default::default()
            };
            let outcome = engine.backup(opts, job("backing up")).await?;
            out.backup(&outcome);
        }
        Command::Settings { compression } => {
            if let Some(c) = compression {
                engine.set_default_compression(Some(c.parse()?)).await?;
            }
            let c = engine.default_compression().await?;
            if out.json() {
                out.emit(&serde_json::json!({ "compression": c.to_string() }));
            } else {
                println!("compression: {c}");
            }
        }
        Command::Pull { name } => {
            return remote_cmd::pull(&engine, &name, out, job("pulling")).await
        }
        Command::Backups { name, stats: true } => {
            marks_cmd::print_stats(out, &engine.backup_stats(&name).await?)
        }
        Command::Backups { name, stats: false } => out.backups(
            &name,
            &engine.backup_list(&name).await?,
            &engine.safety_backups(&name).await?,
        ),
        Command::Pin { backup } => return marks_cmd::pin(&engine, &backup, true, out).await,
        Command::Unpin { backup } => return marks_cmd::pin(&engine, &backup, false, out).await,
        Command::Delete(args) => return marks_cmd::delete(&engine, args, out).await,
        Command::Canary(args) => return marks_cmd::canary(&engine, args, out).await,
        Command::RecoveryCard(args) => return recovery_card_cmd::run(&engine, args, out).await,
        Command::Drill(args) => {
            return drill_cmd::run(&engine, args, out, job("drilling")).await;
        }
        Command::Forget(args) => return history_cmd::forget(&engine, args, out).await,
        Command::History(args) => return history_cmd::history(&engine, args, out).await,
        Command::Verify {
            archive: given,
            key_stdin,
        } => {
            let key = key_stdin.then(encryption_cmd::key_from_stdin).transpose()?;
            let path = archive_arg::resolve(&engine, &given, out).await?.path;
            let mut opts = VerifyOptions::path(path);
            opts.key = key;
            let outcome = engine.verify(opts, job("verifying")).await?;
            // Damage is the job's failure (code `integrity`): `--json` carries it as `error`
            // beside the report, the text says what to do.
            let damage = outcome.report.damage();
            match &damage {
                Some(e) if out.json() => {
                    let mut doc = serde_json::to_value(&outcome.report)
                        .map_err(|e| Error::internal(format!("encoding the report: {e}")))?;
                    doc["error"] = serde_json::json!(offsite_core::ErrorPayload::from(e));
                    out.emit(&doc);
                }
                _ => out.verify(&outcome.report),
            }
            // A window's base: its change segments are checked by `pitr verify`, not here.
            if let Some(id) = &outcome.backup_id {
                if let Some(project) = engine.pitr_window_of_base(id).await? {
                    eprintln!(
                        "note: this backup is the base of a point-in-time window; its change \
                         segments (and their copies) are checked by `offsite pitr verify {project}`"
                    );
                }
            }
            if let Some(e) = damage {
                if !out.json() {
                    out.error(&e);
                }
                return Ok(exit::INTEGRITY);
            }
        }
        Command::Inspect {
            archive: given,
            key_stdin,
        } => {
            let key = key_stdin.then(encryption_cmd::key_from_stdin).transpose()?;
            let found = archive_arg::resolve(&engine, &given, out).await?;
            let manifest = engine.inspect_archive(&found.path, key).await?;
            out.inspect(&found.path, &manifest, found.backup_id.as_deref());
        }
        Command::Browse(args) => return browse_cmd::browse(&engine, args, out, &cancel).await,
        Command::Diff(args) => return diff_cmd::diff(&engine, args, out, cancel.clone()).await,
        Command::Serve(_) => unreachable!("handled above"),
        Command::Import(args) => {
            return import_cmd::import(&engine, args, out, job("importing")).await
        }
        Command::Restore(args) => {
            return restore_cmd::restore(&engine, args, out, job("restoring")).await
        }
        Command::Recover(args) => {
            return recover_cmd::recover(&engine, args, out, job("recovering")).await
        }
        Command::Encryption(cmd) => return encryption_cmd::encryption(&engine, cmd, out).await,
        Command::Key(cmd) => return encryption_cmd::key(&engine, cmd, out).await,
        Command::Tenant(cmd) => return tenant_cmd::tenant(&engine, cmd, out).await,
        Command::Pitr(cmd) => return pitr_cmd::pitr(&engine, cmd, out, &cancel).await,
        Command::Schedule(cmd) => return schedule_cmd::schedule(&engine, cmd, out).await,
        Command::Retention(cmd) => return schedule_cmd::retention(&engine, cmd, out).await,
        Command::Check(cmd) => return check_cmd::check(&engine, cmd, out).await,
        Command::Notify(cmd) => return notify_cmd::notify(&engine, cmd, out).await,
        Command::Prune { name, dry_run } => {
            return schedule_cmd::prune(&engine, name, dry_run, out, job("pruning")).await
        }
        Command::Destination(cmd) => return destination_cmd::destination(&engine, cmd, out).await,
        Command::Copies { name } => return destination_cmd::copies(&engine, &name, out).await,
        Command::Sync { name } => {
            return destination_cmd::sync(&engine, name, out, job("copying")).await
        }
        Command::FetchCopy {
            name,
            backup_id,
            from,
        } => {
            let o = engine
                .fetch_copy(
                    offsite_core::ops::FetchCopyOptions {
                        project: name,
                        backup_id,
                        destination: from,
                    },
                    job("fetching a copy"),
                )
                .await?;
            if out.json() {
                out.emit(&serde_json::json!({ "fetched": o }));
            } else {
                println!("{}", o.path);
            }
        }
        Command::RunDue { metrics_file } => {
            return schedule_cmd::run_due(&engine, out, metrics_file.as_deref()).await
        }
        Command::Daemon { metrics_file } => {
            return schedule_cmd::daemon(&engine, out, cancel.clone(), metrics_file.as_deref())
                .await
        }
        Command::Status { name } => return schedule_cmd::status(&engine, name, out).await,
    }
    Ok(0)
}
