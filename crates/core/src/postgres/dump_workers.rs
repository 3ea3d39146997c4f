//! How many pg_dump workers a backup runs (issue 28): the request's `--jobs`, or the machine's
//! cores, capped by the server's free connections; and whether a second session can share the
//! exported snapshot at all (a transaction pooler refuses `SET TRANSACTION SNAPSHOT`, and then
//! the dump is one stream).

use crate::error::Result;
use crate::postgres::conn::ConnSpec;
use sqlx::{Connection, Executor, PgConnection};

/// Whether a backup that names no `--jobs` runs the cores' worth of workers ([`workers`] with
/// `None`): on, so the default backup is a parallel directory dump (archive format 2), which
/// every reader (verify, restore, browse, import, pull, drills) opens. `--jobs 1` is one
/// `pg_dump -Fc` stream (format 1); through a transaction pooler the dump falls back to that.
pub const PARALLEL_BY_DEFAULT: bool = true;

/// Connections left free on the server for others (and the snapshot's own session).
pub const HEADROOM_MARGIN: i64 = 2;

/// The workers chosen, and why (the job's log and, when fewer ran than asked, the manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsChoice {
    pub jobs: u32,
    /// "4 workers (cores 2, server headroom 95) → 2".
    pub why: String,
    /// Why a parallel dump was not possible (for `Manifest.dump.note`).
    pub note: Option<String>,
}

/// The workers from what was asked (`None`: the cores), the cores and the server's headroom.
pub fn workers(requested: Option<u32>, cores: u32, headroom: i64) -> JobsChoice {
    let headroom_jobs = headroom.clamp(1, u32::MAX as i64) as u32;
    let (asked, source) = match requested {
        Some(n) => (n.max(1), "asked"),
        None => (cores.max(1), "the cores"),
    };
    let jobs = asked.min(headroom_jobs);
    JobsChoice {
        jobs,
        why: format!(
            "{asked} workers ({source}; cores {cores}, server headroom {headroom}) → {jobs}"
        ),
        note: None,
    }
}

/// The machine's cores (1 when unknown).
pub fn cores() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

/// Connections the server can still give a dump: `max_connections` minus the reserved slots
/// minus the client sessions open now, minus [`HEADROOM_MARGIN`].
pub async fn headroom(conn: &mut PgConnection, spec: &ConnSpec) -> Result<i64> {
    let free: i64 = sqlx::query_scalar(
        "SELECT (current_setting('max_connections')::int
               - current_setting('superuser_reserved_connections')::int
               - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0)
               - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'))::bigint",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    Ok(free - HEADROOM_MARGIN)
}

/// Whether a second session can import `snapshot` (what pg_dump's workers do): opens one,
/// tries `SET TRANSACTION SNAPSHOT` in a simple query (as pg_dump sends it) and rolls back.
/// `Err(why)`: it cannot (a transaction pooler, no free connection…); the text is for the log.
pub async fn snapshot_shareable(
    spec: &ConnSpec,
    password: Option<&str>,
    snapshot: &str,
) -> std::result::Result<(), String> {
    if snapshot.is_empty() || !snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(format!("unexpected snapshot id {snapshot:?}"));
    }
    let mut conn = spec
        .connect(password)
        .await
        .map_err(|e| e.message().to_string())?;
    let tried = async {
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        conn.execute(format!("SET TRANSACTION SNAPSHOT '{snapshot}'").as_str())
            .await?;
        conn.execute("ROLLBACK").await?;
        Ok::<(), sqlx::Error>(())
    }
    .await;
    let result = tried.map_err(|e| spec.map_sqlx(e).message().to_string());
    let _ = conn.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cores_are_capped_by_the_servers_headroom() {
        let c = workers(None, 4, 95);
        assert_eq!(c.jobs, 4);
        let c = workers(None, 8, 3);
        assert_eq!(c.jobs, 3);
        assert!(c.why.contains("cores 8"), "{}", c.why);
        assert!(c.why.contains("headroom 3"), "{}", c.why);
        assert!(c.why.ends_with("→ 3"), "{}", c.why);
        // No headroom at all still dumps, with one worker.
        assert_eq!(workers(None, 8, -5).jobs, 1);
        assert_eq!(workers(Some(6), 2, 95).jobs, 6);
        assert_eq!(workers(Some(6), 2, 4).jobs, 4);
        assert_eq!(workers(Some(0), 2, 4).jobs, 1);
    }
}
