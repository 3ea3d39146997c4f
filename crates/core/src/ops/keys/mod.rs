//! A project's encryption key when the project goes, and comes back.
//!
//! Removing a project whose key encrypts backups (it has encryption on, or keys in the
//! keychain from before) needs the project's name typed back (the command line's `--yes` for
//! headless use; the window's dialog collects it), and keeps the key in the keychain, recorded as
//! orphaned in the catalog (`orphaned_keys`), unless the request asks to delete it. The backup
//! files stay on disk and still open with the kept key (browse, import, verify and restore find
//! it by the archive's file name). A project added again under the same name takes the kept key
//! back ([`adopt`]); `offsite key remove NAME` deletes a kept key, its name typed back too.

use crate::catalog::{EncryptionRow, OrphanedKey, Project};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::{project_encryption_identity_key, project_encryption_passphrase_key};
use crate::text_enum::text_enum;
use serde::{Deserialize, Serialize};

/// How to remove a project.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemoveProject {
    /// The project's name as the user typed it: required when its key encrypts backups
    /// (the command line's `--yes` gives it).
    #[serde(default)]
    pub typed_name: Option<String>,
    /// Delete the project's encryption key from the keychain too (its archives then open only
    /// with a saved recovery key). By default the key is kept, marked orphaned.
    #[serde(default)]
    pub delete_key: bool,
    /// Remove the project even when its point-in-time capture's slot cannot be dropped (the
    /// server unreachable): the slot stays on that server. By default the removal is refused.
    #[serde(default)]
    pub leave_slot: bool,
}

text_enum! {
    /// What became of a removed project's encryption key.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    #[serde(rename_all = "snake_case")]
    pub enum KeyFate as "key fate" {
        /// The project had no encryption key.
        None = "none",
        /// Kept in the keychain, marked orphaned (`offsite key list`).
        Kept = "kept",
        /// Deleted from the keychain (asked for).
        Deleted = "deleted",
    }
}

/// What removing a project did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemovedProject {
    pub name: String,
    pub key: KeyFate,
}

/// A key Offsite keeps: a project's, or a removed project's (orphaned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct KeyListing {
    /// The project's name (the keychain entries are filed under it).
    pub name: String,
    /// `key`, `passphrase` (or `off`: encryption turned off, older keys kept).
    pub mode: String,
    pub public_key: Option<String>,
    /// The project was removed and its key kept: `offsite key remove NAME` deletes it, adding a
    /// project of that name takes it back.
    pub orphaned: bool,
    /// When the project was removed (orphaned keys).
    pub removed_at: Option<String>,
}

/// The project's encryption settings when its key encrypts backups (`None`: it has no key).
/// Encryption on, or keys in the keychain from before (turned off later) both count; a keychain
/// that cannot be read counts only when encryption is on.
async fn key_of(engine: &Engine, project: &Project) -> Result<Option<EncryptionRow>> {
    let row = engine.catalog.encryption(&project.id).await?;
    let on = row.as_ref().is_some_and(|r| r.mode != "off");
    let in_keychain = super::encryption::keys_of(engine, &project.name)
        .map(|k| !k.is_empty())
        .unwrap_or(false);
    if !on && !in_keychain {
        return Ok(None);
    }
    Ok(Some(row.unwrap_or(EncryptionRow {
        mode: "off".into(),
        public_key: None,
        recipients: Vec::new(),
        confirmed: true,
        check: None,
    })))
}

/// Whether `typed` is `name` (surrounding blanks ignored).
fn typed_back(typed: Option<&str>, name: &str) -> bool {
    typed.map(str::trim) == Some(name)
}

fn name_needed(name: &str, flag_hint: &str) -> Error {
    Error::new(
        ErrorKind::NeedsConsent,
        format!(
            "project {name:?} encrypts its backups with a key kept in this computer's keychain: \
             removing it needs its name typed back"
        ),
    )
    .with_hint(format!(
        "save the key first (offsite key export {name} > {name}-key.txt), then confirm by typing \
         the project's name{flag_hint}. The key stays in the keychain, marked orphaned (offsite \
         key list), unless you ask to delete it (--delete-key)"
    ))
}

