//! The `project_components` table: what a project has beside its database — an S3-compatible
//! storage component, a Supabase project (Management API) — and its default backup type. One
//! JSON document per project; never a secret (those are in the keychain, see
//! [`crate::secrets::project_s3_secret_key`] and [`crate::secrets::project_supabase_token_key`], `project:<name>:server-token`).

use super::sql::db_error;
use super::Catalog;
use crate::error::{Error, Result};
use crate::storage::BucketSelection;
use serde::{Deserialize, Serialize};

/// A project's storage component: an S3-compatible endpoint and which buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StorageComponent {
    /// `https://<ref>.storage.supabase.co/storage/v1/s3`, `http://127.0.0.1:9000`, …; `None`: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    /// Path-style addressing (Supabase, MinIO, most self-hosted stores).
    #[serde(default = "yes")]
    pub path_style: bool,
    #[serde(default)]
    pub buckets: BucketSelection,
    /// Downloads in flight (default 16).
    #[serde(default)]
    pub concurrency: Option<u32>,
}

fn yes() -> bool {
    true
}

/// A project's Supabase side (for the configuration component).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SupabaseComponent {
    /// The project ref (`abcdefghijklmnopqrst`).
    pub project_ref: String,
    /// The Management API (default `https://api.supabase.com`; tests point it elsewhere).
    #[serde(default)]
    pub api_url: Option<String>,
}

/// A project's backup server: an Offsite agent (`offsite serve`) that makes the backups next to
/// the database; the laptop triggers them and downloads the archives. Its token is in the
/// keychain (`project:<name>:server-token`), never here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ServerComponent {
    /// `https://HOST:PORT/` (what `offsite serve` prints).
    pub url: String,
    /// The project's id on the agent (a name from its config file).
    pub project: String,
    /// The pinned certificate fingerprint (`SHA256:<hex>`), compared by the user when the
    /// server was added; `None` only for an `http://` server.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Plain `http://` to a server on another machine, chosen explicitly (`--insecure-http`):
    /// the token crosses the network unencrypted. Loopback needs no consent.
    #[serde(default)]
    pub insecure_http: bool,
}

/// A project's artifact bucket: dumps made elsewhere, pulled and imported
/// ([`crate::ops::artifacts`]). Its secret key is in the keychain
/// (`project:<name>:artifacts-secret`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ArtifactsComponent {
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    #[serde(default = "yes")]
    pub path_style: bool,
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    /// A glob on the object's name (`*.sql.gz`); `None`: every object.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The objects imported so far (skipped by the next pull while their ETag is the same).
    #[serde(default)]
    pub imported: Vec<ImportedArtifact>,
}

/// One object of an artifact bucket that was imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportedArtifact {
    pub key: String,
    pub etag: String,
}

/// Everything a project has beside its database connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Components {
    #[serde(default)]
    pub storage: Option<StorageComponent>,
    #[serde(default)]
    pub supabase: Option<SupabaseComponent>,
    /// `database` (default), `full`, `storage`, `config` or `incremental`: what a backup without
    /// `--type` (and every scheduled backup) makes.
    #[serde(default)]
    pub default_type: Option<String>,
    /// The backup server (an Offsite agent), when the project has one.
    #[serde(default)]
    pub server: Option<ServerComponent>,
    /// The artifact bucket, when the project has one.
    #[serde(default)]
    pub artifacts: Option<ArtifactsComponent>,
    /// What the project's database backups hold, when not the whole database (a selective
    /// backup: `offsite project set-selection`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub selection: Option<crate::selection::BackupSelection>,
}

impl Components {
    pub fn is_empty(&self) -> bool {
        *self == Components::default()
    }
}

/// The stored form of `c`, after checking what the catalog requires of it.
pub(super) fn component_doc(c: &Components) -> Result<String> {
    if let Some(t) = &c.default_type {
        super::validate::validate_backup_type(t)?;
    }
    if let Some(s) = &c.storage {
        if s.region.trim().is_empty() || s.access_key_id.trim().is_empty() {
            return Err(Error::invalid(
                "the storage component needs a region and an access key id",
            ));
        }
    }
    if let Some(sel) = &c.selection {
        sel.validate()?;
    }
    serde_json::to_string(c).map_err(|e| Error::internal(e.to_string()))
}

impl Catalog {
    /// The project's components (empty when none were set).
    pub async fn components(&self, project_id: &str) -> Result<Components> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT doc FROM project_components WHERE project_id = ?")
                .bind(project_id)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| db_error("reading a project's components", e))?;
        match row {
            None => Ok(Components::default()),
            Some((doc,)) => serde_json::from_str(&doc).map_err(|e| {
                Error::new(
                    crate::ErrorKind::Catalog,
                    format!("a project's components could not be read: {e}"),
                )
            }),
        }
    }

    /// Save the project's components (replacing what was there).
    pub async fn set_components(&self, project_id: &str, c: &Components) -> Result<()> {
        let doc = component_doc(c)?;
        sqlx::query(
            "INSERT INTO project_components (project_id, doc, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT(project_id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
        )
        .bind(project_id)
        .bind(&doc)
        .bind(self.now())
        .execute(self.pool())
        .await
        .map_err(|e| db_error("saving a project's components", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::NewProject;

    #[tokio::test]
    async fn components_round_trip_and_go_with_their_project() {
        let cat = Catalog::open_in_memory().await.unwrap();
        let p = cat
            .add_project(&NewProject {
                name: "shop".into(),
                db_url: "postgres://u@h:5432/d".into(),
                tls_mode: "prefer".into(),
                backup_dir: None,
            })
            .await
            .unwrap();
        assert!(cat.components(&p.id).await.unwrap().is_empty());
        let c = Components {
            storage: Some(StorageComponent {
                endpoint: Some("https://abc.storage.supabase.co/storage/v1/s3".into()),
                region: "eu-central-1".into(),
                access_key_id: "AKID".into(),
                path_style: true,
                buckets: BucketSelection::Only(vec!["avatars".into()]),
                concurrency: None,
            }),
            supabase: Some(SupabaseComponent {
                project_ref: "abc".into(),
                api_url: None,
            }),
            default_type: Some("full".into()),
            server: Some(ServerComponent {
                url: "https://backup.example.com:8443/".into(),
                project: "shop".into(),
                fingerprint: Some(format!("SHA256:{}", "ab".repeat(32))),
                insecure_http: false,
            }),
            artifacts: None,
            selection: Some(crate::selection::BackupSelection {
                exclude_table_data: vec!["public.logs".into()],
                ..Default::default()
            }),
        };
        // Documents saved before the server existed still read.
        let old: Components =
            serde_json::from_str(r#"{"storage":null,"default_type":"full"}"#).unwrap();
        assert_eq!(old.server, None);
        cat.set_components(&p.id, &c).await.unwrap();
        assert_eq!(cat.components(&p.id).await.unwrap(), c);
        let bad = Components {
            default_type: Some("weekly".into()),
            ..c.clone()
        };
        assert!(cat.set_components(&p.id, &bad).await.is_err());
        let hostile = Components {
            selection: Some(crate::selection::BackupSelection {
                exclude_table_data: vec!["public.x; rm -rf ~".into()],
                ..Default::default()
            }),
            ..c.clone()
        };
        assert!(cat.set_components(&p.id, &hostile).await.is_err());
        assert_eq!(
            cat.components(&p.id).await.unwrap(),
            c,
            "a refused change keeps the old"
        );
        cat.remove_project("shop").await.unwrap();
        assert!(cat.components(&p.id).await.unwrap().is_empty());
    }
}
