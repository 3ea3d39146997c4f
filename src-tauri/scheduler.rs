//! Schedules in the desktop app: a background loop that asks the engine to run what is due
//! (`Engine::run_due`: due times come from the wall clock and the catalog, never from timers,
//! so a laptop that slept catches up with exactly one run per schedule), announces each
//! scheduled run in a notification, and says when a project is overdue (once a day per project).
//!
//! The loop is the engine's (`Engine::run_schedules`, shared with `offsite daemon` and the agent);
//! this file is what the desktop does with each check. It checks at least every 60 s, and sooner
//! when a run is due sooner. tokio's timers use
//! a monotonic clock that stops while the machine sleeps: a resume (logind's
//! `PrepareForSleep(false)` on the system bus, see `resume.rs`) wakes the loop at once, and where
//! it cannot be heard the next check comes within a minute of waking; either way what is due is
//! computed from the wall clock.
//!
//! What a notification says is pure and tested here; sending goes through `notify::send`.

use crate::notify::{self, human_duration, human_size, NotificationText};
use crate::Shell;
use offsite_core::catalog::{format_timestamp, parse_timestamp, JobRecord, ScheduleKind};
use offsite_core::ops::{
    DueListener, DueRun, DueRunState, LoopOptions, ProjectStatus, RunDueReport,
};
use offsite_core::{Engine, Result};
use std::time::Duration;
use tauri::{AppHandle, Manager, Runtime};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// Catalog setting: notifications of scheduled runs, `always` (default), `failures` or `never`.
pub const SCHEDULE_NOTIFICATIONS_SETTING: &str = "desktop.schedule_notifications";
/// Catalog setting per project (`…<project>`): when it was last said to be overdue.
pub const OVERDUE_NOTIFIED_PREFIX: &str = "desktop.overdue_notified.";

/// When scheduled runs are announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleNotify {
    Always,
    Failures,
    Never,
}

/// The setting's stored value → the mode (absent or unknown: always).
pub fn schedule_notify(value: Option<&str>) -> ScheduleNotify {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("failures" | "failures-only" | "failures_only") => ScheduleNotify::Failures,
        Some("never" | "off" | "no" | "false" | "0") => ScheduleNotify::Never,
        _ => ScheduleNotify::Always,
    }
}

/// Whether `run` is announced under `mode`. Skipped runs (claimed by another runner, project
/// busy: the slot runs later) never are.
pub fn announce(mode: ScheduleNotify, run: &DueRun) -> bool {
    match (mode, run.state) {
        (_, DueRunState::Skipped) => false,
        (ScheduleNotify::Never, _) => false,
        (ScheduleNotify::Failures, DueRunState::Succeeded) => !run.corrupt.is_empty(),
        _ => true,
    }
}

/// What the catalog adds to a run for its notification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFacts {
    /// The new backup's size, and the size of the project's backup before it.
    pub size: Option<u64>,
    pub previous_size: Option<u64>,
    pub duration: Option<Duration>,
}

/// `+1.2 MB` / `−300.0 KB` / `same size`.
pub fn size_change(size: u64, previous: u64) -> String {
    match size.cmp(&previous) {
        std::cmp::Ordering::Equal => "same size as the last backup".into(),
        std::cmp::Ordering::Greater => {
            format!("+{} since the last backup", human_size(size - previous))
        }
        std::cmp::Ordering::Less => {
            format!("−{} since the last backup", human_size(previous - size))
        }
    }
}

/// `2026-11-22T10:05:00.000Z` → `10:05` in the local zone (`offset`), with the date when it is
/// not `today`.
pub fn local_time(timestamp: &str, offset: time::UtcOffset, today: time::Date) -> String {
    let Ok(t) = parse_timestamp(timestamp) else {
        return timestamp.to_string();
    };
    let t = t.to_offset(offset);
    let hm = format!("{:02}:{:02}", t.hour(), t.minute());
    if t.date() == today {
        hm
    } else {
        format!("{} {hm}", t.date())
    }
}

