//! The Management API client and the configuration component against the fake Management API
//! (`offsite_testkit::management_api`) over real HTTP on 127.0.0.1.

use offsite_core::config::{self, ConfigOptions, ConfigSnapshot, SettingDiff};
use offsite_core::progress::{ProgressUpdate, Reporter, RetryWait};
use offsite_core::retry::{RateLimited, Retrying};
use offsite_core::sources::supabase_api::ManagementApiOptions;
use offsite_core::sources::{ApiClient, ApiSource, ManagementApi};
use offsite_core::ErrorKind;
use offsite_testkit::conformance::{object, quick_retries, sha256_hex};
use offsite_testkit::faults::{FaultPlan, Faulty};
use offsite_testkit::management_api::{
    FAKE_FUNCTION_SECRETS, FAKE_SECRETS, FUNCTION_SLUGS, PROJECT_REF, TOKEN,
};
use offsite_testkit::FakeManagementApi;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn client(fake: &FakeManagementApi) -> ManagementApi {
    ManagementApi::with_options(
        TOKEN,
        ManagementApiOptions {
            base_url: fake.base_url(),
            timeout: Duration::from_secs(20),
            ..Default::default()
        },
    )
    .unwrap()
}

async fn fetch(api: &dyn ApiClient, redact: bool) -> offsite_core::Result<ConfigSnapshot> {
    config::fetch_config(
        api,
        PROJECT_REF,
        &ConfigOptions { redact },
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
}

fn doc(snap: &ConfigSnapshot, file: &str) -> serde_json::Value {
    serde_json::from_slice(snap.file(file).unwrap_or_else(|| panic!("no {file}"))).unwrap()
}

fn recording() -> (Reporter, Arc<Mutex<Vec<RetryWait>>>) {
    let seen: Arc<Mutex<Vec<RetryWait>>> = Arc::default();
    let s2 = seen.clone();
    let sink = move |u: &ProgressUpdate| {
        if let Some(w) = &u.retry {
            s2.lock().unwrap().push(w.clone());
        }
    };
    (Reporter::new(Arc::new(sink), "job"), seen)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn management_api_conforms_bare_and_guarded() {
    let fake = FakeManagementApi::empty(TOKEN);
    let doc = |p: &str, v| fake.serve_json(p, v);
    let status = |p: &str, s: u16| fake.serve_status(p, s);
    object::check_api_source(&client(&fake), &doc, &status).await;

    let guarded = Retrying::new(
        RateLimited::new(client(&fake), Duration::from_millis(1), 10),
        quick_retries(),
    );
    object::check_api_source(&guarded, &doc, &status).await;

    // Behind a fault injector (resets, 503s, 429s on every other call), retried.
    let faulty = Faulty::new(client(&fake), FaultPlan::flaky(0));
    let counters = faulty.counters();
    let retried = Retrying::new(faulty, quick_retries());
    object::check_api_source(&retried, &doc, &status).await;
    assert!(counters.failed() >= 3, "{}", counters.failed());
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.had_auth_header && r.authorized));
}

