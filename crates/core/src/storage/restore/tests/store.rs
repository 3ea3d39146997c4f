//! Restoring into an object store (the in-memory one).

use super::*;

#[tokio::test]
async fn round_trip_into_a_store_then_a_second_run_skips_everything() {
    let dir = tempfile::tempdir().unwrap();
    let objs = typical();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: objs.clone(),
            level: 6,
            ..Spec::default()
        },
    );
    let mem = Arc::new(MemoryObjectSource::new());
    let target = store_of(&mem);
    let temp = tempfile::tempdir().unwrap();
    let opts = StorageRestoreOptions {
        memory_limit: 100_000, // big.bin goes through a temporary file
        temp_dir: Some(temp.path().to_path_buf()),
        ..StorageRestoreOptions::default()
    };

    let plan = plan_of(&archive, &target, &opts).await.unwrap();
    assert_eq!(plan.backup_id, "b-1");
    assert_eq!(plan.objects, 6);
    assert_eq!(plan.upload, 6);
    let total: u64 = objs.iter().map(|o| o.body.len() as u64).sum();
    assert_eq!(plan.upload_bytes, total);
    assert_eq!(
        (plan.identical, plan.overwrite_count, plan.delete),
        (0, 0, 0)
    );
    assert!(plan.buckets.iter().all(|b| b.create), "{plan:#?}");
    assert_eq!(mem.put_count(), 0, "planning writes nothing");
    assert!(bucket_names(&mem).await.is_empty());

    let report = restore(&archive, &target, &opts).await.unwrap();
    assert_eq!(report.uploaded, 6);
    assert_eq!(report.uploaded_bytes, total);
    assert_eq!(report.created_buckets, vec!["avatars", "docs"]);
    assert_eq!(mem.put_count(), 6);
    for o in &objs {
        assert_eq!(body_of(&mem, &o.bucket, &o.key).await, o.body, "{}", o.key);
        let head = mem.head_object(&o.bucket, &o.key).await.unwrap().unwrap();
        assert_eq!(head.content_type, o.content_type, "{}", o.key);
        assert_eq!(head.cache_control, o.cache_control, "{}", o.key);
        assert_eq!(head.metadata, o.metadata, "{}", o.key);
    }
    assert_eq!(
        std::fs::read_dir(temp.path()).unwrap().count(),
        0,
        "temporary upload files are removed"
    );

    let again = plan_of(&archive, &target, &opts).await.unwrap();
    assert_eq!((again.upload, again.identical), (0, 6), "{again:#?}");
    assert!(again.buckets.iter().all(|b| !b.create));
    let report = restore(&archive, &target, &opts).await.unwrap();
    assert_eq!((report.uploaded, report.skipped), (0, 6));
    assert_eq!(report.skipped_bytes, total);
    assert!(report.created_buckets.is_empty());
    assert_eq!(mem.put_count(), 6, "nothing uploaded the second time");
    assert_eq!(
        mem.get_count(),
        6,
        "only the test's own reads: MD5 ETags compare"
    );
}

