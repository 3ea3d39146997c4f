//! Storage's objects at a point in time (issue 66 item 4, docs/pitr.md "Storage at the same
//! second"): Supabase records every object of its Storage as a row of `storage.objects`, and
//! those rows are in the change stream the capture reads. While the capture runs, each object
//! whose row a captured segment inserts or updates is fetched from the project's store and kept
//! here, content-addressed (unchanged bytes are stored once), with the ETag the store gave those
//! bytes. A deleted object's bytes stay: a restore to a time before the delete finds them.
//!
//! On disk, under the capture's folder: `objects/index.jsonl` (one [`ObjectVersion`] a line,
//! appended once its bytes are durable — a line never names bytes that are not there, and a
//! torn last line from a killed write is ignored) and `objects/<aa>/<sha256>` (`.age` when the
//! project's backups are encrypted: sealed as the segments are).
//!
//! This module reads segments and files only; fetching and restoring live in `ops::pitr`.

use super::segment::SegmentReader;
use crate::crypto::UserKey;
use crate::error::{Error, Result};
use crate::pgoutput::{self, Message, Tuple, Value};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The folder under the capture's folder.
pub const OBJECTS_DIR: &str = "objects";
/// The index of the versions kept.
const INDEX: &str = "index.jsonl";
/// No line of the index is longer (a key is at most 1,024 bytes in S3).
const MAX_LINE: usize = 16 << 10;
/// The index is read whole; past this it is refused, not read into memory.
const MAX_INDEX: u64 = 1 << 30;

/// One version of an object kept by the capture.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectVersion {
    pub bucket: String,
    pub key: String,
    /// The ETag the store answered with these bytes, without quotes.
    pub etag: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// When the bytes were fetched, µs since the epoch.
    pub fetched_at: i64,
}

/// An object a segment's `storage.objects` rows wrote: its bucket, key and the ETag the row
/// records (`None`: the row has no `metadata.eTag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectChange {
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
}

/// An ETag as S3 and Supabase's `metadata.eTag` write it (`"abc"`, `W/"abc"`), bare.
pub fn bare_etag(etag: &str) -> String {
    let e = etag.trim();
    let e = e.strip_prefix("W/").unwrap_or(e);
    e.trim_matches('"').to_string()
}

/// Where `storage.objects`' columns are in one relation's tuples.
#[derive(Debug, Clone, Copy)]
struct Columns {
    bucket: usize,
    name: usize,
    metadata: Option<usize>,
}

fn text(t: &Tuple, i: usize) -> Option<String> {
    match t.get(i) {
        Some(Value::Text(b)) => String::from_utf8(b.clone()).ok(),
        _ => None,
    }
}

/// The ETag a row's `metadata` records (`metadata->>'eTag'`), bare.
fn etag_of(t: &Tuple, c: Columns) -> Option<String> {
    let raw = text(t, c.metadata?)?;
    let doc: serde_json::Value = serde_json::from_str(&raw).ok()?;
    doc.get("eTag")
        .and_then(|e| e.as_str())
        .map(bare_etag)
        .filter(|e| !e.is_empty())
}

/// The objects the `storage.objects` rows of a stream of messages write, as the messages come
/// (the capture feeds it what it writes into a segment): only committed transactions count.
#[derive(Debug, Default)]
pub struct ChangeScan {
    relations: HashMap<u32, Columns>,
    /// Written by the transaction being read (until its commit).
    pending: Vec<ObjectChange>,
    order: Vec<(String, String)>,
    last: HashMap<(String, String), Option<String>>,
}

impl ChangeScan {
    /// One decoded message.
    pub fn message(&mut self, m: &Message) {
        let (relation, new) = match m {
            Message::Relation(r) => {
                self.relation(r);
                return;
            }
            Message::Commit { .. } => {
                for c in self.pending.drain(..) {
                    let id = (c.bucket, c.key);
                    if !self.last.contains_key(&id) {
                        self.order.push(id.clone());
                    }
                    self.last.insert(id, c.etag);
                }
                return;
            }
            Message::Insert { relation, new } | Message::Update { relation, new, .. } => {
                (relation, new)
            }
            _ => return,
        };
        let Some(&c) = self.relations.get(relation) else {
            return;
        };
        if let (Some(bucket), Some(key)) = (text(new, c.bucket), text(new, c.name)) {
            let etag = etag_of(new, c);
            self.pending.push(ObjectChange { bucket, key, etag });
        }
    }