/// What a scheduled run's notification says.
pub fn run_text(
    run: &DueRun,
    facts: &RunFacts,
    offset: time::UtcOffset,
    today: time::Date,
) -> NotificationText {
    let what = match run.kind {
        ScheduleKind::Verify => "verification",
        ScheduleKind::Drill => "restore drill",
        ScheduleKind::Backup => "backup",
    };
    let project = run.project.clone();
    let (title, body) = match run.state {
        DueRunState::Succeeded if run.kind == ScheduleKind::Verify && !run.corrupt.is_empty() => (
            format!("{project}: a backup is damaged"),
            format!(
                "The scheduled verification found {}. Open the project to see which, and back up again.",
                offsite_core::words::count(run.corrupt.len(), "damaged backup")
            ),
        ),
        DueRunState::Succeeded => {
            let mut parts = Vec::new();
            if let Some(size) = facts.size {
                parts.push(human_size(size));
            }
            if let Some(d) = facts.duration {
                parts.push(format!("in {}", human_duration(d)));
            }
            if let (Some(size), Some(prev)) = (facts.size, facts.previous_size) {
                parts.push(size_change(size, prev));
            }
            if !run.pruned.is_empty() {
                parts.push(format!(
                    "{} removed by retention",
                    offsite_core::words::count(run.pruned.len(), "old backup")
                ));
            }
            let title = match run.kind {
                ScheduleKind::Verify => format!("{project}: scheduled verification passed"),
                ScheduleKind::Drill => {
                    format!("{project}: scheduled restore drill passed — proven restorable")
                }
                ScheduleKind::Backup => format!("{project}: scheduled backup done"),
            };
            (title, if parts.is_empty() { "Done.".into() } else { parts.join(" · ") })
        }
        DueRunState::Failed | DueRunState::Skipped => {
            let mut body = match &run.error {
                Some(e) => match &e.hint {
                    Some(h) => format!("{} — {h}", e.message),
                    None => e.message.clone(),
                },
                None => "It did not finish.".into(),
            };
            match (&run.retry_at, run.escalated) {
                (Some(at), false) => {
                    body.push_str(&format!(" Next try at {}.", local_time(at, offset, today)))
                }
                _ => body.push_str(" No more automatic tries: it needs you."),
            }
            (format!("{project}: scheduled {what} failed"), body)
        }
    };
    NotificationText {
        title,
        body,
        project: Some(project),
    }
}

/// What an overdue project's notification says.
pub fn overdue_text(
    status: &ProjectStatus,
    offset: time::UtcOffset,
    today: time::Date,
) -> NotificationText {
    let since = match &status.last_good {
        Some(at) => format!(
            "The last good backup is from {}.",
            local_time(at, offset, today)
        ),
        None => "It has never been backed up.".into(),
    };
    NotificationText {
        title: format!("{}: no recent backup", status.name),
        body: format!(
            "{since} {} Open it and choose Back up now.",
            status
                .schedule
                .as_deref()
                .map(|s| format!("Its schedule is {s}."))
                .unwrap_or_default()
        ),
        project: Some(status.name.clone()),
    }
}

/// An overdue project is said to be so at most once a day.
pub fn overdue_due(last_notified: Option<&str>, now: OffsetDateTime) -> bool {
    match last_notified.and_then(|v| parse_timestamp(v).ok()) {
        Some(t) => now - t >= time::Duration::days(1),
        None => true,
    }
}

/// Start the loop (the real app only): the engine's one schedule loop, with notifications.
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    // A resume (logind's PrepareForSleep(false)) wakes the loop at once. The scheduler's jobs
    // show in the window and the tray as the window's own do.
    let options = LoopOptions {
        progress: std::sync::Arc::new(crate::jobs::ScheduledProgress::new(app.clone())),
        ..LoopOptions::default()
    };
    {
        let wake = options.wake.clone();
        tauri::async_runtime::spawn(async move {
            let waker = wake.clone();
            if let Err(e) = crate::resume::watch(None, move || waker.notify_one()).await {
                eprintln!(
                    "note: resumes from sleep are not heard ({e}); the schedules are checked within a minute after one"
                );
            }
        });
    }
    tauri::async_runtime::spawn(async move {
        let shell = app.state::<Shell>();
        let Ok(engine) = shell.engine() else {
            return; // no catalog: nothing is scheduled
        };
        // Leftovers of a killed run go first (never a running job's files).
        if let Err(e) = engine.sweep_temp_files().await {
            eprintln!("warning: sweeping temporary files: {e}");
        }
        let notifier = Notifier { app: app.clone() };
        // Point-in-time capture of the projects that enabled it, beside the schedules (as
        // `offsite daemon` does).
        let cancel = CancellationToken::new();
        let capture = engine.pitr_run_all(std::time::Duration::from_secs(5), &cancel);
        let schedules = engine.run_schedules(&notifier, options, cancel.clone());
        tokio::join!(capture, schedules);
    });
}

