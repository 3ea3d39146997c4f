//! Copies attackers cannot delete, and storage classes (issue 47, item 6), against a real moto
//! server on 127.0.0.1 (moto implements Object Lock: buckets created with it, per-object mode and
//! retain-until, `AccessDenied` on deleting a locked version — judged by the real time — and
//! `InvalidObjectState` on reading a GLACIER object).
//!
//! - A locked destination's copies carry the mode and the recorded retain-until (HeadObject);
//!   deleting the version at the store fails; retention keeps the copy and
//!   says until when.
//! - With a [`ManualClock`]: before the date the copy stays ("locked until …"); at the first sync
//!   after it the copy is removed (every version).
//! - `destination test` on a bucket without Object Lock fails with the sentence and what to do;
//!   on one with it, says what the mode means.
//! - A GLACIER copy's fetch says it must be restored first (`archived`), not S3's raw error.

use crate::common::{env_configured, Env};
use offsite_core::catalog::{DestinationSpec, S3Target};
use offsite_core::clock::{Clock, ManualClock};
use offsite_core::destinations::{Destination, LockMode, S3Destination, S3DestinationConfig};
use offsite_core::ops::{FetchCopyOptions, SyncOptions};
use offsite_core::schedule::RetentionPolicy;
use offsite_core::{AddProject, BackupOptions, ErrorKind, JobStart};
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

