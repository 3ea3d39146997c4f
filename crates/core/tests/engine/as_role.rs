//! A restore as a superuser of a backup Offsite did not make is said, not hidden, and
//! `--as-role ROLE` restores it with ROLE's rights only (issue 41): the backup's CHECK function
//! that runs a program does run one when restored as the superuser, and does not through
//! `--as-role`; what the restore creates is owned by ROLE and its temporary login role is gone.

use crate::common::{back_up, env, target};
use offsite_core::restore::{DatabaseOptions, RestoreRequest};
use offsite_core::{ErrorKind, JobStart};
use offsite_testkit::TestCluster;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn marker_dir() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("offsite-asrole-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

/// A database whose table's CHECK tries `touch DIR/ran` as a program (swallowing the error).
fn planted(pg: &TestCluster, dir: &Path) -> String {
    let db = pg.unique_db("asrole_src");
    pg.psql(
        &db,
        &format!(
            "CREATE FUNCTION public.evil() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $f$
             BEGIN
               BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch {}/ran''';
               EXCEPTION WHEN others THEN NULL; END;
               RETURN true;
             END $f$;
             CREATE TABLE public.t (v int CHECK (public.evil()));
             INSERT INTO public.t VALUES (1), (2);",
            dir.display()
        ),
    );
    // Inserted as the superuser here, so the program did run once: the marker goes.
    assert!(dir.join("ran").exists(), "the payload is not live");
    std::fs::remove_file(dir.join("ran")).unwrap();
    db
}

/// A fresh database owned by a new plain role; (database, role).
fn owned_target(pg: &TestCluster, tag: &str) -> (String, String) {
    let role = format!("app_{tag}_{}", std::process::id());
    pg.psql("postgres", &format!("CREATE ROLE {role} NOLOGIN"));
    let db = pg.unique_db("asrole_dst");
    pg.psql("postgres", &format!("ALTER DATABASE {db} OWNER TO {role}"));
    pg.psql(&db, &format!("ALTER SCHEMA public OWNER TO {role}"));
    (db, role)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_backup_restored_as_a_superuser_is_warned_and_as_role_runs_none_of_its_code() {
    let pg = TestCluster::shared();
    let dir = marker_dir();
    let env = env().await;
    let src = planted(pg, dir.path());
    let made = back_up(pg, &env, "asrole", &src).await;
    // A copy Offsite did not make (as a file handed over by someone else would be).
    let foreign_dir = tempfile::tempdir().unwrap();
    let foreign = foreign_dir.path().join(made.file_name().unwrap());
    std::fs::copy(&made, &foreign).unwrap();

    // The plan says it, in plain words, for the superuser connection.
    let (dst, role) = owned_target(pg, "a");
    let plan = env
        .engine
        .plan_restore(&RestoreRequest::new(&foreign, target(pg, &dst)))
        .await
        .unwrap();
    let w = plan.database.as_ref().unwrap().warnings.join("\n");
    assert!(w.contains("superuser") && w.contains("--as-role"), "{w}");
    // The backup made here is not warned about.
    let own = env
        .engine
        .plan_restore(&RestoreRequest::new(&made, target(pg, &dst)))
        .await
        .unwrap();
    assert!(
        !own.database
            .unwrap()
            .warnings
            .join("\n")
            .contains("--as-role"),
        "a local backup is not foreign"
    );

    // --as-role: the plan names the role, and the restore runs nothing.
    let opts = DatabaseOptions {
        as_role: Some(role.clone()),
        no_owner: true,
        ..Default::default()
    };
    let req = RestoreRequest::new(&foreign, target(pg, &dst)).options(opts.clone());
    let plan = env.engine.plan_restore(&req).await.unwrap();
    let w = plan.database.as_ref().unwrap().warnings.join("\n");
    assert!(w.contains(&format!("restores as {role}")), "{w}");
    assert!(!w.contains("is a superuser"), "{w}");
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(out.report.ok, "{:#?}", out.report);
    assert!(
        !dir.path().join("ran").exists(),
        "the backup's code ran a program"
    );
    let owner = pg.psql(
        &dst,
        "SELECT tableowner FROM pg_tables WHERE tablename = 't'",
    );
    assert_eq!(owner.trim(), role);
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM public.t").trim(), "2");
    let temp = pg.psql(
        "postgres",
        "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'offsite_restore_%'",
    );
    assert_eq!(temp.trim(), "0", "the temporary login role is dropped");

    // The warning is true: the same restore as the superuser does run the program.
    let (dst2, _) = owned_target(pg, "b");
    let req = RestoreRequest::new(&foreign, target(pg, &dst2));
    let _ = env.engine.restore(req, JobStart::default()).await;
    assert!(
        dir.path().join("ran").exists(),
        "as a superuser the payload runs: without it this test would prove nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn as_role_refuses_a_role_that_could_run_programs_or_does_not_exist() {
    let pg = TestCluster::shared();
    let env = env().await;
    let src = pg.unique_db("asrole_plain");
    pg.psql(&src, "CREATE TABLE t (v int); INSERT INTO t VALUES (1);");
    let made = back_up(pg, &env, "asrole2", &src).await;
    let role = format!("prog_{}", std::process::id());
    pg.psql(
        "postgres",
        &format!("CREATE ROLE {role} NOLOGIN; GRANT pg_execute_server_program TO {role};"),
    );
    let dst = pg.unique_db("asrole_dst3");
    for (r, kind) in [
        (role.as_str(), ErrorKind::Permission),
        (pg.superuser(), ErrorKind::Permission),
        ("no_such_role_here", ErrorKind::NotFound),
    ] {
        let req = RestoreRequest::new(&made, target(pg, &dst)).options(DatabaseOptions {
            as_role: Some(r.to_string()),
            ..Default::default()
        });
        let e = env
            .engine
            .restore(req, JobStart::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{r}: {e}");
    }
    assert_eq!(
        pg.psql(
            &dst,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        .trim(),
        "0",
        "nothing restored"
    );
}
