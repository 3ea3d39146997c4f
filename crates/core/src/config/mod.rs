//! A Supabase project's configuration, fetched from the Management API
//! ([`crate::sources::supabase_api`]) into a [`ConfigSnapshot`]: one file per document, secrets
//! redacted unless the archive will be encrypted, what the project does not have recorded
//! rather than failed. [`diff`] compares an archived snapshot with the current one, setting by
//! setting, and [`apply_settings`] writes chosen settings back.
//!
//! The files (names relative to the archive's `config/` folder) and where they come from — paths
//! and shapes from the API's OpenAPI document (github.com/supabase/cli,
//! `packages/api/src/generated/openapi.json` at commit 1d1e7191; the CLI's Go client
//! `apps/cli-go/pkg/api/client.gen.go` is generated from it):
//!
//! | file | GET | written back by |
//! |---|---|---|
//! | `supabase/project.json` | `/v1/projects/{ref}` | — |
//! | `supabase/auth.json` | `/v1/projects/{ref}/config/auth` | `PATCH` same path |
//! | `supabase/postgrest.json` | `/v1/projects/{ref}/postgrest` | `PATCH` same path (not `jwt_secret`) |
//! | `supabase/storage.json` | `/v1/projects/{ref}/config/storage` | `PATCH` same path (`fileSizeLimit`, `features`, `external`) |
//! | `supabase/realtime.json` | `/v1/projects/{ref}/config/realtime` | `PATCH` same path |
//! | `supabase/pooler.json` | `/v1/projects/{ref}/config/database/pooler` (a list: Supavisor per database) | — |
//! | `supabase/postgres.json` | `/v1/projects/{ref}/config/database/postgres` | — (its `PUT` may restart the database) |
//! | `supabase/network-restrictions.json` | `/v1/projects/{ref}/network-restrictions` | — |
//! | `supabase/ssl-enforcement.json` | `/v1/projects/{ref}/ssl-enforcement` | — |
//! | `supabase/sso-providers.json` | `/v1/projects/{ref}/config/auth/sso/providers` (404 without SAML) | — |
//! | `supabase/third-party-auth.json` | `/v1/projects/{ref}/config/auth/third-party-auth` | — |
//! | `supabase/functions.json` | `/v1/projects/{ref}/functions` (the list) | — |
//! | `supabase/functions/<slug>/metadata.json` | `/v1/projects/{ref}/functions/{slug}` | — |
//! | `supabase/functions/<slug>/body.eszip` | `/v1/projects/{ref}/functions/{slug}/body` (the deployed eszip bundle, as sent; `body.eszip.br` when the API sends it brotli-compressed) | — |
//! | `supabase/secrets.json` | `/v1/projects/{ref}/secrets` (names and SHA-256 digests only) | — |
//!
//! | `supabase/vault-root-key.json` | `/v1/projects/{ref}/pgsodium` (encrypted archives only: [`vault`]) | `PUT` same path, when a restore is asked to |
//!
//! Not fetched: API keys, and bucket settings (those come from the database's
//! `storage.buckets`).
//!
//! A 404 means the project does not have the feature: recorded in [`ConfigSnapshot::missing`].
//! 401 and 403 fail the fetch with a hint about the token; 429 and 5xx are the caller's retry
//! wrapper's business ([`ManagementApi::guarded`](crate::sources::ManagementApi::guarded)).

mod diff;
mod functions;
pub mod redact;
pub mod vault;

pub use diff::{apply_settings, diff, AppliedSetting, ApplyReport, SettingDiff, SkippedSetting};
pub use functions::{
    chosen_functions, deploy_functions, plan_functions, DeployedFunction, FunctionAction,
    FunctionChange, ALL_FUNCTIONS, ESZIP_CONTENT_TYPE,
};
pub use redact::{is_secret_name, REDACTED};

use crate::error::{Error, ErrorKind, Result};
use crate::progress::{Phase, Reporter};
use crate::sources::ApiClient;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use tokio_util::sync::CancellationToken;

