//! The engine's front door: what the CLI and the desktop shell call.
//!
//! It ties the catalog, the secret store, the project locks and the jobs together: every backup,
//! verify and restore is a job with an id and a row in the catalog, holds its project's lock
//! while it runs, reports progress through one [`Progress`] sink, and ends succeeded, failed
//! (with the error's code, message and hint) or cancelled.

use crate::archive::{self, manifest::Manifest, VerifyReport};
use crate::backup::{self, BackupOptions, BackupSource};
pub use crate::catalog::new_job_id;
use crate::catalog::{
    BackupRecord, Catalog, ChangeBatch, JobKind, JobOutcome, JobRecord, NewBackup, NewProject, Project,
};
use crate::error::{Error, ErrorKind, Result};
use crate::import::{self, ImportInto, ImportKind, ImportPreview, Inspected};
use crate::pgtools::{self, PgTools};
use crate::progress::{Phase, Progress, Reporter};
use crate::project::{server_info, unreadable_objects, ConnSpec, TlsMode};
use crate::restore::{self, RestoreOptions, RestorePlan, RestoreReport, RestoreTarget};
use crate::secrets::{project_password_key, SecretStore};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_util::sync::CancellationToken;

/// How to open the engine.
pub struct EngineConfig {
    /// The data folder (catalog, default backup folder, locks). `None`: the platform default.
    pub data_dir: Option<PathBuf>,
    pub secrets: Arc<dyn SecretStore>,
    /// Where pg_dump/pg_restore are (replaces the search).
    pub pg_bin: Option<PathBuf>,
}

#[derive(Clone)]
pub struct Engine {
    catalog: Catalog,
    secrets: Arc<dyn SecretStore>,
    data_dir: PathBuf,
    /// From the configuration (`--pg-bin`, `OFFSITE_PG_BIN`): wins over the saved setting.
    pg_bin_configured: Option<PathBuf>,
    /// The saved settings (shared by every clone of this engine).
    settings: Arc<RwLock<EngineSettings>>,
}

/// Catalog setting: the folder holding pg_dump/pg_restore (absent: search).
pub const PG_BIN_SETTING: &str = "pg_bin";
/// Catalog setting: the folder for backups of projects without a folder of their own.
pub const BACKUP_DIR_SETTING: &str = "default_backup_dir";

/// The engine's settings, saved in the catalog (the app and the command line share them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EngineSettings {
    /// Backups of a project without its own folder go to `<this>/<project>`; `None`:
    /// `<data folder>/backups/<project>`.
    pub default_backup_dir: Option<String>,
    /// The folder of pg_dump/pg_restore; `None`: search PATH and the usual install locations.
    pub pg_bin: Option<String>,
}

/// pg_dump/pg_restore pairs found on this machine.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ToolsReport {
    /// The folder in use when one is configured (setting, `--pg-bin` or `OFFSITE_PG_BIN`).
    pub configured: Option<String>,
    /// Whether `configured` comes from the command line or environment (the setting is then
    /// ignored).
    pub configured_outside: bool,
    /// Every pair found (the configured folder first), with its version.
    pub found: Vec<pgtools::PgTools>,
}

/// What deleting a backup did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeleteOutcome {
    /// The archive's path.
    pub path: String,
    /// Whether the archive file (and its `.sha256`) was deleted; false when only the catalog
    /// entry was removed (asked for, or the file was already gone).
    pub file_deleted: bool,
}

/// A project to add.
#[derive(Debug, Clone, Default)]
pub struct AddProject {
    pub name: String,
    /// `postgres://user[:password]@host:port/db[?sslmode=…]`; a password in it is moved to the
    /// secret store and stripped.
    pub db_url: String,
    /// A password given separately (wins over one in the URL).
    pub password: Option<String>,
    /// Overrides the URL's sslmode.
    pub tls: Option<TlsMode>,
    pub backup_dir: Option<PathBuf>,
}

/// Changes to a project; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UpdateProject {
    pub name: Option<String>,
    pub db_url: Option<String>,
    pub password: Option<String>,
    pub tls: Option<TlsMode>,
    pub backup_dir: Option<PathBuf>,
}

/// What "test connection" found.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConnectionReport {
    pub server_version: String,
    pub database_size: u64,
    pub user: String,
    pub superuser: bool,
    /// Objects the role cannot read (a dump would fail on them).
    pub unreadable: Vec<String>,
    pub can_dump: bool,
    /// The pg_dump that would be used.
    pub pg_dump: Option<PgTools>,
    /// Why no pg_dump fits, and what to install.
    pub pg_dump_problem: Option<String>,
}

