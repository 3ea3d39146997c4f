//! Safety backups: the backup of a database taken before a `--replace` restore, in the data
//! folder's `safety-backups` (`safety-<database>_<YYYYMMDD>_<HHMMSS>_database.tar.zst[.age]`,
//! encrypted like the backups of the project whose data it holds). Each is a catalog row,
//! recorded when it is written (its server, database and project; a file whose row cannot be
//! recorded is removed, and the restore does not replace anything): a project lists the rows of
//! its own server's database (origin "safety"), never a file merely named like one, nor another
//! server's database of the same name. Pruned by a policy of their own after each restore that
//! took one: per target, the newest [`DEFAULT_KEEP_LAST`] are kept and none older than
//! [`DEFAULT_KEEP_DAYS`] days (settings [`KEEP_LAST_SETTING`], [`KEEP_DAYS_SETTING`]). Files an
//! earlier version wrote (no row) are not listed; they are removed once older than the days kept.

use crate::backup::compose::{compose_encrypted, ComposeRequest, DatabaseInput};
use crate::clock::SharedClock;
use crate::engine::Engine;
use crate::error::Result;
use crate::postgres::restore::{RestoreTarget, SafetyTaker, TakeSafetyBackup};
use crate::progress::Reporter;
use crate::sources::PostgresSource;
use futures::future::BoxFuture;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// Catalog setting: how many safety backups of one target database are kept (at least 1).
pub const KEEP_LAST_SETTING: &str = "safety_keep_last";
/// Catalog setting: the most days a safety backup is kept.
pub const KEEP_DAYS_SETTING: &str = "safety_keep_days";
pub const DEFAULT_KEEP_LAST: u32 = 3;
pub const DEFAULT_KEEP_DAYS: u32 = 30;

/// A safety backup on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SafetyBackup {
    pub path: PathBuf,
    /// The database it holds, as its file name says (`safety-<database>`).
    pub target: String,
    /// RFC 3339, from its file name.
    pub created_at: String,
    pub size: u64,
    /// `.age`: encrypted like its project's backups.
    pub encrypted: bool,
    /// Always "safety" (how `backups` and the timeline tell it from the project's own).
    pub origin: String,
}

/// The safety backup a restore takes before a replace: a database-only archive of the target in
/// the data folder's `safety-backups`, compressed like new backups and encrypted like the
/// backups of the project whose data it holds.
pub(crate) struct SafetyDump {
    dir: PathBuf,
    catalog: crate::catalog::Catalog,
    /// The saved project restored into, when the target is one.
    project: Option<String>,
    compression: crate::archive::Compression,
    encryption: Option<crate::crypto::Encryption>,
    pg_bin: Option<PathBuf>,
    clock: SharedClock,
}

/// The engine's safety backup for a restore into `project` (a saved project; `None`: a URL),
/// encrypted with `encryption` (`None`: not). The compression is the saved default of new
/// backups (zstd when none is saved or the saved one no longer parses: a safety backup is not
/// refused over a setting).
pub(crate) async fn taker(
    engine: &Engine,
    project: Option<String>,
    encryption: Option<crate::crypto::Encryption>,
) -> SafetyTaker {
    let compression = super::backup::default_compression(engine)
        .await
        .unwrap_or_default();
    SafetyTaker(Arc::new(SafetyDump {
        dir: engine.data_dir.join(super::reveal::SAFETY_DIR),
        catalog: engine.catalog.clone(),
        project,
        compression,
        encryption,
        pg_bin: engine.pg_bin(),
        clock: engine.clock.clone(),
    }))
}

impl TakeSafetyBackup for SafetyDump {
    fn take<'a>(
        &'a self,
        target: &'a RestoreTarget,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<PathBuf>> {
        Box::pin(async move {
            let source = PostgresSource::new(
                target.spec.clone(),
                target.password.clone(),
                self.pg_bin.clone(),
            );
            let request = ComposeRequest {
                project: target_name(&target.spec.database),
                dest_dir: self.dir.clone(),
                compression: self.compression,
                backup_id: uuid::Uuid::new_v4().to_string(),
                created_at: self.clock.now(),
                backup_type: crate::archive::BackupType::Database,
                database: Some(DatabaseInput {
                    source: Arc::new(source),
                }),
                storage: None,
                config: None,
            };
            // Encrypted like the project's backups (`<name>.tar.zst.age`): no plaintext copy.
            let written = compose_encrypted(
                request,
                self.encryption.clone(),
                &Reporter::silent(),
                cancel,
            )
            .await?;
            self.record(target, &written.path).await?;
            Ok(written.path)
        })
    }
}

