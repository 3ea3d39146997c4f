//! Long-running jobs of the desktop app: the registry of running jobs (id → cancellation token),
//! the progress sink that turns engine reports into events, and the two job events.
//!
//! A job's id is made here ([`offsite_core::ops::new_job_id`]) and returned by the `start_*`
//! command before the job runs; the engine records the job under that same id (the
//! [`JobStart`] that [`spawn_job`] hands the job carries it). So the UI subscribes to `job-progress` / `job-finished`, calls
//! `start_backup`, and filters events by the returned id: every progress event of the job carries
//! it, and `job-finished` is always emitted exactly once per started job, also when the job
//! fails before it could begin (unknown project, another job running on it).

use offsite_core::archive::reader::VerifyReport;
use offsite_core::catalog::{BackupRecord, JobKind};
use offsite_core::drill::DrillReport;
use offsite_core::ops::artifacts::ArtifactPullOutcome;
use offsite_core::ops::drill::DrillOutcome;
use offsite_core::ops::job_steps::RunningJob;
use offsite_core::ops::recover::{RecoverOutcome, UndoOutcome};
use offsite_core::ops::remote::{PullAllOutcome, RemoteBackupOutcome};
use offsite_core::ops::tenant_backup::TenantBackupOutcome;
use offsite_core::ops::{
    BackupOutcome, FetchCopyOutcome, ImportOutcome, SyncOutcome, VerifyOutcome,
};
use offsite_core::progress::{JobBegan, JobEnded, Phase, Progress, ProgressUpdate, RetryWait};
use offsite_core::recover::{RecoverReport, UndoReport};
use offsite_core::restore::{Component, RestoreOutcome, RestoreReport};
use offsite_core::{ErrorPayload, JobStart, JobTrigger};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Runtime};
use tauri_specta::Event;
use tokio_util::sync::CancellationToken;

/// Progress of a running job (throttled by the engine: ≈ every 150 ms, the first and the last
/// update always). Event name: `job-progress`.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type, tauri_specta::Event)]
pub struct JobProgress {
    pub job_id: String,
    pub phase: Phase,
    /// Bytes processed so far in this phase.
    pub bytes_done: u64,
    /// Total bytes of this phase when known.
    pub bytes_total: Option<u64>,
    pub bytes_per_sec: f64,
    /// The last progress update of the job (`job-finished` follows).
    pub finished: bool,
    /// Present on the update that announces a wait before retrying a temporary failure
    /// ("waiting 4 s before try 3 of 5: connection reset"); the next update clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub retry: Option<RetryWait>,
    /// A restore: the component it is on (database, storage, configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub component: Option<Component>,
}

impl From<&ProgressUpdate> for JobProgress {
    fn from(u: &ProgressUpdate) -> Self {
        JobProgress {
            job_id: u.job_id.clone(),
            phase: u.phase,
            bytes_done: u.bytes_done,
            bytes_total: u.bytes_total,
            bytes_per_sec: u.bytes_per_sec,
            finished: u.finished,
            retry: u.retry.clone(),
            component: u.component,
        }
    }
}

/// A job this window did not start began: one the scheduler started (a scheduled backup,
/// verification or drill, the retention after it). Event name: `job-started`. Its
/// `job-progress` events and its `job-finished` (without a result: the catalog's change events
/// bring what it made) follow as for the window's own jobs, and `cancel_job` stops it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type, tauri_specta::Event)]
pub struct JobStarted {
    pub job_id: String,
    pub kind: JobKind,
    /// The project's name, when the job is about one.
    pub project: Option<String>,
    pub trigger: JobTrigger,
}

