//! IPC commands. Each one is a few lines: arguments → managed state → one engine call → map the
//! error to `{ code, message, hint, retryable }` ([`ErrorPayload`]).
//!
//! Passwords go in (add/update project, test connection, restore target) and never come out:
//! no response or event carries one.

use crate::jobs::{spawn_job, JobRegistry, JobSubject};
use crate::Shell;
use offsite_core::archive::manifest::Manifest;
use offsite_core::catalog::{BackupRecord, BackupRow, Catalog, JobKind, JobRecord, Project};
use offsite_core::engine::{
    self, BackupParams, ConnectionReport, DeleteOutcome, EngineSettings, ToolsReport,
};
use offsite_core::import::{ImportInto, ImportPreview};
use offsite_core::project::{ConnSpec, TlsMode};
use offsite_core::restore::{RestoreOptions, RestorePlan, RestoreTarget};
use offsite_core::{AddProject, Engine, Error, ErrorPayload, UpdateProject};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tauri::{AppHandle, Manager, Runtime, State};

type CmdResult<T> = Result<T, ErrorPayload>;

fn err(e: Error) -> ErrorPayload {
    ErrorPayload::from(&e)
}

/// What the UI shows about the running app.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, specta::Type)]
pub struct AppInfo {
    /// Product name ("Offsite").
    pub name: String,
    /// App version (from Cargo.toml).
    pub version: String,
    /// The engine's tool version as recorded in manifests ("offsite 0.1.0").
    pub engine: String,
    /// Where the app keeps its catalog and settings.
    pub data_dir: String,
}

/// Name, versions and data directory of the running app.
#[tauri::command]
#[specta::specta]
pub fn app_info<R: Runtime>(app: AppHandle<R>, shell: State<'_, Shell>) -> CmdResult<AppInfo> {
    // The same data folder as the `offsite` command line: one catalog for both.
    let data_dir = match &shell.engine {
        Ok(engine) => engine.data_dir().to_path_buf(),
        Err(_) => Catalog::default_data_dir().map_err(err)?,
    };
    let package = app.package_info();
    Ok(AppInfo {
        name: package.name.clone(),
        version: package.version.to_string(),
        engine: offsite_core::tool_version(),
        data_dir: data_dir.display().to_string(),
    })
}

// ---- projects ----

/// A project with its newest backup.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct ProjectSummary {
    pub project: Project,
    /// The newest local backup (time, size, status), if any; without its `manifest_json` (see
    /// `list_backups` or `inspect_archive` for that).
    pub last_backup: Option<BackupRecord>,
    /// How many backups the catalog records.
    pub backup_count: u32,
}

pub(crate) async fn summary(
    engine: &Engine,
    project: Project,
) -> offsite_core::Result<ProjectSummary> {
    // A count and the newest row: no project's backups are read in full for a card.
    let (count, last_backup) = engine.catalog().backup_summary(&project.id).await?;
    Ok(ProjectSummary {
        backup_count: u32::try_from(count).unwrap_or(u32::MAX),
        last_backup,
        project,
    })
}

/// Where a database is: a URL, or its parts.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// `postgres://USER@HOST:PORT/DATABASE[?sslmode=…]` (a password in it is moved to the
    /// keychain and stripped).
    Url(String),
    Fields {
        host: String,
        port: Option<u16>,
        user: String,
        database: String,
    },
}

impl Connection {
    /// The spec and a password the URL carried.
    fn parse(&self, tls: Option<TlsMode>) -> offsite_core::Result<(ConnSpec, Option<String>)> {
        let (mut spec, pw) = match self {
            Connection::Url(url) => ConnSpec::parse_url(url)?,
            Connection::Fields {
                host,
                port,
                user,
                database,
            } => {
                if host.trim().is_empty() || user.trim().is_empty() || database.trim().is_empty() {
                    return Err(Error::invalid("host, user and database are required")
                        .with_hint("fill in the host, user and database name"));
                }
                let spec = ConnSpec {
                    host: host.trim().to_string(),
                    port: port.unwrap_or(5432),
                    user: user.trim().to_string(),
                    database: database.trim().to_string(),
                    tls: TlsMode::default(),
                };
                (spec, None)
            }
        };
        if let Some(tls) = tls {
            spec.tls = tls;
        }
        Ok((spec, pw))
    }
}

