//! `offsite drill` as scripts use it, on real servers and without a keychain (the env secret
//! store): exit 0 for a passed drill, 9 for a failed one (a `--pg-bin` wrapper whose pg_restore
//! loses one table's rows: the failed check names the table), `drill list` / `drill show`; and a
//! drill killed mid-way whose throwaway cluster the next start stops and removes.
// Unix only: a throwaway cluster, wrapper scripts (docs/development.md lists what runs on Windows).
#![cfg(unix)]

mod common;

use common::Cli;
use offsite_core::secrets::{env_var_for_key, project_password_key};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const REAL_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Secrets from the environment, `project`'s password in its variable.
fn cli_for(project: &str, pg: &TestCluster) -> Cli {
    let var = env_var_for_key(&project_password_key(project));
    Cli::new().env(&var, pg.superuser_password())
}

/// A project `name` of a new database holding `victim` (25 rows) and `other` (3 rows), backed up.
fn backed_up(pg: &TestCluster, cli: &Cli, name: &str) {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE public.victim AS SELECT g AS id, 'row ' || g AS label FROM generate_series(1, 25) g;
         CREATE TABLE public.other AS SELECT g AS id FROM generate_series(1, 3) g;",
    );
    cli.json(&["project", "add", name, "--db", &pg.url(&db)], 0);
    let b = cli.json(&["backup", name], 0);
    // The default backup is a parallel dump: the drills below read archive format 2.
    let m = cli.json(&["inspect", b["path"].as_str().unwrap()], 0);
    assert_eq!(m["format_version"], 2, "{m}");
}

