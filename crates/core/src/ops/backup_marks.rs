//! `offsite pin|unpin BACKUP` and a project's canary thresholds: the engine's entry points for
//! what is said about a backup beyond its file ([`crate::catalog::BackupMarks`]).

use crate::backup::canary::CanaryThresholds;
use crate::catalog::BackupMarks;
use crate::engine::Engine;
use crate::error::Result;
use std::collections::HashMap;

impl Engine {
    /// Pin (`true`: kept by every retention, reason "pinned") or unpin a backup, by its
    /// catalog id; returns its marks.
    pub async fn pin_backup(&self, backup_id: &str, pinned: bool) -> Result<BackupMarks> {
        self.catalog.set_pinned(backup_id, pinned).await?;
        self.catalog.marks_of(backup_id).await
    }

    /// The marks of a project's backups (the canary's verdict, note, who started it, pin), by
    /// backup id.
    pub async fn backup_marks(&self, project: &str) -> Result<HashMap<String, BackupMarks>> {
        let p = self.catalog.project(project).await?;
        self.catalog.backup_marks(&p.id).await
    }

    /// A project's canary thresholds (the defaults when it set none).
    pub async fn canary_thresholds(&self, project: &str) -> Result<CanaryThresholds> {
        super::canary::thresholds(self, project).await
    }

    /// Save a project's canary thresholds (`None`: back to the defaults); returns what applies.
    pub async fn set_canary_thresholds(
        &self,
        project: &str,
        thresholds: Option<CanaryThresholds>,
    ) -> Result<CanaryThresholds> {
        super::canary::set_thresholds(self, project, thresholds).await
    }
}

impl Engine {
    /// A project's recovery targets (RPO and RTO; `None`: none set).
    pub async fn targets(&self, project: &str) -> Result<crate::schedule::Targets> {
        let p = self.catalog.project(project).await?;
        self.catalog.targets(&p.id).await
    }

    /// Save a project's recovery targets (a `None` clears that target); returns what applies.
    pub async fn set_targets(
        &self,
        project: &str,
        targets: crate::schedule::Targets,
    ) -> Result<crate::schedule::Targets> {
        let p = self.catalog.project(project).await?;
        self.catalog.set_targets(&p.id, targets).await?;
        self.catalog.targets(&p.id).await
    }
}