#[tokio::test]
async fn identical_content_is_recognised_whatever_the_etags_say() {
    let dir = tempfile::tempdir().unwrap();
    let same_md5 = obj("b", "same-md5", b"same bytes".to_vec());
    let multipart = obj("b", "multipart", noise(5000, 3));
    let changed = obj("b", "changed", b"new content".to_vec());
    let resized = obj("b", "resized", b"longer content".to_vec());
    let mut spec = Spec {
        objects: vec![
            same_md5.clone(),
            multipart.clone(),
            changed.clone(),
            resized.clone(),
        ],
        ..Spec::default()
    };
    // The archive's ETag of `same-md5` came from a multipart upload: the target's plain MD5
    // must be compared with the archived bytes.
    let archive = {
        let a = write_archive(dir.path(), "b-1", std::mem::take(&mut spec));
        let mut doc: StorageDoc = {
            let mut raw = Vec::new();
            crate::archive::copy_member(
                &a,
                STORAGE_DOC,
                &mut raw,
                &Reporter::silent(),
                &CancellationToken::new(),
            )
            .unwrap();
            serde_json::from_slice(&raw).unwrap()
        };
        for o in &mut doc.objects {
            o.etag = Some(format!("\"{}-2\"", "f".repeat(32)));
        }
        // Rewrite with the odd ETags.
        let d2 = dir.path().join("odd");
        std::fs::create_dir(&d2).unwrap();
        let mut w = ArchiveWriter::create(&d2, "shop_20261121_101500_storage.tar.gz", 6).unwrap();
        w.add_bytes(STORAGE_DOC, serde_json::to_vec(&doc).unwrap());
        for o in [&same_md5, &multipart, &changed, &resized] {
            w.add_bytes(&member_name(&o.bucket, &o.key).0, o.body.clone());
        }
        w.finish(
            manifest("b-1"),
            &Reporter::silent(),
            &CancellationToken::new(),
        )
        .unwrap()
        .path
    };
    let mem = Arc::new(MemoryObjectSource::new());
    mem.insert("b", "same-md5", same_md5.body.clone(), None);
    mem.insert("b", "multipart", multipart.body.clone(), None);
    mem.set_etag("b", "multipart", "0123456789abcdef0123456789abcdef-3");
    mem.insert("b", "changed", b"old content".to_vec(), None); // same size, other bytes
    mem.insert("b", "resized", b"short".to_vec(), None);

    let plan = plan_of(&archive, &store_of(&mem), &StorageRestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(plan.identical, 2, "{plan:#?}");
    assert_eq!(plan.overwrite_count, 2);
    assert_eq!(plan.buckets[0].overwrite_sample, vec!["changed", "resized"]);
    assert_eq!(
        mem.get_count(),
        1,
        "only the multipart object was downloaded to compare"
    );

    let report = restore(&archive, &store_of(&mem), &StorageRestoreOptions::default())
        .await
        .unwrap();
    assert_eq!((report.uploaded, report.skipped), (2, 2));
    assert_eq!(body_of(&mem, "b", "changed").await, changed.body);
    assert_eq!(body_of(&mem, "b", "resized").await, resized.body);
}

#[tokio::test]
async fn mirror_deletes_extra_objects_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: vec![
                obj("b", "a.txt", b"aaa".to_vec()),
                obj("b", "c.txt", b"ccc".to_vec()),
            ],
            ..Spec::default()
        },
    );
    let mem = Arc::new(MemoryObjectSource::new());
    mem.insert("b", "a.txt", b"AAA".to_vec(), None);
    mem.insert("b", "b-extra.txt", b"extra".to_vec(), None);
    mem.insert("b", "z-extra.txt", b"extra 2".to_vec(), None);
    mem.insert("other", "keep.txt", b"not restored".to_vec(), None);
    let target = store_of(&mem);

    let plain = StorageRestoreOptions::default();
    let plan = plan_of(&archive, &target, &plain).await.unwrap();
    assert_eq!((plan.upload, plan.overwrite_count, plan.delete), (2, 1, 0));
    assert_eq!(plan.buckets[0].extra, 2);
    let report = restore(&archive, &target, &plain).await.unwrap();
    assert_eq!((report.uploaded, report.deleted), (2, 0));
    assert_eq!(
        keys_of(&mem, "b").await,
        vec!["a.txt", "b-extra.txt", "c.txt", "z-extra.txt"]
    );
    assert_eq!(body_of(&mem, "b", "a.txt").await, b"aaa");

    let mirror = StorageRestoreOptions {
        mirror: true,
        ..StorageRestoreOptions::default()
    };
    let plan = plan_of(&archive, &target, &mirror).await.unwrap();
    assert_eq!((plan.upload, plan.identical, plan.delete), (0, 2, 2));
    assert_eq!(plan.delete_bytes, 12);
    assert_eq!(
        plan.buckets[0].delete_sample,
        vec!["b-extra.txt", "z-extra.txt"]
    );
    let report = restore(&archive, &target, &mirror).await.unwrap();
    assert_eq!((report.deleted, report.deleted_bytes), (2, 12));
    assert_eq!(keys_of(&mem, "b").await, vec!["a.txt", "c.txt"]);
    assert_eq!(
        keys_of(&mem, "other").await,
        vec!["keep.txt"],
        "other buckets untouched"
    );
}