/// The archive folder the snapshot's files live in (`config/supabase/auth.json`).
pub const ARCHIVE_DIR: &str = "config";

/// Which settings of a document go back with `PATCH` to the path it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writable {
    /// None (read-only, or too dangerous to write from a backup).
    No,
    /// Every top-level setting except these (read-only ones).
    AllExcept(&'static [&'static str]),
    /// Only these top-level settings.
    Only(&'static [&'static str]),
}

impl Writable {
    /// Whether `setting` may be written back.
    pub fn allows(self, setting: &str) -> bool {
        match self {
            Writable::No => false,
            Writable::AllExcept(except) => !setting.is_empty() && !except.contains(&setting),
            Writable::Only(only) => only.contains(&setting),
        }
    }
}

/// One document the API serves about a project.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The file in the snapshot.
    pub file: &'static str,
    /// The path, `{ref}` standing for the project ref.
    pub path: &'static str,
    /// What goes back, by `PATCH` to the same path.
    pub writable: Writable,
}

impl Endpoint {
    /// The path for `project_ref`.
    pub fn path_for(&self, project_ref: &str) -> String {
        self.path.replace("{ref}", project_ref)
    }
}

/// Settings of the auth config the API answers but does not take (`AuthConfigResponse` minus
/// `UpdateAuthConfigBody`; `jwt_secret` is answered by older API versions and never taken).
const AUTH_READ_ONLY: &[&str] = &[
    "custom_oauth_max_providers",
    "nimbus_oauth_email_optional",
    "saml_allow_encrypted_assertions",
    "jwt_secret",
];

/// The project itself (read first: a 404 here means a wrong ref, not a missing feature).
pub const PROJECT: Endpoint = Endpoint {
    file: "supabase/project.json",
    path: "/v1/projects/{ref}",
    writable: Writable::No,
};

/// The list of Edge Functions.
pub const FUNCTIONS: Endpoint = Endpoint {
    file: "supabase/functions.json",
    path: "/v1/projects/{ref}/functions",
    writable: Writable::No,
};

/// The project's function secrets (names and digests).
pub const SECRETS: Endpoint = Endpoint {
    file: "supabase/secrets.json",
    path: "/v1/projects/{ref}/secrets",
    writable: Writable::No,
};

/// The settings documents, fetched and stored as answered (secrets redacted).
pub const SETTINGS: &[Endpoint] = &[
    Endpoint {
        file: "supabase/auth.json",
        path: "/v1/projects/{ref}/config/auth",
        writable: Writable::AllExcept(AUTH_READ_ONLY),
    },
    Endpoint {
        file: "supabase/postgrest.json",
        path: "/v1/projects/{ref}/postgrest",
        writable: Writable::Only(&["db_schema", "max_rows", "db_extra_search_path", "db_pool"]),
    },
    Endpoint {
        file: "supabase/storage.json",
        path: "/v1/projects/{ref}/config/storage",
        writable: Writable::Only(&["fileSizeLimit", "features", "external"]),
    },
    Endpoint {
        file: "supabase/realtime.json",
        path: "/v1/projects/{ref}/config/realtime",
        writable: Writable::Only(&[
            "private_only",
            "connection_pool",
            "max_concurrent_users",
            "max_events_per_second",
            "max_bytes_per_second",
            "max_channels_per_client",
            "max_joins_per_second",
            "max_presence_events_per_second",
            "max_payload_size_in_kb",
            "suspend",
            "presence_enabled",
        ]),
    },
    Endpoint {
        file: "supabase/pooler.json",
        path: "/v1/projects/{ref}/config/database/pooler",
        writable: Writable::No,
    },
    Endpoint {
        file: "supabase/postgres.json",
        path: "/v1/projects/{ref}/config/database/postgres",
        writable: Writable::No,
    },
    Endpoint {
        file: "supabase/network-restrictions.json",
        path: "/v1/projects/{ref}/network-restrictions",
        writable: Writable::No,
    },
    Endpoint {
        file: "supabase/ssl-enforcement.json",
        path: "/v1/projects/{ref}/ssl-enforcement",
        writable: Writable::No,
    },
    Endpoint {
        file: "supabase/sso-providers.json",
        path: "/v1/projects/{ref}/config/auth/sso/providers",
        writable: Writable::No,
    },
    Endpoint {
        file: "supabase/third-party-auth.json",
        path: "/v1/projects/{ref}/config/auth/third-party-auth",
        writable: Writable::No,
    },
];

