//! A Supabase-shaped project on real servers — the fixture database on a throwaway PostgreSQL,
//! its `avatars` bucket on moto (S3) behind the HTTP fault proxy — backed up whole through the
//! engine as a user sets it up (`set_storage`, `backup --type full`), then restored component by
//! component: the database into a fresh database, the storage into another project's fresh
//! S3 server, an incremental chain into a folder. Faults during the pull end in a correct
//! archive; a permanent failure leaves nothing behind and nothing registered.

use crate::common::{env, target};
use bytes::Bytes;
use offsite_core::archive::{self, BackupType};
use offsite_core::ops::StorageSettings;
use offsite_core::restore::{StorageRestore, StorageTo};
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{
    collect, GetRequest, ListRequest, ObjectSource, ObjectTarget, PutBody, PutRequest,
};
use offsite_core::storage::{read_storage_doc, BucketSelection, BucketSettings};
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart, RestoreRequest};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{fidelity_snapshot, HttpFault, HttpFaultProxy, MotoServer, TestCluster};
use std::collections::BTreeMap;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

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
        concurrency: Some(8),
    }
}

fn body(i: usize, salt: u8) -> Vec<u8> {
    let n = [0, 1, 700, 5_000, 40_000, 150_000][i % 6] + i;
    (0..n)
        .map(|j| ((j * 131 + i * 7) % 251) as u8 ^ salt)
        .collect()
}

/// Everything in a bucket: key → (bytes, content type, cache control, metadata).
type Objects = BTreeMap<
    String,
    (
        Vec<u8>,
        Option<String>,
        Option<String>,
        BTreeMap<String, String>,
    ),
>;

