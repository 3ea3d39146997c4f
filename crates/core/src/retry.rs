//! Wrappers every source and destination can wear: [`Retrying`] (retry temporary failures with
//! exponential backoff and jitter, resume cut downloads) and [`RateLimited`] (at most N calls per
//! interval).
//!
//! Rules of [`Retrying`]:
//! - Only [`Error::is_temporary`] failures are retried (reset or refused connections, timeouts,
//!   5xx, 429, busy). Anything else — `auth`, `permission`, `not_found`, bad input, integrity —
//!   returns at once, unchanged.
//! - Waits grow exponentially (backon's `ExponentialBuilder`, with jitter) between
//!   [`RetryPolicy::min_delay`] and [`RetryPolicy::max_delay`]; a server's `Retry-After`
//!   ([`Error::retry_after`]) replaces the computed wait. At most [`RetryPolicy::max_attempts`]
//!   tries, and no wait starts that would end later than [`RetryPolicy::max_total`] after the
//!   first try: then the last error is returned, saying how many tries were made.
//! - Every wait is announced through the [`Reporter`] (a [`RetryWait`] on the next progress
//!   update: "waiting 4.0 s before try 3 of 5: connection reset") and logged. Waits sleep on
//!   `tokio::time` (tests pause and advance it) and end early, with `cancelled`, on cancel.
//! - An object download cut midway is resumed with a range request from the first missing byte,
//!   pinned to the object's ETag (`If-Match`), so the caller sees one uninterrupted stream.

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::progress::{Reporter, RetryWait};
use backon::{BackoffBuilder, ExponentialBuilder};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How hard [`Retrying`] tries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// The first wait (before jitter).
    pub min_delay: Duration,
    /// The longest computed wait (a `Retry-After` may ask for more, within `max_total`).
    pub max_delay: Duration,
    /// No wait starts that would end later than this after the first try.
    pub max_total: Duration,
    /// Randomise waits (so many clients do not retry in step).
    pub jitter: bool,
}

impl Default for RetryPolicy {
    /// 5 tries, waits from 1 s doubling to at most 30 s, within 5 minutes, with jitter.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_total: Duration::from_secs(300),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The computed waits, in order (one fewer than `max_attempts`).
    fn backoff(&self) -> impl Iterator<Item = Duration> + Send {
        let mut b = ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize);
        if self.jitter {
            b = b.with_jitter();
        }
        b.build()
    }

    /// Call `call` until it succeeds, fails permanently, or the policy gives up (see the
    /// module's rules). `what` names the call in messages ("listing objects of b").
    pub async fn run<T, F, Fut>(
        &self,
        what: &str,
        reporter: &Reporter,
        cancel: &CancellationToken,
        mut call: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut tries = Tries::new(self);
        loop {
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) => tries.wait_after(e, what, reporter, cancel).await?,
            }
        }
    }
}

/// The retry budget of one operation: tries made, waits left, when it started.
pub(crate) struct Tries<B> {
    policy: RetryPolicy,
    backoff: B,
    attempt: u32,
    started: Instant,
}

impl Tries<()> {
    pub(crate) fn new(policy: &RetryPolicy) -> Tries<impl Iterator<Item = Duration> + Send> {
        Tries {
            policy: policy.clone(),
            backoff: policy.backoff(),
            attempt: 1,
            started: Instant::now(),
        }
    }
}

