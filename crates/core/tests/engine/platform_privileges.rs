//! A Supabase project's backup restored into another Supabase project as `postgres`, which is
//! not a superuser there: the plan (`--dry-run`) and the run agree. Privileges on what the
//! target's platform owns (`pg_catalog.lo_export`, an extension's function) are kept as the
//! target has them and listed; privileges `postgres` could not restore are found by the plan.

use crate::common::*;
use offsite_core::error::ErrorKind;
use offsite_core::restore::{DatabaseOptions, DatabaseTo};
use offsite_core::{JobStart, RestoreRequest};
use offsite_testkit::{supabase_platform_sql, TestCluster};

const PW: &str = "p0stgres-pw";

/// A cluster built the way Supabase builds one (bootstrap superuser `supabase_admin`), with a
/// database `db` owned by `postgres` that holds the platform's side.
fn supabase_cluster(dbs: &[&str]) -> TestCluster {
    let pg = TestCluster::start_with_superuser("supabase_admin");
    pg.psql(
        "postgres",
        &format!(
            "CREATE ROLE postgres LOGIN CREATEROLE CREATEDB REPLICATION BYPASSRLS PASSWORD '{PW}';"
        ),
    );
    for db in dbs {
        pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER postgres"));
        pg.psql(db, supabase_platform_sql());
    }
    pg
}

fn as_postgres(pg: &TestCluster, db: &str) -> DatabaseTo {
    DatabaseTo::url_or_project(
        &format!("postgres://postgres@127.0.0.1:{}/{db}", pg.port()),
        Some(PW.to_string()),
    )
}

/// The backup's grants on `lo_export` / `lo_import` hand out the server's files, so the plan
/// lists them among the statements that need consent; the user reviewed and gave it.
fn consented() -> DatabaseOptions {
    DatabaseOptions {
        allow_arbitrary_sql: true,
        ..Default::default()
    }
}

/// The user's part of the project, made as `postgres` (and rows in the platform's table).
const USERS_PART: &str = "SET ROLE postgres;
     CREATE TABLE public.notes (id integer PRIMARY KEY, body text NOT NULL);
     INSERT INTO public.notes SELECT i, 'note ' || i FROM generate_series(1, 25) AS i;
     GRANT SELECT ON public.notes TO anon;
     CREATE FUNCTION public.note_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM public.notes $$;
     RESET ROLE;
     INSERT INTO auth.users VALUES ('00000000-0000-0000-0000-000000000001', 'a@example.com', '2024-01-01 00:00+00');";

/// The privileges of the platform's objects, as text.
const PLATFORM_ACLS: &str = "SELECT string_agg(p.oid::regprocedure::text || ' ' || coalesce(p.proacl::text, '-'), '; ' ORDER BY p.oid::regprocedure::text)
       FROM pg_proc p
      WHERE p.oid IN ('pg_catalog.lo_export(oid, text)'::regprocedure, 'pg_catalog.lo_import(text)'::regprocedure,
                      'pg_catalog.lo_import(text, oid)'::regprocedure, 'extensions.crypt(text, text)'::regprocedure)";

