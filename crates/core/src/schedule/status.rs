//! A project's schedule state, as the schedule loop, the tray, the metrics and the dashboard see it.

use serde::Serialize;

/// A project's schedule state.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProjectStatus {
    pub name: String,
    /// The newest good backup's time (succeeded, not known corrupt, file not missing).
    pub last_good: Option<String>,
    /// The soonest next run of its backup schedules (`None`: none, or all paused).
    pub next_run: Option<String>,
    /// A backup schedule is overdue: no good backup of its own for longer than its longest gap
    /// plus the grace (1 hour); the `default` schedule counts every good backup.
    pub overdue: bool,
    /// The names of the overdue backup schedules (`default`, `hourly`, …).
    pub overdue_schedules: Vec<String>,
    /// The backup schedule (`daily 02:30`; its `default` one, else its first), if any.
    pub schedule: Option<String>,
    /// Every backup schedule of the project is paused.
    pub paused: bool,
}
