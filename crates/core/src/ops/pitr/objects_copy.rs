//! Copies of the Storage objects' versions the capture kept (issue 66 item 4; docs/pitr.md,
//! "Storage at the same second as the database"), at the project's destinations beside its
//! change segments:
//! - `<project>/pitr/objects/<aa>/<sha256>` (`.age` when sealed): the bytes, content-addressed,
//!   each put once and checked (its size, and its SHA-256 when the bytes are not sealed);
//! - `<project>/pitr/objects/index.jsonl`: the versions, put after every file it names is
//!   stored — the union of what this machine and the destination list, less what no remaining
//!   window needs (the prune's rule, [`still_needed`]); bytes no line names are deleted there.
//!
//! [`mirror`] runs before a pass's segments are copied to a destination ([`super::copies`]): a
//! segment's copy is recorded stored only once the versions kept so far are stored too, and a
//! failure leaves the segment's copy pending with the reason, for the next sync. A restore to a
//! time whose rows name a version whose bytes this machine lacks (its objects folder lost or
//! damaged) brings them back ([`fetch_back`]): the destination's index read (bounded), the
//! bytes downloaded beside their place (`.part`, bounded by the recorded size), checked, and
//! only then renamed and listed.
//!
//! Everything a destination answers is hostile: a file name is used only when it is exactly a
//! SHA-256 (two hex characters, a slash, the 64 of the name), the index is parsed by the one
//! bounded parser ([`parse_index`]).

use crate::catalog::Project;
use crate::destinations::{put_file, Destination, PutOptions, Sha256};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pitr::objects::{
    blob_name, parse_index, sealed_size_max, still_needed, ObjectVersion, ObjectVersions,
};
use futures::StreamExt;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

const INDEX: &str = "index.jsonl";
/// A destination's index is read up to this size (it lists versions, not bytes).
const MAX_REMOTE_INDEX: u64 = 256 << 20;

/// What a mirror did at one destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Mirrored {
    /// Files of bytes put.
    pub files: u32,
    pub bytes: u64,
    /// Files of bytes no remaining window needs, deleted there.
    pub removed: u32,
}

/// `<project>/pitr/objects/`.
fn prefix(project: &str) -> String {
    format!("{project}/pitr/objects/")
}

/// The SHA-256 a destination's file name under the prefix stands for, and whether it is
/// sealed; `None` for any other name.
fn sha_of(rel: &str) -> Option<(String, bool)> {
    let (sha, sealed) = match rel.strip_suffix(".age") {
        Some(s) => (s, true),
        None => (rel, false),
    };
    let (aa, sha) = sha.split_once('/')?;
    (blob_name(sha, false).is_some() && aa == &sha[..2]).then(|| (sha.to_string(), sealed))
}

/// The kept versions of `project`'s capture.
pub(crate) fn kept_of(engine: &Engine, project: &Project) -> ObjectVersions {
    ObjectVersions::in_capture_dir(&super::segment_dir(engine, project))
}

/// The start of the oldest window the project still has (µs), the prune's floor.
pub(crate) async fn oldest_window(engine: &Engine, project: &Project) -> Option<i64> {
    super::chain_facts_checked(engine, project, super::Check::Present)
        .await
        .ok()?
        .iter()
        .map(|(_, f)| crate::pitr::window::window(f).from)
        .min()
}