/// A project to add.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct NewProjectRequest {
    pub name: String,
    pub connection: Connection,
    /// Overrides the URL's sslmode.
    pub tls: Option<TlsMode>,
    /// Stored in the OS keychain; never returned.
    pub password: Option<String>,
    /// Where its backups go; `null`: the app's default folder.
    pub backup_dir: Option<String>,
}

/// Changes to a project; `null` keeps the current value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub connection: Option<Connection>,
    pub tls: Option<TlsMode>,
    /// A new password (stored in the OS keychain; never returned).
    pub password: Option<String>,
    /// `""` resets it to the app's default folder.
    pub backup_dir: Option<String>,
}

#[tauri::command]
#[specta::specta]
pub async fn list_projects(shell: State<'_, Shell>) -> CmdResult<Vec<ProjectSummary>> {
    let engine = shell.engine()?;
    let mut out = Vec::new();
    for p in engine.catalog().projects().await.map_err(err)? {
        out.push(summary(engine, p).await.map_err(err)?);
    }
    Ok(out)
}

#[tauri::command]
#[specta::specta]
pub async fn get_project(shell: State<'_, Shell>, name: String) -> CmdResult<ProjectSummary> {
    let engine = shell.engine()?;
    let project = engine.catalog().project(&name).await.map_err(err)?;
    summary(engine, project).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn add_project(
    shell: State<'_, Shell>,
    request: NewProjectRequest,
) -> CmdResult<ProjectSummary> {
    let engine = shell.engine()?;
    let (spec, url_password) = request.connection.parse(request.tls).map_err(err)?;
    let project = engine
        .add_project(AddProject {
            name: request.name,
            db_url: spec.to_url(),
            password: request.password.filter(|p| !p.is_empty()).or(url_password),
            tls: Some(spec.tls),
            backup_dir: request
                .backup_dir
                .filter(|d| !d.trim().is_empty())
                .map(PathBuf::from),
        })
        .await
        .map_err(err)?;
    summary(engine, project).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn update_project(
    shell: State<'_, Shell>,
    name: String,
    changes: ProjectChanges,
) -> CmdResult<ProjectSummary> {
    let engine = shell.engine()?;
    let (db_url, url_password, tls) = match &changes.connection {
        Some(c) => {
            let (spec, pw) = c.parse(changes.tls).map_err(err)?;
            (Some(spec.to_url()), pw, Some(spec.tls))
        }
        None => (None, None, changes.tls),
    };
    let change = UpdateProject {
        name: changes.name,
        db_url,
        password: changes.password.filter(|p| !p.is_empty()).or(url_password),
        tls,
        backup_dir: changes.backup_dir.map(PathBuf::from),
    };
    let project = engine.update_project(&name, change).await.map_err(err)?;
    summary(engine, project).await.map_err(err)
}

/// Removes the project, its catalog rows and its stored password. Backup files stay on disk.
#[tauri::command]
#[specta::specta]
pub async fn remove_project(shell: State<'_, Shell>, name: String) -> CmdResult<()> {
    shell.engine()?.remove_project(&name).await.map_err(err)
}

/// Test a saved project's connection (`name`), or an unsaved one (`connection`, with `tls` and
/// `password`) as typed into the add-project form.
#[tauri::command]
#[specta::specta]
pub async fn test_connection(
    shell: State<'_, Shell>,
    name: Option<String>,
    connection: Option<Connection>,
    tls: Option<TlsMode>,
    password: Option<String>,
) -> CmdResult<ConnectionReport> {
    let engine = shell.engine()?;
    match (name, connection) {
        (Some(name), None) => engine.test_project(&name).await.map_err(err),
        (None, Some(c)) => {
            let (spec, url_password) = c.parse(tls).map_err(err)?;
            let password = password.filter(|p| !p.is_empty()).or(url_password);
            engine::test_connection(&spec, password.as_deref(), engine.pg_bin().as_deref())
                .await
                .map_err(err)
        }
        _ => Err(err(Error::invalid(
            "give either a project name or a connection",
        ))),
    }
}

// ---- backups and jobs ----

/// A project's local backups, newest first, as the list shows them (no checksums or manifests:
/// 10,000 rows must arrive quickly; `inspect_archive` reads one archive's manifest).
#[tauri::command]
#[specta::specta]
pub async fn list_backups(shell: State<'_, Shell>, project: String) -> CmdResult<Vec<BackupRow>> {
    let engine = shell.engine()?;
    let p = engine.catalog().project(&project).await.map_err(err)?;
    engine.catalog().backup_rows(&p.id).await.map_err(err)
}

/// The newest jobs (of one project, or of all), newest first; at most `limit` (default 100).
#[tauri::command]
#[specta::specta]
pub async fn list_jobs(
    shell: State<'_, Shell>,
    project: Option<String>,
    limit: Option<u32>,
) -> CmdResult<Vec<JobRecord>> {
    let engine = shell.engine()?;
    let project_id = match project {
        Some(name) => Some(engine.catalog().project(&name).await.map_err(err)?.id),
        None => None,
    };
    engine
        .catalog()
        .jobs(project_id.as_deref(), limit.unwrap_or(100))
        .await
        .map_err(err)
}

/// Start a backup of `project`; returns the job id at once. Progress: `job-progress` events,
/// then one `job-finished` (its `result.backup` is the new archive).
#[tauri::command]
#[specta::specta]
pub fn start_backup<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    project: String,
) -> CmdResult<String> {
    start_backup_job(app, &shell, &jobs, project)
}

/// What `start_backup` does; also the tray's "Back up all now".
pub(crate) fn start_backup_job<R: Runtime>(
    app: AppHandle<R>,
    shell: &Shell,
    jobs: &JobRegistry,
    project: String,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: Some(project.clone()),
        label: project.clone(),
    };
    Ok(spawn_job(
        app,
        jobs,
        JobKind::Backup,
        subject,
        move |id, cancel, sink| async move {
            engine
                .backup_as(&id, &project, BackupParams::default(), sink, cancel)
                .await
        },
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
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Verify,
        subject,
        move |id, cancel, sink| async move {
            engine
                .verify_as(&id, &PathBuf::from(path), sink, cancel)
                .await
        },
    ))
}

