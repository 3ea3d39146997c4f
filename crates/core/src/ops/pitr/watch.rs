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

/// Sample the slot `slot` every [`SAMPLE`] until it holds more than `limit` bytes; then cancel
/// `stop` and the statement running on backend `pass_pid` (the pass's connection), and return
/// what it held. Never returns while under the limit. A pass shorter than one sample opens no
/// second connection.
pub(super) async fn over_limit(
    engine: &Engine,
    project: &Project,
    slot: &str,
    limit: i64,
    pass_pid: i32,
    stop: &CancellationToken,
) -> i64 {
    tokio::time::sleep(SAMPLE).await;
    let (spec, mut conn) = match connect(engine, project).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(project = %project.name, "the slot's WAL is not watched during this pass: {e}");
            return std::future::pending().await;
        }
    };
    loop {
        match server::slot_state(&mut conn, &spec, slot).await {
            Ok(Some(s)) if s.retained_bytes > limit => {
                stop.cancel();
                let _ = sqlx::query("SELECT pg_cancel_backend($1)")
                    .bind(pass_pid)
                    .execute(&mut conn)
                    .await;
                return s.retained_bytes;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(project = %project.name, "sampling the slot: {e}"),
        }
        tokio::time::sleep(SAMPLE).await;
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
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}
