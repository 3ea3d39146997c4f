//! The `offsite` binary on a server, in cron or in a container: no D-Bus session at all (the
//! variable unset, or pointing at nothing), no `OFFSITE_SECRET_STORE`, HOME and XDG folders
//! empty. A project that needs no secret works; one that needs a secret fails with
//! `keychain_unavailable` and a hint naming `OFFSITE_SECRET_STORE=env` and the variable to set;
//! with those set, it works. A backup made without a keychain restores without one, too.

use offsite_core::secrets::{env_var_for_key, project_password_key};
use offsite_testkit::conformance::database::files_under;
use offsite_testkit::leftovers::{pg_dumps_of, temporaries};
use offsite_testkit::{assert_same_schema, fidelity_snapshot, TestCluster};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;

mod headless_harness;
use headless_harness::*;

fn assert_keychain_unavailable(err: &Value, var: &str, password: Option<&str>) {
    assert_eq!(s(&err["code"]), "keychain_unavailable", "{err}");
    assert_eq!(err["retryable"], Value::Bool(false), "{err}");
    let hint = s(&err["hint"]);
    assert!(hint.contains("OFFSITE_SECRET_STORE=env"), "{hint}");
    assert!(hint.contains(var), "hint must name {var}: {hint}");
    if let Some(pw) = password {
        assert!(
            !err.to_string().contains(pw),
            "password in the error: {err}"
        );
    }
}

#[test]
fn a_project_without_a_secret_needs_no_keychain() {
    let pg = TestCluster::shared();
    let role = "headless_trust";
    pg.create_trusted_role(role);
    let db = pg.unique_db("headless");
    pg.psql(
        &db,
        &format!(
            "ALTER DATABASE {db} OWNER TO {role}; ALTER SCHEMA public OWNER TO {role}; \
             SET ROLE {role}; \
             CREATE TABLE notes (id serial PRIMARY KEY, body text); \
             INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 321) g;"
        ),
    );
    let cli = Headless::new();
    // The server lets this role in without a password; nothing is stored, nothing is read.
    for (i, bus) in [Bus::Unset, Bus::Nowhere].into_iter().enumerate() {
        let name = format!("trusted-{i}");
        let url = url_as(pg, role, None, &db);
        let added = cli.json(bus, &["project", "add", &name, "--db", &url], &[], 0);
        assert_eq!(s(&added["project"]["name"]), name);
        let test = cli.json(bus, &["project", "test", &name], &[], 0);
        assert_eq!(test["can_dump"], Value::Bool(true), "{test}");
        let b = cli.json(bus, &["backup", &name], &[], 0);
        let path = backed_up_file(&b);
        let v = cli.json(bus, &["verify", path.to_str().unwrap()], &[], 0);
        assert_eq!(v["ok"], Value::Bool(true), "{v}");
        let m = cli.json(bus, &["inspect", path.to_str().unwrap()], &[], 0);
        let notes = m["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "notes")
            .unwrap_or_else(|| panic!("{m}"));
        assert_eq!(notes["rows"], 321);
        // And back, still without a keychain: into a fresh database on the same server (owned
        // by the same role, as the source), where it is the source again, schema and every row.
        let dst = pg.unique_db("headless_dst");
        pg.psql(
            &dst,
            &format!("ALTER DATABASE {dst} OWNER TO {role}; ALTER SCHEMA public OWNER TO {role};"),
        );
        let to = url_as(pg, role, None, &dst);
        let archive = path.to_str().unwrap();
        let plan = cli.json(bus, &["restore", archive, "--to", &to, "--dry-run"], &[], 0);
        assert_eq!(
            plan["database"]["target_empty"],
            Value::Bool(true),
            "{plan}"
        );
        let r = cli.json(bus, &["restore", archive, "--to", &to], &[], 0);
        assert_eq!(r["report"]["ok"], Value::Bool(true), "{r}");
        assert_same_schema(pg, &db, &dst);
        fidelity_snapshot(pg, &dst).assert_same_as(&fidelity_snapshot(pg, &db));
        cli.json(bus, &["project", "remove", &name], &[], 0);
    }
    assert_eq!(cli.project_count(), 0);

    // A project whose server asks for a password, with none anywhere: not a confusing
    // authentication error but the keychain's, saying exactly what to set.
    let name = "needs-pw";
    let var = env_var_for_key(&project_password_key(name));
    assert_eq!(var, "OFFSITE_PASSWORD_PROJECT_NEEDS_PW_DB_PASSWORD");
    // `project add` tries the connection first: the same error, nothing added.
    let err = cli.json(
        Bus::Unset,
        &["project", "add", name, "--db", &pg.url(&db)],
        &[],
        3,
    );
    assert_keychain_unavailable(&err["error"], &var, None);
    assert!(s(&err["error"]["hint"]).contains("--no-test"), "{err}");
    assert_eq!(cli.project_count(), 0);
    cli.json(
        Bus::Unset,
        &["project", "add", name, "--db", &pg.url(&db), "--no-test"],
        &[],
        0,
    );
    for bus in [Bus::Unset, Bus::Nowhere] {
        for args in [&["backup", name][..], &["project", "test", name][..]] {
            let err = cli.json(bus, args, &[], 3);
            assert_keychain_unavailable(&err["error"], &var, None);
            assert!(
                s(&err["error"]["message"]).contains("asks for a password"),
                "{err}"
            );
        }
    }
    let leftovers: Vec<_> = files_under(&cli.data.path().join("backups").join(name));
    assert!(leftovers.is_empty(), "nothing written: {leftovers:?}");
}

#[test]
fn storing_a_password_without_a_keychain_fails_clearly_and_registers_nothing() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("headless_add");
    let cli = Headless::new();
    let pw = pg.superuser_password();
    let name = "with-pw";
    let var = env_var_for_key(&project_password_key(name));
    for bus in [Bus::Unset, Bus::Nowhere] {
        let url = url_as(pg, pg.superuser(), Some(pw), &db);
        let out = cli.run(bus, &["project", "add", name, "--db", &url], &[]);
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stdout.contains(pw) && !stderr.contains(pw),
            "password printed"
        );
        let err: Value = serde_json::from_str(&stdout).unwrap();
        assert_keychain_unavailable(&err["error"], &var, Some(pw));
        assert!(
            s(&err["error"]["hint"]).contains("Nothing was saved"),
            "{err}"
        );
        assert_eq!(cli.project_count(), 0, "nothing registered");
    }
    for f in files_under(cli.data.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(pw.len()).any(|w| w == pw.as_bytes()),
            "password found in {}",
            f.display()
        );
    }
}

