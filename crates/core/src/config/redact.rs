//! Which settings are secrets, and taking their values out of a document.
//!
//! A setting is a secret when its name says so: `smtp_pass`, `jwt_secret`, every
//! `external_*_secret`, hook secrets (`hook_*_secrets`), `sms_*_auth_token`, `*_api_key`,
//! `*_access_key`, and generally anything ending in `_secret(s)`, `_password`, `_pass`, `_key`
//! or `_token`. Public identifiers that sit beside them stay: `external_google_client_id`,
//! `sms_twilio_account_sid`, `*_enabled`, URLs, and the few public keys by name
//! ([`PUBLIC_NAMES`]). The test is on the name only, case-insensitively, at any depth of the
//! document (a secret inside a nested object is found too).

use serde_json::Value;

/// What a redacted value is replaced by.
pub const REDACTED: &str = "<redacted>";

/// Names ending like a secret that are public by design (anon/publishable keys are shipped to
/// browsers).
pub const PUBLIC_NAMES: &[&str] = &["anon_key", "publishable_key", "public_key"];

/// Name endings that mark a secret.
const SECRET_SUFFIXES: &[&str] = &[
    "_secret",
    "_secrets",
    "_password",
    "_pass",
    "_key",
    "_token",
    "_private_key",
];

/// Whole names that are secrets.
const SECRET_NAMES: &[&str] = &[
    "smtp_pass",
    "jwt_secret",
    "secret",
    "password",
    "root_key",
    "service_role_key",
    // Phone numbers with fixed OTPs: whoever has them can sign in as those numbers.
    "sms_test_otp",
];

/// Whether a setting called `name` holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if PUBLIC_NAMES.contains(&name.as_str()) {
        return false;
    }
    SECRET_NAMES.contains(&name.as_str()) || SECRET_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Whether a value is worth hiding (`null`, `""` and booleans say nothing secret).
fn holds_something(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(_)) && v.as_str() != Some("")
}

/// Replace every secret value in `doc` by [`REDACTED`]; returns the JSON pointers of what was
/// replaced (`/smtp_pass`, `/nested/api_key`), sorted.
pub fn redact(doc: &mut Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(doc, &mut String::new(), &mut out);
    out.sort();
    out
}