#[tokio::test]
async fn listing_is_paged_and_merged_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    // 2,500 objects, every other one already in the target: 1,251 there, two listing pages.
    let objs: Vec<Obj> = (0..2500)
        .map(|i| obj("b", &format!("k/{i:05}"), format!("body {i}").into_bytes()))
        .collect();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: objs.clone(),
            ..Spec::default()
        },
    );
    let mem = Arc::new(MemoryObjectSource::new());
    for o in objs.iter().step_by(2) {
        mem.insert("b", &o.key, o.body.clone(), None);
    }
    mem.insert("b", "k/00000x", b"extra".to_vec(), None);
    let mirror = StorageRestoreOptions {
        mirror: true,
        ..StorageRestoreOptions::default()
    };
    let plan = plan_of(&archive, &store_of(&mem), &mirror).await.unwrap();
    assert_eq!((plan.upload, plan.identical, plan.delete), (1250, 1250, 1));
    assert_eq!(mem.list_count(), 2);
    restore(&archive, &store_of(&mem), &mirror).await.unwrap();
    assert_eq!(keys_of_all(&mem, "b").await.len(), 2500);
}

pub(super) async fn keys_of_all(m: &MemoryObjectSource, bucket: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut req = ListRequest::default();
    loop {
        let page = m.list_objects(bucket, &req).await.unwrap();
        out.extend(page.objects.into_iter().map(|o| o.key));
        match page.next {
            Some(n) => req.continuation = Some(n),
            None => return out,
        }
    }
}

#[tokio::test]
async fn buckets_are_chosen_and_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: typical(),
            ..Spec::default()
        },
    );
    let mem = Arc::new(MemoryObjectSource::new());
    let opts = StorageRestoreOptions {
        buckets: BucketSelection::Only(vec!["avatars".into()]),
        bucket_map: BTreeMap::from([("avatars".to_string(), "avatars-restored".to_string())]),
        ..StorageRestoreOptions::default()
    };
    let plan = plan_of(&archive, &store_of(&mem), &opts).await.unwrap();
    assert_eq!(plan.buckets.len(), 1);
    assert_eq!(plan.buckets[0].bucket, "avatars");
    assert_eq!(plan.buckets[0].target_bucket, "avatars-restored");
    let report = restore(&archive, &store_of(&mem), &opts).await.unwrap();
    assert_eq!(report.uploaded, 4);
    assert_eq!(bucket_names(&mem).await, vec!["avatars-restored"]);
    assert_eq!(
        body_of(&mem, "avatars-restored", "a//odd/../key").await,
        b"odd"
    );

    let bad: Vec<(StorageRestoreOptions, &str)> = vec![
        (
            StorageRestoreOptions {
                buckets: BucketSelection::Only(vec!["nope".into()]),
                ..StorageRestoreOptions::default()
            },
            "has no bucket \"nope\"",
        ),
        (
            StorageRestoreOptions {
                bucket_map: BTreeMap::from([("nope".to_string(), "x".to_string())]),
                ..StorageRestoreOptions::default()
            },
            "has no bucket \"nope\"",
        ),
        (
            StorageRestoreOptions {
                bucket_map: BTreeMap::from([("avatars".to_string(), "docs".to_string())]),
                ..StorageRestoreOptions::default()
            },
            "both be restored into \"docs\"",
        ),
        (
            StorageRestoreOptions {
                bucket_map: BTreeMap::from([("avatars".to_string(), "../x".to_string())]),
                ..StorageRestoreOptions::default()
            },
            "not a bucket name",
        ),
        (
            StorageRestoreOptions {
                buckets: BucketSelection::Only(vec!["docs".into()]),
                bucket_map: BTreeMap::from([("avatars".to_string(), "x".to_string())]),
                ..StorageRestoreOptions::default()
            },
            "not selected",
        ),
    ];
    for (opts, needle) in bad {
        let e = restore(&archive, &store_of(&mem), &opts).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.message().contains(needle), "{needle}: {e}");
    }
    assert_eq!(mem.put_count(), 4);
}

