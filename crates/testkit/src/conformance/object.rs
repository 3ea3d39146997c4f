//! The [`ObjectSource`] and [`ApiSource`] contracts.

use super::sha256_hex;
use offsite_core::sources::{collect, ApiSource, ByteRange, GetRequest, ListRequest, ObjectSource};
use offsite_core::ErrorKind;
use std::collections::BTreeMap;

/// Puts an object into the store behind the source under test: (bucket, key, bytes, content
/// type). The suite seeds through it before reading through the source.
pub type Seed<'a> = &'a dyn Fn(&str, &str, &[u8], Option<&str>);

/// Keys that break naive clients (and path types): spaces, unicode, `//`, `..` segments, a
/// leading `/`, Supabase's folder placeholder, a very long key.
pub fn odd_keys() -> Vec<String> {
    vec![
        "with space/file name.txt".into(),
        "ünïcødé ✓/日本語.txt".into(),
        "double//slash".into(),
        "dots/../up".into(),
        "/leading-slash".into(),
        "folder/.emptyFolderPlaceholder".into(),
        format!("long/{}", "k".repeat(900)),
    ]
}

/// Run every check. The store must not hold buckets named `conf-*` before.
pub async fn check_object_source(src: &dyn ObjectSource, seed: Seed<'_>) {
    let mut want: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    // Odd keys with various sizes, an empty object, and one large enough to be streamed in many
    // chunks.
    for (i, key) in odd_keys().into_iter().enumerate() {
        let bytes: Vec<u8> = (0..(i * 1000 + 1)).map(|j| (j % 251) as u8).collect();
        want.insert(key, bytes);
    }
    want.insert("empty".into(), Vec::new());
    want.insert(
        "big.bin".into(),
        (0..1_500_000u32)
            .map(|j| (j.wrapping_mul(7) % 256) as u8)
            .collect(),
    );
    for (k, v) in &want {
        let ct = if k.ends_with(".txt") {
            Some("text/plain")
        } else {
            None
        };
        seed("conf-odd", k, v, ct);
    }
    for i in 0..1234u32 {
        seed(
            "conf-many",
            &format!("obj/{i:05}"),
            format!("object {i}").as_bytes(),
            Some("text/plain"),
        );
    }
    seed("conf-many", "other/one", b"1", None);

    buckets_are_listed(src).await;
    listing_pages_through_everything(src).await;
    listing_groups_by_delimiter(src).await;
    listing_starts_after(src).await;
    gets_return_exact_bytes(src, &want).await;
    ranges_and_if_match(src, &want["big.bin"]).await;
    missing_things_are_not_found(src).await;
}

pub async fn buckets_are_listed(src: &dyn ObjectSource) {
    let names: Vec<String> = src
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    for b in ["conf-odd", "conf-many"] {
        assert!(names.contains(&b.to_string()), "{b} not in {names:?}");
    }
}

/// 1,235 objects in pages of at most 100: every key exactly once, in ascending order; the prefix
/// filters; the last page has no continuation.
pub async fn listing_pages_through_everything(src: &dyn ObjectSource) {
    let mut keys = Vec::new();
    let mut req = ListRequest {
        page_size: Some(100),
        ..Default::default()
    };
    let mut pages = 0;
    loop {
        let page = src.list_objects("conf-many", &req).await.unwrap();
        pages += 1;
        assert!(page.objects.len() <= 100, "page of {}", page.objects.len());
        for o in &page.objects {
            let size = match o.key.strip_prefix("obj/") {
                Some(n) => format!("object {}", n.parse::<u32>().unwrap()).len() as u64,
                None => 1,
            };
            assert_eq!(o.size, size, "{}", o.key);
            assert!(o.etag.is_some(), "{} has no etag", o.key);
        }
        keys.extend(page.objects.into_iter().map(|o| o.key));
        match page.next {
            Some(next) => req.continuation = Some(next),
            None => break,
        }
        assert!(pages < 100, "the listing never ends");
    }
    assert_eq!(keys.len(), 1235);
    assert!(pages >= 13, "{pages} pages");
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted, "ascending, no duplicates");

    let req = ListRequest {
        prefix: Some("other/".into()),
        ..Default::default()
    };
    let page = src.list_objects("conf-many", &req).await.unwrap();
    let got: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(got, vec!["other/one"]);
    assert_eq!(page.next, None);
}

