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

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/// Read-only secrets from the environment, for headless use.
///
/// `get(key)` returns `$OFFSITE_PASSWORD_<KEY>` (see [`env_var_for_key`]) when set; otherwise the
/// file `$OFFSITE_PASSWORD_<KEY>_FILE` names (see [`FILE_SUFFIX`]); otherwise the
/// secret's documented variable ([`shared_env_for_key`]): for a database-password key
/// (`…:db-password`, see [`project_password_key`]) `$PGPASSWORD`, for an S3 secret
/// `$OFFSITE_S3_SECRET_ACCESS_KEY`, and so on. Other keys (not database passwords) never get
/// `PGPASSWORD`. Empty variables count as unset. A write is accepted only when the environment
/// already gives the key that very secret.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EnvStore;

impl EnvStore {
    pub fn new() -> Self {
        EnvStore
    }
}

fn read_env(var: &str) -> Result<Option<String>> {
    match std::env::var_os(var) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v.into_string().map(Some).map_err(|_| {
            Error::new(
                ErrorKind::Secrets,
                format!("the environment variable {var} is not valid UTF-8"),
            )
            .with_hint(format!("set {var} to the password as UTF-8 text"))
        }),
    }
}

/// The suffix of a per-key variable that names a file holding the secret instead
/// (`OFFSITE_PASSWORD_…_FILE=/run/secrets/…`): the file must be the caller's alone (mode 0600
/// or stricter, on Unix), and at most [`MAX_SECRET_FILE`] bytes.
pub const FILE_SUFFIX: &str = "_FILE";
/// The largest secret file read (an age identity file with many keys fits many times over).
pub const MAX_SECRET_FILE: u64 = 64 * 1024;

/// The secret in the file `$<var>_FILE` names, when set: its text without the trailing line
/// break. A file others may read (group or world bits on Unix), a link, or a larger one is
/// refused, naming the file (never its content).
fn read_env_file(var: &str) -> Result<Option<String>> {
    use std::io::Read;
    let file_var = format!("{var}{FILE_SUFFIX}");
    let Some(path) = read_env(&file_var)? else {
        return Ok(None);
    };
    let path = std::path::PathBuf::from(path);
    let refuse = |why: String| {
        Error::new(
            ErrorKind::Secrets,
            format!("the secret file {} ({file_var}) {why}", path.display()),
        )
    };
    let meta =
        std::fs::symlink_metadata(&path).map_err(|e| refuse(format!("cannot be read: {e}")))?;
    if !meta.is_file() {
        return Err(refuse("is not a regular file".into()));
    }
    // Owner-only, read back the same way on every OS (mode bits; Windows: the DACL).
    match crate::private_fs::is_private(&path) {
        Ok(true) => {}
        Ok(false) => {
            return Err(refuse("may be read by others".into()).with_hint(format!(
                "give it {} (only you may read it)",
                crate::private_fs::private_words(false)
            )))
        }
        Err(e) => return Err(refuse(format!("cannot be read: {e}"))),
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(refuse(format!(
            "is larger than {} KiB",
            MAX_SECRET_FILE / 1024
        )));
    }
    let mut text = String::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_SECRET_FILE).read_to_string(&mut text))
        .map_err(|e| refuse(format!("cannot be read as text: {e}")))?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok((!text.is_empty()).then(|| text.to_string()))
}

impl SecretStore for EnvStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        check_key(key)?;
        let var = env_var_for_key(key);
        if let Some(secret) = read_env(&var)? {
            return Ok(Some(secret));
        }
        if let Some(secret) = read_env_file(&var)? {
            return Ok(Some(secret));
        }
        match shared_env_for_key(key) {
            Some(var) => read_env(var),
            None => Ok(None),
        }
    }

    /// Read-only: a write succeeds only when the environment already gives `key` exactly this
    /// secret (a `project add` handed the secret its variable holds), so nothing is lost.
    fn set(&self, key: &str, secret: &str) -> Result<()> {
        check_key(key)?;
        if self.get(key)?.as_deref() == Some(secret) {
            return Ok(());
        }
        let shared = shared_env_for_key(key)
            .map(|v| format!(" (or {v})"))
            .unwrap_or_default();
        let hint = if key.ends_with(DB_PASSWORD_SUFFIX) {
            format!(
                "set {}{shared} for a database password in the environment instead, \
                 or use {SECRET_STORE_ENV}=keychain to save it in the OS keychain",
                env_var_for_key(key)
            )
        } else {
            format!(
                "set {}{shared} in the environment instead, or use {SECRET_STORE_ENV}=keychain \
                 to save it in the OS keychain",
                env_var_for_key(key)
            )
        };
        Err(Error::new(ErrorKind::Secrets, "the environment store is read-only").with_hint(hint))
    }

    fn delete(&self, key: &str) -> Result<()> {
        check_key(key)
    }

    fn name(&self) -> &'static str {
        "env"
    }
}

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
mod tests {
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
            Err(Error::new(ErrorKind::KeychainUnavailable, "no keychain")
                .with_hint(headless_hint("k")))
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
            hint.contains("OFFSITE_PASSWORD_PROJECT_SHOP_DB_PASSWORD")
                && hint.contains("PGPASSWORD"),
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
        let locked = keyring::Error::NoStorageAccess(Box::new(std::io::Error::other(
            "collection is locked",
        )));
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
}
