//! Backups on disk: the list, an archive's manifest, what a dropped file is, delete, show in the
//! file manager.

use super::{err, CmdResult};
use crate::Shell;
use offsite_core::archive::manifest::Manifest;
use offsite_core::catalog::BackupRow;
use offsite_core::import::ImportPreview;
use offsite_core::ops::delete_backup::{DeleteBackupOptions, DeleteBackupOutcome};
use offsite_core::{DeleteOptions, Error, ErrorKind};
use std::path::PathBuf;
use tauri::State;

/// A project's local backups, newest first, as the list shows them (no checksums or manifests:
/// 10,000 rows must arrive quickly; `inspect_archive` reads one archive's manifest).
#[tauri::command]
#[specta::specta]
pub async fn list_backups(shell: State<'_, Shell>, project: String) -> CmdResult<Vec<BackupRow>> {
    shell.engine()?.backup_rows(&project).await.map_err(err)
}

/// A project's safety backups (taken before a restore replaced its database), newest first.
/// Files only: they are not catalog backups, so nothing restores or deletes them by id.
#[tauri::command]
#[specta::specta]
pub async fn list_safety_backups(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<Vec<offsite_core::ops::safety::SafetyBackup>> {
    shell.engine()?.safety_backups(&project).await.map_err(err)
}

/// An archive's manifest (project, time, versions, members, tables), read without verifying.
#[tauri::command]
#[specta::specta]
pub async fn inspect_archive(path: String) -> CmdResult<Manifest> {
    tauri::async_runtime::spawn_blocking(move || {
        offsite_core::archive::reader::read_manifest(&PathBuf::from(path))
    })
    .await
    .map_err(|e| err(Error::internal(format!("reading the manifest failed: {e}"))))?
    .map_err(err)
}

/// What a dropped or opened file is: an Offsite archive, a plain `pg_dump -Fc` file or a project
/// export (`.tar.gz` or folder with `database.dump`), with what it holds. Reads only; anything
/// else is the error `unsupported_format` ("not a backup Offsite can read").
#[tauri::command]
#[specta::specta]
pub async fn inspect_import(shell: State<'_, Shell>, path: String) -> CmdResult<ImportPreview> {
    let engine = shell.engine()?;
    engine
        .inspect_import(&PathBuf::from(path))
        .await
        .map_err(err)
}

/// Delete a backup, the same engine path as `offsite delete` (`delete_file`) or `offsite forget`
/// (not `delete_file`: only the list entry goes, the file stays).
///
/// Deleting: its archive and `.sha256` here and, when `everywhere`, its copies at every
/// destination. The engine refuses (code `conflict`, nothing deleted) to delete the only good
/// copy of the project's newest good backup or a file that no longer holds this backup. With
/// `everywhere`, a copy still locked at its destination (S3 Object Lock) is kept and named with
/// its date (`copies_locked`); the others go. Without `everywhere`, copies at destinations stay
/// (`copies_kept`).
#[tauri::command]
#[specta::specta]
pub async fn delete_backup(
    shell: State<'_, Shell>,
    backup_id: String,
    delete_file: bool,
    everywhere: bool,
) -> CmdResult<DeleteBackupOutcome> {
    let engine = shell.engine()?;
    if delete_file {
        return engine
            .delete_backup_everywhere(DeleteBackupOptions {
                backup_id,
                everywhere,
                force: false,
            })
            .await
            .map_err(err);
    }
    let done = engine
        .delete_backup(DeleteOptions {
            backup_id: backup_id.clone(),
            delete_file: false,
        })
        .await
        .map_err(err)?;
    Ok(DeleteBackupOutcome {
        backup_id,
        path: done.path,
        file_deleted: done.file_deleted,
        copies_deleted: Vec::new(),
        copies_kept: Vec::new(),
        copies_locked: Vec::new(),
        removed_from_catalog: true,
    })
}

/// Show a backup file the window names by its path (a safety backup in a restore's report, a
/// backup's archive) in the system's file manager. Only Offsite's own backup files: the engine
/// refuses any other path (`Engine::revealable_file`), so the UI cannot open arbitrary files.
#[tauri::command]
#[specta::specta]
pub async fn reveal_file(shell: State<'_, Shell>, path: String) -> CmdResult<()> {
    let file = shell.engine()?.revealable_file(&path).await.map_err(err)?;
    reveal(&file)
}

/// Show a backup's archive in the system's file manager (selected where the platform can).
/// Takes the backup's id, not a path: the UI cannot open arbitrary paths.
#[tauri::command]
#[specta::specta]
pub async fn show_in_folder(shell: State<'_, Shell>, backup_id: String) -> CmdResult<()> {
    let backup = shell
        .engine()?
        .backup_record(&backup_id)
        .await
        .map_err(err)?;
    let path = PathBuf::from(&backup.path);
    if !path.exists() {
        return Err(err(Error::new(
            ErrorKind::NotFound,
            format!("{} is not there any more", backup.path),
        )
        .with_hint(
            "verify the backup to mark it missing, or delete it from the list",
        )));
    }
    reveal(&path)
}

/// Show `file` in the system's file manager (selected where the platform can).
fn reveal(file: &std::path::Path) -> CmdResult<()> {
    tauri_plugin_opener::reveal_item_in_dir(file).map_err(|e| {
        err(Error::new(
            ErrorKind::ToolFailed,
            format!("could not open the file manager: {e}"),
        )
        .with_hint(format!("the file is {}", file.display())))
    })
}

/// Pin (`true`: kept by every retention, reason "pinned") or unpin a backup; returns its marks.
#[tauri::command]
#[specta::specta]
pub async fn pin_backup(
    shell: State<'_, Shell>,
    backup_id: String,
    pinned: bool,
) -> CmdResult<offsite_core::catalog::BackupMarks> {
    shell
        .engine()?
        .pin_backup(&backup_id, pinned)
        .await
        .map_err(err)
}

/// A project's backup statistics (the Backups tab's header): count, size, per type, oldest and
/// newest, growth per week; per destination the copies and bytes stored.
#[tauri::command]
#[specta::specta]
pub async fn backup_stats(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<offsite_core::ops::stats::BackupStats> {
    shell.engine()?.backup_stats(&project).await.map_err(err)
}

/// A project's canary thresholds (the defaults when it set none).
#[tauri::command]
#[specta::specta]
pub async fn canary_thresholds(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<offsite_core::backup::canary::CanaryThresholds> {
    shell
        .engine()?
        .canary_thresholds(&project)
        .await
        .map_err(err)
}

/// Save a project's canary thresholds (`null`: back to the defaults); returns what applies.
#[tauri::command]
#[specta::specta]
pub async fn set_canary_thresholds(
    shell: State<'_, Shell>,
    project: String,
    thresholds: Option<offsite_core::backup::canary::CanaryThresholds>,
) -> CmdResult<offsite_core::backup::canary::CanaryThresholds> {
    shell
        .engine()?
        .set_canary_thresholds(&project, thresholds)
        .await
        .map_err(err)
}

/// A project's recovery targets (RPO and RTO, seconds; `null`: none set).
#[tauri::command]
#[specta::specta]
pub async fn recovery_targets(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<offsite_core::schedule::Targets> {
    shell.engine()?.targets(&project).await.map_err(err)
}

/// Save a project's recovery targets (a `null` clears that one); returns what applies.
#[tauri::command]
#[specta::specta]
pub async fn set_recovery_targets(
    shell: State<'_, Shell>,
    project: String,
    targets: offsite_core::schedule::Targets,
) -> CmdResult<offsite_core::schedule::Targets> {
    shell
        .engine()?
        .set_targets(&project, targets)
        .await
        .map_err(err)
}

/// What the project's database backups hold (empty lists: the whole database).
#[tauri::command]
#[specta::specta]
pub async fn backup_selection(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<offsite_core::selection::BackupSelection> {
    shell.engine()?.selection(&project).await.map_err(err)
}

/// Save what the project's database backups hold (names checked by the engine); returns it as
/// stored.
#[tauri::command]
#[specta::specta]
pub async fn set_backup_selection(
    shell: State<'_, Shell>,
    project: String,
    selection: offsite_core::selection::BackupSelection,
) -> CmdResult<offsite_core::selection::BackupSelection> {
    shell
        .engine()?
        .set_selection(&project, selection)
        .await
        .map_err(err)
}

/// A recovery card written for the app: where the page is, and whether the browser opened it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct SavedRecoveryCard {
    /// `recovery-cards/PROJECT-recovery-card.html` in Offsite's data folder (0600).
    pub path: String,
    /// The default browser was asked to show it (to print); false: open the file yourself.
    pub opened: bool,
}

/// Write a project's printable recovery card with the contacts given (one line each; the engine
/// checks them, nothing is stored) and open it in the default browser to print.
#[tauri::command]
#[specta::specta]
pub async fn save_recovery_card(
    shell: State<'_, Shell>,
    project: String,
    contacts: Vec<String>,
) -> CmdResult<SavedRecoveryCard> {
    let (_, path) = shell
        .engine()?
        .write_recovery_card(&project, &contacts, None)
        .await
        .map_err(err)?;
    let opened = match tauri_plugin_opener::open_path(&path, None::<&str>) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("could not open the recovery card in a browser: {e}");
            false
        }
    };
    Ok(SavedRecoveryCard {
        path: path.display().to_string(),
        opened,
    })
}
