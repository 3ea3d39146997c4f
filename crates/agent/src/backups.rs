//! Backups through the API: start one (a job of the agent's engine, one per project at a time),
//! its status and progress, the list, deletion and signed download URLs.

use crate::error::{ApiError, ApiResult};
use crate::inputs;
use crate::state::{Agent, LiveStep, Running};
use axum::http::StatusCode;
use offsite_core::archive::BackupType;
use offsite_core::catalog::{format_timestamp, BackupRecord, JobKind, JobRecord, JobState};
use offsite_core::ops::{JobFilter, JobStart, JobTrigger};
use offsite_core::progress::{Phase, ProgressUpdate};
pub use offsite_core::sources::agent_wire::{
    AgentBackup as BackupView, AgentBackupError as BackupError, CreateBackup, Created, DownloadLink,
};
use offsite_core::{BackupOptions, DeleteOptions, ErrorKind};
use std::path::Path;
use std::sync::Arc;

/// A backup id: a UUID in its canonical lower-case form (nothing else reaches the catalog).
pub fn check_backup_id(id: &str) -> ApiResult<()> {
    match uuid::Uuid::parse_str(id) {
        Ok(u) if u.hyphenated().to_string() == id => Ok(()),
        _ => Err(ApiError::bad_request("not a backup id")
            .with_hint("backup ids are UUIDs as the API returned them")),
    }
}

/// A request's selection, checked before anything starts (`None`: the project's own, as
/// `agent.toml` or the server's catalog has it).
fn parse_selection(
    given: Option<offsite_core::selection::BackupSelection>,
    backup_type: BackupType,
) -> ApiResult<Option<offsite_core::selection::BackupSelection>> {
    let Some(sel) = given.filter(|s| *s != Default::default()) else {
        return Ok(None);
    };
    if matches!(backup_type, BackupType::Storage | BackupType::Config) {
        return Err(ApiError::bad_request(
            "a selection of schemas and tables applies to DATABASE and FULL backups",
        )
        .with_hint("leave out selection, or ask for a DATABASE or FULL backup"));
    }
    sel.validate()?;
    Ok(Some(sel))
}

fn parse_type(s: &str) -> ApiResult<BackupType> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "FULL" => BackupType::Full,
        "DATABASE" => BackupType::Database,
        "STORAGE" => BackupType::Storage,
        "CONFIG" => BackupType::Config,
        _ => {
            return Err(ApiError::bad_request(format!("unknown backup type {s:?}"))
                .with_hint("use FULL, DATABASE, STORAGE or CONFIG"))
        }
    })
}

/// The compression a request asks for: `None` (absent or null: this machine's default, zstd
/// unless `offsite settings --compression` saved another), `"gzip"` / `"zstd"` (their default
/// levels), `"gzip:LEVEL"` (0–9), `"zstd:LEVEL"` (1–19), `"none"` (gzip level 0), or a gzip level
/// 0–9 as a number.
fn parse_compression(
    v: &Option<serde_json::Value>,
) -> ApiResult<Option<offsite_core::archive::Compression>> {
    use offsite_core::archive::Compression;
    use serde_json::Value;
    let bad = || {
        ApiError::bad_request(
            "compression must be \"zstd\", \"zstd:LEVEL\" (1–19), \"gzip\", \"gzip:LEVEL\" (0–9), \"none\" or 0–9",
        )
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("none") => Ok(Some(Compression::Gzip(0))),
        // Named codecs (and their levels) parse as the CLI's `--compression` does; a codec asked
        // by name is that codec whatever this machine's default compression is.
        Some(Value::String(s)) if s.len() <= 16 => s.parse().map(Some).map_err(|_| bad()),
        Some(Value::Number(n)) if n.as_u64().is_some_and(|l| l <= 9) => {
            Ok(n.as_u64().map(|l| Compression::Gzip(l as u32)))
        }
        _ => Err(bad()),
    }
}

