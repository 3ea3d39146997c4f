//! The Supabase Management API (`https://api.supabase.com`) over HTTPS: [`ManagementApi`].
//!
//! It answers JSON documents by path ([`ApiSource::get_json`]), raw bytes (a function's source
//! bundle, [`ApiClient::get_bytes`]) and takes settings back ([`ApiClient::patch_json`]). The
//! paths and shapes come from the API's OpenAPI document (`packages/api/src/generated/openapi.json`
//! in github.com/supabase/cli, commit 1d1e7191, from which the CLI's Go client
//! `apps/cli-go/pkg/api/client.gen.go` is generated); [`crate::config`] lists the endpoints used.
//!
//! * Authentication: `Authorization: Bearer <personal access token>`. The token never appears in
//!   an error, a log line or `Debug` output (the header is marked sensitive; error text is
//!   scrubbed of it in case a server echoes it).
//! * Errors (the [`ApiSource`] rules): 401 → `auth`, 403 → `permission`, 404 → `not_found`, 429 →
//!   `rate_limited` with the server's `Retry-After`, 5xx and transport failures (refused, reset,
//!   timeout) → `connection`, temporary. A TLS certificate problem is `connection` but permanent
//!   (waiting does not fix a certificate). Other 4xx → `invalid_input`, permanent.
//! * Limits: the API allows 60 requests per minute per user; [`ManagementApi::guarded`] wraps the
//!   client in [`RateLimited::per_minute`] (every request, retries included, takes a token) and
//!   [`Retrying`] (temporary failures, honouring `Retry-After`).
//! * TLS: rustls with the ring provider, server certificates checked by the platform verifier.
//!   Plain `http://` is refused except for loopback addresses (tests), so a token never travels
//!   in clear text.

use crate::clock::{self, SharedClock};
use crate::error::{Error, ErrorKind, Result};
use crate::retry::{parse_retry_after, RateLimited, RetryPolicy, Retrying};
use crate::sources::ApiSource;
use async_trait::async_trait;
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Where the Management API lives.
pub const DEFAULT_BASE_URL: &str = "https://api.supabase.com";

/// How many requests per minute the Management API allows one user.
pub const REQUESTS_PER_MINUTE: u32 = 60;

/// Bytes an API path answered (a function's source bundle), as sent: `content_encoding` says
/// whether they are still compressed (`br`: the API may send a brotli-compressed eszip).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiBytes {
    pub bytes: Bytes,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
}

impl fmt::Debug for ApiBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiBytes")
            .field("len", &self.bytes.len())
            .field("content_type", &self.content_type)
            .field("content_encoding", &self.content_encoding)
            .finish()
    }
}

/// An [`ApiSource`] that also answers raw bytes and takes settings back (the Management API).
/// Object-safe like [`ApiSource`]; [`Retrying`] and [`RateLimited`] wear it too.
#[async_trait]
pub trait ApiClient: ApiSource {
    /// `GET path` as raw bytes (same error rules as [`ApiSource::get_json`]).
    async fn get_bytes(&self, path: &str) -> Result<ApiBytes>;

