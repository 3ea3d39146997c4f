//! The tray icon and its menu: Open Offsite, Back up all now, one disabled line per project
//! with its last backup state, Quit. The per-project lines are rebuilt when a job finishes.
//! The icon follows the worst project's health (issue 29: protected / at risk / unprotected,
//! the engine's rules) and the tooltip starts with the summary line ("3 of 4 protected"); both
//! are refreshed whenever the catalog changes (`changes.rs`).
//!
//! Building the tray can fail (no tray support); the app then runs without it and closing the
//! window quits as usual (see `desktop.rs`).

use crate::commands;
use crate::jobs::JobRegistry;
use crate::Shell;
use offsite_core::catalog::{JobKind, JobRecord, JobState};
use offsite_core::health::{Health, HealthOverview};
use offsite_core::ops::job_steps::{running_line, RunningJob};
use offsite_core::ops::{ProjectStatus, ProjectSummary};
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

pub const TRAY_ID: &str = "main";
const OPEN: &str = "open";
const BACKUP_ALL: &str = "backup-all";
const QUIT: &str = "quit";
const PROJECT_PREFIX: &str = "project:";
const PAUSE_HOUR: &str = "pause-hour";
const PAUSE_TOMORROW: &str = "pause-tomorrow";
const RESUME: &str = "resume";

/// What the scheduler last saw, for the tray: each project's status and whether every schedule
/// is paused (until when). Managed state.
#[derive(Default)]
pub struct ScheduleState {
    statuses: std::sync::Mutex<Vec<ProjectStatus>>,
    /// What the tray shows now (icon, tooltip, menu lines), so a refresh that finds the same
    /// leaves an open menu alone.
    shown: std::sync::Mutex<Option<Shown>>,
    /// A refresh asked for by the change feed is waiting (see [`refresh_soon`]).
    soon: std::sync::atomic::AtomicBool,
}

/// How long changes from the feed are gathered before the tray is refreshed once: a running
/// backup updates its job row every moment, and the tray need not follow each one.
const FEED_REFRESH_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Refresh the tray once within [`FEED_REFRESH_AFTER`] (however many calls meanwhile): for the
/// catalog's change feed.
pub fn refresh_soon<R: Runtime>(app: &AppHandle<R>) {
    let Some(state) = app.try_state::<ScheduleState>() else {
        return;
    };
    if state.soon.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(FEED_REFRESH_AFTER).await;
        if let Some(state) = app.try_state::<ScheduleState>() {
            state.soon.store(false, std::sync::atomic::Ordering::SeqCst);
        }
        refresh(&app);
    });
}

/// What one refresh put in the tray.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    look: TrayLook,
    projects: Vec<(String, String)>,
    paused: Option<String>,
}

/// The tray icon's three faces: the worst state of any project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayIcon {
    /// Health unknown (no catalog): the plain icon.
    Plain,
    Protected,
    AtRisk,
    Unprotected,
}

impl TrayIcon {
    fn image(self) -> tauri::image::Image<'static> {
        match self {
            TrayIcon::Plain => tauri::include_image!("icons/tray.png"),
            TrayIcon::Protected => tauri::include_image!("icons/tray-ok.png"),
            TrayIcon::AtRisk => tauri::include_image!("icons/tray-at-risk.png"),
            TrayIcon::Unprotected => tauri::include_image!("icons/tray-unprotected.png"),
        }
    }
}

/// The icon and tooltip the tray shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayLook {
    pub icon: TrayIcon,
    pub tooltip: String,
}

/// The tray's icon and tooltip from the projects' health (the engine's overview) and the
/// schedules' tooltip ([`tooltip`]): the icon is the worst state, the tooltip starts with the
/// summary line. No overview (the engine did not open, the catalog could not be read): the
/// plain icon and the schedules' tooltip alone.
pub fn look(overview: Option<&HealthOverview>, schedules: &str) -> TrayLook {
    match overview {
        Some(o) => TrayLook {
            icon: match o.worst {
                Health::Protected => TrayIcon::Protected,
                Health::AtRisk => TrayIcon::AtRisk,
                Health::Unprotected => TrayIcon::Unprotected,
            },
            tooltip: if o.projects.is_empty() {
                format!("{} — {schedules}", o.summary)
            } else {
                format!("{} · {} — {schedules}", o.needs_you_line, o.summary)
            },
        },
        None => TrayLook {
            icon: TrayIcon::Plain,
            tooltip: schedules.to_string(),
        },
    }
}

