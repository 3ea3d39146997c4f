//! `offsite delete BACKUP --everywhere` and copies locked with S3 Object Lock, against a real
//! moto server (moto refuses to delete a locked version, judged by the real time, and answers
//! HEAD with the version's retain-until date).
//!
//! - A copy still locked is kept, the others deleted (issue 63, item 8): the local archive and
//!   the unlocked copy go, the locked copy stays at its destination and registered with the
//!   backup, and the outcome names it with the date it is locked until; once that date has
//!   passed, deleting everywhere again removes it and the backup.
//! - A copy that was uploaded locked goes with every version even after the destination stopped
//!   locking (`--object-lock off`): a plain delete there would only add a delete marker.

use crate::common::{env_configured, Env};
use offsite_core::catalog::{DestinationSpec, S3Target};
use offsite_core::clock::ManualClock;
use offsite_core::destinations::{LockMode, S3Destination, S3DestinationConfig};
use offsite_core::ops::delete_backup::DeleteBackupOptions;
use offsite_core::ops::destinations::ProtectionChange;
use offsite_core::{AddProject, BackupOptions, JobStart};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{MotoServer, TestCluster};
use std::path::Path;
use time::OffsetDateTime;

const LOCKED: &str = "locked-copies";
const PLAIN: &str = "plain-copies";

