//! Progress reporting: the one trait the engine reports through, and a throttle.
//!
//! The CLI turns reports into a progress bar, the desktop shell into events. Reports are
//! throttled by [`Throttled`]: the first and the last update always pass, the ones in between at
//! most every `interval`.

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A part of a backup a restore can put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Component {
    Database,
    Storage,
    Config,
}

impl Component {
    /// The word people read ("database", "storage", "configuration").
    pub fn label(self) -> &'static str {
        match self {
            Component::Database => "database",
            Component::Storage => "storage",
            Component::Config => "configuration",
        }
    }
}

/// What a job is doing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Connecting,
    Counting,
    Dumping,
    /// Downloading a project's storage objects (bytes of object data).
    Downloading,
    /// A backup server (an Offsite agent) makes the backup: `bytes_done` / `bytes_total` are
    /// its percentage (of 100), not bytes (an agent that reports no bytes).
    OnServer,
    /// A backup server makes the backup and reports its bytes: `bytes_done` / `bytes_total` are
    /// the bytes of the server's current step (its dump, its storage download, its packing…),
    /// as the server counts them; a new step starts a new phase.
    ServerStep,
    Globals,
    Packing,
    Syncing,
    Verifying,
    Planning,
    SafetyBackup,
    Restoring,
    Validating,
    /// Copying an archive to the project's destinations (bytes of the archive).
    Copying,
    /// Fetching a copy back from a destination (bytes of the archive).
    Fetching,
    Done,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Connecting => "connecting",
            Phase::Counting => "counting rows",
            Phase::Dumping => "dumping",
            Phase::Downloading => "downloading files",
            Phase::OnServer | Phase::ServerStep => "backing up on the server",
            Phase::Globals => "reading roles",
            Phase::Packing => "packing",
            Phase::Syncing => "syncing to disk",
            Phase::Verifying => "verifying",
            Phase::Planning => "planning",
            Phase::SafetyBackup => "safety backup",
            Phase::Restoring => "restoring",
            Phase::Validating => "validating",
            Phase::Copying => "copying to destinations",
            Phase::Fetching => "fetching a copy",
            Phase::Done => "done",
        }
    }
}

/// One progress report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProgressUpdate {
    pub job_id: String,
    pub phase: Phase,
    /// Bytes processed so far in this phase.
    pub bytes_done: u64,
    /// Total bytes of this phase when known.
    pub bytes_total: Option<u64>,
    /// Bytes per second over the phase so far.
    pub bytes_per_sec: f64,
    /// The last update of the job.
    pub finished: bool,
    /// Set on the update that announces a wait before a retry (a temporary failure of a remote
    /// call): the job is still in `phase`, waiting. The next update clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub retry: Option<RetryWait>,
    /// A restore of several components: the one it is on (absent: not a restore, or between
    /// components).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub component: Option<Component>,
}

/// "waiting N s before retry k of M: <reason>".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RetryWait {
    /// How long the job waits before the next try, in milliseconds.
    pub wait_ms: u64,
    /// The try that comes after the wait (2 for the first retry).
    pub attempt: u32,
    /// The most tries there will be.
    pub max_attempts: u32,
    /// Why: the temporary error's message (never secrets: errors carry none).
    pub reason: String,
}

impl std::fmt::Display for RetryWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "waiting {:.1} s before try {} of {}: {}",
            self.wait_ms as f64 / 1000.0,
            self.attempt,
            self.max_attempts,
            self.reason
        )
    }
}

/// A job as its runner recorded it, before its first report: what a sink that did not start
/// the job (a front end watching the scheduler's jobs) needs to show it and to stop it.
#[derive(Debug, Clone, Copy)]
pub struct JobBegan<'a> {
    pub job_id: &'a str,
    pub kind: crate::kinds::JobKind,
    pub trigger: crate::kinds::JobTrigger,
    /// The project's name, when the job is about one.
    pub project: Option<&'a str>,
    /// The job's own cancellation: cancelling it stops the job as its starter's would.
    pub cancel: &'a tokio_util::sync::CancellationToken,
}

