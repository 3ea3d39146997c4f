//! A directory dump's data members extracted on every core (issue 28, 3b).
//!
//! pg_restore reads a directory dump only from a folder, and its leader sizes the work by
//! `stat()` of each data file before it hands any out (the largest first), so every data file
//! must be complete before `pg_restore -j N` starts. The sequential extraction inflates, hashes
//! and writes one member after another on one core; here `jobs` threads do it, each with its own
//! random-access reader of the archive ([`ArchiveSeeker`]: zstd frames and gzip members are
//! independent, so a member is reached without inflating what is in front of it), taking the
//! members largest first so the threads finish together.
//!
//! Every member is checked as the sequential extraction checks it: the archive's members up to
//! the last wanted one must be listed in the manifest with the size their header gives, a
//! wanted member must appear once, and its bytes must have the manifest's size and SHA-256. A
//! name that is not one plain file name under `database/` is refused (`unsafe_path`) before
//! anything is written. On failure the others stop at their next read and the caller removes
//! the folder.

use super::member::copy_span_checked;
use crate::archive::random_access::{ArchiveSeeker, MemberSpan};
use crate::archive::{self, Manifest, MemberEntry, DATABASE_TOC_MEMBER};
use crate::error::{Error, ErrorKind, Result};
use crate::private_fs;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

pub(super) fn damaged(path: &Path, what: String) -> Error {
    Error::integrity(format!("{}: {what}", path.display()))
        .with_hint("the archive is damaged; use another copy of this backup")
}

/// The file name a data member is written to inside the dump folder: the part after
/// `database/`, which must be one plain name (pg_dump's directory format has no sub-folders).
pub(super) fn file_name(name: &str) -> Result<&str> {
    let rest = name
        .strip_prefix(archive::DATABASE_DIR_PREFIX)
        .unwrap_or("");
    let plain = !rest.is_empty()
        && rest != "."
        && rest != ".."
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if plain {
        Ok(rest)
    } else {
        Err(archive::unsafe_member(
            name,
            "a directory dump's files are plain names under database/",
        ))
    }
}

/// The data members (every `database/` member but `toc.dat`), largest first.
pub(super) fn wanted(path: &Path, manifest: &Manifest) -> Result<Vec<MemberEntry>> {
    let mut out: Vec<MemberEntry> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for m in &manifest.members {
        if !m.name.starts_with(archive::DATABASE_DIR_PREFIX) || m.name == DATABASE_TOC_MEMBER {
            continue;
        }
        file_name(&m.name)?;
        if !seen.insert(m.name.as_str()) {
            return Err(damaged(
                path,
                format!("member {} is listed twice in the manifest", m.name),
            ));
        }
        out.push(m.clone());
    }
    out.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// Where each wanted member is, by one walk over the archive's headers (stopping after the
/// last wanted one), checking every member met against the manifest.
pub(super) fn spans(
    path: &Path,
    manifest: &Manifest,
    wanted: &[MemberEntry],
    cancel: &CancellationToken,
) -> Result<HashMap<String, MemberSpan>> {
    let listed: HashMap<&str, u64> = manifest
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.size))
        .collect();
    let want: std::collections::HashSet<&str> = wanted.iter().map(|m| m.name.as_str()).collect();
    let mut found: HashMap<String, MemberSpan> = HashMap::new();
    let mut problem: Option<Error> = None;
    let mut seeker = ArchiveSeeker::open(path)?;
    let mut first = true;
    seeker.walk(cancel, &mut |span| {
        let first = std::mem::replace(&mut first, false);
        match listed.get(span.name.as_str()) {
            None if first && span.name == archive::MANIFEST_NAME => {}
            None => {
                problem = Some(damaged(
                    path,
                    format!("member {} is not listed in the manifest", span.name),
                ));
                return false;
            }
            Some(&size) if size != span.size => {
                problem = Some(damaged(
                    path,
                    format!(
                        "member {} is {} bytes in the archive, but the manifest says {size}",
                        span.name, span.size
                    ),
                ));
                return false;
            }
            Some(_) => {}
        }
        if want.contains(span.name.as_str())
            && found.insert(span.name.clone(), span.clone()).is_some()
        {
            problem = Some(damaged(path, format!("member {} appears twice", span.name)));
            return false;
        }
        found.len() < want.len()
    })?;
    if let Some(e) = problem {
        return Err(e);
    }
    if let Some(m) = wanted.iter().find(|m| !found.contains_key(&m.name)) {
        return Err(damaged(
            path,
            format!("member {} is missing from the archive", m.name),
        ));
    }
    Ok(found)
}

/// Extracts the data members of the directory dump in the archive at `path` into `dump` (an
/// existing private folder holding none of them) on `threads` threads, each member checked
/// against `manifest`. Returns the bytes written.
pub(super) fn extract_data(
    path: &Path,
    manifest: &Manifest,
    dump: &Path,
    threads: usize,
    cancel: &CancellationToken,
) -> Result<u64> {
    let wanted = wanted(path, manifest)?;
    if wanted.is_empty() {
        return Ok(0);
    }
    let spans = spans(path, manifest, &wanted, cancel)?;
    extract_found(path, &wanted, &spans, dump, threads, cancel)
}

/// The members `wanted` (found at `spans` by [`spans`], largest first) extracted into `dump`
/// on `threads` threads, each checked against its manifest entry. Returns the bytes written.
pub(super) fn extract_found(
    path: &Path,
    wanted: &[MemberEntry],
    spans: &HashMap<String, MemberSpan>,
    dump: &Path,
    threads: usize,
    cancel: &CancellationToken,
) -> Result<u64> {
    if wanted.is_empty() {
        return Ok(0);
    }
    let stop = cancel.child_token();
    let next = AtomicUsize::new(0);
    let written = AtomicU64::new(0);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let fail = |e: Error| {
        let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
        // The first cause: a thread stopped by another's failure only reports `cancelled`.
        if slot.is_none() || slot.as_ref().map(Error::kind) == Some(ErrorKind::Cancelled) {
            *slot = Some(e);
        }
        stop.cancel();
    };
    let work = || -> Result<()> {
        let mut seeker = ArchiveSeeker::open(path)?;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(entry) = wanted.get(i) else {
                return Ok(());
            };
            if stop.is_cancelled() {
                return Err(Error::cancelled());
            }
            let target = dump.join(file_name(&entry.name)?);
            let mut out = std::io::BufWriter::with_capacity(
                1 << 20,
                private_fs::create_new(&target)
                    .map_err(|e| Error::io(format!("creating {}", target.display()), e))?,
            );
            let span = spans[&entry.name].clone();
            copy_span_checked(&mut seeker, span, entry, &mut out, &stop)?;
            out.flush()
                .map_err(|e| Error::io(format!("writing {}", target.display()), e))?;
            written.fetch_add(entry.size, Ordering::Relaxed);
        }
    };
    let threads = threads.clamp(1, wanted.len());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                if let Err(e) = work() {
                    fail(e);
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        return Err(e);
    }
    if cancel.is_cancelled() {
        return Err(Error::cancelled());
    }
    Ok(written.into_inner())
}

#[cfg(test)]
#[path = "extract_par_tests.rs"]
mod tests;
