//! Restore drills: start one (a job of kind `drill`; `job-finished` carries its report), list a
//! project's drills, read one with its report; the project's drill settings and validation
//! queries. A scratch server's URL goes in with the start
//! and is never sent back (the report names only host and database).

use super::pick_save_path;
use super::{err, CmdResult};
use crate::jobs::{spawn_job, JobRegistry, JobSubject};
use crate::Shell;
use offsite_core::catalog::{DrillRecord, DrillSummary, JobKind, ValidationCheck};
use offsite_core::drill::settings::{DrillSettings, DrillSettingsChange, TargetSetting};
use offsite_core::ops::drill::DrillOptions;
use offsite_core::ops::drill_report::signed_path;
use offsite_core::ErrorKind;
use serde::Serialize;
use std::path::Path;
use tauri::{AppHandle, Runtime, State};

/// Start a drill of `project`: `backup` an id (or `null`: the newest good backup), `server` a
/// scratch server's URL (or `null`: a throwaway cluster Offsite starts itself), `at` a time (RFC
/// 3339) to drill the project as it was then instead of a backup (the engine's `PROJECT@TIME`;
/// refused beside `backup`, and outside every restorable window). Returns the job
/// id at once; `job-finished` carries `result: { kind: "drill", report }` (a failed drill is a
/// finished job whose report's verdict is `failed`).
#[tauri::command]
#[specta::specta]
pub fn start_drill<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    project: String,
    backup: Option<String>,
    server: Option<String>,
    at: Option<String>,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: Some(project.clone()),
        label: match &at {
            Some(t) => format!("{project} at {t}"),
            None => project.clone(),
        },
    };
    // The app always names the target (the run form's default is the drill settings'): `null`
    // is the throwaway cluster. A URL naming the saved server takes its saved password.
    let opts = DrillOptions {
        project: match &at {
            Some(t) => offsite_core::ops::resolve::at_ref_text(&project, t),
            None => project,
        },
        backup,
        throwaway: server.is_none(),
        server,
        server_password: None,
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Drill,
        subject,
        |start| async move { engine.drill(opts, start).await },
    ))
}

/// A project's drills, newest first (without their reports).
#[tauri::command]
#[specta::specta]
pub async fn list_drills(shell: State<'_, Shell>, project: String) -> CmdResult<Vec<DrillSummary>> {
    let drills = shell.engine()?.drills(&project).await.map_err(err)?;
    Ok(drills.iter().map(DrillSummary::from).collect())
}

/// One drill with its whole report.
#[tauri::command]
#[specta::specta]
pub async fn get_drill(shell: State<'_, Shell>, id: String) -> CmdResult<DrillRecord> {
    shell.engine()?.drill_record(&id).await.map_err(err)
}

/// Whether a recorded drill's signed report verifies.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ReportSignature {
    /// The signature verifies with this machine's key, over exactly the report shown.
    pub valid: bool,
    /// The id of the key that verified it.
    pub key_id: Option<String>,
    /// Why it does not verify.
    pub detail: Option<String>,
}

/// Check the signature of a recorded drill's report (`<id>.signed.json` beside its report) with
/// this machine's key, and that the signed report is the one the catalog shows.
#[tauri::command]
#[specta::specta]
pub async fn verify_drill_signature(
    shell: State<'_, Shell>,
    id: String,
) -> CmdResult<ReportSignature> {
    let engine = shell.engine()?;
    let record = engine.drill_record(&id).await.map_err(err)?;
    let invalid = |detail: String| ReportSignature {
        valid: false,
        key_id: None,
        detail: Some(detail),
    };
    let Some(json) = record.report_path.as_deref() else {
        return Ok(invalid("no report file was kept for this drill".into()));
    };
    match engine.verify_drill_report(&signed_path(Path::new(json)), None) {
        Ok(v) if v.report == record.report => Ok(ReportSignature {
            valid: true,
            key_id: Some(v.key_id),
            detail: None,
        }),
        Ok(_) => Ok(invalid(
            "the signed report differs from the one the catalog holds".into(),
        )),
        Err(e) if matches!(e.kind(), ErrorKind::Integrity | ErrorKind::NotFound) => {
            Ok(invalid(e.message().to_string()))
        }
        Err(e) => Err(err(e)),
    }
}

/// Ask where to save a drill's printable report (HTML), then write it; the path, or `null`
/// when the dialog was cancelled.
#[tauri::command]
#[specta::specta]
pub async fn save_drill_report<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    id: String,
) -> CmdResult<Option<String>> {
    let engine = shell.engine()?;
    let name = format!(
        "offsite-drill-{}.html",
        id.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    );
    let Some(dest) = pick_save_path(&app, "Save the drill report", &name).await? else {
        return Ok(None);
    };
    engine
        .save_drill_report_html(&id, &dest)
        .await
        .map_err(err)?;
    Ok(Some(dest.display().to_string()))
}

/// A project's drill settings: where its drills restore and how many storage objects they
/// check (never a password: only whether one is kept).
#[tauri::command]
#[specta::specta]
pub async fn get_drill_settings(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<DrillSettings> {
    shell.engine()?.drill_settings(&project).await.map_err(err)
}

/// Save a project's drill settings: `server_url` the scratch server (no password in it; `null`:
/// a throwaway cluster), `server_password` its password for the keychain (`null` or empty: keep
/// the saved one for the same server), `storage_sample` how many objects a drill checks (`null`:
/// every object). Returns them as saved.
#[tauri::command]
#[specta::specta]
pub async fn set_drill_settings(
    shell: State<'_, Shell>,
    project: String,
    server_url: Option<String>,
    server_password: Option<String>,
    storage_sample: Option<u32>,
) -> CmdResult<DrillSettings> {
    let change = DrillSettingsChange {
        target: Some(match server_url {
            Some(url) => TargetSetting::Server(url),
            None => TargetSetting::Throwaway,
        }),
        server_password: server_password.filter(|p| !p.is_empty()),
        storage_sample: Some(storage_sample),
    };
    shell
        .engine()?
        .set_drill_settings(&project, change)
        .await
        .map_err(err)
}

/// A project's validation queries (each drill runs them on the restored copy).
#[tauri::command]
#[specta::specta]
pub async fn list_validation_checks(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<Vec<ValidationCheck>> {
    let engine = shell.engine()?;
    engine.validation_checks(&project).await.map_err(err)
}

/// Add a validation query: one read-only query returning one value, and what the value must be
/// (`>= 1000`, `within 26h` …; the engine parses it and refuses what it cannot read).
#[tauri::command]
#[specta::specta]
pub async fn add_validation_check(
    shell: State<'_, Shell>,
    project: String,
    title: Option<String>,
    sql: String,
    expect: String,
) -> CmdResult<ValidationCheck> {
    let engine = shell.engine()?;
    engine
        .add_validation_check(&project, title.as_deref(), &sql, &expect)
        .await
        .map_err(err)
}

/// Remove one of a project's validation queries, by id.
#[tauri::command]
#[specta::specta]
pub async fn remove_validation_check(
    shell: State<'_, Shell>,
    project: String,
    id: String,
) -> CmdResult<ValidationCheck> {
    let engine = shell.engine()?;
    engine
        .remove_validation_check(&project, &id)
        .await
        .map_err(err)
}
