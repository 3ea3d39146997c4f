//! Schedules, retention and history: a project's backup and verify schedules (set, clear, pause,
//! a preview of the next runs of an unsaved spec), its retention policy (get, set, a preview of
//! what it keeps and removes, apply now), every project's status (next run, overdue, last good
//! backup) and the job history with filters.

use super::{err, CmdResult};
use crate::Shell;
use offsite_core::catalog::{JobRecord, ScheduleKind};
use offsite_core::ops::{
    JobFilter, ProjectStatus, PruneOptions, PruneOutcome, RetentionView, ScheduleEdit,
    SchedulePreview, ScheduleView, ScheduleWhat, SetSchedule,
};
use offsite_core::schedule::{RetentionPolicy, ScheduleWhen};
use offsite_core::JobStart;
use tauri::State;

/// How many runs a preview lists.
pub const PREVIEW_RUNS: usize = 5;

/// Every schedule of a project (by name), or of all projects; each with its next 5 runs.
#[tauri::command]
#[specta::specta]
pub async fn list_schedules(
    shell: State<'_, Shell>,
    project: Option<String>,
) -> CmdResult<Vec<ScheduleView>> {
    shell
        .engine()?
        .schedules(project.as_deref())
        .await
        .map_err(err)
}

/// Set (replace) a project's backup, verify or drill schedule; `paused` saves it paused. A verify
/// schedule checks the newest `verify_newest` backups (`null`: all). `time_zone`: an IANA name
/// (`null`: this computer's zone). A backup schedule's `tenant`: `null` leaves it as it is, `""`
/// none, a name: after each backup one archive per tenant of it (checked before anything is
/// saved). Returns the schedule with its next 5 runs.
#[tauri::command]
#[specta::specta]
// A command's arguments are the IPC call's named fields (the generated bindings list each one),
// not a Rust call site that a struct would make clearer.
#[allow(clippy::too_many_arguments)]
pub async fn set_schedule(
    shell: State<'_, Shell>,
    project: String,
    kind: ScheduleKind,
    when: ScheduleWhen,
    paused: bool,
    verify_newest: Option<u32>,
    time_zone: Option<String>,
    tenant: Option<String>,
) -> CmdResult<ScheduleView> {
    let engine = shell.engine()?;
    let what = match kind {
        ScheduleKind::Backup => ScheduleWhat::Backup,
        ScheduleKind::Verify => ScheduleWhat::Verify {
            newest: verify_newest,
        },
        ScheduleKind::Drill => ScheduleWhat::Drill,
    };
    let spec = when.spec().map_err(err)?;
    let req = SetSchedule {
        project: project.clone(),
        spec,
        what,
        time_zone,
    };
    let mut view = match tenant {
        None => engine.set_schedule(req).await,
        Some(t) => {
            let t = t.trim();
            engine
                .set_schedule_with_tenant(req, (!t.is_empty()).then_some(t))
                .await
        }
    }
    .map_err(err)?;
    if paused {
        engine
            .pause_schedule(&project, kind, true)
            .await
            .map_err(err)?;
        view.paused = true;
    }
    Ok(view)
}

/// Pause (`true`) or resume a project's schedule of this kind.
#[tauri::command]
#[specta::specta]
pub async fn pause_schedule(
    shell: State<'_, Shell>,
    project: String,
    kind: ScheduleKind,
    paused: bool,
) -> CmdResult<()> {
    shell
        .engine()?
        .pause_schedule(&project, kind, paused)
        .await
        .map_err(err)
}

/// Remove a project's schedule of this kind; whether there was one.
#[tauri::command]
#[specta::specta]
pub async fn clear_schedule(
    shell: State<'_, Shell>,
    project: String,
    kind: ScheduleKind,
) -> CmdResult<bool> {
    shell
        .engine()?
        .clear_schedule(&project, kind)
        .await
        .map_err(err)
}

/// Add a named backup schedule (its name must be free): its time, type, destinations, retention
/// and selection as the editor holds them (`null`: the project's). Returns it with its next runs.
#[tauri::command]
#[specta::specta]
pub async fn add_named_schedule(
    shell: State<'_, Shell>,
    project: String,
    edit: ScheduleEdit,
) -> CmdResult<ScheduleView> {
    let req = edit.request(&project).map_err(err)?;
    shell.engine()?.add_named_schedule(req).await.map_err(err)
}

