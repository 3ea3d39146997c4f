//! The backup job: a project's database into a new archive in its backup folder, registered in
//! the catalog (or, on any failure, nothing left behind).

use crate::archive;
use crate::archive::BackupType;
use crate::backup::{self as pg_backup, ComposeRequest, ConfigInput, DatabaseInput, StorageInput};
use crate::catalog::{BackupOrigin, BackupRecord, JobKind, NewBackup, Project, SourceKind};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::job::{JobStart, JobTrigger};
use crate::ops::runner;
use crate::sources::{DatabaseSource, PostgresSource};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// What to back up, and how. Only `project` is required.
#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    /// The project's name.
    pub project: String,
    /// Folder for the archive (default: the project's backup folder).
    pub dest: Option<PathBuf>,
    /// A gzip level 0–9: asks for a gzip archive at that level (`None`: see `compression`).
    pub compression_level: Option<u32>,
    /// gzip or zstd and its level; wins over `compression_level`. `None`: gzip at
    /// `compression_level` when that is given, else the catalog's default
    /// ([`COMPRESSION_SETTING`], see [`default_compression`]), else zstd at
    /// [`archive::compression::DEFAULT_ZSTD_LEVEL`].
    pub compression: Option<archive::Compression>,
    /// The archive's type. `None`: from the components given (the database alone when there
    /// are no others: `database`; with storage and/or config: `full`). `storage`, `config` and
    /// `incremental` leave the database out.
    pub backup_type: Option<BackupType>,
    /// The storage component (buckets to pull), when the project has one.
    pub storage: Option<StorageInput>,
    /// The configuration component (files already fetched and redacted).
    pub config: Option<ConfigInput>,
    /// Encrypt the archive so (the agent: to the recipients the laptop sent), instead of the
    /// project's own encryption settings.
    pub encryption: Option<crate::crypto::Encryption>,
    /// pg_dump's workers (`--jobs`; `None`: the default, see
    /// [`crate::postgres::dump_workers::PARALLEL_BY_DEFAULT`]), capped by the server's free connections.
    /// 2 or more: a parallel directory dump (archive format 2).
    pub jobs: Option<u32>,
    /// What this backup's database part holds (a selective backup, for this run). `None`: the
    /// project's selection (`project set-selection`), else the whole database.
    pub selection: Option<crate::selection::BackupSelection>,
    /// A note kept with the backup and shown beside it (`offsite backup P --note TEXT`).
    pub note: Option<String>,
    /// The schedule making it (a scheduled run): recorded with the backup, and its copies go
    /// only to the schedule's destinations.
    pub schedule: Option<ScheduledBy>,
}

/// The schedule a backup is made by, and where its copies go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledBy {
    /// The schedule's name.
    pub name: String,
    /// Destination ids its copies go to (`None`: every destination of the project).
    pub copy_to: Option<Vec<String>>,
}

impl BackupOptions {
    /// The archive type and whether the database is part of it.
    fn kind(&self) -> (BackupType, bool) {
        let incremental = self.storage.as_ref().is_some_and(|s| s.options.incremental);
        match self.backup_type {
            Some(t) => (t, matches!(t, BackupType::Full | BackupType::Database)),
            None if incremental => (BackupType::Incremental, false),
            None if self.storage.is_some() || self.config.is_some() => (BackupType::Full, true),
            None => (BackupType::Database, true),
        }
    }
}

impl BackupOptions {
    /// A backup of `project` with the defaults.
    pub fn project(project: impl Into<String>) -> Self {
        BackupOptions {
            project: project.into(),
            ..Default::default()
        }
    }
}

/// The project's database, as the backup job reaches it.
pub(crate) async fn database_of(
    engine: &Engine,
    project: &Project,
) -> Result<Arc<dyn DatabaseSource>> {
    database_with_jobs(engine, project, None).await
}

