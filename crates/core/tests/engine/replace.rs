//! `restore --replace` over an older copy of a database with partitioned tables, partition
//! indexes, inherited constraints, a view and functions used by a default and a trigger: where
//! `pg_restore --clean` fails (`cannot drop inherited constraint …`).

use offsite_core::restore::DatabaseOptions;
use offsite_core::{ErrorKind, JobStart, RestoreRequest};
use offsite_testkit::{fidelity_snapshot, schema_dump, FidelitySnapshot, TestCluster};
use std::path::PathBuf;

use crate::common::{back_up, backed_up_with, env, first_diff, target, Env};

const FIXTURE: &str = "
CREATE SEQUENCE ref_seq;
CREATE FUNCTION next_ref() RETURNS text LANGUAGE sql AS $$ SELECT 'R' || nextval('public.ref_seq') $$;
CREATE FUNCTION upper_name() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$;
CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL);
CREATE TRIGGER customer_upper BEFORE INSERT ON customer FOR EACH ROW EXECUTE FUNCTION upper_name();
CREATE TABLE payment (
  id int NOT NULL, paid_on date NOT NULL,
  customer_id int NOT NULL REFERENCES customer (id),
  amount numeric(8,2) CHECK (amount > 0),
  ref text NOT NULL DEFAULT next_ref(),
  PRIMARY KEY (id, paid_on)
) PARTITION BY RANGE (paid_on);
CREATE TABLE payment_2022 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
CREATE TABLE payment_2023 PARTITION OF payment FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE INDEX payment_customer_idx ON payment (customer_id);
CREATE UNIQUE INDEX payment_ref_idx ON payment (ref, paid_on);
CREATE TABLE event (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT '2024-01-01', CONSTRAINT event_id_positive CHECK (id > 0));
CREATE TABLE event_archived (archived_by text NOT NULL DEFAULT 'me') INHERITS (event);
CREATE VIEW customer_totals AS
  SELECT c.name, sum(p.amount) AS total FROM customer c JOIN payment p ON p.customer_id = c.id GROUP BY c.name;
INSERT INTO customer SELECT g, 'customer ' || g FROM generate_series(1, 50) g;
INSERT INTO payment (id, paid_on, customer_id, amount)
  SELECT g, date '2022-01-01' + (g % 700), 1 + g % 50, 1 + g % 90 FROM generate_series(1, 3000) g;
INSERT INTO event SELECT g FROM generate_series(1, 20) g;
INSERT INTO event_archived (id, archived_by) SELECT g, 'x' FROM generate_series(21, 30) g;
";

/// The older copy becomes newer: rows changed, a partition dropped and one added, a column
/// added, a function changed, a view not in the backup over a replaced table.
const CHANGES: &str = "
DELETE FROM payment WHERE id % 7 = 0;
UPDATE customer SET name = 'renamed' WHERE id = 3;
INSERT INTO customer VALUES (51, 'new');
DROP TABLE payment_2022;
CREATE TABLE payment_2024 PARTITION OF payment FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO payment (id, paid_on, customer_id, amount) VALUES (9001, '2024-05-01', 51, 10);
ALTER TABLE customer ADD COLUMN email text;
CREATE OR REPLACE FUNCTION next_ref() RETURNS text LANGUAGE sql AS $$ SELECT 'NEW' || nextval('public.ref_seq') $$;
INSERT INTO event_archived (id, archived_by) VALUES (31, 'later');
CREATE VIEW recent_customers AS SELECT id, name FROM customer WHERE id > 40;
";

/// Several MiB of dump.
const BULK: &str = "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS v FROM generate_series(1, 200000) g;";

async fn backed_up(pg: &TestCluster, env: &Env, name: &str, extra: &str) -> (String, PathBuf) {
    backed_up_with(pg, env, name, &format!("{FIXTURE}\n{extra}")).await
}

/// `restore --replace` of `archive` over `db`.
async fn replace_over(
    env: &Env,
    pg: &TestCluster,
    archive: &std::path::Path,
    db: &str,
) -> offsite_core::Result<offsite_core::restore::RestoreOutcome> {
    env.engine
        .restore(
            RestoreRequest::new(archive, target(pg, db)).options(replace()),
            JobStart::default(),
        )
        .await
}

