//! Which archive a user means: a path, a backup's id (the catalog's or the archive's own, or
//! a unique start of either), `PROJECT:latest`, or `PROJECT:latest~N`. What every command that takes an archive
//! (verify, inspect, restore) resolves its argument with.

use crate::catalog::{BackupRecord, BackupStatus};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The suffix that names a project's newest backup: `PROJECT:latest`.
pub const LATEST_SUFFIX: &str = ":latest";

/// `PROJECT:latest~N`: the N-th good backup before the newest good one (`~0` is the newest).
pub const BEFORE_LATEST: &str = ":latest~";

/// `PROJECT@TIME`: a project's database as it was at TIME (point-in-time capture, docs/pitr.md).
pub const AT_SIGN: char = '@';

/// A `PROJECT@TIME` reference, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AtRef {
    pub project: String,
    /// Microseconds since the Unix epoch.
    pub at: i64,
}

/// The reference [`parse_at_ref`] reads: `project` as it was at `time` (RFC 3339).
pub fn at_ref_text(project: &str, time: &str) -> String {
    format!("{project}{AT_SIGN}{}", time.trim())
}

/// `PROJECT@TIME` (TIME in RFC 3339, as `restore --at` takes it). `None`: `given` is no such
/// reference (no `@`, a URL, or a file that exists: a path always wins). `Some(Err)`: it is one,
/// but malformed (an `@` twice, a project name with characters no project has, a time that does
/// not parse): the error names the reference.
pub fn parse_at_ref(given: &str) -> Option<Result<AtRef>> {
    let trimmed = given.trim();
    if !trimmed.contains(AT_SIGN)
        || trimmed.contains("://")
        || std::fs::symlink_metadata(Path::new(given)).is_ok()
    {
        return None;
    }
    let shown = crate::words::shorten(trimmed);
    let bad = |why: String| {
        Error::invalid(format!("{shown:?} is not PROJECT@TIME: {why}"))
            .with_hint("write PROJECT@TIME with TIME in RFC 3339, e.g. shop@2026-11-26T06:00:00Z")
    };
    let (project, time) = trimmed.split_once(AT_SIGN)?;
    if time.contains(AT_SIGN) {
        return Some(Err(bad("it has more than one @".into())));
    }
    if let Err(e) = crate::catalog::validate_project_name(project) {
        return Some(Err(bad(e.message().to_string())));
    }
    Some(match crate::pitr::parse_time(time) {
        Ok(at) => Ok(AtRef {
            project: project.to_string(),
            at,
        }),
        Err(e) => Err(bad(e.message().to_string())),
    })
}

/// The shortest start of an id that is looked up as one (shorter ones are too likely to be a
/// mistyped path).
pub const MIN_ID_PREFIX: usize = 4;

/// An archive as the user named it, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResolvedArchive {
    /// The archive file.
    pub path: PathBuf,
    /// The catalog's id of the backup, when the catalog knows this file.
    pub backup_id: Option<String>,
    /// Its project, when the catalog knows this file.
    pub project: Option<String>,
    /// How it was named: `path`, `id` or `latest`.
    pub by: ResolvedBy,
}

/// How an archive was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ResolvedBy {
    Path,
    Id,
    Latest,
}

fn how_to_see_ids() -> String {
    "give the archive's path, a backup id (`offsite backups PROJECT` lists them; `offsite \
     inspect ARCHIVE` shows an archive's own id: either works), or PROJECT:latest"
        .to_string()
}

/// Resolve `given` (see the module's description). A path that exists always wins; then
/// `PROJECT:latest`; then an id.
pub(crate) async fn resolve(engine: &Engine, given: &str) -> Result<ResolvedArchive> {
    let given_trimmed = given.trim();
    if given_trimmed.is_empty() {
        return Err(Error::invalid("no archive given").with_hint(how_to_see_ids()));
    }
    let path = Path::new(given);
    if std::fs::symlink_metadata(path).is_ok() {
        return by_path(engine, path).await;
    }
    if let Some(at) = parse_at_ref(given) {
        let at = at?;
        return Err(Error::invalid(format!(
            "{given_trimmed:?} names {} as it was at a time, not an archive",
            at.project
        ))
        .with_hint(format!(
            "drill, browse, diff and recover take PROJECT@TIME; restore takes `offsite restore {} \
             --at TIME`",
            at.project
        )));
    }
    if let Some(project) = given_trimmed.strip_suffix(LATEST_SUFFIX) {
        return latest(engine, project).await;
    }
    if let Some((project, n)) = given_trimmed.rsplit_once(BEFORE_LATEST) {
        return before_latest(engine, project, n).await;
    }
    by_id(engine, given_trimmed).await
}