/// Options of one backup.
#[derive(Debug, Clone, Default)]
pub struct BackupParams {
    /// Folder for the archive (default: the project's backup folder).
    pub dest: Option<PathBuf>,
    /// gzip level 0–9 (default: [`backup::DEFAULT_COMPRESSION_LEVEL`]).
    pub compression_level: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupOutcome {
    pub job_id: String,
    pub backup: BackupRecord,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VerifyOutcome {
    pub job_id: String,
    /// The catalog's backup, when the archive is registered.
    pub backup_id: Option<String>,
    pub report: VerifyReport,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportOutcome {
    pub job_id: String,
    /// The project the backup now belongs to.
    pub project: Project,
    /// Whether the import created that project.
    pub created_project: bool,
    pub backup: BackupRecord,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RestoreOutcome {
    pub job_id: String,
    pub report: RestoreReport,
}

impl Engine {
    pub async fn open(config: EngineConfig) -> Result<Engine> {
        let data_dir = match config.data_dir {
            Some(d) => d,
            None => Catalog::default_data_dir()?,
        };
        let catalog = Catalog::open(&data_dir).await?;
        let settings = EngineSettings {
            default_backup_dir: catalog.setting(BACKUP_DIR_SETTING).await?,
            pg_bin: catalog.setting(PG_BIN_SETTING).await?,
        };
        let engine = Engine {
            catalog,
            secrets: config.secrets,
            data_dir,
            pg_bin_configured: config.pg_bin,
            settings: Arc::new(RwLock::new(settings)),
        };
        engine.fail_interrupted_jobs().await?;
        Ok(engine)
    }

    /// Jobs the catalog shows running whose process is gone (crash, power loss) become failed.
    /// A job's process holds `locks/job-<id>.lock` while it runs, so a job of another live
    /// Offsite process (the app and the CLI at once) is left alone.
    async fn fail_interrupted_jobs(&self) -> Result<()> {
        for job in self.catalog.jobs(None, 10_000).await? {
            if !matches!(job.state.as_str(), "running" | "cancelling") {
                continue;
            }
            let path = self.lock_path(&format!("job-{}.lock", job.id))?;
            if let Some(lock) = try_lock(&path)? {
                let e = Error::new(
                    ErrorKind::Interrupted,
                    "interrupted: Offsite stopped while the job ran",
                )
                .with_hint("run it again; nothing it was writing was kept");
                self.catalog
                    .finish_job(&job.id, JobOutcome::from_error(&e))
                    .await?;
                drop(lock);
                let _ = std::fs::remove_file(&path);
            }
        }
        Ok(())
    }

    /// Register a job and hold its liveness lock until the returned guard drops.
    async fn start_job(
        &self,
        job_id: &str,
        kind: JobKind,
        project_id: Option<&str>,
    ) -> Result<(JobRecord, JobLock)> {
        let job = self
            .catalog
            .start_job_with_id(job_id, kind, project_id)
            .await?;
        let path = self.lock_path(&format!("job-{}.lock", job.id))?;
        match try_lock(&path) {
            Ok(Some(file)) => Ok((job, JobLock { _file: file, path })),
            Ok(None) => Err(Error::internal("a new job's lock is already held")),
            Err(e) => {
                let _ = self
                    .catalog
                    .finish_job(&job.id, JobOutcome::from_error(&e))
                    .await;
                Err(e)
            }
        }
    }

    fn lock_path(&self, name: &str) -> Result<PathBuf> {
        let dir = self.data_dir.join("locks");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        Ok(dir.join(name))
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    pub fn secrets(&self) -> &dyn SecretStore {
        self.secrets.as_ref()
    }
    /// The folder of pg_dump/pg_restore in use, if one is configured (`--pg-bin` /
    /// `OFFSITE_PG_BIN`, else the saved setting).
    pub fn pg_bin(&self) -> Option<PathBuf> {
        self.pg_bin_configured
            .clone()
            .or_else(|| self.read_settings().pg_bin.map(PathBuf::from))
    }

    fn read_settings(&self) -> EngineSettings {
        match self.settings.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The saved settings.
    pub fn settings(&self) -> EngineSettings {
        self.read_settings()
    }

    /// Check and save the settings; returns them as saved. A backup folder must be an absolute
    /// path that can be created and written; a pg_bin folder must hold pg_dump and pg_restore
    /// that run. Nothing is saved when either is wrong.
    pub async fn set_settings(&self, new: EngineSettings) -> Result<EngineSettings> {
        let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let new = EngineSettings {
            default_backup_dir: clean(new.default_backup_dir),
            pg_bin: clean(new.pg_bin),
        };
        if let Some(dir) = &new.default_backup_dir {
            let dir = PathBuf::from(dir);
            tokio::task::spawn_blocking(move || check_writable_dir(&dir))
                .await
                .map_err(|e| Error::internal(format!("checking the folder failed: {e}")))??;
        }
        if let Some(bin) = &new.pg_bin {
            let bin = PathBuf::from(bin);
            if !bin.is_absolute() {
                return Err(Error::invalid(format!(
                    "the pg_dump folder must be an absolute path, not {}",
                    bin.display()
                ))
                .with_hint("choose the folder that holds pg_dump and pg_restore"));
            }
            let found = tokio::task::spawn_blocking({
                let bin = bin.clone();
                move || pgtools::discover(Some(&bin))
            })
            .await
            .map_err(|e| Error::internal(format!("looking for pg_dump failed: {e}")))?;
            if !found.iter().any(|t| t.dir == bin) {
                return Err(Error::new(
                    ErrorKind::ToolMissing,
                    format!("no working pg_dump and pg_restore in {}", bin.display()),
                )
                .with_hint(
                    "choose the folder that holds both (e.g. /usr/lib/postgresql/16/bin), or \
                     clear the setting to search the usual places",
                ));
            }
        }
        let catalog = &self.catalog;
        for (key, value) in [
            (BACKUP_DIR_SETTING, &new.default_backup_dir),
            (PG_BIN_SETTING, &new.pg_bin),
        ] {
            match value {
                Some(v) => catalog.set_setting(key, v).await?,
                None => catalog.remove_setting(key).await?,
            }
        }
        match self.settings.write() {
            Ok(mut s) => *s = new.clone(),
            Err(poisoned) => *poisoned.into_inner() = new.clone(),
        }
        Ok(new)
    }

    /// The pg_dump/pg_restore pairs on this machine, with their versions (runs each
    /// `pg_dump --version`).
    pub async fn tools(&self) -> Result<ToolsReport> {
        let configured = self.pg_bin();
        let outside = self.pg_bin_configured.is_some();
        let dir = configured.clone();
        let found = tokio::task::spawn_blocking(move || {
            let mut found = match &dir {
                Some(d) => pgtools::discover(Some(d)),
                None => Vec::new(),
            };
            for t in pgtools::discover(None) {
                if !found.iter().any(|f| f.dir == t.dir) {
                    found.push(t);
                }
            }
            found
        })
        .await
        .map_err(|e| Error::internal(format!("looking for pg_dump failed: {e}")))?;
        Ok(ToolsReport {
            configured: configured.map(|d| d.display().to_string()),
            configured_outside: outside,
            found,
        })
    }

    /// Remove a backup from the catalog and, when `delete_file`, delete its archive and the
    /// `.sha256` beside it. The file is deleted only when it is still this backup: its manifest
    /// names the same backup id (the catalog holds each path once); otherwise nothing changes
    /// and the error says why. Refused while a job runs on the
    /// project.
    pub async fn delete_backup(&self, backup_id: &str, delete_file: bool) -> Result<DeleteOutcome> {
        let record = self.catalog.backup(backup_id).await?;
        let project = self.catalog.project_by_id(&record.project_id).await?;
        let _lock = self.lock_project(&project)?;
        let path = PathBuf::from(&record.path);
        let mut file_deleted = false;
        if delete_file && path.symlink_metadata().is_ok() {
            let expected = record
                .manifest_json
                .as_deref()
                .and_then(|m| serde_json::from_str::<Manifest>(m).ok())
                .map(|m| m.backup_id);
            let keep = "remove the backup from the list only, keeping the file";
            let refused = |why: String| {
                Error::new(
                    ErrorKind::Conflict,
                    format!("{} {why}; it was not deleted", path.display()),
                )
                .with_hint(keep)
            };
            if !path
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_file())
            {
                return Err(refused("is not a regular file".into()));
            }
            let p = path.clone();
            let found = tokio::task::spawn_blocking(move || archive::reader::read_manifest(&p))
                .await
                .map_err(|e| Error::internal(format!("reading the archive failed: {e}")))?
                .map_err(|e| refused(format!("cannot be read as this backup ({})", e.message())))?;
            // This very backup: the same backup id (or, for an entry without a manifest, the
            // same project).
            let same = match &expected {
                Some(id) => *id == found.backup_id,
                None => found.project == project.name,
            };
            if !same {
                return Err(refused(format!(
                    "now holds another backup ({} of {})",
                    found.backup_id, found.project
                )));
            }
            std::fs::remove_file(&path)
                .map_err(|e| Error::io(format!("deleting {}", path.display()), e))?;
            file_deleted = true;
            let sidecar = archive::sidecar_path(&path);
            if sidecar.is_file() {
                if let Err(e) = std::fs::remove_file(&sidecar) {
                    tracing::warn!("could not delete {}: {e}", sidecar.display());
                }
            }
        }
        self.catalog.remove_backup(&record.id).await?;
        Ok(DeleteOutcome {
            path: record.path,
            file_deleted,
        })
    }

    /// A project as a restore target (its connection and stored password).
    pub async fn restore_target_of(&self, name: &str) -> Result<RestoreTarget> {
        let project = self.catalog.project(name).await?;
        Ok(RestoreTarget {
            spec: self.spec_of(&project)?,
            password: self.password_of(&project)?,
        })
    }

    // ---- projects ----

    pub async fn add_project(&self, req: AddProject) -> Result<Project> {
        let (mut spec, url_password) = ConnSpec::parse_url(&req.db_url)?;
        if let Some(tls) = req.tls {
            spec.tls = tls;
        }
        let password = req.password.or(url_password);
        let new = NewProject {
            name: req.name.clone(),
            db_url: spec.to_url(),
            tls_mode: spec.tls.as_str().to_string(),
            backup_dir: req.backup_dir.map(|d| d.display().to_string()),
        };
        let project = self.catalog.add_project(&new).await?;
        if let Some(pw) = password {
            // The row exists only if the secret could be stored: nothing half-written.
            if let Err(e) = self.secrets.set(&project_password_key(&project.name), &pw) {
                let _ = self.catalog.remove_project(&project.name).await;
                return Err(e);
            }
        }
        Ok(project)
    }

    /// Change a project: name, connection URL (a password in it is moved to the secret store),
    /// TLS mode, backup folder (`Some("")` resets it to the default), password. `None` keeps
    /// what is there. A rename moves the stored password along.
    pub async fn update_project(&self, name: &str, change: UpdateProject) -> Result<Project> {
        let mut project = self.catalog.project(name).await?;
        let _lock = self.lock_project(&project)?;
        let old_name = project.name.clone();
        let mut password = change.password;
        if let Some(url) = &change.db_url {
            let (spec, url_password) = ConnSpec::parse_url(url)?;
            project.db_url = spec.to_url();
            project.tls_mode = spec.tls.as_str().to_string();
            password = password.or(url_password);
        }
        if let Some(tls) = change.tls {
            project.tls_mode = tls.as_str().to_string();
        }
        if let Some(dir) = change.backup_dir {
            project.backup_dir = Some(dir.display().to_string()).filter(|d| !d.trim().is_empty());
        }
        if let Some(new_name) = change.name {
            project.name = new_name;
        }
        let old_key = project_password_key(&old_name);
        let new_key = project_password_key(&project.name);
        if old_key == new_key {
            self.catalog.update_project(&project).await?;
            if let Some(pw) = &password {
                self.secrets.set(&new_key, pw)?;
            }
        } else {
            // Renamed: the password is stored under the new name first, so it is never lost; that
            // key must not belong to another project.
            crate::catalog::validate_project_name(&project.name)?;
            if self.catalog.project(&project.name).await.is_ok() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("a project named {:?} already exists", project.name),
                )
                .with_hint("choose another name"));
            }
            let moved = match password {
                Some(pw) => Some(pw),
                None => self.secrets.get(&old_key)?,
            };
            if let Some(pw) = &moved {
                self.secrets.set(&new_key, pw)?;
            }
            if let Err(e) = self.catalog.update_project(&project).await {
                if moved.is_some() {
                    let _ = self.secrets.delete(&new_key);
                }
                return Err(e);
            }
            self.secrets.delete(&old_key)?;
        }
        self.catalog.project_by_id(&project.id).await
    }

    /// Replace a project's stored password.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<()> {
        let project = self.catalog.project(name).await?;
        self.secrets
            .set(&project_password_key(&project.name), password)
    }

    pub async fn remove_project(&self, name: &str) -> Result<()> {
        let project = self.catalog.project(name).await?;
        let _lock = self.lock_project(&project)?;
        self.catalog.remove_project(&project.name).await?;
        self.secrets.delete(&project_password_key(&project.name))
    }

    fn spec_of(&self, project: &Project) -> Result<ConnSpec> {
        let (mut spec, _) = ConnSpec::parse_url(&project.db_url)?;
        spec.tls = project.tls_mode.parse()?;
        Ok(spec)
    }

    fn password_of(&self, project: &Project) -> Result<Option<String>> {
        self.secrets.get(&project_password_key(&project.name))
    }

    pub async fn test_project(&self, name: &str) -> Result<ConnectionReport> {
        let project = self.catalog.project(name).await?;
        let spec = self.spec_of(&project)?;
        let password = self.password_of(&project)?;
        test_connection(&spec, password.as_deref(), self.pg_bin().as_deref()).await
    }

    // ---- jobs ----

    /// Back up a project's database into its backup folder (or `dest`), at the default level.
    pub async fn backup(
        &self,
        name: &str,
        dest: Option<PathBuf>,
        sink: Arc<dyn Progress>,
        cancel: CancellationToken,
    ) -> Result<BackupOutcome> {
        self.backup_as(
            &new_job_id(),
            name,
            BackupParams {
                dest,
                ..Default::default()
            },
            sink,
            cancel,
        )
        .await
    }

    /// Back up a project's database with explicit parameters.
    pub async fn backup_with(
        &self,
        name: &str,
        params: BackupParams,
        sink: Arc<dyn Progress>,
        cancel: CancellationToken,
    ) -> Result<BackupOutcome> {
        self.backup_as(&new_job_id(), name, params, sink, cancel)
            .await
    }

    /// [`Engine::backup_with`] as the job `job_id` (from [`new_job_id`]): the caller knows the id
    /// before the job starts (to subscribe to its progress first).
    pub async fn backup_as(
        &self,
        job_id: &str,
        name: &str,
        params: BackupParams,
        sink: Arc<dyn Progress>,
        cancel: CancellationToken,
    ) -> Result<BackupOutcome> {
        let BackupParams {
            dest,
            compression_level,
        } = params;
        let compression_level = compression_level.unwrap_or(backup::DEFAULT_COMPRESSION_LEVEL);
        if compression_level > 9 {
            return Err(Error::invalid(format!(
                "compression level {compression_level} is out of range"
            ))
            .with_hint("use 0 (none) to 9 (smallest, slowest)"));
        }
        let project = self.catalog.project(name).await?;
        let _lock = self.lock_project(&project)?;
        let (job, _job_lock) = self
            .start_job(job_id, JobKind::Backup, Some(&project.id))
            .await?;
        let reporter = Reporter::new(sink, job.id.clone());
        let result = async {
            let src = BackupSource {
                project: project.name.clone(),
                spec: self.spec_of(&project)?,
                password: self.password_of(&project)?,
            };
            let dest_dir = dest.unwrap_or_else(|| self.backup_dir_of(&project));
            let opts = BackupOptions {
                dest_dir,
                compression_level,
                pg_bin: self.pg_bin(),
                backup_id: uuid::Uuid::new_v4().to_string(),
            };
            let written = backup::backup_database(&src, &opts, &reporter, &cancel).await?;
            let new = NewBackup {
                project_id: project.id.clone(),
                path: written.path.clone(),
                size: written.size,
                sha256: written.sha256.clone(),
                backup_type: written.manifest.backup_type.as_str().to_string(),
                created_at: written.manifest.created_at.clone(),
                manifest_json: serde_json::to_string(&written.manifest).ok(),
                job_id: Some(job.id.clone()),
            };
            match self.catalog.add_backup(&new).await {
                Ok(record) => Ok(record),
                Err(e) => {
                    // Not registered → not kept: a backup the catalog doesn't know is a stray file.
                    let _ = std::fs::remove_file(&written.path);
                    let _ = std::fs::remove_file(archive::sidecar_path(&written.path));
                    Err(e)
                }
            }
        }
        .await;
        reporter.finish();
        let record = self
            .finish_job(&job.id, &reporter, result, |r| Some(r.id.clone()))
            .await?;
        Ok(BackupOutcome {
            job_id: job.id,
            backup: record,
        })
    }

    /// Verify an archive; if the catalog knows it, record the result there.
    pub async fn verify(
        &self,
        path: &Path,
        sink: Arc<dyn Progress>,
        cancel: CancellationToken,
    ) -> Result<VerifyOutcome> {
        self.verify_as(&new_job_id(), path, sink, cancel).await
    }

    /// [`Engine::verify`] as the job `job_id` (see [`Engine::backup_as`]).
    pub async fn verify_as(
        &self,
        job_id: &str,
        path: &Path,
        sink: Arc<dyn Progress>,
        cancel: CancellationToken,
    ) -> Result<VerifyOutcome> {
        let known = self.catalog.backup_by_path(path).await?;
        let (project, _lock) = self.lock_owner_of(known.as_ref()).await?;
        let (job, _job_lock) = self
            .start_job(
                job_id,
                JobKind::Verify,
                project.as_ref().map(|p| p.id.as_str()),
            )
            .await?;
        let reporter = Reporter::new(sink, job.id.clone());
        let result = {
            let (p, r, c) = (path.to_path_buf(), reporter.clone(), cancel.clone());
            tokio::task::spawn_blocking(move || archive::verify(&p, &r, &c))
                .await
                .map_err(|e| Error::internal(format!("verify task failed: {e}")))
                .and_then(|r| r)
        };
        reporter.finish();
        let mut result = result;
        if let (Ok(report), Some(b)) = (&mut result, &known) {
            // The catalog remembers the archive's checksum too: a replaced file with a matching
            // new sidecar is still caught.
            if report.file_sha256 != b.sha256 {
                report.ok = false;
                report.problems.push(format!(
                    "the archive's SHA-256 differs from the one recorded when it was made ({})",
                    b.sha256
                ));
                if report.first_bad.is_none() {
                    report.first_bad = report
                        .archive
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned());
                }
            }
            let problem = report
                .first_bad
                .as_ref()
                .map(|m| format!("bad member: {m}"));
            self.catalog
                .record_verify(&b.id, report.ok, problem.as_deref())
                .await?;
        }
        let report = self
            .finish_job(&job.id, &reporter, result, |_| None)
            .await?;
        Ok(VerifyOutcome {
            job_id: job.id,
            backup_id: known.map(|b| b.id),
            report,
        })
    }

