//! The local catalog (SQLite): projects, their backups (each local copy), jobs and settings.
//!
//! One file, `catalog.sqlite3`, in the data folder ([`Catalog::default_data_dir`]). The schema is
//! versioned by the migrations in `crates/core/migrations/`, embedded into the binary and applied
//! by [`Catalog::open`]. Queries are built at run time (no compile-time checked macros), so
//! building needs no database.
//!
//! Conventions:
//! - ids are UUID v4 strings;
//! - times are RFC 3339 UTC strings in one fixed shape, `2024-05-01T10:00:00.000Z` (see
//!   [`format_timestamp`]), so that they sort as text;
//! - nothing secret is ever stored here: a project's URL is rejected if it carries a password.
//!
//! The pool is cheap to clone and shared; SQLite runs in WAL mode with a 5 s busy timeout, so the
//! desktop app and the command line can use the same catalog at once.

use crate::clock::SharedClock;
use crate::error::{Error, ErrorKind, Result};

mod changes;
pub use changes::{Change, ChangeBatch, ChangeEntity, ChangeOp, KEEP_CHANGES};
use serde::{Deserialize, Serialize};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::format_description::BorrowedFormatItem;
use time::{OffsetDateTime, UtcOffset};
use url::Url;

/// The catalog's migrations (`crates/core/migrations/*.sql`), embedded at build time.
///
/// Note: `include_str!` makes cargo rebuild when an existing migration changes, but not when a new
/// file is added; touch this file (or `cargo clean -p offsite-core`) after adding a migration.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The catalog's file name inside the data folder.
pub const CATALOG_FILE: &str = "catalog.sqlite3";

/// Environment variable that overrides [`Catalog::default_data_dir`].
pub const DATA_DIR_ENV: &str = "OFFSITE_DATA_DIR";

/// The error message of a job that was still running when its process went away.
pub const INTERRUPTED_MESSAGE: &str = "interrupted (Offsite stopped while it ran)";

const INTERRUPTED_HINT: &str =
    "Offsite was closed or crashed while the job ran; nothing it was writing was kept as a backup. Run it again.";

/// The characters a project name may use, as said in error messages.
const NAME_RULE: &str =
    "use 1 to 64 characters from A-Z, a-z, 0-9, underscore (_), hyphen (-) and dot (.), not starting with a dot or hyphen";

/// The TLS modes a project may have (libpq's `sslmode` values Offsite supports).
pub const TLS_MODES: &[&str] = &["disable", "prefer", "require", "verify-full"];

/// The backup types of the archive format.
pub const BACKUP_TYPES: &[&str] = &["full", "database", "storage", "config"];

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// A project to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProject {
    pub name: String,
    /// `postgres://user@host:port/db`: never with a password (those go to the keychain).
    pub db_url: String,
    /// One of [`TLS_MODES`].
    pub tls_mode: String,
    /// Where its backups go; `None` means the app's default folder.
    pub backup_dir: Option<String>,
}

/// A project in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Project {
    pub id: String,
    pub name: String,
    pub db_url: String,
    pub tls_mode: String,
    pub backup_dir: Option<String>,
    pub created_at: String,
}

/// A backup file to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBackup {
    pub project_id: String,
    /// The archive file; stored canonicalized (absolute, symlinks resolved).
    pub path: PathBuf,
    pub size: u64,
    /// SHA-256 of the archive file, 64 hex digits.
    pub sha256: String,
    /// One of [`BACKUP_TYPES`].
    pub backup_type: String,
    /// When the backup was taken (RFC 3339, any offset; stored normalized to UTC).
    pub created_at: String,
    pub manifest_json: Option<String>,
    /// The job that made it, if any.
    pub job_id: Option<String>,
}

/// One local copy of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupRecord {
    pub id: String,
    pub project_id: String,
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub backup_type: String,
    pub created_at: String,
    pub verified_at: Option<String>,
    /// See [`BackupStatus`]: `unverified`, `verified`, `corrupt` or `missing`.
    pub status: String,
    /// Why the last verification failed.
    pub verify_problem: Option<String>,
    pub manifest_json: Option<String>,
    /// The job that made it, if any (and if that job is still in the catalog).
    pub job_id: Option<String>,
}

/// A backup as a list shows it: what a person reads and acts on, without the checksum, the
/// manifest and the links a list never shows (10,000 rows are sent to the window at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupRow {
    pub id: String,
    pub path: String,
    pub size: u64,
    pub backup_type: String,
    pub created_at: String,
    pub verified_at: Option<String>,
    /// See [`BackupStatus`].
    pub status: String,
    pub verify_problem: Option<String>,
}

/// What is known about a backup file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    Unverified,
    Verified,
    Corrupt,
    Missing,
}

impl BackupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::Unverified => "unverified",
            BackupStatus::Verified => "verified",
            BackupStatus::Corrupt => "corrupt",
            BackupStatus::Missing => "missing",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "unverified" => BackupStatus::Unverified,
            "verified" => BackupStatus::Verified,
            "corrupt" => BackupStatus::Corrupt,
            "missing" => BackupStatus::Missing,
            _ => return None,
        })
    }
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Backup,
    Verify,
    Restore,
    Import,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Verify => "verify",
            JobKind::Restore => "restore",
            JobKind::Import => "import",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "backup" => JobKind::Backup,
            "verify" => JobKind::Verify,
            "restore" => JobKind::Restore,
            "import" => JobKind::Import,
            _ => return None,
        })
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Cancelling,
    Cancelled,
    Succeeded,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Cancelling => "cancelling",
            JobState::Cancelled => "cancelled",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => JobState::Running,
            "cancelling" => JobState::Cancelling,
            "cancelled" => JobState::Cancelled,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            _ => return None,
        })
    }
    /// Cancelled, succeeded or failed: the job will not change any more.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Cancelled | JobState::Succeeded | JobState::Failed
        )
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum JobOutcome {
    Succeeded {
        backup_id: Option<String>,
    },
    Failed {
        code: String,
        message: String,
        hint: Option<String>,
    },
    Cancelled,
}

impl JobOutcome {
    /// The outcome for a job that ended with `e`: [`JobOutcome::Cancelled`] for
    /// [`ErrorKind::Cancelled`], otherwise [`JobOutcome::Failed`] with the error's code, message
    /// and hint.
    pub fn from_error(e: &Error) -> Self {
        if e.kind() == ErrorKind::Cancelled {
            return JobOutcome::Cancelled;
        }
        JobOutcome::Failed {
            code: e.code().to_string(),
            message: e.message().to_string(),
            hint: e.hint().map(str::to_string),
        }
    }
}

/// A job in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobRecord {
    pub id: String,
    pub project_id: Option<String>,
    /// See [`JobKind`].
    pub kind: String,
    /// See [`JobState`].
    pub state: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_hint: Option<String>,
    /// The backup a successful backup job made.
    pub backup_id: Option<String>,
    /// What started it: `manual`, `schedule`, `catch_up`, `retry`, `cli` or `retention` (see
    /// `ops::JobTrigger`).
    #[cfg_attr(feature = "specta", specta(optional))]
    pub trigger: String,
}

