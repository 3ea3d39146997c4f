//! A project's components beside its database: storage (S3-compatible buckets) and its Supabase
//! project (configuration through the Management API), and its default backup type. Secrets go
//! to the keychain (`project:<name>:s3-secret`, `project:<name>:supabase-token`), never to the
//! catalog; headless runs may give them as `OFFSITE_S3_SECRET_ACCESS_KEY` / `SUPABASE_ACCESS_TOKEN`.

use crate::catalog::{Components, Project, StorageComponent, SupabaseComponent};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::retry::{RetryPolicy, Retrying};
use crate::secrets::{self, project_s3_secret_key, project_supabase_token_key, Lookup};
use crate::sources::s3::{S3Config, S3Store};
use crate::sources::{ByteRange, GetRequest, ListRequest, ObjectSource};
use crate::storage::BucketSelection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The environment variables a headless run may give the S3 secret and the Supabase access
/// token in (see [`secrets::shared_env_for_key`]).
pub use crate::secrets::{S3_SECRET_ENV, SUPABASE_TOKEN_ENV};

/// Storage settings as the window and the CLI send them (the secret is write-only).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StorageSettings {
    /// `https://<ref>.storage.supabase.co/storage/v1/s3`, …; empty or `null`: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    /// Stored in the keychain; `null` keeps the stored one. Never returned.
    pub secret_access_key: Option<String>,
    pub path_style: bool,
    pub buckets: BucketSelection,
    pub concurrency: Option<u32>,
}

/// The Supabase side as sent (the token is write-only).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SupabaseSettings {
    pub project_ref: String,
    pub api_url: Option<String>,
    /// Stored in the keychain; `null` keeps the stored one. Never returned.
    pub access_token: Option<String>,
}

/// What "Test storage" found.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StorageTestReport {
    pub endpoint: String,
    pub buckets: Vec<BucketTest>,
    /// Chosen buckets the keys cannot see.
    pub missing: Vec<String>,
}

/// One bucket in a [`StorageTestReport`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BucketTest {
    pub name: String,
    pub objects: u64,
    pub bytes: u64,
    /// `false` when counting stopped at [`TEST_COUNT_LIMIT`] objects.
    pub complete: bool,
    /// Whether an object could be read (`null`: the bucket is empty).
    pub readable: Option<bool>,
    /// Why listing or reading failed.
    pub error: Option<String>,
}

/// Counting a bucket for "Test" stops after this many objects.
pub const TEST_COUNT_LIMIT: u64 = 100_000;

pub(super) fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

pub(super) fn secret_of(
    engine: &Engine,
    key: &str,
    env: &str,
    what: &str,
) -> Result<Option<String>> {
    match secrets::lookup(engine.secrets.as_ref(), key)? {
        Lookup::Found(v) => Ok(Some(v)),
        Lookup::Missing => Ok(std::env::var(env).ok().filter(|v| !v.is_empty())),
        Lookup::Unavailable(e) => match std::env::var(env).ok().filter(|v| !v.is_empty()) {
            Some(v) => Ok(Some(v)),
            None => Err(Error::new(
                ErrorKind::KeychainUnavailable,
                format!(
                    "the {what} is in the keychain, which cannot be reached: {}",
                    e.message()
                ),
            )
            .with_hint(format!(
                "without a keychain set {env} (or OFFSITE_SECRET_STORE=env and {})",
                secrets::env_var_for_key(key)
            ))),
        },
    }
}

pub(crate) async fn components(engine: &Engine, project: &str) -> Result<Components> {
    let p = engine.catalog.project(project).await?;
    engine.catalog.components(&p.id).await
}

