//! Restore a project to a time: the plan (base, segments, the commit it stops at), then the
//! base through the ordinary restore and the changes replayed into it.

use super::StoredCoverage;
use crate::crypto::UserKey;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::JobStart;
use crate::pgoutput::{self, Message};
use crate::pitr::replay::{Replayed, Replayer};
use crate::pitr::segment::{self, SegmentReader};
use crate::pitr::snapshot::XidSnapshot;
use crate::pitr::window::{self, ChainFacts, Window};
use crate::pitr::{lsn_text, micros_text};
use crate::postgres::conn::ConnSpec;
use crate::postgres::restore::{as_role, RestoreTarget};
use crate::restore::{DatabaseTo, RestoreRequest};
use serde::Serialize;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// What a restore to a time will do.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PitrPlan {
    pub at: String,
    pub window: Window,
    pub base_backup_id: String,
    pub base_path: String,
    pub base_at: String,
    pub segments: Vec<String>,
    /// The last transaction it applies (commit time, end LSN); `None`: the base alone.
    pub stop_commit_at: Option<String>,
    pub stop_commit_lsn: Option<String>,
    pub transactions: u64,
    /// Tables whose changes were not captured (restored as in the base).
    pub not_covered: Vec<(String, String)>,
    /// Segments missing or damaged here that were fetched back from a copy first.
    pub fetched: Vec<super::copies::Fetched>,
    #[serde(skip)]
    pub(crate) snapshot: String,
}

/// What a restore to a time did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PitrRestored {
    pub plan: PitrPlan,
    pub replayed: Replayed,
}

/// What [`chosen`] found: the chain's row, all its facts, the facts the window keeps, the
/// window, and the segments fetched back from copies first.
type Chosen = (
    crate::catalog::PitrChain,
    ChainFacts,
    ChainFacts,
    Window,
    Vec<super::copies::Fetched>,
);

/// The chain whose window holds `at` (a time in none is refused naming the nearest times). A
/// segment missing or damaged here comes back from a copy at a destination first. `check`:
/// whether every segment's checksum is read, or only whether its files are there (a physical
/// restore checks the segments it reads as it reads them).
async fn chosen(
    engine: &Engine,
    project: &crate::catalog::Project,
    at: i64,
    check: super::Check,
) -> Result<Chosen> {
    let t0 = std::time::Instant::now();
    let mut all = super::chain_facts_checked(engine, project, check).await?;
    // Every segment was checked once above; only the missing or damaged ones are fetched back
    // from a copy, and then the facts read again.
    let damaged: std::collections::HashSet<String> = all
        .iter()
        .flat_map(|(_, f)| f.segments.iter().filter(|s| !s.intact))
        .map(|s| s.path.clone())
        .collect();
    let mut fetched = Vec::new();
    if !damaged.is_empty() {
        fetched = super::copies::fetch_missing(engine, project, &damaged).await?;
        if !fetched.is_empty() {
            all = super::chain_facts_checked(engine, project, check).await?;
        }
    }
    tracing::debug!(
        "restore to a time: segments checked ({check:?}) in {:?}",
        t0.elapsed()
    );
    let facts: Vec<_> = all.iter().map(|(_, f)| f.clone()).collect();
    let (chosen, w) = window::choose(&facts, at)?;
    let (chain, full) = all
        .into_iter()
        .find(|(c, _)| c.id == chosen.id)
        .ok_or_else(|| Error::internal("the chosen chain is gone"))?;
    Ok((chain, full, chosen, w, fetched))
}

/// What a restore of a project to a time works from: its physical chain staged, or the plan of
/// replaying its logical chain. The chain is chosen once (after fetching missing segments back
/// from copies), so what was fetched is in the plan either way.
pub(crate) enum Prepared {
    Physical(
        crate::catalog::Project,
        Box<super::physical_restore::Staged>,
    ),
    /// The plan, and the tables the chain captured (`schema.table`; `None`: its coverage could
    /// not be read) — the only ones its replay may write.
    Logical(Box<PitrPlan>, Option<Vec<String>>),
}

