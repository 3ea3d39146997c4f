//! The watchers: what the due loop (app, daemon, agent) and `offsite run-due` look at after each
//! check of the schedules, and the events they raise (issue 27).
//!
//! Each watcher keeps its own cadence in the catalog ([`Catalog::claim_watch`]: across restarts,
//! sleep and several processes), so a minute's check costs one small query per watcher that is
//! not due. A watcher's conditions (`notify_conditions`, [`Catalog::record_condition`]) fire
//! their events once per transition, in the same transaction as the new state.
//!
//! One watcher's failure (a project it cannot read, a server that does not answer) is logged and
//! does not keep the others, or the delivery after them, from running.
//!
//! [`Catalog::claim_watch`]: crate::catalog::Catalog::claim_watch
//! [`Catalog::record_condition`]: crate::catalog::Catalog::record_condition

pub mod agent;
pub mod copies;
pub mod platform;
pub mod settings;
pub mod space;

use crate::engine::Engine;
use crate::error::Result;
use crate::ops::schedule::ProjectStatus;
use std::time::Duration;

/// How often retention's 7-day warnings are recomputed (a forecast per project). A backup or a
/// prune resets it ([`RETENTION_WATCH`]), so a change is seen at the next check.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);
/// The name under which the retention watcher's last run is kept (the catalog resets it).
pub use crate::catalog::RETENTION_WATCH;

/// Run every watcher that is due, after a check of the schedules (`statuses`, which the overdue
/// rule reads). Returns how many events were queued.
pub(crate) async fn run_watches(engine: &Engine, statuses: &[ProjectStatus]) -> u32 {
    let mut made = 0;
    // Overdue transitions: every check (the status is already computed).
    made += logged(
        "recording overdue states",
        super::deliver::record_overdue(engine, statuses).await,
    );
    // Retention's removals within 7 days, each backup announced once.
    if due(engine, RETENTION_WATCH, RETENTION_EVERY).await {
        made += logged(
            "retention warnings",
            super::retention::warn_ahead(engine).await,
        );
    }
    made += watch_agents_and_platform(engine).await;
    made += watch_copies_and_space(engine).await;
    made
}

/// The backup servers (`agent`, every 15 minutes) and Supabase's own backups (`platform`, every
/// 6 hours).
async fn watch_agents_and_platform(engine: &Engine) -> u32 {
    let mut made = 0;
    if due(engine, agent::AGENT_WATCH, agent::AGENT_EVERY).await {
        made += logged("agent watch", agent::watch(engine).await);
    }
    if due(engine, platform::PLATFORM_WATCH, platform::PLATFORM_EVERY).await {
        made += logged("platform watch", platform::watch(engine).await);
    }
    made
}

/// Copies pending too long (every 15 minutes) and space running out (hourly).
async fn watch_copies_and_space(engine: &Engine) -> u32 {
    let mut made = 0;
    if due(engine, copies::COPIES_WATCH, copies::COPIES_EVERY).await {
        made += logged("copy watcher", copies::watch_copies(engine).await);
    }
    if due(engine, space::SPACE_WATCH, space::SPACE_EVERY).await {
        made += logged("space watcher", space::watch_space(engine).await);
    }
    made
}

/// Whether `watch` is due now (and claimed); a catalog error is logged and counts as not due.
pub(crate) async fn due(engine: &Engine, watch: &str, every: Duration) -> bool {
    match engine.catalog.claim_watch(watch, every).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(watch, "checking a watcher's cadence failed: {e}");
            false
        }
    }
}

fn logged(what: &str, r: Result<u32>) -> u32 {
    r.unwrap_or_else(|e| {
        tracing::warn!("{what} failed: {e}");
        0
    })
}
