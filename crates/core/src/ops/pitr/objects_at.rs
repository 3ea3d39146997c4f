//! Storage at the same second as the database (issue 66 item 4, docs/pitr.md): a restore to a
//! time of the database and the storage together gives the buckets exactly as the restored
//! `storage.objects` rows say they were at TIME. Each row's object (bucket, key, the ETag its
//! `metadata` records) takes its bytes from the versions the capture kept
//! ([`crate::pitr::objects`]) or, when the same version was in the storage pull the plan chose
//! (unchanged since), from that pull. These are written as an ordinary incremental storage
//! archive over that pull, in a private temporary folder, and restored by the ordinary storage
//! restore (its plan, journal, mirror and checks unchanged); the folder goes when the
//! [`Composed`] is dropped.
//!
//! An object whose version Offsite never had (uploaded and replaced or deleted between two
//! capture passes, or before the capture began and after the pull) is said: restored as the
//! older version that was there (named), or not restored at all (named) — and a mirror restore
//! then refuses before it changes anything, rather than delete what the target holds of it.

use crate::archive::BackupType;
use crate::backup::compose::{compose_encrypted, ComposeRequest, StorageInput};
use crate::catalog::Project;
use crate::crypto::UserKey;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pitr::objects::{bare_etag, ObjectVersion, ObjectVersions};
use crate::postgres::restore::RestoreTarget;
use crate::sources::{
    BucketInfo, ByteStream, GetRequest, ListRequest, ObjectBody, ObjectInfo, ObjectPage,
    ObjectSource,
};
use crate::storage::{ObjectEntry, PreviousStorage, PullOptions};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// At most this many objects are named per kind (the rest counted).
const MAX_NAMED: usize = 20;

/// One `storage.objects` row of the restored database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
}

/// What the storage at TIME was made of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StorageAtTime {
    /// Objects the `storage.objects` rows list at TIME (in the buckets restored).
    pub objects: u64,
    /// Of those, with the bytes the capture kept of that version.
    pub from_capture: u64,
    /// With the same version's bytes from the storage pull.
    pub from_pull: u64,
    /// Restored as an older version (the one Offsite had), named "bucket/key".
    pub older: Vec<String>,
    pub older_count: u64,
    /// Not restored: Offsite never had any of their bytes, named "bucket/key".
    pub missing: Vec<String>,
    pub missing_count: u64,
}

impl StorageAtTime {
    /// One line for people.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "storage as its rows say at TIME: {} ({} from the versions the capture kept, {} unchanged since the pull)",
            crate::words::plural(self.objects, "object"),
            self.from_capture,
            self.from_pull
        );
        if self.older_count > 0 {
            s.push_str(&format!(
                "; {} as an older version (the version at TIME was replaced before the capture fetched it): {}",
                self.older_count,
                self.older.join(", ")
            ));
        }
        if self.missing_count > 0 {
            s.push_str(&format!(
                "; {} not restored (Offsite never had their contents): {}",
                self.missing_count,
                self.missing.join(", ")
            ));
        }
        s
    }
}

/// The rows of `storage.objects` in the restored target; `None` when it has no such table.
pub(crate) async fn rows_at(target: &RestoreTarget) -> Result<Option<Vec<Row>>> {
    let mut conn = target.spec.connect(target.password.as_deref()).await?;
    let spec = &target.spec;
    let has: bool = sqlx::query_scalar("SELECT to_regclass('storage.objects') IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| spec.map_sqlx(e))?;
    if !has {
        let _ = sqlx::Connection::close(conn).await;
        return Ok(None);
    }
    type Raw = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT bucket_id, name, metadata->>'eTag', metadata->>'mimetype', \
         metadata->>'cacheControl' FROM storage.objects \
         WHERE bucket_id IS NOT NULL AND name IS NOT NULL ORDER BY bucket_id, name",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| spec.map_sqlx(e).context("reading storage.objects at TIME"))?;
    let _ = sqlx::Connection::close(conn).await;
    Ok(Some(
        rows.into_iter()
            .map(|(bucket, key, etag, content_type, cache_control)| Row {
                bucket,
                key,
                etag: etag.map(|e| bare_etag(&e)).filter(|e| !e.is_empty()),
                content_type,
                cache_control,
            })
            .collect(),
    ))
}

/// Where one object's bytes come from.
#[derive(Debug, Clone)]
enum Entry {
    /// A version the capture kept.
    Kept(ObjectVersion, ObjectInfo),
    /// The pull's entry (the archive restore takes the bytes from it).
    Pulled(ObjectInfo),
}

impl Entry {
    fn info(&self) -> &ObjectInfo {
        match self {
            Entry::Kept(_, i) | Entry::Pulled(i) => i,
        }
    }
}

fn info_of_entry(e: &ObjectEntry) -> ObjectInfo {
    ObjectInfo {
        key: e.key.clone(),
        size: e.size,
        etag: e.etag.clone(),
        last_modified: e
            .last_modified
            .as_deref()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()),
        content_type: e.content_type.clone(),
        cache_control: e.cache_control.clone(),
        metadata: e.metadata.clone(),
    }
}

