//! Restoring archive format 2 (issue 28): a directory dump restored by `pg_restore -j N` into an
//! empty database, identical to the source; replacing over a non-empty database stays one
//! transaction and the plan says why.

use crate::common::env;
use crate::parallel_dump::{back_up_with_jobs, rich_database};
use offsite_core::archive;
use offsite_core::catalog::JobState;
use offsite_core::restore::{DatabaseOptions, DatabaseTo};
use offsite_core::{AddProject, ErrorKind, JobStart, RestoreRequest};
use offsite_testkit::{assert_same_schema, fidelity_snapshot, TestCluster};

/// Partitions, an enum, indexes and a large object, without Supabase's schemas.
fn plain_rich_database(pg: &TestCluster, prefix: &str) -> String {
    let db = pg.unique_db(prefix);
    pg.psql(
        &db,
        "CREATE TYPE public.pr_mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE public.pr_people (id int PRIMARY KEY, name text NOT NULL, mood public.pr_mood);
         CREATE INDEX pr_people_name ON public.pr_people (name);
         INSERT INTO public.pr_people SELECT g, 'person ' || g, (ARRAY['sad','ok','happy'])[1 + g % 3]::public.pr_mood
             FROM generate_series(1, 3000) g;
         CREATE TABLE public.pr_events (id int, at date NOT NULL, payload text) PARTITION BY RANGE (at);
         CREATE TABLE public.pr_events_2025 PARTITION OF public.pr_events
             FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         CREATE TABLE public.pr_events_2026 PARTITION OF public.pr_events
             FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         INSERT INTO public.pr_events SELECT g, DATE '2025-06-01' + (g % 400), 'e' || g
             FROM generate_series(1, 4000) g;
         CREATE TABLE public.pr_big (id bigint PRIMARY KEY, body text,
             people int REFERENCES public.pr_people (id));
         INSERT INTO public.pr_big SELECT g, repeat(md5(g::text), 8), 1 + g % 3000
             FROM generate_series(1, 20000) g;",
    );
    pg.create_large_object(&db, b"a large object's bytes");
    db
}

fn directory_note(warnings: &[String]) -> String {
    warnings
        .iter()
        .find(|w| w.contains("directory dump"))
        .cloned()
        .unwrap_or_else(|| panic!("the plan says how a directory dump is restored: {warnings:?}"))
}

async fn restore_into(
    env: &crate::common::Env,
    pg: &TestCluster,
    archive: &std::path::Path,
    name: &str,
    db: &str,
    replace: bool,
) -> String {
    env.engine
        .add_project(AddProject::url(name, pg.url_with_password(db)))
        .await
        .unwrap();
    let req =
        RestoreRequest::new(archive, DatabaseTo::Project(name.into())).options(DatabaseOptions {
            replace,
            ..DatabaseOptions::default()
        });
    let plan = env.engine.plan_restore(&req).await.unwrap();
    let plan = plan.database.expect("a database plan");
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let note = directory_note(&plan.warnings);
    // What the app tells while it runs (issue 41) is the plan's field, and it agrees with the
    // note: pg_restore -j is not one transaction.
    assert_eq!(
        plan.one_transaction,
        !note.contains("pg_restore -j"),
        "{note}"
    );
    assert_eq!(plan.one_transaction, replace, "{note}");
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    let report = out.report.database.expect("a database report");
    assert!(report.ok, "{:?}", report.tables);
    note
}

