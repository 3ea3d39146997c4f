//! A client for an Offsite agent (`offsite serve`): trigger a backup on the server, follow its
//! progress, list its backups and hand out the signed download URL of one as a
//! [`UrlSource`] (asked again for a fresh URL when one expired mid-way).
//!
//! Every request goes through the [`Downloader`]'s HTTP client, so the agent's pinned
//! certificate ([`TlsTrust::Pinned`]) applies to the API calls as to the download. The bearer
//! token is sent in a header marked sensitive and never appears in an error: messages name the
//! server by its address without query. Answers map to the engine's error kinds: `401` → `auth`,
//! `403` → `permission`, `404` → `not_found`, `409` → `busy` (naming the running backup),
//! `400`/`413`/`422` → `invalid_input`, `429` → `rate_limited`, `5xx` → `connection`. A `3xx`
//! is refused (`connection`, never retried): the client follows no redirect, so a hostile server
//! cannot send it, with its token, to another address.
//!
//! The reading calls (the list, a backup's status, a download link) are tried again after a
//! temporary failure — no answer, a `5xx`, a `429` (after its `Retry-After`) — as
//! [`AgentClient::api_retry`] says (by default 5 tries within a minute), so one `503` from a
//! proxy in front of the agent does not end a `pull`. Starting a backup (`POST`) is tried once:
//! repeating it could start a second backup.

use crate::error::{Error, ErrorKind, Result};
use crate::progress::{Phase, Reporter};
use crate::retry::RetryPolicy;
use crate::transfer::{
    redact_url, redirect_refused, tls, ClientOptions, DownloadUrl, Downloader, Fingerprint,
    TlsTrust, TransferPolicy, UrlSource,
};
use async_trait::async_trait;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde::Deserialize;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use super::agent_wire::BackupList;
pub use super::agent_wire::{AgentBackup, AgentBackupError, Created, DownloadLink};

/// The agent's error body.
#[derive(Debug, Default, Deserialize)]
struct ApiError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    hint: Option<String>,
    #[serde(default)]
    backup_id: Option<String>,
}

/// One project on one agent, with its token.
pub struct AgentClient {
    base: url::Url,
    project: String,
    token: String,
    downloader: Downloader,
    /// How often [`AgentClient::wait`] asks for the status.
    pub poll_interval: Duration,
    /// How the reading calls (`GET`) are tried again after a temporary failure (see the
    /// module's rules); `max_attempts: 1` tries once.
    pub api_retry: RetryPolicy,
}

impl std::fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentClient")
            .field("base", &redact_url(&self.base))
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

/// Parse an agent's address (`https://HOST:PORT`, or `http://` for an agent run with
/// `--insecure-http` behind something else that encrypts).
pub fn parse_server_url(url: &str) -> Result<url::Url> {
    let mut u = url::Url::parse(url.trim()).map_err(|_| {
        Error::invalid(format!("{url:?} is not a server address"))
            .with_hint("give it as https://HOST:PORT (what `offsite serve` prints)")
    })?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(
            Error::invalid(format!("{url:?} is not an http(s) server address"))
                .with_hint("give it as https://HOST:PORT (what `offsite serve` prints)"),
        );
    }
    if !u.username().is_empty() || u.password().is_some() || u.query().is_some() {
        return Err(
            Error::invalid("the server address must not hold a user, password or query")
                .with_hint("the token is given with --token-stdin or OFFSITE_SERVER_TOKEN"),
        );
    }
    u.set_fragment(None);
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    Ok(u)
}

/// `localhost` (and its subdomains), 127.0.0.0/8 or `::1`: traffic that never leaves this machine.
pub fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => {
            a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

/// Refuses a plain `http://` server on another machine unless `insecure_http` (the user's
/// explicit choice: `--insecure-http`, the server setting of the same name): the bearer token and
/// the backups would cross the network unencrypted. Loopback is always allowed.
pub fn check_plain_http(u: &url::Url, insecure_http: bool) -> Result<()> {
    if u.scheme() != "http" || insecure_http || is_loopback(u) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::NeedsConsent,
        format!(
            "{} is plain HTTP on another machine: the server token and the backups would cross the network unencrypted",
            redact_url(u)
        ),
    )
    .with_hint(
        "use the https:// address `offsite serve` prints; only if something else encrypts the way (a VPN, an SSH tunnel), add --insecure-http",
    ))
}