pub(crate) async fn set_storage(
    engine: &Engine,
    project: &str,
    settings: Option<StorageSettings>,
) -> Result<Components> {
    let p = engine.catalog.project(project).await?;
    let mut c = engine.catalog.components(&p.id).await?;
    let key = project_s3_secret_key(&p.name);
    match settings {
        None => {
            c.storage = None;
            engine.catalog.set_components(&p.id, &c).await?;
            let _ = engine.secrets.delete(&key);
        }
        Some(s) => {
            let (storage, secret) = prepare_storage(engine, &key, s)?;
            c.storage = Some(storage);
            if let Some(secret) = secret {
                engine.secrets.set(&key, &secret)?;
            }
            engine.catalog.set_components(&p.id, &c).await?;
        }
    }
    Ok(c)
}

/// The storage `s` describes, checked, and the secret to store (`None`: the one under `key` or
/// in the environment is used); nothing is written.
pub(crate) fn prepare_storage(
    engine: &Engine,
    key: &str,
    s: StorageSettings,
) -> Result<(StorageComponent, Option<String>)> {
    let storage = StorageComponent {
        endpoint: non_empty(s.endpoint),
        region: s.region.trim().to_string(),
        access_key_id: s.access_key_id.trim().to_string(),
        path_style: s.path_style,
        buckets: s.buckets,
        concurrency: s.concurrency.map(|n| n.clamp(1, 64)),
    };
    // Refuse what cannot work before saving anything (the secret is checked below).
    S3Config {
        endpoint: storage.endpoint.clone(),
        region: storage.region.clone(),
        access_key_id: storage.access_key_id.clone(),
        secret_access_key: "x".into(),
        path_style: storage.path_style,
    }
    .validate()?;
    let secret = non_empty(s.secret_access_key);
    if secret.is_none() && secret_of(engine, key, S3_SECRET_ENV, "S3 secret")?.is_none() {
        return Err(Error::new(ErrorKind::Secrets, "the S3 secret access key is missing")
            .with_hint("give it once (--s3-secret-stdin, or OFFSITE_S3_SECRET_ACCESS_KEY); it is kept in the keychain"));
    }
    Ok((storage, secret))
}

pub(crate) async fn set_supabase(
    engine: &Engine,
    project: &str,
    settings: Option<SupabaseSettings>,
) -> Result<Components> {
    let p = engine.catalog.project(project).await?;
    let mut c = engine.catalog.components(&p.id).await?;
    let key = project_supabase_token_key(&p.name);
    match settings {
        None => {
            c.supabase = None;
            engine.catalog.set_components(&p.id, &c).await?;
            let _ = engine.secrets.delete(&key);
        }
        Some(s) => {
            let (supabase, token) = prepare_supabase(engine, &key, s)?;
            c.supabase = Some(supabase);
            if let Some(t) = token {
                engine.secrets.set(&key, &t)?;
            }
            engine.catalog.set_components(&p.id, &c).await?;
        }
    }
    Ok(c)
}

/// The Supabase project `s` describes, checked, and the token to store (`None`: the one under
/// `key` or in the environment is used); nothing is written.
pub(crate) fn prepare_supabase(
    engine: &Engine,
    key: &str,
    s: SupabaseSettings,
) -> Result<(SupabaseComponent, Option<String>)> {
    let project_ref = s.project_ref.trim().to_string();
    if project_ref.is_empty()
        || !project_ref
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
    {
        return Err(
            Error::invalid(format!("{project_ref:?} is not a Supabase project ref"))
                .with_hint("the ref is the 20 letters in https://<ref>.supabase.co"),
        );
    }
    let token = non_empty(s.access_token);
    if token.is_none()
        && secret_of(engine, key, SUPABASE_TOKEN_ENV, "Supabase access token")?.is_none()
    {
        return Err(Error::new(ErrorKind::Secrets, "the Supabase access token is missing")
            .with_hint("create a personal access token at https://supabase.com/dashboard/account/tokens and give it once (--supabase-token-stdin, or SUPABASE_ACCESS_TOKEN)"));
    }
    let supabase = SupabaseComponent {
        project_ref,
        api_url: non_empty(s.api_url),
    };
    Ok((supabase, token))
}

