//! What the catalog's unit tests share: a fresh in-memory catalog (on the system clock or on a
//! manual one) and the records they add.

use super::{BackupRecord, Catalog, NewBackup, NewProject, Project};
use crate::clock::ManualClock;
use crate::error::ErrorKind;
use std::path::Path;
use std::sync::Arc;
use tempfile::TempDir;
use time::macros::datetime;
use time::OffsetDateTime;

/// The time the clock tests stand at: 2030-01-02T03:04:05Z.
pub const AT: OffsetDateTime = datetime!(2030-01-02 03:04:05 UTC);

pub fn new_project(name: &str) -> NewProject {
    NewProject {
        name: name.to_string(),
        db_url: "postgres://postgres@db.example.com:5432/postgres".to_string(),
        tls_mode: "require".to_string(),
        backup_dir: None,
    }
}

pub fn new_backup(project_id: &str, path: &Path, created_at: &str) -> NewBackup {
    NewBackup {
        project_id: project_id.to_string(),
        path: path.to_path_buf(),
        size: 1234,
        sha256: "AB".repeat(32),
        backup_type: crate::archive::BackupType::Full,
        created_at: created_at.to_string(),
        manifest_json: Some(r#"{"format_version":1}"#.to_string()),
        job_id: None,
        origin: Default::default(),
    }
}

/// An in-memory catalog on the system clock.
pub async fn catalog() -> Catalog {
    Catalog::open_in_memory().await.unwrap()
}

/// An in-memory catalog whose clock stands at `at` until the test moves it.
pub async fn catalog_at(at: OffsetDateTime) -> (Catalog, Arc<ManualClock>) {
    let clock = ManualClock::new(at);
    let c = Catalog::open_in_memory_with_clock(clock.clone())
        .await
        .unwrap();
    (c, clock)
}

/// Project `shop` in `c`, and a temporary folder for its backup files.
pub async fn shop(c: &Catalog) -> (TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    let p = c.add_project(&new_project("shop")).await.unwrap();
    (dir, p)
}

/// [`shop`] with one backup recorded: `<dir>/a.tar.gz` (not written), taken
/// 2024-05-01T10:00:00Z.
pub async fn shop_with_backup(c: &Catalog) -> (TempDir, Project, BackupRecord) {
    let (dir, p) = shop(c).await;
    let b = c
        .add_backup(&new_backup(
            &p.id,
            &dir.path().join("a.tar.gz"),
            "2024-05-01T10:00:00Z",
        ))
        .await
        .unwrap();
    (dir, p, b)
}

/// The kind of the error `r` holds (panics on `Ok`).
pub fn kind<T: std::fmt::Debug>(r: crate::error::Result<T>) -> ErrorKind {
    r.unwrap_err().kind()
}
