//! What is said about a backup beyond its file (issue 47): the canary's verdict (`suspicious`,
//! the reasons, the backup it was compared with), the note and the OS user of a manual backup,
//! and the pin that keeps it through every retention; and each project's canary thresholds
//! (`canary_thresholds`).

use super::sql::{changed_a_row, db_error};
use super::Catalog;
use crate::backup::canary::CanaryThresholds;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The longest note kept (characters); a longer one is refused.
pub const NOTE_MAX_CHARS: usize = 500;

/// A backup's marks: the canary's verdict, its note, who started it, its pin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupMarks {
    /// Why the canary finds it suspicious (`public.orders: 120,431 → 12 rows`); empty: it is not.
    pub suspicious: Vec<String>,
    /// The backup the canary compared it with (none: it was not compared, e.g. the first).
    pub compared_with: Option<String>,
    /// The note given when it was made.
    pub note: Option<String>,
    /// The OS user who started it by hand (none for a scheduled backup).
    pub started_by: Option<String>,
    /// Kept by every retention (`offsite pin`).
    pub pinned: bool,
    /// What started the job that made it (`manual`, `cli`, `schedule`…; none for a file
    /// registered without a job, or once that job was forgotten).
    pub trigger: Option<crate::kinds::JobTrigger>,
}

/// The row as stored.
#[derive(sqlx::FromRow)]
struct MarksRow {
    id: String,
    suspicious: Option<String>,
    compared_with: Option<String>,
    note: Option<String>,
    started_by: Option<String>,
    pinned: bool,
    trigger: Option<crate::kinds::JobTrigger>,
}

impl From<MarksRow> for (String, BackupMarks) {
    fn from(r: MarksRow) -> Self {
        let suspicious = r
            .suspicious
            .as_deref()
            .and_then(|j| serde_json::from_str::<Vec<String>>(j).ok())
            .unwrap_or_default();
        (
            r.id,
            BackupMarks {
                suspicious,
                compared_with: r.compared_with,
                note: r.note,
                started_by: r.started_by,
                pinned: r.pinned,
                trigger: r.trigger,
            },
        )
    }
}

const MARK_COLS: &str = "id, suspicious, compared_with, note, started_by, pinned, \
     (SELECT j.\"trigger\" FROM jobs j WHERE j.id = backups.job_id) AS \"trigger\"";

/// A note as kept: trimmed, one line of printable text, at most [`NOTE_MAX_CHARS`]; an empty
/// one is none.
pub fn clean_note(note: &str) -> Result<Option<String>> {
    let note = note.trim();
    if note.is_empty() {
        return Ok(None);
    }
    if note.chars().count() > NOTE_MAX_CHARS {
        return Err(Error::invalid(format!(
            "a note is at most {NOTE_MAX_CHARS} characters"
        )));
    }
    if note.chars().any(char::is_control) {
        return Err(Error::invalid(
            "a note is one line of text (no control characters)",
        ));
    }
    Ok(Some(note.to_string()))
}

impl Catalog {
    /// The marks of every backup of a project, by backup id.
    pub async fn backup_marks(&self, project_id: &str) -> Result<HashMap<String, BackupMarks>> {
        let rows: Vec<MarksRow> = sqlx::query_as(&format!(
            "SELECT {MARK_COLS} FROM backups WHERE project_id = ?"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the backups' marks", e))?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// One backup's marks.
    pub async fn marks_of(&self, backup_id: &str) -> Result<BackupMarks> {
        let row: Option<MarksRow> =
            sqlx::query_as(&format!("SELECT {MARK_COLS} FROM backups WHERE id = ?"))
                .bind(backup_id)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| db_error("reading a backup's marks", e))?;
        match row {
            Some(r) => Ok(<(String, BackupMarks)>::from(r).1),
            None => Err(Error::not_found(format!("no backup with id {backup_id}"))),
        }
    }

    /// Record the canary's verdict: `reasons` empty → not suspicious.
    pub async fn set_canary_verdict(
        &self,
        backup_id: &str,
        compared_with: &str,
        reasons: &[String],
    ) -> Result<()> {
        let suspicious = (!reasons.is_empty())
            .then(|| serde_json::to_string(reasons))
            .transpose()
            .map_err(|e| Error::internal(format!("encoding the canary's reasons: {e}")))?;
        let done = sqlx::query("UPDATE backups SET suspicious = ?, compared_with = ? WHERE id = ?")
            .bind(suspicious)
            .bind(compared_with)
            .bind(backup_id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("recording the canary's verdict", e))?;
        changed_a_row(done, || {
            Error::not_found(format!("no backup with id {backup_id}"))
        })
    }

    /// Record a backup's note and the OS user who started it (each cleaned; none: left empty).
    pub async fn set_backup_label(
        &self,
        backup_id: &str,
        note: Option<&str>,
        started_by: Option<&str>,
    ) -> Result<()> {
        let note = note.map(clean_note).transpose()?.flatten();
        let started_by = started_by.map(clean_note).transpose()?.flatten();
        let done = sqlx::query("UPDATE backups SET note = ?, started_by = ? WHERE id = ?")
            .bind(note)
            .bind(started_by)
            .bind(backup_id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("recording a backup's note", e))?;
        changed_a_row(done, || {
            Error::not_found(format!("no backup with id {backup_id}"))
        })
    }

    /// Pin (kept by every retention) or unpin a backup.
    pub async fn set_pinned(&self, backup_id: &str, pinned: bool) -> Result<()> {
        let done = sqlx::query("UPDATE backups SET pinned = ? WHERE id = ?")
            .bind(pinned)
            .bind(backup_id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("pinning a backup", e))?;
        changed_a_row(done, || {
            Error::not_found(format!("no backup with id {backup_id}"))
        })
    }

    /// A project's canary thresholds (the defaults when it has set none).
    pub async fn canary_thresholds(&self, project_id: &str) -> Result<CanaryThresholds> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT archive_drop_pct, table_drop_pct FROM canary_thresholds WHERE project_id = ?",
        )
        .bind(project_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error("reading the canary's thresholds", e))?;
        Ok(match row {
            Some((a, t)) => CanaryThresholds {
                archive_drop_pct: u32::try_from(a).unwrap_or(50),
                table_drop_pct: u32::try_from(t).unwrap_or(90),
            },
            None => CanaryThresholds::default(),
        })
    }

