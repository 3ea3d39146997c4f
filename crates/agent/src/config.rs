//! The agent's configuration: a TOML file (`offsite serve --config FILE`) or command-line flags.
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! data_dir = "/var/lib/offsite-agent"
//! # tls_cert = "/etc/offsite/cert.pem"   # else a self-signed certificate made at first start
//! # tls_key = "/etc/offsite/key.pem"
//! # public_url = "https://backup.example.com:8443"   # base of download URLs (default: the Host asked)
//! # download_ttl_secs = 3600
//! # header_read_timeout_secs = 10          # a client's time to send a request's headers
//! # idle_timeout_secs = 60                 # nothing moving during a request
//! # max_connections = 256
//! # audit_log_max_bytes = 10485760         # audit.log rotates at this size …
//! # audit_log_keep = 5                     # … keeping audit.log.1 … audit.log.5
//! # auth_failures_per_minute = 20          # then 429 for that client until the minute ends
//!
//! [projects.shop]
//! database_url = "postgres://postgres@127.0.0.1:5432/postgres"
//! password_env = "SHOP_DB_PASSWORD"        # or: password_file = "/etc/offsite/shop.password"
//! storage_dir = "/srv/supabase/volumes/storage"
//! config_files = ["/srv/supabase/docker-compose.yml", "/srv/supabase/.env"]
//!
//! [projects.saas]                          # storage over S3 instead of a folder
//! database_url = "postgres://postgres@db.internal:5432/postgres"
//! password_file = "/etc/offsite/saas.password"
//! [projects.saas.s3]
//! endpoint = "https://abc.supabase.co/storage/v1/s3"
//! access_key_id = "…"
//! secret_env = "SAAS_S3_SECRET"            # or: secret_file = "…"
//! buckets = ["avatars"]                    # default: every bucket the keys list
//!
//! [projects.saas.retention]                # pruned after each scheduled backup (GFS)
//! keep_last = 3
//! keep_daily = 7
//! keep_weekly = 4
//! ```
//!
//! Passwords never live in the file: a database URL with a password in it is refused.

use offsite_core::catalog::validate_project_name;
use offsite_core::postgres::conn::ConnSpec;
use offsite_core::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Default lifetime of a signed download URL.
pub const DEFAULT_DOWNLOAD_TTL_SECS: u64 = 3600;
/// Default largest request body the API accepts.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default time a client has to send a request's headers (from the connection's start or the
/// end of the previous response).
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// Default time nothing may move on a connection while a request is in flight.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
/// Default cap on concurrent connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default size at which `audit.log` is rotated.
pub const DEFAULT_AUDIT_LOG_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Default number of rotated audit logs kept (`audit.log.1` … `audit.log.N`).
pub const DEFAULT_AUDIT_LOG_KEEP: usize = 5;
/// Default number of failed authentications a client may have in a minute before it is
/// answered 429.
pub const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 20;

/// One project the agent backs up; its id (the key under `[projects]`) is `{id}` in the API.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// A libpq URL without a password.
    pub database_url: String,
    /// The environment variable holding the database password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A file holding the database password (first line).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// A local folder whose first-level folders are buckets (self-hosted Supabase's
    /// `volumes/storage`).
    #[serde(default)]
    pub storage_dir: Option<PathBuf>,
    /// Configuration files packed under `config/files/<name>` (`.env` values redacted).
    #[serde(default)]
    pub config_files: Vec<PathBuf>,
    /// Instead of `storage_dir`: an S3-compatible endpoint (Supabase Storage's S3 endpoint,
    /// MinIO, …).
    #[serde(default)]
    pub s3: Option<S3SourceConfig>,
    /// The retention applied after each scheduled backup (`[projects.<id>.retention]`,
    /// `keep_last = 7`, `keep_daily = 7`, `keep_within = "30d"`, … as `offsite retention set`
    /// takes them). Set here, it is applied at every start and `PUT backup-schedule` may not
    /// change it; absent, the API's (or a new project's recommended policy) stands.
    #[serde(default)]
    pub retention: Option<offsite_core::schedule::RetentionPolicy>,
    /// Capture the project's changes while the agent runs, for restores to any second
    /// (`[projects.<id>.pitr]`; docs/pitr.md). Absent: no capture (a chain left from an earlier
    /// configuration is ended and its slot dropped at start).
    #[serde(default)]
    pub pitr: Option<PitrConfig>,
}

