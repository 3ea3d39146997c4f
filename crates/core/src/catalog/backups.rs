//! The `backups` table: one row per backup, with its archive file in the project's backup
//! folder (`path`, unique). Every write keeps that file's row in `backup_copies` (the local
//! copy, see `copies.rs`) in step, in the same transaction.

use super::copies;
use super::sql::{
    changed_a_row, db_error, is_foreign_key_violation, is_unique_violation, new_id, to_i64,
};
use super::validate::validate_sha256;
use super::Catalog;
use crate::archive::BackupType;
use crate::clock::{format_timestamp, parse_timestamp};
use crate::error::{Error, ErrorKind, Result};
pub use crate::kinds::BackupStatus;
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A backup file to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBackup {
    pub project_id: String,
    /// The archive file; stored canonicalized (absolute, symlinks resolved).
    pub path: PathBuf,
    pub size: u64,
    /// SHA-256 of the archive file, 64 hex digits.
    pub sha256: String,
    pub backup_type: BackupType,
    /// When the backup was taken (RFC 3339, any offset; stored normalized to UTC).
    pub created_at: String,
    pub manifest_json: Option<String>,
    /// The job that made it, if any.
    pub job_id: Option<String>,
    /// Where it came from (made here, pulled from a backup server or an artifact bucket,
    /// imported).
    #[serde(default)]
    pub origin: BackupOrigin,
}

/// One local copy of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupRecord {
    pub id: String,
    pub project_id: String,
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub backup_type: BackupType,
    pub created_at: String,
    pub verified_at: Option<String>,
    pub status: BackupStatus,
    /// Why the last verification failed.
    pub verify_problem: Option<String>,
    pub manifest_json: Option<String>,
    /// The job that made it, if any (and if that job is still in the catalog).
    pub job_id: Option<String>,
    /// Where it came from.
    pub origin: BackupOrigin,
}

impl BackupRecord {
    /// A per-tenant archive's mark (`backup --tenant`), from the manifest recorded with it;
    /// `None` for a backup of the whole database.
    pub fn tenant(&self) -> Option<crate::archive::TenantMark> {
        #[derive(serde::Deserialize)]
        struct Marked {
            #[serde(default)]
            tenant: Option<crate::archive::TenantMark>,
        }
        let json = self.manifest_json.as_deref()?;
        serde_json::from_str::<Marked>(json).ok()?.tenant
    }
}

/// A backup as a list shows it: what a person reads and acts on, without the manifest and the
/// links a list never shows (10,000 rows are sent to the window at once). The checksum is here
/// (64 characters a row) for the window's side panel of the selected backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupRow {
    pub id: String,
    pub path: String,
    pub size: u64,
    pub backup_type: BackupType,
    pub created_at: String,
    pub verified_at: Option<String>,
    pub status: BackupStatus,
    pub verify_problem: Option<String>,
    /// SHA-256 of the archive file, 64 hex digits.
    #[serde(default)]
    pub sha256: String,
    /// Where it came from.
    #[serde(default)]
    pub origin: BackupOrigin,
    /// A per-tenant archive's tenant and root key value (`orgs=1`, from the tenant mark of the
    /// manifest recorded with it); `None` for a backup of the whole database.
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub tenant: Option<String>,
    /// Why the canary finds it suspicious, the reasons joined by `; ` (none: it does not).
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub suspicious: Option<String>,
    /// The note given when it was made.
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub note: Option<String>,
    /// The OS user who started it by hand.
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub started_by: Option<String>,
    /// Kept by every retention (`offsite pin`).
    #[serde(default)]
    pub pinned: bool,
}

text_enum! {
    /// Where a backup came from (`backups.origin`, set once when it is registered).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum BackupOrigin as "backup origin" {
        /// Made on this computer (`offsite backup`, "Back up now", a schedule).
        #[default]
        Local = "local",
        /// Made by the project's backup server (`offsite serve`) and downloaded, or pulled from it.
        Server = "server",
        /// Pulled from the project's artifact bucket.
        Artifact = "artifact",
        /// A file dropped on the window or given to `offsite import`.
        Imported = "imported",
    }
}

