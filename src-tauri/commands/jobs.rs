//! Jobs: start a backup, verify, restore or import (each returns its job id at once; progress
//! and the end come as events), plan a restore, cancel, and the job list.

use super::{err, CmdResult};
use crate::jobs::{spawn_job, JobRegistry, JobSubject};
use crate::Shell;
use offsite_core::archive::manifest::BackupType;
use offsite_core::catalog::{JobKind, JobRecord};
use offsite_core::postgres::restore::{RestoreOptions, RestorePlan, Selection};
use offsite_core::{
    AddProject, BackupOptions, ImportInto, ImportOptions, RestoreRequest, RestoreTo, VerifyOptions,
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
#[tauri::command]
#[specta::specta]
pub fn start_backup<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    project: String,
    backup_type: Option<BackupType>,
) -> CmdResult<String> {
    start_backup_job(app, &shell, &jobs, project, backup_type)
}

/// What `start_backup` does; also the tray's "Back up all now" (with `backup_type` `None`).
pub(crate) fn start_backup_job<R: Runtime>(
    app: AppHandle<R>,
    shell: &Shell,
    jobs: &JobRegistry,
    project: String,
    backup_type: Option<BackupType>,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: Some(project.clone()),
        label: project.clone(),
    };
    let mut opts = BackupOptions::project(project);
    opts.backup_type = backup_type;
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

/// What the user consented to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct RestoreChoices {
    /// Allow restoring into a non-empty database (objects in the backup are replaced).
    pub replace: bool,
    /// Skip the safety backup of a non-empty target.
    pub no_safety_backup: bool,
    /// Create the missing roles from the backup's globals.sql (attributes, memberships, no
    /// passwords).
    pub create_roles: bool,
    /// Restore objects of roles the connecting role cannot act for as its own; leave out (listed)
    /// what cannot change owner.
    #[serde(default)]
    pub no_owner: bool,
    /// Restore only these schemas or tables (empty: everything).
    #[serde(default)]
    pub selection: Selection,
    /// Run the statements of the backup's SQL that pg_dump never writes (the plan's
    /// `arbitrary_sql`); a separate consent from replacing.
    #[serde(default)]
    pub allow_arbitrary_sql: bool,
}

impl From<RestoreChoices> for RestoreOptions {
    fn from(c: RestoreChoices) -> Self {
        RestoreOptions {
            replace: c.replace,
            no_safety_backup: c.no_safety_backup,
            create_roles: c.create_roles,
            no_owner: c.no_owner,
            selection: c.selection,
            allow_arbitrary_sql: c.allow_arbitrary_sql,
            ..Default::default()
        }
    }
}

/// The restore plan: what would be created, replaced and kept (changes nothing).
#[tauri::command]
#[specta::specta]
pub async fn plan_restore(
    shell: State<'_, Shell>,
    path: String,
    target: RestoreTo,
    choices: RestoreChoices,
) -> CmdResult<RestorePlan> {
    let engine = shell.engine()?;
    let target = engine.restore_target(target).await.map_err(err)?;
    let request = RestoreRequest::new(path, target).options(choices.into());
    engine.plan_restore(&request).await.map_err(err)
}

/// Start a restore; returns the job id at once (see `start_backup`).
#[tauri::command]
#[specta::specta]
pub fn start_restore<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    path: String,
    target: RestoreTo,
    choices: RestoreChoices,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: match &target {
            RestoreTo::Project(name) => Some(name.clone()),
            RestoreTo::Connection { .. } => None,
        },
        label: target.label(),
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Restore,
        subject,
        |start| async move {
            let target = engine.restore_target(target).await?;
            let request = RestoreRequest::new(path, target).options(choices.into());
            engine.restore(request, start).await
        },
    ))
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
