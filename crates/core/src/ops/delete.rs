//! Deleting a backup: its catalog entry and, when asked, its archive and `.sha256` — the file
//! only when it still holds this very backup.

use crate::archive::{self, manifest::Manifest};
use crate::catalog::{BackupRecord, Project};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::nofollow::{Entry, Folder};
use crate::ops::runner;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Which backup to delete, and whether its file goes too.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub backup_id: String,
    /// Also delete the archive and its `.sha256` (default: keep the file).
    pub delete_file: bool,
}

/// What deleting a backup did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeleteOutcome {
    /// The archive's path.
    pub path: String,
    /// Whether the archive file (and its `.sha256`) was deleted; false when only the catalog
    /// entry was removed (asked for, or the file was already gone).
    pub file_deleted: bool,
}

/// Remove a backup from the catalog and, when `delete_file`, delete its archive and the
/// `.sha256` beside it. The file is deleted only when it is still this backup: its manifest
/// names the same backup id (the catalog holds each path once); otherwise nothing changes and
/// the error says why. Refused while a job runs on the project.
pub(crate) async fn run(engine: &Engine, opts: DeleteOptions) -> Result<DeleteOutcome> {
    let DeleteOptions {
        backup_id,
        delete_file,
    } = opts;
    let record = engine.catalog.backup(&backup_id).await?;
    let project = engine.catalog.project_by_id(&record.project_id).await?;
    let _lock = runner::lock_project(engine, &project)?;
    delete_locked(engine, &record, &project, delete_file).await
}

/// [`run`] for a caller that holds the project's lock already (a prune job): the same checks,
/// the file only when it still holds this backup, then the catalog row.
pub(crate) async fn delete_locked(
    engine: &Engine,
    record: &BackupRecord,
    project: &Project,
    delete_file: bool,
) -> Result<DeleteOutcome> {
    let path = PathBuf::from(&record.path);
    let mut file_deleted = false;
    let local = if delete_file {
        local_archive(engine, project, &path).await?
    } else {
        None
    };
    if let Some(local) = local {
        let found = file_holds(record, project, &local).await?;
        // The row goes first, with a note that the files are to go: a crash from here on leaves
        // the backup fully gone, its files deleted at the next start (`finish_pending`).
        let note = serde_json::json!({
            "path": record.path,
            "archive_backup_id": found.backup_id,
        })
        .to_string();
        engine
            .catalog
            .remove_backup_deleting(&record.id, &note)
            .await?;
        remove_files(local).await?;
        file_deleted = true;
        engine.catalog.deletion_done(&record.id).await?;
        return Ok(DeleteOutcome {
            path: record.path.clone(),
            file_deleted,
        });
    }
    engine.catalog.remove_backup(&record.id).await?;
    Ok(DeleteOutcome {
        path: record.path.clone(),
        file_deleted,
    })
}

/// Check that the file at `path` still holds `record`'s backup (its manifest names the same
/// backup id, or, for an entry without a manifest, the same project). Returns its manifest.
async fn file_holds(
    record: &BackupRecord,
    project: &Project,
    local: &LocalArchive,
) -> Result<Manifest> {
    let path = &local.folder.join(&local.name);
    let expected = record
        .manifest_json
        .as_deref()
        .and_then(|m| serde_json::from_str::<Manifest>(m).ok())
        .map(|m| m.backup_id);
    let keep = "remove the backup from the list only, keeping the file";
    let refused = |why: String| {
        Error::new(
            ErrorKind::Conflict,
            format!("{} {why}; it was not deleted", path.display()),
        )
        .with_hint(keep)
    };
    match local.folder.entry(&local.name)? {
        Entry::File(_) => {}
        // Never read nor deleted through a link.
        Entry::Link => return Err(local.folder.refuse_link(&local.name)),
        _ => return Err(refused("is not a regular file".into())),
    }
    let p = path.to_path_buf();
    let found = tokio::task::spawn_blocking(move || archive::reader::read_manifest(&p))
        .await
        .map_err(|e| Error::internal(format!("reading the archive failed: {e}")))?
        .map_err(|e| refused(format!("cannot be read as this backup ({})", e.message())))?;
    let same = match &expected {
        Some(id) => *id == found.backup_id,
        None => found.project == project.name,
    };
    if !same {
        return Err(refused(format!(
            "now holds another backup ({} of {})",
            found.backup_id, found.project
        )));
    }
    Ok(found)
}

/// The local prune of a backup that has copies at destinations: its archive and `.sha256` are
/// deleted (when the file still holds it) and its local copy forgotten; the backup stays in the
/// catalog with its other copies (marked missing here). The caller holds the project's lock.
pub(crate) async fn delete_local_copy_locked(
    engine: &Engine,
    record: &BackupRecord,
    project: &Project,
) -> Result<DeleteOutcome> {
    let path = PathBuf::from(&record.path);
    let mut file_deleted = false;
    if let Some(local) = local_archive(engine, project, &path).await? {
        file_holds(record, project, &local).await?;
        remove_files(local).await?;
        file_deleted = true;
    }
    engine.catalog.drop_local_copy(&record.id).await?;
    Ok(DeleteOutcome {
        path: record.path.clone(),
        file_deleted,
    })
}

