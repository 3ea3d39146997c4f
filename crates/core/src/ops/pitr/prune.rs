//! Prune a project's point-in-time windows by a time window (docs/pitr.md): every window that
//! ended longer ago than `keep_within` is removed whole — its chain's catalog rows first (in one
//! transaction), then its segment files and their `.sha256`, then their copies at the
//! destinations (those locked there wait for their date). Never the newest window. The base
//! backups stay: they are ordinary backups, which the project's retention decides on.

use super::chain_facts;
use crate::archive::sidecar_path;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pitr::window::{self, Window};
use serde::Serialize;
use std::path::Path;

/// One window a prune removed (or, on a dry run, would remove).
#[derive(Debug, Clone, Serialize)]
pub struct PrunedWindow {
    pub window: Window,
    pub base_backup_id: String,
    pub segments: usize,
}

/// What a prune did.
#[derive(Debug, Clone, Serialize)]
pub struct PitrPruned {
    pub dry_run: bool,
    /// Seconds.
    pub keep_within: i64,
    pub removed: Vec<PrunedWindow>,
    /// Segment files that could not be deleted (their rows are gone; the log says why).
    pub left_files: Vec<String>,
    /// The removed windows' copies deleted at the destinations (`destination: key`).
    pub copies_removed: Vec<String>,
    /// Their copies locked at a destination until a date: deleted by the first sync after it.
    pub copies_locked: Vec<String>,
    /// Files of Storage objects' versions no remaining window needs, removed.
    #[serde(default)]
    pub object_files_removed: usize,
}

/// Prune `name`'s windows older than `keep_within` seconds (`None`: the setting stored with
/// `pitr enable --keep-within`).
pub(crate) async fn prune(
    engine: &Engine,
    name: &str,
    keep_within: Option<i64>,
    dry_run: bool,
) -> Result<PitrPruned> {
    let project = engine.catalog.project(name).await?;
    let stored = engine
        .catalog
        .pitr_chains(&project.id)
        .await?
        .into_iter()
        .rev()
        .find_map(|c| c.keep_within);
    let keep = keep_within.or(stored).ok_or_else(|| {
        Error::invalid(format!(
            "no time window to keep for {name}: none given and none stored"
        ))
        .with_hint("offsite pitr prune PROJECT --keep-within 7d")
    })?;
    let now = engine.clock.now().unix_timestamp_nanos() as i64 / 1000;
    let cutoff = now - keep.saturating_mul(1_000_000);
    let chains: Vec<_> = chain_facts(engine, &project)
        .await?
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    let mut out = PitrPruned {
        dry_run,
        keep_within: keep,
        removed: Vec::new(),
        left_files: Vec::new(),
        copies_removed: Vec::new(),
        copies_locked: Vec::new(),
        object_files_removed: 0,
    };
    for (chain, w) in window::prunable(&chains, cutoff) {
        if !dry_run {
            engine.catalog.remove_pitr_chain(&chain.id).await?;
            for s in &chain.segments {
                let p = Path::new(&s.path);
                for f in [p.to_path_buf(), sidecar_path(p)] {
                    match std::fs::remove_file(&f) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            tracing::warn!(project = %name, "pruning {}: {e}", f.display());
                            out.left_files.push(f.to_string_lossy().into_owned());
                        }
                    }
                }
            }
        }
        out.removed.push(PrunedWindow {
            window: w,
            base_backup_id: chain.base_backup_id,
            segments: chain.segments.len(),
        });
    }
    if !dry_run && !out.removed.is_empty() {
        // The Storage objects' versions no remaining window needs (docs/pitr.md).
        let oldest = chain_facts(engine, &project)
            .await?
            .iter()
            .map(|(_, f)| window::window(f).from)
            .min();
        if let Some(oldest) = oldest {
            let kept = crate::pitr::objects::ObjectVersions::in_capture_dir(&super::segment_dir(
                engine, &project,
            ));
            match kept.prune(oldest) {
                Ok(n) => out.object_files_removed = n,
                Err(e) => tracing::warn!(project = %name, "pruning the kept objects: {e}"),
            }
        }
        // Their copies at the destinations go too (a destination offline, or a copy locked
        // until a date, keeps its row: the next sync deletes it).
        let mut gone = super::copies::SegmentSync::default();
        if let Err(e) = super::copies::remove_orphans(engine, &project, &mut gone).await {
            tracing::warn!(project = %name, "removing the pruned segments' copies: {e}");
        }
        // The kept objects' copies lose what no remaining window needs, too.
        super::objects_copy::mirror_all(
            engine,
            &project,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await;
        out.copies_removed = gone.removed;
        out.copies_locked = gone.locked;
    }
    Ok(out)
}

/// The prune after a segment closes (and at `offsite prune`): by the stored setting, when there
/// is one; a failure goes to the log, never fails the capture.
pub(crate) async fn by_stored_setting(engine: &Engine, name: &str) {
    let stored = async {
        let p = engine.catalog.project(name).await?;
        Ok::<_, Error>(
            engine
                .catalog
                .pitr_chains(&p.id)
                .await?
                .iter()
                .rev()
                .find_map(|c| c.keep_within),
        )
    };
    match stored.await {
        Ok(Some(_)) => {
            if let Err(e) = prune(engine, name, None, false).await {
                tracing::warn!(project = %name, "pruning the point-in-time windows: {e}");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(project = %name, "pruning the point-in-time windows: {e}"),
    }
}
