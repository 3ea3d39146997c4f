//! Point-in-time capture of a project (issue 46, docs/pitr.md): `enable` (publication, slot,
//! then a base backup dumped in a snapshot taken after the slot), `run` (segments read from the
//! slot, registered, then the slot advanced; a slot holding too much WAL is dropped), `status`
//! (slot, lag, RPO, restorable windows, stray slots) and `disable`. Restoring to a time is in
//! [`restore`].

pub mod at;
pub mod copies;
pub mod keep;
pub mod physical;
pub mod physical_restore;
pub mod prune;
pub mod pull;
pub mod remove;
pub mod restore;
pub mod serve;
pub mod serve_objects;
pub mod verify;
pub mod whole;

mod handover;
pub(crate) mod objects_at;
pub(crate) mod objects_copy;
mod objects_keep;
mod pull_objects;
pub(crate) mod slots;
pub(crate) mod watch;

mod alert;
mod engine_api;
mod stray;
mod unfinished;

use alert::Lost;

use crate::archive::{BackupType, Manifest};
use crate::catalog::{PitrChain, Project};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::{BackupOptions, JobStart};
use crate::pitr::capture::{self, Captured};
use crate::pitr::server::{self, SlotState};
use crate::pitr::window::{self, ChainFacts, SegmentFacts, Window};
use crate::pitr::{micros_text, parse_time, segment, Names};
use crate::postgres::conn::ConnSpec;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// WAL a slot may hold before the capture drops it (1 GiB).
pub const DEFAULT_MAX_RETAINED: u64 = 1 << 30;
/// Messages read from the slot per segment at most (whole transactions).
const SEGMENT_CHANGES: u32 = 200_000;

/// What a chain covers, kept as JSON in the catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StoredCoverage {
    pub covered: Vec<String>,
    pub not_covered: Vec<(String, String)>,
    /// The published tables' columns when the chain began (DDL after it breaks the window).
    pub fingerprint: String,
    /// The not-covered tables `pitr enable --replica-identity-full` would make covered (owned
    /// by this role, logged, without a replica identity).
    #[serde(default)]
    pub no_replica_identity: Vec<String>,
}

/// What `enable` did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PitrEnabled {
    pub chain_id: String,
    pub slot: String,
    pub publication: String,
    pub coverage: StoredCoverage,
    pub base_backup_id: String,
    pub base_at: String,
}

/// What one `run` pass did.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PitrRun {
    pub segments: u64,
    pub commits: u64,
    /// The slot was lost (the chain ended, an alert was queued): dropped because it held more
    /// WAL than allowed, or gone from the server.
    pub dropped: Option<String>,
    /// Copies of this pass's segments to the destinations that are pending (to be tried again
    /// by `offsite sync` and the schedules' loop).
    #[serde(default)]
    pub copies_pending: u64,
    /// Storage objects whose `storage.objects` rows the pass captured, fetched and kept (a
    /// version already kept is not counted again), and their bytes.
    #[serde(default)]
    pub objects_kept: u64,
    #[serde(default)]
    pub object_bytes: u64,
    /// Objects whose version the rows name could not be kept ("bucket/key: why", the first
    /// 20; `objects_missed` counts them all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects_missed_named: Vec<String>,
    #[serde(default)]
    pub objects_missed: u64,
}

/// What `status` shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PitrStatus {
    pub enabled: bool,
    pub slot: Option<SlotState>,
    pub max_retained: Option<u64>,
    /// The server's free disk space, where it is known (a server on this machine whose data
    /// folder this role may read).
    pub free_bytes: Option<u64>,
    /// The limit passes hold the slot to: `max_retained`, or lower when `free_bytes` is small.
    pub effective_max_retained: Option<u64>,
    /// Seconds since the capture last confirmed it had everything (`None`: not running).
    pub rpo_seconds: Option<f64>,
    pub coverage: Option<StoredCoverage>,
    pub windows: Vec<Window>,
    /// Chains that ended, and why.
    pub ended: Vec<String>,
    /// Slots named like Offsite's on this server that no active chain owns.
    pub stray_slots: Vec<SlotState>,
}

