//! A project's saved drill settings on a real server: a drill without a target of its own (and a
//! scheduled one) restores where the settings say, with the password kept in the secret store;
//! a password given for one run (`--password-stdin`) is used and never recorded; a wrong one
//! fails without its text in the error; a URL carrying a password is never saved.

use crate::common::{back_up, env};
use offsite_core::drill::settings::{server_password_key, DrillSettingsChange, TargetSetting};
use offsite_core::drill::Verdict;
use offsite_core::ops::drill::DrillOptions;
use offsite_core::secrets::SecretStore;
use offsite_core::{ErrorKind, JobStart};
use offsite_testkit::TestCluster;

fn drill(project: &str) -> DrillOptions {
    DrillOptions {
        project: project.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_restores_where_the_saved_settings_say_with_the_saved_password() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("drillcfg");
    pg.psql(
        &db,
        "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 50) g",
    );
    back_up(pg, &env, "cfg", &db).await;
    let password = pg.superuser_password().to_string();

    // The default: a throwaway cluster, every storage object.
    let s = env.engine.drill_settings("cfg").await.unwrap();
    assert_eq!(s.server_url, None);
    assert!(!s.server_password_saved);
    assert_eq!(s.storage_sample, None);

    // A URL carrying the password is refused, saying nothing of it; nothing is saved.
    let e = env
        .engine
        .set_drill_settings(
            "cfg",
            DrillSettingsChange {
                target: Some(TargetSetting::Server(pg.url_with_password("postgres"))),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(!format!("{e} {:?}", e.hint()).contains(&password), "{e}");
    assert_eq!(
        env.engine.drill_settings("cfg").await.unwrap().server_url,
        None
    );

    // The server without the password, the password beside it (kept in the secret store).
    let saved = env
        .engine
        .set_drill_settings(
            "cfg",
            DrillSettingsChange {
                target: Some(TargetSetting::Server(pg.url("postgres"))),
                server_password: Some(password.clone()),
                storage_sample: Some(Some(5)),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        saved.server_url.as_deref(),
        Some(pg.url("postgres").as_str())
    );
    assert!(saved.server_password_saved);
    assert_eq!(saved.storage_sample, Some(5));
    assert_eq!(
        env.secrets
            .get(&server_password_key("cfg"))
            .unwrap()
            .as_deref(),
        Some(password.as_str())
    );

    // `offsite drill cfg` (no --server): the saved scratch server.
    let out = env
        .engine
        .drill(drill("cfg"), JobStart::default())
        .await
        .unwrap();
    let r = &out.report;
    assert_eq!(r.verdict, Verdict::Passed, "{:#?}", r.checks);
    assert_eq!(r.target.kind, "server");
    assert!(r
        .target
        .location
        .starts_with(&format!("127.0.0.1:{}/offsite_drill_", pg.port())));
    let report = std::fs::read_to_string(&out.report_path).unwrap();
    assert!(!report.contains(&password));
    let rec = env.engine.drill_record(&r.drill_id).await.unwrap();
    assert!(!serde_json::to_string(&rec).unwrap().contains(&password));

    // A run may still choose the throwaway cluster.
    let once = DrillOptions {
        throwaway: true,
        ..drill("cfg")
    };
    let out = env.engine.drill(once, JobStart::default()).await.unwrap();
    assert_eq!(out.report.target.kind, "throwaway");
    assert_eq!(
        out.report.verdict,
        Verdict::Passed,
        "{:#?}",
        out.report.checks
    );

    // Back to the throwaway cluster: the password is forgotten with its server.
    let back = env
        .engine
        .set_drill_settings(
            "cfg",
            DrillSettingsChange {
                target: Some(TargetSetting::Throwaway),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(back.server_url, None);
    assert_eq!(back.storage_sample, Some(5), "what was not named stays");
    assert_eq!(env.secrets.get(&server_password_key("cfg")).unwrap(), None);
    let out = env
        .engine
        .drill(drill("cfg"), JobStart::default())
        .await
        .unwrap();
    assert_eq!(out.report.target.kind, "throwaway");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_given_for_one_run_is_used_and_a_wrong_one_never_shows() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("drillpw");
    pg.psql(&db, "CREATE TABLE t AS SELECT 1 AS id");
    back_up(pg, &env, "pw", &db).await;

    // `--server URL --password-stdin`: the URL without it, the password beside it.
    let right = DrillOptions {
        server: Some(pg.url("postgres")),
        server_password: Some(pg.superuser_password().to_string()),
        ..drill("pw")
    };
    let out = env.engine.drill(right, JobStart::default()).await.unwrap();
    assert_eq!(
        out.report.verdict,
        Verdict::Passed,
        "{:#?}",
        out.report.checks
    );
    assert_eq!(out.report.target.kind, "server");
    let report = std::fs::read_to_string(&out.report_path).unwrap();
    assert!(!report.contains(pg.superuser_password()));

    // A wrong one: an authentication error that does not repeat it, and no drill recorded.
    let wrong_pw = "Wr0ng-drill-Passw0rd";
    let wrong = DrillOptions {
        server: Some(pg.url("postgres")),
        server_password: Some(wrong_pw.into()),
        ..drill("pw")
    };
    let e = env
        .engine
        .drill(wrong, JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e:?}");
    let text = format!("{e} {e:?} {:?}", e.hint());
    assert!(!text.contains(wrong_pw), "{text}");
    let drills = env.engine.drills("pw").await.unwrap();
    assert_eq!(drills.len(), 1, "only the drill that ran is recorded");
    for d in &drills {
        assert!(!serde_json::to_string(d).unwrap().contains(wrong_pw));
        let file = std::fs::read_to_string(d.report_path.as_deref().unwrap()).unwrap();
        assert!(!file.contains(wrong_pw));
    }
    // The failed job's record does not hold it either.
    let jobs = env.engine.jobs(Some("pw"), 50).await.unwrap();
    assert!(!serde_json::to_string(&jobs).unwrap().contains(wrong_pw));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_drill_restores_into_the_saved_scratch_server() {
    use offsite_core::clock::ManualClock;
    use offsite_core::ops::{DueRunState, ScheduleWhat, SetSchedule};
    use offsite_core::schedule::ScheduleSpec;
    use time::macros::datetime;
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 00:30 UTC));
    let env = crate::common::env_configured(|c| c.clock(clock.clone())).await;
    let db = pg.unique_db("drillcfgsched");
    pg.psql(&db, "CREATE TABLE t AS SELECT 1 AS id");
    back_up(pg, &env, "sched", &db).await;
    env.engine
        .set_drill_settings(
            "sched",
            DrillSettingsChange {
                target: Some(TargetSetting::Server(pg.url("postgres"))),
                server_password: Some(pg.superuser_password().to_string()),
                storage_sample: None,
            },
        )
        .await
        .unwrap();
    env.engine
        .set_schedule(SetSchedule {
            project: "sched".into(),
            spec: ScheduleSpec::monthly("1", "04:00").unwrap(),
            what: ScheduleWhat::Drill,
            time_zone: Some("UTC".into()),
        })
        .await
        .unwrap();
    clock.set(datetime!(2026-12-01 04:00:30 UTC));
    let report = env.engine.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1, "{report:?}");
    assert_eq!(
        report.runs[0].state,
        DueRunState::Succeeded,
        "{:?}",
        report.runs[0]
    );
    let drills = env.engine.drills("sched").await.unwrap();
    assert_eq!(drills[0].report.target.kind, "server");
    assert!(drills[0]
        .report
        .target
        .location
        .starts_with(&format!("127.0.0.1:{}/", pg.port())));
}

/// The scratch server's password follows a renamed project and goes with a removed one.
#[tokio::test(flavor = "multi_thread")]
async fn the_server_password_follows_a_rename_and_goes_with_the_project() {
    let pg = TestCluster::shared();
    let env = env().await;
    env.engine
        .add_project(offsite_core::AddProject::url(
            "old",
            pg.url_with_password("postgres"),
        ))
        .await
        .unwrap();
    env.engine
        .set_drill_settings(
            "old",
            DrillSettingsChange {
                target: Some(TargetSetting::Server(pg.url("postgres"))),
                server_password: Some("moved-pw".into()),
                storage_sample: None,
            },
        )
        .await
        .unwrap();
    env.engine
        .update_project(
            "old",
            offsite_core::ops::projects::UpdateProject {
                name: Some("new".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(env.secrets.get(&server_password_key("old")).unwrap(), None);
    assert_eq!(
        env.secrets
            .get(&server_password_key("new"))
            .unwrap()
            .as_deref(),
        Some("moved-pw")
    );
    assert!(
        env.engine
            .drill_settings("new")
            .await
            .unwrap()
            .server_password_saved
    );
    env.engine.remove_project("new").await.unwrap();
    assert_eq!(env.secrets.get(&server_password_key("new")).unwrap(), None);
}
