//! Is a project safe right now, and if not, what to do (issue 29): the one set of rules the
//! app's dashboard, the tray and `offsite status` all show.
//!
//! [`assess`] is a pure function of [`Facts`] (gathered from the catalog by [`gather`]) and
//! returns a [`ProjectHealth`]: one of three states, every problem found (worst first), each
//! with the action that solves it, and the facts a dashboard row shows. The table of rules is
//! [`RULES`], in the order problems rank; docs/health.md prints the same table.

pub mod checklist;
pub mod gather;
pub mod media;
pub mod verdict;

pub use checklist::{CheckId, CheckItem, CheckState, Checklist};
pub use verdict::{NextStep, OverviewVerdict, ProjectVerdict, VerdictState, VerdictTone};

use crate::schedule::Zone;
use serde::{Deserialize, Serialize};

/// The three states a project can be in, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// A recent good backup, made on a schedule, kept in more than one place.
    Protected,
    /// Backups exist, but something will make them fail, stale or lost.
    AtRisk,
    /// No good backup to restore from.
    Unprotected,
}

impl Health {
    pub fn label(self) -> &'static str {
        match self {
            Health::Protected => "Protected",
            Health::AtRisk => "At risk",
            Health::Unprotected => "Unprotected",
        }
    }
}

/// What is wrong, one kind per rule of [`RULES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// No backup at all.
    NeverBackedUp,
    /// Backups exist, but none is good (every one damaged or missing).
    NoGoodBackup,
    /// The newest backup run was refused by the server (password, token): nothing new will
    /// be made until the credentials are fixed.
    CredentialsRejected,
    /// The newest backup is damaged or its file is gone (an older good one exists).
    NewestDamaged,
    /// No good backup for longer than the schedule allows.
    Overdue,
    /// The newest backup run failed (for another reason than credentials).
    LastRunFailed,
    /// No backup schedule: nothing makes new backups.
    NoSchedule,
    /// The backup schedule is paused.
    SchedulePaused,
    /// The newest good backup exists in one place only.
    OneCopy,
    /// A copy to a destination has waited longer than the copy-pending limit.
    CopyPending,
    /// The backup folder or a destination is running out of space.
    SpaceLow,
    /// The backup server (agent) has not answered.
    ServerUnreachable,
    /// The backup server's certificate no longer matches the one trusted.
    ServerCertificateChanged,
    /// Supabase's own daily backup of the project is missing.
    PlatformBackupMissing,
    /// The newest good backup is older than the project's RPO (its recovery point target).
    RpoMissed,
    /// Point-in-time capture runs for the project but has not read its changes for longer than
    /// its limit (the RPO target, else a minute).
    CaptureBehind,
    /// The newest restore drill failed.
    DrillFailed,
    /// The newest good backup is in two places or more, but short of 3-2-1 (three copies, on
    /// two media, one offsite).
    CopiesShort,
    /// No backup was ever verified (its checksums read back) nor restored by a drill.
    NeverVerified,
    /// No drill ever restored a backup of the project.
    NeverProven,
    /// Encryption is on, but its recovery key was not confirmed: backups are paused.
    RecoveryKeyUnconfirmed,
    /// Encryption is to be on, but it was never set up: backups are paused.
    EncryptionNotSetUp,
    /// The replication slot of the project's point-in-time capture holds more of the server's
    /// WAL than the warning share of its limit ([`SLOT_WARN_PERCENT`]): past the limit Offsite
    /// drops it (the server's disk comes first) and the capture ends.
    SlotFilling,
    /// The project's point-in-time capture ended (its slot was dropped or vanished) and was
    /// neither started again nor turned off.
    CaptureEnded,
}

/// The one action that solves a problem (the dashboard's **Fix** button).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FixAction {
    BackUpNow,
    EditCredentials,
    VerifyPrevious,
    AddSchedule,
    ResumeSchedule,
    AddDestination,
    RetryCopies,
    FreeSpace,
    CheckServer,
    ReviewServerCertificate,
    OpenSupabase,
    OpenDrill,
    /// Verify the newest backup (read its checksums back).
    VerifyNow,
    /// Run a restore drill.
    RunDrill,
    /// Open the encryption settings at the recovery key's field.
    ConfirmRecoveryKey,
    /// Open the encryption settings to finish setting it up.
    SetUpEncryption,
    /// Run a point-in-time capture pass now.
    CaptureNow,
    /// Start the point-in-time capture again (a new base), or turn it off.
    RestartCapture,
}

