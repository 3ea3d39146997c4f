//! A drill schedule's run: a restore drill of the project's newest good backup (where the
//! project's drill settings say: a throwaway cluster by default, or its scratch server), as a
//! job with the schedule's trigger. A drill that fails a check fails the run with the drill job's error (`validation_failed`, its message naming the first failed
//! check with what was expected and found: `ops::drill::failure_error`), so the schedule's
//! notification names it; it is not retried (a retry would fail the same way).

use super::schedule::DueRun;
use crate::catalog::Project;
use crate::engine::Engine;
use crate::error::Result;
use crate::ops::drill::{failure_error, DrillOptions};
use crate::ops::schedule_run::Started;

pub(crate) async fn run_drill(
    engine: &Engine,
    project: &Project,
    job_id: &str,
    how: Started<'_>,
    run: &mut DueRun,
) -> Result<()> {
    run.job_ids.push(job_id.to_string());
    let outcome = crate::ops::drill::run(
        engine,
        DrillOptions {
            project: project.name.clone(),
            backup: None,
            // Where the project's drill settings say (a throwaway cluster by default).
            ..Default::default()
        },
        how.job(job_id.to_string()),
    )
    .await?;
    run.backup_id = Some(outcome.report.backup_id.clone());
    match failure_error(&outcome.report) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
