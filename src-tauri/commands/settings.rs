//! The app's preferences: the desktop's own (saved as plain engine settings) and the engine's
//! (backup folder, pg_dump folder: shared with the command line); the pg_dump tools found.

use super::{err, CmdResult};
use crate::Shell;
use offsite_core::ops::settings::SettingsChange;
use offsite_core::ops::updates;
use offsite_core::ops::{EngineSettings, ToolsReport};
use offsite_core::{Engine, Error};
use serde::{Deserialize, Serialize};
use tauri::State;

/// How the window looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follow the system's light or dark preference.
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
    fn parse(s: Option<&str>) -> Theme {
        match s {
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            _ => Theme::System,
        }
    }
}

/// The app's preferences: the desktop's own, and the engine's (shared with the command line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct DesktopSettings {
    /// Show a desktop notification when a job finishes while the window is hidden or
    /// unfocused (default on).
    pub notifications: bool,
    /// Start with the window hidden in the tray (default off; ignored without a tray).
    pub start_minimised: bool,
    pub theme: Theme,
    /// Notifications of scheduled backups and verifications: `always` (default), `failures`
    /// only, or `never` (sent whether or not the window is visible).
    pub schedule_notifications: ScheduleNotifications,
    /// How many scheduled runs may run at once, 1 (default) to 4 (never two on one project).
    pub schedule_concurrency: u32,
    /// Backups of projects without their own folder go to `<this>/<project>`; `null`: the
    /// data folder's `backups/`.
    pub default_backup_dir: Option<String>,
    /// The folder of pg_dump/pg_restore; `null`: search.
    pub pg_bin: Option<String>,
    /// Look for a new version of Offsite at most once a day (default on). Always set in what
    /// the app returns; `null` or absent in what is saved (a UI that does not know it) keeps it.
    #[serde(default)]
    pub check_for_updates: Option<bool>,
}

/// When scheduled runs are announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleNotifications {
    Always,
    Failures,
    Never,
}

impl ScheduleNotifications {
    fn from_setting(v: Option<&str>) -> Self {
        match crate::scheduler::schedule_notify(v) {
            crate::scheduler::ScheduleNotify::Always => ScheduleNotifications::Always,
            crate::scheduler::ScheduleNotify::Failures => ScheduleNotifications::Failures,
            crate::scheduler::ScheduleNotify::Never => ScheduleNotifications::Never,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            ScheduleNotifications::Always => "always",
            ScheduleNotifications::Failures => "failures",
            ScheduleNotifications::Never => "never",
        }
    }
}

const START_MINIMISED_SETTING: &str = "desktop.start_minimised";
const THEME_SETTING: &str = "desktop.theme";
// `desktop.stale_after_days` (a "stale after N days" preference) is no longer read or written:
// whether a project is overdue is the engine's health rule (docs/health.md), the same for the
// dashboard and `offsite status`. A value saved by an older version stays in the catalog, unused,
// and a UI that still sends the field is not refused (unknown fields are ignored).

/// Whether the app starts hidden in the tray.
pub(crate) async fn start_minimised(engine: &Engine) -> bool {
    matches!(
        engine.setting(START_MINIMISED_SETTING).await,
        Ok(Some(v)) if v == "on"
    )
}

/// Whether updates are checked (on unless turned off: catalogs from before the setting check).
async fn checks_for_updates(engine: &Engine) -> CmdResult<bool> {
    let saved = engine
        .setting(updates::CHECK_FOR_UPDATES_SETTING)
        .await
        .map_err(err)?;
    Ok(updates::checks_enabled(saved.as_deref()))
}

/// The app's preferences.
#[tauri::command]
#[specta::specta]
pub async fn get_desktop_settings(shell: State<'_, Shell>) -> CmdResult<DesktopSettings> {
    let engine = shell.engine()?;
    let get = |key: &'static str| async move { engine.setting(key).await.map_err(err) };
    let saved = engine.settings();
    Ok(DesktopSettings {
        notifications: crate::notify::notifications_enabled(
            get(crate::notify::NOTIFICATIONS_SETTING).await?.as_deref(),
        ),
        start_minimised: start_minimised(engine).await,
        theme: Theme::parse(get(THEME_SETTING).await?.as_deref()),
        schedule_notifications: ScheduleNotifications::from_setting(
            get(crate::scheduler::SCHEDULE_NOTIFICATIONS_SETTING)
                .await?
                .as_deref(),
        ),
        schedule_concurrency: engine.schedule_concurrency().await as u32,
        default_backup_dir: saved.default_backup_dir,
        pg_bin: saved.pg_bin,
        check_for_updates: Some(checks_for_updates(engine).await?),
    })
}

