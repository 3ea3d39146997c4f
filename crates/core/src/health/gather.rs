//! The [`Facts`] of each project, read from the catalog (a few small queries per project).

use super::{ActiveCondition, CopyMark, EncryptionState, Facts, LastRun};
use crate::catalog::{
    BackupOrigin, BackupStatus, Catalog, Components, CopyState, DestinationRecord, JobKind,
    JobState, Project, ServerComponent, LOCAL_DESTINATION,
};
use crate::drill::Verdict;
use crate::error::Result;
use crate::postgres::conn::ConnSpec;
use crate::schedule::ProjectStatus;
use std::collections::HashMap;
use std::path::Path;

/// How many of a project's newest jobs are looked through for its newest finished backup run.
const JOBS_LOOKED_AT: u32 = 50;

/// The facts of every project (or of the one named), with `statuses` the schedules' status of
/// the same projects (`Engine::status`, already computed by the caller).
pub async fn facts(
    catalog: &Catalog,
    only: Option<&str>,
    statuses: &[ProjectStatus],
    now: time::OffsetDateTime,
) -> Result<Vec<Facts>> {
    let statuses: HashMap<&str, &ProjectStatus> =
        statuses.iter().map(|s| (s.name.as_str(), s)).collect();
    let projects = match only {
        Some(name) => vec![catalog.project(name).await?],
        None => catalog.projects().await?,
    };
    let conditions = catalog.conditions(None).await?;
    let mut out = Vec::with_capacity(projects.len());
    for p in projects {
        let records = catalog.destinations(&p.id).await?;
        let destinations: HashMap<String, String> = records
            .iter()
            .map(|d| (d.id.clone(), d.name.clone()))
            .collect();
        let mut f = project_facts(catalog, &p, &records).await?;
        if let Some(s) = statuses.get(p.name.as_str()) {
            f.last_good = s.last_good.clone();
            f.next_run = s.next_run.clone();
            f.overdue = s.overdue;
            f.overdue_schedules = s.overdue_schedules.clone();
            f.schedule = s.schedule.clone();
            f.paused = s.paused;
        }
        f.capture_ended = capture_ended(catalog, &p.id).await?;
        let captured = captured_to(catalog, &p.id).await?;
        let captured_to = captured.map(|(at, _)| at);
        let capture = captured_to.map(|at| {
            let now_us = (now.unix_timestamp_nanos() / 1000) as i64;
            ((now_us - at).max(0) / 1_000_000).unsigned_abs()
        });
        f.captured_to = captured_to.and_then(|us| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
                .ok()
                .map(crate::clock::format_timestamp)
        });
        let rpo = catalog.targets(&p.id).await?.rpo_seconds;
        f.rpo_missed = rpo_missed(rpo, f.last_good.as_deref(), capture, now);
        // The capture's own lag is this machine's only when it captures here: a pulled chain
        // is as new as the last pull, which its schedule decides (its RPO still counts above).
        let here = captured.is_some_and(|(_, here)| here);
        f.capture_behind = capture.filter(|_| here).and_then(|age| {
            let limit = rpo.unwrap_or(CAPTURE_LIMIT);
            (age > u64::from(limit)).then_some((limit, age))
        });
        f.conditions = conditions
            .iter()
            .filter(|c| c.project_id == p.id && c.active)
            .map(|c| ActiveCondition {
                kind: c.kind.clone(),
                subject: subject_name(&c.subject, &destinations),
                detail: c.detail.clone(),
            })
            .collect();
        out.push(f);
    }
    Ok(out)
}

/// How long point-in-time capture may go without reading the changes when the project has no
/// RPO target (docs/pitr.md: RPO ≤ 60 s while the capture runs).
pub const CAPTURE_LIMIT: u32 = 60;

/// When (µs since the epoch) the project's capture last had every change, and whether it
/// captures here (`None`: no capture): the newest chain captured here that runs, or pulled from
/// the project's backup server (the agent captures it) and not ended there — its recovery point
/// here is what the last pull brought.
async fn captured_to(catalog: &Catalog, project_id: &str) -> Result<Option<(i64, bool)>> {
    let chains = catalog.pitr_chains(project_id).await?;
    let Some(newest) = chains
        .iter()
        .rev()
        .find(|c| c.state == "active" || (c.state == "pulled" && c.ended_reason.is_none()))
    else {
        return Ok(None);
    };
    Ok(newest
        .last_poll_at
        .or(newest.base_at)
        .map(|at| (at, newest.state == "active")))
}

