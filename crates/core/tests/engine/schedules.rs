//! Schedules against a real PostgreSQL server, time moved by a manual clock: a schedule fires via
//! `run_due`, a backup runs (trigger `schedule`), retention after it removes exactly the expected
//! archives, sidecars and rows (in a `prune` job), three days asleep is one `catch_up` run, two
//! runners racing for one slot run it once, and prune leaves alone a file that now holds
//! another backup.

use crate::common::env_configured;
use offsite_core::archive;
use offsite_core::catalog::BackupStatus;
use offsite_core::catalog::JobKind;
use offsite_core::catalog::JobState;
use offsite_core::catalog::{parse_timestamp, ScheduleKind};
use offsite_core::clock::ManualClock;
use offsite_core::ops::DueRunState;
use offsite_core::ops::{PruneOptions, ScheduleWhat, SetSchedule};
use offsite_core::schedule::{KeepRule, RetentionPolicy, ScheduleSpec};
use offsite_core::{AddProject, Engine, EngineConfig, JobStart, JobTrigger};
use offsite_testkit::TestCluster;
use std::collections::BTreeSet;
use std::path::PathBuf;
use time::macros::datetime;
use time::Duration;

async fn add_project(pg: &TestCluster, engine: &Engine, name: &str) {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);",
    );
    engine
        .add_project(AddProject::url(name, pg.url_with_password(&db)))
        .await
        .unwrap();
}

async fn every_6h(engine: &Engine, name: &str) {
    engine
        .set_schedule(SetSchedule {
            project: name.to_string(),
            spec: ScheduleSpec::every("6h").unwrap(),
            what: ScheduleWhat::Backup,
            time_zone: Some("UTC".to_string()),
        })
        .await
        .unwrap();
}

