//! The one download path: every whole-file download — an Offsite agent's signed URL, an object
//! of an artifact bucket — goes through [`Downloader::download`].
//!
//! Rules:
//! - The bytes stream into `<dest>.part` beside the destination, created exclusively and locked
//!   (a `.part` another download holds is refused), written and SHA-256-hashed on two threads
//!   while the socket is read. Only when the size and the SHA-256 match what the [`UrlSource`]
//!   promised (when it promised anything) is the file fsynced and renamed into place (then the
//!   folder is fsynced). On any error, a cancel, or a dropped future, the `.part` is removed.
//!   When the size is known, the `.part`'s blocks are reserved before its body is read
//!   (`PartFile::reserve`): a disk without room fails at once with `disk_full`.
//! - A `.part` a *killed* download left (nobody holds its lock) is resumed when the SHA-256 is
//!   known and the file recorded its answer's validator (an extended attribute, Linux): its
//!   bytes are hashed again and the rest is asked for with `Range` + `If-Range`. Otherwise it is
//!   removed and the download starts afresh.
//! - A cut body is resumed with `Range: bytes=N-` and `If-Range:` the strong ETag of the first
//!   answer (its `Last-Modified` when it had no strong ETag). A `200` to a ranged request means
//!   the file changed or the server ignores ranges: the `.part` is emptied and filled again from
//!   that answer. A `206` must start exactly at `N` (its `Content-Range`), keep the total size and
//!   the ETag; otherwise the download starts over. Without any validator a resume is made only
//!   when the SHA-256 is known (which then proves the spliced result); otherwise it starts over.
//! - A body that ends before its length (a cut, a clean close before `Content-Length`, a
//!   `Content-Length` smaller than the promised size) is resumed, never accepted; one longer than
//!   the promised size fails (`integrity`).
//! - Signed URLs expire: an S3 `403` "Request has expired", or an Offsite agent's `401`/`403`/
//!   `410` with `{"code":"url_expired"}` ([`URL_EXPIRED_CODE`]), makes the downloader ask the
//!   source for a fresh URL (`refresh = true`) and resume at once.
//! - Connection errors, cut bodies, idle connections ([`ClientOptions::idle_timeout`]), `408`,
//!   `429` and `5xx` are retried with exponential backoff and jitter (backon), a `Retry-After`
//!   replacing the computed wait. [`RetryPolicy::max_attempts`] counts failed tries *in a row*
//!   and [`RetryPolicy::max_total`] bounds the time spent without receiving a byte: a long
//!   download that keeps moving is never given up on, a dead one is within minutes. Every wait is
//!   announced through the [`Reporter`]. Permanent errors fail at once: `404`/`410`
//!   (`not_found`), `401` (`auth`), `403` (`permission`), a changed pinned certificate, a
//!   SHA-256 mismatch after a clean download (`integrity`), a full disk (`disk_full`).
//! - A cancel is seen within one chunk (the token is watched while waiting for the network, for
//!   a retry, and for the disk).
//! - Redirects are never followed (the webhook clients' rule): a `3xx` fails at once with
//!   `connection` (not retried) and the next address is never asked for, so a hostile backup
//!   server or bucket cannot send this machine to a cloud metadata address or a loopback port.
//! - Header values given by the source (a bearer token) are marked sensitive, and messages name
//!   URLs without their query string ([`redact_url`]): no secret reaches an error or a log.
//! - Progress: phase `downloading` with bytes done / total; the reporter computes the speed and
//!   [`eta`] the time left.

mod http;
mod sink;
pub mod tls;

pub use http::{redact_url, redirect_refused, url_expired_body, URL_EXPIRED_CODE};
pub use sink::part_path;
pub use tls::{client_config, Fingerprint, FingerprintMismatch, PinnedCertVerifier, TlsTrust};

use crate::clock::SystemClock;
use crate::error::{Error, ErrorKind, Result};
use crate::progress::{Phase, ProgressUpdate, Reporter, RetryWait};
use crate::retry::{parse_retry_after, RetryPolicy};
use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use http::{content_range, is_expired, status_error, Validator};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sink::PartFile;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Where to download from, as a [`UrlSource`] hands it out.
#[derive(Clone)]
pub struct DownloadUrl {
    pub url: url::Url,
    /// Extra request headers (e.g. `Authorization: Bearer …`); their values are secret: marked
    /// sensitive, never logged, never in error text.
    pub headers: HeaderMap,
    /// The size the file must have, when known.
    pub size: Option<u64>,
    /// The SHA-256 (hex) the file must have, when known.
    pub sha256: Option<String>,
}

