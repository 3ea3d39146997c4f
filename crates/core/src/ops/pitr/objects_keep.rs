//! The capture's second half for a project with Storage (issue 66 item 4): the objects a
//! segment's committed `storage.objects` rows write are fetched from the project's store and
//! kept ([`crate::pitr::objects`]) before the segment is registered — so a registered segment's
//! objects are kept or said to be missed, and a pass killed between the two fetches them again
//! (the slot did not move; bytes already kept are not written twice).
//!
//! A fetch that fails never fails the capture of the database: the object is counted as missed,
//! with why, and the pass goes on (a restore to a time says which objects have no bytes).

use crate::catalog::Project;
use crate::crypto::Encryption;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::pitr::objects::{bare_etag, ObjectChange, ObjectVersion, ObjectVersions};
use crate::sources::{GetRequest, ObjectSource};
use crate::storage::BucketSelection;
use futures::{FutureExt, StreamExt};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Objects fetched at once.
const CONCURRENCY: usize = 4;
/// At most this many missed objects are named (the rest counted).
const MAX_NAMED: usize = 20;

/// What keeping one segment's objects did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Kept {
    /// Versions fetched and kept now.
    pub fetched: u64,
    /// Versions already kept (the same bucket, key and ETag).
    pub already: u64,
    /// Bytes fetched.
    pub bytes: u64,
    /// Objects whose version the row names could not be kept: "bucket/key: why".
    pub missed: Vec<String>,
    pub missed_count: u64,
}

/// Fetch and keep the objects `changes` names, in the capture folder `dir`.
pub(crate) async fn keep(
    engine: &Engine,
    project: &Project,
    dir: &Path,
    changes: &[ObjectChange],
    encryption: Option<&Encryption>,
    cancel: &CancellationToken,
) -> Kept {
    let mut kept = Kept::default();
    if changes.is_empty() {
        return kept;
    }
    let versions = ObjectVersions::in_capture_dir(dir);
    let (source, selection) = match source_of(engine, project).await {
        Ok(Some(found)) => found,
        // No storage component: the project's objects are not backed up, nor kept here.
        Ok(None) => return kept,
        Err(e) => {
            for c in changes {
                miss(&mut kept, c, e.message());
            }
            return kept;
        }
    };
    // Only the buckets the project's storage backs up.
    let chosen: Vec<ObjectChange> = changes
        .iter()
        .filter(|c| match &selection {
            BucketSelection::All => true,
            BucketSelection::Only(names) => names.contains(&c.bucket),
        })
        .cloned()
        .collect();
    let changes = chosen.as_slice();
    if let Err(e) = crate::private_fs::create_dir_all(versions.dir()) {
        for c in changes {
            miss(&mut kept, c, &format!("creating the objects folder: {e}"));
        }
        return kept;
    }
    let known = versions.load().unwrap_or_default();
    let now = engine.clock.now();
    let fetched_at = (now.unix_timestamp_nanos() / 1_000) as i64;
    let known = Arc::new(known);
    let encryption = encryption.cloned();
    let jobs: Vec<_> = changes
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, c)| {
            let (source, versions, known) = (source.clone(), versions.clone(), known.clone());
            let (encryption, cancel) = (encryption.clone(), cancel.clone());
            async move {
                if let Some(etag) = &c.etag {
                    if ObjectVersions::has(&known, &c.bucket, &c.key, etag) {
                        return (i, Ok(Fetched::Already));
                    }
                }
                if cancel.is_cancelled() {
                    return (i, Err(Error::cancelled()));
                }
                let r = fetch(
                    source,
                    &versions,
                    &c,
                    encryption.as_ref(),
                    fetched_at,
                    &cancel,
                )
                .await;
                (i, r)
            }
            .boxed()
        })
        .collect();
    let results: Vec<(usize, Result<Fetched>)> = futures::stream::iter(jobs)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut results = results;
    results.sort_by_key(|(i, _)| *i);
    for (i, r) in results {
        let c = &changes[i];
        match r {
            Ok(Fetched::Already) => {
                // Named again by a later row: recorded again with this pass's time, so that a
                // prune keeps it for the times after this one.
                kept.already += 1;
                if let Some(mut v) = c.etag.as_deref().and_then(|e| {
                    known
                        .iter()
                        .rev()
                        .find(|v| v.bucket == c.bucket && v.key == c.key && v.etag == e)
                        .cloned()
                }) {
                    v.fetched_at = fetched_at;
                    if let Err(e) = versions.append(&v) {
                        tracing::warn!("recording {}/{} again: {e}", c.bucket, c.key);
                    }
                }
            }
            Ok(Fetched::Gone) => miss(&mut kept, c, "deleted before the capture could fetch it"),
            Ok(Fetched::Kept(v)) => {
                let replaced = c.etag.as_ref().is_some_and(|e| *e != v.etag);
                if let Err(e) = versions.append(&v) {
                    miss(&mut kept, c, e.message());
                    continue;
                }
                kept.fetched += 1;
                kept.bytes += v.size;
                if replaced {
                    // The bytes kept are a later version's (a later row names them).
                    miss(&mut kept, c, "replaced before the capture could fetch it");
                }
            }
            Err(e) => miss(&mut kept, c, e.message()),
        }
    }
    kept
}

