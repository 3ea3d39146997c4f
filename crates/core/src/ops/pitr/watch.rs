//! The slot's retained WAL watched while a capture is kept (docs/pitr.md, "The server's disk
//! comes first"). A pass can be long — the slot far behind, the server decoding from its
//! restart point on every read — and the WAL the server keeps for the slot grows all the while:
//! measured only before and after, it could go far past its limit unseen.
//!
//! So a logical chain's slot is watched by one task of its own ([`Watches`]): one connection,
//! a sample every [`SAMPLE`], for as long as passes and the waits between them keep touching
//! it (its lease). Past the limit it stops the running pass (its token cancelled, its
//! statement cancelled on the server) and drops the slot itself; the pass, or the next one,
//! records why. One watcher for the passes and the waits, not one each: a watcher per pass
//! connected anew at every pass's start and every wait's, and under load the slot grew 20 MB
//! past its limit in those gaps (issue 61). A physical chain's slot is watched between passes
//! ([`over_limit`]); its pass measures it.

use super::connect;
use crate::catalog::Project;
use crate::engine::Engine;
use crate::error::Result;
use crate::pitr::server;
use crate::postgres::conn::ConnSpec;
use sqlx::PgConnection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How often the slot is sampled while a pass runs.
pub(super) const SAMPLE: Duration = Duration::from_millis(200);

/// Sample the slot `slot` every [`SAMPLE`] until it holds more than `limit` bytes (lowered by
/// the server's known free space), and return what it held. Never returns while under the
/// limit. For a physical chain's slot between passes (its next pass acts on it).
pub(super) async fn over_limit(engine: &Engine, project: &Project, slot: &str, limit: i64) -> i64 {
    let (spec, mut conn) = match connect(engine, project).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(project = %project.name, "the slot's WAL is not watched: {e}");
            return std::future::pending().await;
        }
    };
    let limit = lowered_limit(&mut conn, &spec, limit).await;
    loop {
        match server::slot_state(&mut conn, &spec, slot).await {
            Ok(Some(s)) if s.retained_bytes > limit => return s.retained_bytes,
            Ok(_) => {}
            Err(e) => tracing::debug!(project = %project.name, "sampling the slot: {e}"),
        }
        tokio::time::sleep(SAMPLE).await;
    }
}

/// The set limit, lowered when the server's free space is known and small (as a pass lowers
/// it: crate::pitr::disk).
async fn lowered_limit(conn: &mut PgConnection, spec: &ConnSpec, limit: i64) -> i64 {
    let free = crate::pitr::disk::free_bytes(conn, spec).await;
    i64::try_from(crate::pitr::disk::effective_limit(
        u64::try_from(limit).unwrap_or(0),
        free,
    ))
    .unwrap_or(i64::MAX)
}

/// How long a watcher goes on after the last pass or wait touched it.
const LEASE: Duration = Duration::from_secs(30);

/// The logical chains' slots watched now, by slot name (one per [`crate::engine::Engine`]).
#[derive(Default)]
pub(crate) struct Watches {
    slots: Mutex<HashMap<String, Arc<Watched>>>,
}

/// One slot's watcher, as the passes and waits see it.
pub(super) struct Watched {
    state: Mutex<State>,
    /// What the slot held when the watcher decided to drop it (set before the drop).
    dropped: tokio::sync::watch::Sender<Option<i64>>,
}

struct State {
    /// The running pass: its token and its connection's backend.
    pass: Option<(CancellationToken, i32)>,
    lease_until: Instant,
    ended: bool,
}

/// A pass registered with its slot's watcher; unregistered when dropped.
pub(super) struct PassWatched<'a>(&'a Watched);

impl Drop for PassWatched<'_> {
    fn drop(&mut self) {
        self.0.state.lock().unwrap().pass = None;
    }
}

