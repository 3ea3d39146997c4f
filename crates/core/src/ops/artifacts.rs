//! A project's artifact bucket: dumps something else already makes (a cron `pg_dump` that drops
//! `.sql.gz` files into a bucket, a SaaS's nightly dumps) pulled down and imported.
//!
//! A pull ([`pull_in`], inside the pull's one job) lists the objects under the prefix whose name matches the pattern, skips the ones
//! already imported (their key and ETag are remembered in the component), downloads each through
//! the one download path ([`crate::transfer`], a presigned GET URL that is signed again when it
//! expires), checked against a `<key>.sha256` sidecar object when there is one, then imports it
//! ([`super::import::run_in`], under the pull's job id: an Offsite archive is verified and copied; a pg_dump or plain SQL
//! file is packed into a verified archive). The secret key is in the keychain
//! (`project:<name>:artifacts-secret`) or `OFFSITE_S3_SECRET_ACCESS_KEY`.

use super::components::{non_empty, secret_of, S3_SECRET_ENV};
use super::runner::RunningJob;
use crate::catalog::{ArtifactsComponent, BackupRecord, Components, Project};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::sources::s3::{S3Config, S3Store};
use crate::sources::{ListRequest, ObjectInfo, ObjectSource};
use crate::transfer::{ClientOptions, DownloadUrl, Downloader, TransferPolicy, UrlSource};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The keychain key of a project's artifact-bucket secret: `project:<name>:artifacts-secret`.
pub fn project_artifacts_secret_key(project_name: &str) -> String {
    format!("project:{project_name}:artifacts-secret")
}

/// An artifact bucket as the CLI and the window send it (the secret is write-only).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ArtifactsSettings {
    /// `s3://BUCKET/PREFIX`.
    pub location: String,
    /// The S3-compatible endpoint (`None`: AWS).
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    /// Stored in the keychain; `null` keeps the stored one. Never returned.
    pub secret_access_key: Option<String>,
    pub path_style: bool,
    /// A glob on the object's name under the prefix (`*` and `?`), e.g. `*.sql.gz`.
    pub pattern: Option<String>,
}

