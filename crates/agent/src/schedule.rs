//! `PUT|GET /platform/projects/{id}/backup-schedule`: the project's backup schedule, kept in the
//! agent's engine (the schedules module: wall-clock due times, catch-up, retries, retention)
//! and run by the agent itself ([`run_schedules`]). The type of the scheduled backups is the
//! agent's own (`schedule-types.json` in the data folder; default `FULL`).

use crate::error::{ApiError, ApiResult};
use crate::files::write_atomic;
use crate::inputs::AgentInputs;
use crate::state::Agent;
use offsite_core::archive::BackupType;
use offsite_core::catalog::ScheduleKind;
use offsite_core::ops::{DueListener, LoopOptions, RunDueReport, ScheduleWhat, SetSchedule};
use offsite_core::schedule::{RetentionPolicy, ScheduleSpec};
use offsite_core::{Engine, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// The file in the data folder.
pub const TYPES_FILE: &str = "schedule-types.json";

/// `PUT …/backup-schedule` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSchedule {
    /// `every 6h`, `daily 02:30`, `weekly mon,thu 02:30`, `monthly 1 03:00`, `cron 30 2 * * *`.
    #[serde(default)]
    pub schedule: Option<String>,
    /// IANA zone of the times (default: the agent host's zone).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// `FULL` (default), `DATABASE`, `STORAGE` or `CONFIG`.
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<offsite_core::sources::agent_wire::BackupType>)]
    pub backup_type: Option<String>,
    /// `false` removes the schedule.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The retention applied after each scheduled backup (the laptop's GFS rules). Absent:
    /// unchanged. Refused when `agent.toml` sets the project's retention.
    #[serde(default)]
    pub retention: Option<RetentionIn>,
}

/// GFS retention rules, as `offsite retention set` takes them: each count at least 1, a rule
/// left out is off; no rule at all keeps everything.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_hourly: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_yearly: Option<u32>,
    /// A duration: `36h`, `30d`, `8w`, `6m`, `1y`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within: Option<String>,
}

impl RetentionIn {
    /// The engine's policy (the one type the laptop's retention uses), checked.
    fn policy(&self) -> Result<RetentionPolicy> {
        let value = serde_json::to_value(self).map_err(|e| Error::internal(e.to_string()))?;
        let policy: RetentionPolicy =
            serde_json::from_value(value).map_err(|e| Error::invalid(format!("retention: {e}")))?;
        policy.validate()?;
        Ok(policy)
    }
}

/// A schedule as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Schedule)]
pub struct ScheduleOut {
    /// `false`: the project has no schedule (nothing else is set then).
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// IANA zone of the times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<offsite_core::sources::agent_wire::BackupType>)]
    pub backup_type: Option<String>,
    /// Every schedule of the agent is paused for now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// The next runs (RFC 3339).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>, format = DateTime)]
    pub next_runs: Vec<String>,
    /// The retention applied after each scheduled backup, in words (`keep-last 7`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
    /// Where the retention is set: `agent.toml`, or `api` (what `PUT` set; until then the
    /// recommended policy a new project gets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_source: Option<String>,
}

fn type_name(t: BackupType) -> String {
    format!("{t:?}").to_ascii_uppercase()
}

