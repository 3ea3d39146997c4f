//! A fake Supabase Management API on 127.0.0.1 for one project (and a second one when asked,
//! [`FakeManagementApi::add_project`]): it answers documents shaped as the API's OpenAPI document
//! describes them (github.com/supabase/cli, `packages/api/src/generated/openapi.json`), checks
//! the bearer token, records every request (method, path, whether it carried the token, body,
//! when), merges `PATCH` bodies into the documents it serves, replaces them on `PUT`, and can be
//! told to answer 401/403 to everything, any status for one path (always, or the next N times),
//! or 429 with `Retry-After` to the next N requests.
//!
//! Its project holds fake secrets ([`FAKE_SECRETS`], [`VAULT_ROOT_KEY`]) in the places real ones
//! live, so a test can search everything Offsite produced for them.
//!
//! It runs on its own thread with its own runtime (it works under any test harness) and stops
//! when dropped.

use crate::serve::serve_http;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The token the fake API accepts.
pub const TOKEN: &str = "sbp_fake_0123456789abcdef0123456789abcdef01";
/// The fake project's ref.
pub const PROJECT_REF: &str = "abcdefghijklmnopqrst";

/// Secret values planted in the fake project's configuration (auth, PostgREST). None of them may
/// appear in a redacted snapshot.
pub const FAKE_SECRETS: &[&str] = &[
    "FAKE-smtp-pass-2f9c1e",
    "FAKE-google-oauth-secret-77ab",
    "FAKE-apple-oauth-secret-12cd",
    "v1,whsec_FAKEhookSecret3e5f",
    "FAKE-twilio-auth-token-3c1d",
    "FAKE-vonage-api-key-91aa",
    "FAKE-vonage-api-secret-0b0b",
    "FAKE-captcha-secret-5e5e",
    "FAKE-auth-jwt-secret-4242",
    "FAKE-postgrest-jwt-secret-9f9f",
    "FAKE-messagebird-access-key-7a7a",
];

/// Secret values of the fake project's Edge Function secrets (`/secrets` answers only their
/// SHA-256 digests, as the real API does).
pub const FAKE_FUNCTION_SECRETS: &[(&str, &str)] = &[
    ("STRIPE_SECRET_KEY", "FAKE-sk_live_stripe-6b6b"),
    ("OPENAI_API_KEY", "FAKE-openai-key-8c8c"),
];

/// The fake project's Vault root key (`GET /pgsodium`): a secret that only an encrypted archive
/// may hold.
pub const VAULT_ROOT_KEY: &str = "5ea1ed0f5ea1ed0f5ea1ed0f5ea1ed0f0123456789abcdef0123456789abcdef";

/// A second project ([`FakeManagementApi::add_project`]): where a backup is restored "into
/// another project".
pub const OTHER_PROJECT_REF: &str = "zyxwvutsrqponmlkjihg";
/// The second project's own Vault root key.
pub const OTHER_VAULT_ROOT_KEY: &str =
    "0000000000000000000000000000000000000000000000000000000000a0a0a0";

/// The fake project's Edge Functions (slugs).
pub const FUNCTION_SLUGS: &[&str] = &["hello-world", "stripe-webhook"];

/// One request as the fake API saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// An `Authorization` header was sent.
    pub had_auth_header: bool,
    /// It was `Bearer <TOKEN>`.
    pub authorized: bool,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    body: Vec<u8>,
    content_type: String,
    content_encoding: Option<String>,
    /// A `Location` header (for redirects).
    location: Option<String>,
}

impl Answer {
    fn json(status: u16, v: &Value) -> Self {
        Answer {
            status,
            body: serde_json::to_vec(v).expect("json"),
            content_type: "application/json".into(),
            content_encoding: None,
            location: None,
        }
    }
}

/// How a successful `PATCH` is answered (the real endpoints differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatchAnswer {
    /// 200 with the updated document (auth, PostgREST).
    Document,
    /// 200 without a body (storage).
    Empty,
    /// 204 (realtime).
    NoContent,
}