/// A destination's file downloaded into `to` (created new, private), at most `max` bytes;
/// returns its size, SHA-256 and (when asked) MD5.
async fn download(
    dest: &dyn Destination,
    name: &str,
    to: &Path,
    max: u64,
    want_md5: bool,
) -> Result<(u64, String, Option<String>)> {
    use md5::Digest;
    let writing = format!("writing {}", to.display());
    let mut file = crate::private_fs::tokio_open_options()
        .write(true)
        .create_new(true)
        .open(to)
        .await
        .map_err(|e| Error::io(&writing, e))?;
    let mut stream = dest.read(name).await?;
    let (mut sha, mut size) = (Sha256::new(), 0u64);
    let mut md5 = want_md5.then(md5::Md5::new);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > max {
            return Err(Error::integrity(format!(
                "{name} in {} is larger than {}",
                dest.location(),
                crate::units::format_bytes(max)
            )));
        }
        sha.update(&chunk);
        if let Some(m) = md5.as_mut() {
            m.update(&chunk);
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::io(&writing, e))?;
    }
    file.flush().await.map_err(|e| Error::io(&writing, e))?;
    file.sync_all().await.map_err(|e| Error::io(&writing, e))?;
    Ok((size, sha.hex(), md5.map(|m| hex::encode(m.finalize()))))
}

/// An ETag that is the MD5 of the object's bytes (a single-part upload's: 32 hex digits).
fn md5_etag(etag: &str) -> Option<&str> {
    (etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())).then_some(etag)
}

/// The versions a destination's index lists (none when it has no index).
async fn remote_index(
    dest: &dyn Destination,
    project: &str,
    scratch: &Path,
) -> Result<Vec<ObjectVersion>> {
    let name = format!("{}{INDEX}", prefix(project));
    if dest.stat(&name).await?.is_none() {
        return Ok(Vec::new());
    }
    let tmp = crate::private_fs::tempdir_in(scratch, crate::tempfiles::TEMP_PREFIX)
        .map_err(|e| Error::io(format!("creating a folder in {}", scratch.display()), e))?;
    let path = tmp.path().join(INDEX);
    download(dest, &name, &path, MAX_REMOTE_INDEX, false).await?;
    let what = format!("{name} in {}", dest.location());
    tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        parse_index(f, &what)
    })
    .await
    .map_err(|e| Error::internal(format!("reading an index of kept objects: {e}")))?
}

/// `a` (each version once) then what of `b` is not in it.
/// The files a destination holds under `pre`: their names below it, with their sizes.
async fn listed(dest: &dyn Destination, pre: &str) -> Result<HashMap<String, u64>> {
    Ok(dest
        .list(pre)
        .await?
        .into_iter()
        .filter_map(|o| Some((o.name.strip_prefix(pre)?.to_string(), o.size)))
        .collect())
}

