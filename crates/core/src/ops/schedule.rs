//! Schedules as the engine runs them: set / list / clear / pause a project's backup, verify and
//! drill schedules (a drill's run: `schedule_drill`) and its retention policy, run what is due
//! ([`run_due`]), and each project's status (newest good backup, next run, overdue).
//!
//! `run_due(now)` runs each due schedule once: it claims the slot in the catalog first (one
//! conditional UPDATE: of the app and the command line racing, one wins, the other skips), then
//! runs the job with trigger `schedule` or `catch_up`; after a successful scheduled backup it
//! applies the project's retention policy (a `prune` job, trigger `retention`). When the project
//! is busy with another job (its lock is held), the slot is given back and runs at the next check.
//! A run that fails with a temporary error (connection, rate limit) is tried again 5, 15 and 60
//! minutes later (trigger `retry`, claimed the same way), then escalated; any other failure is
//! escalated at once. A scheduled backup whose process was killed (its job is failed as
//! `interrupted` when Offsite next starts) is retried at the next check.

use crate::catalog::{
    format_timestamp, parse_timestamp, NewSchedule, ScheduleKind, ScheduleRecord, ScheduleType,
    DEFAULT_SCHEDULE,
};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, ErrorPayload, Result};
use crate::ops::job::{new_job_id, JobTrigger};
use crate::ops::prune;
use crate::ops::schedule_run::{run_backup, run_tenants, run_verify, Started};
use crate::progress::Progress;
use crate::schedule::{self, RetentionPolicy, ScheduleSpec, ScheduleWhen, Zone};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;

/// What a schedule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleWhat {
    /// A backup of the project.
    Backup,
    /// Verify the newest N backups (`None`: all).
    Verify { newest: Option<u32> },
    /// A restore drill of the newest good backup.
    Drill,
}

/// Set (replace) a project's backup or verify schedule.
#[derive(Debug, Clone)]
pub struct SetSchedule {
    pub project: String,
    pub spec: ScheduleSpec,
    pub what: ScheduleWhat,
    /// IANA zone of the spec's times (`None`: this computer's zone, see [`Zone::local`]).
    pub time_zone: Option<String>,
}

/// A schedule as the command line and the window show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ScheduleView {
    pub project: String,
    pub kind: ScheduleKind,
    /// Its name in the project (`default`: the one `schedule set PROJECT --daily …` edits).
    pub name: String,
    /// A backup schedule's type (`None`: the project's default type).
    pub backup_type: Option<ScheduleType>,
    /// Its own selection (`None`: the project's).
    pub selection: Option<crate::selection::BackupSelection>,
    /// The destinations (names) its backups are copied to (`None`: every destination).
    pub destinations: Option<Vec<String>>,
    /// Its own retention, pruning only its own backups (`None`: the project's policy).
    pub retention: Option<RetentionPolicy>,
    /// Whose retention prunes its backups: `schedule` (its own) or `project`.
    pub retention_from: String,
    /// That retention's rules in words (`keep-daily 7, keep-weekly 4`).
    pub retention_rules: String,
    /// When it runs (`daily 02:30`).
    pub spec: String,
    /// The same in words, to follow "Backs up " ("daily at 02:30", "every weekday at 04:00").
    pub words: String,
    /// The same, as a typed value (what the window reads).
    pub when: ScheduleWhen,
    pub time_zone: String,
    /// A verify schedule: how many of the newest backups it checks (`None`: all).
    pub verify_newest: Option<u32>,
    pub paused: bool,
    pub created_at: String,
    /// The newest slot a runner claimed.
    pub last_slot: Option<String>,
    /// When a failed run of the last slot is tried again.
    pub retry_at: Option<String>,
    /// The next runs (5); the first is a slot that is due now when one is.
    pub next_runs: Vec<String>,
    /// A backup schedule's tenant: after each backup, one archive per tenant of it.
    pub tenant: Option<String>,
    /// With a tenant: how many archives of each of its tenants are kept (its own retention).
    #[cfg_attr(feature = "specta", specta(skip))]
    pub tenant_keep_last: Option<u32>,
}

