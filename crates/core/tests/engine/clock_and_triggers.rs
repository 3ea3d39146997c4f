//! The engine's injected clock and its jobs' triggers, against a real PostgreSQL server: a
//! backup made under a clock standing at a fixed time records that time everywhere; every job
//! row says what started it.

use crate::common::{env, env_configured, none};
use offsite_core::archive;
use offsite_core::catalog::parse_timestamp;
use offsite_core::catalog::JobState;
use offsite_core::clock::ManualClock;
use offsite_core::{AddProject, BackupOptions, Engine, JobStart, JobTrigger, VerifyOptions};
use offsite_testkit::TestCluster;
use std::path::PathBuf;
use time::macros::datetime;

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

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_under_a_manual_clock_records_the_clock_s_time() {
    let pg = TestCluster::shared();
    let at = datetime!(2031-02-03 04:05:06 UTC);
    let clock = ManualClock::new(at);
    let env = env_configured(|c| c.clock(clock.clone())).await;
    add_project(pg, &env.engine, "clocked").await;

    let o = env
        .engine
        .backup(BackupOptions::project("clocked"), JobStart::default())
        .await
        .unwrap();
    let path = PathBuf::from(&o.backup.path);
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        "clocked_20310203_040506_database.tar.zst"
    );
    let manifest = archive::read_manifest(&path).unwrap();
    assert_eq!(parse_timestamp(&manifest.created_at).unwrap(), at);
    assert_eq!(parse_timestamp(&o.backup.created_at).unwrap(), at);
    // The catalog reads the same clock: the job started and finished at that time.
    let job = env.engine.catalog().job(&o.job_id).await.unwrap();
    assert_eq!(parse_timestamp(&job.started_at).unwrap(), at);
    assert_eq!(
        parse_timestamp(job.finished_at.as_deref().unwrap()).unwrap(),
        at
    );
    let project = env.engine.project("clocked").await.unwrap();
    assert_eq!(parse_timestamp(&project.created_at).unwrap(), at);

    // The clock moved: the next backup is made at the new time.
    clock.advance(time::Duration::days(400));
    let o2 = env
        .engine
        .backup(BackupOptions::project("clocked"), JobStart::default())
        .await
        .unwrap();
    assert!(
        o2.backup
            .path
            .ends_with("clocked_20320309_040506_database.tar.zst"),
        "{}",
        o2.backup.path
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_job_records_its_trigger_and_the_id_it_was_given() {
    let pg = TestCluster::shared();
    let env = env().await;
    add_project(pg, &env.engine, "triggered").await;

    let manual = env
        .engine
        .backup(BackupOptions::project("triggered"), JobStart::default())
        .await
        .unwrap();
    let cli = env
        .engine
        .backup(
            BackupOptions::project("triggered"),
            JobStart::new(JobTrigger::Cli).progress(none()),
        )
        .await
        .unwrap();
    let scheduled = env
        .engine
        .verify(
            VerifyOptions::path(&cli.backup.path),
            JobStart::new(JobTrigger::Schedule).id("job-chosen-by-the-caller"),
        )
        .await
        .unwrap();
    assert_eq!(scheduled.job_id, "job-chosen-by-the-caller");

    let catalog = env.engine.catalog();
    let trigger = |id: String| async move { catalog.job(&id).await.unwrap().trigger };
    assert_eq!(trigger(manual.job_id).await, JobTrigger::Manual);
    assert_eq!(trigger(cli.job_id).await, JobTrigger::Cli);
    assert_eq!(
        trigger(scheduled.job_id.clone()).await,
        JobTrigger::Schedule
    );
    let jobs = env.engine.jobs(Some("triggered"), 10).await.unwrap();
    assert_eq!(jobs.len(), 3);
    assert!(
        jobs.iter().all(|j| j.state == JobState::Succeeded),
        "{jobs:?}"
    );

    // A job id already used is refused before anything runs; the first job stays as it was.
    let again = env
        .engine
        .backup(
            BackupOptions::project("triggered"),
            JobStart::new(JobTrigger::Retry).id("job-chosen-by-the-caller"),
        )
        .await
        .unwrap_err();
    assert!(!again.message().is_empty());
    let first = catalog.job("job-chosen-by-the-caller").await.unwrap();
    assert_eq!(
        (first.kind.as_str(), first.trigger.as_str()),
        ("verify", "schedule")
    );
}