/// The endpoint a snapshot file came from (function files: none).
pub fn endpoint_for(file: &str) -> Option<&'static Endpoint> {
    std::iter::once(&PROJECT)
        .chain(SETTINGS)
        .chain([&FUNCTIONS, &SECRETS])
        .find(|e| e.file == file)
}

/// How to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigOptions {
    /// Replace secret values by [`REDACTED`] (default). `false` only when the archive will be
    /// encrypted.
    pub redact: bool,
}

impl Default for ConfigOptions {
    fn default() -> Self {
        ConfigOptions { redact: true }
    }
}

impl ConfigOptions {
    /// The rule for a backup: configuration secrets are kept only in an archive that will be
    /// encrypted; an unencrypted one gets them redacted (the archive writer redacts again what
    /// reaches it unredacted, see [`redact::redact_files`]).
    pub fn for_archive(encrypted: bool) -> Self {
        ConfigOptions { redact: !encrypted }
    }
}

/// Something the project does not have (the API answered 404).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigMissing {
    /// The file it would have been (`supabase/sso-providers.json`).
    pub what: String,
    /// Why: the API's answer ("not found (404): SAML 2.0 support is not enabled").
    pub reason: String,
}

/// A project's configuration as fetched. Serialises with each file as name, size and SHA-256
/// (not its bytes): the shape for archive metadata and reports.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigSnapshot {
    pub project_ref: String,
    /// Whether secret values were replaced by [`REDACTED`].
    pub redacted: bool,
    /// `(name, bytes)`, sorted by name; JSON documents pretty-printed.
    #[serde(serialize_with = "serialize_files")]
    pub files: Vec<(String, Vec<u8>)>,
    /// What was redacted, as `file#/json/pointer` (`supabase/auth.json#/smtp_pass`), sorted.
    pub redactions: Vec<String>,
    /// What the project does not have.
    pub missing: Vec<ConfigMissing>,
}

impl fmt::Debug for ConfigSnapshot {
    /// Names and sizes only (an unredacted snapshot holds secrets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: Vec<(&str, usize)> = self
            .files
            .iter()
            .map(|(n, b)| (n.as_str(), b.len()))
            .collect();
        f.debug_struct("ConfigSnapshot")
            .field("project_ref", &self.project_ref)
            .field("redacted", &self.redacted)
            .field("files", &files)
            .field("redactions", &self.redactions)
            .field("missing", &self.missing)
            .finish()
    }
}

fn serialize_files<S: serde::Serializer>(
    files: &[(String, Vec<u8>)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(files.len()))?;
    for (name, bytes) in files {
        seq.serialize_element(&serde_json::json!({
            "name": name,
            "size": bytes.len(),
            "sha256": crate::digest::sha256_hex(bytes),
        }))?;
    }
    seq.end()
}

impl ConfigSnapshot {
    /// A snapshot read back from an archive's `config/` files (names relative to `config/`):
    /// redactions are found by their [`REDACTED`] markers.
    pub fn from_files(project_ref: impl Into<String>, mut files: Vec<(String, Vec<u8>)>) -> Self {
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut redactions = Vec::new();
        for (name, bytes) in &files {
            if !name.ends_with(".json") {
                continue;
            }
            if let Ok(doc) = serde_json::from_slice::<Value>(bytes) {
                markers(&doc, &mut String::new(), &mut |p| {
                    redactions.push(format!("{name}#{p}"))
                });
            }
        }
        redactions.sort();
        ConfigSnapshot {
            project_ref: project_ref.into(),
            redacted: !redactions.is_empty(),
            files,
            redactions,
            missing: Vec::new(),
        }
    }

