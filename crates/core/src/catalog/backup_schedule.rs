//! Which schedule made a backup, and where it is copied (migration 0026, issue 47):
//! `backups.schedule_name` (NULL: made by hand, imported, or before schedules had names) and
//! `backups.copy_to` (a JSON array of destination ids; NULL: every destination of the project).
//! A schedule's own retention prunes only the backups recorded with its name; the overdue rule
//! of a named schedule looks at its own backups.

use super::sql::{changed_a_row, db_error};
use super::Catalog;
use crate::error::{Error, Result};
use std::collections::HashMap;

/// The longest `copy_to` text read (a list of destination ids).
const MAX_COPY_TO_JSON: usize = 64 * 1024;

impl Catalog {
    /// Record that schedule `name` made backup `backup_id`, copied to `copy_to` only (`None`:
    /// every destination).
    pub async fn set_backup_schedule(
        &self,
        backup_id: &str,
        name: &str,
        copy_to: Option<&[String]>,
    ) -> Result<()> {
        let copy_to = copy_to
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::internal(format!("encoding a backup's destinations: {e}")))?;
        let done = sqlx::query("UPDATE backups SET schedule_name = ?, copy_to = ? WHERE id = ?")
            .bind(name)
            .bind(copy_to)
            .bind(backup_id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("recording a backup's schedule", e))?;
        changed_a_row(done, || {
            Error::not_found(format!("no backup with id {backup_id}"))
        })
    }

    /// The schedule that made each of a project's backups, by backup id (absent: none).
    pub async fn backup_schedule_names(&self, project_id: &str) -> Result<HashMap<String, String>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, schedule_name FROM backups \
             WHERE project_id = ? AND schedule_name IS NOT NULL",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the backups' schedules", e))?;
        Ok(rows.into_iter().collect())
    }

    /// The destinations each of a project's backups goes to, by backup id (absent: every one).
    pub async fn backup_copy_to(&self, project_id: &str) -> Result<HashMap<String, Vec<String>>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, copy_to FROM backups WHERE project_id = ? AND copy_to IS NOT NULL",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the backups' destinations", e))?;
        rows.into_iter()
            .map(|(id, json)| {
                if json.len() > MAX_COPY_TO_JSON {
                    return Err(Error::new(
                        crate::error::ErrorKind::Catalog,
                        format!("backup {id}: its list of destinations is too long to read"),
                    ));
                }
                let ids = serde_json::from_str::<Vec<String>>(&json).map_err(|e| {
                    Error::new(
                        crate::error::ErrorKind::Catalog,
                        format!("backup {id}: its list of destinations cannot be read: {e}"),
                    )
                })?;
                Ok((id, ids))
            })
            .collect()
    }

    /// When each named schedule's newest good backup (verified or unverified) was taken, by
    /// (project id, schedule name); of one project or of all.
    pub async fn newest_good_by_schedule(
        &self,
        project_id: Option<&str>,
    ) -> Result<HashMap<(String, String), String>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT project_id, schedule_name, MAX(created_at) FROM backups \
             WHERE (? IS NULL OR project_id = ?) AND schedule_name IS NOT NULL \
             AND status IN ('verified', 'unverified') GROUP BY project_id, schedule_name",
        )
        .bind(project_id)
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the schedules' newest good backups", e))?;
        Ok(rows.into_iter().map(|(p, s, t)| ((p, s), t)).collect())
    }
}