impl SafetyDump {
    /// Record the safety backup at `path` of `target`; when it cannot be recorded, the file is
    /// removed (nothing unlisted is left) and the error stops the restore before it replaces.
    async fn record(&self, target: &RestoreTarget, path: &Path) -> Result<()> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let row = crate::catalog::SafetyRow {
            path: path.to_string_lossy().into_owned(),
            server: server_of(&target.spec),
            database: target.spec.database.clone(),
            target_project: self.project.clone(),
            created_at: crate::catalog::format_timestamp(self.clock.now()),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            encrypted: path.to_string_lossy().ends_with(crate::crypto::AGE_SUFFIX),
        };
        if let Err(e) = self.catalog.record_safety_backup(&row).await {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_file(crate::archive::sidecar_path(path));
            return Err(e.context("the safety backup was written but could not be recorded"));
        }
        Ok(())
    }
}

/// `HOST:PORT/DATABASE` of a target: which server's database a safety backup holds.
fn server_of(spec: &crate::postgres::conn::ConnSpec) -> String {
    format!("{}:{}/{}", spec.host, spec.port, spec.database)
}

/// The safety-backup name of a target database: `safety-<database>` with every character other
/// than letters, digits, `-` and `_` made `_` (as the restore names the file).
pub fn target_name(database: &str) -> String {
    let clean: String = database
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("safety-{clean}")
}

/// `(target, created)` of a safety backup's file name; `None` for any other file.
fn parse_name(file: &str) -> Option<(String, OffsetDateTime)> {
    let stem = crate::backup::ARCHIVE_SUFFIXES
        .iter()
        .filter_map(|s| file.strip_suffix(s))
        .min_by_key(|s| s.len())?;
    let mut parts = stem.rsplitn(4, '_');
    let (kind, time, date, target) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if kind != "database" || !target.starts_with("safety-") {
        return None;
    }
    let f = time::macros::format_description!("[year][month][day][hour][minute][second]");
    let at = time::PrimitiveDateTime::parse(&format!("{date}{time}"), &f).ok()?;
    Some((target.to_string(), at.assume_utc()))
}

/// The safety backups `rows` whose file is still a regular file in `dir` (a link planted there
/// is not followed), newest first.
fn listed(dir: &Path, rows: Vec<crate::catalog::SafetyRow>) -> Vec<(SafetyBackup, String)> {
    let mut out = Vec::new();
    for row in rows {
        let path = PathBuf::from(&row.path);
        let Ok(meta) = path.symlink_metadata() else {
            continue;
        };
        if !meta.is_file() || path.parent() != Some(dir) {
            continue;
        }
        let backup = SafetyBackup {
            path,
            target: target_name(&row.database),
            created_at: row.created_at,
            size: meta.len(),
            encrypted: row.encrypted,
            origin: "safety".into(),
        };
        out.push((backup, row.server));
    }
    out.sort_by(|(a, _), (b, _)| b.created_at.cmp(&a.created_at).then(b.path.cmp(&a.path)));
    out
}

fn dir_of(engine: &Engine) -> PathBuf {
    engine.data_dir.join(super::reveal::SAFETY_DIR)
}

/// The safety backups of project `name`'s database, newest first: those of a restore into the
/// project, and of one into its server's database by URL.
pub(crate) async fn of_project(engine: &Engine, name: &str) -> Result<Vec<SafetyBackup>> {
    let project = engine.catalog.project(name).await?;
    let server = server_of(&engine.spec_of(&project)?);
    let rows = engine
        .catalog
        .safety_backup_rows()
        .await?
        .into_iter()
        .filter(|r| r.target_project.as_deref() == Some(name) || r.server == server)
        .collect();
    Ok(listed(&dir_of(engine), rows)
        .into_iter()
        .map(|(b, _)| b)
        .collect())
}

