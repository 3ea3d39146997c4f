//! What the metrics (`ops/notify/metrics.rs`) read from the catalog: a few aggregate queries over
//! every project at once (newest successful backup job with its backup's size, failed backup
//! jobs, pending copies, newest drill), so `/metrics` costs the same handful of queries however
//! many projects there are.

use super::sql::db_error;
use super::Catalog;
use crate::error::Result;
use std::collections::HashMap;

/// One project's facts for the metrics (times as the catalog stores them, RFC 3339 UTC).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectMetricsRow {
    pub project_id: String,
    pub name: String,
    /// The newest successful backup job: when it started and finished, and its backup's size
    /// (when the backup is still in the catalog).
    pub last_success_started_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_success_size: Option<u64>,
    /// Failed backup jobs recorded, and how many of them came after the newest success.
    pub failures_total: u64,
    pub consecutive_failures: u64,
    /// Copies waiting for their destination, and since when the oldest waits.
    pub copies_pending: u64,
    pub oldest_pending_since: Option<String>,
    /// The newest drill: when it finished, whether it passed, its RTO.
    pub last_drill_at: Option<String>,
    pub last_drill_passed: Option<bool>,
    pub last_drill_rto_seconds: Option<f64>,
}

impl Catalog {
    /// Every project's [`ProjectMetricsRow`], by name.
    pub async fn metrics_rows(&self) -> Result<Vec<ProjectMetricsRow>> {
        let projects: Vec<(String, String)> =
            sqlx::query_as("SELECT id, name FROM projects ORDER BY name COLLATE NOCASE, id")
                .fetch_all(self.pool())
                .await
                .map_err(|e| db_error("reading projects for metrics", e))?;
        let mut rows: Vec<ProjectMetricsRow> = projects
            .into_iter()
            .map(|(project_id, name)| ProjectMetricsRow {
                project_id,
                name,
                ..Default::default()
            })
            .collect();
        let index: HashMap<String, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.project_id.clone(), i))
            .collect();
        let at = |id: &str| index.get(id).copied();

        let successes: Vec<(String, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT project_id, started_at, finished_at, size FROM ( \
               SELECT j.project_id, j.started_at, j.finished_at, b.size, \
                 ROW_NUMBER() OVER (PARTITION BY j.project_id \
                   ORDER BY j.finished_at DESC, j.rowid DESC) AS rn \
               FROM jobs j LEFT JOIN backups b ON b.id = j.backup_id \
               WHERE j.kind = 'backup' AND j.state = 'succeeded' \
                 AND j.project_id IS NOT NULL AND j.finished_at IS NOT NULL) \
             WHERE rn = 1",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the last successful backups", e))?;
        for (id, started, finished, size) in successes {
            if let Some(i) = at(&id) {
                rows[i].last_success_started_at = Some(started);
                rows[i].last_success_at = Some(finished);
                rows[i].last_success_size = size.and_then(|s| u64::try_from(s).ok());
            }
        }

        let failures: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT j.project_id, COUNT(*), \
               SUM(CASE WHEN COALESCE(j.finished_at, j.started_at) > COALESCE( \
                 (SELECT MAX(s.finished_at) FROM jobs s WHERE s.project_id = j.project_id \
                    AND s.kind = 'backup' AND s.state = 'succeeded'), '') THEN 1 ELSE 0 END) \
             FROM jobs j WHERE j.kind = 'backup' AND j.state IN ('failed', 'interrupted') \
               AND j.project_id IS NOT NULL GROUP BY j.project_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("counting failed backups", e))?;
        for (id, total, consecutive) in failures {
            if let Some(i) = at(&id) {
                rows[i].failures_total = total.max(0) as u64;
                rows[i].consecutive_failures = consecutive.max(0) as u64;
            }
        }

        let pending: Vec<(String, i64, Option<String>)> = sqlx::query_as(
            "SELECT b.project_id, COUNT(*), MIN(c.pending_since) FROM backup_copies c \
             JOIN backups b ON b.id = c.backup_id WHERE c.state = 'pending' \
             GROUP BY b.project_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("counting pending copies", e))?;
        for (id, n, since) in pending {
            if let Some(i) = at(&id) {
                rows[i].copies_pending = n.max(0) as u64;
                rows[i].oldest_pending_since = since;
            }
        }

        let drills: Vec<(String, String, String, f64)> = sqlx::query_as(
            "SELECT project_id, finished_at, verdict, rto_seconds FROM ( \
               SELECT project_id, finished_at, verdict, rto_seconds, \
                 ROW_NUMBER() OVER (PARTITION BY project_id \
                   ORDER BY finished_at DESC, rowid DESC) AS rn FROM drills) \
             WHERE rn = 1",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the last drills", e))?;
        for (id, finished, verdict, rto) in drills {
            if let Some(i) = at(&id) {
                rows[i].last_drill_at = Some(finished);
                rows[i].last_drill_passed = Some(verdict == "passed");
                rows[i].last_drill_rto_seconds = Some(rto);
            }
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{catalog_at, shop_with_backup, AT};
    use super::super::{CopyTarget, JobKind, JobOutcome};

    #[tokio::test]
    async fn rows_hold_the_newest_success_failures_pending_copies_and_drill() {
        let (c, clock) = catalog_at(AT).await;
        let (_dir, p, b) = shop_with_backup(&c).await;
        let other = c
            .add_project(&super::super::testing::new_project("other"))
            .await
            .unwrap();
        let fail = |c: &super::super::Catalog, id: String| {
            let c = c.clone();
            async move {
                c.finish_job(
                    &id,
                    JobOutcome::Failed {
                        code: "connection".into(),
                        message: "refused".into(),
                        hint: None,
                        detail: None,
                    },
                )
                .await
                .unwrap()
            }
        };
        // A failure, a success (started at AT, finished 90 s later), then two failures.
        let j = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        fail(&c, j.id).await;
        clock.advance(time::Duration::seconds(10));
        let j = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        clock.advance(time::Duration::seconds(90));
        c.finish_job(
            &j.id,
            JobOutcome::Succeeded {
                backup_id: Some(b.id.clone()),
            },
        )
        .await
        .unwrap();
        for _ in 0..2 {
            clock.advance(time::Duration::seconds(60));
            let j = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
            fail(&c, j.id).await;
        }
        // A pending copy, and two drills (the newer failed).
        c.record_copy_pending(
            &CopyTarget {
                backup_id: b.id.clone(),
                destination: "dest-1".into(),
                location: "shop/a.tar.gz".into(),
                size: b.size,
                sha256: b.sha256.clone(),
            },
            "disk not mounted",
        )
        .await
        .unwrap();
        for (id, finished, verdict, rto) in [
            ("d1", "2030-01-01T00:00:00.000Z", "passed", 12.5),
            ("d2", "2030-01-02T00:00:00.000Z", "failed", 30.0),
        ] {
            sqlx::query(
                "INSERT INTO drills (id, project_id, backup_id, started_at, finished_at, verdict, \
                 rto_seconds, report_json) VALUES (?, ?, ?, ?, ?, ?, ?, '{}')",
            )
            .bind(id)
            .bind(&p.id)
            .bind(&b.id)
            .bind(finished)
            .bind(finished)
            .bind(verdict)
            .bind(rto)
            .execute(c.pool())
            .await
            .unwrap();
        }

        let rows = c.metrics_rows().await.unwrap();
        assert_eq!(rows.len(), 2);
        let (o, s) = (&rows[0], &rows[1]);
        assert_eq!((o.name.as_str(), s.name.as_str()), ("other", "shop"));
        assert_eq!(o.project_id, other.id);
        assert_eq!(o.last_success_at, None);
        assert_eq!((o.failures_total, o.copies_pending), (0, 0));
        assert_eq!(
            s.last_success_started_at.as_deref(),
            Some("2030-01-02T03:04:15.000Z")
        );
        assert_eq!(
            s.last_success_at.as_deref(),
            Some("2030-01-02T03:05:45.000Z")
        );
        assert_eq!(s.last_success_size, Some(b.size));
        assert_eq!((s.failures_total, s.consecutive_failures), (3, 2));
        assert_eq!(s.copies_pending, 1);
        assert!(s.oldest_pending_since.is_some());
        assert_eq!(s.last_drill_at.as_deref(), Some("2030-01-02T00:00:00.000Z"));
        assert_eq!(s.last_drill_passed, Some(false));
        assert_eq!(s.last_drill_rto_seconds, Some(30.0));
    }
}