    fn relation(&mut self, r: &pgoutput::Relation) {
        if r.namespace == "storage" && r.name == "objects" {
            let at = |n: &str| r.columns.iter().position(|c| c.name == n);
            if let (Some(bucket), Some(name)) = (at("bucket_id"), at("name")) {
                let metadata = at("metadata");
                self.relations.insert(
                    r.oid,
                    Columns {
                        bucket,
                        name,
                        metadata,
                    },
                );
                return;
            }
        }
        self.relations.remove(&r.oid);
    }

    /// The last write of each object by committed transactions, in the order first seen.
    pub fn finish(mut self) -> Vec<ObjectChange> {
        let order = std::mem::take(&mut self.order);
        order
            .into_iter()
            .map(|id| {
                let etag = self.last.remove(&id).flatten();
                ObjectChange {
                    bucket: id.0,
                    key: id.1,
                    etag,
                }
            })
            .collect()
    }
}

/// Every object whose `storage.objects` row the segment at `path` inserts or updates (the last
/// write of each bucket and key), in the order first seen.
pub fn changed_in_segment(path: &Path, keys: &[UserKey]) -> Result<Vec<ObjectChange>> {
    let mut reader = SegmentReader::open(path, keys)?;
    let mut scan = ChangeScan::default();
    while let Some(record) = reader.next_record()? {
        scan.message(&pgoutput::decode(&record.data)?);
    }
    Ok(scan.finish())
}

/// The versions kept for one project's capture.
#[derive(Debug, Clone)]
pub struct ObjectVersions {
    dir: PathBuf,
}

