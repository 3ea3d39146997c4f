//! The agent's HTTP API types, defined once: `offsite serve` (crates/agent) answers with them and
//! the laptop's client ([`super::agent`]) reads them. With the feature `openapi` (the agent's)
//! they describe themselves (utoipa's `ToSchema`: fields, serde renames, what is required, doc
//! comments as descriptions), and the agent's OpenAPI document (`crates/agent/openapi.json`) is
//! generated from that; nothing of a schema is written by hand.

use crate::transfer::redact_url;
use serde::{Deserialize, Serialize};

/// `POST /platform/projects/{id}/backups` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateBackup {
    /// `FULL`, `DATABASE`, `STORAGE` or `CONFIG`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = BackupType))]
    pub backup_type: String,
    /// `"zstd"` or `"zstd:LEVEL"` (1–19), `"gzip"` or `"gzip:LEVEL"` (0–9), `"none"` (gzip
    /// level 0), or a gzip level 0–9. Absent or null: the server's default (zstd, `.tar.zst`,
    /// unless `offsite settings --compression` saved another there).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Compression>))]
    pub compression: Option<serde_json::Value>,
    /// `{"recipients": ["age1…", "ssh-ed25519 …"]}`: the archive is encrypted on the server to
    /// these public keys (age format, `<name>.tar.gz.age`, its `.sha256` of the ciphertext), so
    /// the server never holds a key that opens it. `false`, `"none"` or absent: not encrypted.
    /// A passphrase is refused (the server would hold it).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<BackupEncryption>))]
    pub encryption: Option<serde_json::Value>,
    /// What a database or full backup holds, when not the whole database: schemas and tables
    /// included or left out, tables kept without their rows (names as `schema.table`, checked
    /// by the server; the archive's manifest records what was left out). Absent or null: the
    /// whole database. Refused for storage and config backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<crate::selection::BackupSelection>,
}

/// How the agent encrypts a backup (a JSON value on the wire).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
pub enum BackupEncryption {
    /// `false`: not encrypted.
    Off(bool),
    /// `"none"`: not encrypted.
    None(String),
    /// Encrypted to public keys.
    To(EncryptTo),
}

/// The public keys an archive is encrypted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EncryptTo {
    /// age (`age1…`) or SSH (`ssh-ed25519 …`, `ssh-rsa …`) public keys; each one opens the
    /// archive alone. At least one.
    pub recipients: Vec<String>,
}

/// The types of backup the agent makes (a string on the wire).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "UPPERCASE")]
pub enum BackupType {
    Full,
    Database,
    Storage,
    Config,
}

/// Every type a backup the agent lists may have (a string on the wire).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "UPPERCASE")]
pub enum AnyBackupType {
    Full,
    Database,
    Storage,
    Config,
    Incremental,
}

/// Where a backup on the agent is (a string on the wire).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "UPPERCASE")]
pub enum BackupStatus {
    Creating,
    Completed,
    Failed,
}

/// How a backup is compressed: a name, a name with a level, or a gzip level (a JSON value on
/// the wire).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
pub enum Compression {
    /// `zstd` or `gzip` (their default levels), or `none` (gzip level 0).
    Name(CompressionName),
    /// `zstd:LEVEL` (1–19) or `gzip:LEVEL` (0–9).
    WithLevel(CompressionWithLevel),
    /// A gzip level, 0–9.
    Level(u8),
}

/// `zstd` or `gzip` (their default levels), or `none` (gzip level 0).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum CompressionName {
    Zstd,
    Gzip,
    None,
}

/// `zstd:LEVEL` (1–19) or `gzip:LEVEL` (0–9).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(example = "zstd:6")]
pub struct CompressionWithLevel(pub String);

/// `GET …/backups`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupList {
    pub backups: Vec<AgentBackup>,
    /// The project's retention on the agent and what it keeps (`None`: an older agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<AgentRetention>,
    /// The agent's disk under the project's backups, by the space watcher's rule (`None`: an
    /// older agent, or it could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<AgentSpace>,
}

/// What the agent's retention keeps of a project: the policy applied after each scheduled
/// backup, and the backups it holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentRetention {
    /// The rules in words (`keep-last 7`; `keep everything` when none).
    pub rules: String,
    /// Where they are set: `agent.toml`, or `api` (`PUT …/backup-schedule`; until then the
    /// recommended policy a new project gets).
    pub source: String,
    /// Backups of the project on the agent now, and their bytes.
    pub backups: u64,
    pub bytes: u64,
}

/// The agent's disk under a project's backups: free and total bytes, the growth of the last 14
/// days, and whether the space watcher's rule holds (with why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentSpace {
    pub free_bytes: u64,
    pub total_bytes: u64,
    pub growth_bytes_per_day: u64,
    /// At that growth (`None`: not growing).
    pub days_until_full: Option<f64>,
    /// The rule holds: less free than the next backup needs, under the floor, or full soon.
    pub low: bool,
    pub reasons: Vec<String>,
}

