//! The storage and configuration checks of a drill. The storage check reads no object again: the
//! drill's verify pass has already extracted every member of the archive and hashed it. By
//! default every object is proven to extract and match its SHA-256; with a sample size (the
//! project's drill settings) that many objects, chosen at random for each drill, are compared one
//! by one with the SHA-256 `storage.json` records for them, and the check names each one it
//! compared. The configuration check parses every configuration document.

use super::{CheckStatus, DrillCheck};
use crate::archive::{Manifest, VerifyReport};
use crate::storage::layout::{ObjectEntry, StorageDoc, STORAGE_DOC, STORAGE_PREFIX};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// The checks of the components the backup has (none for a database-only backup).
pub(crate) async fn checks(
    archive: &Path,
    manifest: &Manifest,
    verified: &VerifyReport,
    keys: Vec<crate::crypto::UserKey>,
    sample: Option<u32>,
) -> Vec<DrillCheck> {
    let mut out = Vec::new();
    if manifest.member(STORAGE_DOC).is_some() {
        match sample {
            None => out.push(storage_check(manifest, verified)),
            Some(n) => {
                let (a, v, k) = (archive.to_path_buf(), verified.clone(), keys.clone());
                let check = tokio::task::spawn_blocking(move || {
                    let _unlocked = crate::archive::unlock(&a, k);
                    sample_check(&a, &v, n as usize)
                })
                .await
                .unwrap_or_else(|e| {
                    failed("storage", SAMPLE_TITLE, format!("the check failed: {e}"))
                });
                out.push(check);
            }
        }
    }
    let config: Vec<String> = manifest
        .members
        .iter()
        .filter(|m| m.name.starts_with("config/"))
        .map(|m| m.name.clone())
        .collect();
    if !config.is_empty() {
        let a = archive.to_path_buf();
        let check = tokio::task::spawn_blocking(move || {
            let _unlocked = crate::archive::unlock(&a, keys);
            config_check(&a, &config)
        })
        .await
        .unwrap_or_else(|e| failed("config", CONFIG_TITLE, format!("the check failed: {e}")));
        out.push(check);
    }
    out
}

const STORAGE_TITLE: &str = "Storage: every object extracts and matches its SHA-256";
const CONFIG_TITLE: &str = "Configuration: every document parses";
const SAMPLE_TITLE: &str =
    "Storage: a random sample of objects extracts and matches its SHA-256 in storage.json";
/// How many failed objects a check names.
const MAX_NAMED: usize = 20;

fn failed(id: &str, title: &str, detail: String) -> DrillCheck {
    DrillCheck {
        id: id.into(),
        title: title.into(),
        status: CheckStatus::Failed,
        expected: None,
        actual: None,
        detail: Some(detail),
    }
}

