//! Copies of a project's archives at its destinations: after each successful backup its archive
//! and `.sha256` go to every destination ([`after_backup`], a step of the backup job), each copy
//! checked (size and SHA-256 of what is stored) and recorded. A destination that cannot take it
//! (offline, unreachable, full) never fails the backup: the copy is recorded `pending` with since
//! when and the last error, and [`sync`] (`offsite sync`, and the schedules' loop) tries again.
//!
//! [`sync`] also applies each destination's own retention policy: over the backups stored there
//! or that could go there, the policy decides; what it keeps and is missing is uploaded, what it
//! does not keep is deleted from that destination (object and `.sha256`) and forgotten. Nothing
//! of another destination, nor the local archive, is ever touched by it.

use crate::archive;
use crate::catalog::{
    parse_timestamp, BackupRecord, BackupStatus, CopyState, CopyTarget, DestinationRecord, JobKind,
    Project,
};
use crate::destinations::{put_file, Destination, FileBody, HashedBody, PutOptions};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, ErrorPayload, Result};
use crate::ops::job::JobStart;
use crate::ops::runner::{self, RunningJob};
use crate::progress::{Phase, Reporter};
use crate::schedule::retention::{decide, Candidate};
use crate::schedule::Zone;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// One attempt to copy a backup to a destination.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CopyResult {
    pub backup_id: String,
    /// The destination's name.
    pub destination: String,
    /// `stored` (there and checked) or `pending` (to be tried again).
    pub state: CopyState,
    /// The object key at the destination.
    pub location: String,
    /// Why it is pending.
    pub error: Option<ErrorPayload>,
}

/// A copy a destination's retention removed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PrunedCopy {
    pub backup_id: String,
    pub destination: String,
    pub location: String,
    /// The object was deleted (false: it was only pending, nothing was there).
    pub deleted: bool,
}

/// A copy a destination's retention would remove but that is locked there (S3 Object Lock):
/// kept until its date, removed by the first sync after it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LockedCopy {
    pub backup_id: String,
    pub destination: String,
    pub location: String,
    /// RFC 3339, UTC.
    pub locked_until: String,
    /// "locked until 2026-12-03 10:00 UTC".
    pub note: String,
}

/// A copy of a backup at a destination that is locked there (S3 Object Lock) until a date after
/// now: whatever retention decides, it stays until then (the prune's and the forecast's words).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CopyLock {
    /// The destination's name.
    pub destination: String,
    /// RFC 3339, UTC.
    pub locked_until: String,
    /// "its copy at bucket stays, locked until 2026-12-03 10:00 UTC".
    pub note: String,
}

/// The locked copies of each of a project's backups, by backup id (only those with one).
pub(crate) async fn copy_locks(
    engine: &Engine,
    project: &Project,
) -> Result<HashMap<String, Vec<CopyLock>>> {
    let names: HashMap<String, String> = engine
        .catalog
        .destinations(&project.id)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let now = engine.clock.now();
    let mut out: HashMap<String, Vec<CopyLock>> = HashMap::new();
    for c in engine.catalog.project_copies(&project.id).await? {
        if c.state != CopyState::Stored {
            continue;
        }
        let Some(until) = locked_until(&c, now) else {
            continue;
        };
        let destination = names
            .get(&c.destination)
            .cloned()
            .unwrap_or_else(|| c.destination.clone());
        out.entry(c.backup_id.clone()).or_default().push(CopyLock {
            note: format!(
                "its copy at {destination} stays, locked until {}",
                utc_minute(until)
            ),
            locked_until: c.retain_until.clone().unwrap_or_default(),
            destination,
        });
    }
    Ok(out)
}

/// Which project to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    pub project: String,
}

/// What a sync did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncOutcome {
    pub project: String,
    pub job_id: String,
    /// Every upload tried.
    pub copies: Vec<CopyResult>,
    /// What each destination's retention removed.
    pub pruned: Vec<PrunedCopy>,
    /// What a destination's retention would remove but is locked there until a date.
    pub locked: Vec<LockedCopy>,
    /// Copies still pending afterwards.
    pub pending: u32,
    /// What the sync did with the point-in-time change segments (docs/pitr.md).
    pub segments: crate::ops::pitr::copies::SegmentSync,
}

