//! Logical point-in-time capture and restore through the `offsite` binary (issue 46), as a role
//! with REPLICATION but not SUPERUSER (as Supabase's `postgres`): writes happen while
//! `offsite pitr run` captures; at several instants the test records digests of the tables
//! (test-only reads); `restore --at` each instant gives exactly those digests. The capture is
//! killed mid-stream and resumes with no gap and no duplicate (a duplicate insert would fail the
//! replay on its primary key; a gap would change a digest). A time before the base is refused
//! naming the nearest restorable time; a damaged segment ends the window (status and the plan
//! say so); `disable` leaves no slot behind.

mod common;

use common::pg::{offsite, ok, ok_json, refused, run};
use offsite_testkit::TestCluster;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

const ROLE: &str = "pitr_owner";

fn owner_url(pg: &TestCluster, db: &str) -> String {
    format!("postgres://{ROLE}@127.0.0.1:{}/{db}", pg.port())
}

fn sql(pg: &TestCluster, db: &str, q: &str) -> String {
    pg.psql_url(&owner_url(pg, db), q)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .trim()
        .to_string()
}

/// Digests of the captured tables (test-only reads, as the superuser).
fn digests(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT (SELECT coalesce(md5(string_agg(o::text, '|' ORDER BY id)), '-') FROM public.orders o) \
         || ' ' || (SELECT coalesce(md5(string_agg(i::text, '|' ORDER BY id)), '-') FROM public.items i)",
    )
    .trim()
    .to_string()
}

/// The server's clock now, RFC 3339 (the clock commit times are taken on).
fn server_now(pg: &TestCluster) -> String {
    std::thread::sleep(Duration::from_millis(30));
    let t = pg
        .psql(
            "postgres",
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        )
        .trim()
        .to_string();
    std::thread::sleep(Duration::from_millis(30));
    t
}

