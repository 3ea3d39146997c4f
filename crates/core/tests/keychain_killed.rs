//! Adding a project with its parts while the real keychain dies midway: nothing is registered
//! and no secret is left.
//!
//! The test starts its own D-Bus session bus (no service activation, so a killed keychain stays
//! gone) and its own gnome-keyring on it, in temporary folders, and points this process at it:
//! it has a binary of its own, since the bus address is the process's. On the N-th secret the
//! engine writes, a wrapper around the real keychain store kills gnome-keyring (SIGKILL) and
//! lets the real keychain fail the write; then it starts gnome-keyring again on the same keyring
//! file (as a session's keyring comes back), so the test can read what was left. It fails (never
//! skips) when `dbus-daemon`, `dbus-send` or `gnome-keyring-daemon` is missing; run it with
//! `crates/core/tests/run-keychain-tests.sh` (or `.ci/with-keyring`, which provides both).

use offsite_core::ops::{NewComponents, StorageSettings, SupabaseSettings};
use offsite_core::secrets::{
    project_password_key, project_s3_secret_key, project_supabase_token_key, KeychainStore,
    SecretStore,
};
use offsite_core::storage::BucketSelection;
use offsite_core::{AddProject, Engine, EngineConfig, ErrorKind, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSWORD: &str = "offsite-throwaway-keyring";

/// A private session bus and a gnome-keyring on it.
struct Session {
    dir: tempfile::TempDir,
    address: String,
    bus: Child,
    keyring: Mutex<Option<Child>>,
}

fn tool(name: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{name} is missing: install dbus and gnome-keyring (or run .ci/setup.sh)"
    );
}

impl Session {
    fn start() -> Session {
        for t in ["dbus-daemon", "dbus-send", "gnome-keyring-daemon"] {
            tool(t);
        }
        let dir = tempfile::tempdir().unwrap();
        for d in ["data", "run", "config"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting dbus-daemon");
        let t = Instant::now();
        while !socket.exists() {
            assert!(t.elapsed() < Duration::from_secs(10), "no bus socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        let session = Session {
            address: format!("unix:path={}", socket.display()),
            dir,
            bus,
            keyring: Mutex::new(None),
        };
        session.start_keyring();
        session
    }

    fn env(&self, c: &mut Command) {
        let d = self.dir.path();
        c.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", d)
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_RUNTIME_DIR", d.join("run"))
            .env("XDG_CONFIG_HOME", d.join("config"));
    }

    /// Starts gnome-keyring (unlocking the same login keyring every time) and waits until its
    /// default collection answers.
    fn start_keyring(&self) {
        let mut c = Command::new("gnome-keyring-daemon");
        c.args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.env(&mut c);
        let mut child = c.spawn().expect("starting gnome-keyring-daemon");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(PASSWORD.as_bytes()).unwrap();
        drop(stdin);
        *self.keyring.lock().unwrap() = Some(child);
        let t = Instant::now();
        while !self.keyring_answers() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "gnome-keyring did not come up with a default collection within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keyring_answers(&self) -> bool {
        let mut c = Command::new("dbus-send");
        c.args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.ReadAlias",
            "string:default",
        ]);
        self.env(&mut c);
        c.output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .contains("object path \"/org/freedesktop/secrets/collection/")
            })
            .unwrap_or(false)
    }

    fn kill_keyring(&self) {
        if let Some(mut child) = self.keyring.lock().unwrap().take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        assert!(!self.keyring_answers(), "the keychain still answers");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut child) = self.keyring.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

/// The real keychain; on the `kill_at`-th write the keychain daemon is killed first, so the real
/// keychain fails that write, then it is started again before the error is returned.
struct KillingStore {
    inner: KeychainStore,
    session: Arc<Session>,
    writes: AtomicUsize,
    kill_at: usize,
    /// The error the real keychain gave the killed write.
    failed: Mutex<Option<ErrorKind>>,
}

impl SecretStore for KillingStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, secret: &str) -> Result<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 != self.kill_at {
            return self.inner.set(key, secret);
        }
        self.session.kill_keyring();
        let result = self.inner.set(key, secret);
        let e = result.expect_err("a write to a killed keychain succeeded");
        *self.failed.lock().unwrap() = Some(e.kind());
        self.session.start_keyring();
        Err(e)
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key)
    }
    fn name(&self) -> &'static str {
        "keychain"
    }
}