    /// The restore plan (changes nothing).
    pub async fn plan_restore(
        &self,
        archive_path: &Path,
        target: &RestoreTarget,
        opts: &RestoreOptions,
    ) -> Result<RestorePlan> {
        let opts = self.restore_options(opts);
        Ok(
            restore::plan(archive_path, target, &opts, &Reporter::silent())
                .await?
                .0,
        )
    }

    /// Plan and execute a restore as one job.
    pub async fn restore(
        &self,
        archive_path: &Path,
        target: &RestoreTarget,
        opts: &RestoreOptions,
        sink: Arc<dyn Progress>,
        cancel: CancellationToken,
    ) -> Result<RestoreOutcome> {
        self.restore_as(&new_job_id(), archive_path, target, opts, sink, cancel)
            .await
    }

    /// [`Engine::restore`] as the job `job_id` (see [`Engine::backup_as`]).
    pub async fn restore_as(
        &self,
        job_id: &str,
        archive_path: &Path,
        target: &RestoreTarget,
        opts: &RestoreOptions,
        sink: Arc<dyn Progress>,
        cancel: CancellationToken,
    ) -> Result<RestoreOutcome> {
        let opts = self.restore_options(opts);
        let known = self.catalog.backup_by_path(archive_path).await?;
        let (project, _lock) = self.lock_owner_of(known.as_ref()).await?;
        let project_id = project.as_ref().map(|p| p.id.clone());
        let (job, _job_lock) = self
            .start_job(job_id, JobKind::Restore, project_id.as_deref())
            .await?;
        let reporter = Reporter::new(sink, job.id.clone());
        let result = async {
            let (plan, manifest, tools) =
                restore::plan(archive_path, target, &opts, &reporter).await?;
            restore::execute(plan, &tools, &manifest, target, &opts, &reporter, &cancel).await
        }
        .await;
        reporter.finish();
        let report = self
            .finish_job(&job.id, &reporter, result, |_| None)
            .await?;
        Ok(RestoreOutcome {
            job_id: job.id,
            report,
        })
    }

