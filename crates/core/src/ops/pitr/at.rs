//! `PROJECT@TIME` (docs/pitr.md): a project's database as it was at a time, materialised for the
//! commands that read an archive (drill, browse, diff, recover). The base is restored into a
//! throwaway cluster (the drills' own: private folder, socket only, confined server, stopped and
//! removed whatever happens), as a role of its own that cannot run programs (as a drill
//! restores), the change segments are replayed into it up to the last commit at or before TIME
//! (as `restore --at` replays), and the result is dumped into an ordinary Offsite archive in a
//! private temporary folder (0700, the archive 0600) that those commands read unchanged. The
//! folder goes when the [`AtArchive`] is dropped: after the command, or on failure or cancel.

use super::restore::{self, PitrPlan};
use crate::backup::compose::{compose_encrypted, ComposeRequest, DatabaseInput};
use crate::catalog::{BackupRecord, Project};
use crate::drill::cluster::{choose_server_bins, discover_server_bins, ThrowawayCluster};
use crate::drill::confine;
use crate::drill::scratch::{drill_database_name, ScratchServer};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::resolve::AtRef;
use crate::ops::runner::RunningJob;
use crate::ops::JobStart;
use crate::pitr::replay::{Replayed, Replayer};
use crate::pitr::snapshot::XidSnapshot;
use crate::pitr::{lsn_text, micros_text, segment};
use crate::postgres::conn::ProjectConnection;
use crate::progress::{Phase, Reporter};
use crate::restore::{DatabaseOptions, DatabaseTo, RestoreRequest};
use crate::sources::PostgresSource;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The folder under the data folder where materialised states are written (each in a private
/// temporary folder of its own).
pub const AT_DIR: &str = "pitr-at";

/// Which state a `PROJECT@TIME` is: the base it was built from and the last commit replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AtState {
    pub project: String,
    /// The time asked for (RFC 3339, µs).
    pub at: String,
    pub base_backup_id: String,
    /// When the base's snapshot was taken.
    pub base_at: String,
    /// The last transaction replayed (commit time, end LSN); `None`: the base as taken.
    pub commit_at: Option<String>,
    pub commit_lsn: Option<String>,
    /// Transactions and row changes replayed on top of the base.
    pub transactions: u64,
    pub changes: u64,
}

impl AtState {
    /// One line: "shop as at …: base … (taken …) + 3 transaction(s) up to the commit at … (LSN …)".
    pub fn describe(&self) -> String {
        let upto = match (&self.commit_at, &self.commit_lsn) {
            (Some(t), Some(l)) => format!(
                " + {} replayed up to the commit at {t} (LSN {l})",
                crate::words::plural(self.transactions, "transaction")
            ),
            _ => ", no transaction to replay (the base as taken)".into(),
        };
        format!(
            "{} as at {}: base {} (taken {}){upto}",
            self.project, self.at, self.base_backup_id, self.base_at
        )
    }

    /// What the plan says the state will be, before anything is replayed.
    pub fn planned(project: &str, plan: &PitrPlan) -> AtState {
        AtState {
            project: project.to_string(),
            at: plan.at.clone(),
            base_backup_id: plan.base_backup_id.clone(),
            base_at: plan.base_at.clone(),
            commit_at: plan.stop_commit_at.clone(),
            commit_lsn: plan.stop_commit_lsn.clone(),
            transactions: plan.transactions,
            changes: 0,
        }
    }
}

/// A project's database at a time, as a temporary archive; removed when dropped.
#[derive(Debug)]
pub struct AtArchive {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub state: AtState,
    /// When the archive was written (RFC 3339).
    pub created_at: String,
    /// How the state was read when not as the rule says (a physical base of PostgreSQL 13 or
    /// older: as a superuser; see `physical_restore::superuser_read`).
    pub read_as: Option<String>,
    _dir: tempfile::TempDir,
    /// The parent folder's shared lock, held while the folder lives (a sweep leaves it alone).
    _in_use: crate::tempfiles::FolderInUse,
}

impl AtArchive {
    /// A catalog-shaped record of the temporary archive (never stored): what a drill takes.
    pub(crate) fn record(&self, project: &Project) -> BackupRecord {
        BackupRecord {
            id: self.state.base_backup_id.clone(),
            project_id: project.id.clone(),
            path: self.path.display().to_string(),
            size: self.size,
            sha256: self.sha256.clone(),
            backup_type: crate::archive::BackupType::Database,
            created_at: self
                .state
                .commit_at
                .clone()
                .unwrap_or(self.created_at.clone()),
            verified_at: None,
            status: crate::catalog::BackupStatus::Unverified,
            verify_problem: None,
            manifest_json: None,
            job_id: None,
            origin: Default::default(),
        }
    }
}