async fn connect(engine: &Engine, project: &Project) -> Result<(ConnSpec, PgConnection)> {
    let spec = engine.spec_of(project)?;
    let password = engine.password_of(project).await?;
    let conn = spec
        .connect(password.as_deref())
        .await
        .map_err(|e| engine.password_hint(&project.name, e))?;
    Ok((spec, conn))
}

async fn active_chain(engine: &Engine, project: &Project) -> Result<Option<PitrChain>> {
    Ok(engine
        .catalog
        .pitr_chains(&project.id)
        .await?
        .into_iter()
        .rev()
        .find(|c| c.state == "active"))
}

/// Where a project's segments are written.
fn segment_dir(engine: &Engine, project: &Project) -> PathBuf {
    engine.backup_dir_of(project).join("pitr")
}

pub(crate) async fn enable(
    engine: &Engine,
    name: &str,
    max_retained: Option<u64>,
    keep_within: Option<i64>,
) -> Result<PitrEnabled> {
    let project = engine.catalog.project(name).await?;
    // Held until the base is recorded (or the chain ended): a chain without a base whose lock
    // is free was left by a process that stopped while taking it (unfinished.rs).
    let _base = unfinished::base_lock(engine, &project)?;
    unfinished::settle(engine, &project, true).await?;
    if active_chain(engine, &project).await?.is_some() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("point-in-time capture is already enabled for {name}"),
        ));
    }
    let names = Names::for_project(&project.id);
    let (spec, mut conn) = connect(engine, &project).await?;
    let (coverage, _) = server::enable(&mut conn, &spec, &names).await?;
    let stored = StoredCoverage {
        fingerprint: server::fingerprint(&mut conn, &spec, &names.publication).await?,
        covered: coverage.covered,
        not_covered: coverage.not_covered,
        no_replica_identity: coverage.no_replica_identity,
    };
    let json = serde_json::to_string(&stored).map_err(|e| Error::internal(e.to_string()))?;
    let max = max_retained.unwrap_or(DEFAULT_MAX_RETAINED);
    let chain = engine
        .catalog
        .add_pitr_chain(
            &project.id,
            &names.slot,
            &names.publication,
            &json,
            max as i64,
            keep_within,
        )
        .await?;
    match take_base(engine, name, &chain).await {
        Ok((base_backup_id, base_at)) => Ok(PitrEnabled {
            chain_id: chain.id,
            slot: names.slot,
            publication: names.publication,
            coverage: stored,
            base_backup_id,
            base_at: micros_text(base_at),
        }),
        Err(e) => {
            let _ = server::disable(&mut conn, &spec, &names).await;
            let _ = engine
                .catalog
                .end_pitr_chain(&chain.id, "its base backup failed")
                .await;
            Err(e)
        }
    }
}

/// `pitr enable --replica-identity-full`: set `REPLICA IDENTITY FULL` on the tables `which`
/// names (each refused unless it exists, is this role's, logged and without one), then start
/// capturing — or, when capture runs already, capture what the slot holds and start a new chain
/// whose publication has them (its base taken now; the limits stay the running chain's).
pub(crate) async fn enable_identity_full(
    engine: &Engine,
    name: &str,
    which: &server::IdentityFull,
    max_retained: Option<u64>,
    keep_within: Option<i64>,
) -> Result<PitrEnabled> {
    let project = engine.catalog.project(name).await?;
    let running = active_chain(engine, &project).await?;
    if running.as_ref().is_some_and(|c| c.mode == "physical") {
        return Err(Error::invalid(
            "the physical capture covers every table already: --replica-identity-full is for \
             the logical capture",
        ));
    }
    let (spec, mut conn) = connect(engine, &project).await?;
    let altered = server::set_identity_full(&mut conn, &spec, which).await?;
    tracing::info!(project = %name, "REPLICA IDENTITY FULL set on {}", altered.join(", "));
    drop(conn);
    if running.is_none() {
        return enable(engine, name, max_retained, keep_within).await;
    }
    // The pass notices the captured tables changed and starts the new chain.
    let pass = keep::keep(
        engine,
        name,
        keep::KeepCapturing::default(),
        &CancellationToken::new(),
    )
    .await?;
    match (pass.started, pass.run.dropped) {
        (Some(started), _) => Ok(started),
        (None, Some(why)) => Err(Error::new(
            ErrorKind::Interrupted,
            format!("REPLICA IDENTITY FULL is set, but the capture stopped: {why}"),
        )
        .with_hint(format!(
            "`offsite pitr enable {name}` starts a new chain that captures them"
        ))),
        (None, None) => Err(Error::internal(
            "the tables' replica identity changed but no new chain started",
        )),
    }
}

