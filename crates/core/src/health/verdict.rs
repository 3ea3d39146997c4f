//! The verdict a project's card and the line over every project say (issue 64, item 1): which
//! state the headline is in ("Last good backup 2 h ago · next tonight 02:30", "No good backup
//! yet", "the last backup failed"), the tone it is said in, the one count (the checklist's) and
//! the summary across projects ("All 4 protected · last 02:30").
//!
//! The rules live here once; the app only words the state and writes the times in its one
//! format (the moments are carried as catalog timestamps, never as text).

use super::{CheckId, Health, ProblemKind, ProjectHealth};
use crate::catalog::JobKind;
use serde::{Deserialize, Serialize};

/// Which sentence the card's headline is, first match wins (the table of [`verdict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum VerdictState {
    /// Backups are paused until encryption is set up or its recovery key confirmed (the card's
    /// banner says what resumes them).
    Paused,
    /// A backup of the project runs now.
    Running,
    /// The server refused the credentials of the newest backup run.
    CredentialsRefused,
    /// The newest backup run failed (a good one may be older: `last_good` says).
    Failed,
    /// No good backup to restore from (none made, or every one damaged).
    NeverBackedUp,
    /// No good backup for longer than the schedule allows.
    Overdue,
    /// Backups are fine, something else needs the user (copies, verify, drill…).
    AtRisk,
    /// Nothing needs the user.
    Protected,
}

/// The colour the words are said in: `warn` while the backups themselves are not fine, `ok`
/// only when the project is protected, `plain` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum VerdictTone {
    Ok,
    Warn,
    Plain,
}

/// What the headline says comes next, after the last good backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    /// The schedule's next run, at `next_run`.
    At,
    /// No schedule: backups only by hand.
    NoSchedule,
    /// The schedule is paused.
    SchedulePaused,
    /// The schedule missed its time.
    Overdue,
    /// Nothing to add (backups paused: the banner says it; a schedule without a next run).
    Nothing,
}

/// A project's verdict: what its card's headline says, in which tone, and how many of its
/// checklist items need the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProjectVerdict {
    pub state: VerdictState,
    pub tone: VerdictTone,
    /// The newest good backup (catalog timestamp), `None`: no good backup yet.
    pub last_good: Option<String>,
    /// When the newest backup run failed, when it did (said after the last good backup).
    pub failed_at: Option<String>,
    pub next: NextStep,
    /// The schedule's next run, when `next` is [`NextStep::At`].
    pub next_run: Option<String>,
    /// The checklist's open items: the one count the badge, the card and the summary say.
    pub needs_you: u32,
    /// A backup of the project runs now: "Back up now" cannot start another.
    pub backup_running: bool,
}

/// The kinds of job that run now for a project, as the catalog records them.
pub(super) fn backup_runs(running: &[JobKind]) -> bool {
    running.contains(&JobKind::Backup)
}

fn has(h: &ProjectHealth, kind: ProblemKind) -> bool {
    h.problems.iter().any(|p| p.kind == kind)
}

/// The verdict of an assessed project (the table, first match wins):
///
/// | state               | when                                                    | tone                   |
/// |---------------------|---------------------------------------------------------|------------------------|
/// | paused              | encryption not set up or its recovery key unconfirmed   | warn                   |
/// | running             | a backup of the project runs now                        | as the state under it  |
/// | credentials_refused | the server refused the newest run's credentials         | warn                   |
/// | failed              | the newest run failed                                   | warn                   |
/// | never_backed_up     | no good backup                                          | warn                   |
/// | overdue             | the schedule missed its time                            | warn                   |
/// | at_risk             | anything else open (copies, verify, drill, schedule…)   | warn if "Backed up" is open, else plain |
/// | protected           | nothing open                                            | ok                     |
pub fn verdict(h: &ProjectHealth, running: &[JobKind]) -> ProjectVerdict {
    let backup_running = backup_runs(running);
    let state = settled_state(h);
    let tone = tone_of(state, h);
    let failed_at = h
        .last_run
        .as_ref()
        .filter(|_| {
            matches!(
                state,
                VerdictState::Failed | VerdictState::CredentialsRefused
            )
        })
        .map(|r| r.finished_at.clone());
    let next = if h.checklist.paused {
        NextStep::Nothing
    } else if h.schedule.is_none() {
        NextStep::NoSchedule
    } else if h.paused {
        NextStep::SchedulePaused
    } else if h.overdue {
        NextStep::Overdue
    } else if h.next_run.is_some() {
        NextStep::At
    } else {
        NextStep::Nothing
    };
    ProjectVerdict {
        // A running backup is the news; the tone stays the one of what it may change.
        state: if backup_running && state != VerdictState::Paused {
            VerdictState::Running
        } else {
            state
        },
        tone,
        last_good: h.last_good.clone(),
        failed_at,
        next,
        next_run: h.next_run.clone().filter(|_| next == NextStep::At),
        needs_you: u32::try_from(h.checklist.open().count()).unwrap_or(u32::MAX),
        backup_running,
    }
}