/// `restore`: a restore will follow (a physical base is unpacked while the WAL is staged);
/// otherwise only the plan is wanted.
pub(crate) async fn prepare(
    engine: &Engine,
    name: &str,
    at: i64,
    restore: bool,
) -> Result<Prepared> {
    let project = engine.catalog.project(name).await?;
    // A physical window first the quick way: chosen by which files are there, the segments it
    // reads checked as they are unsealed (one read of each instead of two). Anything else — a
    // logical chain, a time the quick facts refuse, a damaged segment found while unsealing —
    // is decided from every segment's checksum, as before.
    // Segments fetched back from copies on the way are in the plan either way.
    let mut fetched_first = Vec::new();
    if let Ok((chain, full, _, w, fetched)) =
        chosen(engine, &project, at, super::Check::Present).await
    {
        if chain.mode == "physical" {
            let staged =
                super::physical_restore::stage(engine, &project, &chain, &full, w, at, restore);
            match staged.await {
                Ok(mut staged) => {
                    staged.plan.fetched = fetched;
                    return Ok(Prepared::Physical(project, Box::new(staged)));
                }
                Err(e) => {
                    tracing::info!("restore to a time: {e}; checking every segment of {name}")
                }
            }
        }
        fetched_first = fetched;
    }
    let (chain, full, chosen, w, mut fetched) =
        chosen(engine, &project, at, super::Check::Checksum).await?;
    fetched_first.append(&mut fetched);
    let fetched = fetched_first;
    if chain.mode == "physical" {
        let mut staged =
            super::physical_restore::stage(engine, &project, &chain, &full, w, at, restore).await?;
        staged.plan.fetched = fetched;
        return Ok(Prepared::Physical(project, Box::new(staged)));
    }
    let plan = logical_plan(engine, &project, &chain, &chosen, w, fetched, at).await?;
    let covered = serde_json::from_str::<StoredCoverage>(&chain.coverage)
        .ok()
        .map(|c| c.covered);
    Ok(Prepared::Logical(Box::new(plan), covered))
}

/// A physical chain's restore of `name` to `at`, staged (`None`: the chain is logical).
pub(crate) async fn physical_staged(
    engine: &Engine,
    name: &str,
    at: i64,
) -> Result<Option<(crate::catalog::Project, super::physical_restore::Staged)>> {
    Ok(match prepare(engine, name, at, true).await? {
        Prepared::Physical(project, staged) => Some((project, *staged)),
        Prepared::Logical(..) => None,
    })
}

pub(crate) async fn plan(engine: &Engine, name: &str, at: i64) -> Result<PitrPlan> {
    Ok(match prepare(engine, name, at, false).await? {
        Prepared::Physical(_, staged) => tokio::task::spawn_blocking(move || staged.into_plan())
            .await
            .map_err(|e| Error::internal(format!("a blocking task failed: {e}")))??,
        Prepared::Logical(plan, _) => *plan,
    })
}

async fn logical_plan(
    engine: &Engine,
    project: &crate::catalog::Project,
    chain: &crate::catalog::PitrChain,
    chosen: &ChainFacts,
    w: Window,
    fetched: Vec<super::copies::Fetched>,
    at: i64,
) -> Result<PitrPlan> {
    let snapshot = chain.base_snapshot.clone().unwrap_or_default();
    let base = XidSnapshot::parse(&snapshot)?;
    let record = engine.catalog.backup(&chosen.base_backup_id).await?;
    let keys = crate::ops::encryption::keys_of(engine, &project.name)?;
    let mut stop = None;
    let mut transactions = 0;
    for s in &chosen.segments {
        let (last, n) = last_commit_before(Path::new(&s.path), &keys, &base, at)?;
        stop = last.or(stop);
        transactions += n;
    }
    let cov: StoredCoverage = serde_json::from_str(&chain.coverage).unwrap_or_default();
    Ok(PitrPlan {
        at: micros_text(at),
        window: w,
        base_backup_id: chosen.base_backup_id.clone(),
        base_path: record.path,
        base_at: micros_text(chosen.base_at),
        segments: chosen.segments.iter().map(|s| s.path.clone()).collect(),
        stop_commit_at: stop.map(|(_, t)| micros_text(t)),
        stop_commit_lsn: stop.map(|(l, _)| lsn_text(l)),
        transactions,
        not_covered: cov.not_covered,
        fetched,
        snapshot,
    })
}

