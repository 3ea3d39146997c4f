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
        self.tenant_add_with(project, name, table, key, &[]).await
    }

    /// [`Engine::tenant_add`] with the foreign keys the tenant's members can set
    /// (`--member-writes SCHEMA.TABLE(COLUMN)`, each checked: a foreign key of a table the
    /// tenant reaches): no row is taken into its archives through them (docs/tenants.md).
    pub async fn tenant_add_with(
        &self,
        project: &str,
        name: &str,
        table: &str,
        key: &str,
        member_writes: &[String],
    ) -> Result<TenantDetail> {
        crate::catalog::validate_tenant_name(name)?;
        let p = self.catalog.project(project).await?;
        let mut conn = self.project_connection(project).await?;
        let root = recover::check_root(&mut conn, table, key).await?;
        let shape = recover::shape(&mut conn, &root).await?;
        let writes = recover::check_member_writes(&mut conn, &root, member_writes).await?;
        let tenant = self
            .catalog
            .add_tenant(&p.id, name, (&root.schema, &root.table, &root.key), &writes)
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

/// One tenant's archives, as the status says them (docs/tenants.md, Retention).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantArchives {
    /// The tenant's name and its root key's value (`orgs`, `3`).
    pub tenant: String,
    pub value: String,
    /// Its archives in the catalog, and the newest's id and time.
    pub archives: u32,
    pub newest_id: String,
    pub newest_at: String,
    /// How many its own retention keeps.
    pub keep_last: u32,
    /// When set: the newest run over every tenant of `tenant` (at that time) made no archive of
    /// this one — it was no longer in the database; its archives stay until removed by hand.
    pub not_in_run_of: Option<String>,
}

impl Engine {
    /// Project `project`'s per-tenant archives, per tenant: how many, the newest, the count kept,
    /// and whether the newest run over all tenants left this one out (gone from the database).
    pub async fn tenant_archives(&self, project: &str) -> Result<Vec<TenantArchives>> {
        let p = self.catalog.project(project).await?;
        let counts = crate::ops::prune::tenants::keep_counts(self, &p).await?;
        let mut groups: std::collections::BTreeMap<(String, String), Vec<(String, String)>> =
            Default::default();
        // Per tenant name: the newest whole run (its job, its time) and the values it made.
        let mut runs: std::collections::HashMap<String, (String, String)> = Default::default();
        let mut marked = Vec::new();
        for b in self.catalog.backups(&p.id).await? {
            let Some(t) = b.tenant() else { continue };
            if t.whole_run {
                if let Some(job) = &b.job_id {
                    let e = runs
                        .entry(t.name.clone())
                        .or_insert((job.clone(), b.created_at.clone()));
                    if b.created_at > e.1 {
                        *e = (job.clone(), b.created_at.clone());
                    }
                }
            }
            marked.push((t.name.clone(), t.value.clone(), b.job_id.clone()));
            groups
                .entry((t.name, t.value))
                .or_default()
                .push((b.created_at, b.id));
        }
        let mut out = Vec::new();
        for ((tenant, value), mut list) in groups {
            list.sort();
            let (newest_at, newest_id) = list.last().cloned().unwrap_or_default();
            let in_run = |job: &str| {
                marked
                    .iter()
                    .any(|(n, v, j)| *n == tenant && *v == value && j.as_deref() == Some(job))
            };
            let not_in_run_of = runs
                .get(&tenant)
                .filter(|(job, at)| *at > newest_at && !in_run(job))
                .map(|(_, at)| at.clone());
            out.push(TenantArchives {
                keep_last: counts
                    .get(&tenant)
                    .copied()
                    .unwrap_or(crate::ops::prune::TENANT_KEEP_LAST),
                archives: list.len() as u32,
                tenant,
                value,
                newest_id,
                newest_at,
                not_in_run_of,
            });
        }
        Ok(out)
    }
}