#[derive(Debug)]
struct State {
    token: String,
    routes: BTreeMap<String, Answer>,
    patch_answers: BTreeMap<String, PatchAnswer>,
    failing_patches: BTreeMap<String, u16>,
    /// path → (status, times): temporary failures of one path.
    transient: BTreeMap<String, (u16, u32)>,
    fail_all: Option<u16>,
    rate_limited: u32,
    retry_after_secs: u64,
    requests: Vec<RecordedRequest>,
}

/// The fake API (see the module's description). Dropping it stops the server.
pub struct FakeManagementApi {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for FakeManagementApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeManagementApi")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeManagementApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl FakeManagementApi {
    /// Serve the fake project [`PROJECT_REF`] (every documented endpoint Offsite reads; SSO
    /// providers answer 404 as for a project without SAML), accepting [`TOKEN`].
    pub fn start() -> Self {
        let api = Self::empty(TOKEN);
        api.load_fixture();
        api
    }

    /// Serve nothing (every path 404) until told, accepting `token`.
    pub fn empty(token: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            routes: BTreeMap::new(),
            patch_answers: BTreeMap::new(),
            failing_patches: BTreeMap::new(),
            transient: BTreeMap::new(),
            fail_all: None,
            rate_limited: 0,
            retry_after_secs: 0,
            requests: Vec::new(),
        }));
        let st = state.clone();
        let (addr, stop) = serve_http("fake management API", 1, move |req| {
            let st = st.clone();
            async move { handle(&st, req).await }
        });
        FakeManagementApi {
            addr,
            state,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answer `GET path` with `doc`.
    pub fn serve_json(&self, path: &str, doc: Value) {
        self.lock()
            .routes
            .insert(path.to_string(), Answer::json(200, &doc));
    }

    /// Answer `GET path` with raw bytes.
    pub fn serve_bytes(
        &self,
        path: &str,
        bytes: &[u8],
        content_type: &str,
        content_encoding: Option<&str>,
    ) {
        self.lock().routes.insert(
            path.to_string(),
            Answer {
                status: 200,
                body: bytes.to_vec(),
                content_type: content_type.into(),
                content_encoding: content_encoding.map(str::to_string),
                location: None,
            },
        );
    }

    /// Answer every request for `path` with a redirect (`status`, 301/302/307/308) to `location`.
    pub fn serve_redirect(&self, path: &str, status: u16, location: &str) {
        let mut a = Answer::json(status, &json!({ "message": "Moved" }));
        a.location = Some(location.to_string());
        self.lock().routes.insert(path.to_string(), a);
    }

    /// Answer every request for `path` with `status` and a JSON `{"message"}` body.
    pub fn serve_status(&self, path: &str, status: u16) {
        let message = match status {
            404 => "Not found",
            403 => "Forbidden action",
            401 => "Unauthorized",
            _ => "Failed",
        };
        self.lock().routes.insert(
            path.to_string(),
            Answer::json(status, &json!({ "message": message })),
        );
    }

    /// Answer `GET /v1/projects/{PROJECT_REF}/database/backups` as the API documents it
    /// (`V1BackupsResponse`): the flags, then one entry per `(status, inserted_at)` (`COMPLETED`,
    /// `FAILED`, `PENDING`…; RFC 3339), with `physical_backup_data` as a WAL-G project has it.
    pub fn serve_database_backups(
        &self,
        pitr_enabled: bool,
        walg_enabled: bool,
        backups: &[(&str, &str)],
    ) {
        let list: Vec<Value> = backups
            .iter()
            .enumerate()
            .map(|(i, (status, at))| {
                json!({"id": i + 1, "is_physical_backup": walg_enabled, "status": status,
                       "inserted_at": at})
            })
            .collect();
        let physical = if walg_enabled {
            json!({"earliest_physical_backup_date_unix": 1740823200u64,
                   "latest_physical_backup_date_unix": 1748736000u64})
        } else {
            json!({})
        };
        self.serve_json(
            &format!("/v1/projects/{PROJECT_REF}/database/backups"),
            json!({"region": "eu-central-1", "walg_enabled": walg_enabled,
                   "pitr_enabled": pitr_enabled, "backups": list,
                   "physical_backup_data": physical}),
        );
    }

    /// Answer every request with `status` (401, 403…) until called with `None`.
    pub fn fail_all(&self, status: Option<u16>) {
        self.lock().fail_all = status;
    }

    /// Answer the next `times` requests with 429 and `Retry-After: <retry_after_secs>`.
    pub fn rate_limit(&self, times: u32, retry_after_secs: u64) {
        let mut st = self.lock();
        st.rate_limited = times;
        st.retry_after_secs = retry_after_secs;
    }

    /// Serve a second project `project_ref` with the first one's documents (its own name and
    /// ref) and its own Vault root key `root_key`.
    pub fn add_project(&self, project_ref: &str, root_key: &str) {
        let from = format!("/v1/projects/{PROJECT_REF}");
        let to = format!("/v1/projects/{project_ref}");
        let mut st = self.lock();
        let copies: Vec<(String, Answer)> = st
            .routes
            .iter()
            .filter_map(|(p, a)| {
                let rest = p.strip_prefix(&from)?;
                let mut a = a.clone();
                if rest.is_empty() {
                    let mut doc: Value = serde_json::from_slice(&a.body).ok()?;
                    doc["id"] = json!(project_ref);
                    doc["ref"] = json!(project_ref);
                    doc["name"] = json!("Shop (new)");
                    a = Answer::json(200, &doc);
                }
                Some((format!("{to}{rest}"), a))
            })
            .collect();
        st.routes.extend(copies);
        st.routes.insert(
            format!("{to}/pgsodium"),
            Answer::json(200, &json!({ "root_key": root_key })),
        );
        let answers: Vec<(String, PatchAnswer)> = st
            .patch_answers
            .iter()
            .filter_map(|(p, a)| Some((format!("{to}{}", p.strip_prefix(&from)?), *a)))
            .collect();
        st.patch_answers.extend(answers);
    }

    /// The `PUT` requests so far: path and JSON body.
    pub fn puts(&self) -> Vec<(String, Value)> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method == "PUT")
            .map(|r| {
                (
                    r.path.clone(),
                    serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                )
            })
            .collect()
    }

    /// Refuse `PATCH` or `PUT path` with `status` until [`Self::accept_writes`]; the error
    /// message echoes the request body (as a careless server might), so callers must keep it
    /// out of their own error text.
    pub fn fail_patch(&self, path: &str, status: u16) {
        self.lock().failing_patches.insert(path.to_string(), status);
    }

    /// Take `PATCH` and `PUT path` again after [`Self::fail_patch`].
    pub fn accept_writes(&self, path: &str) {
        self.lock().failing_patches.remove(path);
    }

    /// Answer the next `times` requests for `path` (any method) with `status` (a 503, a 429
    /// with `Retry-After: 1`), then as usual.
    pub fn fail_next(&self, path: &str, status: u16, times: u32) {
        self.lock()
            .transient
            .insert(path.to_string(), (status, times));
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// How many requests arrived.
    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    /// The `PATCH` requests so far: path and JSON body.
    pub fn patches(&self) -> Vec<(String, Value)> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method == "PATCH")
            .map(|r| {
                (
                    r.path.clone(),
                    serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                )
            })
            .collect()
    }

    /// The JSON document served at `path` now (after merged `PATCH`es).
    pub fn doc(&self, path: &str) -> Option<Value> {
        let st = self.lock();
        let a = st.routes.get(path)?;
        serde_json::from_slice(&a.body).ok()
    }

    /// Take function `slug` out of the project (as if it had been deleted in the dashboard).
    pub fn remove_function(&self, slug: &str) {
        let list = format!("/v1/projects/{PROJECT_REF}/functions");
        let mut st = self.lock();
        st.routes.remove(&format!("{list}/{slug}"));
        st.routes.remove(&format!("{list}/{slug}/body"));
        listed(&mut st, slug, None);
    }

    /// The deployed bundle of function `slug` (as served).
    pub fn function_body(slug: &str) -> Vec<u8> {
        // An eszip starts with its magic; the rest is arbitrary (not UTF-8).
        let mut b = b"ESZIP2.3".to_vec();
        b.extend_from_slice(slug.as_bytes());
        b.extend((0..=255u8).cycle().take(40_000).map(|x| x ^ 0xA5));
        b
    }

    fn load_fixture(&self) {
        let r = format!("/v1/projects/{PROJECT_REF}");
        let s = FAKE_SECRETS;
        self.serve_json(
            &r,
            json!({
                "id": PROJECT_REF, "ref": PROJECT_REF, "organization_id": "fakeorg",
                "organization_slug": "fakeorg", "name": "Shop", "region": "eu-central-1",
                "created_at": "2025-03-01T10:00:00.000Z", "status": "ACTIVE_HEALTHY",
                "database": {"host": format!("db.{PROJECT_REF}.supabase.co"),
                             "version": "15.8.1.085", "postgres_engine": "15",
                             "release_channel": "ga"}
            }),
        );
        let mut auth = json!({
            "sms_provider": "twilio", "sms_twilio_account_sid": "ACfake0001",
            "sms_twilio_auth_token": s[4], "sms_twilio_message_service_sid": "MGfake0001",
            "sms_vonage_api_key": s[5], "sms_vonage_api_secret": s[6],
            "sms_vonage_from": "Shop", "sms_messagebird_access_key": s[10],
            "security_captcha_enabled": true, "security_captcha_provider": "hcaptcha",
            "security_captcha_secret": s[7],
            "password_min_length": 10, "password_hibp_enabled": true,
            "rate_limit_email_sent": 30, "rate_limit_token_refresh": 150,
            "refresh_token_rotation_enabled": true,
            "custom_oauth_max_providers": 3, "saml_enabled": false
        });
        let first = json!({
                "site_url": "https://shop.example.com",
                "uri_allow_list": "https://shop.example.com/**",
                "disable_signup": false, "jwt_exp": 3600, "jwt_secret": s[8],
                "mailer_autoconfirm": false, "mailer_otp_exp": 3600,
                "mailer_subjects_invite": "You have been invited",
                "smtp_admin_email": "noreply@example.com", "smtp_host": "smtp.example.com",
                "smtp_port": "587", "smtp_user": "mailer", "smtp_pass": s[0],
                "smtp_sender_name": "Shop", "smtp_max_frequency": 60,
                "external_email_enabled": true, "external_phone_enabled": true,
                "external_google_enabled": true,
                "external_google_client_id": "1234-fake.apps.googleusercontent.com",
                "external_google_secret": s[1], "external_google_additional_client_ids": "",
                "external_apple_enabled": true, "external_apple_client_id": "com.example.shop",
                "external_apple_secret": s[2],
                "external_github_enabled": false, "external_github_client_id": null,
                "external_github_secret": null,
                "hook_custom_access_token_enabled": true,
                "hook_custom_access_token_uri": "pg-functions://postgres/public/custom_claims",
                "hook_custom_access_token_secrets": s[3]
        });
        for (k, v) in first.as_object().expect("object") {
            auth[k] = v.clone();
        }
        self.serve_json(&format!("{r}/config/auth"), auth);
        self.serve_json(
            &format!("{r}/postgrest"),
            json!({"db_schema": "public,storage,graphql_public", "max_rows": 1000,
                   "db_extra_search_path": "public,extensions", "db_pool": null,
                   "jwt_secret": s[9]}),
        );
        self.serve_json(
            &format!("{r}/config/storage"),
            json!({"fileSizeLimit": 52428800,
                   "features": {"imageTransformation": {"enabled": true},
                                "s3Protocol": {"enabled": true},
                                "icebergCatalog": {"enabled": false, "maxNamespaces": 0,
                                                   "maxTables": 0, "maxCatalogs": 0},
                                "vectorBuckets": {"enabled": false, "maxBuckets": 0,
                                                  "maxIndexes": 0}},
                   "capabilities": {"list_v2": true, "iceberg_catalog": false},
                   "external": {"upstreamTarget": "main"},
                   "migrationVersion": "add-search-v2-sort-support",
                   "databasePoolMode": "recycled"}),
        );
        self.serve_json(
            &format!("{r}/config/realtime"),
            json!({"private_only": false, "connection_pool": 2, "max_concurrent_users": 200,
                   "max_events_per_second": 100, "max_bytes_per_second": 100000,
                   "max_channels_per_client": 100, "max_joins_per_second": 100,
                   "max_presence_events_per_second": 100, "max_payload_size_in_kb": 100,
                   "suspend": false, "presence_enabled": true}),
        );
        self.serve_json(
            &format!("{r}/config/database/pooler"),
            json!([{"identifier": PROJECT_REF, "database_type": "PRIMARY",
                    "is_using_scram_auth": true, "db_user": "postgres",
                    "db_host": "aws-0-eu-central-1.pooler.supabase.com", "db_port": 6543,
                    "db_name": "postgres",
                    "connection_string": format!("postgresql://postgres.{PROJECT_REF}:[YOUR-PASSWORD]@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"),
                    "connectionString": format!("postgresql://postgres.{PROJECT_REF}:[YOUR-PASSWORD]@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"),
                    "default_pool_size": 15, "max_client_conn": 200,
                    "pool_mode": "transaction"}]),
        );
        self.serve_json(
            &format!("{r}/config/database/postgres"),
            json!({"statement_timeout": "8s", "max_connections": 60, "work_mem": "4MB"}),
        );
        self.serve_json(
            &format!("{r}/network-restrictions"),
            json!({"entitlement": "allowed",
                   "config": {"dbAllowedCidrs": ["203.0.113.0/24"], "dbAllowedCidrsV6": []},
                   "status": "applied", "applied_at": "2025-06-01T00:00:00Z"}),
        );
        self.serve_json(
            &format!("{r}/ssl-enforcement"),
            json!({"currentConfig": {"database": true}, "appliedSuccessfully": true}),
        );
        // A project without SAML: the documented 404.
        self.lock().routes.insert(
            format!("{r}/config/auth/sso/providers"),
            Answer::json(
                404,
                &json!({"message": "SAML 2.0 support is not enabled for this project"}),
            ),
        );
        self.serve_json(&format!("{r}/config/auth/third-party-auth"), json!([]));
        let functions: Vec<Value> = FUNCTION_SLUGS
            .iter()
            .enumerate()
            .map(|(i, slug)| {
                json!({"id": format!("00000000-0000-0000-0000-00000000000{i}"), "slug": slug,
                       "name": slug, "status": "ACTIVE", "version": 3 + i,
                       "created_at": 1740823200000u64, "updated_at": 1748736000000u64,
                       "verify_jwt": i == 0, "import_map": false,
                       "entrypoint_path": format!("file:///tmp/functions/{slug}/index.ts"),
                       "ezbr_sha256": crate::conformance::sha256_hex(&Self::function_body(slug))})
            })
            .collect();
        self.serve_json(&format!("{r}/functions"), Value::Array(functions.clone()));
        for (slug, meta) in FUNCTION_SLUGS.iter().zip(functions) {
            self.serve_json(&format!("{r}/functions/{slug}"), meta);
            self.serve_bytes(
                &format!("{r}/functions/{slug}/body"),
                &Self::function_body(slug),
                "application/octet-stream",
                None,
            );
        }
        let secrets: Vec<Value> = FAKE_FUNCTION_SECRETS
            .iter()
            .map(|(name, value)| {
                json!({"name": name, "value": crate::conformance::sha256_hex(value.as_bytes()),
                       "updated_at": "2025-05-01T00:00:00Z"})
            })
            .collect();
        self.serve_json(&format!("{r}/secrets"), Value::Array(secrets));
        self.serve_json(
            &format!("{r}/pgsodium"),
            json!({ "root_key": VAULT_ROOT_KEY }),
        );
        let mut st = self.lock();
        st.patch_answers
            .insert(format!("{r}/config/storage"), PatchAnswer::Empty);
        st.patch_answers
            .insert(format!("{r}/config/realtime"), PatchAnswer::NoContent);
    }
}