/// An existing file: the catalog's record of it, if any.
async fn by_path(engine: &Engine, path: &Path) -> Result<ResolvedArchive> {
    let record = engine.catalog.backup_by_path(path).await.ok().flatten();
    let (backup_id, project) = match record {
        Some(r) => {
            let project = project_name(engine, &r).await;
            (Some(r.id), project)
        }
        None => (None, None),
    };
    Ok(ResolvedArchive {
        path: path.to_path_buf(),
        backup_id,
        project,
        by: ResolvedBy::Path,
    })
}

async fn project_name(engine: &Engine, r: &BackupRecord) -> Option<String> {
    engine
        .catalog
        .project_by_id(&r.project_id)
        .await
        .ok()
        .map(|p| p.name)
}

/// Whether `b` is a per-tenant archive (written by `backup --tenant`: its manifest has a
/// tenant mark): one tenant's part, never what `PROJECT:latest` means.
pub(crate) fn is_tenant_archive(b: &BackupRecord) -> bool {
    b.tenant().is_some()
}

/// The folder of a project's per-tenant archives, in its backup folder.
pub const TENANTS_DIR: &str = "tenants";

/// The project's newest backup whose file is there (not a per-tenant archive): the newest that is not known to be
/// corrupt, else the newest at all.
async fn latest(engine: &Engine, project: &str) -> Result<ResolvedArchive> {
    let p = engine.catalog.project(project).await?;
    let present: Vec<BackupRecord> = engine
        .catalog
        .backups(&p.id)
        .await?
        .into_iter()
        .filter(|b| Path::new(&b.path).is_file() && !is_tenant_archive(b))
        .collect();
    let corrupt = BackupStatus::Corrupt;
    let chosen = present
        .iter()
        .find(|b| b.status != corrupt)
        .or_else(|| present.first())
        .ok_or_else(|| {
            Error::not_found(format!(
                "project {:?} has no backup whose file is on this computer",
                p.name
            ))
            .with_hint(format!(
                "make one with `offsite backup {}`, or see what the catalog lists with `offsite \
                 backups {}`",
                p.name, p.name
            ))
        })?;
    Ok(ResolvedArchive {
        path: PathBuf::from(&chosen.path),
        backup_id: Some(chosen.id.clone()),
        project: Some(p.name),
        by: ResolvedBy::Latest,
    })
}

/// `PROJECT:latest~N`: among the project's backups whose file is here and that are not known to
/// be corrupt or missing, newest first, the one at index N.
async fn before_latest(engine: &Engine, project: &str, n: &str) -> Result<ResolvedArchive> {
    let n: usize = n.parse().map_err(|_| {
        Error::invalid(format!(
            "{project}{BEFORE_LATEST}{n}: {n:?} is not a count of backups"
        ))
        .with_hint(
            "write PROJECT:latest~N with N a whole number: latest~1 is the one before the newest",
        )
    })?;
    let p = engine.catalog.project(project).await?;
    let good: Vec<BackupRecord> = engine
        .catalog
        .backups(&p.id)
        .await?
        .into_iter()
        .filter(|b| !matches!(b.status, BackupStatus::Corrupt | BackupStatus::Missing))
        .filter(|b| Path::new(&b.path).is_file() && !is_tenant_archive(b))
        .collect();
    let count = good.len();
    let chosen = good.into_iter().nth(n).ok_or_else(|| {
        Error::not_found(format!(
            "project {:?} has {count} good backup{} on this computer: latest~{n} goes past its \
             history (latest~{} is the oldest)",
            p.name,
            if count == 1 { "" } else { "s" },
            count.saturating_sub(1)
        ))
        .with_hint(format!("`offsite backups {}` lists them", p.name))
    })?;
    Ok(ResolvedArchive {
        path: PathBuf::from(&chosen.path),
        backup_id: Some(chosen.id.clone()),
        project: Some(p.name),
        by: ResolvedBy::Latest,
    })
}

/// The backup a backup id names (the catalog's or the archive's own), or a unique start of one
/// (at least [`MIN_ID_PREFIX`] characters), whether or not its file is here.
pub(crate) async fn record_by_id(engine: &Engine, id: &str) -> Result<BackupRecord> {
    let not_found = || {
        Error::not_found(format!(
            "no such archive or backup: {id:?} is neither a file nor a backup id"
        ))
        .with_hint(how_to_see_ids())
    };
    let looks_like_id = id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !looks_like_id || id.len() < MIN_ID_PREFIX {
        return Err(not_found());
    }
    let mut found = engine.catalog.backups_by_id(id).await?;
    found.dedup_by(|a, b| a.id == b.id);
    match found.len() {
        0 => Err(not_found()),
        1 => Ok(found.remove(0)),
        n => {
            let shown: Vec<String> = found
                .iter()
                .take(10)
                .map(|b| format!("{} ({})", b.id, b.created_at))
                .collect();
            let count = if n > 10 {
                "more than 10".to_string()
            } else {
                n.to_string()
            };
            Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{id:?} starts the ids of {count} backups: {}",
                    shown.join(", ")
                ),
            )
            .with_hint("give more of the id, or the whole id"))
        }
    }
}