/// The state the project is in, a running backup aside.
fn settled_state(h: &ProjectHealth) -> VerdictState {
    use ProblemKind as P;
    if h.checklist.paused {
        VerdictState::Paused
    } else if has(h, P::CredentialsRejected) {
        VerdictState::CredentialsRefused
    } else if has(h, P::LastRunFailed) {
        VerdictState::Failed
    } else if h.last_good.is_none() {
        VerdictState::NeverBackedUp
    } else if h.overdue {
        VerdictState::Overdue
    } else if h.checklist.open().next().is_some() || h.health != Health::Protected {
        VerdictState::AtRisk
    } else {
        VerdictState::Protected
    }
}

/// The checklist's "Backed up recently" needs the user (failed, overdue, capture behind…).
fn backed_up_open(h: &ProjectHealth) -> bool {
    h.checklist
        .items
        .iter()
        .any(|i| i.id == CheckId::BackedUp && i.state.open())
}

fn tone_of(state: VerdictState, h: &ProjectHealth) -> VerdictTone {
    match state {
        VerdictState::Protected => VerdictTone::Ok,
        VerdictState::AtRisk if backed_up_open(h) => VerdictTone::Warn,
        VerdictState::AtRisk | VerdictState::Running => VerdictTone::Plain,
        _ => VerdictTone::Warn,
    }
}

/// The line over every project: "All 4 protected · last 02:30", else "1 of 4 protected · 3
/// things need you" — the count is the checklists' (the sum of the cards' counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OverviewVerdict {
    /// How many projects.
    pub projects: u32,
    /// How many are protected with nothing open.
    pub protected: u32,
    /// Every project is protected and nothing needs the user.
    pub all_protected: bool,
    /// The checklists' open items across every project.
    pub needs_you: u32,
    /// The newest good backup of any project (said after "All 4 protected").
    pub last_good: Option<String>,
    /// Backups of how many projects run now.
    pub running: u32,
    /// `ok` when all are protected, `warn` when any project's backups are not fine, else `plain`.
    pub tone: VerdictTone,
}

/// The summary of the projects' verdicts.
pub fn overview_verdict(list: &[ProjectHealth]) -> OverviewVerdict {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let protected = count(
        list.iter()
            .filter(|h| h.health == Health::Protected && h.verdict.needs_you == 0)
            .count(),
    );
    let needs_you = list
        .iter()
        .map(|h| h.verdict.needs_you)
        .fold(0u32, u32::saturating_add);
    let all_protected = !list.is_empty() && protected == count(list.len());
    let last_good = list
        .iter()
        .filter_map(|h| {
            let t = h.last_good.as_deref()?;
            crate::catalog::parse_timestamp(t).ok().map(|at| (at, t))
        })
        .max_by_key(|(at, _)| *at)
        .map(|(_, t)| t.to_string());
    let tone = if all_protected {
        VerdictTone::Ok
    } else if list.iter().any(|h| h.verdict.tone == VerdictTone::Warn) {
        VerdictTone::Warn
    } else {
        VerdictTone::Plain
    };
    OverviewVerdict {
        projects: count(list.len()),
        protected,
        all_protected,
        needs_you,
        last_good,
        running: count(list.iter().filter(|h| h.verdict.backup_running).count()),
        tone,
    }
}

/// A verdict to fill in before [`verdict`] reads the rest of the project's health.
impl Default for ProjectVerdict {
    fn default() -> Self {
        ProjectVerdict {
            state: VerdictState::Protected,
            tone: VerdictTone::Plain,
            last_good: None,
            failed_at: None,
            next: NextStep::Nothing,
            next_run: None,
            needs_you: 0,
            backup_running: false,
        }
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