/// The desktop's announcements: a notification per scheduled run (as the setting says), the
/// tray's state, and overdue projects (once a day each).
struct Notifier<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> DueListener for Notifier<R> {
    async fn checked(&self, engine: &Engine, report: &Result<RunDueReport>) {
        let report = match report {
            Ok(r) => r,
            Err(e) => return eprintln!("warning: checking the schedules failed: {e}"),
        };
        if report.runs.is_empty() {
            return;
        }
        crate::tray::refresh(&self.app);
        let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
        let mode = schedule_notify(
            engine
                .setting(SCHEDULE_NOTIFICATIONS_SETTING)
                .await
                .ok()
                .flatten()
                .as_deref(),
        );
        for run in report.runs.iter().filter(|r| announce(mode, r)) {
            let facts = facts_of(engine, run).await;
            let today = OffsetDateTime::now_utc().to_offset(offset).date();
            notify::send(&self.app, &run_text(run, &facts, offset, today));
        }
    }

    async fn statuses(&self, engine: &Engine, statuses: &[ProjectStatus]) {
        let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
        let now = OffsetDateTime::now_utc();
        for s in statuses.iter().filter(|s| s.overdue) {
            let key = format!("{OVERDUE_NOTIFIED_PREFIX}{}", s.name);
            let last = engine.setting(&key).await.ok().flatten();
            if !overdue_due(last.as_deref(), now) {
                continue;
            }
            let today = now.to_offset(offset).date();
            notify::send(&self.app, &overdue_text(s, offset, today));
            let stamp = format_timestamp(now);
            if let Err(e) = engine
                .set_plain_settings(&[(key.as_str(), stamp.as_str())])
                .await
            {
                eprintln!("warning: could not save a setting: {e}");
            }
        }
        crate::tray::set_schedule_state(&self.app, statuses);
    }
}

/// Size, the previous backup's size and the duration of a run, from the catalog.
async fn facts_of(engine: &Engine, run: &DueRun) -> RunFacts {
    let mut facts = RunFacts::default();
    if let Some(id) = &run.backup_id {
        if let Ok(backups) = engine.backups(&run.project).await {
            let mut sorted = backups;
            sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at));
            if let Some(i) = sorted.iter().position(|b| &b.id == id) {
                facts.size = Some(sorted[i].size);
                facts.previous_size = sorted.get(i + 1).map(|b| b.size);
            }
        }
    }
    if let Some(job_id) = run.job_ids.first() {
        if let Ok(jobs) = engine.jobs(Some(&run.project), 50).await {
            facts.duration = jobs.iter().find(|j| &j.id == job_id).and_then(duration_of);
        }
    }
    facts
}

