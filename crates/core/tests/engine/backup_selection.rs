//! Selective backups (issue 47 item 1): a project's backups leave out a schema, a table and the
//! rows of a log table; the archive restores what it holds, and inspect, the restore plan and a
//! drill say what it left out. Names are user input: hostile ones are refused or matched
//! literally, never executed.

use crate::common::*;
use offsite_core::ops::drill::DrillOptions;
use offsite_core::selection::BackupSelection;
use offsite_core::{BackupOptions, JobStart, RestoreRequest};
use offsite_testkit::TestCluster;

fn v(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

const SCHEMA: &str = "
    CREATE TABLE public.orders (id int PRIMARY KEY, total int);
    INSERT INTO public.orders SELECT g, g * 10 FROM generate_series(1, 500) g;
    CREATE TABLE public.logs (id serial PRIMARY KEY, line text);
    INSERT INTO public.logs (line) SELECT 'log ' || g FROM generate_series(1, 2000) g;
    CREATE TABLE public.scratch (x int);
    INSERT INTO public.scratch VALUES (1), (2);
    CREATE SCHEMA audit;
    CREATE TABLE audit.events (id int);
    INSERT INTO audit.events VALUES (1);
    CREATE SCHEMA \"x; rm -rf\";
    CREATE TABLE \"x; rm -rf\".\"t\" (id int);
    INSERT INTO \"x; rm -rf\".\"t\" VALUES (7);
";

fn count(pg: &TestCluster, db: &str, sql: &str) -> String {
    pg.psql(db, sql).trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_selective_backup_restores_what_it_holds_and_says_what_it_left_out() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (src, _) = backed_up_with(pg, &env, "sel_bk", SCHEMA).await;
    let selection = BackupSelection::parse(
        &[],
        &v(&["audit"]),
        &[],
        &v(&["public.scratch", "\"x; rm -rf\".t"]),
        &v(&["public.logs"]),
    )
    .unwrap();
    env.engine
        .set_selection("sel_bk", selection.clone())
        .await
        .unwrap();
    assert_eq!(env.engine.selection("sel_bk").await.unwrap(), selection);
    let out = env
        .engine
        .backup(BackupOptions::project("sel_bk"), JobStart::default())
        .await
        .unwrap();
    let archive = std::path::PathBuf::from(&out.backup.path);

    // The manifest records what was left out and counts only the tables whose rows it holds.
    let m = env.engine.inspect_archive(&archive, None).await.unwrap();
    assert_eq!(m.selection.as_ref(), Some(&selection));
    let counted: Vec<String> = m
        .tables
        .iter()
        .map(|t| format!("{}.{}", t.schema, t.table))
        .collect();
    assert_eq!(counted, v(&["public.orders"]), "{counted:?}");

    // The plan says so.
    let dst = pg.unique_db("sel_bk_dst");
    let req = RestoreRequest::new(&archive, target(pg, &dst));
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(
        plan.warnings.iter().any(|w| w.contains("selective backup")
            && w.contains("data left out")
            && w.contains("public.logs")
            && w.contains("audit")),
        "{:?}",
        plan.warnings
    );
    let restored = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(restored.report.ok, "{:?}", restored.report);
    assert_eq!(count(pg, &dst, "SELECT count(*) FROM public.orders"), "500");
    assert_eq!(
        count(pg, &dst, "SELECT count(*) FROM public.logs"),
        "0",
        "the log table is restored empty"
    );
    assert_eq!(
        count(
            pg,
            &dst,
            "SELECT count(*) FROM pg_namespace WHERE nspname IN ('audit', 'x; rm -rf')"
        ),
        "1",
        "the excluded schema is absent (the hostile-named schema stays, its table left out)"
    );
    assert_eq!(
        count(pg, &dst, "SELECT to_regclass('public.scratch') IS NULL"),
        "t"
    );
    assert_eq!(
        count(pg, &dst, "SELECT to_regclass('\"x; rm -rf\".t') IS NULL"),
        "t"
    );
    // The source is untouched (the name was matched, never executed).
    assert_eq!(count(pg, &src, "SELECT count(*) FROM \"x; rm -rf\".t"), "1");

    // A drill checks what the backup holds and says what it does not check.
    let drill = env
        .engine
        .drill(
            DrillOptions {
                project: "sel_bk".into(),
                throwaway: true,
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let r = &drill.report;
    assert_eq!(
        r.verdict,
        offsite_core::drill::Verdict::Passed,
        "{:#?}",
        r.checks
    );
    let note = r
        .checks
        .iter()
        .find(|c| c.id == "selection")
        .expect("a selection note");
    assert!(
        note.detail.as_deref().unwrap().contains("public.logs"),
        "{note:?}"
    );
    assert!(
        r.checks.iter().any(|c| c.id == "table:public.orders"),
        "{:#?}",
        r.checks
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_run_chooses_its_own_tables_and_hostile_names_never_run() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (_src, _) = backed_up_with(pg, &env, "sel_run", SCHEMA).await;
    // Refused before anything runs.
    for bad in ["x; rm -rf", "\"a\".\"b", "public.a\nb", "public.*"] {
        assert!(
            BackupSelection::parse(&[], &[], &[], &[], &v(&[bad])).is_err(),
            "{bad:?}"
        );
    }
    let hostile = BackupSelection {
        exclude_table_data: v(&["public.\"logs\"; DROP TABLE public.orders"]),
        ..Default::default()
    };
    assert!(env
        .engine
        .set_selection("sel_run", hostile.clone())
        .await
        .is_err());
    let e = env
        .engine
        .backup(
            BackupOptions {
                selection: Some(hostile),
                ..BackupOptions::project("sel_run")
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), offsite_core::ErrorKind::InvalidInput, "{e}");

    // Only the hostile-named table (quoted, matched literally).
    let only = BackupSelection::parse(&[], &[], &v(&["\"x; rm -rf\".\"t\""]), &[], &[]).unwrap();
    let out = env
        .engine
        .backup(
            BackupOptions {
                selection: Some(only),
                ..BackupOptions::project("sel_run")
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let m = env
        .engine
        .inspect_archive(std::path::Path::new(&out.backup.path), None)
        .await
        .unwrap();
    let counted: Vec<(String, String, u64)> = m
        .tables
        .iter()
        .map(|t| (t.schema.clone(), t.table.clone(), t.rows))
        .collect();
    assert_eq!(counted, vec![("x; rm -rf".to_string(), "t".to_string(), 1)]);
    // The project's own selection is unchanged (empty): the next backup is whole.
    assert!(env.engine.selection("sel_run").await.unwrap().is_empty());
    // A table that does not exist fails the backup instead of silently backing up nothing.
    let missing = BackupSelection::parse(&[], &[], &v(&["public.nope"]), &[], &[]).unwrap();
    let e = env
        .engine
        .backup(
            BackupOptions {
                selection: Some(missing),
                ..BackupOptions::project("sel_run")
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("nope") || e.to_string().contains("no matching"),
        "{e}"
    );
}
