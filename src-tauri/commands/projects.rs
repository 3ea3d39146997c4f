//! Projects: list, show, add, change, remove, test the connection.

use super::{err, CmdResult};
use crate::Shell;
use offsite_core::ops::supabase_project::SupabaseProject;
use offsite_core::ops::{ConnectionReport, NewComponents, ProjectSummary};
use offsite_core::postgres::conn::TlsMode;
use offsite_core::{AddProject, Error, ProjectConnection, UpdateProject};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_projects(shell: State<'_, Shell>) -> CmdResult<Vec<ProjectSummary>> {
    shell.engine()?.project_summaries().await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn get_project(shell: State<'_, Shell>, name: String) -> CmdResult<ProjectSummary> {
    let engine = shell.engine()?;
    let project = engine.project(&name).await.map_err(err)?;
    engine.project_summary(project).await.map_err(err)
}

/// Adds the project with its parts (storage, Supabase, …), all or nothing: when any part or
/// secret is refused, nothing is registered and no secret is kept.
#[tauri::command]
#[specta::specta]
pub async fn add_project(
    shell: State<'_, Shell>,
    request: AddProject,
    components: Option<NewComponents>,
) -> CmdResult<ProjectSummary> {
    let engine = shell.engine()?;
    let (project, _) = engine
        .add_project_with_components(request, components.unwrap_or_default())
        .await
        .map_err(err)?;
    engine.project_summary(project).await.map_err(err)
}

#[tauri::command]
#[specta::specta]
pub async fn update_project(
    shell: State<'_, Shell>,
    name: String,
    changes: UpdateProject,
) -> CmdResult<ProjectSummary> {
    let engine = shell.engine()?;
    let project = engine.update_project(&name, changes).await.map_err(err)?;
    engine.project_summary(project).await.map_err(err)
}

/// Removes the project, its catalog rows and its stored password. Backup files stay on disk.
/// The engine decides: a project whose key encrypts backups needs `typed_name` (its name, as
/// typed in the dialog), and its key stays in the keychain (orphaned) unless `delete_key`.
#[tauri::command]
#[specta::specta]
pub async fn remove_project(
    shell: State<'_, Shell>,
    name: String,
    typed_name: Option<String>,
    delete_key: bool,
) -> CmdResult<()> {
    let opts = offsite_core::ops::RemoveProject {
        typed_name,
        delete_key,
        // The window refuses while a capture's slot cannot be dropped (the error says why).
        leave_slot: false,
    };
    shell
        .engine()?
        .remove_project_with(&name, opts)
        .await
        .map(|_| ())
        .map_err(err)
}

/// Test a saved project's connection (`name`), or an unsaved one (`connection`, with `tls` and
/// `password`) as typed into the add-project form.
#[tauri::command]
#[specta::specta]
pub async fn test_connection(
    shell: State<'_, Shell>,
    name: Option<String>,
    connection: Option<ProjectConnection>,
    tls: Option<TlsMode>,
    password: Option<String>,
) -> CmdResult<ConnectionReport> {
    let engine = shell.engine()?;
    match (name, connection) {
        (Some(name), None) => engine.test_project(&name).await.map_err(err),
        (None, Some(c)) => engine.test_connection(&c, tls, password).await.map_err(err),
        _ => Err(err(Error::invalid(
            "give either a project name or a connection",
        ))),
    }
}

/// The Supabase project a pasted URL, ref or connection string names, and what the quick add
/// fills in for it (the engine's one reading of it; an `invalid_input` error otherwise).
#[tauri::command]
#[specta::specta]
pub async fn supabase_project(input: String) -> CmdResult<SupabaseProject> {
    offsite_core::ops::supabase_project::parse(&input).map_err(err)
}
