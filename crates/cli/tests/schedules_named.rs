//! Several backup schedules per project from the command line (issue 47, item 2), against a real
//! PostgreSQL cluster and two folder destinations: `schedule add` twice (an hourly database
//! schedule to `laptop` with its own retention, a monthly full one to `cold`), `run-due` at
//! midnight on the 1st makes two backups of two types, each copied only to its destinations;
//! `status` names the overdue schedule (exit 6); `schedule remove` removes one; the
//! single-schedule `schedule set NAME --daily` still edits the schedule named `default`.

mod common;

use common::Cli;
use offsite_core::secrets::{env_var_for_key, project_password_key};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// The archive files a folder destination holds for `project`.
fn archives_in(dir: &Path, project: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir.join(project))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".sha256") && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

const T0: &str = "2026-11-30T23:30:00Z";

#[test]
fn two_named_schedules_run_due_makes_two_types_to_their_own_destinations() {
    let pg = TestCluster::shared();
    let mut cli = Cli::new().private_home().env("TZ", "UTC");
    let name = "named-cli";
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);",
    );
    cli.env.push((
        env_var_for_key(&project_password_key(name)),
        pg.superuser_password().to_string(),
    ));
    cli.json_at(T0, &["project", "add", name, "--db", &pg.url(&db)], 0);
    let tmp = tempfile::tempdir().unwrap();
    let (laptop, cold) = (tmp.path().join("laptop"), tmp.path().join("cold"));
    std::fs::create_dir_all(&laptop).unwrap();
    std::fs::create_dir_all(&cold).unwrap();
    for (d, dir) in [("laptop", &laptop), ("cold", &cold)] {
        let dir = dir.to_string_lossy().into_owned();
        cli.json_at(T0, &["destination", "add", name, d, "--folder", &dir], 0);
    }

    // Bad input changes nothing: no name, an unknown type, an unknown destination.
    for (args, code) in [
        (
            vec!["schedule", "add", name, "--every", "1h"],
            "invalid_input",
        ),
        (
            vec![
                "schedule", "add", name, "--name", "x", "--type", "weekly", "--every", "1h",
            ],
            "invalid_input",
        ),
        (
            vec![
                "schedule",
                "add",
                name,
                "--name",
                "x",
                "--every",
                "1h",
                "--destinations",
                "nas",
            ],
            "not_found",
        ),
    ] {
        let e = cli.json_at(T0, &args, 2);
        assert_eq!(s(&e["error"]["code"]), code, "{args:?}: {e}");
    }
    let hourly = cli.json_at(
        T0,
        &[
            "schedule",
            "add",
            name,
            "--name",
            "hourly",
            "--type",
            "database",
            "--every",
            "1h",
            "--destinations",
            "laptop",
            "--keep-last",
            "2",
        ],
        0,
    );
    assert_eq!(s(&hourly["schedule"]["retention_from"]), "schedule");
    assert_eq!(s(&hourly["schedule"]["retention_rules"]), "keep-last 2");
    cli.json_at(
        T0,
        &[
            "schedule",
            "add",
            name,
            "--name",
            "monthly",
            "--type",
            "full",
            "--monthly",
            "1",
            "00:00",
            "--destinations",
            "cold",
        ],
        0,
    );
    let listed = cli.json_at(T0, &["schedule", "list", name], 0);
    let list = listed["schedules"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|v| s(&v["name"])).collect();
    assert_eq!(names, ["hourly", "monthly"]);
    assert_eq!(s(&list[1]["retention_from"]), "project");
    assert_eq!(list[1]["destinations"], serde_json::json!(["cold"]));
    assert_eq!(s(&list[1]["backup_type"]), "full");
    let plain = cli.run_at(T0, &["schedule", "list", name]);
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(
        plain.contains("retention: its own (keep-last 2)")
            && plain.contains("retention: the project's (keep-daily 7"),
        "{plain}"
    );

    // Midnight on the 1st: both run, once each.
    let due = cli.json_at("2026-12-01T00:00:30Z", &["run-due"], 0);
    let runs = due["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{due}");
    let backups = cli.json_at("2026-12-01T00:01:00Z", &["backups", name], 0);
    let mut made: Vec<(String, String, String)> = Vec::new();
    for r in runs {
        assert_eq!(s(&r["state"]), "succeeded", "{r}");
        let id = s(&r["backup_id"]);
        let b = backups["backups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {backups}"));
        let file = Path::new(s(&b["path"]))
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        made.push((s(&r["schedule"]).into(), s(&b["backup_type"]).into(), file));
    }
    made.sort();
    assert_eq!(
        made.iter()
            .map(|(n, t, _)| (n.as_str(), t.as_str()))
            .collect::<Vec<_>>(),
        [("hourly", "database"), ("monthly", "full")]
    );
    assert_eq!(
        archives_in(&laptop, name),
        BTreeSet::from([made[0].2.clone()])
    );
    assert_eq!(
        archives_in(&cold, name),
        BTreeSet::from([made[1].2.clone()])
    );

    // Two hours later nothing ran: the hourly schedule is overdue, by name; exit 6.
    let status = cli.json_at("2026-12-01T02:01:00Z", &["status", name], 6);
    assert_eq!(
        status["projects"][0]["overdue_schedules"],
        serde_json::json!(["hourly"]),
        "{status}"
    );

    // Removed, it is gone from the list; its backup stays.
    let removed = cli.json_at(T0, &["schedule", "remove", name, "hourly"], 0);
    assert_eq!(removed["removed"], true);
    let listed = cli.json_at(T0, &["schedule", "list", name], 0);
    assert_eq!(listed["schedules"].as_array().unwrap().len(), 1);
    let backups = cli.json_at(T0, &["backups", name], 0);
    assert_eq!(backups["backups"].as_array().unwrap().len(), 2);

    // The single-schedule command edits the schedule named `default`, beside the named ones.
    let set = cli.json_at(T0, &["schedule", "set", name, "--daily", "02:30"], 0);
    assert_eq!(s(&set["schedule"]["name"]), "default");
    let listed = cli.json_at(T0, &["schedule", "list", name], 0);
    let names: Vec<&str> = listed["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| s(&v["name"]))
        .collect();
    assert_eq!(names, ["default", "monthly"]);
}

