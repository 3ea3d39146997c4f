//! A hostile S3-compatible store (testkit's `CraftedS3`: the attacker answers the listings a
//! test scripts) behind the real S3 client, pulled into an archive: a continuation token that
//! repeats, a key listed twice (across pages and on one page), keys that go back. Each ends in
//! a clear `integrity` error naming the bucket, within seconds, and nothing is written.

use offsite_core::archive::BackupType;
use offsite_core::backup::{compose, ComposeRequest, StorageInput};
use offsite_core::progress::Reporter;
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::storage::{BucketSelection, PullOptions};
use offsite_core::{Error, ErrorKind};
use offsite_testkit::crafted_s3::{CraftedPage, CraftedS3, BUCKET};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn page(keys: &[&str], next: Option<&str>) -> CraftedPage {
    CraftedPage {
        keys: keys.iter().map(|k| k.to_string()).collect(),
        next: next.map(str::to_string),
    }
}

/// Pulls the crafted store's bucket into a new folder: the error, and what the folder holds.
async fn pull(server: &CraftedS3) -> (Error, Vec<String>) {
    let store = S3Store::new(&S3Config {
        endpoint: Some(server.endpoint()),
        region: "us-east-1".into(),
        access_key_id: "AKIDTEST".into(),
        secret_access_key: "not-a-secret".into(),
        path_style: true,
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let req = ComposeRequest {
        project: "shop".into(),
        dest_dir: dir.path().to_path_buf(),
        compression: offsite_core::archive::Compression::Gzip(1),
        backup_id: "b-hostile".into(),
        created_at: time::macros::datetime!(2026-11-22 10:00:00 UTC),
        backup_type: BackupType::Storage,
        database: None,
        storage: Some(StorageInput {
            source: Arc::new(store),
            options: PullOptions {
                buckets: BucketSelection::Only(vec![BUCKET.into()]),
                concurrency: 2,
                ..PullOptions::default()
            },
        }),
        config: None,
    };
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        compose(req, &Reporter::silent(), &CancellationToken::new()),
    )
    .await
    .expect("the pull never ended (it follows the hostile listing forever)");
    let e = r.expect_err("a hostile listing was accepted");
    let left = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".offsite-folder.lock")
        .collect();
    (e, left)
}

fn assert_refused(e: &Error, left: &[String], says: &str) {
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert_eq!(e.code(), "integrity");
    assert!(e.message().contains(&format!("bucket {BUCKET:?}")), "{e}");
    assert!(e.message().contains(says), "{e}");
    assert!(e.hint().unwrap().contains("nothing was written"), "{e:?}");
    assert!(left.is_empty(), "written: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_continuation_token_ends_in_a_clear_error() {
    let s = CraftedS3::start();
    s.object("a", b"alpha");
    s.object("b", b"bravo");
    // The first page points to "t1", whose page points to "t1" again: forever.
    s.page(None, page(&["a"], Some("t1")));
    s.page(Some("t1"), page(&["b"], Some("t1")));
    let (e, left) = pull(&s).await;
    assert_refused(&e, &left, "continuation token it had already given");
    assert!(s.listings() <= 6, "{} listings", s.listings());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_of_empty_pages_that_always_say_more_ends() {
    let s = CraftedS3::start();
    // Empty, truncated pages whose tokens cycle through two values.
    s.page(None, page(&[], Some("x")));
    s.page(Some("x"), page(&[], Some("y")));
    s.page(Some("y"), page(&[], Some("x")));
    let (e, left) = pull(&s).await;
    assert_refused(&e, &left, "continuation token it had already given");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_listed_twice_across_pages_is_refused_never_archived_twice() {
    let s = CraftedS3::start();
    s.object("a", b"alpha");
    s.object("b", b"bravo");
    s.object("c", b"charlie");
    s.page(None, page(&["a", "b"], Some("t2")));
    s.page(Some("t2"), page(&["b", "c"], None));
    let (e, left) = pull(&s).await;
    assert_refused(&e, &left, "the store listed key \"b\" twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_listed_twice_on_one_page_is_refused() {
    let s = CraftedS3::start();
    s.object("a", b"alpha");
    s.page(None, page(&["a", "a"], None));
    let (e, left) = pull(&s).await;
    assert_refused(&e, &left, "the store listed key \"a\" twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_go_back_are_refused() {
    let s = CraftedS3::start();
    s.object("a", b"alpha");
    s.object("m", b"mike");
    s.page(None, page(&["m"], Some("t2")));
    s.page(Some("t2"), page(&["a"], None));
    let (e, left) = pull(&s).await;
    assert_refused(&e, &left, "not in ascending order");
}
