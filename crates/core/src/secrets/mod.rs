//! Secrets: where database passwords (and other credentials) are kept.
//!
//! Everything goes through the [`SecretStore`] trait:
//! - [`KeychainStore`]: the OS keychain (Secret Service on Linux, Keychain on macOS, Credential
//!   Manager on Windows) through the `keyring` crate; what the desktop app uses.
//! - [`EnvStore`]: read-only, from environment variables; for headless use (servers, CI).
//! - [`MemoryStore`]: in-process, for tests.
//! - [`ChainStore`]: several stores, read in order.
//!
//! [`store_from_env`] picks one from `OFFSITE_SECRET_STORE`. Keys are strings such as
//! [`project_password_key`]. Secrets never appear in errors, logs or `Debug` output.
//!
//! The trait is blocking (the keychain talks D-Bus synchronously); from async code call it inside
//! `tokio::task::spawn_blocking`.

use crate::error::{Error, ErrorKind, Result};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// The keychain service name Offsite's entries are filed under.
pub const DEFAULT_SERVICE: &str = "dev.offsite.Offsite";

/// Chooses the store: `keychain` (default), `env` or `memory`.
pub const SECRET_STORE_ENV: &str = "OFFSITE_SECRET_STORE";

/// Prefix of the per-key environment variables [`EnvStore`] reads (see [`env_var_for_key`]).
pub const PASSWORD_ENV_PREFIX: &str = "OFFSITE_PASSWORD_";

/// libpq's password variable; [`EnvStore`] returns it for database-password keys.
pub const PGPASSWORD_ENV: &str = "PGPASSWORD";

const DB_PASSWORD_SUFFIX: &str = ":db-password";

/// The variable a headless run gives a project's S3 secret access key (storage and artifact
/// bucket) in.
pub const S3_SECRET_ENV: &str = "OFFSITE_S3_SECRET_ACCESS_KEY";
/// The variable a headless run gives a project's Supabase access token in.
pub const SUPABASE_TOKEN_ENV: &str = "SUPABASE_ACCESS_TOKEN";
/// The variable a headless run gives a project's backup-server token in.
pub const SERVER_TOKEN_ENV: &str = "OFFSITE_SERVER_TOKEN";

/// The one documented variable for the secret under `key` (besides the per-key variable of
/// [`env_var_for_key`]): `PGPASSWORD` for a database password, [`S3_SECRET_ENV`],
/// [`SUPABASE_TOKEN_ENV`], [`SERVER_TOKEN_ENV`]; `None` for other keys.
pub fn shared_env_for_key(key: &str) -> Option<&'static str> {
    let kind = key.rsplit(':').next().unwrap_or("");
    match kind {
        "db-password" => Some(PGPASSWORD_ENV),
        "s3-secret" | "artifacts-secret" => Some(S3_SECRET_ENV),
        "supabase-token" => Some(SUPABASE_TOKEN_ENV),
        "server-token" => Some(SERVER_TOKEN_ENV),
        _ => None,
    }
}

#[cfg(target_os = "macos")]
const KEYCHAIN_CHECK: &str = "is the login keychain unlocked?";
#[cfg(target_os = "windows")]
const KEYCHAIN_CHECK: &str = "is Windows Credential Manager available?";
#[cfg(not(any(target_os = "macos", target_os = "windows")))]
const KEYCHAIN_CHECK: &str =
    "is a Secret Service (gnome-keyring, KWallet) running in this D-Bus session and unlocked?";

/// What to do without a keychain, for `key`: `OFFSITE_SECRET_STORE=env` and the exact variable
/// [`EnvStore`] reads for it (and `PGPASSWORD` for a database password).
pub fn headless_hint(key: &str) -> String {
    let var = env_var_for_key(key);
    if key.ends_with(DB_PASSWORD_SUFFIX) {
        format!(
            "without a keychain (servers, cron, containers) set {SECRET_STORE_ENV}=env and put the \
             password in {var} (or {PGPASSWORD_ENV}) in the environment of every offsite command"
        )
    } else {
        format!(
            "without a keychain (servers, cron, containers) set {SECRET_STORE_ENV}=env and put the \
             secret in {var} in the environment of every offsite command"
        )
    }
}

