//! The `jobs` table: every backup, verification, restore and import that ran or runs, with its
//! state, progress counters and outcome. A job of a process that went away is `interrupted` at
//! the next start ([`Catalog::interrupt_job`]).

use super::sql::{changed_a_row, db_error, is_foreign_key_violation, new_id, to_i64};
use super::Catalog;
use crate::error::{Error, ErrorKind, Result};
pub use crate::kinds::{JobKind, JobTrigger};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};

/// The error message of a job that was still running when its process went away.
pub const INTERRUPTED_MESSAGE: &str = "interrupted (Offsite stopped while it ran)";

const INTERRUPTED_HINT: &str =
    "Offsite was closed or crashed while the job ran; nothing it was writing was kept as a backup. Run it again.";

text_enum! {
    /// Where a job is in its life.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum JobState as "job state" {
        Running = "running",
        Cancelling = "cancelling",
        Cancelled = "cancelled",
        Succeeded = "succeeded",
        Failed = "failed",
        /// Its process stopped while it ran (crash, power loss, killed): found at the next
        /// start, which also returned its target to how it was where the job left a journal
        /// (issue 63; the job's message says what is there).
        Interrupted = "interrupted",
    }
}

impl JobState {
    /// Cancelled, succeeded, failed or interrupted: the job will not change any more.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Cancelled | JobState::Succeeded | JobState::Failed | JobState::Interrupted
        )
    }

    /// Failed or interrupted: the job did not do what it was started for (and was not
    /// cancelled).
    pub fn is_failure(self) -> bool {
        matches!(self, JobState::Failed | JobState::Interrupted)
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum JobOutcome {
    Succeeded {
        backup_id: Option<String>,
    },
    Failed {
        code: String,
        message: String,
        hint: Option<String>,
        /// The server's or tool's own words (the error's `detail`), for "Details".
        #[serde(default)]
        detail: Option<String>,
    },
    Cancelled,
}

impl JobOutcome {
    /// The outcome for a job that ended with `e`: [`JobOutcome::Cancelled`] for
    /// [`ErrorKind::Cancelled`], otherwise [`JobOutcome::Failed`] with the error's code, message
    /// and hint.
    pub fn from_error(e: &Error) -> Self {
        if e.kind() == ErrorKind::Cancelled {
            return JobOutcome::Cancelled;
        }
        JobOutcome::Failed {
            code: e.code().to_string(),
            message: e.message().to_string(),
            hint: e.hint().map(str::to_string),
            detail: e.detail().map(str::to_string),
        }
    }
}

/// A job in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct JobRecord {
    pub id: String,
    pub project_id: Option<String>,
    pub kind: JobKind,
    pub state: JobState,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_hint: Option<String>,
    /// What the server or tool said when the job failed, for "Details" (issue 44).
    #[cfg_attr(feature = "specta", specta(optional))]
    #[serde(default)]
    pub error_detail: Option<String>,
    /// The backup a successful backup job made; the backup a verify job checked.
    pub backup_id: Option<String>,
    /// What started it.
    #[cfg_attr(feature = "specta", specta(optional))]
    pub trigger: JobTrigger,
}

/// The columns of [`JobRecord`], in its order (`trigger` is an SQL keyword: quoted).
const JOB_COLS: &str = "id, project_id, kind, state, started_at, finished_at, bytes_done, \
                        bytes_total, error_code, error_message, error_hint, error_detail, backup_id, \
                        \"trigger\"";

/// A fresh job id (what [`Catalog::start_job`] would pick).
pub fn new_job_id() -> String {
    new_id()
}

impl Catalog {
    /// Record a job that starts now, in state `running`.
    pub async fn start_job(&self, kind: JobKind, project_id: Option<&str>) -> Result<JobRecord> {
        self.start_job_with_id(&new_id(), kind, project_id).await
    }

    /// [`Catalog::start_job`] with an id chosen by the caller (see [`new_job_id`]), so a caller
    /// can hand the id out before the job starts. The id must be new.
    pub async fn start_job_with_id(
        &self,
        id: &str,
        kind: JobKind,
        project_id: Option<&str>,
    ) -> Result<JobRecord> {
        self.start_job_triggered(id, kind, project_id, JobTrigger::default())
            .await
    }

