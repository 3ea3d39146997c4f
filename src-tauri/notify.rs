//! Desktop notifications: what a finished job says (pure, tested), the settings that govern it,
//! and sending through tauri-plugin-notification.
//!
//! Notifications are sent from Rust only; the UI needs no notification permission. Without a
//! notification service (no `org.freedesktop.Notifications` on the session bus) the plugin drops
//! the notification on its background task: nothing breaks.

use crate::jobs::{JobDone, JobResult};
use offsite_core::catalog::JobKind;
use offsite_core::drill::{CheckStatus, DrillReport};
use std::time::Duration;
use tauri::{AppHandle, Manager, Runtime};

/// Catalog setting: `"off"` turns job notifications off (default on).
pub const NOTIFICATIONS_SETTING: &str = "desktop.notifications";
/// Catalog setting: set once the "keeps running in the tray" notice was shown.
pub const TRAY_NOTICE_SETTING: &str = "desktop.tray_notice_shown";
/// The key of a notification's extra payload naming its project (a click opens it).
pub const PROJECT_KEY: &str = "project";

/// Whether job notifications are on, from the setting's stored value (absent: on).
pub fn notifications_enabled(value: Option<&str>) -> bool {
    !matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("off" | "false" | "0" | "no")
    )
}

/// The stored value of the notifications setting.
pub fn setting_value(enabled: bool) -> &'static str {
    if enabled {
        "on"
    } else {
        "off"
    }
}

/// When the window is hidden to the tray: whether to say now that Offsite keeps running there.
/// Once only (`notice_shown` is the stored [`TRAY_NOTICE_SETTING`]), and not when the user
/// turned notifications off (then it is not recorded as said either).
pub fn tray_notice_due(notice_shown: Option<&str>, notifications: Option<&str>) -> bool {
    notice_shown.is_none() && notifications_enabled(notifications)
}

/// A finished job is worth a notification when they are on and the user is not looking at the
/// window (hidden, minimized or another window focused).
pub fn should_notify(enabled: bool, window_visible: bool, window_focused: bool) -> bool {
    enabled && !(window_visible && window_focused)
}

/// What a notification says, and the project a click on it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationText {
    pub title: String,
    pub body: String,
    pub project: Option<String>,
}

/// The notice shown the first time the window is hidden to the tray.
pub fn tray_notice() -> NotificationText {
    NotificationText {
        title: "Offsite keeps running in the tray".into(),
        body: "Backups go on while the window is closed. Open Offsite again from its tray icon \
               (or by launching it again); quit from the tray menu."
            .into(),
        project: None,
    }
}

/// "12.3 MB", "512 B": the one convention of every front end (`offsite_core::units`).
pub fn human_size(bytes: u64) -> String {
    offsite_core::units::format_bytes(bytes)
}

/// "under 1 s", "42 s", "3 min 5 s", "1 h 2 min": the one convention of every front end
/// (`offsite_core::units`).
pub fn human_duration(d: Duration) -> String {
    offsite_core::units::format_duration(d)
}

