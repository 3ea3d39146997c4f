//! Connections as libpq accepts them, over a real Unix socket: a cluster that listens on no TCP
//! address (`listen_addresses = ''`), reached through `postgresql:///db?host=SOCKET_DIR` and
//! through the fields form with the socket folder as host — add, show, edit, test, back up and
//! restore, with the restored database compared to the source.

use offsite_core::archive;
use offsite_core::postgres::conn::TlsMode;
use offsite_core::postgres::restore::RestoreTarget;
use offsite_core::restore::DatabaseTo;
use offsite_core::{
    AddProject, BackupOptions, ErrorKind, JobStart, ProjectConnection, RestoreRequest,
    UpdateProject,
};
use offsite_testkit::{assert_same_schema, fidelity_snapshot, TestCluster};
use std::path::{Path, PathBuf};

use crate::common::{env, Env};

#[tokio::test(flavor = "multi_thread")]
async fn a_project_over_a_unix_socket_round_trips_through_add_show_edit_test_backup_restore() {
    let pg = TestCluster::start_socket_only();
    // The server really has no TCP listener: only the socket can reach it.
    assert_eq!(pg.psql("postgres", "SHOW listen_addresses"), "");
    let dir = pg.socket_dir().display().to_string();
    let port = pg.port();
    // Names with a quote and a space: they reach pg_dumpall/pg_restore quoted, as names.
    let src = pg.unique_db("src it's");
    let src_url = offsite_testkit::percent_encode(&src);
    pg.load_supabase_fixture(&src);
    let env = env().await;

    // Add by a libpq socket URL.
    let typed = format!("postgresql:///{src_url}?host={dir}&port={port}");
    let project = env
        .engine
        .add_project(AddProject::url("local", typed))
        .await
        .unwrap();
    let stored = format!("postgres://postgres@/{src_url}?host={dir}&port={port}");
    assert_eq!(project.db_url, stored);
    assert_eq!(project.tls_mode, "prefer");
    // libpq (psql) reads the stored URL as the same connection.
    assert_eq!(
        pg.psql_url(&stored, "SELECT current_database()").unwrap(),
        src
    );
    // Show gives the same URL back.
    assert_eq!(env.engine.project("local").await.unwrap().db_url, stored);

    // The fields form with the socket folder as host is the same connection.
    let by_fields = env
        .engine
        .add_project(AddProject {
            name: "local-fields".into(),
            connection: ProjectConnection::Fields {
                host: dir.clone(),
                port: Some(port),
                user: "postgres".into(),
                database: src.clone(),
            },
            tls: Some(TlsMode::Disable),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_fields.db_url, format!("{stored}&sslmode=disable"));
    assert_eq!(by_fields.tls_mode, "disable");

    // Edits keep the socket: another folder for backups; the window sending the shown URL back;
    // a TLS mode a socket cannot honour is refused and changes nothing.
    let edit = |change: UpdateProject| env.engine.update_project("local", change);
    let backups = env.dir.path().join("socket-backups");
    let edited = edit(UpdateProject {
        backup_dir: Some(backups.clone()),
        ..Default::default()
    });
    assert_eq!(edited.await.unwrap().db_url, stored);
    let edited = edit(UpdateProject {
        connection: Some(ProjectConnection::Url(stored.clone())),
        ..Default::default()
    });
    assert_eq!(edited.await.unwrap().db_url, stored);
    for (tls, url) in [
        (Some(TlsMode::Require), None),
        (None, Some(format!("{stored}&sslmode=verify-full"))),
    ] {
        let e = edit(UpdateProject {
            tls,
            connection: url.map(ProjectConnection::Url),
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(
            e.message().contains("cannot be honoured"),
            "{}",
            e.message()
        );
        let kept = env.engine.project("local").await.unwrap();
        assert_eq!(
            (kept.db_url.as_str(), kept.tls_mode.as_str()),
            (stored.as_str(), "prefer")
        );
    }

    // Test connection, over the socket (both projects).
    for name in ["local", "local-fields"] {
        let report = env.engine.test_project(name).await.unwrap();
        assert!(report.can_dump, "{name}: {report:?}");
        assert!(report.superuser, "{name}: trusted socket login as postgres");
    }

    // Back up: pg_dump and pg_dumpall reach the socket too; the manifest names the folder.
    let outcome = env
        .engine
        .backup(BackupOptions::project("local"), JobStart::default())
        .await
        .unwrap();
    let path = PathBuf::from(&outcome.backup.path);
    assert!(path.starts_with(&backups), "{}", path.display());
    let manifest = archive::read_manifest(&path).unwrap();
    assert_eq!(manifest.source.host.as_deref(), Some(dir.as_str()));
    assert_eq!(manifest.source.port, Some(port));
    assert!(!manifest.tables.is_empty());

    // Restore into an empty database through a socket URL (the CLI's --to) and compare.
    let dst = pg.unique_db("dst it's");
    let target = env
        .engine
        .restore_target(&DatabaseTo::url_or_project(
            &format!(
                "postgresql:///{}?host={dir}&port={port}",
                offsite_testkit::percent_encode(&dst)
            ),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(target.spec.host, dir);
    restore_and_compare(&env, &pg, &path, target, &src, &dst).await;

    // And into another empty database through the fields-form project's connection.
    let dst2 = pg.unique_db("dst2");
    let mut target = env
        .engine
        .restore_target(&DatabaseTo::Project("local-fields".into()))
        .await
        .unwrap();
    target.spec = target.spec.with_database(&dst2);
    restore_and_compare(&env, &pg, &path, target, &src, &dst2).await;
}

/// Restore `path` into the empty `dst` through `target`; rows and schema must equal `src`'s.
async fn restore_and_compare(
    env: &Env,
    pg: &TestCluster,
    path: &Path,
    target: RestoreTarget,
    src: &str,
    dst: &str,
) {
    let restored = env
        .engine
        .restore(
            RestoreRequest::new(path, target.into()),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(
        restored.report.ok,
        "{:?}",
        restored.report.database.as_ref().unwrap().tables
    );
    fidelity_snapshot(pg, dst).assert_same_as(&fidelity_snapshot(pg, src));
    assert_same_schema(pg, src, dst);
}

/// A socket folder where no server listens is a connection error naming the socket file — never
/// a connection to some other server (e.g. localhost over TCP).
#[tokio::test(flavor = "multi_thread")]
async fn a_socket_folder_without_a_server_fails_naming_the_socket() {
    let env = env().await;
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().display().to_string();
    env.engine
        .add_project(AddProject::url(
            "nowhere",
            format!("postgresql:///db?host={dir}&port=5432"),
        ))
        .await
        .unwrap();
    let e = env.engine.test_project("nowhere").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(
        e.message().contains(&format!("{dir}/.s.PGSQL.5432")),
        "{}",
        e.message()
    );
    assert!(
        e.hint().unwrap().contains("socket folder"),
        "{:?}",
        e.hint()
    );
}

/// A database named like connection settings (`a=b`) is backed up (pg_dumpall -l) and restored
/// (pg_restore --dbname) as that database: the tools never read the name as settings.
#[tokio::test(flavor = "multi_thread")]
async fn database_names_that_look_like_settings_stay_names() {
    let pg = TestCluster::shared();
    let (src, dst) = ("host=nowhere src", "dbname=elsewhere dst");
    for db in [src, dst] {
        pg.psql("postgres", &format!("CREATE DATABASE \"{db}\""));
    }
    let as_conninfo = |db: &str| format!("dbname='{db}'");
    pg.psql(
        &as_conninfo(src),
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 42);",
    );
    let env = env().await;
    let url = |db: &str| {
        format!(
            "postgres://postgres@{}:{}/{}",
            pg.host(),
            pg.port(),
            offsite_testkit::percent_encode(db)
        )
    };
    env.engine
        .add_project(AddProject {
            password: Some(pg.superuser_password().into()),
            ..AddProject::url("odd", url(src))
        })
        .await
        .unwrap();
    let outcome = env
        .engine
        .backup(BackupOptions::project("odd"), JobStart::default())
        .await
        .unwrap();
    // The password with the target, as `--password-stdin` gives it: a target given without one
    // is asked at once whether it needs one (and this server does).
    let target = env
        .engine
        .restore_target(&DatabaseTo::url_or_project(
            &url(dst),
            Some(pg.superuser_password().into()),
        ))
        .await
        .unwrap();
    let restored = env
        .engine
        .restore(
            RestoreRequest::new(&outcome.backup.path, target.into()),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(
        restored.report.ok,
        "{:?}",
        restored.report.database.as_ref().unwrap().tables
    );
    assert_eq!(pg.psql(&as_conninfo(dst), "SELECT count(*) FROM t"), "42");
}