/// The last commit at or before `at` in a segment that the base does not hold, and how many.
fn last_commit_before(
    path: &Path,
    keys: &[UserKey],
    base: &XidSnapshot,
    at: i64,
) -> Result<(Option<(u64, i64)>, u64)> {
    let mut r = SegmentReader::open(path, keys)?;
    let mut counted = None;
    let mut last = None;
    let mut n = 0;
    while let Some(rec) = r.next_record()? {
        match pgoutput::decode(&rec.data)? {
            Message::Begin {
                commit_time, xid, ..
            } => {
                if commit_time > at && !base.sees(xid) {
                    break;
                }
                counted = Some(!base.sees(xid));
            }
            Message::Commit {
                end_lsn,
                commit_time,
                ..
            } if counted.take() == Some(true) => {
                last = Some((end_lsn, commit_time));
                n += 1;
            }
            _ => {}
        }
    }
    Ok((last, n))
}

/// Restore `name`'s physical chain as it was at `at` into a new server's data folder `dest`.
pub(crate) async fn run_data_dir(
    engine: &Engine,
    name: &str,
    at: i64,
    dest: &Path,
    cancel: &CancellationToken,
) -> Result<PitrRestored> {
    let Some((project, staged)) = physical_staged(engine, name, at).await? else {
        return Err(Error::invalid(
            "--to-data-dir needs a physical capture's window (this time is in a logical one)",
        )
        .with_hint("restore a logical window into a database with --to URL"));
    };
    let into = super::physical_restore::RestoreInto::DataDir(dest);
    super::physical_restore::run(engine, &project, staged, into, cancel).await
}

/// `restore --at TIME --as-role ROLE [--no-owner]`: the base restored and the changes replayed
/// as ROLE; `no_owner`: the objects of roles ROLE cannot act for restored owned by ROLE (as
/// `restore --as-role --no-owner` does).
#[derive(Debug, Clone, Copy)]
pub struct AsRole<'a> {
    pub role: &'a str,
    pub no_owner: bool,
}