#[tokio::test]
async fn a_full_fetch_keeps_every_document_and_no_secret() {
    let fake = FakeManagementApi::start();
    let api = client(&fake);
    let snap = fetch(&api, true).await.unwrap();

    let names: Vec<&str> = snap.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "supabase/auth.json",
            "supabase/functions.json",
            "supabase/functions/hello-world/body.eszip",
            "supabase/functions/hello-world/metadata.json",
            "supabase/functions/stripe-webhook/body.eszip",
            "supabase/functions/stripe-webhook/metadata.json",
            "supabase/network-restrictions.json",
            "supabase/pooler.json",
            "supabase/postgres.json",
            "supabase/postgrest.json",
            "supabase/project.json",
            "supabase/realtime.json",
            "supabase/secrets.json",
            "supabase/ssl-enforcement.json",
            "supabase/storage.json",
            "supabase/third-party-auth.json",
        ]
    );
    // The project has no SAML: recorded, not a failure. The Vault root key is not even asked
    // for by a redacted fetch (an unencrypted archive's), and the record says why.
    assert_eq!(snap.missing.len(), 2, "{:?}", snap.missing);
    assert_eq!(snap.missing[0].what, "supabase/sso-providers.json");
    assert!(
        snap.missing[0].reason.contains("SAML"),
        "{:?}",
        snap.missing
    );
    assert_eq!(snap.missing[1].what, offsite_core::config::vault::FILE);
    assert!(snap.missing[1].reason.contains("not encrypted"));
    assert!(fake
        .requests()
        .iter()
        .all(|r| !r.path.ends_with("/pgsodium")));

    // Documents as served, public settings kept.
    let auth = doc(&snap, "supabase/auth.json");
    assert_eq!(auth["site_url"], "https://shop.example.com");
    assert_eq!(
        auth["external_google_client_id"],
        "1234-fake.apps.googleusercontent.com"
    );
    assert_eq!(auth["sms_twilio_account_sid"], "ACfake0001");
    assert_eq!(auth["smtp_pass"], config::REDACTED);
    assert_eq!(auth["external_github_secret"], serde_json::Value::Null);
    assert_eq!(
        doc(&snap, "supabase/pooler.json")[0]["pool_mode"],
        "transaction"
    );
    assert_eq!(
        doc(&snap, "supabase/storage.json")["fileSizeLimit"],
        52428800
    );
    for slug in FUNCTION_SLUGS {
        assert_eq!(
            snap.file(&format!("supabase/functions/{slug}/body.eszip")),
            Some(FakeManagementApi::function_body(slug).as_slice())
        );
        assert_eq!(
            doc(&snap, &format!("supabase/functions/{slug}/metadata.json"))["slug"],
            *slug
        );
    }
    // Secrets: names and digests.
    let secrets = doc(&snap, "supabase/secrets.json");
    let got: Vec<(String, String)> = secrets
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut want: Vec<(String, String)> = FAKE_FUNCTION_SECRETS
        .iter()
        .map(|(n, v)| (n.to_string(), sha256_hex(v.as_bytes())))
        .collect();
    want.sort();
    assert_eq!(got, want);

    // What was redacted is listed.
    for r in [
        "supabase/auth.json#/smtp_pass",
        "supabase/auth.json#/jwt_secret",
        "supabase/auth.json#/external_google_secret",
        "supabase/auth.json#/external_apple_secret",
        "supabase/auth.json#/hook_custom_access_token_secrets",
        "supabase/auth.json#/sms_twilio_auth_token",
        "supabase/auth.json#/sms_vonage_api_key",
        "supabase/auth.json#/sms_vonage_api_secret",
        "supabase/auth.json#/sms_messagebird_access_key",
        "supabase/auth.json#/security_captcha_secret",
        "supabase/postgrest.json#/jwt_secret",
    ] {
        assert!(
            snap.redactions.iter().any(|x| x == r),
            "{r} not in {:?}",
            snap.redactions
        );
    }
    assert!(snap.redacted);

    // No secret value anywhere: files, the serialised snapshot, its Debug output.
    let serialised = serde_json::to_vec(&snap).unwrap();
    let debug = format!("{snap:?}");
    let values = FAKE_SECRETS
        .iter()
        .copied()
        .chain(FAKE_FUNCTION_SECRETS.iter().map(|(_, v)| *v));
    for secret in values {
        for (name, bytes) in &snap.files {
            assert!(!contains(bytes, secret), "{secret} in {name}");
        }
        assert!(!contains(&serialised, secret), "{secret} in the metadata");
        assert!(!debug.contains(secret), "{secret} in Debug");
    }
    assert!(!debug.contains(TOKEN));

    // One request per document, each with the token.
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1 + 10 + 1 + 2 * FUNCTION_SLUGS.len() + 1);
    assert!(reqs.iter().all(|r| r.method == "GET" && r.authorized));

    // Unredacted (an encrypted archive): the values are kept, secrets still digests only.
    let plain = fetch(&api, false).await.unwrap();
    assert!(!plain.redacted && plain.redactions.is_empty());
    assert_eq!(
        doc(&plain, "supabase/auth.json")["smtp_pass"],
        FAKE_SECRETS[0]
    );
    for (_, v) in FAKE_FUNCTION_SECRETS {
        assert!(!plain.files.iter().any(|(_, b)| contains(b, v)));
    }
    // … and the Vault root key is fetched, as the one document of its file, hidden in Debug.
    let vault = offsite_core::config::vault::FILE;
    assert_eq!(
        doc(&plain, vault),
        serde_json::json!({ "root_key": offsite_testkit::management_api::VAULT_ROOT_KEY })
    );
    assert!(plain.missing.iter().all(|m| m.what != vault));
    assert!(!format!("{plain:?}").contains(offsite_testkit::management_api::VAULT_ROOT_KEY));
}