impl<B: Iterator<Item = Duration>> Tries<B> {
    /// After a failed try: `Err` to give up (the failure, or `cancelled`), `Ok` after waiting
    /// when one more try is due.
    pub(crate) async fn wait_after(
        &mut self,
        e: Error,
        what: &str,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<()> {
        if !e.is_temporary() || cancel.is_cancelled() {
            return Err(e);
        }
        let give_up = |e: Error, tries: u32| {
            e.context(format!(
                "{what}: gave up after {tries} {}",
                if tries == 1 { "try" } else { "tries" }
            ))
        };
        let Some(computed) = self.backoff.next() else {
            return Err(give_up(e, self.attempt));
        };
        let wait = e.retry_after().unwrap_or(computed);
        if self.started.elapsed() + wait > self.policy.max_total {
            return Err(give_up(e, self.attempt));
        }
        self.attempt += 1;
        let notice = RetryWait {
            wait_ms: wait.as_millis() as u64,
            attempt: self.attempt,
            max_attempts: self.policy.max_attempts,
            reason: e.message().to_string(),
        };
        tracing::info!(target: "offsite::retry", "{what}: {notice}");
        reporter.waiting(notice);
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = cancel.cancelled() => Err(Error::cancelled()),
        }
    }
}

/// Read a `Retry-After` header: delta-seconds (`120`) or an HTTP date (`Sun, 06 Nov 1994
/// 08:49:37 GMT`, compared with `clock`'s now; a date in the past means "now").
pub fn parse_retry_after(value: &str, clock: &dyn Clock) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let secs = (at - clock.now()).whole_seconds().max(0) as u64;
    Some(Duration::from_secs(secs))
}

// ---------------------------------------------------------------------------------------------
// Retrying

/// Retries an implementation's temporary failures (see the module's rules). The reporter and
/// cancellation token given with [`reporting_to`](Self::reporting_to) /
/// [`cancelled_by`](Self::cancelled_by) serve the calls that take none (object, API and
/// destination calls); database calls use their own.
pub struct Retrying<T: ?Sized> {
    pub(crate) inner: Arc<T>,
    pub(crate) policy: RetryPolicy,
    pub(crate) reporter: Reporter,
    pub(crate) cancel: CancellationToken,
}

impl<T> Retrying<T> {
    pub fn new(inner: T, policy: RetryPolicy) -> Self {
        Self::from_arc(Arc::new(inner), policy)
    }
}

impl<T: ?Sized> Retrying<T> {
    pub fn from_arc(inner: Arc<T>, policy: RetryPolicy) -> Self {
        Retrying {
            inner,
            policy,
            reporter: Reporter::silent(),
            cancel: CancellationToken::new(),
        }
    }
    /// Announce waits through this job's reporter.
    pub fn reporting_to(mut self, reporter: Reporter) -> Self {
        self.reporter = reporter;
        self
    }
    /// Stop waiting (with `cancelled`) when this token is cancelled.
    pub fn cancelled_by(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }
    pub fn inner(&self) -> &T {
        &self.inner
    }
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub(crate) async fn run<R, F, Fut>(&self, what: &str, call: F) -> Result<R>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R>>,
    {
        self.policy
            .run(what, &self.reporter, &self.cancel, call)
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Rate limits

/// At most `burst` calls at once, then one per `interval` (a token bucket refilled one token per
/// interval; the Supabase Management API allows 60 requests per minute: [`RateLimited::per_minute`]
/// keeps any 60 s window at or under that).
/// A call that would exceed the limit waits (on `tokio::time`) instead of being sent.
pub struct RateLimited<T: ?Sized> {
    pub(crate) inner: Arc<T>,
    pub(crate) bucket: TokenBucket,
}

pub(crate) struct TokenBucket {
    interval: Duration,
    burst: u32,
    /// When the bucket is full again ("theoretical arrival time" of the next call).
    full_at: Mutex<Option<Instant>>,
}

impl TokenBucket {
    /// Take a token, waiting until one is there.
    pub(crate) async fn acquire(&self) {
        let wait = {
            let mut full_at = self.full_at.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let tat = full_at.map_or(now, |t| t.max(now));
            let allowance = self.interval * self.burst.saturating_sub(1);
            let earliest = tat.checked_sub(allowance).unwrap_or(now);
            let start = earliest.max(now);
            *full_at = Some(tat + self.interval);
            start - now
        };
        if !wait.is_zero() {
            tracing::debug!(target: "offsite::retry", "rate limit: waiting {wait:?}");
            tokio::time::sleep(wait).await;
        }
    }
}

impl<T> RateLimited<T> {
    /// At most `burst` calls at once, then one per `interval`.
    pub fn new(inner: T, interval: Duration, burst: u32) -> Self {
        Self::from_arc(Arc::new(inner), interval, burst)
    }
    /// At most `per_minute` calls in any minute: half of them at once, the other half spread
    /// over the minute (a burst of `per_minute / 2`, then one call per `120 s / per_minute`), so
    /// a short run of calls (a config backup's 16) is not slowed to one a second while a long
    /// run never sends more than `per_minute` in a window of 60 s.
    pub fn per_minute(inner: T, per_minute: u32) -> Self {
        let per_minute = per_minute.max(2);
        Self::new(inner, Duration::from_secs(120) / per_minute, per_minute / 2)
    }
}

impl<T: ?Sized> RateLimited<T> {
    pub fn from_arc(inner: Arc<T>, interval: Duration, burst: u32) -> Self {
        RateLimited {
            inner,
            bucket: TokenBucket {
                interval,
                burst: burst.max(1),
                full_at: Mutex::new(None),
            },
        }
    }
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::progress::ProgressUpdate;
    use crate::sources::memory::MemoryApiSource;
    use crate::sources::ApiSource;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            max_total: Duration::from_secs(60),
            jitter: false,
        }
    }

