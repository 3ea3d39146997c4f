//! The secret stores' tests (the keychain's against a real one where the machine has it).

use super::*;

/// Sets environment variables for the scope of a test (holding the env lock), restoring them
/// after.
struct EnvGuard {
    saved: Vec<(String, Option<std::ffi::OsString>)>,
    _lock: std::sync::MutexGuard<'static, ()>,
}

impl EnvGuard {
    fn new(vars: &[(&str, Option<&str>)]) -> Self {
        let lock = test_env_lock();
        let mut saved = Vec::new();
        for (k, v) in vars {
            saved.push((k.to_string(), std::env::var_os(k)));
            match v {
                Some(v) => std::env::set_var(k, v),
                None => std::env::remove_var(k),
            }
        }
        EnvGuard { saved, _lock: lock }
    }
}

impl Drop for EnvGuard {
    fn drop(&mut self) {
        for (k, v) in self.saved.drain(..).rev() {
            match v {
                Some(v) => std::env::set_var(&k, v),
                None => std::env::remove_var(&k),
            }
        }
    }
}

/// A store that always fails, like a keychain without a Secret Service.
struct Broken;
impl SecretStore for Broken {
    fn get(&self, _: &str) -> Result<Option<String>> {
        Err(Error::new(ErrorKind::KeychainUnavailable, "no keychain").with_hint(headless_hint("k")))
    }
    fn set(&self, _: &str, _: &str) -> Result<()> {
        Err(Error::new(ErrorKind::Secrets, "no keychain"))
    }
    fn delete(&self, _: &str) -> Result<()> {
        Err(Error::new(ErrorKind::Secrets, "no keychain"))
    }
    fn name(&self) -> &'static str {
        "broken"
    }
}

#[test]
fn password_key_and_env_var_names() {
    assert_eq!(project_password_key("shop"), "project:shop:db-password");
    assert_eq!(
        env_var_for_key("project:shop:db-password"),
        "OFFSITE_PASSWORD_PROJECT_SHOP_DB_PASSWORD"
    );
    assert_eq!(
        env_var_for_key("project:My.Shop-2:db-password"),
        "OFFSITE_PASSWORD_PROJECT_MY_SHOP_2_DB_PASSWORD"
    );
    assert_eq!(env_var_for_key("ü"), "OFFSITE_PASSWORD__");
}

#[test]
fn memory_store_roundtrip() {
    let s = MemoryStore::new();
    assert_eq!(s.name(), "memory");
    assert_eq!(s.get("k").unwrap(), None);
    s.set("k", "one").unwrap();
    assert_eq!(s.get("k").unwrap().as_deref(), Some("one"));
    s.set("k", "two \"quoted\" 密码").unwrap();
    assert_eq!(s.get("k").unwrap().as_deref(), Some("two \"quoted\" 密码"));
    s.set("other", "x").unwrap();
    s.delete("k").unwrap();
    assert_eq!(s.get("k").unwrap(), None);
    s.delete("k").unwrap(); // missing: still Ok
    assert_eq!(s.get("other").unwrap().as_deref(), Some("x"));
    assert_eq!(format!("{s:?}"), "MemoryStore { entries: 1 }");
}

