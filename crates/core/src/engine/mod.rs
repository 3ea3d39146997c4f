//! The engine's front door: what the command line, the desktop shell and (later) the agent call.
//!
//! It opens the catalog, the secret store and the clock, and hands every request off, in one
//! line, to its operation in [`crate::ops`]. Every backup, verify, restore and import is a job
//! (run by the one job runner, `ops/runner.rs`): an id and a row in the catalog, its project's lock while it
//! runs, progress through one [`crate::progress::Progress`] sink, and an end: succeeded, failed
//! (with the error's code, message and hint) or cancelled.

use crate::catalog::{
    BackupRecord, BackupRow, Catalog, ChangeBatch, JobRecord, Project, ScheduleKind,
};
use crate::clock::{self, SharedClock};
use crate::error::{Error, ErrorKind, Result};
use crate::import::ImportPreview;
use crate::ops::{self, *};
use crate::postgres::conn::{ConnSpec, TlsMode};
use crate::restore::{RestoreOutcome, RestorePlan, RestoreRequest};
use crate::schedule::{RetentionPolicy, ScheduleSpec};
use crate::secrets::{self, project_password_key, Lookup, SecretStore};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

mod drill_api;
mod notify_api;
mod restore_api;

/// How to open the engine: `EngineConfig::new(secrets)`, then optionally `.data_dir(..)`,
/// `.pg_bin(..)`, `.clock(..)`.
pub struct EngineConfig {
    /// The data folder (catalog, default backup folder, locks). `None`: the platform default.
    pub data_dir: Option<PathBuf>,
    pub secrets: Arc<dyn SecretStore>,
    /// Where pg_dump/pg_restore are (wins over the saved setting and the search).
    pub pg_bin: Option<PathBuf>,
    /// Where "now" comes from (default: the system clock).
    pub clock: SharedClock,
    /// Storage and configuration inputs from outside the catalog (the agent's local folders and
    /// files), asked first by every backup that was not given its inputs.
    pub inputs: Option<Arc<dyn ops::BackupInputs>>,
}

impl EngineConfig {
    /// The platform's data folder, the saved pg_dump setting, the system clock.
    pub fn new(secrets: Arc<dyn SecretStore>) -> Self {
        EngineConfig {
            data_dir: None,
            secrets,
            pg_bin: None,
            clock: clock::system(),
            inputs: None,
        }
    }
    /// Another data folder (`None`: the platform default).
    pub fn data_dir(mut self, dir: impl Into<Option<PathBuf>>) -> Self {
        self.data_dir = dir.into();
        self
    }
    /// A pg_dump/pg_restore folder from the command line or environment (`None`: the setting).
    pub fn pg_bin(mut self, dir: impl Into<Option<PathBuf>>) -> Self {
        self.pg_bin = dir.into();
        self
    }
    /// Another clock (tests: [`crate::clock::ManualClock`]).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
    /// Backup inputs from outside the catalog (see [`ops::BackupInputs`]).
    pub fn inputs(mut self, inputs: Arc<dyn ops::BackupInputs>) -> Self {
        self.inputs = Some(inputs);
        self
    }
}

/// The engine. Cheap to clone: clones share the catalog, the secret store and the settings.
#[derive(Clone)]
pub struct Engine {
    pub(crate) catalog: Catalog,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) data_dir: PathBuf,
    /// From the configuration (`--pg-bin`, `OFFSITE_PG_BIN`): wins over the saved setting.
    pub(crate) pg_bin_configured: Option<PathBuf>,
    /// The saved settings (shared by every clone of this engine).
    pub(crate) settings: Arc<RwLock<EngineSettings>>,
    pub(crate) clock: SharedClock,
    /// See [`EngineConfig::inputs`].
    pub(crate) inputs: Option<Arc<dyn ops::BackupInputs>>,
    /// The capture slots watched now (shared by every clone).
    pub(crate) pitr_watches: Arc<ops::pitr::watch::Watches>,
}

impl Engine {
    /// Open the catalog in the data folder (bringing its schema up to date), mark jobs that
    /// a crashed process left running as interrupted, and settle what they left (their
    /// journals: see [`ops::interrupted`]).
    pub async fn open(config: EngineConfig) -> Result<Engine> {
        let data_dir = match config.data_dir {
            Some(d) => d,
            None => Catalog::default_data_dir()?,
        };
        let catalog = Catalog::open_with_clock(&data_dir, config.clock.clone()).await?;
        if let Some(keys) = diff_hash_keys(&data_dir) {
            crate::diff::set_hash_keys(keys);
        }
        let settings = ops::settings::load(&catalog).await?;
        let engine = Engine {
            catalog,
            secrets: config.secrets,
            data_dir,
            pg_bin_configured: config.pg_bin,
            settings: Arc::new(RwLock::new(settings)),
            clock: config.clock,
            inputs: config.inputs,
            pitr_watches: Arc::default(),
        };
        ops::runner::fail_interrupted_jobs(&engine).await?;
        // What an interrupted job left in its target: returned to how it was, or said.
        ops::interrupted::settle_all(&engine).await?;
        // A drill killed on the way left its throwaway cluster running: stop and remove it.
        ops::drill::sweep_clusters(&engine).await;
        Ok(engine)
    }