/// A project's retention policy as shown.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RetentionView {
    pub project: String,
    /// The rules (off ones absent or null).
    pub policy: RetentionPolicy,
    /// The rules in words.
    pub rules: String,
    /// The zone periods are counted in.
    pub time_zone: String,
    /// When it was set (`None`: never; everything is kept).
    pub updated_at: Option<String>,
}

/// One schedule's run in [`run_due`].
#[derive(Debug, Clone, Serialize)]
pub struct DueRun {
    pub project: String,
    pub kind: ScheduleKind,
    /// The schedule's name (`default`, `hourly`, …).
    pub schedule: String,
    /// The slot it ran for.
    pub slot: String,
    pub trigger: JobTrigger,
    /// Which retry of the slot's run this is (0: the first try).
    pub attempt: u32,
    pub state: DueRunState,
    /// Why it was skipped (claimed by another runner, project busy).
    pub skipped: Option<String>,
    /// The jobs it ran (one backup; one verify per backup checked).
    pub job_ids: Vec<String>,
    /// The backup a scheduled backup made.
    pub backup_id: Option<String>,
    /// Verify schedules: backups found corrupt.
    pub corrupt: Vec<String>,
    pub error: Option<ErrorPayload>,
    /// A temporary failure: when the run is tried again.
    pub retry_at: Option<String>,
    /// A failure no retry will fix (or the last retry failed): someone has to act.
    pub escalated: bool,
    /// After a backup: the retention job and what it removed (ids; details in
    /// `pruned_backups`).
    pub prune_job_id: Option<String>,
    pub pruned: Vec<String>,
    /// The backups retention removed after this run: when they were made, where, and why.
    pub pruned_backups: Vec<PrunedBackup>,
}

/// A backup the retention policy removed after a scheduled backup.
#[derive(Debug, Clone, Serialize)]
pub struct PrunedBackup {
    pub id: String,
    pub created_at: String,
    pub path: String,
    /// Why it went: the policy that did not keep it (`not kept by keep-last 1`).
    pub reason: String,
}

text_enum! {
    /// How a schedule's run in [`run_due`] ended.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum DueRunState as "run state" {
        Succeeded = "succeeded",
        Failed = "failed",
        /// Not run: another runner claimed it, or the project was busy (see `skipped`).
        Skipped = "skipped",
    }
}

pub use crate::schedule::ProjectStatus;
pub use crate::schedule::RETRY_BACKOFF;

/// What [`run_due`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RunDueReport {
    pub now: String,
    /// Every schedule is paused until then (the tray's "Pause schedules"); nothing ran.
    pub paused_until: Option<String>,
    pub runs: Vec<DueRun>,
}

/// Before a catch-up backup (the first check after a wake-up or a start), a random delay of up
/// to this long spreads many projects' runs.
pub const CATCH_UP_JITTER: std::time::Duration = std::time::Duration::from_secs(3);
/// A catch-up backup waits for its database while it cannot be reached (a laptop's network
/// comes back a little after the laptop): it asks again after each of these waits (about 3
/// minutes in all), then runs anyway (and a failure takes the usual retries).
pub const CATCH_UP_WAITS: [std::time::Duration; 4] = [
    std::time::Duration::from_secs(10),
    std::time::Duration::from_secs(20),
    std::time::Duration::from_secs(60),
    std::time::Duration::from_secs(90),
];

/// Wait (bounded) until the project's database answers; returns how many times it did not.
/// Whether what a scheduled backup reads from answers: the project's backup server when it has
/// one (its list of backups), else its database.
async fn source_answers(engine: &Engine, project: &str) -> Result<()> {
    let p = engine.catalog.project(project).await?;
    if engine.catalog.components(&p.id).await?.server.is_some() {
        let client = crate::ops::remote::client_of(engine, &p).await?;
        return client.backups().await.map(|_| ());
    }
    engine.test_project(project).await.map(|_| ())
}