impl FixAction {
    /// The button's words.
    pub fn label(self) -> &'static str {
        match self {
            FixAction::BackUpNow => "Back up now",
            FixAction::EditCredentials => "Edit credentials",
            FixAction::VerifyPrevious => "Verify the previous backup",
            FixAction::AddSchedule => "Add a schedule",
            FixAction::ResumeSchedule => "Resume the schedule",
            FixAction::AddDestination => "Add a destination",
            FixAction::RetryCopies => "Retry the copies",
            FixAction::FreeSpace => "Free space",
            FixAction::CheckServer => "Check the backup server",
            FixAction::ReviewServerCertificate => "Review the certificate",
            FixAction::OpenSupabase => "Open the Supabase dashboard",
            FixAction::OpenDrill => "Open the drill report",
            FixAction::VerifyNow => "Verify now",
            FixAction::RunDrill => "Run a drill",
            FixAction::ConfirmRecoveryKey => "Confirm your recovery key",
            FixAction::SetUpEncryption => "Set up encryption",
            FixAction::CaptureNow => "Capture now",
            FixAction::RestartCapture => "Start the capture again",
        }
    }
}

/// One rule: the problem, the state it puts the project in, and its fix. Problems rank in
/// this order (the first found is the one the dashboard names).
pub struct Rule {
    pub kind: ProblemKind,
    pub health: Health,
    pub fix: FixAction,
}

const fn rule(kind: ProblemKind, health: Health, fix: FixAction) -> Rule {
    Rule { kind, health, fix }
}

/// Every rule, worst first.
pub const RULES: [Rule; 24] = {
    use FixAction as F;
    use Health::{AtRisk, Unprotected};
    use ProblemKind as P;
    [
        rule(P::NeverBackedUp, Unprotected, F::BackUpNow),
        rule(P::NoGoodBackup, Unprotected, F::BackUpNow),
        // The server's disk comes first: a slot of Offsite's filling it is said before anything
        // about the backups.
        rule(P::SlotFilling, AtRisk, F::CaptureNow),
        rule(P::CaptureEnded, AtRisk, F::RestartCapture),
        rule(P::RecoveryKeyUnconfirmed, AtRisk, F::ConfirmRecoveryKey),
        rule(P::EncryptionNotSetUp, AtRisk, F::SetUpEncryption),
        rule(P::CredentialsRejected, AtRisk, F::EditCredentials),
        rule(P::NewestDamaged, AtRisk, F::VerifyPrevious),
        rule(P::Overdue, AtRisk, F::BackUpNow),
        rule(P::RpoMissed, AtRisk, F::BackUpNow),
        rule(P::CaptureBehind, AtRisk, F::CaptureNow),
        rule(P::LastRunFailed, AtRisk, F::BackUpNow),
        rule(
            P::ServerCertificateChanged,
            AtRisk,
            F::ReviewServerCertificate,
        ),
        rule(P::ServerUnreachable, AtRisk, F::CheckServer),
        rule(P::NoSchedule, AtRisk, F::AddSchedule),
        rule(P::SchedulePaused, AtRisk, F::ResumeSchedule),
        rule(P::SpaceLow, AtRisk, F::FreeSpace),
        rule(P::OneCopy, AtRisk, F::AddDestination),
        rule(P::CopyPending, AtRisk, F::RetryCopies),
        rule(P::CopiesShort, AtRisk, F::AddDestination),
        rule(P::NeverVerified, AtRisk, F::VerifyNow),
        rule(P::DrillFailed, AtRisk, F::OpenDrill),
        rule(P::NeverProven, AtRisk, F::RunDrill),
        rule(P::PlatformBackupMissing, AtRisk, F::OpenSupabase),
    ]
};

fn rule_of(kind: ProblemKind) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.kind == kind)
        .expect("every problem kind has a rule")
}

