//! A project's destinations (another folder, an S3-compatible bucket, an rclone remote), where
//! each backup's copies are, the 3-2-1 state, and the jobs that push pending copies (`sync`) and
//! fetch a copy back (`fetch_copy`). An S3 secret goes in (to the keychain) and never comes out.

use super::{err, CmdResult};
use crate::jobs::{spawn_job, JobRegistry, JobSubject};
use crate::Shell;
use offsite_core::catalog::{DestinationRecord, DestinationSpec, JobKind};
use offsite_core::ops::{
    BackupCopies, DestinationTest, FetchCopyOptions, Protection, RemovedDestination, SyncOptions,
};
use tauri::{AppHandle, Runtime, State};

/// The project's destinations, by name.
#[tauri::command]
#[specta::specta]
pub async fn list_destinations(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<Vec<DestinationRecord>> {
    shell.engine()?.destinations(&project).await.map_err(err)
}

/// Add a destination; `secret` is an S3 destination's secret access key (to the keychain).
#[tauri::command]
#[specta::specta]
pub async fn add_destination(
    shell: State<'_, Shell>,
    project: String,
    spec: DestinationSpec,
    secret: Option<String>,
) -> CmdResult<DestinationRecord> {
    let engine = shell.engine()?;
    engine
        .add_destination(&project, spec, secret)
        .await
        .map_err(err)
}

/// Remove a destination: its copies are forgotten, the files there left in place.
#[tauri::command]
#[specta::specta]
pub async fn remove_destination(
    shell: State<'_, Shell>,
    project: String,
    name: String,
) -> CmdResult<RemovedDestination> {
    let engine = shell.engine()?;
    engine
        .remove_destination(&project, &name)
        .await
        .map_err(err)
}

/// Whether a destination is writable, its free space when known, or that it is offline.
#[tauri::command]
#[specta::specta]
pub async fn test_destination(
    shell: State<'_, Shell>,
    project: String,
    name: String,
) -> CmdResult<DestinationTest> {
    let engine = shell.engine()?;
    engine.test_destination(&project, &name).await.map_err(err)
}

/// Replace an S3 destination's Object Lock (mode and days; days `null`: from its retention) and
/// storage class (`null`: the bucket's default), as the form shows them all; copies already
/// uploaded keep their own lock.
#[tauri::command]
#[specta::specta]
pub async fn set_destination_protection(
    shell: State<'_, Shell>,
    project: String,
    name: String,
    lock: Option<offsite_core::destinations::LockMode>,
    lock_days: Option<u32>,
    storage_class: Option<String>,
) -> CmdResult<offsite_core::catalog::DestinationRecord> {
    let change = offsite_core::ops::destinations::ProtectionChange {
        lock: Some(lock),
        lock_days,
        storage_class: Some(storage_class),
    };
    shell
        .engine()?
        .set_destination_protection(&project, &name, change)
        .await
        .map_err(err)
}

/// Every backup of the project, newest first, with its copies (the local one first).
#[tauri::command]
#[specta::specta]
pub async fn list_copies(shell: State<'_, Shell>, project: String) -> CmdResult<Vec<BackupCopies>> {
    shell.engine()?.copies(&project).await.map_err(err)
}

/// The project's 3-2-1 state at a glance.
#[tauri::command]
#[specta::specta]
pub async fn get_protection(shell: State<'_, Shell>, project: String) -> CmdResult<Protection> {
    shell.engine()?.protection(&project).await.map_err(err)
}

/// Start pushing the project's pending copies and applying each destination's retention;
/// returns the job id at once (a `sync` job).
#[tauri::command]
#[specta::specta]
pub fn start_sync<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    project: String,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: Some(project.clone()),
        label: project.clone(),
    };
    let opts = SyncOptions { project };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Sync,
        subject,
        |start| async move { engine.sync(opts, start).await },
    ))
}

/// Start fetching a backup's copy back from `destination` as its local archive (downloaded,
/// checked against the recorded SHA-256, then put in place); returns the job id at once.
#[tauri::command]
#[specta::specta]
pub fn start_fetch_copy<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    project: String,
    backup_id: String,
    destination: Option<String>,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: Some(project.clone()),
        label: project.clone(),
    };
    let opts = FetchCopyOptions {
        project,
        backup_id,
        destination,
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::FetchCopy,
        subject,
        |start| async move { engine.fetch_copy(opts, start).await },
    ))
}