fn what(kind: JobKind, label: &str) -> String {
    match kind {
        JobKind::Backup => format!("Backup of {label}"),
        JobKind::Verify => format!("Verification of {label}"),
        JobKind::Restore => format!("Restore into {label}"),
        JobKind::Import => format!("Import of {label}"),
        JobKind::Prune => format!("Pruning of {label}"),
        JobKind::Pull => format!("Pull of {label}"),
        JobKind::Sync => format!("Copies of {label}"),
        JobKind::FetchCopy => format!("Fetching a copy of {label}"),
        JobKind::Drill => format!("Restore drill of {label}"),
        JobKind::Recover => format!("Recovery of rows into {label}"),
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// What the notification of a finished job says: what finished and how (size and duration; or
/// the failure's message and hint).
pub fn job_text(done: &JobDone) -> NotificationText {
    let f = &done.finished;
    let what = what(f.kind, &done.subject.label);
    let took = human_duration(done.duration);
    let mut project = done.subject.project.clone();
    let (title, body) = match (&f.result, &f.error) {
        (Some(JobResult::Backup { backup }), _) => (
            format!("{what} finished"),
            format!(
                "{} in {took} · {}",
                human_size(backup.size),
                file_name(&backup.path)
            ),
        ),
        (
            Some(JobResult::Import {
                project: into,
                created_project,
                backup,
            }),
            _,
        ) => {
            project = Some(into.clone());
            (
                format!("{what} finished"),
                format!(
                    "{} added to {}project {into} in {took}",
                    human_size(backup.size),
                    if *created_project { "the new " } else { "" }
                ),
            )
        }
        (Some(JobResult::Verify { report, .. }), _) => {
            if project.is_none() {
                project = report.manifest.as_ref().map(|m| m.project.clone());
            }
            if report.ok {
                (
                    format!("{what}: the archive is intact"),
                    format!("{} checked in {took}", human_size(report.bytes_verified)),
                )
            } else {
                let problem = report
                    .problems
                    .first()
                    .cloned()
                    .or_else(|| report.first_bad.as_ref().map(|m| format!("{m} is damaged")))
                    .unwrap_or_else(|| "the archive does not match its checksums".into());
                (
                    format!("{what}: the archive is damaged"),
                    format!("{problem}\nDo not rely on this copy; take a new backup."),
                )
            }
        }
        (Some(JobResult::Restore { report }), _) => restore_text(&what, report, &took),
        (Some(JobResult::Drill { report }), _) => drill_text(&what, report, &took),
        (Some(JobResult::Recover { report }), _) => {
            let (inserted, updated) = report
                .tables
                .iter()
                .fold((0, 0), |(i, u), t| (i + t.insert, u + t.update));
            (
                format!("{what} finished"),
                format!("{inserted} rows inserted, {updated} updated; took {took}"),
            )
        }
        (Some(JobResult::TenantBackup { outcome }), _) => {
            let size: u64 = outcome.backups.iter().map(|b| b.backup.size).sum();
            (
                format!("{what} finished"),
                format!(
                    "{} of tenant {} ({}) in {took}",
                    match outcome.backups.len() {
                        1 => "1 archive".to_string(),
                        n => format!("{n} archives"),
                    },
                    outcome.tenant,
                    human_size(size)
                ),
            )
        }
        (Some(JobResult::PitrRestore { restored }), _) => (
            format!("{what} finished"),
            match &restored.plan.stop_commit_at {
                Some(at) => format!(
                    "as of {at}: {} transactions replayed onto the base; took {took}",
                    restored.plan.transactions
                ),
                None => format!("the base as taken ({}); took {took}", restored.plan.base_at),
            },
        ),
        (Some(JobResult::AtState { state, .. }), _) => (
            format!(
                "{} as it was at {} is ready to look inside",
                state.project, state.at
            ),
            format!(
                "{} transactions replayed onto the base; took {took}",
                state.transactions
            ),
        ),
        (Some(JobResult::RecoverUndo { report }), _) => {
            let left: u64 = report.tables.iter().map(|t| t.changed_since).sum();
            (
                format!("Recovery {} undone", report.id),
                format!("{left} rows changed since were left; took {took}"),
            )
        }
        (Some(JobResult::Sync { outcome }), _) => (
            format!("{what} finished"),
            format!(
                "{} copied, {} removed by retention, {} still pending ({took})",
                outcome
                    .copies
                    .iter()
                    .filter(|c| c.state == offsite_core::catalog::CopyState::Stored)
                    .count(),
                outcome.pruned.len(),
                outcome.pending
            ),
        ),
        (Some(JobResult::FetchCopy { outcome }), _) => (
            format!("{what} finished"),
            format!(
                "{} fetched from {} and checked in {took}",
                file_name(&outcome.path),
                outcome.destination
            ),
        ),
        (
            Some(JobResult::Pull {
                server,
                downloaded,
                already_local,
                in_progress,
                artifacts,
            }),
            _,
        ) => {
            let mut parts = Vec::new();
            if *server {
                parts.push(format!(
                    "{} downloaded and verified, {already_local} already here, {in_progress} still being made on the server",
                    offsite_core::words::count(downloaded.len(), "new backup")
                ));
            }
            if let Some(a) = artifacts {
                parts.push(format!(
                    "{} imported, {} imported before",
                    offsite_core::words::count(a.imported.len(), "artifact"),
                    a.already_imported
                ));
            }
            (
                format!("{what} finished"),
                format!("{}; took {took}", parts.join("; ")),
            )
        }
        (None, Some(e)) if e.code == offsite_core::ErrorKind::Cancelled => (
            format!("{what} cancelled"),
            format!("Stopped after {took}; nothing partial was kept."),
        ),
        (None, Some(e)) => (
            format!("{what} failed"),
            match &e.hint {
                Some(hint) if !hint.is_empty() => format!("{}\n{hint}", e.message),
                _ => e.message.clone(),
            },
        ),
        (None, None) => (format!("{what} ended"), format!("Took {took}.")),
    };
    NotificationText {
        title,
        body,
        project,
    }
}

/// The project's protection after a job, in the one checklist's words (the dashboard's, the
/// tray's, `offsite status`'s, the email's and webhook's): "2 of 5 done · next: <why> <fix>" on
/// a line of its own, or nothing when every item that applies is done.
pub fn with_next_step(
    text: &mut NotificationText,
    h: Option<&offsite_core::health::ProjectHealth>,
) {
    if let Some(line) = h.and_then(|h| h.checklist.next_step()) {
        text.body.push_str(&format!("\n{line}"));
    }
}

/// Show `text` as a desktop notification. Never fails: without the plugin or a notification
/// service it only logs.
pub fn send<R: Runtime>(app: &AppHandle<R>, text: &NotificationText) {
    use tauri_plugin_notification::NotificationExt;
    if app
        .try_state::<tauri_plugin_notification::Notification<R>>()
        .is_none()
    {
        return;
    }
    let mut builder = app
        .notification()
        .builder()
        .title(&text.title)
        .body(&text.body);
    if let Some(project) = &text.project {
        builder = builder.extra(PROJECT_KEY, project);
    }
    if let Err(e) = builder.show() {
        eprintln!("warning: could not show a notification: {e}");
    }
}

/// The notification of a drill: proven (with the RTO), or failed naming the first failed check
/// with what it expected and found.
fn drill_text(what: &str, report: &DrillReport, took: &str) -> (String, String) {
    let checks = report.checks.len();
    match report.first_failure() {
        None => (
            format!("{what} passed"),
            format!(
                "Proven restorable: {checks} check{} passed or compared; restore took {} (RTO); drill took {took}",
                if checks == 1 { "" } else { "s" },
                human_duration(Duration::from_secs_f64(report.rto_seconds.max(0.0)))
            ),
        ),
        Some(check) => {
            let failed = report
                .checks
                .iter()
                .filter(|c| c.status == CheckStatus::Failed)
                .count();
            let mut body = check.title.clone();
            match (&check.expected, &check.actual) {
                (Some(e), Some(a)) => body.push_str(&format!(": expected {e}, found {a}")),
                (Some(e), None) => body.push_str(&format!(": expected {e}")),
                _ => {}
            }
            if let Some(detail) = &check.detail {
                body.push_str(&format!(" ({detail})"));
            }
            if failed > 1 {
                let checks = if failed == 2 { "check" } else { "checks" };
                body.push_str(&format!("\n{} more {checks} failed.", failed - 1));
            }
            (format!("{what} failed: {}", check.title), body)
        }
    }
}

/// The notification of a restore: the database's row counts, then what the storage got.
fn restore_text(
    what: &str,
    restore: &offsite_core::restore::RestoreReport,
    took: &str,
) -> (String, String) {
    let database = restore.database.as_ref().map(|report| {
                let tables = report.tables.len();
                if report.rows_not_recorded.is_some() {
                    (
                        format!("{what} finished"),
                        format!("Restored in {took}; the backup recorded no row counts, so they were not compared"),
                    )
                } else if report.ok {
                    (
                        format!("{what} finished"),
                        format!(
                            "{tables} table{} restored, row counts match the backup; took {took}",
                            if tables == 1 { "" } else { "s" }
                        ),
                    )
                } else {
                    let bad = report.tables.iter().filter(|t| !t.ok).count();
                    (
                        format!("{what}: row counts differ"),
                        format!("{bad} of {tables} tables do not hold the rows the backup recorded"),
                    )
                }
    });
    let storage = restore.storage.as_ref().map(|report| {
        format!(
            "{} objects written ({}), {} identical skipped, {} deleted; took {took}",
            report.uploaded,
            human_size(report.uploaded_bytes),
            report.skipped,
            report.deleted
        )
    });
    match (database, storage) {
        (Some((title, body)), Some(s)) => (title, format!("{body}\nStorage: {s}")),
        (Some(d), None) => d,
        (None, Some(s)) => (format!("{what} finished"), s),
        (None, None) => (format!("{what} finished"), format!("Done in {took}")),
    }
}

#[cfg(test)]
mod tests {
    /// A notification's protection line is the checklist's: its count and its first open
    /// item's why and Fix; nothing when all is done.
    #[test]
    fn the_next_step_comes_from_the_checklist() {
        use offsite_core::health::{assess, EncryptionState, Facts};
        let mut f = Facts {
            project: "shop".into(),
            backups: 1,
            last_good: Some("2026-11-24T02:30:00Z".into()),
            last_verified: Some("2026-11-24T02:31:00Z".into()),
            ..Facts::default()
        };
        let text = || NotificationText {
            title: "shop backed up".into(),
            body: "1.0 MB in 3 s".into(),
            project: Some("shop".into()),
        };
        let h = assess(&f);
        let mut t = text();
        with_next_step(&mut t, Some(&h));
        let first = h.checklist.open().next().unwrap();
        assert_eq!(
            t.body,
            format!(
                "1.0 MB in 3 s\n{} · next: {} {}",
                h.checklist.line,
                first.why,
                first.fix_label.as_deref().unwrap()
            )
        );
        // Paused backups: the next step is the recovery key's, never "Back up now".
        f.encryption = EncryptionState::Unconfirmed;
        let mut t = text();
        with_next_step(&mut t, Some(&assess(&f)));
        assert!(
            t.body.ends_with(
                "next: The recovery key is not confirmed yet: without it nobody can read the \
                 backups. Confirm your recovery key"
            ),
            "{}",
            t.body
        );
        // No health (the project is gone): the text as it was.
        let mut t = text();
        with_next_step(&mut t, None);
        assert_eq!(t.body, "1.0 MB in 3 s");
    }

    use super::*;
    use crate::jobs::{JobFinished, JobSubject};
    use offsite_core::archive::reader::{SidecarStatus, VerifyReport};
    use offsite_core::archive::BackupType;
    use offsite_core::catalog::{BackupRecord, BackupStatus};
    use offsite_core::{ErrorKind, ErrorPayload};

    fn done(kind: JobKind, result: Option<JobResult>, error: Option<ErrorPayload>) -> JobDone {
        JobDone {
            finished: JobFinished {
                job_id: "job-1".into(),
                kind,
                ok: result.is_some(),
                error,
                result,
            },
            subject: JobSubject {
                project: Some("shop".into()),
                label: "shop".into(),
            },
            duration: Duration::from_secs(185),
        }
    }

    fn backup(size: u64) -> JobResult {
        JobResult::Backup {
            backup: BackupRecord {
                id: "b1".into(),
                project_id: "p1".into(),
                path: "/home/me/backups/shop/shop_20240501_100000_database.tar.gz".into(),
                size,
                sha256: "0".repeat(64),
                backup_type: BackupType::Database,
                created_at: "2024-05-01T10:00:00.000Z".into(),
                verified_at: None,
                status: BackupStatus::Unverified,
                verify_problem: None,
                manifest_json: None,
                job_id: Some("job-1".into()),
                origin: Default::default(),
            },
        }
    }

    fn error(code: ErrorKind, message: &str, hint: Option<&str>) -> ErrorPayload {
        ErrorPayload {
            code,
            message: message.into(),
            hint: hint.map(Into::into),
            detail: None,
            retryable: false,
        }
    }

    fn drill(failing: &[&str]) -> JobResult {
        use offsite_core::drill::{DrillCheck, DrillTargetInfo, RanBy};
        let check = |id: &str, status| DrillCheck {
            id: id.into(),
            title: format!("Table {id}: rows and content"),
            status,
            expected: Some("1204 rows".into()),
            actual: Some(
                if status == CheckStatus::Failed {
                    "0 rows"
                } else {
                    "1204 rows"
                }
                .into(),
            ),
            detail: None,
        };
        let mut checks = vec![check("public.users", CheckStatus::Passed)];
        checks.extend(failing.iter().map(|t| check(t, CheckStatus::Failed)));
        let verdict = DrillReport::verdict_of(&checks);
        JobResult::Drill {
            report: DrillReport {
                format: 1,
                drill_id: "d1".into(),
                project: "shop".into(),
                backup_id: "b1".into(),
                archive_name: "shop.tar.gz".into(),
                archive_sha256: "0".repeat(64),
                backup_created_at: "2026-11-24T04:00:00Z".into(),
                started_at: "2026-11-24T05:00:00Z".into(),
                finished_at: "2026-11-24T05:04:00Z".into(),
                source_server_version: Some("15.18".into()),
                target: DrillTargetInfo {
                    kind: "throwaway".into(),
                    server_version: "PostgreSQL 16.4".into(),
                    location: "private socket".into(),
                },
                checks,
                verdict,
                rto_seconds: 240.0,
                archive_bytes: 1024,
                restored_database_bytes: None,
                rpo_hours: None,
                ran_by: RanBy {
                    hostname: "h".into(),
                    os: "linux x86_64".into(),
                    offsite_version: "offsite 0.1.0".into(),
                    pg_restore: None,
                },
            },
        }
    }

    #[test]
    fn a_failed_drill_names_the_failed_check_with_expected_and_found() {
        let text = job_text(&done(
            JobKind::Restore,
            Some(drill(&["public.orders", "public.items"])),
            None,
        ));
        assert!(
            text.title
                .ends_with("failed: Table public.orders: rows and content"),
            "{}",
            text.title
        );
        assert!(
            text.body.contains("expected 1204 rows, found 0 rows"),
            "{}",
            text.body
        );
        assert!(text.body.contains("1 more check failed."), "{}", text.body);
        assert_eq!(text.project.as_deref(), Some("shop"));

        let passed = job_text(&done(JobKind::Drill, Some(drill(&[])), None));
        assert!(passed.title.ends_with("passed"), "{}", passed.title);
        assert!(passed.body.contains("Proven restorable"), "{}", passed.body);
        assert!(passed.body.contains("4 min"), "{}", passed.body);
    }

    #[test]
    fn a_finished_backup_says_project_size_duration_and_file() {
        let text = job_text(&done(JobKind::Backup, Some(backup(12_345_678)), None));
        assert_eq!(text.title, "Backup of shop finished");
        assert_eq!(
            text.body,
            "11.8 MB in 3 min 5 s · shop_20240501_100000_database.tar.gz"
        );
        assert_eq!(text.project.as_deref(), Some("shop"));
    }

    #[test]
    fn an_import_names_the_project_it_went_into() {
        let result = match backup(2_000_000) {
            JobResult::Backup { backup } => JobResult::Import {
                project: "legacy".into(),
                created_project: true,
                backup,
            },
            _ => unreachable!(),
        };
        let mut d = done(JobKind::Import, Some(result), None);
        d.subject.project = None;
        let text = job_text(&d);
        assert_eq!(
            text.body,
            "1.9 MB added to the new project legacy in 3 min 5 s"
        );
        assert_eq!(text.project.as_deref(), Some("legacy"));
    }

    #[test]
    fn a_failed_job_says_the_message_and_the_hint() {
        let e = error(
            ErrorKind::Auth,
            "password authentication failed for user \"app\"",
            Some("check the project's password"),
        );
        let text = job_text(&done(JobKind::Backup, None, Some(e)));
        assert_eq!(text.title, "Backup of shop failed");
        assert_eq!(
            text.body,
            "password authentication failed for user \"app\"\ncheck the project's password"
        );
        assert_eq!(text.project.as_deref(), Some("shop"));

        let no_hint = job_text(&done(
            JobKind::Restore,
            None,
            Some(error(ErrorKind::Internal, "boom", None)),
        ));
        assert_eq!(no_hint.title, "Restore into shop failed");
        assert_eq!(no_hint.body, "boom");
    }

    #[test]
    fn a_cancelled_job_says_so_not_failed() {
        let text = job_text(&done(
            JobKind::Backup,
            None,
            Some(error(ErrorKind::Cancelled, "the job was cancelled", None)),
        ));
        assert_eq!(text.title, "Backup of shop cancelled");
        assert_eq!(
            text.body,
            "Stopped after 3 min 5 s; nothing partial was kept."
        );
    }

    #[test]
    fn a_verification_says_intact_or_damaged() {
        let mut report = VerifyReport {
            archive: "/b/shop.tar.gz".into(),
            ok: true,
            file_sha256: "0".repeat(64),
            sidecar: SidecarStatus::Match,
            members: Vec::new(),
            first_bad: None,
            bytes_verified: 2_500_000_000,
            problems: Vec::new(),
            manifest: None,
            contents_not_checked: None,
        };
        let mut d = done(
            JobKind::Verify,
            Some(JobResult::Verify {
                backup_id: None,
                report: report.clone(),
            }),
            None,
        );
        d.subject = JobSubject {
            project: None,
            label: "shop.tar.gz".into(),
        };
        let text = job_text(&d);
        assert_eq!(
            text.title,
            "Verification of shop.tar.gz: the archive is intact"
        );
        assert_eq!(text.body, "2.3 GB checked in 3 min 5 s");
        assert_eq!(text.project, None);

        report.ok = false;
        report.first_bad = Some("database.dump".into());
        d.finished.result = Some(JobResult::Verify {
            backup_id: None,
            report,
        });
        let text = job_text(&d);
        assert_eq!(
            text.title,
            "Verification of shop.tar.gz: the archive is damaged"
        );
        assert!(
            text.body.starts_with("database.dump is damaged\n"),
            "{}",
            text.body
        );
    }

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KB");
        assert_eq!(human_size(1_572_864), "1.5 MB");
        assert_eq!(human_size(2_147_483_648), "2.0 GB");
        assert_eq!(human_duration(Duration::from_millis(300)), "under 1 s");
        assert_eq!(human_duration(Duration::from_secs(42)), "42 s");
        assert_eq!(human_duration(Duration::from_secs(120)), "2 min");
        assert_eq!(human_duration(Duration::from_secs(3_720)), "1 h 2 min");
        assert_eq!(human_duration(Duration::from_secs(7_200)), "2 h");
    }

    #[test]
    fn notifications_default_on_and_the_setting_turns_them_off() {
        assert!(notifications_enabled(None));
        assert!(notifications_enabled(Some("on")));
        assert!(!notifications_enabled(Some("off")));
        assert!(!notifications_enabled(Some(" OFF ")));
        assert!(!notifications_enabled(Some("false")));
        assert!(notifications_enabled(Some(setting_value(true))));
        assert!(!notifications_enabled(Some(setting_value(false))));
        // Only when the user is not looking at the window.
        assert!(should_notify(true, false, false));
        assert!(should_notify(true, true, false));
        assert!(!should_notify(true, true, true));
        assert!(!should_notify(false, false, false));
    }

    #[test]
    fn the_tray_notice_is_due_once_and_not_when_notifications_are_off() {
        assert!(tray_notice_due(None, None));
        assert!(tray_notice_due(None, Some("on")));
        assert!(!tray_notice_due(Some("yes"), None));
        assert!(!tray_notice_due(None, Some("off")));
        assert!(tray_notice().title.contains("tray"));
    }
}
