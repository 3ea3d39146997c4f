//! An S3-compatible bucket as a [`Destination`] (AWS, R2, B2, MinIO, Wasabi, a NAS's S3…), over
//! the same `aws-sdk-s3` client the storage source uses (see `sources::s3`: path-style option,
//! checksums only when an operation requires them, the SDK's own retries off).
//!
//! Objects are `<prefix>/<name>`. What a put does (`s3_upload.rs`):
//! - Bodies up to one part (8 MiB by default) go in one `PutObject`; larger ones in a multipart
//!   upload whose parts are streamed from the body, at most two in flight (memory: about three
//!   parts), each retried on its own with the destination's [`RetryPolicy`].
//! - Every part (and a single put) carries `Content-MD5`, which the store checks; a store that
//!   answers `NotImplemented` to it is asked again without, and from then on never.
//! - The content's SHA-256 is the object's metadata `x-amz-meta-offsite-sha256`, so `stat` and
//!   `sha256` know it without downloading; [`Destination::deep_sha256`] downloads and hashes.
//!   When the body does not say its SHA-256 in advance ([`super::PutBody::sha256`]) and needs
//!   more than one part, it is read twice (once to hash it).
//! - Any failure — a part that keeps failing, the body failing, a SHA-256 that does not match,
//!   the put's future dropped (a cancelled job) — aborts the multipart upload
//!   (`AbortMultipartUpload`; on a drop it is sent from a spawned task), so no partial object is
//!   ever visible and no upload is left to be billed.
//! - No overwrite unless asked: a `HEAD` first (so 1 GB is not sent to be refused), and the put
//!   or completion carries `If-None-Match: *`, which AWS, MinIO, R2 and moto enforce atomically.
//!   A store that ignores the header (s3s-fs) leaves a race between the `HEAD` and the put: a copy
//!   made at that moment by another writer of the same name would be replaced. A store that
//!   answers `NotImplemented` to it is asked again without.
//! - Then checked: a `HEAD` must show the size streamed and the SHA-256 computed; otherwise the
//!   object is deleted and the put fails with `integrity`.
//!
//! Behind [`crate::retry::Retrying`] (for `list`, `stat`, `delete`…), a put whose parts gave up
//! after their own retries is tried again whole: give the destination a short policy
//! ([`S3Destination::with_retry`]) or the wrapper one, not long ones to both.

use super::{check_name, CheckState, Destination, DestinationCheck, PutBody, PutOptions, Sha256};
use super::{LockMode, ObjectLock, StoredObject, TEMP_PREFIX};
use crate::error::{Error, ErrorKind, Result};
use crate::progress::Reporter;
use crate::retry::RetryPolicy;
use crate::sources::s3::{S3Config, S3Store};
use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The metadata key (`x-amz-meta-…`) holding the content's SHA-256, hex.
pub const SHA256_METADATA: &str = "offsite-sha256";

/// Default size of a part (and the largest body sent in one `PutObject`).
pub const DEFAULT_PART_SIZE: usize = 8 << 20;
/// The smallest part S3 accepts (all but the last).
pub const MIN_PART_SIZE: usize = 5 << 20;
/// S3's limit on parts per upload.
pub const MAX_PARTS: u64 = 10_000;

