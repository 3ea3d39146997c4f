//! S3-compatible buckets: Supabase Storage's S3 endpoint (`https://<ref>.storage.supabase.co/
//! storage/v1/s3`: an endpoint with a path, path-style addressing), AWS, R2, B2, MinIO…
//!
//! Built on `aws-sdk-s3` because it sends keys exactly as the store holds them (`//`, a leading
//! `/`, `.`/`..` segments, unicode), which `object_store`'s path type refuses and a `url::Url`
//! would normalise away. Request checksums are only sent when an operation requires them (the
//! SDK's default breaks several S3-compatible stores), and the SDK's own retries are off: the
//! engine's [`Retrying`](crate::retry::Retrying) wrapper retries and resumes cut downloads, so
//! every source behaves the same.
//!
//! Errors follow the sources' rule: 404 / `NoSuchKey` / `NoSuchBucket` → `not_found`; bad keys
//! or signature → `auth`; `AccessDenied` → `permission`; 429 / `SlowDown` → `rate_limited`
//! (with `Retry-After`); 5xx, timeouts and transport failures → `connection` (temporary).

use super::{
    BucketInfo, ByteRange, ByteStream, GetRequest, ListRequest, ObjectBody, ObjectInfo, ObjectPage,
    ObjectSource, ObjectTarget, PutBody, PutRequest,
};
use crate::error::{Error, ErrorKind, Result};
use async_trait::async_trait;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_types::byte_stream::ByteStream as SdkStream;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;
use time::OffsetDateTime;

/// Where an S3-compatible store is and how to sign for it.
#[derive(Clone)]
pub struct S3Config {
    /// `https://host[:port][/path]`; `None` for AWS (the region picks the host).
    pub endpoint: Option<String>,
    /// `us-east-1` when the store does not care.
    pub region: String,
    pub access_key_id: String,
    /// Never printed (see the `Debug` impl).
    pub secret_access_key: String,
    /// `https://endpoint/bucket/key` (true: Supabase, MinIO, most self-hosted stores) rather than
    /// `https://bucket.endpoint/key`.
    pub path_style: bool,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<secret>")
            .field("path_style", &self.path_style)
            .finish()
    }
}

impl S3Config {
    /// The endpoint as shown to people (no credentials are ever part of it).
    pub fn location(&self) -> String {
        match &self.endpoint {
            Some(e) => e.trim_end_matches('/').to_string(),
            None => format!("s3://{} (AWS)", self.region),
        }
    }

    /// Checks what can be checked without a request.
    pub fn validate(&self) -> Result<()> {
        if let Some(e) = &self.endpoint {
            let url = url::Url::parse(e).map_err(|err| {
                Error::invalid(format!("the S3 endpoint {e:?} is not a URL: {err}"))
                    .with_hint("for example https://<ref>.storage.supabase.co/storage/v1/s3")
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::invalid(format!(
                    "the S3 endpoint {e:?} must start with https:// (or http:// for a local store)"
                )));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(Error::invalid(
                    "the S3 endpoint must not contain credentials".to_string(),
                )
                .with_hint("give the access key id and secret separately"));
            }
        }
        if self.region.trim().is_empty() {
            return Err(Error::invalid("the S3 region is empty".to_string())
                .with_hint("use the region the store names (Supabase shows it beside the endpoint), or us-east-1"));
        }
        if self.access_key_id.trim().is_empty() {
            return Err(Error::invalid("the S3 access key id is empty".to_string()));
        }
        if self.secret_access_key.is_empty() {
            return Err(Error::new(
                ErrorKind::Secrets,
                "the S3 secret access key is missing".to_string(),
            )
            .with_hint("store it in the keychain (offsite project add … --s3-secret-stdin) or set OFFSITE_S3_SECRET_ACCESS_KEY"));
        }
        Ok(())
    }
}

/// An S3-compatible store, read ([`ObjectSource`]) and written ([`ObjectTarget`]).
#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    location: String,
    region: String,
    /// The store refused a page larger than S3's 1,000 keys: ask for 1,000 from now on.
    small_pages: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Keys asked for per listing page when the caller leaves it to the store. S3, MinIO, R2 and