/// The project's database, dumped with `jobs` pg_dump workers (`None`: the default).
pub(crate) async fn database_with_jobs(
    engine: &Engine,
    project: &Project,
    jobs: Option<u32>,
) -> Result<Arc<dyn DatabaseSource>> {
    database_with_selection(engine, project, jobs, Default::default()).await
}

/// The project's database, dumped with `jobs` workers and holding `selection` only.
pub(crate) async fn database_with_selection(
    engine: &Engine,
    project: &Project,
    jobs: Option<u32>,
    selection: crate::selection::BackupSelection,
) -> Result<Arc<dyn DatabaseSource>> {
    Ok(Arc::new(
        PostgresSource::new(
            engine.spec_of(project)?,
            engine.password_of(project).await?,
            engine.pg_bin(),
        )
        .with_jobs(jobs)
        .with_selection(selection),
    ))
}

/// What a backup of `project` holds: the run's own selection, else the project's, else
/// everything. Checked again before pg_dump sees it.
pub(crate) async fn selection_for(
    engine: &Engine,
    project: &Project,
    given: Option<crate::selection::BackupSelection>,
) -> Result<crate::selection::BackupSelection> {
    let selection = match given {
        Some(s) => s,
        None => engine
            .catalog
            .components(&project.id)
            .await?
            .selection
            .unwrap_or_default(),
    };
    selection.validate()?;
    Ok(selection)
}

/// Catalog setting: the compression of backups that do not name one (`gzip:3`, `zstd:3`, ...;
/// absent: [`archive::Compression::default`], zstd at
/// [`archive::compression::DEFAULT_ZSTD_LEVEL`]).
pub const COMPRESSION_SETTING: &str = "compression";

/// The compression of backups that do not name one: the catalog's [`COMPRESSION_SETTING`], else
/// zstd ([`archive::Compression::default`]). A saved value that no longer parses is an error naming the setting.
pub async fn default_compression(engine: &Engine) -> Result<archive::Compression> {
    match engine.catalog.setting(COMPRESSION_SETTING).await? {
        None => Ok(archive::Compression::default()),
        Some(v) => v.parse().map_err(|e: Error| {
            Error::invalid(format!(
                "the saved default compression {v:?} is not valid: {e}"
            ))
            .with_hint("set it again with `offsite settings --compression gzip|zstd[:LEVEL]`")
        }),
    }
}

