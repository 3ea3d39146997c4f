//! `offsite history` (the app's History screen: the jobs the engine recorded, through the same
//! engine call) and `offsite forget` (remove a backup's catalog entry, e.g. one whose archive
//! file was deleted).

use crate::output::Out;
use clap::Args;
use offsite_core::catalog::{JobKind, JobRecord, JobState};
use offsite_core::ops::{DeleteOptions, JobFilter, JobTrigger};
use offsite_core::{Engine, Error, Result};
use serde_json::json;
use std::collections::HashMap;

#[derive(Args)]
#[command(
    after_help = "Examples:\n  offsite history\n  offsite history shop --limit 20\n  \
offsite history shop --kind backup --state failed --json"
)]
pub struct HistoryArgs {
    /// Only this project's jobs (default: every project's).
    pub project: Option<String>,
    /// At most N jobs, newest first (default 500).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Only jobs of this kind: backup, verify, restore, import, prune or pull.
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// Only jobs started this way: manual, schedule, catch_up, retry, cli or retention.
    #[arg(long, value_name = "TRIGGER")]
    pub trigger: Option<String>,
    /// Only jobs in this state: running, cancelling, cancelled, succeeded, failed, interrupted.
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
}

fn parsed<T>(
    value: Option<&str>,
    what: &str,
    parse: fn(&str) -> Option<T>,
    all: &str,
) -> Result<Option<T>> {
    value
        .map(|v| {
            parse(v).ok_or_else(|| {
                Error::invalid(format!("unknown {what} {v:?}")).with_hint(format!("one of: {all}"))
            })
        })
        .transpose()
}

/// The filter of the app's History screen, from the command line.
fn filter_of(a: &HistoryArgs) -> Result<JobFilter> {
    Ok(JobFilter {
        project: a.project.clone(),
        kind: parsed(
            a.kind.as_deref(),
            "job kind",
            JobKind::parse,
            "backup, verify, restore, import, prune, pull, sync, fetch_copy, drill, recover",
        )?,
        trigger: parsed(
            a.trigger.as_deref(),
            "trigger",
            JobTrigger::parse,
            "manual, schedule, catch_up, retry, cli, retention",
        )?,
        state: parsed(
            a.state.as_deref(),
            "job state",
            JobState::parse,
            "running, cancelling, cancelled, succeeded, failed, interrupted",
        )?,
        limit: a.limit,
    })
}

pub async fn history(engine: &Engine, args: HistoryArgs, out: &Out) -> Result<u8> {
    let filter = filter_of(&args)?;
    let jobs = engine.job_history(&filter).await?;
    let names: HashMap<String, String> = engine
        .projects()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let project_of = |j: &JobRecord| j.project_id.as_ref().and_then(|id| names.get(id)).cloned();
    if out.json() {
        let jobs: Vec<_> = jobs
            .iter()
            .map(|j| {
                let mut v = serde_json::to_value(j).expect("serializable");
                v["project"] = json!(project_of(j));
                v
            })
            .collect();
        out.emit(&json!({ "jobs": jobs }));
        return Ok(0);
    }
    if jobs.is_empty() {
        println!("no jobs recorded yet");
    }
    for j in &jobs {
        let detail = match (&j.error_message, &j.backup_id) {
            (Some(m), _) => m.clone(),
            (None, Some(b)) => format!("backup {b}"),
            _ => String::new(),
        };
        println!(
            "{}  {:<20} {:<8} {:<9} {:<10} {}",
            j.started_at,
            project_of(j).unwrap_or_else(|| "-".into()),
            j.kind,
            j.trigger,
            j.state,
            detail
        );
    }
    Ok(0)
}

#[derive(Args)]
#[command(
    after_help = "Examples:\n  offsite backups shop --json\n  offsite forget 0b6f1c1e-5d0c-4c2a-9a57-3f1e2d4c5b6a"
)]
pub struct ForgetArgs {
    /// The backup's id (the `id` of `offsite backups NAME --json`).
    pub backup_id: String,
}

/// Remove a backup's catalog entry; its archive file (if it is still there) stays.
pub async fn forget(engine: &Engine, args: ForgetArgs, out: &Out) -> Result<u8> {
    let o = engine
        .delete_backup(DeleteOptions {
            backup_id: args.backup_id.clone(),
            delete_file: false,
        })
        .await?;
    out.done(&format!(
        "removed backup {} from the catalog (its file {} was left as it is)",
        args.backup_id, o.path
    ));
    Ok(0)
}
