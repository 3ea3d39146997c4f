//! The parity report of a restore (issue 66, item 3), part by part: the database's parts
//! ([`crate::parity::check`] on the restored database), Storage's objects (the storage restore
//! planned again against its target) and the configuration's parts (the target project's
//! configuration fetched again). Never fails a restore: what cannot be compared says why.

use crate::config::{fetch_config, ConfigOptions};
use crate::parity::{ParityReport, PartParity};
use crate::postgres::restore::RestoreTarget;
use crate::progress::Reporter;
use crate::sources::supabase_api::GuardedManagementApi;
use crate::storage::{StorageRestoreOptions, StorageTargetRef};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// What one restore's parity compares.
#[derive(Default)]
pub(crate) struct Sides<'a> {
    /// The restored database (a whole database's restore only).
    pub database: Option<&'a RestoreTarget>,
    /// The storage restore's target, options and base backups.
    pub storage: Option<(
        &'a StorageTargetRef,
        &'a StorageRestoreOptions,
        &'a BTreeMap<String, PathBuf>,
    )>,
    /// The configuration's target project: its name, ref and API.
    pub config: Option<(&'a str, &'a str, &'a GuardedManagementApi)>,
}

/// The report of every side; `None` when nothing had anything to compare.
pub(crate) async fn report(
    archive: &Path,
    sides: Sides<'_>,
    cancel: &CancellationToken,
) -> Option<ParityReport> {
    let (mut parts, mut notes) = (Vec::new(), Vec::new());
    if let Some(target) = sides.database {
        if let Some(r) = database(archive, target, cancel).await {
            parts.extend(r.parts);
            notes.extend(r.note);
        }
    }
    if let Some((target, opts, files)) = sides.storage {
        match storage(archive, target, opts, files).await {
            Ok(p) => parts.push(p),
            Err(e) => notes.push(format!(
                "Storage's objects could not be compared: {}",
                e.message()
            )),
        }
    }
    if let Some((project, project_ref, api)) = sides.config {
        match config(archive, project, project_ref, api, cancel).await {
            Ok(p) => parts.extend(p),
            Err(e) => notes.push(format!(
                "the configuration could not be compared: {}",
                e.message()
            )),
        }
    }
    ParityReport::merge(parts, notes)
}

/// The database's parts; `None` when no part has rows or objects. A check that cannot run is a
/// report with its reason as the note.
pub(crate) async fn database(
    archive: &Path,
    target: &RestoreTarget,
    cancel: &CancellationToken,
) -> Option<ParityReport> {
    let checked = async {
        let manifest = crate::archive::read_manifest(archive)?;
        let mut conn = target.spec.connect(target.password.as_deref()).await?;
        let report = crate::parity::check(&mut conn, &manifest, cancel).await;
        let _ = sqlx::Connection::close(conn).await;
        report
    };
    checked.await.unwrap_or_else(|e| {
        Some(ParityReport {
            parts: Vec::new(),
            equal: true,
            note: Some(format!("the parity check could not run: {}", e.message())),
        })
    })
}

/// Storage's objects: the restore planned again in mirror mode (names the target's extra keys;
/// a plan changes nothing).
async fn storage(
    archive: &Path,
    target: &StorageTargetRef,
    opts: &StorageRestoreOptions,
    files: &BTreeMap<String, PathBuf>,
) -> crate::error::Result<PartParity> {
    let opts = StorageRestoreOptions {
        mirror: true,
        journal: None,
        ..opts.clone()
    };
    let plan = super::restore_parts::plan_storage(archive, files.clone(), target, &opts).await?;
    Ok(crate::parity::storage::objects(&plan))
}

/// The configuration's parts: the archived configuration against the target project's, fetched
/// again, and the Vault root key's state.
async fn config(
    archive: &Path,
    project: &str,
    project_ref: &str,
    api: &GuardedManagementApi,
    cancel: &CancellationToken,
) -> crate::error::Result<Vec<PartParity>> {
    let archived = super::restore_parts::archived_config(archive)?;
    let current = fetch_config(
        api,
        project_ref,
        &ConfigOptions { redact: true },
        &Reporter::silent(),
        cancel,
    )
    .await?;
    let mut parts = crate::parity::config::config(&archived, &current);
    let vault = crate::config::vault::plan(api, &archived, project, project_ref, false).await?;
    parts.extend(crate::parity::config::vault(vault.state, project));
    Ok(parts)
}
