//! The `pitr_segment_copies` table (migration `0029_pitr_segment_copies.sql`): where a
//! project's change segments are copied (docs/pitr.md), one row per segment and destination.

use super::sql::db_error;
use super::{Catalog, CopyState};
use crate::error::Result;
use std::str::FromStr;

/// One copy of a segment at a destination.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SegmentCopy {
    pub project_id: String,
    pub chain_id: String,
    pub first_commit_lsn: u64,
    /// The destination's id.
    pub destination: String,
    /// The object's key there.
    pub location: String,
    pub size: u64,
    pub sha256: String,
    pub state: CopyState,
    pub uploaded_at: Option<String>,
    pub pending_since: Option<String>,
    pub last_error: Option<String>,
    pub attempts: u32,
    /// Locked at the destination (S3 Object Lock) until this date (RFC 3339, UTC).
    pub retain_until: Option<String>,
}

/// What is copied where: the key of a segment's copy.
#[derive(Debug, Clone)]
pub struct SegmentCopyTarget {
    pub project_id: String,
    pub chain_id: String,
    pub first_commit_lsn: u64,
    pub destination: String,
    pub location: String,
    pub size: u64,
    pub sha256: String,
}

type Row = (
    String,
    String,
    i64,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
);

const COLS: &str = "project_id, chain_id, first_commit_lsn, destination, location, size, sha256, \
    state, uploaded_at, pending_since, last_error, attempts, retain_until";

fn copy(r: Row) -> Result<SegmentCopy> {
    Ok(SegmentCopy {
        project_id: r.0,
        chain_id: r.1,
        first_commit_lsn: r.2 as u64,
        destination: r.3,
        location: r.4,
        size: r.5 as u64,
        sha256: r.6,
        state: CopyState::from_str(&r.7)?,
        uploaded_at: r.8,
        pending_since: r.9,
        last_error: r.10,
        attempts: r.11.max(0) as u32,
        retain_until: r.12,
    })
}

impl Catalog {
    /// Every recorded copy of a project's segments (those of pruned windows still to delete
    /// too), by chain, segment and destination.
    pub async fn segment_copies(&self, project_id: &str) -> Result<Vec<SegmentCopy>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLS} FROM pitr_segment_copies WHERE project_id = ? \
             ORDER BY chain_id, first_commit_lsn, destination"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the copies of the change segments", e))?;
        rows.into_iter().map(copy).collect()
    }

    /// A segment's copy is at its destination, checked (`retain_until`: its lock).
    pub async fn record_segment_copy_stored(
        &self,
        t: &SegmentCopyTarget,
        retain_until: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO pitr_segment_copies (project_id, chain_id, first_commit_lsn, destination, \
             location, size, sha256, state, uploaded_at, pending_since, last_error, attempts, \
             retain_until, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'stored', ?, NULL, NULL, 0, ?, ?) \
             ON CONFLICT (chain_id, first_commit_lsn, destination) DO UPDATE SET \
             location = excluded.location, size = excluded.size, sha256 = excluded.sha256, \
             state = 'stored', uploaded_at = excluded.uploaded_at, pending_since = NULL, \
             last_error = NULL, attempts = 0, \
             retain_until = coalesce(excluded.retain_until, pitr_segment_copies.retain_until)",
        )
        .bind(&t.project_id)
        .bind(&t.chain_id)
        .bind(t.first_commit_lsn as i64)
        .bind(&t.destination)
        .bind(&t.location)
        .bind(t.size as i64)
        .bind(&t.sha256)
        .bind(self.now())
        .bind(retain_until)
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(|e| db_error("recording a segment's copy", e))?;
        Ok(())
    }

    /// A segment's copy could not be made now: pending, with the error (a stored copy of an
    /// older file of the same segment stays recorded as it was, but is now pending).
    pub async fn record_segment_copy_pending(
        &self,
        t: &SegmentCopyTarget,
        error: &str,
    ) -> Result<()> {
        let now = self.now();
        let error: String = error.chars().take(2000).collect();
        sqlx::query(
            "INSERT INTO pitr_segment_copies (project_id, chain_id, first_commit_lsn, destination, \
             location, size, sha256, state, pending_since, last_error, attempts, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, 1, ?) \
             ON CONFLICT (chain_id, first_commit_lsn, destination) DO UPDATE SET \
             size = excluded.size, sha256 = excluded.sha256, state = 'pending', \
             pending_since = coalesce(pitr_segment_copies.pending_since, excluded.pending_since), \
             last_error = excluded.last_error, attempts = pitr_segment_copies.attempts + 1",
        )
        .bind(&t.project_id)
        .bind(&t.chain_id)
        .bind(t.first_commit_lsn as i64)
        .bind(&t.destination)
        .bind(&t.location)
        .bind(t.size as i64)
        .bind(&t.sha256)
        .bind(&now)
        .bind(&error)
        .bind(&now)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("recording a segment's pending copy", e))?;
        Ok(())
    }

    /// Forget one segment's copy (deleted there, or never made).
    pub async fn remove_segment_copy(
        &self,
        chain_id: &str,
        first_commit_lsn: u64,
        destination: &str,
    ) -> Result<()> {
        sqlx::query(
            "DELETE FROM pitr_segment_copies WHERE chain_id = ? AND first_commit_lsn = ? \
             AND destination = ?",
        )
        .bind(chain_id)
        .bind(first_commit_lsn as i64)
        .bind(destination)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("forgetting a segment's copy", e))?;
        Ok(())
    }

    /// The projects with a segment copy pending, or one of a pruned window still to delete
    /// (the schedules' loop syncs them).
    pub async fn projects_with_pending_segment_copies(&self) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT DISTINCT c.project_id FROM pitr_segment_copies c WHERE c.state = 'pending' \
             OR NOT EXISTS (SELECT 1 FROM pitr_segments s WHERE s.chain_id = c.chain_id \
             AND s.first_commit_lsn = c.first_commit_lsn)",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing pending segment copies", e))
    }
}
