//! The drill job: pick the backup (the project's newest good one, or the one named), run the
//! drill ([`run`]) as a job of kind `drill` under the project's lock, write the
//! report file (`<data>/drills/<project>/<drill id>.json`, 0600 in a 0700 folder) and record the
//! drill in the catalog. Listing and reading drills back.

pub(crate) mod run;

use crate::catalog::{BackupRecord, BackupStatus, DrillRecord, JobKind, Project};
use crate::drill::DrillReport;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ops::job::JobStart;
use crate::ops::runner;
use run::DrillJob;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What to drill.
#[derive(Clone, Default)]
pub struct DrillOptions {
    /// The project.
    pub project: String,
    /// A backup id (or a unique start of one), or `latest`; `None`: the project's newest good
    /// backup with a database.
    pub backup: Option<String>,
    /// A scratch server's URL (`postgres://USER[:PASSWORD]@HOST:PORT/DB`) for this run; `None`:
    /// where the project's drill settings say (a throwaway cluster by default). The password is
    /// used to connect and nowhere else.
    pub server: Option<String>,
    /// The scratch server's password (`--password-stdin`); wins over one in the URL. Without
    /// either, a run naming the saved server uses the saved password.
    pub server_password: Option<String>,
    /// A throwaway cluster for this run, whatever the settings say.
    pub throwaway: bool,
}

impl std::fmt::Debug for DrillOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = self.server.as_deref().map(|u| {
            crate::postgres::conn::ConnSpec::parse_url(u)
                .map(|(s, _)| format!("{}/{}", s.location(), s.database))
                .unwrap_or_else(|_| "<unparsed>".into())
        });
        f.debug_struct("DrillOptions")
            .field("project", &self.project)
            .field("backup", &self.backup)
            .field("server", &redacted)
            .field(
                "server_password",
                &self.server_password.as_ref().map(|_| "<redacted>"),
            )
            .field("throwaway", &self.throwaway)
            .finish()
    }
}

/// A finished drill: its job, its report (its verdict says whether it passed) and where the
/// report file is.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DrillOutcome {
    pub job_id: String,
    pub report: DrillReport,
    pub report_path: PathBuf,
}

/// Run a drill as one job.
pub(crate) async fn run(
    engine: &Engine,
    opts: DrillOptions,
    start: JobStart,
) -> Result<DrillOutcome> {
    // `PROJECT@TIME`: the state at a time, materialised inside the job (docs/pitr.md).
    let at = match crate::ops::resolve::parse_at_ref(&opts.project) {
        Some(r) => Some(r?),
        None => None,
    };
    let name = at
        .as_ref()
        .map_or(opts.project.as_str(), |a| a.project.as_str());
    let project = engine.catalog.project(name).await?;
    let backup = match &at {
        Some(a) => at_start(engine, a, opts.backup.as_deref()).await?,
        None => pick_backup(engine, &project, opts.backup.as_deref()).await?,
    };
    let (server, storage_sample) =
        crate::ops::drill_settings::for_run(engine, &project, &opts).await?;
    // A drill killed before this one left its cluster: stop and remove it first.
    sweep_clusters(engine).await;
    // The drill's id is its job's (a caller that follows the job's progress picks it).
    let drill_id = start.id.clone().unwrap_or_else(crate::catalog::new_job_id);
    let start = JobStart {
        id: Some(drill_id.clone()),
        ..start
    };
    let job = DrillJob {
        engine,
        drill_id: drill_id.clone(),
        project: project.clone(),
        backup,
        server,
        storage_sample,
    };
    let job = &job;
    let project = &project;
    let at = &at;
    // A drill that ran and failed a check is a failed job (its message names the check, so the
    // job's notification does), but still an outcome with its report for the caller.
    let failed: std::sync::Mutex<Option<(String, DrillReport, PathBuf)>> = Default::default();
    let failed_ref = &failed;
    let ran = runner::run(
        engine,
        JobKind::Drill,
        Some(project),
        start,
        |_| None,
        |running| async move {
            let report = match at {
                None => run::execute(job, &running).await?,
                Some(a) => at_execute(job, a, &running).await?,
            };
            let path = write_report(engine, project, &report)?;
            engine
                .catalog
                .insert_drill(
                    &project.id,
                    Some(&running.id),
                    &report,
                    Some(&path.display().to_string()),
                )
                .await?;
            if let Some(e) = failure_error(&report) {
                *failed_ref.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((running.id.clone(), report, path));
                return Err(e);
            }
            Ok((report, path))
        },
    )
    .await;
    let (job_id, (report, path)) = match ran {
        Ok(done) => done,
        Err(e) => match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some((job_id, report, path)) => (job_id, (report, path)),
            None => return Err(e),
        },
    };
    Ok(DrillOutcome {
        job_id,
        report,
        report_path: path,
    })
}

