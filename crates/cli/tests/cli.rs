//! The `offsite` command line as scripts use it: JSON output, exit codes, the real keychain
//! (Secret Service under D-Bus; .ci/test provides it), a real PostgreSQL cluster, bad archives.

mod common;

use common::{json_of, Cli};
use offsite_core::secrets::{project_password_key, KeychainStore, SecretStore, DEFAULT_SERVICE};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn add_backup_verify_inspect_restore_through_the_cli() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("clisrc");
    pg.psql(&src, "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 1234) g;");
    let cli = Cli::keychain();
    let name = format!("cli-{src}");

    // The password comes on stdin and goes to the real keychain, not the catalog.
    let pw = pg.superuser_password().to_string();
    let added = cli.add_project_stdin(&name, &pg.url(&src), &format!("{pw}\n"));
    assert!(!s(&added["project"]["db_url"]).contains(&pw));
    let keychain = KeychainStore::new(DEFAULT_SERVICE);
    assert_eq!(
        keychain
            .get(&project_password_key(&name))
            .unwrap()
            .as_deref(),
        Some(pw.as_str())
    );
    for f in std::fs::read_dir(cli.data.path()).unwrap().flatten() {
        if f.path().is_file() {
            let bytes = std::fs::read(f.path()).unwrap();
            assert!(
                !bytes.windows(pw.len()).any(|w| w == pw.as_bytes()),
                "password found in {}",
                f.path().display()
            );
        }
    }

    let list = cli.json(&["project", "list"], 0);
    assert_eq!(list["projects"].as_array().unwrap().len(), 1);
    let test = cli.json(&["project", "test", &name], 0);
    assert_eq!(test["can_dump"], Value::Bool(true));

    let b = cli.json(&["backup", &name], 0);
    let path = PathBuf::from(s(&b["path"]));
    assert!(path.is_file());
    assert_eq!(
        b["size"].as_u64().unwrap(),
        std::fs::metadata(&path).unwrap().len()
    );
    assert_eq!(s(&b["sha256"]).len(), 64);
    // Human output: just the path.
    let human = cli.run(&["backup", &name]);
    assert!(human.status.success());
    let second = String::from_utf8(human.stdout).unwrap();
    assert!(Path::new(second.trim()).is_file(), "{second}");

    let backups = cli.json(&["backups", &name], 0);
    assert_eq!(backups["backups"].as_array().unwrap().len(), 2);
    assert_eq!(backups["backups"][0]["origin"], "local", "{backups}");
    let human = String::from_utf8(cli.run(&["backups", &name]).stdout).unwrap();
    assert!(human.contains("  made here  "), "{human}");

    let v = cli.json(&["verify", path.to_str().unwrap()], 0);
    assert_eq!(v["ok"], Value::Bool(true));
    let backups = cli.json(&["backups", &name], 0);
    assert!(backups["backups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["status"] == "verified"));

    let m = cli.json(&["inspect", path.to_str().unwrap()], 0);
    // The default: a parallel dump (archive format 2; `--jobs 1` makes format 1, see
    // `a_one_stream_backup_is_format_1_and_still_verifies_restores_and_browses`).
    assert_eq!(m["format_version"], 2);
    let notes = m["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "notes")
        .unwrap();
    assert_eq!(notes["rows"], 1234);

    // Dry run: a plan, nothing changes.
    let dst = pg.unique_db("clidst");
    let plan = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&dst),
            "--dry-run",
        ],
        0,
    );
    assert_eq!(plan["database"]["target_empty"], Value::Bool(true));
    assert!(
        !plan.to_string().contains(&pw),
        "the plan must not carry the password"
    );
    assert_eq!(
        pg.psql(
            &dst,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ),
        "0"
    );

    let r = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&dst),
        ],
        0,
    );
    assert_eq!(r["report"]["ok"], Value::Bool(true));
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM notes"), "1234");

    // Into a database that does not exist yet: said so, with the flag that creates it (exit 2,
    // nothing created); with --create-database, created empty and restored into.
    let new_db = pg.unique_db("clinew");
    pg.psql("postgres", &format!("DROP DATABASE {new_db}"));
    let plan = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&new_db),
            "--dry-run",
        ],
        2,
    );
    assert_eq!(plan["database"]["database_missing"], Value::Bool(true));
    assert_eq!(plan["database"]["may_create_database"], Value::Bool(true));
    assert!(
        s(&plan["database"]["blockers"][0]).contains("--create-database"),
        "{plan}"
    );
    let plan = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&new_db),
            "--create-database",
            "--dry-run",
        ],
        0,
    );
    assert_eq!(plan["database"]["creates_database"], Value::Bool(true));
    assert_eq!(plan["database"]["blockers"], serde_json::json!([]));
    let e = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&new_db),
        ],
        2,
    );
    assert_eq!(e["error"]["code"], "not_found");
    assert!(s(&e["error"]["hint"]).contains("--create-database"), "{e}");
    let exists = |db: &str| {
        pg.psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
        )
    };
    assert_eq!(exists(&new_db), "0");
    let r = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&new_db),
            "--create-database",
        ],
        0,
    );
    assert_eq!(r["report"]["ok"], Value::Bool(true));
    assert_eq!(
        r["report"]["database"]["plan"]["creates_database"],
        Value::Bool(true)
    );
    assert_eq!(pg.psql(&new_db, "SELECT count(*) FROM notes"), "1234");

    // Into the now non-empty database: refused without consent (exit 5), nothing changes.
    pg.psql(&dst, "INSERT INTO notes (body) VALUES ('new')");
    let e = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&dst),
        ],
        5,
    );
    assert_eq!(e["error"]["code"], "needs_consent");
    let e = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&dst),
            "--replace",
        ],
        5,
    );
    assert!(s(&e["error"]["hint"]).contains("--yes"));
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM notes"), "1235");
    let r = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&dst),
            "--replace",
            "--yes",
        ],
        0,
    );
    assert!(r["report"]["database"]["safety_backup"].is_string());
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM notes"), "1234");

    // One table next to the original, in a side schema.
    let r = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&dst),
            "--table",
            "notes",
            "--into-schema",
            "yesterday",
        ],
        0,
    );
    assert_eq!(
        r["report"]["database"]["plan"]["selection"]["tables"][0],
        "public.notes"
    );
    assert_eq!(r["report"]["database"]["tables"][0]["schema"], "yesterday");
    assert_eq!(
        pg.psql(&dst, "SELECT count(*) FROM yesterday.notes"),
        "1234"
    );
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM public.notes"), "1234");
    // A choice that needs a selection, without one: a usage error, nothing done.
    let e = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&dst),
            "--data-only",
        ],
        2,
    );
    assert!(s(&e["error"]["hint"]).contains("--table"));
    // A restore to a moment creates its database when asked, and removes it again when the
    // restore to the time fails (here: shop's changes are not captured).
    let at_db = pg.unique_db("cliat");
    pg.psql("postgres", &format!("DROP DATABASE {at_db}"));
    let e = cli.json(
        &[
            "restore",
            "shop",
            "--at",
            "2026-01-01T00:00:00Z",
            "--to",
            &pg.url_with_password(&at_db),
            "--create-database",
        ],
        2,
    );
    assert!(
        s(&e["error"]["message"]).contains(&format!("the new database {at_db} was removed again")),
        "{e}"
    );
    assert_eq!(
        pg.psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{at_db}'")
        ),
        "0"
    );
    // Not with --as-role (nor --components): refused before anything is made.
    let e = cli.json(
        &[
            "restore",
            "shop",
            "--at",
            "2026-01-01T00:00:00Z",
            "--to",
            &pg.url_with_password(&at_db),
            "--create-database",
            "--as-role",
            "someone",
        ],
        2,
    );
    assert!(s(&e["error"]["hint"]).contains("createdb"), "{e}");
    let e = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&dst),
            "--table",
            "public.nope",
            "--dry-run",
        ],
        2,
    );
    assert!(s(&e["error"]["hint"]).contains("public.notes"), "{e}");
    // --vault-key belongs to the configuration: without it among the components, refused.
    let e = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &pg.url_with_password(&dst),
            "--vault-key",
            "--dry-run",
        ],
        2,
    );
    assert!(s(&e["error"]["message"]).contains("Vault root key"), "{e}");
    assert!(
        s(&e["error"]["hint"]).contains("--components database,config"),
        "{e}"
    );

    // A role that is not a superuser cannot own what postgres owned: a permission problem of
    // the target (exit 7) naming the way out; --no-owner restores it as the role's own.
    let role = format!("cli_restorer_{}", std::process::id());
    pg.create_trusted_role(&role);
    let mine = pg.unique_db("climine");
    pg.psql(
        "postgres",
        &format!("ALTER DATABASE {mine} OWNER TO {role}"),
    );
    let url = format!("postgres://{role}@127.0.0.1:{}/{mine}", pg.port());
    let e = cli.json(&["restore", path.to_str().unwrap(), "--to", &url], 7);
    assert_eq!(e["error"]["code"], "permission");
    assert!(s(&e["error"]["hint"]).contains("--no-owner"), "{e}");
    let r = cli.json(
        &[
            "restore",
            path.to_str().unwrap(),
            "--to",
            &url,
            "--no-owner",
        ],
        0,
    );
    assert_eq!(r["report"]["ok"], Value::Bool(true));
    assert_eq!(
        pg.psql(
            &mine,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'"
        ),
        role
    );

    // Removing the project removes its keychain entry, keeps the files.
    cli.json(&["project", "remove", &name], 0);
    assert_eq!(keychain.get(&project_password_key(&name)).unwrap(), None);
    assert!(path.is_file());
}

