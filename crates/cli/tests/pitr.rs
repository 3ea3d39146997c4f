//! Logical point-in-time capture and restore through the `offsite` binary (issue 46), as a role
//! with REPLICATION but not SUPERUSER (as Supabase's `postgres`): writes happen while
//! `offsite pitr run` captures; at several instants the test records digests of the tables
//! (test-only reads); `restore --at` each instant gives exactly those digests. The capture is
//! killed mid-stream and resumes with no gap and no duplicate (a duplicate insert would fail the
//! replay on its primary key; a gap would change a digest). A time before the base is refused
//! naming the nearest restorable time; a damaged segment ends the window (status and the plan
//! say so); `disable` leaves no slot behind.

mod common;

use common::hook::Hook;
use common::pg::{offsite, ok, ok_json, refused, run, run_env, server_now, wait_past};
use common::pitr::{digests, owner_url, segment_files, sql, writes, ROLE};
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
    wait_past(&pg, &after_all);
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
            .contains("over the limit of 1.0 KB"),
        "{pass}"
    );
    assert_eq!(
        pg.psql("postgres", "SELECT count(*) FROM pg_replication_slots")
            .trim(),
        "0"
    );
    common::pitr::assert_ended_for_the_disk(d, &pg);
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
    wait_past(&pg, &before_ddl);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    sql(&pg, db, "ALTER TABLE public.orders ADD COLUMN extra int");
    writes(&pg, db, 2);
    let after_ddl = server_now(&pg);
    wait_past(&pg, &after_ddl);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");

    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    let why = status["windows"][0]["broken_by"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(why.contains("definitions changed (DDL"), "{status}");
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

    // The pass that met the change started a new base: the next window restores.
    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    assert_eq!(status["enabled"], true, "{status}");
    assert!(
        status["ended"].to_string().contains("definitions changed"),
        "{status}"
    );
    writes(&pg, db, 3);
    let after_new_base = server_now(&pg);
    let want = digests(&pg, db);
    wait_past(&pg, &after_new_base);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    pg.create_db("pitr_ddl_after");
    ok(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &after_new_base,
                "--to",
                &pg.url("pitr_ddl_after"),
            ],
        ),
        "restore --at after the new base",
    );
    assert_eq!(digests(&pg, "pitr_ddl_after"), want);
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
    // The segment's file is written before the catalog registers it: wait for the
    // registration (what `status` counts), not for the file, before stopping the daemon.
    let registered = || {
        let status = ok_json(
            run(d, &pg, &["--json", "pitr", "status", "shop"]),
            "pitr status",
        );
        let n = status["windows"][0]["segments"].as_u64().unwrap_or(0);
        (n, status)
    };
    let mut seen = (0, serde_json::Value::Null);
    for _ in 0..60 {
        std::thread::sleep(Duration::from_millis(500));
        if segment_files(d).is_empty() {
            continue;
        }
        seen = registered();
        if seen.0 >= 1 {
            break;
        }
    }
    assert!(
        !segment_files(d).is_empty(),
        "the daemon wrote no segment in 30 s"
    );
    assert!(seen.0 >= 1, "no segment registered in 30 s: {}", seen.1);
    // The dashboard's recovery point (and `offsite status`'s) is the capture's, not the base's:
    // it moves past the base with the daemon's passes (a window ends a second before its last
    // read, so a pass within a second of the base does not move it yet).
    let recovery = || {
        let all = ok_json(run(d, &pg, &["--json", "status", "shop"]), "status");
        let h = all["projects"][0]["health"].clone();
        let point = h["recovery_point"]
            .as_str()
            .expect("a recovery point")
            .to_string();
        let base = h["last_good"]
            .as_str()
            .expect("the base is a good backup")
            .to_string();
        (point, base, h)
    };
    let mut last = recovery();
    for _ in 0..60 {
        if last.0 > last.1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        last = recovery();
    }
    drop(daemon);
    // Read again once the daemon is gone: a pass after the last read moves the point.
    let (point, base, h) = if last.0 > last.1 { recovery() } else { last };
    assert!(
        point > base,
        "recovery point {point} after the base {base} within 30 s: {h}"
    );
    let text = String::from_utf8(ok(run(d, &pg, &["status", "shop"]), "status").stdout).unwrap();
    assert!(text.contains(&format!("recovery point: {point}")), "{text}");
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
}