impl ObjectVersions {
    /// The versions of the capture whose segments are in `capture_dir`.
    pub fn in_capture_dir(capture_dir: &Path) -> ObjectVersions {
        ObjectVersions {
            dir: capture_dir.join(OBJECTS_DIR),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the capture has kept any version (its index exists).
    pub fn exists(&self) -> bool {
        self.dir.join(INDEX).is_file()
    }

    /// Where the bytes with this SHA-256 are (`encrypted`: sealed with age).
    pub fn blob_path(&self, sha256: &str, encrypted: bool) -> PathBuf {
        let name = if encrypted {
            format!("{sha256}.age")
        } else {
            sha256.to_string()
        };
        self.dir.join(&sha256[..2.min(sha256.len())]).join(name)
    }

    /// The kept file holding `sha256`'s bytes, sealed or not; `None` when neither is there.
    pub fn blob(&self, sha256: &str) -> Option<PathBuf> {
        [false, true]
            .into_iter()
            .map(|e| self.blob_path(sha256, e))
            .find(|p| p.is_file())
    }

    /// Every version the index lists, in the order kept. A line that does not parse (the torn
    /// end of a killed append) is skipped; a line too long or an index too large is an error.
    pub fn load(&self) -> Result<Vec<ObjectVersion>> {
        let path = self.dir.join(INDEX);
        let f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len > MAX_INDEX {
            return Err(Error::integrity(format!(
                "{} is {}, more than an index of kept objects may be",
                path.display(),
                crate::units::format_bytes(len)
            )));
        }
        parse_index(f, &path.display().to_string())
    }

    /// The index file.
    pub fn index_path(&self) -> PathBuf {
        self.dir.join(INDEX)
    }

    /// Append the versions of `versions` the index does not list yet (each once); how many.
    pub fn add_missing(&self, versions: &[ObjectVersion]) -> Result<usize> {
        let mut have: std::collections::HashSet<ObjectVersion> = self.load()?.into_iter().collect();
        let new: Vec<ObjectVersion> = versions
            .iter()
            .filter(|v| have.insert((*v).clone()))
            .cloned()
            .collect();
        self.append_all(&new)?;
        Ok(new.len())
    }

    /// Whether the index lists this version of the object.
    pub fn has(versions: &[ObjectVersion], bucket: &str, key: &str, etag: &str) -> bool {
        versions
            .iter()
            .any(|v| v.bucket == bucket && v.key == key && v.etag == etag)
    }

    /// Record a version whose bytes are durable at [`blob_path`](Self::blob_path): one line
    /// appended and synced.
    pub fn append(&self, v: &ObjectVersion) -> Result<()> {
        self.append_all(std::slice::from_ref(v))
    }

    /// Record versions whose bytes are durable: their lines appended at once, synced once.
    pub fn append_all(&self, vs: &[ObjectVersion]) -> Result<()> {
        if vs.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(INDEX);
        let mut line = Vec::new();
        for v in vs {
            line.extend(serde_json::to_vec(v).map_err(|e| Error::internal(e.to_string()))?);
            line.push(b'\n');
        }
        let io = |e| Error::io(format!("writing {}", path.display()), e);
        let mut f = crate::private_fs::open_options()
            .create(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        // A torn line left by a killed append is ended first: the new line stands on its own.
        let len = f.seek(SeekFrom::End(0)).map_err(io)?;
        if len > 0 {
            let mut lastbyte = [0u8; 1];
            f.seek(SeekFrom::End(-1))
                .and_then(|_| f.read_exact(&mut lastbyte))
                .map_err(io)?;
            if lastbyte[0] != b'\n' {
                line.insert(0, b'\n');
            }
            f.seek(SeekFrom::End(0)).map_err(io)?;
        }
        f.write_all(&line).and_then(|()| f.sync_data()).map_err(io)
    }

    /// The newest version of each object by bucket, key and ETag.
    pub fn by_etag(versions: &[ObjectVersion]) -> BTreeMap<(&str, &str, &str), &ObjectVersion> {
        versions
            .iter()
            .map(|v| ((v.bucket.as_str(), v.key.as_str(), v.etag.as_str()), v))
            .collect()
    }
}

/// The versions an index lists (`what` names it in errors): bounded by [`MAX_INDEX`] and
/// [`MAX_LINE`]; a line that does not parse, or names no SHA-256, is skipped.
pub fn parse_index(r: impl Read, what: &str) -> Result<Vec<ObjectVersion>> {
    let mut out = Vec::new();
    let mut reader = std::io::BufReader::new(r.take(MAX_INDEX + 1));
    let mut line = Vec::new();
    let mut total = 0u64;
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(format!("reading {what}"), e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if line.len() > MAX_LINE || total > MAX_INDEX {
            return Err(Error::integrity(format!(
                "{what} holds a line longer than {} or is larger than an index may be",
                crate::units::format_bytes(MAX_LINE as u64)
            )));
        }
        if let Ok(v) = serde_json::from_slice::<ObjectVersion>(&line) {
            if is_sha256(&v.sha256) {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// Read the kept file of version `v` at `path` (decrypted with `keys` when sealed, `.age`) in
/// chunks of 256 KiB, handing each to `each` with its offset (`false` from it stops the read),
/// and check it is that version: its size and SHA-256. `Ok(false)` when stopped early. The one
/// reader of kept versions: a restore's objects and `pitr verify`.
pub fn read_kept_checked(
    path: &Path,
    keys: &[UserKey],
    v: &ObjectVersion,
    mut each: impl FnMut(u64, &[u8]) -> bool,
) -> Result<bool> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut input: Box<dyn Read> = if path.extension().is_some_and(|x| x == "age") {
        Box::new(crate::crypto::decrypt(f, keys)?)
    } else {
        Box::new(f)
    };
    let mut hasher = crate::digest::Sha256::new();
    let (mut buf, mut at) = (vec![0u8; 256 << 10], 0u64);
    loop {
        let n = input
            .read(&mut buf)
            .map_err(|e| crate::crypto::read_error(path.display(), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if !each(at, &buf[..n]) {
            return Ok(false);
        }
        at += n as u64;
    }
    let sha = hasher.hex();
    if at != v.size || sha != v.sha256 {
        return Err(Error::integrity(format!(
            "the kept copy ({}, SHA-256 {sha}) is not the version the index records ({}, {})",
            crate::units::format_bytes(at),
            crate::units::format_bytes(v.size),
            v.sha256
        )));
    }
    Ok(true)
}

/// The largest a sealed (age) file of `size` bytes of plaintext may be: the bytes, a 16-byte
/// tag per 64 KiB chunk, and a header (bounded at 64 KiB); saturating, whatever `size` a
/// hostile index or listing gives.
pub fn sealed_size_max(size: u64) -> u64 {
    size.saturating_add((size / 65_536 + 1).saturating_mul(16))
        .saturating_add(64 * 1024)
}

/// Where the bytes with this SHA-256 are kept, relative to the objects folder:
/// `<aa>/<sha256>` (`.age` appended when sealed). `None` for anything but a SHA-256.
pub fn blob_name(sha256: &str, encrypted: bool) -> Option<String> {
    is_sha256(sha256).then(|| {
        format!(
            "{}/{sha256}{}",
            &sha256[..2],
            if encrypted { ".age" } else { "" }
        )
    })
}

/// Which versions a restore to a time at or after `oldest` (µs) may still need: of each object,
/// every version fetched after its newest one fetched at or before `oldest`, and that one. (A
/// version's row was committed before it was fetched; a row naming an older version again
/// later is recorded again by the pass that captures it, see `ops::pitr::objects_keep`.)
pub fn still_needed(versions: &[ObjectVersion], oldest: i64) -> Vec<ObjectVersion> {
    let mut floor: HashMap<(&str, &str), i64> = HashMap::new();
    for v in versions.iter().filter(|v| v.fetched_at <= oldest) {
        let f = floor.entry((&v.bucket, &v.key)).or_insert(v.fetched_at);
        *f = (*f).max(v.fetched_at);
    }
    versions
        .iter()
        .filter(|v| {
            floor
                .get(&(v.bucket.as_str(), v.key.as_str()))
                .is_none_or(|f| v.fetched_at >= *f)
        })
        .cloned()
        .collect()
}

impl ObjectVersions {
    /// Drop what no restore to a time at or after `oldest` needs ([`still_needed`]): the index
    /// rewritten (atomically), then the bytes no line names any more. Returns how many files
    /// of bytes were removed.
    pub fn prune(&self, oldest: i64) -> Result<usize> {
        let all = self.load()?;
        let keep = still_needed(&all, oldest);
        if keep.len() == all.len() {
            return Ok(0);
        }
        let mut text = Vec::new();
        for v in &keep {
            text.extend(serde_json::to_vec(v).map_err(|e| Error::internal(e.to_string()))?);
            text.push(b'\n');
        }
        let index = self.dir.join(INDEX);
        crate::private_fs::write_atomic(&index, &text)
            .map_err(|e| Error::io(format!("writing {}", index.display()), e))?;
        let named: std::collections::HashSet<&str> =
            keep.iter().map(|v| v.sha256.as_str()).collect();
        let mut removed = 0;
        for v in &all {
            if named.contains(v.sha256.as_str()) {
                continue;
            }
            for p in [
                self.blob_path(&v.sha256, false),
                self.blob_path(&v.sha256, true),
            ] {
                if std::fs::remove_file(&p).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_lose_their_quotes_and_weak_marks() {
        assert_eq!(bare_etag("\"abc\""), "abc");
        assert_eq!(bare_etag("W/\"abc-2\""), "abc-2");
        assert_eq!(bare_etag("abc"), "abc");
    }

    #[test]
    fn a_prune_keeps_each_objects_version_at_the_oldest_time_and_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectVersions::in_capture_dir(dir.path());
        std::fs::create_dir_all(store.dir()).unwrap();
        let v = |key: &str, etag: &str, sha: char, at: i64| ObjectVersion {
            bucket: "media".into(),
            key: key.into(),
            etag: etag.into(),
            size: 1,
            sha256: sha.to_string().repeat(64),
            content_type: None,
            cache_control: None,
            fetched_at: at,
        };
        let all = [
            v("a", "1", 'a', 10),
            v("a", "2", 'b', 20),
            v("a", "3", 'c', 40),
            v("b", "1", 'd', 5),
            v("c", "1", 'e', 50),
        ];
        for x in &all {
            store.append(x).unwrap();
            let p = store.blob_path(&x.sha256, false);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        // At 30: a's version 2 (its newest by then) and later, b's only one, c's.
        assert_eq!(store.prune(30).unwrap(), 1);
        let left = store.load().unwrap();
        assert_eq!(
            left,
            vec![
                all[1].clone(),
                all[2].clone(),
                all[3].clone(),
                all[4].clone()
            ]
        );
        assert!(store.blob(&all[0].sha256).is_none());
        assert!(store.blob(&all[1].sha256).is_some());
        assert_eq!(store.prune(30).unwrap(), 0);
    }

    #[test]
    fn the_index_skips_a_torn_line_and_refuses_a_huge_one() {
        let dir = tempfile::tempdir().unwrap();
        let v = ObjectVersions::in_capture_dir(dir.path());
        std::fs::create_dir_all(v.dir()).unwrap();
        assert!(v.load().unwrap().is_empty());
        let one = ObjectVersion {
            bucket: "media".into(),
            key: "a/b.txt".into(),
            etag: "e1".into(),
            size: 3,
            sha256: "a".repeat(64),
            content_type: None,
            cache_control: None,
            fetched_at: 1,
        };
        v.append(&one).unwrap();
        // A killed append: half a line, then the next append.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(v.dir().join(INDEX))
            .unwrap();
        f.write_all(b"{\"bucket\":\"media\",\"ke").unwrap();
        drop(f);
        let two = ObjectVersion {
            etag: "e2".into(),
            ..one.clone()
        };
        v.append(&two).unwrap();
        // The torn line is skipped; the append after it stands on a line of its own.
        assert_eq!(v.load().unwrap(), vec![one, two]);
        std::fs::write(v.dir().join(INDEX), vec![b'x'; MAX_LINE + 10]).unwrap();
        assert!(v.load().is_err());
    }
}