// Column lists, in the order of the record structs.
macro_rules! project_cols {
    () => {
        "id, name, db_url, tls_mode, backup_dir, created_at"
    };
}
macro_rules! backup_cols {
    () => {
        "id, project_id, path, size, sha256, backup_type, created_at, verified_at, status, \
         verify_problem, manifest_json, job_id"
    };
}
macro_rules! job_cols {
    () => {
        "id, project_id, kind, state, started_at, finished_at, bytes_done, bytes_total, \
         error_code, error_message, error_hint, backup_id, \"trigger\""
    };
}

// ---------------------------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------------------------

/// The local catalog. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: SqlitePool,
    /// Where "now" comes from for every time the catalog records.
    clock: SharedClock,
}

impl Catalog {
    /// Open (creating if needed) `<data_dir>/catalog.sqlite3` and bring its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Catalog> {
        Self::open_with_clock(data_dir, crate::clock::system()).await
    }

    /// [`Catalog::open`] with the clock that gives every time the catalog records.
    pub async fn open_with_clock(data_dir: &Path, clock: SharedClock) -> Result<Catalog> {
        tokio::fs::create_dir_all(data_dir).await.map_err(|e| {
            Error::io(
                format!("creating the data folder {}", data_dir.display()),
                e,
            )
            .with_hint(format!(
                "choose a data folder Offsite can create and write to (set {DATA_DIR_ENV})"
            ))
        })?;
        let file = data_dir.join(CATALOG_FILE);
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
        Self::migrated(pool, clock).await
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
        let catalog = Catalog { pool, clock };
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

    // --- projects -----------------------------------------------------------------------------

    /// Add a project. Its name must be free (ignoring case) and its URL must not hold a password.
    pub async fn add_project(&self, p: &NewProject) -> Result<Project> {
        validate_project_name(&p.name)?;
        let db_url = validate_db_url(&p.db_url)?;
        validate_tls_mode(&p.tls_mode)?;
        let project = Project {
            id: new_id(),
            name: p.name.clone(),
            db_url,
            tls_mode: p.tls_mode.clone(),
            backup_dir: non_empty(p.backup_dir.as_deref()),
            created_at: self.now(),
        };
        sqlx::query(concat!(
            "INSERT INTO projects (",
            project_cols!(),
            ") VALUES (?, ?, ?, ?, ?, ?)"
        ))
        .bind(&project.id)
        .bind(&project.name)
        .bind(&project.db_url)
        .bind(&project.tls_mode)
        .bind(&project.backup_dir)
        .bind(&project.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                name_taken(&p.name)
            } else {
                db_error(&format!("adding project {:?}", p.name), e)
            }
        })?;
        Ok(project)
    }

    /// The project with this name (names match ignoring case).
    pub async fn project(&self, name: &str) -> Result<Project> {
        sqlx::query_as::<_, Project>(concat!(
            "SELECT ",
            project_cols!(),
            " FROM projects WHERE name = ?"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(&format!("reading project {name:?}"), e))?
        .ok_or_else(|| {
            Error::not_found(format!("no project named {:?}", shorten(name)))
                .with_hint("see the projects with `offsite project list`")
        })
    }

    /// The project with this id.
    pub async fn project_by_id(&self, id: &str) -> Result<Project> {
        sqlx::query_as::<_, Project>(concat!(
            "SELECT ",
            project_cols!(),
            " FROM projects WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(&format!("reading project {id}"), e))?
        .ok_or_else(|| {
            Error::not_found(format!("no project with id {id}"))
                .with_hint("see the projects with `offsite project list`")
        })
    }

    /// All projects, by name.
    pub async fn projects(&self) -> Result<Vec<Project>> {
        sqlx::query_as::<_, Project>(concat!(
            "SELECT ",
            project_cols!(),
            " FROM projects ORDER BY name, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("listing projects", e))
    }

    /// Save a project's name, URL, TLS mode and backup folder (found by id; `created_at` is kept).
    ///
    /// Renaming changes [`crate::secrets::project_password_key`]: the caller moves the password.
    pub async fn update_project(&self, p: &Project) -> Result<()> {
        validate_project_name(&p.name)?;
        let db_url = validate_db_url(&p.db_url)?;
        validate_tls_mode(&p.tls_mode)?;
        let done = sqlx::query(
            "UPDATE projects SET name = ?, db_url = ?, tls_mode = ?, backup_dir = ? WHERE id = ?",
        )
        .bind(&p.name)
        .bind(&db_url)
        .bind(&p.tls_mode)
        .bind(non_empty(p.backup_dir.as_deref()))
        .bind(&p.id)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                name_taken(&p.name)
            } else {
                db_error(&format!("saving project {:?}", p.name), e)
            }
        })?;
        if done.rows_affected() == 0 {
            return Err(
                Error::not_found(format!("no project with id {}", p.id)).with_hint(
                    "it may have been removed; see the projects with `offsite project list`",
                ),
            );
        }
        Ok(())
    }

    /// Remove a project with its backup and job rows. Backup files on disk are not touched.
    pub async fn remove_project(&self, name: &str) -> Result<()> {
        let what = || format!("removing project {name:?}");
        let mut tx = self.pool.begin().await.map_err(|e| db_error(&what(), e))?;
        // Writes only, so the transaction takes the write lock at its first statement (a read
        // first could fail with SQLITE_BUSY on upgrade instead of waiting).
        sqlx::query(
            "DELETE FROM backups WHERE project_id IN (SELECT id FROM projects WHERE name = ?)",
        )
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(&what(), e))?;
        sqlx::query(
            "DELETE FROM jobs WHERE project_id IN (SELECT id FROM projects WHERE name = ?)",
        )
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(&what(), e))?;
        let done = sqlx::query("DELETE FROM projects WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(&what(), e))?;
        if done.rows_affected() == 0 {
            // Nothing was deleted; dropping `tx` rolls back.
            return Err(
                Error::not_found(format!("no project named {:?}", shorten(name)))
                    .with_hint("see the projects with `offsite project list`"),
            );
        }
        tx.commit().await.map_err(|e| db_error(&what(), e))
    }

    // --- backups ------------------------------------------------------------------------------

    /// Record a backup file. Its path must not be in the catalog already.
    pub async fn add_backup(&self, b: &NewBackup) -> Result<BackupRecord> {
        let sha256 = validate_sha256(&b.sha256)?;
        if !BACKUP_TYPES.contains(&b.backup_type.as_str()) {
            return Err(Error::invalid(format!(
                "unknown backup type {:?}",
                shorten(&b.backup_type)
            ))
            .with_hint(format!("use one of: {}", BACKUP_TYPES.join(", "))));
        }
        let created_at = format_timestamp(parse_timestamp(&b.created_at)?);
        let size = to_i64(b.size, "backup size")?;
        let path = normalize_path(&b.path).await?;
        let record = BackupRecord {
            id: new_id(),
            project_id: b.project_id.clone(),
            path,
            size: b.size,
            sha256,
            backup_type: b.backup_type.clone(),
            created_at,
            verified_at: None,
            status: BackupStatus::Unverified.as_str().to_string(),
            verify_problem: None,
            manifest_json: b.manifest_json.clone(),
            job_id: b.job_id.clone(),
        };
        sqlx::query(concat!(
            "INSERT INTO backups (",
            backup_cols!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&record.id)
        .bind(&record.project_id)
        .bind(&record.path)
        .bind(size)
        .bind(&record.sha256)
        .bind(&record.backup_type)
        .bind(&record.created_at)
        .bind(&record.verified_at)
        .bind(&record.status)
        .bind(&record.verify_problem)
        .bind(&record.manifest_json)
        .bind(&record.job_id)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::new(
                    ErrorKind::AlreadyExists,
                    format!("the backup file {} is already in the catalog", record.path),
                )
                .with_hint("if the file was replaced, remove the old entry first")
            } else if is_foreign_key_violation(&e) {
                let job = b
                    .job_id
                    .as_deref()
                    .map(|j| format!(" or no job with id {j}"))
                    .unwrap_or_default();
                Error::not_found(format!(
                    "cannot record backup {}: no project with id {}{job}",
                    record.path, b.project_id
                ))
            } else {
                db_error(&format!("recording backup {}", record.path), e)
            }
        })?;
        Ok(record)
    }

    /// A project's backups, newest first.
    pub async fn backups(&self, project_id: &str) -> Result<Vec<BackupRecord>> {
        sqlx::query_as::<_, BackupRecord>(concat!(
            "SELECT ",
            backup_cols!(),
            " FROM backups WHERE project_id = ? ORDER BY created_at DESC, rowid DESC"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("listing backups", e))
    }

    /// A project's backups as a list shows them ([`BackupRow`]), newest first, in the order of
    /// [`Catalog::backups`]. Without manifests (a few KB each) and checksums: 10,000 rows are
    /// read, sent and parsed quickly.
    pub async fn backup_rows(&self, project_id: &str) -> Result<Vec<BackupRow>> {
        sqlx::query_as::<_, BackupRow>(
            "SELECT id, path, size, backup_type, created_at, verified_at, status, verify_problem \
             FROM backups WHERE project_id = ? ORDER BY created_at DESC, rowid DESC",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("listing backups", e))
    }

    /// How many backups a project has, and its newest one (without its manifest).
    pub async fn backup_summary(&self, project_id: &str) -> Result<(u64, Option<BackupRecord>)> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM backups WHERE project_id = ?")
            .bind(project_id)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("counting backups", e))?;
        let newest = sqlx::query_as::<_, BackupRecord>(
            "SELECT id, project_id, path, size, sha256, backup_type, created_at, verified_at, status, \
             verify_problem, NULL AS manifest_json, job_id \
             FROM backups WHERE project_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("reading the newest backup", e))?;
        Ok((u64::try_from(count).unwrap_or(0), newest))
    }

    /// The backup recorded for this file (the path is canonicalized the same way as on insert).
    pub async fn backup_by_path(&self, path: &Path) -> Result<Option<BackupRecord>> {
        let path = normalize_path(path).await?;
        sqlx::query_as::<_, BackupRecord>(concat!(
            "SELECT ",
            backup_cols!(),
            " FROM backups WHERE path = ?"
        ))
        .bind(&path)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(&format!("looking up backup {path}"), e))
    }

    /// The backup with this id.
    pub async fn backup(&self, id: &str) -> Result<BackupRecord> {
        sqlx::query_as::<_, BackupRecord>(concat!(
            "SELECT ",
            backup_cols!(),
            " FROM backups WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error(&format!("reading backup {id}"), e))?
        .ok_or_else(|| backup_not_found(id))
    }

    /// Record a verification: `verified_at` = now, status `verified` (ok) or `corrupt`, and the
    /// problem found (cleared when `None`).
    pub async fn record_verify(
        &self,
        backup_id: &str,
        ok: bool,
        problem: Option<&str>,
    ) -> Result<()> {
        let status = if ok {
            BackupStatus::Verified
        } else {
            BackupStatus::Corrupt
        };
        let done = sqlx::query(
            "UPDATE backups SET verified_at = ?, status = ?, verify_problem = ? WHERE id = ?",
        )
        .bind(self.now())
        .bind(status.as_str())
        .bind(problem)
        .bind(backup_id)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            db_error(
                &format!("recording the verification of backup {backup_id}"),
                e,
            )
        })?;
        if done.rows_affected() == 0 {
            return Err(backup_not_found(backup_id));
        }
        Ok(())
    }

    /// Set a backup's status without verifying (e.g. `missing` when its file is gone, or back to
    /// `unverified` when it reappears). `verified_at` and `verify_problem` are kept.
    pub async fn set_backup_status(&self, backup_id: &str, status: BackupStatus) -> Result<()> {
        let done = sqlx::query("UPDATE backups SET status = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(backup_id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(&format!("updating backup {backup_id}"), e))?;
        if done.rows_affected() == 0 {
            return Err(backup_not_found(backup_id));
        }
        Ok(())
    }

    /// Forget a backup (its file is not touched). Jobs that made it keep running records without
    /// the link.
    pub async fn remove_backup(&self, backup_id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM backups WHERE id = ?")
            .bind(backup_id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(&format!("removing backup {backup_id}"), e))?;
        if done.rows_affected() == 0 {
            return Err(backup_not_found(backup_id));
        }
        Ok(())
    }

    // --- jobs ---------------------------------------------------------------------------------

    /// Record a job that starts now, in state `running`.
    pub async fn start_job(&self, kind: JobKind, project_id: Option<&str>) -> Result<JobRecord> {
        self.start_job_with_id(&new_id(), kind, project_id).await
    }

    /// [`Catalog::start_job`] with an id chosen by the caller (see [`new_job_id`]), so a caller
    /// can hand the id out before the job starts. The id must be new.
    pub async fn start_job_with_id(
        &self,
        id: &str,
        kind: JobKind,
        project_id: Option<&str>,
    ) -> Result<JobRecord> {
        if id.trim().is_empty() || id.len() > 64 {
            return Err(Error::invalid("a job id must be 1 to 64 characters"));
        }
        let job = JobRecord {
            id: id.to_string(),
            project_id: project_id.map(str::to_string),
            kind: kind.as_str().to_string(),
            state: JobState::Running.as_str().to_string(),
            started_at: self.now(),
            finished_at: None,
            bytes_done: 0,
            bytes_total: None,
            error_code: None,
            error_message: None,
            error_hint: None,
            backup_id: None,
            trigger: "manual".to_string(),
        };
        sqlx::query(
            "INSERT INTO jobs (id, project_id, kind, state, started_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&job.id)
        .bind(&job.project_id)
        .bind(&job.kind)
        .bind(&job.state)
        .bind(&job.started_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                Error::not_found(format!(
                    "cannot start a {} job: no project with id {}",
                    job.kind,
                    project_id.unwrap_or("")
                ))
                .with_hint("see the projects with `offsite project list`")
            } else {
                db_error(&format!("starting a {} job", job.kind), e)
            }
        })?;
        Ok(job)
    }

    /// Save a job's progress counters.
    pub async fn update_job_counters(
        &self,
        id: &str,
        bytes_done: u64,
        bytes_total: Option<u64>,
    ) -> Result<()> {
        let done_i = to_i64(bytes_done, "bytes done")?;
        let total_i = bytes_total.map(|t| to_i64(t, "bytes total")).transpose()?;
        let done = sqlx::query("UPDATE jobs SET bytes_done = ?, bytes_total = ? WHERE id = ?")
            .bind(done_i)
            .bind(total_i)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(&format!("updating job {id}"), e))?;
        if done.rows_affected() == 0 {
            return Err(job_not_found(id));
        }
        Ok(())
    }

    /// Mark a running job as being cancelled. Returns false when it had already finished (or was
    /// already cancelling).
    pub async fn set_job_cancelling(&self, id: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE jobs SET state = 'cancelling' WHERE id = ? AND state = 'running'")
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(|e| db_error(&format!("cancelling job {id}"), e))?;
        if done.rows_affected() == 0 {
            self.job(id).await?; // NotFound when it does not exist
            return Ok(false);
        }
        Ok(true)
    }

    /// Record how a job ended: `finished_at` = now and the final state, plus the backup it made or
    /// the error.
    ///
    /// A job can be finished once. The exception is a job that [`Catalog::fail_stale_jobs`]
    /// marked as interrupted while its process was in fact still running (another Offsite process
    /// started meanwhile): the real outcome replaces that guess.
    pub async fn finish_job(&self, id: &str, outcome: JobOutcome) -> Result<()> {
        let (state, backup_id, code, message, hint) = match outcome {
            JobOutcome::Succeeded { backup_id } => {
                (JobState::Succeeded, backup_id, None, None, None)
            }
            JobOutcome::Failed {
                code,
                message,
                hint,
            } => (JobState::Failed, None, Some(code), Some(message), hint),
            JobOutcome::Cancelled => (JobState::Cancelled, None, None, None, None),
        };
        let done = sqlx::query(
            "UPDATE jobs SET state = ?, finished_at = ?, backup_id = COALESCE(?, backup_id), \
             error_code = ?, error_message = ?, error_hint = ? \
             WHERE id = ? AND (state IN ('running', 'cancelling') OR (state = 'failed' AND error_message = ?))",
        )
        .bind(state.as_str())
        .bind(self.now())
        .bind(&backup_id)
        .bind(&code)
        .bind(&message)
        .bind(&hint)
        .bind(id)
        .bind(INTERRUPTED_MESSAGE)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                Error::not_found(format!(
                    "cannot finish job {id}: no backup with id {}",
                    backup_id.as_deref().unwrap_or("")
                ))
            } else {
                db_error(&format!("finishing job {id}"), e)
            }
        })?;
        if done.rows_affected() == 0 {
            let job = self.job(id).await?;
            return Err(Error::internal(format!(
                "job {id} has already finished ({})",
                job.state
            )));
        }
        Ok(())
    }

    /// The job with this id.
    pub async fn job(&self, id: &str) -> Result<JobRecord> {
        sqlx::query_as::<_, JobRecord>(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(&format!("reading job {id}"), e))?
            .ok_or_else(|| job_not_found(id))
    }

    /// The newest `limit` jobs, of one project or (with `None`) of all.
    pub async fn jobs(&self, project_id: Option<&str>, limit: u32) -> Result<Vec<JobRecord>> {
        sqlx::query_as::<_, JobRecord>(concat!(
            "SELECT ",
            job_cols!(),
            " FROM jobs WHERE (? IS NULL OR project_id = ?) \
             ORDER BY started_at DESC, rowid DESC LIMIT ?"
        ))
        .bind(project_id)
        .bind(project_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("listing jobs", e))
    }

    /// After a crash: jobs still `running` become `failed` ("interrupted (Offsite stopped while it
    /// ran)"), jobs still `cancelling` become `cancelled`. Returns how many were changed.
    ///
    /// Call it at start-up, before this process starts jobs of its own. The catalog cannot tell a
    /// job of a crashed process from one another live Offsite process is running; if that process
    /// finishes the job later, its real outcome replaces the "interrupted" one.
    pub async fn fail_stale_jobs(&self) -> Result<u64> {
        let now = self.now();
        let what = "marking interrupted jobs as failed";
        let mut tx = self.pool.begin().await.map_err(|e| db_error(what, e))?;
        let failed = sqlx::query(
            "UPDATE jobs SET state = 'failed', finished_at = ?, error_code = ?, error_message = ?, error_hint = ? \
             WHERE state = 'running'",
        )
        .bind(&now)
        .bind(ErrorKind::Internal.code())
        .bind(INTERRUPTED_MESSAGE)
        .bind(INTERRUPTED_HINT)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(what, e))?;
        let cancelled = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', finished_at = ? WHERE state = 'cancelling'",
        )
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(what, e))?;
        tx.commit().await.map_err(|e| db_error(what, e))?;
        Ok(failed.rows_affected() + cancelled.rows_affected())
    }

    // --- settings -----------------------------------------------------------------------------

    /// A setting's value. Settings are small preferences, never secrets.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(&format!("reading setting {key:?}"), e))
    }

    /// Set a setting (insert or replace).
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        if key.is_empty() {
            return Err(Error::invalid("a setting needs a name"));
        }
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(self.now())
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(&format!("saving setting {key:?}"), e))?;
        Ok(())
    }

    /// Remove a setting (no error when it is not set).
    pub async fn remove_setting(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM settings WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(&format!("removing setting {key:?}"), e))?;
        Ok(())
    }

    // --- job triggers (used by the engine's job runner, ops/runner.rs) ------------------------

    /// Record what started a job (`manual`, `schedule`, `catch_up`, `retry`, `cli`,
    /// `retention`): see [`JobRecord::trigger`].
    pub async fn set_job_trigger(&self, id: &str, trigger: &str) -> Result<()> {
        let done = sqlx::query("UPDATE jobs SET \"trigger\" = ? WHERE id = ?")
            .bind(trigger)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(&format!("recording job {id}'s trigger"), e))?;
        if done.rows_affected() == 0 {
            return Err(job_not_found(id));
        }
        Ok(())
    }
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