#[test]
fn empty_keys_are_invalid() {
    let s = MemoryStore::new();
    assert_eq!(s.get("").unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(s.set("", "x").unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(
        EnvStore.get("").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        KeychainStore::default().get("").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn env_store_reads_pgpassword_for_database_passwords() {
    let key = project_password_key("envshop");
    let _env = EnvGuard::new(&[
        (PGPASSWORD_ENV, Some("pg-pw")),
        (&env_var_for_key(&key), None),
        (S3_SECRET_ENV, None),
    ]);
    let s = EnvStore::new();
    assert_eq!(s.name(), "env");
    assert_eq!(s.get(&key).unwrap().as_deref(), Some("pg-pw"));
    // Not a database password: PGPASSWORD is not handed out for it.
    assert_eq!(s.get("project:envshop:s3-secret").unwrap(), None);
}

#[test]
fn env_store_per_key_override_wins() {
    let key = project_password_key("envshop2");
    let var = env_var_for_key(&key);
    let other = "project:envshop2:s3-secret";
    let _env = EnvGuard::new(&[
        (PGPASSWORD_ENV, Some("pg-pw")),
        (&var, Some("own-pw")),
        (&env_var_for_key(other), Some("s3")),
    ]);
    assert_eq!(EnvStore.get(&key).unwrap().as_deref(), Some("own-pw"));
    assert_eq!(
        EnvStore
            .get(&project_password_key("someone-else"))
            .unwrap()
            .as_deref(),
        Some("pg-pw")
    );
    std::env::set_var(&var, "");
    assert_eq!(
        EnvStore.get(&key).unwrap().as_deref(),
        Some("pg-pw"),
        "empty means unset"
    );
    std::env::remove_var(PGPASSWORD_ENV);
    assert_eq!(EnvStore.get(&key).unwrap(), None);
    // Other keys only through their own variable.
    assert_eq!(EnvStore.get(other).unwrap().as_deref(), Some("s3"));
}

#[cfg(unix)]
#[test]
fn env_store_rejects_non_utf8_values_without_showing_them() {
    use std::os::unix::ffi::OsStrExt;
    let key = project_password_key("envshop3");
    let var = env_var_for_key(&key);
    let _env = EnvGuard::new(&[(&var, None)]);
    std::env::set_var(&var, std::ffi::OsStr::from_bytes(b"pw\xff"));
    let e = EnvStore.get(&key).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Secrets);
    assert!(e.message().contains(&var) && !e.message().contains("pw\u{fffd}"));
}

#[test]
fn env_store_is_read_only() {
    let key = project_password_key("shop");
    let e = EnvStore.set(&key, "hunter2").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Secrets);
    assert_eq!(e.message(), "the environment store is read-only");
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("OFFSITE_PASSWORD_PROJECT_SHOP_DB_PASSWORD") && hint.contains("PGPASSWORD"),
        "{hint}"
    );
    assert!(!hint.contains("hunter2"));
    EnvStore.delete(&key).unwrap();
}

#[test]
fn env_store_gives_each_secret_its_documented_variable_and_takes_what_it_holds() {
    let s3 = project_s3_secret_key("envshop4");
    let token = project_supabase_token_key("envshop4");
    let _env = EnvGuard::new(&[
        (S3_SECRET_ENV, Some("s3-from-env")),
        (SUPABASE_TOKEN_ENV, None),
        (&env_var_for_key(&s3), None),
        (&env_var_for_key(&token), None),
    ]);
    assert_eq!(EnvStore.get(&s3).unwrap().as_deref(), Some("s3-from-env"));
    assert_eq!(EnvStore.get(&token).unwrap(), None);
    // `project add` handed the secret its variable holds: nothing to write, accepted.
    EnvStore.set(&s3, "s3-from-env").unwrap();
    // Anything else cannot be kept: refused, naming the variables.
    let e = EnvStore.set(&s3, "another").unwrap_err();
    assert_eq!(e.message(), "the environment store is read-only");
    assert!(e.hint().unwrap().contains(S3_SECRET_ENV), "{:?}", e.hint());
    assert!(!e.hint().unwrap().contains("another"));
    let e = EnvStore.set(&token, "sbp").unwrap_err();
    assert!(e.hint().unwrap().contains(SUPABASE_TOKEN_ENV));
    // The per-project variable wins over the shared one.
    std::env::set_var(env_var_for_key(&s3), "s3-own");
    assert_eq!(EnvStore.get(&s3).unwrap().as_deref(), Some("s3-own"));
    EnvStore.set(&s3, "s3-own").unwrap();
    assert!(EnvStore.set(&s3, "s3-from-env").is_err());
}

#[test]
fn chain_store_reads_in_order_and_writes_to_the_first() {
    let first = Arc::new(MemoryStore::new());
    let second = Arc::new(MemoryStore::new());
    let chain = ChainStore::new(vec![Box::new(first.clone()), Box::new(second.clone())]);
    assert_eq!(chain.name(), "chain");
    assert_eq!(chain.get("k").unwrap(), None);
    second.set("k", "from-second").unwrap();
    assert_eq!(chain.get("k").unwrap().as_deref(), Some("from-second"));
    chain.set("k", "from-first").unwrap();
    assert_eq!(first.get("k").unwrap().as_deref(), Some("from-first"));
    assert_eq!(chain.get("k").unwrap().as_deref(), Some("from-first"));
    chain.delete("k").unwrap();
    assert_eq!(first.get("k").unwrap(), None);
    assert_eq!(
        second.get("k").unwrap().as_deref(),
        Some("from-second"),
        "delete touches the first store only"
    );
    assert_eq!(format!("{chain:?}"), r#"ChainStore(["memory", "memory"])"#);
}

#[test]
fn chain_store_falls_back_past_a_failing_store() {
    let fallback = Arc::new(MemoryStore::new());
    let chain = ChainStore(vec![Box::new(Broken), Box::new(fallback.clone())]);
    // Nothing anywhere: the failure is reported (with its hint), not hidden as "no secret".
    let e = chain.get("k").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeychainUnavailable);
    assert!(e.hint().unwrap().contains("OFFSITE_SECRET_STORE=env"));
    // ...which `lookup` turns into "unknown", keeping the error for later.
    match lookup(&chain, "k").unwrap() {
        Lookup::Unavailable(e) => assert_eq!(e.code(), "keychain_unavailable"),
        other => panic!("{other:?}"),
    }
    fallback.set("k", "v").unwrap();
    assert_eq!(chain.get("k").unwrap().as_deref(), Some("v"));
    assert!(matches!(lookup(&chain, "k").unwrap(), Lookup::Found(v) if v == "v"));
    assert_eq!(chain.set("k", "w").unwrap_err().kind(), ErrorKind::Secrets);
    let empty = ChainStore(vec![]);
    assert_eq!(empty.get("k").unwrap(), None);
    assert_eq!(empty.set("k", "v").unwrap_err().kind(), ErrorKind::Internal);
}

#[test]
fn stores_are_chosen_by_name() {
    assert_eq!(store_named("").unwrap().name(), "chain");
    assert_eq!(store_named("keychain").unwrap().name(), "chain");
    assert_eq!(store_named("Env").unwrap().name(), "env");
    assert_eq!(store_named("memory").unwrap().name(), "memory");
    let e = store_named("vault").err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.hint().unwrap().contains("keychain, env or memory"));
}