/// One place the newest good backup is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CopyMark {
    /// "This computer", "backup server", or the destination's name.
    pub place: String,
    /// `local`, `server` or `destination`.
    pub kind: String,
    /// There and checked (`false`: pending, or its last check failed).
    pub ok: bool,
    /// The place listed before it that is on the same medium (a folder on the disk of the
    /// local backups: "This computer"): it does not count as one more place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub same_medium_as: Option<String>,
    /// Why it counts less than it seems, in words ("usb is on the same disk as the local
    /// backups: one medium, not two"; "… a remote of type local …: not offsite").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub note: Option<String>,
    /// Away from this computer (an S3 bucket, a folder marked offsite on another disk): what
    /// the "1 offsite" of 3-2-1 counts.
    #[serde(default)]
    pub offsite: bool,
}

/// How the newest backup run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LastRun {
    pub finished_at: String,
    pub succeeded: bool,
    /// The error's code (`auth`, `connect`…) when it failed.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// The share of its limit (in percent) past which the WAL a capture's slot holds on the server
/// puts the project At risk; past the whole limit the slot is dropped.
pub const SLOT_WARN_PERCENT: u64 = 50;

/// What the replication slot of a project's point-in-time capture holds on its server, measured
/// when the status was read (`ops::pitr::slots`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotHeld {
    /// WAL the server keeps for the slot.
    pub retained: u64,
    /// The limit the slot is held to (the chain's, lowered by the server's free space when
    /// that is known and small).
    pub limit: u64,
    /// A capture is reading the slot right now.
    pub in_use: bool,
}

impl SlotHeld {
    /// Past the warning share of its limit.
    pub fn filling(&self) -> bool {
        u128::from(self.retained) * 100 > u128::from(self.limit) * u128::from(SLOT_WARN_PERCENT)
    }
}

/// A watched condition that holds now (`notify_conditions`): its kind and what it is about, by
/// the name a person knows it ([`gather`] turns a destination's id into its name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveCondition {
    pub kind: String,
    pub subject: String,
    pub detail: Option<String>,
}

/// Where a project's encryption stands (the `project_encryption` row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum EncryptionState {
    /// Off (the user's choice): backups are not encrypted.
    #[default]
    Off,
    /// To be on, but never set up: backups refuse to run.
    NotSetUp,
    /// On, the recovery key not confirmed: backups refuse to run.
    Unconfirmed,
    /// On and confirmed.
    Ready,
}

/// Everything the rules look at, for one project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub project: String,
    /// What a person calls the source: the database name, or the Supabase project's ref.
    pub subtitle: String,
    pub backups: u32,
    /// The newest good backup's time (succeeded, not corrupt, file there).
    pub last_good: Option<String>,
    /// The newest backup's status is corrupt or missing.
    pub newest_damaged: bool,
    /// When a backup of this project was last verified.
    pub last_verified: Option<String>,
    /// When the newest passed drill finished.
    pub last_proven: Option<String>,
    /// The newest drill failed (after the newest passed one, if any).
    pub drill_failed: bool,
    /// Where the newest good backup is kept.
    pub copies: Vec<CopyMark>,
    /// The backup schedule, if any (`daily 02:30`).
    pub schedule: Option<String>,
    pub paused: bool,
    pub next_run: Option<String>,
    pub overdue: bool,
    /// The overdue backup schedules by name (`default`, `hourly`…).
    pub overdue_schedules: Vec<String>,
    pub last_run: Option<LastRun>,
    pub conditions: Vec<ActiveCondition>,
    pub encryption: EncryptionState,
    /// The newest good backup is older than the project's RPO: (the RPO, the backup's age), in
    /// seconds.
    pub rpo_missed: Option<(u32, u64)>,
    /// Point-in-time capture is behind: (its limit, the seconds since it last had every change).
    pub capture_behind: Option<(u32, u64)>,
    /// When the running point-in-time capture last had every change (catalog timestamp).
    pub captured_to: Option<String>,
    /// What the capture's slot holds on the server, when it was measured.
    pub slot_held: Option<SlotHeld>,
    /// Why the point-in-time capture ended, when it ended and was neither started again nor
    /// turned off.
    pub capture_ended: Option<String>,
    /// The zone the sentences write times in (this computer's; `None`: UTC).
    pub zone: Option<Zone>,
    /// The kinds of job running now for the project (the catalog's `running` jobs).
    pub running: Vec<crate::catalog::JobKind>,
}

