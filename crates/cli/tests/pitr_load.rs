//! Issue 46's acceptance test under a real write load, through the `offsite` binary, as a role
//! with REPLICATION but not SUPERUSER (as Supabase's `postgres`): `pgbench` writes all along
//! while `offsite pitr run` captures. At several instants *during* the load the test holds the
//! writers for a moment (`LOCK … IN SHARE MODE` waits for the running writes to commit and holds
//! the next ones), reads the server's time and every table's digest under that lock (test-only
//! reads), and lets them go: `restore --at` each instant must give exactly those digests — the
//! transaction boundary, not a second off. The capture is killed (SIGKILL) mid-load and started
//! again (no gap: a digest; no duplicate: a primary key or a digest of the keyless history). A
//! column added under load splits the window: instants on both sides restore, a time in the gap
//! is refused naming the nearest restorable times before and after it.

mod common;

use common::pg::{offsite, ok_json, refused, run};
use common::pitr::{project_with, ROLE};
use offsite_testkit::TestCluster;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (SIGKILL) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Killed {
    fn running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

const TABLES: &str =
    "public.pgbench_accounts, public.pgbench_branches, public.pgbench_tellers, public.pgbench_history";

fn pgbench(pg: &TestCluster, db: &str, args: &[&str]) -> Command {
    let mut cmd = pg.command("pgbench");
    cmd.args(["-h", "127.0.0.1", "-p", &pg.port().to_string(), "-U", ROLE])
        .args(args)
        .arg(db);
    cmd
}

/// Every table's rows, as one text (the keyless history ordered by its whole row).
const DIGESTS: &str = "(SELECT md5(string_agg(a::text, '|' ORDER BY aid)) FROM public.pgbench_accounts a) \
     || ' ' || (SELECT md5(string_agg(b::text, '|' ORDER BY bid)) FROM public.pgbench_branches b) \
     || ' ' || (SELECT md5(string_agg(t::text, '|' ORDER BY tid)) FROM public.pgbench_tellers t) \
     || ' ' || (SELECT coalesce(md5(string_agg(h::text, '|' ORDER BY h::text)), '-') || ':' || count(*) \
                FROM public.pgbench_history h)";

/// An instant during the load: the server's time and the tables' digests, read while the
/// writers are held (every write committed before the time, none after it until the lock goes).
fn instant(pg: &TestCluster, db: &str) -> (String, String) {
    let out = pg.psql(
        db,
        &format!(
            "BEGIN; LOCK TABLE {TABLES} IN SHARE MODE;
             SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
                    || '|' || {DIGESTS};
             COMMIT;"
        ),
    );
    let (at, digests) = out.trim().split_once('|').expect("time|digests");
    (at.to_string(), digests.to_string())
}

fn digests(pg: &TestCluster, db: &str) -> String {
    pg.psql(db, &format!("SELECT {DIGESTS}")).trim().to_string()
}

fn history_rows(pg: &TestCluster, db: &str) -> i64 {
    pg.psql(db, "SELECT count(*) FROM public.pgbench_history")
        .trim()
        .parse()
        .unwrap()
}

fn capture(d: &Path, pg: &TestCluster) -> Killed {
    Killed(
        offsite(d, pg, &["pitr", "run", "shop", "--every", "1"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn status(d: &Path, pg: &TestCluster) -> serde_json::Value {
    ok_json(
        run(d, pg, &["--json", "pitr", "status", "shop"]),
        "pitr status",
    )
}

/// Wait until some window of the status ends at or after `at` (the capture has closed past it).
fn wait_restorable(d: &Path, pg: &TestCluster, at: &str, chains: usize) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = status(d, pg);
        let windows = s["windows"].as_array().cloned().unwrap_or_default();
        if windows.len() >= chains
            && windows
                .last()
                .and_then(|w| w["to_text"].as_str())
                .is_some_and(|to| to >= at)
        {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{at} did not become restorable in 120 s: {s}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn restore_at_instants_taken_under_pgbench_load() {
    let db = "pitr_load";
    let (pg, data) = project_with(db, "SELECT 1");
    let d = data.path();
    let init = pgbench(&pg, db, &["-i", "-s", "1", "-q"]).output().unwrap();
    assert!(
        init.status.success(),
        "pgbench -i: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    // pgbench_history has no key: captured with REPLICA IDENTITY FULL (it is only inserted to).
    let enabled = ok_json(
        run(
            d,
            &pg,
            &[
                "--json",
                "pitr",
                "enable",
                "shop",
                "--replica-identity-full",
                "all-uncovered",
            ],
        ),
        "pitr enable",
    );
    let covered = enabled["coverage"]["covered"].to_string();
    for t in ["accounts", "branches", "tellers", "history"] {
        assert!(
            covered.contains(&format!("public.pgbench_{t}")),
            "{enabled}"
        );
    }

    // The load: 4 clients at ~150 transactions/s (bounded so that four restores replay in
    // reasonable time on 2 cores), for as long as the test needs it.
    let mut load = Killed(
        pgbench(
            &pg,
            db,
            &["-c", "4", "-j", "2", "-R", "150", "-T", "600", "-n"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let mut cap = capture(d, &pg);
    let mut instants = Vec::new();
    let mut rows = history_rows(&pg, db);
    let mut take = |pg: &TestCluster, load: &mut Killed, instants: &mut Vec<(String, String)>| {
        std::thread::sleep(Duration::from_millis(2500));
        let i = instant(pg, db);
        assert!(load.running(), "pgbench stopped before an instant");
        let now = history_rows(pg, db);
        assert!(now > rows, "no writes before the instant at {}", i.0);
        rows = now;
        instants.push(i);
    };
    take(&pg, &mut load, &mut instants);
    take(&pg, &mut load, &mut instants);
    // Killed mid-load, started again: it resumes from its slot.
    drop(cap);
    take(&pg, &mut load, &mut instants);
    cap = capture(d, &pg);
    take(&pg, &mut load, &mut instants);
    let before_ddl = instants.last().unwrap().0.clone();
    wait_restorable(d, &pg, &before_ddl, 1);

    // A schema change under load: the window ends before it, a new base starts after it.
    pg.psql(
        db,
        "ALTER TABLE public.pgbench_branches ADD COLUMN region text",
    );
    let in_gap = instant(&pg, db).0;
    let s = {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let s = status(d, &pg);
            let w = s["windows"].as_array().cloned().unwrap_or_default();
            if w.len() >= 2
                && w[1]["from_text"]
                    .as_str()
                    .is_some_and(|f| f > in_gap.as_str())
            {
                break s;
            }
            assert!(Instant::now() < deadline, "no new base after the DDL: {s}");
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    assert!(
        s["windows"][0]["broken_by"]
            .as_str()
            .is_some_and(|b| b.contains("definitions changed (DDL")),
        "{s}"
    );
    let gap_before = s["windows"][0]["to_text"].as_str().unwrap().to_string();
    let gap_after = s["windows"][1]["from_text"].as_str().unwrap().to_string();
    assert!(
        before_ddl <= gap_before && gap_before < in_gap && in_gap < gap_after,
        "{before_ddl} {gap_before} {in_gap} {gap_after}"
    );
    take(&pg, &mut load, &mut instants);
    take(&pg, &mut load, &mut instants);
    let last = instants.last().unwrap().0.clone();
    wait_restorable(d, &pg, &last, 2);
    assert!(load.running(), "pgbench stopped before the last instant");
    drop(load);
    drop(cap);

    // Inside the gap: refused, naming the nearest restorable times on both sides.
    refused(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &in_gap,
                "--to",
                &pg.url("postgres"),
                "--dry-run",
            ],
        ),
        &format!("nearest restorable times: before {gap_before}, after {gap_after}"),
    );

    // Each instant, restored into an empty database, has exactly that instant's rows.
    for (i, (at, want)) in instants.iter().enumerate() {
        let target = format!("pitr_load_at_{i}");
        pg.create_db(&target);
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
        pg.drop_db(&target);
    }
}