#[test]
fn store_from_env_follows_offsite_secret_store() {
    for (value, expected) in [
        (Some("env"), "env"),
        (Some("memory"), "memory"),
        (Some("keychain"), "chain"),
        (None, "chain"),
        (Some("bogus"), "chain"),
    ] {
        let _env = EnvGuard::new(&[(SECRET_STORE_ENV, value)]);
        assert_eq!(store_from_env().name(), expected, "{value:?}");
    }
}

#[test]
fn lookup_tells_missing_found_unavailable_and_failed_apart() {
    let m = MemoryStore::new();
    assert!(matches!(lookup(&m, "k").unwrap(), Lookup::Missing));
    m.set("k", "hunter2").unwrap();
    let found = lookup(&m, "k").unwrap();
    assert!(matches!(&found, Lookup::Found(v) if v == "hunter2"));
    assert_eq!(format!("{found:?}"), "Found([secret])");
    assert!(matches!(
        lookup(&Broken, "k").unwrap(),
        Lookup::Unavailable(_)
    ));
    // Other failures (a read-only store, a damaged entry) are still errors.
    struct Damaged;
    impl SecretStore for Damaged {
        fn get(&self, _: &str) -> Result<Option<String>> {
            Err(Error::new(ErrorKind::Secrets, "not valid UTF-8"))
        }
        fn set(&self, _: &str, _: &str) -> Result<()> {
            Ok(())
        }
        fn delete(&self, _: &str) -> Result<()> {
            Ok(())
        }
        fn name(&self) -> &'static str {
            "damaged"
        }
    }
    assert_eq!(
        lookup(&Damaged, "k").unwrap_err().kind(),
        ErrorKind::Secrets
    );
}