fn union(a: Vec<ObjectVersion>, b: &[ObjectVersion]) -> Vec<ObjectVersion> {
    let mut seen: HashSet<ObjectVersion> = HashSet::with_capacity(a.len() + b.len());
    a.into_iter()
        .chain(b.iter().cloned())
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

/// [`ObjectVersions::load`] off the async threads.
pub(super) async fn load(kept: &ObjectVersions) -> Result<Vec<ObjectVersion>> {
    let k = kept.clone();
    tokio::task::spawn_blocking(move || k.load())
        .await
        .map_err(|e| Error::internal(format!("reading the kept objects: {e}")))?
}

/// [`ObjectVersions::add_missing`] off the async threads: how many lines were added.
pub(super) async fn add_missing(
    kept: &ObjectVersions,
    versions: Vec<ObjectVersion>,
) -> Result<usize> {
    let k = kept.clone();
    tokio::task::spawn_blocking(move || k.add_missing(&versions))
        .await
        .map_err(|e| Error::internal(format!("writing the kept objects' index: {e}")))?
}

/// Bring `dest`'s copy of the kept versions up to this machine's ([module docs](self)):
/// missing bytes put, the index put after them, bytes no remaining window needs deleted
/// (`oldest`: the oldest window's start; `None` deletes nothing). Nothing kept here: nothing
/// done (a machine that lost its objects folder never shrinks a destination's copy).
pub(crate) async fn mirror(
    dest: &dyn Destination,
    project: &str,
    kept: &ObjectVersions,
    oldest: Option<i64>,
    cancel: &CancellationToken,
) -> Result<Mirrored> {
    let mut out = Mirrored::default();
    let local = load(kept).await?;
    if local.is_empty() {
        return Ok(out);
    }
    let pre = prefix(project);
    let listed = listed(dest, &pre).await?;
    let remote = remote_index(dest, project, kept.dir()).await?;
    let all = union(remote.clone(), &local);
    let keep = match oldest {
        Some(o) => still_needed(&all, o),
        None => all,
    };
    let named: BTreeSet<&str> = keep.iter().map(|v| v.sha256.as_str()).collect();
    for sha in &named {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let Some(path) = kept.blob(sha) else {
            continue; // Only the destination has it (fetched from it, or kept elsewhere).
        };
        let sealed = path.extension().is_some_and(|x| x == "age");
        let rel = blob_name(sha, sealed).ok_or_else(|| Error::internal("a kept file's name"))?;
        let size = tokio::fs::metadata(&path)
            .await
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
            .len();
        if listed.get(&rel) == Some(&size) {
            continue;
        }
        let name = format!("{pre}{rel}");
        let stored = put_file(dest, &name, &path, PutOptions { overwrite: true }).await?;
        let right = stored.size == size
            && (sealed
                || stored
                    .sha256
                    .as_deref()
                    .is_none_or(|h| h.eq_ignore_ascii_case(sha)));
        if !right {
            let _ = dest.delete(&name).await;
            return Err(Error::integrity(format!(
                "the copy of {name} in {} does not match the kept file; it was removed",
                dest.location()
            )));
        }
        out.files += 1;
        out.bytes += size;
    }
    if keep != remote {
        let mut text = Vec::new();
        for v in &keep {
            text.extend(serde_json::to_vec(v).map_err(|e| Error::internal(e.to_string()))?);
            text.push(b'\n');
        }
        let tmp = crate::private_fs::tempdir_in(kept.dir(), crate::tempfiles::TEMP_PREFIX)
            .map_err(|e| Error::io(format!("creating a folder in {}", kept.dir().display()), e))?;
        let path = tmp.path().join(INDEX);
        crate::private_fs::write_atomic(&path, &text)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        put_file(
            dest,
            &format!("{pre}{INDEX}"),
            &path,
            PutOptions { overwrite: true },
        )
        .await?;
    }
    if oldest.is_some() {
        for rel in listed.keys() {
            let Some((sha, _)) = sha_of(rel) else {
                continue;
            };
            if named.contains(sha.as_str()) {
                continue;
            }
            match dest.delete(&format!("{pre}{rel}")).await {
                Ok(_) => out.removed += 1,
                // Locked until a date, or the destination went away: the next mirror tries.
                Err(e) => {
                    tracing::warn!(project, "removing {pre}{rel} at {}: {e}", dest.location())
                }
            }
        }
    }
    Ok(out)
}

/// Mirror the kept versions to every destination of `project` with the prune's floor (after a
/// prune, and at `offsite sync`); a destination that cannot take them is logged, never fatal.
pub(crate) async fn mirror_all(engine: &Engine, project: &Project, cancel: &CancellationToken) {
    let kept = kept_of(engine, project);
    if !kept.exists() {
        return;
    }
    let oldest = oldest_window(engine, project).await;
    let Ok(dests) = engine.catalog.destinations(&project.id).await else {
        return;
    };
    for d in &dests {
        let r = async {
            let dest = crate::ops::destinations::open(engine, project, d).await?;
            mirror(dest.as_ref(), &project.name, &kept, oldest, cancel).await
        };
        if let Err(e) = r.await {
            tracing::warn!(project = %project.name, destination = %d.name, "copying the kept Storage objects: {e}");
        }
    }
}

/// The objects a restore to `at` wants: each `(bucket, key, etag)` of a row (no ETag: the
/// newest version at or before `at`).
pub(crate) type Wanted = (String, String, Option<String>);

/// Of `remote`'s versions, those `wanted` asks for: the version with the row's ETag, else
/// the object's newest fetched at or before `at`.
fn pick<'a>(remote: &'a [ObjectVersion], wanted: &[Wanted], at: i64) -> Vec<&'a ObjectVersion> {
    let mut by_object: HashMap<(&str, &str), Vec<&ObjectVersion>> = HashMap::new();
    for v in remote {
        by_object
            .entry((v.bucket.as_str(), v.key.as_str()))
            .or_default()
            .push(v);
    }
    let mut out: Vec<&ObjectVersion> = Vec::new();
    let mut taken: HashSet<&ObjectVersion> = HashSet::new();
    for (bucket, key, etag) in wanted {
        let Some(of) = by_object.get(&(bucket.as_str(), key.as_str())) else {
            continue;
        };
        let exact = etag.as_deref().and_then(|e| {
            of.iter()
                .filter(|v| v.etag == e)
                .max_by_key(|v| v.fetched_at)
        });
        let chosen = exact.or_else(|| {
            of.iter()
                .filter(|v| v.fetched_at <= at)
                .max_by_key(|v| v.fetched_at)
        });
        if let Some(v) = chosen {
            if taken.insert(v) {
                out.push(v);
            }
        }
    }
    out
}

