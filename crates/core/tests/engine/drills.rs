//! Restore drills on real servers: a throwaway cluster Offsite starts itself from Debian's
//! PostgreSQL binaries, and a scratch server the test names (the shared `TestCluster`). A drill
//! that passes names every check and leaves nothing behind; one that cannot run refuses before it
//! changes anything; retention keeps the newest passed drill's backup.

use crate::common::{back_up, env, env_with, Env};
use offsite_core::catalog::BackupStatus;
use offsite_core::drill::{CheckStatus, DrillReport, Verdict};
use offsite_core::ops::drill::DrillOptions;
use offsite_core::{ErrorKind, JobStart};
use offsite_testkit::TestCluster;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A Supabase-shaped database with partitions, generated columns, an enum and a large object.
fn rich_database(pg: &TestCluster, prefix: &str) -> String {
    let db = pg.unique_db(prefix);
    pg.load_supabase_fixture(&db);
    pg.psql(
        &db,
        "CREATE TYPE public.drill_mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE public.drill_people (id int PRIMARY KEY, name text NOT NULL, mood public.drill_mood,
             name_len int GENERATED ALWAYS AS (length(name)) STORED);
         INSERT INTO public.drill_people (id, name, mood)
             SELECT g, 'person ' || g, (ARRAY['sad','ok','happy'])[1 + g % 3]::public.drill_mood
             FROM generate_series(1, 300) g;
         CREATE TABLE public.drill_events (id int, at date NOT NULL, payload text) PARTITION BY RANGE (at);
         CREATE TABLE public.drill_events_2025 PARTITION OF public.drill_events
             FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         CREATE TABLE public.drill_events_2026 PARTITION OF public.drill_events
             FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         INSERT INTO public.drill_events SELECT g, DATE '2025-06-01' + g, 'e' || g
             FROM generate_series(1, 400) g;",
    );
    pg.create_large_object(&db, b"a large object's bytes");
    db
}

fn check<'a>(r: &'a DrillReport, id: &str) -> &'a offsite_core::drill::DrillCheck {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id:?} in {:#?}", r.checks))
}

/// PostgreSQL processes whose command line names `path` (Linux /proc).
fn postgres_processes_under(path: &Path) -> Vec<String> {
    let needle = path.display().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(&needle) && cmd.contains("postgres") {
                found.push(cmd);
            }
        }
    }
    found
}

