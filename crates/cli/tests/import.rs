//! `offsite import` as a cron job on a server uses it: no keychain (`OFFSITE_SECRET_STORE=env`,
//! the password in `PGPASSWORD`), `--json`, exit codes; a `.sql.gz` made by the real pg_dump
//! and a `pg_dumpall` file, imported and restored into real PostgreSQL clusters.

mod common;

use common::Cli;
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// No keychain (a private HOME, no D-Bus session): secrets from the environment, the password
/// in `PGPASSWORD`.
fn import_cli(pg: &TestCluster) -> Cli {
    Cli::new()
        .private_home()
        .unset("DBUS_SESSION_BUS_ADDRESS")
        .env("PGPASSWORD", pg.superuser_password())
}

fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_cron_sql_gz_is_imported_and_restored_through_the_cli() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("cli_plain_src");
    pg.psql(
        &src,
        "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 777) g; SELECT lo_from_bytea(0, '\\x0011223344');",
    );
    let cli = import_cli(pg);
    let file = cli.data.path().join("nightly.sql.gz");
    let sql = run_ok(pg.command("pg_dump").args(pg.conn_args()).arg(&src));
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&file).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&sql).unwrap();
    gz.finish().unwrap();

    let preview = cli.json(&["import", p(&file), "--preview"], 0);
    assert_eq!(preview["preview"]["kind"], "plain_sql", "{preview}");
    assert_eq!(preview["preview"]["plain"]["compressed"], true);
    assert_eq!(preview["preview"]["tables"][0]["table"], "notes");

    // Where it goes must be said; --database is for pg_dumpall files only.
    let out = cli.run(&["--json", "import", p(&file)]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = pg.url(&src);
    let e = cli.json(
        &[
            "import",
            p(&file),
            "--new-project",
            "nightly",
            "--db",
            &url,
            "--database",
            "x",
        ],
        2,
    );
    assert_eq!(e["error"]["code"], "invalid_input", "{e}");

    let o = cli.json(
        &["import", p(&file), "--new-project", "nightly", "--db", &url],
        0,
    );
    assert_eq!(o["project"], "nightly");
    assert_eq!(o["created_project"], true);
    assert_eq!(o["backup"]["status"], "verified");
    let archive = o["backup"]["path"].as_str().unwrap().to_string();
    assert!(Path::new(&archive).exists());
    let listed = cli.json(&["backups", "nightly"], 0);
    assert_eq!(listed["backups"].as_array().unwrap().len(), 1);
    // Where it came from, in JSON and in the human list.
    assert_eq!(listed["backups"][0]["origin"], "imported", "{listed}");
    let human = cli.run(&["backups", "nightly"]);
    let human = String::from_utf8(human.stdout).unwrap();
    assert!(human.contains("  imported  "), "{human}");

    // A second import of the same file into the existing project adds a second backup.
    let again = cli.json(&["import", p(&file), "--project", "nightly"], 0);
    assert_ne!(again["backup"]["path"], o["backup"]["path"]);

    let dst = pg.unique_db("cli_plain_dst");
    let r = cli.json(&["restore", &archive, "--to", &pg.url(&dst), "--yes"], 0);
    assert!(r.to_string().contains("psql"), "{r}");
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM notes"), "777");
    assert_eq!(
        pg.psql(
            &dst,
            "SELECT encode(lo_get(oid), 'hex') FROM pg_largeobject_metadata"
        ),
        "0011223344"
    );
    // Into the now non-empty copy: consent is needed (exit 5), --replace gives it.
    let e = cli.json(&["restore", &archive, "--to", &pg.url(&dst), "--yes"], 5);
    assert_eq!(e["error"]["code"], "needs_consent", "{e}");
    pg.psql(&dst, "DELETE FROM notes WHERE id > 5");
    cli.json(
        &[
            "restore",
            &archive,
            "--to",
            &pg.url(&dst),
            "--yes",
            "--replace",
        ],
        0,
    );
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM notes"), "777");
}

