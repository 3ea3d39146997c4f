//! Tests of the storage restore: helpers that build archives, then [`store`] (an in-memory
//! object store as the target) and [`folder`].

mod folder;
mod hostile;
mod journal;
mod store;

use super::*;
use crate::archive::{ArchiveWriter, BackupType, Manifest, SourceInfo, Versions, FORMAT_VERSION};
use crate::error::ErrorKind;
use crate::progress::ProgressUpdate;
use crate::sources::memory::MemoryObjectSource;
use crate::sources::{
    collect, BucketInfo, GetRequest, ListRequest, ObjectBody, ObjectInfo, ObjectPage, ObjectSource,
    PutBody, PutRequest,
};
use crate::storage::layout::{member_name, BucketEntry, ObjectEntry, StorageDoc, STORAGE_DOC};
use async_trait::async_trait;
use md5::Digest;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Test archives

#[derive(Clone)]
struct Obj {
    bucket: String,
    key: String,
    body: Vec<u8>,
    content_type: Option<String>,
    cache_control: Option<String>,
    metadata: BTreeMap<String, String>,
}

fn obj(bucket: &str, key: &str, body: impl Into<Vec<u8>>) -> Obj {
    Obj {
        bucket: bucket.into(),
        key: key.into(),
        body: body.into(),
        content_type: Some("application/octet-stream".into()),
        cache_control: None,
        metadata: BTreeMap::new(),
    }
}

fn sha(b: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, b).as_ref())
}

fn md5_hex(b: &[u8]) -> String {
    hex::encode(md5::Md5::digest(b))
}

/// Deterministic noise (incompressible).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn entry(o: &Obj, member: Option<String>) -> ObjectEntry {
    ObjectEntry {
        bucket: o.bucket.clone(),
        key: o.key.clone(),
        member,
        size: o.body.len() as u64,
        etag: Some(md5_hex(&o.body)),
        last_modified: Some("2026-11-20T10:00:00Z".into()),
        content_type: o.content_type.clone(),
        cache_control: o.cache_control.clone(),
        metadata: o.metadata.clone(),
        sha256: sha(&o.body),
    }
}

fn manifest(id: &str) -> Manifest {
    Manifest {
        format_version: FORMAT_VERSION,
        backup_id: id.into(),
        project: "shop".into(),
        backup_type: BackupType::Storage,
        created_at: "2026-11-21T10:15:00Z".into(),
        versions: Versions {
            tool: "offsite test".into(),
            server: None,
            pg_dump: None,
        },
        source: SourceInfo::default(),
        members: Vec::new(),
        components: Default::default(),
        tables: Vec::new(),
        roles: Vec::new(),
        globals_note: None,
        tables_note: None,
        dump_tables: Vec::new(),
        counts: Default::default(),
        storage: None,
        redactions: Vec::new(),
        base_backup_id: None,
        encryption: None,
        content: None,
        dump: None,
        tenant: None,
        selection: None,
        census: None,
    }
}

/// What goes into a test archive.
#[derive(Default)]
struct Spec {
    /// Objects whose bytes are in the archive.
    objects: Vec<Obj>,
    /// Objects listed with `member: None` (their bytes are in the base).
    in_base: Vec<Obj>,
    base: Option<String>,
    settings: BTreeMap<String, BucketSettings>,
    /// Member bytes that differ from what storage.json records (by key).
    tamper: HashMap<String, Vec<u8>>,
    level: u32,
}

