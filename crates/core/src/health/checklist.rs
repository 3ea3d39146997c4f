//! The one protection checklist (issue 44): per project, six items — Scheduled · Backed up
//! recently · Verified · Copies · Restore proven · Encryption ready — each with its state, a
//! sentence saying why, and its **Fix**. It is a grouping of the problems [`super::assess`]
//! finds (every problem belongs to exactly one item, [`item_of`]), so the checklist, the state
//! (Protected / At risk / Unprotected), the dashboard's Fix button, `offsite status`, the tray
//! and the project header cannot disagree: a project is Protected exactly when every item that
//! applies is done.
//!
//! Items are listed next step first: the items with a gap in the order of their problems (the
//! first one's Fix is the project's Fix), then the items waiting for another one, then the done
//! ones, then the ones that do not apply (encryption the user left off).

use super::{EncryptionState, FixAction, Problem, ProblemKind};
use crate::schedule::Zone;
use serde::{Deserialize, Serialize};

/// The six items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    Scheduled,
    BackedUp,
    Verified,
    Copies,
    RestoreProven,
    Encryption,
}

impl CheckId {
    /// Every item, in the order a person reads the list when all is done.
    pub const ALL: [CheckId; 6] = [
        CheckId::Scheduled,
        CheckId::BackedUp,
        CheckId::Verified,
        CheckId::Copies,
        CheckId::RestoreProven,
        CheckId::Encryption,
    ];

    /// The item's name.
    pub fn label(self) -> &'static str {
        match self {
            CheckId::Scheduled => "Scheduled",
            CheckId::BackedUp => "Backed up recently",
            CheckId::Verified => "Verified",
            CheckId::Copies => "Copies",
            CheckId::RestoreProven => "Restore proven",
            CheckId::Encryption => "Encryption ready",
        }
    }
}

/// An item's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// Done: nothing to do.
    Done,
    /// Something to do: its Fix does it.
    Gap,
    /// Backups cannot run until another item is done (the recovery key is not confirmed): its
    /// Fix is that item's, never "Back up now".
    Paused,
    /// Cannot be done before another item (nothing to verify before the first good backup).
    Waiting,
    /// Does not apply (encryption the user left off).
    Off,
}

impl CheckState {
    /// Whether the item still needs something (a gap, or paused).
    pub fn open(self) -> bool {
        matches!(self, CheckState::Gap | CheckState::Paused)
    }
}

/// One item of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CheckItem {
    pub id: CheckId,
    /// "Restore proven".
    pub label: String,
    pub state: CheckState,
    /// Why, in a sentence a person reads ("No restore has been tried yet.").
    pub why: String,
    /// The action that does it (`None`: done, off, or waiting for another item).
    pub fix: Option<FixAction>,
    pub fix_label: Option<String>,
    /// The instant `why` names (RFC 3339), if it names one: `why` writes it in this computer's
    /// zone ("2026-11-24 03:30 CET"); a front end with its own time format fills `why_at`.
    pub at: Option<String>,
    /// `why` with `{at}` where the time is ("The newest good backup is from {at}."), when it
    /// names one.
    pub why_at: Option<String>,
}

/// A project's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Checklist {
    /// Next step first ([`self`]'s order).
    pub items: Vec<CheckItem>,
    /// Items done.
    pub done: u32,
    /// Items that apply (not off).
    pub total: u32,
    /// "4 of 6 done".
    pub line: String,
    /// Backups are paused until the recovery key is confirmed (or encryption is set up).
    pub paused: bool,
}

impl Checklist {
    /// The item with `id`.
    pub fn item(&self, id: CheckId) -> &CheckItem {
        self.items
            .iter()
            .find(|i| i.id == id)
            .expect("every checklist has every item")
    }

    /// The items still needing something, next step first.
    pub fn open(&self) -> impl Iterator<Item = &CheckItem> {
        self.items.iter().filter(|i| i.state.open())
    }

    /// What a notification about the project says of it (desktop, email, webhooks, chats):
    /// "2 of 5 done · next: No restore has been tried yet. Run a drill" — the count and the next
    /// item's why and Fix. `None` when every item that applies is done.
    pub fn next_step(&self) -> Option<String> {
        let next = self.open().next()?;
        Some(match &next.fix_label {
            Some(fix) => format!("{} · next: {} {fix}", self.line, next.why),
            None => format!("{} · next: {}", self.line, next.why),
        })
    }
}