    /// The files as archive members: `(config/<name>, bytes)`.
    pub fn archive_members(&self) -> impl Iterator<Item = (String, &[u8])> {
        self.files
            .iter()
            .map(|(n, b)| (format!("{ARCHIVE_DIR}/{n}"), b.as_slice()))
    }

    /// The bytes of file `name`.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }
}

/// Call `found` with the pointer of every [`REDACTED`] string in `v`.
fn markers(v: &Value, pointer: &mut String, found: &mut dyn FnMut(&str)) {
    let mut child = |pointer: &mut String, key: &str, v: &Value| {
        let len = pointer.len();
        pointer.push('/');
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
        markers(v, pointer, found);
        pointer.truncate(len);
    };
    match v {
        Value::String(s) if s == REDACTED => found(pointer),
        Value::Object(map) => map.iter().for_each(|(k, v)| child(pointer, k, v)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| child(pointer, &i.to_string(), v)),
        _ => {}
    }
}

/// Characters kept as they are in a function slug used in a path or file name (everything else,
/// `.` and `/` included, is percent-encoded, so a slug never climbs out of its folder).
const SLUG: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// Fetch the configuration of project `project_ref` (see the module's table). Failures other
/// than 404 end the fetch; nothing is written anywhere (the caller archives the snapshot).
pub async fn fetch_config(
    api: &dyn ApiClient,
    project_ref: &str,
    opts: &ConfigOptions,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<ConfigSnapshot> {
    check_ref(project_ref)?;
    reporter.phase(Phase::Dumping, None);
    let mut snap = ConfigSnapshot {
        project_ref: project_ref.to_string(),
        redacted: opts.redact,
        ..Default::default()
    };
    let mut fetch = Fetch {
        api,
        snap: &mut snap,
        opts,
        reporter,
        cancel,
    };

    // The project first: a 404 here is a wrong ref (or a token that cannot see it).
    fetch.check_cancel()?;
    let path = PROJECT.path_for(project_ref);
    match api.get_json(&path).await {
        Ok(doc) => fetch.store(PROJECT.file, doc),
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(Error::not_found(format!(
            "Supabase project {project_ref} was not found"
        ))
        .with_hint(
            "check the project ref (Project Settings → General → Reference ID) and that the \
                 token's user is a member of the project's organization",
        )),
        Err(e) => return Err(fetch_error(PROJECT.file, &path, e)),
    };
    for ep in SETTINGS {
        fetch.json(&ep.path_for(project_ref), ep.file).await?;
    }

    // Edge Functions: the list, then each one's metadata and deployed bundle.
    if let Some(list) = fetch
        .json(&FUNCTIONS.path_for(project_ref), FUNCTIONS.file)
        .await?
    {
        let slugs: Vec<String> = list
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.get("slug")?.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for slug in slugs {
            let enc = utf8_percent_encode(&slug, SLUG).to_string();
            let base = format!("{}/{enc}", FUNCTIONS.path_for(project_ref));
            let dir = format!("supabase/functions/{enc}");
            fetch.json(&base, &format!("{dir}/metadata.json")).await?;
            fetch.body(&format!("{base}/body"), &dir).await?;
        }
    }

    // Secrets: names and digests, never values.
    let path = SECRETS.path_for(project_ref);
    fetch.check_cancel()?;
    match api.get_json(&path).await {
        Ok(list) => {
            let bytes = pretty(&secret_digests(&list)?);
            reporter.advance(bytes.len() as u64);
            snap.files.push((SECRETS.file.to_string(), bytes));
        }
        Err(e) => fetch_failed(&mut snap, SECRETS.file, &path, e)?,
    }

    // Vault's root key: only into an encrypted archive.
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    vault::fetch_into(api, project_ref, opts.redact, &mut snap).await?;

    snap.files.sort_by(|a, b| a.0.cmp(&b.0));
    snap.redactions.sort();
    Ok(snap)
}

/// One fetch in progress.
struct Fetch<'a> {
    api: &'a dyn ApiClient,
    snap: &'a mut ConfigSnapshot,
    opts: &'a ConfigOptions,
    reporter: &'a Reporter,
    cancel: &'a CancellationToken,
}

