//! Vault's root key (issue 66, item 2) as a user meets it: a project's encrypted backup carries
//! it, an unencrypted one says why it does not, and a restore into another project sets it there
//! before the database only when asked — against a local server that answers as the Management
//! API documents `GET`/`PUT /v1/projects/{ref}/pgsodium`, and a real PostgreSQL. The key never
//! shows outside the encrypted archive: not in a plan, an error, the catalog or a log.

use crate::common::{env, files_under};
use offsite_core::archive::{self, BackupType};
use offsite_core::config::vault::{VaultKeyState, FILE};
use offsite_core::crypto::UserKey;
use offsite_core::ops::encryption::{EncryptionMode, SetEncryption};
use offsite_core::ops::SupabaseSettings;
use offsite_core::restore::{ConfigRestore, DatabaseTo};
use offsite_core::{AddProject, BackupOptions, JobStart, RestoreRequest};
use offsite_testkit::management_api::{
    FakeManagementApi, OTHER_PROJECT_REF, OTHER_VAULT_ROOT_KEY, PROJECT_REF, TOKEN, VAULT_ROOT_KEY,
};
use offsite_testkit::TestCluster;
use std::path::{Path, PathBuf};

fn pgsodium(project_ref: &str) -> String {
    format!("/v1/projects/{project_ref}/pgsodium")
}