/// The item a problem belongs to.
pub fn item_of(kind: ProblemKind) -> CheckId {
    use ProblemKind as P;
    match kind {
        P::NoSchedule | P::SchedulePaused => CheckId::Scheduled,
        P::NeverBackedUp
        | P::NoGoodBackup
        | P::CredentialsRejected
        | P::Overdue
        | P::RpoMissed
        | P::CaptureBehind
        | P::SlotFilling
        | P::CaptureEnded
        | P::LastRunFailed
        | P::ServerCertificateChanged
        | P::ServerUnreachable
        | P::SpaceLow => CheckId::BackedUp,
        P::NewestDamaged | P::NeverVerified => CheckId::Verified,
        P::OneCopy | P::CopiesShort | P::CopyPending | P::PlatformBackupMissing => CheckId::Copies,
        P::DrillFailed | P::NeverProven => CheckId::RestoreProven,
        P::RecoveryKeyUnconfirmed | P::EncryptionNotSetUp => CheckId::Encryption,
    }
}

/// What the checklist reads besides the problems.
pub(super) struct Done<'a> {
    pub schedule: Option<&'a str>,
    pub last_good: Option<&'a str>,
    pub last_verified: Option<&'a str>,
    pub last_proven: Option<&'a str>,
    /// "3 copies on 3 media, 1 offsite".
    pub copies: String,
    pub encryption: EncryptionState,
    /// A schedule missed its slot (also when a worse problem, "never backed up", is named).
    pub overdue: bool,
    /// The zone times are written in.
    pub zone: &'a Zone,
}

fn item(id: CheckId, state: CheckState, why: String, fix: Option<FixAction>) -> CheckItem {
    CheckItem {
        id,
        label: id.label().to_string(),
        state,
        why,
        fix,
        fix_label: fix.map(|f| f.label().to_string()),
        at: None,
        why_at: None,
    }
}

/// The instant item `i`'s sentence may name, and the sentence with `{at}` in its place.
fn with_time(i: &mut CheckItem, d: &Done<'_>) {
    let t = match i.id {
        CheckId::BackedUp => d.last_good,
        CheckId::Verified => d.last_verified.or(d.last_proven),
        CheckId::RestoreProven => d.last_proven,
        _ => None,
    };
    let Some(t) = t else { return };
    let written = super::readable_time(t, d.zone);
    if i.why.contains(&written) {
        i.why_at = Some(i.why.replace(&written, "{at}"));
        i.at = Some(t.to_string());
    }
}

/// The sentence of a done item.
fn done_why(id: CheckId, d: &Done<'_>) -> String {
    let at = |t: Option<&str>| {
        t.map(|t| super::readable_time(t, d.zone))
            .unwrap_or_default()
    };
    match id {
        CheckId::Scheduled => format!(
            "Backs up {}.",
            d.schedule
                .map(crate::schedule::schedule_words)
                .as_deref()
                .unwrap_or("on a schedule")
        ),
        CheckId::BackedUp => format!("The newest good backup is from {}.", at(d.last_good)),
        CheckId::Verified => match d.last_verified {
            Some(t) => format!("Checksums checked {}.", at(Some(t))),
            None => format!("Read back in full by the drill of {}.", at(d.last_proven)),
        },
        CheckId::Copies => format!("{}: 3-2-1 met.", d.copies),
        CheckId::RestoreProven => format!(
            "A drill restored a backup and checked it {}.",
            at(d.last_proven)
        ),
        CheckId::Encryption => {
            "Backups are encrypted and the recovery key is confirmed.".to_string()
        }
    }
}