impl Facts {
    fn zone(&self) -> &Zone {
        static UTC: std::sync::OnceLock<Zone> = std::sync::OnceLock::new();
        self.zone
            .as_ref()
            .unwrap_or_else(|| UTC.get_or_init(Zone::utc))
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Problem {
    pub kind: ProblemKind,
    pub health: Health,
    /// One line a person reads ("the server refused the password").
    pub reason: String,
    pub fix: FixAction,
    pub fix_label: String,
}

/// A project's health: what the dashboard's row and `offsite status` show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProjectHealth {
    pub project: String,
    pub subtitle: String,
    pub health: Health,
    pub health_label: String,
    /// The worst problem's reason, or why the project is protected.
    pub reason: String,
    /// Every problem, worst first; the first one's fix is the **Fix** button.
    pub problems: Vec<Problem>,
    pub last_good: Option<String>,
    /// The newest moment the project can be restored to: the newest good backup, or later,
    /// where point-in-time capture runs, the moment it last had every change.
    #[serde(default)]
    pub recovery_point: Option<String>,
    pub last_verified: Option<String>,
    pub last_proven: Option<String>,
    pub copies: Vec<CopyMark>,
    pub schedule: Option<String>,
    /// The schedule in words ("daily at 02:30"), what the window shows.
    pub schedule_words: Option<String>,
    pub paused: bool,
    pub next_run: Option<String>,
    /// No good backup for longer than the schedule allows (docs/schedules.md), whether or not
    /// that is the worst problem (a project never backed up is also overdue).
    #[serde(default)]
    pub overdue: bool,
    pub last_run: Option<LastRun>,
    /// The protection checklist, next step first: what the dashboard's card, the project's
    /// header and `offsite status` list.
    pub checklist: Checklist,
    /// The kinds of job running now for the project: an action of a kind that runs is not
    /// offered again ("A backup is running").
    pub running: Vec<crate::catalog::JobKind>,
    /// What the card's headline says and in which tone, with the checklist's count
    /// ([`verdict::verdict`]).
    pub verdict: ProjectVerdict,
}

impl ProjectHealth {
    /// The action the **Fix** button takes (`None`: protected, nothing to fix).
    pub fn fix(&self) -> Option<FixAction> {
        self.problems.first().map(|p| p.fix)
    }
}

/// An RFC 3339 time as a person reads it in a reason (`2026-11-22 00:32 UTC`); anything else
/// as it is.
fn readable_time(t: &str, zone: &Zone) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(t, &Rfc3339) {
        Ok(at) => zone.readable(at),
        Err(_) => t.to_string(),
    }
}

/// The distinct places (media) holding an intact copy: a copy on the same medium as one listed
/// before it does not count again.
fn places(copies: &[CopyMark]) -> usize {
    copies
        .iter()
        .filter(|c| c.ok && c.same_medium_as.is_none())
        .count()
}

/// The 3-2-1 rule: at least three copies, on at least two media, at least one offsite.
pub fn meets_321(copies: usize, media: usize, offsite: bool) -> bool {
    copies >= 3 && media >= 2 && offsite
}

/// The newest good backup's copies against 3-2-1: "2 of 3 copies, on 2 separate disks, none away
/// from this computer",
/// and whether it meets it.
pub fn copies_line(copies: &[CopyMark]) -> (String, bool) {
    let n = copies.iter().filter(|c| c.ok).count();
    let media = places(copies);
    // As `offsite copies` counts it: any intact copy away from this computer.
    let offsite = copies.iter().any(|c| c.ok && c.offsite);
    // The glossary's words (issue 64, remote-05: "none offsite" in an app named Offsite).
    let line = format!(
        "{} of 3 copies, on {media} separate {}, {}",
        n,
        if media == 1 { "disk" } else { "disks" },
        if offsite {
            "1 away from this computer"
        } else {
            "none away from this computer"
        }
    );
    (line, meets_321(n, media, offsite))
}

/// The notes of the intact copies (why some count less), joined: " (…; …)", or "".
fn media_notes(copies: &[CopyMark]) -> String {
    let notes: Vec<&str> = copies
        .iter()
        .filter(|c| c.ok)
        .filter_map(|c| c.note.as_deref())
        .collect();
    if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    }
}

