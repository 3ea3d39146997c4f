//! Which backups were already announced before retention removes them (the 7-day warning,
//! issue 27): the announcement and its event are written in one transaction, so each backup is
//! announced once.

use super::notify::enqueue;
use super::sql::db_error;
use super::Catalog;
use crate::error::Result;
use crate::notify::Event;

impl Catalog {
    /// Of `backup_ids` (of `project_id`), the ones not announced yet are passed to `event_of`;
    /// when it makes an event, it is queued and those backups are recorded as announced, in the
    /// same transaction. Returns the ids announced now.
    pub async fn record_retention_warning(
        &self,
        project_id: &str,
        backup_ids: &[String],
        event_of: impl FnOnce(&[String]) -> Option<Event>,
    ) -> Result<Vec<String>> {
        let what = "recording a retention warning";
        let now = self.now();
        let mut tx = self.pool().begin().await.map_err(|e| db_error(what, e))?;
        let mut fresh = Vec::new();
        for id in backup_ids {
            let known: Option<String> = sqlx::query_scalar(
                "SELECT backup_id FROM notify_retention_warned WHERE backup_id = ?",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| db_error(what, e))?;
            if known.is_none() {
                fresh.push(id.clone());
            }
        }
        if fresh.is_empty() {
            return Ok(fresh);
        }
        let Some(event) = event_of(&fresh) else {
            return Ok(Vec::new());
        };
        for id in &fresh {
            sqlx::query("INSERT INTO notify_retention_warned (backup_id, warned_at) VALUES (?, ?)")
                .bind(id)
                .bind(&now)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(what, e))?;
        }
        enqueue(&mut tx, &event, Some(project_id), None, &now).await?;
        tx.commit().await.map_err(|e| db_error(what, e))?;
        Ok(fresh)
    }
}
