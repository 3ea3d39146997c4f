use super::*;
use crate::engine::EngineConfig;
use crate::ops::projects::{AddProject, UpdateProject};
use crate::secrets::{MemoryStore, SecretStore};
use std::sync::Arc;

async fn engine() -> (Engine, Arc<MemoryStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let engine = Engine::open(EngineConfig::new(store.clone()).data_dir(Some(dir.path().into())))
        .await
        .unwrap();
    engine
        .add_project(AddProject::url(
            "shop",
            "postgres://app@db.example.com:5432/shop",
        ))
        .await
        .unwrap();
    (engine, store, dir)
}

fn key_mode(recipients: Vec<String>) -> SetEncryption {
    SetEncryption {
        mode: Some(EncryptionMode::Key),
        passphrase: None,
        recipients,
    }
}

/// Every file under `dir` (the catalog and its journals) as bytes.
fn everything_written(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            all.extend(everything_written(&p));
        } else {
            all.extend(std::fs::read(&p).unwrap_or_default());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn key_mode_is_refused_until_the_recovery_item_is_entered_back() {
    let (engine, store, dir) = engine().await;
    let p = engine.catalog.project("shop").await.unwrap();
    assert_eq!(
        engine.encryption("shop").await.unwrap().mode,
        EncryptionMode::Off
    );
    assert!(for_backup(&engine, &p).await.unwrap().is_none());

    let (_, extra) = UserKey::generate();
    let setup = engine
        .set_encryption("shop", key_mode(vec![extra.to_string()]))
        .await
        .unwrap();
    let item = setup
        .recovery_item
        .clone()
        .expect("key mode shows the recovery key");
    assert!(item.starts_with("AGE-SECRET-KEY-1"));
    assert!(
        !format!("{setup:?}").contains(&item[16..]),
        "Debug redacts it"
    );
    assert_eq!(setup.settings.mode, EncryptionMode::Key);
    assert!(!setup.settings.confirmed);
    assert_eq!(setup.settings.recipients, vec![extra.to_string()]);
    let public = setup.settings.public_key.clone().unwrap();
    assert_eq!(
        UserKey::parse(&item).unwrap().public_recipients()[0].as_str(),
        public
    );
    // The identity is in the secret store, nowhere in the catalog.
    assert_eq!(
        store
            .get(&project_encryption_identity_key("shop"))
            .unwrap()
            .as_deref(),
        Some(item.as_str())
    );
    assert!(!contains(&everything_written(dir.path()), &item[16..]));

    let e = for_backup(&engine, &p).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NeedsConsent);
    // A pause waiting for the user, said as one (issue 44, protection-02).
    assert!(
        e.message()
            .contains("paused until you confirm the recovery key"),
        "{e:?}"
    );
    assert!(
        e.hint()
            .unwrap()
            .contains("offsite encryption confirm shop"),
        "{e:?}"
    );

    // A wrong item (another key, garbage, a passphrase) is refused and confirms nothing.
    let (other, _) = UserKey::generate();
    for wrong in [other.expose_secret(), "AGE-SECRET-KEY-1XYZ", "hunter2"] {
        let e = engine.confirm_recovery("shop", wrong).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WrongKey, "{wrong}: {e}");
        assert!(!e.message().contains(wrong) && !e.hint().unwrap_or("").contains(wrong));
        // Plain words: which key, where it is; the age terms only behind Details (issue 44).
        assert_eq!(e.message(), "That is not this project's recovery key.");
        assert!(e
            .hint()
            .unwrap()
            .contains("shown once when encryption was set up"));
        assert!(!e.hint().unwrap().contains("AGE-SECRET-KEY"), "{e:?}");
        assert!(e.detail().unwrap().contains("AGE-SECRET-KEY-1"), "{e:?}");
    }
    assert!(!engine.encryption("shop").await.unwrap().confirmed);

    let s = engine
        .confirm_recovery("shop", &format!("{item}\n"))
        .await
        .unwrap();
    assert!(s.confirmed);
    let enc = for_backup(&engine, &p).await.unwrap().expect("encrypted");
    assert_eq!(enc.describe(), vec![public.clone(), extra.to_string()]);
    assert_eq!(engine.export_key("shop").await.unwrap(), item);

    // A new key: the old identity stays (older archives need it), after the new one.
    let again = engine
        .set_encryption("shop", key_mode(vec![]))
        .await
        .unwrap();
    let item2 = again.recovery_item.unwrap();
    assert_ne!(item2, item);
    let exported = engine.export_key("shop").await.unwrap();
    assert_eq!(exported, format!("{item2}\n{item}"));
    assert_eq!(keys_of(&engine, "shop").unwrap().len(), 1);
    assert!(!engine.encryption("shop").await.unwrap().confirmed);
}