fn condition_reason(c: &ActiveCondition, what: &str) -> String {
    let mut out = what.to_string();
    if !c.subject.is_empty() {
        out.push_str(&format!(" ({})", c.subject));
    }
    if let Some(d) = &c.detail {
        out.push_str(&format!(": {d}"));
    }
    out
}

/// The problems of `f`, each once, in the order of [`RULES`].
/// Why a project is overdue: its newest good backup's time, and which named schedules have no
/// good backup of their own in time.
fn overdue_reason(f: &Facts) -> String {
    let since = f.last_good.as_deref().map(|t| readable_time(t, f.zone()));
    let since = since.as_deref().unwrap_or("never");
    format!(
        "overdue: the newest good backup is from {since}{}",
        overdue_which(&f.overdue_schedules)
    )
}

/// Which named schedules are overdue by their own backups, as said after the overdue reason
/// (the `default` schedule counts every backup: nothing to add for it).
fn overdue_which(names: &[String]) -> String {
    let named: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| *n != crate::catalog::DEFAULT_SCHEDULE)
        .collect();
    match named.as_slice() {
        [] => String::new(),
        [one] => format!(" (schedule {one} has no good backup of its own in time)"),
        many => format!(
            " (schedules {} have no good backup of their own in time)",
            many.join(", ")
        ),
    }
}

/// "the schedule (daily at 02:30) is paused": the schedule in words, never its text form.
fn paused_words(spec: &str) -> String {
    format!(
        "the schedule ({}) is paused",
        crate::schedule::schedule_words(spec)
    )
}

/// "point-in-time capture last read the database's changes 3 h ago, past its limit of 1 min".
fn capture_behind_reason(f: &Facts) -> Option<String> {
    let (limit, age) = f.capture_behind?;
    let d = |s: u64| crate::units::format_duration(std::time::Duration::from_secs(s));
    Some(format!(
        "point-in-time capture last read the database's changes {} ago, past its limit of {}",
        d(age),
        d(limit.into())
    ))
}

/// "the server holds 30.0 MB of WAL for point-in-time capture, limit 48.0 MB (dropped when
/// reached): …".
fn slot_filling_reason(f: &Facts) -> Option<String> {
    let s = f.slot_held.filter(SlotHeld::filling)?;
    let size = crate::units::format_bytes;
    let what = format!(
        "{} held on the server for point-in-time capture, limit {}",
        size(s.retained),
        size(s.limit)
    );
    Some(if s.in_use {
        format!("{what}: the capture is reading it; past the limit it is dropped")
    } else {
        format!(
            "{what}: no capture is reading it; past the limit it is dropped and the capture ends. \
             Start the capture, or turn it off"
        )
    })
}

/// The point-in-time capture's problems: its slot filling the server's disk, the capture ended,
/// the capture behind.
fn capture_problems(f: &Facts) -> Vec<(ProblemKind, String)> {
    let mut found = Vec::new();
    if let Some(why) = slot_filling_reason(f) {
        found.push((ProblemKind::SlotFilling, why));
    }
    if let Some(why) = &f.capture_ended {
        found.push((
            ProblemKind::CaptureEnded,
            format!("point-in-time capture ended: {why}. Start it again, or turn it off"),
        ));
    }
    if let Some(why) = capture_behind_reason(f) {
        found.push((ProblemKind::CaptureBehind, why));
    }
    found
}