/// A local archive: the folder holding it, opened without following a link below the backup
/// folder it is in (the operator's choice, which may itself be a link), and its file name.
struct LocalArchive {
    folder: Folder,
    name: String,
}

/// The backup folder a project's archives are written below: its own folder, else the default
/// one (`<default>/<project>`), else the data folder's `backups/<project>`.
fn backup_root(engine: &Engine, project: &Project) -> PathBuf {
    match (&project.backup_dir, engine.settings().default_backup_dir) {
        (Some(d), _) => PathBuf::from(d),
        (None, Some(d)) => PathBuf::from(d),
        (None, None) => engine.data_dir().join("backups"),
    }
}

/// The local archive at `path` (`None` when it, or a folder on the way, is not there). Every
/// folder between the project's backup root and the file is opened without following a link;
/// an archive elsewhere (written with `--dest`) is reached from its own folder. A link on the
/// way is an `unsafe_path` error naming it.
async fn local_archive(
    engine: &Engine,
    project: &Project,
    path: &Path,
) -> Result<Option<LocalArchive>> {
    let root = backup_root(engine, project);
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || local_archive_under(&root, &p))
        .await
        .map_err(|e| Error::internal(format!("opening a backup folder failed: {e}")))?
}

fn local_archive_under(root: &Path, path: &Path) -> Result<Option<LocalArchive>> {
    let unnamed = || {
        Error::new(
            ErrorKind::Conflict,
            format!(
                "{} has no file name Offsite can delete safely",
                path.display()
            ),
        )
        .with_hint("remove the backup from the list only, keeping the file")
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(unnamed)?
        .to_string();
    let dir = path.parent().ok_or_else(unnamed)?;
    // Below the root: each folder by name (only plain names; anything else starts at `dir`).
    let below: Option<Vec<&str>> = dir.strip_prefix(root).ok().and_then(|rel| {
        rel.components()
            .map(|c| match c {
                std::path::Component::Normal(s) => s.to_str(),
                _ => None,
            })
            .collect()
    });
    let folder = match &below {
        Some(parts) => Folder::open(root, parts, false)?,
        None => Folder::open(dir, &[], false)?,
    };
    Ok(folder.and_then(|folder| match folder.entry(&name) {
        Ok(Entry::Missing) => None,
        _ => Some(LocalArchive { folder, name }),
    }))
}

/// Delete an archive and its `.sha256`, by name in the folder that holds them (a link is
/// refused, never followed).
async fn remove_files(local: LocalArchive) -> Result<()> {
    tokio::task::spawn_blocking(move || {
        local.folder.remove_file(&local.name)?;
        let sidecar = format!("{}.sha256", local.name);
        if let Err(e) = local.folder.remove_file(&sidecar) {
            tracing::warn!(
                "could not delete {}: {e}",
                local.folder.join(&sidecar).display()
            );
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::internal(format!("deleting an archive failed: {e}")))?
}

/// Finish the deletions a crash interrupted (their rows are already gone): delete each archive
/// still there when it still holds that backup, then forget the deletion. Returns the paths
/// deleted.
pub(crate) async fn finish_pending(engine: &Engine) -> Result<Vec<PathBuf>> {
    let mut done = Vec::new();
    for (backup_id, note) in engine.catalog.pending_deletions().await? {
        let note: serde_json::Value = serde_json::from_str(&note).unwrap_or_default();
        let (Some(path), Some(archive_id)) = (
            note["path"].as_str().map(PathBuf::from),
            note["archive_backup_id"].as_str().map(str::to_string),
        ) else {
            engine.catalog.deletion_done(&backup_id).await?;
            continue;
        };
        // Only the file's own folder is known here: the archive and its `.sha256` are reached
        // from it, never through a link.
        let p = path.clone();
        let local = tokio::task::spawn_blocking(move || match p.parent() {
            Some(dir) => local_archive_under(dir, &p),
            None => Ok(None),
        })
        .await
        .map_err(|e| Error::internal(format!("opening a backup folder failed: {e}")))?;
        let local = match local {
            Ok(Some(l)) if matches!(l.folder.entry(&l.name), Ok(Entry::File(_))) => Some(l),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(
                    "an interrupted deletion left {} as it is: {e}",
                    path.display()
                );
                None
            }
        };
        if let Some(local) = local {
            let p = local.folder.join(&local.name);
            let holds = tokio::task::spawn_blocking(move || archive::reader::read_manifest(&p))
                .await
                .map_err(|e| Error::internal(format!("reading the archive failed: {e}")))?
                .map(|m| m.backup_id == archive_id)
                .unwrap_or(false);
            if holds {
                remove_files(local).await?;
                done.push(path);
            }
        }
        engine.catalog.deletion_done(&backup_id).await?;
    }
    Ok(done)
}
