//! A damaged verify (by hand, and scheduled through `run-due`) is a failed job with the
//! `integrity` code, and queues `verify_damaged` once per damaged backup: delivered to a webhook
//! receiver on 127.0.0.1, not again on the next verify of the same damage.

use super::common::{back_up, env_configured, json_hook, Env};
use offsite_core::catalog::{JobKind, JobState};
use offsite_core::clock::ManualClock;
use offsite_core::notify::{Event, EventKind};
use offsite_core::ops::{DueRunState, ScheduleWhat, SetSchedule};
use offsite_core::schedule::ScheduleSpec;
use offsite_core::{JobStart, VerifyOptions};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use time::macros::datetime;

/// Flip one byte in the middle of `path`; returns the good bytes.
fn damage(path: &Path) -> Vec<u8> {
    let good = std::fs::read(path).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(path, bad).unwrap();
    good
}

/// The `verify_damaged` events the receiver got, in order.
fn damaged_events(rx: &offsite_testkit::WebhookReceiver) -> Vec<Event> {
    rx.requests()
        .iter()
        .map(|r| serde_json::from_slice::<Event>(&r.body).unwrap())
        .filter(|e| e.event == EventKind::VerifyDamaged)
        .collect()
}

async fn verify(env: &Env, path: &Path) -> bool {
    let o = env
        .engine
        .verify(VerifyOptions::path(path), JobStart::default())
        .await
        .unwrap();
    o.report.ok
}

/// The newest job, which must be a verify.
async fn last_verify(env: &Env) -> offsite_core::catalog::JobRecord {
    let job = env.engine.jobs(None, 1).await.unwrap().remove(0);
    assert_eq!(job.kind, JobKind::Verify);
    job
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_verify_by_hand_is_a_failed_job_and_alerts_once_per_damage() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2030-03-01 10:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let rx = json_hook(&env.engine).await;
    let db = pg.unique_db("alerts_hand");
    pg.psql(&db, "CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g;");
    let path = back_up(pg, &env, "shop", &db).await;
    let backup_id = env.engine.backups("shop").await.unwrap()[0].id.clone();

    // Intact: a succeeded job that names its backup, no alert.
    assert!(verify(&env, &path).await);
    let job = last_verify(&env).await;
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.backup_id.as_deref(), Some(backup_id.as_str()));

    // Damaged: the job failed with `integrity`, and one verify_damaged reached the receiver.
    let good = damage(&path);
    assert!(!verify(&env, &path).await);
    let job = last_verify(&env).await;
    assert_eq!(job.state, JobState::Failed, "{job:?}");
    assert_eq!(job.error_code.as_deref(), Some("integrity"), "{job:?}");
    assert!(job.error_message.as_deref().unwrap().contains("damaged"));
    assert!(job.error_hint.is_some());
    assert_eq!(job.backup_id.as_deref(), Some(backup_id.as_str()));
    env.engine.notify_deliver().await.unwrap();
    let events = damaged_events(&rx);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].backup_id.as_deref(), Some(backup_id.as_str()));
    assert_eq!(events[0].job_id.as_deref(), Some(job.id.as_str()));
    assert_eq!(events[0].error.as_ref().unwrap().code, "integrity");
    assert_eq!(events[0].project.as_ref().unwrap().name, "shop");

    // The same damage found again: a failed job again, but no second alert.
    assert!(!verify(&env, &path).await);
    assert_eq!(last_verify(&env).await.state, JobState::Failed);
    env.engine.notify_deliver().await.unwrap();
    assert_eq!(damaged_events(&rx).len(), 1);
    let log = env.engine.notify_log(Some("shop"), 50).await.unwrap();
    assert_eq!(
        log.iter().filter(|r| r.kind == "verify_damaged").count(),
        1,
        "{log:?}"
    );

    // Repaired (the good file back), then damaged again: that is news, alerted once more.
    std::fs::write(&path, &good).unwrap();
    assert!(verify(&env, &path).await);
    damage(&path);
    assert!(!verify(&env, &path).await);
    env.engine.notify_deliver().await.unwrap();
    assert_eq!(damaged_events(&rx).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_verify_through_run_due_fails_its_job_and_alerts_once() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 05:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let rx = json_hook(engine).await;
    let db = pg.unique_db("alerts_due");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 5000);",
    );
    let path: PathBuf = back_up(pg, &env, "blog", &db).await;
    let backup_id = engine.backups("blog").await.unwrap()[0].id.clone();
    engine
        .set_schedule(SetSchedule {
            project: "blog".into(),
            spec: ScheduleSpec::daily("13:00").unwrap(),
            what: ScheduleWhat::Verify { newest: Some(1) },
            time_zone: Some("UTC".into()),
        })
        .await
        .unwrap();
    damage(&path);
    for day in [20, 21] {
        clock.set(
            time::Date::from_calendar_date(2026, time::Month::November, day)
                .unwrap()
                .with_hms(13, 0, 10)
                .unwrap()
                .assume_utc(),
        );
        let report = engine.run_due().await.unwrap();
        let run = &report.runs[0];
        assert_eq!(run.state, DueRunState::Failed, "{report:?}");
        assert_eq!(run.corrupt, vec![backup_id.clone()]);
        let job = engine.catalog().job(&run.job_ids[0]).await.unwrap();
        assert_eq!(
            (job.kind, job.state, job.error_code.as_deref()),
            (JobKind::Verify, JobState::Failed, Some("integrity")),
            "{job:?}"
        );
        assert_eq!(job.trigger.as_str(), "schedule");
        engine.notify_deliver().await.unwrap();
        // Once per damaged backup: the second day's verify finds the same damage.
        let events = damaged_events(&rx);
        assert_eq!(events.len(), 1, "day {day}: {events:?}");
        assert_eq!(events[0].backup_id.as_deref(), Some(backup_id.as_str()));
    }
}

