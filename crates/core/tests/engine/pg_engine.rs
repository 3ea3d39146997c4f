//! The engine against a real PostgreSQL cluster: backup → verify → restore fidelity on a
//! Supabase-shaped database, consent and safety backups, and every fault the issue lists.

use offsite_core::archive;
use offsite_core::catalog::BackupStatus;
use offsite_core::catalog::JobRecord;
use offsite_core::catalog::JobState;
use offsite_core::progress::{Progress, ProgressUpdate};
use offsite_core::restore::DatabaseOptions;
use offsite_core::secrets::{project_password_key, SecretStore};
use offsite_core::{
    AddProject, BackupOptions, Engine, ErrorKind, JobStart, ProjectConnection, RestoreRequest,
    VerifyOptions,
};
use offsite_testkit::leftovers::pg_dumps_of;
use offsite_testkit::{fidelity_snapshot, schema_dump, TestCluster};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[cfg(unix)]
use crate::common::env_with;
use crate::common::{backed_up_with, env, files_under, first_diff, none, start, target, Env};

async fn last_job(engine: &Engine) -> JobRecord {
    engine.catalog().jobs(None, 1).await.unwrap().remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn supabase_shaped_backup_restores_identically() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("src");
    pg.load_supabase_fixture(&src);
    let env = env().await;

    // The password in the URL goes to the secret store and is stripped from the catalog.
    let project = env
        .engine
        .add_project(AddProject::url("shop", pg.url_with_password(&src)))
        .await
        .unwrap();
    assert!(
        !project.db_url.contains(pg.superuser_password()),
        "{}",
        project.db_url
    );
    assert_eq!(
        env.secrets
            .get(&project_password_key("shop"))
            .unwrap()
            .as_deref(),
        Some(pg.superuser_password())
    );

    // Never tested until the Test button runs; then the database's test passed.
    assert!(env.engine.source_tests("shop").await.unwrap().is_empty());
    let report = env.engine.test_project("shop").await.unwrap();
    assert!(report.can_dump, "{report:?}");
    let tests = env.engine.source_tests("shop").await.unwrap();
    assert_eq!(tests.len(), 1, "{tests:?}");
    assert_eq!(tests[0].source, offsite_core::catalog::SourceKind::Database);
    assert!(tests[0].ok && tests[0].message.is_none(), "{tests:?}");
    assert!(report
        .server_version
        .starts_with(&pg.server_version_num().to_string()[..2]));

    // Progress arrives, first and last included.
    let seen: Arc<Mutex<Vec<ProgressUpdate>>> = Arc::default();
    let sink = {
        let seen = seen.clone();
        Arc::new(move |u: &ProgressUpdate| seen.lock().unwrap().push(u.clone()))
            as Arc<dyn Progress>
    };
    let outcome = env
        .engine
        .backup(
            BackupOptions::project("shop"),
            start(sink, CancellationToken::new()),
        )
        .await
        .unwrap();
    let updates = seen.lock().unwrap().clone();
    assert!(updates.len() >= 2);
    assert!(updates.last().unwrap().finished);
    assert!(updates.iter().all(|u| u.job_id == outcome.job_id));

    let path = PathBuf::from(&outcome.backup.path);
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("shop_") && name.ends_with("_database.tar.zst"),
        "{name}"
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), outcome.backup.size);
    // Nothing but the archive and its .sha256 in the folder.
    let mut files = files_under(path.parent().unwrap());
    files.sort();
    assert_eq!(files, vec![path.clone(), archive::sidecar_path(&path)]);

    // Standard tools can check and open it: sha256sum -c, GNU tar (zstd found by its magic),
    // pg_restore -l.
    let ok = Command::new("sha256sum")
        .arg("-c")
        .arg(archive::sidecar_path(&path))
        .current_dir(path.parent().unwrap())
        .status()
        .unwrap();
    assert!(ok.success());
    let x = tempfile::tempdir().unwrap();
    assert!(Command::new("tar")
        .arg("-xf")
        .arg(&path)
        .arg("-C")
        .arg(x.path())
        .status()
        .unwrap()
        .success());
    let list = Command::new(pg.bin("pg_restore"))
        .arg("-l")
        .arg(x.path().join("database"))
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let globals = std::fs::read_to_string(x.path().join("globals.sql")).unwrap();
    assert!(globals.contains("CREATE ROLE anon;"), "{globals}");
    assert!(
        !globals.contains("SCRAM-SHA-256$"),
        "role passwords must not be in the archive"
    );

    // The manifest has exact counts and no secrets.
    let manifest = archive::read_manifest(&path).unwrap();
    let meta = std::fs::read_to_string(x.path().join("metadata.json")).unwrap();
    assert!(!meta.contains(pg.superuser_password()));
    let orders: i64 = pg
        .psql(&src, "SELECT count(*) FROM public.orders")
        .parse()
        .unwrap();
    let t = manifest
        .tables
        .iter()
        .find(|t| t.schema == "public" && t.table == "orders")
        .unwrap();
    assert_eq!(t.rows as i64, orders);

    // Verify: intact, and recorded.
    let v = env
        .engine
        .verify(VerifyOptions::path(&path), JobStart::default())
        .await
        .unwrap();
    assert!(v.report.ok, "{:?}", v.report);
    let rec = env
        .engine
        .catalog()
        .backup(&outcome.backup.id)
        .await
        .unwrap();
    assert_eq!(rec.status, BackupStatus::Verified);
    assert!(rec.verified_at.is_some());

    // Dry-run plan into an empty database changes nothing and says it is empty.
    let dst = pg.unique_db("dst");
    let plan = env
        .engine
        .plan_restore(&RestoreRequest::new(&path, target(pg, &dst)))
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.target_empty, "{plan:?}");
    assert!(plan.blockers.is_empty(), "{plan:?}");
    assert!(plan.will_create.iter().any(|t| t == "public.orders"));
    assert_eq!(
        pg.psql(
            &dst,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ),
        "0"
    );

    // Restore into the empty database: identical.
    let restored = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(
        restored.report.ok,
        "{:?}",
        restored.report.database.as_ref().unwrap().tables
    );
    assert_eq!(
        restored.report.database.as_ref().unwrap().tables.len(),
        manifest.tables.len()
    );
    assert!(restored
        .report
        .database
        .as_ref()
        .unwrap()
        .safety_backup
        .is_none());
    fidelity_snapshot(pg, &dst).assert_same_as(&fidelity_snapshot(pg, &src));
    let (a, b) = (schema_dump(pg, &src), schema_dump(pg, &dst));
    assert!(a == b, "schema differs:\n{}", first_diff(&a, &b));

    let job = last_job(&env.engine).await;
    assert_eq!(
        (job.kind.as_str(), job.state.as_str()),
        ("restore", "succeeded")
    );
}

