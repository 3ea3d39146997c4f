//! Tenants on the project page: the tenant roots a project names (`offsite tenant add`) and the
//! tables reached from one through foreign keys, walked in the project's database now.

use super::{err, CmdResult};
use crate::Shell;
use offsite_core::catalog::TenantRecord;
use offsite_core::ops::tenants::TenantDetail;
use tauri::State;

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