/// `s3://BUCKET/PREFIX` → (bucket, prefix).
pub fn parse_location(s: &str) -> Result<(String, String)> {
    let rest = s
        .trim()
        .strip_prefix("s3://")
        .ok_or_else(|| Error::invalid(format!("{s:?} is not an s3://BUCKET/PREFIX location")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::invalid("the artifact location names no bucket"));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

/// Set (or with `None` remove) a project's artifact bucket (the keys are checked by listing).
pub(crate) async fn set_artifacts(
    engine: &Engine,
    project: &str,
    settings: Option<ArtifactsSettings>,
) -> Result<Components> {
    let p = engine.catalog.project(project).await?;
    let mut c = engine.catalog.components(&p.id).await?;
    let key = project_artifacts_secret_key(&p.name);
    let Some(s) = settings else {
        c.artifacts = None;
        engine.catalog.set_components(&p.id, &c).await?;
        let _ = engine.secrets.delete(&key);
        return Ok(c);
    };
    let imported = c
        .artifacts
        .take()
        .map(|old| old.imported)
        .unwrap_or_default();
    let (a, given) = prepare(engine, &key, s, imported).await?;
    if let Some(v) = given {
        engine.secrets.set(&key, &v)?;
    }
    c.artifacts = Some(a);
    engine.catalog.set_components(&p.id, &c).await?;
    // Its keys were checked by listing before it was saved: a passed test.
    {
        use super::tested_sources::{note, Tried};
        let source = crate::catalog::SourceKind::Artifacts;
        note(engine, &p.id, source, Tried::ByTest, &Ok(())).await;
    }
    Ok(c)
}

/// The artifact bucket `s` describes, its keys checked by listing, and the secret to store
/// (`None`: the one under `key` or in the environment is used); nothing is written.
pub(crate) async fn prepare(
    engine: &Engine,
    key: &str,
    s: ArtifactsSettings,
    imported: Vec<crate::catalog::ImportedArtifact>,
) -> Result<(ArtifactsComponent, Option<String>)> {
    let (bucket, prefix) = parse_location(&s.location)?;
    let given = non_empty(s.secret_access_key);
    let secret = match given.clone() {
        Some(v) => v,
        None => {
            secret_of(engine, key, S3_SECRET_ENV, "artifact bucket secret")?.ok_or_else(|| {
                Error::new(
                    ErrorKind::Secrets,
                    "the artifact bucket's secret key is missing",
                )
                .with_hint(
                    "give it once (the window's secret access key field, --s3-secret-stdin, \
                     or OFFSITE_S3_SECRET_ACCESS_KEY); it is kept in the keychain",
                )
            })?
        }
    };
    let a = ArtifactsComponent {
        endpoint: non_empty(s.endpoint),
        region: s.region.trim().to_string(),
        access_key_id: s.access_key_id.trim().to_string(),
        path_style: s.path_style,
        bucket,
        prefix,
        pattern: non_empty(s.pattern),
        imported,
    };
    let store = S3Store::new(&config_of(&a, secret))?;
    store
        .list_objects(
            &a.bucket,
            &ListRequest {
                prefix: Some(a.prefix.clone()),
                page_size: Some(1),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| listing_error(e, &a))?;
    Ok((a, given))
}

/// A failed test listing, with what to check when the store gave no hint (an unknown bucket).
fn listing_error(e: Error, a: &ArtifactsComponent) -> Error {
    if e.kind() != ErrorKind::NotFound || e.hint().is_some() {
        return e;
    }
    let at = a.endpoint.as_deref().unwrap_or("AWS S3");
    let hint = format!(
        "check the bucket's name in s3://{}/{} and that these keys see it at {at}",
        a.bucket, a.prefix
    );
    e.with_hint(hint)
}

fn config_of(a: &ArtifactsComponent, secret: String) -> S3Config {
    S3Config {
        endpoint: a.endpoint.clone(),
        region: a.region.clone(),
        access_key_id: a.access_key_id.clone(),
        secret_access_key: secret,
        path_style: a.path_style,
    }
}

/// What an artifact pull did.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ArtifactPullOutcome {
    /// The backups the new artifacts became (registered by the pull's job).
    pub imported: Vec<BackupRecord>,
    /// Matching artifacts imported before (same key and ETag).
    pub already_imported: u32,
}

/// `*` (any run of characters) and `?` (one) on the whole name.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A presigned GET of one object, signed again on refresh.
struct Presigned<'a> {
    store: &'a S3Store,
    bucket: String,
    key: String,
    size: u64,
    sha256: Option<String>,
}

async fn presign(store: &S3Store, bucket: &str, key: &str) -> Result<url::Url> {
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(900))
        .map_err(|e| Error::internal(format!("presigning: {e}")))?;
    let req = store
        .sdk_client()
        .get_object()
        .bucket(bucket)
        .key(key)
        .presigned(cfg)
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Connection,
                format!("signing a download of {bucket}/{key}: {e}"),
            )
        })?;
    url::Url::parse(req.uri()).map_err(|_| Error::internal("the presigned URL is not valid"))
}

#[async_trait]
impl UrlSource for Presigned<'_> {
    async fn url(&self, _refresh: bool) -> Result<DownloadUrl> {
        let u = presign(self.store, &self.bucket, &self.key).await?;
        let mut d = DownloadUrl::new(u).with_size(self.size);
        if let Some(s) = &self.sha256 {
            d = d.with_sha256(s.clone());
        }
        Ok(d)
    }
}

/// The SHA-256 a `.sha256` sidecar object names (`<hex>  <name>` or just `<hex>`).
async fn sidecar_sha(dl: &Downloader, store: &S3Store, bucket: &str, key: &str) -> Result<String> {
    let u = presign(store, bucket, key).await?;
    let what = format!("reading {bucket}/{key}");
    let resp = dl.client().get(u).send().await.map_err(|e| {
        Error::new(
            ErrorKind::Connection,
            format!("{what}: {}", e.without_url()),
        )
    })?;
    if !resp.status().is_success() {
        return Err(Error::new(
            ErrorKind::Connection,
            format!("{what}: HTTP {}", resp.status()),
        ));
    }
    let text = resp.text().await.map_err(|e| {
        Error::new(
            ErrorKind::Connection,
            format!("{what}: {}", e.without_url()),
        )
    })?;
    let hex = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::integrity(format!(
            "{bucket}/{key} does not hold a SHA-256"
        )));
    }
    Ok(hex)
}