/// A project id as the agent accepts it (its config's names): no `/`, `..` or control chars.
fn check_segment(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("{s:?} is not a valid {what}")))
    }
}

impl AgentClient {
    /// A client for `project` on the agent at `url`, trusting exactly the certificate
    /// `fingerprint` (required for `https`; `None` only for `http`). Plain `http` to another
    /// machine only with `insecure_http` ([`check_plain_http`]).
    pub fn new(
        url: &str,
        project: &str,
        token: &str,
        fingerprint: Option<Fingerprint>,
        insecure_http: bool,
    ) -> Result<Self> {
        let base = parse_server_url(url)?;
        check_plain_http(&base, insecure_http)?;
        check_segment("server project id", project)?;
        let tls = match (base.scheme(), fingerprint) {
            ("https", Some(fp)) => TlsTrust::Pinned(fp),
            ("https", None) => {
                return Err(
                    Error::invalid("the server's certificate fingerprint is not known")
                        .with_hint("add the server again to compare and trust its fingerprint"),
                )
            }
            _ => TlsTrust::Platform,
        };
        if token.trim().is_empty() {
            return Err(Error::new(ErrorKind::Secrets, "no token for the backup server")
                .with_hint("create one on the server (`offsite serve token create`) and give it with --token-stdin or OFFSITE_SERVER_TOKEN"));
        }
        let opts = ClientOptions {
            tls,
            ..Default::default()
        };
        Ok(AgentClient {
            base,
            project: project.to_string(),
            token: token.trim().to_string(),
            downloader: Downloader::new(&opts, TransferPolicy::default())?,
            poll_interval: Duration::from_secs(1),
            api_retry: RetryPolicy {
                max_attempts: 5,
                min_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(10),
                max_total: Duration::from_secs(60),
                jitter: true,
            },
        })
    }

    /// The downloader (its client trusts the pinned certificate).
    pub fn downloader(&self) -> &Downloader {
        &self.downloader
    }

    /// The server's address, for messages.
    pub fn server(&self) -> String {
        redact_url(&self.base)
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    fn url(&self, tail: &str) -> Result<url::Url> {
        self.base
            .join(&format!("platform/projects/{}/{tail}", self.project))
            .map_err(|e| Error::internal(format!("building the server URL: {e}")))
    }

    /// One API call; a `GET` is tried again after temporary failures ([`Self::api_retry`]).
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        tail: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        let url = self.url(tail)?;
        if method != reqwest::Method::GET || self.api_retry.max_attempts <= 1 {
            return self.call_once(method, url, body).await;
        }
        // (The failure names the server and the path; this only adds the tries.)
        let what = "calling the backup server";
        self.api_retry
            .run(what, &Reporter::silent(), &CancellationToken::new(), || {
                self.call_once(method.clone(), url.clone(), body.clone())
            })
            .await
    }