/// Read the scheduled types into `inputs` (at start).
pub fn load_types(data_dir: &Path, inputs: &AgentInputs) -> Result<()> {
    let path = data_dir.join(TYPES_FILE);
    let map: BTreeMap<String, String> = match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::invalid(format!("{} is damaged: {e}", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let mut w = inputs.scheduled.write().unwrap_or_else(|e| e.into_inner());
    for (p, t) in map {
        w.insert(p, offsite_core::ops::parse_backup_type(&t)?);
    }
    Ok(())
}

fn save_types(agent: &Agent) -> Result<()> {
    let map: BTreeMap<String, String> = agent
        .inputs
        .scheduled
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(p, t)| (p.clone(), t.as_str().to_string()))
        .collect();
    let bytes = serde_json::to_vec_pretty(&map).map_err(|e| Error::internal(e.to_string()))?;
    write_atomic(&agent.config.data_dir.join(TYPES_FILE), &bytes, false)
}

/// The project's retention in words and where it is set: `agent.toml`, or `api` (what `PUT
/// backup-schedule` set, else the recommended policy a new project gets).
pub async fn retention_of(agent: &Agent, project: &str) -> Result<(String, String)> {
    let view = agent.engine.retention(project).await?;
    let from_file = agent
        .config
        .projects
        .get(project)
        .is_some_and(|p| p.retention.is_some());
    let source = if from_file { "agent.toml" } else { "api" };
    Ok((view.rules, source.to_string()))
}

/// The project's backup schedule.
pub async fn get(agent: &Agent, project: &str) -> ApiResult<ScheduleOut> {
    let views = agent.engine.schedules(Some(project)).await?;
    let (rules, source) = retention_of(agent, project).await?;
    let Some(v) = views.into_iter().find(|v| v.kind == ScheduleKind::Backup) else {
        return Ok(ScheduleOut {
            enabled: false,
            schedule: None,
            time_zone: None,
            backup_type: None,
            paused: None,
            next_runs: Vec::new(),
            retention: Some(rules),
            retention_source: Some(source),
        });
    };
    let t = agent
        .inputs
        .scheduled
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(project)
        .copied()
        .unwrap_or(BackupType::Full);
    Ok(ScheduleOut {
        enabled: true,
        schedule: Some(v.spec.clone()),
        time_zone: Some(v.time_zone.clone()),
        backup_type: Some(type_name(t)),
        paused: Some(v.paused),
        next_runs: v.next_runs.clone(),
        retention: Some(rules),
        retention_source: Some(source),
    })
}

/// Set (replace) or remove the project's backup schedule.
pub async fn put(agent: &Agent, project: &str, req: PutSchedule) -> ApiResult<ScheduleOut> {
    if req.enabled == Some(false) {
        agent
            .engine
            .clear_schedule(project, ScheduleKind::Backup)
            .await?;
        return get(agent, project).await;
    }
    let text = req.schedule.as_deref().ok_or_else(|| {
        ApiError::bad_request("no schedule given").with_hint(
            "e.g. {\"schedule\": \"daily 02:30\", \"type\": \"FULL\"}, or {\"enabled\": false}",
        )
    })?;
    let spec: ScheduleSpec = text.parse()?;
    let backup_type = match req.backup_type.as_deref() {
        None => BackupType::Full,
        Some(t) => match t.to_ascii_uppercase().as_str() {
            "FULL" => BackupType::Full,
            "DATABASE" => BackupType::Database,
            "STORAGE" => BackupType::Storage,
            "CONFIG" => BackupType::Config,
            _ => {
                return Err(ApiError::bad_request(format!("unknown backup type {t:?}"))
                    .with_hint("use FULL, DATABASE, STORAGE or CONFIG"))
            }
        },
    };
    // The project must be able to make that type (storage folder, config files).
    let pc = agent
        .config
        .projects
        .get(project)
        .ok_or_else(|| ApiError::not_found(format!("no project {project:?}")))?;
    crate::inputs::for_type(pc, backup_type)?;
    let policy = match &req.retention {
        None => None,
        Some(_) if pc.retention.is_some() => return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "retention_in_config",
            format!("project {project:?}'s retention is set in the agent's configuration file"),
        )
        .with_hint(
            "change [projects.<id>.retention] in agent.toml and restart, or leave retention out",
        )),
        Some(r) => Some(r.policy().map_err(ApiError::from)?),
    };
    if let Some(policy) = policy {
        agent
            .engine
            .set_retention(project, policy, req.time_zone.as_deref())
            .await?;
    }
    agent
        .engine
        .set_schedule(SetSchedule {
            project: project.to_string(),
            spec,
            what: ScheduleWhat::Backup,
            time_zone: req.time_zone.clone(),
        })
        .await?;
    agent
        .inputs
        .scheduled
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(project.to_string(), backup_type);
    save_types(agent)?;
    get(agent, project).await
}

/// Run due schedules until `cancel`: the engine's one schedule loop, logging each run.
pub async fn run_schedules(agent: std::sync::Arc<Agent>, cancel: CancellationToken) {
    agent
        .engine
        .run_schedules(&LogRuns, LoopOptions::default(), cancel)
        .await
}

/// The agent's announcements: a log line per scheduled run.
struct LogRuns;

impl DueListener for LogRuns {
    async fn checked(&self, _engine: &Engine, report: &Result<RunDueReport>) {
        match report {
            Ok(report) => {
                for run in &report.runs {
                    tracing::info!(project = %run.project, state = %run.state, "scheduled backup");
                }
            }
            Err(e) => tracing::warn!("running due schedules: {}", e.message()),
        }
    }
}
