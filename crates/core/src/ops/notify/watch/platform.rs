//! The platform watcher (issue 27): every [`PLATFORM_EVERY`], for each Supabase project with a
//! Management API token, the platform's own backups (`GET /v1/projects/{ref}/database/backups`,
//! [`crate::sources::supabase_backups`]).
//!
//! The rule ([`missing`]): a project with point-in-time recovery (`pitr_enabled`) is fine — with
//! PITR on, Supabase takes no daily backups (its WAL archive replaces them), so their absence
//! is not a fault. Otherwise the newest backup with status `COMPLETED` must be at most
//! [`MAX_AGE`] (26 hours: a daily backup plus two hours of slack) old. A project with no platform
//! backups at all and no WAL-G (the free plan) is "missing" too, and its event says so once
//! (the condition fires once per transition).
//!
//! `platform_backup_missing` carries the project ref, the newest completed backup's time (or
//! null) and the `pitr_enabled` / `walg_enabled` flags; never the token. A fresh backup resets
//! the condition silently. API failures (401: the token; 429 and 5xx: temporary, tried again at
//! the next cadence; an answer that cannot be read) go to the log, never to an event.

use crate::catalog::{format_timestamp, Project};
use crate::engine::Engine;
use crate::error::Result;
use crate::notify::events::new_event;
use crate::notify::{Event, EventKind, EventProject};
use crate::sources::supabase_api::{ManagementApi, ManagementApiOptions};
use crate::sources::supabase_backups::{self, PlatformBackups};
use std::time::Duration;
use time::OffsetDateTime;

/// How often the platform watcher asks the Management API.
pub const PLATFORM_EVERY: Duration = Duration::from_secs(6 * 3600);
/// The name under which the platform watcher's last run is kept.
pub const PLATFORM_WATCH: &str = "platform";
/// How old the newest completed platform backup may be.
pub const MAX_AGE: time::Duration = time::Duration::hours(26);
const KIND: &str = "platform_backup_missing";

/// The verdict on one project's platform backups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub missing: bool,
    /// The newest completed backup (RFC 3339), if any.
    pub newest: Option<String>,
    /// The project has no platform backups at all (free plan: no PITR, no WAL-G, none listed).
    pub none_at_all: bool,
}

/// Apply the rule (see the module's description) at `now`.
pub fn missing(b: &PlatformBackups, now: OffsetDateTime) -> Result<Verdict> {
    let newest = b.newest_completed()?;
    let none_at_all = !b.pitr_enabled && !b.walg_enabled && b.backups.is_empty();
    let missing = !b.pitr_enabled && newest.is_none_or(|t| now - t > MAX_AGE);
    Ok(Verdict {
        missing,
        newest: newest.map(format_timestamp),
        none_at_all,
    })
}

/// Ask for every Supabase project's platform backups. Returns how many events were queued.
pub(crate) async fn watch(engine: &Engine) -> Result<u32> {
    let mut made = 0;
    for project in engine.catalog.projects().await? {
        match check(engine, &project).await {
            Ok(n) => made += n,
            Err(e) => tracing::warn!(
                project = %project.name,
                code = e.code(),
                hint = e.hint().unwrap_or(""),
                "the platform's backups could not be checked (tried again in {} h): {e}",
                PLATFORM_EVERY.as_secs() / 3600
            ),
        }
    }
    Ok(made)
}

async fn check(engine: &Engine, project: &Project) -> Result<u32> {
    let Some((supabase, token)) = crate::ops::components::supabase_of(engine, project).await?
    else {
        return Ok(0);
    };
    let mut opts = ManagementApiOptions {
        clock: engine.clock.clone(),
        // A watcher runs inside the due loop: a slow API must not hold the schedules.
        timeout: Duration::from_secs(20),
        ..Default::default()
    };
    if let Some(url) = &supabase.api_url {
        opts.base_url = url.clone();
    }
    // Tried once: a 429 or 5xx waits for the next cadence rather than hammering the API.
    let api = ManagementApi::with_options(token, opts)?;
    let backups = supabase_backups::fetch(&api, &supabase.project_ref).await?;
    let verdict = missing(&backups, engine.clock.now())?;
    let who = EventProject {
        id: project.id.clone(),
        name: project.name.clone(),
    };
    let now = format_timestamp(engine.clock.now());
    let pref = supabase.project_ref.clone();
    let detail = verdict.newest.clone();
    let ev = |on: bool| on.then(|| missing_event(who, &pref, &backups, &verdict, &now));
    let fired = engine
        .catalog
        .record_condition(
            &project.id,
            KIND,
            &supabase.project_ref,
            verdict.missing,
            detail.as_deref(),
            ev,
        )
        .await?;
    Ok(u32::from(fired))
}

