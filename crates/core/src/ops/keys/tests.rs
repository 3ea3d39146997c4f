use super::*;
use crate::engine::EngineConfig;
use crate::ops::encryption::{EncryptionMode, SetEncryption};
use crate::ops::projects::AddProject;
use crate::secrets::{MemoryStore, SecretStore};
use std::path::Path;
use std::sync::Arc;

const ARCHIVE: &str = "/backups/shop_20261120_023000_database.tar.zst.age";

async fn engine() -> (Engine, Arc<MemoryStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let engine = Engine::open(EngineConfig::new(store.clone()).data_dir(Some(dir.path().into())))
        .await
        .unwrap();
    add(&engine, "shop").await;
    (engine, store, dir)
}

async fn add(engine: &Engine, name: &str) -> Project {
    engine
        .add_project(AddProject::url(
            name,
            "postgres://app@db.example.com:5432/shop",
        ))
        .await
        .unwrap()
}

/// Key mode set up and confirmed; returns the recovery key.
async fn encrypt(engine: &Engine, name: &str) -> String {
    let setup = engine
        .set_encryption(
            name,
            SetEncryption {
                mode: Some(EncryptionMode::Key),
                passphrase: None,
                recipients: Vec::new(),
            },
        )
        .await
        .unwrap();
    let item = setup.recovery_item.unwrap();
    engine.confirm_recovery(name, &item).await.unwrap();
    item
}

fn opts(typed: Option<&str>, delete_key: bool) -> RemoveProject {
    RemoveProject {
        typed_name: typed.map(str::to_string),
        delete_key,
        leave_slot: false,
    }
}

#[tokio::test]
async fn an_encrypted_project_is_removed_only_with_its_name_typed_and_its_key_is_kept() {
    let (engine, store, _dir) = engine().await;
    let item = encrypt(&engine, "shop").await;
    let id_key = project_encryption_identity_key("shop");
    let settings = engine.encryption("shop").await.unwrap();

    // Not typed, or typed wrong: refused, nothing changed, and the hint offers the export.
    for typed in [None, Some("shop2"), Some("SHOP")] {
        let e = engine
            .remove_project_with("shop", opts(typed, false))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NeedsConsent, "{typed:?}");
        let hint = e.hint().unwrap();
        assert!(hint.contains("offsite key export shop"), "{hint}");
        assert!(
            hint.contains("--yes") && hint.contains("--delete-key"),
            "{hint}"
        );
        assert!(!format!("{e} {hint}").contains(&item));
        engine.project("shop").await.unwrap();
    }
    // The plain call (the old one) is refused the same way.
    assert_eq!(
        engine.remove_project("shop").await.unwrap_err().kind(),
        ErrorKind::NeedsConsent
    );

    let removed = engine
        .remove_project_with("shop", opts(Some(" shop "), false))
        .await
        .unwrap();
    assert_eq!(removed.key, KeyFate::Kept);
    assert!(engine.project("shop").await.is_err());
    assert_eq!(store.get(&id_key).unwrap().as_deref(), Some(item.as_str()));
    let listed = engine.keys().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].orphaned && listed[0].name == "shop");
    assert_eq!(listed[0].public_key, settings.public_key);
    assert!(listed[0].removed_at.is_some());
    // The kept key still exports, and opens the removed project's archives by their name.
    assert_eq!(engine.export_key("shop").await.unwrap(), item);
    let keys = crate::ops::encrypted_read::keys_by_archive_name(&engine, Path::new(ARCHIVE))
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    let other = "/backups/blog_20261120_023000_database.tar.zst.age";
    assert!(
        crate::ops::encrypted_read::keys_by_archive_name(&engine, Path::new(other))
            .await
            .unwrap()
            .is_empty()
    );

    // Added again under the same name: the key is taken back, confirmed as it was.
    add(&engine, "shop").await;
    assert_eq!(engine.encryption("shop").await.unwrap(), settings);
    assert!(engine.orphaned_key("shop").await.unwrap().is_none());
    let listed = engine.keys().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].orphaned);

    // Removed asking to delete the key: gone from the keychain, nothing kept.
    let removed = engine
        .remove_project_with("shop", opts(Some("shop"), true))
        .await
        .unwrap();
    assert_eq!(removed.key, KeyFate::Deleted);
    assert_eq!(store.get(&id_key).unwrap(), None);
    assert!(engine.keys().await.unwrap().is_empty());
    // A project added again starts without encryption.
    add(&engine, "shop").await;
    assert_eq!(
        engine.encryption("shop").await.unwrap().mode,
        EncryptionMode::Off
    );
}

#[tokio::test]
async fn a_project_without_a_key_is_removed_without_typing() {
    let (engine, _store, _dir) = engine().await;
    let removed = engine
        .remove_project_with("shop", RemoveProject::default())
        .await
        .unwrap();
    assert_eq!(removed.key, KeyFate::None);
    assert!(engine.keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn keys_from_before_encryption_was_turned_off_count_too() {
    let (engine, store, _dir) = engine().await;
    let item = encrypt(&engine, "shop").await;
    engine
        .set_encryption(
            "shop",
            SetEncryption {
                mode: Some(EncryptionMode::Off),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        engine.remove_project("shop").await.unwrap_err().kind(),
        ErrorKind::NeedsConsent
    );
    engine
        .remove_project_with("shop", opts(Some("shop"), false))
        .await
        .unwrap();
    assert_eq!(engine.export_key("shop").await.unwrap(), item);
    assert_eq!(
        store
            .get(&project_encryption_identity_key("shop"))
            .unwrap()
            .as_deref(),
        Some(item.as_str())
    );
}

#[tokio::test]
async fn key_remove_deletes_a_kept_key_only_with_its_name_typed() {
    let (engine, store, _dir) = engine().await;
    encrypt(&engine, "shop").await;
    add(&engine, "blog").await;
    encrypt(&engine, "blog").await;
    // A project's own key: not orphaned, not removed here.
    let e = engine
        .remove_kept_key("blog", Some("blog"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.hint().unwrap().contains("--delete-key"));
    let e = engine
        .remove_kept_key("nope", Some("nope"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    engine
        .remove_project_with("shop", opts(Some("shop"), false))
        .await
        .unwrap();
    let id_key = project_encryption_identity_key("shop");
    let e = engine.remove_kept_key("shop", None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NeedsConsent);
    assert!(e.hint().unwrap().contains("offsite key export shop"));
    assert!(store.get(&id_key).unwrap().is_some());
    engine.remove_kept_key("shop", Some("shop")).await.unwrap();
    assert_eq!(store.get(&id_key).unwrap(), None);
    let names: Vec<_> = engine
        .keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.name, k.orphaned))
        .collect();
    assert_eq!(names, [("blog".to_string(), false)]);
    assert_eq!(
        engine.export_key("shop").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}
