//! The undo of an interrupted storage restore into a folder ([`super::super::journal`]): what
//! the restore wrote where there was nothing goes, with its temporary files and the folders it
//! made; a file changed since is kept and named; a note that points outside the folder, or a
//! symlink on the way, removes nothing.

use super::super::journal::{undo_interrupted, NewObject, StorageJournalNote};
use super::*;

fn new(bucket: &str, key: &str, size: u64) -> NewObject {
    NewObject {
        bucket: bucket.into(),
        key: key.into(),
        size: Some(size),
    }
}

#[tokio::test]
async fn what_a_killed_restore_wrote_goes_and_a_file_changed_since_stays() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("keep")).unwrap();
    std::fs::write(d.join("keep/own.txt"), b"mine").unwrap();
    // What the killed restore left: one object, a temporary file, one object rewritten since.
    std::fs::create_dir_all(d.join("media/a/deep")).unwrap();
    std::fs::write(d.join("media/a/deep/one.bin"), b"one").unwrap();
    std::fs::write(d.join("media/a/.offsite-tmp-x1"), b"half").unwrap();
    std::fs::write(d.join("media/b.bin"), b"someone else's").unwrap();
    let note = StorageJournalNote {
        create_buckets: vec!["media".into()],
        dir_existed: true,
        new: vec![
            new("media", "a/deep/one.bin", 3),
            new("media", "b.bin", 5),
            new("media", "never/written.bin", 9),
        ],
        ..StorageJournalNote::default()
    };
    let target = StorageTargetRef::Folder(d.to_path_buf());
    let done = undo_interrupted(&target, &note, &RetryPolicy::default())
        .await
        .unwrap();
    assert_eq!(done.removed, 1);
    assert_eq!(done.changed, ["media/b.bin"]);
    assert_eq!(done.buckets_left, ["media"], "it holds the file kept");
    assert!(
        !d.join("media/a").exists(),
        "its folders and temporary file go"
    );
    assert_eq!(
        std::fs::read(d.join("media/b.bin")).unwrap(),
        b"someone else's"
    );
    assert_eq!(std::fs::read(d.join("keep/own.txt")).unwrap(), b"mine");
}

#[cfg(unix)]
#[tokio::test]
async fn a_note_pointing_outside_the_folder_or_through_a_symlink_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x"), b"x").unwrap();
    let d = dir.path().join("target");
    std::fs::create_dir_all(d.join("media")).unwrap();
    std::fs::write(dir.path().join("victim"), b"v").unwrap();
    std::os::unix::fs::symlink(outside.path(), d.join("linked")).unwrap();
    let target = StorageTargetRef::Folder(d.clone());
    for key in ["../../victim", "a/../../../victim", "/victim", ""] {
        let note = StorageJournalNote {
            dir_existed: true,
            new: vec![new("media", key, 1)],
            ..StorageJournalNote::default()
        };
        let e = undo_interrupted(&target, &note, &RetryPolicy::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity, "{key:?}: {e}");
    }
    let note = StorageJournalNote {
        create_buckets: vec!["linked".into()],
        dir_existed: true,
        new: vec![new("linked", "x", 1)],
        ..StorageJournalNote::default()
    };
    let done = undo_interrupted(&target, &note, &RetryPolicy::default())
        .await
        .unwrap();
    assert_eq!(done.removed, 0);
    assert_eq!(std::fs::read(dir.path().join("victim")).unwrap(), b"v");
    assert_eq!(std::fs::read(outside.path().join("x")).unwrap(), b"x");
    assert!(
        d.join("linked").exists(),
        "the symlink itself is not followed nor removed"
    );
}