/// A project's artifact bucket, ready to be listed: its component and a store with its secret.
pub(crate) struct Bucket {
    a: ArtifactsComponent,
    store: S3Store,
}

/// The artifact bucket of `project` (refused when it has none or its secret is missing).
pub(crate) async fn bucket_of(engine: &Engine, project: &Project) -> Result<Bucket> {
    let comps = engine.catalog.components(&project.id).await?;
    let a = comps.artifacts.ok_or_else(|| {
        Error::invalid(format!("project {} has no artifact bucket", project.name))
    })?;
    let key = project_artifacts_secret_key(&project.name);
    let secret =
        secret_of(engine, &key, S3_SECRET_ENV, "artifact bucket secret")?.ok_or_else(|| {
            Error::new(
                ErrorKind::Secrets,
                "the artifact bucket's secret key is missing",
            )
        })?;
    let store = S3Store::new(&config_of(&a, secret))?;
    Ok(Bucket { a, store })
}

/// Every object under the bucket's prefix (pages followed; a listing that loops is refused).
async fn list_all(bucket: &Bucket) -> Result<Vec<ObjectInfo>> {
    let (a, store) = (&bucket.a, &bucket.store);
    let mut objects: Vec<ObjectInfo> = Vec::new();
    let mut continuation = None;
    let mut guard = crate::sources::listing_guard::ListingGuard::default();
    loop {
        let page = store
            .list_objects(
                &a.bucket,
                &ListRequest {
                    prefix: Some(a.prefix.clone()),
                    continuation: continuation.clone(),
                    ..Default::default()
                },
            )
            .await?;
        guard.page(
            &a.bucket,
            page.objects.iter().map(|o| o.key.as_str()),
            page.next.as_deref(),
        )?;
        objects.extend(page.objects);
        match page.next {
            Some(n) => continuation = Some(n),
            None => break,
        }
    }
    Ok(objects)
}

/// An artifact a pull fetches: its listed object, its name under the prefix and its file name,
/// its ETag, and the key of its `.sha256` sidecar when one is listed.
#[derive(Debug)]
struct Wanted<'a> {
    object: &'a ObjectInfo,
    file: &'a str,
    etag: String,
    sidecar: Option<String>,
}

/// At most this much of a listed key goes into an error message.
const KEY_SHOWN: usize = 200;

/// `key`'s name under `prefix`. A key the store listed outside the prefix it was asked for is
/// an `integrity` error (never sliced: a cut inside a UTF-8 character would panic).
fn name_under<'k>(bucket: &str, prefix: &str, key: &'k str) -> Result<&'k str> {
    match key.strip_prefix(prefix) {
        Some(rest) => Ok(rest.trim_start_matches('/')),
        None => {
            let shown: String = key.chars().take(KEY_SHOWN).collect();
            Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "listing bucket {bucket:?} under {prefix:?}: the store answered the key \
                     {shown:?}, which is not under that prefix"
                ),
            )
            .with_hint(
                "the store's listing is inconsistent (a broken or hostile S3-compatible \
                 server); nothing was pulled from it. Try again; if it persists, report it to \
                 the store's operator",
            ))
        }
    }
}

/// What a pull does with a listing (see the module's description): the artifacts to fetch, in
/// listing order, and how many matching ones were imported before. A key outside the prefix
/// refuses the whole listing, before anything is fetched.
fn plan<'a>(a: &ArtifactsComponent, objects: &'a [ObjectInfo]) -> Result<(Vec<Wanted<'a>>, u32)> {
    let keys: std::collections::HashSet<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    let mut wanted = Vec::new();
    let mut already = 0u32;
    for o in objects {
        let name = name_under(&a.bucket, &a.prefix, &o.key)?;
        let file = name.rsplit('/').next().unwrap_or(name);
        if o.key.ends_with(".sha256") || file.is_empty() || file.starts_with('.') {
            continue;
        }
        if let Some(pat) = &a.pattern {
            if !glob_match(pat, name) && !glob_match(pat, file) {
                continue;
            }
        }
        let etag = o.etag.clone().unwrap_or_default();
        if a.imported.iter().any(|i| i.key == o.key && i.etag == etag) {
            already = already.saturating_add(1);
            continue;
        }
        let sidecar = format!("{}.sha256", o.key);
        wanted.push(Wanted {
            object: o,
            file,
            etag,
            sidecar: keys.contains(sidecar.as_str()).then_some(sidecar),
        });
    }
    Ok((wanted, already))
}

