//! A fault-injecting wrapper for the engine's object, API and destination traits: [`Faulty`]
//! fails calls with temporary errors (connection reset, 503, 429 with `Retry-After`), cuts
//! download and upload streams midway, or fails with a permanent error — following a
//! deterministic [`FaultPlan`] — and counts what it injected, so a test can prove the faults
//! really happened.

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use offsite_core::destinations::{Destination, PutBody, PutOptions, StoredObject};
use offsite_core::sources::{
    ApiSource, BucketInfo, ByteStream, GetRequest, ListRequest, ObjectBody, ObjectPage,
    ObjectSource,
};
use offsite_core::{Error, ErrorKind, Result};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Which calls fail and how.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// The first this many calls fail with `first_error`.
    pub fail_first: u32,
    /// The error of the first calls (default: a temporary "connection reset by peer").
    pub first_error: Option<Error>,
    /// After those, every `every`-th call (the 1st, the `every+1`-th, …) fails with a temporary
    /// fault, rotating through: connection reset, HTTP 503, HTTP 429 with `retry_after`. 0: never.
    pub every: u32,
    /// Every `cut_every`-th stream (a download's body, an upload's body) is cut after
    /// `cut_after` bytes with a temporary error. 0: never.
    pub cut_every: u32,
    pub cut_after: u64,
    /// The `Retry-After` of injected 429s.
    pub retry_after: Duration,
    /// The first this many calls that get through are carried out, and then answer with a
    /// temporary error anyway (the response was lost: did the put happen?).
    pub lose_first_responses: u32,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            fail_first: 0,
            first_error: None,
            every: 0,
            cut_every: 0,
            cut_after: 0,
            retry_after: Duration::from_millis(20),
            lose_first_responses: 0,
        }
    }
}

impl FaultPlan {
    /// Every other call fails temporarily and every other stream is cut after `cut_after` bytes:
    /// what a `Retrying` wrapper must see through.
    pub fn flaky(cut_after: u64) -> Self {
        FaultPlan {
            every: 2,
            cut_every: 2,
            cut_after,
            ..Default::default()
        }
    }
    /// The first `n` calls fail with `e`.
    pub fn first(n: u32, e: Error) -> Self {
        FaultPlan {
            fail_first: n,
            first_error: Some(e),
            ..Default::default()
        }
    }
}

/// What a [`Faulty`] did.
#[derive(Debug, Default)]
pub struct FaultCounters {
    lost: AtomicU32,
    calls: AtomicU32,
    streams: AtomicU32,
    failed: AtomicU32,
    cut: AtomicU32,
}

impl FaultCounters {
    /// Calls received.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
    /// Calls failed on purpose.
    pub fn failed(&self) -> u32 {
        self.failed.load(Ordering::SeqCst)
    }
    /// Streams cut on purpose.
    pub fn cut(&self) -> u32 {
        self.cut.load(Ordering::SeqCst)
    }
}

/// Wraps an implementation and injects the faults of its [`FaultPlan`].
pub struct Faulty<T> {
    inner: T,
    plan: FaultPlan,
    counters: Arc<FaultCounters>,
}

impl<T> Faulty<T> {
    pub fn new(inner: T, plan: FaultPlan) -> Self {
        Faulty {
            inner,
            plan,
            counters: Arc::default(),
        }
    }
    pub fn inner(&self) -> &T {
        &self.inner
    }
    /// The counters (shared: they stay readable after the wrapper moved into a `Retrying`).
    pub fn counters(&self) -> Arc<FaultCounters> {
        self.counters.clone()
    }

    /// Before each call: the injected failure, if this call gets one.
    fn before_call(&self, what: &str) -> Result<()> {
        let n = self.counters.calls.fetch_add(1, Ordering::SeqCst);
        let fail = |e: Error| {
            self.counters.failed.fetch_add(1, Ordering::SeqCst);
            Err(e)
        };
        if n < self.plan.fail_first {
            return fail(self.plan.first_error.clone().unwrap_or_else(|| {
                Error::new(
                    ErrorKind::Connection,
                    format!("injected: {what}: connection reset by peer"),
                )
            }));
        }
        let n = n - self.plan.fail_first;
        if self.plan.every > 0 && n.is_multiple_of(self.plan.every) {
            let nth = n / self.plan.every;
            return fail(match nth % 3 {
                0 => Error::new(
                    ErrorKind::Connection,
                    format!("injected: {what}: connection reset by peer"),
                ),
                1 => Error::new(
                    ErrorKind::Connection,
                    format!("injected: {what}: HTTP 503 Service Unavailable"),
                ),
                _ => Error::rate_limited(
                    format!("injected: {what}: HTTP 429 Too Many Requests"),
                    Some(self.plan.retry_after),
                ),
            });
        }
        Ok(())
    }

    /// After a call that got through: lose its answer when the plan says so.
    fn after_call<R>(&self, what: &str, r: Result<R>) -> Result<R> {
        let lost = self
            .counters
            .lost
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.plan.lose_first_responses).then_some(n + 1)
            })
            .is_ok();
        if lost {
            self.counters.failed.fetch_add(1, Ordering::SeqCst);
            return Err(Error::new(
                ErrorKind::Connection,
                format!("injected: {what}: the connection dropped before the answer came"),
            ));
        }
        r
    }

    /// A stream, cut midway when its turn has come.
    fn maybe_cut(&self, stream: ByteStream) -> ByteStream {
        let n = self.counters.streams.fetch_add(1, Ordering::SeqCst);
        if self.plan.cut_every == 0 || !n.is_multiple_of(self.plan.cut_every) {
            return stream;
        }
        cut_after(stream, self.plan.cut_after, self.counters.clone())
    }
}