/// Where the bucket is and how to sign for it.
#[derive(Clone)]
pub struct S3DestinationConfig {
    /// `https://host[:port][/path]`; `None` for AWS (the region picks the host).
    pub endpoint: Option<String>,
    /// `us-east-1` when the store does not care.
    pub region: String,
    pub bucket: String,
    /// Folder inside the bucket (`offsite/shop`); empty for the bucket's root.
    pub prefix: String,
    pub access_key_id: String,
    /// Never printed (see the `Debug` impl), never part of an error.
    pub secret_access_key: String,
    /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`.
    pub path_style: bool,
}

impl fmt::Debug for S3DestinationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3DestinationConfig")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<secret>")
            .field("path_style", &self.path_style)
            .finish()
    }
}

impl S3DestinationConfig {
    fn store_config(&self) -> S3Config {
        S3Config {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            path_style: self.path_style,
        }
    }

    /// The prefix as keys start with it: `""` or `a/b/`.
    fn normalized_prefix(&self) -> Result<String> {
        let p = self.prefix.trim_matches('/');
        if p.is_empty() {
            return Ok(String::new());
        }
        check_name(p).map_err(|_| {
            Error::invalid(format!(
                "bad prefix {:?} for the bucket: use /-separated folder names, none empty, . or ..",
                self.prefix
            ))
        })?;
        Ok(format!("{p}/"))
    }
}

/// An S3-compatible bucket (see the module's rules).
#[derive(Clone)]
pub struct S3Destination {
    pub(super) client: aws_sdk_s3::Client,
    pub(super) bucket: String,
    pub(super) prefix: String,
    pub(super) endpoint: String,
    pub(super) part_size: usize,
    pub(super) retry: RetryPolicy,
    pub(super) reporter: Reporter,
    pub(super) cancel: CancellationToken,
    /// The store refused `Content-MD5` (`NotImplemented`): parts go without it.
    pub(super) no_md5: Arc<AtomicBool>,
    /// The store refused `If-None-Match` (`NotImplemented`): HEAD-then-PUT only.
    pub(super) no_conditional: Arc<AtomicBool>,
    /// Every upload is locked so (see `s3_lock.rs`).
    pub(super) lock: Option<ObjectLock>,
    /// Deletes remove every version of an object (a bucket with Object Lock keeps versions).
    pub(super) all_versions: bool,
    /// Every upload goes to this storage class (checked: `s3_lock::STORAGE_CLASSES`).
    pub(super) storage_class: Option<String>,
}

impl fmt::Debug for S3Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Destination")
            .field("location", &self.location())
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl S3Destination {
    /// A destination writing into `cfg.bucket` under `cfg.prefix` (the bucket must exist).
    pub fn new(cfg: &S3DestinationConfig) -> Result<Self> {
        if cfg.bucket.trim().is_empty() {
            return Err(Error::invalid("the bucket name is empty".to_string()));
        }
        let prefix = cfg.normalized_prefix()?;
        let store = S3Store::new(&cfg.store_config())?;
        Ok(S3Destination {
            client: store.sdk_client().clone(),
            bucket: cfg.bucket.trim().to_string(),
            prefix,
            endpoint: store.location().to_string(),
            part_size: DEFAULT_PART_SIZE,
            retry: RetryPolicy::default(),
            reporter: Reporter::silent(),
            cancel: CancellationToken::new(),
            no_md5: Arc::default(),
            no_conditional: Arc::default(),
            lock: None,
            all_versions: false,
            storage_class: None,
        })
    }

    /// Lock every upload (mode and retain-until date). Deleting then removes every version of
    /// the object (a bucket with Object Lock keeps versions; a plain delete would only hide it).
    pub fn with_object_lock(mut self, lock: Option<ObjectLock>) -> Self {
        self.all_versions |= lock.is_some();
        self.lock = lock;
        self
    }

    /// Deletes remove every version of an object (and its delete markers), as a bucket with
    /// Object Lock needs; without, a delete there only hides the object.
    pub fn deleting_all_versions(mut self, yes: bool) -> Self {
        self.all_versions = yes;
        self
    }

    /// Upload into this storage class (`STANDARD_IA`, `GLACIER`, …; checked against the list).
    pub fn with_storage_class(mut self, class: Option<&str>) -> Result<Self> {
        self.storage_class = class.map(super::s3_lock::parse_storage_class).transpose()?;
        Ok(self)
    }

    /// Whether the bucket has Object Lock enabled (`GetObjectLockConfiguration`); a clear
    /// `invalid_input` error, with what to do, when it does not.
    pub async fn check_object_lock(&self, mode: LockMode) -> Result<String> {
        let r = self
            .client
            .get_object_lock_configuration()
            .bucket(&self.bucket)
            .send()
            .await;
        let enabled = match r {
            Ok(out) => out
                .object_lock_configuration()
                .and_then(|c| c.object_lock_enabled())
                .is_some_and(|e| e.as_str() == "Enabled"),
            Err(SdkError::ServiceError(se))
                if se.err().code() == Some("ObjectLockConfigurationNotFoundError") =>
            {
                false
            }
            Err(e) => return Err(self.error("reading the bucket's Object Lock configuration", e)),
        };
        if !enabled {
            return Err(Error::invalid(format!(
                "the bucket {} does not have Object Lock enabled, so copies cannot be locked ({mode} mode was asked for)",
                self.bucket
            ))
            .with_hint(
                "Object Lock can only be switched on for a bucket created with it (or, on AWS, enabled on a versioned bucket): create a bucket with Object Lock enabled and point the destination at it, or remove the destination and add it again without --object-lock",
            ));
        }
        Ok(format!(
            "Object Lock is enabled on the bucket; {}",
            mode.meaning()
        ))
    }

    /// The error for a GET: S3's `InvalidObjectState` (an archived object) in plain words.
    fn read_error<E, R>(&self, name: &str, what: &str, e: SdkError<E, R>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: crate::sources::s3::HttpStatus + fmt::Debug,
    {
        match &e {
            SdkError::ServiceError(se) if se.err().code() == Some("InvalidObjectState") => {
                let class = self
                    .storage_class
                    .as_deref()
                    .filter(|c| super::s3_lock::is_archive_class(c));
                super::s3_lock::archived(name, &self.location(), class)
            }
            _ => self.error(what, e),
        }
    }

    /// Delete every version (and delete marker) of one key: a locked version that is still
    /// locked fails with the store's `AccessDenied`.
    async fn delete_versions(&self, name: &str, key: &str) -> Result<()> {
        let what = format!("deleting {name}");
        let listed = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(key)
            .send()
            .await
            .map_err(|e| self.error(&what, e))?;
        let versions = listed
            .versions()
            .iter()
            .filter(|v| v.key() == Some(key))
            .map(|v| v.version_id().map(str::to_string));
        let markers = listed
            .delete_markers()
            .iter()
            .filter(|m| m.key() == Some(key))
            .map(|m| m.version_id().map(str::to_string));
        for version in versions.chain(markers).collect::<Vec<_>>() {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .set_version_id(version)
                .send()
                .await
                .map_err(|e| self.error(&what, e))?;
        }
        Ok(())
    }

    /// Delete `name` with every version and delete marker, whatever this destination's
    /// setting: for a copy uploaded locked at a destination that no longer locks (a plain delete
    /// in its bucket would only hide it). `false`: there was no such object.
    pub async fn delete_every_version(&self, name: &str) -> Result<bool> {
        check_name(name)?;
        if self.head(name).await?.is_none() {
            return Ok(false);
        }
        self.delete_versions(name, &self.key_of(name)).await?;
        Ok(true)
    }

    /// Parts of this size (at least 5 MiB, S3's minimum; more when the body would need more
    /// than 10,000 parts). Bodies up to this size go in one `PutObject`.
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(MIN_PART_SIZE);
        self
    }

    /// How each request of a put (a part, the completion, the check) is retried.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Where retry waits are announced.
    pub fn reporting_to(mut self, reporter: Reporter) -> Self {
        self.reporter = reporter;
        self
    }

    /// Retry waits end, with `cancelled`, when this is cancelled.
    pub fn cancelled_by(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// The SDK client (tests list pending multipart uploads through it).
    #[doc(hidden)]
    pub fn sdk_client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key of an object name.
    pub fn key_of(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The multipart uploads started under this destination's prefix and not finished (none
    /// after any put, failed or not, except while a cancelled put's abort is on its way).
    pub async fn pending_uploads(&self) -> Result<Vec<String>> {
        let out = self
            .client
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .send()
            .await
            .map_err(|e| self.error("listing unfinished uploads", e))?;
        Ok(out
            .uploads()
            .iter()
            .filter_map(|u| u.key().map(str::to_string))
            .collect())
    }

    pub(super) fn error<E, R>(&self, what: &str, e: SdkError<E, R>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: crate::sources::s3::HttpStatus + fmt::Debug,
    {
        let e = crate::sources::s3::map_error(&self.location(), what, e);
        match e.kind() {
            ErrorKind::NotFound if crate::sources::s3::is_no_such_bucket(&e) => {
                crate::sources::s3::bucket_missing(e, &self.bucket, &self.endpoint)
            }
            ErrorKind::Permission => e.with_hint(
                "these keys may not write to this bucket: grant them list, read, write and delete",
            ),
            _ => e,
        }
    }

    /// HEAD of a key: `None` when there is no such object.
    pub(super) async fn head(&self, name: &str) -> Result<Option<StoredObject>> {
        let key = self.key_of(name);
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(StoredObject {
                name: name.to_string(),
                size: out.content_length().unwrap_or(0).max(0) as u64,
                sha256: out
                    .metadata()
                    .and_then(|m| m.get(SHA256_METADATA))
                    .and_then(|v| valid_sha256(v)),
                modified: out.last_modified().and_then(crate::sources::s3::time_of),
            })),
            Err(SdkError::ServiceError(se)) if se.raw().status().as_u16() == 404 => Ok(None),
            Err(SdkError::ServiceError(se)) if se.raw().status().as_u16() == 403 => {
                // A HEAD answer has no body, so no code: bad keys and missing rights look the
                // same. A one-key listing says which.
                drop(se);
                Err(self.explain_403(&format!("looking up {name}"), &key).await)
            }
            Err(e) => Err(self.error(&format!("looking up {name}"), e)),
        }
    }

    /// The error behind a `403` without a body: `auth` (bad keys) or `permission`.
    async fn explain_403(&self, what: &str, key: &str) -> Error {
        match self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(key)
            .max_keys(1)
            .send()
            .await
        {
            Err(e) => self.error(what, e),
            Ok(_) => Error::new(
                ErrorKind::Permission,
                format!("{what} at {}: access denied (HTTP 403)", self.location()),
            )
            .with_hint(
                "these keys may not read objects in this bucket: grant them list, read, write and delete",
            ),
        }
    }
}

/// A SHA-256 in hex as stored in metadata (anything else is ignored: hostile input).
pub(super) fn valid_sha256(v: &str) -> Option<String> {
    let v = v.trim().to_ascii_lowercase();
    (v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())).then_some(v)
}

#[async_trait]
impl Destination for S3Destination {
    fn location(&self) -> String {
        let prefix = self.prefix.trim_end_matches('/');
        let path = if prefix.is_empty() {
            self.bucket.clone()
        } else {
            format!("{}/{prefix}", self.bucket)
        };
        format!("s3://{path} at {}", self.endpoint)
    }

    async fn put(&self, name: &str, body: &dyn PutBody, opts: PutOptions) -> Result<StoredObject> {
        super::s3_upload::put(self, name, body, opts).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(format!("{}{prefix}", self.prefix))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.error("listing", e))?;
            for o in page.contents() {
                let Some(name) = o.key().and_then(|k| k.strip_prefix(&self.prefix)) else {
                    continue;
                };
                // Only names this destination could have written (not another tool's keys).
                if check_name(name).is_err() || name.contains(TEMP_PREFIX) {
                    continue;
                }
                out.push(StoredObject {
                    name: name.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    sha256: None,
                    modified: o.last_modified().and_then(crate::sources::s3::time_of),
                });
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated().unwrap_or(false) && !t.is_empty() => {
                    token = Some(t.to_string())
                }
                _ => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn stat(&self, name: &str) -> Result<Option<StoredObject>> {
        check_name(name)?;
        self.head(name).await
    }

    async fn sha256(&self, name: &str) -> Result<String> {
        check_name(name)?;
        match self.head(name).await? {
            None => Err(Error::not_found(format!(
                "{name} is not in {}",
                self.location()
            ))),
            Some(StoredObject {
                sha256: Some(sha), ..
            }) => Ok(sha),
            // Put by another tool: no metadata; read it back.
            Some(_) => self.deep_sha256(name).await,
        }
    }

    async fn read(&self, name: &str) -> Result<crate::sources::ByteStream> {
        check_name(name)?;
        let what = format!("reading {name} from {}", self.location());
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key_of(name))
            .send()
            .await;
        let out = match out {
            Err(SdkError::ServiceError(se)) if se.raw().status().as_u16() == 404 => {
                return Err(Error::not_found(format!(
                    "{name} is not in {}",
                    self.location()
                )))
            }
            r => r.map_err(|e| self.read_error(name, &what, e))?,
        };
        let stream = futures::stream::try_unfold((out.body, what), |(mut body, what)| async move {
            match body.try_next().await {
                Ok(Some(chunk)) => Ok(Some((chunk, (body, what)))),
                Ok(None) => Ok(None),
                Err(e) => Err(Error::new(
                    ErrorKind::Connection,
                    format!(
                        "{what}: the connection broke: {}",
                        crate::sources::s3::source_chain(&e)
                    ),
                )
                .temporary(true)),
            }
        });
        Ok(Box::pin(stream))
    }

    async fn deep_sha256(&self, name: &str) -> Result<String> {
        check_name(name)?;
        let what = format!("reading {name} back from {}", self.location());
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key_of(name))
            .send()
            .await;
        let out = match out {
            Err(SdkError::ServiceError(se)) if se.raw().status().as_u16() == 404 => {
                return Err(Error::not_found(format!(
                    "{name} is not in {}",
                    self.location()
                )))
            }
            r => r.map_err(|e| self.read_error(name, &what, e))?,
        };
        let mut body = out.body;
        let mut sha = Sha256::new();
        loop {
            match body.try_next().await {
                Ok(Some(chunk)) => sha.update(&chunk),
                Ok(None) => return Ok(sha.hex()),
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::Connection,
                        format!(
                            "{what}: the connection broke: {}",
                            crate::sources::s3::source_chain(&e)
                        ),
                    )
                    .temporary(true))
                }
            }
        }
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        check_name(name)?;
        // S3 answers 204 whether or not there was an object: ask first.
        if self.head(name).await?.is_none() {
            return Ok(false);
        }
        if self.all_versions {
            self.delete_versions(name, &self.key_of(name)).await?;
            return Ok(true);
        }
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.key_of(name))
            .send()
            .await
            .map_err(|e| self.error(&format!("deleting {name}"), e))?;
        Ok(true)
    }

    async fn check(&self) -> Result<DestinationCheck> {
        let mut c = super::check::probe(self).await?;
        debug_assert_eq!(c.state, CheckState::Online);
        if c.writable {
            c.message = Some("a bucket does not say how much room is left".to_string());
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> S3DestinationConfig {
        S3DestinationConfig {
            endpoint: Some("http://127.0.0.1:9".into()),
            region: "us-east-1".into(),
            bucket: "copies".into(),
            prefix: "/offsite/shop/".into(),
            access_key_id: "AKID".into(),
            secret_access_key: "very-secret-value".into(),
            path_style: true,
        }
    }

    #[test]
    fn the_secret_never_shows_and_the_prefix_is_normalised() {
        let c = cfg();
        assert!(!format!("{c:?}").contains("very-secret-value"));
        let d = S3Destination::new(&c).unwrap();
        assert!(!format!("{d:?}").contains("very-secret-value"));
        assert_eq!(d.key_of("a.tar.gz"), "offsite/shop/a.tar.gz");
        assert_eq!(
            d.location(),
            "s3://copies/offsite/shop at http://127.0.0.1:9"
        );
        let mut c = cfg();
        c.prefix = "a/../b".into();
        assert_eq!(
            S3Destination::new(&c).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        c.prefix = String::new();
        assert_eq!(S3Destination::new(&c).unwrap().key_of("x"), "x");
    }

    #[test]
    fn only_well_formed_hashes_are_taken_from_metadata() {
        let h = "AB".repeat(32);
        assert_eq!(valid_sha256(&h), Some("ab".repeat(32)));
        assert_eq!(valid_sha256("abc"), None);
        assert_eq!(valid_sha256(&"zz".repeat(32)), None);
    }
}
