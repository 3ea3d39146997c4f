//! The `backup_copies` table (migration `0005_backup_copies.sql`): where a backup is kept. One row
//! per copy: the archive in the project's backup folder (destination [`LOCAL_DESTINATION`], at the
//! backup's `path`) and, once destinations exist, its copies in other folders and buckets.
//!
//! The local copy is written only by `backups.rs`, in the transaction that writes its backup row:
//! recorded with it, verified and marked with it, removed with it (ON DELETE CASCADE).

use super::sql::{db_error, new_id};
use super::{BackupStatus, Catalog};
use crate::error::{Error, Result};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;
use std::path::{Path, PathBuf};

/// The destination of a backup's own archive, in its project's backup folder.
pub const LOCAL_DESTINATION: &str = "local";

/// One copy of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupCopy {
    pub id: String,
    pub backup_id: String,
    /// Where it is kept: [`LOCAL_DESTINATION`] for the archive's own folder; later a
    /// destination's id.
    pub destination: String,
    /// Where in the destination: a canonical absolute path (the backup's `path` for the local
    /// copy) or an object key.
    pub location: String,
    pub size: u64,
    /// SHA-256 of the copy, 64 lower-case hex digits.
    pub sha256: String,
    /// What the last check of this copy found.
    pub status: BackupStatus,
    pub verified_at: Option<String>,
    /// Why the last verification of this copy failed.
    pub verify_problem: Option<String>,
    /// When the copy was recorded.
    pub created_at: String,
    /// `stored` (there) or `pending` (not there yet; retried later). The local copy is stored.
    pub state: CopyState,
    /// When it was uploaded to its destination (copies at destinations).
    pub uploaded_at: Option<String>,
    /// A pending copy: since when.
    pub pending_since: Option<String>,
    /// A pending copy: why the last attempt failed.
    pub last_error: Option<String>,
    /// How many attempts to upload it failed.
    pub attempts: u32,
    /// A copy locked at its destination (S3 Object Lock): until when (RFC 3339, UTC); retention
    /// does not remove it before.
    #[serde(default)]
    pub retain_until: Option<String>,
}

text_enum! {
    /// Whether a copy is at its destination.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum CopyState as "copy state" {
        Stored = "stored",
        Pending = "pending",
    }
}

/// The columns of [`BackupCopy`], in its order.
pub(super) const COPY_COLS: &str = "id, backup_id, destination, location, size, sha256, status, \
                         verified_at, verify_problem, created_at, state, uploaded_at, \
                         pending_since, last_error, attempts, retain_until";
/// The columns a local copy is inserted with (the rest keep their defaults).
const LOCAL_COLS: &str =
    "id, backup_id, destination, location, size, sha256, status, verified_at, \
                          verify_problem, created_at";

impl Catalog {
    /// A backup's copies: the local one first, then the others in the order they were recorded.
    /// Empty for a backup that is not in the catalog.
    pub async fn copies(&self, backup_id: &str) -> Result<Vec<BackupCopy>> {
        sqlx::query_as::<_, BackupCopy>(&format!(
            "SELECT {COPY_COLS} FROM backup_copies WHERE backup_id = ? \
             ORDER BY destination = ? DESC, created_at, rowid"
        ))
        .bind(backup_id)
        .bind(LOCAL_DESTINATION)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error(&format!("listing the copies of backup {backup_id}"), e))
    }
}

/// The location of a local copy (and a backup's `path`): the file's canonical path, absolute
/// with symlinks resolved. For a file that does not exist (any more), its folder is
/// canonicalized when possible and the name appended.
pub(super) async fn local_location(path: &Path) -> Result<String> {
    let canonical = match tokio::fs::canonicalize(path).await {
        Ok(p) => p,
        Err(_) => {
            let abs = std::path::absolute(path)
                .map_err(|e| Error::io(format!("resolving the path {}", path.display()), e))?;
            match (abs.parent(), abs.file_name()) {
                (Some(parent), Some(name)) => match tokio::fs::canonicalize(parent).await {
                    Ok(parent) => parent.join(name),
                    Err(_) => abs.clone(),
                },
                _ => abs.clone(),
            }
        }
    };
    plain_path(canonical)
        .into_os_string()
        .into_string()
        .map_err(|_| {
            Error::invalid(format!("the path {} is not valid UTF-8", path.display()))
                .with_hint("rename the file or its folders to use only valid Unicode characters")
        })
}

/// A canonical path as users write it. Windows: `canonicalize` answers with a verbatim path
/// (`\\?\C:\x`), which no user types and a location compared as text would then miss; it
/// becomes `C:\x` when that means the same file (a drive letter, under the 260-character limit,
/// no component Windows would read differently: `.`, `..`, a trailing dot or space, a device
/// name such as `CON`). Unix: unchanged.
pub(super) fn plain_path(p: PathBuf) -> PathBuf {
    #[cfg(windows)]
    {
        plain_windows_path(&p).unwrap_or(p)
    }
    #[cfg(not(windows))]
    {
        p
    }
}

