//! Adding a project with its parts (storage, Supabase project, default backup type, artifact
//! bucket, backup server) — one operation, all or nothing, for the window's add form and
//! `offsite project add` alike.
//!
//! Everything is checked first (the connection's form, the name, each part, the default type
//! against the parts, then — unless `skip_test` — that the database lets us in); then the
//! secrets are written; then the project and its parts are registered in
//! one catalog transaction. When a secret cannot be written (the keychain stops answering
//! midway) or the catalog refuses, every secret written so far is removed and nothing is
//! registered.

use super::components::{default_type_for, prepare_storage, prepare_supabase};
use super::projects::AddProject;
use super::{artifacts, remote, ArtifactsSettings, ServerSettings};
use super::{StorageSettings, SupabaseSettings};
use crate::catalog::{Components, Project};
use crate::engine::Engine;
use crate::error::Result;
use crate::secrets::{
    project_password_key, project_s3_secret_key, project_supabase_token_key, SecretStore,
};
use serde::{Deserialize, Serialize};

/// The parts of a new project beside its database (each `null`: none).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewComponents {
    pub storage: Option<StorageSettings>,
    pub supabase: Option<SupabaseSettings>,
    /// `database` (the default), `full`, `storage`, `config` or `incremental`; it must fit the
    /// parts given.
    pub default_type: Option<String>,
    #[serde(default)]
    pub artifacts: Option<ArtifactsSettings>,
    #[serde(default)]
    pub server: Option<ServerSettings>,
}

/// The secrets a new project brings, by key, in the order they are written.
type Writes = Vec<(String, String)>;

/// Add project `req` with `parts`: all of it, or nothing (no catalog row, no secret).
pub(crate) async fn add(
    engine: &Engine,
    req: AddProject,
    parts: NewComponents,
) -> Result<(Project, Components)> {
    let (new, password, to_test) = super::projects::new_project(req)?;
    // The keys below are the name's: no other project may own them.
    engine.catalog.check_name_free(&new.name).await?;
    let name = new.name.clone();
    let mut writes: Writes = Vec::new();
    if let Some(pw) = password {
        writes.push((project_password_key(&name), pw));
    }
    let components = prepare(engine, &name, parts, &mut writes).await?;
    // A database that does not let us in is said now, not at the first (scheduled) backup;
    // nothing is written before.
    if let Some(spec) = &to_test {
        let password = writes
            .iter()
            .find(|(k, _)| *k == project_password_key(&name))
            .map(|(_, v)| v.as_str());
        super::projects::test_before_add(engine, &name, spec, password).await?;
    }
    write_all(engine.secrets.as_ref(), &writes)?;
    // A new project keeps the recommended retention (its periods in this computer's zone),
    // saved with it; keeping everything is a choice made afterwards.
    let zone = crate::schedule::Zone::local();
    let retention = crate::schedule::RetentionPolicy::recommended();
    match engine
        .catalog
        .add_project_with_components(&new, &components, Some((&retention, zone.name())))
        .await
    {
        Ok(project) => {
            // The key a removed project of this name left (its backups open again), else the
            // default encryption mode (a new project backs up once it is set up).
            let encryption = match super::keys::adopt(engine, &project).await {
                Ok(true) => Ok(()),
                Ok(false) => super::encryption::apply_default(engine, &project).await,
                Err(e) => Err(e),
            };
            if let Err(e) = encryption {
                let _ = engine.catalog.remove_project(&project.name).await;
                forget(engine.secrets.as_ref(), &writes);
                return Err(e);
            }
            Ok((project, components))
        }
        Err(e) => {
            forget(engine.secrets.as_ref(), &writes);
            Err(e)
        }
    }
}

