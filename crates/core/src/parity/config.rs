//! The configuration's parts of a parity report: the backup's archived configuration against
//! the target project's, fetched again after the restore (issue 66, item 3) — settings applied,
//! Edge Functions (slug, bundle digest, `verify_jwt`), the function secrets to re-enter by name,
//! and the Vault root key.
//!
//! A setting that names its own project (an `id`, a `created_at`, a host or connection string
//! holding the project's ref) is the project's own, not a setting to carry: left out of the
//! comparison and counted in the part's note. A redacted value (an unencrypted backup) cannot be
//! compared: said, never guessed.

use super::{name_of, Evidence, PartParity, PartVerdict, MAX_LISTED};
use crate::config::vault::VaultKeyState;
use crate::config::{diff, plan_functions, ConfigSnapshot, FunctionAction, SettingDiff};
use serde_json::Value;
use std::collections::BTreeMap;

/// The settings documents and the part each one is.
const SETTINGS_PARTS: &[(&str, &str)] = &[
    ("supabase/auth.json", "auth-config"),
    ("supabase/postgrest.json", "postgrest-config"),
    ("supabase/storage.json", "storage-config"),
    ("supabase/realtime.json", "realtime-config"),
    ("supabase/pooler.json", "pooler-config"),
    ("supabase/postgres.json", "postgres-config"),
    ("supabase/network-restrictions.json", "network-restrictions"),
    ("supabase/ssl-enforcement.json", "ssl-enforcement"),
    ("supabase/sso-providers.json", "sso-providers"),
    ("supabase/third-party-auth.json", "third-party-auth"),
];

/// Keys that name an object of one project, never a setting to carry.
const OWN_KEYS: &[&str] = &["id", "created_at", "updated_at", "inserted_at", "ref"];

const SECRETS_FILE: &str = "supabase/secrets.json";

/// The project ref a snapshot belongs to (its own field, or its `project.json`'s).
fn project_ref(snap: &ConfigSnapshot) -> Option<String> {
    if !snap.project_ref.is_empty() {
        return Some(snap.project_ref.clone());
    }
    let doc: Value = serde_json::from_slice(snap.file(crate::config::PROJECT.file)?).ok()?;
    ["ref", "id"]
        .iter()
        .find_map(|k| doc.get(*k).and_then(Value::as_str))
        .map(str::to_string)
}

/// `v` without the keys that name one project's objects, and with the project's ref (`r`) in
/// its text made one placeholder, at any depth.
fn normalized(v: &Value, r: &Option<String>) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !OWN_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), normalized(v, r)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| normalized(x, r)).collect()),
        Value::String(s) => match r {
            Some(r) if r.len() >= 8 => Value::String(s.replace(r.as_str(), "{ref}")),
            _ => v.clone(),
        },
        other => other.clone(),
    }
}

/// Whether a differing setting is the project's own (see the module's text): the same once
/// each side's ids, dates and ref are left out.
fn is_own(d: &SettingDiff, ours: &Option<String>, theirs: &Option<String>) -> bool {
    if OWN_KEYS.contains(&d.setting.as_str()) {
        return true;
    }
    match (&d.archived, &d.current) {
        (Some(a), Some(c)) => normalized(a, ours) == normalized(c, theirs),
        _ => false,
    }
}

fn cut(mut lines: Vec<String>) -> Vec<String> {
    let total = lines.len();
    if total > MAX_LISTED {
        lines.truncate(MAX_LISTED);
        lines.push(format!("… and {} more", total - MAX_LISTED));
    }
    lines
}

fn verdict(differences: &[String]) -> PartVerdict {
    if differences.is_empty() {
        PartVerdict::Equal
    } else {
        PartVerdict::Differs
    }
}

