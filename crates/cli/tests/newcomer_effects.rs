//! The CLI as a newcomer meets it (issue 24, items 9 and 10), through the real binary against
//! real PostgreSQL clusters: effects are printed (retention after `run-due`, the job history,
//! who runs schedules, backups whose file is gone) and plans say what is true (a target holding
//! tables is not "empty", a plain SQL dump is restored by psql with unknown row counts, an
//! imported custom dump's tables are listed by `inspect`), and `restore --dry-run` of a refused
//! plan exits with the refused restore's code. Headless: secrets from the environment.

mod common;

use common::Cli;
use offsite_core::secrets::{env_var_for_key, project_password_key};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::Path;

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Headless (secrets from the environment, a private HOME), in UTC, the clock real unless a
/// run says when it is; `PGPASSWORD` is the cluster's.
fn effects_cli(pg: &TestCluster) -> Cli {
    Cli::new()
        .private_home()
        .unset("OFFSITE_TEST_NOW")
        .env("TZ", "UTC")
        .env("PGPASSWORD", pg.superuser_password())
}

impl Cli {
    /// A project `name` on a fresh database holding `sql`, its password in the environment.
    fn project(&mut self, pg: &TestCluster, name: &str, sql: &str) -> String {
        let db = pg.unique_db(name);
        pg.psql(&db, sql);
        self.env.push((
            env_var_for_key(&project_password_key(name)),
            pg.superuser_password().to_string(),
        ));
        self.json_when(None, &["project", "add", name, "--db", &pg.url(&db)], 0);
        db
    }

    /// Runs at `now` (the real clock when `None`).
    fn ran(&self, now: Option<&str>, args: &[&str]) -> Ran {
        let out = match now {
            Some(now) => self.run_at(now, args),
            None => self.run(args),
        };
        Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Text output: asserts the exit code, returns what ran.
    fn text(&self, now: Option<&str>, args: &[&str], code: i32) -> Ran {
        let r = self.ran(now, args);
        assert_eq!(
            r.code,
            Some(code),
            "{args:?}: stdout={} stderr={}",
            r.stdout,
            r.stderr
        );
        r
    }

    /// With --json: asserts the exit code, returns the one JSON document.
    fn json_when(&self, now: Option<&str>, args: &[&str], code: i32) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let r = self.text(now, &full, code);
        serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {}", r.stdout))
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

const T0: &str = "2026-11-20T10:00:00Z";

// ---- item 9: quiet effects ----------------------------------------------------------------

#[test]
fn run_due_prints_each_backup_retention_removed() {
    let pg = TestCluster::shared();
    let mut cli = effects_cli(pg);
    cli.project(
        pg,
        "eff-prune",
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1);",
    );
    let at = Some(T0);
    cli.json_when(
        at,
        &[
            "schedule",
            "set",
            "eff-prune",
            "--every",
            "6h",
            "--tz",
            "UTC",
        ],
        0,
    );
    cli.json_when(
        at,
        &[
            "retention",
            "set",
            "eff-prune",
            "--keep-last",
            "1",
            "--tz",
            "UTC",
        ],
        0,
    );
    let first = cli.json_when(Some("2026-11-20T12:00:10Z"), &["run-due"], 0);
    let first_id = s(&first["runs"][0]["backup_id"]).to_string();
    let first_path =
        s(&cli.json_when(None, &["backups", "eff-prune"], 0)["backups"][0]["path"]).to_string();

    // Text: one line per removed backup, with its id, date, path and why.
    let second = cli.text(Some("2026-11-20T18:00:10Z"), &["run-due"], 0);
    let line = second
        .stdout
        .lines()
        .find(|l| l.contains("removed backup"))
        .unwrap_or_else(|| panic!("no removal printed: {}", second.stdout));
    assert!(line.contains(&first_id), "{line}");
    assert!(line.contains("2026-11-20T12:00:10"), "{line}");
    assert!(line.contains(&first_path), "{line}");
    assert!(line.contains("keep-last 1"), "{line}");

    // JSON: the same in the document.
    let kept = cli.json_when(None, &["backups", "eff-prune"], 0);
    let second_id = s(&kept["backups"][0]["id"]).to_string();
    let third = cli.json_when(Some("2026-11-21T00:00:10Z"), &["run-due"], 0);
    let pruned = &third["runs"][0]["pruned_backups"];
    assert_eq!(pruned.as_array().unwrap().len(), 1, "{third}");
    assert_eq!(s(&pruned[0]["id"]), second_id);
    assert_eq!(s(&pruned[0]["created_at"]), "2026-11-20T18:00:10.000Z");
    assert!(s(&pruned[0]["reason"]).contains("keep-last 1"), "{third}");
    assert!(!Path::new(s(&pruned[0]["path"])).exists());
}

#[test]
fn history_lists_the_jobs_the_engine_recorded() {
    let pg = TestCluster::shared();
    let mut cli = effects_cli(pg);
    cli.project(
        pg,
        "eff-hist",
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1);",
    );
    let a = cli.json_when(None, &["backup", "eff-hist"], 0);
    let b = cli.json_when(None, &["backup", "eff-hist"], 0);
    cli.json_when(None, &["verify", s(&a["path"])], 0);