    /// [`Catalog::start_job_with_id`] recording what started the job, in the same row.
    pub async fn start_job_triggered(
        &self,
        id: &str,
        kind: JobKind,
        project_id: Option<&str>,
        trigger: JobTrigger,
    ) -> Result<JobRecord> {
        if id.trim().is_empty() || id.len() > 64 {
            return Err(Error::invalid("a job id must be 1 to 64 characters"));
        }
        let job = JobRecord {
            id: id.to_string(),
            project_id: project_id.map(str::to_string),
            kind,
            state: JobState::Running,
            started_at: self.now(),
            finished_at: None,
            bytes_done: 0,
            bytes_total: None,
            error_code: None,
            error_message: None,
            error_hint: None,
            error_detail: None,
            backup_id: None,
            trigger,
        };
        sqlx::query(
            "INSERT INTO jobs (id, project_id, kind, state, started_at, \"trigger\") \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&job.id)
        .bind(&job.project_id)
        .bind(job.kind)
        .bind(job.state)
        .bind(&job.started_at)
        .bind(job.trigger)
        .execute(self.pool())
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                Error::not_found(format!(
                    "cannot start a {} job: no project with id {}",
                    job.kind,
                    project_id.unwrap_or("")
                ))
                .with_hint("see the projects with `offsite project list`")
            } else {
                db_error(&format!("starting a {} job", job.kind), e)
            }
        })?;
        Ok(job)
    }

    /// Save a job's progress counters.
    pub async fn update_job_counters(
        &self,
        id: &str,
        bytes_done: u64,
        bytes_total: Option<u64>,
    ) -> Result<()> {
        let done_i = to_i64(bytes_done, "bytes done")?;
        let total_i = bytes_total.map(|t| to_i64(t, "bytes total")).transpose()?;
        let done = sqlx::query("UPDATE jobs SET bytes_done = ?, bytes_total = ? WHERE id = ?")
            .bind(done_i)
            .bind(total_i)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error(&format!("updating job {id}"), e))?;
        changed_a_row(done, || job_not_found(id))
    }

    /// Record the backup a running job is about (a verify: the backup it checks), so its
    /// outcome and its notification name it, whether it succeeds or fails.
    pub async fn set_job_backup(&self, id: &str, backup_id: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE jobs SET backup_id = ? WHERE id = ? AND state IN ('running', 'cancelling')",
        )
        .bind(backup_id)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| db_error(&format!("recording the backup of job {id}"), e))?;
        changed_a_row(done, || job_not_found(id))
    }

    /// Mark a running job as being cancelled. Returns false when it had already finished (or was
    /// already cancelling).
    pub async fn set_job_cancelling(&self, id: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE jobs SET state = 'cancelling' WHERE id = ? AND state = 'running'")
                .bind(id)
                .execute(self.pool())
                .await
                .map_err(|e| db_error(&format!("cancelling job {id}"), e))?;
        if done.rows_affected() == 0 {
            self.job(id).await?; // NotFound when it does not exist
            return Ok(false);
        }
        Ok(true)
    }

    /// Record how a job ended: `finished_at` = now and the final state, plus the backup it made or
    /// the error.
    ///
    /// A job can be finished once. The exception is a job that [`Catalog::fail_stale_jobs`]
    /// marked as interrupted while its process was in fact still running (another Offsite process
    /// started meanwhile): the real outcome replaces that guess. A finished job's journal goes
    /// with it: the job undid its own work, or had none to undo.
    pub async fn finish_job(&self, id: &str, outcome: JobOutcome) -> Result<()> {
        let (state, backup_id, code, message, hint, detail) = match outcome {
            JobOutcome::Succeeded { backup_id } => {
                (JobState::Succeeded, backup_id, None, None, None, None)
            }
            JobOutcome::Failed {
                code,
                message,
                hint,
                detail,
            } => (
                JobState::Failed,
                None,
                Some(code),
                Some(message),
                hint,
                detail,
            ),
            JobOutcome::Cancelled => (JobState::Cancelled, None, None, None, None, None),
        };
        // The job's notification (issue 27) is queued in the same transaction: a finished job
        // and its event are recorded together or not at all.
        let what = format!("finishing job {id}");
        let mut tx = self.pool().begin().await.map_err(|e| db_error(&what, e))?;
        let done = sqlx::query(
            "UPDATE jobs SET state = ?, finished_at = ?, backup_id = COALESCE(?, backup_id), \
             error_code = ?, error_message = ?, error_hint = ?, error_detail = ? \
             WHERE id = ? AND (state IN ('running', 'cancelling', 'interrupted') \
             OR (state = 'failed' AND error_message = ?))",
        )
        .bind(state)
        .bind(self.now())
        .bind(&backup_id)
        .bind(&code)
        .bind(&message)
        .bind(&hint)
        .bind(&detail)
        .bind(id)
        .bind(INTERRUPTED_MESSAGE)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                Error::not_found(format!(
                    "cannot finish job {id}: no backup with id {}",
                    backup_id.as_deref().unwrap_or("")
                ))
            } else {
                db_error(&what, e)
            }
        })?;
        if done.rows_affected() == 0 {
            drop(tx);
            let job = self.job(id).await?;
            return Err(Error::internal(format!(
                "job {id} has already finished ({})",
                job.state
            )));
        }
        sqlx::query("DELETE FROM job_journal WHERE job_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(&what, e))?;
        super::notify::enqueue_job_event(&mut tx, id).await?;
        // What retention will remove may have changed (a new backup, a prune): the retention
        // watcher looks again at the next check instead of within its hour.
        sqlx::query("DELETE FROM notify_watch_runs WHERE watch = ?")
            .bind(super::RETENTION_WATCH)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(&what, e))?;
        tx.commit().await.map_err(|e| db_error(&what, e))?;
        Ok(())
    }

    /// The job with this id.
    pub async fn job(&self, id: &str) -> Result<JobRecord> {
        sqlx::query_as::<_, JobRecord>(&format!("SELECT {JOB_COLS} FROM jobs WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| db_error(&format!("reading job {id}"), e))?
            .ok_or_else(|| job_not_found(id))
    }

    /// The newest `limit` jobs, of one project or (with `None`) of all.
    pub async fn jobs(&self, project_id: Option<&str>, limit: u32) -> Result<Vec<JobRecord>> {
        sqlx::query_as::<_, JobRecord>(&format!(
            "SELECT {JOB_COLS} FROM jobs WHERE (? IS NULL OR project_id = ?) \
             ORDER BY started_at DESC, rowid DESC LIMIT ?"
        ))
        .bind(project_id)
        .bind(project_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing jobs", e))
    }

    /// The newest `limit` jobs matching every given filter (`None`: any): of one project, of one
    /// kind (`backup`…), with one trigger (`schedule`…), in one state (`failed`…).
    pub async fn jobs_filtered(
        &self,
        project_id: Option<&str>,
        kind: Option<JobKind>,
        trigger: Option<JobTrigger>,
        state: Option<JobState>,
        limit: u32,
    ) -> Result<Vec<JobRecord>> {
        sqlx::query_as::<_, JobRecord>(&format!(
            "SELECT {JOB_COLS} FROM jobs WHERE (? IS NULL OR project_id = ?) \
             AND (? IS NULL OR kind = ?) AND (? IS NULL OR \"trigger\" = ?) \
             AND (? IS NULL OR state = ?) \
             ORDER BY started_at DESC, rowid DESC LIMIT ?"
        ))
        .bind(project_id)
        .bind(project_id)
        .bind(kind)
        .bind(kind)
        .bind(trigger)
        .bind(trigger)
        .bind(state)
        .bind(state)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing jobs", e))
    }

    /// After a crash: jobs still `running` or `cancelling` become `interrupted` ("interrupted
    /// (Offsite stopped while it ran)"). Returns how many were changed.
    ///
    /// The catalog cannot tell a job of a crashed process from one another live Offsite process
    /// is running: the engine calls [`Catalog::interrupt_job`] only for jobs whose liveness lock
    /// is free (ops/runner.rs). This sweeps them all (tests, a catalog no process uses); if a
    /// process finishes such a job later, its real outcome replaces the "interrupted" one.
    pub async fn fail_stale_jobs(&self) -> Result<u64> {
        let mut changed = 0;
        for job in self.jobs(None, u32::MAX).await? {
            if matches!(job.state, JobState::Running | JobState::Cancelling)
                && self.interrupt_job(&job.id).await?
            {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// A job whose process stopped while it ran becomes `interrupted`, finished now, with the
    /// code `interrupted`; its notification is queued with it. Its journal (if any) stays for
    /// the start that settles it. Returns false when it had already finished.
    pub async fn interrupt_job(&self, id: &str) -> Result<bool> {
        let what = format!("marking job {id} as interrupted");
        let mut tx = self.pool().begin().await.map_err(|e| db_error(&what, e))?;
        let done = sqlx::query(
            "UPDATE jobs SET state = 'interrupted', finished_at = ?, error_code = ?, \
             error_message = ?, error_hint = ?, error_detail = NULL \
             WHERE id = ? AND state IN ('running', 'cancelling')",
        )
        .bind(self.now())
        .bind(ErrorKind::Interrupted.code())
        .bind(INTERRUPTED_MESSAGE)
        .bind(INTERRUPTED_HINT)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(&what, e))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        super::notify::enqueue_job_event(&mut tx, id).await?;
        tx.commit().await.map_err(|e| db_error(&what, e))?;
        Ok(true)
    }
}

fn job_not_found(id: &str) -> Error {
    Error::not_found(format!("no job with id {id}"))
        .with_hint("it may have been removed with its project")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::{catalog, catalog_at, kind, new_backup, new_project, shop, AT};

    #[tokio::test]
    async fn job_lifecycle_succeeded() {
        let c = catalog().await;
        let (dir, p) = shop(&c).await;
        let j = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.kind, JobKind::Backup);
        assert_eq!(j.project_id.as_deref(), Some(p.id.as_str()));
        assert_eq!(c.job(&j.id).await.unwrap(), j);

        c.update_job_counters(&j.id, 10, None).await.unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!((r.bytes_done, r.bytes_total), (10, None));
        c.update_job_counters(&j.id, 5_000_000_000, Some(8_000_000_000))
            .await
            .unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!(
            (r.bytes_done, r.bytes_total),
            (5_000_000_000, Some(8_000_000_000))
        );

        let mut nb = new_backup(&p.id, &dir.path().join("a.tar.gz"), "2024-05-01T10:00:00Z");
        nb.job_id = Some(j.id.clone());
        let b = c.add_backup(&nb).await.unwrap();
        assert_eq!(
            c.backup(&b.id).await.unwrap().job_id.as_deref(),
            Some(j.id.as_str())
        );
        c.finish_job(
            &j.id,
            JobOutcome::Succeeded {
                backup_id: Some(b.id.clone()),
            },
        )
        .await
        .unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!(r.state, JobState::Succeeded);
        assert_eq!(r.backup_id.as_deref(), Some(b.id.as_str()));
        assert!(r.finished_at.is_some());
        assert_eq!(r.error_code, None);

        // Finishing twice is a bug the caller hears about.
        let e = c
            .finish_job(&j.id, JobOutcome::Cancelled)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert!(e.message().contains("already finished"));
        assert_eq!(c.job(&j.id).await.unwrap().state, JobState::Succeeded);
    }

    #[tokio::test]
    async fn job_lifecycle_failed_and_cancelled() {
        let c = catalog().await;
        let j = c.start_job(JobKind::Verify, None).await.unwrap();
        let err = Error::new(ErrorKind::Integrity, "database.dump is truncated")
            .with_hint("take a new backup")
            .with_detail("pg_restore: error: could not read input file: end of file");
        c.finish_job(&j.id, JobOutcome::from_error(&err))
            .await
            .unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!(r.state, JobState::Failed);
        assert_eq!(r.error_code.as_deref(), Some("integrity"));
        assert_eq!(
            r.error_message.as_deref(),
            Some("database.dump is truncated")
        );
        assert_eq!(r.error_hint.as_deref(), Some("take a new backup"));
        // The tool's own words round-trip, for "Details" (issue 44).
        assert_eq!(
            r.error_detail.as_deref(),
            Some("pg_restore: error: could not read input file: end of file")
        );
        assert_eq!(
            c.jobs(None, 10).await.unwrap()[0].error_detail,
            r.error_detail
        );
        assert_eq!(r.backup_id, None);

        let j = c.start_job(JobKind::Restore, None).await.unwrap();
        assert!(c.set_job_cancelling(&j.id).await.unwrap());
        assert!(!c.set_job_cancelling(&j.id).await.unwrap());
        assert_eq!(c.job(&j.id).await.unwrap().state, JobState::Cancelling);
        c.finish_job(&j.id, JobOutcome::from_error(&Error::cancelled()))
            .await
            .unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!(r.state, JobState::Cancelled);
        assert!(r.finished_at.is_some() && r.error_code.is_none());
        assert!(!c.set_job_cancelling(&j.id).await.unwrap());
    }

    #[tokio::test]
    async fn job_errors() {
        let c = catalog().await;
        let e = c
            .start_job(JobKind::Backup, Some("no-such-project"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert_eq!(kind(c.job("nope").await), ErrorKind::NotFound);
        assert_eq!(
            kind(c.update_job_counters("nope", 1, None).await),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(c.finish_job("nope", JobOutcome::Cancelled).await),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(c.set_job_cancelling("nope").await),
            ErrorKind::NotFound
        );
        let j = c.start_job(JobKind::Backup, None).await.unwrap();
        assert_eq!(
            kind(c.update_job_counters(&j.id, u64::MAX, None).await),
            ErrorKind::InvalidInput
        );
        let e = c
            .finish_job(
                &j.id,
                JobOutcome::Succeeded {
                    backup_id: Some("no-such-backup".into()),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(c.job(&j.id).await.unwrap().state, JobState::Running);
    }

    #[tokio::test]
    async fn jobs_are_listed_newest_first_with_filter_and_limit() {
        let c = catalog().await;
        let a = c.add_project(&new_project("a")).await.unwrap();
        let b = c.add_project(&new_project("b")).await.unwrap();
        let mut all = Vec::new();
        for i in 0..5 {
            let pid = if i % 2 == 0 {
                Some(a.id.as_str())
            } else {
                Some(b.id.as_str())
            };
            all.push(c.start_job(JobKind::Backup, pid).await.unwrap().id);
        }
        all.push(c.start_job(JobKind::Verify, None).await.unwrap().id);
        all.reverse();
        let ids = |v: Vec<JobRecord>| v.into_iter().map(|j| j.id).collect::<Vec<_>>();
        assert_eq!(ids(c.jobs(None, 100).await.unwrap()), all);
        assert_eq!(ids(c.jobs(None, 2).await.unwrap()), all[..2]);
        let of_a = ids(c.jobs(Some(&a.id), 100).await.unwrap());
        assert_eq!(of_a, vec![all[1].clone(), all[3].clone(), all[5].clone()]);
        assert!(c.jobs(Some("nope"), 10).await.unwrap().is_empty());
        assert!(c.jobs(None, 0).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn fail_stale_jobs_interrupts_running_and_cancelling() {
        let c = catalog().await;
        let running = c.start_job(JobKind::Backup, None).await.unwrap();
        let cancelling = c.start_job(JobKind::Restore, None).await.unwrap();
        c.set_job_cancelling(&cancelling.id).await.unwrap();
        let done = c.start_job(JobKind::Verify, None).await.unwrap();
        c.finish_job(&done.id, JobOutcome::Succeeded { backup_id: None })
            .await
            .unwrap();

        assert_eq!(c.fail_stale_jobs().await.unwrap(), 2);
        let r = c.job(&running.id).await.unwrap();
        assert_eq!(r.state, JobState::Interrupted);
        assert_eq!(r.error_message.as_deref(), Some(INTERRUPTED_MESSAGE));
        // The same code as the runner's own path (ops/runner.rs), which the scheduler's retry of
        // an interrupted run looks for (ops/schedule.rs `interrupted_job`).
        assert_eq!(r.error_code.as_deref(), Some("interrupted"));
        assert!(r.error_hint.is_some() && r.finished_at.is_some());
        let r = c.job(&cancelling.id).await.unwrap();
        assert_eq!(r.state, JobState::Interrupted);
        assert!(r.finished_at.is_some());
        assert_eq!(c.job(&done.id).await.unwrap().state, JobState::Succeeded);
        assert_eq!(c.fail_stale_jobs().await.unwrap(), 0);

        // The process that really ran it may still report the real outcome.
        c.finish_job(&running.id, JobOutcome::Succeeded { backup_id: None })
            .await
            .unwrap();
        let r = c.job(&running.id).await.unwrap();
        assert_eq!(r.state, JobState::Succeeded);
        assert_eq!(r.error_message, None);
    }

    #[tokio::test]
    async fn started_at_and_finished_at_come_from_the_catalogs_clock() {
        let (c, clock) = catalog_at(AT).await;
        let j = c.start_job(JobKind::Backup, None).await.unwrap();
        assert_eq!(j.started_at, "2030-01-02T03:04:05.000Z");
        clock.advance(time::Duration::seconds(75));
        c.finish_job(&j.id, JobOutcome::Succeeded { backup_id: None })
            .await
            .unwrap();
        let r = c.job(&j.id).await.unwrap();
        assert_eq!(r.started_at, "2030-01-02T03:04:05.000Z");
        assert_eq!(r.finished_at.as_deref(), Some("2030-01-02T03:05:20.000Z"));

        // An interrupted job is finished at the time of the start that finds it.
        let stale = c.start_job(JobKind::Verify, None).await.unwrap();
        clock.advance(time::Duration::hours(1));
        c.fail_stale_jobs().await.unwrap();
        let r = c.job(&stale.id).await.unwrap();
        assert_eq!(r.finished_at.as_deref(), Some("2030-01-02T04:05:20.000Z"));
    }

    #[tokio::test]
    async fn a_job_with_an_unknown_stored_word_is_a_coded_catalog_error() {
        let c = catalog().await;
        let j = c.start_job(JobKind::Backup, None).await.unwrap();
        for (column, word) in [
            ("state", "exploded"),
            ("kind", "teleport"),
            ("\"trigger\"", "moon"),
        ] {
            let good = c.job(&j.id).await.unwrap();
            sqlx::query(&format!("UPDATE jobs SET {column} = ? WHERE id = ?"))
                .bind(word)
                .bind(&j.id)
                .execute(c.pool())
                .await
                .unwrap();
            for e in [
                c.job(&j.id).await.unwrap_err(),
                c.jobs(None, 10).await.unwrap_err(),
            ] {
                assert_eq!(e.kind(), ErrorKind::Catalog, "{e}");
                assert_eq!(e.code(), "catalog");
                assert!(e.message().contains(&format!("{word:?}")), "{e}");
            }
            sqlx::query("UPDATE jobs SET kind = ?, state = ?, \"trigger\" = ? WHERE id = ?")
                .bind(good.kind)
                .bind(good.state)
                .bind(good.trigger)
                .bind(&j.id)
                .execute(c.pool())
                .await
                .unwrap();
            assert_eq!(c.job(&j.id).await.unwrap(), good);
        }
    }

    #[test]
    fn enums_roundtrip_their_strings() {
        for k in [
            JobKind::Backup,
            JobKind::Verify,
            JobKind::Restore,
            JobKind::Import,
            JobKind::Prune,
            JobKind::Pull,
            JobKind::Sync,
            JobKind::FetchCopy,
            JobKind::Drill,
            JobKind::Recover,
        ] {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
        for s in [
            JobState::Running,
            JobState::Cancelling,
            JobState::Cancelled,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Interrupted,
        ] {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
            assert_eq!(
                s.is_finished(),
                !matches!(s, JobState::Running | JobState::Cancelling)
            );
        }
        assert_eq!(JobKind::parse("x"), None);
        assert_eq!(
            serde_json::to_value(JobOutcome::Cancelled).unwrap(),
            serde_json::json!({"outcome": "cancelled"})
        );
    }
}
