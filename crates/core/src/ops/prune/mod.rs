//! Retention: which of a project's backups its policy keeps (a preview changes nothing), and the
//! `prune` job that removes the others — each archive and its `.sha256` only when the file still
//! holds that backup (the delete operation's check), then its catalog row. A backup whose file
//! now holds something else is left alone and reported as skipped.
//!
//! A backup that has copies at the project's destinations keeps them: the local policy removes
//! only its local archive (the backup stays in the catalog with its other copies, which each
//! destination's own policy prunes: `ops::copy_out`).
//!
//! The decision is `schedule::retention::decide`; it is taken again under the project's lock,
//! so no other job of the project (a backup, a verify, a restore using an archive) runs while
//! backups are removed.

use crate::catalog::{
    format_timestamp, parse_timestamp, BackupMarks, BackupRecord, JobKind, Project,
    RetentionRecord, ScheduleKind,
};
use crate::engine::Engine;
use crate::error::{ErrorPayload, Result};
use crate::ops::delete;
use crate::ops::job::JobStart;
use crate::ops::runner;
use crate::schedule::retention::{decide, Candidate, Decision, KeepRule};
use crate::schedule::{RetentionPolicy, Zone};
use serde::Serialize;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Which project to prune, and whether only to preview.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    pub project: String,
    /// List what would be kept and removed; change nothing.
    pub dry_run: bool,
    /// The backup schedule whose backups to prune: with a retention of its own, only its
    /// backups by that policy; else (and with `None`) the project's policy over every backup
    /// that no schedule with its own retention made.
    pub schedule: Option<String>,
}

/// A backup the policy keeps.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct KeptBackup {
    pub id: String,
    pub created_at: String,
    pub path: String,
    /// Why (`last 1`, `daily 2026-11-20`, `weekly 2026-W47`, `within 30d`, `newest verified`…).
    pub reasons: Vec<String>,
}

/// A backup the policy removes (or, in a preview, would remove).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemovedBackup {
    pub id: String,
    pub created_at: String,
    pub path: String,
    /// Whether its archive was deleted (false in a preview, or when the file was already gone).
    pub file_deleted: bool,
    /// Its copies locked at destinations (S3 Object Lock): they stay until their date, whatever
    /// the policy says (each destination's retention removes them at the first sync after it).
    pub locked: Vec<crate::ops::copy_out::CopyLock>,
}

/// A backup the policy would remove but that was left alone (its file now holds another
/// backup, or could not be deleted).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SkippedBackup {
    pub id: String,
    pub path: String,
    pub error: ErrorPayload,
}

/// What a prune kept and removed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PruneOutcome {
    pub project: String,
    /// The schedule whose own retention this was (`None`: the project's policy).
    pub schedule: Option<String>,
    pub dry_run: bool,
    /// The policy in words (`keep-last 3, keep-daily 7`; `keep everything` without one).
    pub policy: String,
    /// The zone its periods are counted in.
    pub time_zone: String,
    /// The prune job (none for a preview, or when nothing was to be removed).
    pub job_id: Option<String>,
    pub kept: Vec<KeptBackup>,
    pub removed: Vec<RemovedBackup>,
    pub skipped: Vec<SkippedBackup>,
}

/// A project's policy and the zone of its periods (no policy: keep everything, local zone).
pub(crate) fn policy_of(record: Option<&RetentionRecord>) -> Result<(RetentionPolicy, Zone)> {
    match record {
        Some(r) => Ok((r.policy()?, Zone::named(&r.time_zone)?)),
        None => Ok((RetentionPolicy::default(), Zone::local())),
    }
}

/// The backups whose archive is (recorded) in the project's folder: what the local policy
/// decides over. A backup whose local archive was pruned while copies of it stay elsewhere is
/// no longer the local policy's.
async fn local_backups(engine: &Engine, project: &Project) -> Result<Vec<BackupRecord>> {
    let local = engine.catalog.backups_with_local_copy(&project.id).await?;
    let mut backups = engine.catalog.backups(&project.id).await?;
    // A per-tenant archive (`backup --tenant`) is one tenant's part of a backup, not one of the
    // project's backups: it neither counts towards the policy (a hundred tenants would push every
    // full backup out of "keep the last 7") nor is removed by it: the tenants' own retention
    // decides ([`tenants`]).
    backups.retain(|b| local.contains(&b.id) && !super::resolve::is_tenant_archive(b));
    Ok(backups)
}

