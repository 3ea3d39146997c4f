//! Edge Functions written back from a backup: each archived function
//! (`supabase/functions/<slug>/metadata.json` and its deployed bundle `body.eszip[.br|.gz]`) is
//! compared with what the project runs now, and the chosen ones are deployed again through the
//! Management API as the Supabase CLI deploys a bundle (`supabase/cli`,
//! `internal/functions/deploy/upload.go`'s `UpsertFunctions`):
//!
//! | the project | request |
//! |---|---|
//! | has the slug | `PATCH /v1/projects/{ref}/functions/{slug}?verify_jwt=…&entrypoint_path=…[&import_map_path=…]&name=…` |
//! | does not have it | `POST /v1/projects/{ref}/functions?slug=…&name=…&verify_jwt=…&entrypoint_path=…[&import_map_path=…]` (201) |
//!
//! with the bundle as the body, `Content-Type: application/vnd.denoland.eszip`. A bundle the API
//! sent brotli- or gzip-compressed (the archive keeps it as sent) is decompressed first, bounded.
//! A POST refused as a duplicate (the function appeared meanwhile, or the answer to an earlier
//! try was lost) is sent again as a PATCH, as the CLI does.
//!
//! Everything read from the archive is untrusted: a slug must look like one (a letter, then
//! letters, digits, `-` and `_`, at most 128) and match its folder, and every value goes into the
//! query percent-encoded.

use super::ConfigSnapshot;
use crate::error::{Error, ErrorKind, Result};
use crate::progress::{Phase, Reporter};
use crate::sources::{ApiClient, BodyMethod};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Read;
use tokio_util::sync::CancellationToken;

/// The media type of a bundled function.
pub const ESZIP_CONTENT_TYPE: &str = "application/vnd.denoland.eszip";

/// `functions` naming every archived function that differs from the project's.
pub const ALL_FUNCTIONS: &str = "all";

/// The largest bundle deployed (decompressed); Supabase's own limit is far below.
const MAX_BUNDLE: u64 = 128 << 20;

/// What a query value keeps as it is (RFC 3986's unreserved characters).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The folder of the archived functions, relative to the snapshot.
const DIR: &str = "supabase/functions/";

/// What a restore would do with one archived function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FunctionAction {
    /// The project does not have it: created.
    Create,
    /// The project runs another bundle or other settings: updated.
    Update,
    /// The project runs the same bundle with the same settings.
    Unchanged,
    /// It cannot be deployed from this backup (see `problem`).
    Cannot,
}

/// One archived Edge Function in a restore plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FunctionChange {
    pub slug: String,
    /// Its name as the dashboard shows it.
    pub name: String,
    pub action: FunctionAction,
    /// The archived bundle's size in bytes (as stored).
    pub size: u64,
    /// Whether callers must send a valid JWT.
    pub verify_jwt: Option<bool>,
    /// Why it cannot be deployed (with [`FunctionAction::Cannot`]).
    pub problem: Option<String>,
}

/// One function a restore deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeployedFunction {
    pub slug: String,
    /// Created or updated.
    pub action: FunctionAction,
    /// The version the project now runs, as the API answered it.
    pub version: Option<u64>,
}

/// An archived function as read from the snapshot.
struct Archived<'a> {
    slug: String,
    meta: Value,
    /// The bundle's file and bytes as stored.
    body: Option<(String, &'a [u8])>,
    problem: Option<String>,
}

/// A slug as the API accepts one.
fn valid_slug(slug: &str) -> bool {
    let mut b = slug.bytes();
    slug.len() <= 128
        && b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// The functions of `snap`, by slug.
fn archived(snap: &ConfigSnapshot) -> Vec<Archived<'_>> {
    let mut out = Vec::new();
    for (name, bytes) in &snap.files {
        let Some(rest) = name.strip_prefix(DIR) else {
            continue;
        };
        let Some(folder) = rest.strip_suffix("/metadata.json") else {
            continue;
        };
        let decoded = percent_decode_str(folder).decode_utf8_lossy().to_string();
        let meta: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
        let slug = meta
            .get("slug")
            .and_then(Value::as_str)
            .unwrap_or(&decoded)
            .to_string();
        let body = ["", ".br", ".gz"].iter().find_map(|suffix| {
            let file = format!("{DIR}{folder}/body.eszip{suffix}");
            snap.file(&file).map(|b| (file, b))
        });
        let problem = if !valid_slug(&slug) || slug != decoded {
            Some("its name is not a valid function slug".to_string())
        } else if !meta.is_object() {
            Some("its settings (metadata.json) are not readable".to_string())
        } else if body.is_none() {
            Some("the backup holds its settings but not its code".to_string())
        } else {
            None
        };
        out.push(Archived {
            slug,
            meta,
            body,
            problem,
        });
    }
    out.sort_by(|a, b| a.slug.cmp(&b.slug));
    out
}

fn text(meta: &Value, key: &str) -> Option<String> {
    meta.get(key).and_then(Value::as_str).map(str::to_string)
}

