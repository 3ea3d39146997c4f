//! The storage and configuration checks of a drill. The storage check reads nothing again: the
//! drill's verify pass has already extracted every member of the archive and hashed it, so each
//! object `storage.json` lists is proven to extract and match its SHA-256 (no sampling needed);
//! the configuration check parses every configuration document.

use super::{CheckStatus, DrillCheck};
use crate::archive::{Manifest, VerifyReport};
use crate::storage::layout::{STORAGE_DOC, STORAGE_PREFIX};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// The checks of the components the backup has (none for a database-only backup).
pub(crate) async fn checks(
    archive: &Path,
    manifest: &Manifest,
    verified: &VerifyReport,
    keys: Vec<crate::crypto::UserKey>,
) -> Vec<DrillCheck> {
    let mut out = Vec::new();
    if manifest.member(STORAGE_DOC).is_some() {
        out.push(storage_check(manifest, verified));
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