/// Materialise `r`: plan (a time in no window is refused as `restore --at` refuses it), check
/// the segments, restore the base into a throwaway cluster, replay, dump. Progress: restoring
/// (the base, then the replay), dumping (the archive).
pub(crate) async fn materialise(
    engine: &Engine,
    r: &AtRef,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<AtArchive> {
    materialise_in(engine, r, None, reporter, cancel).await
}

/// [`materialise`] inside a job already running (a drill's, which holds the project's lock):
/// the base restored without a job of its own.
pub(crate) async fn materialise_within(
    engine: &Engine,
    r: &AtRef,
    job: &RunningJob,
) -> Result<AtArchive> {
    materialise_in(engine, r, Some(job), &job.reporter, &job.cancel).await
}

async fn materialise_in(
    engine: &Engine,
    r: &AtRef,
    within: Option<&RunningJob>,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<AtArchive> {
    let (plan, covered) = match restore::prepare(engine, &r.project, r.at, true).await? {
        restore::Prepared::Physical(project, staged) => {
            return physical(engine, &project, *staged, reporter, cancel).await;
        }
        restore::Prepared::Logical(plan, covered) => (*plan, covered),
    };
    for s in &plan.segments {
        segment::verify(Path::new(s), None)?;
    }
    let project = engine.catalog.project(&r.project).await?;
    let (manifest, major) = base_manifest(engine, &project.name, &plan.base_path).await?;
    // A run killed before this one left its cluster: stopped and removed first.
    crate::ops::drill::sweep_clusters(engine).await;
    let parent = engine.data_dir.join(AT_DIR);
    crate::private_fs::create_dir_all(&parent)
        .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    // What a killed run left there (none of it is in use: every user holds the folder's lock).
    if let Err(e) = crate::tempfiles::sweep(&parent) {
        tracing::warn!("{e}");
    }
    let in_use = crate::tempfiles::in_use(&parent)?;
    let dir = crate::private_fs::tempdir_in(&parent, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a folder in {}", parent.display()), e))?;
    let id = format!("at{}", uuid::Uuid::new_v4().simple());
    let (data_dir, pg_bin, cid) = (engine.data_dir.clone(), engine.pg_bin(), id.clone());
    let cluster = tokio::task::spawn_blocking(move || {
        let bins = choose_server_bins(&discover_server_bins(pg_bin.as_deref()), major)?;
        ThrowawayCluster::start(&data_dir, &cid, bins)
    })
    .await
    .map_err(|e| Error::internal(format!("starting the throwaway cluster failed: {e}")))??;
    let built = Build {
        engine,
        project: &project,
        plan: &plan,
        covered,
        at: r.at,
        within,
        base_manifest: manifest,
        id: &id,
        dir: dir.path(),
        reporter: reporter.clone(),
    }
    .run(&cluster, cancel)
    .await;
    // Stopped and removed whatever the outcome (and by its Drop if this future is dropped).
    let stopped = tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .map_err(|e| Error::internal(format!("stopping the throwaway cluster failed: {e}")))?;
    let (written, replayed) = built?;
    stopped?;
    let mut state = AtState::planned(&project.name, &plan);
    state.transactions = replayed.commits;
    state.changes = replayed.changes;
    if let Some((lsn, t)) = replayed.last_commit {
        state.commit_at = Some(micros_text(t));
        state.commit_lsn = Some(lsn_text(lsn));
    }
    Ok(AtArchive {
        path: written.path,
        size: written.size,
        sha256: written.sha256,
        state,
        created_at: written.manifest.created_at.clone(),
        read_as: None,
        _dir: dir,
        _in_use: in_use,
    })
}

/// A physical window's state: PostgreSQL's own recovery in a throwaway cluster up to the
/// plan's commit, the database dumped into the private folder's archive.
async fn physical(
    engine: &Engine,
    project: &Project,
    staged: super::physical_restore::Staged,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<AtArchive> {
    let parent = engine.data_dir.join(AT_DIR);
    let in_use = crate::tempfiles::in_use(&parent)?;
    let dir = crate::private_fs::tempdir_in(&parent, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a folder in {}", parent.display()), e))?;
    reporter.phase(Phase::Restoring, None);
    let read_as = super::physical_restore::superuser_read(staged.base.major);
    let into = super::physical_restore::RestoreInto::Archive(dir.path());
    let (done, written) =
        super::physical_restore::run_with(engine, project, staged, into, cancel).await?;
    let written = written.ok_or_else(|| Error::internal("no archive of the state"))?;
    let mut state = AtState::planned(&project.name, &done.plan);
    state.transactions = done.replayed.commits;
    Ok(AtArchive {
        path: written.path,
        size: written.size,
        sha256: written.sha256,
        state,
        created_at: written.manifest.created_at.clone(),
        read_as,
        _dir: dir,
        _in_use: in_use,
    })
}

/// The base's manifest, read from its archive (the catalog's copy lists only some members), and
/// its server's major version (0 when unknown).
async fn base_manifest(
    engine: &Engine,
    project: &str,
    path: &str,
) -> Result<(crate::archive::Manifest, u32)> {
    let keys = crate::ops::encryption::keys_of(engine, project).unwrap_or_default();
    let path = PathBuf::from(path);
    let m = tokio::task::spawn_blocking(move || crate::archive::read_manifest_with(&path, &keys))
        .await
        .map_err(|e| Error::internal(format!("reading the base's manifest failed: {e}")))??;
    let major = m
        .versions
        .server
        .as_deref()
        .and_then(crate::postgres::tools::parse_version)
        .map(|(major, _)| major)
        .unwrap_or(0);
    Ok((m, major))
}

/// The work inside the throwaway cluster.
struct Build<'a> {
    engine: &'a Engine,
    project: &'a Project,
    plan: &'a PitrPlan,
    /// The tables the chain captured: the only ones the replay may write.
    covered: Option<Vec<String>>,
    at: i64,
    within: Option<&'a RunningJob>,
    base_manifest: crate::archive::Manifest,
    id: &'a str,
    dir: &'a Path,
    reporter: Reporter,
}

impl Build<'_> {
    async fn run(
        &self,
        cluster: &ThrowawayCluster,
        cancel: &CancellationToken,
    ) -> Result<(crate::archive::Written, Replayed)> {
        let admin = ScratchServer {
            spec: cluster.spec("postgres"),
            password: None,
        };
        let database = drill_database_name(self.id);
        let mut access = confine::prepare(&admin, &database, self.id).await?;
        // The extensions only a superuser may create, created first (as a drill does).
        let base = Path::new(&self.plan.base_path);
        let m = &self.base_manifest;
        let wanted =
            crate::ops::drill::run::extensions_of(self.engine, &self.project.name, base, m).await?;
        confine::create_untrusted_extensions(&access, &database, &wanted).await?;
        let restorer = access.restorer.clone();
        let spec = restorer.spec_of(&database);
        // As a drill restores: every object owned by the restoring role, the roles the base
        // names created bare beforehand.
        let req = RestoreRequest::new(
            &self.plan.base_path,
            DatabaseTo::Connection {
                connection: ProjectConnection::Url(spec.to_url()),
                tls: Some(spec.tls),
                password: restorer.password.clone(),
            },
        )
        .options(DatabaseOptions {
            no_owner: true,
            ..Default::default()
        });
        let planned = crate::ops::restore::plan(self.engine, &req).await?;
        let missing = planned
            .database
            .map(|p| p.missing_roles)
            .unwrap_or_default();
        confine::create_bare_roles(&mut access, &missing).await?;
        match self.within {
            Some(job) => {
                crate::ops::restore::run_within(self.engine, req, job).await?;
            }
            None => {
                let start = JobStart {
                    progress: self.reporter.sink(),
                    cancel: cancel.clone(),
                    ..Default::default()
                };
                self.engine.restore(req, start).await?;
            }
        }
        let replayed = self
            .replay(&spec, restorer.password.as_deref(), cancel)
            .await?;
        let written = self.dump(&admin, &database, cancel).await?;
        Ok((written, replayed))
    }

    /// Replay the plan's segments into the restored base, up to the plan's time.
    async fn replay(
        &self,
        spec: &crate::postgres::conn::ConnSpec,
        password: Option<&str>,
        cancel: &CancellationToken,
    ) -> Result<Replayed> {
        self.reporter.phase(Phase::Restoring, None);
        let keys = crate::ops::encryption::keys_of(self.engine, &self.project.name)?;
        let mut conn = spec.connect(password).await?;
        let at = self.at;
        let snapshot = XidSnapshot::parse(&self.plan.snapshot)?;
        // A throwaway database: what a failed replay left in it goes with it.
        Replayer::new(&mut conn, spec, snapshot, at)
            .covering(self.covered.clone())
            .all(&self.plan.segments, &keys, cancel)
            .await
            .map_err(|a| a.error)
    }

    /// Dump the database into an archive in the private folder (as the cluster's superuser: the
    /// whole database, whoever owns what).
    async fn dump(
        &self,
        admin: &ScratchServer,
        database: &str,
        cancel: &CancellationToken,
    ) -> Result<crate::archive::Written> {
        let source = PostgresSource::new(admin.spec_of(database), None, self.engine.pg_bin());
        let request = ComposeRequest {
            project: self.project.name.clone(),
            dest_dir: self.dir.to_path_buf(),
            compression: crate::ops::backup::default_compression(self.engine)
                .await
                .unwrap_or_default(),
            backup_id: uuid::Uuid::new_v4().to_string(),
            created_at: self.engine.clock.now(),
            backup_type: crate::archive::BackupType::Database,
            database: Some(DatabaseInput {
                source: Arc::new(source),
            }),
            storage: None,
            config: None,
        };
        compose_encrypted(request, None, &self.reporter, cancel).await
    }
}
