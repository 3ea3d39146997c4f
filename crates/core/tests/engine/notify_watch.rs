//! The copy and space watchers (issue 27) with a real catalog, a real outbox and a local webhook
//! receiver, time moved by a manual clock: a copy pending longer than the setting's hours warns
//! once and resets when the copy is made; a backup folder below the free-space setting warns
//! once with the numbers; a project the watcher cannot read does not stop the others.

use crate::common::{env_configured, json_hook};
use offsite_core::catalog::DestinationSpec;
use offsite_core::clock::ManualClock;
use offsite_core::notify::{Event, EventKind};
use offsite_core::ops::notify::watch::settings::WatchSettingsChange;
use offsite_core::ops::SyncOptions;
use offsite_core::{AddProject, BackupOptions, Engine, JobStart};
use offsite_testkit::{TestCluster, WebhookReceiver};
use std::path::Path;
use time::macros::datetime;

fn of_kind(rx: &WebhookReceiver, kind: EventKind) -> Vec<Event> {
    rx.requests()
        .iter()
        .map(|r| serde_json::from_slice::<Event>(&r.body).expect("an event"))
        .filter(|e| e.event == kind)
        .collect()
}

async fn project(pg: &TestCluster, engine: &Engine, name: &str) {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    engine
        .add_project(AddProject::url(name, pg.url_with_password(&db)))
        .await
        .unwrap();
}

fn folder(name: &str, dir: &Path) -> DestinationSpec {
    DestinationSpec {
        name: name.into(),
        folder: Some(dir.to_string_lossy().into_owned()),
        ..Default::default()
    }
}

/// The largest floor (16 TB): any disk this runs on has less free, so its places are low.
const HUGE_FLOOR_MIB: u32 = 16 * 1024 * 1024;