/// A `--pg-bin` folder: the real client tools, except a pg_restore that runs `before` first
/// (shell) and, after the restore proper (`--single-transaction`), runs `after` as SQL on the
/// restored database.
fn wrapper_bin(before: &str, after: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("pgwrap")
        .tempdir_in("/tmp")
        .unwrap();
    for b in ["pg_dump", "pg_dumpall", "psql"] {
        std::os::unix::fs::symlink(Path::new(REAL_BIN).join(b), dir.path().join(b)).unwrap();
    }
    let script = format!(
        r#"#!/bin/sh
case " $* " in *--single-transaction*|*--jobs=*) ;; *) exec "{REAL_BIN}/pg_restore" "$@";; esac
{before}
"{REAL_BIN}/pg_restore" "$@" || exit $?
for a in "$@"; do case "$a" in --dbname=*) DB="$a";; esac; done
{after}
"#
    );
    let path = dir.path().join("pg_restore");
    offsite_testkit::script::write_executable(&path, &script);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn check_ids(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_passed_drill_exits_0_a_sabotaged_one_exits_9_naming_the_table() {
    let pg = TestCluster::shared();
    let cli = cli_for("drillcli", pg);
    backed_up(pg, &cli, "drillcli");
    let ok = cli.json(&["drill", "drillcli"], 0);
    assert_eq!(ok["verdict"], "passed", "{ok}");
    // Without a keychain or the key's variable, the report is unsigned: said when written,
    // with the variable to set.
    assert_eq!(ok["signed"], Value::Bool(false), "{ok}");
    let unsigned = ok["unsigned"].as_str().unwrap_or_default();
    assert!(
        unsigned.contains("NOT signed")
            && unsigned.contains("OFFSITE_PASSWORD_DRILL_REPORT_SIGNING_KEY"),
        "{ok}"
    );
    let path = PathBuf::from(ok["report_path"].as_str().unwrap());
    assert!(path.is_file());
    let ids = check_ids(&ok["report"]);
    for id in ["verify", "restore", "rto"] {
        assert!(ids.contains(&id.to_string()), "{ids:?}");
    }
    // The text form prints the report's path first, then the checks.
    let text = cli.run(&["drill", "show", ok["drill_id"].as_str().unwrap()]);
    assert_eq!(text.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&text.stdout).contains(&path.display().to_string()));

    // pg_restore loses every row of public.victim after the load.
    let wrap = wrapper_bin(
        "",
        r#""REAL/psql" --no-psqlrc -q "$DB" -c 'DELETE FROM public.victim' >/dev/null || exit 1"#
            .replace("REAL", REAL_BIN)
            .as_str(),
    );
    let pg_bin = wrap.path().display().to_string();
    let bad = cli.json(&["--pg-bin", &pg_bin, "drill", "drillcli"], 9);
    assert_eq!(bad["verdict"], "failed", "{bad}");
    let failed: Vec<&Value> = bad["report"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .collect();
    assert!(!failed.is_empty(), "{bad}");
    assert!(
        failed
            .iter()
            .any(|c| c.to_string().contains("public.victim")),
        "a failed check names the table: {failed:?}"
    );
    // The content check of that table is the one that failed (per-table digests).
    assert!(
        failed.iter().any(|c| c["id"] == "table:public.victim"),
        "{failed:?}"
    );
    let other: Vec<&Value> = bad["report"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "table:public.other")
        .collect();
    assert_eq!(other.len(), 1, "{bad}");
    assert_eq!(other[0]["status"], "passed");
    assert!(
        failed
            .iter()
            .all(|c| !c.to_string().contains("public.other")),
        "only the sabotaged table fails: {failed:?}"
    );
    let list = cli.json(&["drill", "list", "drillcli"], 0);
    let rows = list["drills"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    assert_eq!(rows[0]["verdict"], "failed", "newest first");
    assert_eq!(rows[1]["verdict"], "passed");
    let shown = cli.json(&["drill", "show", bad["drill_id"].as_str().unwrap()], 9);
    assert_eq!(shown["drill"]["verdict"], "failed");
    // A drill of a project that does not exist is a usage error, not a failed drill.
    let err = cli.json(&["drill", "nosuch"], 2);
    assert_eq!(err["error"]["code"], "not_found");
}

/// Whether process `pid` is alive (a zombie is not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim().chars().next();
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

#[test]
fn a_killed_drill_leaves_a_cluster_the_next_start_stops_and_removes() {
    let pg = TestCluster::shared();
    let cli = cli_for("drillkill", pg);
    backed_up(pg, &cli, "drillkill");
    // A restore that takes its time: the drill is killed while its cluster runs.
    let wrap = wrapper_bin("sleep 20", "");
    let pg_bin = wrap.path().display().to_string();
    let mut child = cli
        .cmd(&["--pg-bin", &pg_bin, "drill", "drillkill"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let clusters = cli.data.path().join("drill-clusters");
    let deadline = Instant::now() + Duration::from_secs(120);
    let (root, pid) = loop {
        assert!(
            Instant::now() < deadline,
            "the drill's cluster never came up"
        );
        assert!(child.try_wait().unwrap().is_none(), "the drill ended early");
        let owner = std::fs::read_dir(&clusters).ok().and_then(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "owner"))
        });
        if let Some(owner) = owner {
            if let Ok(v) =
                serde_json::from_slice::<Value>(&std::fs::read(&owner).unwrap_or_default())
            {
                let root = PathBuf::from(v["root"].as_str().unwrap());
                let pidfile =
                    std::fs::read_to_string(root.join("data/postmaster.pid")).unwrap_or_default();
                // Started, and the restore (the sleeping wrapper) is under way.
                let sleeping = pidfile.lines().count() >= 8 && pidfile.contains("ready");
                if let (true, Some(pid)) = (
                    sleeping,
                    pidfile
                        .lines()
                        .next()
                        .and_then(|l| l.trim().parse::<u32>().ok()),
                ) {
                    break (root, pid);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_secs(2));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        alive(pid),
        "the killed drill's server outlives it (what the sweep is for)"
    );
    assert!(root.is_dir());
    // The next start (any command) sweeps it.
    let list = cli.json(&["drill", "list", "drillkill"], 0);
    assert_eq!(list["drills"].as_array().unwrap().len(), 0, "{list}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alive(pid), "the leftover server is stopped");
    assert!(!root.exists(), "its folder is removed: {}", root.display());
    let left: Vec<_> = std::fs::read_dir(&clusters)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // The interrupted job is recorded as such.
    let hist = cli.json(&["history", "drillkill", "--kind", "drill"], 0);
    assert!(hist.to_string().contains("interrupted"), "{hist}");
}

impl Cli {
    /// `--json ARGS` with `input` on standard input: (exit code, stdout JSON, stderr).
    fn json_stdin(&self, args: &[&str], input: &str) -> (i32, Value, String) {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.run_stdin(&full, input);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let json = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"));
        (
            out.status.code().unwrap(),
            json,
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }
}

/// `drill config` headless: the saved scratch server (its password from the environment) is
/// where `offsite drill NAME` restores; `--server URL --password-stdin` for one run; a wrong
/// password's error and the records never hold it; a URL carrying a password is not saved.
#[test]
fn drill_config_and_password_stdin_headless() {
    let pg = TestCluster::shared();
    let mut cli = cli_for("cfgcli", pg);
    backed_up(pg, &cli, "cfgcli");
    let shown = cli.json(&["drill", "config", "cfgcli"], 0);
    assert_eq!(shown["settings"]["server_url"], Value::Null, "{shown}");
    assert_eq!(shown["settings"]["storage_sample"], Value::Null);

    let secret = pg.superuser_password().to_string();
    let with_pw = pg.url_with_password("postgres");
    let out = cli.run(&["--json", "drill", "config", "cfgcli", "--server", &with_pw]);
    assert_eq!(out.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("invalid_input") && !all.contains(&secret),
        "{all}"
    );

    // One run: the URL without the password, the password on standard input.
    let url = pg.url("postgres");
    let (code, ok, _) = cli.json_stdin(
        &["drill", "cfgcli", "--server", &url, "--password-stdin"],
        &format!("{secret}\n"),
    );
    assert_eq!(code, 0, "{ok}");
    assert_eq!(ok["report"]["target"]["kind"], "server");
    assert!(!ok.to_string().contains(&secret));
    let wrong = "Wr0ng-cli-Passw0rd";
    let (code, err, stderr) = cli.json_stdin(
        &["drill", "cfgcli", "--server", &url, "--password-stdin"],
        &format!("{wrong}\n"),
    );
    assert_ne!(code, 0, "{err}");
    assert_eq!(err["error"]["code"], "auth", "{err}");
    assert!(
        !err.to_string().contains(wrong) && !stderr.contains(wrong),
        "{err} {stderr}"
    );
    let list = cli.json(&["drill", "list", "cfgcli"], 0);
    assert_eq!(list["drills"].as_array().unwrap().len(), 1, "{list}");
    assert!(!list.to_string().contains(wrong));

    // Saved: the server (no password in the catalog), the password from the environment.
    cli.env.push((
        env_var_for_key(&offsite_core::drill::settings::server_password_key(
            "cfgcli",
        )),
        secret.clone(),
    ));
    let saved = cli.json(
        &[
            "drill",
            "config",
            "cfgcli",
            "--server",
            &url,
            "--storage-sample",
            "3",
        ],
        0,
    );
    assert_eq!(saved["settings"]["server_url"], url.as_str(), "{saved}");
    assert_eq!(saved["settings"]["server_password_saved"], true);
    assert_eq!(saved["settings"]["storage_sample"], 3);
    let text = cli.run(&["drill", "config", "cfgcli"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "the scratch server 127.0.0.1:{}/postgres",
            pg.port()
        )) && text.contains("a random sample of 3 objects"),
        "{text}"
    );
    let ran = cli.json(&["drill", "cfgcli"], 0);
    assert_eq!(ran["report"]["target"]["kind"], "server", "{ran}");
    let once = cli.json(&["drill", "cfgcli", "--throwaway"], 0);
    assert_eq!(once["report"]["target"]["kind"], "throwaway", "{once}");
    let back = cli.json(
        &[
            "drill",
            "config",
            "cfgcli",
            "--throwaway",
            "--storage-sample",
            "all",
        ],
        0,
    );
    assert_eq!(back["settings"]["server_url"], Value::Null, "{back}");
    assert_eq!(back["settings"]["storage_sample"], Value::Null);
}
