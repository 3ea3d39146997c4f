//! The testkit's own tests: they start real PostgreSQL servers (and never skip).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use offsite_testkit::{
    fidelity_snapshot, fixture_facts, schema_dump, supabase_fixture_sql, TestCluster,
};

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)).is_ok()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn start_query_stop_restart_and_drop() {
    let pg = TestCluster::start();
    let root = pg.socket_dir().to_path_buf();
    let port = pg.port();
    assert!(
        root.starts_with(std::env::temp_dir()) || root.starts_with("/tmp"),
        "{root:?}"
    );
    assert_eq!(pg.host(), "127.0.0.1");
    assert!(pg.bin_dir().join("pg_restore").is_file());
    assert_eq!(pg.psql("postgres", "SELECT 1"), "1");
    assert!(pg.server_version_num() >= 150000);
    assert_eq!(pg.psql("postgres", "SHOW fsync"), "off");
    assert_eq!(pg.psql("postgres", "SHOW max_connections"), "50");
    assert_eq!(pg.psql("postgres", "SHOW server_encoding"), "UTF8");
    assert_eq!(pg.psql("postgres", "SELECT current_user"), "postgres");
    // Multi-statement scripts; only query results are printed.
    assert_eq!(
        pg.psql(
            "postgres",
            "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2); SELECT sum(x) FROM t;"
        ),
        "3"
    );
    let err = pg
        .try_psql("postgres", "SELECT * FROM no_such_table")
        .unwrap_err();
    assert!(err.contains("no_such_table"), "{err}");

    pg.create_db("my db");
    assert_eq!(pg.psql("my db", "SELECT current_database()"), "my db");
    pg.drop_db("my db");

    pg.stop();
    assert!(!pg.is_running());
    assert!(pg.try_psql("postgres", "SELECT 1").is_err());
    pg.stop(); // idempotent
    pg.restart();
    assert!(pg.is_running());
    assert_eq!(pg.port(), port);
    assert_eq!(pg.psql("postgres", "SELECT sum(x) FROM t"), "3");

    drop(pg);
    assert!(!root.exists(), "temp dir {root:?} left behind");
    assert!(!port_open(port), "server still listening on {port}");
}

#[test]
fn missing_binaries_panic_and_name_the_package() {
    let err = std::panic::catch_unwind(|| {
        TestCluster::start_with_bin_dir(Path::new("/nonexistent/pg/bin"))
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("postgresql-15") && msg.contains("initdb"),
        "{msg}"
    );
}

#[test]
fn url_without_password_fails_and_with_password_works() {
    let pg = TestCluster::shared();
    let url = pg.url("postgres");
    assert_eq!(
        url,
        format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port())
    );
    assert!(!url.contains(pg.superuser_password()));
    let err = pg.psql_url(&url, "SELECT 1").unwrap_err();
    assert!(
        err.contains("password"),
        "expected an authentication failure, got: {err}"
    );

    let with = pg.url_with_password("postgres");
    assert!(
        !with.contains(pg.superuser_password()),
        "password must be percent-encoded: {with}"
    );
    assert_eq!(pg.psql_url(&with, "SELECT 1").unwrap(), "1");

    let wrong = with.replace(
        &offsite_testkit::percent_encode(pg.superuser_password()),
        "wrong",
    );
    assert!(pg
        .psql_url(&wrong, "SELECT 1")
        .unwrap_err()
        .contains("password authentication failed"));
}

#[test]
fn env_reaches_the_cluster_from_child_processes() {
    let pg = TestCluster::shared();
    let out = Command::new(pg.bin("psql"))
        .env_remove("PGDATABASE")
        .envs(pg.env())
        .args([
            "-X",
            "-At",
            "-d",
            "postgres",
            "-c",
            "SELECT inet_server_port()",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        pg.port().to_string()
    );
}

#[test]
fn two_clusters_run_concurrently() {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(TestCluster::start);
        let b = s.spawn(TestCluster::start);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.port(), b.port());
    assert_ne!(a.superuser_password(), b.superuser_password());
    a.psql("postgres", "CREATE TABLE only_in_a (x int)");
    assert_eq!(
        a.psql(
            "postgres",
            "SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'"
        ),
        "1"
    );
    assert_eq!(
        b.psql(
            "postgres",
            "SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'"
        ),
        "0"
    );
    a.stop();
    assert_eq!(b.psql("postgres", "SELECT 1"), "1");
}