    /// `PATCH path` with a JSON body; the answer's JSON (`Null` when the API answers no body,
    /// e.g. 204). A PATCH sets values, so repeating it after a lost answer is harmless.
    async fn patch_json(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value>;

    /// `PUT path` with a JSON body (replaces the document); the answer's JSON (`Null` for no
    /// body). Repeating it after a lost answer puts the same document again.
    async fn put_json(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value>;

    /// `POST` or `PATCH path` with raw bytes of `content_type` (an Edge Function's bundle); the
    /// answer's JSON (`Null` for no body). Repeating it after a lost answer deploys the same
    /// bundle again (a PATCH) or is refused as a duplicate (a POST; the caller then updates).
    async fn send_bytes(
        &self,
        method: BodyMethod,
        path: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<serde_json::Value>;
}

/// The methods [`ApiClient::send_bytes`] sends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMethod {
    Post,
    Patch,
}

/// A request's body.
enum Body<'a> {
    None,
    Json(&'a serde_json::Value),
    Raw(&'a str, Bytes),
}

/// How to reach the API.
#[derive(Debug, Clone)]
pub struct ManagementApiOptions {
    /// `https://api.supabase.com` unless told otherwise (tests: `http://127.0.0.1:<port>`).
    pub base_url: String,
    /// Connecting (TCP + TLS) may take this long.
    pub connect_timeout: Duration,
    /// A whole request (answer included) may take this long.
    pub timeout: Duration,
    /// Reading `Retry-After` dates ("now").
    pub clock: SharedClock,
}

impl Default for ManagementApiOptions {
    /// The public API; 10 s to connect, 120 s per request (function bundles can be large).
    fn default() -> Self {
        ManagementApiOptions {
            base_url: DEFAULT_BASE_URL.to_string(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            clock: clock::system(),
        }
    }
}

/// The bearer token; never printed.
#[derive(Clone)]
struct Token(Arc<str>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// The Supabase Management API client (see the module's rules).
#[derive(Debug, Clone)]
pub struct ManagementApi {
    client: reqwest::Client,
    /// Without a trailing `/`.
    base_url: String,
    token: Token,
    clock: SharedClock,
}

/// [`ManagementApi::guarded`]: retries outside, the rate limit inside (a retry waits for a token
/// like any request).
pub type GuardedManagementApi = Retrying<RateLimited<ManagementApi>>;

impl ManagementApi {
    /// The public API with `token` (a personal access token, `sbp_…`).
    pub fn new(token: impl Into<String>) -> Result<Self> {
        Self::with_options(token, ManagementApiOptions::default())
    }

    /// The API at `opts.base_url` with `token`.
    pub fn with_options(token: impl Into<String>, opts: ManagementApiOptions) -> Result<Self> {
        let token: String = token.into();
        if token.trim().is_empty() {
            return Err(
                Error::new(ErrorKind::Auth, "no Supabase access token was given")
                    .with_hint(TOKEN_HINT),
            );
        }
        if token.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::invalid(
                "the Supabase access token holds spaces or control characters",
            )
            .with_hint("paste the token again without surrounding text"));
        }
        let base_url = check_base_url(&opts.base_url)?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.timeout)
            .user_agent(crate::tool_version())
            // A redirect is refused, never followed (`request`): the token goes to the API's
            // own address only.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(ManagementApi {
            client,
            base_url,
            token: Token(token.into()),
            clock: opts.clock,
        })
    }

    /// The base URL requests go to (no trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Wrapped for real use: at most [`REQUESTS_PER_MINUTE`] requests a minute (evenly spaced),
    /// temporary failures retried by `policy` (429 waits for `Retry-After`). Give the job's
    /// reporter and cancel token with [`Retrying::reporting_to`] / [`Retrying::cancelled_by`].
    pub fn guarded(self, policy: RetryPolicy) -> GuardedManagementApi {
        Retrying::new(RateLimited::per_minute(self, REQUESTS_PER_MINUTE), policy)
    }

    fn url(&self, path: &str) -> Result<String> {
        if !path.starts_with('/') {
            return Err(Error::invalid(format!(
                "API paths start with '/': {path:?}"
            )));
        }
        if path.contains("..") || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(format!("not a valid API path: {path:?}")));
        }
        Ok(format!("{}{path}", self.base_url))
    }

    /// Send a request; a non-success status becomes the matching error.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        accept_json: bool,
        body: Body<'_>,
    ) -> Result<reqwest::Response> {
        let url = self.url(path)?;
        let what = format!("{method} {path}");
        let mut auth = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.token.0))
            .map_err(|_| Error::invalid("the Supabase access token is not a valid header value"))?;
        auth.set_sensitive(true);
        let mut req = self
            .client
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, auth);
        if accept_json {
            req = req.header(reqwest::header::ACCEPT, "application/json");
        }
        match body {
            Body::None => {}
            Body::Json(body) => {
                let bytes = serde_json::to_vec(body)
                    .map_err(|e| Error::internal(format!("{what}: cannot encode the body: {e}")))?;
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(bytes);
            }
            Body::Raw(content_type, bytes) => {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(bytes);
            }
        }
        let resp = req.send().await.map_err(|e| self.transport(&what, &e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        if status.is_redirection() {
            return Err(Error::new(
                ErrorKind::Connection,
                format!(
                    "{what}: the Supabase Management API answered HTTP {}, a redirect to another \
                     address, which Offsite does not follow (the access token goes to the API's \
                     own address only)",
                    status.as_u16()
                ),
            )
            .retryable(false)
            .with_hint(
                "check the API address (https://api.supabase.com unless you set another); a \
                 proxy or server that redirects the API elsewhere is refused",
            ));
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, &*self.clock));
        // The API's own explanation ({"message": "..."}), short, for the error text.
        let detail = read_capped(resp, MAX_ERROR_BODY)
            .await
            .ok()
            .and_then(|b| api_message(&b))
            .map(|m| self.scrub(&m));
        Err(status_error(&what, status.as_u16(), detail, retry_after))
    }

    /// `method path` with a JSON body; the answer's JSON (`Null` for no body).
    async fn json_body(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        let what = format!("{method} {path}");
        let resp = self.send(method, path, true, Body::Json(body)).await?;
        let bytes = self.body(resp, &what).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        decode_json(&what, &bytes)
    }

    /// An answer's body, at most [`MAX_ANSWER_BYTES`].
    async fn body(&self, resp: reqwest::Response, what: &str) -> Result<bytes::Bytes> {
        match read_capped(resp, MAX_ANSWER_BYTES).await {
            Ok(b) => Ok(b),
            Err(ReadError::TooLarge) => Err(too_large(what)),
            Err(ReadError::Transport(e)) => Err(self.transport(what, &e)),
        }
    }

    /// A transport failure (no answer) as an error: `connection`, temporary unless it is a
    /// certificate problem. The token is not in reqwest's errors (it is a header), but the text
    /// is scrubbed anyway.
    fn transport(&self, what: &str, e: &reqwest::Error) -> Error {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        let mut tls = false;
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            tls |= s.downcast_ref::<rustls::Error>().is_some()
                || s.downcast_ref::<std::io::Error>()
                    .and_then(|io| io.get_ref())
                    .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
            source = s.source();
        }
        let text = self.scrub(&text);
        if e.is_timeout() {
            return Error::new(ErrorKind::Connection, format!("{what}: timed out ({text})"));
        }
        if tls {
            return Error::new(ErrorKind::Connection, format!("{what}: TLS failed: {text}"))
                .temporary(false)
                .with_hint(
                    "the server's certificate was not accepted; check the API address and the \
                 system's certificate store (a proxy that intercepts TLS needs its CA installed)",
                );
        }
        Error::new(ErrorKind::Connection, format!("{what}: {text}"))
            .with_hint("check the network connection to the Supabase Management API")
    }

    /// `text` without the token in it.
    fn scrub(&self, text: &str) -> String {
        if self.token.0.len() >= 4 {
            text.replace(&*self.token.0, "<redacted>")
        } else {
            text.to_string()
        }
    }
}