/// The settings documents, functions and function secrets of `archived` against `target` (the
/// target project's configuration fetched after the restore). A part the backup does not hold
/// is left out.
pub fn config(archived: &ConfigSnapshot, target: &ConfigSnapshot) -> Vec<PartParity> {
    let (ours, theirs) = (project_ref(archived), project_ref(target));
    let mut by_file: BTreeMap<String, Vec<SettingDiff>> = BTreeMap::new();
    for d in diff(archived, target) {
        by_file.entry(d.file.clone()).or_default().push(d);
    }
    let mut out = Vec::new();
    for (file, part) in SETTINGS_PARTS {
        let Some(bytes) = archived.file(file) else {
            continue;
        };
        let settings = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => m.len(),
            _ => 1,
        };
        let (mut differences, mut own, mut redacted) = (Vec::new(), 0usize, Vec::new());
        for d in by_file.remove(*file).unwrap_or_default() {
            let name = if d.setting.is_empty() {
                "the whole list".to_string()
            } else {
                d.setting.clone()
            };
            if d.redacted {
                redacted.push(name);
            } else if is_own(&d, &ours, &theirs) {
                own += 1;
            } else if d.current.is_none() {
                differences.push(format!("missing in the target: {name}"));
            } else if d.archived.is_none() {
                differences.push(format!("only in the target: {name}"));
            } else if d.writable {
                differences.push(format!("differs: {name}"));
            } else {
                differences.push(format!("differs: {name} (set it by hand)"));
            }
        }
        let mut notes = Vec::new();
        if own > 0 {
            notes.push(format!(
                "{} naming the project itself not compared",
                crate::words::count(own, "setting")
            ));
        }
        if !redacted.is_empty() {
            notes.push(format!(
                "not compared, redacted in this unencrypted backup: {}",
                redacted.join(", ")
            ));
        }
        out.push(PartParity {
            part: part.to_string(),
            name: name_of(part),
            verdict: verdict(&differences),
            evidence: Evidence::Settings,
            compared: crate::words::count(settings, "setting"),
            differences: cut(differences),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            absent_in_target: false,
        });
    }
    out.extend(functions(archived, target));
    out.extend(secrets(archived, target));
    out
}

/// Edge Functions: the same slug running the same bundle with the same `verify_jwt`, entry point
/// and import map.
fn functions(archived: &ConfigSnapshot, target: &ConfigSnapshot) -> Option<PartParity> {
    let ours = plan_functions(archived, target);
    let extra: Vec<String> = plan_functions(target, archived)
        .into_iter()
        .filter(|f| f.action == FunctionAction::Create)
        .map(|f| format!("only in the target: {}", f.slug))
        .collect();
    if ours.is_empty() && extra.is_empty() {
        return None;
    }
    let mut differences = Vec::new();
    let mut cannot = Vec::new();
    for f in &ours {
        match f.action {
            FunctionAction::Unchanged => {}
            FunctionAction::Create => {
                differences.push(format!("missing in the target: {}", f.slug))
            }
            FunctionAction::Update => differences.push(format!(
                "differs: {} (another bundle or other settings)",
                f.slug
            )),
            FunctionAction::Cannot => cannot.push(f.slug.clone()),
        }
    }
    differences.extend(extra);
    let mut p = PartParity {
        part: "edge-functions".into(),
        name: name_of("edge-functions"),
        verdict: verdict(&differences),
        evidence: Evidence::Functions,
        compared: format!(
            "{} (slug, bundle digest, verify_jwt)",
            crate::words::count(ours.len(), "function")
        ),
        differences: cut(differences),
        note: None,
        absent_in_target: false,
    };
    if !cannot.is_empty() {
        p.note = Some(format!(
            "not compared, the backup lacks their code: {}",
            cannot.join(", ")
        ));
    }
    Some(p)
}

