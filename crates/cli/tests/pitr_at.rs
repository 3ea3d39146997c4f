//! `PROJECT@TIME` in diff, recover, browse and drill (issue 46, docs/pitr.md), through the
//! `offsite` binary on a real cluster, as a role with REPLICATION but not SUPERUSER. One capture
//! set up for every assertion: rows written at t1 and between t1 and t2 (inserts, updates, a
//! delete), captured by `pitr run --once`; then `diff shop@t1 shop@t2` counts exactly those
//! changes, `recover shop@t1` brings back a row deleted after t1, `browse shop@t1` shows t1's
//! rows, `drill shop@t1` passes naming the time and the commit; a time before the base is
//! refused naming the nearest restorable time, and malformed references are refused naming
//! them. Nothing is left in the data folder's `pitr-at` afterwards, nor after a Ctrl-C while a
//! state is being made. The database has an extension only a superuser may create.

mod common;

use common::pg::{offsite, ok_json, refused, run, server_now, wait_past};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const ROLE: &str = "pitr_at_owner";

fn owner_url(pg: &TestCluster, db: &str) -> String {
    format!("postgres://{ROLE}@127.0.0.1:{}/{db}", pg.port())
}

fn sql(pg: &TestCluster, db: &str, q: &str) -> String {
    pg.psql_url(&owner_url(pg, db), q)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .trim()
        .to_string()
}

fn orders_of(v: &Value) -> Value {
    v["tables"]
        .as_array()
        .unwrap_or_else(|| panic!("no tables: {v}"))
        .iter()
        .find(|t| t["table"] == "orders" || t["name"] == "orders")
        .unwrap_or_else(|| panic!("no orders: {v}"))
        .clone()
}

/// Nothing of a materialised state is left: no archive, no cluster.
fn nothing_left(d: &Path) {
    for dir in ["pitr-at", "drill-clusters"] {
        let left: Vec<_> = std::fs::read_dir(d.join(dir))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with(".offsite-folder"))
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "{dir} holds {left:?}");
    }
}

