//! Updates: the status, "Check now" and "Install and restart" (see `crate::updates`).

use super::CmdResult;
use crate::updates::{self, UpdateStatus};
use tauri::{AppHandle, Runtime};

/// The updater's state, whether automatic checks are on and when the last check was.
#[tauri::command]
#[specta::specta]
pub async fn update_status<R: Runtime>(app: AppHandle<R>) -> CmdResult<UpdateStatus> {
    updates::status(&app).await
}

/// "Check now": ask the update server whatever the once-a-day rule says.
#[tauri::command]
#[specta::specta]
pub async fn check_for_update<R: Runtime>(app: AppHandle<R>) -> CmdResult<UpdateStatus> {
    updates::check(&app, true).await
}

/// "Install and restart" the offered update: at once when no job runs, else when the running
/// jobs have ended.
#[tauri::command]
#[specta::specta]
pub async fn install_update<R: Runtime>(app: AppHandle<R>) -> CmdResult<UpdateStatus> {
    updates::install(&app).await
}