/// A project that encrypts its backups gets age-encrypted segments: no row text readable in
/// them, and `restore --at` decrypts them with the project's key (and is refused without it).
/// Over six segments (six passes) the restore derives the passphrase key once (its log says
/// each derivation: the probe), and a segment opens with the stock `age -d` and the passphrase.
#[test]
fn an_encrypting_project_gets_encrypted_segments() {
    let db = "pitr_enc";
    let (pg, data) = shop_project(db);
    let d = data.path();
    let var = offsite_core::secrets::env_var_for_key("project:shop:encryption-passphrase");
    let pass = "pitr-segments-are-sealed";
    let with_key_log = |args: &[&str], stdin: &str, log: &str| {
        let mut c = offsite(d, &pg, args);
        c.env(&var, pass)
            .env("OFFSITE_LOG", log)
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
    let with_key = |args: &[&str], stdin: &str| with_key_log(args, stdin, "off");
    let line = format!("{pass}\n");
    ok(
        with_key(&["encryption", "set", "shop", "--passphrase-stdin"], &line),
        "encryption set",
    );
    ok(
        with_key(&["encryption", "confirm", "shop"], &line),
        "encryption confirm",
    );
    ok(with_key(&["pitr", "enable", "shop"], ""), "pitr enable");
    sql(
        &pg,
        db,
        "INSERT INTO public.orders (note, qty) VALUES ('plainly-visible-marker', 1)",
    );
    let (mut at, mut want) = (String::new(), String::new());
    for round in 1..=6 {
        writes(&pg, db, round);
        let now = server_now(&pg);
        if round == 6 {
            // Before the last pass: the window ends at the last commit it captured.
            at = now.clone();
            want = digests(&pg, db);
        }
        wait_past(&pg, &now);
        ok(with_key(&["pitr", "run", "shop", "--once"], ""), "pitr run");
    }
    let segs = segment_files(d);
    assert!(segs.len() >= 6, "six passes wrote {} segments", segs.len());
    // The stock age command opens a segment with the passphrase alone.
    let plain = age_decrypt_with_passphrase(&segs[0], pass);
    assert!(!plain.is_empty(), "age -d gave nothing");
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
            &[
                "restore",
                "shop",
                "--at",
                &at,
                "--to",
                &pg.url("postgres"),
                "--dry-run",
            ],
        ),
        "no key was given",
    );
    pg.create_db("pitr_enc_then");
    let restored = ok(
        with_key_log(
            &[
                "restore",
                "shop",
                "--at",
                &at,
                "--to",
                &pg.url("pitr_enc_then"),
            ],
            "",
            "offsite_core::crypto=info",
        ),
        "restore --at (encrypted)",
    );
    assert_eq!(digests(&pg, "pitr_enc_then"), want);
    // The base archive and every segment opened: one derivation for all of them.
    let log = String::from_utf8_lossy(&restored.stderr);
    assert_eq!(
        log.matches("derived a passphrase key").count(),
        1,
        "one key derivation for the base and {} segments: {log}",
        segs.len()
    );
    assert!(!log.contains(pass), "the log shows the passphrase");
    let v = ok_json(
        with_key(&["--json", "pitr", "verify", "shop"], ""),
        "pitr verify (encrypted)",
    );
    assert_eq!(v["damaged"], 0, "{v}");
    ok(with_key(&["pitr", "disable", "shop"], ""), "pitr disable");
}