/// The last part of a path, for people (the whole path when it has none).
fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// Where to restore to: a saved project, or a connection (with its password).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum RestoreTo {
    Project(String),
    Connection {
        connection: Connection,
        tls: Option<TlsMode>,
        password: Option<String>,
    },
}

/// What the user consented to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct RestoreChoices {
    /// Allow restoring into a non-empty database (objects in the backup are replaced).
    pub replace: bool,
    /// Skip the safety backup of a non-empty target.
    pub no_safety_backup: bool,
    /// Create missing roles (as NOLOGIN roles).
    pub create_roles: bool,
}

impl From<RestoreChoices> for RestoreOptions {
    fn from(c: RestoreChoices) -> Self {
        RestoreOptions {
            replace: c.replace,
            no_safety_backup: c.no_safety_backup,
            create_roles: c.create_roles,
            ..Default::default()
        }
    }
}

async fn restore_target(engine: &Engine, to: RestoreTo) -> offsite_core::Result<RestoreTarget> {
    match to {
        RestoreTo::Project(name) => engine.restore_target_of(&name).await,
        RestoreTo::Connection {
            connection,
            tls,
            password,
        } => {
            let (spec, url_password) = connection.parse(tls)?;
            Ok(RestoreTarget {
                spec,
                password: password.filter(|p| !p.is_empty()).or(url_password),
            })
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
    let target = restore_target(engine, target).await.map_err(err)?;
    engine
        .plan_restore(&PathBuf::from(path), &target, &choices.into())
        .await
        .map_err(err)
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
    let subject = match &target {
        RestoreTo::Project(name) => JobSubject {
            project: Some(name.clone()),
            label: name.clone(),
        },
        RestoreTo::Connection { connection, .. } => JobSubject {
            project: None,
            label: match connection {
                Connection::Url(url) => ConnSpec::parse_url(url)
                    .map(|(spec, _)| format!("{} on {}", spec.database, spec.host))
                    .unwrap_or_else(|_| "a database".to_string()),
                Connection::Fields { host, database, .. } => format!("{database} on {host}"),
            },
        },
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Restore,
        subject,
        move |id, cancel, sink| async move {
            let target = restore_target(&engine, target).await?;
            engine
                .restore_as(
                    &id,
                    &PathBuf::from(path),
                    &target,
                    &choices.into(),
                    sink,
                    cancel,
                )
                .await
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
        let _ = engine.catalog().set_job_cancelling(&job_id).await;
    }
    Ok(true)
}

/// An archive's manifest (project, time, versions, members, tables), read without verifying.
#[tauri::command]
#[specta::specta]
pub async fn inspect_archive(path: String) -> CmdResult<Manifest> {
    tauri::async_runtime::spawn_blocking(move || {
        offsite_core::archive::reader::read_manifest(&PathBuf::from(path))
    })
    .await
    .map_err(|e| err(Error::internal(format!("reading the manifest failed: {e}"))))?
    .map_err(err)
}

// ---- import ----

/// What a dropped or opened file is: an Offsite archive, a plain `pg_dump -Fc` file or a project
/// export (`.tar.gz` or folder with `database.dump`), with what it holds. Reads only; anything
/// else is the error `unsupported_format` ("not a backup Offsite can read").
#[tauri::command]
#[specta::specta]
pub async fn inspect_import(shell: State<'_, Shell>, path: String) -> CmdResult<ImportPreview> {
    let engine = shell.engine()?;
    engine
        .inspect_import(&PathBuf::from(path))
        .await
        .map_err(err)
}

/// Where an imported file goes.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ImportTo {
    /// A project in the catalog, by name.
    Project(String),
    /// A new project, created for the import (removed again if the import fails).
    NewProject(NewProjectRequest),
}

fn import_into(to: ImportTo) -> offsite_core::Result<ImportInto> {
    Ok(match to {
        ImportTo::Project(project) => ImportInto::Existing { project },
        ImportTo::NewProject(request) => {
            let (spec, url_password) = request.connection.parse(request.tls)?;
            ImportInto::New {
                name: request.name,
                db_url: spec.to_url(),
                tls: Some(spec.tls),
                password: request.password.filter(|p| !p.is_empty()).or(url_password),
                backup_dir: request
                    .backup_dir
                    .filter(|d| !d.trim().is_empty())
                    .map(PathBuf::from),
            }
        }
    })
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
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let into = import_into(into).map_err(err)?;
    let subject = JobSubject {
        project: match &into {
            ImportInto::Existing { project } => Some(project.clone()),
            ImportInto::New { name, .. } => Some(name.clone()),
        },
        label: file_name(&path),
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Import,
        subject,
        move |id, cancel, sink| async move {
            engine
                .import_as(&id, &PathBuf::from(path), into, verify, sink, cancel)
                .await
        },
    ))
}

// ---- backups on disk ----

/// Remove a backup from the list and, when `delete_file`, delete its archive and `.sha256`.
/// The file is deleted only if it still holds this very backup (never another project's data);
/// otherwise the error `conflict` says why and nothing changes.
#[tauri::command]
#[specta::specta]
pub async fn delete_backup(
    shell: State<'_, Shell>,
    backup_id: String,
    delete_file: bool,
) -> CmdResult<DeleteOutcome> {
    shell
        .engine()?
        .delete_backup(&backup_id, delete_file)
        .await
        .map_err(err)
}

/// Show a backup's archive in the system's file manager (selected where the platform can).
/// Takes the backup's id, not a path: the UI cannot open arbitrary paths.
#[tauri::command]
#[specta::specta]
pub async fn show_in_folder(shell: State<'_, Shell>, backup_id: String) -> CmdResult<()> {
    let backup = shell
        .engine()?
        .catalog()
        .backup(&backup_id)
        .await
        .map_err(err)?;
    let path = PathBuf::from(&backup.path);
    if !path.exists() {
        return Err(err(Error::new(
            offsite_core::ErrorKind::NotFound,
            format!("{} is not there any more", backup.path),
        )
        .with_hint(
            "verify the backup to mark it missing, or delete it from the list",
        )));
    }
    tauri_plugin_opener::reveal_item_in_dir(&path).map_err(|e| {
        err(Error::new(
            offsite_core::ErrorKind::ToolFailed,
            format!("could not open the file manager: {e}"),
        )
        .with_hint(format!("the file is {}", backup.path)))
    })
}

/// What to choose in a native dialog.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PickKind {
    /// A backup to import or restore (Offsite archive, pg_dump file, project export).
    ImportFile,
    /// A folder (for backups).
    Folder,
}

