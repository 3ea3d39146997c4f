//! The one loop that runs schedules in the background: the desktop app, `offsite daemon` and the
//! agent (`offsite serve`) all run [`run_schedules`]; each passes what differs — how it announces
//! what ran — as a [`DueListener`].
//!
//! Each check asks [`run_due`](crate::Engine::run_due) what is due *now* by the engine's
//! [`Clock`](crate::clock::Clock) (the wall clock and the catalog, never timers): a schedule whose
//! slots passed while the machine slept runs once, as a catch-up, and a slot the catalog records
//! as claimed never runs twice. Between checks the loop waits until the earliest next run, but
//! never longer than [`LoopOptions::max_wait`] (a minute): tokio's timers use a monotonic clock
//! that stops while a laptop sleeps, so after a wake-up the next check comes within a minute (or
//! at once, when the front end hears the resume and calls [`LoopOptions::wake`]). Checks run one
//! after another: a wake-up during a check is kept and starts the next check right after it.
//! Copies a destination could not take (pending) are retried at the first check and then every
//! [`LoopOptions::pending_retry`] (ten minutes).
//! Each check also measures the slots of Offsite's point-in-time captures (one past its limit is
//! dropped and the alert sent, whether or not a capture runs: `ops::pitr::slots`).
//! Each check also records overdue transitions and delivers the notifications that are due
//! (`ops::notify::deliver`), so an idle loop wakes at most once a minute for them too.
//! The loop ends when `cancel` is cancelled (a check in progress finishes first).

use crate::catalog::parse_timestamp;
use crate::engine::Engine;
use crate::error::Result;
use crate::ops::schedule::{ProjectStatus, RunDueReport};
use crate::progress::{NoProgress, Progress};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The longest wait between two checks.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// What a front end does with each check.
pub trait DueListener: Send + Sync {
    /// After each check: what ran (often nothing), or why the check failed.
    fn checked(
        &self,
        engine: &Engine,
        report: &Result<RunDueReport>,
    ) -> impl Future<Output = ()> + Send;

    /// After each check: every project's status now (next run, overdue). The loop's own wait
    /// comes from these; a front end may show them (the desktop: the tray, overdue notices).
    fn statuses(
        &self,
        _engine: &Engine,
        _statuses: &[ProjectStatus],
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// How the loop waits, and where its jobs report.
#[derive(Clone)]
pub struct LoopOptions {
    /// The longest wait between two checks ([`MAX_WAIT`]).
    pub max_wait: Duration,
    /// Notified (e.g. on a resume from sleep): the next check starts at once.
    pub wake: Arc<Notify>,
    /// How often pending copies are retried (the first check retries them at once).
    pub pending_retry: Duration,
    /// Where the jobs of the runs report their progress, start and end (a front end that
    /// shows the scheduler's jobs beside its own; default: nowhere).
    pub progress: Arc<dyn Progress>,
}

impl std::fmt::Debug for LoopOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopOptions")
            .field("max_wait", &self.max_wait)
            .field("pending_retry", &self.pending_retry)
            .finish_non_exhaustive()
    }
}

impl Default for LoopOptions {
    fn default() -> Self {
        LoopOptions {
            max_wait: MAX_WAIT,
            wake: Arc::new(Notify::new()),
            pending_retry: crate::ops::copy_out::PENDING_RETRY_EVERY,
            progress: Arc::new(NoProgress),
        }
    }
}

/// How long to wait before the next check: until the earliest next run (at least 1 s), at most
/// `max_wait`.
pub fn next_wait(statuses: &[ProjectStatus], now: OffsetDateTime, max_wait: Duration) -> Duration {
    let earliest = statuses
        .iter()
        .filter_map(|s| s.next_run.as_deref())
        .filter_map(|t| parse_timestamp(t).ok())
        .min();
    match earliest {
        Some(t) if t > now => {
            let ms = (t - now).whole_milliseconds().max(1000) as u64;
            Duration::from_millis(ms).min(max_wait)
        }
        Some(_) => Duration::from_secs(1).min(max_wait),
        None => max_wait,
    }
}

/// Run what is due, announce it through `listener`, wait, again — until `cancel`.
pub async fn run_schedules<L: DueListener>(
    engine: &Engine,
    listener: &L,
    options: LoopOptions,
    cancel: CancellationToken,
) {
    let mut last_retry: Option<tokio::time::Instant> = None;
    while !cancel.is_cancelled() {
        let report = engine.run_due_reporting(&options.progress).await;
        listener.checked(engine, &report).await;
        // Copies a destination could not take are tried again now and then.
        if last_retry.is_none_or(|t| t.elapsed() >= options.pending_retry) {
            last_retry = Some(tokio::time::Instant::now());
            if let Err(e) = crate::ops::copy_out::retry_pending(engine).await {
                tracing::warn!("retrying pending copies failed: {e}");
            }
        }
        let statuses = match engine.status(None).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("reading the schedules' status failed: {e}");
                Vec::new()
            }
        };
        listener.statuses(engine, &statuses).await;
        // Offsite's capture slots, whether or not a capture runs in this process: one past its
        // limit is dropped and said (ops::pitr::slots).
        crate::ops::pitr::slots::watch(engine, None).await;
        // Notifications: the watchers that are due (overdue transitions, retention's 7-day
        // warnings…; each event fires once), then what is due sent.
        crate::ops::notify::watch::run_watches(engine, &statuses).await;
        if let Err(e) = crate::ops::notify::deliver::deliver_due(engine).await {
            tracing::warn!("delivering notifications failed: {e}");
        }
        let wait = next_wait(&statuses, engine.clock.now(), options.max_wait);
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
            _ = options.wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn status(name: &str, next: Option<&str>) -> ProjectStatus {
        ProjectStatus {
            name: name.into(),
            last_good: Some("2026-11-20T02:30:05.000Z".into()),
            next_run: next.map(Into::into),
            overdue: true,
            overdue_schedules: Vec::new(),
            schedule: Some("daily 02:30".into()),
            paused: false,
        }
    }

    #[test]
    fn the_next_check_is_at_the_next_run_but_within_a_minute() {
        let now = datetime!(2026-11-22 12:00 UTC);
        assert_eq!(next_wait(&[], now, MAX_WAIT), MAX_WAIT);
        assert_eq!(
            next_wait(
                &[
                    status("a", Some("2026-11-22T12:00:20.000Z")),
                    status("b", Some("2026-11-22T13:00:00.000Z"))
                ],
                now,
                MAX_WAIT
            ),
            Duration::from_secs(20)
        );
        assert_eq!(
            next_wait(
                &[status("a", Some("2026-11-22T11:00:00.000Z"))],
                now,
                MAX_WAIT
            ),
            Duration::from_secs(1)
        );
        assert_eq!(
            next_wait(
                &[status("a", Some("2026-11-22T12:30:00.000Z"))],
                now,
                MAX_WAIT
            ),
            MAX_WAIT
        );
    }
}
