//! Which file "Show in folder" may reveal when the window names it by its path: only Offsite's
//! own backup files — an archive the catalog knows, or a safety backup a replacing restore wrote
//! into the data folder's `safety-backups`. The path comes from the window (a report it shows),
//! so it is checked here, not trusted: a path the catalog does not know, a folder, a link out of
//! the safety folder, or anything that is not a file is refused.

use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

/// The longest path the window may send (bytes).
const MAX_PATH: usize = 4096;

/// The folder safety backups are written to, inside the data folder.
pub(crate) const SAFETY_DIR: &str = "safety-backups";

/// The file at `path`, canonical, when it is a backup file Offsite made or knows (see the
/// module); `not_found` when it is gone, `invalid_input` when it is not one of Offsite's.
pub(crate) async fn revealable(engine: &Engine, path: &str) -> Result<PathBuf> {
    if path.is_empty() || path.len() > MAX_PATH || path.contains('\0') {
        return Err(Error::invalid("not a file path Offsite shows"));
    }
    let given = Path::new(path);
    if !given.is_absolute() {
        return Err(
            Error::invalid("not a file path Offsite shows").with_hint("the path must be absolute")
        );
    }
    let canonical = std::fs::canonicalize(given).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::new(ErrorKind::NotFound, format!("{path} is not there any more"))
                .with_hint("it was moved or deleted")
        } else {
            Error::io(format!("reading {path}"), e)
        }
    })?;
    if !canonical.is_file() {
        return Err(Error::invalid(format!("{path} is not a file")));
    }
    if engine.catalog.backup_by_path(&canonical).await?.is_some() {
        return Ok(canonical);
    }
    let safety = std::fs::canonicalize(engine.data_dir().join(SAFETY_DIR)).ok();
    if safety.is_some() && canonical.parent() == safety.as_deref() {
        return Ok(canonical);
    }
    Err(
        Error::invalid(format!("{path} is not one of Offsite's backup files"))
            .with_hint("Offsite shows only the backups in its list and its safety backups"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{NewBackup, NewProject};
    use crate::secrets::MemoryStore;
    use crate::EngineConfig;
    use std::sync::Arc;

    /// A backup in the list and a safety backup are shown; a file the catalog does not know, a
    /// link out of the safety folder, a folder, a relative path and a path that is gone are not.
    #[tokio::test]
    async fn only_offsites_own_backup_files_are_revealed() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let engine = Engine::open(
            EngineConfig::new(Arc::new(MemoryStore::new())).data_dir(Some(data.clone())),
        )
        .await
        .unwrap();
        let catalog = engine.catalog();
        let p = catalog
            .add_project(&NewProject {
                name: "shop".into(),
                db_url: "postgres://app@db.example.com/shop".into(),
                tls_mode: "prefer".into(),
                backup_dir: None,
            })
            .await
            .unwrap();
        let archive = dir.path().join("shop_20261120_010000_full.tar.gz");
        std::fs::write(&archive, b"x").unwrap();
        catalog
            .add_backup(&NewBackup {
                project_id: p.id.clone(),
                path: archive.clone(),
                size: 1,
                sha256: "ab".repeat(32),
                backup_type: crate::archive::BackupType::Full,
                created_at: "2026-11-20T01:00:00Z".into(),
                manifest_json: None,
                job_id: None,
                origin: Default::default(),
            })
            .await
            .unwrap();
        let shown = |p: &Path| {
            let (e, p) = (engine.clone(), p.display().to_string());
            async move { revealable(&e, &p).await }
        };
        assert_eq!(
            shown(&archive).await.unwrap(),
            std::fs::canonicalize(&archive).unwrap()
        );
        let safety_dir = data.join(SAFETY_DIR);
        std::fs::create_dir_all(&safety_dir).unwrap();
        let safety = safety_dir.join("safety-shop_20261120_020000_database.tar.gz");
        std::fs::write(&safety, b"x").unwrap();
        assert_eq!(
            shown(&safety).await.unwrap(),
            std::fs::canonicalize(&safety).unwrap()
        );

        let stranger = dir.path().join("notes.txt");
        std::fs::write(&stranger, b"secret").unwrap();
        let kind = |r: Result<PathBuf>| r.unwrap_err().kind();
        assert_eq!(kind(shown(&stranger).await), ErrorKind::InvalidInput);
        #[cfg(unix)]
        {
            let link = safety_dir.join("link.tar.gz");
            std::os::unix::fs::symlink(&stranger, &link).unwrap();
            assert_eq!(kind(shown(&link).await), ErrorKind::InvalidInput);
        }
        assert_eq!(kind(shown(&safety_dir).await), ErrorKind::InvalidInput);
        assert_eq!(kind(shown(&data).await), ErrorKind::InvalidInput);
        assert_eq!(
            kind(shown(&safety_dir.join("gone.tar.gz")).await),
            ErrorKind::NotFound
        );
        for odd in ["", "relative/file.tar.gz", "/a\0b"] {
            assert_eq!(
                kind(revealable(&engine, odd).await),
                ErrorKind::InvalidInput,
                "{odd:?}"
            );
        }
        let long = format!("/{}", "a".repeat(MAX_PATH));
        assert_eq!(
            kind(revealable(&engine, &long).await),
            ErrorKind::InvalidInput
        );
    }
}
