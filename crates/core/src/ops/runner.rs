//! The one job runner: every job (backup, verify, restore, import, and the kinds to come) runs
//! through [`run`], which
//!
//! 1. takes the project's lock, when the job is about a project (one job per project at a time,
//!    across processes: the app and the command line share the data folder),
//! 2. records the job in the catalog (id, kind, project, trigger) and holds the job's liveness
//!    lock (`locks/job-<id>.lock`) while it runs, so a crashed job is told apart from one that
//!    another live process runs ([`fail_interrupted_jobs`]),
//! 3. hands the operation's body a [`RunningJob`] (its id, progress [`Reporter`], cancellation),
//! 4. sends the last progress report, saves the counters and finishes the job: succeeded (with
//!    the backup it made), failed (code, message, hint) or cancelled.
//!
//! Cleaning up after a failure (nothing half-written, nothing registered) is the body's work:
//! only the operation knows what it wrote.

use crate::catalog::{new_job_id, BackupRecord, JobKind, JobOutcome, JobRecord, JobState, Project};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::job::{JobStart, JobTrigger};
use crate::progress::Reporter;
use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// A job while its body runs.
pub(crate) struct RunningJob {
    pub id: String,
    pub reporter: Reporter,
    pub cancel: CancellationToken,
    /// Project locks the body took while running (a project it created), released after the
    /// job is finished in the catalog.
    held: Arc<Mutex<Vec<ProjectLock>>>,
}

impl RunningJob {
    /// Keep `lock` until the job has finished.
    pub fn hold(&self, lock: ProjectLock) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(lock);
    }
    /// Release the locks taken with [`RunningJob::hold`] now (before removing a project the
    /// job created).
    pub fn release(&self) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
    /// [`Error::cancelled`] once the job was asked to stop.
    pub fn check_cancelled(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        Ok(())
    }
}

/// Run `body` as a job of `kind` (see the module's description). `backup_of` names the backup a
/// successful job made (recorded with the job). Returns the job's id with the body's result.
pub(crate) async fn run<T, F, Fut>(
    engine: &Engine,
    kind: JobKind,
    project: Option<&Project>,
    start: JobStart,
    backup_of: impl Fn(&T) -> Option<String>,
    body: F,
) -> Result<(String, T)>
where
    F: FnOnce(RunningJob) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    run_judged(engine, kind, project, start, backup_of, |_| None, body).await
}

/// [`run`] for a job whose body can return a result that is still a failure of the job: a
/// verify that found damage returns its report (the caller shows it), but the job is recorded
/// as failed with the error `failure_of` gives (its code, message and hint), so `history`, the
/// notifications and `status` see the failure.
pub(crate) async fn run_judged<T, F, Fut>(
    engine: &Engine,
    kind: JobKind,
    project: Option<&Project>,
    start: JobStart,
    backup_of: impl Fn(&T) -> Option<String>,
    failure_of: impl Fn(&T) -> Option<Error>,
    body: F,
) -> Result<(String, T)>
where
    F: FnOnce(RunningJob) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let project_lock = project.map(|p| lock_project(engine, p)).transpose()?;
    let id = start.id.unwrap_or_else(new_job_id);
    let (job, job_lock) = start_job(
        engine,
        &id,
        kind,
        project.map(|p| p.id.as_str()),
        start.trigger,
    )
    .await?;
    if kind == JobKind::Backup {
        // Heartbeat pings' `/start` (best effort, bounded).
        crate::ops::notify::deliver::ping_start(engine, project.map(|p| p.id.as_str())).await;
    }
    let sink = start.progress.clone();
    sink.began(&crate::progress::JobBegan {
        job_id: &job.id,
        kind,
        trigger: start.trigger,
        project: project.map(|p| p.name.as_str()),
        cancel: &start.cancel,
    });
    let reporter = Reporter::new(start.progress, job.id.clone());
    let held = Arc::new(Mutex::new(Vec::new()));
    let result = body(RunningJob {
        id: job.id.clone(),
        reporter: reporter.clone(),
        cancel: start.cancel,
        held: held.clone(),
    })
    .await;
    reporter.finish();
    let (done, total) = reporter.peak();
    let catalog = &engine.catalog;
    let counted = catalog.update_job_counters(&job.id, done, total).await;
    let judged = result.as_ref().ok().and_then(&failure_of);
    let error = result.as_ref().err().or(judged.as_ref());
    let outcome = match error {
        Some(e) => JobOutcome::from_error(e),
        None => JobOutcome::Succeeded {
            backup_id: result.as_ref().ok().and_then(&backup_of),
        },
    };
    let finished = match counted {
        Ok(()) => catalog.finish_job(&job.id, outcome).await,
        Err(e) => Err(e),
    };
    // Said once the catalog holds the end (or could not): a watcher that reads the job then
    // finds it finished.
    sink.ended(&crate::progress::JobEnded {
        job_id: &job.id,
        kind,
        error: finished.as_ref().err().or(error),
    });
    finished?;
    drop(held);
    // The job is over: its locks go before its notification (queued with its outcome) is sent,
    // so a slow receiver never keeps the project busy.
    drop(job_lock);
    drop(project_lock);
    crate::ops::notify::deliver::after_job(engine).await;
    result.map(|v| (job.id, v))
}