/// Where secrets are kept. Implementations must never put a secret into an error or a log line.
pub trait SecretStore: Send + Sync {
    /// The secret stored under `key`, or `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<String>>;
    /// Store (or replace) the secret under `key`.
    fn set(&self, key: &str, secret: &str) -> Result<()>;
    /// Remove the secret under `key`; removing a missing one is not an error.
    fn delete(&self, key: &str) -> Result<()>;
    /// A short name for messages: "keychain", "env", "memory", "chain".
    fn name(&self) -> &'static str;
}

impl<T: SecretStore + ?Sized> SecretStore for Box<T> {
    fn get(&self, key: &str) -> Result<Option<String>> {
        (**self).get(key)
    }
    fn set(&self, key: &str, secret: &str) -> Result<()> {
        (**self).set(key, secret)
    }
    fn delete(&self, key: &str) -> Result<()> {
        (**self).delete(key)
    }
    fn name(&self) -> &'static str {
        (**self).name()
    }
}

impl<T: SecretStore + ?Sized> SecretStore for Arc<T> {
    fn get(&self, key: &str) -> Result<Option<String>> {
        (**self).get(key)
    }
    fn set(&self, key: &str, secret: &str) -> Result<()> {
        (**self).set(key, secret)
    }
    fn delete(&self, key: &str) -> Result<()> {
        (**self).delete(key)
    }
    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// The key of a project's database password: `project:<name>:db-password`.
pub fn project_password_key(project_name: &str) -> String {
    format!("project:{project_name}{DB_PASSWORD_SUFFIX}")
}

/// The key of a project's S3 secret access key: `project:<name>:s3-secret`
/// (headless: `OFFSITE_PASSWORD_PROJECT_<NAME>_S3_SECRET`, or `OFFSITE_S3_SECRET_ACCESS_KEY`).
pub fn project_s3_secret_key(project_name: &str) -> String {
    format!("project:{project_name}:s3-secret")
}

/// The key of the S3 secret access key of a project's destination:
/// `project:<name>:destination:<dest>:dest-s3-secret` (headless: the per-key variable of
/// [`env_var_for_key`], e.g. `OFFSITE_PASSWORD_PROJECT_SHOP_DESTINATION_BUCKET_DEST_S3_SECRET`).
pub fn destination_s3_secret_key(project_name: &str, destination: &str) -> String {
    format!("project:{project_name}:destination:{destination}:dest-s3-secret")
}

/// The key of a project's Supabase personal access token: `project:<name>:supabase-token`
/// (headless: `OFFSITE_PASSWORD_PROJECT_<NAME>_SUPABASE_TOKEN`, or `SUPABASE_ACCESS_TOKEN`).
pub fn project_supabase_token_key(project_name: &str) -> String {
    format!("project:{project_name}:supabase-token")
}

/// The key of a project's encryption passphrase (passphrase mode):
/// `project:<name>:encryption-passphrase`.
pub fn project_encryption_passphrase_key(project_name: &str) -> String {
    format!("project:{project_name}:encryption-passphrase")
}

/// The key of a project's age identity (`AGE-SECRET-KEY-1…`, key mode):
/// `project:<name>:encryption-identity`.
pub fn project_encryption_identity_key(project_name: &str) -> String {
    format!("project:{project_name}:encryption-identity")
}

/// The environment variable [`EnvStore`] reads for `key`: `OFFSITE_PASSWORD_` followed by the key
/// in upper case, every character other than A-Z and 0-9 replaced by `_`
/// (`project:shop:db-password` → `OFFSITE_PASSWORD_PROJECT_SHOP_DB_PASSWORD`).
pub fn env_var_for_key(key: &str) -> String {
    let sanitized: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{PASSWORD_ENV_PREFIX}{sanitized}")
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("a secret needs a non-empty key"));
    }
    Ok(())
}