    let all = cli.json_when(None, &["history"], 0);
    let jobs = all["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3, "{all}");
    // Newest first, each with its project's name and what started it.
    assert_eq!(s(&jobs[0]["kind"]), "verify");
    assert_eq!(s(&jobs[1]["backup_id"]), s(&b["id"]));
    assert_eq!(s(&jobs[2]["backup_id"]), s(&a["id"]));
    assert_eq!(s(&jobs[1]["id"]), s(&b["job_id"]));
    for j in jobs {
        assert_eq!(s(&j["project"]), "eff-hist");
        assert_eq!(s(&j["trigger"]), "cli");
        assert_eq!(s(&j["state"]), "succeeded");
    }
    let backups = cli.json_when(None, &["history", "eff-hist", "--kind", "backup"], 0);
    assert_eq!(backups["jobs"].as_array().unwrap().len(), 2, "{backups}");
    let one = cli.json_when(None, &["history", "--limit", "1"], 0);
    assert_eq!(one["jobs"].as_array().unwrap().len(), 1);
    let failed = cli.json_when(None, &["history", "--state", "failed"], 0);
    assert_eq!(failed["jobs"].as_array().unwrap().len(), 0);

    let text = cli.text(None, &["history", "eff-hist"], 0);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", text.stdout);
    assert!(lines[1].contains("eff-hist") && lines[1].contains("backup"));
    assert!(lines[1].contains(s(&b["id"])), "{}", lines[1]);

    let bad = cli.json_when(None, &["history", "--kind", "dance"], 2);
    assert_eq!(s(&bad["error"]["code"]), "invalid_input");
    let unknown = cli.json_when(None, &["history", "nobody"], 2);
    assert_eq!(s(&unknown["error"]["code"]), "not_found");
}

#[test]
fn schedule_set_says_what_runs_schedules_and_when_the_next_run_is() {
    let pg = TestCluster::shared();
    let mut cli = effects_cli(pg);
    cli.project(pg, "eff-sched", "CREATE TABLE t (id int);");
    let out = cli.text(
        Some(T0),
        &[
            "schedule",
            "set",
            "eff-sched",
            "--daily",
            "02:30",
            "--tz",
            "UTC",
        ],
        0,
    );
    assert!(
        out.stdout.contains("next run: 2026-11-21T02:30:00.000Z"),
        "{}",
        out.stdout
    );
    for needed in ["offsite run-due", "offsite daemon", "app"] {
        assert!(out.stdout.contains(needed), "{needed}: {}", out.stdout);
    }
    let json = cli.json_when(
        Some(T0),
        &[
            "schedule",
            "set",
            "eff-sched",
            "--every",
            "6h",
            "--tz",
            "UTC",
        ],
        0,
    );
    assert_eq!(s(&json["next_run"]), "2026-11-20T12:00:00.000Z", "{json}");
    assert!(s(&json["note"]).contains("offsite run-due"), "{json}");
    assert!(s(&json["note"]).contains("offsite daemon"), "{json}");
}

#[test]
fn a_backup_whose_file_was_deleted_is_listed_as_missing() {
    let pg = TestCluster::shared();
    let mut cli = effects_cli(pg);
    cli.project(pg, "eff-gone", "CREATE TABLE t (id int);");
    let kept = cli.json_when(None, &["backup", "eff-gone"], 0);
    let gone = cli.json_when(None, &["backup", "eff-gone"], 0);
    std::fs::remove_file(s(&gone["path"])).unwrap();

    let listed = cli.json_when(None, &["backups", "eff-gone"], 0);
    let list = listed["backups"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let by_id = |id: &str| list.iter().find(|b| s(&b["id"]) == id).unwrap();
    assert_eq!(by_id(s(&gone["id"]))["missing"], true, "{listed}");
    assert_eq!(by_id(s(&kept["id"]))["missing"], false, "{listed}");

    let text = cli.text(None, &["backups", "eff-gone"], 0);
    let line = text
        .stdout
        .lines()
        .find(|l| l.contains(s(&gone["path"])))
        .unwrap();
    assert!(line.contains("MISSING"), "{line}");
    assert!(!text
        .stdout
        .lines()
        .find(|l| l.contains(s(&kept["path"])))
        .unwrap()
        .contains("MISSING"));
    assert!(text.stderr.contains("offsite forget"), "{}", text.stderr);

    // What the hint says to do works: the entry goes, the other backup stays.
    cli.json_when(None, &["forget", s(&gone["id"])], 0);
    let after = cli.json_when(None, &["backups", "eff-gone"], 0);
    let ids: Vec<&str> = after["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| s(&b["id"]))
        .collect();
    assert_eq!(ids, vec![s(&kept["id"])]);
    assert!(Path::new(s(&kept["path"])).exists());
}

// ---- item 10: plans that mislead ----------------------------------------------------------

const SHOP: &str = "CREATE TABLE customers (id int PRIMARY KEY, name text);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers, total int);
CREATE TABLE items (id int PRIMARY KEY, order_id int REFERENCES orders);
CREATE TABLE notes (id serial PRIMARY KEY, body text);
INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 5) g;
INSERT INTO orders SELECT g, 1 + g % 5, g FROM generate_series(1, 20) g;
INSERT INTO notes (body) SELECT 'n' || g FROM generate_series(1, 7) g;";

#[test]
fn an_into_schema_plan_into_a_database_holding_tables_does_not_say_empty() {
    let pg = TestCluster::shared();
    let mut cli = effects_cli(pg);
    let db = cli.project(pg, "plan-side", SHOP);
    let archive = cli.json_when(None, &["backup", "plan-side"], 0);
    let args = [
        "restore",
        s(&archive["path"]),
        "--to",
        "plan-side",
        "--table",
        "public.orders",
        "--into-schema",
        "yesterday",
        "--dry-run",
    ];
    let text = cli.text(None, &args, 0);
    let line = text
        .stdout
        .lines()
        .find(|l| l.contains("target is:"))
        .unwrap();
    assert!(
        !line.contains(": empty") && !line.ends_with("empty"),
        "{line}"
    );
    assert!(line.contains("NOT empty"), "{line}");
    assert!(line.contains("yesterday"), "{line}");
    let plan = cli.json_when(None, &args, 0);
    let objects = plan["database"]["target_objects"].as_u64().unwrap();
    assert!(objects >= 4, "the four tables at least: {plan}");
    // Nothing was changed by the dry run.
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'yesterday'"
        ),
        "0"
    );
}