#[tokio::test]
async fn bad_or_weak_tokens_fail_with_a_hint_and_are_not_retried() {
    let fake = FakeManagementApi::start();
    let guarded = Retrying::new(
        RateLimited::new(client(&fake), Duration::from_millis(1), 10),
        quick_retries(),
    );
    fake.fail_all(Some(401));
    let e = fetch(&guarded, true).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(e.hint().unwrap().contains("access token"), "{:?}", e.hint());
    assert!(!e.message().contains(TOKEN) && !e.hint().unwrap().contains(TOKEN));
    assert_eq!(fake.request_count(), 1, "401 is permanent: asked once");

    fake.fail_all(Some(403));
    let e = fetch(&guarded, true).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    assert!(e.hint().unwrap().contains("token"), "{:?}", e.hint());
    assert_eq!(fake.request_count(), 2);

    // A token the server does not know.
    fake.fail_all(None);
    let wrong = ManagementApi::with_options(
        "sbp_not_the_right_one_000000000000000000",
        ManagementApiOptions {
            base_url: fake.base_url(),
            ..Default::default()
        },
    )
    .unwrap();
    let e = fetch(&wrong, true).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(!e.message().contains("sbp_not_the_right_one"));
    let last = fake.requests().pop().unwrap();
    assert!(last.had_auth_header && !last.authorized);

    // A wrong project ref is not a "missing feature".
    let e = config::fetch_config(
        &client(&fake),
        "zzzzzzzzzzzzzzzzzzzz",
        &ConfigOptions::default(),
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.hint().unwrap().contains("project ref"));
}

#[tokio::test]
async fn a_missing_feature_or_function_is_recorded() {
    let fake = FakeManagementApi::start();
    let r = format!("/v1/projects/{PROJECT_REF}");
    fake.serve_status(&format!("{r}/config/realtime"), 404);
    fake.serve_status(&format!("{r}/functions/stripe-webhook/body"), 404);
    let snap = fetch(&client(&fake), true).await.unwrap();
    let missing: Vec<&str> = snap.missing.iter().map(|m| m.what.as_str()).collect();
    assert_eq!(
        missing,
        [
            "supabase/realtime.json",
            "supabase/sso-providers.json",
            "supabase/functions/stripe-webhook/body.eszip",
            "supabase/vault-root-key.json"
        ]
    );
    assert!(snap.file("supabase/realtime.json").is_none());
    assert!(snap
        .file("supabase/functions/stripe-webhook/metadata.json")
        .is_some());
}