#[test]
fn exit_codes_and_json_errors() {
    let pg = TestCluster::shared();
    let cli = Cli::keychain();
    // Usage errors: exit 2.
    assert_eq!(cli.run(&["frobnicate"]).status.code(), Some(2));
    let e = cli.json(&["backup", "nosuch"], 2);
    assert_eq!(e["error"]["code"], "not_found");
    assert!(e["error"]["hint"].is_string());
    let e = cli.json(&["project", "add", "x", "--db", "mysql://h/db"], 2);
    assert_eq!(e["error"]["code"], "invalid_input");
    let e = cli.json(
        &["project", "add", "bad name!", "--db", "postgres://h/db"],
        2,
    );
    assert_eq!(e["error"]["code"], "invalid_input");
    // Neither --db nor --host, and no PGHOST: nothing is guessed.
    let e = cli.json(&["project", "add", "nodb"], 2);
    assert_eq!(e["error"]["code"], "invalid_input");
    assert!(s(&e["error"]["message"]).contains("PGHOST"), "{e}");
    assert_eq!(
        cli.run(&[
            "project",
            "add",
            "both",
            "--db",
            "postgres://h/db",
            "--port",
            "1"
        ])
        .status
        .code(),
        Some(2),
        "--db with a field flag is a usage error"
    );

    // Connection by fields instead of a URL.
    let f = cli.json(
        &[
            "project",
            "add",
            "byfields",
            "--host",
            "db.example.com",
            "--port",
            "6543",
            "--user",
            "app",
            "--dbname",
            "shop",
            "--tls",
            "require",
            "--no-test",
        ],
        0,
    );
    assert_eq!(
        f["project"]["db_url"],
        "postgres://app@db.example.com:6543/shop?sslmode=require"
    );
    assert_eq!(f["project"]["tls_mode"], "require");
    cli.json(&["project", "remove", "byfields"], 0);

    // A socket folder is stored as one (never as localhost); TLS over it and a relative path
    // are refused, and nothing is added.
    let sock = cli.json(
        &[
            "project",
            "add",
            "sock",
            "--host",
            "/var/run/postgresql",
            "--no-test",
        ],
        0,
    );
    assert_eq!(
        sock["project"]["db_url"],
        "postgres://postgres@/postgres?host=/var/run/postgresql&port=5432"
    );
    cli.json(&["project", "remove", "sock"], 0);
    for bad in [
        &["--host", "/var/run/postgresql", "--tls", "require"][..],
        &["--host", "var/run/postgresql"][..],
        &["--db", "postgresql:///db?host=/tmp&connect_timeout=3"][..],
    ] {
        let mut args = vec!["project", "add", "sock"];
        args.extend_from_slice(bad);
        let e = cli.json(&args, 2);
        assert_eq!(e["error"]["code"], "invalid_input", "{bad:?}");
        cli.json(&["project", "show", "sock"], 2);
    }

    // Wrong password: exit 3, and the password is not echoed.
    let db = pg.unique_db("cliauth");
    // (added without the connection test, which would refuse it: the backup's error is tested)
    let add = [
        "--json",
        "project",
        "add",
        "wrongpw",
        "--db",
        &pg.url(&db),
        "--password-stdin",
        "--no-test",
    ];
    json_of(&cli.run_stdin(&add, "hunter2-wrong\n"), 0, &add);
    let e = cli.json(&["backup", "wrongpw"], 3);
    assert_eq!(e["error"]["code"], "auth");
    assert!(!e.to_string().contains("hunter2-wrong"));
    // Human error output goes to stderr with a hint.
    let out = cli.run(&["backup", "wrongpw"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error:") && err.contains("hint:"), "{err}");
    cli.json(&["project", "remove", "wrongpw"], 0);
}

/// A socket-only cluster (`listen_addresses = ''`) through the command line: `project add
/// --host SOCKET_DIR`, and `project add` from PGHOST/PGPORT/PGDATABASE, show, test, backup, and
/// restore `--to` a socket URL; the restored database is compared with the source.
#[test]
fn a_socket_only_server_through_the_cli() {
    let pg = TestCluster::start_socket_only();
    let dir = pg.socket_dir().to_str().unwrap().to_string();
    let port = pg.port().to_string();
    let src = pg.unique_db("sockcli");
    pg.load_supabase_fixture(&src);
    let cli = Cli::keychain();
    let stored = format!("postgres://postgres@/{src}?host={dir}&port={port}");

    let added = cli.json(
        &[
            "project", "add", "local", "--host", &dir, "--port", &port, "--dbname", &src,
        ],
        0,
    );
    assert_eq!(added["project"]["db_url"], stored.as_str());
    let shown = cli.json(&["project", "show", "local"], 0);
    assert_eq!(shown["project"]["db_url"], stored.as_str());
    // Human output shows the socket folder, too.
    let human = cli.run(&["project", "show", "local"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains(&stored));

    // The same connection from libpq's variables (no --db, no --host).
    let out = cli
        .cmd(&["--json", "project", "add", "from-env"])
        .env("PGHOST", &dir)
        .env("PGPORT", &port)
        .env("PGDATABASE", &src)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let from_env = json_of(&out, 0, &["project add from-env"]);
    assert_eq!(from_env["project"]["db_url"], stored.as_str());

    for name in ["local", "from-env"] {
        let test = cli.json(&["project", "test", name], 0);
        assert_eq!(test["can_dump"], Value::Bool(true), "{name}: {test}");
    }
    let b = cli.json(&["backup", "local"], 0);
    let path = s(&b["path"]).to_string();
    let m = cli.json(&["inspect", &path], 0);
    assert_eq!(m["source"]["host"], dir.as_str());

    let dst = pg.unique_db("sockclidst");
    let to = format!("postgresql:///{dst}?host={dir}&port={port}");
    let plan = cli.json(&["restore", &path, "--to", &to, "--dry-run"], 0);
    assert_eq!(plan["database"]["target_empty"], Value::Bool(true));
    let r = cli.json(&["restore", &path, "--to", &to], 0);
    assert_eq!(r["report"]["ok"], Value::Bool(true), "{r}");
    offsite_testkit::fidelity_snapshot(&pg, &dst)
        .assert_same_as(&offsite_testkit::fidelity_snapshot(&pg, &src));
    assert!(
        offsite_testkit::schema_dump(&pg, &src) == offsite_testkit::schema_dump(&pg, &dst),
        "the schema differs after the restore"
    );
}

/// A hand-made .tar.gz with the given members.
fn tgz(
    path: &Path,
    build: impl FnOnce(&mut tar::Builder<flate2::write::GzEncoder<std::fs::File>>),
) {
    let f = std::fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        f,
        flate2::Compression::fast(),
    ));
    build(&mut b);
    b.into_inner().unwrap().finish().unwrap();
}

fn file_header(name: &str, len: usize) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    // set_path refuses "..": write the raw name bytes, as a hostile archive would.
    let bytes = name.as_bytes();
    h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
    h.set_size(len as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h
}

#[test]
fn bad_archives_are_refused_with_clear_errors_and_change_nothing() {
    let pg = TestCluster::shared();
    let cli = Cli::keychain();
    let src = pg.unique_db("clibad");
    pg.psql(
        &src,
        "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 100);",
    );
    cli.add_project_stdin("bad", &pg.url(&src), pg.superuser_password());
    let b = cli.json(&["backup", "bad"], 0);
    let good = PathBuf::from(s(&b["path"]));
    let bytes = std::fs::read(&good).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dst = pg.unique_db("clibad_dst");

    let mut cases: Vec<(&str, PathBuf)> = Vec::new();
    let mk = |name: &str, content: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    cases.push((
        "truncated",
        mk("truncated.tar.gz", &bytes[..bytes.len() * 2 / 3]),
    ));
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    cases.push(("flipped", mk("flipped.tar.gz", &flipped)));
    cases.push((
        "not an archive",
        mk("notes.txt", b"just some text, not a backup\n"),
    ));
    cases.push(("empty", mk("empty.tar.gz", b"")));
    let evil = dir.path().join("evil.tar.gz");
    tgz(&evil, |b| {
        let body = b"owned";
        b.append(&file_header("../x", body.len()), &body[..])
            .unwrap();
    });
    cases.push(("dotdot member", evil));
    let abs = dir.path().join("abs.tar.gz");
    tgz(&abs, |b| {
        let body = b"owned";
        b.append(&file_header("/etc/x", body.len()), &body[..])
            .unwrap();
    });
    cases.push(("absolute member", abs));
    let link = dir.path().join("link.tar.gz");
    tgz(&link, |b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "metadata.json", "/etc/passwd")
            .unwrap();
    });
    cases.push(("symlink member", link));
    let hard = dir.path().join("hard.tar.gz");
    tgz(&hard, |b| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Link);
        h.set_size(0);
        b.append_link(&mut h, "database.dump", "../../outside")
            .unwrap();
    });
    cases.push(("hardlink member", hard));

    let before = std::fs::read_dir(dir.path()).unwrap().count();
    // What `../x` would name (the temp folder's parent is shared: something else may have made
    // an `x` there; what matters is that the restores below do not touch it).
    let escaped = dir.path().parent().unwrap().join("x");
    let escaped_before = std::fs::symlink_metadata(&escaped)
        .ok()
        .map(|m| (m.len(), m.modified().ok(), m.is_dir()));
    for (what, path) in &cases {
        let p = path.to_str().unwrap();
        let out = cli.run(&["--json", "verify", p]);
        assert_eq!(
            out.status.code(),
            Some(4),
            "verify {what}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let named = v
            .get("first_bad")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| v["error"]["message"].as_str().map(str::to_string));
        assert!(
            named.is_some_and(|n| !n.is_empty()),
            "verify {what} names the problem: {v}"
        );

        let out = cli.run(&["--json", "restore", p, "--to", &pg.url_with_password(&dst)]);
        assert_eq!(
            out.status.code(),
            Some(4),
            "restore {what}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let e: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(e["error"]["message"].is_string(), "{e}");
    }
    // Nothing written beside the bad archives or outside; nothing restored; nothing registered.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), before);
    let escaped_after = std::fs::symlink_metadata(&escaped)
        .ok()
        .map(|m| (m.len(), m.modified().ok(), m.is_dir()));
    assert_eq!(
        escaped_after,
        escaped_before,
        "{} was written",
        escaped.display()
    );
    assert_eq!(
        pg.psql(
            &dst,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ),
        "0"
    );
    let backups = cli.json(&["backups", "bad"], 0);
    assert_eq!(backups["backups"].as_array().unwrap().len(), 1);
    cli.json(&["project", "remove", "bad"], 0);
}

