//! Storage pull and backup composition: buckets of an in-memory object store into archives,
//! through faults, cancel, vanished objects, odd keys, and incremental reuse; archives read back
//! by our reader and by GNU tar.

use async_trait::async_trait;
use futures::StreamExt;
use offsite_core::archive::{self, BackupType, Written};
use offsite_core::backup::{compose, ComposeRequest, ConfigInput, StorageInput};
use offsite_core::progress::{Phase, ProgressUpdate, Reporter};
use offsite_core::retry::{RetryPolicy, Retrying};
use offsite_core::sources::memory::MemoryObjectSource;
use offsite_core::sources::{
    collect, BucketInfo, GetRequest, ListRequest, ObjectBody, ObjectPage, ObjectSource,
};
use offsite_core::storage::{
    BucketSelection, ObjectEntry, PreviousStorage, PullOptions, StorageDoc, STORAGE_DOC,
    STORAGE_PREFIX,
};
use offsite_core::{ErrorKind, Result};
use offsite_testkit::faults::{FaultPlan, Faulty};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Characters of a long key's segments (2 bytes each: 200-byte segments, a 400-byte key).
const LONG: usize = 100;

fn body(seed: usize, len: usize) -> Vec<u8> {
    let mut x = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|i| {
            if i % 7 == 0 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            (x >> (i % 7 * 8)) as u8
        })
        .collect()
}

fn odd_keys() -> Vec<String> {
    vec![
        "ünï côdé/x y.png".into(),
        "a//b".into(),
        "../escape".into(),
        "/lead".into(),
        "x/../../etc/passwd".into(),
        "folder/.emptyFolderPlaceholder".into(),
        "empty.txt".into(),
        "dir/".into(),
        format!("long/{}/{}/é.bin", "ß".repeat(LONG), "ü".repeat(LONG)),
        format!("seg/{}", "x".repeat(300)),
        // A key below another key's name: `clash` is a file, so `clash/inner` cannot be.
        "clash".into(),
        "clash/inner".into(),
    ]
}

/// Two buckets: odd keys, empty objects, one large object (streamed through a temp file), and
/// enough small ones to need several listing pages.
fn fill(src: &MemoryObjectSource) {
    for (i, k) in odd_keys().into_iter().enumerate() {
        let len = if k.contains("empty") || k.ends_with('/') {
            0
        } else {
            100 + i * 37
        };
        src.insert("avatars", &k, body(i, len), Some("image/png"));
    }
    src.insert(
        "avatars",
        "big/video.bin",
        body(99, 5 * 1024 * 1024 + 3),
        None,
    );
    for i in 0..60 {
        src.insert(
            "docs",
            &format!("d/{i:03}.txt"),
            body(1000 + i, 1 + i * 101),
            Some("text/plain"),
        );
    }
    let mut meta = BTreeMap::new();
    meta.insert("owner".to_string(), "u1".to_string());
    src.set_headers("docs", "d/001.txt", Some("max-age=60"), meta);
    src.create_bucket("empty-bucket");
}

fn source() -> Arc<MemoryObjectSource> {
    let s = Arc::new(MemoryObjectSource::new());
    fill(&s);
    s
}

fn options() -> PullOptions {
    PullOptions {
        page_size: Some(7),
        concurrency: 4,
        endpoint: Some("http://127.0.0.1:9000".into()),
        ..PullOptions::default()
    }
}

fn request(
    dir: &Path,
    kind: BackupType,
    src: Arc<dyn ObjectSource>,
    opts: PullOptions,
) -> ComposeRequest {
    ComposeRequest {
        project: "shop".into(),
        dest_dir: dir.to_path_buf(),
        compression: offsite_core::archive::Compression::Gzip(1),
        backup_id: format!("b-{}", uuid()),
        created_at: time::macros::datetime!(2026-11-22 10:00:00 UTC),
        backup_type: kind,
        database: None,
        storage: Some(StorageInput {
            source: src,
            options: opts,
        }),
        config: None,
    }
}