async fn wait_for_source(engine: &Engine, project: &str) -> usize {
    let mut misses = 0;
    for wait in CATCH_UP_WAITS {
        match source_answers(engine, project).await {
            Err(e) if e.is_temporary() => {
                misses += 1;
                tracing::info!(
                    project,
                    "the source does not answer yet ({e}); waiting {wait:?} before the catch-up"
                );
                tokio::time::sleep(wait).await;
            }
            _ => return misses,
        }
    }
    misses
}

/// The setting that pauses every schedule until a time (RFC 3339 UTC).
pub const PAUSED_UNTIL_SETTING: &str = "schedules_paused_until";

/// Pause every schedule until `until` (`None`: resume). Slots missed meanwhile run once, as a
/// catch-up, when the pause ends.
pub(crate) async fn pause_all(engine: &Engine, until: Option<OffsetDateTime>) -> Result<()> {
    match until {
        Some(t) => {
            engine
                .catalog
                .set_setting(PAUSED_UNTIL_SETTING, &format_timestamp(t))
                .await
        }
        None => engine.catalog.remove_setting(PAUSED_UNTIL_SETTING).await,
    }
}

/// Until when every schedule is paused, if it is at `now`.
pub(crate) async fn paused_until(engine: &Engine, now: OffsetDateTime) -> Result<Option<String>> {
    let Some(v) = engine.catalog.setting(PAUSED_UNTIL_SETTING).await? else {
        return Ok(None);
    };
    Ok(parse_timestamp(&v).ok().filter(|t| *t > now).map(|_| v))
}

impl RunDueReport {
    /// Whether a run failed.
    pub fn failed(&self) -> bool {
        self.runs.iter().any(|r| r.state == DueRunState::Failed)
    }
}

fn kind_of(what: ScheduleWhat) -> ScheduleKind {
    match what {
        ScheduleWhat::Backup => ScheduleKind::Backup,
        ScheduleWhat::Verify { .. } => ScheduleKind::Verify,
        ScheduleWhat::Drill => ScheduleKind::Drill,
    }
}

fn zone_of(name: Option<&str>) -> Result<Zone> {
    match name {
        Some(n) => Zone::named(n),
        None => Ok(Zone::local()),
    }
}

/// A stored schedule's spec, zone and times.
struct Parsed {
    spec: ScheduleSpec,
    zone: Zone,
    created_at: OffsetDateTime,
    last_slot: Option<OffsetDateTime>,
}

fn parse(s: &ScheduleRecord) -> Result<Parsed> {
    Ok(Parsed {
        spec: s.spec.parse()?,
        zone: Zone::named(&s.time_zone)?,
        created_at: parse_timestamp(&s.created_at)?,
        last_slot: s.last_slot.as_deref().map(parse_timestamp).transpose()?,
    })
}

pub(super) fn view(project: &str, s: &ScheduleRecord, now: OffsetDateTime) -> Result<ScheduleView> {
    let p = parse(s)?;
    let mut next_runs = Vec::new();
    if let Some(first) = schedule::next_run(&p.spec, &p.zone, p.created_at, p.last_slot, now) {
        next_runs.push(first);
        next_runs.extend(schedule::preview(&p.spec, &p.zone, first, 4));
    }
    Ok(ScheduleView {
        project: project.to_string(),
        kind: s.kind,
        name: s.name.clone(),
        backup_type: s.backup_type,
        selection: None,
        destinations: None,
        retention: None,
        retention_from: "project".to_string(),
        retention_rules: String::new(),
        spec: s.spec.clone(),
        words: p.spec.words(),
        when: ScheduleWhen::of(&p.spec),
        time_zone: s.time_zone.clone(),
        verify_newest: s.verify_newest,
        paused: s.paused,
        created_at: s.created_at.clone(),
        last_slot: s.last_slot.clone(),
        retry_at: s.retry_at.clone(),
        next_runs: next_runs.into_iter().map(format_timestamp).collect(),
        tenant: s.tenant.clone(),
        tenant_keep_last: s.tenant.as_ref().map(|_| {
            s.tenant_keep_last
                .unwrap_or(crate::ops::prune::TENANT_KEEP_LAST)
        }),
    })
}

