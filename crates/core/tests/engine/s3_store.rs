//! The S3 client against a real S3-compatible server (moto on 127.0.0.1), bare and behind the
//! HTTP fault proxy: the shared object-source conformance suite (odd keys, >1,000 objects,
//! ranges, If-Match), writes with content type / cache control / metadata, multipart ETags,
//! and every fault ending in the exact bytes or a clear error.

use bytes::Bytes;
use offsite_core::retry::Retrying;
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{
    collect, ByteRange, GetRequest, ListRequest, ObjectSource, ObjectTarget, PutBody, PutRequest,
};
use offsite_core::ErrorKind;
use offsite_testkit::conformance::{object::check_object_source, quick_retries};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{HttpFault, HttpFaultProxy, MotoServer};
use std::collections::BTreeMap;

fn store(endpoint: &str) -> S3Store {
    S3Store::new(&S3Config {
        endpoint: Some(endpoint.to_string()),
        region: "us-east-1".into(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .expect("a valid configuration")
}

fn body(n: usize, salt: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(salt) % 251) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_passes_the_object_source_conformance_suite_on_a_real_server() {
    let moto = MotoServer::start();
    let s3 = store(&moto.endpoint());
    let handle = tokio::runtime::Handle::current();
    let seed = |bucket: &str, key: &str, bytes: &[u8], ct: Option<&str>| {
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                s3.create_bucket(bucket).await.expect("create bucket");
                s3.put_object(
                    bucket,
                    key,
                    PutBody::Bytes(Bytes::copy_from_slice(bytes)),
                    &PutRequest {
                        content_type: ct.map(str::to_string),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_or_else(|e| panic!("seeding {bucket}/{key}: {e}"));
            })
        })
    };
    check_object_source(&s3, &seed).await;
}

#[tokio::test]
async fn writes_keep_content_type_cache_control_and_metadata_and_buckets_are_created_once() {
    let moto = MotoServer::start();
    let s3 = store(&moto.endpoint());
    assert!(
        s3.create_bucket("photos").await.unwrap(),
        "a new bucket is created"
    );
    assert!(
        !s3.create_bucket("photos").await.unwrap(),
        "an existing bucket of ours is not an error"
    );
    assert_eq!(s3.head_object("photos", "nope").await.unwrap(), None);
    let meta: BTreeMap<String, String> = [("owner".to_string(), "ada".to_string())].into();
    let req = PutRequest {
        content_type: Some("image/png".into()),
        cache_control: Some("max-age=3600".into()),
        metadata: meta.clone(),
    };
    let bytes = body(70_000, 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("up.bin");
    std::fs::write(&file, &bytes).unwrap();
    s3.put_object("photos", "a/../b c.png", PutBody::File(file), &req)
        .await
        .unwrap();
    let head = s3
        .head_object("photos", "a/../b c.png")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(head.size, 70_000);
    assert_eq!(head.content_type.as_deref(), Some("image/png"));
    assert_eq!(head.cache_control.as_deref(), Some("max-age=3600"));
    assert_eq!(head.metadata, meta);
    let got = s3
        .get_object("photos", "a/../b c.png", &GetRequest::default())
        .await
        .unwrap();
    assert_eq!(got.info.cache_control.as_deref(), Some("max-age=3600"));
    assert_eq!(got.info.metadata, meta);
    assert_eq!(collect(got.stream).await.unwrap(), bytes);
    // The key was not normalised into "b c.png".
    assert_eq!(s3.head_object("photos", "b c.png").await.unwrap(), None);
    s3.delete_object("photos", "a/../b c.png").await.unwrap();
    assert_eq!(
        s3.head_object("photos", "a/../b c.png").await.unwrap(),
        None
    );
    s3.delete_object("photos", "a/../b c.png")
        .await
        .expect("deleting an absent object is not an error");
}

#[tokio::test]
async fn multipart_objects_list_with_a_dash_n_etag_and_read_back_exactly() {
    let moto = MotoServer::start();
    let s3 = store(&moto.endpoint());
    s3.create_bucket("multipart").await.unwrap();
    let part1 = body(5 * 1024 * 1024, 3);
    let part2 = body(123_457, 4);
    let client = s3.sdk_client();
    let up = client
        .create_multipart_upload()
        .bucket("multipart")
        .key("big/video.mp4")
        .content_type("video/mp4")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_string();
    let mut parts = Vec::new();
    for (n, p) in [(1, &part1), (2, &part2)] {
        let r = client
            .upload_part()
            .bucket("multipart")
            .key("big/video.mp4")
            .upload_id(&id)
            .part_number(n)
            .body(p.clone().into())
            .send()
            .await
            .unwrap();
        parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    client
        .complete_multipart_upload()
        .bucket("multipart")
        .key("big/video.mp4")
        .upload_id(&id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let page = s3
        .list_objects("multipart", &ListRequest::default())
        .await
        .unwrap();
    assert_eq!(page.objects.len(), 1);
    let etag = page.objects[0].etag.clone().unwrap();
    assert!(etag.ends_with("-2"), "multipart ETag {etag}");
    assert!(!etag.contains('"'), "ETags come without quotes: {etag}");
    let got = s3
        .get_object("multipart", "big/video.mp4", &GetRequest::default())
        .await
        .unwrap();
    assert_eq!(got.info.content_type.as_deref(), Some("video/mp4"));
    let all = collect(got.stream).await.unwrap();
    assert_eq!(all.len(), part1.len() + part2.len());
    assert!(all[..part1.len()] == part1[..] && all[part1.len()..] == part2[..]);
    // A range across the part boundary, and If-Match with the multipart ETag.
    let start = part1.len() as u64 - 10;
    let got = s3
        .get_object(
            "multipart",
            "big/video.mp4",
            &GetRequest {
                range: Some(ByteRange {
                    start,
                    end: Some(start + 20),
                }),
                if_match: Some(etag.clone()),
            },
        )
        .await
        .unwrap();
    assert_eq!(got.range, start..start + 20);
    assert_eq!(got.info.size, all.len() as u64);
    assert_eq!(
        collect(got.stream).await.unwrap(),
        all[start as usize..start as usize + 20]
    );
    let stale = s3
        .get_object(
            "multipart",
            "big/video.mp4",
            &GetRequest {
                range: None,
                if_match: Some("0123456789abcdef0123456789abcdef-2".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::Conflict, "{stale}");
}

#[tokio::test]
async fn faults_behind_the_proxy_end_in_the_exact_bytes_or_a_clear_error() {
    let moto = MotoServer::start();
    let direct = store(&moto.endpoint());
    direct.create_bucket("faults").await.unwrap();
    let big = body(3_000_000, 9);
    direct
        .put_object(
            "faults",
            "big.bin",
            PutBody::Bytes(Bytes::from(big.clone())),
            &PutRequest::default(),
        )
        .await
        .unwrap();
    let proxy = HttpFaultProxy::start(moto.addr());
    let s3 = Retrying::new(store(&proxy.endpoint()), quick_retries());

    // 5xx and 429 bursts, then two answers cut mid-body: retried, resumed with Range + If-Match.
    proxy.inject(Some("GET"), HttpFault::Status(503), 2);
    proxy.inject(Some("GET"), HttpFault::Status(429), 1);
    proxy.inject(Some("GET"), HttpFault::CutAfter(400_000), 2);
    let got = s3
        .get_object("faults", "big.bin", &GetRequest::default())
        .await
        .unwrap();
    assert_eq!(collect(got.stream).await.unwrap(), big);
    assert_eq!(proxy.injected(), 5, "every fault was met");
    assert_eq!(
        proxy.gets(),
        6,
        "3 refused + 1 cut + 1 cut resume + 1 resume to the end"
    );

    // A slow drip still arrives whole.
    proxy.inject(
        Some("GET"),
        HttpFault::Drip {
            chunk: 64 * 1024,
            pause_ms: 2,
        },
        1,
    );
    let got = s3
        .get_object("faults", "big.bin", &GetRequest::default())
        .await
        .unwrap();
    assert_eq!(collect(got.stream).await.unwrap(), big);

    // Listings survive a 500 burst too.
    proxy.inject(None, HttpFault::Status(500), 2);
    let page = s3
        .list_objects("faults", &ListRequest::default())
        .await
        .unwrap();
    assert_eq!(page.objects.len(), 1);

    // More 503s than the policy allows: a clear, temporary connection error.
    proxy.inject(Some("GET"), HttpFault::Status(503), 100);
    let e = s3
        .get_object("faults", "big.bin", &GetRequest::default())
        .await
        .unwrap_err();
    assert!(e.is_temporary(), "{e}");
    assert!(e.message().contains("big.bin"), "{e}");
    proxy.clear();

    // Missing things are not found, not retried; an unreachable endpoint is a connection error.
    let e = s3
        .get_object("faults", "nope", &GetRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = s3
        .list_objects("no-such-bucket", &ListRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = store(&format!("http://127.0.0.1:{closed}"))
        .list_buckets()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(!e.message().contains(TEST_SECRET));
}

/// Listings ask for pages of [`LIST_PAGE`] keys (S3 answers 1,000 at most whatever is asked; a
/// folder-backed store lists several times faster in fewer pages); a store that refuses that
/// with `400` is asked again for 1,000, and for 1,000 from then on. A `400` to an ordinary page
/// is the error it is, asked once.
#[tokio::test]
async fn a_store_that_refuses_large_listing_pages_is_asked_for_1000_keys_from_then_on() {
    use offsite_core::sources::s3::LIST_PAGE;
    let moto = MotoServer::start();
    let direct = store(&moto.endpoint());
    direct.create_bucket("pages").await.unwrap();
    for k in ["a", "b", "c"] {
        direct
            .put_object(
                "pages",
                k,
                PutBody::Bytes(Bytes::from_static(b"x")),
                &PutRequest::default(),
            )
            .await
            .unwrap();
    }
    let proxy = HttpFaultProxy::start(moto.addr());
    let s3 = store(&proxy.endpoint());
    // An exchange is recorded once the proxy has passed all of it on: wait for the last one.
    let max_keys = |proxy: &HttpFaultProxy, n: usize| -> Vec<(u16, String)> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while proxy.exchanges().len() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        proxy
            .exchanges()
            .iter()
            .filter(|x| x.path == "/pages/")
            .map(|x| {
                let mk = x.query.iter().find(|(k, _)| k == "max-keys");
                (x.status, mk.map(|(_, v)| v.clone()).unwrap_or_default())
            })
            .collect()
    };
    let keys = |p: offsite_core::sources::ObjectPage| -> Vec<String> {
        p.objects.into_iter().map(|o| o.key).collect()
    };

    let page = s3
        .list_objects("pages", &ListRequest::default())
        .await
        .unwrap();
    assert_eq!(keys(page), ["a", "b", "c"]);
    assert_eq!(max_keys(&proxy, 1), [(200, LIST_PAGE.to_string())]);

    let refusal = HttpFault::Respond {
        status: 400,
        headers: vec![("Content-Type".into(), "application/xml".into())],
        body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidArgument</Code>\
               <Message>max-keys must be between 1 and 1000</Message></Error>"
            .into(),
    };
    proxy.reset_counts();
    proxy.inject_path(Some("GET"), "/pages/", refusal.clone(), 1);
    let page = s3
        .list_objects("pages", &ListRequest::default())
        .await
        .unwrap();
    assert_eq!(keys(page), ["a", "b", "c"]);
    let page = s3
        .list_objects("pages", &ListRequest::default())
        .await
        .unwrap();
    assert_eq!(keys(page), ["a", "b", "c"]);
    assert_eq!(
        max_keys(&proxy, 3),
        [
            (400, LIST_PAGE.to_string()),
            (200, "1000".to_string()),
            (200, "1000".to_string())
        ]
    );

    // A 400 to a page of 1,000: an error, not asked again.
    proxy.reset_counts();
    proxy.inject_path(Some("GET"), "/pages/", refusal, 1);
    let err = s3
        .list_objects("pages", &ListRequest::default())
        .await
        .unwrap_err();
    assert!(!err.is_temporary(), "{err}");
    assert_eq!(max_keys(&proxy, 1), [(400, "1000".to_string())]);
}
