//! In-memory sources for tests: an object store, a JSON API and a database held in maps. They
//! follow the traits' contracts exactly (ordering, paging, ranges, `If-Match`, error kinds) and
//! count the calls they receive, so tests can assert "downloaded exactly these".

use super::{
    ApiSource, BucketInfo, ByteStream, DatabaseInfo, DatabaseSource, GetRequest, ListRequest,
    ObjectBody, ObjectInfo, ObjectPage, ObjectSource, ObjectTarget, PutBody, PutRequest,
};
use crate::archive::storage_layout::BucketSettings;
use crate::archive::{ArchiveWriter, SourceInfo, TableCount, Versions, DATABASE_MEMBER};
use crate::error::{Error, ErrorKind, Result};
use crate::postgres::dump::DatabasePart;
use crate::postgres::restore::{DatabasePlan, DatabaseReport, RestoreOptions};
use crate::progress::Reporter;
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// Bodies are streamed in chunks of this size (so a test can cut one midway).
pub const CHUNK: usize = 16 * 1024;

/// Stream `bytes` in [`CHUNK`]-sized pieces.
pub fn chunked(bytes: Bytes) -> ByteStream {
    let chunks: Vec<Result<Bytes>> = (0..bytes.len())
        .step_by(CHUNK)
        .map(|i| Ok(bytes.slice(i..(i + CHUNK).min(bytes.len()))))
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

#[derive(Debug, Clone)]
struct StoredObject {
    body: Bytes,
    etag: String,
    last_modified: OffsetDateTime,
    content_type: Option<String>,
    cache_control: Option<String>,
    metadata: BTreeMap<String, String>,
}

/// An object store in memory.
#[derive(Debug, Default)]
pub struct MemoryObjectSource {
    buckets: Mutex<BTreeMap<String, BTreeMap<String, StoredObject>>>,
    gets: AtomicUsize,
    lists: AtomicUsize,
    puts: AtomicUsize,
}

impl MemoryObjectSource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an empty bucket (no-op if it exists).
    pub fn create_bucket(&self, bucket: &str) {
        self.lock().entry(bucket.to_string()).or_default();
    }

    /// Put an object (creating its bucket); its ETag is derived from the content.
    pub fn insert(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<Bytes>,
        content_type: Option<&str>,
    ) {
        let body = body.into();
        let etag = etag_of(&body);
        self.lock().entry(bucket.to_string()).or_default().insert(
            key.to_string(),
            StoredObject {
                body,
                etag,
                last_modified: OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
                content_type: content_type.map(str::to_string),
                cache_control: None,
                metadata: BTreeMap::new(),
            },
        );
    }

    /// Remove an object (a test's "it vanished between listing and download").
    pub fn remove(&self, bucket: &str, key: &str) -> bool {
        self.lock()
            .get_mut(bucket)
            .and_then(|b| b.remove(key))
            .is_some()
    }

    /// How many `get_object` calls were answered (successfully or not).
    pub fn get_count(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }

    /// How many `list_objects` calls were answered.
    /// How many `put_object` calls stored an object.
    pub fn put_count(&self) -> usize {
        self.puts.load(Ordering::SeqCst)
    }

    /// Set an object's cache control and user metadata (as an upload with them would).
    pub fn set_headers(
        &self,
        bucket: &str,
        key: &str,
        cache_control: Option<&str>,
        metadata: BTreeMap<String, String>,
    ) {
        if let Some(o) = self.lock().get_mut(bucket).and_then(|b| b.get_mut(key)) {
            o.cache_control = cache_control.map(str::to_string);
            o.metadata = metadata;
        }
    }

    /// Replace an object's ETag (a multipart upload's `<md5 of md5s>-<parts>`, an encrypted
    /// object's opaque tag): what a store reports when the ETag is not the body's MD5.
    pub fn set_etag(&self, bucket: &str, key: &str, etag: &str) {
        if let Some(o) = self.lock().get_mut(bucket).and_then(|b| b.get_mut(key)) {
            o.etag = etag.to_string();
        }
    }

    pub fn list_count(&self) -> usize {
        self.lists.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, StoredObject>>> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The ETag S3 gives a single-part upload: the hex MD5 of the body.
fn etag_of(body: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(body))
}

fn info_of(key: &str, o: &StoredObject) -> ObjectInfo {
    ObjectInfo {
        key: key.to_string(),
        size: o.body.len() as u64,
        etag: Some(o.etag.clone()),
        last_modified: Some(o.last_modified),
        content_type: o.content_type.clone(),
        cache_control: o.cache_control.clone(),
        metadata: o.metadata.clone(),
    }
}

/// What a listing shows of an object (no cache control or metadata, as S3's ListObjectsV2).
fn listed_of(key: &str, o: &StoredObject) -> ObjectInfo {
    ObjectInfo {
        cache_control: None,
        metadata: BTreeMap::new(),
        ..info_of(key, o)
    }
}

fn no_bucket(bucket: &str) -> Error {
    Error::not_found(format!("no bucket named {bucket:?}"))
}

#[async_trait]
impl ObjectSource for MemoryObjectSource {
    async fn stat_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>> {
        ObjectTarget::head_object(self, bucket, key).await
    }

    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        Ok(self
            .lock()
            .keys()
            .map(|name| BucketInfo {
                name: name.clone(),
                created: None,
            })
            .collect())
    }

    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        let buckets = self.lock();
        let stored = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        let page_size = req.page_size.unwrap_or(1000).max(1);
        let prefix = req.prefix.as_deref().unwrap_or("");
        let delimiter = req.delimiter.as_deref().filter(|d| !d.is_empty());
        // The continuation token is the last key (or common prefix) of the previous page.
        let after = req.continuation.as_deref();
        let start_after = req.start_after.as_deref().filter(|_| after.is_none());
        let mut objects = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut last: Option<String> = None;
        let mut more = false;
        for (k, o) in stored {
            if after.is_some_and(|a| k.as_str() <= a)
                || start_after.is_some_and(|a| k.as_str() <= a)
                || !k.starts_with(prefix)
            {
                continue;
            }
            // After a common prefix, everything under it was listed already.
            if let (Some(a), Some(d)) = (after, delimiter) {
                if a.ends_with(d) && k.starts_with(a) {
                    continue;
                }
            }
            let grouped = delimiter.and_then(|d| {
                k[prefix.len()..]
                    .find(d)
                    .map(|i| k[..prefix.len() + i + d.len()].to_string())
            });
            if let Some(p) = &grouped {
                if prefixes.last() == Some(p) {
                    continue;
                }
            }
            if objects.len() + prefixes.len() == page_size {
                more = true;
                break;
            }
            match grouped {
                Some(p) => {
                    last = Some(p.clone());
                    prefixes.push(p);
                }
                None => {
                    last = Some(k.clone());
                    objects.push(listed_of(k, o));
                }
            }
        }
        Ok(ObjectPage {
            objects,
            prefixes,
            next: if more { last } else { None },
        })
    }

    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        let o = {
            let buckets = self.lock();
            let objects = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
            objects.get(key).cloned().ok_or_else(|| {
                Error::not_found(format!("no object {key:?} in bucket {bucket:?}"))
            })?
        };
        if let Some(want) = &req.if_match {
            if *want != o.etag {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "object {key:?} in bucket {bucket:?} changed (ETag {} is now {})",
                        want, o.etag
                    ),
                ));
            }
        }
        let size = o.body.len() as u64;
        let range = match req.range {
            Some(r) => r.resolve(size)?,
            None => 0..size,
        };
        let stream = chunked(o.body.slice(range.start as usize..range.end as usize));
        Ok(ObjectBody {
            info: info_of(key, &o),
            range,
            stream,
        })
    }
}

