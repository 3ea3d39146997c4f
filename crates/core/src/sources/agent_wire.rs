//! The agent's HTTP API types, defined once: `offsite serve` (crates/agent) answers with them and
//! the laptop's client ([`super::agent`]) reads them. `crates/agent/openapi.json` documents them;
//! a test there checks each documented schema's properties against these types.

use crate::transfer::redact_url;
use serde::{Deserialize, Serialize};

/// `POST /platform/projects/{id}/backups` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateBackup {
    /// `FULL`, `DATABASE`, `STORAGE` or `CONFIG`.
    #[serde(rename = "type")]
    pub backup_type: String,
    /// `"gzip"` (default level), `"none"`, or a gzip level 0–9.
    #[serde(default)]
    pub compression: Option<serde_json::Value>,
    /// Encryption is not offered by the agent yet: only `false`/`"none"`/absent.
    #[serde(default)]
    pub encryption: Option<serde_json::Value>,
}

/// `GET …/backups`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupList {
    pub backups: Vec<AgentBackup>,
}

/// A backup as the agent describes it (`GET …/backups/{backup_id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgentBackup {
    pub backup_id: String,
    pub project: String,
    /// `CREATING`, `COMPLETED` or `FAILED`.
    pub status: String,
    /// 0–100.
    pub progress: u8,
    pub created_at: String,
    #[serde(default)]
    pub completed_at: Option<String>,
    #[serde(default, rename = "type")]
    pub backup_type: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub error: Option<AgentBackupError>,
}

impl AgentBackup {
    pub fn is_completed(&self) -> bool {
        self.status == "COMPLETED"
    }
    pub fn is_failed(&self) -> bool {
        self.status == "FAILED"
    }
}

/// Why a backup failed on the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgentBackupError {
    pub code: String,
    pub message: String,
}

/// The answer to `POST …/backups` (202).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Created {
    pub backup_id: String,
    /// `CREATING`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub progress: u8,
    /// Seconds, from the project's last successful backup (`null` before the first).
    #[serde(default)]
    pub estimated_time: Option<u64>,
}

/// A signed, expiring link to a backup's archive (`GET …/download`); its Debug hides the signature.
#[derive(Clone, Serialize, Deserialize)]
pub struct DownloadLink {
    pub download_url: String,
    /// RFC 3339.
    pub expires_at: String,
    pub size: u64,
    pub sha256: String,
}

impl std::fmt::Debug for DownloadLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = url::Url::parse(&self.download_url)
            .map(|u| redact_url(&u))
            .unwrap_or_default();
        f.debug_struct("DownloadLink")
            .field("download_url", &url)
            .field("expires_at", &self.expires_at)
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .finish()
    }
}