/// The look with the running jobs first in its tooltip ("Backing up shop — step 2 of 3:
/// Compress · …", issue 64 item 6: the tray tells a job runs and where it is, the job panel's
/// steps, [`offsite_core::ops::job_steps`]).
pub fn with_running(mut look: TrayLook, running: &[RunningJob]) -> TrayLook {
    if let Some(line) = running_line(running) {
        look.tooltip = format!("{line} · {}", look.tooltip);
    }
    look
}

/// The jobs that run now, for the tooltip: those this app runs, its scheduler's included, with
/// their phases (oldest first), then those the catalog says run elsewhere (the command line,
/// `offsite daemon`), by project, without a step.
fn running_jobs(
    live: Vec<(String, RunningJob)>,
    elsewhere: Vec<(String, RunningJob)>,
) -> Vec<RunningJob> {
    let mut out: Vec<(String, RunningJob)> = live;
    for (id, job) in elsewhere {
        if !out.iter().any(|(known, _)| *known == id) {
            out.push((id, job));
        }
    }
    out.into_iter().map(|(_, job)| job).collect()
}

/// The tooltip: how many projects are overdue, else the next scheduled run.
pub fn tooltip(statuses: &[ProjectStatus], paused_until: Option<&str>) -> String {
    let overdue = statuses.iter().filter(|s| s.overdue).count();
    let mut parts = vec!["Offsite".to_string()];
    if overdue > 0 {
        parts.push(format!(
            "{overdue} project{} overdue",
            if overdue == 1 { "" } else { "s" }
        ));
    }
    if let Some(until) = paused_until {
        parts.push(format!("schedules paused until {}", short_time(until)));
    } else if let Some((name, at)) = statuses
        .iter()
        .filter_map(|s| s.next_run.as_deref().map(|t| (s.name.as_str(), t)))
        .min_by(|a, b| a.1.cmp(b.1))
    {
        parts.push(format!("next: {name} at {}", short_time(at)));
    }
    parts.join(" — ")
}

/// A project line's schedule part: `overdue`, `next 2026-11-23 02:30 UTC`, or nothing.
pub fn schedule_part(status: Option<&ProjectStatus>) -> String {
    match status {
        Some(s) if s.overdue => " · OVERDUE".into(),
        Some(s) if s.paused => " · schedule paused".into(),
        Some(ProjectStatus {
            next_run: Some(at), ..
        }) => format!(" · next {}", short_time(at)),
        _ => String::new(),
    }
}

/// The scheduler's latest statuses: kept for the menu, shown in the tooltip.
pub fn set_schedule_state<R: Runtime>(app: &AppHandle<R>, statuses: &[ProjectStatus]) {
    let Some(state) = app.try_state::<ScheduleState>() else {
        return;
    };
    let changed = {
        let mut s = state.statuses.lock().unwrap_or_else(|p| p.into_inner());
        let changed = format!("{s:?}") != format!("{statuses:?}");
        *s = statuses.to_vec();
        changed
    };
    if changed {
        refresh(app);
    }
}

/// `2024-05-01T10:00:00.000Z` → `2024-05-01 10:00 UTC` (other shapes as they are).
pub fn short_time(timestamp: &str) -> String {
    let b = timestamp.as_bytes();
    if b.len() >= 16 && b[10] == b'T' && b[13] == b':' && timestamp.is_char_boundary(16) {
        let utc = timestamp.ends_with('Z') || timestamp.ends_with("+00:00");
        format!(
            "{} {}{}",
            &timestamp[..10],
            &timestamp[11..16],
            if utc { " UTC" } else { "" }
        )
    } else {
        timestamp.to_string()
    }
}

