//! The change feed: what changed in the catalog, whoever changed it.
//!
//! Triggers (migration `0004_changes.sql`; drills since `0012_drill_settings.sql`; notification
//! channels, routes and deliveries since `0016_notify_feed_rate.sql`) append one row per insert,
//! update or delete of a project, backup, job, drill or notification, in the writer's own
//! transaction. A reader remembers the last `seq` it
//! saw and asks for what came after ([`Catalog::changes_since`]); the desktop app turns that into
//! its `catalog-changed` event, so a backup made by the command line in another process appears
//! in an open window. Rows hold ids only, never data or secrets.

use super::{db_error, Catalog};
use crate::error::{Error, Result};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};

/// How many rows the feed keeps; older ones are pruned when the catalog opens. A reader that fell
/// further behind than this reloads everything (see [`Catalog::changes_since`]).
pub const KEEP_CHANGES: i64 = 10_000;

text_enum! {
    /// What kind of record changed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum ChangeEntity as "change entity" {
        Project = "project",
        Backup = "backup",
        Job = "job",
        /// A restore drill recorded (or gone with its project); `project_id` names its project.
        Drill = "drill",
        /// Notifications (migration 16): a channel, a route or a delivery in the outbox; `id` is
        /// the channel's name, `project_id` the route's or the event's project (none for a
        /// channel).
        Notify = "notify",
    }
}

text_enum! {
    /// Whether the record now exists (`upsert`: added or changed) or is gone.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum ChangeOp as "change op" {
        Upsert = "upsert",
        Delete = "delete",
    }
}

/// One change of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Change {
    /// Increases with every change; ask for changes after the last one seen.
    pub seq: i64,
    pub entity: ChangeEntity,
    /// The record's id.
    pub id: String,
    /// The project it belongs to (a project's own id for a project; `None` for a job without one).
    pub project_id: Option<String>,
    pub op: ChangeOp,
}

/// A batch of changes, and whether the reader missed some (then it should reload everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch {
    pub changes: Vec<Change>,
    /// Changes after the reader's `seq` were pruned before it asked: it cannot know what they
    /// named.
    pub missed: bool,
    /// The newest `seq` now (the next call's `after`).
    pub last_seq: i64,
}

impl Catalog {
    /// The newest change's `seq` (0 when nothing ever changed): where a new reader starts.
    pub async fn last_change_seq(&self) -> Result<i64> {
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM changes")
            .fetch_one(self.pool())
            .await
            .map(|v| v.unwrap_or(0))
            .map_err(|e| db_error("reading the change feed", e))
    }

