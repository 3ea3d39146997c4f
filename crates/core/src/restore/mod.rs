//! A restore, whatever it puts back: ONE request ([`RestoreRequest`]) and ONE plan
//! ([`RestorePlan`]) with a section per component (database, storage, configuration).
//!
//! plan → confirm → execute → validate: the plan changes nothing and drives `offsite restore
//! --dry-run`, the wizard's review and the execution; [`crate::Engine::restore`] runs the chosen
//! components as one job with one report ([`RestoreReport`]), the database first, then the
//! storage, then the configuration. A failure stops the job and says what was restored and
//! what not.
//!
//! The database's own work (plan, decide, select, replace, execute, validate) is in
//! [`crate::postgres::restore`]; the storage's in [`crate::storage`]; the configuration's in
//! [`crate::config`]. The job is [`crate::ops::restore`].

mod plan;

pub use plan::{ConfigPlan, ConfigReport, RestoreOutcome, RestorePlan, RestoreReport};

pub use crate::postgres::restore::{
    BackupTable, ManagedSchema, OwnedByOthers, RoleToCreate, SelectWhat, Selection, SelectionPlan,
    TableCheck,
};
pub use crate::postgres::restore::{DatabasePlan, DatabaseReport};

use crate::postgres::conn::ProjectConnection;
use crate::postgres::conn::TlsMode;
use crate::storage::BucketSelection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::progress::Component;

/// One restore: from a backup (`archive`), what (the components present, the database's
/// selection), to a target per component, and how (the consents of each component). The same
/// request from the window (it is the IPC argument), the command line and the agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RestoreRequest {
    /// From: the backup file.
    pub archive: PathBuf,
    /// The database component (absent: not restored).
    #[serde(default)]
    pub database: Option<DatabaseRestore>,
    /// The storage component (absent: not restored).
    #[serde(default)]
    pub storage: Option<StorageRestore>,
    /// The configuration component (absent: not restored).
    #[serde(default)]
    pub config: Option<ConfigRestore>,
    /// The passphrase or key of an age-encrypted archive, when it is not the project's own
    /// (which is taken from the keychain). Never serialized; redacted in `Debug`.
    #[serde(default, skip_serializing, deserialize_with = "de_key")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub key: Option<crate::crypto::UserKey>,
}

/// A key given as text (a passphrase, or `AGE-SECRET-KEY-1…` lines).
fn de_key<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<crate::crypto::UserKey>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.map(|t| {
        crate::crypto::UserKey::parse(&t).map_err(|e| serde::de::Error::custom(e.message()))
    })
    .transpose()
}

impl RestoreRequest {
    /// Restore the database of `archive` into `to` with the default options (an empty target
    /// only).
    pub fn new(archive: impl Into<PathBuf>, to: DatabaseTo) -> Self {
        RestoreRequest {
            archive: archive.into(),
            database: Some(DatabaseRestore {
                to,
                options: DatabaseOptions::default(),
            }),
            storage: None,
            config: None,
            key: None,
        }
    }
    /// Nothing to restore yet (add sections with [`Self::storage`] / [`Self::config`]).
    pub fn from_archive(archive: impl Into<PathBuf>) -> Self {
        RestoreRequest {
            archive: archive.into(),
            database: None,
            storage: None,
            config: None,
            key: None,
        }
    }
    /// The same request, decrypting the archive with `key`.
    pub fn key(mut self, key: crate::crypto::UserKey) -> Self {
        self.key = Some(key);
        self
    }
    /// The same request with these database options.
    pub fn options(mut self, options: DatabaseOptions) -> Self {
        if let Some(d) = &mut self.database {
            d.options = options;
        }
        self
    }
    /// The same request restoring the storage too (or instead).
    pub fn storage(mut self, storage: StorageRestore) -> Self {
        self.storage = Some(storage);
        self
    }
    /// The same request restoring the configuration too (or instead).
    pub fn config(mut self, config: ConfigRestore) -> Self {
        self.config = Some(config);
        self
    }
    /// The components asked for, in the order they are restored.
    pub fn components(&self) -> Vec<Component> {
        let mut out = Vec::new();
        if self.database.is_some() {
            out.push(Component::Database);
        }
        if self.storage.is_some() {
            out.push(Component::Storage);
        }
        if self.config.is_some() {
            out.push(Component::Config);
        }
        out
    }
}

/// The database component: where, and with which consents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DatabaseRestore {
    pub to: DatabaseTo,
    #[serde(default)]
    pub options: DatabaseOptions,
}