/// `\\?\C:\x` → `C:\x` when safe (see [`plain_path`]); OS-independent text rules so they are
/// tested everywhere.
#[cfg_attr(not(windows), allow(dead_code))]
fn plain_windows_path(p: &Path) -> Option<PathBuf> {
    let s = p.to_str()?;
    let rest = s.strip_prefix(r"\\?\")?;
    let b = rest.as_bytes();
    if rest.len() >= 260 || b.len() < 3 || !b[0].is_ascii_alphabetic() || &b[1..3] != b":\\" {
        return None;
    }
    const DEVICES: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];
    let risky = rest[3..].split('\\').any(|c| {
        let stem = c
            .split('.')
            .next()
            .unwrap_or("")
            .trim_end()
            .to_ascii_uppercase();
        c.is_empty()
            || c.ends_with('.')
            || c.ends_with(' ')
            || c.contains('/')
            || DEVICES.contains(&stem.as_str())
            || ((stem.starts_with("COM") || stem.starts_with("LPT"))
                && stem.len() == 4
                && stem.as_bytes()[3].is_ascii_digit())
    });
    (!risky || rest.len() == 3).then(|| PathBuf::from(rest))
}

/// Record the local copy of backup `backup_id` (just inserted in `tx`) from its row, as
/// recorded at `now`.
pub(super) async fn insert_local(
    tx: &mut SqliteConnection,
    backup_id: &str,
    now: &str,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO backup_copies ({LOCAL_COLS}) \
         SELECT ?, id, ?, path, size, sha256, status, verified_at, verify_problem, ? \
         FROM backups WHERE id = ?"
    ))
    .bind(new_id())
    .bind(LOCAL_DESTINATION)
    .bind(now)
    .bind(backup_id)
    .execute(tx)
    .await?;
    Ok(())
}