#[tokio::test]
async fn http_429_waits_for_retry_after() {
    let fake = FakeManagementApi::start();
    let (reporter, waits) = recording();
    let api = Retrying::new(client(&fake), quick_retries()).reporting_to(reporter);
    fake.rate_limit(2, 1);
    let t0 = Instant::now();
    let got = api
        .get_json(&format!("/v1/projects/{PROJECT_REF}/postgrest"))
        .await
        .unwrap();
    assert_eq!(got["max_rows"], 1000);
    assert!(t0.elapsed() >= Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(fake.request_count(), 3, "two 429s, then the answer");
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert!(waits
        .iter()
        .all(|w| w.wait_ms == 1000 && w.reason.contains("429")));
    let reqs = fake.requests();
    assert!(reqs[1].at - reqs[0].at >= Duration::from_millis(950));

    // Bare, a 429 is `rate_limited` with the server's wait.
    fake.rate_limit(1, 7);
    let e = client(&fake)
        .get_json(&format!("/v1/projects/{PROJECT_REF}"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert!(e.is_temporary());
}

#[tokio::test]
async fn the_rate_limit_spaces_requests() {
    let fake = FakeManagementApi::start();
    // A test-sized limit over a whole fetch: 17 requests, one per 150 ms. What the limiter
    // promises is when each request may *start*: the k-th no sooner than 150 ms × (k − 1) after
    // the limiter exists, so it cannot *arrive* sooner either. (The gap between two arrivals is
    // not promised: on a loaded machine one request's send can lag and the next start on time —
    // CI saw 94 ms between two arrivals.)
    let t0 = Instant::now();
    let limited = RateLimited::new(client(&fake), Duration::from_millis(150), 1);
    fetch(&limited, true).await.unwrap();
    let n = fake.request_count();
    assert_eq!(n, 17);
    let at: Vec<Instant> = fake.requests().iter().map(|r| r.at).collect();
    for (k, arrived) in at.iter().enumerate() {
        assert!(
            *arrived - t0 >= Duration::from_millis(150 * k as u64),
            "request {} arrived {:?} after the start",
            k + 1,
            *arrived - t0
        );
    }

    // The real constructor: at most 60 in any minute — 30 at once, then one every 2 s.
    let guarded = client(&fake).guarded(quick_retries());
    let t0 = Instant::now();
    for _ in 0..30 {
        guarded
            .get_json(&format!("/v1/projects/{PROJECT_REF}"))
            .await
            .unwrap();
    }
    // Spaced at one per 2 s they would take 58 s: far below that, whatever the machine's speed.
    let burst = t0.elapsed();
    assert!(
        burst < Duration::from_secs(20),
        "the first 30 at once: {burst:?}"
    );
    for _ in 0..2 {
        guarded
            .get_json(&format!("/v1/projects/{PROJECT_REF}"))
            .await
            .unwrap();
    }
    let took = t0.elapsed();
    // Two past the burst: one per 2 s (and not held back for the rest of the minute).
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(30),
        "{took:?}"
    );
}

#[tokio::test]
async fn diff_and_apply_write_only_chosen_unredacted_settings() {
    let fake = FakeManagementApi::start();
    let api = client(&fake);
    let r = format!("/v1/projects/{PROJECT_REF}");
    let archived = fetch(&api, true).await.unwrap();

    // The project drifts.
    let mut auth = fake.doc(&format!("{r}/config/auth")).unwrap();
    auth["site_url"] = json!("https://drifted.example.com");
    auth["smtp_pass"] = json!("FAKE-new-smtp-pass");
    auth["password_min_length"] = json!(6);
    auth["custom_oauth_max_providers"] = json!(9);
    fake.serve_json(&format!("{r}/config/auth"), auth);
    let mut pgrst = fake.doc(&format!("{r}/postgrest")).unwrap();
    pgrst["max_rows"] = json!(50);
    fake.serve_json(&format!("{r}/postgrest"), pgrst);
    let mut storage = fake.doc(&format!("{r}/config/storage")).unwrap();
    storage["fileSizeLimit"] = json!(1024);
    fake.serve_json(&format!("{r}/config/storage"), storage);
    let mut pooler = fake.doc(&format!("{r}/config/database/pooler")).unwrap();
    pooler[0]["pool_mode"] = json!("session");
    fake.serve_json(&format!("{r}/config/database/pooler"), pooler);

    // Compared with the project as it is now, unredacted (the secret differs: redacted row).
    let current = fetch(&api, false).await.unwrap();
    let diffs = config::diff(&archived, &current);
    let rows: Vec<(&str, &str, bool, bool)> = diffs
        .iter()
        .map(|d| (d.file.as_str(), d.setting.as_str(), d.writable, d.redacted))
        .collect();
    let find = |file: &str, setting: &str| -> &SettingDiff {
        diffs
            .iter()
            .find(|d| d.file == file && d.setting == setting)
            .unwrap_or_else(|| panic!("no diff {file} {setting}: {rows:?}"))
    };
    let site = find("supabase/auth.json", "site_url");
    assert!(site.writable && !site.redacted);
    assert_eq!(site.archived, Some(json!("https://shop.example.com")));
    assert_eq!(site.current, Some(json!("https://drifted.example.com")));
    let pass = find("supabase/auth.json", "smtp_pass");
    assert!(pass.redacted && !pass.writable, "{pass:?}");
    assert!(!find("supabase/auth.json", "custom_oauth_max_providers").writable);
    assert!(!find("supabase/postgrest.json", "jwt_secret").writable);
    assert!(find("supabase/postgrest.json", "max_rows").writable);
    assert!(find("supabase/storage.json", "fileSizeLimit").writable);
    assert!(!find("supabase/pooler.json", "").writable);

    // Choose: site_url, max_rows, fileSizeLimit (writable), the redacted smtp_pass, a forged
    // "writable" copy of it, and the pooler (read-only). password_min_length is not chosen.
    let forged = SettingDiff {
        writable: true,
        redacted: false,
        ..pass.clone()
    };
    let chosen = vec![
        site.clone(),
        pass.clone(),
        forged,
        find("supabase/postgrest.json", "max_rows").clone(),
        find("supabase/storage.json", "fileSizeLimit").clone(),
        find("supabase/pooler.json", "").clone(),
    ];
    let report = config::apply_settings(
        &api,
        PROJECT_REF,
        &chosen,
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        fake.patches(),
        [
            (
                format!("{r}/config/auth"),
                json!({"site_url": "https://shop.example.com"})
            ),
            (format!("{r}/postgrest"), json!({"max_rows": 1000})),
            (
                format!("{r}/config/storage"),
                json!({"fileSizeLimit": 52428800})
            ),
        ]
    );
    assert_eq!(report.applied.len(), 3);
    let skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.setting.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("smtp_pass", "its archived value was redacted"),
            ("smtp_pass", "its archived value was redacted"),
            ("", "the Management API does not take this setting back"),
        ]
    );
    for (_, body) in fake.patches() {
        assert!(!body.to_string().contains(config::REDACTED));
    }

    // Afterwards only what was not written still differs.
    let after = fetch(&api, true).await.unwrap();
    let left: Vec<(String, String)> = config::diff(&archived, &after)
        .into_iter()
        .map(|d| (d.file, d.setting))
        .collect();
    assert_eq!(
        left,
        [
            (
                "supabase/auth.json".into(),
                "custom_oauth_max_providers".into()
            ),
            ("supabase/auth.json".into(), "password_min_length".into()),
            ("supabase/pooler.json".into(), "".into()),
        ]
    );
}

