//! The steps of each component of a restore ([`super::restore`] runs them as one job): where
//! each section's target is, its plan, and its execution.

use crate::config::{
    apply_settings, chosen_functions, deploy_functions, diff, fetch_config, plan_functions,
    ApplyReport, ConfigOptions, ConfigSnapshot, DeployedFunction, SettingDiff,
};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::components;
use crate::postgres::restore::{RestoreOptions, RestoreTarget};
use crate::progress::Reporter;
use crate::restore::{
    ConfigPlan, ConfigRestore, DatabaseOptions, DatabasePlan, DatabaseReport, DatabaseTo,
    StorageRestore, StorageTo, ALL_WRITABLE,
};
use crate::retry::RetryPolicy;
use crate::sources::supabase_api::{GuardedManagementApi, ManagementApi, ManagementApiOptions};
use crate::sources::{DatabaseSource, ObjectTarget, PostgresSource};
use crate::storage::{
    plan_storage_restore, restore_storage, StoragePlan, StorageRestoreOptions,
    StorageRestoreReport, StorageTargetRef,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

// ---- database ----

/// The connection and password of a database target.
pub(crate) async fn database_target(engine: &Engine, to: &DatabaseTo) -> Result<RestoreTarget> {
    match to {
        DatabaseTo::Project(name) => {
            let project = engine.catalog.project(name).await?;
            Ok(RestoreTarget {
                spec: engine.spec_of(&project)?,
                password: engine.password_of(&project).await?,
            })
        }
        DatabaseTo::Connection {
            connection,
            tls,
            password,
        } => {
            let (spec, url_password) = connection.parse(*tls)?;
            let password = password.clone().filter(|p| !p.is_empty()).or(url_password);
            if password.is_none() {
                given_without_password(&spec).await?;
            }
            Ok(RestoreTarget { spec, password })
        }
    }
}

/// A target given with no password: asked now, before any slow work, whether its server lets
/// us in without one — if it asks for one, "no password given" (naming where it is given), not
/// a refused password after the archive was read. Other failures are the restore's to say.
async fn given_without_password(spec: &crate::postgres::conn::ConnSpec) -> Result<()> {
    use crate::ops::password_hint::{asks_for_a_password, no_password_given, PasswordFrom};
    match spec.connect(None).await {
        Ok(conn) => {
            let _ = sqlx::Connection::close(conn).await;
            Ok(())
        }
        Err(e) if asks_for_a_password(&e) => {
            Err(no_password_given(e, &spec.user, PasswordFrom::Given))
        }
        Err(_) => Ok(()),
    }
}

/// The database options with the engine's pg_dump folder and its safety backup (not encrypted;
/// the restore job encrypts it like the project's backups when it replaces).
pub(crate) async fn database_options(engine: &Engine, o: &DatabaseOptions) -> RestoreOptions {
    RestoreOptions {
        replace: o.replace,
        no_safety_backup: o.no_safety_backup,
        create_roles: o.create_roles,
        no_owner: o.no_owner,
        selection: o.selection.clone(),
        allow_arbitrary_sql: o.allow_arbitrary_sql,
        pg_bin: engine.pg_bin(),
        safety: Some(super::safety::taker(engine, None, None).await),
        jobs: o.jobs,
        keep_heap_order: o.keep_heap_order,
        untrusted_origin: None,
        journal: None,
    }
}

pub(crate) async fn plan_database(
    archive: &Path,
    target: &RestoreTarget,
    opts: &RestoreOptions,
) -> Result<DatabasePlan> {
    PostgresSource::for_restore(target, opts)
        .plan_restore(archive, opts, &Reporter::silent())
        .await
}

pub(crate) async fn restore_database(
    archive: &Path,
    target: &RestoreTarget,
    opts: &RestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<DatabaseReport> {
    // The folders a killed restore left (its process gone) go before this one starts.
    let _ = tokio::task::spawn_blocking(crate::postgres::restore::tmp::sweep_system_temp).await;
    PostgresSource::for_restore(target, opts)
        .restore(archive, opts, reporter, cancel)
        .await
}

// ---- storage ----

pub(crate) async fn storage_target(engine: &Engine, to: &StorageTo) -> Result<StorageTargetRef> {
    Ok(match to {
        StorageTo::Folder(dir) => StorageTargetRef::Folder(dir.clone()),
        StorageTo::Project(name) => {
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

pub(crate) fn storage_options(req: &StorageRestore) -> StorageRestoreOptions {
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
    archive: &Path,
    files: BTreeMap<String, PathBuf>,
    target: &StorageTargetRef,
    opts: &StorageRestoreOptions,
) -> Result<StoragePlan> {
    let resolve: Resolver = Box::new(move |id: &str| files.get(id).cloned());
    plan_storage_restore(
        archive,
        &*resolve,
        target,
        opts,
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
}

pub(crate) async fn restore_storage_part(
    archive: &Path,
    files: BTreeMap<String, PathBuf>,
    target: &StorageTargetRef,
    opts: &StorageRestoreOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<StorageRestoreReport> {
    let resolve: Resolver = Box::new(move |id: &str| files.get(id).cloned());
    restore_storage(archive, &*resolve, target, opts, reporter, cancel).await
}

// ---- configuration ----

/// The archived configuration (the archive's `config/` members).
pub(crate) fn archived_config(archive: &Path) -> Result<ConfigSnapshot> {
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

/// The Management API of a saved project, and its ref.
pub(crate) async fn config_api(
    engine: &Engine,
    project: &str,
) -> Result<(String, GuardedManagementApi)> {
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

/// The chosen settings among the differences (`all-writable`: every writable, unredacted one).
fn chosen<'a>(diffs: &'a [SettingDiff], settings: &[String]) -> Vec<&'a SettingDiff> {
    let all = settings.iter().any(|s| s.trim() == ALL_WRITABLE);
    diffs
        .iter()
        .filter(|d| {
            if all {
                return d.writable && !d.redacted;
            }
            settings
                .iter()
                .any(|c| *c == format!("{}:{}", d.file, d.setting) || *c == d.setting)
        })
        .collect()
}

pub(crate) async fn plan_config(
    archive: &Path,
    req: &ConfigRestore,
    project_ref: &str,
    api: &GuardedManagementApi,
) -> Result<ConfigPlan> {
    let archived = archived_config(archive)?;
    let current = fetch_config(
        api,
        project_ref,
        &ConfigOptions { redact: true },
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await?;
    let diffs = diff(&archived, &current);
    let will_write: Vec<String> = chosen(&diffs, &req.settings)
        .iter()
        .map(|d| format!("{}:{}", d.file, d.setting))
        .collect();
    let mut blockers = Vec::new();
    if !req.settings.is_empty() && will_write.is_empty() {
        blockers.push(
            "none of the chosen settings differs from the project's current configuration"
                .to_string(),
        );
    }
    let functions = plan_functions(&archived, &current);
    let will_deploy: Vec<String> = chosen_functions(&functions, &req.functions)
        .iter()
        .map(|f| f.slug.clone())
        .collect();
    for c in &req.functions {
        let c = c.trim();
        match functions.iter().find(|f| f.slug == c) {
            _ if c == crate::config::ALL_FUNCTIONS => {}
            None => blockers.push(format!("Edge Function {c} is not in this backup")),
            Some(f) if f.problem.is_some() => blockers.push(format!(
                "Edge Function {c} cannot be deployed from this backup: {}",
                f.problem.as_deref().unwrap_or_default()
            )),
            Some(_) => {}
        }
    }
    if !req.functions.is_empty() && will_deploy.is_empty() && blockers.is_empty() {
        blockers.push(
            "none of the chosen Edge Functions differs from what the project runs".to_string(),
        );
    }
    let vault =
        crate::config::vault::plan(api, &archived, &req.project, project_ref, req.vault_key)
            .await?;
    if req.vault_key && vault.state == crate::config::vault::VaultKeyState::NotInBackup {
        blockers.push(
            "the Vault root key cannot be set: this backup does not hold it (only encrypted \
             backups do)"
                .to_string(),
        );
    }
    if req.vault_key && vault.state == crate::config::vault::VaultKeyState::TargetUnknown {
        blockers.push(format!(
            "the Vault root key cannot be set: Offsite cannot read {}'s key (the plan's Vault \
             line says why)",
            req.project
        ));
    }
    Ok(ConfigPlan {
        vault,
        project: req.project.clone(),
        project_ref: project_ref.to_string(),
        redacted: archived.redactions.clone(),
        diffs,
        will_write,
        functions,
        will_deploy,
        blockers,
    })
}

/// Set the project's Vault root key to the backup's when the plan says so: before the database
/// is restored (its Vault rows are encrypted with that key). Returns whether it was set.
pub(crate) async fn set_vault_key(
    archive: &Path,
    plan: &ConfigPlan,
    api: &GuardedManagementApi,
) -> Result<bool> {
    if !plan.vault.will_set {
        return Ok(false);
    }
    let archived = archived_config(archive)?;
    crate::config::vault::set(api, &plan.project_ref, &archived).await?;
    Ok(true)
}

/// Write back the settings the plan chose, then deploy the functions it chose (from `archive`).
pub(crate) async fn apply_config(
    archive: &Path,
    plan: &ConfigPlan,
    api: &GuardedManagementApi,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<(ApplyReport, Vec<DeployedFunction>)> {
    let applied = apply_chosen_settings(plan, api, reporter, cancel).await?;
    if plan.will_deploy.is_empty() {
        return Ok((applied, Vec::new()));
    }
    let archived = archived_config(archive)?;
    let which: Vec<_> = plan
        .functions
        .iter()
        .filter(|f| plan.will_deploy.contains(&f.slug))
        .cloned()
        .collect();
    let deployed = deploy_functions(api, &plan.project_ref, &archived, &which, reporter, cancel)
        .await
        .map_err(|e| {
            if applied.applied.is_empty() {
                e
            } else {
                let n = applied.applied.len();
                e.context(format!(
                    "{} {} written back before it",
                    crate::words::count(n, "setting"),
                    if n == 1 { "was" } else { "were" }
                ))
            }
        })?;
    Ok((applied, deployed))
}

async fn apply_chosen_settings(
    plan: &ConfigPlan,
    api: &GuardedManagementApi,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<ApplyReport> {
    let picked: Vec<SettingDiff> = plan
        .diffs
        .iter()
        .filter(|d| {
            plan.will_write
                .contains(&format!("{}:{}", d.file, d.setting))
        })
        .cloned()
        .collect();
    if picked.is_empty() {
        return Ok(ApplyReport {
            applied: Vec::new(),
            skipped: Vec::new(),
        });
    }
    apply_settings(api, &plan.project_ref, &picked, reporter, cancel).await
}