#[test]
fn large_object_helpers() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("lo");
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let oid = pg.create_large_object(&db, &bytes);
    assert_eq!(pg.read_large_object(&db, oid), bytes);
    let snap = fidelity_snapshot(pg, &db);
    assert_eq!(snap.large_objects[&oid].size, 70_000);
}

#[test]
fn fixture_loads_deterministically_and_survives_dump_restore() {
    let pg = TestCluster::shared();
    let a = pg.unique_db("fixture_a");
    let b = pg.unique_db("fixture_b");
    pg.load_supabase_fixture(&a);
    // Loading it a second time in the same cluster (roles exist already) works, via a file too.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), supabase_fixture_sql()).unwrap();
    pg.psql_file(&b, file.path());

    let snap_a = fidelity_snapshot(pg, &a);
    // The snapshot of a database equals itself.
    assert_eq!(snap_a, fidelity_snapshot(pg, &a));
    // Two loads are identical.
    fidelity_snapshot(pg, &b).assert_same_as(&snap_a);
    let schema_a = schema_dump(pg, &a);
    assert_eq!(schema_a, schema_dump(pg, &b));
    assert!(
        !schema_a.contains("\\restrict"),
        "restrict lines must be stripped"
    );
    assert!(schema_a.contains("CREATE TABLE \"MixedCase\".\"Weird Table\""));
    assert!(schema_a.contains("CREATE POLICY"));

    // What the fixture promises.
    for t in fixture_facts::SOME_TABLES {
        assert!(!snap_a.rows(t).is_empty(), "{t} is empty");
    }
    assert!(snap_a.rows("auth.users").len() >= 300);
    assert_eq!(
        snap_a.large_objects.len(),
        fixture_facts::LARGE_OBJECT_COUNT
    );
    for (oid, size, md5) in fixture_facts::LARGE_OBJECTS {
        assert_eq!(&snap_a.large_objects[oid].md5, md5, "large object {oid}");
        assert_eq!(snap_a.large_objects[oid].size, *size, "large object {oid}");
    }
    assert!(!snap_a.sequences["public.not_called_seq"].is_called);
    assert_eq!(
        snap_a.sequences["public.invoice_number_seq"].last_value,
        5000
    );
    let big: usize = pg
        .psql(
            &a,
            "SELECT octet_length(body) FROM public.documents WHERE name = 'big'",
        )
        .parse()
        .unwrap();
    assert_eq!(big, fixture_facts::BIG_TEXT_BYTES);
    assert!(
        snap_a.rows("public.customer_totals").len() == 200,
        "materialized view is populated"
    );
    assert_eq!(pg.psql(&a, "SELECT count(*) FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role')"), "3");
    assert_eq!(
        pg.psql(&a, "SELECT string_agg(extname || '@' || extnamespace::regnamespace, ',' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'"),
        "btree_gist@extensions,citext@extensions,pgcrypto@extensions,uuid-ossp@extensions"
    );
    assert_eq!(
        pg.psql(
            &a,
            "SELECT relrowsecurity FROM pg_class WHERE oid = 'public.profiles'::regclass"
        ),
        "t"
    );

    // pg_dump (custom format) → pg_restore into a new database gives the same data and schema.
    let dump = tempfile::NamedTempFile::new().unwrap();
    let out = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .args(["-Fc", "-d", &a, "-f"])
        .arg(dump.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = pg.unique_db("fixture_c");
    let out = pg
        .command("pg_restore")
        .args(pg.conn_args())
        .args(["--exit-on-error", "-d", &c])
        .arg(dump.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fidelity_snapshot(pg, &c).assert_same_as(&snap_a);
    assert_eq!(schema_dump(pg, &c), schema_a);
}

#[test]
fn snapshot_detects_row_sequence_and_large_object_changes() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("changes");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, E'a\\nb'), (2, NULL);
         CREATE TABLE \"Odd\"\"Name|x\" (v int); INSERT INTO \"Odd\"\"Name|x\" VALUES (1);
         CREATE SEQUENCE s; SELECT setval('s', 10);
         SELECT lo_from_bytea(777, 'abc');",
    );
    let base = fidelity_snapshot(pg, &db);
    assert_eq!(base.rows("public.t"), ["(1,\"a\nb\")", "(2,)"]);
    assert_eq!(base.rows("public.\"Odd\"\"Name|x\""), ["(1)"]);
    assert_eq!(base, fidelity_snapshot(pg, &db));

    pg.psql(&db, "UPDATE t SET v = 'changed' WHERE id = 2");
    let changed = fidelity_snapshot(pg, &db);
    assert_ne!(changed, base);
    let diff = changed.diff(&base);
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert!(
        diff[0].contains("public.t") && diff[0].contains("changed"),
        "{diff:?}"
    );
    let panic = std::panic::catch_unwind(|| changed.assert_same_as(&base)).unwrap_err();
    assert!(panic.downcast_ref::<String>().unwrap().contains("public.t"));
    pg.psql(&db, "UPDATE t SET v = NULL WHERE id = 2");
    assert_eq!(fidelity_snapshot(pg, &db), base);

    pg.psql(&db, "SELECT nextval('s')");
    let diff = fidelity_snapshot(pg, &db).diff(&base);
    assert!(
        diff.len() == 1 && diff[0].contains("sequence public.s"),
        "{diff:?}"
    );
    pg.psql(&db, "SELECT setval('s', 10)");

    pg.psql(&db, "SELECT lo_put(777, 0, 'x')");
    let diff = fidelity_snapshot(pg, &db).diff(&base);
    assert!(
        diff.len() == 1 && diff[0].contains("large object 777"),
        "{diff:?}"
    );
    pg.psql(&db, "SELECT lo_put(777, 0, 'a')");
    assert_eq!(fidelity_snapshot(pg, &db), base);

    pg.psql(&db, "CREATE TABLE extra (x int)");
    assert!(fidelity_snapshot(pg, &db).diff(&base)[0].contains("unexpected"));
}