#[tokio::test]
async fn a_refused_patch_says_what_was_applied_without_secrets() {
    let fake = FakeManagementApi::start();
    let api = client(&fake);
    let r = format!("/v1/projects/{PROJECT_REF}");
    // An encrypted archive keeps secret values: they may go back.
    let archived = fetch(&api, false).await.unwrap();
    let mut auth = fake.doc(&format!("{r}/config/auth")).unwrap();
    auth["smtp_pass"] = json!("FAKE-rotated-smtp-pass");
    fake.serve_json(&format!("{r}/config/auth"), auth);
    let mut pgrst = fake.doc(&format!("{r}/postgrest")).unwrap();
    pgrst["db_schema"] = json!("public");
    fake.serve_json(&format!("{r}/postgrest"), pgrst);
    let current = fetch(&api, false).await.unwrap();
    let diffs = config::diff(&archived, &current);
    let mut chosen: Vec<SettingDiff> = diffs
        .iter()
        .filter(|d| d.setting == "db_schema" || d.setting == "smtp_pass")
        .cloned()
        .collect();
    // PostgREST first, then auth (which the server refuses, echoing the body).
    chosen.sort_by(|a, b| b.file.cmp(&a.file));
    assert_eq!(chosen.len(), 2);
    assert!(
        chosen.iter().all(|d| d.writable && !d.redacted),
        "{chosen:?}"
    );
    fake.fail_patch(&format!("{r}/config/auth"), 400);
    let e = config::apply_settings(
        &api,
        PROJECT_REF,
        &chosen,
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(
        e.message()
            .contains("already applied supabase/postgrest.json:db_schema"),
        "{e}"
    );
    assert!(!e.message().contains(FAKE_SECRETS[0]), "{e}");
    let sent = fake.patches();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].1, json!({"smtp_pass": FAKE_SECRETS[0]}));
}

