//! The [`Facts`] of each project, read from the catalog (a few small queries per project).

use super::{ActiveCondition, CopyMark, Facts, LastRun};
use crate::catalog::{
    BackupOrigin, BackupStatus, Catalog, Components, CopyState, JobKind, JobState, Project,
    ServerComponent, LOCAL_DESTINATION,
};
use crate::drill::Verdict;
use crate::engine::Engine;
use crate::error::Result;
use crate::ops::schedule::ProjectStatus;
use crate::postgres::conn::ConnSpec;
use std::collections::HashMap;

/// How many of a project's newest jobs are looked through for its newest finished backup run.
const JOBS_LOOKED_AT: u32 = 50;

/// The facts of every project (or of the one named), with `statuses` the schedules' status of
/// the same projects ([`Engine::status`], already computed by the caller).
pub async fn facts(
    engine: &Engine,
    only: Option<&str>,
    statuses: &[ProjectStatus],
) -> Result<Vec<Facts>> {
    let catalog = &engine.catalog;
    let statuses: HashMap<&str, &ProjectStatus> =
        statuses.iter().map(|s| (s.name.as_str(), s)).collect();
    let projects = match only {
        Some(name) => vec![catalog.project(name).await?],
        None => catalog.projects().await?,
    };
    let conditions = catalog.conditions(None).await?;
    let mut out = Vec::with_capacity(projects.len());
    for p in projects {
        let destinations: HashMap<String, String> = catalog
            .destinations(&p.id)
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        let mut f = project_facts(catalog, &p, &destinations).await?;
        if let Some(s) = statuses.get(p.name.as_str()) {
            f.last_good = s.last_good.clone();
            f.next_run = s.next_run.clone();
            f.overdue = s.overdue;
            f.schedule = s.schedule.clone();
            f.paused = s.paused;
        }
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
    })
}

async fn project_facts(
    catalog: &Catalog,
    p: &Project,
    destinations: &HashMap<String, String>,
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
    let last_run = catalog
        .jobs(Some(&p.id), JOBS_LOOKED_AT)
        .await?
        .into_iter()
        .find(|j| {
            j.kind == JobKind::Backup && matches!(j.state, JobState::Succeeded | JobState::Failed)
        })
        .map(|j| LastRun {
            finished_at: j.finished_at.unwrap_or(j.started_at),
            succeeded: j.state == JobState::Succeeded,
            error_code: j.error_code,
            error_message: j.error_message,
        });
    Ok(Facts {
        project: p.name.clone(),
        subtitle: subtitle(&components, p),
        backups: backups.len().try_into().unwrap_or(u32::MAX),
        newest_damaged: backups.first().is_some_and(|b| damaged(b.status)),
        last_verified,
        last_proven: newest_passed.as_ref().map(|d| d.finished_at.clone()),
        drill_failed: newest_drill.is_some_and(|d| d.verdict != Verdict::Passed),
        copies,
        last_run,
        ..Default::default()
    })
}

/// Where backup `backup_id` is kept: this computer, then each destination by name.
async fn copy_marks(
    catalog: &Catalog,
    backup_id: &str,
    names: &HashMap<String, String>,
) -> Result<Vec<CopyMark>> {
    let mut marks: Vec<CopyMark> = catalog
        .copies(backup_id)
        .await?
        .into_iter()
        .map(|c| {
            let ok = c.state == CopyState::Stored
                && !matches!(c.status, BackupStatus::Corrupt | BackupStatus::Missing);
            if c.destination == LOCAL_DESTINATION {
                CopyMark {
                    place: "This computer".into(),
                    kind: "local".into(),
                    ok,
                }
            } else {
                CopyMark {
                    place: names
                        .get(&c.destination)
                        .cloned()
                        .unwrap_or_else(|| "a removed destination".into()),
                    kind: "destination".into(),
                    ok,
                }
            }
        })
        .collect();
    marks.sort_by_key(|m| (m.kind != "local", m.place.clone()));
    Ok(marks)
}
