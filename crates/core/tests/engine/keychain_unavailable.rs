//! The engine with a keychain it cannot reach (as on a server without a D-Bus session): what
//! needs no password works — backup, test, restore into a project — and what needs one fails
//! with `keychain_unavailable`, naming `OFFSITE_SECRET_STORE=env` and the variable to set.

use offsite_core::restore::DatabaseTo;
use offsite_core::secrets::{env_var_for_key, headless_hint, SecretStore};
use offsite_core::{
    AddProject, BackupOptions, Engine, EngineConfig, Error, ErrorKind, JobStart, RestoreRequest,
};
use offsite_testkit::TestCluster;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A keychain that is never there; counts how often it was asked.
#[derive(Default)]
struct NoKeychain {
    calls: AtomicUsize,
}

impl NoKeychain {
    fn unavailable(&self, key: &str) -> Error {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Error::new(
            ErrorKind::KeychainUnavailable,
            format!("the OS keychain is unavailable (reading {key:?}): no D-Bus session"),
        )
        .with_hint(headless_hint(key))
    }
}

impl SecretStore for NoKeychain {
    fn get(&self, key: &str) -> offsite_core::Result<Option<String>> {
        Err(self.unavailable(key))
    }
    fn set(&self, key: &str, _: &str) -> offsite_core::Result<()> {
        Err(self.unavailable(key))
    }
    fn delete(&self, key: &str) -> offsite_core::Result<()> {
        Err(self.unavailable(key))
    }
    fn name(&self) -> &'static str {
        "no-keychain"
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_keychain_what_needs_no_password_works_and_the_rest_says_what_to_set() {
    let pg = TestCluster::shared();
    let role = "engine_trust";
    pg.create_trusted_role(role);
    let src = pg.unique_db("nokc_src");
    let dst = pg.unique_db("nokc_dst");
    for db in [&src, &dst] {
        pg.psql(
            db,
            &format!("ALTER DATABASE {db} OWNER TO {role}; ALTER SCHEMA public OWNER TO {role};"),
        );
    }
    pg.psql(&src, &format!("SET ROLE {role}; CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 42);"));
    let url = |db: &str| format!("postgres://{role}@{}:{}/{db}", pg.host(), pg.port());

    let store = Arc::new(NoKeychain::default());
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(store.clone()).data_dir(dir.path().join("data")))
        .await
        .unwrap();

    // Storing a password needs the keychain: refused, nothing registered, no password shown.
    let e = engine
        .add_project(AddProject::url("stored", pg.url_with_password(&src)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeychainUnavailable, "{e}");
    assert!(!format!("{e} {:?}", e.hint()).contains(pg.superuser_password()));
    assert!(engine.projects().await.unwrap().is_empty());

    // No password needed: backup, test, restore into a project, remove.
    engine
        .add_project(AddProject::url("src", url(&src)))
        .await
        .unwrap();
    engine
        .add_project(AddProject::url("dst", url(&dst)))
        .await
        .unwrap();
    assert!(engine.test_project("src").await.unwrap().can_dump);
    let b = engine
        .backup(BackupOptions::project("src"), JobStart::default())
        .await
        .unwrap();
    let target = engine
        .restore_target(&DatabaseTo::Project("dst".into()))
        .await
        .unwrap();
    assert!(target.password.is_none());
    let r = engine
        .restore(
            RestoreRequest::new(
                PathBuf::from(&b.backup.path),
                DatabaseTo::Project("dst".into()),
            ),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(
        r.report.ok,
        "{:?}",
        r.report.database.as_ref().unwrap().tables
    );
    assert_eq!(pg.psql(&dst, "SELECT count(*) FROM t"), "42");
    assert!(
        store.calls.load(Ordering::SeqCst) >= 3,
        "the keychain was asked first"
    );
    engine.remove_project("dst").await.unwrap();
    assert!(engine.project("dst").await.is_err());

    // The server asks for a password: the keychain's error, for every way in.
    engine
        .add_project(AddProject::url("needs", pg.url(&src)))
        .await
        .unwrap();
    let var = env_var_for_key("project:needs:db-password");
    let errors = [
        engine
            .backup(BackupOptions::project("needs"), JobStart::default())
            .await
            .unwrap_err(),
        engine.test_project("needs").await.unwrap_err(),
        engine
            .restore_target(&DatabaseTo::Project("needs".into()))
            .await
            .err()
            .unwrap(),
    ];
    for e in errors {
        assert_eq!(e.kind(), ErrorKind::KeychainUnavailable, "{e}");
        assert!(e.message().contains("asks for a password"), "{e}");
        let hint = e.hint().unwrap();
        assert!(
            hint.contains("OFFSITE_SECRET_STORE=env") && hint.contains(&var),
            "{hint}"
        );
        assert!(!e.is_retryable() && !e.is_temporary());
    }
}