/// Environment variable that answers the native dialog without showing it (for end-to-end
/// tests, which cannot drive native dialogs): the path it holds is returned as if chosen.
pub const PICK_ANSWER_ENV: &str = "OFFSITE_TEST_PICK";

/// Show the native open-file or folder dialog; the chosen path, or `null` when cancelled.
#[tauri::command]
#[specta::specta]
pub async fn pick_path<R: Runtime>(
    app: AppHandle<R>,
    kind: PickKind,
    title: Option<String>,
) -> CmdResult<Option<String>> {
    if let Some(answer) = std::env::var_os(PICK_ANSWER_ENV) {
        return Ok(Some(PathBuf::from(answer).display().to_string()));
    }
    let Some(dialog) = app.try_state::<tauri_plugin_dialog::Dialog<R>>() else {
        return Err(err(Error::internal("the file dialog is not available")));
    };
    let mut builder = dialog.file();
    if let Some(title) = title {
        builder = builder.set_title(title);
    }
    let picked = tauri::async_runtime::spawn_blocking(move || match kind {
        PickKind::ImportFile => builder
            .add_filter("Backups", &["gz", "tgz", "dump", "backup", "tar"])
            .add_filter("All files", &["*"])
            .blocking_pick_file(),
        PickKind::Folder => builder.blocking_pick_folder(),
    })
    .await
    .map_err(|e| err(Error::internal(format!("the file dialog failed: {e}"))))?;
    match picked {
        None => Ok(None),
        Some(p) => p
            .into_path()
            .map(|p| Some(p.display().to_string()))
            .map_err(|e| err(Error::invalid(format!("not a local file: {e}")))),
    }
}