/// One round of writes, each statement its own transaction.
fn writes(pg: &TestCluster, db: &str, round: i32) {
    for k in 0..6 {
        let n = round * 100 + k;
        sql(
            pg,
            db,
            &format!(
                "INSERT INTO public.orders (note, qty) VALUES ('round {round} #{k} it''s', {n});
                 INSERT INTO public.items (id, payload, body) VALUES ({n}, '{{\"n\": {n}, \"s\": \"x\\\"y\"}}', (SELECT string_agg(md5((g * {n})::text), '') FROM generate_series(1, 300) g))
                    ON CONFLICT (id) DO UPDATE SET payload = excluded.payload;"
            ),
        );
    }
    sql(
        pg,
        db,
        &format!(
            "BEGIN;
             UPDATE public.orders SET qty = qty + 1, note = NULL WHERE id % 3 = {};
             DELETE FROM public.orders WHERE id % 7 = {};
             UPDATE public.items SET payload = jsonb_set(payload, '{{r}}', '{round}') WHERE id % 2 = 0;
             INSERT INTO public.nokey VALUES ({round});
             COMMIT;",
            round % 3,
            round % 7
        ),
    );
}

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
fn restore_at_each_instant_gives_that_instants_tables() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "pitr_shop";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, qty int NOT NULL);
         CREATE TABLE public.items (id int PRIMARY KEY, payload jsonb, body text);
         CREATE TABLE public.nokey (n int);
         INSERT INTO public.orders (note, qty) SELECT 'before ' || g, g FROM generate_series(1, 50) g;",
    );
    pg.psql(
        db,
        &format!("CREATE TABLE public.admin_only (x int PRIMARY KEY); INSERT INTO public.admin_only VALUES (1);
                  GRANT SELECT ON public.admin_only TO {ROLE}"),
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
    let before_base = server_now(&pg);
    // Writes go on while the slot is created and the base is dumped: those the base's snapshot
    // holds must not be replayed again (a duplicate key), the others must be (a digest).
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (enabled, during) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                sql(
                    &pg,
                    db,
                    "INSERT INTO public.orders (note, qty) VALUES ('during enable', 0)",
                );
                n += 1;
            }
            n
        });
        let enabled = run(d, &pg, &["--json", "pitr", "enable", "shop"]);
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        (enabled, writer.join().unwrap())
    });
    let enabled = ok_json(enabled, "pitr enable");
    assert!(during > 3, "only {during} writes during enable");
    let covered: Vec<&str> = enabled["coverage"]["covered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(covered, ["public.items", "public.orders"], "{enabled}");
    let not_covered = enabled["coverage"]["not_covered"].to_string();
    assert!(
        not_covered.contains("public.admin_only") && not_covered.contains("not owned"),
        "{not_covered}"
    );
    assert!(
        not_covered.contains("public.nokey") && not_covered.contains("replica identity"),
        "{not_covered}"
    );

    // Writes while the capture runs; the capture killed and started again in the middle.
    let mut instants = Vec::new();
    let cap = capture(d, &pg);
    for round in 1..=2 {
        writes(&pg, db, round);
        instants.push((server_now(&pg), digests(&pg, db)));
    }
    std::thread::sleep(Duration::from_millis(2500));
    drop(cap);
    for round in 3..=4 {
        writes(&pg, db, round);
        instants.push((server_now(&pg), digests(&pg, db)));
    }
    let cap = capture(d, &pg);
    writes(&pg, db, 5);
    sql(&pg, db, "TRUNCATE public.items");
    writes(&pg, db, 6);
    instants.push((server_now(&pg), digests(&pg, db)));
    std::thread::sleep(Duration::from_millis(2500));
    drop(cap);
    writes(&pg, db, 7);
    let after_all = server_now(&pg);
    std::thread::sleep(Duration::from_millis(1500));
    ok(
        run(d, &pg, &["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );
    let seq_now: i64 = pg
        .psql(db, "SELECT last_value FROM public.orders_id_seq")
        .trim()
        .parse()
        .unwrap();

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

    // Each instant, restored into an empty database, has exactly its tables.
    for (i, (at, want)) in instants.iter().enumerate() {
        let target = format!("pitr_at_{i}");
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
        let done = ok_json(
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
                ],
            ),
            "restore --at",
        );
        assert_eq!(&digests(&pg, &target), want, "instant {i} ({at}): {done}");
        // Sequences are set at the end: no next value collides with a restored row.
        let seq: i64 = pg
            .psql(&target, "SELECT last_value FROM public.orders_id_seq")
            .trim()
            .parse()
            .unwrap();
        let max: i64 = pg
            .psql(&target, "SELECT coalesce(max(id), 0) FROM public.orders")
            .trim()
            .parse()
            .unwrap();
        assert!(seq >= max, "sequence {seq} below the restored rows' {max}");
        assert!(seq <= seq_now);
    }

    // Before the base: refused, naming the nearest restorable time after it.
    let out = run(
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
    );
    refused(out, "nearest restorable times: before none, after ");

    // A damaged segment ends the window there: status and the plan say so.
    let segs = segment_files(d);
    assert!(segs.len() >= 3, "segments: {segs:?}");
    let last = segs.last().unwrap();
    let mut bytes = std::fs::read(last).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(last, &bytes).unwrap();
    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    let broken = status["windows"][0]["broken_by"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(broken.contains("missing or damaged"), "{status}");
    // The last segment held round 7: a time after it is no longer restorable.
    refused(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &after_all,
                "--to",
                &pg.url("postgres"),
                "--dry-run",
            ],
        ),
        "is in no restorable window; nearest restorable times: before 20",
    );

    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
    assert_eq!(
        pg.psql("postgres", "SELECT count(*) FROM pg_replication_slots")
            .trim(),
        "0"
    );
    assert_eq!(
        pg.psql(db, "SELECT count(*) FROM pg_publication").trim(),
        "0"
    );

    // A slot named like Offsite's that no project here owns is reported, never left in silence.
    pg.psql(
        db,
        "SELECT pg_create_logical_replication_slot('offsite_pitr_00ff00ff00ff00ff', 'pgoutput')",
    );
    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    assert_eq!(status["enabled"], false, "{status}");
    assert_eq!(
        status["stray_slots"][0]["slot"], "offsite_pitr_00ff00ff00ff00ff",
        "{status}"
    );
    pg.psql(
        db,
        "SELECT pg_drop_replication_slot('offsite_pitr_00ff00ff00ff00ff')",
    );

    // A slot holding more WAL than its limit is dropped and the chain ends, saying why.
    ok(
        run(d, &pg, &["pitr", "enable", "shop", "--max-retained", "1kB"]),
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
            .contains("over the limit of 1024"),
        "{pass}"
    );
    assert_eq!(
        pg.psql("postgres", "SELECT count(*) FROM pg_replication_slots")
            .trim(),
        "0"
    );
    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    assert!(
        status["ended"]
            .to_string()
            .contains("dropped to protect the server's disk"),
        "{status}"
    );
}

/// Every segment file under the data folder (plain or encrypted), in name order (by first
/// commit LSN).
fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            out.extend(segment_files(&p));
        } else if name.ends_with(".pitr") || name.ends_with(".pitr.age") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A cluster with a REPLICATION (not superuser) role owning database `db` (orders, items, a
/// table without a key), and a data folder whose project `shop` backs it up as that role.
fn shop_project(db: &str) -> (TestCluster, tempfile::TempDir) {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, qty int NOT NULL);
         CREATE TABLE public.items (id int PRIMARY KEY, payload jsonb, body text);
         CREATE TABLE public.nokey (n int);",
    );
    let data = tempfile::tempdir().unwrap();
    ok(
        run(
            data.path(),
            &pg,
            &["project", "add", "shop", "--db", &owner_url(&pg, db)],
        ),
        "project add",
    );
    (pg, data)
}

