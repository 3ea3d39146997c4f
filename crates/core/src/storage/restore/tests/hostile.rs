//! A crafted `storage.json`: an object whose bytes are said to be another bucket's member, keys
//! a store could resolve outside their bucket, member names that leave `storage/<bucket>/`.
//! Each is refused at planning with a coded error; nothing is uploaded or written.

use super::*;

/// An archive whose storage.json lists `entries` and holds `members`.
fn crafted(dir: &Path, entries: Vec<ObjectEntry>, members: &[(&str, &[u8])]) -> PathBuf {
    let mut doc = StorageDoc::default();
    let mut names: Vec<String> = entries.iter().map(|e| e.bucket.clone()).collect();
    names.dedup();
    for name in names {
        doc.buckets.push(BucketEntry {
            name,
            settings: None,
            objects: 1,
            bytes: 0,
        });
    }
    doc.objects = entries;
    let mut w = ArchiveWriter::create(dir, "shop_20261121_101500_storage.tar.gz", 6).unwrap();
    w.add_bytes(STORAGE_DOC, serde_json::to_vec(&doc).unwrap());
    for (name, bytes) in members {
        w.add_bytes(name, bytes.to_vec());
    }
    w.finish(
        manifest("b-1"),
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .unwrap()
    .path
}

/// Plan and restore into a memory store and a folder: the errors, after asserting nothing was
/// uploaded or written.
async fn refused(archive: &Path, folder_too: bool) -> Vec<crate::Error> {
    let mem = Arc::new(MemoryObjectSource::new());
    let opts = StorageRestoreOptions::default();
    let mut errors = vec![
        plan_of(archive, &store_of(&mem), &opts).await.unwrap_err(),
        restore(archive, &store_of(&mem), &opts).await.unwrap_err(),
    ];
    assert_eq!(mem.put_count(), 0, "uploaded");
    assert!(
        mem.list_buckets().await.unwrap().is_empty(),
        "bucket created"
    );
    if folder_too {
        let out = tempfile::tempdir().unwrap();
        let target = StorageTargetRef::Folder(out.path().join("restored"));
        errors.push(restore(archive, &target, &opts).await.unwrap_err());
        assert!(
            !out.path().join("restored").exists(),
            "a folder was written"
        );
    }
    errors
}

#[tokio::test]
async fn an_object_whose_bytes_are_another_buckets_member_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = b"the private bucket's bytes";
    let public = obj("public", "avatar.png", secret.to_vec());
    // The public object's bytes "are" the private bucket's member, with its size and hash.
    let archive = crafted(
        dir.path(),
        vec![entry(&public, Some("storage/private/secret.pdf".into()))],
        &[("storage/private/secret.pdf", secret)],
    );
    for e in refused(&archive, true).await {
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        assert!(e.message().contains("outside its bucket"), "{e}");
        assert!(
            e.message().contains("avatar.png") && e.hint().is_some(),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn keys_with_dot_segments_stay_names_inside_their_bucket() {
    // In a store a key is a name: `..` and a leading `/` are kept as they are (the S3 client
    // sends keys verbatim), in the bucket they came from and no other. (A folder restore keeps
    // such keys inside the bucket's folder: folder::a_folder_restore_keeps_odd_keys_inside_the_folder.)
    let dir = tempfile::tempdir().unwrap();
    let keys = [
        "../other/x",
        "a/../../other/y",
        "/etc/passwd",
        "storage/b/../z",
    ];
    let objects: Vec<Obj> = keys
        .iter()
        .map(|k| obj("b", k, k.as_bytes().to_vec()))
        .collect();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects,
            ..Spec::default()
        },
    );
    let mem = Arc::new(MemoryObjectSource::new());
    restore(&archive, &store_of(&mem), &StorageRestoreOptions::default())
        .await
        .unwrap();
    let buckets: Vec<String> = mem
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(buckets, vec!["b"]);
    let mut want: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    want.sort();
    assert_eq!(super::store::keys_of_all(&mem, "b").await, want);
}

#[tokio::test]
async fn member_names_that_leave_the_bucket_folder_are_refused() {
    let body = b"x";
    for member in [
        "storage/b/../other/x",
        "storage/../b/x",
        "../storage/b/x",
        "/storage/b/x",
        "storage/b/x\0y",
        "database.dump",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = obj("b", "x", body.to_vec());
        // The writer refuses unsafe member names, so the member itself is a safe one; the
        // listing points elsewhere.
        let archive = crafted(
            dir.path(),
            vec![entry(&o, Some(member.into()))],
            &[("storage/b/x", body)],
        );
        for e in refused(&archive, true).await {
            assert_eq!(e.kind(), ErrorKind::Integrity, "{member:?}: {e}");
            assert!(e.message().contains("is not a storage member"), "{e}");
        }
    }
}