// ---- settings ----

/// How the window looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follow the system's light or dark preference.
    #[default]
    System,
    Light,
    Dark,
}

/// The app's preferences: the desktop's own, and the engine's (shared with the command line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct DesktopSettings {
    /// Show a desktop notification when a job finishes while the window is hidden or
    /// unfocused (default on).
    pub notifications: bool,
    /// Start with the window hidden in the tray (default off; ignored without a tray).
    pub start_minimised: bool,
    pub theme: Theme,
    /// A project's last backup is "stale" when older than this many days (default 2).
    pub stale_after_days: u32,
    /// Backups of projects without their own folder go to `<this>/<project>`; `null`: the
    /// data folder's `backups/`.
    pub default_backup_dir: Option<String>,
    /// The folder of pg_dump/pg_restore; `null`: search.
    pub pg_bin: Option<String>,
}

const START_MINIMISED_SETTING: &str = "desktop.start_minimised";
const THEME_SETTING: &str = "desktop.theme";
const STALE_DAYS_SETTING: &str = "desktop.stale_after_days";
const DEFAULT_STALE_DAYS: u32 = 2;

/// Whether the app starts hidden in the tray.
pub(crate) async fn start_minimised(engine: &Engine) -> bool {
    matches!(
        engine.catalog().setting(START_MINIMISED_SETTING).await,
        Ok(Some(v)) if v == "on"
    )
}

