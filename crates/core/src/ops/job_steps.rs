//! A running job's named steps (issue 64 item 6: "dump → compress → verify → copy"): the engine
//! reports phases (connecting, dumping, globals, packing, syncing, verifying, copying…); a person
//! reads a few steps, the one the job is on, and which are done. One table per kind of job.
//!
//! The rule is here once, in the engine: the app's tray tooltip says it ([`running_line`]), and
//! the app's job panel reads the same table from `ui/src/components/jobSteps.json`, which the
//! desktop crate's `the_ui_job_steps_json_is_the_table` writes and checks.

use crate::catalog::JobKind;
use crate::progress::Phase;
use serde::Serialize;

/// One named step: the engine's phases it covers.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StepDef {
    pub id: &'static str,
    pub label: &'static str,
    pub phases: &'static [Phase],
    /// Shown only once reached (a job may skip it: a backup copies only where the project has
    /// destinations; a restore makes a safety backup only when it replaces).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

const fn step(id: &'static str, label: &'static str, phases: &'static [Phase]) -> StepDef {
    StepDef {
        id,
        label,
        phases,
        optional: false,
    }
}

const fn optional(id: &'static str, label: &'static str, phases: &'static [Phase]) -> StepDef {
    StepDef {
        id,
        label,
        phases,
        optional: true,
    }
}

use Phase::*;

/// A backup made here.
pub const BACKUP: &[StepDef] = &[
    step(
        "dump",
        "Dump",
        &[Connecting, Counting, Dumping, Globals, Downloading],
    ),
    step("compress", "Compress", &[Packing, Syncing]),
    step("verify", "Verify", &[Verifying]),
    optional("copy", "Copy", &[Copying]),
];

/// A backup made by the project's backup server: made there, downloaded, checked here.
pub const SERVER_BACKUP: &[StepDef] = &[
    step(
        "server",
        "On the server",
        &[Connecting, OnServer, ServerStep],
    ),
    step("download", "Download", &[Downloading]),
    step("verify", "Verify", &[Verifying]),
    optional("copy", "Copy", &[Copying]),
];

pub const RESTORE: &[StepDef] = &[
    step("plan", "Plan", &[Connecting, Planning, Verifying]),
    optional(
        "safety",
        "Safety backup",
        &[SafetyBackup, Dumping, Packing, Syncing],
    ),
    step("restore", "Restore", &[Restoring, Downloading]),
    step("check", "Check", &[Validating]),
];

pub const IMPORT: &[StepDef] = &[
    step("read", "Read", &[Planning, Verifying, Connecting]),
    step("compress", "Compress", &[Packing, Syncing]),
];

/// The table of a job of `kind` that went through `phases` (a backup server's backup is known by
/// its phases, or by `server` before its first report). None: a job of one step (a verify, a
/// pull): its phase says it all.
fn defs_of(kind: JobKind, phases: &[Phase], server: bool) -> Option<&'static [StepDef]> {
    match kind {
        JobKind::Backup if server || phases.iter().any(|p| matches!(p, OnServer | ServerStep)) => {
            Some(SERVER_BACKUP)
        }
        JobKind::Backup => Some(BACKUP),
        JobKind::Restore => Some(RESTORE),
        JobKind::Import => Some(IMPORT),
        _ => None,
    }
}

/// Where a job is: the step it is on (1-based), of how many, and its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepAt {
    pub number: usize,
    pub of: usize,
    pub label: &'static str,
}

/// The step a job of `kind` is on at `phase` (None: not started yet, the first step), with the
/// phases it went through before (`reached`: a step is never undone by a phase of an earlier one,
/// like the backup's read-back). Optional steps count once reached. None: a job of one step, or
/// a job that is done.
pub fn step_at(kind: JobKind, phase: Option<Phase>, reached: &[Phase]) -> Option<StepAt> {
    let seen_phases: Vec<Phase> = reached.iter().copied().chain(phase).collect();
    let defs = defs_of(kind, &seen_phases, false)?;
    if phase == Some(Done) {
        return None;
    }
    let index = |p: &Phase| defs.iter().position(|d| d.phases.contains(p));
    let seen: Vec<usize> = seen_phases.iter().filter_map(index).collect();
    let current = seen.iter().copied().max().unwrap_or(0);
    let shown: Vec<usize> = (0..defs.len())
        .filter(|&i| !defs[i].optional || seen.contains(&i))
        .collect();
    let number = shown.iter().position(|&i| i == current)? + 1;
    Some(StepAt {
        number,
        of: shown.len(),
        label: defs[current].label,
    })
}