/// The encryption a backup request asks for: none, or to public keys only (the agent never holds
/// a key that opens an archive; a passphrase or anything else is refused).
fn parse_encryption(
    v: &Option<serde_json::Value>,
) -> ApiResult<Option<offsite_core::crypto::Encryption>> {
    use offsite_core::sources::agent_wire::EncryptTo;
    use serde_json::Value;
    let bad = |why: &str| {
        ApiError::bad_request(format!("encryption: {why}")).with_hint(
            "send {\"recipients\": [\"age1…\"]} (public keys only), or leave encryption out",
        )
    };
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(None),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("none") => Ok(None),
        Some(o @ Value::Object(_)) => {
            let to: EncryptTo = serde_json::from_value(o.clone())
                .map_err(|_| bad("only \"recipients\" (public keys) is accepted"))?;
            if to.recipients.is_empty() {
                return Err(bad("no recipients"));
            }
            let recipients = offsite_core::crypto::parse_recipients(&to.recipients)
                .map_err(|e| bad(e.message()))?;
            offsite_core::crypto::Encryption::to_recipients(recipients)
                .map(Some)
                .map_err(|e| bad(e.message()))
        }
        _ => Err(bad("must be {\"recipients\": […]}, false or \"none\"")),
    }
}

/// Map an engine progress report to 0–100 (phases weighted as a database backup spends time).
fn percent(u: &ProgressUpdate) -> u8 {
    let frac = match u.bytes_total {
        Some(t) if t > 0 => (u.bytes_done as f64 / t as f64).clamp(0.0, 1.0),
        _ => 0.5,
    };
    let (from, to) = match u.phase {
        Phase::Connecting | Phase::Planning => (0.0, 3.0),
        Phase::Counting => (3.0, 8.0),
        Phase::Dumping | Phase::Downloading => (8.0, 80.0),
        Phase::Globals => (80.0, 82.0),
        Phase::Packing => (82.0, 92.0),
        Phase::Syncing => (92.0, 95.0),
        Phase::Verifying | Phase::Validating => (95.0, 99.0),
        Phase::Done => (99.0, 99.0),
        _ => (0.0, 0.0),
    };
    (from + (to - from) * frac) as u8
}

/// The step an engine report is on, for the backup's status (`None` for the last report).
fn live_step(u: &ProgressUpdate) -> Option<LiveStep> {
    if u.finished || u.phase == Phase::Done {
        return None;
    }
    let phase = serde_json::to_value(u.phase)
        .ok()?
        .as_str()
        .map(str::to_string)?;
    Some(LiveStep {
        phase,
        bytes_done: u.bytes_done,
        bytes_total: u.bytes_total,
    })
}

