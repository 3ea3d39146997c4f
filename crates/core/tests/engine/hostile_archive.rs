//! Archives from elsewhere, crafted: a `globals.sql` whose role statements carry psql
//! meta-commands or a second statement, restored with `--create-roles` into a real cluster, is
//! refused at planning with an error naming the role; no command runs, no role is created and
//! the target is left as it was.

use crate::common::*;
use offsite_core::archive::{self, ArchiveWriter, Manifest, GLOBALS_MEMBER, MANIFEST_NAME};
use offsite_core::progress::Reporter;
use offsite_core::restore::DatabaseOptions;
use offsite_core::{ErrorKind, JobStart, RestoreRequest};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// A copy of `archive` (into `dir`, named `name`) whose `globals.sql` is `globals`.
fn with_globals(archive: &Path, dir: &Path, name: &str, globals: &str) -> PathBuf {
    let x = tempfile::tempdir().unwrap();
    let files =
        archive::extract_all(archive, &x.path().join("x"), &CancellationToken::new()).unwrap();
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(x.path().join("x").join(MANIFEST_NAME)).unwrap())
            .unwrap();
    let mut w = ArchiveWriter::create(dir, name, 1).unwrap();
    let mut had_globals = false;
    for m in &manifest.members {
        if m.name == GLOBALS_MEMBER {
            had_globals = true;
            w.add_bytes(GLOBALS_MEMBER, globals.as_bytes().to_vec());
        } else {
            let f = files
                .iter()
                .find(|f| f.ends_with(&m.name))
                .unwrap_or_else(|| panic!("{} not extracted", m.name));
            w.add_file(&m.name, f).unwrap();
        }
    }
    assert!(had_globals, "the backup holds a globals.sql");
    w.finish(manifest, &Reporter::silent(), &CancellationToken::new())
        .unwrap()
        .path
}

fn role_exists(pg: &TestCluster, role: &str) -> bool {
    pg.psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{role}'"),
    ) == "1"
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_role_statements_in_globals_sql_are_refused_and_run_nothing() {
    let pg = TestCluster::shared();
    let env = env().await;
    let src = pg.unique_db("evilsrc");
    // A role of the backup that the target server will lack.
    let role = format!("evil_{}", src.trim_start_matches("evilsrc_"));
    pg.psql(
        "postgres",
        &format!("DROP ROLE IF EXISTS {role}; CREATE ROLE {role} NOLOGIN"),
    );
    pg.psql(
        &src,
        &format!(
            "CREATE TABLE t (id int); INSERT INTO t VALUES (1); ALTER TABLE t OWNER TO {role};"
        ),
    );
    let original = back_up(pg, &env, "evilsrc", &src).await;
    pg.drop_db(&src);
    pg.psql("postgres", &format!("DROP ROLE {role}"));

    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("pwned");
    let m = marker.display();
    let head = format!("CREATE ROLE {role};\n");
    let attrs = format!("ALTER ROLE {role} WITH NOSUPERUSER INHERIT LOGIN;\n");
    let hostile = [
        format!("{head}ALTER ROLE {role} WITH LOGIN \\! touch {m}\n"),
        format!("{head}ALTER ROLE {role} WITH LOGIN \\! touch {m};\n"),
        format!("{head}ALTER ROLE {role} WITH LOGIN; \\! touch {m}\n"),
        format!("{head}ALTER ROLE {role} WITH LOGIN; DROP TABLE IF EXISTS public.keep; CREATE TABLE public.pwned ();\n"),
        format!("{head}ALTER ROLE {role} WITH VALID UNTIL 'infinity'' \\! touch {m} --';\n"),
        format!("{head}ALTER ROLE {role} WITH VALID UNTIL 'infinity' \\! touch {m}\n"),
        format!("{head}{attrs}ALTER ROLE {role} SET search_path TO 'public'; \\! touch {m}\n"),
        format!("{head}{attrs}ALTER ROLE {role} SET search_path TO public; \\! touch {m}\n"),
        format!("{head}{attrs}GRANT pg_read_all_data TO {role} \\! touch {m}\n"),
    ];

    let dst = pg.unique_db("evildst");
    pg.psql(
        &dst,
        "CREATE TABLE keep (id int); INSERT INTO keep VALUES (7);",
    );
    let before = offsite_testkit::schema_dump(pg, &dst);
    for (i, globals) in hostile.iter().enumerate() {
        let archive = with_globals(
            &original,
            work.path(),
            &format!("evilsrc_20261121_10150{i}_database.tar.gz"),
            globals,
        );
        let req = RestoreRequest::new(&archive, target(pg, &dst)).options(DatabaseOptions {
            create_roles: true,
            replace: true,
            no_safety_backup: true,
            ..Default::default()
        });
        let e = env.engine.plan_restore(&req).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{globals}: {e}");
        assert!(e.message().contains(&role), "{globals}: {e}");
        assert!(e.hint().is_some(), "{e:?}");
        let e = env
            .engine
            .restore(req, JobStart::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedFormat, "{globals}: {e}");
        assert!(e.message().contains(&role), "{globals}: {e}");

        assert!(!marker.exists(), "a command ran: {globals}");
        assert!(!role_exists(pg, &role), "{globals}");
        assert_eq!(offsite_testkit::schema_dump(pg, &dst), before, "{globals}");
        assert_eq!(pg.psql(&dst, "SELECT id FROM keep"), "7");
    }

    // The same archive with the role described as pg_dumpall does restores, role and all: the
    // refusals above are the hostile lines' doing.
    let benign = format!(
        "{head}ALTER ROLE {role} WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 3;\nALTER ROLE {role} SET search_path TO 'public', '$user';\n"
    );
    let archive = with_globals(
        &original,
        work.path(),
        "evilsrc_20261121_101559_database.tar.gz",
        &benign,
    );
    let fresh = pg.unique_db("evilok");
    let req = RestoreRequest::new(&archive, target(pg, &fresh)).options(DatabaseOptions {
        create_roles: true,
        ..Default::default()
    });
    let out = env.engine.restore(req, JobStart::default()).await.unwrap();
    assert!(
        out.report.ok,
        "{:?}",
        out.report.database.as_ref().unwrap().tables
    );
    assert_eq!(
        pg.psql(
            "postgres",
            &format!("SELECT rolcanlogin::text || ' ' || rolconnlimit || ' ' || array_to_string(rolconfig, ';') FROM pg_roles WHERE rolname = '{role}'"),
        ),
        "true 3 search_path=public, \"$user\""
    );
    assert_eq!(pg.psql(&fresh, "SELECT count(*) FROM t"), "1");
    pg.drop_db(&fresh);
    pg.psql("postgres", &format!("DROP ROLE {role}"));
    assert!(!marker.exists());
}
