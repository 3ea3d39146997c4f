//! `offsite serve` as its own process, talked to over HTTP(S) like the laptop will: a real
//! PostgreSQL, real files, real tokens. Backups through the API to a verified archive; every
//! security rule (tokens, projects, read-only, signed URLs, ids, body size); TLS with the
//! self-signed certificate pinned by its fingerprint; idle memory.
//!
//! This file is the harness (start the agent, tokens, HTTP helpers); the tests are in
//! `backup.rs`, `security.rs` and `process.rs`.

mod backup;
mod cancel;
mod encrypted;
#[cfg(unix)] // Unix modes and links (docs/development.md)
mod hostile;
mod metrics;
mod pitr;
mod pitr_objects;
mod pitr_physical;
#[cfg(unix)] // Unix modes, signals (docs/development.md)
mod process;
mod security;

use offsite_core::progress::Reporter;
use offsite_testkit::TestCluster;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub const DB_PASSWORD_ENV: &str = "AGENT_TEST_SHOP_PASSWORD";

/// One agent process with its folder and configuration.
pub struct AgentProc {
    pub child: Child,
    pub url: String,
    pub fingerprint: Option<String>,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The database password the agent is given (in `DB_PASSWORD_ENV`).
    pub password: String,
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AgentProc {
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `offsite serve --config F <args>` (not the server): stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_offsite"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("OFFSITE_DATA_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn token(&self, args: &[&str]) -> String {
        let mut a = vec!["token", "create"];
        a.extend_from_slice(args);
        self.cli(&a).trim().to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The project's fixtures: a database with rows, a storage folder, compose and .env files.
pub struct Fixture {
    pub db: String,
    pub files: tempfile::TempDir,
}

pub fn fixture(rows: u32) -> Fixture {
    let c = TestCluster::shared();
    let db = c.unique_db("agent");
    c.psql(
        &db,
        &format!(
            "CREATE TABLE orders(id int primary key, note text); \
             INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;"
        ),
    );
    let files = tempfile::tempdir().unwrap();
    let w = |p: &str, b: &[u8]| {
        let path = files.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b).unwrap();
    };
    w("storage/avatars/a.png", b"PNG-bytes");
    w("storage/avatars/team/b.txt", b"hello from storage");
    w("storage/docs/readme.md", b"# docs");
    w(
        "docker-compose.yml",
        b"services:\n  db:\n    image: supabase/postgres\n",
    );
    w(
        ".env",
        b"# secrets\nPOSTGRES_PASSWORD=very-secret-pw\nSITE_URL=http://localhost\n",
    );
    Fixture { db, files }
}

/// Start `offsite serve` with `extra` lines in its configuration; waits for "listening on".
pub fn start(fx: &Fixture, extra: &str, insecure: bool) -> AgentProc {
    let c = TestCluster::shared();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    let f = fx.files.path();
    std::fs::write(
        &config,
        format!(
            r#"listen = "127.0.0.1:0"
data_dir = "data"
pg_bin = {bin:?}
{extra}

[projects.shop]
database_url = {url:?}
password_env = "{DB_PASSWORD_ENV}"
storage_dir = {storage:?}
config_files = [{compose:?}, {env:?}]

[projects.other]
database_url = {url:?}
password_env = "{DB_PASSWORD_ENV}"
"#,
            bin = c.bin_dir(),
            url = c.url(&fx.db),
            storage = f.join("storage"),
            compose = f.join("docker-compose.yml"),
            env = f.join(".env"),
        ),
    )
    .unwrap();
    start_config_in(dir, config, c.superuser_password(), insecure)
}

/// Start `offsite serve` on the configuration `text` (its own folder; `data_dir = "data"`
/// resolves there), the database password `password` in `DB_PASSWORD_ENV`.
pub fn start_config(text: &str, password: &str, insecure: bool) -> AgentProc {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, text).unwrap();
    start_config_in(dir, config, password, insecure)
}

fn start_config_in(
    dir: tempfile::TempDir,
    config: PathBuf,
    password: &str,
    insecure: bool,
) -> AgentProc {
    let (child, url, fingerprint) = spawn(dir.path(), &config, password, insecure);
    AgentProc {
        child,
        url,
        fingerprint,
        dir,
        config,
        password: password.to_string(),
    }
}

impl AgentProc {
    /// Kill the agent (SIGKILL, nothing cleaned up) and start it again on the same folder and
    /// configuration.
    pub fn kill_and_restart(&mut self, insecure: bool) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, url, fingerprint) =
            spawn(self.dir.path(), &self.config, &self.password, insecure);
        self.child = child;
        self.url = url;
        self.fingerprint = fingerprint;
    }
}

/// `offsite serve --config F` in `dir`; waits for "listening on" (and the fingerprint).
fn spawn(
    dir: &Path,
    config: &Path,
    password: &str,
    insecure: bool,
) -> (Child, String, Option<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_offsite"));
    cmd.arg("serve").arg("--config").arg(config);
    if insecure {
        cmd.arg("--insecure-http");
    }
    for var in ["PGPASSWORD", "OFFSITE_DATA_DIR", "OFFSITE_SECRET_STORE"] {
        cmd.env_remove(var);
    }
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stderr.log"))
        .unwrap();
    let mut child = cmd
        .env(DB_PASSWORD_ENV, password)
        .env("OFFSITE_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawning offsite serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut url = None;
    let mut fingerprint = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while url.is_none() || (!insecure && fingerprint.is_none()) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the agent did not start: {}",
                    std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
                );
            }
        };
        if let Some(u) = line.strip_prefix("offsite agent listening on ") {
            url = Some(u.trim().to_string());
        }
        if let Some(fp) = line.strip_prefix("TLS certificate fingerprint: ") {
            fingerprint = Some(fp.trim().to_string());
        }
    }
    (child, url.unwrap(), fingerprint)
}

pub fn client_config(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(rustls::RootCertStore::empty()))
        .build()
        .unwrap()
}

pub async fn send(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = c.request(method, url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Poll a backup until it is no longer CREATING; returns its last status and every progress seen.
pub async fn wait_done(c: &reqwest::Client, url: &str, token: &str) -> (Value, Vec<u64>) {
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut seen = Vec::new();
    loop {
        let (s, v) = send(c, reqwest::Method::GET, url, Some(token), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        seen.push(v["progress"].as_u64().unwrap());
        if v["status"] != "CREATING" {
            return (v, seen);
        }
        assert!(Instant::now() < deadline, "the backup did not finish: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn backups_url(a: &AgentProc, project: &str) -> String {
    format!("{}/platform/projects/{project}/backups", a.url)
}

/// Read one member of an archive (gzip or zstd, told by its first bytes).
pub fn member(archive: &Path, name: &str) -> Option<Vec<u8>> {
    let f = std::io::BufReader::new(std::fs::File::open(archive).unwrap());
    let mut t = tar::Archive::new(offsite_core::archive::codec::decompress(f));
    for e in t.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == name {
            let mut out = Vec::new();
            e.read_to_end(&mut out).unwrap();
            return Some(out);
        }
    }
    None
}