#[async_trait]
impl ObjectTarget for MemoryObjectSource {
    async fn create_bucket(&self, bucket: &str) -> Result<bool> {
        let mut buckets = self.lock();
        if buckets.contains_key(bucket) {
            return Ok(false);
        }
        buckets.insert(bucket.to_string(), BTreeMap::new());
        Ok(true)
    }

    async fn head_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>> {
        let buckets = self.lock();
        let objects = buckets.get(bucket).ok_or_else(|| no_bucket(bucket))?;
        Ok(objects.get(key).map(|o| info_of(key, o)))
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: PutBody,
        req: &PutRequest,
    ) -> Result<ObjectInfo> {
        let body =
            match body {
                PutBody::Bytes(b) => b,
                PutBody::File(path) => Bytes::from(std::fs::read(&path).map_err(|e| {
                    Error::io(format!("reading {} to upload it", path.display()), e)
                })?),
            };
        self.puts.fetch_add(1, Ordering::SeqCst);
        let etag = etag_of(&body);
        let stored = StoredObject {
            body,
            etag,
            last_modified: OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_001),
            content_type: req.content_type.clone(),
            cache_control: req.cache_control.clone(),
            metadata: req.metadata.clone(),
        };
        let info = info_of(key, &stored);
        let mut buckets = self.lock();
        let objects = buckets.get_mut(bucket).ok_or_else(|| no_bucket(bucket))?;
        objects.insert(key.to_string(), stored);
        Ok(info)
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        let mut buckets = self.lock();
        let objects = buckets.get_mut(bucket).ok_or_else(|| no_bucket(bucket))?;
        objects.remove(key);
        Ok(())
    }
}

