//! The configuration component as a user sets it up: a project with a Supabase ref and access
//! token (keychain), a `config` backup through the engine against a local server that answers
//! as the Management API documents, then the restore plan's diff and the write-back of one
//! chosen setting. The Management API itself cannot be reached from the test machines.

use crate::common::env;
use offsite_core::archive::{self, BackupType};
use offsite_core::ops::SupabaseSettings;
use offsite_core::restore::ConfigRestore;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart, RestoreRequest};
use offsite_testkit::management_api::{FakeManagementApi, FAKE_SECRETS, PROJECT_REF, TOKEN};
use serde_json::json;
use std::path::PathBuf;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_backup_is_redacted_and_restores_setting_by_setting() {
    let fake = FakeManagementApi::start();
    let env = env().await;
    env.engine
        .add_project(AddProject::url(
            "sb",
            "postgres://postgres@127.0.0.1:1/postgres",
        ))
        .await
        .unwrap();
    // A config backup without the Supabase part is refused with what to do.
    let e = env
        .engine
        .backup(
            BackupOptions {
                backup_type: Some(BackupType::Config),
                ..BackupOptions::project("sb")
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.hint().unwrap().contains("supabase"), "{e:?}");

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
    let comps = env.engine.components("sb").await.unwrap();
    assert!(
        !serde_json::to_string(&comps).unwrap().contains(TOKEN),
        "the token stays in the keychain"
    );
    env.engine
        .set_default_backup_type("sb", "config")
        .await
        .unwrap();

    // The project's default type: config (no database needed, the URL above is unreachable).
    let out = env
        .engine
        .backup(BackupOptions::project("sb"), JobStart::default())
        .await
        .unwrap();
    assert_eq!(out.backup.backup_type, BackupType::Config);
    let path = PathBuf::from(&out.backup.path);
    let m = archive::read_manifest(&path).unwrap();
    assert!(m.member("database.dump").is_none());
    assert!(
        m.member("config/supabase/auth.json").is_some(),
        "{:?}",
        m.members
    );
    assert!(
        m.redactions.iter().any(|r| r.contains("smtp_pass")),
        "{:?}",
        m.redactions
    );
    // No secret value anywhere in the archive's bytes (gzip: look at the extracted members).
    let dir = tempfile::tempdir().unwrap();
    archive::extract_all(&path, dir.path(), &Default::default()).unwrap();
    for f in offsite_testkit::conformance::database::files_under(dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_string();
        for s in FAKE_SECRETS {
            assert!(!text.contains(s), "{s} in {}", f.display());
        }
        assert!(!text.contains(TOKEN));
    }

    // The project drifts; the plan shows what differs; one chosen setting is written back.
    let r = format!("/v1/projects/{PROJECT_REF}");
    let mut auth = fake.doc(&format!("{r}/config/auth")).unwrap();
    let archived_site = auth["site_url"].clone();
    auth["site_url"] = json!("https://drifted.example.com");
    auth["password_min_length"] = json!(6);
    fake.serve_json(&format!("{r}/config/auth"), auth);
    let config = |settings: Vec<String>| {
        RestoreRequest::from_archive(&path).config(ConfigRestore {
            project: "sb".into(),
            settings,
            functions: Vec::new(),
            vault_key: false,
        })
    };
    let plan = env
        .engine
        .plan_restore(&config(Vec::new()))
        .await
        .unwrap()
        .config
        .unwrap();
    let site = plan
        .diffs
        .iter()
        .find(|d| d.setting == "site_url")
        .expect("site_url differs");
    assert!(site.writable && !site.redacted);
    assert!(plan
        .diffs
        .iter()
        .any(|d| d.setting == "password_min_length"));
    let applied = env
        .engine
        .restore(
            config(vec!["supabase/auth.json:site_url".to_string()]),
            JobStart::default(),
        )
        .await
        .unwrap()
        .report
        .config
        .unwrap()
        .applied;
    assert_eq!(applied.applied.len(), 1);
    let patches = fake.patches();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(
        patches[0].1,
        json!({ "site_url": archived_site }),
        "only the chosen setting"
    );
}

#[tokio::test]
async fn the_quick_add_uses_the_session_pooler_when_the_direct_host_does_not_answer() {
    use offsite_core::ops::components::supabase_database_via;
    use offsite_core::ops::supabase_tls::SupabaseTls;
    let fake = FakeManagementApi::start();
    // A direct host that answers: kept.
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = open.local_addr().unwrap().port();
    let d = supabase_database_via(
        "127.0.0.1",
        port,
        PROJECT_REF,
        Some(TOKEN),
        Some(&fake.base_url()),
        SupabaseTls::RequireUnverified,
    )
    .await
    .unwrap();
    assert_eq!(
        d.url,
        format!("postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=require")
    );
    assert!(d.note.unwrap().contains("without checking the server"));
    drop(open);
    // A port that surely does not answer: bound (so no other test in this binary can take it
    // in the meantime, as one did with the port just freed) but never listening.
    let closed = offsite_testkit::ports::ClosedPort::new();
    let port = closed.port();
    // One that does not: the session pooler the API describes (IPv4, user postgres.<ref>).
    let d = supabase_database_via(
        "127.0.0.1",
        port,
        PROJECT_REF,
        Some(TOKEN),
        Some(&fake.base_url()),
        SupabaseTls::RequireUnverified,
    )
    .await
    .unwrap();
    assert_eq!(
        d.url,
        format!("postgresql://postgres.{PROJECT_REF}@aws-0-eu-central-1.pooler.supabase.com:5432/postgres?sslmode=require")
    );
    assert!(d.note.unwrap().contains("session pooler"));
    // Without a token: the direct host, and a note saying what to do.
    let d = supabase_database_via(
        "127.0.0.1",
        port,
        PROJECT_REF,
        None,
        None,
        SupabaseTls::RequireUnverified,
    )
    .await
    .unwrap();
    assert!(d.url.contains("127.0.0.1"));
    assert!(d.note.unwrap().contains("--supabase-token-stdin"));
}

#[tokio::test]
async fn the_quick_add_verifies_against_supabases_ca_or_refuses_without_it() {
    use offsite_core::ops::components::supabase_database_via;
    use offsite_core::ops::supabase_tls::SupabaseTls;
    let fake = FakeManagementApi::start();
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = open.local_addr().unwrap().port();
    // No CA and no explicit `require`: refused before anything is asked, saying what to do.
    let e = supabase_database_via(
        "127.0.0.1",
        port,
        PROJECT_REF,
        None,
        None,
        SupabaseTls::Unchosen,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "needs_consent");
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("--supabase-ca") && hint.contains("--tls require"),
        "{hint}"
    );
    // With the CA file: verify-full against it, for the direct host and for the pooler.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("prod ca.crt");
    std::fs::write(&ca, offsite_testkit::tls::TestCa::new("Test Root").pem()).unwrap();
    let abs = std::fs::canonicalize(&ca).unwrap();
    let d = supabase_database_via(
        "127.0.0.1",
        port,
        PROJECT_REF,
        None,
        None,
        SupabaseTls::Verify(&ca),
    )
    .await
    .unwrap();
    let (spec, _) = offsite_core::postgres::conn::ConnSpec::parse_url(&d.url).unwrap();
    assert_eq!(
        spec.tls,
        offsite_core::postgres::conn::TlsMode::VerifyFull,
        "{}",
        d.url
    );
    assert_eq!(spec.ca_file.as_deref(), abs.to_str());
    // Not Supabase's root: said, by its fingerprint.
    assert!(d.note.unwrap().contains("is not Supabase Root 2021 CA"));
    drop(open);
    let closed = offsite_testkit::ports::ClosedPort::new();
    let port = closed.port();
    let d = supabase_database_via(
        "127.0.0.1",
        port,
        PROJECT_REF,
        Some(TOKEN),
        Some(&fake.base_url()),
        SupabaseTls::Verify(&ca),
    )
    .await
    .unwrap();
    assert!(
        d.url
            .contains("pooler.supabase.com:5432/postgres?sslmode=verify-full&sslrootcert="),
        "{}",
        d.url
    );
    // A file that is no certificate is refused.
    let junk = dir.path().join("junk.crt");
    std::fs::write(&junk, "not a certificate").unwrap();
    let e = supabase_database_via(
        "127.0.0.1",
        port,
        PROJECT_REF,
        None,
        None,
        SupabaseTls::Verify(&junk),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(e.message().contains("no PEM certificate"), "{e}");
}