/// A wrong stored password: the error says how to replace it, and `project password` (reading the
/// new one from standard input) does; the next backup succeeds.
#[test]
fn a_wrong_password_is_replaced_with_project_password() {
    let pg = TestCluster::shared();
    let cli = Cli::keychain();
    let db = pg.unique_db("pwfix");
    pg.psql(
        &db,
        "CREATE TABLE t AS SELECT generate_series(1, 10) AS id;",
    );
    let wrong = format!(
        "postgres://{}:not-the-password@127.0.0.1:{}/{db}",
        pg.superuser(),
        pg.port()
    );
    cli.json(&["project", "add", "pwfix", "--db", &wrong, "--no-test"], 0);
    let e = cli.json(&["backup", "pwfix"], 3);
    assert_eq!(e["error"]["code"], "auth", "{e}");
    let hint = s(&e["error"]["hint"]);
    assert!(hint.contains("offsite project password"), "{hint}");
    assert!(!e.to_string().contains("not-the-password"), "{e}");

    // Nothing on standard input: refused, the stored password is unchanged.
    let out = cli.run(&["--json", "project", "password", "pwfix"]);
    let e = json_of(&out, 2, &["project", "password"]);
    assert_eq!(e["error"]["code"], "invalid_input", "{e}");
    assert_eq!(cli.json(&["backup", "pwfix"], 3)["error"]["code"], "auth");

    let out = cli.run_stdin(
        &["--json", "project", "password", "pwfix"],
        &format!("{}\n", pg.superuser_password()),
    );
    json_of(&out, 0, &["project", "password"]);
    let b = cli.json(&["backup", "pwfix"], 0);
    assert!(s(&b["path"]).contains("pwfix_"), "{b}");
    // Unknown project: not_found, exit 2.
    let out = cli.run_stdin(&["--json", "project", "password", "nosuch"], "pw\n");
    let e = json_of(&out, 2, &["project", "password", "nosuch"]);
    assert_eq!(e["error"]["code"], "not_found", "{e}");
}

