//! "Recover these rows…" (Look inside → a table filtered by `COLUMN=VALUE`): the plan of a
//! recovery (a dry run: counts, sample rows, triggers; nothing written), the recovery as one job
//! of kind `recover` with progress and Cancel, and its undo as another. The rules are the
//! engine's ([`offsite_core::recover`]); these only hand the request on.

use super::{err, CmdResult};
use crate::jobs::{spawn_job, JobRegistry, JobSubject};
use crate::Shell;
use offsite_core::catalog::JobKind;
use offsite_core::ops::recover::RecoverRequest;
use offsite_core::recover::RecoverReport;
use offsite_core::restore::DatabaseTo;
use tauri::{AppHandle, Runtime, State};

/// The plan of a recovery: per table the rows to insert, update, leave and keep, a sample of
/// rows and the target's triggers, which do not fire. Writes nothing: the whole write runs in a
/// transaction that is rolled back (the request's `dry_run` is ignored).
#[tauri::command]
#[specta::specta]
pub async fn plan_recover(
    shell: State<'_, Shell>,
    mut request: RecoverRequest,
) -> CmdResult<RecoverReport> {
    let engine = shell.engine()?.clone();
    request.dry_run = true;
    let start = offsite_core::JobStart::new(offsite_core::JobTrigger::Manual);
    let outcome = engine.recover(request, None, start).await.map_err(err)?;
    Ok(outcome.report)
}

/// Start a recovery; returns the job id at once (see `start_backup`). `job-finished` carries
/// its report (`result.kind == "recover"`, with the undo id).
#[tauri::command]
#[specta::specta]
pub fn start_recover<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    mut request: RecoverRequest,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    request.dry_run = false;
    let subject = JobSubject {
        project: match &request.to {
            DatabaseTo::Project(name) => Some(name.clone()),
            DatabaseTo::Connection { .. } => None,
        },
        label: request.to.label(),
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Recover,
        subject,
        |start| async move { engine.recover(request, None, start).await },
    ))
}

/// Start undoing recovery `undo_id` (`offsite recover --undo`); returns the job id at once.
/// `password`: for a target given as a URL (a project's comes from the keychain).
/// `job-finished` carries the undo's report (`result.kind == "recover_undo"`): rows put back
/// and rows changed since the recovery, which are left.
#[tauri::command]
#[specta::specta]
pub fn start_recover_undo<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    undo_id: String,
    password: Option<String>,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: None,
        label: format!("undo of {undo_id}"),
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Recover,
        subject,
        |start| async move { engine.recover_undo(&undo_id, password, start).await },
    ))
}