/// Every part checked (nothing written), with the secrets to write added to `writes`.
async fn prepare(
    engine: &Engine,
    name: &str,
    parts: NewComponents,
    writes: &mut Writes,
) -> Result<Components> {
    let mut c = Components::default();
    let mut note = |key: String, secret: Option<String>| {
        if let Some(v) = secret {
            writes.push((key, v));
        }
    };
    if let Some(s) = parts.storage {
        let key = project_s3_secret_key(name);
        let (storage, secret) = prepare_storage(engine, &key, s)?;
        c.storage = Some(storage);
        note(key, secret);
    }
    if let Some(s) = parts.supabase {
        let key = project_supabase_token_key(name);
        let (supabase, token) = prepare_supabase(engine, &key, s)?;
        c.supabase = Some(supabase);
        note(key, token);
    }
    if let Some(t) = &parts.default_type {
        c.default_type = default_type_for(&c, t)?;
    }
    // The parts that ask a server last: nothing is sent when a local check above fails.
    if let Some(s) = parts.artifacts {
        let key = artifacts::project_artifacts_secret_key(name);
        let (a, secret) = artifacts::prepare(engine, &key, s, Vec::new()).await?;
        c.artifacts = Some(a);
        note(key, secret);
    }
    if let Some(s) = parts.server {
        let key = remote::project_server_token_key(name);
        let (server, token) = remote::prepare(engine, &key, s).await?;
        c.server = Some(server);
        note(key, token);
    }
    Ok(c)
}

/// Write every secret, or (when one fails) remove those written and return the failure.
fn write_all(store: &dyn SecretStore, writes: &Writes) -> Result<()> {
    for (i, (key, value)) in writes.iter().enumerate() {
        if let Err(e) = store.set(key, value) {
            // The failed one too: a store may fail after keeping part of a write.
            forget(store, &writes[..=i]);
            return Err(e);
        }
    }
    Ok(())
}