/// Saves the compression of backups that do not name one (`None`: back to the built-in default,
/// zstd).
pub async fn set_default_compression(
    engine: &Engine,
    compression: Option<archive::Compression>,
) -> Result<()> {
    match compression {
        Some(c) => {
            c.check()?;
            engine
                .catalog
                .set_setting(COMPRESSION_SETTING, &c.to_string())
                .await
        }
        None => engine.catalog.remove_setting(COMPRESSION_SETTING).await,
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupOutcome {
    pub job_id: String,
    pub backup: BackupRecord,
    /// Its copies to the project's destinations: stored, or pending (to be tried again; the
    /// backup succeeded either way).
    pub copies: Vec<super::copy_out::CopyResult>,
    /// Why the canary finds it suspicious, compared with the previous good backup of its type
    /// (`public.orders: 120,431 → 12 rows`); empty: it does not.
    pub suspicious: Vec<String>,
}

pub(crate) async fn run(
    engine: &Engine,
    opts: BackupOptions,
    start: JobStart,
) -> Result<BackupOutcome> {
    let compression_level = opts
        .compression_level
        .unwrap_or(pg_backup::DEFAULT_COMPRESSION_LEVEL);
    if compression_level > 9 {
        return Err(Error::invalid(format!(
            "compression level {compression_level} is out of range"
        ))
        .with_hint("use 0 (none) to 9 (smallest, slowest)"));
    }
    let compression = match (opts.compression, opts.compression_level) {
        (Some(c), _) => c,
        (None, Some(level)) => archive::Compression::Gzip(level),
        (None, None) => default_compression(engine).await?,
    };
    compression.check()?;
    let note = opts
        .note
        .as_deref()
        .map(crate::catalog::clean_note)
        .transpose()?
        .flatten();
    // Who started it: the OS user, for a backup started by hand (a schedule's has none).
    let started_by = matches!(start.trigger, JobTrigger::Manual | JobTrigger::Cli)
        .then(os_user)
        .flatten();
    let project = &engine.catalog.project(&opts.project).await?;
    let scheduled = &opts.schedule.clone();
    let (job_id, (backup, copies, suspicious)) = runner::run(
        engine,
        JobKind::Backup,
        Some(project),
        start,
        |(b, _, _): &(BackupRecord, Vec<super::copy_out::CopyResult>, Vec<String>)| {
            Some(b.id.clone())
        },
        |job| async move {
            // Encryption that is on but not confirmed refuses before anything runs.
            let mut opts = opts;
            let encryption = match opts.encryption.take() {
                Some(e) => Some(e),
                None => super::encryption::for_backup(engine, project).await?,
            };
            super::backup_inputs::fill(
                engine,
                project,
                &mut opts,
                encryption.is_some(),
                &job.reporter,
                &job.cancel,
            )
            .await?;
            let (backup_type, with_database) = opts.kind();
            // The sources this backup reads (each a passed test when it succeeds).
            let read = [
                (SourceKind::Database, with_database),
                (SourceKind::Storage, opts.storage.is_some()),
                (SourceKind::Supabase, opts.config.is_some()),
            ];
            let database = if with_database {
                let selection = selection_for(engine, project, opts.selection.take()).await?;
                Some(DatabaseInput {
                    source: database_with_selection(engine, project, opts.jobs, selection).await?,
                })
            } else {
                None
            };
            let dest_dir = opts.dest.unwrap_or_else(|| engine.backup_dir_of(project));
            sweep_leftovers(&dest_dir).await;
            let request = ComposeRequest {
                project: project.name.clone(),
                dest_dir,
                compression,
                backup_id: uuid::Uuid::new_v4().to_string(),
                created_at: engine.clock.now(),
                backup_type,
                database,
                storage: opts.storage,
                config: opts.config,
            };
            let written =
                pg_backup::compose_encrypted(request, encryption, &job.reporter, &job.cancel)
                    .await
                    .map_err(|e| engine.password_hint(&project.name, e));
            note_sources(engine, project, &read, &written).await;
            let mut written = written?;
            // Read back before it is registered: a new backup is verified as the verify job
            // would (the one rule for "verified"), or it is not kept.
            let checked = match read_back(engine, project, &written.path, &job).await {
                Ok(checked) => checked,
                Err(e) => {
                    let _ = std::fs::remove_file(&written.path);
                    let _ = std::fs::remove_file(archive::sidecar_path(&written.path));
                    return Err(e);
                }
            };
            let new = NewBackup {
                project_id: project.id.clone(),
                path: written.path.clone(),
                size: written.size,
                sha256: written.sha256.clone(),
                backup_type: written.manifest.backup_type,
                created_at: written.manifest.created_at.clone(),
                manifest_json: written.manifest.catalog_json(),
                job_id: Some(job.id.clone()),
                origin: BackupOrigin::Local,
            };
            match engine.catalog.add_backup(&new).await {
                Ok(mut record) => {
                    if checked {
                        engine.catalog.record_verify(&record.id, true, None).await?;
                        record = engine.catalog.backup(&record.id).await?;
                    }
                    if note.is_some() || started_by.is_some() {
                        engine
                            .catalog
                            .set_backup_label(&record.id, note.as_deref(), started_by.as_deref())
                            .await?;
                    }
                    if let Some(by) = scheduled {
                        engine
                            .catalog
                            .set_backup_schedule(&record.id, &by.name, by.copy_to.as_deref())
                            .await?;
                    }
                    let suspicious = super::canary::after_register(engine, project, &record).await;
                    // A copy that fails is pending, never a failed backup.
                    let only = scheduled.as_ref().and_then(|s| s.copy_to.as_deref());
                    let copies =
                        super::copy_out::after_backup(engine, project, &record, only, &job)
                            .await
                            .unwrap_or_else(|e| {
                                tracing::warn!(project = %project.name, "copies not started: {e}");
                                Vec::new()
                            });
                    Ok((record, copies, suspicious))
                }
                Err(e) => {
                    // Not registered → not kept: a backup the catalog doesn't know is a stray file.
                    let _ = std::fs::remove_file(&written.path);
                    let _ = std::fs::remove_file(archive::sidecar_path(&written.path));
                    Err(e)
                }
            }
        },
    )
    .await?;
    Ok(BackupOutcome {
        job_id,
        backup,
        copies,
        suspicious,
    })
}

/// The OS user running this process (none when it cannot be told).
pub(crate) fn os_user() -> Option<String> {
    whoami::fallible::username()
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// Verify the archive just written (every member read back against the manifest, the sidecar,
/// the structure to the last byte), with the project's keys when it is encrypted. `Ok(true)`:
/// verified; `Ok(false)`: only the ciphertext could be checked (no key here to open it), so it
/// stays unverified; damage: the `integrity` error (the caller removes the files).
async fn read_back(
    engine: &Engine,
    project: &Project,
    path: &std::path::Path,
    job: &runner::RunningJob,
) -> Result<bool> {
    let keys = if archive::is_encrypted_file(path)? {
        super::encryption::keys_of(engine, &project.name).unwrap_or_default()
    } else {
        Vec::new()
    };
    let t = std::time::Instant::now();
    let report = super::verify::verify_file_with(path, &keys, &job.reporter, &job.cancel).await?;
    // What the read-back costs (issue 67: offsite-bench prints it as a share of the backup).
    tracing::info!(
        read_back_secs = t.elapsed().as_secs_f64(),
        "new archive read back before it is registered"
    );
    if let Some(e) = report.damage() {
        return Err(e.with_hint(
            "the archive was damaged as it was written (a failing disk or memory?): nothing was kept; check the backup folder's disk and back up again",
        ));
    }
    Ok(report.contents_not_checked.is_none())
}

/// Record what a backup that read `read` (source, whether it read it) says about their
/// connections: each a passed test when it succeeded; a refused or unreachable source fails the
/// test only when the backup read the database alone (otherwise which source refused is not
/// known).
async fn note_sources<T>(
    engine: &Engine,
    project: &Project,
    read: &[(SourceKind, bool)],
    r: &Result<T>,
) {
    use super::tested_sources::{note, Tried};
    let used: Vec<SourceKind> = read.iter().filter(|(_, r)| *r).map(|(s, _)| *s).collect();
    if r.is_ok() || used == [SourceKind::Database] {
        for s in used {
            note(engine, &project.id, s, Tried::ByJob, r).await;
        }
    }
}

/// What a killed backup or restore left, removed before this backup starts: the temporary
/// files of the backup folder (when no writer is at work there, see [`crate::tempfiles`]) and
/// the restore folders of processes that are gone. A failure only goes to the log.
async fn sweep_leftovers(dest_dir: &std::path::Path) {
    let dir = dest_dir.to_path_buf();
    let swept = tokio::task::spawn_blocking(move || {
        let mut removed = crate::postgres::restore::tmp::sweep_system_temp();
        match crate::tempfiles::sweep(&dir) {
            Ok(r) => removed.extend(r),
            Err(e) => tracing::warn!("sweeping {}: {e}", dir.display()),
        }
        removed
    })
    .await;
    if let Ok(removed) = swept {
        for p in removed {
            tracing::info!("removed a killed run's leftover {}", p.display());
        }
    }
}
