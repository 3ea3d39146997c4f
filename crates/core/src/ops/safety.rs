//! Safety backups: the backup of a database taken before a `--replace` restore, in the data
//! folder's `safety-backups` (`safety-<database>_<YYYYMMDD>_<HHMMSS>_database.tar.zst[.age]`,
//! encrypted like the backups of the project whose data it holds). Listed for a project (origin
//! "safety") and pruned by a policy of their own after each restore that took one: per target
//! database, the newest [`DEFAULT_KEEP_LAST`] are kept and none older than
//! [`DEFAULT_KEEP_DAYS`] days (settings [`KEEP_LAST_SETTING`], [`KEEP_DAYS_SETTING`]).

use crate::backup::compose::{compose_encrypted, ComposeRequest, DatabaseInput};
use crate::clock::SharedClock;
use crate::engine::Engine;
use crate::error::{Error, Result};
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
    compression: crate::archive::Compression,
    encryption: Option<crate::crypto::Encryption>,
    pg_bin: Option<PathBuf>,
    clock: SharedClock,
}

/// The engine's safety backup for a restore, encrypted with `encryption` (`None`: not). The
/// compression is the saved default of new backups (zstd when none is saved or the saved one no
/// longer parses: a safety backup is not refused over a setting).
pub(crate) async fn taker(
    engine: &Engine,
    encryption: Option<crate::crypto::Encryption>,
) -> SafetyTaker {
    let compression = super::backup::default_compression(engine)
        .await
        .unwrap_or_default();
    SafetyTaker(Arc::new(SafetyDump {
        dir: engine.data_dir.join(super::reveal::SAFETY_DIR),
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
            Ok(written.path)
        })
    }
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

/// Every safety backup in `dir` (regular files only: a link planted there is not followed),
/// newest first.
pub(crate) fn list_in(dir: &Path) -> Result<Vec<SafetyBackup>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((target, at)) = parse_name(&name).filter(|_| meta.is_file()) else {
            continue;
        };
        out.push(SafetyBackup {
            path: entry.path(),
            target,
            created_at: crate::catalog::format_timestamp(at),
            size: meta.len(),
            encrypted: name.ends_with(crate::crypto::AGE_SUFFIX),
            origin: "safety".into(),
        });
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.path.cmp(&a.path)));
    Ok(out)
}

fn dir_of(engine: &Engine) -> PathBuf {
    engine.data_dir.join(super::reveal::SAFETY_DIR)
}

/// The safety backups of project `name`'s database, newest first.
pub(crate) async fn of_project(engine: &Engine, name: &str) -> Result<Vec<SafetyBackup>> {
    let project = engine.catalog.project(name).await?;
    let target = target_name(&engine.spec_of(&project)?.database);
    Ok(list_in(&dir_of(engine))?
        .into_iter()
        .filter(|b| b.target == target)
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

/// What [`prune_in`] removes from `all` (newest first) at `now`.
fn to_remove(
    all: &[SafetyBackup],
    now: OffsetDateTime,
    keep_last: u32,
    keep_days: u32,
) -> Vec<PathBuf> {
    let oldest = crate::catalog::format_timestamp(now - time::Duration::days(keep_days.into()));
    let mut seen: std::collections::HashMap<&str, u32> = Default::default();
    let mut out = Vec::new();
    for b in all {
        let n = seen.entry(b.target.as_str()).or_default();
        *n += 1;
        if *n > keep_last || b.created_at < oldest {
            out.push(b.path.clone());
        }
    }
    out
}

/// Prune the safety backups by the policy (best effort: a file that cannot be removed is
/// logged and tried again next time). Returns what was removed.
pub(crate) async fn prune(engine: &Engine) -> Vec<PathBuf> {
    let (keep_last, keep_days) = policy(engine).await;
    let all = match list_in(&dir_of(engine)) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!("safety backups not pruned: {e}");
            return Vec::new();
        }
    };
    let mut removed = Vec::new();
    for path in to_remove(&all, engine.clock.now(), keep_last, keep_days) {
        match std::fs::remove_file(&path) {
            Ok(()) => {
                let _ = std::fs::remove_file(crate::archive::sidecar_path(&path));
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
    use time::macros::datetime;

    fn touch(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, b"x").unwrap();
        std::fs::write(crate::archive::sidecar_path(&p), b"sum").unwrap();
        p
    }

    #[test]
    fn safety_backups_are_listed_newest_first_and_other_files_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(d, "safety-shop_20261101_010000_database.tar.zst.age");
        touch(d, "safety-shop_20261120_010000_database.tar.zst");
        touch(d, "shop_20261120_010000_database.tar.zst");
        touch(d, "safety-shop_20261120_010000_database.tar.zst.part");
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            "/etc/passwd",
            d.join("safety-shop_20261121_010000_database.tar.zst"),
        )
        .unwrap();
        let all = list_in(d).unwrap();
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[0].created_at, "2026-11-20T01:00:00.000Z");
        assert!(!all[0].encrypted && all[1].encrypted);
        assert_eq!(all[0].target, "safety-shop");
        assert_eq!(all[0].origin, "safety");
        assert_eq!(target_name("my db.x"), "safety-my_db_x");
        assert!(list_in(&d.join("missing")).unwrap().is_empty());
    }

    #[test]
    fn the_policy_keeps_the_newest_of_each_target_and_none_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for day in 20..=24 {
            touch(
                d,
                &format!("safety-shop_202611{day}_010000_database.tar.zst.age"),
            );
        }
        touch(d, "safety-blog_20260101_010000_database.tar.zst.age");
        touch(d, "safety-blog_20261124_010000_database.tar.zst.age");
        let all = list_in(d).unwrap();
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
                "safety-blog_20260101_010000_database.tar.zst.age",
            ]
        );
        // Keep the last one, none older than 2 days.
        assert_eq!(to_remove(&all, now, 1, 2).len(), 5);
    }
}