/// The runs a spec would have if it were saved now (the editor's preview; nothing is saved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SchedulePreview {
    /// The spec in its one text form (`daily 02:30`).
    pub spec: String,
    /// The same in words, to follow "Backs up " ("daily at 02:30").
    pub words: String,
    /// The same, as a typed value (what the window reads).
    pub when: ScheduleWhen,
    pub time_zone: String,
    /// The next `n` runs (RFC 3339, UTC): like a schedule set at `now`, it waits for its first
    /// slot.
    pub next_runs: Vec<String>,
}

/// The next `n` runs of `spec` in `time_zone` (`None`: this computer's) for a schedule set at
/// `now` — the same runs [`set`] would report. Pure: reads and writes nothing.
pub fn preview(
    spec: &ScheduleSpec,
    time_zone: Option<&str>,
    now: OffsetDateTime,
    n: usize,
) -> Result<SchedulePreview> {
    let zone = zone_of(time_zone)?;
    let mut runs = Vec::with_capacity(n);
    if n > 0 {
        if let Some(first) = schedule::next_run(spec, &zone, now, None, now) {
            runs.push(first);
            runs.extend(schedule::preview(spec, &zone, first, n - 1));
        }
    }
    Ok(SchedulePreview {
        spec: spec.to_string(),
        words: spec.words(),
        when: ScheduleWhen::of(spec),
        time_zone: zone.name().to_string(),
        next_runs: runs.into_iter().map(format_timestamp).collect(),
    })
}

/// Set (replace) a schedule; returns it with its next 5 runs.
pub(crate) async fn set(engine: &Engine, req: SetSchedule) -> Result<ScheduleView> {
    let zone = zone_of(req.time_zone.as_deref())?;
    if let ScheduleWhat::Verify { newest: Some(0) } = req.what {
        return Err(Error::invalid("--newest must be at least 1")
            .with_hint("leave --newest out to verify every backup"));
    }
    let project = engine.catalog.project(&req.project).await?;
    let record = engine
        .catalog
        .set_schedule(&NewSchedule {
            project_id: project.id.clone(),
            kind: kind_of(req.what),
            name: DEFAULT_SCHEDULE.to_string(),
            spec: req.spec.to_string(),
            time_zone: zone.name().to_string(),
            verify_newest: match req.what {
                ScheduleWhat::Verify { newest } => newest,
                ScheduleWhat::Backup | ScheduleWhat::Drill => None,
            },
            plan: None,
        })
        .await?;
    super::schedule_plans::described(engine, &project, &record, engine.clock.now()).await
}

/// [`set`] a backup schedule that names a tenant (of the project, checked before anything is
/// saved) whose per-tenant archives follow each backup, or none; returns the schedule. The
/// tenant's own retention (`keep_last` archives of each tenant; `None`: as it was, else 4).
pub(crate) async fn set_with_tenant(
    engine: &Engine,
    req: SetSchedule,
    tenant: Option<&str>,
    keep_last: Option<u32>,
) -> Result<ScheduleView> {
    if keep_last == Some(0) {
        return Err(Error::invalid("a tenant keeps at least its last archive")
            .with_hint("--tenant-keep-last 1 or more (4 when left out)"));
    }
    if keep_last.is_some() && tenant.is_none() {
        return Err(Error::invalid("--tenant-keep-last needs --tenant NAME"));
    }
    let p = engine.catalog.project(&req.project).await?;
    if kind_of(req.what) != ScheduleKind::Backup {
        if tenant.is_some() {
            return Err(Error::invalid("only a backup schedule takes a tenant")
                .with_hint("leave out --verify/--drill, or --tenant"));
        }
        return set(engine, req).await;
    }
    if let Some(t) = tenant {
        engine.catalog.tenant(&p.id, t).await?;
    }
    let before = engine
        .catalog
        .schedule(&p.id, ScheduleKind::Backup, DEFAULT_SCHEDULE)
        .await?
        .and_then(|s| s.tenant_keep_last);
    set(engine, req).await?;
    engine
        .catalog
        .set_schedule_tenant(&p.id, DEFAULT_SCHEDULE, tenant, keep_last.or(before))
        .await?;
    let record = engine
        .catalog
        .schedule(&p.id, ScheduleKind::Backup, DEFAULT_SCHEDULE)
        .await?
        .ok_or_else(|| Error::internal("a schedule just saved is not there"))?;
    super::schedule_plans::described(engine, &p, &record, engine.clock.now()).await
}