fn spec(
    moto: &MotoServer,
    bucket: &str,
    lock: Option<LockMode>,
    class: Option<&str>,
) -> DestinationSpec {
    DestinationSpec {
        name: "vault".into(),
        s3: Some(S3Target {
            endpoint: moto.endpoint(),
            region: "us-east-1".into(),
            bucket: bucket.into(),
            prefix: "offsite".into(),
            key_id: TEST_KEY_ID.into(),
            path_style: true,
            object_lock: lock,
            lock_days: lock.map(|_| 2),
            storage_class: class.map(str::to_string),
        }),
        retention: Some(RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn project(pg: &TestCluster, env: &Env, name: &str) {
    let db = pg.unique_db(name);
    pg.psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 200);",
    );
    env.engine
        .add_project(AddProject::url(name, pg.url_with_password(&db)))
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

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_copy_carries_its_retention_cannot_be_deleted_and_retention_waits() {
    let pg = TestCluster::shared();
    let moto = moto().await;
    let clock = ManualClock::new(real_now());
    let env = env_configured(|c| c.clock(clock.clone())).await;
    project(pg, &env, "lockshop").await;
    let e = &env.engine;
    e.add_destination(
        "lockshop",
        spec(&moto, LOCKED, Some(LockMode::Governance), None),
        Some(TEST_SECRET.into()),
    )
    .await
    .unwrap();
    // `destination test` says the bucket has Object Lock and what governance means.
    let t = e.test_destination("lockshop", "vault").await.unwrap();
    assert!(t.writable, "{t:?}");
    let said = t.lock.clone().unwrap_or_default();
    assert!(said.contains("Object Lock is enabled"), "{said}");
    assert!(
        said.contains("governance mode") && said.contains("special"),
        "{said}"
    );

    let first = e
        .backup(BackupOptions::project("lockshop"), JobStart::default())
        .await
        .unwrap();
    assert!(first.copies[0].error.is_none(), "{:?}", first.copies);
    let copy = e
        .catalog()
        .copies(&first.backup.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.destination != "local")
        .unwrap();
    let until = copy
        .retain_until
        .clone()
        .expect("the catalog records the lock");
    let until_t = offsite_core::catalog::parse_timestamp(&until).unwrap();
    assert_eq!(until_t, clock.now() + time::Duration::days(2));

    // `offsite copies` shows it too.
    let view = e.copies("lockshop").await.unwrap();
    let shown = view
        .iter()
        .flat_map(|b| &b.copies)
        .find(|c| c.destination == "vault")
        .unwrap();
    assert_eq!(shown.retain_until.as_deref(), Some(until.as_str()));

    // At the store: the mode and the same date on HEAD (moto answers GetObjectRetention with
    // the object's body, so it is not asked here).
    let store = bucket(&moto, LOCKED);
    let key = key_of("lockshop", &first.backup.path);
    let head = store
        .sdk_client()
        .head_object()
        .bucket(LOCKED)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode().map(|m| m.as_str()),
        Some("GOVERNANCE")
    );
    assert_eq!(
        head.object_lock_retain_until_date().map(|d| d.secs()),
        Some(until_t.unix_timestamp())
    );
    // The lock is real: deleting the stored version fails at the store.
    let v = versions(&store, &key).await;
    assert_eq!(v.len(), 1, "{v:?}");
    let refused = store
        .sdk_client()
        .delete_object()
        .bucket(LOCKED)
        .key(&key)
        .version_id(&v[0])
        .send()
        .await;
    assert!(refused.is_err(), "a locked version was deleted");
    assert_eq!(versions(&store, &key).await, v);

    // A second backup: the destination keeps the last one; the first is locked, so it waits.
    clock.advance(time::Duration::hours(1));
    e.backup(BackupOptions::project("lockshop"), JobStart::default())
        .await
        .unwrap();
    let s = e
        .sync(
            SyncOptions {
                project: "lockshop".into(),
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert!(s.pruned.is_empty(), "{:?}", s.pruned);
    assert_eq!(s.locked.len(), 1, "{:?}", s.locked);
    assert_eq!(s.locked[0].backup_id, first.backup.id);
    assert_eq!(s.locked[0].locked_until, until);
    assert!(
        s.locked[0].note.starts_with("locked until "),
        "{}",
        s.locked[0].note
    );
    assert_eq!(versions(&store, &key).await, v);

    // The project's own retention (keep the last one) removes the first backup's archive here;
    // `prune --dry-run` and the removal forecast say that its copy at vault stays until its date.
    e.set_retention(
        "lockshop",
        RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        },
        Some("UTC"),
    )
    .await
    .unwrap();
    let dry = e
        .prune(
            offsite_core::ops::PruneOptions {
                project: "lockshop".into(),
                dry_run: true,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(dry.removed.len(), 1, "{dry:?}");
    let locked = &dry.removed[0].locked;
    assert_eq!(locked.len(), 1, "{dry:?}");
    assert_eq!(locked[0].destination, "vault");
    assert_eq!(locked[0].locked_until, until);
    assert!(
        locked[0]
            .note
            .starts_with("its copy at vault stays, locked until "),
        "{}",
        locked[0].note
    );
    assert!(dry.kept.iter().all(|k| k.id != first.backup.id));
    let forecast = e.removal_forecast("lockshop").await.unwrap();
    let f = forecast
        .iter()
        .find(|f| f.backup_id == first.backup.id)
        .unwrap();
    assert!(f.next_prune, "{f:?}");
    assert_eq!(f.locked, *locked);
    // The prune itself removes only the archive here: the locked copy stays recorded and stored.
    let done = e
        .prune(
            offsite_core::ops::PruneOptions {
                project: "lockshop".into(),
                dry_run: false,
                schedule: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap();
    assert_eq!(done.removed[0].locked, *locked);
    assert!(!Path::new(&first.backup.path).exists());
    assert_eq!(versions(&store, &key).await, v);
    let forecast = e.removal_forecast("lockshop").await.unwrap();
    let f = forecast
        .iter()
        .find(|f| f.backup_id == first.backup.id)
        .unwrap();
    assert_eq!(f.locked, *locked, "{f:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_removes_a_locked_copy_at_the_first_sync_after_its_date() {
    let pg = TestCluster::shared();
    let moto = moto().await;
    // Ten days ago: the locks' dates are already past at the store (moto judges by the real
    // time), while the engine's clock is still before them.
    let clock = ManualClock::new(real_now() - time::Duration::days(10));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    project(pg, &env, "lockprune").await;
    let e = &env.engine;
    e.add_destination(
        "lockprune",
        spec(&moto, LOCKED, Some(LockMode::Compliance), None),
        Some(TEST_SECRET.into()),
    )
    .await
    .unwrap();
    let first = e
        .backup(BackupOptions::project("lockprune"), JobStart::default())
        .await
        .unwrap();
    clock.advance(time::Duration::hours(1));
    e.backup(BackupOptions::project("lockprune"), JobStart::default())
        .await
        .unwrap();
    let sync = || {
        e.sync(
            SyncOptions {
                project: "lockprune".into(),
            },
            JobStart::default(),
        )
    };
    let store = bucket(&moto, LOCKED);
    let key = key_of("lockprune", &first.backup.path);
    // Before the date (two days after the first upload): kept, and said until when.
    clock.advance(time::Duration::hours(40));
    let s = sync().await.unwrap();
    assert!(s.pruned.is_empty(), "{:?}", s.pruned);
    assert_eq!(s.locked.len(), 1, "{:?}", s.locked);
    assert_eq!(versions(&store, &key).await.len(), 1);
    // After it: removed, every version, and forgotten.
    clock.advance(time::Duration::hours(8));
    let s = sync().await.unwrap();
    assert!(s.locked.is_empty(), "{:?}", s.locked);
    assert_eq!(s.pruned.len(), 1, "{:?}", s.pruned);
    assert!(s.pruned[0].deleted);
    assert_eq!(s.pruned[0].backup_id, first.backup.id);
    assert!(versions(&store, &key).await.is_empty());
    assert!(versions(&store, &format!("{key}.sha256")).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn destination_test_fails_in_words_on_a_bucket_without_object_lock() {
    let pg = TestCluster::shared();
    let moto = moto().await;
    let env = env_configured(|c| c).await;
    project(pg, &env, "nolock").await;
    let e = &env.engine;
    e.add_destination(
        "nolock",
        spec(&moto, PLAIN, Some(LockMode::Compliance), None),
        Some(TEST_SECRET.into()),
    )
    .await
    .unwrap();
    let t = e.test_destination("nolock", "vault").await.unwrap();
    assert!(!t.writable && !t.offline, "{t:?}");
    let err = t.error.expect("an error");
    assert_eq!(err.code, ErrorKind::InvalidInput);
    assert!(
        err.message
            .contains("the bucket plain-copies does not have Object Lock enabled"),
        "{}",
        err.message
    );
    assert!(
        err.hint
            .as_deref()
            .is_some_and(|h| h.contains("create a bucket with Object Lock enabled")),
        "{err:?}"
    );
    // Nothing was written there (no probe object).
    assert!(bucket(&moto, PLAIN).list("").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_glacier_copy_says_it_must_be_restored_before_it_can_be_fetched() {
    let pg = TestCluster::shared();
    let moto = moto().await;
    let env = env_configured(|c| c).await;
    project(pg, &env, "coldshop").await;
    let e = &env.engine;
    let mut s = spec(&moto, PLAIN, None, Some("glacier"));
    s.retention = None;
    let d = e
        .add_destination("coldshop", s, Some(TEST_SECRET.into()))
        .await
        .unwrap();
    assert_eq!(d.s3.unwrap().storage_class.as_deref(), Some("GLACIER"));
    let o = e
        .backup(BackupOptions::project("coldshop"), JobStart::default())
        .await
        .unwrap();
    assert!(o.copies[0].error.is_none(), "{:?}", o.copies);
    let key = key_of("coldshop", &o.backup.path);
    let head = bucket(&moto, PLAIN)
        .sdk_client()
        .head_object()
        .bucket(PLAIN)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.storage_class().map(|c| c.as_str()), Some("GLACIER"));
    std::fs::remove_file(&o.backup.path).unwrap();
    let err = e
        .fetch_copy(
            FetchCopyOptions {
                project: "coldshop".into(),
                backup_id: o.backup.id.clone(),
                destination: None,
            },
            JobStart::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Archived, "{err}");
    assert!(
        err.message()
            .contains("this copy is in GLACIER: restore it in the provider first"),
        "{err}"
    );
    assert!(!Path::new(&o.backup.path).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_and_class_settings_are_checked_when_the_destination_is_added() {
    let pg = TestCluster::shared();
    let env = env_configured(|c| c).await;
    project(pg, &env, "badlock").await;
    let e = &env.engine;
    let endpoint = "http://127.0.0.1:9";
    let mut s = DestinationSpec {
        name: "vault".into(),
        s3: Some(S3Target {
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            bucket: LOCKED.into(),
            key_id: TEST_KEY_ID.into(),
            path_style: true,
            object_lock: Some(LockMode::Compliance),
            ..Default::default()
        }),
        ..Default::default()
    };
    // No days and no time-based retention to take them from.
    let err = e
        .add_destination("badlock", s.clone(), Some(TEST_SECRET.into()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.hint().unwrap_or_default().contains("--lock-days"),
        "{err:?}"
    );
    // An unknown storage class.
    let t = s.s3.as_mut().unwrap();
    t.lock_days = Some(30);
    t.storage_class = Some("COLDEST".into());
    let err = e
        .add_destination("badlock", s.clone(), Some(TEST_SECRET.into()))
        .await
        .unwrap_err();
    assert!(err.message().contains("not an S3 storage class"), "{err}");
    // Days from the retention: the shortest time-based rule (7 daily → 7 days).
    let t = s.s3.as_mut().unwrap();
    t.lock_days = None;
    t.storage_class = Some("standard_ia".into());
    s.retention = Some(RetentionPolicy::recommended());
    let d = e
        .add_destination("badlock", s, Some(TEST_SECRET.into()))
        .await
        .unwrap();
    let t = d.s3.unwrap();
    assert_eq!(t.lock_days, Some(7));
    assert_eq!(t.storage_class.as_deref(), Some("STANDARD_IA"));
    assert_eq!(t.object_lock, Some(LockMode::Compliance));
}