    /// What a dropped file is (an Offsite archive, a pg_dump file, a project export). Reads only.
    pub async fn inspect_import(&self, path: &Path) -> Result<ImportPreview> {
        let (p, bin) = (path.to_path_buf(), self.pg_bin());
        tokio::task::spawn_blocking(move || import::inspect(&p, bin.as_deref()))
            .await
            .map_err(|e| Error::internal(format!("inspect task failed: {e}")))?
    }

    /// Import a file as a backup of a project (see [`Engine::import_as`]).
    pub async fn import(
        &self,
        path: &Path,
        into: ImportInto,
        verify: bool,
        sink: Arc<dyn Progress>,
        cancel: CancellationToken,
    ) -> Result<ImportOutcome> {
        self.import_as(&new_job_id(), path, into, verify, sink, cancel)
            .await
    }

    /// Import `path` as one job: an Offsite archive is verified (always; refused naming the bad
    /// member) and copied with its `.sha256` into the project's backup folder (unless it is
    /// already there); a pg_dump file or a project export is packed into a new Offsite archive
    /// there (verified afterwards when `verify`). The result is registered as a backup of the
    /// project. On any failure nothing is left in the backup folder, no backup is registered, and
    /// a project created for the import is removed again.
    pub async fn import_as(
        &self,
        job_id: &str,
        path: &Path,
        into: ImportInto,
        verify: bool,
        sink: Arc<dyn Progress>,
        cancel: CancellationToken,
    ) -> Result<ImportOutcome> {
        let existing = match &into {
            ImportInto::Existing { project } => Some(self.catalog.project(project).await?),
            ImportInto::New { .. } => None,
        };
        let mut lock = match &existing {
            Some(p) => Some(self.lock_project(p)?),
            None => None,
        };
        let (job, _job_lock) = self
            .start_job(
                job_id,
                JobKind::Import,
                existing.as_ref().map(|p| p.id.as_str()),
            )
            .await?;
        let reporter = Reporter::new(sink, job.id.clone());
        let mut created: Option<Project> = None;
        let result = async {
            reporter.phase(Phase::Planning, None);
            let inspected = {
                let (p, bin) = (path.to_path_buf(), self.pg_bin());
                tokio::task::spawn_blocking(move || import::inspect_full(&p, bin.as_deref()))
                    .await
                    .map_err(|e| Error::internal(format!("inspect task failed: {e}")))??
            };
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let project = match (&existing, &into) {
                (Some(p), _) => p.clone(),
                (
                    None,
                    ImportInto::New {
                        name,
                        db_url,
                        tls,
                        password,
                        backup_dir,
                    },
                ) => {
                    let p = self
                        .add_project(AddProject {
                            name: name.clone(),
                            db_url: db_url.clone(),
                            password: password.clone().filter(|p| !p.is_empty()),
                            tls: *tls,
                            backup_dir: backup_dir.clone(),
                        })
                        .await?;
                    created = Some(p.clone());
                    lock = Some(self.lock_project(&p)?);
                    p
                }
                (None, ImportInto::Existing { .. }) => unreachable!("looked up above"),
            };
            let dest = self.backup_dir_of(&project);
            let dest_existed = dest.is_dir();
            std::fs::create_dir_all(&dest)
                .map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
            let r = self
                .import_into(
                    inspected, &project, &dest, verify, &job.id, &reporter, &cancel,
                )
                .await;
            if r.is_err() && !dest_existed {
                let _ = std::fs::remove_dir(&dest); // only when empty
            }
            r.map(|b| (project, b))
        }
        .await;
        reporter.finish();
        if result.is_err() {
            if let Some(p) = &created {
                drop(lock.take());
                let _ = self.catalog.remove_project(&p.name).await;
                let _ = self.secrets.delete(&project_password_key(&p.name));
            }
        }
        let (project, backup) = self
            .finish_job(&job.id, &reporter, result, |(_, b)| Some(b.id.clone()))
            .await?;
        drop(lock);
        Ok(ImportOutcome {
            job_id: job.id,
            project,
            created_project: created.is_some(),
            backup,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn import_into(
        &self,
        inspected: Inspected,
        project: &Project,
        dest: &Path,
        verify: bool,
        job_id: &str,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<BackupRecord> {
        let src = inspected.preview.path.clone();
        let verify_blocking = |p: PathBuf| {
            let (r, c) = (reporter.clone(), cancel.clone());
            async move {
                tokio::task::spawn_blocking(move || archive::verify(&p, &r, &c))
                    .await
                    .map_err(|e| Error::internal(format!("verify task failed: {e}")))?
            }
        };
        let damaged = |report: &VerifyReport, what: &str| {
            let bad = report.first_bad.clone().unwrap_or_else(|| "?".into());
            let why = report.problems.first().cloned().unwrap_or_default();
            Error::integrity(format!("{what} is damaged: bad member {bad} ({why})"))
                .with_hint("nothing was imported; use another copy of this backup")
        };
        // Files this import created (removed again on failure).
        let mut placed: Vec<PathBuf> = Vec::new();
        let result = async {
            let (target, report) = if inspected.preview.kind == ImportKind::OffsiteArchive {
                let report = verify_blocking(src.clone()).await?;
                if !report.ok {
                    return Err(damaged(&report, "the archive"));
                }
                if self.catalog.backup_by_path(&src).await?.is_some() {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!("{} is already in the catalog", src.display()),
                    )
                    .with_hint("it is already a backup Offsite knows; nothing to import"));
                }
                let same = match (src.parent().map(std::fs::canonicalize), dest.canonicalize()) {
                    (Some(Ok(a)), Ok(b)) => a == b,
                    _ => false,
                };
                // A file already in the folder keeps its name; a copy gets the name Offsite gives
                // its own archives (a download called "backup (1).tar.gz" becomes
                // `<project>_<time>_<type>.tar.gz` again).
                let name = match (same, canonical_archive_name(&src)) {
                    (false, Some(n)) => std::ffi::OsString::from(n),
                    _ => src
                        .file_name()
                        .ok_or_else(|| Error::invalid("the archive has no file name"))?
                        .to_owned(),
                };
                let target = dest.join(&name);
                if !same {
                    if target.symlink_metadata().is_ok() {
                        return Err(Error::new(
                            ErrorKind::AlreadyExists,
                            format!("{} already exists", target.display()),
                        )
                        .with_hint(
                            "a file of that name is already in the project's backup folder",
                        ));
                    }
                    let (s, d, r, c) = (
                        src.clone(),
                        dest.to_path_buf(),
                        reporter.clone(),
                        cancel.clone(),
                    );
                    let t2 = target.clone();
                    tokio::task::spawn_blocking(move || copy_into(&s, &d, &t2, &r, &c))
                        .await
                        .map_err(|e| Error::internal(format!("copy task failed: {e}")))??;
                    placed.push(target.clone());
                }
                let sidecar = archive::sidecar_path(&target);
                if !same || !sidecar.exists() {
                    let line = format!("{}  {}\n", report.file_sha256, name.to_string_lossy());
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&sidecar)
                        .and_then(|mut f| {
                            use std::io::Write;
                            f.write_all(line.as_bytes())?;
                            f.sync_all()
                        })
                        .map_err(|e| Error::io(format!("writing {}", sidecar.display()), e))?;
                    placed.push(sidecar);
                }
                (target, Some(report))
            } else {
                let (r, c, d, name) = (
                    reporter.clone(),
                    cancel.clone(),
                    dest.to_path_buf(),
                    project.name.clone(),
                );
                let written = tokio::task::spawn_blocking(move || {
                    import::wrap_dump(
                        &inspected,
                        &name,
                        &d,
                        backup::DEFAULT_COMPRESSION_LEVEL,
                        &r,
                        &c,
                    )
                })
                .await
                .map_err(|e| Error::internal(format!("import task failed: {e}")))??;
                placed.push(written.path.clone());
                placed.push(archive::sidecar_path(&written.path));
                let report = if verify {
                    let report = verify_blocking(written.path.clone()).await?;
                    if !report.ok {
                        return Err(damaged(&report, "the new archive"));
                    }
                    Some(report)
                } else {
                    None
                };
                (written.path, report)
            };
            let manifest = archive::read_manifest(&target)?;
            let (size, sha256) = match &report {
                Some(r) => (
                    std::fs::metadata(&target)
                        .map_err(|e| Error::io(format!("reading {}", target.display()), e))?
                        .len(),
                    r.file_sha256.clone(),
                ),
                None => (
                    std::fs::metadata(&target)
                        .map_err(|e| Error::io(format!("reading {}", target.display()), e))?
                        .len(),
                    archive::read_sidecar(&target)?
                        .ok_or_else(|| Error::internal("the new archive has no .sha256"))?,
                ),
            };
            let record = self
                .catalog
                .add_backup(&NewBackup {
                    project_id: project.id.clone(),
                    path: target.clone(),
                    size,
                    sha256,
                    backup_type: manifest.backup_type.as_str().to_string(),
                    created_at: manifest.created_at.clone(),
                    manifest_json: serde_json::to_string(&manifest).ok(),
                    job_id: Some(job_id.to_string()),
                })
                .await?;
            if report.is_some() {
                if let Err(e) = self.catalog.record_verify(&record.id, true, None).await {
                    let _ = self.catalog.remove_backup(&record.id).await;
                    return Err(e);
                }
            }
            self.catalog.backup(&record.id).await
        }
        .await;
        if result.is_err() {
            for p in placed.iter().rev() {
                let _ = std::fs::remove_file(p);
            }
        }
        result
    }

    fn restore_options(&self, opts: &RestoreOptions) -> RestoreOptions {
        let mut o = opts.clone();
        if o.pg_bin.is_none() {
            o.pg_bin = self.pg_bin();
        }
        if o.safety_dir.as_os_str().is_empty() {
            o.safety_dir = self.data_dir.join("safety-backups");
        }
        o
    }

    /// The newest change of the catalog's change feed: where a new reader starts.
    pub async fn last_change_seq(&self) -> Result<i64> {
        self.catalog.last_change_seq().await
    }

    /// What changed in the catalog (projects, backups, jobs), whoever changed it, after `after`.
    pub async fn changes_since(&self, after: i64, limit: u32) -> Result<ChangeBatch> {
        self.catalog.changes_since(after, limit).await
    }

    /// Where a project's backups go by default.
    pub fn backup_dir_of(&self, project: &Project) -> PathBuf {
        match &project.backup_dir {
            Some(d) => PathBuf::from(d),
            None => match self.read_settings().default_backup_dir {
                Some(d) => PathBuf::from(d).join(&project.name),
                None => self.data_dir.join("backups").join(&project.name),
            },
        }
    }

    async fn finish_job<T>(
        &self,
        job_id: &str,
        reporter: &Reporter,
        result: Result<T>,
        backup_id: impl Fn(&T) -> Option<String>,
    ) -> Result<T> {
        let (done, total) = reporter.peak();
        self.catalog
            .update_job_counters(job_id, done, total)
            .await?;
        let outcome = match &result {
            Ok(v) => JobOutcome::Succeeded {
                backup_id: backup_id(v),
            },
            Err(e) => JobOutcome::from_error(e),
        };
        self.catalog.finish_job(job_id, outcome).await?;
        result
    }

    /// The project a registered backup belongs to, with its lock held (none for an archive the
    /// catalog does not know).
    async fn lock_owner_of(
        &self,
        backup: Option<&BackupRecord>,
    ) -> Result<(Option<Project>, Option<ProjectLock>)> {
        let Some(b) = backup else {
            return Ok((None, None));
        };
        let project = self.catalog.project_by_id(&b.project_id).await?;
        let lock = self.lock_project(&project)?;
        Ok((Some(project), Some(lock)))
    }

    /// One job per project at a time, across processes: an exclusive lock on a file in the data
    /// folder, released when the guard drops (or the process dies).
    fn lock_project(&self, project: &Project) -> Result<ProjectLock> {
        match try_lock(&self.lock_path(&format!("{}.lock", project.id))?)? {
            Some(file) => Ok(ProjectLock(file)),
            None => Err(Error::new(
                ErrorKind::Busy,
                format!("another job is already running on project {}", project.name),
            )
            .with_hint("wait for it to finish (or cancel it), then try again")),
        }
    }
}

/// `<project>_<YYYYMMDD_HHMMSS>_<type>.tar.gz` from an archive's manifest, when its project name is
/// one Offsite accepts (a crafted manifest cannot name a path) and its time parses.
fn canonical_archive_name(archive: &Path) -> Option<String> {
    let m = archive::read_manifest(archive).ok()?;
    crate::catalog::validate_project_name(&m.project).ok()?;
    let at = crate::catalog::parse_timestamp(&m.created_at).ok()?;
    Some(backup::archive_file_name(&m.project, at, m.backup_type))
}

/// An absolute folder that exists (or can be made) and can be written to.
fn check_writable_dir(dir: &Path) -> Result<()> {
    let hint = "choose a folder you can write to (native folder dialog: Choose…)";
    if !dir.is_absolute() {
        return Err(Error::invalid(format!(
            "the backup folder must be an absolute path, not {}",
            dir.display()
        ))
        .with_hint(hint));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e).with_hint(hint))?;
    tempfile::Builder::new()
        .prefix(".offsite-write-test-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| Error::io(format!("writing in {}", dir.display()), e).with_hint(hint))
}

/// Copies `src` to `target` (in `dest`) through a temporary file, synced, never replacing a file.
fn copy_into(
    src: &Path,
    dest: &Path,
    target: &Path,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<()> {
    use std::io::{Read, Write};
    let mut input =
        File::open(src).map_err(|e| Error::io(format!("opening {}", src.display()), e))?;
    let total = input.metadata().map(|m| m.len()).ok();
    reporter.phase(Phase::Packing, total);
    let mut tmp = tempfile::Builder::new()
        .prefix(".offsite-tmp-")
        .tempfile_in(dest)
        .map_err(|e| {
            Error::io(
                format!("creating a temporary file in {}", dest.display()),
                e,
            )
        })?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(format!("reading {}", src.display()), e)),
        };
        tmp.write_all(&buf[..n])
            .map_err(|e| Error::io(format!("writing {}", target.display()), e))?;
        reporter.advance(n as u64);
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(format!("writing {}", target.display()), e))?;
    tmp.persist_noclobber(target)
        .map_err(|e| Error::io(format!("writing {}", target.display()), e.error))?;
    Ok(())
}

