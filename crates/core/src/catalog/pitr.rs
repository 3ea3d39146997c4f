//! The `pitr_chains` and `pitr_segments` tables (migration `0023_pitr.sql`): a project's
//! point-in-time chains (slot, publication, base and its snapshot) and their change segments.

use super::sql::{db_error, new_id};
use super::Catalog;
use crate::error::{Error, Result};
use crate::pitr::segment::SegmentInfo;

/// One chain as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PitrChain {
    pub id: String,
    pub project_id: String,
    pub slot: String,
    pub publication: String,
    pub base_backup_id: Option<String>,
    pub base_snapshot: Option<String>,
    /// µs since the epoch.
    pub base_at: Option<i64>,
    /// JSON of `pitr::server::Coverage`.
    pub coverage: String,
    pub max_retained: i64,
    /// `active`, `ended` (with the reason), `off` (ended, then turned off by the user) or
    /// `pulled` (captured by the project's backup server).
    pub state: String,
    pub ended_reason: Option<String>,
    pub last_poll_at: Option<i64>,
    pub created_at: String,
    /// Seconds its project's windows are kept (migration `0025_pitr_keep_within.sql`).
    pub keep_within: Option<i64>,
    /// `logical` or `physical` (migration `0029_pitr_mode.sql`).
    pub mode: String,
}

/// One registered segment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PitrSegment {
    pub path: String,
    pub start_lsn: u64,
    pub first_commit_lsn: u64,
    pub end_lsn: u64,
    pub first_commit_at: i64,
    pub last_commit_at: i64,
    pub closed_at: i64,
    pub commits: u64,
    pub bytes: u64,
    pub sha256: String,
    pub fingerprint: String,
}

type ChainRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    String,
    i64,
    String,
    Option<String>,
    Option<i64>,
    String,
    Option<i64>,
    String,
);

const CHAIN_COLS: &str = "id, project_id, slot, publication, base_backup_id, base_snapshot, \
    base_at, coverage, max_retained, state, ended_reason, last_poll_at, created_at, keep_within, mode";

fn chain(r: ChainRow) -> PitrChain {
    PitrChain {
        id: r.0,
        project_id: r.1,
        slot: r.2,
        publication: r.3,
        base_backup_id: r.4,
        base_snapshot: r.5,
        base_at: r.6,
        coverage: r.7,
        max_retained: r.8,
        state: r.9,
        ended_reason: r.10,
        last_poll_at: r.11,
        created_at: r.12,
        keep_within: r.13,
        mode: r.14,
    }
}

impl Catalog {
    /// Start a chain (no base yet).
    pub async fn add_pitr_chain(
        &self,
        project_id: &str,
        slot: &str,
        publication: &str,
        coverage: &str,
        max_retained: i64,
        keep_within: Option<i64>,
    ) -> Result<PitrChain> {
        self.add_pitr_chain_mode(
            project_id,
            "logical",
            slot,
            publication,
            coverage,
            max_retained,
            keep_within,
        )
        .await
    }