    async fn call_once<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        let what = format!("the backup server {}", redact_url(&url));
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.token))
            .map_err(|_| Error::invalid("the server token holds characters a header cannot"))?;
        auth.set_sensitive(true);
        let mut req = self
            .downloader
            .client()
            .request(method, url)
            .header(AUTHORIZATION, auth)
            .timeout(Duration::from_secs(60));
        if let Some(b) = body {
            // (core's reqwest has no `json` feature)
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.map_err(|e| transport_error(&what, e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = answer_body(resp, &what).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    ErrorKind::Connection,
                    format!("{what}: an answer Offsite cannot read: {e}"),
                )
                .retryable(false)
                .with_hint("is this address an Offsite agent (`offsite serve`)?")
            });
        }
        let api: ApiError = serde_json::from_slice(&bytes).unwrap_or_default();
        Err(api_error(&what, status.as_u16(), api, retry_after))
    }

    /// Start a backup of `backup_type` (`FULL`, `DATABASE`, `STORAGE`, `CONFIG`); `busy` when
    /// one is running (the error names it).
    /// With `recipients`, the server encrypts the archive to those public keys; with
    /// `selection`, the database part holds only what it names.
    pub async fn start_backup(
        &self,
        backup_type: &str,
        recipients: &[String],
        selection: Option<&crate::selection::BackupSelection>,
    ) -> Result<Created> {
        let mut body = serde_json::json!({ "type": backup_type.to_ascii_uppercase() });
        if !recipients.is_empty() {
            body["encryption"] = serde_json::json!({ "recipients": recipients });
        }
        if let Some(s) = selection {
            body["selection"] = serde_json::to_value(s)
                .map_err(|e| Error::internal(format!("encoding the selection: {e}")))?;
        }
        self.call(reqwest::Method::POST, "backups", Some(body))
            .await
    }

    /// One backup's status.
    pub async fn backup(&self, backup_id: &str) -> Result<AgentBackup> {
        check_segment("backup id", backup_id)?;
        self.call(reqwest::Method::GET, &format!("backups/{backup_id}"), None)
            .await
    }

    /// The project's backups on the server, newest first.
    pub async fn backups(&self) -> Result<Vec<AgentBackup>> {
        let l: BackupList = self.call(reqwest::Method::GET, "backups", None).await?;
        Ok(l.backups)
    }

    /// A fresh signed link to a completed backup's archive.
    pub async fn download_link(&self, backup_id: &str) -> Result<DownloadLink> {
        check_segment("backup id", backup_id)?;
        self.call(
            reqwest::Method::GET,
            &format!("backups/{backup_id}/download"),
            None,
        )
        .await
    }

    /// Cancel a backup being made on the server (`POST …/backups/{id}/cancel`): the server
    /// stops it, removes what it wrote and registers nothing. Returns its status (`FAILED` with
    /// error `cancelled` once stopped; `CREATING` while still stopping). `not_found` for an
    /// unknown backup; `conflict` (code `not_running`) for one that has ended.
    pub async fn cancel_backup(&self, backup_id: &str) -> Result<AgentBackup> {
        check_segment("backup id", backup_id)?;
        self.call(
            reqwest::Method::POST,
            &format!("backups/{backup_id}/cancel"),
            None,
        )
        .await
    }

    /// Follow a backup until it is completed (returned) or failed (its error). Progress: the
    /// server's step in bytes ([`Phase::ServerStep`]) when the server reports them, else its
    /// percentage ([`Phase::OnServer`], done/total of 100). A cancel cancels the backup on the
    /// server too ([`Self::cancel_backup`]) and ends with `cancelled` once the server confirms
    /// it; when the server cannot be told, or had already finished, the error says so (the
    /// backup is on the server then; `pull` fetches it).
    pub async fn wait(
        &self,
        backup_id: &str,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<AgentBackup> {
        reporter.phase(Phase::OnServer, Some(100));
        let mut temporary_failures = 0u32;
        // The server's step being reported in bytes: (its phase, its total).
        let mut step: Option<(String, Option<u64>)> = None;
        loop {
            match self.backup(backup_id).await {
                Ok(b) if b.is_completed() => {
                    reporter.set_done(100);
                    reporter.report_now();
                    return Ok(b);
                }
                Ok(b) if b.is_failed() => return Err(self.failed(backup_id, b)),
                Ok(b) => {
                    temporary_failures = 0;
                    report_step(reporter, &mut step, &b);
                }
                // (Each status call has been tried again already: a few more polls suffice.)
                Err(e) if e.is_temporary() && temporary_failures < 3 => {
                    temporary_failures += 1;
                }
                Err(e) => return Err(e),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll_interval) => {}
                _ = cancel.cancelled() => return Err(self.cancel_on_server(backup_id).await),
            }
        }
    }

    /// The error a cancelled [`Self::wait`] ends with, after asking the server to cancel.
    async fn cancel_on_server(&self, backup_id: &str) -> Error {
        let server = self.server();
        let stopped = |how: &str| {
            Error::new(
                ErrorKind::Cancelled,
                format!("cancelled on the server {server}: the backup {backup_id} {how}; nothing was kept there or here"),
            )
            .with_hint("run it again when ready")
        };
        let b = match self.cancel_backup(backup_id).await {
            Ok(b) if b.status == "CREATING" => return stopped("is stopping"),
            Ok(b) => b,
            // It had ended: how?
            Err(e) if e.kind() == ErrorKind::Conflict => match self.backup(backup_id).await {
                Ok(b) => b,
                Err(_) => return cancel_not_confirmed(backup_id, &server, e.message()),
            },
            Err(e) => return cancel_not_confirmed(backup_id, &server, e.message()),
        };
        match b.error.as_ref().map(|e| e.code.as_str()) {
            _ if b.is_completed() => finished_first(backup_id, &server),
            Some("cancelled") if b.is_failed() => stopped("was stopped"),
            _ if b.is_failed() => self.failed(backup_id, b),
            _ => cancel_not_confirmed(backup_id, &server, &format!("it answered {:?}", b.status)),
        }
    }

    /// The error of a backup that failed on the server.
    fn failed(&self, backup_id: &str, b: AgentBackup) -> Error {
        let (code, msg) = b
            .error
            .map(|e| (e.code, e.message))
            .unwrap_or_else(|| ("failed".into(), "no reason given".into()));
        Error::new(
            ErrorKind::ToolFailed,
            format!(
                "the backup {backup_id} failed on the server {} ({code}): {msg}",
                self.server()
            ),
        )
        .retryable(false)
        .with_hint("see the agent's log on the server; nothing was downloaded")
    }

    /// The archive of `backup` as a [`UrlSource`] (a fresh signed URL when asked to refresh).
    pub fn archive(&self, backup_id: &str) -> AgentArchive<'_> {
        AgentArchive {
            client: self,
            backup_id: backup_id.to_string(),
            file: Served::Archive,
        }
    }

    /// The project's point-in-time capture on the server (`GET …/pitr`): status, chains and
    /// their segments.
    pub async fn pitr(&self) -> Result<super::agent_wire::PitrCapture> {
        self.call(reqwest::Method::GET, "pitr", None).await
    }

    /// A fresh signed link to a change segment of a chain.
    pub async fn segment_link(&self, chain_id: &str, file: &str) -> Result<DownloadLink> {
        check_segment("chain id", chain_id)?;
        check_segment("segment name", file)?;
        self.call(
            reqwest::Method::GET,
            &format!("pitr/chains/{chain_id}/segments/{file}/download"),
            None,
        )
        .await
    }

    /// A change segment as a [`UrlSource`] (a fresh signed URL each time).
    pub fn segment(&self, chain_id: &str, file: &str) -> AgentArchive<'_> {
        AgentArchive {
            client: self,
            backup_id: chain_id.to_string(),
            file: Served::Segment(file.to_string()),
        }
    }

    /// A download URL the server gave, resolved against it: one of another server is refused
    /// (the pinned certificate belongs to the agent: its URLs stay on it).
    fn checked_url(&self, download_url: &str) -> Result<url::Url> {
        let u = self
            .base
            .join(download_url)
            .map_err(|_| Error::invalid("the server gave a download URL that is not valid"))?;
        if u.scheme() != self.base.scheme() || u.host() != self.base.host() {
            return Err(Error::new(
                ErrorKind::Permission,
                format!(
                    "the server {} sent a download URL of another server ({})",
                    self.server(),
                    redact_url(&u)
                ),
            )
            .retryable(false));
        }
        Ok(u)
    }

    /// The Storage objects' versions the server's capture kept (`GET …/pitr/objects`).
    pub async fn pitr_objects(&self) -> Result<super::agent_wire::PitrObjects> {
        self.call(reqwest::Method::GET, "pitr/objects", None).await
    }

    /// A fresh signed link to a kept object's file (`<sha256>` or `<sha256>.age`).
    pub async fn object_link(&self, file: &str) -> Result<DownloadLink> {
        check_segment("kept object's file", file)?;
        self.call(
            reqwest::Method::GET,
            &format!("pitr/objects/{file}/download"),
            None,
        )
        .await
    }

    /// A kept object's file as a [`UrlSource`] (a fresh signed URL each time), promised to be
    /// `size` bytes and, when `sha256` is given (an unsealed file: the bytes' own SHA-256), to
    /// hash to it: the listing's word, which a link must repeat, so that the download path
    /// refuses other bytes before they are put in place.
    pub fn object(&self, file: &str, size: u64, sha256: Option<&str>) -> AgentArchive<'_> {
        AgentArchive {
            client: self,
            backup_id: String::new(),
            file: Served::Object {
                file: file.to_string(),
                size,
                sha256: sha256.map(str::to_ascii_lowercase),
            },
        }
    }
}