/// What deploying each archived function would do, compared with `current` (the project's
/// configuration fetched now).
pub fn plan_functions(archive: &ConfigSnapshot, current: &ConfigSnapshot) -> Vec<FunctionChange> {
    let now = archived(current);
    archived(archive)
        .into_iter()
        .map(|a| {
            let size = a.body.as_ref().map_or(0, |(_, b)| b.len() as u64);
            let action = if a.problem.is_some() {
                FunctionAction::Cannot
            } else {
                match now.iter().find(|n| n.slug == a.slug) {
                    None => FunctionAction::Create,
                    Some(n) if same(&a, n) => FunctionAction::Unchanged,
                    Some(_) => FunctionAction::Update,
                }
            };
            FunctionChange {
                name: text(&a.meta, "name").unwrap_or_else(|| a.slug.clone()),
                verify_jwt: a.meta.get("verify_jwt").and_then(Value::as_bool),
                slug: a.slug,
                action,
                size,
                problem: a.problem,
            }
        })
        .collect()
}

/// The same bundle (same stored bytes) with the same settings.
fn same(a: &Archived<'_>, b: &Archived<'_>) -> bool {
    let (x, y) = (
        a.body.as_ref().map(|(_, b)| *b),
        b.body.as_ref().map(|(_, b)| *b),
    );
    let settings = |x: &Archived<'_>| {
        [
            "verify_jwt",
            "entrypoint_path",
            "import_map_path",
            "import_map",
        ]
        .map(|k| x.meta.get(k).cloned())
    };
    x == y && settings(a) == settings(b)
}

/// The functions `chosen` names among `plan` (`all`: every one that would change).
pub fn chosen_functions<'a>(
    plan: &'a [FunctionChange],
    chosen: &[String],
) -> Vec<&'a FunctionChange> {
    let all = chosen.iter().any(|c| c.trim() == ALL_FUNCTIONS);
    plan.iter()
        .filter(|f| matches!(f.action, FunctionAction::Create | FunctionAction::Update))
        .filter(|f| all || chosen.iter().any(|c| c.trim() == f.slug))
        .collect()
}

/// A stored bundle as the API takes it: decompressed when the API had sent it compressed.
fn bundle(file: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let read = if file.ends_with(".br") {
        brotli_decompressor::Decompressor::new(bytes, 64 << 10)
            .take(MAX_BUNDLE + 1)
            .read_to_end(&mut out)
    } else if file.ends_with(".gz") {
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_BUNDLE + 1)
            .read_to_end(&mut out)
    } else {
        out.extend_from_slice(bytes);
        Ok(out.len())
    };
    read.map_err(|e| {
        Error::integrity(format!(
            "the backup's bundle {file} cannot be decompressed: {e}"
        ))
    })?;
    if out.len() as u64 > MAX_BUNDLE {
        return Err(Error::integrity(format!(
            "the backup's bundle {file} is larger than {} MiB decompressed",
            MAX_BUNDLE >> 20
        )));
    }
    Ok(out)
}

/// `key=value&…`, every value percent-encoded.
fn query(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The deployment settings of an archived function, as query pairs.
fn settings(a: &Archived<'_>, with_slug: bool) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if with_slug {
        q.push(("slug", a.slug.clone()));
    }
    q.push((
        "name",
        text(&a.meta, "name").unwrap_or_else(|| a.slug.clone()),
    ));
    if let Some(v) = a.meta.get("verify_jwt").and_then(Value::as_bool) {
        q.push(("verify_jwt", v.to_string()));
    }
    if let Some(p) = text(&a.meta, "entrypoint_path") {
        q.push(("entrypoint_path", p));
    }
    if let Some(p) = text(&a.meta, "import_map_path") {
        q.push(("import_map_path", p));
    }
    q
}