async fn estimate(agent: &Agent, project: &str) -> Option<u64> {
    let jobs = agent
        .engine
        .job_history(&JobFilter {
            project: Some(project.to_string()),
            kind: Some(JobKind::Backup),
            state: Some(offsite_core::catalog::JobState::Succeeded),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .ok()?;
    let j = jobs.first()?;
    let start = offsite_core::catalog::parse_timestamp(&j.started_at).ok()?;
    let end = offsite_core::catalog::parse_timestamp(j.finished_at.as_deref()?).ok()?;
    Some((end - start).whole_seconds().max(1) as u64)
}

/// Start a backup of `project` (already authorised); 409 while one runs.
pub async fn start(agent: &Arc<Agent>, project: &str, req: CreateBackup) -> ApiResult<Created> {
    let backup_type = parse_type(&req.backup_type)?;
    let compression = parse_compression(&req.compression)?;
    let encryption = parse_encryption(&req.encryption)?;
    let selection = parse_selection(req.selection, backup_type)?;
    let pc = agent
        .config
        .projects
        .get(project)
        .ok_or_else(|| ApiError::not_found(format!("no project {project:?}")))?
        .clone();
    let (storage, config) = inputs::for_type(&pc, backup_type)?;
    let estimated_time = estimate(agent, project).await;
    let id = offsite_core::ops::new_job_id();
    let running = Arc::new(Running::new(
        id.clone(),
        project.to_string(),
        format!("{backup_type:?}").to_ascii_uppercase(),
        format_timestamp(time::OffsetDateTime::now_utc()),
        agent.shutdown.child_token(),
    ));
    // The project's previous backup may still be leaving `current` after its job ended — its
    // `COMPLETED` already visible, its locks already free (the runner frees them at once):
    // it holds nothing, and a backup asked for after it is made, not refused.
    let ended = match agent.running(project) {
        Some(r) => match agent.engine.catalog().job(&r.id).await {
            Ok(j) if !matches!(j.state, JobState::Running | JobState::Cancelling) => {
                Some(r.id.clone())
            }
            _ => None,
        },
        None => None,
    };
    {
        let mut current = agent.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = current
            .get(project)
            .filter(|r| ended.as_deref() != Some(r.id.as_str()))
        {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "backup_running",
                format!("a backup of {project} is being made"),
            )
            .with_hint("wait for it: GET the backup_id given here");
            e.backup_id = Some(r.id.clone());
            return Err(e);
        }
        current.insert(project.to_string(), running.clone());
    }
    agent
        .started
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), running.clone());
    let opts = BackupOptions {
        project: project.to_string(),
        compression,
        backup_type: Some(backup_type),
        storage,
        config,
        encryption,
        selection,
        ..Default::default()
    };
    let sink_state = running.clone();
    let sink = Arc::new(move |u: &ProgressUpdate| {
        sink_state.advance(percent(u));
        if let Some(step) = live_step(u) {
            sink_state.set_live(step);
        }
    });
    let start = JobStart::new(JobTrigger::Manual)
        .id(id.clone())
        .progress(sink)
        .cancel(running.cancel.clone());
    let agent2 = agent.clone();
    let project2 = project.to_string();
    let finished = running.ended.clone();
    let recorded = running.clone();
    tokio::spawn(async move {
        let result = agent2.engine.backup(opts, start).await;
        if let Err(e) = &result {
            tracing::warn!(project = %project2, code = e.code(), "backup failed: {}", e.message());
            // Refused before its job was recorded (e.g. `busy`: the capture's base holds the
            // project): its status says so rather than not knowing the id.
            if agent2.engine.catalog().job(&recorded.id).await.is_err() {
                recorded.set_refused(e.code(), e.message());
            }
        }
        {
            // Only its own entry: a later backup may have taken the project's place already.
            let mut current = agent2.current.lock().unwrap_or_else(|p| p.into_inner());
            if current.get(&project2).is_some_and(|r| r.id == recorded.id) {
                current.remove(&project2);
            }
        }
        finished.cancel();
    });
    Ok(Created {
        backup_id: id,
        status: "CREATING".into(),
        progress: 0,
        estimated_time,
    })
}

fn file_name(path: &str) -> Option<String> {
    Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
}

