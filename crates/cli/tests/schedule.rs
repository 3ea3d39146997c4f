//! `offsite schedule | retention | prune | run-due | status` as scripts use them: JSON, exit
//! codes (2 for bad input, changing nothing; 6 when a project is overdue), and — against a real
//! PostgreSQL cluster — scheduled backups through `run-due`, retention, and two `run-due`
//! processes racing for one slot. Headless: secrets from the environment
//! (`OFFSITE_SECRET_STORE=env`), "now" from the test-only `OFFSITE_TEST_NOW`.

mod common;

use common::Cli;
use offsite_core::catalog::JobKind;
use offsite_core::catalog::JobState;
use offsite_core::catalog::JobTrigger;
use offsite_core::secrets::{env_var_for_key, project_password_key};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Headless (secrets from the environment, a private HOME), in Berlin's time zone.
fn schedule_cli() -> Cli {
    Cli::new().private_home().env("TZ", "Europe/Berlin")
}

impl Cli {
    /// Runs without --json at `now` (exit 0 asserted), returns stdout: a person's run.
    fn run_plain(&self, now: &str, args: &[&str]) -> String {
        let out = self.run_at(now, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

const T0: &str = "2026-11-20T10:00:00Z";

#[test]
fn schedule_and_retention_commands_their_json_and_bad_input_changing_nothing() {
    let cli = schedule_cli();
    cli.json_at(
        T0,
        &[
            "project",
            "add",
            "shop",
            "--db",
            "postgres://app@db.example.com/shop",
            "--no-test",
        ],
        0,
    );
    let set = cli.json_at(T0, &["schedule", "set", "shop", "--daily", "02:30"], 0);
    let sched = &set["schedule"];
    assert_eq!(s(&sched["spec"]), "daily 02:30");
    assert_eq!(
        s(&sched["time_zone"]),
        "Europe/Berlin",
        "TZ is the default zone"
    );
    assert_eq!(s(&sched["kind"]), "backup");
    let next: Vec<&str> = sched["next_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    assert_eq!(next.len(), 5);
    assert_eq!(next[0], "2026-11-21T01:30:00.000Z");
    cli.json_at(
        T0,
        &[
            "schedule",
            "set",
            "shop",
            "--verify",
            "--newest",
            "3",
            "--weekly",
            "mon,thu",
            "04:00",
            "--tz",
            "America/New_York",
        ],
        0,
    );
    let before = cli.json_at(T0, &["schedule", "show", "shop"], 0);
    let list = before["schedules"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(s(&list[1]["spec"]), "weekly mon,thu 04:00");
    assert_eq!(list[1]["verify_newest"], 3);
    assert_eq!(s(&list[1]["next_runs"][0]), "2026-11-23T09:00:00.000Z");
    let retention = cli.json_at(
        T0,
        &[
            "retention",
            "set",
            "shop",
            "--keep-last",
            "3",
            "--keep-daily",
            "7",
            "--keep-within",
            "30d",
            "--tz",
            "UTC",
        ],
        0,
    );
    assert_eq!(
        s(&retention["retention"]["rules"]),
        "keep-last 3, keep-daily 7, keep-within 30d"
    );
    assert_eq!(retention["retention"]["policy"]["keep_within"], "30d");
    let retention_before = cli.json_at(T0, &["retention", "show", "shop"], 0);
    // Each schedule says whose retention prunes its backups (with the rules): seen again now.
    let before = cli.json_at(T0, &["schedule", "show", "shop"], 0);
    assert_eq!(
        before["schedules"][0]["retention_rules"],
        "keep-last 3, keep-daily 7, keep-within 30d"
    );

    // Bad input: exit 2, a clear message and hint, nothing changed.
    for (args, code, needle) in [
        (
            &["schedule", "set", "shop", "--daily", "25:00"][..],
            "invalid_input",
            "25:00",
        ),
        (
            &["schedule", "set", "shop", "--cron", "61 * * * *"][..],
            "invalid_input",
            "custom schedule",
        ),
        (
            &["schedule", "set", "shop", "--cron", "0 3 * *"][..],
            "invalid_input",
            "4 field",
        ),
        (
            &["schedule", "set", "shop", "--every", "0h"][..],
            "invalid_input",
            "0h",
        ),
        (
            &["schedule", "set", "shop", "--weekly", "mon,funday", "02:00"][..],
            "invalid_input",
            "funday",
        ),
        (
            &["schedule", "set", "shop", "--monthly", "32", "02:00"][..],
            "invalid_input",
            "32",
        ),
        (
            &[
                "schedule",
                "set",
                "shop",
                "--daily",
                "02:00",
                "--tz",
                "Mars/Olympus",
            ][..],
            "invalid_input",
            "Mars/Olympus",
        ),
        (
            &[
                "schedule", "set", "shop", "--verify", "--newest", "0", "--daily", "02:00",
            ][..],
            "invalid_input",
            "--newest",
        ),
        (
            &["schedule", "set", "nope", "--daily", "02:00"][..],
            "not_found",
            "nope",
        ),
        (
            &["retention", "set", "shop", "--keep-last", "0"][..],
            "invalid_input",
            "--keep-last",
        ),
        (
            &["retention", "set", "shop", "--keep-within", "3x"][..],
            "invalid_input",
            "3x",
        ),
        (
            &["retention", "set", "nope", "--keep-last", "1"][..],
            "not_found",
            "nope",
        ),
        (&["prune", "nope"][..], "not_found", "nope"),
        (&["status", "nope"][..], "not_found", "nope"),
    ] {
        let err = cli.json_at(T0, args, 2);
        let e = &err["error"];
        assert_eq!(s(&e["code"]), code, "{args:?}: {err}");
        assert!(s(&e["message"]).contains(needle), "{args:?}: {err}");
        assert!(e["hint"].is_string(), "{args:?}: {err}");
    }
    // Usage errors (clap): exit 2 too.
    for args in [
        &["schedule", "set", "shop"][..],
        &[
            "schedule", "set", "shop", "--daily", "02:00", "--every", "6h",
        ][..],
        &[
            "schedule", "set", "shop", "--newest", "2", "--daily", "02:00",
        ][..],
        &["retention", "set", "shop", "--keep-last", "-1"][..],
    ] {
        assert_eq!(
            cli.run_at(T0, &[&["--json"][..], args].concat())
                .status
                .code(),
            Some(2),
            "{args:?}"
        );
    }
    assert_eq!(cli.json_at(T0, &["schedule", "show", "shop"], 0), before);
    assert_eq!(
        cli.json_at(T0, &["retention", "show", "shop"], 0),
        retention_before
    );

    // Status: not overdue 25 hours after the schedule was set without a backup; a second later it
    // is (exit 6).
    let st = cli.json_at("2026-11-21T11:00:00Z", &["status"], 0);
    let p = &st["projects"][0];
    assert_eq!(s(&p["name"]), "shop");
    assert_eq!(p["overdue"], false);
    assert_eq!(p["last_good"], Value::Null);
    assert_eq!(
        s(&p["next_run"]),
        "2026-11-21T01:30:00.000Z",
        "the slot due now"
    );
    let st = cli.json_at("2026-11-21T11:00:01Z", &["status", "shop"], 6);
    assert_eq!(st["projects"][0]["overdue"], true);
    // Its health: never backed up, so unprotected, and the fix is a backup.
    let h = &st["projects"][0]["health"];
    assert_eq!(h["health"], "unprotected", "{st}");
    assert_eq!(h["reason"], "never backed up");
    assert_eq!(h["problems"][0]["fix"], "back_up_now");
    assert_eq!(st["summary"], "0 of 1 protected");
    assert_eq!(st["worst"], "unprotected");

    // Pause, resume, clear.
    cli.json_at(T0, &["schedule", "pause", "shop"], 0);
    let st = cli.json_at("2026-11-25T12:00:00Z", &["status"], 0);
    assert_eq!(st["projects"][0]["paused"], true);
    cli.json_at(T0, &["schedule", "resume", "shop"], 0);
    let cleared = cli.json_at(T0, &["schedule", "clear", "shop", "--verify"], 0);
    assert_eq!(cleared["cleared"], true);
    let cleared = cli.json_at(T0, &["schedule", "clear", "shop", "--verify"], 0);
    assert_eq!(cleared["cleared"], false);
    let list = cli.json_at(T0, &["schedule", "list"], 0);
    assert_eq!(list["schedules"].as_array().unwrap().len(), 1);
    // Nothing due yet, nothing run.
    let due = cli.json_at(T0, &["run-due"], 0);
    assert_eq!(due["runs"].as_array().unwrap().len(), 0);
}

fn project_with_password(pg: &TestCluster, cli: &mut Cli, name: &str) -> String {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);",
    );
    cli.env.push((
        env_var_for_key(&project_password_key(name)),
        pg.superuser_password().to_string(),
    ));
    let added = cli.json_at(T0, &["project", "add", name, "--db", &pg.url(&db)], 0);
    // A new project keeps the recommended retention, and `project add` says so.
    assert_eq!(
        added["retention"]["rules"], "keep-daily 7, keep-weekly 4, keep-monthly 12",
        "{added}"
    );
    db
}

#[test]
fn run_due_backs_up_on_schedule_and_prune_removes_what_the_policy_does_not_keep() {
    let pg = TestCluster::shared();
    let mut cli = schedule_cli();
    project_with_password(pg, &mut cli, "sched-cli");
    // The health asserted below is about copies: the space watcher's rules are off, so this
    // machine's own disk (a CI host may have little free) adds no `space_low` to it.
    cli.json_at(
        T0,
        &[
            "notify",
            "settings",
            "--space-free-mib",
            "0",
            "--space-days",
            "0",
        ],
        0,
    );
    cli.json_at(
        T0,
        &[
            "schedule",
            "set",
            "sched-cli",
            "--every",
            "6h",
            "--tz",
            "UTC",
        ],
        0,
    );
    cli.json_at(
        T0,
        &[
            "retention",
            "set",
            "sched-cli",
            "--keep-last",
            "1",
            "--tz",
            "UTC",
        ],
        0,
    );

    let first = cli.json_at("2026-11-20T12:00:10Z", &["run-due"], 0);
    let run = &first["runs"][0];
    assert_eq!(s(&run["state"]), "succeeded", "{first}");
    assert_eq!(s(&run["trigger"]), "schedule");
    assert_eq!(s(&run["slot"]), "2026-11-20T12:00:00.000Z");
    let first_id = s(&run["backup_id"]).to_string();
    // The same slot is not run twice.
    let again = cli.json_at("2026-11-20T12:05:00Z", &["run-due"], 0);
    assert_eq!(again["runs"].as_array().unwrap().len(), 0);

    // A day later (slots missed): one catch-up run; retention removes the first backup.
    let second = cli.json_at("2026-11-21T13:00:00Z", &["run-due"], 0);
    let runs = second["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{second}");
    assert_eq!(s(&runs[0]["trigger"]), "catch_up");
    assert_eq!(s(&runs[0]["slot"]), "2026-11-21T12:00:00.000Z");
    assert_eq!(runs[0]["pruned"][0], first_id.as_str());
    let backups = cli.json_at("2026-11-21T13:00:00Z", &["backups", "sched-cli"], 0);
    let list = backups["backups"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let kept_id = s(&list[0]["id"]).to_string();
    let status = cli.json_at("2026-11-21T13:00:00Z", &["status"], 0);
    assert_eq!(
        s(&status["projects"][0]["last_good"]),
        "2026-11-21T13:00:00.000Z"
    );
    // Backed up on schedule, but only on this computer: at risk, fix by adding a destination.
    let h = &status["projects"][0]["health"];
    assert_eq!(h["health"], "at_risk", "{status}");
    assert_eq!(h["problems"][0]["kind"], "one_copy");
    assert_eq!(h["problems"][0]["fix"], "add_destination");
    assert_eq!(h["copies"][0]["place"], "This computer");
    assert_eq!(h["copies"][0]["ok"], true);
    assert!(s(&h["subtitle"]).starts_with("database "), "{h}");
    // The same, as a person reads it.
    let out = cli.run_plain("2026-11-21T13:00:00Z", &["status"]);
    assert!(out.contains("0 of 1 protected"), "{out}");
    assert!(out.contains("sched-cli  (database "), "{out}");
    assert!(
        out.contains("At risk: 1 of 3 copies: the newest good backup is only on this computer"),
        "{out}"
    );
    assert!(out.contains("fix: Add a destination"), "{out}");

    // A manual backup, then prune: the dry run lists, the real one removes file and entry.
    let manual = cli.json_at("2026-11-21T14:00:00Z", &["backup", "sched-cli"], 0);
    let manual_id = s(&manual["id"]).to_string();
    let preview = cli.json_at(
        "2026-11-21T14:00:00Z",
        &["prune", "sched-cli", "--dry-run"],
        0,
    );
    assert_eq!(preview["dry_run"], true);
    assert_eq!(s(&preview["kept"][0]["id"]), manual_id);
    assert_eq!(
        s(&preview["kept"][0]["created_at"]),
        "2026-11-21T14:00:00.000Z"
    );
    let reasons: Vec<&str> = preview["kept"][0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    assert_eq!(reasons, vec!["last 1", "newest verified"]);
    assert_eq!(s(&preview["removed"][0]["id"]), kept_id);
    let old_path = PathBuf::from(s(&preview["removed"][0]["path"]));
    assert!(old_path.is_file(), "a dry run deletes nothing");
    let pruned = cli.json_at("2026-11-21T14:00:00Z", &["prune", "sched-cli"], 0);
    assert_eq!(pruned["dry_run"], false);
    assert!(pruned["job_id"].is_string());
    assert_eq!(s(&pruned["removed"][0]["id"]), kept_id);
    assert!(!old_path.exists());
    let backups = cli.json_at("2026-11-21T14:00:00Z", &["backups", "sched-cli"], 0);
    assert_eq!(backups["backups"].as_array().unwrap().len(), 1);
}

#[test]
fn two_run_due_processes_racing_run_one_slot_once() {
    let pg = TestCluster::shared();
    let mut cli = schedule_cli();
    project_with_password(pg, &mut cli, "race-cli");
    // Each run's backup is counted below: keep everything (a new project keeps 7 daily).
    let kept = cli.json_at(T0, &["retention", "set", "race-cli", "--tz", "UTC"], 0);
    assert_eq!(kept["retention"]["rules"], "keep everything");
    cli.json_at(
        T0,
        &[
            "schedule", "set", "race-cli", "--every", "6h", "--tz", "UTC",
        ],
        0,
    );
    for (round, now) in [
        "2026-11-20T12:00:05Z",
        "2026-11-20T18:00:05Z",
        "2026-11-21T00:00:05Z",
    ]
    .into_iter()
    .enumerate()
    {
        let children: Vec<_> = (0..2)
            .map(|_| {
                cli.cmd_at(now, &["--json", "run-due"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut succeeded = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_str(&stdout).unwrap();
            succeeded += v["runs"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["state"] == "succeeded")
                .count();
        }
        assert_eq!(succeeded, 1, "round {round}: one slot, one run");
        let backups = cli.json_at(now, &["backups", "race-cli"], 0);
        assert_eq!(backups["backups"].as_array().unwrap().len(), round + 1);
    }
}

#[test]
fn daemon_runs_what_is_due_and_stops_on_sigterm() {
    let pg = TestCluster::shared();
    let mut cli = schedule_cli();
    project_with_password(pg, &mut cli, "daemon-cli");
    cli.json_at(
        T0,
        &[
            "schedule",
            "set",
            "daemon-cli",
            "--every",
            "6h",
            "--tz",
            "UTC",
        ],
        0,
    );
    let now = "2026-11-20T12:00:05Z";
    let child = cli
        .cmd_at(now, &["--json", "daemon"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let b = cli.json_at(now, &["backups", "daemon-cli"], 0);
        if b["backups"].as_array().unwrap().len() == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon made no backup"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let kill = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"succeeded\""), "{stdout}");
}

#[test]
fn a_run_due_killed_mid_backup_leaves_an_interrupted_job_a_retry_and_no_temporary_file() {
    let pg = TestCluster::shared();
    let mut cli = schedule_cli();
    let db_name = project_with_password(pg, &mut cli, "sched-kill");
    // Enough rows that the backup is still writing when it is killed.
    pg.psql(
        &db_name,
        "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 20) AS v FROM generate_series(1, 600000) g",
    );
    cli.json_at(
        T0,
        &[
            "schedule",
            "set",
            "sched-kill",
            "--every",
            "6h",
            "--tz",
            "UTC",
        ],
        0,
    );
    let folder = cli.data.path().join("backups").join("sched-kill");
    let temp_files = || -> Vec<PathBuf> {
        std::fs::read_dir(&folder)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".offsite-tmp-")
            })
            .collect()
    };
    let later = "2026-11-20T12:00:05Z";
    let mut child = cli
        .cmd_at(later, &["--json", "run-due"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while temp_files().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the backup never started writing"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "run-due ended before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !temp_files().is_empty(),
        "the killed run left its temporary files"
    );

    // The next run-due: the leftovers are swept, the killed job is recorded as interrupted, and
    // the slot's run is tried again (and succeeds).
    let report = cli.json_at(later, &["run-due"], 0);
    assert!(temp_files().is_empty(), "swept: {:?}", temp_files());
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{report}");
    assert_eq!(runs[0]["trigger"], "retry", "{report}");
    assert_eq!(runs[0]["state"], "succeeded", "{report}");
    let backups = cli.json_at(later, &["backups", "sched-kill"], 0);
    assert_eq!(backups["backups"].as_array().unwrap().len(), 1, "{backups}");
    // The killed process's job is in the history as `interrupted`, by the schedule;
    // the retry is its own job.
    let jobs = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = offsite_core::Engine::open(
            offsite_core::EngineConfig::new(std::sync::Arc::new(
                offsite_core::secrets::MemoryStore::new(),
            ))
            .data_dir(cli.data.path().to_path_buf()),
        )
        .await
        .unwrap();
        engine
            .job_history(&offsite_core::ops::JobFilter {
                project: Some("sched-kill".into()),
                ..Default::default()
            })
            .await
            .unwrap()
    });
    let backup_jobs: Vec<_> = jobs.iter().filter(|j| j.kind == JobKind::Backup).collect();
    assert_eq!(backup_jobs.len(), 2, "{jobs:?}");
    let killed = backup_jobs
        .iter()
        .find(|j| j.state == JobState::Interrupted)
        .unwrap_or_else(|| panic!("no interrupted job: {jobs:?}"));
    assert_eq!(
        killed.error_code.as_deref(),
        Some("interrupted"),
        "{killed:?}"
    );
    assert_eq!(killed.trigger, JobTrigger::Schedule, "{killed:?}");
    let retried = backup_jobs
        .iter()
        .find(|j| j.state == JobState::Succeeded)
        .unwrap();
    assert_eq!(retried.trigger, JobTrigger::Retry, "{retried:?}");
    // Only archives (and their checksums) are left in the folder.
    for f in std::fs::read_dir(&folder).unwrap().flatten() {
        let n = f.file_name().to_string_lossy().into_owned();
        assert!(
            offsite_core::backup::has_archive_suffix(&n)
                || n.ends_with(".sha256")
                || n == ".offsite-folder.lock",
            "left over: {n}"
        );
    }
}
