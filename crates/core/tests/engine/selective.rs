//! Selective restore, as an administrator uses it: bring back yesterday's `orders` next to
//! today's, put a dropped table back, replace one damaged table, load rows only, and copy one
//! schema into a new database — each compared with the backup.

use crate::common::*;
use offsite_core::error::ErrorKind;
use offsite_core::restore::{DatabaseOptions, SelectWhat, Selection};
use offsite_core::{JobStart, RestoreRequest};
use offsite_testkit::{fidelity_snapshot, first_difference, schema_dump_of, TestCluster};
use std::collections::BTreeMap;

fn only(tables: &[&str]) -> Selection {
    Selection {
        tables: tables.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

/// A schema dump of `schema` (a name as the dump prints it in comments: `MixedCase`) read as if
/// it were `as_schema`: its name in SQL (`q` quoted as in the dump) and in the entries' comments
/// mapped, so a side schema's dump compares with the original's.
fn mapped(dump: &str, schema: (&str, &str), as_schema: (&str, &str)) -> String {
    let ((from, from_q), (to, to_q)) = (schema, as_schema);
    dump.replace(&format!("Schema: {from};"), &format!("Schema: {to};"))
        .replace(&format!("{from_q}."), &format!("{to_q}."))
        .replace(&format!("SCHEMA {from_q}"), &format!("SCHEMA {to_q}"))
        .replace(&format!("Name: {from};"), &format!("Name: {to};"))
}

/// A schema dump's entries: the `-- Name: …; Type: …; Schema: …` header → its statements (the
/// comment lines around them, the session settings pg_dump writes before the first entry that
/// needs them, and the dump's closing lines left out).
fn entries(dump: &str) -> BTreeMap<String, String> {
    let dump = dump
        .split("\n-- PostgreSQL database dump complete")
        .next()
        .unwrap_or(dump)
        .lines()
        .filter(|l| !l.starts_with("SET default_ta"))
        .collect::<Vec<_>>()
        .join("\n");
    // The text before the first `-- Name:` header is the dump's preamble, not an entry.
    let mut pieces = dump.split("\n-- Name: ");
    pieces.next();
    pieces
        .map(|e| {
            let (header, body) = e.split_once('\n').unwrap_or((e, ""));
            let body = body.trim_matches(|c: char| c == '-' || c.is_whitespace());
            (header.to_string(), body.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn yesterdays_orders_next_to_todays_in_a_side_schema() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("sel_side");
    pg.load_supabase_fixture(&src);
    let env = env().await;
    let archive = back_up(pg, &env, "sel_side", &src).await;
    let backed_up = fidelity_snapshot(pg, &src);
    // Today something went wrong.
    pg.psql(&src, "DELETE FROM public.orders WHERE id % 2 = 0");
    let today = fidelity_snapshot(pg, &src);
    let public_before = schema_dump_of(pg, &src, "public");

    let req = RestoreRequest::new(&archive, target(pg, &src)).options(DatabaseOptions {
        selection: Selection {
            into_schema: Some("yesterday".into()),
            ..only(&["public.orders"])
        },
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert!(
        plan.target_empty,
        "nothing of the selection exists under the side name"
    );
    let sel = plan.selection.as_ref().unwrap();
    assert_eq!(sel.tables, vec!["public.orders"]);
    assert!(
        sel.dependencies
            .iter()
            .any(|d| d == "type public.order_status"),
        "{sel:?}"
    );
    // The key left out is named with its table and what it references, for the window to
    // say in words (the constraint behind Details) and the command line in one sentence.
    assert_eq!(
        sel.left_out_keys,
        vec![offsite_core::postgres::restore::LeftOutKey {
            table: "public.orders".into(),
            constraint: "orders_customer_id_fkey".into(),
            references: vec!["public.customers".into()],
        }],
        "{sel:?}"
    );
    assert_eq!(
        sel.left_out_keys[0].sentence(),
        "public.orders will not check that its customers exist, because public.customers is \
         not restored (foreign key orders_customer_id_fkey)."
    );
    assert!(
        !sel.notes
            .iter()
            .any(|n| n.contains("orders_customer_id_fkey")),
        "said once, not again as a note: {sel:?}"
    );
    assert!(
        sel.notes.iter().any(|n| n.contains("customer_totals")),
        "the materialized view over orders is named: {sel:?}"
    );
    assert_eq!(plan.rows, backed_up.rows("public.orders").len() as u64);
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok,
        "{:?}",
        out.report.database.as_ref().unwrap().tables
    );
    assert_eq!(out.report.database.as_ref().unwrap().tables.len(), 1);
    assert_eq!(
        out.report.database.as_ref().unwrap().tables[0].schema,
        "yesterday"
    );

    let after = fidelity_snapshot(pg, &src);
    assert_eq!(
        after.rows("yesterday.orders"),
        backed_up.rows("public.orders")
    );
    // Today's database is as it was: every table, and the schema.
    for (table, rows) in &today.tables {
        assert_eq!(after.tables.get(table), Some(rows), "{table} untouched");
    }
    assert_eq!(schema_dump_of(pg, &src, "public"), public_before);
    // The trigger came along, on the side table, calling the side schema's copy.
    assert_eq!(
        pg.psql(&src, "SELECT tgfoid::regprocedure::text FROM pg_trigger WHERE tgrelid = 'yesterday.orders'::regclass AND tgname = 'orders_audit'"),
        "yesterday.audit()"
    );
    // The side schema's definitions are the backup's, under the side name: the table, its
    // sequence, key, trigger and grants, and what came along (the trigger's function) — all but
    // the foreign key the plan said was left out.
    let side_dump = schema_dump_of(pg, &src, "yesterday");
    let side = entries(&mapped(
        &side_dump,
        ("yesterday", "yesterday"),
        ("public", "public"),
    ));
    let original = entries(&public_before);
    for header in [
        "orders; Type: TABLE; Schema: public; Owner: postgres",
        "orders_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres",
        "orders orders_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres",
        "orders orders_audit; Type: TRIGGER; Schema: public; Owner: postgres",
        "TABLE orders; Type: ACL; Schema: public; Owner: postgres",
    ] {
        assert!(
            side.contains_key(header),
            "{header} in the side schema:\n{side_dump}"
        );
    }
    assert!(
        !side_dump.contains("yesterday.audit_log"),
        "the function copy still writes the log in public:\n{side_dump}"
    );
    assert!(
        !side.keys().any(|h| h.contains("orders_customer_id_fkey")),
        "the foreign key was left out:\n{side_dump}"
    );
    for (header, body) in side.iter().filter(|(h, _)| !h.contains("Type: SCHEMA;")) {
        let want = original
            .get(header)
            .unwrap_or_else(|| panic!("{header}: not in the source's public schema"));
        assert!(
            body == want,
            "{header}: {}\n--- source:\n{want}\n--- side schema:\n{body}",
            first_difference(want, body)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_table_comes_back_and_a_damaged_one_is_replaced() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("sel_back");
    pg.load_supabase_fixture(&src);
    let env = env().await;
    let archive = back_up(pg, &env, "sel_back", &src).await;
    let backed_up = fidelity_snapshot(pg, &src);
    let public_before = schema_dump_of(pg, &src, "public");

    // Dropped by mistake (with the materialized view over it).
    pg.psql(&src, "DROP TABLE public.orders CASCADE");
    let req = RestoreRequest::new(&archive, target(pg, &src)).options(DatabaseOptions {
        selection: only(&["orders"]),
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert!(
        plan.selection.as_ref().unwrap().dependencies.is_empty(),
        "the type is there"
    );
    env.engine.restore(req, JobStart::default()).await.unwrap();
    let after = fidelity_snapshot(pg, &src);
    assert_eq!(after.rows("public.orders"), backed_up.rows("public.orders"));
    assert_eq!(
        after.sequences.get("public.orders_id_seq"),
        backed_up.sequences.get("public.orders_id_seq")
    );

    // Damaged: replacing it needs consent, drops what depends on it (named), puts the rows back.
    pg.psql(&src, "UPDATE public.orders SET note = 'oops'");
    pg.psql(
        &src,
        "CREATE VIEW public.order_notes AS SELECT id, note FROM public.orders",
    );
    let req = RestoreRequest::new(&archive, target(pg, &src)).options(DatabaseOptions {
        selection: only(&["orders"]),
        ..Default::default()
    });
    let err = env
        .engine
        .restore(req.clone(), JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NeedsConsent, "{err}");
    let req = req.options(DatabaseOptions {
        selection: only(&["orders"]),
        replace: true,
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert_eq!(plan.will_replace, vec!["public.orders"]);
    assert_eq!(plan.will_replace_tables, 1);
    assert!(
        plan.will_drop.iter().any(|d| d.contains("order_notes")),
        "{:?}",
        plan.will_drop
    );
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok
            && out
                .report
                .database
                .as_ref()
                .unwrap()
                .safety_backup
                .is_some()
    );
    let after = fidelity_snapshot(pg, &src);
    assert_eq!(after.rows("public.orders"), backed_up.rows("public.orders"));
    for (table, rows) in &backed_up.tables {
        if table != "public.customer_totals" && table != "public.audit_log" {
            assert_eq!(after.tables.get(table), Some(rows), "{table}");
        }
    }
    // Every definition about orders is the backup's again (the materialized view dropped with
    // the table earlier stays dropped: the plan said so).
    let now = schema_dump_of(pg, &src, "public");
    assert!(!now.contains("order_notes"));
    for header in [
        "-- Name: orders; Type: TABLE;",
        "-- Name: orders_id_seq; Type: SEQUENCE;",
        "-- Name: orders orders_pkey; Type: CONSTRAINT;",
        "-- Name: orders orders_customer_id_fkey; Type: FK CONSTRAINT;",
        "-- Name: orders orders_audit; Type: TRIGGER;",
        "-- Name: TABLE orders; Type: ACL;",
    ] {
        assert_eq!(
            block(&now, header),
            block(&public_before, header),
            "{header}"
        );
        assert!(block(&now, header).is_some(), "{header}");
    }
}

/// The entry of a schema dump that starts at `header`, up to the next entry.
fn block(dump: &str, header: &str) -> Option<String> {
    let start = dump.find(header)?;
    let rest = &dump[start + header.len()..];
    let end = rest.find("-- Name: ").unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_only_into_the_existing_table_and_a_schema_into_a_new_database() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("sel_rows");
    pg.load_supabase_fixture(&src);
    let env = env().await;
    let archive = back_up(pg, &env, "sel_rows", &src).await;
    let backed_up = fidelity_snapshot(pg, &src);
    let audit_before = backed_up.rows("public.audit_log").len();

    pg.psql(&src, "ALTER TABLE public.orders DISABLE TRIGGER orders_audit; DELETE FROM public.orders; ALTER TABLE public.orders ENABLE TRIGGER orders_audit;");
    let data = |replace| DatabaseOptions {
        selection: Selection {
            what: SelectWhat::Data,
            ..only(&["public.orders"])
        },
        replace,
        ..Default::default()
    };
    // Empty table: no consent needed.
    let req = RestoreRequest::new(&archive, target(pg, &src)).options(data(false));
    let out = env
        .engine
        .restore(req.clone(), JobStart::default())
        .await
        .unwrap();
    assert!(out.report.ok);
    let after = fidelity_snapshot(pg, &src);
    assert_eq!(after.rows("public.orders"), backed_up.rows("public.orders"));
    assert_eq!(
        after.rows("public.audit_log").len(),
        audit_before,
        "the table's triggers did not fire for the load"
    );
    // Now it holds rows: needs --replace, which empties it first.
    let err = env
        .engine
        .restore(req, JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NeedsConsent, "{err}");
    let req = RestoreRequest::new(&archive, target(pg, &src)).options(data(true));
    env.engine.restore(req, JobStart::default()).await.unwrap();
    assert_eq!(
        fidelity_snapshot(pg, &src).rows("public.orders"),
        backed_up.rows("public.orders")
    );
    assert_eq!(
        pg.psql(&src, "SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'public.orders'::regclass AND NOT tgisinternal"),
        "orders_audit=O",
        "triggers are enabled again"
    );

    // One schema into a new database: its tables and what they need.
    let dst = pg.unique_db("sel_new");
    let req = RestoreRequest::new(&archive, target(pg, &dst)).options(DatabaseOptions {
        selection: Selection {
            schemas: vec!["MixedCase".into()],
            ..Default::default()
        },
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok,
        "{:?}",
        out.report.database.as_ref().unwrap().tables
    );
    let copy = fidelity_snapshot(pg, &dst);
    let mixed: Vec<&String> = backed_up
        .tables
        .keys()
        .filter(|t| t.starts_with("\"MixedCase\"."))
        .collect();
    assert!(!mixed.is_empty());
    for t in mixed {
        assert_eq!(copy.tables.get(t), backed_up.tables.get(t), "{t}");
    }
    assert_eq!(
        schema_dump_of(pg, &dst, "\"MixedCase\""),
        schema_dump_of(pg, &src, "\"MixedCase\"")
    );

    // The same schema next to the original, in the source database itself.
    let req = RestoreRequest::new(&archive, target(pg, &src)).options(DatabaseOptions {
        selection: Selection {
            schemas: vec!["MixedCase".into()],
            into_schema: Some("mixed_copy".into()),
            ..Default::default()
        },
        ..Default::default()
    });
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok,
        "{:?}",
        out.report.database.as_ref().unwrap().tables
    );
    let both = fidelity_snapshot(pg, &src);
    for (t, rows) in backed_up
        .tables
        .iter()
        .filter(|(t, _)| t.starts_with("\"MixedCase\"."))
    {
        let copy = t.replacen("\"MixedCase\".", "mixed_copy.", 1);
        assert_eq!(both.tables.get(&copy), Some(rows), "{copy}");
        assert_eq!(both.tables.get(t), Some(rows), "{t} untouched");
    }
    // And the copy's definitions are the schema's, under the new name.
    let copy = schema_dump_of(pg, &src, "mixed_copy");
    let want = schema_dump_of(pg, &src, "\"MixedCase\"");
    let got = mapped(
        &copy,
        ("mixed_copy", "mixed_copy"),
        ("MixedCase", "\"MixedCase\""),
    );
    assert!(
        got == want,
        "the side schema's definitions differ: {}\n{copy}",
        first_difference(&want, &got)
    );

    // Unknown names are refused, naming what there is.
    let req = RestoreRequest::new(&archive, target(pg, &dst)).options(DatabaseOptions {
        selection: only(&["public.nope"]),
        ..Default::default()
    });
    let err = env.engine.plan_restore(&req).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.hint().unwrap().contains("public.orders"),
        "{:?}",
        err.hint()
    );
}