fn uuid() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

async fn pull(dir: &Path, src: Arc<dyn ObjectSource>, opts: PullOptions) -> Result<Written> {
    let kind = if opts.incremental {
        BackupType::Incremental
    } else {
        BackupType::Storage
    };
    compose(
        request(dir, kind, src, opts),
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .await
}

/// Extracts with our reader; returns the folder and storage.json.
fn extract(w: &Written) -> (tempfile::TempDir, StorageDoc) {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("x");
    archive::extract_all(&w.path, &dest, &CancellationToken::new()).unwrap();
    let doc = serde_json::from_slice(&std::fs::read(dest.join(STORAGE_DOC)).unwrap()).unwrap();
    (out, doc)
}

async fn source_bytes(src: &MemoryObjectSource, bucket: &str, key: &str) -> Vec<u8> {
    let b = src
        .get_object(bucket, key, &GetRequest::default())
        .await
        .unwrap();
    collect(b.stream).await.unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        // The folder's lock file belongs to the folder, not to a backup.
        .filter(|n| n != ".offsite-folder.lock")
        .collect();
    v.sort();
    v
}

/// Every file under `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 12,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_total: Duration::from_secs(30),
        jitter: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_keys_round_trip_and_gnu_tar_extracts_inside_the_folder() {
    let src = source();
    let dir = tempfile::tempdir().unwrap();
    let updates = Arc::new(Mutex::new(Vec::<ProgressUpdate>::new()));
    let sink = {
        let u = updates.clone();
        move |p: &ProgressUpdate| u.lock().unwrap().push(p.clone())
    };
    let reporter = Reporter::new(Arc::new(sink), "j");
    let req = request(dir.path(), BackupType::Storage, src.clone(), options());
    let w = compose(req, &reporter, &CancellationToken::new())
        .await
        .unwrap();
    assert!(w
        .path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .ends_with("_storage.tar.gz"));
    assert_eq!(
        names_in(dir.path()).len(),
        2,
        "archive and its .sha256 only"
    );

    let report = archive::verify(&w.path, &Reporter::silent(), &CancellationToken::new()).unwrap();
    assert!(report.ok, "{:?}", report.problems);
    // `Written.manifest` lists the single members (storage.json); the archive's manifest lists
    // every object too, in archive order, after storage.json.
    let single: Vec<&str> = w.manifest.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(single, [STORAGE_DOC]);
    let read = archive::read_manifest(&w.path).unwrap();
    assert_eq!(read.members[0].name, STORAGE_DOC);
    assert_eq!(read.members.len(), 1 + 73);
    assert!(read.members[1..]
        .iter()
        .all(|m| m.name.starts_with(STORAGE_PREFIX)));
    assert_eq!(read.components, w.manifest.components);
    let counts = w.manifest.storage.unwrap();
    assert_eq!(
        (counts.buckets, counts.objects, counts.vanished),
        (3, 73, 0)
    );
    assert_eq!(counts.downloaded_objects, 73);
    assert!(w.manifest.components.contains_key("storage"));

    let (out, doc) = extract(&w);
    let root = out.path().join("x");
    assert_eq!(doc.objects.len(), 73);
    assert_eq!(doc.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    let names: Vec<&str> = doc.buckets.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["avatars", "docs", "empty-bucket"]);
    // In listing order, every object's bytes as the store has them.
    let mut sorted = doc.objects.clone();
    sorted.sort_by(|a, b| (&a.bucket, &a.key).cmp(&(&b.bucket, &b.key)));
    assert_eq!(sorted, doc.objects);
    for o in &doc.objects {
        let got = std::fs::read(root.join(o.member.as_ref().unwrap())).unwrap();
        assert_eq!(
            got,
            source_bytes(&src, &o.bucket, &o.key).await,
            "{}",
            o.key
        );
        assert_eq!(o.size, got.len() as u64);
    }
    for k in odd_keys() {
        assert!(doc.objects.iter().any(|o| o.key == k), "{k:?} missing");
    }
    let member_of = |k: &str| {
        doc.objects
            .iter()
            .find(|o| o.key == k)
            .unwrap()
            .member
            .clone()
    };
    assert_eq!(member_of("clash").as_deref(), Some("storage/avatars/clash"));
    assert!(member_of("clash/inner")
        .unwrap()
        .starts_with("storage/avatars/.offsite-key/"));
    assert!(member_of("a//b")
        .unwrap()
        .starts_with("storage/avatars/.offsite-key/"));
    assert_eq!(
        member_of("ünï côdé/x y.png").as_deref(),
        Some("storage/avatars/ünï côdé/x y.png")
    );
    let d1 = doc.objects.iter().find(|o| o.key == "d/001.txt").unwrap();
    assert_eq!(d1.cache_control.as_deref(), Some("max-age=60"));
    assert_eq!(d1.metadata.get("owner").map(String::as_str), Some("u1"));
    assert_eq!(d1.content_type.as_deref(), Some("text/plain"));

    // GNU tar: same files, nothing outside its folder.
    let gnu = tempfile::tempdir().unwrap();
    let inside = gnu.path().join("in");
    std::fs::create_dir(&inside).unwrap();
    let st = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&w.path)
        .arg("-C")
        .arg(&inside)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(names_in(gnu.path()), ["in"]);
    assert_eq!(tree(&inside), tree(&root));
    for f in tree(&root) {
        assert_eq!(
            std::fs::read(inside.join(&f)).unwrap(),
            std::fs::read(root.join(&f)).unwrap()
        );
    }
    let listed = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&w.path)
        .output()
        .unwrap();
    assert!(listed.status.success());
    assert_eq!(
        String::from_utf8(listed.stdout).unwrap().lines().count(),
        75,
        "metadata.json, storage.json and 73 objects"
    );

    let ups = updates.lock().unwrap();
    let dl: Vec<_> = ups
        .iter()
        .filter(|u| u.phase == Phase::Downloading)
        .collect();
    assert!(!dl.is_empty());
    assert_eq!(
        dl.last().unwrap().bytes_done,
        counts.bytes,
        "the last download report is complete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_bodies_and_error_bursts_give_identical_contents() {
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = pull(clean_dir.path(), source(), options()).await.unwrap();

    let inner = MemoryObjectSource::new();
    fill(&inner);
    // Cuts after 1,000 bytes: most objects (100 B–2.7 KB) and the 5 MiB one can be cut, so the
    // count of cuts does not hang on which stream numbers the big object's resumes happen to get
    // while the folder listers and downloads interleave.
    let mut plan = FaultPlan::flaky(1_000);
    plan.every = 3;
    let faulty = Faulty::new(inner, plan);
    let counters = faulty.counters();
    let src: Arc<dyn ObjectSource> = Arc::new(Retrying::new(faulty, fast_retries()));
    let dir = tempfile::tempdir().unwrap();
    let w = pull(dir.path(), src, options()).await.unwrap();
    assert!(
        counters.cut() > 5 && counters.failed() > 5,
        "faults really happened"
    );

    let report = archive::verify(&w.path, &Reporter::silent(), &CancellationToken::new()).unwrap();
    assert!(report.ok, "{:?}", report.problems);
    let (_a, doc_a) = extract(&clean);
    let (_b, doc_b) = extract(&w);
    assert_eq!(doc_a.objects, doc_b.objects);
    let members = |w: &Written| {
        let mut m: Vec<_> = w
            .manifest
            .members
            .iter()
            .map(|m| (m.name.clone(), m.sha256.clone()))
            .collect();
        m.sort();
        m
    };
    assert_eq!(members(&clean), members(&w));
}