fn request(name: &str) -> (AddProject, NewComponents) {
    let mut req = AddProject::url(name, "postgres://app@db.example.com:5432/shop");
    req.password = Some("db-password".into());
    // No server there: these tests are about the keychain, not the connection.
    req.skip_test = true;
    let parts = NewComponents {
        storage: Some(StorageSettings {
            endpoint: Some("https://s3.example.com".into()),
            region: "us-east-1".into(),
            access_key_id: "AKID".into(),
            secret_access_key: Some("s3-secret".into()),
            path_style: true,
            buckets: BucketSelection::All,
            concurrency: None,
        }),
        supabase: Some(SupabaseSettings {
            project_ref: "abcdefghijklmnopqrst".into(),
            api_url: None,
            access_token: Some("sbp_token".into()),
        }),
        default_type: Some("full".into()),
        ..Default::default()
    };
    (req, parts)
}

async fn components_rows(data: &Path) -> i64 {
    let catalog = offsite_core::catalog::Catalog::open(data).await.unwrap();
    let n: (i64,) = sqlx::query_as("SELECT count(*) FROM project_components")
        .fetch_one(catalog.pool())
        .await
        .unwrap();
    catalog.close().await;
    n.0
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_keychain_mid_add_registers_nothing_and_leaves_no_secret() {
    let session = Arc::new(Session::start());
    // This process's keychain is the private one (this binary has this one test).
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &session.address);
    let service = format!("dev.offsite.Offsite.tests.killed.{}", uuid::Uuid::new_v4());
    let reader = KeychainStore::new(&service);
    for kill_at in [2, 3] {
        let name = format!("killed{kill_at}");
        let keys = [
            project_password_key(&name),
            project_s3_secret_key(&name),
            project_supabase_token_key(&name),
        ];
        let data = tempfile::tempdir().unwrap();
        let store = Arc::new(KillingStore {
            inner: KeychainStore::new(&service),
            session: session.clone(),
            writes: AtomicUsize::new(0),
            kill_at,
            failed: Mutex::new(None),
        });
        let engine = Engine::open(
            EngineConfig::new(store.clone()).data_dir(Some(PathBuf::from(data.path()))),
        )
        .await
        .unwrap();
        let (req, parts) = request(&name);
        let e = engine
            .add_project_with_components(req, parts)
            .await
            .unwrap_err();
        // The real keychain's failure, as it gave it.
        let failed = store.failed.lock().unwrap().expect("no write was killed");
        assert_eq!(e.kind(), failed, "kill at {kill_at}: {e}");
        assert_eq!(store.writes.load(Ordering::SeqCst), kill_at);
        // Nothing registered.
        assert!(engine.projects().await.unwrap().is_empty());
        assert_eq!(
            engine.components(&name).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        drop(engine);
        assert_eq!(components_rows(data.path()).await, 0);
        // No secret left: the ones written before the keychain died were removed once it was
        // back.
        for key in &keys {
            assert_eq!(reader.get(key).unwrap(), None, "kill at {kill_at}: {key}");
        }
    }

    // The same request with the keychain alive: everything is there (the check above is not
    // passing because nothing can be written).
    let store = Arc::new(KillingStore {
        inner: KeychainStore::new(&service),
        session: session.clone(),
        writes: AtomicUsize::new(0),
        kill_at: usize::MAX,
        failed: Mutex::new(None),
    });
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(store).data_dir(Some(data.path().into())))
        .await
        .unwrap();
    let (req, parts) = request("alive");
    let (p, c) = engine
        .add_project_with_components(req, parts)
        .await
        .unwrap();
    assert_eq!(engine.components(&p.name).await.unwrap(), c);
    assert_eq!(
        reader
            .get(&project_s3_secret_key("alive"))
            .unwrap()
            .as_deref(),
        Some("s3-secret")
    );
    engine.remove_project("alive").await.unwrap();
    assert_eq!(reader.get(&project_s3_secret_key("alive")).unwrap(), None);
}
