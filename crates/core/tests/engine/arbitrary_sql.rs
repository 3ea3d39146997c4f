//! SQL that pg_dump never writes, in an imported dump (`COPY … FROM PROGRAM`, `ALTER SYSTEM`,
//! `DO`, `pg_read_file`, a superuser role, `COPY … TO 'file'`): the plan lists it, the restore
//! refuses it (`arbitrary_sql`) unless consented to, and what pg_dump really writes — the
//! Supabase-shaped fixture through the real pg_dump, plain and custom format — holds none.

use offsite_core::catalog::BackupStatus;
use offsite_core::plainsql::classify::{ArbitraryKind, Classifier, Findings};
use offsite_core::restore::DatabaseOptions;
use offsite_core::{
    AddProject, ErrorKind, ImportInto, ImportOptions, JobStart, ProjectConnection, RestoreRequest,
};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};

use crate::common::{env, target, Env};

fn pg_dump(pg: &TestCluster, db: &str, args: &[&str]) -> Vec<u8> {
    let out = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .args(args)
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

async fn import(env: &Env, pg: &TestCluster, file: &Path, name: &str, src: &str) -> PathBuf {
    let into = ImportInto::New(AddProject {
        name: name.into(),
        connection: ProjectConnection::Url(pg.url(src)),
        tls: None,
        password: Some(pg.superuser_password().into()),
        backup_dir: None,
        skip_test: false,
    });
    let o = env
        .engine
        .import(ImportOptions::new(file, into), JobStart::default())
        .await
        .unwrap();
    assert_eq!(o.backup.status, BackupStatus::Verified);
    PathBuf::from(o.backup.path)
}

/// Tables, roles named `arbsql_%` and the like: what a restore could have left behind.
fn objects(pg: &TestCluster, db: &str) -> String {
    pg.psql(
        db,
        "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn what_pg_dump_writes_of_the_supabase_fixture_is_not_arbitrary() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("arbsql_fixture");
    pg.load_supabase_fixture(&db);
    let sql = pg_dump(pg, &db, &[]);
    let found = Findings::of_script(&sql, Classifier::new());
    assert!(
        found.is_empty(),
        "{} statement(s) of pg_dump's own output flagged: {:#?}",
        found.total,
        found.first
    );
    // The import preview says the same.
    let env = env().await;
    let file = env.dir.path().join("fixture.sql");
    std::fs::write(&file, &sql).unwrap();
    let p = env.engine.inspect_import(&file).await.unwrap();
    let plain = p.plain.as_ref().unwrap();
    assert_eq!(plain.arbitrary_sql_total, 0, "{:?}", plain.arbitrary_sql);
    assert!(!p.notes.iter().any(|n| n.contains("never writes")));

    // Custom format: the plan over the archive's TOC finds nothing either.
    let custom = env.dir.path().join("fixture.dump");
    std::fs::write(&custom, pg_dump(pg, &db, &["-Fc"])).unwrap();
    let archive = import(&env, pg, &custom, "fixture", &db).await;
    let dst = pg.unique_db("arbsql_fixture_dst");
    let plan = env
        .engine
        .plan_restore(&RestoreRequest::new(&archive, target(pg, &dst)))
        .await
        .unwrap()
        .database
        .unwrap();
    assert_eq!(plan.arbitrary_sql_total, 0, "{:?}", plan.arbitrary_sql);
    assert!(!plan.blockers.iter().any(|b| b.contains("arbitrary")));
}

/// A small database's plain dump with `attack` inserted before its trailer.
fn dump_with(pg: &TestCluster, src: &str, attack: &str) -> String {
    let sql = String::from_utf8(pg_dump(pg, src, &[])).unwrap();
    let at = sql
        .find("--\n-- PostgreSQL database dump complete")
        .expect("pg_dump's trailer");
    format!("{}{attack}\n\n{}", &sql[..at], &sql[at..])
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_statements_in_an_imported_dump_are_refused_without_consent() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("arbsql_src");
    pg.psql(
        &src,
        "CREATE TABLE public.notes (id int PRIMARY KEY, body text); INSERT INTO public.notes SELECT g, 'n' || g FROM generate_series(1, 50) g;",
    );
    let env = env().await;
    let tag = uuid_ish();
    let marker = format!("/tmp/offsite-arbsql-{tag}-marker");
    let written = format!("/tmp/offsite-arbsql-{tag}-written");
    let work_mem = pg.psql("postgres", "SHOW work_mem");
    let attacks: Vec<(String, ArbitraryKind)> = vec![
        (
            format!(
                "CREATE TABLE public.pwn (a text);\nCOPY public.pwn FROM PROGRAM 'touch {marker}';"
            ),
            ArbitraryKind::RunsProgram,
        ),
        (
            "ALTER SYSTEM SET work_mem = '77kB';".into(),
            ArbitraryKind::ServerConfig,
        ),
        (
            "DO $$ BEGIN CREATE TABLE public.did_run (a int); END $$;".into(),
            ArbitraryKind::RunsCode,
        ),
        (
            "SELECT pg_read_file('/etc/hostname');".into(),
            ArbitraryKind::ServerFiles,
        ),
        (
            format!("CREATE ROLE arbsql_boss_{tag} SUPERUSER;"),
            ArbitraryKind::Superuser,
        ),
        (
            format!("COPY public.notes TO '{written}';"),
            ArbitraryKind::ServerFiles,
        ),
    ];
    for (i, (attack, kind)) in attacks.iter().enumerate() {
        let file = env.dir.path().join(format!("attack{i}.sql"));
        std::fs::write(&file, dump_with(pg, &src, attack)).unwrap();
        // The preview names it before anything is packed.
        let p = env.engine.inspect_import(&file).await.unwrap();
        let plain = p.plain.as_ref().unwrap();
        assert_eq!(
            plain.arbitrary_sql_total, 1,
            "{attack}: {:?}",
            plain.arbitrary_sql
        );
        assert_eq!(plain.arbitrary_sql[0].kind, *kind, "{attack}");
        assert!(
            p.notes.iter().any(|n| n.contains("--allow-arbitrary-sql")),
            "{:?}",
            p.notes
        );
        let archive = import(&env, pg, &file, &format!("attack{i}"), &src).await;

        let dst = pg.unique_db("arbsql_dst");
        let req = RestoreRequest::new(&archive, target(pg, &dst));
        let plan = env
            .engine
            .plan_restore(&req)
            .await
            .unwrap()
            .database
            .unwrap();
        assert_eq!(plan.arbitrary_sql_total, 1, "{attack}");
        assert_eq!(plan.arbitrary_sql[0].kind, *kind, "{attack}");
        assert!(
            plan.arbitrary_sql[0].sentence().starts_with("this file "),
            "{:?}",
            plan.arbitrary_sql
        );
        assert!(
            plan.blockers[0].contains("--allow-arbitrary-sql"),
            "{:?}",
            plan.blockers
        );
        let e = env
            .engine
            .restore(req, JobStart::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ArbitrarySql, "{attack}: {e}");
        assert_eq!(e.code(), "arbitrary_sql");
        assert!(
            e.message().contains("1 statement pg_dump never writes"),
            "{}",
            e.message()
        );
        assert!(
            e.message().contains(kind_words(*kind)),
            "{attack}: {}",
            e.message()
        );
        assert!(e.hint().unwrap().contains("--allow-arbitrary-sql"));
        // Nothing ran, nothing was restored.
        assert_eq!(objects(pg, &dst), "0", "{attack}");
        assert!(!Path::new(&marker).exists(), "{attack}: the program ran");
        assert!(
            !Path::new(&written).exists(),
            "{attack}: the file was written"
        );
        assert_eq!(
            pg.psql(
                "postgres",
                &format!("SELECT count(*) FROM pg_roles WHERE rolname = 'arbsql_boss_{tag}'")
            ),
            "0"
        );
        pg.psql("postgres", "SELECT pg_reload_conf()");
        assert_eq!(pg.psql("postgres", "SHOW work_mem"), work_mem);
    }

    // With consent the restore runs them: the program of the first file really runs (which is
    // what the refusal above kept from happening).
    let file = env.dir.path().join("attack0.sql");
    let archive = import(&env, pg, &file, "consented", &src).await;
    let dst = pg.unique_db("arbsql_dst_ok");
    let r = env
        .engine
        .restore(
            RestoreRequest::new(&archive, target(pg, &dst)).options(DatabaseOptions {
                allow_arbitrary_sql: true,
                ..Default::default()
            }),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(
        r.report.database.as_ref().unwrap().plan.allow_arbitrary_sql
            && r.report.database.as_ref().unwrap().plan.blockers.is_empty()
    );
    assert!(Path::new(&marker).exists(), "COPY … FROM PROGRAM ran");
    let _ = std::fs::remove_file(&marker);
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM public.notes"), "50");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_harmless_do_block_restores_with_consent() {
    let pg = TestCluster::shared();
    let src = pg.unique_db("arbsql_do_src");
    pg.psql(
        &src,
        "CREATE TABLE public.t (a int); INSERT INTO public.t VALUES (1), (2);",
    );
    let env = env().await;
    let file = env.dir.path().join("do.sql");
    std::fs::write(&file, dump_with(pg, &src, "DO $$ BEGIN PERFORM 1; END $$;")).unwrap();
    let archive = import(&env, pg, &file, "do", &src).await;
    let dst = pg.unique_db("arbsql_do_dst");
    let e = env
        .engine
        .restore(
            RestoreRequest::new(&archive, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ArbitrarySql, "{e}");
    assert!(
        e.message().contains("DO $$ BEGIN PERFORM 1; END $$;"),
        "{e}"
    );
    assert_eq!(objects(pg, &dst), "0");
    let r = env
        .engine
        .restore(
            RestoreRequest::new(&archive, target(pg, &dst)).options(DatabaseOptions {
                allow_arbitrary_sql: true,
                ..Default::default()
            }),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        r.report.database.as_ref().unwrap().plan.arbitrary_sql_total,
        1
    );
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM public.t"), "2");
}

fn kind_words(kind: ArbitraryKind) -> &'static str {
    kind.describe()
}

/// A unique enough tag for names in /tmp and roles (the process id and the time).
fn uuid_ish() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), t % 1_000_000_000)
}