/// With a `/` delimiter, `conf-many` lists as two common prefixes and no objects, paging
/// through prefixes one at a time (a continuation after a prefix skips everything under it);
/// under `obj/`, the delimiter changes nothing.
pub async fn listing_groups_by_delimiter(src: &dyn ObjectSource) {
    let mut req = ListRequest {
        delimiter: Some("/".into()),
        page_size: Some(1),
        ..Default::default()
    };
    let mut prefixes = Vec::new();
    for _ in 0..5 {
        let page = src.list_objects("conf-many", &req).await.unwrap();
        assert!(page.objects.is_empty(), "{:?}", page.objects);
        assert!(page.prefixes.len() <= 1, "{:?}", page.prefixes);
        prefixes.extend(page.prefixes);
        match page.next {
            Some(n) => req.continuation = Some(n),
            None => break,
        }
    }
    assert_eq!(prefixes, vec!["obj/".to_string(), "other/".to_string()]);

    let req = ListRequest {
        prefix: Some("other/".into()),
        delimiter: Some("/".into()),
        ..Default::default()
    };
    let page = src.list_objects("conf-many", &req).await.unwrap();
    let got: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(got, vec!["other/one"]);
    assert!(page.prefixes.is_empty());
}

/// `start_after` lists the keys after it (the pull's listing switches to it inside a folder
/// with subfolders), continuing as usual.
pub async fn listing_starts_after(src: &dyn ObjectSource) {
    let mut req = ListRequest {
        prefix: Some("obj/".into()),
        start_after: Some("obj/01000".into()),
        page_size: Some(100),
        ..Default::default()
    };
    let mut keys = Vec::new();
    loop {
        let page = src.list_objects("conf-many", &req).await.unwrap();
        keys.extend(page.objects.into_iter().map(|o| o.key));
        match page.next {
            Some(n) => req.continuation = Some(n),
            None => break,
        }
    }
    let want: Vec<String> = (1001..1234).map(|i| format!("obj/{i:05}")).collect();
    assert_eq!(keys, want);
}

/// Every object (odd keys, empty, 1.5 MB) comes back byte for byte, with its listed size, ETag
/// and content type.
pub async fn gets_return_exact_bytes(src: &dyn ObjectSource, want: &BTreeMap<String, Vec<u8>>) {
    let mut listed = BTreeMap::new();
    let mut req = ListRequest::default();
    loop {
        let page = src.list_objects("conf-odd", &req).await.unwrap();
        for o in page.objects {
            listed.insert(o.key.clone(), o);
        }
        match page.next {
            Some(n) => req.continuation = Some(n),
            None => break,
        }
    }
    assert_eq!(
        listed.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "odd keys listed as stored"
    );
    for (key, bytes) in want {
        let body = src
            .get_object("conf-odd", key, &GetRequest::default())
            .await
            .unwrap_or_else(|e| panic!("get {key:?}: {e}"));
        assert_eq!(body.info.key, *key);
        assert_eq!(body.info.size, bytes.len() as u64, "{key:?}");
        assert_eq!(body.info.etag, listed[key].etag, "{key:?}: etag as listed");
        assert_eq!(body.range, 0..bytes.len() as u64);
        // Stored without a content type, a store may answer its default (S3: octet-stream).
        match key.ends_with(".txt") {
            true => assert_eq!(
                body.info.content_type.as_deref(),
                Some("text/plain"),
                "{key:?}"
            ),
            false => assert!(
                matches!(
                    body.info.content_type.as_deref(),
                    None | Some("application/octet-stream") | Some("binary/octet-stream")
                ),
                "{key:?}: {:?}",
                body.info.content_type
            ),
        }
        let got = collect(body.stream)
            .await
            .unwrap_or_else(|e| panic!("reading {key:?}: {e}"));
        assert_eq!(got.len(), bytes.len(), "{key:?}");
        assert_eq!(sha256_hex(&got), sha256_hex(bytes), "{key:?}: content");
    }
}

