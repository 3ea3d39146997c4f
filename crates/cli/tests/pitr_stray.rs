//! Stray slots reported by the capture itself (issue 46: "a slot left behind by a removed agent
//! or a deleted project is found and reported — never left filling a disk in silence"), through
//! the `offsite` binary, as a role with REPLICATION but not SUPERUSER: a slot named like
//! Offsite's that no chain of this catalog owns, made by SQL on a throwaway cluster, raises one
//! `pitr_stray_slot` alert at the project's webhook from a capture pass — once across passes;
//! again when it went and came back.

mod common;

use common::hook::Hook;
use common::pg::{ok, ok_json, run, run_env};
use common::pitr::{project_with, sql, ROLE};

const STRAY: &str = "offsite_pitr_left_behind";

#[test]
fn a_stray_slot_alerts_once_from_the_capture() {
    let db = "pitr_stray";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text);",
    );
    let d = data.path();
    let hook = Hook::added(d, &pg);
    let env = hook.env();
    let events = || hook.events("pitr_stray_slot");
    let pass = |what: &str| {
        ok_json(
            run_env(d, &pg, &env, &["--json", "pitr", "run", "shop", "--once"]),
            what,
        )
    };
    ok(
        run_env(d, &pg, &env, &["pitr", "enable", "shop"]),
        "pitr enable",
    );
    // The capture's own slot is no stray.
    pass("pitr run, no stray");
    assert!(events().is_empty(), "{:?}", events());

    // A slot left behind (as by a removed agent), holding WAL as the database is written.
    let create = format!("SELECT pg_create_logical_replication_slot('{STRAY}', 'pgoutput')");
    pg.psql(db, &create);
    for k in 0..20 {
        sql(
            &pg,
            db,
            &format!("INSERT INTO public.orders (note) VALUES ('w{k}')"),
        );
    }
    let first = pass("pitr run with a stray");
    assert!(first["dropped"].is_null(), "the capture goes on: {first}");
    let got = events();
    assert_eq!(got.len(), 1, "{got:?}");
    let e = &got[0];
    assert_eq!(e["project"]["name"], "shop", "{e}");
    assert_eq!(e["severity"], "warning", "{e}");
    assert_eq!(e["details"]["slot"], STRAY, "{e}");
    assert_eq!(e["details"]["active"], false, "{e}");
    assert!(e["details"]["retained_bytes"].as_i64().unwrap() > 0, "{e}");
    assert_eq!(
        e["details"]["drop_sql"],
        format!("SELECT pg_drop_replication_slot('{STRAY}')"),
        "{e}"
    );
    let summary = e["summary"].as_str().unwrap();
    assert!(
        summary.contains(STRAY) && summary.contains("not in use") && summary.contains("of WAL"),
        "{summary}"
    );
    let todo = e["details"]["what_to_do"].as_str().unwrap();
    assert!(
        todo.contains("another Offsite catalog") && todo.contains("pg_drop_replication_slot"),
        "{todo}"
    );
    // The server is named, never the role or a URL.
    let text = e.to_string();
    assert!(
        !text.contains(&format!("{ROLE}@")) && !text.contains("postgres://"),
        "{text}"
    );
    // The capture's own slot is not reported.
    let own = pg
        .psql(
            "postgres",
            &format!("SELECT slot_name FROM pg_replication_slots WHERE slot_name <> '{STRAY}'"),
        )
        .trim()
        .to_string();
    assert!(!text.contains(&own), "{own}: {text}");

    // The next passes (new processes: the report is the catalog's) say nothing more.
    pass("pitr run, stray reported");
    pass("pitr run, stray reported");
    assert_eq!(events().len(), 1, "{:?}", events());

    // Gone, then back: reported again.
    pg.psql(db, &format!("SELECT pg_drop_replication_slot('{STRAY}')"));
    pass("pitr run, stray gone");
    assert_eq!(events().len(), 1, "{:?}", events());
    pg.psql(db, &create);
    pass("pitr run, stray back");
    assert_eq!(events().len(), 2, "{:?}", events());

    // Status lists it too, as before.
    let status = ok_json(run(d, &pg, &["--json", "pitr", "status", "shop"]), "status");
    assert_eq!(status["stray_slots"][0]["slot"], STRAY, "{status}");
}