#[test]
fn an_imported_sql_dump_plan_labels_psql_and_does_not_claim_zero_rows() {
    let pg = TestCluster::shared();
    let cli = effects_cli(pg);
    let src = pg.unique_db("plan_sql_src");
    pg.psql(&src, SHOP);
    let file = cli.data.path().join("shop.sql");
    let dumped = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .arg(&src)
        .output()
        .unwrap();
    assert!(dumped.status.success());
    std::fs::write(&file, dumped.stdout).unwrap();
    let o = cli.json_when(
        None,
        &[
            "import",
            p(&file),
            "--new-project",
            "plan-sql",
            "--db",
            &pg.url(&src),
        ],
        0,
    );
    let archive = s(&o["backup"]["path"]).to_string();
    let dst = pg.unique_db("plan_sql_dst");
    let args = [
        "restore",
        archive.as_str(),
        "--to",
        &pg.url(&dst),
        "--dry-run",
    ];
    let text = cli.text(None, &args, 0);
    assert!(
        text.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("psql:")),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains("pg_restore:"), "{}", text.stdout);
    assert!(!text.stdout.contains("0 row(s)"), "{}", text.stdout);
    assert!(!text.stdout.contains("0 rows"), "{}", text.stdout);
    assert!(
        text.stdout.contains("row counts unknown"),
        "{}",
        text.stdout
    );
    let plan = cli.json_when(None, &args, 0);
    assert_eq!(plan["database"]["rows_recorded"], false, "{plan}");
    assert!(s(&plan["database"]["pg_restore_version"]).starts_with("psql"));
}

