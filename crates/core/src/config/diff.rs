//! Archived configuration against the current one ([`diff`]), and chosen settings written back
//! ([`apply_settings`]).

use super::redact::{contains_redacted, is_secret_name};
use super::{endpoint_for, ConfigSnapshot, Endpoint};
use crate::error::{Error, Result};
use crate::progress::{Phase, Reporter};
use crate::sources::ApiClient;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use tokio_util::sync::CancellationToken;

/// One setting that differs between an archived snapshot and the project now (a row of the
/// restore plan's side-by-side view).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SettingDiff {
    /// The snapshot file (`supabase/auth.json`).
    pub file: String,
    /// The top-level setting (`site_url`); `""` for a whole file (lists, function bundles).
    pub setting: String,
    /// The archived value (`None`: not in the archive). A file that is not JSON shows as
    /// `{"size": n, "sha256": "…"}`.
    pub archived: Option<Value>,
    /// The value now (`None`: the project does not have it).
    pub current: Option<Value>,
    /// Whether [`apply_settings`] can write the archived value back.
    pub writable: bool,
    /// A side was redacted: its value is unknown, and it is never written.
    pub redacted: bool,
}

/// A setting written back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AppliedSetting {
    pub file: String,
    pub setting: String,
}

/// A chosen setting that was not written, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SkippedSetting {
    pub file: String,
    pub setting: String,
    pub reason: String,
}

/// What [`apply_settings`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ApplyReport {
    pub applied: Vec<AppliedSetting>,
    pub skipped: Vec<SkippedSetting>,
}

/// The settings that differ between `archived` and `current`, file by file (sorted by file,
/// then setting). JSON objects are compared per top-level setting; anything else as a whole.
pub fn diff(archived: &ConfigSnapshot, current: &ConfigSnapshot) -> Vec<SettingDiff> {
    let names: BTreeSet<&str> = archived
        .files
        .iter()
        .chain(&current.files)
        .map(|(n, _)| n.as_str())
        .collect();
    let mut out = Vec::new();
    for name in names {
        // The Vault root key is never a setting to show or write back (the plan's Vault
        // section says whether the keys match).
        if name == super::vault::FILE {
            continue;
        }
        let (a, c) = (archived.file(name), current.file(name));
        if a == c {
            continue;
        }
        let endpoint = endpoint_for(name);
        let (a, c) = (a.map(|b| as_value(name, b)), c.map(|b| as_value(name, b)));
        match (&a, &c) {
            (Some(Value::Object(_)) | None, Some(Value::Object(_)) | None)
                if name.ends_with(".json") =>
            {
                let empty = Map::new();
                let am = a.as_ref().and_then(Value::as_object).unwrap_or(&empty);
                let cm = c.as_ref().and_then(Value::as_object).unwrap_or(&empty);
                let keys: BTreeSet<&String> = am.keys().chain(cm.keys()).collect();
                for k in keys {
                    let (av, cv) = (am.get(k), cm.get(k));
                    if av != cv {
                        out.push(row(name, k, av.cloned(), cv.cloned(), endpoint));
                    }
                }
            }
            _ => out.push(row(name, "", a, c, endpoint)),
        }
    }
    out
}

/// A JSON file's document; other bytes (or JSON that does not parse) as size and digest.
fn as_value(name: &str, bytes: &[u8]) -> Value {
    if name.ends_with(".json") {
        if let Ok(v) = serde_json::from_slice(bytes) {
            return v;
        }
    }
    serde_json::json!({
        "size": bytes.len(),
        "sha256": crate::digest::sha256_hex(bytes),
    })
}

fn row(
    file: &str,
    setting: &str,
    archived: Option<Value>,
    current: Option<Value>,
    endpoint: Option<&Endpoint>,
) -> SettingDiff {
    let redacted = archived.as_ref().is_some_and(contains_redacted)
        || current.as_ref().is_some_and(contains_redacted);
    let writable =
        !redacted && archived.is_some() && endpoint.is_some_and(|e| e.writable.allows(setting));
    SettingDiff {
        file: file.to_string(),
        setting: setting.to_string(),
        archived,
        current,
        writable,
        redacted,
    }
}

