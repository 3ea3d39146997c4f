//! Is every project safe right now (issue 29): the dashboard's data, decided by the engine's
//! health rules (`offsite_core::health`).

use super::{err, CmdResult};
use crate::Shell;
use offsite_core::health::{overview, HealthOverview};
use offsite_core::{Error, ErrorKind};
use tauri::State;

/// Every project's health, worst first, with the summary line ("3 of 4 protected") and the
/// worst state.
#[tauri::command]
#[specta::specta]
pub async fn health(shell: State<'_, Shell>) -> CmdResult<HealthOverview> {
    Ok(overview(shell.engine()?.health(None).await.map_err(err)?))
}

/// Open the Supabase dashboard of `project`'s Supabase project in the browser (the Fix of
/// "Supabase's own daily backup is missing").
#[tauri::command]
#[specta::specta]
pub async fn open_supabase_dashboard(shell: State<'_, Shell>, project: String) -> CmdResult<()> {
    let components = shell.engine()?.components(&project).await.map_err(err)?;
    let url = components
        .supabase
        .as_ref()
        .and_then(|s| offsite_core::health::supabase_dashboard_url(&s.project_ref))
        .ok_or_else(|| {
            err(Error::new(
                ErrorKind::NotFound,
                format!("{project} has no Supabase project"),
            )
            .with_hint("add the Supabase project on the project's Sources tab"))
        })?;
    tauri_plugin_opener::open_url(&url, None::<&str>).map_err(|e| {
        err(Error::new(
            ErrorKind::ToolFailed,
            format!("could not open the browser: {e}"),
        )
        .with_hint(format!("open {url} yourself")))
    })
}
