#![cfg(unix)] // physical replication through the cluster's Unix socket, symbolic links, file modes
//! Physical point-in-time capture and restore through the `offsite` binary (issue 46), on a
//! throwaway cluster that allows replication, as a role with REPLICATION but not SUPERUSER:
//! `project test` says which capture is possible and why not the other; `pitr enable --mode
//! physical` makes a physical slot and a pg_basebackup base; writes happen while `offsite pitr
//! run` captures (killed and started again in the middle); at several instants the test records
//! digests of the tables (test-only reads); `restore --at` each instant gives exactly those
//! digests, `browse shop@TIME` lists that instant's rows, and `--to-data-dir` leaves a
//! shut-down cluster; a base damaged on disk is refused as it is unpacked, leaving nothing.
//! A time before the base is refused
//! naming the nearest restorable time; `disable` drops the slot; a slot over its limit is
//! dropped.

mod common;

use common::pg::{offsite, ok, ok_json, refused, run, server_now, wait_past};
use common::pitr::{allow_replication, digests, owner_url, segment_files, sql, writes, ROLE};
use offsite_testkit::TestCluster;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

/// `offsite pitr run` in the background; killed (SIGKILL) when dropped.
struct Capture(Child);

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn capture(d: &Path, pg: &TestCluster) -> Capture {
    Capture(
        offsite(d, pg, &["pitr", "run", "shop", "--every", "1"])
            .spawn()
            .unwrap(),
    )
}

