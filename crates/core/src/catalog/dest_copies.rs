//! Copies at destinations, in the `backup_copies` table (migrations 0005 and 0009): recorded
//! `stored` once uploaded and checked, `pending` (with since when, the last error and the number
//! of attempts) while their destination cannot take them, forgotten when retention removes them
//! or their destination goes. The local copy's row is written by `backups.rs`; here it is only
//! dropped (a local prune that leaves copies elsewhere) and brought back (a copy fetched back).

use super::copies::{insert_local, COPY_COLS, LOCAL_DESTINATION};
use super::sql::{db_error, new_id, to_i64};
use super::{BackupCopy, Catalog};
use crate::error::Result;
use std::collections::HashSet;

/// Where a copy goes: its backup, destination (id) and object key, and what it should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTarget {
    pub backup_id: String,
    pub destination: String,
    pub location: String,
    pub size: u64,
    pub sha256: String,
}

impl Catalog {
    /// Record a copy as stored at its destination, uploaded and checked now (replacing the
    /// pending row of the same place).
    pub async fn record_copy_stored(&self, t: &CopyTarget) -> Result<BackupCopy> {
        let now = self.now();
        sqlx::query(
            "INSERT INTO backup_copies (id, backup_id, destination, location, size, sha256, \
             status, verified_at, created_at, state, uploaded_at) \
             VALUES (?, ?, ?, ?, ?, ?, 'verified', ?, ?, 'stored', ?) \
             ON CONFLICT (destination, location) DO UPDATE SET backup_id = excluded.backup_id, \
             size = excluded.size, sha256 = excluded.sha256, status = 'verified', \
             verified_at = excluded.verified_at, verify_problem = NULL, state = 'stored', \
             uploaded_at = excluded.uploaded_at, pending_since = NULL, last_error = NULL",
        )
        .bind(new_id())
        .bind(&t.backup_id)
        .bind(&t.destination)
        .bind(&t.location)
        .bind(to_i64(t.size, "copy size")?)
        .bind(&t.sha256)
        .bind(&now)
        .bind(&now)
        .bind(&now)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("recording a copy", e))?;
        self.copy_at(&t.destination, &t.location).await
    }

    /// Record the date a stored copy is locked until at its destination (S3 Object Lock).
    pub async fn set_copy_retain_until(&self, copy_id: &str, until: &str) -> Result<()> {
        sqlx::query("UPDATE backup_copies SET retain_until = ? WHERE id = ?")
            .bind(until)
            .bind(copy_id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("recording a copy's lock", e))?;
        Ok(())
    }

    /// Record a copy as pending: its destination could not take it (`error` says why; it must
    /// hold no secret). The first failure sets since when; each one counts an attempt.
    pub async fn record_copy_pending(&self, t: &CopyTarget, error: &str) -> Result<BackupCopy> {
        let now = self.now();
        let error: String = error.chars().take(2000).collect();
        sqlx::query(
            "INSERT INTO backup_copies (id, backup_id, destination, location, size, sha256, \
             created_at, state, pending_since, last_error, attempts) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, 1) \
             ON CONFLICT (destination, location) DO UPDATE SET state = 'pending', \
             pending_since = COALESCE(pending_since, excluded.pending_since), \
             last_error = excluded.last_error, attempts = attempts + 1",
        )
        .bind(new_id())
        .bind(&t.backup_id)
        .bind(&t.destination)
        .bind(&t.location)
        .bind(to_i64(t.size, "copy size")?)
        .bind(&t.sha256)
        .bind(&now)
        .bind(&now)
        .bind(&error)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("recording a pending copy", e))?;
        self.copy_at(&t.destination, &t.location).await
    }

    async fn copy_at(&self, destination: &str, location: &str) -> Result<BackupCopy> {
        sqlx::query_as::<_, BackupCopy>(&format!(
            "SELECT {COPY_COLS} FROM backup_copies WHERE destination = ? AND location = ?"
        ))
        .bind(destination)
        .bind(location)
        .fetch_one(self.pool())
        .await
        .map_err(|e| db_error("reading a copy", e))
    }

    /// The copies recorded at one destination (stored and pending), oldest first.
    pub async fn copies_at(&self, destination: &str) -> Result<Vec<BackupCopy>> {
        sqlx::query_as::<_, BackupCopy>(&format!(
            "SELECT {COPY_COLS} FROM backup_copies WHERE destination = ? ORDER BY created_at, rowid"
        ))
        .bind(destination)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing a destination's copies", e))
    }

    /// Every copy of a project's backups (local ones too).
    pub async fn project_copies(&self, project_id: &str) -> Result<Vec<BackupCopy>> {
        let cols = COPY_COLS
            .split(',')
            .map(|c| format!("c.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        sqlx::query_as::<_, BackupCopy>(&format!(
            "SELECT {cols} FROM backup_copies c JOIN backups b ON b.id = c.backup_id \
             WHERE b.project_id = ? ORDER BY b.created_at DESC, c.destination = ? DESC, \
             c.created_at, c.rowid"
        ))
        .bind(project_id)
        .bind(LOCAL_DESTINATION)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing a project's copies", e))
    }

    /// The ids of the projects that have pending copies.
    pub async fn projects_with_pending_copies(&self) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT DISTINCT b.project_id FROM backup_copies c JOIN backups b ON b.id = c.backup_id \
             WHERE c.state = 'pending'",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing pending copies", e))
    }

    /// Forget one copy (retention removed it, or a pending copy no longer wanted).
    pub async fn remove_copy(&self, copy_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM backup_copies WHERE id = ?")
            .bind(copy_id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("forgetting a copy", e))?;
        Ok(())
    }

    /// The backups of a project that have their local copy.
    pub async fn backups_with_local_copy(&self, project_id: &str) -> Result<HashSet<String>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT c.backup_id FROM backup_copies c JOIN backups b ON b.id = c.backup_id \
             WHERE b.project_id = ? AND c.destination = ?",
        )
        .bind(project_id)
        .bind(LOCAL_DESTINATION)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing local copies", e))?;
        Ok(ids.into_iter().collect())
    }

    /// The local archive of a backup is gone on purpose (a local prune) while copies of it stay
    /// elsewhere: its local copy is forgotten and the backup marked missing here.
    pub async fn drop_local_copy(&self, backup_id: &str) -> Result<()> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| db_error("dropping a local copy", e))?;
        sqlx::query("DELETE FROM backup_copies WHERE backup_id = ? AND destination = ?")
            .bind(backup_id)
            .bind(LOCAL_DESTINATION)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("dropping a local copy", e))?;
        sqlx::query("UPDATE backups SET status = 'missing' WHERE id = ?")
            .bind(backup_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("dropping a local copy", e))?;
        tx.commit()
            .await
            .map_err(|e| db_error("dropping a local copy", e))
    }

    /// A backup's archive is back at its path (fetched from a copy and checked against the
    /// backup's size and SHA-256): it is unverified until verified again, and its local copy is
    /// recorded again.
    pub async fn restore_local_copy(&self, backup_id: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| db_error("recording a fetched copy", e))?;
        sqlx::query("UPDATE backups SET status = 'unverified', verify_problem = NULL WHERE id = ?")
            .bind(backup_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("recording a fetched copy", e))?;
        sqlx::query("DELETE FROM backup_copies WHERE backup_id = ? AND destination = ?")
            .bind(backup_id)
            .bind(LOCAL_DESTINATION)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("recording a fetched copy", e))?;
        insert_local(&mut tx, backup_id, &now)
            .await
            .map_err(|e| db_error("recording a fetched copy", e))?;
        tx.commit()
            .await
            .map_err(|e| db_error("recording a fetched copy", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::{catalog_at, shop_with_backup, AT};
    use crate::catalog::{BackupStatus, CopyState};

    #[tokio::test]
    async fn a_pending_copy_keeps_its_first_time_and_becomes_stored() {
        let (c, clock) = catalog_at(AT).await;
        let (_dir, p, b) = shop_with_backup(&c).await;
        let t = CopyTarget {
            backup_id: b.id.clone(),
            destination: "d1".into(),
            location: "shop/a.tar.gz".into(),
            size: b.size,
            sha256: b.sha256.clone(),
        };
        let first = c.record_copy_pending(&t, "offline").await.unwrap();
        clock.advance(time::Duration::hours(1));
        let second = c.record_copy_pending(&t, "still offline").await.unwrap();
        assert_eq!(first.id, second.id);
        assert_eq!(second.state, CopyState::Pending);
        assert_eq!(
            second.pending_since.as_deref(),
            Some("2030-01-02T03:04:05.000Z")
        );
        assert_eq!(second.last_error.as_deref(), Some("still offline"));
        assert_eq!(second.attempts, 2);
        let stored = c.record_copy_stored(&t).await.unwrap();
        assert_eq!(stored.id, first.id);
        assert_eq!(
            (
                stored.state,
                stored.status,
                stored.pending_since.clone(),
                stored.last_error.clone()
            ),
            (CopyState::Stored, BackupStatus::Verified, None, None)
        );
        assert_eq!(
            stored.uploaded_at.as_deref(),
            Some("2030-01-02T04:04:05.000Z")
        );
        assert_eq!(c.copies_at("d1").await.unwrap(), vec![stored.clone()]);
        assert_eq!(c.project_copies(&p.id).await.unwrap().len(), 2);

        // The local copy dropped and brought back.
        c.drop_local_copy(&b.id).await.unwrap();
        assert!(c.backups_with_local_copy(&p.id).await.unwrap().is_empty());
        assert_eq!(c.backup(&b.id).await.unwrap().status, BackupStatus::Missing);
        c.restore_local_copy(&b.id).await.unwrap();
        assert!(c
            .backups_with_local_copy(&p.id)
            .await
            .unwrap()
            .contains(&b.id));
        assert_eq!(
            c.backup(&b.id).await.unwrap().status,
            BackupStatus::Unverified
        );
        c.remove_copy(&stored.id).await.unwrap();
        assert!(c.copies_at("d1").await.unwrap().is_empty());
    }
}
