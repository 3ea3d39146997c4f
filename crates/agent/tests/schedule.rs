//! The agent runs its own schedules: `PUT backup-schedule`, then when the slot comes due the
//! engine's scheduler makes a backup with the agent's inputs (storage folder, config files) —
//! the same archive an API-triggered FULL backup makes. A real PostgreSQL; a moved clock.

use offsite_agent::schedule::{self, PutSchedule};
use offsite_agent::{Agent, AgentConfig, ProjectConfig};
use offsite_core::archive::BackupType;
use offsite_core::clock::ManualClock;
use offsite_core::ops::DueRunState;
use offsite_testkit::TestCluster;
use std::collections::BTreeMap;

#[tokio::test]
async fn a_scheduled_backup_runs_with_the_agents_folders_and_files() {
    let c = TestCluster::shared();
    let db = c.unique_db("agent_sched");
    c.psql(
        &db,
        "CREATE TABLE t(id int); INSERT INTO t VALUES (1), (2);",
    );
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(files.join("storage/media/x")).unwrap();
    std::fs::write(files.join("storage/media/x/y.bin"), b"object").unwrap();
    std::fs::write(files.join(".env"), "JWT_SECRET=topsecret\n").unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{}\n", c.superuser_password())).unwrap();
    let mut config = AgentConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
    config.pg_bin = Some(c.bin_dir().to_path_buf());
    config.projects = BTreeMap::from([(
        "shop".to_string(),
        ProjectConfig {
            database_url: c.url(&db),
            password_env: None,
            password_file: Some(pw),
            storage_dir: Some(files.join("storage")),
            config_files: vec![files.join(".env")],
            s3: None,
            retention: None,
            pitr: None,
        },
    )]);
    let start = offsite_core::catalog::parse_timestamp("2026-11-20T01:00:00Z").unwrap();
    let clock = ManualClock::new(start);
    let agent = Agent::open_with_clock(config.clone(), false, Some(clock.clone()))
        .await
        .unwrap();
    // A type the project cannot make, and a bad schedule, are refused.
    let e = schedule::put(
        &agent,
        "shop",
        PutSchedule {
            schedule: Some("sometimes".into()),
            time_zone: None,
            backup_type: None,
            enabled: None,
            retention: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.status.as_u16(), 400);
    let set = schedule::put(
        &agent,
        "shop",
        PutSchedule {
            schedule: Some("daily 02:30".into()),
            time_zone: Some("UTC".into()),
            backup_type: Some("FULL".into()),
            enabled: None,
            retention: None,
        },
    )
    .await
    .unwrap();
    assert!(set.enabled);
    assert_eq!(set.backup_type.as_deref(), Some("FULL"));
    assert!(
        set.next_runs[0].starts_with("2026-11-20T02:30:00"),
        "{:?}",
        set.next_runs
    );
    // Not due yet; then due.
    assert!(agent.engine.run_due().await.unwrap().runs.is_empty());
    clock.advance(time::Duration::minutes(91));
    let report = agent.engine.run_due().await.unwrap();
    assert_eq!(report.runs.len(), 1, "{report:?}");
    assert_eq!(report.runs[0].state, DueRunState::Succeeded, "{report:?}");
    let backups = agent.engine.backups("shop").await.unwrap();
    assert_eq!(backups.len(), 1);
    assert_eq!(backups[0].backup_type, BackupType::Full);
    let manifest =
        offsite_core::archive::read_manifest(std::path::Path::new(&backups[0].path)).unwrap();
    assert!(manifest.member("database/toc.dat").is_some());
    assert!(manifest.member("storage/media/x/y.bin").is_some());
    assert!(manifest.member("config/files/.env").is_some());
    assert!(!serde_json::to_string(&manifest)
        .unwrap()
        .contains("topsecret"));
    // The type survives a restart; `enabled: false` removes the schedule.
    drop(agent);
    let agent = Agent::open_with_clock(config, false, Some(clock))
        .await
        .unwrap();
    let got = schedule::get(&agent, "shop").await.unwrap();
    assert_eq!(got.backup_type.as_deref(), Some("FULL"));
    assert_eq!(got.schedule.as_deref(), Some("daily 02:30"));
    let off = schedule::put(
        &agent,
        "shop",
        PutSchedule {
            schedule: None,
            time_zone: None,
            backup_type: None,
            enabled: Some(false),
            retention: None,
        },
    )
    .await
    .unwrap();
    assert!(!off.enabled);
}

/// Issue 47 item 4: the schedule API takes the laptop's GFS retention; after each scheduled
/// backup the agent prunes what it does not keep; `/metrics` and the backup list say what is
/// kept and how much room is left; `agent.toml`'s retention wins and the API may not change it.
#[tokio::test]
async fn scheduled_backups_past_the_retention_are_pruned_and_reported() {
    let c = TestCluster::shared();
    let db = c.unique_db("agent_keep");
    c.psql(&db, "CREATE TABLE t(id int); INSERT INTO t VALUES (1);");
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{}\n", c.superuser_password())).unwrap();
    let mut config = AgentConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
    config.pg_bin = Some(c.bin_dir().to_path_buf());
    let project = ProjectConfig {
        database_url: c.url(&db),
        password_env: None,
        password_file: Some(pw),
        storage_dir: None,
        config_files: vec![],
        s3: None,
        retention: None,
        pitr: None,
    };
    config.projects = BTreeMap::from([("shop".to_string(), project.clone())]);
    let start = offsite_core::catalog::parse_timestamp("2026-11-20T01:00:00Z").unwrap();
    let clock = ManualClock::new(start);
    let agent = Agent::open_with_clock(config.clone(), false, Some(clock.clone()))
        .await
        .unwrap();
    let put = |retention: Option<schedule::RetentionIn>| PutSchedule {
        schedule: Some("daily 02:30".into()),
        time_zone: Some("UTC".into()),
        backup_type: Some("DATABASE".into()),
        enabled: None,
        retention,
    };
    // A count of 0 and an unknown duration are refused.
    for bad in [
        schedule::RetentionIn {
            keep_last: Some(0),
            ..Default::default()
        },
        schedule::RetentionIn {
            keep_within: Some("soon".into()),
            ..Default::default()
        },
    ] {
        let e = schedule::put(&agent, "shop", put(Some(bad)))
            .await
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 400, "{e:?}");
    }
    let set = schedule::put(
        &agent,
        "shop",
        put(Some(schedule::RetentionIn {
            keep_last: Some(2),
            ..Default::default()
        })),
    )
    .await
    .unwrap();
    assert_eq!(set.retention.as_deref(), Some("keep-last 2"));
    assert_eq!(set.retention_source.as_deref(), Some("api"));

    clock.advance(time::Duration::minutes(91));
    let mut paths = Vec::new();
    for day in 0..3 {
        if day > 0 {
            clock.advance(time::Duration::days(1));
        }
        let report = agent.engine.run_due().await.unwrap();
        assert_eq!(report.runs.len(), 1, "{report:?}");
        assert_eq!(report.runs[0].state, DueRunState::Succeeded, "{report:?}");
        let newest = agent.engine.backups("shop").await.unwrap();
        paths.push(
            newest
                .iter()
                .max_by(|a, b| a.created_at.cmp(&b.created_at))
                .unwrap()
                .path
                .clone(),
        );
        let expected_pruned = usize::from(day == 2);
        assert_eq!(
            report.runs[0].pruned.len(),
            expected_pruned,
            "day {day}: {report:?}"
        );
    }
    let kept = agent.engine.backups("shop").await.unwrap();
    assert_eq!(kept.len(), 2);
    assert!(
        !std::path::Path::new(&paths[0]).exists(),
        "the oldest archive is deleted"
    );
    assert!(std::path::Path::new(&paths[2]).exists());

    let metrics = agent.engine.metrics_text().await.unwrap();
    let sample = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{project=\"shop\"")))
            .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(sample("offsite_backups_stored"), "2");
    let bytes: u64 = kept.iter().map(|b| b.size).sum();
    assert_eq!(sample("offsite_backups_stored_bytes"), bytes.to_string());
    assert!(
        sample("offsite_backup_folder_free_bytes")
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert_eq!(sample("offsite_backup_folder_space_low"), "0");
    assert!(metrics.contains("rule=\"keep_last\"} 2\n"), "{metrics}");
    let list = offsite_agent::backups::list_with_space(&agent, "shop")
        .await
        .unwrap();
    assert_eq!(list["backups"].as_array().unwrap().len(), 2);
    assert_eq!(list["retention"]["rules"], "keep-last 2");
    assert_eq!(list["retention"]["backups"], 2);
    assert!(list["space"]["free_bytes"].as_u64().unwrap() > 0);
    assert_eq!(list["space"]["low"], false);

    // agent.toml's retention: applied at start, shown, and the API may not change it.
    drop(agent);
    config.projects.get_mut("shop").unwrap().retention =
        Some(offsite_core::schedule::RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        });
    let agent = Agent::open_with_clock(config, false, Some(clock.clone()))
        .await
        .unwrap();
    let got = schedule::get(&agent, "shop").await.unwrap();
    assert_eq!(got.retention.as_deref(), Some("keep-last 1"));
    assert_eq!(got.retention_source.as_deref(), Some("agent.toml"));
    let e = schedule::put(
        &agent,
        "shop",
        put(Some(schedule::RetentionIn {
            keep_last: Some(5),
            ..Default::default()
        })),
    )
    .await
    .unwrap_err();
    assert_eq!(e.status.as_u16(), 409, "{e:?}");
    clock.advance(time::Duration::days(1));
    let report = agent.engine.run_due().await.unwrap();
    assert_eq!(report.runs[0].state, DueRunState::Succeeded, "{report:?}");
    assert_eq!(report.runs[0].pruned.len(), 2, "{report:?}");
    assert_eq!(agent.engine.backups("shop").await.unwrap().len(), 1);
}