async fn handle(state: &Mutex<State>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let header = |name: hyper::header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let auth = header(hyper::header::AUTHORIZATION);
    let content_type = header(hyper::header::CONTENT_TYPE);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let authorized = auth.as_deref() == Some(format!("Bearer {}", st.token).as_str());
    st.requests.push(RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        had_auth_header: auth.is_some(),
        authorized,
        content_type: content_type.clone(),
        body: body.clone(),
        at: Instant::now(),
    });
    if st.rate_limited > 0 {
        st.rate_limited -= 1;
        let mut r = respond(&Answer::json(
            429,
            &json!({"message": "ThrottlerException: Too Many Requests"}),
        ));
        r.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            st.retry_after_secs.to_string().parse().expect("header"),
        );
        return r;
    }
    if let Some((status, times)) = st.transient.get_mut(&path) {
        if *times > 0 {
            *times -= 1;
            let mut r = respond(&Answer::json(
                *status,
                &json!({"message": "temporarily unavailable"}),
            ));
            if *status == 429 {
                r.headers_mut()
                    .insert(hyper::header::RETRY_AFTER, "1".parse().expect("header"));
            }
            return r;
        }
    }
    if let Some(status) = st.fail_all {
        return respond(&Answer::json(status, &json!({"message": "Unauthorized"})));
    }
    if !authorized {
        return respond(&Answer::json(401, &json!({"message": "Unauthorized"})));
    }
    if let Some(answer) = deploy_function(&mut st, &method, &path, content_type.as_deref(), &body) {
        return respond(&answer);
    }
    match method.as_str() {
        "GET" => match st.routes.get(&path) {
            Some(a) => respond(a),
            None => respond(&Answer::json(404, &json!({"message": "Not found"}))),
        },
        "PUT" => {
            if let Some(status) = st.failing_patches.get(&path) {
                let echo = String::from_utf8_lossy(&body).to_string();
                return respond(&Answer::json(
                    *status,
                    &json!({ "message": format!("invalid body: {echo}") }),
                ));
            }
            let Ok(doc @ Value::Object(_)) = serde_json::from_slice::<Value>(&body) else {
                return respond(&Answer::json(400, &json!({"message": "Bad Request"})));
            };
            match st.routes.get_mut(&path) {
                Some(route) if route.status == 200 => {
                    *route = Answer::json(200, &doc);
                    respond(&Answer::json(200, &doc))
                }
                Some(route) => respond(route),
                None => respond(&Answer::json(404, &json!({"message": "Not found"}))),
            }
        }
        "PATCH" => {
            if let Some(status) = st.failing_patches.get(&path) {
                let echo = String::from_utf8_lossy(&body).to_string();
                return respond(&Answer::json(
                    *status,
                    &json!({ "message": format!("invalid settings: {echo}") }),
                ));
            }
            let answer = st
                .patch_answers
                .get(&path)
                .copied()
                .unwrap_or(PatchAnswer::Document);
            let Some(route) = st.routes.get_mut(&path) else {
                return respond(&Answer::json(404, &json!({"message": "Not found"})));
            };
            if route.status != 200 {
                return respond(route);
            }
            let (Ok(Value::Object(mut doc)), Ok(Value::Object(patch))) = (
                serde_json::from_slice::<Value>(&route.body),
                serde_json::from_slice::<Value>(&body),
            ) else {
                return respond(&Answer::json(400, &json!({"message": "Bad Request"})));
            };
            for (k, v) in patch {
                doc.insert(k, v);
            }
            let doc = Value::Object(doc);
            *route = Answer::json(200, &doc);
            match answer {
                PatchAnswer::Document => respond(&Answer::json(200, &doc)),
                PatchAnswer::Empty => respond(&Answer {
                    status: 200,
                    body: Vec::new(),
                    content_type: "text/plain".into(),
                    content_encoding: None,

                    location: None,
                }),
                PatchAnswer::NoContent => respond(&Answer {
                    status: 204,
                    body: Vec::new(),
                    content_type: "text/plain".into(),
                    content_encoding: None,

                    location: None,
                }),
            }
        }
        _ => respond(&Answer::json(
            405,
            &json!({"message": "Method Not Allowed"}),
        )),
    }
}