fn storage_check(manifest: &Manifest, verified: &VerifyReport) -> DrillCheck {
    let expected = manifest
        .members
        .iter()
        .filter(|m| m.name.starts_with(STORAGE_PREFIX))
        .count();
    let objects: Vec<_> = verified
        .members
        .iter()
        .filter(|m| m.name.starts_with(STORAGE_PREFIX))
        .collect();
    let good = objects.iter().filter(|m| m.ok).count();
    let mut problems: Vec<String> = objects
        .iter()
        .filter(|m| !m.ok)
        .take(20)
        .map(|m| {
            format!(
                "{}: {}",
                m.name,
                m.problem.as_deref().unwrap_or("does not match")
            )
        })
        .collect();
    problems.extend(
        verified
            .problems
            .iter()
            .filter(|p| p.contains(STORAGE_DOC))
            .cloned(),
    );
    if verified.contents_not_checked.is_some() {
        problems.push("the archive's contents could not be read (no key)".into());
    }
    DrillCheck {
        id: "storage".into(),
        title: STORAGE_TITLE.into(),
        status: if problems.is_empty() && good == expected {
            CheckStatus::Passed
        } else {
            CheckStatus::Failed
        },
        expected: Some(format!(
            "{expected} objects, each matching its SHA-256 in {STORAGE_DOC}"
        )),
        actual: Some(format!("{good} of {} objects match", objects.len())),
        detail: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

/// `n` objects of this archive (chosen at random; all when it has fewer), each compared with the
/// SHA-256 `storage.json` records: the verify pass extracted and hashed its member. The check
/// names every object it compared and says it was a sample.
fn sample_check(archive: &Path, verified: &VerifyReport, n: usize) -> DrillCheck {
    let raw = crate::archive::read_document(
        archive,
        STORAGE_DOC,
        crate::storage::check::MAX_DOC_SIZE,
        &CancellationToken::new(),
    );
    let doc: StorageDoc = match raw.and_then(|b| {
        serde_json::from_slice(&b)
            .map_err(|e| crate::error::Error::invalid(format!("{STORAGE_DOC} is malformed ({e})")))
    }) {
        Ok(d) => d,
        Err(e) => return failed("storage", SAMPLE_TITLE, e.message().to_string()),
    };
    // Objects whose bytes are in an incremental's base backup are that backup's to prove.
    let mut here: Vec<&ObjectEntry> = doc.objects.iter().filter(|o| o.member.is_some()).collect();
    let total = here.len();
    fastrand::shuffle(&mut here);
    here.truncate(n);
    here.sort_by(|a, b| (&a.bucket, &a.key).cmp(&(&b.bucket, &b.key)));
    let hashed: std::collections::HashMap<&str, &crate::archive::MemberCheck> = verified
        .members
        .iter()
        .map(|m| (m.name.as_str(), m))
        .collect();
    let mut problems = Vec::new();
    for o in &here {
        let member = o.member.as_deref().unwrap_or_default();
        let found = hashed.get(member);
        let problem = match found {
            None => Some("not in the archive".to_string()),
            Some(m) if !m.ok => Some(m.problem.clone().unwrap_or("does not extract".into())),
            Some(m) if m.actual_sha256.as_deref() != Some(o.sha256.as_str()) => Some(format!(
                "SHA-256 {} differs from {} recorded in {STORAGE_DOC}",
                m.actual_sha256.as_deref().unwrap_or("none"),
                o.sha256
            )),
            Some(_) => None,
        };
        if let Some(p) = problem {
            problems.push(format!("{}/{}: {p}", o.bucket, o.key));
        }
    }
    if verified.contents_not_checked.is_some() {
        problems.push("the archive's contents could not be read (no key)".into());
    }
    let bad = problems.len().min(here.len());
    let checked: Vec<String> = here
        .iter()
        .map(|o| format!("{}/{}", o.bucket, o.key))
        .collect();
    let mut detail = format!(
        "a sample, chosen at random for this drill; checked: {}",
        checked.join(", ")
    );
    if !problems.is_empty() {
        problems.truncate(MAX_NAMED);
        detail = format!("{}; {detail}", problems.join("; "));
    }
    DrillCheck {
        id: "storage".into(),
        title: SAMPLE_TITLE.into(),
        status: if problems.is_empty() {
            CheckStatus::Passed
        } else {
            CheckStatus::Failed
        },
        expected: Some(format!(
            "a random sample of {} of {total} objects, each matching its SHA-256 in {STORAGE_DOC}",
            here.len()
        )),
        actual: Some(format!(
            "{} of {} sampled objects match",
            here.len() - bad,
            here.len()
        )),
        detail: Some(detail),
    }
}

/// Every `config/*` document read back (bounded) and parsed as JSON.
fn config_check(archive: &Path, names: &[String]) -> DrillCheck {
    let mut bad = Vec::new();
    for name in names {
        let parsed = crate::archive::read_document(
            archive,
            name,
            crate::archive::MAX_SMALL_DOC,
            &CancellationToken::new(),
        )
        .map_err(|e| e.message().to_string())
        .and_then(|bytes| {
            if name.ends_with(".json") {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            } else {
                std::str::from_utf8(&bytes)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        });
        if let Err(e) = parsed {
            bad.push(format!("{name}: {e}"));
        }
    }
    DrillCheck {
        id: "config".into(),
        title: CONFIG_TITLE.into(),
        status: if bad.is_empty() {
            CheckStatus::Passed
        } else {
            CheckStatus::Failed
        },
        expected: Some(format!("{} documents parse", names.len())),
        actual: Some(format!("{} parse", names.len() - bad.len())),
        detail: (!bad.is_empty()).then(|| bad.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ArchiveWriter;
    use crate::test_fixtures::{manifest, quiet, sha};

    /// An archive with `n` storage objects (`o0` … ) and one whose bytes are in a base backup;
    /// `lie`: `storage.json` records a wrong SHA-256 for `o1`.
    fn archive(dir: &Path, n: usize, lie: bool) -> std::path::PathBuf {
        let mut doc = StorageDoc::default();
        let mut w = ArchiveWriter::create(dir, "shop_20261124_100000_storage.tar.gz", 3).unwrap();
        let mut members = Vec::new();
        for i in 0..n {
            let (key, bytes) = (format!("o{i}"), format!("object {i}").into_bytes());
            doc.objects.push(ObjectEntry {
                bucket: "b".into(),
                key: key.clone(),
                member: Some(format!("storage/b/{key}")),
                size: bytes.len() as u64,
                sha256: sha(if lie && i == 1 { b"else" } else { &bytes }),
                ..Default::default()
            });
            members.push((format!("storage/b/{key}"), bytes));
        }
        doc.objects.push(ObjectEntry {
            bucket: "b".into(),
            key: "in-base".into(),
            member: None,
            sha256: sha(b"x"),
            ..Default::default()
        });
        w.add_bytes(STORAGE_DOC, serde_json::to_vec(&doc).unwrap());
        for (name, bytes) in members {
            w.add_bytes(&name, bytes);
        }
        w.finish(manifest(), &quiet(), &CancellationToken::new())
            .unwrap()
            .path
    }

    async fn storage(path: &Path, sample: Option<u32>) -> DrillCheck {
        let cancel = CancellationToken::new();
        let verified = crate::archive::verify(path, &quiet(), &cancel).unwrap();
        let m = verified.manifest.clone().unwrap();
        let checks = checks(path, &m, &verified, Vec::new(), sample).await;
        checks.into_iter().find(|c| c.id == "storage").unwrap()
    }

    #[tokio::test]
    async fn a_sample_checks_that_many_objects_at_random_and_names_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = archive(dir.path(), 12, false);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..8 {
            let c = storage(&path, Some(3)).await;
            assert_eq!(c.status, CheckStatus::Passed, "{c:?}");
            assert_eq!(
                c.expected.as_deref(),
                Some(
                    "a random sample of 3 of 12 objects, each matching its SHA-256 in storage.json"
                )
            );
            assert_eq!(c.actual.as_deref(), Some("3 of 3 sampled objects match"));
            let detail = c.detail.unwrap();
            let (said, names) = detail.split_once("checked: ").unwrap();
            assert!(said.contains("a sample, chosen at random"), "{said}");
            let names: Vec<&str> = names.split(", ").collect();
            assert_eq!(names.len(), 3, "{names:?}");
            assert!(names.iter().all(|n| n.starts_with("b/o")), "{names:?}");
            seen.extend(names.iter().map(|n| n.to_string()));
        }
        assert!(seen.len() > 3, "chosen at random per drill: {seen:?}");
        // Without a sample: every object, as before.
        let all = storage(&path, None).await;
        assert_eq!(all.status, CheckStatus::Passed);
        assert_eq!(all.actual.as_deref(), Some("12 of 12 objects match"));
    }

    #[tokio::test]
    async fn a_sampled_object_that_differs_from_storage_json_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = archive(dir.path(), 2, true);
        // A sample larger than the archive: every object here (the base's one is not).
        let c = storage(&path, Some(50)).await;
        assert_eq!(c.status, CheckStatus::Failed, "{c:?}");
        assert_eq!(c.actual.as_deref(), Some("1 of 2 sampled objects match"));
        let detail = c.detail.unwrap();
        assert!(detail.starts_with("b/o1: SHA-256 "), "{detail}");
        assert!(detail.ends_with("checked: b/o0, b/o1"), "{detail}");
    }
}
