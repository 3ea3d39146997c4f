//! PostgreSQL connection specs: parsing URLs, TLS modes, connecting, testing a connection.
//!
//! A [`ConnSpec`] never holds a password: passwords live in the [`crate::secrets`] store and are
//! handed in separately when connecting.

use crate::error::{Error, ErrorKind, Result};
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection, Row};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub mod project;
mod refused;
pub use refused::login_refused;
pub mod url;

pub use project::{validate_db_url, ProjectConnection};

/// TLS mode, with libpq's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Never use TLS.
    Disable,
    /// Use TLS when the server offers it (libpq's default).
    #[default]
    Prefer,
    /// Require TLS, do not check the certificate.
    Require,
    /// Require TLS and check the certificate chain and host name.
    VerifyFull,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

impl FromStr for TlsMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "disable" => TlsMode::Disable,
            "prefer" | "" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-full" => TlsMode::VerifyFull,
            other => {
                return Err(Error::invalid(format!("unknown TLS mode {other:?}"))
                    .with_hint("use one of: disable, prefer, require, verify-full"))
            }
        })
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The hint of a rejected database password (or user name). Whose password it is, and where it
/// comes from, only the engine knows: it replaces this hint for a saved project's connection
/// ([`crate::ops::password_hint`]).
pub const DB_AUTH_HINT: &str = "Check the user name, then enter the password again.";

/// Where a database is, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConnSpec {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    pub tls: TlsMode,
    /// The certificate authority that must have signed the server's certificate (a PEM file,
    /// an absolute path; the URL's `sslrootcert`), with `verify-full`. `None`: the system's
    /// trusted roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

impl ConnSpec {
    /// Parse a libpq connection URL: `postgres[ql]://[USER[:PASSWORD]@][HOST][:PORT][/DATABASE]
    /// [?host=…&port=…&dbname=…&user=…&sslmode=…]`, where a host that is an absolute path
    /// (`?host=/var/run/postgresql`, or `%2Fvar%2Frun%2Fpostgresql` in the address) is a Unix
    /// socket folder. Returns the spec and the password if the URL carried one (the caller moves
    /// it into the keychain). Anything Offsite would not honour exactly is refused
    /// (`invalid_input` naming it): see [`url`].
    pub fn parse_url(input: &str) -> Result<(ConnSpec, Option<String>)> {
        url::parse(input)
    }

    /// The canonical URL without any password (what the catalog stores and the UI shows):
    /// `postgres://USER@HOST:PORT/DATABASE[?sslmode=…]`, or for a socket folder
    /// `postgres://USER@/DATABASE?host=/FOLDER&port=PORT[&sslmode=…]`.
    /// `parse_url(&spec.to_url())` gives `spec` back.
    pub fn to_url(&self) -> String {
        url::format(self)
    }

    /// Whether the host is a Unix socket folder (an absolute path), as libpq decides.
    pub fn is_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    /// Refuse what cannot be connected to exactly as written: a host that is neither a host
    /// name, an IP address nor an absolute socket folder; a socket path too long for a Unix
    /// socket; `require`/`verify-full` over a socket (never encrypted: libpq would silently
    /// connect without TLS); an empty user or database; port 0.
    pub fn validate(&self) -> Result<()> {
        url::validate(self)
    }

    /// The database as a libpq conninfo string (`dbname='…'`), for a tool's `--dbname`/`-l`:
    /// libpq reads a bare name containing `=` or starting with `postgres://` as connection
    /// settings, which could point the tool at another server than sqlx connects to.
    pub fn dbname_conninfo(&self) -> String {
        format!(
            "dbname='{}'",
            self.database.replace('\\', "\\\\").replace('\'', "\\'")
        )
    }