/// Why the project's capture here ended, while it stays ended: its newest chain captured here
/// ended (its slot dropped or gone, its base interrupted) and was neither followed by a new one
/// nor turned off (`pitr disable` marks the ended chains `off`). Chains pulled from a backup
/// server are that server's to say.
async fn capture_ended(catalog: &Catalog, project_id: &str) -> Result<Option<String>> {
    let chains = catalog.pitr_chains(project_id).await?;
    Ok(chains
        .iter()
        .rev()
        .find(|c| c.state != "pulled")
        // Before `off` existed, `pitr disable` left its chains `ended` as "disabled".
        .filter(|c| c.state == "ended" && c.ended_reason.as_deref() != Some("disabled"))
        .map(|c| {
            c.ended_reason
                .clone()
                .unwrap_or_else(|| "its slot is gone".into())
        }))
}

/// The project's RPO and the age of its recovery point, when that is older than the RPO (no
/// good backup at all is said by "never backed up" / "no good backup"). The recovery point is
/// the newest good backup, or the capture's last read when point-in-time capture runs.
fn rpo_missed(
    rpo: Option<u32>,
    last_good: Option<&str>,
    capture_age: Option<u64>,
    now: time::OffsetDateTime,
) -> Option<(u32, u64)> {
    let rpo = rpo?;
    let made = last_good.and_then(|t| crate::catalog::parse_timestamp(t).ok())?;
    let mut age = (now - made).whole_seconds().max(0).unsigned_abs();
    if let Some(c) = capture_age {
        age = age.min(c);
    }
    (age > u64::from(rpo)).then_some((rpo, age))
}

/// A watcher's subject as a person calls it: `dest:<id>` is the destination's name, `folder` the
/// backup folder; others (a server's `host:port`) as they are.
fn subject_name(subject: &str, destinations: &HashMap<String, String>) -> String {
    match subject.strip_prefix("dest:") {
        Some(id) => destinations
            .get(id)
            .cloned()
            .unwrap_or_else(|| "a removed destination".into()),
        None if subject == "folder" => "the backup folder".into(),
        None => subject.to_string(),
    }
}

/// What a person calls the project's source: the Supabase project's ref, else the database's
/// name (never a host and port).
fn subtitle(components: &Components, p: &Project) -> String {
    if let Some(s) = &components.supabase {
        return format!("Supabase {}", s.project_ref);
    }
    match ConnSpec::parse_url(&p.db_url) {
        Ok((spec, _)) if !spec.database.is_empty() => format!("database {}", spec.database),
        _ => "database".to_string(),
    }
}

/// The backup server's own copy of a backup it made (or that was pulled from it): the server
/// keeps it, so it is one more place, named by the server's host (`None` for a backup from
/// elsewhere, or when the project has no server any more).
pub(crate) fn server_mark(
    origin: BackupOrigin,
    server: Option<&ServerComponent>,
) -> Option<CopyMark> {
    if origin != BackupOrigin::Server {
        return None;
    }
    let server = server?;
    let host = url::Url::parse(&server.url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| server.url.clone());
    Some(CopyMark {
        place: format!("Backup server {host}"),
        kind: "server".into(),
        ok: true,
        same_medium_as: None,
        note: None,
        // Beside the database, not away from it.
        offsite: false,
    })
}

async fn project_facts(
    catalog: &Catalog,
    p: &Project,
    destinations: &[DestinationRecord],
) -> Result<Facts> {
    let backups = catalog.backup_rows(&p.id).await?;
    let damaged = |s: BackupStatus| matches!(s, BackupStatus::Corrupt | BackupStatus::Missing);
    let last_verified = backups.iter().filter_map(|b| b.verified_at.clone()).max();
    let newest_good = backups.iter().find(|b| !damaged(b.status));
    let components = catalog.components(&p.id).await?;
    let copies = match newest_good {
        Some(b) => {
            let mut marks = copy_marks(catalog, &b.id, destinations).await?;
            marks.extend(server_mark(b.origin, components.server.as_ref()));
            marks
        }
        None => Vec::new(),
    };
    let (newest_drill, newest_passed) = catalog.last_drills(&p.id).await?;
    let jobs = catalog.jobs(Some(&p.id), JOBS_LOOKED_AT).await?;
    // What runs now (a job of a process that went away was failed at this start).
    let mut running: Vec<JobKind> = Vec::new();
    for j in jobs.iter().filter(|j| !j.state.is_finished()) {
        if !running.contains(&j.kind) {
            running.push(j.kind);
        }
    }
    let last_run = jobs
        .into_iter()
        .find(|j| {
            j.kind == JobKind::Backup && (j.state == JobState::Succeeded || j.state.is_failure())
        })
        .map(|j| LastRun {
            finished_at: j.finished_at.unwrap_or(j.started_at),
            succeeded: j.state == JobState::Succeeded,
            error_code: j.error_code,
            error_message: j.error_message,
        });
    let encryption = encryption_state(catalog.encryption(&p.id).await?.as_ref());
    Ok(Facts {
        encryption,
        project: p.name.clone(),
        subtitle: subtitle(&components, p),
        backups: backups.len().try_into().unwrap_or(u32::MAX),
        newest_damaged: backups.first().is_some_and(|b| damaged(b.status)),
        last_verified,
        last_proven: newest_passed.as_ref().map(|d| d.finished_at.clone()),
        drill_failed: drill_failed(&backups, newest_drill.as_ref(), newest_passed.as_ref()),
        copies,
        last_run,
        running,
        // The sentences write times in this computer's zone (the CLI's and the app's).
        zone: Some(crate::schedule::Zone::local()),
        ..Default::default()
    })
}