#[tokio::test]
async fn transport_failures_are_temporary_connection_errors() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let api = ManagementApi::with_options(
        TOKEN,
        ManagementApiOptions {
            base_url: format!("http://127.0.0.1:{port}"),
            connect_timeout: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .unwrap();
    let e = api.get_json("/v1/projects").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.is_temporary());
    assert!(!e.message().contains(TOKEN));
    // Plain http to anything but loopback is refused before a token could travel.
    let e = ManagementApi::with_options(
        TOKEN,
        ManagementApiOptions {
            base_url: "http://api.supabase.com".into(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn temporary_failures_of_bodies_and_patches_are_retried() {
    let fake = FakeManagementApi::start();
    let r = format!("/v1/projects/{PROJECT_REF}");
    let api = Retrying::new(client(&fake), quick_retries());
    fake.fail_next(&format!("{r}/functions/hello-world/body"), 503, 2);
    fake.fail_next(&format!("{r}/config/storage"), 502, 1);
    let archived = fetch(&api, true).await.unwrap();
    assert_eq!(
        archived.file("supabase/functions/hello-world/body.eszip"),
        Some(FakeManagementApi::function_body("hello-world").as_slice())
    );
    assert_eq!(fake.request_count(), 17 + 3);

    let mut storage = fake.doc(&format!("{r}/config/storage")).unwrap();
    storage["fileSizeLimit"] = json!(1);
    fake.serve_json(&format!("{r}/config/storage"), storage);
    let current = fetch(&api, true).await.unwrap();
    let chosen = config::diff(&archived, &current);
    assert_eq!(chosen.len(), 1, "{chosen:?}");
    fake.fail_next(&format!("{r}/config/storage"), 429, 1);
    let t0 = Instant::now();
    let report = config::apply_settings(
        &api,
        PROJECT_REF,
        &chosen,
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(t0.elapsed() >= Duration::from_secs(1), "Retry-After: 1");
    assert_eq!(report.applied.len(), 1);
    let patches = fake.patches();
    assert_eq!(patches.len(), 2, "the 429, then the write");
    assert_eq!(patches[1].1, json!({"fileSizeLimit": 52428800}));
    assert_eq!(
        fake.doc(&format!("{r}/config/storage")).unwrap()["fileSizeLimit"],
        52428800
    );
}

#[tokio::test]
async fn cancel_stops_a_fetch_and_an_apply() {
    let fake = FakeManagementApi::start();
    let api = client(&fake);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let e = config::fetch_config(
        &api,
        PROJECT_REF,
        &ConfigOptions::default(),
        &Reporter::silent(),
        &cancel,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    let d = SettingDiff {
        file: "supabase/auth.json".into(),
        setting: "site_url".into(),
        archived: Some(json!("https://a.example.com")),
        current: Some(json!("https://b.example.com")),
        writable: true,
        redacted: false,
    };
    let e = config::apply_settings(&api, PROJECT_REF, &[d], &Reporter::silent(), &cancel)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert!(e.message().contains("no setting was changed"), "{e}");
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn an_answer_larger_than_the_cap_is_refused_while_it_is_read() {
    // Hostile input: a Management API (or what answers in its place) sending 40 MiB for a
    // configuration document. Refused with a clear error, never held whole.
    let fake = FakeManagementApi::start();
    let path = format!("/v1/projects/{PROJECT_REF}/config/auth");
    let huge = vec![b' '; offsite_core::sources::supabase_api::MAX_ANSWER_BYTES + 1024];
    fake.serve_bytes(&path, &huge, "application/json", None);
    let api = client(&fake);
    let e = api.get_json(&path).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.message().contains("larger than 32 MiB"), "{e}");
    assert!(e.hint().unwrap().contains("nothing was kept"), "{e:?}");
    let e = api.get_bytes(&path).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
}

/// A redirect from the Management API (a hostile proxy, a spoofed address) is refused, never
/// followed: the other server gets no request, so never the access token.
#[tokio::test]
async fn a_redirect_from_the_api_is_refused_not_followed() {
    let fake = FakeManagementApi::start();
    let elsewhere = FakeManagementApi::start();
    let path = format!("/v1/projects/{PROJECT_REF}/config/auth");
    for status in [301, 302, 307, 308] {
        fake.serve_redirect(&path, status, &format!("{}{path}", elsewhere.base_url()));
        let e = fetch(&client(&fake), true).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
        assert!(e.message().contains("redirect"), "{e}");
        assert!(!e.is_temporary(), "a redirect is not retried: {e}");
        assert!(!e.message().contains(TOKEN), "{e}");
    }
    assert_eq!(
        elsewhere.request_count(),
        0,
        "the redirect was followed: {:?}",
        elsewhere.requests()
    );
}