/// Whether the capture of `project` kept objects' versions, here or — when this machine's
/// objects folder is gone — at a destination, whose index is then listed here again (the bytes
/// come back when a restore needs them, [`fetch_back`]).
pub(crate) async fn index_here_or_at_copies(engine: &Engine, project: &Project) -> bool {
    let kept = kept_of(engine, project);
    if kept.exists() {
        return true;
    }
    let Ok(dests) = engine.catalog.destinations(&project.id).await else {
        return false;
    };
    for d in &dests {
        let got = async {
            crate::private_fs::create_dir_all(kept.dir())
                .map_err(|e| Error::io(format!("creating {}", kept.dir().display()), e))?;
            let dest = crate::ops::destinations::open(engine, project, d).await?;
            let remote = remote_index(dest.as_ref(), &project.name, kept.dir()).await?;
            add_missing(&kept, remote).await
        };
        match got.await {
            Ok(n) if n > 0 => {
                tracing::info!(project = %project.name, destination = %d.name, "the kept Storage objects' index came back from its copy");
                return true;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(project = %project.name, destination = %d.name, "reading the kept Storage objects' copy: {e}")
            }
        }
    }
    false
}

/// Bring back from the destinations the bytes of the versions `wanted` names that this
/// machine lacks ([module docs](self)); how many came back. A destination that cannot give
/// them is logged and the next one tried; what none has stays missing (the restore names it).
pub(crate) async fn fetch_back(
    engine: &Engine,
    project: &Project,
    kept: &ObjectVersions,
    wanted: &[Wanted],
    at: i64,
    cancel: &CancellationToken,
) -> Result<u32> {
    if wanted.is_empty() {
        return Ok(0);
    }
    crate::private_fs::create_dir_all(kept.dir())
        .map_err(|e| Error::io(format!("creating {}", kept.dir().display()), e))?;
    let mut done: HashSet<String> = HashSet::new();
    let mut fetched = 0;
    for d in engine.catalog.destinations(&project.id).await? {
        let got = async {
            let dest = crate::ops::destinations::open(engine, project, &d).await?;
            let remote = remote_index(dest.as_ref(), &project.name, kept.dir()).await?;
            let pre = prefix(&project.name);
            let listed = listed(dest.as_ref(), &pre).await?;
            let mut n = 0u32;
            for v in pick(&remote, wanted, at) {
                if cancel.is_cancelled() {
                    return Err(Error::cancelled());
                }
                if done.contains(&v.sha256) || kept.blob(&v.sha256).is_some() {
                    add_missing(kept, vec![v.clone()]).await?;
                    continue;
                }
                let Some((rel, sealed)) = [false, true].into_iter().find_map(|s| {
                    let rel = blob_name(&v.sha256, s)?;
                    listed.contains_key(&rel).then_some((rel, s))
                }) else {
                    continue;
                };
                fetch_one(dest.as_ref(), &format!("{pre}{rel}"), kept, v, sealed).await?;
                done.insert(v.sha256.clone());
                n += 1;
            }
            Ok::<_, Error>(n)
        };
        match got.await {
            Ok(n) => fetched += n,
            Err(e) if e.kind() == crate::error::ErrorKind::Cancelled => return Err(e),
            Err(e) => {
                tracing::warn!(project = %project.name, destination = %d.name, "fetching kept Storage objects back: {e}")
            }
        }
    }
    Ok(fetched)
}

