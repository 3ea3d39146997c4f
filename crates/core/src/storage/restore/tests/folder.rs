//! Restoring into a folder.

use super::*;

#[tokio::test]
async fn a_folder_restore_keeps_odd_keys_inside_the_folder() {
    let root = tempfile::tempdir().unwrap();
    let archives = root.path().join("archives");
    std::fs::create_dir(&archives).unwrap();
    let odd = [
        "../escape.txt",
        "../../escape2.txt",
        "/etc/abs.txt",
        "a//b",
        "dir/",
        "a",
        ".offsite-keys.json",
        "x\\..\\y",
    ];
    let mut objs = vec![
        obj("b", "ok/x.txt", b"ok".to_vec()),
        obj("b", "a/b", b"a/b".to_vec()),
    ];
    objs.extend(
        odd.iter()
            .map(|k| obj("b", k, format!("odd {k}").into_bytes())),
    );
    let archive = write_archive(
        &archives,
        "b-1",
        Spec {
            objects: objs.clone(),
            ..Spec::default()
        },
    );
    let out = root.path().join("work").join("out");
    std::fs::create_dir_all(root.path().join("work")).unwrap();
    let target = StorageTargetRef::Folder(out.clone());
    let report = restore(&archive, &target, &StorageRestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(report.uploaded, objs.len() as u64);
    assert_eq!(report.created_buckets, vec!["b"]);

    assert_eq!(names_in(root.path()), vec!["archives", "work"]);
    assert_eq!(names_in(&root.path().join("work")), vec!["out"]);
    assert_eq!(names_in(&out), vec!["b"]);
    assert!(!Path::new("/etc/abs.txt").exists());
    assert_eq!(std::fs::read(out.join("b/ok/x.txt")).unwrap(), b"ok");
    assert_eq!(std::fs::read(out.join("b/a/b")).unwrap(), b"a/b");
    let map: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(out.join("b/.offsite-keys.json")).unwrap()).unwrap();
    assert_eq!(map.len(), odd.len());
    for k in odd {
        let name = encoded(k);
        assert_eq!(map[&name], k);
        assert_eq!(
            std::fs::read(out.join("b/.offsite-key").join(&name)).unwrap(),
            format!("odd {k}").into_bytes(),
            "{k}"
        );
    }
    assert_eq!(
        names_in(&out.join("b")),
        vec![".offsite-key", ".offsite-keys.json", "a", "ok"]
    );
    assert!(tmp_files(&out).is_empty());

    // Again: everything is identical, nothing is written, the map stays.
    let before = std::fs::metadata(out.join("b/ok/x.txt"))
        .unwrap()
        .modified()
        .unwrap();
    let report = restore(&archive, &target, &StorageRestoreOptions::default())
        .await
        .unwrap();
    assert_eq!((report.uploaded, report.skipped), (0, objs.len() as u64));
    assert_eq!(
        std::fs::metadata(out.join("b/ok/x.txt"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
    let again: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(out.join("b/.offsite-keys.json")).unwrap()).unwrap();
    assert_eq!(again, map);
}

#[tokio::test]
async fn a_folder_keeps_different_files_unless_overwrite_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: vec![
                obj("b", "a.txt", b"backup".to_vec()),
                obj("b", "n.txt", b"new".to_vec()),
            ],
            ..Spec::default()
        },
    );
    let out = tempfile::tempdir().unwrap();
    std::fs::create_dir(out.path().join("b")).unwrap();
    std::fs::write(out.path().join("b/a.txt"), b"mine!").unwrap();
    std::fs::write(out.path().join("b/other.txt"), b"untouched").unwrap();
    let target = StorageTargetRef::Folder(out.path().into());

    let plan = plan_of(&archive, &target, &StorageRestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (plan.upload, plan.keep_different, plan.overwrite_count),
        (1, 1, 0)
    );
    assert!(!plan.buckets[0].create);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("1 existing files differ")),
        "{plan:#?}"
    );
    let r = restore(&archive, &target, &StorageRestoreOptions::default())
        .await
        .unwrap();
    assert_eq!((r.uploaded, r.kept), (1, 1));
    assert_eq!(std::fs::read(out.path().join("b/a.txt")).unwrap(), b"mine!");
    assert_eq!(std::fs::read(out.path().join("b/n.txt")).unwrap(), b"new");

    let overwrite = StorageRestoreOptions {
        overwrite: true,
        ..StorageRestoreOptions::default()
    };
    let plan = plan_of(&archive, &target, &overwrite).await.unwrap();
    assert_eq!(
        (plan.upload, plan.overwrite_count, plan.identical),
        (1, 1, 1)
    );
    restore(&archive, &target, &overwrite).await.unwrap();
    assert_eq!(
        std::fs::read(out.path().join("b/a.txt")).unwrap(),
        b"backup"
    );
    assert_eq!(
        std::fs::read(out.path().join("b/other.txt")).unwrap(),
        b"untouched"
    );

    let mirror = StorageRestoreOptions {
        mirror: true,
        ..StorageRestoreOptions::default()
    };
    let e = restore(&archive, &target, &mirror).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(out.path().join("b/other.txt").exists());
}

