//! The command line as a newcomer meets it: `--json` errors for command lines clap refuses, a
//! closed stdout (`| head -1`), archives named by backup id or `PROJECT:latest`, and hints that
//! lead somewhere (the environment store's variable, `offsite import` for a pg_dump file).
//! Secrets come from the environment store (`OFFSITE_SECRET_STORE=env`): no keychain needed.

mod common;

use common::{json_of, Cli};
use offsite_core::catalog::{Catalog, NewBackup, NewProject};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs the arguments as given (put `--json` in them) with `env` besides the runner's own,
/// asserts the exit code, returns the one JSON document on stdout.
fn json(cli: &Cli, args: &[&str], env: &[(&str, &str)], code: i32) -> Value {
    json_of(&cli.run_env(args, env), code, args)
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// A missing argument, an unknown subcommand, a misspelt one, an unknown flag and a bad value:
/// with `--json`, one JSON error on stdout (the shape of every other error), exit 2. Without
/// it, clap's text on stderr. `--help`/`--version` are not errors.
#[test]
fn json_usage_errors_are_one_json_document() {
    let cli = Cli::new();
    for args in [
        &["--json", "backup"][..],
        &["--json", "frobnicate"][..],
        &["backpus", "shop", "--json"][..],
        &["--json", "backups", "shop", "--bogus"][..],
        &["--json", "backup", "shop", "--level", "abc"][..],
        &["--json", "restore", "x", "--to"][..],
        &["--json", "project"][..],
        &["--json"][..],
    ] {
        let e = json(&cli, args, &[], 2);
        let err = &e["error"];
        assert_eq!(err["code"], "invalid_input", "{args:?}: {e}");
        assert!(!s(&err["message"]).is_empty(), "{args:?}: {e}");
        assert!(s(&err["hint"]).contains("--help"), "{args:?}: {e}");
        assert_eq!(err["retryable"], false, "{args:?}: {e}");
    }
    let e = json(&cli, &["--json", "backup"], &[], 2);
    assert!(s(&e["error"]["message"]).contains("<NAME>"), "{e}");
    assert!(
        s(&e["error"]["hint"]).contains("offsite backup --help"),
        "{e}"
    );
    let e = json(&cli, &["--json", "project"], &[], 2);
    let message = s(&e["error"]["message"]);
    assert!(
        message.contains("`offsite project` needs a subcommand") && message.contains("add"),
        "{e}"
    );
    assert!(message.len() < 300, "not the whole help: {e}");
    let e = json(&cli, &["--json", "backpus", "shop"], &[], 2);
    assert!(s(&e["error"]["hint"]).contains("'backups'"), "{e}");
    let e = json(
        &cli,
        &["--json", "backup", "shop", "--level", "abc"],
        &[],
        2,
    );
    assert!(s(&e["error"]["message"]).contains("abc"), "{e}");

    // `--json` after `--` is an argument, not the flag: clap's text.
    let out = cli.run_env(&["backup", "--", "--json", "extra"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    // Text mode: clap's message on stderr, nothing on stdout.
    let out = cli.run_env(&["frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("frobnicate"));
    // Help and version are not errors, with --json too.
    for args in [&["--json", "--help"][..], &["--json", "--version"][..]] {
        let out = cli.run_env(args, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("\"error\""));
    }
}

/// A project with `n` backups in the catalog, each with a real (empty) file and a manifest of
/// about 2 KB: `backups` prints far more than a pipe holds.
fn many_backups(data: &Path, project: &str, n: usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let catalog = Catalog::open(data).await.unwrap();
        let p = catalog
            .add_project(&NewProject {
                name: project.into(),
                db_url: "postgres://u@db.example.com:5432/shop".into(),
                tls_mode: "prefer".into(),
                backup_dir: None,
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = data.join("files");
        std::fs::create_dir_all(&dir).unwrap();
        let note = "x".repeat(2000);
        for i in 0..n {
            let path = dir.join(format!("{project}_{i:05}_database.tar.gz"));
            std::fs::write(&path, b"").unwrap();
            catalog
                .add_backup(&NewBackup {
                    project_id: p.id.clone(),
                    path,
                    size: 1000 + i as u64,
                    sha256: "ab".repeat(32),
                    backup_type: offsite_core::archive::BackupType::Database,
                    created_at: format!("2026-01-01T00:{:02}:{:02}Z", i / 60 % 60, i % 60),
                    manifest_json: Some(format!(r#"{{"backup_id":"m-{i:05}","note":"{note}"}}"#)),
                    job_id: None,
                    origin: offsite_core::catalog::BackupOrigin::Local,
                })
                .await
                .unwrap();
        }
    });
}

/// `offsite backups P | head -c1`: stdout is closed after one byte while the command still
/// has far more to print. It ends quietly: exit 0, no panic ("Broken pipe", exit 101).
#[test]
fn a_closed_stdout_ends_quietly() {
    let cli = Cli::new();
    many_backups(cli.data.path(), "big", 1200);
    for args in [&["--json", "backups", "big"][..], &["backups", "big"][..]] {
        let mut child = cli
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut one = [0u8; 1];
        stdout.read_exact(&mut one).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
    // The same listing, read to its end, is complete (the test's output was big enough).
    let all = json(&cli, &["--json", "backups", "big"], &[], 0);
    assert_eq!(all["backups"].as_array().unwrap().len(), 1200);
    assert!(all.to_string().len() > 1 << 20);

    // Archives' own ids m-00000 … m-01199: "m-001" starts many of them (ambiguous, listed);
    // "m-0119" only m-01190 … m-01199 (10 backups); "m-01199" one (whose file is empty: not an
    // archive).
    let e = json(&cli, &["--json", "verify", "m-001"], &[], 2);
    assert_eq!(e["error"]["code"], "invalid_input", "{e}");
    assert!(
        s(&e["error"]["message"]).contains("more than 10 backups"),
        "{e}"
    );
    let e = json(&cli, &["--json", "verify", "m-0119"], &[], 2);
    assert!(s(&e["error"]["message"]).contains("of 10 backups"), "{e}");
    let e = json(&cli, &["--json", "inspect", "m-01199"], &[], 4);
    assert_eq!(e["error"]["code"], "unsupported_format", "{e}");
    assert!(s(&e["error"]["message"]).contains("big_01199_"), "{e}");
}

/// The environment store's variable for a project's database password.
fn password_var(project: &str) -> String {
    format!(
        "OFFSITE_PASSWORD_PROJECT_{}_DB_PASSWORD",
        project.to_uppercase().replace('-', "_")
    )
}

/// verify, inspect and restore --dry-run take the archive's path, the catalog's id, the
/// archive's own id, a unique start of either and `PROJECT:latest`, all naming one backup; an
/// unknown id is `not_found` with a hint saying where ids are listed; a file that exists
/// wins over an id.
#[test]
fn archives_are_named_by_path_id_or_latest() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("ids");
    pg.psql(
        &db,
        "CREATE TABLE t AS SELECT generate_series(1, 25) AS id;",
    );
    let cli = Cli::new();
    let name = "ids-shop";
    let var = password_var(name);
    let env = [(var.as_str(), pg.superuser_password())];
    json(
        &cli,
        &["--json", "project", "add", name, "--db", &pg.url(&db)],
        &env,
        0,
    );
    let older = json(&cli, &["--json", "backup", name], &env, 0);
    let b = json(&cli, &["--json", "backup", name], &env, 0);
    assert_ne!(older["id"], b["id"]);
    let catalog_id = s(&b["id"]).to_string();
    let path = s(&b["path"]).to_string();
    let manifest = json(&cli, &["--json", "inspect", &path], &[], 0);
    let manifest_id = s(&manifest["backup_id"]).to_string();
    assert_ne!(catalog_id, manifest_id, "two ids, both accepted");
    let latest = format!("{name}:latest");

    let target = pg.unique_db("ids_target");
    let to = pg.url_with_password(&target);
    for given in [
        path.as_str(),
        catalog_id.as_str(),
        manifest_id.as_str(),
        &catalog_id[..8],
        &manifest_id[..8],
        latest.as_str(),
    ] {
        let v = json(&cli, &["--json", "verify", given], &env, 0);
        assert_eq!(v["ok"], true, "{given}: {v}");
        assert_eq!(s(&v["archive"]), path, "{given}: {v}");
        let m = json(&cli, &["--json", "inspect", given], &env, 0);
        assert_eq!(s(&m["backup_id"]), manifest_id, "{given}: {m}");
        let plan = json(
            &cli,
            &["--json", "restore", given, "--to", &to, "--dry-run"],
            &env,
            0,
        );
        assert_eq!(s(&plan["archive"]), path, "{given}: {plan}");
        assert_eq!(plan["database"]["target_empty"], true, "{given}: {plan}");
    }

    // Text mode says which backup PROJECT:latest chose, on stderr.
    let out = cli.run_env(&["verify", &latest], &env);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&catalog_id) && err.contains(&path), "{err}");
    // inspect by id shows both ids.
    let out = cli.run_env(&["inspect", &catalog_id], &env);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&manifest_id) && text.contains(&catalog_id),
        "{text}"
    );

    // Unknown ids and projects: not_found (exit 2), with where to see the ids.
    for given in [
        "0000dead-beef-4000-8000-000000000000",
        "nosuch:latest",
        "no/such/file.tar.gz",
    ] {
        let e = json(&cli, &["--json", "verify", given], &env, 2);
        assert_eq!(e["error"]["code"], "not_found", "{given}: {e}");
        if !given.ends_with(":latest") {
            assert!(
                s(&e["error"]["hint"]).contains("offsite backups PROJECT"),
                "{given}: {e}"
            );
        }
        let e = json(
            &cli,
            &["--json", "restore", given, "--to", &to, "--dry-run"],
            &env,
            2,
        );
        assert_eq!(e["error"]["code"], "not_found", "{given}: {e}");
    }
    // The start of an id that both backups share would be ambiguous; a 3-character start is
    // too short to be taken as an id.
    let e = json(&cli, &["--json", "verify", &catalog_id[..3]], &env, 2);
    assert_eq!(e["error"]["code"], "not_found", "{e}");

    // A file in the working folder named like an id is that file (and not an archive).
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join(&catalog_id), "not an archive").unwrap();
    let out = cli
        .cmd(&["--json", "verify", &catalog_id])
        .envs(env.iter().copied())
        .current_dir(cwd.path())
        .output()
        .unwrap();
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["error"]["code"], "unsupported_format", "{e}");
    assert_eq!(out.status.code(), Some(4));
}

/// With the environment store, a rejected password's hint names the variable to correct, not
/// `offsite project password` (which that read-only store refuses).
#[test]
fn env_store_auth_hint_names_the_variable() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("envhint");
    let cli = Cli::new();
    let name = "env-hint";
    let var = password_var(name);
    let env = [(var.as_str(), "not-the-password")];
    let e = json(
        &cli,
        &["--json", "project", "add", name, "--db", &pg.url(&db)],
        &env,
        3,
    );
    assert_eq!(e["error"]["code"], "auth", "{e}");
    assert!(s(&e["error"]["hint"]).contains("--no-test"), "{e}");
    json(
        &cli,
        &[
            "--json",
            "project",
            "add",
            name,
            "--db",
            &pg.url(&db),
            "--no-test",
        ],
        &env,
        0,
    );
    for args in [
        &["--json", "backup", name][..],
        &["--json", "project", "test", name][..],
    ] {
        let e = json(&cli, args, &env, 3);
        assert_eq!(e["error"]["code"], "auth", "{args:?}: {e}");
        let hint = s(&e["error"]["hint"]);
        assert!(hint.contains(&var), "{args:?}: {hint}");
        assert!(!hint.contains("project password"), "{args:?}: {hint}");
        assert!(!e.to_string().contains("not-the-password"), "{e}");
    }
    // Restoring into the project: the same hint.
    let src = pg.unique_db("envhint_src");
    pg.psql(&src, "CREATE TABLE t (id int);");
    let src_var = password_var("env-src");
    json(
        &cli,
        &["--json", "project", "add", "env-src", "--db", &pg.url(&src)],
        &[(src_var.as_str(), pg.superuser_password())],
        0,
    );
    let b = json(
        &cli,
        &["--json", "backup", "env-src"],
        &[(src_var.as_str(), pg.superuser_password())],
        0,
    );
    let e = json(
        &cli,
        &[
            "--json",
            "restore",
            s(&b["path"]),
            "--to",
            name,
            "--dry-run",
        ],
        &env,
        3,
    );
    assert_eq!(e["error"]["code"], "auth", "{e}");
    assert!(s(&e["error"]["hint"]).contains(&var), "{e}");
}

