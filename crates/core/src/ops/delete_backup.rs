//! `offsite delete BACKUP [--everywhere] [--force]`: one backup deleted here (its archive and
//! `.sha256`, when the file still holds it) and, with `everywhere`, its copies at every
//! destination too. The project's newest good backup is never left without a good copy unless
//! forced: the last way back is not deleted by a slip.
//!
//! With `everywhere`, a copy still locked at its destination (S3 Object Lock, a bucket's default
//! retention) is kept, with its catalog entry and the backup's: the unlocked copies are deleted
//! and the outcome names each locked one and the date it is locked until (the destination's
//! retention, or `delete --everywhere` again after that date, removes it). An unreachable
//! destination still refuses the whole deletion before anything is deleted.
//!
//! Without `everywhere`, a backup that has stored copies at destinations keeps them (and its
//! catalog entry, marked missing here); otherwise the entry goes with the file.

use crate::catalog::{
    BackupCopy, BackupStatus, CopyState, DestinationRecord, Project, LOCAL_DESTINATION,
};
use crate::destinations::Destination;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::copy_out::{locked_until, utc_minute, LockedCopy};
use crate::ops::destinations::Opened;
use crate::ops::{delete, runner};
use serde::Serialize;

/// Which backup to delete, and how far.
#[derive(Debug, Clone, Default)]
pub struct DeleteBackupOptions {
    /// The backup's catalog id.
    pub backup_id: String,
    /// Its copies at every destination too.
    pub everywhere: bool,
    /// Delete even the only good copy of the project's newest good backup.
    pub force: bool,
}

/// A copy deleted at a destination.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeletedCopy {
    pub destination: String,
    pub location: String,
}

/// What `delete` did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeleteBackupOutcome {
    pub backup_id: String,
    /// The local archive's path.
    pub path: String,
    /// Whether the local archive (and its `.sha256`) was deleted.
    pub file_deleted: bool,
    /// The copies deleted at destinations (`everywhere`).
    pub copies_deleted: Vec<DeletedCopy>,
    /// The destinations still holding a copy (without `everywhere`).
    pub copies_kept: Vec<String>,
    /// With `everywhere`: the copies kept because they are locked at their destination, each
    /// with its date (the backup stays in the catalog with them; `copies_kept` names their
    /// destinations).
    pub copies_locked: Vec<LockedCopy>,
    /// Whether the backup is gone from the catalog (false: copies elsewhere keep it listed).
    pub removed_from_catalog: bool,
}

fn good(status: BackupStatus) -> bool {
    matches!(status, BackupStatus::Verified | BackupStatus::Unverified)
}

