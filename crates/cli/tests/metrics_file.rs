//! `offsite run-due --metrics-file FILE`: the node_exporter textfile after each pass, read back
//! with a Prometheus text-format parser and checked against what the catalog says
//! (`offsite backups`, `offsite status`), for a project that backs up and one that fails.
//! A real PostgreSQL cluster; headless (`OFFSITE_SECRET_STORE=env`, `OFFSITE_TEST_NOW`).

mod common;
#[path = "prom_text/mod.rs"]
mod prom_text;

use common::Cli;
use offsite_core::secrets::{env_var_for_key, project_password_key};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

/// Headless (secrets from the environment, a private HOME), in UTC.
fn metrics_cli() -> Cli {
    Cli::new().private_home().env("TZ", "UTC")
}

/// `--json ARGS` at `now`: (exit code, stdout, stderr).
fn run(cli: &Cli, now: &str, args: &[&str]) -> (i32, String, String) {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = cli.run_at(now, &full);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The one JSON document `--json ARGS` at `now` prints (whatever its exit code).
fn json(cli: &Cli, now: &str, args: &[&str]) -> Value {
    let (_, stdout, stderr) = run(cli, now, args);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout} / {stderr}"))
}

fn unix(t: &str) -> f64 {
    let t = offsite_core::catalog::parse_timestamp(t).unwrap();
    t.unix_timestamp_nanos() as f64 / 1e9
}

fn read_metrics(path: &Path) -> prom_text::Exposition {
    let text = std::fs::read_to_string(path).expect("the metrics file is written");
    prom_text::parse(&text).unwrap_or_else(|e| panic!("not Prometheus text: {e}\n{text}"))
}

const T0: &str = "2026-11-20T10:00:00Z";
const T1: &str = "2026-11-20T12:00:10Z";
const T2: &str = "2026-11-21T12:00:10Z";