/// Why `d` cannot be written back (`None`: it can). Decided again here, not taken from
/// `d.writable`: a redacted value is never written, whatever the caller sends.
fn refusal(d: &SettingDiff) -> Option<(&'static Endpoint, &'static str)> {
    let Some(endpoint) = endpoint_for(&d.file) else {
        return Some((&super::PROJECT, "this file is not written back"));
    };
    let reason = if d.setting.is_empty() || !endpoint.writable.allows(&d.setting) {
        "the Management API does not take this setting back"
    } else if d.archived.is_none() {
        "the archive has no value for it"
    } else if d.redacted || d.archived.as_ref().is_some_and(contains_redacted) {
        "its archived value was redacted"
    } else {
        return None;
    };
    Some((endpoint, reason))
}

/// Write the archived values of the `chosen` settings back to project `project_ref`: one
/// `PATCH` per file holding only the chosen settings (auth, PostgREST, storage and realtime
/// config). Settings that cannot be written (read-only, not in the archive, redacted) are
/// skipped and reported, never sent. A failed `PATCH` ends the run with an error naming what
/// was already applied; no secret value is in its text.
pub async fn apply_settings(
    api: &dyn ApiClient,
    project_ref: &str,
    chosen: &[SettingDiff],
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<ApplyReport> {
    super::check_ref(project_ref)?;
    reporter.phase(Phase::Restoring, None);
    let mut report = ApplyReport::default();
    // file → (endpoint, body), in the order first chosen.
    let mut patches: Vec<(&'static Endpoint, Map<String, Value>)> = Vec::new();
    for d in chosen {
        if let Some((_, reason)) = refusal(d) {
            report.skipped.push(SkippedSetting {
                file: d.file.clone(),
                setting: d.setting.clone(),
                reason: reason.to_string(),
            });
            continue;
        }
        let endpoint = endpoint_for(&d.file).expect("checked by refusal");
        let value = d.archived.clone().expect("checked by refusal");
        match patches.iter_mut().find(|(e, _)| e.file == endpoint.file) {
            Some((_, body)) => {
                body.insert(d.setting.clone(), value);
            }
            None => {
                let mut body = Map::new();
                body.insert(d.setting.clone(), value);
                patches.push((endpoint, body));
            }
        }
    }
    for (endpoint, body) in patches {
        if cancel.is_cancelled() {
            return Err(Error::cancelled().context(applied_so_far(&report)));
        }
        let path = endpoint.path_for(project_ref);
        let body = Value::Object(body);
        if let Err(e) = api.patch_json(&path, &body).await {
            let secrets = secret_values(&body);
            let mut message = format!("applying {}: {}", endpoint.file, e.message());
            for s in &secrets {
                message = message.replace(s.as_str(), super::REDACTED);
            }
            let mut out = Error::new(e.kind(), message).retryable(e.is_retryable());
            if let Some(hint) = e.hint() {
                out = out.with_hint(hint);
            }
            return Err(out.context(applied_so_far(&report)));
        }
        for setting in body.as_object().into_iter().flat_map(|m| m.keys()) {
            report.applied.push(AppliedSetting {
                file: endpoint.file.to_string(),
                setting: setting.clone(),
            });
        }
        reporter.advance(1);
    }
    Ok(report)
}

fn applied_so_far(report: &ApplyReport) -> String {
    if report.applied.is_empty() {
        return "no setting was changed".to_string();
    }
    let names: Vec<String> = report
        .applied
        .iter()
        .map(|a| format!("{}:{}", a.file, a.setting))
        .collect();
    format!("already applied {}", names.join(", "))
}

/// The string values of secret-named settings in a PATCH body (scrubbed from error text).
fn secret_values(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, secret: bool, out: &mut Vec<String>) {
        match v {
            Value::String(s) if secret && s.len() >= 3 => out.push(s.clone()),
            Value::Object(m) => m
                .iter()
                .for_each(|(k, v)| walk(v, secret || is_secret_name(k), out)),
            Value::Array(a) => a.iter().for_each(|v| walk(v, secret, out)),
            _ => {}
        }
    }
    walk(body, false, &mut out);
    // Longest first, so a value inside another is not left half-replaced.
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snap(files: &[(&str, Value)]) -> ConfigSnapshot {
        ConfigSnapshot::from_files(
            "r",
            files
                .iter()
                .map(|(n, v)| (n.to_string(), serde_json::to_vec(v).unwrap()))
                .collect(),
        )
    }

    #[test]
    fn diffs_are_per_setting_and_marked() {
        let a = snap(&[
            (
                "supabase/auth.json",
                json!({"site_url": "https://a", "smtp_pass": "<redacted>", "jwt_exp": 3600,
                       "custom_oauth_max_providers": 3, "gone_now": 1}),
            ),
            ("supabase/pooler.json", json!([{"pool_mode": "session"}])),
            (
                "supabase/postgrest.json",
                json!({"max_rows": 1000, "jwt_secret": "s1"}),
            ),
        ]);
        let mut c = snap(&[
            (
                "supabase/auth.json",
                json!({"site_url": "https://b", "smtp_pass": "now-known", "jwt_exp": 3600,
                       "custom_oauth_max_providers": 5}),
            ),
            (
                "supabase/pooler.json",
                json!([{"pool_mode": "transaction"}]),
            ),
            (
                "supabase/postgrest.json",
                json!({"max_rows": 500, "jwt_secret": "s2"}),
            ),
        ]);
        c.files
            .push(("supabase/functions/f/body.eszip".into(), vec![1, 2, 3]));
        let d = diff(&a, &c);
        let rows: Vec<(&str, &str, bool, bool)> = d
            .iter()
            .map(|d| (d.file.as_str(), d.setting.as_str(), d.writable, d.redacted))
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "supabase/auth.json",
                    "custom_oauth_max_providers",
                    false,
                    false
                ),
                ("supabase/auth.json", "gone_now", true, false),
                ("supabase/auth.json", "site_url", true, false),
                ("supabase/auth.json", "smtp_pass", false, true),
                ("supabase/functions/f/body.eszip", "", false, false),
                ("supabase/pooler.json", "", false, false),
                ("supabase/postgrest.json", "jwt_secret", false, false),
                ("supabase/postgrest.json", "max_rows", true, false),
            ]
        );
        assert_eq!(d[2].archived, Some(json!("https://a")));
        assert_eq!(d[2].current, Some(json!("https://b")));
        assert_eq!(d[1].current, None);
        assert_eq!(d[4].archived, None);
        assert_eq!(d[4].current.as_ref().unwrap()["size"], 3);
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn refusals_are_decided_again() {
        let forged = SettingDiff {
            file: "supabase/auth.json".into(),
            setting: "smtp_pass".into(),
            archived: Some(json!("<redacted>")),
            current: Some(json!("x")),
            writable: true,
            redacted: false,
        };
        assert_eq!(
            refusal(&forged).unwrap().1,
            "its archived value was redacted"
        );
        let nested = SettingDiff {
            file: "supabase/storage.json".into(),
            setting: "features".into(),
            archived: Some(json!({"x": {"api_key": "<redacted>"}})),
            ..forged.clone()
        };
        assert!(refusal(&nested).is_some());
        let ok = SettingDiff {
            setting: "site_url".into(),
            archived: Some(json!("https://a")),
            ..forged.clone()
        };
        assert!(refusal(&ok).is_none());
        let unknown_file = SettingDiff {
            file: "supabase/functions/f/metadata.json".into(),
            ..ok.clone()
        };
        assert!(refusal(&unknown_file).is_some());
        assert_eq!(
            secret_values(&json!({"smtp_pass": "hunter2", "site_url": "https://x",
                                  "o": {"api_key": "k-123"}})),
            ["hunter2", "k-123"]
        );
    }
}