#[test]
fn a_pg_dumpall_file_needs_its_database_named() {
    let pg = &TestCluster::start();
    pg.psql("postgres", "CREATE ROLE cli_app NOLOGIN;");
    pg.create_db("shop");
    pg.psql(
        "shop",
        "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 42); ALTER TABLE orders OWNER TO cli_app;",
    );
    pg.create_db("crm");
    pg.psql("crm", "CREATE TABLE contacts (id int);");
    let cli = import_cli(pg);
    let file = cli.data.path().join("cluster.sql");
    std::fs::write(&file, run_ok(pg.command("pg_dumpall").args(pg.conn_args()))).unwrap();
    let url = pg.url("postgres");

    let e = cli.json(
        &["import", p(&file), "--new-project", "cluster", "--db", &url],
        2,
    );
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("shop") && msg.contains("crm"), "{e}");
    assert!(
        e["error"]["hint"].as_str().unwrap().contains("--database"),
        "{e}"
    );
    let listed = cli.json(&["project", "list"], 0);
    assert!(!listed.to_string().contains("cluster"), "{listed}");

    let o = cli.json(
        &[
            "import",
            p(&file),
            "--new-project",
            "cluster",
            "--db",
            &url,
            "--database",
            "shop",
        ],
        0,
    );
    let archive = o["backup"]["path"].as_str().unwrap().to_string();
    pg.create_db("shop_copy");
    pg.drop_db("shop");
    pg.psql("postgres", "DROP ROLE cli_app;");
    // The role is gone from the server: the restore needs --create-roles, and then makes it.
    let e = cli.json(
        &["restore", &archive, "--to", &pg.url("shop_copy"), "--yes"],
        2,
    );
    assert!(e.to_string().contains("cli_app"), "{e}");
    cli.json(
        &[
            "restore",
            &archive,
            "--to",
            &pg.url("shop_copy"),
            "--yes",
            "--create-roles",
        ],
        0,
    );
    assert_eq!(
        pg.psql(
            "shop_copy",
            "SELECT count(*), min(tableowner) FROM orders, pg_tables WHERE tablename = 'orders'"
        ),
        "42|cli_app"
    );
}

/// Issue 22 item 1 through the CLI: a plain SQL dump whose psql commands would `touch` a file
/// on this machine (mid-line; after a COPY whose comment once fooled the COPY detector) is
/// refused by `offsite import`, and the same SQL as a crafted archive's `database.sql` by
/// `offsite restore`; the file is never created, nothing is registered or restored.
#[test]
fn a_dump_that_would_run_a_command_is_refused_by_import_and_restore() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("cli_meta_src");
    let cli = import_cli(pg);
    let marker = cli.data.path().join("marker");
    let head = "--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE public.t (a integer);\n";
    let tail = "\n--\n-- PostgreSQL database dump complete\n--\n\n";
    let bodies = [
        (format!("SELECT 1; \\! touch {}\n;\n", marker.display()), 6),
        (
            format!(
                "COPY public.t TO STDOUT /* FROM stdin */;\n\\! touch {}\n\\.\n",
                marker.display()
            ),
            7,
        ),
    ];
    let good = cli.data.path().join("good.sql");
    std::fs::write(
        &good,
        format!("{head}INSERT INTO public.t VALUES (1);\n{tail}"),
    )
    .unwrap();
    let o = cli.json(
        &[
            "import",
            p(&good),
            "--new-project",
            "metas",
            "--db",
            &pg.url(&src),
        ],
        0,
    );
    let good_archive = std::path::PathBuf::from(o["backup"]["path"].as_str().unwrap());
    for (i, (body, line)) in bodies.iter().enumerate() {
        let file = cli.data.path().join(format!("evil{i}.sql"));
        let sql = format!("{head}{body}{tail}");
        std::fs::write(&file, &sql).unwrap();
        let e = cli.json(&["import", p(&file), "--project", "metas"], 4);
        assert_eq!(e["error"]["code"], "unsupported_format", "{e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("\\!") && message.contains(&format!("(line {line})")),
            "{e}"
        );
        assert!(
            e["error"]["hint"]
                .as_str()
                .unwrap()
                .starts_with("Nothing was imported"),
            "{e}"
        );
        let listed = cli.json(&["backups", "metas"], 0);
        assert_eq!(listed["backups"].as_array().unwrap().len(), 1, "{listed}");

        // The same SQL in a crafted archive (its checksums made to match).
        let dir = cli.data.path().join(format!("crafted{i}"));
        std::fs::create_dir(&dir).unwrap();
        let manifest = offsite_core::archive::read_manifest(&good_archive).unwrap();
        let name = good_archive.file_name().unwrap().to_str().unwrap();
        let mut w = offsite_core::archive::ArchiveWriter::create(&dir, name, 1).unwrap();
        w.add_bytes(offsite_core::archive::DATABASE_SQL_MEMBER, sql.into_bytes());
        w.finish(
            manifest,
            &offsite_core::progress::Reporter::silent(),
            &Default::default(),
        )
        .unwrap();
        let dst = pg.unique_db("cli_meta_dst");
        let e = cli.json(
            &[
                "restore",
                p(&dir.join(name)),
                "--to",
                &pg.url(&dst),
                "--yes",
            ],
            4,
        );
        assert_eq!(e["error"]["code"], "unsupported_format", "{e}");
        assert!(
            e["error"]["hint"]
                .as_str()
                .unwrap()
                .starts_with("Nothing was restored"),
            "{e}"
        );
        assert!(!marker.exists(), "a command ran");
        assert_eq!(
            pg.psql(&dst, "SELECT count(*) FROM pg_class WHERE relname = 't'"),
            "0"
        );
    }
}