fn info_of_version(v: &ObjectVersion, row: &Row) -> ObjectInfo {
    ObjectInfo {
        key: v.key.clone(),
        size: v.size,
        etag: Some(v.etag.clone()),
        last_modified: None,
        content_type: row.content_type.clone().or(v.content_type.clone()),
        cache_control: row.cache_control.clone().or(v.cache_control.clone()),
        metadata: BTreeMap::new(),
    }
}

/// Each row's source of bytes, with what the storage at TIME is made of.
fn choose(
    rows: &[Row],
    kept: &[ObjectVersion],
    pulled: &[ObjectEntry],
    at: i64,
) -> (BTreeMap<String, BTreeMap<String, Entry>>, StorageAtTime) {
    let by_etag = ObjectVersions::by_etag(kept);
    // The newest version kept at or before TIME, per object.
    let mut newest: HashMap<(&str, &str), &ObjectVersion> = HashMap::new();
    for v in kept.iter().filter(|v| v.fetched_at <= at) {
        let k = (v.bucket.as_str(), v.key.as_str());
        if newest.get(&k).is_none_or(|o| o.fetched_at <= v.fetched_at) {
            newest.insert(k, v);
        }
    }
    let pulled: HashMap<(&str, &str), &ObjectEntry> = pulled
        .iter()
        .map(|e| ((e.bucket.as_str(), e.key.as_str()), e))
        .collect();
    let mut out: BTreeMap<String, BTreeMap<String, Entry>> = BTreeMap::new();
    let mut said = StorageAtTime::default();
    let name = |r: &Row| format!("{}/{}", r.bucket, r.key);
    for r in rows {
        said.objects += 1;
        let k = (r.bucket.as_str(), r.key.as_str());
        let pull = pulled.get(&k).copied();
        let older = |said: &mut StorageAtTime| {
            said.older_count += 1;
            if said.older.len() < MAX_NAMED {
                said.older.push(name(r));
            }
        };
        let newest = newest.get(&k).copied();
        let entry = match r.etag.as_deref() {
            Some(e) => {
                if let Some(p) =
                    pull.filter(|p| p.etag.as_deref().map(bare_etag).as_deref() == Some(e))
                {
                    said.from_pull += 1;
                    Some(Entry::Pulled(info_of_entry(p)))
                } else if let Some(v) = by_etag.get(&(k.0, k.1, e)).copied() {
                    said.from_capture += 1;
                    Some(Entry::Kept(v.clone(), info_of_version(v, r)))
                } else if let Some(v) = newest {
                    older(&mut said);
                    Some(Entry::Kept(v.clone(), info_of_version(v, r)))
                } else if let Some(p) = pull {
                    older(&mut said);
                    Some(Entry::Pulled(info_of_entry(p)))
                } else {
                    None
                }
            }
            // No ETag to tell versions by: the newest bytes kept at or before TIME, else the
            // pull's.
            None => {
                if let Some(v) = newest {
                    said.from_capture += 1;
                    Some(Entry::Kept(v.clone(), info_of_version(v, r)))
                } else if let Some(p) = pull {
                    said.from_pull += 1;
                    Some(Entry::Pulled(info_of_entry(p)))
                } else {
                    None
                }
            }
        };
        if entry.is_none() {
            said.missing_count += 1;
            if said.missing.len() < MAX_NAMED {
                said.missing.push(name(r));
            }
        }
        if let Some(e) = entry {
            out.entry(r.bucket.clone())
                .or_default()
                .insert(r.key.clone(), e);
        }
    }
    (out, said)
}

