//! The catalog on disk: creating it, reopening it, upgrading a version-1 file, refusing a newer or
//! damaged one, two processes at once, and recovering jobs after a crash.

use offsite_core::archive::BackupType;
use offsite_core::catalog::JobState;
use offsite_core::catalog::{BackupOrigin, BackupStatus};
use offsite_core::catalog::{
    Catalog, JobKind, JobOutcome, NewBackup, NewProject, CATALOG_FILE, INTERRUPTED_MESSAGE,
    MIGRATOR,
};
use offsite_core::ErrorKind;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::path::{Path, PathBuf};

fn new_project(name: &str) -> NewProject {
    NewProject {
        name: name.to_string(),
        db_url: "postgres://postgres@db.example.com:5432/postgres".to_string(),
        tls_mode: "require".to_string(),
        backup_dir: None,
    }
}

fn new_backup(project_id: &str, path: &Path) -> NewBackup {
    NewBackup {
        project_id: project_id.to_string(),
        path: path.to_path_buf(),
        size: 42,
        sha256: "0".repeat(64),
        backup_type: BackupType::Full,
        created_at: "2024-05-01T10:00:00Z".to_string(),
        manifest_json: None,
        job_id: None,
        origin: Default::default(),
    }
}

fn latest_version() -> i64 {
    MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .expect("at least one migration")
}

/// A plain pool on `<dir>/catalog.sqlite3`, without Offsite's migrations.
async fn raw_pool(dir: &Path) -> SqlitePool {
    std::fs::create_dir_all(dir).unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.join(CATALOG_FILE))
        .create_if_missing(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap()
}

/// A migrator with only the first migration (`0001_*.sql`): the schema Offsite's first release
/// shipped. Built from the same files as the embedded one, so the checksums match.
async fn version_1_migrator(scratch: &Path) -> Migrator {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 2,
        "the upgrade test needs at least two migrations"
    );
    let first = &files[0];
    assert!(
        first
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("0001_"),
        "{}",
        first.display()
    );
    let dir = scratch.join("migrations-v1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(first, dir.join(first.file_name().unwrap())).unwrap();
    let migrator = Migrator::new(dir.as_path()).await.unwrap();
    assert_eq!(migrator.iter().map(|m| m.version).collect::<Vec<_>>(), [1]);
    migrator
}

#[tokio::test]
async fn open_creates_the_folder_and_a_wal_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("data");
    let c = Catalog::open(&dir).await.unwrap();
    assert!(dir.join(CATALOG_FILE).is_file());
    let pool = c.pool();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(busy, 5000);
    assert_eq!(c.schema_version().await.unwrap(), latest_version());
    c.close().await;
}

#[tokio::test]
async fn reopening_keeps_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let archive = tmp.path().join("shop_20240501_100000_full.tar.gz");
    std::fs::write(&archive, b"archive").unwrap();

    let c = Catalog::open(&dir).await.unwrap();
    let p = c.add_project(&new_project("shop")).await.unwrap();
    let job = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
    let mut nb = new_backup(&p.id, &archive);
    nb.job_id = Some(job.id.clone());
    let b = c.add_backup(&nb).await.unwrap();
    c.finish_job(
        &job.id,
        JobOutcome::Succeeded {
            backup_id: Some(b.id.clone()),
        },
    )
    .await
    .unwrap();
    c.record_verify(&b.id, true, None).await.unwrap();
    c.set_setting("default_backup_dir", "/srv/backups")
        .await
        .unwrap();
    c.close().await;

    for _ in 0..2 {
        let c = Catalog::open(&dir).await.unwrap();
        assert_eq!(c.schema_version().await.unwrap(), latest_version());
        assert_eq!(c.project("shop").await.unwrap(), p);
        let backups = c.backups(&p.id).await.unwrap();
        assert_eq!(backups.len(), 1);
        assert_eq!(backups[0].status, BackupStatus::Verified);
        assert_eq!(c.backup_by_path(&archive).await.unwrap().unwrap().id, b.id);
        let j = c.job(&job.id).await.unwrap();
        assert_eq!(j.state, JobState::Succeeded);
        assert_eq!(j.backup_id.as_deref(), Some(b.id.as_str()));
        assert_eq!(
            c.setting("default_backup_dir").await.unwrap().as_deref(),
            Some("/srv/backups")
        );
        assert_eq!(c.fail_stale_jobs().await.unwrap(), 0);
        c.close().await;
    }
}

