//! Per-tenant archives have their own names and their own retention (issue 63, item 3): a
//! folder destination keeping the last 2 of the project's backups keeps its two full backups
//! while tenant archives come and go; each tenant's archive is copied there under its own path
//! (every archive of one run has the same file name); each tenant keeps its last N archives,
//! locally and at the destination, N from the schedule naming the tenant (4 by default); a tenant
//! no longer in the database keeps its last archives.

use crate::common::env_configured;
use offsite_core::catalog::CopyState;
use offsite_core::catalog::DestinationSpec;
use offsite_core::clock::ManualClock;
use offsite_core::ops::{PruneOptions, ScheduleWhat, SetSchedule, SyncOptions};
use offsite_core::schedule::{RetentionPolicy, ScheduleSpec};
use offsite_core::{AddProject, BackupOptions, JobStart};
use offsite_testkit::TestCluster;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use time::macros::datetime;

/// Archive files (not `.sha256`) directly in `dir`.
fn archives(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| offsite_core::backup::has_archive_suffix(n))
                .collect()
        })
        .unwrap_or_default()
}

/// Per tenant folder under `dir` (`VALUE`), its archive files.
fn tenant_folders(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        archives(&e.path()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn file_name(p: &str) -> String {
    Path::new(p)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[tokio::test]
async fn tenant_archives_come_and_go_and_the_full_backups_stay_at_the_destination() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 10:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let e = &env.engine;
    let db = pg.unique_db("tenantkeep");
    pg.psql(
        &db,
        "CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);
         CREATE TABLE items (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id));
         INSERT INTO orgs VALUES (1, 'a'), (2, 'b'), (3, 'c');
         INSERT INTO items SELECT g, 1 + g % 3 FROM generate_series(1, 30) g;",
    );
    e.add_project(AddProject::url("tk", pg.url_with_password(&db)))
        .await
        .unwrap();
    let usb = env.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    e.add_destination(
        "tk",
        DestinationSpec {
            name: "usb".into(),
            folder: Some(usb.to_string_lossy().into_owned()),
            retention: Some(RetentionPolicy {
                keep_last: Some(2),
                ..Default::default()
            }),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let mut full = Vec::new();
    for _ in 0..2 {
        let o = e
            .backup(BackupOptions::project("tk"), JobStart::default())
            .await
            .unwrap();
        assert!(o.copies.iter().all(|c| c.state == CopyState::Stored));
        full.push(file_name(&o.backup.path));
        clock.advance(time::Duration::hours(1));
    }
    e.tenant_add("tk", "orgs", "public.orgs", "id")
        .await
        .unwrap();
    let sync = || async {
        e.sync(
            SyncOptions {
                project: "tk".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap()
    };
    let prune = || async {
        e.prune(
            PruneOptions {
                project: "tk".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap()
    };

    // Six runs of the tenants; org 3 leaves the database after the second (its archives stop).
    let mut made: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut local_dir = std::path::PathBuf::new();
    for run in 0..6 {
        if run == 2 {
            pg.psql(
                &db,
                "DELETE FROM items WHERE org_id = 3; DELETE FROM orgs WHERE id = 3;",
            );
            // The tenants are split from the newest backup: take one (it is a full backup too,
            // the destination keeps the last 2 of them).
            let o = e
                .backup(BackupOptions::project("tk"), JobStart::default())
                .await
                .unwrap();
            full.push(file_name(&o.backup.path));
        }
        clock.advance(time::Duration::hours(1));
        let split = e
            .tenant_backup("tk", "orgs", None, JobStart::default())
            .await
            .unwrap();
        let names: BTreeSet<String> = split
            .backups
            .iter()
            .map(|b| file_name(&b.backup.path))
            .collect();
        assert_eq!(
            names.len(),
            1,
            "every archive of a run has the same file name"
        );
        for b in &split.backups {
            // <backup folder>/tenants/orgs/VALUE/<file>
            local_dir = Path::new(&b.backup.path)
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .to_path_buf();
            made.entry(b.value.clone())
                .or_default()
                .push(file_name(&b.backup.path));
        }
        let s = sync().await;
        assert!(
            s.copies.iter().all(|c| c.state == CopyState::Stored),
            "each tenant's archive is copied under its own name: {:?}",
            s.copies
        );
        assert_eq!(s.pending, 0, "{s:?}");
        // The destination's policy never removes a full backup for a tenant's archive.
        assert_eq!(
            archives(&usb.join("tk")),
            full.iter().rev().take(2).cloned().collect::<BTreeSet<_>>(),
            "run {run}: the last 2 full backups stay at the destination"
        );
    }
    assert_eq!(made["3"].len(), 2, "org 3 was split twice");
    // The status says which tenant is no longer in the database, and that its archives stay.
    let status = e.tenant_archives("tk").await.unwrap();
    let gone: Vec<&str> = status
        .iter()
        .filter(|t| t.not_in_run_of.is_some())
        .map(|t| t.value.as_str())
        .collect();
    assert_eq!(gone, ["3"], "{status:?}");
    assert!(status.iter().all(|t| t.keep_last == 4));

    // At the destination: each tenant's own folder, its last 4 archives (the default).
    let there = tenant_folders(&usb.join("tk/tenants/orgs"));
    let last =
        |v: &str, n: usize| -> BTreeSet<String> { made[v].iter().rev().take(n).cloned().collect() };
    assert_eq!(there["1"], last("1", 4), "{there:?}");
    assert_eq!(there["2"], last("2", 4), "{there:?}");
    assert_eq!(
        there["3"],
        last("3", 2),
        "a tenant gone keeps its last archives"
    );

    // Locally: the prune keeps each tenant's last 4 and the project's backups by its policy.
    e.set_retention(
        "tk",
        RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        },
        Some("UTC"),
    )
    .await
    .unwrap();
    let pr = prune().await;
    let local = tenant_folders(&local_dir);
    assert_eq!(local["1"], last("1", 4), "{pr:?}");
    assert_eq!(local["3"], last("3", 2));
    // Removed: the 2 oldest archives of orgs=1 and orgs=2, and the 2 older full backups.
    assert_eq!(pr.removed.len(), 6, "{pr:?}");

    // A schedule naming the tenant sets its own count: 2 each, here and at the destination.
    e.set_schedule_with_tenant_keep(
        SetSchedule {
            project: "tk".to_string(),
            spec: ScheduleSpec::daily("04:00").unwrap(),
            what: ScheduleWhat::Backup,
            time_zone: Some("UTC".to_string()),
        },
        Some("orgs"),
        Some(2),
    )
    .await
    .unwrap();
    prune().await;
    sync().await;
    let local = tenant_folders(&local_dir);
    let there = tenant_folders(&usb.join("tk/tenants/orgs"));
    for v in ["1", "2", "3"] {
        assert_eq!(local[v], last(v, 2), "{v}: {local:?}");
        assert_eq!(there[v], last(v, 2), "{v}: {there:?}");
    }
    assert_eq!(
        archives(&usb.join("tk")).len(),
        2,
        "the full backups at the destination are untouched"
    );
}