/// `[projects.<id>.pitr]`: point-in-time capture beside the database.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PitrConfig {
    /// How long restorable windows are kept (`7d`, `36h`, `1d12h`; default: until `offsite
    /// pitr prune`).
    #[serde(default)]
    pub keep_within: Option<String>,
    /// WAL the slot may hold before it is dropped to protect the server's disk (`1GiB`, the
    /// default; `512MiB`).
    #[serde(default)]
    pub max_retained: Option<String>,
    /// `logical` (a publication and a pgoutput slot) or `physical` (pg_receivewal and
    /// pg_basebackup; the server must allow the role a replication connection). A running
    /// chain of the other mode is ended and this one started. Absent: a running chain keeps
    /// its mode, and a new one is logical (or physical when the last chain was).
    #[serde(default)]
    pub mode: Option<String>,
}

impl PitrConfig {
    /// The limits and the mode a new chain gets (checked by [`AgentConfig::check`]).
    pub fn want(&self) -> Result<offsite_core::ops::pitr::keep::KeepCapturing> {
        use offsite_core::pitr::physical::CaptureMode;
        use offsite_core::pitr::{parse_keep_within, parse_size};
        Ok(offsite_core::ops::pitr::keep::KeepCapturing {
            restart: true,
            mode: self.mode.as_deref().map(CaptureMode::parse).transpose()?,
            max_retained: self.max_retained.as_deref().map(parse_size).transpose()?,
            keep_within: self
                .keep_within
                .as_deref()
                .map(parse_keep_within)
                .transpose()?,
        })
    }
}

/// `[projects.<id>.s3]`: where the project's storage objects are, over S3. The secret key is
/// named (environment variable or file), never written here.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct S3SourceConfig {
    /// `https://host[:port][/path]` (Supabase: `https://<ref>.supabase.co/storage/v1/s3`).
    pub endpoint: String,
    /// Default `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    pub access_key_id: String,
    /// The environment variable holding the secret access key.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// A file holding the secret access key (first line).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Only these buckets (default: every bucket the keys can list).
    #[serde(default)]
    pub buckets: Vec<String>,
    /// Path-style addressing (default true: Supabase, MinIO and most self-hosted stores).
    #[serde(default)]
    pub path_style: Option<bool>,
}

impl S3SourceConfig {
    /// The secret access key from `secret_env` or `secret_file`.
    pub fn secret(&self) -> Result<String> {
        read_secret(
            self.secret_env.as_deref(),
            self.secret_file.as_deref(),
            "S3 secret key",
        )?
        .ok_or_else(|| {
            Error::invalid("the S3 source needs secret_env or secret_file")
                .with_hint("name the variable or file that holds the secret access key")
        })
    }
}

/// A secret from the named environment variable or file (errors name them, never the value).
fn read_secret(env: Option<&str>, file: Option<&Path>, what: &str) -> Result<Option<String>> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(Error::invalid(format!(
                "the environment variable {var} (the {what}) is not set"
            ))
            .with_hint("set it in the agent's environment (systemd: EnvironmentFile=; Kubernetes: a Secret)")),
        };
    }
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::io(format!("reading the {what} file {}", file.display()), e))?;
        let v = text.lines().next().unwrap_or("").to_string();
        if v.is_empty() {
            return Err(Error::invalid(format!(
                "the {what} file {} is empty",
                file.display()
            )));
        }
        return Ok(Some(v));
    }
    Ok(None)
}

impl ProjectConfig {
    /// The database password from `password_env` or `password_file` (`None`: neither given).
    /// Errors name the variable or file, never the value.
    pub fn password(&self) -> Result<Option<String>> {
        read_secret(
            self.password_env.as_deref(),
            self.password_file.as_deref(),
            "database password",
        )
    }
}

/// The agent's configuration, as the file has it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Address to listen on (`0.0.0.0:8443`).
    pub listen: SocketAddr,
    /// The agent's own folder: engine catalog and archives, tokens, keys, audit log.
    pub data_dir: PathBuf,
    /// PEM certificate chain and private key; both or neither (then a self-signed certificate
    /// is made at first start and kept in `data_dir/tls/`).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (tests; loopback behind a TLS-terminating proxy). Never the default.
    #[serde(default)]
    pub insecure_http: bool,
    /// Base URL of download links (default: the scheme and `Host` of the request).
    #[serde(default)]
    pub public_url: Option<String>,
    /// Lifetime of signed download URLs, in seconds (default 3600).
    #[serde(default)]
    pub download_ttl_secs: Option<u64>,
    /// Largest request body, in bytes (default 64 KiB).
    #[serde(default)]
    pub max_body_bytes: Option<usize>,
    /// Folder of pg_dump (default: search).
    #[serde(default)]
    pub pg_bin: Option<PathBuf>,
    /// Seconds a client has to send a request's headers (default 10).
    #[serde(default)]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds nothing may move on a connection while a request is in flight (default 60).
    #[serde(default)]
    pub idle_timeout_secs: Option<u64>,
    /// Concurrent connections at most (default 256).
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// Size in bytes at which `audit.log` is rotated (default 10 MiB).
    #[serde(default)]
    pub audit_log_max_bytes: Option<u64>,
    /// Rotated audit logs kept (default 5).
    #[serde(default)]
    pub audit_log_keep: Option<usize>,
    /// Failed authentications per client address in a minute before 429 (default 20).
    #[serde(default)]
    pub auth_failures_per_minute: Option<u32>,
    #[serde(default)]
    pub projects: BTreeMap<String, ProjectConfig>,
}

