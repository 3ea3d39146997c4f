//! IPC commands. Each one is a few lines: arguments → managed state → one engine call → map the
//! error to `{ code, message, hint, retryable }` ([`ErrorPayload`]).

use offsite_core::catalog::Catalog;
use offsite_core::ErrorPayload;
use serde::Serialize;
use tauri::{AppHandle, Runtime};

/// What the UI shows about the running app.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
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
pub fn app_info<R: Runtime>(app: AppHandle<R>) -> Result<AppInfo, ErrorPayload> {
    // The same data folder as the `offsite` command line: one catalog for both.
    let data_dir = Catalog::default_data_dir().map_err(|e| ErrorPayload::from(&e))?;
    let package = app.package_info();
    Ok(AppInfo {
        name: package.name.clone(),
        version: package.version.to_string(),
        engine: offsite_core::tool_version(),
        data_dir: data_dir.display().to_string(),
    })
}
