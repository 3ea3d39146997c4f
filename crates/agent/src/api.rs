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
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
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
    ("put", "/platform/projects/{id}/backup-schedule"),
    ("get", "/platform/projects/{id}/backup-schedule"),
    ("get", "/files/{backup_id}/{file_name}"),
    ("get", "/openapi.json"),
    ("get", "/healthz"),
];

/// The token id of an authenticated request, for the audit log (a response extension).
#[derive(Clone)]
struct AuditTokenId(String);

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
            "/platform/projects/{id}/backup-schedule",
            get(get_schedule).put(put_schedule),
        )
        .route_layer(middleware::from_fn_with_state(agent.clone(), authenticate));
    Router::new()
        .merge(platform)
        .route("/files/{backup_id}/{file_name}", get(file))
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(agent.config.max_body()))
        .layer(middleware::from_fn_with_state(agent.clone(), audit))
        .with_state(agent)
}

/// Outermost: one audit line per request (path without the query).
async fn audit(State(agent): State<Arc<Agent>>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    let token_id = response
        .extensions()
        .get::<AuditTokenId>()
        .map(|t| t.0.clone());
    agent.audit.append(&crate::audit::AuditEntry {
        time: offsite_core::catalog::format_timestamp(time::OffsetDateTime::now_utc()),
        token_id: token_id.as_deref(),
        method: &method,
        path: &path,
        status: response.status().as_u16(),
        duration_ms: started.elapsed().as_millis() as u64,
    });
    response
}

/// Bearer authentication of `/platform` routes.
async fn authenticate(State(agent): State<Arc<Agent>>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let record = match bearer.map(|t| agent.tokens.authenticate(t)) {
        Some(Ok(Some(r))) => r,
        Some(Err(e)) => {
            tracing::error!("reading the tokens: {}", e.message());
            return ApiError::from(e).into_response();
        }
        _ => {
            let mut r = ApiError::unauthorized().into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"offsite\""),
            );
            return r;
        }
    };
    let id = AuditTokenId(record.id.clone());
    req.extensions_mut().insert(record);
    let mut response = next.run(req).await;
    response.extensions_mut().insert(id);
    response
}

/// The token may act on this project (`write`: and change things); the project is configured.
fn authorize(agent: &Agent, token: &TokenRecord, project: &str, write: bool) -> ApiResult<()> {
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
    Ok(Json(serde_json::json!({ "backups": backups::list(&agent, &id).await? })).into_response())
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
fn base_url(agent: &Agent, headers: &HeaderMap) -> ApiResult<String> {
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
    Ok(Json(backups::download_link(&agent, &id, &backup_id, &base).await?).into_response())
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_text(),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Signed {
    expires: Option<String>,
    signature: Option<String>,
}

/// A single byte range of `Range: bytes=…` against `size`: `Ok(None)` for no usable range
/// (serve the whole file), `Err(())` when it cannot be satisfied (416).
fn parse_range(value: &str, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // several ranges: the whole file instead
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        size.saturating_sub(n)..size
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            size
        } else {
            b.parse::<u64>()
                .map_err(|_| ())?
                .saturating_add(1)
                .min(size)
        };
        if start >= size || start >= end {
            return Err(());
        }
        start..end
    };
    Ok(Some(range))
}

/// `GET|HEAD /files/{backup_id}/{file_name}?expires=…&signature=…`: the archive, with Range,
/// If-Range and a strong ETag (`"sha256:<hex>"`).
async fn file(
    State(agent): State<Arc<Agent>>,
    Path((backup_id, file_name)): Path<(String, String)>,
    Query(q): Query<Signed>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    backups::check_backup_id(&backup_id)?;
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
    let signature = q.signature.as_deref().ok_or_else(bad)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match agent
        .signer
        .check(&backup_id, &file_name, expires, signature, now)
    {
        Ok(()) => {}
        Err(crate::signing::SignatureProblem::Invalid) => return Err(bad()),
        Err(crate::signing::SignatureProblem::Expired) => {
            return Err(ApiError::new(
                StatusCode::GONE,
                "url_expired",
                "the download URL has expired",
            )
            .with_hint("ask for a fresh one: GET …/backups/{backup_id}/download"))
        }
    }
    let (path, name, _, sha256) = backups::archive_of(&agent, None, &backup_id).await?;
    if name != file_name {
        return Err(ApiError::not_found("no such file"));
    }
    let mut f = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::not_found("the archive is gone"))?;
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
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) if if_range_ok => match parse_range(r, size) {
            Ok(r) => r,
            Err(()) => {
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
    let body = if method == Method::HEAD {
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
        .map_err(|e| ApiError::from(offsite_core::Error::internal(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some(0..10)));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some(90..100)));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some(90..100)));
        assert_eq!(parse_range("bytes=50-500", 100), Ok(Some(50..100)));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=5-2", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }
}
