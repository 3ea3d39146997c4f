//! The canary (issue 47): a real cluster, real backups, the outbox delivered to a local webhook
//! receiver. Deleting 95 % of a table between two backups gives exactly one `backup_suspicious`
//! alert naming the table with both counts, the backup is flagged in the list with the reason; a
//! normal day's churn gives none; the suspicious backup (and the good one before it) survive a
//! prune that removes an older good backup; a pin keeps a backup and a note is kept with it.

use crate::common::{env_configured, json_hook};
use offsite_core::clock::ManualClock;
use offsite_core::notify::{Event, EventKind};
use offsite_core::ops::PruneOptions;
use offsite_core::schedule::RetentionPolicy;
use offsite_core::{AddProject, BackupOptions, Engine, JobStart};
use offsite_testkit::{TestCluster, WebhookReceiver};
use time::macros::datetime;

fn suspicious_events(rx: &WebhookReceiver) -> Vec<Event> {
    rx.requests()
        .iter()
        .map(|r| serde_json::from_slice::<Event>(&r.body).expect("an event"))
        .filter(|e| e.event == EventKind::BackupSuspicious)
        .collect()
}

async fn backup(engine: &Engine, clock: &ManualClock, note: Option<&str>) -> String {
    clock.advance(time::Duration::hours(1));
    let opts = BackupOptions {
        note: note.map(str::to_string),
        ..BackupOptions::project("canary")
    };
    engine
        .backup(opts, JobStart::default())
        .await
        .unwrap()
        .backup
        .id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runaway_delete_alerts_once_churn_does_not_and_retention_keeps_the_evidence() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2030-06-01 08:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let rx = json_hook(engine).await;
    let db = pg.unique_db("canary");
    pg.psql(
        &db,
        "CREATE TABLE orders (id int PRIMARY KEY, note text); \
         INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 20000) g; \
         CREATE TABLE users (id int PRIMARY KEY); \
         INSERT INTO users SELECT generate_series(1, 300);",
    );
    engine
        .add_project(AddProject::url("canary", pg.url_with_password(&db)))
        .await
        .unwrap();
    let oldest = backup(engine, &clock, None).await;
    // A normal day: a few percent deleted and added.
    pg.psql(
        &db,
        "DELETE FROM orders WHERE id % 50 = 0; \
         INSERT INTO orders SELECT g, 'new ' || g FROM generate_series(20001, 20300) g; \
         DELETE FROM users WHERE id <= 5;",
    );
    let before = backup(engine, &clock, Some("before the cleanup job")).await;
    engine.notify_check().await.unwrap();
    assert!(
        suspicious_events(&rx).is_empty(),
        "{:?}",
        suspicious_events(&rx)
    );

    // A runaway delete: 95 % of the orders gone.
    let kept: i64 = pg.psql(&db, "SELECT count(*) FROM orders").parse().unwrap();
    pg.psql(&db, "DELETE FROM orders WHERE id % 20 <> 0;");
    let left: i64 = pg.psql(&db, "SELECT count(*) FROM orders").parse().unwrap();
    let bad = backup(engine, &clock, None).await;
    engine.notify_check().await.unwrap();
    let events = suspicious_events(&rx);
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    let named = format!(
        "public.orders: {} → {} rows",
        offsite_core::backup::canary::grouped(kept as u64),
        offsite_core::backup::canary::grouped(left as u64)
    );
    assert!(e.summary.contains(&named), "{} lacks {named}", e.summary);
    assert!(!e.summary.contains("public.users"), "{}", e.summary);
    assert_eq!(e.backup_id.as_deref(), Some(bad.as_str()));
    assert_eq!(e.details["compared_with"]["backup_id"], before.as_str());
    assert_eq!(e.project.as_ref().unwrap().name, "canary");

    // The list says it, with the reason; the note and the user of the manual backups are kept.
    let listed = engine.backup_list("canary").await.unwrap();
    let row = |id: &str| listed.iter().find(|l| l.record.id == id).unwrap();
    assert!(
        row(&bad).marks.suspicious.iter().any(|r| r == &named),
        "{:?}",
        row(&bad).marks
    );
    assert!(row(&before).marks.suspicious.is_empty());
    assert_eq!(
        row(&before).marks.note.as_deref(),
        Some("before the cleanup job")
    );
    assert!(row(&before).marks.started_by.is_some());
    let rows = engine.backup_rows("canary").await.unwrap();
    let r = rows.iter().find(|r| r.id == bad).unwrap();
    assert!(r.suspicious.as_deref().unwrap().contains(&named), "{r:?}");

    // The next day's backup is compared with the suspicious one: no second alert.
    pg.psql(&db, "INSERT INTO orders VALUES (900001, 'x');");
    let after = backup(engine, &clock, None).await;
    engine.notify_check().await.unwrap();
    assert_eq!(suspicious_events(&rx).len(), 1);

    // keep-last 1: the newest is kept, the suspicious one and the good one before it stay,
    // the oldest good backup goes.
    engine
        .set_retention(
            "canary",
            RetentionPolicy {
                keep_last: Some(1),
                ..Default::default()
            },
            Some("UTC"),
        )
        .await
        .unwrap();
    let pruned = engine
        .prune(
            PruneOptions {
                project: "canary".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let removed: Vec<&str> = pruned.removed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(removed, vec![oldest.as_str()], "{pruned:?}");
    let kept_why = |id: &str| {
        pruned
            .kept
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.reasons.join(", "))
            .unwrap_or_default()
    };
    assert!(kept_why(&bad).contains("suspicious"), "{}", kept_why(&bad));
    assert!(
        kept_why(&before).contains("before suspicious"),
        "{}",
        kept_why(&before)
    );
    assert!(kept_why(&after).contains("last 1"), "{}", kept_why(&after));

    // A pin keeps a backup through every retention, with the reason "pinned".
    engine.pin_backup(&after, true).await.unwrap();
    let later = backup(engine, &clock, None).await;
    let pruned = engine
        .prune(
            PruneOptions {
                project: "canary".into(),
                dry_run: true,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(pruned.removed.is_empty(), "{pruned:?}");
    let pinned = pruned.kept.iter().find(|k| k.id == after).unwrap();
    assert!(pinned.reasons.iter().any(|r| r == "pinned"), "{pinned:?}");
    assert!(pruned.kept.iter().any(|k| k.id == later));

    // Statistics: the four backups left, one suspicious, one pinned, all in the backup folder.
    let stats = engine.backup_stats("canary").await.unwrap();
    assert_eq!(stats.count, 4, "{stats:?}");
    assert_eq!((stats.suspicious, stats.pinned), (1, 1));
    assert_eq!(stats.destinations[0].destination, "local");
    assert_eq!(stats.destinations[0].copies, 4);
    assert_eq!(stats.destinations[0].bytes, stats.total_bytes);
    assert_eq!(stats.newest.as_deref(), Some("2030-06-01T13:00:00.000Z"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_newest_good_backup_is_not_deleted_without_force_and_a_lower_threshold_alerts() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2030-07-01 08:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let rx = json_hook(engine).await;
    let db = pg.unique_db("canary");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 1000);",
    );
    engine
        .add_project(AddProject::url("canary", pg.url_with_password(&db)))
        .await
        .unwrap();
    let nas = env.dir.path().join("nas");
    std::fs::create_dir_all(&nas).unwrap();
    engine
        .add_destination(
            "canary",
            offsite_core::catalog::DestinationSpec {
                name: "nas".into(),
                folder: Some(nas.to_string_lossy().into_owned()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let first = backup(engine, &clock, None).await;
    // 30 % gone is normal under the defaults; this project says 25 %.
    engine
        .set_canary_thresholds(
            "canary",
            Some(offsite_core::backup::canary::CanaryThresholds {
                archive_drop_pct: 50,
                table_drop_pct: 25,
            }),
        )
        .await
        .unwrap();
    pg.psql(&db, "DELETE FROM t WHERE id <= 300;");
    let second = backup(engine, &clock, None).await;
    engine.notify_check().await.unwrap();
    let events = suspicious_events(&rx);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].summary.contains("public.t: 1,000 → 700 rows"),
        "{}",
        events[0].summary
    );

    use offsite_core::ops::delete_backup::DeleteBackupOptions;
    let files_at_nas = || -> Vec<String> {
        walk(&nas)
            .into_iter()
            .filter(|n| n.ends_with(".tar.zst"))
            .collect()
    };
    assert_eq!(files_at_nas().len(), 2, "{:?}", files_at_nas());
    // The newest good backup: deleting it here leaves its copy at nas (allowed); deleting it
    // everywhere would leave no good copy at all: refused without --force, nothing deleted.
    let refused = engine
        .delete_backup_everywhere(DeleteBackupOptions {
            backup_id: second.clone(),
            everywhere: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "conflict", "{refused}");
    assert!(std::path::Path::new(&engine.backup_record(&second).await.unwrap().path).is_file());
    assert_eq!(files_at_nas().len(), 2);
    // An older one, here only: the file goes, the copy at nas and the entry stay.
    let path = engine.backup_record(&first).await.unwrap().path;
    let done = engine
        .delete_backup_everywhere(DeleteBackupOptions {
            backup_id: first.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(done.file_deleted && !done.removed_from_catalog, "{done:?}");
    assert_eq!(done.copies_kept, vec!["nas".to_string()]);
    assert!(!std::path::Path::new(&path).exists());
    assert_eq!(files_at_nas().len(), 2);
    // Then everywhere: the copy at nas goes, and the entry.
    let done = engine
        .delete_backup_everywhere(DeleteBackupOptions {
            backup_id: first.clone(),
            everywhere: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(done.removed_from_catalog, "{done:?}");
    assert_eq!(done.copies_deleted.len(), 1, "{done:?}");
    assert_eq!(files_at_nas().len(), 1, "{:?}", files_at_nas());
    // Forced, the newest goes everywhere too.
    let done = engine
        .delete_backup_everywhere(DeleteBackupOptions {
            backup_id: second.clone(),
            everywhere: true,
            force: true,
        })
        .await
        .unwrap();
    assert!(done.file_deleted, "{done:?}");
    assert!(files_at_nas().is_empty(), "{:?}", files_at_nas());
    assert!(engine.backup_list("canary").await.unwrap().is_empty());
}

/// Every file below `dir` (names only).
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// A selective backup (the logs' rows left out) is compared with a backup of the same selection,
/// not with the whole one before it: leaving out what the user chose to leave out is no drop.
/// A runaway delete between two selective backups still alerts.
#[tokio::test(flavor = "multi_thread")]
async fn a_selective_backup_is_compared_with_one_of_its_selection() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2030-06-01 08:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let rx = json_hook(engine).await;
    let db = pg.unique_db("canary_sel");
    pg.psql(
        &db,
        "CREATE TABLE orders (id int PRIMARY KEY); \
         INSERT INTO orders SELECT generate_series(1, 5000); \
         CREATE TABLE logs (id int PRIMARY KEY, line text); \
         INSERT INTO logs SELECT g, repeat('log line ', 40) FROM generate_series(1, 20000) g;",
    );
    engine
        .add_project(AddProject::url("canary", pg.url_with_password(&db)))
        .await
        .unwrap();
    backup(engine, &clock, None).await;
    let selective = || BackupOptions {
        selection: Some(offsite_core::selection::BackupSelection {
            exclude_table_data: vec!["public.logs".to_string()],
            ..Default::default()
        }),
        ..BackupOptions::project("canary")
    };
    clock.advance(time::Duration::hours(1));
    let first = engine
        .backup(selective(), JobStart::default())
        .await
        .unwrap()
        .backup
        .id;
    engine.notify_check().await.unwrap();
    assert!(
        suspicious_events(&rx).is_empty(),
        "{:?}",
        suspicious_events(&rx)
    );
    let rows = engine.backup_rows("canary").await.unwrap();
    let r = rows.iter().find(|r| r.id == first).unwrap();
    assert!(r.suspicious.is_none(), "{r:?}");

    pg.psql(&db, "DELETE FROM orders WHERE id % 20 <> 0;");
    clock.advance(time::Duration::hours(1));
    let bad = engine
        .backup(selective(), JobStart::default())
        .await
        .unwrap()
        .backup
        .id;
    engine.notify_check().await.unwrap();
    let events = suspicious_events(&rx);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0]
            .summary
            .contains("public.orders: 5,000 → 250 rows"),
        "{}",
        events[0].summary
    );
    assert_eq!(events[0].backup_id.as_deref(), Some(bad.as_str()));
    assert_eq!(
        events[0].details["compared_with"]["backup_id"],
        first.as_str()
    );
}