/// A dump holding `attack` before pg_dump's trailer.
fn dump_with(pg: &TestCluster, src: &str, attack: &str) -> String {
    let sql =
        String::from_utf8(run_ok(pg.command("pg_dump").args(pg.conn_args()).arg(src))).unwrap();
    let at = sql
        .find("--\n-- PostgreSQL database dump complete")
        .expect("pg_dump's trailer");
    format!("{}{attack}\n\n{}", &sql[..at], &sql[at..])
}

#[test]
fn sql_pg_dump_never_writes_needs_allow_arbitrary_sql() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("cli_arbsql_src");
    pg.psql(
        &src,
        "CREATE TABLE notes (id int PRIMARY KEY); INSERT INTO notes SELECT generate_series(1, 9);",
    );
    let cli = import_cli(pg);
    let url = pg.url(&src);
    let marker = format!("/tmp/offsite-cli-arbsql-{}-marker", std::process::id());
    let hostile = cli.data.path().join("hostile.sql");
    std::fs::write(
        &hostile,
        dump_with(
            pg,
            &src,
            &format!("CREATE TABLE pwn (a text);\nCOPY pwn FROM PROGRAM 'touch {marker}';"),
        ),
    )
    .unwrap();
    let preview = cli.json(&["import", p(&hostile), "--preview"], 0);
    assert_eq!(
        preview["preview"]["plain"]["arbitrary_sql"][0]["kind"], "runs_program",
        "{preview}"
    );
    let o = cli.json(
        &[
            "import",
            p(&hostile),
            "--new-project",
            "hostile",
            "--db",
            &url,
        ],
        0,
    );
    let archive = o["backup"]["path"].as_str().unwrap().to_string();
    let dst = pg.unique_db("cli_arbsql_dst");
    // The plan lists it and is blocked (exit 5)…
    let plan = cli.json(
        &["restore", &archive, "--to", &pg.url(&dst), "--dry-run"],
        5,
    );
    assert_eq!(plan["database"]["arbitrary_sql_total"], 1, "{plan}");
    assert!(plan["database"]["arbitrary_sql"][0]["excerpt"]
        .as_str()
        .unwrap()
        .contains("FROM PROGRAM"));
    // …the restore refuses it with its own code, and nothing ran.
    let e = cli.json(&["restore", &archive, "--to", &pg.url(&dst), "--yes"], 5);
    assert_eq!(e["error"]["code"], "arbitrary_sql", "{e}");
    assert!(e["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("--allow-arbitrary-sql"));
    assert!(!Path::new(&marker).exists(), "the program ran");
    assert_eq!(
        pg.psql(
            &dst,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ),
        "0"
    );
    // A harmless statement pg_dump never writes: refused, then restored with consent.
    let harmless = cli.data.path().join("harmless.sql");
    std::fs::write(
        &harmless,
        dump_with(pg, &src, "DO $$ BEGIN PERFORM 1; END $$;"),
    )
    .unwrap();
    cli.json(&["import", p(&harmless), "--project", "hostile"], 0);
    let listed = cli.json(&["backups", "hostile"], 0);
    let newest = listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["path"].as_str().unwrap().to_string())
        .find(|p| *p != archive)
        .unwrap();
    let e = cli.json(&["restore", &newest, "--to", &pg.url(&dst), "--yes"], 5);
    assert_eq!(e["error"]["code"], "arbitrary_sql", "{e}");
    cli.json(
        &[
            "restore",
            &newest,
            "--to",
            &pg.url(&dst),
            "--yes",
            "--allow-arbitrary-sql",
        ],
        0,
    );
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM notes"), "9");
    assert!(!Path::new(&marker).exists());
}