/// Redacts the JSON documents among configuration `files` (path under `config/`, bytes) in
/// place — what an archive that is not encrypted must hold — and returns what was taken out, as
/// `file#/json/pointer`, sorted. Files that are not JSON objects or arrays (function bundles,
/// agent-side compose files, which their producer redacts) are left as they are.
pub fn redact_files(files: &mut [(String, Vec<u8>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, data) in files.iter_mut() {
        if !name.ends_with(".json") {
            continue;
        }
        let Ok(mut doc) = serde_json::from_slice::<Value>(data) else {
            continue;
        };
        let original = doc.clone();
        // A value that is already a redaction marker holds nothing secret.
        let found: Vec<String> = redact(&mut doc)
            .into_iter()
            .filter(|p| {
                !matches!(original.pointer(p).and_then(Value::as_str),
                    Some(v) if v == REDACTED || v.eq_ignore_ascii_case("[redacted]"))
            })
            .collect();
        if found.is_empty() {
            continue;
        }
        if let Ok(bytes) = serde_json::to_vec_pretty(&doc) {
            *data = bytes;
            out.extend(found.into_iter().map(|p| format!("{name}#{p}")));
        }
    }
    out.sort();
    out
}

fn walk(v: &mut Value, pointer: &mut String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                if (is_secret_name(k) && holds_something(child)) || url_with_password(child) {
                    *child = Value::String(REDACTED.to_string());
                    out.push(pointer.clone());
                } else {
                    walk(child, pointer, out);
                }
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                if url_with_password(child) {
                    *child = Value::String(REDACTED.to_string());
                    out.push(pointer.clone());
                } else {
                    walk(child, pointer, out);
                }
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// A string that is a URL carrying a password (the dashboard's `[YOUR-PASSWORD]` placeholder
/// is not one).
fn url_with_password(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    if !s.contains("://") || !s.contains('@') {
        return false;
    }
    url::Url::parse(s)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
        .is_some_and(|p| !p.is_empty() && p != "[YOUR-PASSWORD]" && p != "%5BYOUR-PASSWORD%5D")
}

/// Whether `v` is, or holds anywhere inside it, the [`REDACTED`] marker.
pub fn contains_redacted(v: &Value) -> bool {
    match v {
        Value::String(s) => s == REDACTED,
        Value::Array(items) => items.iter().any(contains_redacted),
        Value::Object(map) => map.values().any(contains_redacted),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_names_are_recognised_and_public_ones_kept() {
        for secret in [
            "smtp_pass",
            "jwt_secret",
            "external_google_secret",
            "external_apple_secret",
            "nimbus_oauth_client_secret",
            "hook_custom_access_token_secrets",
            "hook_send_email_secrets",
            "sms_twilio_auth_token",
            "sms_twilio_verify_auth_token",
            "sms_vonage_api_key",
            "sms_vonage_api_secret",
            "sms_textlocal_api_key",
            "sms_messagebird_access_key",
            "security_captcha_secret",
            "SMTP_PASS",
            "db_password",
        ] {
            assert!(is_secret_name(secret), "{secret}");
        }
        for public in [
            "external_google_client_id",
            "external_google_enabled",
            "external_google_additional_client_ids",
            "sms_twilio_account_sid",
            "sms_twilio_message_service_sid",
            "hook_custom_access_token_uri",
            "hook_custom_access_token_enabled",
            "rate_limit_token_refresh",
            "refresh_token_rotation_enabled",
            "password_min_length",
            "password_hibp_enabled",
            "mailer_subjects_password_changed_notification",
            "smtp_user",
            "smtp_host",
            "site_url",
            "anon_key",
            "connection_string",
        ] {
            assert!(!is_secret_name(public), "{public}");
        }
    }

    #[test]
    fn redaction_replaces_values_at_any_depth_and_lists_them() {
        let mut doc = json!({
            "smtp_pass": "hunter2",
            "smtp_user": "mailer",
            "external_github_secret": null,
            "external_gitlab_secret": "",
            "external_google_secret": "g-s",
            "nested": {"sms_vonage_api_key": "vk", "a/b_key": "x", "ok": 1},
            "list": [{"webhook_secret": "w"}, "https://u:pw-in-url@hooks.example.com/x"],
            "hook_send_email_uri": "https://hook:pw-in-uri@hooks.example.com/send",
            "connection_string": "postgresql://postgres.ref:[YOUR-PASSWORD]@pooler.example.com:6543/postgres",
            "sms_test_otp": "+15550001=123456",
        });
        let got = redact(&mut doc);
        assert_eq!(
            got,
            [
                "/external_google_secret",
                "/hook_send_email_uri",
                "/list/0/webhook_secret",
                "/list/1",
                "/nested/a~1b_key",
                "/nested/sms_vonage_api_key",
                "/sms_test_otp",
                "/smtp_pass"
            ]
        );
        assert!(doc["connection_string"]
            .as_str()
            .unwrap()
            .contains("[YOUR-PASSWORD]"));
        let text = doc.to_string();
        for secret in [
            "hunter2",
            "g-s",
            "\"vk\"",
            "\"w\"",
            "pw-in-url",
            "pw-in-uri",
            "123456",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(doc["smtp_user"], "mailer");
        assert_eq!(doc["external_github_secret"], Value::Null);
        assert_eq!(doc["external_gitlab_secret"], "");
        assert!(contains_redacted(&doc["nested"]));
        assert!(!contains_redacted(&json!({"a": [1, "x"]})));
    }

    #[test]
    fn files_that_reach_an_unencrypted_archive_are_redacted() {
        let mut files = vec![
            (
                "supabase/auth.json".to_string(),
                br#"{"smtp_pass":"s3cret","site_url":"https://x"}"#.to_vec(),
            ),
            (
                "supabase/functions/f/body.eszip".to_string(),
                b"\x00smtp_pass".to_vec(),
            ),
            (
                "supabase/project.json".to_string(),
                br#"{"name":"p"}"#.to_vec(),
            ),
            (
                "redacted.json".to_string(),
                br#"{"jwt_secret":"<redacted>","smtp_pass":"[redacted]"}"#.to_vec(),
            ),
        ];
        let r = redact_files(&mut files);
        assert_eq!(r, vec!["supabase/auth.json#/smtp_pass".to_string()]);
        let auth = String::from_utf8(files[0].1.clone()).unwrap();
        assert!(
            !auth.contains("s3cret") && auth.contains(REDACTED),
            "{auth}"
        );
        assert_eq!(files[1].1, b"\x00smtp_pass".to_vec());
        assert_eq!(files[2].1, br#"{"name":"p"}"#.to_vec());
        assert_eq!(
            files[3].1,
            br#"{"jwt_secret":"<redacted>","smtp_pass":"[redacted]"}"#.to_vec()
        );
    }
}