/// What an [`AgentArchive`] downloads.
enum Served {
    /// The backup's archive.
    Archive,
    /// A change segment of the chain (its file name).
    Segment(String),
    /// A kept object's file: its name and what the listing promised of it.
    Object {
        file: String,
        size: u64,
        sha256: Option<String>,
    },
}

/// One backup's archive on an agent (see [`AgentClient::archive`]).
pub struct AgentArchive<'a> {
    client: &'a AgentClient,
    /// The backup's id, or a segment's chain id.
    backup_id: String,
    file: Served,
}

#[async_trait]
impl UrlSource for AgentArchive<'_> {
    async fn url(&self, _refresh: bool) -> Result<DownloadUrl> {
        // Every call asks the agent: a first URL is as fresh as a refreshed one.
        let link = match &self.file {
            Served::Segment(file) => self.client.segment_link(&self.backup_id, file).await?,
            Served::Object { file, size, sha256 } => {
                let link = self.client.object_link(file).await?;
                let same_sha = sha256
                    .as_deref()
                    .is_none_or(|s| s.eq_ignore_ascii_case(&link.sha256));
                if link.size != *size || !same_sha {
                    return Err(Error::integrity(format!(
                        "the server {} gave a link to the kept file {file} that is not the one it listed (size or SHA-256)",
                        self.client.server()
                    )));
                }
                let u = self.client.checked_url(&link.download_url)?;
                // A sealed file's link names the bytes inside, not the ciphertext: its size
                // is the promise, its MAC and the plaintext's SHA-256 are checked when read.
                let d = DownloadUrl::new(u).with_size(*size);
                return Ok(match sha256 {
                    Some(s) => d.with_sha256(s.clone()),
                    None => d,
                });
            }
            Served::Archive => self.client.download_link(&self.backup_id).await?,
        };
        let u = self.client.checked_url(&link.download_url)?;
        Ok(DownloadUrl::new(u)
            .with_size(link.size)
            .with_sha256(link.sha256.to_ascii_lowercase()))
    }
}

