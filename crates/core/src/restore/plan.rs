//! The one restore plan (a section per component) and the one report of the job.

use super::{Component, DatabasePlan, DatabaseReport};
use crate::config::{ApplyReport, DeployedFunction, FunctionChange, SettingDiff};
use crate::storage::{StoragePlan, StorageRestoreReport};
use serde::Serialize;
use std::path::PathBuf;

/// What restoring the configuration would change.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConfigPlan {
    /// The project written to (its name) and its Supabase ref.
    pub project: String,
    pub project_ref: String,
    /// Settings whose archived value differs from the project's current one.
    pub diffs: Vec<SettingDiff>,
    /// Settings that were redacted in the backup (never written back).
    pub redacted: Vec<String>,
    /// The settings that will be written back (`file:setting`, from the request's choice);
    /// empty: nothing is written.
    pub will_write: Vec<String>,
    /// Every Edge Function in the backup and what deploying it would do.
    pub functions: Vec<FunctionChange>,
    /// The functions that will be deployed (slugs, from the request's choice); empty: none.
    pub will_deploy: Vec<String>,
    /// Vault's root key: whether the target's is the backup's, and whether it will be set.
    pub vault: crate::config::vault::VaultPlan,
    /// Why execution would refuse, if it would.
    pub blockers: Vec<String>,
}

/// What restoring a backup does: a section per component asked for (absent: not restored).
/// The same plan drives `--dry-run`, the wizard's review and the execution.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RestorePlan {
    pub archive: PathBuf,
    pub database: Option<DatabasePlan>,
    pub storage: Option<StoragePlan>,
    pub config: Option<ConfigPlan>,
}

impl RestorePlan {
    /// Why execution would refuse, each prefixed with its component ("storage: …").
    pub fn blockers(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut add = |c: Component, bs: &[String]| {
            out.extend(bs.iter().map(|b| format!("{}: {b}", c.label())));
        };
        if let Some(d) = &self.database {
            add(Component::Database, &d.blockers);
        }
        if let Some(s) = &self.storage {
            add(Component::Storage, &s.blockers);
        }
        if let Some(c) = &self.config {
            add(Component::Config, &c.blockers);
        }
        out
    }
    /// The components planned, in the order they are restored.
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

/// What writing the configuration back did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConfigReport {
    pub plan: ConfigPlan,
    pub applied: ApplyReport,
    /// The Edge Functions deployed, in order.
    pub deployed: Vec<DeployedFunction>,
    /// The project's Vault root key was set to the backup's (before the database).
    pub vault_key_set: bool,
}

/// What a restore did: a section per component restored, each with the plan it executed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RestoreReport {
    pub archive: PathBuf,
    pub database: Option<DatabaseReport>,
    pub storage: Option<StorageRestoreReport>,
    pub config: Option<ConfigReport>,
    /// Part by part, the backup's source against the restored database (a whole database's
    /// restore; `None` otherwise): [`crate::parity`].
    pub parity: Option<crate::parity::ParityReport>,
    /// Every section that has one validated (the database's row counts).
    pub ok: bool,
    pub duration_ms: u64,
}

impl RestoreReport {
    /// The plan the job executed (each section's own).
    pub fn plan(&self) -> RestorePlan {
        RestorePlan {
            archive: self.archive.clone(),
            database: self.database.as_ref().map(|d| d.plan.clone()),
            storage: self.storage.as_ref().map(|s| s.plan.clone()),
            config: self.config.as_ref().map(|c| c.plan.clone()),
        }
    }
}

/// A restore job's id and report.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RestoreOutcome {
    pub job_id: String,
    pub report: RestoreReport,
}
