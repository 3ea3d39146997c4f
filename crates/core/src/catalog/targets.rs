//! A project's recovery targets (`recovery_targets`): the RPO and RTO it promises.

use super::sql::db_error;
use super::Catalog;
use crate::error::Result;
use crate::schedule::Targets;

fn seconds(v: Option<i64>) -> Option<u32> {
    v.and_then(|s| u32::try_from(s).ok()).filter(|s| *s > 0)
}

impl Catalog {
    /// A project's targets (none set: both `None`).
    pub async fn targets(&self, project_id: &str) -> Result<Targets> {
        let row: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT rpo_seconds, rto_seconds FROM recovery_targets WHERE project_id = ?",
        )
        .bind(project_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error("reading the recovery targets", e))?;
        Ok(match row {
            Some((rpo, rto)) => Targets {
                rpo_seconds: seconds(rpo),
                rto_seconds: seconds(rto),
            },
            None => Targets::default(),
        })
    }

    /// Save a project's targets (both `None`: no targets).
    pub async fn set_targets(&self, project_id: &str, t: Targets) -> Result<()> {
        sqlx::query(
            "INSERT INTO recovery_targets (project_id, rpo_seconds, rto_seconds, updated_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT(project_id) DO UPDATE SET \
             rpo_seconds = excluded.rpo_seconds, rto_seconds = excluded.rto_seconds, \
             updated_at = excluded.updated_at",
        )
        .bind(project_id)
        .bind(t.rpo_seconds.map(i64::from))
        .bind(t.rto_seconds.map(i64::from))
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(|e| db_error("saving the recovery targets", e))?;
        Ok(())
    }
}