/// A JSON API in memory: documents (or errors) by path.
#[derive(Debug, Default)]
pub struct MemoryApiSource {
    docs: Mutex<BTreeMap<String, std::result::Result<serde_json::Value, Error>>>,
    calls: AtomicUsize,
}

impl MemoryApiSource {
    pub fn new() -> Self {
        Self::default()
    }
    /// Serve `doc` at `path`.
    pub fn insert(&self, path: &str, doc: serde_json::Value) {
        self.lock().insert(path.to_string(), Ok(doc));
    }
    /// Answer `path` with an error (a 401, 403, 404 as the HTTP client would map it).
    pub fn insert_error(&self, path: &str, e: Error) {
        self.lock().insert(path.to_string(), Err(e));
    }
    /// How many `get_json` calls were answered.
    pub fn call_count(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<String, std::result::Result<serde_json::Value, Error>>>
    {
        self.docs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ApiSource for MemoryApiSource {
    async fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !path.starts_with('/') {
            return Err(Error::invalid(format!(
                "API paths start with '/': {path:?}"
            )));
        }
        match self.lock().get(path) {
            Some(answer) => answer.clone(),
            None => Err(Error::not_found(format!("nothing at {path}"))),
        }
    }
}

/// A database in memory, for tests of what sits above a [`DatabaseSource`]: its dump is the
/// bytes it was given (the archive's `database.dump`), with the row counts and the bucket
/// settings it was given. Nothing can be restored into it.
#[derive(Debug, Clone, Default)]
pub struct MemoryDatabase {
    inner: Arc<MemoryDatabaseInner>,
}

#[derive(Debug, Default)]
struct MemoryDatabaseInner {
    dump: Vec<u8>,
    tables: Vec<TableCount>,
    buckets: Mutex<BTreeMap<String, BucketSettings>>,
    dumps: AtomicUsize,
}

impl MemoryDatabase {
    /// A database whose dump is `dump`, with `tables` (schema, table, rows).
    pub fn new(dump: impl Into<Vec<u8>>, tables: &[(&str, &str, u64)]) -> Self {
        MemoryDatabase {
            inner: Arc::new(MemoryDatabaseInner {
                dump: dump.into(),
                tables: tables
                    .iter()
                    .map(|(schema, table, rows)| TableCount::counted(*schema, *table, *rows))
                    .collect(),
                ..Default::default()
            }),
        }
    }

    /// Record a bucket's settings (Supabase: a row of `storage.buckets`).
    pub fn set_bucket(&self, id: &str, settings: BucketSettings) {
        self.inner
            .buckets
            .lock()
            .unwrap()
            .insert(id.to_string(), settings);
    }

    /// How many dumps were taken (into an archive of their own or of a job).
    pub fn dump_count(&self) -> usize {
        self.inner.dumps.load(Ordering::SeqCst)
    }
}

fn memory_cannot_restore() -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        "an in-memory database cannot be restored into",
    )
}

#[async_trait]
impl DatabaseSource for MemoryDatabase {
    fn location(&self) -> String {
        "memory://database".into()
    }

    async fn describe(&self) -> Result<DatabaseInfo> {
        Ok(DatabaseInfo {
            server_version: "memory".into(),
            database_size: self.inner.dump.len() as u64,
            user: "memory".into(),
            superuser: false,
            unreadable: Vec::new(),
            can_dump: true,
            pg_dump: None,
            pg_dump_problem: None,
        })
    }

