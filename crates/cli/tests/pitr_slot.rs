//! The capture's slot and the server's disk, through the `offsite` binary (issue 46), as a role
//! with REPLICATION but not SUPERUSER: removing a project whose capture is on drops its slot
//! and publication (and is refused, saying the slot would fill the disk, when they cannot be
//! dropped); a slot past its limit under a steady write load is dropped before the server's
//! retained WAL exceeds the limit by more than one WAL segment.

mod common;

use common::pg::{offsite, ok, ok_json, refused, run};
use common::pitr::{project_with, sql, ROLE};
use offsite_testkit::TestCluster;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn count(pg: &TestCluster, db: &str, q: &str) -> i64 {
    pg.psql(db, q).trim().parse().unwrap()
}

fn slots(pg: &TestCluster) -> i64 {
    count(pg, "postgres", "SELECT count(*) FROM pg_replication_slots")
}

#[test]
fn removing_a_capturing_project_drops_its_slot() {
    let db = "pitr_remove";
    let (pg, data) = project_with(db, "CREATE TABLE public.orders (id serial PRIMARY KEY);");
    let d = data.path();
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    assert_eq!(slots(&pg), 1);
    assert_eq!(count(&pg, db, "SELECT count(*) FROM pg_publication"), 1);

    // The server does not let the role in: refused, the slot named and the disk at risk said.
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} NOLOGIN"));
    let out = run(d, &pg, &["project", "remove", "shop"]);
    refused(out.clone(), "will fill the server's disk");
    refused(out, "--leave-slot");
    assert_eq!(slots(&pg), 1);
    let list = ok_json(run(d, &pg, &["--json", "project", "list"]), "project list");
    assert!(list.to_string().contains("\"shop\""), "{list}");

    // Reachable again: removed, and nothing left on the server.
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} LOGIN"));
    ok(
        run(d, &pg, &["project", "remove", "shop"]),
        "project remove",
    );
    assert_eq!(slots(&pg), 0);
    assert_eq!(count(&pg, db, "SELECT count(*) FROM pg_publication"), 0);

    // --leave-slot removes it anyway; the slot stays (and is a stray the next status names).
    ok(
        run(
            d,
            &pg,
            &[
                "project",
                "add",
                "shop",
                "--db",
                &common::pitr::owner_url(&pg, db),
            ],
        ),
        "project add",
    );
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} NOLOGIN"));
    ok(
        run(d, &pg, &["project", "remove", "shop", "--leave-slot"]),
        "project remove --leave-slot",
    );
    assert_eq!(slots(&pg), 1);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} LOGIN"));
}

/// `offsite pitr run` in the background; killed when dropped.
struct Capture(std::process::Child);

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const MIB: i64 = 1 << 20;
/// One WAL segment (the cluster's default size).
const WAL_SEGMENT: i64 = 16 * MIB;