/// The versions the index lists whose bytes are here.
async fn with_bytes_here(versions: &ObjectVersions) -> Result<Vec<ObjectVersion>> {
    let v = versions.clone();
    tokio::task::spawn_blocking(move || {
        Ok(v.load()?
            .into_iter()
            .filter(|x| v.blob(&x.sha256).is_some())
            .collect())
    })
    .await
    .map_err(|e| Error::internal(format!("reading the kept objects: {e}")))?
}

/// The rows whose version is neither kept here nor the pull's: what to look for in the copies.
fn unmet(
    rows: &[Row],
    kept: &[ObjectVersion],
    pulled: &[ObjectEntry],
    at: i64,
) -> Vec<super::objects_copy::Wanted> {
    let pulled: HashMap<(&str, &str), &ObjectEntry> = pulled
        .iter()
        .map(|e| ((e.bucket.as_str(), e.key.as_str()), e))
        .collect();
    let by_etag = ObjectVersions::by_etag(kept);
    let before: std::collections::HashSet<(&str, &str)> = kept
        .iter()
        .filter(|v| v.fetched_at <= at)
        .map(|v| (v.bucket.as_str(), v.key.as_str()))
        .collect();
    rows.iter()
        .filter(|r| {
            let k = (r.bucket.as_str(), r.key.as_str());
            let pull = pulled.get(&k);
            let met = match r.etag.as_deref() {
                Some(e) => {
                    pull.is_some_and(|p| p.etag.as_deref().map(bare_etag).as_deref() == Some(e))
                        || by_etag.contains_key(&(k.0, k.1, e))
                }
                None => pull.is_some() || before.contains(&k),
            };
            !met
        })
        .map(|r| (r.bucket.clone(), r.key.clone(), r.etag.clone()))
        .collect()
}

/// The objects at TIME as an object store the pull reads (listings and bytes from the kept
/// versions; what the pull had is never read: the archive refers to it).
struct AtTimeSource {
    buckets: BTreeMap<String, BTreeMap<String, Entry>>,
    versions: ObjectVersions,
    keys: Vec<UserKey>,
}

#[async_trait]
impl ObjectSource for AtTimeSource {
    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        Ok(self
            .buckets
            .keys()
            .map(|name| BucketInfo {
                name: name.clone(),
                created: None,
            })
            .collect())
    }

    /// Every key from the continuation on, a page at a time (no delimiter grouping: the
    /// listing's callers take every key then).
    async fn list_objects(&self, bucket: &str, req: &ListRequest) -> Result<ObjectPage> {
        let objects = self
            .buckets
            .get(bucket)
            .ok_or_else(|| Error::not_found(format!("no bucket named {bucket:?}")))?;
        let size = req.page_size.unwrap_or(1000).max(1);
        let prefix = req.prefix.as_deref().unwrap_or("");
        let after = req.continuation.as_deref().or(req.start_after.as_deref());
        let mut page = Vec::new();
        let mut more = false;
        let from = match after {
            Some(a) => {
                objects.range::<str, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))
            }
            None => objects.range::<str, _>(..),
        };
        for (k, e) in from.filter(|(k, _)| k.starts_with(prefix)) {
            if page.len() == size {
                more = true;
                break;
            }
            page.push(ObjectInfo {
                key: k.clone(),
                ..e.info().clone()
            });
        }
        let next = if more {
            page.last().map(|o| o.key.clone())
        } else {
            None
        };
        Ok(ObjectPage {
            objects: page,
            prefixes: Vec::new(),
            next,
        })
    }

    async fn stat_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>> {
        Ok(self
            .buckets
            .get(bucket)
            .and_then(|b| b.get(key))
            .map(|e| e.info().clone()))
    }

    async fn get_object(&self, bucket: &str, key: &str, req: &GetRequest) -> Result<ObjectBody> {
        let entry = self.buckets.get(bucket).and_then(|b| b.get(key));
        let Some(Entry::Kept(v, info)) = entry else {
            return Err(Error::internal(format!(
                "{bucket}/{key}: its contents are in the storage pull, not among the kept versions"
            )));
        };
        let path = self.versions.blob(&v.sha256).ok_or_else(|| {
            Error::integrity(format!(
                "{bucket}/{key}: the copy the capture kept ({}) is gone from {}",
                v.sha256,
                self.versions.dir().display()
            ))
            .with_hint("the capture's objects folder was changed by hand; restore to another time")
        })?;
        let start = req.range.map(|r| r.start).unwrap_or(0).min(v.size);
        let end = req
            .range
            .and_then(|r| r.end)
            .unwrap_or(v.size)
            .clamp(start, v.size);
        let stream = read_kept(path, self.keys.clone(), v.clone(), start..end);
        Ok(ObjectBody {
            info: info.clone(),
            range: start..end,
            stream,
        })
    }
}