/// The state a project's tray line shows: its newest backup job decides (running, failed);
/// otherwise its newest backup (ok with its time), or never.
pub fn project_state(summary: &ProjectSummary, last_backup_job: Option<&JobRecord>) -> String {
    match last_backup_job.map(|j| j.state) {
        Some(JobState::Running | JobState::Cancelling) => return "backing up…".into(),
        Some(JobState::Failed | JobState::Interrupted) => {
            return match last_backup_job.and_then(|j| j.finished_at.as_deref()) {
                Some(at) => format!("failed {}", short_time(at)),
                None => "failed".into(),
            }
        }
        _ => {}
    }
    match &summary.last_backup {
        Some(b) => format!("ok {}", short_time(&b.created_at)),
        None => "never backed up".into(),
    }
}

/// A project's tray line: `shop — ok 2024-05-01 10:00 UTC`. (`&` doubled: menus read a single
/// one as a mnemonic.)
pub fn project_label(summary: &ProjectSummary, last_backup_job: Option<&JobRecord>) -> String {
    format!(
        "{} — {}",
        summary.project.name.replace('&', "&&"),
        project_state(summary, last_backup_job)
    )
}

/// The checklist's part of a project's tray line: ` · 4 of 6 done`, or ` · backups paused` when
/// encryption waits for its recovery key (the same checklist the dashboard shows).
pub fn checklist_part(h: Option<&offsite_core::health::ProjectHealth>) -> String {
    match h {
        Some(h) if h.checklist.paused => " · backups paused".into(),
        Some(h) => format!(" · {}", h.checklist.line),
        None => String::new(),
    }
}

/// The per-project lines, from the catalog (an engine that did not open: none), and the jobs
/// the catalog says are running (by id).
async fn project_labels<R: Runtime>(
    app: &AppHandle<R>,
) -> (Vec<(String, String)>, Vec<(String, RunningJob)>) {
    let shell = app.state::<Shell>();
    let Ok(engine) = shell.engine() else {
        return (Vec::new(), Vec::new());
    };
    let summaries = match engine.project_summaries().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("warning: tray: could not list the projects: {e}");
            return (Vec::new(), Vec::new());
        }
    };
    let statuses: Vec<ProjectStatus> = app
        .try_state::<ScheduleState>()
        .map(|s| s.statuses.lock().unwrap_or_else(|p| p.into_inner()).clone())
        .unwrap_or_default();
    let health = engine.health(None).await.unwrap_or_default();
    let mut out = Vec::new();
    let mut running = Vec::new();
    for summary in summaries {
        let name = summary.project.name.clone();
        let jobs = engine.jobs(Some(&name), 50).await.unwrap_or_default();
        for j in jobs
            .iter()
            .filter(|j| matches!(j.state, JobState::Running | JobState::Cancelling))
        {
            running.push((
                j.id.clone(),
                RunningJob {
                    kind: j.kind,
                    subject: name.clone(),
                    phase: None,
                    reached: Vec::new(),
                },
            ));
        }
        let last = jobs.iter().find(|j| j.kind == JobKind::Backup);
        let status = statuses.iter().find(|s| s.name == name);
        let h = health.iter().find(|h| h.project == name);
        out.push((
            name,
            format!(
                "{}{}{}",
                project_label(&summary, last),
                checklist_part(h),
                schedule_part(status)
            ),
        ));
    }
    (out, running)
}

/// The tooltip and whether schedules are paused, from the catalog and the scheduler's state.
async fn schedule_summary<R: Runtime>(app: &AppHandle<R>) -> (String, Option<String>) {
    let statuses: Vec<ProjectStatus> = app
        .try_state::<ScheduleState>()
        .map(|s| s.statuses.lock().unwrap_or_else(|p| p.into_inner()).clone())
        .unwrap_or_default();
    let paused = match app.state::<Shell>().engine() {
        Ok(engine) => engine.schedules_paused_until().await.ok().flatten(),
        Err(_) => None,
    };
    (tooltip(&statuses, paused.as_deref()), paused)
}