/// The secrets' names and value digests (`/secrets` answers no value).
fn secret_digests(snap: &ConfigSnapshot) -> Option<BTreeMap<String, Option<String>>> {
    let doc: Value = serde_json::from_slice(snap.file(SECRETS_FILE)?).ok()?;
    Some(
        doc.as_array()?
            .iter()
            .filter_map(|s| {
                let name = s.get("name")?.as_str()?.to_string();
                let digest = s.get("value").and_then(Value::as_str).map(str::to_string);
                Some((name, digest))
            })
            .collect(),
    )
}

/// Function secrets: the ones to enter again in the target, by name (their values never leave
/// the platform).
fn secrets(archived: &ConfigSnapshot, target: &ConfigSnapshot) -> Option<PartParity> {
    let ours = secret_digests(archived)?;
    let theirs = secret_digests(target).unwrap_or_default();
    if ours.is_empty() && theirs.is_empty() {
        return None;
    }
    let mut differences = Vec::new();
    for (name, digest) in &ours {
        match theirs.get(name) {
            None => differences.push(format!("enter it in the target: {name}")),
            Some(d) if d != digest => {
                differences.push(format!("enter it again (its value differs): {name}"))
            }
            Some(_) => {}
        }
    }
    for name in theirs.keys().filter(|n| !ours.contains_key(*n)) {
        differences.push(format!("only in the target: {name}"));
    }
    Some(PartParity {
        part: "function-secrets".into(),
        name: name_of("function-secrets"),
        verdict: verdict(&differences),
        evidence: Evidence::Secrets,
        compared: format!(
            "{} by name and digest",
            crate::words::count(ours.len(), "secret")
        ),
        differences: cut(differences),
        note: (!ours.is_empty()).then(|| {
            "values never leave Supabase: a secret missing in the target is entered by hand \
             (supabase secrets set NAME=…)"
                .to_string()
        }),
        absent_in_target: false,
    })
}

