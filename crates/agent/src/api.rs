//! The HTTP API: routes, bearer authentication, the audit log and the signed file route.
//!
//! Every route under `/platform` needs `Authorization: Bearer <token>` (401 without, or with a
//! wrong or revoked token; 403 for another project's token, or a read-only token on a write).
//! `/files/…` is authorised by its URL signature instead (403 `bad_signature`, 410
//! `url_expired`). `/openapi.json` and `/healthz` are public.

use crate::backups::{self, CreateBackup};
use crate::error::{ApiError, ApiResult};
use crate::state::Agent;
use crate::tokens::TokenRecord;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use offsite_core::sources::agent_wire::DownloadLink;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// Every route the agent serves: (method, OpenAPI path). The OpenAPI document must list each.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/platform/projects/{id}/backups"),
    ("get", "/platform/projects/{id}/backups"),
    ("get", "/platform/projects/{id}/backups/{backup_id}"),
    ("delete", "/platform/projects/{id}/backups/{backup_id}"),
    (
        "get",
        "/platform/projects/{id}/backups/{backup_id}/download",
    ),
    ("post", "/platform/projects/{id}/backups/{backup_id}/cancel"),
    ("put", "/platform/projects/{id}/backup-schedule"),
    ("get", "/platform/projects/{id}/backup-schedule"),
    ("get", "/files/{backup_id}/{file_name}"),
    ("get", "/platform/projects/{id}/pitr"),
    (
        "get",
        "/platform/projects/{id}/pitr/chains/{chain_id}/segments/{file_name}/download",
    ),
    ("get", "/pitr-files/{chain_id}/{file_name}"),
    ("get", "/platform/projects/{id}/pitr/objects"),
    (
        "get",
        "/platform/projects/{id}/pitr/objects/{file_name}/download",
    ),
    ("get", "/pitr-objects/{id}/{file_name}"),
    ("get", "/openapi.json"),
    ("get", "/healthz"),
    ("get", "/metrics"),
];

/// The token id of an authenticated request, for the audit log (a response extension).
#[derive(Clone)]
pub(crate) struct AuditTokenId(pub(crate) String);

/// The router over an opened agent.
pub fn router(agent: Arc<Agent>) -> Router {
    let platform = Router::new()
        .route(
            "/platform/projects/{id}/backups",
            get(list_backups).post(create_backup),
        )
        .route(
            "/platform/projects/{id}/backups/{backup_id}",
            get(get_backup).delete(delete_backup),
        )
        .route(
            "/platform/projects/{id}/backups/{backup_id}/download",
            get(download),
        )
        .route(
            "/platform/projects/{id}/backups/{backup_id}/cancel",
            post(cancel_backup),
        )
        .route(
            "/platform/projects/{id}/backup-schedule",
            get(get_schedule).put(put_schedule),
        )
        .route("/platform/projects/{id}/pitr", get(crate::pitr::capture))
        .route(
            "/platform/projects/{id}/pitr/chains/{chain_id}/segments/{file_name}/download",
            get(crate::pitr::download),
        )
        .route(
            "/platform/projects/{id}/pitr/objects",
            get(crate::pitr::objects),
        )
        .route(
            "/platform/projects/{id}/pitr/objects/{file_name}/download",
            get(crate::pitr::object_download),
        )
        .route_layer(middleware::from_fn_with_state(agent.clone(), authenticate));
    Router::new()
        .merge(platform)
        .route("/files/{backup_id}/{file_name}", get(file))
        .route("/pitr-files/{chain_id}/{file_name}", get(crate::pitr::file))
        .route(
            "/pitr-objects/{id}/{file_name}",
            get(crate::pitr::object_file),
        )
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(crate::metrics::metrics))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(agent.config.max_body()))
        .layer(middleware::from_fn_with_state(agent.clone(), audit))
        .with_state(agent)
}

