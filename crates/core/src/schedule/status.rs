//! A project's schedule state, as the schedule loop, the tray, the metrics and the dashboard see it.

use serde::Serialize;

/// A project's schedule state.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProjectStatus {
    pub name: String,
    /// The newest good backup's time (succeeded, not known corrupt, file not missing).
    pub last_good: Option<String>,
    /// The backup schedule's next run (`None`: no schedule, or paused).
    pub next_run: Option<String>,
    /// No good backup for longer than the schedule's longest gap plus the grace (1 hour).
    pub overdue: bool,
    /// The backup schedule (`daily 02:30`), if any.
    pub schedule: Option<String>,
    pub paused: bool,
}
