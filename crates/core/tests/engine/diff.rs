//! `diff` on real clusters (issue 45): two backups, and a backup against the live database,
//! with every count checked against SQL `EXCEPT` run on the cluster; tables whose recorded
//! digests are equal are not read; hostile names and references are clear errors.

use crate::common::*;
use offsite_core::diff::{
    parse_table_name, ComparedBy, DiffOptions, DiffReport, TableDiff, TableStatus,
};
use offsite_core::{BackupOptions, ErrorKind, JobStart};
use offsite_testkit::TestCluster;
use tokio_util::sync::CancellationToken;

/// The first state. `snap` holds copies of it (the "before" side of each `EXCEPT`).
const FIXTURE: &str = r#"
CREATE TABLE public.orders (id int PRIMARY KEY, customer text, total numeric(10,2), note text);
INSERT INTO public.orders SELECT g, 'c' || (g % 50), g * 1.5, NULL FROM generate_series(1, 3000) g;
CREATE TABLE public.events (kind text, at int);
INSERT INTO public.events SELECT 'k' || (g % 7), g % 100 FROM generate_series(1, 1000) g;
CREATE TABLE public.stable (id int PRIMARY KEY, v text);
INSERT INTO public.stable SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
CREATE SCHEMA "odd.schema";
CREATE TABLE "odd.schema"."we""ird.t" (a int, b int, c text, PRIMARY KEY (a, b));
INSERT INTO "odd.schema"."we""ird.t" SELECT g % 10, g, 'v' || g FROM generate_series(1, 200) g;
CREATE TABLE public.dropped_later (id int PRIMARY KEY);
INSERT INTO public.dropped_later VALUES (1), (2);
CREATE SCHEMA snap;
CREATE TABLE snap.orders AS TABLE public.orders;
CREATE TABLE snap.events AS TABLE public.events;
CREATE TABLE snap.odd AS TABLE "odd.schema"."we""ird.t";
"#;

/// From the first backup to the second. `snap2` then holds the second state.
const CHANGE_1: &str = r#"
DELETE FROM public.orders WHERE id % 10 = 0;
UPDATE public.orders SET note = 'seven' WHERE id % 7 = 0;
UPDATE public.orders SET total = total + 1 WHERE id % 11 = 0;
INSERT INTO public.orders SELECT g, 'new', 1, NULL FROM generate_series(3001, 3100) g;
DELETE FROM public.events WHERE at < 5;
INSERT INTO public.events VALUES ('k1', 1), ('k1', 1), ('zz', NULL);
UPDATE public.events SET at = at + 1000 WHERE at = 50;
ALTER TABLE "odd.schema"."we""ird.t" ADD COLUMN d int;
ALTER TABLE "odd.schema"."we""ird.t" ALTER COLUMN c TYPE varchar(20);
UPDATE "odd.schema"."we""ird.t" SET c = 'changed' WHERE b % 9 = 0;
DELETE FROM "odd.schema"."we""ird.t" WHERE b % 13 = 0;
DROP TABLE public.dropped_later;
CREATE TABLE public.brand_new (id int PRIMARY KEY);
INSERT INTO public.brand_new VALUES (1);
CREATE SCHEMA snap2;
CREATE TABLE snap2.orders AS TABLE public.orders;
CREATE TABLE snap2.events AS TABLE public.events;
"#;

/// After the second backup: the live database moves on.
const CHANGE_2: &str = r#"
UPDATE public.orders SET customer = E'tab\there "q"' WHERE id BETWEEN 100 AND 140;
DELETE FROM public.orders WHERE id > 3050;
INSERT INTO public.orders VALUES (5000, NULL, NULL, E'new\nline');
INSERT INTO public.events SELECT 'live', g FROM generate_series(1, 25) g;
"#;

fn count(pg: &TestCluster, db: &str, sql: &str) -> u64 {
    pg.psql(db, &format!("SELECT count(*) FROM ({sql}) x"))
        .trim()
        .parse()
        .unwrap()
}