/// What a successful job produced.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
// One result per job, sent once as JSON: the size of its largest report does not matter.
#[allow(clippy::large_enum_variant)]
pub enum JobResult {
    /// The archive the backup wrote, as the catalog records it.
    Backup { backup: BackupRecord },
    /// `report.ok` says whether the archive is intact. A damaged archive ends the job failed
    /// (`JobFinished.ok` false, code `integrity`, as the catalog records it) with this report,
    /// which says what is damaged.
    Verify {
        backup_id: Option<String>,
        report: VerifyReport,
    },
    /// One restore's report, a section per component restored (database, storage,
    /// configuration); `report.ok`: every table holds the rows the backup recorded.
    Restore { report: RestoreReport },
    /// A pull ("Pull new", `offsite pull`): `server` says whether the project has a backup
    /// server; then the backups pulled from it (each verified and registered), how many the
    /// catalog already had, and how many the server is still making (all empty without one).
    /// `artifacts`: the artifact bucket's pull, `null` when the project has no bucket.
    Pull {
        server: bool,
        downloaded: Vec<BackupRecord>,
        already_local: u32,
        in_progress: u32,
        artifacts: Option<ArtifactPullOutcome>,
    },
    /// The backup an import registered, and the project it now belongs to.
    Import {
        /// The project's name.
        project: String,
        /// Whether the import created that project.
        created_project: bool,
        backup: BackupRecord,
    },
    /// Pending copies pushed to the project's destinations and each destination's retention
    /// applied: every upload tried, what retention removed, how many copies still wait.
    Sync { outcome: SyncOutcome },
    /// A backup's copy fetched back from a destination, checked, and in place as its local
    /// archive again.
    FetchCopy { outcome: FetchCopyOutcome },
    /// A restore drill ran to its end: its signed report (`report.verdict` says whether the
    /// backup was proven; a failed drill is a successful job with a failed verdict).
    Drill { report: DrillReport },
    /// A recovery of chosen rows: per table what was inserted, updated, left and kept, and
    /// the undo id.
    Recover { report: RecoverReport },
    /// A recovery undone: rows put back, and rows changed since that were left.
    RecoverUndo { report: UndoReport },
    /// Per-tenant backups: one archive per tenant value, each with its tables, rows and
    /// isolation check.
    TenantBackup { outcome: TenantBackupOutcome },
    /// A restore to a time: its plan (base, change data, the commit it stopped at) and what
    /// the replay applied.
    PitrRestore {
        restored: offsite_core::ops::pitr::restore::PitrRestored,
    },
    /// A project's database as it was at a time, made and held for "Look inside"
    /// (`commands::pitr_at`): the temporary archive's path the browse commands take, and the
    /// state (the base, the last commit replayed).
    AtState {
        archive: String,
        state: offsite_core::ops::pitr::at::AtState,
    },
}

impl From<crate::commands::pitr_at::OpenedAt> for JobResult {
    fn from(o: crate::commands::pitr_at::OpenedAt) -> Self {
        JobResult::AtState {
            archive: o.archive,
            state: o.state,
        }
    }
}

/// A job ended. Emitted exactly once per job started by a `start_*` command. Event name:
/// `job-finished`.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct JobFinished {
    pub job_id: String,
    pub kind: JobKind,
    /// Whether the job succeeded, as the catalog records it (history, status and the
    /// notification say the same). True: `result` is set. False: `error` says why (code
    /// `cancelled` when the user cancelled it), and `result` is still set when what the job
    /// produced is itself the failure (a verify that found damage: code `integrity`, the
    /// report says what is damaged).
    pub ok: bool,
    pub error: Option<ErrorPayload>,
    pub result: Option<JobResult>,
}

impl JobResult {
    /// The failure this result still is, by the engine's rule (the one its job runner records
    /// in the catalog, and the command line exits by): a verify that found damage
    /// (`VerifyReport::damage`, code `integrity`). None for every other result.
    pub fn failure(&self) -> Option<offsite_core::Error> {
        match self {
            JobResult::Verify { report, .. } => report.damage(),
            _ => None,
        }
    }
}

impl JobFinished {
    /// The event of job `job_id` that ended with `result`: `ok` only when the job succeeded as
    /// the catalog records it ([`JobResult::failure`]).
    pub fn of(job_id: String, kind: JobKind, result: offsite_core::Result<JobResult>) -> Self {
        let (result, error) = match result {
            Ok(r) => {
                let failure = r.failure();
                (Some(r), failure)
            }
            Err(e) => (None, Some(e)),
        };
        JobFinished {
            job_id,
            kind,
            ok: error.is_none(),
            error: error.as_ref().map(ErrorPayload::from),
            result,
        }
    }
}

