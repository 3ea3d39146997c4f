//! Destinations against a real PostgreSQL server and folder destinations: after each backup its
//! archive and `.sha256` are copied to every destination; one that is offline (a drive not
//! mounted) leaves the copy pending — the backup succeeds — until `sync` pushes it; each
//! destination's retention prunes only its own copies; a copy is fetched back and restored
//! after the local file was deleted; the catalog says exactly which copies exist; planted
//! secrets (an S3 secret, a database password, an encryption passphrase, an age identity) are
//! found in no file Offsite wrote, nor in what it answers.

use crate::common::{env_configured, files_under, target, Env};
use offsite_core::catalog::{
    CopyState, DestinationKind, DestinationSpec, S3Target, LOCAL_DESTINATION,
};
use offsite_core::clock::ManualClock;
use offsite_core::ops::encryption::{EncryptionMode, SetEncryption};
use offsite_core::ops::{FetchCopyOptions, PruneOptions, SyncOptions, VerifyOptions};
use offsite_core::schedule::RetentionPolicy;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart, RestoreRequest};
use offsite_testkit::TestCluster;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use time::macros::datetime;

async fn project(pg: &TestCluster, env: &Env, name: &str) -> String {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 50) g;",
    );
    env.engine
        .add_project(AddProject::url(name, pg.url_with_password(&db)))
        .await
        .unwrap();
    db
}

fn folder(name: &str, dir: &Path, retention: Option<RetentionPolicy>) -> DestinationSpec {
    DestinationSpec {
        name: name.into(),
        folder: Some(dir.to_string_lossy().into_owned()),
        retention,
        ..Default::default()
    }
}

fn keep_last(n: u32) -> Option<RetentionPolicy> {
    Some(RetentionPolicy {
        keep_last: Some(n),
        ..Default::default()
    })
}

/// The archive files (not `.sha256`) under `dir/<project>`.
fn archives_in(dir: &Path, project: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir.join(project))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| offsite_core::backup::has_archive_suffix(n) && !n.ends_with(".age"))
                .collect()
        })
        .unwrap_or_default()
}