/// A backup just made is verified (read back as the verify job does) when `status` counts it:
/// the backup list and the health agree.
#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_backup_is_verified_when_status_counts_it() {
    use offsite_core::catalog::{BackupStatus, DestinationSpec};
    use offsite_core::health::{CheckId, CheckState, Health};
    let pg = TestCluster::shared();
    let env = env_configured(|c| c).await;
    let e = &env.engine;
    let db = pg.unique_db("alerts_fresh");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 500);",
    );
    e.add_project(offsite_core::AddProject::url(
        "fresh",
        pg.url_with_password(&db),
    ))
    .await
    .unwrap();
    e.set_schedule(SetSchedule {
        project: "fresh".into(),
        spec: ScheduleSpec::daily("02:30").unwrap(),
        what: ScheduleWhat::Backup,
        time_zone: Some("UTC".into()),
    })
    .await
    .unwrap();
    let other = tempfile::tempdir_in("/dev/shm").expect("a second filesystem (/dev/shm)");
    e.add_destination(
        "fresh",
        DestinationSpec {
            name: "shm".into(),
            folder: Some(other.path().to_string_lossy().into_owned()),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let o = e
        .backup(
            offsite_core::BackupOptions::project("fresh"),
            JobStart::default(),
        )
        .await
        .unwrap();
    let h = e.health(Some("fresh")).await.unwrap().remove(0);
    // Scheduled, backed up, verified: done. Two copies on two media (not 3-2-1) and no drill
    // yet are the project's gaps, so it is at risk, not protected.
    for id in [CheckId::Scheduled, CheckId::BackedUp, CheckId::Verified] {
        assert_eq!(
            h.checklist.item(id).state,
            CheckState::Done,
            "{id:?}: {h:?}"
        );
    }
    assert_eq!(h.checklist.item(CheckId::Copies).state, CheckState::Gap);
    assert_eq!(
        h.checklist.item(CheckId::RestoreProven).state,
        CheckState::Gap
    );
    assert_eq!(h.health, Health::AtRisk, "{h:?}");
    assert_eq!(o.backup.status, BackupStatus::Verified, "{:?}", o.backup);
    let listed = e.backups("fresh").await.unwrap();
    assert_eq!(listed[0].status, BackupStatus::Verified);
    assert!(listed[0].verified_at.is_some());
    assert_eq!(h.last_verified, listed[0].verified_at, "{h:?}");
}