/// The base: an ordinary database backup, dumped in a snapshot taken after the slot.
async fn take_base(engine: &Engine, name: &str, chain: &PitrChain) -> Result<(String, i64)> {
    let out = engine
        .backup(
            BackupOptions {
                backup_type: Some(BackupType::Database),
                ..BackupOptions::project(name)
            },
            JobStart::default(),
        )
        .await?;
    let manifest: Manifest = out
        .backup
        .manifest_json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(|| Error::internal("the base backup has no manifest"))?;
    let snap = manifest.source.snapshot.ok_or_else(|| {
        Error::new(
            ErrorKind::UnsupportedFormat,
            "the base backup's dump did not share its snapshot (a transaction pooler?): base and \
             changes cannot meet at one point",
        )
        .with_hint("connect the project directly to PostgreSQL (port 5432), not through a pooler")
    })?;
    let at = parse_time(&snap.taken_at)?;
    engine
        .catalog
        .set_pitr_base(&chain.id, &out.backup.id, &snap.xids, at)
        .await?;
    Ok((out.backup.id, at))
}

/// One pass: every segment the slot holds, registered, then the slot moved past it.
pub(crate) async fn run_once(
    engine: &Engine,
    name: &str,
    cancel: &CancellationToken,
) -> Result<PitrRun> {
    let project = engine.catalog.project(name).await?;
    let chain = active_chain(engine, &project).await?.ok_or_else(|| {
        Error::not_found(format!("point-in-time capture is not enabled for {name}"))
            .with_hint("offsite pitr enable PROJECT")
    })?;
    if chain.mode == "physical" {
        return physical::run_once(engine, &project, &chain).await;
    }
    let names = Names {
        slot: chain.slot.clone(),
        publication: chain.publication.clone(),
    };
    // Watched from the pass's start (its watcher kept on, or started): past its limit the
    // slot is dropped and the pass stopped, so that the server's WAL does not grow unseen
    // through a long pass.
    let watched = engine.pitr_watches.watch(
        engine,
        &project,
        &names.slot,
        chain.max_retained,
        Duration::ZERO,
    );
    let (spec, mut conn) = connect(engine, &project).await?;
    // Lower than set when the server's free space is known and small (crate::pitr::disk).
    let free = crate::pitr::disk::free_bytes(&mut conn, &spec).await;
    let mut chain = chain;
    chain.max_retained = i64::try_from(crate::pitr::disk::effective_limit(
        u64::try_from(chain.max_retained).unwrap_or(0),
        free,
    ))
    .unwrap_or(i64::MAX);
    let mut done = PitrRun::default();
    let mut closed = Vec::new();
    // What the slot held while no one consumed it: measured before the pass, because the pass
    // itself moves the slot (and how far its restart point follows depends on when the server
    // last logged its running transactions), so the after-pass measure alone can miss a slot
    // that held far more than its limit.
    let Some(before) = server::slot_state(&mut conn, &spec, &names.slot).await? else {
        // Dropped by its watcher (past its limit), or gone otherwise.
        let lost = match watched.dropped_at() {
            Some(retained) => Lost::OverLimit { retained },
            None => Lost::Vanished,
        };
        done.dropped = Some(alert::slot_lost(engine, &project, &chain, lost).await?);
        return Ok(done);
    };
    if before.retained_bytes > chain.max_retained {
        // Past its limit already (it grew while no pass ran): dropped at once — reading what it
        // holds first would let the server's WAL grow on for as long as that takes. Its
        // watcher may be dropping it at the same moment: tried again until it is gone.
        watch::drop_released(&mut conn, &spec, &names.slot).await?;
        let lost = Lost::OverLimit {
            retained: before.retained_bytes,
        };
        done.dropped = Some(alert::slot_lost(engine, &project, &chain, lost).await?);
        return Ok(done);
    }
    let dir = segment_dir(engine, &project);
    let encryption = crate::ops::encryption::for_backup(engine, &project).await?;
    let to = capture::Target {
        dir: &dir,
        stem: &project.name,
        encryption: encryption.as_ref(),
    };
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    let stop = cancel.child_token();
    let mut over = None;
    let passed = {
        let pass = capture_segments(
            engine,
            &project,
            &chain,
            &mut conn,
            &spec,
            &names,
            &to,
            &stop,
            &mut done,
            &mut closed,
        );
        tokio::pin!(pass);
        let _registered = watched.pass(&stop, pid);
        tokio::select! {
            r = &mut pass => r,
            held = watched.until_dropped() => {
                over = Some(held);
                pass.await
            }
        }
    };
    // The watcher stops the pass by cancelling its token and its running statement; the pass
    // can end first, with the cancelled statement's error, while the watcher is still on its
    // way out: it fired all the same (seen in CI: `pitr run` ended on "advancing the slot:
    // canceling statement due to user request" and nobody dropped the slot). Or the pass
    // ended just as the watcher stopped it, the cancel on its way to this connection's next
    // statement (seen under load). Either way the watcher's word is waited for — it drops the
    // slot, then says so — before this connection is used again.
    if over.is_none() && stop.is_cancelled() && !cancel.is_cancelled() {
        over = Some(watched.until_dropped().await);
    }
    // Or the watcher dropped the slot before the pass was registered with it: the pass failed
    // on a slot that is gone, for the reason the watcher gives.
    if over.is_none() && !cancel.is_cancelled() {
        over = watched.dropped_at();
    }
    if let Some(retained) = over {
        // The pass stopped (its error is the cancellation asked for); the slot goes at once.
        if cancel.is_cancelled() {
            passed?;
        }
        watch::drop_released(&mut conn, &spec, &names.slot).await?;
        let lost = Lost::OverLimit { retained };
        done.dropped = Some(alert::slot_lost(engine, &project, &chain, lost).await?);
    } else {
        passed?;
    }
    if done.segments > 0 {
        // Copied to the destinations as a backup is after it is made (a destination that
        // cannot take them leaves pending copies; the capture goes on).
        done.copies_pending = copies::after_pass(engine, &project, &closed, cancel)
            .await
            .iter()
            .filter(|c| c.error.is_some())
            .count() as u64;
        prune::by_stored_setting(engine, name).await;
    }
    // A slot past its limit after the pass (everything it held is captured) is dropped.
    if done.dropped.is_some() {
        return Ok(done);
    }
    if let Some(after) = server::slot_state(&mut conn, &spec, &names.slot).await? {
        let retained = after.retained_bytes;
        if retained > chain.max_retained {
            server::drop_slot(&mut conn, &spec, &names.slot).await?;
            let lost = Lost::OverLimit { retained };
            done.dropped = Some(alert::slot_lost(engine, &project, &chain, lost).await?);
        }
    }
    Ok(done)
}