    /// Save a project's canary thresholds (`None`: back to the defaults).
    pub async fn set_canary_thresholds(
        &self,
        project_id: &str,
        thresholds: Option<CanaryThresholds>,
    ) -> Result<()> {
        let what = "saving the canary's thresholds";
        match thresholds {
            Some(t) => {
                t.check()?;
                sqlx::query(
                    "INSERT INTO canary_thresholds \
                     (project_id, archive_drop_pct, table_drop_pct, updated_at) \
                     VALUES (?, ?, ?, ?) ON CONFLICT(project_id) DO UPDATE SET \
                     archive_drop_pct = excluded.archive_drop_pct, \
                     table_drop_pct = excluded.table_drop_pct, updated_at = excluded.updated_at",
                )
                .bind(project_id)
                .bind(i64::from(t.archive_drop_pct))
                .bind(i64::from(t.table_drop_pct))
                .bind(self.now())
                .execute(self.pool())
                .await
                .map_err(|e| db_error(what, e))?;
            }
            None => {
                sqlx::query("DELETE FROM canary_thresholds WHERE project_id = ?")
                    .bind(project_id)
                    .execute(self.pool())
                    .await
                    .map_err(|e| db_error(what, e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{catalog, shop_with_backup};
    use super::*;

    #[tokio::test]
    async fn marks_are_kept_and_read_back_and_thresholds_default_until_set() {
        let c = catalog().await;
        let (_dir, p, b) = shop_with_backup(&c).await;
        assert_eq!(c.marks_of(&b.id).await.unwrap(), BackupMarks::default());
        c.set_canary_verdict(&b.id, "prev", &["public.t: 10 → 0 rows".into()])
            .await
            .unwrap();
        c.set_backup_label(&b.id, Some("  before the migration "), Some("ana"))
            .await
            .unwrap();
        c.set_pinned(&b.id, true).await.unwrap();
        let m = c.backup_marks(&p.id).await.unwrap().remove(&b.id).unwrap();
        assert_eq!(m.suspicious, vec!["public.t: 10 → 0 rows".to_string()]);
        assert_eq!(m.compared_with.as_deref(), Some("prev"));
        assert_eq!(m.note.as_deref(), Some("before the migration"));
        assert_eq!(m.started_by.as_deref(), Some("ana"));
        assert!(m.pinned);
        assert!(c.set_backup_label(&b.id, Some("a\nb"), None).await.is_err());
        assert!(c.set_pinned("nope", true).await.is_err());
        assert_eq!(
            c.canary_thresholds(&p.id).await.unwrap(),
            CanaryThresholds::default()
        );
        let t = CanaryThresholds {
            archive_drop_pct: 30,
            table_drop_pct: 50,
        };
        c.set_canary_thresholds(&p.id, Some(t)).await.unwrap();
        assert_eq!(c.canary_thresholds(&p.id).await.unwrap(), t);
        c.set_canary_thresholds(&p.id, None).await.unwrap();
        assert_eq!(
            c.canary_thresholds(&p.id).await.unwrap(),
            CanaryThresholds::default()
        );
    }
}