#[tokio::test(flavor = "multi_thread")]
async fn privileges_on_what_the_platform_owns_are_kept_and_the_plan_and_the_run_agree() {
    let src_pg = supabase_cluster(&["proj"]);
    src_pg.psql("proj", USERS_PART);
    let env = env().await;
    let archive = back_up(&src_pg, &env, "supa_platform", "proj").await;

    let pg = supabase_cluster(&["proj"]);
    // The target's platform grants differently from the source's: it keeps its own.
    pg.psql(
        "proj",
        "GRANT EXECUTE ON FUNCTION pg_catalog.lo_export(oid, text) TO service_role;",
    );
    let target_acls = pg.psql("proj", PLATFORM_ACLS);
    assert_ne!(target_acls, src_pg.psql("proj", PLATFORM_ACLS));

    // No consent given: the grants on lo_export/lo_import are kept as the target has them, so
    // they never run and ask for none.
    let req = RestoreRequest::new(&archive, as_postgres(&pg, "proj"));
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(!plan.connecting_superuser);
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert_eq!(plan.arbitrary_sql_total, 0, "{:?}", plan.arbitrary_sql);
    for object in [
        "function pg_catalog.lo_export(oid, text)",
        "function pg_catalog.lo_import(text)",
        "function pg_catalog.lo_import(text, oid)",
        "function extensions.crypt(text, text)",
    ] {
        assert!(
            plan.platform_privileges
                .iter()
                .any(|p| p.starts_with(&format!("{object} "))),
            "{object} not in {:?}",
            plan.platform_privileges
        );
    }
    assert!(
        !plan
            .platform_privileges
            .iter()
            .any(|p| p.contains("notes") || p.contains("note_count")),
        "the user's own objects' privileges are restored: {:?}",
        plan.platform_privileges
    );

    // No blocker: the run succeeds, as the plan said.
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok,
        "{:?}",
        out.report.database.as_ref().unwrap().tables
    );
    assert_eq!(
        pg.psql("proj", PLATFORM_ACLS),
        target_acls,
        "the platform's privileges are as the target had them"
    );
    assert_eq!(pg.psql("proj", "SELECT count(*) FROM public.notes"), "25");
    assert_eq!(pg.psql("proj", "SELECT count(*) FROM auth.users"), "1");
    assert_eq!(
        pg.psql(
            "proj",
            "SELECT has_table_privilege('anon', 'public.notes', 'SELECT')"
        ),
        "t",
        "the user's own grants are restored"
    );
}

/// A privilege the source's `supabase_functions_admin` granted on the user's table (it held the
/// grant option): pg_dump restores it in that role's name (`SET SESSION AUTHORIZATION`), which
/// only a superuser may do. The plan says so before anything runs; the run refuses the same way
/// and changes nothing; with `--no-owner` it is left out, listed, and the rest is restored.
#[tokio::test(flavor = "multi_thread")]
async fn a_privilege_granted_in_another_roles_name_is_a_blocker_the_run_would_hit() {
    let src_pg = supabase_cluster(&["proj"]);
    src_pg.psql("proj", USERS_PART);
    src_pg.psql(
        "proj",
        "GRANT SELECT ON public.notes TO supabase_functions_admin WITH GRANT OPTION;
         SET ROLE supabase_functions_admin;
         GRANT SELECT ON public.notes TO authenticated;
         RESET ROLE;",
    );
    let env = env().await;
    let archive = back_up(&src_pg, &env, "supa_grantor", "proj").await;
    let pg = supabase_cluster(&["proj"]);

    let req = RestoreRequest::new(&archive, as_postgres(&pg, "proj")).options(consented());
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert_eq!(plan.blockers.len(), 1, "{:?}", plan.blockers);
    assert!(
        plan.blockers[0].contains("supabase_functions_admin"),
        "{:?}",
        plan.blockers
    );
    assert!(
        plan.owned_by_others
            .iter()
            .any(|o| o.role == "supabase_functions_admin"
                && o.objects
                    .iter()
                    .any(|x| x.contains("public.notes") && x.contains("granted by"))),
        "{:?}",
        plan.owned_by_others
    );
    // What the plan found is what the target refuses `postgres`.
    let refused = pg
        .psql_url(
            &format!(
                "host=127.0.0.1 port={} dbname=proj user=postgres password={PW}",
                pg.port()
            ),
            "SET SESSION AUTHORIZATION supabase_functions_admin",
        )
        .unwrap_err();
    assert!(refused.contains("permission denied"), "{refused}");

    let err = env
        .engine
        .restore(req.clone(), JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permission, "{err}");
    assert_eq!(
        pg.psql(
            "proj",
            "SELECT count(*) FROM pg_class WHERE relname = 'notes'"
        ),
        "0",
        "nothing was restored"
    );

    let req = req.options(DatabaseOptions {
        no_owner: true,
        ..consented()
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
        plan.left_out
            .iter()
            .any(|l| l.contains("public.notes") && l.contains("supabase_functions_admin")),
        "{:?}",
        plan.left_out
    );
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok,
        "{:?}",
        out.report.database.as_ref().unwrap().tables
    );
    assert_eq!(pg.psql("proj", "SELECT count(*) FROM public.notes"), "25");
    assert_eq!(
        pg.psql(
            "proj",
            "SELECT has_table_privilege('authenticated', 'public.notes', 'SELECT')"
        ),
        "f",
        "the grant made in supabase_functions_admin's name was left out, as the plan said"
    );
}