impl From<BackupOutcome> for JobResult {
    fn from(o: BackupOutcome) -> Self {
        JobResult::Backup { backup: o.backup }
    }
}
impl From<RemoteBackupOutcome> for JobResult {
    fn from(o: RemoteBackupOutcome) -> Self {
        JobResult::Backup { backup: o.backup }
    }
}
impl From<PullAllOutcome> for JobResult {
    fn from(o: PullAllOutcome) -> Self {
        let server = o.server.is_some();
        let s = o.server.unwrap_or_default();
        JobResult::Pull {
            server,
            downloaded: s.downloaded,
            already_local: s.already_local,
            in_progress: s.in_progress,
            artifacts: o.artifacts,
        }
    }
}
impl From<VerifyOutcome> for JobResult {
    fn from(o: VerifyOutcome) -> Self {
        JobResult::Verify {
            backup_id: o.backup_id,
            report: o.report,
        }
    }
}
impl From<ImportOutcome> for JobResult {
    fn from(o: ImportOutcome) -> Self {
        JobResult::Import {
            project: o.project.name,
            created_project: o.created_project,
            backup: o.backup,
        }
    }
}
impl From<SyncOutcome> for JobResult {
    fn from(outcome: SyncOutcome) -> Self {
        JobResult::Sync { outcome }
    }
}
impl From<FetchCopyOutcome> for JobResult {
    fn from(outcome: FetchCopyOutcome) -> Self {
        JobResult::FetchCopy { outcome }
    }
}
impl From<DrillOutcome> for JobResult {
    fn from(o: DrillOutcome) -> Self {
        JobResult::Drill { report: o.report }
    }
}
impl From<RecoverOutcome> for JobResult {
    fn from(o: RecoverOutcome) -> Self {
        JobResult::Recover { report: o.report }
    }
}
impl From<UndoOutcome> for JobResult {
    fn from(o: UndoOutcome) -> Self {
        JobResult::RecoverUndo { report: o.report }
    }
}
impl From<TenantBackupOutcome> for JobResult {
    fn from(outcome: TenantBackupOutcome) -> Self {
        JobResult::TenantBackup { outcome }
    }
}

impl From<offsite_core::ops::pitr::restore::PitrRestored> for JobResult {
    fn from(restored: offsite_core::ops::pitr::restore::PitrRestored) -> Self {
        JobResult::PitrRestore { restored }
    }
}

impl From<RestoreOutcome> for JobResult {
    fn from(o: RestoreOutcome) -> Self {
        JobResult::Restore { report: o.report }
    }
}

/// What a job was about, for the shell's own uses of a finished job (tray, notifications).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobSubject {
    /// The project the job is about, when known before it runs (the project backed up, the
    /// project restored into).
    pub project: Option<String>,
    /// What it worked on, for people: the project's name, the archive's file name, the target
    /// database.
    pub label: String,
}

/// A finished job as the shell's hooks see it: the event that was emitted, what the job was
/// about, and how long it ran.
#[derive(Debug, Clone)]
pub struct JobDone {
    pub finished: JobFinished,
    pub subject: JobSubject,
    pub duration: Duration,
}

type FinishedHook = Arc<dyn Fn(&JobDone) + Send + Sync>;

/// The jobs this app runs: id → cancellation token; and who wants to know when one finishes.
/// Managed state.
#[derive(Default)]
pub struct JobRegistry {
    running: Mutex<HashMap<String, CancellationToken>>,
    on_finished: Mutex<Vec<FinishedHook>>,
    /// What each job started by [`spawn_job`] is and the phases it reported, in the order the
    /// jobs started: the tray names the running job and its step (issue 64 item 6).
    live: Mutex<Vec<(String, RunningJob)>>,
}