    /// Changes after `after` (oldest first, at most `limit`).
    pub async fn changes_since(&self, after: i64, limit: u32) -> Result<ChangeBatch> {
        let what = "reading the change feed";
        let rows = sqlx::query_as::<_, (i64, String, String, Option<String>, String)>(
            "SELECT seq, entity, entity_id, project_id, op FROM changes WHERE seq > ? \
             ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error(what, e))?;
        let oldest = sqlx::query_scalar::<_, Option<i64>>("SELECT MIN(seq) FROM changes")
            .fetch_one(self.pool())
            .await
            .map_err(|e| db_error(what, e))?;
        let mut changes = Vec::with_capacity(rows.len());
        for (seq, entity, id, project_id, op) in rows {
            let entity = ChangeEntity::parse(&entity)
                .ok_or_else(|| Error::internal(format!("unknown change entity {entity:?}")))?;
            let op = ChangeOp::parse(&op)
                .ok_or_else(|| Error::internal(format!("unknown change op {op:?}")))?;
            changes.push(Change {
                seq,
                entity,
                id,
                project_id,
                op,
            });
        }
        // Pruned rows between `after` and the oldest kept one were never seen.
        let missed = after > 0 && oldest.is_some_and(|o| o > after + 1);
        // Nothing newer: stay at `after`. (Reading the feed's end again here lost a change
        // written between the two queries: the reader skipped past it for good.)
        let last_seq = changes.last().map_or(after, |c| c.seq);
        Ok(ChangeBatch {
            changes,
            missed,
            last_seq,
        })
    }

    /// Keep the newest [`KEEP_CHANGES`] rows of the feed.
    pub(super) async fn prune_changes(&self) -> Result<()> {
        sqlx::query("DELETE FROM changes WHERE seq <= (SELECT MAX(seq) FROM changes) - ?")
            .bind(KEEP_CHANGES)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("pruning the change feed", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::new_project as project;
    use crate::catalog::{JobKind, JobOutcome, NewBackup};

    fn kinds(b: &ChangeBatch) -> Vec<(ChangeEntity, ChangeOp)> {
        b.changes.iter().map(|c| (c.entity, c.op)).collect()
    }

    /// A source's test and the project's encryption (set up, recovery key confirmed) move what a
    /// window shows (a source card, the checklist, backups paused): each names its project.
    #[tokio::test]
    async fn a_source_test_and_an_encryption_change_name_their_project() {
        let c = Catalog::open_in_memory().await.unwrap();
        let p = c.add_project(&project("shop")).await.unwrap();
        // The changes since `seen` are one upsert of the project `shop`.
        async fn step(c: &Catalog, seen: &mut i64, id: &str, what: &str) {
            let b = c.changes_since(*seen, 100).await.unwrap();
            let named = b.changes.len() == 1
                && b.changes[0].entity == ChangeEntity::Project
                && b.changes[0].op == ChangeOp::Upsert
                && b.changes[0].id == id
                && b.changes[0].project_id.as_deref() == Some(id);
            assert!(named, "{what}: {:?}", b.changes);
            *seen = b.last_seq;
        }
        let mut seen = c.last_change_seq().await.unwrap();
        c.record_source_test(&p.id, crate::catalog::SourceKind::Database, Ok(()))
            .await
            .unwrap();
        step(&c, &mut seen, &p.id, "first test").await;
        c.record_source_test(&p.id, crate::catalog::SourceKind::Database, Err("refused"))
            .await
            .unwrap();
        step(&c, &mut seen, &p.id, "a test again").await;
        let row = crate::catalog::EncryptionRow {
            mode: "key".into(),
            public_key: Some("age1example".into()),
            recipients: Vec::new(),
            confirmed: false,
            check: None,
        };
        c.set_encryption(&p.id, &row).await.unwrap();
        step(&c, &mut seen, &p.id, "encryption set").await;
        c.confirm_encryption(&p.id).await.unwrap();
        step(&c, &mut seen, &p.id, "recovery key confirmed").await;
    }

    #[tokio::test]
    async fn every_write_of_projects_backups_and_jobs_is_in_the_feed() {
        let c = Catalog::open_in_memory().await.unwrap();
        let start = c.last_change_seq().await.unwrap();
        assert_eq!(start, 0);
        let p = c.add_project(&project("shop")).await.unwrap();
        let job = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let b = c
            .add_backup(&NewBackup {
                project_id: p.id.clone(),
                path: dir.path().join("a.tar.gz"),
                size: 1,
                sha256: "0".repeat(64),
                backup_type: crate::archive::BackupType::Database,
                created_at: "2024-05-01T10:00:00Z".into(),
                manifest_json: None,
                job_id: Some(job.id.clone()),
                origin: Default::default(),
            })
            .await
            .unwrap();
        c.finish_job(
            &job.id,
            JobOutcome::Succeeded {
                backup_id: Some(b.id.clone()),
            },
        )
        .await
        .unwrap();
        let batch = c.changes_since(start, 100).await.unwrap();
        assert!(!batch.missed);
        assert_eq!(
            kinds(&batch),
            vec![
                (ChangeEntity::Project, ChangeOp::Upsert),
                (ChangeEntity::Job, ChangeOp::Upsert),
                (ChangeEntity::Backup, ChangeOp::Upsert),
                (ChangeEntity::Job, ChangeOp::Upsert),
            ]
        );
        assert!(batch
            .changes
            .iter()
            .all(|c| c.project_id.as_deref() == Some(&p.id)));
        assert_eq!(batch.changes[2].id, b.id);
        assert_eq!(batch.last_seq, batch.changes[3].seq);

        // Only what came after is returned; removing the project reports the backup and job
        // going with it (cascade) and the project itself.
        c.remove_project("shop").await.unwrap();
        let after = c.changes_since(batch.last_seq, 100).await.unwrap();
        let deleted: Vec<_> = after
            .changes
            .iter()
            .filter(|c| c.op == ChangeOp::Delete)
            .map(|c| (c.entity, c.id.clone()))
            .collect();
        assert!(deleted.contains(&(ChangeEntity::Project, p.id.clone())));
        assert!(deleted.contains(&(ChangeEntity::Backup, b.id.clone())));
        assert!(after.changes.iter().all(|c| c.seq > batch.last_seq));
        // Nothing new: an empty batch that keeps the position.
        let none = c.changes_since(after.last_seq, 100).await.unwrap();
        assert!(none.changes.is_empty());
        assert_eq!(none.last_seq, after.last_seq);
    }

    #[tokio::test]
    async fn a_reader_behind_the_pruned_rows_is_told_it_missed_some() {
        let c = Catalog::open_in_memory().await.unwrap();
        for i in 0..5 {
            c.add_project(&project(&format!("p{i}"))).await.unwrap();
        }
        // Simulate pruning of the first three rows.
        sqlx::query("DELETE FROM changes WHERE seq <= 3")
            .execute(c.pool())
            .await
            .unwrap();
        let b = c.changes_since(1, 100).await.unwrap();
        assert!(b.missed);
        assert_eq!(b.changes.len(), 2);
        let ok = c.changes_since(3, 100).await.unwrap();
        assert!(!ok.missed);
        // The limit is honoured, oldest first.
        let one = c.changes_since(0, 1).await.unwrap();
        assert_eq!(one.changes.len(), 1);
        assert_eq!(one.last_seq, one.changes[0].seq);
    }

    /// A reader polling while another writer (here: another connection to the same file, as
    /// the command line would be) writes sees every change: none skipped between its queries.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reader_polling_during_writes_elsewhere_misses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let reader = Catalog::open(dir.path()).await.unwrap();
        let writer = Catalog::open(dir.path()).await.unwrap();
        let start = reader.last_change_seq().await.unwrap();
        const N: usize = 300;
        let write = tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..N {
                ids.push(
                    writer
                        .add_project(&project(&format!("p{i}")))
                        .await
                        .unwrap()
                        .id,
                );
            }
            ids
        });
        let mut seen = std::collections::HashSet::new();
        let mut last = start;
        loop {
            let done = write.is_finished();
            let batch = reader.changes_since(last, 1_000).await.unwrap();
            assert!(!batch.missed);
            last = batch.last_seq;
            seen.extend(batch.changes.into_iter().map(|c| c.id));
            if done {
                break;
            }
        }
        let written = write.await.unwrap();
        let lost: Vec<_> = written.iter().filter(|id| !seen.contains(*id)).collect();
        assert!(lost.is_empty(), "{} of {N} changes never read", lost.len());
    }

    /// A drill recorded by another process (a scheduled drill, the command line) reaches the
    /// feed as a `drill` change naming its project; it goes with its project as a delete.
    #[tokio::test]
    async fn a_recorded_drill_is_in_the_feed() {
        let c = Catalog::open_in_memory().await.unwrap();
        let p = c.add_project(&project("shop")).await.unwrap();
        let start = c.last_change_seq().await.unwrap();
        let mut report = crate::drill::report_html::tests::sample();
        report.drill_id = "d-1".into();
        c.insert_drill(&p.id, None, &report, None).await.unwrap();
        let batch = c.changes_since(start, 100).await.unwrap();
        assert_eq!(
            batch.changes,
            vec![Change {
                seq: batch.last_seq,
                entity: ChangeEntity::Drill,
                id: "d-1".into(),
                project_id: Some(p.id.clone()),
                op: ChangeOp::Upsert,
            }]
        );
        c.remove_project("shop").await.unwrap();
        let after = c.changes_since(batch.last_seq, 100).await.unwrap();
        assert!(after
            .changes
            .iter()
            .any(|ch| ch.entity == ChangeEntity::Drill
                && ch.id == "d-1"
                && ch.op == ChangeOp::Delete));
    }
}