pub(crate) async fn set_default_type(
    engine: &Engine,
    project: &str,
    backup_type: &str,
) -> Result<Components> {
    let p = engine.catalog.project(project).await?;
    let mut c = engine.catalog.components(&p.id).await?;
    c.default_type = default_type_for(&c, backup_type)?;
    engine.catalog.set_components(&p.id, &c).await?;
    Ok(c)
}

/// What `backup_type` is stored as (`None` for the default, `database`), once the project's
/// components `c` can make it.
pub(crate) fn default_type_for(c: &Components, backup_type: &str) -> Result<Option<String>> {
    let t = backup_type.trim().to_ascii_lowercase();
    check_type_fits(c, &t)?;
    Ok(if t == "database" { None } else { Some(t) })
}

/// A backup type the project can make: `storage`/`incremental` need storage, `config` needs the
/// Supabase project.
pub(crate) fn check_type_fits(c: &Components, t: &str) -> Result<()> {
    crate::catalog::BACKUP_TYPES
        .contains(&t)
        .then_some(())
        .ok_or_else(|| {
            Error::invalid(format!("unknown backup type {t:?}"))
                .with_hint("use one of: full, database, storage, config, incremental")
        })?;
    match t {
        "storage" | "incremental" if c.storage.is_none() => Err(Error::invalid(format!(
            "a {t} backup needs the project's storage"
        ))
        .with_hint("set it first: offsite project storage NAME --s3-endpoint … (or in the project's settings)")),
        "config" if c.supabase.is_none() => Err(Error::invalid(
            "a config backup needs the project's Supabase ref and access token",
        )
        .with_hint("set them first: offsite project supabase NAME --ref REF --supabase-token-stdin")),
        _ => Ok(()),
    }
}

/// The project's storage store (no retry wrapper: restores retry per upload themselves).
pub(crate) async fn store_of(
    engine: &Engine,
    project: &Project,
) -> Result<Option<(S3Store, StorageComponent)>> {
    let c = engine.catalog.components(&project.id).await?;
    let Some(storage) = c.storage else {
        return Ok(None);
    };
    let key = project_s3_secret_key(&project.name);
    let secret = secret_of(engine, &key, S3_SECRET_ENV, "S3 secret")?.ok_or_else(|| {
        Error::new(
            ErrorKind::Secrets,
            format!("the S3 secret access key of project {:?} is missing", project.name),
        )
        .with_hint(format!(
            "set it again (offsite project storage {} … --s3-secret-stdin) or give it as {S3_SECRET_ENV}",
            project.name
        ))
    })?;
    let store = S3Store::new(&S3Config {
        endpoint: storage.endpoint.clone(),
        region: storage.region.clone(),
        access_key_id: storage.access_key_id.clone(),
        secret_access_key: secret,
        path_style: storage.path_style,
    })?;
    Ok(Some((store, storage)))
}

/// The project's storage as a source (retrying, resuming), with its settings; `None` when it
/// has no storage component.
pub(crate) async fn storage_of(
    engine: &Engine,
    project: &Project,
) -> Result<Option<(Arc<dyn ObjectSource>, StorageComponent)>> {
    Ok(store_of(engine, project).await?.map(|(store, storage)| {
        let source: Arc<dyn ObjectSource> = Arc::new(Retrying::new(store, RetryPolicy::default()));
        (source, storage)
    }))
}

/// The project's Supabase access token and settings; `None` without a Supabase component.
pub(crate) async fn supabase_of(
    engine: &Engine,
    project: &Project,
) -> Result<Option<(SupabaseComponent, String)>> {
    let c = engine.catalog.components(&project.id).await?;
    let Some(supabase) = c.supabase else {
        return Ok(None);
    };
    let key = project_supabase_token_key(&project.name);
    let token =
        secret_of(engine, &key, SUPABASE_TOKEN_ENV, "Supabase access token")?.ok_or_else(|| {
            Error::new(
                ErrorKind::Secrets,
                format!(
                    "the Supabase access token of project {:?} is missing",
                    project.name
                ),
            )
            .with_hint(format!("set it again or give it as {SUPABASE_TOKEN_ENV}"))
        })?;
    Ok(Some((supabase, token)))
}