/// Added, removed, changed, unchanged of `new` against `old` (tables with key `key`), by SQL.
fn by_except(pg: &TestCluster, db: &str, old: &str, new: &str, key: &str) -> [u64; 4] {
    [
        count(
            pg,
            db,
            &format!("SELECT {key} FROM {new} EXCEPT SELECT {key} FROM {old}"),
        ),
        count(
            pg,
            db,
            &format!("SELECT {key} FROM {old} EXCEPT SELECT {key} FROM {new}"),
        ),
        count(
            pg,
            db,
            &format!(
                "SELECT {key} FROM (SELECT * FROM {new} EXCEPT SELECT * FROM {old}) n \
                 INTERSECT SELECT {key} FROM {old}"
            ),
        ),
        count(
            pg,
            db,
            &format!("SELECT * FROM {new} INTERSECT ALL SELECT * FROM {old}"),
        ),
    ]
}

/// Added and removed rows of a table without a key (a multiset), by SQL.
fn by_except_all(pg: &TestCluster, db: &str, old: &str, new: &str) -> [u64; 4] {
    [
        count(
            pg,
            db,
            &format!("SELECT * FROM {new} EXCEPT ALL SELECT * FROM {old}"),
        ),
        count(
            pg,
            db,
            &format!("SELECT * FROM {old} EXCEPT ALL SELECT * FROM {new}"),
        ),
        0,
        count(
            pg,
            db,
            &format!("SELECT * FROM {new} INTERSECT ALL SELECT * FROM {old}"),
        ),
    ]
}

fn table<'a>(r: &'a DiffReport, schema: &str, name: &str) -> &'a TableDiff {
    r.tables
        .iter()
        .find(|t| t.schema == schema && t.table == name)
        .unwrap_or_else(|| panic!("no {schema}.{name} in {:#?}", r.tables))
}

fn counts(t: &TableDiff) -> [u64; 4] {
    [t.added, t.removed, t.changed, t.unchanged]
}

async fn backup(env: &Env, project: &str) -> String {
    let o = env
        .engine
        .backup(BackupOptions::project(project), JobStart::default())
        .await
        .unwrap();
    o.backup.path
}

async fn diff(
    env: &Env,
    from: &str,
    to: &str,
    o: &DiffOptions,
) -> offsite_core::Result<DiffReport> {
    env.engine
        .diff(from, to, o, None, &CancellationToken::new())
        .await
}

