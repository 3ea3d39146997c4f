//! When retention is expected to remove each of a project's backups (the backups list's "goes
//! at next prune", "until ~date", "kept"), assuming every backup schedule runs and succeeds on
//! time. It decides in the same scopes a prune does ([`scope_of`], [`scoped_backups`]): the
//! project's policy over every backup no schedule with its own retention made, fed by the runs
//! of the schedules without one; and each schedule's own policy over its own backups, fed by its
//! own runs. Each scope's decision now is [`plan`], the prune's.

use super::{kept_by_marks, plan, scope_of, scoped_backups, Scope};
use crate::catalog::{
    format_timestamp, parse_timestamp, BackupMarks, BackupRecord, BackupStatus, ScheduleKind,
    ScheduleRecord,
};
use crate::engine::Engine;
use crate::error::Result;
use crate::schedule::retention::{decide, Candidate, KeepRule};
use crate::schedule::Zone;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// When a backup is expected to be removed by retention.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemovalForecast {
    pub backup_id: String,
    /// The scheduled run after which retention removes it (RFC 3339 UTC); `None` with
    /// `next_prune` false: kept for as long as the forecast looks ahead.
    pub removed_at: Option<String>,
    /// The policy removes it now: at the next prune (after the next scheduled backup, or on
    /// demand).
    pub next_prune: bool,
    /// Why the policy keeps it now, each rule once, strongest first (`newest`, `daily`,
    /// `restore proven`…; `no_policy` without rules); empty when the next prune removes it.
    pub kept_by: Vec<KeepRule>,
    /// The same in words, as the backup list shows it: `newest · daily · weekly`
    /// ([`KeepRule::summary`]); empty when the next prune removes it.
    pub kept_because: String,
    /// The policy's reasons in full (`last 1`, `daily 2026-11-20`, `newest verified`…), as
    /// `offsite prune --dry-run` lists them.
    pub reasons: Vec<String>,
    /// Its copies locked at destinations (S3 Object Lock): whatever this forecast says of the
    /// archive here, each stays at its destination until its date.
    pub locked: Vec<crate::ops::copy_out::CopyLock>,
}

impl RemovalForecast {
    fn kept(backup_id: &str, rules: &[KeepRule], reasons: Vec<String>) -> Self {
        let mut kept_by = rules.to_vec();
        kept_by.sort();
        kept_by.dedup();
        RemovalForecast {
            backup_id: backup_id.to_string(),
            removed_at: None,
            next_prune: false,
            kept_because: KeepRule::summary(&kept_by),
            kept_by,
            reasons,
            locked: Vec::new(),
        }
    }
}

/// How many future runs of the backup schedules the forecast looks ahead (per scope: the runs of
/// the schedules feeding it, merged in time order).
pub const FORECAST_RUNS: usize = 400;

/// Why a backup whose local archive is gone stays, in the forecast's words.
pub const NOT_LOCAL_KEPT: &str =
    "no archive on this computer: each destination's own retention decides";

/// What every prune keeps whatever the policy says: the newest passed drill's backup, pinned and
/// suspicious backups (and the good one before a suspicious one), the bases of point-in-time
/// windows.
struct Protected {
    proven: Option<String>,
    marks: HashMap<String, BackupMarks>,
    pitr_bases: Vec<String>,
}

impl Protected {
    fn keeps(&self, id: &str) -> bool {
        self.proven.as_deref() == Some(id)
            || kept_by_marks(id, &self.marks)
            || self.pitr_bases.iter().any(|b| b == id)
    }
}

/// For each backup of `project`: when retention is expected to remove it (see the module's
/// description). Without rules nothing is removed; a scope no schedule feeds removes only what
/// its policy removes now (at the next prune).
pub(crate) async fn forecast(engine: &Engine, project: &str) -> Result<Vec<RemovalForecast>> {
    let project = engine.catalog.project(project).await?;
    let all = engine.catalog.backups(&project.id).await?;
    let schedules: Vec<ScheduleRecord> = engine
        .catalog
        .schedules(Some(&project.id))
        .await?
        .into_iter()
        .filter(|s| s.kind == ScheduleKind::Backup)
        .collect();
    let protected = Protected {
        proven: engine
            .catalog
            .newest_passed_drill_backup(&project.id)
            .await?,
        marks: engine.catalog.backup_marks(&project.id).await?,
        pitr_bases: engine.catalog.pitr_base_ids(&project.id).await?,
    };
    let now = engine.clock.now();
    // The project's policy, then each schedule's own: the scopes a prune decides in.
    let mut scopes = vec![None];
    for s in &schedules {
        if s.plan()?.retention.is_some() {
            scopes.push(Some(s.name.clone()));
        }
    }
    let mut out: HashMap<String, RemovalForecast> = HashMap::new();
    for name in scopes {
        let scope = scope_of(engine, &project, name.as_deref()).await?;
        let backups = scoped_backups(engine, &project, &scope).await?;
        let runs = future_runs(&schedules, &scope, now)?;
        out.extend(forecast_scope(&scope, &backups, &runs, &protected, now)?);
    }
    let mut locks = crate::ops::copy_out::copy_locks(engine, &project).await?;
    // The per-tenant archives here, by the tenants' own retention (the last N of each tenant).
    let local = engine.catalog.backups_with_local_copy(&project.id).await?;
    let archives: Vec<&BackupRecord> = all
        .iter()
        .filter(|b| local.contains(&b.id) && super::super::resolve::is_tenant_archive(b))
        .collect();
    let counts = super::tenants::keep_counts(engine, &project).await?;
    for d in super::tenants::decide(&archives, &counts, &protected.marks)? {
        let f = if d.keep {
            RemovalForecast::kept(&d.id, &d.rules, d.reasons)
        } else {
            RemovalForecast {
                next_prune: true,
                ..RemovalForecast::kept(&d.id, &[], Vec::new())
            }
        };
        out.insert(d.id, f);
    }
    // What no scope holds: a backup with no archive here any more.
    Ok(all
        .iter()
        .map(|b| {
            let mut f = out.remove(&b.id).unwrap_or_else(|| {
                RemovalForecast::kept(&b.id, &[], vec![NOT_LOCAL_KEPT.to_string()])
            });
            f.locked = locks.remove(&b.id).unwrap_or_default();
            f
        })
        .collect())
}