/// Ranges return exactly their bytes; `If-Match` with a stale ETag is a permanent `conflict`.
pub async fn ranges_and_if_match(src: &dyn ObjectSource, big: &[u8]) {
    for (range, want) in [
        (
            ByteRange {
                start: 10,
                end: Some(20),
            },
            &big[10..20],
        ),
        (ByteRange::from(1_000_000), &big[1_000_000..]),
        (ByteRange::from(big.len() as u64), &big[big.len()..]),
    ] {
        let req = GetRequest {
            range: Some(range),
            if_match: None,
        };
        let body = src.get_object("conf-odd", "big.bin", &req).await.unwrap();
        assert_eq!(body.info.size, big.len() as u64, "the whole object's size");
        assert_eq!(
            body.range.end - body.range.start,
            want.len() as u64,
            "{range:?}"
        );
        assert_eq!(collect(body.stream).await.unwrap(), want, "{range:?}");
    }
    let etag = src
        .get_object("conf-odd", "big.bin", &GetRequest::default())
        .await
        .unwrap()
        .info
        .etag;
    let req = GetRequest {
        range: Some(ByteRange::from(5)),
        if_match: etag,
    };
    let body = src.get_object("conf-odd", "big.bin", &req).await.unwrap();
    assert_eq!(collect(body.stream).await.unwrap(), &big[5..]);
    let req = GetRequest {
        range: None,
        if_match: Some("not-the-etag".into()),
    };
    let e = src
        .get_object("conf-odd", "big.bin", &req)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(!e.is_temporary());
}

/// A missing bucket or object is `not_found`, permanent (a vanished object is recorded, not
/// retried).
pub async fn missing_things_are_not_found(src: &dyn ObjectSource) {
    let e = src
        .get_object("conf-odd", "no/such/key", &GetRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(!e.is_temporary());
    let e = src
        .list_objects("conf-no-such-bucket", &ListRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = src
        .get_object("conf-no-such-bucket", "x", &GetRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

/// The [`ApiSource`] contract: documents come back as served; a missing path is `not_found`; a
/// path without a leading `/` is `invalid_input`; errors the API answers (401 → `auth`, 403 →
/// `permission`) keep their kinds and are permanent. `seed_doc(path, json)` serves a document,
/// `seed_status(path, status)` an HTTP error status.
pub async fn check_api_source(
    api: &dyn ApiSource,
    seed_doc: &dyn Fn(&str, serde_json::Value),
    seed_status: &dyn Fn(&str, u16),
) {
    let doc = serde_json::json!({
        "site_url": "https://example.com",
        "mailer_autoconfirm": false,
        "nested": {"list": [1, 2, 3], "ünïcødé": "✓"}
    });
    seed_doc("/v1/projects/abc/config/auth", doc.clone());
    assert_eq!(
        api.get_json("/v1/projects/abc/config/auth").await.unwrap(),
        doc
    );
    let e = api.get_json("/v1/projects/abc/nothing").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(!e.is_temporary());
    let e = api.get_json("v1/relative").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    for (status, kind) in [
        (401, ErrorKind::Auth),
        (403, ErrorKind::Permission),
        (404, ErrorKind::NotFound),
    ] {
        let path = format!("/v1/status/{status}");
        seed_status(&path, status);
        let e = api.get_json(&path).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{status}: {e}");
        assert!(!e.is_temporary(), "{status}");
    }
}