/// Report a status of a backup being made: the server's step in bytes when it gives them (a new
/// step starts a new phase), else its percentage.
fn report_step(reporter: &Reporter, step: &mut Option<(String, Option<u64>)>, b: &AgentBackup) {
    match (&b.phase, b.bytes_done) {
        (Some(phase), Some(done)) => {
            let now = (phase.clone(), b.bytes_total);
            if step.as_ref() != Some(&now) {
                reporter.phase(Phase::ServerStep, b.bytes_total);
                *step = Some(now);
            }
            reporter.set_done(done);
        }
        _ => {
            if step.take().is_some() {
                reporter.phase(Phase::OnServer, Some(100));
            }
            reporter.set_done(u64::from(b.progress.min(99)));
        }
    }
}

/// The server completed the backup before the cancel reached it: it is there, whole.
fn finished_first(backup_id: &str, server: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("the server {server} had completed the backup {backup_id} before the cancel reached it"),
    )
    .retryable(false)
    .with_hint("the backup is on the server: \"Pull new\" (`offsite pull`) downloads it, or delete it there")
}

/// The error a backup cancelled after the server had made it ends with (cancelled while its
/// archive was being fetched, downloaded or verified): the server keeps it, nothing is kept here.
pub fn download_cancelled(backup_id: &str, server: &str) -> Error {
    Error::new(
        ErrorKind::Cancelled,
        format!("download cancelled: the backup {backup_id} stays on the server {server}; nothing was kept here"),
    )
    .with_hint("\"Pull new\" (`offsite pull`) downloads it, or delete it there")
}