/// Restore `name` as it was at `at` into `to` (a URL or a project's name); with `as_role`,
/// the base is restored and the changes replayed as that less privileged role of the target
/// (as `restore --as-role` restores: through a temporary login role that is a member of it
/// alone, dropped afterwards).
pub(crate) async fn run(
    engine: &Engine,
    name: &str,
    at: i64,
    to: &str,
    password: Option<String>,
    as_role: Option<AsRole<'_>>,
    cancel: &CancellationToken,
) -> Result<PitrRestored> {
    let (plan, covered) = match prepare(engine, name, at, true).await? {
        Prepared::Physical(..) if as_role.is_some() => {
            return Err(Error::invalid(
                "--as-role is not available for a physical capture's window yet: its changes \
                 are recovered by PostgreSQL itself, then restored whole",
            )
            .with_hint("leave out --as-role, or restore a logical window"));
        }
        Prepared::Physical(project, staged) => {
            let into = super::physical_restore::RestoreInto::Database { to, password };
            return super::physical_restore::run(engine, &project, *staged, into, cancel).await;
        }
        Prepared::Logical(plan, covered) => (*plan, covered),
    };
    {
        let segs = plan.segments.clone();
        tokio::task::spawn_blocking(move || {
            let items: Vec<_> = segs.iter().map(|s| (Path::new(s.as_str()), None)).collect();
            segment::verify_many(&items)
        })
        .await
        .map_err(|e| Error::internal(format!("a blocking task failed: {e}")))??;
    }
    let (spec, password) = target(engine, to, password.clone()).await?;
    let target = RestoreTarget {
        spec: spec.clone(),
        password: password.clone(),
    };
    // What a killed restore (or restore to a time) into the same database left goes first
    // (issue 63): the same command run again needs no manual step.
    crate::ops::interrupted::settle_target(engine, &target).await?;
    let project = engine.catalog.project(name).await?;
    let target_project = match to.contains("://") {
        true => None,
        false => Some(engine.catalog.project(to).await?.id),
    };
    let start = JobStart {
        cancel: cancel.clone(),
        ..JobStart::default()
    };
    // One job for the base and the replay, with one journal: recorded when the base is about
    // to write, it drops the base and what was replayed if the process dies on the way.
    let (_, restored) = crate::ops::runner::run(
        engine,
        crate::catalog::JobKind::Restore,
        Some(&project),
        start,
        |_| None,
        |job| async move {
            let journal = crate::ops::interrupted::ReplayJournal {
                engine: engine.clone(),
                job_id: job.id.clone(),
                target: target.clone(),
                target_project,
                archive: plan.base_path.clone().into(),
                project: name.to_string(),
                at: plan.at.clone(),
                as_role: as_role.map(|a| a.role.to_string()),
            };
            let journal = crate::postgres::restore::Journal(std::sync::Arc::new(journal));
            let mut req = RestoreRequest::new(
                &plan.base_path,
                DatabaseTo::url_or_project(to, password.clone()),
            );
            if let (Some(d), Some(a)) = (req.database.as_mut(), as_role) {
                d.options.as_role = Some(a.role.to_string());
                d.options.no_owner = a.no_owner;
            }
            let base =
                crate::ops::restore::run_within_journaled(engine, req, &job, journal).await?;
            let safety = base.database.and_then(|d| d.safety_backup);
            let replayed = replay(
                engine,
                name,
                at,
                plan,
                covered,
                &target,
                as_role,
                safety,
                (&job.id, &job.cancel),
            )
            .await;
            match replayed {
                // A cancel returns the target to how it was: what the base and the replay
                // wrote is dropped again, from the journal recorded before the base wrote.
                Err(e) if e.kind() == ErrorKind::Cancelled => Err(
                    crate::ops::interrupted::undo_cancelled_replay(engine, &job.id, &target, e)
                        .await,
                ),
                r => r,
            }
        },
    )
    .await?;
    Ok(restored)
}

/// The changes of `plan` replayed into `target`, where its base was just restored.
#[allow(clippy::too_many_arguments)]
async fn replay(
    engine: &Engine,
    name: &str,
    at: i64,
    plan: PitrPlan,
    covered: Option<Vec<String>>,
    target: &RestoreTarget,
    as_role: Option<AsRole<'_>>,
    safety: Option<std::path::PathBuf>,
    (job_id, cancel): (&str, &CancellationToken),
) -> Result<PitrRestored> {
    let (spec, password) = (&target.spec, &target.password);
    let keys = crate::ops::encryption::keys_of(engine, name)?;
    let snapshot = XidSnapshot::parse(&plan.snapshot)?;
    // The replay's session: the role of `to`, or a temporary login role acting as `as_role`.
    let temp = match as_role {
        Some(a) => Some(as_role::begin(target, a.role, &as_role::temp_name(job_id)).await?),
        None => None,
    };
    let (rspec, rpassword) = match &temp {
        Some((t, _)) => (t.spec.clone(), t.password.clone()),
        None => (spec.clone(), password.clone()),
    };
    let replayed = match rspec.connect(rpassword.as_deref()).await {
        Ok(mut conn) => {
            let r = Replayer::new(&mut conn, &rspec, snapshot, at)
                .covering(covered)
                .all(&plan.segments, &keys, cancel)
                .await;
            drop(conn);
            Ok(r)
        }
        Err(e) => Err(e),
    };
    let ended = match &temp {
        Some((_, t)) => as_role::end(target, t).await,
        None => Ok(()),
    };
    let replayed = replayed?;
    match replayed {
        Ok(replayed) => {
            ended?;
            Ok(PitrRestored { plan, replayed })
        }
        Err(a) => Err(left_part_way(name, &plan, spec, password.as_deref(), *a, safety).await),
    }
}

