//! A project's components beside its database: storage (S3-compatible buckets), its Supabase
//! project, the default backup type, and "Test storage". Secrets (the S3 secret key, the
//! Supabase access token) go in and never come out: `null` keeps the stored one.

use super::{err, CmdResult};
use crate::Shell;
use offsite_core::archive::BackupType;
use offsite_core::catalog::Components;
use offsite_core::ops::{StorageSettings, StorageTestReport, SupabaseSettings};
use tauri::State;

/// The project's storage, Supabase ref and default backup type (never a secret).
#[tauri::command]
#[specta::specta]
pub async fn get_components(shell: State<'_, Shell>, project: String) -> CmdResult<Components> {
    shell.engine()?.components(&project).await.map_err(err)
}

/// Set (or with `null` remove, with its secret) the project's storage.
#[tauri::command]
#[specta::specta]
pub async fn set_storage(
    shell: State<'_, Shell>,
    project: String,
    settings: Option<StorageSettings>,
) -> CmdResult<Components> {
    let engine = shell.engine()?;
    engine.set_storage(&project, settings).await.map_err(err)
}

/// Set (or with `null` remove, with its token) the project's Supabase ref and access token.
#[tauri::command]
#[specta::specta]
pub async fn set_supabase(
    shell: State<'_, Shell>,
    project: String,
    settings: Option<SupabaseSettings>,
) -> CmdResult<Components> {
    let engine = shell.engine()?;
    engine.set_supabase(&project, settings).await.map_err(err)
}

/// The type of backup "Back up now" and the schedule make by default; refused when the project
/// lacks what the type needs.
#[tauri::command]
#[specta::specta]
pub async fn set_default_backup_type(
    shell: State<'_, Shell>,
    project: String,
    backup_type: BackupType,
) -> CmdResult<Components> {
    let engine = shell.engine()?;
    engine
        .set_default_backup_type(&project, backup_type.as_str())
        .await
        .map_err(err)
}

/// When each of the project's sources (database, storage, Supabase, backup server, artifact
/// bucket) was last tested and how it went; a source never tested is absent.
#[tauri::command]
#[specta::specta]
pub async fn list_source_tests(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<Vec<offsite_core::catalog::SourceTest>> {
    shell.engine()?.source_tests(&project).await.map_err(err)
}

/// Every part of the project (the engine's one table, `offsite project parts NAME`): whether it
/// applies to this project, whether Offsite backs it up and restores it, and how it is checked.
#[tauri::command]
#[specta::specta]
pub async fn project_parts(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<offsite_core::ops::parts::ProjectParts> {
    let engine = shell.engine()?;
    offsite_core::ops::parts::parts(engine, &project)
        .await
        .map_err(err)
}

/// "Test storage": the buckets the keys see, with object counts, sizes and whether an object
/// can be read.
#[tauri::command]
#[specta::specta]
pub async fn test_storage(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<StorageTestReport> {
    shell.engine()?.test_storage(&project).await.map_err(err)
}