/// Replace a named backup schedule's time and plan with the editor's (it must exist; its zone,
/// when `null`, stays as it is).
#[tauri::command]
#[specta::specta]
pub async fn change_named_schedule(
    shell: State<'_, Shell>,
    project: String,
    edit: ScheduleEdit,
) -> CmdResult<ScheduleView> {
    let req = edit.request(&project).map_err(err)?;
    shell
        .engine()?
        .change_named_schedule(req)
        .await
        .map_err(err)
}

/// Remove a named backup schedule; whether there was one. Its backups stay; from then on the
/// project's retention policy prunes them.
#[tauri::command]
#[specta::specta]
pub async fn remove_named_schedule(
    shell: State<'_, Shell>,
    project: String,
    name: String,
) -> CmdResult<bool> {
    shell
        .engine()?
        .remove_named_schedule(&project, &name)
        .await
        .map_err(err)
}

/// Pause (`true`) or resume a named backup schedule.
#[tauri::command]
#[specta::specta]
pub async fn pause_named_schedule(
    shell: State<'_, Shell>,
    project: String,
    name: String,
    paused: bool,
) -> CmdResult<()> {
    shell
        .engine()?
        .pause_named_schedule(&project, &name, paused)
        .await
        .map_err(err)
}

/// The next 5 runs of a spec as if it were saved now (nothing is saved): the editor's preview.
#[tauri::command]
#[specta::specta]
pub async fn preview_schedule(
    shell: State<'_, Shell>,
    when: ScheduleWhen,
    time_zone: Option<String>,
) -> CmdResult<SchedulePreview> {
    let engine = shell.engine()?;
    let spec = when.spec().map_err(err)?;
    engine
        .preview_schedule(&spec, time_zone.as_deref(), PREVIEW_RUNS)
        .map_err(err)
}

/// A project's retention policy (no rules: everything is kept) and the zone of its periods.
#[tauri::command]
#[specta::specta]
pub async fn get_retention(shell: State<'_, Shell>, project: String) -> CmdResult<RetentionView> {
    shell.engine()?.retention(&project).await.map_err(err)
}

/// Set (replace) a project's retention policy (`keep_within`: `36h`, `30d`, `8w`, `6m`, `1y`;
/// counts at least 1; no rule keeps everything). `time_zone`: `null` for this computer's.
#[tauri::command]
#[specta::specta]
pub async fn set_retention(
    shell: State<'_, Shell>,
    project: String,
    policy: RetentionPolicy,
    time_zone: Option<String>,
) -> CmdResult<RetentionView> {
    shell
        .engine()?
        .set_retention(&project, policy, time_zone.as_deref())
        .await
        .map_err(err)
}

/// What the saved policy keeps (with reasons) and would remove now; changes nothing.
#[tauri::command]
#[specta::specta]
pub async fn preview_prune(shell: State<'_, Shell>, project: String) -> CmdResult<PruneOutcome> {
    prune(&shell, project, true).await
}

/// When retention is expected to remove each of a project's backups (assuming the backup
/// schedule runs on time): the backups list shows it, so nothing disappears by surprise.
#[tauri::command]
#[specta::specta]
pub async fn removal_forecast(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<Vec<offsite_core::ops::prune::RemovalForecast>> {
    shell
        .engine()?
        .removal_forecast(&project)
        .await
        .map_err(err)
}

/// Apply the saved policy now (a `prune` job): removes what it does not keep.
#[tauri::command]
#[specta::specta]
pub async fn apply_retention(shell: State<'_, Shell>, project: String) -> CmdResult<PruneOutcome> {
    prune(&shell, project, false).await
}

async fn prune(shell: &Shell, project: String, dry_run: bool) -> CmdResult<PruneOutcome> {
    shell
        .engine()?
        .prune(
            PruneOptions {
                project,
                dry_run,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .map_err(err)
}

/// Every project's newest good backup, next run and whether it is overdue, now.
#[tauri::command]
#[specta::specta]
pub async fn project_status(shell: State<'_, Shell>) -> CmdResult<Vec<ProjectStatus>> {
    shell.engine()?.status(None).await.map_err(err)
}

/// The newest jobs of every project matching the filter (project, kind, trigger, state).
#[tauri::command]
#[specta::specta]
pub async fn job_history(shell: State<'_, Shell>, filter: JobFilter) -> CmdResult<Vec<JobRecord>> {
    shell.engine()?.job_history(&filter).await.map_err(err)
}
