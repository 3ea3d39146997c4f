//! The `project_encryption` table: a project's encryption mode, its public keys, whether the
//! recovery key was confirmed, and a small test ciphertext that proves it. Never a secret:
//! the passphrase and the identity are in the keychain
//! ([`crate::secrets::project_encryption_passphrase_key`],
//! [`crate::secrets::project_encryption_identity_key`]).

use super::sql::db_error;
use super::Catalog;
use crate::error::{Error, ErrorKind, Result};

/// A project's row (no row: encryption off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionRow {
    /// `off`, `passphrase` or `key`.
    pub mode: String,
    /// Key mode: the laptop's `age1…` public key.
    pub public_key: Option<String>,
    /// Extra public recipients.
    pub recipients: Vec<String>,
    pub confirmed: bool,
    /// An age ciphertext of a fixed text, encrypted like the archives.
    pub check: Option<Vec<u8>>,
}

type Raw = (String, Option<String>, String, bool, Option<Vec<u8>>);

impl Catalog {
    /// The project's encryption row, if it has one.
    pub async fn encryption(&self, project_id: &str) -> Result<Option<EncryptionRow>> {
        let row: Option<Raw> = sqlx::query_as(
            "SELECT mode, public_key, recipients, confirmed, \"check\" FROM project_encryption \
             WHERE project_id = ?",
        )
        .bind(project_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| db_error("reading a project's encryption settings", e))?;
        row.map(|(mode, public_key, recipients, confirmed, check)| {
            let recipients = serde_json::from_str(&recipients).map_err(|e| {
                Error::new(
                    ErrorKind::Catalog,
                    format!("a project's encryption recipients could not be read: {e}"),
                )
            })?;
            Ok(EncryptionRow {
                mode,
                public_key,
                recipients,
                confirmed,
                check,
            })
        })
        .transpose()
    }

    /// Save the project's encryption row (replacing what was there).
    pub async fn set_encryption(&self, project_id: &str, row: &EncryptionRow) -> Result<()> {
        let recipients =
            serde_json::to_string(&row.recipients).map_err(|e| Error::internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO project_encryption \
             (project_id, mode, public_key, recipients, confirmed, \"check\", updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT(project_id) DO UPDATE SET mode = excluded.mode, \
             public_key = excluded.public_key, recipients = excluded.recipients, \
             confirmed = excluded.confirmed, \"check\" = excluded.\"check\", \
             updated_at = excluded.updated_at",
        )
        .bind(project_id)
        .bind(&row.mode)
        .bind(&row.public_key)
        .bind(&recipients)
        .bind(row.confirmed)
        .bind(&row.check)
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(|e| db_error("saving a project's encryption settings", e))?;
        Ok(())
    }

    /// Mark the project's recovery key as confirmed.
    pub async fn confirm_encryption(&self, project_id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE project_encryption SET confirmed = 1, updated_at = ? WHERE project_id = ?",
        )
        .bind(self.now())
        .bind(project_id)
        .execute(self.pool())
        .await
        .map_err(|e| db_error("confirming a project's recovery key", e))?;
        Ok(())
    }
}