/// Register a job and hold its liveness lock until the returned guard drops.
async fn start_job(
    engine: &Engine,
    job_id: &str,
    kind: JobKind,
    project_id: Option<&str>,
    trigger: JobTrigger,
) -> Result<(JobRecord, JobLock)> {
    // The liveness lock is taken before the job is recorded: another process that opens the
    // catalog meanwhile ([`fail_interrupted_jobs`]) must never see the job running without it,
    // or it takes a starting job for a crashed one.
    let path = lock_path(engine, &format!("job-{job_id}.lock"))?;
    let lock = match try_lock(&path)? {
        Some(file) => JobLock { _file: file, path },
        None => return Err(Error::internal("a new job's lock is already held")),
    };
    let job = engine
        .catalog
        .start_job_triggered(job_id, kind, project_id, trigger)
        .await?;
    Ok((job, lock))
}

/// Jobs the catalog shows running whose process is gone (crash, power loss, killed) become
/// `interrupted`. A job's process holds `locks/job-<id>.lock` while it runs, so a job of another
/// live Offsite process (the app and the CLI at once) is left alone. What such a job left in its
/// target is settled afterwards from its journal ([`crate::ops::interrupted`]).
pub(crate) async fn fail_interrupted_jobs(engine: &Engine) -> Result<()> {
    for job in engine.catalog.jobs(None, 10_000).await? {
        if !matches!(job.state, JobState::Running | JobState::Cancelling) {
            continue;
        }
        let path = lock_path(engine, &format!("job-{}.lock", job.id))?;
        if let Some(lock) = try_lock(&path)? {
            // Its process may have finished it (and let go of the lock) since the list was read.
            if engine.catalog.job(&job.id).await?.state.is_finished() {
                // Opening it made the file again: not left behind.
                drop(lock);
                let _ = std::fs::remove_file(&path);
                continue;
            }
            engine.catalog.interrupt_job(&job.id).await?;
            drop(lock);
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}

/// The backup the catalog records at `path`, with the project it belongs to (a job on that
/// archive holds the project's lock); `None` for an archive the catalog does not know.
pub(crate) async fn owner_of_archive(
    engine: &Engine,
    path: &Path,
) -> Result<Option<(BackupRecord, Project)>> {
    match engine.catalog.backup_by_path(path).await? {
        Some(b) => {
            let project = engine.catalog.project_by_id(&b.project_id).await?;
            Ok(Some((b, project)))
        }
        None => Ok(None),
    }
}

/// One job per project at a time, across processes: an exclusive lock on a file in the data
/// folder, released when the guard drops (or the process dies).
///
/// A lock found held is tried again for a moment: a lock just released can stay held for a few
/// milliseconds by a child process another thread is starting (the child's copy of the open file
/// lives until its `exec`), which is not another job.
pub(crate) fn lock_project(engine: &Engine, project: &Project) -> Result<ProjectLock> {
    let path = lock_path(engine, &format!("{}.lock", project.id))?;
    let mut found = try_lock(&path)?;
    for _ in 0..10 {
        if found.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        found = try_lock(&path)?;
    }
    match found {
        Some(file) => Ok(ProjectLock(file)),
        None => Err(Error::new(
            ErrorKind::Busy,
            format!("another job is already running on project {}", project.name),
        )
        .with_hint("wait for it to finish (or cancel it), then try again")),
    }
}

/// A lock of its own, `name` in the locks folder, tried once: `None` while another holder (a live
/// process) has it. Released when the file is dropped or the process dies.
pub(crate) fn try_named_lock(engine: &Engine, name: &str) -> Result<Option<File>> {
    try_lock(&lock_path(engine, name)?)
}

fn lock_path(engine: &Engine, name: &str) -> Result<PathBuf> {
    let dir = engine.data_dir.join("locks");
    crate::private_fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    Ok(dir.join(name))
}

/// An exclusive, non-blocking lock on `path` (created if missing); `None` when another holder
/// has it. The OS releases it when the file closes or the process dies.
fn try_lock(path: &Path) -> Result<Option<File>> {
    let file = crate::private_fs::open_options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::io(format!("locking {}", path.display()), e))
        }
    }
}

/// A running job's liveness lock; its file is removed when the job ends.
struct JobLock {
    _file: File,
    path: PathBuf,
}

impl Drop for JobLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Holds a project's lock until dropped.
pub struct ProjectLock(#[allow(dead_code)] File);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineConfig;
    use crate::secrets::MemoryStore;

    /// Two processes on one data folder: while one starts jobs, the other opens the catalog
    /// again and again (each open looks for interrupted jobs). No starting job may be taken for
    /// a crashed one: every job ends as its own process finished it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_starting_job_is_never_taken_for_an_interrupted_one() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            || EngineConfig::new(Arc::new(MemoryStore::new())).data_dir(Some(dir.path().into()));
        let starter = Engine::open(config()).await.unwrap();
        let opener = Engine::open(config()).await.unwrap();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sweeping = {
            let done = done.clone();
            tokio::spawn(async move {
                let mut sweeps = 0u32;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    fail_interrupted_jobs(&opener).await.unwrap();
                    sweeps += 1;
                }
                sweeps
            })
        };
        for _ in 0..300 {
            let ran = run(
                &starter,
                JobKind::Verify,
                None,
                JobStart::default(),
                |_: &()| None,
                |_job| async { Ok(()) },
            )
            .await;
            if let Err(e) = ran {
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                panic!("a job of a live process was finished by another: {e}");
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(
            sweeping.await.unwrap() > 10,
            "the other process looked often enough"
        );
        for job in starter.catalog.jobs(None, 1000).await.unwrap() {
            assert_eq!(job.state, JobState::Succeeded, "{job:?}");
        }
    }
}