#[cfg(unix)]
#[tokio::test]
async fn a_folder_restore_never_follows_a_symlink_out() {
    let dir = tempfile::tempdir().unwrap();
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: vec![obj("b", "sub/x.txt", b"x".to_vec())],
            ..Spec::default()
        },
    );
    let outside = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    std::fs::create_dir(out.path().join("b")).unwrap();
    std::os::unix::fs::symlink(outside.path(), out.path().join("b/sub")).unwrap();
    let target = StorageTargetRef::Folder(out.path().into());
    let plan = plan_of(&archive, &target, &StorageRestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(plan.blockers.len(), 1, "{plan:#?}");
    assert!(plan.blockers[0].contains("symbolic link"), "{plan:#?}");
    let e = restore(&archive, &target, &StorageRestoreOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(names_in(outside.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_folder_restore_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let big = obj("b", "big.bin", noise(48 << 20, 9));
    let archive = write_archive(
        dir.path(),
        "b-1",
        Spec {
            objects: vec![big],
            level: 1,
            ..Spec::default()
        },
    );
    let out = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let watcher = {
        let (cancel, bucket) = (cancel.clone(), out.path().join("b"));
        std::thread::spawn(move || {
            for _ in 0..20_000 {
                if bucket.is_dir() && !tmp_files(&bucket).is_empty() {
                    cancel.cancel();
                    return true;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            false
        })
    };
    let r = restore_storage(
        &archive,
        &no_base,
        &StorageTargetRef::Folder(out.path().into()),
        &StorageRestoreOptions::default(),
        &Reporter::silent(),
        &cancel,
    )
    .await;
    assert!(watcher.join().unwrap(), "the temporary file was never seen");
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Cancelled);
    assert!(tmp_files(out.path()).is_empty());
    assert!(!out.path().join("b/big.bin").exists());
}

#[tokio::test]
async fn a_folder_restore_matches_what_gnu_tar_extracts_for_plain_keys() {
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
    let tarred = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(tarred.path())
        .status()
        .expect("GNU tar runs");
    assert!(status.success());
    let out = tempfile::tempdir().unwrap();
    restore(
        &archive,
        &StorageTargetRef::Folder(out.path().into()),
        &StorageRestoreOptions::default(),
    )
    .await
    .unwrap();
    for o in &objs {
        let (member, is_encoded) = member_name(&o.bucket, &o.key);
        let by_tar = std::fs::read(tarred.path().join(&member)).unwrap();
        assert_eq!(by_tar, o.body, "{member}");
        let ours = if is_encoded {
            out.path()
                .join(&o.bucket)
                .join(".offsite-key")
                .join(encoded(&o.key))
        } else {
            out.path().join(&o.bucket).join(&o.key)
        };
        assert_eq!(std::fs::read(&ours).unwrap(), by_tar, "{}", o.key);
    }
}