/// A backup as the agent describes it (`GET …/backups/{backup_id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Backup))]
pub struct AgentBackup {
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub backup_id: String,
    pub project: String,
    /// `CREATING`, `COMPLETED` or `FAILED`.
    #[cfg_attr(feature = "openapi", schema(value_type = BackupStatus))]
    pub status: String,
    /// 0–100.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub progress: u8,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub completed_at: Option<String>,
    #[serde(default, rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<AnyBackupType>))]
    pub backup_type: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub error: Option<AgentBackupError>,
    /// While `CREATING`: the step the server is on (the engine's phase: `connecting`,
    /// `counting`, `dumping`, `downloading`, `packing`, `syncing`, `verifying`, …). Absent from
    /// older agents, and before the first report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// While `CREATING`: bytes done in that step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_done: Option<u64>,
    /// While `CREATING`: that step's total bytes, when known (a database's size, the storage
    /// folder's bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_total: Option<u64>,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentBackupError {
    pub code: String,
    pub message: String,
}

/// The answer to `POST …/backups` (202).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Created {
    #[cfg_attr(feature = "openapi", schema(format = "uuid"))]
    pub backup_id: String,
    /// `CREATING`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = BackupStatus, required = true))]
    pub status: String,
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 100, required = true)
    )]
    pub progress: u8,
    /// Seconds, from the project's last successful backup (`null` before the first).
    #[serde(default)]
    pub estimated_time: Option<u64>,
}

/// A signed, expiring link to a backup's archive (`GET …/download`); its Debug hides the signature.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadLink {
    #[cfg_attr(feature = "openapi", schema(format = "uri"))]
    pub download_url: String,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
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

/// `GET /platform/projects/{id}/pitr`: the project's point-in-time capture on the agent
/// (docs/pitr.md): whether it runs, its RPO, the restorable windows, and every chain with its
/// base and segments, for the laptop to pull.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PitrCapture {
    /// A chain is being captured now.
    pub enabled: bool,
    /// Seconds since the capture last confirmed it had everything (null: not capturing).
    pub rpo_seconds: Option<f64>,
    /// The restorable windows, oldest first.
    pub windows: Vec<PitrWindow>,
    /// Every chain with a base, oldest first.
    pub chains: Vec<PitrChainInfo>,
}

/// A span of restorable times.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PitrWindow {
    pub chain_id: String,
    /// RFC 3339.
    pub from: String,
    /// RFC 3339.
    pub to: String,
    /// What ends it before the last capture (a missing segment, DDL, a gap); null: nothing.
    pub broken_by: Option<String>,
}

/// One chain: its base backup (the agent's backup id and the archive's SHA-256, by which the
/// laptop finds the base it pulled), where base and changes meet, and its segments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PitrChainInfo {
    /// A UUID.
    pub id: String,
    /// `active` (captured now) or `ended`.
    pub state: String,
    pub ended_reason: Option<String>,
    /// The base's backup id as `GET …/backups` lists it.
    pub base_backup_id: String,
    pub base_sha256: String,
    /// The transaction snapshot the base was dumped in (`xmin:xmax:xip,…`).
    pub base_snapshot: String,
    /// Microseconds since the epoch.
    pub base_at: i64,
    /// What the chain covers (JSON: `covered`, `not_covered`, `fingerprint`).
    pub coverage: String,
    /// The last pass that found nothing new (µs since the epoch).
    pub last_poll_at: Option<i64>,
    pub segments: Vec<PitrSegmentInfo>,
}

/// One change segment (LSNs as integers, times in µs since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PitrSegmentInfo {
    /// `<project>_<LSN>.pitr` or `….pitr.age`; the name in its download path.
    pub file_name: String,
    pub start_lsn: u64,
    pub first_commit_lsn: u64,
    pub end_lsn: u64,
    pub first_commit_at: i64,
    pub last_commit_at: i64,
    pub closed_at: i64,
    pub commits: u64,
    /// Size of the file (the ciphertext when encrypted).
    pub size: u64,
    pub sha256: String,
    /// The published tables' columns when it was captured.
    pub fingerprint: String,
}

/// `GET /platform/projects/{id}/pitr/objects`: the Storage objects' versions the capture kept
/// (issue 66 item 4, docs/pitr.md "Storage at the same second"), for the laptop to pull beside
/// the segments: the index's versions and the files holding their bytes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PitrObjects {
    /// Every version kept, in the order kept.
    pub versions: Vec<PitrObjectVersion>,
    /// The files of bytes the versions name (one per SHA-256).
    pub files: Vec<PitrObjectFile>,
}

/// One version of an object (times in µs since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PitrObjectVersion {
    pub bucket: String,
    pub key: String,
    /// The ETag the store gave these bytes, without quotes.
    pub etag: String,
    /// Size of the bytes (not of a sealed file).
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub fetched_at: i64,
}

/// One file of kept bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PitrObjectFile {
    /// The SHA-256 of the bytes it holds (its name in the download path).
    pub sha256: String,
    /// Sealed with age (the project's backups are encrypted): the name ends `.age`.
    pub sealed: bool,
    /// Size of the file (the ciphertext when sealed).
    pub size: u64,
}