/// An exclusive, non-blocking lock on `path` (created if missing); `None` when another holder
/// has it. The OS releases it when the file closes or the process dies.
fn try_lock(path: &Path) -> Result<Option<File>> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::io(format!("locking {}", path.display()), e))
        }
    }
}

/// A running job's liveness lock; its file is removed when the job ends.
struct JobLock {
    _file: File,
    path: PathBuf,
}

impl Drop for JobLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Holds a project's lock until dropped.
pub struct ProjectLock(#[allow(dead_code)] File);

/// "Test connection" for a connection that is not (yet) a project.
pub async fn test_connection(
    spec: &ConnSpec,
    password: Option<&str>,
    pg_bin: Option<&Path>,
) -> Result<ConnectionReport> {
    let mut conn = spec.connect(password).await?;
    let info = server_info(&mut conn, spec).await?;
    let unreadable = unreadable_objects(&mut conn, spec).await?;
    let (pg_dump, pg_dump_problem) = match pgtools::find_for(info.major(), pg_bin) {
        Ok(t) => (Some(t), None),
        Err(e) => (
            None,
            Some(format!(
                "{} ({})",
                e.message(),
                e.hint().unwrap_or_default()
            )),
        ),
    };
    Ok(ConnectionReport {
        server_version: info.version,
        database_size: info.database_size,
        user: info.current_user,
        superuser: info.superuser,
        can_dump: unreadable.is_empty() && pg_dump.is_some(),
        unreadable,
        pg_dump,
        pg_dump_problem,
    })
}
