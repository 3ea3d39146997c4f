//! The local catalog (SQLite): projects, their backups and where each is kept, jobs and settings.
//!
//! One file, `catalog.sqlite3`, in the data folder ([`Catalog::default_data_dir`]). The schema is
//! versioned by the migrations in `crates/core/migrations/`, embedded into the binary and applied
//! by [`Catalog::open`]. Queries are built at run time (no compile-time checked macros), so
//! building needs no database.
//!
//! A file per table, each with its records, its `impl Catalog` block and its tests:
//! - `projects.rs`: the databases Offsite backs up;
//! - `backups.rs`: one row per backup, with its archive in the project's folder (`path`);
//! - `backup_marks.rs`: the canary's verdict, the note and the pin of each backup, and each
//!   project's canary thresholds (issue 47);
//! - `copies.rs`: where a backup is kept, one row per copy (the local archive now; other folders
//!   and buckets next), the local one written with its backup in one transaction;
//! - `destinations.rs`: the places a project's archives are copied to (folder, S3, rclone), each
//!   with its own retention; `dest_copies.rs`: the copies there (stored or pending);
//! - `jobs.rs`: every backup, verify, restore and import run, and its outcome;
//! - `schedules.rs`: backup and verify schedules (the slot each last claimed) and retention
//!   policies, one of each per project;
//! - `settings.rs`: small preferences;
//! - `targets.rs`: a project's recovery targets (RPO and RTO, issue 47);
//! - `tenants.rs`: a project's tenant roots (a table and its key column, issue 45);
//! - `tested_sources.rs`: when each source's connection was last tested, and how it went;
//! - `validation_checks.rs`: a project's own validation queries, run by every restore drill;
//! - `notify.rs`: notification channels, routes, the outbox and the overdue state (issue 27);
//! - `orphaned_keys.rs`: encryption keys kept in the keychain after their project was removed;
//! - `changes.rs`: the change feed that triggers fill from projects, backups and jobs.
//!
//! What they share: `validate.rs` (what the catalog accepts), `timestamps.rs` (how it writes
//! times) and `sql.rs` (ids, integers, enums stored as text, errors); `testing.rs` holds the unit
//! tests' fixtures. This module opens the catalog; the table modules are private and every public
//! name is re-exported here, so callers write `offsite_core::catalog::Project`.
//!
//! A new table (schedules, retention policies, a storage index…) is a new file with the same
//! shape and a new migration; `Catalog::pool` also serves modules that keep their own tables.
//!
//! Conventions:
//! - ids are UUID v4 strings;
//! - times are RFC 3339 UTC strings in one fixed shape, `2024-05-01T10:00:00.000Z` (see
//!   [`format_timestamp`]), so that they sort as text; every "now" comes from the catalog's
//!   [`Clock`](crate::clock::Clock) ([`Catalog::now`]);
//! - nothing secret is ever stored here: a project's URL is rejected if it carries a password.
//!
//! The pool is cheap to clone and shared; SQLite runs in WAL mode with a 5 s busy timeout, so the
//! desktop app and the command line can use the same catalog at once.

use crate::clock::SharedClock;
use crate::error::{Error, ErrorKind, Result};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod backup_marks;
mod backup_schedule;
mod backups;
mod changes;
mod components;
mod copies;
mod dest_copies;
mod destinations;
mod drill_settings;
mod drills;
mod encryption;
mod jobs;
mod journal;
mod metrics;
mod notify;
mod notify_conditions;
mod notify_retention;
mod orphaned_keys;
mod pitr;
mod pitr_copies;
mod pitr_strays;
mod projects;
mod safety;
mod schedules;
mod settings;
mod sql;
mod targets;
mod tenants;
mod tested_sources;
#[cfg(test)]
pub(crate) mod testing;
mod validate;
mod validation_checks;

/// The name under which the retention watcher's last run is kept: a backup or a prune resets
/// it so the next check sees the change.
pub const RETENTION_WATCH: &str = "retention";