/// The names in a folder, but its lock (`.offsite-folder.lock`: not data).
fn files_in(dir: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != offsite_core::tempfiles::LOCK_NAME)
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn schedules_fire_back_up_catch_up_once_and_prune_exactly() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 00:30 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    add_project(pg, engine, "sched").await;
    every_6h(engine, "sched").await;
    engine
        .set_retention(
            "sched",
            RetentionPolicy {
                keep_last: Some(2),
                ..Default::default()
            },
            Some("UTC"),
        )
        .await
        .unwrap();
    // A new schedule waits for its first slot.
    assert!(engine.run_due().await.unwrap().runs.is_empty());

    // 06:00, 12:00, 18:00: one on-time backup each; retention keeps the last 2.
    let mut made = Vec::new();
    for at in [
        datetime!(2026-11-20 06:01 UTC),
        datetime!(2026-11-20 12:00 UTC),
        datetime!(2026-11-20 18:29 UTC),
    ] {
        clock.set(at);
        let report = engine.run_due().await.unwrap();
        assert_eq!(report.runs.len(), 1, "{report:?}");
        let run = &report.runs[0];
        assert_eq!(run.state, DueRunState::Succeeded, "{run:?}");
        assert_eq!(run.trigger, JobTrigger::Schedule);
        let job = engine.catalog().job(&run.job_ids[0]).await.unwrap();
        assert_eq!(
            (job.kind.as_str(), job.trigger.as_str()),
            ("backup", "schedule")
        );
        made.push(
            engine
                .backup_record(run.backup_id.as_deref().unwrap())
                .await
                .unwrap(),
        );
        // Checked again at once: nothing more is due.
        assert!(engine.run_due().await.unwrap().runs.is_empty());
    }
    let dir = PathBuf::from(&made[0].path).parent().unwrap().to_path_buf();
    let first = PathBuf::from(&made[0].path);
    // The third backup's retention removed the first: archive, sidecar and row, in a prune job.
    assert!(!first.exists());
    assert!(!archive::sidecar_path(&first).exists());
    assert!(engine.backup_record(&made[0].id).await.is_err());
    let left: Vec<String> = engine
        .backups("sched")
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(left, vec![made[2].id.clone(), made[1].id.clone()]);
    let expected_files: BTreeSet<String> = made[1..]
        .iter()
        .flat_map(|b| {
            let p = PathBuf::from(&b.path);
            [
                p.file_name().unwrap().to_string_lossy().into_owned(),
                archive::sidecar_path(&p)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            ]
        })
        .collect();
    assert_eq!(files_in(&dir), expected_files);
    let jobs = engine.jobs(Some("sched"), 100).await.unwrap();
    let prunes: Vec<_> = jobs.iter().filter(|j| j.kind == JobKind::Prune).collect();
    assert_eq!(
        prunes.len(),
        1,
        "one prune job: only the third backup had one to remove"
    );
    assert_eq!(prunes[0].trigger, JobTrigger::Retention);
    assert_eq!(prunes[0].state, JobState::Succeeded);

    // Three days asleep: exactly one run, a catch-up, for the newest missed slot.
    clock.set(datetime!(2026-11-23 20:15 UTC));
    let report = engine.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1, "{report:?}");
    assert_eq!(report.runs[0].trigger, JobTrigger::CatchUp);
    assert_eq!(report.runs[0].slot, "2026-11-23T18:00:00.000Z");
    let job = engine
        .catalog()
        .job(&report.runs[0].job_ids[0])
        .await
        .unwrap();
    assert_eq!(job.trigger, JobTrigger::CatchUp);
    assert!(engine.run_due().await.unwrap().runs.is_empty());
    clock.advance(Duration::minutes(30));
    assert!(engine.run_due().await.unwrap().runs.is_empty());
    assert_eq!(engine.backups("sched").await.unwrap().len(), 2);

    // Status: the newest good backup, the next slot, not overdue; 7 hours later it is.
    let st = engine.status(Some("sched")).await.unwrap();
    assert_eq!(st[0].next_run.as_deref(), Some("2026-11-24T00:00:00.000Z"));
    assert_eq!(st[0].last_good.as_deref(), Some("2026-11-23T20:15:00.000Z"));
    assert!(!st[0].overdue);
    engine
        .pause_schedule("sched", ScheduleKind::Backup, true)
        .await
        .unwrap();
    clock.advance(Duration::hours(8));
    assert!(engine.run_due().await.unwrap().runs.is_empty(), "paused");
    assert!(
        !engine.status(None).await.unwrap()[0].overdue,
        "paused is not overdue"
    );
    engine
        .pause_schedule("sched", ScheduleKind::Backup, false)
        .await
        .unwrap();
    assert!(engine.status(None).await.unwrap()[0].overdue);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runners_racing_for_one_slot_run_it_once() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 05:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    add_project(pg, &env.engine, "race").await;
    every_6h(&env.engine, "race").await;
    // A second engine on the same data folder (and secret store): what the app and the command
    // line are.
    let other = Engine::open(
        EngineConfig::new(env.secrets.clone())
            .data_dir(env.engine.data_dir().to_path_buf())
            .clock(clock.clone()),
    )
    .await
    .unwrap();
    clock.set(datetime!(2026-11-20 06:00:30 UTC));
    let (a, b) = tokio::join!(env.engine.run_due(), other.run_due());
    let (a, b) = (a.unwrap(), b.unwrap());
    let ran: Vec<_> = a
        .runs
        .iter()
        .chain(b.runs.iter())
        .filter(|r| r.state == DueRunState::Succeeded)
        .collect();
    assert_eq!(ran.len(), 1, "{a:?} {b:?}");
    assert_eq!(env.engine.backups("race").await.unwrap().len(), 1);
    let backups_jobs = env
        .engine
        .jobs(Some("race"), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == JobKind::Backup)
        .count();
    assert_eq!(backups_jobs, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_leaves_alone_a_file_that_now_holds_another_backup() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 10:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    add_project(pg, engine, "swap").await;
    let mut paths = Vec::new();
    for _ in 0..3 {
        let o = engine
            .backup(
                offsite_core::BackupOptions::project("swap"),
                JobStart::default(),
            )
            .await
            .unwrap();
        paths.push((o.backup.id.clone(), PathBuf::from(&o.backup.path)));
        clock.advance(Duration::hours(1));
    }
    // The oldest archive's file now holds the middle backup (copied over it).
    std::fs::copy(&paths[1].1, &paths[0].1).unwrap();
    engine
        .set_retention(
            "swap",
            RetentionPolicy {
                keep_last: Some(1),
                ..Default::default()
            },
            Some("UTC"),
        )
        .await
        .unwrap();
    let preview = engine
        .prune(
            PruneOptions {
                project: "swap".into(),
                dry_run: true,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(preview.kept.len(), 1);
    assert_eq!(preview.kept[0].reasons, vec!["last 1", "newest verified"]);
    assert_eq!(preview.removed.len(), 2);
    assert!(preview.job_id.is_none());
    assert_eq!(
        engine.backups("swap").await.unwrap().len(),
        3,
        "a preview changes nothing"
    );
    // While another job works on the project (a restore reading a backup holds its lock), a
    // prune removes nothing: busy, every file and row still there.
    let project = engine.project("swap").await.unwrap();
    let lock_path = engine
        .data_dir()
        .join("locks")
        .join(format!("{}.lock", project.id));
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let held = std::fs::File::create(&lock_path).unwrap();
    held.try_lock().unwrap();
    let busy = engine
        .prune(
            PruneOptions {
                project: "swap".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::new(JobTrigger::Cli),
        )
        .await
        .unwrap_err();
    assert_eq!(busy.kind(), offsite_core::ErrorKind::Busy, "{busy:?}");
    assert!(paths.iter().all(|(_, p)| p.exists()));
    assert_eq!(engine.backups("swap").await.unwrap().len(), 3);
    drop(held);
    let done = engine
        .prune(
            PruneOptions {
                project: "swap".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::new(JobTrigger::Cli),
        )
        .await
        .unwrap();
    assert_eq!(done.removed.len(), 1);
    assert_eq!(done.removed[0].id, paths[1].0);
    assert!(done.removed[0].file_deleted);
    assert!(!paths[1].1.exists());
    assert_eq!(done.skipped.len(), 1);
    assert_eq!(done.skipped[0].id, paths[0].0);
    assert_eq!(done.skipped[0].error.code.code(), "conflict");
    assert!(paths[0].1.exists(), "the file holding another backup stays");
    let ids: Vec<String> = engine
        .backups("swap")
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids, vec![paths[2].0.clone(), paths[0].0.clone()]);
    let job = engine
        .catalog()
        .job(done.job_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!((job.kind.as_str(), job.trigger.as_str()), ("prune", "cli"));
    assert_eq!(parse_timestamp(&job.started_at).unwrap(), clock_now(&clock));
}

fn clock_now(c: &ManualClock) -> time::OffsetDateTime {
    offsite_core::clock::Clock::now(c)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_project_gives_its_slot_back_and_a_verify_schedule_checks_the_newest() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 05:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    add_project(pg, engine, "busy").await;
    // Several backups on one day, each still counted below: keep them all.
    keep_everything(engine, "busy").await;
    every_6h(engine, "busy").await;
    let project = engine.project("busy").await.unwrap();

    // Another job holds the project's lock (the app backing up by hand): the slot is not lost.
    let lock_path = engine
        .data_dir()
        .join("locks")
        .join(format!("{}.lock", project.id));
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let held = std::fs::File::create(&lock_path).unwrap();
    held.try_lock().unwrap();
    clock.set(datetime!(2026-11-20 06:00:10 UTC));
    let report = engine.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1);
    assert_eq!(report.runs[0].state, DueRunState::Skipped);
    assert!(report.runs[0]
        .skipped
        .as_deref()
        .unwrap()
        .contains("another job"));
    drop(held);
    let report = engine.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1, "the slot was given back: {report:?}");
    assert_eq!(report.runs[0].state, DueRunState::Succeeded);
    assert_eq!(report.runs[0].slot, "2026-11-20T06:00:00.000Z");

    // A second backup, then a verify schedule of the newest one.
    clock.set(datetime!(2026-11-20 12:00:10 UTC));
    let report = engine.run_due().await.unwrap();
    let newest = report.runs[0].backup_id.clone().unwrap();
    engine
        .set_schedule(SetSchedule {
            project: "busy".into(),
            spec: ScheduleSpec::daily("13:00").unwrap(),
            what: ScheduleWhat::Verify { newest: Some(1) },
            time_zone: Some("UTC".into()),
        })
        .await
        .unwrap();
    clock.set(datetime!(2026-11-20 13:00:10 UTC));
    let report = engine.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1, "{report:?}");
    let run = &report.runs[0];
    assert_eq!(
        (run.kind.as_str(), run.state.as_str()),
        ("verify", "succeeded")
    );
    assert_eq!(run.job_ids.len(), 1);
    let job = engine.catalog().job(&run.job_ids[0]).await.unwrap();
    assert_eq!(
        (job.kind.as_str(), job.trigger.as_str()),
        ("verify", "schedule")
    );
    assert_eq!(
        engine.backup_record(&newest).await.unwrap().status,
        BackupStatus::Verified
    );
    let older: Vec<_> = engine
        .backups("busy")
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.id != newest)
        .collect();
    // Every backup is verified as it is made; the schedule read back only the newest 1.
    assert_eq!(older[0].status, BackupStatus::Verified);
    assert_eq!(
        older[0].verified_at.as_deref(),
        Some("2026-11-20T06:00:10.000Z"),
        "only the newest 1"
    );

    // The newest archive damaged: the next verify run fails, naming it corrupt.
    let path = PathBuf::from(&engine.backup_record(&newest).await.unwrap().path);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    // (No new backup meanwhile: the backup schedule is paused.)
    engine
        .pause_schedule("busy", ScheduleKind::Backup, true)
        .await
        .unwrap();
    clock.set(datetime!(2026-11-21 13:00:10 UTC));
    let report = engine.run_due().await.unwrap();
    let verify = report
        .runs
        .iter()
        .find(|r| r.kind == ScheduleKind::Verify)
        .unwrap();
    assert_eq!(verify.state, DueRunState::Failed, "{report:?}");
    assert_eq!(verify.corrupt, vec![newest.clone()]);
    assert_eq!(verify.error.as_ref().unwrap().code.code(), "integrity");
    let record = engine.backup_record(&newest).await.unwrap();
    assert_eq!(record.status, BackupStatus::Corrupt);
    // What the side panel shows: the damaged file, in words (was "bad member: database.dump").
    let problem = record.verify_problem.unwrap();
    assert!(
        problem.ends_with("does not match its checksum: this copy is damaged"),
        "{problem}"
    );
    // A corrupt backup is not the project's last good one.
    let st = engine.status(Some("busy")).await.unwrap();
    assert_ne!(st[0].last_good.as_deref(), Some("2026-11-20T12:00:10.000Z"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_temporary_failure_is_retried_after_5_15_60_minutes_then_escalated() {
    let clock = ManualClock::new(datetime!(2026-11-20 05:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    // Nothing listens on port 1: connection refused, a temporary failure.
    engine
        .add_project(AddProject::url(
            "down",
            "postgres://postgres@127.0.0.1:1/db?sslmode=disable",
        ))
        .await
        .unwrap();
    every_6h(engine, "down").await;
    let start = datetime!(2026-11-20 06:00:10 UTC);
    clock.set(start);
    let report = engine.run_due().await.unwrap();
    let run = &report.runs[0];
    assert_eq!(run.state, DueRunState::Failed, "{run:?}");
    assert_eq!(
        run.error.as_ref().unwrap().code.code(),
        "connection",
        "{run:?}"
    );
    assert_eq!(run.retry_at.as_deref(), Some("2026-11-20T06:05:10.000Z"));
    assert!(!run.escalated);
    let st = engine.status(Some("down")).await.unwrap();
    assert_eq!(st[0].next_run.as_deref(), Some("2026-11-20T06:05:10.000Z"));
    // Not before its time; then retries 1, 2, 3 with growing waits; the third is escalated.
    clock.set(start + Duration::minutes(4));
    assert!(engine.run_due().await.unwrap().runs.is_empty());
    let mut at = start + Duration::minutes(5);
    for (attempt, next_wait) in [(1, Some(15)), (2, Some(60)), (3, None)] {
        clock.set(at);
        let report = engine.run_due().await.unwrap();
        assert_eq!(report.runs.len(), 1, "{report:?}");
        let run = &report.runs[0];
        assert_eq!(run.trigger, JobTrigger::Retry);
        assert_eq!(run.attempt, attempt);
        assert_eq!(run.slot, "2026-11-20T06:00:00.000Z");
        let job = engine.catalog().job(&run.job_ids[0]).await.unwrap();
        assert_eq!(
            (job.trigger.as_str(), job.state.as_str()),
            ("retry", "failed")
        );
        match next_wait {
            Some(m) => {
                at += Duration::minutes(m);
                assert_eq!(
                    run.retry_at.as_deref(),
                    Some(&*offsite_core::catalog::format_timestamp(at))
                );
                assert!(!run.escalated);
            }
            None => {
                assert_eq!(run.retry_at, None);
                assert!(run.escalated);
            }
        }
    }
    clock.advance(Duration::hours(1));
    assert!(
        engine.run_due().await.unwrap().runs.is_empty(),
        "no more retries"
    );
    // The next slot is a fresh start.
    clock.set(datetime!(2026-11-20 12:00:10 UTC));
    let report = engine.run_due().await.unwrap();
    assert_eq!(report.runs[0].trigger, JobTrigger::Schedule);
    assert_eq!(report.runs[0].attempt, 0);
    assert_eq!(
        report.runs[0].retry_at.as_deref(),
        Some("2026-11-20T12:05:10.000Z")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_failure_is_escalated_at_once() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 05:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let db = pg.unique_db("wrongpw");
    let user = pg.superuser();
    let url = pg.url(&db).replace(
        &format!("://{user}@"),
        &format!("://{user}:wrong-password@"),
    );
    engine
        .add_project(AddProject::url("wrongpw", url))
        .await
        .unwrap();
    every_6h(engine, "wrongpw").await;
    clock.set(datetime!(2026-11-20 06:00:10 UTC));
    let report = engine.run_due().await.unwrap();
    let run = &report.runs[0];
    assert_eq!(run.state, DueRunState::Failed);
    assert_eq!(run.error.as_ref().unwrap().code.code(), "auth", "{run:?}");
    assert!(run.escalated);
    assert_eq!(run.retry_at, None);
    clock.advance(Duration::minutes(10));
    assert!(engine.run_due().await.unwrap().runs.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_backup_whose_process_was_killed_is_recorded_interrupted_and_retried() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 05:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    add_project(pg, &env.engine, "killed").await;
    every_6h(&env.engine, "killed").await;
    clock.set(datetime!(2026-11-20 06:00:10 UTC));
    // What a runner killed mid-backup leaves: the slot claimed, its job recorded as running.
    let catalog = env.engine.catalog();
    let project = env.engine.project("killed").await.unwrap();
    let s = catalog
        .schedule(&project.id, ScheduleKind::Backup, "default")
        .await
        .unwrap()
        .unwrap();
    let slot = "2026-11-20T06:00:00.000Z";
    assert!(catalog.claim_schedule_slot(&s.id, slot).await.unwrap());
    let job_id = offsite_core::catalog::new_job_id();
    catalog
        .start_job_triggered(
            &job_id,
            offsite_core::catalog::JobKind::Backup,
            Some(&project.id),
            JobTrigger::Schedule,
        )
        .await
        .unwrap();
    catalog
        .set_schedule_job(&s.id, slot, &job_id)
        .await
        .unwrap();
    // The next start records it as interrupted; the next check retries the slot, once.
    let next = Engine::open(
        EngineConfig::new(env.secrets.clone())
            .data_dir(env.engine.data_dir().to_path_buf())
            .clock(clock.clone()),
    )
    .await
    .unwrap();
    let job = next.catalog().job(&job_id).await.unwrap();
    assert_eq!(
        (job.state.as_str(), job.error_code.as_deref()),
        ("interrupted", Some("interrupted"))
    );
    clock.advance(Duration::minutes(1));
    let report = next.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1, "{report:?}");
    let run = &report.runs[0];
    assert_eq!(
        (run.state.as_str(), run.trigger),
        ("succeeded", JobTrigger::Retry)
    );
    assert_eq!((run.slot.as_str(), run.attempt), (slot, 1));
    let retry = next.catalog().job(&run.job_ids[0]).await.unwrap();
    assert_eq!(retry.trigger, JobTrigger::Retry);
    assert!(next.run_due().await.unwrap().runs.is_empty());
    assert_eq!(next.backups("killed").await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn pausing_every_schedule_for_an_hour_then_one_catch_up() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 05:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    add_project(pg, engine, "pauseall").await;
    every_6h(engine, "pauseall").await;
    engine
        .pause_all_schedules(Some(datetime!(2026-11-20 07:00 UTC)))
        .await
        .unwrap();
    clock.set(datetime!(2026-11-20 06:00:10 UTC));
    let report = engine.run_due().await.unwrap();
    assert!(report.runs.is_empty());
    assert_eq!(
        report.paused_until.as_deref(),
        Some("2026-11-20T07:00:00.000Z")
    );
    assert!(engine.schedules_paused_until().await.unwrap().is_some());
    clock.set(datetime!(2026-11-20 07:00:10 UTC));
    assert_eq!(engine.schedules_paused_until().await.unwrap(), None);
    let report = engine.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1);
    assert_eq!(report.runs[0].trigger, JobTrigger::CatchUp);
    assert_eq!(report.runs[0].state, DueRunState::Succeeded);
}

/// A laptop wakes up before its network: the catch-up waits for the database (bounded) instead
/// of recording a failure at once, then backs up.
#[tokio::test(flavor = "multi_thread")]
async fn a_catch_up_waits_for_the_database_to_answer() {
    let pg = TestCluster::start();
    let clock = ManualClock::new(datetime!(2026-11-20 00:30 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    add_project(&pg, engine, "waking").await;
    every_6h(engine, "waking").await;
    // Asleep for three days; the server is unreachable as the laptop wakes, back 3 s later.
    clock.set(datetime!(2026-11-23 09:00 UTC));
    pg.stop();
    let started = std::time::Instant::now();
    let server = std::thread::scope(|s| {
        let back = s.spawn(|| {
            std::thread::sleep(std::time::Duration::from_secs(3));
            pg.restart();
        });
        let report = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(engine.run_due())
        })
        .unwrap();
        back.join().unwrap();
        report
    });
    assert_eq!(server.runs.len(), 1, "{server:?}");
    let run = &server.runs[0];
    assert_eq!(run.trigger, JobTrigger::CatchUp);
    assert_eq!(run.state, DueRunState::Succeeded, "{run:?}");
    assert!(
        started.elapsed() >= offsite_core::ops::schedule::CATCH_UP_WAITS[0],
        "it waited for the server"
    );
    // No failed job was recorded on the way.
    let jobs = engine.jobs(Some("waking"), 10).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].state, JobState::Succeeded);
}

/// The backups list can say when each backup goes: keep-last 2 with a daily schedule removes
/// the oldest of three now, the next at the next run, the newest at the run after.
#[tokio::test(flavor = "multi_thread")]
async fn each_backup_s_expected_removal_follows_the_schedule_and_the_policy() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 00:30 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    add_project(pg, engine, "forecast").await;
    keep_everything(engine, "forecast").await;
    let mut ids = Vec::new();
    for at in [
        datetime!(2026-11-20 01:00 UTC),
        datetime!(2026-11-20 02:00 UTC),
        datetime!(2026-11-20 03:00 UTC),
    ] {
        clock.set(at);
        let o = engine
            .backup(
                offsite_core::ops::BackupOptions::project("forecast"),
                JobStart::default(),
            )
            .await
            .unwrap();
        ids.push(o.backup.id.clone());
    }
    // Each was made here.
    for b in engine.backup_rows("forecast").await.unwrap() {
        assert_eq!(b.origin, offsite_core::catalog::BackupOrigin::Local);
    }
    // No rules: nothing is expected to go, and that is why each is kept.
    let f = engine.removal_forecast("forecast").await.unwrap();
    assert!(
        f.iter().all(|x| x.removed_at.is_none()
            && !x.next_prune
            && x.kept_by == [KeepRule::NoPolicy]
            && x.kept_because == "no retention rules"),
        "{f:?}"
    );
    // Two per-tenant archives, newer than every backup: not the policy's (they neither push the
    // backups out of keep-last 2 nor go), and said so.
    clock.set(datetime!(2026-11-20 03:30 UTC));
    engine
        .tenant_add("forecast", "t", "public.t", "id")
        .await
        .unwrap();
    let split = engine
        .tenant_backup("forecast", "t", None, JobStart::default())
        .await
        .unwrap();
    assert_eq!(split.backups.len(), 2);
    engine
        .set_retention(
            "forecast",
            RetentionPolicy {
                keep_last: Some(2),
                ..Default::default()
            },
            Some("UTC"),
        )
        .await
        .unwrap();
    engine
        .set_schedule(SetSchedule {
            project: "forecast".to_string(),
            spec: ScheduleSpec::daily("04:00").unwrap(),
            what: ScheduleWhat::Backup,
            time_zone: Some("UTC".to_string()),
        })
        .await
        .unwrap();
    let f = engine.removal_forecast("forecast").await.unwrap();
    let of = |id: &str| f.iter().find(|x| x.backup_id == id).unwrap().clone();
    for b in &split.backups {
        let t = of(&b.backup.id);
        assert!(!t.next_prune && t.removed_at.is_none(), "{t:?}");
        // The tenants' own retention: the last 4 of each tenant (no schedule names it).
        let n = offsite_core::ops::prune::TENANT_KEEP_LAST;
        assert_eq!(
            t.reasons,
            [format!("last {n} of tenant t={}", b.value)],
            "{t:?}"
        );
    }
    assert!(of(&ids[0]).next_prune, "{f:?}");
    // Why the policy keeps each now: the newest (and the latest 2), the one before for keep-last;
    // the one the next prune removes is kept by nothing.
    assert_eq!(of(&ids[2]).kept_by, [KeepRule::Newest, KeepRule::Last]);
    assert_eq!(of(&ids[2]).kept_because, "newest · latest");
    assert_eq!(of(&ids[2]).reasons, ["last 1", "newest verified"]);
    assert_eq!(of(&ids[1]).kept_by, [KeepRule::Last]);
    assert_eq!(of(&ids[1]).kept_because, "latest");
    assert!(of(&ids[0]).kept_by.is_empty() && of(&ids[0]).kept_because.is_empty());
    assert_eq!(
        of(&ids[1]).removed_at.as_deref(),
        Some("2026-11-20T04:00:00.000Z"),
        "{f:?}"
    );
    assert_eq!(
        of(&ids[2]).removed_at.as_deref(),
        Some("2026-11-21T04:00:00.000Z"),
        "{f:?}"
    );
}

/// With `schedule concurrency 2`, two projects' due backups run at once: one finishes while the
/// other waits for a lock; with the default (1) they run one after the other.
#[tokio::test(flavor = "multi_thread")]
async fn due_runs_go_two_at_a_time_when_the_setting_allows() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 00:30 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    assert_eq!(
        engine.schedule_concurrency().await,
        1,
        "one at a time by default"
    );
    assert!(engine.set_schedule_concurrency(5).await.is_err());
    engine.set_schedule_concurrency(2).await.unwrap();
    let mut dbs = Vec::new();
    for name in ["par_a", "par_b"] {
        let db = pg.unique_db(name);
        pg.psql(
            &db,
            "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
        );
        engine
            .add_project(AddProject::url(name, pg.url_with_password(&db)))
            .await
            .unwrap();
        every_6h(engine, name).await;
        dbs.push(db);
    }
    clock.set(datetime!(2026-11-20 06:01 UTC));
    // par_a's dump waits for a lock; par_b's backup must finish meanwhile.
    let lock = crate::pg_engine::TableLock::hold(pg, &dbs[0], "t");
    let run = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_due().await }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if !engine.backups("par_b").await.unwrap().is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "par_b did not run beside the blocked par_a"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        engine.backups("par_a").await.unwrap().is_empty(),
        "par_a is still waiting"
    );
    // Release the lock now (ending the holder's session; its pg_sleep would hold it on).
    pg.psql(
        &dbs[0],
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE relation = 't'::regclass AND mode = 'AccessExclusiveLock' AND granted",
    );
    drop(lock);
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.runs.len(), 2);
    assert!(
        report
            .runs
            .iter()
            .all(|r| r.state == DueRunState::Succeeded),
        "{report:?}"
    );
}