/// A pg_dump custom-format file or a plain SQL dump handed to verify or restore: the error says
/// what it is and how to import it; no hint speaks of dropping files.
#[test]
fn a_pg_dump_file_given_as_an_archive_points_to_import() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("fcdump");
    pg.psql(&db, "CREATE TABLE t AS SELECT 1 AS id;");
    let dir = tempfile::tempdir().unwrap();
    let custom = dir.path().join("shop.dump");
    let out = Command::new(pg.bin("pg_dump"))
        .args(["-Fc", "-f"])
        .arg(&custom)
        .arg(pg.url_with_password(&db))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain = dir.path().join("shop.sql");
    let out = Command::new(pg.bin("pg_dump"))
        .arg("-f")
        .arg(&plain)
        .arg(pg.url_with_password(&db))
        .output()
        .unwrap();
    assert!(out.status.success());
    let cli = Cli::new();
    for (file, kind) in [(&custom, "pg_dump custom-format"), (&plain, "plain SQL")] {
        let f = file.to_str().unwrap();
        for args in [
            &["--json", "verify", f][..],
            &[
                "--json",
                "restore",
                f,
                "--to",
                "postgres://u@h/db",
                "--dry-run",
            ][..],
        ] {
            let e = json(&cli, args, &[], 4);
            assert_eq!(e["error"]["code"], "unsupported_format", "{args:?}: {e}");
            assert!(s(&e["error"]["message"]).contains(kind), "{args:?}: {e}");
            let hint = s(&e["error"]["hint"]);
            assert!(
                hint.contains(&format!("offsite import {f} --project")),
                "{args:?}: {hint}"
            );
            assert!(!hint.to_lowercase().contains("drop"), "{hint}");
        }
    }
    // Something that is no dump at all: no import of it is suggested as the way, but how
    // other dumps become archives is.
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, [0u8, 1, 2, 3, 4, 5]).unwrap();
    let e = json(&cli, &["--json", "verify", junk.to_str().unwrap()], &[], 4);
    let hint = s(&e["error"]["hint"]);
    assert!(
        hint.contains("choose a .tar.gz that Offsite made"),
        "{hint}"
    );
    assert!(!hint.to_lowercase().contains("drop"), "{hint}");
    // Importing what is not a dump: the hint lists what can be imported, without "drop".
    let e = json(
        &cli,
        &["--json", "import", junk.to_str().unwrap(), "--preview"],
        &[],
        4,
    );
    let hint = s(&e["error"]["hint"]);
    assert!(!hint.to_lowercase().contains("drop"), "{hint}");
}

