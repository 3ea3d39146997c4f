//! Where data comes from: one small trait per kind of source.
//!
//! * [`DatabaseSource`]: a database to back up and restore into (PostgreSQL: [`postgres`]).
//! * [`ObjectSource`]: an object store to pull files from (S3-compatible buckets, issue 10).
//! * [`ApiSource`]: an HTTP API that answers JSON documents by path (the Supabase Management
//!   API: [`supabase_api::ManagementApi`], which also answers bytes and takes settings back,
//!   [`ApiClient`]).
//!
//! The traits are object-safe (`async_trait`), so callers hold `Arc<dyn ObjectSource>` and the
//! wrappers in [`crate::retry`] ([`Retrying`](crate::retry::Retrying),
//! [`RateLimited`](crate::retry::RateLimited)) stack over any implementation. Every
//! implementation must pass the shared conformance suite in `offsite_testkit::conformance`,
//! bare and wrapped in `Retrying` behind a fault injector.
//!
//! Errors follow one rule so retry wrappers can decide: a failure that may pass by itself
//! (connection refused or reset, timeout, HTTP 5xx, 429) is [`Error::is_temporary`]; anything a
//! person must fix (credentials, privileges, a missing object, bad input, corrupt data) is not.
//! A 429 is [`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited), with the server's
//! `Retry-After` in [`Error::retry_after`].

pub mod agent;
pub mod agent_wire;
pub mod folder;
mod folder_fs;
pub mod listing_guard;
pub mod memory;
pub mod postgres;
mod retrying;
pub mod s3;
pub mod supabase_api;
pub mod supabase_backups;

use crate::archive::storage_layout::BucketSettings;
use crate::archive::ArchiveWriter;
use crate::error::{Error, Result};
use crate::postgres::dump::DatabasePart;
use crate::postgres::restore::{DatabasePlan, DatabaseReport, RestoreOptions};
use crate::progress::Reporter;
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

pub use postgres::PostgresSource;
pub use supabase_api::{ApiBytes, ApiClient, BodyMethod, ManagementApi};

/// A stream of bytes (an object's body, an upload). An `Err` item ends the stream: the bytes
/// before it are valid, the rest never came (a cut connection is a temporary error).
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

// ---------------------------------------------------------------------------------------------
// Databases

/// What "test connection" found.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConnectionReport {
    pub server_version: String,
    pub database_size: u64,
    pub user: String,
    pub superuser: bool,
    /// Objects the role cannot read (a dump would fail on them).
    pub unreadable: Vec<String>,
    pub can_dump: bool,
    /// The pg_dump that would be used.
    pub pg_dump: Option<crate::postgres::tools::PgTools>,
    /// Why no pg_dump fits, and what to install.
    pub pg_dump_problem: Option<String>,
}

/// What "test connection" reports about a database source.
pub use ConnectionReport as DatabaseInfo;

/// How to dump a database into an archive (the database itself is the source's).
#[derive(Debug, Clone)]
pub struct DumpOptions {
    /// The project's name (file name and manifest).
    pub project: String,
    /// The folder the archive is written to (temporary names until it is complete).
    pub dest_dir: PathBuf,
    /// The archive's compression (zstd unless a setting says otherwise, see
    /// [`crate::archive::Compression::default`]).
    pub compression: crate::archive::Compression,
    /// The new backup's id, recorded in the manifest.
    pub backup_id: String,
    /// The backup's time (file name, manifest `created_at`): the engine's clock.
    pub created_at: time::OffsetDateTime,
}

/// A database Offsite backs up and restores into.
///
/// A dump is all-or-nothing: on failure or cancel nothing is left in `dest_dir`. A restore runs
/// in one transaction: on failure the database is unchanged. Both may therefore be repeated
/// after a temporary failure (see [`crate::retry::Retrying`]).
#[async_trait]
pub trait DatabaseSource: Send + Sync {
    /// Where it is, for messages (never with a password): `postgres://user@host:5432/db`.
    fn location(&self) -> String;

    /// Connect and describe the server: version, size, what the role cannot read, which dump
    /// tool fits ("Test connection").
    async fn describe(&self) -> Result<DatabaseInfo>;

