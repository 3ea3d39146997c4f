//! Issue 63, item 8: Ctrl-C (a real SIGINT to the `offsite` process) during a restore to a time
//! (`restore PROJECT --at TIME --to …`), on real clusters. While the replay writes the captured
//! changes (held half way at a table lock the test takes, so the signal lands there): the cancel drops what
//! the base and the replay wrote, exit 130, the target as it was, and the same restore works
//! again. While a physical capture's throwaway server recovers (its pid file found): the server
//! is stopped and its folder removed, exit 130, nothing written to the target.
// Signals, /proc and the testkit's clusters: Unix only (docs/development.md).
#![cfg(unix)]

mod common;

use common::sigint;

use common::pg::{offsite, ok, ok_json, run, server_now, wait_past, Locker};
use common::pitr::{owner_url, project_with, sql, ROLE};
use offsite_testkit::TestCluster;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The exit code and stderr of `child` (it must end within 5 minutes of the Ctrl-C: what
/// is asserted is where it ends, not how fast).
fn ended(mut child: Child) -> (Option<i32>, String) {
    let began = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code(), err);
        }
        if began.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("offsite did not end within 5 minutes of the Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Panics with its stderr when `child` has ended (before the test's event came).
fn still_running(child: &mut Child, waiting_for: &str) {
    if let Some(status) = child.try_wait().unwrap() {
        let mut said = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
        panic!("offsite ended ({status}) while the test waited for {waiting_for}: {said}");
    }
}

/// Relations and schemas of database `db` outside the system's (what a restore creates).
fn objects(pg: &TestCluster, db: &str) -> u32 {
    pg.psql(
        db,
        "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')) \
              + (SELECT count(*) FROM pg_namespace WHERE nspname = 'extra')",
    )
    .parse()
    .unwrap()
}

/// Sessions of `db` waiting for a lock (the replay's, held by [`Locker`]).
fn waiting_for_a_lock(pg: &TestCluster, db: &str) -> u32 {
    pg.psql(
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' \
             AND wait_event_type = 'Lock'"
        ),
    )
    .parse()
    .unwrap()
}

#[test]
fn ctrl_c_while_the_replay_writes_drops_what_it_wrote_and_the_same_restore_works_again() {
    let db = "cancelreplay";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.t (id bigserial PRIMARY KEY, body text);
         CREATE TABLE public.last (id int PRIMARY KEY);
         CREATE SCHEMA extra; CREATE TABLE extra.notes (id int PRIMARY KEY);",
    );
    let d = data.path();
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    // The changes after the base: many rows in transactions of 1,000, one row of `last` in a
    // transaction of its own half way, then more rows (so that the replay, held at `last`,
    // has changes left to replay when it goes on).
    for k in 0..100 {
        if k == 50 {
            sql(&pg, db, "INSERT INTO public.last VALUES (1)");
        }
        sql(
            &pg,
            db,
            &format!(
                "INSERT INTO public.t (body) SELECT md5((g + {}) ::text) \
                 FROM generate_series(1, 1000) g",
                k * 1000
            ),
        );
    }
    let at = server_now(&pg);
    wait_past(&pg, &at);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    let digest = |dbname: &str| {
        pg.psql(
            dbname,
            "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM public.t",
        )
    };
    let want = digest(db);
    let dst = "cancelreplay_dst";
    pg.psql("postgres", &format!("CREATE DATABASE {dst} OWNER {ROLE}"));
    let to = owner_url(&pg, dst);
    let restore = ["restore", "shop", "--at", at.as_str(), "--to", to.as_str()];

    let mut child = offsite(d, &pg, &restore)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The replay has begun (the base holds no row of t) …
    common::pg::wait_for_rows(&pg, &to, "public.t", &mut child);
    // … and is held where it writes `last`, part way: the Ctrl-C comes while it writes.
    let lock = Locker::take(&pg, dst, "public.last", "ACCESS EXCLUSIVE");
    let held = Instant::now();
    while waiting_for_a_lock(&pg, dst) == 0 {
        still_running(&mut child, "the replay to wait for the lock on last");
        assert!(
            held.elapsed() < Duration::from_secs(300),
            "the replay did not reach the locked table last within 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let replayed: i64 = pg
        .psql(dst, "SELECT count(*) FROM public.t")
        .parse()
        .unwrap();
    assert!(
        replayed > 0 && replayed <= 50_000,
        "{replayed} rows of t committed by the replay when it waits for last"
    );
    sigint(&child);
    lock.release();
    let (code, err) = ended(child);
    println!("stderr of the cancelled restore: {err}");
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("cancelling…"), "{err}");
    assert!(
        err.contains("was cancelled while replaying its changes")
            && err.contains("dropped again, so the target is as it was before"),
        "{err}"
    );
    assert_eq!(objects(&pg, dst), 0, "the target is empty again, as before");
    let h = ok_json(
        run(d, &pg, &["--json", "history", "--kind", "restore"]),
        "history",
    );
    assert_eq!(h["jobs"][0]["state"], "cancelled", "{h}");

    // The same restore again: no manual step, the database as it was at TIME.
    ok(run(d, &pg, &restore), "the same restore again");
    assert_eq!(digest(dst), want);
}