/// Supabase Storage answer at most 1,000 whatever is asked; a store that keeps objects as files
/// (s3s-fs) reads its folder once per page, so fewer, larger pages list it faster. Not more:
/// a pull holds up to about a dozen pages at once (≈ 0.5 MB each at this size), whatever the
/// bucket's size. A store that refuses the number (`400`) is asked for 1,000 from then on.
pub const LIST_PAGE: usize = 2_000;
/// What S3 answers at most, and what a store that refused [`LIST_PAGE`] is asked for.
const S3_PAGE: usize = 1_000;

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    pub fn new(cfg: &S3Config) -> Result<Self> {
        cfg.validate()?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let creds = Credentials::new(
            cfg.access_key_id.trim(),
            cfg.secret_access_key.clone(),
            None,
            None,
            "offsite",
        );
        let mut b = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(cfg.region.trim().to_string()))
            .credentials_provider(creds)
            .http_client(http)
            .force_path_style(cfg.path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(15))
                    .read_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(e) = &cfg.endpoint {
            b = b.endpoint_url(e.trim_end_matches('/'));
        }
        Ok(S3Store {
            client: aws_sdk_s3::Client::from_conf(b.build()),
            location: cfg.location(),
            region: cfg.region.trim().to_string(),
            small_pages: Default::default(),
        })
    }

    /// The SDK client (tests seed multipart uploads through it).
    #[doc(hidden)]
    pub fn sdk_client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// Where it is, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    fn error<E, R>(&self, what: &str, e: SdkError<E, R>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: HttpStatus + fmt::Debug,
    {
        map_error(&self.location, what, e)
    }

    /// [`Self::error`] of a request to `bucket`: an unknown bucket is said in the app's words.
    fn bucket_error<E, R>(&self, bucket: &str, what: &str, e: SdkError<E, R>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: HttpStatus + fmt::Debug,
    {
        bucket_missing(self.error(what, e), bucket, &self.location)
    }
}

/// Whether the store said the bucket does not exist (S3's `NoSuchBucket`), rather than a key.
pub(crate) fn is_no_such_bucket(e: &Error) -> bool {
    e.kind() == ErrorKind::NotFound
        && (e.message().contains("NoSuchBucket")
            || e.detail().is_some_and(|d| d.contains("NoSuchBucket")))
}

/// `e` as one sentence naming `bucket` and the store at `endpoint` when the store said the
/// bucket does not exist, the next step as its hint and the store's own words as its detail;
/// other errors as they are.
pub(crate) fn bucket_missing(e: Error, bucket: &str, endpoint: &str) -> Error {
    if !is_no_such_bucket(&e) || e.detail().is_some() {
        return e;
    }
    let at = endpoint
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    Error::not_found(format!("The bucket {bucket} does not exist at {at}."))
        .with_hint("Create it, or check the name.")
        .with_detail(e.message())
}

/// The status and headers of a raw response (both response types the SDK hands back).
pub(crate) trait HttpStatus {
    fn status_code(&self) -> u16;
    fn header(&self, name: &str) -> Option<String>;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
    fn header(&self, name: &str) -> Option<String> {
        self.headers().get(name).map(str::to_string)
    }
}

pub(crate) fn map_error<E, R>(location: &str, what: &str, e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HttpStatus + fmt::Debug,
{
    let chain = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
    match e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status_code();
            let retry_after = se
                .raw()
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let err = se.err();
            let code = err.code().unwrap_or("").to_string();
            let detail = err.message().unwrap_or("").to_string();
            let said = match (code.is_empty(), detail.is_empty()) {
                (true, true) => format!("HTTP {status}"),
                (false, true) => format!("{code} (HTTP {status})"),
                (true, false) => format!("{detail} (HTTP {status})"),
                (false, false) => format!("{code}: {detail} (HTTP {status})"),
            };
            let msg = format!("{what} at {location}: {said}");
            keys_refused(classify(status, &code, msg, retry_after), location)
        }
        SdkError::TimeoutError(_) => Error::new(
            ErrorKind::Connection,
            format!("{what} at {location}: the store did not answer in time"),
        )
        .temporary(true),
        SdkError::DispatchFailure(df) => {
            let why = df
                .as_connector_error()
                .map(|c| source_chain(c))
                .unwrap_or_else(|| "the request could not be sent".to_string());
            Error::new(
                ErrorKind::Connection,
                format!("{what} at {location}: {why}"),
            )
            .with_hint("check the endpoint URL and that the store is reachable from here")
            .temporary(true)
        }
        SdkError::ResponseError(re) => {
            let status = re.raw().status_code();
            let msg = format!(
                "{what} at {location}: the answer could not be read (HTTP {status}): {chain}"
            );
            if (200..300).contains(&status) || status >= 500 {
                Error::new(ErrorKind::Connection, msg).temporary(true)
            } else {
                classify(status, "", msg, None)
            }
        }
        SdkError::ConstructionFailure(_) => {
            Error::invalid(format!("{what}: the request could not be built: {chain}"))
        }
        _ => Error::new(
            ErrorKind::Connection,
            format!("{what} at {location}: {chain}"),
        )
        .temporary(true),
    }
}

