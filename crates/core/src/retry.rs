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

use crate::archive::Written;
use crate::clock::Clock;
use crate::destinations::{Destination, PutBody, PutOptions, StoredObject};
use crate::error::{Error, Result};
use crate::progress::{Reporter, RetryWait};
use crate::restore::{RestoreOptions, RestorePlan, RestoreReport};
use crate::sources::{
    ApiSource, BucketInfo, ByteRange, ByteStream, DatabaseInfo, DatabaseSource, DumpOptions,
    GetRequest, ListRequest, ObjectBody, ObjectPage, ObjectSource,
};
use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::StreamExt;
use std::future::Future;
use std::path::Path;
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
struct Tries<B> {
    policy: RetryPolicy,
    backoff: B,
    attempt: u32,
    started: Instant,
}

impl Tries<()> {
    fn new(policy: &RetryPolicy) -> Tries<impl Iterator<Item = Duration> + Send> {
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
    async fn wait_after(
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
    let at = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
        .ok()?;
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
    inner: Arc<T>,
    policy: RetryPolicy,
    reporter: Reporter,
    cancel: CancellationToken,
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

    async fn run<R, F, Fut>(&self, what: &str, call: F) -> Result<R>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R>>,
    {
        self.policy.run(what, &self.reporter, &self.cancel, call).await
    }
}

#[async_trait]
impl<T: DatabaseSource + ?Sized> DatabaseSource for Retrying<T> {
    fn location(&self) -> String {
        self.inner.location()
    }

    async fn describe(&self) -> Result<DatabaseInfo> {
        let what = format!("connecting to {}", self.location());
        self.run(&what, move || self.inner.describe()).await
    }

    /// A dump leaves nothing behind when it fails, so it is repeated whole.
    async fn dump(
        &self,
        opts: &DumpOptions,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<Written> {
        let what = format!("dumping {}", self.location());
        self.policy
            .run(&what, reporter, cancel, move || self.inner.dump(opts, reporter, cancel))
            .await
    }

    async fn plan_restore(
        &self,
        archive: &Path,
        opts: &RestoreOptions,
        reporter: &Reporter,
    ) -> Result<RestorePlan> {
        let what = format!("planning the restore into {}", self.location());
        self.policy
            .run(&what, reporter, &self.cancel, move || {
                self.inner.plan_restore(archive, opts, reporter)
            })
            .await
    }

    /// A restore runs in one transaction (a failure changes nothing), so it is repeated whole;
    /// a repeat plans again, so it never replaces what it just restored without consent.
    async fn restore(
        &self,
        archive: &Path,
        opts: &RestoreOptions,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<RestoreReport> {
        let what = format!("restoring into {}", self.location());
        self.policy
            .run(&what, reporter, cancel, move || {
                self.inner.restore(archive, opts, reporter, cancel)
            })
            .await
    }
}

#[async_trait]
impl<T: ApiSource + ?Sized> ApiSource for Retrying<T> {
    async fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        self.run(&format!("GET {path}"), move || self.inner.get_json(path))
            .await
    }
}

#[async_trait]
impl<T: ObjectSource + ?Sized + 'static> ObjectSource for Retrying<T> {
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        self.run("listing buckets", move || self.inner.list_buckets())
            .await
    }

    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage> {
        let what = format!("listing objects of {bucket}");
        self.run(&what, move || self.inner.list_objects(bucket, req))
            .await
    }

    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody> {
        let what = format!("downloading {bucket}/{key}");
        let mut body = self
            .run(&what, move || self.inner.get_object(bucket, key, req))
            .await?;
        let resume = Resume {
            inner: self.inner.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            what,
            etag: req.if_match.clone().or_else(|| body.info.etag.clone()),
            pos: body.range.start,
            end: body.range.end,
            current: std::mem::replace(&mut body.stream, Box::pin(futures::stream::empty())),
            policy: self.policy.clone(),
            tries: Tries::new(&self.policy),
            reporter: self.reporter.clone(),
            cancel: self.cancel.clone(),
            done: false,
        };
        body.stream = Box::pin(futures::stream::unfold(resume, Resume::next));
        Ok(body)
    }
}

/// The state of a download that resumes where it was cut.
struct Resume<T: ?Sized, B> {
    inner: Arc<T>,
    bucket: String,
    key: String,
    what: String,
    etag: Option<String>,
    /// The next byte wanted (absolute offset in the object).
    pos: u64,
    end: u64,
    current: ByteStream,
    policy: RetryPolicy,
    /// The budget of cuts of this download (each resume spends one try).
    tries: Tries<B>,
    reporter: Reporter,
    cancel: CancellationToken,
    done: bool,
}

impl<T, B> Resume<T, B>
where
    T: ObjectSource + ?Sized + 'static,
    B: Iterator<Item = Duration> + Send,
{
    async fn next(mut self) -> Option<(Result<bytes::Bytes>, Self)> {
        if self.done {
            return None;
        }
        loop {
            let cut = match self.current.next().await {
                Some(Ok(chunk)) => {
                    self.pos += chunk.len() as u64;
                    return Some((Ok(chunk), self));
                }
                None if self.pos >= self.end => return None,
                None => Error::new(
                    crate::ErrorKind::Connection,
                    format!(
                        "the download ended at byte {} of {}",
                        self.pos, self.end
                    ),
                ),
                Some(Err(e)) => e,
            };
            if let Err(e) = self
                .tries
                .wait_after(cut, &self.what, &self.reporter, &self.cancel)
                .await
            {
                self.done = true;
                return Some((Err(e), self));
            }
            let req = GetRequest {
                range: Some(ByteRange {
                    start: self.pos,
                    end: Some(self.end),
                }),
                if_match: self.etag.clone(),
            };
            let (inner, bucket, key, req) = (&*self.inner, &*self.bucket, &*self.key, &req);
            let resumed = self
                .policy
                .run(&self.what, &self.reporter, &self.cancel, move || {
                    inner.get_object(bucket, key, req)
                })
                .await;
            match resumed {
                Ok(body) => self.current = body.stream,
                Err(e) => {
                    self.done = true;
                    return Some((Err(e), self));
                }
            }
        }
    }
}

#[async_trait]
impl<T: Destination + ?Sized> Destination for Retrying<T> {
    fn location(&self) -> String {
        self.inner.location()
    }

