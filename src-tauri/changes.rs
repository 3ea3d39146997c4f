//! The window sees every change: the catalog's change feed (written by triggers, whoever writes:
//! this app, the `offsite` command line in another process, a scheduler, the agent) becomes one
//! event stream, `catalog-changed`. The UI's store refreshes exactly what each change names.

use crate::Shell;
use offsite_core::catalog::Change;
use offsite_core::Engine;
use serde::Serialize;
use std::time::Duration;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event;

/// How often the feed is read. A row-less query on an indexed table: cheap enough to run while
/// idle, and a backup made elsewhere shows up within about this long.
pub const POLL_EVERY: Duration = Duration::from_millis(500);

/// The most changes one event carries (more follow in the next one).
const BATCH: u32 = 1_000;

/// Something changed in the catalog. Event name: `catalog-changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, tauri_specta::Event)]
pub struct CatalogChanged {
    /// What changed, oldest first (ids only).
    pub changes: Vec<Change>,
    /// Changes were missed (the feed was pruned past them): reload everything.
    pub reload_all: bool,
}

/// Start reading the feed for the app's lifetime (nothing when the engine did not open). The
/// feed's current end is read before this returns, so every change made after the app is built
/// is reported (a change made while the watcher was still starting is not lost).
pub fn watch<R: Runtime>(app: &AppHandle<R>) {
    let Ok(engine) = app.state::<Shell>().engine().cloned() else {
        return;
    };
    let start = tauri::async_runtime::block_on(engine.last_change_seq()).ok();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        run(engine, start, |event| {
            let _ = event.emit(&app);
            // The tray's icon and tooltip follow the projects' health, which any change may move.
            crate::tray::refresh_soon(&app);
        })
        .await
    });
}

/// Read the feed after `start` (`None`: from its end when first read), forever, handing each
/// non-empty batch to `emit`.
async fn run(engine: Engine, start: Option<i64>, emit: impl Fn(CatalogChanged)) {
    let mut last = start;
    let mut failing = false;
    loop {
        let result = match last {
            None => engine.last_change_seq().await.map(|seq| {
                last = Some(seq);
                None
            }),
            Some(after) => engine.changes_since(after, BATCH).await.map(Some),
        };
        match result {
            Ok(Some(batch)) => {
                failing = false;
                last = Some(batch.last_seq);
                let more_waiting = batch.changes.len() as u32 == BATCH;
                if !batch.changes.is_empty() || batch.missed {
                    emit(CatalogChanged {
                        changes: batch.changes,
                        reload_all: batch.missed,
                    });
                }
                if more_waiting {
                    continue;
                }
            }
            Ok(None) => {}
            Err(e) => {
                // Said once per outage (the catalog busy for longer than its timeout, say).
                if !failing {
                    eprintln!(
                        "offsite: reading the catalog's changes failed: {}",
                        e.message()
                    );
                }
                failing = true;
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}