/// The job (of this project, a backup) and its backup record when it has one.
async fn find(
    agent: &Agent,
    project: &str,
    backup_id: &str,
) -> ApiResult<(JobRecord, Option<BackupRecord>)> {
    let missing = || ApiError::not_found(format!("no backup {backup_id} in project {project}"));
    let p = agent
        .engine
        .project(project)
        .await
        .map_err(ApiError::from)?;
    let job = match agent.engine.catalog().job(backup_id).await {
        Ok(j) => j,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    if job.project_id.as_deref() != Some(p.id.as_str()) || job.kind != JobKind::Backup {
        return Err(missing());
    }
    let record = match &job.backup_id {
        Some(b) => match agent.engine.backup_record(b).await {
            Ok(r) => Some(r),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    Ok((job, record))
}

fn view(
    agent: &Agent,
    project: &str,
    job: &JobRecord,
    record: Option<&BackupRecord>,
) -> BackupView {
    let started = agent.started(&job.id);
    let (status, progress) = match job.state {
        JobState::Running | JobState::Cancelling => (
            "CREATING",
            started.as_ref().map(|r| r.progress()).unwrap_or(0),
        ),
        JobState::Succeeded => ("COMPLETED", 100),
        JobState::Failed | JobState::Cancelled | JobState::Interrupted => (
            "FAILED",
            started.as_ref().map(|r| r.progress()).unwrap_or(0),
        ),
    };
    let error = (status == "FAILED").then(|| BackupError {
        code: job.error_code.clone().unwrap_or_else(|| "cancelled".into()),
        message: job
            .error_message
            .clone()
            .unwrap_or_else(|| "the backup was cancelled".into()),
    });
    let v = BackupView {
        backup_id: job.id.clone(),
        project: project.to_string(),
        backup_type: record
            .map(|r| r.backup_type.as_str().to_ascii_uppercase())
            .or_else(|| started.as_ref().map(|r| r.backup_type.clone())),
        status: status.into(),
        progress,
        created_at: job.started_at.clone(),
        completed_at: job.finished_at.clone(),
        size: record.map(|r| r.size),
        sha256: record.map(|r| r.sha256.clone()),
        file_name: record.and_then(|r| file_name(&r.path)),
        error,
        phase: None,
        bytes_done: None,
        bytes_total: None,
    };
    with_live(v, started.as_deref().filter(|_| status == "CREATING"))
}

/// `v` with the step, bytes done and total of the backup `r` is making (unchanged without one).
fn with_live(mut v: BackupView, r: Option<&Running>) -> BackupView {
    if let Some(l) = r.and_then(Running::live) {
        v.phase = Some(l.phase);
        v.bytes_done = Some(l.bytes_done);
        v.bytes_total = l.bytes_total;
    }
    v
}

fn creating_view(r: &Running) -> BackupView {
    let v = BackupView {
        backup_id: r.id.clone(),
        project: r.project.clone(),
        backup_type: Some(r.backup_type.clone()),
        status: "CREATING".into(),
        progress: r.progress(),
        created_at: r.created_at.clone(),
        completed_at: None,
        size: None,
        sha256: None,
        file_name: None,
        error: None,
        phase: None,
        bytes_done: None,
        bytes_total: None,
    };
    with_live(v, Some(r))
}

/// A backup the engine refused before recording its job: `FAILED` with the engine's reason.
fn refused_view(r: &Running) -> BackupView {
    let (code, message) = r.refused().unwrap_or_default();
    BackupView {
        status: "FAILED".into(),
        error: Some(BackupError { code, message }),
        ..creating_view(r)
    }
}

/// One backup's status.
pub async fn status(agent: &Agent, project: &str, backup_id: &str) -> ApiResult<BackupView> {
    check_backup_id(backup_id)?;
    match find(agent, project, backup_id).await {
        Ok((job, record)) => {
            if job.state == JobState::Succeeded && record.is_none() {
                // Deleted since.
                return Err(ApiError::not_found(format!(
                    "no backup {backup_id} in project {project}"
                )));
            }
            Ok(view(agent, project, &job, record.as_ref()))
        }
        // Started a moment ago: the job's row is not written yet; or refused before it was.
        Err(e) if e.status == StatusCode::NOT_FOUND => match agent.running(project) {
            Some(r) if r.id == backup_id => Ok(creating_view(&r)),
            _ => match agent.started(backup_id) {
                Some(r) if r.project == project && r.refused().is_some() => Ok(refused_view(&r)),
                _ => Err(e),
            },
        },
        Err(e) => Err(e),
    }
}

/// How long a cancel waits for the backup to stop before answering that it is stopping.
const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a cancel did.
pub enum Cancelled {
    /// The backup has stopped: its status (`FAILED`, error `cancelled`).
    Stopped(BackupView),
    /// Still stopping after [`CANCEL_WAIT`] (`CREATING`): poll its status.
    Stopping(BackupView),
}

/// Cancel a backup being made: the engine stops it, removes what it wrote (nothing is
/// registered) and records its job as cancelled. 404 for an unknown backup, 409 `not_running`
/// for one that has ended (including one that completed before the cancel reached it).
pub async fn cancel(agent: &Agent, project: &str, backup_id: &str) -> ApiResult<Cancelled> {
    check_backup_id(backup_id)?;
    let Some(r) = agent.running(project).filter(|r| r.id == backup_id) else {
        let view = status(agent, project, backup_id).await?;
        return Err(not_running(&view));
    };
    r.cancel.cancel();
    if tokio::time::timeout(CANCEL_WAIT, r.ended.cancelled())
        .await
        .is_err()
    {
        return Ok(Cancelled::Stopping(creating_view(&r)));
    }
    let view = status(agent, project, backup_id).await?;
    if view.status == "COMPLETED" {
        // It completed before the cancel reached it.
        return Err(not_running(&view));
    }
    Ok(Cancelled::Stopped(view))
}

fn not_running(view: &BackupView) -> ApiError {
    let how = match view.status.as_str() {
        "COMPLETED" => "completed",
        _ if view.error.as_ref().is_some_and(|e| e.code == "cancelled") => "was cancelled",
        _ => "failed",
    };
    let mut e = ApiError::new(
        StatusCode::CONFLICT,
        "not_running",
        format!("the backup {} is not being made: it {how}", view.backup_id),
    )
    .with_hint(
        "only a backup being made (CREATING) can be cancelled; DELETE removes a finished one",
    );
    e.backup_id = Some(view.backup_id.clone());
    e
}

/// A project's backups, newest first (deleted ones left out).
/// `GET …/backups`: the backups, the retention that keeps them and the disk under them (the
/// space watcher's rule; `space` absent when it cannot be read).
pub async fn list_with_space(agent: &Agent, project: &str) -> ApiResult<serde_json::Value> {
    use offsite_core::sources::agent_wire::{AgentRetention, AgentSpace};
    let backups = list(agent, project).await?;
    let (rules, source) = crate::schedule::retention_of(agent, project).await?;
    let stored = agent.engine.stored_and_space(project).await;
    if let Err(e) = &stored {
        tracing::warn!(project, "space not read: {e}");
    }
    let (count, bytes) = stored.as_ref().map_or((0, 0), |s| (s.backups, s.bytes));
    let retention = AgentRetention {
        rules,
        source,
        backups: count,
        bytes,
    };
    let space = stored.ok().map(|s| AgentSpace {
        free_bytes: s.space.free_bytes,
        total_bytes: s.space.total_bytes,
        growth_bytes_per_day: s.space.growth_bytes_per_day,
        days_until_full: s.space.days_until_full,
        low: s.low,
        reasons: s.space.reasons,
    });
    Ok(serde_json::json!({ "backups": backups, "retention": retention, "space": space }))
}

pub async fn list(agent: &Agent, project: &str) -> ApiResult<Vec<BackupView>> {
    let jobs = agent
        .engine
        .job_history(&JobFilter {
            project: Some(project.to_string()),
            kind: Some(JobKind::Backup),
            ..Default::default()
        })
        .await?;
    let mut out = Vec::new();
    if let Some(r) = agent.running(project) {
        if !jobs.iter().any(|j| j.id == r.id) {
            out.push(creating_view(&r));
        }
    }
    for job in &jobs {
        let record = match &job.backup_id {
            Some(b) => agent.engine.backup_record(b).await.ok(),
            None => None,
        };
        if job.state == JobState::Succeeded && record.is_none() {
            continue;
        }
        out.push(view(agent, project, job, record.as_ref()));
    }
    Ok(out)
}

/// Delete a finished backup: its archive, `.sha256` and catalog entry.
pub async fn delete(agent: &Agent, project: &str, backup_id: &str) -> ApiResult<()> {
    check_backup_id(backup_id)?;
    if agent.running(project).is_some_and(|r| r.id == backup_id) {
        let mut e = ApiError::new(
            StatusCode::CONFLICT,
            "backup_running",
            "the backup is still being made",
        );
        e.backup_id = Some(backup_id.to_string());
        return Err(e);
    }
    let (_, record) = find(agent, project, backup_id).await?;
    let record =
        record.ok_or_else(|| ApiError::not_found(format!("backup {backup_id} has no archive")))?;
    agent
        .engine
        .delete_backup(DeleteOptions {
            backup_id: record.id,
            delete_file: true,
        })
        .await?;
    Ok(())
}

/// The archive of a completed backup: (path, file name, size, sha256). 409 `not_ready` while
/// it is being made; 404 when it failed, was deleted or never existed.
pub async fn archive_of(
    agent: &Agent,
    project: Option<&str>,
    backup_id: &str,
) -> ApiResult<(std::path::PathBuf, String, u64, String)> {
    check_backup_id(backup_id)?;
    let gone = || ApiError::not_found(format!("backup {backup_id} has no archive"));
    // The catalog's job decides: a backup whose job has ended is served even while the agent
    // still holds it as running for a moment (a client that saw COMPLETED must get its archive).
    let running = || {
        agent
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .any(|r| r.id == backup_id)
    };
    let (job, record) = match project {
        Some(p) => match find(agent, p, backup_id).await {
            Ok(found) => found,
            Err(e) if e.status == StatusCode::NOT_FOUND && running() => {
                return Err(not_ready(backup_id))
            }
            Err(e) => return Err(e),
        },
        None => {
            let job = match agent.engine.catalog().job(backup_id).await {
                Ok(j) if j.kind == JobKind::Backup => j,
                Ok(_) => return Err(gone()),
                Err(e) if e.kind() == ErrorKind::NotFound && running() => {
                    return Err(not_ready(backup_id))
                }
                Err(e) if e.kind() == ErrorKind::NotFound => return Err(gone()),
                Err(e) => return Err(e.into()),
            };
            let record = match &job.backup_id {
                Some(b) => agent.engine.backup_record(b).await.ok(),
                None => None,
            };
            (job, record)
        }
    };
    if matches!(job.state, JobState::Running | JobState::Cancelling) {
        return Err(not_ready(backup_id));
    }
    let record = record.ok_or_else(gone)?;
    let name = file_name(&record.path).ok_or_else(gone)?;
    Ok((record.path.clone().into(), name, record.size, record.sha256))
}

fn not_ready(backup_id: &str) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::CONFLICT,
        "not_ready",
        "the backup is still being made",
    )
    .with_hint("poll its status until COMPLETED");
    e.backup_id = Some(backup_id.to_string());
    e
}

/// A signed download URL for a completed backup, valid for the configured time.
pub async fn download_link(
    agent: &Agent,
    token_id: &str,
    project: &str,
    backup_id: &str,
    base_url: &str,
) -> ApiResult<DownloadLink> {
    let (_, name, size, sha256) = archive_of(agent, Some(project), backup_id).await?;
    let path = format!("/files/{backup_id}/{}", percent_encode(&name));
    Ok(crate::api::signed_link(
        agent,
        token_id,
        base_url,
        &path,
        (backup_id, &name),
        size,
        sha256,
    ))
}

/// Percent-encode a file name for a URL path segment (archive names are plain ASCII; this is
/// for safety).
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A selection is checked before anything starts: a name that is not `schema.table`, or a
    /// selection on a storage backup, is a 400 naming what to do; an empty one is the project's.
    #[test]
    fn a_requests_selection_is_checked_before_the_backup_starts() {
        use offsite_core::selection::BackupSelection;
        let lean = BackupSelection {
            exclude_table_data: vec!["public.logs".into()],
            ..Default::default()
        };
        assert_eq!(
            parse_selection(Some(lean.clone()), BackupType::Database).unwrap(),
            Some(lean.clone())
        );
        assert_eq!(
            parse_selection(Some(BackupSelection::default()), BackupType::Full).unwrap(),
            None
        );
        let e = parse_selection(Some(lean), BackupType::Storage).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let bad = BackupSelection {
            tables: vec!["x; DROP TABLE y".into()],
            ..Default::default()
        };
        let e = parse_selection(Some(bad), BackupType::Database).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST, "{}", e.message);
    }

    /// A client that saw COMPLETED gets the archive, even in the moment the agent still holds
    /// the backup as running (seen under load: `status` said COMPLETED, the download said
    /// `not_ready`); a backup that is only running (no job row yet) is `not_ready`.
    #[tokio::test]
    async fn a_completed_backup_is_served_while_it_is_still_held_as_running() {
        use offsite_testkit::TestCluster;
        let c = TestCluster::shared();
        let db = c.unique_db("agent_served");
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, c.superuser_password()).unwrap();
        let mut config =
            crate::AgentConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        config.pg_bin = Some(c.bin_dir().to_path_buf());
        config.projects = std::collections::BTreeMap::from([(
            "shop".to_string(),
            crate::ProjectConfig {
                database_url: c.url(&db),
                password_env: None,
                password_file: Some(pw),
                storage_dir: None,
                config_files: vec![],
                s3: None,
                retention: None,
                pitr: None,
            },
        )]);
        let agent = crate::Agent::open(config, false).await.unwrap();
        let req = CreateBackup {
            backup_type: "DATABASE".into(),
            compression: None,
            encryption: None,
            selection: None,
        };
        let created = start(&agent, "shop", req).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while status(&agent, "shop", &created.backup_id)
            .await
            .unwrap()
            .status
            == "CREATING"
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the backup did not finish"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let held = |id: &str| {
            let r = crate::state::Running::new(
                id.to_string(),
                "shop".into(),
                "DATABASE".into(),
                String::new(),
                tokio_util::sync::CancellationToken::new(),
            );
            agent
                .current
                .lock()
                .unwrap()
                .insert("shop".into(), std::sync::Arc::new(r));
        };
        held(&created.backup_id);
        assert_eq!(
            status(&agent, "shop", &created.backup_id)
                .await
                .unwrap()
                .status,
            "COMPLETED"
        );
        for project in [Some("shop"), None] {
            let (path, _, size, _) = archive_of(&agent, project, &created.backup_id)
                .await
                .unwrap();
            assert!(path.is_file() && size > 0);
        }
        let only_running = "0b8e5f0e-3c1e-4c55-9a55-1b2c3d4e5f60";
        held(only_running);
        for project in [Some("shop"), None] {
            let e = archive_of(&agent, project, only_running).await.unwrap_err();
            assert_eq!(e.code, "not_ready");
        }
    }

    #[test]
    fn backup_ids_are_canonical_uuids_only() {
        assert!(check_backup_id("0b8e5f0e-3c1e-4c55-9a55-1b2c3d4e5f60").is_ok());
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            "0B8E5F0E-3C1E-4C55-9A55-1B2C3D4E5F60",
            "0b8e5f0e3c1e4c559a551b2c3d4e5f60",
            "",
        ] {
            assert_eq!(
                check_backup_id(bad).unwrap_err().status,
                StatusCode::BAD_REQUEST
            );
        }
    }

    #[test]
    fn types_compression_and_encryption_are_checked() {
        assert_eq!(parse_type("full").unwrap(), BackupType::Full);
        assert!(parse_type("INCREMENTAL").is_err());
        use offsite_core::archive::compression::DEFAULT_ZSTD_LEVEL;
        use offsite_core::archive::Compression;
        use offsite_core::backup::DEFAULT_COMPRESSION_LEVEL;
        let parsed = |v: serde_json::Value| parse_compression(&Some(v));
        assert_eq!(parse_compression(&None).unwrap(), None);
        assert_eq!(parsed(serde_json::Value::Null).unwrap(), None);
        assert_eq!(
            parsed(serde_json::json!(3)).unwrap(),
            Some(Compression::Gzip(3))
        );
        assert_eq!(
            parsed(serde_json::json!("none")).unwrap(),
            Some(Compression::Gzip(0))
        );
        // gzip asked by name stays gzip whatever the machine's default is.
        assert_eq!(
            parsed(serde_json::json!("gzip")).unwrap(),
            Some(Compression::Gzip(DEFAULT_COMPRESSION_LEVEL))
        );
        assert_eq!(
            parsed(serde_json::json!("GZIP:9")).unwrap(),
            Some(Compression::Gzip(9))
        );
        assert_eq!(
            parsed(serde_json::json!("zstd")).unwrap(),
            Some(Compression::Zstd(DEFAULT_ZSTD_LEVEL))
        );
        assert_eq!(
            parsed(serde_json::json!("zstd:19")).unwrap(),
            Some(Compression::Zstd(19))
        );
        for bad in [
            serde_json::json!(12),
            serde_json::json!(-1),
            serde_json::json!(1.5),
            serde_json::json!("zstd:0"),
            serde_json::json!("zstd:22"),
            serde_json::json!("gzip:10"),
            serde_json::json!("lz4"),
            serde_json::json!("zstd:3".repeat(1000)),
            serde_json::json!(["zstd"]),
            serde_json::json!({"codec": "zstd"}),
        ] {
            let e = parse_compression(&Some(bad.clone())).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        assert!(parse_encryption(&Some(serde_json::json!(true))).is_err());
        assert!(parse_encryption(&Some(serde_json::json!(false)))
            .unwrap()
            .is_none());
        assert!(parse_encryption(&Some(serde_json::json!({"passphrase": "x"}))).is_err());
        assert!(parse_encryption(&Some(serde_json::json!({"recipients": []}))).is_err());
        assert!(parse_encryption(&Some(serde_json::json!({"recipients": ["age1nope"]}))).is_err());
        let r = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
        assert!(
            parse_encryption(&Some(serde_json::json!({"recipients": [r]})))
                .unwrap()
                .is_some()
        );
    }
}