/// Every schedule (of one project, by name, or of all).
pub(crate) async fn list(engine: &Engine, project: Option<&str>) -> Result<Vec<ScheduleView>> {
    let now = engine.clock.now();
    let projects = engine.catalog.projects().await?;
    let only = match project {
        Some(name) => Some(engine.catalog.project(name).await?.id),
        None => None,
    };
    let mut out = Vec::new();
    for s in engine.catalog.schedules(only.as_deref()).await? {
        let Some(p) = projects.iter().find(|p| p.id == s.project_id) else {
            continue;
        };
        out.push(super::schedule_plans::described(engine, p, &s, now).await?);
    }
    Ok(out)
}

/// Remove a project's (`default`) schedule of this kind; whether there was one.
pub(crate) async fn clear(engine: &Engine, project: &str, kind: ScheduleKind) -> Result<bool> {
    let p = engine.catalog.project(project).await?;
    engine
        .catalog
        .remove_schedule(&p.id, kind, DEFAULT_SCHEDULE)
        .await
}

/// Pause or resume a project's schedule of this kind and name (`default`: the one the
/// single-schedule commands edit).
pub(crate) async fn pause(
    engine: &Engine,
    project: &str,
    kind: ScheduleKind,
    name: &str,
    paused: bool,
) -> Result<()> {
    let p = engine.catalog.project(project).await?;
    engine
        .catalog
        .set_schedule_paused(&p.id, kind, name, paused)
        .await
}

/// Set (replace) a project's retention policy.
pub(crate) async fn set_retention(
    engine: &Engine,
    project: &str,
    policy: RetentionPolicy,
    time_zone: Option<&str>,
) -> Result<RetentionView> {
    policy.validate()?;
    let zone = zone_of(time_zone)?;
    let p = engine.catalog.project(project).await?;
    engine
        .catalog
        .set_retention(&p.id, &policy, zone.name())
        .await?;
    retention(engine, project).await
}

/// A project's retention policy.
pub(crate) async fn retention(engine: &Engine, project: &str) -> Result<RetentionView> {
    let p = engine.catalog.project(project).await?;
    let record = engine.catalog.retention(&p.id).await?;
    let (policy, zone) = prune::policy_of(record.as_ref())?;
    Ok(RetentionView {
        project: p.name,
        rules: policy.describe(),
        policy,
        time_zone: zone.name().to_string(),
        updated_at: record.map(|r| r.updated_at),
    })
}

