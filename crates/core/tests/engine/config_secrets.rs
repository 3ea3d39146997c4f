//! Configuration secrets are kept only in encrypted archives: the same project's `config`
//! backup holds `<redacted>` in an unencrypted archive and the real values in an encrypted one
//! (readable only with the key; the ciphertext does not show them), and a restore plan over the
//! encrypted archive opens it with the project's own key from the keychain.

use crate::common::env;
use offsite_core::archive::{self, BackupType};
use offsite_core::crypto::UserKey;
use offsite_core::ops::encryption::{EncryptionMode, SetEncryption};
use offsite_core::ops::SupabaseSettings;
use offsite_core::restore::ConfigRestore;
use offsite_core::{AddProject, BackupOptions, JobStart, RestoreRequest};
use offsite_testkit::conformance::database::files_under;
use offsite_testkit::management_api::{FakeManagementApi, FAKE_SECRETS, PROJECT_REF, TOKEN};
use std::path::{Path, PathBuf};

/// Every secret of the fake project found in the extracted members of `archive`.
fn secrets_in(archive: &Path) -> Vec<&'static str> {
    let dir = tempfile::tempdir().unwrap();
    archive::extract_all(archive, dir.path(), &Default::default()).unwrap();
    let mut found = Vec::new();
    for f in files_under(dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_string();
        for s in FAKE_SECRETS {
            if text.contains(s) && !found.contains(s) {
                found.push(*s);
            }
        }
        assert!(!text.contains(TOKEN), "the access token is never archived");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_secrets_are_kept_only_in_encrypted_archives() {
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
    let config_backup = || async {
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
        PathBuf::from(&out.backup.path)
    };

    // Not encrypted: redacted.
    let plain = config_backup().await;
    assert!(plain.to_string_lossy().ends_with(".tar.zst"), "{plain:?}");
    let m = archive::read_manifest(&plain).unwrap();
    assert!(
        m.redactions.iter().any(|r| r.contains("smtp_pass")),
        "{:?}",
        m.redactions
    );
    assert_eq!(secrets_in(&plain), Vec::<&str>::new());

    // Encrypted (key mode, recovery key confirmed): the secrets are kept.
    let setup = env
        .engine
        .set_encryption(
            "sb",
            SetEncryption {
                mode: Some(EncryptionMode::Key),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let item = setup.recovery_item.clone().unwrap();
    env.engine.confirm_recovery("sb", &item).await.unwrap();
    let enc = config_backup().await;
    assert!(enc.to_string_lossy().ends_with(".tar.zst.age"), "{enc:?}");
    let raw = String::from_utf8_lossy(&std::fs::read(&enc).unwrap()).to_string();
    for s in FAKE_SECRETS {
        assert!(!raw.contains(s), "{s} readable in the ciphertext");
    }
    // Without the key nothing is read.
    let e = archive::read_manifest(&enc).unwrap_err();
    assert_eq!(e.code(), "wrong_key", "{e:?}");
    {
        let _unlocked = archive::unlock(&enc, vec![UserKey::parse(&item).unwrap()]);
        let m = archive::read_manifest(&enc).unwrap();
        assert!(m.redactions.is_empty(), "{:?}", m.redactions);
        let found = secrets_in(&enc);
        assert!(found.contains(&"FAKE-smtp-pass-2f9c1e"), "{found:?}");
    }
    // A restore plan over it opens it with the project's key from the keychain.
    let plan = env
        .engine
        .plan_restore(&RestoreRequest::from_archive(&enc).config(ConfigRestore {
            project: "sb".into(),
            settings: Vec::new(),
            functions: Vec::new(),
            vault_key: false,
        }))
        .await
        .unwrap();
    assert!(plan.config.is_some());
}
