//! A due schedule's run (`ops::schedule::run_due` claims it, then calls here): a backup as the
//! schedule's plan says (type, selection, destinations; recorded with the schedule's name), the
//! retention that governs it (the schedule's own, else the project's), copies; a verify of the
//! newest backups; the per-tenant archives after a backup.

use super::schedule::{DueRun, PrunedBackup};
use crate::archive::BackupType;
use crate::catalog::{BackupStatus, Project, ScheduleRecord, ScheduleType};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::job::{new_job_id, JobStart, JobTrigger};
use crate::ops::prune::{self, PruneOptions};
use crate::ops::{BackupOptions, ScheduledBy, VerifyOptions};
use crate::progress::Progress;
use std::sync::Arc;

/// How a scheduled run's jobs start: what started them, and the sink they report to (the
/// front end's, which then shows them as its own: `Engine::run_due_reporting`).
#[derive(Clone, Copy)]
pub(crate) struct Started<'a> {
    pub trigger: JobTrigger,
    pub progress: &'a Arc<dyn Progress>,
}

impl Started<'_> {
    /// The run's job `id`.
    pub fn job(self, id: String) -> JobStart {
        JobStart::new(self.trigger)
            .id(id)
            .progress(self.progress.clone())
    }
    /// A job of the retention that follows the run (pruning, copies).
    pub fn retention(self) -> JobStart {
        JobStart::new(JobTrigger::Retention).progress(self.progress.clone())
    }
}

/// A backup schedule's tenant: one archive per tenant, split from the backup just made, one
/// at a time (a job of its own). A failure fails the run, naming the tenant (the backup and the
/// tenants done before stay).
pub(super) async fn run_tenants(
    engine: &Engine,
    project: &Project,
    tenant: &str,
    how: Started<'_>,
    run: &mut DueRun,
) -> Result<()> {
    let id = new_job_id();
    run.job_ids.push(id.clone());
    engine
        .tenant_backup(&project.name, tenant, None, how.job(id))
        .await
        .map(|_| ())
        .map_err(|e| e.context(format!("the per-tenant backups of tenant {tenant}")))
}

/// The archive type a schedule's type makes (`tenant`: a database backup, then the tenants').
fn archive_type(t: ScheduleType) -> BackupType {
    match t {
        ScheduleType::Database | ScheduleType::Tenant => BackupType::Database,
        ScheduleType::Full => BackupType::Full,
        ScheduleType::Storage => BackupType::Storage,
        ScheduleType::Config => BackupType::Config,
    }
}

/// The backup a schedule makes: its type, its selection, its name and destinations recorded.
pub(crate) fn backup_options(project: &Project, s: &ScheduleRecord) -> Result<BackupOptions> {
    let plan = s.plan()?;
    Ok(BackupOptions {
        backup_type: plan.backup_type.map(archive_type),
        selection: plan.selection,
        schedule: Some(ScheduledBy {
            name: s.name.clone(),
            copy_to: plan.destinations,
        }),
        ..BackupOptions::project(&project.name)
    })
}

/// Schedule `s`'s backup, then the retention that governs it and the copies.
pub(super) async fn run_backup(
    engine: &Engine,
    project: &Project,
    s: &ScheduleRecord,
    job_id: &str,
    how: Started<'_>,
    run: &mut DueRun,
) -> Result<()> {
    let id = job_id.to_string();
    run.job_ids.push(id.clone());
    let opts = backup_options(project, s)?;
    // A project with a backup server is backed up there (made next to the database, then
    // downloaded, verified and registered), as "Back up now" on its server does.
    let has_server = engine
        .catalog
        .components(&project.id)
        .await?
        .server
        .is_some();
    let backup_id = if has_server {
        // The server makes the backup of the schedule's type (the project's when it has none)
        // with the schedule's selection (the project's when it has none); the backup is
        // recorded as this schedule's, for retention and the sync.
        let t = opts.backup_type.map(|t| t.as_str());
        let id = crate::ops::remote::backup(
            engine,
            &project.name,
            t,
            opts.selection.clone(),
            how.job(id),
        )
        .await?
        .backup
        .id;
        if let Some(by) = &opts.schedule {
            engine
                .catalog
                .set_backup_schedule(&id, &by.name, by.copy_to.as_deref())
                .await?;
        }
        id
    } else {
        crate::ops::backup::run(engine, opts, how.job(id))
            .await?
            .backup
            .id
    };
    run.backup_id = Some(backup_id);
    // Retention after every successful scheduled backup (a failure here does not fail the
    // backup: it is recorded in its own job).
    match prune::run(
        engine,
        PruneOptions {
            project: project.name.clone(),
            dry_run: false,
            schedule: Some(s.name.clone()),
        },
        how.retention(),
    )
    .await
    {
        Ok(p) => {
            run.prune_job_id = p.job_id;
            let reason = format!("not kept by the retention policy ({})", p.policy);
            run.pruned = p.removed.iter().map(|r| r.id.clone()).collect();
            run.pruned_backups = p
                .removed
                .into_iter()
                .map(|r| PrunedBackup {
                    id: r.id,
                    created_at: r.created_at,
                    path: r.path,
                    reason: reason.clone(),
                })
                .collect();
        }
        Err(e) => {
            tracing::warn!(project = %project.name, "retention after a scheduled backup failed: {e}")
        }
    }
    // Then the destinations: pending copies retried, each one's own retention applied.
    if !engine.catalog.destinations(&project.id).await?.is_empty() {
        let sync = crate::ops::copy_out::SyncOptions {
            project: project.name.clone(),
        };
        if let Err(e) = crate::ops::copy_out::sync(engine, sync, how.retention()).await {
            tracing::warn!(project = %project.name, "copies after a scheduled backup: {e}")
        }
    }
    Ok(())
}

pub(super) async fn run_verify(
    engine: &Engine,
    project: &Project,
    newest: Option<u32>,
    how: Started<'_>,
    run: &mut DueRun,
) -> Result<()> {
    let backups = engine.catalog.backup_rows(&project.id).await?;
    let take = newest.map_or(backups.len(), |n| n as usize);
    let mut first_error = None;
    for b in backups.into_iter().take(take) {
        let id = new_job_id();
        run.job_ids.push(id.clone());
        match crate::ops::verify::run(engine, VerifyOptions::path(&b.path), how.job(id)).await {
            Ok(o) if !o.report.ok => run.corrupt.push(b.id),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Busy => return Err(e),
            Err(e) => {
                if e.kind() == ErrorKind::NotFound {
                    let _ = engine
                        .catalog
                        .set_backup_status(&b.id, BackupStatus::Missing)
                        .await;
                }
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None if !run.corrupt.is_empty() => Err(Error::new(
            ErrorKind::Integrity,
            format!(
                "{} of {} {} damaged",
                crate::words::count(run.corrupt.len(), "backup"),
                project.name,
                if run.corrupt.len() == 1 { "is" } else { "are" }
            ),
        )
        .with_hint("see `offsite backups NAME`; take a new backup")),
        None => Ok(()),
    }
}