/// What the slot holds of the transactions committed before the pass began, in segments each
/// registered and then the slot moved past it (several when it is far behind), or `stop`.
#[allow(clippy::too_many_arguments)]
async fn capture_segments(
    engine: &Engine,
    project: &Project,
    chain: &PitrChain,
    conn: &mut PgConnection,
    spec: &ConnSpec,
    names: &Names,
    to: &capture::Target<'_>,
    stop: &CancellationToken,
    done: &mut PitrRun,
    closed: &mut Vec<(String, crate::catalog::PitrSegment)>,
) -> Result<()> {
    // Fixed for the pass: a pass that read on to what committed while it read would go on
    // for as long as the writes do.
    let upto = capture::upto_now(conn, spec).await?;
    loop {
        if stop.is_cancelled() {
            return Err(Error::cancelled());
        }
        let read =
            capture::capture_once(conn, spec, names, to, &upto, SEGMENT_CHANGES, stop).await?;
        let Some(Captured {
            path,
            info,
            sha256,
            bytes,
            objects,
        }) = read.captured
        else {
            engine
                .catalog
                .set_pitr_polled(&chain.id, read.closed_at)
                .await?;
            return Ok(());
        };
        // The objects its rows write are kept before it is registered (docs/pitr.md).
        let kept = objects_keep::keep(engine, project, to.dir, &objects, to.encryption, stop).await;
        if stop.is_cancelled() {
            return Err(Error::cancelled());
        }
        done.objects_kept += kept.fetched;
        done.object_bytes += kept.bytes;
        done.objects_missed += kept.missed_count;
        for m in kept.missed {
            if done.objects_missed_named.len() < 20 {
                done.objects_missed_named.push(m);
            }
        }
        engine
            .catalog
            .add_pitr_segment(&chain.id, &path.to_string_lossy(), &info, bytes, &sha256)
            .await?;
        capture::advance(conn, spec, names, info.end_lsn).await?;
        done.segments += 1;
        done.commits += info.commits;
        closed.push((chain.id.clone(), registered(path, &info, bytes, sha256)));
        // Everything committed before the read began is in: the pass is done (reading on
        // while commits keep coming would decode the same WAL again and again).
        if !read.more {
            return Ok(());
        }
    }
}

