//! `offsite project set-selection` and `offsite backup --exclude-table-data` on a real database:
//! the selection saved and shown, a backup that leaves out a schema and a log table's rows,
//! `inspect` and `restore --dry-run` naming what was left out, hostile names refused before
//! pg_dump runs.

mod common;

use common::pg::{ok, ok_json, refused, run};
use offsite_testkit::TestCluster;

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_project_selection_is_saved_shown_used_and_said() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("clisel");
    pg.psql(
        &db,
        r#"CREATE TABLE orders (id int PRIMARY KEY);
           INSERT INTO orders SELECT generate_series(1, 30);
           CREATE TABLE logs (id int, line text);
           INSERT INTO logs SELECT g, 'x' FROM generate_series(1, 100) g;
           CREATE SCHEMA audit;
           CREATE TABLE audit.events (id int);
           CREATE TABLE "Big Log" (id int);
           INSERT INTO "Big Log" VALUES (1);"#,
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
    // Hostile names: refused, nothing saved.
    for bad in ["x; rm -rf /", "\"a\".\"b", "public.a\nb", "logs"] {
        refused(
            run(
                d,
                pg,
                &[
                    "project",
                    "set-selection",
                    "shop",
                    "--exclude-table-data",
                    bad,
                ],
            ),
            "is not a schema or table name",
        );
    }
    refused(
        run(
            d,
            pg,
            &[
                "project",
                "set-selection",
                "shop",
                "--table",
                "public.orders",
                "--schema",
                "public",
            ],
        ),
        "cannot also choose schemas",
    );
    let shown = text(&ok(run(d, pg, &["project", "show", "shop"]), "show"));
    assert!(shown.contains("selection:   whole database"), "{shown}");

    let saved = ok_json(
        run(
            d,
            pg,
            &[
                "--json",
                "project",
                "set-selection",
                "shop",
                "--exclude-schema",
                "audit",
                "--exclude-table-data",
                "public.logs",
                "--exclude-table-data",
                "public.\"Big Log\"",
            ],
        ),
        "set-selection",
    );
    assert_eq!(saved["selection"]["exclude_schemas"][0], "audit");
    assert_eq!(
        saved["selection"]["exclude_table_data"][1],
        "public.\"Big Log\""
    );
    let shown = text(&ok(run(d, pg, &["project", "show", "shop"]), "show"));
    assert!(shown.contains("schemas left out: audit"), "{shown}");
    assert!(shown.contains("public.logs, public.\"Big Log\""), "{shown}");

    let backed = ok_json(run(d, pg, &["--json", "backup", "shop"]), "backup");
    let id = backed["id"].as_str().unwrap().to_string();
    let inspected = text(&ok(run(d, pg, &["inspect", &id]), "inspect"));
    assert!(inspected.contains("schemas left out: audit"), "{inspected}");
    assert!(
        inspected.contains("data left out (tables restored empty): public.logs"),
        "{inspected}"
    );
    assert!(
        !inspected.contains("public.logs   "),
        "no row count for a table without rows: {inspected}"
    );

    let browsed = text(&ok(run(d, pg, &["browse", &id]), "browse"));
    assert!(
        browsed.contains("data left out (tables restored empty): public.logs"),
        "{browsed}"
    );
    assert!(browsed.contains("public.orders\t30 rows"), "{browsed}");

    let dst = pg.unique_db("clisel_dst");
    let plan = text(&ok(
        run(d, pg, &["restore", &id, "--to", &pg.url(&dst), "--dry-run"]),
        "restore --dry-run",
    ));
    assert!(plan.contains("selective backup"), "{plan}");

    // One run's own choice, the project's left alone.
    let one = ok_json(
        run(
            d,
            pg,
            &["--json", "backup", "shop", "--table", "public.orders"],
        ),
        "backup --table",
    );
    let m = ok_json(
        run(d, pg, &["--json", "inspect", one["id"].as_str().unwrap()]),
        "inspect",
    );
    assert_eq!(m["selection"]["tables"][0], "public.orders");
    assert_eq!(m["tables"].as_array().unwrap().len(), 1);
    refused(
        run(
            d,
            pg,
            &[
                "backup",
                "shop",
                "--exclude-table-data",
                "public.x; rm -rf ~",
            ],
        ),
        "is not a schema or table name",
    );

    let cleared = ok_json(
        run(
            d,
            pg,
            &["--json", "project", "set-selection", "shop", "--clear"],
        ),
        "clear",
    );
    assert_eq!(cleared["selection"], serde_json::json!({}));
}