/// A backup id (either one), or a unique start of one: its archive, which must be here.
async fn by_id(engine: &Engine, id: &str) -> Result<ResolvedArchive> {
    let record = record_by_id(engine, id).await?;
    let project = project_name(engine, &record).await;
    if !Path::new(&record.path).is_file() {
        let copied = engine.catalog.copies(&record.id).await?.iter().any(|c| {
            c.destination != crate::catalog::LOCAL_DESTINATION
                && c.state == crate::catalog::CopyState::Stored
        });
        let hint = match (&project, copied) {
            // A copy at a destination: fetch it back (the wizard offers the same).
            (Some(p), true) => format!(
                "a destination holds a copy: fetch it back with `offsite fetch-copy {p} {}`",
                record.id
            ),
            _ => "put the file back, or use another backup (`offsite backups PROJECT` lists them)"
                .to_string(),
        };
        return Err(Error::not_found(format!(
            "backup {} is in the catalog, but its file is gone: {}",
            record.id, record.path
        ))
        .with_hint(hint));
    }
    Ok(ResolvedArchive {
        path: PathBuf::from(&record.path),
        backup_id: Some(record.id),
        project,
        by: ResolvedBy::Id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(given: &str) -> String {
        let e = parse_at_ref(given)
            .unwrap_or_else(|| panic!("{given:?} not taken as PROJECT@TIME"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{given:?}: {e}");
        assert!(e.message().contains("is not PROJECT@TIME"), "{e}");
        e.message().to_string()
    }

    #[test]
    fn a_reference_made_from_a_project_and_a_time_reads_back() {
        let r = parse_at_ref(&at_ref_text("shop", " 2026-11-26T06:00:00Z "))
            .unwrap()
            .unwrap();
        assert_eq!(r.project, "shop");
        assert_eq!(
            r.at,
            crate::pitr::parse_time("2026-11-26T06:00:00Z").unwrap()
        );
        // A time with an @ of its own is refused, not read as another project.
        refused(&at_ref_text("shop", "2026@11"));
    }

    #[test]
    fn project_at_time_is_parsed_as_restore_at_takes_the_time() {
        let r = parse_at_ref("shop@2026-11-26T06:00:00Z").unwrap().unwrap();
        assert_eq!(r.project, "shop");
        assert_eq!(
            r.at,
            crate::pitr::parse_time("2026-11-26T06:00:00Z").unwrap()
        );
        let r = parse_at_ref(" my.shop-2@2026-11-26T07:00:00.123456+01:00 ")
            .unwrap()
            .unwrap();
        assert_eq!(r.project, "my.shop-2");
        assert_eq!(
            crate::pitr::micros_text(r.at),
            "2026-11-26T06:00:00.123456Z"
        );
    }

    #[test]
    fn what_is_not_project_at_time_is_left_to_the_other_forms() {
        for given in ["shop:latest", "shop:latest~1", "shop:live", "0b7c9e4e", ""] {
            assert!(parse_at_ref(given).is_none(), "{given:?}");
        }
        // A URL with a user, and a file that exists: never a reference.
        assert!(parse_at_ref("postgres://u@host/db").is_none());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop@2026-11-26T06:00:00Z");
        std::fs::write(&file, b"x").unwrap();
        assert!(parse_at_ref(file.to_str().unwrap()).is_none());
    }

    #[test]
    fn hostile_references_are_refused_naming_them() {
        let m = refused("shop@2026-11-26T06:00:00Z@x");
        assert!(
            m.contains("more than one @") && m.contains("shop@2026"),
            "{m}"
        );
        let m = refused("shop@yesterday");
        assert!(
            m.contains("\"shop@yesterday\"") && m.contains("not a time"),
            "{m}"
        );
        let m = refused("shop@2026-11-26T06:00:00Z'; DROP TABLE x; --");
        assert!(m.contains("not a time"), "{m}");
        for project in ["sh op", "sh;op", "../shop", "-shop", "", "shöp"] {
            let m = refused(&format!("{project}@2026-11-26T06:00:00Z"));
            assert!(m.contains("invalid project name"), "{project:?}: {m}");
        }
        // Long input is shortened in the message.
        let long = format!("{}@2026-11-26T06:00:00Z", "a".repeat(500));
        assert!(refused(&long).chars().count() < 400);
    }
}