#[test]
fn physical_restore_at_each_instant_gives_that_instants_tables() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "pitr_phys";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, qty int NOT NULL);
         CREATE TABLE public.items (id int PRIMARY KEY, payload jsonb, body text);
         CREATE TABLE public.nokey (n int);
         CREATE UNLOGGED TABLE public.scratch (n int);
         INSERT INTO public.scratch VALUES (1);
         INSERT INTO public.orders (note, qty) SELECT 'before ' || g, g FROM generate_series(1, 50) g;",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok_json(
        run(
            d,
            &pg,
            &[
                "--json",
                "project",
                "add",
                "shop",
                "--db",
                &owner_url(&pg, db),
            ],
        ),
        "project add",
    );

    // Without a replication line in pg_hba.conf: logical possible, physical not, and why.
    let test = ok_json(
        run(d, &pg, &["--json", "project", "test", "shop"]),
        "project test",
    );
    assert!(test["pitr"]["logical"].is_null(), "{test}");
    let why = test["pitr"]["physical"].as_str().unwrap_or_default();
    assert!(
        why.contains("refuses a physical replication connection"),
        "{test}"
    );
    refused(
        run(d, &pg, &["pitr", "enable", "shop", "--mode", "physical"]),
        "physical capture is not possible for shop",
    );
    allow_replication(&pg);
    let test = ok(run(d, &pg, &["project", "test", "shop"]), "project test");
    let text = String::from_utf8_lossy(&test.stdout);
    assert!(text.contains("point in time: physical possible"), "{text}");

    let before_base = server_now(&pg);
    let enabled = ok_json(
        run(
            d,
            &pg,
            &["--json", "pitr", "enable", "shop", "--mode", "physical"],
        ),
        "pitr enable --mode physical",
    );
    assert!(
        enabled["base_backup_id"]
            .as_str()
            .unwrap()
            .starts_with("shop_base_"),
        "{enabled}"
    );
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT slot_type FROM pg_replication_slots WHERE slot_name LIKE 'offsite_pitr_%'"
        )
        .trim(),
        "physical"
    );

    // Writes while the capture runs; the capture killed and started again in the middle.
    let mut instants = Vec::new();
    let cap = capture(d, &pg);
    for round in 1..=2 {
        writes(&pg, db, round);
        instants.push((server_now(&pg), digests(&pg, db)));
    }
    std::thread::sleep(Duration::from_millis(3000));
    // While it runs the recovery point is seconds old (RPO ≤ 60 s, here a pass a second).
    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    let rpo = status["rpo_seconds"].as_f64().unwrap_or(f64::MAX);
    assert!(rpo < 10.0, "RPO {rpo} s: {status}");
    drop(cap);
    for round in 3..=4 {
        writes(&pg, db, round);
        instants.push((server_now(&pg), digests(&pg, db)));
    }
    // More than one WAL file: completed files are sealed once, the partial one as it grows.
    pg.psql("postgres", "SELECT pg_switch_wal()");
    let cap = capture(d, &pg);
    writes(&pg, db, 5);
    sql(&pg, db, "TRUNCATE public.items");
    writes(&pg, db, 6);
    instants.push((server_now(&pg), digests(&pg, db)));
    std::thread::sleep(Duration::from_millis(3000));
    drop(cap);
    writes(&pg, db, 7);
    std::thread::sleep(Duration::from_millis(1500));
    ok(
        run(d, &pg, &["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );
    instants.push((server_now(&pg), digests(&pg, db)));
    std::thread::sleep(Duration::from_millis(1500));
    ok(
        run(d, &pg, &["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );
    assert!(segment_files(d).len() >= 3, "{:?}", segment_files(d));

    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    assert_eq!(status["enabled"], true, "{status}");
    let windows = status["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1, "{status}");
    assert!(windows[0]["broken_by"].is_null(), "{status}");
    assert!(
        status["slot"]["retained_bytes"].as_i64().is_some(),
        "{status}"
    );
    let verified = ok_json(
        run(d, &pg, &["--json", "pitr", "verify", "shop"]),
        "pitr verify",
    );
    assert_eq!(verified["damaged"], 0, "{verified}");

    // Each instant, restored into an empty database, has exactly its tables.
    let mut by_time = 0;
    for (i, (at, want)) in instants.iter().enumerate() {
        let target = format!("phys_at_{i}");
        pg.create_db(&target);
        let plan = ok_json(
            run(
                d,
                &pg,
                &[
                    "--json",
                    "restore",
                    "shop",
                    "--at",
                    at,
                    "--to",
                    &pg.url(&target),
                    "--dry-run",
                ],
            ),
            "restore --at --dry-run",
        );
        assert!(plan["stop_commit_lsn"].is_string(), "{plan}");
        assert!(
            plan["stop_commit_at"].as_str().unwrap() <= at.as_str(),
            "{plan}"
        );
        // Recovery empties unlogged tables: the plan says so, by name.
        let said = plan["not_covered"].as_array().unwrap();
        assert!(
            said.iter().any(|x| x[0] == "public.scratch"
                && x[1].as_str().unwrap().contains("recovery leaves it empty")),
            "{plan}"
        );
        assert!(
            plan["base_path"].as_str().unwrap().contains("shop_base_"),
            "{plan}"
        );
        let out = offsite(
            d,
            &pg,
            &[
                "--json",
                "restore",
                "shop",
                "--at",
                at,
                "--to",
                &pg.url(&target),
            ],
        )
        .env(
            "OFFSITE_LOG",
            "offsite_core::ops::pitr::physical_restore=debug",
        )
        .output()
        .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).to_string();
        let done = ok_json(out, "restore --at");
        assert_eq!(&digests(&pg, &target), want, "instant {i} ({at}): {done}");
        let scratch = pg.psql(&target, "SELECT count(*) FROM public.scratch");
        assert_eq!(
            scratch.trim(),
            "0",
            "the unlogged table comes back empty, as planned"
        );
        // Recovery stopped by its own time target (a later commit in the WAL at hand, the
        // listing made while it recovered) or at the listed commit's LSN: the same state.
        by_time += usize::from(log.contains("stops by its time target"));
        assert_eq!(
            plan["stop_commit_lsn"], done["plan"]["stop_commit_lsn"],
            "the plan's stop and the restore's: {done}"
        );
    }
    assert!(by_time >= 1, "no restore stopped by its time target");

    // PROJECT@TIME reads a physical window too: recovered, dumped, listed, removed.
    let (at, _) = &instants[0];
    let rows: i64 = pg
        .psql("phys_at_0", "SELECT count(*) FROM public.orders")
        .trim()
        .parse()
        .unwrap();
    let tables = ok_json(
        run(d, &pg, &["--json", "browse", &format!("shop@{at}")]),
        "browse shop@TIME",
    );
    let orders = tables["tables"]
        .as_array()
        .unwrap_or_else(|| panic!("no tables: {tables}"))
        .iter()
        .find(|t| t["table"] == "orders" || t["name"] == "orders")
        .unwrap_or_else(|| panic!("no orders: {tables}"))
        .clone();
    assert_eq!(orders["rows"], rows, "{tables}");
    assert!(tables["at"]["commit_lsn"].is_string(), "{tables}");

    // --to-data-dir: the recovered cluster, shut down cleanly, as a new server's data folder.
    let folder = tempfile::tempdir().unwrap();
    let dest = folder.path().join("restored");
    let (at, _) = &instants[1];
    ok(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                at,
                "--to-data-dir",
                dest.to_str().unwrap(),
            ],
        ),
        "restore --at --to-data-dir",
    );
    let control = std::process::Command::new(pg.bin("pg_controldata"))
        .arg(&dest)
        .output()
        .unwrap();
    let control = String::from_utf8_lossy(&control.stdout);
    assert!(
        control.contains("Database cluster state:               shut down"),
        "{control}"
    );
    assert!(!dest.join("standby.signal").exists());

    // A base damaged on disk (one byte): checked as it is unpacked, refused naming it; no data
    // folder made, no throwaway cluster left. The dry run's plan refuses it too.
    let plan = ok_json(dry_run(d, &pg, at), "restore --at --dry-run");
    let base = std::path::PathBuf::from(plan["base_path"].as_str().unwrap());
    let good = flip_a_byte(&base);
    let dest2 = folder.path().join("restored-from-damage");
    let out = run(
        d,
        &pg,
        &[
            "restore",
            "shop",
            "--at",
            at,
            "--to-data-dir",
            dest2.to_str().unwrap(),
        ],
    );
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "a damaged base restored: {said}");
    assert!(
        said.contains("physical base") && said.contains("checksum does not match"),
        "{said}"
    );
    assert!(!dest2.exists());
    assert_eq!(data_folders(d), Vec::<std::path::PathBuf>::new());
    refused(dry_run(d, &pg, at), "checksum does not match");
    std::fs::write(&base, &good).unwrap();

    // A WAL segment of the window damaged on disk (one byte): found as it is unsealed, then
    // every segment checked — the window ends before it, and the time is refused naming the
    // nearest restorable times, as status says.
    let wal = std::path::PathBuf::from(plan["segments"][0].as_str().unwrap());
    let good_wal = flip_a_byte(&wal);
    refused(dry_run(d, &pg, at), "nearest restorable times");
    // A restore (its base unpacked meanwhile, then stopped): the same, and nothing left.
    // Recovery stops by its time target here, so the server starts once the base is unpacked
    // and the WAL is handed to it as each file is checked: the damaged file ends the recovery,
    // then the restore says what the plan says.
    let dest3 = folder.path().join("restored-past-damage");
    let out = offsite(
        d,
        &pg,
        &[
            "restore",
            "shop",
            "--at",
            at,
            "--to-data-dir",
            dest3.to_str().unwrap(),
        ],
    )
    .env(
        "OFFSITE_LOG",
        "offsite_core::ops::pitr::physical_restore=debug",
    )
    .output()
    .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        log.contains("planning again from every segment's checksum"),
        "the damage was not found while recovering: {log}"
    );
    refused(out, "nearest restorable times");
    assert!(!dest3.exists());
    assert_eq!(data_folders(d), Vec::<std::path::PathBuf>::new());
    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    let broken = status["windows"][0]["broken_by"]
        .as_str()
        .unwrap_or_default();
    assert!(broken.contains("missing or damaged"), "{status}");
    std::fs::write(&wal, &good_wal).unwrap();

    // Before the base: refused, naming the nearest restorable time after it.
    refused(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &before_base,
                "--to",
                &pg.url("postgres"),
                "--dry-run",
            ],
        ),
        "nearest restorable times: before none, after ",
    );

    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
    assert_eq!(
        pg.psql("postgres", "SELECT count(*) FROM pg_replication_slots")
            .trim(),
        "0"
    );

    // A slot holding more WAL than its limit is dropped and the chain ends, saying why.
    ok(
        run(
            d,
            &pg,
            &[
                "pitr",
                "enable",
                "shop",
                "--mode",
                "physical",
                "--max-retained",
                "1kB",
            ],
        ),
        "pitr enable --max-retained",
    );
    writes(&pg, db, 8);
    let pass = ok_json(
        run(d, &pg, &["--json", "pitr", "run", "shop", "--once"]),
        "pitr run",
    );
    assert!(
        pass["dropped"]
            .as_str()
            .unwrap_or_default()
            .contains("over the limit of 1.0 KB"),
        "{pass}"
    );
    assert_eq!(
        pg.psql("postgres", "SELECT count(*) FROM pg_replication_slots")
            .trim(),
        "0"
    );
}

