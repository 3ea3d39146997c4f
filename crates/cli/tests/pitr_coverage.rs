//! What the logical capture covers, through the `offsite` binary (issue 46), as a role with
//! REPLICATION but not SUPERUSER: a table without a replica identity is offered
//! `REPLICA IDENTITY FULL` (`pitr enable --replica-identity-full`), after which its updates and
//! deletes are captured and restored at a time exactly; names that are not existing uncovered
//! tables of this role are refused and nothing is altered. Large objects and unlogged tables
//! are said as not covered by `enable`, `status` and the restore's plan.

mod common;

use common::pg::{ok, ok_json, refused, run, server_now, wait_past};
use common::pitr::{project_with, sql, ROLE};
use offsite_testkit::TestCluster;
use std::time::Duration;

fn text(out: std::process::Output) -> String {
    String::from_utf8(out.stdout).unwrap()
}

/// Every row of the keyless table (duplicates kept) and of the orders.
fn state(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT (SELECT coalesce(md5(string_agg(h::text, '|' ORDER BY h::text)), '-') \
           FROM public.pgbench_history h) || ' ' || (SELECT count(*) FROM public.pgbench_history) \
         || ' ' || (SELECT coalesce(md5(string_agg(o::text, '|' ORDER BY id)), '-') FROM public.orders o)",
    )
    .trim()
    .to_string()
}

fn identity(pg: &TestCluster, db: &str, table: &str) -> String {
    pg.psql(
        db,
        &format!("SELECT relreplident FROM pg_class WHERE oid = '{table}'::regclass"),
    )
    .trim()
    .to_string()
}

#[test]
fn a_keyless_table_is_captured_with_replica_identity_full() {
    let db = "pitr_ident";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text);
         CREATE TABLE public.pgbench_history (tid int, bid int, aid int, delta int,
                                              mtime timestamp, filler char(22));",
    );
    let d = data.path();
    // Keyless and not this role's: ALTER TABLE needs its owner.
    pg.psql(
        db,
        &format!(
            "CREATE TABLE public.admin_log (n int); GRANT SELECT ON public.admin_log TO {ROLE}"
        ),
    );

    // Not covered, and the next step named.
    let out = text(ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable"));
    assert!(
        out.contains("not covered: public.pgbench_history: no replica identity"),
        "{out}"
    );
    let next = out
        .lines()
        .find(|l| l.starts_with("next step:"))
        .unwrap_or_else(|| panic!("no next step: {out}"));
    assert!(
        next.contains("offsite pitr enable shop --replica-identity-full public.pgbench_history")
            && !next.contains("admin_log"),
        "{next}"
    );

    // Names that are not existing uncovered tables of this role: refused, nothing altered.
    let hostile = "public.pgbench_history; DROP TABLE public.orders; --";
    let args = |which: &'static str| ["pitr", "enable", "shop", "--replica-identity-full", which];
    refused(run(d, &pg, &args(hostile)), "no table named");
    refused(
        run(
            d,
            &pg,
            &args("pgbench_history\" REPLICA IDENTITY FULL; DROP TABLE orders; --"),
        ),
        "no table named",
    );
    refused(
        run(d, &pg, &args("public.pgbench_history,public.nosuch")),
        "no table named \"public.nosuch\"",
    );
    refused(
        run(d, &pg, &args("public.orders")),
        "has a replica identity already",
    );
    refused(
        run(d, &pg, &args("public.admin_log")),
        "public.admin_log is not owned by this role: ALTER TABLE … REPLICA IDENTITY FULL needs the table's owner",
    );
    assert_eq!(identity(&pg, db, "public.pgbench_history"), "d");
    assert_eq!(identity(&pg, db, "public.admin_log"), "d");
    assert_eq!(
        pg.psql(db, "SELECT count(*) FROM pg_class WHERE relname = 'orders'")
            .trim(),
        "1"
    );

    // Offered while capture runs: the table's identity is set and a new chain captures it.
    let e = ok_json(
        run(
            d,
            &pg,
            &[
                "--json",
                "pitr",
                "enable",
                "shop",
                "--replica-identity-full",
                "all-uncovered",
            ],
        ),
        "pitr enable --replica-identity-full",
    );
    assert_eq!(identity(&pg, db, "public.pgbench_history"), "f");
    assert_eq!(identity(&pg, db, "public.admin_log"), "d");
    let covered = e["coverage"]["covered"].to_string();
    assert!(covered.contains("public.pgbench_history"), "{e}");
    assert_eq!(
        e["coverage"]["no_replica_identity"],
        serde_json::json!([]),
        "{e}"
    );
    assert!(
        e["coverage"]["not_covered"]
            .to_string()
            .contains("public.admin_log"),
        "{e}"
    );

    // Updates and deletes of the keyless table, duplicates and NULLs among its rows.
    let rounds = [
        "INSERT INTO public.pgbench_history VALUES
           (1, 1, 1, 10, '2026-01-01 00:00:00', 'a'), (1, 1, 1, 10, '2026-01-01 00:00:00', 'a'),
           (2, 1, 5, -3, NULL, NULL), (3, 2, 7, 5, '2026-01-02 12:00:00', 'b');
         INSERT INTO public.orders (note) VALUES ('one')",
        "UPDATE public.pgbench_history SET delta = delta + 100 WHERE tid = 2;
         DELETE FROM public.pgbench_history WHERE ctid = (SELECT min(ctid) FROM public.pgbench_history WHERE tid = 1)",
        "UPDATE public.pgbench_history SET filler = 'z', mtime = NULL WHERE tid = 1;
         DELETE FROM public.pgbench_history WHERE tid = 3;
         INSERT INTO public.pgbench_history VALUES (4, 4, 4, 4, NULL, 'd');
         INSERT INTO public.orders (note) VALUES ('two')",
        "DELETE FROM public.pgbench_history WHERE delta = 4; UPDATE public.orders SET note = 'x'",
    ];
    let mut instants = Vec::new();
    for r in rounds {
        for stmt in r.split(";\n") {
            sql(&pg, db, stmt);
        }
        instants.push((server_now(&pg), state(&pg, db)));
    }
    let states: std::collections::HashSet<_> = instants.iter().map(|(_, s)| s).collect();
    assert_eq!(
        states.len(),
        instants.len(),
        "each instant differs: {instants:?}"
    );
    std::thread::sleep(Duration::from_millis(1200));
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");

    for (i, (at, want)) in instants.iter().enumerate() {
        let target = format!("pitr_ident_at_{i}");
        pg.create_db(&target);
        let done = ok_json(
            run(
                d,
                &pg,
                &[
                    "--json",
                    "restore",
                    "shop",
                    "--at",
                    at,
                    "--to",
                    &pg.url(&target),
                ],
            ),
            "restore --at",
        );
        assert_eq!(&state(&pg, &target), want, "instant {i} ({at}): {done}");
    }
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
}

