//! What every job is started with: an id (made here when the caller has none), what started it,
//! where its progress goes and how it is cancelled.

use crate::progress::{NoProgress, Progress};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A fresh job id (what the engine picks when [`JobStart::id`] is `None`).
pub use crate::catalog::new_job_id;

/// What started a job; recorded in the job's row (`jobs.trigger`).
pub use crate::catalog::JobTrigger;

/// How a job starts: its id, trigger, progress sink and cancellation token. The default is a
/// manual job with a new id, no progress reports and a token nobody cancels.
#[derive(Clone)]
pub struct JobStart {
    /// The job's id; `None`: a new one. A caller that subscribes to a job's progress before it
    /// starts picks the id itself ([`new_job_id`]).
    pub id: Option<String>,
    pub trigger: JobTrigger,
    pub progress: Arc<dyn Progress>,
    pub cancel: CancellationToken,
}

impl Default for JobStart {
    fn default() -> Self {
        JobStart {
            id: None,
            trigger: JobTrigger::Manual,
            progress: Arc::new(NoProgress),
            cancel: CancellationToken::new(),
        }
    }
}

impl JobStart {
    /// A job started by `trigger` (otherwise the defaults).
    pub fn new(trigger: JobTrigger) -> Self {
        JobStart {
            trigger,
            ..Default::default()
        }
    }
    /// Run as the job `id`.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
    /// Report progress to `sink`.
    pub fn progress(mut self, sink: Arc<dyn Progress>) -> Self {
        self.progress = sink;
        self
    }
    /// Stop when `cancel` is cancelled.
    pub fn cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }
}

impl std::fmt::Debug for JobStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobStart")
            .field("id", &self.id)
            .field("trigger", &self.trigger)
            .field("cancelled", &self.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_round_trip_in_snake_case() {
        for t in [
            JobTrigger::Manual,
            JobTrigger::Schedule,
            JobTrigger::CatchUp,
            JobTrigger::Retry,
            JobTrigger::Cli,
            JobTrigger::Retention,
        ] {
            assert_eq!(JobTrigger::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        assert_eq!(JobTrigger::CatchUp.as_str(), "catch_up");
        assert_eq!(JobTrigger::parse("later"), None);
    }
}