/// The app's preferences.
#[tauri::command]
#[specta::specta]
pub async fn get_desktop_settings(shell: State<'_, Shell>) -> CmdResult<DesktopSettings> {
    let engine = shell.engine()?;
    let catalog = engine.catalog();
    let get = |key: &'static str| async move { catalog.setting(key).await.map_err(err) };
    let theme = match get(THEME_SETTING).await?.as_deref() {
        Some("light") => Theme::Light,
        Some("dark") => Theme::Dark,
        _ => Theme::System,
    };
    let stale_after_days = get(STALE_DAYS_SETTING)
        .await?
        .and_then(|v| v.parse().ok())
        .filter(|d| *d > 0)
        .unwrap_or(DEFAULT_STALE_DAYS);
    let engine_settings = engine.settings();
    Ok(DesktopSettings {
        notifications: crate::notify::notifications_enabled(
            get(crate::notify::NOTIFICATIONS_SETTING).await?.as_deref(),
        ),
        start_minimised: start_minimised(engine).await,
        theme,
        stale_after_days,
        default_backup_dir: engine_settings.default_backup_dir,
        pg_bin: engine_settings.pg_bin,
    })
}

/// Check and save the preferences; returns them as saved. A backup folder that cannot be
/// written or a pg_dump folder without working tools is an error, and then nothing is saved.
#[tauri::command]
#[specta::specta]
pub async fn set_desktop_settings(
    shell: State<'_, Shell>,
    settings: DesktopSettings,
) -> CmdResult<DesktopSettings> {
    let engine = shell.engine()?;
    if !(1..=3650).contains(&settings.stale_after_days) {
        return Err(err(Error::invalid(format!(
            "{} days is not a sensible stale interval",
            settings.stale_after_days
        ))
        .with_hint("use a number of days from 1 to 3650")));
    }
    let saved = engine
        .set_settings(EngineSettings {
            default_backup_dir: settings.default_backup_dir.clone(),
            pg_bin: settings.pg_bin.clone(),
        })
        .await
        .map_err(err)?;
    let catalog = engine.catalog();
    let theme = match settings.theme {
        Theme::System => "system",
        Theme::Light => "light",
        Theme::Dark => "dark",
    };
    let stale = settings.stale_after_days.to_string();
    for (key, value) in [
        (
            crate::notify::NOTIFICATIONS_SETTING,
            crate::notify::setting_value(settings.notifications),
        ),
        (
            START_MINIMISED_SETTING,
            if settings.start_minimised {
                "on"
            } else {
                "off"
            },
        ),
        (THEME_SETTING, theme),
        (STALE_DAYS_SETTING, stale.as_str()),
    ] {
        catalog.set_setting(key, value).await.map_err(err)?;
    }
    Ok(DesktopSettings {
        default_backup_dir: saved.default_backup_dir,
        pg_bin: saved.pg_bin,
        ..settings
    })
}

/// The pg_dump/pg_restore pairs on this machine with their versions, and the one configured.
#[tauri::command]
#[specta::specta]
pub async fn detect_tools(shell: State<'_, Shell>) -> CmdResult<ToolsReport> {
    shell.engine()?.tools().await.map_err(err)
}