    /// The database's part of an archive being written (the backup job's, with storage and
    /// configuration beside it): its members added to `writer`, what it adds to the manifest
    /// returned. Not repeatable on its own: `writer` may hold part of it after a failure.
    async fn dump_into(
        &self,
        writer: &mut ArchiveWriter,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<DatabasePart>;

    /// The settings of the storage buckets the database records, by bucket id (Supabase: the
    /// rows of `storage.buckets`); empty when it records none.
    async fn bucket_settings(&self) -> Result<BTreeMap<String, BucketSettings>>;

    /// What restoring `archive` into this database would do. Changes nothing.
    async fn plan_restore(
        &self,
        archive: &Path,
        opts: &RestoreOptions,
        reporter: &Reporter,
    ) -> Result<DatabasePlan>;

    /// Plan, then restore `archive` into this database and compare the row counts.
    async fn restore(
        &self,
        archive: &Path,
        opts: &RestoreOptions,
        reporter: &Reporter,
        cancel: &CancellationToken,
    ) -> Result<DatabaseReport>;
}

// ---------------------------------------------------------------------------------------------
// Object stores

/// A bucket as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketInfo {
    pub name: String,
    pub created: Option<OffsetDateTime>,
}

/// An object as listed (one row of a listing page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectInfo {
    /// The key exactly as the store has it (may hold `//`, `..`, unicode, a leading `/`).
    pub key: String,
    pub size: u64,
    /// The store's entity tag, without quotes (`"abc-3"` for multipart uploads).
    pub etag: Option<String>,
    pub last_modified: Option<OffsetDateTime>,
    pub content_type: Option<String>,
    /// `Cache-Control` (from a GET or HEAD; listings do not carry it).
    pub cache_control: Option<String>,
    /// User metadata (`x-amz-meta-*`, names lower-case without the prefix; from a GET or HEAD).
    pub metadata: BTreeMap<String, String>,
}

impl ObjectInfo {
    /// An object as a listing row: key, size, ETag, last modified; the rest unknown.
    pub fn listed(key: impl Into<String>, size: u64) -> Self {
        ObjectInfo {
            key: key.into(),
            size,
            etag: None,
            last_modified: None,
            content_type: None,
            cache_control: None,
            metadata: BTreeMap::new(),
        }
    }
}

/// One page of a listing. Keys come in ascending byte order; `next` continues after this page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectPage {
    pub objects: Vec<ObjectInfo>,
    /// With a [`ListRequest::delimiter`]: the common prefixes of this page (each ending with
    /// the delimiter), ascending. A store that ignores the delimiter leaves it empty and lists
    /// every key (callers check).
    pub prefixes: Vec<String>,
    /// The continuation token for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// Which objects to list.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Only keys starting with this.
    pub prefix: Option<String>,
    /// Continue a listing: the `next` of the previous page.
    pub continuation: Option<String>,
    /// Largest page wanted (the store may return fewer; `None`: the source's own choice, 1,000
    /// for most, [`s3::LIST_PAGE`] asked of S3-compatible stores).
    pub page_size: Option<usize>,
    /// Group keys that hold this after the prefix into [`ObjectPage::prefixes`] (S3's
    /// `delimiter`, usually `/`).
    pub delimiter: Option<String>,
    /// Only keys after this one (S3's `start-after`; ignored with a `continuation`). A store
    /// may ignore it: callers that rely on it drop keys at or before it themselves.
    pub start_after: Option<String>,
}

/// Bytes `start..end` of an object (`end` exclusive; `None`: to the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: Option<u64>,
}

impl ByteRange {
    /// From `start` to the end of the object.
    pub fn from(start: u64) -> Self {
        ByteRange { start, end: None }
    }
    /// The bytes this range selects of an object of `size` bytes; an error when it starts
    /// beyond the end (HTTP 416).
    pub fn resolve(self, size: u64) -> Result<std::ops::Range<u64>> {
        let end = self.end.unwrap_or(size).min(size);
        if self.start > end {
            return Err(Error::invalid(format!(
                "range {}..{} is outside the object ({size} bytes)",
                self.start,
                self.end.map(|e| e.to_string()).unwrap_or_default()
            )));
        }
        Ok(self.start..end)
    }
}