/// Each project's status at `now` (one project by name, or all).
pub(crate) async fn status(
    engine: &Engine,
    project: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<ProjectStatus>> {
    let projects = match project {
        Some(name) => vec![engine.catalog.project(name).await?],
        None => engine.catalog.projects().await?,
    };
    // Three queries whatever the number of projects (this runs at every check of the due loop
    // and every `/metrics` scrape).
    let only = project.and_then(|_| projects.first()).map(|p| p.id.clone());
    let mut good = engine.catalog.newest_good_backups(only.as_deref()).await?;
    let all = engine.catalog.schedules(only.as_deref()).await?;
    let mut late =
        super::schedule_plans::overdue_schedules(engine, &all, &good, only.as_deref(), now).await?;
    // The project's schedule shown is its `default` backup schedule, else its first.
    let mut schedules: std::collections::HashMap<String, Vec<ScheduleRecord>> =
        std::collections::HashMap::new();
    for s in all.into_iter().filter(|s| s.kind == ScheduleKind::Backup) {
        schedules.entry(s.project_id.clone()).or_default().push(s);
    }
    let mut out = Vec::new();
    for p in projects {
        let last_good = good.remove(&p.id);
        let mine = schedules.remove(&p.id).unwrap_or_default();
        let sched = mine.first().cloned();
        // The soonest run of every schedule that is not paused (a pending retry counts).
        let mut next_run: Option<String> = None;
        for s in mine.iter().filter(|s| !s.paused) {
            let parsed = parse(s)?;
            let mut next = schedule::next_run(
                &parsed.spec,
                &parsed.zone,
                parsed.created_at,
                parsed.last_slot,
                now,
            )
            .map(format_timestamp);
            if let Some(r) = &s.retry_at {
                if next.as_ref().is_none_or(|n| r < n) {
                    next = Some(r.clone());
                }
            }
            if let Some(n) = next {
                if next_run.as_ref().is_none_or(|m| &n < m) {
                    next_run = Some(n);
                }
            }
        }
        let overdue_schedules = late.remove(&p.id).unwrap_or_default();
        out.push(ProjectStatus {
            name: p.name,
            last_good,
            next_run,
            overdue: !overdue_schedules.is_empty(),
            overdue_schedules,
            schedule: sched.as_ref().map(|s| s.spec.clone()),
            paused: !mine.is_empty() && mine.iter().all(|s| s.paused),
        });
    }
    Ok(out)
}

/// Run every schedule that is due at `now`, once (see the module's description).
pub(crate) async fn run_due(
    engine: &Engine,
    now: OffsetDateTime,
    progress: &Arc<dyn Progress>,
) -> Result<RunDueReport> {
    use futures::StreamExt;
    let mut runs = Vec::new();
    let mut items = Vec::new();
    if let Some(until) = paused_until(engine, now).await? {
        return Ok(RunDueReport {
            now: format_timestamp(now),
            paused_until: Some(until),
            runs,
        });
    }
    for s in engine.catalog.schedules(None).await? {
        if s.paused {
            continue;
        }
        let parsed = match parse(&s) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(schedule = %s.id, "a schedule cannot be read: {e}");
                continue;
            }
        };
        let due = schedule::due(
            &parsed.spec,
            &parsed.zone,
            parsed.created_at,
            parsed.last_slot,
            now,
        );
        let retry_at = match s.retry_at.as_deref().map(parse_timestamp).transpose() {
            Ok(r) => r.filter(|at| *at <= now),
            Err(_) => None,
        };
        // A new slot supersedes a pending retry of the last one; a run whose process was killed
        // (its job failed as interrupted) is retried at once.
        let (slot, trigger, attempt, interrupted) = match (due, retry_at, s.last_slot.as_deref()) {
            (Some(d), _, _) => (format_timestamp(d.slot), d.trigger, 0, None),
            (None, Some(_), Some(last)) => {
                (last.to_string(), JobTrigger::Retry, s.retry_attempt, None)
            }
            (None, None, Some(last)) if (s.retry_attempt as usize) < RETRY_BACKOFF.len() => {
                match interrupted_job(engine, &s).await? {
                    Some(old) => (
                        last.to_string(),
                        JobTrigger::Retry,
                        s.retry_attempt + 1,
                        Some(old),
                    ),
                    None => continue,
                }
            }
            _ => continue,
        };
        items.push(DueItem {
            s,
            slot,
            trigger,
            attempt,
            interrupted,
        });
    }
    // Due work runs one job at a time, or up to the `schedule_concurrency` setting (2–4); never
    // two on one project (the project lock: the loser gives its slot back).
    let parallel = concurrency(engine).await;
    let results: Vec<Result<DueRun>> = futures::stream::iter(items)
        .map(|item| run_one(engine, item, now, progress))
        .buffered(parallel)
        .collect()
        .await;
    for r in results {
        runs.push(r?);
    }
    Ok(RunDueReport {
        now: format_timestamp(now),
        paused_until: None,
        runs,
    })
}