pub(crate) fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// A store that did not accept the keys, in the app's words (the store's own words behind
/// Details); other errors as they are.
fn keys_refused(e: Error, location: &str) -> Error {
    if e.kind() != ErrorKind::Auth {
        return e;
    }
    let hint = e.hint().unwrap_or_default().to_string();
    Error::new(
        ErrorKind::Auth,
        format!("The store at {location} did not accept these keys."),
    )
    .with_hint(hint)
    .with_detail(e.message())
}

fn classify(status: u16, code: &str, msg: String, retry_after: Option<Duration>) -> Error {
    match (status, code) {
        (429, _) | (_, "SlowDown") | (_, "TooManyRequests") => {
            Error::rate_limited(msg, retry_after.or(Some(Duration::from_secs(1))))
        }
        (_, "NoSuchKey") | (_, "NoSuchBucket") | (404, _) => Error::not_found(msg),
        (_, "InvalidAccessKeyId")
        | (_, "SignatureDoesNotMatch")
        | (_, "InvalidToken")
        | (_, "ExpiredToken")
        | (_, "NotSignedUp")
        | (401, _) => Error::new(ErrorKind::Auth, msg).with_hint(
            "Check the access key id and secret (Supabase: Project Settings → Storage → S3 access keys).",
        ),
        (_, "AccessDenied") | (403, _) => Error::new(ErrorKind::Permission, msg)
            .with_hint("these keys may not list or read this bucket: grant them read access"),
        (412, _) | (_, "PreconditionFailed") => Error::new(ErrorKind::Conflict, msg),
        (416, _) => Error::invalid(msg),
        (s, _) if s >= 500 => Error::new(ErrorKind::Connection, msg)
            .temporary(true)
            .with_retry_after(retry_after),
        (s, _) if (400..500).contains(&s) => Error::invalid(msg),
        _ => Error::new(ErrorKind::Connection, msg),
    }
}

/// User metadata as the engine keeps it: names in lower case.
fn user_metadata(
    m: Option<&std::collections::HashMap<String, String>>,
) -> BTreeMap<String, String> {
    m.map(|m| {
        m.iter()
            .map(|(k, v)| (k.to_lowercase(), v.clone()))
            .collect()
    })
    .unwrap_or_default()
}

fn unquote(etag: &str) -> String {
    etag.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_string()
}

pub(crate) fn time_of(dt: &aws_smithy_types::DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(dt.secs())
        .ok()
        .map(|t| t + time::Duration::nanoseconds(dt.subsec_nanos() as i64))
}

/// `bytes a-b/total` → total.
fn total_of_content_range(v: &str) -> Option<u64> {
    v.rsplit('/').next()?.trim().parse().ok()
}

/// The body of a response as the engine's byte stream; an error ends it.
fn stream_of(body: SdkStream, what: String) -> ByteStream {
    Box::pin(futures::stream::unfold(Some(body), move |state| {
        let what = what.clone();
        async move {
            let mut body = state?;
            match body.try_next().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(body))),
                Ok(None) => None,
                Err(e) => Some((
                    Err(Error::new(
                        ErrorKind::Connection,
                        format!("{what}: the connection broke: {}", source_chain(&e)),
                    )
                    .temporary(true)),
                    None,
                )),
            }
        }
    }))
}

