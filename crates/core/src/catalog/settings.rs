//! The `settings` table: small key/value preferences of the app and the command line (never
//! secrets), each with the time it was last saved.

use super::sql::db_error;
use super::Catalog;
use crate::error::{Error, Result};

impl Catalog {
    /// A setting's value. Settings are small preferences, never secrets.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| db_error(&format!("reading setting {key:?}"), e))
    }

    /// Set a setting (insert or replace).
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        if key.is_empty() {
            return Err(Error::invalid("a setting needs a name"));
        }
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(|e| db_error(&format!("saving setting {key:?}"), e))?;
        Ok(())
    }

    /// Remove a setting (no error when it is not set).
    /// Set (`Some`) or remove (`None`) several settings in one transaction: all, or none.
    pub async fn set_settings_together(&self, values: &[(&str, Option<&str>)]) -> Result<()> {
        if values.iter().any(|(k, _)| k.is_empty()) {
            return Err(Error::invalid("a setting needs a name"));
        }
        let what = "saving settings";
        let mut tx = self.pool().begin().await.map_err(|e| db_error(what, e))?;
        let now = self.now();
        for (key, value) in values {
            let done = match value {
                Some(v) => sqlx::query(
                    "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) \
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(v)
                .bind(&now)
                .execute(&mut *tx)
                .await,
                None => sqlx::query("DELETE FROM settings WHERE key = ?")
                    .bind(key)
                    .execute(&mut *tx)
                    .await,
            };
            done.map_err(|e| db_error(&format!("saving setting {key:?}"), e))?;
        }
        tx.commit().await.map_err(|e| db_error(what, e))
    }

    pub async fn remove_setting(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM settings WHERE key = ?")
            .bind(key)
            .execute(self.pool())
            .await
            .map_err(|e| db_error(&format!("removing setting {key:?}"), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::testing::{catalog, catalog_at, kind, AT};
    use crate::error::ErrorKind;

    #[tokio::test]
    async fn settings_roundtrip() {
        let c = catalog().await;
        assert_eq!(c.setting("theme").await.unwrap(), None);
        c.set_setting("theme", "dark").await.unwrap();
        c.set_setting("theme", "light").await.unwrap();
        assert_eq!(c.setting("theme").await.unwrap().as_deref(), Some("light"));
        c.remove_setting("theme").await.unwrap();
        c.remove_setting("theme").await.unwrap();
        assert_eq!(c.setting("theme").await.unwrap(), None);
        assert_eq!(kind(c.set_setting("", "x").await), ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn updated_at_comes_from_the_catalogs_clock() {
        let (c, clock) = catalog_at(AT).await;
        let updated_at = || async {
            sqlx::query_scalar::<_, String>("SELECT updated_at FROM settings WHERE key = 'theme'")
                .fetch_one(c.pool())
                .await
                .unwrap()
        };
        c.set_setting("theme", "dark").await.unwrap();
        assert_eq!(updated_at().await, "2030-01-02T03:04:05.000Z");
        clock.advance(time::Duration::days(2));
        c.set_setting("theme", "light").await.unwrap();
        assert_eq!(updated_at().await, "2030-01-04T03:04:05.000Z");
    }
}