impl AgentConfig {
    /// A configuration without projects (`--data-dir DIR --listen ADDR`).
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        AgentConfig {
            listen,
            data_dir,
            tls_cert: None,
            tls_key: None,
            insecure_http: false,
            public_url: None,
            download_ttl_secs: None,
            max_body_bytes: None,
            pg_bin: None,
            header_read_timeout_secs: None,
            idle_timeout_secs: None,
            max_connections: None,
            audit_log_max_bytes: None,
            audit_log_keep: None,
            auth_failures_per_minute: None,
            projects: BTreeMap::new(),
        }
    }

    /// Parse and check a TOML document; relative paths are taken from `base` (the file's folder).
    pub fn parse(text: &str, base: &Path) -> Result<Self> {
        let mut c: AgentConfig = toml::from_str(text).map_err(|e| {
            Error::invalid(format!(
                "the agent configuration is not valid: {}",
                e.message()
            ))
            .with_hint("see `offsite serve --help` and docs/agent.md")
        })?;
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        abs(&mut c.data_dir);
        c.tls_cert.as_mut().map(abs);
        c.tls_key.as_mut().map(abs);
        for p in c.projects.values_mut() {
            p.password_file.as_mut().map(abs);
            p.storage_dir.as_mut().map(abs);
            if let Some(s3) = p.s3.as_mut() {
                s3.secret_file.as_mut().map(abs);
            }
            p.config_files.iter_mut().for_each(abs);
        }
        c.check()?;
        Ok(c)
    }

    /// Read and check the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base)
    }

    /// Consistency: project ids, URLs without passwords, one password source, cert with key.
    pub fn check(&self) -> Result<()> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(Error::invalid("tls_cert and tls_key go together")
                .with_hint("give both, or neither for a self-signed certificate"));
        }
        if self.download_ttl_secs == Some(0) {
            return Err(Error::invalid("download_ttl_secs must be at least 1"));
        }
        for (name, v) in [
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("max_connections", self.max_connections.map(|n| n as u64)),
            ("audit_log_max_bytes", self.audit_log_max_bytes),
            (
                "auth_failures_per_minute",
                self.auth_failures_per_minute.map(u64::from),
            ),
        ] {
            if v == Some(0) {
                return Err(Error::invalid(format!("{name} must be at least 1")));
            }
        }
        if self.audit_log_max_bytes.is_some_and(|b| b < 4096) {
            return Err(Error::invalid("audit_log_max_bytes must be at least 4096"));
        }
        for (id, p) in &self.projects {
            validate_project_name(id)?;
            let (_, password) = ConnSpec::parse_url(&p.database_url).map_err(|e| {
                Error::invalid(format!("project {id}: the database_url is not valid"))
                    .with_hint(e.message().to_string())
            })?;
            if password.is_some() {
                return Err(Error::invalid(format!(
                    "project {id}: the database_url contains a password"
                ))
                .with_hint("remove it from the URL; name an environment variable (password_env) or a file (password_file) instead"));
            }
            if p.password_env.is_some() && p.password_file.is_some() {
                return Err(Error::invalid(format!(
                    "project {id}: give password_env or password_file, not both"
                )));
            }
            if p.storage_dir.is_some() && p.s3.is_some() {
                return Err(Error::invalid(format!(
                    "project {id}: give storage_dir or [s3], not both"
                )));
            }
            if let Some(s3) = &p.s3 {
                if s3.secret_env.is_some() == s3.secret_file.is_some() {
                    return Err(Error::invalid(format!(
                        "project {id}: [s3] needs exactly one of secret_env and secret_file"
                    )));
                }
            }
            if let Some(pitr) = &p.pitr {
                pitr.want().map_err(|e| {
                    Error::invalid(format!(
                        "project {id}: [pitr] is not valid: {}",
                        e.message()
                    ))
                })?;
            }
            for f in &p.config_files {
                if f.file_name().is_none() {
                    return Err(Error::invalid(format!(
                        "project {id}: config file {} has no file name",
                        f.display()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The engine's own data folder (catalog, archives) inside `data_dir`.
    pub fn engine_dir(&self) -> PathBuf {
        self.data_dir.join("engine")
    }

    /// Lifetime of signed download URLs.
    pub fn download_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.download_ttl_secs.unwrap_or(DEFAULT_DOWNLOAD_TTL_SECS))
    }

    /// Largest request body.
    pub fn max_body(&self) -> usize {
        self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES)
    }

    /// The connection limits.
    pub fn limits(&self) -> crate::limits::Limits {
        use std::time::Duration;
        crate::limits::Limits {
            header_read_timeout: Duration::from_secs(
                self.header_read_timeout_secs
                    .unwrap_or(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            ),
            idle_timeout: Duration::from_secs(
                self.idle_timeout_secs.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECS),
            ),
            max_connections: self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
        }
    }

    /// Rotation of the audit log: (size at which it rotates, rotated files kept).
    pub fn audit_rotation(&self) -> (u64, usize) {
        (
            self.audit_log_max_bytes
                .unwrap_or(DEFAULT_AUDIT_LOG_MAX_BYTES),
            self.audit_log_keep.unwrap_or(DEFAULT_AUDIT_LOG_KEEP),
        )
    }

    /// Failed authentications per client and minute before 429.
    pub fn auth_failures_per_minute(&self) -> u32 {
        self.auth_failures_per_minute
            .unwrap_or(DEFAULT_AUTH_FAILURES_PER_MINUTE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses_with_relative_paths_from_its_folder() {
        let c = AgentConfig::parse(
            r#"
listen = "127.0.0.1:8443"
data_dir = "data"
download_ttl_secs = 5

[projects.shop]
database_url = "postgres://postgres@127.0.0.1:5432/shop"
password_env = "SHOP_PW"
storage_dir = "/srv/storage"
config_files = ["compose/docker-compose.yml"]
"#,
            Path::new("/etc/offsite"),
        )
        .unwrap();
        assert_eq!(c.data_dir, Path::new("/etc/offsite/data"));
        assert_eq!(c.engine_dir(), Path::new("/etc/offsite/data/engine"));
        assert_eq!(c.download_ttl().as_secs(), 5);
        let p = &c.projects["shop"];
        assert_eq!(p.storage_dir.as_deref(), Some(Path::new("/srv/storage")));
        assert_eq!(
            p.config_files,
            vec![PathBuf::from("/etc/offsite/compose/docker-compose.yml")]
        );
        assert!(!c.insecure_http);
    }

    #[test]
    fn passwords_in_the_file_and_bad_ids_are_refused() {
        let e = AgentConfig::parse(
            "listen = \"127.0.0.1:1\"\ndata_dir = \"/d\"\n[projects.shop]\ndatabase_url = \"postgres://u:hunter2@h/db\"\n",
            Path::new("/"),
        )
        .unwrap_err();
        assert!(e.message().contains("contains a password"), "{e}");
        assert!(!format!("{e} {:?}", e.hint()).contains("hunter2"));
        let e = AgentConfig::parse(
            "listen = \"127.0.0.1:1\"\ndata_dir = \"/d\"\n[projects.\"../x\"]\ndatabase_url = \"postgres://u@h/db\"\n",
            Path::new("/"),
        )
        .unwrap_err();
        assert!(e.message().contains("invalid project name"), "{e}");
        // A password key in the project section is not a field at all.
        let e = AgentConfig::parse(
            "listen = \"127.0.0.1:1\"\ndata_dir = \"/d\"\n[projects.a]\ndatabase_url = \"postgres://u@h/db\"\npassword = \"x\"\n",
            Path::new("/"),
        )
        .unwrap_err();
        assert!(e.message().contains("unknown field"), "{e}");
        let e = AgentConfig::parse(
            "listen = \"127.0.0.1:1\"\ndata_dir = \"/d\"\ntls_cert = \"c.pem\"\n",
            Path::new("/"),
        )
        .unwrap_err();
        assert!(e.message().contains("go together"), "{e}");
    }

    #[test]
    fn passwords_come_from_the_named_variable_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let p = ProjectConfig {
            database_url: "postgres://u@h/db".into(),
            password_env: None,
            password_file: Some(file),
            storage_dir: None,
            config_files: vec![],
            s3: None,
            retention: None,
            pitr: None,
        };
        assert_eq!(p.password().unwrap().as_deref(), Some("s3cret"));
        let p = ProjectConfig {
            password_file: None,
            password_env: Some("OFFSITE_AGENT_TEST_UNSET_VAR".into()),
            ..p
        };
        let e = p.password().unwrap_err();
        assert!(e.message().contains("OFFSITE_AGENT_TEST_UNSET_VAR"));
        let e = AgentConfig::parse(
            "listen = \"127.0.0.1:1\"\ndata_dir = \"/d\"\n[projects.a]\ndatabase_url = \"postgres://u@h/db\"\nstorage_dir = \"/s\"\n[projects.a.s3]\nendpoint = \"http://h\"\naccess_key_id = \"k\"\nsecret_env = \"S\"\n",
            Path::new("/"),
        )
        .unwrap_err();
        assert!(e.message().contains("not both"), "{e}");
    }

    #[test]
    fn connection_and_audit_limits_have_defaults_and_are_checked() {
        let base = "listen = \"127.0.0.1:1\"\ndata_dir = \"/d\"\n";
        let c = AgentConfig::parse(base, Path::new("/")).unwrap();
        let l = c.limits();
        assert_eq!(l.header_read_timeout.as_secs(), 10);
        assert_eq!(l.idle_timeout.as_secs(), 60);
        assert_eq!(l.max_connections, 256);
        assert_eq!(c.audit_rotation(), (10 * 1024 * 1024, 5));
        assert_eq!(c.auth_failures_per_minute(), 20);
        let c = AgentConfig::parse(
            &format!("{base}header_read_timeout_secs = 3\nidle_timeout_secs = 7\nmax_connections = 9\naudit_log_max_bytes = 8192\naudit_log_keep = 0\nauth_failures_per_minute = 4\n"),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(c.limits().max_connections, 9);
        assert_eq!(c.limits().idle_timeout.as_secs(), 7);
        assert_eq!(c.audit_rotation(), (8192, 0));
        assert_eq!(c.auth_failures_per_minute(), 4);
        for bad in [
            "header_read_timeout_secs = 0",
            "max_connections = 0",
            "auth_failures_per_minute = 0",
            "audit_log_max_bytes = 100",
        ] {
            let e = AgentConfig::parse(&format!("{base}{bad}\n"), Path::new("/")).unwrap_err();
            assert!(e.message().contains("at least"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_pitr_table_is_read_and_bad_limits_are_refused_naming_the_project() {
        use offsite_core::pitr::physical::CaptureMode;
        let base = "listen = \"127.0.0.1:8443\"\ndata_dir = \"d\"\n[projects.shop]\n\
                    database_url = \"postgres://u@h/db\"\n[projects.shop.pitr]\n";
        let c = AgentConfig::parse(
            &format!("{base}keep_within = \"7d\"\nmax_retained = \"512MiB\"\n"),
            Path::new("/"),
        )
        .unwrap();
        let want = c.projects["shop"].pitr.as_ref().unwrap().want().unwrap();
        assert_eq!(want.keep_within, Some(7 * 86_400));
        assert_eq!(want.max_retained, Some(512 << 20));
        assert!(want.restart);
        assert_eq!(
            want.mode, None,
            "absent: the running chain's mode, else logical"
        );
        for (mode, want_mode) in [
            ("logical", CaptureMode::Logical),
            ("physical", CaptureMode::Physical),
        ] {
            let c =
                AgentConfig::parse(&format!("{base}mode = \"{mode}\"\n"), Path::new("/")).unwrap();
            let want = c.projects["shop"].pitr.as_ref().unwrap().want().unwrap();
            assert_eq!(want.mode, Some(want_mode), "{mode}");
        }
        for bad in ["mode = \"streaming\"", "mode = \"Physical\"", "mode = \"\""] {
            let e = AgentConfig::parse(&format!("{base}{bad}\n"), Path::new("/")).unwrap_err();
            assert!(
                e.message().contains("project shop") && e.message().contains("logical or physical"),
                "{bad}: {e}"
            );
        }
        for bad in [
            "keep_within = \"7m\"",
            "max_retained = \"lots\"",
            "every = 3",
        ] {
            let e = AgentConfig::parse(&format!("{base}{bad}\n"), Path::new("/")).unwrap_err();
            assert!(
                e.message().contains("shop") || e.message().contains("every"),
                "{bad}: {e}"
            );
        }
    }
}