#[async_trait]
impl ObjectSource for S3Store {
    async fn stat_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>> {
        ObjectTarget::head_object(self, bucket, key).await
    }

    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        let out = self
            .client
            .list_buckets()
            .send()
            .await
            .map_err(|e| self.error("listing buckets", e))?;
        Ok(out
            .buckets()
            .iter()
            .filter_map(|b| {
                Some(BucketInfo {
                    name: b.name()?.to_string(),
                    created: b.creation_date().and_then(time_of),
                })
            })
            .collect())
    }

    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage> {
        use std::sync::atomic::Ordering;
        let small = self.small_pages.load(Ordering::Relaxed);
        let page_size = match req.page_size {
            Some(n) => n.clamp(1, if small { S3_PAGE } else { LIST_PAGE }),
            None if small => S3_PAGE,
            None => LIST_PAGE,
        };
        let send = |page_size: usize| {
            self.client
                .list_objects_v2()
                .bucket(bucket)
                .set_prefix(req.prefix.clone())
                .set_continuation_token(req.continuation.clone())
                .set_delimiter(req.delimiter.clone())
                .set_start_after(req.start_after.clone())
                .max_keys(page_size as i32)
                .send()
        };
        let out = match send(page_size).await {
            Err(SdkError::ServiceError(se))
                if page_size > S3_PAGE && se.raw().status().as_u16() == 400 =>
            {
                // S3 caps pages at 1,000 keys; this store refuses to be asked for more.
                self.small_pages.store(true, Ordering::Relaxed);
                drop(se);
                send(S3_PAGE).await
            }
            other => other,
        }
        .map_err(|e| self.bucket_error(bucket, &format!("listing bucket {bucket:?}"), e))?;
        let objects = out
            .contents()
            .iter()
            .filter_map(|o| {
                Some(ObjectInfo {
                    key: o.key()?.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    etag: o.e_tag().map(unquote),
                    last_modified: o.last_modified().and_then(time_of),
                    content_type: None,
                    cache_control: None,
                    metadata: BTreeMap::new(),
                })
            })
            .collect();
        let next = if out.is_truncated().unwrap_or(false) {
            match out.next_continuation_token() {
                Some(t) if !t.is_empty() => Some(t.to_string()),
                _ => {
                    return Err(Error::new(
                        ErrorKind::Connection,
                        format!("listing bucket {bucket:?} at {}: the store said there is more but gave no continuation token", self.location),
                    ))
                }
            }
        } else {
            None
        };
        let prefixes = out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_string))
            .collect();
        Ok(ObjectPage {
            objects,
            prefixes,
            next,
        })
    }

    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody> {
        let what = format!("downloading {bucket}/{key}");
        if let Some(ByteRange {
            start,
            end: Some(end),
        }) = req.range
        {
            if start >= end {
                // An empty range: HTTP cannot ask for it (416); answer from a HEAD.
                let info = self
                    .head_object(bucket, key)
                    .await?
                    .ok_or_else(|| Error::not_found(format!("{what}: no such object")))?;
                return Ok(ObjectBody {
                    range: start.min(info.size)..start.min(info.size),
                    info,
                    stream: Box::pin(futures::stream::empty()),
                });
            }
        }
        let range_header = req.range.map(|r| match r.end {
            Some(end) => format!("bytes={}-{}", r.start, end - 1),
            None => format!("bytes={}-", r.start),
        });
        let sent = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_range(range_header)
            .set_if_match(req.if_match.as_ref().map(|e| format!("\"{}\"", unquote(e))))
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(SdkError::ServiceError(se)) if se.raw().status().as_u16() == 416 => {
                // A range starting at the end: an empty body, as the contract says.
                let start = req.range.map(|r| r.start).unwrap_or(0);
                let info = self
                    .head_object(bucket, key)
                    .await?
                    .ok_or_else(|| Error::not_found(format!("{what}: no such object")))?;
                if start == info.size {
                    return Ok(ObjectBody {
                        range: start..start,
                        info,
                        stream: Box::pin(futures::stream::empty()),
                    });
                }
                return Err(Error::invalid(format!(
                    "{what}: byte {start} is beyond the end of the object ({} bytes)",
                    info.size
                )));
            }
            Err(e) => return Err(self.bucket_error(bucket, &what, e)),
        };
        let len = out.content_length().unwrap_or(0).max(0) as u64;
        let (range, size) = match (req.range, out.content_range()) {
            (Some(r), Some(cr)) => {
                let total = total_of_content_range(cr).unwrap_or(r.start + len);
                let start = cr
                    .trim()
                    .trim_start_matches("bytes")
                    .trim()
                    .split('-')
                    .next()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .unwrap_or(r.start);
                (start..start + len, total)
            }
            // Asked for a range, got the whole object (a store that ignores Range): the
            // resume logic sees start 0 and refuses to stitch.
            (Some(_), None) => (0..len, len),
            (None, _) => (0..len, len),
        };
        let info = ObjectInfo {
            key: key.to_string(),
            size,
            etag: out.e_tag().map(unquote),
            last_modified: out.last_modified().and_then(time_of),
            content_type: out.content_type().map(str::to_string),
            cache_control: out.cache_control().map(str::to_string),
            metadata: user_metadata(out.metadata()),
        };
        Ok(ObjectBody {
            info,
            range,
            stream: stream_of(out.body, what),
        })
    }
}