/// Large objects and unlogged tables are not carried by logical replication: `enable`,
/// `status` and the plan of a restore to a time say so.
#[test]
fn large_objects_and_unlogged_tables_are_said_not_covered() {
    let db = "pitr_lo";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.orders (id serial PRIMARY KEY, note text);
         CREATE UNLOGGED TABLE public.cache (k int PRIMARY KEY, v text);
         SELECT lo_from_bytea(0, 'a large object');",
    );
    let d = data.path();
    let lo = "not covered: large objects (pg_largeobject): 1 large object(s)";
    let unlogged = "not covered: public.cache: unlogged";
    let out = text(ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable"));
    assert!(out.contains(lo) && out.contains(unlogged), "{out}");
    assert!(!out.contains("next step"), "{out}");
    let out = text(ok(run(d, &pg, &["pitr", "status", "shop"]), "pitr status"));
    assert!(out.contains(lo) && out.contains(unlogged), "{out}");
    sql(&pg, db, "INSERT INTO public.orders (note) VALUES ('one')");
    let at = server_now(&pg);
    wait_past(&pg, &at);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    let plan = text(ok(
        run(
            d,
            &pg,
            &[
                "restore",
                "shop",
                "--at",
                &at,
                "--to",
                &pg.url("postgres"),
                "--dry-run",
            ],
        ),
        "restore --at --dry-run",
    ));
    assert!(
        plan.contains(
            "not covered (as in the base): large objects (pg_largeobject): 1 large object(s)"
        ) && plan.contains("not covered (as in the base): public.cache: unlogged"),
        "{plan}"
    );
    ok(run(d, &pg, &["pitr", "disable", "shop"]), "pitr disable");
}