    /// Where the server is, for messages: `HOST:PORT`, or the socket file.
    pub fn location(&self) -> String {
        if self.is_socket() {
            format!("{}/.s.PGSQL.{}", self.host.trim_end_matches('/'), self.port)
        } else if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The same server, another database.
    pub fn with_database(&self, database: &str) -> ConnSpec {
        ConnSpec {
            database: database.to_string(),
            ..self.clone()
        }
    }

    fn connect_options(&self, password: Option<&str>) -> PgConnectOptions {
        let o = PgConnectOptions::new();
        let o = if self.is_socket() {
            o.socket(&self.host)
        } else {
            o.host(&self.host)
        };
        // No TLS over a socket (as libpq): `validate` refuses the modes that would need it.
        let tls = if self.is_socket() {
            TlsMode::Disable
        } else {
            self.tls
        };
        let mut o = o
            .port(self.port)
            .username(&self.user)
            .database(&self.database)
            .application_name("offsite")
            .ssl_mode(match tls {
                TlsMode::Disable => PgSslMode::Disable,
                TlsMode::Prefer => PgSslMode::Prefer,
                TlsMode::Require => PgSslMode::Require,
                TlsMode::VerifyFull => PgSslMode::VerifyFull,
            })
            .log_statements(tracing::log::LevelFilter::Trace);
        if let (TlsMode::VerifyFull, Some(ca)) = (tls, &self.ca_file) {
            o = o.ssl_root_cert(ca.as_str());
        }
        if let Some(p) = password {
            o = o.password(p);
        }
        o
    }

    /// Open one connection (10 s timeout) with the driver's own error, for a caller that decides
    /// by the server's error code (a missing database); a timeout is an I/O error.
    pub async fn connect_raw(
        &self,
        password: Option<&str>,
    ) -> std::result::Result<PgConnection, sqlx::Error> {
        self.open(password).await.unwrap_or_else(|| {
            Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("timed out connecting to {}", self.location()),
            )))
        })
    }

    /// One connection with its search path fixed; `None`: no answer within 10 s.
    async fn open(
        &self,
        password: Option<&str>,
    ) -> Option<std::result::Result<PgConnection, sqlx::Error>> {
        let opts = self.connect_options(password);
        let opened =
            tokio::time::timeout(Duration::from_secs(10), PgConnection::connect_with(&opts))
                .await
                .ok()?;
        Some(match opened {
            Ok(mut c) => fix_search_path(&mut c).await.map(|_| c),
            Err(e) => Err(e),
        })
    }

    /// Open one connection (10 s timeout), with errors mapped to Connection/Auth/NotFound.
    pub async fn connect(&self, password: Option<&str>) -> Result<PgConnection> {
        match self.open(password).await {
            Some(opened) => opened.map_err(|e| self.map_sqlx(e)),
            None => Err(Error::new(
                ErrorKind::Connection,
                format!("timed out connecting to {}", self.location()),
            )
            .with_hint("check the host and port, and that a firewall allows the connection")),
        }
    }

    /// Environment for libpq tools (pg_dump, pg_restore, psql). The password goes through the
    /// environment, never the command line.
    pub fn libpq_env(&self, password: Option<&str>) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PGHOST", self.host.clone()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", self.user.clone()),
            ("PGDATABASE", self.database.clone()),
            ("PGSSLMODE", self.tls.as_str().to_string()),
            ("PGCONNECT_TIMEOUT", "10".to_string()),
            ("PGAPPNAME", "offsite".to_string()),
        ];
        // verify-full: the project's CA, else the system's roots as a bundle file (libpq 15
        // has no `sslrootcert=system`, and without a root file it refuses verify-full) — the
        // same roots sqlx checks against.
        if self.tls == TlsMode::VerifyFull && !self.is_socket() {
            if let Some(ca) = self.ca_file.clone().or_else(system_ca_bundle) {
                env.push(("PGSSLROOTCERT", ca));
            }
        }
        if let Some(p) = password {
            env.push(("PGPASSWORD", p.to_string()));
        }
        env
    }

    /// Map a driver error to the engine's error, naming the server but never the password.
    pub fn map_sqlx(&self, e: sqlx::Error) -> Error {
        let at = format!("{}@{}/{}", self.user, self.location(), self.database);
        match &e {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                match code.as_str() {
                    "28P01" | "28000" => login_refused(Some(&self.user), db.message().to_string()),
                    "3D000" => Error::new(ErrorKind::NotFound, format!("database does not exist: {at}"))
                        .with_hint("create it first (createdb) or fix the database name in the URL"),
                    "42501" => Error::new(ErrorKind::Permission, format!("permission denied on {at}: {}", db.message()))
                        .with_hint("grant the role the needed privileges or connect as the database owner"),
                    "57P01" | "57P02" | "57P03" | "53300" => Error::new(
                        ErrorKind::Connection,
                        format!("the server at {at} is not accepting connections: {}", db.message()),
                    )
                    .with_hint("wait until the server is up and try again"),
                    _ => Error::new(ErrorKind::ToolFailed, format!("server error on {at}: {} ({code})", db.message())),
                }
            }
            sqlx::Error::Tls(t) => Error::new(ErrorKind::Connection, format!("TLS failed with {at}: {t}"))
                .with_hint(TLS_HINT)
                .retryable(false),
            // Without TLS the driver reads the answer's first bytes as a message length ("TTP/"
            // of "HTTP/1.1": 1.4 GB), more than any PostgreSQL message (1 GB at most).
            sqlx::Error::Io(io) if not_a_postgres_length(&io.to_string()) => {
                self.not_postgres(io.to_string())
            }
            sqlx::Error::Io(io) if is_tls_failure(&io.to_string()) => Error::new(
                ErrorKind::Connection,
                format!("TLS failed with {at}: {io}"),
            )
            .with_hint(TLS_HINT)
            .retryable(false),
            sqlx::Error::Io(io) if self.is_socket() => Error::new(ErrorKind::Connection, format!("cannot reach {at}: {io}"))
                .with_hint("check the socket folder and port: the server must be running with this folder in its unix_socket_directories, and you must be allowed to open it"),
            sqlx::Error::Io(io) => Error::new(ErrorKind::Connection, format!("cannot reach {at}: {io}"))
                .with_hint("check the host and port, that the server is running, and that it accepts TCP connections from here"),
            // Something else answers there (a web server: "unexpected response from
            // SSLRequest: 0x48", the H of "HTTP/1.1"): said plainly, the driver's words kept as
            // the detail.
            sqlx::Error::Protocol(p) => self.not_postgres(p.clone()),
            sqlx::Error::Configuration(c) => Error::invalid(format!("bad connection settings for {at}: {c}")),
            sqlx::Error::PoolTimedOut => Error::new(ErrorKind::Connection, format!("timed out connecting to {at}")),
            other => Error::new(ErrorKind::Connection, format!("connection to {at} failed: {other}")),
        }
    }
}

