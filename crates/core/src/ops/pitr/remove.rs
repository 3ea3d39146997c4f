//! A project removed while its changes are captured (`offsite project remove`, the app's
//! Remove): its slot and publication are dropped on the server first, so no slot is left
//! keeping WAL for a project nobody captures. When the server cannot be reached the removal is
//! refused, saying the slot would fill its disk, unless the caller leaves the slot knowingly.

use crate::catalog::Project;
use crate::engine::Engine;
use crate::error::{Error, Result};

/// Drop `project`'s slot and publication when its capture is on (its chains end; their
/// windows stay restorable until the project's rows go). `leave_slot`: a server that cannot be
/// reached does not stop the removal (the slot stays there; a warning says so).
pub(crate) async fn release(engine: &Engine, project: &Project, leave_slot: bool) -> Result<()> {
    let Some(chain) = super::active_chain(engine, project).await? else {
        return Ok(());
    };
    let name = &project.name;
    match super::disable(engine, name).await {
        Ok(_) => {
            tracing::info!(project = %name, slot = %chain.slot, "project removed: its slot and publication were dropped");
            Ok(())
        }
        Err(e) if leave_slot => {
            tracing::warn!(project = %name, slot = %chain.slot, "project removed leaving its slot on the server: {e}");
            Ok(())
        }
        Err(e) => Err(Error::new(
            e.kind(),
            format!(
                "{name} captures its changes with the slot {} on its server, and it could not be \
                 dropped ({}): a slot nobody reads keeps every WAL file from now on and will fill \
                 the server's disk",
                chain.slot,
                e.message()
            ),
        )
        .with_hint(format!(
            "make the server reachable and remove {name} again (the slot is dropped first); if \
             the server is gone for good, `offsite project remove {name} --leave-slot` removes \
             it anyway — should the server come back, drop the slot there with SELECT \
             pg_drop_replication_slot('{}')",
            chain.slot
        ))),
    }
}