#[test]
fn with_offsite_secret_store_env_a_password_protected_project_backs_up() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("headless_env");
    pg.psql(
        &db,
        "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 7);",
    );
    let cli = Headless::new();
    let name = "env-pw";
    let var = env_var_for_key(&project_password_key(name));
    let env = [
        ("OFFSITE_SECRET_STORE", "env"),
        (var.as_str(), pg.superuser_password()),
    ];
    for bus in [Bus::Unset, Bus::Nowhere] {
        cli.json(
            bus,
            &["project", "add", name, "--db", &pg.url(&db)],
            &env,
            0,
        );
        let b = cli.json(bus, &["backup", name], &env, 0);
        backed_up_file(&b);
        cli.json(bus, &["project", "remove", name], &env, 0);
    }
    // Without the variable the server's refusal is an authentication error (the env store was
    // chosen: there is no keychain to blame), and nothing is kept.
    cli.json(
        Bus::Unset,
        &["project", "add", name, "--db", &pg.url(&db)],
        &env,
        0,
    );
    let err = cli.json(
        Bus::Unset,
        &["backup", name],
        &[("OFFSITE_SECRET_STORE", "env")],
        3,
    );
    assert_eq!(s(&err["error"]["code"]), "auth", "{err}");
    assert_no_password_given(&err["error"], &var);
}