#[tokio::test]
async fn passphrase_mode_stores_the_passphrase_and_confirms_it() {
    let (engine, store, dir) = engine().await;
    let p = engine.catalog.project("shop").await.unwrap();
    let pass = "a long passphrase nobody guesses";
    let (_, extra) = UserKey::generate();
    let mixed = SetEncryption {
        mode: Some(EncryptionMode::Passphrase),
        passphrase: Some(pass.into()),
        recipients: vec![extra.to_string()],
    };
    let e = engine.set_encryption("shop", mixed).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("key mode"), "{e}");
    let no_pass = SetEncryption {
        mode: Some(EncryptionMode::Passphrase),
        ..Default::default()
    };
    assert_eq!(
        engine
            .set_encryption("shop", no_pass)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );

    let setup = engine
        .set_encryption(
            "shop",
            SetEncryption {
                mode: Some(EncryptionMode::Passphrase),
                passphrase: Some(pass.into()),
                recipients: vec![],
            },
        )
        .await
        .unwrap();
    assert!(setup.recovery_item.is_none());
    assert_eq!(
        store
            .get(&project_encryption_passphrase_key("shop"))
            .unwrap()
            .as_deref(),
        Some(pass)
    );
    assert!(!contains(&everything_written(dir.path()), pass));
    assert_eq!(
        for_backup(&engine, &p).await.unwrap_err().kind(),
        ErrorKind::NeedsConsent
    );
    let e = engine
        .confirm_recovery("shop", "a long passphrase nobody guesseS")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongKey);
    engine
        .confirm_recovery("shop", &format!("{pass}\n"))
        .await
        .unwrap();
    let enc = for_backup(&engine, &p).await.unwrap().unwrap();
    assert_eq!(enc.describe(), vec!["passphrase".to_string()]);

    // Renaming the project moves its encryption secrets along.
    engine
        .update_project(
            "shop",
            UpdateProject {
                name: Some("store".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(engine.export_key("store").await.unwrap(), pass);
    assert!(store
        .get(&project_encryption_passphrase_key("shop"))
        .unwrap()
        .is_none());

    // Off: backups are plain again; the secret stays for older archives.
    let off = engine
        .set_encryption(
            "store",
            SetEncryption {
                mode: Some(EncryptionMode::Off),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(off.settings.confirmed);
    let p = engine.catalog.project("store").await.unwrap();
    assert!(for_backup(&engine, &p).await.unwrap().is_none());
    assert_eq!(keys_of(&engine, "store").unwrap().len(), 1);
}

#[tokio::test]
async fn the_default_is_chosen_once_saved_whatever_the_answer() {
    let (engine, _store, _dir) = engine().await;
    // Never asked: not encrypted, and not chosen (the welcome asks).
    assert_eq!(
        engine.default_encryption_choice().await.unwrap(),
        DefaultEncryption {
            mode: EncryptionMode::Off,
            chosen: false
        }
    );
    // "No, not for now" is an answer too: asked once.
    engine
        .set_default_encryption(EncryptionMode::Off)
        .await
        .unwrap();
    assert_eq!(
        engine.default_encryption_choice().await.unwrap(),
        DefaultEncryption {
            mode: EncryptionMode::Off,
            chosen: true
        }
    );
}

#[tokio::test]
async fn new_projects_start_with_the_default_mode_and_must_set_it_up() {
    let (engine, _store, _dir) = engine().await;
    assert_eq!(
        engine.default_encryption().await.unwrap(),
        EncryptionMode::Off
    );
    engine
        .set_default_encryption(EncryptionMode::Key)
        .await
        .unwrap();
    assert_eq!(
        engine.default_encryption_choice().await.unwrap(),
        DefaultEncryption {
            mode: EncryptionMode::Key,
            chosen: true
        }
    );
    let p = engine
        .add_project(AddProject::url(
            "blog",
            "postgres://app@db.example.com:5432/blog",
        ))
        .await
        .unwrap();
    let s = engine.encryption("blog").await.unwrap();
    assert_eq!(s.mode, EncryptionMode::Key);
    assert!(!s.confirmed && s.public_key.is_none());
    let e = for_backup(&engine, &p).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NeedsConsent);
    assert!(
        e.hint().unwrap().contains("offsite encryption set blog"),
        "{e:?}"
    );
    // The project made before the default changed stays as it was.
    let shop = engine.catalog.project("shop").await.unwrap();
    assert!(for_backup(&engine, &shop).await.unwrap().is_none());
    // A bad recipient is named, nothing is saved.
    let e = engine
        .set_encryption("blog", key_mode(vec!["age1bad".into()]))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("age1bad"));
    assert!(engine
        .encryption("blog")
        .await
        .unwrap()
        .public_key
        .is_none());
}

/// The saved recovery key replaces a file that was there, readable by others, with one only its
/// owner reads (the new file's mode, not the old file's), holding exactly the exported item.
#[cfg(unix)]
#[tokio::test]
async fn the_saved_recovery_item_replaces_a_readable_file_with_a_private_one() {
    use std::os::unix::fs::PermissionsExt;
    let (engine, _store, dir) = engine().await;
    engine
        .set_encryption("shop", key_mode(vec![]))
        .await
        .unwrap();
    let path = dir.path().join("saved").join("recovery.txt");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "old, readable by everyone").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    engine.save_recovery_item("shop", &path).await.unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let saved = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        saved,
        format!("{}\n", engine.export_key("shop").await.unwrap())
    );
    // Nothing temporary left beside it.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("recovery.txt")]);
}