impl DownloadUrl {
    pub fn new(url: url::Url) -> Self {
        DownloadUrl {
            url,
            headers: HeaderMap::new(),
            size: None,
            sha256: None,
        }
    }

    /// Parse `url` (`http` or `https`).
    pub fn parse(url: &str) -> Result<Self> {
        let u = url::Url::parse(url).map_err(|_| Error::invalid("not a valid download URL"))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(Error::invalid(format!(
                "only http and https URLs can be downloaded, not {}",
                u.scheme()
            )));
        }
        Ok(Self::new(u))
    }

    /// Add a header whose value is secret (marked sensitive).
    pub fn header(mut self, name: &str, value: &str) -> Result<Self> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::invalid(format!("not a valid header name: {name:?}")))?;
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| Error::invalid(format!("the value of header {name} is not valid")))?;
        value.set_sensitive(true);
        self.headers.insert(name, value);
        Ok(self)
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Result<Self> {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn with_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    pub fn with_sha256(mut self, sha256_hex: impl Into<String>) -> Self {
        self.sha256 = Some(sha256_hex.into());
        self
    }
}

impl fmt::Debug for DownloadUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadUrl")
            .field("url", &redact_url(&self.url))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// Hands out the URL of one file; asked again with `refresh = true` when the last one expired.
#[async_trait]
pub trait UrlSource: Send + Sync {
    async fn url(&self, refresh: bool) -> Result<DownloadUrl>;
}

/// A URL that cannot be refreshed (an expiry is then an `auth` error).
#[async_trait]
impl UrlSource for DownloadUrl {
    async fn url(&self, refresh: bool) -> Result<DownloadUrl> {
        if refresh {
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "the download URL of {} expired and cannot be renewed",
                    redact_url(&self.url)
                ),
            )
            .with_hint("ask for a new download link and try again"));
        }
        Ok(self.clone())
    }
}

/// How the HTTP client connects.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub tls: TlsTrust,
    pub connect_timeout: Duration,
    /// A connection that delivers no byte for this long is treated as cut (and resumed).
    pub idle_timeout: Duration,
}

/// Names the seconds without a byte after which a download's connection counts as cut (1 to
/// 3600; default 60): for links or proxies that pause longer, and for tests of the rule.
pub const IDLE_TIMEOUT_ENV: &str = "OFFSITE_HTTP_IDLE_TIMEOUT";

/// The idle timeout `value` (of [`IDLE_TIMEOUT_ENV`]) asks for; 60 s when unset or not a whole
/// number of seconds from 1 to 3600.
fn idle_timeout_from(value: Option<&str>) -> Duration {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(60))
}

impl Default for ClientOptions {
    /// The platform's certificates, 30 s to connect, 60 s without a byte (or
    /// [`IDLE_TIMEOUT_ENV`]'s).
    fn default() -> Self {
        ClientOptions {
            tls: TlsTrust::Platform,
            connect_timeout: Duration::from_secs(30),
            idle_timeout: idle_timeout_from(std::env::var(IDLE_TIMEOUT_ENV).ok().as_deref()),
        }
    }
}

/// How hard a download tries (see the module's rules).
#[derive(Debug, Clone)]
pub struct TransferPolicy {
    /// `max_attempts`: failed tries in a row (a try that received bytes resets the count);
    /// `max_total`: the longest time without receiving a byte; waits between `min_delay` and
    /// `max_delay`.
    pub retry: RetryPolicy,
    /// How often the download may start over (file changed, range ignored) before failing.
    pub max_restarts: u32,
    /// Fresh URLs asked for in a row (without a byte received in between) before failing.
    pub max_refreshes: u32,
}

impl Default for TransferPolicy {
    /// 8 failed tries in a row, waits of 0.5 s doubling up to 30 s, at most 5 minutes without a
    /// byte; 10 restarts; 3 refreshes in a row.
    fn default() -> Self {
        TransferPolicy {
            retry: RetryPolicy {
                max_attempts: 8,
                min_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(30),
                max_total: Duration::from_secs(300),
                jitter: true,
            },
            max_restarts: 10,
            max_refreshes: 3,
        }
    }
}