/// A kept version's bytes `range`, read (and decrypted) by a thread of its own; the whole file
/// is hashed and a SHA-256 other than the index's ends the stream with an integrity error.
fn read_kept(
    path: PathBuf,
    keys: Vec<UserKey>,
    v: ObjectVersion,
    range: std::ops::Range<u64>,
) -> ByteStream {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let read = || -> Result<()> {
            crate::pitr::objects::read_kept_checked(&path, &keys, &v, |lo, chunk| {
                let hi = lo + chunk.len() as u64;
                let (s, e) = (range.start.max(lo), range.end.min(hi));
                // A reader that went away stops the read.
                s >= e
                    || tx
                        .blocking_send(Ok(Bytes::copy_from_slice(
                            &chunk[(s - lo) as usize..(e - lo) as usize],
                        )))
                        .is_ok()
            })
            .map(|_| ())
            .map_err(|e| e.context(format!("{}/{}", v.bucket, v.key)))
        };
        if let Err(e) = read() {
            let _ = tx.blocking_send(Err(e));
        }
    });
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) }).boxed()
}

/// The storage at TIME, written as an archive in a private temporary folder.
pub(crate) struct Composed {
    pub archive: PathBuf,
    pub said: StorageAtTime,
    _dir: tempfile::TempDir,
    _in_use: crate::tempfiles::FolderInUse,
}

