//! At start-up: remove the temporary files a killed run left in the folders Offsite writes to
//! (each project's backup folder, the safety backups), folder by folder under its lock, so a
//! job at work in a folder — in this process or another — keeps its files (see
//! [`crate::tempfiles`]).

use crate::engine::Engine;
use crate::error::Result;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Sweep every folder Offsite writes to; returns what was removed.
pub(crate) async fn sweep(engine: &Engine) -> Result<Vec<PathBuf>> {
    // Deletions a crash interrupted: the rows are gone, the files go now.
    let finished = crate::ops::delete::finish_pending(engine).await?;
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for p in engine.catalog.projects().await? {
        dirs.insert(engine.backup_dir_of(&p));
    }
    dirs.insert(engine.data_dir.join("safety-backups"));
    dirs.insert(engine.decrypt_dir());
    let dirs: Vec<PathBuf> = dirs.into_iter().collect();
    let data_dir = engine.data_dir.clone();
    tokio::task::spawn_blocking(move || {
        let mut removed = finished;
        // Throwaway clusters of drills whose process is gone (stopped, then removed).
        removed.extend(crate::drill::sweep::sweep(&data_dir));
        // Restore folders (format 2) of killed processes, in the system's temporary folder.
        removed.extend(crate::postgres::restore::tmp::sweep_system_temp());
        for d in dirs {
            match crate::tempfiles::sweep(&d) {
                Ok(r) => removed.extend(r),
                Err(e) => tracing::warn!("sweeping {}: {e}", d.display()),
            }
        }
        removed
    })
    .await
    .map_err(|e| crate::error::Error::internal(format!("sweeping failed: {e}")))
}
