//! The `validation_checks` table (migration `0011_validation_checks.sql`): per project, the
//! read-only queries every restore drill runs on its restored copy, each with what its one value
//! must satisfy. The engine (`ops::checks`) parses the expectation and checks the SQL before a
//! row reaches the catalog; the catalog stores the expectation's canonical text.

use super::sql::{db_error, is_foreign_key_violation, new_id};
use super::Catalog;
use crate::error::{Error, Result};

pub use crate::drill::ValidationCheck;

const COLS: &str = "id, project_id, title, sql, expect, created_at";

impl Catalog {
    /// Add a validation query to a project (`sql` and `expect` already checked by the engine).
    pub async fn add_validation_check(
        &self,
        project_id: &str,
        title: Option<&str>,
        sql: &str,
        expect: &str,
    ) -> Result<ValidationCheck> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO validation_checks (id, project_id, title, sql, expect, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(project_id)
        .bind(title)
        .bind(sql)
        .bind(expect)
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                Error::not_found(format!("no project with id {project_id}"))
            } else {
                db_error("saving a validation query", e)
            }
        })?;
        sqlx::query_as::<_, ValidationCheck>(&format!(
            "SELECT {COLS} FROM validation_checks WHERE id = ?"
        ))
        .bind(&id)
        .fetch_one(self.pool())
        .await
        .map_err(|e| db_error("reading a validation query", e))
    }

    /// A project's validation queries, oldest first (the order a drill runs them in).
    pub async fn validation_checks(&self, project_id: &str) -> Result<Vec<ValidationCheck>> {
        sqlx::query_as::<_, ValidationCheck>(&format!(
            "SELECT {COLS} FROM validation_checks WHERE project_id = ? \
             ORDER BY created_at, rowid"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("listing validation queries", e))
    }

    /// Remove one of a project's validation queries. Returns whether it was there.
    pub async fn remove_validation_check(&self, project_id: &str, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM validation_checks WHERE project_id = ? AND id = ?")
            .bind(project_id)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("removing a validation query", e))?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::testing::{catalog, new_project, shop};

    #[tokio::test]
    async fn checks_are_kept_per_project_in_order_and_go_with_it() {
        let c = catalog().await;
        let (_dir, p) = shop(&c).await;
        let other = c.add_project(&new_project("other")).await.unwrap();
        let a = c
            .add_validation_check(&p.id, Some("users"), "select count(*) from users", ">= 10")
            .await
            .unwrap();
        let b = c
            .add_validation_check(&p.id, None, "select 1", "= 1")
            .await
            .unwrap();
        c.add_validation_check(&other.id, None, "select 2", "= 2")
            .await
            .unwrap();
        let listed = c.validation_checks(&p.id).await.unwrap();
        assert_eq!(listed, vec![a.clone(), b.clone()]);
        assert_eq!(a.display_title(), "users");
        assert_eq!(b.display_title(), "Query: select 1");
        assert!(!c.remove_validation_check(&other.id, &a.id).await.unwrap());
        assert!(c.remove_validation_check(&p.id, &a.id).await.unwrap());
        assert_eq!(c.validation_checks(&p.id).await.unwrap(), vec![b]);
        c.remove_project("shop").await.unwrap();
        assert!(c.validation_checks(&p.id).await.unwrap().is_empty());
        assert!(c
            .add_validation_check("nope", None, "select 1", "= 1")
            .await
            .is_err());
    }
}