async fn settings(engine: &Engine, hours: Option<u32>, floor_mib: u32, days: u32) {
    engine
        .set_notify_watch_settings(WatchSettingsChange {
            copy_pending_hours: hours,
            space_min_free_mib: Some(floor_mib),
            space_min_days_to_full: Some(days),
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_pending_longer_than_the_setting_warns_once_and_resets_when_copied() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2030-05-01 08:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let rx = json_hook(engine).await;
    // Space never low here: this test is about copies.
    settings(engine, Some(6), 0, 0).await;
    project(pg, engine, "wcopy").await;
    // A folder destination whose drive is not mounted: the copy stays pending.
    let nas = env.dir.path().join("nas-mount");
    engine
        .add_destination("wcopy", folder("nas", &nas), None)
        .await
        .unwrap();
    let copy_pending = || of_kind(&rx, EventKind::CopyPending);
    let o = engine
        .backup(BackupOptions::project("wcopy"), JobStart::default())
        .await
        .unwrap();
    assert_eq!(o.copies.len(), 1, "{:?}", o.copies);
    engine.notify_check().await.unwrap();
    // 5 h 50 min pending: not yet more than 6 h (checks every 15 minutes of the clock).
    for _ in 0..5 {
        clock.advance(time::Duration::minutes(70));
        engine.notify_check().await.unwrap();
    }
    assert!(copy_pending().is_empty(), "{:?}", copy_pending());
    clock.advance(time::Duration::minutes(20));
    engine.notify_check().await.unwrap();
    let events = copy_pending();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.project.as_ref().unwrap().name, "wcopy");
    assert_eq!(e.details["destination"], "nas");
    assert_eq!(e.details["pending_backups"], 1);
    assert_eq!(e.details["pending_since"], "2030-05-01T08:00:00.000Z");
    assert_eq!(e.details["threshold_hours"], 6);
    // The project's health says the same, naming the destination (not its id).
    let h = engine.health(Some("wcopy")).await.unwrap();
    let p = h[0]
        .problems
        .iter()
        .find(|p| p.kind == offsite_core::health::ProblemKind::CopyPending)
        .expect("a copy_pending problem");
    assert!(
        p.reason
            .starts_with("a copy has been waiting (nas): 1 pending since"),
        "{}",
        p.reason
    );
    let err = e.error.as_ref().expect("the last error");
    assert!(!err.message.is_empty() && err.hint.is_some(), "{err:?}");
    // The raw payload names no URL and no credential.
    for r in rx.requests() {
        let body = String::from_utf8_lossy(&r.body).into_owned();
        assert!(
            !body.contains("postgres://") && !body.contains("password"),
            "{body}"
        );
    }

    // Still pending, hours later: nothing more.
    for _ in 0..3 {
        clock.advance(time::Duration::hours(1));
        engine.notify_check().await.unwrap();
    }
    assert_eq!(copy_pending().len(), 1);

    // The drive is back and the copy made: the condition resets silently.
    std::fs::create_dir(&nas).unwrap();
    let s = engine
        .sync(
            SyncOptions {
                project: "wcopy".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(s.pending, 0, "{s:?}");
    clock.advance(time::Duration::hours(1));
    engine.notify_check().await.unwrap();
    assert_eq!(copy_pending().len(), 1, "no event for the reset");

    // Gone again: a new backup's copy pending more than 6 h warns again (it had reset).
    std::fs::remove_dir_all(&nas).unwrap();
    let since = "2030-05-01T18:10:00.000Z";
    engine
        .backup(BackupOptions::project("wcopy"), JobStart::default())
        .await
        .unwrap();
    clock.advance(time::Duration::hours(7));
    engine.notify_check().await.unwrap();
    let events = copy_pending();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1].details["pending_since"], since);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_backup_folder_warns_once_with_its_numbers_and_a_broken_project_stops_nothing() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2030-05-01 08:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let rx = json_hook(engine).await;
    // Nothing low yet.
    settings(engine, None, 0, 0).await;
    // The first project (by name) has a folder destination the watcher cannot read: a file
    // where its folder should be.
    project(pg, engine, "a-broken").await;
    let file = env.dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    engine
        .add_destination("a-broken", folder("usb", &file.join("sub")), None)
        .await
        .unwrap();
    project(pg, engine, "b-fine").await;
    let usb = env.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    engine
        .add_destination("b-fine", folder("usb", &usb), None)
        .await
        .unwrap();
    engine.notify_check().await.unwrap();
    assert!(of_kind(&rx, EventKind::SpaceLow).is_empty());

    // A 16 TB floor: the real disk is "low" (at the next hourly look).
    settings(engine, None, HUGE_FLOOR_MIB, 0).await;
    engine.notify_check().await.unwrap();
    assert!(
        of_kind(&rx, EventKind::SpaceLow).is_empty(),
        "hourly, not at once"
    );
    clock.advance(time::Duration::hours(1));
    engine.notify_check().await.unwrap();
    let events = of_kind(&rx, EventKind::SpaceLow);
    let mut places: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e.project.as_ref().unwrap().name.clone(),
                e.details["where"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    places.sort();
    // The broken project's backup folder was looked at before its destination failed; the
    // other project is looked at in full.
    assert_eq!(
        places,
        vec![
            ("a-broken".to_string(), "backup folder".to_string()),
            ("b-fine".to_string(), "backup folder".to_string()),
            ("b-fine".to_string(), "destination usb".to_string()),
        ],
        "{events:?}"
    );
    let usb_event = events
        .iter()
        .find(|e| e.details["where"] == "destination usb")
        .unwrap();
    let d = &usb_event.details;
    assert_eq!(d["path"], usb.to_string_lossy().as_ref());
    let (free, total) = (
        d["free_bytes"].as_u64().unwrap(),
        d["total_bytes"].as_u64().unwrap(),
    );
    assert!(total > 0 && free <= total, "{d}");
    assert_eq!(d["growth_bytes_per_day"], 0);
    assert!(d["days_until_full"].is_null(), "not growing: {d}");
    assert_eq!(d["reasons"][0], "less than 16.0 TB free");

    // An hour later, still low: nothing more.
    clock.advance(time::Duration::hours(1));
    engine.notify_check().await.unwrap();
    assert_eq!(of_kind(&rx, EventKind::SpaceLow).len(), 3);
    // Back to normal silently, then low again: warned again.
    settings(engine, None, 0, 0).await;
    clock.advance(time::Duration::hours(1));
    engine.notify_check().await.unwrap();
    assert_eq!(of_kind(&rx, EventKind::SpaceLow).len(), 3);
    settings(engine, None, HUGE_FLOOR_MIB, 0).await;
    clock.advance(time::Duration::hours(1));
    engine.notify_check().await.unwrap();
    assert_eq!(of_kind(&rx, EventKind::SpaceLow).len(), 6);
}
