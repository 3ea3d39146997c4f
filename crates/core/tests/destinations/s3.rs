//! `S3Destination` on a real S3 server (moto, as it comes and checking every request's
//! signature): the shared conformance suite, bare and behind faults with `Retrying`; multipart uploads with the SHA-256 as metadata; a body that
//! does not match its recorded SHA-256; a put cancelled between parts.

use crate::common::{
    bucket_leftovers, bucket_leftovers_as, config, config_on, moto_with, random_file,
    signing_moto_with,
};
use futures::StreamExt;
use offsite_core::destinations::s3::SHA256_METADATA;
use offsite_core::destinations::{
    put_file, Destination, FileBody, HashedBody, PutBody, PutOptions, S3Destination,
};
use offsite_core::retry::Retrying;
use offsite_core::sources::ByteStream;
use offsite_core::ErrorKind;
use offsite_testkit::conformance::{destination, quick_retries, sha256_hex};
use offsite_testkit::faults::{FaultPlan, Faulty};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_destination_on_moto_conforms() {
    let moto = moto_with("copies").await;
    let dest = S3Destination::new(&config(&moto.endpoint(), "copies", "offsite/shop")).unwrap();
    let ep = moto.endpoint();
    destination::check_destination(&dest, &|| bucket_leftovers(&ep, "copies", true)).await;
    // Everything the suite put was deleted again: the bucket is empty.
    assert_eq!(bucket_leftovers(&ep, "copies", false), Vec::<String>::new());
}