fn build_menu<R: Runtime>(
    app: &AppHandle<R>,
    projects: &[(String, String)],
    paused: Option<&str>,
) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    menu.append(&MenuItem::with_id(
        app,
        OPEN,
        "Open Offsite",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(
        app,
        BACKUP_ALL,
        "Back up all now",
        !projects.is_empty(),
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    if projects.is_empty() {
        menu.append(&MenuItem::with_id(
            app,
            format!("{PROJECT_PREFIX}none"),
            "No projects yet",
            false,
            None::<&str>,
        )?)?;
    }
    for (name, label) in projects {
        menu.append(&MenuItem::with_id(
            app,
            format!("{PROJECT_PREFIX}{name}"),
            label,
            false,
            None::<&str>,
        )?)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    match paused {
        Some(until) => {
            menu.append(&MenuItem::with_id(
                app,
                RESUME,
                format!("Resume schedules (paused until {})", short_time(until)),
                true,
                None::<&str>,
            )?)?;
        }
        None => {
            menu.append(&MenuItem::with_id(
                app,
                PAUSE_HOUR,
                "Pause schedules for 1 hour",
                true,
                None::<&str>,
            )?)?;
            menu.append(&MenuItem::with_id(
                app,
                PAUSE_TOMORROW,
                "Pause schedules until tomorrow",
                true,
                None::<&str>,
            )?)?;
        }
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        QUIT,
        "Quit Offsite",
        true,
        None::<&str>,
    )?)?;
    Ok(menu)
}

/// Create the tray icon with its menu. Errors (and panics of the platform's tray library) are
/// returned, never raised: the app goes on without a tray.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> Result<(), String> {
    let build = || -> tauri::Result<()> {
        let menu = build_menu(app, &[], None)?;
        TrayIconBuilder::with_id(TRAY_ID)
            .icon(tauri::include_image!("icons/tray.png"))
            .tooltip("Offsite")
            .menu(&menu)
            .show_menu_on_left_click(true)
            .on_menu_event(on_menu_event)
            .build(app)?;
        Ok(())
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)) {
        Ok(Ok(())) => {
            refresh(app);
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the tray library panicked".into()),
    }
}

/// Rebuild the menu's per-project lines from the catalog (in the background).
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(tray) = app.tray_by_id(TRAY_ID) else {
            return;
        };
        let (projects, elsewhere) = project_labels(&app).await;
        let (tip, paused) = schedule_summary(&app).await;
        let overview = health_overview(&app).await;
        let live = app
            .try_state::<JobRegistry>()
            .map(|r| r.live())
            .unwrap_or_default();
        let now = Shown {
            look: with_running(
                look(overview.as_ref(), &tip),
                &running_jobs(live, elsewhere),
            ),
            projects,
            paused,
        };
        let Some(state) = app.try_state::<ScheduleState>() else {
            return;
        };
        let before = {
            let mut shown = state.shown.lock().unwrap_or_else(|p| p.into_inner());
            (*shown).replace(now.clone())
        };
        if before.as_ref().map(|b| &b.look) != Some(&now.look) {
            let _ = tray.set_tooltip(Some(now.look.tooltip.clone()));
            if let Err(e) = tray.set_icon(Some(now.look.icon.image())) {
                eprintln!("warning: could not update the tray icon: {e}");
            }
        }
        if before.as_ref().map(|b| (&b.projects, &b.paused)) == Some((&now.projects, &now.paused)) {
            return;
        }
        let result = build_menu(&app, &now.projects, now.paused.as_deref())
            .and_then(|menu| tray.set_menu(Some(menu)));
        if let Err(e) = result {
            eprintln!("warning: could not update the tray menu: {e}");
        }
    });
}

/// Every project's health (the dashboard's), or none when it cannot be read.
async fn health_overview<R: Runtime>(app: &AppHandle<R>) -> Option<HealthOverview> {
    let shell = app.state::<Shell>();
    let engine = shell.engine().ok()?;
    match engine.health(None).await {
        Ok(list) => Some(offsite_core::health::overview(list)),
        Err(e) => {
            eprintln!("warning: tray: could not read the projects' health: {e}");
            None
        }
    }
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        OPEN => crate::desktop::show_main_window(app),
        BACKUP_ALL => back_up_all(app),
        QUIT => quit(app),
        PAUSE_HOUR => pause(app, Some(time::Duration::hours(1))),
        PAUSE_TOMORROW => pause(app, Some(until_tomorrow())),
        RESUME => pause(app, None),
        _ => {}
    }
}