/// Where a backup's archive goes at a destination: `<project>/<archive file name>`; a
/// per-tenant archive `<project>/tenants/<tenant>/<value>/<archive file name>`, as in the backup
/// folder (every tenant's archive of one run has the same file name). The tenant's name and
/// value come from the archive's manifest: each is made safe as a folder name (the value as the
/// local folder's is, [`crate::recover::safe_value`]), never a path of its own.
pub(crate) fn object_key(project: &Project, backup: &BackupRecord) -> String {
    let file = Path::new(&backup.path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| backup.id.clone());
    match backup.tenant() {
        Some(t) => format!(
            "{}/{}/{}/{}/{file}",
            project.name,
            crate::ops::resolve::TENANTS_DIR,
            crate::recover::safe_value(&t.name),
            crate::recover::safe_value(&t.value)
        ),
        None => format!("{}/{file}", project.name),
    }
}

pub(crate) fn sidecar_key(key: &str) -> String {
    format!("{key}.sha256")
}

/// Put the archive and its `.sha256`, then check what is stored (size, SHA-256 read back when
/// the destination does not know it). A wrong object is deleted, not recorded.
async fn upload(dest: &dyn Destination, backup: &BackupRecord, key: &str) -> Result<()> {
    let path = Path::new(&backup.path);
    if !path.is_file() {
        return Err(Error::not_found(format!(
            "the local archive {} is not there to copy",
            backup.path
        ))
        .with_hint("fetch it back from another copy, or remove the backup"));
    }
    let want = backup.sha256.to_ascii_lowercase();
    match dest.stat(key).await? {
        // Left by an attempt whose record was lost: kept when it is this archive.
        Some(obj) if obj.size == backup.size && dest.sha256(key).await? == want => {}
        Some(_) => {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "{key} in {} holds another file; it was not replaced",
                    dest.location()
                ),
            )
            .with_hint("move that file away, then run `offsite sync PROJECT`"))
        }
        None => {
            // The archive's SHA-256 is known: a bucket stores it as metadata without reading
            // the file twice, and checks the upload against it.
            let body = HashedBody::new(
                FileBody {
                    path: path.to_path_buf(),
                },
                want.clone(),
            );
            let stored = dest.put(key, &body, PutOptions::default()).await?;
            if stored.size != backup.size || stored.sha256.as_deref() != Some(want.as_str()) {
                let _ = dest.delete(key).await;
                return Err(Error::integrity(format!(
                    "{} changed while it was copied (not its recorded size and SHA-256)",
                    backup.path
                )));
            }
        }
    }
    let sidecar = archive::sidecar_path(path);
    if sidecar.is_file() {
        let opts = PutOptions { overwrite: true };
        put_file(dest, &sidecar_key(key), &sidecar, opts).await?;
    }
    let stat = dest.stat(key).await?;
    let ok = match stat {
        Some(obj) if obj.size == backup.size => match obj.sha256 {
            Some(s) => s == want,
            None => dest.sha256(key).await? == want,
        },
        _ => false,
    };
    if !ok {
        let _ = dest.delete(key).await;
        let _ = dest.delete(&sidecar_key(key)).await;
        return Err(Error::integrity(format!(
            "the copy of {key} in {} does not match the archive; it was removed",
            dest.location()
        )));
    }
    Ok(())
}

/// Copy one backup to one destination and record the outcome (stored, or pending with the
/// error). Never fails: a failure is the pending copy's error.
pub(crate) async fn copy_to(
    engine: &Engine,
    project: &Project,
    backup: &BackupRecord,
    d: &DestinationRecord,
    cancel: &CancellationToken,
) -> CopyResult {
    let key = object_key(project, backup);
    let target = CopyTarget {
        backup_id: backup.id.clone(),
        destination: d.id.clone(),
        location: key.clone(),
        size: backup.size,
        sha256: backup.sha256.to_ascii_lowercase(),
    };
    // A locking destination: the date the uploads carry is the date recorded.
    let lock = super::destinations::lock_for(engine, d);
    let attempt = async {
        let dest: Box<dyn Destination> = super::destinations::open_with(engine, project, d, lock)
            .await?
            .into();
        upload(dest.as_ref(), backup, &key).await
    };
    let result = tokio::select! {
        r = attempt => r,
        _ = cancel.cancelled() => Err(Error::cancelled()),
    };
    let recorded = match &result {
        Ok(()) => match engine.catalog.record_copy_stored(&target).await {
            Ok(c) => match lock {
                Some(l) => {
                    let until = crate::clock::format_timestamp(l.retain_until);
                    engine
                        .catalog
                        .set_copy_retain_until(&c.id, &until)
                        .await
                        .map(|()| c)
                }
                None => Ok(c),
            },
            e => e,
        },
        Err(e) => {
            tracing::warn!(project = %project.name, destination = %d.name, "copy pending: {e}");
            engine
                .catalog
                .record_copy_pending(&target, &e.to_string())
                .await
        }
    };
    let error = match (&result, &recorded) {
        (Err(e), _) | (Ok(()), Err(e)) => Some(ErrorPayload::from(e)),
        _ => None,
    };
    CopyResult {
        backup_id: backup.id.clone(),
        destination: d.name.clone(),
        state: if error.is_none() {
            CopyState::Stored
        } else {
            CopyState::Pending
        },
        location: key,
        error,
    }
}

