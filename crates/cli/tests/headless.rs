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
use std::process::{Command, Output, Stdio};

/// How the child sees (the lack of) a session bus.
#[derive(Debug, Clone, Copy)]
enum Bus {
    /// `DBUS_SESSION_BUS_ADDRESS` unset (and nothing for autolaunch to find).
    Unset,
    /// `DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent`.
    Nowhere,
}

struct Headless {
    data: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Headless {
    fn new() -> Headless {
        let home = tempfile::tempdir().unwrap();
        for d in ["run", "data", "config", "cache"] {
            std::fs::create_dir(home.path().join(d)).unwrap();
        }
        Headless {
            data: tempfile::tempdir().unwrap(),
            home,
        }
    }

    fn cmd(&self, bus: Bus, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
        c.arg("--json")
            .arg("--data-dir")
            .arg(self.data.path())
            .args(args);
        for var in [
            "OFFSITE_SECRET_STORE",
            "OFFSITE_PG_BIN",
            "PGPASSWORD",
            "PGPASSFILE",
            "PGSERVICE",
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "DBUS_SESSION_BUS_ADDRESS",
            "GNOME_KEYRING_CONTROL",
        ] {
            c.env_remove(var);
        }
        let home = self.home.path();
        c.env("HOME", home)
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"));
        if let Bus::Nowhere = bus {
            c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
        }
        c.stdin(Stdio::null());
        c
    }

    fn run(&self, bus: Bus, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.cmd(bus, args);
        c.envs(env.iter().copied());
        c.output().unwrap()
    }

    /// Runs, asserts the exit code, returns the one JSON document on stdout.
    fn json(&self, bus: Bus, args: &[&str], env: &[(&str, &str)], code: i32) -> Value {
        let out = self.run(bus, args, env);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{bus:?} {args:?}: stdout={stdout} stderr={}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON document ({e}): {stdout}"))
    }

    fn project_count(&self) -> usize {
        let list = self.json(Bus::Unset, &["project", "list"], &[], 0);
        list["projects"].as_array().unwrap().len()
    }
}

fn url_as(pg: &TestCluster, user: &str, password: Option<&str>, db: &str) -> String {
    let pw = password
        .map(|p| format!(":{}", offsite_testkit::percent_encode(p)))
        .unwrap_or_default();
    format!("postgres://{user}{pw}@{}:{}/{db}", pg.host(), pg.port())
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn backed_up_file(b: &Value) -> PathBuf {
    let path = PathBuf::from(s(&b["path"]));
    assert!(path.is_file(), "{b}");
    assert_eq!(
        b["size"].as_u64().unwrap(),
        std::fs::metadata(&path).unwrap().len()
    );
    path
}

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

/// A password that is missing (not wrong) is said as missing, naming where it is given.
fn assert_no_password_given(err: &Value, var: &str) {
    assert_eq!(s(&err["code"]), "auth", "{err}");
    let message = s(&err["message"]);
    assert!(message.contains("No password given"), "{err}");
    assert!(!message.contains("refused the password"), "{err}");
    assert!(
        message.contains(var) || s(&err["hint"]).contains(var),
        "must name {var}: {err}"
    );
}

/// Headless (`OFFSITE_SECRET_STORE=env`) with the password's variable not set: every command
/// that needs it — `project add`, `backup`, `project test`, a restore's plan into the project or
/// into a URL given with no password — says "no password given" naming the variable (and, for
/// `project add`, in its hint), not "the database refused the password".
#[test]
fn a_missing_password_is_said_as_missing_naming_its_variable() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("headless_nopw");
    pg.psql(
        &db,
        "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 5);",
    );
    let cli = Headless::new();
    let name = "nopw";
    let var = env_var_for_key(&project_password_key(name));
    let with = [
        ("OFFSITE_SECRET_STORE", "env"),
        (var.as_str(), pg.superuser_password()),
    ];
    let without = [("OFFSITE_SECRET_STORE", "env")];
    let add = ["project", "add", name, "--db", &pg.url(&db)];
    let err = cli.json(Bus::Unset, &add, &without, 3);
    assert_no_password_given(&err["error"], &var);
    let hint = s(&err["error"]["hint"]);
    assert!(hint.contains(&var) && hint.contains("--no-test"), "{hint}");
    assert_eq!(cli.project_count(), 0);
    cli.json(Bus::Unset, &add, &with, 0);
    let b = cli.json(Bus::Unset, &["backup", name], &with, 0);
    let archive = backed_up_file(&b);
    let archive = archive.to_str().unwrap();
    for args in [
        &["backup", name][..],
        &["project", "test", name][..],
        &["restore", archive, "--to", name, "--dry-run"][..],
    ] {
        let err = cli.json(Bus::Unset, args, &without, 3);
        assert_no_password_given(&err["error"], &var);
    }
    // A URL given with no password (and no PGPASSWORD): where to give one.
    let dst = pg.unique_db("headless_nopw_dst");
    let err = cli.json(
        Bus::Unset,
        &["restore", archive, "--to", &pg.url(&dst), "--dry-run"],
        &without,
        3,
    );
    let e = &err["error"];
    assert!(
        s(&e["message"]).contains(&format!("No password given for user {}", pg.superuser())),
        "{err}"
    );
    assert!(
        s(&e["hint"]).contains("PGPASSWORD") && s(&e["hint"]).contains("--password-stdin"),
        "{err}"
    );
    // Given, the same plan reads.
    let plan = cli.json(
        Bus::Unset,
        &["restore", archive, "--to", &pg.url(&dst), "--dry-run"],
        &[("PGPASSWORD", pg.superuser_password())],
        0,
    );
    assert_eq!(
        plan["database"]["target_empty"],
        Value::Bool(true),
        "{plan}"
    );
}

/// Something other than PostgreSQL on the port (a web server): one plain sentence, not the
/// driver's "unexpected response from SSLRequest: 0x48 (sqlx_postgres::…)".
#[test]
fn a_listener_that_is_not_postgres_is_said_plainly() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        // Answers every connection as a web server does, whatever it was sent.
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 512];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let cli = Headless::new();
    for tls in ["prefer", "disable"] {
        let url = format!("postgres://app@127.0.0.1:{port}/shop?sslmode={tls}");
        let err = cli.json(Bus::Unset, &["project", "add", "web", "--db", &url], &[], 3);
        let message = s(&err["error"]["message"]);
        assert!(
            message.contains(&format!(
                "127.0.0.1:{port} did not answer as a PostgreSQL server"
            )),
            "{err}"
        );
        for bad in ["SSLRequest", "sqlx", "0x48"] {
            assert!(!message.contains(bad), "{bad} in {err}");
        }
        assert!(s(&err["error"]["hint"]).contains("port"), "{err}");
    }
    assert_eq!(cli.project_count(), 0);
    drop(server);
}