#[test]
fn a_slot_past_its_limit_is_dropped_within_one_wal_segment_of_it() {
    let db = "pitr_limit";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.big (id bigserial PRIMARY KEY, pad text);",
    );
    let d = data.path();
    let limit = 32 * MIB;
    ok(
        run(
            d,
            &pg,
            &["pitr", "enable", "shop", "--max-retained", "32MiB"],
        ),
        "pitr enable",
    );
    let mut cap = Capture(
        offsite(d, &pg, &["pitr", "run", "shop", "--every", "1"])
            .spawn()
            .unwrap(),
    );
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (peak, samples, dropped) = std::thread::scope(|s| {
        // A steady write load: two writers, each about 1 MiB of WAL every 100 ms or so (more
        // than the capture reads in its passes: the slot falls behind).
        let writers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    while !stop.load(Ordering::SeqCst) {
                        sql(
                            &pg,
                            db,
                            "INSERT INTO public.big (pad) SELECT repeat(md5(g::text), 12) \
                             FROM generate_series(1, 2000) g",
                        );
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
            })
            .collect();
        // The server's retained WAL, sampled every 200 ms (one psql session, `\watch`) until
        // the slot is gone (-1).
        let mut watch = pg
            .command("psql")
            .args(["-X", "-At", "-d", "postgres", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            &mut watch.stdin.take().unwrap(),
            b"SELECT coalesce(max((pg_current_wal_lsn() - restart_lsn)::bigint), -1) \
              FROM pg_replication_slots\n\\watch 0.2\n",
        )
        .unwrap();
        let lines = std::io::BufReader::new(watch.stdout.take().unwrap());
        let (mut peak, mut samples, mut dropped) = (0i64, 0u32, false);
        for line in std::io::BufRead::lines(lines) {
            let Ok(held) = line.unwrap().trim().parse::<i64>() else {
                continue;
            };
            if held < 0 {
                dropped = true;
                break;
            }
            peak = peak.max(held);
            samples += 1;
            if started.elapsed() > Duration::from_secs(50) {
                break;
            }
        }
        let _ = watch.kill();
        let _ = watch.wait();
        stop.store(true, Ordering::SeqCst);
        for w in writers {
            w.join().unwrap();
        }
        (peak, samples, dropped)
    });
    assert!(
        dropped,
        "the slot was not dropped in 50 s (peak {peak} bytes)"
    );
    let exited = cap.0.wait().unwrap();
    eprintln!(
        "retained WAL: peak {peak} bytes over {samples} samples; dropped after {:?}",
        started.elapsed()
    );
    assert!(
        dropped,
        "the slot was not dropped in 50 s (peak {peak} bytes)"
    );
    assert!(exited.success(), "the capture ended with {exited:?}");
    assert!(samples >= 3, "only {samples} samples");
    assert!(
        peak > limit / 2,
        "the load held only {peak} bytes at most: the limit was never approached"
    );
    assert!(
        peak <= limit + WAL_SEGMENT,
        "the server retained {peak} bytes, over the limit {limit} by more than one WAL segment"
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

/// Where the server's free space is known (a server on this machine whose data folder the role
/// may read: here a superuser's project), a limit larger than a quarter of it is lowered to that
/// quarter, and `status` says so; where it is not (a role that may not read `data_directory`),
/// the limit set holds.
#[test]
fn a_limit_beyond_the_servers_free_space_is_lowered() {
    let pg = TestCluster::start();
    let db = "pitr_free";
    pg.create_db(db);
    pg.psql(db, "CREATE TABLE public.orders (id serial PRIMARY KEY)");
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(
        run(d, &pg, &["project", "add", "shop", "--db", &pg.url(db)]),
        "project add",
    );
    let huge: u64 = 1_000_000 << 30;
    ok(
        run(
            d,
            &pg,
            &["pitr", "enable", "shop", "--max-retained", "1000000GiB"],
        ),
        "pitr enable",
    );
    let s = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    assert_eq!(s["max_retained"], huge, "{s}");
    let free = s["free_bytes"].as_u64().unwrap_or_else(|| panic!("{s}"));
    // The test's own look at the disk of the data folder.
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(pg.data_dir())
        .output()
        .unwrap();
    let df: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(free.abs_diff(df) < 1 << 30, "free {free}, df {df}");
    assert_eq!(s["effective_max_retained"], (free / 4).max(64 << 20), "{s}");
    let text =
        String::from_utf8(ok(run(d, &pg, &["pitr", "status", "shop"]), "pitr status").stdout)
            .unwrap();
    assert!(
        text.contains("limit lowered to") && text.contains("a quarter of it"),
        "{text}"
    );
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");

    // A role that may not read where the data folder is: not known, the set limit holds.
    let (pg2, data2) = project_with(
        "pitr_free_role",
        "CREATE TABLE public.orders (id serial PRIMARY KEY);",
    );
    let d2 = data2.path();
    ok(
        run(
            d2,
            &pg2,
            &["pitr", "enable", "shop", "--max-retained", "1000000GiB"],
        ),
        "pitr enable",
    );
    let s = ok_json(
        run(d2, &pg2, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    assert!(s["free_bytes"].is_null(), "{s}");
    assert_eq!(s["effective_max_retained"], huge, "{s}");
}