/// Remove the secrets written for a project that was not added (best effort: a store that
/// cannot be reached keeps them, under keys no project owns).
fn forget(store: &dyn SecretStore, writes: &[(String, String)]) {
    for (key, _) in writes {
        if let Err(e) = store.delete(key) {
            tracing::warn!("a secret of a project that was not added stays in the store: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorKind};
    use crate::secrets::MemoryStore;
    use crate::storage::BucketSelection;
    use crate::EngineConfig;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A memory store whose `fail_at`-th write (1-based) fails, the ones before kept.
    struct FailingStore {
        inner: MemoryStore,
        writes: AtomicUsize,
        fail_at: usize,
    }

    impl SecretStore for FailingStore {
        fn name(&self) -> &'static str {
            "failing"
        }
        fn get(&self, key: &str) -> Result<Option<String>> {
            self.inner.get(key)
        }
        fn set(&self, key: &str, value: &str) -> Result<()> {
            if self.writes.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
                return Err(Error::new(
                    ErrorKind::KeychainUnavailable,
                    "the store went away",
                ));
            }
            self.inner.set(key, value)
        }
        fn delete(&self, key: &str) -> Result<()> {
            self.inner.delete(key)
        }
    }

    async fn engine_with(store: Arc<FailingStore>) -> (Engine, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(EngineConfig::new(store).data_dir(Some(dir.path().into())))
            .await
            .unwrap();
        (engine, dir)
    }

    fn request() -> (AddProject, NewComponents) {
        let mut req = AddProject::url("shop", "postgres://app@db.example.com:5432/shop");
        req.password = Some("db-password".into());
        // (no server there: these tests are about the secrets, not the connection)
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

    const KEYS: [fn(&str) -> String; 3] = [
        project_password_key,
        project_s3_secret_key,
        project_supabase_token_key,
    ];

    async fn nothing_left(engine: &Engine, store: &FailingStore) {
        assert!(engine.catalog.projects().await.unwrap().is_empty());
        for key in KEYS.map(|k| k("shop")) {
            assert_eq!(store.inner.get(&key).unwrap(), None, "{key}");
        }
    }

    #[tokio::test]
    async fn a_secret_that_cannot_be_written_midway_leaves_nothing() {
        for fail_at in 1..=3 {
            let store = Arc::new(FailingStore {
                inner: MemoryStore::new(),
                writes: AtomicUsize::new(0),
                fail_at,
            });
            let (engine, _dir) = engine_with(store.clone()).await;
            let (req, parts) = request();
            let e = add(&engine, req, parts).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::KeychainUnavailable, "write {fail_at}");
            nothing_left(&engine, &store).await;
            // Nothing half-registered either: the components table is empty.
            let rows: (i64,) = sqlx::query_as("SELECT count(*) FROM project_components")
                .fetch_one(engine.catalog.pool())
                .await
                .unwrap();
            assert_eq!(rows.0, 0);
        }
    }

    #[tokio::test]
    async fn everything_is_added_together() {
        let store = Arc::new(FailingStore {
            inner: MemoryStore::new(),
            writes: AtomicUsize::new(0),
            fail_at: usize::MAX,
        });
        let (engine, _dir) = engine_with(store.clone()).await;
        let (req, parts) = request();
        let (p, c) = add(&engine, req, parts).await.unwrap();
        assert_eq!(engine.catalog.components(&p.id).await.unwrap(), c);
        assert_eq!(c.default_type.as_deref(), Some("full"));
        assert_eq!(c.supabase.unwrap().project_ref, "abcdefghijklmnopqrst");
        let want = ["db-password", "s3-secret", "sbp_token"];
        for (key, v) in KEYS.map(|k| k("shop")).iter().zip(want) {
            assert_eq!(store.inner.get(key).unwrap().as_deref(), Some(v));
        }
    }

    #[tokio::test]
    async fn a_database_that_does_not_answer_is_refused_naming_no_test_and_nothing_is_kept() {
        let store = Arc::new(FailingStore {
            inner: MemoryStore::new(),
            writes: AtomicUsize::new(0),
            fail_at: usize::MAX,
        });
        let (engine, _dir) = engine_with(store.clone()).await;
        // Nothing listens on port 1 of this machine: refused at once.
        let (mut req, parts) = request();
        req.connection =
            crate::ops::ProjectConnection::Url("postgres://app@127.0.0.1:1/shop".into());
        req.skip_test = false;
        let e = add(&engine, req, parts).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
        assert!(e.message().contains("\"shop\" was not added"), "{e}");
        assert!(e.message().contains("127.0.0.1:1"), "{e}");
        assert!(e.hint().unwrap().contains("--no-test"), "{:?}", e.hint());
        assert!(!format!("{e} {:?}", e.hint()).contains("db-password"));
        assert_eq!(store.writes.load(Ordering::SeqCst), 0, "no secret written");
        nothing_left(&engine, &store).await;
        // Asked to skip the test: added as it is.
        let (mut req, parts) = request();
        req.connection =
            crate::ops::ProjectConnection::Url("postgres://app@127.0.0.1:1/shop".into());
        let (p, _) = add(&engine, req, parts).await.unwrap();
        assert_eq!(p.name, "shop");
    }

    #[tokio::test]
    async fn a_refused_part_or_taken_name_writes_no_secret() {
        let store = Arc::new(FailingStore {
            inner: MemoryStore::new(),
            writes: AtomicUsize::new(0),
            fail_at: usize::MAX,
        });
        let (engine, _dir) = engine_with(store.clone()).await;
        // A default type the parts cannot make: refused before any write.
        let (req, mut parts) = request();
        parts.storage = None;
        parts.default_type = Some("storage".into());
        let e = add(&engine, req, parts).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(store.writes.load(Ordering::SeqCst), 0);
        nothing_left(&engine, &store).await;
        // A taken name: the other project's secrets are not touched.
        let mut other = AddProject::url("SHOP", "postgres://app@h/d");
        other.skip_test = true;
        let (p, _) = add(&engine, other, NewComponents::default()).await.unwrap();
        store
            .inner
            .set(&project_password_key(&p.name), "theirs")
            .unwrap();
        let (req, parts) = request();
        let e = add(&engine, req, parts).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(
            store
                .inner
                .get(&project_password_key("SHOP"))
                .unwrap()
                .as_deref(),
            Some("theirs")
        );
    }
}