impl JobRegistry {
    /// Call `hook` after each job's `job-finished` event (on a background task; keep it short).
    pub fn on_finished(&self, hook: impl Fn(&JobDone) + Send + Sync + 'static) {
        self.on_finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::new(hook));
    }

    fn finished(&self, done: &JobDone) {
        let hooks = self
            .on_finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for hook in hooks {
            // A failing hook (tray, notification) must never take the job's bookkeeping down.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(done))).is_err() {
                eprintln!("warning: a job-finished hook panicked");
            }
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A job another part of the app started (the scheduler's), run with `token`: registered
    /// as the window's own are (cancel, the tray's running job) until [`JobRegistry::remove`].
    fn adopt(&self, job_id: &str, token: CancellationToken, kind: JobKind, subject: &JobSubject) {
        self.map().insert(job_id.to_string(), token);
        self.started(job_id, kind, subject);
    }

    /// A new job id with its token, registered until [`JobRegistry::remove`].
    pub fn register(&self) -> (String, CancellationToken) {
        let id = offsite_core::ops::new_job_id();
        let token = CancellationToken::new();
        self.map().insert(id.clone(), token.clone());
        (id, token)
    }

    /// Ask a running job to stop. False when this app runs no such job (any more).
    pub fn cancel(&self, job_id: &str) -> bool {
        match self.map().get(job_id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    pub fn remove(&self, job_id: &str) {
        self.map().remove(job_id);
        self.live_jobs().retain(|(id, _)| id != job_id);
    }

    fn live_jobs(&self) -> std::sync::MutexGuard<'_, Vec<(String, RunningJob)>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remember what job `job_id` is (before its first report).
    fn started(&self, job_id: &str, kind: JobKind, subject: &JobSubject) {
        let about = subject
            .project
            .clone()
            .unwrap_or_else(|| subject.label.clone());
        self.live_jobs().push((
            job_id.to_string(),
            RunningJob {
                kind,
                subject: about,
                phase: None,
                reached: Vec::new(),
            },
        ));
    }

    /// A job reported `phase`: true when it is a new one (the tray's step may change).
    fn progressed(&self, job_id: &str, phase: Phase) -> bool {
        let mut live = self.live_jobs();
        let Some((_, job)) = live.iter_mut().find(|(id, _)| id == job_id) else {
            return false;
        };
        if job.phase == Some(phase) {
            return false;
        }
        if let Some(before) = job.phase.replace(phase) {
            if !job.reached.contains(&before) {
                job.reached.push(before);
            }
        }
        true
    }

    /// The jobs this app runs now with their phases, oldest first, by id.
    pub fn live(&self) -> Vec<(String, RunningJob)> {
        self.live_jobs().clone()
    }

    /// Ask every running job to stop (quitting the app); returns how many were asked.
    pub fn cancel_all(&self) -> usize {
        let map = self.map();
        for token in map.values() {
            token.cancel();
        }
        map.len()
    }

    /// How many jobs are running (until their `job-finished`).
    pub fn running(&self) -> usize {
        self.map().len()
    }
}

/// The engine's progress sink: each report becomes a `job-progress` event.
pub struct EventProgress<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> EventProgress<R> {
    pub fn new(app: AppHandle<R>) -> Self {
        EventProgress { app }
    }
}

impl<R: Runtime> Progress for EventProgress<R> {
    fn report(&self, update: &ProgressUpdate) {
        // A window that went away cannot receive it; the job goes on.
        let _ = JobProgress::from(update).emit(&self.app);
        use tauri::Manager;
        if let Some(registry) = self.app.try_state::<JobRegistry>() {
            if registry.progressed(&update.job_id, update.phase) {
                crate::tray::refresh_soon(&self.app);
            }
        }
    }
}

/// The sink of the jobs the scheduler starts (`scheduler::start`): each is shown as the window's
/// own are — `job-started` saying what it is, its `job-progress`, `job-finished` — and is in the
/// registry while it runs (the tray names it, Cancel stops it through its own token). How it
/// ended is the scheduler's notification to say, not the job-finished hooks'.
pub struct ScheduledProgress<R: Runtime> {
    events: EventProgress<R>,
}

impl<R: Runtime> ScheduledProgress<R> {
    pub fn new(app: AppHandle<R>) -> Self {
        ScheduledProgress {
            events: EventProgress::new(app),
        }
    }
}

impl<R: Runtime> Progress for ScheduledProgress<R> {
    fn report(&self, update: &ProgressUpdate) {
        self.events.report(update);
    }

    fn began(&self, job: &JobBegan<'_>) {
        use tauri::Manager;
        let app = &self.events.app;
        if let Some(registry) = app.try_state::<JobRegistry>() {
            let subject = JobSubject {
                project: job.project.map(str::to_string),
                label: job.project.unwrap_or(job.kind.as_str()).to_string(),
            };
            registry.adopt(job.job_id, job.cancel.clone(), job.kind, &subject);
        }
        let _ = JobStarted {
            job_id: job.job_id.to_string(),
            kind: job.kind,
            project: job.project.map(str::to_string),
            trigger: job.trigger,
        }
        .emit(app);
        crate::tray::refresh_soon(app);
    }

    fn ended(&self, job: &JobEnded<'_>) {
        use tauri::Manager;
        let app = &self.events.app;
        if let Some(registry) = app.try_state::<JobRegistry>() {
            registry.remove(job.job_id);
        }
        let _ = JobFinished {
            job_id: job.job_id.to_string(),
            kind: job.kind,
            ok: job.error.is_none(),
            error: job.error.map(ErrorPayload::from),
            result: None,
        }
        .emit(app);
        crate::tray::refresh_soon(app);
    }
}

/// Run a job in the background: `work` gets how the job starts (a manual job with its id, its
/// token and a sink that emits `job-progress`); when it ends, `job-finished` is emitted, the job
/// leaves the registry and the registry's finished hooks run.
pub fn spawn_job<R, T, F, Fut>(
    app: AppHandle<R>,
    registry: &JobRegistry,
    kind: JobKind,
    subject: JobSubject,
    work: F,
) -> String
where
    R: Runtime,
    T: Into<JobResult> + Send + 'static,
    F: FnOnce(JobStart) -> Fut + Send + 'static,
    Fut: Future<Output = offsite_core::Result<T>> + Send + 'static,
{
    use tauri::Manager;
    let (job_id, token) = registry.register();
    registry.started(&job_id, kind, &subject);
    crate::tray::refresh_soon(&app);
    let id = job_id.clone();
    let sink: Arc<dyn Progress> = Arc::new(EventProgress::new(app.clone()));
    let started = Instant::now();
    tauri::async_runtime::spawn(async move {
        // In a task of its own, so even a panic ends the job with `job-finished`.
        let start = JobStart::new(JobTrigger::Manual)
            .id(id.clone())
            .progress(sink)
            .cancel(token);
        let result = match tauri::async_runtime::spawn(work(start)).await {
            Ok(result) => result,
            Err(e) => Err(offsite_core::Error::internal(format!(
                "the job stopped unexpectedly: {e}"
            ))),
        };
        let finished = JobFinished::of(id.clone(), kind, result.map(Into::into));
        let registry = app.state::<JobRegistry>();
        registry.remove(&id);
        let _ = finished.emit(&app);
        registry.finished(&JobDone {
            finished,
            subject,
            duration: started.elapsed(),
        });
    });
    job_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use offsite_core::archive::reader::SidecarStatus;

    fn verified(ok: bool) -> JobResult {
        JobResult::Verify {
            backup_id: Some("b1".into()),
            report: VerifyReport {
                archive: "/b/shop_20261128_101500_database.tar.zst".into(),
                ok,
                file_sha256: "0".repeat(64),
                sidecar: SidecarStatus::Match,
                members: Vec::new(),
                first_bad: (!ok).then(|| "database.dump".into()),
                bytes_verified: 4096,
                problems: Vec::new(),
                manifest: None,
                contents_not_checked: None,
            },
        }
    }

    /// Issue 63 item 8: a damaged verify's event said `ok: true` while the catalog, history and
    /// notification said failed. The event is failed with the engine's own error (what the
    /// runner records), and keeps the report that says what is damaged.
    #[test]
    fn a_damaged_verify_finishes_failed_with_its_report_as_the_catalog_records_it() {
        let damaged = JobFinished::of("job-1".into(), JobKind::Verify, Ok(verified(false)));
        assert!(!damaged.ok);
        let error = damaged
            .error
            .as_ref()
            .expect("the damage is the job's error");
        let JobResult::Verify { report, .. } = damaged.result.as_ref().expect("the report stays")
        else {
            panic!("a verify's result: {damaged:?}")
        };
        let engine = ErrorPayload::from(&report.damage().unwrap());
        assert_eq!(error.code, offsite_core::ErrorKind::Integrity);
        assert_eq!(
            (&error.message, &error.hint),
            (&engine.message, &engine.hint)
        );
        assert!(error.message.contains("database.dump"), "{}", error.message);
        let json = serde_json::to_value(&damaged).unwrap();
        assert_eq!(json["ok"], false, "{json}");
        assert_eq!(json["result"]["report"]["ok"], false, "{json}");

        let intact = JobFinished::of("job-2".into(), JobKind::Verify, Ok(verified(true)));
        assert!(intact.ok && intact.error.is_none() && intact.result.is_some());

        let refused = JobFinished::of(
            "job-3".into(),
            JobKind::Verify,
            Err(offsite_core::Error::not_found("no such archive")),
        );
        assert!(!refused.ok && refused.result.is_none());
        assert_eq!(
            refused.error.unwrap().code,
            offsite_core::ErrorKind::NotFound
        );
    }

    #[test]
    fn cancel_all_asks_every_running_job_to_stop() {
        let registry = JobRegistry::default();
        let (a, token_a) = registry.register();
        let (_b, token_b) = registry.register();
        assert_eq!(registry.running(), 2);
        assert_eq!(registry.cancel_all(), 2);
        assert!(token_a.is_cancelled() && token_b.is_cancelled());
        registry.remove(&a);
        assert_eq!(registry.running(), 1);
    }
}