/// The checklist of a project whose problems are `problems` (in the order the Fix follows).
pub(super) fn build(problems: &[Problem], d: &Done<'_>) -> Checklist {
    let paused = problems.iter().any(|p| {
        matches!(
            p.kind,
            ProblemKind::RecoveryKeyUnconfirmed | ProblemKind::EncryptionNotSetUp
        )
    });
    let pause_fix = problems
        .iter()
        .find(|p| item_of(p.kind) == CheckId::Encryption)
        .map(|p| p.fix);
    let mut open: Vec<CheckItem> = Vec::new();
    for p in problems {
        let id = item_of(p.kind);
        if open.iter().any(|i| i.id == id) {
            continue;
        }
        open.push(item(id, CheckState::Gap, why_of(p), Some(p.fix)));
    }
    overdue_schedule(&mut open, problems, d);
    // Paused backups: the backup item says what it waits for, and its Fix is the encryption's.
    // "Backups paused" itself is said once, by the project's banner (front ends) or reason.
    if paused {
        let why = if pause_fix == Some(FixAction::SetUpEncryption) {
            "Backing up waits for encryption to be set up."
        } else {
            "Backing up waits for the recovery key."
        }
        .to_string();
        match open.iter_mut().find(|i| i.id == CheckId::BackedUp) {
            Some(i) => {
                i.state = CheckState::Paused;
                i.why = format!("{} {why}", i.why);
                i.fix = pause_fix;
                i.fix_label = pause_fix.map(|f| f.label().to_string());
            }
            None => {
                let why = match d.last_good {
                    Some(t) => format!(
                        "The newest good backup is from {}. {why}",
                        super::readable_time(t, d.zone)
                    ),
                    None => why,
                };
                open.push(item(CheckId::BackedUp, CheckState::Paused, why, pause_fix));
            }
        }
    }
    let mut rest: Vec<CheckItem> = Vec::new();
    for id in CheckId::ALL {
        if open.iter().any(|i| i.id == id) {
            continue;
        }
        let waits = d.last_good.is_none()
            && matches!(
                id,
                CheckId::Verified | CheckId::Copies | CheckId::RestoreProven
            );
        rest.push(if waits {
            item(
                id,
                CheckState::Waiting,
                "Waits for a first good backup.".into(),
                None,
            )
        } else if id == CheckId::Encryption && d.encryption == EncryptionState::Off {
            item(
                id,
                CheckState::Off,
                // Said, so "N of M done" and the rows agree (issue 44: "2 of 5 done" above six).
                "Off (your choice), so not counted: anyone who gets a copy can read it.".into(),
                None,
            )
        } else {
            item(id, CheckState::Done, done_why(id, d), None)
        });
    }
    // Waiting, then done, then off.
    rest.sort_by_key(|i| match i.state {
        CheckState::Waiting => 0,
        CheckState::Done => 1,
        _ => 2,
    });
    open.extend(rest);
    for i in &mut open {
        with_time(i, d);
    }
    let done = open.iter().filter(|i| i.state == CheckState::Done).count() as u32;
    let total = open.iter().filter(|i| i.state != CheckState::Off).count() as u32;
    Checklist {
        items: open,
        done,
        total,
        line: format!("{done} of {total} done"),
        paused,
    }
}

/// An overdue schedule is not done (issue 44: "Done: Scheduled" beside a red "Overdue"): the
/// Scheduled item says it is overdue, and its next step is the backup item's (the credentials
/// to fix when runs are refused, else "Back up now"). Placed right after the backup item.
fn overdue_schedule(open: &mut Vec<CheckItem>, problems: &[Problem], d: &Done<'_>) {
    if !d.overdue || d.schedule.is_none() || open.iter().any(|i| i.id == CheckId::Scheduled) {
        return;
    }
    let fix = problems
        .iter()
        .find(|p| item_of(p.kind) == CheckId::BackedUp)
        .map_or(FixAction::BackUpNow, |p| p.fix);
    let when = d
        .schedule
        .map(crate::schedule::schedule_words)
        .unwrap_or_default();
    let why = match d.last_good {
        Some(_) => format!("Overdue: the schedule ({when}) missed its last backup."),
        None => format!("Overdue: the schedule ({when}) has not made a good backup yet."),
    };
    let at = open
        .iter()
        .position(|i| i.id == CheckId::BackedUp)
        .map_or(open.len(), |i| i + 1);
    open.insert(
        at,
        item(CheckId::Scheduled, CheckState::Gap, why, Some(fix)),
    );
}

/// Why an item has a gap: the problem's reason as a sentence, but for the items that pause
/// backups, which say what is missing without repeating "backups paused" (the project's banner
/// and reason say that once).
fn why_of(p: &Problem) -> String {
    match p.kind {
        ProblemKind::RecoveryKeyUnconfirmed => {
            "The recovery key is not confirmed yet: without it nobody can read the backups.".into()
        }
        ProblemKind::EncryptionNotSetUp => "Encryption is on but not set up yet.".into(),
        _ => sentence(&p.reason),
    }
}

/// A reason as a sentence: capital first letter, a full stop.
pub fn sentence(reason: &str) -> String {
    let mut chars = reason.chars();
    let mut out: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}
