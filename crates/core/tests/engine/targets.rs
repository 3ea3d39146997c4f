//! Recovery targets (issue 47): a project whose newest good backup is older than its RPO is At
//! risk with "Back up now" (the checklist says both times); a drill's RTO check is compared with
//! the project's RTO target.

use crate::common::env_configured;
use offsite_core::clock::ManualClock;
use offsite_core::drill::CheckStatus;
use offsite_core::health::{FixAction, Health, ProblemKind};
use offsite_core::ops::drill::DrillOptions;
use offsite_core::schedule::Targets;
use offsite_core::{AddProject, BackupOptions, JobStart};
use offsite_testkit::TestCluster;
use time::macros::datetime;

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_older_than_the_rpo_puts_the_project_at_risk_and_the_drill_checks_the_rto() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2030-06-01 08:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let db = pg.unique_db("targets");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);",
    );
    engine
        .add_project(AddProject::url("tgt", pg.url_with_password(&db)))
        .await
        .unwrap();
    engine
        .backup(BackupOptions::project("tgt"), JobStart::default())
        .await
        .unwrap();
    let rpo_problem = |h: &offsite_core::health::ProjectHealth| {
        h.problems
            .iter()
            .find(|p| p.kind == ProblemKind::RpoMissed)
            .cloned()
    };
    // No target: however old the backup, no RPO problem.
    clock.advance(time::Duration::hours(30));
    let h = &engine.health(Some("tgt")).await.unwrap()[0];
    assert!(rpo_problem(h).is_none(), "{:#?}", h.problems);

    let set = engine
        .set_targets(
            "tgt",
            Targets {
                rpo_seconds: Some(24 * 3600),
                rto_seconds: Some(7 * 24 * 3600),
            },
        )
        .await
        .unwrap();
    assert_eq!(engine.targets("tgt").await.unwrap(), set);
    let h = &engine.health(Some("tgt")).await.unwrap()[0];
    let p = rpo_problem(h).expect("the RPO is missed");
    assert_eq!(p.health, Health::AtRisk);
    assert_eq!(p.fix, FixAction::BackUpNow);
    assert_eq!(p.fix_label, "Back up now");
    assert!(
        p.reason
            .contains("is 1d6h old, past the recovery point target of 1d"),
        "{}",
        p.reason
    );
    assert_ne!(h.health, Health::Protected);

    // A new backup within the RPO clears it.
    engine
        .backup(BackupOptions::project("tgt"), JobStart::default())
        .await
        .unwrap();
    clock.advance(time::Duration::hours(2));
    let h = &engine.health(Some("tgt")).await.unwrap()[0];
    assert!(rpo_problem(h).is_none(), "{:#?}", h.problems);

    // The drill's RTO check names the target (a restore of two rows is well within a week).
    let outcome = engine
        .drill(
            DrillOptions {
                project: "tgt".into(),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let rto = outcome
        .report
        .checks
        .iter()
        .find(|c| c.id == "rto")
        .expect("an RTO check");
    assert_eq!(rto.status, CheckStatus::Passed, "{rto:#?}");
    assert_eq!(rto.expected.as_deref(), Some("at most 7 days"));
}
