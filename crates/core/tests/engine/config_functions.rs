//! Edge Functions deployed again from a configuration backup, against a local server that
//! answers as the Management API documents (`POST /functions?slug=…` creates, `PATCH
//! /functions/{slug}?…` updates, the bundle as `application/vnd.denoland.eszip`). The real API
//! cannot be reached from the test machines.

use crate::common::env;
use offsite_core::archive::BackupType;
use offsite_core::config::FunctionAction;
use offsite_core::ops::SupabaseSettings;
use offsite_core::parity::PartVerdict;
use offsite_core::restore::ConfigRestore;
use offsite_core::{AddProject, BackupOptions, JobStart, RestoreRequest};
use offsite_testkit::management_api::{FakeManagementApi, ESZIP_CONTENT_TYPE, PROJECT_REF, TOKEN};
use std::path::PathBuf;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_and_a_changed_function_are_deployed_again_from_the_backup() {
    let fake = FakeManagementApi::start();
    let env = env().await;
    env.engine
        .add_project(AddProject::url(
            "sb",
            "postgres://postgres@127.0.0.1:1/postgres",
        ))
        .await
        .unwrap();
    env.engine
        .set_supabase(
            "sb",
            Some(SupabaseSettings {
                project_ref: PROJECT_REF.into(),
                api_url: Some(fake.base_url()),
                access_token: Some(TOKEN.into()),
            }),
        )
        .await
        .unwrap();
    let out = env
        .engine
        .backup(
            BackupOptions {
                backup_type: Some(BackupType::Config),
                ..BackupOptions::project("sb")
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let path = PathBuf::from(&out.backup.path);

    // Someone deletes one function and deploys a broken version of the other.
    let r = format!("/v1/projects/{PROJECT_REF}/functions");
    fake.remove_function("stripe-webhook");
    fake.serve_bytes(
        &format!("{r}/hello-world/body"),
        b"ESZIP2.3 a broken deploy",
        "application/octet-stream",
        None,
    );
    let request = |functions: &[&str]| {
        RestoreRequest::from_archive(&path).config(ConfigRestore {
            project: "sb".into(),
            settings: Vec::new(),
            functions: functions.iter().map(|s| s.to_string()).collect(),
            vault_key: false,
        })
    };

    // The plan lists both, says what each would do, deploys nothing unless chosen, and refuses a
    // function the backup does not hold. (Each plan reads the whole configuration at the API's
    // 60 requests a minute: the test plans as few times as it can.)
    let plan = env
        .engine
        .plan_restore(&request(&["nope"]))
        .await
        .unwrap()
        .config
        .unwrap();
    let actions: Vec<(&str, FunctionAction)> = plan
        .functions
        .iter()
        .map(|f| (f.slug.as_str(), f.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("hello-world", FunctionAction::Update),
            ("stripe-webhook", FunctionAction::Create)
        ]
    );
    assert!(plan.will_deploy.is_empty());
    assert_eq!(
        plan.blockers,
        ["Edge Function nope is not in this backup"],
        "{:?}",
        plan.blockers
    );
    let before = fake.request_count();

    // Deployed: the deleted one created, the changed one updated, each with its own bundle.
    let out = env
        .engine
        .restore(request(&["all"]), JobStart::default())
        .await
        .unwrap();
    let report = out.report.config.clone().unwrap();
    let deployed: Vec<(&str, FunctionAction, Option<u64>)> = report
        .deployed
        .iter()
        .map(|d| (d.slug.as_str(), d.action, d.version))
        .collect();
    assert_eq!(
        deployed,
        [
            ("hello-world", FunctionAction::Update, Some(4)),
            ("stripe-webhook", FunctionAction::Create, Some(1))
        ]
    );
    let sent: Vec<_> = fake.requests()[before..]
        .iter()
        .filter(|q| q.method != "GET")
        .cloned()
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].method, "PATCH");
    assert!(
        sent[0].path.starts_with(&format!("{r}/hello-world?")),
        "{}",
        sent[0].path
    );
    assert_eq!(sent[1].method, "POST");
    assert!(
        sent[1].path.contains("slug=stripe-webhook"),
        "{}",
        sent[1].path
    );
    assert!(
        sent[1].path.contains("verify_jwt=false"),
        "{}",
        sent[1].path
    );
    assert!(
        sent[1].path.contains("entrypoint_path=file%3A%2F%2F%2Ftmp"),
        "{}",
        sent[1].path
    );
    for (q, slug) in sent.iter().zip(["hello-world", "stripe-webhook"]) {
        assert_eq!(q.content_type.as_deref(), Some(ESZIP_CONTENT_TYPE));
        assert_eq!(
            q.body,
            FakeManagementApi::function_body(slug),
            "{slug}'s bundle"
        );
        assert!(q.authorized);
    }

    // Now the project runs what the backup holds.
    let list = fake.doc(&r).unwrap();
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["slug"].as_str())
        .collect();
    assert_eq!(slugs.len(), 2, "{list}");
    assert!(slugs.contains(&"stripe-webhook"));

    // The parity report (issue 66): the project's configuration fetched again after the
    // restore, part by part — settings, functions (slug, bundle, verify_jwt), secrets by name.
    let parity = out.report.parity.clone().expect("a parity report");
    let part = |p: &offsite_core::parity::ParityReport, id: &str| {
        p.parts
            .iter()
            .find(|x| x.part == id)
            .cloned()
            .unwrap_or_else(|| panic!("no part {id}: {p:#?}"))
    };
    assert!(parity.equal, "{parity:#?}");
    for id in [
        "auth-config",
        "postgrest-config",
        "edge-functions",
        "function-secrets",
    ] {
        assert_eq!(
            part(&parity, id).verdict,
            PartVerdict::Equal,
            "{id}: {parity:#?}"
        );
    }
    assert_eq!(
        part(&parity, "edge-functions").compared,
        "2 functions (slug, bundle digest, verify_jwt)"
    );

    // Broken on purpose: a function deleted, one setting changed, a secret gone.
    fake.remove_function("stripe-webhook");
    let auth = format!("/v1/projects/{PROJECT_REF}/config/auth");
    let mut doc = fake.doc(&auth).unwrap();
    doc["site_url"] = serde_json::json!("https://elsewhere.example");
    fake.serve_json(&auth, doc);
    let secrets = format!("/v1/projects/{PROJECT_REF}/secrets");
    let mut list = fake.doc(&secrets).unwrap();
    let gone = list[0]["name"].as_str().unwrap().to_string();
    list.as_array_mut().unwrap().remove(0);
    fake.serve_json(&secrets, list);
    let again = env.engine.restore_parity(&request(&[])).await.unwrap();
    assert!(!again.equal);
    assert_eq!(
        part(&again, "edge-functions").differences,
        ["missing in the target: stripe-webhook"]
    );
    assert_eq!(
        part(&again, "auth-config").differences,
        ["differs: site_url"]
    );
    assert_eq!(
        part(&again, "function-secrets").differences,
        [format!("enter it in the target: {gone}")]
    );
    // No secret's digest is in the report.
    let text = serde_json::to_string(&again).unwrap();
    for (_, value) in offsite_testkit::management_api::FAKE_FUNCTION_SECRETS {
        let digest = offsite_testkit::conformance::sha256_hex(value.as_bytes());
        assert!(!text.contains(&digest) && !text.contains(value), "{text}");
    }
}