    /// A failed put leaves nothing, and the body is re-opened from its first byte, so a put is
    /// repeated whole.
    async fn put(&self, name: &str, body: &dyn PutBody, opts: PutOptions) -> Result<StoredObject> {
        let what = format!("storing {name} in {}", self.location());
        self.run(&what, move || self.inner.put(name, body, opts)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>> {
        let what = format!("listing {}", self.location());
        self.run(&what, move || self.inner.list(prefix)).await
    }

    async fn stat(&self, name: &str) -> Result<Option<StoredObject>> {
        let what = format!("reading {name} in {}", self.location());
        self.run(&what, move || self.inner.stat(name)).await
    }

    async fn sha256(&self, name: &str) -> Result<String> {
        let what = format!("hashing {name} in {}", self.location());
        self.run(&what, move || self.inner.sha256(name)).await
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        let what = format!("deleting {name} in {}", self.location());
        self.run(&what, move || self.inner.delete(name)).await
    }
}

// ---------------------------------------------------------------------------------------------
// Rate limits

/// At most `burst` calls at once, then one per `interval` (a token bucket refilled one token per
/// interval; the Supabase Management API allows 60 requests per minute: [`RateLimited::per_minute`]).
/// A call that would exceed the limit waits (on `tokio::time`) instead of being sent.
pub struct RateLimited<T: ?Sized> {
    inner: Arc<T>,
    bucket: TokenBucket,
}

struct TokenBucket {
    interval: Duration,
    burst: u32,
    /// When the bucket is full again ("theoretical arrival time" of the next call).
    full_at: Mutex<Option<Instant>>,
}

impl TokenBucket {
    /// Take a token, waiting until one is there.
    async fn acquire(&self) {
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
    /// `per_minute` calls per minute, evenly spaced (no burst).
    pub fn per_minute(inner: T, per_minute: u32) -> Self {
        Self::new(inner, Duration::from_secs(60) / per_minute.max(1), 1)
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

#[async_trait]
impl<T: ApiSource + ?Sized> ApiSource for RateLimited<T> {
    async fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        self.bucket.acquire().await;
        self.inner.get_json(path).await
    }
}

#[async_trait]
impl<T: ObjectSource + ?Sized> ObjectSource for RateLimited<T> {
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        self.bucket.acquire().await;
        self.inner.list_buckets().await
    }
    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage> {
        self.bucket.acquire().await;
        self.inner.list_objects(bucket, req).await
    }
    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody> {
        self.bucket.acquire().await;
        self.inner.get_object(bucket, key, req).await
    }
}

#[async_trait]
impl<T: Destination + ?Sized> Destination for RateLimited<T> {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn put(&self, name: &str, body: &dyn PutBody, opts: PutOptions) -> Result<StoredObject> {
        self.bucket.acquire().await;
        self.inner.put(name, body, opts).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>> {
        self.bucket.acquire().await;
        self.inner.list(prefix).await
    }
    async fn stat(&self, name: &str) -> Result<Option<StoredObject>> {
        self.bucket.acquire().await;
        self.inner.stat(name).await
    }
    async fn sha256(&self, name: &str) -> Result<String> {
        self.bucket.acquire().await;
        self.inner.sha256(name).await
    }
    async fn delete(&self, name: &str) -> Result<bool> {
        self.bucket.acquire().await;
        self.inner.delete(name).await
    }
}