/// The glossary's word for a backup whose contents do not match its checksums is "damaged":
/// `verify` says DAMAGED naming the file, `backups` says damaged; `--json` keeps the value
/// `corrupt` (an interface).
#[test]
fn a_damaged_backup_is_called_damaged() {
    use offsite_core::archive::{ArchiveWriter, BackupType, Manifest};
    use std::io::Write;
    let cli = Cli::new();
    let dir = cli.data.path().join("made");
    std::fs::create_dir_all(&dir).unwrap();
    let manifest: Manifest = serde_json::from_value(serde_json::json!({
        "format_version": 1,
        "backup_id": "b-damaged",
        "project": "shop",
        "type": "database",
        "created_at": "2026-11-20T02:30:00Z",
        "versions": {"tool": "offsite test"},
        "members": [],
    }))
    .unwrap();
    let mut w = ArchiveWriter::create(&dir, "shop_20261120_023000_database.tar.gz", 1).unwrap();
    w.add_bytes("globals.sql", b"-- marker-7f3a\n".to_vec());
    let good = w
        .finish(
            manifest,
            &offsite_core::progress::Reporter::silent(),
            &Default::default(),
        )
        .unwrap()
        .path;
    // The same tar with one byte of globals.sql changed, compressed again: every gzip check
    // passes, the member's SHA-256 does not.
    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&good).unwrap())
        .read_to_end(&mut tar)
        .unwrap();
    let at = tar.windows(11).position(|w| w == b"marker-7f3a").unwrap();
    tar[at] = b'M';
    let bad = dir.join("shop_20261120_023001_database.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&bad).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap();

    let out = cli.run(&["verify", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains("DAMAGED: first damaged file in the archive: globals.sql"),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("corrupt"), "{text}");

    // A backup the catalog knows as damaged.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let catalog = Catalog::open(cli.data.path()).await.unwrap();
        let p = catalog
            .add_project(&NewProject {
                name: "shop".into(),
                db_url: "postgres://u@db.example.com:5432/shop".into(),
                tls_mode: "prefer".into(),
                backup_dir: None,
            })
            .await
            .unwrap();
        let b = catalog
            .add_backup(&NewBackup {
                project_id: p.id.clone(),
                path: bad.clone(),
                size: std::fs::metadata(&bad).unwrap().len(),
                sha256: "ab".repeat(32),
                backup_type: BackupType::Database,
                created_at: "2026-11-20T02:30:01Z".into(),
                manifest_json: None,
                job_id: None,
                origin: offsite_core::catalog::BackupOrigin::Local,
            })
            .await
            .unwrap();
        catalog
            .set_backup_status(&b.id, offsite_core::catalog::BackupStatus::Corrupt)
            .await
            .unwrap();
    });
    let out = cli.run(&["backups", "shop"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("damaged"), "{text}");
    assert!(!text.to_lowercase().contains("corrupt"), "{text}");
    let listed = json(&cli, &["--json", "backups", "shop"], &[], 0);
    assert_eq!(listed["backups"][0]["status"], "corrupt", "{listed}");
}
