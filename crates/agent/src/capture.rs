//! Point-in-time capture beside the database (docs/pitr.md, docs/agent.md): every project with
//! a `[projects.<id>.pitr]` table is captured while the agent runs — a pass every few seconds
//! reads what its slot holds into segments, a schema change starts a new base, and a project
//! without a running chain (first start, or its slot was lost) gets one — in the table's `mode`
//! when it has one: a running chain of the other mode is ended and one of that mode started
//! (the engine's [`KeepCapturing::mode`]; the log says it).
//!
//! A lost slot (dropped past its WAL limit, or removed on the server) is not replaced at once:
//! a new base would fill the same disk again; the agent waits [`AFTER_LOSS`] first. A failing
//! start (the server refuses, the base backup fails) is tried again after [`AFTER_FAILURE`].
//! A chain whose project no longer asks for capture is ended and its slot dropped at start,
//! so no slot of this agent fills a disk in silence.

use crate::state::Agent;
use offsite_core::ops::pitr::keep::KeepCapturing;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Time between passes.
pub const EVERY: Duration = Duration::from_secs(5);
/// Wait before a new chain after the slot was lost.
pub const AFTER_LOSS: Duration = Duration::from_secs(600);
/// Wait before starting again after a start failed.
pub const AFTER_FAILURE: Duration = Duration::from_secs(60);

/// The projects the configuration asks to capture, with the limits their chains get.
fn wanted(agent: &Agent) -> Vec<(String, KeepCapturing)> {
    agent
        .config
        .projects
        .iter()
        .filter_map(|(id, p)| {
            let want = p.pitr.as_ref()?.want().ok()?;
            Some((id.clone(), want))
        })
        .collect()
}

/// End the chains of projects that no longer ask for capture (their slot is dropped).
async fn end_unwanted(agent: &Agent) {
    let capturing = match agent.engine.pitr_capturing().await {
        Ok(c) => c,
        Err(e) => return tracing::warn!("point-in-time capture: {e}"),
    };
    for id in capturing {
        if agent
            .config
            .projects
            .get(&id)
            .is_some_and(|p| p.pitr.is_some())
        {
            continue;
        }
        match agent.engine.pitr_disable(&id).await {
            Ok(_) => tracing::info!(
                project = %id,
                "point-in-time capture is no longer configured: slot dropped, chain ended"
            ),
            Err(e) => tracing::warn!(project = %id, "ending point-in-time capture: {e}"),
        }
    }
}

/// Capture until `cancel`.
pub async fn run_capture(agent: Arc<Agent>, cancel: CancellationToken) {
    end_unwanted(&agent).await;
    let wanted = wanted(&agent);
    if wanted.is_empty() {
        return;
    }
    // Per project: no new chain before this instant.
    let mut hold: HashMap<String, Instant> = HashMap::new();
    loop {
        for (id, want) in &wanted {
            if cancel.is_cancelled() {
                return;
            }
            let restart = hold.get(id).is_none_or(|t| Instant::now() >= *t);
            let want = KeepCapturing { restart, ..*want };
            match agent.engine.pitr_keep(id, want, &cancel).await {
                Ok(p) => {
                    if let Some(why) = &p.run.dropped {
                        tracing::warn!(project = %id, "point-in-time capture stopped: {why}");
                        hold.insert(id.clone(), Instant::now() + AFTER_LOSS);
                    }
                    if let (Some(why), Some(e)) = (&p.new_base_why, &p.started) {
                        tracing::info!(
                            project = %id,
                            "point-in-time capture: {why}: new base {} at {}",
                            e.base_backup_id,
                            e.base_at
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(project = %id, "point-in-time capture: {e}");
                    hold.insert(id.clone(), Instant::now() + AFTER_FAILURE);
                }
            }
        }
        // The slots watched while waiting: past a limit, the next passes start now.
        let ids: Vec<String> = wanted.iter().map(|(id, _)| id.clone()).collect();
        agent.engine.pitr_wait(&ids, EVERY, &cancel).await;
        if cancel.is_cancelled() {
            return;
        }
    }
}