    fn recording() -> (Reporter, Arc<Mutex<Vec<RetryWait>>>) {
        let seen: Arc<Mutex<Vec<RetryWait>>> = Arc::default();
        let s2 = seen.clone();
        let sink = move |u: &ProgressUpdate| {
            if let Some(w) = &u.retry {
                s2.lock().unwrap().push(w.clone());
            }
        };
        (Reporter::new(Arc::new(sink), "job"), seen)
    }

    /// Fails with `errors` in turn, then answers `n` (the number of the call).
    async fn flaky(calls: &AtomicU32, errors: &[Error]) -> Result<u32> {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        match errors.get(n as usize) {
            Some(e) => Err(e.clone()),
            None => Ok(n + 1),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn temporary_failures_are_retried_with_growing_reported_waits() {
        let (reporter, seen) = recording();
        let calls = AtomicU32::new(0);
        let errs = [
            Error::new(ErrorKind::Connection, "connection reset by peer"),
            Error::new(ErrorKind::Busy, "busy"),
        ];
        let t0 = Instant::now();
        let got = policy()
            .run("test call", &reporter, &CancellationToken::new(), || {
                flaky(&calls, &errs)
            })
            .await
            .unwrap();
        assert_eq!(got, 3);
        assert_eq!(t0.elapsed(), Duration::from_secs(1 + 2), "1 s then 2 s");
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            (seen[0].attempt, seen[0].max_attempts, seen[0].wait_ms),
            (2, 4, 1000)
        );
        assert_eq!(seen[0].reason, "connection reset by peer");
        assert_eq!((seen[1].attempt, seen[1].wait_ms), (3, 2000));
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_return_at_once_unchanged() {
        for kind in [
            ErrorKind::Auth,
            ErrorKind::Permission,
            ErrorKind::NotFound,
            ErrorKind::Integrity,
        ] {
            let calls = AtomicU32::new(0);
            let errs = [Error::new(kind, "no")];
            let t0 = Instant::now();
            let e = policy()
                .run("x", &Reporter::silent(), &CancellationToken::new(), || {
                    flaky(&calls, &errs)
                })
                .await
                .unwrap_err();
            assert_eq!(calls.load(Ordering::SeqCst), 1, "{kind:?}");
            assert_eq!(e.kind(), kind);
            assert_eq!(e.message(), "no");
            assert_eq!(t0.elapsed(), Duration::ZERO);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_saying_so() {
        let calls = AtomicU32::new(0);
        let errs = vec![Error::new(ErrorKind::Connection, "refused"); 10];
        let e = policy()
            .run(
                "listing things",
                &Reporter::silent(),
                &CancellationToken::new(),
                || flaky(&calls, &errs),
            )
            .await
            .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(e.kind(), ErrorKind::Connection);
        assert_eq!(
            e.message(),
            "listing things: gave up after 4 tries: refused"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_bounded_by_the_total() {
        let (reporter, seen) = recording();
        let calls = AtomicU32::new(0);
        let errs = [Error::rate_limited(
            "429 Too Many Requests",
            Some(Duration::from_secs(7)),
        )];
        let t0 = Instant::now();
        policy()
            .run("x", &reporter, &CancellationToken::new(), || {
                flaky(&calls, &errs)
            })
            .await
            .unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(7));
        assert_eq!(seen.lock().unwrap()[0].wait_ms, 7000);

        // A Retry-After beyond the total budget: give up now rather than sleep past it.
        let calls = AtomicU32::new(0);
        let errs = [Error::rate_limited("429", Some(Duration::from_secs(3600)))];
        let t0 = Instant::now();
        let e = policy()
            .run("x", &Reporter::silent(), &CancellationToken::new(), || {
                flaky(&calls, &errs)
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_ends_a_wait() {
        let cancel = CancellationToken::new();
        let calls = AtomicU32::new(0);
        let errs = vec![Error::rate_limited("429", Some(Duration::from_secs(50))); 3];
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            c2.cancel();
        });
        let t0 = Instant::now();
        let e = policy()
            .run("x", &Reporter::silent(), &cancel, || flaky(&calls, &errs))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cancelled);
        assert_eq!(t0.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_stays_within_twice_the_computed_wait() {
        let p = RetryPolicy {
            jitter: true,
            ..policy()
        };
        let waits: Vec<Duration> = p.backoff().collect();
        assert_eq!(waits.len(), 3);
        for (w, base) in waits.iter().zip([1u64, 2, 4]) {
            assert!(
                *w >= Duration::from_secs(base) && *w <= Duration::from_secs(2 * base),
                "{w:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_spaces_calls() {
        let api = MemoryApiSource::new();
        api.insert("/v1/x", serde_json::json!({"ok": true}));
        let limited = RateLimited::per_minute(api, 60);
        let t0 = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..182 {
            limited.get_json("/v1/x").await.unwrap();
            sent.push(t0.elapsed());
        }
        assert_eq!(sent[29], Duration::ZERO, "half a minute's calls at once");
        assert_eq!(
            (sent[30], sent[31]),
            (Duration::from_secs(2), Duration::from_secs(4)),
            "then one every 2 s"
        );
        for (i, start) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|t| **t < *start + Duration::from_secs(60))
                .count();
            assert!(
                in_window <= 60,
                "{in_window} calls in the minute from {start:?}"
            );
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
        let t1 = Instant::now();
        limited.get_json("/v1/x").await.unwrap();
        assert_eq!(
            t1.elapsed(),
            Duration::ZERO,
            "an idle limiter does not delay"
        );
        assert_eq!(limited.inner().call_count(), 183);

        let burst = RateLimited::new(MemoryApiSource::new(), Duration::from_secs(1), 3);
        let t0 = Instant::now();
        for _ in 0..5 {
            let _ = burst.get_json("/missing").await;
        }
        assert_eq!(
            t0.elapsed(),
            Duration::from_secs(2),
            "3 at once, then one per second"
        );
    }

    #[test]
    fn retry_after_header_forms() {
        let clock =
            crate::clock::ManualClock::new(time::macros::datetime!(1994-11-06 08:49:00 UTC));
        assert_eq!(
            parse_retry_after("120", &*clock),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", &*clock),
            Some(Duration::from_secs(37))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", &*clock),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", &*clock), None);
    }
}
