//! Copies to a real S3-compatible server on 127.0.0.1 (moto), through the engine: a backup's
//! archive and `.sha256` land in the bucket under its prefix, checked; the copy is fetched back
//! after the local file is deleted. Behind testkit's HTTP fault proxy: an upload cut every time
//! leaves the copy pending with no object and no unfinished upload in the bucket, and the
//! catalog records no stored copy; once the faults stop, `sync` stores it. A bucket nobody
//! answers for leaves the copy pending too; the backup succeeds every time.

use crate::common::{env_configured, Env};
use offsite_core::catalog::{CopyState, DestinationSpec, S3Target};
use offsite_core::destinations::{Destination, S3Destination, S3DestinationConfig};
use offsite_core::ops::{FetchCopyOptions, SyncOptions, VerifyOptions};
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::ObjectTarget;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart};
use offsite_testkit::s3::{HttpFault, HttpFaultProxy, TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{MotoServer, TestCluster};
use std::path::{Path, PathBuf};

const BUCKET: &str = "offsite-copies";

fn spec(name: &str, endpoint: &str) -> DestinationSpec {
    DestinationSpec {
        name: name.into(),
        s3: Some(S3Target {
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            bucket: BUCKET.into(),
            prefix: "team/offsite".into(),
            key_id: TEST_KEY_ID.into(),
            path_style: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn moto() -> MotoServer {
    let moto = MotoServer::start();
    let store = S3Store::new(&S3Config {
        endpoint: Some(moto.endpoint()),
        region: "us-east-1".into(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .unwrap();
    store.create_bucket(BUCKET).await.expect("create bucket");
    moto
}

/// Every key in the bucket and every unfinished multipart upload.
async fn bucket_contents(endpoint: &str) -> Vec<String> {
    let d = S3Destination::new(&S3DestinationConfig {
        endpoint: Some(endpoint.into()),
        region: "us-east-1".into(),
        bucket: BUCKET.into(),
        prefix: String::new(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .unwrap();
    let mut out: Vec<String> = d
        .pending_uploads()
        .await
        .unwrap()
        .into_iter()
        .map(|k| format!("unfinished upload of {k}"))
        .collect();
    out.extend(d.list("").await.unwrap().into_iter().map(|o| o.name));
    out
}

async fn project(pg: &TestCluster, env: &Env, name: &str) {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 500);",
    );
    env.engine
        .add_project(AddProject::url(name, pg.url_with_password(&db)))
        .await
        .unwrap();
}

fn file_name(p: &str) -> String {
    Path::new(p)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn copies_go_to_a_real_bucket_and_come_back() {
    let pg = TestCluster::shared();
    let moto = moto().await;
    let env = env_configured(|c| c).await;
    project(pg, &env, "s3copy").await;
    let e = &env.engine;
    let d = e
        .add_destination(
            "s3copy",
            spec("bucket", &moto.endpoint()),
            Some(TEST_SECRET.into()),
        )
        .await
        .unwrap();
    assert!(d.offsite);
    let t = e.test_destination("s3copy", "bucket").await.unwrap();
    assert!(t.writable && !t.offline, "{t:?}");
    let o = e
        .backup(BackupOptions::project("s3copy"), JobStart::default())
        .await
        .unwrap();
    assert_eq!(o.copies.len(), 1);
    assert_eq!(o.copies[0].state, CopyState::Stored, "{:?}", o.copies);
    let name = file_name(&o.backup.path);
    let mut keys = bucket_contents(&moto.endpoint()).await;
    keys.sort();
    assert_eq!(
        keys,
        vec![
            format!("team/offsite/s3copy/{name}"),
            format!("team/offsite/s3copy/{name}.sha256"),
        ]
    );
    let p = e.protection("s3copy").await.unwrap();
    assert_eq!((p.copies, p.media, p.offsite), (2, 2, true));

    // The local file is gone: fetched back from the bucket, checked, verified.
    let path = PathBuf::from(&o.backup.path);
    let original = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    e.fetch_copy(
        FetchCopyOptions {
            project: "s3copy".into(),
            backup_id: o.backup.id.clone(),
            destination: None,
        },
        JobStart::default(),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), original);
    let v = e
        .verify(VerifyOptions::path(&path), JobStart::default())
        .await
        .unwrap();
    assert!(v.report.ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_upload_registers_no_copy_and_an_unreachable_bucket_leaves_it_pending() {
    let pg = TestCluster::shared();
    let moto = moto().await;
    let proxy = HttpFaultProxy::start(moto.addr());
    let env = env_configured(|c| c).await;
    project(pg, &env, "s3cut").await;
    let e = &env.engine;
    e.add_destination(
        "s3cut",
        spec("bucket", &proxy.endpoint()),
        Some(TEST_SECRET.into()),
    )
    .await
    .unwrap();
    // Every upload into the bucket is cut after 1 KiB of its body.
    proxy.inject_path(
        Some("PUT"),
        &format!("/{BUCKET}/team/offsite/"),
        HttpFault::CutRequestAfter(1024),
        1000,
    );
    let o = e
        .backup(BackupOptions::project("s3cut"), JobStart::default())
        .await
        .unwrap();
    assert!(Path::new(&o.backup.path).is_file(), "the backup succeeded");
    assert_eq!(o.copies[0].state, CopyState::Pending, "{:?}", o.copies);
    assert!(proxy.injected() >= 1);
    assert_eq!(
        bucket_contents(&moto.endpoint()).await,
        Vec::<String>::new()
    );
    let copies = e.copies("s3cut").await.unwrap();
    let states: Vec<_> = copies[0]
        .copies
        .iter()
        .map(|c| (c.destination.as_str(), c.state))
        .collect();
    assert_eq!(
        states,
        [("local", CopyState::Stored), ("bucket", CopyState::Pending)]
    );
    assert!(copies[0].copies[1].last_error.is_some());

    // The faults stop: sync stores it, whole.
    proxy.clear();
    let s = e
        .sync(
            SyncOptions {
                project: "s3cut".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(s.pending, 0, "{s:?}");
    let name = file_name(&o.backup.path);
    let mut keys = bucket_contents(&moto.endpoint()).await;
    keys.sort();
    assert_eq!(
        keys,
        vec![
            format!("team/offsite/s3cut/{name}"),
            format!("team/offsite/s3cut/{name}.sha256"),
        ]
    );

    // A bucket nobody answers for (a closed port): pending, connection, the backup succeeds.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    e.add_destination(
        "s3cut",
        spec("gone", &format!("http://{closed}")),
        Some(TEST_SECRET.into()),
    )
    .await
    .unwrap();
    let o = e
        .backup(BackupOptions::project("s3cut"), JobStart::default())
        .await
        .unwrap();
    let gone = o.copies.iter().find(|c| c.destination == "gone").unwrap();
    assert_eq!(gone.state, CopyState::Pending);
    assert_eq!(
        gone.error.as_ref().unwrap().code,
        ErrorKind::Connection,
        "{gone:?}"
    );
    let t = e.test_destination("s3cut", "gone").await.unwrap();
    assert!(!t.writable, "{t:?}");
    let p = e.protection("s3cut").await.unwrap();
    assert_eq!(p.pending.len(), 1);
    assert_eq!(p.pending[0].destination, "gone");
}