/// `project add` with a part whose secret cannot be stored: one engine call, so nothing is
/// registered — not the project, not its other parts.
#[test]
fn project_add_with_a_secret_that_cannot_be_stored_leaves_nothing() {
    let cli = Headless::new();
    let name = "half";
    let pw_var = env_var_for_key(&project_password_key(name));
    let add = [
        "project",
        "add",
        name,
        "--db",
        "postgres://app@127.0.0.1:1/shop",
        "--no-test",
        "--password-stdin",
        "--s3-endpoint",
        "https://s3.example.com",
        "--s3-key-id",
        "AKID",
        "--s3-secret-stdin",
        "--default-type",
        "full",
    ];
    // Without a keychain: the first secret cannot be stored.
    let out = cli.run_with_stdin(Bus::Nowhere, &add, &[], "db-pw\ns3-secret\n");
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(s(&err["error"]["code"]), "keychain_unavailable", "{err}");
    assert_eq!(cli.project_count(), 0, "nothing registered");
    // With OFFSITE_SECRET_STORE=env the password is the one its variable holds (accepted), the
    // S3 secret is not (refused): the second write fails, and still nothing is registered.
    let env = [("OFFSITE_SECRET_STORE", "env"), (pw_var.as_str(), "db-pw")];
    let out = cli.run_with_stdin(Bus::Unset, &add, &env, "db-pw\nanother-s3-secret\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    let err: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s(&err["error"]["code"]), "secrets", "{err}");
    assert!(!stdout.contains("another-s3-secret"), "{stdout}");
    assert_eq!(cli.project_count(), 0, "nothing registered");
    let shown = cli.run(Bus::Unset, &["project", "components", name], &env);
    assert_eq!(shown.status.code(), Some(2), "{shown:?}");
}

/// The documented variable of the S3 secret serves a headless `project add` (given it, the
/// read-only environment store does not refuse it) and then `backup`, which reads the same one.
#[test]
fn with_offsite_secret_store_env_the_documented_s3_variable_serves_add_and_backup() {
    use offsite_core::sources::s3::{S3Config, S3Store};
    use offsite_core::sources::{ObjectTarget, PutBody, PutRequest};
    use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
    let moto = offsite_testkit::MotoServer::start();
    let endpoint = moto.endpoint();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let s3 = S3Store::new(&S3Config {
            endpoint: Some(endpoint.clone()),
            region: "us-east-1".into(),
            access_key_id: TEST_KEY_ID.into(),
            secret_access_key: TEST_SECRET.into(),
            path_style: true,
        })
        .unwrap();
        s3.create_bucket("media").await.unwrap();
        s3.put_object(
            "media",
            "a/one.txt",
            PutBody::Bytes(b"one".to_vec().into()),
            &PutRequest::default(),
        )
        .await
        .unwrap();
    });
    let pg = TestCluster::shared();
    let db = pg.unique_db("headless_s3");
    pg.psql(&db, "CREATE TABLE t (id int); INSERT INTO t VALUES (1);");
    let cli = Headless::new();
    let name = "env-s3";
    let pw_var = env_var_for_key(&project_password_key(name));
    let env = [
        ("OFFSITE_SECRET_STORE", "env"),
        (pw_var.as_str(), pg.superuser_password()),
        ("OFFSITE_S3_SECRET_ACCESS_KEY", TEST_SECRET),
    ];
    let added = cli.json(
        Bus::Unset,
        &[
            "project",
            "add",
            name,
            "--db",
            &pg.url(&db),
            "--s3-endpoint",
            &endpoint,
            "--s3-key-id",
            TEST_KEY_ID,
            "--buckets",
            "media",
            "--default-type",
            "full",
        ],
        &env,
        0,
    );
    assert_eq!(s(&added["project"]["name"]), name);
    assert!(!added.to_string().contains(TEST_SECRET));
    let b = cli.json(Bus::Unset, &["backup", name], &env, 0);
    let path = backed_up_file(&b);
    assert!(path.to_str().unwrap().ends_with("_full.tar.zst"), "{b}");
    let m = cli.json(Bus::Unset, &["inspect", path.to_str().unwrap()], &[], 0);
    assert!(
        m.to_string().contains("a/one.txt") || m.to_string().contains("media"),
        "{m}"
    );
    // The same variable is what the backup read: without it, the storage cannot be reached.
    let env_without = [
        ("OFFSITE_SECRET_STORE", "env"),
        (pw_var.as_str(), pg.superuser_password()),
    ];
    let out = cli.run(Bus::Unset, &["backup", name], &env_without);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("OFFSITE_S3_SECRET_ACCESS_KEY"),
        "{out:?}"
    );
}