#[tokio::test(flavor = "multi_thread")]
async fn a_format_2_archive_restores_in_parallel_into_an_empty_database_identically() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = plain_rich_database(pg, "prsrc");
    let path = back_up_with_jobs(&env, "prsrc", pg.url_with_password(&db), Some(2)).await;
    assert_eq!(archive::read_manifest(&path).unwrap().format_version, 2);

    let copy = pg.unique_db("prcopy");
    let note = restore_into(&env, pg, &path, "prcopy", &copy, false).await;
    assert!(note.contains("pg_restore -j"), "{note}");
    assert!(note.contains("bytes of temporary disk"), "{note}");
    let (want, got) = (fidelity_snapshot(pg, &db), fidelity_snapshot(pg, &copy));
    assert_eq!(want, got);
    assert_same_schema(pg, &db, &copy);
    assert_eq!(got.large_objects.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_supabase_shaped_format_2_archive_restores_into_an_empty_database_identically() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = rich_database(pg, "prsb");
    let path = back_up_with_jobs(&env, "prsb", pg.url_with_password(&db), Some(2)).await;
    let copy = pg.unique_db("prsbcopy");
    let _ = restore_into(&env, pg, &path, "prsbcopy", &copy, false).await;
    let (want, got) = (fidelity_snapshot(pg, &db), fidelity_snapshot(pg, &copy));
    assert_eq!(want, got);
    assert_same_schema(pg, &db, &copy);
}

#[tokio::test(flavor = "multi_thread")]
async fn replacing_over_a_non_empty_database_from_format_2_is_one_transaction_and_says_why() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = plain_rich_database(pg, "prrep");
    let path = back_up_with_jobs(&env, "prrep", pg.url_with_password(&db), Some(2)).await;
    // Changed since the backup: the replace brings the backup's rows back.
    pg.psql(&db, "DELETE FROM public.pr_big WHERE id > 100");
    let before = fidelity_snapshot(pg, &db);
    let note = restore_into(&env, pg, &path, "prrep2", &db, true).await;
    assert!(note.contains("one transaction"), "{note}");
    assert!(note.contains("cannot combine with -j"), "{note}");
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM public.pr_big"), "20000");
    assert_ne!(before, fidelity_snapshot(pg, &db));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_format_2_archive_whose_data_is_damaged_is_never_restored_as_if_good() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("prbad");
    // One table holds nearly all the bytes: the middle of the archive is its data member, so
    // the plan (which reads toc.dat, at the end) succeeds and the damage is met while the
    // pre-data section may already be running.
    pg.psql(
        &db,
        "CREATE TABLE public.bad_rows (id int PRIMARY KEY, body text);
         INSERT INTO public.bad_rows SELECT g, md5(g::text) || md5((g * 7)::text)
             FROM generate_series(1, 200000) g;",
    );
    let path = back_up_with_jobs(&env, "prbad", pg.url_with_password(&db), Some(2)).await;
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let bad_dir = env.dir.path().join("damaged");
    std::fs::create_dir(&bad_dir).unwrap();
    let bad = bad_dir.join(path.file_name().unwrap());
    std::fs::write(&bad, &bytes).unwrap();

    let copy = pg.unique_db("prbadcopy");
    env.engine
        .add_project(AddProject::url("prbadcopy", pg.url_with_password(&copy)))
        .await
        .unwrap();
    let req = RestoreRequest::new(&bad, DatabaseTo::Project("prbadcopy".into()));
    let plan = env.engine.plan_restore(&req).await.unwrap();
    let plan = plan.database.expect("a database plan");
    let note = directory_note(&plan.warnings);
    assert!(note.contains("pg_restore -j"), "{note}");
    assert!(!plan.one_transaction, "{note}");
    let e = env
        .engine
        .restore(req, JobStart::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Integrity | ErrorKind::UnsupportedFormat
        ),
        "{e:?}"
    );
    let hint = e.hint().unwrap_or_default();
    assert!(hint.contains("dropped again"), "{hint}");
    assert!(!hint.contains("partly restored"), "{hint}");
    assert!(hint.contains("use another copy"), "{hint}");
    // Nothing of it is left in the target: what the pre-data section created was dropped
    // (issue 42).
    assert_eq!(
        pg.psql(&copy, "SELECT to_regclass('public.bad_rows') IS NULL"),
        "t"
    );
    assert_eq!(
        pg.psql(
            &copy,
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'bad_rows'"
        ),
        "0",
        "nothing of the post-data section ran"
    );
    let job = env.engine.catalog().jobs(None, 1).await.unwrap().remove(0);
    assert_eq!(job.state, JobState::Failed);
}