#[tokio::test]
async fn two_backups_and_a_backup_against_live_match_sql_except() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, first) = backed_up_with(pg, &env, "diffshop", FIXTURE).await;
    pg.psql(&db, CHANGE_1);
    let second = backup(&env, "diffshop").await;
    pg.psql(&db, CHANGE_2);

    // Two backups, named as `restore` names them: a path and PROJECT:latest~N.
    let r = diff(
        &env,
        first.to_str().unwrap(),
        &second,
        &DiffOptions::default(),
    )
    .await
    .unwrap();
    let again = diff(
        &env,
        "diffshop:latest~1",
        "diffshop:latest~0",
        &DiffOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(again.tables, r.tables, "latest~1 is the first backup");

    let orders = table(&r, "public", "orders");
    assert_eq!(orders.status, TableStatus::Changed);
    assert_eq!(orders.compared_by, ComparedBy::PrimaryKey);
    assert_eq!(orders.key, vec!["id".to_string()]);
    assert_eq!(
        counts(orders),
        by_except(pg, &db, "snap.orders", "snap2.orders", "id")
    );
    assert!(orders.added == 100 && orders.removed == 300 && orders.changed > 0);

    let events = table(&r, "public", "events");
    assert_eq!(events.compared_by, ComparedBy::WholeRow);
    assert!(events.note.as_deref().unwrap().contains("multiset"));
    assert_eq!(
        counts(events),
        by_except_all(pg, &db, "snap.events", "snap2.events")
    );

    let odd = table(&r, "odd.schema", "we\"ird.t");
    assert_eq!(odd.key, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(
        odd.columns_added
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["d"]
    );
    assert_eq!(odd.columns_retyped.len(), 1, "{:?}", odd.columns_retyped);
    assert_eq!(odd.columns_retyped[0].from, "text");
    assert_eq!(odd.columns_retyped[0].to, "character varying(20)");
    // Compared on the columns both have (a, b, c), against the copy taken before.
    let now = "(SELECT a, b, c::text FROM \"odd.schema\".\"we\"\"ird.t\") n";
    assert_eq!(counts(odd), by_except(pg, &db, "snap.odd", now, "a, b"));

    assert_eq!(
        table(&r, "public", "dropped_later").status,
        TableStatus::OnlyInFrom
    );
    assert_eq!(
        table(&r, "public", "brand_new").status,
        TableStatus::OnlyInTo
    );
    assert_eq!(table(&r, "snap2", "orders").status, TableStatus::OnlyInTo);

    // Equal digests: identical without reading a row; the changed tables were read.
    for (schema, name) in [("public", "stable"), ("snap", "orders"), ("snap", "events")] {
        let t = table(&r, schema, name);
        assert_eq!(t.status, TableStatus::Identical, "{schema}.{name}");
        assert_eq!(t.compared_by, ComparedBy::Digest, "{schema}.{name}");
        assert_eq!(t.bytes_read, 0, "{schema}.{name} was read");
    }
    assert_eq!(table(&r, "public", "stable").unchanged, 20000);
    assert!(orders.bytes_read > 2 * 3000 * 10, "{}", orders.bytes_read);
    let read: u64 = r.tables.iter().map(|t| t.bytes_read).sum();
    assert_eq!(r.bytes_read, read);
    let stable_bytes = 20000 * 40;
    assert!(
        r.bytes_read < stable_bytes,
        "{} bytes read: the unchanged 20,000-row table must not be",
        r.bytes_read
    );

    // The changed rows, paged: key, and per changed column before → after.
    let only_orders = DiffOptions {
        tables: vec![parse_table_name("public.orders").unwrap()],
        rows: true,
        offset: 0,
        limit: 20,
    };
    let page = diff(&env, "diffshop:latest~1", "diffshop:latest", &only_orders)
        .await
        .unwrap();
    assert_eq!(page.tables.len(), 1);
    let p = &page.tables[0];
    assert_eq!(p.rows.len(), 20);
    assert!(p.rows_more);
    let next = diff(
        &env,
        "diffshop:latest~1",
        "diffshop:latest",
        &DiffOptions {
            offset: 20,
            ..only_orders.clone()
        },
    )
    .await
    .unwrap();
    assert!(next.tables[0].rows.iter().all(|r| !p.rows.contains(r)));
    let seven = DiffOptions {
        limit: 1000,
        ..only_orders.clone()
    };
    let all = diff(&env, "diffshop:latest~1", "diffshop:latest", &seven)
        .await
        .unwrap();
    let all = &all.tables[0];
    assert_eq!(all.rows.len() as u64, all.added + all.removed + all.changed);
    let row7 = all
        .rows
        .iter()
        .find(|r| r.key[0].value.as_deref() == Some("7"))
        .expect("order 7 changed");
    assert_eq!(row7.columns.len(), 1, "{row7:?}");
    assert_eq!(row7.columns[0].column, "note");
    assert_eq!(row7.columns[0].before, None);
    assert_eq!(row7.columns[0].after.as_deref(), Some("seven"));

    // The second backup against the live database now.
    let live = diff(
        &env,
        "diffshop:latest",
        "diffshop:live",
        &DiffOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(live.to, "diffshop (live)");
    let lo = table(&live, "public", "orders");
    assert_eq!(lo.status, TableStatus::Changed);
    assert_eq!(
        counts(lo),
        by_except(pg, &db, "snap2.orders", "public.orders", "id")
    );
    assert_eq!(lo.changed, 36, "ids 100 to 140 but the multiples of ten");
    let le = table(&live, "public", "events");
    assert_eq!(
        counts(le),
        by_except_all(pg, &db, "snap2.events", "public.events")
    );
    let ls = table(&live, "public", "stable");
    assert_eq!(ls.status, TableStatus::Identical);
    assert_eq!(ls.compared_by, ComparedBy::PrimaryKey);
    assert_eq!(ls.unchanged, 20000);
    let lodd = table(&live, "odd.schema", "we\"ird.t");
    assert_eq!(lodd.status, TableStatus::Identical, "{lodd:?}");
    // And the other way round: live as FROM.
    let back = diff(
        &env,
        "diffshop:live",
        "diffshop:latest",
        &DiffOptions::default(),
    )
    .await
    .unwrap();
    let bo = table(&back, "public", "orders");
    assert_eq!(
        (bo.added, bo.removed, bo.changed),
        (lo.removed, lo.added, lo.changed)
    );
    // A live value with a tab, quotes and a newline reads back as the text it is.
    let rows = DiffOptions {
        tables: vec![parse_table_name("orders").unwrap()],
        rows: true,
        limit: 1000,
        ..Default::default()
    };
    let lr = diff(&env, "diffshop:latest", "diffshop:live", &rows)
        .await
        .unwrap();
    let r101 = lr.tables[0]
        .rows
        .iter()
        .find(|r| r.key[0].value.as_deref() == Some("101"))
        .unwrap();
    assert_eq!(r101.columns[0].after.as_deref(), Some("tab\there \"q\""));

    // The live database was only read.
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM public.orders WHERE id = 5000"),
        "1"
    );
}

#[tokio::test]
async fn hostile_names_and_references_are_clear_errors() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, _) = backed_up_with(pg, &env, "diffodd", FIXTURE).await;
    pg.psql(&db, CHANGE_1);
    backup(&env, "diffodd").await;

    // A table with quotes and dots in its names, named exactly.
    let odd = DiffOptions {
        tables: vec![parse_table_name(r#""odd.schema"."we""ird.t""#).unwrap()],
        ..Default::default()
    };
    let r = diff(&env, "diffodd:latest~1", "diffodd:latest", &odd)
        .await
        .unwrap();
    assert_eq!(r.tables.len(), 1);
    assert_eq!(r.tables[0].table, "we\"ird.t");
    let r = diff(&env, "diffodd:latest", "diffodd:live", &odd)
        .await
        .unwrap();
    assert_eq!(r.tables[0].status, TableStatus::Identical);

    // Tables that do not exist, one of them SQL in disguise: not found, nothing run.
    for name in [
        "public.nope",
        r#"public."orders""; DROP TABLE public.orders; --""#,
        r#""odd.schema".we"#,
    ] {
        let o = DiffOptions {
            tables: vec![parse_table_name(name).unwrap()],
            ..Default::default()
        };
        for to in ["diffodd:latest", "diffodd:live"] {
            let e = diff(&env, "diffodd:latest~1", to, &o).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{name}: {e}");
            assert!(e.message().contains("no table"), "{e}");
        }
    }
    assert_eq!(pg.psql(&db, "SELECT count(*) > 0 FROM public.orders"), "t");

    // A backup id that does not exist; latest~N past the history; not a number.
    let e = diff(&env, "0123abcd", "diffodd:latest", &DiffOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = diff(
        &env,
        "diffodd:latest~2",
        "diffodd:latest",
        &DiffOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.message().contains("past its history"), "{e}");
    assert!(e.message().contains("2 good backups"), "{e}");
    let e = diff(
        &env,
        "diffodd:latest~x",
        "diffodd:latest",
        &DiffOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let e = diff(
        &env,
        "nosuch:live",
        "diffodd:latest",
        &DiffOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = diff(
        &env,
        "diffodd:live",
        "diffodd:live",
        &DiffOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

/// The app's Cancel (and leaving the view) stops a comparison of a big table part-way: the diff
/// ends with `cancelled`, not a report, and is then as if never started.
#[tokio::test]
async fn a_diff_cancelled_part_way_ends_cancelled() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, first) = backed_up_with(
        pg,
        &env,
        "diffcancel",
        "CREATE TABLE big(id int PRIMARY KEY, v text); \
         INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 300000) g;",
    )
    .await;
    pg.psql(&db, "UPDATE big SET v = 'x' WHERE id % 10 = 0");
    let second = backup(&env, "diffcancel").await;
    let first = first.to_str().unwrap().to_string();

    // Uncancelled, the same comparison finds the change (so a cancelled one had work to stop).
    let whole = diff(&env, &first, &second, &DiffOptions::default())
        .await
        .unwrap();
    assert_eq!(table(&whole, "public", "big").changed, 30000);

    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let started = std::time::Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        stop.cancel();
    });
    let r = env
        .engine
        .diff(&first, &second, &DiffOptions::default(), None, &cancel)
        .await;
    match r {
        Err(e) => assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}"),
        Ok(_) => panic!(
            "the cancelled diff gave a report after {:?}",
            started.elapsed()
        ),
    }
}