/// The error of a replay that stopped part way, saying what the target holds now: the base and
/// the whole transactions applied before it stopped (the database as it was at an earlier
/// time, its triggers and sequences put right on a fresh connection), not the time asked for.
async fn left_part_way(
    name: &str,
    plan: &PitrPlan,
    spec: &ConnSpec,
    password: Option<&str>,
    mut a: crate::pitr::replay::Abandoned,
    safety: Option<std::path::PathBuf>,
) -> Error {
    let mut not_done = match spec.connect(password).await {
        Ok(mut conn) => crate::pitr::replay::put_right(&mut conn, spec, &mut a).await,
        Err(e) => {
            let mut not = vec![format!(
                "its triggers and sequences could not be put right ({})",
                e.message()
            )];
            if let Some((_, held)) = &a.in_doubt {
                not.push(format!(
                    "it may also hold the {} transactions after those, whose commit went unanswered",
                    held.commits - a.applied.commits
                ));
            }
            not
        }
    };
    if !a.sequences_known {
        not_done.push(
            "its sequences are set as the segment before the one it stopped in closed".into(),
        );
    }
    let was = match a.applied.last_commit {
        Some((lsn, t)) => format!(
            "as {name} was at {} (LSN {}): the base of {} and the {} transactions after it",
            micros_text(t),
            lsn_text(lsn),
            plan.base_at,
            a.applied.commits
        ),
        None => format!("as {name} was at {} (the base alone)", plan.base_at),
    };
    let cause = a.error;
    let stopped = if cause.kind() == ErrorKind::Cancelled {
        "was cancelled while replaying its changes".to_string()
    } else {
        format!("stopped while replaying its changes: {}", cause.message())
    };
    let mut message = format!(
        "restoring {name} to {} {stopped}. The target database {} on {} is left {was} — not at {}",
        plan.at,
        spec.database,
        spec.location(),
        plan.at
    );
    for n in &not_done {
        message.push_str("; ");
        message.push_str(n);
    }
    message.push('.');
    if let Some(p) = safety {
        message.push_str(&format!(
            " What it held before is in the safety backup {}.",
            p.display()
        ));
    }
    let mut e = Error::new(cause.kind(), message).with_hint(format!(
        "{}restore again to replace it: offsite restore {name} --at '{}' --to …",
        if cause.kind() == ErrorKind::Cancelled {
            ""
        } else {
            "fix the cause, then "
        },
        plan.at
    ));
    if let Some(d) = cause.detail() {
        e = e.with_detail(d);
    }
    e
}

async fn target(
    engine: &Engine,
    to: &str,
    password: Option<String>,
) -> Result<(ConnSpec, Option<String>)> {
    if to.contains("://") {
        let (spec, in_url) = ConnSpec::parse_url(to)?;
        Ok((spec, password.or(in_url)))
    } else {
        let project = engine.catalog.project(to).await?;
        let password = engine.password_of(&project).await?;
        Ok((engine.spec_of(&project)?, password))
    }
}

/// A restore to a time into `to` (the app's target: a saved project, or a database on a server
/// by its parts or a URL). With `create_database`, a database that does not exist yet is created
/// empty first (as the connecting role, which needs CREATEDB: refused naming what to do when it
/// has not) and removed again when the restore to the time fails or is cancelled; without it, a
/// missing database is refused before anything is read.
pub(crate) async fn run_into(
    engine: &Engine,
    name: &str,
    at: i64,
    to: &DatabaseTo,
    create_database: bool,
    cancel: &CancellationToken,
) -> Result<PitrRestored> {
    use crate::postgres::restore::new_database::{self, Presence};
    let target = crate::ops::restore_parts::database_target(engine, to).await?;
    let presence = new_database::presence(&target).await?;
    if let Some(refused) = new_database::refusal(&target.spec, &presence, create_database) {
        return Err(refused);
    }
    let created = presence != Presence::Exists;
    if created {
        new_database::create(&target).await?;
    }
    let (text, password) = to.url_or_project_text()?;
    let restored = run(engine, name, at, &text, password, None, cancel).await;
    match (restored, created) {
        (Err(e), true) => Err(new_database::removed_after(&target, e).await),
        (r, _) => r,
    }
}
