//! What a project's database is, as people give it (a URL or its parts), and the check of a URL
//! the catalog keeps (never with a password).

use super::{ConnSpec, TlsMode};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Where a database is: a URL, or its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename = "Connection", rename_all = "snake_case")]
pub enum ProjectConnection {
    /// A libpq URL: `postgres://USER@HOST:PORT/DATABASE[?sslmode=…]`, or with a socket folder
    /// `postgresql://USER@/DATABASE?host=/var/run/postgresql` (a password in it is moved to the
    /// keychain and stripped).
    Url(String),
    /// `host` is a host name, an IP address, or a Unix socket folder (an absolute path).
    Fields {
        host: String,
        port: Option<u16>,
        user: String,
        database: String,
    },
}

impl ProjectConnection {
    /// The connection (with `tls`, when given, over the URL's sslmode) and a password the URL
    /// carried.
    pub fn parse(&self, tls: Option<TlsMode>) -> Result<(ConnSpec, Option<String>)> {
        let (mut spec, pw) = match self {
            ProjectConnection::Url(url) => ConnSpec::parse_url(url)?,
            ProjectConnection::Fields {
                host,
                port,
                user,
                database,
            } => {
                if host.trim().is_empty() || user.trim().is_empty() || database.trim().is_empty() {
                    return Err(Error::invalid("host, user and database are required")
                        .with_hint("fill in the host, user and database name"));
                }
                let spec = ConnSpec {
                    host: host.trim().to_string(),
                    port: port.unwrap_or(5432),
                    user: user.trim().to_string(),
                    database: database.trim().to_string(),
                    tls: TlsMode::default(),
                    ca_file: None,
                };
                (spec, None)
            }
        };
        if let Some(tls) = tls {
            spec.tls = tls;
            if tls != TlsMode::VerifyFull {
                // The URL's certificate authority means nothing without verify-full.
                spec.ca_file = None;
            }
        }
        // A host that cannot be connected to exactly as written (a name with spaces, a relative
        // path, TLS over a socket) is refused, never replaced by something else.
        spec.validate()?;
        Ok((spec, pw))
    }

    /// The database for people: "DATABASE on HOST" ("a database" for a URL that does not parse).
    pub fn label(&self) -> String {
        match self {
            ProjectConnection::Url(url) => ConnSpec::parse_url(url)
                .map(|(spec, _)| format!("{} on {}", spec.database, spec.host))
                .unwrap_or_else(|_| "a database".to_string()),
            ProjectConnection::Fields { host, database, .. } => format!("{database} on {host}"),
        }
    }
}

impl Default for ProjectConnection {
    fn default() -> Self {
        ProjectConnection::Url(String::new())
    }
}

/// Check a database URL for the catalog: a libpq URL Offsite can connect to exactly as written
/// (see [`ConnSpec::parse_url`]), without a password. Returns it trimmed. The error never repeats
/// the URL (it may hold a password).
pub fn validate_db_url(db_url: &str) -> Result<String> {
    let (_, password) = ConnSpec::parse_url(db_url)?;
    if password.is_some() {
        return Err(Error::invalid(
            "the database URL contains a password; Offsite keeps passwords in the OS keychain, never in its catalog",
        )
        .with_hint("remove the password from the URL (postgres://USER@HOST:5432/DATABASE) and give it separately"));
    }
    Ok(db_url.trim().to_string())
}