/// The catalog's view of a segment just registered.
fn registered(
    path: PathBuf,
    info: &segment::SegmentInfo,
    bytes: u64,
    sha256: String,
) -> crate::catalog::PitrSegment {
    crate::catalog::PitrSegment {
        path: path.to_string_lossy().into_owned(),
        start_lsn: info.start_lsn,
        first_commit_lsn: info.first_commit_lsn,
        end_lsn: info.end_lsn,
        first_commit_at: info.first_commit_at,
        last_commit_at: info.last_commit_at,
        closed_at: info.closed_at,
        commits: info.commits,
        bytes,
        sha256,
        fingerprint: info.fingerprint.clone(),
    }
}

/// Capture until cancelled, a pass every `every`.
pub(crate) async fn run(
    engine: &Engine,
    name: &str,
    every: Duration,
    cancel: &CancellationToken,
) -> Result<()> {
    loop {
        // A pass, then a new base when the captured tables changed (DDL).
        let pass = keep::keep(engine, name, keep::KeepCapturing::default(), cancel).await?;
        if pass.run.dropped.is_some() || cancel.is_cancelled() {
            return Ok(());
        }
        // The slot watched while waiting too: past its limit, the next pass starts now.
        watch::between_passes(engine, &[name.to_string()], every, cancel).await;
        if cancel.is_cancelled() {
            return Ok(());
        }
    }
}

/// Capture every project with an active chain until cancelled, a pass each every `every`
/// (`offsite daemon`); one project's failure is logged and does not stop the others.
pub(crate) async fn run_all(engine: &Engine, every: Duration, cancel: &CancellationToken) {
    loop {
        let names = match engine.catalog.pitr_active_projects().await {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!("point-in-time capture: {e}");
                Vec::new()
            }
        };
        for name in &names {
            // A pass, then a new base when the captured tables changed (DDL).
            if let Err(e) = keep::keep(engine, name, keep::KeepCapturing::default(), cancel).await {
                tracing::warn!(project = %name, "point-in-time capture: {e}");
            }
        }
        // The slots watched while waiting: past a limit, the next passes start now.
        watch::between_passes(engine, &names, every, cancel).await;
        if cancel.is_cancelled() {
            return;
        }
    }
}

