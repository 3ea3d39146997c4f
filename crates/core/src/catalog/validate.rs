//! What the catalog accepts: project names, database URLs (never with a password), TLS modes,
//! backup types and checksums. Errors quote at most 80 characters of what was given, and never a
//! URL (it may hold a password).

use crate::error::{Error, Result};
pub use crate::postgres::conn::validate_db_url;

/// The TLS modes a project may have (libpq's `sslmode` values Offsite supports).
pub const TLS_MODES: &[&str] = &["disable", "prefer", "require", "verify-full"];

/// The backup types of the archive format.
pub const BACKUP_TYPES: &[&str] = &["full", "database", "storage", "config", "incremental"];

/// The characters a project name may use, as said in error messages.
const NAME_RULE: &str =
    "use 1 to 64 characters from A-Z, a-z, 0-9, underscore (_), hyphen (-) and dot (.), not starting with a dot or hyphen";

/// Check a project name: 1–64 characters from `A-Za-z0-9_-.`, not starting with `.` or `-`
/// (names become file names and command-line arguments).
pub fn validate_project_name(name: &str) -> Result<()> {
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if name.is_empty() || name.len() > 64 || !chars_ok || name.starts_with(['.', '-']) {
        return Err(
            Error::invalid(format!("invalid project name {:?}", shorten(name)))
                .with_hint(NAME_RULE),
        );
    }
    Ok(())
}

/// Check a value against a closed list (`what`: "TLS mode", "backup type").
fn one_of(value: &str, allowed: &[&str], what: &str) -> Result<()> {
    if !allowed.contains(&value) {
        return Err(
            Error::invalid(format!("unknown {what} {:?}", shorten(value)))
                .with_hint(format!("use one of: {}", allowed.join(", "))),
        );
    }
    Ok(())
}

/// Check a TLS mode: one of [`TLS_MODES`].
pub(super) fn validate_tls_mode(tls_mode: &str) -> Result<()> {
    one_of(tls_mode, TLS_MODES, "TLS mode")
}

/// Check a backup type: one of [`BACKUP_TYPES`].
pub(super) fn validate_backup_type(backup_type: &str) -> Result<()> {
    one_of(backup_type, BACKUP_TYPES, "backup type")
}

/// Check a SHA-256 checksum (64 hex digits); returns it in lower case.
pub(super) fn validate_sha256(sha256: &str) -> Result<String> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(
            Error::invalid(format!("not a SHA-256 checksum: {:?}", shorten(sha256)))
                .with_hint("give the 64 hexadecimal digits of the archive's SHA-256"),
        );
    }
    Ok(sha256.to_ascii_lowercase())
}

pub(super) use crate::words::shorten;

/// `Some` only for a value that is not blank (a blank folder means "the default").
pub(super) fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use crate::catalog::testing::{catalog, new_project};
    use crate::error::ErrorKind;

    #[tokio::test]
    async fn invalid_project_names_are_rejected() {
        let c = catalog().await;
        let long = "a".repeat(65);
        for name in [
            "",
            "has space",
            "slash/name",
            "ünïcode",
            ".hidden",
            "-flag",
            "semi;colon",
            long.as_str(),
        ] {
            let e = c.add_project(&new_project(name)).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name:?}");
            let hint = e.hint().unwrap();
            assert!(
                hint.contains("A-Z, a-z, 0-9") && hint.contains("1 to 64"),
                "{hint}"
            );
        }
        c.add_project(&new_project(&"a".repeat(64))).await.unwrap();
        c.add_project(&new_project("a")).await.unwrap();
    }

    #[tokio::test]
    async fn urls_with_passwords_are_rejected_without_repeating_them() {
        let c = catalog().await;
        for url in [
            "postgres://user:s3cr3t-pw@db.example.com/postgres",
            "postgresql://user:s3cr3t-pw@db.example.com:6543/postgres?sslmode=require",
            "postgres://user@db.example.com/postgres?password=s3cr3t-pw",
        ] {
            let mut np = new_project("p");
            np.db_url = url.to_string();
            let e = c.add_project(&np).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{url}");
            assert!(e.message().contains("password"), "{e}");
            assert!(!e.message().contains("s3cr3t") && !e.hint().unwrap_or("").contains("s3cr3t"));
        }
        assert!(c.projects().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn bad_urls_and_tls_modes_are_rejected() {
        let c = catalog().await;
        for url in ["not a url", "mysql://user@host/db", "https://example.com"] {
            let mut np = new_project("p");
            np.db_url = url.to_string();
            assert_eq!(
                c.add_project(&np).await.unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{url}"
            );
        }
        let mut np = new_project("p");
        np.tls_mode = "sometimes".into();
        let e = c.add_project(&np).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.hint().unwrap().contains("verify-full"));
        // A URL without a password, with an empty password, or with sslmode, is fine.
        for (i, url) in [
            "postgres://u@h/db",
            "postgres://u:@h/db",
            "postgresql://u@h:6543/db?sslmode=require",
        ]
        .into_iter()
        .enumerate()
        {
            let mut np = new_project(&format!("ok{i}"));
            np.db_url = url.to_string();
            c.add_project(&np).await.unwrap();
        }
    }
}