/// Where the project's encryption stands: no row or `off` is off; on without its test
/// ciphertext is not set up; on and not confirmed pauses backups (as `ops::encryption` refuses).
fn encryption_state(row: Option<&crate::catalog::EncryptionRow>) -> EncryptionState {
    match row {
        None => EncryptionState::Off,
        Some(r) if r.mode == "off" => EncryptionState::Off,
        Some(r) if r.check.is_none() => EncryptionState::NotSetUp,
        Some(r) if !r.confirmed => EncryptionState::Unconfirmed,
        Some(_) => EncryptionState::Ready,
    }
}

/// Whether the newest drill's failure still stands: not when a newer backup than the one that
/// failed was proven since (a failed drill of an older backup says nothing about the newest,
/// proven one). A failure of the proven backup itself, or of a newer one, stands.
fn drill_failed(
    backups: &[crate::catalog::BackupRow],
    newest: Option<&crate::catalog::DrillSummary>,
    passed: Option<&crate::catalog::DrillSummary>,
) -> bool {
    let Some(newest) = newest.filter(|d| d.verdict != Verdict::Passed) else {
        return false;
    };
    let Some(passed) = passed else {
        return true;
    };
    let created = |id: &str| {
        backups
            .iter()
            .find(|b| b.id == id)
            .map(|b| b.created_at.as_str())
    };
    match (created(&newest.backup_id), created(&passed.backup_id)) {
        (Some(failed), Some(proven)) => failed >= proven,
        // The backup that failed is gone, and a kept one is proven.
        (None, Some(_)) => false,
        _ => true,
    }
}

