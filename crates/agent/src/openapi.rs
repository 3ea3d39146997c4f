//! The OpenAPI 3.1 document of the agent's API, served at `GET /openapi.json` and committed as
//! `crates/agent/openapi.json` (a test keeps the two equal and checks every route is in it).
//!
//! The paths (operations, parameters, status codes, auth) are declared here; every schema is
//! generated from the types the API sends and reads (utoipa's `ToSchema`, derived on the wire
//! types in `offsite_core::sources::agent_wire` and on the agent's own schedule and error
//! bodies), so a field added to a type is in the document.

use crate::error::ApiError;
use crate::schedule::{PutSchedule, ScheduleOut};
use offsite_core::sources::agent_wire::{
    BackupList, CreateBackup, Created, DownloadLink, PitrCapture, PitrChainInfo, PitrObjectFile,
    PitrObjectVersion, PitrObjects, PitrSegmentInfo, PitrWindow,
};
use serde_json::{json, Value};

/// Every schema the API's bodies use, generated from their types (with the types they use in
/// turn), by name.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(
    CreateBackup,
    offsite_core::selection::BackupSelection,
    Created,
    BackupList,
    DownloadLink,
    PitrCapture,
    PitrWindow,
    PitrChainInfo,
    PitrSegmentInfo,
    PitrObjects,
    PitrObjectVersion,
    PitrObjectFile,
    PutSchedule,
    ScheduleOut,
    ApiError
)))]
struct Schemas;

/// The `components.schemas` of the document.
pub fn schemas() -> Value {
    let components = <Schemas as utoipa::OpenApi>::openapi()
        .components
        .expect("the schemas are listed");
    serde_json::to_value(components.schemas).expect("schemas are JSON")
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn params(names: &[&str]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| {
                json!({
                    "name": n, "in": "path", "required": true,
                    "schema": if *n == "backup_id" {
                        json!({"type": "string", "format": "uuid"})
                    } else {
                        json!({"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"})
                    }
                })
            })
            .collect(),
    )
}

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Offsite agent",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Backups made next to the database by `offsite serve`, triggered and downloaded from elsewhere. Modelled on the backup API of self-hosted Supabase managers (SupaManager). `{id}` is a project id from the agent's configuration."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/platform/projects/{id}/backups": {"post": create_backup(), "get": list_backups()},
            "/platform/projects/{id}/backups/{backup_id}": {"get": get_backup(), "delete": delete_backup()},
            "/platform/projects/{id}/backups/{backup_id}/download": {"get": download_url()},
            "/platform/projects/{id}/backups/{backup_id}/cancel": {"post": cancel_backup()},
            "/platform/projects/{id}/backup-schedule": {"put": put_schedule(), "get": get_schedule()},
            "/files/{backup_id}/{file_name}": {"get": download_file()},
            "/platform/projects/{id}/pitr": {"get": pitr_capture()},
            "/platform/projects/{id}/pitr/chains/{chain_id}/segments/{file_name}/download": {"get": segment_url()},
            "/pitr-files/{chain_id}/{file_name}": {"get": segment_file()},
            "/platform/projects/{id}/pitr/objects": {"get": pitr_objects()},
            "/platform/projects/{id}/pitr/objects/{file_name}/download": {"get": object_url()},
            "/pitr-objects/{id}/{file_name}": {"get": object_file()},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3", "content": {"application/json": {}}}}
            }},
            "/metrics": {"get": metrics()},
            "/healthz": {"get": {
                "operationId": "health", "summary": "Liveness", "security": [],
                "responses": {"200": {"description": "ok", "content": {"text/plain": {}}}}
            }}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a token from `offsite serve token create`"}},
            "schemas": schemas()
        }
    })
}