/// Whose retention a prune applies, over which backups.
struct Scope {
    policy: RetentionPolicy,
    zone: Zone,
    /// `Some(name)`: schedule `name`'s own retention, over its own backups only.
    schedule: Option<String>,
    /// The schedules with a retention of their own (the project's policy leaves their backups).
    own: std::collections::HashSet<String>,
}

/// The retention that governs `schedule`'s backups (its own, else the project's), or the
/// project's (`None`).
async fn scope_of(engine: &Engine, project: &Project, schedule: Option<&str>) -> Result<Scope> {
    let mut own = std::collections::HashSet::new();
    let mut mine = None;
    for s in engine.catalog.schedules(Some(&project.id)).await? {
        if s.kind != ScheduleKind::Backup {
            continue;
        }
        if let Some(policy) = s.plan()?.retention {
            if schedule == Some(s.name.as_str()) {
                mine = Some((policy, Zone::named(&s.time_zone)?));
            }
            own.insert(s.name);
        }
    }
    match mine {
        Some((policy, zone)) => Ok(Scope {
            policy,
            zone,
            schedule: schedule.map(str::to_string),
            own,
        }),
        None => {
            let record = engine.catalog.retention(&project.id).await?;
            let (policy, zone) = policy_of(record.as_ref())?;
            Ok(Scope {
                policy,
                zone,
                schedule: None,
                own,
            })
        }
    }
}

/// [`local_backups`] that `scope` decides over.
async fn scoped_backups(
    engine: &Engine,
    project: &Project,
    scope: &Scope,
) -> Result<Vec<BackupRecord>> {
    let names = engine.catalog.backup_schedule_names(&project.id).await?;
    let mut backups = local_backups(engine, project).await?;
    backups.retain(|b| match (&scope.schedule, names.get(&b.id)) {
        (Some(mine), made_by) => made_by == Some(mine),
        (None, Some(made_by)) => !scope.own.contains(made_by),
        (None, None) => true,
    });
    Ok(backups)
}

/// The backups with a stored copy at one of the project's destinations.
async fn copied_elsewhere(
    engine: &Engine,
    project: &Project,
) -> Result<std::collections::HashSet<String>> {
    Ok(engine
        .catalog
        .project_copies(&project.id)
        .await?
        .into_iter()
        .filter(|c| {
            c.destination != crate::catalog::LOCAL_DESTINATION
                && c.state == crate::catalog::CopyState::Stored
        })
        .map(|c| c.backup_id)
        .collect())
}

/// The policy's decision over a project's backups at `now`.
/// A scope's backups and what its policy decides for each now: what a prune's dry run shows and
/// what the prune decides again under its lock.
async fn decide_scope(
    engine: &Engine,
    project: &Project,
    scope: &Scope,
    with_tenants: bool,
) -> Result<(Vec<BackupRecord>, Vec<Decision>)> {
    let mut backups = scoped_backups(engine, project, scope).await?;
    let proven = engine
        .catalog
        .newest_passed_drill_backup(&project.id)
        .await?;
    let marks = engine.catalog.backup_marks(&project.id).await?;
    let pitr_bases = engine.catalog.pitr_base_ids(&project.id).await?;
    let mut decisions = plan(
        &scope.policy,
        &scope.zone,
        engine.clock.now(),
        &backups,
        proven.as_deref(),
        &marks,
        &pitr_bases,
    )?;
    if with_tenants {
        // The per-tenant archives here, by their own retention (never the policy's).
        let local = engine.catalog.backups_with_local_copy(&project.id).await?;
        let archives: Vec<BackupRecord> = engine
            .catalog
            .backups(&project.id)
            .await?
            .into_iter()
            .filter(|b| local.contains(&b.id) && super::resolve::is_tenant_archive(b))
            .collect();
        let counts = tenants::keep_counts(engine, project).await?;
        let refs: Vec<&BackupRecord> = archives.iter().collect();
        decisions.extend(tenants::decide(&refs, &counts, &marks)?);
        backups.extend(archives);
    }
    Ok((backups, decisions))
}