/// `db` holds exactly `schema` (a schema-only dump) and `data` (every table's rows, sequences,
/// large objects).
fn assert_same(pg: &TestCluster, db: &str, schema: &str, data: &FidelitySnapshot) {
    let now = schema_dump(pg, db);
    assert!(
        now == schema,
        "schema differs: {}",
        first_diff(schema, &now)
    );
    assert_eq!(&fidelity_snapshot(pg, db), data);
}

fn replace() -> DatabaseOptions {
    DatabaseOptions {
        replace: true,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replace_over_partitioned_tables_restores_the_backup_exactly() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, path) = backed_up(pg, &env, "partitioned", "").await;
    let (schema_then, data_then) = (schema_dump(pg, &db), fidelity_snapshot(pg, &db));
    pg.psql(&db, CHANGES);
    assert_ne!(
        schema_dump(pg, &db),
        schema_then,
        "the changes changed the schema"
    );

    let plan = env
        .engine
        .plan_restore(&RestoreRequest::new(&path, target(pg, &db)).options(replace()))
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.blockers.is_empty(), "{plan:?}");
    for t in [
        "public.payment",
        "public.payment_2023",
        "public.customer",
        "public.event",
        "public.event_archived",
        "view public.customer_totals",
        "function public.next_ref()",
        "function public.upper_name()",
    ] {
        assert!(
            plan.will_replace.contains(&t.to_string()),
            "{t} replaced: {plan:?}"
        );
    }
    // The review's warning counts the tables among them (not the view or the functions).
    let tables = plan
        .will_replace
        .iter()
        .filter(|t| !t.contains(' '))
        .count();
    assert_eq!(
        plan.will_replace_tables,
        u64::try_from(tables).unwrap(),
        "{:?}",
        plan.will_replace
    );
    assert!(plan.will_replace_tables >= 5, "{:?}", plan.will_replace);
    assert_eq!(plan.will_create, vec!["public.payment_2022".to_string()]);
    assert!(plan.will_keep.is_empty(), "{:?}", plan.will_keep);
    // What CASCADE takes along, and only that (not the parts of what is listed, nor the
    // backup's own objects).
    assert_eq!(
        plan.will_drop,
        vec![
            "table public.payment_2024".to_string(),
            "view public.recent_customers".to_string()
        ],
        "{plan:?}"
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("depend on objects it replaces") && w.contains("payment_2024")),
        "{:?}",
        plan.warnings
    );

    let r = replace_over(&env, pg, &path, &db).await.unwrap();
    assert!(
        r.report.ok,
        "{:?}",
        r.report.database.as_ref().unwrap().tables
    );
    assert!(r.report.database.as_ref().unwrap().safety_backup.is_some());
    assert_same(pg, &db, &schema_then, &data_then);
    // The default and the trigger use the restored functions.
    assert_eq!(
        pg.psql(
            &db,
            "INSERT INTO customer (id, name) VALUES (60, 'x') RETURNING name"
        ),
        "X"
    );
    assert!(pg
        .psql(&db, "INSERT INTO payment (id, paid_on, customer_id, amount) VALUES (9002, '2022-02-02', 60, 1) RETURNING ref")
        .starts_with("R"));

    // Replacing again over the restored copy (nothing to cascade) also works.
    pg.psql(
        &db,
        "DELETE FROM payment WHERE id = 9002; DELETE FROM customer WHERE id = 60;",
    );
    let again = replace_over(&env, pg, &path, &db).await.unwrap();
    assert!(again.report.ok);
    assert_same(pg, &db, &schema_then, &data_then);
}