/// Every request the destination makes (single and multipart puts with Content-MD5, the
/// SHA-256 metadata, If-None-Match, listings, deletes, aborts) is signed as AWS checks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_destination_on_moto_checking_signatures_conforms() {
    let moto = signing_moto_with("copies").await;
    let cfg = config_on(&moto, "copies", "");
    let dest = S3Destination::new(&cfg).unwrap();
    destination::check_destination(&dest, &|| bucket_leftovers_as(cfg.clone(), true)).await;
    assert_eq!(
        bucket_leftovers_as(cfg.clone(), false),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_destination_behind_faults_with_retrying_conforms() {
    let moto = moto_with("copies").await;
    let faulty = Faulty::new(
        S3Destination::new(&config(&moto.endpoint(), "copies", "p")).unwrap(),
        FaultPlan::flaky(150_000),
    );
    let counters = faulty.counters();
    let dest = Retrying::new(faulty, quick_retries());
    let ep = moto.endpoint();
    destination::check_destination(&dest, &|| bucket_leftovers(&ep, "copies", true)).await;
    assert!(counters.failed() >= 10, "{}", counters.failed());
    assert!(counters.cut() >= 2, "{} uploads cut", counters.cut());
}

/// A multipart upload (21 MiB in parts of 5 MiB): the store holds the whole object with the
/// SHA-256 as metadata (stat knows it without downloading; the deep check agrees), the ETag says
/// 5 parts, and nothing unfinished is left. A body without a known SHA-256 is hashed first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_puts_store_whole_objects_with_their_sha256() {
    for (i, server) in ["moto", "moto checking signatures"].into_iter().enumerate() {
        let moto = match i {
            0 => moto_with("copies").await,
            _ => signing_moto_with("copies").await,
        };
        let cfg = config_on(&moto, "copies", "mp");
        let dest = S3Destination::new(&cfg).unwrap().with_part_size(5 << 20);
        let dir = tempfile::tempdir().unwrap();
        let src = random_file(dir.path(), "a.tar.gz", (21 << 20) + 123, i as u64);
        let want = sha256_hex(&std::fs::read(&src).unwrap());
        let body = HashedBody::new(FileBody { path: src.clone() }, want.clone());
        let stored = dest
            .put("p/a.tar.gz", &body, PutOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{server}: {e}"));
        assert_eq!(stored.size, (21 << 20) + 123, "{server}");
        assert_eq!(stored.sha256.as_deref(), Some(want.as_str()), "{server}");
        let head = dest
            .sdk_client()
            .head_object()
            .bucket("copies")
            .key("mp/p/a.tar.gz")
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.metadata().and_then(|m| m.get(SHA256_METADATA)),
            Some(&want),
            "{server}: metadata"
        );
        assert!(
            head.e_tag().unwrap().ends_with("-5\""),
            "{server}: {:?}",
            head.e_tag()
        );
        let st = dest.stat("p/a.tar.gz").await.unwrap().unwrap();
        assert_eq!(st.sha256.as_deref(), Some(want.as_str()), "{server}");
        assert_eq!(
            dest.deep_sha256("p/a.tar.gz").await.unwrap(),
            want,
            "{server}"
        );
        // Without a known SHA-256 (read twice), replacing the first.
        let src2 = random_file(dir.path(), "b.tar.gz", (11 << 20) + 5, 99);
        let stored = put_file(&dest, "p/a.tar.gz", &src2, PutOptions { overwrite: true })
            .await
            .unwrap();
        let want2 = sha256_hex(&std::fs::read(&src2).unwrap());
        assert_eq!(stored.sha256.as_deref(), Some(want2.as_str()), "{server}");
        assert_eq!(dest.sha256("p/a.tar.gz").await.unwrap(), want2, "{server}");
        assert_eq!(
            dest.deep_sha256("p/a.tar.gz").await.unwrap(),
            want2,
            "{server}"
        );
        // No overwrite without asking, whatever the size.
        let e = dest
            .put("p/a.tar.gz", &body, PutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{server}: {e}");
        let names: Vec<String> = dest
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(names, vec!["p/a.tar.gz"], "{server}");
        assert_eq!(
            bucket_leftovers_as(cfg, false),
            vec!["mp/p/a.tar.gz"],
            "{server}"
        );
    }
}

/// An archive whose bytes are not what its `.sha256` says (changed or damaged since): refused
/// with `integrity`, single part or multipart, and nothing is stored or left unfinished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_match_its_recorded_sha256_leaves_nothing() {
    let moto = moto_with("copies").await;
    let ep = moto.endpoint();
    let dest = S3Destination::new(&config(&ep, "copies", ""))
        .unwrap()
        .with_part_size(5 << 20);
    let dir = tempfile::tempdir().unwrap();
    for len in [1000usize, (12 << 20) + 1] {
        let src = random_file(dir.path(), "x", len, 3);
        let body = HashedBody::new(FileBody { path: src }, sha256_hex(b"something else"));
        let e = dest
            .put("x.tar.gz", &body, PutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{len}: {e}");
        assert!(dest.stat("x.tar.gz").await.unwrap().is_none());
        assert_eq!(bucket_leftovers(&ep, "copies", false), Vec::<String>::new());
    }
}

/// `good` bytes, then nothing ever again (a put cancelled while it waits is dropped).
struct Stalls {
    good: usize,
}

#[async_trait::async_trait]
impl PutBody for Stalls {
    async fn open(&self) -> offsite_core::Result<ByteStream> {
        let chunks: Vec<offsite_core::Result<bytes::Bytes>> = (0..self.good / (1 << 20))
            .map(|i| Ok(bytes::Bytes::from(vec![i as u8; 1 << 20])))
            .collect();
        Ok(Box::pin(
            futures::stream::iter(chunks).chain(futures::stream::pending()),
        ))
    }
    fn size(&self) -> Option<u64> {
        None
    }
}

/// A put cancelled (its future dropped) after two parts went up: the multipart upload is
/// aborted (from a spawned task, so within moments), no object appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_cancelled_between_parts_aborts_its_upload() {
    let moto = moto_with("copies").await;
    let ep = moto.endpoint();
    let dest = S3Destination::new(&config(&ep, "copies", ""))
        .unwrap()
        .with_part_size(5 << 20);
    let body = HashedBody::new(Stalls { good: 12 << 20 }, sha256_hex(b"never known"));
    let mut put = Box::pin(dest.put("big.tar.gz", &body, PutOptions::default()));
    let t0 = Instant::now();
    // Wait until the upload is under way with parts sent.
    loop {
        tokio::select! {
            r = &mut put => panic!("a stalled put finished: {r:?}"),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        if !dest.pending_uploads().await.unwrap().is_empty() {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no upload started");
    }
    tokio::select! {
        r = &mut put => panic!("a stalled put finished: {r:?}"),
        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
    drop(put);
    let t0 = Instant::now();
    while !dest.pending_uploads().await.unwrap().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the cancelled upload was not aborted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dest.stat("big.tar.gz").await.unwrap().is_none());
    assert_eq!(bucket_leftovers(&ep, "copies", false), Vec::<String>::new());
}
