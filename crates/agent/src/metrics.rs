//! `GET /metrics`: every project's metrics in the Prometheus text format
//! (`offsite_core::ops::notify::metrics`), for a metrics token only (`offsite serve token create
//! --metrics`): an API token is refused (403) so a scrape configuration never holds a token that
//! can make, download or delete backups, and a metrics token is refused everywhere else.

use crate::api::{audit_token, bearer_record};
use crate::error::ApiError;
use crate::state::Agent;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The handler.
pub async fn metrics(State(agent): State<Arc<Agent>>, headers: HeaderMap) -> Response {
    let record = match bearer_record(&agent, &headers) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let mut response = if !record.metrics {
        ApiError::forbidden(
            "/metrics takes a metrics token (offsite serve token create --metrics), not an API token",
        )
        .into_response()
    } else {
        match agent.engine.metrics_text().await {
            Ok(text) => {
                let mut r = text.into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(offsite_core::ops::notify::metrics::CONTENT_TYPE),
                );
                r
            }
            Err(e) => ApiError::from(e).into_response(),
        }
    };
    audit_token(&mut response, &record.id);
    response
}