/// `text` with every occurrence of `secret` replaced, for messages built from foreign errors.
fn redact(text: String, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() && text.contains(s) => text.replace(s, "[secret]"),
        _ => text,
    }
}

// ---------------------------------------------------------------------------------------------
// Keychain
// ---------------------------------------------------------------------------------------------

/// The OS keychain. Entries are filed under the service name (default [`DEFAULT_SERVICE`]) with
/// the key as the user/account name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeychainStore {
    service: String,
}

impl Default for KeychainStore {
    fn default() -> Self {
        KeychainStore::new(DEFAULT_SERVICE)
    }
}

impl KeychainStore {
    pub fn new(service: impl Into<String>) -> Self {
        KeychainStore {
            service: service.into(),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, key: &str) -> Result<keyring::Entry> {
        check_key(key)?;
        keyring::Entry::new(&self.service, key)
            .map_err(|e| keyring_error("opening the entry for", key, e, None))
    }
}

impl SecretStore for KeychainStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        match self.entry(key)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error("reading", key, e, None)),
        }
    }

    fn set(&self, key: &str, secret: &str) -> Result<()> {
        self.entry(key)?
            .set_password(secret)
            .map_err(|e| keyring_error("saving", key, e, Some(secret)))
    }

    fn delete(&self, key: &str) -> Result<()> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error("deleting", key, e, None)),
        }
    }

    fn name(&self) -> &'static str {
        "keychain"
    }
}

/// A keyring error as ours. `op` is a verb phrase ("reading"); `secret`, when known, is scrubbed
/// from anything the platform said.
fn keyring_error(op: &str, key: &str, e: keyring::Error, secret: Option<&str>) -> Error {
    let (kind, message, hint) = match e {
        // No D-Bus session or Secret Service, a locked keychain, access denied: the keychain
        // cannot be used at all (as opposed to a missing entry).
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => (
            ErrorKind::KeychainUnavailable,
            format!("the OS keychain is unavailable ({op} {key:?}): {inner}"),
            if op == "saving" {
                format!(
                    "{KEYCHAIN_CHECK} Nothing was saved. {}, and give Offsite no password \
                     (none in the URL)",
                    capitalized(&headless_hint(key))
                )
            } else {
                format!("{KEYCHAIN_CHECK} {}", capitalized(&headless_hint(key)))
            },
        ),
        // The bytes are the secret: never show them.
        keyring::Error::BadEncoding(_) => (
            ErrorKind::Secrets,
            format!("the secret stored in the OS keychain for {key:?} is not valid UTF-8"),
            "delete it and set it again".to_string(),
        ),
        // Windows' Credential Manager holds at most 2,560 bytes of secret: 1,280 UTF-16 units.
        keyring::Error::TooLong(attr, limit) if attr.starts_with("password") || attr == "secret" => (
            ErrorKind::InvalidInput,
            format!(
                "the OS keychain holds at most {} characters of a secret; this one has {} \
                 (while {op} {key:?}). Nothing was saved",
                limit / 2,
                secret.map_or(0, |s| s.encode_utf16().count())
            ),
            format!("use a shorter secret, or {}", headless_hint(key)),
        ),
        keyring::Error::TooLong(attr, limit) => (
            ErrorKind::InvalidInput,
            format!("the OS keychain limits {attr} to {limit} characters (while {op} {key:?})"),
            "use a shorter project name".to_string(),
        ),
        keyring::Error::Invalid(attr, reason) => (
            ErrorKind::InvalidInput,
            format!("the OS keychain refused {attr} while {op} {key:?}: {reason}"),
            "use a project name made of letters, digits, '_', '-' and '.'".to_string(),
        ),
        // Its Display lists the matching credentials: say how many only.
        keyring::Error::Ambiguous(items) => (
            ErrorKind::Secrets,
            format!("{} entries in the OS keychain match {key:?} (while {op} it)", items.len()),
            "remove the duplicates (for example with Seahorse or `secret-tool clear`), then set the password again"
                .to_string(),
        ),
        keyring::Error::NoEntry => (
            ErrorKind::NotFound,
            format!("no entry for {key:?} in the OS keychain"),
            "set the password again".to_string(),
        ),
        other => (
            ErrorKind::Secrets,
            format!("the OS keychain failed {op} {key:?}: {other}"),
            format!("{KEYCHAIN_CHECK} {}", capitalized(&headless_hint(key))),
        ),
    };
    Error::new(kind, redact(message, secret)).with_hint(redact(hint, secret))
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

/// Secrets in a map, for tests (and `OFFSITE_SECRET_STORE=memory`). Its `Debug` shows no values.
#[derive(Default)]
pub struct MemoryStore {
    secrets: Mutex<HashMap<String, String>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding the lock cannot leave the map half-updated: keep using it.
        self.secrets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.map().len())
            .finish()
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        check_key(key)?;
        Ok(self.map().get(key).cloned())
    }
    fn set(&self, key: &str, secret: &str) -> Result<()> {
        check_key(key)?;
        self.map().insert(key.to_string(), secret.to_string());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        self.map().remove(key);
        Ok(())
    }
    fn name(&self) -> &'static str {
        "memory"
    }
}