impl Watches {
    /// The watcher of `slot` (project `project`, limit `limit`), started if none runs, its
    /// lease renewed for `lease` beyond [`LEASE`].
    pub(super) fn watch(
        &self,
        engine: &Engine,
        project: &Project,
        slot: &str,
        limit: i64,
        lease: Duration,
    ) -> Arc<Watched> {
        let until = Instant::now() + LEASE + lease;
        let mut slots = self.slots.lock().unwrap();
        if let Some(w) = slots.get(slot) {
            let mut state = w.state.lock().unwrap();
            // One that dropped the slot stays, for the pass that records why.
            if !state.ended || w.dropped_at().is_some() {
                state.lease_until = state.lease_until.max(until);
                drop(state);
                return w.clone();
            }
        }
        let w = Arc::new(Watched {
            state: Mutex::new(State {
                pass: None,
                lease_until: until,
                ended: false,
            }),
            dropped: tokio::sync::watch::Sender::new(None),
        });
        slots.insert(slot.to_string(), w.clone());
        tokio::spawn(keep_watching(
            engine.clone(),
            project.clone(),
            slot.to_string(),
            limit,
            w.clone(),
        ));
        w
    }
}

impl Watched {
    /// What the slot held when this watcher decided to drop it (it is dropped or being
    /// dropped), if it did.
    pub(super) fn dropped_at(&self) -> Option<i64> {
        *self.dropped.borrow()
    }

    /// Once the watcher has decided to drop the slot: what it held. Pending until then.
    pub(super) async fn until_dropped(&self) -> i64 {
        let mut rx = self.dropped.subscribe();
        let seen = rx.wait_for(Option::is_some).await.map(|v| *v);
        match seen {
            Ok(v) => v.unwrap_or_default(),
            Err(_) => std::future::pending().await,
        }
    }

    /// Register the running pass (stopped if the slot passes its limit while it runs).
    pub(super) fn pass(&self, stop: &CancellationToken, pid: i32) -> PassWatched<'_> {
        self.state.lock().unwrap().pass = Some((stop.clone(), pid));
        PassWatched(self)
    }

    /// Whether the watcher should stop: no pass runs and no one touched it within its lease.
    fn expired(&self) -> bool {
        let state = self.state.lock().unwrap();
        state.pass.is_none() && Instant::now() > state.lease_until
    }

    fn end(&self) {
        self.state.lock().unwrap().ended = true;
    }
}

/// The watcher's task: sample the slot every [`SAMPLE`] on one connection (made again if it
/// breaks) until the lease runs out or the slot is gone; past the limit, stop the running pass
/// and drop the slot.
async fn keep_watching(
    engine: Engine,
    project: Project,
    slot: String,
    limit: i64,
    w: Arc<Watched>,
) {
    let name = &project.name;
    'connection: while !w.expired() {
        let (spec, mut conn) = match connect(&engine, &project).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(project = %name, "the slot's WAL is not watched: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let limit = lowered_limit(&mut conn, &spec, limit).await;
        while !w.expired() {
            match server::slot_state(&mut conn, &spec, &slot).await {
                Ok(None) => break 'connection,
                Ok(Some(s)) if s.retained_bytes > limit => {
                    let pass = w.state.lock().unwrap().pass.clone();
                    if let Some((stop, pid)) = pass {
                        stop.cancel();
                        let _ = sqlx::query("SELECT pg_cancel_backend($1)")
                            .bind(pid)
                            .execute(&mut conn)
                            .await;
                    }
                    // Said before it is dropped: a pass that finds the slot gone from now on
                    // knows why (said after, a pass could find it gone first and call it
                    // vanished: seen in CI). Dropped here, at once; a failure is the pass's to
                    // meet again (it drops the slot whenever the watcher says it passed its
                    // limit).
                    w.dropped.send_replace(Some(s.retained_bytes));
                    if let Err(e) = drop_released(&mut conn, &spec, &slot).await {
                        tracing::warn!(project = %name, "dropping the slot past its limit: {e}");
                    }
                    break 'connection;
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    tracing::debug!(project = %name, "sampling the slot: {e}");
                    tokio::time::sleep(SAMPLE).await;
                    continue 'connection;
                }
            }
            tokio::time::sleep(SAMPLE).await;
        }
    }
    w.end();
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
    // A logical chain's slot: its watcher (kept on through the wait); a physical one's
    // sampled here.
    let overs = watched
        .iter()
        .map(|(project, chain)| -> futures::future::BoxFuture<'_, i64> {
            if chain.mode == "physical" {
                Box::pin(over_limit(engine, project, &chain.slot, chain.max_retained))
            } else {
                let w = engine.pitr_watches.watch(
                    engine,
                    project,
                    &chain.slot,
                    chain.max_retained,
                    every,
                );
                Box::pin(async move { w.until_dropped().await })
            }
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