/// Every PostgreSQL data folder under `dir` (a `PG_VERSION` file's folder): what a restore
/// left behind.
fn data_folders(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&p) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.file_name().is_some_and(|n| n == "PG_VERSION") && p != dir {
                found.push(p.clone());
            } else if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(path);
            }
        }
    }
    found
}

/// `restore shop --at AT --dry-run` (the plan, as JSON).
fn dry_run(d: &Path, pg: &TestCluster, at: &str) -> std::process::Output {
    let args = [
        "--json",
        "restore",
        "shop",
        "--at",
        at,
        "--to-data-dir",
        "unused",
        "--dry-run",
    ];
    run(d, pg, &args)
}

/// One byte in the middle of the file at `path` changed; its bytes before.
fn flip_a_byte(path: &Path) -> Vec<u8> {
    let good = std::fs::read(path).unwrap();
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 0x01;
    std::fs::write(path, &bad).unwrap();
    good
}

/// A library whose constructor, once loaded anywhere but in the source server's own folder
/// `source` (where its sessions load it harmlessly), writes `marker` and connects to
/// 127.0.0.1:`port` (and which has a type's input and output functions, `evil_in`/`evil_out`): built with gcc into `<dir>/evil.so`, with the magic block of server
/// version `version_num / 100` (PostgreSQL 15 to 17's layout) so that a session loading it goes
/// on.
fn evil_library(
    dir: &Path,
    source: &Path,
    marker: &Path,
    port: u16,
    version_num: u32,
) -> std::path::PathBuf {
    let c = format!(
        r#"#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
typedef struct {{ int len; int version; int funcmaxargs; int indexmaxkeys; int namedatalen; int float8byval; char abi_extra[32]; }} Pg_magic_struct;
static const Pg_magic_struct magic = {{ sizeof(Pg_magic_struct), {major}, 100, 32, 64, 1, "PostgreSQL" }};
const Pg_magic_struct *Pg_magic_func(void) {{ return &magic; }}
typedef struct {{ int api_version; }} Pg_finfo_record;
static const Pg_finfo_record v1 = {{ 1 }};
const Pg_finfo_record *pg_finfo_evil_in(void) {{ return &v1; }}
const Pg_finfo_record *pg_finfo_evil_out(void) {{ return &v1; }}
static char shown[] = "42";
unsigned long evil_in(void *fcinfo) {{ (void) fcinfo; return 42; }}
unsigned long evil_out(void *fcinfo) {{ (void) fcinfo; return (unsigned long) shown; }}
__attribute__((constructor)) static void boom(void) {{
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) && strcmp(cwd, "{source}") == 0) return;
  FILE *f = fopen("{marker}", "a");
  if (f) {{ fprintf(f, "loaded in %s\n", cwd); fclose(f); }}
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {{ 0 }};
  a.sin_family = AF_INET; a.sin_port = htons({port}); a.sin_addr.s_addr = htonl(0x7f000001);
  if (s >= 0) {{ connect(s, (struct sockaddr *)&a, sizeof a); close(s); }}
}}
"#,
        major = version_num / 100,
        source = source.display(),
        marker = marker.display(),
    );
    let src = dir.join("evil.c");
    std::fs::write(&src, c).unwrap();
    let so = dir.join("evil.so");
    let out = std::process::Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&src)
        .output()
        .expect("this test needs gcc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    so
}

