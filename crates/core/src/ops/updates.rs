//! The rules of the desktop's update checks (the shell only wires the updater plugin to them):
//!
//! - a check is due at most once a day, by the wall clock of the engine's [`crate::Clock`], from
//!   the last check saved in the catalog (a setting, so it survives restarts);
//! - checks can be turned off (a plain setting, on when absent: catalogs written before this
//!   setting existed check);
//! - an update is installed (and the app restarted) only while no job runs, in this process or
//!   any other sharing the catalog (the command line, a scheduler).

use crate::catalog::{format_timestamp, parse_timestamp, JobState};
use crate::engine::Engine;
use crate::error::Result;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

/// Plain setting: `on` (or absent) or `off`.
pub const CHECK_FOR_UPDATES_SETTING: &str = "updates.check";
/// Plain setting: when updates were last checked (RFC 3339, UTC).
pub const LAST_CHECK_SETTING: &str = "updates.last_check";
/// The shortest time between two automatic checks.
pub const CHECK_EVERY: Duration = Duration::DAY;

/// Whether checks are on, from the saved value (absent or unknown: on).
pub fn checks_enabled(value: Option<&str>) -> bool {
    value.map(str::trim) != Some("off")
}

/// The saved value of "check for updates".
pub fn checks_setting_value(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// Whether an automatic check should run now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckDue {
    /// Check now (then [`Engine::record_update_check`]).
    Due,
    /// Checks are turned off.
    Off,
    /// The last check was less than [`CHECK_EVERY`] ago: not before `next`.
    NotBefore(OffsetDateTime),
}

/// The rule: off means never; never checked means now; else once [`CHECK_EVERY`] has passed
/// since the last check. A last check in the future (the clock was set back) is not trusted: a
/// check is due, and recording it brings the saved time back to the clock's.
pub fn check_due(enabled: bool, last: Option<OffsetDateTime>, now: OffsetDateTime) -> CheckDue {
    if !enabled {
        return CheckDue::Off;
    }
    match last {
        Some(last) if last <= now && now - last < CHECK_EVERY => {
            CheckDue::NotBefore(last + CHECK_EVERY)
        }
        _ => CheckDue::Due,
    }
}

/// Whether an update may be installed (which restarts the app) now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum InstallGate {
    Now,
    /// Jobs are running: wait until they end ("install when idle").
    WaitForJobs {
        running: u32,
    },
}

/// The rule: only while no job runs.
pub fn install_gate(running_jobs: usize) -> InstallGate {
    match running_jobs {
        0 => InstallGate::Now,
        n => InstallGate::WaitForJobs {
            running: u32::try_from(n).unwrap_or(u32::MAX),
        },
    }
}

/// Whether checks are on and when the last one was (an unreadable saved time counts as never).
pub(crate) async fn policy(engine: &Engine) -> Result<(bool, Option<OffsetDateTime>)> {
    let enabled = checks_enabled(engine.setting(CHECK_FOR_UPDATES_SETTING).await?.as_deref());
    let last = engine
        .setting(LAST_CHECK_SETTING)
        .await?
        .and_then(|v| parse_timestamp(&v).ok());
    Ok((enabled, last))
}

/// Whether an automatic check is due now (see [`check_due`]).
pub(crate) async fn due(engine: &Engine) -> Result<CheckDue> {
    let (enabled, last) = policy(engine).await?;
    Ok(check_due(enabled, last, engine.clock.now()))
}

/// Save "checked now"; returns the time saved.
pub(crate) async fn record_check(engine: &Engine) -> Result<OffsetDateTime> {
    let now = engine.clock.now();
    engine
        .set_plain_settings(&[(LAST_CHECK_SETTING, &format_timestamp(now))])
        .await?;
    Ok(now)
}