#[tokio::test]
async fn settings_s3_cannot_set_are_named_in_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: vec![obj("avatars", "a", b"a".to_vec())],
            settings: BTreeMap::from([(
                "avatars".to_string(),
                BucketSettings {
                    public: Some(true),
                    file_size_limit: Some(1 << 20),
                    allowed_mime_types: Some(vec!["image/png".into()]),
                },
            )]),
            ..Spec::default()
        },
    );
    let mem = Arc::new(MemoryObjectSource::new());
    let plan = plan_of(&archive, &store_of(&mem), &StorageRestoreOptions::default())
        .await
        .unwrap();
    let note = plan.buckets[0].settings_note.clone().unwrap();
    for part in [
        "public",
        "file size limit 1048576",
        "image/png",
        "database component",
    ] {
        assert!(note.contains(part), "{part}: {note}");
    }
    assert!(plan.warnings.contains(&note));
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["buckets"][0]["create"], true);
    assert_eq!(json["buckets"][0]["settings"]["public"], true);
}

/// An incremental backup over a full one.
fn incremental(dir: &Path) -> (PathBuf, PathBuf, Vec<Obj>) {
    let a = obj("b", "a.txt", b"unchanged since the base".to_vec());
    let b_old = obj("b", "b.txt", b"deleted since".to_vec());
    let c = obj("b", "c.txt", b"new in the incremental".to_vec());
    let base = write_archive(
        dir,
        "b-base",
        Spec {
            objects: vec![a.clone(), b_old],
            ..Spec::default()
        },
    );
    let incr = write_archive(
        dir,
        "b-incr",
        Spec {
            objects: vec![c.clone()],
            in_base: vec![a.clone()],
            base: Some("b-base".into()),
            ..Spec::default()
        },
    );
    (base, incr, vec![a, c])
}