/// From now until tomorrow 06:00 local time.
fn until_tomorrow() -> time::Duration {
    let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    let now = time::OffsetDateTime::now_utc().to_offset(offset);
    let tomorrow = now.date().next_day().unwrap_or(now.date());
    let at = tomorrow.with_hms(6, 0, 0).map(|t| t.assume_offset(offset));
    match at {
        Ok(at) => at - now,
        Err(_) => time::Duration::hours(12),
    }
}

/// Pause every schedule for `how_long` (`None`: resume).
fn pause<R: Runtime>(app: &AppHandle<R>, how_long: Option<time::Duration>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Ok(engine) = app.state::<Shell>().engine() {
            let until = how_long.map(|d| time::OffsetDateTime::now_utc() + d);
            if let Err(e) = engine.pause_all_schedules(until).await {
                eprintln!("warning: could not pause the schedules: {e}");
            }
        }
        refresh(&app);
    });
}

/// Quit: cancel the running jobs (so none leaves partial files behind), give them a few seconds
/// to clean up, then exit.
fn quit<R: Runtime>(app: &AppHandle<R>) {
    let jobs = app.state::<JobRegistry>();
    if jobs.cancel_all() == 0 {
        app.exit(0);
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while app.state::<JobRegistry>().running() > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        app.exit(0);
    });
}