#[test]
fn inspect_of_an_imported_custom_dump_lists_the_tables_its_preview_listed() {
    let pg = TestCluster::shared();
    let cli = effects_cli(pg);
    let src = pg.unique_db("inspect_fc_src");
    pg.psql(&src, SHOP);
    let file = cli.data.path().join("shop.dump");
    let dumped = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .args(["-Fc", "-f", p(&file)])
        .arg(&src)
        .output()
        .unwrap();
    assert!(dumped.status.success());
    let preview = cli.json_when(None, &["import", p(&file), "--preview"], 0);
    let previewed: Vec<String> = preview["preview"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{}.{}", s(&t["schema"]), s(&t["table"])))
        .collect();
    assert_eq!(previewed.len(), 4, "{preview}");
    let o = cli.json_when(
        None,
        &[
            "import",
            p(&file),
            "--new-project",
            "inspect-fc",
            "--db",
            &pg.url(&src),
        ],
        0,
    );
    let archive = s(&o["backup"]["path"]).to_string();

    let text = cli.text(None, &["inspect", &archive], 0);
    assert!(
        text.stdout
            .contains("tables:      4 (row counts not recorded)"),
        "{}",
        text.stdout
    );
    for t in &previewed {
        assert!(
            text.stdout.lines().any(|l| l.trim() == t),
            "{t}: {}",
            text.stdout
        );
    }
    let json = cli.json_when(None, &["inspect", &archive], 0);
    let mut listed: Vec<&str> = json["dump_tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    listed.sort();
    let mut want: Vec<&str> = previewed.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(listed, want);
}

// ---- item 11: a refused plan's dry run exits like the refused restore ---------------------

#[test]
fn dry_run_of_a_refused_plan_exits_with_the_refused_restores_code() {
    let pg = TestCluster::shared();
    let mut cli = effects_cli(pg);
    cli.project(pg, "plan-refused", SHOP);
    let archive = cli.json_when(None, &["backup", "plan-refused"], 0);
    let path = s(&archive["path"]).to_string();

    // A role that cannot own what postgres owned: a permission refusal (exit 7).
    let role = format!("newcomer_restorer_{}", std::process::id());
    pg.create_trusted_role(&role);
    let mine = pg.unique_db("plan_refused_mine");
    pg.psql(
        "postgres",
        &format!("ALTER DATABASE {mine} OWNER TO {role}"),
    );
    let url = format!("postgres://{role}@127.0.0.1:{}/{mine}", pg.port());
    let refused = cli.json_when(None, &["restore", &path, "--to", &url, "--yes"], 7);
    assert_eq!(s(&refused["error"]["code"]), "permission", "{refused}");
    let dry = cli.ran(
        None,
        &["--json", "restore", &path, "--to", &url, "--dry-run"],
    );
    assert_eq!(dry.code, Some(7), "{} {}", dry.stdout, dry.stderr);

    // Into the non-empty source without --replace: consent (exit 5) both ways.
    let refused = cli.json_when(
        None,
        &["restore", &path, "--to", "plan-refused", "--yes"],
        5,
    );
    assert_eq!(s(&refused["error"]["code"]), "needs_consent", "{refused}");
    let dry = cli.ran(
        None,
        &[
            "--json",
            "restore",
            &path,
            "--to",
            "plan-refused",
            "--dry-run",
        ],
    );
    assert_eq!(dry.code, Some(5), "{} {}", dry.stdout, dry.stderr);
}