/// The Vault root key after the restore (`None`: the backup does not hold one).
pub fn vault(state: VaultKeyState, project: &str) -> Option<PartParity> {
    let (verdict, differences, note) = match state {
        VaultKeyState::NotInBackup => return None,
        VaultKeyState::Same => (PartVerdict::Equal, Vec::new(), None),
        VaultKeyState::Differs => (
            PartVerdict::Differs,
            vec![format!("{project} has another Vault root key")],
            Some(
                "the restored Vault secrets do not decrypt there: restore again with the \
                 Vault root key set (--vault-key)"
                    .to_string(),
            ),
        ),
        VaultKeyState::TargetUnknown => (
            PartVerdict::NotCompared,
            Vec::new(),
            Some(format!("Offsite cannot read {project}'s Vault root key")),
        ),
    };
    Some(PartParity {
        part: "vault-root-key".into(),
        name: name_of("vault-root-key"),
        verdict,
        evidence: Evidence::Key,
        compared: "the key's digest".into(),
        differences,
        note,
        absent_in_target: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snap(project_ref: &str, files: &[(&str, Value)]) -> ConfigSnapshot {
        ConfigSnapshot::from_files(
            project_ref,
            files
                .iter()
                .map(|(n, v)| (n.to_string(), serde_json::to_vec(v).unwrap()))
                .collect(),
        )
    }

    fn part<'a>(parts: &'a [PartParity], id: &str) -> &'a PartParity {
        parts
            .iter()
            .find(|p| p.part == id)
            .unwrap_or_else(|| panic!("{id}: {parts:#?}"))
    }

    #[test]
    fn settings_compare_what_is_carried_and_leave_the_projects_own_out() {
        let a = snap(
            "",
            &[
                (
                    "supabase/project.json",
                    json!({"ref": "aaaaaaaaaaaaaaaaaaaa"}),
                ),
                (
                    "supabase/auth.json",
                    json!({"site_url": "https://x.example", "jwt_exp": 3600, "smtp_pass": "<redacted>",
                           "api_url": "https://aaaaaaaaaaaaaaaaaaaa.supabase.co"}),
                ),
                (
                    "supabase/pooler.json",
                    json!([{"id": 1, "pool_mode": "transaction", "db_host": "db.aaaaaaaaaaaaaaaaaaaa.supabase.co"}]),
                ),
                (
                    "supabase/secrets.json",
                    json!([{"name": "STRIPE_KEY", "value": "d1"}, {"name": "OPENAI", "value": "d2"}]),
                ),
            ],
        );
        let same_elsewhere = snap(
            "bbbbbbbbbbbbbbbbbbbb",
            &[
                (
                    "supabase/auth.json",
                    json!({"site_url": "https://x.example", "jwt_exp": 3600, "smtp_pass": "<redacted>",
                           "api_url": "https://bbbbbbbbbbbbbbbbbbbb.supabase.co"}),
                ),
                (
                    "supabase/pooler.json",
                    json!([{"id": 7, "pool_mode": "transaction", "db_host": "db.bbbbbbbbbbbbbbbbbbbb.supabase.co"}]),
                ),
                (
                    "supabase/secrets.json",
                    json!([{"name": "STRIPE_KEY", "value": "d1"}, {"name": "OPENAI", "value": "d2"}]),
                ),
            ],
        );
        let parts = config(&a, &same_elsewhere);
        let auth = part(&parts, "auth-config");
        assert_eq!(auth.verdict, PartVerdict::Equal, "{auth:?}");
        assert_eq!(auth.compared, "4 settings");
        assert!(
            auth.note
                .as_deref()
                .unwrap()
                .contains("1 setting naming the project"),
            "{auth:?}"
        );
        // A list whose entries differ only in ids and the project's host: the same.
        assert_eq!(part(&parts, "pooler-config").verdict, PartVerdict::Equal);
        assert_eq!(part(&parts, "function-secrets").verdict, PartVerdict::Equal);

        let other = snap(
            "bbbbbbbbbbbbbbbbbbbb",
            &[
                (
                    "supabase/auth.json",
                    json!({"site_url": "https://y.example", "smtp_pass": "<redacted>", "jwt_secret": "s"}),
                ),
                (
                    "supabase/pooler.json",
                    json!([{"id": 7, "pool_mode": "session"}]),
                ),
                (
                    "supabase/secrets.json",
                    json!([{"name": "OPENAI", "value": "other"}, {"name": "NEW", "value": "d"}]),
                ),
            ],
        );
        let parts = config(&a, &other);
        let auth = part(&parts, "auth-config");
        assert_eq!(auth.verdict, PartVerdict::Differs);
        assert_eq!(
            auth.differences,
            [
                "missing in the target: api_url",
                "missing in the target: jwt_exp",
                "only in the target: jwt_secret",
                "differs: site_url"
            ]
        );
        assert_eq!(
            part(&parts, "pooler-config").differences,
            ["differs: the whole list (set it by hand)"]
        );
        let secrets = part(&parts, "function-secrets");
        assert_eq!(
            secrets.differences,
            [
                "enter it again (its value differs): OPENAI",
                "enter it in the target: STRIPE_KEY",
                "only in the target: NEW"
            ]
        );
        // No digest and no value is ever shown.
        let text = format!("{parts:?}");
        assert!(!text.contains("d1") && !text.contains("other"), "{text}");
        // A part the backup does not hold is not listed.
        assert!(parts.iter().all(|p| p.part != "realtime-config"));
    }

    #[test]
    fn the_vault_line_follows_the_keys_state() {
        assert!(vault(VaultKeyState::NotInBackup, "new").is_none());
        assert_eq!(
            vault(VaultKeyState::Same, "new").unwrap().verdict,
            PartVerdict::Equal
        );
        let d = vault(VaultKeyState::Differs, "new").unwrap();
        assert_eq!(d.verdict, PartVerdict::Differs);
        assert!(d.note.unwrap().contains("--vault-key"));
        assert_eq!(
            vault(VaultKeyState::TargetUnknown, "new").unwrap().verdict,
            PartVerdict::NotCompared
        );
    }
}