/// The Supabase inputs the CLI and the window once read differently, and what the engine's one
/// reading of them gives (the same table is checked through IPC in src-tauri/tests.rs).
const SUPABASE_INPUTS: [(&str, Option<&str>); 6] = [
    ("abcdefghijklmnopqrst", Some("abcdefghijklmnopqrst")),
    (
        "https://abcdefghijklmnopqrst.supabase.co",
        Some("abcdefghijklmnopqrst"),
    ),
    (
        "postgresql://postgres.abcdefghijklmnopqrst@aws-0-eu-central-1.pooler.supabase.com:5432/postgres",
        Some("abcdefghijklmnopqrst"),
    ),
    ("abcdefghijklmnopqrs", None),
    ("abcdefghijklmnopqrstu", None),
    ("abcdefghijklmnopqrstuvwxyz0123456789abcd", None),
];

#[test]
fn supabase_refs_and_urls_are_read_by_the_engine() {
    let cli = Headless::new();
    let env = [
        ("OFFSITE_SECRET_STORE", "env"),
        ("SUPABASE_ACCESS_TOKEN", "sbp_from_env"),
    ];
    for (i, (input, want)) in SUPABASE_INPUTS.into_iter().enumerate() {
        let name = format!("sb{i}");
        let args = [
            "project",
            "add",
            &name,
            "--db",
            "postgres://app@127.0.0.1:1/shop",
            "--no-test",
            "--supabase",
            input,
        ];
        match want {
            Some(r) => {
                cli.json(Bus::Unset, &args, &env, 0);
                let shown = cli.json(Bus::Unset, &["project", "components", &name], &env, 0);
                assert_eq!(
                    s(&shown["components"]["supabase"]["project_ref"]),
                    r,
                    "{input}"
                );
            }
            None => {
                let err = cli.json(Bus::Unset, &args, &env, 2);
                assert_eq!(s(&err["error"]["code"]), "invalid_input", "{input}: {err}");
                assert!(
                    s(&err["error"]["message"]).contains("not a Supabase project URL or ref"),
                    "{input}: {err}"
                );
            }
        }
    }
    assert_eq!(cli.project_count(), 3);
}

