//! Streaming one member out, and extracting them all into a folder.

use super::super::pipeline;
use super::super::tarfmt::{EntryHeader, Kind, Next, TarError};
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

    let result = extract_members(file, encrypted, path, dest, Members::All, cancel);
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

/// Which members an extraction writes.
#[derive(Clone, Copy)]
pub(super) enum Members<'a> {
    /// Every member, `metadata.json` and folders included; the archive is read to its end and
    /// its end-of-archive marker checked.
    All,
    /// The members whose names the filter accepts (folder entries are skipped: a file's folders
    /// are created with it); reading stops once the last of them listed in the manifest has been
    /// extracted.
    Matching(&'a dyn Fn(&str) -> bool),
}

impl Members<'_> {
    fn wants(&self, name: &str) -> bool {
        match self {
            Members::All => true,
            Members::Matching(wanted) => wanted(name),
        }
    }
}

fn damaged(path: &Path, what: String) -> Error {
    Error::integrity(format!("{}: {what}", path.display()))
        .with_hint("the archive is damaged; use another copy of this backup")
}

/// Extracts `which` members of the archive `file` (opened from `path`) into `dest`, an existing
/// folder that holds none of them yet (each is created new, with its folders, 0600/0700). Every
/// member met on the way must be safe ([`ErrorKind::UnsafePath`]), listed in the manifest once
/// and with the size its tar header gives (refused before its data is read); each one extracted
/// is checked against the manifest's size and SHA-256 ([`ErrorKind::Integrity`]). On failure
/// what was written stays in `dest` (the caller removes it). Returns the files written, in
/// archive order.
///
/// [`ErrorKind::Integrity`]: crate::error::ErrorKind::Integrity
/// [`ErrorKind::UnsafePath`]: crate::error::ErrorKind::UnsafePath
pub(super) fn extract_members(
    file: super::Opened,
    encrypted: bool,
    path: &Path,
    dest: &Path,
    which: Members<'_>,
    cancel: &CancellationToken,
) -> Result<Vec<PathBuf>> {
    let outcome = pipeline::run_reader(
        file,
        false,
        encrypted,
        None,
        cancel,
        |tar, hasher| -> Result<(Manifest, Vec<PathBuf>, Vec<u64>)> {
            let (manifest, raw) = read_manifest_entry(tar, path)?;
            let mut written = Vec::new();
            if matches!(which, Members::All) {
                let manifest_path = target_of(dest, MANIFEST_NAME);
                create(&manifest_path)?
                    .write_all(&raw)
                    .map_err(|e| Error::io(format!("writing {}", manifest_path.display()), e))?;
                written.push(manifest_path);
            }
            let index: HashMap<&str, usize> = manifest
                .members
                .iter()
                .enumerate()
                .rev()
                .map(|(i, m)| (m.name.as_str(), i))
                .collect();
            let mut left = manifest
                .members
                .iter()
                .filter(|m| which.wants(&m.name))
                .count();
            // Bytes read per manifest member, u64::MAX until seen.
            let mut sizes = vec![u64::MAX; manifest.members.len()];
            while left > 0 || matches!(which, Members::All) {
                if cancel.is_cancelled() {
                    return Err(Error::cancelled());
                }
                let header = match tar.next() {
                    Ok(Next::Entry(h)) => h,
                    Ok(Next::End) if matches!(which, Members::All) => {
                        tar.finish()
                            .map_err(|e| corrupt(path, "after the last member", &e))?;
                        break;
                    }
                    Ok(Next::Eof) if matches!(which, Members::All) => {
                        return Err(corrupt(path, "after the last member", &TarError::Truncated));
                    }
                    // What is missing is said below, by name.
                    Ok(Next::End | Next::Eof) => break,
                    Err(e) => return Err(corrupt(path, "reading", &e)),
                };
                let Some(idx) = check_header(path, &header, &index, &manifest, which, dest)? else {
                    continue; // its data (if any) is skipped by the next header's read
                };
                if sizes[idx] != u64::MAX {
                    return Err(damaged(
                        path,
                        format!("member {} appears twice", header.name),
                    ));
                }
                let target = target_of(dest, &header.name);
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
                left = left.saturating_sub(1);
            }
            Ok((manifest, written, sizes))
        },
    );
    if let Some(e) = input_failure(path, &outcome, cancel, encrypted) {
        return Err(e);
    }
    let (manifest, written, sizes) = outcome.value?;
    for (i, m) in manifest.members.iter().enumerate() {
        if !which.wants(&m.name) {
            continue;
        }
        if sizes[i] == u64::MAX {
            return Err(damaged(
                path,
                format!("member {} is missing from the archive", m.name),
            ));
        }
        if sizes[i] != m.size || outcome.hashes.get(&i) != Some(&m.sha256) {
            return Err(damaged(
                path,
                format!(
                    "member {} does not match its checksum in the manifest",
                    m.name
                ),
            ));
        }
    }
    Ok(written)
}

/// The checks of one member's header before its data is read (see [`extract_members`]): its
/// manifest index when it is to be extracted, `None` when it is skipped (a folder entry is
/// created here when wanted).
fn check_header(
    path: &Path,
    header: &EntryHeader,
    index: &HashMap<&str, usize>,
    manifest: &Manifest,
    which: Members<'_>,
    dest: &Path,
) -> Result<Option<usize>> {
    if let Some(why) = header.unsafe_reason() {
        return Err(unsafe_member(&header.name, &why));
    }
    if header.kind == Kind::Dir {
        if matches!(which, Members::All) {
            let target = target_of(dest, &header.name);
            crate::private_fs::create_dir_all(&target)
                .map_err(|e| Error::io(format!("creating {}", target.display()), e))?;
        }
        return Ok(None);
    }
    let Some(&idx) = index.get(header.name.as_str()) else {
        return Err(damaged(
            path,
            format!("member {} is not listed in the manifest", header.name),
        ));
    };
    // Every member met, wanted or not: a header that lies about the size is refused before
    // anything is read.
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
    Ok(which.wants(&header.name).then_some(idx))
}

/// Where the member `name` goes under `dest`.
fn target_of(dest: &Path, name: &str) -> PathBuf {
    let mut p = dest.to_path_buf();
    p.extend(name.split('/').filter(|c| !c.is_empty()));
    p
}

/// A new file (0600); an existing one is an error, never overwritten.
fn create(p: &Path) -> Result<std::fs::File> {
    crate::private_fs::create_new(p).map_err(|e| Error::io(format!("creating {}", p.display()), e))
}