/// The policy: keep the newest `keep_last` of each target, none older than `keep_days`.
async fn policy(engine: &Engine) -> (u32, u32) {
    let read = |key: &'static str, default: u32| async move {
        engine
            .catalog
            .setting(key)
            .await
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(default)
    };
    (
        read(KEEP_LAST_SETTING, DEFAULT_KEEP_LAST).await.max(1),
        read(KEEP_DAYS_SETTING, DEFAULT_KEEP_DAYS).await.max(1),
    )
}

/// What [`prune`] removes from `all` (newest first, each with its target) at `now`.
fn to_remove(
    all: &[(SafetyBackup, String)],
    now: OffsetDateTime,
    keep_last: u32,
    keep_days: u32,
) -> Vec<PathBuf> {
    let oldest = crate::catalog::format_timestamp(now - time::Duration::days(keep_days.into()));
    let mut seen: std::collections::HashMap<&str, u32> = Default::default();
    let mut out = Vec::new();
    for (b, target) in all {
        let n = seen.entry(target.as_str()).or_default();
        *n += 1;
        if *n > keep_last || b.created_at < oldest {
            out.push(b.path.clone());
        }
    }
    out
}

/// Files an earlier version wrote to `dir` (a safety backup's name, no row) older than
/// `oldest` (RFC 3339).
fn unrecorded_before(dir: &Path, recorded: &[String], oldest: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if recorded.iter().any(|r| Path::new(r) == path) {
            continue;
        }
        let is_file = path.symlink_metadata().is_ok_and(|m| m.is_file());
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((_, at)) = parse_name(&name).filter(|_| is_file) {
            if crate::catalog::format_timestamp(at).as_str() < oldest {
                out.push(path);
            }
        }
    }
    out
}