#[tokio::test]
async fn a_version_1_catalog_is_upgraded_with_its_rows_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");

    // A catalog as Offsite's first schema version left it, with rows in every table.
    let pool = raw_pool(&dir).await;
    version_1_migrator(tmp.path())
        .await
        .run(&pool)
        .await
        .unwrap();
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('backups')")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        !columns.iter().any(|c| c == "verify_problem"),
        "version 1 has no verify_problem"
    );
    sqlx::query(
        "INSERT INTO projects (id, name, db_url, tls_mode, backup_dir, created_at) \
         VALUES ('p1', 'legacy', 'postgres://app@old.example.com/app', 'verify-full', '/mnt/b', '2023-01-02T03:04:05.000Z')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO jobs (id, project_id, kind, state, started_at, finished_at) \
         VALUES ('j1', 'p1', 'backup', 'succeeded', '2023-01-02T03:04:05.000Z', '2023-01-02T03:05:00.000Z')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO backups (id, project_id, path, size, sha256, backup_type, created_at, verified_at, status, manifest_json, job_id) \
         VALUES ('b1', 'p1', '/mnt/b/legacy_20230102_030405_full.tar.gz', 1048576, ?, 'full', \
                 '2023-01-02T03:04:05.000Z', '2023-01-03T00:00:00.000Z', 'verified', '{\"format_version\":1}', 'j1')",
    )
    .bind("a".repeat(64))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE jobs SET backup_id = 'b1' WHERE id = 'j1'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO jobs (id, project_id, kind, state, started_at) VALUES ('j2', 'p1', 'verify', 'running', '2023-01-04T00:00:00.000Z')",
    )
    .execute(&pool)
    .await
    .unwrap();
    // Backups an import and two pulls registered: version 17 derives where they came from.
    for (job, kind, backup, file) in [
        ("j3", "import", "b2", "legacy_20230105_000000_full.tar.gz"),
        ("j4", "pull", "b3", "remote_0b1e77.tar.gz"),
        ("j5", "pull", "b4", "legacy_20230107_000000_full.tar.gz"),
    ] {
        sqlx::query(
            "INSERT INTO jobs (id, project_id, kind, state, started_at) VALUES (?, 'p1', ?, 'succeeded', '2023-01-05T00:00:00.000Z')",
        )
        .bind(job)
        .bind(kind)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO backups (id, project_id, path, size, sha256, backup_type, created_at, status, job_id) \
             VALUES (?, 'p1', ?, 1, ?, 'full', '2023-01-05T00:00:00.000Z', 'unverified', ?)",
        )
        .bind(backup)
        .bind(format!("/mnt/b/{file}"))
        .bind("b".repeat(64))
        .bind(job)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    // Opening it applies the later migrations.
    let c = Catalog::open(&dir).await.unwrap();
    assert_eq!(c.schema_version().await.unwrap(), latest_version());
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(c.pool())
            .await
            .unwrap();
    assert_eq!(
        applied,
        MIGRATOR.iter().map(|m| m.version).collect::<Vec<_>>()
    );

    let p = c.project("legacy").await.unwrap();
    assert_eq!(p.id, "p1");
    assert_eq!(p.db_url, "postgres://app@old.example.com/app");
    assert_eq!(p.tls_mode, "verify-full");
    assert_eq!(p.backup_dir.as_deref(), Some("/mnt/b"));
    assert_eq!(p.created_at, "2023-01-02T03:04:05.000Z");

    let b = c.backup("b1").await.unwrap();
    assert_eq!(b.path, "/mnt/b/legacy_20230102_030405_full.tar.gz");
    assert_eq!(b.size, 1_048_576);
    assert_eq!(b.status, BackupStatus::Verified);
    assert_eq!(b.verified_at.as_deref(), Some("2023-01-03T00:00:00.000Z"));
    assert_eq!(b.verify_problem, None);
    assert_eq!(b.manifest_json.as_deref(), Some(r#"{"format_version":1}"#));
    assert_eq!(b.job_id.as_deref(), Some("j1"));
    // A backup job's backup is local; an import's imported; a pull's file with the server's
    // name came from the server; a pull without a sign of either stays local.
    for (id, origin) in [
        ("b1", BackupOrigin::Local),
        ("b2", BackupOrigin::Imported),
        ("b3", BackupOrigin::Server),
        ("b4", BackupOrigin::Local),
    ] {
        assert_eq!(c.backup(id).await.unwrap().origin, origin, "{id}");
    }

    let j = c.job("j1").await.unwrap();
    assert_eq!(j.state, JobState::Succeeded);
    assert_eq!(j.backup_id.as_deref(), Some("b1"));
    assert_eq!((j.bytes_done, j.bytes_total), (0, None));

    // The new columns and table work on the upgraded file.
    c.record_verify("b1", false, Some("database.dump: checksum mismatch"))
        .await
        .unwrap();
    assert_eq!(
        c.backup("b1").await.unwrap().verify_problem.as_deref(),
        Some("database.dump: checksum mismatch")
    );
    c.update_job_counters("j2", 10, Some(20)).await.unwrap();
    c.set_setting("k", "v").await.unwrap();
    // And so does crash recovery of a job version 1 left running.
    assert_eq!(c.fail_stale_jobs().await.unwrap(), 1);
    let j2 = c.job("j2").await.unwrap();
    assert_eq!(j2.state, JobState::Interrupted);
    assert_eq!((j2.bytes_done, j2.bytes_total), (10, Some(20)));
    c.remove_project("legacy").await.unwrap();
    assert!(c.jobs(None, 10).await.unwrap().is_empty());
    c.close().await;
}

#[tokio::test]
async fn a_catalog_from_a_newer_offsite_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    Catalog::open(&dir).await.unwrap().close().await;
    let pool = raw_pool(&dir).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', 1, X'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let e = Catalog::open(&dir).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Catalog, "{e}");
    assert!(e.message().contains("9999"), "{e}");
    assert!(
        e.hint().unwrap().contains("newer Offsite"),
        "{:?}",
        e.hint()
    );
}