/// Back up the fixture (with `extra`), change it, run `sabotage` on it, then replace: the replace
/// fails with an error naming `cause` and the target is exactly as it was.
async fn fails_and_changes_nothing(name: &str, extra: &str, sabotage: &str, cause: &str) {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, path) = backed_up(pg, &env, name, extra).await;
    pg.psql(&db, CHANGES);
    pg.psql(&db, sabotage);
    let (schema_before, data_before) = (schema_dump(pg, &db), fidelity_snapshot(pg, &db));

    let e = replace_over(&env, pg, &path, &db).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ToolFailed, "{e}");
    assert!(e.message().contains(cause), "the cause is named: {e}");
    assert!(e.hint().unwrap().contains("rolled back"), "{e:?}");
    assert_same(pg, &db, &schema_before, &data_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_mid_replace_leaves_the_target_exactly_as_it_was() {
    // A table not in the backup holding the name of one of the backup's indexes: the restore's
    // CREATE INDEX fails after the drops and the data have run.
    fails_and_changes_nothing(
        "partitioned_fail",
        "",
        "DROP INDEX payment_ref_idx; CREATE TABLE payment_ref_idx (x int); INSERT INTO payment_ref_idx VALUES (1);",
        "psql failed (exit status: 3): ERROR:  relation \"payment_ref_idx\" already exists",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_archive_mid_replace_leaves_the_target_exactly_as_it_was() {
    let pg = TestCluster::shared();
    let env = env().await;
    // Several MiB of dump: the drops and the first tables reach psql before the damage does.
    let (db, path) = backed_up(pg, &env, "partitioned_corrupt", BULK).await;
    assert!(std::fs::metadata(&path).unwrap().len() > 2 * 1024 * 1024);
    pg.psql(&db, CHANGES);
    let (schema_before, data_before) = (schema_dump(pg, &db), fidelity_snapshot(pg, &db));
    // Flip a byte inside the dump's compressed data: the stream breaks (or its checksum does
    // not match) after pg_restore and psql have started.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let bad = env.dir.path().join("bad.tar.gz");
    std::fs::write(&bad, &bytes).unwrap();

    let e = replace_over(&env, pg, &bad, &db).await.unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Integrity | ErrorKind::UnsupportedFormat | ErrorKind::ToolFailed
        ),
        "{e:?}"
    );
    assert_same(pg, &db, &schema_before, &data_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_not_in_the_backup_are_kept_but_lose_what_hangs_on_replaced_ones() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (db, path) = backed_up(pg, &env, "partitioned_kept", "").await;
    // A table added after the backup, with a foreign key into a replaced table and a default
    // using a replaced function.
    pg.psql(
        &db,
        "CREATE TABLE notes (id int PRIMARY KEY, customer_id int REFERENCES customer (id), ref text DEFAULT next_ref());
         INSERT INTO notes (id, customer_id) VALUES (1, 1), (2, 2);",
    );
    let plan = env
        .engine
        .plan_restore(&RestoreRequest::new(&path, target(pg, &db)).options(replace()))
        .await
        .unwrap()
        .database
        .unwrap();
    assert_eq!(plan.will_keep, vec!["public.notes".to_string()]);
    assert_eq!(
        plan.will_drop,
        vec![
            "constraint notes_customer_id_fkey on table public.notes".to_string(),
            "default value for column ref of table public.notes".to_string(),
        ],
        "{plan:?}"
    );

    let r = replace_over(&env, pg, &path, &db).await.unwrap();
    assert!(r.report.ok);
    assert_eq!(
        pg.psql(&db, "SELECT string_agg(id || ':' || customer_id || ':' || coalesce(ref, '-'), ',' ORDER BY id) FROM notes"),
        "1:1:R3001,2:2:R3002",
        "the kept table keeps its rows"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'notes'::regclass AND contype = 'f'"),
        "0",
        "its foreign key went with the replaced table, as the plan said"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_early_failure_in_a_large_replace_names_its_cause_and_changes_nothing() {
    // An index of a table not in the backup holding the name of one of the backup's tables: the
    // restore's CREATE TABLE bulk fails early, while MiBs of pg_restore's output are still to
    // come (psql's error, not pg_restore's broken pipe, is the cause).
    fails_and_changes_nothing(
        "partitioned_early",
        BULK,
        "DROP TABLE bulk; CREATE TABLE other (x int); INSERT INTO other VALUES (1); CREATE INDEX bulk ON other (x);",
        "psql failed (exit status: 3): ERROR:  relation \"bulk\" already exists",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replace_over_the_supabase_shaped_database_restores_it_exactly() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("supa_replace");
    pg.load_supabase_fixture(&db);
    let path = back_up(pg, &env, "supa_replace", &db).await;
    let (schema_then, data_then) = (schema_dump(pg, &db), fidelity_snapshot(pg, &db));
    pg.psql(
        &db,
        "DELETE FROM public.orders WHERE id % 3 = 0; ALTER TABLE public.orders ADD COLUMN later_note text;",
    );

    let r = replace_over(&env, pg, &path, &db).await.unwrap();
    assert!(
        r.report.ok,
        "{:?}",
        r.report.database.as_ref().unwrap().tables
    );
    assert_same(pg, &db, &schema_then, &data_then);
}