/// Folders of throwaway clusters left under the data folder (and the owner files).
fn leftovers(env: &Env) -> Vec<PathBuf> {
    let dir = env.engine.data_dir().join("drill-clusters");
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_into_a_throwaway_cluster_passes_names_every_check_and_leaves_nothing() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = rich_database(pg, "drillsrc");
    back_up(pg, &env, "shop", &db).await;
    let outcome = env
        .engine
        .drill(
            DrillOptions {
                project: "shop".into(),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let r = &outcome.report;
    assert_eq!(r.verdict, Verdict::Passed, "{:#?}", r.checks);
    for id in ["verify", "restore", "rto"] {
        assert_eq!(
            check(r, id).status,
            CheckStatus::Passed,
            "{id}: {:#?}",
            r.checks
        );
    }
    assert!(
        check(r, "restore")
            .actual
            .as_deref()
            .unwrap()
            .contains("tables hold"),
        "{:?}",
        check(r, "restore")
    );
    // Every table's content, the partitions' and the generated column's table too, and the
    // large objects: each a named check that passed.
    for id in [
        "table:public.drill_people",
        "table:public.drill_events_2025",
        "table:public.drill_events_2026",
        "large_objects",
    ] {
        assert_eq!(
            check(r, id).status,
            CheckStatus::Passed,
            "{id}: {:#?}",
            r.checks
        );
    }
    let tables = r
        .checks
        .iter()
        .filter(|c| c.id.starts_with("table:"))
        .count();
    assert!(tables >= 4, "{:#?}", r.checks);
    // The parity report's objects on the scratch copy (issue 66): the policies and triggers the
    // backup's census recorded (the fixture's profiles and storage policies), each part a check.
    for id in [
        "parity:functions-triggers-policies",
        "parity:storage-schema",
    ] {
        let c = check(r, id);
        assert_eq!(c.status, CheckStatus::Passed, "{c:?}");
        assert_eq!(c.actual.as_deref(), Some("the same"), "{c:?}");
    }
    assert!(
        r.checks.iter().all(|c| c.status != CheckStatus::Failed),
        "{:#?}",
        r.checks
    );
    assert_eq!(r.target.kind, "throwaway");
    assert!(
        r.target.server_version.starts_with("PostgreSQL 1"),
        "{:?}",
        r.target
    );
    assert!(r.rto_seconds > 0.0);
    assert!(r.restored_database_bytes.unwrap() > 0);
    assert_eq!(r.drill_id, outcome.job_id, "a drill's id is its job's");
    // The report file: private, the same document the catalog keeps.
    let meta = std::fs::metadata(&outcome.report_path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let dir_mode = std::fs::metadata(outcome.report_path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let on_disk: DrillReport =
        serde_json::from_slice(&std::fs::read(&outcome.report_path).unwrap()).unwrap();
    assert_eq!(&on_disk, r);
    let rec = env.engine.drill_record(&r.drill_id).await.unwrap();
    assert_eq!(&rec.report, r);
    assert_eq!(rec.verdict, Verdict::Passed);
    assert_eq!(env.engine.drills("shop").await.unwrap().len(), 1);
    // The card: proven restorable.
    let summary = env
        .engine
        .project_summary(env.engine.project("shop").await.unwrap())
        .await
        .unwrap();
    assert_eq!(summary.last_drill.as_ref().unwrap().id, r.drill_id);
    assert_eq!(summary.last_passed_drill.as_ref().unwrap().id, r.drill_id);
    // Nothing left: no cluster folder, no owner file, no server.
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
    let mine = offsite_core::drill::cluster::folder_prefix(&r.drill_id);
    assert!(
        postgres_processes_under(Path::new(&mine)).is_empty(),
        "{:?}",
        postgres_processes_under(Path::new(&mine))
    );
    let tmp: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .chain(std::fs::read_dir("/tmp").unwrap())
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&mine))
        .map(|e| e.path())
        .collect();
    assert!(tmp.is_empty(), "{tmp:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_into_a_named_scratch_server_drops_its_database_and_never_records_the_password() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = rich_database(pg, "drillscr");
    back_up(pg, &env, "scr", &db).await;
    let url = pg.url_with_password("postgres");
    let outcome = env
        .engine
        .drill(
            DrillOptions {
                project: "scr".into(),
                backup: Some("latest".into()),
                server: Some(url),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let r = &outcome.report;
    assert_eq!(r.verdict, Verdict::Passed, "{:#?}", r.checks);
    assert_eq!(r.target.kind, "server");
    let name = format!("offsite_drill_{}", r.drill_id.replace('-', ""));
    assert_eq!(
        r.target.location,
        format!("127.0.0.1:{}/{name}", pg.port()),
        "host, port and database only"
    );
    let still = pg.psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    );
    assert_eq!(still.trim(), "0", "the drill's database is dropped");
    let password = pg.superuser_password();
    let report = std::fs::read_to_string(&outcome.report_path).unwrap();
    assert!(!report.contains(password));
    let rec = env.engine.drill_record(&r.drill_id).await.unwrap();
    assert!(!serde_json::to_string(&rec).unwrap().contains(password));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scratch_server_whose_role_cannot_create_databases_is_refused() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("drillnocreate");
    pg.psql(&db, "CREATE TABLE t AS SELECT 1 AS id");
    back_up(pg, &env, "nocreate", &db).await;
    let role = format!("drill_nocreate_{}", std::process::id());
    pg.psql(
        "postgres",
        &format!("CREATE ROLE {role} LOGIN NOCREATEDB PASSWORD 'pw-{role}'"),
    );
    let url = format!(
        "postgres://{role}:pw-{role}@127.0.0.1:{}/postgres",
        pg.port()
    );
    let e = env
        .engine
        .drill(
            DrillOptions {
                project: "nocreate".into(),
                backup: None,
                server: Some(url),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e:?}");
    assert!(
        e.message().contains("cannot create databases"),
        "{}",
        e.message()
    );
    assert!(!e.message().contains(&format!("pw-{role}")));
    assert!(env.engine.drills("nocreate").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scratch_server_that_already_has_the_drills_database_is_refused_and_kept() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("drillexists");
    pg.psql(&db, "CREATE TABLE t AS SELECT 1 AS id");
    back_up(pg, &env, "exists", &db).await;
    let id = offsite_core::ops::job::new_job_id();
    let name = format!("offsite_drill_{}", id.replace('-', ""));
    pg.create_db(&name);
    pg.psql(&name, "CREATE TABLE keep_me AS SELECT 7 AS v");
    let e = env
        .engine
        .drill(
            DrillOptions {
                project: "exists".into(),
                backup: None,
                server: Some(pg.url_with_password("postgres")),
                ..Default::default()
            },
            JobStart::default().id(id.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e:?}");
    assert!(e.message().contains(&name), "{}", e.message());
    assert_eq!(pg.psql(&name, "SELECT v FROM keep_me").trim(), "7");
    pg.drop_db(&name);
}

/// A folder of server binaries like Debian's, but whose share folder has no extensions but
/// plpgsql: a drill server that lacks what the backup uses. Client tools are the real ones.
fn server_without_extensions() -> tempfile::TempDir {
    let real = PathBuf::from("/usr/lib/postgresql/15/bin");
    assert!(
        real.join("initdb").is_file(),
        "Debian's postgresql-15 is needed"
    );
    let root = tempfile::Builder::new()
        .prefix("fakepg")
        .tempdir_in("/tmp")
        .unwrap();
    let bin = root.path().join("lib/postgresql/15/bin");
    std::fs::create_dir_all(&bin).unwrap();
    for b in ["initdb", "pg_ctl", "postgres"] {
        std::fs::copy(real.join(b), bin.join(b)).unwrap();
    }
    for b in ["pg_dump", "pg_restore", "pg_dumpall", "psql"] {
        std::os::unix::fs::symlink(real.join(b), bin.join(b)).unwrap();
    }
    std::os::unix::fs::symlink(
        "/usr/lib/postgresql/15/lib",
        root.path().join("lib/postgresql/15/lib"),
    )
    .unwrap();
    let share = root.path().join("share/postgresql/15");
    std::fs::create_dir_all(share.parent().unwrap()).unwrap();
    let status = std::process::Command::new("cp")
        .args(["-a", "/usr/share/postgresql/15"])
        .arg(&share)
        .status()
        .unwrap();
    assert!(status.success());
    for e in std::fs::read_dir(share.join("extension"))
        .unwrap()
        .flatten()
    {
        if !e.file_name().to_string_lossy().starts_with("plpgsql") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    // Reachable by the `postgres` OS user when the tests run as root.
    let status = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(root.path())
        .status()
        .unwrap();
    assert!(status.success());
    root
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_server_without_an_extension_the_backup_uses_is_a_clear_error_naming_it() {
    let pg = TestCluster::shared();
    let fake = server_without_extensions();
    let bin = fake.path().join("lib/postgresql/15/bin");
    let env = env_with(Some(bin)).await;
    let db = pg.unique_db("drillext");
    pg.psql(
        &db,
        "CREATE EXTENSION pg_trgm; CREATE TABLE t AS SELECT 'abc'::text AS s",
    );
    back_up(pg, &env, "ext", &db).await;
    let e = env
        .engine
        .drill(
            DrillOptions {
                project: "ext".into(),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ToolMissing, "{e:?}");
    assert!(e.message().contains("pg_trgm"), "{}", e.message());
    assert!(e.hint().unwrap().contains("pg_trgm"), "{:?}", e.hint());
    // Stopped and removed all the same.
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_never_removes_the_backup_of_the_newest_passed_drill() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("drillkeep");
    pg.psql(&db, "CREATE TABLE t AS SELECT 1 AS id");
    back_up(pg, &env, "keep", &db).await;
    let older = env.engine.backups("keep").await.unwrap()[0].clone();
    assert_ne!(older.status, BackupStatus::Corrupt);
    let drilled = env
        .engine
        .drill(
            DrillOptions {
                project: "keep".into(),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        drilled.report.verdict,
        Verdict::Passed,
        "{:#?}",
        drilled.report.checks
    );
    assert_eq!(drilled.report.backup_id, older.id);
    for _ in 0..2 {
        env.engine
            .backup(
                offsite_core::BackupOptions::project("keep"),
                JobStart::default(),
            )
            .await
            .unwrap();
    }
    env.engine
        .set_retention(
            "keep",
            offsite_core::schedule::RetentionPolicy {
                keep_last: Some(1),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let preview = env
        .engine
        .prune(
            offsite_core::ops::PruneOptions {
                project: "keep".into(),
                dry_run: true,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let kept = preview
        .kept
        .iter()
        .find(|k| k.id == older.id)
        .expect("kept");
    assert!(
        kept.reasons.iter().any(|r| r == "newest passed drill"),
        "{:?}",
        kept.reasons
    );
    // The backups list says why: the restore drill proved it.
    let forecast = env.engine.removal_forecast("keep").await.unwrap();
    let f = forecast.iter().find(|f| f.backup_id == older.id).unwrap();
    assert!(!f.next_prune, "{f:?}");
    assert_eq!(
        f.kept_by,
        [offsite_core::schedule::KeepRule::Proven],
        "{f:?}"
    );
    assert_eq!(f.kept_because, "restore proven", "{f:?}");
    let done = env
        .engine
        .prune(
            offsite_core::ops::PruneOptions {
                project: "keep".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(done.removed.len(), 1, "{:?}", done.removed);
    assert!(done.removed.iter().all(|r| r.id != older.id));
    assert!(Path::new(&older.path).is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_runs_the_projects_validation_queries_and_fails_on_one_that_no_longer_holds() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("drillq");
    pg.psql(
        &db,
        "CREATE TABLE public.orders AS SELECT g AS id, now() - g * interval '1 hour' AS created_at
         FROM generate_series(1, 50) g;",
    );
    back_up(pg, &env, "q", &db).await;
    let e = &env.engine;
    let holds = e
        .add_validation_check(
            "q",
            Some("orders"),
            "select count(*) from public.orders",
            ">= 50",
        )
        .await
        .unwrap();
    let fresh = e
        .add_validation_check(
            "q",
            None,
            // Unqualified, as users write it: the drill's own session settings (pg_dump's empty
            // search_path for the content checks) must not leak into the project's queries.
            "select max(created_at) from orders",
            "within 26h",
        )
        .await
        .unwrap();
    let broken = e
        .add_validation_check("q", None, "select count(*) from public.orders", ">= 1000")
        .await
        .unwrap();
    let outcome = e
        .drill(
            DrillOptions {
                project: "q".into(),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await;
    // A failed drill: the outcome or (the job's error) — the catalog has its report either way.
    let drills = e.drills("q").await.unwrap();
    assert_eq!(drills.len(), 1, "{outcome:?}");
    let r = &drills[0].report;
    assert_eq!(r.verdict, Verdict::Failed);
    let q = |id: &str| check(r, &format!("query:{id}")).status;
    assert_eq!(q(&holds.id), CheckStatus::Passed, "{:#?}", r.checks);
    assert_eq!(q(&fresh.id), CheckStatus::Passed, "{:#?}", r.checks);
    assert_eq!(q(&broken.id), CheckStatus::Failed, "{:#?}", r.checks);
    assert_eq!(
        r.first_failure().unwrap().id,
        format!("query:{}", broken.id)
    );
    assert_eq!(
        drills[0].failed_check_id.as_deref(),
        Some(format!("query:{}", broken.id).as_str())
    );
    let rpo = r.rpo_hours.expect("a within check measures the RPO");
    assert!((0.0..2.0).contains(&rpo), "{rpo}");
    assert_eq!(check(r, "restore").status, CheckStatus::Passed);
}