#[tokio::test]
async fn a_damaged_catalog_file_is_a_catalog_error_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(CATALOG_FILE), vec![0x5a; 8192]).unwrap();
    let e = Catalog::open(&dir).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Catalog, "{e}");
    assert!(e.hint().unwrap().contains(CATALOG_FILE), "{:?}", e.hint());
}

#[cfg(unix)]
#[tokio::test]
async fn an_unusable_data_folder_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let e = Catalog::open(&file).await.unwrap_err();
    assert!(e.message().contains("not-a-folder"), "{e}");
}

#[tokio::test]
async fn stale_jobs_of_a_crashed_process_are_interrupted_on_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (running, cancelling, finished) = {
        let c = Catalog::open(&dir).await.unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let running = c.start_job(JobKind::Backup, Some(&p.id)).await.unwrap();
        c.update_job_counters(&running.id, 512, Some(1024))
            .await
            .unwrap();
        let cancelling = c.start_job(JobKind::Restore, Some(&p.id)).await.unwrap();
        c.set_job_cancelling(&cancelling.id).await.unwrap();
        let finished = c.start_job(JobKind::Verify, None).await.unwrap();
        c.finish_job(&finished.id, JobOutcome::Cancelled)
            .await
            .unwrap();
        // The process dies here: no finish_job for the first two.
        drop(c);
        (running.id, cancelling.id, finished.id)
    };

    let c = Catalog::open(&dir).await.unwrap();
    assert_eq!(c.job(&running).await.unwrap().state, JobState::Running);
    assert_eq!(c.fail_stale_jobs().await.unwrap(), 2);
    let r = c.job(&running).await.unwrap();
    assert_eq!(r.state, JobState::Interrupted);
    assert_eq!(r.error_message.as_deref(), Some(INTERRUPTED_MESSAGE));
    assert_eq!(
        r.error_message.as_deref(),
        Some("interrupted (Offsite stopped while it ran)")
    );
    assert!(r.finished_at.is_some());
    assert_eq!((r.bytes_done, r.bytes_total), (512, Some(1024)));
    assert_eq!(
        c.job(&cancelling).await.unwrap().state,
        JobState::Interrupted
    );
    assert_eq!(c.job(&finished).await.unwrap().state, JobState::Cancelled);
    assert_eq!(c.fail_stale_jobs().await.unwrap(), 0);
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_can_write_at_once() {
    // The desktop app and the command line each open the catalog; SQLite's WAL mode and busy
    // timeout make their writes wait for each other instead of failing.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let a = Catalog::open(&dir).await.unwrap();
    let b = Catalog::open(&dir).await.unwrap();
    let p = a.add_project(&new_project("shop")).await.unwrap();
    let mut tasks = Vec::new();
    for (i, c) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        let pid = p.id.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..25u64 {
                let j = c.start_job(JobKind::Backup, Some(&pid)).await.unwrap();
                c.update_job_counters(&j.id, n, Some(100)).await.unwrap();
                c.finish_job(&j.id, JobOutcome::Succeeded { backup_id: None })
                    .await
                    .unwrap();
                c.set_setting(&format!("writer-{i}"), &n.to_string())
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(a.jobs(Some(&p.id), 1000).await.unwrap().len(), 100);
    assert_eq!(
        b.jobs(None, 1000)
            .await
            .unwrap()
            .iter()
            .filter(|j| j.state == JobState::Succeeded)
            .count(),
        100
    );
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn removing_a_project_keeps_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a.tar.gz");
    std::fs::write(&archive, b"archive").unwrap();
    let c = Catalog::open(&tmp.path().join("data")).await.unwrap();
    let p = c.add_project(&new_project("shop")).await.unwrap();
    let b = c.add_backup(&new_backup(&p.id, &archive)).await.unwrap();
    c.remove_project("shop").await.unwrap();
    assert!(archive.is_file());
    assert_eq!(
        c.backup(&b.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(c.backup_by_path(&archive).await.unwrap(), None);
    // The name is free again.
    c.add_project(&new_project("shop")).await.unwrap();
    c.close().await;
}