#[test]
fn run_due_writes_the_textfile_with_what_the_catalog_says() {
    let pg = TestCluster::shared();
    let mut cli = metrics_cli();
    let db = pg.unique_db("metrics");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);",
    );
    // "good" backs up; "bad-one" points at a database that
    // does not exist, so each of its backups fails.
    let bad = "bad-one";
    for (name, url) in [
        ("good", pg.url(&db)),
        (bad, pg.url("no_such_database_for_metrics")),
    ] {
        cli.env.push((
            env_var_for_key(&project_password_key(name)),
            pg.superuser_password().to_string(),
        ));
        let (code, out, err) = run(
            &cli,
            T0,
            &["project", "add", name, "--db", &url, "--no-test"],
        );
        assert_eq!(code, 0, "{out} {err}");
        let (code, out, err) = run(
            &cli,
            T0,
            &["schedule", "set", name, "--every", "6h", "--tz", "UTC"],
        );
        assert_eq!(code, 0, "{out} {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("offsite.prom");
    let file_arg = file.to_str().unwrap();

    let (code, out, err) = run(&cli, T1, &["run-due", "--metrics-file", file_arg]);
    assert_eq!(code, 1, "one project failed: {out} {err}");
    let m = read_metrics(&file);
    assert_eq!(m.types["offsite_backup_failures_total"], "counter");
    assert_eq!(m.types["offsite_backup_overdue"], "gauge");
    assert_eq!(m.value("offsite_projects"), Some(2.0));
    assert_eq!(
        m.value("offsite_metrics_generated_timestamp_seconds"),
        Some(unix(T1))
    );

    let backups = json(&cli, T1, &["backups", "good"]);
    let newest = &backups["backups"][0];
    let get = |name: &str, project: &str| m.project_value(name, project);
    assert_eq!(
        get("offsite_backup_last_success_timestamp_seconds", "good"),
        Some(unix(T1)),
        "the newest successful backup finished at T1 (the clock is fixed)"
    );
    assert_eq!(
        get("offsite_backup_last_size_bytes", "good"),
        newest["size"].as_f64(),
        "{backups}"
    );
    assert_eq!(
        get("offsite_backup_last_duration_seconds", "good"),
        Some(0.0)
    );
    assert_eq!(get("offsite_backup_failures_total", "good"), Some(0.0));
    assert_eq!(get("offsite_backup_scheduled", "good"), Some(1.0));
    assert_eq!(get("offsite_copies_pending", "good"), Some(0.0));
    assert_eq!(
        get("offsite_drill_last_passed", "good"),
        None,
        "no drill yet"
    );
    assert_eq!(get("offsite_backup_failures_total", bad), Some(1.0));
    assert_eq!(get("offsite_backup_consecutive_failures", bad), Some(1.0));
    assert_eq!(
        get("offsite_backup_last_success_timestamp_seconds", bad),
        None,
        "never succeeded: no sample"
    );
    let status = json(&cli, T1, &["status"]);
    for p in status["projects"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let overdue = if p["overdue"].as_bool().unwrap() {
            1.0
        } else {
            0.0
        };
        assert_eq!(
            get("offsite_backup_overdue", name),
            Some(overdue),
            "{status}"
        );
    }
    assert_eq!(
        get("offsite_backup_overdue", bad),
        Some(0.0),
        "not overdue yet at T1"
    );

    // A day later: "bad" failed again (its retry) and is overdue now; the file is replaced.
    let (code, out, err) = run(&cli, T2, &["run-due", "--metrics-file", file_arg]);
    assert_eq!(code, 1, "{out} {err}");
    let m = read_metrics(&file);
    let get = |name: &str, project: &str| m.project_value(name, project);
    let status = json(&cli, T2, &["status"]);
    let bad_status = status["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == bad)
        .unwrap();
    assert_eq!(bad_status["overdue"], true, "{status}");
    assert_eq!(get("offsite_backup_overdue", bad), Some(1.0));
    assert_eq!(get("offsite_backup_overdue", "good"), Some(0.0));
    assert_eq!(get("offsite_backup_consecutive_failures", bad), Some(2.0));
    assert_eq!(get("offsite_backup_failures_total", bad), Some(2.0));
    assert_eq!(
        get("offsite_backup_last_success_timestamp_seconds", "good"),
        Some(unix(T2))
    );
    // Readable by node_exporter's user; no temporary file left beside it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["offsite.prom"]);
}

#[test]
fn the_daemon_writes_the_textfile_after_each_check() {
    let pg = TestCluster::shared();
    let mut cli = metrics_cli();
    let db = pg.unique_db("metricsd");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    cli.env.push((
        env_var_for_key(&project_password_key("daemon-m")),
        pg.superuser_password().to_string(),
    ));
    let (code, out, err) = run(
        &cli,
        T0,
        &["project", "add", "daemon-m", "--db", &pg.url(&db)],
    );
    assert_eq!(code, 0, "{out} {err}");
    let (code, out, err) = run(
        &cli,
        T0,
        &[
            "schedule", "set", "daemon-m", "--every", "6h", "--tz", "UTC",
        ],
    );
    assert_eq!(code, 0, "{out} {err}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("offsite.prom");
    let file_arg = file.to_str().unwrap();
    let mut child = cli
        .cmd_at(T1, &["--json", "daemon", "--metrics-file", file_arg])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first check runs the due backup, then writes the file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let m = loop {
        if file.exists() {
            let m = read_metrics(&file);
            if m.project_value("offsite_backup_last_success_timestamp_seconds", "daemon-m")
                .is_some()
            {
                break m;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon wrote no metrics with the backup"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let backups = json(&cli, T1, &["backups", "daemon-m"]);
    assert_eq!(
        m.project_value("offsite_backup_last_size_bytes", "daemon-m"),
        backups["backups"][0]["size"].as_f64()
    );
    assert_eq!(
        m.project_value("offsite_backup_overdue", "daemon-m"),
        Some(0.0)
    );
}
