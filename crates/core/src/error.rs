//! The one public error type of the engine.
//!
//! Every failure carries a machine-readable [`ErrorKind`] (its [`code`](Error::code) is what the
//! UI and scripts switch on), a human message, an optional hint saying what to do next, an
//! optional detail (the server's or tool's own words, which the app shows behind "Details" and
//! the CLI on a line of its own), and whether retrying can help. Messages, hints and details
//! must never contain secrets.
//!
//! The message is one sentence in the app's words ("The database refused the password for user
//! app."), the hint the next step; what the server said ("password authentication failed for
//! user \"app\"", "NoSuchBucket: … (HTTP 404)") goes to the detail, never in place of the message.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// What went wrong, as a category a program can branch on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The caller asked for something malformed (bad URL, unknown option value, ...).
    InvalidInput,
    /// A named thing (project, backup, file) does not exist.
    NotFound,
    /// It already exists (project name taken, destination file present).
    AlreadyExists,
    /// Cannot reach the server (refused, reset, DNS, timeout, TLS handshake), or a remote service
    /// answered with a server error (HTTP 5xx).
    Connection,
    /// The remote service asks us to slow down (HTTP 429, "too many requests"); the error may
    /// carry how long to wait ([`Error::retry_after`]).
    RateLimited,
    /// The server was reached but rejected the credentials.
    Auth,
    /// The role lacks a privilege the operation needs.
    Permission,
    /// A required external tool (pg_dump, pg_restore) is missing or too old.
    ToolMissing,
    /// An external tool ran and failed.
    ToolFailed,
    /// The archive or file is corrupt, truncated or does not match its checksums.
    Integrity,
    /// The file is not an archive Offsite can read (or a newer format version).
    UnsupportedFormat,
    /// An archive member would be written outside the extraction folder, or a symbolic link stands
    /// where a folder or a file should be below a destination or backup folder (never followed).
    UnsafePath,
    /// Another job holds the project's lock.
    Busy,
    /// The job was cancelled by the user.
    Cancelled,
    /// The destination ran out of space.
    DiskFull,
    /// The target is not empty and the caller did not consent to replacing it.
    NeedsConsent,
    /// The restored data does not match what the backup recorded.
    ValidationFailed,
    /// A SQL dump holds statements pg_dump never writes (a program or file on the database
    /// server, `ALTER SYSTEM`, a superuser role, `DO` blocks, …) and the caller did not consent
    /// to running them (`--allow-arbitrary-sql`).
    ArbitrarySql,
    /// An encrypted archive cannot be opened with the key or passphrase given (or none was
    /// given): nobody can open it without the right one.
    WrongKey,
    /// A secret store failed or refused (a damaged or ambiguous keychain entry, a read-only store).
    Secrets,
    /// The OS keychain cannot be reached (no D-Bus session or Secret Service, a locked keychain)
    /// and a secret had to be stored or read there. The hint names the headless alternative
    /// (`OFFSITE_SECRET_STORE=env` and the variable to set).
    KeychainUnavailable,
    /// The local catalog (SQLite) failed.
    Catalog,
    /// Any other local I/O failure.
    Io,
    /// The job's process stopped while it ran (crash, power loss, killed).
    Interrupted,
    /// What is on disk is not what the catalog says (a file replaced, or shared with another
    /// entry); nothing was changed.
    Conflict,
    /// The object is in an archive storage class (S3 `GLACIER`, `DEEP_ARCHIVE`) and cannot be read
    /// until it is restored in the provider (S3's `InvalidObjectState`).
    Archived,
    /// A bug: something that should not happen.
    Internal,
}