/// "Test storage": the buckets the keys see, with object counts and sizes, and whether an object
/// can be read. Keys that cannot list fail with `auth`/`permission` and a hint.
pub(crate) async fn test_storage(engine: &Engine, project: &str) -> Result<StorageTestReport> {
    let p = engine.catalog.project(project).await?;
    let (source, storage) = storage_of(engine, &p).await?.ok_or_else(|| {
        Error::invalid(format!("project {project:?} has no storage"))
            .with_hint("set it first: offsite project storage NAME --s3-endpoint …")
    })?;
    let r = test_source(
        source.as_ref(),
        &storage.buckets,
        storage
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("AWS ({})", storage.region)),
    )
    .await;
    use super::tested_sources::{note, Tried};
    note(
        engine,
        &p.id,
        crate::catalog::SourceKind::Storage,
        Tried::ByTest,
        &r,
    )
    .await;
    r
}

/// [`test_storage`] on any source.
pub async fn test_source(
    source: &dyn ObjectSource,
    selection: &BucketSelection,
    endpoint: String,
) -> Result<StorageTestReport> {
    let listed = source.list_buckets().await?;
    let names: Vec<String> = listed.iter().map(|b| b.name.clone()).collect();
    let missing = match selection {
        BucketSelection::All => Vec::new(),
        BucketSelection::Only(chosen) => chosen
            .iter()
            .filter(|c| !names.contains(c))
            .cloned()
            .collect(),
    };
    let mut buckets = Vec::new();
    for name in names.into_iter().filter(|n| selection.includes(n)) {
        let mut t = BucketTest {
            name: name.clone(),
            objects: 0,
            bytes: 0,
            complete: true,
            readable: None,
            error: None,
        };
        let mut req = ListRequest::default();
        let mut first: Option<String> = None;
        let mut guard = crate::sources::listing_guard::ListingGuard::default();
        loop {
            match source.list_objects(&name, &req).await.and_then(|page| {
                guard.page(
                    &name,
                    page.objects.iter().map(|o| o.key.as_str()),
                    page.next.as_deref(),
                )?;
                Ok(page)
            }) {
                Ok(page) => {
                    for o in &page.objects {
                        t.objects += 1;
                        t.bytes += o.size;
                        if first.is_none() && o.size > 0 {
                            first = Some(o.key.clone());
                        }
                    }
                    if t.objects >= TEST_COUNT_LIMIT && page.next.is_some() {
                        t.complete = false;
                        break;
                    }
                    match page.next {
                        Some(n) => req.continuation = Some(n),
                        None => break,
                    }
                }
                Err(e) => {
                    t.error = Some(format!("cannot list: {}", e.message()));
                    t.complete = false;
                    break;
                }
            }
        }
        if let Some(key) = first {
            let read = source
                .get_object(
                    &name,
                    &key,
                    &GetRequest {
                        range: Some(ByteRange {
                            start: 0,
                            end: Some(1),
                        }),
                        if_match: None,
                    },
                )
                .await;
            match read {
                Ok(body) => {
                    let ok = crate::sources::collect(body.stream).await.is_ok();
                    t.readable = Some(ok);
                }
                Err(e) => {
                    t.readable = Some(false);
                    t.error = Some(format!("cannot read objects: {}", e.message()));
                }
            }
        }
        buckets.push(t);
    }
    Ok(StorageTestReport {
        endpoint,
        buckets,
        missing,
    })
}

/// How a Supabase project's database is reached from here (the quick add).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupabaseDatabase {
    /// A libpq URL without a password.
    pub url: String,
    /// Set when the session pooler was chosen, saying why.
    pub note: Option<String>,
}

/// Whether `host:port` answers a TCP connection within `timeout` (any of its addresses).
pub async fn reachable(host: &str, port: u16, timeout: std::time::Duration) -> bool {
    let Ok(Ok(addrs)) = tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await
    else {
        return false;
    };
    for addr in addrs {
        if let Ok(Ok(_)) = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await
        {
            return true;
        }
    }
    false
}

