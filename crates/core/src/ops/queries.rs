//! What the window, the command line and the agent read: projects, their backups and jobs, by
//! project name (ids stay inside the engine).

use crate::catalog::{BackupRecord, BackupRow, ChangeBatch, JobKind, JobRecord, JobState, Project};
use crate::engine::Engine;
use crate::error::Result;
use crate::ops::job::JobTrigger;
use serde::{Deserialize, Serialize};

pub(crate) async fn projects(engine: &Engine) -> Result<Vec<Project>> {
    engine.catalog.projects().await
}

pub(crate) async fn project(engine: &Engine, name: &str) -> Result<Project> {
    engine.catalog.project(name).await
}

/// A project's backups, newest first, with checksums and manifests.
pub(crate) async fn backups(engine: &Engine, project: &str) -> Result<Vec<BackupRecord>> {
    let p = engine.catalog.project(project).await?;
    engine.catalog.backups(&p.id).await
}

/// A project's backups as a list shows them (no checksums or manifests: 10,000 rows arrive
/// quickly).
/// A backup as `offsite backups` lists it: its record, and whether its archive is still on disk.
#[derive(Debug, Clone, Serialize)]
pub struct ListedBackup {
    #[serde(flatten)]
    pub record: BackupRecord,
    /// The archive file is not at its path any more (deleted or moved by hand): nothing can be
    /// verified or restored from this entry.
    pub missing: bool,
    /// A missing backup with a checked copy at a destination: that destination's name. The
    /// way back is `offsite fetch-copy PROJECT ID` (not `forget`, which would lose track of
    /// the copy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_from: Option<String>,
    /// The canary's verdict, the note, who started it, the pin, what started it.
    #[serde(flatten)]
    pub marks: crate::catalog::BackupMarks,
}

/// A project's backups, newest first, each checked for its archive file on disk; a missing one
/// names a destination holding a checked copy of it, if any.
pub(crate) async fn backup_list(engine: &Engine, project: &str) -> Result<Vec<ListedBackup>> {
    let p = engine.catalog.project(project).await?;
    let records = engine.catalog.backups(&p.id).await?;
    let destinations = engine.catalog.destinations(&p.id).await?;
    let mut marks = engine.catalog.backup_marks(&p.id).await?;
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        // Only "not there" counts: a file we may not read is still there.
        let missing = matches!(
            std::fs::symlink_metadata(&record.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound
        );
        let fetch_from = match missing {
            true => copy_to_fetch(engine, &record.id, &destinations).await?,
            false => None,
        };
        out.push(ListedBackup {
            marks: marks.remove(&record.id).unwrap_or_default(),
            record,
            missing,
            fetch_from,
        });
    }
    Ok(out)
}

/// The destination (by name) holding a stored copy of `backup_id` whose last check passed
/// (a verified one first).
async fn copy_to_fetch(
    engine: &Engine,
    backup_id: &str,
    destinations: &[crate::catalog::DestinationRecord],
) -> Result<Option<String>> {
    use crate::catalog::{BackupStatus, CopyState, LOCAL_DESTINATION};
    let mut copies: Vec<_> = engine
        .catalog
        .copies(backup_id)
        .await?
        .into_iter()
        .filter(|c| {
            c.destination != LOCAL_DESTINATION
                && c.state == CopyState::Stored
                && matches!(c.status, BackupStatus::Verified | BackupStatus::Unverified)
        })
        .collect();
    copies.sort_by_key(|c| c.status != BackupStatus::Verified);
    Ok(copies.into_iter().find_map(|c| {
        destinations
            .iter()
            .find(|d| d.id == c.destination)
            .map(|d| d.name.clone())
    }))
}

/// A project's backups as a list shows them (no checksums or manifests: 10,000 rows arrive
/// quickly).
pub(crate) async fn backup_rows(engine: &Engine, project: &str) -> Result<Vec<BackupRow>> {
    let p = engine.catalog.project(project).await?;
    engine.catalog.backup_rows(&p.id).await
}

pub(crate) async fn backup(engine: &Engine, backup_id: &str) -> Result<BackupRecord> {
    engine.catalog.backup(backup_id).await
}

/// The newest `limit` jobs, of one project (by name) or of all.
pub(crate) async fn jobs(
    engine: &Engine,
    project: Option<&str>,
    limit: u32,
) -> Result<Vec<JobRecord>> {
    let project_id = match project {
        Some(name) => Some(engine.catalog.project(name).await?.id),
        None => None,
    };
    engine.catalog.jobs(project_id.as_deref(), limit).await
}

/// Which jobs a history lists: every given filter must match (`None`: any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct JobFilter {
    /// A project, by name.
    pub project: Option<String>,
    pub kind: Option<JobKind>,
    pub trigger: Option<JobTrigger>,
    pub state: Option<JobState>,
    /// At most this many, newest first (default 500).
    pub limit: Option<u32>,
}

/// How many jobs a history lists when its filter does not say.
pub const HISTORY_LIMIT: u32 = 500;

/// The newest jobs matching `filter`, newest first (the history screen; `offsite jobs`).
pub(crate) async fn job_history(engine: &Engine, filter: &JobFilter) -> Result<Vec<JobRecord>> {
    let project_id = match &filter.project {
        Some(name) => Some(engine.catalog.project(name).await?.id),
        None => None,
    };
    engine
        .catalog
        .jobs_filtered(
            project_id.as_deref(),
            filter.kind,
            filter.trigger,
            filter.state,
            filter.limit.unwrap_or(HISTORY_LIMIT),
        )
        .await
}

/// Show a running job as "cancelling" in job lists (its token is cancelled by whoever runs it).
/// False when it had already finished.
pub(crate) async fn mark_cancelling(engine: &Engine, job_id: &str) -> Result<bool> {
    engine.catalog.set_job_cancelling(job_id).await
}

/// The newest change of the catalog's change feed: where a new reader starts.
pub(crate) async fn last_change_seq(engine: &Engine) -> Result<i64> {
    engine.catalog.last_change_seq().await
}

/// What changed in the catalog (projects, backups, jobs), whoever changed it, after `after`.
pub(crate) async fn changes_since(engine: &Engine, after: i64, limit: u32) -> Result<ChangeBatch> {
    engine.catalog.changes_since(after, limit).await
}