/// A change of a published table's columns (DDL) ends the window: status says why, a time after
/// it is refused, a time before it is still restorable.
#[test]
fn ddl_ends_the_restorable_window() {
    let db = "pitr_ddl";
    let (pg, data) = shop_project(db);
    let d = data.path();
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    writes(&pg, db, 1);
    let before_ddl = server_now(&pg);
    let want = digests(&pg, db);
    std::thread::sleep(Duration::from_millis(1200));
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    sql(&pg, db, "ALTER TABLE public.orders ADD COLUMN extra int");
    writes(&pg, db, 2);
    let after_ddl = server_now(&pg);
    std::thread::sleep(Duration::from_millis(1200));
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");

    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    let why = status["windows"][0]["broken_by"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(why.contains("columns changed (DDL)"), "{status}");
    refused(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &after_ddl,
                "--to",
                &pg.url("postgres"),
                "--dry-run",
            ],
        ),
        "is in no restorable window",
    );
    pg.create_db("pitr_ddl_then");
    ok(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &before_ddl,
                "--to",
                &pg.url("pitr_ddl_then"),
            ],
        ),
        "restore --at before the DDL",
    );
    assert_eq!(digests(&pg, "pitr_ddl_then"), want);
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
}

/// `offsite daemon` captures the projects that enabled it.
#[test]
fn the_daemon_captures() {
    let db = "pitr_daemon";
    let (pg, data) = shop_project(db);
    let d = data.path();
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    let daemon = Capture(offsite(d, &pg, &["daemon"]).spawn().unwrap());
    writes(&pg, db, 1);
    let mut segments = 0;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(500));
        segments = segment_files(d).len();
        if segments > 0 {
            break;
        }
    }
    drop(daemon);
    assert!(segments > 0, "the daemon wrote no segment");
    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    assert!(
        status["windows"][0]["segments"].as_u64().unwrap() >= 1,
        "{status}"
    );
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
}

/// A project that encrypts its backups gets age-encrypted segments: no row text readable in
/// them, and `restore --at` decrypts them with the project's key (and is refused without it).
#[test]
fn an_encrypting_project_gets_encrypted_segments() {
    let db = "pitr_enc";
    let (pg, data) = shop_project(db);
    let d = data.path();
    let var = offsite_core::secrets::env_var_for_key("project:shop:encryption-passphrase");
    let pass = "pitr-segments-are-sealed";
    let with_key = |args: &[&str], stdin: &str| {
        let mut c = offsite(d, &pg, args);
        c.env(&var, pass)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let line = format!("{pass}\n");
    ok(
        with_key(&["encryption", "set", "shop", "--passphrase-stdin"], &line),
        "encryption set",
    );
    ok(with_key(&["encryption", "confirm", "shop"], &line), "encryption confirm");
    ok(with_key(&["pitr", "enable", "shop"], ""), "pitr enable");
    sql(
        &pg,
        db,
        "INSERT INTO public.orders (note, qty) VALUES ('plainly-visible-marker', 1)",
    );
    writes(&pg, db, 1);
    let at = server_now(&pg);
    let want = digests(&pg, db);
    std::thread::sleep(Duration::from_millis(1200));
    ok(with_key(&["pitr", "run", "shop", "--once"], ""), "pitr run");
    let segs = segment_files(d);
    assert!(!segs.is_empty(), "no segment written");
    for s in &segs {
        assert!(s.to_string_lossy().ends_with(".pitr.age"), "{s:?}");
        let bytes = std::fs::read(s).unwrap();
        assert!(bytes.starts_with(b"age-encryption.org/v1"), "{s:?}");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("plainly-visible-marker") && !text.contains("round 1"),
            "{s:?} holds row text"
        );
    }
    // Without the project's key the plan cannot read the segments.
    refused(
        run(
            d,
            &pg,
            &["restore", "shop", "--at", &at, "--to", &pg.url("postgres"), "--dry-run"],
        ),
        "no key was given",
    );
    pg.create_db("pitr_enc_then");
    ok(
        with_key(
            &["restore", "shop", "--at", &at, "--to", &pg.url("pitr_enc_then")],
            "",
        ),
        "restore --at (encrypted)",
    );
    assert_eq!(digests(&pg, "pitr_enc_then"), want);
    ok(with_key(&["pitr", "disable", "shop"], ""), "pitr disable");
}