/// A lost slot raises one `pitr_slot_dropped` alert through the outbox, naming the project and
/// why: dropped past its WAL limit, or vanished from the server. Once per event: the pass after
/// it raises nothing more.
#[test]
fn a_lost_slot_alerts_once() {
    let db = "pitr_alert";
    let (pg, data) = shop_project(db);
    let d = data.path();
    let hook = Hook::added(d, &pg);
    let env = hook.env();
    let events = || hook.events("pitr_slot_dropped");

    // Past its limit: dropped, one alert naming the project and the limit.
    ok(
        run_env(
            d,
            &pg,
            &env,
            &["pitr", "enable", "shop", "--max-retained", "1kB"],
        ),
        "pitr enable",
    );
    writes(&pg, db, 1);
    let pass = ok_json(
        run_env(d, &pg, &env, &["--json", "pitr", "run", "shop", "--once"]),
        "pitr run",
    );
    assert!(pass["dropped"].is_string(), "{pass}");
    let got = events();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["project"]["name"], "shop", "{}", got[0]);
    assert_eq!(got[0]["severity"], "failure", "{}", got[0]);
    let summary = got[0]["summary"].as_str().unwrap();
    assert!(
        summary.contains("shop") && summary.contains("over the limit of 1.0 KB"),
        "{summary}"
    );
    // Nothing more on the next pass (the chain ended with the alert).
    refused(
        run_env(d, &pg, &env, &["pitr", "run", "shop", "--once"]),
        "not enabled",
    );
    assert_eq!(events().len(), 1);

    // Vanished: someone dropped the slot; the next pass ends the chain and alerts once.
    ok(
        run_env(d, &pg, &env, &["pitr", "enable", "shop"]),
        "pitr enable",
    );
    let slot = pg
        .psql("postgres", "SELECT slot_name FROM pg_replication_slots")
        .trim()
        .to_string();
    pg.psql(db, &format!("SELECT pg_drop_replication_slot('{slot}')"));
    let pass = ok_json(
        run_env(d, &pg, &env, &["--json", "pitr", "run", "shop", "--once"]),
        "pitr run",
    );
    assert!(
        pass["dropped"]
            .as_str()
            .unwrap_or_default()
            .contains("vanished"),
        "{pass}"
    );
    let got = events();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[1]["summary"].as_str().unwrap().contains("vanished"),
        "{}",
        got[1]
    );
    assert_eq!(got[1]["details"]["slot"], slot.as_str(), "{}", got[1]);
    refused(
        run_env(d, &pg, &env, &["pitr", "run", "shop", "--once"]),
        "not enabled",
    );
    assert_eq!(events().len(), 2);
    let log = ok_json(
        run_env(
            d,
            &pg,
            &env,
            &["--json", "notify", "log", "--project", "shop"],
        ),
        "notify log",
    );
    let kinds: Vec<_> = log["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "pitr_slot_dropped")
        .map(|r| r["state"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(kinds, ["sent", "sent"], "{log}");
}

/// Windows are pruned by a time window: a dry run says what would go and removes nothing; the
/// setting stored with `enable --keep-within` removes an ended window after the next segment
/// closes (its segment files and rows), never the newest one; a time in the removed window is
/// refused naming the nearest restorable time.
#[test]
fn windows_are_pruned_by_keep_within() {
    let db = "pitr_prune";
    let (pg, data) = shop_project(db);
    let d = data.path();
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    writes(&pg, db, 1);
    let t1 = server_now(&pg);
    wait_past(&pg, &t1);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
    let first = segment_files(d);
    assert!(!first.is_empty());
    std::thread::sleep(Duration::from_millis(2500));

    let second = ok_json(
        run(
            d,
            &pg,
            &["--json", "pitr", "enable", "shop", "--keep-within", "1s"],
        ),
        "pitr enable --keep-within",
    );
    let second_base = second["base_backup_id"].as_str().unwrap().to_string();
    let status = ok_json(run(d, &pg, &["--json", "pitr", "status", "shop"]), "status");
    assert_eq!(status["windows"].as_array().unwrap().len(), 2, "{status}");
    let second_from = status["windows"][1]["from_text"]
        .as_str()
        .unwrap()
        .to_string();
    let dry = ok_json(
        run(d, &pg, &["--json", "pitr", "prune", "shop", "--dry-run"]),
        "pitr prune --dry-run",
    );
    assert_eq!(dry["removed"].as_array().unwrap().len(), 1, "{dry}");
    assert_eq!(dry["keep_within"], 1, "{dry}");
    assert!(first.iter().all(|p| p.exists()), "a dry run removed files");
    let kept = ok_json(
        run(
            d,
            &pg,
            &["--json", "pitr", "prune", "shop", "--keep-within", "1w"],
        ),
        "pitr prune --keep-within 1w",
    );
    assert!(kept["removed"].as_array().unwrap().is_empty(), "{kept}");

    // The next segment closes: the stored 1s removes the ended window, files and rows.
    writes(&pg, db, 2);
    let t2 = server_now(&pg);
    let want2 = digests(&pg, db);
    wait_past(&pg, &t2);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    assert!(first.iter().all(|p| !p.exists()), "{first:?} still there");
    for p in &first {
        let side = format!("{}.sha256", p.display());
        assert!(!Path::new(&side).exists(), "{side}");
    }
    let status = ok_json(run(d, &pg, &["--json", "pitr", "status", "shop"]), "status");
    let windows = status["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1, "{status}");
    assert_eq!(windows[0]["from_text"], second_from.as_str(), "{status}");
    refused(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &t1,
                "--to",
                &pg.url("postgres"),
                "--dry-run",
            ],
        ),
        &format!("nearest restorable times: before none, after {second_from}"),
    );
    // The newest window is never pruned, however old its end.
    std::thread::sleep(Duration::from_millis(1500));
    let newest = ok_json(
        run(
            d,
            &pg,
            &["--json", "pitr", "prune", "shop", "--keep-within", "1s"],
        ),
        "pitr prune",
    );
    assert!(newest["removed"].as_array().unwrap().is_empty(), "{newest}");
    pg.create_db("pitr_prune_then");
    ok(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &t2,
                "--to",
                &pg.url("pitr_prune_then"),
            ],
        ),
        "restore --at in the kept window",
    );
    assert_eq!(digests(&pg, "pitr_prune_then"), want2);

    // Retention keeps the base of the window there is (the pruned window's base is its own).
    ok(
        run(d, &pg, &["retention", "set", "shop", "--keep-last", "1"]),
        "retention set",
    );
    ok(run(d, &pg, &["backup", "shop"]), "backup");
    let pruned = ok_json(
        run(d, &pg, &["--json", "prune", "shop", "--dry-run"]),
        "prune --dry-run",
    );
    let kept = pruned["kept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == second_base.as_str())
        .unwrap_or_else(|| panic!("the window's base is not kept: {pruned}"));
    assert!(
        kept["reasons"]
            .to_string()
            .contains("base of a point-in-time window"),
        "{pruned}"
    );
    assert_eq!(pruned["removed"].as_array().unwrap().len(), 1, "{pruned}");

    // `pitr verify` reads every segment through; a damaged one is named, exit 1.
    let v = ok_json(
        run(d, &pg, &["--json", "pitr", "verify", "shop"]),
        "pitr verify",
    );
    assert_eq!(v["damaged"], 0, "{v}");
    let segs = segment_files(d);
    assert_eq!(v["segments"].as_array().unwrap().len(), segs.len(), "{v}");
    let victim = segs.last().unwrap();
    let mut bytes = std::fs::read(victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(victim, &bytes).unwrap();
    let out = run(d, &pg, &["pitr", "verify", "shop"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let name = victim.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        text.lines()
            .any(|l| l.starts_with("DAMAGED") && l.contains(&name) && l.contains("checksum")),
        "{text}"
    );
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
}

/// Not only columns: a constraint, an index, a default, a replica identity or an enum's value
/// changed on a captured table ends the chain too (a base without them would restore another
/// schema than the server had at that time), each within one pass.
#[test]
fn definitions_beyond_columns_end_the_window() {
    let db = "pitr_ddl_wide";
    let (pg, data) = shop_project(db);
    let d = data.path();
    sql(
        &pg,
        db,
        "CREATE TYPE public.mood AS ENUM ('calm'); ALTER TABLE public.orders ADD COLUMN mood public.mood",
    );
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    let changes = [
        "ALTER TABLE public.orders ADD CONSTRAINT qty_small CHECK (qty < 1000000)",
        "CREATE INDEX orders_note ON public.orders (note)",
        "ALTER TABLE public.orders ALTER COLUMN note SET DEFAULT 'none'",
        "ALTER TABLE public.items REPLICA IDENTITY FULL",
        "ALTER TYPE public.mood ADD VALUE 'glad'",
    ];
    for (i, ddl) in changes.iter().enumerate() {
        // A pass with nothing changed keeps the chain.
        writes(&pg, db, i as i32 + 1);
        ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
        let s = ok_json(
            run(d, &pg, &["--json", "pitr", "status", "shop"]),
            "pitr status",
        );
        assert_eq!(s["ended"].as_array().unwrap().len(), i, "{ddl}: {s}");
        sql(&pg, db, ddl);
        ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
        let s = ok_json(
            run(d, &pg, &["--json", "pitr", "status", "shop"]),
            "pitr status",
        );
        let ended = s["ended"].as_array().unwrap();
        assert_eq!(ended.len(), i + 1, "{ddl} did not end the chain: {s}");
        assert!(
            ended[i].to_string().contains("definitions changed (DDL)"),
            "{ddl}: {s}"
        );
        assert_eq!(s["enabled"], true, "{s}");
    }
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
}

/// `age -d -o - FILE` on a pseudo-terminal (age reads a passphrase from a terminal only) that
/// types `pass`: the plaintext.
fn age_decrypt_with_passphrase(file: &Path, pass: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plain");
    let script = r#"
import os, pty, select, sys, time
inp, outp, pw = sys.argv[1], sys.argv[2], sys.argv[3].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp("age", ["age", "-d", "-o", outp, inp])
end = time.time() + 60
seen = b""
while time.time() < end and b": " not in seen:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            seen += os.read(fd, 1024)
        except OSError:
            break
os.write(fd, pw + b"\n")
while time.time() < end + 60:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        continue
    try:
        if not os.read(fd, 1024):
            break
    except OSError:
        break
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
"#;
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(file)
        .arg(&out)
        .arg(pass)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "age -d with the passphrase failed on {file:?}"
    );
    std::fs::read(&out).unwrap()
}