#[tokio::test]
async fn incremental_backups_read_unchanged_objects_from_their_base() {
    let dir = tempfile::tempdir().unwrap();
    let (base, incr, objs) = incremental(dir.path());
    let mem = Arc::new(MemoryObjectSource::new());
    let asked = Mutex::new(Vec::new());
    let resolve = |id: &str| {
        asked.lock().unwrap().push(id.to_string());
        (id == "b-base").then(|| base.clone())
    };
    let report = restore_storage(
        &incr,
        &resolve,
        &store_of(&mem),
        &StorageRestoreOptions::default(),
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(asked.lock().unwrap().clone(), vec!["b-base"]);
    let ids: Vec<&str> = report
        .plan
        .sources
        .iter()
        .map(|s| s.backup_id.as_str())
        .collect();
    assert_eq!(ids, vec!["b-incr", "b-base"]);
    assert_eq!(report.uploaded, 2);
    assert_eq!(keys_of(&mem, "b").await, vec!["a.txt", "c.txt"]);
    for o in &objs {
        assert_eq!(body_of(&mem, "b", &o.key).await, o.body);
    }
}

#[tokio::test]
async fn a_chain_of_incremental_backups_is_followed_to_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (base, incr, objs) = incremental(dir.path());
    let d = obj("b", "d.txt", b"new in the second incremental".to_vec());
    let incr2 = write_archive(
        dir.path(),
        "b-incr2",
        Spec {
            objects: vec![d.clone()],
            in_base: objs.clone(),
            base: Some("b-incr".into()),
            ..Spec::default()
        },
    );
    let resolve = |id: &str| match id {
        "b-incr" => Some(incr.clone()),
        "b-base" => Some(base.clone()),
        _ => None,
    };
    let folder = tempfile::tempdir().unwrap();
    let report = restore_storage(
        &incr2,
        &resolve,
        &StorageTargetRef::Folder(folder.path().into()),
        &StorageRestoreOptions::default(),
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let ids: Vec<&str> = report
        .plan
        .sources
        .iter()
        .map(|s| s.backup_id.as_str())
        .collect();
    assert_eq!(ids, vec!["b-incr2", "b-incr", "b-base"]);
    assert_eq!(
        names_in(&folder.path().join("b")),
        vec!["a.txt", "c.txt", "d.txt"]
    );
    for o in objs.iter().chain([&d]) {
        assert_eq!(
            std::fs::read(folder.path().join("b").join(&o.key)).unwrap(),
            o.body
        );
    }

    // A base that is another backup than the one asked for is refused.
    let wrong = |_: &str| Some(base.clone());
    let e = plan_storage_restore(
        &incr2,
        &wrong,
        &StorageTargetRef::Folder(folder.path().into()),
        &StorageRestoreOptions::default(),
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(
        e.message()
            .contains("given as backup b-incr but is backup b-base"),
        "{e}"
    );
}

#[tokio::test]
async fn a_cancelled_upload_stops_taking_new_objects() {
    let dir = tempfile::tempdir().unwrap();
    let objs: Vec<Obj> = (0..40)
        .map(|i| obj("b", &format!("k{i:02}"), noise(2000, i)))
        .collect();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: objs,
            ..Spec::default()
        },
    );
    let cancel = CancellationToken::new();
    let sink = {
        let cancel = cancel.clone();
        move |u: &ProgressUpdate| {
            if u.phase == Phase::Restoring && u.bytes_done > 0 {
                cancel.cancel();
            }
        }
    };
    let reporter = Reporter::with_interval(Arc::new(sink), "j", Duration::ZERO);
    let mem = Arc::new(MemoryObjectSource::new());
    let opts = StorageRestoreOptions {
        concurrency: 2,
        ..StorageRestoreOptions::default()
    };
    let e = restore_storage(
        &archive,
        &no_base,
        &store_of(&mem),
        &opts,
        &reporter,
        &cancel,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert!(
        mem.put_count() >= 1 && mem.put_count() < 40,
        "{}",
        mem.put_count()
    );
    // What it had written is removed again at once; the bucket it made is said.
    assert!(keys_of(&mem, "b").await.is_empty(), "{e}");
    // However many got through before the cancel (one on a slow machine): said in agreement.
    let written = mem.put_count() as u64;
    assert!(
        e.message().contains(&format!(
            "the {} it had written where there were none {} removed again",
            crate::words::plural(written, "object"),
            if written == 1 { "was" } else { "were" }
        )) && e.message().contains("the bucket it created is left: b"),
        "{e}"
    );
}

#[tokio::test]
async fn a_missing_base_fails_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (_base, incr, _) = incremental(dir.path());
    let mem = Arc::new(MemoryObjectSource::new());
    for run in 0..2 {
        let e = if run == 0 {
            plan_of(&incr, &store_of(&mem), &StorageRestoreOptions::default())
                .await
                .unwrap_err()
        } else {
            restore(&incr, &store_of(&mem), &StorageRestoreOptions::default())
                .await
                .unwrap_err()
        };
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(e.message().contains("b-base"), "{e}");
        assert!(e.message().contains("b-incr"), "{e}");
    }
    assert_eq!(mem.put_count(), 0);
    assert!(bucket_names(&mem).await.is_empty(), "no bucket created");

    // A selection that needs nothing from the base does not ask for it.
    let folder = tempfile::tempdir().unwrap();
    let only_new = write_archive(
        dir.path(),
        "b-incr2",
        Spec {
            objects: vec![obj("new", "x", b"x".to_vec())],
            in_base: vec![obj("old", "y", b"y".to_vec())],
            base: Some("b-gone".into()),
            ..Spec::default()
        },
    );
    let opts = StorageRestoreOptions {
        buckets: BucketSelection::Only(vec!["new".into()]),
        ..StorageRestoreOptions::default()
    };
    let r = restore(
        &only_new,
        &StorageTargetRef::Folder(folder.path().into()),
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(r.uploaded, 1);
}

#[tokio::test]
async fn a_member_that_differs_from_storage_json_is_never_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let good = obj("b", "a-good", b"good".to_vec());
    let bad = obj("b", "b-bad", b"original bytes".to_vec());
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: vec![good, bad],
            tamper: HashMap::from([("b-bad".to_string(), b"tampered bytes".to_vec())]),
            ..Spec::default()
        },
    );
    let mem = Arc::new(MemoryObjectSource::new());
    for e in [
        plan_of(&archive, &store_of(&mem), &StorageRestoreOptions::default())
            .await
            .unwrap_err(),
        restore(&archive, &store_of(&mem), &StorageRestoreOptions::default())
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        assert!(e.message().contains("b-bad"), "{e}");
    }
    assert_eq!(
        mem.put_count(),
        0,
        "checked against the manifest before anything"
    );
}

