//! "Recover these rows…" through the app's commands against a real cluster: the plan writes
//! nothing, the recovery is one job of kind `recover` (not `restore`) whose `job-finished`
//! carries the per-table report and the undo id, and the undo is a job that puts the rows back.

use super::*;

#[test]
fn recover_plans_runs_as_a_recover_job_and_undoes() {
    let pg = offsite_testkit::TestCluster::shared();
    let db = pg.unique_db("desk_recover");
    pg.psql(
        &db,
        "CREATE TABLE orgs (id int PRIMARY KEY, name text);
         CREATE TABLE projects (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs ON DELETE CASCADE, title text);
         INSERT INTO orgs VALUES (1, 'Acme'), (2, 'Globex');
         INSERT INTO projects SELECT g, 1 + g % 2, 'p' || g FROM generate_series(1, 10) g;",
    );
    let t = test_app();
    let rx = job_events(&t);
    invoke(
        &t,
        "add_project",
        json!({ "request": { "name": "rec", "connection": { "url": pg.url_with_password(&db) }, "tls": "disable", "password": null, "backup_dir": null } }),
    )
    .unwrap();
    let backup_job = invoke(&t, "start_backup", json!({ "project": "rec" })).unwrap();
    let (_, finished) = wait_for_job(&rx, backup_job.as_str().unwrap());
    assert_eq!(finished["ok"], true, "{finished}");
    let archive = finished["result"]["backup"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    pg.psql(&db, "DELETE FROM orgs WHERE id = 2");

    let request = json!({
        "archive": archive,
        "rows": { "table": "public.orgs", "filters": [{ "column": "id", "value": "2" }], "children": true, "on_conflict": "keep", "key_columns": [] },
        "to": { "project": "rec" },
        "dry_run": false,
    });
    let plan = invoke(&t, "plan_recover", json!({ "request": request })).unwrap();
    assert_eq!(plan["dry_run"], true, "{plan}");
    let inserts = |report: &Value| -> Vec<(String, u64)> {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["table"].as_str().unwrap().to_string(),
                    x["insert"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        inserts(&plan),
        [("orgs".to_string(), 1), ("projects".to_string(), 5)],
        "{plan}"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM projects"),
        "5",
        "a plan writes nothing"
    );

    let job = invoke(&t, "start_recover", json!({ "request": request })).unwrap();
    let (progress, finished) = wait_for_job(&rx, job.as_str().unwrap());
    assert_eq!(finished["ok"], true, "{finished}");
    assert_eq!(finished["kind"], "recover");
    assert_eq!(finished["result"]["kind"], "recover");
    assert!(!progress.is_empty());
    let report = &finished["result"]["report"];
    assert_eq!(inserts(report), inserts(&plan));
    let undo_id = report["undo_id"].as_str().unwrap().to_string();
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM projects WHERE org_id = 2"),
        "5"
    );
    let jobs = invoke(&t, "list_jobs", json!({ "project": "rec", "limit": 10 })).unwrap();
    let kinds: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["recover", "backup"], "{jobs}");

    // The recovered organization is edited after the recovery: the undo leaves it, and reports it.
    pg.psql(&db, "UPDATE orgs SET name = 'edited since' WHERE id = 2");
    let undo = invoke(
        &t,
        "start_recover_undo",
        json!({ "undoId": undo_id, "password": null }),
    )
    .unwrap();
    let (_, undone) = wait_for_job(&rx, undo.as_str().unwrap());
    assert_eq!(undone["ok"], true, "{undone}");
    assert_eq!(undone["kind"], "recover");
    assert_eq!(undone["result"]["kind"], "recover_undo");
    let left: u64 = undone["result"]["report"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["changed_since"].as_u64().unwrap())
        .sum();
    assert_eq!(left, 1, "the row edited since is left: {undone}");
    assert_eq!(
        pg.psql(&db, "SELECT name FROM orgs WHERE id = 2"),
        "edited since"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM projects WHERE org_id = 2"),
        "0"
    );
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM projects"), "5");

    let again = invoke(
        &t,
        "start_recover_undo",
        json!({ "undoId": "../../etc/passwd", "password": null }),
    )
    .unwrap();
    let (_, refused) = wait_for_job(&rx, again.as_str().unwrap());
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"]["code"], "invalid_input", "{refused}");
}
