//! `offsite backup --note`, `backups` (text, --json, --stats), `status --json`'s statistics,
//! `pin`, `delete` and `canary` on a real database (issue 47): a runaway delete between two
//! backups flags the second one suspicious, naming the table and both counts.

mod common;

use common::pg::{ok, ok_json, refused, run};
use offsite_testkit::TestCluster;

#[test]
fn a_shrunken_backup_is_flagged_noted_counted_pinned_and_guarded_from_deletion() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clicanary");
    pg.psql(
        &db,
        "CREATE TABLE orders (id int PRIMARY KEY, note text); \
         INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 2000) g;",
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok_json(
        run(
            d,
            pg,
            &["--json", "project", "add", "shop", "--db", &pg.url(&db)],
        ),
        "project add",
    );
    let first = ok_json(
        run(
            d,
            pg,
            &["--json", "backup", "shop", "--note", "before the deploy"],
        ),
        "backup",
    );
    let first_id = first["id"].as_str().unwrap().to_string();
    pg.psql(&db, "DELETE FROM orders WHERE id % 20 <> 0;");
    // Archive names carry the second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = ok_json(run(d, pg, &["--json", "backup", "shop"]), "backup");
    let second_id = second["id"].as_str().unwrap().to_string();
    assert_eq!(
        second["suspicious"][0], "public.orders: 2,000 → 100 rows",
        "{second}"
    );
    assert_eq!(first["suspicious"].as_array().unwrap().len(), 0);

    let list = ok_json(run(d, pg, &["--json", "backups", "shop"]), "backups");
    let rows = list["backups"].as_array().unwrap();
    assert_eq!(rows[0]["id"], second_id.as_str());
    assert_eq!(
        rows[0]["suspicious"][0], "public.orders: 2,000 → 100 rows",
        "{list}"
    );
    // The archive shrank too (most of its data was that table).
    assert!(
        rows[0]["suspicious"][1]
            .as_str()
            .unwrap()
            .starts_with("archive "),
        "{list}"
    );
    assert_eq!(rows[1]["suspicious"].as_array().unwrap().len(), 0);
    assert_eq!(rows[1]["note"], "before the deploy");
    assert_eq!(rows[1]["trigger"], "cli");
    assert!(rows[1]["started_by"].is_string(), "{list}");
    let text = String::from_utf8(ok(run(d, pg, &["backups", "shop"]), "backups").stdout).unwrap();
    assert!(
        text.contains("SUSPICIOUS: public.orders: 2,000 → 100 rows"),
        "{text}"
    );
    assert!(text.contains("before the deploy"), "{text}");

    let stats = ok_json(
        run(d, pg, &["--json", "backups", "shop", "--stats"]),
        "stats",
    );
    assert_eq!(stats["count"], 2, "{stats}");
    assert_eq!(stats["suspicious"], 1);
    assert_eq!(stats["by_type"][0]["backup_type"], "database");
    assert_eq!(stats["destinations"][0]["copies"], 2);
    let text =
        String::from_utf8(ok(run(d, pg, &["backups", "shop", "--stats"]), "stats").stdout).unwrap();
    assert!(text.starts_with("shop: 2 backups"), "{text}");
    let status = common::pg::json(&run(d, pg, &["--json", "status", "shop"]));
    assert_eq!(status["projects"][0]["stats"]["count"], 2, "{status}");

    let pinned = ok_json(run(d, pg, &["--json", "pin", &first_id]), "pin");
    assert_eq!(pinned["pinned"], true);
    let list = ok_json(run(d, pg, &["--json", "backups", "shop"]), "backups");
    assert_eq!(list["backups"][1]["pinned"], true);
    ok(run(d, pg, &["unpin", &first_id]), "unpin");

    // Not at a terminal, without --yes: asks for consent (exit 5), deletes nothing.
    let out = run(d, pg, &["delete", &first_id]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    // The newest good backup's only copy needs --force.
    refused(
        run(d, pg, &["delete", "shop:latest", "--yes"]),
        "or delete it anyway from a terminal: offsite delete ",
    );
    let done = ok_json(
        run(d, pg, &["--json", "delete", &first_id, "--yes"]),
        "delete",
    );
    assert_eq!(done["file_deleted"], true, "{done}");
    let list = ok_json(run(d, pg, &["--json", "backups", "shop"]), "backups");
    assert_eq!(list["backups"].as_array().unwrap().len(), 1);

    let t = ok_json(
        run(d, pg, &["--json", "canary", "shop", "--table-drop", "80"]),
        "canary",
    );
    assert_eq!(t["table_drop_pct"], 80);
    assert_eq!(t["archive_drop_pct"], 50);
    refused(run(d, pg, &["canary", "shop", "--table-drop", "0"]), "0");
}