/// A folder anyone may write in (the servers run as `postgres` when the tests run as root).
fn open_folder() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

/// What a superuser of the source (or the server itself) plants for the day someone restores:
/// commands in `postgresql.auto.conf` (ALTER SYSTEM, no reload), a library inside the base
/// named by `session_preload_libraries` (the server's file, per role and per database) and by
/// `jit_provider`. Restoring to a time, into a database and as a data folder, runs none of it,
/// writes nothing outside Offsite's folders, and gives exactly the rows.
#[test]
fn a_sources_planted_settings_run_nothing_when_restored() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "pitr_planted";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, qty int NOT NULL);
         CREATE TABLE public.items (id int PRIMARY KEY, payload jsonb, body text);
         CREATE TABLE public.nokey (n int);",
    );
    allow_replication(&pg);
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(
        run(
            d,
            &pg,
            &["project", "add", "shop", "--db", &owner_url(&pg, db)],
        ),
        "project add",
    );

    let outside = open_folder();
    let marker = outside.path().join("marker");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let source = std::fs::canonicalize(pg.data_dir()).unwrap();
    let version: u32 = pg
        .psql("postgres", "SHOW server_version_num")
        .trim()
        .parse()
        .unwrap();
    let so = evil_library(outside.path(), &source, &marker, port, version);
    // The library inside the source's data folder: pg_basebackup copies it into the base.
    let planted = source.join("offsite_evil");
    std::fs::create_dir_all(&planted).unwrap();
    std::fs::copy(&so, planted.join("evil.so")).unwrap();
    let ran = |what: &str| outside.path().join(format!("ran-{what}"));
    let up = "../".repeat(12);
    let jit = format!("{up}{}", outside.path().join("evil").display());
    for (name, value) in [
        (
            "recovery_end_command",
            format!("echo x > {}", ran("recovery_end").display()),
        ),
        (
            "archive_cleanup_command",
            format!("echo x > {}", ran("cleanup").display()),
        ),
        ("session_preload_libraries", "offsite_evil/evil.so".into()),
        ("jit_provider", jit),
        ("jit_above_cost", "0".into()),
        ("archive_mode", "on".into()),
        (
            "archive_command",
            format!("echo x > {}", ran("archive").display()),
        ),
    ] {
        pg.psql(
            "postgres",
            &format!("ALTER SYSTEM SET {name} = '{}'", value.replace('\'', "''")),
        );
    }
    writes(&pg, db, 1);
    ok(
        run(d, &pg, &["pitr", "enable", "shop", "--mode", "physical"]),
        "pitr enable --mode physical",
    );
    // Per-role and per-database settings, in the WAL after the base.
    pg.psql(
        "postgres",
        &format!(
            "ALTER ROLE ALL SET session_preload_libraries = 'offsite_evil/evil.so';
             ALTER DATABASE {db} SET session_preload_libraries = 'offsite_evil/evil.so';
             ALTER ROLE {ROLE} SET session_preload_libraries = 'offsite_evil/evil.so'"
        ),
    );
    writes(&pg, db, 2);
    let want = digests(&pg, db);
    let at = server_now(&pg);
    pg.psql("postgres", "SELECT pg_switch_wal()");
    wait_past(&pg, &at);
    ok(
        run(d, &pg, &["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );

    let nothing_ran = |when: &str| {
        let said = std::fs::read_to_string(&marker).unwrap_or_default();
        assert!(said.is_empty(), "{when}: the base's library ran: {said}");
        match listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("{when}: the base's library connected to 127.0.0.1: {other:?}"),
        }
        for what in ["recovery_end", "cleanup", "archive"] {
            assert!(!ran(what).exists(), "{when}: the base's {what} command ran");
        }
    };
    let target = "planted_into";
    pg.create_db(target);
    let out = run(
        d,
        &pg,
        &[
            "--json",
            "restore",
            "shop",
            "--at",
            &at,
            "--to",
            &pg.url(target),
        ],
    );
    nothing_ran("restore --at --to");
    let done = ok_json(out, "restore --at");
    assert_eq!(digests(&pg, target), want, "{done}");

    // PROJECT@TIME (recovered, dumped as a reading role, listed).
    let tables = ok_json(
        run(d, &pg, &["--json", "browse", &format!("shop@{at}")]),
        "browse shop@TIME",
    );
    nothing_ran("browse shop@TIME");
    assert!(
        tables["tables"].as_array().is_some_and(|t| !t.is_empty()),
        "{tables}"
    );

    // A data folder: Offsite's neutral configuration, the source's beside it saying what it
    // set.
    let folder = tempfile::tempdir().unwrap();
    let dest = folder.path().join("restored");
    ok(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &at,
                "--to-data-dir",
                dest.to_str().unwrap(),
            ],
        ),
        "restore --at --to-data-dir",
    );
    nothing_ran("restore --at --to-data-dir");
    let conf = std::fs::read_to_string(dest.join("postgresql.conf")).unwrap();
    assert!(
        conf.lines().all(|l| l.is_empty() || l.starts_with('#')),
        "{conf}"
    );
    assert!(conf.contains("postgresql.auto.conf.from-backup"), "{conf}");
    let auto = std::fs::read_to_string(dest.join("postgresql.auto.conf")).unwrap();
    assert!(!auto.contains("recovery_end_command"), "{auto}");
    let kept = std::fs::read_to_string(dest.join("postgresql.auto.conf.from-backup")).unwrap();
    let first = kept.lines().next().unwrap();
    for name in [
        "recovery_end_command",
        "session_preload_libraries",
        "jit_provider",
    ] {
        assert!(first.contains(name), "{first}");
    }
    assert!(kept.contains("offsite_evil/evil.so"), "{kept}");
    assert!(dest.join("postgresql.conf.from-backup").is_file());
}

