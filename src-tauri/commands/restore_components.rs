//! Restoring a backup's storage and configuration components (the database has
//! [`super::jobs::plan_restore`]): plan first (changes nothing), then run. Storage restores are
//! jobs like the others; writing configuration back is one short call.

use super::{err, CmdResult};
use crate::jobs::{spawn_job, JobRegistry, JobSubject};
use crate::Shell;
use offsite_core::catalog::JobKind;
use offsite_core::config::ApplyReport;
use offsite_core::ops::{ConfigRestorePlan, StorageRestoreRequest, StorageRestoreTo};
use offsite_core::storage::StoragePlan;
use std::path::PathBuf;
use tauri::{AppHandle, Runtime, State};

/// What restoring the archive's storage would do, per bucket (changes nothing).
#[tauri::command]
#[specta::specta]
pub async fn plan_storage_restore(
    shell: State<'_, Shell>,
    request: StorageRestoreRequest,
) -> CmdResult<StoragePlan> {
    let engine = shell.engine()?;
    engine.plan_storage_restore(&request).await.map_err(err)
}

/// Start restoring the archive's storage; returns the job id at once (`job-finished` carries
/// `result.kind == "storage_restore"`). Mirror mode deletes objects: the window asks for typed
/// consent before it sends `mirror: true`.
#[tauri::command]
#[specta::specta]
pub fn start_storage_restore<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    request: StorageRestoreRequest,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: match &request.to {
            StorageRestoreTo::Project(name) => Some(name.clone()),
            StorageRestoreTo::Folder(_) => None,
        },
        label: match &request.to {
            StorageRestoreTo::Project(name) => format!("storage of {name}"),
            StorageRestoreTo::Folder(dir) => dir.display().to_string(),
        },
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Restore,
        subject,
        |start| async move { engine.restore_storage(request, start).await },
    ))
}

/// The archived configuration settings that differ from the project's current ones.
#[tauri::command]
#[specta::specta]
pub async fn plan_config_restore(
    shell: State<'_, Shell>,
    path: String,
    project: String,
) -> CmdResult<ConfigRestorePlan> {
    let engine = shell.engine()?;
    engine
        .plan_config_restore(&PathBuf::from(path), &project)
        .await
        .map_err(err)
}

/// Write the chosen settings (`file:setting`) back to the project through the Management API.
#[tauri::command]
#[specta::specta]
pub async fn apply_config(
    shell: State<'_, Shell>,
    path: String,
    project: String,
    settings: Vec<String>,
) -> CmdResult<ApplyReport> {
    let engine = shell.engine()?;
    engine
        .apply_config(&PathBuf::from(path), &project, &settings)
        .await
        .map_err(err)
}
