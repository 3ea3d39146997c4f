//! The Storage objects' versions a capture kept, as an agent serves them (`GET …/pitr/objects`
//! and the signed file route, docs/agent.md): the laptop's `offsite pull` brings them beside the
//! change segments ([`super::pull_objects`]), so a restore to a time there gives the buckets as
//! their rows say at that time.
//!
//! A file is named by its SHA-256 alone (`<sha256>`, or `<sha256>.age` when sealed): the path is
//! built from that checked name inside the project's objects folder, never from the request's
//! text, and a file that is itself a symbolic link is not served (the folders above it are the
//! agent's own data folder).

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pitr::objects::{blob_name, ObjectVersion, ObjectVersions};
use crate::sources::agent_wire::{PitrObjectFile, PitrObjectVersion, PitrObjects};
use std::collections::HashSet;
use std::path::PathBuf;

/// The SHA-256 and whether sealed, of a kept file's name as the API names it (`<sha256>` or
/// `<sha256>.age`, lower-case hex); `None` for anything else.
pub fn object_file_name(name: &str) -> Option<(&str, bool)> {
    let (sha, sealed) = match name.strip_suffix(".age") {
        Some(sha) => (sha, true),
        None => (name, false),
    };
    blob_name(sha, sealed).map(|_| (sha, sealed))
}

/// A version as the wire carries it.
pub fn wire_version(v: &ObjectVersion) -> PitrObjectVersion {
    PitrObjectVersion {
        bucket: v.bucket.clone(),
        key: v.key.clone(),
        etag: v.etag.clone(),
        size: v.size,
        sha256: v.sha256.clone(),
        content_type: v.content_type.clone(),
        cache_control: v.cache_control.clone(),
        fetched_at: v.fetched_at,
    }
}

/// The kept file of `sha` in `kept`, when it is a regular file (not a link): path, sealed, size.
fn kept_file(kept: &ObjectVersions, sha: &str) -> Option<(PathBuf, bool, u64)> {
    [false, true].into_iter().find_map(|sealed| {
        let p = kept.blob_path(sha, sealed);
        let m = p.symlink_metadata().ok()?;
        m.file_type().is_file().then_some((p, sealed, m.len()))
    })
}

/// Project `name`'s kept versions and their files (a version whose file is gone is left out:
/// the laptop cannot have it from here).
pub(crate) async fn objects(engine: &Engine, name: &str) -> Result<PitrObjects> {
    let project = engine.catalog.project(name).await?;
    let kept = super::objects_copy::kept_of(engine, &project);
    let mut out = PitrObjects::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut missing: HashSet<String> = HashSet::new();
    for v in super::objects_copy::load(&kept).await? {
        if missing.contains(&v.sha256) {
            continue;
        }
        if seen.insert(v.sha256.clone()) {
            match kept_file(&kept, &v.sha256) {
                Some((_, sealed, size)) => out.files.push(PitrObjectFile {
                    sha256: v.sha256.clone(),
                    sealed,
                    size,
                }),
                None => {
                    missing.insert(v.sha256.clone());
                    continue;
                }
            }
        }
        out.versions.push(wire_version(&v));
    }
    Ok(out)
}

/// The kept file `file` of project `name` an agent may serve: its path, size, and the SHA-256
/// of the bytes it holds (its name: for a sealed file, of the plaintext — the ciphertext's is
/// not recorded, and hashing it for every request would read the whole file each time; age's
/// MAC and that SHA-256 are checked when the file is read). `not_found` for anything else.
pub(crate) async fn object_file(
    engine: &Engine,
    name: &str,
    file: &str,
) -> Result<(PathBuf, u64, String)> {
    let gone = || Error::not_found(format!("no kept object file {file}"));
    let (sha, sealed) = object_file_name(file).ok_or_else(gone)?;
    let project = engine.catalog.project(name).await?;
    let kept = super::objects_copy::kept_of(engine, &project);
    let (path, is_sealed, size) = kept_file(&kept, sha).ok_or_else(gone)?;
    if is_sealed != sealed {
        return Err(gone());
    }
    Ok((path, size, sha.to_string()))
}

#[cfg(test)]
mod tests {
    use super::object_file_name;

    #[test]
    fn only_a_sha256_names_a_kept_file() {
        let sha = "ab".to_string() + &"c".repeat(62);
        assert_eq!(object_file_name(&sha), Some((sha.as_str(), false)));
        assert_eq!(
            object_file_name(&format!("{sha}.age")),
            Some((sha.as_str(), true))
        );
        for bad in [
            String::new(),
            "index.jsonl".into(),
            format!("ab/{sha}"),
            format!("../{sha}"),
            sha.to_uppercase(),
            format!("{sha}.part"),
            format!("{sha}.age.age"),
            sha[..63].to_string(),
        ] {
            assert_eq!(object_file_name(&bad), None, "{bad}");
        }
    }
}