fn problems(f: &Facts) -> Vec<(ProblemKind, String)> {
    use ProblemKind as P;
    let mut found: Vec<(ProblemKind, String)> = Vec::new();
    let mut add = |k: ProblemKind, reason: String| {
        if !found.iter().any(|(x, _)| *x == k) {
            found.push((k, reason));
        }
    };
    let paused = matches!(
        f.encryption,
        EncryptionState::Unconfirmed | EncryptionState::NotSetUp
    );
    match f.encryption {
        EncryptionState::Unconfirmed => add(
            P::RecoveryKeyUnconfirmed,
            "backups paused: confirm your recovery key (without it nobody can read the backups)"
                .into(),
        ),
        EncryptionState::NotSetUp => add(
            P::EncryptionNotSetUp,
            "backups paused: encryption is on but not set up yet".into(),
        ),
        EncryptionState::Off | EncryptionState::Ready => {}
    }
    if f.backups == 0 {
        add(P::NeverBackedUp, "never backed up".into());
    } else if f.last_good.is_none() {
        add(
            P::NoGoodBackup,
            "no good backup: every backup is damaged or missing".into(),
        );
    }
    // A run refused because encryption was not confirmed is the pause itself, said above.
    let refused_by_pause = |r: &LastRun| paused && r.error_code.as_deref() == Some("needs_consent");
    if let Some(run) = f
        .last_run
        .as_ref()
        .filter(|r| !r.succeeded && !refused_by_pause(r))
    {
        let why = run.error_message.clone().unwrap_or_else(|| "failed".into());
        if run.error_code.as_deref() == Some("auth") {
            add(
                P::CredentialsRejected,
                "the server refused the credentials of the last backup".into(),
            );
        } else {
            add(P::LastRunFailed, format!("the last backup failed: {why}"));
        }
    }
    if let Some((rpo, age)) = f.rpo_missed {
        let since = f.last_good.as_deref().map(|t| readable_time(t, f.zone()));
        let since = since.as_deref().unwrap_or("never");
        add(
            P::RpoMissed,
            format!(
                "the newest good backup ({since}) is {} old, past the recovery point target of {}",
                crate::schedule::format_target(u32::try_from(age).unwrap_or(u32::MAX)),
                crate::schedule::format_target(rpo)
            ),
        );
    }
    for (kind, why) in capture_problems(f) {
        add(kind, why);
    }
    if f.newest_damaged && f.last_good.is_some() {
        add(
            P::NewestDamaged,
            "the newest backup is damaged or missing; an older one is good".into(),
        );
    }
    if f.overdue && f.backups > 0 {
        add(P::Overdue, overdue_reason(f));
    }
    for c in &f.conditions {
        match c.kind.as_str() {
            "agent_certificate" => add(
                P::ServerCertificateChanged,
                condition_reason(c, "the backup server's certificate changed"),
            ),
            "agent_unreachable" => add(
                P::ServerUnreachable,
                condition_reason(c, "the backup server does not answer"),
            ),
            "space_low" => add(P::SpaceLow, condition_reason(c, "space is running out")),
            "copy_pending" => add(
                P::CopyPending,
                condition_reason(c, "a copy has been waiting"),
            ),
            "platform_backup_missing" => add(
                P::PlatformBackupMissing,
                condition_reason(c, "Supabase's own daily backup is missing"),
            ),
            _ => {}
        }
    }
    match (&f.schedule, f.paused) {
        (None, _) => add(
            P::NoSchedule,
            "no schedule: backups are only made by hand".into(),
        ),
        (Some(s), true) => add(P::SchedulePaused, paused_words(s)),
        _ => {}
    }
    if f.last_good.is_some() && places(&f.copies) < 2 {
        let only = f
            .copies
            .iter()
            .find(|c| c.ok)
            .map(|c| c.place.to_lowercase())
            .unwrap_or_else(|| "one place".into());
        // The count first, as the Copies item says it when done ("3 of 3 copies, …"); copies
        // that share one disk are counted and said to share it ("3 of 3 copies" alone read as
        // done beside "only on this computer").
        let n = f.copies.iter().filter(|c| c.ok).count();
        let shared = if n > 1 { ", all on one disk" } else { "" };
        add(
            P::OneCopy,
            format!(
                "{n} of 3 copies{shared}: the newest good backup is only on {only}{}",
                media_notes(&f.copies)
            ),
        );
    }
    let (line, meets) = copies_line(&f.copies);
    if f.last_good.is_some() && places(&f.copies) >= 2 && !meets {
        add(
            P::CopiesShort,
            format!(
                "{line}: 3-2-1 wants 3 copies, on 2 separate disks, 1 away from this computer{}",
                media_notes(&f.copies)
            ),
        );
    }
    if f.last_good.is_some()
        && !f.newest_damaged
        && f.last_verified.is_none()
        && f.last_proven.is_none()
    {
        add(
            P::NeverVerified,
            "no backup was verified yet: a verify reads the archive back and checks every checksum"
                .into(),
        );
    }
    if f.drill_failed {
        add(P::DrillFailed, "the newest restore drill failed".into());
    } else if f.last_good.is_some() && f.last_proven.is_none() {
        add(
            P::NeverProven,
            "no restore was tried yet: a drill restores a backup into a throwaway database and checks it"
                .into(),
        );
    }
    found.sort_by_key(|(k, _)| RULES.iter().position(|r| r.kind == *k));
    found
}

