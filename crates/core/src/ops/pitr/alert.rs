//! The alert when point-in-time capture loses its slot (docs/pitr.md): the slot held more WAL
//! than its limit and was dropped, or it vanished from the server. One `pitr_slot_dropped` event
//! per lost slot, through the outbox like every other alert: the chain ends in the same step, so
//! the next pass finds no chain to alert about again.

use crate::catalog::{format_timestamp, PitrChain, Project};
use crate::engine::Engine;
use crate::error::Result;
use crate::notify::events::new_event;
use crate::notify::{EventKind, EventProject};

/// Why a chain lost its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lost {
    /// Dropped by the capture: it held `retained` bytes of WAL, over the chain's limit.
    OverLimit { retained: i64 },
    /// Not on the server any more (dropped by someone else, or the server was replaced).
    Vanished,
}

impl Lost {
    pub(crate) fn reason(self, chain: &PitrChain) -> String {
        match self {
            Lost::OverLimit { retained } => format!(
                "its slot held {} of WAL on the server, over the limit of {}: dropped to \
                 protect the server's disk (enable again for a new base)",
                crate::units::format_bytes(u64::try_from(retained).unwrap_or(0)),
                crate::units::format_bytes(u64::try_from(chain.max_retained).unwrap_or(0))
            ),
            Lost::Vanished => format!(
                "the slot {} vanished from the server (dropped by someone else, or the server \
                 was replaced): changes after it were not captured (enable again for a new base)",
                chain.slot
            ),
        }
    }
}

/// End the chain saying why, then queue the alert naming the project and the reason.
pub(crate) async fn slot_lost(
    engine: &Engine,
    project: &Project,
    chain: &PitrChain,
    lost: Lost,
) -> Result<String> {
    let why = lost.reason(chain);
    if !engine.catalog.end_pitr_chain(&chain.id, &why).await? {
        // Ended already (by a pass and a status measuring the same slot at once): whoever
        // ended it sent the alert.
        return Ok(why);
    }
    tracing::warn!(project = %project.name, "point-in-time capture: {why}");
    let who = EventProject {
        id: project.id.clone(),
        name: project.name.clone(),
    };
    let now = format_timestamp(engine.clock.now());
    let summary = format!("Point-in-time capture of {} stopped: {why}", project.name);
    let mut e = new_event(EventKind::PitrSlotDropped, &now, Some(who), summary);
    e.details = serde_json::json!({
        "slot": chain.slot,
        "chain_id": chain.id,
        "reason": why,
        "vanished": lost == Lost::Vanished,
        "retained_bytes": match lost {
            Lost::OverLimit { retained } => Some(retained),
            Lost::Vanished => None,
        },
        "max_retained_bytes": chain.max_retained,
    });
    engine
        .catalog
        .enqueue_event(&e, Some(&project.id), None)
        .await?;
    // Sent now where nothing else delivers (a one-shot `pitr run --once`); the outbox keeps it
    // for the next delivery when this fails.
    if let Err(e) = crate::ops::notify::deliver::deliver_due(engine).await {
        tracing::warn!(project = %project.name, "delivering the alert: {e}");
    }
    Ok(why)
}