/// What a job of `kind` is doing, for people: "Backing up shop".
pub fn doing(kind: JobKind, subject: &str) -> String {
    match kind {
        JobKind::Backup => format!("Backing up {subject}"),
        JobKind::Verify => format!("Verifying a backup of {subject}"),
        JobKind::Restore => format!("Restoring {subject}"),
        JobKind::Import => format!("Importing into {subject}"),
        JobKind::Prune => format!("Removing old backups of {subject}"),
        JobKind::Pull => format!("Downloading backups of {subject}"),
        JobKind::Sync => format!("Copying backups of {subject}"),
        JobKind::FetchCopy => format!("Fetching a copy for {subject}"),
        JobKind::Drill => format!("Running a drill of {subject}"),
        JobKind::Recover => format!("Recovering rows into {subject}"),
    }
}

/// A job that runs now, as the tray knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningJob {
    pub kind: JobKind,
    /// The project (or what else it is about).
    pub subject: String,
    /// Its latest phase, when this app runs it (its scheduler's jobs too) and it reported;
    /// None: not yet, or another process runs it (the command line, `offsite daemon`).
    pub phase: Option<Phase>,
    /// The phases it reported before.
    pub reached: Vec<Phase>,
}

/// The tray's line for the jobs that run now: "Backing up shop — step 2 of 3: Compress", and
/// "(and 2 more jobs)" when others run too. None: nothing runs.
pub fn running_line(jobs: &[RunningJob]) -> Option<String> {
    let first = jobs.first()?;
    let mut line = doing(first.kind, &first.subject);
    // A job another process runs has no phases here: its step is not known, so none is said.
    if first.phase.is_some() || !first.reached.is_empty() {
        if let Some(at) = step_at(first.kind, first.phase, &first.reached) {
            line.push_str(&format!(" — step {} of {}: {}", at.number, at.of, at.label));
        }
    }
    match jobs.len() - 1 {
        0 => {}
        1 => line.push_str(" (and 1 more job)"),
        n => line.push_str(&format!(" (and {n} more jobs)")),
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: JobKind, phase: Option<Phase>, reached: &[Phase]) -> RunningJob {
        RunningJob {
            kind,
            subject: "shop".into(),
            phase,
            reached: reached.to_vec(),
        }
    }

    #[test]
    fn the_tray_names_the_running_job_and_its_step() {
        assert_eq!(running_line(&[]), None);
        assert_eq!(
            running_line(&[job(JobKind::Backup, Some(Packing), &[Connecting, Dumping])]),
            Some("Backing up shop — step 2 of 3: Compress".into())
        );
        // The backup's read-back (a verify phase) is not undone by a later phase of an earlier
        // step; the copy step counts once reached.
        assert_eq!(
            running_line(&[job(
                JobKind::Backup,
                Some(Copying),
                &[Dumping, Packing, Verifying]
            )]),
            Some("Backing up shop — step 4 of 4: Copy".into())
        );
        // A backup server's backup has its own steps.
        assert_eq!(
            running_line(&[job(JobKind::Backup, Some(Downloading), &[OnServer])]),
            Some("Backing up shop — step 2 of 3: Download".into())
        );
        // A scheduled run (another part of the app, or the command line): no step is known.
        assert_eq!(
            running_line(&[
                job(JobKind::Backup, None, &[]),
                job(JobKind::Verify, Some(Verifying), &[]),
                job(JobKind::Drill, None, &[]),
            ]),
            Some("Backing up shop (and 2 more jobs)".into())
        );
        // A job of one step says what it does, no step.
        assert_eq!(
            running_line(&[job(JobKind::Verify, Some(Verifying), &[])]),
            Some("Verifying a backup of shop".into())
        );
        assert_eq!(
            running_line(&[
                job(JobKind::Restore, Some(Restoring), &[Planning]),
                job(JobKind::Backup, None, &[])
            ]),
            Some("Restoring shop — step 2 of 3: Restore (and 1 more job)".into())
        );
    }
}
