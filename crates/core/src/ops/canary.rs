//! The canary after every backup (made here, scheduled, pulled from a backup server or an
//! artifact bucket): the new backup compared with the previous good backup of the same project and
//! type ([`crate::backup::canary::compare`]); a drop past the project's thresholds marks it
//! suspicious in the catalog (kept by retention, shown amber) and queues one
//! `backup_suspicious` alert naming what dropped.
//!
//! "Previous good": the newest backup of the same type taken before it that is not damaged or
//! missing (verified or unverified), suspicious or not, not a per-tenant archive, and of the same
//! selection (a selective backup with a selective one of the same choice, a whole one with a
//! whole one) — so a drop alerts once, and the backups after it are compared with the smaller one.

use crate::archive::Manifest;
use crate::backup::canary::{compare, CanaryThresholds, Finding, Side};
use crate::catalog::{format_timestamp, BackupOrigin, BackupRecord, BackupStatus, Project};
use crate::engine::Engine;
use crate::error::Result;
use crate::notify::events::new_event;
use crate::notify::{EventKind, EventProject};
use serde::Serialize;

/// What the canary said of one backup.
#[derive(Debug, Clone, Serialize)]
pub struct CanaryVerdict {
    /// The backup it was compared with.
    pub compared_with: String,
    pub findings: Vec<Finding>,
}

fn manifest_of(b: &BackupRecord) -> Option<Manifest> {
    serde_json::from_str(b.manifest_json.as_deref()?).ok()
}

/// The previous good backup of `new`'s project and type (see the module's description).
async fn previous_good(
    engine: &Engine,
    new: &BackupRecord,
) -> Result<Option<(BackupRecord, Manifest)>> {
    let backups = engine.catalog.backups(&new.project_id).await?;
    // A selective backup is compared with one of the same selection: an hourly backup that
    // leaves out the logs' rows is not a drop from last night's full one.
    let selection = manifest_of(new).and_then(|m| m.selection);
    Ok(backups
        .into_iter()
        .filter(|b| {
            b.id != new.id
                && b.backup_type == new.backup_type
                && b.created_at <= new.created_at
                && matches!(b.status, BackupStatus::Verified | BackupStatus::Unverified)
                && b.tenant().is_none()
        })
        .filter_map(|b| manifest_of(&b).map(|m| (b, m)))
        .find(|(_, m)| m.selection == selection))
}

/// Compare a newly registered backup with the previous good one, record the verdict and queue
/// the alert. `None`: nothing to compare with (the first backup of its type, an imported file, a
/// per-tenant archive).
pub(crate) async fn check(
    engine: &Engine,
    project: &Project,
    new: &BackupRecord,
) -> Result<Option<CanaryVerdict>> {
    if new.origin == BackupOrigin::Imported || new.tenant().is_some() {
        return Ok(None);
    }
    let Some(new_manifest) = manifest_of(new) else {
        return Ok(None);
    };
    let Some((previous, prev_manifest)) = previous_good(engine, new).await? else {
        return Ok(None);
    };
    let thresholds = engine.catalog.canary_thresholds(&project.id).await?;
    let findings = compare(
        Side {
            size: previous.size,
            manifest: &prev_manifest,
        },
        Side {
            size: new.size,
            manifest: &new_manifest,
        },
        thresholds,
    );
    let reasons: Vec<String> = findings.iter().map(Finding::describe).collect();
    engine
        .catalog
        .set_canary_verdict(&new.id, &previous.id, &reasons)
        .await?;
    if !findings.is_empty() {
        alert(engine, project, new, &previous, &findings, thresholds).await?;
    }
    Ok(Some(CanaryVerdict {
        compared_with: previous.id,
        findings,
    }))
}

/// [`check`] where a backup was just registered: a failure of the canary never fails the backup
/// (it goes to the log).
/// Returns the reasons it is suspicious (empty: it is not, or it could not be compared).
pub(crate) async fn after_register(
    engine: &Engine,
    project: &Project,
    new: &BackupRecord,
) -> Vec<String> {
    match check(engine, project, new).await {
        Ok(v) => v
            .map(|v| v.findings.iter().map(Finding::describe).collect())
            .unwrap_or_default(),
        Err(e) => {
            tracing::warn!(project = %project.name, backup = %new.id, "the canary could not compare: {e}");
            Vec::new()
        }
    }
}

async fn alert(
    engine: &Engine,
    project: &Project,
    new: &BackupRecord,
    previous: &BackupRecord,
    findings: &[Finding],
    thresholds: CanaryThresholds,
) -> Result<()> {
    let reasons: Vec<String> = findings.iter().map(Finding::describe).collect();
    let summary = format!(
        "Backup of {} is suspicious: {}",
        project.name,
        reasons.join("; ")
    );
    let who = EventProject {
        id: project.id.clone(),
        name: project.name.clone(),
    };
    let now = format_timestamp(engine.clock.now());
    let mut e = new_event(EventKind::BackupSuspicious, &now, Some(who), summary);
    e.backup_id = Some(new.id.clone());
    e.job_id = new.job_id.clone();
    e.size_bytes = Some(new.size);
    e.details = serde_json::json!({
        "reasons": reasons,
        "findings": findings,
        "compared_with": {
            "backup_id": previous.id,
            "created_at": previous.created_at,
            "size_bytes": previous.size,
        },
        "thresholds": thresholds,
    });
    engine
        .catalog
        .enqueue_event(&e, Some(&project.id), None)
        .await?;
    Ok(())
}

/// A project's canary thresholds (by name; the defaults when it set none).
pub(crate) async fn thresholds(engine: &Engine, project: &str) -> Result<CanaryThresholds> {
    let p = engine.catalog.project(project).await?;
    engine.catalog.canary_thresholds(&p.id).await
}

/// Save a project's canary thresholds (`None`: back to the defaults); returns what now applies.
pub(crate) async fn set_thresholds(
    engine: &Engine,
    project: &str,
    thresholds: Option<CanaryThresholds>,
) -> Result<CanaryThresholds> {
    let p = engine.catalog.project(project).await?;
    engine
        .catalog
        .set_canary_thresholds(&p.id, thresholds)
        .await?;
    engine.catalog.canary_thresholds(&p.id).await
}