#[async_trait]
impl ObjectTarget for S3Store {
    async fn create_bucket(&self, bucket: &str) -> Result<bool> {
        // us-east-1 answers 200 to re-creating a bucket one owns: ask first.
        if self
            .client
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(false);
        }
        let mut req = self.client.create_bucket().bucket(bucket);
        if self.region != "us-east-1" {
            use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                if let SdkError::ServiceError(se) = &e {
                    match se.err().code() {
                        Some("BucketAlreadyOwnedByYou") => return Ok(false),
                        Some("BucketAlreadyExists") => {
                            // Ours when we can list it.
                            if self
                                .client
                                .head_bucket()
                                .bucket(bucket)
                                .send()
                                .await
                                .is_ok()
                            {
                                return Ok(false);
                            }
                            return Err(Error::new(
                                ErrorKind::AlreadyExists,
                                format!(
                                    "the bucket name {bucket:?} is taken at {} by someone else",
                                    self.location
                                ),
                            )
                            .with_hint("restore into another bucket name"));
                        }
                        _ => {}
                    }
                }
                Err(self.error(&format!("creating bucket {bucket:?}"), e))
            }
        }
    }

    async fn head_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                key: key.to_string(),
                size: out.content_length().unwrap_or(0).max(0) as u64,
                etag: out.e_tag().map(unquote),
                last_modified: out.last_modified().and_then(time_of),
                content_type: out.content_type().map(str::to_string),
                cache_control: out.cache_control().map(str::to_string),
                metadata: user_metadata(out.metadata()),
            })),
            Err(e) => {
                let err = self.bucket_error(bucket, &format!("looking up {bucket}/{key}"), e);
                if err.kind() == ErrorKind::NotFound && !is_no_such_bucket(&err) {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: PutBody,
        req: &PutRequest,
    ) -> Result<ObjectInfo> {
        let what = format!("uploading {bucket}/{key}");
        let (stream, size) = match body {
            PutBody::Bytes(b) => {
                let n = b.len() as u64;
                (SdkStream::from(b), n)
            }
            PutBody::File(path) => {
                let n = std::fs::metadata(&path)
                    .map_err(|e| Error::io(format!("reading {} to upload it", path.display()), e))?
                    .len();
                let s = SdkStream::from_path(&path).await.map_err(|e| {
                    Error::new(
                        ErrorKind::Io,
                        format!("reading {} to upload it: {e}", path.display()),
                    )
                })?;
                (s, n)
            }
        };
        let out = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_length(size as i64)
            .set_content_type(req.content_type.clone())
            .set_cache_control(req.cache_control.clone())
            .set_metadata(if req.metadata.is_empty() {
                None
            } else {
                Some(req.metadata.clone().into_iter().collect())
            })
            .body(stream)
            .send()
            .await
            .map_err(|e| self.bucket_error(bucket, &what, e))?;
        Ok(ObjectInfo {
            key: key.to_string(),
            size,
            etag: out.e_tag().map(unquote),
            last_modified: None,
            content_type: req.content_type.clone(),
            cache_control: req.cache_control.clone(),
            metadata: req.metadata.clone(),
        })
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.bucket_error(bucket, &format!("deleting {bucket}/{key}"), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> S3Config {
        S3Config {
            endpoint: Some("https://abc.storage.supabase.co/storage/v1/s3".into()),
            region: "eu-central-1".into(),
            access_key_id: "AKID".into(),
            secret_access_key: "very-secret-value".into(),
            path_style: true,
        }
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let c = cfg();
        assert!(!format!("{c:?}").contains("very-secret-value"));
        let s = S3Store::new(&c).unwrap();
        assert!(!format!("{s:?}").contains("very-secret-value"));
        assert_eq!(
            s.location(),
            "https://abc.storage.supabase.co/storage/v1/s3"
        );
    }

    #[test]
    fn bad_configurations_are_refused_with_what_to_do() {
        let mut c = cfg();
        c.endpoint = Some("ftp://x".into());
        assert_eq!(c.validate().unwrap_err().kind(), ErrorKind::InvalidInput);
        let mut c = cfg();
        c.endpoint = Some("https://user:pw@x".into());
        assert!(c.validate().unwrap_err().message().contains("credentials"));
        let mut c = cfg();
        c.secret_access_key.clear();
        let e = c.validate().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Secrets);
        assert!(e.hint().unwrap().contains("OFFSITE_S3_SECRET_ACCESS_KEY"));
    }

    #[test]
    fn statuses_and_codes_map_to_the_sources_error_rule() {
        let m = |s, c| classify(s, c, "x".into(), None).kind();
        assert_eq!(m(404, ""), ErrorKind::NotFound);
        assert_eq!(m(400, "NoSuchBucket"), ErrorKind::NotFound);
        assert_eq!(m(403, "InvalidAccessKeyId"), ErrorKind::Auth);
        assert_eq!(m(403, "SignatureDoesNotMatch"), ErrorKind::Auth);
        assert_eq!(m(403, "NotSignedUp"), ErrorKind::Auth); // s3s: an unknown access key
        assert_eq!(m(403, "AccessDenied"), ErrorKind::Permission);
        assert_eq!(m(429, ""), ErrorKind::RateLimited);
        assert_eq!(m(503, "SlowDown"), ErrorKind::RateLimited);
        assert_eq!(m(412, ""), ErrorKind::Conflict);
        assert_eq!(m(400, "InvalidBucketName"), ErrorKind::InvalidInput);
        assert!(!classify(400, "", "x".into(), None).is_temporary());
        let e = classify(502, "", "x".into(), None);
        assert_eq!(e.kind(), ErrorKind::Connection);
        assert!(e.is_temporary());
        let e = classify(429, "", "x".into(), Some(Duration::from_secs(7)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(total_of_content_range("bytes 5-9/123"), Some(123));
        // Refused keys: a sentence in the app's words, the store's words behind Details.
        let said = "listing bucket \"b\" at http://h:9: InvalidAccessKeyId: nope (HTTP 403)";
        let e = keys_refused(
            classify(403, "InvalidAccessKeyId", said.into(), None),
            "http://h:9",
        );
        assert_eq!(
            e.message(),
            "The store at http://h:9 did not accept these keys."
        );
        assert_eq!(e.detail(), Some(said));
        assert!(e.hint().unwrap().starts_with("Check the access key id"));
        assert_eq!(unquote("\"abc-3\""), "abc-3");
    }

    #[test]
    fn an_unknown_bucket_is_one_sentence_with_the_next_step() {
        let said = "listing bucket \"backups\" at http://127.0.0.1:9000: NoSuchBucket: The specified bucket does not exist (HTTP 404)";
        let e = bucket_missing(
            classify(404, "NoSuchBucket", said.into(), None),
            "backups",
            "http://127.0.0.1:9000/",
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(
            e.message(),
            "The bucket backups does not exist at 127.0.0.1:9000."
        );
        assert_eq!(e.hint(), Some("Create it, or check the name."));
        assert_eq!(e.detail(), Some(said));
        assert!(is_no_such_bucket(&e));
        // A missing key is not a missing bucket, and stays as it was.
        let key = classify(404, "NoSuchKey", "k".into(), None);
        assert!(!is_no_such_bucket(&key));
        assert_eq!(bucket_missing(key, "backups", "h").message(), "k");
    }
}
