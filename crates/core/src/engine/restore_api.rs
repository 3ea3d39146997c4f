//! The engine's restore calls: a target's connection, the plan, the restore job, its parity
//! report again, and the safety backups a replacing restore leaves. Each hands over to
//! `ops::restore*`; kept apart from `mod.rs` so the facade stays readable.

use super::*;
use crate::parity::ParityReport;

impl Engine {
    /// The connection and password a database target resolves to (a saved project's, or the
    /// connection's).
    pub async fn restore_target(
        &self,
        to: &crate::restore::DatabaseTo,
    ) -> Result<crate::postgres::restore::RestoreTarget> {
        ops::restore_parts::database_target(self, to).await
    }
    /// The plan of a restore, a section per component asked for (changes nothing): what
    /// `--dry-run` prints and the wizard reviews.
    pub async fn plan_restore(&self, req: &RestoreRequest) -> Result<RestorePlan> {
        ops::restore::plan(self, req).await
    }
    /// A restore's parity report made again now (the backup's source against `req`'s target).
    pub async fn restore_parity(&self, req: &RestoreRequest) -> Result<ParityReport> {
        ops::restore::parity(self, req).await
    }
    /// Restore the components asked for as one job (database, then storage, then
    /// configuration), with one report.
    pub async fn restore(&self, req: RestoreRequest, start: JobStart) -> Result<RestoreOutcome> {
        let replacing = req.database.as_ref().is_some_and(|d| d.options.replace);
        let outcome = ops::restore::run(self, req, start).await;
        // A restore that may have taken a safety backup: the safety backups' own policy.
        if replacing {
            ops::safety::prune(self).await;
        }
        outcome
    }
    /// The safety backups of a project's database (taken before `--replace` restores), newest
    /// first; pruned by their own policy (settings `safety_keep_last`, `safety_keep_days`).
    pub async fn safety_backups(&self, project: &str) -> Result<Vec<ops::safety::SafetyBackup>> {
        ops::safety::of_project(self, project).await
    }
}