/// Pull the project's artifact bucket (see the module's description) inside the pull's `job`:
/// every download and import reports to its progress and registers under its id. Stops at the
/// first failure; what was imported before it stays (and is remembered).
pub(crate) async fn pull_in(
    engine: &Engine,
    project: &Project,
    bucket: &Bucket,
    job: &RunningJob,
) -> Result<ArtifactPullOutcome> {
    let a = &bucket.a;
    let objects = list_all(bucket).await;
    {
        use super::tested_sources::{note, Tried};
        let source = crate::catalog::SourceKind::Artifacts;
        note(engine, &project.id, source, Tried::ByJob, &objects).await;
    }
    let objects = objects?;
    let (wanted, already_imported) = plan(a, &objects)?;
    let dl = Downloader::new(&ClientOptions::default(), TransferPolicy::default())?;
    let mut out = ArtifactPullOutcome {
        already_imported,
        ..Default::default()
    };
    for w in wanted {
        let (o, file, etag) = (w.object, w.file, w.etag);
        job.check_cancelled()?;
        let sha256 = match &w.sidecar {
            Some(sidecar) => Some(sidecar_sha(&dl, &bucket.store, &a.bucket, sidecar).await?),
            None => None,
        };
        let backup = pull_one(engine, project, bucket, &dl, o, file, sha256, job).await?;
        // Remember it (read again: another process may have changed the components).
        let mut c = engine.catalog.components(&project.id).await?;
        if let Some(cur) = c.artifacts.as_mut() {
            cur.imported.push(crate::catalog::ImportedArtifact {
                key: o.key.clone(),
                etag,
            });
            engine.catalog.set_components(&project.id, &c).await?;
        }
        out.imported.push(backup);
    }
    Ok(out)
}

