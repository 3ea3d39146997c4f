//! A backup's code never runs with rights on the machine that drills it (issue 41). A role on
//! production that may only create tables plants functions that run `COPY … TO PROGRAM` (and
//! swallow the error) wherever a restore or a check could call them: a CHECK constraint and a
//! domain's CHECK (run while rows load), a generated column (computed on load), an index
//! expression, a trigger and a column default; a hostile superuser adds an event trigger that a
//! materialized view's refresh fires, and roles with SUPERUSER and BYPASSRLS. On production the
//! COPY is refused and the insert succeeds. A drill into the throwaway cluster, and one onto a
//! scratch server named with a superuser URL, must run none of it (no marker file appears), must
//! say what it left out, and must leave no role from the backup on the scratch server.

use crate::common::{back_up, env};
use offsite_core::drill::{CheckStatus, DrillReport};
use offsite_core::ops::drill::DrillOptions;
use offsite_core::JobStart;
use offsite_testkit::TestCluster;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A folder any OS user may write (the server runs as the `postgres` OS user under root).
fn marker_dir() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("offsite-marker-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

fn markers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The function every variant calls: tries `touch DIR/<what>` as a program, swallows the error.
fn evil_fn(schema: &str, dir: &Path) -> String {
    format!(
        "CREATE FUNCTION {schema}.evil(what text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $f$
         BEGIN
           BEGIN
             EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'touch {dir}/' || what);
           EXCEPTION WHEN others THEN NULL;
           END;
           RETURN true;
         END $f$;",
        dir = dir.display()
    )
}

/// A database planted by a non-superuser `attacker` (and one superuser-made event trigger),
/// holding `tag`-named roles; returns (database, attacker role, the backup's other roles).
fn hostile_database(pg: &TestCluster, tag: &str, dir: &Path) -> (String, String, Vec<String>) {
    let db = pg.unique_db("hostile");
    let attacker = format!("attacker_{tag}");
    let admin_role = format!("evil_admin_{tag}");
    let reader = format!("evil_reader_{tag}");
    pg.psql(
        &db,
        &format!(
            "CREATE ROLE {attacker} LOGIN;
             CREATE ROLE {admin_role} SUPERUSER BYPASSRLS REPLICATION NOLOGIN;
             CREATE ROLE {reader} NOLOGIN IN ROLE pg_execute_server_program;
             GRANT CREATE, USAGE ON SCHEMA public TO {attacker};"
        ),
    );
    // What the attacker can do on production: create functions and tables in one schema.
    let planted = format!(
        "SET ROLE {attacker};
         {evil}
         CREATE FUNCTION public.evil_imm(what text) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $f$
         BEGIN PERFORM public.evil(what); RETURN 1; END $f$;
         CREATE FUNCTION public.evil_trg() RETURNS trigger LANGUAGE plpgsql AS $f$
         BEGIN PERFORM public.evil('trigger'); RETURN NEW; END $f$;
         CREATE TABLE public.h_check (v int CHECK (public.evil('check')));
         INSERT INTO public.h_check VALUES (1), (2);
         CREATE DOMAIN public.h_dom AS int CHECK (public.evil('domain'));
         CREATE TABLE public.h_domain (v public.h_dom);
         INSERT INTO public.h_domain VALUES (1);
         CREATE TABLE public.h_gen (v int, g int GENERATED ALWAYS AS (v + public.evil_imm('generated')) STORED);
         INSERT INTO public.h_gen (v) VALUES (1);
         CREATE TABLE public.h_index (v int);
         INSERT INTO public.h_index VALUES (1);
         CREATE INDEX h_index_evil ON public.h_index ((public.evil_imm(CASE WHEN v IS NULL THEN 'x' ELSE 'index' END)));
         CREATE TABLE public.h_trigger (v int);
         INSERT INTO public.h_trigger VALUES (1);
         CREATE TRIGGER h_trg BEFORE INSERT OR UPDATE ON public.h_trigger
             FOR EACH ROW EXECUTE FUNCTION public.evil_trg();
         CREATE TABLE public.h_default (v int, d boolean DEFAULT public.evil('default'));
         INSERT INTO public.h_default (v) VALUES (1);
         GRANT SELECT ON public.h_check TO {reader}, {admin_role};
         RESET ROLE;",
        evil = evil_fn("public", dir)
    );
    pg.psql(&db, &planted);
    // A backup from elsewhere can say anything a superuser can: an event trigger on every DDL
    // command's end (a materialized view's refresh, the last step of a restore, fires it).
    pg.psql(
        &db,
        "CREATE FUNCTION public.evil_evt() RETURNS event_trigger LANGUAGE plpgsql AS $f$
         BEGIN PERFORM public.evil('event'); END $f$;
         CREATE EVENT TRIGGER h_evt ON ddl_command_end EXECUTE FUNCTION public.evil_evt();
         CREATE MATERIALIZED VIEW public.h_mv AS SELECT 1 AS one;",
    );
    for f in markers(dir) {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    (db, attacker, vec![admin_role, reader])
}

/// The payload is live: as a superuser on the source, each planted call does run the program.
fn prove_the_payload_runs(pg: &TestCluster, db: &str, dir: &Path) {
    pg.psql(db, "INSERT INTO public.h_check VALUES (3)");
    assert!(
        dir.join("check").exists(),
        "the CHECK payload does not run even as a superuser: the test would prove nothing"
    );
    std::fs::remove_file(dir.join("check")).unwrap();
}

fn check<'a>(r: &'a DrillReport, id: &str) -> &'a offsite_core::drill::DrillCheck {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id:?} in {:#?}", r.checks))
}