/// The privileges of the server's own catalog functions, as text.
const CATALOG_ACLS: &str = "SELECT string_agg(p.oid::regprocedure::text || ' ' || coalesce(p.proacl::text, '-'), '; ' ORDER BY p.oid::regprocedure::text)
       FROM pg_proc p
      WHERE p.oid IN ('pg_catalog.lo_export(oid, text)'::regprocedure, 'pg_catalog.lo_import(text)'::regprocedure,
                      'pg_catalog.lo_import(text, oid)'::regprocedure, 'pg_catalog.pg_read_file(text)'::regprocedure)";

/// Disaster recovery of a Supabase project onto a new server (plain PostgreSQL), as its
/// superuser with `--create-roles`: pg_dump's lines about the platform's privileges on
/// `pg_catalog.lo_export` / `lo_import` name those functions, they do not call them, so the
/// restore needs no `--allow-arbitrary-sql`; privileges on the server's own catalog are the new
/// server's (kept and listed), even one a hostile source gave PUBLIC. A backup whose SQL really
/// calls such a function (a column default) is still refused without consent.
#[tokio::test(flavor = "multi_thread")]
async fn a_supabase_backup_restores_onto_a_new_server_without_consent_and_a_real_call_is_refused() {
    let src_pg = supabase_cluster(&["proj"]);
    src_pg.psql("proj", USERS_PART);
    src_pg.psql(
        "proj",
        "GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text) TO PUBLIC;",
    );
    let env = env().await;
    let archive = back_up(&src_pg, &env, "supa_newsrv", "proj").await;

    let other = TestCluster::start();
    other.create_db("dst");
    let catalog_before = other.psql("dst", CATALOG_ACLS);
    let req = RestoreRequest::new(&archive, target(&other, "dst")).options(DatabaseOptions {
        create_roles: true,
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.connecting_superuser);
    assert_eq!(plan.arbitrary_sql_total, 0, "{:?}", plan.arbitrary_sql);
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    for object in [
        "function pg_catalog.lo_export(oid, text)",
        "function pg_catalog.lo_import(text)",
        "function pg_catalog.pg_read_file(text)",
    ] {
        assert!(
            plan.platform_privileges
                .iter()
                .any(|p| p.starts_with(&format!("{object} "))),
            "{object} not in {:?}",
            plan.platform_privileges
        );
    }
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok,
        "{:?}",
        out.report.database.as_ref().unwrap().tables
    );
    assert_eq!(other.psql("dst", "SELECT count(*) FROM public.notes"), "25");
    assert_eq!(
        other.psql("dst", CATALOG_ACLS),
        catalog_before,
        "the new server's catalog privileges are its own"
    );
    assert_eq!(
        other.psql(
            "dst",
            "SELECT has_function_privilege('anon', 'extensions.crypt(text, text)', 'EXECUTE')"
        ),
        src_pg.psql(
            "proj",
            "SELECT has_function_privilege('anon', 'extensions.crypt(text, text)', 'EXECUTE')"
        ),
        "privileges on what the backup creates are restored"
    );

    // The hostile variant: a column default that really calls lo_export.
    src_pg.psql(
        "proj",
        "CREATE TABLE public.leak (id int, n int DEFAULT pg_catalog.lo_export(1, '/tmp/offsite-gate-leak'));",
    );
    let archive = back_up(&src_pg, &env, "supa_newsrv_hostile", "proj").await;
    other.create_db("dst2");
    let req = RestoreRequest::new(&archive, target(&other, "dst2")).options(DatabaseOptions {
        create_roles: true,
        ..Default::default()
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert_eq!(plan.arbitrary_sql_total, 1, "{:?}", plan.arbitrary_sql);
    assert!(
        plan.arbitrary_sql[0].excerpt.contains("leak"),
        "{:?}",
        plan.arbitrary_sql
    );
    let err = env
        .engine
        .restore(req, JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ArbitrarySql, "{err}");
    assert_eq!(
        other.psql(
            "dst2",
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ),
        "0",
        "nothing was restored"
    );
}

/// The backup's privileges on the server's own catalog, in database `db`: a column of the shared
/// `pg_authid` (the regression database's grant), a function revoked from PUBLIC, and
/// `lo_export` (a grant that hands out the server's files).
const OWN_CATALOG_ACLS: &str = "SELECT concat_ws(' | ',
     (SELECT coalesce(attacl::text, '-') FROM pg_attribute
       WHERE attrelid = 'pg_catalog.pg_authid'::regclass AND attname = 'rolname'),
     (SELECT coalesce(proacl::text, '-') FROM pg_proc WHERE oid = 'pg_catalog.pg_backend_pid()'::regprocedure),
     (SELECT coalesce(proacl::text, '-') FROM pg_proc WHERE oid = 'pg_catalog.lo_export(oid, text)'::regprocedure))";

/// Issue 63, item 4: onto a server that is not a Supabase platform (plain PostgreSQL, restored
/// as its superuser), the backup's privileges on `pg_catalog` come back exactly as the stock
/// `pg_dump | pg_restore` of the same database brings them — `GRANT SELECT(rolname) ON
/// pg_catalog.pg_authid`, `REVOKE … ON FUNCTION pg_catalog.pg_backend_pid() FROM PUBLIC`, and,
/// with `--allow-arbitrary-sql`, the grant on `lo_export`; without that consent only the grant
/// that hands out the server's files is left out, and the plan lists it with why.
#[tokio::test(flavor = "multi_thread")]
async fn onto_a_plain_server_the_catalogs_privileges_come_back_as_pg_restore_brings_them() {
    let pg = TestCluster::shared();
    let reader = format!("catalog_reader_{}", std::process::id());
    pg.psql("postgres", &format!("CREATE ROLE {reader}"));
    let src = pg.unique_db("catacl_src");
    pg.psql(
        &src,
        &format!(
            "CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t VALUES (1), (2);
             GRANT SELECT (rolname) ON pg_catalog.pg_authid TO {reader};
             REVOKE EXECUTE ON FUNCTION pg_catalog.pg_backend_pid() FROM PUBLIC;
             GRANT EXECUTE ON FUNCTION pg_catalog.lo_export(oid, text) TO {reader};"
        ),
    );
    let fresh = pg.psql("postgres", OWN_CATALOG_ACLS);
    let backed_up = pg.psql(&src, OWN_CATALOG_ACLS);
    assert_ne!(backed_up, fresh);

    // The control: the stock tools, the same database.
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("src.dump");
    let out = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .args(["-Fc", "-f"])
        .arg(&dump)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let control = pg.unique_db("catacl_ctl");
    let out = pg
        .command("pg_restore")
        .args(pg.conn_args())
        .args(["-d", &control])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stock = pg.psql(&control, OWN_CATALOG_ACLS);
    assert_eq!(stock, backed_up, "pg_restore brings them all back");

    let env = env().await;
    let archive = back_up(pg, &env, "catalog_acls", &src).await;

    // With consent: every privilege, as pg_restore restores them.
    let all = pg.unique_db("catacl_all");
    let req = RestoreRequest::new(&archive, target(pg, &all)).options(consented());
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(
        plan.platform_privileges.is_empty(),
        "{:?}",
        plan.platform_privileges
    );
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(out.report.ok);
    assert_eq!(pg.psql(&all, OWN_CATALOG_ACLS), stock);

    // Without: the same, but for the grant on lo_export, listed with why.
    let most = pg.unique_db("catacl_most");
    let req = RestoreRequest::new(&archive, target(pg, &most));
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert_eq!(plan.arbitrary_sql_total, 0, "{:?}", plan.arbitrary_sql);
    assert_eq!(
        plan.platform_privileges.len(),
        1,
        "{:?}",
        plan.platform_privileges
    );
    let listed = &plan.platform_privileges[0];
    for w in [
        "function pg_catalog.lo_export(oid, text) ",
        "--allow-arbitrary-sql",
        &format!("GRANT ALL ON FUNCTION pg_catalog.lo_export(oid, text) TO {reader};"),
    ] {
        assert!(listed.contains(w), "{w:?} not in {listed}");
    }
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(out.report.ok);
    let parts = |s: &str| s.split(" | ").map(str::to_string).collect::<Vec<_>>();
    let (got, stock, fresh) = (
        parts(&pg.psql(&most, OWN_CATALOG_ACLS)),
        parts(&stock),
        parts(&fresh),
    );
    assert_eq!(
        got[..2],
        stock[..2],
        "pg_authid's column and pg_backend_pid as pg_restore has them"
    );
    assert_eq!(got[2], fresh[2], "lo_export as the target had it");
}