/// The server could not be told to cancel (or did not confirm): the backup may go on there.
fn cancel_not_confirmed(backup_id: &str, server: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Connection,
        format!("cancelled here, but the server {server} did not confirm cancelling the backup {backup_id}: {why}"),
    )
    .retryable(false)
    .with_hint("the backup may go on on the server: \"Pull new\" (`offsite pull`) downloads it when done")
}

/// An error answer as the engine's error (never with the token: the agent does not echo it).
fn api_error(what: &str, status: u16, api: ApiError, retry_after: Option<Duration>) -> Error {
    let text = if api.message.is_empty() {
        format!("{what}: HTTP {status}")
    } else {
        format!("{what}: {}", api.message)
    };
    let e = match status {
        401 => Error::new(ErrorKind::Auth, text).with_hint(
            "the server did not accept the token (wrong, revoked or expired): create one with \
             `offsite serve token create` on the server and give it again (--token-stdin)",
        ),
        403 => Error::new(ErrorKind::Permission, text).with_hint(
            "the token is not allowed this (another project, or read-only): use a token made \
             for this project",
        ),
        404 => Error::new(ErrorKind::NotFound, text),
        409 if api.code == "backup_running" => {
            let running = api.backup_id.clone().unwrap_or_else(|| "?".into());
            Error::new(
                ErrorKind::Busy,
                format!("{text} (backup {running} is running)"),
            )
            .with_hint(format!(
                "wait for backup {running} to finish, then `offsite pull` fetches it"
            ))
        }
        409 => Error::new(ErrorKind::Conflict, text),
        300..=399 => return redirect_refused(what, status),
        400 | 413 | 422 => Error::new(ErrorKind::InvalidInput, text),
        429 => Error::rate_limited(text, retry_after),
        500..=599 => Error::new(ErrorKind::Connection, text).with_retry_after(retry_after),
        _ => Error::new(ErrorKind::Connection, text).retryable(false),
    };
    match (api.hint, e.hint().is_none()) {
        (Some(h), true) => e.with_hint(h),
        _ => e,
    }
}

/// An API answer is read up to this size (the largest, the kept objects' listing, names
/// versions, not bytes); a larger one is refused before it fills memory.
const MAX_ANSWER: usize = 256 << 20;

