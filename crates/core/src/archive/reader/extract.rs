//! Streaming one member out, and extracting them all into a folder.

use super::super::pipeline;
use super::super::tarfmt::{Kind, Next, TarError};
use super::super::{check_member_name, unsafe_member, Manifest, MANIFEST_NAME};
use super::{corrupt, input_failure, open_input, read_manifest_entry, stream_member};
use crate::error::{Error, Result};
use crate::progress::Reporter;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Streams one member's bytes to `out` (hashing them on another thread) and checks its size and
/// SHA-256 against the manifest at the end: a difference is an [`ErrorKind::Integrity`] error
/// naming the member (the bytes were already written; the caller aborts). Unsafe names, in the
/// request or in the archive before the member, are [`ErrorKind::UnsafePath`]. Advances
/// `reporter` by the member bytes copied (the caller sets the phase). Returns the bytes copied.
pub fn copy_member(
    path: &Path,
    member: &str,
    out: &mut dyn Write,
    reporter: &Reporter,
    cancel: &CancellationToken,
) -> Result<u64> {
    copy_member_within(path, member, out, reporter, cancel, u64::MAX)
}

/// A member whose tar header and manifest disagree on its size, or larger than `max`: refused
/// before a byte of it is read.
fn oversized(path: &Path, member: &str, what: String) -> Error {
    Error::integrity(format!("{}: member {member} {what}", path.display())).with_hint(
        "the archive is damaged or was not made by Offsite; use another copy of this backup",
    )
}

/// [`copy_member`], refusing (as [`ErrorKind::Integrity`], before reading it) a member the
/// manifest says is larger than `max` bytes. Every member's tar header must give the size the
/// manifest records, so no more than that is ever read.
pub(crate) fn copy_member_within(
    path: &Path,
    member: &str,
    out: &mut dyn Write,
    reporter: &Reporter,
    cancel: &CancellationToken,
    max: u64,
) -> Result<u64> {
    check_member_name(member, false).map_err(|why| unsafe_member(member, &why))?;
    let (file, encrypted) = open_input(path)?;
    // An encrypted archive is read to its end (not hashed): age authenticates its last chunk
    // there, so a cut-off or tampered file fails before the caller commits what it copied.
    let outcome = pipeline::run_reader(
        file,
        false,
        encrypted,
        None,
        cancel,
        |tar, hasher| -> Result<(u64, String, u64)> {
            let (manifest, _) = read_manifest_entry(tar, path)?;
            let entry = manifest.member(member).ok_or_else(|| {
                Error::not_found(format!("{} has no member {member:?}", path.display()))
            })?;
            if entry.size > max {
                return Err(oversized(
                    path,
                    member,
                    format!(
                        "is {} bytes according to the manifest; Offsite reads at most {max} bytes of it",
                        entry.size
                    ),
                ));
            }
            loop {
                let header = match tar.next() {
                Ok(Next::Entry(h)) => h,
                Ok(Next::End | Next::Eof) => {
                    return Err(Error::integrity(format!(
                        "{}: member {member} is listed in the manifest but missing from the archive",
                        path.display()
                    )).with_hint("the archive is damaged; use another copy of this backup"))
                }
                Err(e) => return Err(corrupt(path, &format!("looking for {member}"), &e)),
            };
                if let Some(why) = header.unsafe_reason() {
                    return Err(unsafe_member(&header.name, &why));
                }
                if header.name != member || header.kind != Kind::File {
                    continue;
                }
                if header.size != entry.size {
                    return Err(oversized(
                        path,
                        member,
                        format!(
                            "is {} bytes in the archive, but the manifest says {}",
                            header.size, entry.size
                        ),
                    ));
                }
                let mut sink = |b: &[u8]| {
                    out.write_all(b)
                        .map_err(|e| Error::io(format!("writing {member}"), e))?;
                    reporter.advance(b.len() as u64);
                    Ok(())
                };
                let n = match stream_member(tar, hasher, Some(&mut sink), cancel)? {
                    Ok(n) => n,
                    Err((_, e)) => return Err(corrupt(path, &format!("reading {member}"), &e)),
                };
                hasher.end(0);
                return Ok((n, entry.sha256.clone(), entry.size));
            }
        },
    );
    if let Some(e) = input_failure(path, &outcome, cancel, encrypted) {
        return Err(e);
    }
    let (n, expected_sha, expected_size) = outcome.value?;
    let actual = outcome.hashes.get(&0).map(String::as_str).unwrap_or("");
    if n != expected_size || actual != expected_sha {
        return Err(Error::integrity(format!(
            "{}: member {member} does not match the manifest ({n} bytes, SHA-256 {actual}; expected {expected_size} bytes, {expected_sha})",
            path.display()
        ))
        .with_hint("the archive is damaged; use another copy of this backup"));
    }
    Ok(n)
}