/// `offsite backup --jobs 2` killed (SIGKILL) while pg_dump works in its temporary folder: no
/// backup is registered, and the next command that sweeps (`run-due`) removes the folder.
#[test]
fn a_killed_parallel_backup_leaves_no_temporary_folder_and_no_backup() {
    let pg = TestCluster::shared();
    // Its own role: `create_trusted_role` makes a role once per cluster, and the other tests
    // of this binary run at the same time.
    let role = "headless_kill";
    pg.create_trusted_role(role);
    let db = pg.unique_db("headless_kill");
    let mut sql = format!(
        "ALTER DATABASE {db} OWNER TO {role}; ALTER SCHEMA public OWNER TO {role}; SET ROLE {role};"
    );
    for i in 0..4 {
        sql.push_str(&format!(
            "CREATE TABLE t{i} (id int, v text); \
             INSERT INTO t{i} SELECT g, md5(g::text) FROM generate_series(1, 2000) g;"
        ));
    }
    pg.psql(&db, &sql);
    let cli = Headless::new();
    let backups = tempfile::tempdir().unwrap();
    let dir = backups.path().to_str().unwrap();
    let url = url_as(pg, role, None, &db);
    cli.json(
        Bus::Unset,
        &[
            "project",
            "add",
            "killed",
            "--db",
            &url,
            "--backup-dir",
            dir,
        ],
        &[],
        0,
    );
    // A session holding a lock on t3 keeps pg_dump waiting, mid-dump.
    let mut lock = pg
        .command(pg.bin("psql"))
        .args(["-X", "-q", "-d", &db, "-c"])
        .arg("BEGIN; LOCK TABLE t3 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600);")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The lock held before the backup starts (an event, not a pause: under load psql can take
    // longer than any pause to connect, and pg_dump would then dump t3 without waiting).
    let held = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                WHERE c.relname = 't3' AND l.mode = 'AccessExclusiveLock' AND l.granted";
    let mut tries = 0;
    while pg.psql(&db, held).trim() != "1" {
        tries += 1;
        assert!(
            tries < 1200,
            "the session never held its lock on t3 (120 s)"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut backup = cli
        .cmd(Bus::Unset, &["backup", "killed", "--jobs", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = false;
    for _ in 0..600 {
        if temporaries(backups.path()).iter().any(|p| p.is_dir()) && !pg_dumps_of(&db).is_empty() {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(seen, "the parallel dump's temporary folder never appeared");
    backup.kill().unwrap(); // SIGKILL
    backup.wait().unwrap();
    // pg_dump got SIGTERM when Offsite died (PR_SET_PDEATHSIG), though its sessions still
    // wait on the lock: no orphan runs on.
    for _ in 0..200 {
        if pg_dumps_of(&db).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        pg_dumps_of(&db).is_empty(),
        "pg_dump still runs after Offsite was killed"
    );
    // The lock's session (its psql killed, the server still sleeping) ends.
    terminate_sessions(pg, &db);
    let _ = lock.kill();
    let _ = lock.wait();
    assert!(
        !temporaries(backups.path()).is_empty(),
        "the kill left its folder"
    );

    let list = cli.json(Bus::Unset, &["backups", "killed"], &[], 0);
    assert_eq!(list["backups"].as_array().unwrap().len(), 0, "{list}");
    cli.json(Bus::Unset, &["run-due"], &[], 0);
    assert!(
        temporaries(backups.path()).is_empty(),
        "{:?}",
        temporaries(backups.path())
    );
    // The next backup works in the swept folder.
    let b = cli.json(Bus::Unset, &["backup", "killed", "--jobs", "2"], &[], 0);
    backed_up_file(&b);
}

/// Ends every other session on database `db` (a killed psql's server session sleeps on).
fn terminate_sessions(pg: &TestCluster, db: &str) {
    pg.psql(
        "postgres",
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = '{db}' AND pid <> pg_backend_pid()"
        ),
    );
}

/// The pg_restore and psql processes of a restore into database `db` whose temporary folders
/// are in `tmp`: their command line names the database (`--dbname=dbname='db'`) or a path in
/// `tmp` (the extracted dump, the list of entries).
fn restore_tools_of(db: &str, tmp: &std::path::Path) -> Vec<u32> {
    let (wanted, tmp) = (format!("dbname='{db}'"), tmp.to_string_lossy().into_owned());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            (cmdline.contains("pg_restore") || cmdline.contains("psql"))
                && (cmdline.contains(&wanted) || cmdline.contains(&tmp))
        })
        .collect()
}

/// Restore folders (`.offsite-restore-…`) directly in `dir`.
fn restore_folders(dir: &std::path::Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".offsite-restore-")
        })
        .map(|e| e.path())
        .collect()
}

/// `offsite restore` of a format-2 archive killed (SIGKILL) while pg_restore works: no
/// pg_restore (or psql) runs on (PR_SET_PDEATHSIG), the private temporary folder is left, and the next
/// restore removes it before it starts (its process is gone) and leaves none of its own.
#[test]
fn a_killed_parallel_restore_leaves_no_pg_restore_and_the_next_restore_sweeps_its_folder() {
    let pg = TestCluster::shared();
    let role = "headless_rkill";
    pg.create_trusted_role(role);
    let db = pg.unique_db("headless_rkill");
    pg.psql(
        &db,
        &format!(
            "ALTER DATABASE {db} OWNER TO {role}; ALTER SCHEMA public OWNER TO {role}; SET ROLE {role};
             CREATE TABLE t0 (id int PRIMARY KEY, v text);
             INSERT INTO t0 SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
             CREATE TABLE t1 (id int, v text);
             INSERT INTO t1 SELECT g, md5(g::text) FROM generate_series(1, 3000) g;"
        ),
    );
    let cli = Headless::new();
    let url = url_as(pg, role, None, &db);
    cli.json(
        Bus::Unset,
        &["project", "add", "rkill", "--db", &url],
        &[],
        0,
    );
    let b = cli.json(Bus::Unset, &["backup", "rkill"], &[], 0);
    let archive = backed_up_file(&b);
    let archive = archive.to_str().unwrap();
    let m = cli.json(Bus::Unset, &["inspect", archive], &[], 0);
    assert_eq!(m["format_version"], 2, "the default is a parallel dump");
    let tmp = tempfile::tempdir().unwrap();
    let dst = pg.unique_db("headless_rkill_dst");
    // An open transaction that created t0 (invisible: the target is empty) makes pg_restore's
    // own CREATE TABLE t0 wait, mid-restore.
    let mut blocker = pg
        .command(pg.bin("psql"))
        .args(["-X", "-q", "-d", &dst, "-c"])
        .arg("BEGIN; CREATE TABLE public.t0 (x int); SELECT pg_sleep(600);")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // As the superuser (its password in the URL: no keychain here).
    let to = pg.url_with_password(&dst);
    let err_path = cli.data.path().join("restore.err");
    let mut restore = cli
        .cmd(Bus::Unset, &["restore", archive, "--to", &to])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut seen = false;
    for _ in 0..2400 {
        if !restore_folders(tmp.path()).is_empty() && !restore_tools_of(&dst, tmp.path()).is_empty()
        {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        seen,
        "the restore never started: {}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    restore.kill().unwrap(); // SIGKILL
    restore.wait().unwrap();
    for _ in 0..200 {
        if restore_tools_of(&dst, tmp.path()).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        restore_tools_of(&dst, tmp.path()).is_empty(),
        "pg_restore or psql still runs after Offsite was killed"
    );
    terminate_sessions(pg, &dst);
    let _ = blocker.kill();
    let _ = blocker.wait();
    let left = restore_folders(tmp.path());
    assert!(!left.is_empty(), "the kill left its folder");

    // The next restore sweeps it, restores, and leaves no folder of its own.
    let dst2 = pg.unique_db("headless_rkill_dst2");
    let to2 = pg.url_with_password(&dst2);
    let out = cli
        .cmd(Bus::Unset, &["restore", archive, "--to", &to2])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        restore_folders(tmp.path()).is_empty(),
        "{:?}",
        restore_folders(tmp.path())
    );
    fidelity_snapshot(pg, &dst2).assert_same_as(&fidelity_snapshot(pg, &db));
}

/// `project parts` reads the catalog only: no server, no keychain, no secret. A plain project is
/// told which parts do not apply; a project on a Supabase host which are not set up.
#[test]
fn project_parts_needs_no_server_and_says_what_applies() {
    let cli = Headless::new();
    let add = |name: &str, url: &str| {
        cli.json(
            Bus::Unset,
            &["project", "add", name, "--db", url, "--no-test"],
            &[],
            0,
        )
    };
    add("plain", "postgres://app@127.0.0.1:1/shop");
    add(
        "hosted",
        "postgres://postgres@db.abcdefghijklmnopqrst.supabase.co:5432/postgres",
    );
    let plain = cli.json(Bus::Unset, &["project", "parts", "plain"], &[], 0);
    assert_eq!(s(&plain["project"]), "plain");
    assert_eq!(s(&plain["kind"]), "postgres");
    let parts = plain["parts"].as_array().unwrap();
    assert_eq!(parts.len(), offsite_core::parts::PARTS.len());
    let row = |t: &Value, id: &str| -> Value {
        t["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no part {id}: {t}"))
    };
    assert_eq!(row(&plain, "schemas")["applies"], Value::Bool(true));
    assert_eq!(row(&plain, "vault")["applies"], Value::Bool(false));
    assert_eq!(s(&row(&plain, "vault")["captured"]), "yes");
    assert_eq!(s(&row(&plain, "vault-root-key")["captured"]), "partly");
    assert_eq!(s(&row(&plain, "vault-root-key")["restored"]), "yes");
    let hosted = cli.json(Bus::Nowhere, &["project", "parts", "hosted"], &[], 0);
    assert_eq!(s(&hosted["kind"]), "supabase");
    let values = row(&hosted, "function-secret-values");
    assert_eq!(values["applies"], Value::Bool(true));
    assert_eq!(s(&values["captured"]), "not_exposed");
    assert!(s(&values["note"]).contains("--supabase-ref"), "{values}");
    let err = cli.json(Bus::Unset, &["project", "parts", "nobody"], &[], 2);
    assert_eq!(s(&err["error"]["code"]), "not_found", "{err}");
}