/// The columns of [`BackupRecord`], in its order, without `manifest_json` (between
/// `verify_problem` and `job_id`).
macro_rules! backup_cols_with {
    ($manifest:literal) => {
        concat!(
            "id, project_id, path, size, sha256, backup_type, created_at, verified_at, status, \
             verify_problem, ",
            $manifest,
            ", job_id, origin"
        )
    };
}
const BACKUP_COLS: &str = backup_cols_with!("manifest_json");
/// [`BACKUP_COLS`] without the manifest (a few KB each), for summaries.
const BACKUP_COLS_NO_MANIFEST: &str = backup_cols_with!("NULL AS manifest_json");
/// The columns of [`BackupRow`], in its order.
const ROW_COLS: &str =
    "id, path, size, backup_type, created_at, verified_at, status, verify_problem, sha256, origin, \
     CASE WHEN json_valid(manifest_json) AND json_type(manifest_json, '$.tenant') = 'object' \
     THEN json_extract(manifest_json, '$.tenant.name') || '=' || \
     json_extract(manifest_json, '$.tenant.value') END AS tenant, \
     (SELECT group_concat(value, '; ') FROM json_each(backups.suspicious)) AS suspicious, \
     note, started_by, pinned";
/// The order of every list of backups: newest first (the later insert first at the same time).
const NEWEST_FIRST: &str = "ORDER BY created_at DESC, rowid DESC";

