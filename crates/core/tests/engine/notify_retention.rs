//! Retention's notifications (issue 27) against real backups of a real PostgreSQL server, time
//! moved by a manual clock: a daily schedule and keep-daily 8 put a backup's removal more than
//! 7 days away (nothing said), then within 7 days (one `retention_will_remove` naming it, once),
//! and a prune that removes it says so once (`retention_removed`).

use crate::common::{env_configured, json_hook};
use offsite_core::clock::ManualClock;
use offsite_core::notify::{Event, EventKind};
use offsite_core::ops::{PruneOptions, ScheduleWhat, SetSchedule};
use offsite_core::schedule::{RetentionPolicy, ScheduleSpec};
use offsite_core::{AddProject, BackupOptions, Engine, JobStart};
use offsite_testkit::{TestCluster, WebhookReceiver};
use time::macros::datetime;

fn keep_daily(n: u32) -> RetentionPolicy {
    RetentionPolicy {
        keep_daily: Some(n),
        ..Default::default()
    }
}

fn retention_events(rx: &WebhookReceiver) -> Vec<Event> {
    rx.requests()
        .iter()
        .map(|r| serde_json::from_slice::<Event>(&r.body).expect("an event"))
        .collect()
}

fn of_kind(rx: &WebhookReceiver, kind: EventKind) -> Vec<Event> {
    retention_events(rx)
        .into_iter()
        .filter(|e| e.event == kind)
        .collect()
}

async fn backup(engine: &Engine, name: &str) -> String {
    engine
        .backup(BackupOptions::project(name), JobStart::default())
        .await
        .unwrap()
        .backup
        .id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_is_announced_once_seven_days_before_retention_removes_it_and_when_it_does() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2030-03-01 01:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let rx = json_hook(engine).await;
    let db = pg.unique_db("kept");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    engine
        .add_project(AddProject::url("kept", pg.url_with_password(&db)))
        .await
        .unwrap();
    engine
        .notify_route("kept", "retention", &["hook".to_string()])
        .await
        .unwrap();
    let first = backup(engine, "kept").await;
    engine
        .set_retention("kept", keep_daily(8), Some("UTC"))
        .await
        .unwrap();
    engine
        .set_schedule(SetSchedule {
            project: "kept".into(),
            spec: ScheduleSpec::daily("00:30").unwrap(),
            what: ScheduleWhat::Backup,
            time_zone: Some("UTC".into()),
        })
        .await
        .unwrap();
    // Its removal (after the run of 2030-03-09 00:30) is more than 7 days away: nothing said.
    let f = engine.removal_forecast("kept").await.unwrap();
    assert_eq!(
        f[0].removed_at.as_deref(),
        Some("2030-03-09T00:30:00.000Z"),
        "{f:?}"
    );
    engine.notify_check().await.unwrap();
    assert!(rx.requests().is_empty(), "{:?}", retention_events(&rx));

    // A day later it is within 7 days: one warning naming it, with when and why.
    clock.set(datetime!(2030-03-02 01:00 UTC));
    engine.notify_check().await.unwrap();
    let events = retention_events(&rx);
    assert_eq!(events.len(), 1, "{events:?}");
    let warn = &events[0];
    assert_eq!(warn.event, EventKind::RetentionWillRemove);
    assert_eq!(warn.project.as_ref().unwrap().name, "kept");
    let listed = warn.details["backups"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{warn:?}");
    assert_eq!(listed[0]["id"], first.as_str());
    assert!(
        listed[0]["removed_at"]
            .as_str()
            .unwrap()
            .starts_with("2030-03-09"),
        "{warn:?}"
    );
    assert_eq!(listed[0]["reason"], "not kept by keep-daily 8", "{warn:?}");
    assert!(listed[0]["size_bytes"].as_u64().unwrap() > 0, "{warn:?}");
    assert!(warn.summary.contains(&first), "{}", warn.summary);

    // Checked again (and a day later): nothing new.
    engine.notify_check().await.unwrap();
    clock.set(datetime!(2030-03-03 01:00 UTC));
    engine.notify_check().await.unwrap();
    assert_eq!(retention_events(&rx).len(), 1);

    // A newer backup, and a policy that no longer keeps the first: the prune removes it, and
    // says so once.
    let second = backup(engine, "kept").await;
    engine
        .set_retention("kept", keep_daily(1), Some("UTC"))
        .await
        .unwrap();
    let out = engine
        .prune(
            PruneOptions {
                project: "kept".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(out.removed.len(), 1, "{out:?}");
    engine.notify_check().await.unwrap();
    let gone = of_kind(&rx, EventKind::RetentionRemoved);
    assert_eq!(gone.len(), 1, "{:?}", retention_events(&rx));
    let gone = &gone[0];
    assert_eq!(gone.job_id, out.job_id);
    let listed = gone.details["backups"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{gone:?}");
    assert_eq!(listed[0]["id"], first.as_str());
    assert_eq!(listed[0]["reason"], "not kept by keep-daily 1", "{gone:?}");
    assert!(!gone.summary.contains(&second), "{}", gone.summary);
    // Under keep-daily 1 the second goes at the next run (tomorrow 00:30): announced once too,
    // and the first is not announced again.
    let warned = of_kind(&rx, EventKind::RetentionWillRemove);
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert_eq!(warned[1].details["backups"][0]["id"], second.as_str());
    assert_eq!(warned[1].details["backups"].as_array().unwrap().len(), 1);
    // A prune that removes nothing says nothing.
    engine
        .prune(
            PruneOptions {
                project: "kept".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    engine.notify_check().await.unwrap();
    assert_eq!(retention_events(&rx).len(), 3);
}
