//! Tenants on the project page: the tenant roots a project names (`offsite tenant add`) and the
//! tables reached from one through foreign keys, walked in the project's database now.

use super::{err, CmdResult};
use crate::jobs::{spawn_job, JobRegistry, JobSubject};
use crate::Shell;
use offsite_core::catalog::{JobKind, TenantRecord};
use offsite_core::ops::tenants::TenantDetail;
use tauri::{AppHandle, Runtime, State};

/// A project's tenants (name, root table, key column).
#[tauri::command]
#[specta::specta]
pub async fn list_tenants(
    shell: State<'_, Shell>,
    project: String,
) -> CmdResult<Vec<TenantRecord>> {
    let engine = shell.engine()?;
    engine.tenants(&project).await.map_err(err)
}

/// One tenant and the tables it reaches (with the foreign keys that lead there), the tables
/// those reference, and the tables it does not reach.
#[tauri::command]
#[specta::specta]
pub async fn show_tenant(
    shell: State<'_, Shell>,
    project: String,
    name: String,
) -> CmdResult<TenantDetail> {
    let engine = shell.engine()?.clone();
    engine.tenant_show(&project, &name).await.map_err(err)
}

/// Names a tenant root (`offsite tenant add`): checked in the project's database (the table
/// exists, the key is its primary or a unique key), then kept; returns it with the tables it
/// reaches.
#[tauri::command]
#[specta::specta]
pub async fn add_tenant(
    shell: State<'_, Shell>,
    project: String,
    name: String,
    table: String,
    key: String,
) -> CmdResult<TenantDetail> {
    let engine = shell.engine()?.clone();
    engine
        .tenant_add(&project, &name, &table, &key)
        .await
        .map_err(err)
}

/// Forgets a tenant root (its archives stay where they are).
#[tauri::command]
#[specta::specta]
pub async fn remove_tenant(
    shell: State<'_, Shell>,
    project: String,
    name: String,
) -> CmdResult<()> {
    let engine = shell.engine()?;
    engine.tenant_remove(&project, &name).await.map_err(err)
}

/// Starts the per-tenant backups of tenant `name` (`offsite backup PROJECT --tenant NAME`): one
/// archive per value of its root key, split from the project's newest good backup; returns the
/// job id at once (`job-finished` carries `result.kind == "tenant_backup"`).
#[tauri::command]
#[specta::specta]
pub fn start_tenant_backup<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    jobs: State<'_, JobRegistry>,
    project: String,
    name: String,
) -> CmdResult<String> {
    let engine = shell.engine()?.clone();
    let subject = JobSubject {
        project: Some(project.clone()),
        label: format!("{project} · tenant {name}"),
    };
    Ok(spawn_job(
        app,
        &jobs,
        JobKind::Backup,
        subject,
        move |start| async move { engine.tenant_backup(&project, &name, None, start).await },
    ))
}