fn write_archive(dir: &Path, id: &str, spec: Spec) -> PathBuf {
    let mut doc = StorageDoc {
        endpoint: Some("http://127.0.0.1:9000".into()),
        base_backup_id: spec.base.clone(),
        ..StorageDoc::default()
    };
    let mut members = Vec::new();
    for o in &spec.objects {
        let (member, _) = member_name(&o.bucket, &o.key);
        let bytes = spec.tamper.get(&o.key).cloned().unwrap_or(o.body.clone());
        members.push((member.clone(), bytes));
        doc.objects.push(entry(o, Some(member)));
    }
    for o in &spec.in_base {
        doc.objects.push(entry(o, None));
    }
    doc.objects
        .sort_by(|a, b| (&a.bucket, &a.key).cmp(&(&b.bucket, &b.key)));
    let mut names: Vec<String> = doc.objects.iter().map(|o| o.bucket.clone()).collect();
    names.extend(spec.settings.keys().cloned());
    names.sort();
    names.dedup();
    for name in names {
        let objs = doc.objects.iter().filter(|o| o.bucket == name);
        doc.buckets.push(BucketEntry {
            name: name.clone(),
            settings: spec.settings.get(&name).cloned(),
            objects: objs.clone().count() as u64,
            bytes: objs.map(|o| o.size).sum(),
        });
    }
    let file = format!("shop_20261121_101500_{id}.tar.gz");
    let mut w = ArchiveWriter::create(dir, &file, spec.level).unwrap();
    w.add_bytes(STORAGE_DOC, serde_json::to_vec_pretty(&doc).unwrap());
    for (name, bytes) in members {
        w.add_bytes(&name, bytes);
    }
    w.finish(manifest(id), &Reporter::silent(), &CancellationToken::new())
        .unwrap()
        .path
}

fn no_base(_: &str) -> Option<PathBuf> {
    None
}

fn store_of(m: &Arc<MemoryObjectSource>) -> StorageTargetRef {
    StorageTargetRef::Store(m.clone())
}

async fn plan_of(
    archive: &Path,
    target: &StorageTargetRef,
    opts: &StorageRestoreOptions,
) -> Result<StoragePlan> {
    plan_storage_restore(
        archive,
        &no_base,
        target,
        opts,
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
}

async fn restore(
    archive: &Path,
    target: &StorageTargetRef,
    opts: &StorageRestoreOptions,
) -> Result<StorageRestoreReport> {
    restore_storage(
        archive,
        &no_base,
        target,
        opts,
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
}

async fn body_of(m: &MemoryObjectSource, bucket: &str, key: &str) -> Vec<u8> {
    let b = m
        .get_object(bucket, key, &GetRequest::default())
        .await
        .unwrap();
    collect(b.stream).await.unwrap()
}

async fn keys_of(m: &MemoryObjectSource, bucket: &str) -> Vec<String> {
    m.list_objects(bucket, &ListRequest::default())
        .await
        .unwrap()
        .objects
        .into_iter()
        .map(|o| o.key)
        .collect()
}

async fn bucket_names(m: &MemoryObjectSource) -> Vec<String> {
    m.list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect()
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_total: Duration::from_secs(5),
        jitter: false,
    }
}

/// A typical storage backup: two buckets, headers and metadata, odd keys, one big object.
fn typical() -> Vec<Obj> {
    let mut avatar = obj("avatars", "users/1/photo.png", noise(40_000, 1));
    avatar.content_type = Some("image/png".into());
    avatar.cache_control = Some("max-age=3600".into());
    avatar.metadata = BTreeMap::from([("owner".to_string(), "u1".to_string())]);
    vec![
        avatar,
        obj("avatars", "a//odd/../key", b"odd".to_vec()),
        obj("avatars", "big.bin", noise(300_000, 2)),
        obj("avatars", "empty", Vec::new()),
        obj("docs", "ünï côdé/readme.txt", b"hello".to_vec()),
        obj(
            "docs",
            &format!("{}/long.txt", "deep-folder".repeat(20)),
            b"long".to_vec(),
        ),
    ]
}

fn tmp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p.clone());
            }
            if e.file_name()
                .to_string_lossy()
                .starts_with(crate::archive::TMP_PREFIX)
            {
                out.push(p);
            }
        }
    }
    out
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn encoded(key: &str) -> String {
    sha(key.as_bytes())
}