/// Why a project without problems is protected.
fn protected_reason(f: &Facts) -> String {
    let n = places(&f.copies);
    let copies = if n == 1 {
        "1 place".to_string()
    } else {
        format!("{n} places")
    };
    let notes = media_notes(&f.copies);
    match &f.last_proven {
        Some(_) => format!("backed up on schedule, kept in {copies}{notes}, restore proven"),
        // Only with a rule that does not ask for a drill (none today).
        None => format!("backed up on schedule, kept in {copies}{notes}"),
    }
}

/// Without a good backup, "Back up now" cannot help while the server refuses the credentials:
/// the rejected credentials' problem comes first (its fix is the Fix button), and the state
/// stays the worst one (Unprotected).
fn refused_first(problems: &mut Vec<Problem>) {
    // Paused backups come before anything: no backup runs until encryption is confirmed, so
    // every "Back up now" becomes the encryption's fix.
    if let Some(i) = problems.iter().position(|p| {
        matches!(
            p.kind,
            ProblemKind::RecoveryKeyUnconfirmed | ProblemKind::EncryptionNotSetUp
        )
    }) {
        let pause = problems.remove(i);
        for p in problems
            .iter_mut()
            .filter(|p| p.fix == FixAction::BackUpNow)
        {
            p.fix = pause.fix;
            p.fix_label = pause.fix.label().to_string();
        }
        problems.insert(0, pause);
        return;
    }
    let unprotected = matches!(
        problems.first().map(|p| p.kind),
        Some(ProblemKind::NeverBackedUp | ProblemKind::NoGoodBackup)
    );
    if let Some(i) = problems
        .iter()
        .position(|p| p.kind == ProblemKind::CredentialsRejected)
        .filter(|_| unprotected)
    {
        let refused = problems.remove(i);
        problems.insert(0, refused);
    }
}

/// The rules applied to `f`.
pub fn assess(f: &Facts) -> ProjectHealth {
    let problems: Vec<Problem> = problems(f)
        .into_iter()
        .map(|(kind, reason)| {
            let r = rule_of(kind);
            Problem {
                kind,
                health: r.health,
                reason,
                fix: r.fix,
                fix_label: r.fix.label().to_string(),
            }
        })
        .collect();
    let health = problems
        .iter()
        .map(|p| p.health)
        .max()
        .unwrap_or(Health::Protected);
    // The reason shown is the worst problem's (the first of the worst state).
    let reason = problems
        .iter()
        .find(|p| p.health == health)
        .map(|p| p.reason.clone())
        .unwrap_or_else(|| protected_reason(f));
    let mut problems = problems;
    problems.sort_by_key(|p| std::cmp::Reverse(p.health));
    refused_first(&mut problems);
    // Paused backups are what the project says first, whatever else is wrong.
    let reason = match problems.first() {
        Some(p) if checklist::item_of(p.kind) == CheckId::Encryption => p.reason.clone(),
        _ => reason,
    };
    let checklist = checklist::build(
        &problems,
        &checklist::Done {
            schedule: f.schedule.as_deref(),
            last_good: f.last_good.as_deref(),
            last_verified: f.last_verified.as_deref(),
            last_proven: f.last_proven.as_deref(),
            copies: copies_line(&f.copies).0,
            encryption: f.encryption,
            overdue: f.overdue,
            zone: f.zone(),
        },
    );
    let mut assessed = ProjectHealth {
        project: f.project.clone(),
        subtitle: f.subtitle.clone(),
        health,
        health_label: health.label().to_string(),
        reason,
        problems,
        last_good: f.last_good.clone(),
        recovery_point: recovery_point(f.last_good.as_deref(), f.captured_to.as_deref()),
        last_verified: f.last_verified.clone(),
        last_proven: f.last_proven.clone(),
        copies: f.copies.clone(),
        schedule: f.schedule.clone(),
        schedule_words: f.schedule.as_deref().map(crate::schedule::schedule_words),
        paused: f.paused,
        next_run: f.next_run.clone(),
        overdue: f.overdue,
        last_run: f.last_run.clone(),
        checklist,
        running: f.running.clone(),
        verdict: ProjectVerdict::default(),
    };
    assessed.verdict = verdict::verdict(&assessed, &f.running);
    assessed
}

