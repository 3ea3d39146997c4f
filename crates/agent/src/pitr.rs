//! The point-in-time capture over the API (docs/agent.md, docs/pitr.md): `GET …/pitr` (status,
//! windows, chains and their segments), `GET …/pitr/chains/{chain_id}/segments/{file_name}/
//! download` (a signed, expiring URL, bound to the asking token as a backup's is) and
//! `GET /pitr-files/{chain_id}/{file_name}` (the segment, from that URL).
//!
//! Defences, as for backups: the chain id must be a UUID (400), the file name a segment's name
//! (letters, digits, `_`, `-`, `.`, ending `.pitr` or `.pitr.age`; 400), and the file served is
//! the one the catalog registered under that name for that chain of that project — a path is
//! never built from the request. The URL is signed for `pitr:<chain id>` and the name: a
//! backup's signature does not open a segment, nor one segment's another.

use crate::api::{answer_signed, authorize, base_url, check_signed, send_file, signed_link};
use crate::api::{Signed, SignedProblem};
use crate::backups::{check_backup_id, percent_encode};
use crate::error::{ApiError, ApiResult};
use crate::state::Agent;
use crate::tokens::TokenRecord;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use offsite_core::ops::pitr::serve::is_segment_name;
use offsite_core::sources::agent_wire::PitrCapture;
use offsite_core::ErrorKind;
use std::sync::Arc;

fn check_chain_id(id: &str) -> ApiResult<()> {
    check_backup_id(id).map_err(|_| {
        ApiError::bad_request("not a chain id")
            .with_hint("chain ids are UUIDs as GET …/pitr lists them")
    })
}

fn check_file_name(name: &str) -> ApiResult<()> {
    if is_segment_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad_request("not a change segment's name")
            .with_hint("segment names are as GET …/pitr lists them"))
    }
}

/// What is signed for a segment of `chain_id`.
fn scope(chain_id: &str) -> String {
    format!("pitr:{chain_id}")
}

/// `GET /platform/projects/{id}/pitr`.
pub(crate) async fn capture(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, false)?;
    let view = match agent.engine.pitr_capture_view(&id).await {
        Ok(v) => v,
        // A project the engine has not met yet captures nothing.
        Err(e) if e.kind() == ErrorKind::NotFound => PitrCapture::default(),
        Err(e) => return Err(e.into()),
    };
    Ok(Json(view).into_response())
}

/// `GET /platform/projects/{id}/pitr/chains/{chain_id}/segments/{file_name}/download`.
pub(crate) async fn download(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path((id, chain_id, file_name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, false)?;
    check_chain_id(&chain_id)?;
    check_file_name(&file_name)?;
    let base = base_url(&agent, &headers)?;
    let (_, size, sha256) = agent
        .engine
        .pitr_segment_file(Some(&id), &chain_id, &file_name)
        .await?;
    let path = format!("/pitr-files/{chain_id}/{}", percent_encode(&file_name));
    let link = signed_link(
        &agent,
        &token.id,
        &base,
        &path,
        (&scope(&chain_id), &file_name),
        size,
        sha256,
    );
    Ok(Json(link).into_response())
}

/// `GET|HEAD /pitr-files/{chain_id}/{file_name}?expires=…&token=…&signature=…`.
pub(crate) async fn file(
    State(agent): State<Arc<Agent>>,
    Path((chain_id, file_name)): Path<(String, String)>,
    Query(q): Query<Signed>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let checked = check_chain_id(&chain_id)
        .and_then(|()| check_file_name(&file_name))
        .map_err(SignedProblem::from)
        .and_then(|()| check_signed(&agent, &scope(&chain_id), &file_name, &q));
    answer_signed(checked, || async {
        let (path, _, sha256) = agent
            .engine
            .pitr_segment_file(None, &chain_id, &file_name)
            .await
            .map_err(|e| SignedProblem::Api(e.into()))?;
        send_file(&path, &file_name, &sha256, &method, &headers).await
    })
    .await
}

// ---- the Storage objects' versions the capture kept (issue 66 item 4) --------------------

fn check_object_file(name: &str) -> ApiResult<()> {
    if offsite_core::ops::pitr::serve_objects::object_file_name(name).is_some() {
        Ok(())
    } else {
        Err(ApiError::bad_request("not a kept object's file name")
            .with_hint("kept files are named by their SHA-256 as GET …/pitr/objects lists them"))
    }
}

/// What is signed for a kept object's file of project `id`.
fn object_scope(id: &str) -> String {
    format!("pitr-objects:{id}")
}

/// `GET /platform/projects/{id}/pitr/objects`.
pub(crate) async fn objects(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, false)?;
    let view = match agent.engine.pitr_objects_view(&id).await {
        Ok(v) => v,
        Err(e) if e.kind() == ErrorKind::NotFound => Default::default(),
        Err(e) => return Err(e.into()),
    };
    Ok(Json(view).into_response())
}

/// `GET /platform/projects/{id}/pitr/objects/{file_name}/download`.
pub(crate) async fn object_download(
    State(agent): State<Arc<Agent>>,
    Extension(token): Extension<TokenRecord>,
    Path((id, file_name)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&agent, &token, &id, false)?;
    check_object_file(&file_name)?;
    let base = base_url(&agent, &headers)?;
    let (_, size, sha256) = agent.engine.pitr_object_file(&id, &file_name).await?;
    let path = format!("/pitr-objects/{}/{file_name}", percent_encode(&id));
    let link = signed_link(
        &agent,
        &token.id,
        &base,
        &path,
        (&object_scope(&id), &file_name),
        size,
        sha256,
    );
    Ok(Json(link).into_response())
}

/// `GET|HEAD /pitr-objects/{id}/{file_name}?expires=…&token=…&signature=…`.
pub(crate) async fn object_file(
    State(agent): State<Arc<Agent>>,
    Path((id, file_name)): Path<(String, String)>,
    Query(q): Query<Signed>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let checked = check_object_file(&file_name)
        .map_err(SignedProblem::from)
        .and_then(|()| check_signed(&agent, &object_scope(&id), &file_name, &q));
    answer_signed(checked, || async {
        let (path, _, sha256) = agent
            .engine
            .pitr_object_file(&id, &file_name)
            .await
            .map_err(|e| SignedProblem::Api(e.into()))?;
        // The ETag `"sha256:<the bytes' SHA-256>"`: the same for a sealed file sealed again
        // (another ciphertext), which a resumed download's size check or age's MAC refuses.
        send_file(&path, &file_name, &sha256, &method, &headers).await
    })
    .await
}
