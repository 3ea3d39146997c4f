//! What the `offsite` binary says headless (no keychain, `OFFSITE_SECRET_STORE=env`), as a new
//! user meets it: a missing password said as missing, naming its variable; a port where
//! something else than PostgreSQL answers; `--at` in PostgreSQL's form; the wall time a restore
//! took; key-mode encryption set up and used without a keychain.

use offsite_core::secrets::{env_var_for_key, project_password_key};
use offsite_testkit::TestCluster;
use serde_json::Value;
#[cfg(unix)]
use std::process::Command;

mod headless_harness;
use headless_harness::*;

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
    offsite_testkit::script::write_executable(&bin.path().join("pg_restore"), &script);
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
