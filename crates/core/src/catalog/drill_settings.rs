//! The `drill_settings` table (migration `0012_drill_settings.sql`): where a project's drills
//! restore (a scratch server's URL, never with a password; none: a throwaway cluster) and how
//! many storage objects a drill compares one by one (none: every object). The engine
//! (`ops::drill_settings`) checks the values and keeps the server's password in the keychain.

use super::sql::{db_error, is_foreign_key_violation};
use super::Catalog;
use crate::error::{Error, Result};

/// A project's drill settings as stored (no row: the defaults, all `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrillSettingsRow {
    /// The scratch server's URL, without a password; `None`: a throwaway cluster.
    pub server_url: Option<String>,
    /// How many storage objects a drill checks, chosen at random; `None`: every object.
    pub storage_sample: Option<u32>,
}

impl Catalog {
    /// The drill settings of project `project_id` (the defaults when none were saved).
    pub async fn drill_settings(&self, project_id: &str) -> Result<DrillSettingsRow> {
        let row: Option<(Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT server_url, storage_sample FROM drill_settings WHERE project_id = ?",
        )
        .bind(project_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error("reading the drill settings", e))?;
        Ok(row
            .map(|(server_url, sample)| DrillSettingsRow {
                server_url,
                storage_sample: sample.and_then(|n| u32::try_from(n).ok()),
            })
            .unwrap_or_default())
    }

    /// Save the drill settings of project `project_id` (already checked by the engine: the URL
    /// holds no password).
    pub async fn set_drill_settings(&self, project_id: &str, s: &DrillSettingsRow) -> Result<()> {
        if let Some(url) = &s.server_url {
            // The catalog's own guard: a password never reaches it, whoever calls.
            super::validate_db_url(url)?;
        }
        sqlx::query(
            "INSERT INTO drill_settings (project_id, server_url, storage_sample, updated_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (project_id) DO UPDATE SET \
             server_url = excluded.server_url, storage_sample = excluded.storage_sample, \
             updated_at = excluded.updated_at",
        )
        .bind(project_id)
        .bind(s.server_url.as_deref())
        .bind(s.storage_sample.map(i64::from))
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                Error::not_found(format!("no project with id {project_id}"))
            } else {
                db_error("saving the drill settings", e)
            }
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::new_project;
    use crate::catalog::{ChangeEntity, ChangeOp};

    #[tokio::test]
    async fn settings_default_save_replace_and_go_with_their_project() {
        let c = Catalog::open_in_memory().await.unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        assert_eq!(
            c.drill_settings(&p.id).await.unwrap(),
            DrillSettingsRow::default()
        );
        let seq = c.last_change_seq().await.unwrap();
        let s = DrillSettingsRow {
            server_url: Some("postgres://drill@db.example.com:5433/postgres".into()),
            storage_sample: Some(25),
        };
        c.set_drill_settings(&p.id, &s).await.unwrap();
        assert_eq!(c.drill_settings(&p.id).await.unwrap(), s);
        // Saving again replaces (one row per project), and is a change of the project.
        c.set_drill_settings(&p.id, &DrillSettingsRow::default())
            .await
            .unwrap();
        assert_eq!(
            c.drill_settings(&p.id).await.unwrap(),
            DrillSettingsRow::default()
        );
        let changes = c.changes_since(seq, 100).await.unwrap().changes;
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().all(|ch| ch.entity == ChangeEntity::Project
            && ch.op == ChangeOp::Upsert
            && ch.id == p.id));
        c.set_drill_settings(&p.id, &s).await.unwrap();
        c.remove_project("shop").await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM drill_settings")
            .fetch_one(c.pool())
            .await
            .unwrap();
        assert_eq!(left, 0);
        let e = c.set_drill_settings("nope", &s).await.unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn a_url_with_a_password_never_reaches_the_catalog() {
        let c = Catalog::open_in_memory().await.unwrap();
        let p = c.add_project(&new_project("shop")).await.unwrap();
        let s = DrillSettingsRow {
            server_url: Some("postgres://drill:hunter2-pw@db.example.com/postgres".into()),
            storage_sample: None,
        };
        let e = c.set_drill_settings(&p.id, &s).await.unwrap_err();
        assert!(!e.to_string().contains("hunter2-pw"), "{e}");
        assert_eq!(
            c.drill_settings(&p.id).await.unwrap(),
            DrillSettingsRow::default()
        );
    }
}
