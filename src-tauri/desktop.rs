//! The desktop integration of the real app (not of the mock-runtime tests): one instance, the
//! tray, hiding the window to the tray on close, and notifications when jobs finish.
//!
//! Every part is optional at runtime: without a tray host or a notification service the app
//! starts and works, and only logs a warning.

use crate::jobs::{JobDone, JobRegistry};
use crate::notify::{self, NOTIFICATIONS_SETTING, PROJECT_KEY, TRAY_NOTICE_SETTING};
use crate::Shell;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use tauri::{AppHandle, Manager, Runtime, Window, WindowEvent};
use tauri_specta::Event;

pub const MAIN_WINDOW: &str = "main";
/// The argument the login start passes: start minimised to the tray.
pub const STARTED_AT_LOGIN: &str = "--minimised";

/// Asks the window to show a project (a click on a job's notification). Event name:
/// `open-project`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, tauri_specta::Event)]
pub struct OpenProject {
    /// The project's name.
    pub project: String,
}

/// What the desktop integration knows at runtime. Managed state.
#[derive(Default)]
pub struct Desktop {
    /// The tray icon exists: closing the window hides it instead of quitting.
    tray: AtomicBool,
    /// The tray notice was sent by this process (the setting may not be written yet).
    notice_sent: AtomicBool,
}

/// Show, unminimize and focus the main window.
pub fn show_main_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The plugins of the real app, to register before anything else: a second launch hands over
/// to the running instance, which shows its window.
pub fn plugins<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_main_window(app)
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![STARTED_AT_LOGIN]),
        ))
        .plugin(tauri_plugin_dialog::init())
        // Signed updates (its settings: tauri.conf.json `plugins.updater`; see crate::updates).
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(crate::updates::Updates::new(
            crate::updates::UpdateSource::from_env(),
        ))
        .manage(Desktop::default())
        .manage(crate::tray::ScheduleState::default())
        .on_window_event(on_window_event)
}

/// Set up the tray, the job hooks and the notification clicks. Never fails: what cannot be set
/// up is logged and left out.
pub fn setup<R: Runtime>(app: &AppHandle<R>) {
    let tray = match crate::tray::create(app) {
        Ok(()) => {
            app.state::<Desktop>().tray.store(true, Ordering::SeqCst);
            true
        }
        Err(e) => {
            eprintln!("warning: no tray icon ({e}); closing the window will quit Offsite");
            false
        }
    };
    // The window starts hidden (tauri.conf.json) and is shown here unless the user asked to
    // start in the tray, which needs a tray to come back from.
    let minimised = match app.state::<Shell>().engine() {
        Ok(engine) => {
            tauri::async_runtime::block_on(crate::commands::settings::start_minimised(engine))
        }
        Err(_) => false,
    };
    let at_login = std::env::args().any(|a| a == STARTED_AT_LOGIN);
    if !(tray && (minimised || at_login)) {
        show_main_window(app);
    }

    let handle = app.clone();
    app.state::<JobRegistry>()
        .on_finished(move |done| job_finished(&handle, done));

    // Scheduled backups and verifications, overdue alerts.
    crate::scheduler::start(app);
    // Update checks: at most once a day, unless turned off (crate::updates).
    crate::updates::spawn_checks(app);

    // A click on a job's notification opens the app on its project (Linux: as far as the
    // notification server reports clicks; see the plugin's `on_action`).
    if let Some(n) = app.try_state::<tauri_plugin_notification::Notification<R>>() {
        let handle = app.clone();
        let _ = n.on_action(move |action| {
            if action.action_id() != "tap" {
                return;
            }
            show_main_window(&handle);
            let project = action
                .notification()
                .and_then(|n| n.extra().get(PROJECT_KEY))
                .and_then(|v| v.as_str())
                .map(str::to_string);
            if let Some(project) = project {
                let _ = OpenProject { project }.emit(&handle);
            }
        });
    }
}

fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let app = window.app_handle();
    // Leaving the window (perhaps for the tray menu): its project lines catch up with projects
    // added or removed meanwhile.
    if let WindowEvent::Focused(false) = event {
        crate::tray::refresh(app);
        return;
    }
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    if window.label() != MAIN_WINDOW || !desktop.tray.load(Ordering::SeqCst) {
        return;
    }
    api.prevent_close();
    if let Err(e) = window.hide() {
        eprintln!("warning: could not hide the window: {e}");
    }
    crate::tray::refresh(app);
    if !desktop.notice_sent.load(Ordering::SeqCst) {
        let app = app.clone();
        tauri::async_runtime::spawn(async move { tray_notice(&app).await });
    }
}

/// The first time the window is hidden: say that Offsite keeps running in the tray, and
/// remember that it was said.
async fn tray_notice<R: Runtime>(app: &AppHandle<R>) {
    let shell = app.state::<Shell>();
    let Ok(engine) = shell.engine() else {
        return;
    };
    let shown = engine.setting(TRAY_NOTICE_SETTING).await.ok().flatten();
    let enabled = engine.setting(NOTIFICATIONS_SETTING).await.ok().flatten();
    if !notify::tray_notice_due(shown.as_deref(), enabled.as_deref()) {
        return;
    }
    if app
        .state::<Desktop>()
        .notice_sent
        .swap(true, Ordering::SeqCst)
    {
        return;
    }
    notify::send(app, &notify::tray_notice());
    if let Err(e) = engine
        .set_plain_settings(&[(TRAY_NOTICE_SETTING, "yes")])
        .await
    {
        eprintln!("warning: could not save a setting: {e}");
    }
}

/// After each job: refresh the tray, and notify when the user is not looking at the window.
fn job_finished<R: Runtime>(app: &AppHandle<R>, done: &JobDone) {
    crate::tray::refresh(app);
    let (visible, focused) = match app.get_webview_window(MAIN_WINDOW) {
        Some(w) => (
            w.is_visible().unwrap_or(false),
            w.is_focused().unwrap_or(false),
        ),
        None => (false, false),
    };
    let app = app.clone();
    let mut text = notify::job_text(done);
    tauri::async_runtime::spawn(async move {
        let setting = match app.state::<Shell>().engine() {
            Ok(engine) => {
                // What the project still needs, in the checklist's words.
                if let Some(project) = text.project.clone() {
                    let health = engine.health(Some(&project)).await.ok();
                    notify::with_next_step(&mut text, health.as_ref().and_then(|h| h.first()));
                }
                engine.setting(NOTIFICATIONS_SETTING).await.ok().flatten()
            }
            Err(_) => None,
        };
        if notify::should_notify(
            notify::notifications_enabled(setting.as_deref()),
            visible,
            focused,
        ) {
            notify::send(&app, &text);
        }
    });
}
