//! What the engine's integration tests share: an engine on a temporary data folder with an
//! in-memory secret store, and small helpers.
#![allow(dead_code)]

use offsite_core::progress::{NoProgress, Progress};
use offsite_core::restore::DatabaseTo;
use offsite_core::secrets::MemoryStore;
use offsite_core::{Engine, EngineConfig, JobStart};
use offsite_testkit::TestCluster;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub struct Env {
    pub engine: Engine,
    pub secrets: Arc<MemoryStore>,
    pub dir: tempfile::TempDir,
}

pub async fn env_with(pg_bin: Option<PathBuf>) -> Env {
    env_configured(|c| c.pg_bin(pg_bin)).await
}

/// An engine whose configuration `configure` completes (a clock, a pg_dump folder).
pub async fn env_configured(configure: impl FnOnce(EngineConfig) -> EngineConfig) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let config = EngineConfig::new(secrets.clone()).data_dir(dir.path().join("data"));
    let engine = Engine::open(configure(config)).await.unwrap();
    Env {
        engine,
        secrets,
        dir,
    }
}

pub async fn env() -> Env {
    env_with(None).await
}

pub fn none() -> Arc<dyn Progress> {
    Arc::new(NoProgress)
}

/// A manual job reporting to `sink`, cancelled by `cancel`.
pub fn start(sink: Arc<dyn Progress>, cancel: CancellationToken) -> JobStart {
    JobStart::default().progress(sink).cancel(cancel)
}

/// Every file under `dir`, recursively.
pub use offsite_testkit::conformance::database::files_under;

/// The cluster's database `db` as a restore target, with the superuser's password.
pub fn target(pg: &TestCluster, db: &str) -> DatabaseTo {
    DatabaseTo::url_or_project(&pg.url_with_password(db), None)
}

/// A new database holding what `sql` creates, added as project `name` and backed up: the
/// database and the archive.
pub async fn backed_up_with(
    pg: &TestCluster,
    env: &Env,
    name: &str,
    sql: &str,
) -> (String, PathBuf) {
    let src = pg.unique_db(name);
    pg.psql(&src, sql);
    let path = back_up(pg, env, name, &src).await;
    (src, path)
}

/// Add database `db` as project `name` and back it up: the archive.
pub async fn back_up(pg: &TestCluster, env: &Env, name: &str, db: &str) -> PathBuf {
    env.engine
        .add_project(offsite_core::AddProject::url(
            name,
            pg.url_with_password(db),
        ))
        .await
        .unwrap();
    let o = env
        .engine
        .backup(
            offsite_core::BackupOptions::project(name),
            JobStart::default(),
        )
        .await
        .unwrap();
    PathBuf::from(o.backup.path)
}

/// Where two texts first differ, for assertion messages.
pub use offsite_testkit::first_difference as first_diff;

/// A JSON webhook channel named `hook` (no signing secret) to a fresh local receiver.
pub async fn json_hook(engine: &Engine) -> offsite_testkit::WebhookReceiver {
    let rx = offsite_testkit::WebhookReceiver::start();
    engine
        .notify_add(
            "hook",
            offsite_core::ops::notify::ChannelInput::Webhook {
                url: rx.url("/hook"),
                preset: offsite_core::notify::Preset::Json,
                secret: None,
            },
        )
        .await
        .unwrap();
    rx
}