    // ---- what it opened ----

    /// The catalog, for reading (changes go through the engine's methods).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
    /// What opening the engine changed that the user should hear of (see [`Catalog::notes`]).
    pub fn notes(&self) -> &[String] {
        self.catalog.notes()
    }
    /// The data folder (catalog, default backup folder, locks).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    /// Where encrypted imports are decrypted while they are imported (private temporary
    /// folders, removed afterwards; swept at start-up after a killed run).
    pub fn decrypt_dir(&self) -> PathBuf {
        self.data_dir.join("decrypt")
    }
    /// Where "now" comes from.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }
    /// The folder of pg_dump/pg_restore in use, if one is configured (`--pg-bin` /
    /// `OFFSITE_PG_BIN`, else the saved setting).
    pub fn pg_bin(&self) -> Option<PathBuf> {
        self.pg_bin_configured
            .clone()
            .or_else(|| self.settings().pg_bin.map(PathBuf::from))
    }
    /// Where a project's backups go by default.
    pub fn backup_dir_of(&self, project: &Project) -> PathBuf {
        match (&project.backup_dir, self.settings().default_backup_dir) {
            (Some(d), _) => PathBuf::from(d),
            (None, Some(d)) => PathBuf::from(d).join(&project.name),
            (None, None) => self.data_dir.join("backups").join(&project.name),
        }
    }

    // ---- settings ----

