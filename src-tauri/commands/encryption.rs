//! A project's encryption: off, a passphrase or a generated key, plus extra recipients. Setting it
//! up returns the recovery item ONCE (the passphrase or the `AGE-SECRET-KEY-1…` line, for the
//! user to keep); the user enters it back (`confirm_recovery`, a decryption test) before the first
//! encrypted backup. `save_recovery_file` writes it to a file the user picks in a native dialog
//! (the item is read from the keychain there, not sent back by the page).

use super::{err, CmdResult, PICK_ANSWER_ENV};
use crate::Shell;
use offsite_core::ops::encryption::{
    DefaultEncryption, EncryptionMode, EncryptionSettings, EncryptionSetup, SetEncryption,
};
use offsite_core::Error;
use std::path::PathBuf;
use tauri::{AppHandle, Manager, Runtime, State};

/// The project's encryption (never a secret).
#[tauri::command]
#[specta::specta]
pub async fn get_encryption(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<EncryptionSettings> {
    shell.engine()?.encryption(&project).await.map_err(err)
}

/// Every key Offsite keeps (`offsite key list`): the projects' whose key encrypts backups, and
/// the orphaned keys of removed projects. Never a secret.
#[tauri::command]
#[specta::specta]
pub async fn list_keys(shell: State<'_, Shell>) -> CmdResult<Vec<offsite_core::ops::KeyListing>> {
    shell.engine()?.keys().await.map_err(err)
}

/// Set the project's encryption; the answer carries the recovery item this once.
#[tauri::command]
#[specta::specta]
pub async fn set_encryption(
    shell: State<'_, Shell>,
    project: String,
    request: SetEncryption,
) -> CmdResult<EncryptionSetup> {
    let engine = shell.engine()?;
    engine.set_encryption(&project, request).await.map_err(err)
}

/// The user entered the recovery item back: checked by decrypting (`wrong_key` when it does not
/// open); then encryption is active.
#[tauri::command]
#[specta::specta]
pub async fn confirm_recovery(
    shell: State<'_, Shell>,
    project: String,
    item: String,
) -> CmdResult<EncryptionSettings> {
    let engine = shell.engine()?;
    engine.confirm_recovery(&project, &item).await.map_err(err)
}

/// The encryption mode new projects start with (`off` until set), and whether the user chose
/// it: the first-run welcome asks until then.
#[tauri::command]
#[specta::specta]
pub async fn get_default_encryption(shell: State<'_, Shell>) -> CmdResult<DefaultEncryption> {
    shell
        .engine()?
        .default_encryption_choice()
        .await
        .map_err(err)
}

/// Set the encryption mode new projects start with (each sets up its own key or passphrase).
#[tauri::command]
#[specta::specta]
pub async fn set_default_encryption(
    shell: State<'_, Shell>,
    mode: EncryptionMode,
) -> CmdResult<EncryptionMode> {
    let engine = shell.engine()?;
    engine.set_default_encryption(mode).await.map_err(err)?;
    engine.default_encryption().await.map_err(err)
}

/// Save the project's recovery item to a file chosen in the native save dialog (readable only
/// by the user); `false` when the dialog was cancelled.
#[tauri::command]
#[specta::specta]
pub async fn save_recovery_file<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<bool> {
    let engine = shell.engine()?;
    let path = match std::env::var_os(PICK_ANSWER_ENV) {
        Some(answer) => Some(PathBuf::from(answer)),
        None => {
            let Some(dialog) = app.try_state::<tauri_plugin_dialog::Dialog<R>>() else {
                return Err(err(Error::internal("the file dialog is not available")));
            };
            let builder = dialog
                .file()
                .set_title("Save the recovery key")
                .set_file_name(format!("{project}-offsite-recovery.txt"));
            let picked = tauri::async_runtime::spawn_blocking(move || builder.blocking_save_file())
                .await
                .map_err(|e| err(Error::internal(format!("the file dialog failed: {e}"))))?;
            match picked {
                None => None,
                Some(p) => Some(
                    p.into_path()
                        .map_err(|e| err(Error::invalid(format!("not a local file: {e}"))))?,
                ),
            }
        }
    };
    let Some(path) = path else { return Ok(false) };
    engine
        .save_recovery_item(&project, &path)
        .await
        .map_err(err)?;
    Ok(true)
}