/// Encryption through the command line: set up a key (recovery key printed once), backups
/// refused until it is entered back, a wrong one refused with `wrong_key` (exit 8), then an
/// encrypted backup the `age` CLI opens with the exported key, verified with and without it.
#[test]
fn encryption_setup_confirm_backup_verify_and_export() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("clienc");
    pg.psql(
        &src,
        "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100);",
    );
    let cli = Cli::keychain();
    let name = format!("enc-{src}");
    let pw = pg.superuser_password().to_string();
    cli.add_project_stdin(&name, &pg.url(&src), &format!("{pw}\n"));
    let keys = tempfile::tempdir().unwrap();
    let extra = keys.path().join("extra.txt");
    assert!(Command::new("age-keygen")
        .arg("-o")
        .arg(&extra)
        .output()
        .unwrap()
        .status
        .success());
    let extra_pub = String::from_utf8(
        Command::new("age-keygen")
            .arg("-y")
            .arg(&extra)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();

    let setup = cli.json(
        &[
            "encryption",
            "set",
            &name,
            "--generate-key",
            "--recipient",
            extra_pub.trim(),
        ],
        0,
    );
    let item = s(&setup["recovery_item"]).to_string();
    assert!(item.starts_with("AGE-SECRET-KEY-1"));
    assert_eq!(setup["settings"]["confirmed"], Value::Bool(false));
    // Two ways to choose are refused.
    let both = cli.run(&["encryption", "set", &name, "--generate-key", "--off"]);
    assert_eq!(both.status.code(), Some(2));

    let refused = cli.json(&["backup", &name], 5);
    assert_eq!(refused["error"]["code"], "needs_consent", "{refused}");
    assert!(s(&refused["error"]["hint"]).contains("encryption confirm"));
    let (stranger, _) = offsite_core::crypto::UserKey::generate();
    let wrong = cli.run_stdin(
        &["--json", "encryption", "confirm", &name],
        stranger.expose_secret(),
    );
    let wrong = json_of(&wrong, 8, &["encryption confirm (wrong)"]);
    assert_eq!(wrong["error"]["code"], "wrong_key");
    let ok = cli.run_stdin(
        &["--json", "encryption", "confirm", &name],
        &format!("{item}\n"),
    );
    assert_eq!(
        json_of(&ok, 0, &["encryption confirm"])["confirmed"],
        Value::Bool(true)
    );

    let backup = cli.json(&["backup", &name], 0);
    let path = PathBuf::from(s(&backup["path"]));
    assert!(path.to_string_lossy().ends_with(".tar.zst.age"), "{path:?}");
    let verified = cli.json(&["verify", path.to_str().unwrap()], 0);
    assert!(verified.get("contents_not_checked").is_none(), "{verified}");
    assert!(!verified["members"].as_array().unwrap().is_empty());

    // The project's own encrypted backup restores without --key-stdin (its key is in the
    // keychain), by path and by PROJECT:latest, and holds the rows it had.
    for (i, given) in [path.to_str().unwrap().to_string(), format!("{name}:latest")]
        .iter()
        .enumerate()
    {
        let dst = pg.unique_db(&format!("clienc_dst{i}"));
        cli.json(&["restore", given, "--to", &pg.url_with_password(&dst)], 0);
        assert_eq!(pg.psql(&dst, "SELECT count(*) FROM t"), "100", "{given}");
    }

    // The exported key opens it with the age CLI.
    let exported = cli.run(&["key", "export", &name]);
    assert!(exported.status.success());
    // The current key first (earlier identities of a project of this name follow it).
    assert_eq!(
        String::from_utf8_lossy(&exported.stdout).lines().next(),
        Some(item.as_str())
    );
    let key_file = keys.path().join("laptop.txt");
    std::fs::write(&key_file, &exported.stdout).unwrap();
    let listed = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; age -d -i '{}' '{}' | tar --zstd -tf -",
            key_file.display(),
            path.display()
        ))
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains("database/toc.dat"));

    verify_a_copy(&cli, &path, &extra, stranger.expose_secret());
    inspect_encrypted(&cli, &path, &extra);
    let shown = cli.json(&["encryption", "show", &name], 0);
    assert_eq!(shown["mode"], "key");
    assert_eq!(shown["recipients"][0], extra_pub.trim());
    // Nothing secret in the data folder (the catalog).
    for f in offsite_testkit::conformance::database::files_under(cli.data.path()) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !bytes.windows(30).any(|w| w == &item.as_bytes()[16..46]),
            "the identity is in {}",
            f.display()
        );
    }
}