fn file_name(p: &str) -> String {
    Path::new(p)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// (destination name, state) of every copy of backup `id`, sorted.
async fn copies_of(env: &Env, project: &str, id: &str) -> Vec<(String, CopyState)> {
    let all = env.engine.copies(project).await.unwrap();
    let b = all.iter().find(|b| b.backup_id == id).unwrap();
    let mut v: Vec<_> = b
        .copies
        .iter()
        .map(|c| (c.destination.clone(), c.state))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offline_destination_leaves_the_copy_pending_until_sync() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-24 09:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    project(pg, &env, "dshop").await;
    let usb = env.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    let nas = env.dir.path().join("nas-mount");
    let e = &env.engine;
    let added = e
        .add_destination("dshop", folder("usb", &usb, None), None)
        .await
        .unwrap();
    assert_eq!(added.kind, DestinationKind::Folder);
    e.add_destination("dshop", folder("nas", &nas, None), None)
        .await
        .unwrap();

    let o = e
        .backup(BackupOptions::project("dshop"), JobStart::default())
        .await
        .unwrap();
    let by: std::collections::HashMap<_, _> = o
        .copies
        .iter()
        .map(|c| (c.destination.as_str(), c))
        .collect();
    assert_eq!(by["usb"].state, CopyState::Stored, "{:?}", o.copies);
    assert_eq!(by["nas"].state, CopyState::Pending);
    assert_eq!(
        by["nas"].error.as_ref().unwrap().code,
        ErrorKind::Connection
    );
    // The offline folder was not created (a drive not mounted stays a missing mount point).
    assert!(!nas.exists());
    let name = file_name(&o.backup.path);
    let local = std::fs::read(&o.backup.path).unwrap();
    assert_eq!(std::fs::read(usb.join("dshop").join(&name)).unwrap(), local);
    let sidecar =
        std::fs::read_to_string(usb.join("dshop").join(format!("{name}.sha256"))).unwrap();
    assert!(sidecar.starts_with(&o.backup.sha256), "{sidecar}");
    assert_eq!(
        copies_of(&env, "dshop", &o.backup.id).await,
        vec![
            (LOCAL_DESTINATION.to_string(), CopyState::Stored),
            ("nas".to_string(), CopyState::Pending),
            ("usb".to_string(), CopyState::Stored),
        ]
    );
    let p = e.protection("dshop").await.unwrap();
    // usb is a folder on the disk of the local backups (one temporary folder): one medium.
    assert_eq!(
        (p.copies, p.media, p.offsite, p.meets_321),
        (2, 1, false, false)
    );
    assert_eq!(p.pending.len(), 1);
    assert_eq!(p.pending[0].destination, "nas");
    assert_eq!(p.pending[0].since, "2026-11-24T09:00:00.000Z");
    assert!(
        p.summary
            .contains("copy to nas pending since 2026-11-24T09:00:00.000Z"),
        "{}",
        p.summary
    );
    let t = e.test_destination("dshop", "nas").await.unwrap();
    assert!(t.offline && !t.writable, "{t:?}");
    let t = e.test_destination("dshop", "usb").await.unwrap();
    assert!(!t.offline && t.writable && t.free_bytes.is_some(), "{t:?}");

    // Still offline: sync keeps it pending, since the first failure, one more attempt.
    clock.advance(time::Duration::hours(1));
    let s = e
        .sync(
            SyncOptions {
                project: "dshop".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(s.pending, 1);
    let copy = e.copies("dshop").await.unwrap()[0]
        .copies
        .iter()
        .find(|c| c.destination == "nas")
        .cloned()
        .unwrap();
    assert_eq!(
        copy.pending_since.as_deref(),
        Some("2026-11-24T09:00:00.000Z")
    );
    assert_eq!(copy.attempts, 2);

    // The drive is back: sync pushes the copy, checked.
    std::fs::create_dir(&nas).unwrap();
    let s = e
        .sync(
            SyncOptions {
                project: "dshop".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(s.pending, 0, "{s:?}");
    assert_eq!(s.copies.len(), 1);
    assert_eq!(std::fs::read(nas.join("dshop").join(&name)).unwrap(), local);
    let p = e.protection("dshop").await.unwrap();
    // Both folders are on the disk of the local backups (one temporary folder): one medium.
    assert_eq!((p.copies, p.media, p.pending.len()), (3, 1, 0));
    assert_eq!(p.notes.len(), 2, "{p:?}");
    assert_eq!(
        copies_of(&env, "dshop", &o.backup.id).await,
        vec![
            (LOCAL_DESTINATION.to_string(), CopyState::Stored),
            ("nas".to_string(), CopyState::Stored),
            ("usb".to_string(), CopyState::Stored),
        ]
    );

    // Removing a destination forgets its copies and leaves the files.
    let r = e.remove_destination("dshop", "nas").await.unwrap();
    assert_eq!(r.copies_forgotten, 1);
    assert!(r.note.contains("left in place"), "{}", r.note);
    assert!(nas.join("dshop").join(&name).is_file());
    assert_eq!(copies_of(&env, "dshop", &o.backup.id).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_destination_prunes_only_its_own_copies() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-20 10:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    project(pg, &env, "gfs").await;
    let (a, b) = (env.dir.path().join("a"), env.dir.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    let e = &env.engine;
    e.add_destination("gfs", folder("one", &a, keep_last(1)), None)
        .await
        .unwrap();
    e.add_destination("gfs", folder("two", &b, keep_last(2)), None)
        .await
        .unwrap();
    let mut made = Vec::new();
    for _ in 0..3 {
        let o = e
            .backup(BackupOptions::project("gfs"), JobStart::default())
            .await
            .unwrap();
        assert!(
            o.copies.iter().all(|c| c.state == CopyState::Stored),
            "{:?}",
            o.copies
        );
        made.push(o.backup);
        clock.advance(time::Duration::days(1));
    }
    let names: Vec<String> = made.iter().map(|b| file_name(&b.path)).collect();
    assert_eq!(archives_in(&a, "gfs").len(), 3);

    let s = e
        .sync(
            SyncOptions {
                project: "gfs".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(s.pruned.len(), 3, "{s:?}");
    assert!(s.copies.is_empty());
    assert_eq!(archives_in(&a, "gfs"), BTreeSet::from([names[2].clone()]));
    assert_eq!(
        archives_in(&b, "gfs"),
        BTreeSet::from([names[1].clone(), names[2].clone()])
    );
    // Their sidecars went with them.
    assert!(!a.join("gfs").join(format!("{}.sha256", names[0])).exists());
    assert!(b.join("gfs").join(format!("{}.sha256", names[1])).exists());
    // The local archives are the local policy's: all still there.
    for m in &made {
        assert!(Path::new(&m.path).is_file());
    }
    assert_eq!(
        copies_of(&env, "gfs", &made[0].id).await,
        vec![(LOCAL_DESTINATION.to_string(), CopyState::Stored)]
    );
    assert_eq!(
        copies_of(&env, "gfs", &made[1].id).await,
        vec![
            (LOCAL_DESTINATION.to_string(), CopyState::Stored),
            ("two".to_string(), CopyState::Stored)
        ]
    );

    // The local policy keeps the newest only: the oldest backup (no copy elsewhere) goes whole;
    // the middle one loses its local archive but stays, with its copy in "two".
    e.set_retention("gfs", keep_last(1).unwrap(), Some("UTC"))
        .await
        .unwrap();
    let pr = e
        .prune(
            PruneOptions {
                project: "gfs".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(pr.removed.len(), 2, "{pr:?}");
    assert!(!Path::new(&made[0].path).exists() && !Path::new(&made[1].path).exists());
    let ids: Vec<String> = e
        .backups("gfs")
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids, vec![made[2].id.clone(), made[1].id.clone()]);
    assert_eq!(
        copies_of(&env, "gfs", &made[1].id).await,
        vec![("two".to_string(), CopyState::Stored)]
    );
    assert_eq!(
        archives_in(&b, "gfs"),
        BTreeSet::from([names[1].clone(), names[2].clone()])
    );
    // Pruning again changes nothing more.
    let pr = e
        .prune(
            PruneOptions {
                project: "gfs".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(pr.removed.is_empty(), "{pr:?}");
    let s = e
        .sync(
            SyncOptions {
                project: "gfs".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(s.pruned.is_empty() && s.copies.is_empty(), "{s:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_is_fetched_back_and_restored_after_the_local_file_is_deleted() {
    let pg = TestCluster::shared();
    let env = env_configured(|c| c).await;
    let src = project(pg, &env, "fetchme").await;
    let usb = env.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    let e = &env.engine;
    e.add_destination("fetchme", folder("usb", &usb, None), None)
        .await
        .unwrap();
    let o = e
        .backup(BackupOptions::project("fetchme"), JobStart::default())
        .await
        .unwrap();
    let path = PathBuf::from(&o.backup.path);
    let original = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(offsite_core::archive::sidecar_path(&path)).unwrap();

    // Named by its id, the backup's hint says where to get it back.
    let e2 = e.resolve_archive(&o.backup.id).await.unwrap_err();
    assert_eq!(e2.kind(), ErrorKind::NotFound);
    assert_eq!(
        e2.hint(),
        Some(
            format!(
                "a destination holds a copy: fetch it back with `offsite fetch-copy fetchme {}`",
                o.backup.id
            )
            .as_str()
        )
    );

    // A copy that does not match is not taken.
    let key = usb.join("fetchme").join(file_name(&o.backup.path));
    let mut bad = original.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&key, &bad).unwrap();
    let err = e
        .fetch_copy(
            FetchCopyOptions {
                project: "fetchme".into(),
                backup_id: o.backup.id.clone(),
                destination: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Integrity, "{err}");
    assert!(!path.exists());
    assert!(!offsite_core::transfer::part_path(&path).exists());
    std::fs::write(&key, &original).unwrap();

    let f = e
        .fetch_copy(
            FetchCopyOptions {
                project: "fetchme".into(),
                backup_id: o.backup.id.clone(),
                destination: Some("usb".into()),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(f.destination, "usb");
    assert_eq!(std::fs::read(&path).unwrap(), original);
    assert_eq!(
        copies_of(&env, "fetchme", &o.backup.id).await,
        vec![
            (LOCAL_DESTINATION.to_string(), CopyState::Stored),
            ("usb".to_string(), CopyState::Stored)
        ]
    );
    let v = e
        .verify(VerifyOptions::path(&path), JobStart::default())
        .await
        .unwrap();
    assert!(v.report.ok, "{v:?}");
    let dst = pg.unique_db("fetched");
    let r = e
        .restore(
            RestoreRequest::new(&path, target(pg, &dst)),
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(r.report.ok);
    assert_eq!(
        pg.psql(&dst, "SELECT count(*), sum(id) FROM t"),
        pg.psql(&src, "SELECT count(*), sum(id) FROM t")
    );
}

/// Every file under `dir` as bytes, archives (gzip or zstd, told by their first bytes)
/// decompressed too.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let raw = std::fs::read(&p).unwrap_or_default();
            let mut all = raw.clone();
            if offsite_core::archive::codec::sniff(&raw).is_some() {
                use std::io::Read;
                let mut out = Vec::new();
                offsite_core::archive::codec::decompress(&raw[..])
                    .read_to_end(&mut out)
                    .unwrap();
                all.extend_from_slice(&out);
            }
            (p, all)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn planted_secrets_are_in_no_file_offsite_wrote() {
    let pg = TestCluster::shared();
    let env = env_configured(|c| c).await;
    project(pg, &env, "planted").await;
    let db_password = pg
        .env()
        .into_iter()
        .find(|(k, _)| k == "PGPASSWORD")
        .map(|(_, v)| v)
        .unwrap();
    assert!(db_password.len() >= 8, "a password worth searching for");
    let s3_secret = "PLANTED-s3-secret-7f3a9c1e5b2d";
    let usb = env.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    let e = &env.engine;
    e.add_destination("planted", folder("usb", &usb, keep_last(3)), None)
        .await
        .unwrap();
    let bucket = DestinationSpec {
        name: "bucket".into(),
        s3: Some(S3Target {
            endpoint: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            bucket: "offsite-planted".into(),
            prefix: "p".into(),
            key_id: "AKIAPLANTED".into(),
            path_style: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    let rec = e
        .add_destination("planted", bucket, Some(s3_secret.into()))
        .await
        .unwrap();
    let mut ipc = serde_json::to_string(&rec).unwrap();
    // The secret is in the keychain, under its destination's key.
    let key = offsite_core::secrets::destination_s3_secret_key("planted", "bucket");
    assert_eq!(
        offsite_core::secrets::SecretStore::get(env.secrets.as_ref(), &key)
            .unwrap()
            .as_deref(),
        Some(s3_secret)
    );
    // Encrypted with a passphrase; a second project with an Offsite-made key (its identity in
    // the keychain).
    let passphrase = "PLANTED-passphrase-c0ffee-42";
    let pass = SetEncryption {
        mode: Some(EncryptionMode::Passphrase),
        passphrase: Some(passphrase.into()),
        recipients: vec![],
    };
    e.set_encryption("planted", pass).await.unwrap();
    e.confirm_recovery("planted", passphrase).await.unwrap();
    project(pg, &env, "plantkey").await;
    e.add_destination("plantkey", folder("usb", &usb, None), None)
        .await
        .unwrap();
    let key_mode = SetEncryption {
        mode: Some(EncryptionMode::Key),
        passphrase: None,
        recipients: vec![],
    };
    let identity = e
        .set_encryption("plantkey", key_mode)
        .await
        .unwrap()
        .recovery_item
        .unwrap();
    e.confirm_recovery("plantkey", &identity).await.unwrap();
    let secret_key_line = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("an age identity")
        .to_string();
    let k = e
        .backup(BackupOptions::project("plantkey"), JobStart::default())
        .await
        .unwrap();
    assert!(k.backup.path.ends_with(".tar.zst.age"), "{}", k.backup.path);
    assert_eq!(k.copies[0].state, CopyState::Stored, "{:?}", k.copies);
    ipc += &serde_json::to_string(&k).unwrap();
    ipc += &serde_json::to_string(&e.encryption("plantkey").await.unwrap()).unwrap();

    let o = e
        .backup(BackupOptions::project("planted"), JobStart::default())
        .await
        .unwrap();
    assert!(o.backup.path.ends_with(".tar.zst.age"), "{}", o.backup.path);
    let copied = usb.join("planted").join(file_name(&o.backup.path));
    assert_eq!(
        std::fs::read(&copied).unwrap(),
        std::fs::read(&o.backup.path).unwrap()
    );
    assert!(usb
        .join("planted")
        .join(format!("{}.sha256", file_name(&o.backup.path)))
        .is_file());
    ipc += &serde_json::to_string(&o).unwrap();
    ipc += &serde_json::to_string(
        &e.sync(
            SyncOptions {
                project: "planted".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap(),
    )
    .unwrap();
    ipc += &serde_json::to_string(&e.copies("planted").await.unwrap()).unwrap();
    ipc += &serde_json::to_string(&e.protection("planted").await.unwrap()).unwrap();
    ipc += &serde_json::to_string(&e.destinations("planted").await.unwrap()).unwrap();
    ipc += &serde_json::to_string(&e.test_destination("planted", "bucket").await.unwrap()).unwrap();
    ipc += &serde_json::to_string(&e.jobs(Some("planted"), 100).await.unwrap()).unwrap();
    let v = e
        .verify(VerifyOptions::path(&o.backup.path), JobStart::default())
        .await
        .unwrap();
    ipc += &serde_json::to_string(&v).unwrap();

    // The catalog's WAL is folded in, so its file holds everything written.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(e.catalog().pool())
        .await
        .unwrap();
    let files = contents(env.dir.path());
    assert!(files.iter().any(|(p, _)| p.ends_with("catalog.sqlite3")));
    assert!(files.iter().any(|(p, _)| p.starts_with(&usb)));
    for secret in [
        s3_secret,
        db_password.as_str(),
        passphrase,
        secret_key_line.as_str(),
    ] {
        for (p, bytes) in &files {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a planted secret is in {}",
                p.display()
            );
        }
        assert!(
            !ipc.contains(secret),
            "a planted secret reached an IPC response"
        );
    }
    // The key id and the bucket are not secret: they are where they belong.
    let catalog = &files
        .iter()
        .find(|(p, _)| p.ends_with("catalog.sqlite3"))
        .unwrap()
        .1;
    assert!(catalog.windows(11).any(|w| w == b"AKIAPLANTED"));
    // Removing the destination removes its secret.
    e.remove_destination("planted", "bucket").await.unwrap();
    assert_eq!(
        offsite_core::secrets::SecretStore::get(env.secrets.as_ref(), &key).unwrap(),
        None
    );
}

struct Checks(std::sync::atomic::AtomicUsize);

impl offsite_core::ops::DueListener for Checks {
    async fn checked(
        &self,
        _engine: &offsite_core::Engine,
        _report: &offsite_core::Result<offsite_core::ops::RunDueReport>,
    ) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schedules_loop_retries_pending_copies() {
    let pg = TestCluster::shared();
    let env = env_configured(|c| c).await;
    project(pg, &env, "retryloop").await;
    let nas = env.dir.path().join("nas");
    let e = &env.engine;
    e.add_destination("retryloop", folder("nas", &nas, None), None)
        .await
        .unwrap();
    let o = e
        .backup(BackupOptions::project("retryloop"), JobStart::default())
        .await
        .unwrap();
    assert_eq!(o.copies[0].state, CopyState::Pending);
    std::fs::create_dir(&nas).unwrap();

    let checks = std::sync::Arc::new(Checks(Default::default()));
    let cancel = tokio_util::sync::CancellationToken::new();
    let options = offsite_core::ops::LoopOptions {
        max_wait: std::time::Duration::from_millis(50),
        pending_retry: std::time::Duration::from_millis(100),
        ..Default::default()
    };
    let task = {
        let (engine, checks, cancel) = (e.clone(), checks.clone(), cancel.clone());
        tokio::spawn(async move { engine.run_schedules(&*checks, options, cancel).await })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !e.protection("retryloop").await.unwrap().pending.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the loop never retried the copy"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    cancel.cancel();
    task.await.unwrap();
    assert!(nas
        .join("retryloop")
        .join(file_name(&o.backup.path))
        .is_file());
    let jobs = e.jobs(Some("retryloop"), 10).await.unwrap();
    assert!(
        jobs.iter()
            .any(|j| j.kind == offsite_core::catalog::JobKind::Sync
                && j.trigger == offsite_core::JobTrigger::Retry),
        "{jobs:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destination_that_is_down_is_tried_once_per_sync() {
    let pg = TestCluster::shared();
    let clock = ManualClock::new(datetime!(2026-11-24 09:00 UTC));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    project(pg, &env, "downonce").await;
    let nas = env.dir.path().join("nas");
    let e = &env.engine;
    e.add_destination("downonce", folder("nas", &nas, None), None)
        .await
        .unwrap();
    for _ in 0..3 {
        let o = e
            .backup(BackupOptions::project("downonce"), JobStart::default())
            .await
            .unwrap();
        assert_eq!(o.copies[0].state, CopyState::Pending);
        clock.advance(time::Duration::hours(1));
    }
    let s = e
        .sync(
            SyncOptions {
                project: "downonce".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!((s.copies.len(), s.pending), (3, 3), "{s:?}");
    let messages: Vec<&str> = s
        .copies
        .iter()
        .map(|c| c.error.as_ref().unwrap().message.as_str())
        .collect();
    assert!(!messages[0].starts_with("not tried"), "{messages:?}");
    assert!(
        messages[1..]
            .iter()
            .all(|m| m.starts_with("not tried: nas cannot take copies now")),
        "{messages:?}"
    );
    std::fs::create_dir(&nas).unwrap();
    let s = e
        .sync(
            SyncOptions {
                project: "downonce".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!((s.copies.len(), s.pending), (3, 0), "{s:?}");
    assert_eq!(archives_in(&nas, "downonce").len(), 3);
}