/// Deletes `key` from the store just before its download.
struct Vanishing {
    inner: Arc<MemoryObjectSource>,
    key: String,
}

#[async_trait]
impl ObjectSource for Vanishing {
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        self.inner.list_buckets().await
    }
    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage> {
        self.inner.list_objects(bucket, req).await
    }
    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody> {
        if key == self.key {
            self.inner.remove(bucket, key);
        }
        self.inner.get_object(bucket, key, req).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_object_is_listed_not_a_failure() {
    let inner = source();
    let src = Arc::new(Vanishing {
        inner: inner.clone(),
        key: "d/007.txt".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let w = pull(dir.path(), src, options()).await.unwrap();
    assert_eq!(w.manifest.storage.unwrap().vanished, 1);
    let (_out, doc) = extract(&w);
    assert_eq!(doc.vanished.len(), 1);
    assert_eq!(
        (
            doc.vanished[0].bucket.as_str(),
            doc.vanished[0].key.as_str()
        ),
        ("docs", "d/007.txt")
    );
    assert!(doc.objects.iter().all(|o| o.key != "d/007.txt"));
    assert_eq!(doc.objects.len(), 72);
    let docs = doc.buckets.iter().find(|b| b.name == "docs").unwrap();
    assert_eq!(docs.objects, 59);
}

/// Cancels the job at the n-th download; or serves one object's body short.
struct Meddling {
    inner: Arc<MemoryObjectSource>,
    gets: AtomicUsize,
    cancel_at: Option<(usize, CancellationToken)>,
    short: Option<String>,
}

#[async_trait]
impl ObjectSource for Meddling {
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        self.inner.list_buckets().await
    }
    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage> {
        self.inner.list_objects(bucket, req).await
    }
    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody> {
        let n = self.gets.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((at, c)) = &self.cancel_at {
            if n == *at {
                c.cancel();
            }
        }
        let mut b = self.inner.get_object(bucket, key, req).await?;
        if self.short.as_deref() == Some(key) {
            let all = collect(b.stream).await?;
            let cut = bytes::Bytes::from(all[..all.len() / 2].to_vec());
            b.stream = futures::stream::once(async move { Ok(cut) }).boxed();
        }
        Ok(b)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_mid_pull_leaves_nothing_in_the_folder() {
    let cancel = CancellationToken::new();
    let src = Arc::new(Meddling {
        inner: source(),
        gets: AtomicUsize::new(0),
        cancel_at: Some((20, cancel.clone())),
        short: None,
    });
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path(), BackupType::Storage, src, options());
    let e = compose(req, &Reporter::silent(), &cancel)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_body_is_an_integrity_error_and_nothing_is_kept() {
    let src = Arc::new(Meddling {
        inner: source(),
        gets: AtomicUsize::new(0),
        cancel_at: None,
        short: Some("d/050.txt".into()),
    });
    let dir = tempfile::tempdir().unwrap();
    let e = pull(dir.path(), src, options()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert!(e.message().contains("d/050.txt"), "{e}");
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_selected_buckets_and_a_missing_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options();
    opts.buckets = BucketSelection::Only(vec!["docs".into()]);
    let w = pull(dir.path(), source(), opts.clone()).await.unwrap();
    let (_o, doc) = extract(&w);
    assert!(doc.objects.iter().all(|o| o.bucket == "docs"));
    assert_eq!(doc.objects.len(), 60);
    opts.buckets = BucketSelection::Only(vec!["nope".into()]);
    let e = pull(dir.path(), source(), opts).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().contains("nope"));
}

fn previous(w: &Written, doc: StorageDoc) -> PreviousStorage {
    PreviousStorage {
        backup_id: w.manifest.backup_id.clone(),
        archive: w.path.clone(),
        doc,
        created_at: Some(w.manifest.created_at.clone()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_objects_only_are_downloaded_incremental_and_full() {
    let src = Arc::new(MemoryObjectSource::new());
    for i in 0..300 {
        src.insert("b", &format!("k/{i:04}"), body(i, 500 + i * 13), None);
    }
    src.insert("b", "big", body(7, 5 * 1024 * 1024), None);
    let dir = tempfile::tempdir().unwrap();
    let base = pull(dir.path(), src.clone(), options()).await.unwrap();
    let (_o, base_doc) = extract(&base);

    // 1 % changed, 4 deleted, 5 added.
    for i in [3, 150, 299] {
        src.insert("b", &format!("k/{i:04}"), body(10_000 + i, 777), None);
    }
    for i in [10, 11, 12, 13] {
        src.remove("b", &format!("k/{i:04}"));
    }
    for i in 0..5 {
        src.insert("b", &format!("new/{i}"), body(20_000 + i, 321), None);
    }
    let changed: Vec<String> = [3, 150, 299]
        .iter()
        .map(|i| format!("k/{i:04}"))
        .chain((0..5).map(|i| format!("new/{i}")))
        .collect();

    // Incremental: only the 8 changed/new bodies, the full listing, the deletions.
    let before = src.get_count();
    let mut opts = options();
    opts.previous = Some(previous(&base, base_doc.clone()));
    opts.incremental = true;
    let inc = pull(dir.path(), src.clone(), opts).await.unwrap();
    assert_eq!(
        src.get_count() - before,
        8,
        "exactly the changed and new objects were fetched"
    );
    assert!(inc.path.to_str().unwrap().ends_with("_incremental.tar.gz"));
    assert_eq!(
        inc.manifest.base_backup_id.as_deref(),
        Some(base.manifest.backup_id.as_str())
    );
    assert!(
        archive::verify(&inc.path, &Reporter::silent(), &CancellationToken::new())
            .unwrap()
            .ok
    );
    let (inc_out, inc_doc) = extract(&inc);
    assert_eq!(inc_doc.objects.len(), 302);
    assert_eq!(
        inc_doc.base_backup_id,
        Some(base.manifest.backup_id.clone())
    );
    let mut deleted: Vec<_> = inc_doc.deleted.iter().map(|d| d.key.clone()).collect();
    deleted.sort();
    assert_eq!(deleted, ["k/0010", "k/0011", "k/0012", "k/0013"]);
    for o in &inc_doc.objects {
        if changed.contains(&o.key) {
            let m = o
                .member
                .as_ref()
                .expect("changed objects are in the archive");
            assert_eq!(
                std::fs::read(inc_out.path().join("x").join(m)).unwrap(),
                source_bytes(&src, "b", &o.key).await
            );
        } else {
            assert_eq!(o.member, None, "{}", o.key);
            let prev: &ObjectEntry = base_doc.objects.iter().find(|p| p.key == o.key).unwrap();
            assert_eq!(o.sha256, prev.sha256);
        }
    }
    assert_eq!(
        archive::read_manifest(&inc.path).unwrap().members.len(),
        1 + 8
    );

    // Full over the previous archive: the same 8 downloads, everything else copied from it.
    let before = src.get_count();
    let mut opts = options();
    opts.previous = Some(previous(&base, base_doc));
    let full = pull(dir.path(), src.clone(), opts).await.unwrap();
    assert_eq!(src.get_count() - before, 8);
    let counts = full.manifest.storage.unwrap();
    assert_eq!((counts.downloaded_objects, counts.reused_objects), (8, 294));
    assert!(
        archive::verify(&full.path, &Reporter::silent(), &CancellationToken::new())
            .unwrap()
            .ok
    );
    let (out, doc) = extract(&full);
    assert_eq!(doc.objects.len(), 302);
    assert!(doc.deleted.is_empty() && doc.base_backup_id.is_none());
    for o in &doc.objects {
        let got = std::fs::read(out.path().join("x").join(o.member.as_ref().unwrap())).unwrap();
        assert_eq!(got, source_bytes(&src, "b", &o.key).await, "{}", o.key);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_previous_archive_is_never_copied_silently() {
    let src = source();
    let dir = tempfile::tempdir().unwrap();
    let base = pull(dir.path(), src.clone(), options()).await.unwrap();
    let (_o, mut base_doc) = extract(&base);
    // The previous listing claims another digest for an unchanged object.
    let o = base_doc
        .objects
        .iter_mut()
        .find(|o| o.key == "d/020.txt")
        .unwrap();
    o.sha256 = "0".repeat(64);
    let mut opts = options();
    opts.previous = Some(previous(&base, base_doc));
    let out = tempfile::tempdir().unwrap();
    let e = pull(out.path(), src, opts).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    assert_eq!(names_in(out.path()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_only_and_full_compositions() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ConfigInput {
        files: vec![
            (
                "auth.json".into(),
                br#"{"smtp_pass":"[redacted]"}"#.to_vec(),
            ),
            (
                "functions/hello/index.ts".into(),
                b"export default 1".to_vec(),
            ),
        ],
        redactions: vec!["auth.smtp_pass".into()],
    };
    let mut req = request(dir.path(), BackupType::Config, source(), options());
    req.storage = None;
    req.config = Some(cfg.clone());
    let w = compose(req, &Reporter::silent(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(w.path.to_str().unwrap().ends_with("_config.tar.gz"));
    let read = archive::read_manifest(&w.path).unwrap();
    let names: Vec<&str> = read.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["config/auth.json", "config/functions/hello/index.ts"]
    );
    assert_eq!(read.redactions, ["auth.smtp_pass"]);
    assert_eq!(read.counts["config"].items, 2);
    assert!(read.components.contains_key("config"));

    // Storage and config together in one archive.
    let mut req = request(dir.path(), BackupType::Full, source(), options());
    req.config = Some(cfg);
    req.backup_id = "full-1".into();
    let w = compose(req, &Reporter::silent(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(w.path.to_str().unwrap().ends_with("_full.tar.gz"));
    let read = archive::read_manifest(&w.path).unwrap();
    assert_eq!(read.counts["storage"].items, 73);
    assert_eq!(read.counts["config"].items, 2);
    assert!(
        archive::verify(&w.path, &Reporter::silent(), &CancellationToken::new())
            .unwrap()
            .ok
    );

    // Nothing to back up, or a type that does not fit, is refused.
    let mut req = request(dir.path(), BackupType::Storage, source(), options());
    req.storage = None;
    assert_eq!(
        compose(req, &Reporter::silent(), &CancellationToken::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let req = request(dir.path(), BackupType::Incremental, source(), options());
    assert_eq!(
        compose(req, &Reporter::silent(), &CancellationToken::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn verify_checks_storage_json_against_the_members() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = archive::ArchiveWriter::create(dir.path(), "x_storage.tar.gz", 1).unwrap();
    let doc = StorageDoc {
        objects: vec![ObjectEntry {
            bucket: "b".into(),
            key: "k".into(),
            member: Some("storage/b/k".into()),
            size: 3,
            sha256: "0".repeat(64),
            ..Default::default()
        }],
        ..Default::default()
    };
    w.add_bytes(STORAGE_DOC, serde_json::to_vec(&doc).unwrap());
    w.add_bytes("storage/b/k", b"abc".to_vec());
    let manifest = archive::read_manifest(&fixture_manifest(dir.path())).unwrap();
    let written = w
        .finish(manifest, &Reporter::silent(), &CancellationToken::new())
        .unwrap();
    let report = archive::verify(
        &written.path,
        &Reporter::silent(),
        &CancellationToken::new(),
    )
    .unwrap();
    assert!(!report.ok);
    assert_eq!(report.first_bad.as_deref(), Some(STORAGE_DOC));
    assert!(
        report.problems.iter().any(|p| p.contains("storage/b/k")),
        "{:?}",
        report.problems
    );
}

/// A config-only archive, for its manifest.
fn fixture_manifest(dir: &Path) -> PathBuf {
    let sub = dir.join("fixture");
    std::fs::create_dir(&sub).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut req = request(&sub, BackupType::Config, source(), options());
    req.storage = None;
    req.config = Some(ConfigInput {
        files: vec![("a".into(), b"1".to_vec())],
        redactions: vec![],
    });
    rt.block_on(compose(req, &Reporter::silent(), &CancellationToken::new()))
        .unwrap()
        .path
}
