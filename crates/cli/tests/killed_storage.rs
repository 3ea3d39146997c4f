//! Issue 63, item 2, for the storage restore: the `offsite` process is SIGKILLed while it
//! writes a backup's objects into an S3-compatible store (moto) and into a folder, once the
//! first of them has appeared there; the next command (`offsite history`) finds the job
//! `interrupted`, removes what it wrote where there was nothing, and says so; the same restore
//! run again gives the source's objects exactly (keys, sizes, SHA-256).
//!
//! A storage restore that ends on its own part way — the store refuses its writes after some
//! objects (a fault proxy in front of moto), or a Ctrl-C (SIGINT) — removes at once what it
//! wrote where there was nothing and says so; the target is as before, and the same restore run
//! again gives the source's objects exactly.
// Process groups and SIGKILL: Unix only (docs/development.md).
#![cfg(unix)]

mod common;

use common::tree::{kill_tree, SpawnTree};
use common::Cli;
use offsite_core::sources::s3::{S3Config, S3Store};
use offsite_core::sources::{
    collect, GetRequest, ListRequest, ObjectSource, ObjectTarget, PutBody, PutRequest,
};
use offsite_testkit::s3::{TEST_KEY_ID, TEST_SECRET};
use offsite_testkit::{HttpFault, HttpFaultProxy, MotoServer, TestCluster};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// Objects of the backup: enough that a restore is still writing when the first has landed.
const OBJECTS: usize = 160;
const SIZE: usize = 256 << 10;

fn store(endpoint: &str) -> S3Store {
    S3Store::new(&S3Config {
        endpoint: Some(endpoint.to_string()),
        region: "us-east-1".into(),
        access_key_id: TEST_KEY_ID.into(),
        secret_access_key: TEST_SECRET.into(),
        path_style: true,
    })
    .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn sha256(b: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, b).as_ref())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Object `i`'s bytes: different for every object.
fn body(i: usize) -> Vec<u8> {
    let seed = sha256(format!("object {i}").as_bytes()).into_bytes();
    seed.iter().cycle().take(SIZE).copied().collect()
}

/// Every object of `bucket`: key → (size, SHA-256).
fn objects_of(s3: &S3Store, bucket: &str) -> BTreeMap<String, (u64, String)> {
    rt().block_on(async {
        let mut out = BTreeMap::new();
        let mut req = ListRequest::default();
        loop {
            let page = s3.list_objects(bucket, &req).await.unwrap();
            for o in page.objects {
                let b = s3
                    .get_object(bucket, &o.key, &GetRequest::default())
                    .await
                    .unwrap();
                let bytes = collect(b.stream).await.unwrap();
                out.insert(o.key, (bytes.len() as u64, sha256(&bytes)));
            }
            match page.next {
                Some(n) => req.continuation = Some(n),
                None => break,
            }
        }
        out
    })
}

/// How many objects `bucket` holds (a listing only).
fn count_of(s3: &S3Store, bucket: &str) -> usize {
    rt().block_on(async {
        let mut n = 0;
        let mut req = ListRequest::default();
        loop {
            let page = s3.list_objects(bucket, &req).await.unwrap();
            n += page.objects.len();
            match page.next {
                Some(next) => req.continuation = Some(next),
                None => return n,
            }
        }
    })
}