/// A base whose server sent links (as only a hostile one does: pg_basebackup skips them): a
/// `standby.signal` pointing at a file of this machine, a `postgresql.conf` pointing nowhere.
/// The restore is refused naming the link, and nothing outside is written or made.
#[test]
fn a_bases_links_are_refused_and_never_followed() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "pitr_links";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, qty int NOT NULL);
         CREATE TABLE public.items (id int PRIMARY KEY, payload jsonb, body text);
         CREATE TABLE public.nokey (n int);",
    );
    allow_replication(&pg);
    let outside = open_folder();
    let precious = outside.path().join("precious");
    std::fs::write(&precious, b"keep me").unwrap();
    let made = outside.path().join("made-by-offsite");
    // The client tools as the source's side hands them over: pg_basebackup's tar gains links.
    let bin = tempfile::tempdir().unwrap();
    let real = pg.bin("pg_basebackup").parent().unwrap().to_path_buf();
    for e in std::fs::read_dir(&real).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "pg_basebackup" {
            std::os::unix::fs::symlink(e.path(), bin.path().join(e.file_name())).unwrap();
        }
    }
    let links = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&precious, links.path().join("standby.signal")).unwrap();
    std::os::unix::fs::symlink(&made, links.path().join("postgresql.conf")).unwrap();
    let script = format!(
        "#!/bin/sh\n\"{real}/pg_basebackup\" \"$@\" || exit $?\n\
         prev=''; dir=''\nfor a in \"$@\"; do [ \"$prev\" = -D ] && dir=\"$a\"; prev=\"$a\"; done\n\
         [ -n \"$dir\" ] || exit 0\n\
         tar --delete -f \"$dir/base.tar\" postgresql.conf || exit 1\n\
         tar -rf \"$dir/base.tar\" -C \"{links}\" standby.signal postgresql.conf\n",
        real = real.display(),
        links = links.path().display()
    );
    let wrapper = bin.path().join("pg_basebackup");
    offsite_testkit::script::write_executable(&wrapper, &script);
    let pg_bin = bin.path().to_str().unwrap();

    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let with_bin = |args: &[&str]| {
        let mut all = vec!["--pg-bin", pg_bin];
        all.extend_from_slice(args);
        run(d, &pg, &all)
    };
    ok(
        with_bin(&["project", "add", "shop", "--db", &owner_url(&pg, db)]),
        "project add",
    );
    writes(&pg, db, 1);
    ok(
        with_bin(&["pitr", "enable", "shop", "--mode", "physical"]),
        "pitr enable --mode physical",
    );
    writes(&pg, db, 2);
    let at = server_now(&pg);
    pg.psql("postgres", "SELECT pg_switch_wal()");
    wait_past(&pg, &at);
    ok(
        with_bin(&["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );

    let folder = tempfile::tempdir().unwrap();
    let dest = folder.path().join("restored");
    let target = "links_into";
    pg.create_db(target);
    for out in [
        with_bin(&["restore", "shop", "--at", &at, "--to", &pg.url(target)]),
        with_bin(&[
            "restore",
            "shop",
            "--at",
            &at,
            "--to-data-dir",
            dest.to_str().unwrap(),
        ]),
    ] {
        assert_eq!(
            std::fs::read(&precious).unwrap(),
            b"keep me",
            "written through a link"
        );
        assert!(!made.exists(), "a file made through a dangling link");
        let said = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "a base with links restored: {said}");
        assert!(
            said.contains("holds a link at")
                && (said.contains("standby.signal") || said.contains("postgresql.conf")),
            "{said}"
        );
    }
    assert!(!dest.exists());
    assert_eq!(data_folders(d), Vec::<std::path::PathBuf>::new());
}

/// A `LANGUAGE C` function whose library path names a file of the base (`AS
/// 'offsite_evil/evil.so'`, relative: the data folder), as the output function of a column's
/// type: dumping the recovered database would load it as the reading role. Reading the
/// instant (`browse shop@TIME`) and restoring it (`restore --at --to`) are refused naming the
/// functions, before any is called; nothing runs, the target stays empty.
#[test]
fn a_c_function_whose_library_came_with_the_base_is_refused() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "pitr_clib";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, qty int NOT NULL);
         CREATE TABLE public.items (id int PRIMARY KEY, payload jsonb, body text);
         CREATE TABLE public.nokey (n int);",
    );
    allow_replication(&pg);
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(
        run(
            d,
            &pg,
            &["project", "add", "shop", "--db", &owner_url(&pg, db)],
        ),
        "project add",
    );
    let outside = open_folder();
    let marker = outside.path().join("marker");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let source = std::fs::canonicalize(pg.data_dir()).unwrap();
    let version: u32 = pg
        .psql("postgres", "SHOW server_version_num")
        .trim()
        .parse()
        .unwrap();
    let so = evil_library(outside.path(), &source, &marker, port, version);
    let planted = source.join("offsite_evil");
    std::fs::create_dir_all(&planted).unwrap();
    std::fs::copy(&so, planted.join("evil.so")).unwrap();
    // Loaded by the source's own sessions (harmless there: its folder), in the base after.
    pg.psql(
        db,
        "CREATE TYPE public.evil;
         CREATE FUNCTION public.evil_in(cstring) RETURNS public.evil LANGUAGE c STRICT
             AS 'offsite_evil/evil.so', 'evil_in';
         CREATE FUNCTION public.evil_out(public.evil) RETURNS cstring LANGUAGE c STRICT
             AS 'offsite_evil/evil.so', 'evil_out';
         CREATE TYPE public.evil (INPUT = public.evil_in, OUTPUT = public.evil_out,
             INTERNALLENGTH = 4, PASSEDBYVALUE, ALIGNMENT = int4);
         CREATE TABLE public.planted (id int PRIMARY KEY, v public.evil);
         INSERT INTO public.planted VALUES (1, 'x');
         GRANT SELECT ON public.planted TO PUBLIC",
    );
    writes(&pg, db, 1);
    ok(
        run(d, &pg, &["pitr", "enable", "shop", "--mode", "physical"]),
        "pitr enable --mode physical",
    );
    writes(&pg, db, 2);
    let at = server_now(&pg);
    pg.psql("postgres", "SELECT pg_switch_wal()");
    wait_past(&pg, &at);
    ok(
        run(d, &pg, &["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );
    let nothing_ran = |when: &str| {
        let said = std::fs::read_to_string(&marker).unwrap_or_default();
        assert!(said.is_empty(), "{when}: the base's library ran: {said}");
        match listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("{when}: the base's library connected to 127.0.0.1: {other:?}"),
        }
    };
    let out = run(d, &pg, &["--json", "browse", &format!("shop@{at}")]);
    nothing_ran("browse shop@TIME");
    refused(out, "public.evil_out loads");
    let target = "clib_into";
    pg.create_db(target);
    let out = run(
        d,
        &pg,
        &[
            "--json",
            "restore",
            "shop",
            "--at",
            &at,
            "--to",
            &pg.url(target),
        ],
    );
    nothing_ran("restore --at --to");
    refused(
        out,
        "C functions whose library could be a file that came with the base",
    );
    assert_eq!(
        pg.psql(
            target,
            "SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = 'public'::regnamespace"
        ),
        "0",
        "nothing was restored"
    );
}