/// The text of every file under `dir` but `except` that holds `needle`.
fn holding(dir: &Path, except: &[&Path], needle: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|f| !except.contains(&f.as_path()))
        .filter(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap_or_default()).contains(needle))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vault_root_key_goes_only_into_encrypted_backups_and_across_only_when_asked() {
    let pg = TestCluster::shared();
    let fake = FakeManagementApi::start();
    fake.add_project(OTHER_PROJECT_REF, OTHER_VAULT_ROOT_KEY);
    let env = env().await;
    let src = pg.unique_db("vault_src");
    pg.psql(
        &src,
        "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'kept');",
    );
    let dst = pg.unique_db("vault_dst");
    for (name, db, project_ref) in [("sb", &src, PROJECT_REF), ("sb2", &dst, OTHER_PROJECT_REF)] {
        env.engine
            .add_project(AddProject::url(name, pg.url_with_password(db)))
            .await
            .unwrap();
        env.engine
            .set_supabase(
                name,
                Some(SupabaseSettings {
                    project_ref: project_ref.into(),
                    api_url: Some(fake.base_url()),
                    access_token: Some(TOKEN.into()),
                }),
            )
            .await
            .unwrap();
    }
    let backup = || async {
        let out = env
            .engine
            .backup(
                BackupOptions {
                    backup_type: Some(BackupType::Full),
                    ..BackupOptions::project("sb")
                },
                JobStart::default(),
            )
            .await
            .unwrap();
        PathBuf::from(&out.backup.path)
    };
    let into_sb2 = |archive: &Path, vault_key: bool| {
        RestoreRequest::new(archive, DatabaseTo::Project("sb2".into())).config(ConfigRestore {
            project: "sb2".into(),
            settings: Vec::new(),
            functions: Vec::new(),
            vault_key,
        })
    };
    let key_reads = || {
        fake.requests()
            .iter()
            .filter(|r| r.path == pgsodium(PROJECT_REF))
            .count()
    };

    // Not encrypted: the key is not even asked for, and the backup says why it lacks it.
    let plain = backup().await;
    assert_eq!(key_reads(), 0, "an unencrypted backup never reads the key");
    let missing = archive::read_document(
        &plain,
        "config/supabase/missing.json",
        1 << 20,
        &Default::default(),
    )
    .unwrap();
    let missing = String::from_utf8(missing).unwrap();
    assert!(
        missing.contains(FILE) && missing.contains("not encrypted"),
        "{missing}"
    );
    let plan = env
        .engine
        .plan_restore(&into_sb2(&plain, true))
        .await
        .unwrap();
    let config = plan.config.as_ref().unwrap();
    assert_eq!(config.vault.state, VaultKeyState::NotInBackup);
    assert!(!config.vault.will_set);
    assert!(
        config.vault.note.contains("Encrypt the project's backups"),
        "{}",
        config.vault.note
    );
    assert!(
        config
            .blockers
            .iter()
            .any(|b| b.contains("does not hold it")),
        "{:?}",
        config.blockers
    );
    let e = env
        .engine
        .restore(into_sb2(&plain, true), JobStart::default())
        .await
        .unwrap_err();
    assert!(e.message().contains("nothing was changed"), "{e}");
    assert!(fake.puts().is_empty());

    // Encrypted: the key is in the archive, readable with the project's key only.
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
    let enc = backup().await;
    assert_eq!(key_reads(), 1);
    assert!(
        !String::from_utf8_lossy(&std::fs::read(&enc).unwrap()).contains(VAULT_ROOT_KEY),
        "the key is not readable in the ciphertext"
    );
    {
        let _unlocked = archive::unlock(&enc, vec![UserKey::parse(&item).unwrap()]);
        let doc = archive::read_document(
            &enc,
            &format!("config/{FILE}"),
            1 << 20,
            &Default::default(),
        )
        .unwrap();
        assert!(String::from_utf8_lossy(&doc).contains(VAULT_ROOT_KEY));
    }

    // Into the other project without consent: the plan says the keys differ and sets nothing.
    let plan = env
        .engine
        .plan_restore(&into_sb2(&enc, false))
        .await
        .unwrap();
    let config = plan.config.as_ref().unwrap();
    assert_eq!(config.vault.state, VaultKeyState::Differs);
    assert!(!config.vault.will_set);
    assert!(
        config.vault.note.contains("will not decrypt there"),
        "{}",
        config.vault.note
    );
    assert!(
        config.diffs.iter().all(|d| d.file != FILE),
        "the key is never a setting: {:?}",
        config.diffs
    );
    let shown = serde_json::to_string(&plan).unwrap();
    assert!(!shown.contains(VAULT_ROOT_KEY) && !shown.contains(OTHER_VAULT_ROOT_KEY));

    // With consent, and the API refusing the key (its answer repeats it): nothing is restored,
    // and the error does not repeat the key.
    let plan = env
        .engine
        .plan_restore(&into_sb2(&enc, true))
        .await
        .unwrap();
    assert!(plan.config.as_ref().unwrap().vault.will_set);
    assert!(plan.blockers().is_empty(), "{:?}", plan.blockers());
    fake.fail_patch(&pgsodium(OTHER_PROJECT_REF), 403);
    let e = env
        .engine
        .restore(into_sb2(&enc, true), JobStart::default())
        .await
        .unwrap_err();
    let text = format!("{e} {:?} {:?}", e.hint(), e.detail());
    assert!(!text.contains(VAULT_ROOT_KEY), "{text}");
    assert!(
        text.contains("Vault root key") && text.contains("nothing was restored"),
        "{text}"
    );
    assert_eq!(
        pg.psql(
            &dst,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'notes'"
        )
        .trim(),
        "0",
        "the key goes first: a refused key leaves the database untouched"
    );
    assert_eq!(
        fake.doc(&pgsodium(OTHER_PROJECT_REF)).unwrap()["root_key"],
        OTHER_VAULT_ROOT_KEY
    );

    // Accepted: the key is set, then the database restored.
    fake.accept_writes(&pgsodium(OTHER_PROJECT_REF));
    let out = env
        .engine
        .restore(into_sb2(&enc, true), JobStart::default())
        .await
        .unwrap();
    assert!(out.report.config.as_ref().unwrap().vault_key_set);
    assert_eq!(
        fake.doc(&pgsodium(OTHER_PROJECT_REF)).unwrap()["root_key"],
        VAULT_ROOT_KEY
    );
    assert_eq!(pg.psql(&dst, "SELECT body FROM notes").trim(), "kept");
    let puts = fake.puts();
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert!(puts.iter().all(|(p, _)| *p == pgsodium(OTHER_PROJECT_REF)));
    assert!(!serde_json::to_string(&out.report)
        .unwrap()
        .contains(VAULT_ROOT_KEY));

    // The same keys now: nothing to set.
    let plan = env
        .engine
        .plan_restore(&into_sb2(&enc, false))
        .await
        .unwrap();
    assert_eq!(plan.config.unwrap().vault.state, VaultKeyState::Same);

    // A token that may not read the target's key: the plan says so, and setting it is refused.
    fake.serve_status(&pgsodium(OTHER_PROJECT_REF), 403);
    let plan = env
        .engine
        .plan_restore(&into_sb2(&enc, true))
        .await
        .unwrap();
    let config = plan.config.unwrap();
    assert_eq!(config.vault.state, VaultKeyState::TargetUnknown);
    assert!(
        config.vault.note.contains("may not read"),
        "{}",
        config.vault.note
    );
    assert!(
        config
            .blockers
            .iter()
            .any(|b| b.contains("cannot read sb2's key")),
        "{:?}",
        config.blockers
    );

    // Nothing but the encrypted archive holds the key: not the catalog, not a log.
    let found = holding(env.dir.path(), &[enc.as_path()], VAULT_ROOT_KEY);
    assert!(
        found.is_empty(),
        "the key outside the encrypted archive: {found:?}"
    );
}