/// Outermost: the failed-authentication throttle, then one audit line per request (path
/// without the query, cut and escaped).
async fn audit(State(agent): State<Arc<Agent>>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let public = matches!(req.uri().path(), "/healthz" | "/openapi.json");
    if let (Some(ip), false) = (client, public) {
        if let Some(retry_after) = agent.throttle.check(ip, started) {
            // No line per refused request: the throttle's start and end are logged instead.
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_failures",
                "too many failed authentications from this address",
            )
            .with_hint("wait for Retry-After seconds; check the token or the download URL")
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return r;
        }
    }
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    let token_id = response
        .extensions()
        .get::<AuditTokenId>()
        .map(|t| t.0.clone());
    let time = offsite_core::catalog::format_timestamp(time::OffsetDateTime::now_utc());
    agent.audit.append(&crate::audit::AuditEntry {
        time: &time,
        token_id: token_id.as_deref(),
        method: &method,
        path: &path,
        status: response.status().as_u16(),
        duration_ms: started.elapsed().as_millis() as u64,
    });
    if let Some(ip) = client {
        let status = response.status();
        if token_id.is_none() && status.is_client_error() && !public {
            if let Some(failures) = agent.throttle.failed(ip, started) {
                tracing::warn!(client = %ip, "throttling a client after {failures} failed authentications");
                agent.audit.note(&serde_json::json!({
                    "time": time,
                    "event": "client_throttled",
                    "client": crate::throttle::client_key(ip).to_string(),
                    "failures": failures,
                    "window_secs": crate::throttle::WINDOW.as_secs(),
                }));
            }
        }
        for ended in agent.throttle.sweep(started) {
            agent.audit.note(&serde_json::json!({
                "time": time,
                "event": "client_throttle_ended",
                "client": ended.client.to_string(),
                "failures": ended.failures,
                "refused": ended.refused,
            }));
        }
    }
    response
}

/// The answer when the tokens cannot be read: nothing about the file (the details go to the
/// agent's log).
pub(crate) fn tokens_unavailable(e: &offsite_core::Error) -> Response {
    tracing::error!(code = e.code(), "reading the tokens: {}", e.message());
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the agent cannot check credentials now",
    )
    .with_hint("the agent's operator will find the cause in the agent's log")
    .into_response()
}

/// Bearer authentication of `/platform` routes.
async fn authenticate(State(agent): State<Arc<Agent>>, mut req: Request, next: Next) -> Response {
    let record = match bearer_record(&agent, req.headers()) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    if record.metrics {
        return ApiError::forbidden("a metrics token may only read /metrics").into_response();
    }
    let id = AuditTokenId(record.id.clone());
    req.extensions_mut().insert(record);
    let mut response = next.run(req).await;
    response.extensions_mut().insert(id);
    response
}

/// The live token record of the request's `Authorization: Bearer …`, or the 401 (or 503) to
/// answer.
pub(crate) fn bearer_record(
    agent: &Agent,
    headers: &HeaderMap,
) -> Result<TokenRecord, Box<Response>> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    match bearer.map(|t| agent.tokens.authenticate(t)) {
        Some(Ok(Some(r))) => Ok(r),
        Some(Err(e)) => Err(Box::new(tokens_unavailable(&e))),
        _ => {
            let mut r = ApiError::unauthorized().into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"offsite\""),
            );
            Err(Box::new(r))
        }
    }
}

/// The token audit lines name (a response extension).
pub(crate) fn audit_token(response: &mut Response, token_id: &str) {
    response
        .extensions_mut()
        .insert(AuditTokenId(token_id.to_string()));
}

/// The token may act on this project (`write`: and change things); the project is configured.
pub(crate) fn authorize(
    agent: &Agent,
    token: &TokenRecord,
    project: &str,
    write: bool,
) -> ApiResult<()> {
    if !token.allows(project, false) {
        return Err(ApiError::forbidden("this token is not for this project"));
    }
    if write && !token.allows(project, true) {
        return Err(ApiError::forbidden("this token is read-only"));
    }
    if !agent.config.projects.contains_key(project) {
        return Err(ApiError::not_found(format!(
            "no project {project:?} on this agent"
        )));
    }
    Ok(())
}

