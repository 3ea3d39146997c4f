//! Storage incrementals against a server whose listings carry no ETags: moto (S3) behind the
//! HTTP proxy, which strips `<ETag>` from every ListObjectsV2 answer (as s3s-fs lists). Only
//! the changed objects are downloaded again (size and last-modified decide, a HEAD where that
//! is ambiguous), and the rule that decided is named per bucket. And against s3s-fs itself,
//! whose listings have no ETags and sub-second times while its GETs answer whole seconds.

use bytes::Bytes;
use offsite_core::archive::{self, ArchiveWriter, BackupType, Written};
use offsite_core::backup::{compose, ComposeRequest, StorageInput};
use offsite_core::progress::Reporter;
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{ListRequest, ObjectSource, ObjectTarget, PutBody, PutRequest};
use offsite_core::storage::{
    pull_into, BucketSelection, ChangeRule, PreviousStorage, PullOptions, PullSummary, StorageDoc,
    STORAGE_DOC,
};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::s3s_fs::{S3S_KEY_ID, S3S_SECRET};
use offsite_testkit::{HttpFault, HttpFaultProxy, MotoServer, S3sFsServer};
use std::path::Path;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

const BUCKET: &str = "media";
const OBJECTS: usize = 200;

fn store(endpoint: &str) -> S3Store {
    store_with(endpoint, TEST_KEY_ID, TEST_SECRET)
}

fn store_with(endpoint: &str, key_id: &str, secret: &str) -> S3Store {
    S3Store::new(&S3Config {
        endpoint: Some(endpoint.into()),
        region: "us-east-1".into(),
        access_key_id: key_id.into(),
        secret_access_key: secret.into(),
        path_style: true,
    })
    .unwrap()
}

fn key(i: usize) -> String {
    format!("u{}/obj-{i:03}.bin", i % 5)
}

fn body(i: usize, salt: u8) -> Vec<u8> {
    (0..(100 + i * 37))
        .map(|j| ((j * 131 + i * 7) % 251) as u8 ^ salt)
        .collect()
}

async fn put(s3: &S3Store, i: usize, salt: u8) {
    s3.put_object(
        BUCKET,
        &key(i),
        PutBody::Bytes(Bytes::from(body(i, salt))),
        &PutRequest::default(),
    )
    .await
    .unwrap();
}

fn options(previous: Option<PreviousStorage>) -> PullOptions {
    PullOptions {
        buckets: BucketSelection::Only(vec![BUCKET.into()]),
        concurrency: 4,
        incremental: previous.is_some(),
        previous,
        ..PullOptions::default()
    }
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap()
}