/// `op` with the answers every token-checked operation can give (401, 403, 404, 429, 503).
fn with_auth_errors(mut op: Value) -> Value {
    let r = op["responses"].as_object_mut().expect("responses");
    r.insert(
        "401".into(),
        error_response("no token, or a wrong or revoked one"),
    );
    r.insert(
        "403".into(),
        error_response("the token is for another project, or read-only on a write"),
    );
    r.insert("404".into(), error_response("no such project or backup"));
    r.insert(
        "429".into(),
        error_response("too many failed authentications from this address (`too_many_failures`); see Retry-After"),
    );
    r.insert(
        "503".into(),
        error_response(
            "the agent cannot check credentials now (`unavailable`; details in its log)",
        ),
    );
    op
}

// ---- backups ------------------------------------------------------------------------------

fn create_backup() -> Value {
    with_auth_errors(json!({
        "operationId": "createBackup",
        "summary": "Start a backup (one per project at a time)",
        "parameters": params(&["id"]),
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateBackup"}}}},
        "responses": {
            "202": {"description": "started", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Created"}}}},
            "400": error_response("bad type, compression or encryption"),
            "409": error_response("a backup of this project is running (`backup_id` names it)"),
            "413": error_response("the request body is too large")
        }
    }))
}

fn list_backups() -> Value {
    with_auth_errors(json!({
        "operationId": "listBackups",
        "summary": "The project's backups, newest first",
        "parameters": params(&["id"]),
        "responses": {"200": {"description": "the backups", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BackupList"}}}}}
    }))
}

fn get_backup() -> Value {
    with_auth_errors(json!({
        "operationId": "getBackup",
        "summary": "A backup's status and progress",
        "parameters": params(&["id", "backup_id"]),
        "responses": {
            "200": {"description": "the backup", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Backup"}}}},
            "400": error_response("not a backup id")
        }
    }))
}

fn delete_backup() -> Value {
    with_auth_errors(json!({
        "operationId": "deleteBackup",
        "summary": "Delete a backup's archive and entry",
        "parameters": params(&["id", "backup_id"]),
        "responses": {
            "204": {"description": "deleted"},
            "400": error_response("not a backup id"),
            "409": error_response("the backup is still being made")
        }
    }))
}

fn cancel_backup() -> Value {
    with_auth_errors(json!({
        "operationId": "cancelBackup",
        "summary": "Cancel a backup being made: it stops, what it wrote is removed, nothing is registered, and it ends FAILED with error code `cancelled`. Waits up to 30 s for it to stop.",
        "parameters": params(&["id", "backup_id"]),
        "responses": {
            "200": {"description": "stopped: the backup's status (FAILED, error `cancelled`)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Backup"}}}},
            "202": {"description": "still stopping (CREATING): poll its status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Backup"}}}},
            "400": error_response("not a backup id"),
            "409": error_response("the backup is not being made (`not_running`): it completed, failed or was cancelled")
        }
    }))
}

// ---- downloads ----------------------------------------------------------------------------

fn download_url() -> Value {
    with_auth_errors(json!({
        "operationId": "getDownloadUrl",
        "summary": "A signed, expiring URL of the backup's archive",
        "parameters": params(&["id", "backup_id"]),
        "responses": {
            "200": {"description": "the URL", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DownloadLink"}}}},
            "400": error_response("not a backup id"),
            "409": error_response("the backup has no archive (not completed)")
        }
    }))
}

/// The archive itself, from a signed URL (no bearer token).
fn download_file() -> Value {
    json!({
        "operationId": "downloadFile",
        "summary": "The archive (from a signed URL). Range and If-Range with a strong ETag \"sha256:<hex>\".",
        "security": [],
        "parameters": [
            {"name": "backup_id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
            {"name": "file_name", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "expires", "in": "query", "required": true, "schema": {"type": "integer", "format": "int64"}},
            {"name": "token", "in": "query", "required": true, "description": "the id of the token the URL was made for (the URL stops working when that token is revoked)", "schema": {"type": "string"}},
            {"name": "signature", "in": "query", "required": true, "schema": {"type": "string"}},
            {"name": "Range", "in": "header", "required": false, "schema": {"type": "string"}},
            {"name": "If-Range", "in": "header", "required": false, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": {"description": "the whole file", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "206": {"description": "the range asked for", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "403": error_response("the signature does not match (`bad_signature`), or its token was revoked (`token_revoked`)"),
            "404": error_response("no such file"),
            "410": error_response("the URL has expired (`url_expired`): ask for a fresh one"),
            "416": {"description": "the range cannot be satisfied (also: more than 8 ranges, or a Range header over 256 bytes)"},
            "429": error_response("too many failed authentications from this address (`too_many_failures`); see Retry-After")
        }
    })
}

// ---- point-in-time capture -----------------------------------------------------------------

fn pitr_capture() -> Value {
    with_auth_errors(json!({
        "operationId": "getPitrCapture",
        "summary": "The project's point-in-time capture: status, RPO, restorable windows, and every chain with its base and change segments",
        "parameters": params(&["id"]),
        "responses": {
            "200": {"description": "the capture (empty when the project is not captured)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PitrCapture"}}}}
        }
    }))
}