    /// The engine's saved settings.
    pub fn settings(&self) -> EngineSettings {
        ops::settings::current(self)
    }
    /// Check and save the engine's settings; returns them as saved (nothing saved on error).
    pub async fn set_settings(&self, new: EngineSettings) -> Result<EngineSettings> {
        ops::settings::save(self, new).await
    }
    /// Save the engine's settings, plain settings and the scheduled runs' concurrency at once:
    /// every part is checked first, then all are saved in one transaction, or none.
    pub async fn save_settings(
        &self,
        change: ops::settings::SettingsChange,
    ) -> Result<EngineSettings> {
        ops::settings::save_all(self, change).await
    }
    /// A plain setting (the desktop's preferences; never a secret).
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        ops::settings::get(self, key).await
    }
    /// Save plain settings (not the engine's own: [`Engine::set_settings`] checks those).
    pub async fn set_plain_settings(&self, values: &[(&str, &str)]) -> Result<()> {
        ops::settings::set(self, values).await
    }
    /// Whether the desktop's automatic update check is due now (at most once a day, by this
    /// engine's clock; never when turned off).
    pub async fn update_check_due(&self) -> Result<ops::updates::CheckDue> {
        ops::updates::due(self).await
    }
    /// Save that updates were checked now; returns the time saved.
    pub async fn record_update_check(&self) -> Result<time::OffsetDateTime> {
        ops::updates::record_check(self).await
    }
    /// Whether updates are checked, and when they last were.
    pub async fn update_policy(&self) -> Result<(bool, Option<time::OffsetDateTime>)> {
        ops::updates::policy(self).await
    }
    /// Whether an update may be installed (restarting the app) now: no job running.
    pub async fn update_install_gate(&self) -> Result<ops::updates::InstallGate> {
        ops::updates::gate(self).await
    }
    /// The pg_dump/pg_restore pairs on this machine, with their versions.
    pub async fn tools(&self) -> Result<ToolsReport> {
        ops::settings::tools(self).await
    }

    // ---- projects ----

    /// Add a project (a password given or in its URL goes to the secret store, never the
    /// catalog).
    pub async fn add_project(&self, req: AddProject) -> Result<Project> {
        ops::projects::add(self, req).await
    }
    /// Add a project with its parts (storage, Supabase, default type, artifact bucket, backup
    /// server): everything is checked, its secrets written and the project registered with its
    /// parts in one transaction — or, on any failure, no secret is left and nothing registered.
    pub async fn add_project_with_components(
        &self,
        req: AddProject,
        parts: ops::NewComponents,
    ) -> Result<(Project, crate::catalog::Components)> {
        ops::new_project::add(self, req, parts).await
    }
    /// Change a project (`None` keeps a value); a rename moves its password along.
    pub async fn update_project(&self, name: &str, change: UpdateProject) -> Result<Project> {
        ops::projects::update(self, name, change).await
    }
    /// A project's components beside its database (storage, Supabase, default backup type).
    pub async fn components(&self, project: &str) -> Result<crate::catalog::Components> {
        ops::components::components(self, project).await
    }
    /// Every part of a project (database, storage, configuration) with whether Offsite
    /// captures it, restores it, and how it checks it, said for this project.
    pub async fn project_parts(&self, project: &str) -> Result<ops::parts::ProjectParts> {
        ops::parts::parts(self, project).await
    }
    /// Set (or with `None` remove) a project's storage; its secret goes to the keychain.
    pub async fn set_storage(
        &self,
        project: &str,
        settings: Option<ops::StorageSettings>,
    ) -> Result<crate::catalog::Components> {
        ops::components::set_storage(self, project, settings).await
    }
    /// Set (or with `None` remove) a project's Supabase ref and access token (keychain).
    pub async fn set_supabase(
        &self,
        project: &str,
        settings: Option<ops::SupabaseSettings>,
    ) -> Result<crate::catalog::Components> {
        ops::components::set_supabase(self, project, settings).await
    }
    /// Set the type of backup a project makes by default (and on schedule).
    pub async fn set_default_backup_type(
        &self,
        project: &str,
        backup_type: &str,
    ) -> Result<crate::catalog::Components> {
        ops::components::set_default_type(self, project, backup_type).await
    }
    /// What the project's database backups hold (a selective backup; empty: everything).
    pub async fn selection(&self, project: &str) -> Result<crate::selection::BackupSelection> {
        ops::selection::selection(self, project).await
    }
    /// Save what the project's database backups hold (the empty selection: everything).
    pub async fn set_selection(
        &self,
        project: &str,
        selection: crate::selection::BackupSelection,
    ) -> Result<crate::selection::BackupSelection> {
        ops::selection::set_selection(self, project, selection).await
    }
    /// "Test storage": buckets with object counts and sizes, and whether objects can be read.
    pub async fn test_storage(&self, project: &str) -> Result<ops::StorageTestReport> {
        ops::components::test_storage(self, project).await
    }
    /// Remove a project and its password; its backup files stay on disk. A project whose key
    /// encrypts backups is refused (`needs_consent`): see
    /// [`remove_project_with`](Self::remove_project_with).
    pub async fn remove_project(&self, name: &str) -> Result<()> {
        self.remove_project_with(name, ops::RemoveProject::default())
            .await
            .map(|_| ())
    }
    /// Remove a project; one whose key encrypts backups needs its name typed back
    /// (`typed_name`), and its key is kept in the keychain, marked orphaned, unless
    /// `delete_key`.
    pub async fn remove_project_with(
        &self,
        name: &str,
        opts: ops::RemoveProject,
    ) -> Result<ops::RemovedProject> {
        ops::keys::remove_project(self, name, opts).await
    }
    /// Every encryption key Offsite keeps: the projects' and the orphaned ones of removed
    /// projects.
    pub async fn keys(&self) -> Result<Vec<ops::KeyListing>> {
        ops::keys::list(self).await
    }
    /// The key kept for the removed project `name`, if any (a project added under that name
    /// takes it back).
    pub async fn orphaned_key(
        &self,
        name: &str,
    ) -> Result<Option<crate::catalog::OrphanedKeySummary>> {
        Ok(ops::keys::orphaned(self, name).await?.map(|k| k.summary()))
    }
    /// Delete the kept key of the removed project `name` (`typed` must be its name).
    pub async fn remove_kept_key(&self, name: &str, typed: Option<&str>) -> Result<()> {
        ops::keys::remove_kept(self, name, typed).await
    }
    /// A project's encryption settings (never a secret).
    pub async fn encryption(&self, project: &str) -> Result<ops::encryption::EncryptionSettings> {
        ops::encryption::get(self, project).await
    }
    /// Set, change or turn off a project's encryption; key mode returns the recovery key
    /// (shown once, here). Confirm it with [`confirm_recovery`](Self::confirm_recovery).
    pub async fn set_encryption(
        &self,
        project: &str,
        req: ops::encryption::SetEncryption,
    ) -> Result<ops::encryption::EncryptionSetup> {
        ops::encryption::set(self, project, req).await
    }
    /// The user enters the recovery key back (wrong → `wrong_key`).
    pub async fn confirm_recovery(
        &self,
        project: &str,
        item: &str,
    ) -> Result<ops::encryption::EncryptionSettings> {
        ops::encryption::confirm(self, project, item).await
    }
    /// The project's recovery key (identity file or passphrase) from the keychain.
    pub async fn export_key(&self, project: &str) -> Result<String> {
        ops::encryption::export_key(self, project).await
    }
    /// Save the project's recovery key to a file the user chose (mode 0600, replacing it).
    pub async fn save_recovery_item(&self, project: &str, path: &std::path::Path) -> Result<()> {
        ops::encryption::save_recovery_item(self, project, path).await
    }
    /// The encryption mode new projects start with.
    pub async fn default_encryption(&self) -> Result<ops::encryption::EncryptionMode> {
        ops::encryption::default_mode(self).await
    }
    /// The encryption mode new projects start with, and whether the user chose it (the
    /// first-run welcome asks until then).
    pub async fn default_encryption_choice(&self) -> Result<ops::encryption::DefaultEncryption> {
        ops::encryption::default_choice(self).await
    }
    /// Set the encryption mode new projects start with.
    pub async fn set_default_encryption(
        &self,
        mode: ops::encryption::EncryptionMode,
    ) -> Result<()> {
        self.catalog
            .set_settings_together(&[(
                ops::encryption::DEFAULT_ENCRYPTION_SETTING,
                Some(mode.as_str()),
            )])
            .await
    }
    /// Replace a project's stored password.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<()> {
        ops::projects::set_password(self, name, password).await
    }
    /// Add a validation query every drill of project `name` runs (see `drill::queries`).
    pub async fn add_validation_check(
        &self,
        name: &str,
        title: Option<&str>,
        sql: &str,
        expect: &str,
    ) -> Result<crate::catalog::ValidationCheck> {
        ops::checks::add(self, name, title, sql, expect).await
    }
    /// Project `name`'s validation queries.
    pub async fn validation_checks(
        &self,
        name: &str,
    ) -> Result<Vec<crate::catalog::ValidationCheck>> {
        ops::checks::list(self, name).await
    }
    /// Remove one of project `name`'s validation queries (its id, or a unique start of it).
    pub async fn remove_validation_check(
        &self,
        name: &str,
        id: &str,
    ) -> Result<crate::catalog::ValidationCheck> {
        ops::checks::remove(self, name, id).await
    }
    /// "Test connection" of a saved project.
    pub async fn test_project(&self, name: &str) -> Result<ConnectionReport> {
        ops::projects::test(self, name).await
    }
    /// "Test connection" of a connection that is not (yet) a project.
    pub async fn test_connection(
        &self,
        connection: &ProjectConnection,
        tls: Option<TlsMode>,
        password: Option<String>,
    ) -> Result<ConnectionReport> {
        ops::projects::test_unsaved(self, connection, tls, password).await
    }
    /// Every project, by name.
    pub async fn projects(&self) -> Result<Vec<Project>> {
        ops::queries::projects(self).await
    }
    /// The project of this name (`not_found` otherwise).
    pub async fn project(&self, name: &str) -> Result<Project> {
        ops::queries::project(self, name).await
    }
    /// A project with its newest backup and number of backups.
    pub async fn project_summary(&self, project: Project) -> Result<ProjectSummary> {
        ops::projects::summary(self, project).await
    }
    /// Every project's summary.
    pub async fn project_summaries(&self) -> Result<Vec<ProjectSummary>> {
        ops::projects::summaries(self).await
    }

    // ---- backups and jobs (lists) ----

    /// A project's backups, newest first, with checksums and manifests.
    pub async fn backups(&self, project: &str) -> Result<Vec<BackupRecord>> {
        ops::queries::backups(self, project).await
    }
    /// A project's backups, newest first, each marked `missing` when its archive file is gone.
    pub async fn backup_list(&self, project: &str) -> Result<Vec<ops::ListedBackup>> {
        ops::queries::backup_list(self, project).await
    }
    /// A project's backups as a list shows them (no checksums, no manifests).
    pub async fn backup_rows(&self, project: &str) -> Result<Vec<BackupRow>> {
        ops::queries::backup_rows(self, project).await
    }
    /// The backup with this id.
    pub async fn backup_record(&self, backup_id: &str) -> Result<BackupRecord> {
        ops::queries::backup(self, backup_id).await
    }
    /// When each of a project's sources was last tested and how it went (never-tested sources
    /// are absent; [`ops::tested_sources`]).
    pub async fn source_tests(&self, project: &str) -> Result<Vec<crate::catalog::SourceTest>> {
        ops::tested_sources::list(self, project).await
    }
    /// The file the window's "Show in folder" may reveal for `path`: a backup file the catalog
    /// knows or a safety backup, canonical; refused otherwise ([`ops::reveal`]).
    pub async fn revealable_file(&self, path: &str) -> Result<PathBuf> {
        ops::reveal::revealable(self, path).await
    }
    /// The archive `given` names: a path (an existing file always wins), a backup id (the
    /// catalog's or the archive's own, or a unique start of either) or `PROJECT:latest` (its
    /// newest backup whose file is here). `not_found`, with a hint, otherwise.
    pub async fn resolve_archive(&self, given: &str) -> Result<ResolvedArchive> {
        ops::resolve::resolve(self, given).await
    }
    /// The newest `limit` jobs of a project (by name), or of all.
    pub async fn jobs(&self, project: Option<&str>, limit: u32) -> Result<Vec<JobRecord>> {
        ops::queries::jobs(self, project, limit).await
    }
    /// The newest jobs matching a filter (project, kind, trigger, state), newest first.
    pub async fn job_history(&self, filter: &JobFilter) -> Result<Vec<JobRecord>> {
        ops::queries::job_history(self, filter).await
    }
    /// Show a running job as cancelling (its runner's token does the stopping).
    pub async fn mark_cancelling(&self, job_id: &str) -> Result<bool> {
        ops::queries::mark_cancelling(self, job_id).await
    }
    /// The newest change of the catalog's change feed: where a new reader starts.
    pub async fn last_change_seq(&self) -> Result<i64> {
        ops::queries::last_change_seq(self).await
    }
    /// What changed in the catalog (projects, backups, jobs), whoever changed it, after `after`.
    pub async fn changes_since(&self, after: i64, limit: u32) -> Result<ChangeBatch> {
        ops::queries::changes_since(self, after, limit).await
    }

    // ---- jobs ----

    /// Back up a project's database (a job).
    pub async fn backup(&self, opts: BackupOptions, start: JobStart) -> Result<BackupOutcome> {
        ops::backup::run(self, opts, start).await
    }
    /// The compression of backups that do not name one (the catalog's setting, else zstd).
    pub async fn default_compression(&self) -> Result<crate::archive::Compression> {
        ops::backup::default_compression(self).await
    }
    /// Save the compression of backups that do not name one (`None`: the built-in default,
    /// zstd).
    pub async fn set_default_compression(
        &self,
        compression: Option<crate::archive::Compression>,
    ) -> Result<()> {
        ops::backup::set_default_compression(self, compression).await
    }
    /// An archive's manifest; an encrypted one opened with `key` or its project's keys
    /// (`wrong_key` without one that opens it).
    pub async fn inspect_archive(
        &self,
        path: &std::path::Path,
        key: Option<crate::crypto::UserKey>,
    ) -> Result<crate::archive::Manifest> {
        ops::verify::inspect(self, path, key).await
    }
    /// Unlock an archive for the readers while the returned guard lives: with `key` (the user's)
    /// and, when it is encrypted and the catalog knows its project, the project's own keys from
    /// the keychain. A plain archive needs nothing (the guard holds no keys).
    pub async fn unlock_archive(
        &self,
        path: &std::path::Path,
        key: Option<crate::crypto::UserKey>,
    ) -> Result<crate::archive::Unlocked> {
        let mut keys: Vec<crate::crypto::UserKey> = key.into_iter().collect();
        keys.extend(ops::encrypted_read::project_keys_of_archive(self, path).await?);
        Ok(crate::archive::unlock(path, keys))
    }
    /// Verify an archive; if the catalog knows it, record the result there (a job).
    pub async fn verify(&self, opts: VerifyOptions, start: JobStart) -> Result<VerifyOutcome> {
        ops::verify::run(self, opts, start).await
    }
    /// What a dropped file is (an Offsite archive, a pg_dump file, a project export). Reads only.
    pub async fn inspect_import(&self, path: &Path) -> Result<ImportPreview> {
        ops::import::inspect(self, path, None).await
    }
    /// [`Engine::inspect_import`] of a file that may be encrypted (`openssl enc`, age), with
    /// its passphrase or key.
    pub async fn inspect_import_with_key(
        &self,
        path: &Path,
        key: Option<crate::crypto::UserKey>,
    ) -> Result<ImportPreview> {
        ops::import::inspect(self, path, key).await
    }
    /// Import a file as a backup of a project (a job; undone completely on failure).
    pub async fn import(&self, opts: ImportOptions, start: JobStart) -> Result<ImportOutcome> {
        ops::import::run(self, opts, start).await
    }
    /// A backup made on the project's backup server, downloaded, verified and registered (a
    /// job). `backup_type` `None`: the project's default type; `selection` `None`: the
    /// project's (database and full backups).
    pub async fn remote_backup(
        &self,
        project: &str,
        backup_type: Option<&str>,
        selection: Option<crate::selection::BackupSelection>,
        start: JobStart,
    ) -> Result<ops::remote::RemoteBackupOutcome> {
        ops::remote::backup(self, project, backup_type, selection, start).await
    }
    /// Pull what the project's backup server and artifact bucket have that this computer does
    /// not: one job of kind [`crate::catalog::JobKind::Pull`] (with its own progress), every
    /// download verified and registered under its id.
    pub async fn pull(
        &self,
        project: &str,
        start: JobStart,
    ) -> Result<ops::remote::PullAllOutcome> {
        ops::remote::pull(self, project, start).await
    }
    /// The fingerprint of the TLS certificate the backup server at `url` shows now (trust on
    /// first use: shown for the user to compare before [`Engine::set_server`]); `None` for a
    /// plain `http://` server.
    pub async fn server_fingerprint(
        &self,
        url: &str,
    ) -> Result<Option<crate::transfer::Fingerprint>> {
        ops::remote::server_fingerprint(url).await
    }
    /// Set (or with `None` remove, with its token) a project's backup server: for `https` the
    /// fingerprint must be the one the server shows now, and the token is checked against the
    /// server before anything is saved (the token into the keychain).
    pub async fn set_server(
        &self,
        project: &str,
        settings: Option<ops::ServerSettings>,
    ) -> Result<crate::catalog::Components> {
        ops::remote::set_server(self, project, settings).await
    }
    /// Set (or with `None` remove, with its secret key) a project's artifact bucket: the keys
    /// are checked by listing the bucket before anything is saved (the secret into the keychain).
    pub async fn set_artifacts(
        &self,
        project: &str,
        settings: Option<ops::ArtifactsSettings>,
    ) -> Result<crate::catalog::Components> {
        ops::artifacts::set_artifacts(self, project, settings).await
    }
    /// Delete a backup from the catalog and, when asked, its file (only if it is still this
    /// backup).
    pub async fn delete_backup(&self, opts: DeleteOptions) -> Result<DeleteOutcome> {
        ops::delete::run(self, opts).await
    }

    // ---- schedules and retention ----

    /// Set (replace) a project's backup or verify schedule; returns it with its next 5 runs.
    pub async fn set_schedule(&self, req: SetSchedule) -> Result<ScheduleView> {
        ops::schedule::set(self, req).await
    }
    /// [`Engine::set_schedule`] for a backup schedule that names a tenant: after each of its
    /// backups, one archive per tenant (`backup --tenant NAME`); `None`: none. The tenant is
    /// checked before anything is saved; another kind of schedule refuses one.
    pub async fn set_schedule_with_tenant(
        &self,
        req: SetSchedule,
        tenant: Option<&str>,
    ) -> Result<ScheduleView> {
        ops::schedule::set_with_tenant(self, req, tenant, None).await
    }
    /// [`Engine::set_schedule_with_tenant`] with the tenant's own retention: `keep_last`
    /// archives of each tenant kept, locally and at every destination (`None`: as it was, else
    /// [`ops::prune::TENANT_KEEP_LAST`]).
    pub async fn set_schedule_with_tenant_keep(
        &self,
        req: SetSchedule,
        tenant: Option<&str>,
        keep_last: Option<u32>,
    ) -> Result<ScheduleView> {
        ops::schedule::set_with_tenant(self, req, tenant, keep_last).await
    }
    /// The next `n` runs a spec would have if set now (nothing is saved).
    pub fn preview_schedule(
        &self,
        spec: &ScheduleSpec,
        time_zone: Option<&str>,
        n: usize,
    ) -> Result<SchedulePreview> {
        ops::schedule::preview(spec, time_zone, self.clock.now(), n)
    }
    /// Every schedule, of one project (by name) or of all.
    pub async fn schedules(&self, project: Option<&str>) -> Result<Vec<ScheduleView>> {
        ops::schedule::list(self, project).await
    }
    /// Remove a project's schedule of this kind; whether there was one.
    pub async fn clear_schedule(&self, project: &str, kind: ScheduleKind) -> Result<bool> {
        ops::schedule::clear(self, project, kind).await
    }
    /// Pause (or resume) a project's schedule of this kind.
    pub async fn pause_schedule(
        &self,
        project: &str,
        kind: ScheduleKind,
        paused: bool,
    ) -> Result<()> {
        ops::schedule::pause(
            self,
            project,
            kind,
            crate::catalog::DEFAULT_SCHEDULE,
            paused,
        )
        .await
    }
    /// Set (replace) a project's retention policy; `time_zone` for its periods (`None`: local).
    pub async fn set_retention(
        &self,
        project: &str,
        policy: RetentionPolicy,
        time_zone: Option<&str>,
    ) -> Result<RetentionView> {
        ops::schedule::set_retention(self, project, policy, time_zone).await
    }
    /// A project's backups (count, bytes) and its backup folder's room by the space watcher's
    /// rule, now.
    pub async fn stored_and_space(
        &self,
        project: &str,
    ) -> Result<ops::notify::watch::space::StoredAndSpace> {
        let p = self.catalog.project(project).await?;
        ops::notify::watch::space::stored_and_space(self, &p).await
    }
    /// A project's retention policy.
    pub async fn retention(&self, project: &str) -> Result<RetentionView> {
        ops::schedule::retention(self, project).await
    }
    /// Preview (`dry_run`) or apply a project's retention policy (a `prune` job).
    pub async fn prune(&self, opts: PruneOptions, start: JobStart) -> Result<PruneOutcome> {
        ops::prune::run(self, opts, start).await
    }

    // ---- destinations and copies ----

    /// Add a destination to a project (an S3 `secret` goes to the keychain, never the catalog).
    pub async fn add_destination(
        &self,
        project: &str,
        spec: crate::catalog::DestinationSpec,
        secret: Option<String>,
    ) -> Result<crate::catalog::DestinationRecord> {
        ops::destinations::add(self, project, spec, secret).await
    }
    /// A project's destinations, by name.
    pub async fn destinations(
        &self,
        project: &str,
    ) -> Result<Vec<crate::catalog::DestinationRecord>> {
        ops::destinations::list(self, project).await
    }
    /// Remove a destination: the copies there are forgotten, their files left in place.
    pub async fn remove_destination(
        &self,
        project: &str,
        name: &str,
    ) -> Result<RemovedDestination> {
        ops::destinations::remove(self, project, name).await
    }
    /// Change an S3 destination's Object Lock (mode, days; days kept or derived from its
    /// retention) and storage class, what is not given kept; copies already uploaded keep their
    /// own lock.
    pub async fn set_destination_protection(
        &self,
        project: &str,
        name: &str,
        change: ops::destinations::ProtectionChange,
    ) -> Result<crate::catalog::DestinationRecord> {
        ops::destinations::set_protection(self, project, name, change).await
    }
    /// Whether a destination is reachable and writable, and its free space when known (and an
    /// S3 bucket's Object Lock when the destination asks for it).
    pub async fn test_destination(&self, project: &str, name: &str) -> Result<DestinationTest> {
        ops::destinations::test(self, project, name).await
    }
    /// Every backup of a project and where its copies are, with their state.
    pub async fn copies(&self, project: &str) -> Result<Vec<BackupCopies>> {
        ops::copies_view::copies(self, project).await
    }
    /// A project's 3-2-1 state at a glance.
    pub async fn protection(&self, project: &str) -> Result<Protection> {
        ops::copies_view::protection(self, project).await
    }
    /// Push pending copies and apply each destination's retention (a `sync` job).
    pub async fn sync(&self, opts: SyncOptions, start: JobStart) -> Result<SyncOutcome> {
        ops::copy_out::sync(self, opts, start).await
    }
    /// Fetch a copy of a backup back from a destination as its local archive (a `fetch_copy`
    /// job), so restore and verify can use it.
    pub async fn fetch_copy(
        &self,
        opts: FetchCopyOptions,
        start: JobStart,
    ) -> Result<FetchCopyOutcome> {
        ops::fetch_copy::run(self, opts, start).await
    }

    /// Pause every schedule until `until` (`None`: resume); missed slots then run once.
    /// How many due runs may run at once (1–4; default 1).
    pub async fn schedule_concurrency(&self) -> usize {
        ops::schedule::concurrency(self).await
    }
    /// Set how many due runs may run at once (1–4).
    pub async fn set_schedule_concurrency(&self, n: u32) -> Result<()> {
        ops::schedule::set_concurrency(self, n).await
    }
    /// When retention is expected to remove each of a project's backups (see
    /// [`ops::prune::forecast`]).
    pub async fn removal_forecast(
        &self,
        project: &str,
    ) -> Result<Vec<ops::prune::RemovalForecast>> {
        ops::prune::forecast(self, project).await
    }
    pub async fn pause_all_schedules(&self, until: Option<time::OffsetDateTime>) -> Result<()> {
        ops::schedule::pause_all(self, until).await
    }
    /// Until when every schedule is paused (`None`: not paused now).
    pub async fn schedules_paused_until(&self) -> Result<Option<String>> {
        ops::schedule::paused_until(self, self.clock.now()).await
    }
    /// Remove the temporary files killed runs left in the folders Offsite writes to (never a
    /// running job's: see [`crate::tempfiles`]); returns what was removed.
    pub async fn sweep_temp_files(&self) -> Result<Vec<std::path::PathBuf>> {
        ops::sweep::sweep(self).await
    }
    /// Run what is due now (the clock's now), once.
    pub async fn run_due(&self) -> Result<RunDueReport> {
        self.run_due_reporting(&(Arc::new(crate::progress::NoProgress) as _))
            .await
    }
    /// [`Engine::run_due`], every job it starts reporting to `progress` (its start and end too:
    /// [`crate::progress::Progress::began`]), so a front end can show the scheduler's jobs.
    pub async fn run_due_reporting(
        &self,
        progress: &Arc<dyn crate::progress::Progress>,
    ) -> Result<RunDueReport> {
        ops::schedule::run_due(self, self.clock.now(), progress).await
    }
    /// Run schedules in the background until `cancel` (see [`ops::due_loop`]).
    pub async fn run_schedules<L: ops::DueListener>(
        &self,
        listener: &L,
        options: ops::LoopOptions,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        ops::due_loop::run_schedules(self, listener, options, cancel).await
    }
    /// Each project's (or one project's) newest good backup, next run and overdue state now.
    pub async fn status(&self, project: Option<&str>) -> Result<Vec<ProjectStatus>> {
        ops::schedule::status(self, project, self.clock.now()).await
    }

    /// Is each project safe right now, and if not, what to do (issue 29): every project (or
    /// the one named), worst first, by the rules of [`crate::health`].
    pub async fn health(&self, project: Option<&str>) -> Result<Vec<crate::health::ProjectHealth>> {
        Ok(self.status_and_health(project).await?.1)
    }

    /// [`Engine::status`] and [`Engine::health`] of the same projects, the schedules' status
    /// computed once.
    pub async fn status_and_health(
        &self,
        project: Option<&str>,
    ) -> Result<(Vec<ProjectStatus>, Vec<crate::health::ProjectHealth>)> {
        // The capture slots measured first (ops::pitr::slots): one past its limit is dropped
        // now, and the facts read after it say the capture ended.
        let held = ops::pitr::slots::watch(self, project).await;
        self.health_with(project, &held).await
    }

    /// [`Engine::health`] from the catalog alone, the capture slots not measured (what a
    /// notification's protection line says: delivering must not connect to every server).
    pub(crate) async fn health_from_catalog(
        &self,
        project: Option<&str>,
    ) -> Result<Vec<crate::health::ProjectHealth>> {
        Ok(self.health_with(project, &Default::default()).await?.1)
    }

    async fn health_with(
        &self,
        project: Option<&str>,
        held: &std::collections::HashMap<String, crate::health::SlotHeld>,
    ) -> Result<(Vec<ProjectStatus>, Vec<crate::health::ProjectHealth>)> {
        let statuses = self.status(project).await?;
        let mut facts =
            crate::health::gather::facts(&self.catalog, project, &statuses, self.clock.now())
                .await?;
        for f in &mut facts {
            f.slot_held = held.get(&f.project).copied();
        }
        let mut list: Vec<_> = facts.iter().map(crate::health::assess).collect();
        crate::health::worst_first(&mut list);
        Ok((statuses, list))
    }

    // ---- point in time: ops/pitr/engine_api.rs ----

    // ---- for the operations ----

    pub(crate) fn spec_of(&self, project: &Project) -> Result<ConnSpec> {
        let (mut spec, _) = ConnSpec::parse_url(&project.db_url)?;
        spec.tls = project.tls_mode.parse()?;
        Ok(spec)
    }

    /// `e` with the hint that fits a rejected password of `project`'s database and the
    /// secret store in use (see [`ops::password_hint`]).
    pub(crate) fn password_hint(&self, project: &str, e: Error) -> Error {
        ops::password_hint::with_db_password_hint(e, self.secrets.as_ref(), project)
    }

    /// The project's stored password, if any. A keychain that cannot be reached (no D-Bus
    /// session, locked) does not stop a project that needs no password: PostgreSQL is asked
    /// whether it lets this client in without one (trust, `.pgpass`, `PGPASSWORD`); if it does,
    /// the operation goes on without a password, and if it asks for one, the keychain's
    /// `keychain_unavailable` error (naming `OFFSITE_SECRET_STORE=env` and the variable to set)
    /// is returned instead of a confusing authentication error.
    pub(crate) async fn password_of(&self, project: &Project) -> Result<Option<String>> {
        let key = project_password_key(&project.name);
        match secrets::lookup(self.secrets.as_ref(), &key)? {
            Lookup::Found(password) => Ok(Some(password)),
            // None saved: whether the server lets us in without one is asked now, before any
            // slow work (decrypting, extracting), so a missing password is said as missing —
            // naming where it is given — and not later as a refused one.
            Lookup::Missing => {
                let spec = self.spec_of(project)?;
                match spec.connect(None).await {
                    Ok(conn) => {
                        let _ = sqlx::Connection::close(conn).await;
                        Ok(None)
                    }
                    Err(e) if ops::password_hint::asks_for_a_password(&e) => {
                        Err(ops::password_hint::no_password_given(
                            e,
                            &spec.user,
                            ops::password_hint::PasswordFrom::Project {
                                store: self.secrets.as_ref(),
                                project: &project.name,
                            },
                        ))
                    }
                    // Not reachable: what the operation's own connection would say (without
                    // waiting for a second time-out).
                    Err(e) if e.kind() == ErrorKind::Connection => Err(e),
                    // Anything else (a database not there yet, a user refused whatever the
                    // password): the operation decides, as before.
                    Err(_) => Ok(None),
                }
            }
            Lookup::Unavailable(keychain) => {
                let spec = self.spec_of(project)?;
                match spec.connect(None).await {
                    Ok(conn) => {
                        let _ = sqlx::Connection::close(conn).await;
                        tracing::info!(
                            project = %project.name,
                            "the OS keychain is unavailable; the server lets us in without a password"
                        );
                        Ok(None)
                    }
                    Err(e) if e.kind() == ErrorKind::Auth => Err(Error::new(
                        ErrorKind::KeychainUnavailable,
                        format!(
                            "project {:?}: the server asks for a password ({}), and {}",
                            project.name,
                            e.message(),
                            keychain.message()
                        ),
                    )
                    .with_hint(keychain.hint().unwrap_or_default().to_string())),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// The installation's keys of the diff's hashes (`<data>/diff-hash.key`, 16 random bytes as hex,
/// 0600, made on first use): secret, so a project's rows cannot be chosen to collide, and kept,
/// so a table's pages of changed rows come in the same order from one run to the next. `None`
/// (said in the log) when it cannot be read or made: the diff then draws keys per process.
fn diff_hash_keys(data_dir: &Path) -> Option<(u64, u64)> {
    let path = data_dir.join("diff-hash.key");
    let parse = |t: &str| -> Option<(u64, u64)> {
        let t = t.trim();
        if t.len() != 32 {
            return None;
        }
        Some((
            u64::from_str_radix(&t[..16], 16).ok()?,
            u64::from_str_radix(&t[16..], 16).ok()?,
        ))
    };
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        if meta.is_file() && meta.len() <= 64 {
            if let Some(k) = std::fs::read_to_string(&path)
                .ok()
                .as_deref()
                .and_then(parse)
            {
                return Some(k);
            }
        }
    }
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).ok()?;
    let text = hex::encode(bytes);
    match crate::private_fs::write_atomic(&path, text.as_bytes()) {
        Ok(()) => parse(&text),
        Err(e) => {
            tracing::warn!(
                "the diff's hash key could not be kept in {}: {e}",
                path.display()
            );
            parse(&text)
        }
    }
}