#[tokio::test]
async fn bytes_damaged_inside_the_archive_are_caught_while_reading() {
    let dir = tempfile::tempdir().unwrap();
    let good = obj("b", "a-good", noise(10_000, 5));
    let bad = obj("b", "b-bad", noise(50_000, 6));
    // Level 0: stored deflate blocks, so the member's bytes appear verbatim in the file.
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: vec![good.clone(), bad.clone()],
            level: 0,
            ..Spec::default()
        },
    );
    let mut raw = std::fs::read(&archive).unwrap();
    let at = raw
        .windows(64)
        .position(|w| w == &bad.body[20_000..20_064])
        .expect("the member's bytes are stored verbatim");
    raw[at + 10] ^= 0x55;
    std::fs::write(&archive, raw).unwrap();

    let mem = Arc::new(MemoryObjectSource::new());
    let e = restore(&archive, &store_of(&mem), &StorageRestoreOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(
        e.message().contains("uploaded before the restore stopped"),
        "{e}"
    );
    assert!(
        mem.head_object("b", "b-bad").await.unwrap().is_none(),
        "the damaged object was not uploaded"
    );
    assert!(
        mem.head_object("b", "a-good").await.unwrap().is_none(),
        "the good one written before it is removed again: {e}"
    );

    let folder = tempfile::tempdir().unwrap();
    let e = restore(
        &archive,
        &StorageTargetRef::Folder(folder.path().into()),
        &StorageRestoreOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(!folder.path().join("b/b-bad").exists());
    assert!(tmp_files(folder.path()).is_empty());
    // The good object written before it is removed again at once, and the bucket's folder.
    assert!(
        e.message()
            .contains("removed again, so the target is as it was before"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0, "{e}");
}

/// A store whose puts of one key fail (`fail` times, then succeed).
struct FailingPuts {
    inner: Arc<MemoryObjectSource>,
    key: String,
    error: Error,
    fail: AtomicU32,
}

#[async_trait]
impl ObjectSource for FailingPuts {
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        self.inner.list_buckets().await
    }
    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage> {
        self.inner.list_objects(bucket, req).await
    }
    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody> {
        self.inner.get_object(bucket, key, req).await
    }
}

#[async_trait]
impl ObjectTarget for FailingPuts {
    async fn create_bucket(&self, bucket: &str) -> Result<bool> {
        ObjectTarget::create_bucket(self.inner.as_ref(), bucket).await
    }
    async fn head_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>> {
        self.inner.head_object(bucket, key).await
    }
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: PutBody,
        req: &PutRequest,
    ) -> Result<ObjectInfo> {
        if key == self.key
            && self
                .fail
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(self.error.clone());
        }
        self.inner.put_object(bucket, key, body, req).await
    }
    async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        self.inner.delete_object(bucket, key).await
    }
}

#[tokio::test]
async fn uploads_are_retried_and_a_lasting_failure_stops_the_restore() {
    let dir = tempfile::tempdir().unwrap();
    let objs: Vec<Obj> = (0..20)
        .map(|i| obj("b", &format!("k{i:02}"), format!("body {i}").into_bytes()))
        .collect();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: objs.clone(),
            ..Spec::default()
        },
    );
    let opts = StorageRestoreOptions {
        retry: fast_retry(),
        mirror: true,
        ..StorageRestoreOptions::default()
    };

    // Two temporary failures: retried.
    let mem = Arc::new(MemoryObjectSource::new());
    let flaky = Arc::new(FailingPuts {
        inner: mem.clone(),
        key: "k05".into(),
        error: Error::new(ErrorKind::Connection, "connection reset by peer"),
        fail: AtomicU32::new(2),
    });
    let report = restore(&archive, &StorageTargetRef::Store(flaky.clone()), &opts)
        .await
        .unwrap();
    assert_eq!(report.uploaded, 20);
    assert_eq!(body_of(&mem, "b", "k05").await, b"body 5");

    // A permanent failure: the restore stops, says what was uploaded, deletes nothing of the
    // target's own, and removes again at once what it had written where there was nothing.
    let mem = Arc::new(MemoryObjectSource::new());
    mem.insert("b", "zz-extra", b"extra".to_vec(), None);
    let denied = Arc::new(FailingPuts {
        inner: mem.clone(),
        key: "k05".into(),
        error: Error::new(ErrorKind::Permission, "HTTP 403 AccessDenied"),
        fail: AtomicU32::new(u32::MAX),
    });
    let e = restore(&archive, &StorageTargetRef::Store(denied), &opts)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    assert!(e.message().contains("uploading b/k05"), "{e}");
    assert!(e.message().contains("AccessDenied"), "{e}");
    assert!(
        e.message()
            .contains("were uploaded before the restore stopped"),
        "{e}"
    );
    assert!(e.message().contains("nothing was deleted"), "{e}");
    let uploaded = mem.put_count();
    assert!(uploaded > 0, "some were written before the failure");
    assert!(
        e.message().contains(&format!("{uploaded} objects")),
        "{uploaded}: {e}"
    );
    assert!(
        e.message().contains(&format!(
            "the {uploaded} objects it had written where there were none were removed again, so the target is as it was before"
        )),
        "{e}"
    );
    assert_eq!(
        keys_of(&mem, "b").await,
        ["zz-extra"],
        "mirror deleted nothing, what it wrote is gone"
    );
}

