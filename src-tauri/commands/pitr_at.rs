//! "Look inside at this time" (issue 46): a project's database as it was at a time — the
//! engine's `PROJECT@TIME`, as `offsite browse shop@TIME` makes it: the base restored into a
//! throwaway cluster, the changes replayed, the database dumped into a temporary archive. The
//! archive is held here while the browse screen reads it (and "Recover these rows…" recovers
//! from it), and removed when the screen closes it — or, when the app quits first, when the next
//! state is made (the engine sweeps its folder of what no running process holds).

use super::{err, CmdResult};
use crate::jobs::{spawn_job, JobRegistry};
use crate::Shell;
use offsite_core::catalog::JobKind;
use offsite_core::ops::pitr::at::{AtArchive, AtState};
use offsite_core::ops::resolve::AtRef;
use offsite_core::pitr::parse_time;
use offsite_core::progress::Reporter;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Runtime, State};

/// The states made for browsing, by their archive's path. Managed state.
#[derive(Default, Clone)]
pub struct HeldStates(Arc<Mutex<HashMap<String, AtArchive>>>);

impl HeldStates {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, AtArchive>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Keep `a` until [`close_at`]; returns its path (what the browse commands take).
    fn hold(&self, a: AtArchive) -> String {
        let path = a.path.display().to_string();
        self.map().insert(path.clone(), a);
        path
    }
    /// Stop holding `archive`; its folder is removed. False: none is held under that path.
    fn release(&self, archive: &str) -> bool {
        let gone = self.map().remove(archive);
        gone.is_some()
    }
}

/// A state made and held: `archive` is what the browse and recover commands take.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct OpenedAt {
    pub archive: String,
    pub state: AtState,
}

/// Make `project`'s database as it was at `at` (RFC 3339) and hold it for browsing; returns
/// the job id at once. `job-finished` carries `result.kind == "at_state"`: the archive's path
/// and the state (the base, the last commit replayed). A time in no window is refused as the
/// plan refuses it, naming the nearest restorable times.
#[tauri::command]
#[specta::specta]
pub fn start_open_at<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    held: State<'_, HeldStates>,
    project: String,
    at: String,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let at = parse_time(&at).map_err(err)?;
    let held = held.inner().clone();
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Restore,
        super::pitr::as_of_a_time(&project),
        move |start| async move {
            let reporter =
                Reporter::new(start.progress.clone(), start.id.clone().unwrap_or_default());
            let r = AtRef { project, at };
            let made = engine.materialise_at(&r, &reporter, &start.cancel).await?;
            let state = made.state.clone();
            Ok(OpenedAt {
                archive: held.hold(made),
                state,
            })
        },
    ))
}

/// Remove a state [`start_open_at`] made (the browse screen was closed). False: no state is
/// held under that path (already closed).
#[tauri::command]
#[specta::specta]
pub async fn close_at(held: State<'_, HeldStates>, archive: String) -> CmdResult<bool> {
    let held = held.inner().clone();
    tokio::task::spawn_blocking(move || held.release(&archive))
        .await
        .map_err(|e| {
            err(offsite_core::Error::internal(format!(
                "closing the state failed: {e}"
            )))
        })
}
