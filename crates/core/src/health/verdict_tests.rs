//! The verdict table: every state the card's headline can be in, its tone and its count, and the
//! line over every project (issue 64, item 1).
use super::super::{assess, overview, ActiveCondition, CopyMark, EncryptionState, Facts, LastRun};
use super::*;

fn mark(place: &str, kind: &str, offsite: bool) -> CopyMark {
    CopyMark {
        place: place.into(),
        kind: kind.into(),
        ok: true,
        same_medium_as: None,
        note: None,
        offsite,
    }
}

const GOOD: &str = "2026-11-24T02:30:05.000Z";
const NEXT: &str = "2026-11-25T02:30:00.000Z";

/// Protected: a recent good backup on a schedule, verified, in three places, restore proven.
fn safe(project: &str) -> Facts {
    Facts {
        project: project.into(),
        subtitle: "shop_db".into(),
        backups: 3,
        last_good: Some(GOOD.into()),
        last_verified: Some("2026-11-24T02:31:00.000Z".into()),
        last_proven: Some("2026-11-24T03:00:00.000Z".into()),
        copies: vec![
            mark("This computer", "local", false),
            mark("nas", "destination", true),
            mark("s3", "destination", true),
        ],
        schedule: Some("daily 02:30".into()),
        next_run: Some(NEXT.into()),
        last_run: Some(run(true, None)),
        ..Default::default()
    }
}

fn run(succeeded: bool, code: Option<&str>) -> LastRun {
    LastRun {
        finished_at: "2026-11-24T05:00:00.000Z".into(),
        succeeded,
        error_code: code.map(Into::into),
        error_message: code.map(|_| "it failed".into()),
    }
}

fn of(f: &Facts) -> ProjectVerdict {
    assess(f).verdict
}

#[test]
fn protected_says_the_last_good_backup_and_the_next_run_in_green() {
    let v = of(&safe("shop"));
    assert_eq!(v.state, VerdictState::Protected);
    assert_eq!(v.tone, VerdictTone::Ok);
    assert_eq!(v.last_good.as_deref(), Some(GOOD));
    assert_eq!(v.next, NextStep::At);
    assert_eq!(v.next_run.as_deref(), Some(NEXT));
    assert_eq!(v.failed_at, None);
    assert_eq!(v.needs_you, 0);
    assert!(!v.backup_running);
}

#[test]
fn never_backed_up_says_no_good_backup_in_amber_with_the_checklists_count() {
    let f = Facts {
        project: "vault".into(),
        schedule: Some("daily 02:30".into()),
        next_run: Some(NEXT.into()),
        ..Default::default()
    };
    let h = assess(&f);
    let v = &h.verdict;
    assert_eq!(v.state, VerdictState::NeverBackedUp);
    assert_eq!(v.tone, VerdictTone::Warn);
    assert_eq!(v.last_good, None);
    assert_eq!(v.next, NextStep::At);
    // The one count: the checklist's open items, nothing else.
    assert_eq!(v.needs_you as usize, h.checklist.open().count());
    assert!(v.needs_you >= 1);
}

#[test]
fn a_failed_run_after_a_good_backup_is_said_beside_it_never_calmly() {
    let mut f = safe("shop");
    f.last_run = Some(run(false, Some("connect")));
    let v = of(&f);
    assert_eq!(v.state, VerdictState::Failed);
    assert_eq!(v.tone, VerdictTone::Warn);
    assert_eq!(
        v.last_good.as_deref(),
        Some(GOOD),
        "the good one before is kept"
    );
    assert_eq!(v.failed_at.as_deref(), Some("2026-11-24T05:00:00.000Z"));
    assert_eq!(v.needs_you, 1);
}

#[test]
fn refused_credentials_are_their_own_state_in_amber() {
    let mut f = safe("shop");
    f.last_run = Some(run(false, Some("auth")));
    let v = of(&f);
    assert_eq!(v.state, VerdictState::CredentialsRefused);
    assert_eq!(v.tone, VerdictTone::Warn);
    assert_eq!(v.failed_at.as_deref(), Some("2026-11-24T05:00:00.000Z"));
    // Without any good backup, the refusal is still what the headline says (not "never").
    let mut none = f.clone();
    none.backups = 0;
    none.last_good = None;
    assert_eq!(of(&none).state, VerdictState::CredentialsRefused);
}

