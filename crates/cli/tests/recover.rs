//! `offsite recover` as scripts use it: the plan as JSON, the refusal without --yes, the
//! recovery, `--undo`; and memory that does not grow with the tables read (peak RSS of the
//! process, measured by GNU time).

mod common;

use common::pg::{json, measured, offsite, ok};
use offsite_testkit::TestCluster;
use serde_json::Value;

fn table<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn recover_plans_asks_writes_and_undoes_with_flat_memory() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clirecover");
    // Two tenants; ~40 MB of COPY text in `events`, almost all of it the other tenant's.
    pg.psql(
        &db,
        "CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);
         CREATE TABLE events (id bigserial PRIMARY KEY, org_id int NOT NULL REFERENCES orgs(id), body text);
         INSERT INTO orgs VALUES (1, 'small'), (2, 'big');
         INSERT INTO events (org_id, body) SELECT CASE WHEN g % 1000 = 0 THEN 1 ELSE 2 END, repeat(md5(g::text), 4)
           FROM generate_series(1, 300000) g;",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(
        offsite(d, pg, &["project", "add", "shop", "--db", &pg.url(&db)])
            .output()
            .unwrap(),
        "project add",
    );
    ok(
        offsite(d, pg, &["--json", "backup", "shop"])
            .output()
            .unwrap(),
        "backup",
    );
    pg.psql(
        &db,
        "DELETE FROM events WHERE org_id = 1; DELETE FROM orgs WHERE id = 1;",
    );
    let args = [
        "recover",
        "shop:latest",
        "--table",
        "orgs",
        "--where",
        "id=1",
        "--children",
        "--to",
        "shop",
    ];

    let plan = json(&ok(
        offsite(d, pg, &[&["--json"][..], &args, &["--dry-run"]].concat())
            .output()
            .unwrap(),
        "dry run",
    ));
    assert_eq!(plan["dry_run"], true);
    assert_eq!(table(&plan, "orgs")["insert"], 1);
    assert_eq!(table(&plan, "events")["insert"], 300);

    // Not interactive, no --yes: refused, nothing written.
    let refused = offsite(d, pg, &[&["--json"][..], &args].concat())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("needs_consent")
            || String::from_utf8_lossy(&refused.stdout).contains("needs_consent"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM events WHERE org_id = 1"),
        "0"
    );

    let (out, kib) = measured(d, pg, &[&["--json"][..], &args, &["--yes"]].concat());
    let done = json(&ok(out, "recover --yes"));
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM events WHERE org_id = 1"),
        "300"
    );
    println!(
        "peak RSS of recover reading ~40 MB of COPY text: {} MiB",
        kib / 1024
    );
    assert!(kib < 64 * 1024, "recover's peak RSS was {kib} KiB");

    let id = done["undo_id"].as_str().expect("an undo id").to_string();
    let undone = json(&ok(
        offsite(d, pg, &["--json", "recover", "--undo", &id])
            .output()
            .unwrap(),
        "undo",
    ));
    assert_eq!(undone["tables"][1]["deleted"], 300, "{undone}");
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM orgs WHERE id = 1"), "0");
}