/// A full storage backup through the proxy; its storage.json.
async fn full(dir: &Path, src: Arc<dyn ObjectSource>) -> (Written, StorageDoc) {
    let w = compose(
        ComposeRequest {
            project: "p".into(),
            dest_dir: dir.to_path_buf(),
            compression: offsite_core::archive::Compression::Gzip(1),
            backup_id: "b-full".into(),
            created_at: time::OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap(),
            backup_type: BackupType::Storage,
            database: None,
            storage: Some(StorageInput {
                source: src,
                options: options(None),
            }),
            config: None,
        },
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    archive::copy_member(
        &w.path,
        STORAGE_DOC,
        &mut raw,
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .unwrap();
    let doc = serde_json::from_slice(&raw).unwrap();
    (w, doc)
}

/// An incremental pull over `prev`; its summary (the archive is not finished).
async fn incremental(dir: &Path, src: Arc<dyn ObjectSource>, prev: PreviousStorage) -> PullSummary {
    let mut w = ArchiveWriter::create(dir, "inc_incremental.tar.gz", 1).unwrap();
    pull_into(
        src,
        &mut w,
        &now_rfc3339(),
        &options(Some(prev)),
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
    .unwrap()
}

/// HEADs the proxy recorded (it records an exchange after closing the client's connection:
/// waits up to 5 s for `want`).
async fn heads(proxy: &HttpFaultProxy, want: usize) -> usize {
    let count = || {
        proxy
            .exchanges()
            .iter()
            .filter(|e| e.method == "HEAD")
            .count()
    };
    for _ in 0..50 {
        if count() >= want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_listed_etags_size_and_last_modified_find_the_one_percent_changed() {
    let moto = MotoServer::start();
    let direct = store(&moto.endpoint());
    direct.create_bucket(BUCKET).await.unwrap();
    for i in 0..OBJECTS {
        put(&direct, i, 0).await;
    }
    let proxy = HttpFaultProxy::start(moto.addr());
    proxy.inject_path(
        Some("GET"),
        &format!("/{BUCKET}"),
        HttpFault::StripListingEtags,
        u32::MAX,
    );
    let via: Arc<dyn ObjectSource> = Arc::new(store(&proxy.endpoint()));
    // The server really lists no ETags (through the proxy), and HEAD still has them.
    let page = via
        .list_objects(BUCKET, &ListRequest::default())
        .await
        .unwrap();
    assert_eq!(page.objects.len(), OBJECTS);
    assert!(page.objects.iter().all(|o| o.etag.is_none()));
    assert!(page.objects.iter().all(|o| o.last_modified.is_some()));
    let head = via.stat_object(BUCKET, &key(0)).await.unwrap().unwrap();
    assert!(head.etag.is_some());

    // The previous backup began a second after the last write (S3's times have whole seconds).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let dir = tempfile::tempdir().unwrap();
    let began = now_rfc3339();
    let (w, doc) = full(dir.path(), via.clone()).await;
    assert_eq!(doc.objects.len(), OBJECTS);
    assert!(
        doc.objects.iter().all(|o| o.etag.is_some()),
        "the GETs gave every object its ETag"
    );
    let prev = |created_at: Option<String>| PreviousStorage {
        backup_id: w.manifest.backup_id.clone(),
        archive: w.path.clone(),
        doc: doc.clone(),
        created_at,
    };

    // 1 % changed: one rewritten with the same size, one with another size.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    put(&direct, 17, 0x5a).await;
    direct
        .put_object(
            BUCKET,
            &key(123),
            PutBody::Bytes(Bytes::from(body(124, 0))),
            &PutRequest::default(),
        )
        .await
        .unwrap();

    proxy.reset_counts();
    let s = incremental(dir.path(), via.clone(), prev(Some(began))).await;
    assert_eq!(proxy.gets(), 2, "only the 2 changed objects are downloaded");
    assert_eq!(heads(&proxy, 0).await, 0, "nothing was ambiguous");
    assert_eq!((s.downloaded_objects, s.reused_objects), (2, 198));
    assert_eq!(s.change_rules.len(), 1);
    let rules = &s.change_rules[0];
    assert_eq!(rules.rules, vec![(ChangeRule::SizeAndModified, 200, 198)]);
    let line = rules.describe();
    assert!(
        line.contains(BUCKET) && line.contains("size and last-modified"),
        "the job's log names the rule: {line}"
    );

    // Without knowing when the previous backup began, every match is ambiguous: a HEAD each,
    // and still only the changed ones are downloaded.
    proxy.reset_counts();
    let s = incremental(dir.path(), via.clone(), prev(None)).await;
    assert_eq!(proxy.gets(), 2, "only the 2 changed objects are downloaded");
    assert_eq!(
        heads(&proxy, 198).await,
        198,
        "one HEAD per same-size, same-time object"
    );
    assert_eq!(
        s.change_rules[0].rules,
        vec![
            (ChangeRule::SizeAndModified, 2, 0),
            (ChangeRule::Head, 198, 198)
        ]
    );
    assert!(s.change_rules[0].describe().contains("HEAD"));
}

/// s3s-fs as installed: its listing has no ETags and gives last-modified to the fraction of a
/// second, while the full backup recorded what its GETs answered (whole seconds). 500 objects,
/// 1 % rewritten: the incremental downloads those 5 and reuses the 495 others. One more object
/// is rewritten with another size and given its old second back (s3s-fs's time is the file's):
/// the size still tells it changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3s_fs_listing_with_fractions_of_a_second_reuses_what_did_not_change() {
    const N: usize = 500;
    let server = S3sFsServer::start();
    let direct = store_with(&server.endpoint(), S3S_KEY_ID, S3S_SECRET);
    direct.create_bucket(BUCKET).await.unwrap();
    for i in 0..N {
        put(&direct, i, 0).await;
    }
    let proxy = HttpFaultProxy::start(server.addr());
    let via: Arc<dyn ObjectSource> =
        Arc::new(store_with(&proxy.endpoint(), S3S_KEY_ID, S3S_SECRET));
    // What the server is like: no ETags listed, and times with fractions of a second.
    let mut listed = Vec::new();
    let mut req = ListRequest::default();
    loop {
        let page = via.list_objects(BUCKET, &req).await.unwrap();
        listed.extend(page.objects);
        match page.next {
            Some(next) => req.continuation = Some(next),
            None => break,
        }
    }
    assert_eq!(listed.len(), N);
    assert!(
        listed.iter().all(|o| o.etag.is_none()),
        "s3s-fs lists no ETags"
    );
    assert!(
        listed
            .iter()
            .any(|o| o.last_modified.is_some_and(|t| t.nanosecond() != 0)),
        "s3s-fs lists fractions of a second"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let dir = tempfile::tempdir().unwrap();
    let began = now_rfc3339();
    let (w, doc) = full(dir.path(), via.clone()).await;
    assert_eq!(doc.objects.len(), N);
    let recorded = |k: &str| {
        let o = doc.objects.iter().find(|o| o.key == k).unwrap();
        time::OffsetDateTime::parse(o.last_modified.as_deref().unwrap(), &Rfc3339).unwrap()
    };
    assert!(
        doc.objects
            .iter()
            .all(|o| recorded(&o.key).nanosecond() == 0),
        "the full backup recorded the GETs' whole seconds"
    );

    // 1 % rewritten (5 objects), after the full backup began.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let rewritten = [3usize, 101, 222, 350, 499];
    for &i in &rewritten {
        put(&direct, i, 0x5a).await;
    }
    // One more: another size, its time put back within the second the backup recorded.
    let sneaky = 250usize;
    direct
        .put_object(
            BUCKET,
            &key(sneaky),
            PutBody::Bytes(Bytes::from(body(sneaky + 1, 0))),
            &PutRequest::default(),
        )
        .await
        .unwrap();
    let file = server.root().join(BUCKET).join(key(sneaky));
    let same_second = recorded(&key(sneaky)) + time::Duration::milliseconds(900);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(same_second.into())
        .unwrap();
    let relisted = via
        .stat_object(BUCKET, &key(sneaky))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        relisted.last_modified.unwrap().unix_timestamp(),
        recorded(&key(sneaky)).unix_timestamp(),
        "the rewritten object's time is in the second the backup recorded"
    );

    proxy.reset_counts();
    let prev = PreviousStorage {
        backup_id: w.manifest.backup_id.clone(),
        archive: w.path.clone(),
        doc: doc.clone(),
        created_at: Some(began),
    };
    let s = incremental(dir.path(), via.clone(), prev).await;
    let changed = rewritten.len() as u64 + 1;
    assert_eq!(
        (s.downloaded_objects, s.reused_objects),
        (changed, N as u64 - changed),
        "only the changed objects are downloaded: {:?}",
        s.change_rules
    );
    assert_eq!(proxy.gets() as u64, changed, "one GET per changed object");
    assert_eq!(
        s.change_rules[0].rules,
        vec![(ChangeRule::SizeAndModified, N as u64, N as u64 - changed)]
    );
}