/// How to get an object.
#[derive(Debug, Clone, Default)]
pub struct GetRequest {
    /// Only these bytes (`Range:`); the whole object when `None`.
    pub range: Option<ByteRange>,
    /// Only if the object still has this ETag (`If-Match:`): a resumed download must not stitch
    /// two versions together. A mismatch is [`ErrorKind::Conflict`](crate::ErrorKind::Conflict).
    pub if_match: Option<String>,
}

/// An object being read.
pub struct ObjectBody {
    /// The whole object's facts (not the range's).
    pub info: ObjectInfo,
    /// The range being streamed.
    pub range: std::ops::Range<u64>,
    /// The bytes of `range`, in order.
    pub stream: ByteStream,
}

impl std::fmt::Debug for ObjectBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectBody")
            .field("info", &self.info)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// An object store to pull from (S3-compatible: Supabase Storage, AWS, R2, MinIO…).
///
/// Listings are paged and never held whole in memory. A missing bucket or object is
/// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) (permanent: the caller records a
/// vanished object rather than retrying it); keys that cannot list or read are `auth` or
/// `permission`.
#[async_trait]
pub trait ObjectSource: Send + Sync {
    /// The buckets the credentials can see, by name.
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>>;

    /// One page of objects in `bucket`, in ascending key order.
    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage>;

    /// An object's body as a stream (or a range of it).
    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody>;

    /// An object's facts from a HEAD (its ETag even where the listing leaves it out); `None`
    /// when it is absent or the source cannot say (a caller then takes the object as changed).
    async fn stat_object(&self, _bucket: &str, _key: &str) -> Result<Option<ObjectInfo>> {
        Ok(None)
    }
}

/// The body of an upload: in memory, or a file on disk (large objects).
#[derive(Debug, Clone)]
pub enum PutBody {
    Bytes(Bytes),
    File(PathBuf),
}

/// How to store an object (what S3 keeps beside the bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutRequest {
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    /// User metadata (sent as `x-amz-meta-<name>`).
    pub metadata: BTreeMap<String, String>,
}

/// An object store to restore into (storage restores): an [`ObjectSource`] that also writes.
#[async_trait]
pub trait ObjectTarget: ObjectSource {
    /// Create `bucket`. An existing bucket the credentials own is not an error (returns `false`);
    /// `true` when it was created.
    async fn create_bucket(&self, bucket: &str) -> Result<bool>;

    /// An object's facts (with content type, cache control and metadata), `None` when absent.
    async fn head_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>>;

    /// Store an object (replacing one with the same key). Returns its facts as stored.
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: PutBody,
        req: &PutRequest,
    ) -> Result<ObjectInfo>;

    /// Remove an object (absent is not an error).
    async fn delete_object(&self, bucket: &str, key: &str) -> Result<()>;
}

// ---------------------------------------------------------------------------------------------
// HTTP APIs

/// An HTTP API that answers JSON documents by path (the Supabase Management API:
/// `/v1/projects/{ref}/config/auth`, …).
///
/// 401 is `auth`, 403 `permission`, 404 `not_found` (a feature the project does not have), 429
/// `rate_limited` with `Retry-After`, 5xx and transport failures `connection` (temporary).
#[async_trait]
pub trait ApiSource: Send + Sync {
    /// `GET path` (relative to the API's base URL, starting with `/`) as JSON.
    async fn get_json(&self, path: &str) -> Result<serde_json::Value>;
}

/// Collect a byte stream (tests and small documents; large bodies are streamed to disk).
pub async fn collect(mut stream: ByteStream) -> Result<Vec<u8>> {
    use futures::StreamExt;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_against_the_size() {
        assert_eq!(ByteRange::from(3).resolve(10).unwrap(), 3..10);
        assert_eq!(
            ByteRange {
                start: 2,
                end: Some(5)
            }
            .resolve(10)
            .unwrap(),
            2..5
        );
        assert_eq!(
            ByteRange {
                start: 2,
                end: Some(50)
            }
            .resolve(10)
            .unwrap(),
            2..10
        );
        assert_eq!(ByteRange::from(10).resolve(10).unwrap(), 10..10);
        assert!(ByteRange::from(11).resolve(10).is_err());
    }
}