/// What a finished download did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub path: PathBuf,
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// HTTP requests made (answered or not).
    pub requests: u32,
    /// Requests that resumed with a `Range`.
    pub resumes: u32,
    /// Times the download started over from byte 0.
    pub restarts: u32,
    /// Fresh URLs asked for.
    pub refreshes: u32,
    /// Waits after temporary failures.
    pub retries: u32,
    /// Body bytes received in all (more than `size` when something was received twice).
    pub bytes_received: u64,
}

/// The time left, from an update's bytes and speed (`None` when unknown or stalled).
pub fn eta(update: &ProgressUpdate) -> Option<Duration> {
    let total = update.bytes_total?;
    if update.bytes_per_sec <= 0.0 || update.finished {
        return None;
    }
    let left = total.saturating_sub(update.bytes_done) as f64;
    Some(Duration::from_secs_f64(left / update.bytes_per_sec))
}

/// Downloads files (see the module's rules). One HTTP client (a connection pool) for all of
/// them: make one and share it.
#[derive(Debug, Clone)]
pub struct Downloader {
    client: reqwest::Client,
    policy: TransferPolicy,
}

/// What one HTTP exchange ended in.
enum Outcome {
    /// Every byte is in the `.part` file.
    Done,
    /// The URL expired: ask for a fresh one.
    Expired,
    /// Empty the `.part` and ask for the whole file (why).
    Restart(String),
    /// Failed (retried when temporary).
    Failed(Error),
}

/// The state of one download across its requests.
struct State {
    /// Bytes in the `.part` file.
    pos: u64,
    /// The size the file has (the source's promise, else the server's word).
    total: Option<u64>,
    validator: Option<Validator>,
    /// The file is made of more than one answer.
    spliced: bool,
    announced: bool,
    stats: Downloaded,
}