/// `stream` up to `limit` bytes, then a temporary error (counted in `counters` when it fires). A
/// stream shorter than `limit` passes whole.
pub fn cut_after(stream: ByteStream, limit: u64, counters: Arc<FaultCounters>) -> ByteStream {
    let state = (stream, 0u64, false);
    Box::pin(futures::stream::unfold(
        state,
        move |(mut s, sent, done)| {
            let counters = counters.clone();
            async move {
                if done {
                    return None;
                }
                match s.next().await {
                    Some(Ok(chunk)) if sent + chunk.len() as u64 > limit => {
                        counters.cut.fetch_add(1, Ordering::SeqCst);
                        let keep = (limit - sent) as usize;
                        if keep > 0 {
                            // Deliver what fits, then the error on the next poll.
                            let part = chunk.slice(..keep);
                            let rest: ByteStream = Box::pin(futures::stream::once(async {
                                Err(Error::new(
                                    ErrorKind::Connection,
                                    "injected: stream cut midway",
                                ))
                            }));
                            return Some((Ok(part), (rest, limit, false)));
                        }
                        Some((
                            Err(Error::new(
                                ErrorKind::Connection,
                                "injected: stream cut midway",
                            )),
                            (s, sent, true),
                        ))
                    }
                    Some(Ok(chunk)) => {
                        let len = chunk.len() as u64;
                        Some((Ok(chunk), (s, sent + len, false)))
                    }
                    Some(Err(e)) => Some((Err(e), (s, sent, true))),
                    None => None,
                }
            }
        },
    ))
}

/// An upload body whose stream is cut when the plan says so.
struct CutBody<'a, T> {
    body: &'a dyn PutBody,
    faulty: &'a Faulty<T>,
}

#[async_trait]
impl<T: Send + Sync> PutBody for CutBody<'_, T> {
    async fn open(&self) -> Result<ByteStream> {
        Ok(self.faulty.maybe_cut(self.body.open().await?))
    }
    fn size(&self) -> Option<u64> {
        self.body.size()
    }
    fn sha256(&self) -> Option<String> {
        self.body.sha256()
    }
}

#[async_trait]
impl<T: ObjectSource> ObjectSource for Faulty<T> {
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        self.before_call("list buckets")?;
        self.inner.list_buckets().await
    }
    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage> {
        self.before_call("list objects")?;
        self.inner.list_objects(bucket, req).await
    }
    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody> {
        self.before_call("get object")?;
        let mut body = self.inner.get_object(bucket, key, req).await?;
        let stream = std::mem::replace(&mut body.stream, Box::pin(futures::stream::empty()));
        body.stream = self.maybe_cut(stream);
        Ok(body)
    }
    async fn stat_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<offsite_core::sources::ObjectInfo>> {
        self.before_call("stat object")?;
        self.inner.stat_object(bucket, key).await
    }
}

#[async_trait]
impl<T: ApiSource> ApiSource for Faulty<T> {
    async fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        self.before_call(path)?;
        self.inner.get_json(path).await
    }
}

#[async_trait]
impl<T: Destination> Destination for Faulty<T> {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn put(&self, name: &str, body: &dyn PutBody, opts: PutOptions) -> Result<StoredObject> {
        self.before_call("put")?;
        let r = self
            .inner
            .put(name, &CutBody { body, faulty: self }, opts)
            .await;
        self.after_call("put", r)
    }
    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>> {
        self.before_call("list")?;
        self.inner.list(prefix).await
    }
    async fn stat(&self, name: &str) -> Result<Option<StoredObject>> {
        self.before_call("stat")?;
        self.inner.stat(name).await
    }
    async fn sha256(&self, name: &str) -> Result<String> {
        self.before_call("sha256")?;
        self.inner.sha256(name).await
    }
    async fn delete(&self, name: &str) -> Result<bool> {
        self.before_call("delete")?;
        self.inner.delete(name).await
    }
    async fn deep_sha256(&self, name: &str) -> Result<String> {
        self.before_call("deep sha256")?;
        self.inner.deep_sha256(name).await
    }
    async fn check(&self) -> Result<offsite_core::destinations::DestinationCheck> {
        self.before_call("check")?;
        self.inner.check().await
    }
}

/// An upload body that yields `good` bytes and then fails with `error` (a disk error, a cut
/// connection): a put of it must leave nothing visible.
pub struct FailingBody {
    pub good: u64,
    pub error: Error,
}

#[async_trait]
impl PutBody for FailingBody {
    async fn open(&self) -> Result<ByteStream> {
        let chunk = Bytes::from(vec![b'x'; self.good as usize]);
        let err = self.error.clone();
        Ok(Box::pin(futures::stream::iter(vec![Ok(chunk), Err(err)])))
    }
    fn size(&self) -> Option<u64> {
        None
    }
}

/// An upload body that yields `good` bytes and then never ends (to cancel a put midway by
/// dropping its future).
pub struct StallingBody {
    pub good: u64,
}

#[async_trait]
impl PutBody for StallingBody {
    async fn open(&self) -> Result<ByteStream> {
        let chunk = Bytes::from(vec![b'x'; self.good as usize]);
        Ok(Box::pin(
            futures::stream::once(async move { Ok(chunk) }).chain(futures::stream::pending()),
        ))
    }
    fn size(&self) -> Option<u64> {
        None
    }
}