/// Extracts every member (`metadata.json` included) into `dest`, which must be an empty folder or
/// not exist yet (its parent must). Unsafe members (absolute paths, `..`, links, devices) are
/// [`ErrorKind::UnsafePath`] errors naming the member; every member is checked against the
/// manifest ([`ErrorKind::Integrity`] otherwise). Nothing is ever written outside `dest`, and on
/// any failure everything written is removed (and `dest` itself if this call created it).
/// Returns the files written, in archive order.
pub fn extract_all(path: &Path, dest: &Path, cancel: &CancellationToken) -> Result<Vec<PathBuf>> {
    let (file, encrypted) = open_input(path)?;
    let created = match std::fs::symlink_metadata(dest) {
        Ok(md) if md.is_dir() => {
            let mut entries = std::fs::read_dir(dest)
                .map_err(|e| Error::io(format!("reading {}", dest.display()), e))?;
            if entries.next().is_some() {
                return Err(Error::invalid(format!("{} is not empty", dest.display()))
                    .with_hint("extract into a new or empty folder"));
            }
            false
        }
        Ok(_) => {
            return Err(Error::invalid(format!(
                "{} exists and is not a folder",
                dest.display()
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Not create_dir_all: a failed extraction must not leave parent folders behind.
            crate::private_fs::create_dir(dest)
                .map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
            true
        }
        Err(e) => return Err(Error::io(format!("checking {}", dest.display()), e)),
    };

    let result = extract_into(file, encrypted, path, dest, cancel);
    if result.is_err() {
        // `dest` was empty (or new), so everything in it is ours.
        if created {
            let _ = std::fs::remove_dir_all(dest);
        } else if let Ok(entries) = std::fs::read_dir(dest) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = match e.file_type() {
                    Ok(t) if t.is_dir() => std::fs::remove_dir_all(&p),
                    _ => std::fs::remove_file(&p),
                };
            }
        }
    }
    result
}

fn extract_into(
    file: super::Opened,
    encrypted: bool,
    path: &Path,
    dest: &Path,
    cancel: &CancellationToken,
) -> Result<Vec<PathBuf>> {
    let target_of = |name: &str| -> PathBuf {
        let mut p = dest.to_path_buf();
        p.extend(name.split('/').filter(|c| !c.is_empty()));
        p
    };
    let create = |p: &Path| {
        crate::private_fs::create_new(p)
            .map_err(|e| Error::io(format!("creating {}", p.display()), e))
    };
    let outcome = pipeline::run_reader(
        file,
        false,
        encrypted,
        None,
        cancel,
        |tar, hasher| -> Result<(Manifest, Vec<PathBuf>, Vec<u64>)> {
            let (manifest, raw) = read_manifest_entry(tar, path)?;
            let manifest_path = target_of(MANIFEST_NAME);
            create(&manifest_path)?
                .write_all(&raw)
                .map_err(|e| Error::io(format!("writing {}", manifest_path.display()), e))?;
            let mut written = vec![manifest_path];
            let index: HashMap<&str, usize> = manifest
                .members
                .iter()
                .enumerate()
                .rev()
                .map(|(i, m)| (m.name.as_str(), i))
                .collect();
            // Bytes read per manifest member, u64::MAX until seen.
            let mut sizes = vec![u64::MAX; manifest.members.len()];
            loop {
                if cancel.is_cancelled() {
                    return Err(Error::cancelled());
                }
                let header = match tar.next() {
                    Ok(Next::Entry(h)) => h,
                    Ok(Next::End) => {
                        tar.finish()
                            .map_err(|e| corrupt(path, "after the last member", &e))?;
                        break;
                    }
                    Ok(Next::Eof) => {
                        return Err(corrupt(path, "after the last member", &TarError::Truncated));
                    }
                    Err(e) => return Err(corrupt(path, "reading", &e)),
                };
                if let Some(why) = header.unsafe_reason() {
                    return Err(unsafe_member(&header.name, &why));
                }
                let target = target_of(&header.name);
                if header.kind == Kind::Dir {
                    crate::private_fs::create_dir_all(&target)
                        .map_err(|e| Error::io(format!("creating {}", target.display()), e))?;
                    continue;
                }
                let Some(&idx) = index.get(header.name.as_str()) else {
                    return Err(Error::integrity(format!(
                        "{}: member {} is not listed in the manifest",
                        path.display(),
                        header.name
                    ))
                    .with_hint("the archive is damaged; use another copy of this backup"));
                };
                if sizes[idx] != u64::MAX {
                    return Err(Error::integrity(format!(
                        "{}: member {} appears twice",
                        path.display(),
                        header.name
                    ))
                    .with_hint("the archive is damaged; use another copy of this backup"));
                }
                if header.size != manifest.members[idx].size {
                    return Err(oversized(
                        path,
                        &header.name,
                        format!(
                            "is {} bytes in the archive, but the manifest says {}",
                            header.size, manifest.members[idx].size
                        ),
                    ));
                }
                if let Some(parent) = target.parent() {
                    crate::private_fs::create_dir_all(parent)
                        .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
                }
                let mut out = create(&target)?;
                written.push(target.clone());
                let mut sink = |b: &[u8]| {
                    out.write_all(b)
                        .map_err(|e| Error::io(format!("writing {}", target.display()), e))
                };
                let n = match stream_member(tar, hasher, Some(&mut sink), cancel)? {
                    Ok(n) => n,
                    Err((_, e)) => {
                        return Err(corrupt(path, &format!("reading {}", header.name), &e))
                    }
                };
                hasher.end(idx);
                sizes[idx] = n;
            }
            Ok((manifest, written, sizes))
        },
    );
    if let Some(e) = input_failure(path, &outcome, cancel, encrypted) {
        return Err(e);
    }
    let (manifest, written, sizes) = outcome.value?;
    for (i, m) in manifest.members.iter().enumerate() {
        if sizes[i] == u64::MAX {
            return Err(Error::integrity(format!(
                "{}: member {} is missing from the archive",
                path.display(),
                m.name
            ))
            .with_hint("the archive is damaged; use another copy of this backup"));
        }
        if sizes[i] != m.size || outcome.hashes.get(&i) != Some(&m.sha256) {
            return Err(Error::integrity(format!(
                "{}: member {} does not match the manifest",
                path.display(),
                m.name
            ))
            .with_hint("the archive is damaged; use another copy of this backup"));
        }
    }
    Ok(written)
}