// ---------------------------------------------------------------------------------------------
// Times
// ---------------------------------------------------------------------------------------------

const TIMESTAMP_FORMAT: &[BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// `t` in UTC as `2024-05-01T10:00:00.000Z` (RFC 3339, fixed width, so it sorts as text; the
/// same shape as JavaScript's `Date.toISOString()`).
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.format(TIMESTAMP_FORMAT)
        .or_else(|_| t.format(&Rfc3339))
        .unwrap_or_else(|_| t.to_string())
}


/// Parse an RFC 3339 time (any offset).
pub fn parse_timestamp(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|e| {
        Error::invalid(format!("not an RFC 3339 time: {:?} ({e})", shorten(s)))
            .with_hint("write times like 2024-05-01T10:00:00Z")
    })
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// Check a project name: 1–64 characters from `A-Za-z0-9_-.`, not starting with `.` or `-`
/// (names become file names and command-line arguments).
pub fn validate_project_name(name: &str) -> Result<()> {
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if name.is_empty() || name.len() > 64 || !chars_ok || name.starts_with(['.', '-']) {
        return Err(
            Error::invalid(format!("invalid project name {:?}", shorten(name)))
                .with_hint(NAME_RULE),
        );
    }
    Ok(())
}

/// Check a database URL for the catalog: a `postgres://` or `postgresql://` URL without a
/// password. Returns it trimmed. The error never repeats the URL (it may hold a password).
pub fn validate_db_url(db_url: &str) -> Result<String> {
    let hint =
        "write it as postgres://USER@HOST:5432/DATABASE; the password is kept in the OS keychain";
    let trimmed = db_url.trim();
    let url = Url::parse(trimmed).map_err(|e| {
        Error::invalid(format!("the database URL is not a valid URL ({e})")).with_hint(hint)
    })?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(Error::invalid(
            "the database URL must start with postgres:// or postgresql://",
        )
        .with_hint(hint));
    }
    let password_in_query = url
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("password"));
    if url.password().is_some_and(|p| !p.is_empty()) || password_in_query {
        return Err(Error::invalid(
            "the database URL contains a password; Offsite keeps passwords in the OS keychain, never in its catalog",
        )
        .with_hint("remove the password from the URL (postgres://USER@HOST:5432/DATABASE) and give it separately"));
    }
    Ok(trimmed.to_string())
}