    /// Start a chain of `mode` (`logical` or `physical`), no base yet.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_pitr_chain_mode(
        &self,
        project_id: &str,
        mode: &str,
        slot: &str,
        publication: &str,
        coverage: &str,
        max_retained: i64,
        keep_within: Option<i64>,
    ) -> Result<PitrChain> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO pitr_chains (id, project_id, slot, publication, coverage, max_retained, \
             state, created_at, keep_within, mode) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)",
        )
        .bind(&id)
        .bind(project_id)
        .bind(slot)
        .bind(publication)
        .bind(coverage)
        .bind(max_retained)
        .bind(self.now())
        .bind(keep_within)
        .bind(mode)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("saving a point-in-time chain", e))?;
        self.pitr_chain(&id)
            .await?
            .ok_or_else(|| Error::internal("the chain just saved is gone"))
    }

    pub async fn pitr_chain(&self, id: &str) -> Result<Option<PitrChain>> {
        let r: Option<ChainRow> = sqlx::query_as(&format!(
            "SELECT {CHAIN_COLS} FROM pitr_chains WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error("reading a point-in-time chain", e))?;
        Ok(r.map(chain))
    }

    /// A project's chains, oldest first.
    pub async fn pitr_chains(&self, project_id: &str) -> Result<Vec<PitrChain>> {
        let rows: Vec<ChainRow> = sqlx::query_as(&format!(
            "SELECT {CHAIN_COLS} FROM pitr_chains WHERE project_id = ? ORDER BY created_at, rowid"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the point-in-time chains", e))?;
        Ok(rows.into_iter().map(chain).collect())
    }

    /// The base backups of a project's chains (retention keeps them while the chain is there).
    pub async fn pitr_base_ids(&self, project_id: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT DISTINCT base_backup_id FROM pitr_chains WHERE project_id = ? \
             AND base_backup_id IS NOT NULL",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the point-in-time chains", e))
    }

    /// Every slot name of every chain still active (status reports slots nobody owns).
    pub async fn pitr_active_slots(&self) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT slot FROM pitr_chains WHERE state = 'active'")
            .fetch_all(self.pool())
            .await
            .map_err(|e| db_error("reading the point-in-time chains", e))
    }

    /// The names of the projects with an active chain (the daemon captures them).
    pub async fn pitr_active_projects(&self) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT DISTINCT p.name FROM pitr_chains c JOIN projects p ON p.id = c.project_id \
             WHERE c.state = 'active' ORDER BY p.name",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the point-in-time chains", e))
    }

    pub async fn set_pitr_base(
        &self,
        chain_id: &str,
        backup_id: &str,
        snapshot: &str,
        at: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE pitr_chains SET base_backup_id = ?, base_snapshot = ?, base_at = ? WHERE id = ?")
            .bind(backup_id)
            .bind(snapshot)
            .bind(at)
            .bind(chain_id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("saving a chain's base", e))?;
        Ok(())
    }

    pub async fn set_pitr_polled(&self, chain_id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE pitr_chains SET last_poll_at = ? WHERE id = ?")
            .bind(at)
            .bind(chain_id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("saving a chain's poll", e))?;
        Ok(())
    }

    /// End an active chain saying why; `false` when it was not active (ended already, by
    /// another process or call: whoever ended it said so).
    pub async fn end_pitr_chain(&self, chain_id: &str, reason: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE pitr_chains SET state = 'ended', ended_reason = ? WHERE id = ? AND state = 'active'")
            .bind(reason)
            .bind(chain_id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("ending a point-in-time chain", e))?;
        Ok(done.rows_affected() > 0)
    }

    /// Mark the project's ended chains `off` (the user turned the capture off): an ended
    /// capture is no longer said by the status. Their reasons and windows stay.
    pub async fn turn_off_pitr_chains(&self, project_id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE pitr_chains SET state = 'off' WHERE project_id = ? AND state = 'ended'",
        )
        .bind(project_id)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("turning point-in-time capture off", e))?;
        Ok(())
    }

    /// Remove a chain and its segments' rows in one transaction (the files are the caller's).
    pub async fn remove_pitr_chain(&self, chain_id: &str) -> Result<()> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| db_error("removing a point-in-time chain", e))?;
        for q in [
            "DELETE FROM pitr_segments WHERE chain_id = ?",
            "DELETE FROM pitr_chains WHERE id = ?",
        ] {
            sqlx::query(q)
                .bind(chain_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("removing a point-in-time chain", e))?;
        }
        tx.commit()
            .await
            .map_err(|e| db_error("removing a point-in-time chain", e))
    }

    /// Register a durably written segment (again: the same first commit replaces the row).
    pub async fn add_pitr_segment(
        &self,
        chain_id: &str,
        path: &str,
        info: &SegmentInfo,
        bytes: u64,
        sha256: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO pitr_segments (chain_id, path, start_lsn, first_commit_lsn, \
             end_lsn, first_commit_at, last_commit_at, closed_at, commits, bytes, sha256, fingerprint) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(chain_id)
        .bind(path)
        .bind(info.start_lsn as i64)
        .bind(info.first_commit_lsn as i64)
        .bind(info.end_lsn as i64)
        .bind(info.first_commit_at)
        .bind(info.last_commit_at)
        .bind(info.closed_at)
        .bind(info.commits as i64)
        .bind(bytes as i64)
        .bind(sha256)
        .bind(&info.fingerprint)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("registering a change segment", e))?;
        Ok(())
    }

    /// A chain's segments in LSN order.
    pub async fn pitr_segments(&self, chain_id: &str) -> Result<Vec<PitrSegment>> {
        type Row = (
            String,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            String,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT path, start_lsn, first_commit_lsn, end_lsn, first_commit_at, last_commit_at, \
             closed_at, commits, bytes, sha256, fingerprint FROM pitr_segments WHERE chain_id = ? \
             ORDER BY first_commit_lsn",
        )
        .bind(chain_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the change segments", e))?;
        Ok(rows
            .into_iter()
            .map(|r| PitrSegment {
                path: r.0,
                start_lsn: r.1 as u64,
                first_commit_lsn: r.2 as u64,
                end_lsn: r.3 as u64,
                first_commit_at: r.4,
                last_commit_at: r.5,
                closed_at: r.6,
                commits: r.7 as u64,
                bytes: r.8 as u64,
                sha256: r.9,
                fingerprint: r.10,
            })
            .collect())
    }

    /// Mirror a chain captured by the project's backup server (`offsite pull`): kept under the
    /// server's chain id, in state `pulled` (never captured here: no slot of this machine), its
    /// base the pulled copy of the server's base; its end and last poll follow the server's.
    #[allow(clippy::too_many_arguments)]
    pub async fn upsert_pulled_pitr_chain(
        &self,
        id: &str,
        project_id: &str,
        base_backup_id: &str,
        base_snapshot: &str,
        base_at: i64,
        coverage: &str,
        ended_reason: Option<&str>,
        last_poll_at: Option<i64>,
    ) -> Result<()> {
        if let Some(c) = self.pitr_chain(id).await? {
            if c.project_id != project_id || c.state != "pulled" {
                return Err(Error::new(
                    crate::error::ErrorKind::Conflict,
                    format!("point-in-time chain {id} is not one pulled for this project"),
                ));
            }
        }
        sqlx::query(
            "INSERT INTO pitr_chains (id, project_id, slot, publication, base_backup_id, \
             base_snapshot, base_at, coverage, max_retained, state, ended_reason, last_poll_at, \
             created_at) VALUES (?, ?, '', '', ?, ?, ?, ?, 0, 'pulled', ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET ended_reason = excluded.ended_reason, \
             last_poll_at = excluded.last_poll_at",
        )
        .bind(id)
        .bind(project_id)
        .bind(base_backup_id)
        .bind(base_snapshot)
        .bind(base_at)
        .bind(coverage)
        .bind(ended_reason)
        .bind(last_poll_at)
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(|e| db_error("saving a pulled point-in-time chain", e))?;
        Ok(())
    }

    /// Register a segment as the catalog holds it (a pulled one, its file checked).
    pub async fn add_pitr_segment_row(&self, chain_id: &str, s: &PitrSegment) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO pitr_segments (chain_id, path, start_lsn, first_commit_lsn, \
             end_lsn, first_commit_at, last_commit_at, closed_at, commits, bytes, sha256, fingerprint) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(chain_id)
        .bind(&s.path)
        .bind(s.start_lsn as i64)
        .bind(s.first_commit_lsn as i64)
        .bind(s.end_lsn as i64)
        .bind(s.first_commit_at)
        .bind(s.last_commit_at)
        .bind(s.closed_at)
        .bind(s.commits as i64)
        .bind(s.bytes as i64)
        .bind(&s.sha256)
        .bind(&s.fingerprint)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("registering a change segment", e))?;
        Ok(())
    }
}