/// The user's choice "keep everything" (a new project keeps the recommended policy).
async fn keep_everything(engine: &Engine, name: &str) {
    let view = engine
        .set_retention(name, RetentionPolicy::default(), Some("UTC"))
        .await
        .unwrap();
    assert_eq!(view.rules, "keep everything");
}

/// A new project keeps 7 daily · 4 weekly · 12 monthly, counted in this computer's zone; its
/// scheduled backups are pruned by it (two on one day: the older goes) until the user chooses
/// to keep everything.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_project_keeps_the_recommended_retention_until_told_otherwise() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 05:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    add_project(pg, engine, "fresh").await;
    let view = engine.retention("fresh").await.unwrap();
    assert_eq!(view.policy, RetentionPolicy::recommended());
    assert_eq!(view.rules, "keep-daily 7, keep-weekly 4, keep-monthly 12");
    assert_eq!(
        view.time_zone,
        offsite_core::schedule::Zone::local().name(),
        "periods in this computer's zone"
    );
    assert!(view.updated_at.is_some(), "saved with the project");
    // A backup by hand, then the scheduled one 40 minutes later (one day in every zone): the
    // run's retention keeps one a day, the newer.
    every_6h(engine, "fresh").await;
    let backup = |at| {
        clock.set(at);
        engine.backup(
            offsite_core::ops::BackupOptions::project("fresh"),
            JobStart::default(),
        )
    };
    let by_hand = backup(datetime!(2026-11-20 06:00:10 UTC)).await.unwrap();
    clock.set(datetime!(2026-11-20 06:40:10 UTC));
    let run = engine.run_due().await.unwrap();
    assert_eq!(run.runs[0].state, DueRunState::Succeeded, "{run:?}");
    assert_eq!(
        run.runs[0].pruned,
        vec![by_hand.backup.id],
        "one a day is kept"
    );
    // Keeping everything is the user's choice.
    keep_everything(engine, "fresh").await;
    backup(datetime!(2026-11-20 06:50:10 UTC)).await.unwrap();
    let pruned = engine
        .prune(
            PruneOptions {
                project: "fresh".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(pruned.removed.is_empty(), "{pruned:?}");
    assert_eq!(engine.backups("fresh").await.unwrap().len(), 2);
}