/// Prune the safety backups by the policy (best effort: a file that cannot be removed is
/// logged and tried again next time). Returns what was removed.
pub(crate) async fn prune(engine: &Engine) -> Vec<PathBuf> {
    let (keep_last, keep_days) = policy(engine).await;
    let rows = match engine.catalog.safety_backup_rows().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("safety backups not pruned: {e}");
            return Vec::new();
        }
    };
    let dir = dir_of(engine);
    let recorded: Vec<String> = rows.iter().map(|r| r.path.clone()).collect();
    let now = engine.clock.now();
    let oldest = crate::catalog::format_timestamp(now - time::Duration::days(keep_days.into()));
    let mut doomed = to_remove(&listed(&dir, rows), now, keep_last, keep_days);
    doomed.extend(unrecorded_before(&dir, &recorded, &oldest));
    let mut removed = Vec::new();
    for path in doomed {
        match std::fs::remove_file(&path) {
            Ok(()) => {
                let _ = std::fs::remove_file(crate::archive::sidecar_path(&path));
                if let Err(e) = engine
                    .catalog
                    .forget_safety_backup(&path.to_string_lossy())
                    .await
                {
                    tracing::warn!(
                        "the removed safety backup {} is still listed: {e}",
                        path.display()
                    );
                }
                removed.push(path);
            }
            Err(e) => tracing::warn!("could not remove the safety backup {}: {e}", path.display()),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::SafetyRow;
    use time::macros::datetime;

    fn touch(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, b"x").unwrap();
        std::fs::write(crate::archive::sidecar_path(&p), b"sum").unwrap();
        p
    }

    /// A link at `at` to the file `to`: whether one could be made (Windows makes file links only
    /// with Developer Mode or as an administrator; the other rows still run there).
    fn link_file(to: &Path, at: &Path) -> bool {
        #[cfg(unix)]
        let made = std::os::unix::fs::symlink(to, at);
        #[cfg(windows)]
        let made = std::os::windows::fs::symlink_file(to, at);
        #[cfg(not(any(unix, windows)))]
        let made: std::io::Result<()> = Err(std::io::ErrorKind::Unsupported.into());
        made.is_ok()
    }

    /// The row of a safety backup of `server`'s database `shop` written to `dir` as `name`.
    fn row(dir: &Path, name: &str, server: &str, created_at: &str) -> SafetyRow {
        SafetyRow {
            path: dir.join(name).to_string_lossy().into_owned(),
            server: server.into(),
            database: "shop".into(),
            target_project: None,
            created_at: created_at.into(),
            size: 1,
            encrypted: name.ends_with(".age"),
        }
    }

    #[test]
    fn only_recorded_regular_files_in_the_folder_are_listed_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let old = "safety-shop_20261101_010000_database.tar.zst.age";
        let new = "safety-shop_20261120_010000_database.tar.zst";
        touch(d, old);
        touch(d, new);
        // Named like one, no row: not listed.
        touch(d, "safety-shop_20261122_010000_database.tar.zst");
        let mut rows = vec![
            row(d, old, "a:5432/shop", "2026-11-01T01:00:00.000Z"),
            row(d, new, "a:5432/shop", "2026-11-20T01:00:00.000Z"),
            // A row whose file is gone, and one whose path is outside the folder.
            row(
                d,
                "safety-shop_20261121_010000_database.tar.zst",
                "a:5432/shop",
                "2026-11-21T01:00:00.000Z",
            ),
            row(
                Path::new("/etc"),
                "passwd",
                "a:5432/shop",
                "2026-11-23T01:00:00.000Z",
            ),
        ];
        // A row whose file is a link to a file outside the folder.
        let link = "safety-shop_20261124_010000_database.tar.zst";
        let outside = tempfile::tempdir().unwrap();
        let secret = touch(outside.path(), "secret");
        if link_file(&secret, &d.join(link)) {
            rows.push(row(d, link, "a:5432/shop", "2026-11-24T01:00:00.000Z"));
        }
        let all = listed(d, rows);
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[0].0.created_at, "2026-11-20T01:00:00.000Z");
        assert!(!all[0].0.encrypted && all[1].0.encrypted);
        assert_eq!(all[0].0.target, "safety-shop");
        assert_eq!(all[0].0.origin, "safety");
        assert_eq!(target_name("my db.x"), "safety-my_db_x");
    }

    #[test]
    fn the_policy_keeps_the_newest_of_each_target_and_none_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut rows = Vec::new();
        for day in 20..=24 {
            let name = format!("safety-shop_202611{day}_010000_database.tar.zst.age");
            touch(d, &name);
            rows.push(row(
                d,
                &name,
                "a:5432/shop",
                &format!("2026-11-{day}T01:00:00.000Z"),
            ));
        }
        // Another server's database of the same name: a target of its own.
        for (day, at) in [("20260101", "2026-01-01"), ("20261124", "2026-11-24")] {
            let name = format!("safety-shop_{day}_020000_database.tar.zst.age");
            touch(d, &name);
            rows.push(row(d, &name, "b:5432/shop", &format!("{at}T02:00:00.000Z")));
        }
        let all = listed(d, rows);
        let now = datetime!(2026-11-25 00:00 UTC);
        let gone = to_remove(&all, now, 3, 30);
        let names: Vec<_> = gone
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "safety-shop_20261121_010000_database.tar.zst.age",
                "safety-shop_20261120_010000_database.tar.zst.age",
                "safety-shop_20260101_020000_database.tar.zst.age",
            ]
        );
        // Keep the last one, none older than 2 days.
        assert_eq!(to_remove(&all, now, 1, 2).len(), 5);
    }

    #[test]
    fn files_an_earlier_version_wrote_go_once_older_than_the_days_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let recorded = touch(d, "safety-shop_20260101_010000_database.tar.zst");
        let old = touch(d, "safety-shop_20260102_010000_database.tar.zst");
        touch(d, "safety-shop_20261120_010000_database.tar.zst");
        touch(d, "shop_20260101_010000_database.tar.zst");
        let gone = unrecorded_before(
            d,
            &[recorded.to_string_lossy().into_owned()],
            "2026-10-26T00:00:00.000Z",
        );
        assert_eq!(gone, [old]);
    }
}