/// The function list without `slug`, then with `meta` when given (as the API lists it).
fn listed(st: &mut State, slug: &str, meta: Option<Value>) {
    let list = format!("/v1/projects/{PROJECT_REF}/functions");
    let mut all: Vec<Value> = st
        .routes
        .get(&list)
        .and_then(|a| serde_json::from_slice(&a.body).ok())
        .unwrap_or_default();
    all.retain(|f| f["slug"] != json!(slug));
    all.extend(meta);
    st.routes
        .insert(list, Answer::json(200, &Value::Array(all)));
}

/// The media type of a function bundle.
pub const ESZIP_CONTENT_TYPE: &str = "application/vnd.denoland.eszip";

/// Deploying an Edge Function as the API documents it: `POST /functions?slug=…&name=…&
/// verify_jwt=…&entrypoint_path=…` creates (201; 400 "Duplicated function slug" when it exists),
/// `PATCH /functions/{slug}?…` updates (404 when it does not), both with the bundle as the body
/// (`Content-Type: application/vnd.denoland.eszip`, else 415). The function's document, the list
/// and the served body change as the API's would (version + 1, `ezbr_sha256` of the bundle).
/// `None`: not a deploy request.
fn deploy_function(
    st: &mut State,
    method: &str,
    path_q: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<Answer> {
    let list = format!("/v1/projects/{PROJECT_REF}/functions");
    let (path, q) = path_q.split_once('?').unwrap_or((path_q, ""));
    let rest = path.strip_prefix(&list)?;
    let params: BTreeMap<String, String> = url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect();
    let slug = match (method, rest) {
        ("POST", "") => params.get("slug")?.clone(),
        ("PATCH", s) if s.len() > 1 && !s[1..].contains('/') => s[1..].to_string(),
        _ => return None,
    };
    if content_type != Some(ESZIP_CONTENT_TYPE) {
        return Some(Answer::json(
            415,
            &json!({"message": "Unsupported Media Type: send the bundle as application/vnd.denoland.eszip"}),
        ));
    }
    let meta_path = format!("{list}/{slug}");
    let prev = st
        .routes
        .get(&meta_path)
        .and_then(|a| serde_json::from_slice::<Value>(&a.body).ok());
    let mut meta = match (method, prev) {
        ("POST", Some(_)) => {
            return Some(Answer::json(
                400,
                &json!({"message": "Duplicated function slug"}),
            ))
        }
        ("PATCH", None) => {
            return Some(Answer::json(404, &json!({"message": "Function not found"})))
        }
        (_, Some(prev)) => prev,
        (_, None) => json!({"id": format!("new-{slug}"), "slug": slug, "name": slug,
                             "created_at": 1764000000000u64, "version": 0, "import_map": false}),
    };
    let version = meta["version"].as_u64().unwrap_or(0) + 1;
    meta["version"] = json!(version);
    meta["status"] = json!("ACTIVE");
    meta["updated_at"] = json!(1764000000000u64 + version);
    meta["ezbr_sha256"] = json!(crate::conformance::sha256_hex(body));
    if let Some(n) = params.get("name") {
        meta["name"] = json!(n);
    }
    if let Some(v) = params.get("verify_jwt") {
        meta["verify_jwt"] = json!(v == "true");
    }
    for key in ["entrypoint_path", "import_map_path"] {
        if let Some(v) = params.get(key) {
            meta[key] = json!(v);
        }
    }
    st.routes
        .insert(meta_path.clone(), Answer::json(200, &meta));
    st.routes.insert(
        format!("{meta_path}/body"),
        Answer {
            status: 200,
            body: body.to_vec(),
            content_type: "application/octet-stream".into(),
            content_encoding: None,
            location: None,
        },
    );
    listed(st, &slug, Some(meta.clone()));
    Some(Answer::json(
        if method == "POST" { 201 } else { 200 },
        &meta,
    ))
}

fn respond(a: &Answer) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(a.status)
        .header(hyper::header::CONTENT_TYPE, a.content_type.as_str());
    if let Some(enc) = &a.content_encoding {
        b = b.header(hyper::header::CONTENT_ENCODING, enc.as_str());
    }
    if let Some(to) = &a.location {
        b = b.header(hyper::header::LOCATION, to.as_str());
    }
    b.body(Full::new(Bytes::from(a.body.clone())))
        .expect("response")
}