/// How to get a token, for `auth` errors.
const TOKEN_HINT: &str = "create a personal access token at \
    https://supabase.com/dashboard/account/tokens and store it again for this project";

/// An HTTP error status as the engine's error (see the module's rules).
fn status_error(
    what: &str,
    status: u16,
    detail: Option<String>,
    retry_after: Option<Duration>,
) -> Error {
    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
    match status {
        401 => Error::new(
            ErrorKind::Auth,
            format!("{what}: the Supabase Management API rejected the access token (401){detail}"),
        )
        .with_hint(TOKEN_HINT),
        403 => Error::new(
            ErrorKind::Permission,
            format!("{what}: the access token may not do this (403){detail}"),
        )
        .with_hint(
            "the token's user must belong to the project's organization with a role that may \
             read (and, for a restore, change) its settings; a scoped token needs these \
             permissions, or use a token with more rights",
        ),
        404 => Error::not_found(format!("{what}: not found (404){detail}")),
        429 => Error::rate_limited(
            format!("{what}: too many requests (429){detail}"),
            retry_after,
        ),
        500..=599 => Error::new(
            ErrorKind::Connection,
            format!("{what}: the Supabase Management API failed ({status}){detail}"),
        ),
        _ => Error::invalid(format!("{what}: refused ({status}){detail}")),
    }
}

/// The largest answer read from the Management API (a project's configuration documents are
/// kilobytes; a function bundle a few megabytes). A longer one is refused while it is read,
/// never held whole.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;
/// The most of an error answer read for its message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The body of `resp`, refused past `cap` bytes (read chunk by chunk; a `Content-Length` over
/// the cap is refused before anything is read).
async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> std::result::Result<bytes::Bytes, ReadError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Transport)? {
        if out.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

enum ReadError {
    TooLarge,
    Transport(reqwest::Error),
}

fn too_large(what: &str) -> Error {
    Error::integrity(format!(
        "{what}: the answer is larger than {} MiB",
        MAX_ANSWER_BYTES / (1024 * 1024)
    ))
    .with_hint("the Management API (or what answers in its place) sent far more than a configuration document; nothing was kept")
}

/// An answer's bytes as JSON: refused (never a panic) when over [`MAX_ANSWER_BYTES`], not JSON,
/// or nested deeper than serde_json's limit.
pub fn decode_json(what: &str, bytes: &[u8]) -> Result<serde_json::Value> {
    if bytes.len() > MAX_ANSWER_BYTES {
        return Err(too_large(what));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Error::integrity(format!("{what}: the answer is not JSON ({e})")))
}

/// The `message` (or `error`) of a JSON error body, at most 300 characters.
fn api_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let m = v
        .get("message")
        .or_else(|| v.get("error"))
        .or_else(|| v.get("msg"))?
        .as_str()?;
    let m: String = m.chars().filter(|c| !c.is_control()).take(300).collect();
    (!m.is_empty()).then_some(m)
}