pub use crate::clock::{format_timestamp, parse_timestamp};
pub use backup_marks::{clean_note, BackupMarks, NOTE_MAX_CHARS};
pub use backups::{BackupOrigin, BackupRecord, BackupRow, BackupStatus, NewBackup};
pub use changes::{Change, ChangeBatch, ChangeEntity, ChangeOp, KEEP_CHANGES};
pub use components::{
    ArtifactsComponent, Components, ImportedArtifact, ServerComponent, StorageComponent,
    SupabaseComponent,
};
pub use copies::{BackupCopy, CopyState, LOCAL_DESTINATION};
pub use dest_copies::CopyTarget;
pub use destinations::{
    location_of, DestinationKind, DestinationRecord, DestinationSpec, S3Target,
};
pub use drill_settings::DrillSettingsRow;
pub use drills::{DrillRecord, DrillSummary};
pub use encryption::EncryptionRow;
pub use jobs::{
    new_job_id, JobKind, JobOutcome, JobRecord, JobState, JobTrigger, INTERRUPTED_MESSAGE,
};
pub use journal::{JournalEntry, JournalWork};
pub use metrics::ProjectMetricsRow;
pub use notify::{ChannelRecord, OutboxRow, RouteRecord};
pub use notify_conditions::ConditionRecord;
pub use orphaned_keys::{OrphanedKey, OrphanedKeySummary};
pub use pitr::{PitrChain, PitrSegment};
pub use pitr_copies::{SegmentCopy, SegmentCopyTarget};
pub use pitr_strays::StrayReport;
pub use projects::{NewProject, Project};
pub use safety::SafetyRow;
pub use schedules::{
    NewSchedule, RetentionRecord, ScheduleKind, SchedulePlan, ScheduleRecord, ScheduleType,
    DEFAULT_SCHEDULE,
};
pub(crate) use sql::db_error;
pub use tenants::{validate_tenant_name, TenantRecord};
pub use tested_sources::{SourceKind, SourceTest};
pub use validate::{validate_db_url, validate_project_name, BACKUP_TYPES, TLS_MODES};
pub use validation_checks::ValidationCheck;

use sql::migrate_error;

/// The catalog's migrations (`crates/core/migrations/*.sql`), embedded at build time.
///
/// Note: `include_str!` makes cargo rebuild when an existing migration changes, but not when a new
/// file is added; touch this file (or `cargo clean -p offsite-core`) after adding a migration.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The catalog's file name inside the data folder.
pub const CATALOG_FILE: &str = "catalog.sqlite3";

/// Environment variable that overrides [`Catalog::default_data_dir`].
pub const DATA_DIR_ENV: &str = "OFFSITE_DATA_DIR";

/// The local catalog. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: SqlitePool,
    /// Where "now" comes from for every time the catalog records.
    clock: SharedClock,
    /// See [`Catalog::notes`].
    notes: std::sync::Arc<Vec<String>>,
}

impl Catalog {
    /// Open (creating if needed) `<data_dir>/catalog.sqlite3` and bring its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Catalog> {
        Self::open_with_clock(data_dir, crate::clock::system()).await
    }

    /// [`Catalog::open`] with the clock that gives every time the catalog records.
    pub async fn open_with_clock(data_dir: &Path, clock: SharedClock) -> Result<Catalog> {
        crate::private_fs::create_dir_all_async(data_dir)
            .await
            .map_err(|e| {
                Error::io(
                    format!("creating the data folder {}", data_dir.display()),
                    e,
                )
                .with_hint(format!(
                    "choose a data folder Offsite can create and write to (set {DATA_DIR_ENV})"
                ))
            })?;
        let file = data_dir.join(CATALOG_FILE);
        let notes = private_catalog(data_dir, &file)?;
        let options = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| db_error(&format!("opening the catalog {}", file.display()), e))?;
        let mut catalog = Self::migrated(pool, clock).await?;
        catalog.notes = std::sync::Arc::new(notes);
        Ok(catalog)
    }

    /// What opening the catalog changed that the user should hear of (the data folder or the
    /// catalog made private, when an older version left them readable by others).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// A private in-memory catalog (for tests): one connection, gone when the last clone drops.
    pub async fn open_in_memory() -> Result<Catalog> {
        Self::open_in_memory_with_clock(crate::clock::system()).await
    }

    /// [`Catalog::open_in_memory`] with the clock that gives every time the catalog records.
    pub async fn open_in_memory_with_clock(clock: SharedClock) -> Result<Catalog> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| db_error("opening an in-memory catalog", e))?;
        Self::migrated(pool, clock).await
    }

    async fn migrated(pool: SqlitePool, clock: SharedClock) -> Result<Catalog> {
        MIGRATOR.run(&pool).await.map_err(migrate_error)?;
        let catalog = Catalog {
            pool,
            clock,
            notes: Default::default(),
        };
        catalog.prune_changes().await?;
        Ok(catalog)
    }

    /// The clock the catalog reads "now" from.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Now, as the catalog stores times.
    pub fn now(&self) -> String {
        format_timestamp(self.clock.now())
    }

    /// Where the catalog lives by default: `$OFFSITE_DATA_DIR` when set, otherwise the platform's
    /// data folder (`~/.local/share/offsite` on Linux, `~/Library/Application
    /// Support/dev.offsite.Offsite` on macOS, `%APPDATA%\offsite\Offsite\data` on Windows).
    pub fn default_data_dir() -> Result<PathBuf> {
        data_dir_from(std::env::var_os(DATA_DIR_ENV))
    }

    /// The shared connection pool, for modules that keep their own tables in the catalog.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The newest schema version applied (the number of the latest migration).
    pub async fn schema_version(&self) -> Result<i64> {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1",
        )
        .fetch_one(&self.pool)
        .await
        .map(|v| v.unwrap_or(0))
        .map_err(|e| db_error("reading the catalog's schema version", e))
    }

    /// Close the pool: waits for connections in use, then checkpoints and releases the file.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The catalog file is created 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm`
