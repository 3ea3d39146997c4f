//! The `source_tests` table (migration `0017_backup_origin_source_tests.sql`): when each of a
//! project's sources (database, storage, Supabase, backup server, artifact bucket) was last
//! tested and how it went — by a Test button, or by a backup or pull that connected to it. One
//! row per project and source, replaced by each test; removed with the project.

use super::sql::{db_error, is_foreign_key_violation};
use super::Catalog;
use crate::error::{Error, Result};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};

text_enum! {
    /// One of a project's sources, as its card on the Sources tab names it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum SourceKind as "source" {
        Database = "database",
        /// File storage (Supabase Storage or another S3-compatible store).
        Storage = "storage",
        /// The Supabase project (its Management API).
        Supabase = "supabase",
        /// The backup server (`offsite serve`).
        Server = "server",
        /// The artifact bucket.
        Artifacts = "artifacts",
    }
}

/// The last test of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SourceTest {
    pub source: SourceKind,
    /// When (RFC 3339 UTC).
    pub tested_at: String,
    /// It answered and accepted the credentials.
    pub ok: bool,
    /// Why it failed (the error's one line; never a secret).
    pub message: Option<String>,
}

/// The longest failure message kept (characters).
const MAX_MESSAGE: usize = 500;

impl Catalog {
    /// Record a test of `source` of project `project_id`, now: `Ok(())` or the failure's message.
    pub async fn record_source_test(
        &self,
        project_id: &str,
        source: SourceKind,
        outcome: std::result::Result<(), &str>,
    ) -> Result<()> {
        let message = outcome
            .err()
            .map(|m| m.chars().take(MAX_MESSAGE).collect::<String>());
        sqlx::query(
            "INSERT INTO source_tests (project_id, source, tested_at, ok, message) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, source) DO UPDATE SET \
             tested_at = excluded.tested_at, ok = excluded.ok, message = excluded.message",
        )
        .bind(project_id)
        .bind(source)
        .bind(self.now())
        .bind(message.is_none())
        .bind(message.as_deref())
        .execute(self.pool())
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e) {
                Error::not_found(format!("no project with id {project_id}"))
            } else {
                db_error("recording a connection test", e)
            }
        })?;
        Ok(())
    }

    /// The last test of each of a project's sources that was ever tested, by source.
    pub async fn source_tests(&self, project_id: &str) -> Result<Vec<SourceTest>> {
        let rows: Vec<(SourceKind, String, bool, Option<String>)> = sqlx::query_as(
            "SELECT source, tested_at, ok, message FROM source_tests WHERE project_id = ? \
             ORDER BY source",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| db_error("reading the connection tests", e))?;
        Ok(rows
            .into_iter()
            .map(|(source, tested_at, ok, message)| SourceTest {
                source,
                tested_at,
                ok,
                message,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::{catalog_at, new_project, AT};

    #[tokio::test]
    async fn the_last_test_of_each_source_replaces_the_one_before() {
        let (c, clock) = catalog_at(AT).await;
        let p = c.add_project(&new_project("shop")).await.unwrap();
        assert!(
            c.source_tests(&p.id).await.unwrap().is_empty(),
            "never tested"
        );
        c.record_source_test(&p.id, SourceKind::Database, Ok(()))
            .await
            .unwrap();
        clock.advance(time::Duration::minutes(5));
        let long = "x".repeat(2 * MAX_MESSAGE);
        c.record_source_test(&p.id, SourceKind::Storage, Err(&long))
            .await
            .unwrap();
        let tests = c.source_tests(&p.id).await.unwrap();
        assert_eq!(tests.len(), 2);
        assert_eq!(
            tests[0],
            SourceTest {
                source: SourceKind::Database,
                tested_at: "2030-01-02T03:04:05.000Z".into(),
                ok: true,
                message: None,
            }
        );
        assert_eq!(tests[1].source, SourceKind::Storage);
        assert!(!tests[1].ok);
        assert_eq!(tests[1].message.as_ref().unwrap().len(), MAX_MESSAGE);
        assert_eq!(tests[1].tested_at, "2030-01-02T03:09:05.000Z");
        // A later test replaces the earlier one.
        c.record_source_test(&p.id, SourceKind::Database, Err("password rejected"))
            .await
            .unwrap();
        let db = &c.source_tests(&p.id).await.unwrap()[0];
        assert!(!db.ok);
        assert_eq!(db.message.as_deref(), Some("password rejected"));
        // An unknown project: not found; a removed project takes its tests along.
        let e = c
            .record_source_test("nope", SourceKind::Server, Ok(()))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
        c.remove_project("shop").await.unwrap();
        assert!(c.source_tests(&p.id).await.unwrap().is_empty());
    }
}