/// `--at` takes PostgreSQL's own form, as `select now()` prints it, and says what it read.
#[test]
fn at_takes_postgres_form_and_says_what_it_read() {
    let cli = Headless::new();
    cli.json(
        Bus::Unset,
        &[
            "project",
            "add",
            "when",
            "--db",
            "postgres://app@127.0.0.1:1/shop",
            "--no-test",
        ],
        &[],
        0,
    );
    let out = cli.run(
        Bus::Unset,
        &[
            "restore",
            "when",
            "--at",
            "2026-11-28 07:14:52.900134+00",
            "--to",
            "postgres://app@127.0.0.1:1/x",
            "--dry-run",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2026-11-28T07:14:52.900134Z (UTC), read from PostgreSQL"),
        "stdout={stdout} stderr={stderr}"
    );
    assert!(!stdout.contains("not a time"), "{stdout}");
    let out = cli.run(
        Bus::Unset,
        &[
            "restore",
            "when",
            "--at",
            "2026-11-28T08:14:52.9+01:00",
            "--to",
            "postgres://app@127.0.0.1:1/x",
            "--dry-run",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2026-11-28T07:14:52.900000Z (UTC), read from RFC 3339"),
        "{stderr}"
    );
}

impl Headless {
    /// Runs with `input` on standard input.
    fn run_with_stdin(&self, bus: Bus, args: &[&str], env: &[(&str, &str)], input: &str) -> Output {
        use std::io::Write;
        let mut c = self.cmd(bus, args);
        c.envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
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

/// The time a restore reports is the time the user waited: reading the archive and planning
/// count (here made slow by a `pg_restore --list` that takes 3 s), broken down beside it.
#[cfg(unix)]
#[test]
fn a_restore_reports_the_wall_time_the_user_waited() {
    use std::os::unix::fs::PermissionsExt;
    const REAL_BIN: &str = "/usr/lib/postgresql/15/bin";
    let bin = tempfile::Builder::new()
        .prefix("pgslow")
        .tempdir_in("/tmp")
        .unwrap();
    for b in ["pg_dump", "pg_dumpall", "psql"] {
        std::os::unix::fs::symlink(std::path::Path::new(REAL_BIN).join(b), bin.path().join(b))
            .unwrap();
    }
    // The slow part of reading an archive, standing for a large or encrypted one.
    let script = format!(
        "#!/bin/sh\ncase \" $* \" in *\" --list \"*) sleep 3;; esac\nexec \"{REAL_BIN}/pg_restore\" \"$@\"\n"
    );
    std::fs::write(bin.path().join("pg_restore"), script).unwrap();
    std::fs::set_permissions(
        bin.path().join("pg_restore"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pg_bin = bin.path().to_str().unwrap();

    let pg = TestCluster::shared();
    let db = pg.unique_db("headless_wall");
    pg.psql(
        &db,
        "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 50);",
    );
    let cli = Headless::new();
    let name = "wall";
    let var = env_var_for_key(&project_password_key(name));
    let env = [
        ("OFFSITE_SECRET_STORE", "env"),
        (var.as_str(), pg.superuser_password()),
        ("PGPASSWORD", pg.superuser_password()),
    ];
    cli.json(
        Bus::Unset,
        &["project", "add", name, "--db", &pg.url(&db)],
        &env,
        0,
    );
    let b = cli.json(Bus::Unset, &["backup", name], &env, 0);
    let archive = backed_up_file(&b);
    let dst = pg.unique_db("headless_wall_dst");
    let started = std::time::Instant::now();
    let r = cli.json(
        Bus::Unset,
        &[
            "--pg-bin",
            pg_bin,
            "restore",
            archive.to_str().unwrap(),
            "--to",
            &pg.url(&dst),
            "--yes",
        ],
        &env,
        0,
    );
    let wall = started.elapsed().as_millis() as u64;
    assert_eq!(r["report"]["ok"], Value::Bool(true), "{r}");
    let waited = r["waited_ms"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let own = r["report"]["database"]["duration_ms"].as_u64().unwrap();
    // At least the slow read, and never more than the process ran.
    assert!(waited >= 3000, "waited {waited} ms: {r}");
    assert!(waited <= wall, "waited {waited} ms of {wall} ms");
    assert!(own <= waited, "{own} of {waited}");
    // In words: the total, then its parts.
    let dst2 = pg.unique_db("headless_wall_dst2");
    let mut c = cli.cmd(
        Bus::Unset,
        &[
            "--pg-bin",
            pg_bin,
            "restore",
            archive.to_str().unwrap(),
            "--to",
            &pg.url(&dst2),
            "--yes",
        ],
    );
    // Human output: the same command without --json.
    let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
    let mut human = Command::new(c.get_program());
    human.args(args.into_iter().filter(|a| a != "--json"));
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => human.env(k, v),
            None => human.env_remove(k),
        };
    }
    human.envs(env.iter().copied());
    let out = human.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("restored and validated in"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("restoring and validating")
            && line.contains("reading the archive and planning"),
        "{line}"
    );
    assert!(!line.contains("in under 1 s ("), "{line}");
    let _ = &mut c;
}

/// Key-mode encryption set up without a keychain: `--generate-key` prints the recovery key
/// (nothing to keep here: backups need only the public half); confirmed from standard input,
/// backups run encrypted; restores read the identity from a file of mode 0600 its `_FILE`
/// variable names — a file others may read is refused, naming it.
#[cfg(unix)]
#[test]
fn key_mode_encryption_works_headless_with_the_identity_in_a_0600_file() {
    use offsite_core::secrets::project_encryption_identity_key;
    use std::os::unix::fs::PermissionsExt;
    let pg = TestCluster::shared();
    let db = pg.unique_db("headless_enc");
    pg.psql(
        &db,
        "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 9);",
    );
    let cli = Headless::new();
    let name = "enc";
    let pw_var = env_var_for_key(&project_password_key(name));
    let id_var = env_var_for_key(&project_encryption_identity_key(name));
    let env = [
        ("OFFSITE_SECRET_STORE", "env"),
        (pw_var.as_str(), pg.superuser_password()),
    ];
    cli.json(
        Bus::Unset,
        &["project", "add", name, "--db", &pg.url(&db)],
        &env,
        0,
    );
    let setup = cli.json(
        Bus::Unset,
        &["encryption", "set", name, "--generate-key"],
        &env,
        0,
    );
    let key = s(&setup["recovery_item"]).to_string();
    assert!(key.contains("AGE-SECRET-KEY-1"), "{setup}");
    let confirmed = cli.run_with_stdin(Bus::Unset, &["encryption", "confirm", name], &env, &key);
    assert_eq!(confirmed.status.code(), Some(0), "{confirmed:?}");
    let b = cli.json(Bus::Unset, &["backup", name], &env, 0);
    let archive = backed_up_file(&b);
    let archive = archive.to_str().unwrap();
    assert!(archive.ends_with(".age"), "{b}");

    let file = cli.home.path().join("enc-key.txt");
    std::fs::write(&file, &key).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file_var = format!("{id_var}_FILE");
    let dst = pg.unique_db("headless_enc_dst");
    let plan_args = ["restore", archive, "--to", &pg.url(&dst), "--dry-run"];
    let with_file = [
        ("OFFSITE_SECRET_STORE", "env"),
        ("PGPASSWORD", pg.superuser_password()),
        (file_var.as_str(), file.to_str().unwrap()),
    ];
    let out = cli.run(Bus::Unset, &plan_args, &with_file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("may be read by others"), "{stdout}");
    assert!(stdout.contains(file.to_str().unwrap()), "{stdout}");
    assert!(!stdout.contains("AGE-SECRET-KEY"), "{stdout}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let plan = cli.json(Bus::Unset, &plan_args, &with_file, 0);
    assert_eq!(
        plan["database"]["target_empty"],
        Value::Bool(true),
        "{plan}"
    );
    // Without it, the archive cannot be opened here.
    let out = cli.run(
        Bus::Unset,
        &plan_args,
        &[
            ("OFFSITE_SECRET_STORE", "env"),
            ("PGPASSWORD", pg.superuser_password()),
        ],
    );
    assert_ne!(out.status.code(), Some(0), "{out:?}");
}
