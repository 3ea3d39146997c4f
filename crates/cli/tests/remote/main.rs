//! The laptop side of a backup server, as separate processes over HTTP(S): the real `offsite
//! serve` (with a throwaway PostgreSQL) and the `offsite` command line, sometimes with the
//! [`HttpFaultProxy`] between them. This file is the harness (start the agent, a laptop's data
//! folder, JSON answers); the tests are in `server.rs` (trust, `backup --remote`, `pull`, wrong
//! token, changed certificate, the keychain) and `faults.rs` (the fault matrix: every download
//! fault between the two processes ends in a byte-identical archive or a clear error with
//! nothing left).
//!
//! The CLI runs with `OFFSITE_SECRET_STORE=env` and the token in `OFFSITE_SERVER_TOKEN` (the
//! headless way); the agent's API is also driven directly through `offsite_core`'s client.

mod cancel;
mod encrypt_pulled;
mod faults;
mod server;
mod watch;

use offsite_core::progress::Reporter;
use offsite_core::sources::agent::{AgentBackup, AgentClient};
use offsite_testkit::TestCluster;
use serde_json::Value;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub const DB_PASSWORD_ENV: &str = "REMOTE_TEST_SHOP_PASSWORD";

pub struct Agent {
    pub child: Child,
    pub url: String,
    pub fingerprint: Option<String>,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    /// `offsite serve --config F token create --project shop`.
    pub fn token(&self) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_offsite"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .args(["token", "create", "--project", "shop"])
            .env_remove("OFFSITE_DATA_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn addr(&self) -> SocketAddr {
        let hostport = self.url.split("://").nth(1).unwrap().trim_end_matches('/');
        hostport.parse().unwrap()
    }

    /// The archives the agent wrote.
    pub fn archives(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.dir.path().join("data"), &mut |p| {
            if offsite_core::backup::has_archive_suffix(&p.to_string_lossy()) {
                out.push(p.to_path_buf());
            }
        });
        out
    }

    pub fn client(&self, token: &str) -> AgentClient {
        let fp = self.fingerprint.as_deref().map(|f| f.parse().unwrap());
        AgentClient::new(&self.url, "shop", token, fp, false).unwrap()
    }
}

/// A database backup made on the agent through its API, waited for.
pub async fn backup_on_agent(client: &AgentClient) -> AgentBackup {
    let created = client.start_backup("DATABASE", &[], None).await.unwrap();
    client
        .wait(
            &created.backup_id,
            &Reporter::silent(),
            &CancellationToken::new(),
        )
        .await
        .unwrap()
}

pub fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}

/// A database with `rows` rows of text.
pub fn database(rows: u32) -> String {
    let c = TestCluster::shared();
    let db = c.unique_db("remote");
    c.psql(
        &db,
        &format!(
            "CREATE TABLE orders(id int primary key, note text); \
             INSERT INTO orders SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, {rows}) g;"
        ),
    );
    db
}

/// Start `offsite serve` on `listen` (TLS with its self-signed certificate unless `insecure`).
pub fn start_agent(db: &str, listen: &str, insecure: bool) -> Agent {
    let c = TestCluster::shared();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            r#"listen = "{listen}"
data_dir = "data"
pg_bin = {bin:?}

[projects.shop]
database_url = {url:?}
password_env = "{DB_PASSWORD_ENV}"
"#,
            bin = c.bin_dir(),
            url = c.url(db),
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_offsite"));
    cmd.arg("serve").arg("--config").arg(&config);
    if insecure {
        cmd.arg("--insecure-http");
    }
    for var in ["PGPASSWORD", "OFFSITE_DATA_DIR", "OFFSITE_SECRET_STORE"] {
        cmd.env_remove(var);
    }
    let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut child = cmd
        .env(DB_PASSWORD_ENV, c.superuser_password())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawning offsite serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut url, mut fingerprint) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while url.is_none() || (!insecure && fingerprint.is_none()) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            panic!(
                "the agent did not start: {}",
                std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default()
            );
        };
        if let Some(u) = line.strip_prefix("offsite agent listening on ") {
            url = Some(u.trim().to_string());
        }
        if let Some(fp) = line.strip_prefix("TLS certificate fingerprint: ") {
            fingerprint = Some(fp.trim().to_string());
        }
    }
    Agent {
        child,
        url: url.unwrap(),
        fingerprint,
        dir,
        config,
    }
}