/// A schedule's run that is due, before it is claimed.
struct DueItem {
    s: ScheduleRecord,
    slot: String,
    trigger: JobTrigger,
    attempt: u32,
    interrupted: Option<String>,
}

/// The setting: how many due runs may run at once (1–4; default 1).
pub const CONCURRENCY_SETTING: &str = "schedule_concurrency";

/// How many due runs may run at once: 1 to 4.
pub(crate) fn check_concurrency(n: u32) -> Result<()> {
    if !(1..=4).contains(&n) {
        return Err(Error::invalid(format!("{n} runs at once is not allowed"))
            .with_hint("choose 1 (one at a time, the default) to 4"));
    }
    Ok(())
}

/// Set how many due runs may run at once (1–4).
pub(crate) async fn set_concurrency(engine: &Engine, n: u32) -> Result<()> {
    check_concurrency(n)?;
    engine
        .catalog
        .set_setting(CONCURRENCY_SETTING, &n.to_string())
        .await
}

pub(crate) async fn concurrency(engine: &Engine) -> usize {
    engine
        .catalog
        .setting(CONCURRENCY_SETTING)
        .await
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, 4)
}

/// Claim and run one due run.
async fn run_one(
    engine: &Engine,
    item: DueItem,
    now: OffsetDateTime,
    progress: &Arc<dyn Progress>,
) -> Result<DueRun> {
    let DueItem {
        s,
        slot,
        trigger,
        attempt,
        interrupted,
    } = item;
    let job_id = new_job_id();
    let project = engine.catalog.project_by_id(&s.project_id).await?;
    let mut run = DueRun {
        project: project.name.clone(),
        kind: s.kind,
        schedule: s.name.clone(),
        slot: slot.clone(),
        trigger,
        attempt,
        state: DueRunState::Skipped,
        skipped: None,
        job_ids: Vec::new(),
        backup_id: None,
        corrupt: Vec::new(),
        error: None,
        retry_at: None,
        escalated: false,
        prune_job_id: None,
        pruned: Vec::new(),
        pruned_backups: Vec::new(),
    };
    // Claim first (one conditional UPDATE): only the runner that wins the slot (or the
    // retry) touches the project. A project busy with another job gives it back below, so it
    // runs at the next check instead of failing.
    let claimed = match (&interrupted, trigger, s.retry_at.as_deref()) {
        (Some(old), _, _) => {
            engine
                .catalog
                .claim_interrupted_retry(&s.id, old, &job_id)
                .await?
        }
        (None, JobTrigger::Retry, Some(at)) => {
            engine.catalog.claim_schedule_retry(&s.id, at).await?
        }
        _ => engine.catalog.claim_schedule_slot(&s.id, &slot).await?,
    };
    if !claimed {
        run.skipped = Some("another runner has claimed this run".to_string());
        return Ok(run);
    }
    let result = match s.kind {
        ScheduleKind::Backup => {
            if trigger == JobTrigger::CatchUp {
                // After a wake-up: spread the projects, and give the network a moment.
                let jitter = fastrand::u64(0..=CATCH_UP_JITTER.as_millis() as u64);
                tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
                wait_for_source(engine, &project.name).await;
            }
            // Remembered, so that a run whose process is killed is retried.
            if interrupted.is_none() {
                engine
                    .catalog
                    .set_schedule_job(&s.id, &slot, &job_id)
                    .await?;
            }
            let how = Started { trigger, progress };
            match run_backup(engine, &project, &s, &job_id, how, &mut run).await {
                Ok(()) => match s.tenant.as_deref() {
                    Some(t) => run_tenants(engine, &project, t, how, &mut run).await,
                    None => Ok(()),
                },
                Err(e) => Err(e),
            }
        }
        ScheduleKind::Verify => {
            let how = Started { trigger, progress };
            run_verify(engine, &project, s.verify_newest, how, &mut run).await
        }
        ScheduleKind::Drill => {
            let how = Started { trigger, progress };
            crate::ops::schedule_drill::run_drill(engine, &project, &job_id, how, &mut run).await
        }
    };
    match result {
        Ok(()) => run.state = DueRunState::Succeeded,
        Err(e) if e.kind() == ErrorKind::Busy => {
            // Another job took the project between the claim and the start: give it back.
            match (&interrupted, trigger, s.retry_at.as_deref()) {
                (Some(old), _, _) => engine.catalog.set_schedule_job(&s.id, &slot, old).await?,
                (None, JobTrigger::Retry, Some(at)) => {
                    engine
                        .catalog
                        .schedule_retry(&s.id, &slot, attempt, at)
                        .await?
                }
                _ => {
                    engine
                        .catalog
                        .release_schedule_slot(&s.id, &slot, s.last_slot.as_deref())
                        .await?
                }
            }
            run.skipped = Some(e.message().to_string());
        }
        Err(e) => {
            run.state = DueRunState::Failed;
            // Temporary failures (connection, rate limit) are tried again later; the rest,
            // and the last retry, are reported for a person to act on.
            match RETRY_BACKOFF
                .get(attempt as usize)
                .filter(|_| e.is_temporary())
            {
                Some(wait) => {
                    let at = format_timestamp(now + *wait);
                    engine
                        .catalog
                        .schedule_retry(&s.id, &slot, attempt + 1, &at)
                        .await?;
                    run.retry_at = Some(at);
                }
                None => run.escalated = true,
            }
            run.error = Some(ErrorPayload::from(&e));
        }
    }
    Ok(run)
}

