//! A full backup through the engine: the database, a project's buckets and its configuration
//! in one archive (ops::backup goes through backup composition).

use crate::common::env;
use offsite_core::archive::{self, BackupType};
use offsite_core::backup::{ConfigInput, StorageInput};
use offsite_core::progress::Reporter;
use offsite_core::sources::memory::MemoryObjectSource;
use offsite_core::storage::PullOptions;
use offsite_core::{AddProject, BackupOptions, JobStart};
use offsite_testkit::TestCluster;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_backup_holds_database_storage_and_config_and_gnu_tar_reads_it() {
    let pg = TestCluster::shared();
    let env = env().await;
    let db = pg.unique_db("full");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 42);",
    );
    env.engine
        .add_project(AddProject::url("full", pg.url_with_password(&db)))
        .await
        .unwrap();
    let store = Arc::new(MemoryObjectSource::new());
    store.insert("avatars", "u1/me.png", vec![7u8; 3000], Some("image/png"));
    store.insert(
        "avatars",
        "folder/.emptyFolderPlaceholder",
        Vec::new(),
        None,
    );

    let mut opts = BackupOptions::project("full");
    opts.storage = Some(StorageInput {
        source: store.clone(),
        options: PullOptions::default(),
    });
    opts.config = Some(ConfigInput {
        files: vec![(
            "auth.json".into(),
            br#"{"smtp_pass":"[redacted]"}"#.to_vec(),
        )],
        redactions: vec!["auth.smtp_pass".into()],
    });
    let out = env.engine.backup(opts, JobStart::default()).await.unwrap();
    assert_eq!(out.backup.backup_type, BackupType::Full);
    let path = std::path::PathBuf::from(&out.backup.path);
    assert!(
        out.backup.path.ends_with("_full.tar.zst"),
        "{}",
        out.backup.path
    );

    let m = archive::read_manifest(&path).unwrap();
    assert_eq!(m.backup_type, BackupType::Full);
    assert_eq!(m.format_version, 2);
    assert!(
        m.members[0].name.starts_with("database/"),
        "{:?}",
        m.members[0]
    );
    assert!(m.member(archive::DATABASE_TOC_MEMBER).is_some());
    assert!(m.tables.iter().any(|t| t.table == "t" && t.rows == 42));
    assert_eq!(m.counts["storage"].items, 2);
    assert_eq!(m.counts["config"].items, 1);
    assert_eq!(m.redactions, ["auth.smtp_pass"]);
    for c in ["database", "storage", "config"] {
        assert!(m.components.contains_key(c), "{c}");
    }
    let report = archive::verify(&path, &Reporter::silent(), &CancellationToken::new()).unwrap();
    assert!(report.ok, "{:?}", report.problems);

    let listed = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&path)
        .output()
        .unwrap();
    assert!(listed.status.success());
    let names = String::from_utf8(listed.stdout).unwrap();
    for n in [
        "metadata.json",
        "database/toc.dat",
        "storage.json",
        "storage/avatars/u1/me.png",
        "storage/avatars/folder/.emptyFolderPlaceholder",
        "config/auth.json",
    ] {
        assert!(names.lines().any(|l| l == n), "{n} not in {names}");
    }

    // Without storage or config it is the database backup it always was.
    let out = env
        .engine
        .backup(BackupOptions::project("full"), JobStart::default())
        .await
        .unwrap();
    assert_eq!(out.backup.backup_type, BackupType::Database);
    let m = archive::read_manifest(std::path::Path::new(&out.backup.path)).unwrap();
    assert!(m.members.iter().all(|x| !x.name.starts_with("storage")));
    assert!(m.storage.is_none());
}