/// Whether an update may be installed now: no job running or cancelling in the catalog.
pub(crate) async fn gate(engine: &Engine) -> Result<InstallGate> {
    let mut running = 0;
    for state in [JobState::Running, JobState::Cancelling] {
        running += engine
            .catalog
            .jobs_filtered(None, None, None, Some(state), 1_000)
            .await?
            .len();
    }
    Ok(install_gate(running))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::JobKind;
    use crate::clock::ManualClock;
    use crate::secrets::MemoryStore;
    use crate::EngineConfig;
    use std::sync::Arc;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-24 09:00 UTC);

    #[test]
    fn due_at_most_once_a_day_and_never_when_off() {
        assert_eq!(check_due(true, None, T0), CheckDue::Due);
        assert_eq!(check_due(false, None, T0), CheckDue::Off);
        assert_eq!(
            check_due(false, Some(T0 - Duration::DAY * 30), T0),
            CheckDue::Off
        );
        let next = T0 + Duration::DAY;
        assert_eq!(check_due(true, Some(T0), T0), CheckDue::NotBefore(next));
        let almost = T0 + Duration::DAY - Duration::SECOND;
        assert_eq!(check_due(true, Some(T0), almost), CheckDue::NotBefore(next));
        assert_eq!(check_due(true, Some(T0), next), CheckDue::Due);
        // The clock was set back past the last check: that time is not trusted.
        assert_eq!(
            check_due(true, Some(T0), T0 - Duration::HOUR),
            CheckDue::Due
        );
    }

    #[test]
    fn install_only_without_a_running_job() {
        assert_eq!(install_gate(0), InstallGate::Now);
        assert_eq!(install_gate(2), InstallGate::WaitForJobs { running: 2 });
    }

    #[test]
    fn checks_are_on_unless_turned_off() {
        // Catalogs from before the setting existed have no value: on.
        assert!(checks_enabled(None));
        assert!(checks_enabled(Some("on")));
        assert!(!checks_enabled(Some(checks_setting_value(false))));
        assert!(checks_enabled(Some(checks_setting_value(true))));
    }

    async fn engine_at(clock: Arc<ManualClock>) -> (Engine, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(
            EngineConfig::new(Arc::new(MemoryStore::new()))
                .data_dir(Some(dir.path().into()))
                .clock(clock),
        )
        .await
        .unwrap();
        (engine, dir)
    }

    #[tokio::test]
    async fn the_engine_checks_once_a_day_by_its_clock_and_not_when_off() {
        let clock = ManualClock::new(T0);
        let (engine, _dir) = engine_at(clock.clone()).await;
        assert_eq!(engine.update_check_due().await.unwrap(), CheckDue::Due);
        assert_eq!(engine.record_update_check().await.unwrap(), T0);
        let next = T0 + Duration::DAY;
        assert_eq!(
            engine.update_check_due().await.unwrap(),
            CheckDue::NotBefore(next)
        );
        clock.advance(Duration::HOUR * 23);
        assert_eq!(
            engine.update_check_due().await.unwrap(),
            CheckDue::NotBefore(next)
        );
        clock.advance(Duration::HOUR);
        assert_eq!(engine.update_check_due().await.unwrap(), CheckDue::Due);
        // Turned off (saved with the other settings, at once): no check, however long ago.
        engine
            .save_settings(crate::ops::settings::SettingsChange {
                plain: vec![(CHECK_FOR_UPDATES_SETTING.into(), "off".into())],
                ..Default::default()
            })
            .await
            .unwrap();
        clock.advance(Duration::DAY * 10);
        assert_eq!(engine.update_check_due().await.unwrap(), CheckDue::Off);
    }

    #[tokio::test]
    async fn the_engine_waits_for_running_jobs_before_installing() {
        let (engine, _dir) = engine_at(ManualClock::new(T0)).await;
        assert_eq!(
            engine.update_install_gate().await.unwrap(),
            InstallGate::Now
        );
        let job = engine
            .catalog
            .start_job(JobKind::Backup, None)
            .await
            .unwrap();
        assert_eq!(
            engine.update_install_gate().await.unwrap(),
            InstallGate::WaitForJobs { running: 1 }
        );
        engine.catalog.set_job_cancelling(&job.id).await.unwrap();
        assert_eq!(
            engine.update_install_gate().await.unwrap(),
            InstallGate::WaitForJobs { running: 1 }
        );
        engine
            .catalog
            .finish_job(&job.id, crate::catalog::JobOutcome::Cancelled)
            .await
            .unwrap();
        assert_eq!(
            engine.update_install_gate().await.unwrap(),
            InstallGate::Now
        );
    }
}
