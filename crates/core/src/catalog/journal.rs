//! The `job_journal` table (issue 63, item 2): what a job that writes somewhere is about to do,
//! recorded before it writes. A job that ends on its own removes its journal when it is
//! finished ([`Catalog::finish_job`]); the journal of a job whose process died stays until the
//! next start of Offsite has returned the target to how it was ([`Catalog::settle_journal`]).
//! Nothing secret is stored: the target is its URL without any password.

use super::sql::db_error;
use super::Catalog;
use crate::error::{Error, Result};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};

text_enum! {
    /// What a journaled job writes, and so how it is undone.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum JournalWork as "journal work" {
        /// `pg_restore -j` into a target that held none of the backup: not one transaction, so
        /// what it created is dropped again.
        RestoreParallel = "restore_parallel",
        /// A restore in one transaction (the server rolls it back when its session dies); with
        /// a safety backup when it replaces.
        RestoreOne = "restore_one",
        /// Rows recovered into a live database in one transaction, after an undo archive.
        Recover = "recover",
        /// A restore to a time: its base restored into a target that held none of it, then its
        /// changes replayed (committed as they go): what it created is dropped again.
        Replay = "replay",
        /// A storage restore into an object store or a folder: the objects it writes where the
        /// target had none are removed again; what it overwrote is said.
        StorageRestore = "storage_restore",
    }
}

/// A job's journal.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JournalEntry {
    pub job_id: String,
    pub work: JournalWork,
    /// The target's URL without any password (a storage restore: `folder:PATH` or
    /// `storage:PROJECT_ID`).
    pub target: String,
    /// The saved project restored into (its own password connects), if any.
    pub target_project: Option<String>,
    /// The target for people.
    pub target_label: String,
    /// The target held none of what the job writes.
    pub target_empty: bool,
    /// The backup the job writes from.
    pub archive: String,
    /// What the undo needs (JSON, of the work's own shape).
    pub undo: String,
    pub recorded_at: String,
}

const COLS: &str = "job_id, work, target, target_project, target_label, target_empty, archive, \
                    undo, recorded_at";

/// The most a journal's undo may hold (its JSON): a schema list, a path.
const MAX_UNDO: usize = 1 << 20;

impl Catalog {
    /// Record (or replace) the journal of a running job, before it writes. `recorded_at` is now.
    pub async fn record_journal(&self, entry: &JournalEntry) -> Result<()> {
        if entry.undo.len() > MAX_UNDO {
            return Err(Error::invalid(
                "a job's journal is too large for the catalog",
            ));
        }
        let what = format!("recording the journal of job {}", entry.job_id);
        let done = sqlx::query(&format!(
            "INSERT OR REPLACE INTO job_journal ({COLS}) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? \
             WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ? AND state IN ('running', 'cancelling'))"
        ))
        .bind(&entry.job_id)
        .bind(entry.work)
        .bind(&entry.target)
        .bind(&entry.target_project)
        .bind(&entry.target_label)
        .bind(entry.target_empty)
        .bind(&entry.archive)
        .bind(&entry.undo)
        .bind(self.now())
        .bind(&entry.job_id)
        .execute(self.pool())
        .await
        .map_err(|e| db_error(&what, e))?;
        if done.rows_affected() == 0 {
            return Err(Error::internal(format!("{what}: the job is not running")));
        }
        Ok(())
    }

    /// The journal of job `job_id`, if it has one.
    pub async fn journal(&self, job_id: &str) -> Result<Option<JournalEntry>> {
        sqlx::query_as::<_, JournalEntry>(&format!(
            "SELECT {COLS} FROM job_journal WHERE job_id = ?"
        ))
        .bind(job_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error(&format!("reading the journal of job {job_id}"), e))
    }

    /// The journals of interrupted jobs (their process died before they finished): what the
    /// next start has to settle, oldest first.
    pub async fn unsettled_journals(&self) -> Result<Vec<JournalEntry>> {
        sqlx::query_as::<_, JournalEntry>(&format!(
            "SELECT {} FROM job_journal j JOIN jobs ON jobs.id = j.job_id \
             WHERE jobs.state = 'interrupted' ORDER BY j.recorded_at, j.rowid",
            COLS.split(", ")
                .map(|c| format!("j.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the journals of interrupted jobs", e))
    }

    /// Say what an interrupted job left (`message`, `hint`); `settled`: the target is as the
    /// job found it (or the job's work is otherwise finished), so its journal goes.
    pub async fn settle_journal(
        &self,
        job_id: &str,
        message: &str,
        hint: &str,
        settled: bool,
    ) -> Result<()> {
        let what = format!("recording what interrupted job {job_id} left");
        let mut tx = self.pool().begin().await.map_err(|e| db_error(&what, e))?;
        sqlx::query(
            "UPDATE jobs SET error_message = ?, error_hint = ? WHERE id = ? AND state = 'interrupted'",
        )
        .bind(message)
        .bind(hint)
        .bind(job_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(&what, e))?;
        if settled {
            sqlx::query("DELETE FROM job_journal WHERE job_id = ?")
                .bind(job_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(&what, e))?;
        }
        tx.commit().await.map_err(|e| db_error(&what, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::catalog;
    use crate::catalog::{JobKind, JobOutcome, JobState};

    fn entry(job_id: &str) -> JournalEntry {
        JournalEntry {
            job_id: job_id.into(),
            work: JournalWork::RestoreParallel,
            target: "postgres://app@db.example:5432/dst".into(),
            target_project: None,
            target_label: "dst on db.example:5432".into(),
            target_empty: true,
            archive: "/backups/shop_20261128_075543_full.tar.zst".into(),
            undo: r#"{"schemas":["public"]}"#.into(),
            recorded_at: String::new(),
        }
    }

    #[tokio::test]
    async fn a_finished_job_takes_its_journal_and_an_interrupted_one_keeps_it() {
        let c = catalog().await;
        let done = c.start_job(JobKind::Restore, None).await.unwrap();
        c.record_journal(&entry(&done.id)).await.unwrap();
        let read = c.journal(&done.id).await.unwrap().unwrap();
        assert_eq!(read.work, JournalWork::RestoreParallel);
        assert!(read.target_empty && !read.recorded_at.is_empty());
        c.finish_job(&done.id, JobOutcome::Cancelled).await.unwrap();
        assert_eq!(c.journal(&done.id).await.unwrap(), None);
        // A finished job records no journal.
        assert!(c.record_journal(&entry(&done.id)).await.is_err());

        let killed = c.start_job(JobKind::Restore, None).await.unwrap();
        c.record_journal(&entry(&killed.id)).await.unwrap();
        assert!(
            c.unsettled_journals().await.unwrap().is_empty(),
            "still running"
        );
        assert!(c.interrupt_job(&killed.id).await.unwrap());
        assert_eq!(
            c.job(&killed.id).await.unwrap().state,
            JobState::Interrupted
        );
        let left = c.unsettled_journals().await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].job_id, killed.id);

        c.settle_journal(&killed.id, "could not reach dst", "run it again", false)
            .await
            .unwrap();
        assert_eq!(c.unsettled_journals().await.unwrap().len(), 1);
        let j = c.job(&killed.id).await.unwrap();
        assert_eq!(j.error_message.as_deref(), Some("could not reach dst"));
        c.settle_journal(&killed.id, "dropped again", "nothing to do", true)
            .await
            .unwrap();
        assert!(c.unsettled_journals().await.unwrap().is_empty());
        let j = c.job(&killed.id).await.unwrap();
        assert_eq!(j.state, JobState::Interrupted);
        assert_eq!(j.error_hint.as_deref(), Some("nothing to do"));
    }
}