fn validate_tls_mode(tls_mode: &str) -> Result<()> {
    if !TLS_MODES.contains(&tls_mode) {
        return Err(
            Error::invalid(format!("unknown TLS mode {:?}", shorten(tls_mode)))
                .with_hint(format!("use one of: {}", TLS_MODES.join(", "))),
        );
    }
    Ok(())
}

fn validate_sha256(sha256: &str) -> Result<String> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(
            Error::invalid(format!("not a SHA-256 checksum: {:?}", shorten(sha256)))
                .with_hint("give the 64 hexadecimal digits of the archive's SHA-256"),
        );
    }
    Ok(sha256.to_ascii_lowercase())
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A fresh job id (what [`Catalog::start_job`] would pick).
pub fn new_job_id() -> String {
    new_id()
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).map(str::to_string)
}

/// At most 80 characters of user input, for error messages.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(80).collect::<String>())
    }
}

fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::invalid(format!("{what} {v} is too large for the catalog")))
}

fn name_taken(name: &str) -> Error {
    Error::new(ErrorKind::AlreadyExists, format!("a project named {name:?} already exists"))
        .with_hint("choose another name (names are compared ignoring case); see the projects with `offsite project list`")
}

fn backup_not_found(id: &str) -> Error {
    Error::not_found(format!("no backup with id {id}"))
        .with_hint("it may have been removed, or its project removed")
}