/// One version's bytes from `name` into their place here, then listed.
async fn fetch_one(
    dest: &dyn Destination,
    name: &str,
    kept: &ObjectVersions,
    v: &ObjectVersion,
    sealed: bool,
) -> Result<()> {
    let path: PathBuf = kept.blob_path(&v.sha256, sealed);
    let dir = path
        .parent()
        .ok_or_else(|| Error::internal("a kept file without a folder"))?;
    crate::private_fs::create_dir_all_async(dir)
        .await
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let part = crate::transfer::part_path(&path);
    let _ = tokio::fs::remove_file(&part).await;
    let max = if sealed {
        sealed_size_max(v.size)
    } else {
        v.size
    };
    // The copy's index is the destination's word: bytes whose ETag is their MD5 are held to
    // it too, so a planted index line and file cannot pass for the object's version.
    let etag_md5 = md5_etag(&v.etag).filter(|_| !sealed);
    let got = download(dest, name, &part, max, etag_md5.is_some()).await;
    let checked = got.and_then(|(size, sha, md5)| {
        let md5_ok = match (etag_md5, md5) {
            (Some(want), Some(got)) => want.eq_ignore_ascii_case(&got),
            _ => true,
        };
        if !sealed && (size != v.size || sha != v.sha256 || !md5_ok) {
            return Err(Error::integrity(format!(
                "{name} in {} is not the version its index records; it was not kept",
                dest.location()
            )));
        }
        Ok(())
    });
    if let Err(e) = checked {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(e);
    }
    tokio::fs::rename(&part, &path)
        .await
        .map_err(|e| Error::io(format!("placing {}", path.display()), e))?;
    add_missing(kept, vec![v.clone()]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(key: &str, etag: &str, at: i64) -> ObjectVersion {
        ObjectVersion {
            bucket: "media".into(),
            key: key.into(),
            etag: etag.into(),
            size: 1,
            sha256: format!("{:0>64}", format!("{at:x}")),
            content_type: None,
            cache_control: None,
            fetched_at: at,
        }
    }

    #[test]
    fn only_names_of_kept_bytes_are_taken_from_a_listing() {
        let sha = "ab".to_string() + &"c".repeat(62);
        assert_eq!(sha_of(&format!("ab/{sha}")), Some((sha.clone(), false)));
        assert_eq!(sha_of(&format!("ab/{sha}.age")), Some((sha.clone(), true)));
        assert_eq!(sha_of(&format!("cd/{sha}")), None, "in another folder");
        assert_eq!(sha_of("index.jsonl"), None);
        assert_eq!(sha_of(&format!("ab/../{sha}")), None);
        assert_eq!(sha_of(&format!("ab/{}", sha.to_uppercase())), None);
        assert_eq!(sha_of(&format!("ab/{sha}.part")), None);
    }

    #[test]
    fn a_row_takes_its_etags_version_else_the_newest_before_the_time() {
        let remote = [
            v("a", "e1", 10),
            v("a", "e2", 20),
            v("a", "e3", 30),
            v("b", "x", 40),
        ];
        let want =
            |k: &str, e: Option<&str>| (String::from("media"), k.to_string(), e.map(String::from));
        let got = pick(&remote, &[want("a", Some("e2"))], 5);
        assert_eq!(got, vec![&remote[1]]);
        let got = pick(&remote, &[want("a", Some("gone"))], 25);
        assert_eq!(got, vec![&remote[1]], "the newest at or before the time");
        let got = pick(&remote, &[want("a", None), want("b", None)], 35);
        assert_eq!(got, vec![&remote[2]], "b was fetched after the time");
        assert!(pick(&remote, &[want("c", None)], 99).is_empty());
    }

    /// Kept here: `body`'s version of `key`, fetched at `at`.
    fn keep(kept: &ObjectVersions, key: &str, body: &[u8], at: i64) -> ObjectVersion {
        let sha = hex::encode(ring::digest::digest(&ring::digest::SHA256, body).as_ref());
        let path = kept.blob_path(&sha, false);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, body).unwrap();
        let v = ObjectVersion {
            bucket: "media".into(),
            key: key.into(),
            etag: format!("e{at}"),
            size: body.len() as u64,
            sha256: sha,
            content_type: None,
            cache_control: None,
            fetched_at: at,
        };
        kept.append(&v).unwrap();
        v
    }

    #[tokio::test]
    async fn a_mirror_puts_each_file_once_then_the_index_and_drops_what_no_window_needs() {
        let dir = tempfile::tempdir().unwrap();
        let kept = ObjectVersions::in_capture_dir(dir.path());
        std::fs::create_dir_all(kept.dir()).unwrap();
        let a1 = keep(&kept, "a.txt", b"a, first", 10);
        let a2 = keep(&kept, "a.txt", b"a, second", 20);
        let b = keep(&kept, "b.txt", b"b", 30);
        let dest = crate::destinations::memory::MemoryDestination::new();
        let cancel = CancellationToken::new();
        let m = mirror(&dest, "shop", &kept, None, &cancel).await.unwrap();
        assert_eq!((m.files, m.bytes, m.removed), (3, 8 + 9 + 1, 0));
        let index = dest.bytes("shop/pitr/objects/index.jsonl").unwrap();
        assert_eq!(
            parse_index(&index[..], "index").unwrap(),
            vec![a1.clone(), a2.clone(), b.clone()]
        );
        let name = |v: &ObjectVersion| {
            format!("shop/pitr/objects/{}", blob_name(&v.sha256, false).unwrap())
        };
        assert_eq!(dest.bytes(&name(&a2)).unwrap(), b"a, second");
        // Again: nothing is sent twice.
        let m = mirror(&dest, "shop", &kept, None, &cancel).await.unwrap();
        assert_eq!(m, Mirrored::default());
        // The oldest window now starts at 25: a's first version is needed by none (its second
        // was fetched before 25): dropped from the copy's index, its file deleted there.
        let m = mirror(&dest, "shop", &kept, Some(25), &cancel)
            .await
            .unwrap();
        assert_eq!(m.removed, 1);
        assert!(dest.bytes(&name(&a1)).is_none());
        let index = dest.bytes("shop/pitr/objects/index.jsonl").unwrap();
        assert_eq!(
            parse_index(&index[..], "index").unwrap(),
            vec![a2.clone(), b.clone()]
        );
        // A machine that lost its objects folder never shrinks the copy.
        std::fs::remove_dir_all(kept.dir()).unwrap();
        let m = mirror(&dest, "shop", &kept, Some(99), &cancel)
            .await
            .unwrap();
        assert_eq!(m, Mirrored::default());
        assert!(dest.bytes(&name(&b)).is_some());
    }

    #[tokio::test]
    async fn a_copy_that_is_not_the_kept_file_is_refused_and_removed() {
        // A destination that stores something else than it was given (a bad disk, a hostile
        // server): the put is checked and the copy removed; the mirror fails.
        struct Lying(crate::destinations::memory::MemoryDestination);
        #[async_trait::async_trait]
        impl Destination for Lying {
            fn location(&self) -> String {
                "lying".into()
            }
            async fn put(
                &self,
                name: &str,
                _body: &dyn crate::destinations::PutBody,
                opts: PutOptions,
            ) -> Result<crate::destinations::StoredObject> {
                let other = crate::destinations::BytesBody(bytes::Bytes::from_static(b"other"));
                self.0.put(name, &other, opts).await
            }
            async fn list(&self, p: &str) -> Result<Vec<crate::destinations::StoredObject>> {
                self.0.list(p).await
            }
            async fn stat(&self, n: &str) -> Result<Option<crate::destinations::StoredObject>> {
                self.0.stat(n).await
            }
            async fn sha256(&self, n: &str) -> Result<String> {
                self.0.sha256(n).await
            }
            async fn delete(&self, n: &str) -> Result<bool> {
                self.0.delete(n).await
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let kept = ObjectVersions::in_capture_dir(dir.path());
        std::fs::create_dir_all(kept.dir()).unwrap();
        let v = keep(&kept, "a.txt", b"the kept bytes", 10);
        let dest = Lying(crate::destinations::memory::MemoryDestination::new());
        let e = mirror(&dest, "shop", &kept, None, &CancellationToken::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Integrity, "{e}");
        let name = format!("shop/pitr/objects/{}", blob_name(&v.sha256, false).unwrap());
        assert!(dest.0.bytes(&name).is_none(), "the wrong copy was removed");
        assert!(
            dest.0.bytes("shop/pitr/objects/index.jsonl").is_none(),
            "no index without its files"
        );
    }

    #[tokio::test]
    async fn bytes_fetched_back_are_held_to_the_index_and_to_an_md5_etag() {
        use crate::destinations::BytesBody;
        use md5::Digest;
        let dest = crate::destinations::memory::MemoryDestination::new();
        let dir = tempfile::tempdir().unwrap();
        let kept = ObjectVersions::in_capture_dir(dir.path());
        let version = |body: &[u8], etag: String| ObjectVersion {
            bucket: "media".into(),
            key: "a.txt".into(),
            etag,
            size: body.len() as u64,
            sha256: hex::encode(ring::digest::digest(&ring::digest::SHA256, body).as_ref()),
            content_type: None,
            cache_control: None,
            fetched_at: 10,
        };
        let put = |body: &'static [u8], v: &ObjectVersion| {
            let name = format!("shop/pitr/objects/{}", blob_name(&v.sha256, false).unwrap());
            let dest = &dest;
            async move {
                dest.put(
                    &name,
                    &BytesBody(bytes::Bytes::from_static(body)),
                    PutOptions::default(),
                )
                .await
                .unwrap();
                name
            }
        };
        // A planted line: its SHA-256 is the planted file's, its ETag the real object's MD5.
        let real_md5 = hex::encode(md5::Md5::digest(b"the real bytes"));
        let planted = version(b"planted bytes", real_md5.clone());
        let name = put(b"planted bytes", &planted).await;
        let e = fetch_one(&dest, &name, &kept, &planted, false)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Integrity, "{e}");
        assert!(kept.blob(&planted.sha256).is_none(), "nothing placed");
        assert!(kept.load().unwrap().is_empty(), "nothing listed");
        let part = crate::transfer::part_path(&kept.blob_path(&planted.sha256, false));
        assert!(!part.exists(), "no part left");
        // A file that is not the line's size or SHA-256.
        let mut short = version(b"the real bytes", real_md5.clone());
        let name = put(b"the real bytes", &short).await;
        short.size += 1;
        assert!(fetch_one(&dest, &name, &kept, &short, false).await.is_err());
        // The real version: placed, listed.
        let real = version(b"the real bytes", real_md5);
        fetch_one(&dest, &name, &kept, &real, false).await.unwrap();
        assert_eq!(
            std::fs::read(kept.blob(&real.sha256).unwrap()).unwrap(),
            b"the real bytes"
        );
        assert_eq!(kept.load().unwrap(), vec![real]);
    }

    #[test]
    fn the_union_keeps_each_version_once_in_order() {
        let (a, b, c) = (v("a", "1", 1), v("b", "2", 2), v("c", "3", 3));
        assert_eq!(
            union(vec![a.clone(), b.clone()], &[b.clone(), c.clone()]),
            vec![a, b, c]
        );
    }
}