async fn contents(s3: &S3Store, bucket: &str) -> Objects {
    let mut out = Objects::new();
    let mut req = ListRequest::default();
    loop {
        let page = s3.list_objects(bucket, &req).await.unwrap();
        for o in page.objects {
            let got = s3
                .get_object(bucket, &o.key, &GetRequest::default())
                .await
                .unwrap();
            let info = got.info.clone();
            let bytes = collect(got.stream).await.unwrap();
            out.insert(
                o.key,
                (bytes, info.content_type, info.cache_control, info.metadata),
            );
        }
        match page.next {
            Some(n) => req.continuation = Some(n),
            None => break,
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supabase_project_backs_up_whole_and_restores_by_component_on_real_servers() {
    let pg = TestCluster::shared();
    let db = pg.unique_db("sbwhole");
    pg.load_supabase_fixture(&db);
    let moto = MotoServer::start();
    let proxy = HttpFaultProxy::start(moto.addr());
    let direct = store(&moto.endpoint());
    direct.create_bucket("avatars").await.unwrap();
    direct.create_bucket("other").await.unwrap();
    let mut keys: Vec<String> = (0..60).map(|i| format!("u{}/pic {i}.png", i % 7)).collect();
    keys.extend(
        [
            "dots/../up",
            "double//slash",
            "/leading",
            "ünïcødé ✓/日本語.png",
            "folder/.emptyFolderPlaceholder",
        ]
        .map(String::from),
    );
    keys.push(format!("long/{}", "k".repeat(700)));
    for (i, k) in keys.iter().enumerate() {
        let meta: BTreeMap<String, String> = [("n".to_string(), i.to_string())].into();
        direct
            .put_object(
                "avatars",
                k,
                PutBody::Bytes(Bytes::from(body(i, 0))),
                &PutRequest {
                    content_type: Some(
                        if i % 2 == 0 {
                            "image/png"
                        } else {
                            "application/gzip"
                        }
                        .into(),
                    ),
                    cache_control: Some("max-age=3600".into()),
                    metadata: meta,
                },
            )
            .await
            .unwrap();
    }
    direct
        .put_object(
            "other",
            "not-selected",
            PutBody::Bytes(Bytes::from_static(b"x")),
            &PutRequest::default(),
        )
        .await
        .unwrap();
    let source_objects = contents(&direct, "avatars").await;

    let env = env().await;
    env.engine
        .add_project(AddProject::url("sb", pg.url_with_password(&db)))
        .await
        .unwrap();
    env.engine
        .set_storage("sb", Some(settings(&proxy.endpoint())))
        .await
        .unwrap();
    // The secret is in the keychain, not the catalog.
    let comps = env.engine.components("sb").await.unwrap();
    assert!(!serde_json::to_string(&comps).unwrap().contains(TEST_SECRET));
    let report = env.engine.test_storage("sb").await.unwrap();
    assert_eq!(report.buckets.len(), 1, "only the chosen bucket");
    assert_eq!(report.buckets[0].objects, keys.len() as u64);
    assert_eq!(report.buckets[0].readable, Some(true));

    // A permanent failure (the keys may not read): no archive, nothing registered.
    proxy.inject(Some("GET"), HttpFault::Status(403), 10_000);
    let e = env
        .engine
        .backup(
            BackupOptions {
                backup_type: Some(BackupType::Full),
                ..BackupOptions::project("sb")
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    proxy.clear();
    assert!(env.engine.backups("sb").await.unwrap().is_empty());
    let dir = env
        .engine
        .backup_dir_of(&env.engine.project("sb").await.unwrap());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name())
                .filter(|n| n != ".offsite-folder.lock") // the folder's lock, kept on purpose
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");

    // Faults on the way (503s, cut bodies): the archive is still exact.
    proxy.reset_counts();
    proxy.inject(Some("GET"), HttpFault::Status(503), 2);
    proxy.inject(Some("GET"), HttpFault::CutAfter(20_000), 2);
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
    assert_eq!(proxy.injected(), 4);
    assert_eq!(full.backup.backup_type, BackupType::Full);
    let full_path = PathBuf::from(&full.backup.path);
    let m = archive::read_manifest(&full_path).unwrap();
    assert!(m.member(archive::DATABASE_TOC_MEMBER).is_some());
    assert!(m.components.contains_key("storage"));
    let doc = read_storage_doc(&full_path, &CancellationToken::new()).unwrap();
    assert_eq!(doc.objects.len(), keys.len());
    assert_eq!(doc.buckets.len(), 1);
    assert_eq!(
        doc.buckets[0].settings,
        Some(BucketSettings {
            public: Some(true),
            file_size_limit: Some(5_242_880),
            allowed_mime_types: Some(vec!["image/png".into(), "image/jpeg".into()]),
        }),
        "bucket settings come from storage.buckets"
    );
    let verified = env
        .engine
        .verify(
            offsite_core::VerifyOptions::path(&full_path),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(verified.report.ok);

    // Database → a fresh database: identical.
    let fresh = pg.unique_db("sbwhole_restored");
    let restored = env
        .engine
        .restore(
            RestoreRequest::new(&full_path, target(pg, &fresh)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(restored.report.ok);
    fidelity_snapshot(pg, &fresh).assert_same_as(&fidelity_snapshot(pg, &db));

    // Storage → another project's fresh S3 server: byte-identical with its headers.
    let moto2 = MotoServer::start();
    env.engine
        .add_project(AddProject::url("copy", pg.url_with_password(&fresh)))
        .await
        .unwrap();
    env.engine
        .set_storage("copy", Some(settings(&moto2.endpoint())))
        .await
        .unwrap();
    let req = RestoreRequest::from_archive(&full_path).storage(StorageRestore {
        to: StorageTo::Project("copy".into()),
        buckets: BucketSelection::All,
        bucket_map: Default::default(),
        mirror: false,
        overwrite: false,
    });
    let plan = env
        .engine
        .plan_restore(&req)
        .await
        .unwrap()
        .storage
        .unwrap();
    assert!(plan.buckets[0].create, "the bucket is created");
    assert_eq!(plan.buckets[0].upload, keys.len() as u64);
    let done = env
        .engine
        .restore(req.clone(), JobStart::default())
        .await
        .unwrap()
        .report
        .storage
        .unwrap();
    assert_eq!(done.uploaded, keys.len() as u64);
    let copy = store(&moto2.endpoint());
    assert_eq!(contents(&copy, "avatars").await, source_objects);
    // Again: everything is identical, nothing uploaded.
    let again = env
        .engine
        .restore(req, JobStart::default())
        .await
        .unwrap()
        .report
        .storage
        .unwrap();
    assert_eq!((again.uploaded, again.skipped), (0, keys.len() as u64));

    // 1 % changed, some deleted, some added: the incremental downloads exactly those.
    direct
        .put_object(
            "avatars",
            &keys[3],
            PutBody::Bytes(Bytes::from(body(3, 0x55))),
            &PutRequest::default(),
        )
        .await
        .unwrap();
    direct.delete_object("avatars", &keys[10]).await.unwrap();
    direct.delete_object("avatars", &keys[11]).await.unwrap();
    for n in 0..3 {
        direct
            .put_object(
                "avatars",
                &format!("new/{n}.bin"),
                PutBody::Bytes(Bytes::from(body(n, 9))),
                &PutRequest::default(),
            )
            .await
            .unwrap();
    }
    let now_objects = contents(&direct, "avatars").await;
    proxy.reset_counts();
    // Backup times have whole seconds: the incremental is newer than its base.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let inc = env
        .engine
        .backup(
            BackupOptions {
                backup_type: Some(BackupType::Incremental),
                ..BackupOptions::project("sb")
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(inc.backup.backup_type, BackupType::Incremental);
    assert_eq!(
        proxy.gets(),
        4,
        "1 changed + 3 new objects downloaded, nothing else"
    );
    let inc_path = PathBuf::from(&inc.backup.path);
    let im = archive::read_manifest(&inc_path).unwrap();
    assert_eq!(
        im.base_backup_id,
        Some(m.backup_id.clone()),
        "built on the full backup"
    );
    assert!(
        im.member("database.dump").is_none(),
        "an incremental holds storage changes only"
    );

    // Verify checks the chain; retention keeps the base a kept incremental needs.
    let v = env
        .engine
        .verify(
            offsite_core::VerifyOptions::path(&inc_path),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(v.report.ok, "{:?}", v.report.problems);
    let aside = full_path.with_extension("aside");
    std::fs::rename(&full_path, &aside).unwrap();
    let v = env
        .engine
        .verify(
            offsite_core::VerifyOptions::path(&inc_path),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(!v.report.ok);
    assert!(
        v.report.problems.iter().any(|p| p.contains("base backup")),
        "{:?}",
        v.report.problems
    );
    std::fs::rename(&aside, &full_path).unwrap();
    // With its base back, it verifies again (and is counted as good again).
    let v = env
        .engine
        .verify(
            offsite_core::VerifyOptions::path(&inc_path),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(v.report.ok, "{:?}", v.report.problems);
    env.engine
        .set_retention(
            "sb",
            offsite_core::schedule::RetentionPolicy {
                keep_last: Some(1),
                ..Default::default()
            },
            Some("UTC"),
        )
        .await
        .unwrap();
    let preview = env
        .engine
        .prune(
            offsite_core::ops::PruneOptions {
                project: "sb".into(),
                dry_run: true,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    let kept: Vec<&str> = preview.kept.iter().map(|k| k.id.as_str()).collect();
    assert!(
        kept.contains(&inc.backup.id.as_str()) && kept.contains(&full.backup.id.as_str()),
        "{:#?}",
        preview.kept
    );
    assert!(preview.removed.is_empty(), "{:?}", preview.removed);

    // The chain restored into a folder equals the bucket now.
    let out = tempfile::tempdir().unwrap();
    let folder = env
        .engine
        .restore(
            RestoreRequest::from_archive(inc_path).storage(StorageRestore::new(StorageTo::Folder(
                out.path().to_path_buf(),
            ))),
            JobStart::default(),
        )
        .await
        .unwrap()
        .report
        .storage
        .unwrap();
    assert_eq!(folder.uploaded, now_objects.len() as u64);
    let idx: BTreeMap<String, String> =
        std::fs::read(out.path().join("avatars/.offsite-keys.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
    for (key, (bytes, ..)) in &now_objects {
        let rel = idx
            .iter()
            .find(|(_, k)| *k == key)
            .map(|(hash, _)| format!(".offsite-key/{hash}"))
            .unwrap_or_else(|| key.clone());
        let got = std::fs::read(out.path().join("avatars").join(&rel))
            .unwrap_or_else(|e| panic!("{key:?} ({rel}): {e}"));
        assert_eq!(&got, bytes, "{key:?}");
    }
}

/// The desktop shell spawns these on tokio tasks: their futures must be `Send`.
#[allow(dead_code)]
fn restore_futures_are_send(engine: &offsite_core::Engine, req: RestoreRequest) {
    fn send<T: Send>(_: T) {}
    send(engine.restore(req.clone(), JobStart::default()));
    send(engine.plan_restore(&req));
    send(engine.backup(BackupOptions::project("x"), JobStart::default()));
}
