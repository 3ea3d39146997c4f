//! A chain whose base never finished. A chain's row is written before its base is taken (the
//! slot must exist first, so that no change between the base and the capture is lost); a process
//! killed while taking the base (SIGKILL, a crash, power loss) leaves an active chain that has no
//! base: never restorable, and — before this module — captured for ever and never replaced.
//!
//! A base is taken while its process holds `locks/pitr-base-<project>.lock` (from before the
//! chain's row is written until its base is recorded or the chain ended). An active chain with
//! no base whose lock is free was left by a process that is gone: [`settle`] ends it (its slot
//! dropped, so it holds no WAL on the server) saying why, and the next start makes a new one.

use super::{active_chain, connect, physical};
use crate::catalog::Project;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::pitr::{server, Names};
use std::fs::File;

/// Why such a chain ended (status lists it).
pub(crate) const INTERRUPTED_BASE: &str =
    "its base backup was interrupted (the process taking it stopped)";

/// The lock a base is taken under; `None` when another live process holds it.
pub(crate) fn try_base_lock(engine: &Engine, project: &Project) -> Result<Option<File>> {
    crate::ops::runner::try_named_lock(engine, &format!("pitr-base-{}.lock", project.id))
}

/// [`try_base_lock`], or a `busy` error saying a base is being taken.
pub(crate) fn base_lock(engine: &Engine, project: &Project) -> Result<File> {
    try_base_lock(engine, project)?.ok_or_else(|| {
        Error::new(
            ErrorKind::Busy,
            format!(
                "a point-in-time base is being taken for {} by another Offsite process",
                project.name
            ),
        )
        .with_hint("wait for it to finish, then try again")
    })
}

/// What [`settle`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// No active chain without a base.
    Nothing,
    /// A live process is taking the active chain's base: leave it alone.
    InProgress,
    /// The active chain's base was interrupted: the chain was ended and its slot dropped.
    Ended,
}

/// Ends the project's active chain when it has no base and no process is taking one.
/// `held`: the caller holds the base lock already (enable), so nobody else can be taking it.
pub(crate) async fn settle(engine: &Engine, project: &Project, held: bool) -> Result<Settled> {
    let Some(chain) = active_chain(engine, project).await? else {
        return Ok(Settled::Nothing);
    };
    if chain.base_backup_id.is_some() {
        return Ok(Settled::Nothing);
    }
    let _lock = if held {
        None
    } else {
        match try_base_lock(engine, project)? {
            Some(lock) => Some(lock),
            None => return Ok(Settled::InProgress),
        }
    };
    // Read again under the lock: its base may have been recorded since.
    let Some(chain) = engine.catalog.pitr_chain(&chain.id).await? else {
        return Ok(Settled::Nothing);
    };
    if chain.state != "active" || chain.base_backup_id.is_some() {
        return Ok(Settled::Nothing);
    }
    let (spec, mut conn) = connect(engine, project).await?;
    if chain.mode == "physical" {
        server::drop_slot(&mut conn, &spec, &chain.slot).await?;
        let _ = std::fs::remove_dir_all(physical::wal_dir(engine, &chain.id));
    } else {
        let names = Names {
            slot: chain.slot.clone(),
            publication: chain.publication.clone(),
        };
        server::disable(&mut conn, &spec, &names).await?;
    }
    engine
        .catalog
        .end_pitr_chain(&chain.id, INTERRUPTED_BASE)
        .await?;
    tracing::warn!(project = %project.name, "point-in-time capture: {INTERRUPTED_BASE}");
    Ok(Settled::Ended)
}
