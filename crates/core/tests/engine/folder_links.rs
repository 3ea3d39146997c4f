//! Folder destinations and the local backup folder follow no planted link (issue 41): someone
//! who can write to a NAS share swaps `D/<project>` for a link to the laptop's own backup folder,
//! or a copy for a link to a local archive. No copy is recorded through the link, retention
//! deletes nothing through it, and the error names it. The local prune refuses the same trick
//! the other way round (`backups/<project>` swapped for a link to a destination's copies).

use crate::common::{env_configured, Env};
use offsite_core::catalog::{CopyState, DestinationSpec};
use offsite_core::clock::ManualClock;
use offsite_core::ops::{PruneOptions, SyncOptions};
use offsite_core::schedule::RetentionPolicy;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart};
use offsite_testkit::TestCluster;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use time::macros::datetime;

async fn project(pg: &TestCluster, env: &Env, name: &str) {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 20) g;",
    );
    env.engine
        .add_project(AddProject::url(name, pg.url_with_password(&db)))
        .await
        .unwrap();
}

fn folder(name: &str, dir: &Path, keep_last: Option<u32>) -> DestinationSpec {
    DestinationSpec {
        name: name.into(),
        folder: Some(dir.to_string_lossy().into_owned()),
        retention: keep_last.map(|n| RetentionPolicy {
            keep_last: Some(n),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn sidecar(p: &Path) -> PathBuf {
    PathBuf::from(format!("{}.sha256", p.display()))
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The state of backup `id`'s copy at destination `dest`, if any is recorded.
async fn copy_state(env: &Env, project: &str, id: &str, dest: &str) -> Option<CopyState> {
    let all = env.engine.copies(project).await.unwrap();
    let b = all.iter().find(|b| b.backup_id == id)?;
    b.copies
        .iter()
        .find(|c| c.destination == dest)
        .map(|c| c.state)
}

async fn backup(env: &Env, project: &str, clock: &ManualClock) -> offsite_core::ops::BackupOutcome {
    let o = env
        .engine
        .backup(BackupOptions::project(project), JobStart::default())
        .await
        .unwrap();
    clock.advance(time::Duration::days(1));
    o
}

async fn sync(env: &Env, project: &str) -> offsite_core::Result<offsite_core::ops::SyncOutcome> {
    env.engine
        .sync(
            SyncOptions {
                project: project.into(),
            },
            JobStart::default(),
        )
        .await
}

/// Every local archive and its `.sha256` is still there, byte for byte.
fn all_there(before: &[(PathBuf, Vec<u8>, Vec<u8>)]) {
    for (p, bytes, side) in before {
        assert_eq!(&std::fs::read(p).unwrap(), bytes, "{} changed", p.display());
        assert_eq!(
            &std::fs::read(sidecar(p)).unwrap(),
            side,
            "{}.sha256",
            p.display()
        );
    }
}

fn snapshot(paths: &[PathBuf]) -> Vec<(PathBuf, Vec<u8>, Vec<u8>)> {
    paths
        .iter()
        .map(|p| {
            (
                p.clone(),
                std::fs::read(p).unwrap(),
                std::fs::read(sidecar(p)).unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_folder_swapped_for_a_link_to_the_local_backups_is_refused() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 10:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    project(pg, &env, "swapped").await;
    let nas = env.dir.path().join("nas");
    std::fs::create_dir(&nas).unwrap();
    let e = &env.engine;
    e.add_destination("swapped", folder("nas", &nas, Some(1)), None)
        .await
        .unwrap();
    // A healthy destination after it, whose retention must still run.
    let usb = env.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    e.add_destination("swapped", folder("zz-usb", &usb, Some(1)), None)
        .await
        .unwrap();
    let first = backup(&env, "swapped", &clock).await;
    let second = backup(&env, "swapped", &clock).await;
    for o in [&first, &second] {
        assert!(
            o.copies.iter().all(|c| c.state == CopyState::Stored),
            "{:?}",
            o.copies
        );
    }

    // The attack: D/<project> becomes a link to the laptop's own backup folder.
    let local_dir = Path::new(&first.backup.path)
        .parent()
        .unwrap()
        .to_path_buf();
    let link = nas.join("swapped");
    std::fs::rename(&link, nas.join("moved-away")).unwrap();
    symlink(&local_dir, &link).unwrap();

    let third = backup(&env, "swapped", &clock).await;
    let locals: Vec<PathBuf> = [&first, &second, &third]
        .iter()
        .map(|o| PathBuf::from(&o.backup.path))
        .collect();
    let before = snapshot(&locals);
    let copy = third
        .copies
        .iter()
        .find(|c| c.destination == "nas")
        .unwrap();
    assert_eq!(copy.state, CopyState::Pending, "{:?}", third.copies);
    let err = copy.error.as_ref().unwrap();
    assert_eq!(err.code, ErrorKind::UnsafePath, "{err:?}");
    assert!(err.message.contains(&link.display().to_string()), "{err:?}");

    // Keep-last-1: the new backup cannot go there, the older copies cannot be deleted through
    // the link: the sync fails naming it, and every local archive is still there.
    let err = sync(&env, "swapped").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsafePath, "{err}");
    assert!(err.message().contains(&link.display().to_string()), "{err}");
    assert!(
        err.hint().is_some_and(|h| h.contains("remove the link")),
        "{err:?}"
    );
    all_there(&before);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    // The healthy destination had its turn: keep-last-1 left it the newest copy only.
    assert_eq!(
        copy_state(&env, "swapped", &first.backup.id, "zz-usb").await,
        None
    );
    assert_eq!(
        copy_state(&env, "swapped", &third.backup.id, "zz-usb").await,
        Some(CopyState::Stored)
    );
    assert!(!usb.join("swapped").join(file_name(&locals[0])).exists());
    assert!(usb.join("swapped").join(file_name(&locals[2])).is_file());
    assert_ne!(
        copy_state(&env, "swapped", &third.backup.id, "nas").await,
        Some(CopyState::Stored)
    );
    // The local archives are not listed as the destination's copies either.
    let listed = offsite_core::destinations::FolderDestination::new(&nas);
    use offsite_core::destinations::Destination;
    assert!(listed.list("swapped/").await.unwrap().is_empty());
    assert!(listed
        .stat(&format!("swapped/{}", file_name(&locals[2])))
        .await
        .is_err());

    // The link removed and the real folder back: sync works again.
    std::fs::remove_file(&link).unwrap();
    std::fs::rename(nas.join("moved-away"), &link).unwrap();
    let s = sync(&env, "swapped").await.unwrap();
    assert_eq!(s.pending, 0, "{s:?}");
    assert_eq!(
        copy_state(&env, "swapped", &third.backup.id, "nas").await,
        Some(CopyState::Stored)
    );
    all_there(&before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_replaced_by_a_link_is_never_recorded_nor_deleted_through() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 10:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    project(pg, &env, "planted").await;
    let (usb, late) = (env.dir.path().join("usb"), env.dir.path().join("late"));
    std::fs::create_dir(&usb).unwrap();
    let e = &env.engine;
    e.add_destination("planted", folder("usb", &usb, Some(1)), None)
        .await
        .unwrap();
    let first = backup(&env, "planted", &clock).await;
    let local = PathBuf::from(&first.backup.path);
    let name = file_name(&local);

    // A destination added later finds links where the first backup's copy and sidecar go.
    std::fs::create_dir_all(late.join("planted")).unwrap();
    symlink(&local, late.join("planted").join(&name)).unwrap();
    symlink(
        sidecar(&local),
        late.join("planted").join(format!("{name}.sha256")),
    )
    .unwrap();
    e.add_destination("planted", folder("late", &late, None), None)
        .await
        .unwrap();
    let s = sync(&env, "planted").await.unwrap();
    let tried = s.copies.iter().find(|c| c.destination == "late").unwrap();
    assert_eq!(tried.state, CopyState::Pending, "{s:?}");
    let err = tried.error.as_ref().unwrap();
    assert_eq!(err.code, ErrorKind::UnsafePath, "{err:?}");
    assert!(
        err.message
            .contains(&late.join("planted").join(&name).display().to_string()),
        "{err:?}"
    );
    assert_eq!(
        copy_state(&env, "planted", &first.backup.id, "late").await,
        Some(CopyState::Pending)
    );

    // The copy at usb is swapped for a link to the local archive (and its sidecar too): the
    // next backup's sync (keep-last-1) must not delete the local archive through it.
    let copy = usb.join("planted").join(&name);
    std::fs::remove_file(&copy).unwrap();
    symlink(&local, &copy).unwrap();
    let copy_sidecar = usb.join("planted").join(format!("{name}.sha256"));
    std::fs::remove_file(&copy_sidecar).unwrap();
    symlink(sidecar(&local), &copy_sidecar).unwrap();
    let second = backup(&env, "planted", &clock).await;
    let before = snapshot(&[local.clone(), PathBuf::from(&second.backup.path)]);
    let err = sync(&env, "planted").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsafePath, "{err}");
    assert!(err.message().contains(&copy.display().to_string()), "{err}");
    all_there(&before);
    assert!(std::fs::symlink_metadata(&copy)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::symlink_metadata(&copy_sidecar)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_local_prune_deletes_nothing_through_a_link() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 10:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    project(pg, &env, "localp").await;
    let nas = env.dir.path().join("nas");
    std::fs::create_dir(&nas).unwrap();
    let e = &env.engine;
    e.add_destination("localp", folder("nas", &nas, None), None)
        .await
        .unwrap();
    let first = backup(&env, "localp", &clock).await;
    let second = backup(&env, "localp", &clock).await;
    let copies: Vec<PathBuf> = [&first, &second]
        .iter()
        .map(|o| {
            nas.join("localp")
                .join(file_name(Path::new(&o.backup.path)))
        })
        .collect();
    let before = snapshot(&copies);

    // The local project folder is swapped for a link to the destination's copies (the same
    // names, the same manifests).
    let local_dir = Path::new(&first.backup.path)
        .parent()
        .unwrap()
        .to_path_buf();
    std::fs::rename(&local_dir, env.dir.path().join("moved-away")).unwrap();
    symlink(nas.join("localp"), &local_dir).unwrap();

    e.set_retention(
        "localp",
        RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        },
        Some("UTC"),
    )
    .await
    .unwrap();
    let pr = e
        .prune(
            PruneOptions {
                project: "localp".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(pr.removed.is_empty(), "{pr:?}");
    assert_eq!(pr.skipped.len(), 1, "{pr:?}");
    assert_eq!(pr.skipped[0].error.code, ErrorKind::UnsafePath, "{pr:?}");
    assert!(
        pr.skipped[0]
            .error
            .message
            .contains(&local_dir.display().to_string()),
        "{pr:?}"
    );
    all_there(&before);
    assert_eq!(
        copy_state(&env, "localp", &first.backup.id, "nas").await,
        Some(CopyState::Stored)
    );
}