/// The last run's backup job, when its process was killed (the job is interrupted).
async fn interrupted_job(engine: &Engine, s: &ScheduleRecord) -> Result<Option<String>> {
    let Some(id) = s.last_job_id.as_deref() else {
        return Ok(None);
    };
    match engine.catalog.job(id).await {
        Ok(job) if job.state.is_failure() && job.error_code.as_deref() == Some("interrupted") => {
            Ok(Some(job.id))
        }
        Ok(_) => Ok(None),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn preview_lists_the_next_runs_of_an_unsaved_spec_in_its_zone() {
        let now = datetime!(2026-03-27 12:00 UTC);
        let spec = ScheduleSpec::daily("02:30").unwrap();
        let p = preview(&spec, Some("Europe/Berlin"), now, 5).unwrap();
        assert_eq!(p.spec, "daily 02:30");
        assert_eq!(p.time_zone, "Europe/Berlin");
        // 02:30 does not exist on 2026-03-29 in Berlin: that day runs at 03:00 (CEST), once.
        assert_eq!(
            p.next_runs,
            [
                "2026-03-28T01:30:00.000Z",
                "2026-03-29T01:00:00.000Z",
                "2026-03-30T00:30:00.000Z",
                "2026-03-31T00:30:00.000Z",
                "2026-04-01T00:30:00.000Z",
            ]
        );
        let weekly = ScheduleSpec::weekly("mon,thu", "02:30").unwrap();
        let w = preview(&weekly, Some("UTC"), now, 3).unwrap();
        assert_eq!(
            w.next_runs,
            [
                "2026-03-30T02:30:00.000Z",
                "2026-04-02T02:30:00.000Z",
                "2026-04-06T02:30:00.000Z",
            ]
        );
        assert!(preview(&spec, Some("Mars/Olympus"), now, 5).is_err());
        assert!(preview(&spec, None, now, 0).unwrap().next_runs.is_empty());
    }
}