/// Every file under `dir`: path relative to it → (size, SHA-256).
fn files_of(dir: &Path) -> BTreeMap<String, (u64, String)> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, (u64, String)>) {
        let Ok(entries) = std::fs::read_dir(d) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let b = std::fs::read(&p).unwrap();
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, (b.len() as u64, sha256(&b)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Wait until `arrived()` (an object of the restore landed in the target), at most 300 s.
fn wait_for(child: &mut Child, what: &str, mut arrived: impl FnMut() -> bool) {
    common::pg::wait_while_running(child, what, Duration::from_secs(300), || {
        arrived().then_some(())
    })
}

/// The newest restore job in `offsite history --json`.
fn last_restore(cli: &Cli) -> Value {
    cli.json(&["history", "--kind", "restore"], 0)["jobs"][0].clone()
}

/// A project whose bucket `media` (on a moto of its own) holds [`OBJECTS`] objects, backed up
/// (storage only); returns the CLI, the archive and the source's objects.
fn backed_up(
    pg: &TestCluster,
    name: &str,
) -> (Cli, MotoServer, String, BTreeMap<String, (u64, String)>) {
    let moto = MotoServer::start();
    let s3 = store(&moto.endpoint());
    rt().block_on(async {
        s3.create_bucket("media").await.unwrap();
        for i in 0..OBJECTS {
            s3.put_object(
                "media",
                &format!("f/{i:04}.bin"),
                PutBody::Bytes(body(i).into()),
                &PutRequest::default(),
            )
            .await
            .unwrap();
        }
    });
    let source = objects_of(&s3, "media");
    assert_eq!(source.len(), OBJECTS);
    let db = pg.unique_db(name);
    let cli = Cli::new()
        .env("PGPASSWORD", pg.superuser_password())
        .env("OFFSITE_S3_SECRET_ACCESS_KEY", TEST_SECRET);
    cli.json(
        &[
            "project",
            "add",
            name,
            "--db",
            &pg.url(&db),
            "--s3-endpoint",
            &moto.endpoint(),
            "--s3-key-id",
            TEST_KEY_ID,
            "--buckets",
            "media",
        ],
        0,
    );
    let b = cli.json(&["backup", name, "--type", "storage"], 0);
    let archive = b["path"].as_str().unwrap().to_string();
    (cli, moto, archive, source)
}

#[test]
fn a_storage_restore_killed_while_it_uploads_is_interrupted_what_it_wrote_removed_and_run_again_it_completes(
) {
    let pg = TestCluster::shared();
    let (cli, _src_moto, archive, source) = backed_up(pg, "kills3");
    // The target: another store whose bucket holds an object of its own.
    let dst_moto = MotoServer::start();
    let dst = store(&dst_moto.endpoint());
    rt().block_on(async {
        dst.create_bucket("media").await.unwrap();
        dst.put_object(
            "media",
            "mine/kept.txt",
            PutBody::Bytes(b"the target's own".to_vec().into()),
            &PutRequest::default(),
        )
        .await
        .unwrap();
    });
    let before = objects_of(&dst, "media");
    let db = pg.unique_db("kills3dst");
    cli.json(
        &[
            "project",
            "add",
            "kills3dst",
            "--db",
            &pg.url(&db),
            "--s3-endpoint",
            &dst_moto.endpoint(),
            "--s3-key-id",
            TEST_KEY_ID,
            "--buckets",
            "media",
        ],
        0,
    );
    let restore = [
        "restore",
        archive.as_str(),
        "--components",
        "storage",
        "--storage-to",
        "kills3dst",
        "--yes",
    ];
    let (mut child, tree) = cli
        .cmd(&restore)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn_tree();
    wait_for(&mut child, "an object of the restore landed", || {
        count_of(&dst, "media") > before.len()
    });
    kill_tree(&tree, &mut child);
    let left = count_of(&dst, "media") - before.len();
    println!("killed with {left} of {OBJECTS} objects in the bucket");
    assert!(
        left > 0 && left < OBJECTS,
        "the kill came part way ({left} of {OBJECTS} objects written)"
    );

    // The next command finds the job, removes what it wrote, and says so.
    let job = last_restore(&cli);
    assert_eq!(job["state"], "interrupted", "{job}");
    let message = job["error_message"].as_str().unwrap();
    assert!(
        message.contains("removed again") && message.contains("as it was before"),
        "{job}"
    );
    let hint = job["error_hint"].as_str().unwrap();
    assert!(
        hint.contains("offsite restore") && hint.contains("--storage-to kills3dst"),
        "{job}"
    );
    assert_eq!(objects_of(&dst, "media"), before, "the target is as before");

    // The same restore again: no manual step, the source's objects exactly.
    let out = cli.cmd(&restore).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = source.clone();
    expected.extend(before);
    assert_eq!(objects_of(&dst, "media"), expected);
    assert_eq!(last_restore(&cli)["state"], "succeeded");
}

#[test]
fn a_storage_restore_killed_while_it_writes_a_folder_is_interrupted_its_files_removed_and_run_again_it_completes(
) {
    let pg = TestCluster::shared();
    let (cli, _moto, archive, source) = backed_up(pg, "killdir");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("files");
    std::fs::create_dir_all(target.join("other")).unwrap();
    std::fs::write(target.join("other/own.txt"), b"the folder's own").unwrap();
    let before = files_of(&target);
    let t = target.to_str().unwrap();
    let restore = [
        "restore",
        archive.as_str(),
        "--components",
        "storage",
        "--storage-to",
        t,
        "--yes",
    ];
    let (mut child, tree) = cli
        .cmd(&restore)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn_tree();
    // An object's file renamed into place (a temporary file is not one yet).
    let bucket = target.join("media/f");
    wait_for(&mut child, "a file of the restore landed", || {
        std::fs::read_dir(&bucket).is_ok_and(|mut d| {
            d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".bin")))
        })
    });
    kill_tree(&tree, &mut child);
    let left = files_of(&target).len() - before.len();
    println!("killed with {left} of {OBJECTS} files in the folder");
    assert!(
        left > 0 && left < OBJECTS,
        "the kill came part way ({left} of {OBJECTS} files written)"
    );

    let job = last_restore(&cli);
    assert_eq!(job["state"], "interrupted", "{job}");
    let message = job["error_message"].as_str().unwrap();
    assert!(
        message.contains("removed again") && message.contains("as it was before"),
        "{job}"
    );
    assert!(
        job["error_hint"]
            .as_str()
            .unwrap()
            .contains("offsite restore"),
        "{job}"
    );
    assert_eq!(files_of(&target), before, "the folder is as before");
    assert!(
        !target.join("media").exists(),
        "the bucket's folder it made is gone"
    );

    let out = cli.cmd(&restore).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected: BTreeMap<String, (u64, String)> = source
        .into_iter()
        .map(|(k, v)| (format!("media/{k}"), v))
        .collect();
    expected.extend(before);
    assert_eq!(files_of(&target), expected);
    assert_eq!(last_restore(&cli)["state"], "succeeded");
}