/// The body of an API answer, at most [`MAX_ANSWER`] bytes.
async fn answer_body(mut resp: reqwest::Response, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(what, e))? {
        if out.len() + chunk.len() > MAX_ANSWER {
            return Err(Error::new(
                ErrorKind::Connection,
                format!(
                    "{what}: an answer larger than {}; it was not read",
                    crate::units::format_bytes(MAX_ANSWER as u64)
                ),
            )
            .retryable(false));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// No answer: a changed pinned certificate names both fingerprints (permanent); other TLS
/// failures are permanent; the rest temporary.
fn transport_error(what: &str, e: reqwest::Error) -> Error {
    if let Some(m) = tls::find_mismatch(Some(&e)) {
        return m.to_error().context(what);
    }
    let tls_failed = tls::is_tls_failure(Some(&e));
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
    if tls_failed {
        return Error::new(ErrorKind::Connection, format!("{what}: TLS failed: {text}"))
            .retryable(false);
    }
    Error::new(ErrorKind::Connection, format!("{what}: {text}"))
        .with_hint("check that the server is running and reachable from here")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked() {
        let u = parse_server_url("https://backup.example.com:8443").unwrap();
        assert_eq!(u.as_str(), "https://backup.example.com:8443/");
        assert!(parse_server_url("ftp://x").is_err());
        assert!(parse_server_url("https://user:pw@x").is_err());
        assert!(parse_server_url("https://x/?token=1").is_err());
        assert!(check_segment("p", "../etc").is_err());
        assert!(check_segment("p", "shop-1").is_ok());
    }

    #[test]
    fn answers_map_to_error_kinds() {
        let e = api_error(
            "s",
            409,
            ApiError {
                code: "backup_running".into(),
                message: "a backup of shop is being made".into(),
                backup_id: Some("abc".into()),
                ..Default::default()
            },
            None,
        );
        assert_eq!(e.kind(), ErrorKind::Busy);
        assert!(e.message().contains("abc"), "{}", e.message());
        let e = api_error("s", 401, ApiError::default(), None);
        assert_eq!(e.kind(), ErrorKind::Auth);
        let e = api_error("s", 403, ApiError::default(), None);
        assert_eq!(e.kind(), ErrorKind::Permission);
        let e = api_error("s", 503, ApiError::default(), None);
        assert!(e.is_temporary());
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let c =
            AgentClient::new("http://127.0.0.1:9/", "shop", "tok-secret-123", None, false).unwrap();
        assert!(!format!("{c:?}").contains("tok-secret-123"));
    }

    #[test]
    fn plain_http_to_another_machine_needs_consent_loopback_does_not() {
        // Nothing is sent: the client refuses while it is being made.
        for url in [
            "http://192.0.2.10:8443",
            "http://10.1.2.3/",
            "http://backup.example.com:8443",
            "http://[2001:db8::1]:8443",
            "http://localhost.example.com/",
        ] {
            let e = AgentClient::new(url, "shop", "tok-secret-123", None, false).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NeedsConsent, "{url}");
            assert!(e.message().contains("plain HTTP"), "{e}");
            assert!(e.hint().unwrap().contains("--insecure-http"), "{e:?}");
            assert!(!format!("{e:?}").contains("tok-secret-123"));
            // The explicit choice allows it.
            AgentClient::new(url, "shop", "tok-secret-123", None, true).unwrap();
        }
        for url in [
            "http://127.0.0.1:9/",
            "http://127.8.9.10:9/",
            "http://[::1]:9/",
            "http://[::ffff:127.0.0.1]:9/",
            "http://localhost:9/",
            "http://LOCALHOST.:9/",
            "http://agent.localhost:9/",
        ] {
            AgentClient::new(url, "shop", "tok-secret-123", None, false)
                .unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        // https is never refused for being plain.
        let fp: Fingerprint = format!("SHA256:{}", "ab".repeat(32)).parse().unwrap();
        AgentClient::new("https://192.0.2.10:8443", "shop", "t", Some(fp), false).unwrap();
    }

    /// A server that answers every request with `body` (JSON), over plain HTTP on loopback.
    async fn answering(body: String) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut req = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                        }
                    }
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(answer.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    /// A hostile server's link to a kept object's file that is not what its listing said (size
    /// or SHA-256) is refused before anything is downloaded; a sealed file is held to its size.
    #[tokio::test]
    async fn a_kept_files_link_must_repeat_what_the_listing_promised() {
        let sha = "a".repeat(64);
        let base = answering(format!(
            r#"{{"download_url":"/pitr-objects/shop/{sha}?expires=1&token=t&signature=s","expires_at":"2030-01-01T00:00:00Z","size":5,"sha256":"{sha}"}}"#
        ))
        .await;
        let client = AgentClient::new(&base, "shop", "tok", None, false).unwrap();
        let as_listed = client.object(&sha, 5, Some(&sha)).url(false).await.unwrap();
        assert!(
            as_listed.url.as_str().starts_with(&base),
            "{}",
            as_listed.url
        );
        for (size, promised) in [(6, Some(sha.clone())), (5, Some("b".repeat(64)))] {
            let e = client
                .object(&sha, size, promised.as_deref())
                .url(false)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        }
        let sealed = format!("{sha}.age");
        client.object(&sealed, 5, None).url(false).await.unwrap();
        let e = client
            .object(&sealed, 7, None)
            .url(false)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    }
}