#[test]
fn keyring_errors_map_to_secrets_without_the_secret() {
    let secret = "hunter2-s3cr3t";
    let platform = keyring::Error::PlatformFailure(Box::new(std::io::Error::other(format!(
        "dbus said: could not store {secret}"
    ))));
    let e = keyring_error("saving", "project:shop:db-password", platform, Some(secret));
    assert_eq!(e.kind(), ErrorKind::KeychainUnavailable);
    assert!(
        e.message().contains("saving \"project:shop:db-password\""),
        "{e}"
    );
    assert!(!e.message().contains(secret), "{e}");
    let hint = e.hint().unwrap();
    assert!(hint.starts_with(KEYCHAIN_CHECK), "{hint}");
    assert!(hint.contains("Nothing was saved."), "{hint}");
    assert!(
        hint.ends_with("give Offsite no password (none in the URL)"),
        "{hint}"
    );
    assert!(
        hint.contains("OFFSITE_SECRET_STORE=env")
            && hint.contains("OFFSITE_PASSWORD_PROJECT_SHOP_DB_PASSWORD")
            && hint.contains("PGPASSWORD"),
        "{hint}"
    );
    let locked =
        keyring::Error::NoStorageAccess(Box::new(std::io::Error::other("collection is locked")));
    let e = keyring_error("reading", "project:s3:token", locked, None);
    assert_eq!(e.kind(), ErrorKind::KeychainUnavailable);
    assert!(e.message().contains("collection is locked"));
    let hint = e.hint().unwrap();
    assert!(
        hint.contains("OFFSITE_SECRET_STORE=env")
            && hint.contains("OFFSITE_PASSWORD_PROJECT_S3_TOKEN")
            && !hint.contains("PGPASSWORD")
            && !hint.contains("Nothing was saved"),
        "{hint}"
    );
    let bad = keyring::Error::BadEncoding(secret.as_bytes().to_vec());
    let e = keyring_error("reading", "k", bad, None);
    assert_eq!(e.kind(), ErrorKind::Secrets);
    assert!(!format!("{e} {:?}", e.hint()).contains(secret));
    let e = keyring_error(
        "saving",
        "k",
        keyring::Error::TooLong("user".into(), 10),
        Some(secret),
    );
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

/// Windows' Credential Manager refuses a secret over 2,560 bytes (keyring's check, before
/// anything is written): the words say it is the secret, its limit and length, and the way
/// around it — not "a shorter project name" (found running the keychain test under Wine).
#[test]
fn a_secret_too_long_for_the_keychain_says_so_and_how_to_do_without() {
    let secret = "s3cr3t-".repeat(200); // 1,400 characters
    let e = keyring_error(
        "saving",
        &project_password_key("shop"),
        keyring::Error::TooLong("password encoded as UTF-16".into(), 2560),
        Some(&secret),
    );
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let text = format!("{e} {}", e.hint().unwrap_or(""));
    assert!(
        text.contains("at most 1280 characters of a secret; this one has 1400"),
        "{text}"
    );
    assert!(
        text.contains("Nothing was saved") && text.contains("OFFSITE_SECRET_STORE=env"),
        "{text}"
    );
    assert!(
        !text.contains("project name") && !text.contains("s3cr3t"),
        "{text}"
    );
    let e = keyring_error(
        "saving",
        "k",
        keyring::Error::TooLong("target".into(), 32767),
        None,
    );
    assert_eq!(e.hint(), Some("use a shorter project name"));
}

#[cfg(not(any(target_os = "macos", target_os = "windows")))]
#[test]
fn keychain_hint_names_the_secret_service_and_headless_options() {
    assert_eq!(
        KEYCHAIN_CHECK,
        "is a Secret Service (gnome-keyring, KWallet) running in this D-Bus session and unlocked?"
    );
    assert_eq!(
        headless_hint(&project_password_key("shop")),
        "without a keychain (servers, cron, containers) set OFFSITE_SECRET_STORE=env and put the \
         password in OFFSITE_PASSWORD_PROJECT_SHOP_DB_PASSWORD (or PGPASSWORD) in the \
         environment of every offsite command"
    );
    assert_eq!(KeychainStore::default().service(), "dev.offsite.Offsite");
}