#[test]
fn overdue_says_overdue_instead_of_the_next_run() {
    let mut f = safe("shop");
    f.overdue = true;
    let v = of(&f);
    assert_eq!(v.state, VerdictState::Overdue);
    assert_eq!(v.tone, VerdictTone::Warn);
    assert_eq!(v.next, NextStep::Overdue);
    assert_eq!(v.next_run, None);
}

#[test]
fn a_running_backup_is_the_news_in_the_tone_of_the_state_under_it() {
    let mut f = safe("shop");
    f.running = vec![JobKind::Verify, JobKind::Backup];
    let v = of(&f);
    assert_eq!(v.state, VerdictState::Running);
    assert_eq!(v.tone, VerdictTone::Ok);
    assert!(v.backup_running);
    // Another kind running is not a backup running.
    f.running = vec![JobKind::Drill];
    let v = of(&f);
    assert_eq!(v.state, VerdictState::Protected);
    assert!(!v.backup_running);
    // A first backup running: still amber, nothing is safe yet.
    let first = Facts {
        project: "vault".into(),
        running: vec![JobKind::Backup],
        ..Default::default()
    };
    let v = of(&first);
    assert_eq!(
        (v.state, v.tone),
        (VerdictState::Running, VerdictTone::Warn)
    );
    assert_eq!(assess(&first).running, vec![JobKind::Backup]);
}

#[test]
fn paused_backups_and_the_schedule_are_said_as_next_steps() {
    let mut f = safe("shop");
    f.encryption = EncryptionState::Unconfirmed;
    f.running = vec![JobKind::Backup];
    let v = of(&f);
    assert_eq!((v.state, v.tone), (VerdictState::Paused, VerdictTone::Warn));
    assert_eq!(
        v.next,
        NextStep::Nothing,
        "the banner says what resumes them"
    );
    let mut p = safe("shop");
    p.paused = true;
    let v = of(&p);
    assert_eq!(v.next, NextStep::SchedulePaused);
    assert_eq!(
        (v.state, v.tone),
        (VerdictState::AtRisk, VerdictTone::Plain)
    );
    let mut n = safe("shop");
    n.schedule = None;
    n.next_run = None;
    assert_eq!(of(&n).next, NextStep::NoSchedule);
}

#[test]
fn at_risk_for_copies_is_plain_not_green() {
    let mut f = safe("shop");
    f.copies.truncate(1);
    let v = of(&f);
    assert_eq!(
        (v.state, v.tone),
        (VerdictState::AtRisk, VerdictTone::Plain)
    );
    assert_eq!(v.needs_you, 1);
    // A condition on the backups (space) makes "Backed up" open: amber.
    let mut s = safe("shop");
    s.conditions = vec![ActiveCondition {
        kind: "space_low".into(),
        subject: "local".into(),
        detail: None,
    }];
    assert_eq!(of(&s).tone, VerdictTone::Warn);
}

#[test]
fn the_line_over_every_project_counts_as_the_cards_do() {
    let mut newer = safe("b");
    newer.last_good = Some("2026-11-25T01:00:00.000Z".into());
    let all = overview(vec![assess(&safe("a")), assess(&newer), assess(&safe("c"))]);
    let v = &all.verdict;
    assert!(v.all_protected);
    assert_eq!((v.projects, v.protected, v.needs_you), (3, 3, 0));
    assert_eq!(v.last_good.as_deref(), Some("2026-11-25T01:00:00.000Z"));
    assert_eq!(v.tone, VerdictTone::Ok);

    let mut one_copy = safe("d");
    one_copy.copies.truncate(1);
    let never = Facts {
        project: "vault".into(),
        running: vec![JobKind::Backup],
        ..Default::default()
    };
    let mixed = overview(vec![assess(&safe("a")), assess(&one_copy), assess(&never)]);
    let v = &mixed.verdict;
    assert!(!v.all_protected);
    assert_eq!((v.projects, v.protected, v.running), (3, 1, 1));
    let cards: u32 = mixed.projects.iter().map(|p| p.verdict.needs_you).sum();
    assert_eq!(
        v.needs_you, cards,
        "one count: the cards' and the summary's"
    );
    assert_eq!(v.needs_you, mixed.needs_you, "and the tray's");
    assert_eq!(v.tone, VerdictTone::Warn);

    let empty = overview(Vec::new()).verdict;
    assert!(!empty.all_protected);
    assert_eq!(empty.projects, 0);
}