/// The backup job's last step: copy the new backup to every destination of the project (or,
/// for a schedule's backup, to those of `only`, destination ids).
pub(crate) async fn after_backup(
    engine: &Engine,
    project: &Project,
    backup: &BackupRecord,
    only: Option<&[String]>,
    job: &RunningJob,
) -> Result<Vec<CopyResult>> {
    let mut dests = engine.catalog.destinations(&project.id).await?;
    if let Some(only) = only {
        dests.retain(|d| only.contains(&d.id));
    }
    copy_all(engine, project, backup, &dests, &job.reporter, &job.cancel).await
}

async fn copy_all(
    engine: &Engine,
    project: &Project,
    backup: &BackupRecord,
    dests: &[DestinationRecord],
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Vec<CopyResult>> {
    if dests.is_empty() {
        return Ok(Vec::new());
    }
    reporter.phase(
        Phase::Copying,
        Some(backup.size.saturating_mul(dests.len() as u64)),
    );
    let mut out = Vec::new();
    for d in dests {
        out.push(copy_to(engine, project, backup, d, cancel).await);
        reporter.advance(backup.size);
    }
    Ok(out)
}

/// Push pending copies and apply each destination's retention, as a `sync` job.
pub(crate) async fn sync(
    engine: &Engine,
    opts: SyncOptions,
    start: JobStart,
) -> Result<SyncOutcome> {
    let project = &engine.catalog.project(&opts.project).await?;
    let (job_id, (copies, pruned, locked, segments)) = runner::run(
        engine,
        JobKind::Sync,
        Some(project),
        start,
        |_| None,
        |job| async move {
            let mut copies = Vec::new();
            let mut pruned = Removed::default();
            // One destination that refuses (a link planted in a shared folder) does not keep
            // the others from their copies and retention: the first such error ends the job
            // once every destination had its turn.
            let mut failed: Option<Error> = None;
            for d in engine.catalog.destinations(&project.id).await? {
                job.check_cancelled()?;
                if let Err(e) = sync_one(engine, project, &d, &job, &mut copies, &mut pruned).await
                {
                    if e.kind() == ErrorKind::Cancelled {
                        return Err(e);
                    }
                    tracing::warn!(destination = %d.name, "sync: {e}");
                    failed.get_or_insert(e);
                }
            }
            // The change segments go on the same trigger (pending ones, those a destination
            // lacks), and the copies of pruned windows are deleted.
            let segments = crate::ops::pitr::copies::sync(engine, project, &job.cancel).await;
            let segments = match segments {
                Ok(s) => s,
                Err(e) if e.kind() == ErrorKind::Cancelled => return Err(e),
                Err(e) => {
                    tracing::warn!(project = %project.name, "sync of change segments: {e}");
                    failed.get_or_insert(e);
                    Default::default()
                }
            };
            match failed {
                Some(e) => Err(e),
                None => Ok((copies, pruned.pruned, pruned.locked, segments)),
            }
        },
    )
    .await?;
    let pending = engine
        .catalog
        .project_copies(&project.id)
        .await?
        .iter()
        .filter(|c| c.state == CopyState::Pending)
        .count() as u32;
    Ok(SyncOutcome {
        project: project.name.clone(),
        job_id,
        copies,
        pruned,
        locked,
        pending,
        segments,
    })
}

/// One destination: decide with its policy over what is there or could go there, upload what
/// it keeps and lacks, remove what it does not keep (there only).
async fn sync_one(
    engine: &Engine,
    project: &Project,
    d: &DestinationRecord,
    job: &RunningJob,
    copies: &mut Vec<CopyResult>,
    removed: &mut Removed,
) -> Result<()> {
    let backups = engine.catalog.backups(&project.id).await?;
    let local = engine.catalog.backups_with_local_copy(&project.id).await?;
    let here: HashMap<String, crate::catalog::BackupCopy> = engine
        .catalog
        .copies_at(&d.id)
        .await?
        .into_iter()
        .map(|c| (c.backup_id.clone(), c))
        .collect();
    let stored = |id: &str| here.get(id).is_some_and(|c| c.state == CopyState::Stored);
    // A schedule's backup goes only to the schedule's destinations (`backups.copy_to`).
    let only_to = engine.catalog.backup_copy_to(&project.id).await?;
    let goes_here = |id: &str| only_to.get(id).is_none_or(|ids| ids.contains(&d.id));
    // What the destination has, and what could go there (a local archive to copy).
    let candidates: Vec<&BackupRecord> = backups
        .iter()
        .filter(|b| {
            stored(&b.id)
                || (goes_here(&b.id) && local.contains(&b.id) && Path::new(&b.path).is_file())
        })
        .collect();
    // Pinned and suspicious backups (and the good one before a suspicious one) stay here too.
    let marks = engine.catalog.backup_marks(&project.id).await?;
    // The destination's policy decides over the project's backups only; per-tenant archives
    // by the tenants' own retention (the last N of each tenant), never counted with them.
    let (tenant_archives, project_backups): (Vec<&BackupRecord>, Vec<&BackupRecord>) = candidates
        .iter()
        .copied()
        .partition(|b| super::resolve::is_tenant_archive(b));
    let mut keep = kept_by(engine, d, &project_backups, &here, &marks)?;
    let counts = super::prune::tenants::keep_counts(engine, project).await?;
    keep.extend(super::prune::tenants::kept(
        &tenant_archives,
        &counts,
        &marks,
    )?);
    let to_copy: Vec<&BackupRecord> = candidates
        .iter()
        .copied()
        .filter(|b| keep.contains(&b.id) && !stored(&b.id))
        .collect();
    job.reporter.phase(
        Phase::Copying,
        Some(to_copy.iter().map(|b| b.size).sum::<u64>()),
    );
    let mut down: Option<String> = None;
    for b in to_copy {
        job.check_cancelled()?;
        let r = match &down {
            // The destination is down: the rest wait too, without an attempt each.
            Some(why) => not_tried(engine, project, b, d, why).await?,
            None => copy_to(engine, project, b, d, &job.cancel).await,
        };
        if let Some(e) = r.error.as_ref().filter(|e| destination_down(e.code)) {
            down.get_or_insert_with(|| e.message.clone());
        }
        copies.push(r);
        job.reporter.advance(b.size);
    }
    // Not kept: removed from this destination only.
    let gone: Vec<&crate::catalog::BackupCopy> = here
        .values()
        .filter(|c| !keep.contains(&c.backup_id))
        .collect();
    if gone.is_empty() {
        return Ok(());
    }
    let dest = match super::destinations::open_with(engine, project, d, None).await {
        Ok(dest) => Some(dest),
        Err(e) => {
            tracing::warn!(destination = %d.name, "retention waits for the destination: {e}");
            None
        }
    };
    let now = engine.clock.now();
    for c in gone {
        job.check_cancelled()?;
        // Locked there until a date in the future: S3 would refuse; it waits, and says so.
        if let Some(until) = locked_until(c, now) {
            removed.locked.push(LockedCopy {
                backup_id: c.backup_id.clone(),
                destination: d.name.clone(),
                location: c.location.clone(),
                note: format!("locked until {}", utc_minute(until)),
                locked_until: c.retain_until.clone().unwrap_or_default(),
            });
            continue;
        }
        let deleted = match (c.state, &dest) {
            (CopyState::Pending, _) => false,
            (CopyState::Stored, Some(dest)) => {
                delete_stored(dest, c).await?;
                true
            }
            // Offline: the stored copy stays recorded until its destination is back.
            (CopyState::Stored, None) => continue,
        };
        engine.catalog.remove_copy(&c.id).await?;
        removed.pruned.push(PrunedCopy {
            backup_id: c.backup_id.clone(),
            destination: d.name.clone(),
            location: c.location.clone(),
            deleted,
        });
    }
    Ok(())
}

/// Delete a stored copy and its `.sha256`. A copy uploaded locked goes with every version even
/// when its destination no longer locks (after `--object-lock off` a plain delete in a bucket
/// with Object Lock only adds a delete marker; the locked version would stay, billed and hidden).
async fn delete_stored(
    dest: &super::destinations::Opened,
    c: &crate::catalog::BackupCopy,
) -> Result<()> {
    let sidecar = sidecar_key(&c.location);
    match dest {
        super::destinations::Opened::S3(s3) if c.retain_until.is_some() => {
            s3.delete_every_version(&c.location).await?;
            let _ = s3.delete_every_version(&sidecar).await;
        }
        _ => {
            let dest = dest.as_dyn();
            dest.delete(&c.location).await?;
            let _ = dest.delete(&sidecar).await;
        }
    }
    Ok(())
}

/// What the destinations' retention removed, and what it leaves because it is locked.
#[derive(Default)]
struct Removed {
    pruned: Vec<PrunedCopy>,
    locked: Vec<LockedCopy>,
}

/// The date a stored copy is locked until, when that is after `now`. An unreadable date counts
/// as locked for ever (never deleted early on a catalog value Offsite cannot read).
pub(crate) fn locked_until(
    c: &crate::catalog::BackupCopy,
    now: time::OffsetDateTime,
) -> Option<time::OffsetDateTime> {
    let until = c.retain_until.as_deref()?;
    match parse_timestamp(until) {
        Ok(t) if t <= now => None,
        Ok(t) => Some(t),
        Err(_) => Some(time::OffsetDateTime::new_utc(
            time::Date::MAX,
            time::Time::MIDNIGHT,
        )),
    }
}

/// `2026-12-03 10:00 UTC`.
pub(crate) fn utc_minute(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{} UTC", t.format(&f).unwrap_or_else(|_| t.to_string()))
}

/// Errors that say the destination as a whole cannot take copies now.
fn destination_down(code: ErrorKind) -> bool {
    matches!(
        code,
        ErrorKind::Connection
            | ErrorKind::RateLimited
            | ErrorKind::Auth
            | ErrorKind::Permission
            | ErrorKind::DiskFull
            | ErrorKind::KeychainUnavailable
            | ErrorKind::ToolMissing
    )
}

/// A copy not attempted because its destination is down: pending, with that reason.
async fn not_tried(
    engine: &Engine,
    project: &Project,
    backup: &BackupRecord,
    d: &DestinationRecord,
    why: &str,
) -> Result<CopyResult> {
    let key = object_key(project, backup);
    let target = CopyTarget {
        backup_id: backup.id.clone(),
        destination: d.id.clone(),
        location: key.clone(),
        size: backup.size,
        sha256: backup.sha256.to_ascii_lowercase(),
    };
    let e = Error::new(
        ErrorKind::Connection,
        format!("not tried: {} cannot take copies now ({why})", d.name),
    );
    engine
        .catalog
        .record_copy_pending(&target, e.message())
        .await?;
    Ok(CopyResult {
        backup_id: backup.id.clone(),
        destination: d.name.clone(),
        state: CopyState::Pending,
        location: key,
        error: Some(ErrorPayload::from(&e)),
    })
}

/// The backups a destination's policy keeps among `candidates` (all of them without a policy).
fn kept_by(
    engine: &Engine,
    d: &DestinationRecord,
    candidates: &[&BackupRecord],
    here: &HashMap<String, crate::catalog::BackupCopy>,
    marks: &HashMap<String, crate::catalog::BackupMarks>,
) -> Result<HashSet<String>> {
    let Some(policy) = d.retention.as_ref().filter(|p| !p.is_empty()) else {
        return Ok(candidates.iter().map(|b| b.id.clone()).collect());
    };
    let zone = match &d.retention_zone {
        Some(z) => Zone::named(z)?,
        None => Zone::local(),
    };
    let list = candidates
        .iter()
        .map(|b| {
            // A copy there is judged by its own check; one to upload by the local archive's.
            let status = match here.get(&b.id) {
                Some(c) if c.state == CopyState::Stored => c.status,
                _ if b.status == BackupStatus::Missing => BackupStatus::Unverified,
                _ => b.status,
            };
            Ok(Candidate {
                id: b.id.clone(),
                created_at: parse_timestamp(&b.created_at)?,
                status,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(decide(policy, &zone, engine.clock.now(), &list)
        .into_iter()
        .filter(|d| d.keep || super::prune::kept_by_marks(&d.id, marks))
        .map(|d| d.id)
        .collect())
}

/// How often the schedules' loop retries pending copies.
pub const PENDING_RETRY_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Sync every project that has pending copies (trigger `retry`); a project busy with another
/// job waits for the next round. Returns what each sync did.
pub(crate) async fn retry_pending(engine: &Engine) -> Result<Vec<SyncOutcome>> {
    let mut out = Vec::new();
    let mut ids = engine.catalog.projects_with_pending_copies().await?;
    for id in engine
        .catalog
        .projects_with_pending_segment_copies()
        .await?
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    for id in ids {
        let project = engine.catalog.project_by_id(&id).await?;
        let opts = SyncOptions {
            project: project.name.clone(),
        };
        match sync(engine, opts, JobStart::new(crate::ops::JobTrigger::Retry)).await {
            Ok(s) => out.push(s),
            Err(e) => tracing::warn!(project = %project.name, "retrying pending copies: {e}"),
        }
    }
    Ok(out)
}
