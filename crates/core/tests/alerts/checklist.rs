//! The protection checklist (issue 44, items 1 and 2) read from a real catalog, with the time
//! from an injected clock: each item's state and Fix follow what happened (a first backup, a
//! schedule, time passing, encryption that pauses backups and its confirmation), and no Fix ever
//! offers "Back up now" while backups are paused.

use super::common::env_configured;
use offsite_core::clock::ManualClock;
use offsite_core::health::{CheckId, CheckState, FixAction, Health, ProjectHealth};
use offsite_core::ops::encryption::{EncryptionMode, SetEncryption};
use offsite_core::ops::{ScheduleWhat, SetSchedule};
use offsite_core::schedule::ScheduleSpec;
use offsite_core::{AddProject, BackupOptions, Engine, ErrorKind, JobStart};
use offsite_testkit::TestCluster;
use time::macros::datetime;

async fn health(e: &Engine) -> ProjectHealth {
    e.health(Some("list")).await.unwrap().remove(0)
}

/// (item, state, fix) of every item, in the checklist's order.
fn items(h: &ProjectHealth) -> Vec<(CheckId, CheckState, Option<FixAction>)> {
    h.checklist
        .items
        .iter()
        .map(|i| (i.id, i.state, i.fix))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_checklist_follows_the_project_and_paused_backups_never_offer_back_up_now() {
    use CheckId as I;
    use CheckState as S;
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2030-03-01 10:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let e = &env.engine;
    let db = pg.unique_db("checklist");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 200);",
    );
    e.add_project(AddProject::url("list", pg.url_with_password(&db)))
        .await
        .unwrap();

    // New: nothing done; back up first; what needs a backup waits; encryption is the user's.
    let h = health(e).await;
    assert_eq!(h.health, Health::Unprotected);
    assert_eq!(
        items(&h),
        [
            (I::BackedUp, S::Gap, Some(FixAction::BackUpNow)),
            (I::Scheduled, S::Gap, Some(FixAction::AddSchedule)),
            (I::Verified, S::Waiting, None),
            (I::Copies, S::Waiting, None),
            (I::RestoreProven, S::Waiting, None),
            (I::Encryption, S::Off, None),
        ],
        "{h:#?}"
    );
    assert_eq!(h.checklist.line, "0 of 5 done");
    assert_eq!(h.fix(), Some(FixAction::BackUpNow));

    // Encryption on, recovery key not confirmed: backups are paused, and say so first.
    let setup = e
        .set_encryption(
            "list",
            SetEncryption {
                mode: Some(EncryptionMode::Key),
                passphrase: None,
                recipients: Vec::new(),
            },
        )
        .await
        .unwrap();
    let refused = e
        .backup(BackupOptions::project("list"), JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::NeedsConsent, "{refused}");
    let h = health(e).await;
    assert!(h.checklist.paused);
    assert_eq!(
        h.reason,
        "backups paused: confirm your recovery key (without it nobody can read the backups)"
    );
    assert_eq!(
        items(&h)[..3],
        [
            (I::Encryption, S::Gap, Some(FixAction::ConfirmRecoveryKey)),
            (I::BackedUp, S::Paused, Some(FixAction::ConfirmRecoveryKey)),
            (I::Scheduled, S::Gap, Some(FixAction::AddSchedule)),
        ],
        "{h:#?}"
    );
    assert_eq!(h.fix(), Some(FixAction::ConfirmRecoveryKey));
    // The refused run is the pause, not a second problem; nothing offers backing up.
    assert!(
        h.problems.iter().all(|p| p.fix != FixAction::BackUpNow),
        "{:#?}",
        h.problems
    );
    assert!(h
        .checklist
        .items
        .iter()
        .all(|i| i.fix != Some(FixAction::BackUpNow)));

    // Confirmed: encryption is done, backing up is the next step again.
    e.confirm_recovery("list", setup.recovery_item.as_deref().unwrap())
        .await
        .unwrap();
    let h = health(e).await;
    assert!(!h.checklist.paused);
    assert_eq!(h.checklist.item(I::Encryption).state, S::Done);
    assert_eq!(h.fix(), Some(FixAction::BackUpNow));

    // A backup (verified as it is written) and a schedule: three more items done; one copy
    // and no drill are the gaps left, each with its own Fix.
    e.backup(BackupOptions::project("list"), JobStart::default())
        .await
        .unwrap();
    e.set_schedule(SetSchedule {
        project: "list".into(),
        spec: ScheduleSpec::daily("09:00").unwrap(),
        what: ScheduleWhat::Backup,
        time_zone: Some("UTC".into()),
    })
    .await
    .unwrap();
    let h = health(e).await;
    assert_eq!(h.health, Health::AtRisk);
    assert_eq!(
        items(&h),
        [
            (I::Copies, S::Gap, Some(FixAction::AddDestination)),
            (I::RestoreProven, S::Gap, Some(FixAction::RunDrill)),
            (I::Scheduled, S::Done, None),
            (I::BackedUp, S::Done, None),
            (I::Verified, S::Done, None),
            (I::Encryption, S::Done, None),
        ],
        "{h:#?}"
    );
    assert_eq!(h.checklist.line, "4 of 6 done");
    assert!(
        h.checklist
            .item(I::Copies)
            .why
            .starts_with("1 of 3 copies: the newest good backup is only on this computer"),
        "{:?}",
        h.checklist.item(I::Copies)
    );

    // Three days later without a backup: overdue, "Back up now" comes first again.
    clock.advance(time::Duration::days(3));
    let h = health(e).await;
    assert_eq!(
        items(&h)[0],
        (I::BackedUp, S::Gap, Some(FixAction::BackUpNow)),
        "{h:#?}"
    );
    assert!(h.checklist.item(I::BackedUp).why.starts_with("Overdue"));
    // An overdue schedule is not "done" beside it (overdue-later-01): the Scheduled item is a
    // gap too, so four things need the user now.
    assert_eq!(h.checklist.item(I::Scheduled).state, S::Gap, "{h:#?}");
    assert!(
        h.checklist.item(I::Scheduled).why.starts_with("Overdue"),
        "{:?}",
        h.checklist.item(I::Scheduled)
    );
    let overview = offsite_core::health::overview(vec![h]);
    assert_eq!(overview.needs_you_line, "4 things need you");
}