/// [`Cli::json`] with `input` on standard input; asserts the secret in it is never printed.
fn json_stdin(cli: &Cli, args: &[&str], input: &str, code: i32) -> Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = cli.run_stdin(&full, input);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: stdout={stdout} stderr={}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The secret itself (the identity's key line, the passphrase) is never printed.
    let secret = input
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap_or(input.trim());
    assert!(
        !stdout.contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret),
        "the key was printed"
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {stdout}"))
}

#[test]
fn age_encrypted_files_import_and_restore_with_key_stdin() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("cli_age_src");
    pg.psql(
        &src,
        "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 321) g;",
    );
    let cli = import_cli(pg);
    let identity = String::from_utf8(run_ok(&mut Command::new("age-keygen"))).unwrap();
    let recipient = identity
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    let other = String::from_utf8(run_ok(&mut Command::new("age-keygen"))).unwrap();
    let dump = cli.data.path().join("nightly.dump");
    run_ok(
        pg.command("pg_dump")
            .args(pg.conn_args())
            .args(["-Fc", "-f"])
            .arg(&dump)
            .arg(&src),
    );
    let enc = cli.data.path().join("nightly.dump.age");
    run_ok(
        Command::new("age")
            .args(["-e", "-r", &recipient, "-o"])
            .arg(&enc)
            .arg(&dump),
    );
    let url = pg.url(&src);
    let args = [
        "import",
        p(&enc),
        "--new-project",
        "nightly",
        "--db",
        &url,
        "--key-stdin",
    ];
    // A key that is not a recipient: wrong_key, exit 8.
    let e = json_stdin(&cli, &args, &other, 8);
    assert_eq!(e["error"]["code"], "wrong_key", "{e}");
    let preview = json_stdin(
        &cli,
        &["import", p(&enc), "--preview", "--key-stdin"],
        &identity,
        0,
    );
    assert_eq!(preview["preview"]["kind"], "pg_dump", "{preview}");
    let o = json_stdin(&cli, &args, &identity, 0);
    assert_eq!(o["backup"]["status"], "verified", "{o}");

    // `offsite restore --key-stdin` of an archive encrypted with `age -e`.
    let archive = o["backup"]["path"].as_str().unwrap().to_string();
    let archive_age = cli.data.path().join("copy.tar.gz.age");
    run_ok(
        Command::new("age")
            .args(["-e", "-r", &recipient, "-o"])
            .arg(&archive_age)
            .arg(&archive),
    );
    let dst = pg.unique_db("cli_age_dst");
    let dst_url = pg.url(&dst);
    let restore = [
        "restore",
        p(&archive_age),
        "--to",
        &dst_url,
        "--yes",
        "--key-stdin",
    ];
    let e = json_stdin(&cli, &restore, &other, 8);
    assert_eq!(e["error"]["code"], "wrong_key", "{e}");
    json_stdin(&cli, &restore, &identity, 0);
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM notes"), "321");
}