async fn backed_up(pg: &TestCluster, env: &Env, prefix: &str) -> (String, PathBuf) {
    backed_up_with(pg, env, prefix, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;").await
}

#[tokio::test(flavor = "multi_thread")]
async fn non_empty_target_needs_consent_then_gets_a_safety_backup() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (src, path) = backed_up(pg, &env, "consent").await;
    pg.psql(&src, "INSERT INTO t VALUES (999999, 'added after the backup'); CREATE TABLE extra (x int); INSERT INTO extra VALUES (1);");

    let plan = env
        .engine
        .plan_restore(&RestoreRequest::new(&path, target(pg, &src)))
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(!plan.target_empty);
    assert_eq!(plan.will_replace, vec!["public.t".to_string()]);
    assert_eq!(plan.will_keep, vec!["public.extra".to_string()]);
    assert!(!plan.blockers.is_empty());

    let e = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &src)),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NeedsConsent, "{e}");
    assert!(e.hint().unwrap().contains("--replace"));
    assert_eq!(
        pg.psql(&src, "SELECT count(*) FROM t"),
        "5001",
        "nothing changed"
    );

    let opts = DatabaseOptions {
        replace: true,
        ..Default::default()
    };
    let r = env
        .engine
        .restore(
            RestoreRequest::new(&path, target(pg, &src)).options(opts.clone()),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(r.report.ok);
    assert_eq!(
        pg.psql(&src, "SELECT count(*) FROM t"),
        "5000",
        "replaced by the backup's rows"
    );
    assert_eq!(
        pg.psql(&src, "SELECT count(*) FROM extra"),
        "1",
        "tables not in the backup are kept"
    );
    // The safety backup holds the state before the restore.
    let safety = r
        .report
        .database
        .as_ref()
        .unwrap()
        .safety_backup
        .clone()
        .expect("a safety backup was taken");
    let m = archive::read_manifest(&safety).unwrap();
    assert_eq!(m.tables.iter().find(|t| t.table == "t").unwrap().rows, 5001);
    assert!(
        archive::verify(
            &safety,
            &offsite_core::progress::Reporter::silent(),
            &CancellationToken::new()
        )
        .unwrap()
        .ok
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_archive_is_refused_and_the_target_stays_empty() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (_src, path) = backed_up(pg, &env, "corrupt").await;
    // Flip a byte inside the dump's compressed data.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let bad = env.dir.path().join("bad.tar.gz");
    std::fs::write(&bad, &bytes).unwrap();

    let v = env
        .engine
        .verify(VerifyOptions::path(&bad), JobStart::default())
        .await
        .unwrap();
    assert!(!v.report.ok);
    assert!(v.report.first_bad.is_some());

    let dst = pg.unique_db("corrupt_dst");
    let e = env
        .engine
        .restore(
            RestoreRequest::new(&bad, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Integrity | ErrorKind::UnsupportedFormat
        ),
        "{e:?}"
    );
    assert_eq!(
        pg.psql(
            &dst,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ),
        "0",
        "rolled back"
    );
    let job = last_job(&env.engine).await;
    assert_eq!(job.state, JobState::Failed);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unreachable_host_fail_clearly_and_leave_nothing() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("authfail");
    env.engine
        .add_project(AddProject {
            name: "wrongpw".into(),
            connection: ProjectConnection::Url(pg.url(&db)),
            password: Some("not-the-password".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let dest = env.dir.path().join("out");
    let e = env
        .engine
        .backup(
            BackupOptions {
                dest: Some(dest.clone()),
                ..BackupOptions::project("wrongpw")
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e:?}");
    assert!(!e.message().contains("not-the-password"));
    assert!(files_under(&dest).is_empty());
    // The refused backup is the database's last test: failed, with the error's line (and no
    // password); the Test button says the same.
    let tests = env.engine.source_tests("wrongpw").await.unwrap();
    assert_eq!(tests.len(), 1, "{tests:?}");
    assert!(!tests[0].ok, "{tests:?}");
    assert_eq!(tests[0].message.as_deref(), Some(e.message()));
    let refused = env.engine.test_project("wrongpw").await.unwrap_err();
    let tests = env.engine.source_tests("wrongpw").await.unwrap();
    assert_eq!(tests[0].message.as_deref(), Some(refused.message()));
    assert!(!tests[0]
        .message
        .as_deref()
        .unwrap()
        .contains("not-the-password"));
    let job = last_job(&env.engine).await;
    assert_eq!(
        (job.state.as_str(), job.error_code.as_deref()),
        ("failed", Some("auth"))
    );
    assert!(env
        .engine
        .catalog()
        .backups(&env.engine.catalog().project("wrongpw").await.unwrap().id)
        .await
        .unwrap()
        .is_empty());

    // Port 1 on loopback: nothing listens.
    env.engine
        .add_project(AddProject::url(
            "nowhere",
            "postgres://postgres@127.0.0.1:1/db",
        ))
        .await
        .unwrap();
    let e = env
        .engine
        .backup(
            BackupOptions {
                dest: Some(dest.clone()),
                ..BackupOptions::project("nowhere")
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e:?}");
    assert!(e.hint().is_some());
    assert!(files_under(&dest).is_empty());
    let job = last_job(&env.engine).await;
    assert_eq!(job.error_code.as_deref(), Some("connection"));
}

#[cfg(unix)] // fake tools as shell scripts
#[tokio::test(flavor = "multi_thread")]
async fn too_old_pg_dump_says_what_to_install() {
    let pg = TestCluster::shared();
    // A configured folder holding client tools that report an old major version.
    let old = tempfile::tempdir().unwrap();
    for tool in ["pg_dump", "pg_restore", "pg_dumpall"] {
        let p = old.path().join(tool);
        // by a child process: run at once in this process, an in-process write can be "Text file busy"
        offsite_testkit::script::write_executable(
            &p,
            &format!("#!/bin/sh\necho '{tool} (PostgreSQL) 12.22'\n"),
        );
    }
    let env = env_with(Some(old.path().to_path_buf())).await;
    let db = pg.unique_db("oldtools");
    env.engine
        .add_project(AddProject::url("old", pg.url_with_password(&db)))
        .await
        .unwrap();
    let e = env
        .engine
        .backup(BackupOptions::project("old"), JobStart::default())
        .await
        .unwrap_err();
    let major = pg.server_version_num() / 10000;
    assert_eq!(e.kind(), ErrorKind::ToolMissing);
    assert!(
        e.message().starts_with(&format!(
            "pg_dump 12 cannot dump a PostgreSQL {major} server"
        )),
        "{}",
        e.message()
    );
    assert!(
        e.hint()
            .unwrap()
            .contains(&format!("postgresql-client-{major}")),
        "{:?}",
        e.hint()
    );
    assert_eq!(
        last_job(&env.engine).await.error_code.as_deref(),
        Some("tool_missing")
    );
    let report = env.engine.test_project("old").await.unwrap();
    assert!(!report.can_dump && report.pg_dump_problem.is_some());
}

/// Hold an ACCESS EXCLUSIVE lock on `table` in a separate psql session, so that pg_dump (which
/// locks every table first) waits: the backup is then reliably "mid-way".
pub(crate) struct TableLock(std::process::Child);

impl TableLock {
    pub(crate) fn hold(pg: &TestCluster, db: &str, table: &str) -> TableLock {
        let child = pg
            .command(pg.bin("psql"))
            .args(["-X", "-d", db, "-c"])
            .arg(format!(
                "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);"
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the lock is held.
        for _ in 0..200 {
            let n = pg.psql(db, &format!("SELECT count(*) FROM pg_locks WHERE relation = '{table}'::regclass AND mode = 'AccessExclusiveLock' AND granted"));
            if n == "1" {
                return TableLock(child);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        panic!("could not take the table lock");
    }
}

impl Drop for TableLock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait until a pg_dump of `db` is waiting for a lock; returns the pid of the pg_dump process.
pub(crate) fn wait_for_blocked_pg_dump(pg: &TestCluster, db: &str) -> u32 {
    for _ in 0..400 {
        let waiting = pg.psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND application_name = 'offsite' AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE%'"),
        );
        if waiting != "0" {
            if let Some(pid) = pg_dumps_of(db).first().copied() {
                return pid;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("pg_dump never started waiting on the lock");
}

#[tokio::test(flavor = "multi_thread")]
async fn pg_dump_killed_mid_backup_leaves_nothing_and_fails_the_job() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, _) = backed_up(pg, &env, "killed").await;
    let dest = env.dir.path().join("killed-out");
    let lock = TableLock::hold(pg, &db, "t");
    let engine = env.engine.clone();
    let dest2 = dest.clone();
    let task = tokio::spawn(async move {
        engine
            .backup(
                BackupOptions {
                    dest: Some(dest2),
                    ..BackupOptions::project("killed")
                },
                JobStart::default(),
            )
            .await
    });
    let pid = tokio::task::spawn_blocking({
        let db = db.clone();
        move || wait_for_blocked_pg_dump(TestCluster::shared(), &db)
    })
    .await
    .unwrap();
    assert!(Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let e = task.await.unwrap().unwrap_err();
    drop(lock);
    assert_eq!(e.kind(), ErrorKind::ToolFailed, "{e:?}");
    assert!(
        e.message().contains("killed by signal 9"),
        "{}",
        e.message()
    );
    assert!(files_under(&dest).is_empty(), "{:?}", files_under(&dest));
    let job = last_job(&env.engine).await;
    assert_eq!(
        (job.state.as_str(), job.error_code.as_deref()),
        ("failed", Some("tool_failed"))
    );
    let project = env.engine.catalog().project("killed").await.unwrap();
    assert_eq!(
        env.engine
            .catalog()
            .backups(&project.id)
            .await
            .unwrap()
            .len(),
        1,
        "only the earlier backup"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_mid_backup_and_one_job_per_project() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, _) = backed_up(pg, &env, "cancelme").await;
    let dest = env.dir.path().join("cancel-out");
    let lock = TableLock::hold(pg, &db, "t");
    let cancel = CancellationToken::new();
    let engine = env.engine.clone();
    let (dest2, cancel2) = (dest.clone(), cancel.clone());
    let task = tokio::spawn(async move {
        engine
            .backup(
                BackupOptions {
                    dest: Some(dest2),
                    ..BackupOptions::project("cancelme")
                },
                start(none(), cancel2),
            )
            .await
    });
    tokio::task::spawn_blocking({
        let db = db.clone();
        move || wait_for_blocked_pg_dump(TestCluster::shared(), &db)
    })
    .await
    .unwrap();

    // A second job on the same project is refused while the first runs.
    let e = env
        .engine
        .backup(
            BackupOptions {
                dest: Some(dest.clone()),
                ..BackupOptions::project("cancelme")
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy, "{e:?}");

    cancel.cancel();
    let e = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("cancel is prompt")
        .unwrap()
        .unwrap_err();
    drop(lock);
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e:?}");
    assert!(files_under(&dest).is_empty(), "{:?}", files_under(&dest));
    let jobs = env.engine.catalog().jobs(None, 10).await.unwrap();
    assert!(
        jobs.iter().any(|j| j.state == JobState::Cancelled),
        "{jobs:?}"
    );
    assert!(
        pg_dumps_of(&db).first().copied().is_none(),
        "pg_dump was stopped"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn server_stopped_mid_backup_fails_with_connection_error() {
    let pg = TestCluster::start();
    let env = env().await;
    let db = "victim";
    pg.create_db(db);
    pg.psql(
        db,
        "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000);",
    );
    env.engine
        .add_project(AddProject::url("victim", pg.url_with_password(db)))
        .await
        .unwrap();
    let dest = env.dir.path().join("stopped-out");
    let lock = TableLock::hold(&pg, db, "t");
    let engine = env.engine.clone();
    let dest2 = dest.clone();
    let task = tokio::spawn(async move {
        engine
            .backup(
                BackupOptions {
                    dest: Some(dest2),
                    ..BackupOptions::project("victim")
                },
                JobStart::default(),
            )
            .await
    });
    let pg = tokio::task::spawn_blocking(move || {
        wait_for_blocked_pg_dump(&pg, db);
        pg.stop();
        pg
    })
    .await
    .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    drop(lock);
    assert_eq!(e.kind(), ErrorKind::Connection, "{e:?}");
    assert!(e.is_retryable());
    assert!(files_under(&dest).is_empty(), "{:?}", files_under(&dest));
    assert_eq!(
        last_job(&env.engine).await.error_code.as_deref(),
        Some("connection")
    );
    drop(pg);
}

/// A 1 MiB tmpfs, unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: PathBuf) -> SmallDisk {
        std::fs::create_dir_all(&at).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&at)
            .status()
            .unwrap();
        assert!(
            st.success(),
            "mounting a small tmpfs needs root (CI runs as root)"
        );
        SmallDisk(at)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn full_disk_fails_with_disk_full_and_leaves_nothing() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("big");
    // Incompressible data well over 1 MiB.
    pg.psql(&db, "CREATE TABLE blob (b bytea); INSERT INTO blob SELECT decode(string_agg(md5(g::text || random()::text), ''), 'hex') FROM generate_series(1, 300000) g;");
    env.engine
        .add_project(AddProject::url("big", pg.url_with_password(&db)))
        .await
        .unwrap();
    let disk = SmallDisk::mount(env.dir.path().join("tiny"));
    let e = env
        .engine
        .backup(
            BackupOptions {
                dest: Some(disk.0.clone()),
                ..BackupOptions::project("big")
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DiskFull, "{e:?}");
    assert!(e.hint().unwrap().contains("free some space"));
    assert!(
        files_under(&disk.0).is_empty(),
        "{:?}",
        files_under(&disk.0)
    );
    assert_eq!(
        last_job(&env.engine).await.error_code.as_deref(),
        Some("disk_full")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn test_connection_reports_unreadable_tables() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("perm");
    let role = format!("limited_{}", &db[db.len() - 6..]);
    pg.psql(&db, &format!(
        "CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'; CREATE TABLE secret (x int); CREATE TABLE open (x int); GRANT SELECT ON open TO {role};"
    ));
    let url = format!("postgres://{role}@127.0.0.1:{}/{db}", pg.port());
    env.engine
        .add_project(AddProject {
            name: "perm".into(),
            connection: ProjectConnection::Url(url),
            password: Some(format!("pw-{role}")),
            ..Default::default()
        })
        .await
        .unwrap();
    let r = env.engine.test_project("perm").await.unwrap();
    assert!(!r.can_dump);
    assert_eq!(r.unreadable, vec!["table public.secret".to_string()]);
    assert!(!r.superuser);
}

/// A cluster that only accepts TLS connections, with a self-signed certificate, and a database
/// `tlsdb` with two rows (made before TLS is switched on: the testkit's own tools connect in plain).
fn tls_only_cluster() -> TestCluster {
    let pg = TestCluster::start();
    pg.create_db("tlsdb");
    pg.psql(
        "tlsdb",
        "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2);",
    );
    let data = pg.data_dir();
    let ok = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-x509",
            "-days",
            "2",
            "-nodes",
            "-subj",
            "/CN=offsite-test-server",
        ])
        .arg("-keyout")
        .arg(data.join("server.key"))
        .arg("-out")
        .arg(data.join("server.crt"))
        .output()
        .expect("openssl is needed for the TLS tests");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        .starts_with(b"0\n");
    for f in ["server.key", "server.crt"] {
        let p = data.join(f);
        #[cfg(unix)]
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        if is_root {
            assert!(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&p)
                .status()
                .unwrap()
                .success());
        }
    }
    // TLS only: plain TCP connections are rejected.
    let hba = "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject\n";
    std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
    pg.psql("postgres", "ALTER SYSTEM SET ssl = on");
    pg.stop();
    pg.restart();
    pg
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_modes_are_honoured_by_the_driver_and_pg_dump() {
    let pg = tokio::task::spawn_blocking(tls_only_cluster).await.unwrap();
    let env = env().await;
    let base = pg.url("tlsdb");
    let add = |name: &str, mode: &str| AddProject {
        name: name.into(),
        connection: ProjectConnection::Url(format!("{base}?sslmode={mode}")),
        password: Some(pg.superuser_password().into()),
        ..Default::default()
    };

    // require: TLS without checking the certificate — test, back up (pg_dump over TLS), restore.
    env.engine
        .add_project(add("tls-require", "require"))
        .await
        .unwrap();
    assert!(
        env.engine
            .test_project("tls-require")
            .await
            .unwrap()
            .can_dump
    );
    let o = env
        .engine
        .backup(BackupOptions::project("tls-require"), JobStart::default())
        .await
        .unwrap();
    let m = archive::read_manifest(std::path::Path::new(&o.backup.path)).unwrap();
    assert_eq!(m.tables.iter().find(|t| t.table == "t").unwrap().rows, 2);

    // disable: the server rejects plain connections, and says so.
    env.engine
        .add_project(add("tls-disable", "disable"))
        .await
        .unwrap();
    let e = env.engine.test_project("tls-disable").await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Auth | ErrorKind::Connection),
        "{e:?}"
    );
    assert!(
        e.message().contains("no encryption") || e.message().contains("rejects"),
        "{}",
        e.message()
    );
    let e = env
        .engine
        .backup(BackupOptions::project("tls-disable"), JobStart::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Auth | ErrorKind::Connection),
        "{e:?}"
    );

    // verify-full: the self-signed certificate is not trusted.
    env.engine
        .add_project(add("tls-verify", "verify-full"))
        .await
        .unwrap();
    let e = env.engine.test_project("tls-verify").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e:?}");
    assert!(e.hint().unwrap().contains("verify-full"), "{e:?}");
    let e = env
        .engine
        .backup(BackupOptions::project("tls-verify"), JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e:?}");
    drop(pg);
}