pub(crate) async fn disable(engine: &Engine, name: &str) -> Result<bool> {
    let project = engine.catalog.project(name).await?;
    let names = Names::for_project(&project.id);
    let (spec, mut conn) = connect(engine, &project).await?;
    let had = server::disable(&mut conn, &spec, &names).await?;
    for c in engine.catalog.pitr_chains(&project.id).await? {
        engine.catalog.end_pitr_chain(&c.id, "disabled").await?;
        // A physical chain's receive folder (its WAL is sealed; the slot is gone).
        let _ = std::fs::remove_dir_all(physical::wal_dir(engine, &c.id));
    }
    // Turned off: a capture that ended (its slot dropped) is no longer said by the status.
    engine.catalog.turn_off_pitr_chains(&project.id).await?;
    Ok(had)
}

/// The rules' view of every chain with a base: each segment checked against its checksum.
pub(crate) async fn chain_facts(
    engine: &Engine,
    project: &Project,
) -> Result<Vec<(PitrChain, ChainFacts)>> {
    chain_facts_checked(engine, project, Check::Checksum).await
}

/// How [`chain_facts_checked`] decides that a segment is intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Its file and `.sha256` are there (the caller checks what it reads as it reads it).
    Present,
    /// Its file matches its `.sha256` and the catalog's checksum.
    Checksum,
}