/// Before a drill of `PROJECT@TIME`: refuse `--backup` beside it, and a time in no restorable
/// window (as `restore --at` refuses it) before the job starts. The record stands in for the
/// base until the state is materialised.
async fn at_start(
    engine: &Engine,
    at: &crate::ops::resolve::AtRef,
    backup: Option<&str>,
) -> Result<BackupRecord> {
    if backup.is_some() {
        return Err(Error::invalid(
            "PROJECT@TIME names the state to drill: --backup cannot be given beside it",
        ));
    }
    let plan = engine.pitr_plan(&at.project, at.at).await?;
    match engine.catalog.backup(&plan.base_backup_id).await {
        // A physical chain's base is not a backup of the catalog (`pg_basebackup`'s, kept
        // with the chain): a record made from the plan stands in for it.
        Err(e) if e.kind() == crate::error::ErrorKind::NotFound => {
            let project = engine.catalog.project(&at.project).await?;
            Ok(BackupRecord {
                id: plan.base_backup_id,
                project_id: project.id,
                path: plan.base_path,
                size: 0,
                sha256: String::new(),
                backup_type: crate::archive::BackupType::Database,
                created_at: plan.base_at,
                verified_at: None,
                status: BackupStatus::Unverified,
                verify_problem: None,
                manifest_json: None,
                job_id: None,
                origin: Default::default(),
            })
        }
        found => found,
    }
}

/// The drill of `PROJECT@TIME`: the state materialised (a temporary archive, removed after),
/// drilled as any backup, its report naming the base and the commit it is of.
async fn at_execute(
    job: &DrillJob<'_>,
    at: &crate::ops::resolve::AtRef,
    running: &runner::RunningJob,
) -> Result<DrillReport> {
    let a = crate::ops::pitr::at::materialise_within(job.engine, at, running).await?;
    let at_job = DrillJob {
        engine: job.engine,
        drill_id: job.drill_id.clone(),
        project: job.project.clone(),
        backup: a.record(&job.project),
        server: job.server.clone(),
        storage_sample: job.storage_sample,
    };
    let mut report = run::execute(&at_job, running).await?;
    let mut check = at_check(&at.project, &a.state);
    // PostgreSQL 13 and older: the state was read as a superuser (docs/security.md); said
    // under the check's Details.
    if let Some(read_as) = &a.read_as {
        check.detail = Some(match check.detail.take() {
            Some(d) if !d.is_empty() => format!("{d}. {read_as}"),
            _ => read_as.clone(),
        });
    }
    report.checks.insert(0, check);
    Ok(report)
}

/// The first check of a drill of `PROJECT@TIME`: which state was drilled, in words a person
/// reads (times to the second, no backup id, no log position, issue 64 item 4); the engine's
/// whole line (`AtState::describe`: ids, times to the microsecond, the LSN) is its detail, what
/// the app shows under Details.
pub fn at_check(project: &str, state: &crate::ops::pitr::at::AtState) -> crate::drill::DrillCheck {
    use crate::words::{plural, readable_utc};
    let base = readable_utc(&state.base_at);
    let actual = match &state.commit_at {
        Some(t) => format!(
            "the backup of {base} with {} replayed after it, up to the last one committed before that moment (at {})",
            plural(state.transactions, "transaction"),
            readable_utc(t)
        ),
        None => format!("the backup of {base} as it was taken: nothing was committed between it and that moment"),
    };
    crate::drill::DrillCheck {
        id: "point_in_time".into(),
        title: format!("{project} as it was at {}", readable_utc(&state.at)),
        status: crate::drill::CheckStatus::Passed,
        expected: Some("the project as it was at that moment".into()),
        actual: Some(actual),
        detail: Some(state.describe()),
    }
}