fn assert_confined(r: &DrillReport, dir: &Path) {
    assert!(
        markers(dir).is_empty(),
        "the backup's code ran a program during the drill: {:?}; checks: {:#?}",
        markers(dir),
        r.checks
    );
    assert_eq!(
        check(r, "restore").status,
        CheckStatus::Passed,
        "{:#?}",
        r.checks
    );
    assert_eq!(
        check(r, "confined").status,
        CheckStatus::Passed,
        "{:#?}",
        r.checks
    );
    let left = check(r, "left_out");
    assert_eq!(left.status, CheckStatus::NotComparable, "{left:#?}");
    assert!(
        left.detail.as_deref().unwrap_or_default().contains("h_evt"),
        "the event trigger is named as left out: {left:#?}"
    );
    // The rows are all there, checked against the backup's digests.
    for t in [
        "h_check",
        "h_domain",
        "h_gen",
        "h_index",
        "h_trigger",
        "h_default",
    ] {
        assert_eq!(
            check(r, &format!("table:public.{t}")).status,
            CheckStatus::Passed,
            "{t}: {:#?}",
            r.checks
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_into_the_throwaway_cluster_runs_none_of_the_backups_code_with_rights() {
    let pg = TestCluster::shared();
    let dir = marker_dir();
    let tag = format!("t{}", std::process::id());
    let (db, _, _) = hostile_database(pg, &tag, dir.path());
    let env = env().await;
    back_up(pg, &env, "hostile", &db).await;
    prove_the_payload_runs(pg, &db, dir.path());
    let outcome = env
        .engine
        .drill(
            DrillOptions {
                project: "hostile".into(),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let r = &outcome.report;
    assert_confined(r, dir.path());
    // The line says it plainly; how (Landlock, its paths) is the check's detail.
    let confined = check(r, "confined");
    let actual = confined.actual.clone().unwrap_or_default();
    assert!(
        actual.contains("confined by the operating system"),
        "{actual}"
    );
    let detail = confined.detail.clone().unwrap_or_default();
    assert!(detail.contains("Landlock"), "{detail}");
    // Nothing ran later either (the checks read the restored database as the same role).
    assert!(markers(dir.path()).is_empty(), "{:?}", markers(dir.path()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_onto_a_scratch_server_named_as_a_superuser_restores_as_its_own_role_and_leaves_no_role(
) {
    let pg = TestCluster::shared();
    let scratch = TestCluster::start();
    let dir = marker_dir();
    let tag = format!("s{}", std::process::id());
    let (db, attacker, roles) = hostile_database(pg, &tag, dir.path());
    let env = env().await;
    back_up(pg, &env, "hostile2", &db).await;
    prove_the_payload_runs(pg, &db, dir.path());
    let roles_before = scratch.psql(
        "postgres",
        "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles",
    );
    let outcome = env
        .engine
        .drill(
            DrillOptions {
                project: "hostile2".into(),
                server: Some(scratch.url_with_password("postgres")),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let r = &outcome.report;
    assert_confined(r, dir.path());
    let confined = check(r, "confined");
    assert!(
        confined
            .actual
            .as_deref()
            .unwrap()
            .contains("offsite_drill_"),
        "{confined:#?}"
    );
    // The backup's roles were made bare while the drill ran, and none is left.
    let roles_after = scratch.psql(
        "postgres",
        "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles",
    );
    assert_eq!(roles_after, roles_before, "the drill left roles behind");
    for role in roles.iter().chain([&attacker]) {
        assert!(
            !roles_after.contains(role.as_str()),
            "{role} is on the scratch server"
        );
    }
    let dbs = scratch.psql(
        "postgres",
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'offsite_drill_%'",
    );
    assert_eq!(dbs.trim(), "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scratch_server_role_that_may_run_programs_is_refused_before_anything_changes() {
    let scratch = TestCluster::start();
    scratch.psql(
        "postgres",
        "CREATE ROLE runner LOGIN CREATEDB PASSWORD 'runner-pw';
         GRANT pg_execute_server_program TO runner;",
    );
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("plain");
    pg.psql(&db, "CREATE TABLE t (v int); INSERT INTO t VALUES (1);");
    back_up(pg, &env, "plainp", &db).await;
    let url = format!(
        "postgres://runner:runner-pw@127.0.0.1:{}/postgres",
        scratch.port()
    );
    let e = env
        .engine
        .drill(
            DrillOptions {
                project: "plainp".into(),
                server: Some(url),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), offsite_core::ErrorKind::Permission, "{e}");
    assert!(e.message().contains("pg_execute_server_program"), "{e}");
    assert!(!e.message().contains("runner-pw"));
    let dbs = scratch.psql(
        "postgres",
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'offsite_drill_%'",
    );
    assert_eq!(dbs.trim(), "0");
}

/// The second layer alone: even the throwaway server's superuser cannot start a program or
/// write outside the cluster's folder.
#[test]
fn the_throwaway_server_cannot_run_programs_or_write_elsewhere_even_as_its_superuser() {
    use offsite_core::drill::cluster::{
        choose_server_bins, discover_server_bins, ThrowawayCluster,
    };
    use offsite_core::drill::sandbox::Confinement;
    let dir = marker_dir();
    let data = tempfile::tempdir().unwrap();
    let bins = choose_server_bins(&discover_server_bins(None), 15).unwrap();
    let cluster = ThrowawayCluster::start(data.path(), "sandboxtest", bins.clone()).unwrap();
    assert!(
        matches!(cluster.confinement(), Confinement::Confined { .. }),
        "{:?}",
        cluster.confinement()
    );
    let spec = cluster.spec("postgres");
    let psql = |sql: &str| {
        let client = bins.dir.join("psql");
        let client = if client.exists() {
            client
        } else {
            "psql".into()
        };
        let out = std::process::Command::new(client)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &spec.host, "-p"])
            .arg(spec.port.to_string())
            .args(["-U", &spec.user, "-d", "postgres", "-c", sql])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // As root the client runs as root and reaches the postgres-owned socket folder.
    let (ok, err) = psql(&format!(
        "COPY (SELECT 1) TO PROGRAM 'touch {}/program'",
        dir.path().display()
    ));
    assert!(!ok, "COPY TO PROGRAM ran");
    assert!(err.contains("program") || err.contains("execute"), "{err}");
    let (ok, err) = psql(&format!(
        "COPY (SELECT 1) TO '{}/file'",
        dir.path().display()
    ));
    assert!(!ok, "COPY TO a file outside the cluster's folder worked");
    assert!(
        err.contains("Permission denied") || err.contains("could not open"),
        "{err}"
    );
    assert!(markers(dir.path()).is_empty(), "{:?}", markers(dir.path()));
    // Inside its own folder it works as ever (the sandbox is not simply breaking the server).
    let (ok, err) = psql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
    assert!(ok, "{err}");
    cluster.stop().unwrap();
}

/// Extensions only a superuser may create (pg_stat_statements in a schema of its own,
/// pageinspect in public) are created by the drill itself beforehand, from this machine's
/// extension scripts; the restore, as the drill's role, then passes.
#[tokio::test(flavor = "multi_thread")]
async fn a_drill_creates_the_untrusted_extensions_a_backup_uses_itself_and_passes() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("untrusted_ext");
    pg.psql(
        &db,
        "CREATE SCHEMA ext2;
         CREATE EXTENSION pg_stat_statements WITH SCHEMA ext2;
         CREATE EXTENSION pageinspect;
         CREATE TABLE public.kept (id int PRIMARY KEY, v text);
         INSERT INTO public.kept SELECT g, 'v' || g FROM generate_series(1, 50) g;",
    );
    back_up(pg, &env, "untrusted", &db).await;
    let outcome = env
        .engine
        .drill(
            DrillOptions {
                project: "untrusted".into(),
                ..Default::default()
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let r = &outcome.report;
    assert_eq!(
        check(r, "restore").status,
        CheckStatus::Passed,
        "{:#?}",
        r.checks
    );
    assert_eq!(
        check(r, "table:public.kept").status,
        CheckStatus::Passed,
        "{:#?}",
        r.checks
    );
}

/// `psql -c SQL` on the throwaway cluster's socket as `user` (the client runs as root; the
/// socket folder is the `postgres` user's): (succeeded, stdout, stderr).
fn throwaway_psql(
    bins: &offsite_core::drill::cluster::ServerBins,
    spec: &offsite_core::postgres::conn::ConnSpec,
    user: &str,
    sql: &str,
) -> (bool, String, String) {
    let client = bins.dir.join("psql");
    let client = if client.exists() {
        client
    } else {
        "psql".into()
    };
    let out = std::process::Command::new(client)
        .args([
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &spec.host,
            "-p",
        ])
        .arg(spec.port.to_string())
        .args(["-U", user, "-d", "postgres", "-c", sql])
        .env_remove("PGOPTIONS")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What a source's superuser plants in the catalog of a base (`offsite_testkit::catalog_hooks`:
/// triggers and rules on the catalogs the single-user step touches, event triggers, settings
/// of every kind — a role whose name holds a newline, a quote and a backslash among them) runs
/// nothing when the server is made ready for reading in single-user mode: no row in the
/// marker table (a `DELETE FROM pg_catalog.pg_db_role_setting` fired the triggers and rules
/// as the bootstrap superuser), every settings row gone, the reading role not a superuser.
#[test]
fn the_single_user_step_fires_no_hook_the_catalog_holds() {
    use offsite_core::drill::cluster::{
        choose_server_bins, discover_server_bins, ThrowawayCluster,
    };
    use offsite_testkit::catalog_hooks;
    let data = tempfile::tempdir().unwrap();
    let bins = choose_server_bins(&discover_server_bins(None), 15).unwrap();
    let mut cluster = ThrowawayCluster::start(data.path(), "hookstest", bins.clone()).unwrap();
    let spec = cluster.spec("postgres");
    let su = |sql: &str| {
        let (ok, out, err) = throwaway_psql(&bins, &spec, "postgres", sql);
        assert!(ok, "{sql}: {err}");
        out
    };
    su("CREATE ROLE shop LOGIN");
    su("CREATE ROLE U&\"we\\000Ard\"\"x\\\\y\" LOGIN");
    su(&catalog_hooks::plant("postgres", "shop"));
    su("ALTER ROLE U&\"we\\000Ard\"\"x\\\\y\" IN DATABASE postgres SET work_mem = '6MB'");
    su("ALTER ROLE U&\"we\\000Ard\"\"x\\\\y\" SET work_mem = '7MB'");
    assert_eq!(su("SELECT count(*) FROM public.hook_marker"), "0");
    assert_eq!(
        su("SELECT count(*) FROM pg_catalog.pg_db_role_setting"),
        "6"
    );

    let role = cluster.reopen_for_reading("postgres").unwrap();
    let spec = cluster.spec("postgres");
    assert_eq!(
        su("SELECT string_agg(what, '; ') FROM public.hook_marker"),
        "",
        "a hook the source planted ran in single-user mode"
    );
    assert_eq!(
        su("SELECT count(*) FROM pg_catalog.pg_db_role_setting"),
        "0"
    );
    let (ok, out, err) = throwaway_psql(
        &bins,
        &spec,
        &role,
        "SELECT current_setting('search_path') || ' ' || current_setting('work_mem') || ' ' \
         || (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)",
    );
    assert!(ok, "{err}");
    assert_eq!(out, "\"$user\", public 4MB false");
    cluster.stop().unwrap();
}

/// A settings row no utility command can clear — for a role that does not exist yet (the oid
/// a role made later would get), or for a reserved `pg_` role — is only made by editing the
/// catalog by hand; the single-user step refuses it before changing anything.
#[test]
fn settings_rows_only_a_hand_edit_makes_are_refused() {
    use offsite_core::drill::cluster::{
        choose_server_bins, discover_server_bins, ThrowawayCluster,
    };
    let bins = choose_server_bins(&discover_server_bins(None), 15).unwrap();
    for row in [
        "(0, 99999, '{work_mem=1MB}')",
        "(0, 3373, '{work_mem=1MB}')",
    ] {
        let data = tempfile::tempdir().unwrap();
        let mut cluster = ThrowawayCluster::start(data.path(), "straytest", bins.clone()).unwrap();
        let spec = cluster.spec("postgres");
        let (ok, _, err) = throwaway_psql(
            &bins,
            &spec,
            "postgres",
            &format!("INSERT INTO pg_catalog.pg_db_role_setting VALUES {row}"),
        );
        assert!(ok, "{err}");
        let e = cluster.reopen_for_reading("postgres").unwrap_err();
        assert_eq!(e.kind(), offsite_core::ErrorKind::Integrity, "{row}: {e}");
        assert!(e.message().contains("no command can clear"), "{e}");
        drop(cluster);
    }
}