// ---- process-exit cleanup: a helper run of this same test binary ------------------------------

const HELPER_ENV: &str = "OFFSITE_TESTKIT_HELPER";

/// Does nothing in a normal run; when re-executed with OFFSITE_TESTKIT_HELPER it is the child.
#[test]
fn process_exit_helper() {
    let Ok(mode) = std::env::var(HELPER_ENV) else {
        return;
    };
    let pg: &TestCluster = match mode.as_str() {
        "shared" => TestCluster::shared(),
        _ => Box::leak(Box::new(TestCluster::start())),
    };
    println!("CLUSTER {} {}", pg.port(), pg.socket_dir().display());
    if mode == "sleep" {
        std::thread::sleep(Duration::from_secs(600));
    }
}

#[allow(clippy::zombie_processes)] // the child is returned; every caller waits for it
fn run_helper(mode: &str) -> (std::process::Child, u16, PathBuf) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "process_exit_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            let status = child.wait();
            panic!("helper exited without starting a cluster: {status:?}");
        }
        // libtest may print "test process_exit_helper ... " on the same line first.
        if let Some(rest) = line.trim_end().split_once("CLUSTER ").map(|(_, r)| r) {
            let (port, root) = rest.split_once(' ').unwrap();
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
            return (child, port.parse().unwrap(), PathBuf::from(root));
        }
    }
}

#[test]
fn killed_test_process_leaves_no_server_behind() {
    let (mut child, port, root) = run_helper("sleep");
    assert!(port_open(port) && root.exists());
    child.kill().unwrap(); // SIGKILL: no Drop, no atexit; the watchdog cleans up
    child.wait().unwrap();
    wait_until(
        "the killed process's server is gone",
        Duration::from_secs(30),
        || !port_open(port) && !root.exists(),
    );
}

#[test]
fn shared_cluster_is_stopped_at_process_exit() {
    let (mut child, port, root) = run_helper("shared");
    assert!(child.wait().unwrap().success());
    wait_until(
        "the shared cluster is gone",
        Duration::from_secs(30),
        || !port_open(port) && !root.exists(),
    );
}

#[test]
fn leaked_cluster_is_stopped_at_process_exit() {
    let (mut child, port, root) = run_helper("leak");
    assert!(child.wait().unwrap().success());
    wait_until(
        "the leaked cluster is gone",
        Duration::from_secs(30),
        || !port_open(port) && !root.exists(),
    );
}
