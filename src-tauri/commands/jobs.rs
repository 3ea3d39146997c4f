//! Jobs: start a backup, verify, restore or import (each returns its job id at once; progress
//! and the end come as events), plan a restore, cancel, and the job list.

use super::{err, CmdResult};
use crate::jobs::{spawn_job, JobRegistry, JobSubject};
use crate::Shell;
use offsite_core::archive::manifest::BackupType;
use offsite_core::catalog::{JobKind, JobRecord};
use offsite_core::restore::{DatabaseTo, StorageTo};
use offsite_core::{
    AddProject, BackupOptions, ImportInto, ImportOptions, RestorePlan, RestoreRequest,
    VerifyOptions,
};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};

/// The newest jobs (of one project, or of all), newest first; at most `limit` (default 100).
#[tauri::command]
#[specta::specta]
pub async fn list_jobs(
    shell: State<'_, Shell>,
    project: Option<String>,
    limit: Option<u32>,
) -> CmdResult<Vec<JobRecord>> {
    let engine = shell.engine()?;
    let limit = limit.unwrap_or(100);
    engine.jobs(project.as_deref(), limit).await.map_err(err)
}

/// Start a backup of `project`; returns the job id at once. Progress: `job-progress` events,
/// then one `job-finished` (its `result.backup` is the new archive). `backup_type` `null`: the
/// project's default type; the engine adds the storage and configuration the type asks for.
/// `note`: kept with the backup and shown beside it (with the OS user who started it).
#[tauri::command]
#[specta::specta]
pub fn start_backup<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    project: String,
    backup_type: Option<BackupType>,
    note: Option<String>,
) -> CmdResult<String> {
    start_backup_job(app, &shell, &jobs, project, backup_type, note)
}

/// What `start_backup` does; also the tray's "Back up all now" (with `backup_type` `None`).
pub(crate) fn start_backup_job<R: Runtime>(
    app: AppHandle<R>,
    shell: &Shell,
    jobs: &JobRegistry,
    project: String,
    backup_type: Option<BackupType>,
    note: Option<String>,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: Some(project.clone()),
        label: project.clone(),
    };
    let mut opts = BackupOptions::project(project);
    opts.backup_type = backup_type;
    opts.note = note;
    Ok(spawn_job(
        app,
        jobs,
        JobKind::Backup,
        subject,
        |start| async move { engine.backup(opts, start).await },
    ))
}

/// Start verifying an archive; returns the job id at once (see `start_backup`).
#[tauri::command]
#[specta::specta]
pub fn start_verify<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    path: String,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: None,
        label: file_name(&path),
    };
    let opts = VerifyOptions::path(path);
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Verify,
        subject,
        |start| async move { engine.verify(opts, start).await },
    ))
}

/// The last part of a path, for people (the whole path when it has none).
fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// The one plan of a restore request, a section per component chosen (database, storage,
/// configuration): what would be created, replaced, uploaded and written (changes nothing).
#[tauri::command]
#[specta::specta]
pub async fn plan_restore(
    shell: State<'_, Shell>,
    request: RestoreRequest,
) -> CmdResult<RestorePlan> {
    let engine = shell.engine()?;
    engine.plan_restore(&request).await.map_err(err)
}

/// Start a restore of the components the request chose, as ONE job (database, then storage,
/// then configuration); returns the job id at once (see `start_backup`). `job-finished` carries
/// its one report (`result.kind == "restore"`, a section per component). Mirror mode deletes
/// objects: the window asks for typed consent before it sends `mirror: true`.
#[tauri::command]
#[specta::specta]
pub fn start_restore<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    request: RestoreRequest,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = restore_subject(&request);
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Restore,
        subject,
        |start| async move { engine.restore(request, start).await },
    ))
}

/// The project a restore is about (its first target that is a saved project), and its label.
fn restore_subject(request: &RestoreRequest) -> JobSubject {
    let database = request.database.as_ref().map(|d| &d.to);
    let storage = request.storage.as_ref().map(|s| &s.to);
    let project = match (database, storage) {
        (Some(DatabaseTo::Project(name)), _) => Some(name.clone()),
        (_, Some(StorageTo::Project(name))) => Some(name.clone()),
        _ => request.config.as_ref().map(|c| c.project.clone()),
    };
    let label = match (database, storage) {
        (Some(to), _) => to.label(),
        (None, Some(StorageTo::Project(name))) => format!("storage of {name}"),
        (None, Some(StorageTo::Folder(dir))) => dir.display().to_string(),
        (None, None) => project.clone().unwrap_or_default(),
    };
    JobSubject { project, label }
}

/// Ask a running job of this app to stop; it ends with `job-finished` (error code `cancelled`).
/// Returns false when the job is not running (any more).
#[tauri::command]
#[specta::specta]
pub async fn cancel_job(
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    job_id: String,
) -> CmdResult<bool> {
    if !jobs.cancel(&job_id) {
        return Ok(false);
    }
    // Show "cancelling" in job lists; the job may not have its catalog row yet.
    if let Ok(engine) = shell.engine() {
        let _ = engine.mark_cancelling(&job_id).await;
    }
    Ok(true)
}

/// Where an imported file goes.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ImportTo {
    /// A project in the catalog, by name.
    Project(String),
    /// A new project, created for the import (removed again if the import fails).
    NewProject(AddProject),
}

/// Start importing a file as a backup of a project; returns the job id at once (see
/// `start_backup`). `job-finished` carries `result: { kind: "import", project, created_project,
/// backup }` (`project`: the name). An Offsite archive is always verified first; `verify` also
/// verifies the archive an imported pg_dump file or export is packed into.
#[tauri::command]
#[specta::specta]
pub fn start_import<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    path: String,
    into: ImportTo,
    verify: bool,
    database: Option<String>,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    if let ImportTo::NewProject(request) = &into {
        // A connection that cannot work is refused now, before any job starts.
        request.connection.parse(request.tls).map_err(err)?;
    }
    let (project, into) = match into {
        ImportTo::Project(project) => (project.clone(), ImportInto::Existing { project }),
        ImportTo::NewProject(request) => (request.name.clone(), ImportInto::New(request)),
    };
    let subject = JobSubject {
        project: Some(project),
        label: file_name(&path),
    };
    let opts = ImportOptions {
        verify,
        database,
        ..ImportOptions::new(path, into)
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Import,
        subject,
        |start| async move { engine.import(opts, start).await },
    ))
}