/// [`chain_facts`], each segment checked as `check` says.
pub(crate) async fn chain_facts_checked(
    engine: &Engine,
    project: &Project,
    check: Check,
) -> Result<Vec<(PitrChain, ChainFacts)>> {
    let mut rows = Vec::new();
    for c in engine.catalog.pitr_chains(&project.id).await? {
        let (Some(base), Some(base_at)) = (c.base_backup_id.clone(), c.base_at) else {
            continue;
        };
        let segments = engine.catalog.pitr_segments(&c.id).await?;
        rows.push((c, base, base_at, segments));
    }
    // Every segment's checksum, on every core (an hour of physical capture is hundreds of
    // files; each is read once here).
    let files: Vec<(String, String)> = rows
        .iter()
        .flat_map(|(_, _, _, segs)| segs.iter().map(|s| (s.path.clone(), s.sha256.clone())))
        .collect();
    let intact = tokio::task::spawn_blocking(move || {
        let ok: Vec<std::sync::atomic::AtomicBool> = files
            .iter()
            .map(|_| std::sync::atomic::AtomicBool::new(false))
            .collect();
        let _ = segment::par_each(files.len(), |i| {
            let (path, sha) = &files[i];
            let path = std::path::Path::new(path);
            let good = match check {
                Check::Present => path.is_file() && crate::archive::sidecar_path(path).is_file(),
                Check::Checksum => segment::verify(path, Some(sha)).is_ok(),
            };
            ok[i].store(good, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        });
        ok.into_iter()
            .map(|b| b.into_inner())
            .collect::<Vec<bool>>()
    })
    .await
    .map_err(|e| Error::internal(format!("a blocking task failed: {e}")))?;
    let mut intact = intact.into_iter();
    let mut out = Vec::new();
    for (c, base, base_at, segs) in rows {
        let cov: StoredCoverage = serde_json::from_str(&c.coverage).unwrap_or_default();
        let segments = segs
            .into_iter()
            .map(|s| SegmentFacts {
                intact: intact.next().unwrap_or(false),
                path: s.path,
                sha256: s.sha256,
                start_lsn: s.start_lsn,
                end_lsn: s.end_lsn,
                first_commit_at: s.first_commit_at,
                last_commit_at: s.last_commit_at,
                closed_at: s.closed_at,
                fingerprint: s.fingerprint,
            })
            .collect();
        let facts = ChainFacts {
            id: c.id.clone(),
            base_backup_id: base,
            base_at,
            base_fingerprint: cov.fingerprint,
            segments,
            last_poll_at: c.last_poll_at,
        };
        out.push((c, facts));
    }
    Ok(out)
}

/// A window broken by a segment missing or damaged here says which destinations hold a copy
/// of it (a restore to a time fetches it from there).
pub(crate) async fn say_copies(
    engine: &Engine,
    project: &Project,
    chains: &[(PitrChain, ChainFacts)],
    windows: &mut [Window],
) -> Result<()> {
    if !windows.iter().any(|w| w.broken_by.is_some()) {
        return Ok(());
    }
    let held = copies::holders(engine, project).await?;
    for ((_, f), w) in chains.iter().zip(windows.iter_mut()) {
        let Some(bad) = f.segments.iter().find(|s| !s.intact) else {
            continue;
        };
        let (Some(why), Some(at)) = (w.broken_by.as_mut(), held.get(&bad.path)) else {
            continue;
        };
        if why.contains(&bad.path) {
            why.push_str(&format!(
                "; a copy is stored at {} (a restore to a time fetches it from there)",
                at.join(", ")
            ));
        }
    }
    Ok(())
}

/// Slots named like Offsite's on the server that no active chain of this catalog owns (what
/// `status` lists and [`stray`] reports).
pub(super) async fn stray_slots(
    engine: &Engine,
    spec: &ConnSpec,
    conn: &mut PgConnection,
) -> Result<Vec<SlotState>> {
    let listed = server::offsite_slots(conn, spec).await?;
    // Read after the listing: a chain enabled meanwhile has its slot recorded by now.
    let owned = engine.catalog.pitr_active_slots().await?;
    Ok(listed
        .into_iter()
        .filter(|s| !owned.contains(&s.slot))
        .collect())
}

pub(crate) async fn status(engine: &Engine, name: &str) -> Result<PitrStatus> {
    let project = engine.catalog.project(name).await?;
    // Measured first: a slot past its limit is dropped now, and its chain said to have ended.
    slots::watch(engine, Some(name)).await;
    let chains = chain_facts(engine, &project).await?;
    let active = active_chain(engine, &project).await?;
    // While capture runs the server must answer (its slot). Otherwise it is asked only for
    // slots no project owns, and a database that is down does not hide the windows, which are
    // the catalog's — a restore to a time is needed most when the database is gone.
    let (slot, stray_slots, free_bytes) = match &active {
        Some(c) => {
            let (spec, mut conn) = connect(engine, &project).await?;
            let slot = server::slot_state(&mut conn, &spec, &c.slot).await?;
            let free = crate::pitr::disk::free_bytes(&mut conn, &spec).await;
            (slot, stray_slots(engine, &spec, &mut conn).await?, free)
        }
        None => match connect(engine, &project).await {
            Ok((spec, mut conn)) => (None, stray_slots(engine, &spec, &mut conn).await?, None),
            Err(e) => {
                tracing::debug!(project = %name, "point-in-time status without the server: {e}");
                (None, Vec::new(), None)
            }
        },
    };
    let mut windows: Vec<Window> = chains.iter().map(|(_, f)| window::window(f)).collect();
    say_copies(engine, &project, &chains, &mut windows).await?;
    let now = engine.clock().now();
    let now = now.unix_timestamp_nanos() as i64 / 1000;
    let rpo_seconds = active.as_ref().and_then(|c| {
        let last = chains
            .iter()
            .find(|(ch, _)| ch.id == c.id)
            .map(|(_, f)| window::window(f).to)?;
        Some((now - last) as f64 / 1e6)
    });
    Ok(PitrStatus {
        enabled: active.is_some(),
        slot,
        max_retained: active.as_ref().map(|c| c.max_retained as u64),
        free_bytes,
        effective_max_retained: active
            .as_ref()
            .map(|c| crate::pitr::disk::effective_limit(c.max_retained as u64, free_bytes)),
        rpo_seconds,
        coverage: active.and_then(|c| serde_json::from_str(&c.coverage).ok()),
        windows,
        // Every chain's, those without a base too (one whose base was interrupted or failed
        // ended without a window: the reason is all there is to say).
        ended: engine
            .catalog
            .pitr_chains(&project.id)
            .await?
            .into_iter()
            .filter_map(|c| c.ended_reason)
            .collect(),
        stray_slots,
    })
}
