//! Pulling the Storage objects' versions a backup server's capture kept (issue 66 item 4,
//! docs/pitr.md "Storage at the same second"), after its segments: a restore to a time on this
//! machine then gives the buckets as their rows say at that time, as it does where the capture
//! runs.
//!
//! The server's listing is hostile until checked: a version is taken only when it names a
//! SHA-256 (64 lower-case hex), a bucket and key of at most 1,024 bytes, and a listed file
//! whose size fits it (its size, or, sealed, at most the sealed size of it); anything else is
//! left out and counted (`refused`), never fetched. Each file this machine lacks is downloaded
//! through the one download path, promised the listing's size (and, unsealed, its SHA-256),
//! which the server's link must repeat: other bytes are refused before they are put in place
//! (a sealed file's MAC and the plaintext's SHA-256 are checked when it is read, by `pitr
//! verify` or a restore). A file the server no longer has (pruned since the listing) is
//! skipped. The versions are added to the index only once their bytes are durable, so the
//! index never names bytes that are not here; a pull killed midway leaves files without index
//! lines, which the next pull lists without downloading them again.

use super::objects_copy::kept_of;
use crate::catalog::Project;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::ops::runner::RunningJob;
use crate::pitr::objects::{blob_name, sealed_size_max, ObjectVersion, ObjectVersions};
use crate::sources::agent::AgentClient;
use crate::sources::agent_wire::{PitrObjectFile, PitrObjectVersion, PitrObjects};
use std::collections::{HashMap, HashSet};

/// A bucket's name, a key, an ETag or a header's value longer than this is refused.
const MAX_TEXT: usize = 1024;

/// What pulling the kept objects did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ObjectsPulled {
    /// Files of bytes downloaded.
    pub files: u32,
    pub bytes: u64,
    /// Versions or files of the listing left out (not acceptable, or gone from the server).
    pub refused: u32,
}

fn short(s: &str) -> String {
    crate::words::shorten(s)
}

fn version_of(w: &PitrObjectVersion) -> Result<ObjectVersion> {
    let long = |s: &str| s.len() > MAX_TEXT;
    let bad = blob_name(&w.sha256, false).is_none()
        || w.bucket.is_empty()
        || w.key.is_empty()
        || [&w.bucket, &w.key, &w.etag].into_iter().any(|s| long(s))
        || w.content_type.as_deref().is_some_and(long)
        || w.cache_control.as_deref().is_some_and(long);
    if bad {
        return Err(Error::invalid(format!(
            "the server listed a kept object Offsite does not accept: {:?}",
            short(&format!("{}/{}", w.bucket, w.key))
        )));
    }
    Ok(ObjectVersion {
        bucket: w.bucket.clone(),
        key: w.key.clone(),
        etag: w.etag.clone(),
        size: w.size,
        sha256: w.sha256.clone(),
        content_type: w.content_type.clone(),
        cache_control: w.cache_control.clone(),
        fetched_at: w.fetched_at,
    })
}

/// The listing's versions that pass the checks, each with its listed file (whose size fits
/// it); how many versions and files were left out.
type Checked = (Vec<(ObjectVersion, PitrObjectFile)>, u32);

fn checked(listing: PitrObjects) -> Checked {
    let mut refused = 0u32;
    let mut files: HashMap<String, PitrObjectFile> = HashMap::new();
    for f in listing.files {
        if blob_name(&f.sha256, f.sealed).is_none() {
            tracing::warn!(
                "the server listed a kept file Offsite does not accept: {:?}",
                short(&f.sha256)
            );
            refused += 1;
            continue;
        }
        files.insert(f.sha256.clone(), f);
    }
    let mut out = Vec::new();
    for w in &listing.versions {
        let v = match version_of(w) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("{e}");
                refused += 1;
                continue;
            }
        };
        let Some(f) = files.get(&v.sha256) else {
            continue;
        };
        let fits = if f.sealed {
            f.size <= sealed_size_max(v.size)
        } else {
            f.size == v.size
        };
        if !fits {
            tracing::warn!(
                "the server listed the kept file {} at {}, which cannot hold {}/{} ({}): left out",
                v.sha256,
                crate::units::format_bytes(f.size),
                short(&v.bucket),
                short(&v.key),
                crate::units::format_bytes(v.size)
            );
            refused += 1;
            continue;
        }
        out.push((v, f.clone()));
    }
    (out, refused)
}