/// Where backup `backup_id` is kept: this computer, then each destination by name; a place on
/// the same medium as one before it (a folder on the local backups' disk) says so
/// ([`super::media`]).
async fn copy_marks(
    catalog: &Catalog,
    backup_id: &str,
    destinations: &[DestinationRecord],
) -> Result<Vec<CopyMark>> {
    let copies = catalog.copies(backup_id).await?;
    let local_dir = copies
        .iter()
        .find(|c| c.destination == LOCAL_DESTINATION)
        .and_then(|c| Path::new(&c.location).parent().map(Path::to_path_buf));
    let (local, media) = super::media::media(local_dir.as_deref(), destinations).await;
    let mut marks: Vec<(CopyMark, String)> = copies
        .into_iter()
        .map(|c| {
            let ok = c.state == CopyState::Stored
                && !matches!(c.status, BackupStatus::Corrupt | BackupStatus::Missing);
            if c.destination == LOCAL_DESTINATION {
                let mark = CopyMark {
                    place: "This computer".into(),
                    kind: "local".into(),
                    ok,
                    same_medium_as: None,
                    note: None,
                    offsite: false,
                };
                (mark, local.key.clone())
            } else {
                let name = destinations
                    .iter()
                    .find(|d| d.id == c.destination)
                    .map(|d| d.name.clone());
                let medium = media.get(&c.destination);
                let mark = CopyMark {
                    place: name.unwrap_or_else(|| "a removed destination".into()),
                    kind: "destination".into(),
                    ok,
                    same_medium_as: None,
                    note: medium.and_then(|m| m.note.clone()),
                    offsite: medium.is_some_and(|m| m.offsite),
                };
                let key =
                    medium.map_or_else(|| format!("dest:{}", c.destination), |m| m.key.clone());
                (mark, key)
            }
        })
        .collect();
    marks.sort_by_key(|(m, _)| (m.kind != "local", m.place.clone()));
    // A place on a medium an earlier intact place is on does not count again.
    for i in 0..marks.len() {
        if !marks[i].0.ok {
            continue;
        }
        let first = marks[..i]
            .iter()
            .find(|(m, key)| m.ok && *key == marks[i].1)
            .map(|(m, _)| m.place.clone());
        marks[i].0.same_medium_as = first;
    }
    Ok(marks.into_iter().map(|(m, _)| m).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::BackupType;

    /// A chain pulled from the agent counts as the laptop's recovery point (until it ends
    /// there); the capture's 60 s lag is said only of a capture running here.
    #[tokio::test]
    async fn a_chain_pulled_from_the_agent_is_the_recovery_point_here() {
        let c = crate::catalog::testing::catalog().await;
        let p = c
            .add_project(&crate::catalog::testing::new_project("shop"))
            .await
            .unwrap();
        assert_eq!(captured_to(&c, &p.id).await.unwrap(), None);
        c.upsert_pulled_pitr_chain("c1", &p.id, "b1", "1:1:", 10, "{}", None, Some(500))
            .await
            .unwrap();
        assert_eq!(captured_to(&c, &p.id).await.unwrap(), Some((500, false)));
        // Ended on the server: the laptop has no running capture of it.
        c.upsert_pulled_pitr_chain("c1", &p.id, "b1", "1:1:", 10, "{}", Some("gone"), Some(600))
            .await
            .unwrap();
        assert_eq!(captured_to(&c, &p.id).await.unwrap(), None);
    }
    use crate::catalog::{BackupRow, DrillSummary};

    fn backup(id: &str, created_at: &str) -> BackupRow {
        BackupRow {
            id: id.into(),
            path: format!("/b/{id}.tar.zst"),
            size: 1,
            backup_type: BackupType::Database,
            created_at: created_at.into(),
            verified_at: None,
            status: BackupStatus::Unverified,
            verify_problem: None,
            sha256: String::new(),
            origin: BackupOrigin::default(),
            tenant: None,
            suspicious: None,
            note: None,
            started_by: None,
            pinned: false,
        }
    }

    fn drill(backup_id: &str, at: &str, verdict: Verdict) -> DrillSummary {
        DrillSummary {
            id: format!("d-{backup_id}-{at}"),
            backup_id: backup_id.into(),
            started_at: at.into(),
            finished_at: at.into(),
            verdict,
            rto_seconds: 1.0,
            failed_check_id: None,
            failed_check_title: None,
            report_path: None,
        }
    }

    #[test]
    fn a_failed_drill_of_an_older_backup_does_not_undo_the_proof_of_a_newer_one() {
        // Newest first, as the catalog lists them.
        let backups = [
            backup("new", "2026-11-24T02:30:00.000Z"),
            backup("old", "2026-11-20T02:30:00.000Z"),
        ];
        let proven_new = drill("new", "2026-11-24T03:00:00.000Z", Verdict::Passed);
        // The older backup's drill ran (and failed) after the newest was proven.
        let old_failed = drill("old", "2026-11-24T04:00:00.000Z", Verdict::Failed);
        assert!(!drill_failed(
            &backups,
            Some(&old_failed),
            Some(&proven_new)
        ));
        // The proven backup itself failing later, or a newer one failing: the failure stands.
        let new_failed = drill("new", "2026-11-24T05:00:00.000Z", Verdict::Failed);
        assert!(drill_failed(&backups, Some(&new_failed), Some(&proven_new)));
        let proven_old = drill("old", "2026-11-21T03:00:00.000Z", Verdict::Passed);
        assert!(drill_failed(&backups, Some(&new_failed), Some(&proven_old)));
        // Never proven: a failure stands; the newest drill passed: nothing failed.
        assert!(drill_failed(&backups, Some(&old_failed), None));
        assert!(!drill_failed(
            &backups,
            Some(&proven_new),
            Some(&proven_new)
        ));
        assert!(!drill_failed(&backups, None, None));
        // The backup that failed is gone (pruned), a kept one is proven.
        let gone_failed = drill("gone", "2026-11-24T04:00:00.000Z", Verdict::Failed);
        assert!(!drill_failed(
            &backups,
            Some(&gone_failed),
            Some(&proven_new)
        ));
    }

    #[test]
    fn a_running_capture_is_the_recovery_point_when_it_is_newer_than_the_backup() {
        let now = crate::catalog::parse_timestamp("2026-11-26T12:00:00Z").unwrap();
        let day_old = Some("2026-11-25T12:00:00Z");
        // A day-old backup misses a 1 h RPO without capture…
        assert_eq!(
            rpo_missed(Some(3600), day_old, None, now),
            Some((3600, 86_400))
        );
        // …not with a capture that read the changes 5 s ago…
        assert_eq!(rpo_missed(Some(3600), day_old, Some(5), now), None);
        // …and a capture behind by 2 h is the older point then.
        assert_eq!(
            rpo_missed(Some(3600), day_old, Some(7200), now),
            Some((3600, 7200))
        );
        assert_eq!(rpo_missed(None, day_old, Some(7200), now), None);
    }
}