/// Delete a backup (see the module's description). Refused while a job runs on the project.
pub(crate) async fn run(engine: &Engine, opts: DeleteBackupOptions) -> Result<DeleteBackupOutcome> {
    let record = engine.catalog.backup(&opts.backup_id).await?;
    let project = engine.catalog.project_by_id(&record.project_id).await?;
    let _lock = runner::lock_project(engine, &project)?;
    let destinations = engine.catalog.destinations(&project.id).await?;
    let name_of = |id: &str| {
        destinations
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let elsewhere: Vec<_> = engine
        .catalog
        .copies(&record.id)
        .await?
        .into_iter()
        .filter(|c| c.destination != LOCAL_DESTINATION)
        .collect();
    let good_elsewhere = elsewhere
        .iter()
        .filter(|c| c.state == CopyState::Stored && good(c.status))
        .count();
    let newest_good = engine
        .catalog
        .backups(&project.id)
        .await?
        .into_iter()
        .find(|b| good(b.status) && b.tenant().is_none());
    let is_newest_good = newest_good.is_some_and(|b| b.id == record.id);
    // Every copy is opened and its lock read before anything is deleted (an unreachable
    // destination refuses the whole deletion, nothing half done); a locked copy is kept.
    let (planned, locked) = if opts.everywhere {
        open_copies(engine, &project, &destinations, &elsewhere).await?
    } else {
        (Vec::new(), Vec::new())
    };
    let left = if opts.everywhere {
        locked
            .iter()
            .filter(|(id, _)| {
                elsewhere
                    .iter()
                    .any(|c| &c.id == id && c.state == CopyState::Stored && good(c.status))
            })
            .count()
    } else {
        good_elsewhere
    };
    if is_newest_good && left == 0 && !opts.force {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "backup {} is the newest good backup of {} and this would delete its only good copy",
                record.id, project.name
            ),
        )
        // The whole command, not "add --force": the app shows this hint too, and has no flag.
        .with_hint(format!(
            "take a new backup first, or delete it anyway from a terminal: offsite delete {} --force",
            record.id
        )));
    }
    let mut out = DeleteBackupOutcome {
        backup_id: record.id.clone(),
        path: record.path.clone(),
        file_deleted: false,
        copies_deleted: Vec::new(),
        copies_kept: Vec::new(),
        copies_locked: locked.iter().map(|(_, l)| l.clone()).collect(),
        removed_from_catalog: false,
    };
    if opts.everywhere {
        for c in &elsewhere {
            if locked.iter().any(|(id, _)| id == &c.id) {
                continue; // kept, registered, with the backup
            }
            if let Some((d, dest)) = planned.iter().find(|(id, _)| id == &c.id).map(|(_, p)| p) {
                dest.delete(&c.location).await?;
                let _ = dest
                    .delete(&super::copy_out::sidecar_key(&c.location))
                    .await;
                out.copies_deleted.push(DeletedCopy {
                    destination: d.clone(),
                    location: c.location.clone(),
                });
            }
            engine.catalog.remove_copy(&c.id).await?;
        }
    }
    let stored_elsewhere = if opts.everywhere {
        !locked.is_empty()
    } else {
        elsewhere.iter().any(|c| c.state == CopyState::Stored)
    };
    let done = if stored_elsewhere {
        out.copies_kept = elsewhere
            .iter()
            .filter(|c| c.state == CopyState::Stored)
            .filter(|c| !opts.everywhere || locked.iter().any(|(id, _)| id == &c.id))
            .map(|c| name_of(&c.destination))
            .collect();
        delete::delete_local_copy_locked(engine, &record, &project).await?
    } else {
        out.removed_from_catalog = true;
        delete::delete_locked(engine, &record, &project, true).await?
    };
    out.file_deleted = done.file_deleted;
    Ok(out)
}

/// A stored copy ready to delete: its id, and its destination's name and opened store.
type Planned = (String, (String, Box<dyn Destination>));

/// Open the destination of every stored copy and read each copy's lock: the date the catalog
/// recorded at upload, and for S3 the date the store itself says (a bucket's default retention
/// locks copies Offsite did not ask to lock). Returns the copies to delete and those kept
/// because they are still locked (by copy id). A copy that was ever locked is deleted with every
/// version (a bucket with Object Lock keeps versions; a plain delete there only adds a delete
/// marker), whatever the destination's setting is now.
async fn open_copies(
    engine: &Engine,
    project: &Project,
    destinations: &[DestinationRecord],
    elsewhere: &[BackupCopy],
) -> Result<(Vec<Planned>, Vec<(String, LockedCopy)>)> {
    let now = engine.clock.now();
    let mut planned = Vec::new();
    let mut locked = Vec::new();
    for c in elsewhere.iter().filter(|c| c.state == CopyState::Stored) {
        let d = destinations
            .iter()
            .find(|d| d.id == c.destination)
            .ok_or_else(|| Error::internal("a copy at an unknown destination"))?;
        let mut until = locked_until(c, now);
        let dest: Box<dyn Destination> =
            match super::destinations::open_with(engine, project, d, None).await? {
                Opened::S3(s3) => {
                    let at_store = s3.lock_of(&c.location).await?;
                    until = until.max(at_store.filter(|t| *t > now));
                    let ever_locked = c.retain_until.is_some()
                        || at_store.is_some()
                        || d.s3.as_ref().is_some_and(|s| s.object_lock.is_some());
                    Box::new(s3.deleting_all_versions(ever_locked))
                }
                Opened::Other(dest) => dest,
            };
        match until {
            Some(t) => locked.push((
                c.id.clone(),
                LockedCopy {
                    backup_id: c.backup_id.clone(),
                    destination: d.name.clone(),
                    location: c.location.clone(),
                    locked_until: t
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    note: format!("locked until {}", utc_minute(t)),
                },
            )),
            None => planned.push((c.id.clone(), (d.name.clone(), dest))),
        }
    }
    Ok((planned, locked))
}

impl Engine {
    /// Delete one backup here and, with `everywhere`, at every destination (see
    /// [`crate::ops::delete_backup`]).
    pub async fn delete_backup_everywhere(
        &self,
        opts: DeleteBackupOptions,
    ) -> Result<DeleteBackupOutcome> {
        run(self, opts).await
    }
}
