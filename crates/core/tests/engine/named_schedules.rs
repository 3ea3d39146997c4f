//! Several backup schedules per project (issue 47, item 2) against a real PostgreSQL server and
//! folder destinations, time moved by a manual clock: an hourly database schedule copied only to
//! `laptop` and a monthly full schedule copied only to `cold` fire at their own times; the
//! hourly one's own retention (keep-last 2) prunes only its own backups (a manual backup and the
//! monthly one stay); overdue is told per schedule, naming it; and a catalog of schema 24 with a
//! schedule keeps it, unchanged, as the schedule named `default`.

use crate::common::{env_configured, Env};
use offsite_core::catalog::{
    Catalog, DestinationSpec, ScheduleKind, ScheduleType, CATALOG_FILE, DEFAULT_SCHEDULE,
};
use offsite_core::clock::ManualClock;
use offsite_core::ops::{DueRunState, NamedSchedule};
use offsite_core::schedule::{RetentionPolicy, ScheduleSpec};
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart};
use offsite_testkit::TestCluster;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use time::macros::datetime;

/// The archive files (not `.sha256`) a folder destination holds for `project`.
fn archives_in(dir: &Path, project: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir.join(project))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| offsite_core::backup::has_archive_suffix(n))
                .collect()
        })
        .unwrap_or_default()
}