impl Downloader {
    pub fn new(opts: &ClientOptions, policy: TransferPolicy) -> Result<Self> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(client_config(&opts.tls)?)
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.idle_timeout)
            // A redirect is an answer like any other (`status_error`), never followed: a
            // hostile server must not send this machine to `169.254.169.254` or a loopback port.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(crate::tool_version())
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Downloader { client, policy })
    }

    pub fn policy(&self) -> &TransferPolicy {
        &self.policy
    }

    /// The HTTP client (for other requests to the same server, with the same TLS trust).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Download the file `source` names to `dest` (which must not exist; its folder must). See
    /// the module's rules.
    pub async fn download(
        &self,
        source: &dyn UrlSource,
        dest: &Path,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<Downloaded> {
        if dest.exists() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} already exists", dest.display()),
            ));
        }
        let url = tokio::select! {
            u = source.url(false) => u?,
            _ = cancel.cancelled() => return Err(Error::cancelled()),
        };
        // A `.part` a killed download left is resumed only when the SHA-256 is known (which
        // proves the spliced result; a mismatch starts over once).
        let resume = url.sha256.is_some();
        let d = dest.to_path_buf();
        let (part, resumed) = tokio::task::spawn_blocking(move || PartFile::open(&d, resume))
            .await
            .map_err(|e| Error::internal(format!("opening the .part file failed: {e}")))??;
        let (pos, validator) = match resumed {
            Some(r) => (r.len, Some(r.validator)),
            None => (0, None),
        };
        let mut st = State {
            pos,
            total: url.size,
            spliced: validator.is_some(),
            validator,
            announced: false,
            stats: Downloaded {
                path: dest.to_path_buf(),
                size: 0,
                sha256: String::new(),
                requests: 0,
                resumes: 0,
                restarts: 0,
                refreshes: 0,
                retries: 0,
                bytes_received: 0,
            },
        };
        match self
            .run(url, source, &part, &mut st, reporter, cancel)
            .await
        {
            Ok(digest) => {
                part.commit(dest).await?;
                st.stats.size = st.pos;
                st.stats.sha256 = hex::encode(digest);
                reporter.report_now();
                Ok(st.stats)
            }
            Err(e) => {
                part.discard().await;
                Err(e)
            }
        }
    }

    async fn run(
        &self,
        mut url: DownloadUrl,
        source: &dyn UrlSource,
        part: &PartFile,
        st: &mut State,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<[u8; 32]> {
        let mut expected = expected_sha(&url)?;
        let mut budget = Budget::new(&self.policy.retry);
        let mut refreshes_in_row = 0;
        let mut mismatch_restart = false;
        if !st.announced && st.total.is_some() {
            reporter.phase(Phase::Downloading, st.total);
            reporter.set_done(st.pos);
            st.announced = true;
        }
        loop {
            if cancel.is_cancelled() {
                return Err(Error::cancelled());
            }
            let received = st.stats.bytes_received;
            let outcome = self
                .attempt(&url, expected.is_some(), part, st, reporter, cancel)
                .await;
            if st.stats.bytes_received > received {
                budget.reset();
                refreshes_in_row = 0;
            }
            let what = format!("downloading {}", redact_url(&url.url));
            match outcome {
                Outcome::Done => {
                    let digest = tokio::select! {
                        d = part.finish() => d?,
                        _ = cancel.cancelled() => return Err(Error::cancelled()),
                    };
                    if let Some(want) = url.size {
                        if st.pos != want {
                            return Err(Error::integrity(format!(
                                "{what}: got {} bytes, expected {want}",
                                st.pos
                            )));
                        }
                    }
                    match expected {
                        Some(want) if want != digest => {
                            if st.spliced && !mismatch_restart {
                                // Pieces of two versions? One clean download decides.
                                mismatch_restart = true;
                                self.restart(part, st, &url, reporter).await?;
                                continue;
                            }
                            return Err(Error::integrity(format!(
                                "{what}: SHA-256 mismatch: expected {}, got {}",
                                hex::encode(want),
                                hex::encode(digest)
                            ))
                            .with_hint(
                                "the server's file is not the one announced (changed, damaged \
                                 or replaced); nothing was kept",
                            ));
                        }
                        _ => return Ok(digest),
                    }
                }
                Outcome::Expired => {
                    refreshes_in_row += 1;
                    if refreshes_in_row > self.policy.max_refreshes {
                        return Err(Error::new(
                            ErrorKind::Auth,
                            format!(
                                "{what}: the server says the URL expired, even after {} fresh ones",
                                self.policy.max_refreshes
                            ),
                        )
                        .with_hint("check that this computer's clock and the server's agree"));
                    }
                    tracing::info!(target: "offsite::transfer", "{what}: the URL expired; asking for a fresh one");
                    let fresh = tokio::select! {
                        u = source.url(true) => u?,
                        _ = cancel.cancelled() => return Err(Error::cancelled()),
                    };
                    st.stats.refreshes += 1;
                    url = DownloadUrl {
                        size: fresh.size.or(url.size),
                        sha256: fresh.sha256.clone().or(url.sha256.clone()),
                        ..fresh
                    };
                    expected = expected_sha(&url)?;
                }
                Outcome::Restart(why) => {
                    tracing::info!(target: "offsite::transfer", "{what}: starting over: {why}");
                    if st.stats.restarts >= self.policy.max_restarts {
                        return Err(Error::new(
                            ErrorKind::Conflict,
                            format!("{what}: started over {} times ({why})", st.stats.restarts),
                        )
                        .with_hint(
                            "the file keeps changing on the server; try again when it is finished",
                        ));
                    }
                    self.restart(part, st, &url, reporter).await?;
                }
                Outcome::Failed(e) => {
                    budget.wait_after(e, &what, reporter, cancel).await?;
                    st.stats.retries += 1;
                }
            }
        }
    }

    /// Empty the `.part` file: the next request asks for the whole file.
    async fn restart(
        &self,
        part: &PartFile,
        st: &mut State,
        url: &DownloadUrl,
        reporter: &Reporter,
    ) -> Result<()> {
        part.truncate().await?;
        part.forget();
        st.pos = 0;
        st.total = url.size;
        st.validator = None;
        st.spliced = false;
        st.stats.restarts += 1;
        reporter.set_done(0);
        Ok(())
    }

    /// One request and its body.
    async fn attempt(
        &self,
        url: &DownloadUrl,
        sha_known: bool,
        part: &PartFile,
        st: &mut State,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Outcome {
        let what = format!("downloading {}", redact_url(&url.url));
        if st.pos > 0 && st.validator.is_none() && !sha_known {
            // Nothing proves the rest belongs to the same file: start over.
            if let Err(e) = self.restart(part, st, url, reporter).await {
                return Outcome::Failed(e);
            }
        }
        if let Some(t) = st.total {
            if st.pos == t && st.pos > 0 {
                return Outcome::Done;
            }
        }
        let mut req = self
            .client
            .get(url.url.clone())
            .headers(url.headers.clone())
            .header(reqwest::header::ACCEPT_ENCODING, "identity");
        let ranged = st.pos > 0;
        if ranged {
            req = req.header(reqwest::header::RANGE, format!("bytes={}-", st.pos));
            if let Some(v) = &st.validator {
                req = req.header(reqwest::header::IF_RANGE, v.header_value());
            }
            st.stats.resumes += 1;
        }
        st.stats.requests += 1;
        let sent = tokio::select! {
            r = req.send() => r,
            _ = cancel.cancelled() => return Outcome::Failed(Error::cancelled()),
        };
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(transport_error(&what, e)),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers();
        // A `206`'s end (exclusive): never a byte past what its Content-Range announced.
        let mut range_end: Option<u64> = None;
        match status {
            200 => {
                if st.pos > 0 {
                    // The server ignored the range, or If-Range said the file changed.
                    tracing::info!(target: "offsite::transfer", "{what}: a whole file came back to a ranged request; starting over");
                    if let Err(e) = self.restart(part, st, url, reporter).await {
                        return Outcome::Failed(e);
                    }
                }
                st.validator = Validator::from_headers(headers);
                match &st.validator {
                    Some(v) => part.remember(v),
                    None => part.forget(),
                }
                st.total = url.size.or(resp.content_length());
            }
            206 => match partial_answer(headers, st, part) {
                Ok(end) => range_end = Some(end),
                Err(restart) => return restart,
            },
            416 if ranged => {
                // `Content-Range: bytes */N` with N = what we have: the file was complete (a
                // Content-Length that promised more than there was).
                let total = headers
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().strip_prefix("bytes */"))
                    .and_then(|n| n.trim().parse::<u64>().ok());
                if total == Some(st.pos) && url.size.is_none_or(|s| s == st.pos) {
                    return Outcome::Done;
                }
                return Outcome::Restart("the server cannot serve the rest (416)".into());
            }
            _ => {
                let retry_after = headers
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, &SystemClock));
                let body = tokio::select! {
                    b = read_small(&mut resp) => b,
                    _ = cancel.cancelled() => return Outcome::Failed(Error::cancelled()),
                };
                if is_expired(status, &body) {
                    return Outcome::Expired;
                }
                return Outcome::Failed(status_error(&what, status, retry_after));
            }
        }
        if let Some(t) = st.total {
            if let Err(e) = part.reserve(t).await {
                return Outcome::Failed(e);
            }
        }
        if !st.announced {
            reporter.phase(Phase::Downloading, st.total);
            reporter.set_done(st.pos);
            st.announced = true;
        }
        loop {
            let next = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Outcome::Failed(Error::cancelled()),
                c = resp.chunk() => c,
            };
            match next {
                Ok(Some(chunk)) => {
                    let len = chunk.len() as u64;
                    if let Some(end) = range_end.filter(|&end| st.pos + len > end) {
                        return Outcome::Failed(
                            Error::integrity(format!(
                                "{what}: the server sent more than the range it announced (bytes up to {})",
                                end - 1
                            ))
                            .with_hint(
                                "the server's partial answer is malformed (a broken or hostile server); nothing past the range was written and nothing was kept",
                            ),
                        );
                    }
                    if let Some(t) = st.total {
                        if st.pos + len > t {
                            return Outcome::Failed(
                                Error::integrity(format!(
                                    "{what}: the server sent more than the {t} bytes expected"
                                ))
                                .with_hint(
                                    "the server's file is not the one announced; nothing was kept",
                                ),
                            );
                        }
                    }
                    let written = tokio::select! {
                        biased;
                        _ = cancel.cancelled() => return Outcome::Failed(Error::cancelled()),
                        w = part.write(chunk) => w,
                    };
                    if let Err(e) = written {
                        return Outcome::Failed(e);
                    }
                    st.pos += len;
                    st.stats.bytes_received += len;
                    reporter.set_done(st.pos);
                }
                Ok(None) => break,
                Err(e) => return Outcome::Failed(body_error(&what, st, e)),
            }
        }
        match st.total {
            Some(t) if st.pos < t => Outcome::Failed(Error::new(
                ErrorKind::Connection,
                format!("{what}: the answer ended at byte {} of {t}", st.pos),
            )),
            _ => Outcome::Done,
        }
    }
}