fn duration_of(job: &JobRecord) -> Option<Duration> {
    let parse = |s: &str| parse_timestamp(s).ok();
    let (a, b) = (parse(&job.started_at)?, parse(job.finished_at.as_deref()?)?);
    Some(Duration::from_millis(
        (b - a).whole_milliseconds().max(0) as u64
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use offsite_core::ops::JobTrigger;
    use offsite_core::{ErrorKind, ErrorPayload};
    use time::macros::{date, datetime, offset};

    fn run(kind: &str, state: &str) -> DueRun {
        DueRun {
            project: "shop".into(),
            kind: kind.parse().unwrap(),
            schedule: "default".into(),
            slot: "2026-11-22T02:30:00.000Z".into(),
            trigger: JobTrigger::Schedule,
            attempt: 0,
            state: state.parse().unwrap(),
            skipped: None,
            job_ids: vec!["j1".into()],
            backup_id: Some("b1".into()),
            corrupt: Vec::new(),
            error: None,
            retry_at: None,
            escalated: false,
            prune_job_id: None,
            pruned: Vec::new(),
            pruned_backups: Vec::new(),
        }
    }

    fn status(name: &str, next: Option<&str>) -> ProjectStatus {
        ProjectStatus {
            name: name.into(),
            last_good: Some("2026-11-20T02:30:05.000Z".into()),
            next_run: next.map(Into::into),
            overdue: true,
            overdue_schedules: Vec::new(),
            schedule: Some("daily 02:30".into()),
            paused: false,
        }
    }

    #[test]
    fn the_setting_chooses_which_runs_are_announced() {
        assert_eq!(schedule_notify(None), ScheduleNotify::Always);
        assert_eq!(schedule_notify(Some("failures")), ScheduleNotify::Failures);
        assert_eq!(schedule_notify(Some("never")), ScheduleNotify::Never);
        assert_eq!(schedule_notify(Some("bogus")), ScheduleNotify::Always);
        let ok = run("backup", "succeeded");
        let failed = run("backup", "failed");
        assert!(announce(ScheduleNotify::Always, &ok));
        assert!(!announce(ScheduleNotify::Failures, &ok));
        assert!(announce(ScheduleNotify::Failures, &failed));
        assert!(!announce(ScheduleNotify::Never, &failed));
        assert!(!announce(ScheduleNotify::Always, &run("backup", "skipped")));
        let mut damaged = run("verify", "succeeded");
        damaged.corrupt = vec!["b0".into()];
        assert!(
            announce(ScheduleNotify::Failures, &damaged),
            "damage is a failure to the user"
        );
    }

    #[test]
    fn a_finished_backup_says_size_duration_and_change() {
        let facts = RunFacts {
            size: Some(12_300_000),
            previous_size: Some(11_100_000),
            duration: Some(Duration::from_millis(4200)),
        };
        let t = run_text(
            &run("backup", "succeeded"),
            &facts,
            offset!(UTC),
            date!(2026 - 11 - 22),
        );
        assert_eq!(t.title, "shop: scheduled backup done");
        assert_eq!(t.body, "11.7 MB · in 4 s · +1.1 MB since the last backup");
        assert_eq!(t.project.as_deref(), Some("shop"));
    }

    #[test]
    fn a_failure_says_why_and_when_it_is_tried_again() {
        let mut r = run("backup", "failed");
        r.error = Some(ErrorPayload {
            code: ErrorKind::Connection,
            message: "could not connect to db.example.com".into(),
            hint: Some("check that the server is running".into()),
            detail: None,
            retryable: true,
        });
        r.retry_at = Some("2026-11-22T02:35:00.000Z".into());
        let t = run_text(&r, &RunFacts::default(), offset!(+1), date!(2026 - 11 - 22));
        assert_eq!(t.title, "shop: scheduled backup failed");
        assert_eq!(
            t.body,
            "could not connect to db.example.com — check that the server is running Next try at 03:35."
        );
        r.retry_at = None;
        r.escalated = true;
        let t = run_text(
            &r,
            &RunFacts::default(),
            offset!(UTC),
            date!(2026 - 11 - 22),
        );
        assert!(
            t.body.ends_with("No more automatic tries: it needs you."),
            "{}",
            t.body
        );
    }

    #[test]
    fn a_failed_scheduled_drill_names_the_failed_check() {
        let mut r = run("drill", "failed");
        r.error = Some(ErrorPayload {
            code: ErrorKind::ValidationFailed,
            message: "Table public.orders: rows and content: expected 1204 rows, found 0 rows"
                .into(),
            hint: Some("see the report: `offsite drill show d1`".into()),
            detail: None,
            retryable: false,
        });
        r.escalated = true;
        let t = run_text(
            &r,
            &RunFacts::default(),
            offset!(UTC),
            date!(2026 - 11 - 22),
        );
        assert_eq!(t.title, "shop: scheduled restore drill failed");
        assert!(
            t.body
                .starts_with("Table public.orders: rows and content: expected 1204 rows"),
            "{}",
            t.body
        );
        let ok = run_text(
            &run("drill", "succeeded"),
            &RunFacts::default(),
            offset!(UTC),
            date!(2026 - 11 - 22),
        );
        assert_eq!(
            ok.title,
            "shop: scheduled restore drill passed — proven restorable"
        );
    }

    #[test]
    fn overdue_is_said_once_a_day_with_the_last_good_backup() {
        let t = overdue_text(&status("shop", None), offset!(UTC), date!(2026 - 11 - 22));
        assert_eq!(t.title, "shop: no recent backup");
        assert_eq!(
            t.body,
            "The last good backup is from 2026-11-20 02:30. Its schedule is daily 02:30. Open it and choose Back up now."
        );
        let now = datetime!(2026-11-22 12:00 UTC);
        assert!(overdue_due(None, now));
        assert!(!overdue_due(Some("2026-11-22T01:00:00Z"), now));
        assert!(overdue_due(Some("2026-11-21T11:59:00Z"), now));
    }
}