impl Catalog {
    /// Record a backup file. Its path must not be in the catalog already.
    pub async fn add_backup(&self, b: &NewBackup) -> Result<BackupRecord> {
        let sha256 = validate_sha256(&b.sha256)?;
        let created_at = format_timestamp(parse_timestamp(&b.created_at)?);
        let size = to_i64(b.size, "backup size")?;
        let path = copies::local_location(&b.path).await?;
        let record = BackupRecord {
            id: new_id(),
            project_id: b.project_id.clone(),
            path,
            size: b.size,
            sha256,
            backup_type: b.backup_type,
            created_at,
            verified_at: None,
            status: BackupStatus::Unverified,
            verify_problem: None,
            manifest_json: b.manifest_json.clone(),
            job_id: b.job_id.clone(),
            origin: b.origin,
        };
        let what = format!("recording backup {}", record.path);
        let add_error = |e: sqlx::Error| {
            if is_unique_violation(&e) {
                Error::new(
                    ErrorKind::AlreadyExists,
                    format!("the backup file {} is already in the catalog", record.path),
                )
                .with_hint("if the file was replaced, remove the old entry first")
            } else if is_foreign_key_violation(&e) {
                let job = b
                    .job_id
                    .as_deref()
                    .map(|j| format!(" or no job with id {j}"))
                    .unwrap_or_default();
                Error::not_found(format!(
                    "cannot record backup {}: no project with id {}{job}",
                    record.path, b.project_id
                ))
            } else {
                db_error(&what, e)
            }
        };
        let mut tx = self.pool().begin().await.map_err(|e| db_error(&what, e))?;
        sqlx::query(&format!(
            "INSERT INTO backups ({BACKUP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&record.id)
        .bind(&record.project_id)
        .bind(&record.path)
        .bind(size)
        .bind(&record.sha256)
        .bind(record.backup_type)
        .bind(&record.created_at)
        .bind(&record.verified_at)
        .bind(record.status)
        .bind(&record.verify_problem)
        .bind(&record.manifest_json)
        .bind(&record.job_id)
        .bind(record.origin)
        .execute(&mut *tx)
        .await
        .map_err(add_error)?;
        copies::insert_local(&mut tx, &record.id, &self.now())
            .await
            .map_err(add_error)?;
        tx.commit().await.map_err(|e| db_error(&what, e))?;
        Ok(record)
    }

    /// A project's backups, newest first.
    pub async fn backups(&self, project_id: &str) -> Result<Vec<BackupRecord>> {
        sqlx::query_as::<_, BackupRecord>(&format!(
            "SELECT {BACKUP_COLS} FROM backups WHERE project_id = ? {NEWEST_FIRST}"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing backups", e))
    }

    /// A project's backups as a list shows them ([`BackupRow`]), newest first, in the order of
    /// [`Catalog::backups`]. Without manifests (a few KB each) and checksums: 10,000 rows are
    /// read, sent and parsed quickly.
    pub async fn backup_rows(&self, project_id: &str) -> Result<Vec<BackupRow>> {
        sqlx::query_as::<_, BackupRow>(&format!(
            "SELECT {ROW_COLS} FROM backups WHERE project_id = ? {NEWEST_FIRST}"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing backups", e))
    }

    /// When each project's (or one project's) newest good backup (verified or unverified: not
    /// corrupt, not missing) was taken, by project id; a project without one is absent. The
    /// first good row of [`Catalog::backup_rows`], read for every project in one query (the
    /// schedules' status asks this at every check of the due loop and every `/metrics` scrape).
    pub async fn newest_good_backups(
        &self,
        project_id: Option<&str>,
    ) -> Result<std::collections::HashMap<String, String>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT project_id, MAX(created_at) FROM backups \
             WHERE (? IS NULL OR project_id = ?) AND status IN ('verified', 'unverified') \
             GROUP BY project_id",
        )
        .bind(project_id)
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the newest good backups", e))?;
        Ok(rows.into_iter().collect())
    }

    /// How many backups a project has, and its newest one (without its manifest).
    pub async fn backup_summary(&self, project_id: &str) -> Result<(u64, Option<BackupRecord>)> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM backups WHERE project_id = ?")
            .bind(project_id)
            .fetch_one(self.pool())
            .await
            .map_err(|e| db_error("counting backups", e))?;
        let newest = self
            .backup_where(
                BACKUP_COLS_NO_MANIFEST,
                &format!("project_id = ? {NEWEST_FIRST} LIMIT 1"),
                project_id,
                "reading the newest backup",
            )
            .await?;
        Ok((u64::try_from(count).unwrap_or(0), newest))
    }

    /// The backup recorded for this file (the path is canonicalized the same way as on insert).
    pub async fn backup_by_path(&self, path: &Path) -> Result<Option<BackupRecord>> {
        let path = copies::local_location(path).await?;
        self.backup_where(
            BACKUP_COLS,
            "path = ?",
            &path,
            &format!("looking up backup {path}"),
        )
        .await
    }

    /// The backup with this id.
    pub async fn backup(&self, id: &str) -> Result<BackupRecord> {
        self.backup_where(BACKUP_COLS, "id = ?", id, &format!("reading backup {id}"))
            .await?
            .ok_or_else(|| backup_not_found(id))
    }

    /// The backups an id names, without manifests: the catalog's id or the archive's own
    /// (its manifest's `backup_id`), exactly; when none matches exactly, those whose catalog
    /// or manifest id starts with `id` (at most 11: enough to say "more than 10"). `id` must be letters, digits and `-`.
    pub async fn backups_by_id(&self, id: &str) -> Result<Vec<BackupRecord>> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Ok(Vec::new());
        }
        // The archive's id, from the manifest the catalog keeps (NULL when there is none or it
        // is not JSON).
        const MANIFEST_ID: &str = "CASE WHEN json_valid(manifest_json) \
             THEN json_extract(manifest_json, '$.backup_id') END";
        let what = format!("looking up backup {id}");
        let exact = sqlx::query_as::<_, BackupRecord>(&format!(
            "SELECT {BACKUP_COLS_NO_MANIFEST} FROM backups WHERE id = ?1 OR {MANIFEST_ID} = ?1 \
             {NEWEST_FIRST}"
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error(&what, e))?;
        if !exact.is_empty() {
            return Ok(exact);
        }
        // `id` holds no LIKE wildcards (checked above); ids are compared ignoring case.
        sqlx::query_as::<_, BackupRecord>(&format!(
            "SELECT {BACKUP_COLS_NO_MANIFEST} FROM backups \
             WHERE id LIKE ?1 || '%' OR {MANIFEST_ID} LIKE ?1 || '%' {NEWEST_FIRST} LIMIT 11"
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error(&what, e))
    }

    /// The first backup (`cols` of it) that `filter` (with one `?`, bound to `value`) selects.
    async fn backup_where(
        &self,
        cols: &str,
        filter: &str,
        value: &str,
        what: &str,
    ) -> Result<Option<BackupRecord>> {
        sqlx::query_as::<_, BackupRecord>(&format!("SELECT {cols} FROM backups WHERE {filter}"))
            .bind(value)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| db_error(what, e))
    }

    /// Record a verification: `verified_at` = now, status `verified` (ok) or `corrupt`, and the
    /// problem found (cleared when `None`). The local copy records the same.
    pub async fn record_verify(
        &self,
        backup_id: &str,
        ok: bool,
        problem: Option<&str>,
    ) -> Result<()> {
        let status = if ok {
            BackupStatus::Verified
        } else {
            BackupStatus::Corrupt
        };
        let update = sqlx::query(
            "UPDATE backups SET verified_at = ?, status = ?, verify_problem = ? WHERE id = ?",
        )
        .bind(self.now())
        .bind(status)
        .bind(problem)
        .bind(backup_id);
        let what = format!("recording the verification of backup {backup_id}");
        self.update_backup(backup_id, update, &what).await
    }

    /// Set a backup's status without verifying (e.g. `missing` when its file is gone, or back to
    /// `unverified` when it reappears). `verified_at` and `verify_problem` are kept. The local
    /// copy's status follows.
    pub async fn set_backup_status(&self, backup_id: &str, status: BackupStatus) -> Result<()> {
        let update = sqlx::query("UPDATE backups SET status = ? WHERE id = ?")
            .bind(status)
            .bind(backup_id);
        self.update_backup(backup_id, update, &format!("updating backup {backup_id}"))
            .await
    }

    /// Run `update` (a statement on backup `backup_id`'s row) and bring its local copy in step,
    /// in one transaction. NotFound when there is no such backup.
    async fn update_backup(
        &self,
        backup_id: &str,
        update: SqliteQuery<'_>,
        what: &str,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await.map_err(|e| db_error(what, e))?;
        let done = update
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(what, e))?;
        changed_a_row(done, || backup_not_found(backup_id))?;
        copies::follow_backup(&mut tx, backup_id)
            .await
            .map_err(|e| db_error(what, e))?;
        tx.commit().await.map_err(|e| db_error(what, e))
    }

    /// Forget a backup (its file is not touched) and its copies (ON DELETE CASCADE). Jobs that
    /// made it keep running records without the link.
    pub async fn remove_backup(&self, backup_id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM backups WHERE id = ?")
            .bind(backup_id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error(&format!("removing backup {backup_id}"), e))?;
        changed_a_row(done, || backup_not_found(backup_id))
    }
}

/// The setting-key prefix of a deletion in progress: `pending_delete.<backup id>` → a note of
/// what to delete (JSON: the archive's path and the backup id its manifest holds).
pub const PENDING_DELETE_PREFIX: &str = "pending_delete.";

impl Catalog {
    /// Remove a backup's row and, in the same transaction, record that its archive (`note`: what
    /// to delete) is to be deleted. A crash before the files are gone then leaves the backup fully gone (no
    /// row) with its files deleted at the next start ([`Catalog::pending_deletions`]).
    pub async fn remove_backup_deleting(&self, backup_id: &str, note: &str) -> Result<()> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| db_error("starting a transaction", e))?;
        let done = sqlx::query("DELETE FROM backups WHERE id = ?")
            .bind(backup_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(&format!("removing backup {backup_id}"), e))?;
        if done.rows_affected() == 0 {
            return Err(backup_not_found(backup_id));
        }
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(format!("{PENDING_DELETE_PREFIX}{backup_id}"))
        .bind(note)
        .bind(self.now())
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error("recording a deletion", e))?;
        tx.commit()
            .await
            .map_err(|e| db_error(&format!("removing backup {backup_id}"), e))
    }

    /// Deletions recorded by [`Catalog::remove_backup_deleting`] whose files may still exist:
    /// (backup id, note).
    pub async fn pending_deletions(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, value FROM settings WHERE key LIKE 'pending\\_delete.%' ESCAPE '\\'",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading pending deletions", e))?;
        Ok(rows
            .into_iter()
            .map(|(k, v)| (k[PENDING_DELETE_PREFIX.len()..].to_string(), v))
            .collect())
    }

    /// A recorded deletion is complete.
    pub async fn deletion_done(&self, backup_id: &str) -> Result<()> {
        self.remove_setting(&format!("{PENDING_DELETE_PREFIX}{backup_id}"))
            .await
    }
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn backup_not_found(id: &str) -> Error {
    Error::not_found(format!("no backup with id {id}"))
        .with_hint("it may have been removed, or its project removed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::{
        catalog, catalog_at, kind, new_backup, shop, shop_with_backup, AT,
    };
    use time::OffsetDateTime;

    #[tokio::test]
    async fn backups_by_id_match_either_id_exactly_else_by_their_start() {
        let c = catalog().await;
        let (dir, p) = shop(&c).await;
        let mut ids = Vec::new();
        for (i, manifest_id) in ["aaaa1111-x", "aaaa2222-y"].iter().enumerate() {
            let path = dir
                .path()
                .join(format!("shop_2024050{}_100000_full.tar.gz", i + 1));
            let mut nb = new_backup(&p.id, &path, "2024-05-01T10:00:00Z");
            nb.manifest_json = Some(format!(r#"{{"backup_id":"{manifest_id}"}}"#));
            ids.push(c.add_backup(&nb).await.unwrap().id);
        }
        // A manifest the catalog holds that is not JSON does not break the lookup.
        let mut nb = new_backup(
            &p.id,
            &dir.path().join("odd.tar.gz"),
            "2024-05-03T10:00:00Z",
        );
        nb.manifest_json = Some("not json".into());
        c.add_backup(&nb).await.unwrap();
        let found = |v: Vec<BackupRecord>| v.into_iter().map(|b| b.id).collect::<Vec<_>>();

        assert_eq!(
            found(c.backups_by_id(&ids[0]).await.unwrap()),
            [ids[0].clone()]
        );
        assert_eq!(
            found(c.backups_by_id("aaaa2222-y").await.unwrap()),
            [ids[1].clone()]
        );
        assert_eq!(
            found(c.backups_by_id("AAAA1").await.unwrap()),
            [ids[0].clone()]
        );
        assert_eq!(c.backups_by_id("aaaa").await.unwrap().len(), 2, "ambiguous");
        assert_eq!(
            found(c.backups_by_id(&ids[1][..8]).await.unwrap()),
            [ids[1].clone()]
        );
        // Wildcards and other characters are never looked up.
        for odd in ["%", "a_a", "", "aaaa'--", "aaaa%"] {
            assert!(c.backups_by_id(odd).await.unwrap().is_empty(), "{odd}");
        }
    }

    #[tokio::test]
    async fn backups_roundtrip_newest_first() {
        let c = catalog().await;
        let (dir, p) = shop(&c).await;
        let older = dir.path().join("shop_20240501_100000_full.tar.gz");
        let newer = dir.path().join("shop_20240502_100000_full.tar.gz");
        std::fs::write(&older, b"x").unwrap();
        // Given with an offset; stored normalized to UTC.
        let b1 = c
            .add_backup(&new_backup(&p.id, &older, "2024-05-01T12:00:00+02:00"))
            .await
            .unwrap();
        let mut nb2 = new_backup(&p.id, &newer, "2024-05-02T10:00:00.5Z");
        nb2.backup_type = BackupType::Database;
        nb2.size = u64::MAX / 2;
        let b2 = c.add_backup(&nb2).await.unwrap();

        assert_eq!(b1.created_at, "2024-05-01T10:00:00.000Z");
        assert_eq!(b2.created_at, "2024-05-02T10:00:00.500Z");
        assert_eq!(b1.sha256, "ab".repeat(32));
        assert_eq!(b1.status, BackupStatus::Unverified);
        assert_eq!(b1.verified_at, None);
        assert_eq!(
            b1.path,
            super::super::copies::plain_path(std::fs::canonicalize(&older).unwrap())
                .to_str()
                .unwrap()
        );
        assert_eq!(b2.size, u64::MAX / 2);

        let list = c.backups(&p.id).await.unwrap();
        assert_eq!(list, vec![b2.clone(), b1.clone()]);
        assert_eq!(c.backup(&b1.id).await.unwrap(), b1);
        assert!(c.backups("no-such-project").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_newest_good_backup_is_the_first_good_row_of_the_list() {
        let c = catalog().await;
        let (dir, p) = shop(&c).await;
        let newest = |c: &Catalog, id: &str| {
            let (c, id) = (c.clone(), id.to_string());
            async move {
                let one = c.newest_good_backups(Some(&id)).await.unwrap().remove(&id);
                assert_eq!(one, c.newest_good_backups(None).await.unwrap().remove(&id));
                one
            }
        };
        assert_eq!(newest(&c, &p.id).await, None);
        let mut ids = Vec::new();
        for (i, at) in [
            "2024-05-01T10:00:00Z",
            "2024-05-02T10:00:00Z",
            "2024-05-03T10:00:00Z",
            "2024-05-04T10:00:00Z",
        ]
        .into_iter()
        .enumerate()
        {
            let b = new_backup(&p.id, &dir.path().join(format!("{i}.tar.gz")), at);
            ids.push(c.add_backup(&b).await.unwrap().id);
        }
        // The newest is missing, the one before corrupt: the second-oldest (verified) is it.
        c.set_backup_status(&ids[3], BackupStatus::Missing)
            .await
            .unwrap();
        c.record_verify(&ids[2], false, Some("checksum mismatch"))
            .await
            .unwrap();
        c.record_verify(&ids[1], true, None).await.unwrap();
        let first_good = |rows: Vec<BackupRow>| {
            rows.into_iter()
                .find(|b| matches!(b.status, BackupStatus::Verified | BackupStatus::Unverified))
                .map(|b| b.created_at)
        };
        let got = newest(&c, &p.id).await;
        assert_eq!(got.as_deref(), Some("2024-05-02T10:00:00.000Z"));
        assert_eq!(got, first_good(c.backup_rows(&p.id).await.unwrap()));
        c.record_verify(&ids[1], false, Some("truncated"))
            .await
            .unwrap();
        assert_eq!(
            newest(&c, &p.id).await.as_deref(),
            Some("2024-05-01T10:00:00.000Z")
        );
        assert_eq!(newest(&c, "no-such-project").await, None);
    }

    #[tokio::test]
    async fn backup_rows_and_summary_match_the_full_records() {
        let c = catalog().await;
        let (dir, p) = shop(&c).await;
        assert_eq!(c.backup_summary(&p.id).await.unwrap(), (0, None));
        for (i, at) in [
            "2024-05-01T10:00:00Z",
            "2024-05-03T10:00:00Z",
            "2024-05-02T10:00:00Z",
        ]
        .into_iter()
        .enumerate()
        {
            let mut b = new_backup(&p.id, &dir.path().join(format!("{i}.tar.gz")), at);
            if i == 1 {
                // A per-tenant archive: its tenant mark is in the list's rows.
                b.manifest_json = Some(
                    r#"{"format_version":1,"tenant":{"name":"orgs","root":"\"public\".\"orgs\"","key":"id","value":"1","rows_checked":3,"outside":0}}"#
                        .to_string(),
                );
            }
            c.add_backup(&b).await.unwrap();
        }
        let full = c.backups(&p.id).await.unwrap();
        assert!(full.iter().all(|b| b.manifest_json.is_some()));
        let rows = c.backup_rows(&p.id).await.unwrap();
        let tenants: Vec<Option<&str>> = rows.iter().map(|r| r.tenant.as_deref()).collect();
        assert_eq!(tenants, [Some("orgs=1"), None, None], "newest first");
        let expected: Vec<_> = full
            .iter()
            .map(|b| BackupRow {
                id: b.id.clone(),
                path: b.path.clone(),
                size: b.size,
                backup_type: b.backup_type,
                created_at: b.created_at.clone(),
                verified_at: b.verified_at.clone(),
                status: b.status,
                verify_problem: b.verify_problem.clone(),
                sha256: b.sha256.clone(),
                origin: b.origin,
                tenant: b.tenant().map(|t| format!("{}={}", t.name, t.value)),
                suspicious: None,
                note: None,
                started_by: None,
                pinned: false,
            })
            .collect();
        assert_eq!(rows, expected);
        let (count, newest) = c.backup_summary(&p.id).await.unwrap();
        assert_eq!(count, 3);
        assert_eq!(
            newest,
            Some(BackupRecord {
                manifest_json: None,
                ..full[0].clone()
            })
        );
        assert!(c.backup_rows("no-such-project").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn backups_with_the_same_time_list_newest_insert_first() {
        let c = catalog().await;
        let (dir, p) = shop(&c).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let b = c
                .add_backup(&new_backup(
                    &p.id,
                    &dir.path().join(format!("{i}.tar.gz")),
                    "2024-05-01T10:00:00Z",
                ))
                .await
                .unwrap();
            ids.push(b.id);
        }
        ids.reverse();
        let listed: Vec<_> = c
            .backups(&p.id)
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(listed, ids);
    }

    #[tokio::test]
    async fn add_backup_checks_its_input() {
        let c = catalog().await;
        let (dir, p) = shop(&c).await;
        let path = dir.path().join("a.tar.gz");

        let mut bad = new_backup(&p.id, &path, "2024-05-01T10:00:00Z");
        bad.sha256 = "xyz".into();
        assert_eq!(kind(c.add_backup(&bad).await), ErrorKind::InvalidInput);
        // A backup type is a `BackupType`: an unknown one is refused where the word is parsed.
        let e = "everything".parse::<BackupType>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e
            .hint()
            .unwrap()
            .contains("full, database, storage, config"));
        let bad = new_backup(&p.id, &path, "yesterday");
        assert_eq!(kind(c.add_backup(&bad).await), ErrorKind::InvalidInput);
        let mut bad = new_backup(&p.id, &path, "2024-05-01T10:00:00Z");
        bad.size = u64::MAX;
        assert_eq!(kind(c.add_backup(&bad).await), ErrorKind::InvalidInput);

        let e = c
            .add_backup(&new_backup(
                "no-such-project",
                &path,
                "2024-05-01T10:00:00Z",
            ))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let mut bad = new_backup(&p.id, &path, "2024-05-01T10:00:00Z");
        bad.job_id = Some("no-such-job".into());
        assert_eq!(kind(c.add_backup(&bad).await), ErrorKind::NotFound);

        c.add_backup(&new_backup(&p.id, &path, "2024-05-01T10:00:00Z"))
            .await
            .unwrap();
        let e = c
            .add_backup(&new_backup(&p.id, &path, "2024-05-01T11:00:00Z"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(c.backups(&p.id).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_backup_with_an_unknown_stored_word_is_a_coded_catalog_error() {
        let c = catalog().await;
        let (_dir, p, b) = shop_with_backup(&c).await;
        for (column, word) in [("status", "shredded"), ("backup_type", "everything")] {
            sqlx::query(&format!("UPDATE backups SET {column} = ? WHERE id = ?"))
                .bind(word)
                .bind(&b.id)
                .execute(c.pool())
                .await
                .unwrap();
            for e in [
                c.backup(&b.id).await.unwrap_err(),
                c.backups(&p.id).await.unwrap_err(),
                c.backup_rows(&p.id).await.unwrap_err(),
            ] {
                assert_eq!(e.kind(), ErrorKind::Catalog, "{e}");
                assert!(e.message().contains(&format!("{word:?}")), "{e}");
            }
            sqlx::query("UPDATE backups SET status = ?, backup_type = ? WHERE id = ?")
                .bind(b.status)
                .bind(b.backup_type)
                .bind(&b.id)
                .execute(c.pool())
                .await
                .unwrap();
            assert_eq!(c.backup(&b.id).await.unwrap(), b);
        }
    }

    #[tokio::test]
    async fn record_verify_sets_status_time_and_problem() {
        let c = catalog().await;
        let (_dir, _p, b) = shop_with_backup(&c).await;

        c.record_verify(&b.id, false, Some("database.dump: checksum mismatch"))
            .await
            .unwrap();
        let r = c.backup(&b.id).await.unwrap();
        assert_eq!(r.status, BackupStatus::Corrupt);
        assert_eq!(
            r.verify_problem.as_deref(),
            Some("database.dump: checksum mismatch")
        );
        let first = parse_timestamp(r.verified_at.as_deref().unwrap()).unwrap();
        assert!((OffsetDateTime::now_utc() - first).whole_seconds().abs() < 60);

        c.record_verify(&b.id, true, None).await.unwrap();
        let r = c.backup(&b.id).await.unwrap();
        assert_eq!(r.status, BackupStatus::Verified);
        assert_eq!(r.verify_problem, None);
        assert!(r.verified_at.is_some());

        let e = c.record_verify("nope", true, None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn verified_at_comes_from_the_catalogs_clock() {
        let (c, clock) = catalog_at(AT).await;
        let (_dir, _p, b) = shop_with_backup(&c).await;
        c.record_verify(&b.id, true, None).await.unwrap();
        let r = c.backup(&b.id).await.unwrap();
        assert_eq!(r.verified_at.as_deref(), Some("2030-01-02T03:04:05.000Z"));
        // The backup's own time is when it was taken, not when it was recorded.
        assert_eq!(r.created_at, "2024-05-01T10:00:00.000Z");
        clock.advance(time::Duration::minutes(90));
        c.record_verify(&b.id, false, Some("truncated"))
            .await
            .unwrap();
        let r = c.backup(&b.id).await.unwrap();
        assert_eq!(r.verified_at.as_deref(), Some("2030-01-02T04:34:05.000Z"));
    }

    #[tokio::test]
    async fn backup_status_and_removal() {
        let c = catalog().await;
        let (_dir, _p, b) = shop_with_backup(&c).await;
        c.set_backup_status(&b.id, BackupStatus::Missing)
            .await
            .unwrap();
        assert_eq!(c.backup(&b.id).await.unwrap().status, BackupStatus::Missing);
        assert_eq!(
            kind(c.set_backup_status("nope", BackupStatus::Missing).await),
            ErrorKind::NotFound
        );
        assert_eq!(kind(c.backup("nope").await), ErrorKind::NotFound);
        c.remove_backup(&b.id).await.unwrap();
        assert_eq!(kind(c.backup(&b.id).await), ErrorKind::NotFound);
        assert_eq!(kind(c.remove_backup(&b.id).await), ErrorKind::NotFound);
        for s in [
            BackupStatus::Unverified,
            BackupStatus::Verified,
            BackupStatus::Corrupt,
            BackupStatus::Missing,
        ] {
            assert_eq!(BackupStatus::parse(s.as_str()), Some(s));
        }
    }
}