fn segment_url() -> Value {
    let mut p = params(&["id"]);
    if let Some(a) = p.as_array_mut() {
        a.push(json!({"name": "chain_id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}));
        a.push(json!({"name": "file_name", "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    with_auth_errors(json!({
        "operationId": "getSegmentUrl",
        "summary": "A signed, expiring URL of one change segment (bound to the asking token)",
        "parameters": p,
        "responses": {
            "200": {"description": "the URL", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DownloadLink"}}}},
            "400": error_response("not a chain id, or not a segment's name")
        }
    }))
}

/// A change segment itself, from a signed URL (no bearer token).
fn segment_file() -> Value {
    let mut op = download_file();
    op["operationId"] = json!("downloadSegment");
    op["summary"] = json!("A change segment (from a signed URL). Range and If-Range with a strong ETag \"sha256:<hex>\".");
    op["parameters"][0] = json!({"name": "chain_id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
    op["responses"]["400"] = error_response("not a chain id, or not a segment's name");
    op
}

fn pitr_objects() -> Value {
    with_auth_errors(json!({
        "operationId": "getPitrObjects",
        "summary": "The Storage objects' versions the capture kept (bucket, key, ETag, size, SHA-256, when fetched) and the files holding their bytes",
        "parameters": params(&["id"]),
        "responses": {
            "200": {"description": "the versions and files (empty when nothing is kept)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PitrObjects"}}}}
        }
    }))
}

fn object_url() -> Value {
    let mut p = params(&["id"]);
    if let Some(a) = p.as_array_mut() {
        a.push(json!({"name": "file_name", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}(\\.age)?$"}}));
    }
    with_auth_errors(json!({
        "operationId": "getObjectFileUrl",
        "summary": "A signed, expiring URL of one kept object's file (bound to the asking token)",
        "parameters": p,
        "responses": {
            "200": {"description": "the URL", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DownloadLink"}}}},
            "400": error_response("not a kept file's name (its SHA-256, `.age` when sealed)")
        }
    }))
}

/// A kept object's file, from a signed URL (no bearer token).
fn object_file() -> Value {
    let mut op = download_file();
    op["operationId"] = json!("downloadObjectFile");
    op["summary"] =
        json!("A kept object's file (from a signed URL). Range and If-Range with a strong ETag.");
    op["parameters"][0] =
        json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
    op["responses"]["400"] = error_response("not a kept file's name");
    op
}

// ---- schedules ----------------------------------------------------------------------------

fn put_schedule() -> Value {
    with_auth_errors(json!({
        "operationId": "putBackupSchedule",
        "summary": "Set (replace) or remove the project's backup schedule, run by the agent, and the retention applied after each scheduled backup",
        "parameters": params(&["id"]),
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PutSchedule"}}}},
        "responses": {
            "200": {"description": "the schedule now", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}}},
            "400": error_response("not a schedule, an unknown type or zone, a type the project cannot make, or a retention rule that is not valid (a count of 0, an unknown duration)"),
            "409": error_response("retention given while the project's retention is set in agent.toml (`retention_in_config`)"),
            "413": error_response("the request body is too large")
        }
    }))
}

fn get_schedule() -> Value {
    with_auth_errors(json!({
        "operationId": "getBackupSchedule",
        "summary": "The project's backup schedule",
        "parameters": params(&["id"]),
        "responses": {
            "200": {"description": "the schedule (enabled: false when there is none)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}}}
        }
    }))
}

// ---- metrics ------------------------------------------------------------------------------

/// `/metrics`: a metrics token only, and its own 401/403/429 (not [`with_auth_errors`]).
fn metrics() -> Value {
    json!({
        "operationId": "metrics",
        "summary": "Every project's metrics in the Prometheus text format (docs/notifications.md). Takes a metrics token only (`offsite serve token create --metrics`).",
        "security": [{"bearer": []}],
        "responses": {
            "200": {"description": "Prometheus text exposition 0.0.4", "content": {"text/plain; version=0.0.4; charset=utf-8": {"schema": {"type": "string"}}}},
            "401": error_response("no token, or a wrong or revoked one"),
            "403": error_response("an API token: /metrics takes a metrics token"),
            "429": error_response("too many failed authentications from this address (`too_many_failures`); see Retry-After")
        }
    })
}

/// The document as served and committed (pretty, with a final newline).
pub fn document_text() -> String {
    let mut s = serde_json::to_string_pretty(&document()).expect("a JSON value");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set `OFFSITE_UPDATE_OPENAPI=1` to rewrite the committed document after changing the API.
    #[test]
    fn the_committed_document_is_current_and_lists_every_route() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
        let text = document_text();
        if std::env::var_os("OFFSITE_UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "crates/agent/openapi.json is stale: run OFFSITE_UPDATE_OPENAPI=1 cargo test -p offsite-agent openapi"
        );
        let doc = document();
        for (method, route) in crate::api::ROUTES {
            assert!(
                doc["paths"][route][method].is_object(),
                "{method} {route} is not in the OpenAPI document"
            );
        }
        // And nothing in the document that the agent does not serve.
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys() {
                assert!(
                    crate::api::ROUTES.contains(&(method.as_str(), path.as_str())),
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }

    /// Each type's schema in the document is the one generated from the type now, under the
    /// name the paths refer to: a field added to a wire type cannot be left out.
    #[test]
    fn each_documented_schema_is_the_one_generated_from_its_type() {
        use offsite_core::sources::agent_wire::{AgentBackup, AgentBackupError};
        use utoipa::ToSchema;
        fn generated<T: ToSchema>() -> (String, Value) {
            (
                T::name().into_owned(),
                serde_json::to_value(T::schema()).unwrap(),
            )
        }
        let doc = document();
        let documented = doc["components"]["schemas"].as_object().unwrap();
        let types = [
            ("CreateBackup", generated::<CreateBackup>()),
            ("Created", generated::<Created>()),
            ("Backup", generated::<AgentBackup>()),
            ("BackupList", generated::<BackupList>()),
            ("AgentBackupError", generated::<AgentBackupError>()),
            ("DownloadLink", generated::<DownloadLink>()),
            ("PutSchedule", generated::<PutSchedule>()),
            ("Schedule", generated::<ScheduleOut>()),
            ("Error", generated::<ApiError>()),
        ];
        for (name, (generated_name, schema)) in &types {
            assert_eq!(name, generated_name);
            assert_eq!(documented.get(*name), Some(schema), "schema {name}");
        }
        // The generated schemas do not come from anywhere else: each one in the document is
        // one of these types or a type one of them uses.
        for name in documented.keys() {
            assert!(
                types.iter().any(|(n, _)| n == name)
                    || doc_refs(&doc).contains(&format!("#/components/schemas/{name}")),
                "{name} is in the document but no path or type uses it"
            );
        }
    }

    /// Every `$ref` in the document (`#/components/…`).
    fn doc_refs(v: &Value) -> Vec<String> {
        let mut out = Vec::new();
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => out.extend(doc_refs(v)),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| out.extend(doc_refs(v))),
            _ => {}
        }
        out
    }

    /// Every reference in the document names a schema it has (a type used by a documented type
    /// is generated with it).
    #[test]
    fn every_reference_in_the_document_resolves() {
        let doc = document();
        let refs = doc_refs(&doc);
        assert!(refs.len() >= 20, "{refs:?}");
        for r in refs {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{r} is not a schema reference"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{r} does not resolve"
            );
        }
    }

    /// What a type always sends is what its schema requires, and what it may leave out or send
    /// as `null` is not required (the derive reads serde's `rename`, `default`, `skip` and
    /// `skip_serializing_if`).
    #[test]
    fn required_fields_are_the_ones_always_sent() {
        let doc = document();
        let required = |name: &str| {
            let mut r: Vec<String> = doc["components"]["schemas"][name]["required"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            r.sort();
            r
        };
        let always = |v: Value| {
            let mut k: Vec<String> = v
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.clone())
                .collect();
            k.sort();
            k
        };
        let bare = offsite_core::sources::agent_wire::AgentBackup {
            backup_id: "b".into(),
            project: "p".into(),
            status: "CREATING".into(),
            progress: 0,
            created_at: "t".into(),
            completed_at: None,
            backup_type: None,
            size: None,
            sha256: None,
            file_name: None,
            error: None,
            phase: None,
            bytes_done: None,
            bytes_total: None,
        };
        assert_eq!(
            always(serde_json::to_value(bare).unwrap()),
            required("Backup")
        );
        let off = ScheduleOut {
            enabled: false,
            schedule: None,
            time_zone: None,
            backup_type: None,
            paused: None,
            next_runs: vec![],
            retention: None,
            retention_source: None,
        };
        assert_eq!(
            always(serde_json::to_value(off).unwrap()),
            required("Schedule")
        );
        let e = ApiError::not_found("x");
        assert_eq!(always(serde_json::to_value(e).unwrap()), required("Error"));
        let create = CreateBackup {
            backup_type: "FULL".into(),
            compression: None,
            encryption: None,
            selection: None,
        };
        assert_eq!(
            always(serde_json::to_value(create).unwrap()),
            required("CreateBackup")
        );
        assert_eq!(required("PutSchedule"), Vec::<String>::new());
    }

    /// Every route in the document is served by the router (answered by its handler, not by
    /// the fallback or with 405), and a documented path answers no method the document does
    /// not list.
    #[tokio::test]
    async fn every_documented_route_is_served_and_no_other() {
        use axum::body::Body;
        use axum::http::{Method, Request, StatusCode};
        use tower_service::Service;
        let dir = tempfile::tempdir().unwrap();
        let config =
            crate::AgentConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        let agent = crate::Agent::open(config, false).await.unwrap();
        // A token for every project, so the methods of a path are told apart past the bearer
        // check (which answers before a 405).
        let (_, token) = agent.tokens.create(None, false).unwrap();
        let mut router = crate::api::router(agent);
        let doc = document();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            let uri = path
                .replace("{id}", "shop")
                .replace("{backup_id}", "0b1e9a52-5f63-4a1b-9c6e-2b4f0f6f9d11")
                .replace("{file_name}", "x.tar.gz");
            for method in ["get", "post", "put", "delete", "patch"] {
                let req = Request::builder()
                    .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
                    .uri(&uri)
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::from("{}"))
                    .unwrap();
                let resp = router.call(req).await.unwrap();
                let status = resp.status();
                let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap();
                let fallback = status == StatusCode::NOT_FOUND
                    && String::from_utf8_lossy(&body).contains("no such route");
                let unrouted = fallback || status == StatusCode::METHOD_NOT_ALLOWED;
                let documented = ops.get(method).is_some();
                assert_eq!(
                    documented,
                    !unrouted,
                    "{method} {path}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
    }

    /// The documented schemas are the wire types' fields exactly (the types are defined once, in
    /// `offsite_core::sources::agent_wire`, and used by the agent and the laptop's client).
    #[test]
    fn the_documented_schemas_are_the_wire_types() {
        use offsite_core::sources::agent_wire::{
            AgentBackup, AgentBackupError, CreateBackup, Created, DownloadLink,
        };
        fn keys(v: serde_json::Value) -> Vec<String> {
            let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
            k.sort();
            k
        }
        let doc = document();
        let documented =
            |name: &str| keys(doc["components"]["schemas"][name]["properties"].clone());
        let error = AgentBackupError {
            code: "c".into(),
            message: "m".into(),
        };
        let samples = [
            (
                "CreateBackup",
                serde_json::to_value(CreateBackup {
                    backup_type: "FULL".into(),
                    compression: Some(json!("gzip")),
                    encryption: Some(json!(false)),
                    selection: Some(offsite_core::selection::BackupSelection {
                        exclude_table_data: vec!["public.logs".into()],
                        ..Default::default()
                    }),
                })
                .unwrap(),
            ),
            (
                "Created",
                serde_json::to_value(Created {
                    backup_id: "b".into(),
                    status: "CREATING".into(),
                    progress: 0,
                    estimated_time: Some(1),
                })
                .unwrap(),
            ),
            (
                "Backup",
                serde_json::to_value(AgentBackup {
                    backup_id: "b".into(),
                    project: "p".into(),
                    status: "FAILED".into(),
                    progress: 1,
                    created_at: "t".into(),
                    completed_at: Some("t".into()),
                    backup_type: Some("FULL".into()),
                    size: Some(1),
                    sha256: Some("s".into()),
                    file_name: Some("f".into()),
                    error: Some(error.clone()),
                    phase: Some("dumping".into()),
                    bytes_done: Some(1),
                    bytes_total: Some(2),
                })
                .unwrap(),
            ),
            (
                "DownloadLink",
                serde_json::to_value(DownloadLink {
                    download_url: "https://x/".into(),
                    expires_at: "t".into(),
                    size: 1,
                    sha256: "s".into(),
                })
                .unwrap(),
            ),
        ];
        for (name, value) in samples {
            assert_eq!(keys(value), documented(name), "schema {name}");
        }
        assert_eq!(
            keys(serde_json::to_value(error).unwrap()),
            documented("AgentBackupError"),
            "the backup's error"
        );
        let schedule = ScheduleOut {
            enabled: true,
            schedule: Some("daily 02:30".into()),
            time_zone: Some("UTC".into()),
            backup_type: Some("FULL".into()),
            paused: Some(false),
            next_runs: vec!["t".into()],
            retention: Some("keep-last 2".into()),
            retention_source: Some("api".into()),
        };
        let mut e = ApiError::not_found("m");
        e.hint = Some("h".into());
        e.backup_id = Some("b".into());
        for (name, value) in [
            ("Schedule", serde_json::to_value(schedule).unwrap()),
            ("Error", serde_json::to_value(e).unwrap()),
            (
                "BackupList",
                serde_json::to_value(BackupList {
                    backups: vec![],
                    retention: Some(offsite_core::sources::agent_wire::AgentRetention {
                        rules: "keep-last 2".into(),
                        source: "api".into(),
                        backups: 2,
                        bytes: 10,
                    }),
                    space: Some(offsite_core::sources::agent_wire::AgentSpace {
                        free_bytes: 1,
                        total_bytes: 2,
                        growth_bytes_per_day: 0,
                        days_until_full: None,
                        low: false,
                        reasons: vec![],
                    }),
                })
                .unwrap(),
            ),
        ] {
            assert_eq!(keys(value), documented(name), "schema {name}");
        }
    }
}
