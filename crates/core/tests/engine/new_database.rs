//! A restore into a database that does not exist yet (issue 64: "a server plus a database name,
//! with “create a new empty database” where the role may"): the plan says it is missing and
//! whether the role may create it, read from what a new database copies; the restore creates it
//! only when asked, refuses a role without CREATEDB, and removes the database it created when the
//! restore then fails.

use offsite_core::restore::{DatabaseOptions, DatabaseTo};
use offsite_core::{ErrorKind, JobStart, RestoreRequest};
use offsite_testkit::{assert_same_schema, fidelity_snapshot, TestCluster};

use crate::common::{back_up, backed_up_with, env, target};

/// A database name no database of the cluster has (made unique, then dropped).
fn missing_name(pg: &TestCluster, prefix: &str) -> String {
    let name = pg.unique_db(prefix);
    pg.psql("postgres", &format!("DROP DATABASE {name}"));
    name
}

fn exists(pg: &TestCluster, db: &str) -> bool {
    pg.psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
    )
    .trim()
        == "1"
}

fn creating(on: bool) -> DatabaseOptions {
    DatabaseOptions {
        create_database: on,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_database_is_planned_refused_unless_asked_and_created_empty_when_asked() {
    let pg = TestCluster::shared();
    let env = env().await;
    let src = pg.unique_db("newdb_src");
    pg.load_supabase_fixture(&src);
    let archive = back_up(pg, &env, "newdb", &src).await;
    let name = missing_name(pg, "newdb_into");

    // Not asked: the plan says the database is missing, that the superuser may create it, and
    // what stops the restore; the restore refuses and creates nothing.
    let req = RestoreRequest::new(&archive, target(pg, &name)).options(creating(false));
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.database_missing);
    assert!(plan.may_create_database);
    assert!(!plan.creates_database);
    assert_eq!(
        plan.target_database, name,
        "named after the database asked for"
    );
    assert!(
        plan.target.ends_with(&format!("/{name}")),
        "{}",
        plan.target
    );
    assert!(plan.target_empty, "a new database is a copy of template1");
    assert!(
        plan.blockers[0].contains("does not exist")
            && plan.blockers[0].contains("--create-database"),
        "{:?}",
        plan.blockers
    );
    let e = env
        .engine
        .restore(req, JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains(&name), "{e}");
    assert!(format!("{e:?}").contains("--create-database"), "{e:?}");
    assert!(!exists(pg, &name), "nothing created without being asked");

    // Asked: planned as created, then created and restored exactly.
    let req = RestoreRequest::new(&archive, target(pg, &name)).options(creating(true));
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.database_missing && plan.creates_database);
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert!(!exists(pg, &name), "a plan changes nothing");
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(out.report.ok);
    assert!(exists(pg, &name));
    assert_eq!(fidelity_snapshot(pg, &src), fidelity_snapshot(pg, &name));
    assert_same_schema(pg, &src, &name);

    // Asked again, now that it exists (and holds the backup): an existing database is restored
    // into as it is — here refused as not empty, never created again.
    let req = RestoreRequest::new(&archive, target(pg, &name)).options(creating(true));
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(!plan.database_missing && !plan.creates_database);
    assert!(!plan.target_empty);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_createdb_is_told_and_nothing_is_created() {
    let pg = TestCluster::shared();
    let env = env().await;
    let (_, archive) = backed_up_with(
        pg,
        &env,
        "newdb_role",
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 5);",
    )
    .await;
    let role = "newdb_nocreate";
    pg.psql(
        "postgres",
        &format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' NOCREATEDB"
        ),
    );
    let name = missing_name(pg, "newdb_denied");
    let to = DatabaseTo::url_or_project(
        &format!("postgres://{role}@127.0.0.1:{}/{name}", pg.port()),
        Some(format!("pw-{role}")),
    );
    let req = RestoreRequest::new(&archive, to.clone()).options(creating(true));
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.database_missing);
    assert!(!plan.may_create_database && !plan.creates_database);
    assert!(
        plan.blockers[0].contains(role) && plan.blockers[0].contains("may not create databases"),
        "{:?}",
        plan.blockers
    );
    let e = env
        .engine
        .restore(req, JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    assert!(e.to_string().contains("may not create databases"), "{e}");
    assert!(!exists(pg, &name));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restore_that_fails_after_creating_the_database_removes_it() {
    let pg = TestCluster::shared();
    let env = env().await;
    // A backup whose table belongs to a role the server no longer has: the restore refuses
    // (missing roles, no --create-roles) — after the new database was created.
    let owner = "newdb_gone_owner";
    pg.psql(
        "postgres",
        &format!("DROP ROLE IF EXISTS {owner}; CREATE ROLE {owner} NOLOGIN"),
    );
    let src = pg.unique_db("newdb_gone");
    pg.psql(
        &src,
        &format!("CREATE TABLE t (id int); ALTER TABLE t OWNER TO {owner};"),
    );
    let archive = back_up(pg, &env, "newdb_gone", &src).await;
    pg.psql("postgres", &format!("DROP DATABASE {src}"));
    pg.psql("postgres", &format!("DROP ROLE {owner}"));

    let name = missing_name(pg, "newdb_failed");
    let req = RestoreRequest::new(&archive, target(pg, &name)).options(creating(true));
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .database
        .unwrap();
    assert!(plan.creates_database);
    assert!(
        plan.missing_roles.iter().any(|r| r == owner),
        "{:?}",
        plan.missing_roles
    );
    let e = env
        .engine
        .restore(req, JobStart::default())
        .await
        .unwrap_err();
    let shown = format!("{e:?}");
    assert!(shown.contains("was removed again"), "{shown}");
    assert!(
        !exists(pg, &name),
        "the database the failed restore created is gone"
    );
}