#[tokio::test]
async fn a_failed_restore_removes_what_it_wrote_at_once_and_names_what_it_overwrote() {
    let dir = tempfile::tempdir().unwrap();
    let objs: Vec<Obj> = (0..20)
        .map(|i| obj("b", &format!("k{i:02}"), format!("body {i}").into_bytes()))
        .collect();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: objs,
            ..Spec::default()
        },
    );
    let mem = Arc::new(MemoryObjectSource::new());
    mem.insert("b", "k00", b"the target's own k00".to_vec(), None);
    mem.insert("b", "own", b"mine".to_vec(), None);
    let denied = Arc::new(FailingPuts {
        inner: mem.clone(),
        key: "k05".into(),
        error: Error::new(ErrorKind::Permission, "HTTP 403 AccessDenied"),
        fail: AtomicU32::new(u32::MAX),
    });
    let opts = StorageRestoreOptions {
        retry: fast_retry(),
        concurrency: 2,
        journal: Some(crate::storage::restore::journal::StorageJournal(Arc::new(
            Again,
        ))),
        ..StorageRestoreOptions::default()
    };
    let e = restore(&archive, &StorageTargetRef::Store(denied), &opts)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    assert!(e.message().contains("removed again"), "{e}");
    assert!(
        e.message()
            .contains("it was to overwrite 1 object whose content differed (b/k00)")
            && !e.message().contains("as it was before"),
        "{e}"
    );
    assert_eq!(
        e.hint(),
        Some("run the same restore again to finish it: offsite restore again"),
        "{e}"
    );
    assert_eq!(keys_of(&mem, "b").await, ["k00", "own"], "{e}");
    assert_eq!(body_of(&mem, "b", "own").await, b"mine");
}

/// A journal that records nothing and names the restore to run again.
struct Again;

impl crate::storage::restore::journal::RecordStorageJournal for Again {
    fn writing(
        &self,
        _note: crate::storage::restore::journal::StorageJournalNote,
    ) -> futures::future::BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    fn deleting(&self) -> futures::future::BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    fn again(&self) -> Option<String> {
        Some("offsite restore again".into())
    }
}

#[tokio::test]
async fn progress_counts_the_bytes_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let objs = typical();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: objs.clone(),
            ..Spec::default()
        },
    );
    let seen = Arc::new(Mutex::new(Vec::<ProgressUpdate>::new()));
    let sink = {
        let seen = seen.clone();
        move |u: &ProgressUpdate| seen.lock().unwrap().push(u.clone())
    };
    let reporter = Reporter::with_interval(Arc::new(sink), "j", Duration::ZERO);
    let mem = Arc::new(MemoryObjectSource::new());
    restore_storage(
        &archive,
        &no_base,
        &store_of(&mem),
        &StorageRestoreOptions::default(),
        &reporter,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let total: u64 = objs.iter().map(|o| o.body.len() as u64).sum();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].phase, Phase::Planning);
    let restoring: Vec<&ProgressUpdate> = seen
        .iter()
        .filter(|u| u.phase == Phase::Restoring)
        .collect();
    assert_eq!(restoring[0].bytes_done, 0);
    assert_eq!(restoring[0].bytes_total, Some(total));
    assert_eq!(restoring.last().unwrap().bytes_done, total);
    assert!(restoring.len() >= 4, "{}", restoring.len());
}