/// The laptop: its own data folder, secrets from the environment.
pub struct Laptop {
    pub data: tempfile::TempDir,
    pub token: String,
    /// More environment for every command this laptop runs.
    pub env: std::sync::Mutex<Vec<(String, String)>>,
}

impl Laptop {
    pub fn new(token: &str) -> Laptop {
        Laptop {
            data: tempfile::tempdir().unwrap(),
            token: token.to_string(),
            env: Default::default(),
        }
    }

    /// Sets `key` for every command run from now on.
    pub fn set_env(&self, key: &str, value: &str) {
        self.env.lock().unwrap().push((key.into(), value.into()));
    }

    pub fn run_with_token(&self, token: &str, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
        c.arg("--data-dir").arg(self.data.path()).args(args);
        for var in ["PGPASSWORD", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE"] {
            c.env_remove(var);
        }
        c.env("OFFSITE_SECRET_STORE", "env")
            .env("OFFSITE_SERVER_TOKEN", token)
            .env("OFFSITE_SERVER_POLL_MS", "200")
            .envs(self.env.lock().unwrap().clone())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_token(&self.token, args)
    }

    pub fn json(&self, args: &[&str], code: i32) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        json_of(&self.run(&full), code, args)
    }

    /// `--json ARGS` with "now" at `now` (the test-only `OFFSITE_TEST_NOW`), for schedules.
    pub fn json_at(&self, now: &str, args: &[&str], code: i32) -> Value {
        let mut c = Command::new(env!("CARGO_BIN_EXE_offsite"));
        c.arg("--data-dir")
            .arg(self.data.path())
            .arg("--json")
            .args(args);
        for var in ["PGPASSWORD", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE"] {
            c.env_remove(var);
        }
        let out = c
            .env("OFFSITE_SECRET_STORE", "env")
            .env("OFFSITE_SERVER_TOKEN", &self.token)
            .env("OFFSITE_SERVER_POLL_MS", "200")
            .env("OFFSITE_TEST_NOW", now)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        json_of(&out, code, args)
    }

    /// `project add shop --db DB --server URL --server-project shop` for a plain-HTTP server
    /// (no fingerprint to trust); must succeed, warning about plain HTTP.
    pub fn add_plain_server(&self, db_url: &str, server: &str) {
        let out = self.run(&[
            "project",
            "add",
            "shop",
            "--db",
            db_url,
            // The laptop never connects to the database itself: it pulls from the server.
            "--no-test",
            "--server",
            server,
            "--server-project",
            "shop",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("plain HTTP"), "plain HTTP is warned about");
    }

    pub fn backups(&self) -> Vec<Value> {
        self.json(&["backups", "shop"], 0)["backups"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// `.part` files and archives anywhere in the data folder.
    pub fn files(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let (mut parts, mut archives) = (Vec::new(), Vec::new());
        walk(self.data.path(), &mut |p| {
            let s = p.to_string_lossy();
            if s.ends_with(".part") {
                parts.push(p.to_path_buf());
            } else if offsite_core::backup::has_archive_suffix(&s) {
                archives.push(p.to_path_buf());
            }
        });
        (parts, archives)
    }
}

pub fn json_of(out: &Output, code: i32, what: &[&str]) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what:?}: stdout={stdout} stderr={}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{what:?}: stdout is not one JSON document ({e}): {stdout}"))
}

/// The one archive of the agent whose bytes are those of `local`.
pub fn assert_same_as_agents(agent: &Agent, local: &Path) {
    let mine = std::fs::read(local).unwrap();
    let found = agent
        .archives()
        .into_iter()
        .filter(|a| std::fs::read(a).unwrap() == mine)
        .count();
    assert_eq!(
        found,
        1,
        "{} is not byte-identical to an archive of the agent",
        local.display()
    );
}

/// `SHA256:<64 lowercase hex>`.
pub fn plain(fp: &str) -> String {
    fp.parse::<offsite_core::transfer::Fingerprint>()
        .unwrap()
        .to_string()
}

pub use offsite_testkit::ports::free_port;
