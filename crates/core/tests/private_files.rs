//! Everything Offsite writes is readable by its owner only, whatever the umask: archives,
//! `.sha256` sidecars, imported and downloaded files (`.part` renamed into place), extracted
//! members, the catalog with its `-wal`/`-shm`, and every folder it creates (0600 / 0700).
//!
//! A test binary of its own: the umask is process-wide, and these tests set a loose one (022,
//! the usual default) before anything is created.
//!
//! Unix only (modes, the umask, a throwaway cluster); the Windows variant of private files (an
//! owner-only ACL, read back) is tested in `private_fs`'s own tests, which run under Wine.
#![cfg(unix)]

use offsite_core::archive;
use offsite_core::progress::Reporter;
use offsite_core::secrets::MemoryStore;
use offsite_core::transfer::{ClientOptions, DownloadUrl, Downloader, TransferPolicy};
use offsite_core::{
    AddProject, BackupOptions, Engine, EngineConfig, ImportInto, ImportOptions, JobStart,
};
use offsite_testkit::{FileServer, TestCluster};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

fn loose_umask() {
    // SAFETY: umask only swaps the process's file mode creation mask.
    unsafe {
        libc::umask(0o022);
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// `root` and everything under it, with their modes.
fn modes_under(root: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut out = vec![(root.to_path_buf(), true, mode(root))];
    for e in std::fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            out.extend(modes_under(&e.path()));
        } else {
            out.push((e.path(), false, mode(&e.path())));
        }
    }
    out
}

/// Every folder under `root` (and `root`) is 0700, every file 0600.
fn assert_private(root: &Path) -> usize {
    let all = modes_under(root);
    let loose: Vec<_> = all
        .iter()
        .filter(|(_, dir, m)| *m != if *dir { 0o700 } else { 0o600 })
        .map(|(p, _, m)| format!("{} {m:04o}", p.display()))
        .collect();
    assert!(loose.is_empty(), "readable by others: {loose:#?}");
    all.len()
}

async fn engine(data: &Path) -> Engine {
    let config = EngineConfig::new(Arc::new(MemoryStore::default())).data_dir(data.to_path_buf());
    Engine::open(config).await.unwrap()
}

#[tokio::test]
async fn backup_import_extract_and_download_write_private_files_under_umask_022() {
    loose_umask();
    let pg = TestCluster::shared();
    let db = pg.unique_db("perms");
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 50) g;",
    );
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let engine = engine(&data).await;
    engine
        .add_project(AddProject::url("shop", pg.url_with_password(&db)))
        .await
        .unwrap();

    // A backup: the archive and its sidecar in data/backups/shop.
    let backup = engine
        .backup(BackupOptions::project("shop"), JobStart::default())
        .await
        .unwrap();
    let archive_path = PathBuf::from(&backup.backup.path);
    assert!(archive_path.starts_with(&data));

    // An import of a pg_dump file (packed into an archive and a sidecar beside the backup's).
    let dump = root.path().join("plain.dump");
    let out = pg
        .command("pg_dump")
        .args(pg.conn_args())
        .args(["-Fc", "-f"])
        .arg(&dump)
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported = engine
        .import(
            ImportOptions::new(
                &dump,
                ImportInto::Existing {
                    project: "shop".into(),
                },
            ),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(PathBuf::from(&imported.backup.path).starts_with(&data));

    // Extraction into a folder Offsite creates.
    let extracted = root.path().join("extracted");
    let files = archive::extract_all(&archive_path, &extracted, &CancellationToken::new()).unwrap();
    assert!(files.len() >= 2, "{files:?}");

    // A download: the `.part` renamed into place keeps its mode.
    let server = FileServer::start();
    server.put("a.bin", &vec![7u8; 300_000]);
    // A folder the user made, as loose as the umask makes it (Offsite does not change it).
    let dl_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dl_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dest = dl_dir.path().join("a.bin");
    let downloader = Downloader::new(&ClientOptions::default(), TransferPolicy::default()).unwrap();
    downloader
        .download(
            &DownloadUrl::parse(&server.url("a.bin")).unwrap(),
            &dest,
            &Reporter::silent(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap().len(), 300_000);
    assert_eq!(mode(&dest), 0o600, "the downloaded file");

    // The catalog's -wal and -shm exist while it is open: all of it is checked.
    let names: Vec<String> = modes_under(&data)
        .iter()
        .map(|(p, _, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for must in [
        "catalog.sqlite3",
        "catalog.sqlite3-wal",
        "catalog.sqlite3-shm",
    ] {
        assert!(names.iter().any(|n| n == must), "{must} in {names:?}");
    }
    assert!(
        names.iter().filter(|n| n.ends_with(".sha256")).count() >= 2,
        "{names:?}"
    );
    let n = assert_private(&data);
    assert!(n >= 9, "{n} entries");
    assert_private(&extracted);
}

#[tokio::test]
async fn a_data_folder_an_older_version_left_readable_is_made_private_and_said_so() {
    loose_umask();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    engine(&data).await.catalog().close().await;
    // As an older version (or a loose umask) left them.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let catalog = data.join("catalog.sqlite3");
    std::fs::set_permissions(&catalog, std::fs::Permissions::from_mode(0o644)).unwrap();

    let e = engine(&data).await;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&catalog), 0o600);
    let notes = e.notes().join("\n");
    assert!(
        notes.contains("catalog.sqlite3") && notes.contains("0644") && notes.contains("0755"),
        "{notes}"
    );
    // Said once: a second start has nothing to say.
    e.catalog().close().await;
    assert!(engine(&data).await.notes().is_empty());
}