/// What the user consented to for the database, and what of it is restored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DatabaseOptions {
    /// Allow restoring into a database that is not empty (objects in the backup are dropped and
    /// recreated; others are kept).
    #[serde(default)]
    pub replace: bool,
    /// Skip the safety backup of a non-empty target.
    #[serde(default)]
    pub no_safety_backup: bool,
    /// Create the roles the backup needs that the target server lacks, from its globals.sql
    /// (attributes, memberships, no passwords), in the restore's transaction.
    #[serde(default)]
    pub create_roles: bool,
    /// Restore objects of roles the connecting role cannot act for as its own; leave out
    /// (listed) what cannot change owner.
    #[serde(default)]
    pub no_owner: bool,
    /// Restore as this role of the target (through a temporary login role that is a member of
    /// it alone), so the backup's code runs with its rights, not the connecting superuser's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub as_role: Option<String>,
    /// Restore only these schemas or tables (empty: the whole backup).
    #[serde(default)]
    pub selection: Selection,
    /// Run the statements of the backup's SQL that pg_dump never writes (the plan's
    /// `arbitrary_sql`); a separate consent from replacing.
    #[serde(default)]
    pub allow_arbitrary_sql: bool,
    /// pg_restore's workers for an archive-format-2 restore into an empty target (`None`: the
    /// machine's cores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub jobs: Option<u32>,
    /// Load a big table's ranges (issue 67) one after the other on one connection, so its heap
    /// holds the rows in the backup's order (a drill compares each table's digest in that
    /// order); otherwise they load in parallel. Set by the drill only: not serialized.
    #[serde(skip)]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub keep_heap_order: bool,
    /// When the target database does not exist yet, create it first, empty (as the connecting
    /// role, which needs CREATEDB); removed again if the restore fails. An existing database is
    /// restored into as it is.
    #[serde(default)]
    pub create_database: bool,
}

/// Where the database goes: a saved project, or a connection (with its password).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum DatabaseTo {
    Project(String),
    Connection {
        connection: ProjectConnection,
        tls: Option<TlsMode>,
        password: Option<String>,
    },
}

impl DatabaseTo {
    /// The command line's `--to`: a URL (anything with `://`) or a project's name; `password`
    /// (when given) wins over one in the URL and is ignored for a project (its own is used).
    pub fn url_or_project(to: &str, password: Option<String>) -> DatabaseTo {
        if to.contains("://") {
            DatabaseTo::Connection {
                connection: ProjectConnection::Url(to.to_string()),
                tls: None,
                password,
            }
        } else {
            DatabaseTo::Project(to.to_string())
        }
    }

    /// The command line's `--to` again, for what takes the target as one string: a project's
    /// name, or a connection as a URL (its parts and TLS choice written in it, no password) with
    /// the password beside it (the given one over one the URL carried).
    pub fn url_or_project_text(&self) -> crate::error::Result<(String, Option<String>)> {
        match self {
            DatabaseTo::Project(name) => Ok((name.clone(), None)),
            DatabaseTo::Connection {
                connection,
                tls,
                password,
            } => {
                let (spec, in_url) = connection.parse(*tls)?;
                let password = password.clone().filter(|p| !p.is_empty()).or(in_url);
                Ok((spec.to_url(), password))
            }
        }
    }

    /// The target for people: the project's name, or "DATABASE on HOST".
    pub fn label(&self) -> String {
        match self {
            DatabaseTo::Project(name) => name.clone(),
            DatabaseTo::Connection { connection, .. } => connection.label(),
        }
    }
}

impl From<crate::postgres::restore::RestoreTarget> for DatabaseTo {
    /// A connection already found (`Engine::restore_target`), as a target again.
    fn from(t: crate::postgres::restore::RestoreTarget) -> Self {
        DatabaseTo::Connection {
            connection: ProjectConnection::Url(t.spec.to_url()),
            tls: Some(t.spec.tls),
            password: t.password,
        }
    }
}

/// The storage component: where, which buckets, and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StorageRestore {
    pub to: StorageTo,
    #[serde(default)]
    pub buckets: BucketSelection,
    /// Restore bucket `a` of the backup into bucket `b`.
    #[serde(default)]
    pub bucket_map: BTreeMap<String, String>,
    /// Delete the target's objects the backup does not have (typed consent in the UI/CLI).
    #[serde(default)]
    pub mirror: bool,
    /// Folders: replace files whose content differs.
    #[serde(default)]
    pub overwrite: bool,
}

impl StorageRestore {
    /// All buckets into `to`, adding and replacing only.
    pub fn new(to: StorageTo) -> Self {
        StorageRestore {
            to,
            buckets: BucketSelection::All,
            bucket_map: BTreeMap::new(),
            mirror: false,
            overwrite: false,
        }
    }
}

/// Where the storage goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum StorageTo {
    /// The storage of a saved project (the same one, or another).
    Project(String),
    /// Files in a local folder (`<dir>/<bucket>/<key>`).
    Folder(PathBuf),
}

/// The configuration component: the project written to, and the settings written back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConfigRestore {
    /// A saved project with a Supabase ref and token.
    pub project: String,
    /// The settings written back: `file:setting` as the plan lists them (or the setting's
    /// name), or `all-writable` for every writable, unredacted difference. Empty: the plan
    /// shows the differences and nothing is written.
    #[serde(default)]
    pub settings: Vec<String>,
    /// The Edge Functions deployed again from the backup: slugs as the plan lists them, or
    /// `all` for every one that differs from the project's. Empty: the plan lists them and none
    /// is deployed.
    #[serde(default)]
    pub functions: Vec<String>,
    /// Set the project's Vault root key to the backup's (when they differ) before the database
    /// is restored, so that the backup's Vault secrets decrypt there. Replaces the project's
    /// own key: the consent the plan's Vault section asks for.
    #[serde(default)]
    pub vault_key: bool,
}

/// `settings` naming every writable, unredacted difference.
pub const ALL_WRITABLE: &str = "all-writable";
