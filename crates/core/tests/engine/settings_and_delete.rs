//! Deleting backups (never another project's data) and the engine's saved settings (backup
//! folder, pg_dump folder), against a real PostgreSQL server and real archives.

use crate::common::{env, files_under};
use offsite_core::ops::EngineSettings;
use offsite_core::{
    AddProject, BackupOptions, DeleteOptions, Engine, EngineConfig, ErrorKind, JobStart,
};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};

async fn project_with_backup(pg: &TestCluster, engine: &Engine, name: &str) -> PathBuf {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);",
    );
    engine
        .add_project(AddProject::url(name, pg.url_with_password(&db)))
        .await
        .unwrap();
    let o = engine
        .backup(BackupOptions::project(name), JobStart::default())
        .await
        .unwrap();
    PathBuf::from(o.backup.path)
}

/// Delete the backup `id` (and its file when `file`).
fn delete(id: &str, file: bool) -> DeleteOptions {
    DeleteOptions {
        backup_id: id.to_string(),
        delete_file: file,
    }
}

fn sidecar(path: &Path) -> PathBuf {
    offsite_core::archive::sidecar_path(path)
}

async fn backup_id_of(engine: &Engine, project: &str) -> String {
    let p = engine.catalog().project(project).await.unwrap();
    engine.catalog().backups(&p.id).await.unwrap()[0].id.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_removes_only_this_backups_file_and_entry() {
    let pg = TestCluster::shared();
    let env = env().await;
    let a = project_with_backup(pg, &env.engine, "dela").await;
    let b = project_with_backup(pg, &env.engine, "delb").await;
    assert!(sidecar(&a).is_file() && sidecar(&b).is_file());
    let a_id = backup_id_of(&env.engine, "dela").await;

    let out = env.engine.delete_backup(delete(&a_id, true)).await.unwrap();
    assert!(out.file_deleted);
    assert_eq!(out.path, a.display().to_string());
    assert!(
        !a.exists() && !sidecar(&a).exists(),
        "archive and .sha256 are gone"
    );
    assert!(
        b.is_file() && sidecar(&b).is_file(),
        "the other project's files stay"
    );
    let pa = env.engine.catalog().project("dela").await.unwrap();
    assert!(env
        .engine
        .catalog()
        .backups(&pa.id)
        .await
        .unwrap()
        .is_empty());
    let pb = env.engine.catalog().project("delb").await.unwrap();
    assert_eq!(env.engine.catalog().backups(&pb.id).await.unwrap().len(), 1);

    // Forgetting only keeps the file.
    let b_id = backup_id_of(&env.engine, "delb").await;
    let out = env
        .engine
        .delete_backup(delete(&b_id, false))
        .await
        .unwrap();
    assert!(!out.file_deleted);
    assert!(b.is_file() && sidecar(&b).is_file());
    assert!(env
        .engine
        .catalog()
        .backups(&pb.id)
        .await
        .unwrap()
        .is_empty());

    // Unknown ids are not found.
    let e = env
        .engine
        .delete_backup(delete(&a_id, true))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_refuses_a_file_that_is_no_longer_this_backup() {
    let pg = TestCluster::shared();
    let env = env().await;
    let a = project_with_backup(pg, &env.engine, "mine").await;
    let b = project_with_backup(pg, &env.engine, "theirs").await;
    let a_id = backup_id_of(&env.engine, "mine").await;

    // Someone copied the other project's archive over this one's path.
    let b_bytes = std::fs::read(&b).unwrap();
    std::fs::write(&a, &b_bytes).unwrap();
    let before = files_under(env.dir.path());
    let e = env
        .engine
        .delete_backup(delete(&a_id, true))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(e.message().contains("another backup"), "{e}");
    assert!(e.hint().is_some());
    assert_eq!(std::fs::read(&a).unwrap(), b_bytes, "the file is untouched");
    assert_eq!(files_under(env.dir.path()), before, "nothing deleted");
    let p = env.engine.catalog().project("mine").await.unwrap();
    assert_eq!(
        env.engine.catalog().backups(&p.id).await.unwrap().len(),
        1,
        "entry kept"
    );

    // Not an archive at all: refused too.
    std::fs::write(&a, b"my notes, not a backup").unwrap();
    let e = env
        .engine
        .delete_backup(delete(&a_id, true))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert_eq!(std::fs::read(&a).unwrap(), b"my notes, not a backup");

    // A file that is gone: the entry can still be removed.
    std::fs::remove_file(&a).unwrap();
    let out = env.engine.delete_backup(delete(&a_id, true)).await.unwrap();
    assert!(!out.file_deleted);
    assert!(env
        .engine
        .catalog()
        .backups(&p.id)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_are_checked_saved_and_used_by_backups() {
    let pg = TestCluster::shared();
    let env = env().await;
    let data = env.dir.path().join("data");

    // Wrong values change nothing.
    let e = env
        .engine
        .set_settings(EngineSettings {
            default_backup_dir: Some("relative/backups".into()),
            pg_bin: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let empty = env.dir.path().join("no-tools");
    std::fs::create_dir(&empty).unwrap();
    let e = env
        .engine
        .set_settings(EngineSettings {
            default_backup_dir: Some(env.dir.path().join("ok").display().to_string()),
            pg_bin: Some(empty.display().to_string()),
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ToolMissing, "{e}");
    assert!(e.message().contains("no-tools"), "{e}");
    assert_eq!(env.engine.settings(), EngineSettings::default());

    // Good values are saved, survive a restart, and are used.
    let folder = env.dir.path().join("offsite copies");
    let bin = pg.bin_dir().display().to_string();
    let saved = env
        .engine
        .set_settings(EngineSettings {
            default_backup_dir: Some(format!("  {}  ", folder.display())),
            pg_bin: Some(bin.clone()),
        })
        .await
        .unwrap();
    assert_eq!(saved.default_backup_dir, Some(folder.display().to_string()));
    assert!(folder.is_dir());
    let reopened = Engine::open(EngineConfig::new(env.secrets.clone()).data_dir(data.clone()))
        .await
        .unwrap();
    assert_eq!(reopened.settings(), saved);
    assert_eq!(reopened.pg_bin(), Some(PathBuf::from(&bin)));
    let tools = reopened.tools().await.unwrap();
    assert_eq!(tools.configured.as_deref(), Some(bin.as_str()));
    assert!(!tools.configured_outside);
    assert_eq!(
        tools.found[0].dir,
        PathBuf::from(&bin),
        "the configured folder comes first"
    );
    assert!(tools.found[0].major >= 10);

    let path = project_with_backup(pg, &reopened, "settled").await;
    assert!(
        path.starts_with(folder.join("settled")),
        "{}",
        path.display()
    );

    // A folder given on the command line wins over the setting.
    let cli = Engine::open(
        EngineConfig::new(env.secrets.clone())
            .data_dir(data)
            .pg_bin(PathBuf::from("/opt/elsewhere")),
    )
    .await
    .unwrap();
    assert_eq!(cli.pg_bin(), Some(PathBuf::from("/opt/elsewhere")));
    assert!(cli.tools().await.unwrap().configured_outside);

    // Clearing goes back to the defaults.
    let cleared = reopened
        .set_settings(EngineSettings::default())
        .await
        .unwrap();
    assert_eq!(cleared, EngineSettings::default());
    assert_eq!(reopened.pg_bin(), None);
}

#[tokio::test]
async fn plain_settings_are_shared_and_the_engine_s_own_keys_go_through_set_settings() {
    let env = env().await;
    let engine = &env.engine;
    assert_eq!(engine.setting("desktop.theme").await.unwrap(), None);
    engine
        .set_plain_settings(&[("desktop.theme", "dark"), ("desktop.stale_after_days", "5")])
        .await
        .unwrap();
    let reopened = Engine::open(
        EngineConfig::new(env.secrets.clone()).data_dir(env.engine.data_dir().to_path_buf()),
    )
    .await
    .unwrap();
    assert_eq!(
        reopened.setting("desktop.theme").await.unwrap().as_deref(),
        Some("dark")
    );
    // The engine's own keys are checked and cached: never written around set_settings, and
    // nothing of a refused batch is saved.
    let e = engine
        .set_plain_settings(&[("desktop.theme", "light"), ("pg_bin", "/nowhere")])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        engine.setting("desktop.theme").await.unwrap().as_deref(),
        Some("dark")
    );
    assert_eq!(engine.settings(), EngineSettings::default());
    assert_eq!(engine.setting("pg_bin").await.unwrap(), None);
}

/// A crash between removing a backup's row and deleting its files (prune, delete) leaves the
/// backup fully gone: the next start deletes the files the catalog said were going.
#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_cut_short_is_finished_at_the_next_start() {
    let pg = TestCluster::shared();
    let env = env().await;
    let engine = &env.engine;
    let path = project_with_backup(pg, engine, "cutshort").await;
    let id = backup_id_of(engine, "cutshort").await;
    let sidecar = offsite_core::archive::sidecar_path(&path);
    assert!(path.is_file() && sidecar.is_file());
    // The process dies right after the row is removed (the first step of a deletion).
    let manifest_id = |p: &Path| {
        offsite_core::archive::reader::read_manifest(p)
            .unwrap()
            .backup_id
    };
    let note = |p: &Path| {
        serde_json::json!({ "path": p.to_str().unwrap(), "archive_backup_id": manifest_id(p) })
            .to_string()
    };
    engine
        .catalog()
        .remove_backup_deleting(&id, &note(&path))
        .await
        .unwrap();
    assert!(
        engine.backups("cutshort").await.unwrap().is_empty(),
        "fully gone from the list"
    );
    assert!(path.is_file(), "its files are still there");
    // The next start.
    let removed = engine.sweep_temp_files().await.unwrap();
    assert!(removed.contains(&path), "{removed:?}");
    assert!(!path.exists() && !sidecar.exists());
    assert!(engine
        .catalog()
        .pending_deletions()
        .await
        .unwrap()
        .is_empty());

    // A recorded deletion whose path now holds another backup leaves that file alone.
    let other = project_with_backup(pg, engine, "cutshort2").await;
    engine
        .catalog()
        .remove_backup_deleting(&backup_id_of(engine, "cutshort2").await, &note(&other))
        .await
        .unwrap();
    let third = project_with_backup(pg, engine, "cutshort3").await;
    std::fs::copy(&third, &other).unwrap();
    engine.sweep_temp_files().await.unwrap();
    assert!(other.is_file(), "a file that is now another backup is kept");
    assert!(engine
        .catalog()
        .pending_deletions()
        .await
        .unwrap()
        .is_empty());
}
