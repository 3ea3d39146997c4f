//! Restoring a backup's storage and configuration components (the database has `restore`):
//! plan, then execute, as the wizard and `offsite restore --components` use them.

use crate::catalog::JobKind;
use crate::config::{
    apply_settings, diff, fetch_config, ApplyReport, ConfigOptions, ConfigSnapshot, SettingDiff,
};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::components;
use crate::ops::job::JobStart;
use crate::ops::runner;
use crate::progress::Reporter;
use crate::retry::RetryPolicy;
use crate::sources::supabase_api::{ManagementApi, ManagementApiOptions};
use crate::sources::ObjectTarget;
use crate::storage::{
    plan_storage_restore, restore_storage, BucketSelection, StoragePlan, StorageRestoreOptions,
    StorageRestoreReport, StorageTargetRef,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Where a storage restore goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum StorageRestoreTo {
    /// The storage of a saved project (the same one, or another).
    Project(String),
    /// Files in a local folder (`<dir>/<bucket>/<key>`).
    Folder(PathBuf),
}

/// A storage restore, as asked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StorageRestoreRequest {
    pub archive: PathBuf,
    pub to: StorageRestoreTo,
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

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StorageRestoreOutcome {
    pub job_id: String,
    pub report: StorageRestoreReport,
}

/// What restoring a backup's configuration would change.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConfigRestorePlan {
    pub project_ref: String,
    /// Settings whose archived value differs from the project's current one.
    pub diffs: Vec<SettingDiff>,
    /// Settings that were redacted in the backup (never written back).
    pub redacted: Vec<String>,
}

async fn target_of(engine: &Engine, to: &StorageRestoreTo) -> Result<StorageTargetRef> {
    Ok(match to {
        StorageRestoreTo::Folder(dir) => StorageTargetRef::Folder(dir.clone()),
        StorageRestoreTo::Project(name) => {
            let project = engine.catalog.project(name).await?;
            let (store, _) = components::store_of(engine, &project).await?.ok_or_else(|| {
                Error::invalid(format!("project {name:?} has no storage to restore into"))
                    .with_hint("set its storage first (offsite project components NAME --s3-endpoint …), or restore into a folder")
            })?;
            let target: Arc<dyn ObjectTarget> = Arc::new(store);
            StorageTargetRef::Store(target)
        }
    })
}

/// Every registered backup's file by the backup id its manifest carries (what an incremental's
/// `base_backup_id` names) and by its catalog id: where incremental restores find their bases.
pub(crate) async fn backup_files(engine: &Engine) -> Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for p in engine.catalog.projects().await? {
        for b in engine.catalog.backups(&p.id).await? {
            let path = PathBuf::from(&b.path);
            if let Some(id) = b
                .manifest_json
                .as_deref()
                .and_then(|j| serde_json::from_str::<crate::archive::Manifest>(j).ok())
                .map(|m| m.backup_id)
            {
                out.insert(id, path.clone());
            }
            out.insert(b.id.clone(), path);
        }
    }
    Ok(out)
}

/// Where a base backup's file is, by id (a named type: a closure over `&str` would make the
/// job's future lose `Send`).
type Resolver = Box<dyn Fn(&str) -> Option<PathBuf> + Send + Sync>;

fn options(req: &StorageRestoreRequest) -> StorageRestoreOptions {
    StorageRestoreOptions {
        buckets: req.buckets.clone(),
        bucket_map: req.bucket_map.clone(),
        mirror: req.mirror,
        overwrite: req.overwrite,
        retry: RetryPolicy::default(),
        ..Default::default()
    }
}