/// The future runs that add a backup to `scope` (each followed by its prune): a schedule's own
/// scope, its runs; the project's, those of every schedule without a retention of its own. Paused
/// schedules do not run.
fn future_runs(
    schedules: &[ScheduleRecord],
    scope: &Scope,
    now: OffsetDateTime,
) -> Result<Vec<OffsetDateTime>> {
    let mut runs = Vec::new();
    for s in schedules.iter().filter(|s| !s.paused) {
        let feeds = match &scope.schedule {
            Some(mine) => &s.name == mine,
            None => !scope.own.contains(&s.name),
        };
        if !feeds {
            continue;
        }
        let spec: crate::schedule::ScheduleSpec = s.spec.parse()?;
        let zone = Zone::named(&s.time_zone)?;
        let first = crate::schedule::next_run(
            &spec,
            &zone,
            parse_timestamp(&s.created_at)?,
            s.last_slot.as_deref().map(parse_timestamp).transpose()?,
            now,
        );
        if let Some(first) = first {
            runs.push(first);
            runs.extend(crate::schedule::preview(
                &spec,
                &zone,
                first,
                FORECAST_RUNS - 1,
            ));
        }
    }
    runs.sort();
    runs.dedup();
    runs.truncate(FORECAST_RUNS);
    Ok(runs)
}

/// One scope's forecast: the prune's decision now, then its future runs played through its
/// policy (each run a new verified backup, then retention).
fn forecast_scope(
    scope: &Scope,
    backups: &[BackupRecord],
    runs: &[OffsetDateTime],
    protected: &Protected,
    now: OffsetDateTime,
) -> Result<HashMap<String, RemovalForecast>> {
    let (policy, zone) = (&scope.policy, &scope.zone);
    if policy.is_empty() {
        let reasons = vec!["no retention rules".to_string()];
        return Ok(backups
            .iter()
            .map(|b| {
                let f = RemovalForecast::kept(&b.id, &[KeepRule::NoPolicy], reasons.clone());
                (b.id.clone(), f)
            })
            .collect());
    }
    let mut out: HashMap<String, RemovalForecast> = HashMap::new();
    let mut why: HashMap<String, (Vec<KeepRule>, Vec<String>)> = HashMap::new();
    for d in plan(
        policy,
        zone,
        now,
        backups,
        protected.proven.as_deref(),
        &protected.marks,
        &protected.pitr_bases,
    )? {
        if d.keep {
            why.insert(d.id, (d.rules, d.reasons));
        } else {
            out.insert(
                d.id.clone(),
                RemovalForecast {
                    backup_id: d.id,
                    removed_at: None,
                    next_prune: true,
                    kept_by: Vec::new(),
                    kept_because: String::new(),
                    reasons: Vec::new(),
                    locked: Vec::new(),
                },
            );
        }
    }
    let kept_now = |id: &str| match why.get(id) {
        Some((rules, reasons)) => RemovalForecast::kept(id, rules, reasons.clone()),
        None => RemovalForecast::kept(id, &[], Vec::new()),
    };
    let mut candidates = backups
        .iter()
        .filter(|b| !out.contains_key(&b.id))
        .map(|b| {
            Ok(Candidate {
                id: b.id.clone(),
                created_at: parse_timestamp(&b.created_at)?,
                status: b.status,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let real: HashSet<&str> = backups.iter().map(|b| b.id.as_str()).collect();
    for (i, at) in runs.iter().enumerate() {
        if candidates.iter().all(|c| !real.contains(c.id.as_str())) {
            break;
        }
        // A backup is read back and verified as it is made (ops::backup).
        candidates.push(Candidate {
            id: format!("future-{i}"),
            created_at: *at,
            status: BackupStatus::Verified,
        });
        let gone: HashSet<String> = decide(policy, zone, *at, &candidates)
            .into_iter()
            .filter(|d| !d.keep && !protected.keeps(&d.id))
            .map(|d| d.id)
            .collect();
        for id in gone.iter().filter(|id| real.contains(id.as_str())) {
            out.insert(
                id.clone(),
                RemovalForecast {
                    removed_at: Some(format_timestamp(*at)),
                    ..kept_now(id)
                },
            );
        }
        candidates.retain(|c| !gone.contains(&c.id));
    }
    for b in backups {
        out.entry(b.id.clone()).or_insert_with(|| kept_now(&b.id));
    }
    Ok(out)
}