impl ErrorKind {
    /// The stable string code used over IPC and in `--json` output.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Connection => "connection",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Auth => "auth",
            ErrorKind::Permission => "permission",
            ErrorKind::ToolMissing => "tool_missing",
            ErrorKind::Conflict => "conflict",
            ErrorKind::ToolFailed => "tool_failed",
            ErrorKind::Integrity => "integrity",
            ErrorKind::UnsupportedFormat => "unsupported_format",
            ErrorKind::UnsafePath => "unsafe_path",
            ErrorKind::Busy => "busy",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::DiskFull => "disk_full",
            ErrorKind::NeedsConsent => "needs_consent",
            ErrorKind::ValidationFailed => "validation_failed",
            ErrorKind::ArbitrarySql => "arbitrary_sql",
            ErrorKind::WrongKey => "wrong_key",
            ErrorKind::Secrets => "secrets",
            ErrorKind::KeychainUnavailable => "keychain_unavailable",
            ErrorKind::Catalog => "catalog",
            ErrorKind::Io => "io",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Archived => "archived",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether trying the same thing again later can succeed.
    pub fn default_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Connection | ErrorKind::RateLimited | ErrorKind::Busy | ErrorKind::DiskFull
        )
    }

    /// Whether a failure of this kind is usually *temporary*: the same call, repeated after a
    /// short wait without anyone changing anything, may succeed (a reset connection, a timeout, a
    /// 5xx, a 429, a busy lock). Everything else is permanent for automatic retries: wrong
    /// credentials, missing privileges, a missing object, bad input, corrupt data, a full disk
    /// (someone has to free space first), a cancel.
    pub fn is_temporary(self) -> bool {
        matches!(
            self,
            ErrorKind::Connection | ErrorKind::RateLimited | ErrorKind::Busy
        )
    }

    /// Every kind, for exhaustive tests and documentation.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::Connection,
        ErrorKind::RateLimited,
        ErrorKind::Auth,
        ErrorKind::Permission,
        ErrorKind::ToolMissing,
        ErrorKind::ToolFailed,
        ErrorKind::Integrity,
        ErrorKind::UnsupportedFormat,
        ErrorKind::UnsafePath,
        ErrorKind::Busy,
        ErrorKind::Cancelled,
        ErrorKind::DiskFull,
        ErrorKind::NeedsConsent,
        ErrorKind::ValidationFailed,
        ErrorKind::ArbitrarySql,
        ErrorKind::WrongKey,
        ErrorKind::Secrets,
        ErrorKind::KeychainUnavailable,
        ErrorKind::Catalog,
        ErrorKind::Io,
        ErrorKind::Interrupted,
        ErrorKind::Conflict,
        ErrorKind::Archived,
        ErrorKind::Internal,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The engine's error: kind, message, hint, retryable (and, for rate limits, how long the server
/// asked us to wait).
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    /// The server's or tool's own words, for "Details" (never the message itself).
    detail: Option<String>,
    retryable: bool,
    /// Temporary or permanent for automatic retries; defaults to [`ErrorKind::is_temporary`].
    temporary: bool,
    retry_after: Option<Duration>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            detail: None,
            retryable: kind.default_retryable(),
            temporary: kind.is_temporary(),
            retry_after: None,
        }
    }
    /// A rate limit (HTTP 429): temporary, optionally with the server's `Retry-After`.
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        Self::new(ErrorKind::RateLimited, message)
            .with_retry_after(retry_after)
            .with_hint(
                "the service limits how often it may be asked; Offsite waits and tries again",
            )
    }
    /// Carry how long the server asked us to wait before trying again (`Retry-After`).
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }
    /// Override whether automatic retries should try again (e.g. a `Connection` error from a TLS
    /// certificate problem is permanent: waiting does not fix a certificate).
    pub fn temporary(mut self, temporary: bool) -> Self {
        self.temporary = temporary;
        self
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Keep the server's or tool's own words (already redacted) for "Details".
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        self.detail = (!detail.trim().is_empty()).then_some(detail);
        self
    }
    /// Whether trying again (by hand, later) can help. Not retryable also means not temporary:
    /// automatic retries never repeat what a person could not fix by trying again.
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        if !retryable {
            self.temporary = false;
        }
        self
    }
    /// Prefix the message with context ("backing up shop: ...").
    /// The message, then what else happened because of it ("…; the new database was removed
    /// again").
    pub fn also(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{}; {what}", self.message);
        self
    }
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
    /// The server's or tool's own words, when the message puts them in the app's words.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
    /// Whether an automatic retry after a short wait may succeed (see
    /// [`ErrorKind::is_temporary`]). Retry wrappers retry only these.
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }
    /// How long the server asked us to wait before the next try, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn integrity(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Integrity, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, "cancelled")
            .with_hint("nothing was kept; run it again when ready")
    }

    /// An I/O error with what we were doing; ENOSPC becomes [`ErrorKind::DiskFull`].
    pub fn io(what: impl fmt::Display, e: std::io::Error) -> Self {
        if is_disk_full(&e) {
            return Self::new(
                ErrorKind::DiskFull,
                format!("{what}: no space left on device"),
            )
            .with_hint("free some space or choose another destination folder, then try again");
        }
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::Permission,
            std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            std::io::ErrorKind::UnexpectedEof => ErrorKind::Integrity,
            // Network I/O (a remote source or destination): temporary.
            std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::NotConnected
            | std::io::ErrorKind::TimedOut => ErrorKind::Connection,
            _ => ErrorKind::Io,
        };
        Self::new(kind, format!("{what}: {e}"))
    }
}