/// The fingerprint of the certificate an HTTPS server shows (trust on first use: show it to the
/// user to compare with the one the server printed, then pin it with [`TlsTrust::Pinned`]). The
/// handshake is abandoned as soon as the certificate arrived: no request is sent.
pub async fn server_fingerprint(url: &str, connect_timeout: Duration) -> Result<Fingerprint> {
    let u = DownloadUrl::parse(url)?;
    if u.url.scheme() != "https" {
        return Err(Error::invalid("only an https server has a certificate"));
    }
    let probe = Downloader::new(
        &ClientOptions {
            // No certificate has this fingerprint: the verifier reports what it was shown.
            tls: TlsTrust::Pinned(Fingerprint([0; 32])),
            connect_timeout,
            idle_timeout: connect_timeout,
        },
        TransferPolicy::default(),
    )?;
    let what = format!("reading the certificate of {}", redact_url(&u.url));
    match probe.client.head(u.url.clone()).send().await {
        Ok(_) => Err(Error::internal(format!(
            "{what}: the handshake did not fail"
        ))),
        Err(e) => match tls::find_mismatch(Some(&e)) {
            Some(m) => Ok(m.got),
            None => Err(transport_error(&what, e)),
        },
    }
}

/// The expected SHA-256 as bytes (an invalid one is the caller's mistake).
fn expected_sha(url: &DownloadUrl) -> Result<Option<[u8; 32]>> {
    let Some(hexed) = &url.sha256 else {
        return Ok(None);
    };
    let bytes = hex::decode(hexed.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| Error::invalid(format!("not a SHA-256 (64 hex digits): {hexed:?}")))?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes);
    Ok(Some(out))
}

