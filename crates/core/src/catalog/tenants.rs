//! The `tenants` table (migration `0019_tenants.sql`): per project, named tenant roots (a table
//! and its key column). The engine (`ops::tenants`) checks the root against the project's
//! database before a row reaches the catalog.

use super::sql::{db_error, is_foreign_key_violation, is_unique_violation};
use super::Catalog;
use crate::error::{Error, ErrorKind, Result};
use crate::recover::MemberWrite;
use serde::{Deserialize, Serialize};

/// A tenant root as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TenantRecord {
    pub name: String,
    /// The root table's schema and name, as the database spells them.
    #[sqlx(rename = "schema_name")]
    pub schema: String,
    #[sqlx(rename = "table_name")]
    pub table: String,
    /// The root's key column: one value of it is one tenant.
    #[sqlx(rename = "key_column")]
    pub key: String,
    pub created_at: String,
    /// The foreign keys its members can set (`--member-writes`, migration 34): no row is
    /// taken into its archives through them (docs/tenants.md).
    #[sqlx(json)]
    pub member_writes: Vec<MemberWrite>,
}

/// A tenant's name: it names a folder too, so letters, digits, `-` and `_` only.
pub fn validate_tenant_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name:?} is not a tenant name: use 1 to 64 letters, digits, '-' or '_'"
        )))
    }
}

const COLS: &str = "name, schema_name, table_name, key_column, created_at, member_writes";

impl Catalog {
    /// Add tenant root `t` to a project (already checked against its database by the engine),
    /// with the foreign keys its members can set.
    pub async fn add_tenant(
        &self,
        project_id: &str,
        name: &str,
        (schema, table, key): (&str, &str, &str),
        member_writes: &[MemberWrite],
    ) -> Result<TenantRecord> {
        validate_tenant_name(name)?;
        let writes = serde_json::to_string(member_writes)
            .map_err(|e| Error::internal(format!("writing a tenant's settings: {e}")))?;
        sqlx::query(
            "INSERT INTO tenants (project_id, name, schema_name, table_name, key_column, \
             created_at, member_writes) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(project_id)
        .bind(name)
        .bind(schema)
        .bind(table)
        .bind(key)
        .bind(self.now())
        .bind(writes)
        .execute(self.pool())
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                Error::not_found(format!("no project with id {project_id}"))
            } else if is_unique_violation(&e) {
                Error::new(
                    ErrorKind::Conflict,
                    format!("the project already has a tenant {name:?}"),
                )
                .with_hint("remove it first (offsite tenant remove PROJECT NAME)")
            } else {
                db_error("saving a tenant", e)
            }
        })?;
        self.tenant(project_id, name).await
    }

    /// A project's tenants, by name.
    pub async fn tenants(&self, project_id: &str) -> Result<Vec<TenantRecord>> {
        sqlx::query_as::<_, TenantRecord>(&format!(
            "SELECT {COLS} FROM tenants WHERE project_id = ? ORDER BY name"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the tenants", e))
    }

    /// One tenant of a project.
    pub async fn tenant(&self, project_id: &str, name: &str) -> Result<TenantRecord> {
        sqlx::query_as::<_, TenantRecord>(&format!(
            "SELECT {COLS} FROM tenants WHERE project_id = ? AND name = ?"
        ))
        .bind(project_id)
        .bind(name)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error("reading a tenant", e))?
        .ok_or_else(|| {
            Error::not_found(format!("the project has no tenant {name:?}"))
                .with_hint("offsite tenant list PROJECT shows its tenants")
        })
    }

    /// Remove a tenant (its backups stay).
    pub async fn remove_tenant(&self, project_id: &str, name: &str) -> Result<()> {
        let r = sqlx::query("DELETE FROM tenants WHERE project_id = ? AND name = ?")
            .bind(project_id)
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("removing a tenant", e))?;
        if r.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "the project has no tenant {name:?}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::new_project;

    #[tokio::test]
    async fn tenants_are_added_listed_refused_twice_and_removed() {
        let c = Catalog::open_in_memory().await.unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let writes = [MemberWrite {
            schema: "public".into(),
            table: "tasks".into(),
            columns: vec!["assignee".into()],
        }];
        let t = c
            .add_tenant(&p.id, "orgs", ("odd.schema", "My \"x\"", "id"), &writes)
            .await
            .unwrap();
        assert_eq!(
            (t.schema.as_str(), t.table.as_str()),
            ("odd.schema", "My \"x\"")
        );
        assert_eq!(t.member_writes, writes, "kept and read back");
        let again = c
            .add_tenant(&p.id, "orgs", ("public", "t", "id"), &[])
            .await;
        assert_eq!(again.unwrap_err().kind(), ErrorKind::Conflict);
        for bad in ["", "../x", "a b", "a/b"] {
            let e = c.add_tenant(&p.id, bad, ("public", "t", "id"), &[]).await;
            assert_eq!(e.unwrap_err().kind(), ErrorKind::InvalidInput, "{bad}");
        }
        assert_eq!(c.tenants(&p.id).await.unwrap(), vec![t]);
        c.remove_tenant(&p.id, "orgs").await.unwrap();
        assert!(c.tenants(&p.id).await.unwrap().is_empty());
        let e = c.remove_tenant(&p.id, "orgs").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        c.add_tenant(&p.id, "orgs", ("public", "t", "id"), &[])
            .await
            .unwrap();
        c.remove_project("shop").await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
            .fetch_one(c.pool())
            .await
            .unwrap();
        assert_eq!(left, 0);
    }
}
