//! The keychain store against the real OS keychain (on Linux: a Secret Service over D-Bus).
//!
//! Run it with `crates/core/tests/run-keychain-tests.sh`, which starts a private D-Bus session and
//! a throwaway gnome-keyring in temporary folders. These tests fail (they never skip) when no
//! Secret Service is reachable: a keychain that silently is not tested is not tested.
//!
//! Entries are filed under a test-only service name with unique keys, and removed afterwards.

use offsite_core::secrets::{ChainStore, KeychainStore, MemoryStore, SecretStore};
use offsite_core::ErrorKind;
use std::sync::Arc;

const SERVICE: &str = "dev.offsite.Offsite.tests";

/// The store under test, after checking that a keychain is reachable at all.
fn keychain() -> KeychainStore {
    #[cfg(all(unix, not(target_os = "macos")))]
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty()) {
        panic!(
            "DBUS_SESSION_BUS_ADDRESS is not set, so no Secret Service can be reached. These tests \
             need a D-Bus session with gnome-keyring (or another Secret Service) running and unlocked: \
             run crates/core/tests/run-keychain-tests.sh"
        );
    }
    let store = KeychainStore::new(SERVICE);
    // Reading and writing: a Secret Service without an unlocked default collection can be read
    // from but not written to.
    let probe = unique_key("probe");
    let usable = store
        .get(&probe)
        .and_then(|_| store.set(&probe, "probe"))
        .and_then(|_| store.delete(&probe));
    if let Err(e) = usable {
        panic!(
            "the OS keychain is not usable: {e} (code {}; hint: {}). Run crates/core/tests/run-keychain-tests.sh \
             to test against a throwaway gnome-keyring",
            e.code(),
            e.hint().unwrap_or("-")
        );
    }
    store
}

fn unique_key(what: &str) -> String {
    format!("test:{what}:{}", uuid::Uuid::new_v4())
}

/// Deletes the key when the test ends, whether it passed or not.
struct Cleanup<'a>(&'a KeychainStore, String);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.delete(&self.1);
    }
}

#[test]
fn set_get_overwrite_delete() {
    let store = keychain();
    assert_eq!(store.name(), "keychain");
    let key = unique_key("roundtrip");
    let _cleanup = Cleanup(&store, key.clone());

    assert_eq!(store.get(&key).unwrap(), None);
    store.set(&key, "first-password").unwrap();
    assert_eq!(store.get(&key).unwrap().as_deref(), Some("first-password"));
    store.set(&key, "second-password").unwrap();
    assert_eq!(store.get(&key).unwrap().as_deref(), Some("second-password"));
    store.delete(&key).unwrap();
    assert_eq!(store.get(&key).unwrap(), None);
}

#[test]
fn missing_entries_read_as_none_and_delete_quietly() {
    let store = keychain();
    let key = unique_key("missing");
    assert_eq!(store.get(&key).unwrap(), None);
    store.delete(&key).unwrap();
    store.delete(&key).unwrap();
    assert_eq!(store.get(&key).unwrap(), None);
}

#[test]
fn secrets_with_non_ascii_quotes_and_escapes_survive() {
    let store = keychain();
    let key = unique_key("unicode");
    let _cleanup = Cleanup(&store, key.clone());
    let secrets = [
        "pä$$wörd 'single' \"double\" `back` \\ ; & | $(echo no) %s {}",
        "密码🔐 Пароль كلمة",
        " leading and trailing spaces ",
        "line\nbreak\ttab",
        &"x".repeat(LONGEST),
    ];
    for secret in secrets {
        store.set(&key, secret).unwrap();
        assert_eq!(store.get(&key).unwrap().as_deref(), Some(secret));
    }
}

/// The longest secret each OS's store keeps: Windows' Credential Manager 2,560 bytes of UTF-16.
const LONGEST: usize = if cfg!(windows) { 1280 } else { 4096 };

/// A secret over the store's limit is refused with what to do, and the one saved before stays.
#[cfg(windows)]
#[test]
fn a_secret_over_the_credential_managers_limit_is_refused_and_the_old_one_kept() {
    let store = keychain();
    let key = unique_key("long");
    let _cleanup = Cleanup(&store, key.clone());
    store.set(&key, "before").unwrap();
    let e = store.set(&key, &"y".repeat(LONGEST + 1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("at most 1280 characters"), "{e}");
    assert!(
        e.hint().unwrap_or("").contains("OFFSITE_SECRET_STORE=env"),
        "{e:?}"
    );
    assert_eq!(store.get(&key).unwrap().as_deref(), Some("before"));
}

#[test]
fn keys_with_project_names_work() {
    let store = keychain();
    let key = offsite_core::secrets::project_password_key(&format!(
        "shop_prod-1.eu-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let _cleanup = Cleanup(&store, key.clone());
    store.set(&key, "pw").unwrap();
    assert_eq!(store.get(&key).unwrap().as_deref(), Some("pw"));
}

#[test]
fn services_keep_separate_entries() {
    let a = keychain();
    let b = KeychainStore::new(format!("{SERVICE}.other"));
    let key = unique_key("separate");
    let _ca = Cleanup(&a, key.clone());
    let _cb = Cleanup(&b, key.clone());
    a.set(&key, "for-a").unwrap();
    assert_eq!(b.get(&key).unwrap(), None);
    b.set(&key, "for-b").unwrap();
    assert_eq!(a.get(&key).unwrap().as_deref(), Some("for-a"));
    assert_eq!(b.get(&key).unwrap().as_deref(), Some("for-b"));
    b.delete(&key).unwrap();
    assert_eq!(a.get(&key).unwrap().as_deref(), Some("for-a"));
}

#[test]
fn chain_reads_the_keychain_first_and_writes_to_it() {
    let store = keychain();
    let key = unique_key("chain");
    let _cleanup = Cleanup(&store, key.clone());
    let fallback = Arc::new(MemoryStore::new());
    fallback.set(&key, "from-fallback").unwrap();
    let chain = ChainStore::new(vec![
        Box::new(KeychainStore::new(SERVICE)),
        Box::new(fallback.clone()),
    ]);

    assert_eq!(chain.get(&key).unwrap().as_deref(), Some("from-fallback"));
    chain.set(&key, "from-keychain").unwrap();
    assert_eq!(store.get(&key).unwrap().as_deref(), Some("from-keychain"));
    assert_eq!(chain.get(&key).unwrap().as_deref(), Some("from-keychain"));
    chain.delete(&key).unwrap();
    assert_eq!(store.get(&key).unwrap(), None);
    assert_eq!(chain.get(&key).unwrap().as_deref(), Some("from-fallback"));
}

#[test]
fn an_empty_key_is_refused_before_reaching_the_keychain() {
    let store = keychain();
    assert_eq!(store.get("").unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(
        store.set("", "pw").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}
