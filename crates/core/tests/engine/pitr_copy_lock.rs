//! Point-in-time change segments at an S3 destination with Object Lock (issue 46, docs/pitr.md
//! "Copies at the destinations"), against a real moto server: `sync` copies a registered segment
//! locked as a backup's copy is (the mode and the recorded retain-until at the store); once its
//! window is pruned the copy waits while locked ("locked until …") and the first sync after the
//! date deletes it, every version, and forgets it.

use crate::common::env_configured;
use offsite_core::catalog::{DestinationSpec, PitrSegment, S3Target};
use offsite_core::clock::{Clock, ManualClock};
use offsite_core::destinations::{LockMode, S3Destination, S3DestinationConfig};
use offsite_core::ops::SyncOptions;
use offsite_core::{AddProject, JobStart};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{MotoServer, TestCluster};
use time::OffsetDateTime;

const LOCKED: &str = "locked-segments";

fn bucket(moto: &MotoServer) -> S3Destination {
    S3Destination::new(&S3DestinationConfig {
        endpoint: Some(moto.endpoint()),
        region: "us-east-1".into(),
        bucket: LOCKED.into(),
        prefix: String::new(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .unwrap()
}

async fn versions(d: &S3Destination, key: &str) -> usize {
    let out = d
        .sdk_client()
        .list_object_versions()
        .bucket(LOCKED)
        .prefix(key)
        .send()
        .await
        .unwrap();
    out.versions()
        .iter()
        .filter(|v| v.key() == Some(key))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn segment_copies_are_locked_and_wait_for_their_date_before_the_prune_deletes_them() {
    // A server of its own: creating a logical slot waits for every transaction running on the
    // server to end, and on the binary's shared server other tests' long ones made it wait 100 s.
    let own = TestCluster::start();
    let pg = &own;
    let moto = MotoServer::start();
    let store = bucket(&moto);
    store
        .sdk_client()
        .create_bucket()
        .bucket(LOCKED)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create the locked bucket");
    // Ten days ago: the lock's date is already past at the store (moto judges by the real
    // time), while the engine's clock is still before it.
    let real = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let clock = ManualClock::new(real - time::Duration::days(10));
    let env = env_configured(|c| c.clock(clock.clone())).await;
    let e = &env.engine;
    let db = pg.unique_db("segl");
    e.add_project(AddProject::url("segl", pg.url_with_password(&db)))
        .await
        .unwrap();
    e.add_destination(
        "segl",
        DestinationSpec {
            name: "vault".into(),
            s3: Some(S3Target {
                endpoint: moto.endpoint(),
                region: "us-east-1".into(),
                bucket: LOCKED.into(),
                prefix: "offsite".into(),
                key_id: TEST_KEY_ID.into(),
                path_style: true,
                object_lock: Some(LockMode::Compliance),
                lock_days: Some(2),
                storage_class: None,
            }),
            ..Default::default()
        },
        Some(TEST_SECRET.into()),
    )
    .await
    .unwrap();

    // A chain with one registered segment (its file and .sha256 as the capture writes them).
    let project = e.catalog().project("segl").await.unwrap();
    let chain = e
        .catalog()
        .add_pitr_chain(
            &project.id,
            "offsite_pitr_x",
            "offsite_pitr_x",
            "{}",
            1 << 30,
            None,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = "segl_0000000001000000.pitr";
    let path = dir.path().join(file);
    let bytes = b"OFFSITE-PITR-test-segment-bytes".repeat(100);
    std::fs::write(&path, &bytes).unwrap();
    let sha = offsite_core::digest::sha256_hex(&bytes);
    std::fs::write(
        dir.path().join(format!("{file}.sha256")),
        format!("{sha}  {file}\n"),
    )
    .unwrap();
    let seg = PitrSegment {
        path: path.to_string_lossy().into_owned(),
        start_lsn: 0x100_0000,
        first_commit_lsn: 0x100_0000,
        end_lsn: 0x100_0100,
        first_commit_at: 1,
        last_commit_at: 2,
        closed_at: 3,
        commits: 1,
        bytes: bytes.len() as u64,
        sha256: sha.clone(),
        fingerprint: "f".into(),
    };
    e.catalog()
        .add_pitr_segment_row(&chain.id, &seg)
        .await
        .unwrap();
    let sync = || {
        e.sync(
            SyncOptions {
                project: "segl".into(),
            },
            JobStart::default(),
        )
    };

    let s = sync().await.unwrap();
    assert_eq!(s.segments.copies.len(), 1, "{:?}", s.segments);
    assert!(s.segments.copies[0].error.is_none(), "{:?}", s.segments);
    let key = format!("offsite/segl/pitr/{file}");
    assert_eq!(s.segments.copies[0].location, format!("segl/pitr/{file}"));
    let copies = e.catalog().segment_copies(&project.id).await.unwrap();
    let until = copies[0]
        .retain_until
        .clone()
        .expect("the lock is recorded");
    let until_t = offsite_core::catalog::parse_timestamp(&until).unwrap();
    assert_eq!(until_t, clock.now() + time::Duration::days(2));
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
        Some("COMPLIANCE")
    );
    assert_eq!(
        head.object_lock_retain_until_date().map(|d| d.secs()),
        Some(until_t.unix_timestamp())
    );
    // A second sync copies nothing again.
    assert!(sync().await.unwrap().segments.copies.is_empty());

    // Its window pruned (the chain's rows gone): before the date the copy waits, said so.
    e.catalog().remove_pitr_chain(&chain.id).await.unwrap();
    clock.advance(time::Duration::hours(40));
    let s = sync().await.unwrap();
    assert!(s.segments.removed.is_empty(), "{:?}", s.segments);
    assert_eq!(s.segments.locked.len(), 1, "{:?}", s.segments);
    assert!(s.segments.locked[0].contains(&until), "{:?}", s.segments);
    assert_eq!(versions(&store, &key).await, 1);
    // After it: deleted, every version, and forgotten.
    clock.advance(time::Duration::hours(9));
    let s = sync().await.unwrap();
    assert!(s.segments.locked.is_empty(), "{:?}", s.segments);
    assert_eq!(s.segments.removed.len(), 1, "{:?}", s.segments);
    assert_eq!(versions(&store, &key).await, 0);
    assert_eq!(versions(&store, &format!("{key}.sha256")).await, 0);
    assert!(e
        .catalog()
        .segment_copies(&project.id)
        .await
        .unwrap()
        .is_empty());
}