impl Fetch<'_> {
    fn check_cancel(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        Ok(())
    }

    /// GET a JSON document into `file` (redacted as asked); `None` when the project does not
    /// have it (recorded as missing).
    async fn json(&mut self, path: &str, file: &str) -> Result<Option<Value>> {
        self.check_cancel()?;
        match self.api.get_json(path).await {
            Ok(doc) => {
                self.store(file, doc.clone());
                Ok(Some(doc))
            }
            Err(e) => {
                fetch_failed(self.snap, file, path, e)?;
                Ok(None)
            }
        }
    }

    /// Keep `doc` as `file` (redacted as asked).
    fn store(&mut self, file: &str, mut doc: Value) {
        if self.opts.redact {
            for p in redact::redact(&mut doc) {
                self.snap.redactions.push(format!("{file}#{p}"));
            }
        }
        let bytes = pretty(&doc);
        self.reporter.advance(bytes.len() as u64);
        self.snap.files.push((file.to_string(), bytes));
    }

    /// GET a function's bundle into `dir/body.eszip` (`.br` when still brotli-compressed).
    async fn body(&mut self, path: &str, dir: &str) -> Result<()> {
        self.check_cancel()?;
        let file = format!("{dir}/body.eszip");
        match self.api.get_bytes(path).await {
            Ok(body) => {
                let suffix = match body.content_encoding.as_deref().map(str::trim) {
                    Some(e) if e.eq_ignore_ascii_case("br") => ".br",
                    Some(e) if e.eq_ignore_ascii_case("gzip") => ".gz",
                    _ => "",
                };
                self.reporter.advance(body.bytes.len() as u64);
                self.snap
                    .files
                    .push((format!("{file}{suffix}"), body.bytes.to_vec()));
                Ok(())
            }
            Err(e) => fetch_failed(self.snap, &file, path, e),
        }
    }
}

/// A failed GET: a 404 is recorded as missing, anything else fails ([`fetch_error`]).
fn fetch_failed(snap: &mut ConfigSnapshot, file: &str, path: &str, e: Error) -> Result<()> {
    if e.kind() != ErrorKind::NotFound {
        return Err(fetch_error(file, path, e));
    }
    snap.missing.push(ConfigMissing {
        what: file.to_string(),
        reason: e.message().to_string(),
    });
    Ok(())
}

/// A failed GET as the fetch's error: 401/403 with a hint about the token, anything else as it
/// is, saying which file.
fn fetch_error(file: &str, path: &str, e: Error) -> Error {
    match e.kind() {
        ErrorKind::Auth => e.with_hint(
            "the Supabase access token was rejected (expired or revoked?): create a personal \
             access token at https://supabase.com/dashboard/account/tokens and store it again \
             for this project",
        ),
        ErrorKind::Permission => e.with_hint(format!(
            "the access token may not read {path}: its user needs a role in the project's \
             organization that may read project settings (or a scoped token with that \
             permission)"
        )),
        _ => e.context(format!("fetching {file}")),
    }
}

/// `[{name, digest, updated_at}]` from the API's `[{name, value, updated_at}]`. The API answers
/// a SHA-256 digest as `value` (the CLI's `secrets list` shows it as DIGEST); anything that is
/// not one is hashed here, so a value never reaches the snapshot.
fn secret_digests(list: &Value) -> Result<Value> {
    let items = list
        .as_array()
        .ok_or_else(|| Error::integrity("GET secrets: the answer is not a list".to_string()))?;
    let mut out: Vec<Value> = items
        .iter()
        .filter_map(|s| {
            let name = s.get("name")?.as_str()?;
            let value = s.get("value").and_then(Value::as_str).unwrap_or("");
            let digest = if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                value.to_ascii_lowercase()
            } else {
                crate::digest::sha256_hex(value.as_bytes())
            };
            let mut o = serde_json::json!({"name": name, "digest": digest});
            if let Some(at) = s.get("updated_at").filter(|v| !v.is_null()) {
                o["updated_at"] = at.clone();
            }
            Some(o)
        })
        .collect();
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Ok(Value::Array(out))
}