async fn create_backup(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path(id): Path<String>,
    body: Result<Json<CreateBackup>, JsonRejection>,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, true)?;
    let Json(req) = body.map_err(json_rejection)?;
    let created = backups::start(&agent, &id, req).await?;
    Ok((StatusCode::ACCEPTED, Json(created)).into_response())
}

async fn list_backups(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, false)?;
    Ok(Json(backups::list_with_space(&agent, &id).await?).into_response())
}

async fn get_backup(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path((id, backup_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, false)?;
    Ok(Json(backups::status(&agent, &id, &backup_id).await?).into_response())
}

async fn delete_backup(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path((id, backup_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, true)?;
    backups::delete(&agent, &id, &backup_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Cancel a backup being made: 200 with its status once it has stopped, 202 while it is still
/// stopping; the cancel is written to the audit log with the token that asked.
async fn cancel_backup(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path((id, backup_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, true)?;
    let outcome = backups::cancel(&agent, &id, &backup_id).await?;
    let (status, view, stopped) = match outcome {
        backups::Cancelled::Stopped(v) => (StatusCode::OK, v, true),
        backups::Cancelled::Stopping(v) => (StatusCode::ACCEPTED, v, false),
    };
    agent.audit.note(&serde_json::json!({
        "time": offsite_core::catalog::format_timestamp(time::OffsetDateTime::now_utc()),
        "event": "backup_cancelled",
        "token_id": token.id,
        "project": id,
        "backup_id": view.backup_id,
        "stopped": stopped,
    }));
    tracing::info!(project = %id, backup_id = %view.backup_id, "backup cancelled through the API");
    Ok((status, Json(view)).into_response())
}

async fn get_schedule(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, false)?;
    Ok(Json(crate::schedule::get(&agent, &id).await?).into_response())
}

async fn put_schedule(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path(id): Path<String>,
    body: Result<Json<crate::schedule::PutSchedule>, JsonRejection>,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, true)?;
    let Json(req) = body.map_err(json_rejection)?;
    Ok(Json(crate::schedule::put(&agent, &id, req).await?).into_response())
}

fn json_rejection(e: JsonRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        )
    } else {
        ApiError::new(e.status(), "invalid_input", e.body_text())
    }
}

/// The base of download URLs: the configured public URL, else the request's Host.
pub(crate) fn base_url(agent: &Agent, headers: &HeaderMap) -> ApiResult<String> {
    if let Some(u) = &agent.config.public_url {
        return Ok(u.trim_end_matches('/').to_string());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .ok_or_else(|| ApiError::bad_request("the request has no usable Host header"))?;
    let scheme = if agent.tls { "https" } else { "http" };
    Ok(format!("{scheme}://{host}"))
}

async fn download(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path((id, backup_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, false)?;
    let base = base_url(&agent, &headers)?;
    Ok(
        Json(backups::download_link(&agent, &token.id, &id, &backup_id, &base).await?)
            .into_response(),
    )
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_text(),
    )
        .into_response()
}

#[derive(Deserialize)]
pub(crate) struct Signed {
    expires: Option<String>,
    /// The id of the token the URL was made for.
    token: Option<String>,
    signature: Option<String>,
}

/// `GET|HEAD /files/{backup_id}/{file_name}?expires=…&token=…&signature=…`: the archive,
/// with Range, If-Range and a strong ETag (`"sha256:<hex>"`). The URL works while its token
/// is live: revoking the token revokes its download URLs.
async fn file(
    State(agent): State<Arc<Agent>>,
    Path((backup_id, file_name)): Path<(String, String)>,
    Query(q): Query<Signed>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let checked = backups::check_backup_id(&backup_id)
        .map_err(SignedProblem::from)
        .and_then(|()| check_signed(&agent, &backup_id, &file_name, &q));
    answer_signed(checked, || {
        serve_file(&agent, &backup_id, &file_name, &method, &headers)
    })
    .await
}

/// The answer of a signed file route: `serve`'s when the URL checked out (`checked`: its token
/// id, recorded for the audit log), else the problem.
pub(crate) async fn answer_signed<F, Fut>(
    checked: Result<String, SignedProblem>,
    serve: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Response, SignedProblem>>,
{
    let (token_id, result) = match checked {
        Ok(token_id) => (Some(token_id), serve().await),
        Err(e) => (None, Err(e)),
    };
    let mut response = match result {
        Ok(r) => r,
        Err(SignedProblem::Api(e)) => e.into_response(),
        Err(SignedProblem::Tokens(e)) => tokens_unavailable(&e),
    };
    if let Some(id) = token_id {
        response.extensions_mut().insert(AuditTokenId(id));
    }
    response
}

/// A signed, expiring link for `token_id` to `path` on this agent (`base`: its address as the
/// client reached it; `path`: `/files/…`, `/pitr-files/…` or `/pitr-objects/…`, its segments
/// percent-encoded), signed for `scope` (a backup's id, `pitr:<chain id>`,
/// `pitr-objects:<project>`) and `name`; with the file's size and SHA-256.
pub(crate) fn signed_link(
    agent: &Agent,
    token_id: &str,
    base: &str,
    path: &str,
    (scope, name): (&str, &str),
    size: u64,
    sha256: String,
) -> DownloadLink {
    let expires = time::OffsetDateTime::now_utc() + agent.config.download_ttl();
    let exp = expires.unix_timestamp();
    let sig = agent.signer.sign(token_id, scope, name, exp);
    DownloadLink {
        download_url: format!(
            "{}{path}?expires={exp}&token={token_id}&signature={sig}",
            base.trim_end_matches('/')
        ),
        expires_at: offsite_core::catalog::format_timestamp(
            time::OffsetDateTime::from_unix_timestamp(exp).unwrap_or(expires),
        ),
        size,
        sha256,
    }
}

pub(crate) enum SignedProblem {
    Api(ApiError),
    /// The tokens cannot be read (answered without details).
    Tokens(offsite_core::Error),
}

impl From<ApiError> for SignedProblem {
    fn from(e: ApiError) -> Self {
        SignedProblem::Api(e)
    }
}

/// The URL's signature, expiry and token: the token id when all is well. `backup_id` is what
/// the URL was signed for (a backup's id, or `pitr:<chain id>` for a change segment).
pub(crate) fn check_signed(
    agent: &Agent,
    backup_id: &str,
    file_name: &str,
    q: &Signed,
) -> Result<String, SignedProblem> {
    let bad = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_signature",
            "the download URL is not valid",
        )
    };
    let expires: i64 = q
        .expires
        .as_deref()
        .and_then(|e| e.parse().ok())
        .ok_or_else(bad)?;
    let token_id = q.token.as_deref().ok_or_else(bad)?;
    let signature = q.signature.as_deref().ok_or_else(bad)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match agent
        .signer
        .check(token_id, backup_id, file_name, expires, signature, now)
    {
        Ok(()) => {}
        Err(crate::signing::SignatureProblem::Invalid) => return Err(bad().into()),
        Err(crate::signing::SignatureProblem::Expired) => {
            return Err(ApiError::new(
                StatusCode::GONE,
                "url_expired",
                "the download URL has expired",
            )
            .with_hint("ask for a fresh one where this one came from (GET …/download)")
            .into())
        }
    }
    match agent.tokens.is_live(token_id) {
        Ok(true) => Ok(token_id.to_string()),
        Ok(false) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "token_revoked",
            "the token this download URL was made for has been revoked",
        )
        .with_hint("ask for a fresh URL with a live token")
        .into()),
        Err(e) => Err(SignedProblem::Tokens(e)),
    }
}

