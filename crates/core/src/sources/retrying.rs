//! The sources' calls retried ([`Retrying`]) and rate limited ([`RateLimited`]): the wrappers'
//! policy lives in [`crate::retry`], what each call means when it is repeated lives here.

use crate::archive::storage_layout::BucketSettings;
use crate::archive::ArchiveWriter;
use crate::error::{Error, Result};
use crate::postgres::dump::DatabasePart;
use crate::postgres::restore::{DatabasePlan, DatabaseReport, RestoreOptions};
use crate::progress::Reporter;
use crate::sources::supabase_api::{ApiBytes, ApiClient, BodyMethod};
use crate::sources::{
    ApiSource, BucketInfo, ByteRange, ByteStream, DatabaseInfo, DatabaseSource, GetRequest,
    ListRequest, ObjectBody, ObjectPage, ObjectSource,
};
use async_trait::async_trait;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::retry::{RateLimited, RetryPolicy, Retrying, Tries};

#[async_trait]
impl<T: DatabaseSource + ?Sized> DatabaseSource for Retrying<T> {
    fn location(&self) -> String {
        self.inner.location()
    }

    async fn describe(&self) -> Result<DatabaseInfo> {
        let what = format!("connecting to {}", self.location());
        self.run(&what, move || self.inner.describe()).await
    }

    /// Not repeated: what failed may have left part of the database in `writer`.
    async fn dump_into(
        &self,
        writer: &mut ArchiveWriter,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<DatabasePart> {
        self.inner.dump_into(writer, reporter, cancel).await
    }

    async fn bucket_settings(&self) -> Result<BTreeMap<String, BucketSettings>> {
        let what = format!("reading the bucket settings of {}", self.location());
        self.run(&what, move || self.inner.bucket_settings()).await
    }

    async fn plan_restore(
        &self,
        archive: &Path,
        opts: &RestoreOptions,
        reporter: &Reporter,
    ) -> Result<DatabasePlan> {
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
    ) -> Result<DatabaseReport> {
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

/// A PATCH or PUT sets values, so it is repeated like a GET after a temporary failure.
#[async_trait]
impl<T: ApiClient + ?Sized> ApiClient for Retrying<T> {
    async fn get_bytes(&self, path: &str) -> Result<ApiBytes> {
        self.run(&format!("GET {path}"), move || self.inner.get_bytes(path))
            .await
    }
    async fn patch_json(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
        self.run(&format!("PATCH {path}"), move || {
            self.inner.patch_json(path, body)
        })
        .await
    }
    async fn put_json(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
        self.run(&format!("PUT {path}"), move || {
            self.inner.put_json(path, body)
        })
        .await
    }
    async fn send_bytes(
        &self,
        method: BodyMethod,
        path: &str,
        content_type: &str,
        body: bytes::Bytes,
    ) -> Result<serde_json::Value> {
        self.run(&format!("{method:?} {path}"), move || {
            self.inner
                .send_bytes(method, path, content_type, body.clone())
        })
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

    async fn stat_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<crate::sources::ObjectInfo>> {
        let what = format!("looking up {bucket}/{key}");
        self.run(&what, move || self.inner.stat_object(bucket, key))
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
            resumed: false,
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
    /// `current` answers a ranged request of ours (a resume): it must not pass `end`.
    resumed: bool,
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
                Some(Ok(chunk)) if self.resumed && self.pos + chunk.len() as u64 > self.end => {
                    // More than the range asked for: never handed on.
                    self.done = true;
                    let e = Error::integrity(format!(
                        "{}: the store sent more than the bytes {}..{} asked for",
                        self.what, self.pos, self.end
                    ))
                    .with_hint("the store's answer is malformed (a broken or hostile server); nothing past the range was kept");
                    return Some((Err(e), self));
                }
                Some(Ok(chunk)) => {
                    self.pos += chunk.len() as u64;
                    return Some((Ok(chunk), self));
                }
                None if self.pos >= self.end => return None,
                None => Error::new(
                    crate::ErrorKind::Connection,
                    format!("the download ended at byte {} of {}", self.pos, self.end),
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
                Ok(body) if body.range.start != self.pos => {
                    // The store ignored the range: stitching would corrupt the object.
                    self.done = true;
                    let e = Error::integrity(format!(
                        "{}: asked to resume at byte {}, the store answered from byte {}",
                        self.what, self.pos, body.range.start
                    ));
                    return Some((Err(e), self));
                }
                Ok(body) => {
                    self.current = body.stream;
                    self.resumed = true;
                }
                Err(e) => {
                    self.done = true;
                    return Some((Err(e), self));
                }
            }
        }
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
impl<T: ApiClient + ?Sized> ApiClient for RateLimited<T> {
    async fn get_bytes(&self, path: &str) -> Result<ApiBytes> {
        self.bucket.acquire().await;
        self.inner.get_bytes(path).await
    }
    async fn patch_json(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
        self.bucket.acquire().await;
        self.inner.patch_json(path, body).await
    }
    async fn put_json(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
        self.bucket.acquire().await;
        self.inner.put_json(path, body).await
    }
    async fn send_bytes(
        &self,
        method: BodyMethod,
        path: &str,
        content_type: &str,
        body: bytes::Bytes,
    ) -> Result<serde_json::Value> {
        self.bucket.acquire().await;
        self.inner
            .send_bytes(method, path, content_type, body)
            .await
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
    async fn stat_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<crate::sources::ObjectInfo>> {
        self.bucket.acquire().await;
        self.inner.stat_object(bucket, key).await
    }
}