/// An Offsite archive of the default (parallel dump, format 2) made by another Offsite, handed
/// over and imported through the real binary: previewed, registered verified, then browsed and
/// restored identically from the imported copy.
#[test]
fn a_format_2_offsite_archive_is_imported_browsed_and_restored_through_the_cli() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("cli_f2_src");
    pg.psql(
        &src,
        "CREATE TABLE notes (id int PRIMARY KEY, body text);
         INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 432) g;
         CREATE TABLE tags (id int REFERENCES notes, tag text);
         INSERT INTO tags SELECT g, 't' || g FROM generate_series(1, 40) g;",
    );
    let url = pg.url(&src);
    let maker = import_cli(pg);
    maker.json(&["project", "add", "shop", "--db", &url], 0);
    let made = maker.json(&["backup", "shop"], 0);
    let made_path = Path::new(made["path"].as_str().unwrap()).to_path_buf();
    assert_eq!(
        maker.json(&["inspect", p(&made_path)], 0)["format_version"],
        2
    );
    // Handed over without its .sha256.
    let cli = import_cli(pg);
    let file = cli.data.path().join("handed.tar.gz");
    std::fs::copy(&made_path, &file).unwrap();

    let preview = cli.json(&["import", p(&file), "--preview"], 0);
    assert_eq!(preview["preview"]["kind"], "offsite_archive", "{preview}");
    let members = preview["preview"]["members"].to_string();
    assert!(members.contains("database/toc.dat"), "{members}");
    let o = cli.json(
        &[
            "import",
            p(&file),
            "--new-project",
            "imported",
            "--db",
            &url,
        ],
        0,
    );
    assert_eq!(o["backup"]["status"], "verified", "{o}");
    assert_eq!(o["backup"]["sha256"], made["sha256"]);
    let archive = o["backup"]["path"].as_str().unwrap().to_string();
    assert_eq!(cli.json(&["verify", &archive], 0)["ok"], true);
    let tables = cli.json(&["browse", "imported:latest"], 0);
    let notes = tables["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "notes")
        .expect("notes listed")
        .clone();
    assert_eq!(notes["rows"], 432, "{tables}");

    let dst = pg.unique_db("cli_f2_dst");
    let r = cli.json(&["restore", &archive, "--to", &pg.url(&dst), "--yes"], 0);
    assert_eq!(r["report"]["ok"], true, "{r}");
    offsite_testkit::fidelity_snapshot(pg, &dst)
        .assert_same_as(&offsite_testkit::fidelity_snapshot(pg, &src));
}

/// A project export in the `db/ storage/ config/` layout: `--preview` lists each part and what
/// is not imported, in words and in `--json`.
#[test]
fn a_project_exports_parts_are_previewed() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("cli_export_src");
    pg.psql(
        &src,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    let cli = import_cli(pg);
    let dir = cli.data.path().join("export");
    for sub in ["db", "storage/avatars/u", "config"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    run_ok(
        pg.command("pg_dump")
            .args(pg.conn_args())
            .args(["-Fc", "-f"])
            .arg(dir.join("db/shop.dump"))
            .arg(&src),
    );
    std::fs::write(dir.join("storage/avatars/u/a.png"), b"png!").unwrap();
    std::fs::write(dir.join("storage/avatars/b.txt"), b"b").unwrap();
    std::fs::write(dir.join("config/auth.json"), br#"{"smtp_pass":"x"}"#).unwrap();
    std::fs::write(dir.join("config/.env"), "JWT_SECRET=x\n").unwrap();

    let out = cli.run(&["import", p(&dir), "--preview"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "parts:",
        "database   db/shop.dump",
        "storage    2 objects, 5 B in avatars (2 objects, 5 B)",
        "config     supabase/auth.json",
        "not imported: config/.env",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    let preview = cli.json(&["import", p(&dir), "--preview"], 0);
    assert_eq!(preview["preview"]["kind"], "project_export", "{preview}");
    assert_eq!(preview["preview"]["backup_type"], "full", "{preview}");
    assert_eq!(
        preview["preview"]["parts"]["storage"]["objects"], 2,
        "{preview}"
    );
    assert_eq!(
        preview["preview"]["parts"]["not_imported"][0]["name"], "config/.env",
        "{preview}"
    );
}