mod env;
pub use env::{EnvStore, FILE_SUFFIX, MAX_SECRET_FILE};

// ---------------------------------------------------------------------------------------------
// Chain
// ---------------------------------------------------------------------------------------------

/// Several stores in order. `get` returns the first store's secret that exists; a store that
/// fails is skipped, and its error returned only when no later store has the secret (so a missing
/// Secret Service does not stop `PGPASSWORD` from working). `set` and `delete` go to the first
/// store.
pub struct ChainStore(pub Vec<Box<dyn SecretStore>>);

impl ChainStore {
    pub fn new(stores: Vec<Box<dyn SecretStore>>) -> Self {
        ChainStore(stores)
    }

    fn first(&self) -> Result<&dyn SecretStore> {
        self.0
            .first()
            .map(|s| s.as_ref())
            .ok_or_else(|| Error::internal("no secret store is configured (empty chain)"))
    }
}

impl fmt::Debug for ChainStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChainStore")
            .field(&self.0.iter().map(|s| s.name()).collect::<Vec<_>>())
            .finish()
    }
}

impl SecretStore for ChainStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        let mut first_error = None;
        for store in &self.0 {
            match store.get(key) {
                Ok(Some(secret)) => return Ok(Some(secret)),
                Ok(None) => {}
                Err(e) if e.kind() == ErrorKind::InvalidInput => return Err(e),
                Err(e) => {
                    tracing::debug!(
                        store = store.name(),
                        code = e.code(),
                        "secret store failed: {e}"
                    );
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    fn set(&self, key: &str, secret: &str) -> Result<()> {
        self.first()?.set(key, secret)
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.first()?.delete(key)
    }

    fn name(&self) -> &'static str {
        "chain"
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a secret that may not be needed
// ---------------------------------------------------------------------------------------------

/// A secret read for an operation that may work without one (a database that trusts the
/// client, `.pgpass`): see [`lookup`].
pub enum Lookup {
    Found(String),
    /// No store holds it.
    Missing,
    /// The keychain cannot be reached ([`ErrorKind::KeychainUnavailable`]), so whether it holds
    /// the secret is unknown. The error (with its hint) is what to report if the secret turns
    /// out to be needed.
    Unavailable(Error),
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lookup::Found(_) => f.write_str("Found([secret])"),
            Lookup::Missing => f.write_str("Missing"),
            Lookup::Unavailable(e) => f.debug_tuple("Unavailable").field(&e.code()).finish(),
        }
    }
}

/// Read `key` from `store`, treating an unreachable keychain as "unknown" rather than as a
/// failure (every other error, e.g. a damaged entry, is still returned).
pub fn lookup(store: &dyn SecretStore, key: &str) -> Result<Lookup> {
    match store.get(key) {
        Ok(Some(secret)) => Ok(Lookup::Found(secret)),
        Ok(None) => Ok(Lookup::Missing),
        Err(e) if e.kind() == ErrorKind::KeychainUnavailable => Ok(Lookup::Unavailable(e)),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Choosing a store
// ---------------------------------------------------------------------------------------------

/// The store named by `OFFSITE_SECRET_STORE`: `keychain` or unset (the OS keychain, falling back
/// to the environment for reading: `ChainStore[keychain, env]`), `env` or `memory`. An unknown
/// value is logged and treated as `keychain`; use [`store_named`] to reject it instead.
pub fn store_from_env() -> Box<dyn SecretStore> {
    let name = std::env::var(SECRET_STORE_ENV).unwrap_or_default();
    store_named(&name).unwrap_or_else(|e| {
        tracing::warn!("{e}; using the OS keychain");
        store_named("keychain").expect("keychain is a known store")
    })
}

/// The store for a `OFFSITE_SECRET_STORE` value (`""` means `keychain`).
pub fn store_named(name: &str) -> Result<Box<dyn SecretStore>> {
    match name.trim().to_ascii_lowercase().as_str() {
        "" | "keychain" => Ok(Box::new(ChainStore(vec![
            Box::new(KeychainStore::default()),
            Box::new(EnvStore),
        ]))),
        "env" => Ok(Box::new(EnvStore)),
        "memory" => Ok(Box::new(MemoryStore::new())),
        _ => Err(Error::invalid(format!(
            "unknown secret store {name:?} in {SECRET_STORE_ENV}"
        ))
        .with_hint("use keychain, env or memory")),
    }
}

/// Serializes the unit tests (of every module in this crate) that change environment variables.
/// `text` with passwords replaced by `[redacted]`: `secret` (as given and percent-encoded)
/// wherever it appears, the password of any URL (`scheme://user:PASSWORD@host`), a connection
/// string's `password=…` (also `PGPASSWORD=…`), and a SQL `PASSWORD '…'` / `password '…'`
/// (roles, user mappings). PostgreSQL's tools echo statements (`Command was: …`) and connection
/// parameters in their errors; none of that may carry a password into a message.
pub fn redact_secrets(text: &str, secret: Option<&str>) -> String {
    static RULES: std::sync::OnceLock<Vec<(regex::Regex, &'static str)>> =
        std::sync::OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            // scheme://user:password@ (greedy to the last @ of the token: raw @ in a password)
            (
                r#"(?i)\b([a-z][a-z0-9+.-]*://[^:/?#@\s'"]*):[^\s'"]*@"#,
                "$1:[redacted]@",
            ),
            // password=… in a libpq connection string, PGPASSWORD=… in an environment
            (
                r#"(?i)\b(pg)?password\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s'"]+)"#,
                "${1}password=[redacted]",
            ),
            // PASSWORD 'literal' in SQL (CREATE/ALTER ROLE, user mapping OPTIONS)
            (
                r#"(?i)\b(password"?\s+)(?:E|U&)?'(?:[^']|'')*'"#,
                "${1}'[redacted]'",
            ),
        ]
        .into_iter()
        .map(|(re, with)| (regex::Regex::new(re).expect("redaction regex"), with))
        .collect()
    });
    let mut out = text.to_string();
    if let Some(s) = secret.filter(|s| !s.is_empty()) {
        out = out.replace(s, "[redacted]");
        let encoded = percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        if encoded != s {
            out = out.replace(&encoded, "[redacted]");
        }
    }
    for (re, with) in rules {
        if let std::borrow::Cow::Owned(replaced) = re.replace_all(&out, *with) {
            out = replaced;
        }
    }
    out
}

#[cfg(test)]
pub(crate) fn test_env_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