/// Let `ROLE` open physical replication connections from 127.0.0.1, and wait until the
/// server has read it (`project test` says physical capture is possible).
fn allow_replication(pg: &TestCluster, d: &Path) {
    let hba = pg.data_dir().join("pg_hba.conf");
    let old = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("host replication \"{ROLE}\" 127.0.0.1/32 trust\n{old}"),
    )
    .unwrap();
    pg.psql("postgres", "SELECT pg_reload_conf()");
    let began = Instant::now();
    loop {
        let test = ok_json(
            run(d, pg, &["--json", "project", "test", "shop"]),
            "project test",
        );
        if test["pitr"]["physical"].is_null() {
            return;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "the server never allowed replication: {test}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The private folder of the physical restore's throwaway cluster, from its owner file in the
/// data folder (`drill-clusters/pt….owner`), once there is one.
fn throwaway_root(d: &Path) -> Option<(PathBuf, PathBuf)> {
    let dir = d.join("drill-clusters");
    for e in std::fs::read_dir(&dir).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("pt") && name.ends_with(".owner") {
            let text = std::fs::read_to_string(e.path()).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            return Some((PathBuf::from(v["root"].as_str()?), e.path()));
        }
    }
    None
}

#[test]
fn ctrl_c_while_the_throwaway_server_recovers_stops_it_and_removes_its_folder() {
    let db = "cancelphys";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.big (id bigint PRIMARY KEY, body text);
         INSERT INTO public.big SELECT g, 'base' FROM generate_series(1, 1000) g;",
    );
    let d = data.path();
    allow_replication(&pg, d);
    ok(
        run(d, &pg, &["pitr", "enable", "shop", "--mode", "physical"]),
        "pitr enable --mode physical",
    );
    // WAL for the throwaway server to recover: rows and their index after the base.
    sql(
        &pg,
        db,
        "INSERT INTO public.big SELECT g, md5(g::text) || md5((g * 7)::text) \
         FROM generate_series(1001, 400000) g",
    );
    let at = server_now(&pg);
    wait_past(&pg, &at);
    pg.psql("postgres", "SELECT pg_switch_wal()");
    ok(
        run(d, &pg, &["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );
    let dst = "cancelphys_dst";
    pg.psql("postgres", &format!("CREATE DATABASE {dst} OWNER {ROLE}"));
    let to = owner_url(&pg, dst);

    let mut child = offsite(d, &pg, &["restore", "shop", "--at", &at, "--to", &to])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The throwaway server has started on the base (its pid file is written).
    let began = Instant::now();
    let (root, owner, pid, status) = loop {
        still_running(&mut child, "the throwaway server");
        assert!(
            began.elapsed() < Duration::from_secs(300),
            "no throwaway server started"
        );
        if let Some((root, owner)) = throwaway_root(d) {
            let pid_file = root.join("data").join("postmaster.pid");
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                let lines: Vec<&str> = text.lines().collect();
                if lines.len() >= 8 {
                    let pid: u32 = lines[0].trim().parse().unwrap();
                    break (root, owner, pid, lines[7].trim().to_string());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    sigint(&child);
    println!("the Ctrl-C came when the throwaway server (pid {pid}) said {status:?}");
    let (code, err) = ended(child);
    println!("stderr of the cancelled restore: {err}");
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains("cancelling…") && err.contains("cancelled"),
        "{err}"
    );
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the throwaway server (pid {pid}) is still running"
    );
    assert!(
        !root.exists(),
        "the throwaway folder {} is left",
        root.display()
    );
    assert!(
        !owner.exists(),
        "its owner file {} is left",
        owner.display()
    );
    assert_eq!(objects(&pg, dst), 0, "nothing was written to the target");
    let h = ok_json(
        run(d, &pg, &["--json", "history", "--kind", "restore"]),
        "history",
    );
    let running = h["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["state"] == "running")
        .count();
    assert_eq!(running, 0, "{h}");
}