/// A job's end as its runner recorded it in the catalog, after its last report.
#[derive(Debug, Clone, Copy)]
pub struct JobEnded<'a> {
    pub job_id: &'a str,
    pub kind: crate::kinds::JobKind,
    /// Why it failed (code `cancelled` when it was stopped); `None`: it succeeded.
    pub error: Option<&'a crate::error::Error>,
}

/// Receives progress. Implementations must be cheap: they are called from the hot path
/// (already throttled). A job's runner also says when the job began and ended (once each); the
/// front ends that start a job themselves know both already and keep the defaults.
pub trait Progress: Send + Sync {
    fn report(&self, update: &ProgressUpdate);
    /// The job was recorded as running (before its first [`Progress::report`]).
    fn began(&self, _job: &JobBegan<'_>) {}
    /// The job was recorded as finished (after its last [`Progress::report`]).
    fn ended(&self, _job: &JobEnded<'_>) {}
}

/// Discards everything.
pub struct NoProgress;
impl Progress for NoProgress {
    fn report(&self, _: &ProgressUpdate) {}
}

impl<F: Fn(&ProgressUpdate) + Send + Sync> Progress for F {
    fn report(&self, update: &ProgressUpdate) {
        self(update)
    }
}

/// Tracks a job's phase and byte counters and forwards throttled updates. Cheap to clone (all
/// clones share the same state), so it can be handed to worker threads.
#[derive(Clone)]
pub struct Reporter {
    inner: Arc<ReporterInner>,
}

struct ReporterInner {
    sink: Arc<dyn Progress>,
    job_id: String,
    interval: Duration,
    state: Mutex<ReporterState>,
}

struct ReporterState {
    phase: Phase,
    phase_started: Instant,
    bytes_done: u64,
    bytes_total: Option<u64>,
    last_sent: Option<Instant>,
    /// The phase that moved the most bytes so far: (bytes done, bytes total).
    peak: (u64, Option<u64>),
    /// A wait to announce with the next update.
    retry: Option<RetryWait>,
    component: Option<Component>,
}

impl Reporter {
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(150);

    pub fn new(sink: Arc<dyn Progress>, job_id: impl Into<String>) -> Self {
        Self::with_interval(sink, job_id, Self::DEFAULT_INTERVAL)
    }

    /// A reporter that discards everything (tests, nested work).
    pub fn silent() -> Self {
        Self::new(Arc::new(NoProgress), "")
    }

    pub fn with_interval(
        sink: Arc<dyn Progress>,
        job_id: impl Into<String>,
        interval: Duration,
    ) -> Self {
        Reporter {
            inner: Arc::new(ReporterInner {
                sink,
                job_id: job_id.into(),
                interval,
                state: Mutex::new(ReporterState {
                    phase: Phase::Connecting,
                    phase_started: Instant::now(),
                    bytes_done: 0,
                    bytes_total: None,
                    last_sent: None,
                    peak: (0, None),
                    retry: None,
                    component: None,
                }),
            }),
        }
    }

    pub fn job_id(&self) -> &str {
        &self.inner.job_id
    }

    /// Where this reporter's updates go (for work nested in its job that reports on its own).
    pub fn sink(&self) -> Arc<dyn Progress> {
        self.inner.sink.clone()
    }

    /// Enter a new phase; always reported.
    pub fn phase(&self, phase: Phase, bytes_total: Option<u64>) {
        let mut s = self.inner.state.lock().unwrap();
        s.phase = phase;
        s.phase_started = Instant::now();
        s.bytes_done = 0;
        s.bytes_total = bytes_total;
        self.send(&mut s, false, true);
    }

    /// A restore of several components moves on to `component` (`None`: done with them); the
    /// updates that follow name it.
    pub fn component(&self, component: Option<Component>) {
        self.inner.state.lock().unwrap().component = component;
    }

    /// Announce a wait before a retry; always reported (the phase and counters stay).
    pub fn waiting(&self, wait: RetryWait) {
        let mut s = self.inner.state.lock().unwrap();
        s.retry = Some(wait);
        self.send(&mut s, false, true);
    }

    /// Add bytes to the current phase; reported when the interval has passed.
    pub fn advance(&self, bytes: u64) {
        let mut s = self.inner.state.lock().unwrap();
        s.bytes_done += bytes;
        self.send(&mut s, false, false);
    }

    /// Set the absolute byte counter of the current phase.
    pub fn set_done(&self, bytes_done: u64) {
        let mut s = self.inner.state.lock().unwrap();
        s.bytes_done = bytes_done;
        self.send(&mut s, false, false);
    }

    /// Report the current counters now (the end of a phase's work), whatever the throttle says.
    pub fn report_now(&self) {
        let mut s = self.inner.state.lock().unwrap();
        self.send(&mut s, false, true);
    }

    /// The last update; always reported.
    pub fn finish(&self) {
        let mut s = self.inner.state.lock().unwrap();
        s.phase = Phase::Done;
        self.send(&mut s, true, true);
    }

    /// The counters of the phase that moved the most bytes (what the job's catalog row records).
    pub fn peak(&self) -> (u64, Option<u64>) {
        self.inner.state.lock().unwrap().peak
    }

    pub fn bytes_done(&self) -> u64 {
        self.inner.state.lock().unwrap().bytes_done
    }

    fn send(&self, s: &mut ReporterState, finished: bool, force: bool) {
        if s.bytes_done >= s.peak.0 {
            s.peak = (s.bytes_done, s.bytes_total);
        }
        let now = Instant::now();
        if !force {
            if let Some(last) = s.last_sent {
                if now.duration_since(last) < self.inner.interval {
                    return;
                }
            }
        }
        s.last_sent = Some(now);
        let secs = now.duration_since(s.phase_started).as_secs_f64();
        let update = ProgressUpdate {
            job_id: self.inner.job_id.clone(),
            phase: s.phase,
            bytes_done: s.bytes_done,
            bytes_total: s.bytes_total,
            bytes_per_sec: if secs > 0.0 {
                s.bytes_done as f64 / secs
            } else {
                0.0
            },
            finished,
            retry: s.retry.take(),
            component: s.component,
        };
        self.inner.sink.report(&update);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_last_always_sent_middle_throttled() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let sink = move |u: &ProgressUpdate| s2.lock().unwrap().push(u.clone());
        let r = Reporter::with_interval(Arc::new(sink), "j1", Duration::from_secs(3600));
        r.phase(Phase::Dumping, Some(1000));
        for _ in 0..100 {
            r.advance(10);
        }
        r.finish();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].phase, Phase::Dumping);
        assert_eq!(seen[0].bytes_done, 0);
        assert!(seen[1].finished);
        assert_eq!(seen[1].bytes_done, 1000);
        assert_eq!(r.peak(), (1000, Some(1000)));
    }