/// Start a backup job of every project, through the same path as the `start_backup` command
/// (its events reach the window as if the window had started them).
fn back_up_all<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let shell = app.state::<Shell>();
        let names = match shell.engine() {
            Ok(engine) => match engine.projects().await {
                Ok(projects) => projects.into_iter().map(|p| p.name).collect::<Vec<_>>(),
                Err(e) => {
                    eprintln!("warning: back up all: could not list the projects: {e}");
                    return;
                }
            },
            Err(e) => {
                eprintln!("warning: back up all: {}", e.message);
                return;
            }
        };
        let jobs = app.state::<JobRegistry>();
        for name in names {
            if let Err(e) = commands::jobs::start_backup_job(
                app.clone(),
                &shell,
                &jobs,
                name.clone(),
                None,
                None,
            ) {
                eprintln!("warning: could not start a backup of {name}: {}", e.message);
            }
        }
        // Show them as running.
        refresh(&app);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use offsite_core::archive::BackupType;
    use offsite_core::catalog::{BackupRecord, BackupStatus, JobTrigger, Project};

    fn summary(name: &str, last_backup_at: Option<&str>) -> ProjectSummary {
        ProjectSummary {
            project: Project {
                id: "p1".into(),
                name: name.into(),
                db_url: "postgres://app@db/shop".into(),
                tls_mode: "prefer".into(),
                backup_dir: None,
                created_at: "2024-04-01T00:00:00.000Z".into(),
            },
            last_backup: last_backup_at.map(|at| BackupRecord {
                id: "b1".into(),
                project_id: "p1".into(),
                path: "/b/shop.tar.gz".into(),
                size: 1,
                sha256: "0".repeat(64),
                backup_type: BackupType::Database,
                created_at: at.into(),
                verified_at: None,
                status: BackupStatus::Unverified,
                verify_problem: None,
                manifest_json: None,
                job_id: None,
                origin: Default::default(),
            }),
            backup_count: u32::from(last_backup_at.is_some()),
            last_drill: None,
            last_passed_drill: None,
        }
    }

    fn job(state: &str, finished_at: Option<&str>) -> JobRecord {
        JobRecord {
            id: "j1".into(),
            project_id: Some("p1".into()),
            kind: JobKind::Backup,
            state: state.parse().unwrap(),
            started_at: "2024-05-02T09:00:00.000Z".into(),
            finished_at: finished_at.map(Into::into),
            bytes_done: 0,
            bytes_total: None,
            error_code: None,
            error_message: None,
            error_hint: None,
            error_detail: None,
            backup_id: None,
            trigger: JobTrigger::Manual,
        }
    }

    #[test]
    fn a_project_line_says_ok_with_time_failed_or_never() {
        let ok = summary("shop", Some("2024-05-01T10:00:00.000Z"));
        assert_eq!(project_label(&ok, None), "shop — ok 2024-05-01 10:00 UTC");
        assert_eq!(
            project_label(
                &ok,
                Some(&job("succeeded", Some("2024-05-01T10:00:05.000Z")))
            ),
            "shop — ok 2024-05-01 10:00 UTC"
        );
        // The newest backup job failed: that is the state, even with an older backup.
        assert_eq!(
            project_label(&ok, Some(&job("failed", Some("2024-05-02T09:01:00.000Z")))),
            "shop — failed 2024-05-02 09:01 UTC"
        );
        assert_eq!(
            project_label(&summary("blog", None), Some(&job("failed", None))),
            "blog — failed"
        );
        assert_eq!(
            project_label(&summary("blog", None), None),
            "blog — never backed up"
        );
        // A cancelled backup leaves the last good one as the state.
        assert_eq!(
            project_label(&summary("blog", None), Some(&job("cancelled", None))),
            "blog — never backed up"
        );
        assert_eq!(
            project_label(&ok, Some(&job("running", None))),
            "shop — backing up…"
        );
        // A menu reads a single `&` as a mnemonic.
        assert_eq!(
            project_label(&summary("R&D", None), None),
            "R&&D — never backed up"
        );
    }

    fn status(name: &str, next: Option<&str>, overdue: bool) -> ProjectStatus {
        ProjectStatus {
            name: name.into(),
            last_good: None,
            next_run: next.map(Into::into),
            overdue,
            overdue_schedules: Vec::new(),
            schedule: Some("daily 02:30".into()),
            paused: false,
        }
    }

    #[test]
    fn the_tooltip_counts_overdue_projects_and_names_the_next_run() {
        assert_eq!(tooltip(&[], None), "Offsite");
        let s = [
            status("shop", Some("2026-11-23T02:30:00.000Z"), false),
            status("blog", Some("2026-11-22T20:00:00.000Z"), true),
        ];
        assert_eq!(
            tooltip(&s, None),
            "Offsite — 1 project overdue — next: blog at 2026-11-22 20:00 UTC"
        );
        assert_eq!(
            tooltip(&s, Some("2026-11-23T06:00:00.000Z")),
            "Offsite — 1 project overdue — schedules paused until 2026-11-23 06:00 UTC"
        );
        assert_eq!(schedule_part(Some(&s[1])), " · OVERDUE");
        assert_eq!(schedule_part(Some(&s[0])), " · next 2026-11-23 02:30 UTC");
        assert_eq!(schedule_part(None), "");
    }

    fn health(name: &str, state: Health) -> offsite_core::health::ProjectHealth {
        offsite_core::health::ProjectHealth {
            project: name.into(),
            subtitle: format!("database {name}"),
            health: state,
            health_label: state.label().into(),
            reason: String::new(),
            problems: Vec::new(),
            last_good: None,
            recovery_point: None,
            last_verified: None,
            last_proven: None,
            copies: Vec::new(),
            schedule: None,
            schedule_words: None,
            paused: false,
            next_run: None,
            overdue: false,
            last_run: None,
            // Not protected: one item needs the user (the engine's checklist says which).
            checklist: offsite_core::health::Checklist {
                items: (state != Health::Protected)
                    .then(|| offsite_core::health::CheckItem {
                        id: offsite_core::health::CheckId::Scheduled,
                        label: "Scheduled".into(),
                        state: offsite_core::health::CheckState::Gap,
                        why: "No schedule.".into(),
                        fix: Some(offsite_core::health::FixAction::AddSchedule),
                        fix_label: Some("Add a schedule".into()),
                        at: None,
                        why_at: None,
                    })
                    .into_iter()
                    .collect(),
                done: 0,
                total: 1,
                line: String::new(),
                paused: false,
            },
            running: Vec::new(),
            verdict: offsite_core::health::ProjectVerdict::default(),
        }
    }

    /// A project's menu line ends with its checklist's count, or says its backups are paused.
    #[test]
    fn a_project_line_ends_with_its_checklist() {
        let mut h = health("shop", Health::AtRisk);
        h.checklist.line = "4 of 6 done".into();
        assert_eq!(checklist_part(Some(&h)), " · 4 of 6 done");
        h.checklist.paused = true;
        assert_eq!(checklist_part(Some(&h)), " · backups paused");
        assert_eq!(checklist_part(None), "");
    }

    #[test]
    fn the_icon_follows_the_worst_project_and_the_tooltip_starts_with_the_summary() {
        use offsite_core::health::overview;
        let tip = "Offsite — next: shop at 2026-11-23 02:30 UTC";
        let all_fine = overview(vec![
            health("shop", Health::Protected),
            health("blog", Health::Protected),
        ]);
        assert_eq!(
            look(Some(&all_fine), tip),
            TrayLook {
                icon: TrayIcon::Protected,
                tooltip:
                    "Nothing needs you · 2 of 2 protected — Offsite — next: shop at 2026-11-23 02:30 UTC"
                        .into(),
            }
        );
        let one_at_risk = overview(vec![
            health("shop", Health::Protected),
            health("blog", Health::AtRisk),
        ]);
        assert_eq!(look(Some(&one_at_risk), tip).icon, TrayIcon::AtRisk);
        assert!(look(Some(&one_at_risk), tip)
            .tooltip
            .starts_with("1 thing needs you · 1 of 2 protected — "));
        let worst = overview(vec![
            health("shop", Health::AtRisk),
            health("blog", Health::Unprotected),
            health("wiki", Health::Protected),
        ]);
        assert_eq!(
            look(Some(&worst), tip),
            TrayLook {
                icon: TrayIcon::Unprotected,
                tooltip: format!("2 things need you · 1 of 3 protected — {tip}"),
            }
        );
        assert_eq!(
            look(Some(&overview(Vec::new())), "Offsite"),
            TrayLook {
                icon: TrayIcon::Protected,
                tooltip: "no projects yet — Offsite".into(),
            }
        );
        // The health could not be read: the plain icon, the schedules' tooltip.
        assert_eq!(
            look(None, "Offsite"),
            TrayLook {
                icon: TrayIcon::Plain,
                tooltip: "Offsite".into(),
            }
        );
    }

    #[test]
    fn the_tooltip_names_the_running_job_and_its_step_first() {
        use offsite_core::progress::Phase;
        let base = TrayLook {
            icon: TrayIcon::Protected,
            tooltip: "Nothing needs you · 1 of 1 protected — Offsite".into(),
        };
        assert_eq!(with_running(base.clone(), &[]), base);
        let job = |kind, subject: &str, phase| RunningJob {
            kind,
            subject: subject.into(),
            phase,
            reached: Vec::new(),
        };
        // This app's backup (with its phase) and the same job as the catalog lists it: once, with
        // its step; a scheduled verify of another project after it.
        let live = vec![(
            "j1".to_string(),
            job(JobKind::Backup, "shop", Some(Phase::Dumping)),
        )];
        let elsewhere = vec![
            ("j1".to_string(), job(JobKind::Backup, "shop", None)),
            ("j2".to_string(), job(JobKind::Verify, "blog", None)),
        ];
        let running = running_jobs(live, elsewhere);
        assert_eq!(running.len(), 2);
        assert_eq!(
            with_running(base.clone(), &running).tooltip,
            "Backing up shop — step 1 of 3: Dump (and 1 more job) · Nothing needs you · 1 of 1 protected — Offsite"
        );
        // Run elsewhere only: named, no step.
        assert_eq!(
            with_running(
                base,
                &running_jobs(
                    Vec::new(),
                    vec![("j3".into(), job(JobKind::Backup, "shop", None))]
                )
            )
            .tooltip,
            "Backing up shop · Nothing needs you · 1 of 1 protected — Offsite"
        );
    }

    #[test]
    fn times_are_shortened_and_odd_ones_kept() {
        assert_eq!(
            short_time("2024-05-01T10:00:00.000Z"),
            "2024-05-01 10:00 UTC"
        );
        assert_eq!(short_time("2024-05-01T10:00:00+02:00"), "2024-05-01 10:00");
        assert_eq!(short_time("yesterday"), "yesterday");
    }
}
