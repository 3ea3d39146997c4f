//! IPC commands, by subject: [`projects`], [`components`], [`encryption`], [`destinations`], [`backups`], [`jobs`], [`remote`], [`settings`], and here what
//! belongs to none (the app's info, native dialogs). Each command is a few lines: arguments →
//! managed state → one engine call → the error as `{ code, message, hint, retryable }`
//! ([`ErrorPayload`]).
//!
//! Passwords go in (add/update project, test connection, restore target) and never come out:
//! no response or event carries one.

pub mod backups;
pub mod browse;
pub mod components;
pub mod destinations;
pub mod diff;
pub mod drills;
pub mod encryption;
pub mod health;
pub mod jobs;
pub mod notify;
pub mod pitr;
pub mod pitr_at;
pub mod projects;
pub mod recover;
pub mod remote;
pub mod schedules;
pub mod settings;
pub mod tenants;
pub mod updates;

pub use settings::DesktopSettings;

use crate::Shell;
use offsite_core::catalog::Catalog;
use offsite_core::{Error, ErrorPayload};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tauri::{AppHandle, Manager, Runtime, State};

pub(crate) type CmdResult<T> = Result<T, ErrorPayload>;

pub(crate) fn err(e: Error) -> ErrorPayload {
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
    /// The engine's version and the archive formats and catalog schema it reads (the About
    /// section shows them; `offsite --version` prints the same).
    pub versions: offsite_core::VersionInfo,
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
        versions: offsite_core::version_info(),
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

/// Show the native save dialog (`title`, suggested `file_name`); the chosen path, or `None` when
/// cancelled. With [`PICK_ANSWER_ENV`] set (end-to-end tests) that path is the answer; when it
/// names a folder, the suggested file name goes into it.
pub(crate) async fn pick_save_path<R: Runtime>(
    app: &AppHandle<R>,
    title: &str,
    file_name: &str,
) -> CmdResult<Option<PathBuf>> {
    if let Some(answer) = std::env::var_os(PICK_ANSWER_ENV) {
        let answer = PathBuf::from(answer);
        return Ok(Some(if answer.is_dir() {
            answer.join(file_name)
        } else {
            answer
        }));
    }
    let Some(dialog) = app.try_state::<tauri_plugin_dialog::Dialog<R>>() else {
        return Err(err(Error::internal("the file dialog is not available")));
    };
    let builder = dialog.file().set_title(title).set_file_name(file_name);
    let picked = tauri::async_runtime::spawn_blocking(move || builder.blocking_save_file())
        .await
        .map_err(|e| err(Error::internal(format!("the file dialog failed: {e}"))))?;
    match picked {
        None => Ok(None),
        Some(p) => p
            .into_path()
            .map(Some)
            .map_err(|e| err(Error::invalid(format!("not a local file: {e}")))),
    }
}