/// The first 64 KiB of an error answer's body (to recognise an expiry).
async fn read_small(resp: &mut reqwest::Response) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < 64 * 1024 {
        match resp.chunk().await {
            Ok(Some(c)) => out.extend_from_slice(&c),
            _ => break,
        }
    }
    out
}

/// The text of a reqwest error and its sources, without the URL (its query may be a secret).
fn error_text(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// No answer: a changed pinned certificate and other TLS failures are permanent, the rest
/// (refused, reset, timed out) temporary.
fn transport_error(what: &str, e: reqwest::Error) -> Error {
    if let Some(m) = tls::find_mismatch(Some(&e)) {
        return m.to_error().context(what);
    }
    let tls = tls::is_tls_failure(Some(&e));
    let timeout = e.is_timeout();
    let text = error_text(e);
    if tls {
        return Error::new(ErrorKind::Connection, format!("{what}: TLS failed: {text}"))
            .retryable(false)
            .with_hint("the server's certificate was not accepted");
    }
    if timeout {
        return Error::new(ErrorKind::Connection, format!("{what}: timed out ({text})"));
    }
    Error::new(ErrorKind::Connection, format!("{what}: {text}"))
        .with_hint("check the network connection to the server")
}

/// A body cut midway (or idle too long): temporary, resumed.
fn body_error(what: &str, st: &State, e: reqwest::Error) -> Error {
    let of = st.total.map(|t| format!(" of {t}")).unwrap_or_default();
    Error::new(
        ErrorKind::Connection,
        format!("{what}: cut at byte {}{of}: {}", st.pos, error_text(e)),
    )
}

/// The retry budget of a download: failed tries in a row and time without a byte.
struct Budget {
    policy: RetryPolicy,
    backoff: Box<dyn Iterator<Item = Duration> + Send>,
    failures: u32,
    since: Instant,
}

impl Budget {
    fn new(policy: &RetryPolicy) -> Budget {
        Budget {
            policy: policy.clone(),
            backoff: Self::backoff(policy),
            failures: 0,
            since: Instant::now(),
        }
    }

    fn backoff(p: &RetryPolicy) -> Box<dyn Iterator<Item = Duration> + Send> {
        let mut b = ExponentialBuilder::new()
            .with_min_delay(p.min_delay)
            .with_max_delay(p.max_delay)
            .with_max_times(p.max_attempts.saturating_sub(1) as usize);
        if p.jitter {
            b = b.with_jitter();
        }
        Box::new(b.build())
    }

    /// Bytes arrived: the budget starts again.
    fn reset(&mut self) {
        self.backoff = Self::backoff(&self.policy);
        self.failures = 0;
        self.since = Instant::now();
    }

    /// After a failed try: `Err` to give up (the failure, or `cancelled`), `Ok` after the wait.
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
        let tries = self.failures + 1;
        let give_up = |e: Error| {
            let plural = if tries == 1 { "try" } else { "tries" };
            e.context(format!("gave up after {tries} failed {plural} in a row"))
        };
        let Some(computed) = self.backoff.next() else {
            return Err(give_up(e));
        };
        let wait = e.retry_after().unwrap_or(computed);
        if self.since.elapsed() + wait > self.policy.max_total {
            return Err(give_up(e));
        }
        self.failures += 1;
        let notice = RetryWait {
            wait_ms: wait.as_millis() as u64,
            attempt: self.failures + 1,
            max_attempts: self.policy.max_attempts,
            reason: e.message().to_string(),
        };
        tracing::info!(target: "offsite::transfer", "{what}: {notice}");
        reporter.waiting(notice);
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = cancel.cancelled() => Err(Error::cancelled()),
        }
    }
}

