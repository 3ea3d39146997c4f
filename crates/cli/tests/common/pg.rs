//! The `offsite` binary beside a throwaway cluster, as the browse, recover and tenant tests run
//! it: a data directory of the test's own, libpq's variables cleared, the cluster superuser's
//! password in `PGPASSWORD`, secrets from the environment; and its peak memory under GNU time.

use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `offsite --data-dir DATA args…`, not yet run.
pub fn offsite(data: &Path, pg: &TestCluster, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
    c.arg("--data-dir").arg(data).args(args);
    for var in super::CLEARED {
        c.env_remove(var);
    }
    c.env("OFFSITE_SECRET_STORE", "env")
        .env("PGPASSWORD", pg.superuser_password())
        .stdin(Stdio::null());
    c
}

/// [`offsite`], run.
pub fn run(data: &Path, pg: &TestCluster, args: &[&str]) -> Output {
    offsite(data, pg, args).output().unwrap()
}

/// `offsite args…` with extra environment variables (a secret such as a webhook's URL).
pub fn run_env(data: &Path, pg: &TestCluster, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = offsite(data, pg, args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Asserts it succeeded (`what` names it).
pub fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Its stdout as one JSON document.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// [`ok`], then [`json`].
pub fn ok_json(out: Output, what: &str) -> Value {
    json(&ok(out, what))
}

/// Asserts it failed with an answer that names `needle`.
pub fn refused(out: Output, needle: &str) {
    assert!(!out.status.success(), "expected a failure");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(needle), "{needle:?} not in: {text}");
}

/// Runs `offsite args…` under GNU time and asserts it succeeded: (its output, its peak RSS in
/// KiB).
pub fn measured(data: &Path, pg: &TestCluster, args: &[&str]) -> (Output, u64) {
    let rss = tempfile::NamedTempFile::new().unwrap();
    let inner = offsite(data, pg, args);
    let mut c = Command::new("/usr/bin/time");
    c.arg("-f").arg("%M").arg("-o").arg(rss.path());
    c.arg(inner.get_program()).args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let out = c
        .stdin(Stdio::null())
        .output()
        .expect("this test needs GNU time (/usr/bin/time, Debian package `time`)");
    let out = ok(out, &args.join(" "));
    let kib = std::fs::read_to_string(rss.path())
        .unwrap()
        .trim()
        .lines()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    (out, kib)
}

/// The server's clock now, RFC 3339 (the clock commit times are taken on): what a test of a
/// restore to a time notes at an instant, with a little room on either side.
pub fn server_now(pg: &TestCluster) -> String {
    std::thread::sleep(std::time::Duration::from_millis(30));
    let t = pg
        .psql(
            "postgres",
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        )
        .trim()
        .to_string();
    std::thread::sleep(std::time::Duration::from_millis(30));
    t
}

/// Waits until the server's clock is more than a second past `at` (an instant [`server_now`]
/// gave): a capture pass's window ends a second before the pass (commits not yet flushed), so a
/// pass started after this covers `at`. Reads the server's clock, not the test's.
pub fn wait_past(pg: &TestCluster, at: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let past = pg.psql(
            "postgres",
            &format!(
                "SELECT clock_timestamp() > '{}'::timestamptz + interval '1.1 seconds'",
                at.replace('\'', "''")
            ),
        );
        if past.trim() == "t" {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server's clock did not pass {at} + 1.1 s in 60 s (it answered {past:?})"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Wait until a session in database `db` runs a `COPY` (the work is under way), at most 120 s.
pub fn wait_for_copy(pg: &TestCluster, db: &str, child: &mut std::process::Child) {
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' \
         AND state = 'active' AND query ILIKE 'COPY %'"
    );
    let began = std::time::Instant::now();
    while began.elapsed() < std::time::Duration::from_secs(120) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("offsite ended ({status}) before any COPY ran in {db}");
        }
        if pg.psql("postgres", &sql) != "0" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("no COPY ran in {db} within 120 s");
}

/// Wait until `seen()` answers (an event of the work `child` does: a row, a role, an object),
/// at most `limit`; returns the answer. Panics with offsite's stderr when `child` ends first
/// (the work too quick to catch part way, or a failure). The one poll of the CLI tests: `seen`
/// is asked again every few milliseconds, and only the deadline is time.
pub fn wait_while_running<T>(
    child: &mut std::process::Child,
    what: &str,
    limit: std::time::Duration,
    mut seen: impl FnMut() -> Option<T>,
) -> T {
    let began = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut said = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut err, &mut said);
            }
            panic!("offsite ended ({status}) before {what}: {said}");
        }
        if let Some(v) = seen() {
            return v;
        }
        assert!(began.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Wait until `table` in the database at `url` has rows (the work has written some: a replay's
/// first commits), at most 300 s; returns how many.
pub fn wait_for_rows(
    pg: &TestCluster,
    url: &str,
    table: &str,
    child: &mut std::process::Child,
) -> i64 {
    let what = format!("{table} had rows");
    wait_while_running(child, &what, std::time::Duration::from_secs(300), || {
        pg.psql_url(url, &format!("SELECT count(*) FROM {table}"))
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|n| *n > 0)
    })
}

/// A psql session of the superuser on `db` that holds `LOCK TABLE table IN mode MODE` in an
/// open transaction until [`Locker::release`] (or until it is dropped: psql's stdin closes).
pub struct Locker {
    child: std::process::Child,
}

impl Locker {
    pub fn take(pg: &TestCluster, db: &str, table: &str, mode: &str) -> Locker {
        use std::io::{BufRead, Write};
        let mut child = Command::new(pg.bin("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(pg.url_with_password(db))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(
            stdin,
            "BEGIN; LOCK TABLE {table} IN {mode} MODE; SELECT 'locked';"
        )
        .unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked", "the lock on {table}");
        Locker { child }
    }

    pub fn release(mut self) {
        use std::io::Write;
        let mut stdin = self.child.stdin.take().unwrap();
        writeln!(stdin, "ROLLBACK;").unwrap();
        drop(stdin);
        assert!(self.child.wait().unwrap().success());
    }
}