/// The archive (or a part of it) once the URL is checked.
async fn serve_file(
    agent: &Agent,
    backup_id: &str,
    file_name: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, SignedProblem> {
    let (path, name, _, sha256) = backups::archive_of(agent, None, backup_id).await?;
    if name != file_name {
        return Err(ApiError::not_found("no such file").into());
    }
    send_file(&path, &name, &sha256, method, headers).await
}

/// A checked file (or a part of it): Range and If-Range with a strong ETag `"sha256:<hex>"`.
pub(crate) async fn send_file(
    path: &std::path::Path,
    name: &str,
    sha256: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, SignedProblem> {
    use crate::range::{parse_range, RangeAnswer};
    let mut f = tokio::fs::File::open(path).await.map_err(|_| {
        ApiError::not_found(format!("{name} is gone (removed since the link was made)"))
    })?;
    let size = f
        .metadata()
        .await
        .map_err(|e| ApiError::from(offsite_core::Error::io("reading the archive", e)))?
        .len();
    let etag = format!("\"sha256:{sha256}\"");
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .map(|v| v.to_str().ok() == Some(etag.as_str()))
        .unwrap_or(true);
    let range = match headers.get(header::RANGE) {
        Some(r) if if_range_ok => match r.to_str().map(|r| parse_range(r, size)) {
            Ok(RangeAnswer::Part(r)) => Some(r),
            Ok(RangeAnswer::Whole) => None,
            Ok(RangeAnswer::Unsatisfiable) | Err(_) => {
                return Ok((
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [
                        (header::CONTENT_RANGE, format!("bytes */{size}")),
                        (header::ETAG, etag),
                    ],
                )
                    .into_response())
            }
        },
        _ => None,
    };
    let (status, span) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r),
        None => (StatusCode::OK, 0..size),
    };
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, span.end - span.start)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, "private, no-store")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        );
    if status == StatusCode::PARTIAL_CONTENT {
        builder = builder.header(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{size}", span.start, span.end - 1),
        );
    }
    let body = if *method == Method::HEAD {
        Body::empty()
    } else {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        f.seek(std::io::SeekFrom::Start(span.start))
            .await
            .map_err(|e| ApiError::from(offsite_core::Error::io("reading the archive", e)))?;
        let reader = f.take(span.end - span.start);
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
            reader,
            256 * 1024,
        ))
    };
    builder
        .body(body)
        .map_err(|e| ApiError::from(offsite_core::Error::internal(e.to_string())).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(offsite_testkit::fuzz::config())]
        /// Request targets as a client may send them: whatever parses as a URI, the signed-URL
        /// query and the backup id are read without panicking, and the audit line of any path
        /// and method is one line of printable text, bounded in length, valid JSON.
        #[test]
        fn fuzz_agent_request_paths(
            path in "\\PC{0,600}",
            raw in prop::collection::vec(any::<u8>(), 0..600),
            method in "[A-Za-z!#$%&'*+.^_`|~-]{1,64}",
            segment in "[A-Za-z0-9%./_~-]{0,80}",
            query in "[A-Za-z0-9%&=+./_~-]{0,200}",
        ) {
            let lossy = String::from_utf8_lossy(&raw).into_owned();
            for p in [path.as_str(), lossy.as_str()] {
                let line = crate::audit::format_line(&crate::audit::AuditEntry {
                    time: "2026-11-24T01:00:00Z",
                    token_id: Some("0123456789ab"),
                    method: &method,
                    path: p,
                    status: 401,
                    duration_ms: 3,
                });
                prop_assert!(line.len() <= 512, "{} bytes: {line}", line.len());
                prop_assert!(!line.chars().any(char::is_control), "{line:?}");
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                let logged = v["path"].as_str().unwrap();
                prop_assert!(logged.len() <= crate::audit::MAX_LOGGED_PATH + 32);
                prop_assert!(logged.chars().all(|c| c.is_ascii_graphic() || c == ' ' || c == '\u{2026}'), "{logged:?}");
            }
            let target = format!("/files/{segment}/x.tar.gz?{query}");
            if let Ok(uri) = target.parse::<axum::http::Uri>() {
                if let Ok(Query(q)) = Query::<Signed>::try_from_uri(&uri) {
                    let _ = q.expires.as_deref().map(str::parse::<i64>);
                }
            }
            let _ = backups::check_backup_id(&segment);
        }
    }
}