impl ConnSpec {
    /// The error of a port where something other than PostgreSQL answers.
    fn not_postgres(&self, driver_said: String) -> Error {
        Error::new(
            ErrorKind::Connection,
            format!(
                "{} did not answer as a PostgreSQL server does: something else is listening on that port",
                self.location()
            ),
        )
        .with_hint("check the host and port of the database (PostgreSQL listens on 5432 by default; a Supabase pooler on 6543 or 5432)")
        .with_detail(driver_said)
        .retryable(false)
    }
}

/// The driver's "expected to read N bytes, got M bytes at EOF" with N above PostgreSQL's
/// largest message (1 GB): the bytes read as a length were not PostgreSQL's.
fn not_a_postgres_length(text: &str) -> bool {
    text.strip_prefix("expected to read ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .is_some_and(|n| n > 0x4000_0000)
}

/// The `search_path` of every session Offsite opens ([`ConnSpec::connect`]): the server's own
/// catalog first, the session's temporary objects last, no schema a user can create in.
pub const FIXED_SEARCH_PATH: &str = "pg_catalog, pg_temp";

/// Back to the path the role has in this database (`ALTER ROLE/DATABASE … SET`, the server's
/// configuration) for the rest of the transaction: a statement, no function call.
pub const USERS_SEARCH_PATH: &str = "SET LOCAL search_path TO DEFAULT";

/// Sets [`FIXED_SEARCH_PATH`] with a fully qualified call, the first statement of every session:
/// a role, or the database's owner, may have set a path (`ALTER ROLE/DATABASE … SET
/// search_path = public, pg_catalog`) that puts a schema it can create in before `pg_catalog`,
/// and planted `public.=(oid, oid)` or `public.quote_ident(text)` there, which Offsite's own
/// unqualified queries would then call with Offsite's rights. Not a startup option (`-c
/// search_path=…`): poolers (PgBouncer) refuse one — and so the target's own path stays the
/// session's default: statements that must run in it (a recovery's writes, whose triggers may
/// name their tables unqualified) take it back for their transaction with [`USERS_SEARCH_PATH`]
/// and name everything of their own qualified.
pub async fn fix_search_path(conn: &mut PgConnection) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_catalog.set_config('search_path', $1, false)")
        .bind(FIXED_SEARCH_PATH)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Pin a session's `search_path` to `''` (only `pg_catalog`, and `pg_temp` for relations) with
/// a fully qualified call: after it, an unqualified function, operator or type in Offsite's own
/// queries cannot resolve to something a role with CREATE on a schema planted there, whatever
/// the role's or database's default path says. For the sessions that only read (diff against a
/// live database, drill content checks).
pub async fn pin_search_path(conn: &mut PgConnection) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_catalog.set_config('search_path', '', false)")
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

const TLS_HINT: &str = "with verify-full the server's certificate must be signed by a trusted authority (the system's, or the sslrootcert file in the URL) and name the host; a Supabase project's is signed by Supabase's own CA: download it (dashboard, Database settings, SSL configuration) and give it with --supabase-ca FILE (or sslrootcert=FILE in the URL), or choose sslmode=require explicitly to encrypt without checking the server";

/// Where the system's trusted roots are, as one PEM bundle (Debian/Ubuntu, Fedora/RHEL,
/// openSUSE, Alpine, macOS); `SSL_CERT_FILE` first.
pub fn system_ca_bundle() -> Option<String> {
    std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|p| !p.is_empty())
        .into_iter()
        .chain(
            [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/ca-bundle.pem",
                "/etc/ssl/cert.pem",
            ]
            .map(String::from),
        )
        .find(|p| std::path::Path::new(p).is_file())
}