/// The base URL without its trailing `/`; `https`, or `http` to a loopback address only.
fn check_base_url(base: &str) -> Result<String> {
    let url = url::Url::parse(base)
        .map_err(|e| Error::invalid(format!("not a valid API address {base:?}: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::invalid(format!(
                "refusing to send the access token over plain http to {base}"
            ))
            .with_hint("use an https:// address"))
        }
        other => return Err(Error::invalid(format!("unsupported API scheme {other:?}"))),
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(Error::invalid(format!(
            "the API address {base:?} may not carry a query, fragment or user"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// rustls with ring and the platform's certificate verifier.
fn tls_config() -> Result<rustls::ClientConfig> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| Error::internal(format!("cannot set up TLS: {e}")))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[async_trait]
impl ApiSource for ManagementApi {
    async fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        let what = format!("GET {path}");
        let resp = self
            .send(reqwest::Method::GET, path, true, Body::None)
            .await?;
        let bytes = self.body(resp, &what).await?;
        decode_json(&what, &bytes)
    }
}

#[async_trait]
impl ApiClient for ManagementApi {
    async fn get_bytes(&self, path: &str) -> Result<ApiBytes> {
        let what = format!("GET {path}");
        let resp = self
            .send(reqwest::Method::GET, path, false, Body::None)
            .await?;
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let content_encoding = header(reqwest::header::CONTENT_ENCODING);
        let bytes = self.body(resp, &what).await?;
        Ok(ApiBytes {
            bytes,
            content_type,
            content_encoding,
        })
    }

    async fn patch_json(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
        self.json_body(reqwest::Method::PATCH, path, body).await
    }

    async fn put_json(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
        self.json_body(reqwest::Method::PUT, path, body).await
    }

    async fn send_bytes(
        &self,
        method: BodyMethod,
        path: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<serde_json::Value> {
        let method = match method {
            BodyMethod::Post => reqwest::Method::POST,
            BodyMethod::Patch => reqwest::Method::PATCH,
        };
        let what = format!("{method} {path}");
        let resp = self
            .send(method, path, true, Body::Raw(content_type, body))
            .await?;
        let bytes = self.body(resp, &what).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        decode_json(&what, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            check_base_url("https://api.supabase.com/").unwrap(),
            "https://api.supabase.com"
        );
        assert_eq!(
            check_base_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            check_base_url("http://localhost:1/").unwrap(),
            "http://localhost:1"
        );
        for bad in [
            "http://api.supabase.com",
            "ftp://127.0.0.1",
            "https://x/?a=1",
            "https://u@x/",
            "nope",
        ] {
            assert_eq!(
                check_base_url(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn statuses_map_to_kinds() {
        let cases = [
            (401, ErrorKind::Auth, false),
            (403, ErrorKind::Permission, false),
            (404, ErrorKind::NotFound, false),
            (429, ErrorKind::RateLimited, true),
            (500, ErrorKind::Connection, true),
            (503, ErrorKind::Connection, true),
            (400, ErrorKind::InvalidInput, false),
        ];
        for (status, kind, temporary) in cases {
            let e = status_error("GET /v1/x", status, None, Some(Duration::from_secs(3)));
            assert_eq!(e.kind(), kind, "{status}");
            assert_eq!(e.is_temporary(), temporary, "{status}");
        }
        let e = status_error("GET /v1/x", 429, None, Some(Duration::from_secs(3)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(status_error("x", 401, None, None)
            .hint()
            .unwrap()
            .contains("access token"));
    }

    #[test]
    fn error_bodies_give_short_messages() {
        assert_eq!(
            api_message(br#"{"message":"SAML 2.0 support is not enabled"}"#).as_deref(),
            Some("SAML 2.0 support is not enabled")
        );
        assert_eq!(api_message(b"<html>502</html>"), None);
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(1000));
        assert_eq!(api_message(long.as_bytes()).unwrap().len(), 300);
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let api = ManagementApi::with_options(
            "sbp_0123456789abcdef",
            ManagementApiOptions {
                base_url: "http://127.0.0.1:9".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let dbg = format!("{api:?}");
        assert!(!dbg.contains("sbp_0123456789abcdef"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
        assert_eq!(
            api.scrub("echo sbp_0123456789abcdef back"),
            "echo <redacted> back"
        );
        assert_eq!(
            ManagementApi::new("  ").unwrap_err().kind(),
            ErrorKind::Auth
        );
    }
}
