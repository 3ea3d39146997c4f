//! The OpenAPI 3 document of the agent's API, served at `GET /openapi.json` and committed as
//! `crates/agent/openapi.json` (a test keeps the two equal and checks every route is in it).

use serde_json::{json, Value};

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
    let auth_errors = |v: &mut Value| {
        let r = v["responses"].as_object_mut().expect("responses");
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
    };
    let mut create = json!({
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
    });
    auth_errors(&mut create);
    let mut list = json!({
        "operationId": "listBackups",
        "summary": "The project's backups, newest first",
        "parameters": params(&["id"]),
        "responses": {"200": {"description": "the backups", "content": {"application/json": {"schema": {
            "type": "object", "required": ["backups"],
            "properties": {"backups": {"type": "array", "items": {"$ref": "#/components/schemas/Backup"}}}
        }}}}}
    });
    auth_errors(&mut list);
    let mut status = json!({
        "operationId": "getBackup",
        "summary": "A backup's status and progress",
        "parameters": params(&["id", "backup_id"]),
        "responses": {
            "200": {"description": "the backup", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Backup"}}}},
            "400": error_response("not a backup id")
        }
    });
    auth_errors(&mut status);
    let mut delete = json!({
        "operationId": "deleteBackup",
        "summary": "Delete a backup's archive and entry",
        "parameters": params(&["id", "backup_id"]),
        "responses": {
            "204": {"description": "deleted"},
            "400": error_response("not a backup id"),
            "409": error_response("the backup is still being made")
        }
    });
    auth_errors(&mut delete);
    let mut download = json!({
        "operationId": "getDownloadUrl",
        "summary": "A signed, expiring URL of the backup's archive",
        "parameters": params(&["id", "backup_id"]),
        "responses": {
            "200": {"description": "the URL", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DownloadLink"}}}},
            "400": error_response("not a backup id"),
            "409": error_response("the backup has no archive (not completed)")
        }
    });
    auth_errors(&mut download);
    let mut put_schedule = json!({
        "operationId": "putBackupSchedule",
        "summary": "Set (replace) or remove the project's backup schedule, run by the agent",
        "parameters": params(&["id"]),
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PutSchedule"}}}},
        "responses": {
            "200": {"description": "the schedule now", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}}},
            "400": error_response("not a schedule, an unknown type or zone, or a type the project cannot make"),
            "413": error_response("the request body is too large")
        }
    });
    auth_errors(&mut put_schedule);
    let mut get_schedule = json!({
        "operationId": "getBackupSchedule",
        "summary": "The project's backup schedule",
        "parameters": params(&["id"]),
        "responses": {
            "200": {"description": "the schedule (enabled: false when there is none)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Schedule"}}}}
        }
    });
    auth_errors(&mut get_schedule);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Offsite agent",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Backups made next to the database by `offsite serve`, triggered and downloaded from elsewhere. Modelled on the backup API of self-hosted Supabase managers (SupaManager). `{id}` is a project id from the agent's configuration."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/platform/projects/{id}/backups": {"post": create, "get": list},
            "/platform/projects/{id}/backups/{backup_id}": {"get": status, "delete": delete},
            "/platform/projects/{id}/backups/{backup_id}/download": {"get": download},
            "/platform/projects/{id}/backup-schedule": {"put": put_schedule, "get": get_schedule},
            "/files/{backup_id}/{file_name}": {"get": {
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
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3", "content": {"application/json": {}}}}
            }},
            "/healthz": {"get": {
                "operationId": "health", "summary": "Liveness", "security": [],
                "responses": {"200": {"description": "ok", "content": {"text/plain": {}}}}
            }}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a token from `offsite serve token create`"}},
            "schemas": {
                "CreateBackup": {
                    "type": "object", "required": ["type"],
                    "properties": {
                        "type": {"type": "string", "enum": ["FULL", "DATABASE", "STORAGE", "CONFIG"]},
                        "compression": {"description": "\"gzip\" (default level), \"none\", or a gzip level 0–9", "oneOf": [{"type": "string", "enum": ["gzip", "none"]}, {"type": "integer", "minimum": 0, "maximum": 9}]},
                        "encryption": {"description": "not offered by the agent: false or \"none\"", "oneOf": [{"type": "boolean"}, {"type": "string"}]}
                    }
                },
                "Created": {
                    "type": "object", "required": ["backup_id", "status", "progress"],
                    "properties": {
                        "backup_id": {"type": "string", "format": "uuid"},
                        "status": {"type": "string", "enum": ["CREATING"]},
                        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                        "estimated_time": {"type": "integer", "nullable": true, "description": "seconds, from the project's last successful backup"}
                    }
                },
                "Backup": {
                    "type": "object", "required": ["backup_id", "project", "status", "progress", "created_at"],
                    "properties": {
                        "backup_id": {"type": "string", "format": "uuid"},
                        "project": {"type": "string"},
                        "type": {"type": "string", "nullable": true, "enum": ["FULL", "DATABASE", "STORAGE", "CONFIG", "INCREMENTAL"]},
                        "status": {"type": "string", "enum": ["CREATING", "COMPLETED", "FAILED"]},
                        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                        "created_at": {"type": "string", "format": "date-time"},
                        "completed_at": {"type": "string", "format": "date-time", "nullable": true},
                        "size": {"type": "integer", "format": "int64", "nullable": true},
                        "sha256": {"type": "string", "nullable": true},
                        "file_name": {"type": "string", "nullable": true},
                        "error": {"nullable": true, "type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}
                    }
                },
                "DownloadLink": {
                    "type": "object", "required": ["download_url", "expires_at", "size", "sha256"],
                    "properties": {
                        "download_url": {"type": "string", "format": "uri"},
                        "expires_at": {"type": "string", "format": "date-time"},
                        "size": {"type": "integer", "format": "int64"},
                        "sha256": {"type": "string"}
                    }
                },
                "PutSchedule": {
                    "type": "object",
                    "properties": {
                        "schedule": {"type": "string", "description": "every 6h, daily 02:30, weekly mon,thu 02:30, monthly 1 03:00, cron 30 2 * * *"},
                        "time_zone": {"type": "string", "description": "IANA zone of the times (default: the agent host's)"},
                        "type": {"type": "string", "enum": ["FULL", "DATABASE", "STORAGE", "CONFIG"], "description": "default FULL"},
                        "enabled": {"type": "boolean", "description": "false removes the schedule"}
                    }
                },
                "Schedule": {
                    "type": "object", "required": ["enabled"],
                    "properties": {
                        "enabled": {"type": "boolean"},
                        "schedule": {"type": "string"},
                        "time_zone": {"type": "string"},
                        "type": {"type": "string", "enum": ["FULL", "DATABASE", "STORAGE", "CONFIG"]},
                        "paused": {"type": "boolean"},
                        "next_runs": {"type": "array", "items": {"type": "string", "format": "date-time"}}
                    }
                },
                "Error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "stable: unauthorized, forbidden, not_found, invalid_input, backup_running, not_ready, payload_too_large, bad_signature, url_expired, token_revoked, too_many_failures, unavailable, or an engine error code"},
                        "message": {"type": "string"},
                        "hint": {"type": "string"},
                        "backup_id": {"type": "string", "format": "uuid", "description": "with backup_running: the running backup"}
                    }
                }
            }
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
            keys(
                doc["components"]["schemas"]["Backup"]["properties"]["error"]["properties"].clone()
            ),
            "the backup's error"
        );
    }
}