pub(crate) async fn plan_storage(
    engine: &Engine,
    req: &StorageRestoreRequest,
) -> Result<StoragePlan> {
    let target = target_of(engine, &req.to).await?;
    let files = backup_files(engine).await?;
    let resolve: Resolver = Box::new(move |id: &str| files.get(id).cloned());
    plan_storage_restore(
        &req.archive,
        &*resolve,
        &target,
        &options(req),
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
}

pub(crate) async fn run_storage(
    engine: &Engine,
    req: StorageRestoreRequest,
    start: JobStart,
) -> Result<StorageRestoreOutcome> {
    let target = target_of(engine, &req.to).await?;
    let files = backup_files(engine).await?;
    let project = match &req.to {
        StorageRestoreTo::Project(name) => Some(engine.catalog.project(name).await?),
        StorageRestoreTo::Folder(_) => None,
    };
    let opts = options(&req);
    let (job_id, report) = runner::run(
        engine,
        JobKind::Restore,
        project.as_ref(),
        start,
        |_| None,
        |job| {
            let (target, opts, archive) = (&target, &opts, &req.archive);
            async move {
                let resolve: Resolver = Box::new(move |id: &str| files.get(id).cloned());
                restore_storage(archive, &*resolve, target, opts, &job.reporter, &job.cancel).await
            }
        },
    )
    .await?;
    Ok(StorageRestoreOutcome { job_id, report })
}

/// The archived configuration (the archive's `config/` members).
fn archived_config(archive: &Path) -> Result<ConfigSnapshot> {
    let manifest = crate::archive::read_manifest(archive)?;
    let mut files = Vec::new();
    for m in manifest
        .members
        .iter()
        .filter(|m| m.name.starts_with("config/"))
    {
        let buf = crate::archive::read_document(
            archive,
            &m.name,
            crate::archive::MAX_SMALL_DOC,
            &CancellationToken::new(),
        )?;
        files.push((m.name["config/".len()..].to_string(), buf));
    }
    if files.is_empty() {
        return Err(Error::invalid(format!(
            "{} has no configuration component",
            archive.display()
        ))
        .with_hint("choose a full or config backup"));
    }
    let project_ref = String::new();
    Ok(ConfigSnapshot::from_files(project_ref, files))
}

async fn api_of(
    engine: &Engine,
    project: &str,
) -> Result<(String, crate::sources::supabase_api::GuardedManagementApi)> {
    let p = engine.catalog.project(project).await?;
    let (supabase, token) = components::supabase_of(engine, &p).await?.ok_or_else(|| {
        Error::invalid(format!("project {project:?} has no Supabase ref and token")).with_hint(
            "set them: offsite project components NAME --supabase-ref REF --supabase-token-stdin",
        )
    })?;
    let mut o = ManagementApiOptions {
        clock: engine.clock.clone(),
        ..Default::default()
    };
    if let Some(url) = &supabase.api_url {
        o.base_url = url.clone();
    }
    Ok((
        supabase.project_ref,
        ManagementApi::with_options(token, o)?.guarded(RetryPolicy::default()),
    ))
}

pub(crate) async fn plan_config(
    engine: &Engine,
    archive: &Path,
    project: &str,
) -> Result<ConfigRestorePlan> {
    let archived = archived_config(archive)?;
    let (project_ref, api) = api_of(engine, project).await?;
    let current = fetch_config(
        &api,
        &project_ref,
        &ConfigOptions { redact: true },
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await?;
    let diffs = diff(&archived, &current);
    Ok(ConfigRestorePlan {
        project_ref,
        redacted: archived.redactions.clone(),
        diffs,
    })
}

/// Write back the chosen settings (`file:setting` names from the plan's diffs).
pub(crate) async fn apply_config(
    engine: &Engine,
    archive: &Path,
    project: &str,
    chosen: &[String],
) -> Result<ApplyReport> {
    let plan = plan_config(engine, archive, project).await?;
    let picked: Vec<SettingDiff> = plan
        .diffs
        .into_iter()
        .filter(|d| {
            chosen
                .iter()
                .any(|c| *c == format!("{}:{}", d.file, d.setting) || *c == d.setting)
        })
        .collect();
    if picked.is_empty() {
        return Err(Error::invalid("none of the chosen settings differs from the project's current configuration")
            .with_hint("see the settings that differ with `offsite restore ARCHIVE --to PROJECT --components config --dry-run`"));
    }
    let (project_ref, api) = api_of(engine, project).await?;
    apply_settings(
        &api,
        &project_ref,
        &picked,
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
}
