//! The destinations' calls retried ([`Retrying`]) and rate limited ([`RateLimited`]): the
//! wrappers' policy lives in [`crate::retry`], what each call means when it is repeated lives here.

use crate::destinations::{Destination, PutBody, PutOptions, StoredObject};
use crate::error::Result;
use async_trait::async_trait;
use futures::StreamExt;

use crate::retry::{RateLimited, Retrying};

#[async_trait]
impl<T: Destination + ?Sized> Destination for Retrying<T> {
    fn location(&self) -> String {
        self.inner.location()
    }

    /// A failed put leaves nothing, and the body is re-opened from its first byte, so a put is
    /// repeated whole. When a repeat finds the name taken (`already_exists`) after a try whose
    /// answer was lost — the object may have been stored before the connection dropped — the
    /// stored content is compared with the body: the same bytes are success, anything else stays
    /// `already_exists`.
    async fn put(&self, name: &str, body: &dyn PutBody, opts: PutOptions) -> Result<StoredObject> {
        let what = format!("storing {name} in {}", self.location());
        let failed_before = std::sync::atomic::AtomicBool::new(false);
        let failed_before = &failed_before;
        self.run(&what, move || async move {
            use std::sync::atomic::Ordering;
            match self.inner.put(name, body, opts).await {
                Err(e)
                    if e.kind() == crate::ErrorKind::AlreadyExists
                        && !opts.overwrite
                        && failed_before.load(Ordering::SeqCst) =>
                {
                    match stored_if_same(&*self.inner, name, body).await {
                        Ok(Some(stored)) => Ok(stored),
                        _ => Err(e),
                    }
                }
                Err(e) => {
                    failed_before.store(true, Ordering::SeqCst);
                    Err(e)
                }
                Ok(stored) => Ok(stored),
            }
        })
        .await
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

    async fn deep_sha256(&self, name: &str) -> Result<String> {
        let what = format!("reading {name} back from {}", self.location());
        self.run(&what, move || self.inner.deep_sha256(name)).await
    }

    async fn check(&self) -> Result<crate::destinations::DestinationCheck> {
        let what = format!("testing {}", self.location());
        self.run(&what, move || self.inner.check()).await
    }
}

/// The object stored under `name` when it holds exactly `body`'s bytes.
async fn stored_if_same<D: Destination + ?Sized>(
    dest: &D,
    name: &str,
    body: &dyn PutBody,
) -> Result<Option<StoredObject>> {
    let mut stream = body.open().await?;
    let mut sha = crate::destinations::Sha256::new();
    while let Some(chunk) = stream.next().await {
        sha.update(&chunk?);
    }
    let sha = sha.hex();
    if dest.sha256(name).await? != sha {
        return Ok(None);
    }
    Ok(dest.stat(name).await?.map(|mut o| {
        o.sha256 = Some(sha);
        o
    }))
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
    async fn deep_sha256(&self, name: &str) -> Result<String> {
        self.bucket.acquire().await;
        self.inner.deep_sha256(name).await
    }
    async fn check(&self) -> Result<crate::destinations::DestinationCheck> {
        self.bucket.acquire().await;
        self.inner.check().await
    }
}