/// `inspect` of an encrypted archive: the project's own opens with its keychain key; a copy
/// elsewhere needs `--key-stdin`, and without it is `wrong_key` (exit 8) saying it is encrypted
/// and how to give the key; an empty `.age` file is `integrity` (exit 4).
fn inspect_encrypted(cli: &Cli, path: &Path, extra: &Path) {
    let own = cli.json(&["inspect", path.to_str().unwrap()], 0);
    assert!(
        own["members"].as_array().is_some_and(|m| !m.is_empty()),
        "{own}"
    );
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join(path.file_name().unwrap());
    std::fs::copy(path, &copy).unwrap();
    let no_key = cli.run(&["--json", "inspect", copy.to_str().unwrap()]);
    let no_key = json_of(&no_key, 8, &["inspect without key"]);
    assert_eq!(no_key["error"]["code"], "wrong_key", "{no_key}");
    assert!(
        s(&no_key["error"]["message"]).contains("encrypted"),
        "{no_key}"
    );
    assert!(
        s(&no_key["error"]["hint"]).contains("--key-stdin"),
        "{no_key}"
    );
    let with_key = cli.run_stdin(
        &["--json", "inspect", copy.to_str().unwrap(), "--key-stdin"],
        &std::fs::read_to_string(extra).unwrap(),
    );
    let with_key = json_of(&with_key, 0, &["inspect --key-stdin"]);
    assert_eq!(with_key["backup_id"], own["backup_id"], "{with_key}");
    std::fs::write(&copy, b"").unwrap();
    let empty = cli.run_stdin(
        &["--json", "inspect", copy.to_str().unwrap(), "--key-stdin"],
        &std::fs::read_to_string(extra).unwrap(),
    );
    let empty = json_of(&empty, 4, &["inspect an empty .age"]);
    assert_eq!(empty["error"]["code"], "integrity", "{empty}");
}