fn bucket(moto: &MotoServer, name: &str) -> S3Destination {
    S3Destination::new(&S3DestinationConfig {
        endpoint: Some(moto.endpoint()),
        region: "us-east-1".into(),
        bucket: name.into(),
        prefix: String::new(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .unwrap()
}

/// moto with one bucket created with Object Lock enabled and one without.
async fn moto() -> MotoServer {
    let moto = MotoServer::start();
    let c = bucket(&moto, LOCKED).sdk_client().clone();
    c.create_bucket()
        .bucket(LOCKED)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create the locked bucket");
    c.create_bucket()
        .bucket(PLAIN)
        .send()
        .await
        .expect("create the plain bucket");
    moto
}

fn spec(moto: &MotoServer, name: &str, bucket: &str, lock: Option<LockMode>) -> DestinationSpec {
    DestinationSpec {
        name: name.into(),
        s3: Some(S3Target {
            endpoint: moto.endpoint(),
            region: "us-east-1".into(),
            bucket: bucket.into(),
            prefix: "offsite".into(),
            key_id: TEST_KEY_ID.into(),
            path_style: true,
            object_lock: lock,
            lock_days: lock.map(|_| 2),
            storage_class: None,
        }),
        ..Default::default()
    }
}

/// A project with a small table, copied to `plain` (a bucket without Object Lock, added first:
/// the old code deleted it before it reached the locked copy) and to `vault` (locked 2 days).
async fn project(pg: &TestCluster, env: &Env, moto: &MotoServer, name: &str) {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 200);",
    );
    let e = &env.engine;
    e.add_project(AddProject::url(name, pg.url_with_password(&db)))
        .await
        .unwrap();
    e.add_destination(
        name,
        spec(moto, "plain", PLAIN, None),
        Some(TEST_SECRET.into()),
    )
    .await
    .unwrap();
    e.add_destination(
        name,
        spec(moto, "vault", LOCKED, Some(LockMode::Governance)),
        Some(TEST_SECRET.into()),
    )
    .await
    .unwrap();
}

fn key_of(project: &str, path: &str) -> String {
    let file = Path::new(path).file_name().unwrap().to_string_lossy();
    format!("offsite/{project}/{file}")
}

/// Every version id of one key in a bucket.
async fn versions(d: &S3Destination, key: &str) -> Vec<String> {
    let out = d
        .sdk_client()
        .list_object_versions()
        .bucket(d.bucket())
        .prefix(key)
        .send()
        .await
        .unwrap();
    out.versions()
        .iter()
        .filter(|v| v.key() == Some(key))
        .filter_map(|v| v.version_id().map(str::to_string))
        .collect()
}

/// Real "now" in whole seconds (moto judges locks by the real time).
fn real_now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// Two backups, each copied to both destinations; the first one's id and archive path.
async fn two_backups(env: &Env, clock: &ManualClock, name: &str) -> (String, String) {
    let e = &env.engine;
    let first = e
        .backup(BackupOptions::project(name), JobStart::default())
        .await
        .unwrap();
    assert!(
        first.copies.iter().all(|c| c.error.is_none()) && first.copies.len() == 2,
        "{:?}",
        first.copies
    );
    clock.advance(time::Duration::hours(1));
    e.backup(BackupOptions::project(name), JobStart::default())
        .await
        .unwrap();
    (first.backup.id, first.backup.path)
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_everywhere_deletes_the_unlocked_copies_and_keeps_the_locked_one() {
    let pg = TestCluster::shared();
    let moto = moto().await;
    let clock = ManualClock::new(real_now());
    let env = env_configured(|c| c.clock(clock.clone())).await;
    project(pg, &env, &moto, "lockdel").await;
    let (id, path) = two_backups(&env, &clock, "lockdel").await;
    let key = key_of("lockdel", &path);
    let plain = bucket(&moto, PLAIN);
    let vault = bucket(&moto, LOCKED);
    let plain_before = versions(&plain, &key).await;
    let vault_before = versions(&vault, &key).await;
    assert_eq!((plain_before.len(), vault_before.len()), (1, 1));
    let until = env
        .engine
        .catalog()
        .copies(&id)
        .await
        .unwrap()
        .into_iter()
        .find_map(|c| c.retain_until)
        .expect("the vault copy's lock is recorded");
    let until = offsite_core::catalog::parse_timestamp(&until).unwrap();
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    let said_until = format!("{} UTC", until.format(&f).unwrap());

    let done = env
        .engine
        .delete_backup_everywhere(DeleteBackupOptions {
            backup_id: id.clone(),
            everywhere: true,
            force: false,
        })
        .await
        .unwrap();
    // The unlocked copy and the file here are deleted...
    assert!(done.file_deleted, "{done:?}");
    assert!(!Path::new(&path).exists());
    let deleted: Vec<&str> = done
        .copies_deleted
        .iter()
        .map(|c| c.destination.as_str())
        .collect();
    assert_eq!(deleted, ["plain"], "{done:?}");
    assert!(versions(&plain, &key).await.is_empty());
    assert!(versions(&plain, &format!("{key}.sha256")).await.is_empty());
    // ...the locked one is kept, said with its date, and stays registered with the backup.
    assert_eq!(done.copies_locked.len(), 1, "{done:?}");
    assert_eq!(done.copies_locked[0].destination, "vault");
    // Locations are inside the destination's prefix (`offsite/`).
    let location = key.strip_prefix("offsite/").unwrap();
    assert_eq!(done.copies_locked[0].location, location);
    assert_eq!(
        done.copies_locked[0].note,
        format!("locked until {said_until}")
    );
    assert_eq!(done.copies_kept, ["vault"], "{done:?}");
    assert!(!done.removed_from_catalog, "{done:?}");
    assert_eq!(versions(&vault, &key).await, vault_before);
    assert!(env.engine.backup_record(&id).await.is_ok());
    let copies = env.engine.catalog().copies(&id).await.unwrap();
    let at: Vec<&str> = copies
        .iter()
        .filter(|c| c.destination != offsite_core::catalog::LOCAL_DESTINATION)
        .map(|c| c.location.as_str())
        .collect();
    assert_eq!(at, [location], "only the locked copy stays registered");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_uploaded_locked_goes_with_every_version_after_the_lock_is_turned_off() {
    let pg = TestCluster::shared();
    let moto = moto().await;
    // Ten days ago: the 2-day locks are already past at the store (moto's real time).
    let clock = ManualClock::new(real_now() - time::Duration::days(10));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    project(pg, &env, &moto, "lockoff").await;
    let (id, path) = two_backups(&env, &clock, "lockoff").await;
    let key = key_of("lockoff", &path);
    let vault = bucket(&moto, LOCKED);
    assert_eq!(versions(&vault, &key).await.len(), 1);
    // Before the recorded date (by the engine's clock): the vault copy is kept, said locked.
    let kept = env
        .engine
        .delete_backup_everywhere(DeleteBackupOptions {
            backup_id: id.clone(),
            everywhere: true,
            force: false,
        })
        .await
        .unwrap();
    assert_eq!(kept.copies_locked.len(), 1, "{kept:?}");
    assert_eq!(kept.copies_locked[0].destination, "vault");
    assert!(kept.file_deleted && !kept.removed_from_catalog, "{kept:?}");
    assert_eq!(versions(&vault, &key).await.len(), 1);

    // After the date, and the destination no longer locks new copies.
    clock.advance(time::Duration::days(3));
    env.engine
        .set_destination_protection(
            "lockoff",
            "vault",
            ProtectionChange {
                lock: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let done = env
        .engine
        .delete_backup_everywhere(DeleteBackupOptions {
            backup_id: id.clone(),
            everywhere: true,
            force: false,
        })
        .await
        .unwrap();
    assert!(
        done.removed_from_catalog && done.copies_locked.is_empty(),
        "{done:?}"
    );
    let mut at: Vec<_> = done
        .copies_deleted
        .iter()
        .map(|c| c.destination.as_str())
        .collect();
    at.sort();
    assert_eq!(at, ["vault"], "the plain copy went the first time");
    // Every version is gone (not hidden behind a delete marker), and the .sha256's too.
    assert!(
        versions(&vault, &key).await.is_empty(),
        "a locked-once version stayed"
    );
    assert!(versions(&vault, &format!("{key}.sha256")).await.is_empty());
    assert!(versions(&bucket(&moto, PLAIN), &key).await.is_empty());
    assert!(env.engine.backup_record(&id).await.is_err());
}