/// `platform_backup_missing` (see the module's description).
pub fn missing_event(
    project: EventProject,
    project_ref: &str,
    b: &PlatformBackups,
    v: &Verdict,
    now: &str,
) -> Event {
    let summary = match &v.newest {
        Some(t) => format!(
            "Supabase's own daily backup of {} is missing: the newest is from {t}",
            project.name
        ),
        None => format!(
            "Supabase has no completed backup of {} on its side",
            project.name
        ),
    };
    let mut e = new_event(
        EventKind::PlatformBackupMissing,
        now,
        Some(project),
        summary,
    );
    let mut details = serde_json::json!({
        "project_ref": project_ref,
        "newest_completed_backup": v.newest,
        "pitr_enabled": b.pitr_enabled,
        "walg_enabled": b.walg_enabled,
    });
    if v.none_at_all {
        details["note"] = serde_json::json!(
            "this project has no platform backups at all (the free plan has none): Offsite's \
             backups are its only ones"
        );
    }
    e.details = details;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::render;
    use crate::sources::supabase_backups::PlatformBackup;
    use time::macros::datetime;

    fn list(pitr: bool, walg: bool, at: &[(&str, &str)]) -> PlatformBackups {
        PlatformBackups {
            region: None,
            walg_enabled: walg,
            pitr_enabled: pitr,
            backups: at
                .iter()
                .map(|(s, t)| PlatformBackup {
                    status: s.to_string(),
                    inserted_at: t.to_string(),
                    is_physical_backup: true,
                })
                .collect(),
        }
    }

    #[test]
    fn the_rule_daily_within_26_hours_pitr_fine_free_plan_said() {
        let now = datetime!(2030-01-02 12:00 UTC);
        let fresh = list(false, true, &[("COMPLETED", "2030-01-02T02:00:00Z")]);
        assert!(!missing(&fresh, now).unwrap().missing);
        let at_edge = list(false, true, &[("COMPLETED", "2030-01-01T10:00:00Z")]);
        assert!(!missing(&at_edge, now).unwrap().missing, "26 h exactly");
        let old = list(
            false,
            true,
            &[
                ("COMPLETED", "2030-01-01T06:00:00Z"),
                ("FAILED", "2030-01-02T06:00:00Z"),
                ("PENDING", "2030-01-02T11:00:00Z"),
            ],
        );
        let v = missing(&old, now).unwrap();
        assert!(v.missing && !v.none_at_all);
        assert_eq!(v.newest.as_deref(), Some("2030-01-01T06:00:00.000Z"));
        let pitr = list(true, true, &[]);
        assert!(
            !missing(&pitr, now).unwrap().missing,
            "PITR replaces dailies"
        );
        let free = list(false, false, &[]);
        let v = missing(&free, now).unwrap();
        assert!(v.missing && v.none_at_all && v.newest.is_none());
        let who = EventProject {
            id: "p".into(),
            name: "shop".into(),
        };
        let e = missing_event(
            who,
            "abcdefghijklmnopqrst",
            &free,
            &v,
            "2030-01-02T12:00:00.000Z",
        );
        assert_eq!(
            e.details["newest_completed_backup"],
            serde_json::Value::Null
        );
        assert_eq!(e.details["pitr_enabled"], false);
        let r = render(&e);
        assert!(r.text.contains("free plan"), "{}", r.text);
        assert!(
            r.text.contains("project_ref: abcdefghijklmnopqrst"),
            "{}",
            r.text
        );
    }
}
