//! One restore request, one plan, one job: a backup's database and storage restored together
//! on real servers (a throwaway PostgreSQL, moto S3 servers), the plan `--dry-run` shows being
//! the plan the job executed; a failure in the storage after the database says what was done.

use crate::common::env;
use bytes::Bytes;
use offsite_core::archive::BackupType;
use offsite_core::catalog::JobKind;
use offsite_core::catalog::JobState;
use offsite_core::ops::{JobFilter, StorageSettings};
use offsite_core::parity::PartVerdict;
use offsite_core::progress::ProgressUpdate;
use offsite_core::restore::{Component, DatabaseTo, StorageRestore, StorageTo};
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{ListRequest, ObjectSource, ObjectTarget, PutBody, PutRequest};
use offsite_core::storage::BucketSelection;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart, RestoreRequest};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{HttpFault, HttpFaultProxy, MotoServer, TestCluster};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn store(endpoint: &str) -> S3Store {
    S3Store::new(&S3Config {
        endpoint: Some(endpoint.into()),
        region: "us-east-1".into(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .unwrap()
}

fn settings(endpoint: &str) -> StorageSettings {
    StorageSettings {
        endpoint: Some(endpoint.into()),
        region: "us-east-1".into(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: Some(TEST_SECRET.into()),
        path_style: true,
        buckets: BucketSelection::Only(vec!["avatars".into()]),
        concurrency: Some(4),
    }
}

const OBJECTS: usize = 12;

/// A Supabase-shaped database with 42 rows in `t` and an `avatars` bucket of [`OBJECTS`]
/// objects, backed up whole as project `sb`: the archive.
async fn full_backup(pg: &TestCluster, env: &crate::common::Env) -> PathBuf {
    let db = pg.unique_db("onerestore");
    pg.load_supabase_fixture(&db);
    pg.psql(
        &db,
        "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 42) g",
    );
    let moto = MotoServer::start();
    let s3 = store(&moto.endpoint());
    s3.create_bucket("avatars").await.unwrap();
    for i in 0..OBJECTS {
        s3.put_object(
            "avatars",
            &format!("u/{i}.png"),
            PutBody::Bytes(Bytes::from(vec![i as u8; 100 + i])),
            &PutRequest::default(),
        )
        .await
        .unwrap();
    }
    env.engine
        .add_project(AddProject::url("sb", pg.url_with_password(&db)))
        .await
        .unwrap();
    env.engine
        .set_storage("sb", Some(settings(&moto.endpoint())))
        .await
        .unwrap();
    let full = env
        .engine
        .backup(
            BackupOptions {
                backup_type: Some(BackupType::Full),
                ..BackupOptions::project("sb")
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    PathBuf::from(&full.backup.path)
}

/// A fresh database with storage at `endpoint`, saved as project `name`: the database.
async fn fresh_project(
    pg: &TestCluster,
    env: &crate::common::Env,
    name: &str,
    endpoint: &str,
) -> String {
    let fresh = pg.unique_db(name);
    env.engine
        .add_project(AddProject::url(name, pg.url_with_password(&fresh)))
        .await
        .unwrap();
    env.engine
        .set_storage(name, Some(settings(endpoint)))
        .await
        .unwrap();
    fresh
}

fn both(archive: &PathBuf, project: &str) -> RestoreRequest {
    RestoreRequest::new(archive, DatabaseTo::Project(project.into()))
        .storage(StorageRestore::new(StorageTo::Project(project.into())))
}

async fn restore_jobs(env: &crate::common::Env) -> Vec<offsite_core::catalog::JobRecord> {
    env.engine
        .job_history(&JobFilter {
            kind: Some(JobKind::Restore),
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_restores_database_and_storage_in_one_job_with_one_report() {
    let pg = TestCluster::shared();
    let env = env().await;
    let archive = full_backup(pg, &env).await;
    let moto2 = MotoServer::start();
    let fresh = fresh_project(pg, &env, "copy", &moto2.endpoint()).await;
    let req = both(&archive, "copy");

    // --dry-run: one plan, a section per component, nothing changed.
    let plan = env.engine.plan_restore(&req).await.unwrap();
    assert_eq!(
        plan.components(),
        vec![Component::Database, Component::Storage]
    );
    assert!(plan.blockers().is_empty(), "{:?}", plan.blockers());
    assert!(plan.database.as_ref().unwrap().target_empty);
    assert_eq!(plan.storage.as_ref().unwrap().upload, OBJECTS as u64);
    assert!(plan.config.is_none());
    assert_eq!(
        pg.psql(
            &fresh,
            "SELECT count(*) FROM pg_tables WHERE tablename = 't'"
        ),
        "0"
    );

    // The run: one job, its progress naming the component it is on.
    let seen: Arc<Mutex<Vec<Option<Component>>>> = Arc::default();
    let s2 = seen.clone();
    let sink = move |u: &ProgressUpdate| s2.lock().unwrap().push(u.component);
    let out = env
        .engine
        .restore(req, JobStart::default().progress(Arc::new(sink)))
        .await
        .unwrap();
    let jobs = restore_jobs(&env).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].id, out.job_id);
    assert_eq!(jobs[0].state, JobState::Succeeded);
    let seen = seen.lock().unwrap().clone();
    let db_at = seen.iter().position(|c| *c == Some(Component::Database));
    let st_at = seen.iter().position(|c| *c == Some(Component::Storage));
    assert!(
        matches!((db_at, st_at), (Some(d), Some(s)) if d < s),
        "the database, then the storage: {seen:?}"
    );

    // One report with both sections; both restored.
    let r = &out.report;
    assert!(r.ok);
    let db = r.database.as_ref().expect("the database section");
    assert!(db.ok, "{:?}", db.tables);
    assert_eq!(
        r.storage.as_ref().expect("the storage section").uploaded,
        OBJECTS as u64
    );
    assert!(r.config.is_none());
    assert_eq!(pg.psql(&fresh, "SELECT count(*) FROM t"), "42");
    let page = store(&moto2.endpoint())
        .list_objects("avatars", &ListRequest::default())
        .await
        .unwrap();
    assert_eq!(page.objects.len(), OBJECTS);

    // The plan --dry-run showed is the plan the job executed, section by section.
    let executed = r.plan();
    fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).unwrap()
    }
    assert_eq!(json(&plan.database), json(&executed.database));
    assert_eq!(json(&plan.storage), json(&executed.storage));
    assert_eq!(json(&plan), json(&executed));

    // The parity report (issue 66): Storage's objects by key, size and checksum, beside the
    // database's parts.
    let objects = |p: &offsite_core::parity::ParityReport| {
        p.parts
            .iter()
            .find(|x| x.part == "storage-objects")
            .cloned()
            .unwrap_or_else(|| panic!("no storage-objects part: {p:#?}"))
    };
    let parity = r.parity.as_ref().expect("a parity report");
    let o = objects(parity);
    assert_eq!(o.verdict, PartVerdict::Equal, "{o:?}");
    assert_eq!(o.compared, "12 objects in 1 bucket (key, size, checksum)");
    assert!(
        parity.parts.iter().any(|p| p.part == "auth-users"),
        "{parity:#?}"
    );

    // Broken on purpose: one object's bytes changed (same size), one deleted, one stray added.
    let s2 = store(&moto2.endpoint());
    s2.put_object(
        "avatars",
        "u/3.png",
        PutBody::Bytes(Bytes::from(vec![9u8; 103])),
        &PutRequest::default(),
    )
    .await
    .unwrap();
    s2.delete_object("avatars", "u/5.png").await.unwrap();
    s2.put_object(
        "avatars",
        "stray.txt",
        PutBody::Bytes(Bytes::from_static(b"x")),
        &PutRequest::default(),
    )
    .await
    .unwrap();
    let again = env
        .engine
        .restore_parity(&both(&archive, "copy"))
        .await
        .unwrap();
    let o = objects(&again);
    assert_eq!(o.verdict, PartVerdict::Differs);
    assert_eq!(
        o.differences,
        [
            "avatars: 1 object missing in the target",
            "avatars: differs: u/3.png",
            "avatars: only in the target: stray.txt"
        ]
    );
    assert!(!again.equal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_failure_after_the_database_says_what_was_restored_and_what_not() {
    let pg = TestCluster::shared();
    let env = env().await;
    let archive = full_backup(pg, &env).await;
    let moto2 = MotoServer::start();
    let proxy = HttpFaultProxy::start(moto2.addr());
    let fresh = fresh_project(pg, &env, "broken", &proxy.endpoint()).await;
    // Listing works (the plan is fine); every write is refused.
    proxy.inject(Some("PUT"), HttpFault::Status(403), 10_000);

    let e = env
        .engine
        .restore(both(&archive, "broken"), JobStart::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    assert!(
        e.message().starts_with(
            "restoring the storage failed (restored: database; not restored: storage)"
        ),
        "{e}"
    );
    // The database part is done, and the one job failed with that error.
    assert_eq!(pg.psql(&fresh, "SELECT count(*) FROM t"), "42");
    let jobs = restore_jobs(&env).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].state, JobState::Failed);
    assert!(
        jobs[0]
            .error_message
            .as_deref()
            .unwrap_or_default()
            .contains("restored: database; not restored: storage"),
        "{:?}",
        jobs[0]
    );
    let page = store(&moto2.endpoint())
        .list_objects("avatars", &ListRequest::default())
        .await;
    assert!(
        page.map(|p| p.objects.is_empty()).unwrap_or(true),
        "no object was written"
    );
}