/// Check and save the preferences; returns them as saved. A backup folder that cannot be
/// written, a pg_dump folder without working tools or a concurrency out of range is an error,
/// and then nothing is saved.
#[tauri::command]
#[specta::specta]
pub async fn set_desktop_settings(
    shell: State<'_, Shell>,
    settings: DesktopSettings,
) -> CmdResult<DesktopSettings> {
    let engine = shell.engine()?;
    // One engine call: every part checked (the folders, the concurrency), then all saved, or
    // nothing.
    let plain = [
        (
            crate::notify::NOTIFICATIONS_SETTING,
            crate::notify::setting_value(settings.notifications),
        ),
        (
            START_MINIMISED_SETTING,
            crate::notify::setting_value(settings.start_minimised),
        ),
        (THEME_SETTING, settings.theme.as_str()),
        (
            crate::scheduler::SCHEDULE_NOTIFICATIONS_SETTING,
            settings.schedule_notifications.as_str(),
        ),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let mut plain = plain.to_vec();
    if let Some(on) = settings.check_for_updates {
        let value = updates::checks_setting_value(on);
        plain.push((updates::CHECK_FOR_UPDATES_SETTING.into(), value.into()));
    }
    let saved = engine
        .save_settings(SettingsChange {
            engine: EngineSettings {
                default_backup_dir: settings.default_backup_dir.clone(),
                pg_bin: settings.pg_bin.clone(),
            },
            plain,
            schedule_concurrency: Some(settings.schedule_concurrency),
        })
        .await
        .map_err(err)?;
    Ok(DesktopSettings {
        default_backup_dir: saved.default_backup_dir,
        pg_bin: saved.pg_bin,
        check_for_updates: Some(checks_for_updates(engine).await?),
        ..settings
    })
}

/// The pg_dump/pg_restore pairs on this machine with their versions, and the one configured.
#[tauri::command]
#[specta::specta]
pub async fn detect_tools(shell: State<'_, Shell>) -> CmdResult<ToolsReport> {
    shell.engine()?.tools().await.map_err(err)
}

/// Whether Offsite starts at login (minimised to the tray). `false` where the platform's
/// autostart is not available (and in the mock runtime of the tests).
#[tauri::command]
#[specta::specta]
pub async fn get_autostart<R: tauri::Runtime>(app: tauri::AppHandle<R>) -> CmdResult<bool> {
    use tauri::Manager;
    use tauri_plugin_autostart::ManagerExt;
    if app
        .try_state::<tauri_plugin_autostart::AutoLaunchManager>()
        .is_none()
    {
        return Ok(false);
    }
    Ok(app.autolaunch().is_enabled().unwrap_or(false))
}

/// Start Offsite at login (minimised to the tray), or not; returns the new state.
#[tauri::command]
#[specta::specta]
pub async fn set_autostart<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    on: bool,
) -> CmdResult<bool> {
    use tauri::Manager;
    use tauri_plugin_autostart::ManagerExt;
    if app
        .try_state::<tauri_plugin_autostart::AutoLaunchManager>()
        .is_none()
    {
        return Err(err(Error::new(
            offsite_core::ErrorKind::Io,
            "starting at login is not available here",
        )
        .with_hint(
            "start Offsite from your desktop's autostart settings instead",
        )));
    }
    let m = app.autolaunch();
    let done = if on { m.enable() } else { m.disable() };
    done.map_err(|e| {
        err(Error::new(
            offsite_core::ErrorKind::Io,
            format!("could not change starting at login: {e}"),
        ))
    })?;
    Ok(m.is_enabled().unwrap_or(on))
}
