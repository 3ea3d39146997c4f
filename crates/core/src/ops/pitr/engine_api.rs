//! The engine's point-in-time calls (docs/pitr.md): the front ends' way into [`super`], kept
//! beside it rather than in `engine.rs`.

use crate::engine::Engine;
use crate::error::Result;

impl Engine {
    /// Start capturing project `name`'s changes: publication, slot, base backup; windows kept
    /// `keep_within` seconds when given.
    pub async fn pitr_enable(
        &self,
        name: &str,
        max_retained: Option<u64>,
        keep_within: Option<i64>,
    ) -> Result<super::PitrEnabled> {
        super::enable(self, name, max_retained, keep_within).await
    }
    /// Start capturing project `name` in `mode` (`logical` or `physical`; docs/pitr.md).
    pub async fn pitr_enable_mode(
        &self,
        name: &str,
        mode: &str,
        max_retained: Option<u64>,
        keep_within: Option<i64>,
    ) -> Result<super::PitrEnabled> {
        let mode = crate::pitr::physical::CaptureMode::parse(mode)?;
        super::keep::enable_mode(self, name, mode, max_retained, keep_within).await
    }
    /// Set `REPLICA IDENTITY FULL` on the tables `which` names (checked: existing, this role's,
    /// logged, without one), then capture them: start capturing, or start a new chain with
    /// them when capture runs.
    pub async fn pitr_enable_identity_full(
        &self,
        name: &str,
        which: &crate::pitr::server::IdentityFull,
        max_retained: Option<u64>,
        keep_within: Option<i64>,
    ) -> Result<super::PitrEnabled> {
        super::enable_identity_full(self, name, which, max_retained, keep_within).await
    }
    /// Which captures `name`'s server and role allow, and why not the other.
    pub async fn pitr_modes(&self, name: &str) -> Result<crate::pitr::physical::Modes> {
        super::physical::modes(self, name).await
    }
    /// Remove `name`'s windows that ended over `keep_within` seconds ago (`None`: the stored
    /// setting); never the newest.
    pub async fn pitr_prune(
        &self,
        name: &str,
        keep_within: Option<i64>,
        dry_run: bool,
    ) -> Result<super::prune::PitrPruned> {
        super::prune::prune(self, name, keep_within, dry_run).await
    }
    /// Capture until cancelled (a pass every `every`).
    pub async fn pitr_run(
        &self,
        name: &str,
        every: std::time::Duration,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<()> {
        super::run(self, name, every, cancel).await
    }
    /// One pass keeping `name` captured: read the slot, start a new base after a schema change
    /// (and, with `want.restart`, when no chain runs).
    pub async fn pitr_keep(
        &self,
        name: &str,
        want: super::keep::KeepCapturing,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<super::keep::KeepPass> {
        super::keep::keep(self, name, want, cancel).await
    }
    /// Wait `every` between capture passes of the projects `names`, or less: until one's slot
    /// holds more than its limit (its next pass drops it), or `cancel`.
    pub async fn pitr_wait(
        &self,
        names: &[String],
        every: std::time::Duration,
        cancel: &tokio_util::sync::CancellationToken,
    ) {
        super::watch::between_passes(self, names, every, cancel).await
    }
    /// The projects whose capture runs (an active chain), by name; no server is asked.
    pub async fn pitr_capturing(&self) -> Result<Vec<String>> {
        self.catalog.pitr_active_projects().await
    }
    /// Capture every project with point-in-time capture enabled until cancelled.
    pub async fn pitr_run_all(
        &self,
        every: std::time::Duration,
        cancel: &tokio_util::sync::CancellationToken,
    ) {
        super::run_all(self, every, cancel).await
    }
    /// Check every change segment of `name`: checksum, decryption, every record and message.
    pub async fn pitr_verify(&self, name: &str) -> Result<super::verify::PitrVerified> {
        super::verify::verify(self, name).await
    }
    /// The project whose point-in-time window starts at backup `backup_id` (its base), if any:
    /// `offsite verify` of a base says its segments are checked by `offsite pitr verify`.
    pub async fn pitr_window_of_base(&self, backup_id: &str) -> Result<Option<String>> {
        let Ok(b) = self.catalog.backup(backup_id).await else {
            return Ok(None);
        };
        if !self
            .catalog
            .pitr_base_ids(&b.project_id)
            .await?
            .contains(&b.id)
        {
            return Ok(None);
        }
        Ok(Some(self.catalog.project_by_id(&b.project_id).await?.name))
    }
    /// The capture as an agent serves it (`GET …/pitr`): status and chains, from the catalog.
    pub async fn pitr_capture_view(
        &self,
        name: &str,
    ) -> Result<crate::sources::agent_wire::PitrCapture> {
        super::serve::capture(self, name).await
    }
    /// The registered segment an agent may serve: path, size, SHA-256 (`not_found` for any
    /// name the catalog did not register for that chain of that project).
    pub async fn pitr_segment_file(
        &self,
        name: Option<&str>,
        chain_id: &str,
        file: &str,
    ) -> Result<(std::path::PathBuf, u64, String)> {
        super::serve::segment_file(self, name, chain_id, file).await
    }
    /// The Storage objects' versions the capture kept, as an agent serves them
    /// (`GET …/pitr/objects`).
    pub async fn pitr_objects_view(
        &self,
        name: &str,
    ) -> Result<crate::sources::agent_wire::PitrObjects> {
        super::serve_objects::objects(self, name).await
    }
    /// A kept object's file an agent may serve (`<sha256>` or `<sha256>.age`): path, size,
    /// and the SHA-256 of the bytes it holds ([`super::serve_objects`]).
    pub async fn pitr_object_file(
        &self,
        name: &str,
        file: &str,
    ) -> Result<(std::path::PathBuf, u64, String)> {
        super::serve_objects::object_file(self, name, file).await
    }
    pub async fn pitr_status(&self, name: &str) -> Result<super::PitrStatus> {
        super::status(self, name).await
    }
    /// Drop the slot and the publication; end the chains (their segments stay restorable).
    pub async fn pitr_disable(&self, name: &str) -> Result<bool> {
        super::disable(self, name).await
    }
    /// The plan of a restore of `name` to `at` (µs since the epoch).
    pub async fn pitr_plan(&self, name: &str, at: i64) -> Result<super::restore::PitrPlan> {
        super::restore::plan(self, name, at).await
    }
    /// Restore `name` as it was at `at` into `to` (a URL or a project's name).
    pub async fn pitr_restore(
        &self,
        name: &str,
        at: i64,
        to: &str,
        password: Option<String>,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<super::restore::PitrRestored> {
        super::restore::run(self, name, at, to, password, None, cancel).await
    }
    /// [`pitr_restore`](Self::pitr_restore) into a target as the app names it: a saved project,
    /// or a database on a server (by its parts or a URL, the password beside it); with
    /// `create_database`, a missing database is created empty first and removed again if the
    /// restore fails ([`super::restore::run_into`]).
    pub async fn pitr_restore_to(
        &self,
        name: &str,
        at: i64,
        to: &crate::restore::DatabaseTo,
        create_database: bool,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<super::restore::PitrRestored> {
        super::restore::run_into(self, name, at, to, create_database, cancel).await
    }
    /// [`pitr_restore`](Self::pitr_restore) as `as_role`, a less privileged role of the target:
    /// the base restored and the changes replayed with its rights only (`restore --at TIME
    /// --as-role ROLE`; see [`crate::postgres::restore::as_role`]).
    pub async fn pitr_restore_as(
        &self,
        name: &str,
        at: i64,
        to: &str,
        password: Option<String>,
        as_role: Option<super::restore::AsRole<'_>>,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<super::restore::PitrRestored> {
        super::restore::run(self, name, at, to, password, as_role, cancel).await
    }
    /// The plan of restoring a project's components as they were at a time (database, storage,
    /// configuration: a section each, with the point it comes from; changes nothing).
    pub async fn plan_restore_at(
        &self,
        req: &super::whole::ProjectAtRequest,
    ) -> Result<super::whole::ProjectAtPlan> {
        super::whole::plan(self, req).await
    }
    /// Restore a project's components as they were at a time ([`super::whole`]).
    pub async fn restore_at(
        &self,
        req: super::whole::ProjectAtRequest,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<super::whole::ProjectAtReport> {
        super::whole::run(self, req, cancel).await
    }
    /// Restore `name`'s physical capture as it was at `at` into a new server's data folder.
    pub async fn pitr_restore_data_dir(
        &self,
        name: &str,
        at: i64,
        dest: &std::path::Path,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<super::restore::PitrRestored> {
        super::restore::run_data_dir(self, name, at, dest, cancel).await
    }
    /// `PROJECT@TIME` materialised: the project's database as it was at `r.at`, in a temporary
    /// archive removed when the value is dropped ([`super::at`]).
    pub async fn materialise_at(
        &self,
        r: &crate::ops::resolve::AtRef,
        reporter: &crate::progress::Reporter,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<super::at::AtArchive> {
        super::at::materialise(self, r, reporter, cancel).await
    }
}
