//! The capture's slot and the server's disk, through the `offsite` binary (issue 46), as a role
//! with REPLICATION but not SUPERUSER: removing a project whose capture is on drops its slot
//! and publication (and is refused, saying the slot would fill the disk, when they cannot be
//! dropped); a slot past its limit under a steady write load is dropped before the server's
//! retained WAL exceeds the limit by more than one WAL segment.
// Unix only: a throwaway cluster, a loop-mounted disk (docs/development.md lists what runs on Windows).
#![cfg(unix)]

mod common;

use common::pg::{offsite, ok, ok_json, refused, run};
use common::pitr::{
    assert_ended_for_the_disk, assert_held_within_one_segment, project_with, segment_files, sql,
    ROLE,
};
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
    // The load starts once the capture runs (a first commit read into a segment): the WAL
    // written while the process is still starting is no capture's to watch, and on a loaded
    // machine's slow start it alone could pass the limit.
    sql(&pg, db, "INSERT INTO public.big (pad) VALUES ('first')");
    let waiting = Instant::now();
    while segment_files(d).is_empty() {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "the capture wrote no segment in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
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
    assert_held_within_one_segment(peak, limit);
    assert_ended_for_the_disk(d, &pg);
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

/// A cluster whose `pg_wal` is on a small tmpfs of its own (a server about to run out of disk);
/// stopped, then the tmpfs unmounted, when dropped.
struct WalOnSmallDisk {
    pg: TestCluster,
    mount: std::path::PathBuf,
}

impl WalOnSmallDisk {
    fn start(size: &str) -> WalOnSmallDisk {
        let pg = TestCluster::start();
        // Checkpoints often: the WAL no slot holds is recycled, the slot's is what fills the disk.
        pg.psql("postgres", "ALTER SYSTEM SET max_wal_size = '48MB'");
        pg.psql("postgres", "ALTER SYSTEM SET min_wal_size = '32MB'");
        pg.stop();
        let data = pg.data_dir().to_path_buf();
        let mount = data.parent().unwrap().join("walfs");
        std::fs::create_dir(&mount).unwrap();
        let sh = |prog: &str, args: &[&std::ffi::OsStr]| {
            let st = std::process::Command::new(prog)
                .args(args)
                .status()
                .unwrap();
            assert!(
                st.success(),
                "{prog} {args:?} (mounting a tmpfs needs root: CI runs as root)"
            );
        };
        sh(
            "mount",
            &[
                "-t".as_ref(),
                "tmpfs".as_ref(),
                "-o".as_ref(),
                format!("size={size}").as_ref(),
                "tmpfs".as_ref(),
                mount.as_os_str(),
            ],
        );
        let disk = WalOnSmallDisk { pg, mount };
        let wal = data.join("pg_wal");
        sh(
            "chown",
            &[
                "--reference".as_ref(),
                data.as_os_str(),
                disk.mount.as_os_str(),
            ],
        );
        sh("chmod", &["700".as_ref(), disk.mount.as_os_str()]);
        sh(
            "cp",
            &[
                "-a".as_ref(),
                wal.join(".").as_os_str(),
                disk.mount.as_os_str(),
            ],
        );
        std::fs::remove_dir_all(&wal).unwrap();
        std::os::unix::fs::symlink(&disk.mount, &wal).unwrap();
        disk.pg.restart();
        disk
    }
}

impl Drop for WalOnSmallDisk {
    fn drop(&mut self) {
        self.pg.stop();
        let _ = std::process::Command::new("umount")
            .arg(&self.mount)
            .status();
    }
}

/// A server whose WAL disk is small: the limit set (1 GiB) is lowered to a quarter of its free
/// space (never below 64 MiB), and the slot is dropped at that lower limit while the capture
/// waits between two passes (30 s apart) — before it fills the disk. Without the lowering the
/// slot would hold WAL until the 256 MiB disk is full and the server stops.
#[test]
fn a_small_disk_lowers_the_limit_between_passes_too() {
    let disk = WalOnSmallDisk::start("256m");
    let pg = &disk.pg;
    let db = "pitr_small_disk";
    pg.create_db(db);
    pg.psql(
        db,
        "CREATE TABLE public.big (id bigserial PRIMARY KEY, pad text)",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    // The superuser may read where the data folder is: the free space is known.
    ok(
        run(d, pg, &["project", "add", "shop", "--db", &pg.url(db)]),
        "project add",
    );
    ok(
        run(d, pg, &["pitr", "enable", "shop", "--max-retained", "1GiB"]),
        "pitr enable",
    );
    let s = ok_json(
        run(d, pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    let free = s["free_bytes"].as_u64().unwrap_or_else(|| panic!("{s}"));
    assert!(free < 256 << 20, "the WAL's disk: {free} bytes free");
    let limit = s["effective_max_retained"]
        .as_i64()
        .unwrap_or_else(|| panic!("{s}"));
    assert_eq!(limit as u64, (free / 4).max(64 << 20), "{s}");
    let mut cap = Capture(
        offsite(d, pg, &["pitr", "run", "shop", "--every", "30"])
            .spawn()
            .unwrap(),
    );
    // The first pass (at once) ends before the load starts: the drop comes between passes.
    std::thread::sleep(Duration::from_secs(3));
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (peak, dropped) = std::thread::scope(|s| {
        let writers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    while !stop.load(Ordering::SeqCst) {
                        // Errors (the disk full, were the slot kept) end the writer.
                        if pg
                            .try_psql(
                                db,
                                "INSERT INTO public.big (pad) SELECT repeat(md5(g::text), 12) \
                                 FROM generate_series(1, 2000) g",
                            )
                            .is_err()
                        {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
            })
            .collect();
        let (mut peak, mut dropped) = (0i64, false);
        while started.elapsed() < Duration::from_secs(25) {
            let Ok(held) = pg.try_psql(
                "postgres",
                "SELECT coalesce(max((pg_current_wal_lsn() - restart_lsn)::bigint), -1) \
                 FROM pg_replication_slots",
            ) else {
                break;
            };
            let held: i64 = held.trim().parse().unwrap();
            if held < 0 {
                dropped = true;
                break;
            }
            peak = peak.max(held);
            std::thread::sleep(Duration::from_millis(200));
        }
        stop.store(true, Ordering::SeqCst);
        for w in writers {
            w.join().unwrap();
        }
        (peak, dropped)
    });
    assert!(
        dropped,
        "the slot was not dropped in 25 s (peak {peak} bytes, limit {limit}; server running: {})",
        pg.is_running()
    );
    let exited = cap.0.wait().unwrap();
    assert!(exited.success(), "the capture ended with {exited:?}");
    assert_held_within_one_segment(peak, limit);
    assert_ended_for_the_disk(d, pg);
}

/// A pass reads what was committed before it began, once: under a writer that never pauses it
/// ends with one segment (a pass that read until the slot was empty never ended while commits
/// kept coming, decoding the same WAL over and over on the server), and the next pass reads
/// what came after, with nothing lost in between.
#[test]
fn a_pass_reads_once_under_writes_that_never_pause() {
    let db = "pitr_once";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.ticks (id bigserial PRIMARY KEY, at timestamptz DEFAULT now());",
    );
    let d = data.path();
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    let stop = AtomicBool::new(false);
    let passes = std::thread::scope(|s| {
        // One psql session committing a row every 5 ms until stopped.
        let writer = s.spawn(|| {
            let mut psql = pg
                .command("psql")
                .args(["-X", "-q", "-d", db, "-f", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let mut stdin = psql.stdin.take().unwrap();
            // At most 90 s: a pass that never ends while commits come would wait forever.
            let until = Instant::now() + Duration::from_secs(90);
            while !stop.load(Ordering::SeqCst) && Instant::now() < until {
                std::io::Write::write_all(
                    &mut stdin,
                    b"INSERT INTO public.ticks DEFAULT VALUES;\nSELECT pg_sleep(0.005);\n",
                )
                .unwrap();
            }
            drop(stdin);
            psql.wait().unwrap();
        });
        std::thread::sleep(Duration::from_secs(2));
        let mut passes = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            let pass = ok_json(
                run(d, &pg, &["--json", "pitr", "run", "shop", "--once"]),
                "pitr run --once",
            );
            passes.push((pass, started.elapsed()));
            std::thread::sleep(Duration::from_millis(500));
        }
        stop.store(true, Ordering::SeqCst);
        writer.join().unwrap();
        passes
    });
    for (pass, took) in &passes {
        assert_eq!(pass["segments"], 1, "one read, one segment: {pass}");
        assert!(*took < Duration::from_secs(60), "a pass took {took:?}");
    }
    // Nothing lost between the passes: the writer has stopped (T), a last pass more than a
    // second later reads the rest, and a restore to T holds every row.
    let rows: i64 = count(&pg, db, "SELECT count(*) FROM public.ticks");
    let at = common::pg::server_now(&pg);
    std::thread::sleep(Duration::from_millis(1500));
    ok(
        run(d, &pg, &["pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );
    let committed: u64 = passes
        .iter()
        .map(|(p, _)| p["commits"].as_u64().unwrap())
        .sum();
    assert!(
        committed > 0 && (committed as i64) < rows,
        "{committed} of {rows}"
    );
    let status = ok_json(
        run(d, &pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    );
    let windows = status["windows"]
        .as_array()
        .unwrap_or_else(|| panic!("{status}"));
    assert_eq!(windows.len(), 1, "one window, no gap: {status}");
    assert!(windows[0]["broken_by"].is_null(), "{status}");
    pg.create_db("pitr_once_restored");
    let to = pg.url("pitr_once_restored");
    ok(
        run(d, &pg, &["restore", "shop", "--at", &at, "--to", &to]),
        "restore --at now",
    );
    assert_eq!(
        count(
            &pg,
            "pitr_once_restored",
            "SELECT count(*) FROM public.ticks"
        ),
        rows,
        "every committed row replayed"
    );
}
