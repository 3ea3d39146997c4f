//! The `orphaned_keys` table (migration `0018_orphaned_keys.sql`): the encryption settings of a
//! removed project whose key was kept in the keychain, by the project's name. Never a secret:
//! the key itself stays in the keychain entries of that name.

use super::encryption::EncryptionRow;
use super::sql::db_error;
use super::Catalog;
use crate::error::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// A kept key: the removed project's name, its encryption settings and when it was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanedKey {
    pub name: String,
    pub settings: EncryptionRow,
    pub removed_at: String,
}

/// An orphaned key as listed (no test ciphertext).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OrphanedKeySummary {
    /// The removed project's name (the keychain entries are filed under it).
    pub name: String,
    /// `passphrase` or `key` (or `off`: encryption was turned off, older keys kept).
    pub mode: String,
    pub public_key: Option<String>,
    pub removed_at: String,
}

type Raw = (
    String,
    String,
    Option<String>,
    String,
    bool,
    Option<Vec<u8>>,
    String,
);

fn from_raw(r: Raw) -> Result<OrphanedKey> {
    let (name, mode, public_key, recipients, confirmed, check, removed_at) = r;
    let recipients = serde_json::from_str(&recipients).map_err(|e| {
        Error::new(
            ErrorKind::Catalog,
            format!("the recipients of the kept key {name:?} could not be read: {e}"),
        )
    })?;
    Ok(OrphanedKey {
        name,
        settings: EncryptionRow {
            mode,
            public_key,
            recipients,
            confirmed,
            check,
        },
        removed_at,
    })
}

const COLS: &str = "name, mode, public_key, recipients, confirmed, \"check\", removed_at";

impl Catalog {
    /// Remember that `name`'s key was kept (replacing an older record of that name).
    pub async fn add_orphaned_key(&self, name: &str, settings: &EncryptionRow) -> Result<()> {
        let recipients = serde_json::to_string(&settings.recipients)
            .map_err(|e| Error::internal(e.to_string()))?;
        sqlx::query(
            "INSERT OR REPLACE INTO orphaned_keys \
             (name, mode, public_key, recipients, confirmed, \"check\", removed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(&settings.mode)
        .bind(&settings.public_key)
        .bind(&recipients)
        .bind(settings.confirmed)
        .bind(&settings.check)
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(|e| db_error("recording a kept encryption key", e))?;
        Ok(())
    }

    /// The kept key of the removed project `name`, if any.
    pub async fn orphaned_key(&self, name: &str) -> Result<Option<OrphanedKey>> {
        let row: Option<Raw> =
            sqlx::query_as(&format!("SELECT {COLS} FROM orphaned_keys WHERE name = ?"))
                .bind(name)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| db_error("reading a kept encryption key", e))?;
        row.map(from_raw).transpose()
    }

    /// Every kept key, by name.
    pub async fn orphaned_keys(&self) -> Result<Vec<OrphanedKey>> {
        let rows: Vec<Raw> =
            sqlx::query_as(&format!("SELECT {COLS} FROM orphaned_keys ORDER BY name"))
                .fetch_all(self.pool())
                .await
                .map_err(|e| db_error("listing kept encryption keys", e))?;
        rows.into_iter().map(from_raw).collect()
    }

    /// Forget the kept key of `name` (no error when there is none).
    pub async fn remove_orphaned_key(&self, name: &str) -> Result<()> {
        sqlx::query("DELETE FROM orphaned_keys WHERE name = ?")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(|e| db_error("forgetting a kept encryption key", e))?;
        Ok(())
    }
}

impl OrphanedKey {
    pub fn summary(&self) -> OrphanedKeySummary {
        OrphanedKeySummary {
            name: self.name.clone(),
            mode: self.settings.mode.clone(),
            public_key: self.settings.public_key.clone(),
            removed_at: self.removed_at.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::catalog;

    #[tokio::test]
    async fn kept_keys_are_recorded_listed_replaced_and_forgotten() {
        let c = catalog().await;
        assert_eq!(c.orphaned_key("shop").await.unwrap(), None);
        let row = EncryptionRow {
            mode: "key".into(),
            public_key: Some("age1xyz".into()),
            recipients: vec!["age1other".into()],
            confirmed: true,
            check: Some(vec![1, 2, 3]),
        };
        c.add_orphaned_key("shop", &row).await.unwrap();
        let kept = c.orphaned_key("shop").await.unwrap().unwrap();
        assert_eq!(kept.settings, row);
        assert_eq!(kept.name, "shop");
        // Names are exact (the keychain entries are).
        assert_eq!(c.orphaned_key("SHOP").await.unwrap(), None);
        let newer = EncryptionRow {
            mode: "passphrase".into(),
            public_key: None,
            recipients: vec![],
            confirmed: false,
            check: None,
        };
        c.add_orphaned_key("shop", &newer).await.unwrap();
        c.add_orphaned_key("blog", &row).await.unwrap();
        let all = c.orphaned_keys().await.unwrap();
        assert_eq!(
            all.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
            ["blog", "shop"]
        );
        assert_eq!(all[1].settings, newer);
        assert_eq!(all[0].summary().public_key.as_deref(), Some("age1xyz"));
        c.remove_orphaned_key("shop").await.unwrap();
        c.remove_orphaned_key("shop").await.unwrap();
        assert_eq!(c.orphaned_keys().await.unwrap().len(), 1);
    }
}