/// Compose the storage at `at` of `project` from the restored rows, the versions its capture
/// kept (in `capture_dir`) and the storage pull at `pull` (an archive with `storage.json`).
pub(crate) async fn compose(
    engine: &Engine,
    project: &Project,
    capture_dir: &Path,
    pull: &Path,
    rows: Vec<Row>,
    at: i64,
    cancel: &CancellationToken,
) -> Result<Composed> {
    let versions = ObjectVersions::in_capture_dir(capture_dir);
    let kept = with_bytes_here(&versions).await?;
    let (manifest, doc) = {
        let (p, c) = (pull.to_path_buf(), cancel.clone());
        tokio::task::spawn_blocking(move || -> Result<_> {
            let m = crate::archive::read_manifest(&p)?;
            let d = crate::storage::read_storage_doc(&p, &c)?;
            Ok((m, d))
        })
        .await
        .map_err(|e| Error::internal(format!("reading the storage pull: {e}")))??
    };
    // Versions whose bytes are not here (this machine's objects folder lost or damaged) come
    // back from the copies at the destinations first.
    let wanted = unmet(&rows, &kept, &doc.objects, at);
    let kept = if wanted.is_empty() {
        kept
    } else {
        let n = super::objects_copy::fetch_back(engine, project, &versions, &wanted, at, cancel)
            .await?;
        tracing::info!(project = %project.name, "{n} kept Storage object versions fetched back from copies");
        with_bytes_here(&versions).await?
    };
    let (buckets, said) = choose(&rows, &kept, &doc.objects, at);
    let bucket_settings = doc
        .buckets
        .iter()
        .filter_map(|b| b.settings.clone().map(|s| (b.name.clone(), s)))
        .collect();
    let source = AtTimeSource {
        buckets,
        versions,
        keys: crate::ops::encryption::keys_of(engine, &project.name).unwrap_or_default(),
    };
    let parent = engine.data_dir.join(super::at::AT_DIR);
    crate::private_fs::create_dir_all(&parent)
        .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    let in_use = crate::tempfiles::in_use(&parent)?;
    let dir = crate::private_fs::tempdir_in(&parent, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a folder in {}", parent.display()), e))?;
    let req = ComposeRequest {
        project: project.name.clone(),
        dest_dir: dir.path().to_path_buf(),
        compression: crate::archive::Compression::default(),
        backup_id: uuid::Uuid::new_v4().to_string(),
        created_at: engine.clock.now(),
        backup_type: BackupType::Incremental,
        database: None,
        storage: Some(StorageInput {
            source: Arc::new(source),
            options: PullOptions {
                concurrency: 4,
                bucket_settings,
                endpoint: doc.endpoint.clone(),
                previous: Some(PreviousStorage {
                    backup_id: manifest.backup_id.clone(),
                    archive: pull.to_path_buf(),
                    doc,
                    created_at: Some(manifest.created_at.clone()),
                }),
                incremental: true,
                ..PullOptions::default()
            },
        }),
        config: None,
    };
    let written =
        compose_encrypted(req, None, &crate::progress::Reporter::silent(), cancel).await?;
    Ok(Composed {
        archive: written.path,
        said,
        _dir: dir,
        _in_use: in_use,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, etag: Option<&str>) -> Row {
        Row {
            bucket: "media".into(),
            key: key.into(),
            etag: etag.map(str::to_string),
            content_type: None,
            cache_control: None,
        }
    }

    fn kept(key: &str, etag: &str, at: i64) -> ObjectVersion {
        ObjectVersion {
            bucket: "media".into(),
            key: key.into(),
            etag: etag.into(),
            size: 1,
            sha256: "0".repeat(64),
            content_type: None,
            cache_control: None,
            fetched_at: at,
        }
    }

    fn pulled(key: &str, etag: &str) -> ObjectEntry {
        ObjectEntry {
            bucket: "media".into(),
            key: key.into(),
            member: Some(format!("storage/media/{key}")),
            size: 1,
            etag: Some(etag.into()),
            last_modified: None,
            content_type: None,
            cache_control: None,
            metadata: BTreeMap::new(),
            sha256: "1".repeat(64),
        }
    }

    #[test]
    fn each_row_takes_the_version_it_names() {
        let rows = [
            row("pulled.txt", Some("p1")),
            row("kept.txt", Some("k2")),
            row("replaced.txt", Some("r1")),
            row("old.txt", Some("o2")),
            row("never.txt", Some("n1")),
        ];
        let versions = [
            kept("kept.txt", "k1", 10),
            kept("kept.txt", "k2", 20),
            kept("kept.txt", "k3", 40),
            kept("replaced.txt", "r2", 20),
        ];
        let pull = [pulled("pulled.txt", "p1"), pulled("old.txt", "o1")];
        let (chosen, said) = choose(&rows, &versions, &pull, 30);
        let m = &chosen["media"];
        assert!(matches!(&m["pulled.txt"], Entry::Pulled(i) if i.etag.as_deref() == Some("p1")));
        assert!(matches!(&m["kept.txt"], Entry::Kept(v, _) if v.etag == "k2"));
        // r1 was replaced before it was fetched: the newest kept before TIME stands in, said.
        assert!(matches!(&m["replaced.txt"], Entry::Kept(v, _) if v.etag == "r2"));
        assert!(matches!(&m["old.txt"], Entry::Pulled(i) if i.etag.as_deref() == Some("o1")));
        assert!(!m.contains_key("never.txt"));
        assert_eq!(
            said,
            StorageAtTime {
                objects: 5,
                from_capture: 1,
                from_pull: 1,
                older: vec!["media/replaced.txt".into(), "media/old.txt".into()],
                older_count: 2,
                missing: vec!["media/never.txt".into()],
                missing_count: 1,
            }
        );
    }

    #[tokio::test]
    async fn listing_pages_on_from_the_continuation() {
        let mut b = BTreeMap::new();
        for k in ["a", "b/c", "b/d", "e"] {
            b.insert(k.to_string(), Entry::Pulled(ObjectInfo::listed(k, 1)));
        }
        let src = AtTimeSource {
            buckets: BTreeMap::from([("media".to_string(), b)]),
            versions: ObjectVersions::in_capture_dir(Path::new("/nonexistent")),
            keys: Vec::new(),
        };
        let mut req = ListRequest {
            page_size: Some(3),
            ..Default::default()
        };
        let p1 = src.list_objects("media", &req).await.unwrap();
        let keys: Vec<_> = p1.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["a", "b/c", "b/d"]);
        req.continuation = p1.next.clone();
        let p2 = src.list_objects("media", &req).await.unwrap();
        assert_eq!(p2.objects.len(), 1);
        assert_eq!(p2.next, None);
        req.continuation = None;
        req.prefix = Some("b/".into());
        assert_eq!(
            src.list_objects("media", &req).await.unwrap().objects.len(),
            2
        );
        assert!(src
            .get_object("media", "a", &GetRequest::default())
            .await
            .is_err());
    }
}