/// Pull the kept objects of `client`'s capture of `project` ([module docs](self)). A server
/// without the route (an older agent) pulls nothing.
pub(crate) async fn pull(
    engine: &Engine,
    project: &Project,
    client: &AgentClient,
    job: &RunningJob,
) -> Result<ObjectsPulled> {
    let mut out = ObjectsPulled::default();
    let listing = match client.pitr_objects().await {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    let (versions, refused) = checked(listing);
    out.refused = refused;
    if versions.is_empty() {
        return Ok(out);
    }
    let kept = kept_of(engine, project);
    crate::private_fs::create_dir_all(kept.dir())
        .map_err(|e| Error::io(format!("creating {}", kept.dir().display()), e))?;
    let here: HashSet<ObjectVersion> = super::objects_copy::load(&kept)
        .await?
        .into_iter()
        .collect();
    let mut ready: Vec<ObjectVersion> = Vec::new();
    let mut failed = None;
    for (v, f) in versions.into_iter().filter(|(v, _)| !here.contains(v)) {
        // Here already: kept before, placed for an earlier version, or by a killed pull.
        if kept.blob(&v.sha256).is_some() {
            ready.push(v);
            continue;
        }
        match fetch(client, &kept, &f, job).await {
            Ok(()) => {
                out.files += 1;
                out.bytes += f.size;
                ready.push(v);
            }
            // Pruned on the server since the listing: nothing to have.
            Err(e) if e.kind() == ErrorKind::NotFound => {
                tracing::warn!("kept file {} of {}/{}: {e}", v.sha256, v.bucket, v.key);
                out.refused += 1;
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    // What came is listed even when a later file failed: its bytes are here.
    super::objects_copy::add_missing(&kept, ready).await?;
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Download the kept file `f` into its place in `kept`, checked ([module docs](self)).
async fn fetch(
    client: &AgentClient,
    kept: &ObjectVersions,
    f: &PitrObjectFile,
    job: &RunningJob,
) -> Result<()> {
    job.check_cancelled()?;
    let path = kept.blob_path(&f.sha256, f.sealed);
    let dir = path
        .parent()
        .ok_or_else(|| Error::internal("a kept file without a folder"))?;
    crate::private_fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let name = if f.sealed {
        format!("{}.age", f.sha256)
    } else {
        f.sha256.clone()
    };
    // The listing's size (and, unsealed, SHA-256) is the download's promise: other bytes are
    // refused before they reach `path`.
    let promised = (!f.sealed).then_some(f.sha256.as_str());
    client
        .downloader()
        .download(
            &client.object(&name, f.size, promised),
            &path,
            &job.reporter,
            &job.cancel,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(key: &str, sha: &str, size: u64) -> PitrObjectVersion {
        PitrObjectVersion {
            bucket: "media".into(),
            key: key.into(),
            etag: "e".into(),
            size,
            sha256: sha.into(),
            content_type: None,
            cache_control: None,
            fetched_at: 1,
        }
    }

    fn file(sha: &str, sealed: bool, size: u64) -> PitrObjectFile {
        PitrObjectFile {
            sha256: sha.into(),
            sealed,
            size,
        }
    }

    #[test]
    fn a_listing_is_checked_before_anything_is_fetched() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let ok = PitrObjects {
            versions: vec![
                w("x.txt", &a, 5),
                w("y.txt", &b, 9),
                w("z.txt", &"c".repeat(64), 1),
            ],
            files: vec![file(&a, false, 5), file(&b, true, 9 + 16 + 200)],
        };
        let (versions, refused) = checked(ok);
        assert_eq!(
            versions.len(),
            2,
            "a version without a listed file is left out"
        );
        assert_eq!(refused, 0);
        // What is left out, and only that: the good version beside each bad one stays.
        let left_out = |bad_versions: Vec<PitrObjectVersion>, bad_files: Vec<PitrObjectFile>| {
            let mut versions = vec![w("good.txt", &a, 5)];
            versions.extend(bad_versions);
            let mut files = vec![file(&a, false, 5)];
            files.extend(bad_files);
            let (kept, refused) = checked(PitrObjects { versions, files });
            let kept: Vec<ObjectVersion> = kept.into_iter().map(|(v, _)| v).collect();
            assert_eq!(kept, vec![version_of(&w("good.txt", &a, 5)).unwrap()]);
            refused
        };
        let c = "c".repeat(64);
        assert_eq!(
            left_out(vec![w("x", &c, 5)], vec![file(&c, false, 6)]),
            1,
            "a file that is not the version's size"
        );
        assert_eq!(
            left_out(vec![w("x", &c, 5)], vec![file(&c, true, 1 << 30)]),
            1,
            "a sealed file far larger than its bytes"
        );
        // Sizes at the edge do not overflow the sealed bound (a panic in a debug build, a
        // bound that means nothing in a release one).
        let edge = checked(PitrObjects {
            versions: vec![w("x", &c, u64::MAX)],
            files: vec![file(&c, true, u64::MAX)],
        });
        assert_eq!((edge.0.len(), edge.1), (1, 0));
        for bad_sha in ["../etc/passwd", &"A".repeat(64), &"a".repeat(63)] {
            assert_eq!(
                left_out(vec![], vec![file(bad_sha, false, 1)]),
                1,
                "{bad_sha}"
            );
            assert_eq!(left_out(vec![w("x", bad_sha, 1)], vec![]), 1, "{bad_sha}");
        }
        assert_eq!(
            left_out(vec![w(&"k".repeat(2000), &c, 5)], vec![file(&c, false, 5)]),
            1,
            "a key longer than S3 allows"
        );
        assert_eq!(left_out(vec![w("", &c, 5)], vec![file(&c, false, 5)]), 1);
    }
}