/// The error a drill that failed a check ends its job with (`validation_failed`): its message
/// names the first failed check with what was expected and found (see
/// [`DrillReport::failure_message`]). `None` when it passed.
pub fn failure_error(report: &DrillReport) -> Option<Error> {
    report.failure_message().map(|m| {
        Error::new(crate::error::ErrorKind::ValidationFailed, m).with_hint(format!(
            "see the report: `offsite drill show {}`",
            report.drill_id
        ))
    })
}

/// Stop and remove the throwaway clusters of drills whose process is gone.
pub(crate) async fn sweep_clusters(engine: &Engine) -> Vec<PathBuf> {
    let data = engine.data_dir.clone();
    tokio::task::spawn_blocking(move || crate::drill::sweep::sweep(&data))
        .await
        .unwrap_or_default()
}

/// The backup named (an id, a unique start of one, or `latest`), which must be the project's;
/// by default the newest backup with a database whose file is here and not known corrupt.
async fn pick_backup(
    engine: &Engine,
    project: &Project,
    named: Option<&str>,
) -> Result<BackupRecord> {
    let backups = engine.catalog.backups(&project.id).await?;
    match named.map(str::trim) {
        None | Some("latest") | Some("") => backups
            .into_iter()
            .find(|b| {
                b.status != BackupStatus::Corrupt
                    && b.status != BackupStatus::Missing
                    && has_database(b)
                    && Path::new(&b.path).is_file()
            })
            .ok_or_else(|| {
                Error::not_found(format!(
                    "project {:?} has no good backup with a database on this computer to drill",
                    project.name
                ))
                .with_hint(format!("make one with `offsite backup {}`", project.name))
            }),
        Some(id) => {
            let resolved = crate::ops::resolve::resolve(engine, id).await?;
            let found = resolved
                .backup_id
                .as_deref()
                .and_then(|bid| backups.iter().find(|b| b.id == bid));
            found.cloned().ok_or_else(|| {
                Error::not_found(format!(
                    "{id:?} is not a backup of project {:?}",
                    project.name
                ))
                .with_hint(format!(
                    "`offsite backups {}` lists its backups",
                    project.name
                ))
            })
        }
    }
}

fn has_database(b: &BackupRecord) -> bool {
    use crate::archive::BackupType;
    matches!(b.backup_type, BackupType::Database | BackupType::Full)
}

/// Write the report as `<data>/drills/<project>/<drill id>.json` (0600; folders 0700), through
/// a temporary file renamed into place, with `<id>.signed.json` (the signed envelope) and
/// `<id>.html` (the printable page) beside it (`ops::drill_report`).
pub fn write_report(engine: &Engine, project: &Project, report: &DrillReport) -> Result<PathBuf> {
    let dir = engine.data_dir.join("drills").join(&project.name);
    crate::private_fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let path = dir.join(format!("{}.json", report.drill_id));
    let json = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::internal(format!("drill report to JSON: {e}")))?;
    let mut tmp = crate::private_fs::tempfile_in(&dir, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a file in {}", dir.display()), e))?;
    tmp.write_all(&json)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    tmp.persist(&path)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e.error))?;
    // Beside it: the DSSE envelope signing these exact bytes, and the printable page.
    crate::ops::drill_report::write_beside(engine, &path, &json, report)?;
    Ok(path)
}

/// A project's drills, newest first.
pub(crate) async fn list(engine: &Engine, project: &str) -> Result<Vec<DrillRecord>> {
    let p = engine.catalog.project(project).await?;
    engine.catalog.drills(&p.id).await
}

/// One drill by id.
pub(crate) async fn record(engine: &Engine, id: &str) -> Result<DrillRecord> {
    engine.catalog.drill(id.trim()).await
}

/// Compile-time guard: the drill's futures are `Send` for any lifetime (run_due and the app
/// spawn them); a body that is not (e.g. sqlx's `raw_sql` over a borrowed `String` held across
/// an await) fails here, not in a caller far away.
#[allow(dead_code)]
fn _futures_are_send(
    engine: &Engine,
    job: &DrillJob<'_>,
    running: &crate::ops::runner::RunningJob,
) {
    fn is_send<T: Send>(_: T) {}
    is_send(run(engine, DrillOptions::default(), JobStart::default()));
    is_send(run::execute(job, running));
}