    #[test]
    fn zero_interval_sends_everything() {
        let seen = Arc::new(Mutex::new(0usize));
        let s2 = seen.clone();
        let sink = move |_: &ProgressUpdate| *s2.lock().unwrap() += 1;
        let r = Reporter::with_interval(Arc::new(sink), "j", Duration::ZERO);
        r.phase(Phase::Verifying, None);
        r.advance(1);
        r.advance(1);
        r.finish();
        assert_eq!(*seen.lock().unwrap(), 4);
    }

    #[test]
    fn a_wait_is_always_sent_once_and_then_cleared() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let sink = move |u: &ProgressUpdate| s2.lock().unwrap().push(u.clone());
        let r = Reporter::with_interval(Arc::new(sink), "j", Duration::from_secs(3600));
        r.phase(Phase::Dumping, None);
        r.advance(5);
        let wait = RetryWait {
            wait_ms: 2500,
            attempt: 2,
            max_attempts: 5,
            reason: "connection reset".into(),
        };
        r.waiting(wait.clone());
        r.finish();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(seen[1].retry.as_ref(), Some(&wait));
        assert_eq!(seen[1].phase, Phase::Dumping);
        assert_eq!(seen[1].bytes_done, 5);
        assert_eq!(seen[2].retry, None);
        assert_eq!(
            wait.to_string(),
            "waiting 2.5 s before try 2 of 5: connection reset"
        );
        // Additive over IPC: absent unless waiting.
        let json = serde_json::to_value(&seen[0]).unwrap();
        assert!(json.get("retry").is_none());
        let json = serde_json::to_value(&seen[1]).unwrap();
        assert_eq!(json["retry"]["attempt"], 2);
    }
}
