//! The slot's retained WAL watched while a capture pass runs (docs/pitr.md, "The server's disk
//! comes first"). A pass can be long — the slot far behind, the server decoding from its
//! restart point on every read — and the WAL the server keeps for the slot grows all the while:
//! measured only before and after, it could go far past its limit unseen. So a second
//! connection samples it every [`SAMPLE`]; past the limit the pass is stopped (its token
//! cancelled, its running statement cancelled on the server) and the caller drops the slot.

use super::connect;
use crate::catalog::Project;
use crate::engine::Engine;
use crate::error::Result;
use crate::pitr::server;
use crate::postgres::conn::ConnSpec;
use sqlx::PgConnection;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the slot is sampled while a pass runs.
pub(super) const SAMPLE: Duration = Duration::from_millis(200);

/// A running pass to stop: its token and its connection's backend.
pub(super) struct Pass<'a> {
    pub stop: &'a CancellationToken,
    pub pid: i32,
}

/// Sample the slot `slot` every [`SAMPLE`] until it holds more than `limit` bytes (lowered by
/// the server's known free space as a pass lowers it); then stop
/// `pass` (its token cancelled, the statement running on its backend cancelled), and return
/// what the slot held. Never returns while under the limit. Its connection is opened at once
/// (not on the way to the first sample: a slow connection would delay it).
pub(super) async fn over_limit(
    engine: &Engine,
    project: &Project,
    slot: &str,
    limit: i64,
    pass: Option<Pass<'_>>,
) -> i64 {
    let (spec, mut conn) = match connect(engine, project).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(project = %project.name, "the slot's WAL is not watched during this pass: {e}");
            return std::future::pending().await;
        }
    };
    // The set limit, lowered when the server's free space is known and small (as a pass
    // lowers it: crate::pitr::disk) — between passes too, not only while one runs.
    let free = crate::pitr::disk::free_bytes(&mut conn, &spec).await;
    let limit = i64::try_from(crate::pitr::disk::effective_limit(
        u64::try_from(limit).unwrap_or(0),
        free,
    ))
    .unwrap_or(i64::MAX);
    // Sampled at once, then every SAMPLE: a watcher starts with every pass and between
    // passes, and a first sample a SAMPLE late would leave the slot unwatched that long each time.
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            tokio::time::sleep(SAMPLE).await;
        }
        match server::slot_state(&mut conn, &spec, slot).await {
            Ok(Some(s)) if s.retained_bytes > limit => {
                if let Some(p) = &pass {
                    p.stop.cancel();
                    let _ = sqlx::query("SELECT pg_cancel_backend($1)")
                        .bind(p.pid)
                        .execute(&mut conn)
                        .await;
                }
                return s.retained_bytes;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(project = %project.name, "sampling the slot: {e}"),
        }
    }
}

/// Drop `slot` once the stopped pass has released it (a cancelled statement releases it as it
/// ends): tried for up to five seconds.
pub(super) async fn drop_released(
    conn: &mut PgConnection,
    spec: &ConnSpec,
    slot: &str,
) -> Result<bool> {
    let mut tries = 0;
    loop {
        match server::drop_slot(conn, spec, slot).await {
            Err(_) if tries < 250 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

/// Wait `every` between passes of the projects `names`, or less: until one's slot holds more
/// than its chain's limit (its next pass then drops it), or `cancel`.
pub(crate) async fn between_passes(
    engine: &Engine,
    names: &[String],
    every: Duration,
    cancel: &CancellationToken,
) {
    let mut watched = Vec::new();
    for name in names {
        let Ok(project) = engine.catalog.project(name).await else {
            continue;
        };
        if let Ok(Some(chain)) = super::active_chain(engine, &project).await {
            watched.push((project, chain));
        }
    }
    let overs = watched.iter().map(|(project, chain)| {
        Box::pin(over_limit(
            engine,
            project,
            &chain.slot,
            chain.max_retained,
            None,
        ))
    });
    let any_over = async {
        if watched.is_empty() {
            std::future::pending::<()>().await;
        }
        futures::future::select_all(overs).await;
    };
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = tokio::time::sleep(every) => {}
        _ = any_over => {}
    }
}