/// The project's object store and the buckets it backs up: the engine's provider of inputs
/// first (the agent's configured folder or S3), else the project's storage component; `None`
/// without storage.
async fn source_of(
    engine: &Engine,
    project: &Project,
) -> Result<Option<(Arc<dyn ObjectSource>, BucketSelection)>> {
    if let Some(inputs) = &engine.inputs {
        if let Some(provided) = inputs.storage(&project.name)? {
            return Ok(provided.map(|s| (s.source, s.options.buckets)));
        }
    }
    Ok(crate::ops::components::storage_of(engine, project)
        .await?
        .map(|(source, storage)| (source, storage.buckets)))
}

fn miss(kept: &mut Kept, c: &ObjectChange, why: &str) {
    kept.missed_count += 1;
    if kept.missed.len() < MAX_NAMED {
        kept.missed.push(format!("{}/{}: {why}", c.bucket, c.key));
    }
}

enum Fetched {
    Already,
    Gone,
    Kept(ObjectVersion),
}

/// A private file being written: plain or sealed.
enum Out {
    Plain(std::fs::File),
    Sealed(crate::crypto::EncryptWriter<std::fs::File>),
}

impl Out {
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Out::Plain(f) => f.write_all(b),
            Out::Sealed(w) => w.write_all(b),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        let f = match self {
            Out::Plain(f) => f,
            Out::Sealed(w) => w.finish()?,
        };
        f.sync_all()
    }
}

/// GET one object into a temporary file beside the kept ones, hashing it; then keep it under
/// its SHA-256 (bytes already there are not written again).
async fn fetch(
    source: Arc<dyn ObjectSource>,
    versions: &ObjectVersions,
    c: &ObjectChange,
    encryption: Option<&Encryption>,
    fetched_at: i64,
    cancel: &CancellationToken,
) -> Result<Fetched> {
    let body = match source
        .get_object(&c.bucket, &c.key, &GetRequest::default())
        .await
    {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Fetched::Gone),
        Err(e) => return Err(e),
    };
    let etag = body.info.etag.as_deref().map(bare_etag).unwrap_or_default();
    let tmp = crate::private_fs::tempfile_in(versions.dir(), ".fetch-").map_err(|e| {
        Error::io(
            format!("creating a file in {}", versions.dir().display()),
            e,
        )
    })?;
    let file = tmp
        .as_file()
        .try_clone()
        .map_err(|e| Error::io("opening the fetched object's file", e))?;
    let mut out = match encryption {
        Some(enc) => Out::Sealed(enc.wrap(file)?),
        None => Out::Plain(file),
    };
    let io = |e| Error::io(format!("writing {}/{}", c.bucket, c.key), e);
    let mut hasher = crate::digest::Sha256::new();
    let mut size = 0u64;
    let mut stream = body.stream;
    while let Some(chunk) = stream.next().await {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let chunk = chunk?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        out.write_all(&chunk).map_err(io)?;
    }
    if size != body.info.size {
        return Err(Error::integrity(format!(
            "{}/{}: {} read, the store said {}",
            c.bucket,
            c.key,
            crate::units::format_bytes(size),
            crate::units::format_bytes(body.info.size)
        )));
    }
    out.finish().map_err(io)?;
    let sha256 = hasher.hex();
    let dest = versions.blob_path(&sha256, encryption.is_some());
    if !dest.is_file() {
        if let Some(parent) = dest.parent() {
            crate::private_fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        }
        tmp.persist(&dest)
            .map_err(|e| Error::io(format!("keeping {}", dest.display()), e.error))?;
        if let Some(parent) = dest.parent() {
            crate::archive::sync_dir(parent)?;
        }
    }
    Ok(Fetched::Kept(ObjectVersion {
        bucket: c.bucket.clone(),
        key: c.key.clone(),
        etag,
        size,
        sha256,
        content_type: body.info.content_type.clone(),
        cache_control: body.info.cache_control.clone(),
        fetched_at,
    }))
}