/// A selective schedule on this computer (issue 47, items 1 and 2): `schedule add --name lean
/// --exclude-table-data public.logs --exclude-schema audit` backs up without the log rows and the
/// schema, while another schedule of the same project (the project's selection: everything) holds
/// them; `schedule list` shows its selection, `inspect` says what its backup left out, and
/// `schedule set --project-selection` puts it back on the project's.
#[test]
fn a_selective_schedule_leaves_out_what_it_names_and_the_other_schedule_does_not() {
    let pg = TestCluster::shared();
    let mut cli = Cli::new().private_home().env("TZ", "UTC");
    let name = "named-sel";
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 50); \
         CREATE TABLE logs (id int PRIMARY KEY, line text); \
         INSERT INTO logs SELECT g, 'line ' || g FROM generate_series(1, 700) g; \
         CREATE SCHEMA audit; CREATE TABLE audit.events (id int); INSERT INTO audit.events VALUES (1);",
    );
    cli.env.push((
        env_var_for_key(&project_password_key(name)),
        pg.superuser_password().to_string(),
    ));
    cli.json_at(T0, &["project", "add", name, "--db", &pg.url(&db)], 0);
    // A hostile name is refused when given, and nothing is saved.
    let e = cli.json_at(
        T0,
        &[
            "schedule",
            "add",
            name,
            "--name",
            "bad",
            "--every",
            "1h",
            "--exclude-table-data",
            "public.logs; DROP TABLE orders",
        ],
        2,
    );
    assert_eq!(s(&e["error"]["code"]), "invalid_input", "{e}");
    let lean = cli.json_at(
        T0,
        &[
            "schedule",
            "add",
            name,
            "--name",
            "lean",
            "--type",
            "database",
            "--every",
            "1h",
            "--exclude-table-data",
            "public.logs",
            "--exclude-schema",
            "audit",
            // Its own retention: in the project's, both backups of one day share the daily slot.
            "--keep-last",
            "5",
        ],
        0,
    );
    assert_eq!(
        lean["schedule"]["selection"]["exclude_table_data"],
        serde_json::json!(["public.logs"]),
        "{lean}"
    );
    cli.json_at(
        T0,
        &[
            "schedule", "add", name, "--name", "whole", "--type", "database", "--daily", "00:00",
        ],
        0,
    );
    let due = cli.json_at("2026-12-01T00:00:30Z", &["run-due"], 0);
    let runs = due["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{due}");
    let backups = cli.json_at("2026-12-01T00:01:00Z", &["backups", name], 0);
    let path_of = |schedule: &str| -> String {
        let run = runs
            .iter()
            .find(|r| r["schedule"] == schedule)
            .unwrap_or_else(|| panic!("{schedule} in {due}"));
        assert_eq!(s(&run["state"]), "succeeded", "{run}");
        let b = backups["backups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == run["backup_id"])
            .unwrap_or_else(|| panic!("{run} in {backups}"));
        s(&b["path"]).to_string()
    };
    let (lean_path, whole_path) = (path_of("lean"), path_of("whole"));
    let lean_m = offsite_core::archive::read_manifest(Path::new(&lean_path)).unwrap();
    let sel = lean_m
        .selection
        .expect("the lean backup records its selection");
    assert_eq!(sel.exclude_table_data, ["public.logs"]);
    assert_eq!(sel.exclude_schemas, ["audit"]);
    let tables: Vec<String> = lean_m
        .tables
        .iter()
        .map(|t| format!("{}.{}", t.schema, t.table))
        .collect();
    assert!(tables.contains(&"public.orders".to_string()), "{tables:?}");
    assert!(
        !tables
            .iter()
            .any(|t| t == "public.logs" || t.starts_with("audit.")),
        "{tables:?}"
    );
    let whole_m = offsite_core::archive::read_manifest(Path::new(&whole_path)).unwrap();
    assert!(whole_m.selection.is_none(), "{:?}", whole_m.selection);
    let logs = whole_m.tables.iter().find(|t| t.table == "logs").unwrap();
    assert_eq!(logs.rows, 700);
    assert!(whole_m.tables.iter().any(|t| t.schema == "audit"));
    // `inspect` says what the lean backup left out.
    let out = cli.run_at("2026-12-01T00:02:00Z", &["inspect", &lean_path]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("schemas left out: audit"), "{text}");
    assert!(
        text.contains("data left out (tables restored empty): public.logs"),
        "{text}"
    );
    // Back to the project's selection.
    let set = cli.json_at(
        T0,
        &[
            "schedule",
            "set",
            name,
            "--name",
            "lean",
            "--project-selection",
        ],
        0,
    );
    assert!(set["schedule"]["selection"].is_null(), "{set}");
}
