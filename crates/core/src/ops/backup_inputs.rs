//! What a backup job takes from the project's components: the type (asked for, else the
//! project's default), the storage to pull (with the bucket settings from `storage.buckets` and
//! the previous storage backup to reuse unchanged objects from) and the configuration fetched
//! from the Supabase Management API.

use crate::archive::BackupType;
use crate::backup::{ConfigInput, StorageInput};
use crate::catalog::{Components, Project};
use crate::config::{fetch_config, ConfigOptions};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::backup::BackupOptions;
use crate::ops::components::{self, check_type_fits};
use crate::progress::Reporter;
use crate::retry::RetryPolicy;
use crate::sources::supabase_api::{ManagementApi, ManagementApiOptions};
use crate::storage::{read_storage_doc, BucketSettings, PreviousStorage, PullOptions};
use std::collections::BTreeMap;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// The backup type a string names.
pub fn parse_backup_type(s: &str) -> Result<BackupType> {
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "full" => BackupType::Full,
        "database" | "db" => BackupType::Database,
        "storage" => BackupType::Storage,
        "config" => BackupType::Config,
        "incremental" => BackupType::Incremental,
        other => {
            return Err(Error::invalid(format!("unknown backup type {other:?}"))
                .with_hint("use one of: full, database, storage, config, incremental"))
        }
    })
}

/// A backup's storage and configuration from outside the catalog: the agent (`offsite serve`)
/// backs up a local storage folder and configuration files its own configuration names.
pub trait BackupInputs: Send + Sync {
    /// The inputs of a backup of `project` (`backup_type`: what the caller asked for; `None`
    /// for a scheduled backup, where the provider picks). `Ok(None)`: none from here (the
    /// project's components in the catalog are used).
    fn inputs(
        &self,
        project: &str,
        backup_type: Option<BackupType>,
    ) -> Result<Option<ProvidedInputs>>;

    /// The object store of `project` alone, for the point-in-time capture's kept versions of
    /// Storage objects (`ops::pitr::objects_keep`): `Ok(None)` when this provider does not
    /// know the project (its storage component in the catalog is used), `Ok(Some(None))` when
    /// it knows the project has no storage.
    fn storage(&self, project: &str) -> Result<Option<Option<StorageInput>>> {
        let _ = project;
        Ok(None)
    }
}

/// What a [`BackupInputs`] provides for one backup.
#[derive(Debug, Clone)]
pub struct ProvidedInputs {
    pub backup_type: BackupType,
    pub storage: Option<StorageInput>,
    pub config: Option<ConfigInput>,
}