/// rustls reports certificate problems as I/O errors.
fn is_tls_failure(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["certificate", "tls", "handshake", "unknownissuer"]
        .iter()
        .any(|n| t.contains(n))
}

/// Facts about a server, read over a live connection.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    /// e.g. "15.18"
    pub version: String,
    /// e.g. 150018
    pub version_num: u32,
    pub database_size: u64,
    pub encoding: String,
    pub current_user: String,
    pub superuser: bool,
}

impl ServerInfo {
    pub fn major(&self) -> u32 {
        self.version_num / 10000
    }
}

pub async fn server_info(conn: &mut PgConnection, spec: &ConnSpec) -> Result<ServerInfo> {
    let row = sqlx::query(
        "SELECT current_setting('server_version'), current_setting('server_version_num')::int4,
                pg_database_size(current_database())::int8, pg_encoding_to_char(d.encoding)::text,
                current_user::text, r.rolsuper
           FROM pg_database d, pg_roles r
          WHERE d.datname = current_database() AND r.rolname = current_user",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    let version: String = row.get(0);
    Ok(ServerInfo {
        // "15.18 (Debian 15.18-0+deb12u1)" → "15.18"
        version: version
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        version_num: row.get::<i32, _>(1) as u32,
        database_size: row.get::<i64, _>(2) as u64,
        encoding: row.get(3),
        current_user: row.get(4),
        superuser: row.get(5),
    })
}

/// Objects a dump must read that the role cannot.
pub async fn unreadable_objects(conn: &mut PgConnection, spec: &ConnSpec) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT format('schema %I', n.nspname) FROM pg_namespace n
          WHERE n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_%'
            AND NOT has_schema_privilege(n.oid, 'USAGE')
         UNION ALL
         SELECT format('%s %I.%I', CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, n.nspname, c.relname)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r','p','S','m') AND n.nspname NOT IN ('pg_catalog','information_schema')
            AND n.nspname NOT LIKE 'pg\\_%' AND NOT has_table_privilege(c.oid, 'SELECT')
         ORDER BY 1 LIMIT 200",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| spec.map_sqlx(e))?;
    Ok(rows.into_iter().map(|r| r.get::<String, _>(0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_url_and_strips_password() {
        let (spec, pw) = ConnSpec::parse_url(
            "postgresql://app%40x:s%3Acret@db.example.com:6543/my%20db?sslmode=verify-full",
        )
        .unwrap();
        assert_eq!(spec.user, "app@x");
        assert_eq!(pw.as_deref(), Some("s:cret"));
        assert_eq!(spec.host, "db.example.com");
        assert_eq!(spec.port, 6543);
        assert_eq!(spec.database, "my db");
        assert_eq!(spec.tls, TlsMode::VerifyFull);
        let url = spec.to_url();
        assert!(!url.contains("cret"), "{url}");
        let (again, pw2) = ConnSpec::parse_url(&url).unwrap();
        assert_eq!(again, spec);
        assert_eq!(pw2, None);
    }

    #[test]
    fn defaults_and_errors() {
        let (spec, _) = ConnSpec::parse_url("postgres://h").unwrap();
        assert_eq!(
            (spec.port, spec.user.as_str(), spec.database.as_str()),
            (5432, "postgres", "postgres")
        );
        assert_eq!(spec.tls, TlsMode::Prefer);
        for bad in [
            "mysql://h/db",
            "not a url",
            "postgres:///db",
            "postgres://h/db?sslmode=maybe",
            "postgres://h/db?x=1",
        ] {
            let e = ConnSpec::parse_url(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(e.hint().is_some(), "{bad}");
        }
    }

    #[test]
    fn a_database_name_reaches_tools_as_a_name_never_as_settings() {
        let (spec, _) = ConnSpec::parse_url("postgres://u@h/x").unwrap();
        for (name, conninfo) in [
            ("shop", "dbname='shop'"),
            ("host=evil port=1", "dbname='host=evil port=1'"),
            ("postgresql://evil/db", "dbname='postgresql://evil/db'"),
            ("it's a \\ db", "dbname='it\\'s a \\\\ db'"),
        ] {
            assert_eq!(
                spec.with_database(name).dbname_conninfo(),
                conninfo,
                "{name}"
            );
        }
    }

    #[test]
    fn libpq_env_carries_tls_and_password_only_in_env() {
        let (spec, _) = ConnSpec::parse_url("postgres://u@h:1/d?sslmode=require").unwrap();
        let env = spec.libpq_env(Some("pw"));
        assert!(env.contains(&("PGSSLMODE", "require".into())));
        assert!(env.contains(&("PGPASSWORD", "pw".into())));
        assert!(!spec.libpq_env(None).iter().any(|(k, _)| *k == "PGPASSWORD"));
    }
}
