//! `offsite tenant add|show|list|remove`: a project's tenant roots, checked against its
//! database (see [`crate::recover::check_root`]) and kept in the catalog. The engine's entry
//! points; the walk itself is `recover`'s.

use crate::catalog::TenantRecord;
use crate::engine::Engine;
use crate::error::Result;
use crate::ops::restore_parts::database_target;
use crate::recover::{self, TenantRoot, TenantShape};
use crate::restore::DatabaseTo;
use serde::Serialize;

/// A tenant with the tables it reaches in the project's database now.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantDetail {
    pub tenant: TenantRecord,
    pub shape: TenantShape,
}

fn root_of(t: &TenantRecord) -> TenantRoot {
    TenantRoot {
        schema: t.schema.clone(),
        table: t.table.clone(),
        key: t.key.clone(),
    }
}

impl Engine {
    pub(crate) async fn project_connection(&self, project: &str) -> Result<sqlx::PgConnection> {
        let target = database_target(self, &DatabaseTo::Project(project.to_string())).await?;
        target.spec.connect(target.password.as_deref()).await
    }

    /// Names a tenant root of project `project`: `table` (`SCHEMA.TABLE`, quoted parts kept)
    /// and its key column, checked against the project's database (the table and column
    /// exist, the column is a key, the tables reached can be written in some order) before
    /// anything is saved.
    pub async fn tenant_add(
        &self,
        project: &str,
        name: &str,
        table: &str,
        key: &str,
    ) -> Result<TenantDetail> {
        crate::catalog::validate_tenant_name(name)?;
        let p = self.catalog.project(project).await?;
        let mut conn = self.project_connection(project).await?;
        let root = recover::check_root(&mut conn, table, key).await?;
        let shape = recover::shape(&mut conn, &root).await?;
        let tenant = self
            .catalog
            .add_tenant(&p.id, name, &root.schema, &root.table, &root.key)
            .await?;
        Ok(TenantDetail { tenant, shape })
    }

    /// A project's tenants.
    pub async fn tenants(&self, project: &str) -> Result<Vec<TenantRecord>> {
        let p = self.catalog.project(project).await?;
        self.catalog.tenants(&p.id).await
    }

    /// A tenant and the tables it reaches in the project's database now.
    pub async fn tenant_show(&self, project: &str, name: &str) -> Result<TenantDetail> {
        let p = self.catalog.project(project).await?;
        let tenant = self.catalog.tenant(&p.id, name).await?;
        let mut conn = self.project_connection(project).await?;
        let shape = recover::shape(&mut conn, &root_of(&tenant)).await?;
        Ok(TenantDetail { tenant, shape })
    }

    /// Forgets a tenant (its backups stay).
    pub async fn tenant_remove(&self, project: &str, name: &str) -> Result<()> {
        let p = self.catalog.project(project).await?;
        self.catalog.remove_tenant(&p.id, name).await
    }
}