/// A copy of an encrypted archive elsewhere (unregistered): the ciphertext only without a key,
/// every member with `--key-stdin`, `wrong_key` (exit 8) with a stranger's key.
fn verify_a_copy(cli: &Cli, path: &Path, extra: &Path, stranger: &str) {
    // A copy elsewhere: ciphertext only without a key; every member with --key-stdin.
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join(path.file_name().unwrap());
    std::fs::copy(path, &copy).unwrap();
    let mut sidecar = copy.clone().into_os_string();
    sidecar.push(".sha256");
    let mut orig_sidecar = path.to_path_buf().into_os_string();
    orig_sidecar.push(".sha256");
    std::fs::copy(&orig_sidecar, &sidecar).unwrap();
    let plain = cli.json(&["verify", copy.to_str().unwrap()], 0);
    assert!(
        s(&plain["contents_not_checked"]).contains("not checked"),
        "{plain}"
    );
    let text = cli.run(&["verify", copy.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("contents not checked"));
    let with_key = cli.run_stdin(
        &["--json", "verify", copy.to_str().unwrap(), "--key-stdin"],
        &std::fs::read_to_string(extra).unwrap(),
    );
    let with_key = json_of(&with_key, 0, &["verify --key-stdin"]);
    assert!(with_key.get("contents_not_checked").is_none());
    let bad = cli.run_stdin(
        &["--json", "verify", copy.to_str().unwrap(), "--key-stdin"],
        stranger,
    );
    assert_eq!(
        json_of(&bad, 8, &["verify wrong key"])["error"]["code"],
        "wrong_key"
    );
}