/// Remove project `name` (see [`super::projects::remove`]) with its key handled as the module
/// says.
pub(crate) async fn remove_project(
    engine: &Engine,
    name: &str,
    opts: RemoveProject,
) -> Result<RemovedProject> {
    let project = engine.catalog.project(name).await?;
    let key = key_of(engine, &project).await?;
    if key.is_some() && !typed_back(opts.typed_name.as_deref(), &project.name) {
        return Err(name_needed(&project.name, " (or pass --yes)"));
    }
    // A slot left on the server would keep its WAL and fill its disk: dropped first.
    super::pitr::remove::release(engine, &project, opts.leave_slot).await?;
    let name = project.name.clone();
    let fate = match key {
        None => {
            super::projects::remove(engine, &name).await?;
            KeyFate::None
        }
        Some(row) if !opts.delete_key => {
            // Recorded first: a removal that fails leaves the project (and the record goes).
            engine.catalog.add_orphaned_key(&name, &row).await?;
            if let Err(e) = super::projects::remove(engine, &name).await {
                let _ = engine.catalog.remove_orphaned_key(&name).await;
                return Err(e);
            }
            tracing::info!(project = %name, "project removed; its encryption key was kept (orphaned)");
            KeyFate::Kept
        }
        Some(_) => {
            super::projects::remove(engine, &name).await?;
            delete_secrets(engine, &name)?;
            engine.catalog.remove_orphaned_key(&name).await?;
            KeyFate::Deleted
        }
    };
    Ok(RemovedProject { name, key: fate })
}

fn delete_secrets(engine: &Engine, name: &str) -> Result<()> {
    engine
        .secrets
        .delete(&project_encryption_identity_key(name))?;
    engine
        .secrets
        .delete(&project_encryption_passphrase_key(name))
}

/// A project just added takes back the key kept under its name, if any (its encryption
/// settings as they were; the kept record goes). `true` when it did.
pub(crate) async fn adopt(engine: &Engine, project: &Project) -> Result<bool> {
    let Some(kept) = engine.catalog.orphaned_key(&project.name).await? else {
        return Ok(false);
    };
    engine
        .catalog
        .set_encryption(&project.id, &kept.settings)
        .await?;
    engine.catalog.remove_orphaned_key(&project.name).await?;
    tracing::info!(project = %project.name, "the project took back its kept encryption key");
    Ok(true)
}

/// The key kept for the removed project `name`, if any.
pub(crate) async fn orphaned(engine: &Engine, name: &str) -> Result<Option<OrphanedKey>> {
    engine.catalog.orphaned_key(name).await
}

/// Every key: the projects' (encryption on, or keys from before) and the orphaned ones.
pub(crate) async fn list(engine: &Engine) -> Result<Vec<KeyListing>> {
    let mut out = Vec::new();
    for p in engine.catalog.projects().await? {
        if let Some(row) = key_of(engine, &p).await? {
            out.push(KeyListing {
                name: p.name,
                mode: row.mode,
                public_key: row.public_key,
                orphaned: false,
                removed_at: None,
            });
        }
    }
    for k in engine.catalog.orphaned_keys().await? {
        out.push(KeyListing {
            name: k.name,
            mode: k.settings.mode,
            public_key: k.settings.public_key,
            orphaned: true,
            removed_at: Some(k.removed_at),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.orphaned.cmp(&b.orphaned)));
    Ok(out)
}

/// Delete the kept key of the removed project `name` from the keychain, its name typed back.
/// A project's own key is not removed here (remove the project with `--delete-key`).
pub(crate) async fn remove_kept(engine: &Engine, name: &str, typed: Option<&str>) -> Result<()> {
    if engine.catalog.orphaned_key(name).await?.is_none() {
        let live = engine.catalog.project(name).await.is_ok();
        return Err(if live {
            Error::invalid(format!(
                "the key of {name:?} belongs to a project: it is not orphaned"
            ))
            .with_hint(format!(
                "to delete it with the project: offsite project remove {name} --delete-key"
            ))
        } else {
            Error::not_found(format!("no kept key named {name:?}"))
                .with_hint("see the kept keys with `offsite key list`")
        });
    }
    if !typed_back(typed, name) {
        return Err(Error::new(
            ErrorKind::NeedsConsent,
            format!(
                "deleting the kept key of {name:?} makes its backups unreadable without a saved \
                 recovery key: it needs the name typed back"
            ),
        )
        .with_hint(format!(
            "save it first (offsite key export {name} > {name}-key.txt), then confirm by typing \
             the name (or pass --yes)"
        )));
    }
    delete_secrets(engine, name)?;
    engine.catalog.remove_orphaned_key(name).await
}

#[cfg(test)]
mod tests;