#[test]
fn project_at_time_in_diff_recover_browse_and_drill() {
    let pg = TestCluster::start();
    pg.create_trusted_role(ROLE);
    pg.psql("postgres", &format!("ALTER ROLE {ROLE} REPLICATION"));
    let db = "pitr_at_shop";
    pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {ROLE}"));
    sql(
        &pg,
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text, qty int NOT NULL);
         INSERT INTO public.orders (note, qty) SELECT 'before ' || g, g FROM generate_series(1, 50) g;",
    );
    // An extension only a superuser may create: made first in the throwaway cluster.
    pg.psql(db, "CREATE EXTENSION pgstattuple");
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let url = owner_url(&pg, db);
    ok_json(
        run(d, &pg, &["--json", "project", "add", "shop", "--db", &url]),
        "project add",
    );
    let before_base = server_now(&pg);
    std::thread::sleep(Duration::from_millis(50));
    ok_json(run(d, &pg, &["--json", "pitr", "enable", "shop"]), "enable");

    // t1: 5 rows more (51..55). Between t1 and t2: 3 more (56..58), 2 changed, 51 deleted.
    for k in 0..5 {
        sql(
            &pg,
            db,
            &format!("INSERT INTO public.orders (note, qty) VALUES ('t1 #{k}', {k})"),
        );
    }
    let t1 = server_now(&pg);
    sql(
        &pg,
        db,
        "INSERT INTO public.orders (note, qty) SELECT 't2 ' || g, g FROM generate_series(1, 3) g",
    );
    sql(
        &pg,
        db,
        "UPDATE public.orders SET qty = qty + 100 WHERE id IN (1, 2)",
    );
    sql(&pg, db, "DELETE FROM public.orders WHERE id = 51");
    let t2 = server_now(&pg);
    wait_past(&pg, &t2);
    ok_json(
        run(d, &pg, &["--json", "pitr", "run", "shop", "--once"]),
        "pitr run --once",
    );
    let at1 = format!("shop@{t1}");
    let at2 = format!("shop@{t2}");

    // diff: exactly the rows written between t1 and t2; each side names its base and commit.
    let diff = ok_json(
        run(
            d,
            &pg,
            &["--json", "diff", &at1, &at2, "--table", "public.orders"],
        ),
        "diff shop@t1 shop@t2",
    );
    let o = orders_of(&diff);
    assert_eq!(
        (
            o["added"].as_u64(),
            o["removed"].as_u64(),
            o["changed"].as_u64()
        ),
        (Some(3), Some(1), Some(2)),
        "{diff}"
    );
    assert_eq!(o["rows_from"], 55, "{diff}");
    assert_eq!(o["rows_to"], 57, "{diff}");
    for (side, t) in [("from", &t1), ("to", &t2)] {
        let label = diff[side].as_str().unwrap_or_default();
        assert!(
            label.contains(&format!("as at {}", &t[..19])) && label.contains("(LSN "),
            "{side}: {label}"
        );
    }

    // Text mode says, before, the base and the commit each side replays up to.
    let text = run(d, &pg, &["diff", &at1, &at2, "--table", "public.orders"]);
    let err = String::from_utf8_lossy(&text.stderr);
    assert!(text.status.success(), "{err}");
    assert!(
        err.contains(&format!("{at1}: restoring base "))
            && err.contains("replaying changes up to "),
        "{err}"
    );

    // browse: the rows as they were at t1.
    let t0 = std::time::Instant::now();
    let tables = ok_json(run(d, &pg, &["--json", "browse", &at1]), "browse shop@t1");
    println!(
        "browse shop@t1 (state made, listed, removed): {:?}",
        t0.elapsed()
    );
    assert_eq!(orders_of(&tables)["rows"], 55, "{tables}");
    assert!(tables["at"]["commit_lsn"].is_string(), "{tables}");
    assert!(tables["at"]["base_backup_id"].is_string(), "{tables}");

    // recover: row 51, deleted after t1, comes back from shop@t1.
    assert_eq!(
        sql(&pg, db, "SELECT count(*) FROM public.orders WHERE id = 51"),
        "0"
    );
    let done = ok_json(
        run(
            d,
            &pg,
            &[
                "--json",
                "recover",
                &at1,
                "--table",
                "public.orders",
                "--where",
                "id=51",
                "--to",
                &url,
                "--yes",
            ],
        ),
        "recover shop@t1",
    );
    assert_eq!(
        sql(&pg, db, "SELECT note FROM public.orders WHERE id = 51"),
        "t1 #0",
        "{done}"
    );
    assert!(
        done["at"]["commit_at"].as_str().unwrap() <= t1.as_str(),
        "{done}"
    );

    // drill: passes, and its report names the time and the commit.
    let drill = ok_json(run(d, &pg, &["--json", "drill", &at1]), "drill shop@t1");
    let report = if drill["report"].is_object() {
        &drill["report"]
    } else {
        &drill
    };
    assert_eq!(report["verdict"], "passed", "{drill}");
    let pit = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "point_in_time")
        .unwrap_or_else(|| panic!("no point_in_time check: {drill}"));
    // In words on the check; the engine's line (the exact time, the LSN) under its Details.
    let title = pit["title"].as_str().unwrap();
    assert!(title.contains(&t1[..19].replace('T', " ")), "{title}");
    let detail = pit["detail"].as_str().unwrap();
    assert!(
        detail.contains(&t1[..19]) && detail.contains("(LSN "),
        "{detail}"
    );

    // A time before the base: refused, naming the nearest restorable time.
    let before = format!("shop@{before_base}");
    refused(
        run(d, &pg, &["diff", &before, &at1]),
        "nearest restorable times: before none, after ",
    );
    refused(
        run(d, &pg, &["browse", &before]),
        "nearest restorable times: before none, after ",
    );
    // Malformed references: named, and why.
    refused(
        run(d, &pg, &["browse", &format!("shop@{t1}@x")]),
        "more than one @",
    );
    refused(
        run(d, &pg, &["browse", "shop@yesterday"]),
        "\"shop@yesterday\" is not PROJECT@TIME",
    );
    refused(
        run(d, &pg, &["diff", &format!("sh;op@{t1}"), &at1]),
        "invalid project name",
    );
    nothing_left(d);

    // Cancelled (Ctrl-C) while the state is being made: nothing left either.
    let child = offsite(d, &pg, &["--json", "browse", &at1])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    println!("browse cancelled after 1.2 s: {}", out.status);
    nothing_left(d);
}