/// Deploy `which` (from [`plan_functions`]) from `archive` into project `project_ref`, in
/// order. A failure stops there, saying which were deployed before it.
pub async fn deploy_functions(
    api: &dyn ApiClient,
    project_ref: &str,
    archive: &ConfigSnapshot,
    which: &[FunctionChange],
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<Vec<DeployedFunction>> {
    super::check_ref(project_ref)?;
    let functions = archived(archive);
    let mut done: Vec<DeployedFunction> = Vec::new();
    reporter.phase(Phase::Restoring, None);
    for change in which {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let deployed = deploy_one(api, project_ref, &functions, change)
            .await
            .map_err(|e| {
                let before: Vec<&str> = done.iter().map(|d| d.slug.as_str()).collect();
                e.context(format!(
                    "deploying Edge Function {} failed (deployed before it: {})",
                    change.slug,
                    if before.is_empty() {
                        "none".to_string()
                    } else {
                        before.join(", ")
                    }
                ))
            })?;
        reporter.advance(change.size);
        done.push(deployed);
    }
    Ok(done)
}

async fn deploy_one(
    api: &dyn ApiClient,
    project_ref: &str,
    functions: &[Archived<'_>],
    change: &FunctionChange,
) -> Result<DeployedFunction> {
    let a = functions
        .iter()
        .find(|a| a.slug == change.slug && a.problem.is_none())
        .ok_or_else(|| {
            Error::invalid(format!(
                "Edge Function {} cannot be deployed from this backup",
                change.slug
            ))
        })?;
    let (file, stored) = a
        .body
        .as_ref()
        .expect("checked: a function without problem has a body");
    let body = bytes::Bytes::from(bundle(file, stored)?);
    let base = format!("/v1/projects/{project_ref}/functions");
    let update = |body: bytes::Bytes| {
        let path = format!("{base}/{}?{}", a.slug, query(&settings(a, false)));
        async move {
            api.send_bytes(BodyMethod::Patch, &path, ESZIP_CONTENT_TYPE, body)
                .await
        }
    };
    let (action, answer) = match change.action {
        FunctionAction::Create => {
            let path = format!("{base}?{}", query(&settings(a, true)));
            match api
                .send_bytes(BodyMethod::Post, &path, ESZIP_CONTENT_TYPE, body.clone())
                .await
            {
                Ok(v) => (FunctionAction::Create, v),
                Err(e) if duplicate(&e) => (FunctionAction::Update, update(body).await?),
                Err(e) => return Err(e),
            }
        }
        _ => (FunctionAction::Update, update(body).await?),
    };
    Ok(DeployedFunction {
        slug: a.slug.clone(),
        action,
        version: answer.get("version").and_then(Value::as_u64),
    })
}

/// The API refused a create because the slug exists.
fn duplicate(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict)
        && e.message().to_ascii_lowercase().contains("duplicate")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(files: &[(&str, &[u8])]) -> ConfigSnapshot {
        ConfigSnapshot::from_files(
            "",
            files
                .iter()
                .map(|(n, b)| (n.to_string(), b.to_vec()))
                .collect(),
        )
    }

    #[test]
    fn slugs_are_checked() {
        for ok in ["hello", "hello-world", "a_b1", "x"] {
            assert!(valid_slug(ok), "{ok}");
        }
        for bad in [
            "",
            "1abc",
            "a/b",
            "a.b",
            "../x",
            "a b",
            "a%2Fb",
            &"a".repeat(129),
        ] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn plans_create_update_unchanged_and_cannot() {
        let m = |slug: &str, jwt: bool| {
            serde_json::to_vec(&serde_json::json!({"slug": slug, "name": slug, "verify_jwt": jwt}))
                .unwrap()
        };
        let (a, b, c) = (m("a", true), m("b", true), m("c", false));
        let evil = serde_json::to_vec(&serde_json::json!({"slug": "../x"})).unwrap();
        let archive = snap(&[
            ("supabase/functions/a/metadata.json", &a),
            ("supabase/functions/a/body.eszip", b"A1"),
            ("supabase/functions/b/metadata.json", &b),
            ("supabase/functions/b/body.eszip", b"B1"),
            ("supabase/functions/c/metadata.json", &c),
            ("supabase/functions/c/body.eszip.br", b"C1"),
            ("supabase/functions/d/metadata.json", &evil),
            ("supabase/functions/d/body.eszip", b"D1"),
            ("supabase/functions/e/metadata.json", &m("e", true)),
        ]);
        let current = snap(&[
            ("supabase/functions/a/metadata.json", &a),
            ("supabase/functions/a/body.eszip", b"A1"),
            ("supabase/functions/b/metadata.json", &b),
            ("supabase/functions/b/body.eszip", b"B2"),
        ]);
        let plan = plan_functions(&archive, &current);
        let got: Vec<(&str, FunctionAction)> =
            plan.iter().map(|f| (f.slug.as_str(), f.action)).collect();
        assert_eq!(
            got,
            [
                ("../x", FunctionAction::Cannot),
                ("a", FunctionAction::Unchanged),
                ("b", FunctionAction::Update),
                ("c", FunctionAction::Create),
                ("e", FunctionAction::Cannot),
            ]
        );
        assert!(plan[4].problem.as_deref().unwrap().contains("not its code"));
        let all: Vec<&str> = chosen_functions(&plan, &["all".into()])
            .iter()
            .map(|f| f.slug.as_str())
            .collect();
        assert_eq!(all, ["b", "c"]);
        let one: Vec<&str> = chosen_functions(&plan, &["c".into(), "a".into()])
            .iter()
            .map(|f| f.slug.as_str())
            .collect();
        assert_eq!(one, ["c"], "an unchanged function is not deployed");
    }

    #[test]
    fn compressed_bundles_are_decompressed_and_bounded() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"ESZIP2.3 hello").unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(bundle("x/body.eszip.gz", &gz).unwrap(), b"ESZIP2.3 hello");
        assert_eq!(bundle("x/body.eszip", b"raw").unwrap(), b"raw");
        let e = bundle("x/body.eszip.br", b"not brotli at all").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        // A bomb: a small gzip that inflates past the bound.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..=(MAX_BUNDLE >> 20) {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 1 << 20);
        let e = bundle("x/body.eszip.gz", &bomb).unwrap_err();
        assert!(e.message().contains("larger than"), "{}", e.message());
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            query(&[("entrypoint_path", "file:///a b/index.ts?x=1&y".into())]),
            "entrypoint_path=file%3A%2F%2F%2Fa%20b%2Findex.ts%3Fx%3D1%26y"
        );
    }
}