/// True when the error (or anything wrapped inside it) is ENOSPC / "storage full".
pub fn is_disk_full(e: &std::io::Error) -> bool {
    if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
        return true;
    }
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<std::io::Error>())
        .is_some_and(is_disk_full)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::new(ErrorKind::Catalog, format!("catalog migration failed: {e}"))
            .with_hint("the catalog may be from a newer Offsite; upgrade Offsite or point --data-dir elsewhere")
    }
}

/// The shape an error takes over IPC and in `--json` output. `code` serialises to the same
/// snake_case string as [`ErrorKind::code`] (the generated TypeScript type is the union of the
/// kinds).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ErrorPayload {
    pub code: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
    /// The server's or tool's own words, shown behind "Details" (absent when the message says
    /// everything).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(optional))]
    pub detail: Option<String>,
    pub retryable: bool,
}

impl From<&Error> for ErrorPayload {
    fn from(e: &Error) -> Self {
        ErrorPayload {
            code: e.kind,
            message: e.message.clone(),
            hint: e.hint.clone(),
            detail: e.detail.clone(),
            retryable: e.retryable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_becomes_disk_full() {
        let e = Error::io("writing archive", std::io::Error::from_raw_os_error(28));
        assert_eq!(e.kind(), ErrorKind::DiskFull);
        assert!(e.is_retryable());
        assert!(e.hint().unwrap().contains("free some space"));
        let wrapped = std::io::Error::other(std::io::Error::from_raw_os_error(28));
        assert!(is_disk_full(&wrapped));
    }

    #[test]
    fn payload_carries_code_message_hint() {
        let e = Error::new(ErrorKind::Auth, "password rejected").with_hint("update the password");
        let p = ErrorPayload::from(&e);
        assert_eq!(p.code, ErrorKind::Auth);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["code"], "auth");
        assert_eq!(p.message, "password rejected");
        assert_eq!(p.hint.as_deref(), Some("update the password"));
        assert!(!p.retryable);
    }

    #[test]
    fn every_kinds_serde_string_is_its_code() {
        for &kind in ErrorKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(
                json,
                serde_json::Value::String(kind.code().into()),
                "{kind:?}"
            );
            let back: ErrorKind = serde_json::from_value(json).unwrap();
            assert_eq!(back, kind);
            assert_eq!(kind.to_string(), kind.code());
        }
        assert_eq!(
            serde_json::to_value(ErrorKind::KeychainUnavailable).unwrap(),
            "keychain_unavailable"
        );
        // Every code is distinct.
        let codes: std::collections::BTreeSet<_> =
            ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn temporary_and_permanent() {
        for kind in [
            ErrorKind::Connection,
            ErrorKind::RateLimited,
            ErrorKind::Busy,
        ] {
            assert!(Error::new(kind, "x").is_temporary(), "{kind:?}");
        }
        for kind in [
            ErrorKind::Auth,
            ErrorKind::Permission,
            ErrorKind::NotFound,
            ErrorKind::InvalidInput,
            ErrorKind::Integrity,
            ErrorKind::Cancelled,
            ErrorKind::DiskFull,
            ErrorKind::KeychainUnavailable,
        ] {
            assert!(!Error::new(kind, "x").is_temporary(), "{kind:?}");
            assert!(
                !Error::new(kind, "x").is_retryable() || kind == ErrorKind::DiskFull,
                "{kind:?}"
            );
        }
        for io in [
            std::io::ErrorKind::ConnectionReset,
            std::io::ErrorKind::TimedOut,
        ] {
            let e = Error::io("uploading", std::io::Error::from(io));
            assert_eq!(e.kind(), ErrorKind::Connection);
            assert!(e.is_temporary());
        }
        assert!(!Error::io("reading", std::io::Error::other("bad sector")).is_temporary());
        // A TLS certificate problem is a connection error, but waiting does not fix it.
        assert!(!Error::new(ErrorKind::Connection, "tls")
            .temporary(false)
            .is_temporary());
        let e = Error::rate_limited("429 from api", Some(Duration::from_secs(7)));
        assert_eq!(e.code(), "rate_limited");
        assert!(e.is_temporary() && e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(ErrorPayload::from(&e).code, ErrorKind::RateLimited);
    }
}