/// A project ref: letters and digits only (it goes into paths).
fn check_ref(project_ref: &str) -> Result<()> {
    if project_ref.is_empty()
        || project_ref.len() > 64
        || !project_ref.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(
            Error::invalid(format!("not a Supabase project ref: {project_ref:?}")).with_hint(
                "the ref is the 20-letter id in the project's URL (Project Settings → General)",
            ),
        );
    }
    Ok(())
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_keep_names_and_digests_only() {
        let d = "a".repeat(64);
        let got = secret_digests(&json!([
            {"name": "B", "value": d.to_uppercase(), "updated_at": "2026-01-01T00:00:00Z"},
            {"name": "A", "value": "plain-text-value"},
        ]))
        .unwrap();
        let text = got.to_string();
        assert!(!text.contains("plain-text-value"), "{text}");
        assert_eq!(got[0]["name"], "A");
        assert_eq!(
            got[0]["digest"],
            crate::digest::sha256_hex(b"plain-text-value")
        );
        assert_eq!(got[1]["digest"], d);
        assert_eq!(got[1]["updated_at"], "2026-01-01T00:00:00Z");
        assert!(secret_digests(&json!({"x": 1})).is_err());
    }

    #[test]
    fn refs_are_checked_and_endpoints_found() {
        assert!(check_ref("abcdefghijklmnopqrst").is_ok());
        for bad in ["", "a/b", "../x", "a b", "ä"] {
            assert_eq!(check_ref(bad).unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        assert_eq!(
            endpoint_for("supabase/auth.json").unwrap().path_for("r"),
            "/v1/projects/r/config/auth"
        );
        assert!(endpoint_for("supabase/functions/x/metadata.json").is_none());
        assert!(Writable::AllExcept(AUTH_READ_ONLY).allows("site_url"));
        assert!(!Writable::AllExcept(AUTH_READ_ONLY).allows("jwt_secret"));
        assert!(!Writable::AllExcept(AUTH_READ_ONLY).allows(""));
        assert_eq!(
            utf8_percent_encode("../a.b/c", SLUG).to_string(),
            "%2E%2E%2Fa%2Eb%2Fc"
        );
    }

    #[test]
    fn archived_files_give_their_redactions_back() {
        let auth = br#"{"smtp_pass":"<redacted>","x":{"k":["<redacted>"]}}"#.to_vec();
        let snap = ConfigSnapshot::from_files(
            "r",
            vec![
                ("supabase/z.json".into(), b"{}".to_vec()),
                ("supabase/auth.json".into(), auth.clone()),
                (
                    "supabase/functions/f/body.eszip".into(),
                    b"<redacted>".to_vec(),
                ),
            ],
        );
        assert_eq!(
            snap.redactions,
            ["supabase/auth.json#/smtp_pass", "supabase/auth.json#/x/k/0"]
        );
        assert!(snap.redacted);
        assert_eq!(snap.files[0].0, "supabase/auth.json");
        let json = serde_json::to_value(&snap).unwrap();
        assert_eq!(json["files"][0]["name"], "supabase/auth.json");
        assert_eq!(json["files"][0]["size"], auth.len());
        assert_eq!(json["files"][0]["sha256"], crate::digest::sha256_hex(&auth));
        assert!(json["files"][0].get("bytes").is_none());
        let members: Vec<String> = snap.archive_members().map(|(n, _)| n).collect();
        assert_eq!(members[0], "config/supabase/auth.json");
    }
}