/// Bring the local copy of backup `backup_id` in step with its row (status, verified_at,
/// verify_problem), in the caller's transaction.
pub(super) async fn follow_backup(
    tx: &mut SqliteConnection,
    backup_id: &str,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE backup_copies SET (status, verified_at, verify_problem) = \
         (SELECT status, verified_at, verify_problem FROM backups WHERE backups.id = backup_copies.backup_id) \
         WHERE backup_id = ? AND destination = ?",
    )
    .bind(backup_id)
    .bind(LOCAL_DESTINATION)
    .execute(tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::sql::is_unique_violation;
    use crate::catalog::testing::{
        catalog, catalog_at, new_backup, new_project, shop_with_backup, AT,
    };
    use crate::catalog::{BackupRecord, MIGRATOR};
    use crate::error::ErrorKind;

    /// The one copy of backup `id` (panics unless there is exactly one).
    async fn only_copy(c: &Catalog, id: &str) -> BackupCopy {
        let mut copies = c.copies(id).await.unwrap();
        assert_eq!(copies.len(), 1, "{copies:?}");
        copies.remove(0)
    }

    async fn count(c: &Catalog) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM backup_copies")
            .fetch_one(c.pool())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_local_copy_follows_its_backup() {
        let (c, clock) = catalog_at(AT).await;
        let (_dir, _p, b) = shop_with_backup(&c).await;
        let copy = only_copy(&c, &b.id).await;
        assert!(uuid::Uuid::parse_str(&copy.id).is_ok());
        assert_eq!(
            copy,
            BackupCopy {
                id: copy.id.clone(),
                backup_id: b.id.clone(),
                destination: "local".into(),
                location: b.path.clone(),
                size: b.size,
                sha256: b.sha256.clone(),
                status: BackupStatus::Unverified,
                verified_at: None,
                verify_problem: None,
                // When it was recorded (the clock), not when the backup was taken.
                created_at: "2030-01-02T03:04:05.000Z".into(),
                state: CopyState::Stored,
                uploaded_at: None,
                pending_since: None,
                last_error: None,
                attempts: 0,
                retain_until: None,
            }
        );

        clock.advance(time::Duration::hours(1));
        c.record_verify(&b.id, false, Some("database.dump: checksum mismatch"))
            .await
            .unwrap();
        let copy = only_copy(&c, &b.id).await;
        assert_eq!(copy.status, BackupStatus::Corrupt);
        assert_eq!(
            copy.verified_at.as_deref(),
            Some("2030-01-02T04:04:05.000Z")
        );
        assert_eq!(
            copy.verify_problem.as_deref(),
            Some("database.dump: checksum mismatch")
        );
        c.record_verify(&b.id, true, None).await.unwrap();
        let copy = only_copy(&c, &b.id).await;
        assert_eq!(
            (copy.status.as_str(), copy.verify_problem),
            ("verified", None)
        );

        // A status without a verification keeps the time of the last one.
        c.set_backup_status(&b.id, BackupStatus::Missing)
            .await
            .unwrap();
        let copy = only_copy(&c, &b.id).await;
        assert_eq!(copy.status, BackupStatus::Missing);
        assert_eq!(
            copy.verified_at.as_deref(),
            Some("2030-01-02T04:04:05.000Z")
        );
        let backup = c.backup(&b.id).await.unwrap();
        assert_eq!(
            (backup.status, backup.verified_at, backup.verify_problem),
            (copy.status, copy.verified_at, copy.verify_problem)
        );

        c.remove_backup(&b.id).await.unwrap();
        assert!(c.copies(&b.id).await.unwrap().is_empty());
        assert_eq!(count(&c).await, 0);
    }

    #[tokio::test]
    async fn removing_a_project_removes_its_copies() {
        let c = catalog().await;
        let (_dir, _p, b) = shop_with_backup(&c).await;
        assert_eq!(count(&c).await, 1);
        c.remove_project("shop").await.unwrap();
        assert!(c.copies(&b.id).await.unwrap().is_empty());
        assert_eq!(count(&c).await, 0);
        assert!(c.copies("no-such-backup").await.unwrap().is_empty());
    }

    #[test]
    fn verbatim_windows_paths_become_plain_ones_only_when_they_mean_the_same() {
        let plain = |s: &str| plain_windows_path(Path::new(s)).map(|p| p.display().to_string());
        assert_eq!(
            plain(r"\\?\C:\Users\me\shop.tar.zst").as_deref(),
            Some(r"C:\Users\me\shop.tar.zst")
        );
        assert_eq!(plain(r"\\?\d:\").as_deref(), Some(r"d:\"));
        for kept in [
            // Not verbatim, or not a drive: left as they are.
            r"C:\Users\me",
            r"\\?\UNC\server\share\x",
            r"\\?\Volume{0b1c}\x",
            // What a plain path would read differently.
            r"\\?\C:\x\CON",
            r"\\?\C:\x\nul.txt",
            r"\\?\C:\x\com1",
            r"\\?\C:\x\name.",
            r"\\?\C:\x\name ",
            r"\\?\C:\a/b",
            r"\\?\C:\x\..\y",
        ] {
            assert_eq!(plain(kept), None, "{kept}");
        }
        let long = format!(r"\\?\C:\{}", "a".repeat(300));
        assert_eq!(plain(&long), None);
        // Names that merely start like a device are ordinary.
        assert!(plain(r"\\?\C:\x\console\com10\CONx").is_some());
    }

    #[tokio::test]
    async fn a_backup_is_recorded_with_its_copy_or_not_at_all() {
        let c = catalog().await;
        let (dir, p, b) = shop_with_backup(&c).await;
        // A refused backup leaves no copy.
        let again = new_backup(&p.id, &dir.path().join("a.tar.gz"), "2024-05-02T10:00:00Z");
        let e = c.add_backup(&again).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(count(&c).await, 1);

        // A copy already at a location (say, one left by a failed move) refuses a backup there,
        // and the backup row goes too.
        let taken = dir.path().join("b.tar.gz");
        sqlx::query("UPDATE backup_copies SET location = ? WHERE backup_id = ?")
            .bind(taken.to_str().unwrap())
            .bind(&b.id)
            .execute(c.pool())
            .await
            .unwrap();
        let e = c
            .add_backup(&new_backup(&p.id, &taken, "2024-05-02T10:00:00Z"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
        assert_eq!(c.backups(&p.id).await.unwrap().len(), 1);
        assert_eq!(count(&c).await, 1);
    }

    /// A copy of `b` in `destination` at `location`, as the copies to other places will record
    /// them (there is no API for those yet).
    async fn add_copy(
        c: &Catalog,
        b: &BackupRecord,
        destination: &str,
        location: &str,
        created_at: &str,
    ) -> std::result::Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO backup_copies (id, backup_id, destination, location, size, sha256, \
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(new_id())
        .bind(&b.id)
        .bind(destination)
        .bind(location)
        .bind(b.size as i64)
        .bind(&b.sha256)
        .bind(created_at)
        .execute(c.pool())
        .await
        .map(|_| ())
    }

    #[tokio::test]
    async fn copies_elsewhere_list_after_the_local_one() {
        let c = catalog().await;
        let (_dir, _p, b) = shop_with_backup(&c).await;
        // The same location in another destination is another copy.
        add_copy(&c, &b, "bucket-1", &b.path, "2024-05-03T00:00:00.000Z")
            .await
            .unwrap();
        add_copy(&c, &b, "usb-disk", &b.path, "2024-05-02T00:00:00.000Z")
            .await
            .unwrap();
        let listed = c.copies(&b.id).await.unwrap();
        let listed: Vec<_> = listed.into_iter().map(|c| c.destination).collect();
        assert_eq!(listed, ["local", "usb-disk", "bucket-1"]);
        // One copy per location in a destination.
        let dup = add_copy(&c, &b, "usb-disk", &b.path, "2024-05-04T00:00:00.000Z")
            .await
            .unwrap_err();
        assert!(is_unique_violation(&dup), "{dup}");
        // The local copy's updates leave the others alone.
        c.set_backup_status(&b.id, BackupStatus::Missing)
            .await
            .unwrap();
        let statuses: Vec<_> = c.copies(&b.id).await.unwrap();
        let statuses: Vec<_> = statuses.into_iter().map(|c| c.status.as_str()).collect();
        assert_eq!(statuses, ["missing", "unverified", "unverified"]);
    }

    #[tokio::test]
    async fn backup_by_path_matches_canonical_paths() {
        let c = catalog().await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let file = dir.path().join("sub").join("a.tar.gz");
        std::fs::write(&file, b"x").unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let b = c
            .add_backup(&new_backup(&p.id, &file, "2024-05-01T10:00:00Z"))
            .await
            .unwrap();

        let roundabout = dir
            .path()
            .join("sub")
            .join("..")
            .join("sub")
            .join("a.tar.gz");
        assert_eq!(
            c.backup_by_path(&roundabout).await.unwrap(),
            Some(b.clone())
        );
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(dir.path().join("sub"), &link).unwrap();
            assert_eq!(
                c.backup_by_path(&link.join("a.tar.gz")).await.unwrap(),
                Some(b.clone())
            );
        }
        // Still found after the file is gone (its folder is canonicalized instead).
        std::fs::remove_file(&file).unwrap();
        assert_eq!(c.backup_by_path(&file).await.unwrap(), Some(b));
        assert_eq!(
            c.backup_by_path(&dir.path().join("other.tar.gz"))
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn migration_5_gives_every_existing_backup_its_local_copy() {
        use sqlx::migrate::Migrator;
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .in_memory(true)
                    .foreign_keys(true),
            )
            .await
            .unwrap();
        let before_copies = Migrator {
            migrations: MIGRATOR.iter().filter(|m| m.version < 5).cloned().collect(),
            ..Migrator::DEFAULT
        };
        before_copies.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO projects (id, name, db_url, tls_mode, created_at) \
             VALUES ('p', 'shop', 'postgres://u@h/db', 'require', '2024-05-01T00:00:00.000Z')",
        )
        .execute(&pool)
        .await
        .unwrap();
        for (id, status, verified_at, problem) in [
            ("b1", "verified", Some("2024-05-02T00:00:00.000Z"), None),
            (
                "b2",
                "corrupt",
                Some("2024-05-03T00:00:00.000Z"),
                Some("truncated"),
            ),
            ("b3", "unverified", None, None),
        ] {
            sqlx::query(
                "INSERT INTO backups (id, project_id, path, size, sha256, backup_type, created_at, \
                 verified_at, status, verify_problem) VALUES (?, 'p', ?, 42, ?, 'full', ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(format!("/backups/{id}.tar.gz"))
            .bind(id.repeat(32))
            .bind(format!("2024-05-01T0{}:00:00.000Z", &id[1..]))
            .bind(verified_at)
            .bind(status)
            .bind(problem)
            .execute(&pool)
            .await
            .unwrap();
        }
        MIGRATOR.run(&pool).await.unwrap();

        let c = Catalog {
            pool,
            clock: crate::clock::system(),
            notes: Default::default(),
        };
        for b in c.backups("p").await.unwrap() {
            let copy = only_copy(&c, &b.id).await;
            let id = uuid::Uuid::parse_str(&copy.id).unwrap();
            assert_eq!(id.get_version_num(), 4, "{}", copy.id);
            assert_eq!(
                copy,
                BackupCopy {
                    id: copy.id.clone(),
                    backup_id: b.id.clone(),
                    destination: LOCAL_DESTINATION.into(),
                    location: b.path.clone(),
                    size: 42,
                    sha256: b.sha256.clone(),
                    status: b.status,
                    verified_at: b.verified_at.clone(),
                    verify_problem: b.verify_problem.clone(),
                    created_at: b.created_at.clone(),
                    state: CopyState::Stored,
                    uploaded_at: None,
                    pending_since: None,
                    last_error: None,
                    attempts: 0,
                    retain_until: None,
                }
            );
        }
        assert_eq!(count(&c).await, 3);
    }
}