/// The database of Supabase project `project_ref`: the direct host (`db.<ref>.supabase.co`,
/// IPv6-only on many projects) when it answers from here, else the session pooler (IPv4; user
/// `postgres.<ref>`, port 5432) as the Management API describes it — which needs the access
/// token. Without one, the direct host is kept and the note says what to do. TLS: `tls`
/// ([`super::supabase_tls`]: verify-full against Supabase's CA file, or `require` when chosen).
pub async fn supabase_database(
    project_ref: &str,
    token: Option<&str>,
    api_url: Option<&str>,
    tls: super::supabase_tls::SupabaseTls<'_>,
) -> Result<SupabaseDatabase> {
    supabase_database_via(
        &format!("db.{project_ref}.supabase.co"),
        5432,
        project_ref,
        token,
        api_url,
        tls,
    )
    .await
}

fn with_note(note: Option<String>, more: Option<String>) -> Option<String> {
    match (note, more) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}

/// [`supabase_database`] with the direct host and port given (tests).
pub async fn supabase_database_via(
    direct_host: &str,
    direct_port: u16,
    project_ref: &str,
    token: Option<&str>,
    api_url: Option<&str>,
    tls: super::supabase_tls::SupabaseTls<'_>,
) -> Result<SupabaseDatabase> {
    // Refused (no CA, no explicit `require`) before anything is asked of the network.
    let (tls_params, tls_note) = super::supabase_tls::url_params(tls)?;
    let direct = format!("postgresql://postgres@{direct_host}:{direct_port}/postgres?{tls_params}");
    if reachable(direct_host, direct_port, std::time::Duration::from_secs(5)).await {
        return Ok(SupabaseDatabase {
            url: direct,
            note: tls_note,
        });
    }
    let Some(token) = token else {
        return Ok(SupabaseDatabase {
            url: direct,
            note: with_note(Some(format!(
                "{direct_host} does not answer from here (it may be IPv6-only); give an access token (--supabase-token-stdin) to use the session pooler instead, or --db with the pooler's URL from the dashboard"
            )), tls_note),
        });
    };
    let mut o = crate::sources::supabase_api::ManagementApiOptions::default();
    if let Some(u) = api_url {
        o.base_url = u.to_string();
    }
    let api = crate::sources::supabase_api::ManagementApi::with_options(token, o)?
        .guarded(RetryPolicy::default());
    let doc = crate::sources::ApiSource::get_json(
        &api,
        &format!("/v1/projects/{project_ref}/config/database/pooler"),
    )
    .await?;
    let entries = doc.as_array().cloned().unwrap_or_else(|| vec![doc.clone()]);
    let primary = entries
        .iter()
        .find(|e| e["database_type"] == "PRIMARY")
        .or_else(|| entries.first())
        .ok_or_else(|| Error::not_found("the project has no connection pooler"))?;
    let host = primary["db_host"].as_str().ok_or_else(|| {
        Error::new(
            ErrorKind::UnsupportedFormat,
            "the pooler configuration has no db_host",
        )
    })?;
    // From the API's answer: a plain host name only (nothing that could add a parameter or
    // another host to the URL), the database name percent-encoded.
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
    if !host_ok {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            "the pooler configuration's db_host is not a host name",
        )
        .with_hint("give --db with the pooler's URL from the dashboard instead"));
    }
    let db = primary["db_name"].as_str().unwrap_or("postgres");
    let db = percent_encoding::utf8_percent_encode(db, percent_encoding::NON_ALPHANUMERIC);
    Ok(SupabaseDatabase {
        url: format!("postgresql://postgres.{project_ref}@{host}:5432/{db}?{tls_params}"),
        note: with_note(Some(format!(
            "{direct_host} does not answer from here (IPv6-only?): using the session pooler {host}:5432"
        )), tls_note),
    })
}
