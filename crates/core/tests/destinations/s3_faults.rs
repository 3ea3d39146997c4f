//! `S3Destination` against a real S3 server (moto; moto checking signatures for credentials) behind testkit's
//! HTTP fault proxy: uploads cut mid-part, 5xx, throttling (503 SlowDown), wrong credentials,
//! a missing bucket. Afterwards no object and no unfinished upload is left, errors carry their
//! codes, and retries happen where they help (per part: a cut part is sent again, not the file).

use crate::common::{
    bucket_leftovers, bucket_leftovers_as, config, config_on, moto_with, random_file,
    signing_moto_with,
};
use offsite_core::destinations::{put_file, Destination, PutOptions, S3Destination};
use offsite_core::retry::RetryPolicy;
use offsite_core::ErrorKind;
use offsite_testkit::conformance::{quick_retries, sha256_hex};
use offsite_testkit::s3::{HttpFault, HttpFaultProxy};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

fn behind(proxy: &HttpFaultProxy, policy: RetryPolicy) -> S3Destination {
    S3Destination::new(&config(&proxy.endpoint(), "copies", "f"))
        .unwrap()
        .with_part_size(5 * MIB)
        .with_retry(policy)
}

/// PUTs of parts (`PUT /copies/f/…?partNumber=…`), not the single puts of small objects.
fn part_puts(proxy: &HttpFaultProxy) -> usize {
    proxy
        .exchanges()
        .iter()
        .filter(|x| x.method == "PUT" && x.path.starts_with("/copies/f/"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_cut_midway_is_sent_again_and_the_copy_is_whole() {
    let moto = moto_with("copies").await;
    let proxy = HttpFaultProxy::start(moto.addr());
    let dest = behind(&proxy, quick_retries());
    let dir = tempfile::tempdir().unwrap();
    let src = random_file(dir.path(), "a", 12 * MIB + 7, 1); // 3 parts
                                                             // The second part's upload is cut after 1 MiB of its body.
    proxy.inject_path(Some("PUT"), "/copies/f/", HttpFault::All(vec![]), 1);
    proxy.inject_path(
        Some("PUT"),
        "/copies/f/",
        HttpFault::CutRequestAfter(MIB as u64),
        1,
    );
    let stored = put_file(&dest, "a.tar.gz", &src, PutOptions::default())
        .await
        .unwrap();
    assert_eq!(proxy.injected(), 2);
    assert_eq!(
        part_puts(&proxy),
        3 + 1,
        "one part sent again, not the whole file"
    );
    let want = sha256_hex(&std::fs::read(&src).unwrap());
    assert_eq!(stored.sha256.as_deref(), Some(want.as_str()));
    assert_eq!(dest.deep_sha256("a.tar.gz").await.unwrap(), want);
    assert_eq!(
        bucket_leftovers(&moto.endpoint(), "copies", false),
        vec!["f/a.tar.gz"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_cut_every_time_fail_as_connection_and_leave_nothing() {
    let moto = moto_with("copies").await;
    let proxy = HttpFaultProxy::start(moto.addr());
    let dest = behind(&proxy, quick_retries());
    let dir = tempfile::tempdir().unwrap();
    let src = random_file(dir.path(), "a", 12 * MIB, 2);
    proxy.inject_path(
        Some("PUT"),
        "/copies/f/",
        HttpFault::CutRequestAfter(MIB as u64),
        1000,
    );
    let e = put_file(&dest, "a.tar.gz", &src, PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(
        e.is_temporary(),
        "a cut connection is worth trying later: {e}"
    );
    assert!(e.message().contains("gave up after 6 tries"), "{e}");
    // The abort went through the same proxy (a DELETE): nothing is left.
    // (The proxy records an exchange just after the client has its answer: wait, bounded.)
    let t0 = Instant::now();
    while !proxy.exchanges().iter().any(|x| x.method == "DELETE") {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no abort: {:?}",
            proxy.exchanges()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        bucket_leftovers(&moto.endpoint(), "copies", false),
        Vec::<String>::new()
    );
    // A small (single PUT) object cut every time: the same.
    let small = random_file(dir.path(), "s", 3 * MIB, 3);
    let e = put_file(&dest, "s.tar.gz", &small, PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert_eq!(
        bucket_leftovers(&moto.endpoint(), "copies", false),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_throttling_are_retried_per_part() {
    let moto = moto_with("copies").await;
    let proxy = HttpFaultProxy::start(moto.addr());
    let dest = behind(&proxy, quick_retries());
    let dir = tempfile::tempdir().unwrap();
    let src = random_file(dir.path(), "a", 11 * MIB, 4);
    // Two 500s, then a 503 SlowDown (Retry-After: 1), on part uploads.
    proxy.inject_path(Some("PUT"), "/copies/f/", HttpFault::Status(500), 2);
    proxy.inject_path(Some("PUT"), "/copies/f/", HttpFault::Status(503), 1);
    let t0 = Instant::now();
    let stored = put_file(&dest, "a.tar.gz", &src, PutOptions::default())
        .await
        .unwrap();
    assert_eq!(proxy.injected(), 3);
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "SlowDown's Retry-After was not honoured: {:?}",
        t0.elapsed()
    );
    assert_eq!(stored.size, 11 * MIB as u64);
    assert_eq!(
        dest.sha256("a.tar.gz").await.unwrap(),
        sha256_hex(&std::fs::read(&src).unwrap())
    );

    // Without retries the same faults come back coded: 500 → connection, SlowDown → rate_limited.
    let once = RetryPolicy {
        max_attempts: 1,
        ..quick_retries()
    };
    let bare = behind(&proxy, once);
    for (status, kind) in [(500, ErrorKind::Connection), (503, ErrorKind::RateLimited)] {
        proxy.inject_path(Some("PUT"), "/copies/f/", HttpFault::Status(status), 1);
        let e = put_file(&bare, "b.tar.gz", &src, PutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{status}: {e}");
        assert!(e.is_temporary(), "{status}: {e}");
    }
    assert_eq!(
        bucket_leftovers(&moto.endpoint(), "copies", false),
        vec!["f/a.tar.gz"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_not_found_with_a_hint_to_create_it() {
    let moto = moto_with("other").await;
    let proxy = HttpFaultProxy::start(moto.addr());
    let dest = behind(&proxy, quick_retries());
    let dir = tempfile::tempdir().unwrap();
    for len in [1000, 12 * MIB] {
        let src = random_file(dir.path(), "a", len, 5);
        let e = put_file(&dest, "a.tar.gz", &src, PutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{len}: {e}");
        assert!(!e.is_temporary());
        // One sentence in the app's words, the next step, the store's words behind Details.
        assert!(
            e.message()
                .starts_with("The bucket copies does not exist at 127.0.0.1:"),
            "{e}"
        );
        assert!(!e.message().contains("NoSuchBucket"), "{e}");
        assert_eq!(e.hint(), Some("Create it, or check the name."), "{e:?}");
        assert!(e.detail().unwrap().contains("NoSuchBucket"), "{e:?}");
    }
    let e = dest.check().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // Not retried: one request per attempt (a HEAD, then the put that failed).
    assert!(proxy.requests() <= 6, "{} requests", proxy.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_auth_and_not_retried() {
    let moto = signing_moto_with("copies").await;
    let proxy = HttpFaultProxy::start(moto.addr());
    let mut cfg = config_on(&moto, "copies", "f");
    cfg.endpoint = Some(proxy.endpoint());
    cfg.secret_access_key = "not-the-secret-planted-123".into();
    let dest = S3Destination::new(&cfg)
        .unwrap()
        .with_retry(quick_retries());
    let dir = tempfile::tempdir().unwrap();
    let src = random_file(dir.path(), "a", 1000, 6);
    let e = put_file(&dest, "a.tar.gz", &src, PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(!e.is_temporary());
    // A HEAD (403 has no body), the one-key listing that names the error; nothing retried.
    assert_eq!(proxy.requests(), 2, "auth failures are not retried");
    let shown = format!("{e} {:?} {:?}", e.hint(), dest);
    assert!(!shown.contains("not-the-secret-planted-123"), "{shown}");
    let mut cfg = config_on(&moto, "copies", "f");
    cfg.endpoint = Some(proxy.endpoint());
    cfg.access_key_id = "nobody".into();
    let e = S3Destination::new(&cfg).unwrap().check().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    // Nothing was stored (asked with the right key).
    assert_eq!(
        bucket_leftovers_as(config_on(&moto, "copies", ""), false),
        Vec::<String>::new()
    );
}

/// The race the look-up before a put leaves open: another writer stores the name after our
/// `HEAD` said it was free (here: the proxy answers that `HEAD` with a 404 although the object
/// exists). The put's `If-None-Match: *` makes the store refuse: `already_exists`, and the
/// other writer's object is kept. moto enforces it on single puts and on completions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_taken_after_the_look_up_is_not_replaced() {
    let moto = moto_with("copies").await;
    let proxy = HttpFaultProxy::start(moto.addr());
    let dest = behind(&proxy, quick_retries());
    let dir = tempfile::tempdir().unwrap();
    for len in [1000, 11 * MIB] {
        let theirs = random_file(dir.path(), "theirs", 500, 7);
        put_file(&dest, "race.tar.gz", &theirs, PutOptions::default())
            .await
            .unwrap();
        let ours = random_file(dir.path(), "ours", len, 8);
        proxy.inject(
            Some("HEAD"),
            HttpFault::Respond {
                status: 404,
                headers: vec![],
                body: String::new(),
            },
            1,
        );
        let e = put_file(&dest, "race.tar.gz", &ours, PutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(proxy.injected(), 1);
        proxy.reset_counts();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{len}: {e}");
        assert_eq!(
            dest.sha256("race.tar.gz").await.unwrap(),
            sha256_hex(&std::fs::read(&theirs).unwrap()),
            "{len}: the other writer's object was replaced"
        );
        assert_eq!(
            bucket_leftovers(&moto.endpoint(), "copies", false),
            vec!["f/race.tar.gz"],
            "{len}"
        );
        assert!(dest.delete("race.tar.gz").await.unwrap());
    }
}