/// Fill `opts.storage` / `opts.config` / `opts.backup_type` from the engine's
/// [`BackupInputs`], else the project's components, when the caller did not give them.
/// `encrypted`: the archive will be encrypted (configuration secrets are then kept).
pub(crate) async fn fill(
    engine: &Engine,
    project: &Project,
    opts: &mut BackupOptions,
    encrypted: bool,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<()> {
    if opts.storage.is_some() || opts.config.is_some() {
        return Ok(()); // given explicitly (tests, the agent)
    }
    if let Some(provider) = &engine.inputs {
        if let Some(p) = provider.inputs(&project.name, opts.backup_type)? {
            opts.storage = p.storage;
            opts.config = p.config;
            opts.backup_type = Some(p.backup_type);
            return Ok(());
        }
    }
    let comps = engine.catalog.components(&project.id).await?;
    let wanted = match opts.backup_type {
        Some(t) => t,
        None => match &comps.default_type {
            Some(t) => parse_backup_type(t)?,
            None => BackupType::Database,
        },
    };
    check_type_fits(&comps, wanted.as_str())?;
    let mut kind = wanted;
    let wants_storage = matches!(
        wanted,
        BackupType::Full | BackupType::Storage | BackupType::Incremental
    );
    if wants_storage {
        if let Some((source, storage)) = components::storage_of(engine, project).await? {
            let previous = previous_storage(engine, project, cancel).await;
            if wanted == BackupType::Incremental && previous.is_none() {
                tracing::info!(project = %project.name, "no earlier storage backup to build on: this incremental is made as a complete storage backup");
                kind = BackupType::Storage;
            }
            let bucket_settings = if matches!(
                wanted,
                BackupType::Full | BackupType::Storage | BackupType::Incremental
            ) {
                bucket_settings(engine, project).await
            } else {
                BTreeMap::new()
            };
            opts.storage = Some(StorageInput {
                source,
                options: PullOptions {
                    buckets: storage.buckets.clone(),
                    concurrency: storage.concurrency.unwrap_or(16) as usize,
                    page_size: None,
                    bucket_settings,
                    endpoint: storage.endpoint.clone(),
                    incremental: kind == BackupType::Incremental,
                    previous,
                },
            });
        }
    }
    if matches!(wanted, BackupType::Full | BackupType::Config) {
        opts.config =
            fetch_project_config(engine, project, &comps, encrypted, reporter, cancel).await?;
    }
    opts.backup_type = Some(kind);
    Ok(())
}

/// The newest registered full or storage backup of the project whose archive is still there, as
/// the base of the next pull.
async fn previous_storage(
    engine: &Engine,
    project: &Project,
    cancel: &CancellationToken,
) -> Option<PreviousStorage> {
    let backups = engine.catalog.backups(&project.id).await.ok()?;
    let mut candidates: Vec<_> = backups
        .into_iter()
        .filter(|b| matches!(b.backup_type, BackupType::Full | BackupType::Storage))
        .filter(|b| Path::new(&b.path).is_file())
        .collect();
    candidates.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    for b in candidates {
        let path = std::path::PathBuf::from(&b.path);
        let manifest = match crate::archive::read_manifest(&path) {
            Ok(m) => m,
            Err(_) => continue,
        };
        if manifest.member(crate::storage::STORAGE_DOC).is_none() {
            continue; // a full backup of a project without storage then
        }
        let p2 = path.clone();
        let c2 = cancel.clone();
        match tokio::task::spawn_blocking(move || read_storage_doc(&p2, &c2)).await {
            Ok(Ok(doc)) => {
                return Some(PreviousStorage {
                    backup_id: manifest.backup_id,
                    archive: path,
                    doc,
                    created_at: Some(manifest.created_at),
                })
            }
            _ => continue,
        }
    }
    None
}

/// Bucket settings the project's database records (Supabase's `storage.buckets`), through its
/// [`DatabaseSource`](crate::sources::DatabaseSource); none when they cannot be read.
async fn bucket_settings(engine: &Engine, project: &Project) -> BTreeMap<String, BucketSettings> {
    let Ok(database) = crate::ops::backup::database_of(engine, project).await else {
        return BTreeMap::new();
    };
    database.bucket_settings().await.unwrap_or_default()
}

async fn fetch_project_config(
    engine: &Engine,
    project: &Project,
    comps: &Components,
    encrypted: bool,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Option<ConfigInput>> {
    if comps.supabase.is_none() {
        return Ok(None);
    }
    let Some((supabase, token)) = components::supabase_of(engine, project).await? else {
        return Ok(None);
    };
    let mut api_opts = ManagementApiOptions {
        clock: engine.clock.clone(),
        ..Default::default()
    };
    if let Some(url) = &supabase.api_url {
        api_opts.base_url = url.clone();
    }
    let api = ManagementApi::with_options(token, api_opts)?
        .guarded(RetryPolicy::default())
        .reporting_to(reporter.clone())
        .cancelled_by(cancel.clone());
    let snapshot = fetch_config(
        &api,
        &supabase.project_ref,
        &ConfigOptions::for_archive(encrypted),
        reporter,
        cancel,
    )
    .await?;
    let mut files = snapshot.files.clone();
    if !snapshot.missing.is_empty() {
        // What the project does not have (a 404 feature) is part of the record, not a failure.
        files.push((
            "supabase/missing.json".to_string(),
            serde_json::to_vec_pretty(&snapshot.missing).unwrap_or_default(),
        ));
    }
    Ok(Some(ConfigInput {
        files,
        redactions: snapshot.redactions.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_types_parse() {
        assert_eq!(parse_backup_type("Full").unwrap(), BackupType::Full);
        assert_eq!(
            parse_backup_type("incremental").unwrap(),
            BackupType::Incremental
        );
        assert!(parse_backup_type("weekly").is_err());
    }
}