    async fn dump_into(
        &self,
        writer: &mut ArchiveWriter,
        _reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<DatabasePart> {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        self.inner.dumps.fetch_add(1, Ordering::SeqCst);
        writer.add_bytes(DATABASE_MEMBER, self.inner.dump.clone());
        Ok(DatabasePart {
            versions: Versions {
                tool: crate::tool_version(),
                server: Some("memory".into()),
                pg_dump: None,
            },
            source: SourceInfo::default(),
            tables: self.inner.tables.clone(),
            roles: Vec::new(),
            globals_note: Some("an in-memory database has no roles".into()),
            dump_bytes: self.inner.dump.len() as u64,
            content: None,
            dump: None,
            selection: None,
            census: None,
        })
    }

    async fn bucket_settings(&self) -> Result<BTreeMap<String, BucketSettings>> {
        Ok(self.inner.buckets.lock().unwrap().clone())
    }

    async fn plan_restore(
        &self,
        _archive: &Path,
        _opts: &RestoreOptions,
        _reporter: &Reporter,
    ) -> Result<DatabasePlan> {
        Err(memory_cannot_restore())
    }

    async fn restore(
        &self,
        _archive: &Path,
        _opts: &RestoreOptions,
        _reporter: &Reporter,
        _cancel: &CancellationToken,
    ) -> Result<DatabaseReport> {
        Err(memory_cannot_restore())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{copy_member, read_manifest, BackupType};
    use crate::backup::compose::{compose, ComposeRequest, DatabaseInput};

    #[tokio::test]
    async fn a_memory_database_dumps_through_the_trait_into_a_job_archive() {
        let db = MemoryDatabase::new(&b"PGDMP-in-memory"[..], &[("public", "t", 3)]);
        db.set_bucket(
            "avatars",
            BucketSettings {
                public: Some(true),
                file_size_limit: Some(5),
                allowed_mime_types: None,
            },
        );
        let source: Arc<dyn DatabaseSource> = Arc::new(db.clone());
        let settings = source.bucket_settings().await.unwrap();
        assert_eq!(settings["avatars"].public, Some(true));
        assert_eq!(settings["avatars"].file_size_limit, Some(5));

        let dir = tempfile::tempdir().unwrap();
        let request = ComposeRequest {
            project: "mem".into(),
            dest_dir: dir.path().to_path_buf(),
            compression: crate::archive::Compression::default(),
            backup_id: "b1".into(),
            created_at: time::macros::datetime!(2026-11-21 10:15:00 UTC),
            backup_type: BackupType::Database,
            database: Some(DatabaseInput { source }),
            storage: None,
            config: None,
        };
        let cancel = CancellationToken::new();
        let written = compose(request, &Reporter::silent(), &cancel)
            .await
            .unwrap();
        assert_eq!(db.dump_count(), 1);
        // compose() follows the default compression: zstd, by content and by name.
        assert_eq!(
            crate::archive::codec_of(&written.path).unwrap(),
            crate::archive::codec::Codec::Zstd
        );
        assert!(written
            .path
            .to_str()
            .unwrap()
            .ends_with("_database.tar.zst"));
        let manifest = read_manifest(&written.path).unwrap();
        assert_eq!(manifest.tables.len(), 1);
        assert_eq!(manifest.tables[0].rows, 3);
        assert_eq!(manifest.versions.server.as_deref(), Some("memory"));
        let mut out = Vec::new();
        copy_member(
            &written.path,
            DATABASE_MEMBER,
            &mut out,
            &Reporter::silent(),
            &cancel,
        )
        .unwrap();
        assert_eq!(out, b"PGDMP-in-memory");
        assert!(db
            .plan_restore(
                &written.path,
                &RestoreOptions::default(),
                &Reporter::silent()
            )
            .await
            .is_err());
    }

    /// `dump` (the lower-level `database_only`) writes the compression it is given: the default
    /// (zstd) by content and name, gzip when asked; both verify.
    #[tokio::test]
    async fn a_dump_alone_follows_the_compression_it_is_given() {
        use crate::archive::{codec::Codec, codec_of, verify, Compression};
        let db = MemoryDatabase::new(&b"PGDMP-alone"[..], &[("public", "t", 2)]);
        let dir = tempfile::tempdir().unwrap();
        let cancel = CancellationToken::new();
        for (i, (compression, codec, suffix)) in [
            (Compression::default(), Codec::Zstd, ".tar.zst"),
            (Compression::Gzip(1), Codec::Gzip, ".tar.gz"),
        ]
        .into_iter()
        .enumerate()
        {
            let opts = crate::sources::DumpOptions {
                project: "mem".into(),
                dest_dir: dir.path().to_path_buf(),
                compression,
                backup_id: format!("b{i}"),
                created_at: time::macros::datetime!(2026-11-21 10:15:00 UTC),
            };
            let written = crate::backup::compose::database_only(
                Arc::new(db.clone()),
                &opts,
                &Reporter::silent(),
                &cancel,
            )
            .await
            .unwrap();
            assert_eq!(codec_of(&written.path).unwrap(), codec, "{compression}");
            assert!(
                written.path.to_str().unwrap().ends_with(suffix),
                "{}",
                written.path.display()
            );
            let report = verify(&written.path, &Reporter::silent(), &cancel).unwrap();
            assert!(report.ok, "{compression}: {:?}", report.problems);
        }
    }
}
