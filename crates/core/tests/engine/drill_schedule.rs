//! Drill schedules (monthly by default) run by `run_due` at their slot: a drill of the newest
//! good backup into a throwaway cluster, its report signed with the machine's key and rendered
//! as a page beside it; a drill that fails a check fails the scheduled run and its job with a
//! message naming the check (what the notifications show).

use crate::common::{back_up, env_configured};
use offsite_core::catalog::{JobKind, JobState, ScheduleKind};
use offsite_core::clock::ManualClock;
use offsite_core::drill::Verdict;
use offsite_core::ops::{DueRunState, ScheduleWhat, SetSchedule};
use offsite_core::schedule::ScheduleSpec;
use offsite_core::ErrorKind;
use offsite_testkit::TestCluster;
use std::path::PathBuf;
use time::macros::datetime;

#[tokio::test(flavor = "multi_thread")]
async fn a_monthly_drill_schedule_drills_the_newest_backup_and_a_failed_one_names_its_check() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 00:30 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let db = pg.unique_db("drillsched");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);",
    );
    back_up(pg, &env, "shop", &db).await;
    let newest = engine.backups("shop").await.unwrap()[0].clone();
    let view = engine
        .set_schedule(SetSchedule {
            project: "shop".into(),
            spec: ScheduleSpec::monthly("1", "04:00").unwrap(),
            what: ScheduleWhat::Drill,
            time_zone: Some("UTC".into()),
        })
        .await
        .unwrap();
    assert_eq!(view.kind, ScheduleKind::Drill);
    assert_eq!(view.next_runs[0], "2026-12-01T04:00:00.000Z");
    // The backup schedule is another schedule: the drill one does not replace it.
    assert!(
        engine.run_due().await.unwrap().runs.is_empty(),
        "not due yet"
    );

    clock.set(datetime!(2026-12-01 04:00:30 UTC));
    let report = engine.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1, "{report:?}");
    let run = &report.runs[0];
    assert_eq!(run.kind, ScheduleKind::Drill);
    assert_eq!(run.state, DueRunState::Succeeded, "{run:?}");
    assert_eq!(run.backup_id.as_deref(), Some(newest.id.as_str()));
    let drills = engine.drills("shop").await.unwrap();
    assert_eq!(drills.len(), 1);
    assert_eq!(drills[0].verdict, Verdict::Passed);
    let job = engine.jobs(Some("shop"), 10).await.unwrap();
    let job = job.iter().find(|j| j.id == run.job_ids[0]).unwrap();
    assert_eq!((job.kind, job.state), (JobKind::Drill, JobState::Succeeded));
    // Beside the report: the signed envelope (verifies with this machine's key) and the page.
    let json = PathBuf::from(drills[0].report_path.clone().unwrap());
    let signed = json.with_extension("signed.json");
    let v = engine.verify_drill_report(&signed, None).unwrap();
    assert_eq!(
        v.payload,
        std::fs::read(&json).unwrap(),
        "the exact bytes were signed"
    );
    assert_eq!(v.report.drill_id, drills[0].id);
    let html = std::fs::read_to_string(json.with_extension("html")).unwrap();
    assert!(
        html.contains(&newest.id) && html.contains(&v.key_id),
        "{html}"
    );
    let pem = engine.drill_public_key().unwrap();
    assert!(engine.verify_drill_report(&signed, Some(&pem)).is_ok());
    assert_eq!(engine.drill_report_html(&drills[0].id).await.unwrap(), html);
    // Saved where the user chose: the same page, a private file even over a readable one.
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("report.html");
        std::fs::write(&dest, "old").unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
        engine
            .save_drill_report_html(&drills[0].id, &dest)
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), html);
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    // The archive damaged on disk: next month's drill fails its verify check, and the run and
    // the drill's job say so, naming the check.
    let archive = PathBuf::from(&newest.path);
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&archive, &bytes).unwrap();
    clock.set(datetime!(2027-01-01 04:01 UTC));
    let report = engine.run_due().await.unwrap();
    let run = &report.runs[0];
    assert_eq!(run.state, DueRunState::Failed, "{run:?}");
    assert!(run.escalated, "a failed check is not retried: {run:?}");
    let e = run.error.as_ref().unwrap();
    assert_eq!(e.code, ErrorKind::ValidationFailed);
    let drills = engine.drills("shop").await.unwrap();
    assert_eq!(drills[0].verdict, Verdict::Failed);
    let failed = drills[0].report.first_failure().unwrap().clone();
    assert!(
        e.message.starts_with(&format!(
            "the restore drill of shop failed: {}",
            failed.title
        )),
        "{}",
        e.message
    );
    assert!(e.hint.as_deref().unwrap().contains(&drills[0].id));
    let jobs = engine.jobs(Some("shop"), 10).await.unwrap();
    let job = jobs.iter().find(|j| j.id == run.job_ids[0]).unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.error_message.as_deref(), Some(e.message.as_str()));
}