/// The newer of the newest good backup and the capture's last complete read (catalog timestamps:
/// compared as instants, a malformed one ignored).
fn recovery_point(last_good: Option<&str>, captured_to: Option<&str>) -> Option<String> {
    let at = |t: Option<&str>| {
        t.and_then(|t| {
            crate::catalog::parse_timestamp(t)
                .ok()
                .map(|at| (at, t.to_string()))
        })
    };
    match (at(last_good), at(captured_to)) {
        (Some(g), Some(c)) => Some(if c.0 > g.0 { c.1 } else { g.1 }),
        (g, c) => g.or(c).map(|(_, t)| t),
    }
}

/// Projects worst first (then by name): the dashboard's order.
pub fn worst_first(list: &mut [ProjectHealth]) {
    let rank = |h: &ProjectHealth| {
        h.fix()
            .and_then(|_| {
                let k = h.problems[0].kind;
                RULES.iter().position(|r| r.kind == k)
            })
            .unwrap_or(RULES.len())
    };
    list.sort_by(|a, b| {
        b.health
            .cmp(&a.health)
            .then(rank(a).cmp(&rank(b)))
            .then(a.project.cmp(&b.project))
    });
}

/// "3 of 4 protected", and the worst state (what the tray icon shows).
pub fn summary(list: &[ProjectHealth]) -> (String, Health) {
    let protected = list
        .iter()
        .filter(|h| h.health == Health::Protected)
        .count();
    let worst = list
        .iter()
        .map(|h| h.health)
        .max()
        .unwrap_or(Health::Protected);
    let line = match list.len() {
        0 => "no projects yet".to_string(),
        n => format!("{protected} of {n} protected"),
    };
    (line, worst)
}

/// The Supabase dashboard page of project `project_ref` (the **Fix** of
/// [`FixAction::OpenSupabase`]); `None` for a ref that is not one (refs are lowercase letters
/// and digits), so nothing else is ever opened.
pub fn supabase_dashboard_url(project_ref: &str) -> Option<String> {
    let valid = !project_ref.is_empty()
        && project_ref.len() <= 64
        && project_ref
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    valid.then(|| format!("https://supabase.com/dashboard/project/{project_ref}"))
}

/// Every project's health, worst first, with the summary line and the worst state: what the
/// app's dashboard shows and its tray icon follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HealthOverview {
    /// "3 of 4 protected" ("no projects yet").
    pub summary: String,
    /// The worst state of any project (Protected with none).
    pub worst: Health,
    /// Worst first ([`worst_first`]).
    pub projects: Vec<ProjectHealth>,
    /// How many checklist items of all projects need the user (gaps and paused backups).
    pub needs_you: u32,
    /// "3 things need you" ("Nothing needs you").
    pub needs_you_line: String,
    /// The one line over every project, as the app words it ([`verdict::overview_verdict`]).
    pub verdict: OverviewVerdict,
}

/// How many checklist items of `list` need the user, and the line that says so.
pub fn needs_you(list: &[ProjectHealth]) -> (u32, String) {
    let n: usize = list.iter().map(|h| h.checklist.open().count()).sum();
    let line = match n {
        0 => "Nothing needs you".to_string(),
        1 => "1 thing needs you".to_string(),
        n => format!("{n} things need you"),
    };
    (n as u32, line)
}

/// The overview of `list` (sorted worst first here).
pub fn overview(mut list: Vec<ProjectHealth>) -> HealthOverview {
    worst_first(&mut list);
    let (summary, worst) = summary(&list);
    let (needs_you, needs_you_line) = needs_you(&list);
    let verdict = verdict::overview_verdict(&list);
    HealthOverview {
        summary,
        worst,
        verdict,
        projects: list,
        needs_you,
        needs_you_line,
    }
}

#[cfg(test)]
mod tests;