fn file_name(path: &str) -> String {
    PathBuf::from(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

async fn folder(env: &Env, project: &str, name: &str, dir: &Path) {
    env.engine
        .add_destination(
            project,
            DestinationSpec {
                name: name.into(),
                folder: Some(dir.to_string_lossy().into_owned()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
}

fn named(project: &str, name: &str, spec: ScheduleSpec) -> NamedSchedule {
    NamedSchedule {
        project: project.into(),
        name: name.into(),
        spec: Some(spec),
        time_zone: Some("UTC".into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_schedules_fire_at_their_own_times_to_their_own_destinations_and_retention() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-30 22:10 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let db = pg.unique_db("multi");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 20);",
    );
    engine
        .add_project(AddProject::url("multi", pg.url_with_password(&db)))
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (laptop, cold) = (tmp.path().join("laptop"), tmp.path().join("cold"));
    // A folder destination that does not exist is a drive not mounted: copies wait.
    std::fs::create_dir_all(&laptop).unwrap();
    std::fs::create_dir_all(&cold).unwrap();
    folder(&env, "multi", "laptop", &laptop).await;
    folder(&env, "multi", "cold", &cold).await;

    let hourly = engine
        .add_named_schedule(NamedSchedule {
            backup_type: Some(ScheduleType::Database),
            destinations: Some(vec!["laptop".into()]),
            retention: Some(RetentionPolicy {
                keep_last: Some(2),
                ..Default::default()
            }),
            ..named("multi", "hourly", ScheduleSpec::every("1h").unwrap())
        })
        .await
        .unwrap();
    assert_eq!(hourly.retention_from, "schedule");
    assert_eq!(hourly.retention_rules, "keep-last 2");
    assert_eq!(hourly.destinations, Some(vec!["laptop".to_string()]));
    let monthly = engine
        .add_named_schedule(NamedSchedule {
            backup_type: Some(ScheduleType::Full),
            destinations: Some(vec!["cold".into()]),
            ..named(
                "multi",
                "monthly",
                ScheduleSpec::monthly("1", "00:00").unwrap(),
            )
        })
        .await
        .unwrap();
    assert_eq!(monthly.retention_from, "project", "{monthly:?}");
    // A name is taken once; an unknown destination and a tenant type without a tenant refuse.
    let again = engine
        .add_named_schedule(named("multi", "hourly", ScheduleSpec::every("2h").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyExists);
    let unknown = engine
        .add_named_schedule(NamedSchedule {
            destinations: Some(vec!["nowhere".into()]),
            ..named("multi", "x", ScheduleSpec::every("2h").unwrap())
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    let tenantless = engine
        .add_named_schedule(NamedSchedule {
            backup_type: Some(ScheduleType::Tenant),
            ..named("multi", "x", ScheduleSpec::every("2h").unwrap())
        })
        .await
        .unwrap_err();
    assert_eq!(tenantless.kind(), ErrorKind::InvalidInput);
    assert_eq!(engine.schedules(Some("multi")).await.unwrap().len(), 2);

    // A manual backup: the project's policy's, copied everywhere.
    let manual = engine
        .backup(BackupOptions::project("multi"), JobStart::default())
        .await
        .unwrap()
        .backup;

    // 23:00: only the hourly one is due; a database backup, copied to laptop only.
    clock.set(datetime!(2026-11-30 23:00:30 UTC));
    let r = engine.run_due().await.unwrap();
    assert_eq!(r.runs.len(), 1, "{r:?}");
    assert_eq!(r.runs[0].schedule, "hourly");
    assert_eq!(r.runs[0].state, DueRunState::Succeeded, "{r:?}");
    let h1 = engine
        .backup_record(r.runs[0].backup_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(h1.backup_type.as_str(), "database");

    // Midnight on the 1st: both are due, each runs once, each its own type.
    clock.set(datetime!(2026-12-01 00:00:30 UTC));
    let r = engine.run_due().await.unwrap();
    let mut by_name: Vec<(String, String)> = Vec::new();
    for run in &r.runs {
        assert_eq!(run.state, DueRunState::Succeeded, "{run:?}");
        let b = engine
            .backup_record(run.backup_id.as_deref().unwrap())
            .await
            .unwrap();
        by_name.push((run.schedule.clone(), b.backup_type.as_str().to_string()));
    }
    by_name.sort();
    assert_eq!(
        by_name,
        [
            ("hourly".to_string(), "database".to_string()),
            ("monthly".to_string(), "full".to_string())
        ]
    );
    let monthly_backup = r
        .runs
        .iter()
        .find(|x| x.schedule == "monthly")
        .and_then(|x| x.backup_id.clone())
        .unwrap();
    let monthly_file = file_name(&engine.backup_record(&monthly_backup).await.unwrap().path);
    let h2 = r
        .runs
        .iter()
        .find(|x| x.schedule == "hourly")
        .and_then(|x| x.backup_id.clone())
        .unwrap();
    assert!(engine.run_due().await.unwrap().runs.is_empty());

    // The monthly full backup went to cold only; the hourly ones to laptop only; the manual one
    // to both.
    let manual_file = file_name(&manual.path);
    let h1_file = file_name(&h1.path);
    assert_eq!(
        archives_in(&cold, "multi"),
        BTreeSet::from([manual_file.clone(), monthly_file.clone()])
    );
    let on_laptop = archives_in(&laptop, "multi");
    assert!(on_laptop.contains(&manual_file) && on_laptop.contains(&h1_file));
    assert!(!on_laptop.contains(&monthly_file), "{on_laptop:?}");

    // 01:00: a third hourly backup; its keep-last 2 removes the first hourly one only.
    clock.set(datetime!(2026-12-01 01:00:30 UTC));
    let r = engine.run_due().await.unwrap();
    assert_eq!(r.runs.len(), 1, "{r:?}");
    assert_eq!(r.runs[0].pruned, vec![h1.id.clone()], "{r:?}");
    let h3 = r.runs[0].backup_id.clone().unwrap();
    // Its local archive went (its copy at laptop stays: that destination's own policy decides);
    // the manual backup, the monthly one and the two newest hourly ones stay here.
    assert!(!Path::new(&h1.path).exists(), "{}", h1.path);
    for id in [&manual.id, &monthly_backup, &h2, &h3] {
        let b = engine.backup_record(id).await.unwrap();
        assert!(Path::new(&b.path).is_file(), "{}", b.path);
    }
    let names = engine
        .catalog()
        .backup_schedule_names(&engine.catalog().project("multi").await.unwrap().id)
        .await
        .unwrap();
    assert_eq!(
        names.get(&monthly_backup).map(String::as_str),
        Some("monthly")
    );
    assert_eq!(names.get(&manual.id), None);

    // Nothing ran since 01:00: at 03:01 the hourly schedule is overdue (1 h + 1 h grace), by
    // name; the monthly one is not.
    clock.set(datetime!(2026-12-01 03:01 UTC));
    let s = engine.status(Some("multi")).await.unwrap();
    assert!(s[0].overdue);
    assert_eq!(s[0].overdue_schedules, vec!["hourly".to_string()]);
    // Paused, it is not overdue.
    engine
        .pause_named_schedule("multi", "hourly", true)
        .await
        .unwrap();
    let s = engine.status(Some("multi")).await.unwrap();
    assert!(!s[0].overdue, "{s:?}");
    // Removed, its backups stay (the project's policy has them from now on).
    assert!(engine
        .remove_named_schedule("multi", "hourly")
        .await
        .unwrap());
    assert!(!engine
        .remove_named_schedule("multi", "hourly")
        .await
        .unwrap());
    assert_eq!(engine.backups("multi").await.unwrap().len(), 5);
}

/// Every migration numbered below `below`, in a folder of their own (checksums match).
async fn migrator_below(scratch: &Path, below: i64) -> sqlx::migrate::Migrator {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let dir = scratch.join("migrations-old");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let n: i64 = name[..4].parse().unwrap();
        if n < below {
            std::fs::copy(&p, dir.join(&name)).unwrap();
        }
    }
    sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap()
}

#[tokio::test]
async fn an_old_projects_schedule_becomes_the_default_one_unchanged() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.join(CATALOG_FILE))
                .create_if_missing(true),
        )
        .await
        .unwrap();
    migrator_below(tmp.path(), 26)
        .await
        .run(&pool)
        .await
        .unwrap();
    for q in [
        "INSERT INTO projects (id, name, db_url, tls_mode, created_at) VALUES \
         ('p1', 'legacy', 'postgres://app@db/app', 'prefer', '2026-01-01T00:00:00.000Z')",
        "INSERT INTO schedules (id, project_id, kind, spec, time_zone, verify_newest, paused, \
         created_at, updated_at, last_slot, retry_attempt, retry_at, last_job_id, tenant) VALUES \
         ('s1', 'p1', 'backup', 'daily 02:30', 'Europe/Berlin', NULL, 1, \
          '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z', '2026-11-20T01:30:00.000Z', \
          2, '2026-11-20T02:30:00.000Z', 'j9', 'orgs')",
        "INSERT INTO schedules (id, project_id, kind, spec, time_zone, verify_newest, paused, \
         created_at, updated_at) VALUES ('s2', 'p1', 'verify', 'weekly sun 04:00', 'UTC', 3, 0, \
         '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z')",
    ] {
        sqlx::query(q).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let c = Catalog::open(&dir).await.unwrap();
    let all = c.schedules(None).await.unwrap();
    assert_eq!(all.len(), 2);
    let b = c
        .schedule("p1", ScheduleKind::Backup, DEFAULT_SCHEDULE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            b.id.as_str(),
            b.spec.as_str(),
            b.time_zone.as_str(),
            b.paused,
            b.created_at.as_str(),
            b.last_slot.as_deref(),
            b.retry_attempt,
            b.retry_at.as_deref(),
            b.last_job_id.as_deref(),
            b.tenant.as_deref(),
        ),
        (
            "s1",
            "daily 02:30",
            "Europe/Berlin",
            true,
            "2026-01-02T00:00:00.000Z",
            Some("2026-11-20T01:30:00.000Z"),
            2,
            Some("2026-11-20T02:30:00.000Z"),
            Some("j9"),
            Some("orgs"),
        )
    );
    assert_eq!(
        b.plan().unwrap(),
        Default::default(),
        "the project's everything"
    );
    let v = c
        .schedule("p1", ScheduleKind::Verify, DEFAULT_SCHEDULE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((v.id.as_str(), v.verify_newest), ("s2", Some(3)));
    // Only backup schedules take other names.
    let err = c
        .set_schedule(&offsite_core::catalog::NewSchedule {
            project_id: "p1".into(),
            kind: ScheduleKind::Verify,
            name: "second".into(),
            spec: "daily 01:00".into(),
            time_zone: "UTC".into(),
            verify_newest: None,
            plan: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// The removal forecast (the backups list's "goes at next prune" / "until ~date") decides in the
/// scopes prune decides in: an hourly schedule's own keep-last 2 governs its backups (kept now;
/// the older one goes at the next hourly run, the newer at the one after), and the project's
/// keep-daily 1 governs the manual backup alone (kept: no hourly backup pushes it out of its
/// day). Under the project's policy over every backup (the old forecast), the manual backup and
/// the first hourly one were "next prune" — which no prune would do.
#[tokio::test(flavor = "multi_thread")]
async fn the_removal_forecast_follows_each_schedules_own_retention() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-30 21:10 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let engine = &env.engine;
    let db = pg.unique_db("forecast_named");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    engine
        .add_project(AddProject::url("fc", pg.url_with_password(&db)))
        .await
        .unwrap();
    engine
        .set_retention(
            "fc",
            RetentionPolicy {
                keep_daily: Some(1),
                ..Default::default()
            },
            Some("UTC"),
        )
        .await
        .unwrap();
    engine
        .add_named_schedule(NamedSchedule {
            backup_type: Some(ScheduleType::Database),
            retention: Some(RetentionPolicy {
                keep_last: Some(2),
                ..Default::default()
            }),
            ..named("fc", "hourly", ScheduleSpec::every("1h").unwrap())
        })
        .await
        .unwrap();
    let manual = engine
        .backup(BackupOptions::project("fc"), JobStart::default())
        .await
        .unwrap()
        .backup;
    let mut hourly = Vec::new();
    for at in [
        datetime!(2026-11-30 22:00:30 UTC),
        datetime!(2026-11-30 23:00:30 UTC),
    ] {
        clock.set(at);
        let r = engine.run_due().await.unwrap();
        assert_eq!(r.runs.len(), 1, "{r:?}");
        assert!(r.runs[0].pruned.is_empty(), "{r:?}");
        hourly.push(r.runs[0].backup_id.clone().unwrap());
    }
    clock.set(datetime!(2026-11-30 23:10 UTC));
    let f = engine.removal_forecast("fc").await.unwrap();
    let of = |id: &str| f.iter().find(|x| x.backup_id == id).unwrap().clone();
    let (h1, h2, m) = (of(&hourly[0]), of(&hourly[1]), of(&manual.id));
    assert!(!h1.next_prune, "{f:?}");
    assert_eq!(
        h1.kept_by,
        [offsite_core::schedule::retention::KeepRule::Last],
        "{h1:?}"
    );
    assert_eq!(
        h1.removed_at.as_deref(),
        Some("2026-12-01T00:00:00.000Z"),
        "{f:?}"
    );
    assert_eq!(
        h2.removed_at.as_deref(),
        Some("2026-12-01T01:00:00.000Z"),
        "{f:?}"
    );
    assert!(!m.next_prune && m.removed_at.is_none(), "{m:?}");
    assert!(m.reasons.contains(&"daily 2026-11-30".to_string()), "{m:?}");
    // And it is what the prunes do: the project's policy removes nothing now, nor does the
    // hourly schedule's.
    for schedule in [None, Some("hourly".to_string())] {
        let p = engine
            .prune(
                offsite_core::ops::PruneOptions {
                    project: "fc".into(),
                    dry_run: true,
                    schedule,
                },
                JobStart::default(),
            )
            .await
            .unwrap();
        assert!(p.removed.is_empty(), "{p:?}");
    }
}