fn job_not_found(id: &str) -> Error {
    Error::not_found(format!("no job with id {id}"))
        .with_hint("it may have been removed with its project")
}

/// The canonical form of a backup path: absolute with symlinks resolved. For a file that does
/// not exist (any more), its folder is canonicalized when possible and the name appended.
async fn normalize_path(path: &Path) -> Result<String> {
    let canonical = match tokio::fs::canonicalize(path).await {
        Ok(p) => p,
        Err(_) => {
            let abs = std::path::absolute(path)
                .map_err(|e| Error::io(format!("resolving the path {}", path.display()), e))?;
            match (abs.parent(), abs.file_name()) {
                (Some(parent), Some(name)) => match tokio::fs::canonicalize(parent).await {
                    Ok(parent) => parent.join(name),
                    Err(_) => abs.clone(),
                },
                _ => abs.clone(),
            }
        }
    };
    canonical.into_os_string().into_string().map_err(|_| {
        Error::invalid(format!("the path {} is not valid UTF-8", path.display()))
            .with_hint("rename the file or its folders to use only valid Unicode characters")
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

/// A sqlx error as a catalog error, saying what failed (`op`).
pub(crate) fn db_error(op: &str, e: sqlx::Error) -> Error {
    const BUSY_HINT: &str = "another Offsite process (the app or the command line) is using the catalog; try again in a moment";
    match &e {
        sqlx::Error::Database(d) => {
            // SQLite's extended result code; its low byte is the primary code.
            let code = d.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            let msg = format!("{op}: {}", d.message());
            match code & 0xff {
                5 | 6 => Error::new(ErrorKind::Catalog, format!("{op}: the catalog is busy"))
                    .with_hint(BUSY_HINT)
                    .retryable(true),
                13 => Error::new(ErrorKind::DiskFull, format!("{op}: the disk holding the catalog is full"))
                    .with_hint("free some space on the disk that holds Offsite's data folder, then try again"),
                8 | 14 => Error::new(ErrorKind::Catalog, msg).with_hint(format!(
                    "check that Offsite's data folder exists and is writable (or set {DATA_DIR_ENV} to another folder)"
                )),
                11 | 26 => Error::new(ErrorKind::Catalog, msg).with_hint(format!(
                    "the catalog file is damaged or not an Offsite catalog; move {CATALOG_FILE} out of the data folder to start a new one (backup files are not affected)"
                )),
                _ => Error::new(ErrorKind::Catalog, msg),
            }
        }
        sqlx::Error::PoolTimedOut => Error::new(
            ErrorKind::Catalog,
            format!("{op}: timed out waiting for the catalog"),
        )
        .with_hint(BUSY_HINT)
        .retryable(true),
        sqlx::Error::Io(io) if crate::error::is_disk_full(io) => {
            Error::io(op, std::io::Error::from_raw_os_error(28))
        }
        _ => Error::new(ErrorKind::Catalog, format!("{op}: {e}")),
    }
}

fn migrate_error(e: MigrateError) -> Error {
    match e {
        MigrateError::Execute(e) => db_error("updating the catalog's schema", e),
        MigrateError::ExecuteMigration(e, v) => {
            db_error(&format!("updating the catalog's schema to version {v}"), e)
        }
        other => Error::from(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_project(name: &str) -> NewProject {
        NewProject {
            name: name.to_string(),
            db_url: "postgres://postgres@db.example.com:5432/postgres".to_string(),
            tls_mode: "require".to_string(),
            backup_dir: None,
        }
    }

    fn new_backup(project_id: &str, path: &Path, created_at: &str) -> NewBackup {
        NewBackup {
            project_id: project_id.to_string(),
            path: path.to_path_buf(),
            size: 1234,
            sha256: "AB".repeat(32),
            backup_type: "full".to_string(),
            created_at: created_at.to_string(),
            manifest_json: Some(r#"{"format_version":1}"#.to_string()),
            job_id: None,
        }
    }

    async fn catalog() -> Catalog {
        Catalog::open_in_memory().await.unwrap()
    }

    #[tokio::test]
    async fn in_memory_catalog_is_at_the_latest_schema() {
        let c = catalog().await;
        let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap();
        assert_eq!(c.schema_version().await.unwrap(), latest);
        assert!(latest >= 2);
    }

    #[tokio::test]
    async fn add_and_get_project() {
        let c = catalog().await;
        let mut np = new_project("shop_prod-1.eu");
        np.backup_dir = Some("/srv/backups".into());
        let p = c.add_project(&np).await.unwrap();
        assert_eq!(p.name, "shop_prod-1.eu");
        assert_eq!(p.tls_mode, "require");
        assert_eq!(p.backup_dir.as_deref(), Some("/srv/backups"));
        assert!(uuid::Uuid::parse_str(&p.id).is_ok());
        parse_timestamp(&p.created_at).unwrap();
        assert_eq!(c.project("shop_prod-1.eu").await.unwrap(), p);
        assert_eq!(c.project_by_id(&p.id).await.unwrap(), p);
        // Names match ignoring case.
        assert_eq!(c.project("SHOP_PROD-1.EU").await.unwrap().id, p.id);
    }

    #[tokio::test]
    async fn duplicate_project_name_is_already_exists() {
        let c = catalog().await;
        c.add_project(&new_project("shop")).await.unwrap();
        for name in ["shop", "Shop"] {
            let e = c.add_project(&new_project(name)).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{name}: {e}");
            assert!(e.message().contains(name));
            assert!(e.hint().unwrap().contains("another name"));
        }
        assert_eq!(c.projects().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn invalid_project_names_are_rejected() {
        let c = catalog().await;
        let long = "a".repeat(65);
        for name in [
            "",
            "has space",
            "slash/name",
            "ünïcode",
            ".hidden",
            "-flag",
            "semi;colon",
            long.as_str(),
        ] {
            let e = c.add_project(&new_project(name)).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name:?}");
            let hint = e.hint().unwrap();
            assert!(
                hint.contains("A-Z, a-z, 0-9") && hint.contains("1 to 64"),
                "{hint}"
            );
        }
        c.add_project(&new_project(&"a".repeat(64))).await.unwrap();
        c.add_project(&new_project("a")).await.unwrap();
    }

    #[tokio::test]
    async fn urls_with_passwords_are_rejected_without_repeating_them() {
        let c = catalog().await;
        for url in [
            "postgres://user:s3cr3t-pw@db.example.com/postgres",
            "postgresql://user:s3cr3t-pw@db.example.com:6543/postgres?sslmode=require",
            "postgres://user@db.example.com/postgres?password=s3cr3t-pw",
        ] {
            let mut np = new_project("p");
            np.db_url = url.to_string();
            let e = c.add_project(&np).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{url}");
            assert!(e.message().contains("password"), "{e}");
            assert!(!e.message().contains("s3cr3t") && !e.hint().unwrap_or("").contains("s3cr3t"));
        }
        assert!(c.projects().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn bad_urls_and_tls_modes_are_rejected() {
        let c = catalog().await;
        for url in ["not a url", "mysql://user@host/db", "https://example.com"] {
            let mut np = new_project("p");
            np.db_url = url.to_string();
            assert_eq!(
                c.add_project(&np).await.unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{url}"
            );
        }
        let mut np = new_project("p");
        np.tls_mode = "sometimes".into();
        let e = c.add_project(&np).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.hint().unwrap().contains("verify-full"));
        // A URL without a password, with an empty password, or with sslmode, is fine.
        for (i, url) in [
            "postgres://u@h/db",
            "postgres://u:@h/db",
            "postgresql://u@h:6543/db?sslmode=require",
        ]
        .into_iter()
        .enumerate()
        {
            let mut np = new_project(&format!("ok{i}"));
            np.db_url = url.to_string();
            c.add_project(&np).await.unwrap();
        }
    }

    #[tokio::test]
    async fn missing_project_is_not_found_with_hint() {
        let c = catalog().await;
        let e = c.project("nope").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.hint().unwrap().contains("offsite project list"));
        assert_eq!(
            c.project_by_id("nope").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            c.remove_project("nope").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn projects_are_listed_by_name() {
        let c = catalog().await;
        for name in ["zeta", "alpha", "mid"] {
            c.add_project(&new_project(name)).await.unwrap();
        }
        let names: Vec<_> = c
            .projects()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["alpha", "mid", "zeta"]);
    }

    #[tokio::test]
    async fn update_project_saves_changes_and_checks_them() {
        let c = catalog().await;
        let mut p = c.add_project(&new_project("shop")).await.unwrap();
        c.add_project(&new_project("other")).await.unwrap();
        p.name = "shop2".into();
        p.db_url = "postgres://admin@new.example.com:6543/app".into();
        p.tls_mode = "verify-full".into();
        p.backup_dir = Some("/mnt/backups".into());
        c.update_project(&p).await.unwrap();
        assert_eq!(c.project("shop2").await.unwrap(), p);
        assert_eq!(
            c.project("shop").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );

        let mut taken = p.clone();
        taken.name = "other".into();
        assert_eq!(
            c.update_project(&taken).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        let mut with_pw = p.clone();
        with_pw.db_url = "postgres://admin:pw@new.example.com/app".into();
        assert_eq!(
            c.update_project(&with_pw).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let mut bad_name = p.clone();
        bad_name.name = "bad name".into();
        assert_eq!(
            c.update_project(&bad_name).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let mut gone = p.clone();
        gone.id = new_id();
        gone.name = "gone".into();
        assert_eq!(
            c.update_project(&gone).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(c.project("shop2").await.unwrap(), p);
    }

    #[tokio::test]
    async fn remove_project_removes_its_backups_and_jobs_only() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        let a = c.add_project(&new_project("a")).await.unwrap();
        let b = c.add_project(&new_project("b")).await.unwrap();
        let job_a = c.start_job(JobKind::Backup, Some(&a.id)).await.unwrap();
        let mut nb = new_backup(&a.id, &dir.path().join("a.tar.gz"), "2024-05-01T10:00:00Z");
        nb.job_id = Some(job_a.id.clone());
        let backup_a = c.add_backup(&nb).await.unwrap();
        c.finish_job(
            &job_a.id,
            JobOutcome::Succeeded {
                backup_id: Some(backup_a.id.clone()),
            },
        )
        .await
        .unwrap();
        let job_b = c.start_job(JobKind::Verify, Some(&b.id)).await.unwrap();
        c.add_backup(&new_backup(
            &b.id,
            &dir.path().join("b.tar.gz"),
            "2024-05-01T10:00:00Z",
        ))
        .await
        .unwrap();
        let global_job = c.start_job(JobKind::Restore, None).await.unwrap();

        c.remove_project("a").await.unwrap();
        assert_eq!(
            c.project("a").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert!(c.backups(&a.id).await.unwrap().is_empty());
        assert_eq!(
            c.backup(&backup_a.id).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            c.job(&job_a.id).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        // The other project's rows and the project-less job stay.
        assert_eq!(c.backups(&b.id).await.unwrap().len(), 1);
        c.job(&job_b.id).await.unwrap();
        c.job(&global_job.id).await.unwrap();
        assert_eq!(c.jobs(None, 10).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn backups_roundtrip_newest_first() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let older = dir.path().join("shop_20240501_100000_full.tar.gz");
        let newer = dir.path().join("shop_20240502_100000_full.tar.gz");
        std::fs::write(&older, b"x").unwrap();
        // Given with an offset; stored normalized to UTC.
        let b1 = c
            .add_backup(&new_backup(&p.id, &older, "2024-05-01T12:00:00+02:00"))
            .await
            .unwrap();
        let mut nb2 = new_backup(&p.id, &newer, "2024-05-02T10:00:00.5Z");
        nb2.backup_type = "database".into();
        nb2.size = u64::MAX / 2;
        let b2 = c.add_backup(&nb2).await.unwrap();

        assert_eq!(b1.created_at, "2024-05-01T10:00:00.000Z");
        assert_eq!(b2.created_at, "2024-05-02T10:00:00.500Z");
        assert_eq!(b1.sha256, "ab".repeat(32));
        assert_eq!(b1.status, "unverified");
        assert_eq!(b1.verified_at, None);
        assert_eq!(
            b1.path,
            std::fs::canonicalize(&older).unwrap().to_str().unwrap()
        );
        assert_eq!(b2.size, u64::MAX / 2);

        let list = c.backups(&p.id).await.unwrap();
        assert_eq!(list, vec![b2.clone(), b1.clone()]);
        assert_eq!(c.backup(&b1.id).await.unwrap(), b1);
        assert!(c.backups("no-such-project").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn backup_rows_and_summary_match_the_full_records() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        assert_eq!(c.backup_summary(&p.id).await.unwrap(), (0, None));
        for (i, at) in [
            "2024-05-01T10:00:00Z",
            "2024-05-03T10:00:00Z",
            "2024-05-02T10:00:00Z",
        ]
        .into_iter()
        .enumerate()
        {
            let b = new_backup(&p.id, &dir.path().join(format!("{i}.tar.gz")), at);
            c.add_backup(&b).await.unwrap();
        }
        let full = c.backups(&p.id).await.unwrap();
        assert!(full.iter().all(|b| b.manifest_json.is_some()));
        let rows = c.backup_rows(&p.id).await.unwrap();
        let expected: Vec<_> = full
            .iter()
            .map(|b| BackupRow {
                id: b.id.clone(),
                path: b.path.clone(),
                size: b.size,
                backup_type: b.backup_type.clone(),
                created_at: b.created_at.clone(),
                verified_at: b.verified_at.clone(),
                status: b.status.clone(),
                verify_problem: b.verify_problem.clone(),
            })
            .collect();
        assert_eq!(rows, expected);
        let (count, newest) = c.backup_summary(&p.id).await.unwrap();
        assert_eq!(count, 3);
        assert_eq!(
            newest,
            Some(BackupRecord {
                manifest_json: None,
                ..full[0].clone()
            })
        );
        assert!(c.backup_rows("no-such-project").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn backups_with_the_same_time_list_newest_insert_first() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let mut ids = Vec::new();
        for i in 0..3 {
            let b = c
                .add_backup(&new_backup(
                    &p.id,
                    &dir.path().join(format!("{i}.tar.gz")),
                    "2024-05-01T10:00:00Z",
                ))
                .await
                .unwrap();
            ids.push(b.id);
        }
        ids.reverse();
        let listed: Vec<_> = c
            .backups(&p.id)
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(listed, ids);
    }

    #[tokio::test]
    async fn backup_by_path_matches_canonical_paths() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let file = dir.path().join("sub").join("a.tar.gz");
        std::fs::write(&file, b"x").unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let b = c
            .add_backup(&new_backup(&p.id, &file, "2024-05-01T10:00:00Z"))
            .await
            .unwrap();

        let roundabout = dir
            .path()
            .join("sub")
            .join("..")
            .join("sub")
            .join("a.tar.gz");
        assert_eq!(
            c.backup_by_path(&roundabout).await.unwrap(),
            Some(b.clone())
        );
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(dir.path().join("sub"), &link).unwrap();
            assert_eq!(
                c.backup_by_path(&link.join("a.tar.gz")).await.unwrap(),
                Some(b.clone())
            );
        }
        // Still found after the file is gone (its folder is canonicalized instead).
        std::fs::remove_file(&file).unwrap();
        assert_eq!(c.backup_by_path(&file).await.unwrap(), Some(b));
        assert_eq!(
            c.backup_by_path(&dir.path().join("other.tar.gz"))
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn add_backup_checks_its_input() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let path = dir.path().join("a.tar.gz");

        let mut bad = new_backup(&p.id, &path, "2024-05-01T10:00:00Z");
        bad.sha256 = "xyz".into();
        assert_eq!(
            c.add_backup(&bad).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let mut bad = new_backup(&p.id, &path, "2024-05-01T10:00:00Z");
        bad.backup_type = "everything".into();
        let e = c.add_backup(&bad).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e
            .hint()
            .unwrap()
            .contains("full, database, storage, config"));
        let bad = new_backup(&p.id, &path, "yesterday");
        assert_eq!(
            c.add_backup(&bad).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let mut bad = new_backup(&p.id, &path, "2024-05-01T10:00:00Z");
        bad.size = u64::MAX;
        assert_eq!(
            c.add_backup(&bad).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );

        let e = c
            .add_backup(&new_backup(
                "no-such-project",
                &path,
                "2024-05-01T10:00:00Z",
            ))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let mut bad = new_backup(&p.id, &path, "2024-05-01T10:00:00Z");
        bad.job_id = Some("no-such-job".into());
        assert_eq!(
            c.add_backup(&bad).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );

        c.add_backup(&new_backup(&p.id, &path, "2024-05-01T10:00:00Z"))
            .await
            .unwrap();
        let e = c
            .add_backup(&new_backup(&p.id, &path, "2024-05-01T11:00:00Z"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(c.backups(&p.id).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn record_verify_sets_status_time_and_problem() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let b = c
            .add_backup(&new_backup(
                &p.id,
                &dir.path().join("a.tar.gz"),
                "2024-05-01T10:00:00Z",
            ))
            .await
            .unwrap();

        c.record_verify(&b.id, false, Some("database.dump: checksum mismatch"))
            .await
            .unwrap();
        let r = c.backup(&b.id).await.unwrap();
        assert_eq!(r.status, "corrupt");
        assert_eq!(
            r.verify_problem.as_deref(),
            Some("database.dump: checksum mismatch")
        );
        let first = parse_timestamp(r.verified_at.as_deref().unwrap()).unwrap();
        assert!((OffsetDateTime::now_utc() - first).whole_seconds().abs() < 60);

        c.record_verify(&b.id, true, None).await.unwrap();
        let r = c.backup(&b.id).await.unwrap();
        assert_eq!(r.status, "verified");
        assert_eq!(r.verify_problem, None);
        assert!(r.verified_at.is_some());

        let e = c.record_verify("nope", true, None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn backup_status_and_removal() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let b = c
            .add_backup(&new_backup(
                &p.id,
                &dir.path().join("a.tar.gz"),
                "2024-05-01T10:00:00Z",
            ))
            .await
            .unwrap();
        c.set_backup_status(&b.id, BackupStatus::Missing)
            .await
            .unwrap();
        assert_eq!(c.backup(&b.id).await.unwrap().status, "missing");
        assert_eq!(
            c.set_backup_status("nope", BackupStatus::Missing)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            c.backup("nope").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        c.remove_backup(&b.id).await.unwrap();
        assert_eq!(
            c.backup(&b.id).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            c.remove_backup(&b.id).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        for s in [
            BackupStatus::Unverified,
            BackupStatus::Verified,
            BackupStatus::Corrupt,
            BackupStatus::Missing,
        ] {
            assert_eq!(BackupStatus::parse(s.as_str()), Some(s));
        }
    }

    #[tokio::test]
    async fn job_lifecycle_succeeded() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let j = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        assert_eq!(j.state, "running");
        assert_eq!(j.kind, "backup");
        assert_eq!(j.project_id.as_deref(), Some(p.id.as_str()));
        assert_eq!(c.job(&j.id).await.unwrap(), j);

        c.update_job_counters(&j.id, 10, None).await.unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!((r.bytes_done, r.bytes_total), (10, None));
        c.update_job_counters(&j.id, 5_000_000_000, Some(8_000_000_000))
            .await
            .unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!(
            (r.bytes_done, r.bytes_total),
            (5_000_000_000, Some(8_000_000_000))
        );

        let mut nb = new_backup(&p.id, &dir.path().join("a.tar.gz"), "2024-05-01T10:00:00Z");
        nb.job_id = Some(j.id.clone());
        let b = c.add_backup(&nb).await.unwrap();
        assert_eq!(
            c.backup(&b.id).await.unwrap().job_id.as_deref(),
            Some(j.id.as_str())
        );
        c.finish_job(
            &j.id,
            JobOutcome::Succeeded {
                backup_id: Some(b.id.clone()),
            },
        )
        .await
        .unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!(r.state, "succeeded");
        assert_eq!(r.backup_id.as_deref(), Some(b.id.as_str()));
        assert!(r.finished_at.is_some());
        assert_eq!(r.error_code, None);

        // Finishing twice is a bug the caller hears about.
        let e = c
            .finish_job(&j.id, JobOutcome::Cancelled)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert!(e.message().contains("already finished"));
        assert_eq!(c.job(&j.id).await.unwrap().state, "succeeded");
    }

    #[tokio::test]
    async fn job_lifecycle_failed_and_cancelled() {
        let c = catalog().await;
        let j = c.start_job(JobKind::Verify, None).await.unwrap();
        let err = Error::new(ErrorKind::Integrity, "database.dump is truncated")
            .with_hint("take a new backup");
        c.finish_job(&j.id, JobOutcome::from_error(&err))
            .await
            .unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!(r.state, "failed");
        assert_eq!(r.error_code.as_deref(), Some("integrity"));
        assert_eq!(
            r.error_message.as_deref(),
            Some("database.dump is truncated")
        );
        assert_eq!(r.error_hint.as_deref(), Some("take a new backup"));
        assert_eq!(r.backup_id, None);

        let j = c.start_job(JobKind::Restore, None).await.unwrap();
        assert!(c.set_job_cancelling(&j.id).await.unwrap());
        assert!(!c.set_job_cancelling(&j.id).await.unwrap());
        assert_eq!(c.job(&j.id).await.unwrap().state, "cancelling");
        c.finish_job(&j.id, JobOutcome::from_error(&Error::cancelled()))
            .await
            .unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!(r.state, "cancelled");
        assert!(r.finished_at.is_some() && r.error_code.is_none());
        assert!(!c.set_job_cancelling(&j.id).await.unwrap());
    }

    #[tokio::test]
    async fn job_errors() {
        let c = catalog().await;
        let e = c
            .start_job(JobKind::Backup, Some("no-such-project"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert_eq!(c.job("nope").await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(
            c.update_job_counters("nope", 1, None)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            c.finish_job("nope", JobOutcome::Cancelled)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            c.set_job_cancelling("nope").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        let j = c.start_job(JobKind::Backup, None).await.unwrap();
        assert_eq!(
            c.update_job_counters(&j.id, u64::MAX, None)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        let e = c
            .finish_job(
                &j.id,
                JobOutcome::Succeeded {
                    backup_id: Some("no-such-backup".into()),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(c.job(&j.id).await.unwrap().state, "running");
    }

    #[tokio::test]
    async fn jobs_are_listed_newest_first_with_filter_and_limit() {
        let c = catalog().await;
        let a = c.add_project(&new_project("a")).await.unwrap();
        let b = c.add_project(&new_project("b")).await.unwrap();
        let mut all = Vec::new();
        for i in 0..5 {
            let pid = if i % 2 == 0 {
                Some(a.id.as_str())
            } else {
                Some(b.id.as_str())
            };
            all.push(c.start_job(JobKind::Backup, pid).await.unwrap().id);
        }
        all.push(c.start_job(JobKind::Verify, None).await.unwrap().id);
        all.reverse();
        let ids = |v: Vec<JobRecord>| v.into_iter().map(|j| j.id).collect::<Vec<_>>();
        assert_eq!(ids(c.jobs(None, 100).await.unwrap()), all);
        assert_eq!(ids(c.jobs(None, 2).await.unwrap()), all[..2]);
        let of_a = ids(c.jobs(Some(&a.id), 100).await.unwrap());
        assert_eq!(of_a, vec![all[1].clone(), all[3].clone(), all[5].clone()]);
        assert!(c.jobs(Some("nope"), 10).await.unwrap().is_empty());
        assert!(c.jobs(None, 0).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn fail_stale_jobs_fails_running_and_cancels_cancelling() {
        let c = catalog().await;
        let running = c.start_job(JobKind::Backup, None).await.unwrap();
        let cancelling = c.start_job(JobKind::Restore, None).await.unwrap();
        c.set_job_cancelling(&cancelling.id).await.unwrap();
        let done = c.start_job(JobKind::Verify, None).await.unwrap();
        c.finish_job(&done.id, JobOutcome::Succeeded { backup_id: None })
            .await
            .unwrap();

        assert_eq!(c.fail_stale_jobs().await.unwrap(), 2);
        let r = c.job(&running.id).await.unwrap();
        assert_eq!(r.state, "failed");
        assert_eq!(r.error_message.as_deref(), Some(INTERRUPTED_MESSAGE));
        assert_eq!(r.error_code.as_deref(), Some("internal"));
        assert!(r.error_hint.is_some() && r.finished_at.is_some());
        let r = c.job(&cancelling.id).await.unwrap();
        assert_eq!(r.state, "cancelled");
        assert!(r.finished_at.is_some());
        assert_eq!(c.job(&done.id).await.unwrap().state, "succeeded");
        assert_eq!(c.fail_stale_jobs().await.unwrap(), 0);

        // The process that really ran it may still report the real outcome.
        c.finish_job(&running.id, JobOutcome::Succeeded { backup_id: None })
            .await
            .unwrap();
        let r = c.job(&running.id).await.unwrap();
        assert_eq!(r.state, "succeeded");
        assert_eq!(r.error_message, None);
    }

    #[tokio::test]
    async fn settings_roundtrip() {
        let c = catalog().await;
        assert_eq!(c.setting("theme").await.unwrap(), None);
        c.set_setting("theme", "dark").await.unwrap();
        c.set_setting("theme", "light").await.unwrap();
        assert_eq!(c.setting("theme").await.unwrap().as_deref(), Some("light"));
        c.remove_setting("theme").await.unwrap();
        c.remove_setting("theme").await.unwrap();
        assert_eq!(c.setting("theme").await.unwrap(), None);
        assert_eq!(
            c.set_setting("", "x").await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn timestamps_are_fixed_width_utc() {
        let t = parse_timestamp("2024-05-01T12:34:56.789123+02:00").unwrap();
        assert_eq!(format_timestamp(t), "2024-05-01T10:34:56.789Z");
        let now = format_timestamp(OffsetDateTime::now_utc());
        assert_eq!(now.len(), "2024-05-01T10:34:56.789Z".len());
        assert!(now.ends_with('Z'));
        parse_timestamp(&now).unwrap();
        assert_eq!(
            parse_timestamp("nope").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn enums_roundtrip_their_strings() {
        for k in [
            JobKind::Backup,
            JobKind::Verify,
            JobKind::Restore,
            JobKind::Import,
        ] {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
        for s in [
            JobState::Running,
            JobState::Cancelling,
            JobState::Cancelled,
            JobState::Succeeded,
            JobState::Failed,
        ] {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
            assert_eq!(
                s.is_finished(),
                !matches!(s, JobState::Running | JobState::Cancelling)
            );
        }
        assert_eq!(JobKind::parse("x"), None);
        assert_eq!(
            serde_json::to_value(JobOutcome::Cancelled).unwrap(),
            serde_json::json!({"outcome": "cancelled"})
        );
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

    #[tokio::test]
    async fn sqlx_errors_become_catalog_errors_saying_what_failed() {
        let c = catalog().await;
        let e = sqlx::query("SELECT * FROM no_such_table")
            .execute(c.pool())
            .await
            .unwrap_err();
        let e = db_error("listing things", e);
        assert_eq!(e.kind(), ErrorKind::Catalog);
        assert!(e.message().starts_with("listing things: "), "{e}");
        assert!(e.message().contains("no_such_table"));
    }
}