/// `json` keeps its text as written (whitespace, key order, duplicate keys); a restore to a
/// time gives that text exactly, for inserted, updated and deleted rows — also of a keyless
/// table whose rows are found by every column (json has no equality operator).
#[test]
fn json_columns_are_restored_to_their_exact_text() {
    let db = "pitr_json";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.docs (id int PRIMARY KEY, j json, jb jsonb);
         CREATE TABLE public.events (j json, n int);",
    );
    let d = data.path();
    ok(
        run(
            d,
            &pg,
            &[
                "pitr",
                "enable",
                "shop",
                "--replica-identity-full",
                "public.events",
            ],
        ),
        "pitr enable",
    );
    let state = |db: &str| {
        pg.psql(
            db,
            "SELECT (SELECT coalesce(string_agg(id || '=' || coalesce(j::text, 'NULL') || '/' || coalesce(jb::text, 'NULL'), '|' ORDER BY id), '-') FROM public.docs) \
             || ' # ' || (SELECT coalesce(string_agg(coalesce(j::text, 'NULL') || '/' || n, '|' ORDER BY j::text, n), '-') FROM public.events)",
        )
        .trim()
        .to_string()
    };
    let rounds = [
        r#"INSERT INTO public.docs VALUES (1, '{ "b" : 1,  "a":2, "a" : 3 }', '{"b": 1, "a": 2}'),
             (2, '  [1,   2 ,"x\"y", {"z":null}]  ', NULL), (3, '"just a string"', '"s"'), (4, NULL, '{}');
           INSERT INTO public.events VALUES ('{"k":  1}', 1), ('{"k":  1}', 1), ('{ "k" : 2 }', 2), (NULL, 3)"#,
        r#"UPDATE public.docs SET j = '{"z":1,   "a":0}' WHERE id = 1;
           UPDATE public.events SET n = 10 WHERE j::text = '{ "k" : 2 }';
           DELETE FROM public.events WHERE ctid = (SELECT min(ctid) FROM public.events WHERE n = 1)"#,
        r#"DELETE FROM public.docs WHERE id = 2; UPDATE public.docs SET jb = '{"c": [1, 2]}' WHERE id = 3;
           UPDATE public.events SET j = '{  "k":3 ,"k":4}' WHERE n = 10"#,
    ];
    let mut instants = Vec::new();
    for r in rounds {
        sql(&pg, db, r);
        instants.push((server_now(&pg), state(db)));
    }
    assert!(
        instants[0].1.contains(r#"{ "b" : 1,  "a":2, "a" : 3 }"#),
        "{instants:?}"
    );
    std::thread::sleep(Duration::from_millis(1200));
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");
    for (i, (at, want)) in instants.iter().enumerate() {
        let target = format!("pitr_json_at_{i}");
        pg.create_db(&target);
        ok(
            run(
                d,
                &pg,
                &["restore", "shop", "--at", at, "--to", &pg.url(&target)],
            ),
            "restore --at",
        );
        assert_eq!(&state(&target), want, "instant {i} ({at})");
    }
}

/// What a trigger did at the source (an `updated_at`, an audit row) was captured as changes of
/// its own: the target's triggers must not fire again on replay — neither as a superuser (the
/// replay runs as a replica) nor as the tables' owner without superuser (their triggers are
/// disabled while it runs, and enabled again after).
#[test]
fn triggers_do_not_fire_again_on_replay() {
    let db = "pitr_trig";
    let (pg, data) = project_with(
        db,
        "CREATE TABLE public.orders (id int PRIMARY KEY, note text, updated_at timestamptz);
         CREATE TABLE public.audit (id serial PRIMARY KEY, order_id int, what text);
         CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS
           $$BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END$$;
         CREATE FUNCTION public.log() RETURNS trigger LANGUAGE plpgsql AS
           $$BEGIN INSERT INTO public.audit (order_id, what) VALUES (NEW.id, TG_OP); RETURN NEW; END$$;
         CREATE TRIGGER touch BEFORE INSERT OR UPDATE ON public.orders
           FOR EACH ROW EXECUTE FUNCTION public.touch();
         CREATE TRIGGER log AFTER INSERT OR UPDATE ON public.orders
           FOR EACH ROW EXECUTE FUNCTION public.log();",
    );
    let d = data.path();
    ok(run(d, &pg, &["pitr", "enable", "shop"]), "pitr enable");
    let state = |db: &str| {
        pg.psql(
            db,
            "SELECT (SELECT string_agg(o::text, '|' ORDER BY id) FROM public.orders o) || ' # ' \
             || (SELECT string_agg(a::text, '|' ORDER BY id) FROM public.audit a)",
        )
        .trim()
        .to_string()
    };
    sql(
        &pg,
        db,
        "INSERT INTO public.orders (id, note) VALUES (1, 'a'), (2, 'b')",
    );
    sql(&pg, db, "UPDATE public.orders SET note = 'c' WHERE id = 1");
    let at = server_now(&pg);
    let want = state(db);
    assert!(want.contains("INSERT") && want.contains("UPDATE"), "{want}");
    wait_past(&pg, &at);
    ok(run(d, &pg, &["pitr", "run", "shop", "--once"]), "pitr run");

    // As a superuser, and as the owner (no superuser).
    pg.create_db("pitr_trig_su");
    pg.psql(
        "postgres",
        &format!("CREATE DATABASE pitr_trig_owner OWNER {ROLE}"),
    );
    for (target, url) in [
        ("pitr_trig_su", pg.url("pitr_trig_su")),
        (
            "pitr_trig_owner",
            common::pitr::owner_url(&pg, "pitr_trig_owner"),
        ),
    ] {
        ok(
            run(d, &pg, &["restore", "shop", "--at", &at, "--to", &url]),
            "restore --at",
        );
        assert_eq!(state(target), want, "{target}");
        // The triggers are there and enabled, as at the source.
        assert_eq!(
            pg.psql(
                target,
                "SELECT string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger \
                 WHERE tgrelid = 'public.orders'::regclass AND NOT tgisinternal"
            )
            .trim(),
            "log:O,touch:O",
            "{target}"
        );
    }
}
