//! The 3-2-1 count is true to the disks (issue 42, item 7): a folder destination on the same
//! filesystem as the local backups, and an rclone remote whose configured type is `local` (its
//! name says "offsite"), are the same medium as the local copy, not offsite; `protection` and
//! the health (what `offsite status` and the dashboard show) say why, in the engine's words.
//! A folder on another filesystem (/dev/shm, a tmpfs) is a second medium.

use super::common::{env_configured, Env};
use offsite_core::catalog::{CopyState, DestinationSpec};
use offsite_core::health::ProblemKind;
use offsite_core::ops::SyncOptions;
use offsite_core::{AddProject, BackupOptions, JobStart};
use offsite_testkit::TestCluster;
use std::path::Path;

fn folder(name: &str, dir: &Path) -> DestinationSpec {
    DestinationSpec {
        name: name.into(),
        folder: Some(dir.to_string_lossy().into_owned()),
        ..Default::default()
    }
}

async fn project(pg: &TestCluster, env: &Env, name: &str) {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);",
    );
    env.engine
        .add_project(AddProject::url(name, pg.url_with_password(&db)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn copies_on_the_local_disk_and_a_local_rclone_remote_are_one_medium_and_say_why() {
    let pg = TestCluster::shared();
    let env = env_configured(|c| c).await;
    let e = &env.engine;
    // rclone's own configuration: a remote named like an offsite one, of type local.
    let conf = env.dir.path().join("rclone.conf");
    std::fs::write(&conf, "[offsite-nas]\ntype = local\n").unwrap();
    // SAFETY: set before any rclone runs; no other test of this binary reads it.
    unsafe { std::env::set_var("RCLONE_CONFIG", &conf) };
    project(pg, &env, "media").await;
    let usb = env.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    e.add_destination("media", folder("usb", &usb), None)
        .await
        .unwrap();
    let rc = env.dir.path().join("rc");
    std::fs::create_dir(&rc).unwrap();
    e.add_destination(
        "media",
        DestinationSpec {
            name: "nas".into(),
            rclone: Some(format!("offsite-nas:{}", rc.display())),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let o = e
        .backup(BackupOptions::project("media"), JobStart::default())
        .await
        .unwrap();
    assert!(
        o.copies.iter().all(|c| c.state == CopyState::Stored),
        "{:?}",
        o.copies
    );

    let p = e.protection("media").await.unwrap();
    assert_eq!(
        (p.copies, p.media, p.offsite, p.meets_321),
        (3, 1, false, false),
        "{p:?}"
    );
    assert_eq!(p.notes.len(), 2, "{p:?}");
    assert!(
        p.summary
            .starts_with("3 copies on 1 medium, none offsite ("),
        "{}",
        p.summary
    );
    assert!(
        p.summary
            .contains("usb is on the same disk as the local backups"),
        "{}",
        p.summary
    );
    assert!(
        p.summary.contains("nas (rclone offsite-nas:"),
        "{}",
        p.summary
    );
    assert!(
        p.summary.contains("a remote of type local"),
        "{}",
        p.summary
    );

    // What `offsite status` and the dashboard show: one place, and why.
    let h = e.health(Some("media")).await.unwrap().remove(0);
    let one = h
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::OneCopy)
        .unwrap_or_else(|| panic!("no one_copy problem: {h:?}"));
    assert!(
        one.reason.starts_with(
            "3 of 3 copies, all on one disk: the newest good backup is only on this computer ("
        ),
        "{}",
        one.reason
    );
    assert!(
        one.reason.contains("same disk as the local backups"),
        "{}",
        one.reason
    );
    let usb_mark = h.copies.iter().find(|c| c.place == "usb").unwrap();
    assert_eq!(usb_mark.same_medium_as.as_deref(), Some("This computer"));
    assert!(usb_mark.note.is_some());

    // A folder on another filesystem is a second medium.
    let shm = Path::new("/dev/shm");
    assert!(
        shm.is_dir(),
        "this test needs /dev/shm (a tmpfs) as a second filesystem"
    );
    let other = tempfile::tempdir_in(shm).unwrap();
    e.add_destination("media", folder("shm", other.path()), None)
        .await
        .unwrap();
    e.sync(
        SyncOptions {
            project: "media".into(),
        },
        JobStart::default(),
    )
    .await
    .unwrap();
    let p = e.protection("media").await.unwrap();
    assert_eq!((p.copies, p.media, p.offsite), (4, 2, false), "{p:?}");
    let h = e.health(Some("media")).await.unwrap().remove(0);
    assert!(
        !h.problems.iter().any(|p| p.kind == ProblemKind::OneCopy),
        "{h:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_destination_counts_only_the_copies_written_there() {
    let pg = TestCluster::shared();
    let env = env_configured(|c| c).await;
    let e = &env.engine;
    project(pg, &env, "never").await;
    // A drive not mounted: the copy waits, never written.
    let gone = env.dir.path().join("not-mounted");
    e.add_destination("never", folder("usb", &gone), None)
        .await
        .unwrap();
    let o = e
        .backup(BackupOptions::project("never"), JobStart::default())
        .await
        .unwrap();
    assert!(
        o.copies.iter().all(|c| c.state == CopyState::Pending),
        "{:?}",
        o.copies
    );
    let r = e.remove_destination("never", "usb").await.unwrap();
    assert_eq!(r.copies_forgotten, 0, "{r:?}");
    assert!(
        r.note.starts_with("no copies were stored in "),
        "{}",
        r.note
    );
    assert!(
        r.note
            .contains("1 pending copy never written there was dropped"),
        "{}",
        r.note
    );
    assert!(!r.note.contains("left in place"), "{}", r.note);
}

/// "Test destination" says a folder on the local backups' disk is not a separate copy (issue 44,
/// `protection-05`: it read green "Writable · free"), before the first backup too; a folder on
/// another filesystem (/dev/shm) is not flagged.
#[tokio::test(flavor = "multi_thread")]
async fn testing_a_destination_on_the_backups_disk_says_it_is_not_a_separate_copy() {
    let pg = TestCluster::shared();
    let env = env_configured(|c| c).await;
    let e = &env.engine;
    project(pg, &env, "samedisk").await;
    let usb = env.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    e.add_destination("samedisk", folder("usb", &usb), None)
        .await
        .unwrap();
    let t = e.test_destination("samedisk", "usb").await.unwrap();
    assert!(t.writable, "{t:?}");
    assert_eq!(
        t.same_disk.as_deref(),
        Some(offsite_core::ops::destinations::SAME_DISK_WORDS),
        "{t:?}"
    );
    let other = tempfile::tempdir_in("/dev/shm").unwrap();
    e.add_destination("samedisk", folder("shm", other.path()), None)
        .await
        .unwrap();
    let t = e.test_destination("samedisk", "shm").await.unwrap();
    assert!(t.writable, "{t:?}");
    assert_eq!(t.same_disk, None, "{t:?}");
}
