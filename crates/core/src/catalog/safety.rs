//! The `safety_backups` table (migration `0035_safety_backups.sql`): each safety backup a
//! replacing restore wrote, recorded when it is written (`ops::safety`), so that a project lists
//! only those of its own server's database and a file merely named like one is never taken for
//! one.

use super::sql::db_error;
use super::Catalog;
use crate::error::Result;

/// A safety backup as recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SafetyRow {
    pub path: String,
    /// `HOST:PORT/DATABASE` of the target (no user, no password).
    pub server: String,
    pub database: String,
    /// The saved project restored into, when the target was one.
    pub target_project: Option<String>,
    pub created_at: String,
    pub size: i64,
    pub encrypted: bool,
}

impl Catalog {
    /// Record a safety backup just written.
    pub async fn record_safety_backup(&self, row: &SafetyRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO safety_backups \
             (path, server, database, target_project, created_at, size, encrypted) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&row.path)
        .bind(&row.server)
        .bind(&row.database)
        .bind(&row.target_project)
        .bind(&row.created_at)
        .bind(row.size)
        .bind(row.encrypted)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("recording the safety backup", e))?;
        Ok(())
    }

    /// Every safety backup recorded, newest first.
    pub async fn safety_backup_rows(&self) -> Result<Vec<SafetyRow>> {
        sqlx::query_as::<_, SafetyRow>(
            "SELECT path, server, database, target_project, created_at, size, encrypted \
             FROM safety_backups ORDER BY created_at DESC, path DESC",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the safety backups", e))
    }

    /// Forget a safety backup (its file removed).
    pub async fn forget_safety_backup(&self, path: &str) -> Result<()> {
        sqlx::query("DELETE FROM safety_backups WHERE path = ?")
            .bind(path)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("forgetting the safety backup", e))?;
        Ok(())
    }
}
