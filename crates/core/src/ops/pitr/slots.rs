//! Offsite's slots watched whether a capture runs or not (issue 63 item 5, docs/pitr.md "The
//! server's disk comes first"). A capture pass and its watcher hold a slot to its limit only
//! while a capture process runs; once `pitr run` is stopped (or the app closed) nothing read the
//! slot and the server kept WAL for it without bound. So every reading of the status — `offsite
//! status`, `pitr status`, the app's dashboard and tray, the background loop of the app, `offsite
//! daemon` and `offsite serve` — measures the slot of each capture this catalog runs: past its
//! limit the slot is dropped at once and the alert goes out (the chain ends saying why, which the
//! status then says until the capture is started again or turned off); the size held is what the
//! health rules compare with the warning share ([`crate::health::SLOT_WARN_PERCENT`]).
//!
//! A slot a capture is reading (`active`) is left to that capture's own watcher (a slot in use
//! cannot be dropped). A slot that is not on the server is left to the next pass (it ends the
//! chain as vanished): a status read while `pitr disable` or a new base drops and makes slots must
//! not end a chain that is merely being replaced. A server that does not answer is not measured
//! (the status goes on from the catalog).

use super::{alert, connect, Lost};
use crate::catalog::{PitrChain, Project};
use crate::engine::Engine;
use crate::health::SlotHeld;
use crate::pitr::server;
use std::collections::HashMap;
use std::time::Duration;

/// How long one project's measure may take (connection included): a status waits no longer for
/// a server that does not answer.
const MEASURE_TIMEOUT: Duration = Duration::from_secs(10);

/// Measure the slot of every capture this catalog runs (or only project `only`'s); drop each
/// past its limit (alerting); return what the others hold, by project name.
pub(crate) async fn watch(engine: &Engine, only: Option<&str>) -> HashMap<String, SlotHeld> {
    let mut out = HashMap::new();
    let names = match only {
        Some(n) => vec![n.to_string()],
        None => match engine.catalog.pitr_active_projects().await {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!("reading the captures to watch: {e}");
                return out;
            }
        },
    };
    for name in names {
        let Ok(project) = engine.catalog.project(&name).await else {
            continue;
        };
        let chain = match super::active_chain(engine, &project).await {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(project = %name, "reading the capture to watch: {e}");
                continue;
            }
        };
        match tokio::time::timeout(MEASURE_TIMEOUT, measure(engine, &project, &chain)).await {
            Ok(Some(held)) => {
                out.insert(name, held);
            }
            Ok(None) => {}
            Err(_) => tracing::warn!(
                project = %name,
                "the capture's slot was not measured: the server did not answer in {} s",
                MEASURE_TIMEOUT.as_secs()
            ),
        }
    }
    out
}

/// One chain's slot measured; dropped (and the chain ended, the alert sent) past its limit.
/// `None`: not measured, or dropped now.
async fn measure(engine: &Engine, project: &Project, chain: &PitrChain) -> Option<SlotHeld> {
    let name = &project.name;
    let (spec, mut conn) = match connect(engine, project).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(project = %name, "the capture's slot was not measured: {e}");
            return None;
        }
    };
    let state = match server::slot_state(&mut conn, &spec, &chain.slot).await {
        Ok(Some(s)) => s,
        // Gone: the next pass ends the chain as vanished (see the module's description).
        Ok(None) => return None,
        Err(e) => {
            tracing::debug!(project = %name, "the capture's slot was not measured: {e}");
            return None;
        }
    };
    // The limit a pass holds it to: lowered by the server's free space when that is known.
    let free = crate::pitr::disk::free_bytes(&mut conn, &spec).await;
    let limit =
        crate::pitr::disk::effective_limit(u64::try_from(chain.max_retained).unwrap_or(0), free);
    let retained = u64::try_from(state.retained_bytes).unwrap_or(0);
    let held = SlotHeld {
        retained,
        limit,
        in_use: state.active,
    };
    if retained <= limit || state.active {
        return Some(held);
    }
    match server::drop_slot(&mut conn, &spec, &chain.slot).await {
        Ok(_) => {
            if chain.mode == "physical" {
                // Its receive folder: the WAL it received is sealed, the slot is gone.
                let _ = std::fs::remove_dir_all(super::physical::wal_dir(engine, &chain.id));
            }
            let mut chain = chain.clone();
            chain.max_retained = i64::try_from(limit).unwrap_or(i64::MAX);
            let lost = Lost::OverLimit {
                retained: state.retained_bytes,
            };
            if let Err(e) = alert::slot_lost(engine, project, &chain, lost).await {
                tracing::warn!(project = %name, "the capture's slot was dropped, but: {e}");
            }
            None
        }
        // Taken by a pass that started meanwhile: its own watcher holds it to the limit.
        Err(e) => {
            tracing::warn!(project = %name, "dropping the capture's slot past its limit: {e}");
            Some(held)
        }
    }
}