fn plan(
    policy: &RetentionPolicy,
    zone: &Zone,
    now: OffsetDateTime,
    backups: &[BackupRecord],
    proven: Option<&str>,
    marks: &HashMap<String, BackupMarks>,
    pitr_bases: &[String],
) -> Result<Vec<Decision>> {
    let candidates = backups
        .iter()
        .map(|b| {
            Ok(Candidate {
                id: b.id.clone(),
                created_at: parse_timestamp(&b.created_at)?,
                status: b.status,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut decisions = decide(policy, zone, now, &candidates);
    keep_proven(&mut decisions, proven);
    keep_marked(&mut decisions, marks);
    keep_pitr_bases(&mut decisions, pitr_bases);
    keep_bases(&mut decisions, backups);
    Ok(decisions)
}

/// Why a pinned backup is kept (`offsite pin`).
pub const PINNED_REASON: &str = "pinned";

/// Pinned backups are kept by every retention; a suspicious backup (the canary's) is kept, and
/// so is the good backup it was compared with (the last one before the drop): neither is pruned
/// ahead of the good ones.
fn keep_marked(decisions: &mut [Decision], marks: &HashMap<String, BackupMarks>) {
    let baselines: HashMap<&str, &str> = marks
        .iter()
        .filter(|(_, m)| !m.suspicious.is_empty())
        .filter_map(|(id, m)| Some((m.compared_with.as_deref()?, id.as_str())))
        .collect();
    for d in decisions.iter_mut() {
        let Some(m) = marks.get(&d.id) else { continue };
        if m.pinned {
            d.keep_for(KeepRule::Pinned, PINNED_REASON.to_string());
        }
        if let Some(first) = m.suspicious.first() {
            d.keep_for(KeepRule::Suspicious, format!("suspicious ({first})"));
        }
        if let Some(by) = baselines.get(d.id.as_str()) {
            d.keep_for(
                KeepRule::Suspicious,
                format!("the good backup before suspicious {by}"),
            );
        }
    }
}

/// Whether the marks keep a backup whatever the policy says ([`keep_marked`]).
pub(crate) fn kept_by_marks(id: &str, marks: &HashMap<String, BackupMarks>) -> bool {
    marks
        .get(id)
        .is_some_and(|m| m.pinned || !m.suspicious.is_empty())
        || marks
            .values()
            .any(|m| !m.suspicious.is_empty() && m.compared_with.as_deref() == Some(id))
}

/// The backup of the newest passed restore drill is kept whatever the policy says: it is the
/// one backup proven to restore.
fn keep_proven(decisions: &mut [Decision], proven: Option<&str>) {
    let Some(proven) = proven else { return };
    for d in decisions.iter_mut().filter(|d| d.id == proven) {
        d.keep_for(KeepRule::Proven, PROVEN_REASON.to_string());
    }
}

/// Why the newest passed drill's backup is kept.
pub const PROVEN_REASON: &str = "newest passed drill";

/// The backup id an archive's manifest carries, and the base it builds on (incrementals).
fn ids_of(b: &BackupRecord) -> (Option<String>, Option<String>) {
    match b
        .manifest_json
        .as_deref()
        .and_then(|j| serde_json::from_str::<crate::archive::Manifest>(j).ok())
    {
        Some(m) => (Some(m.backup_id), m.base_backup_id),
        None => (None, None),
    }
}

/// Why the base of a point-in-time window is kept.
pub const PITR_BASE_REASON: &str = "base of a point-in-time window";

/// The base backup of every point-in-time window the catalog still has is kept: its replay
/// starts there (`offsite pitr prune` removes the window first; then retention decides).
fn keep_pitr_bases(decisions: &mut [Decision], bases: &[String]) {
    for d in decisions.iter_mut().filter(|d| bases.contains(&d.id)) {
        d.keep_for(KeepRule::Base, PITR_BASE_REASON.to_string());
    }
}

/// A kept incremental keeps the backup it builds on (and that one's base, …): retention never
/// removes a base that a kept incremental needs.
fn keep_bases(decisions: &mut [Decision], backups: &[BackupRecord]) {
    let ids: HashMap<&str, (Option<String>, Option<String>)> =
        backups.iter().map(|b| (b.id.as_str(), ids_of(b))).collect();
    let made: HashMap<&str, &str> = backups
        .iter()
        .map(|b| (b.id.as_str(), b.created_at.as_str()))
        .collect();
    loop {
        let mut changed = false;
        let needed: Vec<(String, String)> = decisions
            .iter()
            .filter(|d| d.keep)
            .filter_map(|d| {
                let base = ids.get(d.id.as_str())?.1.clone()?;
                Some((base, made.get(d.id.as_str())?.to_string()))
            })
            .collect();
        for (base, by) in needed {
            for d in decisions.iter_mut() {
                let (manifest_id, _) = ids.get(d.id.as_str()).cloned().unwrap_or_default();
                let is_base = manifest_id.as_deref() == Some(base.as_str()) || d.id == base;
                let reason = format!("base of a kept incremental ({by})");
                if is_base && !d.reasons.contains(&reason) {
                    d.keep_for(KeepRule::Base, reason);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

fn outcome_of(
    project: &Project,
    dry_run: bool,
    (policy, zone): (&RetentionPolicy, &Zone),
    decisions: &[Decision],
    backups: &[BackupRecord],
    locks: &HashMap<String, Vec<crate::ops::copy_out::CopyLock>>,
) -> PruneOutcome {
    let by_id: HashMap<&str, &BackupRecord> = backups.iter().map(|b| (b.id.as_str(), b)).collect();
    let mut out = PruneOutcome {
        project: project.name.clone(),
        schedule: None,
        dry_run,
        policy: policy.describe(),
        time_zone: zone.name().to_string(),
        job_id: None,
        kept: Vec::new(),
        removed: Vec::new(),
        skipped: Vec::new(),
    };
    for d in decisions {
        let Some(b) = by_id.get(d.id.as_str()) else {
            continue;
        };
        if d.keep {
            out.kept.push(KeptBackup {
                id: b.id.clone(),
                created_at: b.created_at.clone(),
                path: b.path.clone(),
                reasons: d.reasons.clone(),
            });
        } else {
            out.removed.push(RemovedBackup {
                id: b.id.clone(),
                created_at: b.created_at.clone(),
                path: b.path.clone(),
                file_deleted: false,
                locked: locks.get(&b.id).cloned().unwrap_or_default(),
            });
        }
    }
    out
}

/// Preview or apply a project's retention policy (see the module's description).
pub(crate) async fn run(
    engine: &Engine,
    opts: PruneOptions,
    start: JobStart,
) -> Result<PruneOutcome> {
    let project = engine.catalog.project(&opts.project).await?;
    let scope = scope_of(engine, &project, opts.schedule.as_deref()).await?;
    let (policy, zone) = (scope.policy.clone(), scope.zone.clone());
    let (backups, decisions) = decide_scope(engine, &project, &scope, true).await?;
    let locks = crate::ops::copy_out::copy_locks(engine, &project).await?;
    let preview = PruneOutcome {
        schedule: scope.schedule.clone(),
        ..outcome_of(
            &project,
            true,
            (&policy, &zone),
            &decisions,
            &backups,
            &locks,
        )
    };
    if !opts.dry_run {
        // The point-in-time windows by their own time window (`pitr enable --keep-within`).
        crate::ops::pitr::prune::by_stored_setting(engine, &project.name).await;
    }
    if opts.dry_run || preview.removed.is_empty() {
        return Ok(PruneOutcome {
            dry_run: opts.dry_run,
            ..preview
        });
    }
    let project = &project;
    let (policy, zone, scope, locks) = (&policy, &zone, &scope, &locks);
    let (job_id, mut outcome) = runner::run(
        engine,
        JobKind::Prune,
        Some(project),
        start,
        |_| None,
        |job| async move {
            // Decide again under the lock: the list may have changed meanwhile.
            let (backups, decisions) = decide_scope(engine, project, scope, true).await?;
            let elsewhere = copied_elsewhere(engine, project).await?;
            let mut out = PruneOutcome {
                schedule: scope.schedule.clone(),
                ..outcome_of(project, false, (policy, zone), &decisions, &backups, locks)
            };
            let by_id: HashMap<&str, &BackupRecord> =
                backups.iter().map(|b| (b.id.as_str(), b)).collect();
            let mut removed = Vec::new();
            for r in std::mem::take(&mut out.removed) {
                job.check_cancelled()?;
                let Some(record) = by_id.get(r.id.as_str()) else {
                    continue;
                };
                // A backup with copies at destinations keeps them (their own retention
                // decides): only its local archive goes.
                let done = if elsewhere.contains(&r.id) {
                    delete::delete_local_copy_locked(engine, record, project).await
                } else {
                    delete::delete_locked(engine, record, project, true).await
                };
                match done {
                    Ok(done) => removed.push(RemovedBackup {
                        file_deleted: done.file_deleted,
                        ..r
                    }),
                    Err(e) => {
                        tracing::warn!(backup = %r.id, "prune left a backup alone: {e}");
                        out.skipped.push(SkippedBackup {
                            id: r.id,
                            path: r.path,
                            error: ErrorPayload::from(&e),
                        });
                    }
                }
            }
            out.removed = removed;
            Ok(out)
        },
    )
    .await?;
    outcome.job_id = Some(job_id);
    notify_removed(engine, project, &outcome, &backups).await?;
    Ok(outcome)
}

/// One `retention_removed` event for what a prune removed (none when it removed nothing). The
/// removals are each their own catalog change (`ops::delete`), so the event is queued right after
/// them rather than in one of their transactions.
async fn notify_removed(
    engine: &Engine,
    project: &Project,
    outcome: &PruneOutcome,
    backups: &[BackupRecord],
) -> Result<()> {
    use crate::ops::notify::retention::{removed_event, RetentionItem};
    let now = format_timestamp(engine.clock.now());
    let items: Vec<RetentionItem> = outcome
        .removed
        .iter()
        .filter_map(|r| backups.iter().find(|b| b.id == r.id))
        .map(|b| RetentionItem::of(b, now.clone(), &outcome.policy))
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    let who = crate::notify::EventProject {
        id: project.id.clone(),
        name: project.name.clone(),
    };
    let event = removed_event(
        who,
        &outcome.policy,
        outcome.job_id.as_deref(),
        &items,
        &now,
    );
    engine
        .catalog
        .enqueue_event(&event, Some(&project.id), None)
        .await?;
    Ok(())
}

mod forecast;
pub(crate) mod tenants;
pub(crate) use forecast::forecast;
pub use forecast::{RemovalForecast, FORECAST_RUNS};
pub use tenants::TENANT_KEEP_LAST;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::BackupStatus;

    fn record(id: &str, kind: &str, manifest_id: &str, base: Option<&str>) -> BackupRecord {
        let manifest = serde_json::json!({
            "format_version": 1, "backup_id": manifest_id, "project": "p", "type": kind,
            "created_at": "2026-11-20T00:00:00Z", "versions": {"tool": "t", "server": null, "pg_dump": null},
            "members": [], "base_backup_id": base,
        });
        BackupRecord {
            id: id.into(),
            project_id: "p".into(),
            path: format!("/b/{id}"),
            size: 1,
            sha256: "x".into(),
            backup_type: kind.parse().unwrap(),
            created_at: format!("2026-11-2{}T00:00:00Z", id.len()),
            verified_at: None,
            status: BackupStatus::Verified,
            verify_problem: None,
            manifest_json: Some(manifest.to_string()),
            job_id: None,
            origin: Default::default(),
        }
    }

    fn decision(id: &str, keep: bool) -> Decision {
        Decision {
            id: id.into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            keep,
            reasons: if keep { vec!["last 1".into()] } else { vec![] },
            rules: if keep { vec![KeepRule::Last] } else { vec![] },
        }
    }

    #[test]
    fn a_kept_incremental_keeps_its_base_and_a_removed_one_does_not() {
        let backups = vec![
            record("full1", "full", "m-full1", None),
            record("inc1", "incremental", "m-inc1", Some("m-full1")),
            record("full0", "full", "m-full0", None),
            record("inc0", "incremental", "m-inc0", Some("m-full0")),
        ];
        let mut d = vec![
            decision("inc1", true),
            decision("full1", false),
            decision("inc0", false),
            decision("full0", false),
        ];
        keep_bases(&mut d, &backups);
        let kept: Vec<&str> = d.iter().filter(|d| d.keep).map(|d| d.id.as_str()).collect();
        assert_eq!(kept, vec!["inc1", "full1"]);
        assert!(
            d[1].reasons[0].starts_with("base of a kept incremental"),
            "{:?}",
            d[1].reasons
        );
    }
}