/// A `206` answer checked against what was asked and what is known (its range starts where the
/// part file ends, the size and the ETag have not changed): the end (exclusive) of the range it
/// announces, or the outcome that starts over.
fn partial_answer(
    headers: &reqwest::header::HeaderMap,
    st: &mut State,
    part: &PartFile,
) -> std::result::Result<u64, Outcome> {
    let Some(cr) = content_range(headers) else {
        return Err(Outcome::Restart(
            "a partial answer without a usable Content-Range".into(),
        ));
    };
    if cr.first != st.pos {
        return Err(Outcome::Restart(format!(
            "asked for the bytes from {}, got a range from {}",
            st.pos, cr.first
        )));
    }
    if let (Some(t), Some(known)) = (cr.total, st.total) {
        if t != known {
            return Err(Outcome::Restart(format!(
                "the size changed from {known} to {t} bytes"
            )));
        }
    }
    if let Some(Validator::ETag(pinned)) = &st.validator {
        let now = headers
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok());
        if now.is_some_and(|now| now.trim() != pinned) {
            return Err(Outcome::Restart("the ETag changed".into()));
        }
    }
    if st.validator.is_none() {
        st.validator = Validator::from_headers(headers);
        if let Some(v) = &st.validator {
            part.remember(v);
        }
    }
    if st.total.is_none() {
        st.total = cr.total;
    }
    if st.pos > 0 {
        st.spliced = true;
    }
    Ok(cr.last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_timeout_is_60_s_unless_a_sane_number_of_seconds_is_given() {
        let secs = |v: Option<&str>| idle_timeout_from(v).as_secs();
        assert_eq!(secs(None), 60);
        assert_eq!(secs(Some("5")), 5);
        assert_eq!(secs(Some(" 3600 ")), 3600);
        for bad in ["0", "3601", "-1", "1.5", "", "soon", "99999999999999999999"] {
            assert_eq!(secs(Some(bad)), 60, "{bad:?}");
        }
    }

    #[test]
    fn eta_from_speed() {
        let u = ProgressUpdate {
            job_id: "j".into(),
            phase: Phase::Downloading,
            bytes_done: 250,
            bytes_total: Some(1250),
            bytes_per_sec: 100.0,
            finished: false,
            retry: None,
            component: None,
        };
        assert_eq!(eta(&u), Some(Duration::from_secs(10)));
        assert_eq!(
            eta(&ProgressUpdate {
                bytes_total: None,
                ..u.clone()
            }),
            None
        );
        assert_eq!(
            eta(&ProgressUpdate {
                bytes_per_sec: 0.0,
                ..u
            }),
            None
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let u = DownloadUrl::parse("https://h.example/f.tar.gz?sig=s3cr3t")
            .unwrap()
            .bearer("tok3n")
            .unwrap();
        let shown = format!("{u:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("tok3n"),
            "{shown}"
        );
        assert!(u.headers["authorization"].is_sensitive());
        assert_eq!(
            DownloadUrl::parse("ftp://h/x").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn expected_sha_must_be_sha256() {
        let u = DownloadUrl::parse("http://h/x").unwrap().with_sha256("abc");
        assert_eq!(
            expected_sha(&u).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let u = DownloadUrl::parse("http://h/x")
            .unwrap()
            .with_sha256("00".repeat(32));
        assert_eq!(expected_sha(&u).unwrap(), Some([0u8; 32]));
    }
}