/// the database file's mode); a data folder, catalog, `-wal` or `-shm` readable by others (left
/// by an older version, or made under a loose umask) is made private, and said so (logged, and
/// returned as notes for the caller to show).
fn private_catalog(data_dir: &Path, file: &Path) -> Result<Vec<String>> {
    match crate::private_fs::create_new(file) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(
                Error::io(format!("creating the catalog {}", file.display()), e).with_hint(
                    format!(
                        "choose a data folder Offsite can create and write to (set {DATA_DIR_ENV})"
                    ),
                ),
            )
        }
    }
    let mut notes = Vec::new();
    let side = |suffix: &str| {
        let mut s = file.as_os_str().to_os_string();
        s.push(suffix);
        PathBuf::from(s)
    };
    for p in [
        data_dir.to_path_buf(),
        file.to_path_buf(),
        side("-wal"),
        side("-shm"),
    ] {
        match crate::private_fs::tighten(&p) {
            Ok(Some(old)) => {
                let note = format!(
                    "{} was readable by other users ({old}); made it private ({})",
                    p.display(),
                    crate::private_fs::private_words(p.is_dir())
                );
                tracing::warn!(target: "offsite::catalog", "{note}");
                notes.push(note);
            }
            Ok(None) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                let note = format!(
                    "{} is readable by other users and could not be made private: {e}",
                    p.display()
                );
                tracing::warn!(target: "offsite::catalog", "{note}");
                notes.push(note);
            }
        }
    }
    Ok(notes)
}

/// [`Catalog::default_data_dir`] for a given value of `OFFSITE_DATA_DIR`.
fn data_dir_from(env_value: Option<std::ffi::OsString>) -> Result<PathBuf> {
    if let Some(dir) = env_value.filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("dev", "offsite", "Offsite")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                "cannot find a home folder to keep Offsite's catalog in",
            )
            .with_hint(format!(
                "set {DATA_DIR_ENV} to the folder Offsite should use for its data"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use testing::catalog;

    #[tokio::test]
    async fn in_memory_catalog_is_at_the_latest_schema() {
        let c = catalog().await;
        let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap();
        assert_eq!(c.schema_version().await.unwrap(), latest);
        assert!(latest >= 2);
    }

    #[test]
    fn default_data_dir_honours_the_env_override() {
        let dir = data_dir_from(Some("/tmp/offsite-data-test".into())).unwrap();
        assert_eq!(dir, PathBuf::from("/tmp/offsite-data-test"));
        // Unset or empty: the platform's data folder (when there is a home folder).
        for unset in [None, Some(std::ffi::OsString::new())] {
            if let Ok(d) = data_dir_from(unset) {
                assert!(
                    d.to_string_lossy().to_lowercase().contains("offsite"),
                    "{}",
                    d.display()
                );
            }
        }
    }
}