/// Download one object (named `file` under the prefix) into a temporary folder in the
/// project's backup folder, checked against `sha256` when given, and import it.
#[allow(clippy::too_many_arguments)]
async fn pull_one(
    engine: &Engine,
    project: &Project,
    bucket: &Bucket,
    dl: &Downloader,
    o: &ObjectInfo,
    file: &str,
    sha256: Option<String>,
    job: &RunningJob,
) -> Result<BackupRecord> {
    let dir = engine.backup_dir_of(project);
    crate::private_fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let _in_use = crate::tempfiles::in_use(&dir)?;
    let tmp = crate::private_fs::tempdir_in(&dir, ".offsite-tmp-").map_err(|e| {
        Error::io(
            format!("creating a temporary folder in {}", dir.display()),
            e,
        )
    })?;
    let safe: String = file
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = tmp.path().join(safe);
    let source = Presigned {
        store: &bucket.store,
        bucket: bucket.a.bucket.clone(),
        key: o.key.clone(),
        size: o.size,
        sha256,
    };
    dl.download(&source, &path, &job.reporter, &job.cancel)
        .await?;
    let backup = super::import::run_in(
        engine,
        job,
        &path,
        project,
        true,
        crate::catalog::BackupOrigin::Artifact,
    )
    .await?;
    drop(tmp);
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_locations() {
        assert!(glob_match("*.sql.gz", "shop-2026-11-23.sql.gz"));
        assert!(!glob_match("*.sql.gz", "shop.sql"));
        assert!(glob_match("shop-????.dump", "shop-2026.dump"));
        assert!(glob_match("*", "x"));
        assert_eq!(
            parse_location("s3://dumps/nightly/").unwrap(),
            ("dumps".into(), "nightly/".into())
        );
        assert_eq!(
            parse_location("s3://dumps").unwrap(),
            ("dumps".into(), "".into())
        );
        assert!(parse_location("https://x").is_err());
    }

    fn component(prefix: &str, pattern: Option<&str>) -> ArtifactsComponent {
        ArtifactsComponent {
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: "AKIA".into(),
            path_style: true,
            bucket: "dumps".into(),
            prefix: prefix.into(),
            pattern: pattern.map(str::to_string),
            imported: Vec::new(),
        }
    }

    #[test]
    fn a_key_outside_the_prefix_is_an_integrity_error_not_a_panic() {
        // Cut at the prefix's length, this key splits a two-byte character.
        let (prefix, key) = ("nightly", "ééééé.sql.gz");
        assert!(!key.is_char_boundary(prefix.len()));
        let objects = vec![
            ObjectInfo::listed("nightly/ok.sql.gz", 10),
            ObjectInfo::listed(key, 10),
        ];
        let e = plan(&component(prefix, None), &objects).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        assert!(e.message().contains("not under that prefix"), "{e}");
        assert!(e.hint().is_some());
        // A key outside the prefix that would slice cleanly is refused as well.
        let objects = vec![ObjectInfo::listed("elsewhere/x.sql.gz", 10)];
        let e = plan(&component("nightly/", None), &objects).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        // Keys under the prefix: names, sidecars and the pattern as before.
        let objects = vec![
            ObjectInfo::listed("nightly/a.sql.gz", 10),
            ObjectInfo::listed("nightly/a.sql.gz.sha256", 10),
            ObjectInfo::listed("nightly/b.txt", 10),
            ObjectInfo::listed("nightly/sub/ç.sql.gz", 10),
        ];
        let (w, already) = plan(&component("nightly/", Some("*.sql.gz")), &objects).unwrap();
        assert_eq!(already, 0);
        let got: Vec<(&str, Option<&str>)> =
            w.iter().map(|w| (w.file, w.sidecar.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                ("a.sql.gz", Some("nightly/a.sql.gz.sha256")),
                ("ç.sql.gz", None)
            ]
        );
        // A hostile key is shown bounded in the message.
        let long = format!("x{}", "é".repeat(10_000));
        let e = plan(&component("nightly/", None), &[ObjectInfo::listed(long, 1)]).unwrap_err();
        assert!(e.message().len() < 1_000, "{}", e.message().len());
    }

    /// The artifact listing path (pages checked by the listing guard, then planned) on keys
    /// in and out of the prefix, with multi-byte characters: never a panic; either a plan of
    /// keys under the prefix, or an `integrity` error.
    #[test]
    fn fuzz_artifact_listing() {
        use proptest::prelude::*;
        use proptest::test_runner::TestRunner;
        let piece = prop::sample::select(vec![
            "nightly", "/", "é", "ü", "日", "a", ".sql.gz", ".sha256", "..", "", "n", "ni",
        ]);
        let key = prop::collection::vec(piece.clone(), 0..6).prop_map(|v| v.concat());
        let input = (
            prop::collection::vec(piece, 0..3).prop_map(|v| v.concat()),
            prop::collection::vec(key, 0..12),
            1usize..5,
            prop::option::of(prop::sample::select(vec!["*.sql.gz", "*", "?", "é*"])),
        );
        let mut runner = TestRunner::new(offsite_testkit::fuzz::config());
        runner
            .run(&input, |(prefix, mut keys, per_page, pattern)| {
                keys.sort();
                keys.dedup();
                let a = component(&prefix, pattern);
                let mut guard = crate::sources::listing_guard::ListingGuard::default();
                let mut objects = Vec::new();
                let pages: Vec<&[String]> = keys.chunks(per_page).collect();
                for (i, page) in pages.iter().enumerate() {
                    let next = (i + 1 < pages.len()).then(|| format!("t{i}"));
                    guard
                        .page("dumps", page.iter().map(String::as_str), next.as_deref())
                        .unwrap();
                    objects.extend(page.iter().map(|k| ObjectInfo::listed(k.clone(), 1)));
                }
                match plan(&a, &objects) {
                    Ok((wanted, _)) => {
                        prop_assert!(keys.iter().all(|k| k.starts_with(&prefix)));
                        for w in &wanted {
                            prop_assert!(w.object.key.starts_with(&prefix));
                            prop_assert!(w.object.key.ends_with(w.file));
                            prop_assert!(!w.file.is_empty());
                        }
                    }
                    Err(e) => {
                        prop_assert_eq!(e.kind(), ErrorKind::Integrity);
                        prop_assert!(keys.iter().any(|k| !k.starts_with(&prefix)));
                    }
                }
                Ok(())
            })
            .unwrap();
    }
}
