//! Point-in-time capture in the app (issue 46, docs/pitr.md): the project's restorable
//! windows and lag, turning capture on and off, a capture pass now (the dashboard's "Capture
//! now"), and a restore to a time (its plan, then a job). Capture itself runs in the app's
//! background loop beside the schedules (`scheduler.rs`), as in `offsite daemon`.

use super::{err, CmdResult};
use crate::jobs::{spawn_job, JobRegistry, JobSubject};
use crate::Shell;
use offsite_core::catalog::JobKind;
use offsite_core::ops::pitr::keep::{KeepCapturing, KeepPass};
use offsite_core::ops::pitr::restore::PitrPlan;
use offsite_core::ops::pitr::{PitrEnabled, PitrStatus};
use offsite_core::pitr::parse_time;
use offsite_core::pitr::physical::{CaptureMode, Modes};
use offsite_core::pitr::server::IdentityFull;
use offsite_core::restore::DatabaseTo;
use tauri::{AppHandle, Runtime, State};
use tokio_util::sync::CancellationToken;

/// Whether `project`'s changes are captured: the slot, its lag, the restorable windows, the
/// chains that ended and why, slots no project owns.
#[tauri::command]
#[specta::specta]
pub async fn pitr_status(shell: State<'_, Shell>, project: String) -> CmdResult<PitrStatus> {
    shell.engine()?.pitr_status(&project).await.map_err(err)
}

/// Which captures `project`'s server and role allow, why not the other, and the one to offer
/// first (the card's "Turn on" choice).
#[tauri::command]
#[specta::specta]
pub async fn pitr_modes(shell: State<'_, Shell>, project: String) -> CmdResult<Modes> {
    shell.engine()?.pitr_modes(&project).await.map_err(err)
}

/// Start capturing `project`'s changes in `mode` (logical: publication, slot, base backup;
/// physical: physical slot, pg_basebackup base), with the defaults.
#[tauri::command]
#[specta::specta]
pub async fn pitr_enable(
    shell: State<'_, Shell>,
    project: String,
    mode: CaptureMode,
) -> CmdResult<PitrEnabled> {
    shell
        .engine()?
        .pitr_enable_mode(&project, mode.as_str(), None, None)
        .await
        .map_err(err)
}

/// Capture `tables` too: `REPLICA IDENTITY FULL` set on each (the engine checks that each is an
/// existing table of the project's role without a replica identity; the names are never part
/// of SQL text), then a new window starts with them (or capture starts).
#[tauri::command]
#[specta::specta]
pub async fn pitr_replica_identity_full(
    shell: State<'_, Shell>,
    project: String,
    tables: Vec<String>,
) -> CmdResult<PitrEnabled> {
    let which = IdentityFull::Tables(tables);
    shell
        .engine()?
        .pitr_enable_identity_full(&project, &which, None, None)
        .await
        .map_err(err)
}

/// Stop capturing: drop the slot and the publication (the windows stay restorable).
#[tauri::command]
#[specta::specta]
pub async fn pitr_disable(shell: State<'_, Shell>, project: String) -> CmdResult<bool> {
    shell.engine()?.pitr_disable(&project).await.map_err(err)
}

/// One capture pass now (the dashboard's "Capture now").
#[tauri::command]
#[specta::specta]
pub async fn pitr_capture_now(shell: State<'_, Shell>, project: String) -> CmdResult<KeepPass> {
    shell
        .engine()?
        .pitr_keep(
            &project,
            KeepCapturing::default(),
            &CancellationToken::new(),
        )
        .await
        .map_err(err)
}

/// The plan of a restore of `project` to `at` (RFC 3339): the base, the change data, the
/// commit it stops at; a time in no window is refused naming the nearest restorable times.
#[tauri::command]
#[specta::specta]
pub async fn pitr_plan(
    shell: State<'_, Shell>,
    project: String,
    at: String,
) -> CmdResult<PitrPlan> {
    let at = parse_time(&at).map_err(err)?;
    shell.engine()?.pitr_plan(&project, at).await.map_err(err)
}

/// Restore `project` as it was at `at` into `to` (a saved project, or a database on a server by
/// its parts or a URL, the password beside it); `create_database`: a database that does not
/// exist yet is created empty first (removed again if the restore fails). Returns the job id at
/// once. `job-finished` carries `result.kind == "pitr_restore"`.
#[tauri::command]
#[specta::specta]
pub fn start_pitr_restore<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    project: String,
    at: String,
    to: DatabaseTo,
    create_database: bool,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let at = parse_time(&at).map_err(err)?;
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Restore,
        as_of_a_time(&project),
        move |start| async move {
            engine
                .pitr_restore_to(&project, at, &to, create_database, &start.cancel)
                .await
        },
    ))
}

/// What a job about `project` at a time is shown as (a restore to a time, a state to look into).
pub(super) fn as_of_a_time(project: &str) -> JobSubject {
    JobSubject {
        project: Some(project.to_string()),
        label: format!("{project} as of a time"),
    }
}