/// A target store (a moto of its own) whose bucket `media` holds an object of its own and one
/// identical to the backup's first; returns it with what it holds.
fn target_store() -> (MotoServer, S3Store, BTreeMap<String, (u64, String)>) {
    let moto = MotoServer::start();
    let dst = store(&moto.endpoint());
    rt().block_on(async {
        dst.create_bucket("media").await.unwrap();
        for (key, bytes) in [
            ("mine/kept.txt", b"the target's own".to_vec()),
            ("f/0000.bin", body(0)),
        ] {
            dst.put_object(
                "media",
                key,
                PutBody::Bytes(bytes.into()),
                &PutRequest::default(),
            )
            .await
            .unwrap();
        }
    });
    let before = objects_of(&dst, "media");
    (moto, dst, before)
}

/// `project add NAME` whose bucket store is at `endpoint`.
fn add_target(cli: &Cli, pg: &TestCluster, name: &str, endpoint: &str) {
    let db = pg.unique_db(name);
    cli.json(
        &[
            "project",
            "add",
            name,
            "--db",
            &pg.url(&db),
            "--s3-endpoint",
            endpoint,
            "--s3-key-id",
            TEST_KEY_ID,
            "--buckets",
            "media",
        ],
        0,
    );
}

#[test]
fn a_storage_restore_the_store_refuses_part_way_removes_what_it_wrote_at_once_and_run_again_it_completes(
) {
    let pg = TestCluster::shared();
    let (cli, _src_moto, archive, source) = backed_up(pg, "refuses3");
    let (dst_moto, dst, before) = target_store();
    // The store takes 12 objects, then refuses every write (403) — reads and deletes pass.
    const TAKEN: u32 = 12;
    let proxy = HttpFaultProxy::start(dst_moto.addr());
    proxy.inject(Some("PUT"), HttpFault::All(vec![]), TAKEN);
    proxy.inject(Some("PUT"), HttpFault::Status(403), 100_000);
    add_target(&cli, pg, "refuses3dst", &proxy.endpoint());
    let restore = [
        "restore",
        archive.as_str(),
        "--components",
        "storage",
        "--storage-to",
        "refuses3dst",
        "--yes",
    ];
    let out = cli.cmd(&restore).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    println!("{err}");
    assert!(!out.status.success(), "{err}");
    assert!(proxy.injected() > TAKEN, "the store refused writes: {err}");
    assert!(
        err.contains(&format!(
            "the {TAKEN} objects it had written where there were none were removed again, so the target is as it was before"
        )),
        "{err}"
    );
    assert!(
        err.contains("--storage-to refuses3dst"),
        "the restore to run again: {err}"
    );
    assert_eq!(objects_of(&dst, "media"), before, "the target is as before");
    let job = last_restore(&cli);
    assert_eq!(job["state"], "failed", "{job}");

    // The store takes writes again: the same restore gives the source's objects exactly.
    proxy.clear();
    let out = cli.cmd(&restore).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = source.clone();
    expected.extend(before);
    assert_eq!(objects_of(&dst, "media"), expected);
    assert_eq!(last_restore(&cli)["state"], "succeeded");
}

#[test]
fn a_storage_restore_stopped_by_ctrl_c_part_way_removes_what_it_wrote_at_once_and_run_again_it_completes(
) {
    let pg = TestCluster::shared();
    let (cli, _src_moto, archive, source) = backed_up(pg, "ctrlcs3");
    let (dst_moto, dst, before) = target_store();
    add_target(&cli, pg, "ctrlcs3dst", &dst_moto.endpoint());
    let restore = [
        "restore",
        archive.as_str(),
        "--components",
        "storage",
        "--storage-to",
        "ctrlcs3dst",
        "--yes",
    ];
    let mut child = cli
        .cmd(&restore)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&mut child, "an object of the restore landed", || {
        count_of(&dst, "media") > before.len()
    });
    common::sigint(&child);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    println!("{err}");
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("cancelling…"), "{err}");
    assert!(
        err.contains("removed again, so the target is as it was before"),
        "{err}"
    );
    assert_eq!(objects_of(&dst, "media"), before, "the target is as before");
    let job = last_restore(&cli);
    assert_eq!(job["state"], "cancelled", "{job}");

    let out = cli.cmd(&restore).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = source.clone();
    expected.extend(before);
    assert_eq!(objects_of(&dst, "media"), expected);
    assert_eq!(last_restore(&cli)["state"], "succeeded");
}
